/* Network input, stage 2: strip the outer headers validated by
 * dp_underlay_input(), keep the VNI; drops unknown VNIs and headers
 * without the I flag.  Keeps the outer source (the sending TEP) and the
 * policy tag of reserved bytes 2-3 for delivery; the other reserved bits
 * are ignored (RFC 7348). */
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dp.h"
#include "dp_steer.h"
#include "dp_trace.h"

uint16_t
dp_vxlan_decap(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	uint32_t last_vni = UINT32_MAX;
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
									 sizeof(struct rte_ether_hdr));
		uint16_t ihl = rte_ipv4_hdr_len(ip);
		const struct rte_udp_hdr *udp = (const void *)((const uint8_t *)ip + ihl);
		const struct rte_vxlan_hdr *vx = (const void *)(udp + 1);
		uint32_t vni, inner_len;
		bool svc;

		if (unlikely(!(vx->vx_flags & RTE_BE32(0x08000000)))) {
			DP_TRACE(c, "decap", "VXLAN flags 0x%02x: no I flag",
				 rte_be_to_cpu_32(vx->vx_flags) >> 24);
			dp_drop(c, m, DP_DROP_VXLAN_FLAGS);
			continue;
		}
		vni = rte_be_to_cpu_32(vx->vx_vni) >> 8;
		svc = false;
		if (vni != last_vni) {
			svc = pol_vnet_lookup(vni) == NULL;   /* maybe a service's answer */
			if (!svc)
				last_vni = vni;
		}
		md->tep = ip->src_addr;
		inner_len = rte_be_to_cpu_16(udp->dgram_len) - sizeof(*udp) - sizeof(*vx);
		rte_pktmbuf_adj(m, sizeof(struct rte_ether_hdr) + ihl + sizeof(*udp) + sizeof(*vx));
		if (m->pkt_len > inner_len)  /* Ethernet padding of the outer frame */
			rte_pktmbuf_trim(m, m->pkt_len - inner_len);
		if (unlikely(m->data_len < sizeof(struct rte_ether_hdr))) {
			DP_TRACE(c, "decap", "VNI %u: inner frame of %u bytes", vni, m->pkt_len);
			dp_drop(c, m, DP_DROP_MALFORMED);
			continue;
		}
		/* Offload flags described the outer packet. */
		m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
		m->packet_type = 0;
		if (unlikely(svc)) {
			if (!dp_steer_tunnel_input(c, m, vni)) {
				DP_TRACE(c, "decap", "VNI %u: no such network", vni);
				dp_drop(c, m, DP_DROP_UNKNOWN_VNI);
			}
			continue;
		}
		md->vni = vni;
		md->tag = rte_be_to_cpu_32(vx->vx_flags) & 0xffff;
		md->l3_off = sizeof(struct rte_ether_hdr);
		md->ether_type = rte_be_to_cpu_16(
			rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type);
		DP_TRACE(c, "decap", "VNI %u → network %s; inner frame %s, %u bytes", vni,
			 dp_trace_vnet(c->trace, vni), dp_trace_ethertype(c->trace, md->ether_type),
			 m->pkt_len);
		pkts[k++] = m;
	}
	return k;
}
