/* VM input, stage 5: VXLAN encapsulation (RFC 7348) toward the remote
 * tunnel endpoint of each frame's destination, queued on the physical
 * port's tx queue.  Outer: Ethernet / IPv4 (DF) / UDP (source port from
 * a hash of the inner flow, checksum 0) / VXLAN (I flag, policy tag in
 * bytes 2-3 when the decision has one, VNI).  The outer headers are built
 * once per run of frames toward one (tunnel, VNI, tag) and copied; each
 * frame gets its lengths, source port and IPv4 checksum patched in. */
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dp.h"
#include "dp_icmp.h"
#include "dp_trace.h"

#define OUTER_L3_LEN (sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) + \
		      sizeof(struct rte_vxlan_hdr))

/* Hash of the inner flow, so one flow keeps one outer source port (ECMP
 * in the underlay): IPv4 addresses and TCP/UDP ports (or the protocol)
 * in one CRC step; the MACs for anything else. */
static inline uint32_t
inner_flow_hash(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t w[2] = { 0, 0 };   /* memcpy: a frame tagged for a chain hop starts 4 bytes early */

	if (eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= sizeof(*eh) + sizeof(struct rte_ipv4_hdr)) {
		const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
		uint16_t ihl = rte_ipv4_hdr_len(ip);
		uint32_t l4 = ip->next_proto_id;

		memcpy(&w[0], &ip->src_addr, 2 * sizeof(ip->src_addr));
		if ((l4 == IPPROTO_TCP || l4 == IPPROTO_UDP) && m->data_len >= sizeof(*eh) + ihl + 4)
			memcpy(&l4, (const uint8_t *)ip + ihl, sizeof(l4));   /* both ports */
		return rte_hash_crc_8byte(w[0], l4);
	}
	memcpy(w, eh, 2 * RTE_ETHER_ADDR_LEN);
	return rte_hash_crc_4byte((uint32_t)w[1], rte_hash_crc_8byte(w[0], 0));
}

/* Outer headers toward one (tunnel, VNI, tag), built once per run of
 * frames that share them: a frame gets a 50-byte copy and four patched
 * fields (IPv4 length and checksum, UDP source port and length). */
struct encap_tmpl {
	uint8_t hdr[DP_VXLAN_HLEN];   /* outer headers; lengths, port and checksum 0 */
	bool valid;                   /* key below was looked up */
	bool ok;                      /* the tunnel and its port exist, next hop resolved */
	uint16_t tunnel;              /* key: tunnel index, VNI, policy tag */
	uint32_t vni;
	uint16_t tag;
	uint32_t sum;                 /* one's complement sum of the IPv4 header, length 0 */
	const struct pol_tunnel *t;   /* valid until this worker's next quiescent state */
	struct dp_port *p;
};

/* Look up @tunnel and build the outer headers for @vni and @tag. */
static void
tmpl_fill(struct encap_tmpl *e, uint16_t tunnel, uint32_t vni, uint16_t tag)
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
encap_fail(struct dp_lcore *c, struct rte_mbuf *m, const struct encap_tmpl *e)
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
encap_frame(struct dp_lcore *c, struct rte_mbuf *m, const struct encap_tmpl *e)
{
	const struct pol_tunnel *t = e->t;
	struct dp_port *p = e->p;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint32_t inner_len = m->pkt_len, hash, sum;
	uint16_t tot;

	if (unlikely(!e->ok)) {
		encap_fail(c, m, e);
		return;
	}
	if (unlikely(inner_len + OUTER_L3_LEN > p->mtu)) {
		DP_TRACE(c, "encapsulation", "VNI %u → TEP %s via %s: %u bytes + %zu of "
			 "outer headers exceed its MTU %u", dp_meta(m)->vni,
			 dp_trace_ip4(c->trace, t->dst_ip), p->name, inner_len, OUTER_L3_LEN,
			 p->mtu);
		dp_icmp_frag_needed(c, m, p->mtu - OUTER_L3_LEN - sizeof(struct rte_ether_hdr));
		dp_drop(c, m, DP_DROP_MTU_EXCEEDED);
		return;
	}
	hash = inner_flow_hash(m);
	eh = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, DP_VXLAN_HLEN);
	if (unlikely(eh == NULL)) {
		DP_TRACE(c, "encapsulation", "VNI %u → TEP %s via %s: no headroom",
			 dp_meta(m)->vni, dp_trace_ip4(c->trace, t->dst_ip), p->name);
		dp_drop(c, m, DP_DROP_NO_HEADROOM);
		return;
	}
	memcpy(eh, e->hdr, DP_VXLAN_HLEN);
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	tot = rte_cpu_to_be_16(inner_len + OUTER_L3_LEN);
	ip->total_length = tot;
	udp->src_port = rte_cpu_to_be_16(49152 | (hash & 0x3fff)); /* IANA dynamic range */
	udp->dgram_len = rte_cpu_to_be_16(inner_len + sizeof(*udp) + sizeof(struct rte_vxlan_hdr));

	m->ol_flags &= ~(RTE_MBUF_F_TX_OFFLOAD_MASK);
	if (p->tx_ip_cksum) {
		m->l2_len = sizeof(*eh);
		m->l3_len = sizeof(*ip);
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	} else {
		/* the template's sum plus the length word (RFC 1071, any byte order) */
		sum = e->sum + tot;
		sum = (sum & 0xffff) + (sum >> 16);
		ip->hdr_checksum = (uint16_t)~sum;
	}
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
	struct encap_tmpl e;

	tmpl_fill(&e, tunnel, dp_meta(m)->vni, dp_meta(m)->tag);
	encap_frame(c, m, &e);
}

uint16_t
dp_vxlan_encap(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	struct encap_tmpl e;

	e.valid = false;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct dp_meta *md = dp_meta(m);

		/* Frames come in trains: one template per run of one tunnel, VNI and tag. */
		if (!e.valid || md->tunnel != e.tunnel || md->vni != e.vni || md->tag != e.tag)
			tmpl_fill(&e, md->tunnel, md->vni, md->tag);
		encap_frame(c, m, &e);
	}
	return 0;
}
