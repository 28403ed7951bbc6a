/* Forwarding tables: the control thread's writer side and RCU reclamation.
 * Readers are the inline functions in pol_tables.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "pol_tables.h"

RTE_LOG_REGISTER_SUFFIX(pol_logtype, policy, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, pol_logtype, "policy: " fmt "\n", ##__VA_ARGS__)

struct pol_tables pol_tables;

/* Control-side bookkeeping per virtual network, never seen by workers:
 * how many members sit behind each local port and each tunnel, from
 * which the published flood lists are derived. */
struct vnet_state {
	struct pol_vnet *pub;                 /* what workers see */
	uint32_t port_members[POL_MAX_PORTS];
	uint32_t *tunnel_members;             /* POL_MAX_TUNNELS, allocated on first remote member */
	uint32_t n_members;
};

struct defer_item {
	void (*fn)(void *);
	void *p;
};

static struct rte_rcu_qsbr_dq *defer_q;
static struct rte_hash *vnet_state_by_vni; /* control only: vni -> struct vnet_state * */
static uint64_t revision;
static unsigned n_endpoints;  /* rte_hash_count() still counts keys awaiting reclaim */

static void
defer_run(void *unused, void *e, unsigned n)
{
	struct defer_item *it = e;

	(void)unused;
	for (unsigned i = 0; i < n; i++)
		it[i].fn(it[i].p);
}

void
pol_defer_free(void (*fn)(void *), void *p)
{
	struct defer_item it = { .fn = fn, .p = p };

	if (p == NULL)
		return;
	if (defer_q != NULL && rte_rcu_qsbr_dq_enqueue(defer_q, &it) == 0)
		return;
	/* Queue full: wait out a grace period here rather than leak. */
	rte_rcu_qsbr_synchronize(pol_tables.rcu, RTE_QSBR_THRID_INVALID);
	fn(p);
}

void
pol_defer_drain(void)
{
	if (defer_q == NULL)
		return;
	rte_rcu_qsbr_synchronize(pol_tables.rcu, RTE_QSBR_THRID_INVALID);
	pol_tables_reclaim();
}

void
pol_tables_reclaim(void)
{
	unsigned freed, pending, avail;

	if (defer_q != NULL)
		rte_rcu_qsbr_dq_reclaim(defer_q, UINT32_MAX, &freed, &pending, &avail);
}

static struct rte_hash *
make_hash(const char *name, unsigned entries, unsigned key_len)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = entries < 64 ? 64 : entries,
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash *h = rte_hash_create(&p);

	if (h == NULL)
		LOG(ERR, "cannot create hash %s (%u entries): %s", name, entries,
		    rte_strerror(rte_errno));
	return h;
}

int
pol_tables_init(unsigned max_endpoints, unsigned max_readers)
{
	size_t rcu_sz = rte_rcu_qsbr_get_memsize(max_readers ? max_readers : 1);
	struct rte_rcu_qsbr_dq_parameters dqp = {
		.name = "pol_defer",
		.size = 65536,
		.esize = sizeof(struct defer_item),
		.trigger_reclaim_limit = 1024,
		.max_reclaim_size = 4096,
		.free_fn = defer_run,
	};

	pol_tables.rcu = rte_zmalloc("pol_rcu", rcu_sz, RTE_CACHE_LINE_SIZE);
	if (pol_tables.rcu == NULL)
		return -ENOMEM;
	if (rte_rcu_qsbr_init(pol_tables.rcu, max_readers ? max_readers : 1) != 0)
		goto fail;
	dqp.v = pol_tables.rcu;
	defer_q = rte_rcu_qsbr_dq_create(&dqp);
	pol_tables.ep_by_mac = make_hash("pol_ep_mac", max_endpoints, sizeof(struct pol_mac_key));
	pol_tables.ep_by_ip = make_hash("pol_ep_ip", max_endpoints * 2, sizeof(struct pol_ip_key));
	pol_tables.vnets = make_hash("pol_vnets", CTL_MAX_VNETS, sizeof(uint32_t));
	pol_tables.teps = make_hash("pol_teps", POL_MAX_TUNNELS, sizeof(uint32_t));
	vnet_state_by_vni = make_hash("pol_vnet_state", CTL_MAX_VNETS, sizeof(uint32_t));
	if (defer_q == NULL || !pol_tables.ep_by_mac || !pol_tables.ep_by_ip ||
	    !pol_tables.vnets || !pol_tables.teps || !vnet_state_by_vni)
		goto fail;
	return 0;
fail:
	pol_tables_fini();
	return -ENOMEM;
}

static void
free_hash_data(struct rte_hash *h, void (*fn)(void *))
{
	const void *key;
	void *data;
	uint32_t next = 0;

	if (h == NULL)
		return;
	while (rte_hash_iterate(h, &key, &data, &next) >= 0)
		fn(data);
}

static void
vnet_state_free(void *p)
{
	struct vnet_state *s = p;

	rte_free(s->pub);
	free(s->tunnel_members);
	free(s);
}

void
pol_tables_fini(void)
{
	if (defer_q != NULL) {
		rte_rcu_qsbr_dq_delete(defer_q); /* runs what is still queued */
		defer_q = NULL;
	}
	free_hash_data(pol_tables.ep_by_mac, rte_free);
	free_hash_data(vnet_state_by_vni, vnet_state_free);
	rte_hash_free(pol_tables.ep_by_mac);
	rte_hash_free(pol_tables.ep_by_ip);
	rte_hash_free(pol_tables.vnets);
	rte_hash_free(pol_tables.teps);
	rte_hash_free(vnet_state_by_vni);
	vnet_state_by_vni = NULL;
	n_endpoints = 0;
	revision = 0;
	for (unsigned i = 0; i < POL_MAX_TUNNELS; i++)
		rte_free(pol_tables.tunnels[i]);
	rte_free(pol_tables.rcu);
	memset(&pol_tables, 0, sizeof(pol_tables));
}

bool
pol_ep_has_ip6(const struct pol_endpoint *ep, const uint8_t ip6[16])
{
	for (unsigned i = 0; i < ep->n_ips; i++)
		if (ep->ips[i].family == AF_INET6 && memcmp(ep->ips[i].v6, ip6, 16) == 0)
			return true;
	return false;
}

/* --- virtual networks --- */

static struct vnet_state *
vnet_state(uint32_t vni)
{
	void *data;

	if (rte_hash_lookup_data(vnet_state_by_vni, &vni, &data) < 0)
		return NULL;
	return data;
}

/* Publish a fresh copy of @s->pub with flood lists derived from the counts. */
static int
vnet_republish(struct vnet_state *s, const struct pol_vnet *base)
{
	struct pol_vnet *v = rte_zmalloc("pol_vnet", sizeof(*v), RTE_CACHE_LINE_SIZE);
	struct pol_vnet *old = s->pub;
	int ret;

	if (v == NULL)
		return -ENOMEM;
	memcpy(v->name, base->name, sizeof(v->name));
	v->vni = base->vni;
	v->flood = base->flood;
	v->n_subnets = base->n_subnets;
	memcpy(v->subnets, base->subnets, sizeof(v->subnets));
	v->n_gateways = base->n_gateways;
	memcpy(v->gateways, base->gateways, sizeof(v->gateways));
	for (uint16_t p = 0; p < POL_MAX_PORTS; p++)
		if (s->port_members[p])
			v->flood_ports[v->n_flood_ports++] = p;
	if (s->tunnel_members != NULL)
		for (uint16_t t = 0; t < POL_MAX_TUNNELS &&
		     v->n_flood_tunnels < POL_MAX_FLOOD_TUNNELS; t++)
			if (s->tunnel_members[t])
				v->flood_tunnels[v->n_flood_tunnels++] = t;
	ret = rte_hash_add_key_data(pol_tables.vnets, &v->vni, v);
	if (ret < 0) {
		rte_free(v);
		return ret;
	}
	s->pub = v;
	pol_defer_free(rte_free, old);
	return 0;
}

int
pol_vnet_set(const struct ctl_vnet *cv)
{
	struct vnet_state *s = vnet_state(cv->vni);
	struct pol_vnet base = { .vni = cv->vni, .flood = cv->flood,
				 .n_subnets = cv->n_subnets };
	bool created = false;
	int ret;

	snprintf(base.name, sizeof(base.name), "%s", cv->name);
	memcpy(base.subnets, cv->subnets, sizeof(base.subnets));
	for (unsigned i = 0; i < cv->n_subnets && i < CTL_MAX_SUBNETS; i++)
		if (cv->gateways[i].family == AF_INET)
			base.gateways[base.n_gateways++] = cv->gateways[i].v4;
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -ENOMEM;
		ret = rte_hash_add_key_data(vnet_state_by_vni, &cv->vni, s);
		if (ret < 0) {
			free(s);
			return ret;
		}
		created = true;
	}
	ret = vnet_republish(s, &base);
	if (ret < 0 && created) {
		int32_t pos = rte_hash_del_key(vnet_state_by_vni, &cv->vni);

		if (pos >= 0)
			rte_hash_free_key_with_position(vnet_state_by_vni, pos);
		free(s);
	}
	return ret;
}

struct key_slot {
	struct rte_hash *h;
	int32_t pos;
};

static void
free_key_slot(void *p)
{
	struct key_slot *ks = p;

	rte_hash_free_key_with_position(ks->h, ks->pos);
	free(ks);
}

/* Delete @key from a lock-free hash; its slot is reused only after readers are done. */
static void
hash_del_deferred(struct rte_hash *h, const void *key)
{
	int32_t pos = rte_hash_del_key(h, key);
	struct key_slot *ks;

	if (pos < 0)
		return;
	ks = malloc(sizeof(*ks));
	if (ks == NULL) {
		rte_rcu_qsbr_synchronize(pol_tables.rcu, RTE_QSBR_THRID_INVALID);
		rte_hash_free_key_with_position(h, pos);
		return;
	}
	ks->h = h;
	ks->pos = pos;
	pol_defer_free(free_key_slot, ks);
}

int
pol_vnet_del(uint32_t vni)
{
	struct vnet_state *s = vnet_state(vni);

	if (s == NULL)
		return -ENOENT;
	if (s->n_members)
		return -EBUSY;
	hash_del_deferred(pol_tables.vnets, &vni);
	hash_del_deferred(vnet_state_by_vni, &vni);
	pol_defer_free(vnet_state_free, s);
	return 0;
}

int
pol_vnet_iterate(uint32_t *next, const struct pol_vnet **v)
{
	const void *key;
	void *data;
	int ret = rte_hash_iterate(pol_tables.vnets, &key, &data, next);

	if (ret >= 0)
		*v = data;
	return ret;
}

/* Account @ep in its network's member counts (+1 or -1); the caller
 * republishes once, so a replaced member never vanishes from flood lists. */
static int
vnet_count(const struct pol_endpoint *ep, int delta)
{
	struct vnet_state *s = vnet_state(ep->vni);

	if (s == NULL)
		return -ENOENT;
	if (ep->local) {
		s->port_members[ep->port] += delta;
	} else {
		if (s->tunnel_members == NULL) {
			s->tunnel_members = calloc(POL_MAX_TUNNELS, sizeof(uint32_t));
			if (s->tunnel_members == NULL)
				return -ENOMEM;
		}
		s->tunnel_members[ep->tunnel] += delta;
	}
	s->n_members += delta;
	return 0;
}

static void
vnet_publish_members(uint32_t vni)
{
	struct vnet_state *s = vnet_state(vni);

	if (s != NULL && vnet_republish(s, s->pub) < 0)
		LOG(ERR, "vni %u: out of memory, flood list not updated", vni);
}

/* --- endpoints --- */

static void
mac_key(struct pol_mac_key *k, uint32_t vni, const struct rte_ether_addr *mac)
{
	memset(k, 0, sizeof(*k));
	k->vni = vni;
	memcpy(k->mac, mac->addr_bytes, 6);
}

static void
ip_key(struct pol_ip_key *k, uint32_t vni, const struct ctl_ip *ip)
{
	memset(k, 0, sizeof(*k));
	k->vni = vni;
	if (ip->family == AF_INET) {
		k->family = 4;
		memcpy(k->addr, &ip->v4, 4);
	} else {
		k->family = 6;
		memcpy(k->addr, ip->v6, 16);
	}
}

static const struct pol_endpoint *
ep_by_ip(uint32_t vni, const struct ctl_ip *ip)
{
	struct pol_ip_key k;
	void *data;

	ip_key(&k, vni, ip);
	if (rte_hash_lookup_data(pol_tables.ep_by_ip, &k, &data) < 0)
		return NULL;
	return data;
}

static bool
ep_has_ip(const struct pol_endpoint *ep, const struct ctl_ip *ip)
{
	return ip->family == AF_INET ? pol_ep_has_ip4(ep, ip->v4) : pol_ep_has_ip6(ep, ip->v6);
}

/* Remove @old's secondary entries (IPs, port binding) that @new does not keep. */
static void
ep_unlink(const struct pol_endpoint *old, const struct pol_endpoint *new)
{
	struct pol_ip_key k;

	for (unsigned i = 0; i < old->n_ips; i++) {
		if (new != NULL && ep_has_ip(new, &old->ips[i]))
			continue;
		ip_key(&k, old->vni, &old->ips[i]);
		hash_del_deferred(pol_tables.ep_by_ip, &k);
	}
	if (old->local && !(new && new->local && new->port == old->port))
		atomic_store_explicit(&pol_tables.port_ep[old->port], NULL,
				      memory_order_release);
}

int
pol_endpoint_set(const struct pol_endpoint *tmpl)
{
	struct pol_mac_key mk;
	struct pol_ip_key ik;
	struct pol_endpoint *ep, *old = NULL;
	void *data;
	int ret;

	if (vnet_state(tmpl->vni) == NULL)
		return -ENOENT;
	if (tmpl->local && tmpl->port >= POL_MAX_PORTS)
		return -EINVAL;
	if (!tmpl->local && tmpl->tunnel >= POL_MAX_TUNNELS)
		return -EINVAL;
	mac_key(&mk, tmpl->vni, &tmpl->mac);
	if (rte_hash_lookup_data(pol_tables.ep_by_mac, &mk, &data) >= 0)
		old = data;
	/* Refuse before touching anything: no half-applied endpoint. */
	for (unsigned i = 0; i < tmpl->n_ips; i++) {
		const struct pol_endpoint *o = ep_by_ip(tmpl->vni, &tmpl->ips[i]);

		if (o != NULL && o != old)
			return -EEXIST;
	}
	if (tmpl->local) {
		const struct pol_endpoint *o = pol_port_endpoint(tmpl->port);

		if (o != NULL && o != old)
			return -EEXIST;
	}

	ep = rte_zmalloc("pol_ep", sizeof(*ep), 0);
	if (ep == NULL)
		return -ENOMEM;
	*ep = *tmpl;
	ep->revision = ++revision;
	ret = rte_hash_add_key_data(pol_tables.ep_by_mac, &mk, ep);
	if (ret < 0)
		goto fail;
	for (unsigned i = 0; i < ep->n_ips; i++) {
		ip_key(&ik, ep->vni, &ep->ips[i]);
		ret = rte_hash_add_key_data(pol_tables.ep_by_ip, &ik, ep);
		if (ret < 0)
			goto fail_ips; /* only a full table gets here */
	}
	if (ep->local)
		atomic_store_explicit(&pol_tables.port_ep[ep->port], ep, memory_order_release);
	if (old != NULL) {
		ep_unlink(old, ep);
		vnet_count(old, -1);
	} else {
		n_endpoints++;
	}
	vnet_count(ep, +1);
	vnet_publish_members(ep->vni);
	pol_defer_free(rte_free, old);
	return 0;

fail_ips:
	/* Undo: every key now pointing at @ep goes back to @old, or away. */
	for (unsigned i = 0; i < ep->n_ips; i++) {
		if (ep_by_ip(ep->vni, &ep->ips[i]) != ep)
			continue;
		ip_key(&ik, ep->vni, &ep->ips[i]);
		if (old != NULL && ep_has_ip(old, &ep->ips[i]))
			rte_hash_add_key_data(pol_tables.ep_by_ip, &ik, old);
		else
			hash_del_deferred(pol_tables.ep_by_ip, &ik);
	}
	if (old != NULL)
		rte_hash_add_key_data(pol_tables.ep_by_mac, &mk, old);
	else
		hash_del_deferred(pol_tables.ep_by_mac, &mk);
	pol_defer_free(rte_free, ep);
	return ret;
fail:
	rte_free(ep);
	return ret;
}

int
pol_endpoint_del(uint32_t vni, const struct rte_ether_addr *mac)
{
	struct pol_mac_key mk;
	struct pol_endpoint *old;
	void *data;

	mac_key(&mk, vni, mac);
	if (rte_hash_lookup_data(pol_tables.ep_by_mac, &mk, &data) < 0)
		return -ENOENT;
	old = data;
	ep_unlink(old, NULL);
	hash_del_deferred(pol_tables.ep_by_mac, &mk);
	n_endpoints--;
	vnet_count(old, -1);
	vnet_publish_members(old->vni);
	pol_defer_free(rte_free, old);
	return 0;
}

unsigned
pol_endpoint_count(void)
{
	return n_endpoints;
}

int
pol_endpoint_iterate(uint32_t *next, const struct pol_endpoint **ep)
{
	const void *key;
	void *data;
	int ret = rte_hash_iterate(pol_tables.ep_by_mac, &key, &data, next);

	if (ret >= 0)
		*ep = data;
	return ret;
}

/* --- tunnels --- */

int
pol_tep_add(uint32_t ip)
{
	int ret = rte_hash_add_key(pol_tables.teps, &ip);

	return ret < 0 ? ret : 0;
}

void
pol_tep_del(uint32_t ip)
{
	hash_del_deferred(pol_tables.teps, &ip);
}

void
pol_tunnel_publish(uint16_t idx, const struct pol_tunnel *t)
{
	struct pol_tunnel *n = NULL, *old;

	if (idx >= POL_MAX_TUNNELS)
		return;
	if (t != NULL) {
		n = rte_zmalloc("pol_tunnel", sizeof(*n), RTE_CACHE_LINE_SIZE);
		if (n == NULL) {
			LOG(ERR, "tunnel %u: out of memory, keeping the previous path", idx);
			return;
		}
		*n = *t;
	}
	old = atomic_exchange_explicit(&pol_tables.tunnels[idx], n, memory_order_acq_rel);
	pol_defer_free(rte_free, old);
}
