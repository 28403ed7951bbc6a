/* Service insertion in the switch (insertion point 1, S6): the rules the
 * control thread attached to a VM port (svc_acl.h) applied to what the VM
 * sends (egress, VM input stage 3, after port security) and to what is
 * delivered to it (ingress, where dp_policy.c and net_deliver.c queue a
 * frame to a local port).  Per rule: allow, drop (service_drop), mirror
 * (a copy queued to the rule's port, the frame goes on) or redirect (the
 * frame goes to the rule's port instead).  A port without
 * rules costs one atomic load per burst (egress) or per frame (ingress).
 */
#include "dp.h"
#include "dp_trace.h"

static const char *
action_name(enum svc_rule_action a)
{
	switch (a) {
	case SVC_RULE_ALLOW:  return "allow";
	case SVC_RULE_DROP:   return "drop";
	case SVC_RULE_MIRROR: return "mirror";
	case SVC_RULE_REDIRECT: return "redirect";
	default:              return "?";
	}
}

static void
trace_match(struct dp_lcore *c, const struct svc_acl *a, int32_t idx, const char *dir,
	    uint16_t port)
{
	const struct svc_acl_rule *r;

	if (idx < 0) {
		dp_trace_add(c->trace, "service insertion", "%s on port %s: no rule matched: allow",
			     dir, dp_trace_port(c->trace, port));
		return;
	}
	r = &a->rules[idx];
	if (r->r.action == SVC_RULE_MIRROR || r->r.action == SVC_RULE_REDIRECT)
		dp_trace_add(c->trace, "service insertion",
			     "%s on port %s: rule %d (profile %u) matched: %s to port %s",
			     dir, dp_trace_port(c->trace, port), idx + 1, r->profile,
			     action_name(r->r.action), dp_trace_port(c->trace, r->target_port));
	else
		dp_trace_add(c->trace, "service insertion", "%s on port %s: rule %d (profile %u) "
			     "matched: %s", dir, dp_trace_port(c->trace, port), idx + 1,
			     r->profile, action_name(r->r.action));
}

/* A copy of @m to @port; the pool running dry is counted, @m is untouched. */
static void
mirror(struct dp_lcore *c, struct rte_mbuf *m, uint16_t port)
{
	struct rte_mbuf *cp = rte_pktmbuf_copy(m, dp.pool, 0, UINT32_MAX);

	if (unlikely(cp == NULL)) {
		if (unlikely(c->trace != NULL))
			dp_trace_drop(c->trace, DP_DROP_NO_MBUF);
		c->drops[DP_DROP_NO_MBUF]++;
		c->port[dp_meta(m)->in_port].drops++;
		return;
	}
	*dp_meta(cp) = *dp_meta(m);
	dp_tx_enqueue(c, port, cp);
}

/* Act on rule @idx (-1: none) for @m; true when @m goes on. */
static inline bool
act(struct dp_lcore *c, const struct svc_acl *a, struct rte_mbuf *m, int32_t idx)
{
	const struct svc_acl_rule *r;

	if (idx < 0)
		return true;
	r = &a->rules[idx];
	switch (r->r.action) {
	case SVC_RULE_DROP:
		c->svc[r->profile][DP_SVC_DROPPED]++;
		dp_drop(c, m, DP_DROP_SERVICE_DROP);
		return false;
	case SVC_RULE_MIRROR:
		c->svc[r->profile][DP_SVC_MIRRORED]++;
		mirror(c, m, r->target_port);
		return true;
	case SVC_RULE_REDIRECT:
		c->svc[r->profile][DP_SVC_REDIRECTED]++;
		dp_tx_enqueue(c, r->target_port, m);
		return false;
	default:   /* allow; svc_acl_build() refuses what the switch cannot do */
		c->svc[r->profile][DP_SVC_ALLOWED]++;
		return true;
	}
}

uint16_t
dp_svc_egress(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n)
{
	const struct svc_acl *a;
	int32_t idx[DP_BURST];
	uint16_t k = 0;

	if (n == 0)
		return 0;
	/* One burst comes from one port: one rule set for all of it. */
	a = svc_acl_port_get(dp_meta(pkts[0])->in_port);
	if (likely(a == NULL))
		return n;
	for (uint16_t base = 0; base < n; base += DP_BURST) {
		uint16_t len = RTE_MIN(n - base, DP_BURST);

		svc_acl_classify(a, SVC_DIR_EGRESS, &pkts[base], len, idx);
		for (uint16_t i = 0; i < len; i++) {
			struct rte_mbuf *m = pkts[base + i];

			if (unlikely(c->trace != NULL))
				trace_match(c, a, idx[i], "egress", dp_meta(m)->in_port);
			if (act(c, a, m, idx[i]))
				pkts[k++] = m;
		}
	}
	return k;
}

bool
dp_svc_ingress_check(struct dp_lcore *c, const struct svc_acl *a, struct rte_mbuf *m,
		     uint16_t port)
{
	int32_t idx;

	svc_acl_classify(a, SVC_DIR_INGRESS, &m, 1, &idx);
	if (unlikely(c->trace != NULL))
		trace_match(c, a, idx, "ingress", port);
	return act(c, a, m, idx);
}

void
dp_svc_trace_none(struct dp_lcore *c, struct rte_mbuf *m, int port)
{
	uint16_t in_port = dp_meta(m)->in_port;

	/* The source port's egress rules already said what they did. */
	if (svc_acl_port_get(in_port) == NULL)
		dp_trace_add(c->trace, "service insertion", "none enabled");
	else if (port >= 0)
		dp_trace_add(c->trace, "service insertion", "ingress on port %s: none enabled",
			     dp_trace_port(c->trace, port));
}

void
dp_svc_counters(uint16_t profile, uint64_t out[DP_SVC_COUNT_MAX])
{
	for (unsigned j = 0; j < DP_SVC_COUNT_MAX; j++)
		out[j] = 0;
	if (profile >= SVC_MAX_PROFILES || dp.lcores == NULL)
		return;
	for (unsigned w = 0; w < dp.n_workers; w++)
		for (unsigned j = 0; j < DP_SVC_COUNT_MAX; j++)
			out[j] += dp.lcores[w].svc[profile][j];
}
