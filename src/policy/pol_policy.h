/* Policy selection (D2): which policy applies from one VM to another.
 *
 * Control thread only, pure: no DPDK, no tables.  The most specific match
 * wins; a policy's specificity is the pair (more specific side, less
 * specific side) over VM > group > virtual network > any, compared in
 * that order; ties go to the higher priority, then to the smaller name so
 * the answer never depends on load order.  A policy with action chain
 * covers both directions of a conversation: it also matches traffic from
 * its 'to' side to its 'from' side (the verdict says reverse), which then
 * visits the chain's hops in reverse order.  With no match the default
 * applies: configurable, allow within one virtual network and deny
 * between two.
 */
#ifndef POL_POLICY_H
#define POL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_config.h"

/* One side of a flow as policies see it: logical names only. */
struct pol_subject {
	const char *vm;                 /* endpoint (VM) name */
	const char *vnet;               /* its virtual network's name */
	const char *tenant;             /* "" = none */
	unsigned n_groups;
	const char (*groups)[CTL_NAME_MAX];
};

struct pol_verdict {
	enum ctl_action action;
	const struct ctl_policy *policy; /* NULL: the default applied */
	uint64_t revision;               /* policy->revision, or 0 for the default */
	bool reverse;                    /* a chain policy matched from its 'to' side */
};

/* Whether @sel selects @s. */
bool pol_selector_matches(const struct ctl_selector *sel, const struct pol_subject *s);

/* Specificity rank of a selector: any 0, vnet 1, group 2, VM 3. */
unsigned pol_selector_rank(enum ctl_sel_kind k);

/* Decide for traffic from @src to @dst under @pols (n entries) and the
 * defaults in @cfg.  A policy with a tenant applies only when both sides
 * belong to that tenant.  Always fills @out. */
void pol_decide(const struct ctl_policy *pols, unsigned n, const struct ctl_policy_cfg *cfg,
		const struct pol_subject *src, const struct pol_subject *dst,
		struct pol_verdict *out);

#endif
