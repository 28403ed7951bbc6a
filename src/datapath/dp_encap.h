/* VXLAN encapsulation (RFC 7348) shared by the encapsulation stage
 * (vxlan_encap.c) and the express path (vm_express.c).  Outer: Ethernet
 * / IPv4 (DF) / UDP (source port from a hash of the inner flow, checksum
 * 0) / VXLAN (I flag, policy tag in bytes 2-3 when the decision has one,
 * VNI).  The outer headers are built once per run of frames toward one
 * (tunnel, VNI, tag) and copied; each frame gets its lengths, source port
 * and IPv4 checksum patched in. */
#ifndef DP_ENCAP_H
#define DP_ENCAP_H

#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dp.h"

#define DP_ENCAP_OUTER_L3_LEN (sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) + \
			       sizeof(struct rte_vxlan_hdr))

/* Outer headers toward one (tunnel, VNI, tag). */
struct dp_encap_tmpl {
	uint8_t hdr[DP_VXLAN_HLEN];   /* outer headers; lengths, port and checksum 0 */
	bool valid;                   /* key below was looked up */
	bool ok;                      /* the tunnel and its port exist, next hop resolved */
	uint16_t tunnel;              /* key: tunnel index, VNI, policy tag */
	uint32_t vni;
	uint16_t tag;
	uint32_t sum;                 /* one's complement sum of the IPv4 header, length 0 */
	const struct pol_tunnel *t;   /* valid until this worker's next quiescent state */
	struct dp_port *p;
	/* From t and p when ok, so that a frame reads them from here: */
	uint16_t port;                /* p's index */
	bool ip_cksum_offload;        /* p computes the outer IPv4 checksum */
	uint32_t max_inner;           /* longest inner frame p's MTU takes */
};

/* Look up @tunnel and build the outer headers for @vni and @tag. */
void dp_encap_tmpl_fill(struct dp_encap_tmpl *e, uint16_t tunnel, uint32_t vni, uint16_t tag);

/* True when a frame of @inner_len bytes fits @e's port's MTU once encapsulated. */
static inline bool
dp_encap_fits(const struct dp_encap_tmpl *e, uint32_t inner_len)
{
	return inner_len <= e->max_inner;
}

/* Hash of an inner IPv4 flow, so one flow keeps one outer source port
 * (ECMP in the underlay): addresses and TCP/UDP ports (or the protocol)
 * in one CRC step.  @ihl: header length; @l3_len: bytes from @ip on. */
static __rte_always_inline uint32_t
dp_encap_flow_hash_ip4(const struct rte_ipv4_hdr *ip, uint16_t ihl, uint32_t l3_len)
{
	uint64_t addrs;
	uint32_t l4 = ip->next_proto_id;

	memcpy(&addrs, &ip->src_addr, sizeof(addrs));
	if ((l4 == IPPROTO_TCP || l4 == IPPROTO_UDP) && l3_len >= ihl + 4u)
		memcpy(&l4, (const uint8_t *)ip + ihl, sizeof(l4));   /* both ports */
	return pol_crc64(addrs, l4);
}

/* Hash of the inner flow (dp_encap_flow_hash_ip4); the MACs for anything
 * but IPv4. */
static inline uint32_t
dp_encap_flow_hash(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t w[2] = { 0, 0 };   /* memcpy: a frame tagged for a chain hop starts 4 bytes early */

	if (eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= sizeof(*eh) + sizeof(struct rte_ipv4_hdr)) {
		const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);

		return dp_encap_flow_hash_ip4(ip, rte_ipv4_hdr_len(ip), m->data_len - sizeof(*eh));
	}
	memcpy(w, eh, 2 * RTE_ETHER_ADDR_LEN);
	return rte_hash_crc_4byte((uint32_t)w[1], rte_hash_crc_8byte(w[0], 0));
}

/* Put @e's outer headers in front of @m (its port fits it, its headroom
 * holds them) with the frame's lengths, source port from @hash and IPv4
 * checksum (or its offload); returns the outer Ethernet header. */
static __rte_always_inline struct rte_ether_hdr *
dp_encap_write(struct rte_mbuf *m, const struct dp_encap_tmpl *e, uint32_t hash)
{
	uint32_t inner_len = m->pkt_len, sum;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint16_t tot;

	RTE_BUILD_BUG_ON(DP_VXLAN_HLEN != 50);
	/* rte_pktmbuf_prepend() without its check: the caller made it */
	m->data_off -= DP_VXLAN_HLEN;
	m->data_len += DP_VXLAN_HLEN;
	m->pkt_len += DP_VXLAN_HLEN;
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	/* In 16-byte pieces: for one memcpy of 50 bytes GCC may emit rep movsb,
	 * whose start-up costs more than the copy (vs-fastpath-cycles). */
	memcpy(eh, e->hdr, 16);
	memcpy((uint8_t *)eh + 16, e->hdr + 16, 16);
	memcpy((uint8_t *)eh + 32, e->hdr + 32, 16);
	memcpy((uint8_t *)eh + 48, e->hdr + 48, 2);
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	tot = rte_cpu_to_be_16(inner_len + DP_ENCAP_OUTER_L3_LEN);
	ip->total_length = tot;
	udp->src_port = rte_cpu_to_be_16(49152 | (hash & 0x3fff)); /* IANA dynamic range */
	udp->dgram_len = rte_cpu_to_be_16(inner_len + sizeof(*udp) + sizeof(struct rte_vxlan_hdr));

	m->ol_flags &= ~(RTE_MBUF_F_TX_OFFLOAD_MASK);
	if (e->ip_cksum_offload) {
		m->l2_len = sizeof(*eh);
		m->l3_len = sizeof(*ip);
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	} else {
		/* the template's sum plus the length word (RFC 1071, any byte order) */
		sum = e->sum + tot;
		sum = (sum & 0xffff) + (sum >> 16);
		ip->hdr_checksum = (uint16_t)~sum;
	}
	return eh;
}

#endif
