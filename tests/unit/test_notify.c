/* Unit tests of switch-to-switch notifications: the wire format
 * (src/policy/pol_notify.c), the rate limiter and the receiver
 * (src/ctl/ctl_notify.c), the punt of notifications by the network input
 * path (src/datapath/underlay_input.c) and their dispatch and sending on
 * the underlay (src/ctl/ctl_underlay.c).
 *
 * The fixture (dp_test_env.h) gives one physical port "uplink"
 * 02:00:00:00:00:aa 192.0.2.1/24 with an inject ring; peer 192.0.2.2 is a
 * known tunnel endpoint, 192.0.2.9 is not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <jansson.h>
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "unit_main.h"

#include "ctl_notify.h"
#include "ctl_underlay.h"
#include "dp_test_env.h"
#include "pol_notify.h"

#define PHYS 0
#define PHYS_MAC "02:00:00:00:00:aa"
#define LOCAL_TEP "192.0.2.1"
#define PEER "192.0.2.2"
#define PEER_MAC "02:00:00:00:00:bb"
#define STRANGER "192.0.2.9"
#define NPORT 4799
#define INTERVAL_MS 60000             /* long enough never to elapse in a test */

static const uint8_t vm_mac[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static struct dp_port *phys;
static unsigned moved_calls, stale_calls;
static bool hook_result = true;
static uint32_t last_vni;
static uint64_t last_revision;

/* ---- helpers ---- */

static struct pol_notify
moved(void)
{
	struct pol_notify n = { .type = POL_NOTIFY_MOVED, .sender_tep = env_ip4(PEER),
				.vni = 0x123456 };

	memcpy(n.mac, vm_mac, 6);
	return n;
}

static struct pol_notify
stale(void)
{
	return (struct pol_notify){ .type = POL_NOTIFY_STALE_POLICY, .sender_tep = env_ip4(PEER),
				    .revision = 0x0102030405060708ull };
}

static void
encode(const struct pol_notify *n, uint8_t buf[POL_NOTIFY_LEN])
{
	CU_ASSERT_EQUAL_FATAL(pol_notify_encode(n, buf, POL_NOTIFY_LEN), POL_NOTIFY_LEN);
}

/* Decode @buf after setting byte @off to @v. */
static int
decode_with(const uint8_t *buf, size_t off, uint8_t v)
{
	uint8_t b[POL_NOTIFY_LEN];
	struct pol_notify n;

	memcpy(b, buf, sizeof(b));
	b[off] = v;
	return pol_notify_decode(b, sizeof(b), &n);
}

static bool
hook_moved(uint32_t from, uint32_t vni, const uint8_t mac[6])
{
	moved_calls++;
	last_vni = vni;
	CU_ASSERT_EQUAL(from, env_ip4(PEER));
	CU_ASSERT(memcmp(mac, vm_mac, 6) == 0);
	return hook_result;
}

static bool
hook_stale(uint32_t from, uint64_t revision)
{
	stale_calls++;
	last_revision = revision;
	CU_ASSERT_EQUAL(from, env_ip4(PEER));
	return hook_result;
}

static const struct ctl_notify_hooks hooks = { hook_moved, hook_stale };

/* ctl_notify set up afresh on port @port with the test's hooks. */
static void
notify_init(uint16_t port)
{
	struct ctl_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.policy.notify_port = port;
	cfg.policy.notify_interval_ms = INTERVAL_MS;
	CU_ASSERT_EQUAL_FATAL(ctl_notify_init(&cfg, &hooks), 0);
	moved_calls = stale_calls = 0;
	hook_result = true;
}

static json_int_t
counter(const char *name)
{
	json_t *j = ctl_notify_json();
	json_int_t v = json_integer_value(json_object_get(j, name));

	CU_ASSERT_PTR_NOT_NULL(json_object_get(j, name));
	json_decref(j);
	return v;
}

/* A notification frame from @src to us carrying @len bytes of @payload. */
static void
notify_frame(struct env_frame *f, const char *src, const void *payload, size_t len)
{
	memset(f, 0, sizeof(*f));
	env_eth(f, PHYS_MAC, PEER_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, src, LOCAL_TEP, IPPROTO_UDP);
	env_udp(f, NPORT, NPORT);
	env_put(f, payload, len);
	env_frame_done(f);
}

static struct rte_mbuf *
notify_mbuf(const char *src, const struct pol_notify *n)
{
	uint8_t buf[POL_NOTIFY_LEN];
	struct env_frame f;
	struct rte_mbuf *m;

	encode(n, buf);
	notify_frame(&f, src, buf, sizeof(buf));
	m = env_frame_mbuf(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	dp_meta(m)->in_port = PHYS;
	return m;
}

static void
inject_drain(void)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(phys->inject, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

static int
suite_init(void)
{
	phys = env_port_add(PHYS, DP_PORT_PHYS, "uplink", PHYS_MAC);
	if (phys == NULL)
		return -1;
	env_port_underlay(phys, LOCAL_TEP, 24, 1500);
	phys->inject = rte_ring_create("unit_inject", 64, SOCKET_ID_ANY, 0);
	if (phys->inject == NULL)
		return -1;
	return pol_tep_add(env_ip4(PEER)) < 0 ? -1 : 0;
}

static int
suite_clean(void)
{
	ctl_notify_fini();
	if (phys != NULL) {
		inject_drain();
		rte_ring_free(phys->inject);
		phys->inject = NULL;
	}
	return 0;
}

static void
test_setup(void)
{
	env_ctx_reset();
	env_punt_drain();
	if (phys != NULL)
		inject_drain();
}

/* ---- wire format ---- */

static void
test_moved_round_trip_and_layout(void)
{
	struct pol_notify in = moved(), out;
	uint8_t b[POL_NOTIFY_LEN];
	static const uint8_t head[] = { 'D', 'V', 'S', 'N', 1, 1, 0, 32, 192, 0, 2, 2,
					0, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0x0a, 1, 0, 0 };

	encode(&in, b);
	CU_ASSERT(memcmp(b, head, sizeof(head)) == 0);
	CU_ASSERT_EQUAL(pol_notify_decode(b, sizeof(b), &out), 0);
	CU_ASSERT_EQUAL(out.type, POL_NOTIFY_MOVED);
	CU_ASSERT_EQUAL(out.sender_tep, in.sender_tep);
	CU_ASSERT_EQUAL(out.vni, 0x123456);
	CU_ASSERT(memcmp(out.mac, vm_mac, 6) == 0);
	CU_ASSERT_EQUAL(out.revision, 0);
	CU_ASSERT_STRING_EQUAL(pol_notify_type_name(POL_NOTIFY_MOVED), "moved");
}

static void
test_stale_policy_round_trip_and_layout(void)
{
	struct pol_notify in = stale(), out;
	uint8_t b[POL_NOTIFY_LEN];
	static const uint8_t tail[] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	encode(&in, b);
	CU_ASSERT_EQUAL(b[5], POL_NOTIFY_STALE_POLICY);
	CU_ASSERT(memcmp(b + 24, tail, sizeof(tail)) == 0);
	CU_ASSERT_EQUAL(pol_notify_decode(b, sizeof(b), &out), 0);
	CU_ASSERT_EQUAL(out.type, POL_NOTIFY_STALE_POLICY);
	CU_ASSERT_EQUAL(out.sender_tep, in.sender_tep);
	CU_ASSERT_EQUAL(out.vni, 0);
	CU_ASSERT_EQUAL(out.revision, in.revision);
}

static void
test_malformed_datagrams_rejected(void)
{
	uint8_t m[POL_NOTIFY_LEN], s[POL_NOTIFY_LEN], big[POL_NOTIFY_LEN + 1] = { 0 };
	struct pol_notify n = moved(), st = stale();

	encode(&n, m);
	encode(&st, s);
	CU_ASSERT_EQUAL(pol_notify_decode(m, POL_NOTIFY_LEN - 1, &n), -EBADMSG);   /* short */
	CU_ASSERT_EQUAL(pol_notify_decode(m, 0, &n), -EBADMSG);
	memcpy(big, m, POL_NOTIFY_LEN);
	CU_ASSERT_EQUAL(pol_notify_decode(big, sizeof(big), &n), -EBADMSG);         /* long */
	CU_ASSERT_EQUAL(decode_with(m, 0, 'X'), -EBADMSG);                           /* magic */
	CU_ASSERT_EQUAL(decode_with(m, 3, 'n'), -EBADMSG);
	CU_ASSERT_EQUAL(decode_with(m, 4, 2), -EPROTONOSUPPORT);                     /* version */
	CU_ASSERT_EQUAL(decode_with(m, 4, 0), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(decode_with(m, 5, 0), -EPROTONOSUPPORT);                     /* type */
	CU_ASSERT_EQUAL(decode_with(m, 5, 3), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(decode_with(m, 6, 1), -EBADMSG);                             /* length */
	CU_ASSERT_EQUAL(decode_with(m, 7, 31), -EBADMSG);
	CU_ASSERT_EQUAL(decode_with(m, 22, 1), -EBADMSG);                            /* reserved */
	CU_ASSERT_EQUAL(decode_with(m, 23, 0x80), -EBADMSG);
	CU_ASSERT_EQUAL(decode_with(m, 12, 1), -EBADMSG);                            /* VNI > 24 bits */
	CU_ASSERT_EQUAL(decode_with(m, 31, 1), -EBADMSG);                            /* MOVED with a revision */
	CU_ASSERT_EQUAL(decode_with(s, 21, 1), -EBADMSG);                            /* STALE with a MAC */
	CU_ASSERT_EQUAL(decode_with(s, 15, 1), -EBADMSG);                            /* STALE with a VNI */
	memset(m + 16, 0, 6);                                                         /* MOVED, zero MAC */
	CU_ASSERT_EQUAL(pol_notify_decode(m, sizeof(m), &n), -EBADMSG);
	/* the untouched ones still decode: each rejection is the change's doing */
	CU_ASSERT_EQUAL(pol_notify_decode(s, sizeof(s), &n), 0);
}

static void
test_encode_refuses_what_decode_would_reject(void)
{
	uint8_t b[POL_NOTIFY_LEN + 8];
	struct pol_notify n = moved();

	CU_ASSERT_EQUAL(pol_notify_encode(&n, b, POL_NOTIFY_LEN - 1), -EINVAL);
	CU_ASSERT_EQUAL(pol_notify_encode(&n, b, sizeof(b)), POL_NOTIFY_LEN);
	n.vni = 0x1000000;
	CU_ASSERT_EQUAL(pol_notify_encode(&n, b, sizeof(b)), -EINVAL);
	n = moved();
	memset(n.mac, 0, 6);
	CU_ASSERT_EQUAL(pol_notify_encode(&n, b, sizeof(b)), -EINVAL);
	n = moved();
	n.type = 7;
	CU_ASSERT_EQUAL(pol_notify_encode(&n, b, sizeof(b)), -EINVAL);
	n = stale();
	n.mac[0] = 2;
	CU_ASSERT_EQUAL(pol_notify_encode(&n, b, sizeof(b)), -EINVAL);
}

/* ---- rate limiter ---- */

static void
test_rate_limiter_one_per_key_per_interval(void)
{
	struct ctl_notify_rl *rl = ctl_notify_rl_create(64, 1000);
	struct ctl_notify_key k = ctl_notify_key_make(1, POL_NOTIFY_MOVED, 100, vm_mac);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &k, 5000), 0);
	CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &k, 5001), -EAGAIN);
	CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &k, 5999), -EAGAIN);
	CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &k, 6000), 0);       /* one interval later */
	CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &k, 6500), -EAGAIN); /* counted from the last pass */
	ctl_notify_rl_free(rl);
	ctl_notify_rl_free(NULL);
}

static void
test_rate_limiter_keys_independent(void)
{
	struct ctl_notify_rl *rl = ctl_notify_rl_create(64, 1000);
	uint8_t mac2[6] = { 0x02, 0, 0, 0, 0x0a, 0x02 };
	struct ctl_notify_key keys[] = {
		ctl_notify_key_make(1, POL_NOTIFY_MOVED, 100, vm_mac),
		ctl_notify_key_make(2, POL_NOTIFY_MOVED, 100, vm_mac),    /* other peer */
		ctl_notify_key_make(1, POL_NOTIFY_MOVED, 101, vm_mac),    /* other VNI */
		ctl_notify_key_make(1, POL_NOTIFY_MOVED, 100, mac2),      /* other MAC */
		ctl_notify_key_make(1, POL_NOTIFY_STALE_POLICY, 0, NULL), /* other type */
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	for (unsigned i = 0; i < UNIT_DIM(keys); i++)
		CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &keys[i], 10), 0);
	for (unsigned i = 0; i < UNIT_DIM(keys); i++)
		CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &keys[i], 11), -EAGAIN);
	CU_ASSERT_EQUAL(ctl_notify_rl_used(rl), UNIT_DIM(keys));
	ctl_notify_rl_free(rl);
}

static void
test_rate_limiter_memory_bounded_under_100k_keys(void)
{
	struct ctl_notify_rl *rl = ctl_notify_rl_create(CTL_NOTIFY_RL_ENTRIES, 1000);
	unsigned cap, limited = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	cap = ctl_notify_rl_capacity(rl);
	CU_ASSERT(cap >= CTL_NOTIFY_RL_ENTRIES && cap < 2 * CTL_NOTIFY_RL_ENTRIES);
	for (uint32_t i = 0; i < 100000; i++) {
		uint8_t mac[6] = { 2, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 1 };
		struct ctl_notify_key k = ctl_notify_key_make(7, POL_NOTIFY_MOVED, i & 0xfff, mac);

		/* each new key passes once, the one just let through stays limited */
		limited += ctl_notify_rl_check(rl, &k, 100 + i / 1000) != 0;
		CU_ASSERT_EQUAL(ctl_notify_rl_check(rl, &k, 100 + i / 1000), -EAGAIN);
	}
	CU_ASSERT_EQUAL(limited, 0);
	CU_ASSERT_EQUAL(ctl_notify_rl_capacity(rl), cap);
	CU_ASSERT(ctl_notify_rl_used(rl) <= cap);
	CU_ASSERT(ctl_notify_rl_used(rl) > cap / 2);
	ctl_notify_rl_free(rl);
	CU_ASSERT_PTR_NULL(ctl_notify_rl_create(0, 1000));
}

/* ---- receiving ---- */

static void
test_known_peer_notification_calls_hook_once_per_interval(void)
{
	struct pol_notify n = moved(), s = stale();
	unsigned base = env_pool_in_use();

	notify_init(NPORT);
	ctl_notify_input(notify_mbuf(PEER, &n));
	CU_ASSERT_EQUAL(moved_calls, 1);
	CU_ASSERT_EQUAL(last_vni, 0x123456);
	CU_ASSERT_EQUAL(counter("received"), 1);
	CU_ASSERT_EQUAL(counter("acted"), 1);
	/* a flood of the same hint: one refetch per interval */
	for (int i = 0; i < 10; i++)
		ctl_notify_input(notify_mbuf(PEER, &n));
	CU_ASSERT_EQUAL(moved_calls, 1);
	CU_ASSERT_EQUAL(counter("rate_limited_rx"), 10);
	/* another type from the same peer is another key */
	hook_result = false;
	ctl_notify_input(notify_mbuf(PEER, &s));
	CU_ASSERT_EQUAL(stale_calls, 1);
	CU_ASSERT_EQUAL(last_revision, s.revision);
	CU_ASSERT_EQUAL(counter("ignored"), 1);
	CU_ASSERT_EQUAL(counter("received"), 12);
	CU_ASSERT_EQUAL(counter("invalid"), 0);
	CU_ASSERT_EQUAL(env_pool_in_use(), base);     /* every frame consumed */
}

static void
test_unknown_or_impersonating_peer_ignored(void)
{
	struct pol_notify n = moved();

	notify_init(NPORT);
	n.sender_tep = env_ip4(STRANGER);
	ctl_notify_input(notify_mbuf(STRANGER, &n));     /* not a tunnel endpoint of ours */
	n.sender_tep = env_ip4(STRANGER);
	ctl_notify_input(notify_mbuf(PEER, &n));         /* claims to be someone else */
	CU_ASSERT_EQUAL(moved_calls, 0);
	CU_ASSERT_EQUAL(counter("unknown_peer"), 2);
	CU_ASSERT_EQUAL(counter("acted"), 0);
}

static void
test_bad_payload_counted_invalid(void)
{
	uint8_t junk[POL_NOTIFY_LEN] = "DVSN but not really";
	struct env_frame f;
	struct rte_mbuf *m;

	notify_init(NPORT);
	notify_frame(&f, PEER, junk, sizeof(junk));
	m = env_frame_mbuf(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	ctl_notify_input(m);
	notify_frame(&f, PEER, junk, 5);                 /* short */
	ctl_notify_input(env_frame_mbuf(&f));
	CU_ASSERT_EQUAL(counter("invalid"), 2);
	CU_ASSERT_EQUAL(moved_calls + stale_calls, 0);
}

/* ---- datapath and underlay ---- */

static void
test_datapath_punts_notifications_to_control_thread(void)
{
	struct pol_notify n = moved();
	struct rte_mbuf *m;

	notify_init(NPORT);
	CU_ASSERT_EQUAL(dp.notify_port, htons(NPORT));
	m = notify_mbuf(PEER, &n);
	dp_input(env_ctx, PHYS, &m, 1);
	CU_ASSERT_EQUAL(env_ctx->punted, 1);
	CU_ASSERT_EQUAL(rte_ring_count(dp.punt), 1);
	/* the control thread hands it to the receiver */
	ctl_underlay_poll();
	CU_ASSERT_EQUAL(rte_ring_count(dp.punt), 0);
	CU_ASSERT_EQUAL(moved_calls, 1);
	CU_ASSERT_EQUAL(counter("acted"), 1);
}

static void
test_datapath_drops_notifications_when_disabled_or_damaged(void)
{
	struct pol_notify n = moved();
	struct rte_mbuf *m;

	notify_init(0);                                   /* disabled */
	CU_ASSERT_EQUAL(dp.notify_port, 0);
	m = notify_mbuf(PEER, &n);
	dp_input(env_ctx, PHYS, &m, 1);
	CU_ASSERT_EQUAL(env_ctx->punted, 0);
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_UNDERLAY_OTHER], 1);

	notify_init(NPORT);
	m = notify_mbuf(PEER, &n);
	rte_pktmbuf_mtod_offset(m, uint8_t *, sizeof(struct rte_ether_hdr) + 10)[0] ^= 1;
	dp_input(env_ctx, PHYS, &m, 1);                   /* IP checksum broken */
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_BAD_IP_CSUM], 1);
	m = notify_mbuf(PEER, &n);
	rte_pktmbuf_mtod_offset(m, struct rte_ether_hdr *, 0)->dst_addr.addr_bytes[5] ^= 1;
	dp_input(env_ctx, PHYS, &m, 1);                   /* not our MAC */
	CU_ASSERT_EQUAL(env_ctx->drops[DP_DROP_NOT_FOR_US], 1);
	CU_ASSERT_EQUAL(env_ctx->punted, 0);
	CU_ASSERT_EQUAL(rte_ring_count(dp.punt), 0);
}

static void
test_sent_notification_waits_for_next_hop_then_goes_out(void)
{
	struct pol_notify got;
	struct env_frame f;
	struct rte_mbuf *m = NULL;
	uint8_t payload[4] = { 1, 2, 3, 4 };
	uint32_t src = 0;
	int t;

	notify_init(NPORT);
	CU_ASSERT_EQUAL(ctl_underlay_send_udp(env_ip4("198.51.100.1"), 1, 2, payload, 4),
			-EHOSTUNREACH);                   /* off-subnet, no gateway */
	/* next hop unknown: ask for it, send nothing yet */
	CU_ASSERT_EQUAL(ctl_underlay_send_udp(env_ip4(PEER), NPORT, NPORT, payload, 4), -EAGAIN);
	CU_ASSERT_EQUAL_FATAL(rte_ring_count(phys->inject), 1);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(phys->inject, (void **)&m), 0);
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type,
			RTE_BE16(RTE_ETHER_TYPE_ARP));
	rte_pktmbuf_free(m);
	/* a tunnel to the peer learns its MAC from the reply */
	t = ctl_tunnel_acquire(env_ip4(PEER));
	CU_ASSERT_FATAL(t >= 0);
	memset(&f, 0, sizeof(f));
	env_eth(&f, PHYS_MAC, PEER_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, RTE_ARP_OP_REPLY, PEER_MAC, PEER, PHYS_MAC, LOCAL_TEP);
	m = env_frame_mbuf(&f);
	dp_meta(m)->in_port = PHYS;
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue(dp.punt, m), 0);
	ctl_underlay_poll();
	inject_drain();

	CU_ASSERT_EQUAL(ctl_notify_send_moved(env_ip4(PEER), 0x123456, vm_mac), 0);
	CU_ASSERT_EQUAL(ctl_notify_send_moved(env_ip4(PEER), 0x123456, vm_mac), -EAGAIN);
	CU_ASSERT_EQUAL(ctl_notify_send_stale(env_ip4(PEER), 9), 0);
	CU_ASSERT_EQUAL(counter("sent"), 2);
	CU_ASSERT_EQUAL(counter("rate_limited"), 1);
	CU_ASSERT_EQUAL_FATAL(rte_ring_count(phys->inject), 2);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(phys->inject, (void **)&m), 0);
	{
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
		const struct rte_udp_hdr *udp = (const void *)(ip + 1);
		struct rte_ether_addr pm = env_mac(PEER_MAC);

		CU_ASSERT(rte_is_same_ether_addr(&eh->dst_addr, &pm));
		CU_ASSERT(rte_is_same_ether_addr(&eh->src_addr, &phys->mac));
		CU_ASSERT_EQUAL(ip->dst_addr, env_ip4(PEER));
		CU_ASSERT_EQUAL(ip->time_to_live, 64);
		CU_ASSERT_EQUAL(ip->fragment_offset, RTE_BE16(RTE_IPV4_HDR_DF_FLAG));
		CU_ASSERT_EQUAL(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
		CU_ASSERT_EQUAL(udp->src_port, htons(NPORT));
		CU_ASSERT_EQUAL(udp->dst_port, htons(NPORT));
		CU_ASSERT_NOT_EQUAL(udp->dgram_cksum, 0);
	}
	/* what the receiver would make of it, UDP checksum included */
	CU_ASSERT_EQUAL(ctl_notify_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, &src, &got), 0);
	CU_ASSERT_EQUAL(src, env_ip4(LOCAL_TEP));
	CU_ASSERT_EQUAL(got.sender_tep, env_ip4(LOCAL_TEP));
	CU_ASSERT_EQUAL(got.type, POL_NOTIFY_MOVED);
	CU_ASSERT_EQUAL(got.vni, 0x123456);
	rte_pktmbuf_mtod(m, uint8_t *)[m->data_len - 1] ^= 0xff;   /* damaged in flight */
	CU_ASSERT_EQUAL(ctl_notify_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, &src, &got),
			-EBADMSG);
	rte_pktmbuf_free(m);
	inject_drain();
	ctl_tunnel_release(t);
	pol_tep_add(env_ip4(PEER));                       /* releasing forgot it */
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "moved round trip and layout", test_moved_round_trip_and_layout },
		{ "stale policy round trip and layout", test_stale_policy_round_trip_and_layout },
		{ "malformed datagrams rejected", test_malformed_datagrams_rejected },
		{ "encode refuses what decode would reject", test_encode_refuses_what_decode_would_reject },
		{ "rate limiter: one per key per interval", test_rate_limiter_one_per_key_per_interval },
		{ "rate limiter: keys independent", test_rate_limiter_keys_independent },
		{ "rate limiter: memory bounded under 100k keys", test_rate_limiter_memory_bounded_under_100k_keys },
		{ "known peer: hook called once per interval", test_known_peer_notification_calls_hook_once_per_interval },
		{ "unknown or impersonating peer ignored", test_unknown_or_impersonating_peer_ignored },
		{ "bad payload counted invalid", test_bad_payload_counted_invalid },
		{ "datapath punts notifications", test_datapath_punts_notifications_to_control_thread },
		{ "datapath drops notifications when disabled or damaged", test_datapath_drops_notifications_when_disabled_or_damaged },
		{ "sent notification waits for next hop then goes out", test_sent_notification_waits_for_next_hop_then_goes_out },
	};
	const struct unit_suite suite = { "notify", tests, UNIT_DIM(tests), suite_init, suite_clean,
					  test_setup, NULL };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_notify: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
