/* VM input, after the egress service rules: the built-in load balancer
 * (svc_lb.h).  A frame an enabled client sends to the gateway MAC for a
 * VIP gets a backend's address (and port) as destination: it keeps the
 * gateway MAC, so the policy stage routes it to the backend like any
 * routed frame.  A frame a backend sends from the service port of a VIP it
 * backs gets the VIP as source (stateless reverse NAT).  A VIP without
 * backends drops (lb_no_backend).  A port without LB state costs one
 * atomic load per burst: every frame of a burst came in on one port.
 */
#include <rte_ip.h>

#include "dp.h"
#include "dp_trace.h"

static void
trace_frame(struct dp_lcore *c, const struct svc_lb *lb, enum svc_lb_verdict v,
	    const struct svc_lb_hit *hit, const struct rte_ipv4_hdr *ip)
{
	/* hit says something only for a DNAT or NO_BACKEND verdict */
	const struct svc_lb_vip *vip = v == SVC_LB_DNAT || v == SVC_LB_NO_BACKEND ?
				       &lb->vips[hit->entry] : NULL;

	switch (v) {
	case SVC_LB_DNAT:
		dp_trace_add(c->trace, "lb", "VIP %s:%u (profile %u): backend %u of %u, now to %s:%u",
			     dp_trace_ip4(c->trace, vip->vip), rte_be_to_cpu_16(vip->port),
			     vip->profile, hit->backend + 1, vip->n_backends,
			     dp_trace_ip4(c->trace, ip->dst_addr),
			     rte_be_to_cpu_16(vip->backend_port));
		break;
	case SVC_LB_SNAT:
		dp_trace_add(c->trace, "lb", "reply of a backend: now from VIP %s:%u",
			     dp_trace_ip4(c->trace, lb->rev[hit->entry].vip),
			     rte_be_to_cpu_16(lb->rev[hit->entry].port));
		break;
	case SVC_LB_NO_BACKEND:
		dp_trace_add(c->trace, "lb", "VIP %s:%u (profile %u) has no backend",
			     dp_trace_ip4(c->trace, vip->vip), rte_be_to_cpu_16(vip->port),
			     vip->profile);
		break;
	default:
		break;      /* not LB traffic: the trace stays as without an LB */
	}
}

uint16_t
dp_lb(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	const struct svc_lb *lb;
	uint16_t k = 0;

	if (n == 0)
		return 0;
	lb = svc_lb_port_get(dp_meta(pkts[0])->in_port);
	if (likely(lb == NULL))
		return n;   /* nothing in a trace either: most ports have no LB */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip;
		enum svc_lb_verdict v;
		struct svc_lb_hit hit;

		if (md->ether_type != RTE_ETHER_TYPE_IPV4 || m->data_len <= md->l3_off) {
			pkts[k++] = m;
			continue;
		}
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, md->l3_off);
		v = svc_lb_frame(lb, md->vni, rte_is_same_ether_addr(&eh->dst_addr, &dp.gateway_mac),
				 ip, m->data_len - md->l3_off, &hit);
		if (unlikely(c->trace != NULL))
			trace_frame(c, lb, v, &hit, ip);
		if (v == SVC_LB_DNAT) {
			const struct svc_lb_vip *vip = &lb->vips[hit.entry];

			c->lb[vip->profile][vip->backend_pos[hit.backend]]++;
		} else if (unlikely(v == SVC_LB_NO_BACKEND)) {
			dp_drop(c, m, DP_DROP_LB_NO_BACKEND);
			continue;
		}
		pkts[k++] = m;
	}
	return k;
}

uint64_t
dp_lb_counter(uint16_t profile, unsigned pos)
{
	uint64_t sum = 0;

	if (profile >= SVC_MAX_PROFILES || pos >= SVC_LB_MAX_BACKENDS || dp.lcores == NULL)
		return 0;
	for (unsigned w = 0; w < dp.n_workers; w++)
		sum += dp.lcores[w].lb[profile][pos];
	return sum;
}
