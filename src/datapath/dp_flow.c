/* rte_flow rules on physical ports (see dp_flow.h).  Control thread only:
 * the per-port bookkeeping below is neither read nor written by workers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_log.h>

#include "dp.h"
#include "dp_flow.h"

RTE_LOG_REGISTER_SUFFIX(flow_logtype, flow, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, flow_logtype, "flow: " fmt "\n", ##__VA_ARGS__)

/* VNI rules are more specific than the VXLAN rule they refine. */
#define PRIO_VNI 0
#define PRIO_BASE 1

struct flow_port {
	bool active;                  /* started: rules tried, bookkeeping valid */
	int marks;                    /* rte_eth_rx_metadata_negotiate() for USER_MARK:
				       * 1 granted, 0 refused, -ENOTSUP nothing to negotiate */
	uint16_t eth_port;
	uint16_t n_rxq;
	uint32_t ip;                  /* underlay address, network order */
	char name[CTL_NAME_MAX];
	unsigned n_rules;
	struct dp_flow_rule *rules;   /* malloc'd; VNI rules last, by ascending VNI */
	unsigned logged;              /* bit per kind: its refusal was logged */
	struct dp_flow_counters cnt[DP_FLOW_KIND_MAX];
};

static struct flow_port ports[DP_MAX_PORTS];

/* One rule's pattern and actions, with the storage they point into. */
struct flow_spec {
	struct rte_flow_attr attr;
	struct rte_flow_item items[6];
	struct rte_flow_action actions[3];
	struct rte_flow_item_eth eth, eth_m;
	struct rte_flow_item_ipv4 ip, ip_m;
	struct rte_flow_item_udp udp, udp_m;
	struct rte_flow_item_vxlan vx, vx_m;
	struct rte_flow_item_arp_eth_ipv4 arp, arp_m;
	struct rte_flow_action_mark mark;
	struct rte_flow_action_queue queue;
	struct rte_flow_action_rss rss;
	uint16_t queues[DP_MAX_QUEUES];
};

static const char *const kind_names[DP_FLOW_KIND_MAX] = {
	[DP_FLOW_VXLAN] = "vxlan",
	[DP_FLOW_ARP] = "arp",
	[DP_FLOW_NOTIFY] = "notify",
	[DP_FLOW_VNI] = "vni",
};

const char *
dp_flow_kind_name(enum dp_flow_kind k)
{
	return k < DP_FLOW_KIND_MAX ? kind_names[k] : "?";
}

static void
item(struct flow_spec *s, unsigned *n, enum rte_flow_item_type type, const void *spec,
     const void *mask)
{
	s->items[*n] = (struct rte_flow_item){ .type = type, .spec = spec, .mask = mask };
	(*n)++;
}

/* eth / ipv4 dst = our IP / udp dst = @port, the outer headers of what
 * the VXLAN, VNI and notification rules match. */
static void
outer_udp(struct flow_spec *s, unsigned *n, const struct flow_port *fp, uint16_t port)
{
	item(s, n, RTE_FLOW_ITEM_TYPE_ETH, NULL, NULL);
	s->ip.hdr.dst_addr = fp->ip;
	s->ip_m.hdr.dst_addr = RTE_BE32(UINT32_MAX);
	item(s, n, RTE_FLOW_ITEM_TYPE_IPV4, &s->ip, &s->ip_m);
	s->udp.hdr.dst_port = port;
	s->udp_m.hdr.dst_port = RTE_BE16(UINT16_MAX);
	item(s, n, RTE_FLOW_ITEM_TYPE_UDP, &s->udp, &s->udp_m);
}

/* Spread over every rx queue (each belongs to a worker); one queue needs no RSS. */
static void
spread(struct flow_spec *s, unsigned a, const struct flow_port *fp, char *txt, size_t len)
{
	if (fp->n_rxq <= 1) {
		s->queue.index = 0;
		s->actions[a] = (struct rte_flow_action){ RTE_FLOW_ACTION_TYPE_QUEUE, &s->queue };
		snprintf(txt, len, "queue 0");
		return;
	}
	for (uint16_t q = 0; q < fp->n_rxq; q++)
		s->queues[q] = q;
	s->rss = (struct rte_flow_action_rss){
		.func = RTE_ETH_HASH_FUNCTION_DEFAULT,
		.types = RTE_ETH_RSS_NONFRAG_IPV4_UDP,  /* outer source port carries the inner flow */
		.queue_num = fp->n_rxq,
		.queue = s->queues,
	};
	s->actions[a] = (struct rte_flow_action){ RTE_FLOW_ACTION_TYPE_RSS, &s->rss };
	snprintf(txt, len, "rss queues 0-%u", fp->n_rxq - 1u);
}

/* Fill @s for rule @r of port @fp, and @r's text. */
static void
build(struct flow_spec *s, const struct flow_port *fp, struct dp_flow_rule *r)
{
	char ip[INET_ADDRSTRLEN];
	unsigned n = 0, a = 0;
	int off;

	memset(s, 0, sizeof(*s));
	s->attr.ingress = 1;
	s->attr.priority = r->kind == DP_FLOW_VNI ? PRIO_VNI : PRIO_BASE;
	inet_ntop(AF_INET, &fp->ip, ip, sizeof(ip));
	switch (r->kind) {
	case DP_FLOW_VXLAN:
		outer_udp(s, &n, fp, dp.vxlan_port);
		snprintf(r->pattern, sizeof(r->pattern), "eth / ipv4 dst %s / udp dst %u", ip,
			 rte_be_to_cpu_16(dp.vxlan_port));
		spread(s, a++, fp, r->action, sizeof(r->action));
		break;
	case DP_FLOW_VNI:
		outer_udp(s, &n, fp, dp.vxlan_port);
		s->vx.hdr.vx_vni = rte_cpu_to_be_32(r->vni << 8);
		s->vx_m.hdr.vx_vni = RTE_BE32(0xffffff00);
		item(s, &n, RTE_FLOW_ITEM_TYPE_VXLAN, &s->vx, &s->vx_m);
		snprintf(r->pattern, sizeof(r->pattern), "eth / ipv4 dst %s / udp dst %u / vxlan vni %u",
			 ip, rte_be_to_cpu_16(dp.vxlan_port), r->vni);
		s->mark.id = r->vni;
		s->actions[a++] = (struct rte_flow_action){ RTE_FLOW_ACTION_TYPE_MARK, &s->mark };
		off = snprintf(r->action, sizeof(r->action), "mark %u / ", r->vni);
		spread(s, a++, fp, r->action + off, sizeof(r->action) - off);
		break;
	case DP_FLOW_ARP:
		s->eth.hdr.ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
		s->eth_m.hdr.ether_type = RTE_BE16(UINT16_MAX);
		item(s, &n, RTE_FLOW_ITEM_TYPE_ETH, &s->eth, &s->eth_m);
		s->arp.tpa = fp->ip;
		s->arp_m.tpa = RTE_BE32(UINT32_MAX);
		item(s, &n, RTE_FLOW_ITEM_TYPE_ARP_ETH_IPV4, &s->arp, &s->arp_m);
		snprintf(r->pattern, sizeof(r->pattern), "eth type 0x0806 / arp tpa %s", ip);
		s->mark.id = DP_FLOW_MARK_ARP;
		break;
	case DP_FLOW_NOTIFY:
		outer_udp(s, &n, fp, dp.notify_port);
		snprintf(r->pattern, sizeof(r->pattern), "eth / ipv4 dst %s / udp dst %u", ip,
			 rte_be_to_cpu_16(dp.notify_port));
		s->mark.id = DP_FLOW_MARK_NOTIFY;
		break;
	default:
		break;
	}
	if (r->kind == DP_FLOW_ARP || r->kind == DP_FLOW_NOTIFY) {
		/* Control traffic: marked, on queue 0, apart from the tunnel spread. */
		s->actions[a++] = (struct rte_flow_action){ RTE_FLOW_ACTION_TYPE_MARK, &s->mark };
		s->queue.index = 0;
		s->actions[a++] = (struct rte_flow_action){ RTE_FLOW_ACTION_TYPE_QUEUE, &s->queue };
		snprintf(r->action, sizeof(r->action), "mark 0x%x / queue 0", s->mark.id);
	}
	s->items[n].type = RTE_FLOW_ITEM_TYPE_END;
	s->actions[a].type = RTE_FLOW_ACTION_TYPE_END;
}

/* Try @r on the device: validate (for the listing), then create. */
static void
try_rule(struct flow_port *fp, struct dp_flow_rule *r)
{
	struct flow_spec s;
	struct rte_flow_error err;
	int ret;

	build(&s, fp, r);
	memset(&err, 0, sizeof(err));
	r->validated = rte_flow_validate(fp->eth_port, &s.attr, s.items, s.actions, &err) == 0;
	memset(&err, 0, sizeof(err));
	rte_errno = 0;
	r->flow = rte_flow_create(fp->eth_port, &s.attr, s.items, s.actions, &err);
	if (r->flow != NULL) {
		r->error = 0;
		r->message[0] = '\0';
		fp->cnt[r->kind].hardware++;
		return;
	}
	ret = rte_errno > 0 ? rte_errno : EIO;
	r->error = -ret;
	snprintf(r->message, sizeof(r->message), "%s", err.message != NULL ? err.message :
		 rte_strerror(ret));
	fp->cnt[r->kind].fallback++;
	if (!(fp->logged & (1u << r->kind))) {
		bool same = strcmp(r->message, rte_strerror(ret)) == 0;

		fp->logged |= 1u << r->kind;
		LOG(NOTICE, "%s: %s rule not in hardware (%s%s%s), software classification",
		    fp->name, kind_names[r->kind], rte_strerror(ret), same ? "" : ": ",
		    same ? "" : r->message);
	}
}

static void
destroy_one(struct flow_port *fp, struct dp_flow_rule *r)
{
	struct rte_flow_error err;

	if (r->flow == NULL)
		return;
	memset(&err, 0, sizeof(err));
	if (rte_flow_destroy(fp->eth_port, r->flow, &err) != 0)
		LOG(ERR, "%s: cannot destroy %s rule: %s", fp->name, kind_names[r->kind],
		    err.message ? err.message : rte_strerror(rte_errno));
	r->flow = NULL;
}

static void
destroy_rules(struct flow_port *fp)
{
	for (unsigned i = 0; i < fp->n_rules; i++)
		destroy_one(fp, &fp->rules[i]);
	free(fp->rules);
	fp->rules = NULL;
	fp->n_rules = 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The VNIs of the networks now in the tables, ascending, malloc'd
 * (NULL with *@n = 0 when there are none or no memory). */
static uint32_t *
current_vnis(unsigned *n)
{
	const struct pol_vnet *v;
	uint32_t next = 0, *vnis, max;

	*n = 0;
	if (pol_tables.vnets == NULL)
		return NULL;
	max = rte_hash_count(pol_tables.vnets);
	vnis = max > 0 ? malloc(max * sizeof(*vnis)) : NULL;
	if (vnis == NULL)
		return NULL;
	while (*n < max && pol_vnet_iterate(&next, &v) >= 0)
		vnis[(*n)++] = v->vni;
	qsort(vnis, *n, sizeof(*vnis), cmp_u32);
	return vnis;
}

/* (Re)create every rule of @fp: the base rules, then one per VNI. */
static void
install(struct flow_port *fp, const uint32_t *vnis, unsigned n_vnis)
{
	unsigned n = 0;

	destroy_rules(fp);
	fp->rules = calloc(3 + n_vnis, sizeof(*fp->rules));
	if (fp->rules == NULL) {
		LOG(ERR, "%s: no memory for flow rules, software classification", fp->name);
		return;
	}
	fp->rules[n++].kind = DP_FLOW_VXLAN;
	fp->rules[n++].kind = DP_FLOW_ARP;
	if (dp.notify_port != 0)
		fp->rules[n++].kind = DP_FLOW_NOTIFY;
	for (unsigned i = 0; i < n_vnis; i++) {
		fp->rules[n].kind = DP_FLOW_VNI;
		fp->rules[n++].vni = vnis[i];
	}
	fp->n_rules = n;
	for (unsigned i = 0; i < n; i++)
		try_rule(fp, &fp->rules[i]);
}

static unsigned
in_hardware(const struct flow_port *fp)
{
	unsigned n = 0;

	for (unsigned i = 0; i < fp->n_rules; i++)
		n += fp->rules[i].flow != NULL;
	return n;
}

void
dp_flow_port_prepare(struct dp_port *p)
{
	struct flow_port *fp = &ports[p->index];
	uint64_t features = RTE_ETH_RX_METADATA_USER_MARK;
	int ret = rte_eth_rx_metadata_negotiate(p->eth_port, &features);

	fp->marks = ret == 0 ? (features & RTE_ETH_RX_METADATA_USER_MARK) != 0 :
		    ret == -ENOTSUP ? -ENOTSUP : 0;
}

unsigned
dp_flow_port_start(struct dp_port *p)
{
	struct flow_port *fp = &ports[p->index];
	uint32_t *vnis;
	unsigned n_vnis, hw;

	if (fp->active)
		dp_flow_port_stop(p);
	fp->active = true;
	fp->eth_port = p->eth_port;
	fp->n_rxq = p->n_rxq;
	fp->ip = p->ip;
	fp->logged = 0;
	memset(fp->cnt, 0, sizeof(fp->cnt));
	snprintf(fp->name, sizeof(fp->name), "%s", p->name);
	vnis = current_vnis(&n_vnis);
	install(fp, vnis, n_vnis);
	free(vnis);
	hw = in_hardware(fp);
	LOG(INFO, "%s: %u of %u flow rules in hardware", fp->name, hw, fp->n_rules);
	return hw;
}

void
dp_flow_port_stop(struct dp_port *p)
{
	struct flow_port *fp = &ports[p->index];

	if (!fp->active || fp->eth_port != p->eth_port)
		return;
	destroy_rules(fp);
	memset(fp, 0, sizeof(*fp));
}

/* Whether @fp's VNI rules are exactly @vnis (both ascending). */
static bool
same_vnis(const struct flow_port *fp, const uint32_t *vnis, unsigned n)
{
	unsigned j = 0;

	if (fp->rules == NULL)
		return false;
	for (unsigned i = 0; i < fp->n_rules; i++) {
		if (fp->rules[i].kind != DP_FLOW_VNI)
			continue;
		if (j == n || fp->rules[i].vni != vnis[j])
			return false;
		j++;
	}
	return j == n;
}

/* Keep the VNI rules of the networks still there, destroy those of the
 * networks gone, try one for each new network; the base rules stay. */
static void
sync_vnis(struct flow_port *fp, const uint32_t *vnis, unsigned n)
{
	unsigned n_base = 0, i, k;
	struct dp_flow_rule *rules;

	while (n_base < fp->n_rules && fp->rules[n_base].kind != DP_FLOW_VNI)
		n_base++;
	rules = calloc(n_base + n + 1, sizeof(*rules));
	if (rules == NULL) {
		LOG(ERR, "%s: no memory to change flow rules, they stay as they are", fp->name);
		return;
	}
	memcpy(rules, fp->rules, n_base * sizeof(*rules));
	i = k = n_base;
	for (unsigned j = 0; j < n; j++) {
		while (i < fp->n_rules && fp->rules[i].vni < vnis[j])
			destroy_one(fp, &fp->rules[i++]);
		if (i < fp->n_rules && fp->rules[i].vni == vnis[j]) {
			rules[k++] = fp->rules[i++];
			continue;
		}
		rules[k].kind = DP_FLOW_VNI;
		rules[k].vni = vnis[j];
		try_rule(fp, &rules[k++]);
	}
	while (i < fp->n_rules)
		destroy_one(fp, &fp->rules[i++]);
	free(fp->rules);
	fp->rules = rules;
	fp->n_rules = k;
}

void
dp_flow_tables_changed(void)
{
	uint32_t *vnis = NULL;
	unsigned n = 0;
	bool read = false;

	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		struct flow_port *fp = &ports[i];

		if (!fp->active)
			continue;
		if (!read) {
			vnis = current_vnis(&n);
			read = true;
		}
		if (same_vnis(fp, vnis, n))
			continue;
		if (fp->rules == NULL)
			install(fp, vnis, n);
		else
			sync_vnis(fp, vnis, n);
		LOG(INFO, "%s: networks changed, %u of %u flow rules in hardware", fp->name,
		    in_hardware(fp), fp->n_rules);
	}
	free(vnis);
}

unsigned
dp_flow_rules(uint16_t idx, const struct dp_flow_rule **rules)
{
	if (idx >= DP_MAX_PORTS || !ports[idx].active) {
		*rules = NULL;
		return 0;
	}
	*rules = ports[idx].rules;
	return ports[idx].n_rules;
}

bool
dp_flow_port_active(uint16_t idx)
{
	return idx < DP_MAX_PORTS && ports[idx].active;
}

void
dp_flow_counters(uint16_t idx, enum dp_flow_kind k, struct dp_flow_counters *out)
{
	if (idx >= DP_MAX_PORTS || k >= DP_FLOW_KIND_MAX)
		*out = (struct dp_flow_counters){ 0 };
	else
		*out = ports[idx].cnt[k];
}

const char *
dp_flow_marks(uint16_t idx)
{
	if (idx >= DP_MAX_PORTS || !ports[idx].active)
		return "-";
	return ports[idx].marks == -ENOTSUP ? "not negotiable" :
	       ports[idx].marks ? "negotiated" : "refused";
}
