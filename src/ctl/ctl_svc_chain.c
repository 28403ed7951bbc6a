/* Service chains onto the datapath (ctl_svc_chain.h).
 *
 * A path is the list of steering entries one chain needs for one
 * direction and one source network: each hop's entry says where frames go
 * in and where they must come back, and links to the next hop's tag.  Tags
 * (VLAN IDs 1-4094) are handed out here; a path whose hops moved gets new
 * tags, and the old ones stay published until the next sweep so frames
 * still inside an appliance are not lost.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_log.h>

#include "ctl_ports.h"
#include "ctl_services.h"
#include "ctl_svc_chain.h"
#include "ctl_switch.h"
#include "ctl_underlay.h"
#include "dp.h"
#include "dp_steer.h"

RTE_LOG_REGISTER_SUFFIX(chain_logtype, chains, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, chain_logtype, "chains: " fmt "\n", ##__VA_ARGS__)

#define MAX_PATHS 512

struct path {
	bool used;
	bool live;                  /* asked for since the last sweep began */
	char chain[CTL_NAME_MAX];
	bool reverse;
	uint32_t src_vni;
	unsigned n;
	uint16_t ids[SVC_MAX_HOPS];
	struct dp_steer e[SVC_MAX_HOPS]; /* as published */
	bool tunnel_held[SVC_MAX_HOPS];
};

static struct {
	struct path paths[MAX_PATHS];
	bool id_used[DP_STEER_IDS];
	uint16_t next_id;           /* where the search for a free tag starts */
} cs = { .next_id = 1 };

/* A local port by name that no VM is attached to. */
static int
appliance_port(const char *name)
{
	const struct ctl_config *c = ctl_switch_config();
	int idx = ctl_port_find(name);

	if (idx < 0)
		return -ENOENT;
	for (unsigned i = 0; c != NULL && i < c->n_endpoints; i++)
		if (c->endpoints[i].where == CTL_EP_LOCAL && strcmp(c->endpoints[i].port, name) == 0)
			return -EBUSY;
	return idx;
}

/* Where hop @h (service @s) goes from this host, into @e (kind, ports or
 * endpoint and VNI).  Returns 0 or -ENOENT with @err. */
static int
hop_target(const struct svc_service *s, unsigned h, struct dp_steer *e, char *err, size_t errlen)
{
	const struct svc_def *d = s->def;

	for (unsigned i = 0; i < d->n_endpoints; i++) {
		const struct svc_endpoint *ep = &d->endpoints[i];

		if (d->insertion == SVC_INS_NETWORK && ep->kind == SVC_EP_PORT) {
			int in = appliance_port(ep->port);
			int out = ep->port_out[0] ? appliance_port(ep->port_out) : in;

			if (in < 0 || out < 0)
				continue;
			e->kind = DP_STEER_PORT;
			e->to_port = (uint16_t)in;
			e->from_port = (uint16_t)out;
			return 0;
		}
		if (d->insertion == SVC_INS_EXTERNAL && ep->kind == SVC_EP_IP &&
		    ep->ip.family == AF_INET && ep->vni != 0 && ctl_tunnel_reachable(ep->ip.v4)) {
			e->kind = DP_STEER_TUNNEL;
			e->tep = ep->ip.v4;
			e->svc_vni = ep->vni;
			return 0;
		}
	}
	snprintf(err, errlen, "hop %u (service %s): no endpoint usable from this host (%s)", h + 1,
		 d->name, d->insertion == SVC_INS_NETWORK ?
		 "a local vhost-user port with no VM attached" :
		 "an IPv4 endpoint with a vni, reachable on the underlay");
	return -ENOENT;
}

static bool
same_target(const struct dp_steer *a, const struct dp_steer *b)
{
	return a->kind == b->kind && a->hop == b->hop && a->chain == b->chain &&
	       (a->kind == DP_STEER_PORT ? a->to_port == b->to_port && a->from_port == b->from_port
					 : a->tep == b->tep && a->svc_vni == b->svc_vni);
}

static int
take_id(uint16_t *id)
{
	for (unsigned k = 0; k < DP_STEER_IDS - 1; k++) {
		uint16_t i = (uint16_t)((cs.next_id - 1 + k) % (DP_STEER_IDS - 1) + 1);

		if (!cs.id_used[i]) {
			cs.id_used[i] = true;
			cs.next_id = (uint16_t)(i % (DP_STEER_IDS - 1) + 1);
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

static void
path_free(struct path *p)
{
	for (unsigned j = 0; j < p->n; j++) {
		if (p->ids[j] != 0) {
			dp_steer_publish(p->ids[j], NULL);
			cs.id_used[p->ids[j]] = false;
		}
		if (p->tunnel_held[j])
			ctl_tunnel_release(p->e[j].tunnel);
	}
	memset(p, 0, sizeof(*p));
}

/* Publish the entries @e (n of them, in visiting order) as a new path. */
static int
path_new(const char *chain, bool reverse, uint32_t src_vni, struct dp_steer *e, unsigned n,
	 struct path **out, char *err, size_t errlen)
{
	struct path *p = NULL;
	int rc = 0;

	for (unsigned i = 0; i < MAX_PATHS && p == NULL; i++)
		if (!cs.paths[i].used)
			p = &cs.paths[i];
	if (p == NULL) {
		snprintf(err, errlen, "more than %d chain paths in use", MAX_PATHS);
		return -ENOSPC;
	}
	p->used = true;
	snprintf(p->chain, sizeof(p->chain), "%s", chain);
	p->reverse = reverse;
	p->src_vni = src_vni;
	p->n = n;
	for (unsigned j = 0; j < n && rc == 0; j++) {
		p->e[j] = e[j];
		rc = take_id(&p->ids[j]);
		if (rc == 0 && e[j].kind == DP_STEER_TUNNEL) {
			rc = ctl_tunnel_acquire(e[j].tep);
			if (rc >= 0) {
				p->e[j].tunnel = (uint16_t)rc;
				p->tunnel_held[j] = true;
				rc = 0;
			}
		}
	}
	/* the last hop first: a published entry's next one always exists */
	for (unsigned j = n; rc == 0 && j-- > 0;) {
		p->e[j].next = j + 1 < n ? p->ids[j + 1] : 0;
		rc = dp_steer_publish(p->ids[j], &p->e[j]);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot set up the chain's hops: %s", strerror(-rc));
		path_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int
ctl_chain_steer(const char *chain, bool reverse, const struct svc_vm *src,
		const struct svc_vm *dst, uint32_t src_vni, uint16_t *first, char *err,
		size_t errlen)
{
	const struct svc_catalog *cat = ctl_services_catalog();
	struct svc_hop hops[SVC_MAX_HOPS];
	struct dp_steer e[SVC_MAX_HOPS];
	struct path *p = NULL;
	long ci;
	int n, rc;

	if (cat == NULL || (ci = svc_catalog_chain(cat, chain)) < 0) {
		snprintf(err, errlen, "no service chain '%s' in the catalog", chain);
		return -ENOENT;
	}
	n = svc_catalog_chain_hops(cat, chain, src, dst, hops, err, errlen);
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	for (int j = 0; j < n; j++) {
		unsigned h = reverse ? (unsigned)(n - 1 - j) : (unsigned)j;

		memset(&e[j], 0, sizeof(e[j]));
		e[j].reverse = reverse;
		e[j].hop = (uint8_t)h;
		e[j].chain = (uint8_t)cat->chains[ci].slot;
		e[j].src_vni = src_vni;
		if ((rc = hop_target(hops[h].service, h, &e[j], err, errlen)) < 0)
			return rc;
	}
	for (unsigned i = 0; i < MAX_PATHS; i++) {
		struct path *q = &cs.paths[i];
		bool same = q->used && q->reverse == reverse && q->src_vni == src_vni &&
			    q->n == (unsigned)n && strcmp(q->chain, chain) == 0;

		for (int j = 0; same && j < n; j++)
			same = same_target(&q->e[j], &e[j]);
		if (same) {
			p = q;
			break;
		}
	}
	if (p == NULL && (rc = path_new(chain, reverse, src_vni, e, (unsigned)n, &p, err,
					errlen)) < 0)
		return rc;
	p->live = true;
	*first = p->ids[0];
	return 0;
}

void
ctl_chain_sweep_begin(void)
{
	for (unsigned i = 0; i < MAX_PATHS; i++)
		cs.paths[i].live = false;
}

void
ctl_chain_sweep_end(void)
{
	for (unsigned i = 0; i < MAX_PATHS; i++)
		if (cs.paths[i].used && !cs.paths[i].live)
			path_free(&cs.paths[i]);
}

void
ctl_chain_ports_update(void)
{
	const struct svc_catalog *cat = ctl_services_catalog();
	bool mark[DP_MAX_PORTS] = { false };

	for (unsigned s = 0; cat != NULL && s < cat->n_services; s++) {
		const struct svc_def *d = cat->services[s].def;

		if (d->insertion != SVC_INS_NETWORK)
			continue;
		for (unsigned i = 0; i < d->n_endpoints; i++) {
			const struct svc_endpoint *ep = &d->endpoints[i];
			const char *names[2] = { ep->port, ep->port_out };

			if (ep->kind != SVC_EP_PORT)
				continue;
			for (int k = 0; k < 2; k++) {
				int idx = names[k][0] ? appliance_port(names[k]) : -ENOENT;

				if (idx == -EBUSY)
					LOG(ERR, "service %s: port %s has a VM attached; it is not "
					    "used as the service's endpoint", d->name, names[k]);
				if (idx >= 0)
					mark[idx] = true;
			}
		}
	}
	for (unsigned i = 0; i < DP_MAX_PORTS; i++)
		if (dp_steer_is_port((uint16_t)i) != mark[i])
			dp_steer_set_port((uint16_t)i, mark[i]);
}

void
ctl_chain_fini(void)
{
	for (unsigned i = 0; i < MAX_PATHS; i++)
		if (cs.paths[i].used)
			path_free(&cs.paths[i]);
	for (unsigned i = 0; i < DP_MAX_PORTS; i++)
		dp_steer_set_port((uint16_t)i, false);
}
