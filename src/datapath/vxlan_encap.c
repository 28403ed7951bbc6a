/* VM input, stage 5: VXLAN encapsulation (dp_encap.h) toward the remote
 * tunnel endpoint of each frame's destination, queued on the physical
 * port's tx queue; why a frame cannot go, counted and traced. */
#include "dp.h"
#include "dp_encap.h"
#include "dp_icmp.h"
#include "dp_trace.h"

_Static_assert((sizeof(struct rte_mbuf) + DP_MBUF_PRIV_SIZE + RTE_PKTMBUF_HEADROOM) %
	       RTE_CACHE_LINE_SIZE >= DP_VXLAN_HLEN, "outer headers share the frame's first line");

void
dp_encap_tmpl_fill(struct dp_encap_tmpl *e, uint16_t tunnel, uint32_t vni, uint16_t tag)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)e->hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);
	const struct pol_tunnel *t = pol_tunnel_get(tunnel);

	e->valid = true;
	e->tunnel = tunnel;
	e->vni = vni;
	e->tag = tag;
	e->t = t;
	e->p = t != NULL ? dp_port_get(t->port) : NULL;
	e->ok = e->p != NULL && t->resolved;
	if (!e->ok)
		return;
	e->port = t->port;
	e->ip_cksum_offload = e->p->tx_ip_cksum;
	e->max_inner = e->p->mtu > DP_ENCAP_OUTER_L3_LEN ? e->p->mtu - DP_ENCAP_OUTER_L3_LEN : 0;
	rte_ether_addr_copy(&t->dst_mac, &eh->dst_addr);
	rte_ether_addr_copy(&t->src_mac, &eh->src_addr);
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = 0;          /* per frame */
	ip->packet_id = 0;             /* atomic datagram, RFC 6864 */
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;          /* per frame, or offloaded */
	ip->src_addr = t->src_ip;
	ip->dst_addr = t->dst_ip;
	e->sum = rte_raw_cksum(ip, sizeof(*ip));

	udp->src_port = 0;             /* per frame */
	udp->dst_port = dp.vxlan_port;
	udp->dgram_len = 0;            /* per frame */
	udp->dgram_cksum = 0;          /* allowed for IPv4 by RFC 7348 */

	/* The policy tag rides in reserved bytes 2-3 (where VXLAN-GBP puts its
	 * policy ID); with no tag the header is plain RFC 7348. */
	vx->vx_flags = rte_cpu_to_be_32(0x08000000 | tag);
	vx->vx_vni = rte_cpu_to_be_32(vni << 8);
}

/* No tunnel, no port, or an unresolved next hop: why @m cannot go. */
static void
encap_fail(struct dp_lcore *c, struct rte_mbuf *m, const struct dp_encap_tmpl *e)
{
	const struct pol_tunnel *t = e->t;
	const struct dp_port *p = e->p;

	if (unlikely(t == NULL || p == NULL)) {
		DP_TRACE(c, "encapsulation", "VNI %u: tunnel %u %s", dp_meta(m)->vni, e->tunnel,
			 t == NULL ? "is not set up (no route to its TEP)" : "has lost its port");
		dp_drop(c, m, DP_DROP_NO_TUNNEL);
		return;
	}
	DP_TRACE(c, "encapsulation", "VNI %u → TEP %s via %s: next hop %s unresolved",
		 dp_meta(m)->vni, dp_trace_ip4(c->trace, t->dst_ip), p->name,
		 dp_trace_ip4(c->trace, t->nh_ip));
	dp_drop(c, m, DP_DROP_NEIGH_UNRESOLVED);
}

/* Encapsulate @m with template @e (for @m's tunnel, VNI and tag) and queue it. */
static __rte_always_inline void
encap_frame(struct dp_lcore *c, struct rte_mbuf *m, const struct dp_encap_tmpl *e)
{
	const struct pol_tunnel *t = e->t;
	struct dp_port *p = e->p;
	struct rte_ether_hdr *eh;
	const struct rte_udp_hdr *udp;
	uint32_t inner_len = m->pkt_len;

	if (unlikely(!e->ok)) {
		encap_fail(c, m, e);
		return;
	}
	if (unlikely(!dp_encap_fits(e, inner_len))) {
		DP_TRACE(c, "encapsulation", "VNI %u → TEP %s via %s: %u bytes + %zu of "
			 "outer headers exceed its MTU %u", dp_meta(m)->vni,
			 dp_trace_ip4(c->trace, t->dst_ip), p->name, inner_len, DP_ENCAP_OUTER_L3_LEN,
			 p->mtu);
		dp_icmp_frag_needed(c, m, p->mtu - DP_ENCAP_OUTER_L3_LEN - sizeof(struct rte_ether_hdr));
		dp_drop(c, m, DP_DROP_MTU_EXCEEDED);
		return;
	}
	if (unlikely(rte_pktmbuf_headroom(m) < DP_VXLAN_HLEN)) {
		DP_TRACE(c, "encapsulation", "VNI %u → TEP %s via %s: no headroom",
			 dp_meta(m)->vni, dp_trace_ip4(c->trace, t->dst_ip), p->name);
		dp_drop(c, m, DP_DROP_NO_HEADROOM);
		return;
	}
	eh = dp_encap_write(m, e, dp_encap_flow_hash(m));
	udp = (const struct rte_udp_hdr *)((const struct rte_ipv4_hdr *)(eh + 1) + 1);
	DP_TRACE(c, "encapsulation", "VNI %u → TEP %s via %s, next hop %s (%s); "
		 "UDP source port %u; outer frame %u bytes", dp_meta(m)->vni,
		 dp_trace_ip4(c->trace, t->dst_ip), p->name, dp_trace_ip4(c->trace, t->nh_ip),
		 dp_trace_mac(c->trace, &t->dst_mac), rte_be_to_cpu_16(udp->src_port),
		 m->pkt_len);
	dp_tx_enqueue(c, t->port, m);
}

void
dp_vxlan_encap_one(struct dp_lcore *c, struct rte_mbuf *m, uint16_t tunnel)
{
	struct dp_encap_tmpl e;

	dp_encap_tmpl_fill(&e, tunnel, dp_meta(m)->vni, dp_meta(m)->tag);
	encap_frame(c, m, &e);
}

uint16_t
dp_vxlan_encap(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_encap_tmpl e;

	e.valid = false;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct dp_meta *md = dp_meta(m);

		/* Frames come in trains: one template per run of one tunnel, VNI and tag. */
		if (!e.valid || md->tunnel != e.tunnel || md->vni != e.vni || md->tag != e.tag)
			dp_encap_tmpl_fill(&e, md->tunnel, md->vni, md->tag);
		encap_frame(c, m, &e);
	}
	return 0;
}
