/* Unit tests of service chain steering (src/datapath/dp_steer.c): a
 * chained frame visits each hop once, in order, tagged with the hop's
 * VLAN ID; what comes back from the wrong place or with a foreign tag is
 * dropped; after the last hop the frame reaches its destination with its
 * own MACs again.  Topology:
 *
 *   port 0  physical, 192.0.2.1/24; the external service 192.0.2.9 (tunnel 0)
 *   port 1  vhost, vm1 02:00:00:00:0a:01 10.0.0.1
 *   port 2  vhost, vm2 02:00:00:00:0a:02 10.0.0.2
 *   port 3  appliance "fw", one port both ways       hop tag 10, next 11
 *   port 4  appliance "ids" in, port 5 its out        hop tag 11, last
 *   reverse order (answers): tag 21 (ids, next 20), tag 20 (fw, last)
 *   external service: tag 30 over tunnel 0 in service VNI 5000
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_main.h"
#include <rte_ip.h>

#include "dp.h"
#include "dp_steer.h"
#include "dp_test_env.h"

#define VNI 100
#define SVC_VNI 5000
#define PHYS 0
#define VM1 1
#define VM2 2
#define FW 3
#define IDS_IN 4
#define IDS_OUT 5
#define PHYS_MAC "02:00:00:00:00:aa"
#define NH_MAC "02:00:00:00:00:bb"
#define LOCAL_TEP "192.0.2.1"
#define SVC_TEP "192.0.2.9"
#define VM1_MAC "02:00:00:00:0a:01"
#define VM2_MAC "02:00:00:00:0a:02"

static unsigned pool_start;

static void
hop(uint16_t id, uint8_t kind, uint8_t h, bool reverse, uint16_t to, uint16_t from,
    uint16_t next)
{
	struct dp_steer e = { .kind = kind, .reverse = reverse, .hop = h, .chain = 7,
			      .next = next, .to_port = to, .from_port = from,
			      .src_vni = VNI };

	if (kind == DP_STEER_TUNNEL) {
		e.tunnel = 0;
		e.tep = env_ip4(SVC_TEP);
		e.svc_vni = SVC_VNI;
	}
	CU_ASSERT(dp_steer_publish(id, &e) == 0);
}

/* The decision from @src to @dst goes through the hop tagged @steer. */
static void
chained(const char *src, const char *dst, uint16_t src_port, uint16_t steer)
{
	struct rte_ether_addr s = env_mac(src), d = env_mac(dst);
	struct pol_flow_key k;
	struct pol_decision dec;

	pol_flow_key_mac(&k, VNI, &s, &d);
	CU_ASSERT_FATAL(env_decide(&k, src_port, &dec) == 0);
	dec.action = CTL_ACT_CHAIN;
	dec.steer = steer;
	CU_ASSERT_FATAL(pol_decision_install(&dec) == 0);
}

static void
test_setup(void)
{
	struct dp_port *phys;

	env_ctx_reset();
	CU_ASSERT(env_tables_reset(1024) == 0);
	phys = env_port_add(PHYS, DP_PORT_PHYS, "uplink", PHYS_MAC);
	CU_ASSERT_FATAL(phys != NULL);
	env_port_underlay(phys, LOCAL_TEP, 24, 1500);
	CU_ASSERT(env_port_add(VM1, DP_PORT_VHOST, "vm1", "02:00:00:00:01:01") != NULL);
	CU_ASSERT(env_port_add(VM2, DP_PORT_VHOST, "vm2", "02:00:00:00:01:02") != NULL);
	CU_ASSERT(env_port_add(FW, DP_PORT_VHOST, "fw0", "02:00:00:00:01:03") != NULL);
	CU_ASSERT(env_port_add(IDS_IN, DP_PORT_VHOST, "idi", "02:00:00:00:01:04") != NULL);
	CU_ASSERT(env_port_add(IDS_OUT, DP_PORT_VHOST, "ido", "02:00:00:00:01:05") != NULL);
	for (uint16_t p = FW; p <= IDS_OUT; p++)
		dp_steer_set_port(p, true);
	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm1", VM1_MAC, "10.0.0.1", VM1) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm2", VM2_MAC, "10.0.0.2", VM2) == 0);
	env_tunnel(0, phys, SVC_TEP, NH_MAC, true);
	hop(10, DP_STEER_PORT, 0, false, FW, FW, 11);
	hop(11, DP_STEER_PORT, 1, false, IDS_IN, IDS_OUT, 0);
	hop(21, DP_STEER_PORT, 1, true, IDS_IN, IDS_OUT, 20);
	hop(20, DP_STEER_PORT, 0, true, FW, FW, 0);
	hop(30, DP_STEER_TUNNEL, 0, false, 0, 0, 0);
	chained(VM1_MAC, VM2_MAC, VM1, 10);
	chained(VM2_MAC, VM1_MAC, VM2, 21);
	pool_start = env_pool_in_use();
}

static void
test_teardown(void)
{
	env_tx_clear();
	for (uint16_t id = 1; id < DP_STEER_IDS; id++)
		if (dp_steer_get(id) != NULL)
			dp_steer_publish(id, NULL);
	for (uint16_t p = 0; p < DP_MAX_PORTS; p++)
		dp_steer_set_port(p, false);
	pol_tables_reclaim();
	env_ports_clear();
	CU_ASSERT_EQUAL(env_pool_in_use(), pool_start);
}

/* An ICMP echo between the VMs. */
static void
ping(struct env_frame *f, const char *dmac, const char *smac, const char *sip, const char *dip)
{
	env_eth(f, dmac, smac, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, IPPROTO_ICMP);
	env_icmp_echo(f, 8, 1, 1);
	env_payload(f, 32);
	env_frame_done(f);
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	CU_ASSERT_FATAL(m != NULL);
	dp_input(env_ctx, port, &m, 1);
	env_settle();
}

/* The only frame sent, on @port: its VLAN ID (-1 untagged); the frame is
 * copied into @out without the tag. */
static int
sent_on(uint16_t port, struct env_frame *out)
{
	struct rte_mbuf *m;
	const uint8_t *b;
	int vid = -1;

	CU_ASSERT_EQUAL_FATAL(env_tx_total(), 1);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(port), 1);
	m = env_tx_pkt(port, 0);
	b = rte_pktmbuf_mtod(m, const uint8_t *);
	memset(out, 0, sizeof(*out));
	if (b[12] == 0x81 && b[13] == 0x00) {
		vid = ((b[14] << 8) | b[15]) & 0xfff;
		memcpy(out->b, b, 12);
		memcpy(out->b + 12, b + 16, m->data_len - 16);
		out->len = m->data_len - 4;
	} else {
		memcpy(out->b, b, m->data_len);
		out->len = m->data_len;
	}
	env_tx_clear();
	return vid;
}

/* @f with VLAN tag @vid inserted after the MACs. */
static struct rte_mbuf *
tagged(const struct env_frame *f, uint16_t vid)
{
	struct env_frame t;

	memset(&t, 0, sizeof(t));
	memcpy(t.b, f->b, 12);
	t.b[12] = 0x81;
	t.b[13] = 0x00;
	t.b[14] = vid >> 8;
	t.b[15] = vid & 0xff;
	memcpy(t.b + 16, f->b + 12, f->len - 12);
	t.len = f->len + 4;
	return env_frame_mbuf(&t);
}

/* What an appliance in macswap mode does. */
static void
macswap(struct env_frame *f)
{
	uint8_t tmp[6];

	memcpy(tmp, f->b, 6);
	memcpy(f->b, f->b + 6, 6);
	memcpy(f->b + 6, tmp, 6);
}

static bool
dropped(enum dp_drop why, uint64_t n)
{
	if (env_ctx->drops[why] == n && env_tx_total() == 0)
		return true;
	fprintf(stderr, "\n  expected %" PRIu64 " x %s, got %" PRIu64 ", %u sent", n,
		dp_drop_name(why), env_ctx->drops[why], env_tx_total());
	return false;
}

static void
test_chained_frame_visits_each_hop_in_order_then_its_destination(void)
{
	struct env_frame orig, f;

	ping(&orig, VM2_MAC, VM1_MAC, "10.0.0.1", "10.0.0.2");
	input(VM1, env_frame_mbuf(&orig));
	CU_ASSERT_EQUAL(sent_on(FW, &f), 10);           /* hop 1, tagged */
	CU_ASSERT(memcmp(f.b, orig.b, orig.len) == 0 && f.len == orig.len);
	macswap(&f);
	input(FW, tagged(&f, 10));
	CU_ASSERT_EQUAL(sent_on(IDS_IN, &f), 11);       /* hop 2 */
	input(IDS_OUT, tagged(&f, 11));
	CU_ASSERT_EQUAL(sent_on(VM2, &f), -1);          /* delivered, own MACs back */
	CU_ASSERT(f.len == orig.len && memcmp(f.b, orig.b, orig.len) == 0);
	CU_ASSERT_EQUAL(env_ctx->hops[7][0][DP_HOP_SENT_FWD], 1);
	CU_ASSERT_EQUAL(env_ctx->hops[7][0][DP_HOP_BACK_FWD], 1);
	CU_ASSERT_EQUAL(env_ctx->hops[7][1][DP_HOP_SENT_FWD], 1);
	CU_ASSERT_EQUAL(env_ctx->hops[7][1][DP_HOP_BACK_FWD], 1);
}

static void
test_answers_visit_the_hops_in_reverse_order(void)
{
	struct env_frame f;

	ping(&f, VM1_MAC, VM2_MAC, "10.0.0.2", "10.0.0.1");
	input(VM2, env_frame_mbuf(&f));
	CU_ASSERT_EQUAL(sent_on(IDS_IN, &f), 21);
	input(IDS_OUT, tagged(&f, 21));
	CU_ASSERT_EQUAL(sent_on(FW, &f), 20);
	input(FW, tagged(&f, 20));
	CU_ASSERT_EQUAL(sent_on(VM1, &f), -1);
	CU_ASSERT_EQUAL(env_ctx->hops[7][1][DP_HOP_SENT_REV], 1);
	CU_ASSERT_EQUAL(env_ctx->hops[7][0][DP_HOP_BACK_REV], 1);
	CU_ASSERT_EQUAL(env_ctx->hops[7][0][DP_HOP_SENT_FWD], 0);
}

static void
test_appliance_cannot_skip_a_hop_or_use_a_foreign_tag(void)
{
	struct env_frame f;

	ping(&f, VM2_MAC, VM1_MAC, "10.0.0.1", "10.0.0.2");
	input(IDS_OUT, tagged(&f, 10));      /* fw's tag, from ids' port */
	CU_ASSERT(dropped(DP_DROP_CHAIN_BAD_RETURN, 1));
	input(FW, tagged(&f, 11));           /* ids' tag, from fw's port */
	CU_ASSERT(dropped(DP_DROP_CHAIN_BAD_RETURN, 2));
	input(FW, env_frame_mbuf(&f));       /* untagged */
	CU_ASSERT(dropped(DP_DROP_CHAIN_BAD_RETURN, 3));
	input(FW, tagged(&f, 99));           /* no such hop */
	CU_ASSERT(dropped(DP_DROP_CHAIN_BAD_RETURN, 4));
	input(IDS_IN, tagged(&f, 11));       /* ids answers on its out port only */
	CU_ASSERT(dropped(DP_DROP_CHAIN_BAD_RETURN, 5));
	input(FW, tagged(&f, 30));           /* an external hop's tag */
	CU_ASSERT(dropped(DP_DROP_CHAIN_BAD_RETURN, 6));
}

static void
test_last_hop_answer_with_unknown_source_dropped(void)
{
	struct env_frame f;

	ping(&f, VM2_MAC, VM1_MAC, "10.0.0.9", "10.0.0.2");
	input(IDS_OUT, tagged(&f, 11));
	CU_ASSERT(dropped(DP_DROP_CHAIN_BAD_RETURN, 1));
}

static void
test_chained_non_ipv4_and_unset_hop_fail_closed(void)
{
	struct env_frame f;

	env_eth(&f, VM2_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "fe80::1", "fe80::2", IPPROTO_UDP);
	env_udp(&f, 1, 2);
	env_frame_done(&f);
	input(VM1, env_frame_mbuf(&f));
	CU_ASSERT(dropped(DP_DROP_CHAIN_NOT_IP4, 1));
	dp_steer_publish(10, NULL);
	pol_tables_reclaim();
	ping(&f, VM2_MAC, VM1_MAC, "10.0.0.1", "10.0.0.2");
	input(VM1, env_frame_mbuf(&f));
	CU_ASSERT(dropped(DP_DROP_CHAIN_DOWN, 1));
}

static void
test_external_service_gets_the_frame_in_its_vni_and_its_answer_is_delivered(void)
{
	struct env_frame orig, out, back, inner;
	uint32_t tep = env_ip4(SVC_TEP);
	struct rte_mbuf *m;
	const uint8_t *b;

	chained(VM1_MAC, VM2_MAC, VM1, 30);
	ping(&orig, VM2_MAC, VM1_MAC, "10.0.0.1", "10.0.0.2");
	input(VM1, env_frame_mbuf(&orig));
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 1);
	m = env_tx_pkt(PHYS, 0);
	b = rte_pktmbuf_mtod(m, const uint8_t *);
	/* VXLAN to the service in VNI 5000, the inner frame tagged 30 */
	CU_ASSERT(memcmp(b + 30, &tep, 4) == 0);
	CU_ASSERT_EQUAL(((b[46] << 16) | (b[47] << 8) | b[48]), SVC_VNI);
	CU_ASSERT_EQUAL(((b[64] << 8) | b[65]) & 0xfff, 30);
	memset(&inner, 0, sizeof(inner));
	memcpy(inner.b, b + 50, m->data_len - 50);
	inner.len = m->data_len - 50;
	env_tx_clear();
	/* the service sends it back as it came */
	env_eth(&back, PHYS_MAC, NH_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&back, SVC_TEP, LOCAL_TEP, IPPROTO_UDP);
	env_udp(&back, 40000, 4789);
	env_vxlan(&back, 0x08, SVC_VNI);
	env_put(&back, inner.b, inner.len);
	env_frame_done(&back);
	input(PHYS, env_frame_mbuf(&back));
	CU_ASSERT_EQUAL(sent_on(VM2, &out), -1);
	CU_ASSERT(out.len == orig.len && memcmp(out.b, orig.b, orig.len) == 0);
	/* the same answer in another VNI is nobody's */
	back.len = 0;
	env_eth(&back, PHYS_MAC, NH_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&back, SVC_TEP, LOCAL_TEP, IPPROTO_UDP);
	env_udp(&back, 40000, 4789);
	env_vxlan(&back, 0x08, SVC_VNI + 1);
	env_put(&back, inner.b, inner.len);
	env_frame_done(&back);
	input(PHYS, env_frame_mbuf(&back));
	CU_ASSERT(dropped(DP_DROP_UNKNOWN_VNI, 1));
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "chained frame visits each hop in order, then its destination",
		  test_chained_frame_visits_each_hop_in_order_then_its_destination },
		{ "answers visit the hops in reverse order", test_answers_visit_the_hops_in_reverse_order },
		{ "appliance cannot skip a hop or use a foreign tag",
		  test_appliance_cannot_skip_a_hop_or_use_a_foreign_tag },
		{ "last hop answer with unknown source dropped",
		  test_last_hop_answer_with_unknown_source_dropped },
		{ "chained non-IPv4 and unset hop fail closed",
		  test_chained_non_ipv4_and_unset_hop_fail_closed },
		{ "external service gets the frame in its VNI and its answer is delivered",
		  test_external_service_gets_the_frame_in_its_vni_and_its_answer_is_delivered },
	};
	const struct unit_suite suite = { "steer", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, test_teardown };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_steer: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
