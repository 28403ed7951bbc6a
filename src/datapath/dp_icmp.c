/* ICMP "fragmentation needed" (RFC 792 type 3 code 4, with the next-hop
 * MTU of RFC 1191) for a VM whose IPv4 frame with DF set would not fit
 * the underlay once encapsulated.  The answer comes as if from the
 * destination, as Linux's VXLAN does on bridged links, so the guest
 * lowers its path MTU toward that destination only. */
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dp.h"
#include "dp_icmp.h"
#include "dp_trace.h"

#define ICMP_ERR_MAX 576          /* RFC 1812 4.3.2.3: the whole error fits 576 bytes */
#define ICMP_PER_S 100            /* per worker: a flood of big frames gets few answers */
#define ICMP_DEST_UNREACH 3

/* A token per 1/ICMP_PER_S s, at most one second's worth saved up. */
static bool
icmp_allowed(struct dp_lcore *c)
{
	uint64_t now = rte_rdtsc(), step = rte_get_tsc_hz() / ICMP_PER_S;

	if (now - c->icmp_tsc > step * ICMP_PER_S)
		c->icmp_tsc = now - step * ICMP_PER_S;
	if (now - c->icmp_tsc < step)
		return false;
	c->icmp_tsc += step;
	return true;
}

int
dp_icmp_frag_needed(struct dp_lcore *c, struct rte_mbuf *m, uint16_t mtu)
{
	struct dp_meta *md = dp_meta(m);
	const struct pol_endpoint *vm = pol_port_endpoint(md->in_port);
	struct rte_ipv4_hdr iph_buf;
	const struct rte_ipv4_hdr *in;
	const struct rte_ether_hdr *ein;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *r;
	const void *orig;
	uint32_t quote;

	if (md->ether_type != RTE_ETHER_TYPE_IPV4 || vm == NULL)
		return -EINVAL;
	in = rte_pktmbuf_read(m, md->l3_off, sizeof(iph_buf), &iph_buf);
	if (in == NULL || !(in->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)) ||
	    (in->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return -EINVAL;   /* no DF: the sender asked for no answer; fragments: RFC 1122 */
	if (c->trace != NULL) {
		DP_TRACE(c, "encapsulation", "IPv4 with DF: answered with ICMP fragmentation "
			 "needed, next-hop MTU %u", mtu);
		return 0;
	}
	if (!icmp_allowed(c)) {
		c->icmp_limited++;
		return -EBUSY;
	}
	r = rte_pktmbuf_alloc(m->pool);
	if (r == NULL)
		return -ENOMEM;
	quote = RTE_MIN(m->pkt_len - md->l3_off,
			ICMP_ERR_MAX - (uint32_t)(sizeof(*ip) + sizeof(*icmp)));
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(r, sizeof(*eh) + sizeof(*ip) +
						       sizeof(*icmp) + quote);
	if (eh == NULL) {
		rte_pktmbuf_free(r);
		return -ENOSPC;
	}
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	orig = rte_pktmbuf_read(m, md->l3_off, quote, icmp + 1);
	if (orig != icmp + 1)           /* contiguous in @m: nothing was copied yet */
		rte_memcpy(icmp + 1, orig, quote);

	/* Routed frames already carry the gateway MAC as their source: answer
	 * from the gateway then, else from the destination's MAC. */
	ein = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	rte_ether_addr_copy(&vm->mac, &eh->dst_addr);
	rte_ether_addr_copy(rte_is_same_ether_addr(&ein->src_addr, &dp.gateway_mac) ?
			    &dp.gateway_mac : &ein->dst_addr, &eh->src_addr);
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0xc0;       /* internetwork control, as routers send errors */
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*icmp) + quote);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = in->dst_addr;
	ip->dst_addr = in->src_addr;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	icmp->icmp_type = ICMP_DEST_UNREACH;
	icmp->icmp_code = 4;              /* fragmentation needed and DF set */
	icmp->icmp_ident = 0;
	icmp->icmp_seq_nb = rte_cpu_to_be_16(mtu);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, sizeof(*icmp) + quote);

	dp_meta(r)->in_port = md->in_port;
	c->icmp_frag_needed++;
	dp_tx_enqueue(c, md->in_port, r);
	return 0;
}
