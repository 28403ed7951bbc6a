/* The decision cache (D3, D6, fig. 10): level 1 of the policy hierarchy.
 *
 * Key: (source VNI, source MAC, destination) where the destination is a
 * MAC in the same network (switched) or an IPv4 address behind the
 * distributed gateway (routed).  Value: the decision: the policy that
 * applies and the physical path translation (local port, or tunnel, TEP,
 * VNI, next-hop MACs).  Workers read it lock-free (rte_hash LF); only the
 * control thread installs, replaces and removes entries, and frees old
 * ones after an RCU grace period (pol_defer_free).  Size is bounded:
 * globally and per source port; when full, the oldest entry (of that
 * port, or overall) is evicted to make room.
 */
#ifndef POL_CACHE_H
#define POL_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

#include "ctl_config.h"

enum pol_dst_kind {
	POL_DST_MAC = 1,              /* switched: destination MAC in the source's network */
	POL_DST_IP4 = 2,              /* routed: frame to the gateway MAC, by destination IPv4 */
};

struct pol_flow_key {
	uint32_t src_vni;
	uint8_t src_mac[6];
	uint8_t kind;                 /* enum pol_dst_kind */
	uint8_t pad0;                 /* always 0 */
	uint8_t dst[8];               /* MAC (6 bytes) or IPv4 (4 bytes, network order); rest 0 */
	uint32_t pad1;                /* always 0 */
};

enum pol_result {
	POL_RES_FORWARD,              /* allowed (or chained, see .chain): follow the path */
	POL_RES_DENY,                 /* a policy (or the default) denies it */
	POL_RES_UNKNOWN,              /* no such destination: flood or drop as the network says */
	POL_RES_CHAIN_DOWN,           /* the policy names a service chain that cannot be used */
};

/* One decision.  Immutable once published. */
struct pol_decision {
	struct pol_flow_key key;
	/* read by workers */
	uint8_t result;               /* enum pol_result */
	bool routed;                  /* rewrite MACs and decrement TTL (D10) */
	bool local;                   /* destination behind one of our ports */
	uint16_t port;                /* local: datapath port index */
	uint16_t tunnel;              /* remote: tunnel index */
	uint32_t dst_vni;             /* VNI to deliver/encapsulate in */
	uint16_t tag;                 /* policy revision tag carried in VXLAN (0 = none) */
	uint16_t steer;               /* chained: tag of the chain's first hop (dp_steer.h) */
	struct rte_ether_addr dst_mac; /* routed: the destination VM's MAC */
	struct rte_ether_addr src_mac; /* routed: the gateway MAC */
	/* control thread only (CLI, invalidation, eviction) */
	uint16_t src_port;            /* datapath port of the source VM (POL_NO_PORT if remote) */
	char src_vm[CTL_NAME_MAX];
	char dst_vm[CTL_NAME_MAX];    /* "" when unknown */
	char policy[CTL_NAME_MAX];    /* "" = the default */
	char chain[CTL_NAME_MAX];
	enum ctl_action action;
	bool reverse;                 /* chained answers: the hops in reverse order */
	uint64_t policy_rev;          /* revision of the policy used (0 = default) */
	uint64_t dst_rev;             /* revision of the destination endpoint used */
	uint32_t tep;                 /* remote: tunnel endpoint IPv4, network order */
	uint64_t installed_ms;        /* monotonic ms; also the FIFO eviction order */
	uint64_t expires_ms;          /* 0 = until invalidated (POL_RES_UNKNOWN entries expire) */
};

#define POL_NO_PORT UINT16_MAX

struct pol_cache {
	struct rte_hash *h;           /* pol_flow_key -> struct pol_decision * */
	/* bumped (release) after every install; workers holding packets watch it */
	_Atomic uint64_t gen;
	/* bumped (release) whenever a published decision is taken out (removed
	 * or replaced), before it is handed to RCU: workers drop the decision
	 * pointers they keep across bursts (src/datapath/dp_emc.h) */
	_Atomic uint64_t retired;
};

extern struct pol_cache pol_cache;

/* Build the key of a switched / routed flow. */
static inline void
pol_flow_key_mac(struct pol_flow_key *k, uint32_t vni, const struct rte_ether_addr *src,
		 const struct rte_ether_addr *dst)
{
	memset(k, 0, sizeof(*k));
	k->src_vni = vni;
	memcpy(k->src_mac, src, 6);
	k->kind = POL_DST_MAC;
	memcpy(k->dst, dst, 6);
}

static inline void
pol_flow_key_ip4(struct pol_flow_key *k, uint32_t vni, const struct rte_ether_addr *src,
		 uint32_t dst_ip)
{
	memset(k, 0, sizeof(*k));
	k->src_vni = vni;
	memcpy(k->src_mac, src, 6);
	k->kind = POL_DST_IP4;
	memcpy(k->dst, &dst_ip, 4);
}

/* --- readers (any thread, never block) --- */
static inline const struct pol_decision *
pol_decision_lookup(const struct pol_flow_key *k)
{
	void *data;

	if (rte_hash_lookup_data(pol_cache.h, k, &data) < 0)
		return NULL;
	return data;
}

/* Bulk lookup of @n (<= RTE_HASH_LOOKUP_BULK_MAX) keys; out[i] NULL on a miss. */
void pol_decision_lookup_bulk(const struct pol_flow_key **keys, unsigned n,
			      const struct pol_decision **out);

/* rte_hash_crc_8byte(@data, @init), inline: GCC leaves that one out of
 * line (its software fallback is large), a call and a branch per frame. */
static inline uint32_t
pol_crc64(uint64_t data, uint32_t init)
{
#ifdef __SSE4_2__
	return (uint32_t)_mm_crc32_u64(init, data);
#else
	return rte_hash_crc_8byte(data, init);
#endif
}

/* The cache's hash of a key given as its three 64-bit words (what
 * rte_hash_crc() computes over the 24 bytes, without the call; test_cache
 * looks up keys installed with rte_hash's own hash by this one). */
static inline uint32_t
pol_flow_key_hash(const uint64_t w[3])
{
	return pol_crc64(w[2], pol_crc64(w[1], pol_crc64(w[0], 0)));
}

/* pol_decision_lookup_bulk() with each key's pol_flow_key_hash() in @sigs. */
void pol_decision_lookup_bulk_hash(const struct pol_flow_key **keys, uint32_t *sigs, unsigned n,
				   const struct pol_decision **out);

/* --- control thread --- */

struct pol_endpoint;
/* The physical path translation (D3) toward @dst into @d: local and port,
 * or tunnel and TEP; dst_vni, dst_mac, dst_vm and dst_rev. */
void pol_path_translate(const struct pol_endpoint *dst, struct pol_decision *d);

/* Create the cache for @entries decisions (at most @per_port per source
 * port; 0 = no per-port limit).  Needs pol_tables_init() first (RCU).
 * Returns 0 or a negative errno. */
int pol_cache_init(unsigned entries, unsigned per_port);
/* Free the cache; workers stopped, before pol_tables_fini(). */
void pol_cache_fini(void);

/* Install @d (copied; installed_ms set here), replacing any entry with
 * its key.  Evicts the oldest entry of d->src_port when that port is at
 * its limit, else the oldest overall when the cache is full.  Returns 0
 * or a negative errno. */
int pol_decision_install(const struct pol_decision *d);
/* Remove one entry; -ENOENT if absent. */
int pol_decision_remove(const struct pol_flow_key *k);
/* Remove every entry for which @pred returns true; returns how many. */
unsigned pol_decision_remove_if(bool (*pred)(const struct pol_decision *, void *), void *arg);
/* Iterate (control thread); same contract as rte_hash_iterate. */
int pol_decision_iterate(uint32_t *next, const struct pol_decision **d);
/* Remove expired entries (call periodically with the monotonic time). */
void pol_cache_expire(uint64_t now_ms);

struct pol_cache_stats {
	unsigned entries, capacity, per_port_limit;
	uint64_t installs, evictions, evictions_port, removals, expired;
	uint64_t freed;               /* decisions reclaimed after their grace period */
};
void pol_cache_get_stats(struct pol_cache_stats *s);

#endif
