/* VM input, stage 4: find the destination by (VNI, destination MAC).
 * A local destination is queued straight to its port; a remote one stays
 * in the burst, marked, for encapsulation; broadcast/unknown is flooded
 * when the network says so, else dropped. */
#include <rte_prefetch.h>

#include "dp.h"
#include "dp_trace.h"

uint16_t
dp_l2_forward(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	/* Last lookup, remembered across the burst: flows come in trains. */
	const struct pol_endpoint *last = NULL;
	struct rte_ether_addr last_mac = { 0 };
	uint32_t last_vni = UINT32_MAX;
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		const struct pol_endpoint *dst;

		if (unlikely(!rte_is_unicast_ether_addr(&eh->dst_addr))) {
			const struct pol_vnet *v = pol_vnet_lookup(md->vni);

			DP_TRACE(c, "lookup", "(VNI %u, %s): broadcast/multicast; network %s %s",
				 md->vni, dp_trace_mac(c->trace, &eh->dst_addr),
				 dp_trace_vnet(c->trace, md->vni),
				 v && v->flood ? "floods" : "does not flood");
			if (v != NULL && v->flood)
				dp_flood(c, m, v, true);
			else
				dp_drop(c, m, DP_DROP_BUM);
			continue;
		}
		if (last_vni == md->vni && rte_is_same_ether_addr(&last_mac, &eh->dst_addr)) {
			dst = last;
		} else {
			dst = pol_ep_by_mac(md->vni, &eh->dst_addr);
			last = dst;
			last_vni = md->vni;
			rte_ether_addr_copy(&eh->dst_addr, &last_mac);
		}
		if (unlikely(dst == NULL)) {
			const struct pol_vnet *v = pol_vnet_lookup(md->vni);

			DP_TRACE(c, "lookup", "(VNI %u, %s): unknown; network %s %s", md->vni,
				 dp_trace_mac(c->trace, &eh->dst_addr),
				 dp_trace_vnet(c->trace, md->vni),
				 v && v->flood ? "floods" : "does not flood");
			if (v != NULL && v->flood)
				dp_flood(c, m, v, true);
			else
				dp_drop(c, m, DP_DROP_UNKNOWN_DST);
			continue;
		}
		DP_TRACE(c, "lookup", "(VNI %u, %s) → %s", md->vni,
			 dp_trace_mac(c->trace, &eh->dst_addr), dp_trace_ep(c->trace, dst));
		if (unlikely(dst->local && dst->port == md->in_port)) {
			dp_drop(c, m, DP_DROP_SAME_PORT);
			continue;
		}
		DP_TRACE(c, "policy", "allow — no policy applies (default)");
		DP_TRACE(c, "service insertion", "none enabled");
		if (dst->local) {
			dp_tx_enqueue(c, dst->port, m);
			continue;
		}
		md->dst = dst;
		pkts[k++] = m;
	}
	return k;
}
