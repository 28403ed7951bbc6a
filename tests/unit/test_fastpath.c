/* Unit tests of the datapath's burst shortcuts (src/datapath): what one
 * burst remembers from frame to frame must never leak into the next
 * frame when that frame differs.
 *
 *   vxlan_encap.c  outer headers are built once per run of frames with one
 *                  (tunnel, VNI, tag) and patched per frame (lengths,
 *                  source port, IPv4 checksum updated incrementally);
 *   dp_policy.c    keys are packed in registers and compared with the
 *                  previous frame's key;
 *   net_deliver.c  the last (VNI, MAC) looked up is remembered;
 *   dp_emc.h       each worker keeps decisions across bursts in its
 *                  exact-match cache;
 *   vm_express.c   a burst's ordinary frames whose decision is in that
 *                  cache are encapsulated in one pass; the first other
 *                  frame and all after it take the stages.
 *
 * Topology: port 0 physical 02:00:00:00:00:aa 192.0.2.1/24, next hop
 * 02:00:00:00:00:bb; port 1 vm1 (VNI 100, 10.0.0.1); port 2 vm2 (VNI 100,
 * 10.0.0.3); tunnel 0 toward 192.0.2.2, tunnel 1 toward 192.0.2.3.
 * Decisions are installed by hand where a test needs a VNI or a tag the
 * fixture's resolver would not give.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_main.h"
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp.h"
#include "dp_test_env.h"

#define VNI 100
#define PHYS 0
#define VM1 1
#define VM2 2

#define PHYS_MAC "02:00:00:00:00:aa"
#define NH_MAC   "02:00:00:00:00:bb"
#define LOCAL_TEP "192.0.2.1"
#define TEP1     "192.0.2.2"
#define TEP2     "192.0.2.3"
#define VM1_MAC  "02:00:00:00:0a:01"
#define VM1_IP   "10.0.0.1"
#define VM2_MAC  "02:00:00:00:0a:02"
#define VM2_IP   "10.0.0.3"
#define D1_MAC   "02:00:00:00:0d:01"
#define D2_MAC   "02:00:00:00:0d:02"
#define D3_MAC   "02:00:00:00:0d:03"
#define D4_MAC   "02:00:00:00:0d:04"
#define D5_MAC   "02:00:00:00:0d:05"

#define O_IP 14                  /* outer IPv4 header */
#define O_UDP 34
#define O_VX 42
#define O_INNER 50

static unsigned pool_start;

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
	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm1", VM1_MAC, VM1_IP, VM1) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm2", VM2_MAC, VM2_IP, VM2) == 0);
	env_tunnel(0, phys, TEP1, NH_MAC, true);
	env_tunnel(1, phys, TEP2, NH_MAC, true);
	pool_start = env_pool_in_use();
}

static void
test_teardown(void)
{
	env_tx_clear();
	pol_tables_reclaim();
	env_ports_clear();
	CU_ASSERT_EQUAL(env_pool_in_use(), pool_start);
}

/* A decision: frames from vm1 to @dst leave by @tunnel in @vni with @tag. */
static void
decide_remote(const char *dst, uint16_t tunnel, uint32_t vni, uint16_t tag)
{
	struct pol_decision d;
	struct rte_ether_addr s = env_mac(VM1_MAC), t = env_mac(dst);

	memset(&d, 0, sizeof(d));
	pol_flow_key_mac(&d.key, VNI, &s, &t);
	d.result = POL_RES_FORWARD;
	d.tunnel = tunnel;
	d.dst_vni = vni;
	d.tag = tag;
	d.src_port = VM1;
	d.action = CTL_ACT_ALLOW;
	CU_ASSERT_FATAL(pol_decision_install(&d) == 0);
}

/* UDP from vm1's port, source address @sip, to @dmac, @payload bytes of payload. */
static struct rte_mbuf *
from_vm1_ip(const char *dmac, const char *sip, size_t payload)
{
	struct env_frame f;

	memset(&f, 0, sizeof(f));
	env_eth(&f, dmac, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, sip, "10.0.0.9", IPPROTO_UDP);
	env_udp(&f, 1000, 2000);
	env_payload(&f, payload);
	env_frame_done(&f);
	return env_frame_mbuf(&f);
}

/* UDP from vm1 to @dmac, @payload bytes of payload. */
static struct rte_mbuf *
from_vm1(const char *dmac, size_t payload)
{
	return from_vm1_ip(dmac, VM1_IP, payload);
}

/* True when @m is a well-formed encapsulation by us of a frame of
 * @inner_len bytes to @dmac, toward @tep in @vni with @tag. */
static bool
is_encap(const struct rte_mbuf *m, const char *dmac, uint32_t inner_len, const char *tep,
	 uint32_t vni, uint16_t tag)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const void *)(p + O_IP);
	const struct rte_udp_hdr *udp = (const void *)(p + O_UDP);
	struct rte_ether_addr nh = env_mac(NH_MAC), us = env_mac(PHYS_MAC), d = env_mac(dmac);
	uint32_t src = env_ip4(LOCAL_TEP), dst = env_ip4(tep);
	const uint8_t vx[8] = { 0x08, 0, tag >> 8, tag & 0xff, vni >> 16, (vni >> 8) & 0xff,
				vni & 0xff, 0 };

	return m->pkt_len == inner_len + O_INNER && m->data_len == m->pkt_len &&
	       memcmp(p, &nh, 6) == 0 && memcmp(p + 6, &us, 6) == 0 &&
	       p[12] == 0x08 && p[13] == 0x00 &&
	       ip->version_ihl == 0x45 && ip->src_addr == src && ip->dst_addr == dst &&
	       rte_be_to_cpu_16(ip->total_length) == inner_len + O_INNER - O_IP &&
	       ip->fragment_offset == RTE_BE16(RTE_IPV4_HDR_DF_FLAG) && ip->time_to_live == 64 &&
	       ip->next_proto_id == IPPROTO_UDP && rte_ipv4_cksum(ip) == 0 &&
	       udp->dst_port == RTE_BE16(4789) && rte_be_to_cpu_16(udp->src_port) >= 49152 &&
	       rte_be_to_cpu_16(udp->dgram_len) == inner_len + O_INNER - O_UDP &&
	       udp->dgram_cksum == 0 && memcmp(p + O_VX, vx, sizeof(vx)) == 0 &&
	       memcmp(p + O_INNER, &d, 6) == 0;
}

static void
test_one_burst_to_several_tunnels_networks_and_tags_gets_each_its_own_outer_headers_cached_or_not(void)
{
	/* D1 and D3-D5 share tunnel 0: D4 differs from D1 only by its tag,
	 * D5 only by its VNI */
	static const struct { const char *dst; size_t payload; } in[] = {
		{ D1_MAC, 18 }, { D1_MAC, 300 }, { D2_MAC, 18 }, { D3_MAC, 40 },
		{ D3_MAC, 41 }, { D1_MAC, 18 }, { D4_MAC, 18 }, { D1_MAC, 18 },
		{ D5_MAC, 18 }, { D1_MAC, 19 }, { D2_MAC, 1000 }, { D1_MAC, 7 },
	};
	static const struct { const char *tep; uint32_t vni; uint16_t tag; } out[] = {
		[0] = { TEP1, VNI, 0 }, [1] = { TEP2, VNI, 0 }, [2] = { TEP1, 0xabcdef, 0x1234 },
		[3] = { TEP1, VNI, 0x55 }, [4] = { TEP1, 300, 0 },
	};
	struct rte_mbuf *burst[RTE_DIM(in)];
	uint32_t len[RTE_DIM(in)];
	uint64_t hits;

	decide_remote(D1_MAC, 0, out[0].vni, out[0].tag);
	decide_remote(D2_MAC, 1, out[1].vni, out[1].tag);
	decide_remote(D3_MAC, 0, out[2].vni, out[2].tag);
	decide_remote(D4_MAC, 0, out[3].vni, out[3].tag);
	decide_remote(D5_MAC, 0, out[4].vni, out[4].tag);
	/* first from the shared cache, then from the worker's, which keeps
	 * (tunnel, VNI, tag) in place of the decision */
	for (unsigned round = 0; round < 2; round++) {
		hits = env_ctx->emc.hits;
		for (unsigned i = 0; i < RTE_DIM(in); i++) {
			burst[i] = from_vm1(in[i].dst, in[i].payload);
			CU_ASSERT_FATAL(burst[i] != NULL);
			len[i] = burst[i]->pkt_len;
		}
		dp_input(env_ctx, VM1, burst, RTE_DIM(in));
		CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), RTE_DIM(in));
		for (unsigned i = 0; i < RTE_DIM(in); i++) {
			unsigned o = in[i].dst[16] - '1';   /* D1 -> 0, D2 -> 1, ... */

			CU_ASSERT(is_encap(env_tx_pkt(PHYS, i), in[i].dst, len[i], out[o].tep,
					   out[o].vni, out[o].tag));
		}
		env_tx_clear();
	}
	CU_ASSERT_EQUAL(env_ctx->emc.hits, hits + 10);   /* the second round: one per run of a key */
}

#define LEN_STEP (1376 / DP_BURST)   /* a full burst spans short to MTU-sized frames */

static void
test_outer_ipv4_checksum_is_right_for_every_frame_length(void)
{
	struct rte_mbuf *burst[DP_BURST];

	decide_remote(D1_MAC, 0, VNI, 0);
	for (unsigned i = 0; i < DP_BURST; i++) {
		burst[i] = from_vm1(D1_MAC, 1 + i * LEN_STEP);   /* up to ~1400 bytes of IPv4 */
		CU_ASSERT_FATAL(burst[i] != NULL);
	}
	dp_input(env_ctx, VM1, burst, DP_BURST);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), DP_BURST);
	for (unsigned i = 0; i < DP_BURST; i++) {
		const struct rte_mbuf *m = env_tx_pkt(PHYS, i);

		CU_ASSERT(is_encap(m, D1_MAC, m->pkt_len - O_INNER, TEP1, VNI, 0));
		CU_ASSERT_EQUAL(m->pkt_len, O_INNER + 14 + 20 + 8 + 1 + i * LEN_STEP);
	}
}

static void
test_miss_reports_the_control_planes_key_switched_and_routed(void)
{
	struct rte_ether_addr s = env_mac(VM1_MAC), d = env_mac(D1_MAC);
	struct pol_flow_key want[2];
	struct rte_mbuf *burst[2];
	struct dp_event ev[4];
	struct env_frame f;

	burst[0] = from_vm1(D1_MAC, 18);
	memset(&f, 0, sizeof(f));
	env_eth(&f, ENV_GW_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, VM1_IP, "10.9.8.7", IPPROTO_UDP);
	env_udp(&f, 1000, 2000);
	env_payload(&f, 18);
	env_frame_done(&f);
	burst[1] = env_frame_mbuf(&f);
	CU_ASSERT_FATAL(burst[0] != NULL && burst[1] != NULL);
	pol_flow_key_mac(&want[0], VNI, &s, &d);
	pol_flow_key_ip4(&want[1], VNI, &s, env_ip4("10.9.8.7"));

	dp_input(env_ctx, VM1, burst, 2);
	CU_ASSERT_EQUAL_FATAL(env_events_take(ev, RTE_DIM(ev)), 2);
	for (unsigned i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(ev[i].type, DP_EV_MISS);
		CU_ASSERT_EQUAL(ev[i].port, VM1);
		CU_ASSERT(memcmp(&ev[i].key, &want[i], sizeof(want[i])) == 0);
	}
	/* the held frames go once their decisions exist */
	decide_remote(D1_MAC, 1, VNI, 0);
	env_settle();
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 1);
	CU_ASSERT(is_encap(env_tx_pkt(PHYS, 0), D1_MAC, 14 + 20 + 8 + 18, TEP2, VNI, 0));
	dp_policy_held_free(env_ctx);
	while (env_events_take(ev, RTE_DIM(ev)) > 0)
		;
}

static void
test_alternating_destinations_in_one_burst_each_reach_their_own(void)
{
	const char *dst[] = { D1_MAC, D2_MAC, D1_MAC, D1_MAC, D2_MAC, D1_MAC };
	struct rte_mbuf *burst[RTE_DIM(dst)];

	decide_remote(D1_MAC, 0, VNI, 0);
	decide_remote(D2_MAC, 1, VNI, 0);
	for (unsigned i = 0; i < RTE_DIM(dst); i++) {
		burst[i] = from_vm1(dst[i], 18);
		CU_ASSERT_FATAL(burst[i] != NULL);
	}
	dp_input(env_ctx, VM1, burst, RTE_DIM(dst));
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), RTE_DIM(dst));
	for (unsigned i = 0; i < RTE_DIM(dst); i++)
		CU_ASSERT(is_encap(env_tx_pkt(PHYS, i), dst[i], 14 + 20 + 8 + 18,
				   strcmp(dst[i], D1_MAC) == 0 ? TEP1 : TEP2, VNI, 0));
}

/* VXLAN from TEP1 carrying a UDP frame to @dmac in @vni. */
static struct rte_mbuf *
from_tep1(const char *dmac, uint32_t vni)
{
	struct env_frame in, f;

	memset(&in, 0, sizeof(in));
	env_eth(&in, dmac, D1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&in, "10.0.0.2", VM1_IP, IPPROTO_UDP);
	env_udp(&in, 1000, 2000);
	env_payload(&in, 18);
	env_frame_done(&in);
	memset(&f, 0, sizeof(f));
	env_eth(&f, PHYS_MAC, NH_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, TEP1, LOCAL_TEP, IPPROTO_UDP);
	env_udp(&f, 50000, 4789);
	env_vxlan(&f, 0x08, vni);
	env_put(&f, in.b, in.len);
	env_frame_done(&f);
	return env_frame_mbuf(&f);
}

static void
test_decap_burst_alternating_vms_delivers_each_frame_to_its_own_vm(void)
{
	/* vm1's MAC in another network is not vm1; D1 is nobody here */
	static const struct { const char *mac; uint32_t vni; uint16_t port; } in[] = {
		{ VM1_MAC, VNI, VM1 }, { VM2_MAC, VNI, VM2 }, { VM2_MAC, VNI, VM2 },
		{ D1_MAC, VNI, 0 }, { VM1_MAC, VNI, VM1 }, { VM1_MAC, 200, 0 },
		{ VM1_MAC, VNI, VM1 }, { VM2_MAC, VNI, VM2 },
	};
	struct rte_mbuf *burst[RTE_DIM(in)];
	unsigned n[3] = { 0, 0, 0 };

	CU_ASSERT(env_vnet(200, "red", false) == 0);
	for (unsigned i = 0; i < RTE_DIM(in); i++) {
		burst[i] = from_tep1(in[i].mac, in[i].vni);
		CU_ASSERT_FATAL(burst[i] != NULL);
	}
	dp_input(env_ctx, PHYS, burst, RTE_DIM(in));
	for (unsigned i = 0; i < RTE_DIM(in); i++) {
		struct rte_ether_addr a = env_mac(in[i].mac);
		const struct rte_mbuf *m;

		if (in[i].port == 0)
			continue;
		m = env_tx_pkt(in[i].port, n[in[i].port]++);
		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT(m->pkt_len == 14 + 20 + 8 + 18 &&
			  memcmp(rte_pktmbuf_mtod(m, const void *), &a, 6) == 0);
	}
	CU_ASSERT_EQUAL(env_tx_count(VM1), 3);
	CU_ASSERT_EQUAL(env_tx_count(VM2), 3);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_DST_NOT_LOCAL], 2);
}

/* One frame from vm1 to @dst in a burst of its own; true when it left
 * encapsulated toward @tep. */
static bool
one_frame_goes_to(const char *dst, const char *tep)
{
	struct rte_mbuf *m = from_vm1(dst, 18);
	uint32_t len;
	bool ok;

	CU_ASSERT_FATAL(m != NULL);
	len = m->pkt_len;
	dp_input(env_ctx, VM1, &m, 1);
	ok = env_tx_count(PHYS) == 1 && is_encap(env_tx_pkt(PHYS, 0), dst, len, tep, VNI, 0);
	env_tx_clear();
	return ok;
}

static void
test_a_replaced_or_removed_decision_is_not_used_from_the_workers_cache(void)
{
	struct rte_ether_addr s = env_mac(VM1_MAC), d = env_mac(D1_MAC);
	struct pol_flow_key k;
	struct rte_mbuf *m;
	uint64_t hits;

	decide_remote(D1_MAC, 0, VNI, 0);
	CU_ASSERT(one_frame_goes_to(D1_MAC, TEP1));
	hits = env_ctx->emc.hits;
	CU_ASSERT(one_frame_goes_to(D1_MAC, TEP1));
	CU_ASSERT_EQUAL(env_ctx->emc.hits, hits + 1);   /* the second came from the cache */

	decide_remote(D1_MAC, 1, VNI, 0);               /* replaced: now toward TEP2 */
	CU_ASSERT(one_frame_goes_to(D1_MAC, TEP2));
	CU_ASSERT(one_frame_goes_to(D1_MAC, TEP2));

	pol_flow_key_mac(&k, VNI, &s, &d);
	CU_ASSERT_FATAL(pol_decision_remove(&k) == 0);
	m = from_vm1(D1_MAC, 18);
	CU_ASSERT_FATAL(m != NULL);
	dp_input(env_ctx, VM1, &m, 1);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 0);         /* a miss: held or dropped, never sent */
	dp_policy_held_free(env_ctx);
}

/* A destination MAC whose key from vm1 falls in the same slot of the
 * exact-match cache as @mac's. */
static void
same_slot_mac(const char *mac, char *out, size_t len)
{
	struct rte_ether_addr s = env_mac(VM1_MAC), d = env_mac(mac);
	struct pol_flow_key k;
	uint64_t w[3];
	uint32_t slot;

	pol_flow_key_mac(&k, VNI, &s, &d);
	memcpy(w, &k, sizeof(w));
	slot = pol_flow_key_hash(w) & (DP_EMC_ENTRIES - 1);
	for (unsigned i = 1; i < 1u << 24; i++) {
		snprintf(out, len, "02:00:00:%02x:%02x:%02x", i >> 16, (i >> 8) & 0xff, i & 0xff);
		d = env_mac(out);
		pol_flow_key_mac(&k, VNI, &s, &d);
		memcpy(w, &k, sizeof(w));
		if (strcmp(out, mac) != 0 && (pol_flow_key_hash(w) & (DP_EMC_ENTRIES - 1)) == slot)
			return;
	}
	CU_FAIL_FATAL("no MAC shares the slot");
}

static void
test_flows_sharing_a_slot_of_the_workers_cache_each_get_their_own_decision(void)
{
	char other[32];

	same_slot_mac(D1_MAC, other, sizeof(other));
	decide_remote(D1_MAC, 0, VNI, 0);
	decide_remote(other, 1, VNI, 0);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT(one_frame_goes_to(D1_MAC, TEP1));
		CU_ASSERT(one_frame_goes_to(other, TEP2));
	}
}

static void
test_flows_sharing_a_slot_of_the_workers_cache_both_stay_in_it(void)
{
	char other[32];
	uint64_t hits;

	same_slot_mac(D1_MAC, other, sizeof(other));
	decide_remote(D1_MAC, 0, VNI, 0);
	decide_remote(other, 1, VNI, 0);
	CU_ASSERT(one_frame_goes_to(D1_MAC, TEP1));     /* each taken from the shared cache once */
	CU_ASSERT(one_frame_goes_to(other, TEP2));
	hits = env_ctx->emc.hits;
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT(one_frame_goes_to(D1_MAC, TEP1));
		CU_ASSERT(one_frame_goes_to(other, TEP2));
	}
	CU_ASSERT_EQUAL(env_ctx->emc.hits, hits + 6);   /* not evicting each other */
}

/* TCP from vm1 to @dmac whose checksum vm1 left to the device. */
static struct rte_mbuf *
from_vm1_tcp_offloaded(const char *dmac)
{
	struct env_frame f;
	struct rte_mbuf *m;

	memset(&f, 0, sizeof(f));
	env_eth(&f, dmac, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, VM1_IP, "10.0.0.9", IPPROTO_TCP);
	env_tcp(&f, 40000, 80);
	env_payload(&f, 301);
	env_frame_done(&f);
	m = env_frame_mbuf(&f);
	if (m != NULL) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
		rte_pktmbuf_mtod(m, uint8_t *)[14 + 20 + 16] ^= 0x5a;   /* partial */
	}
	return m;
}

/* The same burst twice: first with the worker's cache empty (every frame
 * through the stages), then with it filled (the express path).  Both
 * times the same bytes leave and the same counters move. */
static void
test_the_express_path_sends_the_same_bytes_and_counts_as_the_stages(void)
{
	static const struct { const char *dst; size_t payload; } in[] = {
		{ D1_MAC, 18 }, { D1_MAC, 1400 }, { D2_MAC, 18 }, { D2_MAC, 0 }, { D1_MAC, 57 },
	};
	enum { N = RTE_DIM(in) + 1 };   /* and one TCP frame with its checksum offloaded */
	static uint8_t first[N][ENV_FRAME_MAX];
	uint32_t first_len[N];
	uint64_t rx_bytes[2], tx_bytes[2], misses[2];
	struct rte_mbuf *burst[N];

	decide_remote(D1_MAC, 0, VNI, 0);
	decide_remote(D2_MAC, 1, 0xabcdef, 0x1234);
	for (unsigned round = 0; round < 2; round++) {
		uint64_t rx0 = env_ctx->port[VM1].rx_bytes, tx0 = env_ctx->port[PHYS].tx_bytes;
		uint64_t miss0 = env_ctx->emc.misses;

		for (unsigned i = 0; i < RTE_DIM(in); i++)
			burst[i] = from_vm1(in[i].dst, in[i].payload);
		burst[N - 1] = from_vm1_tcp_offloaded(D1_MAC);
		for (unsigned i = 0; i < N; i++) {
			CU_ASSERT_FATAL(burst[i] != NULL);
			dp_meta(burst[i])->vni = 0;
		}
		dp_input(env_ctx, VM1, burst, N);
		CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), N);
		for (unsigned i = 0; i < N; i++) {
			const struct rte_mbuf *m = env_tx_pkt(PHYS, i);

			CU_ASSERT_FATAL(m->pkt_len <= ENV_FRAME_MAX && m->nb_segs == 1);
			if (round == 0) {
				memcpy(first[i], rte_pktmbuf_mtod(m, const void *), m->pkt_len);
				first_len[i] = m->pkt_len;
			} else {
				CU_ASSERT(env_mbuf_equal(m, first[i], first_len[i], 0, 0));
			}
			/* the stages note the destination's VNI in the metadata; the
			 * express path never writes it */
			CU_ASSERT_EQUAL(dp_meta((struct rte_mbuf *)m)->vni, round == 1 ? 0 :
					i < RTE_DIM(in) && strcmp(in[i].dst, D2_MAC) == 0 ?
					0xabcdef : VNI);
		}
		rx_bytes[round] = env_ctx->port[VM1].rx_bytes - rx0;
		tx_bytes[round] = env_ctx->port[PHYS].tx_bytes - tx0;
		misses[round] = env_ctx->emc.misses - miss0;
		env_tx_clear();
	}
	CU_ASSERT_EQUAL(rx_bytes[1], rx_bytes[0]);
	CU_ASSERT_EQUAL(tx_bytes[1], tx_bytes[0]);
	CU_ASSERT_EQUAL(misses[0], 3);   /* one per run of a key: D1, D2, D1 */
	CU_ASSERT_EQUAL(misses[1], 0);
	CU_ASSERT_EQUAL(env_ctx->port[VM1].rx_packets, 2 * N);
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].tx_packets, 2 * N);
}

/* A frame the express path does not take, after frames it took: it is
 * handled as it would be alone, and what is sent leaves in arrival order. */
static void
test_a_burst_mixing_ordinary_and_other_frames_leaves_in_arrival_order(void)
{
	enum { OK, SPOOFED, SPOOFED_MAC, TOO_BIG, NOT_CACHED, LOCAL, N_KINDS };
	const char *dst[] = { D1_MAC, D1_MAC, D1_MAC, D1_MAC };   /* [1]: the other frame */
	struct rte_mbuf *burst[RTE_DIM(dst)];
	uint32_t len[RTE_DIM(dst)];

	decide_remote(D1_MAC, 0, VNI, 0);
	decide_remote(D2_MAC, 1, VNI, 0);
	CU_ASSERT(one_frame_goes_to(D1_MAC, TEP1));   /* now in the worker's cache */
	burst[0] = from_vm1(VM2_MAC, 18);              /* vm2's decision too: local */
	CU_ASSERT_FATAL(burst[0] != NULL);
	dp_input(env_ctx, VM1, burst, 1);
	env_settle();
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM2), 1);
	env_tx_clear();
	for (int kind = SPOOFED; kind < N_KINDS; kind++) {
		uint64_t spoof = env_ctx->drops[DP_DROP_SPOOF_IP];
		uint64_t spoof_mac = env_ctx->drops[DP_DROP_SPOOF_MAC];
		uint64_t mtu = env_ctx->drops[DP_DROP_MTU_EXCEEDED];
		bool sent_other = kind == NOT_CACHED;   /* by the tunnel */
		unsigned j = 0;

		/* D2 is not in the worker's cache */
		dst[1] = kind == NOT_CACHED ? D2_MAC : kind == LOCAL ? VM2_MAC : D1_MAC;
		for (unsigned i = 0; i < RTE_DIM(dst); i++) {
			/* 1480 bytes of UDP payload: 1522 bytes inside, 1558 outside, over the MTU */
			burst[i] = i == 1 && kind == SPOOFED ? from_vm1_ip(dst[i], "10.0.0.66", 18) :
				   from_vm1(dst[i], i == 1 && kind == TOO_BIG ? 1480 : 18 + i);
			CU_ASSERT_FATAL(burst[i] != NULL);
			if (i == 1 && kind == SPOOFED_MAC)   /* the train's MACs but one source byte */
				rte_pktmbuf_mtod(burst[i], struct rte_ether_hdr *)->src_addr.addr_bytes[5] ^= 1;
			len[i] = burst[i]->pkt_len;
		}
		dp_input(env_ctx, VM1, burst, RTE_DIM(dst));
		CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), RTE_DIM(dst) - !sent_other);
		for (unsigned i = 0; i < RTE_DIM(dst); i++) {
			if (i == 1 && !sent_other)
				continue;
			CU_ASSERT(is_encap(env_tx_pkt(PHYS, j++), dst[i], len[i],
					   i == 1 && kind == NOT_CACHED ? TEP2 : TEP1, VNI, 0));
		}
		CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_SPOOF_IP] - spoof, kind == SPOOFED);
		CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_SPOOF_MAC] - spoof_mac, kind == SPOOFED_MAC);
		CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_MTU_EXCEEDED] - mtu, kind == TOO_BIG);
		/* ICMP fragmentation needed back to the VM */
		CU_ASSERT_EQUAL(env_tx_count(VM1), kind == TOO_BIG);
		CU_ASSERT_EQUAL(env_tx_count(VM2), kind == LOCAL);
		if (kind == LOCAL)
			CU_ASSERT_EQUAL(env_tx_pkt(VM2, 0)->pkt_len, len[1]);
		env_tx_clear();
	}
	CU_ASSERT_EQUAL(env_ctx->port[VM1].drops, 3);
	CU_ASSERT_EQUAL(env_ctx->port[VM1].rx_packets, 2 + (N_KINDS - SPOOFED) * RTE_DIM(dst));
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "one burst to several tunnels, networks and tags gets each its own outer headers, "
		  "cached or not",
		  test_one_burst_to_several_tunnels_networks_and_tags_gets_each_its_own_outer_headers_cached_or_not },
		{ "outer IPv4 checksum is right for every frame length",
		  test_outer_ipv4_checksum_is_right_for_every_frame_length },
		{ "a miss reports the control plane's key, switched and routed",
		  test_miss_reports_the_control_planes_key_switched_and_routed },
		{ "alternating destinations in one burst each reach their own",
		  test_alternating_destinations_in_one_burst_each_reach_their_own },
		{ "decap: a burst alternating VMs delivers each frame to its own VM",
		  test_decap_burst_alternating_vms_delivers_each_frame_to_its_own_vm },
		{ "a replaced or removed decision is not used from the worker's cache",
		  test_a_replaced_or_removed_decision_is_not_used_from_the_workers_cache },
		{ "flows sharing a slot of the worker's cache each get their own decision",
		  test_flows_sharing_a_slot_of_the_workers_cache_each_get_their_own_decision },
		{ "flows sharing a slot of the worker's cache both stay in it",
		  test_flows_sharing_a_slot_of_the_workers_cache_both_stay_in_it },
		{ "the express path sends the same bytes and counts as the stages",
		  test_the_express_path_sends_the_same_bytes_and_counts_as_the_stages },
		{ "a burst mixing ordinary and other frames leaves in arrival order",
		  test_a_burst_mixing_ordinary_and_other_frames_leaves_in_arrival_order },
	};
	const struct unit_suite suite = { "fastpath", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, test_teardown };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_fastpath: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
