/* Unit tests of in-switch service rules (src/services/svc_acl.c, the rte_acl
 * compiler and attachment) and of their stage in the datapath
 * (src/datapath/dp_services.c): what compiles, which rule a frame
 * matches, and what a VM then receives or gets to send.
 *
 * Topology (as test_datapath.c):
 *
 *   port 0  physical, 02:00:00:00:00:aa, 192.0.2.1/24
 *   port 1  vhost1, vm1 02:00:00:00:0a:01 10.0.0.1
 *   port 2  vhost2, vm2 02:00:00:00:0a:02 10.0.0.3
 *   port 3  vhost3, nothing bound: the mirror port
 *   remote  rem 02:00:00:00:0b:01 10.0.0.2 behind TEP 192.0.2.2 (tunnel 0)
 *   network "blue", VNI 100
 *
 * The teardown checks that every frame a test made was freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_ip.h>
#include <rte_rcu_qsbr.h>

#include "unit_main.h"
#include "dp.h"
#include "dp_test_env.h"
#include "dp_trace.h"
#include "svc_acl.h"

#define VNI 100
#define PHYS 0
#define VM1 1
#define VM2 2
#define MIRROR 3
#define T_REM 0

#define PHYS_MAC "02:00:00:00:00:aa"
#define NH_MAC   "02:00:00:00:00:bb"
#define LOCAL_TEP "192.0.2.1"
#define TEP1     "192.0.2.2"
#define VM1_MAC  "02:00:00:00:0a:01"
#define VM1_IP   "10.0.0.1"
#define VM2_MAC  "02:00:00:00:0a:02"
#define VM2_IP   "10.0.0.3"
#define REM_MAC  "02:00:00:00:0b:01"
#define REM_IP   "10.0.0.2"

#define ANY 0                    /* proto */
#define FW_PROFILE 5             /* the firewall's counter slot */

static unsigned pool_start;

/* ---- rules ---- */

/* A rule @dir @proto @src -> @dst (prefixes, NULL = any) to destination
 * ports @dlo..@dhi (0, 0 for a rule without ports) doing @act. */
static struct svc_acl_rule
rule(enum svc_dir dir, uint8_t proto, const char *src, const char *dst, uint16_t dlo,
     uint16_t dhi, enum svc_rule_action act)
{
	struct svc_acl_rule r;

	memset(&r, 0, sizeof(r));
	r.r.dir = dir;
	r.r.proto = proto;
	if (src != NULL)
		CU_ASSERT(ctl_parse_prefix(src, &r.r.src) == 0);
	if (dst != NULL)
		CU_ASSERT(ctl_parse_prefix(dst, &r.r.dst) == 0);
	r.r.sport_lo = 0;
	r.r.sport_hi = UINT16_MAX;
	r.r.dport_lo = dlo;
	r.r.dport_hi = dhi;
	if (dlo == 0 && dhi == 0)
		r.r.dport_hi = UINT16_MAX;
	r.r.action = act;
	r.profile = FW_PROFILE;
	return r;
}

static struct svc_acl *
build(const struct svc_acl_rule *rules, unsigned n)
{
	struct svc_acl *a = NULL;
	char err[256] = "";
	int ret = svc_acl_build(rules, n, "test", &a, err, sizeof(err));

	if (ret != 0)
		fprintf(stderr, "\n  svc_acl_build: %s (%d)\n", err, ret);
	CU_ASSERT_EQUAL(ret, 0);
	return a;
}

/* The firewall of the issue: ingress TCP/23 dropped, the rest passes. */
static struct svc_acl *
firewall(void)
{
	struct svc_acl_rule r = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 23, 23,
				     SVC_RULE_DROP);

	return build(&r, 1);
}

/* ---- frames ---- */

static void
tcp_frame(struct env_frame *f, const char *dmac, const char *smac, const char *sip,
	  const char *dip, uint16_t sport, uint16_t dport)
{
	env_eth(f, dmac, smac, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, IPPROTO_TCP);
	env_tcp(f, sport, dport);
	env_frame_done(f);
}

static void
udp_frame(struct env_frame *f, const char *sip, const char *dip, uint16_t sport,
	  uint16_t dport)
{
	env_eth(f, VM2_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, IPPROTO_UDP);
	env_udp(f, sport, dport);
	env_payload(f, 8);
	env_frame_done(f);
}

static void
icmp_frame(struct env_frame *f, const char *dmac, const char *smac, const char *sip,
	   const char *dip)
{
	env_eth(f, dmac, smac, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, IPPROTO_ICMP);
	env_icmp_echo(f, 8, 0x1234, 1);
	env_payload(f, 16);
	env_frame_done(f);
}

/* @inner as TEP1 sends it to us in VNI 100. */
static void
from_tep1(struct env_frame *f, const struct env_frame *inner)
{
	env_eth(f, PHYS_MAC, NH_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, TEP1, LOCAL_TEP, IPPROTO_UDP);
	env_udp(f, 51234, 4789);
	env_vxlan(f, 0x08, VNI);
	env_put(f, inner->b, inner->len);
	env_frame_done(f);
}

/* An mbuf of @f as the parse stage leaves it (EtherType, L3 offset). */
static struct rte_mbuf *
parsed(const struct env_frame *f)
{
	struct rte_mbuf *m = env_frame_mbuf(f);
	const uint8_t *b = f->b;

	CU_ASSERT_FATAL(m != NULL);
	dp_meta(m)->ether_type = (b[12] << 8) | b[13];
	dp_meta(m)->l3_off = 14;
	return m;
}

/* The rule @f matches in direction @dir, -1 for none. */
static int32_t
match(const struct svc_acl *a, enum svc_dir dir, const struct env_frame *f)
{
	struct rte_mbuf *m = parsed(f);
	int32_t idx = -2;

	svc_acl_classify(a, dir, &m, 1, &idx);
	rte_pktmbuf_free(m);
	return idx;
}

static int32_t
match_tcp(const struct svc_acl *a, enum svc_dir dir, const char *sip, const char *dip,
	  uint16_t dport)
{
	struct env_frame f;

	tcp_frame(&f, VM2_MAC, VM1_MAC, sip, dip, 40000, dport);
	return match(a, dir, &f);
}

/* ---- driving the datapath ---- */

static void
input(uint16_t port, const struct env_frame *f)
{
	struct rte_mbuf *m = env_frame_mbuf(f);

	CU_ASSERT_FATAL(m != NULL);
	dp_input(env_ctx, port, &m, 1);
	env_settle();
}

static bool
is_frame(const struct rte_mbuf *m, const struct env_frame *f)
{
	return env_mbuf_equal(m, f->b, f->len, 0, 0);
}

static uint64_t
drops_total(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		n += env_ctx->drops[i];
	return n;
}

/* True when @n service drops (and nothing else) were counted on @port. */
static bool
service_dropped(unsigned n, uint16_t port)
{
	bool ok = env_ctx->drops[DP_DROP_SERVICE_DROP] == n && drops_total() == n &&
		  env_ctx->port[port].drops == n;

	if (!ok)
		fprintf(stderr, "\n  expected %u service_drop on port %u: %" PRIu64
			" service_drop, %" PRIu64 " drops, %" PRIu64 " on the port\n", n, port,
			env_ctx->drops[DP_DROP_SERVICE_DROP], drops_total(),
			env_ctx->port[port].drops);
	return ok;
}

static void
counters(uint64_t out[DP_SVC_COUNT_MAX])
{
	dp_svc_counters(FW_PROFILE, out);
}

/* ---- fixture ---- */

static void
test_setup(void)
{
	struct dp_port *phys;

	env_ctx_reset();
	CU_ASSERT(env_tables_reset(1024) == 0);
	phys = env_port_add(PHYS, DP_PORT_PHYS, "uplink", PHYS_MAC);
	CU_ASSERT_FATAL(phys != NULL);
	env_port_underlay(phys, LOCAL_TEP, 24, 1500);
	CU_ASSERT(env_port_add(VM1, DP_PORT_VHOST, "vhost1", "02:00:00:00:01:01") != NULL);
	CU_ASSERT(env_port_add(VM2, DP_PORT_VHOST, "vhost2", "02:00:00:00:01:02") != NULL);
	CU_ASSERT(env_port_add(MIRROR, DP_PORT_VHOST, "vhost3", "02:00:00:00:01:03") != NULL);
	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm1", VM1_MAC, VM1_IP, VM1) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm2", VM2_MAC, VM2_IP, VM2) == 0);
	CU_ASSERT(env_ep_remote(VNI, "rem", REM_MAC, REM_IP, T_REM, TEP1) == 0);
	env_tunnel(T_REM, phys, TEP1, NH_MAC, true);
	pool_start = env_pool_in_use();
}

static void
test_teardown(void)
{
	svc_acl_ports_clear();
	pol_defer_drain();
	env_tx_clear();
	env_punt_drain();
	CU_ASSERT_EQUAL(env_pool_in_use(), pool_start);
	env_ports_clear();
}

/* ---- compiling ---- */

static void
expect_refused(const struct svc_acl_rule *r, unsigned n, int err_expected, const char *says)
{
	struct svc_acl *a = NULL;
	char err[256] = "";

	CU_ASSERT_EQUAL(svc_acl_build(r, n, "test", &a, err, sizeof(err)), err_expected);
	CU_ASSERT_PTR_NULL(a);
	if (strstr(err, says) == NULL) {
		fprintf(stderr, "\n  error '%s' does not say '%s'\n", err, says);
		CU_FAIL("error text");
	}
}

static void
test_bad_rules_refused_with_the_reason(void)
{
	static struct svc_acl_rule many[SVC_ACL_MAX_RULES + 1];
	struct svc_acl_rule r[2];

	for (unsigned i = 0; i < RTE_DIM(many); i++)
		many[i] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 23, 23, SVC_RULE_DROP);
	expect_refused(many, RTE_DIM(many), -E2BIG, "at most");

	r[0] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 22, 22, SVC_RULE_ALLOW);
	r[1] = rule(SVC_DIR_INGRESS, IPPROTO_ICMP, NULL, NULL, 0, 0, SVC_RULE_DROP);
	r[1].r.dport_lo = r[1].r.dport_hi = 23;
	expect_refused(r, 2, -EINVAL, "rule 2: ports need protocol tcp or udp");
	r[1] = rule(SVC_DIR_INGRESS, ANY, NULL, NULL, 23, 23, SVC_RULE_DROP);
	expect_refused(r, 2, -EINVAL, "rule 2: ports need");
	r[1] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 30, 20, SVC_RULE_DROP);
	expect_refused(r, 2, -EINVAL, "rule 2: port range");
	r[1] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, "2001:db8::/32", 0, 0, SVC_RULE_DROP);
	expect_refused(r, 2, -EINVAL, "rule 2: destination is not an IPv4 prefix");
	r[1] = rule(0, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_DROP);
	expect_refused(r, 2, -EINVAL, "direction");
	r[1] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_DROP);
	r[1].profile = SVC_MAX_PROFILES;
	expect_refused(r, 2, -EINVAL, "profile");
	r[1] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_MIRROR);
	r[1].target_port = DP_MAX_PORTS;
	expect_refused(r, 2, -EINVAL, "rule 2: target port out of range");
	r[1] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_REDIRECT);
	r[1].target_port = DP_MAX_PORTS;
	expect_refused(r, 2, -EINVAL, "rule 2: target port out of range");
	/* at the limit it compiles */
	svc_acl_free(build(many, SVC_ACL_MAX_RULES));
}

static void
test_no_rules_match_nothing(void)
{
	struct svc_acl *a = build(NULL, 0);
	struct env_frame f;

	CU_ASSERT_FATAL(a != NULL);
	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), -1);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_EGRESS, &f), -1);
	svc_acl_free(a);
	svc_acl_free(NULL);
}

/* ---- classifying ---- */

static void
test_prefixes_and_port_ranges(void)
{
	struct svc_acl_rule r[2] = {
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, "10.0.0.0/24", "10.0.1.5/32", 20, 25,
		     SVC_RULE_DROP),
		rule(SVC_DIR_INGRESS, IPPROTO_UDP, "172.16.0.0/12", NULL, 0, 0, SVC_RULE_ALLOW),
	};
	struct svc_acl *a;
	struct env_frame f;

	r[1].r.sport_lo = 1000;
	r[1].r.sport_hi = 1999;
	a = build(r, 2);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "10.0.0.7", "10.0.1.5", 23), 0);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "10.0.0.255", "10.0.1.5", 20), 0);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "10.0.0.7", "10.0.1.5", 25), 0);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "10.0.0.7", "10.0.1.5", 26), -1);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "10.0.0.7", "10.0.1.5", 19), -1);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "10.0.1.7", "10.0.1.5", 23), -1);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "10.0.0.7", "10.0.1.6", 23), -1);
	udp_frame(&f, "172.31.255.1", "10.0.0.1", 1000, 53);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), 1);
	udp_frame(&f, "172.16.0.1", "10.0.0.1", 1999, 53);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), 1);
	udp_frame(&f, "172.16.0.1", "10.0.0.1", 2000, 53);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), -1);
	udp_frame(&f, "172.32.0.1", "10.0.0.1", 1000, 53);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), -1);
	/* a UDP frame is not TCP */
	udp_frame(&f, "10.0.0.7", "10.0.1.5", 40000, 23);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), -1);
	svc_acl_free(a);
}

static void
test_icmp_and_any_protocol(void)
{
	struct svc_acl_rule r[2] = {
		rule(SVC_DIR_INGRESS, IPPROTO_ICMP, NULL, "10.0.0.3/32", 0, 0, SVC_RULE_ALLOW),
		rule(SVC_DIR_INGRESS, ANY, "10.0.0.0/8", NULL, 0, 0, SVC_RULE_DROP),
	};
	struct svc_acl *a = build(r, 2);
	struct env_frame f;

	CU_ASSERT_FATAL(a != NULL);
	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), 0);
	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, "10.0.0.4");
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), 1);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, VM1_IP, VM2_IP, 22), 1);
	udp_frame(&f, VM1_IP, VM2_IP, 1, 2);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), 1);
	/* GRE: neither TCP nor UDP, still "any protocol" */
	env_eth(&f, VM2_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, VM1_IP, VM2_IP, IPPROTO_GRE);
	env_payload(&f, 8);
	env_frame_done(&f);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), 1);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, "11.0.0.1", VM2_IP, 22), -1);
	svc_acl_free(a);
}

static void
test_first_matching_rule_wins(void)
{
	struct svc_acl_rule r[3] = {
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 22, 22, SVC_RULE_ALLOW),
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_DROP),
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 23, 23, SVC_RULE_MIRROR),
	};
	struct svc_acl *a = build(r, 3);

	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, VM1_IP, VM2_IP, 22), 0);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, VM1_IP, VM2_IP, 23), 1);
	svc_acl_free(a);
	/* order, not how specific a rule is, decides */
	r[0] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_DROP);
	r[1] = rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 22, 22, SVC_RULE_ALLOW);
	a = build(r, 2);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, VM1_IP, VM2_IP, 22), 0);
	svc_acl_free(a);
}

static void
test_directions_kept_apart(void)
{
	struct svc_acl_rule r[3] = {
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 23, 23, SVC_RULE_DROP),
		rule(SVC_DIR_EGRESS, IPPROTO_TCP, NULL, NULL, 25, 25, SVC_RULE_DROP),
		rule(SVC_DIR_BOTH, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_ALLOW),
	};
	struct svc_acl *a = build(r, 3);

	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, VM1_IP, VM2_IP, 23), 0);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_EGRESS, VM1_IP, VM2_IP, 23), 2);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_EGRESS, VM1_IP, VM2_IP, 25), 1);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_INGRESS, VM1_IP, VM2_IP, 25), 2);
	svc_acl_free(a);
	/* only one direction has rules: the other matches nothing */
	a = build(r, 1);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(match_tcp(a, SVC_DIR_EGRESS, VM1_IP, VM2_IP, 23), -1);
	svc_acl_free(a);
}

static void
test_non_ipv4_never_matches(void)
{
	struct svc_acl_rule r = rule(SVC_DIR_BOTH, ANY, NULL, NULL, 0, 0, SVC_RULE_DROP);
	struct svc_acl *a = build(&r, 1);
	struct env_frame f;

	CU_ASSERT_FATAL(a != NULL);
	env_eth(&f, VM2_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "2001:db8::1", "2001:db8::2", IPPROTO_TCP);
	env_tcp(&f, 40000, 23);
	env_frame_done(&f);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), -1);
	env_eth(&f, "ff:ff:ff:ff:ff:ff", VM1_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, 1, VM1_MAC, VM1_IP, NULL, VM2_IP);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_EGRESS, &f), -1);
	/* and an IPv4 frame does, with the same rules */
	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_EGRESS, &f), 0);
	svc_acl_free(a);
}

static void
test_ports_found_after_ip_options_and_never_read_past_the_frame(void)
{
	struct svc_acl_rule r[2] = {
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 23, 23, SVC_RULE_DROP),
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_ALLOW),
	};
	struct svc_acl *a = build(r, 2);
	static const uint8_t nop4[4] = { 1, 1, 1, 0 };   /* NOP NOP NOP EOL */
	struct env_frame f;
	struct env_guard g;
	struct rte_mbuf *m;
	int32_t idx;

	CU_ASSERT_FATAL(a != NULL);
	env_eth(&f, VM2_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, VM1_IP, VM2_IP, IPPROTO_TCP);
	env_put(&f, nop4, sizeof(nop4));
	f.b[f.l3] = 0x46;                                 /* IHL 6 */
	env_tcp(&f, 40000, 23);
	env_frame_done(&f);
	CU_ASSERT_EQUAL(match(a, SVC_DIR_INGRESS, &f), 0);
	/* cut inside the TCP ports: no ports, so only the port-less rule */
	for (uint16_t len = 14 + 24; len <= 14 + 24 + 3; len++) {
		m = env_mbuf(f.b, len);
		CU_ASSERT_FATAL(m != NULL);
		dp_meta(m)->ether_type = RTE_ETHER_TYPE_IPV4;
		dp_meta(m)->l3_off = 14;
		g = env_guard(m);
		svc_acl_classify(a, SVC_DIR_INGRESS, &m, 1, &idx);
		env_unguard(&g);
		CU_ASSERT_EQUAL(idx, 1);
		rte_pktmbuf_free(m);
	}
	/* shorter than an IPv4 header: not classified */
	m = env_mbuf(f.b, 14 + 19);
	CU_ASSERT_FATAL(m != NULL);
	dp_meta(m)->ether_type = RTE_ETHER_TYPE_IPV4;
	dp_meta(m)->l3_off = 14;
	g = env_guard(m);
	svc_acl_classify(a, SVC_DIR_INGRESS, &m, 1, &idx);
	env_unguard(&g);
	CU_ASSERT_EQUAL(idx, -1);
	rte_pktmbuf_free(m);
	svc_acl_free(a);
}

static void
test_burst_longer_than_one_chunk(void)
{
	struct svc_acl *a = firewall();
	struct rte_mbuf *pkts[70];
	int32_t idx[70];
	struct env_frame f;

	CU_ASSERT_FATAL(a != NULL);
	for (unsigned i = 0; i < RTE_DIM(pkts); i++) {
		if (i % 7 == 3)
			icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP);
		else
			tcp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 40000, i % 2 ? 23 : 22);
		pkts[i] = parsed(&f);
	}
	svc_acl_classify(a, SVC_DIR_INGRESS, pkts, RTE_DIM(pkts), idx);
	for (unsigned i = 0; i < RTE_DIM(pkts); i++)
		CU_ASSERT_EQUAL(idx[i], i % 7 != 3 && i % 2 ? 0 : -1);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(pkts));
	svc_acl_free(a);
}

/* ---- the datapath ---- */

static void
test_no_rules_leave_traffic_unchanged(void)
{
	struct env_frame f;
	uint64_t c[DP_SVC_COUNT_MAX];

	tcp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 40000, 23);
	input(VM1, &f);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &f));
	CU_ASSERT_EQUAL(drops_total(), 0);
	counters(c);
	CU_ASSERT(c[0] == 0 && c[1] == 0 && c[2] == 0);
}

/* Issue 5's firewall on vm2: TCP/23 dropped, TCP/22 and ICMP delivered. */
static void
test_firewall_drops_ingress_telnet_between_local_vms(void)
{
	struct env_frame f22, f23, ping;
	uint64_t c[DP_SVC_COUNT_MAX];

	svc_acl_port_set(VM2, firewall());
	tcp_frame(&f23, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 40000, 23);
	tcp_frame(&f22, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 40000, 22);
	icmp_frame(&ping, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP);
	input(VM1, &f23);
	CU_ASSERT(service_dropped(1, VM1));
	CU_ASSERT_EQUAL(env_tx_total(), 0);
	input(VM1, &f22);
	input(VM1, &ping);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 2);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &f22));
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 1), &ping));
	counters(c);
	CU_ASSERT_EQUAL(c[DP_SVC_DROPPED], 1);
	CU_ASSERT_EQUAL(c[DP_SVC_ALLOWED], 0);
	/* the rules are vm2's: vm1 still gets telnet */
	tcp_frame(&f23, VM1_MAC, VM2_MAC, VM2_IP, VM1_IP, 40000, 23);
	input(VM2, &f23);
	CU_ASSERT_EQUAL(env_tx_count(VM1), 1);
	/* removed: vm2 gets telnet again */
	svc_acl_port_set(VM2, NULL);
	tcp_frame(&f23, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 40000, 23);
	input(VM1, &f23);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 3);
	CU_ASSERT(service_dropped(1, VM1));
}

static void
test_firewall_drops_ingress_telnet_from_the_network(void)
{
	struct env_frame in, outer;

	svc_acl_port_set(VM2, firewall());
	tcp_frame(&in, VM2_MAC, REM_MAC, REM_IP, VM2_IP, 40000, 23);
	from_tep1(&outer, &in);
	input(PHYS, &outer);
	CU_ASSERT(service_dropped(1, PHYS));
	CU_ASSERT_EQUAL(env_tx_total(), 0);
	tcp_frame(&in, VM2_MAC, REM_MAC, REM_IP, VM2_IP, 40000, 22);
	from_tep1(&outer, &in);
	input(PHYS, &outer);
	icmp_frame(&in, VM2_MAC, REM_MAC, REM_IP, VM2_IP);
	from_tep1(&outer, &in);
	input(PHYS, &outer);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 2);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 1), &in));
	CU_ASSERT(service_dropped(1, PHYS));
}

static void
test_egress_drop_counted_and_other_traffic_sent(void)
{
	struct svc_acl_rule r[2] = {
		rule(SVC_DIR_EGRESS, IPPROTO_TCP, NULL, REM_IP "/32", 25, 25, SVC_RULE_DROP),
		rule(SVC_DIR_EGRESS, IPPROTO_TCP, NULL, NULL, 0, 0, SVC_RULE_ALLOW),
	};
	struct env_frame f;
	uint64_t c[DP_SVC_COUNT_MAX];

	svc_acl_port_set(VM1, build(r, 2));
	tcp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 40000, 25);
	input(VM1, &f);
	CU_ASSERT(service_dropped(1, VM1));
	CU_ASSERT_EQUAL(env_tx_total(), 0);
	/* no decision was asked for a dropped frame */
	CU_ASSERT_EQUAL(env_ctx->n_held, 0);
	tcp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 40000, 80);
	input(VM1, &f);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 1);
	/* ARP still answered: not IPv4, never matched */
	env_eth(&f, "ff:ff:ff:ff:ff:ff", VM1_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, 1, VM1_MAC, VM1_IP, NULL, REM_IP);
	input(VM1, &f);
	CU_ASSERT_EQUAL(env_tx_count(VM1), 1);
	counters(c);
	CU_ASSERT_EQUAL(c[DP_SVC_DROPPED], 1);
	CU_ASSERT_EQUAL(c[DP_SVC_ALLOWED], 1);
	CU_ASSERT(service_dropped(1, VM1));
}

/* The worker's cache lets a flow's frames skip the stages (vm_express.c):
 * not once the port has rules. */
static void
test_egress_rules_attached_after_a_flow_is_cached_apply_to_it(void)
{
	struct svc_acl_rule r = rule(SVC_DIR_EGRESS, IPPROTO_TCP, NULL, REM_IP "/32", 25, 25,
				     SVC_RULE_DROP);
	struct env_frame f;

	tcp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 40000, 25);
	input(VM1, &f);
	input(VM1, &f);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 2);   /* the second from the worker's cache */
	CU_ASSERT(env_ctx->emc.hits >= 1);
	svc_acl_port_set(VM1, build(&r, 1));
	input(VM1, &f);
	CU_ASSERT(service_dropped(1, VM1));
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 2);
}

static void
test_mirror_copy_on_target_port_and_original_goes_on(void)
{
	struct svc_acl_rule r = rule(SVC_DIR_EGRESS, IPPROTO_UDP, NULL, NULL, 53, 53,
				     SVC_RULE_MIRROR);
	struct env_frame f, other;
	uint64_t c[DP_SVC_COUNT_MAX];

	r.target_port = MIRROR;
	svc_acl_port_set(VM1, build(&r, 1));
	udp_frame(&f, VM1_IP, VM2_IP, 40000, 53);
	input(VM1, &f);
	CU_ASSERT_EQUAL(env_tx_count(MIRROR), 1);
	CU_ASSERT(is_frame(env_tx_pkt(MIRROR, 0), &f));
	CU_ASSERT_EQUAL(env_tx_count(VM2), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &f));
	CU_ASSERT(env_tx_pkt(VM2, 0) != env_tx_pkt(MIRROR, 0));
	udp_frame(&other, VM1_IP, VM2_IP, 40000, 54);
	input(VM1, &other);
	CU_ASSERT_EQUAL(env_tx_count(MIRROR), 1);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 2);
	CU_ASSERT_EQUAL(drops_total(), 0);
	counters(c);
	CU_ASSERT_EQUAL(c[DP_SVC_MIRRORED], 1);

	/* ingress mirror of what arrives from the network */
	env_tx_clear();
	r.r.dir = SVC_DIR_INGRESS;
	svc_acl_port_set(VM1, NULL);
	svc_acl_port_set(VM2, build(&r, 1));
	udp_frame(&other, REM_IP, VM2_IP, 40000, 53);
	memcpy(other.b, "\x02\x00\x00\x00\x0a\x02\x02\x00\x00\x00\x0b\x01", 12);
	from_tep1(&f, &other);
	input(PHYS, &f);
	CU_ASSERT_EQUAL(env_tx_count(MIRROR), 1);
	CU_ASSERT(is_frame(env_tx_pkt(MIRROR, 0), &other));
	CU_ASSERT_EQUAL(env_tx_count(VM2), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &other));
}

static void
test_redirect_sends_the_frame_to_the_target_port_instead(void)
{
	struct svc_acl_rule r = rule(SVC_DIR_EGRESS, IPPROTO_UDP, NULL, NULL, 53, 53,
				     SVC_RULE_REDIRECT);
	struct env_frame f, other;
	uint64_t c[DP_SVC_COUNT_MAX];

	r.target_port = MIRROR;
	svc_acl_port_set(VM1, build(&r, 1));
	udp_frame(&f, VM1_IP, VM2_IP, 40000, 53);
	input(VM1, &f);
	CU_ASSERT_EQUAL(env_tx_count(MIRROR), 1);
	CU_ASSERT(is_frame(env_tx_pkt(MIRROR, 0), &f));
	CU_ASSERT_EQUAL(env_tx_count(VM2), 0);
	udp_frame(&other, VM1_IP, VM2_IP, 40000, 54);
	input(VM1, &other);
	CU_ASSERT_EQUAL(env_tx_count(MIRROR), 1);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 1);
	CU_ASSERT_EQUAL(drops_total(), 0);
	counters(c);
	CU_ASSERT_EQUAL(c[DP_SVC_REDIRECTED], 1);
	CU_ASSERT_EQUAL(c[DP_SVC_MIRRORED], 0);
}

static void
test_mirror_without_mbufs_counted_and_original_delivered(void)
{
	struct svc_acl_rule r = rule(SVC_DIR_EGRESS, ANY, NULL, NULL, 0, 0, SVC_RULE_MIRROR);
	struct rte_mbuf *hoard[ENV_POOL_MBUFS];
	struct env_frame f;
	struct rte_mbuf *m;
	unsigned n = 0;

	r.target_port = MIRROR;
	svc_acl_port_set(VM1, build(&r, 1));
	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP);
	input(VM1, &f);   /* the decision is installed now */
	env_tx_clear();
	m = env_frame_mbuf(&f);
	CU_ASSERT_FATAL(m != NULL);
	while (n < RTE_DIM(hoard) && (hoard[n] = rte_pktmbuf_alloc(dp.pool)) != NULL)
		n++;
	dp_input(env_ctx, VM1, &m, 1);
	rte_pktmbuf_free_bulk(hoard, n);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_NO_MBUF], 1);
	CU_ASSERT_EQUAL(env_tx_count(MIRROR), 0);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 1);
}

static void
test_trace_says_which_rule_did_what(void)
{
	struct svc_acl_rule r[2] = {
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 22, 22, SVC_RULE_ALLOW),
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 23, 23, SVC_RULE_DROP),
	};
	const struct { uint16_t dport; bool acl; const char *says; } cases[] = {
		{ 23, true, "ingress on port vhost2: rule 2 (profile 5) matched: drop" },
		{ 22, true, "ingress on port vhost2: rule 1 (profile 5) matched: allow" },
		{ 80, true, "ingress on port vhost2: no rule matched: allow" },
		{ 23, false, "none enabled" },
	};

	for (unsigned i = 0; i < RTE_DIM(cases); i++) {
		struct dp_trace *t = dp_trace_new();
		struct env_frame f;
		unsigned found = 0;

		CU_ASSERT_FATAL(t != NULL);
		svc_acl_port_set(VM2, cases[i].acl ? build(r, 2) : NULL);
		tcp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 40000, cases[i].dport);
		CU_ASSERT(dp_trace_run(t, VM1, env_frame_mbuf(&f)) == 0);
		/* the decision; a drop is recorded after it under the same stage */
		for (unsigned s = 0; s < t->n_steps; s++)
			if (strcmp(t->steps[s].stage, "service insertion") == 0 &&
			    strncmp(t->steps[s].decision, "drop:", 5) != 0) {
				found++;
				if (strcmp(t->steps[s].decision, cases[i].says) != 0) {
					fprintf(stderr, "\n  got '%s'\n", t->steps[s].decision);
					CU_FAIL("trace text");
				}
			}
		CU_ASSERT_EQUAL(found, 1);
		CU_ASSERT_EQUAL(t->n_out, cases[i].dport == 23 && cases[i].acl ? 0 : 1);
		dp_trace_free(t);
	}
	CU_ASSERT_EQUAL(drops_total(), 0);   /* a trace moves no worker counter */
}

/* ---- replacing rules under running readers ---- */

struct reader {
	pthread_t th;
	struct rte_mbuf *pkts[4];
	atomic_bool stop;
	uint64_t rounds, drops_seen, bad;
};

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	int32_t idx[4];

	rte_rcu_qsbr_thread_register(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_online(pol_tables.rcu, 0);
	while (!atomic_load(&rd->stop)) {
		const struct svc_acl *a = svc_acl_port_get(VM2);

		if (a != NULL) {
			svc_acl_classify(a, SVC_DIR_INGRESS, rd->pkts, 4, idx);
			for (unsigned i = 0; i < 4; i++) {
				if (idx[i] >= (int32_t)a->n_rules)
					rd->bad++;
				else if (idx[i] >= 0 && a->rules[idx[i]].r.action == SVC_RULE_DROP)
					rd->drops_seen++;
			}
		}
		rd->rounds++;
		rte_rcu_qsbr_quiescent(pol_tables.rcu, 0);
	}
	rte_rcu_qsbr_thread_offline(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_unregister(pol_tables.rcu, 0);
	return NULL;
}

static void
test_rules_replaced_and_removed_while_workers_classify(void)
{
	struct svc_acl_rule r[3] = {
		rule(SVC_DIR_INGRESS, IPPROTO_TCP, NULL, NULL, 23, 23, SVC_RULE_DROP),
		rule(SVC_DIR_INGRESS, IPPROTO_ICMP, NULL, NULL, 0, 0, SVC_RULE_ALLOW),
		rule(SVC_DIR_BOTH, ANY, NULL, NULL, 0, 0, SVC_RULE_ALLOW),
	};
	struct reader rd;
	struct env_frame f;

	memset(&rd, 0, sizeof(rd));
	for (unsigned i = 0; i < 4; i++) {
		if (i == 3)
			icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP);
		else
			tcp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 40000, 22 + i);
		rd.pkts[i] = parsed(&f);
	}
	svc_acl_port_set(VM2, build(r, 3));
	CU_ASSERT_FATAL(pthread_create(&rd.th, NULL, reader_main, &rd) == 0);
	for (unsigned i = 0; i < 300; i++) {
		svc_acl_port_set(VM2, i % 5 == 4 ? NULL : build(r, 1 + i % 3));
		pol_tables_reclaim();
	}
	svc_acl_port_set(VM2, build(r, 3));
	while (rd.rounds < 1000)   /* let it run a while on the last rules */
		pol_tables_reclaim();
	atomic_store(&rd.stop, true);
	pthread_join(rd.th, NULL);
	CU_ASSERT_EQUAL(rd.bad, 0);
	CU_ASSERT(rd.drops_seen > 0);
	rte_pktmbuf_free_bulk(rd.pkts, 4);
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "build: bad rules refused with the reason", test_bad_rules_refused_with_the_reason },
		{ "build: no rules match nothing", test_no_rules_match_nothing },
		{ "classify: prefixes and port ranges", test_prefixes_and_port_ranges },
		{ "classify: ICMP and any protocol", test_icmp_and_any_protocol },
		{ "classify: first matching rule wins", test_first_matching_rule_wins },
		{ "classify: directions kept apart", test_directions_kept_apart },
		{ "classify: non-IPv4 never matches", test_non_ipv4_never_matches },
		{ "classify: IP options, truncated frames", test_ports_found_after_ip_options_and_never_read_past_the_frame },
		{ "classify: burst longer than one chunk", test_burst_longer_than_one_chunk },
		{ "datapath: no rules, traffic unchanged", test_no_rules_leave_traffic_unchanged },
		{ "datapath: firewall drops ingress telnet between local VMs", test_firewall_drops_ingress_telnet_between_local_vms },
		{ "datapath: firewall drops ingress telnet from the network", test_firewall_drops_ingress_telnet_from_the_network },
		{ "datapath: egress drop counted, other traffic sent", test_egress_drop_counted_and_other_traffic_sent },
		{ "datapath: egress rules attached after a flow is cached apply to it",
		  test_egress_rules_attached_after_a_flow_is_cached_apply_to_it },
		{ "datapath: mirror copy on target port, original goes on", test_mirror_copy_on_target_port_and_original_goes_on },
		{ "datapath: redirect sends the frame to the target port instead",
		  test_redirect_sends_the_frame_to_the_target_port_instead },
		{ "datapath: mirror without mbufs counted", test_mirror_without_mbufs_counted_and_original_delivered },
		{ "datapath: trace says which rule did what", test_trace_says_which_rule_did_what },
		{ "rcu: rules replaced and removed while workers classify", test_rules_replaced_and_removed_while_workers_classify },
	};
	const struct unit_suite suite = { "svc_acl", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, test_teardown };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_svc_acl: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
