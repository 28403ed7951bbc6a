/* Policy selection (D2): pure functions over the logical model, run by the
 * control thread when it resolves a decision-cache miss. */
#include <string.h>

#include "pol_policy.h"

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

unsigned
pol_selector_rank(enum ctl_sel_kind k)
{
	switch (k) {
	case CTL_SEL_VM: return 3;
	case CTL_SEL_GROUP: return 2;
	case CTL_SEL_VNET: return 1;
	case CTL_SEL_ANY: return 0;
	}
	return 0;
}

bool
pol_selector_matches(const struct ctl_selector *sel, const struct pol_subject *s)
{
	switch (sel->kind) {
	case CTL_SEL_ANY:
		return true;
	case CTL_SEL_VNET:
		return same(sel->name, s->vnet);
	case CTL_SEL_VM:
		return same(sel->name, s->vm);
	case CTL_SEL_GROUP:
		for (unsigned i = 0; i < s->n_groups; i++)
			if (strncmp(sel->name, s->groups[i], CTL_NAME_MAX) == 0)
				return true;
		return false;
	}
	return false;
}

/* A subject without a tenant never satisfies a tenant-scoped policy. */
static bool
tenant_applies(const struct ctl_policy *p, const struct pol_subject *src,
	       const struct pol_subject *dst)
{
	return p->tenant[0] == '\0' || (same(p->tenant, src->tenant) && same(p->tenant, dst->tenant));
}

/* Specificity as one comparable number: (more specific side, less specific side). */
static unsigned
specificity(const struct ctl_policy *p)
{
	unsigned a = pol_selector_rank(p->from.kind), b = pol_selector_rank(p->to.kind);

	return a > b ? a * 4 + b : b * 4 + a;
}

/* Whether @a (matched reversed when @ra) should be chosen over @b: more
 * specific, then higher priority, then a policy written in the flow's own
 * direction over a chain matched reversed, then the smaller name. */
static bool
better(const struct ctl_policy *a, bool ra, const struct ctl_policy *b, bool rb)
{
	unsigned sa = specificity(a), sb = specificity(b);

	if (sa != sb)
		return sa > sb;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	if (ra != rb)
		return !ra;
	return strncmp(a->name, b->name, CTL_NAME_MAX) < 0;
}

void
pol_decide(const struct ctl_policy *pols, unsigned n, const struct ctl_policy_cfg *cfg,
	   const struct pol_subject *src, const struct pol_subject *dst,
	   struct pol_verdict *out)
{
	const struct ctl_policy *best = NULL;
	bool best_rev = false;

	for (unsigned i = 0; i < n; i++) {
		const struct ctl_policy *p = &pols[i];
		bool rev;

		if (!tenant_applies(p, src, dst))
			continue;
		if (pol_selector_matches(&p->from, src) && pol_selector_matches(&p->to, dst))
			rev = false;
		else if (p->action == CTL_ACT_CHAIN && pol_selector_matches(&p->from, dst) &&
			 pol_selector_matches(&p->to, src))
			rev = true;   /* the answers of a chained conversation */
		else
			continue;
		if (best == NULL || better(p, rev, best, best_rev)) {
			best = p;
			best_rev = rev;
		}
	}
	if (best != NULL) {
		*out = (struct pol_verdict){ best->action, best, best->revision, best_rev };
		return;
	}
	out->action = same(src->vnet, dst->vnet) ? cfg->default_same_vnet : cfg->default_cross_vnet;
	out->policy = NULL;
	out->revision = 0;
	out->reverse = false;
}
