/* Notifications on the control thread (ctl_notify.h): what workers report
 * goes out as one datagram per (peer, endpoint) per interval; what arrives
 * is checked (well formed, from the tunnel endpoint it claims, a peer we
 * know) and handed to the resolver as a hint, again at most once per
 * (peer, type, key) per interval so a flood costs one refetch.  Both rate
 * limiters are fixed-size tables: a flood of distinct keys evicts old
 * entries instead of growing memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "ctl_notify.h"
#include "ctl_underlay.h"
#include "dp.h"
#include "pol_tables.h"

RTE_LOG_REGISTER_SUFFIX(notify_logtype, notify, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, notify_logtype, "notify: " fmt "\n", ##__VA_ARGS__)

#define RL_WAYS 8                      /* entries per bucket; the oldest is evicted */

/* ---- rate limiter ---- */

struct rl_entry {
	struct ctl_notify_key key;
	uint64_t last;                  /* when the key was last let through */
	bool used;
};

struct ctl_notify_rl {
	uint64_t interval;
	uint32_t mask;                  /* buckets - 1 */
	unsigned used;
	struct rl_entry e[];            /* (mask + 1) * RL_WAYS */
};

struct ctl_notify_key
ctl_notify_key_make(uint32_t peer, enum pol_notify_type type, uint32_t vni, const uint8_t mac[6])
{
	struct ctl_notify_key k;

	memset(&k, 0, sizeof(k));       /* keys are compared and hashed as bytes */
	k.peer = peer;
	k.type = (uint8_t)type;
	k.vni = vni;
	if (mac != NULL)
		memcpy(k.mac, mac, sizeof(k.mac));
	return k;
}

struct ctl_notify_rl *
ctl_notify_rl_create(unsigned entries, uint64_t interval)
{
	uint32_t buckets = 1;
	struct ctl_notify_rl *rl;

	if (entries == 0 || entries > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (buckets * RL_WAYS < entries)
		buckets <<= 1;
	rl = calloc(1, sizeof(*rl) + sizeof(rl->e[0]) * buckets * RL_WAYS);
	if (rl == NULL)
		return NULL;
	rl->interval = interval;
	rl->mask = buckets - 1;
	return rl;
}

void
ctl_notify_rl_free(struct ctl_notify_rl *rl)
{
	free(rl);
}

unsigned
ctl_notify_rl_capacity(const struct ctl_notify_rl *rl)
{
	return (rl->mask + 1) * RL_WAYS;
}

unsigned
ctl_notify_rl_used(const struct ctl_notify_rl *rl)
{
	return rl->used;
}

static uint32_t
key_hash(const struct ctl_notify_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint32_t h = 2166136261u;       /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h ^ (h >> 15);
}

int
ctl_notify_rl_check(struct ctl_notify_rl *rl, const struct ctl_notify_key *k, uint64_t now)
{
	struct rl_entry *b = &rl->e[(key_hash(k) & rl->mask) * RL_WAYS], *victim = NULL;

	for (unsigned i = 0; i < RL_WAYS; i++) {
		struct rl_entry *e = &b[i];

		if (e->used && memcmp(&e->key, k, sizeof(*k)) == 0) {
			if (now - e->last < rl->interval)
				return -EAGAIN;
			e->last = now;
			return 0;
		}
		if (victim == NULL || (victim->used && (!e->used || e->last < victim->last)))
			victim = e;
	}
	if (!victim->used)
		rl->used++;
	victim->key = *k;
	victim->last = now;
	victim->used = true;
	return 0;
}

/* ---- state ---- */

static struct {
	bool ready;
	uint16_t port;                  /* host order; 0 = disabled */
	struct ctl_notify_hooks hooks;
	struct ctl_notify_rl *tx, *rx;
	struct {
		uint64_t sent, rate_limited, send_errors;
		uint64_t received, acted, ignored, invalid, unknown_peer, rate_limited_rx;
	} n;
} nt;

static uint64_t
now_ms(void)
{
	return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000);
}

static const char *
ip_str(uint32_t ip, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

int
ctl_notify_init(const struct ctl_config *cfg, const struct ctl_notify_hooks *hooks)
{
	ctl_notify_fini();
	nt.tx = ctl_notify_rl_create(CTL_NOTIFY_RL_ENTRIES, cfg->policy.notify_interval_ms);
	nt.rx = ctl_notify_rl_create(CTL_NOTIFY_RL_ENTRIES, cfg->policy.notify_interval_ms);
	if (nt.tx == NULL || nt.rx == NULL) {
		ctl_notify_fini();
		return -ENOMEM;
	}
	if (hooks != NULL)
		nt.hooks = *hooks;
	nt.port = cfg->policy.notify_port;
	nt.ready = true;
	dp.notify_port = rte_cpu_to_be_16(nt.port);
	return 0;
}

void
ctl_notify_fini(void)
{
	dp.notify_port = 0;
	ctl_notify_rl_free(nt.tx);
	ctl_notify_rl_free(nt.rx);
	memset(&nt, 0, sizeof(nt));
}

/* ---- sending ---- */

static int
notify_send(uint32_t tep, struct pol_notify *n)
{
	uint8_t buf[POL_NOTIFY_LEN];
	struct ctl_notify_key k;
	char a[INET_ADDRSTRLEN];
	int rc;

	if (!nt.ready || nt.port == 0)
		return -ENOTSUP;
	n->sender_tep = ctl_underlay_src_ip(tep);
	if (n->sender_tep == 0)
		return -EHOSTUNREACH;
	rc = pol_notify_encode(n, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	/* Counted whether or not the send then works: a failing peer is
	 * retried once per interval, not once per packet. */
	k = ctl_notify_key_make(tep, n->type, n->vni, n->mac);
	if (ctl_notify_rl_check(nt.tx, &k, now_ms()) < 0) {
		nt.n.rate_limited++;
		return -EAGAIN;
	}
	rc = ctl_underlay_send_udp(tep, nt.port, nt.port, buf, sizeof(buf));
	if (rc < 0) {
		nt.n.send_errors++;
		LOG(DEBUG, "%s to %s not sent: %s", pol_notify_type_name(n->type),
		    ip_str(tep, a), strerror(-rc));
		return rc;
	}
	nt.n.sent++;
	LOG(DEBUG, "%s sent to %s (vni %u, revision %" PRIu64 ")", pol_notify_type_name(n->type),
	    ip_str(tep, a), n->vni, n->revision);
	return 0;
}

int
ctl_notify_send_moved(uint32_t tep, uint32_t vni, const uint8_t mac[6])
{
	struct pol_notify n = { .type = POL_NOTIFY_MOVED, .vni = vni };

	memcpy(n.mac, mac, sizeof(n.mac));
	return notify_send(tep, &n);
}

int
ctl_notify_send_stale(uint32_t tep, uint64_t revision)
{
	struct pol_notify n = { .type = POL_NOTIFY_STALE_POLICY, .revision = revision };

	return notify_send(tep, &n);
}

/* ---- receiving ---- */

int
ctl_notify_parse(const uint8_t *frame, size_t len, uint32_t *src_ip, struct pol_notify *n)
{
	const struct rte_ether_hdr *eh = (const void *)frame;
	const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
	const struct rte_udp_hdr *udp;
	size_t ihl, tot, ulen;

	if (len < sizeof(*eh) + sizeof(*ip) || eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    (ip->version_ihl >> 4) != 4 || ip->next_proto_id != IPPROTO_UDP)
		return -EBADMSG;
	ihl = rte_ipv4_hdr_len(ip);
	tot = rte_be_to_cpu_16(ip->total_length);
	if (ihl < sizeof(*ip) || len < sizeof(*eh) + ihl + sizeof(*udp) || tot > len - sizeof(*eh))
		return -EBADMSG;
	udp = (const void *)((const uint8_t *)ip + ihl);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	/* Exactly one datagram: the checksum covers what the IP header says. */
	if (ulen < sizeof(*udp) || ihl + ulen != tot)
		return -EBADMSG;
	if (udp->dgram_cksum != 0 && rte_ipv4_udptcp_cksum_verify(ip, udp) != 0)
		return -EBADMSG;
	*src_ip = ip->src_addr;
	return pol_notify_decode((const uint8_t *)(udp + 1), ulen - sizeof(*udp), n);
}

void
ctl_notify_input(struct rte_mbuf *m)
{
	struct pol_notify n;
	struct ctl_notify_key k;
	char a[INET_ADDRSTRLEN];
	uint32_t src = 0;
	bool acted;
	int rc;

	if (!nt.ready) {
		rte_pktmbuf_free(m);
		return;
	}
	nt.n.received++;
	rc = ctl_notify_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &src, &n);
	rte_pktmbuf_free(m);
	if (rc < 0) {
		nt.n.invalid++;
		LOG(DEBUG, "invalid notification from %s: %s", ip_str(src, a), strerror(-rc));
		return;
	}
	/* Only a peer we exchange traffic with, speaking for itself. */
	if (n.sender_tep != src || !pol_tep_known(src)) {
		nt.n.unknown_peer++;
		LOG(DEBUG, "%s from unknown peer %s ignored", pol_notify_type_name(n.type),
		    ip_str(src, a));
		return;
	}
	k = ctl_notify_key_make(src, n.type, n.vni, n.mac);
	if (ctl_notify_rl_check(nt.rx, &k, now_ms()) < 0) {
		nt.n.rate_limited_rx++;
		return;
	}
	if (n.type == POL_NOTIFY_MOVED)
		acted = nt.hooks.moved != NULL && nt.hooks.moved(src, n.vni, n.mac);
	else
		acted = nt.hooks.stale_policy != NULL && nt.hooks.stale_policy(src, n.revision);
	if (acted)
		nt.n.acted++;
	else
		nt.n.ignored++;
	LOG(DEBUG, "%s from %s (vni %u, revision %" PRIu64 "): %s", pol_notify_type_name(n.type),
	    ip_str(src, a), n.vni, n.revision, acted ? "acted" : "ignored");
}

json_t *
ctl_notify_json(void)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"sent", (json_int_t)nt.n.sent,
		"rate_limited", (json_int_t)nt.n.rate_limited,
		"send_errors", (json_int_t)nt.n.send_errors,
		"received", (json_int_t)nt.n.received,
		"acted", (json_int_t)nt.n.acted,
		"ignored", (json_int_t)nt.n.ignored,
		"invalid", (json_int_t)nt.n.invalid,
		"unknown_peer", (json_int_t)nt.n.unknown_peer,
		"rate_limited_rx", (json_int_t)nt.n.rate_limited_rx);
}
