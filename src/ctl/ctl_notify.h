/* Notifications on the control thread: send them for what workers report
 * (rate-limited per (peer, endpoint)), receive them from the underlay and
 * hand them to the resolver as hints.  Counters for `policy-service
 * status` and `stats`. */
#ifndef CTL_NOTIFY_H
#define CTL_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "ctl_config.h"
#include "pol_notify.h"

struct rte_mbuf;

/* What the receiver does with a valid notification from a known peer.
 * Each returns true when it acted (invalidated and asked the policy
 * service again), false when the hint did not apply (counted "ignored"). */
struct ctl_notify_hooks {
	bool (*moved)(uint32_t from_tep, uint32_t vni, const uint8_t mac[6]);
	bool (*stale_policy)(uint32_t from_tep, uint64_t revision);
};

/* Set up from the running configuration (port, rate limit).  Returns 0 or
 * a negative errno. */
int ctl_notify_init(const struct ctl_config *cfg, const struct ctl_notify_hooks *hooks);
void ctl_notify_fini(void);

/* Tell @tep (network order) that endpoint (@vni, @mac) is not here /
 * that our policy revision is @revision.  Rate-limited: one attempt per
 * (peer, vni, mac) / per peer and interval, whether or not it could be
 * sent.  Returns 0 when sent, -EAGAIN when rate-limited (or the next hop
 * is not resolved yet), -ENOTSUP (not initialised, or notify_port 0),
 * or ctl_underlay_send_udp()'s error. */
int ctl_notify_send_moved(uint32_t tep, uint32_t vni, const uint8_t mac[6]);
int ctl_notify_send_stale(uint32_t tep, uint64_t revision);

/* A UDP datagram to policy.notify_port punted by a worker (whole frame,
 * outer headers checked by the worker).  Consumes @m. */
void ctl_notify_input(struct rte_mbuf *m);

/* Counters: sent, rate_limited, send_errors, received, acted, ignored,
 * invalid, unknown_peer, rate_limited_rx. */
json_t *ctl_notify_json(void);

/* Check a punted frame (Ethernet/IPv4/UDP, @len bytes) and decode its
 * payload; *@src_ip is the outer source (network order).  Says nothing of
 * whether the sender is known.  Returns 0, -EBADMSG or -EPROTONOSUPPORT. */
int ctl_notify_parse(const uint8_t *frame, size_t len, uint32_t *src_ip, struct pol_notify *n);

/* ---- the rate limiter behind both directions ----
 * At most one event per key per interval, in a table of fixed size: when
 * a bucket is full its oldest entry is evicted, so memory never grows
 * (an evicted key may pass again early; that is the price of the bound). */

#define CTL_NOTIFY_RL_ENTRIES 4096     /* per direction */

/* What is limited: (peer, type, vni, mac); zeros where a type has none. */
struct ctl_notify_key {
	uint32_t peer;                  /* network order */
	uint32_t vni;
	uint8_t mac[6];
	uint8_t type;                   /* enum pol_notify_type */
	uint8_t pad;                    /* zero: keys are compared as bytes */
};

struct ctl_notify_rl;

/* A key with every padding byte zero; @mac NULL for none. */
struct ctl_notify_key ctl_notify_key_make(uint32_t peer, enum pol_notify_type type,
					  uint32_t vni, const uint8_t mac[6]);
/* A limiter of at least @entries entries letting one event per key through
 * per @interval (any unit, the same as the @now given to the check).
 * Returns NULL with errno set (EINVAL, ENOMEM). */
struct ctl_notify_rl *ctl_notify_rl_create(unsigned entries, uint64_t interval);
void ctl_notify_rl_free(struct ctl_notify_rl *rl);
/* 0: let @k through at @now (and remember it); -EAGAIN: it passed less
 * than an interval ago. */
int ctl_notify_rl_check(struct ctl_notify_rl *rl, const struct ctl_notify_key *k, uint64_t now);
unsigned ctl_notify_rl_capacity(const struct ctl_notify_rl *rl);
unsigned ctl_notify_rl_used(const struct ctl_notify_rl *rl);

#endif
