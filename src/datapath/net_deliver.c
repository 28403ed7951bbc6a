/* Network input, stage 3: deliver decapsulated frames to local VMs by
 * (VNI, inner destination MAC).  A broadcast ARP request goes only to the
 * VM that owns the target address; other broadcast/unknown traffic is
 * replicated to local members if the network floods (never back into
 * the underlay), else dropped.  The sending switch is told (through the
 * control thread, dp.events) when it sent to a VM that is not here (D5)
 * or under a policy tag that is not ours (D8). */
#include <rte_arp.h>
#include <rte_hash_crc.h>

#include "dp.h"
#include "dp_trace.h"

/* Unicast for (VNI, MAC) that is not ours: the sender's translation is stale. */
static void
report_not_local(struct dp_lcore *c, const struct dp_meta *md, const struct rte_ether_hdr *eh)
{
	struct dp_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_NOT_LOCAL;
	ev.tep = md->tep;
	pol_flow_key_mac(&ev.key, md->vni, &eh->src_addr, &eh->dst_addr);
	dp_event_report(c, &ev, rte_hash_crc(&ev, sizeof(ev), 0));
}

/* Delivered under another policy tag than ours: once per sending TEP. */
static void
report_stale_tag(struct dp_lcore *c, const struct dp_meta *md, const struct rte_ether_hdr *eh)
{
	struct dp_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_STALE_TAG;
	ev.tep = md->tep;
	ev.tag = md->tag;
	pol_flow_key_mac(&ev.key, md->vni, &eh->src_addr, &eh->dst_addr);
	dp_event_report(c, &ev, rte_hash_crc_4byte(md->tep, DP_EV_STALE_TAG));
}


/* Destination MAC of @eh as a number, for comparing. */
static inline uint64_t
dst_mac_word(const struct rte_ether_hdr *eh)
{
	uint64_t w = 0;

	memcpy(&w, &eh->dst_addr, RTE_ETHER_ADDR_LEN);
	return w;
}

uint16_t
dp_net_deliver(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	/* Frames come in trains: the last (VNI, MAC) looked up and its answer.
	 * The answer stays valid until this worker's next quiescent state. */
	const struct pol_endpoint *last_dst = NULL;
	uint32_t last_vni = UINT32_MAX;   /* VNIs have 24 bits: never matches */
	uint64_t last_mac = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		const struct pol_endpoint *dst;
		const struct pol_vnet *v;

		if (likely(rte_is_unicast_ether_addr(&eh->dst_addr))) {
			uint64_t mac = dst_mac_word(eh);

			if (md->vni != last_vni || mac != last_mac) {
				last_dst = pol_ep_by_mac(md->vni, &eh->dst_addr);
				last_vni = md->vni;
				last_mac = mac;
			}
			dst = last_dst;
			DP_TRACE(c, "delivery", "(VNI %u, %s) → %s", md->vni,
				 dp_trace_mac(c->trace, &eh->dst_addr), dp_trace_ep(c->trace, dst));
			if (likely(dst != NULL && dst->local)) {
				uint16_t ours = atomic_load_explicit(&dp.policy_tag,
								     memory_order_relaxed);
				bool stale = md->tag != 0 && ours != 0 && md->tag != ours;

				DP_TRACE(c, "policy", "decided by the sending switch; tag %u%s",
					 md->tag, stale ? ", not ours: the sender is told" : "");
				if (unlikely(stale))
					report_stale_tag(c, md, eh);
				if (dp_svc_ingress(c, m, dst->port))
					dp_tx_enqueue(c, dst->port, m);
			} else {
				report_not_local(c, md, eh);
				dp_drop(c, m, DP_DROP_DST_NOT_LOCAL);
			}
			continue;
		}
		if (md->ether_type == RTE_ETHER_TYPE_ARP &&
		    m->data_len >= sizeof(*eh) + sizeof(struct rte_arp_hdr)) {
			const struct rte_arp_hdr *a = (const void *)(eh + 1);

			if (!dp_arp_valid(a)) {
				dp_drop(c, m, DP_DROP_ARP_INVALID);
				continue;
			}
			if (a->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST)) {
				dst = pol_ep_by_ip4(md->vni, a->arp_data.arp_tip);
				if (dst != NULL && dst->local) {
					DP_TRACE(c, "delivery", "ARP request for %s → %s",
						 dp_trace_ip4(c->trace, a->arp_data.arp_tip),
						 dp_trace_ep(c->trace, dst));
					dp_tx_enqueue(c, dst->port, m);
					continue;
				}
			}
		}
		v = pol_vnet_lookup(md->vni);
		DP_TRACE(c, "delivery", "(VNI %u, %s): %s; network %s %s", md->vni,
			 dp_trace_mac(c->trace, &eh->dst_addr),
			 md->ether_type == RTE_ETHER_TYPE_ARP ?
			 "ARP for no local endpoint" : "broadcast/multicast",
			 dp_trace_vnet(c->trace, md->vni),
			 v && v->flood ? "floods to its local members" : "does not flood");
		if (v != NULL && v->flood)
			dp_flood(c, m, v, false);
		else
			dp_drop(c, m, md->ether_type == RTE_ETHER_TYPE_ARP ?
				DP_DROP_ARP_UNKNOWN : DP_DROP_BUM);
	}
	return 0;
}
