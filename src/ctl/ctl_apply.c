/* Configuration differences applied to the datapath (see ctl_apply.h).
 * Objects are matched by name: ports, networks and endpoints each sorted
 * once and walked side by side, so a change costs O(n log n) however
 * large the tables. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "ctl_apply.h"
#include "ctl_ports.h"
#include "ctl_underlay.h"
#include "dp.h"
#include "dp_flow.h"

RTE_LOG_REGISTER_SUFFIX(apply_logtype, apply, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, apply_logtype, "apply: " fmt "\n", ##__VA_ARGS__)

/* Every configuration element starts with its name. */
typedef int (*pair_fn)(const void *old, const void *new, void *arg);

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const void **
sorted(const void *items, size_t n, size_t size)
{
	const void **v = malloc((n ? n : 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = (const char *)items + i * size;
	qsort(v, n, sizeof(*v), by_name);
	return v;
}

/* Call @fn for every name in @a or @b: (old, new), (old, NULL) or (NULL, new). */
static int
walk(const void *a, size_t na, const void *b, size_t nb, size_t size, pair_fn fn, void *arg)
{
	const void **va = sorted(a, na, size), **vb = sorted(b, nb, size);
	size_t i = 0, j = 0;
	int ret = 0;

	if (va == NULL || vb == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	while (ret == 0 && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(va[i], vb[j]);

		if (c < 0)
			ret = fn(va[i++], NULL, arg);
		else if (c > 0)
			ret = fn(NULL, vb[j++], arg);
		else
			ret = fn(va[i++], vb[j++], arg);
	}
out:
	free(va);
	free(vb);
	return ret;
}

#define WALK(from, to, field, n, fn, arg) \
	walk((from)->field, (from)->n, (to)->field, (to)->n, sizeof(*(from)->field), fn, arg)

static uint32_t
vni_of(const struct ctl_config *cfg, const char *vnet)
{
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		if (strcmp(cfg->vnets[i].name, vnet) == 0)
			return cfg->vnets[i].vni;
	return 0;
}

static bool
same_port(const struct ctl_vhost_port *a, const struct ctl_vhost_port *b)
{
	return strcmp(a->socket, b->socket) == 0 && a->mode == b->mode && a->queues == b->queues &&
	       a->mtu == b->mtu;
}

static bool
same_vnet(const struct ctl_vnet *a, const struct ctl_vnet *b)
{
	return a->vni == b->vni && a->flood == b->flood && a->n_subnets == b->n_subnets &&
	       memcmp(a->subnets, b->subnets, a->n_subnets * sizeof(a->subnets[0])) == 0 &&
	       memcmp(a->gateways, b->gateways, a->n_subnets * sizeof(a->gateways[0])) == 0;
}

static bool
same_ip(const struct ctl_ip *a, const struct ctl_ip *b)
{
	return a->family == b->family &&
	       (a->family == AF_INET ? a->v4 == b->v4 : memcmp(a->v6, b->v6, 16) == 0);
}

struct ctx {
	const struct ctl_config *from, *to;
	struct ctl_diff *d;
	char *err;
	size_t errlen;
	struct dp_port **prepared;     /* vhost ports created for @to, by index in to->vhost */
	bool *replaced;                /* to->vhost[i] replaces a port of the same name */
};

/* An endpoint whose table key (VNI, MAC) changes is removed and re-added;
 * any other change replaces it in place, atomically for readers. */
static bool
ep_rekeyed(const struct ctx *x, const struct ctl_endpoint *a, const struct ctl_endpoint *b)
{
	return memcmp(a->mac, b->mac, 6) != 0 ||
	       vni_of(x->from, a->vnet) != vni_of(x->to, b->vnet);
}

static bool
ep_same(const struct ctx *x, const struct ctl_endpoint *a, const struct ctl_endpoint *b)
{
	if (ep_rekeyed(x, a, b) || a->where != b->where || a->n_ips != b->n_ips)
		return false;
	if (a->where == CTL_EP_LOCAL ? strcmp(a->port, b->port) != 0 : a->tep != b->tep)
		return false;
	for (unsigned i = 0; i < a->n_ips; i++)
		if (!same_ip(&a->ips[i], &b->ips[i]))
			return false;
	/* a port replaced under the same name is a new port: rebind */
	if (a->where == CTL_EP_LOCAL) {
		for (unsigned i = 0; i < x->to->n_vhost; i++)
			if (x->replaced[i] && strcmp(x->to->vhost[i].name, b->port) == 0)
				return false;
	}
	return true;
}

/* --- diff --- */

static int
diff_port(const void *o, const void *n, void *arg)
{
	struct ctx *x = arg;

	if (o == NULL || n == NULL || !same_port(o, n)) {
		x->d->ports_added += n != NULL;
		x->d->ports_removed += o != NULL;
		if (o != NULL && n != NULL)
			x->replaced[(const struct ctl_vhost_port *)n - x->to->vhost] = true;
	}
	return 0;
}

static int
diff_vnet(const void *o, const void *n, void *arg)
{
	struct ctx *x = arg;

	x->d->vnets_added += o == NULL;
	x->d->vnets_removed += n == NULL;
	x->d->vnets_changed += o != NULL && n != NULL && !same_vnet(o, n);
	return 0;
}

static int
diff_ep(const void *o, const void *n, void *arg)
{
	struct ctx *x = arg;

	x->d->eps_added += o == NULL;
	x->d->eps_removed += n == NULL;
	x->d->eps_changed += o != NULL && n != NULL && !ep_same(x, o, n);
	return 0;
}

void
ctl_diff(const struct ctl_config *from, const struct ctl_config *to, struct ctl_diff *d)
{
	bool replaced[CTL_MAX_VHOST] = { 0 };
	struct ctx x = { .from = from, .to = to, .d = d, .replaced = replaced };

	memset(d, 0, sizeof(*d));
	WALK(from, to, vhost, n_vhost, diff_port, &x);
	WALK(from, to, vnets, n_vnets, diff_vnet, &x);
	WALK(from, to, endpoints, n_endpoints, diff_ep, &x);
}

json_t *
ctl_diff_json(const struct ctl_diff *d)
{
	return json_pack("{s:{s:i,s:i}, s:{s:i,s:i,s:i}, s:{s:i,s:i,s:i}}",
		"ports", "added", d->ports_added, "removed", d->ports_removed,
		"networks", "added", d->vnets_added, "changed", d->vnets_changed,
		"removed", d->vnets_removed,
		"endpoints", "added", d->eps_added, "changed", d->eps_changed,
		"removed", d->eps_removed);
}

/* --- apply, step by step --- */

/* Step 1: create and start new (or replaced) vhost ports, unpublished. */
static int
prepare_port(const void *o, const void *n, void *arg)
{
	struct ctx *x = arg;
	const struct ctl_vhost_port *np = n;

	if (np == NULL || (o != NULL && same_port(o, np)))
		return 0;
	x->replaced[np - x->to->vhost] = o != NULL;
	/* Same socket: the old port holds it, so it must go first (step 5). */
	if (o != NULL && strcmp(((const struct ctl_vhost_port *)o)->socket, np->socket) == 0)
		return 0;
	x->prepared[np - x->to->vhost] = ctl_port_prepare_vhost(np, x->err, x->errlen);
	return x->prepared[np - x->to->vhost] ? 0 : -EIO;
}

static void
release_tunnel_of(uint32_t vni, const uint8_t mac[6])
{
	const struct pol_endpoint *ep = pol_ep_by_mac(vni, (const struct rte_ether_addr *)mac);

	if (ep != NULL && !ep->local)
		ctl_tunnel_release(ep->tunnel);
}

static void
ep_remove(uint32_t vni, const uint8_t mac[6])
{
	release_tunnel_of(vni, mac);
	pol_endpoint_del(vni, (const struct rte_ether_addr *)mac);
}

/* Step 2: endpoints that go away, or whose key changes. */
static int
remove_ep(const void *o, const void *n, void *arg)
{
	struct ctx *x = arg;
	const struct ctl_endpoint *oe = o;

	if (oe != NULL && (n == NULL || ep_rekeyed(x, oe, n)))
		ep_remove(vni_of(x->from, oe->vnet), oe->mac);
	return 0;
}

/* Step 3: networks that go away or change VNI (their endpoints left in step 2). */
static int
remove_vnet(const void *o, const void *n, void *arg)
{
	const struct ctl_vnet *ov = o, *nv = n;
	int ret;

	(void)arg;
	if (ov == NULL || (nv != NULL && nv->vni == ov->vni))
		return 0;
	ret = pol_vnet_del(ov->vni);
	if (ret < 0 && ret != -ENOENT)
		LOG(ERR, "network %s still has endpoints: %s", ov->name, strerror(-ret));
	return 0;
}

/* Step 4: new and changed networks. */
static int
set_vnet(const void *o, const void *n, void *arg)
{
	struct ctx *x = arg;
	int ret;

	if (n == NULL || (o != NULL && same_vnet(o, n)))
		return 0;
	ret = pol_vnet_set(n);
	if (ret < 0)
		snprintf(x->err, x->errlen, "network %s: %s", ((const struct ctl_vnet *)n)->name,
			 strerror(-ret));
	return ret;
}

/* Step 5: publish the ports prepared in step 1; a port replaced on the
 * same socket is only now removed and created again (if that fails the
 * port is gone, and the error says so). */
static int
publish_ports(struct ctx *x)
{
	for (unsigned i = 0; i < x->to->n_vhost; i++) {
		int ret;

		if (x->prepared[i] == NULL && !x->replaced[i])
			continue;
		/* a port replaced under the same name frees its old slot first */
		ret = ctl_port_find(x->to->vhost[i].name);
		if (ret >= 0)
			ctl_port_remove(ret);
		if (x->prepared[i] == NULL) {
			x->prepared[i] = ctl_port_prepare_vhost(&x->to->vhost[i], x->err, x->errlen);
			if (x->prepared[i] == NULL)
				return -EIO;
		}
		ret = ctl_port_publish(x->prepared[i]);
		if (ret < 0) {
			snprintf(x->err, x->errlen, "port %s: no worker can poll more rx queues",
				 x->to->vhost[i].name);
			ctl_port_discard(x->prepared[i]);
			x->prepared[i] = NULL;
			return ret;
		}
		x->prepared[i] = NULL;
	}
	return 0;
}

/* Step 6: new and changed endpoints. */
static int
set_ep(const void *o, const void *n, void *arg)
{
	struct ctx *x = arg;
	const struct ctl_endpoint *ce = n;
	struct pol_endpoint ep;
	int ret;

	if (ce == NULL || (o != NULL && ep_same(x, o, ce)))
		return 0;
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.name, sizeof(ep.name), "%s", ce->name);
	ep.vni = vni_of(x->to, ce->vnet);
	memcpy(ep.mac.addr_bytes, ce->mac, 6);
	ep.n_ips = ce->n_ips;
	for (unsigned i = 0; i < ce->n_ips; i++) {
		ep.ips[i].family = ce->ips[i].family;
		if (ce->ips[i].family == AF_INET)
			ep.ips[i].v4 = ce->ips[i].v4;
		else
			memcpy(ep.ips[i].v6, ce->ips[i].v6, 16);
	}
	if (ce->where == CTL_EP_LOCAL) {
		ret = ctl_port_find(ce->port);
		if (ret < 0) {
			snprintf(x->err, x->errlen, "endpoint %s: no port %s", ce->name, ce->port);
			return ret;
		}
		ep.local = true;
		ep.port = ret;
		ep.tunnel = POL_NO_TUNNEL;
	} else {
		char tep[INET_ADDRSTRLEN];

		ret = ctl_tunnel_acquire(ce->tep);
		if (ret < 0) {
			inet_ntop(AF_INET, &ce->tep, tep, sizeof(tep));
			snprintf(x->err, x->errlen, "endpoint %s: tunnel endpoint %s: %s", ce->name,
				 tep, ret == -EHOSTUNREACH ? "no physical port reaches it"
							   : strerror(-ret));
			return ret;
		}
		ep.tunnel = ret;
		ep.tep = ce->tep;
	}
	/* the old path's tunnel reference goes once the new one is in place */
	if (o != NULL && !ep_rekeyed(x, o, ce)) {
		const struct pol_endpoint *old = pol_ep_by_mac(ep.vni, &ep.mac);
		uint16_t old_tunnel = old && !old->local ? old->tunnel : POL_NO_TUNNEL;

		ret = pol_endpoint_set(&ep);
		if (ret == 0 && old_tunnel != POL_NO_TUNNEL)
			ctl_tunnel_release(old_tunnel);
	} else {
		ret = pol_endpoint_set(&ep);
	}
	if (ret < 0) {
		snprintf(x->err, x->errlen, "endpoint %s: %s", ce->name, strerror(-ret));
		if (!ep.local)
			ctl_tunnel_release(ep.tunnel);
	}
	return ret;
}

/* Step 7: ports that went away (what was bound to them moved in step 6). */
static int
remove_port(const void *o, const void *n, void *arg)
{
	int idx;

	(void)arg;
	if (o == NULL || n != NULL)
		return 0;
	idx = ctl_port_find(((const struct ctl_vhost_port *)o)->name);
	if (idx >= 0)
		ctl_port_remove(idx);
	return 0;
}

/* Before anything changes: every remote endpoint must be reachable. */
static int
check_reachable(const struct ctl_config *to, char *err, size_t errlen)
{
	for (unsigned i = 0; i < to->n_endpoints; i++) {
		const struct ctl_endpoint *e = &to->endpoints[i];
		char tep[INET_ADDRSTRLEN];

		if (e->where != CTL_EP_REMOTE || ctl_tunnel_reachable(e->tep))
			continue;
		inet_ntop(AF_INET, &e->tep, tep, sizeof(tep));
		snprintf(err, errlen, "endpoint '%s': no physical port reaches tunnel endpoint %s "
			 "(not on a port's subnet, and no port has a gateway)", e->name, tep);
		return -EHOSTUNREACH;
	}
	return 0;
}

int
ctl_apply(const struct ctl_config *from, const struct ctl_config *to, char *err, size_t errlen)
{
	struct dp_port *prepared[CTL_MAX_VHOST] = { 0 };
	bool replaced[CTL_MAX_VHOST] = { 0 };
	struct ctl_diff d;
	struct ctx x = { .from = from, .to = to, .d = &d, .err = err, .errlen = errlen,
			 .prepared = prepared, .replaced = replaced };
	int ret;

	ret = check_reachable(to, err, errlen);
	if (ret < 0)
		return ret;
	ret = WALK(from, to, vhost, n_vhost, prepare_port, &x);
	if (ret < 0) {
		for (unsigned i = 0; i < to->n_vhost; i++)
			ctl_port_discard(prepared[i]);
		return ret;
	}
	WALK(from, to, endpoints, n_endpoints, remove_ep, &x);
	WALK(from, to, vnets, n_vnets, remove_vnet, &x);
	ret = WALK(from, to, vnets, n_vnets, set_vnet, &x);
	if (ret == 0)
		ret = publish_ports(&x);
	if (ret == 0)
		ret = WALK(from, to, endpoints, n_endpoints, set_ep, &x);
	if (ret == 0)
		WALK(from, to, vhost, n_vhost, remove_port, &x);
	for (unsigned i = 0; i < to->n_vhost; i++)
		ctl_port_discard(prepared[i]);
	dp_flow_tables_changed();   /* networks may have changed, even partly */
	if (ret < 0)
		LOG(ERR, "change only partly applied: %s", err);
	return ret;
}
