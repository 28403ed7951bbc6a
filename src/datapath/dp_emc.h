/* A worker's exact-match cache of decisions: a table with two slots per
 * key in front of the shared decision cache (pol_cache.h), so a burst of many
 * flows costs one probe of this worker's own memory per frame instead
 * of a lookup in the shared hash.
 *
 * An entry keeps a decision pointer beyond the worker's quiescent state,
 * which RCU alone does not allow.  So every entry is stamped with
 * pol_cache.retired as read at the start of the burst that filled it,
 * and only entries with the current stamp are used: once the control
 * thread has taken any decision out (and bumped the counter) before
 * handing it to RCU, no older entry matches again.  A burst that read
 * the counter before the bump is still inside the grace period of what
 * was taken out.  The stamp's low 32 bits ride in the key's unused top
 * word; when the high bits change the table is cleared.
 *
 * An entry's value is the decision's pointer or, for the common case
 * of a frame to a tunnel, the decision's whole effect (dp_emc_tunnel()):
 * with many flows the decisions' lines do not fit in L2 next to the
 * cache, and this way a frame reads one line instead of two.
 */
#ifndef DP_EMC_H
#define DP_EMC_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "pol_cache.h"

#define DP_EMC_ENTRIES 16384   /* 512 KB per worker: within its L2 next to the rest */
#define DP_EMC_MASK (DP_EMC_ENTRIES - 1)

_Static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "dp_key_words() packs a little-endian key");
_Static_assert(sizeof(struct pol_flow_key) == 24 && offsetof(struct pol_flow_key, src_mac) == 4 &&
	       offsetof(struct pol_flow_key, kind) == 10 && offsetof(struct pol_flow_key, dst) == 12,
	       "dp_key_words() follows struct pol_flow_key");

/* The struct pol_flow_key of (@vni, source MAC @src, @kind, destination
 * @dst: a MAC, or an IPv4 address in network order for POL_DST_IP4) in
 * three words, built in registers (MACs as integers, byte 0 lowest): a
 * key written by narrow stores and compared by wide loads stalls store
 * forwarding on every frame. */
static inline void
dp_key_words_of(uint64_t w[3], uint32_t vni, uint64_t src, enum pol_dst_kind kind, uint64_t dst)
{
	w[0] = vni | src << 32;
	w[1] = (src >> 32) | (uint64_t)kind << 16 | dst << 32;
	w[2] = dst >> 32;
}

/* dp_key_words_of() for a frame, from two loads of its Ethernet header.
 * @dst_ip: network order, for POL_DST_IP4. */
static inline void
dp_key_words(uint64_t w[3], uint32_t vni, const struct rte_ether_hdr *eh,
	     enum pol_dst_kind kind, uint32_t dst_ip)
{
	uint64_t lo, hi;

	memcpy(&lo, eh, sizeof(lo));                        /* dst MAC, src MAC bytes 0-1 */
	memcpy(&hi, (const uint8_t *)eh + 4, sizeof(hi));   /* dst MAC bytes 4-5, src MAC */
	dp_key_words_of(w, vni, hi >> 16, kind,
			kind == POL_DST_IP4 ? dst_ip : lo & 0xffffffffffffULL);
}

struct dp_emc_entry {
	uint64_t k[3];                  /* the key's words; k[2]'s top 32 bits: the stamp */
	uint64_t v;                     /* a decision pointer or a dp_emc_tunnel(); 0: empty */
};

/* Bit 0, never set in a pointer: the value is (tunnel, VNI, tag) to
 * encapsulate with, nothing else to do. */
#define DP_EMC_TUNNEL 1ULL

static inline uint64_t
dp_emc_tunnel(uint16_t tunnel, uint32_t vni, uint16_t tag)
{
	return DP_EMC_TUNNEL | (uint64_t)tunnel << 8 | (uint64_t)(vni & 0xffffff) << 24 |
	       (uint64_t)tag << 48;
}

static inline uint16_t dp_emc_tunnel_index(uint64_t v) { return (uint16_t)(v >> 8); }
static inline uint32_t dp_emc_tunnel_vni(uint64_t v) { return (uint32_t)(v >> 24) & 0xffffff; }
static inline uint16_t dp_emc_tunnel_tag(uint64_t v) { return (uint16_t)(v >> 48); }

struct dp_emc {
	uint64_t retired;               /* pol_cache.retired when last read */
	uint64_t hits, misses;
	uint32_t flip;                  /* which slot an insert into two busy ones takes */
	struct dp_emc_entry e[DP_EMC_ENTRIES];
};

/* At the start of a burst: entries stamped before a retirement stop matching. */
static inline void
dp_emc_refresh(struct dp_emc *emc)
{
	uint64_t r = atomic_load_explicit(&pol_cache.retired, memory_order_acquire);

	if (unlikely(r != emc->retired)) {
		if ((r >> 32) != (emc->retired >> 32))
			memset(emc->e, 0, sizeof(emc->e));   /* the stamps wrapped */
		emc->retired = r;
	}
}

/* A key may sit in either of two slots, from different bits of its hash
 * (as OVS's EMC).  Direct-mapped, ~45 % of 10,000 uniformly hashed keys
 * share their slot with another; two choices leave most a slot of their own. */
static inline struct dp_emc_entry *
dp_emc_slot(struct dp_emc *emc, uint32_t hash)
{
	return &emc->e[hash & DP_EMC_MASK];
}

static inline struct dp_emc_entry *
dp_emc_slot2(struct dp_emc *emc, uint32_t hash)
{
	return &emc->e[(hash >> 18) & DP_EMC_MASK];
}

static inline bool
dp_emc_match(const struct dp_emc *emc, const struct dp_emc_entry *e, const uint64_t w[3])
{
	return e->k[0] == w[0] && e->k[1] == w[1] && e->k[2] == (w[2] | emc->retired << 32);
}

/* The value of key @w with hash @hash, or 0. */
static inline uint64_t
dp_emc_lookup(struct dp_emc *emc, const uint64_t w[3], uint32_t hash)
{
	const struct dp_emc_entry *e = dp_emc_slot(emc, hash);

	if (dp_emc_match(emc, e, w))
		return e->v;
	e = dp_emc_slot2(emc, hash);
	if (dp_emc_match(emc, e, w))
		return e->v;
	return 0;
}

/* An entry nothing can match any more: empty, or stamped before a retirement. */
static inline bool
dp_emc_free(const struct dp_emc *emc, const struct dp_emc_entry *e)
{
	return e->v == 0 || (e->k[2] >> 32) != (uint32_t)emc->retired;
}

static inline void
dp_emc_insert(struct dp_emc *emc, const uint64_t w[3], uint32_t hash, uint64_t v)
{
	struct dp_emc_entry *e = dp_emc_slot(emc, hash), *e2 = dp_emc_slot2(emc, hash);

	/* a free slot; else alternate, so neither of two flows keeps both out */
	if (!dp_emc_free(emc, e) && (dp_emc_free(emc, e2) || (emc->flip++ & 1)))
		e = e2;
	e->k[0] = w[0];
	e->k[1] = w[1];
	e->k[2] = w[2] | emc->retired << 32;
	e->v = v;
}

#endif
