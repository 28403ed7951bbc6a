/* VM input, stage 3: answer ARP requests from the endpoint table, so no
 * ARP for a known VM ever crosses the underlay, and for the network's
 * gateway addresses with the distributed gateway's MAC (D10).  Requests for unknown
 * addresses go on to be flooded if the network floods, else are dropped;
 * gratuitous ARP and probes for the VM's own address are absorbed; ARP
 * replies pass on as unicast. */
#include <rte_arp.h>

#include "dp.h"
#include "dp_trace.h"

/* Turn request @a (for @ep's address @tip) into its reply, in place. */
static void
arp_make_reply(struct rte_ether_hdr *eh, struct rte_arp_hdr *a,
	       const struct rte_ether_addr *mac, uint32_t tip)
{
	uint32_t sip = a->arp_data.arp_sip;

	rte_ether_addr_copy(&eh->src_addr, &eh->dst_addr);
	rte_ether_addr_copy(mac, &eh->src_addr);
	a->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&a->arp_data.arp_sha, &a->arp_data.arp_tha);
	a->arp_data.arp_tip = sip;
	rte_ether_addr_copy(mac, &a->arp_data.arp_sha);
	a->arp_data.arp_sip = tip;
}


bool
dp_arp_valid(const struct rte_arp_hdr *a)
{
	return a->arp_hardware == RTE_BE16(RTE_ARP_HRD_ETHER) &&
	       a->arp_protocol == RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
	       a->arp_hlen == RTE_ETHER_ADDR_LEN && a->arp_plen == 4 &&
	       (a->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST) ||
		a->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY));
}

uint16_t
dp_arp_proxy(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		struct rte_ether_hdr *eh;
		struct rte_arp_hdr *a;
		const struct pol_endpoint *target;
		const struct pol_vnet *v;
		uint32_t tip;

		if (md->ether_type != RTE_ETHER_TYPE_ARP) {
			pkts[k++] = m;
			continue;
		}
		eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		a = (struct rte_arp_hdr *)(eh + 1);
		DP_TRACE(c, "arp", "%s from %s %s for %s",
			 a->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST) ? "request" :
			 a->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY) ? "reply" : "bad opcode",
			 dp_trace_ip4(c->trace, a->arp_data.arp_sip),
			 dp_trace_mac(c->trace, &a->arp_data.arp_sha),
			 dp_trace_ip4(c->trace, a->arp_data.arp_tip));
		if (unlikely(!dp_arp_valid(a))) {
			dp_drop(c, m, DP_DROP_ARP_INVALID);
			continue;
		}
		tip = a->arp_data.arp_tip;
		if (a->arp_data.arp_sip == tip) {
			dp_drop(c, m, DP_DROP_ARP_GRATUITOUS);
			continue;
		}
		if (a->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY)) {
			DP_TRACE(c, "arp", "a reply from the VM: on to lookup as unicast");
			pkts[k++] = m;  /* a VM answering a request we delivered to it */
			continue;
		}
		v = pol_vnet_lookup(md->vni);
		if (v != NULL && v->n_gateways > 0 && pol_vnet_is_gateway(v, tip)) {
			DP_TRACE(c, "arp", "answered locally: %s is-at %s (the network's gateway)",
				 dp_trace_ip4(c->trace, tip), dp_trace_mac(c->trace, &dp.gateway_mac));
			arp_make_reply(eh, a, &dp.gateway_mac, tip);
			dp_tx_enqueue(c, md->in_port, m);
			continue;
		}
		if (unlikely(svc_lb_is_vip(svc_lb_port_get(md->in_port), md->vni, tip))) {
			/* a load balancer's VIP: reached through the gateway (dp_lb.c) */
			DP_TRACE(c, "arp", "answered locally: %s is-at %s (a load balancer's VIP)",
				 dp_trace_ip4(c->trace, tip), dp_trace_mac(c->trace, &dp.gateway_mac));
			arp_make_reply(eh, a, &dp.gateway_mac, tip);
			dp_tx_enqueue(c, md->in_port, m);
			continue;
		}
		target = pol_ep_by_ip4(md->vni, tip);
		if (unlikely(target != NULL && target->local && target->port == md->in_port)) {
			/* a probe for its own address (RFC 5227): no conflict to report */
			dp_drop(c, m, DP_DROP_ARP_GRATUITOUS);
			continue;
		}
		if (target != NULL) {
			DP_TRACE(c, "arp", "answered locally: %s is-at %s (%s)",
				 dp_trace_ip4(c->trace, tip), dp_trace_mac(c->trace, &target->mac),
				 dp_trace_ep(c->trace, target));
			arp_make_reply(eh, a, &target->mac, tip);
			dp_tx_enqueue(c, md->in_port, m);
			continue;
		}
		if (v != NULL && v->flood) {
			DP_TRACE(c, "arp", "no endpoint owns %s; network %s floods: on to lookup",
				 dp_trace_ip4(c->trace, tip), dp_trace_vnet(c->trace, md->vni));
			pkts[k++] = m;
			continue;
		}
		dp_drop(c, m, DP_DROP_ARP_UNKNOWN);
	}
	return k;
}
