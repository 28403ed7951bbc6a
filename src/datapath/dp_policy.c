/* VM input, stage 4: forward every unicast frame by its decision (D1-D3).
 *
 * Key: (VNI, source MAC, destination MAC), or (VNI, source MAC,
 * destination IPv4) for a frame to the distributed gateway's MAC (D10).
 * The burst's keys are looked up in this worker's exact-match cache
 * (dp_emc.h), the rest in the decision cache at once; a hit
 * says where the frame goes: a local port (queued here), a tunnel (the
 * frame stays in the burst, marked, for vxlan_encap), or a drop.  A miss
 * is reported to the control thread on dp.events and the frame is held
 * until the answer is installed (dp_policy_held) or its time is up.
 * Broadcast/multicast takes no decision: flooded or dropped as the
 * network says.
 */
#include <inttypes.h>
#include <stddef.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>

#include "dp.h"
#include "dp_steer.h"
#include "dp_trace.h"

/* ---- events to the control thread ---- */

bool
dp_event_report(struct dp_lcore *c, const struct dp_event *ev, uint32_t sig)
{
	__typeof__(c->miss_filter[0]) *f = &c->miss_filter[sig & (DP_MISS_FILTER - 1)];
	uint64_t now;

	if (c->trace != NULL || dp.events == NULL)
		return false;   /* a dry run tells nobody */
	now = rte_rdtsc();
	if (f->tsc != 0 && f->sig == sig && now - f->tsc < dp.miss_repeat_tsc)
		return false;
	if (rte_ring_mp_enqueue_elem(dp.events, (void *)(uintptr_t)ev, sizeof(*ev)) != 0) {
		c->events_lost++;   /* not remembered: the next frame tries again */
		return false;
	}
	f->sig = sig;
	f->tsc = now;
	return true;
}

/* ---- trace text ---- */

static const char *
result_name(const struct pol_decision *d)
{
	switch (d->result) {
	case POL_RES_FORWARD:
		return d->action == CTL_ACT_CHAIN ? "allow through service chain" : "allow";
	case POL_RES_DENY:       return "deny";
	case POL_RES_UNKNOWN:    return "unknown destination";
	case POL_RES_CHAIN_DOWN: return "service chain down";
	default:                 return "?";
	}
}

static void
trace_decision(struct dp_lcore *c, const struct pol_decision *d, bool cached)
{
	struct dp_trace *t = c->trace;
	char path[DP_TRACE_TEXT_MAX];

	if (d->result != POL_RES_FORWARD)
		snprintf(path, sizeof(path), "no path");
	else if (d->local)
		snprintf(path, sizeof(path), "path: %s, local on port %s, VNI %u",
			 d->dst_vm[0] ? d->dst_vm : "?", dp_trace_port(t, d->port), d->dst_vni);
	else
		snprintf(path, sizeof(path), "path: %s, tunnel %u to TEP %s, VNI %u, tag %u",
			 d->dst_vm[0] ? d->dst_vm : "?", d->tunnel, dp_trace_ip4(t, d->tep),
			 d->dst_vni, d->tag);
	dp_trace_add(t, "policy", "%s%s%s: %s (revision %" PRIu64 ")%s; %s%s",
		     d->policy[0] ? d->policy : "default", d->chain[0] ? ", chain " : "",
		     d->chain, result_name(d), d->policy_rev, d->routed ? ", routed" : "", path,
		     cached ? "" : " (decided for this trace, not installed)");
}

static void
trace_key(struct dp_lcore *c, const struct pol_flow_key *k, const char *what)
{
	struct dp_trace *t = c->trace;
	uint32_t ip;

	if (k->kind == POL_DST_IP4) {
		memcpy(&ip, k->dst, 4);
		dp_trace_add(t, "lookup", "routed (VNI %u, %s → %s): %s", k->src_vni,
			     dp_trace_mac(t, (const void *)k->src_mac), dp_trace_ip4(t, ip), what);
	} else {
		dp_trace_add(t, "lookup", "(VNI %u, %s → %s) %s: %s", k->src_vni,
			     dp_trace_mac(t, (const void *)k->src_mac),
			     dp_trace_mac(t, (const void *)k->dst),
			     dp_trace_ep(t, pol_ep_by_mac(k->src_vni, (const void *)k->dst)), what);
	}
}

/* ---- miss ---- */

/* No decision for @m: report it, then hold the frame or drop it.  In a
 * trace, ask the control plane instead and return its decision in @tmp. */
static const struct pol_decision *
policy_miss(struct dp_lcore *c, struct rte_mbuf *m, const struct pol_flow_key *k,
	    struct pol_decision *tmp)
{
	struct dp_meta *md = dp_meta(m);
	struct dp_event ev;

	if (unlikely(c->trace != NULL)) {
		if (dp_trace_decide != NULL && dp_trace_decide(k, md->in_port, tmp) == 0) {
			trace_key(c, k, "no decision cached; the policy service decides");
			return tmp;
		}
		trace_key(c, k, "no decision cached");
		dp_drop(c, m, DP_DROP_POLICY_MISS);
		return NULL;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_MISS;
	ev.port = md->in_port;
	ev.key = *k;
	dp_event_report(c, &ev, rte_hash_crc(k, sizeof(*k), DP_EV_MISS));
	if (dp.miss_hold_tsc == 0 || c->n_held >= DP_HOLD_MAX) {
		dp_drop(c, m, DP_DROP_POLICY_MISS);
		return NULL;
	}
	if (md->held_until == 0)   /* a retried frame keeps its first deadline */
		md->held_until = rte_rdtsc() + dp.miss_hold_tsc;
	c->held[c->n_held++] = m;
	return NULL;
}

/* ---- hit ---- */

/* Distributed gateway (D10): MACs rewritten, TTL decremented with an
 * incremental checksum update (RFC 1624, eqn. 3).  False: TTL ran out. */
static inline bool
route(struct rte_mbuf *m, struct rte_ether_hdr *eh, const struct pol_decision *d)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  dp_meta(m)->l3_off);
	uint16_t old, new;
	uint32_t sum;

	if (unlikely(ip->time_to_live <= 1))
		return false;
	old = ((uint16_t)ip->time_to_live << 8) | ip->next_proto_id;
	ip->time_to_live--;
	new = old - 0x100;
	sum = (uint16_t)~rte_be_to_cpu_16(ip->hdr_checksum) + (uint16_t)~old + new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->hdr_checksum = rte_cpu_to_be_16(~sum & 0xffff);
	rte_ether_addr_copy(&d->src_mac, &eh->src_addr);
	rte_ether_addr_copy(&d->dst_mac, &eh->dst_addr);
	return true;
}

/* Act on @d for @m; true when @m stays in the burst for encapsulation. */
static inline bool
apply(struct dp_lcore *c, struct rte_mbuf *m, struct rte_ether_hdr *eh,
      const struct pol_decision *d)
{
	struct dp_meta *md = dp_meta(m);
	const struct pol_vnet *v;

	switch (d->result) {
	case POL_RES_FORWARD:
		break;
	case POL_RES_DENY:
		dp_drop(c, m, DP_DROP_POLICY_DENY);
		return false;
	case POL_RES_CHAIN_DOWN:
		dp_drop(c, m, DP_DROP_CHAIN_DOWN);
		return false;
	default:   /* POL_RES_UNKNOWN: as the network says */
		v = pol_vnet_lookup(md->vni);
		DP_TRACE(c, "policy", "unknown destination; network %s %s",
			 dp_trace_vnet(c->trace, md->vni),
			 v && v->flood ? "floods" : "does not flood");
		if (v != NULL && v->flood && !rte_is_same_ether_addr(&eh->dst_addr, &dp.gateway_mac))
			dp_flood(c, m, v, true);
		else
			dp_drop(c, m, DP_DROP_UNKNOWN_DST);
		return false;
	}
	if (d->steer != 0 && !md->chained) {
		/* through the chain first; routed when it comes back */
		if (unlikely(md->ether_type != RTE_ETHER_TYPE_IPV4)) {
			DP_TRACE(c, "chain", "%s: only IPv4 goes through a chain", d->chain);
			dp_drop(c, m, DP_DROP_CHAIN_NOT_IP4);
		} else {
			dp_steer_send(c, m, d->steer);
		}
		return false;
	}
	if (d->routed) {
		if (unlikely(!route(m, eh, d))) {
			dp_drop(c, m, DP_DROP_TTL_EXCEEDED);
			return false;
		}
		DP_TRACE(c, "routing", "gateway: %s → %s, TTL decremented; into network %s",
			 dp_trace_mac(c->trace, &d->src_mac), dp_trace_mac(c->trace, &d->dst_mac),
			 dp_trace_vnet(c->trace, d->dst_vni));
	}
	md->vni = d->dst_vni;
	if (d->local) {
		if (unlikely(d->port == md->in_port)) {
			dp_drop(c, m, DP_DROP_SAME_PORT);
			return false;
		}
		if (dp_svc_ingress(c, m, d->port))
			dp_tx_enqueue(c, d->port, m);
		return false;
	}
	if (unlikely(c->trace != NULL))
		dp_svc_trace_none(c, m, -1);
	md->tunnel = d->tunnel;
	md->tag = d->tag;
	return true;
}

/* Broadcast/multicast: no decision, flooded or dropped. */
static void
bum(struct dp_lcore *c, struct rte_mbuf *m, const struct rte_ether_hdr *eh)
{
	uint32_t vni = dp_meta(m)->vni;
	const struct pol_vnet *v = pol_vnet_lookup(vni);

	DP_TRACE(c, "lookup", "(VNI %u, %s): broadcast/multicast; network %s %s", vni,
		 dp_trace_mac(c->trace, &eh->dst_addr), dp_trace_vnet(c->trace, vni),
		 v && v->flood ? "floods" : "does not flood");
	if (v != NULL && v->flood)
		dp_flood(c, m, v, true);
	else
		dp_drop(c, m, DP_DROP_BUM);
}

/* What the exact-match cache keeps for @d: its effect when that is only
 * "encapsulate toward a tunnel" (the frame needs nothing else from it),
 * else the pointer. */
static inline uint64_t
emc_value(const struct pol_decision *d)
{
	if (d->result == POL_RES_FORWARD && !d->local && !d->routed && d->steer == 0)
		return dp_emc_tunnel(d->tunnel, d->dst_vni, d->tag);
	return (uintptr_t)d;
}

/* Values (dp_emc.h) of the burst's @nk distinct keys, 0 for none: from
 * this worker's exact-match cache, the rest from the shared cache in one
 * bulk lookup (and remembered).  A trace looks in the shared cache only
 * and gets pointers. */
static void
lookup(struct dp_lcore *c, const struct pol_flow_key *keys, const struct pol_flow_key **kp,
       uint32_t *sig, uint16_t nk, uint64_t *val)
{
	struct dp_emc *emc = &c->emc;
	const struct pol_flow_key *mk[DP_BURST];
	const struct pol_decision *md[DP_BURST];
	uint32_t ms[DP_BURST];
	uint8_t mi[DP_BURST];
	uint64_t w[3];
	uint16_t nm = 0;

	if (unlikely(c->trace != NULL)) {
		pol_decision_lookup_bulk_hash(kp, sig, nk, md);
		for (uint16_t i = 0; i < nk; i++)
			val[i] = (uintptr_t)md[i];
		return;
	}
	dp_emc_refresh(emc);
	for (uint16_t i = 0; i < nk; i++) {
		memcpy(w, &keys[i], sizeof(w));
		val[i] = dp_emc_lookup(emc, w, sig[i]);
		if (val[i] == 0) {
			mk[nm] = &keys[i];
			ms[nm] = sig[i];
			mi[nm++] = i;
		}
	}
	emc->hits += nk - nm;
	if (nm == 0)
		return;
	emc->misses += nm;
	pol_decision_lookup_bulk_hash(mk, ms, nm, md);
	for (uint16_t j = 0; j < nm; j++) {
		if (md[j] == NULL)
			continue;   /* val[mi[j]] is 0 from the cache's miss */
		val[mi[j]] = emc_value(md[j]);
		memcpy(w, mk[j], sizeof(w));
		dp_emc_insert(emc, w, ms[j], val[mi[j]]);
	}
}

uint16_t
dp_policy_forward(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	struct pol_flow_key keys[DP_BURST];
	const struct pol_flow_key *kp[DP_BURST];
	uint64_t val[DP_BURST];          /* keys[i]'s decision (dp_emc.h), 0 for none */
	uint32_t sig[DP_BURST];          /* keys[i]'s hash */
	struct rte_mbuf *uc[DP_BURST];
	uint8_t slot[DP_BURST];          /* uc[j]'s key: keys[slot[j]] */
	uint64_t kw[3], last[3] = { 0, 0, 0 }; /* this frame's key, the previous one */
	uint16_t nu = 0, nk = 0, k = 0;

	RTE_BUILD_BUG_ON(DP_BURST > RTE_HASH_LOOKUP_BULK_MAX);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *md = dp_meta(m);
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

		if (unlikely(!rte_is_unicast_ether_addr(&eh->dst_addr))) {
			bum(c, m, eh);
			continue;
		}
		if (rte_is_same_ether_addr(&eh->dst_addr, &dp.gateway_mac)) {
			const struct rte_ipv4_hdr *ip;

			if (unlikely(md->ether_type != RTE_ETHER_TYPE_IPV4)) {
				DP_TRACE(c, "lookup", "to the gateway MAC %s: not IPv4, cannot route",
					 dp_trace_mac(c->trace, &eh->dst_addr));
				dp_drop(c, m, DP_DROP_ROUTE_NOT_IP4);
				continue;
			}
			ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, md->l3_off);
			dp_key_words(kw, md->vni, eh, POL_DST_IP4, ip->dst_addr);
		} else {
			dp_key_words(kw, md->vni, eh, POL_DST_MAC, 0);
		}
		/* Flows come in trains: one lookup for consecutive frames of one key. */
		if (nk > 0 && kw[0] == last[0] && kw[1] == last[1] && kw[2] == last[2]) {
			slot[nu] = nk - 1;
		} else {
			memcpy(&keys[nk], kw, sizeof(keys[nk]));
			memcpy(last, kw, sizeof(last));
			sig[nk] = pol_flow_key_hash(kw);
			/* many flows: this worker's cache is beyond L1, the decisions beyond L2 */
			rte_prefetch0(dp_emc_slot(&c->emc, sig[nk]));
			rte_prefetch0(dp_emc_slot2(&c->emc, sig[nk]));
			kp[nk] = &keys[nk];
			slot[nu] = nk++;
		}
		uc[nu++] = m;
	}
	if (nk == 0)
		return 0;
	lookup(c, keys, kp, sig, nk, val);
	for (uint16_t i = 0; i < nk; i++)   /* what the workers read is its first line */
		if (val[i] != 0 && !(val[i] & DP_EMC_TUNNEL))
			rte_prefetch0((const void *)(uintptr_t)val[i]);
	for (uint16_t j = 0; j < nu; j++) {
		struct rte_mbuf *m = uc[j];
		uint64_t v = val[slot[j]];
		const struct pol_decision *d = (const void *)(uintptr_t)v;
		struct pol_decision tmp;

		if (v & DP_EMC_TUNNEL) {   /* what apply() would do for it */
			struct dp_meta *md = dp_meta(m);

			md->vni = dp_emc_tunnel_vni(v);
			md->tunnel = dp_emc_tunnel_index(v);
			md->tag = dp_emc_tunnel_tag(v);
			pkts[k++] = m;
			continue;
		}
		if (unlikely(d == NULL)) {
			d = policy_miss(c, m, &keys[slot[j]], &tmp);
			if (d == NULL)
				continue;
			if (unlikely(c->trace != NULL))
				trace_decision(c, d, false);
		} else if (unlikely(c->trace != NULL)) {
			trace_key(c, &keys[slot[j]], "decision cached");
			trace_decision(c, d, true);
		}
		if (apply(c, m, rte_pktmbuf_mtod(m, struct rte_ether_hdr *), d))
			pkts[k++] = m;
	}
	return k;
}

/* ---- held frames ---- */

unsigned
dp_policy_held(struct dp_lcore *c)
{
	uint64_t gen = atomic_load_explicit(&pol_cache.gen, memory_order_acquire);
	uint64_t now = rte_rdtsc();
	struct rte_mbuf *todo[DP_HOLD_MAX];
	uint16_t n = 0, kept = 0, total = c->n_held;
	bool retry = gen != c->held_gen;

	for (uint16_t i = 0; i < total; i++) {
		struct rte_mbuf *m = c->held[i];

		if ((int64_t)(now - dp_meta(m)->held_until) >= 0)
			dp_drop(c, m, DP_DROP_POLICY_MISS);
		else if (retry)
			todo[n++] = m;
		else
			c->held[kept++] = m;
	}
	c->n_held = kept;
	if (!retry)
		return total - kept;
	/* Read before the lookups: an install after this is seen next time. */
	c->held_gen = gen;
	for (uint16_t i = 0; i < n; i += DP_BURST) {
		uint16_t len = RTE_MIN(n - i, DP_BURST);

		len = dp_policy_forward(c, &todo[i], len);
		dp_vxlan_encap(c, &todo[i], len);
	}
	dp_tx_flush(c);
	return total - c->n_held;
}

void
dp_policy_held_free(struct dp_lcore *c)
{
	for (uint16_t i = 0; i < c->n_held; i++)
		dp_drop(c, c->held[i], DP_DROP_POLICY_MISS);
	c->n_held = 0;
}
