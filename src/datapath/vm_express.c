/* VM input, the express path: what most frames from a VM need, in one
 * pass over the burst.  A frame is ordinary when it is IPv4 without
 * options, well formed, from the VM's own MAC and address, unicast to a
 * MAC other than the gateway's, and this worker's exact-match cache says
 * its key goes to a resolved tunnel whose port's MTU it fits: it is then
 * encapsulated and queued here, and its metadata never written.  Every
 * other frame takes the stages (dp.h) with all their checks, counters
 * and traces, and so does every frame after it, so that frames leave in
 * the order they came.  A port with service rules or a load balancer,
 * and a trace, always take the stages.
 *
 * Three passes (parse, policy, encapsulation) each loaded every frame's
 * mbuf, metadata and headers again and wrote the metadata for the next:
 * bench/ showed this fixed work, not vhost's copy, kept 1500-byte frames
 * below the baseline. */
#include <rte_ip.h>
#include <rte_prefetch.h>

#include "dp.h"
#include "dp_encap.h"

/* An IPv4 frame without options, well formed, from @ep's MAC and
 * address, unicast, not to the gateway: as dp_vm_parse and
 * dp_port_security_check would pass it, and needing nothing else. */
static __rte_always_inline bool
ordinary(const struct rte_mbuf *m, const struct rte_ether_hdr *eh,
	 const struct pol_endpoint *ep)
{
	const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
	uint16_t tot;

	if (unlikely(m->data_len < sizeof(*eh) + sizeof(*ip) ||
		     eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
		     ip->version_ihl != RTE_IPV4_VHL_DEF))
		return false;
	tot = rte_be_to_cpu_16(ip->total_length);
	return tot >= sizeof(*ip) && tot <= m->pkt_len - sizeof(*eh) &&
	       rte_is_same_ether_addr(&eh->src_addr, &ep->mac) &&
	       pol_ep_has_ip4(ep, ip->src_addr) &&
	       rte_is_unicast_ether_addr(&eh->dst_addr) &&
	       !rte_is_same_ether_addr(&eh->dst_addr, &dp.gateway_mac);
}

uint16_t
dp_vm_express(struct dp_lcore *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	const struct pol_endpoint *ep = pol_port_endpoint(port);
	struct dp_emc *emc = &c->emc;
	struct dp_encap_tmpl e;
	struct dp_txbuf *b = NULL;
	uint64_t last[3] = { 0, 0, 0 }, bytes = 0;
	uint16_t i, hits = 0;

	if (unlikely(c->trace != NULL) || ep == NULL || svc_acl_port_get(port) != NULL ||
	    svc_lb_port_get(port) != NULL)
		return 0;
	dp_emc_refresh(emc);
	e.valid = false;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		uint64_t w[3];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (!ordinary(m, eh, ep))
			break;
		dp_key_words(w, ep->vni, eh, POL_DST_MAC, 0);
		/* Flows come in trains: one lookup, and one look at the template,
		 * for consecutive frames of one key. */
		if (b == NULL || w[0] != last[0] || w[1] != last[1] || w[2] != last[2]) {
			uint64_t val = dp_emc_lookup(emc, w, pol_flow_key_hash(w));

			if (!(val & DP_EMC_TUNNEL))
				break;   /* a miss, or a decision that needs more than a tunnel */
			if (!e.valid || e.tunnel != dp_emc_tunnel_index(val) ||
			    e.vni != dp_emc_tunnel_vni(val) || e.tag != dp_emc_tunnel_tag(val))
				dp_encap_tmpl_fill(&e, dp_emc_tunnel_index(val), dp_emc_tunnel_vni(val),
						   dp_emc_tunnel_tag(val));
			if (!e.ok)
				break;   /* the stages count and trace it */
			memcpy(last, w, sizeof(last));
			hits++;
			b = &c->tx[e.port];
		}
		if (unlikely(!dp_encap_fits(&e, m->pkt_len) ||
			     rte_pktmbuf_headroom(m) < DP_VXLAN_HLEN || b->n >= DP_TXBUF - 1))
			break;   /* the stages answer, count, or send a full buffer */
		if (unlikely(m->ol_flags & RTE_MBUF_F_TX_L4_MASK))
			dp_l4_cksum_finish(m, RTE_ETHER_TYPE_IPV4);
		bytes += m->pkt_len;
		dp_encap_write(m, &e, dp_encap_flow_hash(m));
		if (unlikely(!b->listed)) {
			b->listed = true;
			c->dirty[c->n_dirty++] = e.port;
		}
		b->pkts[b->n++] = m;   /* dp_tx_enqueue(), knowing there is no trace */
	}
	emc->hits += hits;
	c->port[port].rx_bytes += bytes;
	return i;
}
