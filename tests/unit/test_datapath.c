/* Unit tests of the datapath stages (src/datapath): what leaves which
 * port, byte for byte, and which drop counter moved.
 *
 * Frames go through dp_input() exactly as a worker runs it (every stage
 * of the port's input path, then tx flush) on fake ports whose tx is
 * captured (dp_test_env.c); a few checks call single stages.  Frames
 * from VMs need decisions: input() lets the fixture's resolver answer
 * the misses and the worker retry its held frames, as the switch does;
 * the policy tests drive those steps one by one.  The topology of every
 * test:
 *
 *   port 0  physical, 02:00:00:00:00:aa, 192.0.2.1/24, MTU 1500,
 *           next hop 02:00:00:00:00:bb
 *   port 1  vhost, vm1 02:00:00:00:0a:01 10.0.0.1
 *   port 2  vhost, vm2 02:00:00:00:0a:02 10.0.0.3
 *   port 3  vhost, nothing bound (the flood tests bind vm3 here)
 *   remote  rem 02:00:00:00:0b:01 10.0.0.2 behind TEP 192.0.2.2 (tunnel 0)
 *   network "blue", VNI 100, no flooding unless a test turns it on
 *
 * Reference frames were written by scapy 2.5 (see each array's comment).
 * The teardown checks that every frame a test made was freed.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_main.h"
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_test_env.h"

#define VNI 100
#define PHYS 0
#define VM1 1
#define VM2 2
#define VM3 3
#define T_REM 0                 /* tunnel toward TEP1 */
#define T_FAR 1                 /* tunnel toward TEP2 (flood tests) */

#define PHYS_MAC "02:00:00:00:00:aa"
#define NH_MAC   "02:00:00:00:00:bb"
#define LOCAL_TEP "192.0.2.1"
#define TEP1     "192.0.2.2"
#define TEP2     "192.0.2.3"
#define VM1_MAC  "02:00:00:00:0a:01"
#define VM1_IP   "10.0.0.1"
#define VM2_MAC  "02:00:00:00:0a:02"
#define VM2_IP   "10.0.0.3"
#define VM3_MAC  "02:00:00:00:0a:03"
#define VM3_IP   "10.0.0.6"
#define REM_MAC  "02:00:00:00:0b:01"
#define REM_IP   "10.0.0.2"
#define BCAST    "ff:ff:ff:ff:ff:ff"
#define NOBODY_MAC "02:00:00:00:0f:0f"

#define OUTER_SPORT_OFF 34      /* UDP source port in an encapsulated frame */

/* Ether(dst=02:00:00:00:0b:01, src=02:00:00:00:0a:01)/IP(10.0.0.1 > 10.0.0.2, id=0, DF, ttl=64)/ICMP(echo-request, id=0x1234, seq=1)/32 bytes 'a'..'z','a'.. */
static const uint8_t echo_inner[74] = {
	0x02, 0x00, 0x00, 0x00, 0x0b, 0x01, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01,
	0x26, 0xbf, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00,
	0x2d, 0x02, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
	0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
	0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66,
};
/* Ether(02:00:00:00:00:bb < 02:00:00:00:00:aa)/IP(192.0.2.1 > 192.0.2.2, id=0, DF, ttl=64)/UDP(sport=49152 (masked), dport=4789, chksum=0)/VXLAN(flags=0x08, vni=100)/echo_inner */
static const uint8_t echo_vxlan[124] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xbb, 0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x6e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	0xb6, 0x7b, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
	0x12, 0xb5, 0x00, 0x5a, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x64, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x01, 0x02, 0x00, 0x00, 0x00,
	0x0a, 0x01, 0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00,
	0x40, 0x01, 0x26, 0xbf, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
	0x08, 0x00, 0x2d, 0x02, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
	0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x61, 0x62,
	0x63, 0x64, 0x65, 0x66,
};
/* the echo reply: Ether(dst=02:00:00:00:0a:01, src=02:00:00:00:0b:01)/IP(10.0.0.2 > 10.0.0.1, id=0, DF, ttl=64)/ICMP(echo-reply, id=0x1234, seq=1)/same payload */
static const uint8_t reply_inner[74] = {
	0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01,
	0x26, 0xbf, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x35, 0x02, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
	0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
	0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66,
};
/* Ether(02:00:00:00:00:aa < 02:00:00:00:00:bb)/IP(192.0.2.2 > 192.0.2.1, id=0, DF, ttl=64)/UDP(sport=51234, dport=4789, chksum=0)/VXLAN(flags=0x08, vni=100)/reply_inner */
static const uint8_t reply_vxlan[124] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa, 0x02, 0x00, 0x00, 0x00, 0x00, 0xbb,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x6e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	0xb6, 0x7b, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00, 0x02, 0x01, 0xc8, 0x22,
	0x12, 0xb5, 0x00, 0x5a, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x64, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x02, 0x00, 0x00, 0x00,
	0x0b, 0x01, 0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00,
	0x40, 0x01, 0x26, 0xbf, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x35, 0x02, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
	0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x61, 0x62,
	0x63, 0x64, 0x65, 0x66,
};
/* Ether(dst=02:00:00:00:0a:01, src=02:00:00:00:0b:01)/ARP(is-at, 02:00:00:00:0b:01 10.0.0.2 -> 02:00:00:00:0a:01 10.0.0.1) */
static const uint8_t arp_reply_remote[42] = {
	0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x01,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00,
	0x00, 0x00, 0x0b, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00,
	0x0a, 0x01, 0x0a, 0x00, 0x00, 0x01,
};

/* Offsets in an encapsulated frame. */
#define O_IP  14
#define O_UDP 34
#define O_VX  42

static struct dp_port *phys;     /* port 0 */
static unsigned pool_start;      /* mbufs in use when the test began */

/* ---- frames ---- */

/* ICMP echo request (type 8) or reply (0), id 0x1234 seq 1, @payload bytes. */
static void
icmp_frame(struct env_frame *f, const char *dmac, const char *smac, const char *sip,
	   const char *dip, uint8_t type, size_t payload)
{
	env_eth(f, dmac, smac, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, IPPROTO_ICMP);
	env_icmp_echo(f, type, 0x1234, 1);
	env_payload(f, payload);
	env_frame_done(f);
}

static void
udp_frame(struct env_frame *f, const char *dmac, const char *smac, const char *sip,
	  const char *dip, uint16_t sport, uint16_t dport)
{
	env_eth(f, dmac, smac, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, IPPROTO_UDP);
	env_udp(f, sport, dport);
	env_payload(f, 18);
	env_frame_done(f);
}

static void
arp_frame(struct env_frame *f, const char *dmac, const char *smac, uint16_t op,
	  const char *sha, const char *spa, const char *tha, const char *tpa)
{
	env_eth(f, dmac, smac, RTE_ETHER_TYPE_ARP);
	env_arp(f, op, sha, spa, tha, tpa);
}

/* @inner in VXLAN (first byte @flags, @vni), UDP @sport -> 4789. */
static void
vxlan_frame(struct env_frame *f, const char *dmac, const char *smac, const char *sip,
	    const char *dip, uint16_t sport, uint8_t flags, uint32_t vni,
	    const struct env_frame *inner)
{
	env_eth(f, dmac, smac, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, IPPROTO_UDP);
	env_udp(f, sport, 4789);
	env_vxlan(f, flags, vni);
	env_put(f, inner->b, inner->len);
	env_frame_done(f);
}

/* @inner as TEP1 sends it to us in network @vni. */
static void
from_tep1(struct env_frame *f, const struct env_frame *inner, uint32_t vni)
{
	vxlan_frame(f, PHYS_MAC, NH_MAC, TEP1, LOCAL_TEP, 51234, 0x08, vni, inner);
}

/* The echo reply from rem to vm1 as it arrives from TEP1 (= reply_vxlan). */
static void
net_reply(struct env_frame *f)
{
	struct env_frame in;

	icmp_frame(&in, VM1_MAC, REM_MAC, REM_IP, VM1_IP, 0, 32);
	from_tep1(f, &in, VNI);
}

static uint16_t
outer_sport(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return (p[OUTER_SPORT_OFF] << 8) | p[OUTER_SPORT_OFF + 1];
}

/* True when @m is @inner encapsulated by us toward @tep in VNI 100
 * (the outer UDP source port is not compared). */
static bool
is_vxlan_to(const struct rte_mbuf *m, const struct env_frame *inner, const char *tep)
{
	struct env_frame exp;

	vxlan_frame(&exp, NH_MAC, PHYS_MAC, LOCAL_TEP, tep, 49152, 0x08, VNI, inner);
	return env_mbuf_equal(m, exp.b, exp.len, OUTER_SPORT_OFF, 2);
}

static bool
is_frame(const struct rte_mbuf *m, const struct env_frame *f)
{
	return env_mbuf_equal(m, f->b, f->len, 0, 0);
}

/* True when @m is ICMP "fragmentation needed" (next-hop MTU @mtu) to
 * the sender of @orig, from @orig's destination (MAC @from), quoting
 * the start of @orig's IPv4 packet; checksums valid. */
static bool
is_frag_needed(const struct rte_mbuf *m, const struct env_frame *orig, const char *from,
	       uint16_t mtu)
{
	const uint8_t *o = orig->b, *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const void *)(p + O_IP);
	struct rte_ether_addr a;
	size_t quote = m->pkt_len - 14 - 20 - 8;

	rte_ether_unformat_addr(from, &a);
	return m->nb_segs == 1 && m->pkt_len <= 14 + 576 && quote >= 28 &&
	       memcmp(p, o + 6, 6) == 0 && memcmp(p + 6, &a, 6) == 0 &&
	       p[12] == 0x08 && p[13] == 0x00 && rte_ipv4_cksum(ip) == 0 &&
	       ip->next_proto_id == IPPROTO_ICMP &&
	       memcmp(&ip->src_addr, o + O_IP + 16, 4) == 0 &&
	       memcmp(&ip->dst_addr, o + O_IP + 12, 4) == 0 &&
	       p[34] == 3 && p[35] == 4 && ((p[40] << 8) | p[41]) == mtu &&
	       rte_raw_cksum(p + 34, m->pkt_len - 34) == 0xffff &&
	       memcmp(p + 42, o + O_IP, quote) == 0;
}

static bool
outer_dst_is(const struct rte_mbuf *m, const char *ip)
{
	uint32_t a = env_ip4(ip);

	return m->data_len >= O_UDP && memcmp(rte_pktmbuf_mtod_offset(m, uint8_t *, O_IP + 16),
					      &a, 4) == 0;
}

/* ---- driving the datapath ---- */

/* Run @m through @port's input path as one burst, as a worker does;
 * then resolve its misses and retry what was held (env_settle()). */
static void
input(uint16_t port, struct rte_mbuf *m)
{
	CU_ASSERT_FATAL(m != NULL);
	dp_input(env_ctx, port, &m, 1);
	env_settle();
}

static void
input_frame(uint16_t port, const struct env_frame *f)
{
	input(port, env_frame_mbuf(f));
}

/* Run the first VM stage (parse with port security) on @f from @port;
 * true when the frame passes them into network VNI 100. */
static bool
passes_port_security(uint16_t port, const struct env_frame *f)
{
	struct rte_mbuf *m = env_frame_mbuf(f);
	bool in_vni;
	uint16_t n;

	if (m == NULL)
		return false;
	n = dp_vm_parse(env_ctx, port, &m, 1);
	if (n == 0)
		return false;
	in_vni = dp_meta(m)->vni == VNI;
	rte_pktmbuf_free(m);
	return in_vni;
}

static uint64_t
drops_total(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		n += env_ctx->drops[i];
	return n;
}

static void
print_counters(void)
{
	fprintf(stderr, "\n  drops:");
	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		if (env_ctx->drops[i])
			fprintf(stderr, " %s=%" PRIu64, dp_drop_name(i), env_ctx->drops[i]);
	fprintf(stderr, "; port drops:");
	for (unsigned i = 0; i < DP_MAX_PORTS; i++)
		if (env_ctx->port[i].drops)
			fprintf(stderr, " %u=%" PRIu64, i, env_ctx->port[i].drops);
	fprintf(stderr, "; sent:");
	for (unsigned i = 0; i < DP_MAX_PORTS; i++)
		if (env_tx_count(i))
			fprintf(stderr, " port %u=%u", i, env_tx_count(i));
	fprintf(stderr, "\n");
}

/* True when all that happened since the last check is @n drops for @why,
 * counted on input port @port, with nothing sent; then counts afresh. */
static bool
dropped(unsigned n, enum dp_drop why, uint16_t port)
{
	bool ok = env_ctx->drops[why] == n && drops_total() == n &&
		  env_ctx->port[port].drops == n && env_tx_total() == 0;

	if (!ok) {
		fprintf(stderr, "\n  expected %u x %s on port %u, got", n, dp_drop_name(why), port);
		print_counters();
	}
	env_tx_clear();
	env_ctx_reset();
	return ok;
}

static bool
no_drops(void)
{
	if (drops_total() == 0)
		return true;
	fprintf(stderr, "\n  unexpected drops");
	print_counters();
	return false;
}

/* ---- fixture ---- */

static void
test_setup(void)
{
	env_ctx_reset();
	CU_ASSERT(env_tables_reset(1024) == 0);
	phys = env_port_add(PHYS, DP_PORT_PHYS, "uplink", PHYS_MAC);
	CU_ASSERT(phys != NULL);
	env_port_underlay(phys, LOCAL_TEP, 24, 1500);
	CU_ASSERT(env_port_add(VM1, DP_PORT_VHOST, "vhost1", "02:00:00:00:01:01") != NULL);
	CU_ASSERT(env_port_add(VM2, DP_PORT_VHOST, "vhost2", "02:00:00:00:01:02") != NULL);
	CU_ASSERT(env_port_add(VM3, DP_PORT_VHOST, "vhost3", "02:00:00:00:01:03") != NULL);
	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm1", VM1_MAC, VM1_IP, VM1) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm2", VM2_MAC, VM2_IP, VM2) == 0);
	CU_ASSERT(env_ep_remote(VNI, "rem", REM_MAC, REM_IP, T_REM, TEP1) == 0);
	env_tunnel(T_REM, phys, TEP1, NH_MAC, true);
	pool_start = env_pool_in_use();
}

/* Every frame a test made must be back in the pool once captures are freed. */
static void
test_teardown(void)
{
	env_tx_clear();
	env_punt_drain();
	CU_ASSERT_EQUAL(env_pool_in_use(), pool_start);
	env_ports_clear();
}

/* Flooding on, and more members: vm3 on port 3, rem2 as a second member
 * behind TEP1, far behind TEP2. */
static void
flood_topology(void)
{
	CU_ASSERT(env_vnet(VNI, "blue", true) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm3", VM3_MAC, VM3_IP, VM3) == 0);
	CU_ASSERT(env_ep_remote(VNI, "rem2", "02:00:00:00:0b:02", "10.0.0.5", T_REM, TEP1) == 0);
	CU_ASSERT(env_ep_remote(VNI, "far", "02:00:00:00:0c:01", "10.0.0.4", T_FAR, TEP2) == 0);
	env_tunnel(T_FAR, phys, TEP2, NH_MAC, true);
}

/* ---- VXLAN encapsulation ---- */

static void
test_encap_echo_to_remote_vm_byte_for_byte(void)
{
	struct env_frame f;
	struct rte_mbuf *out;

	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	CU_ASSERT_FATAL(f.len == sizeof(echo_inner) && memcmp(f.b, echo_inner, f.len) == 0);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 1);
	out = env_tx_pkt(PHYS, 0);
	CU_ASSERT(env_mbuf_equal(out, echo_vxlan, sizeof(echo_vxlan), OUTER_SPORT_OFF, 2));
	CU_ASSERT(outer_sport(out) >= 49152);
	CU_ASSERT_EQUAL(env_ctx->packets, 1);
	CU_ASSERT_EQUAL(env_ctx->port[VM1].rx_packets, 1);
	CU_ASSERT_EQUAL(env_ctx->port[VM1].rx_bytes, sizeof(echo_inner));
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].tx_packets, 1);
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].tx_bytes, sizeof(echo_vxlan));
}

static void
test_encap_source_port_follows_inner_flow(void)
{
	struct rte_mbuf *burst[16];
	struct env_frame f;
	unsigned distinct = 0;

	udp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 1000, 53);
	input_frame(VM1, &f);
	input_frame(VM1, &f);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 2);
	CU_ASSERT_EQUAL(outer_sport(env_tx_pkt(PHYS, 0)), outer_sport(env_tx_pkt(PHYS, 1)));
	env_tx_clear();

	for (unsigned i = 0; i < 16; i++) {
		udp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 2000 + i, 53);
		burst[i] = env_frame_mbuf(&f);
		CU_ASSERT_FATAL(burst[i] != NULL);
	}
	dp_input(env_ctx, VM1, burst, 16);
	env_settle();
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 16);
	for (unsigned i = 0; i < 16; i++) {
		uint16_t sport = outer_sport(env_tx_pkt(PHYS, i));
		bool seen = false;

		CU_ASSERT(sport >= 49152);
		for (unsigned j = 0; j < i; j++)
			seen |= outer_sport(env_tx_pkt(PHYS, j)) == sport;
		distinct += !seen;
	}
	CU_ASSERT(distinct >= 2);
}

/* A guest with checksum offload leaves TCP/UDP checksums to the device
 * (the vhost port flags the frame): they leave the switch complete; the
 * remote guest would drop them otherwise. */
static void
test_encap_finishes_checksums_left_to_the_device(void)
{
	static const struct { uint8_t proto; uint64_t flag; uint16_t field; } cases[] = {
		{ IPPROTO_TCP, RTE_MBUF_F_TX_TCP_CKSUM, O_UDP + 16 },
		{ IPPROTO_UDP, RTE_MBUF_F_TX_UDP_CKSUM, O_UDP + 6 },
	};

	for (unsigned i = 0; i < RTE_DIM(cases); i++) {
		struct env_frame f;
		struct rte_ipv4_hdr *ip;
		struct rte_mbuf *m;
		uint16_t sum;

		env_eth(&f, REM_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV4);
		env_ipv4(&f, VM1_IP, REM_IP, cases[i].proto);
		if (cases[i].proto == IPPROTO_TCP)
			env_tcp(&f, 40000, 80);
		else
			env_udp(&f, 40000, 53);
		env_payload(&f, 301);   /* odd: the sum's last byte is padded */
		env_frame_done(&f);
		/* What a correct sender puts there. */
		ip = (struct rte_ipv4_hdr *)(f.b + O_IP);
		f.b[cases[i].field] = f.b[cases[i].field + 1] = 0;
		sum = rte_ipv4_udptcp_cksum(ip, f.b + O_UDP);
		memcpy(f.b + cases[i].field, &sum, 2);

		m = env_frame_mbuf(&f);
		CU_ASSERT_FATAL(m != NULL);
		rte_pktmbuf_mtod(m, uint8_t *)[cases[i].field] ^= 0x5a;   /* partial */
		m->ol_flags |= cases[i].flag | RTE_MBUF_F_TX_IPV4;
		input(VM1, m);
		CU_ASSERT(no_drops());
		CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 1);
		CU_ASSERT(is_vxlan_to(env_tx_pkt(PHYS, 0), &f, TEP1));
		env_tx_clear();
	}
}

static void
test_encap_beyond_underlay_mtu_dropped(void)
{
	struct env_frame f;
	const uint8_t *ip;

	/* 1464-byte inner frame: outer IPv4 of exactly 1500 bytes goes */
	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 1464 - 42);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 1);
	CU_ASSERT_EQUAL(env_tx_pkt(PHYS, 0)->pkt_len, 1514);
	ip = rte_pktmbuf_mtod_offset(env_tx_pkt(PHYS, 0), const uint8_t *, O_IP);
	CU_ASSERT_EQUAL((ip[2] << 8) | ip[3], 1500);
	CU_ASSERT(is_vxlan_to(env_tx_pkt(PHYS, 0), &f, TEP1));
	env_tx_clear();
	env_ctx_reset();

	/* one byte more does not; the sender (DF set) learns the MTU it can use */
	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 1465 - 42);
	input_frame(VM1, &f);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_MTU_EXCEEDED], 1);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 0);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM1), 1);
	CU_ASSERT(is_frag_needed(env_tx_pkt(VM1, 0), &f, REM_MAC, 1450));
	CU_ASSERT_EQUAL(env_ctx->icmp_frag_needed, 1);
}

/* Without DF the sender asked for no ICMP: the frame is only dropped. */
static void
test_encap_beyond_mtu_without_df_dropped_silently(void)
{
	struct env_frame f;
	struct rte_ipv4_hdr *ip;

	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 1465 - 42);
	ip = (struct rte_ipv4_hdr *)(f.b + O_IP);
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_MTU_EXCEEDED, VM1));
	CU_ASSERT_EQUAL(env_ctx->icmp_frag_needed, 0);
}

/* A flood of oversized frames gets at most 100 answers a second per worker. */
static void
test_frag_needed_answers_are_rate_limited(void)
{
	struct env_frame f;

	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 2000);
	for (unsigned i = 0; i < 300; i++)
		input_frame(VM1, &f);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_MTU_EXCEEDED], 300);
	CU_ASSERT(env_tx_count(VM1) >= 1 && env_tx_count(VM1) <= 100);
	CU_ASSERT_EQUAL(env_ctx->icmp_frag_needed + env_ctx->icmp_limited, 300);
	env_tx_clear();
}

static void
test_encap_to_unresolved_next_hop_dropped(void)
{
	struct env_frame f;

	env_tunnel(T_REM, phys, TEP1, NH_MAC, false);
	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_NEIGH_UNRESOLVED, VM1));
}

static void
test_encap_without_tunnel_dropped(void)
{
	struct env_frame f;

	pol_tunnel_publish(T_REM, NULL);
	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_NO_TUNNEL, VM1));
}

/* ---- VXLAN decapsulation ---- */

static void
test_decap_delivers_inner_frame_byte_for_byte(void)
{
	struct env_frame f;

	net_reply(&f);
	CU_ASSERT_FATAL(f.len == sizeof(reply_vxlan) && memcmp(f.b, reply_vxlan, f.len) == 0);
	input_frame(PHYS, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(VM1, 0), reply_inner, sizeof(reply_inner), 0, 0));
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].rx_packets, 1);
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].rx_bytes, sizeof(reply_vxlan));
	CU_ASSERT_EQUAL(env_ctx->port[VM1].tx_packets, 1);
	CU_ASSERT_EQUAL(env_ctx->port[VM1].tx_bytes, sizeof(reply_inner));
}

static void
test_decap_trims_bytes_after_outer_ip_packet(void)
{
	static const uint8_t pad[6];
	struct env_frame f;

	net_reply(&f);
	env_put(&f, pad, sizeof(pad));   /* Ethernet padding: outside the IP total length */
	input_frame(PHYS, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(VM1, 0), reply_inner, sizeof(reply_inner), 0, 0));
}

static void
test_decap_ignores_reserved_vxlan_bits(void)
{
	struct env_frame f;

	net_reply(&f);
	memset(&f.b[O_VX], 0xff, 4);     /* every flag, I included, and reserved bits */
	f.b[O_VX + 7] = 0xff;            /* reserved byte after the VNI */
	input_frame(PHYS, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(VM1, 0), reply_inner, sizeof(reply_inner), 0, 0));
}

static void
test_decap_drops_frames_for_another_tep(void)
{
	struct env_frame f;

	net_reply(&f);
	f.b[5] = 0xcc;                   /* outer destination MAC */
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_NOT_FOR_US, PHYS));

	net_reply(&f);
	memset(f.b, 0xff, 6);            /* broadcast, and not ARP */
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_NOT_FOR_US, PHYS));

	net_reply(&f);
	f.b[O_IP + 19] = 99;             /* outer destination 192.0.2.99 */
	env_ipv4_fix_csum(&f.b[O_IP]);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_NOT_FOR_US, PHYS));
}

static void
test_decap_accepts_only_known_tunnel_endpoints(void)
{
	struct env_frame f;

	net_reply(&f);
	f.b[O_IP + 15] = 77;             /* outer source 192.0.2.77: nobody lives there */
	env_ipv4_fix_csum(&f.b[O_IP]);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNKNOWN_TEP, PHYS));

	dp.vxlan_any_source = true;      /* vxlan.accept_any_source: true */
	input_frame(PHYS, &f);
	dp.vxlan_any_source = false;
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
}

static void
test_decap_drops_other_underlay_traffic(void)
{
	struct env_frame f;

	net_reply(&f);
	f.b[O_IP + 9] = IPPROTO_TCP;
	env_ipv4_fix_csum(&f.b[O_IP]);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNDERLAY_OTHER, PHYS));

	net_reply(&f);
	f.b[O_UDP + 3] = 0xb6;           /* destination port 4790 */
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNDERLAY_OTHER, PHYS));

	net_reply(&f);
	f.b[12] = 0x86;                  /* EtherType IPv6 */
	f.b[13] = 0xdd;
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNDERLAY_OTHER, PHYS));
}

static void
test_decap_drops_bad_outer_ip_checksum(void)
{
	struct env_frame f;
	struct rte_mbuf *m;

	net_reply(&f);
	f.b[O_IP + 11] ^= 0x01;
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_BAD_IP_CSUM, PHYS));

	/* even when the port calls it good: veth/af_packet say so unchecked */
	m = env_frame_mbuf(&f);
	CU_ASSERT_FATAL(m != NULL);
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	input(PHYS, m);
	CU_ASSERT(dropped(1, DP_DROP_BAD_IP_CSUM, PHYS));
}

static void
test_decap_drops_outer_fragments(void)
{
	struct env_frame f;

	net_reply(&f);
	f.b[O_IP + 6] |= 0x20;           /* more fragments */
	env_ipv4_fix_csum(&f.b[O_IP]);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_IP_FRAGMENT, PHYS));

	net_reply(&f);
	f.b[O_IP + 6] = 0x00;            /* last fragment, offset 185 * 8 */
	f.b[O_IP + 7] = 185;
	env_ipv4_fix_csum(&f.b[O_IP]);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_IP_FRAGMENT, PHYS));
}

static void
test_decap_drops_vxlan_without_i_flag(void)
{
	struct env_frame f;

	net_reply(&f);
	f.b[O_VX] = 0x00;
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_VXLAN_FLAGS, PHYS));

	net_reply(&f);
	f.b[O_VX] = 0xf7;                /* every flag but I */
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_VXLAN_FLAGS, PHYS));
}

static void
test_decap_drops_unknown_vni(void)
{
	struct env_frame f;

	net_reply(&f);
	f.b[O_VX + 6] = 101;
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNKNOWN_VNI, PHYS));
}

static void
test_decap_drops_inner_destination_not_local(void)
{
	struct env_frame in, f;

	/* a remote endpoint's MAC */
	icmp_frame(&in, REM_MAC, "02:00:00:00:0b:09", "10.0.0.9", REM_IP, 8, 32);
	from_tep1(&f, &in, VNI);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_DST_NOT_LOCAL, PHYS));

	/* nobody's MAC */
	icmp_frame(&in, NOBODY_MAC, REM_MAC, REM_IP, VM1_IP, 8, 32);
	from_tep1(&f, &in, VNI);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_DST_NOT_LOCAL, PHYS));

	/* vm1's MAC, but in another network, where vm1 is not */
	CU_ASSERT(env_vnet(200, "red", false) == 0);
	icmp_frame(&in, VM1_MAC, REM_MAC, REM_IP, VM1_IP, 0, 32);
	from_tep1(&f, &in, 200);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_DST_NOT_LOCAL, PHYS));
}

/* Every prefix of a good frame, each read with nothing readable past its
 * end (under ASan), is dropped as malformed. */
static void
input_truncations(uint16_t port, const struct env_frame *f)
{
	for (size_t len = 0; len < f->len; len++) {
		struct rte_mbuf *m = env_mbuf(f->b, len);
		struct env_guard g;

		CU_ASSERT_FATAL(m != NULL);
		g = env_guard(m);
		dp_input(env_ctx, port, &m, 1);
		env_unguard(&g);
	}
}

static void
test_decap_truncated_frames_malformed(void)
{
	struct env_frame f;

	net_reply(&f);
	input_truncations(PHYS, &f);
	CU_ASSERT(dropped(f.len, DP_DROP_MALFORMED, PHYS));
}

static void
test_decap_inconsistent_lengths_malformed(void)
{
	static const struct {
		const char *what;
		unsigned off;
		uint16_t val;             /* 16-bit value stored at @off */
		bool ip_csum;             /* recompute the IP checksum after */
	} cases[] = {
		{ "UDP length past the IP payload", O_UDP + 4, 0x5a + 1, false },
		{ "UDP length below UDP+VXLAN+Ethernet", O_UDP + 4, 8 + 8 + 13, false },
		{ "IP total length past the frame", O_IP + 2, 0x6e + 1, true },
		{ "IP total length below IHL + UDP length", O_IP + 2, 0x6e - 1, true },
		{ "IHL 4", O_IP, 0x4400, true },
		{ "IP version 6", O_IP, 0x6500, true },
	};
	struct env_frame f;

	for (unsigned i = 0; i < RTE_DIM(cases); i++) {
		net_reply(&f);
		f.b[cases[i].off] = cases[i].val >> 8;
		f.b[cases[i].off + 1] = cases[i].val & 0xff;
		if (cases[i].ip_csum)
			env_ipv4_fix_csum(&f.b[O_IP]);
		input_frame(PHYS, &f);
		if (!dropped(1, DP_DROP_MALFORMED, PHYS)) {
			fprintf(stderr, "  case: %s\n", cases[i].what);
			CU_FAIL("inconsistent length not dropped as malformed");
		}
	}
}

static void
test_decap_mixed_burst(void)
{
	struct rte_mbuf *burst[5];
	struct env_frame f;

	for (unsigned i = 0; i < RTE_DIM(burst); i++) {
		net_reply(&f);
		if (i == 1)
			f.b[O_VX + 6] = 101;              /* unknown VNI */
		if (i == 3)
			f.b[O_IP + 10] ^= 0x80;           /* bad checksum */
		if (i == 4)
			f.b[0] = 0x03;                    /* not our MAC */
		burst[i] = env_frame_mbuf(&f);
		CU_ASSERT_FATAL(burst[i] != NULL);
	}
	dp_input(env_ctx, PHYS, burst, RTE_DIM(burst));
	CU_ASSERT_EQUAL(env_tx_total(), 2);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM1), 2);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(VM1, 0), reply_inner, sizeof(reply_inner), 0, 0));
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(VM1, 1), reply_inner, sizeof(reply_inner), 0, 0));
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_UNKNOWN_VNI], 1);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_BAD_IP_CSUM], 1);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_NOT_FOR_US], 1);
	CU_ASSERT_EQUAL(drops_total(), 3);
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].drops, 3);
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].rx_packets, 5);
}

/* ---- ARP ---- */

static void
test_arp_request_for_remote_vm_answered_locally(void)
{
	struct env_frame f;

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, REM_IP);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 0);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(VM1, 0), arp_reply_remote, sizeof(arp_reply_remote),
				 0, 0));
	CU_ASSERT_EQUAL(env_ctx->port[VM1].tx_packets, 1);
}

static void
test_arp_request_for_local_vm_answered_locally(void)
{
	struct env_frame f, reply;

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, VM2_IP);
	arp_frame(&reply, VM1_MAC, VM2_MAC, RTE_ARP_OP_REPLY, VM2_MAC, VM2_IP, VM1_MAC, VM1_IP);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM1, 0), &reply));
}

static void
test_arp_request_for_unknown_ip_dropped(void)
{
	struct env_frame f;

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, "10.0.0.99");
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_ARP_UNKNOWN, VM1));
}

static void
test_gratuitous_arp_absorbed(void)
{
	struct env_frame f;

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, VM1_IP);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_ARP_GRATUITOUS, VM1));

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REPLY, VM1_MAC, VM1_IP, BCAST, VM1_IP);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_ARP_GRATUITOUS, VM1));
}

static void
test_arp_probe_for_own_address_absorbed(void)
{
	struct env_frame f;

	/* RFC 5227 probe: sender 0.0.0.0, target the VM's own address */
	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, "0.0.0.0", NULL, VM1_IP);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_ARP_GRATUITOUS, VM1));
}

static void
test_invalid_arp_dropped(void)
{
	struct env_frame f;

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, REM_IP);
	f.b[15] = 6;                     /* hardware type IEEE 802 */
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_ARP_INVALID, VM1));

	arp_frame(&f, BCAST, VM1_MAC, 3, VM1_MAC, VM1_IP, NULL, REM_IP);  /* RARP opcode */
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_ARP_INVALID, VM1));
}

static void
test_underlay_arp_punted_to_control_thread(void)
{
	struct rte_mbuf *m = NULL;
	struct env_frame f;

	arp_frame(&f, BCAST, NH_MAC, RTE_ARP_OP_REQUEST, NH_MAC, TEP1, NULL, LOCAL_TEP);
	input_frame(PHYS, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 0);
	CU_ASSERT_EQUAL(env_ctx->punted, 1);
	CU_ASSERT_EQUAL_FATAL(rte_ring_count(dp.punt), 1);
	CU_ASSERT_FATAL(rte_ring_dequeue(dp.punt, (void **)&m) == 0);
	CU_ASSERT(is_frame(m, &f));
	rte_pktmbuf_free(m);
}

static void
test_underlay_arp_with_control_queue_full_dropped(void)
{
	struct rte_ring *big = dp.punt;
	struct env_frame f;

	dp.punt = rte_ring_create("unit_punt_1", 2, SOCKET_ID_ANY, RING_F_SC_DEQ); /* room for 1 */
	CU_ASSERT_FATAL(dp.punt != NULL);
	arp_frame(&f, BCAST, NH_MAC, RTE_ARP_OP_REQUEST, NH_MAC, TEP1, NULL, LOCAL_TEP);
	input_frame(PHYS, &f);
	input_frame(PHYS, &f);
	CU_ASSERT_EQUAL(env_ctx->punted, 1);
	CU_ASSERT_EQUAL(env_punt_drain(), 1);
	rte_ring_free(dp.punt);
	dp.punt = big;
	CU_ASSERT(dropped(1, DP_DROP_PUNT_FULL, PHYS));
}

/* ---- port security ---- */

static void
test_port_security_drops_foreign_source_mac(void)
{
	struct env_frame f;

	icmp_frame(&f, REM_MAC, "02:00:00:00:0a:99", VM1_IP, REM_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SPOOF_MAC, VM1));
}

static void
test_port_security_drops_foreign_source_ipv4(void)
{
	struct env_frame f;

	icmp_frame(&f, REM_MAC, VM1_MAC, "10.0.0.7", REM_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SPOOF_IP, VM1));

	icmp_frame(&f, REM_MAC, VM1_MAC, VM2_IP, REM_IP, 8, 32);  /* a neighbour's address */
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SPOOF_IP, VM1));
}

static void
test_port_security_drops_arp_with_forged_sender_ip(void)
{
	struct env_frame f;

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM2_IP, NULL, REM_IP);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SPOOF_IP, VM1));
}

static void
test_port_security_drops_arp_sender_mac_not_ethernet_source(void)
{
	struct env_frame f;

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM2_MAC, VM1_IP, NULL, REM_IP);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SPOOF_MAC, VM1));
}

static void
test_port_security_lets_dhcp_client_use_unspecified_address(void)
{
	struct env_frame f;

	env_eth(&f, BCAST, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, "0.0.0.0", "255.255.255.255", IPPROTO_UDP);
	env_udp(&f, 68, 67);
	env_payload(&f, 240);
	env_frame_done(&f);
	CU_ASSERT(passes_port_security(VM1, &f));
	CU_ASSERT(no_drops());
	/* on through the pipeline: a broadcast the network does not flood */
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_BUM, VM1));

	/* other UDP from 0.0.0.0 is spoofing */
	udp_frame(&f, BCAST, VM1_MAC, "0.0.0.0", "255.255.255.255", 1234, 67);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SPOOF_IP, VM1));
}

static void
test_port_security_drops_frames_of_unbound_port(void)
{
	struct env_frame f;

	icmp_frame(&f, REM_MAC, VM3_MAC, VM3_IP, REM_IP, 8, 32);
	input_frame(VM3, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNKNOWN_PORT_VM, VM3));
}

static void
test_vlan_tagged_frame_from_vm_dropped(void)
{
	struct env_frame f;

	env_eth(&f, REM_MAC, VM1_MAC, RTE_ETHER_TYPE_VLAN);
	env_put16(&f, 100);              /* VLAN 100 */
	env_put16(&f, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, VM1_IP, REM_IP, IPPROTO_UDP);
	env_udp(&f, 1, 2);
	env_frame_done(&f);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_VLAN_TAGGED, VM1));
}

static void
test_port_security_ipv6_sources(void)
{
	struct pol_endpoint ep;
	struct env_frame f;

	env_ep_init(&ep, VNI, "vm1", VM1_MAC);
	env_ep_add_ip(&ep, VM1_IP);
	env_ep_add_ip(&ep, "2001:db8::1");
	ep.local = true;
	ep.port = VM1;
	CU_ASSERT_FATAL(pol_endpoint_set(&ep) == 0);

	env_eth(&f, "33:33:00:00:00:01", VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "fe80::1", "ff02::1", IPPROTO_ICMPV6);
	env_payload(&f, 8);
	env_frame_done(&f);
	CU_ASSERT(passes_port_security(VM1, &f));       /* link-local */

	env_eth(&f, "33:33:00:00:00:01", VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "::", "ff02::1:ff00:1", IPPROTO_ICMPV6);
	env_payload(&f, 8);
	env_frame_done(&f);
	CU_ASSERT(passes_port_security(VM1, &f));       /* duplicate address detection */

	env_eth(&f, REM_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "2001:db8::1", "2001:db8::2", IPPROTO_UDP);
	env_payload(&f, 8);
	env_frame_done(&f);
	CU_ASSERT(passes_port_security(VM1, &f));       /* its own global address */
	CU_ASSERT(no_drops());

	env_eth(&f, REM_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "2001:db8::99", "2001:db8::2", IPPROTO_UDP);
	env_payload(&f, 8);
	env_frame_done(&f);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SPOOF_IP, VM1));
}

static void
test_vm_truncated_frames_malformed(void)
{
	struct env_frame f;

	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	input_truncations(VM1, &f);
	CU_ASSERT(dropped(f.len, DP_DROP_MALFORMED, VM1));

	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, REM_IP);
	input_truncations(VM1, &f);
	CU_ASSERT(dropped(f.len, DP_DROP_MALFORMED, VM1));
}

/* ---- local switching ---- */

static void
test_local_vm_to_local_vm_switched_unchanged(void)
{
	struct env_frame f;

	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 0);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &f));
	CU_ASSERT_EQUAL(env_ctx->port[VM2].tx_packets, 1);
	CU_ASSERT_EQUAL(env_ctx->port[VM2].tx_bytes, f.len);
}

static void
test_frame_to_own_port_dropped_as_hairpin(void)
{
	struct env_frame f;

	icmp_frame(&f, VM1_MAC, VM1_MAC, VM1_IP, VM1_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_SAME_PORT, VM1));
}

static void
test_frame_to_vm_with_queues_disabled_counted_tx_full(void)
{
	struct dp_port *p = dp_port_get(VM2);
	struct dp_txq_map *map = atomic_exchange(&p->txq_map, NULL);
	struct env_frame f;

	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 32);
	input_frame(VM1, &f);
	atomic_store(&p->txq_map, map);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_TX_FULL], 1);
	CU_ASSERT_EQUAL(drops_total(), 1);
	CU_ASSERT_EQUAL(env_ctx->port[VM2].drops, 1);
	CU_ASSERT_EQUAL(env_ctx->port[VM2].tx_packets, 0);
	CU_ASSERT_EQUAL(env_tx_total(), 0);
}

static void
test_mixed_burst_from_vm_each_frame_takes_its_path(void)
{
	struct env_frame f[7], reply;
	struct rte_mbuf *burst[7];

	icmp_frame(&f[0], REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);          /* -> tunnel */
	icmp_frame(&f[1], REM_MAC, "02:00:00:00:0a:99", VM1_IP, REM_IP, 8, 32); /* spoofed */
	arp_frame(&f[2], BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, REM_IP);
	icmp_frame(&f[3], VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 32);          /* -> vm2 */
	udp_frame(&f[4], BCAST, VM1_MAC, VM1_IP, "10.0.0.255", 137, 137);    /* not flooded */
	udp_frame(&f[5], REM_MAC, VM1_MAC, VM1_IP, REM_IP, 1000, 53);        /* -> tunnel */
	icmp_frame(&f[6], VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 40);          /* -> vm2 */
	for (unsigned i = 0; i < RTE_DIM(burst); i++) {
		burst[i] = env_frame_mbuf(&f[i]);
		CU_ASSERT_FATAL(burst[i] != NULL);
	}
	dp_input(env_ctx, VM1, burst, RTE_DIM(burst));
	env_settle();

	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 2);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(PHYS, 0), echo_vxlan, sizeof(echo_vxlan),
				 OUTER_SPORT_OFF, 2));
	CU_ASSERT(is_vxlan_to(env_tx_pkt(PHYS, 1), &f[5], TEP1));
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM2), 2);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &f[3]));
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 1), &f[6]));
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM1), 1);
	arp_frame(&reply, VM1_MAC, REM_MAC, RTE_ARP_OP_REPLY, REM_MAC, REM_IP, VM1_MAC, VM1_IP);
	CU_ASSERT(is_frame(env_tx_pkt(VM1, 0), &reply));
	CU_ASSERT_EQUAL(env_tx_total(), 5);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_SPOOF_MAC], 1);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_BUM], 1);
	CU_ASSERT_EQUAL(drops_total(), 2);
	CU_ASSERT_EQUAL(env_ctx->port[VM1].drops, 2);
	CU_ASSERT_EQUAL(env_ctx->port[VM1].rx_packets, 7);
}

/* ---- broadcast and unknown destinations ---- */

static void
test_bum_dropped_when_network_does_not_flood(void)
{
	struct env_frame f;

	udp_frame(&f, BCAST, VM1_MAC, VM1_IP, "10.0.0.255", 137, 137);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_BUM, VM1));

	udp_frame(&f, "01:00:5e:00:00:fb", VM1_MAC, VM1_IP, "224.0.0.251", 5353, 5353);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_BUM, VM1));

	udp_frame(&f, NOBODY_MAC, VM1_MAC, VM1_IP, "10.0.0.77", 1000, 53);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNKNOWN_DST, VM1));
}

/* @f from vm1 must reach vm2 and vm3 unchanged, and TEP1 and TEP2 once each. */
static void
expect_flooded_from_vm1(const struct env_frame *f)
{
	unsigned teps = 0;

	input_frame(VM1, f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_count(VM1), 0);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM2), 1);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM3), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), f));
	CU_ASSERT(is_frame(env_tx_pkt(VM3, 0), f));
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct rte_mbuf *m = env_tx_pkt(PHYS, i);
		unsigned which = outer_dst_is(m, TEP1) ? 1 : 2;

		CU_ASSERT(is_vxlan_to(m, f, which == 1 ? TEP1 : TEP2));
		teps |= which;
	}
	CU_ASSERT_EQUAL(teps, 3);
	CU_ASSERT_EQUAL(env_tx_total(), 4);
	env_tx_clear();
	env_ctx_reset();
}

static void
test_flood_from_vm_reaches_each_member_port_and_tep_once(void)
{
	struct env_frame f;

	flood_topology();
	udp_frame(&f, BCAST, VM1_MAC, VM1_IP, "10.0.0.255", 137, 137);
	expect_flooded_from_vm1(&f);
	udp_frame(&f, NOBODY_MAC, VM1_MAC, VM1_IP, "10.0.0.77", 1000, 53);
	expect_flooded_from_vm1(&f);
	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, "10.0.0.99");
	expect_flooded_from_vm1(&f);
}

static void
test_flood_burst_fills_tx_buffers(void)
{
	struct rte_mbuf *burst[DP_BURST];
	struct env_frame f;

	flood_topology();
	udp_frame(&f, BCAST, VM1_MAC, VM1_IP, "10.0.0.255", 137, 137);
	for (unsigned i = 0; i < DP_BURST; i++) {
		burst[i] = env_frame_mbuf(&f);
		CU_ASSERT_FATAL(burst[i] != NULL);
	}
	dp_input(env_ctx, VM1, burst, DP_BURST);  /* 2 copies each to port 0: 64 = DP_TXBUF */
	env_settle();
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 2 * DP_BURST);
	CU_ASSERT_EQUAL(env_tx_count(VM2), DP_BURST);
	CU_ASSERT_EQUAL(env_tx_count(VM3), DP_BURST);
	CU_ASSERT_EQUAL(env_tx_count(VM1), 0);
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].tx_packets, 2 * DP_BURST);
}

static void
test_flood_from_network_reaches_local_members_only(void)
{
	struct env_frame in, f;

	flood_topology();
	udp_frame(&in, BCAST, REM_MAC, REM_IP, "10.0.0.255", 137, 137);
	from_tep1(&f, &in, VNI);
	input_frame(PHYS, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 0);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM1), 1);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM2), 1);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM3), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM1, 0), &in));
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &in));
	CU_ASSERT(is_frame(env_tx_pkt(VM3, 0), &in));
	CU_ASSERT_EQUAL(env_tx_total(), 3);
}

static void
test_bum_from_network_dropped_when_network_does_not_flood(void)
{
	struct env_frame in, f;

	udp_frame(&in, BCAST, REM_MAC, REM_IP, "10.0.0.255", 137, 137);
	from_tep1(&f, &in, VNI);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_BUM, PHYS));

	arp_frame(&in, BCAST, REM_MAC, RTE_ARP_OP_REQUEST, REM_MAC, REM_IP, NULL, "10.0.0.99");
	from_tep1(&f, &in, VNI);
	input_frame(PHYS, &f);
	CU_ASSERT(dropped(1, DP_DROP_ARP_UNKNOWN, PHYS));
}

static void
test_arp_request_from_network_reaches_target_vm_only(void)
{
	struct env_frame in, f;

	flood_topology();
	arp_frame(&in, BCAST, REM_MAC, RTE_ARP_OP_REQUEST, REM_MAC, REM_IP, NULL, VM2_IP);
	from_tep1(&f, &in, VNI);
	input_frame(PHYS, &f);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL(env_tx_total(), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &in));
}

/* ---- decisions (policy stage) ---- */

#define GW_MAC ENV_GW_MAC
#define RED 200
#define RED_GW "10.1.0.254"
#define VM3_RED_IP "10.1.0.1"
#define REM2_MAC "02:00:00:00:0b:02"
#define REM2_IP "10.1.0.2"

/* (VNI 100, @src → @dst MAC) */
static struct pol_flow_key
mac_key(const char *src, const char *dst)
{
	struct rte_ether_addr s = env_mac(src), d = env_mac(dst);
	struct pol_flow_key k;

	pol_flow_key_mac(&k, VNI, &s, &d);
	return k;
}

/* Install what the resolver would decide for @k from vm1, with @result. */
static void
install_as(const struct pol_flow_key *k, uint8_t result, uint16_t tag)
{
	struct pol_decision d;

	env_decide(k, VM1, &d);
	d.result = result;
	d.tag = tag;
	CU_ASSERT_FATAL(pol_decision_install(&d) == 0);
}

/* Input without the resolver: what the worker does before the control thread answers. */
static void
input_raw(uint16_t port, const struct env_frame *f)
{
	struct rte_mbuf *m = env_frame_mbuf(f);

	CU_ASSERT_FATAL(m != NULL);
	dp_input(env_ctx, port, &m, 1);
}

static void
test_denied_frame_dropped_policy_deny(void)
{
	struct pol_flow_key k = mac_key(VM1_MAC, VM2_MAC);
	struct env_frame f;

	install_as(&k, POL_RES_DENY, 0);
	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_POLICY_DENY, VM1));
	install_as(&k, POL_RES_CHAIN_DOWN, 0);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_CHAIN_DOWN, VM1));
	/* unknown: as the network says (no flooding here) */
	install_as(&k, POL_RES_UNKNOWN, 0);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_UNKNOWN_DST, VM1));
}

static void
test_miss_held_then_forwarded_after_install(void)
{
	struct pol_flow_key k = mac_key(VM1_MAC, VM2_MAC);
	struct env_frame f[3];
	struct dp_event ev[4];
	struct pol_decision d;

	for (unsigned i = 0; i < 3; i++) {
		icmp_frame(&f[i], VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 32 + i);
		input_raw(VM1, &f[i]);
	}
	CU_ASSERT_EQUAL(env_ctx->n_held, 3);
	CU_ASSERT_EQUAL(env_tx_total(), 0);
	CU_ASSERT(no_drops());
	/* one miss reported for the three, with the port and the key */
	CU_ASSERT_EQUAL_FATAL(env_events_take(ev, 4), 1);
	CU_ASSERT_EQUAL(ev[0].type, DP_EV_MISS);
	CU_ASSERT_EQUAL(ev[0].port, VM1);
	CU_ASSERT(memcmp(&ev[0].key, &k, sizeof(k)) == 0);
	/* nothing installed: retrying changes nothing */
	dp_policy_held(env_ctx);
	CU_ASSERT_EQUAL(env_ctx->n_held, 3);
	env_decide(&k, VM1, &d);
	CU_ASSERT_FATAL(pol_decision_install(&d) == 0);
	dp_policy_held(env_ctx);
	CU_ASSERT_EQUAL(env_ctx->n_held, 0);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM2), 3);
	for (unsigned i = 0; i < 3; i++)   /* in order, unchanged */
		CU_ASSERT(is_frame(env_tx_pkt(VM2, i), &f[i]));
	CU_ASSERT_EQUAL(env_ctx->port[VM1].rx_packets, 3);
}

static void
test_held_frame_dropped_when_its_time_is_up(void)
{
	uint64_t hold = dp.miss_hold_tsc;
	struct env_frame f;

	dp.miss_hold_tsc = rte_get_tsc_hz() / 1000000 + 1;   /* ~1 us */
	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	input_raw(VM1, &f);
	dp.miss_hold_tsc = hold;
	CU_ASSERT_EQUAL(env_ctx->n_held, 1);
	rte_delay_us_block(10);
	dp_policy_held(env_ctx);   /* no install since: only the deadline is checked */
	CU_ASSERT_EQUAL(env_ctx->n_held, 0);
	CU_ASSERT(dropped(1, DP_DROP_POLICY_MISS, VM1));
	env_resolve();

	/* without holding, a miss is dropped at once (and still reported) */
	dp.miss_hold_tsc = 0;
	udp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 1, 2);
	input_raw(VM1, &f);
	dp.miss_hold_tsc = hold;
	CU_ASSERT_EQUAL(env_ctx->n_held, 0);
	CU_ASSERT(dropped(1, DP_DROP_POLICY_MISS, VM1));
}

static void
test_hold_queue_full_drops_policy_miss_and_loses_nothing(void)
{
	struct rte_mbuf *burst[DP_BURST];
	struct env_frame f;
	unsigned sent;

	for (unsigned b = 0; b < 3; b++) {   /* 96 frames, room for DP_HOLD_MAX */
		for (unsigned i = 0; i < DP_BURST; i++) {
			udp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 1000 + b * DP_BURST + i, 53);
			burst[i] = env_frame_mbuf(&f);
			CU_ASSERT_FATAL(burst[i] != NULL);
		}
		dp_input(env_ctx, VM1, burst, DP_BURST);
	}
	CU_ASSERT_EQUAL(env_ctx->n_held, DP_HOLD_MAX);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_POLICY_MISS], 3 * DP_BURST - DP_HOLD_MAX);
	CU_ASSERT_EQUAL(env_settle(), 1);
	sent = env_tx_count(PHYS);
	CU_ASSERT_EQUAL(sent, DP_HOLD_MAX);
	CU_ASSERT_EQUAL(env_ctx->n_held, 0);
	/* every frame sent or counted */
	CU_ASSERT_EQUAL(sent + drops_total(), 3 * DP_BURST);
	for (unsigned i = 0; i < sent; i++)   /* the first 64, in order */
		CU_ASSERT_EQUAL(rte_be_to_cpu_16(*rte_pktmbuf_mtod_offset(env_tx_pkt(PHYS, i),
			uint16_t *, 124 - 74 + 34)), 1000 + i);  /* inner UDP source port */
}

static void
test_miss_reported_once_per_interval(void)
{
	uint64_t repeat = dp.miss_repeat_tsc;
	struct dp_event ev[8];
	struct env_frame f;

	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	input_raw(VM1, &f);
	input_raw(VM1, &f);
	icmp_frame(&f, VM2_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 32);   /* another key */
	input_raw(VM1, &f);
	CU_ASSERT_EQUAL(env_events_take(ev, 8), 2);
	CU_ASSERT(memcmp(&ev[0].key.dst, (uint8_t[]){ 2, 0, 0, 0, 0x0b, 1 }, 6) == 0);
	CU_ASSERT(memcmp(&ev[1].key.dst, (uint8_t[]){ 2, 0, 0, 0, 0x0a, 2 }, 6) == 0);
	/* an install of something else: held frames retried, not reported again */
	install_as(&(struct pol_flow_key){ .kind = POL_DST_MAC }, POL_RES_FORWARD, 0);
	dp_policy_held(env_ctx);
	CU_ASSERT_EQUAL(env_ctx->n_held, 3);
	CU_ASSERT_EQUAL(env_events_take(ev, 8), 0);
	/* once the interval is over, it is reported again */
	dp.miss_repeat_tsc = 0;
	input_raw(VM1, &f);
	dp.miss_repeat_tsc = repeat;
	CU_ASSERT_EQUAL(env_events_take(ev, 8), 1);
	/* ring full: counted as lost, not remembered */
	while (rte_ring_enqueue_elem(dp.events, ev, sizeof(ev[0])) == 0)
		;
	dp.miss_repeat_tsc = 0;
	input_raw(VM1, &f);
	dp.miss_repeat_tsc = repeat;
	CU_ASSERT_EQUAL(env_ctx->events_lost, 1);
	rte_ring_reset(dp.events);
	env_ctx_reset();   /* frees the held frames */
}

/* @f as the gateway forwards it: MACs rewritten, TTL one less, checksum fixed. */
static void
routed(struct env_frame *f, const char *dst_mac)
{
	struct rte_ether_addr d = env_mac(dst_mac), s = env_mac(GW_MAC);

	memcpy(f->b, &d, 6);
	memcpy(f->b + 6, &s, 6);
	f->b[14 + 8]--;
	env_ipv4_fix_csum(f->b + 14);
}

static void
red_topology(void)
{
	CU_ASSERT(env_vnet_gateway(RED, "red", false, RED_GW) == 0);
	CU_ASSERT(env_ep_local(RED, "vm3", VM3_MAC, VM3_RED_IP, VM3) == 0);
	CU_ASSERT(env_ep_remote(RED, "rem2", REM2_MAC, REM2_IP, T_REM, TEP1) == 0);
}

/* Decide the routed key (vm1 → @ip) toward red's endpoint @mac. */
static void
install_route_to_red(const char *ip, const char *mac)
{
	struct rte_ether_addr s = env_mac(VM1_MAC), m = env_mac(mac);
	struct pol_decision d;
	struct pol_flow_key k;

	pol_flow_key_ip4(&k, VNI, &s, env_ip4(ip));
	env_decide(&k, VM1, &d);
	d.result = POL_RES_FORWARD;
	d.routed = true;
	d.src_mac = env_mac(GW_MAC);
	pol_path_translate(pol_ep_by_mac(RED, &m), &d);
	CU_ASSERT_FATAL(pol_decision_install(&d) == 0);
}

static void
test_routed_frame_rewritten_into_destination_network(void)
{
	struct env_frame f, exp, vx;
	const uint8_t *ip;

	red_topology();
	/* local: vm1 (blue) → vm3 (red) through the gateway */
	install_route_to_red(VM3_RED_IP, VM3_MAC);
	icmp_frame(&f, GW_MAC, VM1_MAC, VM1_IP, VM3_RED_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	exp = f;
	routed(&exp, VM3_MAC);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM3), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM3, 0), &exp));
	ip = rte_pktmbuf_mtod_offset(env_tx_pkt(VM3, 0), const uint8_t *, 14);
	CU_ASSERT_EQUAL(ip[8], 63);
	CU_ASSERT_EQUAL(rte_raw_cksum(ip, 20), 0xffff);
	env_tx_clear();

	/* remote: vm1 (blue) → rem2 (red): encapsulated in VNI 200 */
	install_route_to_red(REM2_IP, REM2_MAC);
	udp_frame(&f, GW_MAC, VM1_MAC, VM1_IP, REM2_IP, 1000, 53);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	exp = f;
	routed(&exp, REM2_MAC);
	vxlan_frame(&vx, NH_MAC, PHYS_MAC, LOCAL_TEP, TEP1, 49152, 0x08, RED, &exp);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(PHYS, 0), vx.b, vx.len, OUTER_SPORT_OFF, 2));
	env_tx_clear();

	/* within blue, by the resolver: to vm2's address through the gateway */
	icmp_frame(&f, GW_MAC, VM1_MAC, VM1_IP, VM2_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	exp = f;
	routed(&exp, VM2_MAC);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM2), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM2, 0), &exp));
}

static void
test_routed_ttl_1_dropped_and_non_ip_refused(void)
{
	struct env_frame f;

	red_topology();
	install_route_to_red(VM3_RED_IP, VM3_MAC);
	icmp_frame(&f, GW_MAC, VM1_MAC, VM1_IP, VM3_RED_IP, 8, 32);
	f.b[14 + 8] = 1;
	env_ipv4_fix_csum(f.b + 14);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_TTL_EXCEEDED, VM1));

	env_eth(&f, GW_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "fe80::1", "fd00::9", IPPROTO_UDP);
	env_udp(&f, 1, 2);
	env_frame_done(&f);
	input_frame(VM1, &f);
	CU_ASSERT(dropped(1, DP_DROP_ROUTE_NOT_IP4, VM1));
}

static void
test_arp_for_gateway_answered_with_gateway_mac(void)
{
	struct env_frame f, reply;

	CU_ASSERT(env_vnet_gateway(VNI, "blue", false, "10.0.0.254") == 0);
	arp_frame(&f, BCAST, VM1_MAC, RTE_ARP_OP_REQUEST, VM1_MAC, VM1_IP, NULL, "10.0.0.254");
	input_frame(VM1, &f);
	CU_ASSERT(no_drops());
	arp_frame(&reply, VM1_MAC, GW_MAC, RTE_ARP_OP_REPLY, GW_MAC, "10.0.0.254", VM1_MAC,
		  VM1_IP);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM1), 1);
	CU_ASSERT(is_frame(env_tx_pkt(VM1, 0), &reply));
	CU_ASSERT_EQUAL(env_tx_total(), 1);
}

static void
test_policy_tag_in_vxlan_bytes_2_3_only_when_set(void)
{
	struct pol_flow_key k = mac_key(VM1_MAC, REM_MAC);
	struct env_frame f;
	const uint8_t *vx;

	install_as(&k, POL_RES_FORWARD, 0xa1b2);
	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	input_frame(VM1, &f);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 1);
	vx = rte_pktmbuf_mtod_offset(env_tx_pkt(PHYS, 0), const uint8_t *, O_VX);
	CU_ASSERT(vx[0] == 0x08 && vx[1] == 0 && vx[2] == 0xa1 && vx[3] == 0xb2);
	CU_ASSERT(vx[4] == 0 && vx[5] == 0 && vx[6] == VNI && vx[7] == 0);
	env_tx_clear();
	install_as(&k, POL_RES_FORWARD, 0);
	input_frame(VM1, &f);
	CU_ASSERT_EQUAL_FATAL(env_tx_count(PHYS), 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(PHYS, 0), echo_vxlan, sizeof(echo_vxlan),
				 OUTER_SPORT_OFF, 2));
}

static void
test_decap_for_absent_vm_tells_the_sender(void)
{
	struct env_frame in, f;
	struct dp_event ev[4];
	struct pol_flow_key k;
	struct rte_ether_addr s = env_mac(REM_MAC), d = env_mac(NOBODY_MAC);

	icmp_frame(&in, NOBODY_MAC, REM_MAC, REM_IP, "10.0.0.77", 0, 32);
	from_tep1(&f, &in, VNI);
	input_raw(PHYS, &f);
	input_raw(PHYS, &f);   /* not twice within the interval */
	CU_ASSERT(dropped(2, DP_DROP_DST_NOT_LOCAL, PHYS));
	CU_ASSERT_EQUAL_FATAL(env_events_take(ev, 4), 1);
	CU_ASSERT_EQUAL(ev[0].type, DP_EV_NOT_LOCAL);
	CU_ASSERT_EQUAL(ev[0].tep, env_ip4(TEP1));
	pol_flow_key_mac(&k, VNI, &s, &d);
	CU_ASSERT(memcmp(&ev[0].key, &k, sizeof(k)) == 0);
}

static void
test_decap_with_other_policy_tag_delivered_and_reported(void)
{
	struct env_frame in, f;
	struct dp_event ev[4];

	atomic_store(&dp.policy_tag, 7);
	icmp_frame(&in, VM1_MAC, REM_MAC, REM_IP, VM1_IP, 0, 32);
	from_tep1(&f, &in, VNI);
	f.b[O_VX + 3] = 5;     /* tag 5: not ours */
	input_raw(PHYS, &f);
	input_raw(PHYS, &f);   /* once per TEP and interval */
	f.b[O_VX + 3] = 7;     /* ours */
	input_raw(PHYS, &f);
	f.b[O_VX + 3] = 0;     /* none */
	input_raw(PHYS, &f);
	atomic_store(&dp.policy_tag, 0);
	CU_ASSERT(no_drops());
	CU_ASSERT_EQUAL_FATAL(env_tx_count(VM1), 4);
	CU_ASSERT(is_frame(env_tx_pkt(VM1, 0), &in));
	CU_ASSERT_EQUAL_FATAL(env_events_take(ev, 4), 1);
	CU_ASSERT_EQUAL(ev[0].type, DP_EV_STALE_TAG);
	CU_ASSERT_EQUAL(ev[0].tag, 5);
	CU_ASSERT_EQUAL(ev[0].tep, env_ip4(TEP1));
	CU_ASSERT_EQUAL(ev[0].key.src_vni, VNI);
	CU_ASSERT(memcmp(ev[0].key.src_mac, (uint8_t[]){ 2, 0, 0, 0, 0x0b, 1 }, 6) == 0);
}

static void
test_held_frames_freed_when_worker_stops(void)
{
	struct env_frame f;

	icmp_frame(&f, REM_MAC, VM1_MAC, VM1_IP, REM_IP, 8, 32);
	input_raw(VM1, &f);
	CU_ASSERT_EQUAL(env_ctx->n_held, 1);
	dp_policy_held_free(env_ctx);
	CU_ASSERT_EQUAL(env_ctx->n_held, 0);
	CU_ASSERT(dropped(1, DP_DROP_POLICY_MISS, VM1));
	rte_ring_reset(dp.events);
}

static void
test_drop_reasons_have_distinct_names(void)
{
	for (unsigned i = 0; i < DP_DROP_MAX; i++) {
		CU_ASSERT(dp_drop_name(i) != NULL && dp_drop_name(i)[0] != '\0');
		CU_ASSERT(dp_drop_help(i) != NULL && dp_drop_help(i)[0] != '\0');
		for (unsigned j = 0; j < i; j++)
			CU_ASSERT(strcmp(dp_drop_name(i), dp_drop_name(j)) != 0);
	}
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "encap: echo to remote VM, byte for byte", test_encap_echo_to_remote_vm_byte_for_byte },
		{ "encap: outer source port follows the inner flow", test_encap_source_port_follows_inner_flow },
		{ "encap: finishes checksums left to the device",
		  test_encap_finishes_checksums_left_to_the_device },
		{ "encap: beyond underlay MTU dropped", test_encap_beyond_underlay_mtu_dropped },
		{ "encap: beyond MTU without DF dropped silently",
		  test_encap_beyond_mtu_without_df_dropped_silently },
		{ "encap: fragmentation-needed answers rate-limited",
		  test_frag_needed_answers_are_rate_limited },
		{ "encap: unresolved next hop dropped", test_encap_to_unresolved_next_hop_dropped },
		{ "encap: no tunnel dropped", test_encap_without_tunnel_dropped },
		{ "decap: inner frame delivered byte for byte", test_decap_delivers_inner_frame_byte_for_byte },
		{ "decap: bytes after the outer IP packet trimmed", test_decap_trims_bytes_after_outer_ip_packet },
		{ "decap: reserved VXLAN bits ignored", test_decap_ignores_reserved_vxlan_bits },
		{ "decap: only from known tunnel endpoints", test_decap_accepts_only_known_tunnel_endpoints },
		{ "decap: not for this TEP dropped", test_decap_drops_frames_for_another_tep },
		{ "decap: other underlay traffic dropped", test_decap_drops_other_underlay_traffic },
		{ "decap: bad outer IP checksum dropped", test_decap_drops_bad_outer_ip_checksum },
		{ "decap: outer fragments dropped", test_decap_drops_outer_fragments },
		{ "decap: VXLAN without I flag dropped", test_decap_drops_vxlan_without_i_flag },
		{ "decap: unknown VNI dropped", test_decap_drops_unknown_vni },
		{ "decap: inner destination not local dropped", test_decap_drops_inner_destination_not_local },
		{ "decap: every truncation malformed", test_decap_truncated_frames_malformed },
		{ "decap: inconsistent lengths malformed", test_decap_inconsistent_lengths_malformed },
		{ "decap: mixed burst", test_decap_mixed_burst },
		{ "arp: request for remote VM answered locally", test_arp_request_for_remote_vm_answered_locally },
		{ "arp: request for local VM answered locally", test_arp_request_for_local_vm_answered_locally },
		{ "arp: request for unknown IP dropped", test_arp_request_for_unknown_ip_dropped },
		{ "arp: gratuitous absorbed", test_gratuitous_arp_absorbed },
		{ "arp: probe for own address absorbed", test_arp_probe_for_own_address_absorbed },
		{ "arp: invalid dropped", test_invalid_arp_dropped },
		{ "arp: underlay ARP punted", test_underlay_arp_punted_to_control_thread },
		{ "arp: underlay ARP, control queue full", test_underlay_arp_with_control_queue_full_dropped },
		{ "security: foreign source MAC", test_port_security_drops_foreign_source_mac },
		{ "security: foreign source IPv4", test_port_security_drops_foreign_source_ipv4 },
		{ "security: ARP with forged sender IP", test_port_security_drops_arp_with_forged_sender_ip },
		{ "security: ARP sender MAC not Ethernet source", test_port_security_drops_arp_sender_mac_not_ethernet_source },
		{ "security: DHCP client from 0.0.0.0 allowed", test_port_security_lets_dhcp_client_use_unspecified_address },
		{ "security: unbound port", test_port_security_drops_frames_of_unbound_port },
		{ "security: VLAN-tagged frame", test_vlan_tagged_frame_from_vm_dropped },
		{ "security: IPv6 sources", test_port_security_ipv6_sources },
		{ "vm: every truncation malformed", test_vm_truncated_frames_malformed },
		{ "switch: local VM to local VM unchanged", test_local_vm_to_local_vm_switched_unchanged },
		{ "switch: hairpin dropped", test_frame_to_own_port_dropped_as_hairpin },
		{ "switch: VM queues disabled, tx_full", test_frame_to_vm_with_queues_disabled_counted_tx_full },
		{ "switch: mixed burst", test_mixed_burst_from_vm_each_frame_takes_its_path },
		{ "bum: dropped without flooding", test_bum_dropped_when_network_does_not_flood },
		{ "bum: flood from VM to each member port and TEP once", test_flood_from_vm_reaches_each_member_port_and_tep_once },
		{ "bum: flood burst fills tx buffers", test_flood_burst_fills_tx_buffers },
		{ "bum: flood from network to local members only", test_flood_from_network_reaches_local_members_only },
		{ "bum: from network dropped without flooding", test_bum_from_network_dropped_when_network_does_not_flood },
		{ "bum: ARP request from network to target VM only", test_arp_request_from_network_reaches_target_vm_only },
		{ "policy: deny, chain down, unknown", test_denied_frame_dropped_policy_deny },
		{ "policy: miss held, forwarded after install", test_miss_held_then_forwarded_after_install },
		{ "policy: held frame dropped when its time is up", test_held_frame_dropped_when_its_time_is_up },
		{ "policy: hold queue full, nothing lost", test_hold_queue_full_drops_policy_miss_and_loses_nothing },
		{ "policy: miss reported once per interval", test_miss_reported_once_per_interval },
		{ "policy: held frames freed when the worker stops", test_held_frames_freed_when_worker_stops },
		{ "route: rewritten into the destination network", test_routed_frame_rewritten_into_destination_network },
		{ "route: TTL 1 dropped, non-IPv4 refused", test_routed_ttl_1_dropped_and_non_ip_refused },
		{ "arp: gateway answered with the gateway MAC", test_arp_for_gateway_answered_with_gateway_mac },
		{ "encap: policy tag in VXLAN bytes 2-3 only when set", test_policy_tag_in_vxlan_bytes_2_3_only_when_set },
		{ "decap: VM not here, the sender is told", test_decap_for_absent_vm_tells_the_sender },
		{ "decap: other policy tag delivered and reported", test_decap_with_other_policy_tag_delivered_and_reported },
		{ "drop reasons have distinct names", test_drop_reasons_have_distinct_names },
	};
	const struct unit_suite suite = { "datapath", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, test_teardown };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_datapath: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
