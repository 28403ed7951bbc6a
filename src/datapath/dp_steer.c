/* Service chain steering: out to a hop, back from it, on to the next hop
 * or to the destination (dp_steer.h). */
#include <errno.h>
#include <stdlib.h>

#include <rte_ip.h>

#include "dp.h"
#include "dp_steer.h"
#include "dp_trace.h"

struct dp_steer *_Atomic dp_steer_tab[DP_STEER_IDS];
_Atomic bool dp_steer_port[DP_MAX_PORTS];

static inline void
count(struct dp_lcore *c, const struct dp_steer *e, bool back)
{
	c->hops[e->chain][e->hop][(e->reverse ? DP_HOP_SENT_REV : DP_HOP_SENT_FWD) + back]++;
}

void
dp_steer_send(struct dp_lcore *c, struct rte_mbuf *m, uint16_t id)
{
	const struct dp_steer *e = dp_steer_get(id);
	struct dp_meta *md = dp_meta(m);

	if (unlikely(e == NULL)) {
		DP_TRACE(c, "chain", "hop tag %u is not set up", id);
		dp_drop(c, m, DP_DROP_CHAIN_DOWN);
		return;
	}
	m->vlan_tci = id;
	if (unlikely(rte_vlan_insert(&m) != 0)) {
		DP_TRACE(c, "chain", "no room for the hop tag");
		dp_drop(c, m, DP_DROP_NO_HEADROOM);
		return;
	}
	md->l3_off += sizeof(struct rte_vlan_hdr);
	count(c, e, false);
	if (e->kind == DP_STEER_PORT) {
		DP_TRACE(c, "chain", "hop %u%s: tagged %u, to appliance port %s", e->hop + 1,
			 e->reverse ? " (answers, reverse order)" : "", id,
			 dp_trace_port(c->trace, e->to_port));
		dp_tx_enqueue(c, e->to_port, m);
		return;
	}
	DP_TRACE(c, "chain", "hop %u%s: tagged %u, to external service %s in VNI %u", e->hop + 1,
		 e->reverse ? " (answers, reverse order)" : "", id,
		 dp_trace_ip4(c->trace, e->tep), e->svc_vni);
	md->vni = e->svc_vni;
	md->tag = 0;
	dp_vxlan_encap_one(c, m, e->tunnel);
}

/* The hop named by @m's 802.1Q tag, or NULL when it has none. */
static const struct dp_steer *
tagged_hop(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_vlan_hdr *vh = (const void *)(eh + 1);

	if (m->data_len < sizeof(*eh) + sizeof(*vh) ||
	    eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_VLAN))
		return NULL;
	return dp_steer_get(rte_be_to_cpu_16(vh->vlan_tci) & 0xfff);
}

/* After the last hop: the MACs of the source and the destination (or the
 * gateway's when the destination is in another network) are put back, by
 * IPv4 address in the source's network.  False: dropped. */
static bool
restore(struct dp_lcore *c, struct rte_mbuf *m, const struct dp_steer *e)
{
	struct dp_meta *md = dp_meta(m);
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
	const struct pol_endpoint *src, *dst;

	if (unlikely(eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
		DP_TRACE(c, "chain", "back from the last hop: not IPv4");
		dp_drop(c, m, DP_DROP_CHAIN_NOT_IP4);
		return false;
	}
	if (unlikely(m->data_len < sizeof(*eh) + sizeof(*ip) ||
		     (src = pol_ep_by_ip4(e->src_vni, ip->src_addr)) == NULL)) {
		DP_TRACE(c, "chain", "back from the last hop: no VM with its source address");
		dp_drop(c, m, DP_DROP_CHAIN_BAD_RETURN);
		return false;
	}
	dst = pol_ep_by_ip4(e->src_vni, ip->dst_addr);
	rte_ether_addr_copy(&src->mac, &eh->src_addr);
	rte_ether_addr_copy(dst != NULL ? &dst->mac : &dp.gateway_mac, &eh->dst_addr);
	md->vni = e->src_vni;
	md->ether_type = RTE_ETHER_TYPE_IPV4;
	md->l3_off = sizeof(*eh);
	md->chained = 1;
	md->tag = 0;
	md->held_until = 0;
	if (src->local)
		md->in_port = src->port;
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
	m->vlan_tci = 0;
	DP_TRACE(c, "chain", "back from the last hop: %s → %s, on to its destination",
		 src->name, dst != NULL ? dst->name : "the gateway");
	return true;
}

/* @m came back from hop @e: untag it and send it to the next hop, or
 * restore it.  True: @m is ready for dp_policy_forward. */
static bool
returned(struct dp_lcore *c, struct rte_mbuf *m, const struct dp_steer *e)
{
	count(c, e, true);
	rte_vlan_strip(m);
	if (e->next != 0) {
		DP_TRACE(c, "chain", "back from hop %u, to the next", e->hop + 1);
		dp_steer_send(c, m, e->next);
		return false;
	}
	return restore(c, m, e);
}

uint16_t
dp_steer_port_input(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct dp_steer *e = tagged_hop(m);

		if (unlikely(e == NULL || e->kind != DP_STEER_PORT ||
			     e->from_port != dp_meta(m)->in_port)) {
			DP_TRACE(c, "chain", "from an appliance port: no tag of a hop it serves");
			dp_drop(c, m, DP_DROP_CHAIN_BAD_RETURN);
			continue;
		}
		if (returned(c, m, e))
			pkts[k++] = m;
	}
	return k;
}

bool
dp_steer_tunnel_input(struct dp_lcore *c, struct rte_mbuf *m, uint32_t vni)
{
	const struct dp_steer *e = tagged_hop(m);

	if (e == NULL || e->kind != DP_STEER_TUNNEL || e->svc_vni != vni ||
	    e->tep != dp_meta(m)->tep)
		return false;
	DP_TRACE(c, "chain", "VNI %u: an answer of external service %s", vni,
		 dp_trace_ip4(c->trace, e->tep));
	if (returned(c, m, e) && dp_policy_forward(c, &m, 1) == 1)
		dp_vxlan_encap(c, &m, 1);
	return true;
}

void
dp_chain_counters(unsigned chain, unsigned hop, uint64_t out[DP_HOP_COUNT_MAX])
{
	for (unsigned k = 0; k < DP_HOP_COUNT_MAX; k++)
		out[k] = 0;
	if (chain >= SVC_MAX_CHAINS || hop >= SVC_MAX_HOPS)
		return;
	for (unsigned w = 0; w < dp.n_workers; w++)
		for (unsigned k = 0; k < DP_HOP_COUNT_MAX; k++)
			out[k] += dp.lcores[w].hops[chain][hop][k];
}

int
dp_steer_publish(uint16_t id, const struct dp_steer *e)
{
	struct dp_steer *n = NULL, *old;

	if (id == 0 || id >= DP_STEER_IDS)
		return -EINVAL;
	if (e != NULL) {
		n = malloc(sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		*n = *e;
	}
	old = atomic_exchange_explicit(&dp_steer_tab[id], n, memory_order_acq_rel);
	if (old != NULL)
		pol_defer_free(free, old);
	return 0;
}

void
dp_steer_set_port(uint16_t port, bool appliance)
{
	if (port < DP_MAX_PORTS)
		atomic_store_explicit(&dp_steer_port[port], appliance, memory_order_release);
}
