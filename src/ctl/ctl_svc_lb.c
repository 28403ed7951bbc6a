/* The built-in load balancer onto VM ports (see ctl_svc_lb.h).  Per local
 * VM: the VIPs of every LB profile enabled for it (it is a client), and
 * the VIPs of every enabled LB profile that lists it as a backend (it
 * answers as the VIP).  Backends are VM names resolved here, from the
 * running model, to their first IPv4: remote ones are reached by the
 * routed path like any other address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_log.h>

#include "ctl_ports.h"
#include "ctl_services.h"
#include "ctl_svc_lb.h"
#include "ctl_switch.h"
#include "dp.h"

RTE_LOG_REGISTER_SUFFIX(ctl_lb_logtype, services.lb.ctl, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, ctl_lb_logtype, "services: lb: " fmt "\n", ##__VA_ARGS__)

/* Counter baselines per profile slot: a backend that takes a position, or
 * a profile that takes a slot, starts from zero.  ctl only. */
static struct {
	char owner[CTL_NAME_MAX];
	char names[SVC_LB_MAX_BACKENDS][CTL_NAME_MAX];
	uint64_t base[SVC_LB_MAX_BACKENDS];
} slots[SVC_MAX_PROFILES];

static const char *
param(const struct svc_service *s, const struct svc_profile *p, const char *key)
{
	const struct svc_level *l = svc_def_level(s->def, p->level);
	const struct svc_param *v = svc_params_get(&p->params, key);

	if (v == NULL)
		v = svc_params_get(&s->configured, key);
	if (v == NULL && l != NULL)
		v = svc_params_get(&l->params, key);
	if (v == NULL)
		v = svc_params_get(&s->def->params, key);
	return v != NULL ? v->value : "";
}

static int
parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static uint32_t
vm_ip4(const struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; c != NULL && i < c->n_endpoints; i++) {
		const struct ctl_endpoint *e = &c->endpoints[i];

		if (strcmp(e->name, name) != 0)
			continue;
		for (unsigned j = 0; j < e->n_ips; j++)
			if (e->ips[j].family == AF_INET)
				return e->ips[j].v4;
	}
	return 0;
}

static int
parse_backends(const char *list, struct ctl_lb_conf *out, char *err, size_t errlen)
{
	const struct ctl_config *c = ctl_switch_config();
	const char *p = list;

	out->n_backends = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		struct ctl_lb_backend *b;

		if (len == 0 || len >= CTL_NAME_MAX) {
			snprintf(err, errlen, "backends: '%.64s' is not a list of VM names", list);
			return -EINVAL;
		}
		if (out->n_backends == SVC_LB_MAX_BACKENDS) {
			snprintf(err, errlen, "backends: at most %d", SVC_LB_MAX_BACKENDS);
			return -EINVAL;
		}
		b = &out->backends[out->n_backends++];
		memcpy(b->name, p, len);
		b->name[len] = '\0';
		b->ip = vm_ip4(c, b->name);
		p += len;
		if (*p == ',' && *++p == '\0') {
			snprintf(err, errlen, "backends: '%.64s' ends with a comma", list);
			return -EINVAL;
		}
	}
	return 0;
}

int
ctl_svc_lb_conf(const struct svc_catalog *cat, unsigned i, struct ctl_lb_conf *out,
		char *err, size_t errlen)
{
	const struct svc_profile *p = &cat->profiles[i];
	const struct svc_service *s = svc_catalog_service(cat, p->service);
	const char *v;
	struct ctl_ip ip;

	if (s == NULL || s->def->builtin != SVC_BUILTIN_LB)
		return -ENOTSUP;
	memset(out, 0, sizeof(*out));
	v = param(s, p, "vip");
	if (ctl_parse_ip(v, &ip) < 0 || ip.family != AF_INET || ip.v4 == 0) {
		snprintf(err, errlen, "vip: '%.64s' is not an IPv4 address", v);
		return -EINVAL;
	}
	out->vip = ip.v4;
	v = param(s, p, "port");
	if (parse_port(v, &out->port) < 0) {
		snprintf(err, errlen, "port: '%.64s' is not a port (1-65535)", v);
		return -EINVAL;
	}
	v = param(s, p, "backend_port");
	out->backend_port = out->port;
	if (v[0] != '\0' && parse_port(v, &out->backend_port) < 0) {
		snprintf(err, errlen, "backend_port: '%.64s' is not a port (1-65535)", v);
		return -EINVAL;
	}
	v = param(s, p, "proto");
	if (v[0] == '\0' || strcmp(v, "tcp") == 0) {
		out->proto = IPPROTO_TCP;
	} else if (strcmp(v, "udp") == 0) {
		out->proto = IPPROTO_UDP;
	} else {
		snprintf(err, errlen, "proto: '%.64s' is neither tcp nor udp", v);
		return -EINVAL;
	}
	return parse_backends(param(s, p, "backends"), out, err, errlen);
}

uint64_t
ctl_svc_lb_packets(const struct svc_profile *p, unsigned pos)
{
	uint64_t n;

	if (p->slot >= SVC_MAX_PROFILES || pos >= SVC_LB_MAX_BACKENDS ||
	    strcmp(slots[p->slot].owner, p->name) != 0)
		return 0;
	n = dp_lb_counter((uint16_t)p->slot, pos);
	return n >= slots[p->slot].base[pos] ? n - slots[p->slot].base[pos] : 0;
}

/* A backend that took a position (or a profile that took a slot) counts
 * from now on. */
static void
rebase(const struct svc_profile *p, const struct ctl_lb_conf *lb)
{
	bool new_owner = strcmp(slots[p->slot].owner, p->name) != 0;

	snprintf(slots[p->slot].owner, sizeof(slots[p->slot].owner), "%s", p->name);
	for (unsigned b = 0; b < SVC_LB_MAX_BACKENDS; b++) {
		const char *name = b < lb->n_backends ? lb->backends[b].name : "";

		if (!new_owner && strcmp(slots[p->slot].names[b], name) == 0)
			continue;
		snprintf(slots[p->slot].names[b], sizeof(slots[p->slot].names[b]), "%s", name);
		slots[p->slot].base[b] = dp_lb_counter((uint16_t)p->slot, b);
	}
}

static bool
enabled_anywhere(const struct svc_catalog *cat, const char *profile)
{
	for (unsigned e = 0; e < cat->n_enables; e++)
		if (strcmp(cat->enables[e].profile, profile) == 0)
			return true;
	return false;
}

static const struct ctl_vnet *
vnet_of(const struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_vnets; i++)
		if (strcmp(c->vnets[i].name, name) == 0)
			return &c->vnets[i];
	return NULL;
}

static const char *
ip_text(uint32_t ip, char t[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &ip, t, INET_ADDRSTRLEN) ? t : "?";
}

static void
add_vip(struct svc_lb *lb, const struct ctl_lb_conf *conf, uint32_t vni, unsigned slot,
	const char *vm)
{
	struct svc_lb_vip *v;
	char t[INET_ADDRSTRLEN];

	if (lb->n_vips == SVC_LB_MAX_VIPS) {
		LOG(ERR, "VM %s: more than %d VIPs; VIP %s left out", vm, SVC_LB_MAX_VIPS,
		    ip_text(conf->vip, t));
		return;
	}
	v = &lb->vips[lb->n_vips++];
	v->vni = vni;
	v->vip = conf->vip;
	v->port = rte_cpu_to_be_16(conf->port);
	v->backend_port = rte_cpu_to_be_16(conf->backend_port);
	v->proto = conf->proto;
	v->profile = (uint16_t)slot;
	for (unsigned b = 0; b < conf->n_backends; b++) {
		if (conf->backends[b].ip == 0)
			continue;
		v->backend_pos[v->n_backends] = (uint8_t)b;
		v->backend_ip[v->n_backends++] = conf->backends[b].ip;
	}
}

static void
add_rev(struct svc_lb *lb, const struct ctl_lb_conf *conf, const char *vm)
{
	struct svc_lb_rev r = { .proto = conf->proto, .vip = conf->vip,
				.backend_port = rte_cpu_to_be_16(conf->backend_port),
				.port = rte_cpu_to_be_16(conf->port) };
	char t[INET_ADDRSTRLEN];

	for (unsigned i = 0; i < lb->n_rev; i++) {
		if (lb->rev[i].proto != r.proto || lb->rev[i].backend_port != r.backend_port)
			continue;
		if (lb->rev[i].vip != r.vip || lb->rev[i].port != r.port)
			LOG(WARNING, "VM %s backs two VIPs on one port %u: replies answer as the "
			    "first", vm, conf->backend_port);
		return;
	}
	if (lb->n_rev == SVC_LB_MAX_VIPS) {
		LOG(ERR, "VM %s: backs more than %d VIPs; VIP %s left out", vm, SVC_LB_MAX_VIPS,
		    ip_text(conf->vip, t));
		return;
	}
	lb->rev[lb->n_rev++] = r;
}

static bool
lists(const struct ctl_lb_conf *conf, const char *vm)
{
	for (unsigned b = 0; b < conf->n_backends; b++)
		if (strcmp(conf->backends[b].name, vm) == 0)
			return true;
	return false;
}

/* The tables of one local VM onto its port, unless they are what it has. */
static void
apply_vm(const struct svc_catalog *cat, const struct ctl_config *c, const struct ctl_endpoint *e,
	 const char *host, struct ctl_lb_conf *confs, const bool *valid, uint16_t port)
{
	const struct ctl_vnet *vn = vnet_of(c, e->vnet);
	struct svc_vm vm = { .name = e->name, .vnet = e->vnet,
			     .tenant = vn != NULL ? vn->tenant : "", .host = host };
	const struct svc_lb *cur = svc_lb_port_get(port);
	struct svc_lb *lb = calloc(1, sizeof(*lb));

	if (lb == NULL) {
		LOG(ERR, "VM %s: out of memory; its port keeps its load balancer", e->name);
		return;
	}
	for (unsigned i = 0; i < cat->n_profiles; i++) {
		if (!valid[i])
			continue;
		if (vn != NULL && svc_catalog_enabled_for(cat, i, &vm))
			add_vip(lb, &confs[i], vn->vni, cat->profiles[i].slot, e->name);
		if (lists(&confs[i], e->name) && enabled_anywhere(cat, cat->profiles[i].name))
			add_rev(lb, &confs[i], e->name);
	}
	if (lb->n_vips == 0 && lb->n_rev == 0) {
		free(lb);
		lb = NULL;
	}
	if ((lb == NULL && cur == NULL) ||
	    (lb != NULL && cur != NULL && memcmp(lb, cur, sizeof(*lb)) == 0)) {
		free(lb);
		return;
	}
	svc_lb_port_set(port, lb);
}

void
ctl_svc_lb_apply_all(void)
{
	const struct ctl_config *c = ctl_switch_config();
	const struct svc_catalog *cat = ctl_services_catalog();
	struct ctl_lb_conf *confs = NULL;
	bool *valid = NULL, seen[POL_MAX_PORTS] = { false };
	char host[256] = "", err[CTL_ERR_MAX];

	if (c == NULL || cat == NULL)
		return;
	confs = calloc(cat->n_profiles + 1, sizeof(*confs));
	valid = calloc(cat->n_profiles + 1, sizeof(*valid));
	if (confs == NULL || valid == NULL) {
		LOG(ERR, "out of memory: load balancers not updated");
		goto out;
	}
	for (unsigned i = 0; i < cat->n_profiles; i++) {
		const struct svc_profile *p = &cat->profiles[i];
		int rc = ctl_svc_lb_conf(cat, i, &confs[i], err, sizeof(err));

		if (rc == -ENOTSUP || p->slot >= SVC_MAX_PROFILES)
			continue;
		if (rc < 0) {
			if (enabled_anywhere(cat, p->name))
				LOG(ERR, "profile %s: %s; its VIP is not served", p->name, err);
			continue;
		}
		valid[i] = true;
		rebase(p, &confs[i]);
		for (unsigned b = 0; b < confs[i].n_backends; b++)
			if (confs[i].backends[b].ip == 0 && enabled_anywhere(cat, p->name))
				LOG(WARNING, "profile %s: backend %s is no VM with an IPv4 address: "
				    "skipped", p->name, confs[i].backends[b].name);
	}
	gethostname(host, sizeof(host) - 1);
	for (unsigned i = 0; i < c->n_endpoints; i++) {
		const struct ctl_endpoint *e = &c->endpoints[i];
		int port;

		if (e->where != CTL_EP_LOCAL || (port = ctl_port_find(e->port)) < 0 ||
		    port >= POL_MAX_PORTS)
			continue;
		seen[port] = true;
		apply_vm(cat, c, e, host, confs, valid, (uint16_t)port);
	}
	/* ports whose VM went away */
	for (unsigned p = 0; p < POL_MAX_PORTS; p++)
		if (!seen[p] && svc_lb_port_get((uint16_t)p) != NULL)
			svc_lb_port_set((uint16_t)p, NULL);
out:
	free(confs);
	free(valid);
}
