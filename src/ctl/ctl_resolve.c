/* Decision cache misses and refresh, on the control thread.
 *
 * A decision is computed from the model (the running configuration merged
 * with the policy service) and the forwarding tables: which policy applies
 * between the two VMs (pol_policy.c) and where the destination lives
 * (pol_path_translate).  Misses are rate-limited per source port, so one
 * VM cannot keep the control thread busy; what a VM can make the switch
 * hold is bounded by the cache's per-port limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ctl_notify.h"
#include "ctl_resolve.h"
#include "ctl_svc_chain.h"
#include "dp.h"
#include "dp_trace.h"
#include "pol_policy.h"

RTE_LOG_REGISTER_SUFFIX(res_logtype, resolve, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, res_logtype, "resolve: " fmt "\n", ##__VA_ARGS__)

#define UNKNOWN_TTL_MS 1000   /* a destination nobody knows is asked for again after this */
#define EVENTS_PER_POLL 256

/* Endpoints of the model sorted by name, to find a VM's groups. */
struct ep_index {
	unsigned n;
	const struct ctl_endpoint **by_name;
};

struct port_bucket {
	double tokens;
	uint64_t last_ms;
};

static struct {
	const struct ctl_config *model;
	struct ep_index idx;
	bool idx_dirty;
	uint64_t policy_rev;
	uint16_t tag;
	ctl_resolve_unknown_fn on_unknown;
	struct port_bucket bucket[POL_MAX_PORTS];
	/* counters */
	uint64_t misses, installed, unknown, rate_limited, no_source, install_failed;
	uint64_t refreshed, refresh_removed, not_local, stale_tags;
	uint64_t chains_down;           /* chained decisions that failed closed */
	char chain_err[CTL_ERR_MAX];    /* why the last one did */
	char host[64];                  /* ours, for the services' host scopes */
} rs;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
cmp_ep_name(const void *a, const void *b)
{
	const struct ctl_endpoint *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static void
index_rebuild(void)
{
	const struct ctl_config *m = rs.model;
	const struct ctl_endpoint **v = NULL;

	if (m != NULL && m->n_endpoints > 0) {
		v = malloc(sizeof(*v) * m->n_endpoints);
		if (v == NULL)
			return;   /* stays dirty: groups unknown until memory allows */
		for (unsigned i = 0; i < m->n_endpoints; i++)
			v[i] = &m->endpoints[i];
		qsort(v, m->n_endpoints, sizeof(*v), cmp_ep_name);
	}
	free(rs.idx.by_name);
	rs.idx.by_name = v;
	rs.idx.n = v != NULL ? m->n_endpoints : 0;
	rs.idx_dirty = false;
}

static const struct ctl_endpoint *
model_endpoint(const char *name)
{
	struct ctl_endpoint key;
	const struct ctl_endpoint *kp = &key, **hit;

	if (rs.idx_dirty)
		index_rebuild();
	if (rs.idx.n == 0)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	hit = bsearch(&kp, rs.idx.by_name, rs.idx.n, sizeof(*rs.idx.by_name), cmp_ep_name);
	return hit != NULL ? *hit : NULL;
}

static const struct ctl_vnet *
model_vnet(const char *name)
{
	for (unsigned i = 0; rs.model != NULL && i < rs.model->n_vnets; i++)
		if (strcmp(rs.model->vnets[i].name, name) == 0)
			return &rs.model->vnets[i];
	return NULL;
}

static bool
prefix_has4(const struct ctl_prefix *p, uint32_t ip)
{
	uint32_t mask = p->len == 0 ? 0 : htonl(~0u << (32 - p->len));

	return p->addr.family == AF_INET && (p->addr.v4 & mask) == (ip & mask);
}

/* The network of @src's routing domain (its tenant's networks, or its own
 * network alone) whose subnets hold @ip; NULL when none does. */
static const struct ctl_vnet *
route_vnet(const struct ctl_vnet *src, uint32_t ip)
{
	for (unsigned i = 0; rs.model != NULL && i < rs.model->n_vnets; i++) {
		const struct ctl_vnet *v = &rs.model->vnets[i];

		if (v != src && (src->tenant[0] == '\0' || strcmp(v->tenant, src->tenant) != 0))
			continue;
		for (unsigned s = 0; s < v->n_subnets; s++)
			if (prefix_has4(&v->subnets[s], ip))
				return v;
	}
	return NULL;
}

static void
subject_of(const struct pol_endpoint *ep, const struct ctl_vnet *v, struct pol_subject *s)
{
	const struct ctl_endpoint *ce = model_endpoint(ep->name);

	memset(s, 0, sizeof(*s));
	s->vm = ep->name;
	s->vnet = v != NULL ? v->name : "";
	s->tenant = v != NULL ? v->tenant : "";
	if (ce != NULL) {
		s->n_groups = ce->n_groups;
		s->groups = (const char (*)[CTL_NAME_MAX])ce->groups;
	}
}

static const struct ctl_vnet *
vnet_of(uint32_t vni)
{
	const struct pol_vnet *pv = pol_vnet_lookup(vni);

	return pv != NULL ? model_vnet(pv->name) : NULL;
}

/* A VM as the services' scope checks see it. */
static void
svc_vm_of(const struct pol_endpoint *ep, const struct ctl_vnet *v, struct svc_vm *vm)
{
	if (rs.host[0] == '\0' && gethostname(rs.host, sizeof(rs.host) - 1) < 0)
		rs.host[0] = '\0';
	vm->name = ep->name;
	vm->vnet = v != NULL ? v->name : "";
	vm->tenant = v != NULL ? v->tenant : "";
	vm->host = ep->local ? rs.host : "";
}

/* The steering of chained decision @d (fail closed: the error is kept for
 * `policy-service status` and logged when it changes). */
static int
chain_steer(const struct pol_endpoint *src, const struct ctl_vnet *sv,
	    const struct pol_endpoint *dst, const struct ctl_vnet *dv, struct pol_decision *d)
{
	struct svc_vm a, b;
	char err[CTL_ERR_MAX];
	int rc;

	svc_vm_of(src, sv, &a);
	svc_vm_of(dst, dv, &b);
	rc = ctl_chain_steer(d->chain, d->reverse, &a, &b, d->key.src_vni, &d->steer, err,
			     sizeof(err));
	if (rc == 0)
		return 0;
	rs.chains_down++;
	if (strcmp(err, rs.chain_err) != 0) {
		LOG(WARNING, "chain %s from %s to %s is down: %s", d->chain, src->name, dst->name,
		    err);
		snprintf(rs.chain_err, sizeof(rs.chain_err), "%s", err);
	}
	return rc;
}

int
ctl_resolve_decide(const struct pol_flow_key *k, struct pol_decision *d)
{
	const struct pol_endpoint *src, *dst = NULL;
	const struct ctl_vnet *sv, *dv;
	struct pol_subject ss, ds;
	struct pol_verdict v;

	memset(d, 0, sizeof(*d));
	d->key = *k;
	src = pol_ep_by_mac(k->src_vni, (const struct rte_ether_addr *)k->src_mac);
	if (src == NULL || rs.model == NULL)
		return -ENOENT;
	snprintf(d->src_vm, sizeof(d->src_vm), "%s", src->name);
	d->src_port = src->local ? src->port : POL_NO_PORT;
	sv = vnet_of(k->src_vni);
	if (k->kind == POL_DST_IP4) {
		uint32_t ip;

		memcpy(&ip, k->dst, 4);
		dv = sv != NULL ? route_vnet(sv, ip) : NULL;
		if (dv != NULL)
			dst = pol_ep_by_ip4(dv->vni, ip);
		d->routed = true;
		memcpy(&d->src_mac, rs.model->policy.gateway_mac, 6);
	} else {
		dst = pol_ep_by_mac(k->src_vni, (const struct rte_ether_addr *)k->dst);
		dv = sv;
	}
	if (dst == NULL) {
		d->result = POL_RES_UNKNOWN;
		d->dst_vni = k->src_vni;
		d->expires_ms = now_ms() + UNKNOWN_TTL_MS;
		return 0;
	}
	pol_path_translate(dst, d);
	dv = vnet_of(dst->vni);
	subject_of(src, sv, &ss);
	subject_of(dst, dv, &ds);
	pol_decide(rs.model->policies, rs.model->n_policies, &rs.model->policy, &ss, &ds, &v);
	d->action = v.action;
	d->policy_rev = v.revision;
	if (v.policy != NULL)
		snprintf(d->policy, sizeof(d->policy), "%s", v.policy->name);
	switch (v.action) {
	case CTL_ACT_ALLOW:
		d->result = POL_RES_FORWARD;
		break;
	case CTL_ACT_DENY:
		d->result = POL_RES_DENY;
		break;
	case CTL_ACT_CHAIN:
		snprintf(d->chain, sizeof(d->chain), "%s", v.policy->chain);
		d->reverse = v.reverse;
		d->result = chain_steer(src, sv, dst, dv, d) == 0 ? POL_RES_FORWARD
								   : POL_RES_CHAIN_DOWN;
		break;
	}
	d->tag = rs.tag;
	return 0;
}

/* Token bucket per source port: misses_per_port_per_s, burst of one second. */
static bool
miss_allowed(uint16_t port)
{
	struct port_bucket *b;
	double rate = rs.model ? rs.model->policy.misses_per_port_per_s : 1000;
	uint64_t t = now_ms();

	if (port >= POL_MAX_PORTS)
		return true;
	b = &rs.bucket[port];
	if (b->last_ms == 0)
		b->tokens = rate;
	else
		b->tokens = RTE_MIN(rate, b->tokens + rate * (double)(t - b->last_ms) / 1000.0);
	b->last_ms = t;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

static void
serve_miss(const struct dp_event *ev)
{
	struct pol_decision d;
	int ret;

	rs.misses++;
	if (pol_decision_lookup(&ev->key) != NULL)
		return;   /* another worker asked first */
	if (!miss_allowed(ev->port)) {
		rs.rate_limited++;
		return;
	}
	if (ctl_resolve_decide(&ev->key, &d) < 0) {
		rs.no_source++;
		return;
	}
	if (d.result == POL_RES_UNKNOWN) {
		rs.unknown++;
		if (rs.on_unknown != NULL && ev->key.kind == POL_DST_MAC)
			rs.on_unknown(ev->key.src_vni, ev->key.dst);
	}
	ret = pol_decision_install(&d);
	if (ret < 0) {
		rs.install_failed++;
		LOG(WARNING, "cannot cache a decision for %s: %s", d.src_vm, strerror(-ret));
		return;
	}
	rs.installed++;
}

void
ctl_resolve_poll(void)
{
	struct dp_event ev[EVENTS_PER_POLL];
	unsigned n;

	if (dp.events == NULL)
		return;
	n = rte_ring_dequeue_burst_elem(dp.events, ev, sizeof(ev[0]), EVENTS_PER_POLL, NULL);
	for (unsigned i = 0; i < n; i++) {
		switch (ev[i].type) {
		case DP_EV_MISS:
			serve_miss(&ev[i]);
			break;
		case DP_EV_NOT_LOCAL:
			rs.not_local++;
			ctl_notify_send_moved(ev[i].tep, ev[i].key.src_vni, ev[i].key.dst);
			break;
		case DP_EV_STALE_TAG:
			rs.stale_tags++;
			if (rs.tag != 0)
				ctl_notify_send_stale(ev[i].tep, rs.policy_rev);
			break;
		}
	}
	pol_cache_expire(now_ms());
}

/* Whether two decisions differ in anything but their timestamps. */
static bool
decision_changed(const struct pol_decision *a, const struct pol_decision *b)
{
	struct pol_decision x = *a, y = *b;

	x.installed_ms = y.installed_ms = 0;
	x.expires_ms = y.expires_ms = 0;
	return memcmp(&x, &y, sizeof(x)) != 0;
}

static bool
any_decision(const struct pol_decision *d, void *arg)
{
	(void)d;
	(void)arg;
	return true;
}

static void
refresh_all(void)
{
	const struct pol_decision *d;
	struct pol_flow_key *keys;
	struct pol_cache_stats st;
	uint32_t next = 0;
	unsigned n = 0;

	ctl_chain_sweep_begin();
	pol_cache_get_stats(&st);
	if (st.entries == 0) {
		ctl_chain_sweep_end();
		return;
	}
	keys = malloc(sizeof(*keys) * st.entries);
	if (keys == NULL) {
		/* cannot tell what changed: forget everything, misses rebuild it */
		rs.refresh_removed += pol_decision_remove_if(any_decision, NULL);
		ctl_chain_sweep_end();
		return;
	}
	while (n < st.entries && pol_decision_iterate(&next, &d) >= 0)
		keys[n++] = d->key;
	for (unsigned i = 0; i < n; i++) {
		const struct pol_decision *old = pol_decision_lookup(&keys[i]);
		struct pol_decision fresh;

		if (old == NULL)
			continue;
		if (ctl_resolve_decide(&keys[i], &fresh) < 0) {
			pol_decision_remove(&keys[i]);
			rs.refresh_removed++;
			continue;
		}
		if (fresh.result == POL_RES_UNKNOWN && old->result == POL_RES_UNKNOWN)
			continue;   /* keep its expiry */
		if (decision_changed(old, &fresh)) {
			if (pol_decision_install(&fresh) < 0)
				pol_decision_remove(&keys[i]);
			rs.refreshed++;
		}
	}
	free(keys);
	/* after the decisions moved to new paths: frames in flight on old
	 * ones were sent before and are lost at worst */
	ctl_chain_sweep_end();
}

void
ctl_resolve_refresh(void)
{
	refresh_all();
}

void
ctl_resolve_model_changed(const struct ctl_config *cfg)
{
	rs.model = cfg;
	rs.idx_dirty = true;
	refresh_all();
}

void
ctl_resolve_set_policy_revision(uint64_t revision, bool tagged)
{
	uint16_t tag = tagged ? (uint16_t)(revision % 65535 + 1) : 0;

	rs.policy_rev = revision;
	if (tag == rs.tag)
		return;
	rs.tag = tag;
	atomic_store_explicit(&dp.policy_tag, tag, memory_order_relaxed);
	refresh_all();
}

uint64_t
ctl_resolve_policy_revision(void)
{
	return rs.policy_rev;
}

void
ctl_resolve_on_unknown(ctl_resolve_unknown_fn fn)
{
	rs.on_unknown = fn;
}

static int
trace_decide(const struct pol_flow_key *k, uint16_t in_port, struct pol_decision *out)
{
	(void)in_port;
	return ctl_resolve_decide(k, out);
}

int
ctl_resolve_init(const struct ctl_config *cfg)
{
	memset(&rs, 0, sizeof(rs));
	rs.model = cfg;
	rs.idx_dirty = true;
	dp_trace_decide = trace_decide;
	return 0;
}

void
ctl_resolve_fini(void)
{
	dp_trace_decide = NULL;
	ctl_chain_fini();
	free(rs.idx.by_name);
	memset(&rs, 0, sizeof(rs));
}

json_t *
ctl_resolve_json(void)
{
	struct pol_cache_stats st;

	pol_cache_get_stats(&st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:i, s:I, s:s}",
		"misses", (json_int_t)rs.misses, "installed", (json_int_t)rs.installed,
		"unknown_destinations", (json_int_t)rs.unknown,
		"misses_rate_limited", (json_int_t)rs.rate_limited,
		"misses_no_source", (json_int_t)rs.no_source,
		"install_failed", (json_int_t)rs.install_failed,
		"refreshed", (json_int_t)rs.refreshed,
		"refresh_removed", (json_int_t)rs.refresh_removed,
		"not_local_reports", (json_int_t)rs.not_local,
		"stale_tag_reports", (json_int_t)rs.stale_tags,
		"cache",
		"entries", (json_int_t)st.entries, "capacity", (json_int_t)st.capacity,
		"per_port_limit", (json_int_t)st.per_port_limit,
		"installs", (json_int_t)st.installs, "evictions", (json_int_t)st.evictions,
		"evictions_port", (json_int_t)st.evictions_port,
		"removals", (json_int_t)st.removals, "expired", (json_int_t)st.expired,
		"policy_revision", (json_int_t)rs.policy_rev, "policy_tag", (int)rs.tag,
		"chains_down", (json_int_t)rs.chains_down, "chain_error", rs.chain_err);
}
