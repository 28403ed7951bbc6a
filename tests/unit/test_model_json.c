/* Unit tests of the model's JSON values in the policy service
 * (src/ctl/ctl_model_json.c, docs/policy.md "Key layout").
 *
 * The valid inputs are the values of the documentation's key table; every
 * rejection is checked for the words an operator needs to read in
 * `left_out` / `last_rejected`, and encode -> decode must give back what
 * was encoded (a switch offers its file's objects to etcd and reads them
 * back as etcd's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

#include "ctl_model_json.h"

enum kind { TENANT, VNET, GROUP, POLICY, ENDPOINT };

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);

	if (j == NULL)
		fprintf(stderr, "bad test JSON %s: %s\n", s, e.text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	return j;
}

/* Decode @text as @kind under @name; returns the decoder's answer. */
static int decode(enum kind kind, const char *name, const char *text, void *out,
		  char *err, size_t errlen)
{
	json_t *j = parse(text);
	int rc = -1;

	err[0] = '\0';
	switch (kind) {
	case TENANT: rc = ctl_json_to_tenant(name, j, out, err, errlen); break;
	case VNET: rc = ctl_json_to_vnet(name, j, out, err, errlen); break;
	case GROUP: rc = ctl_json_to_group(name, j, out, err, errlen); break;
	case POLICY: rc = ctl_json_to_policy(name, j, out, err, errlen); break;
	case ENDPOINT: rc = ctl_json_to_endpoint(j, out, err, errlen); break;
	}
	json_decref(j);
	return rc;
}

/* @text must be refused with -EINVAL and a message containing @needle. */
static void reject_at(int line, enum kind kind, const char *name, const char *text,
		      const char *needle)
{
	union {
		struct ctl_tenant t;
		struct ctl_vnet v;
		struct ctl_group g;
		struct ctl_policy p;
		struct ctl_endpoint e;
	} out;
	char err[CTL_ERR_MAX];
	int rc = decode(kind, name, text, &out, err, sizeof(err));

	if (rc != -EINVAL || strstr(err, needle) == NULL) {
		fprintf(stderr, "\n  line %d: %s -> rc %d, \"%s\" (wanted -EINVAL, \"%s\")\n",
			line, text, rc, err, needle);
		CU_FAIL("rejection");
	} else {
		CU_PASS("rejected");
	}
}
#define REJECT(kind, name, text, needle) reject_at(__LINE__, kind, name, text, needle)

static void accept_at(int line, enum kind kind, const char *name, const char *text, void *out)
{
	char err[CTL_ERR_MAX];
	int rc = decode(kind, name, text, out, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "\n  line %d: %s -> rc %d, \"%s\"\n", line, text, rc, err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}
#define ACCEPT(kind, name, text, out) accept_at(__LINE__, kind, name, text, out)

static struct ctl_ip ip(const char *s)
{
	struct ctl_ip a;

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL_FATAL(ctl_parse_ip(s, &a), 0);
	return a;
}

static bool ip_eq(const struct ctl_ip *a, const struct ctl_ip *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4 == b->v4;
	return a->family == 0 || memcmp(a->v6, b->v6, 16) == 0;
}

static bool prefix_is(const struct ctl_prefix *p, const char *addr, unsigned len)
{
	struct ctl_ip a = ip(addr);

	return p->len == len && ip_eq(&p->addr, &a);
}

static uint32_t v4(const char *s)
{
	return ip(s).v4;
}

/* ---- tenants, groups -------------------------------------------------- */

static void test_tenant_and_group_decode(void)
{
	struct ctl_tenant t;
	struct ctl_group g;

	ACCEPT(TENANT, "acme", "{}", &t);
	CU_ASSERT_STRING_EQUAL(t.name, "acme");
	CU_ASSERT_EQUAL(t.origin, CTL_FROM_SERVICE);
	ACCEPT(TENANT, "acme", "{\"description\":\"the first customer\"}", &t);
	ACCEPT(GROUP, "web", "{\"tenant\":\"acme\"}", &g);
	CU_ASSERT_STRING_EQUAL(g.name, "web");
	CU_ASSERT_STRING_EQUAL(g.tenant, "acme");
	CU_ASSERT_EQUAL(g.origin, CTL_FROM_SERVICE);
	ACCEPT(GROUP, "db", "{}", &g);
	CU_ASSERT_STRING_EQUAL(g.tenant, "");
}

static void test_tenant_and_group_rejects(void)
{
	REJECT(TENANT, "acme", "[]", "must be a JSON object");
	REJECT(TENANT, "acme", "\"acme\"", "must be a JSON object");
	REJECT(TENANT, "acme", "null", "must be a JSON object");
	REJECT(TENANT, "acme", "{\"vni\":100}", "unknown key 'vni'");
	REJECT(TENANT, "ac me", "{}", "not a valid name");
	REJECT(TENANT, "", "{}", "not a valid name");
	REJECT(TENANT, "0123456789012345678901234567890123", "{}", "not a valid name");
	REJECT(GROUP, "web", "{\"tenant\":\"ac/me\"}", "'tenant' must be a name");
	REJECT(GROUP, "web", "{\"tenant\":5}", "'tenant' must be a name");
	REJECT(GROUP, "web", "{\"members\":[\"a1\"]}", "unknown key 'members'");
	REJECT(GROUP, "we b", "{}", "not a valid name");
	REJECT(GROUP, "web", "1", "must be a JSON object");
}

/* ---- virtual networks --------------------------------------------------- */

static void test_vnet_decode_both_subnet_forms(void)
{
	struct ctl_vnet v;
	struct ctl_ip gw;

	ACCEPT(VNET, "blue", "{\"vni\":100,\"tenant\":\"acme\",\"subnets\":[\"10.0.0.0/24\","
	       "{\"prefix\":\"10.0.1.0/24\",\"gateway\":\"10.0.1.1\"}],\"flood\":false}", &v);
	CU_ASSERT_STRING_EQUAL(v.name, "blue");
	CU_ASSERT_EQUAL(v.vni, 100);
	CU_ASSERT_STRING_EQUAL(v.tenant, "acme");
	CU_ASSERT_FALSE(v.flood);
	CU_ASSERT_EQUAL(v.origin, CTL_FROM_SERVICE);
	CU_ASSERT_EQUAL_FATAL(v.n_subnets, 2);
	CU_ASSERT_TRUE(prefix_is(&v.subnets[0], "10.0.0.0", 24));
	CU_ASSERT_EQUAL(v.gateways[0].family, 0);
	CU_ASSERT_TRUE(prefix_is(&v.subnets[1], "10.0.1.0", 24));
	gw = ip("10.0.1.1");
	CU_ASSERT_TRUE(ip_eq(&v.gateways[1], &gw));

	ACCEPT(VNET, "green", "{\"vni\":16777215,\"flood\":true,\"subnets\":"
	       "[{\"prefix\":\"fd00:1::/64\",\"gateway\":\"fd00:1::1\"},"
	       "{\"prefix\":\"10.9.0.0/31\",\"gateway\":\"10.9.0.0\"},"
	       "{\"prefix\":\"10.8.0.0/16\"}]}", &v);
	CU_ASSERT_EQUAL(v.vni, 16777215);
	CU_ASSERT_TRUE(v.flood);
	CU_ASSERT_STRING_EQUAL(v.tenant, "");
	CU_ASSERT_EQUAL_FATAL(v.n_subnets, 3);
	CU_ASSERT_TRUE(prefix_is(&v.subnets[0], "fd00:1::", 64));
	gw = ip("fd00:1::1");
	CU_ASSERT_TRUE(ip_eq(&v.gateways[0], &gw));
	CU_ASSERT_EQUAL(v.gateways[1].family, AF_INET);       /* a /31 has no network address */
	CU_ASSERT_TRUE(prefix_is(&v.subnets[2], "10.8.0.0", 16));
	CU_ASSERT_EQUAL(v.gateways[2].family, 0);

	ACCEPT(VNET, "red", "{\"vni\":1}", &v);
	CU_ASSERT_EQUAL(v.vni, 1);
	CU_ASSERT_EQUAL(v.n_subnets, 0);
}

static void test_vnet_rejects(void)
{
	REJECT(VNET, "blue", "[100]", "must be a JSON object");
	REJECT(VNET, "blue", "{\"vni\":100,\"colour\":\"blue\"}", "unknown key 'colour'");
	REJECT(VNET, "bl ue", "{\"vni\":100}", "not a valid name");
	REJECT(VNET, "blue", "{\"vni\":100,\"tenant\":\"a b\"}", "'tenant' must be a name");
	REJECT(VNET, "blue", "{}", "'vni' must be an integer 1..16777215");
	REJECT(VNET, "blue", "{\"vni\":0}", "'vni' must be an integer 1..16777215");
	REJECT(VNET, "blue", "{\"vni\":-1}", "'vni' must be an integer 1..16777215");
	REJECT(VNET, "blue", "{\"vni\":16777216}", "'vni' must be an integer 1..16777215");
	REJECT(VNET, "blue", "{\"vni\":\"100\"}", "'vni' must be an integer");
	REJECT(VNET, "blue", "{\"vni\":100.0}", "'vni' must be an integer");
	REJECT(VNET, "blue", "{\"vni\":true}", "'vni' must be an integer");
	REJECT(VNET, "blue", "{\"vni\":100,\"flood\":\"yes\"}", "'flood' must be true or false");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":\"10.0.0.0/24\"}",
	       "'subnets' must be a list");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[\"1.0.0.0/8\",\"2.0.0.0/8\",\"3.0.0.0/8\","
	       "\"4.0.0.0/8\",\"5.0.0.0/8\",\"6.0.0.0/8\",\"7.0.0.0/8\",\"8.0.0.0/8\",\"9.0.0.0/8\"]}",
	       "at most 8 subnets");
	/* subnet shapes */
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[\"10.0.0.0\"]}", "subnet 1 must be \"CIDR\"");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[\"10.0.0.0/24\",\"10.0.1.0/33\"]}",
	       "subnet 2 must be \"CIDR\"");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[\"blue\"]}", "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[24]}", "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[[\"10.0.0.0/24\"]]}", "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"gateway\":\"10.0.0.1\"}]}",
	       "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gw\":\"10.0.0.1\"}]}", "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":\"10.0.0.1\",\"vlan\":3}]}", "subnet 1 must be");
	/* gateways */
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":\"router\"}]}", "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":\"10.0.0.1/24\"}]}", "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":167772161}]}", "subnet 1 must be");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":\"10.0.1.1\"}]}", "gateway 10.0.1.1 must be a host address inside");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":\"10.0.0.0\"}]}", "gateway 10.0.0.0 must be a host address");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":\"10.0.0.255\"}]}", "gateway 10.0.0.255 must be a host address");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"10.0.0.0/24\","
	       "\"gateway\":\"fd00::1\"}]}", "gateway fd00::1 must be a host address inside");
	REJECT(VNET, "blue", "{\"vni\":100,\"subnets\":[{\"prefix\":\"fd00::/64\","
	       "\"gateway\":\"fd01::1\"}]}", "gateway fd01::1 must be a host address inside");
}

/* ---- policies ------------------------------------------------------------ */

static void test_policy_decode_selectors_and_actions(void)
{
	struct ctl_policy p;

	ACCEPT(POLICY, "web-to-db", "{\"from\":{\"group\":\"web\"},\"to\":{\"vnet\":\"green\"},"
	       "\"action\":\"allow\",\"priority\":10,\"tenant\":\"acme\"}", &p);
	CU_ASSERT_STRING_EQUAL(p.name, "web-to-db");
	CU_ASSERT_EQUAL(p.from.kind, CTL_SEL_GROUP);
	CU_ASSERT_STRING_EQUAL(p.from.name, "web");
	CU_ASSERT_EQUAL(p.to.kind, CTL_SEL_VNET);
	CU_ASSERT_STRING_EQUAL(p.to.name, "green");
	CU_ASSERT_EQUAL(p.action, CTL_ACT_ALLOW);
	CU_ASSERT_EQUAL(p.priority, 10);
	CU_ASSERT_STRING_EQUAL(p.tenant, "acme");
	CU_ASSERT_STRING_EQUAL(p.chain, "");
	CU_ASSERT_EQUAL(p.origin, CTL_FROM_SERVICE);

	ACCEPT(POLICY, "a1-not-b2", "{\"from\":{\"vm\":\"a1\"},\"to\":{\"vm\":\"b2\"},"
	       "\"action\":\"deny\"}", &p);
	CU_ASSERT_EQUAL(p.from.kind, CTL_SEL_VM);
	CU_ASSERT_STRING_EQUAL(p.from.name, "a1");
	CU_ASSERT_EQUAL(p.to.kind, CTL_SEL_VM);
	CU_ASSERT_STRING_EQUAL(p.to.name, "b2");
	CU_ASSERT_EQUAL(p.action, CTL_ACT_DENY);
	CU_ASSERT_EQUAL(p.priority, 0);
	CU_ASSERT_STRING_EQUAL(p.tenant, "");

	ACCEPT(POLICY, "inspect", "{\"from\":\"any\",\"to\":{\"any\":true},\"action\":\"chain\","
	       "\"chain\":\"fw-ids\",\"priority\":-1000000}", &p);
	CU_ASSERT_EQUAL(p.from.kind, CTL_SEL_ANY);
	CU_ASSERT_STRING_EQUAL(p.from.name, "");
	CU_ASSERT_EQUAL(p.to.kind, CTL_SEL_ANY);
	CU_ASSERT_EQUAL(p.action, CTL_ACT_CHAIN);
	CU_ASSERT_STRING_EQUAL(p.chain, "fw-ids");
	CU_ASSERT_EQUAL(p.priority, -1000000);

	ACCEPT(POLICY, "top", "{\"from\":{\"vnet\":\"blue\"},\"to\":\"any\",\"action\":\"allow\","
	       "\"priority\":1000000,\"description\":\"highest\"}", &p);
	CU_ASSERT_EQUAL(p.priority, 1000000);
}

static void test_policy_naming_physical_things_rejected(void)
{
	static const char *const keys[] = {
		"tep", "host", "ip", "ips", "port", "mac", "nic", "address", "interface", "device",
	};
	char text[256];

	for (size_t i = 0; i < UNIT_DIM(keys); i++) {
		snprintf(text, sizeof(text), "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\","
			 "\"%s\":\"192.0.2.2\"}", keys[i]);
		REJECT(POLICY, "p", text, "physical");
		/* and inside a selector, alone or next to a logical name */
		snprintf(text, sizeof(text), "{\"from\":{\"%s\":\"x\"},\"to\":\"any\","
			 "\"action\":\"allow\"}", keys[i]);
		REJECT(POLICY, "p", text, "physical");
		snprintf(text, sizeof(text), "{\"from\":\"any\",\"to\":{\"vm\":\"a1\",\"%s\":1},"
			 "\"action\":\"allow\"}", keys[i]);
		REJECT(POLICY, "p", text, "physical");
	}
	/* a selector naming an address */
	REJECT(POLICY, "p", "{\"from\":{\"vm\":\"10.0.0.1\"},\"to\":\"any\",\"action\":\"allow\"}",
	       "physical");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":{\"group\":\"192.0.2.2\"},"
	       "\"action\":\"allow\"}", "physical");
	REJECT(POLICY, "p", "{\"from\":{\"vm\":\"02:00:00:00:0a:01\"},\"to\":\"any\","
	       "\"action\":\"allow\"}", "physical");
	REJECT(POLICY, "p", "{\"from\":{\"vnet\":\"fd00::1\"},\"to\":\"any\",\"action\":\"deny\"}",
	       "physical");
	REJECT(POLICY, "p", "{\"from\":\"10.0.0.1\",\"to\":\"any\",\"action\":\"deny\"}",
	       "physical");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"02:00:00:00:0A:01\",\"action\":\"deny\"}",
	       "physical");
}

static void test_policy_rejects(void)
{
	REJECT(POLICY, "p", "[]", "must be a JSON object");
	REJECT(POLICY, "p q", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\"}",
	       "not a valid name");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\",\"rule\":1}",
	       "unknown key 'rule'");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\","
	       "\"tenant\":\"\"}", "'tenant' must be a name");
	/* selectors */
	REJECT(POLICY, "p", "{\"to\":\"any\",\"action\":\"allow\"}", "'from' must be \"any\"");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"action\":\"allow\"}", "'to' must be \"any\"");
	REJECT(POLICY, "p", "{\"from\":\"all\",\"to\":\"any\",\"action\":\"allow\"}",
	       "'from' must be \"any\"");
	REJECT(POLICY, "p", "{\"from\":{},\"to\":\"any\",\"action\":\"allow\"}",
	       "'from' must be \"any\"");
	REJECT(POLICY, "p", "{\"from\":{\"vm\":\"a1\",\"group\":\"web\"},\"to\":\"any\","
	       "\"action\":\"allow\"}", "'from' must be \"any\"");
	REJECT(POLICY, "p", "{\"from\":{\"any\":false},\"to\":\"any\",\"action\":\"allow\"}",
	       "bad 'from' selector");
	REJECT(POLICY, "p", "{\"from\":{\"vm\":5},\"to\":\"any\",\"action\":\"allow\"}",
	       "bad 'from' selector");
	REJECT(POLICY, "p", "{\"from\":{\"tenant\":\"acme\"},\"to\":\"any\",\"action\":\"allow\"}",
	       "bad 'from' selector");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":{\"vm\":\"a 1\"},\"action\":\"allow\"}",
	       "vm 'a 1' is not a valid name");
	/* actions and chains */
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\"}",
	       "'action' must be allow, deny or chain");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"permit\"}",
	       "'action' must be allow, deny or chain");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"Allow\"}",
	       "'action' must be allow, deny or chain");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":1}",
	       "'action' must be allow, deny or chain");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"chain\"}",
	       "missing 'chain'");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"chain\","
	       "\"chain\":\"fw ids\"}", "'chain' must be a name");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\","
	       "\"chain\":\"fw\"}", "'chain' only goes with action chain");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"deny\","
	       "\"chain\":\"fw\"}", "'chain' only goes with action chain");
	/* priority bounds */
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\","
	       "\"priority\":1000001}", "'priority' must be an integer -1000000..1000000");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\","
	       "\"priority\":-1000001}", "'priority' must be an integer");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\","
	       "\"priority\":\"5\"}", "'priority' must be an integer");
	REJECT(POLICY, "p", "{\"from\":\"any\",\"to\":\"any\",\"action\":\"allow\","
	       "\"priority\":2.5}", "'priority' must be an integer");
}

/* ---- endpoints ------------------------------------------------------------ */

#define EP_DOC "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\"," \
	       "\"ips\":[\"10.0.0.1\"],\"groups\":[\"web\"],\"tep\":\"198.51.100.1\"}"

static void test_endpoint_decode(void)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
	struct ctl_endpoint e;
	struct ctl_ip a;

	ACCEPT(ENDPOINT, NULL, EP_DOC, &e);
	CU_ASSERT_STRING_EQUAL(e.name, "a1");
	CU_ASSERT_STRING_EQUAL(e.vnet, "blue");
	CU_ASSERT_EQUAL(memcmp(e.mac, mac, 6), 0);
	CU_ASSERT_EQUAL_FATAL(e.n_ips, 1);
	a = ip("10.0.0.1");
	CU_ASSERT_TRUE(ip_eq(&e.ips[0], &a));
	CU_ASSERT_EQUAL_FATAL(e.n_groups, 1);
	CU_ASSERT_STRING_EQUAL(e.groups[0], "web");
	CU_ASSERT_EQUAL(e.where, CTL_EP_REMOTE);
	CU_ASSERT_EQUAL(e.tep, htonl(0xc6336401));
	CU_ASSERT_EQUAL(e.origin, CTL_FROM_SERVICE);

	/* no ips, no groups, a v6 address, a MAC in upper case */
	ACCEPT(ENDPOINT, NULL, "{\"vm\":\"b2\",\"vnet\":\"green\",\"mac\":\"02:AB:00:00:0B:02\","
	       "\"tep\":\"198.51.100.2\"}", &e);
	CU_ASSERT_EQUAL(e.n_ips, 0);
	CU_ASSERT_EQUAL(e.n_groups, 0);
	CU_ASSERT_EQUAL(e.mac[1], 0xab);
	ACCEPT(ENDPOINT, NULL, "{\"vm\":\"c3\",\"vnet\":\"green\",\"mac\":\"02:00:00:00:0c:03\","
	       "\"ips\":[\"10.1.0.3\",\"fd00::3\",\"10.1.0.4\",\"fd00::4\"],"
	       "\"groups\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"],"
	       "\"tep\":\"198.51.100.3\"}", &e);
	CU_ASSERT_EQUAL_FATAL(e.n_ips, 4);
	a = ip("fd00::3");
	CU_ASSERT_TRUE(ip_eq(&e.ips[1], &a));
	CU_ASSERT_EQUAL_FATAL(e.n_groups, 8);
	CU_ASSERT_STRING_EQUAL(e.groups[7], "h");
}

static void test_endpoint_rejects(void)
{
	REJECT(ENDPOINT, NULL, "[]", "must be a JSON object");
	REJECT(ENDPOINT, NULL, "\"a1\"", "must be a JSON object");
	REJECT(ENDPOINT, NULL, "{\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\"}", "missing 'vm'");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a 1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\"}", "'vm' must be a name");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\"}", "missing 'vnet'");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\",\"port\":\"vhost1\"}", "unknown key 'port'");
	/* MACs */
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"tep\":\"198.51.100.1\"}",
	       "'mac' must be a unicast MAC");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"01:00:5e:00:00:01\","
	       "\"tep\":\"198.51.100.1\"}", "'mac' must be a unicast MAC");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"ff:ff:ff:ff:ff:ff\","
	       "\"tep\":\"198.51.100.1\"}", "'mac' must be a unicast MAC");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02-00-00-00-0a-01\","
	       "\"tep\":\"198.51.100.1\"}", "'mac' must be a unicast MAC");
	/* tunnel endpoint */
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\"}",
	       "'tep' must be an IPv4 address");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"2001:db8::1\"}", "'tep' must be an IPv4 address");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"host-b\"}", "'tep' must be an IPv4 address");
	/* lists */
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\",\"ips\":[\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\","
	       "\"10.0.0.4\",\"10.0.0.5\"]}", "'ips' must be a list of at most 4 addresses");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\",\"ips\":\"10.0.0.1\"}", "'ips' must be a list");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\",\"ips\":[\"10.0.0.256\"]}", "bad address in 'ips'");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\",\"groups\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
	       "\"h\",\"i\"]}", "'groups' must be a list of at most 8 names");
	REJECT(ENDPOINT, NULL, "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\","
	       "\"tep\":\"198.51.100.1\",\"groups\":[\"w b\"]}", "bad group name");
}

/* ---- encode -> decode ---------------------------------------------------- */

/* Encode with @enc, print, parse the text back (what etcd stores and a
 * peer reads) and decode it as @kind under @name. */
static void reencode(json_t *j, enum kind kind, const char *name, void *out)
{
	char *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	accept_at(__LINE__, kind, name, text, out);
	free(text);
}

static void test_vnet_round_trip_keeps_gateways(void)
{
	struct ctl_vnet v, back;

	ACCEPT(VNET, "blue", "{\"vni\":4242,\"tenant\":\"acme\",\"flood\":true,\"subnets\":"
	       "[\"10.0.0.0/24\",{\"prefix\":\"10.0.1.0/24\",\"gateway\":\"10.0.1.254\"},"
	       "{\"prefix\":\"fd00:0:0:1::/64\",\"gateway\":\"fd00:0:0:1::1\"},\"fd00:2::/48\"]}",
	       &v);
	reencode(ctl_vnet_to_json(&v), VNET, "blue", &back);
	CU_ASSERT_STRING_EQUAL(back.name, v.name);
	CU_ASSERT_EQUAL(back.vni, 4242);
	CU_ASSERT_STRING_EQUAL(back.tenant, "acme");
	CU_ASSERT_TRUE(back.flood);
	CU_ASSERT_EQUAL_FATAL(back.n_subnets, 4);
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(back.subnets[i].len, v.subnets[i].len);
		CU_ASSERT_TRUE(ip_eq(&back.subnets[i].addr, &v.subnets[i].addr));
		CU_ASSERT_TRUE(ip_eq(&back.gateways[i], &v.gateways[i]));
	}
	CU_ASSERT_EQUAL(back.gateways[1].family, AF_INET);
	CU_ASSERT_EQUAL(back.gateways[2].family, AF_INET6);
	CU_ASSERT_EQUAL(back.gateways[3].family, 0);

	ACCEPT(VNET, "plain", "{\"vni\":7}", &v);
	reencode(ctl_vnet_to_json(&v), VNET, "plain", &back);
	CU_ASSERT_EQUAL(back.vni, 7);
	CU_ASSERT_FALSE(back.flood);
	CU_ASSERT_STRING_EQUAL(back.tenant, "");
	CU_ASSERT_EQUAL(back.n_subnets, 0);
}

static void test_group_round_trip(void)
{
	struct ctl_group g = { .name = "web", .tenant = "acme" }, back;

	reencode(ctl_group_to_json(&g), GROUP, "web", &back);
	CU_ASSERT_STRING_EQUAL(back.name, "web");
	CU_ASSERT_STRING_EQUAL(back.tenant, "acme");
	g.tenant[0] = '\0';
	reencode(ctl_group_to_json(&g), GROUP, "web", &back);
	CU_ASSERT_STRING_EQUAL(back.tenant, "");
}

static void test_policy_round_trip(void)
{
	static const struct ctl_policy cases[] = {
		{ .name = "web-to-db", .tenant = "acme", .from = { CTL_SEL_GROUP, "web" },
		  .to = { CTL_SEL_GROUP, "db" }, .action = CTL_ACT_ALLOW, .priority = 10 },
		{ .name = "a1-not-b2", .from = { CTL_SEL_VM, "a1" }, .to = { CTL_SEL_VM, "b2" },
		  .action = CTL_ACT_DENY, .priority = -1000000 },
		{ .name = "inspect", .from = { CTL_SEL_VNET, "blue" }, .to = { CTL_SEL_ANY, "" },
		  .action = CTL_ACT_CHAIN, .chain = "fw-ids", .priority = 1000000 },
		{ .name = "open", .from = { CTL_SEL_ANY, "" }, .to = { CTL_SEL_VNET, "green" },
		  .action = CTL_ACT_ALLOW },
	};
	struct ctl_policy back;

	for (size_t i = 0; i < UNIT_DIM(cases); i++) {
		const struct ctl_policy *p = &cases[i];

		reencode(ctl_policy_to_json(p), POLICY, p->name, &back);
		CU_ASSERT_STRING_EQUAL(back.name, p->name);
		CU_ASSERT_STRING_EQUAL(back.tenant, p->tenant);
		CU_ASSERT_EQUAL(back.from.kind, p->from.kind);
		CU_ASSERT_STRING_EQUAL(back.from.name, p->from.name);
		CU_ASSERT_EQUAL(back.to.kind, p->to.kind);
		CU_ASSERT_STRING_EQUAL(back.to.name, p->to.name);
		CU_ASSERT_EQUAL(back.action, p->action);
		CU_ASSERT_STRING_EQUAL(back.chain, p->chain);
		CU_ASSERT_EQUAL(back.priority, p->priority);
	}
}

static void test_endpoint_round_trip_is_remote_at_tep(void)
{
	struct ctl_endpoint e = {
		.name = "a1", .mac = { 0x02, 0, 0, 0, 0x0a, 0xf1 }, .vnet = "blue",
		.where = CTL_EP_LOCAL, .port = "vhost1", .n_groups = 2, .groups = { "web", "db" },
	}, back;
	uint32_t tep = v4("198.51.100.7");

	e.ips[e.n_ips++] = ip("10.0.0.1");
	e.ips[e.n_ips++] = ip("fd00::a1");
	reencode(ctl_endpoint_to_json(&e, tep), ENDPOINT, NULL, &back);
	CU_ASSERT_STRING_EQUAL(back.name, "a1");
	CU_ASSERT_STRING_EQUAL(back.vnet, "blue");
	CU_ASSERT_EQUAL(memcmp(back.mac, e.mac, 6), 0);
	CU_ASSERT_EQUAL_FATAL(back.n_ips, 2);
	CU_ASSERT_TRUE(ip_eq(&back.ips[0], &e.ips[0]));
	CU_ASSERT_TRUE(ip_eq(&back.ips[1], &e.ips[1]));
	CU_ASSERT_EQUAL_FATAL(back.n_groups, 2);
	CU_ASSERT_STRING_EQUAL(back.groups[0], "web");
	CU_ASSERT_STRING_EQUAL(back.groups[1], "db");
	CU_ASSERT_EQUAL(back.where, CTL_EP_REMOTE);
	CU_ASSERT_EQUAL(back.tep, tep);
	CU_ASSERT_STRING_EQUAL(back.port, "");

	/* nothing optional */
	e.n_ips = 0;
	e.n_groups = 0;
	reencode(ctl_endpoint_to_json(&e, tep), ENDPOINT, NULL, &back);
	CU_ASSERT_EQUAL(back.n_ips, 0);
	CU_ASSERT_EQUAL(back.n_groups, 0);
	CU_ASSERT_EQUAL(back.tep, tep);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "tenant and group values decode", test_tenant_and_group_decode },
		{ "tenant and group: bad values refused", test_tenant_and_group_rejects },
		{ "vnet: both subnet forms, gateways, VNI bounds", test_vnet_decode_both_subnet_forms },
		{ "vnet: bad VNI, subnet, gateway refused", test_vnet_rejects },
		{ "policy: each selector kind, chain, priority bounds",
		  test_policy_decode_selectors_and_actions },
		{ "policy naming a physical thing refused", test_policy_naming_physical_things_rejected },
		{ "policy: bad selector, action, chain, priority refused", test_policy_rejects },
		{ "endpoint value decodes as remote at its tep", test_endpoint_decode },
		{ "endpoint: bad MAC, tep, lists refused", test_endpoint_rejects },
		{ "vnet encode/decode keeps subnets and gateways", test_vnet_round_trip_keeps_gateways },
		{ "group encode/decode", test_group_round_trip },
		{ "policy encode/decode", test_policy_round_trip },
		{ "endpoint encode/decode: same VM at the given tep",
		  test_endpoint_round_trip_is_remote_at_tep },
	};
	const struct unit_suite suite = { "model_json", tests, UNIT_DIM(tests), NULL, NULL,
					  NULL, NULL };

	return unit_run(&suite, argc > 1 ? argv[1] : NULL);
}
