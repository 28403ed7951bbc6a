/* VM input, stages 1 and 2 in one pass per frame: note the port it came
 * in on and count it; check it is well formed and note where its L3
 * header starts (drops malformed and VLAN-tagged frames); complete
 * TCP/UDP checksums the guest left to the device; port security
 * (port_security.c).  Counts the burst's ARP frames (c->burst_arp):
 * without any, the ARP stage is skipped. */
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>
#include <rte_udp.h>

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

/* A guest that negotiated VIRTIO_NET_F_CSUM sends TCP/UDP with only the
 * pseudo-header sum in the checksum field; the vhost port (legacy offload
 * flags, dp_port.c) marks such frames RTE_MBUF_F_TX_{TCP,UDP}_CKSUM.  No
 * port after us finishes it (a VXLAN receiver, or a guest without
 * GUEST_CSUM, would drop the frame), so it is done here, in software,
 * and only for these frames. */
void
dp_l4_cksum_finish(struct rte_mbuf *m, uint16_t et)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	uint16_t l3 = sizeof(struct rte_ether_hdr), l4_off, field, min;
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t proto;
	uint16_t sum;

	m->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6);
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM) {
		proto = IPPROTO_TCP;
		field = offsetof(struct rte_tcp_hdr, cksum);
		min = sizeof(struct rte_tcp_hdr);
	} else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
		proto = IPPROTO_UDP;
		field = offsetof(struct rte_udp_hdr, dgram_cksum);
		min = sizeof(struct rte_udp_hdr);
	} else {
		return;   /* SCTP's CRC: Linux's virtio-net never offloads it */
	}
	if (et == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const void *)(p + l3);

		l4_off = l3 + rte_ipv4_hdr_len(ip);
		if (ip->next_proto_id != proto || m->data_len < l4_off + min)
			return;
		*(unaligned_uint16_t *)(p + l4_off + field) = 0;
		sum = rte_ipv4_udptcp_cksum_mbuf(m, ip, l4_off);
	} else if (et == RTE_ETHER_TYPE_IPV6) {
		const struct rte_ipv6_hdr *ip = (const void *)(p + l3);

		l4_off = l3 + sizeof(*ip);
		if (ip->proto != proto || m->data_len < l4_off + min ||
		    rte_be_to_cpu_16(ip->payload_len) > m->pkt_len - l4_off)
			return;
		*(unaligned_uint16_t *)(p + l4_off + field) = 0;
		sum = rte_ipv6_udptcp_cksum_mbuf(m, ip, l4_off);
	} else {
		return;
	}
	*(unaligned_uint16_t *)(p + l4_off + field) = sum;
}

uint16_t
dp_vm_parse(struct dp_lcore *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	/* One burst comes from one port: one binding for all of it. */
	const struct pol_endpoint *ep = pol_port_endpoint(port);
	uint64_t bytes = 0;
	uint16_t k = 0, arp = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		const struct rte_ether_hdr *eh;
		uint16_t et;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		md->in_port = port;
		bytes += m->pkt_len;
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
		md->ether_type = et;
		md->l3_off = sizeof(*eh);
		if (!dp_port_security_frame(c, ep, m, eh, et))
			continue;
		if (unlikely(m->ol_flags & RTE_MBUF_F_TX_L4_MASK))
			dp_l4_cksum_finish(m, et);
		arp += et == RTE_ETHER_TYPE_ARP;
		md->vni = ep->vni;
		md->tag = 0;
		md->chained = 0;
		md->held_until = 0;
		pkts[k++] = m;
	}
	c->port[port].rx_bytes += bytes;
	c->burst_arp = arp;
	return k;
}
