/* Replication of broadcast and unknown-destination frames to the members
 * of a virtual network: its local ports (never back to the input port)
 * and, from a VM, the tunnel endpoints hosting members (never from the
 * network, so nothing loops).  Only networks configured with flood get here. */
#include "dp.h"
#include "dp_trace.h"

static struct rte_mbuf *
replica(struct dp_lcore *c, struct rte_mbuf *m)
{
	struct rte_mbuf *r = rte_pktmbuf_copy(m, dp.pool, 0, UINT32_MAX);

	if (unlikely(r == NULL)) {
		if (unlikely(c->trace != NULL))
			dp_trace_drop(c->trace, DP_DROP_NO_MBUF);
		c->drops[DP_DROP_NO_MBUF]++;
		c->port[dp_meta(m)->in_port].drops++;
		return NULL;
	}
	*dp_meta(r) = *dp_meta(m);
	return r;
}

void
dp_flood(struct dp_lcore *c, struct rte_mbuf *m, const struct pol_vnet *v, bool to_tunnels)
{
	uint16_t in_port = dp_meta(m)->in_port, members = 0;
	struct rte_mbuf *r;

	DP_TRACE(c, "flood", "network %s: a copy to each of %u other member port(s) and %u tunnel "
		 "endpoint(s)", dp_trace_vnet(c->trace, v->vni),
		 dp_trace_count_except(v->flood_ports, v->n_flood_ports, in_port),
		 to_tunnels ? v->n_flood_tunnels : 0);
	for (uint16_t i = 0; i < v->n_flood_ports; i++) {
		if (v->flood_ports[i] == in_port)
			continue;
		members++;
		r = replica(c, m);
		if (r != NULL)
			dp_tx_enqueue(c, v->flood_ports[i], r);
	}
	for (uint16_t i = 0; to_tunnels && i < v->n_flood_tunnels; i++) {
		members++;
		r = replica(c, m);
		if (r != NULL)
			dp_vxlan_encap_one(c, r, v->flood_tunnels[i]);
	}
	if (members == 0)   /* the sender is alone in its network */
		dp_drop(c, m, DP_DROP_FLOOD_NO_MEMBERS);
	else
		rte_pktmbuf_free(m);   /* its copies went out (or were counted) */
}
