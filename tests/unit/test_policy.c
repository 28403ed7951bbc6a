/* Unit tests of policy selection (src/policy/pol_policy.c): which policy
 * applies from one VM to another, and the defaults when none does.
 *
 * Subjects: web1 (blue, groups web+frontend, tenant acme), db1 (blue,
 * group db, tenant acme), red1 (red, no group, no tenant).
 */
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

#include "pol_policy.h"

static const char web_groups[][CTL_NAME_MAX] = { "web", "frontend" };
static const char db_groups[][CTL_NAME_MAX] = { "db" };

static const struct pol_subject web1 = { "web1", "blue", "acme", 2, web_groups };
static const struct pol_subject db1 = { "db1", "blue", "acme", 1, db_groups };
static const struct pol_subject red1 = { "red1", "red", "", 0, NULL };

static struct ctl_policy_cfg cfg = {
	.default_same_vnet = CTL_ACT_ALLOW, .default_cross_vnet = CTL_ACT_DENY,
};

static struct ctl_selector
sel(enum ctl_sel_kind k, const char *name)
{
	struct ctl_selector s = { .kind = k };

	strncpy(s.name, name, sizeof(s.name) - 1);
	return s;
}

static struct ctl_policy
pol(const char *name, struct ctl_selector from, struct ctl_selector to, enum ctl_action a,
    int priority, uint64_t revision)
{
	struct ctl_policy p;

	memset(&p, 0, sizeof(p));
	strncpy(p.name, name, sizeof(p.name) - 1);
	p.from = from;
	p.to = to;
	p.action = a;
	p.priority = priority;
	p.revision = revision;
	return p;
}

#define ANY sel(CTL_SEL_ANY, "")
#define VM(n) sel(CTL_SEL_VM, n)
#define GRP(n) sel(CTL_SEL_GROUP, n)
#define NET(n) sel(CTL_SEL_VNET, n)

/* The name of the policy deciding web1 -> db1 under @p (n), or "default". */
static const char *
winner(const struct ctl_policy *p, unsigned n, struct pol_verdict *v)
{
	pol_decide(p, n, &cfg, &web1, &db1, v);
	return v->policy ? v->policy->name : "default";
}

static void
test_selector_matches_each_kind(void)
{
	struct ctl_selector s;

	s = ANY;
	CU_ASSERT_TRUE(pol_selector_matches(&s, &web1));
	CU_ASSERT_TRUE(pol_selector_matches(&s, &red1));
	s = VM("web1");
	CU_ASSERT_TRUE(pol_selector_matches(&s, &web1));
	CU_ASSERT_FALSE(pol_selector_matches(&s, &db1));
	s = GRP("frontend");     /* the second of web1's groups */
	CU_ASSERT_TRUE(pol_selector_matches(&s, &web1));
	CU_ASSERT_FALSE(pol_selector_matches(&s, &db1));
	CU_ASSERT_FALSE(pol_selector_matches(&s, &red1));   /* no groups at all */
	s = NET("blue");
	CU_ASSERT_TRUE(pol_selector_matches(&s, &web1));
	CU_ASSERT_TRUE(pol_selector_matches(&s, &db1));
	CU_ASSERT_FALSE(pol_selector_matches(&s, &red1));
	/* a VM named like a group is not in it */
	s = VM("web");
	CU_ASSERT_FALSE(pol_selector_matches(&s, &web1));
	CU_ASSERT_EQUAL(pol_selector_rank(CTL_SEL_VM), 3);
	CU_ASSERT_EQUAL(pol_selector_rank(CTL_SEL_GROUP), 2);
	CU_ASSERT_EQUAL(pol_selector_rank(CTL_SEL_VNET), 1);
	CU_ASSERT_EQUAL(pol_selector_rank(CTL_SEL_ANY), 0);
}

static void
test_more_specific_selector_wins_on_either_side(void)
{
	struct pol_verdict v;
	struct ctl_policy p[4];

	/* one side narrowed step by step: any < vnet < group < VM */
	p[0] = pol("a-any", ANY, ANY, CTL_ACT_DENY, 100, 1);
	p[1] = pol("b-net", ANY, NET("blue"), CTL_ACT_ALLOW, 0, 2);
	CU_ASSERT_STRING_EQUAL(winner(p, 2, &v), "b-net");
	p[2] = pol("c-grp", GRP("web"), ANY, CTL_ACT_DENY, 0, 3);
	CU_ASSERT_STRING_EQUAL(winner(p, 3, &v), "c-grp");
	p[3] = pol("d-vm", ANY, VM("db1"), CTL_ACT_ALLOW, 0, 4);
	CU_ASSERT_STRING_EQUAL(winner(p, 4, &v), "d-vm");
	CU_ASSERT_EQUAL(v.action, CTL_ACT_ALLOW);
	CU_ASSERT_EQUAL(v.revision, 4);
	/* the same with the VM on the source side */
	p[3] = pol("d-vm", VM("web1"), ANY, CTL_ACT_DENY, 0, 5);
	CU_ASSERT_STRING_EQUAL(winner(p, 4, &v), "d-vm");
	CU_ASSERT_EQUAL(v.action, CTL_ACT_DENY);
}

static void
test_vm_to_any_beats_group_to_group(void)
{
	struct pol_verdict v;
	struct ctl_policy p[2] = {
		pol("grp-grp", GRP("web"), GRP("db"), CTL_ACT_ALLOW, 1000, 1),  /* (2,2) */
		pol("vm-any", VM("web1"), ANY, CTL_ACT_DENY, 0, 2),            /* (3,0) */
	};

	CU_ASSERT_STRING_EQUAL(winner(p, 2, &v), "vm-any");
	CU_ASSERT_EQUAL(v.action, CTL_ACT_DENY);
	/* and (2,2) beats (2,1) */
	p[1] = pol("grp-net", GRP("web"), NET("blue"), CTL_ACT_DENY, 1000, 2);
	CU_ASSERT_STRING_EQUAL(winner(p, 2, &v), "grp-grp");
}

static void
test_equal_specificity_higher_priority_wins(void)
{
	struct pol_verdict v;
	struct ctl_policy p[2] = {
		pol("a", GRP("web"), GRP("db"), CTL_ACT_ALLOW, 10, 1),
		pol("b", GRP("frontend"), GRP("db"), CTL_ACT_DENY, 20, 2),
	};

	CU_ASSERT_STRING_EQUAL(winner(p, 2, &v), "b");
	p[1].priority = -5;
	CU_ASSERT_STRING_EQUAL(winner(p, 2, &v), "a");
	/* priority never overrides specificity */
	p[1] = pol("b", ANY, GRP("db"), CTL_ACT_DENY, 1000000, 2);
	CU_ASSERT_STRING_EQUAL(winner(p, 2, &v), "a");
}

static void
test_full_tie_goes_to_smaller_name_whatever_the_order(void)
{
	struct pol_verdict v;
	struct ctl_policy p[3] = {
		pol("mid", NET("blue"), NET("blue"), CTL_ACT_DENY, 5, 1),
		pol("alpha", NET("blue"), NET("blue"), CTL_ACT_CHAIN, 5, 2),
		pol("zulu", NET("blue"), NET("blue"), CTL_ACT_DENY, 5, 3),
	};
	struct ctl_policy r[3] = { p[2], p[0], p[1] };

	CU_ASSERT_STRING_EQUAL(winner(p, 3, &v), "alpha");
	CU_ASSERT_STRING_EQUAL(winner(r, 3, &v), "alpha");
}

static void
test_tenant_policy_needs_both_sides_in_tenant(void)
{
	struct pol_verdict v;
	struct ctl_policy p[1] = { pol("t", ANY, ANY, CTL_ACT_DENY, 0, 7) };

	strcpy(p[0].tenant, "acme");
	pol_decide(p, 1, &cfg, &web1, &db1, &v);
	CU_ASSERT_PTR_EQUAL(v.policy, &p[0]);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_DENY);
	pol_decide(p, 1, &cfg, &web1, &red1, &v);      /* red1 has no tenant */
	CU_ASSERT_PTR_NULL(v.policy);
	pol_decide(p, 1, &cfg, &red1, &web1, &v);
	CU_ASSERT_PTR_NULL(v.policy);
	strcpy(p[0].tenant, "other");
	pol_decide(p, 1, &cfg, &web1, &db1, &v);
	CU_ASSERT_PTR_NULL(v.policy);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_ALLOW);       /* the same-network default */
}

static void
test_defaults_apply_without_a_match_and_are_configurable(void)
{
	struct pol_verdict v;
	struct ctl_policy p[1] = { pol("other", VM("nobody"), ANY, CTL_ACT_DENY, 0, 3) };
	struct ctl_policy_cfg c = { .default_same_vnet = CTL_ACT_ALLOW,
				    .default_cross_vnet = CTL_ACT_DENY };

	pol_decide(p, 1, &c, &web1, &db1, &v);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_ALLOW);
	CU_ASSERT_PTR_NULL(v.policy);
	CU_ASSERT_EQUAL(v.revision, 0);
	pol_decide(p, 1, &c, &web1, &red1, &v);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_DENY);
	CU_ASSERT_PTR_NULL(v.policy);
	c.default_same_vnet = CTL_ACT_DENY;
	c.default_cross_vnet = CTL_ACT_ALLOW;
	pol_decide(NULL, 0, &c, &web1, &db1, &v);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_DENY);
	pol_decide(NULL, 0, &c, &red1, &web1, &v);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_ALLOW);
	CU_ASSERT_EQUAL(v.revision, 0);
}

static void
test_chain_action_and_revision_carried_through(void)
{
	struct pol_verdict v;
	struct ctl_policy p[1] = { pol("fw", GRP("web"), GRP("db"), CTL_ACT_CHAIN, 0, 42) };

	strcpy(p[0].chain, "firewall");
	pol_decide(p, 1, &cfg, &web1, &db1, &v);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_CHAIN);
	CU_ASSERT_PTR_EQUAL(v.policy, &p[0]);
	CU_ASSERT_STRING_EQUAL(v.policy->chain, "firewall");
	CU_ASSERT_EQUAL(v.revision, 42);
	CU_ASSERT_FALSE(v.reverse);
	/* the answers db1 -> web1 go through the chain too, in reverse order */
	pol_decide(p, 1, &cfg, &db1, &web1, &v);
	CU_ASSERT_PTR_EQUAL(v.policy, &p[0]);
	CU_ASSERT_EQUAL(v.action, CTL_ACT_CHAIN);
	CU_ASSERT_TRUE(v.reverse);
}

static void
test_only_chain_policies_cover_the_answers(void)
{
	struct pol_verdict v;
	struct ctl_policy p[1] = { pol("deny-web-db", GRP("web"), GRP("db"), CTL_ACT_DENY, 0, 1) };

	pol_decide(p, 1, &cfg, &db1, &web1, &v);
	CU_ASSERT_PTR_NULL(v.policy);   /* allow and deny keep their direction */
}

static void
test_policy_in_its_own_direction_beats_a_reversed_chain(void)
{
	struct pol_verdict v;
	struct ctl_policy p[2] = {
		pol("a-chain", GRP("web"), GRP("db"), CTL_ACT_CHAIN, 0, 1),
		pol("b-deny", GRP("db"), GRP("web"), CTL_ACT_DENY, 0, 2),
	};

	strcpy(p[0].chain, "inspect");
	/* same specificity and priority: db -> web is b-deny's own direction */
	pol_decide(p, 2, &cfg, &db1, &web1, &v);
	CU_ASSERT_PTR_EQUAL(v.policy, &p[1]);
	CU_ASSERT_FALSE(v.reverse);
	/* a higher priority still wins over direction */
	p[0].priority = 5;
	pol_decide(p, 2, &cfg, &db1, &web1, &v);
	CU_ASSERT_PTR_EQUAL(v.policy, &p[0]);
	CU_ASSERT_TRUE(v.reverse);
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "selector matches each kind", test_selector_matches_each_kind },
		{ "only chain policies cover the answers", test_only_chain_policies_cover_the_answers },
		{ "policy in its own direction beats a reversed chain",
		  test_policy_in_its_own_direction_beats_a_reversed_chain },
		{ "more specific selector wins on either side", test_more_specific_selector_wins_on_either_side },
		{ "VM to any beats group to group", test_vm_to_any_beats_group_to_group },
		{ "equal specificity: higher priority wins", test_equal_specificity_higher_priority_wins },
		{ "full tie goes to smaller name whatever the order", test_full_tie_goes_to_smaller_name_whatever_the_order },
		{ "tenant policy needs both sides in the tenant", test_tenant_policy_needs_both_sides_in_tenant },
		{ "defaults apply without a match and are configurable", test_defaults_apply_without_a_match_and_are_configurable },
		{ "chain action and revision carried through", test_chain_action_and_revision_carried_through },
	};
	const struct unit_suite suite = { "policy", tests, UNIT_DIM(tests), NULL, NULL,
					  NULL, NULL };

	return unit_run(&suite, argc > 1 ? argv[1] : NULL);
}
