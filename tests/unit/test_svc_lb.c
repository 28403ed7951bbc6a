/* Unit tests of the built-in load balancer (src/services/svc_lb.c: hash,
 * address rewrite, attachment) and of its stage in the datapath
 * (src/datapath/dp_lb.c, the VIP answer of arp_proxy.c): which backend a
 * flow goes to, what a backend and a client then receive, and that the
 * checksums stay right.
 *
 * Topology, network "blue" VNI 100, gateway 10.0.0.254:
 *
 *   port 1  client c1 02:00:00:00:0a:01 10.0.0.1   (LB enabled: VIP 10.0.0.100)
 *   port 2  backend b1 02:00:00:00:0b:01 10.0.0.11
 *   port 3  backend b2 02:00:00:00:0b:02 10.0.0.12
 *   port 4  backend b3 02:00:00:00:0b:03 10.0.0.13
 *
 * The teardown checks that every frame a test made was freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "unit_main.h"
#include "dp.h"
#include "dp_test_env.h"
#include "dp_trace.h"
#include "svc_catalog.h"
#include "svc_lb.h"

#define VNI 100
#define CLIENT 1
#define B1 2
#define NB 3                     /* backends, on ports B1 .. B1 + NB - 1 */
#define GW_IP "10.0.0.254"
#define C1_MAC "02:00:00:00:0a:01"
#define C1_IP "10.0.0.1"
#define VIP "10.0.0.100"
#define LB_SLOT 7                /* the LB profile's counter slot */

static const char *const b_mac[NB] = { "02:00:00:00:0b:01", "02:00:00:00:0b:02",
				       "02:00:00:00:0b:03" };
static const char *const b_ip[NB] = { "10.0.0.11", "10.0.0.12", "10.0.0.13" };
static unsigned pool_start;

/* ---- tables ---- */

/* The client's table: VIP:@port/@proto over the first @n backends, which
 * listen on @bport. */
static struct svc_lb *
client_lb(unsigned n, uint16_t port, uint16_t bport, uint8_t proto)
{
	struct svc_lb *lb = calloc(1, sizeof(*lb));
	struct svc_lb_vip *v = &lb->vips[0];

	CU_ASSERT_FATAL(lb != NULL);
	lb->n_vips = 1;
	v->vni = VNI;
	v->vip = env_ip4(VIP);
	v->port = rte_cpu_to_be_16(port);
	v->backend_port = rte_cpu_to_be_16(bport);
	v->proto = proto;
	v->profile = LB_SLOT;
	v->n_backends = (uint8_t)n;
	for (unsigned b = 0; b < n; b++) {
		v->backend_ip[b] = env_ip4(b_ip[b]);
		v->backend_pos[b] = (uint8_t)b;
	}
	return lb;
}

/* A backend's table: replies from @bport/@proto answer as VIP:@port. */
static struct svc_lb *
backend_lb(uint16_t port, uint16_t bport, uint8_t proto)
{
	struct svc_lb *lb = calloc(1, sizeof(*lb));

	CU_ASSERT_FATAL(lb != NULL);
	lb->n_rev = 1;
	lb->rev[0].proto = proto;
	lb->rev[0].backend_port = rte_cpu_to_be_16(bport);
	lb->rev[0].vip = env_ip4(VIP);
	lb->rev[0].port = rte_cpu_to_be_16(port);
	return lb;
}

/* ---- frames ---- */

static struct rte_ipv4_hdr *
ip_of(uint8_t *frame)
{
	return (struct rte_ipv4_hdr *)(frame + sizeof(struct rte_ether_hdr));
}

/* A TCP or UDP frame with every checksum right (@l4_cksum false: a UDP
 * frame without checksum). */
static void
l4_frame(struct env_frame *f, const char *dmac, const char *smac, const char *sip,
	 const char *dip, uint8_t proto, uint16_t sport, uint16_t dport, bool l4_cksum)
{
	struct rte_ipv4_hdr *ip;
	uint8_t *l4;

	env_eth(f, dmac, smac, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, sip, dip, proto);
	if (proto == IPPROTO_TCP)
		env_tcp(f, sport, dport);
	else
		env_udp(f, sport, dport);
	env_payload(f, 21);
	env_frame_done(f);
	ip = ip_of(f->b);
	l4 = f->b + f->l3 + sizeof(*ip);
	if (proto == IPPROTO_TCP) {
		((struct rte_tcp_hdr *)l4)->cksum = 0;
		((struct rte_tcp_hdr *)l4)->cksum = rte_ipv4_udptcp_cksum(ip, l4);
	} else {
		((struct rte_udp_hdr *)l4)->dgram_cksum = 0;
		if (l4_cksum)
			((struct rte_udp_hdr *)l4)->dgram_cksum = rte_ipv4_udptcp_cksum(ip, l4);
	}
}

/* Whether the IPv4 header checksum of @ip is what rte_ipv4_cksum computes. */
static bool
ip_cksum_ok(struct rte_ipv4_hdr *ip)
{
	uint16_t c = ip->hdr_checksum, e;

	ip->hdr_checksum = 0;
	e = rte_ipv4_cksum(ip);
	ip->hdr_checksum = c;
	return c == e;
}

/* Whether the TCP/UDP checksum of @ip is what rte_ipv4_udptcp_cksum
 * computes (0 and 0xffff are both zero in one's complement for TCP). */
static bool
l4_cksum_ok(struct rte_ipv4_hdr *ip)
{
	uint8_t *l4 = (uint8_t *)ip + rte_ipv4_hdr_len(ip);
	uint8_t *ck = l4 + (ip->next_proto_id == IPPROTO_TCP ? 16 : 6);
	uint16_t c, e, zero = 0;

	memcpy(&c, ck, 2);
	memcpy(ck, &zero, 2);
	e = rte_ipv4_udptcp_cksum(ip, l4);
	memcpy(ck, &c, 2);
	return c == e || (ip->next_proto_id == IPPROTO_TCP && (uint16_t)(c + e) == 0xffff &&
			  (c == 0 || e == 0));
}

static uint16_t
sport_of(struct rte_ipv4_hdr *ip)
{
	return rte_be_to_cpu_16(((struct rte_tcp_hdr *)((uint8_t *)ip + rte_ipv4_hdr_len(ip)))->src_port);
}

static uint16_t
dport_of(struct rte_ipv4_hdr *ip)
{
	return rte_be_to_cpu_16(((struct rte_tcp_hdr *)((uint8_t *)ip + rte_ipv4_hdr_len(ip)))->dst_port);
}

/* Send @f from @port through the VM input path and let the switch decide. */
static void
send_from(uint16_t port, const struct env_frame *f)
{
	struct rte_mbuf *m = env_frame_mbuf(f);

	CU_ASSERT_FATAL(m != NULL);
	dp_input(env_ctx, port, &m, 1);
	env_settle();
}

/* The backend (0..NB-1) whose port got frames, -1 if none or several. */
static int
backend_that_got(unsigned *count)
{
	int which = -1;

	for (int b = 0; b < NB; b++) {
		if (env_tx_count(B1 + b) == 0)
			continue;
		if (which >= 0)
			return -1;
		which = b;
		*count = env_tx_count(B1 + b);
	}
	return which;
}

/* ---- fixture ---- */

static void
test_setup(void)
{
	env_ctx_reset();
	CU_ASSERT(env_tables_reset(1024) == 0);
	CU_ASSERT(env_port_add(CLIENT, DP_PORT_VHOST, "c1", "02:00:00:00:01:01") != NULL);
	CU_ASSERT(env_vnet_gateway(VNI, "blue", false, GW_IP) == 0);
	for (int b = 0; b < NB; b++) {
		char name[8];

		snprintf(name, sizeof(name), "b%d", b + 1);
		CU_ASSERT(env_port_add(B1 + b, DP_PORT_VHOST, name, "02:00:00:00:01:0f") != NULL);
		CU_ASSERT(env_ep_local(VNI, name, b_mac[b], b_ip[b], B1 + b) == 0);
	}
	CU_ASSERT(env_ep_local(VNI, "c1", C1_MAC, C1_IP, CLIENT) == 0);
	pool_start = env_pool_in_use();
}

static void
test_teardown(void)
{
	svc_lb_ports_clear();
	pol_defer_drain();
	env_tx_clear();
	env_punt_drain();
	CU_ASSERT_EQUAL(env_pool_in_use(), pool_start);
	env_ports_clear();
}

/* ---- the hash ---- */

static void
test_hash_spreads_3000_flows_over_3_backends_within_10_percent(void)
{
	unsigned n[3] = { 0 };

	srand(4242);
	for (unsigned i = 0; i < 3000; i++) {
		uint32_t src = (uint32_t)rand(), dst = (uint32_t)rand();
		uint16_t sport = (uint16_t)rand(), dport = (uint16_t)rand();

		n[svc_lb_pick(svc_lb_hash(IPPROTO_TCP, src, dst, sport, dport), 3)]++;
	}
	for (unsigned b = 0; b < 3; b++) {
		if (n[b] < 900 || n[b] > 1100)
			fprintf(stderr, "\n  backend %u got %u of 3000\n", b, n[b]);
		CU_ASSERT(n[b] >= 900 && n[b] <= 1100);
	}
}

static void
test_consecutive_client_ports_spread_too(void)
{
	unsigned n[3] = { 0 };

	/* what a real client does: one address, ephemeral ports in a row */
	for (unsigned i = 0; i < 3000; i++)
		n[svc_lb_pick(svc_lb_hash(IPPROTO_TCP, env_ip4(C1_IP), env_ip4(VIP),
					  rte_cpu_to_be_16((uint16_t)(32768 + i)),
					  rte_cpu_to_be_16(80)), 3)]++;
	for (unsigned b = 0; b < 3; b++)
		CU_ASSERT(n[b] >= 900 && n[b] <= 1100);
}

static void
test_one_flow_always_goes_to_one_backend(void)
{
	struct svc_lb *lb = client_lb(NB, 80, 80, IPPROTO_TCP);
	struct env_frame f;
	unsigned count = 0, first_pick = 0;

	for (unsigned i = 0; i < 50; i++) {
		struct svc_lb_hit hit;
		uint8_t copy[ENV_FRAME_MAX];

		l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40000, 80, true);
		memcpy(copy, f.b, f.len);
		CU_ASSERT_EQUAL(svc_lb_frame(lb, VNI, true, ip_of(copy), f.len - 14, &hit),
				SVC_LB_DNAT);
		if (i == 0)
			first_pick = hit.backend;
		CU_ASSERT_EQUAL(hit.backend, first_pick);
	}
	/* and through the datapath, after the decision is installed */
	svc_lb_port_set(CLIENT, lb);
	for (unsigned i = 0; i < 10; i++)
		send_from(CLIENT, &f);
	CU_ASSERT_EQUAL(backend_that_got(&count), (int)first_pick);
	CU_ASSERT_EQUAL(count, 10);
	CU_ASSERT_EQUAL(env_ctx->lb[LB_SLOT][first_pick], 10);
}

/* ---- forward: client to VIP ---- */

static void
check_dnat(uint8_t proto, uint16_t bport)
{
	struct env_frame f;
	unsigned count = 0;
	int b;

	svc_lb_port_set(CLIENT, client_lb(NB, 80, bport, proto));
	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, proto, 40001, 80, true);
	send_from(CLIENT, &f);
	b = backend_that_got(&count);
	CU_ASSERT_FATAL(b >= 0);
	CU_ASSERT_EQUAL(count, 1);
	{
		struct rte_mbuf *m = env_tx_pkt(B1 + b, 0);
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
		struct rte_ether_addr bm = env_mac(b_mac[b]), gw = env_mac(ENV_GW_MAC);

		CU_ASSERT(rte_is_same_ether_addr(&eh->dst_addr, &bm));
		CU_ASSERT(rte_is_same_ether_addr(&eh->src_addr, &gw));   /* routed */
		CU_ASSERT_EQUAL(ip->dst_addr, env_ip4(b_ip[b]));
		CU_ASSERT_EQUAL(ip->src_addr, env_ip4(C1_IP));
		CU_ASSERT_EQUAL(ip->time_to_live, 63);
		CU_ASSERT_EQUAL(dport_of(ip), bport);
		CU_ASSERT_EQUAL(sport_of(ip), 40001);
		CU_ASSERT(ip_cksum_ok(ip));
		CU_ASSERT(l4_cksum_ok(ip));
	}
	CU_ASSERT_EQUAL(env_ctx->lb[LB_SLOT][b], 1);
}

static void
test_tcp_to_vip_reaches_a_backend_with_right_checksums(void)
{
	check_dnat(IPPROTO_TCP, 80);
}

static void
test_tcp_to_vip_with_another_backend_port(void)
{
	check_dnat(IPPROTO_TCP, 8080);
}

static void
test_udp_to_vip_reaches_a_backend_with_right_checksums(void)
{
	check_dnat(IPPROTO_UDP, 5353);
}

static void
test_udp_without_checksum_stays_without(void)
{
	struct svc_lb *lb = client_lb(NB, 53, 5353, IPPROTO_UDP);
	struct env_frame f;
	struct svc_lb_hit hit;
	struct rte_ipv4_hdr *ip;

	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_UDP, 40002, 53, false);
	ip = ip_of(f.b);
	CU_ASSERT_EQUAL(svc_lb_frame(lb, VNI, true, ip, f.len - 14, &hit), SVC_LB_DNAT);
	CU_ASSERT_EQUAL(((struct rte_udp_hdr *)(ip + 1))->dgram_cksum, 0);
	CU_ASSERT_EQUAL(dport_of(ip), 5353);
	CU_ASSERT(ip_cksum_ok(ip));
	free(lb);
}

/* ---- reverse: backend to client ---- */

static void
test_backend_reply_answers_as_the_vip(void)
{
	uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };

	for (unsigned i = 0; i < 2; i++) {
		struct env_frame f;
		struct rte_mbuf *m;
		struct rte_ipv4_hdr *ip;

		svc_lb_port_set(B1, backend_lb(80, 8080, protos[i]));
		l4_frame(&f, C1_MAC, b_mac[0], b_ip[0], C1_IP, protos[i], 8080, 40003, true);
		send_from(B1, &f);
		CU_ASSERT_FATAL(env_tx_count(CLIENT) == 1);
		m = env_tx_pkt(CLIENT, 0);
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		CU_ASSERT_EQUAL(ip->src_addr, env_ip4(VIP));
		CU_ASSERT_EQUAL(ip->dst_addr, env_ip4(C1_IP));
		CU_ASSERT_EQUAL(sport_of(ip), 80);
		CU_ASSERT_EQUAL(dport_of(ip), 40003);
		CU_ASSERT(ip_cksum_ok(ip));
		CU_ASSERT(l4_cksum_ok(ip));
		env_tx_clear();
	}
}

static void
test_backend_traffic_from_other_ports_untouched(void)
{
	struct env_frame f;

	svc_lb_port_set(B1, backend_lb(80, 8080, IPPROTO_TCP));
	l4_frame(&f, C1_MAC, b_mac[0], b_ip[0], C1_IP, IPPROTO_TCP, 22, 40004, true);
	send_from(B1, &f);
	CU_ASSERT_FATAL(env_tx_count(CLIENT) == 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(CLIENT, 0), f.b, f.len, 0, 0));
	/* UDP from 8080 is not the TCP service */
	env_tx_clear();
	l4_frame(&f, C1_MAC, b_mac[0], b_ip[0], C1_IP, IPPROTO_UDP, 8080, 40004, true);
	send_from(B1, &f);
	CU_ASSERT_FATAL(env_tx_count(CLIENT) == 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(CLIENT, 0), f.b, f.len, 0, 0));
}

/* ---- what is not LB traffic ---- */

static void
expect_pass(const struct svc_lb *lb, const struct env_frame *f, bool to_gw)
{
	uint8_t copy[ENV_FRAME_MAX];
	struct svc_lb_hit hit;

	memcpy(copy, f->b, f->len);
	CU_ASSERT_EQUAL(svc_lb_frame(lb, VNI, to_gw, ip_of(copy), f->len - 14, &hit), SVC_LB_PASS);
	CU_ASSERT(memcmp(copy, f->b, f->len) == 0);
}

static void
test_frames_not_to_the_vip_untouched(void)
{
	struct svc_lb *lb = client_lb(NB, 80, 80, IPPROTO_TCP);
	struct env_frame f;
	struct rte_ipv4_hdr *ip;

	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40005, 81, true);
	expect_pass(lb, &f, true);                  /* another port */
	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_UDP, 40005, 80, true);
	expect_pass(lb, &f, true);                  /* another protocol */
	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, "10.0.0.101", IPPROTO_TCP, 40005, 80, true);
	expect_pass(lb, &f, true);                  /* another address */
	l4_frame(&f, b_mac[0], C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40005, 80, true);
	expect_pass(lb, &f, false);                 /* not through the gateway */
	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40005, 80, true);
	ip = ip_of(f.b);
	ip->fragment_offset = rte_cpu_to_be_16(100);  /* a later fragment: no ports */
	env_ipv4_fix_csum((uint8_t *)ip);
	expect_pass(lb, &f, true);
	free(lb);
}

static void
test_client_traffic_to_a_vm_untouched(void)
{
	struct env_frame f;

	svc_lb_port_set(CLIENT, client_lb(NB, 80, 80, IPPROTO_TCP));
	l4_frame(&f, b_mac[1], C1_MAC, C1_IP, b_ip[1], IPPROTO_TCP, 40006, 80, true);
	send_from(CLIENT, &f);
	CU_ASSERT_FATAL(env_tx_count(B1 + 1) == 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(B1 + 1, 0), f.b, f.len, 0, 0));
	CU_ASSERT_EQUAL(env_ctx->lb[LB_SLOT][1], 0);
}

static void
test_vip_without_backends_drops_lb_no_backend(void)
{
	struct env_frame f;

	svc_lb_port_set(CLIENT, client_lb(0, 80, 80, IPPROTO_TCP));
	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40007, 80, true);
	send_from(CLIENT, &f);
	CU_ASSERT_EQUAL(env_tx_total(), 0);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_LB_NO_BACKEND], 1);
	CU_ASSERT_STRING_EQUAL(dp_drop_name(DP_DROP_LB_NO_BACKEND), "lb_no_backend");
}

/* ---- ARP for the VIP ---- */

static void
arp_request(struct env_frame *f, const char *sha, const char *spa, const char *tpa)
{
	env_eth(f, "ff:ff:ff:ff:ff:ff", sha, RTE_ETHER_TYPE_ARP);
	env_arp(f, RTE_ARP_OP_REQUEST, sha, spa, NULL, tpa);
}

static void
test_arp_for_the_vip_answered_with_the_gateway_mac_for_clients_only(void)
{
	struct env_frame f;
	struct rte_mbuf *m;
	struct rte_arp_hdr *a;
	struct rte_ether_addr gw = env_mac(ENV_GW_MAC);

	svc_lb_port_set(CLIENT, client_lb(NB, 80, 80, IPPROTO_TCP));
	arp_request(&f, C1_MAC, C1_IP, VIP);
	send_from(CLIENT, &f);
	CU_ASSERT_FATAL(env_tx_count(CLIENT) == 1);
	m = env_tx_pkt(CLIENT, 0);
	a = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, 14);
	CU_ASSERT_EQUAL(a->arp_opcode, RTE_BE16(RTE_ARP_OP_REPLY));
	CU_ASSERT(rte_is_same_ether_addr(&a->arp_data.arp_sha, &gw));
	CU_ASSERT_EQUAL(a->arp_data.arp_sip, env_ip4(VIP));
	/* b1 is no client: nobody owns the VIP for it */
	arp_request(&f, b_mac[0], b_ip[0], VIP);
	send_from(B1, &f);
	CU_ASSERT_EQUAL(env_tx_count(B1), 0);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_ARP_UNKNOWN], 1);
}

/* ---- trace ---- */

/* The "lb" steps of a trace of @f sent from @port, joined by " | ". */
static void
lb_trace(uint16_t port, const struct env_frame *f, char *out, size_t len)
{
	struct dp_trace *t = dp_trace_new();

	out[0] = '\0';
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT(dp_trace_run(t, port, env_frame_mbuf(f)) == 0);
	for (unsigned s = 0; s < t->n_steps; s++)
		if (strcmp(t->steps[s].stage, "lb") == 0)
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " | " : "",
				 t->steps[s].decision);
	dp_trace_free(t);
}

static void
test_trace_says_what_the_load_balancer_did(void)
{
	struct env_frame f;
	char got[1024], want[256];
	struct svc_lb_hit hit;
	uint8_t copy[ENV_FRAME_MAX];
	struct svc_lb *lb = client_lb(NB, 80, 8080, IPPROTO_TCP);

	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40008, 80, true);
	memcpy(copy, f.b, f.len);
	CU_ASSERT(svc_lb_frame(lb, VNI, true, ip_of(copy), f.len - 14, &hit) == SVC_LB_DNAT);
	svc_lb_port_set(CLIENT, lb);
	lb_trace(CLIENT, &f, got, sizeof(got));
	snprintf(want, sizeof(want), "VIP " VIP ":80 (profile %d): backend %u of 3, now to %s:8080",
		 LB_SLOT, hit.backend + 1, b_ip[hit.backend]);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(env_ctx->lb[LB_SLOT][hit.backend], 0);   /* a trace counts nothing */
	/* not LB traffic, and a port without LB: nothing said */
	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40008, 81, true);
	lb_trace(CLIENT, &f, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "");
	l4_frame(&f, C1_MAC, b_mac[0], b_ip[0], C1_IP, IPPROTO_TCP, 8080, 40008, true);
	lb_trace(B1, &f, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "");
	svc_lb_port_set(B1, backend_lb(80, 8080, IPPROTO_TCP));
	lb_trace(B1, &f, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "reply of a backend: now from VIP " VIP ":80");
	svc_lb_port_set(CLIENT, client_lb(0, 80, 80, IPPROTO_TCP));
	l4_frame(&f, ENV_GW_MAC, C1_MAC, C1_IP, VIP, IPPROTO_TCP, 40008, 80, true);
	lb_trace(CLIENT, &f, got, sizeof(got));
	/* the drop is recorded after the decision, under the same stage */
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "VIP " VIP ":80 (profile 7) has no backend | "
				      "drop: lb_no_backend"));
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_LB_NO_BACKEND], 0);
}

/* ---- attachment, definition ---- */

static void
test_port_without_lb_has_nothing_attached(void)
{
	CU_ASSERT_PTR_NULL(svc_lb_port_get(CLIENT));
	svc_lb_port_set(CLIENT, client_lb(NB, 80, 80, IPPROTO_TCP));
	CU_ASSERT_PTR_NOT_NULL(svc_lb_port_get(CLIENT));
	svc_lb_port_set(CLIENT, NULL);
	CU_ASSERT_PTR_NULL(svc_lb_port_get(CLIENT));
}

static void
test_shipped_definition_registers_with_a_profile(void)
{
	static const char profile[] =
		"profile:\n  name: lb-web\n  service: l4-load-balancer\n  level: basic\n"
		"  parameters: {vip: \"10.0.0.100\", port: \"80\", backends: \"b1,b2,b3\"}\n"
		"  scope: {vms: [c1]}\n";
	const char *src = getenv("VS_SOURCE_DIR");
	struct svc_catalog *cat = svc_catalog_new();
	const struct svc_service *s;
	char path[4096], err[512] = "";
	int rc;

	CU_ASSERT_FATAL(src != NULL && cat != NULL);
	snprintf(path, sizeof(path), "%s/config/services/load-balancer.yaml", src);
	rc = svc_catalog_register(cat, path, NULL, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT(rc == 1);
	s = svc_catalog_service(cat, "l4-load-balancer");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->def->builtin, SVC_BUILTIN_LB);
	CU_ASSERT_EQUAL(s->def->insertion, SVC_INS_NETWORK);
	CU_ASSERT_STRING_EQUAL(svc_params_get(&s->def->params, "proto")->value, "tcp");
	CU_ASSERT_PTR_NOT_NULL(svc_params_get(&s->def->params, "backend_port"));
	rc = svc_catalog_register(cat, "profile.yaml", profile, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT(rc == 1);
	svc_catalog_free(cat);
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "hash: 3000 flows over 3 backends within 10%", test_hash_spreads_3000_flows_over_3_backends_within_10_percent },
		{ "hash: consecutive client ports spread too", test_consecutive_client_ports_spread_too },
		{ "hash: one flow always goes to one backend", test_one_flow_always_goes_to_one_backend },
		{ "dnat: TCP to the VIP reaches a backend, checksums right", test_tcp_to_vip_reaches_a_backend_with_right_checksums },
		{ "dnat: TCP with another backend port", test_tcp_to_vip_with_another_backend_port },
		{ "dnat: UDP to the VIP reaches a backend, checksums right", test_udp_to_vip_reaches_a_backend_with_right_checksums },
		{ "dnat: UDP without checksum stays without", test_udp_without_checksum_stays_without },
		{ "snat: a backend's reply answers as the VIP", test_backend_reply_answers_as_the_vip },
		{ "snat: other backend traffic untouched", test_backend_traffic_from_other_ports_untouched },
		{ "pass: frames not to the VIP untouched", test_frames_not_to_the_vip_untouched },
		{ "pass: client traffic to a VM untouched", test_client_traffic_to_a_vm_untouched },
		{ "drop: VIP without backends drops lb_no_backend", test_vip_without_backends_drops_lb_no_backend },
		{ "arp: VIP answered with the gateway MAC for clients only", test_arp_for_the_vip_answered_with_the_gateway_mac_for_clients_only },
		{ "trace: says what the load balancer did", test_trace_says_what_the_load_balancer_did },
		{ "attach: set and clear a port's table", test_port_without_lb_has_nothing_attached },
		{ "definition: shipped file registers, a profile of it too", test_shipped_definition_registers_with_a_profile },
	};
	const struct unit_suite suite = { "svc_lb", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, test_teardown };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_svc_lb: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
