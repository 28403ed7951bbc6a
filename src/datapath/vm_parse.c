/* VM input, stage 1: check a frame from a VM is well formed and note
 * where its L3 header starts.  Drops malformed and VLAN-tagged frames.
 * Counts the burst's ARP frames (c->burst_arp): without any, the ARP stage
 * is skipped. */
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_prefetch.h>

#include "dp.h"
#include "dp_trace.h"

/* Shortest L3 header worth looking at, per EtherType. */
static inline uint16_t
l3_min_len(uint16_t et)
{
	switch (et) {
	case RTE_ETHER_TYPE_ARP:  return sizeof(struct rte_arp_hdr);
	case RTE_ETHER_TYPE_IPV4: return sizeof(struct rte_ipv4_hdr);
	case RTE_ETHER_TYPE_IPV6: return sizeof(struct rte_ipv6_hdr);
	default:                  return 0;
	}
}

uint16_t
dp_vm_parse(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t k = 0, arp = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		const struct rte_ether_hdr *eh;
		uint16_t et;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		/* Headers must sit in the first segment for in-place work. */
		if (unlikely(m->data_len < sizeof(*eh))) {
			dp_drop(c, m, DP_DROP_MALFORMED);
			continue;
		}
		eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		et = rte_be_to_cpu_16(eh->ether_type);
		DP_TRACE(c, "parse", "%s, %u bytes", dp_trace_ethertype(c->trace, et), m->pkt_len);
		if (unlikely(et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ)) {
			dp_drop(c, m, DP_DROP_VLAN_TAGGED);
			continue;
		}
		if (unlikely(m->data_len < sizeof(*eh) + l3_min_len(et))) {
			dp_drop(c, m, DP_DROP_MALFORMED);
			continue;
		}
		if (et == RTE_ETHER_TYPE_IPV4) {
			const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
			uint16_t ihl = rte_ipv4_hdr_len(ip);

			if (unlikely((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) ||
				     m->data_len < sizeof(*eh) + ihl ||
				     rte_be_to_cpu_16(ip->total_length) < ihl ||
				     rte_be_to_cpu_16(ip->total_length) > m->pkt_len - sizeof(*eh))) {
				dp_drop(c, m, DP_DROP_MALFORMED);
				continue;
			}
		}
		arp += et == RTE_ETHER_TYPE_ARP;
		md->ether_type = et;
		md->l3_off = sizeof(*eh);
		md->tag = 0;
		md->chained = 0;
		md->held_until = 0;
		pkts[k++] = m;
	}
	c->burst_arp = arp;
	return k;
}
