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
 */
#ifndef DP_EMC_H
#define DP_EMC_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pol_cache.h"

#define DP_EMC_ENTRIES 16384   /* 512 KB per worker: within its L2 next to the rest */
#define DP_EMC_MASK (DP_EMC_ENTRIES - 1)

struct dp_emc_entry {
	uint64_t k[3];                  /* the key's words; k[2]'s top 32 bits: the stamp */
	const struct pol_decision *d;
};

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

/* The decision of key @w with hash @hash, or NULL. */
static inline const struct pol_decision *
dp_emc_lookup(struct dp_emc *emc, const uint64_t w[3], uint32_t hash)
{
	const struct dp_emc_entry *e = dp_emc_slot(emc, hash);

	if (dp_emc_match(emc, e, w))
		return e->d;
	e = dp_emc_slot2(emc, hash);
	if (dp_emc_match(emc, e, w))
		return e->d;
	return NULL;
}

/* An entry nothing can match any more: empty, or stamped before a retirement. */
static inline bool
dp_emc_free(const struct dp_emc *emc, const struct dp_emc_entry *e)
{
	return e->d == NULL || (e->k[2] >> 32) != (uint32_t)emc->retired;
}

static inline void
dp_emc_insert(struct dp_emc *emc, const uint64_t w[3], uint32_t hash,
	      const struct pol_decision *d)
{
	struct dp_emc_entry *e = dp_emc_slot(emc, hash), *e2 = dp_emc_slot2(emc, hash);

	/* a free slot; else alternate, so neither of two flows keeps both out */
	if (!dp_emc_free(emc, e) && (dp_emc_free(emc, e2) || (emc->flip++ & 1)))
		e = e2;
	e->k[0] = w[0];
	e->k[1] = w[1];
	e->k[2] = w[2] | emc->retired << 32;
	e->d = d;
}

#endif
