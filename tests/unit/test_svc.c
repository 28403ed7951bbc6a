/* Unit tests of the services framework's definitions, profiles, chains and
 * catalog (src/services/svc_def.c, svc_catalog.c): parsing with every
 * validation error at its position, scope checks, enables, rules per VM,
 * runtime parameters, service chains and the catalog file.  No DPDK. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

#include "svc_catalog.h"

static char err[CTL_ERR_MAX];
static char dir[64];

#define FW "service:\n" \
	"  vendor: v\n" \
	"  name: fw\n" \
	"  contact: c@x\n" \
	"  insertion: switch\n" \
	"  levels:\n" \
	"    - {name: basic, parameters: {log: \"off\"}}\n" \
	"  parameters: {default: allow}\n" \
	"  rules:\n" \
	"    - {direction: ingress, proto: tcp, dport: 23, action: drop}\n" \
	"    - {direction: egress, proto: udp, dst: 10.0.0.0/24, dport: 5000-5010, action: mirror, target: tap}\n"

#define FW2 "service: {vendor: v, name: fw2, contact: c, insertion: switch, levels: [{name: l}],\n" \
	"  rules: [{direction: both, action: allow}]}\n"

#define PROF "---\nprofile: {name: p, service: fw, level: basic, parameters: {log: \"on\"},\n" \
	"  scope: {vms: [vm1], pools: [web], vnets: [blue], tenants: [acme], hosts: [h1]}}\n"

/* Environment: VMs vm1..vm5. */
static struct svc_vm vms[] = {
	{ "vm1", "red", "", "h9" },     /* listed by name */
	{ "vm2", "red", "", "h9" },     /* in pool web */
	{ "vm3", "blue", "", "h9" },    /* in vnet blue */
	{ "vm4", "green", "acme", "h9" }, /* tenant acme */
	{ "vm5", "red", "", "h9" },     /* outside */
	{ "vm6", "red", "", "h1" },     /* host h1 */
};

static bool vm_at(void *arg, size_t i, struct svc_vm *vm)
{
	(void)arg;
	if (i >= UNIT_DIM(vms))
		return false;
	*vm = vms[i];
	return true;
}

static bool vnet_exists(void *arg, const char *n)
{
	(void)arg;
	return !strcmp(n, "red") || !strcmp(n, "blue") || !strcmp(n, "green");
}

static const struct svc_env env = { vm_at, vnet_exists, NULL };

/* A catalog with fw, pool web = {vm2} and profile p. */
static struct svc_catalog *setup(void)
{
	struct svc_catalog *c = svc_catalog_new();
	int rc = svc_catalog_register(c, "t.yaml", FW "---\npool: {name: web, vms: [vm2]}\n" PROF,
				      err, sizeof(err));

	if (rc != 3)
		fprintf(stderr, "setup: %d %s\n", rc, err);
	CU_ASSERT_EQUAL_FATAL(rc, 3);
	return c;
}

static void test_definition_parsed(void)
{
	struct svc_catalog *c = setup();
	const struct svc_def *d = svc_catalog_service(c, "fw")->def;

	CU_ASSERT_STRING_EQUAL(d->vendor, "v");
	CU_ASSERT_EQUAL(d->insertion, SVC_INS_SWITCH);
	CU_ASSERT_EQUAL(d->n_levels, 1);
	CU_ASSERT_STRING_EQUAL(svc_params_get(&d->levels[0].params, "log")->value, "off");
	CU_ASSERT_STRING_EQUAL(svc_params_get(&d->params, "default")->value, "allow");
	CU_ASSERT_EQUAL(d->n_rules, 2);
	CU_ASSERT_EQUAL(d->rules[0].dir, SVC_DIR_INGRESS);
	CU_ASSERT_EQUAL(d->rules[0].proto, IPPROTO_TCP);
	CU_ASSERT_EQUAL(d->rules[0].dport_lo, 23);
	CU_ASSERT_EQUAL(d->rules[0].dport_hi, 23);
	CU_ASSERT_EQUAL(d->rules[0].sport_lo, 0);
	CU_ASSERT_EQUAL(d->rules[0].sport_hi, 65535);
	CU_ASSERT_EQUAL(d->rules[0].action, SVC_RULE_DROP);
	CU_ASSERT_EQUAL(d->rules[1].dst.len, 24);
	CU_ASSERT_EQUAL(d->rules[1].dst.addr.v4, htonl(0x0a000000));
	CU_ASSERT_EQUAL(d->rules[1].dport_lo, 5000);
	CU_ASSERT_EQUAL(d->rules[1].dport_hi, 5010);
	CU_ASSERT_EQUAL(d->rules[1].action, SVC_RULE_MIRROR);
	CU_ASSERT_STRING_EQUAL(d->rules[1].target, "tap");
	CU_ASSERT_EQUAL(c->n_profiles, 1);
	CU_ASSERT_STRING_EQUAL(c->profiles[0].level, "basic");
	CU_ASSERT_EQUAL(c->profiles[0].scope[SVC_SCOPE_VMS].n, 1);
	svc_catalog_free(c);
}

/* Each bad document is refused with this message at this position, and
 * the catalog (holding fw) is unchanged. */
static void test_every_validation_error(void)
{
	static const struct { const char *doc, *want; } cases[] = {
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}], colour: red}\n",
		  "t.yaml:1:83: unknown key 'colour' in service" },
		{ "service: {name: x, contact: c, insertion: switch, levels: [{name: l}]}\n",
		  "t.yaml:1:10: service: missing required key 'vendor'" },
		{ "service: {vendor: v, contact: c, insertion: switch, levels: [{name: l}]}\n",
		  "t.yaml:1:10: service: missing required key 'name'" },
		{ "service: {vendor: v, name: x, insertion: switch, levels: [{name: l}]}\n",
		  "t.yaml:1:10: service: missing required key 'contact'" },
		{ "service: {vendor: v, name: x, contact: c, levels: [{name: l}]}\n",
		  "t.yaml:1:10: service: missing required key 'insertion'" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch}\n",
		  "t.yaml:1:10: service: missing required key 'levels'" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: []}\n",
		  "t.yaml:1:70: service levels: expected a list of at least one level" },
		{ "service: {vendor: v, name: x, contact: c, insertion: sideways, levels: [{name: l}]}\n",
		  "t.yaml:1:54: service insertion: 'sideways' is not one of" },
		{ "service: {vendor: v, name: x, contact: c, insertion: network, levels: [{name: l}]}\n",
		  "t.yaml:1:10: service: insertion 'network' needs at least one endpoint" },
		{ "service: {vendor: v, name: x, contact: c, insertion: external, levels: [{name: l}], endpoints: [{ip: 300.1.1.1}]}\n",
		  "t.yaml:1:102: endpoint ip: '300.1.1.1' is not an IP address" },
		{ "service: {vendor: v, name: x, contact: c, insertion: network, levels: [{name: l}], endpoints: [{url: \"ftp://a\"}], rules: []}\n",
		  "t.yaml:1:102: endpoint url: 'ftp://a' is not an http:// or https:// URL" },
		{ "service: {vendor: v, name: x, contact: c, insertion: network, levels: [{name: l}], endpoints: [{port: fw-in}], rules: []}\n",
		  "t.yaml:1:119: service rules: only insertion 'switch' takes rules" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: in, action: drop}]}\n",
		  "t.yaml:2:23: rule direction: 'in' is not one of: ingress, egress, both" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, proto: sctp, action: drop}]}\n",
		  "t.yaml:2:39: rule proto: 'sctp' is not one of: tcp, udp, icmp, any" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, src: 10.0.0.1/33, action: drop}]}\n",
		  "t.yaml:2:37: rule src: '10.0.0.1/33' is not an IPv4 address or prefix" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, dst: \"2001:db8::/32\", action: drop}]}\n",
		  "t.yaml:2:37: rule dst: '2001:db8::/32': rules match IPv4 only" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, proto: tcp, dport: 10-5, action: drop}]}\n",
		  "t.yaml:2:51: rule dport: range 10-5 is empty" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, proto: tcp, sport: 70000, action: drop}]}\n",
		  "t.yaml:2:51: rule sport: '70000' is not a port" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, proto: icmp, dport: 1, action: drop}]}\n",
		  "t.yaml:2:52: rule dport: ports need proto tcp or udp" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, action: reject}]}\n",
		  "t.yaml:2:40: rule action: 'reject' is not one of" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, action: mirror}]}\n",
		  "t.yaml:2:11: rule: action 'mirror' needs a 'target' port" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, action: redirect}]}\n",
		  "t.yaml:2:11: rule: action 'redirect' needs a 'target' port" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{direction: ingress, action: drop, target: fw-in}]}\n",
		  "t.yaml:2:54: rule target: only actions 'mirror' and 'redirect' take a target" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}],\n"
		  "  rules: [{action: drop}]}\n",
		  "t.yaml:2:11: rule: missing required key 'direction'" },
		{ "service: {vendor: v, name: 'bad name', contact: c, insertion: switch, levels: [{name: l}]}\n",
		  "t.yaml:1:28: service name: 'bad name' is not a valid name" },
		{ "service: {vendor: v, name: x, contact: c, insertion: switch, levels: [{name: l}, {name: l}]}\n",
		  "t.yaml:1:89: level 'l' defined twice" },
		{ "service: {vendor: v, vendor: w, name: x, contact: c, insertion: switch, levels: [{name: l}]}\n",
		  "t.yaml:1:22: service: duplicate key 'vendor'" },
		{ FW, "t.yaml:1:1: service 'fw' is already registered" },
		{ "profile: {name: q, service: nope, level: basic}\n",
		  "t.yaml:1:29: profile service: no service 'nope' is registered" },
		{ "profile: {name: q, service: fw, level: gold}\n",
		  "t.yaml:1:40: profile level: service 'fw' has no level 'gold'" },
		{ "profile: {name: q, service: fw, level: basic, parameters: {speed: fast}}\n",
		  "t.yaml:1:60: profile parameters: service 'fw' (level 'basic') has no parameter 'speed'" },
		{ "profile: {name: q, service: fw, level: basic, scope: {people: [a]}}\n",
		  "t.yaml:1:55: unknown key 'people' in profile scope" },
		{ "profile: {name: q, service: fw, level: basic, scope: {pools: [nope]}}\n",
		  "t.yaml:1:1: profile 'q': scope names pool 'nope', which does not exist" },
		{ "profile: {name: q, service: fw, level: basic, scope: {vms: [a, a]}}\n",
		  "t.yaml:1:64: profile scope vms: 'a' listed twice" },
		{ "pool: {name: p1}\n", "t.yaml:1:7: pool: missing required key 'vms'" },
		{ "enable: {profile: p, vm: vm1}\n", "t.yaml:1:1: a 'enable' document is not allowed here" },
		{ "service: [1]\n", "t.yaml:1:10: service: expected a mapping" },
		{ "service: {a: [\n", "t.yaml:2:1:" },
		{ "", "t.yaml:1:1: no document" },
		{ FW2 "---\nservice: {x: 1}\n", "t.yaml:4:11: unknown key 'x' in service" },
	};
	struct svc_catalog *c = svc_catalog_new();

	CU_ASSERT_EQUAL_FATAL(svc_catalog_register(c, "t.yaml", FW, err, sizeof(err)), 1);
	for (size_t i = 0; i < UNIT_DIM(cases); i++) {
		int rc = svc_catalog_register(c, "t.yaml", cases[i].doc, err, sizeof(err));

		if (rc >= 0 || strncmp(err, cases[i].want, strlen(cases[i].want)))
			fprintf(stderr, "case %zu: rc %d\n  got  %s\n  want %s\n", i, rc, err,
				cases[i].want);
		CU_ASSERT(rc < 0);
		CU_ASSERT_NSTRING_EQUAL(err, cases[i].want, strlen(cases[i].want));
		CU_ASSERT_EQUAL(c->n_services, 1);   /* fw2 of the last case is not kept */
		CU_ASSERT_EQUAL(c->n_profiles + c->n_pools, 0);
	}
	svc_catalog_free(c);
}

static void test_too_many_rules(void)
{
	size_t cap = 64 * (SVC_MAX_RULES + 2) + 256, n;
	char *doc = malloc(cap);
	struct svc_catalog *c = svc_catalog_new();

	n = (size_t)snprintf(doc, cap, "service: {vendor: v, name: x, contact: c, insertion: switch, "
			     "levels: [{name: l}], rules: [\n");
	for (int i = 0; i <= SVC_MAX_RULES; i++)
		n += (size_t)snprintf(doc + n, cap - n, "  {direction: ingress, action: drop},\n");
	snprintf(doc + n, cap - n, "]}\n");
	CU_ASSERT(svc_catalog_register(c, "t.yaml", doc, err, sizeof(err)) < 0);
	CU_ASSERT_STRING_EQUAL(err, "t.yaml:258:3: service rules: more than 256 rules");
	CU_ASSERT_EQUAL(c->n_services, 0);
	free(doc);
	svc_catalog_free(c);
}

static void test_scope_each_dimension(void)
{
	struct svc_catalog *c = setup();

	for (size_t i = 0; i < UNIT_DIM(vms); i++)
		CU_ASSERT_EQUAL(svc_catalog_in_scope(c, 0, &vms[i]), i != 4);
	svc_catalog_free(c);
}

static void test_enable_outside_scope_refused(void)
{
	struct svc_catalog *c = setup();

	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VM, "vm5", err, sizeof(err)),
			-EPERM);
	CU_ASSERT(strstr(err, "VM 'vm5' is outside the scope of profile 'p'") != NULL);
	/* network red holds vm5: refused, naming it */
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VNET, "red", err, sizeof(err)),
			-EPERM);
	CU_ASSERT(strstr(err, "VM 'vm5' of network 'red' is outside") != NULL);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VM, "nobody", err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "nope", SVC_TARGET_VM, "vm1", err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VNET, "pink", err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_EQUAL(c->n_enables, 0);
	/* a pool with a VM outside */
	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", "pool: {name: mixed, vms: [vm1, vm5]}\n",
					     err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_POOL, "mixed", err,
					   sizeof(err)), -EPERM);
	CU_ASSERT(strstr(err, "VM 'vm5' of pool 'mixed'") != NULL);
	CU_ASSERT_EQUAL(c->n_enables, 0);
	svc_catalog_free(c);
}

static void test_enable_inside_scope(void)
{
	struct svc_catalog *c = setup();

	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VM, "vm4", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_POOL, "web", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VNET, "blue", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VNET, "blue", err, sizeof(err)),
			-EEXIST);
	CU_ASSERT_EQUAL(c->n_enables, 3);
	CU_ASSERT(svc_catalog_enabled_for(c, 0, &vms[1]));
	CU_ASSERT(svc_catalog_enabled_for(c, 0, &vms[2]));
	CU_ASSERT(svc_catalog_enabled_for(c, 0, &vms[3]));
	CU_ASSERT(!svc_catalog_enabled_for(c, 0, &vms[0]));   /* in scope, not enabled */
	CU_ASSERT_EQUAL(svc_catalog_disable(c, "p", SVC_TARGET_VM, "vm4", err, sizeof(err)), 0);
	CU_ASSERT(!svc_catalog_enabled_for(c, 0, &vms[3]));
	CU_ASSERT_EQUAL(svc_catalog_disable(c, "p", SVC_TARGET_VM, "vm4", err, sizeof(err)),
			-ENOENT);
	svc_catalog_free(c);
}

static void test_in_use_refused(void)
{
	struct svc_catalog *c = setup();

	CU_ASSERT_EQUAL(svc_catalog_unregister(c, "fw", err, sizeof(err)), -EBUSY);
	CU_ASSERT(strstr(err, "profile 'p'") != NULL);
	CU_ASSERT_EQUAL(svc_catalog_pool_del(c, "web", err, sizeof(err)), -EBUSY);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VM, "vm1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "p", err, sizeof(err)), -EBUSY);
	CU_ASSERT(strstr(err, "enabled for vm 'vm1'") != NULL);
	CU_ASSERT_EQUAL(c->n_services + c->n_profiles + c->n_pools, 3);
	CU_ASSERT_EQUAL(svc_catalog_disable(c, "p", SVC_TARGET_VM, "vm1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "p", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_unregister(c, "fw", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_pool_del(c, "web", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->n_services + c->n_profiles + c->n_pools, 0);
	svc_catalog_free(c);
}

static void test_rules_for_vm_in_enable_order(void)
{
	struct svc_catalog *c = setup();
	struct svc_profile q = { .name = "q", .service = "fw2", .level = "l" };
	struct svc_rule r[8];
	unsigned prof[8];

	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", FW2, err, sizeof(err)), 1);
	svc_names_add(&q.scope[SVC_SCOPE_VNETS], "red");
	CU_ASSERT_EQUAL(svc_catalog_profile_add(c, &q, err, sizeof(err)), 0);
	svc_profile_clear(&q);
	/* Nothing happens until an enable. */
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[1], r, prof, 8), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "q", SVC_TARGET_VNET, "red", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_POOL, "web", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VM, "vm2", err, sizeof(err)), 0);
	/* vm2: q (1 rule) then p (2 rules), p once */
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[1], r, prof, 8), 3);
	CU_ASSERT_EQUAL(r[0].action, SVC_RULE_ALLOW);
	CU_ASSERT_EQUAL(prof[0], 1);
	CU_ASSERT_EQUAL(r[1].action, SVC_RULE_DROP);
	CU_ASSERT_EQUAL(prof[1], 0);
	CU_ASSERT_EQUAL(r[2].action, SVC_RULE_MIRROR);
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[1], r, prof, 2), -ENOSPC);
	/* vm5 in red gets q only; vm3 gets nothing */
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[4], r, NULL, 8), 1);
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[2], r, NULL, 8), 0);
	svc_catalog_free(c);
}

/* Adds profile @name of fw2 (scope: vnet red); the add's return value. */
static int add_fw2_profile(struct svc_catalog *c, const char *name)
{
	struct svc_profile q = { .service = "fw2", .level = "l" };
	int rc;

	snprintf(q.name, sizeof(q.name), "%s", name);
	svc_names_add(&q.scope[SVC_SCOPE_VNETS], "red");
	rc = svc_catalog_profile_add(c, &q, err, sizeof(err));
	svc_profile_clear(&q);
	return rc;
}

static unsigned slot_of(const struct svc_catalog *c, const char *name)
{
	long i = svc_catalog_profile(c, name);

	CU_ASSERT_FATAL(i >= 0);
	return c->profiles[i].slot;
}

static void test_slot_kept_when_another_profile_deleted(void)
{
	struct svc_catalog *c = setup();        /* p: slot 0 */
	struct svc_rule r[8];
	unsigned prof[8];

	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", FW2, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(add_fw2_profile(c, "q"), 0);
	CU_ASSERT_EQUAL(add_fw2_profile(c, "s"), 0);
	CU_ASSERT_EQUAL(slot_of(c, "q"), 1);
	CU_ASSERT_EQUAL(slot_of(c, "s"), 2);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "p", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "q", err, sizeof(err)), 0);
	/* s is now the catalog's first profile but keeps its slot, and its
	 * rules carry the slot, not the index. */
	CU_ASSERT_EQUAL(svc_catalog_profile(c, "s"), 0);
	CU_ASSERT_EQUAL(slot_of(c, "s"), 2);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "s", SVC_TARGET_VNET, "red", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[0], r, prof, 8), 1);
	CU_ASSERT_EQUAL(prof[0], 2);
	/* A change on a staged copy (register) keeps it too. */
	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", "pool: {name: x, vms: []}\n", err,
					     sizeof(err)), 1);
	CU_ASSERT_EQUAL(slot_of(c, "s"), 2);
	svc_catalog_free(c);
}

static void test_lowest_free_slot_reused(void)
{
	struct svc_catalog *c = setup();        /* p: slot 0 */

	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", FW2, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(add_fw2_profile(c, "q"), 0);
	CU_ASSERT_EQUAL(add_fw2_profile(c, "s"), 0);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "s", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "p", err, sizeof(err)), 0);
	/* Slots 0 and 2 are free: the lowest goes first. */
	CU_ASSERT_EQUAL(add_fw2_profile(c, "t"), 0);
	CU_ASSERT_EQUAL(slot_of(c, "t"), 0);
	CU_ASSERT_EQUAL(add_fw2_profile(c, "u"), 0);
	CU_ASSERT_EQUAL(slot_of(c, "u"), 2);
	CU_ASSERT_EQUAL(slot_of(c, "q"), 1);
	svc_catalog_free(c);
}

static void test_profile_limit_refused(void)
{
	struct svc_catalog *c = setup();        /* p: slot 0 */
	char name[16];

	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", FW2, err, sizeof(err)), 1);
	for (unsigned i = 1; i < SVC_MAX_PROFILES; i++) {
		snprintf(name, sizeof(name), "q%u", i);
		CU_ASSERT_EQUAL_FATAL(add_fw2_profile(c, name), 0);
		CU_ASSERT_EQUAL(slot_of(c, name), i);
	}
	CU_ASSERT_EQUAL(add_fw2_profile(c, "one-too-many"), -ENOSPC);
	CU_ASSERT(strstr(err, "at most 64 profiles") != NULL);
	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", "profile: {name: x, service: fw2, "
					     "level: l, scope: {}}\n", err, sizeof(err)), -ENOSPC);
	CU_ASSERT_EQUAL(c->n_profiles, SVC_MAX_PROFILES);
	CU_ASSERT_EQUAL(svc_catalog_profile(c, "x"), -1);
	/* One deleted: one more fits, in the freed slot. */
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "q7", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(add_fw2_profile(c, "one-too-many"), 0);
	CU_ASSERT_EQUAL(slot_of(c, "one-too-many"), 7);
	svc_catalog_free(c);
}

static void test_configure(void)
{
	struct svc_catalog *c = setup();

	CU_ASSERT_EQUAL(svc_catalog_configure(c, "fw", "default", "drop", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(svc_params_get(&svc_catalog_service(c, "fw")->configured,
					      "default")->value, "drop");
	CU_ASSERT_EQUAL(svc_catalog_configure(c, "fw", "colour", "red", err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "service 'fw' has no parameter 'colour'");
	CU_ASSERT_EQUAL(svc_catalog_configure(c, "nope", "default", "x", err, sizeof(err)), -ENOENT);
	CU_ASSERT_EQUAL(svc_catalog_service(c, "fw")->configured.n, 1);
	svc_catalog_free(c);
}

/* default=drop (configured, or in the profile) ends the service's rules
 * with a drop of everything, both ways; default=allow does not. */
static void test_default_drop_appends_catch_all(void)
{
	struct svc_catalog *c = setup();
	struct svc_rule r[8];
	unsigned prof[8];
	int n;

	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VM, "vm2", err, sizeof(err)), 0);
	n = svc_catalog_rules_for_vm(c, &vms[1], r, prof, 8);
	CU_ASSERT_EQUAL(svc_catalog_configure(c, "fw", "default", "drop", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[1], r, prof, 8), n + 1);
	CU_ASSERT_EQUAL(r[n].action, SVC_RULE_DROP);
	CU_ASSERT_EQUAL(r[n].dir, SVC_DIR_BOTH);
	CU_ASSERT_EQUAL(r[n].proto, 0);
	CU_ASSERT_EQUAL(r[n].src.len + r[n].dst.len, 0);
	CU_ASSERT_EQUAL(prof[n], prof[0]);
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[1], r, prof, (unsigned)n), -ENOSPC);
	CU_ASSERT_EQUAL(svc_catalog_configure(c, "fw", "default", "allow", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[1], r, prof, 8), n);
	svc_catalog_free(c);
}

static void test_save_load_round_trip(void)
{
	struct svc_catalog *c = setup(), *d = svc_catalog_new();
	struct svc_rule r1[8], r2[8];

	CU_ASSERT_EQUAL(svc_catalog_configure(c, "fw", "default", "say \"no\"\\", err,
					      sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_POOL, "web", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "p", SVC_TARGET_VM, "vm1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(svc_catalog_save(c, dir, err, sizeof(err)), 0);
	if (svc_catalog_load(d, dir, err, sizeof(err)) != 0)
		fprintf(stderr, "load: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(d->n_services, 1);
	CU_ASSERT_EQUAL(memcmp(svc_catalog_service(d, "fw")->def, svc_catalog_service(c, "fw")->def,
			       sizeof(struct svc_def)), 0);
	CU_ASSERT_STRING_EQUAL(svc_params_get(&svc_catalog_service(d, "fw")->configured,
					      "default")->value, "say \"no\"\\");
	CU_ASSERT_EQUAL(d->n_profiles, 1);
	CU_ASSERT_EQUAL(d->n_pools, 1);
	CU_ASSERT_EQUAL(d->n_enables, 2);
	CU_ASSERT_EQUAL(memcmp(d->enables, c->enables, 2 * sizeof(*c->enables)), 0);
	CU_ASSERT(svc_names_has(&d->profiles[0].scope[SVC_SCOPE_HOSTS], "h1"));
	CU_ASSERT_EQUAL(svc_catalog_rules_for_vm(c, &vms[1], r1, NULL, 8),
			svc_catalog_rules_for_vm(d, &vms[1], r2, NULL, 8));
	CU_ASSERT_EQUAL(memcmp(r1, r2, 2 * sizeof(r1[0])), 0);
	svc_catalog_free(c);
	svc_catalog_free(d);
}

static void test_corrupt_catalog_refused(void)
{
	struct svc_catalog *c = setup(), *d = setup();
	char path[128], *buf;
	FILE *f;
	long len;

	CU_ASSERT_EQUAL_FATAL(svc_catalog_save(c, dir, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/catalog.yaml", dir);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	CU_ASSERT_EQUAL(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	/* cut at the start of the profile document: whole documents, one missing */
	f = fopen(path, "wb");
	fwrite(buf, 1, (size_t)(strstr(buf, "---\nprofile:") - buf), f);
	fclose(f);
	svc_catalog_unregister(d, "nothing", err, sizeof(err));
	CU_ASSERT_EQUAL(svc_catalog_enable(d, &env, "p", SVC_TARGET_VM, "vm1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_load(d, dir, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "cut short") != NULL);
	CU_ASSERT_EQUAL(d->n_enables, 1);
	CU_ASSERT_EQUAL(d->n_profiles, 1);
	/* garbage */
	f = fopen(path, "wb");
	fputs("catalog: {version: 1, documents: 1}\n---\nservice: {vendor: [\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(svc_catalog_load(d, dir, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "catalog.yaml:") != NULL);
	CU_ASSERT_EQUAL(d->n_enables, 1);
	unlink(path);
	CU_ASSERT_EQUAL(svc_catalog_load(d, dir, err, sizeof(err)), -ENOENT);
	free(buf);
	svc_catalog_free(c);
	svc_catalog_free(d);
}

static void test_builtin_services_dir(void)
{
	const char *src = getenv("VS_SOURCE_DIR");
	char path[512];
	struct svc_catalog *c = svc_catalog_new();
	int rc;

	snprintf(path, sizeof(path), "%s/config/services", src ? src : ".");
	rc = svc_catalog_load_dir(c, path, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	/* every document of the directory, whatever other built-ins it holds */
	CU_ASSERT(rc >= 3);
	CU_ASSERT_EQUAL(rc, (int)(c->n_services + c->n_profiles + c->n_pools + c->n_chains));
	CU_ASSERT_PTR_NOT_NULL(svc_catalog_service(c, "stateless-firewall"));
	CU_ASSERT(svc_catalog_profile(c, "fw-web") >= 0);
	/* again: what is registered wins, nothing doubled */
	CU_ASSERT(svc_catalog_load_dir(c, path, err, sizeof(err)) >= 0);
	CU_ASSERT_EQUAL(rc, (int)(c->n_services + c->n_profiles + c->n_pools + c->n_chains));
	svc_catalog_free(c);
}

/* ---- service chains (insertion points 2 and 3) ---- */

/* An appliance VM with an in/out port pair, a remote service reached over
 * VXLAN with its own VNI, the switch's load balancer, and a profile of each
 * (vm1, vm2 may use the first two, vm1 the third). */
#define APP "---\nservice: {vendor: v, name: ids, contact: c, insertion: network, levels: [{name: l}],\n" \
	"  endpoints: [{port: ids-in, out: ids-out}, {port: ids2}]}\n"
#define EXT "---\nservice: {vendor: v, name: urlf, contact: c, insertion: external, levels: [{name: l}],\n" \
	"  endpoints: [{ip: 198.51.100.9, vni: 5001}, {ip: 198.51.100.10}]}\n"
#define LB "---\nservice: {vendor: v, name: lb, contact: c, insertion: network, builtin: load-balancer,\n" \
	"  levels: [{name: l}]}\n"
#define HOPS "---\nprofile: {name: h-ids, service: ids, level: l, scope: {vms: [vm1, vm2]}}\n" \
	"---\nprofile: {name: h-url, service: urlf, level: l, scope: {vms: [vm1, vm2]}}\n" \
	"---\nprofile: {name: h-lb, service: lb, level: l, scope: {vms: [vm1]}}\n"

#define APP_PROFILE_AND_CHAIN "profile: {name: h-ids2, service: ids, level: l}\n---\n" \
	"chain: {name: c3, hops: [h-ids2, h-url]}\n"

/* setup() plus ids, urlf, lb and their profiles h-ids, h-url, h-lb. */
static struct svc_catalog *chain_setup(void)
{
	struct svc_catalog *c = setup();
	int rc = svc_catalog_register(c, "hops.yaml", APP EXT LB HOPS, err, sizeof(err));

	if (rc != 6)
		fprintf(stderr, "chain_setup: %d %s\n", rc, err);
	CU_ASSERT_EQUAL_FATAL(rc, 6);
	return c;
}

static int add_chain(struct svc_catalog *c, const char *name, unsigned n, const char *const *hops)
{
	struct svc_chain ch = { .n_hops = n };

	snprintf(ch.name, sizeof(ch.name), "%s", name);
	for (unsigned i = 0; i < n && i < SVC_MAX_HOPS; i++)
		snprintf(ch.hops[i], sizeof(ch.hops[i]), "%s", hops[i]);
	return svc_catalog_chain_add(c, &ch, err, sizeof(err));
}

static unsigned chain_slot(const struct svc_catalog *c, const char *name)
{
	long i = svc_catalog_chain(c, name);

	CU_ASSERT_FATAL(i >= 0);
	return c->chains[i].slot;
}

static void test_chain_parsed(void)
{
	struct svc_catalog *c = chain_setup();
	const struct svc_chain *ch;

	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", "chain:\n  name: c1\n  hops:\n"
					     "    - h-url\n    - h-ids\n---\n"
					     "chain: {name: c2, hops: [h-ids]}\n", err, sizeof(err)), 2);
	CU_ASSERT_EQUAL_FATAL(c->n_chains, 2);
	ch = &c->chains[svc_catalog_chain(c, "c1")];
	CU_ASSERT_EQUAL(ch->n_hops, 2);
	CU_ASSERT_STRING_EQUAL(ch->hops[0], "h-url");
	CU_ASSERT_STRING_EQUAL(ch->hops[1], "h-ids");
	CU_ASSERT_EQUAL(ch->slot, 0);
	CU_ASSERT_EQUAL(chain_slot(c, "c2"), 1);
	CU_ASSERT_EQUAL(svc_catalog_chain(c, "nope"), -1);
	/* a chain may come in the file that registers its hops, after them */
	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml",
					     APP_PROFILE_AND_CHAIN, err, sizeof(err)), 2);
	CU_ASSERT(svc_catalog_chain(c, "c3") >= 0);
	svc_catalog_free(c);
}

/* Each bad chain document is refused with this message at this position,
 * and nothing is registered (the chain's hops of the same file neither). */
static void test_chain_every_validation_error(void)
{
	static const struct { const char *doc, *want; } cases[] = {
		{ "chain: {name: c, hops: [h-ids], colour: red}\n",
		  "t.yaml:1:33: unknown key 'colour' in chain (expected one of: name, hops)" },
		{ "chain: {hops: [h-ids]}\n", "t.yaml:1:8: chain: missing required key 'name'" },
		{ "chain: {name: c}\n", "t.yaml:1:8: chain: missing required key 'hops'" },
		{ "chain: {name: c, hops: []}\n",
		  "t.yaml:1:24: chain hops: expected a list of 1 to 8 profile names" },
		{ "chain: {name: c, hops: h-ids}\n",
		  "t.yaml:1:24: chain hops: expected a list of 1 to 8 profile names" },
		{ "chain: {name: 'a b', hops: [h-ids]}\n",
		  "t.yaml:1:15: chain name: 'a b' is not a valid name" },
		{ "chain: {name: c, hops: [h-ids, 'x y']}\n",
		  "t.yaml:1:32: chain hop: 'x y' is not a valid name" },
		{ "chain: {name: c, hops: [h-ids, h-url, h-ids]}\n",
		  "t.yaml:1:39: chain hops: profile 'h-ids' listed twice" },
		{ "chain: {name: c, hops: [a1, a2, a3, a4, a5, a6, a7, a8, a9]}\n",
		  "t.yaml:1:57: chain hops: more than 8 hops" },
		{ "chain: {name: c, hops: [{p: h-ids}]}\n",
		  "t.yaml:1:25: chain hop: expected a value, got a mapping" },
		{ "chain: [1]\n", "t.yaml:1:8: chain: expected a mapping" },
		{ "chain: {name: c, name: d, hops: [h-ids]}\n",
		  "t.yaml:1:18: chain: duplicate key 'name'" },
		/* what the catalog checks, at the document's position */
		{ "pool: {name: q1, vms: []}\n---\nchain: {name: c, hops: [h-ids, nope]}\n",
		  "t.yaml:3:1: chain 'c': no profile 'nope'" },
		{ "chain: {name: c, hops: [h-ids, p]}\n",
		  "t.yaml:1:1: chain 'c': profile 'p' is of service 'fw', whose insertion is 'switch'" },
		{ "chain: {name: c, hops: [h-lb]}\n",
		  "t.yaml:1:1: chain 'c': profile 'h-lb' is of the built-in load-balancer 'lb'" },
		{ "chain: {name: c, hops: [h-ids]}\n---\nchain: {name: c, hops: [h-url]}\n",
		  "t.yaml:3:1: chain 'c' already exists" },
		{ "chain: {name: c, hops: [h-new]}\n---\n"
		  "profile: {name: h-new, service: ids, level: l}\n",
		  "t.yaml:1:1: chain 'c': no profile 'h-new'" },
	};
	struct svc_catalog *c = chain_setup();
	unsigned pools = c->n_pools, profiles = c->n_profiles;

	for (size_t i = 0; i < UNIT_DIM(cases); i++) {
		int rc = svc_catalog_register(c, "t.yaml", cases[i].doc, err, sizeof(err));

		if (rc >= 0 || strncmp(err, cases[i].want, strlen(cases[i].want)))
			fprintf(stderr, "case %zu: rc %d\n  got  %s\n  want %s\n", i, rc, err,
				cases[i].want);
		CU_ASSERT(rc < 0);
		CU_ASSERT_NSTRING_EQUAL(err, cases[i].want, strlen(cases[i].want));
		CU_ASSERT_EQUAL(c->n_chains, 0);
		CU_ASSERT_EQUAL(c->n_pools, pools);
		CU_ASSERT_EQUAL(c->n_profiles, profiles);
	}
	svc_catalog_free(c);
}

static void test_chain_add_errors(void)
{
	static const char *const nine[] = { "h-ids", "h-url", "a", "b", "c", "d", "e", "f", "g" };
	static const char *const ok[] = { "h-ids", "h-url" };
	struct svc_catalog *c = chain_setup();
	const char *h[2];

	h[0] = "h-ids";
	h[1] = "nope";
	CU_ASSERT_EQUAL(add_chain(c, "c", 2, h), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "chain 'c': no profile 'nope'");
	h[1] = "p";
	CU_ASSERT_EQUAL(add_chain(c, "c", 2, h), -EINVAL);
	CU_ASSERT(strstr(err, "profile 'p' is of service 'fw', whose insertion is 'switch'") != NULL);
	h[1] = "h-lb";
	CU_ASSERT_EQUAL(add_chain(c, "c", 2, h), -EINVAL);
	CU_ASSERT(strstr(err, "built-in load-balancer 'lb'") != NULL);
	h[1] = "h-ids";
	CU_ASSERT_EQUAL(add_chain(c, "c", 2, h), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "chain 'c': profile 'h-ids' is a hop twice");
	CU_ASSERT_EQUAL(add_chain(c, "c", 0, h), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "chain 'c': 0 hops; a chain has 1 to 8");
	CU_ASSERT_EQUAL(add_chain(c, "c", 9, nine), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "chain 'c': 9 hops; a chain has 1 to 8");
	CU_ASSERT_EQUAL(add_chain(c, "bad name", 2, ok), -EINVAL);
	CU_ASSERT_EQUAL(c->n_chains, 0);
	CU_ASSERT_EQUAL(add_chain(c, "c", 2, ok), 0);
	CU_ASSERT_EQUAL(add_chain(c, "c", 1, ok), -EEXIST);
	CU_ASSERT_STRING_EQUAL(err, "chain 'c' already exists");
	CU_ASSERT_EQUAL(c->n_chains, 1);
	CU_ASSERT_EQUAL(svc_catalog_chain_del(c, "nope", err, sizeof(err)), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "no chain 'nope'");
	svc_catalog_free(c);
}

static void test_chain_slots(void)
{
	static const char *const h[] = { "h-ids" };
	struct svc_catalog *c = chain_setup();
	char name[16];

	CU_ASSERT_EQUAL(add_chain(c, "c0", 1, h), 0);
	CU_ASSERT_EQUAL(add_chain(c, "c1", 1, h), 0);
	CU_ASSERT_EQUAL(add_chain(c, "c2", 1, h), 0);
	CU_ASSERT_EQUAL(svc_catalog_chain_del(c, "c0", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_chain_del(c, "c2", err, sizeof(err)), 0);
	/* c1 keeps its slot; new chains take the lowest free ones */
	CU_ASSERT_EQUAL(chain_slot(c, "c1"), 1);
	CU_ASSERT_EQUAL(add_chain(c, "c3", 1, h), 0);
	CU_ASSERT_EQUAL(chain_slot(c, "c3"), 0);
	CU_ASSERT_EQUAL(add_chain(c, "c4", 1, h), 0);
	CU_ASSERT_EQUAL(chain_slot(c, "c4"), 2);
	/* a staged change (register) keeps them */
	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", "pool: {name: x, vms: []}\n", err,
					     sizeof(err)), 1);
	CU_ASSERT_EQUAL(chain_slot(c, "c1"), 1);
	CU_ASSERT_EQUAL(chain_slot(c, "c4"), 2);
	for (unsigned i = 3; i < SVC_MAX_CHAINS; i++) {
		snprintf(name, sizeof(name), "x%u", i);
		CU_ASSERT_EQUAL_FATAL(add_chain(c, name, 1, h), 0);
		CU_ASSERT_EQUAL(chain_slot(c, name), i);
	}
	CU_ASSERT_EQUAL(add_chain(c, "one-too-many", 1, h), -ENOSPC);
	CU_ASSERT(strstr(err, "at most 64 chains") != NULL);
	CU_ASSERT_EQUAL(svc_catalog_register(c, "t.yaml", "chain: {name: y, hops: [h-url]}\n", err,
					     sizeof(err)), -ENOSPC);
	CU_ASSERT_EQUAL(c->n_chains, SVC_MAX_CHAINS);
	CU_ASSERT_EQUAL(svc_catalog_chain_del(c, "x9", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(add_chain(c, "one-too-many", 1, h), 0);
	CU_ASSERT_EQUAL(chain_slot(c, "one-too-many"), 9);
	svc_catalog_free(c);
}

static void test_profile_in_chain_not_deleted(void)
{
	static const char *const h[] = { "h-ids", "h-url" };
	struct svc_catalog *c = chain_setup();

	CU_ASSERT_EQUAL(add_chain(c, "c1", 2, h), 0);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "h-url", err, sizeof(err)), -EBUSY);
	CU_ASSERT_STRING_EQUAL(err, "profile 'h-url' is hop 2 of chain 'c1': delete the chain first");
	CU_ASSERT(svc_catalog_profile(c, "h-url") >= 0);
	CU_ASSERT_EQUAL(svc_catalog_unregister(c, "urlf", err, sizeof(err)), -EBUSY);
	CU_ASSERT_EQUAL(svc_catalog_chain_del(c, "c1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_profile_del(c, "h-url", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_unregister(c, "urlf", err, sizeof(err)), 0);
	svc_catalog_free(c);
}

static void test_chain_hops_need_enable(void)
{
	static const char *const h[] = { "h-ids", "h-url" };
	static const char *const rev[] = { "h-url", "h-ids" };
	struct svc_catalog *c = chain_setup();
	struct svc_hop hops[SVC_MAX_HOPS];
	const struct svc_vm *vm1 = &vms[0], *vm2 = &vms[1], *vm5 = &vms[4];

	CU_ASSERT_EQUAL(add_chain(c, "c1", 2, h), 0);
	CU_ASSERT_EQUAL(add_chain(c, "c2", 2, rev), 0);
	CU_ASSERT_EQUAL(svc_catalog_chain_hops(c, "nope", vm1, vm2, hops, err, sizeof(err)),
			-ENOENT);
	/* in scope of both VMs, enabled for neither */
	CU_ASSERT_EQUAL(svc_catalog_chain_hops(c, "c1", vm1, vm2, hops, err, sizeof(err)), -EPERM);
	CU_ASSERT_STRING_EQUAL(err, "chain 'c1': profile 'h-ids' (hop 1) is not enabled for VM "
			       "'vm1' or VM 'vm2'");
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "h-ids", SVC_TARGET_VM, "vm2", err,
					   sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_chain_hops(c, "c1", vm1, vm2, hops, err, sizeof(err)), -EPERM);
	CU_ASSERT(strstr(err, "profile 'h-url' (hop 2)") != NULL);
	/* both enabled for the destination only: enough */
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "h-url", SVC_TARGET_VM, "vm2", err,
					   sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_chain_hops(c, "c1", vm1, vm2, hops, err, sizeof(err)), 2);
	CU_ASSERT_EQUAL(hops[0].profile, (unsigned)svc_catalog_profile(c, "h-ids"));
	CU_ASSERT_PTR_EQUAL(hops[0].service, svc_catalog_service(c, "ids"));
	CU_ASSERT_EQUAL(hops[1].profile, (unsigned)svc_catalog_profile(c, "h-url"));
	CU_ASSERT_PTR_EQUAL(hops[1].service, svc_catalog_service(c, "urlf"));
	/* and the other way round; the chain's own order is kept */
	CU_ASSERT_EQUAL(svc_catalog_chain_hops(c, "c2", vm2, vm1, hops, err, sizeof(err)), 2);
	CU_ASSERT_PTR_EQUAL(hops[0].service, svc_catalog_service(c, "urlf"));
	CU_ASSERT_PTR_EQUAL(hops[1].service, svc_catalog_service(c, "ids"));
	/* vm1 is in scope but not enabled, vm5 is neither */
	CU_ASSERT_EQUAL(svc_catalog_chain_hops(c, "c1", vm1, vm5, hops, err, sizeof(err)), -EPERM);
	CU_ASSERT(strstr(err, "profile 'h-ids' (hop 1) is not enabled for VM 'vm1' or VM 'vm5'")
		  != NULL);
	/* disabled again: refused again */
	CU_ASSERT_EQUAL(svc_catalog_disable(c, "h-url", SVC_TARGET_VM, "vm2", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_chain_hops(c, "c1", vm1, vm2, hops, err, sizeof(err)), -EPERM);
	svc_catalog_free(c);
}

/* Reads @path whole (NUL-terminated); its length in *@len. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	CU_ASSERT_EQUAL(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_chain_save_load(void)
{
	static const char *const h[] = { "h-ids", "h-url" };
	struct svc_catalog *c = chain_setup(), *d = svc_catalog_new();
	char path[128], *buf, *cut;
	size_t len;
	FILE *f;

	CU_ASSERT_EQUAL(add_chain(c, "c1", 2, h), 0);
	CU_ASSERT_EQUAL(add_chain(c, "c2", 1, h), 0);
	CU_ASSERT_EQUAL(add_chain(c, "c3", 1, h + 1), 0);
	CU_ASSERT_EQUAL(svc_catalog_chain_del(c, "c1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_enable(c, &env, "h-ids", SVC_TARGET_VM, "vm1", err,
					   sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(svc_catalog_save(c, dir, err, sizeof(err)), 0);
	if (svc_catalog_load(d, dir, err, sizeof(err)) != 0)
		fprintf(stderr, "load: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(d->n_chains, 2);
	CU_ASSERT_STRING_EQUAL(d->chains[0].name, "c2");
	CU_ASSERT_STRING_EQUAL(d->chains[1].name, "c3");
	CU_ASSERT_EQUAL(memcmp(d->chains[1].hops, c->chains[1].hops, sizeof(c->chains[1].hops)), 0);
	CU_ASSERT_EQUAL(d->chains[1].n_hops, 1);
	/* slots given again in file order */
	CU_ASSERT_EQUAL(chain_slot(c, "c2"), 1);
	CU_ASSERT_EQUAL(chain_slot(d, "c2"), 0);
	CU_ASSERT_EQUAL(chain_slot(d, "c3"), 1);
	CU_ASSERT_EQUAL(d->n_enables, 1);
	CU_ASSERT_EQUAL(d->n_profiles, 4);
	/* the file cut before its last chain (whole documents): refused */
	snprintf(path, sizeof(path), "%s/catalog.yaml", dir);
	buf = slurp(path, &len);
	cut = strstr(strstr(buf, "---\nchain:") + 1, "---\nchain:");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
	CU_ASSERT(strstr(buf, "chain:\n  name: c3\n  hops: [h-url]\n") == cut + 4);
	f = fopen(path, "wb");
	fwrite(buf, 1, (size_t)(cut - buf), f);
	fclose(f);
	CU_ASSERT_EQUAL(svc_catalog_chain_del(d, "c2", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(svc_catalog_load(d, dir, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "cut short") != NULL);
	CU_ASSERT_EQUAL(d->n_chains, 1);
	CU_ASSERT(svc_catalog_chain(d, "c3") >= 0);
	free(buf);
	svc_catalog_free(c);
	svc_catalog_free(d);
}

/* Endpoint keys out and vni, and builtin, survive the state file. */
static void test_out_vni_builtin_round_trip(void)
{
	struct svc_catalog *c = svc_catalog_new(), *d = svc_catalog_new();
	const struct svc_def *ids, *urlf, *lb;
	char path[128], *buf;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(svc_catalog_register(c, "t.yaml", APP EXT LB, err, sizeof(err)), 3);
	ids = svc_catalog_service(c, "ids")->def;
	urlf = svc_catalog_service(c, "urlf")->def;
	lb = svc_catalog_service(c, "lb")->def;
	CU_ASSERT_EQUAL(ids->endpoints[0].kind, SVC_EP_PORT);
	CU_ASSERT_STRING_EQUAL(ids->endpoints[0].port, "ids-in");
	CU_ASSERT_STRING_EQUAL(ids->endpoints[0].port_out, "ids-out");
	CU_ASSERT_STRING_EQUAL(ids->endpoints[1].port_out, "");
	CU_ASSERT_EQUAL(urlf->endpoints[0].kind, SVC_EP_IP);
	CU_ASSERT_EQUAL(urlf->endpoints[0].ip.v4, htonl(0xc6336409));
	CU_ASSERT_EQUAL(urlf->endpoints[0].vni, 5001);
	CU_ASSERT_EQUAL(urlf->endpoints[1].vni, 0);
	CU_ASSERT_EQUAL(lb->builtin, SVC_BUILTIN_LB);
	CU_ASSERT_EQUAL(lb->n_endpoints, 0);
	CU_ASSERT_EQUAL(ids->builtin, SVC_BUILTIN_NONE);
	CU_ASSERT_EQUAL_FATAL(svc_catalog_save(c, dir, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/catalog.yaml", dir);
	buf = slurp(path, &len);
	CU_ASSERT(strstr(buf, "- {port: ids-in, out: ids-out}") != NULL);
	CU_ASSERT(strstr(buf, "- {port: ids2}") != NULL);
	CU_ASSERT(strstr(buf, "- {ip: \"198.51.100.9\", vni: 5001}") != NULL);
	CU_ASSERT(strstr(buf, "- {ip: \"198.51.100.10\"}") != NULL);
	CU_ASSERT(strstr(buf, "builtin: load-balancer") != NULL);
	free(buf);
	if (svc_catalog_load(d, dir, err, sizeof(err)) != 0)
		fprintf(stderr, "load: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(d->n_services, 3);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(memcmp(d->services[i].def, c->services[i].def,
				       sizeof(struct svc_def)), 0);
	svc_catalog_free(c);
	svc_catalog_free(d);
}

static void test_out_vni_builtin_errors(void)
{
#define SVC_HEAD "service: {vendor: v, name: x, contact: c, insertion: "
	static const struct { const char *doc, *want; } cases[] = {
		{ SVC_HEAD "external, levels: [{name: l}], endpoints: [{ip: 198.51.100.9, out: x}]}\n",
		  "t.yaml:1:121: endpoint out: only a port endpoint has a return port" },
		{ SVC_HEAD "network, levels: [{name: l}], endpoints: [{port: a, vni: 5}]}\n",
		  "t.yaml:1:111: endpoint vni: only an ip endpoint is reached by a tunnel" },
		{ SVC_HEAD "external, levels: [{name: l}], endpoints: [{ip: 198.51.100.9, vni: 0}]}\n",
		  "t.yaml:1:121: endpoint vni: 0 is not a VNI (1-16777215)" },
		{ SVC_HEAD "external, levels: [{name: l}], endpoints: [{ip: 198.51.100.9, vni: 16777216}]}\n",
		  "t.yaml:1:121: endpoint vni: 16777216 is not a VNI (1-16777215)" },
		{ SVC_HEAD "external, levels: [{name: l}], endpoints: [{ip: 198.51.100.9, vni: -1}]}\n",
		  "t.yaml:1:121: endpoint vni: '-1' is not a number" },
		{ SVC_HEAD "external, levels: [{name: l}], endpoints: [{ip: \"2001:db8::1\", vni: 7}]}\n",
		  "t.yaml:1:102: endpoint ip: a tunnel endpoint must be IPv4" },
		{ SVC_HEAD "network, levels: [{name: l}], endpoints: [{port: a, out: 'b c'}]}\n",
		  "t.yaml:1:111: endpoint out: 'b c' is not a valid name" },
		{ SVC_HEAD "switch, builtin: load-balancer, levels: [{name: l}]}\n",
		  "t.yaml:1:71: service builtin: a load-balancer has insertion 'network'" },
		{ SVC_HEAD "network, builtin: dns, levels: [{name: l}]}\n",
		  "t.yaml:1:72: service builtin: 'dns' is not one of: load-balancer" },
		{ SVC_HEAD "network, builtin: load-balancer, levels: [{name: l}], endpoints: [{port: a}]}\n",
		  "t.yaml:1:119: service endpoints: the switch itself is a built-in service's endpoint" },
	};
#undef SVC_HEAD
	struct svc_catalog *c = svc_catalog_new();

	for (size_t i = 0; i < UNIT_DIM(cases); i++) {
		int rc = svc_catalog_register(c, "t.yaml", cases[i].doc, err, sizeof(err));

		if (rc >= 0 || strncmp(err, cases[i].want, strlen(cases[i].want)))
			fprintf(stderr, "case %zu: rc %d\n  got  %s\n  want %s\n", i, rc, err,
				cases[i].want);
		CU_ASSERT(rc < 0);
		CU_ASSERT_NSTRING_EQUAL(err, cases[i].want, strlen(cases[i].want));
		CU_ASSERT_EQUAL(c->n_services, 0);
	}
	svc_catalog_free(c);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* A chain in a file sorted before its hops' file is taken all the same. */
static void test_services_dir_with_chain(void)
{
	char sub[128], a[160], b[160];
	struct svc_catalog *c = svc_catalog_new();
	int rc;

	snprintf(sub, sizeof(sub), "%s/services", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
	snprintf(a, sizeof(a), "%s/a-chain.yaml", sub);
	snprintf(b, sizeof(b), "%s/b-ids.yaml", sub);
	write_text(a, "chain: {name: c1, hops: [h-ids]}\n");
	write_text(b, APP "---\nprofile: {name: h-ids, service: ids, level: l}\n");
	rc = svc_catalog_load_dir(c, sub, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT(svc_catalog_chain(c, "c1") >= 0);
	/* again: what is registered wins, nothing doubled */
	CU_ASSERT(svc_catalog_load_dir(c, sub, err, sizeof(err)) >= 0);
	CU_ASSERT_EQUAL(c->n_chains, 1);
	/* a hop nowhere: all files refused */
	svc_catalog_free(c);
	c = svc_catalog_new();
	write_text(a, "chain: {name: c1, hops: [h-ids, h-gone]}\n");
	CU_ASSERT_EQUAL(svc_catalog_load_dir(c, sub, err, sizeof(err)), -ENOENT);
	CU_ASSERT(strstr(err, "a-chain.yaml:1:1: chain 'c1': no profile 'h-gone'") != NULL);
	CU_ASSERT_EQUAL(c->n_services + c->n_profiles + c->n_chains, 0);
	unlink(a);
	unlink(b);
	rmdir(sub);
	svc_catalog_free(c);
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_svc.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int suite_clean(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/catalog.yaml", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "definition and profile parsed", test_definition_parsed },
		{ "every validation error at its position, nothing registered",
		  test_every_validation_error },
		{ "more than SVC_MAX_RULES rules refused", test_too_many_rules },
		{ "scope: vm, pool, vnet, tenant, host", test_scope_each_dimension },
		{ "enable outside scope refused, nothing changed", test_enable_outside_scope_refused },
		{ "enable inside scope, disable", test_enable_inside_scope },
		{ "unregister, delete refused while in use", test_in_use_refused },
		{ "rules for a VM in enable order", test_rules_for_vm_in_enable_order },
		{ "profile keeps its counter slot when another is deleted",
		  test_slot_kept_when_another_profile_deleted },
		{ "new profile takes the lowest free slot", test_lowest_free_slot_reused },
		{ "more than SVC_MAX_PROFILES profiles refused", test_profile_limit_refused },
		{ "configure a service's parameter", test_configure },
		{ "default=drop ends the rules with a drop of everything",
		  test_default_drop_appends_catch_all },
		{ "catalog save and load round trip", test_save_load_round_trip },
		{ "corrupt catalog refused, nothing changed", test_corrupt_catalog_refused },
		{ "built-in services directory", test_builtin_services_dir },
		{ "chain parsed, in the file of its hops", test_chain_parsed },
		{ "every chain validation error at its position, nothing registered",
		  test_chain_every_validation_error },
		{ "chain add refused: unknown, switch or built-in hop, repeated hop, hop count, "
		  "existing name", test_chain_add_errors },
		{ "chains keep their slots, new ones take the lowest free, at most SVC_MAX_CHAINS",
		  test_chain_slots },
		{ "profile delete refused while a hop of a chain", test_profile_in_chain_not_deleted },
		{ "chain hops need an enable for either VM, in chain order",
		  test_chain_hops_need_enable },
		{ "catalog save and load keeps chains, refuses a cut file", test_chain_save_load },
		{ "endpoint out, vni and builtin round trip", test_out_vni_builtin_round_trip },
		{ "endpoint out, vni and builtin errors at their position",
		  test_out_vni_builtin_errors },
		{ "services directory: chain before its hops' file", test_services_dir_with_chain },
	};
	const struct unit_suite suite = { "svc", tests, UNIT_DIM(tests), suite_init, suite_clean,
					  NULL, NULL };

	return unit_run(&suite, argc > 1 ? argv[1] : NULL);
}
