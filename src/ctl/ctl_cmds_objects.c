/* port, vnet and endpoint commands.  A change edits a copy of the running
 * configuration and hands it to ctl_switch_change(): validated whole, only
 * the difference applied, saved to the state file — or nothing happens. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmds.h"
#include "ctl_cmds_util.h"
#include "ctl_ports.h"
#include "ctl_server.h"
#include "ctl_switch.h"

static int
parse_prefix(const char *s, void *p)
{
	return ctl_parse_prefix(s, p);
}

static int
parse_ip(const char *s, void *ip)
{
	return ctl_parse_ip(s, ip);
}

static int
parse_name(const char *s, void *dst)
{
	if (strlen(s) >= CTL_NAME_MAX)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* ---- ports ---- */

static int
cmd_port_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args; (void)err; (void)errlen;
	*result = json_pack("{s:o}", "ports", ctl_json_ports());
	return 0;
}

static int
cmd_port_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	int idx = ctl_port_find(name);
	json_t *p;

	if (idx < 0 || (p = ctl_find_named(ctl_json_ports(), name)) == NULL) {
		snprintf(err, errlen, "no port '%s'", name);
		return -ENOENT;
	}
	json_object_set_new(p, "stats", ctl_json_port_stats(idx));
	*result = p;
	return 0;
}

static int
cmd_port_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const allowed[] = { "mode", "queues", "mtu", "vm", NULL };
	const char *name = ctl_arg(args, 0), *mode = ctl_opt(args, 2, "mode");
	const char *queues = ctl_opt(args, 2, "queues"), *vm = ctl_opt(args, 2, "vm");
	const char *mtu = ctl_opt(args, 2, "mtu");
	struct ctl_config *next;
	struct ctl_vhost_port *p;
	int ret = ctl_check_opts(args, 2, allowed, err, errlen);

	if (ret < 0)
		return ret;
	next = ctl_editable(err, errlen);
	if (next == NULL)
		return -ENOMEM;
	if (next->n_vhost == CTL_MAX_VHOST) {
		snprintf(err, errlen, "no room for more than %d vhost-user ports", CTL_MAX_VHOST);
		ret = -ENOSPC;
		goto fail;
	}
	p = &next->vhost[next->n_vhost];
	memset(p, 0, sizeof(*p));
	p->mode = CTL_VHOST_CLIENT;
	p->queues = 1;
	p->mtu = 1500;
	if ((ret = ctl_copy_name(p->name, sizeof(p->name), name, "port name", err, errlen)) < 0 ||
	    (ret = ctl_copy_name(p->socket, sizeof(p->socket), ctl_arg(args, 1), "socket path", err,
			     errlen)) < 0 ||
	    (ret = ctl_copy_name(p->vm, sizeof(p->vm), vm ? vm : name, "VM name", err, errlen)) < 0)
		goto fail;
	if (queues != NULL &&
	    (ret = ctl_parse_uint(queues, 1, 16, &p->queues, "queues", err, errlen)) < 0)
		goto fail;
	if (mtu != NULL && (ret = ctl_parse_uint(mtu, 68, 9600, &p->mtu, "mtu", err, errlen)) < 0)
		goto fail;
	if (mode != NULL) {
		if (strcmp(mode, "client") == 0) {
			p->mode = CTL_VHOST_CLIENT;
		} else if (strcmp(mode, "server") == 0) {
			p->mode = CTL_VHOST_SERVER;
		} else {
			snprintf(err, errlen, "mode: '%s' is neither client nor server", mode);
			ret = -EINVAL;
			goto fail;
		}
	}
	p->file = next->file;
	next->n_vhost++;
	return ctl_commit(next, "port", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

static int
cmd_port_del(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next = ctl_editable(err, errlen);
	unsigned i;

	if (next == NULL)
		return -ENOMEM;
	for (i = 0; i < next->n_vhost && strcmp(next->vhost[i].name, name) != 0; i++)
		;
	if (i == next->n_vhost) {
		snprintf(err, errlen, ctl_port_find(name) >= 0 ?
			 "port '%s' is a physical port: change the YAML file and restart" :
			 "no vhost-user port '%s'", name);
		ctl_config_free(next);
		return -ENOENT;
	}
	for (unsigned e = 0; e < next->n_endpoints; e++)
		if (next->endpoints[e].where == CTL_EP_LOCAL &&
		    strcmp(next->endpoints[e].port, name) == 0) {
			snprintf(err, errlen, "port '%s' is bound to endpoint '%s': delete or move "
				 "the endpoint first", name, next->endpoints[e].name);
			ctl_config_free(next);
			return -EBUSY;
		}
	memmove(&next->vhost[i], &next->vhost[i + 1], (next->n_vhost - i - 1) * sizeof(next->vhost[0]));
	next->n_vhost--;
	return ctl_commit(next, "port", name, result, err, errlen);
}

/* ---- virtual networks ---- */

static const struct ctl_vnet *
find_vnet(const struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_vnets; i++)
		if (strcmp(c->vnets[i].name, name) == 0)
			return &c->vnets[i];
	return NULL;
}


/* The logical side the datapath tables do not carry: tenant and gateways. */
static void
vnet_decorate(json_t *o, const struct ctl_config *c)
{
	const struct ctl_vnet *v = find_vnet(c, json_string_value(json_object_get(o, "name")) ?
					       json_string_value(json_object_get(o, "name")) : "");
	json_t *gws = json_array();

	for (unsigned i = 0; v != NULL && i < v->n_subnets; i++) {
		char buf[INET6_ADDRSTRLEN];
		const struct ctl_ip *g = &v->gateways[i];

		if (g->family == 0 ||
		    inet_ntop(g->family, g->family == AF_INET ? (const void *)&g->v4 :
			      (const void *)g->v6, buf, sizeof(buf)) == NULL)
			json_array_append_new(gws, json_null());
		else
			json_array_append_new(gws, json_string(buf));
	}
	json_object_set_new(o, "tenant", v && v->tenant[0] ? json_string(v->tenant) : json_null());
	json_object_set_new(o, "gateways", gws);
}

json_t *
ctl_json_vnets_model(void)
{
	json_t *arr = ctl_json_vnets(), *o;
	size_t i;

	json_array_foreach(arr, i, o)
		vnet_decorate(o, ctl_switch_config());
	return arr;
}

static int
cmd_vnet_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args; (void)err; (void)errlen;
	*result = json_pack("{s:o}", "networks", ctl_json_vnets_model());
	return 0;
}

static int
cmd_vnet_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	const struct ctl_vnet *v = find_vnet(ctl_switch_config(), name);
	json_t *o;

	if (v == NULL || (o = ctl_find_named(ctl_json_vnets_model(), name)) == NULL) {
		snprintf(err, errlen, "no network '%s'", name);
		return -ENOENT;
	}
	json_object_set_new(o, "endpoints", ctl_json_endpoints_model(v->vni));
	*result = o;
	return 0;
}

static int
parse_bool(const char *s, bool *out, const char *what, char *err, size_t errlen)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0) {
		*out = true;
	} else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0) {
		*out = false;
	} else {
		snprintf(err, errlen, "%s: '%s' is not true or false", what, s);
		return -EINVAL;
	}
	return 0;
}

/* A gateway, or "-" for a subnet without one. */
static int
parse_gateway(const char *s, void *ip)
{
	if (strcmp(s, "-") == 0) {
		memset(ip, 0, sizeof(struct ctl_ip));
		return 0;
	}
	return ctl_parse_ip(s, ip);
}

static int
cmd_vnet_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const allowed[] = { "subnets", "flood", "tenant", "gateways", NULL };
	const char *name = ctl_arg(args, 0), *subnets = ctl_opt(args, 2, "subnets");
	const char *flood = ctl_opt(args, 2, "flood"), *tenant = ctl_opt(args, 2, "tenant");
	const char *gateways = ctl_opt(args, 2, "gateways");
	unsigned n_gw = 0;
	struct ctl_config *next;
	struct ctl_vnet *grown, *v;
	int ret = ctl_check_opts(args, 2, allowed, err, errlen);

	if (ret < 0)
		return ret;
	next = ctl_editable(err, errlen);
	if (next == NULL)
		return -ENOMEM;
	grown = realloc(next->vnets, (next->n_vnets + 1) * sizeof(*grown));
	if (grown == NULL) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	next->vnets = grown;
	v = &next->vnets[next->n_vnets];
	memset(v, 0, sizeof(*v));
	v->file = next->file;
	if ((ret = ctl_copy_name(v->name, sizeof(v->name), name, "network name", err, errlen)) < 0 ||
	    (ret = ctl_parse_uint(ctl_arg(args, 1), 1, 16777215, &v->vni, "vni", err, errlen)) < 0 ||
	    (flood && (ret = parse_bool(flood, &v->flood, "flood", err, errlen)) < 0))
		goto fail;
	if (subnets != NULL &&
	    (ret = ctl_parse_csv(subnets, v->subnets, sizeof(v->subnets[0]), &v->n_subnets,
			      CTL_MAX_SUBNETS, parse_prefix, "subnets", "an address/length prefix",
			      err, errlen)) < 0)
		goto fail;
	if (tenant != NULL &&
	    (ret = ctl_copy_name(v->tenant, sizeof(v->tenant), tenant, "tenant name", err,
				 errlen)) < 0)
		goto fail;
	if (gateways != NULL &&
	    (ret = ctl_parse_csv(gateways, v->gateways, sizeof(v->gateways[0]), &n_gw,
				 CTL_MAX_SUBNETS, parse_gateway, "gateways", "an IP address or '-'",
				 err, errlen)) < 0)
		goto fail;
	if (gateways != NULL && n_gw != v->n_subnets) {
		snprintf(err, errlen, "gateways: %u given for %u subnets (one per subnet, in order, "
			 "'-' for none)", n_gw, v->n_subnets);
		ret = -EINVAL;
		goto fail;
	}
	next->n_vnets++;
	return ctl_commit(next, "network", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

static int
cmd_vnet_del(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next = ctl_editable(err, errlen);
	const struct ctl_vnet *v;
	unsigned i;

	if (next == NULL)
		return -ENOMEM;
	v = find_vnet(next, name);
	if (v == NULL) {
		snprintf(err, errlen, "no network '%s'", name);
		ctl_config_free(next);
		return -ENOENT;
	}
	for (unsigned e = 0; e < next->n_endpoints; e++)
		if (strcmp(next->endpoints[e].vnet, name) == 0) {
			snprintf(err, errlen, "network '%s' still has endpoint '%s': delete or move "
				 "its endpoints first", name, next->endpoints[e].name);
			ctl_config_free(next);
			return -EBUSY;
		}
	i = v - next->vnets;
	memmove(&next->vnets[i], &next->vnets[i + 1], (next->n_vnets - i - 1) * sizeof(*v));
	next->n_vnets--;
	return ctl_commit(next, "network", name, result, err, errlen);
}

/* ---- endpoints ---- */

static struct ctl_endpoint *
find_ep(const struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_endpoints; i++)
		if (strcmp(c->endpoints[i].name, name) == 0)
			return &c->endpoints[i];
	return NULL;
}

static int
ep_name_cmp(const void *a, const void *b)
{
	const struct ctl_endpoint *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* The datapath's endpoint view with the groups each belongs to.  Endpoints
 * are found through a sorted index: lists run to a million entries. */
json_t *
ctl_json_endpoints_model(uint32_t vni)
{
	const struct ctl_config *c = ctl_switch_config();
	json_t *arr = ctl_json_endpoints(vni), *o;
	const struct ctl_endpoint **idx = malloc((c->n_endpoints + 1) * sizeof(*idx));
	size_t i;

	for (unsigned e = 0; idx != NULL && e < c->n_endpoints; e++)
		idx[e] = &c->endpoints[e];
	if (idx != NULL)
		qsort(idx, c->n_endpoints, sizeof(*idx), ep_name_cmp);
	json_array_foreach(arr, i, o) {
		struct ctl_endpoint key;
		const struct ctl_endpoint *kp = &key, **found = NULL;
		const char *name = json_string_value(json_object_get(o, "name"));
		json_t *groups = json_array();

		if (idx != NULL && name != NULL && strlen(name) < sizeof(key.name)) {
			strcpy(key.name, name);
			found = bsearch(&kp, idx, c->n_endpoints, sizeof(*idx), ep_name_cmp);
		}
		for (unsigned g = 0; found != NULL && g < (*found)->n_groups; g++)
			json_array_append_new(groups, json_string((*found)->groups[g]));
		json_object_set_new(o, "groups", groups);
	}
	free(idx);
	return arr;
}

static int
cmd_ep_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const allowed[] = { "vnet", NULL };
	const char *vnet = ctl_opt(args, 0, "vnet");
	const struct ctl_vnet *v = NULL;
	int ret = ctl_check_opts(args, 0, allowed, err, errlen);

	if (ret < 0)
		return ret;
	if (vnet != NULL && (v = find_vnet(ctl_switch_config(), vnet)) == NULL) {
		snprintf(err, errlen, "no network '%s'", vnet);
		return -ENOENT;
	}
	*result = json_pack("{s:o}", "endpoints", ctl_json_endpoints_model(v ? v->vni : UINT32_MAX));
	return 0;
}

static int
cmd_ep_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	const struct ctl_endpoint *e = find_ep(ctl_switch_config(), name);
	const struct ctl_vnet *v = e ? find_vnet(ctl_switch_config(), e->vnet) : NULL;
	json_t *o;

	if (v == NULL || (o = ctl_find_named(ctl_json_endpoints_model(v->vni), name)) == NULL) {
		snprintf(err, errlen, "no endpoint '%s'", name);
		return -ENOENT;
	}
	json_object_set_new(o, "network", json_string(v->name));
	*result = o;
	return 0;
}

/* Set where @e lives from port=/tep= options (exactly one). */
static int
set_location(struct ctl_endpoint *e, json_t *args, size_t from, char *err, size_t errlen)
{
	const char *port = ctl_opt(args, from, "port"), *tep = ctl_opt(args, from, "tep");
	struct ctl_ip ip;

	if ((port == NULL) == (tep == NULL)) {
		snprintf(err, errlen, "say where the endpoint lives: port=PORT or tep=IPV4");
		return -EINVAL;
	}
	if (port != NULL) {
		e->where = CTL_EP_LOCAL;
		e->tep = 0;
		return ctl_copy_name(e->port, sizeof(e->port), port, "port name", err, errlen);
	}
	if (ctl_parse_ip(tep, &ip) < 0 || ip.family != AF_INET) {
		snprintf(err, errlen, "tep: '%s' is not an IPv4 address", tep);
		return -EINVAL;
	}
	e->where = CTL_EP_REMOTE;
	e->tep = ip.v4;
	e->port[0] = '\0';
	return 0;
}

static int
cmd_ep_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const allowed[] = { "port", "tep", "ips", "groups", NULL };
	const char *name = ctl_arg(args, 0), *ips = ctl_opt(args, 3, "ips");
	const char *groups = ctl_opt(args, 3, "groups");
	struct ctl_config *next;
	struct ctl_endpoint *grown, *e;
	int ret = ctl_check_opts(args, 3, allowed, err, errlen);

	if (ret < 0)
		return ret;
	next = ctl_editable(err, errlen);
	if (next == NULL)
		return -ENOMEM;
	grown = realloc(next->endpoints, (next->n_endpoints + 1) * sizeof(*grown));
	if (grown == NULL) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	next->endpoints = grown;
	e = &next->endpoints[next->n_endpoints];
	memset(e, 0, sizeof(*e));
	e->file = next->file;
	if ((ret = ctl_copy_name(e->name, sizeof(e->name), name, "endpoint name", err, errlen)) < 0 ||
	    (ret = ctl_copy_name(e->vnet, sizeof(e->vnet), ctl_arg(args, 2), "network name", err,
			     errlen)) < 0 ||
	    (ret = set_location(e, args, 3, err, errlen)) < 0)
		goto fail;
	if (ctl_parse_mac(ctl_arg(args, 1), e->mac) < 0) {
		snprintf(err, errlen, "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", ctl_arg(args, 1));
		ret = -EINVAL;
		goto fail;
	}
	if (ips != NULL &&
	    (ret = ctl_parse_csv(ips, e->ips, sizeof(e->ips[0]), &e->n_ips, CTL_MAX_EP_IPS,
			      parse_ip, "ips", "an IP address", err, errlen)) < 0)
		goto fail;
	if (groups != NULL &&
	    (ret = ctl_parse_csv(groups, e->groups, sizeof(e->groups[0]), &e->n_groups,
				 CTL_MAX_EP_GROUPS, parse_name, "groups", "a group name", err,
				 errlen)) < 0)
		goto fail;
	next->n_endpoints++;
	return ctl_commit(next, "endpoint", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

static int
cmd_ep_del(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next = ctl_editable(err, errlen);
	struct ctl_endpoint *e;

	if (next == NULL)
		return -ENOMEM;
	e = find_ep(next, name);
	if (e == NULL) {
		snprintf(err, errlen, "no endpoint '%s'", name);
		ctl_config_free(next);
		return -ENOENT;
	}
	memmove(e, e + 1, (next->n_endpoints - (e - next->endpoints) - 1) * sizeof(*e));
	next->n_endpoints--;
	return ctl_commit(next, "endpoint", name, result, err, errlen);
}

static int
cmd_ep_move(json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const allowed[] = { "port", "tep", NULL };
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next;
	struct ctl_endpoint *e;
	int ret = ctl_check_opts(args, 1, allowed, err, errlen);

	if (ret < 0)
		return ret;
	next = ctl_editable(err, errlen);
	if (next == NULL)
		return -ENOMEM;
	e = find_ep(next, name);
	if (e == NULL) {
		snprintf(err, errlen, "no endpoint '%s'", name);
		ret = -ENOENT;
		goto fail;
	}
	ret = set_location(e, args, 1, err, errlen);
	if (ret < 0)
		goto fail;
	return ctl_commit(next, "endpoint", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

static const struct ctl_cmd cmds[] = {
	{ "port/list", "", 0, 0, cmd_port_list, "ports with their type, link and address" },
	{ "port/show", "NAME", 1, 1, cmd_port_show, "one port and its counters" },
	{ "port/add", "NAME SOCKET [mode=client|server] [queues=N] [mtu=N] [vm=VM]", 2, 6, cmd_port_add,
	  "add a vhost-user port while the switch runs (default: client mode, 1 queue)" },
	{ "port/del", "NAME", 1, 1, cmd_port_del,
	  "remove a vhost-user port (no endpoint may be bound to it)" },
	{ "vnet/list", "", 0, 0, cmd_vnet_list, "virtual networks" },
	{ "vnet/show", "NAME", 1, 1, cmd_vnet_show, "one virtual network and its endpoints" },
	{ "vnet/add", "NAME VNI [subnets=CIDR,...] [flood=true|false] [tenant=T] "
	  "[gateways=IP|-,...]", 2, 6, cmd_vnet_add,
	  "add a virtual network (gateways: one per subnet, in order, '-' for none)" },
	{ "vnet/del", "NAME", 1, 1, cmd_vnet_del, "remove a virtual network with no endpoints" },
	{ "endpoint/list", "[vnet=NAME]", 0, 1, cmd_ep_list, "endpoints and where they live" },
	{ "endpoint/show", "NAME", 1, 1, cmd_ep_show, "one endpoint" },
	{ "endpoint/add", "NAME MAC VNET port=PORT|tep=IPV4 [ips=IP,...] [groups=G,...]", 4, 6,
	  cmd_ep_add,
	  "add an endpoint: a VM's interface, local (port=) or behind a tunnel endpoint (tep=)" },
	{ "endpoint/del", "NAME", 1, 1, cmd_ep_del, "remove an endpoint" },
	{ "endpoint/move", "NAME port=PORT|tep=IPV4", 2, 2, cmd_ep_move,
	  "the VM now lives on another local port or behind another tunnel endpoint" },
};

int
ctl_cmds_objects_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
