/* The policy service backends (ctl_pservice.h, docs/policy.md).
 *
 * etcd key layout under policy_service.etcd.prefix P (values are JSON):
 *   P/tenants/NAME   P/vnets/NAME   P/groups/NAME   P/policies/NAME
 *   P/endpoints/VNI/MAC             (published by the host the VM is on, leased)
 *   P/meta/policy-revision          (touched when a policy is deleted)
 * The client (ps_etcd.c) keeps a copy of the prefix current through its
 * watch; this file keeps the decoded objects and turns them into the
 * switch's model.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "ctl_model_json.h"
#include "ctl_ports.h"
#include "ctl_pservice.h"
#include "ctl_resolve.h"
#include "ctl_switch.h"
#include "ctl_underlay.h"
#include "dp.h"
#include "dp_port.h"
#include "ps_etcd.h"

RTE_LOG_REGISTER_SUFFIX(ps_logtype, pservice, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, ps_logtype, "policy-service: " fmt "\n", ##__VA_ARGS__)

#define META_POLICY_REV "meta/policy-revision"

static struct {
	enum ctl_backend backend;
	struct ps_etcd *etcd;
	json_t *kv;             /* relative key -> {"v": value, "rev": mod_revision} */
	json_t *snap;           /* snapshot being received */
	json_t *published;      /* our leased keys -> value text */
	json_t *offered;        /* keys of configured objects offered to etcd */
	bool dirty;             /* kv changed since the model was last merged */
	uint64_t remerge_at;    /* TSC: merge again then (a claim held back), 0 = no */
	json_t *claimed;        /* key -> TSC of our last claim over another host's copy */
	uint64_t claims;        /* keys taken over from another host (migrations) */
	bool synced;            /* a snapshot arrived */
	uint32_t my_teps[CTL_MAX_PHYS];
	unsigned n_my_teps;
	uint64_t local_rev;     /* YAML backend: revision counter */
	/* counters */
	uint64_t events, snapshots, rejected, left_out, merges, merge_failed;
	uint64_t refetches, refetch_failed, writes, write_failed;
	char last_reject[CTL_ERR_MAX];
} ps;

static void fetch_unknown(uint32_t vni, const uint8_t mac[6]);

static void
reject(const char *key, const char *why)
{
	ps.rejected++;
	snprintf(ps.last_reject, sizeof(ps.last_reject), "%.100s: %.400s", key, why);
	LOG(WARNING, "%s left out: %s", key, why);
}

/* Store one key's value (NULL: deleted) unless @rev is older than what we have. */
static void
store(json_t *into, const char *key, const char *value, size_t len, int64_t rev)
{
	json_t *old = json_object_get(into, key), *v;
	json_error_t je;

	if (old != NULL && rev > 0 &&
	    json_integer_value(json_object_get(old, "rev")) > rev)
		return;
	if (value == NULL) {
		json_object_del(into, key);
		return;
	}
	v = json_loadb(value, len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		json_object_del(into, key);
		reject(key, "value is not JSON");
		return;
	}
	json_object_set_new(into, key, json_pack("{s:o, s:I}", "v", v, "rev", (json_int_t)rev));
}

static void
cb_snapshot_begin(void *arg)
{
	(void)arg;
	json_decref(ps.snap);
	ps.snap = json_object();
}

static void
cb_snapshot_kv(void *arg, const struct ps_kv *kv)
{
	(void)arg;
	if (ps.snap != NULL)
		store(ps.snap, kv->key, kv->value, kv->value_len, kv->mod_revision);
}

static void
cb_snapshot_end(void *arg, int64_t revision)
{
	(void)arg;
	if (ps.snap == NULL)
		return;
	json_decref(ps.kv);
	ps.kv = ps.snap;
	ps.snap = NULL;
	ps.snapshots++;
	ps.synced = true;
	ps.dirty = true;
	LOG(INFO, "snapshot at revision %lld: %zu keys", (long long)revision,
	    json_object_size(ps.kv));
}

static void
cb_event(void *arg, const struct ps_kv *kv, bool deleted)
{
	(void)arg;
	ps.events++;
	store(ps.kv, kv->key, deleted ? NULL : kv->value, kv->value_len,
	      deleted ? 0 : kv->mod_revision);
	ps.dirty = true;
}

static void
cb_lease_renewed(void *arg, int64_t lease)
{
	(void)arg;
	LOG(WARNING, "lease lost and granted again (%lld): endpoints published again",
	    (long long)lease);
}

bool
ctl_pservice_is_etcd(void)
{
	return ps.backend == CTL_BACKEND_ETCD;
}

int
ctl_pservice_init(const struct ctl_config *cfg)
{
	static const struct ps_etcd_callbacks cb = {
		.snapshot_begin = cb_snapshot_begin, .snapshot_kv = cb_snapshot_kv,
		.snapshot_end = cb_snapshot_end, .event = cb_event,
		.lease_renewed = cb_lease_renewed,
	};
	const char *members[CTL_MAX_ETCD];
	struct ps_etcd_params p = {
		.members = members, .n_members = cfg->policy.n_etcd,
		.prefix = cfg->policy.etcd_prefix, .lease_ttl_s = cfg->policy.lease_ttl_s,
		.timeout_ms = cfg->policy.etcd_timeout_ms,
	};

	memset(&ps, 0, sizeof(ps));
	ps.backend = cfg->policy.backend;
	ps.kv = json_object();
	ps.published = json_object();
	ps.offered = json_object();
	ps.claimed = json_object();
	for (unsigned i = 0; i < cfg->n_phys && i < CTL_MAX_PHYS; i++)
		ps.my_teps[ps.n_my_teps++] = cfg->phys[i].ip;
	if (ps.kv == NULL || ps.published == NULL || ps.offered == NULL || ps.claimed == NULL)
		return -ENOMEM;
	if (ps.backend != CTL_BACKEND_ETCD) {
		ctl_resolve_set_policy_revision(0, false);
		return 0;
	}
	for (unsigned i = 0; i < cfg->policy.n_etcd; i++)
		members[i] = cfg->policy.etcd[i];
	ps.etcd = ps_etcd_new(&p, &cb);
	if (ps.etcd == NULL)
		return -errno;
	ctl_resolve_on_unknown(fetch_unknown);
	LOG(INFO, "etcd backend: %u members, prefix %s", p.n_members, p.prefix);
	return 0;
}

void
ctl_pservice_fini(void)
{
	ps_etcd_free(ps.etcd);
	json_decref(ps.kv);
	json_decref(ps.snap);
	json_decref(ps.published);
	json_decref(ps.offered);
	json_decref(ps.claimed);
	memset(&ps, 0, sizeof(ps));
}

/* --- merging the service's objects into a configuration --- */

static bool
is_my_tep(uint32_t tep)
{
	for (unsigned i = 0; i < ps.n_my_teps; i++)
		if (ps.my_teps[i] == tep)
			return true;
	return false;
}

/* A guest runs on vhost port @name here. */
static bool
port_active(const char *name)
{
	int idx = ctl_port_find(name);
	const struct dp_port *p = idx >= 0 ? dp_port_get(idx) : NULL;

	return p != NULL && dp_vhost_active(p);
}

/* Our endpoint @e may yield to etcd's copy: local, from our configuration,
 * and its guest does not run here (not yet, or not any more). */
static bool
may_yield(const struct ctl_endpoint *e)
{
	return e->where == CTL_EP_LOCAL && e->origin == CTL_FROM_CONFIG && !port_active(e->port);
}

/* Grow-able copy of one object array of a configuration. */
struct arr {
	void *items;
	unsigned n, cap;
	size_t size;
};

static int
arr_init(struct arr *a, const void *items, unsigned n, size_t size, enum ctl_origin *(*origin)(void *))
{
	a->size = size;
	a->cap = n + 16;
	a->n = 0;
	a->items = malloc(a->cap * size);
	if (a->items == NULL)
		return -ENOMEM;
	/* the configuration's own objects only; the service's are added fresh */
	for (unsigned i = 0; i < n; i++) {
		const void *it = (const char *)items + i * size;

		if (*origin((void *)it) == CTL_FROM_SERVICE)
			continue;
		memcpy((char *)a->items + a->n++ * size, it, size);
	}
	return 0;
}

static void *
arr_find(struct arr *a, const char *name)
{
	for (unsigned i = 0; i < a->n; i++) {
		char *it = (char *)a->items + i * a->size;

		if (strcmp(it, name) == 0)   /* every element starts with its name */
			return it;
	}
	return NULL;
}

/* Replace the element named like @it, or append it. */
static int
arr_put(struct arr *a, const void *it)
{
	void *slot = arr_find(a, it);

	if (slot == NULL) {
		if (a->n == a->cap) {
			void *p = realloc(a->items, (a->cap * 2) * a->size);

			if (p == NULL)
				return -ENOMEM;
			a->items = p;
			a->cap *= 2;
		}
		slot = (char *)a->items + a->n++ * a->size;
	}
	memcpy(slot, it, a->size);
	return 0;
}

static enum ctl_origin *o_tenant(void *p) { return &((struct ctl_tenant *)p)->origin; }
static enum ctl_origin *o_vnet(void *p) { return &((struct ctl_vnet *)p)->origin; }
static enum ctl_origin *o_group(void *p) { return &((struct ctl_group *)p)->origin; }
static enum ctl_origin *o_policy(void *p) { return &((struct ctl_policy *)p)->origin; }
static enum ctl_origin *o_ep(void *p) { return &((struct ctl_endpoint *)p)->origin; }

struct merge {
	struct arr tenants, vnets, groups, policies, eps;
};

static bool
starts(const char *key, const char *pfx, const char **rest)
{
	size_t n = strlen(pfx);

	if (strncmp(key, pfx, n) != 0)
		return false;
	*rest = key + n;
	return true;
}

static const struct ctl_vnet *
m_vnet_by_vni(struct merge *m, uint32_t vni)
{
	for (unsigned i = 0; i < m->vnets.n; i++) {
		const struct ctl_vnet *v = (const struct ctl_vnet *)m->vnets.items + i;

		if (v->vni == vni)
			return v;
	}
	return NULL;
}

/* One pass per kind so references resolve against the merged set. */
static void
merge_kind(struct merge *m, const char *pfx)
{
	char err[CTL_ERR_MAX];
	const char *key, *name;
	json_t *e;

	json_object_foreach(ps.kv, key, e) {
		json_t *v = json_object_get(e, "v");
		uint64_t rev = (uint64_t)json_integer_value(json_object_get(e, "rev"));

		if (!starts(key, pfx, &name))
			continue;
		if (strcmp(pfx, "tenants/") == 0) {
			struct ctl_tenant t;

			if (ctl_json_to_tenant(name, v, &t, err, sizeof(err)) < 0)
				goto bad;
			t.revision = rev;
			arr_put(&m->tenants, &t);
		} else if (strcmp(pfx, "vnets/") == 0) {
			struct ctl_vnet nv;
			const struct ctl_vnet *clash;

			if (ctl_json_to_vnet(name, v, &nv, err, sizeof(err)) < 0)
				goto bad;
			clash = m_vnet_by_vni(m, nv.vni);
			if (clash != NULL && strcmp(clash->name, nv.name) != 0) {
				snprintf(err, sizeof(err), "VNI %u is network '%s' here", nv.vni,
					 clash->name);
				goto bad;
			}
			if (nv.tenant[0] && arr_find(&m->tenants, nv.tenant) == NULL) {
				snprintf(err, sizeof(err), "no tenant '%s'", nv.tenant);
				goto bad;
			}
			nv.revision = rev;
			arr_put(&m->vnets, &nv);
		} else if (strcmp(pfx, "groups/") == 0) {
			struct ctl_group g;

			if (ctl_json_to_group(name, v, &g, err, sizeof(err)) < 0)
				goto bad;
			if (g.tenant[0] && arr_find(&m->tenants, g.tenant) == NULL) {
				snprintf(err, sizeof(err), "no tenant '%s'", g.tenant);
				goto bad;
			}
			g.revision = rev;
			arr_put(&m->groups, &g);
		} else if (strcmp(pfx, "policies/") == 0) {
			struct ctl_policy p;

			if (ctl_json_to_policy(name, v, &p, err, sizeof(err)) < 0)
				goto bad;
			if ((p.from.kind == CTL_SEL_GROUP && !arr_find(&m->groups, p.from.name)) ||
			    (p.to.kind == CTL_SEL_GROUP && !arr_find(&m->groups, p.to.name)) ||
			    (p.from.kind == CTL_SEL_VNET && !arr_find(&m->vnets, p.from.name)) ||
			    (p.to.kind == CTL_SEL_VNET && !arr_find(&m->vnets, p.to.name)) ||
			    (p.tenant[0] && !arr_find(&m->tenants, p.tenant))) {
				snprintf(err, sizeof(err), "names a group, network or tenant "
					 "that does not exist");
				goto bad;
			}
			p.revision = rev;
			arr_put(&m->policies, &p);
		} else if (strcmp(pfx, "endpoints/") == 0) {
			struct ctl_endpoint ep, *mine;
			const struct ctl_vnet *nv;
			unsigned g = 0;

			if (ctl_json_to_endpoint(v, &ep, err, sizeof(err)) < 0)
				goto bad;
			if (is_my_tep(ep.tep))
				continue;    /* ours, published by us: the configuration has it */
			nv = arr_find(&m->vnets, ep.vnet);
			if (nv == NULL) {
				snprintf(err, sizeof(err), "no network '%s'", ep.vnet);
				goto bad;
			}
			/* the key must name what the value says */
			{
				char want[64];

				snprintf(want, sizeof(want), "%u/%02x:%02x:%02x:%02x:%02x:%02x",
					 nv->vni, ep.mac[0], ep.mac[1], ep.mac[2], ep.mac[3],
					 ep.mac[4], ep.mac[5]);
				if (strcasecmp(name, want) != 0) {
					snprintf(err, sizeof(err), "key does not match the value (%s)",
						 want);
					goto bad;
				}
			}
			mine = arr_find(&m->eps, ep.name);
			if (mine != NULL && (!may_yield(mine) || strcmp(mine->vnet, ep.vnet) != 0 ||
					     memcmp(mine->mac, ep.mac, 6) != 0))
				continue;    /* the configuration's own endpoint of that name wins */
			for (unsigned i = 0; mine == NULL && i < m->eps.n; i++) {
				const struct ctl_endpoint *o = (const struct ctl_endpoint *)m->eps.items + i;
				const struct ctl_vnet *ov = arr_find(&m->vnets, o->vnet);

				if (ov != NULL && ov->vni == nv->vni && memcmp(o->mac, ep.mac, 6) == 0)
					goto skip;
			}
			if (!ctl_tunnel_reachable(ep.tep)) {
				snprintf(err, sizeof(err), "tunnel endpoint not reachable from here");
				goto bad;
			}
			for (unsigned i = 0; i < ep.n_groups; i++)   /* unknown groups: ignored */
				if (arr_find(&m->groups, ep.groups[i]) != NULL)
					memmove(ep.groups[g++], ep.groups[i], CTL_NAME_MAX);
			ep.n_groups = g;
			ep.revision = rev;
			if (mine != NULL) {
				/* its guest runs behind that TEP now: a migrated VM */
				ep.revision = RTE_MAX(rev, mine->revision + 1);
				*mine = ep;
				continue;
			}
			arr_put(&m->eps, &ep);
		}
		continue;
bad:
		ps.left_out++;
		snprintf(ps.last_reject, sizeof(ps.last_reject), "%.100s: %.400s", key, err);
		continue;
skip:
		;
	}
}

struct ctl_config *
ctl_pservice_merge(const struct ctl_config *base)
{
	struct ctl_config *c = ctl_config_dup(base);
	struct merge m;

	if (c == NULL)
		return NULL;
	memset(&m, 0, sizeof(m));
	if (arr_init(&m.tenants, c->tenants, c->n_tenants, sizeof(*c->tenants), o_tenant) < 0 ||
	    arr_init(&m.vnets, c->vnets, c->n_vnets, sizeof(*c->vnets), o_vnet) < 0 ||
	    arr_init(&m.groups, c->groups, c->n_groups, sizeof(*c->groups), o_group) < 0 ||
	    arr_init(&m.policies, c->policies, c->n_policies, sizeof(*c->policies), o_policy) < 0 ||
	    arr_init(&m.eps, c->endpoints, c->n_endpoints, sizeof(*c->endpoints), o_ep) < 0) {
		free(m.tenants.items);
		free(m.vnets.items);
		free(m.groups.items);
		free(m.policies.items);
		free(m.eps.items);
		ctl_config_free(c);
		return NULL;
	}
	if (ps.backend == CTL_BACKEND_ETCD) {
		ps.left_out = 0;
		merge_kind(&m, "tenants/");
		merge_kind(&m, "vnets/");
		merge_kind(&m, "groups/");
		merge_kind(&m, "policies/");
		merge_kind(&m, "endpoints/");
	}
	free(c->tenants);
	free(c->vnets);
	free(c->groups);
	free(c->policies);
	free(c->endpoints);
	c->tenants = m.tenants.items;
	c->n_tenants = m.tenants.n;
	c->vnets = m.vnets.items;
	c->n_vnets = m.vnets.n;
	c->groups = m.groups.items;
	c->n_groups = m.groups.n;
	c->policies = m.policies.items;
	c->n_policies = m.policies.n;
	c->endpoints = m.eps.items;
	c->n_endpoints = m.eps.n;
	ps.merges++;
	return c;
}

/* --- after an apply --- */

static bool
same_policy(const struct ctl_policy *a, const struct ctl_policy *b)
{
	return strcmp(a->tenant, b->tenant) == 0 && a->from.kind == b->from.kind &&
	       strcmp(a->from.name, b->from.name) == 0 && a->to.kind == b->to.kind &&
	       strcmp(a->to.name, b->to.name) == 0 && a->action == b->action &&
	       strcmp(a->chain, b->chain) == 0 && a->priority == b->priority;
}

/* YAML backend: a policy keeps its revision while unchanged. */
static void
local_revisions(const struct ctl_config *prev, struct ctl_config *cur)
{
	for (unsigned i = 0; i < cur->n_policies; i++) {
		struct ctl_policy *p = &cur->policies[i];
		const struct ctl_policy *o = NULL;

		if (p->origin != CTL_FROM_CONFIG)
			continue;
		for (unsigned j = 0; prev != NULL && j < prev->n_policies && o == NULL; j++)
			if (strcmp(prev->policies[j].name, p->name) == 0)
				o = &prev->policies[j];
		p->revision = o != NULL && o->revision != 0 && same_policy(o, p) ? o->revision
										  : ++ps.local_rev;
	}
}

static uint64_t
policy_set_revision(const struct ctl_config *cur)
{
	uint64_t rev = (uint64_t)json_integer_value(json_object_get(
				json_object_get(ps.kv, META_POLICY_REV), "rev"));

	for (unsigned i = 0; i < cur->n_policies; i++)
		if (cur->policies[i].origin == CTL_FROM_SERVICE && cur->policies[i].revision > rev)
			rev = cur->policies[i].revision;
	return rev;
}

static void
write_done(void *arg, int status, const struct ps_kv *kvs, unsigned n, int64_t revision)
{
	(void)kvs;
	(void)n;
	(void)revision;
	if (status < 0) {
		ps.write_failed++;
		LOG(WARNING, "write of %s failed: %s", arg ? (const char *)arg : "?",
		    strerror(-status));
	}
	free(arg);
}

static void
endpoint_key(const struct ctl_config *c, const struct ctl_endpoint *e, char *key, size_t len)
{
	uint32_t vni = 0;

	for (unsigned i = 0; i < c->n_vnets; i++)
		if (strcmp(c->vnets[i].name, e->vnet) == 0)
			vni = c->vnets[i].vni;
	snprintf(key, len, "endpoints/%u/%02x:%02x:%02x:%02x:%02x:%02x", vni, e->mac[0],
		 e->mac[1], e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
}

/* Publish our local endpoints: put what is new or changed, delete what left. */
static void
publish_local(const struct ctl_config *cur)
{
	json_t *now = json_object(), *v;
	const char *key;
	void *tmp;

	if (now == NULL || ps.n_my_teps == 0)
		goto out;
	for (unsigned i = 0; i < cur->n_endpoints; i++) {
		const struct ctl_endpoint *e = &cur->endpoints[i];
		char k[96], *text;
		json_t *j;

		if (e->where != CTL_EP_LOCAL || e->origin != CTL_FROM_CONFIG)
			continue;    /* those that yielded (may_yield()) are remote now */
		endpoint_key(cur, e, k, sizeof(k));
		j = ctl_endpoint_to_json(e, ps.my_teps[0]);
		text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(j);
		if (text == NULL)
			continue;
		json_object_set_new(now, k, json_string(text));
		free(text);
	}
	json_object_foreach(now, key, v) {
		json_t *old = json_object_get(ps.published, key);
		json_t *there = json_object_get(json_object_get(ps.kv, key), "v");
		json_t *mine = json_loads(json_string_value(v), 0, NULL);
		const char *tep_there = json_string_value(json_object_get(there, "tep"));
		const char *tep_mine = json_string_value(json_object_get(mine, "tep"));
		bool taken = tep_there != NULL && tep_mine != NULL && strcmp(tep_there, tep_mine) != 0;

		json_decref(mine);
		if (old != NULL && json_equal(old, v) && !taken)
			continue;
		if (taken) {
			/* Another host holds the key, and the guest runs here: claim it.
			 * Two hosts that both run it would take turns: not faster
			 * than twice a second, and said. */
			uint64_t now_tsc = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();
			uint64_t last = (uint64_t)json_integer_value(json_object_get(ps.claimed, key));

			if (last != 0 && now_tsc - last < hz / 2) {
				if (ps.remerge_at == 0 || last + hz / 2 < ps.remerge_at)
					ps.remerge_at = last + hz / 2;
				LOG(WARNING, "%s: claimed by another host again; is the VM running "
				    "on two hosts?", key);
				continue;
			}
			json_object_set_new(ps.claimed, key, json_integer((json_int_t)now_tsc));
			ps.claims++;
			LOG(INFO, "%s: claimed from another host: the guest runs here", key);
		}
		if (ps_etcd_put_leased(ps.etcd, key, json_string_value(v), write_done,
				       strdup(key)) < 0)
			ps.write_failed++;
		ps.writes++;
	}
	json_object_foreach_safe(ps.published, tmp, key, v) {
		if (json_object_get(now, key) != NULL)
			continue;
		if (ps_etcd_delete_leased(ps.etcd, key, write_done, strdup(key)) < 0)
			ps.write_failed++;
		ps.writes++;
	}
	json_decref(ps.published);
	ps.published = now;
	now = NULL;
out:
	json_decref(now);
}

/* Offer @key once per run (put-if-absent): etcd's version, if any, wins. */
static void
offer(const char *key, json_t *value)
{
	char *text = NULL;

	if (json_object_get(ps.offered, key) == NULL && value != NULL)
		text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(value);
	if (text == NULL)
		return;
	json_object_set_new(ps.offered, key, json_true());
	if (ps_etcd_put_if_absent(ps.etcd, key, text, write_done, strdup(key)) < 0)
		ps.write_failed++;
	ps.writes++;
	free(text);
}

/* Our configuration's logical objects, where etcd has none yet. */
static void
seed(const struct ctl_config *cur)
{
	char key[CTL_NAME_MAX + 16];

	for (unsigned i = 0; i < cur->n_tenants; i++) {
		if (cur->tenants[i].origin != CTL_FROM_CONFIG)
			continue;
		snprintf(key, sizeof(key), "tenants/%s", cur->tenants[i].name);
		offer(key, json_object());
	}
	for (unsigned i = 0; i < cur->n_vnets; i++) {
		if (cur->vnets[i].origin != CTL_FROM_CONFIG)
			continue;
		snprintf(key, sizeof(key), "vnets/%s", cur->vnets[i].name);
		offer(key, ctl_vnet_to_json(&cur->vnets[i]));
	}
	for (unsigned i = 0; i < cur->n_groups; i++) {
		if (cur->groups[i].origin != CTL_FROM_CONFIG)
			continue;
		snprintf(key, sizeof(key), "groups/%s", cur->groups[i].name);
		offer(key, ctl_group_to_json(&cur->groups[i]));
	}
	for (unsigned i = 0; i < cur->n_policies; i++) {
		if (cur->policies[i].origin != CTL_FROM_CONFIG)
			continue;
		snprintf(key, sizeof(key), "policies/%s", cur->policies[i].name);
		offer(key, ctl_policy_to_json(&cur->policies[i]));
	}
}

void
ctl_pservice_applied(const struct ctl_config *prev, struct ctl_config *running)
{
	if (ps.backend != CTL_BACKEND_ETCD) {
		local_revisions(prev, running);
		ctl_resolve_set_policy_revision(0, false);
		return;
	}
	ctl_resolve_set_policy_revision(policy_set_revision(running), true);
	if (!ps.synced)
		return;    /* publish once we know what etcd holds */
	seed(running);
	publish_local(running);
}

void
ctl_pservice_port_activity(const char *port, bool active)
{
	if (ps.backend != CTL_BACKEND_ETCD)
		return;
	LOG(INFO, "port %s: guest %s: re-merging the policy service's endpoints", port,
	    active ? "running here" : "gone");
	ps.dirty = true;   /* merged, applied and published at the next poll */
}

void
ctl_pservice_poll(void)
{
	if (ps.etcd == NULL)
		return;
	ps_etcd_poll(ps.etcd);
	if (ps.remerge_at != 0 && rte_get_tsc_cycles() >= ps.remerge_at) {
		ps.remerge_at = 0;
		ps.dirty = true;
	}
	if (ps.dirty) {
		ps.dirty = false;
		if (ctl_switch_service_changed() < 0)
			ps.merge_failed++;
	}
}

/* --- writes from the CLI --- */

int
ctl_pservice_put(const char *key, json_t *value, char *err, size_t errlen)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
	int ret;

	if (ps.etcd == NULL) {
		free(text);
		snprintf(err, errlen, "the policy service is not etcd");
		return -ENOTSUP;
	}
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = ps_etcd_put(ps.etcd, key, text, write_done, strdup(key));
	free(text);
	if (ret < 0)
		snprintf(err, errlen, "etcd: %s", strerror(-ret));
	ps.writes++;
	return ret;
}

int
ctl_pservice_delete(const char *key, char *err, size_t errlen)
{
	char stamp[32];
	int ret;

	if (ps.etcd == NULL) {
		snprintf(err, errlen, "the policy service is not etcd");
		return -ENOTSUP;
	}
	ret = ps_etcd_delete(ps.etcd, key, write_done, strdup(key));
	/* a deletion must raise the policy revision too (docs/policy.md) */
	if (ret == 0 && strncmp(key, "policies/", 9) == 0) {
		snprintf(stamp, sizeof(stamp), "{\"deleted\":\"%.16s\"}", key + 9);
		ret = ps_etcd_put(ps.etcd, META_POLICY_REV, stamp, write_done,
				  strdup(META_POLICY_REV));
	}
	if (ret < 0)
		snprintf(err, errlen, "etcd: %s", strerror(-ret));
	ps.writes++;
	return ret;
}

/* --- hints --- */

struct refetch {
	char key[96];
	bool prefix;
};

static void
refetch_done(void *arg, int status, const struct ps_kv *kvs, unsigned n, int64_t revision)
{
	struct refetch *r = arg;
	const char *key;
	json_t *e;
	void *tmp;

	(void)revision;
	if (status < 0) {
		ps.refetch_failed++;
		LOG(WARNING, "refetch of %s failed: %s", r->key, strerror(-status));
		free(r);
		return;
	}
	if (r->prefix) {     /* what is gone from etcd is gone here too */
		json_object_foreach_safe(ps.kv, tmp, key, e) {
			bool present = false;

			if (strncmp(key, r->key, strlen(r->key)) != 0)
				continue;
			for (unsigned i = 0; i < n && !present; i++)
				present = strcmp(kvs[i].key, key) == 0;
			if (!present)
				json_object_del(ps.kv, key);
		}
	} else if (n == 0) {
		json_object_del(ps.kv, r->key);
	}
	for (unsigned i = 0; i < n; i++)
		store(ps.kv, kvs[i].key, kvs[i].value, kvs[i].value_len, kvs[i].mod_revision);
	ps.dirty = true;
	free(r);
}

static bool
refetch(const char *key, bool prefix)
{
	struct refetch *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return false;
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->prefix = prefix;
	if (ps_etcd_get(ps.etcd, key, prefix, refetch_done, r) < 0) {
		free(r);
		ps.refetch_failed++;
		return false;
	}
	ps.refetches++;
	return true;
}

/* A destination nobody here knows: ask etcd (D6).  The resolver caches
 * the unknown answer for a second, so this runs at most once a second
 * per destination. */
static void
fetch_unknown(uint32_t vni, const uint8_t mac[6])
{
	char key[64];

	snprintf(key, sizeof(key), "endpoints/%u/%02x:%02x:%02x:%02x:%02x:%02x", vni, mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	refetch(key, false);
}

bool
ctl_pservice_hint_moved(uint32_t from_tep, uint32_t vni, const uint8_t mac[6])
{
	const struct pol_endpoint *ep = pol_ep_by_mac(vni, (const struct rte_ether_addr *)mac);
	char key[64];

	/* Only what we believe lives at the sender can be stale because of it. */
	if (ps.etcd == NULL || ep == NULL || ep->local || ep->tep != from_tep)
		return false;
	snprintf(key, sizeof(key), "endpoints/%u/%02x:%02x:%02x:%02x:%02x:%02x", vni, mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	return refetch(key, false);
}

bool
ctl_pservice_hint_stale_policy(uint32_t from_tep, uint64_t revision)
{
	(void)from_tep;
	if (ps.etcd == NULL || revision <= ctl_resolve_policy_revision())
		return false;
	return refetch("policies/", true) && refetch(META_POLICY_REV, false);
}

/* --- status --- */

json_t *
ctl_pservice_status(void)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
		"backend", ps.backend == CTL_BACKEND_ETCD ? "etcd" : "yaml",
		"events", (json_int_t)ps.events, "snapshots", (json_int_t)ps.snapshots,
		"keys", (json_int_t)json_object_size(ps.kv),
		"rejected", (json_int_t)ps.rejected, "left_out", (json_int_t)ps.left_out,
		"merges", (json_int_t)ps.merges, "merge_failed", (json_int_t)ps.merge_failed,
		"refetches", (json_int_t)ps.refetches, "writes", (json_int_t)ps.writes,
		"write_failed", (json_int_t)ps.write_failed, "last_rejected", ps.last_reject);

	if (j != NULL && ps.last_reject[0] == '\0')
		json_object_set_new(j, "last_rejected", json_null());

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "claims", json_integer((json_int_t)ps.claims));
	if (ps.etcd != NULL) {
		json_object_set_new(j, "etcd", ps_etcd_status(ps.etcd));
		json_object_set_new(j, "health", json_string(ps_etcd_degraded(ps.etcd) ?
							      "degraded" : "ok"));
	} else {
		json_object_set_new(j, "health", json_string("ok"));
	}
	json_object_set_new(j, "policy_revision",
			    json_integer((json_int_t)ctl_resolve_policy_revision()));
	return j;
}

int
ctl_pservice_watch_pause(bool paused)
{
	if (ps.etcd == NULL)
		return -ENOTSUP;
	ps_etcd_watch_pause(ps.etcd, paused);
	return 0;
}
