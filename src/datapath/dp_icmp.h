/* ICMP errors the datapath sends to local VMs. */
#ifndef DP_ICMP_H
#define DP_ICMP_H

#include <stdint.h>

#include <rte_mbuf.h>

struct dp_lcore;

/* Answer @m (an IPv4 frame from a local VM, still unencapsulated) with
 * "fragmentation needed", next-hop MTU @mtu, sent back out of its input
 * port.  @m is left alone for the caller to drop.  0 when answered;
 * -EINVAL when @m is not IPv4 with DF (or is a fragment), -EBUSY when
 * rate-limited (c->icmp_limited), -ENOMEM/-ENOSPC without a buffer. */
int dp_icmp_frag_needed(struct dp_lcore *c, struct rte_mbuf *m, uint16_t mtu);

#endif
