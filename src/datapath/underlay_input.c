/* Network input, stage 1: take what arrives on a physical port apart.
 * ARP goes to the control thread (it owns the underlay address and the
 * neighbour table), and so do switch-to-switch notifications (UDP to
 * dp.notify_port, outer headers validated here, the sender checked
 * there); VXLAN addressed to this tunnel endpoint, from a known one
 * (unless vxlan.accept_any_source), passes on with its outer headers
 * validated; everything else is dropped. */
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dp.h"
#include "dp_trace.h"

#define MIN_INNER RTE_ETHER_HDR_LEN

/* A UDP datagram to the notification port: whole and consistent, or
 * malformed.  The control thread decodes the payload. */
static enum dp_drop
check_notify(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
	     const struct rte_udp_hdr *udp, uint16_t ihl)
{
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	uint16_t ulen = rte_be_to_cpu_16(udp->dgram_len);

	if (tot > m->pkt_len - sizeof(struct rte_ether_hdr) || tot < ihl + ulen ||
	    ulen < sizeof(*udp))
		return DP_DROP_MALFORMED;
	return DP_DROP_MAX;
}

/* DP_DROP_MAX: VXLAN to pass on (*notify false) or a notification to
 * punt (*notify true); else why to drop. */
static inline enum dp_drop
check_outer(const struct dp_port *p, const struct rte_mbuf *m, uint32_t *last_tep, bool *notify)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
	const struct rte_udp_hdr *udp;
	uint16_t ihl, tot, ulen;

	if (unlikely(!rte_is_same_ether_addr(&eh->dst_addr, &p->mac)))
		return DP_DROP_NOT_FOR_US;
	if (eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return DP_DROP_UNDERLAY_OTHER;
	if (unlikely(m->data_len < sizeof(*eh) + sizeof(*ip)))
		return DP_DROP_MALFORMED;
	ihl = rte_ipv4_hdr_len(ip);
	if (unlikely((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) ||
		     m->data_len < sizeof(*eh) + ihl + sizeof(*udp) + sizeof(struct rte_vxlan_hdr)))
		return DP_DROP_MALFORMED;
	if (unlikely(ip->dst_addr != p->ip))
		return DP_DROP_NOT_FOR_US;
	if (unlikely(ip->next_proto_id != IPPROTO_UDP))
		return DP_DROP_UNDERLAY_OTHER;
	if (unlikely(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return DP_DROP_IP_FRAGMENT;
	/* Verified in software even when the port says "good": veth (and so
	 * af_packet) marks frames good without checking them. 20 bytes. */
	if (rte_raw_cksum(ip, ihl) != 0xffff)
		return DP_DROP_BAD_IP_CSUM;
	udp = (const void *)((const uint8_t *)ip + ihl);
	if (udp->dst_port != dp.vxlan_port) {
		if (dp.notify_port == 0 || udp->dst_port != dp.notify_port)
			return DP_DROP_UNDERLAY_OTHER;
		*notify = true;
		return check_notify(m, ip, udp, ihl);
	}
	tot = rte_be_to_cpu_16(ip->total_length);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (unlikely(tot > m->pkt_len - sizeof(*eh) || tot < ihl + ulen ||
		     ulen < sizeof(*udp) + sizeof(struct rte_vxlan_hdr) + MIN_INNER))
		return DP_DROP_MALFORMED;
	/* Only peers we send to may send to us; a burst mostly has one. */
	if (!dp.vxlan_any_source && ip->src_addr != *last_tep) {
		if (!pol_tep_known(ip->src_addr))
			return DP_DROP_UNKNOWN_TEP;
		*last_tep = ip->src_addr;
	}
	return DP_DROP_MAX;
}

/* Hand @m to the control thread. */
static inline void
punt(struct dp_lcore *c, struct rte_mbuf *m)
{
	if (unlikely(c->trace != NULL))
		dp_trace_punt(c->trace, m);  /* recorded and freed, never queued */
	else if (rte_ring_enqueue(dp.punt, m) != 0)
		dp_drop(c, m, DP_DROP_PUNT_FULL);
	else
		c->punted++;
}

uint16_t
dp_underlay_input(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	const struct dp_port *p;
	uint32_t last_tep = 0;   /* 0.0.0.0 is never a tunnel endpoint */
	uint16_t k = 0;

	if (n == 0)
		return 0;
	p = dp_port_get(dp_meta(pkts[0])->in_port);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eh;
		bool notify = false;
		enum dp_drop why;

		if (unlikely(m->data_len < sizeof(*eh))) {
			dp_drop(c, m, DP_DROP_MALFORMED);
			continue;
		}
		eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (unlikely(eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))) {
			punt(c, m);
			continue;
		}
		why = check_outer(p, m, &last_tep, &notify);
		if (unlikely(notify && why == DP_DROP_MAX)) {
			DP_TRACE(c, "outer validation", "UDP to the notification port %u: "
				 "a switch-to-switch notification", rte_be_to_cpu_16(dp.notify_port));
			punt(c, m);
			continue;
		}
		DP_TRACE(c, "outer validation", "%s", dp_trace_outer(c->trace, p, m, why));
		if (unlikely(why != DP_DROP_MAX)) {
			dp_drop(c, m, why);
			continue;
		}
		pkts[k++] = m;
	}
	return k;
}
