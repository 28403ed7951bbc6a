/* Packet trace: the recorder the stages write to in trace mode, the
 * dry run itself, and the frame built from a description (see dp_trace.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dp_trace.h"

/* Stages whose steps the result line depends on (names as the stages write them). */
static const char STAGE_ARP[] = "arp";
static const char STAGE_FLOOD[] = "flood";

#define VXLAN_I_FLAG RTE_BE32(0x08000000)

int (*dp_trace_decide)(const struct pol_flow_key *k, uint16_t in_port, struct pol_decision *out);

/* Append printf output at *@o of @buf (@size bytes); stops quietly when full. */
static void __rte_format_printf(4, 5)
appendf(char *buf, size_t size, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, size - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = RTE_MIN(*o + (size_t)n, size - 1);
}

/* ---- the trace and its steps ---- */

struct dp_trace *
dp_trace_new(void)
{
	struct dp_trace *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->c = rte_zmalloc("dp_trace_lcore", sizeof(*t->c), RTE_CACHE_LINE_SIZE);
	if (t->c == NULL) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->c->lcore_id = rte_lcore_id();
	t->c->worker = 0;
	t->c->trace = t;
	t->stage = "input";
	return t;
}

void
dp_trace_free(struct dp_trace *t)
{
	if (t == NULL)
		return;
	rte_free(t->c);
	free(t->steps);
	free(t);
}

static struct dp_trace_step *
step_new(struct dp_trace *t, const char *stage)
{
	t->stage = stage;
	if (strcmp(stage, STAGE_FLOOD) == 0)
		t->flooded = true;
	if (t->n_steps == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 16;
		struct dp_trace_step *s = realloc(t->steps, cap * sizeof(*s));

		if (s == NULL) {
			t->truncated = true;
			return NULL;
		}
		t->steps = s;
		t->cap = cap;
	}
	t->steps[t->n_steps].stage = stage;
	return &t->steps[t->n_steps++];
}

void
dp_trace_add(struct dp_trace *t, const char *stage, const char *fmt, ...)
{
	struct dp_trace_step *s = step_new(t, stage);
	va_list ap;

	if (s == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(s->decision, sizeof(s->decision), fmt, ap);
	va_end(ap);
}

void
dp_trace_drop(struct dp_trace *t, enum dp_drop why)
{
	if (t->n_drops++ == 0)
		t->drop = why;
	dp_trace_add(t, t->stage, "drop: %s — %s", dp_drop_name(why), dp_drop_help(why));
}

/* ---- formatted values ---- */

static char *
scratch(struct dp_trace *t)
{
	return t->scratch[t->scratch_next++ % DP_TRACE_SCRATCH];
}

static void
mac_str(char *buf, size_t size, const struct rte_ether_addr *a)
{
	const uint8_t *b = a->addr_bytes;

	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static void
ip4_str(char *buf, size_t size, uint32_t ip)
{
	if (inet_ntop(AF_INET, &ip, buf, size) == NULL)
		snprintf(buf, size, "?");
}

const char *
dp_trace_mac(struct dp_trace *t, const struct rte_ether_addr *a)
{
	char *s = scratch(t);

	mac_str(s, DP_TRACE_TEXT_MAX, a);
	return s;
}

const char *
dp_trace_ip4(struct dp_trace *t, uint32_t ip)
{
	char *s = scratch(t);

	ip4_str(s, DP_TRACE_TEXT_MAX, ip);
	return s;
}

const char *
dp_trace_port(struct dp_trace *t, uint16_t port)
{
	const struct dp_port *p = port < DP_MAX_PORTS ? dp_port_get(port) : NULL;
	char *s;

	if (p != NULL)
		return p->name;
	s = scratch(t);
	snprintf(s, DP_TRACE_TEXT_MAX, "#%u (gone)", port);
	return s;
}

const char *
dp_trace_vnet(struct dp_trace *t, uint32_t vni)
{
	const struct pol_vnet *v = pol_vnet_lookup(vni);
	char *s = scratch(t);

	if (v != NULL)
		snprintf(s, DP_TRACE_TEXT_MAX, "%s (VNI %u)", v->name, vni);
	else
		snprintf(s, DP_TRACE_TEXT_MAX, "VNI %u (no such network)", vni);
	return s;
}

static const char *
ethertype_name(uint16_t et)
{
	switch (et) {
	case RTE_ETHER_TYPE_IPV4: return "IPv4";
	case RTE_ETHER_TYPE_IPV6: return "IPv6";
	case RTE_ETHER_TYPE_ARP:  return "ARP";
	case RTE_ETHER_TYPE_VLAN: return "VLAN";
	case RTE_ETHER_TYPE_QINQ: return "QinQ";
	default:                  return "ethertype";
	}
}

const char *
dp_trace_ethertype(struct dp_trace *t, uint16_t et)
{
	char *s = scratch(t);

	snprintf(s, DP_TRACE_TEXT_MAX, "%s (0x%04x)", ethertype_name(et), et);
	return s;
}

const char *
dp_trace_ep(struct dp_trace *t, const struct pol_endpoint *ep)
{
	char *s = scratch(t);

	if (ep == NULL)
		return "unknown";
	if (ep->local)
		snprintf(s, DP_TRACE_TEXT_MAX, "endpoint %s (%s), local on port %s", ep->name,
			 dp_trace_mac(t, &ep->mac), dp_trace_port(t, ep->port));
	else
		snprintf(s, DP_TRACE_TEXT_MAX, "endpoint %s (%s), remote behind TEP %s", ep->name,
			 dp_trace_mac(t, &ep->mac), dp_trace_ip4(t, ep->tep));
	return s;
}

unsigned
dp_trace_count_except(const uint16_t *ports, uint16_t n, uint16_t except)
{
	unsigned k = 0;

	for (uint16_t i = 0; i < n; i++)
		k += ports[i] != except;
	return k;
}

/* ---- frame summaries ---- */

static void summarize(char *buf, size_t size, size_t *o, const uint8_t *f, uint32_t len,
		      bool inner);

/* The IPv4 packet at @f (@len bytes readable) for summarize(). */
static void
summarize_ip4(char *buf, size_t size, size_t *o, const uint8_t *f, uint32_t len, bool inner)
{
	const struct rte_ipv4_hdr *ip = (const void *)f;
	uint16_t ihl = rte_ipv4_hdr_len(ip);
	char sa[INET_ADDRSTRLEN], da[INET_ADDRSTRLEN];

	ip4_str(sa, sizeof(sa), ip->src_addr);
	ip4_str(da, sizeof(da), ip->dst_addr);
	appendf(buf, size, o, ", IPv4 %s → %s", sa, da);
	if (ihl < sizeof(*ip) || len < ihl + 8u)
		return;
	f += ihl;
	len -= ihl;
	if (ip->next_proto_id == IPPROTO_ICMP) {
		if (f[0] == RTE_IP_ICMP_ECHO_REQUEST || f[0] == RTE_IP_ICMP_ECHO_REPLY)
			appendf(buf, size, o, ", ICMP echo %s",
				f[0] == RTE_IP_ICMP_ECHO_REQUEST ? "request" : "reply");
		else
			appendf(buf, size, o, ", ICMP type %u", f[0]);
	} else if (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) {
		const struct rte_udp_hdr *udp = (const void *)f;  /* TCP ports: same offsets */
		const struct rte_vxlan_hdr *vx = (const void *)(udp + 1);

		appendf(buf, size, o, ", %s %u → %u",
			ip->next_proto_id == IPPROTO_TCP ? "TCP" : "UDP",
			rte_be_to_cpu_16(udp->src_port), rte_be_to_cpu_16(udp->dst_port));
		if (ip->next_proto_id != IPPROTO_UDP || udp->dst_port != dp.vxlan_port || inner ||
		    len < sizeof(*udp) + sizeof(*vx))
			return;
		appendf(buf, size, o, ", VXLAN%s VNI %u [",
			vx->vx_flags & VXLAN_I_FLAG ? "" : " (no I flag)",
			rte_be_to_cpu_32(vx->vx_vni) >> 8);
		summarize(buf, size, o, (const uint8_t *)(vx + 1), len - sizeof(*udp) - sizeof(*vx),
			  true);
		appendf(buf, size, o, "]");
	} else {
		appendf(buf, size, o, ", IP protocol %u", ip->next_proto_id);
	}
}

/* One line on the frame at @f (@len bytes readable), reading nothing
 * beyond them; a VXLAN payload is summarised once (@inner), in brackets. */
static void
summarize(char *buf, size_t size, size_t *o, const uint8_t *f, uint32_t len, bool inner)
{
	const struct rte_ether_hdr *eh = (const void *)f;
	const struct rte_arp_hdr *arp = (const void *)(eh + 1);
	char a[RTE_ETHER_ADDR_FMT_SIZE], b[RTE_ETHER_ADDR_FMT_SIZE];
	char sa[INET_ADDRSTRLEN], ta[INET_ADDRSTRLEN];
	uint16_t et;

	if (len < sizeof(*eh)) {
		appendf(buf, size, o, "runt frame");
		return;
	}
	mac_str(a, sizeof(a), &eh->src_addr);
	mac_str(b, sizeof(b), &eh->dst_addr);
	et = rte_be_to_cpu_16(eh->ether_type);
	appendf(buf, size, o, "%s → %s", a, b);
	len -= sizeof(*eh);
	if (et == RTE_ETHER_TYPE_IPV4 && len >= sizeof(struct rte_ipv4_hdr)) {
		summarize_ip4(buf, size, o, (const uint8_t *)(eh + 1), len, inner);
	} else if (et == RTE_ETHER_TYPE_ARP && len >= sizeof(*arp)) {
		ip4_str(sa, sizeof(sa), arp->arp_data.arp_sip);
		ip4_str(ta, sizeof(ta), arp->arp_data.arp_tip);
		mac_str(a, sizeof(a), &arp->arp_data.arp_sha);
		if (arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST))
			appendf(buf, size, o, ", ARP request who-has %s tell %s (%s)", ta, sa, a);
		else if (arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY))
			appendf(buf, size, o, ", ARP reply %s is-at %s", sa, a);
		else
			appendf(buf, size, o, ", ARP opcode %u", rte_be_to_cpu_16(arp->arp_opcode));
	} else {
		appendf(buf, size, o, ", %s (0x%04x)", ethertype_name(et), et);
	}
}

const char *
dp_trace_outer(struct dp_trace *t, const struct dp_port *p, const struct rte_mbuf *m,
	       enum dp_drop why)
{
	char *s = scratch(t);
	size_t o = 0;

	if (why == DP_DROP_MAX) {
		const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const void *)(f + sizeof(struct rte_ether_hdr));
		const struct rte_udp_hdr *udp = (const void *)((const uint8_t *)ip +
							       rte_ipv4_hdr_len(ip));

		appendf(s, DP_TRACE_TEXT_MAX, &o, "from %s%s to us (%s, %s on %s); "
			"UDP port %u: VXLAN; IPv4 checksum good; "
			"lengths consistent (IPv4 %u, UDP %u bytes)",
			dp_trace_ip4(t, ip->src_addr),
			dp.vxlan_any_source ? "" : " (a known tunnel endpoint)", dp_trace_mac(t, &p->mac),
			dp_trace_ip4(t, p->ip), p->name, rte_be_to_cpu_16(udp->dst_port),
			rte_be_to_cpu_16(ip->total_length), rte_be_to_cpu_16(udp->dgram_len));
		return s;
	}
	appendf(s, DP_TRACE_TEXT_MAX, &o, "rejected: ");
	summarize(s, DP_TRACE_TEXT_MAX, &o, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
		  true);
	appendf(s, DP_TRACE_TEXT_MAX, &o, "; we are %s %s, VXLAN on UDP %u",
		dp_trace_mac(t, &p->mac), dp_trace_ip4(t, p->ip),
		rte_be_to_cpu_16(dp.vxlan_port));
	return s;
}

/* ---- outputs ---- */

void
dp_trace_output(struct dp_trace *t, uint16_t port, struct rte_mbuf *m)
{
	const struct dp_port *p = dp_port_get(port);
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	char text[DP_TRACE_TEXT_MAX];
	size_t o = 0;

	if (t->n_out++ == 0)
		t->out_port = port;
	if (strcmp(t->stage, STAGE_ARP) == 0)
		t->answered = true;
	if (p == NULL) {
		dp_trace_add(t, "output", "port #%u, gone: a worker would drop the frame (tx_full)",
			     port);
		rte_pktmbuf_free(m);
		return;
	}
	appendf(text, sizeof(text), &o, "%s", p->name);
	if (p->kind == DP_PORT_VHOST && pol_port_endpoint(port) != NULL)
		appendf(text, sizeof(text), &o, " (VM %s)", pol_port_endpoint(port)->name);
	appendf(text, sizeof(text), &o, ": %u bytes", m->pkt_len);
	if (p->kind == DP_PORT_PHYS && m->data_len >= DP_VXLAN_HLEN &&
	    ((const struct rte_ether_hdr *)f)->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip = (const void *)(f + sizeof(struct rte_ether_hdr));
		const struct rte_udp_hdr *udp = (const void *)(ip + 1);
		const struct rte_vxlan_hdr *vx = (const void *)(udp + 1);

		appendf(text, sizeof(text), &o, "; outer %s → %s, UDP %u → %u, VNI %u",
			dp_trace_ip4(t, ip->src_addr), dp_trace_ip4(t, ip->dst_addr),
			rte_be_to_cpu_16(udp->src_port), rte_be_to_cpu_16(udp->dst_port),
			rte_be_to_cpu_32(vx->vx_vni) >> 8);
	}
	appendf(text, sizeof(text), &o, " (not sent)");
	if (atomic_load_explicit(&p->txq_map, memory_order_acquire) == NULL)
		appendf(text, sizeof(text), &o, "; its queues are not ready: a worker would drop "
			"it (tx_full)");
	dp_trace_add(t, "output", "%s", text);
	rte_pktmbuf_free(m);
}

void
dp_trace_punt(struct dp_trace *t, struct rte_mbuf *m)
{
	t->punted = true;
	dp_trace_add(t, "punt", "underlay ARP or notification: handed to the control thread; "
		     "not processed further, not queued");
	rte_pktmbuf_free(m);
}

/* ---- the run ---- */

int
dp_trace_run(struct dp_trace *t, uint16_t in_port, struct rte_mbuf *m)
{
	const struct dp_port *p = in_port < DP_MAX_PORTS ? dp_port_get(in_port) : NULL;
	size_t o = 0;

	if (t->ran || p == NULL) {
		rte_pktmbuf_free(m);
		return t->ran ? -EALREADY : -ENODEV;
	}
	t->ran = true;
	t->in_port = in_port;
	appendf(t->packet, sizeof(t->packet), &o, "in_port %s: ", p->name);
	summarize(t->packet, sizeof(t->packet), &o, rte_pktmbuf_mtod(m, const uint8_t *),
		  m->data_len, false);
	appendf(t->packet, sizeof(t->packet), &o, ", %u bytes", m->pkt_len);
	dp_trace_add(t, "input", "port %s (%s): %s input path, %u bytes", p->name,
		     p->kind == DP_PORT_PHYS ? "physical" : "vhost-user",
		     p->kind == DP_PORT_PHYS ? "network" : "VM", m->pkt_len);
	dp_input(t->c, in_port, &m, 1);
	return 0;
}

const char *
dp_trace_result(const struct dp_trace *t, char *buf, size_t len)
{
	const struct dp_port *p = dp_port_get(t->out_port);
	const char *out = p != NULL ? p->name : "(gone)";

	if (!t->ran)
		snprintf(buf, len, "not run");
	else if (t->punted)
		snprintf(buf, len, "punted to the control thread (not processed)");
	else if (t->flooded)
		snprintf(buf, len, "flooded to %u copies (not sent)%s", t->n_out,
			 t->n_drops ? "; some copies dropped" : "");
	else if (t->answered)
		snprintf(buf, len, "answered locally (ARP reply to port %s, not sent)", out);
	else if (t->n_out > 0)
		snprintf(buf, len, "output port %s (not sent)", out);
	else if (t->n_drops > 0)
		snprintf(buf, len, "dropped: %s", dp_drop_name(t->drop));
	else
		snprintf(buf, len, "consumed without output or drop");
	return buf;
}

json_t *
dp_trace_json(const struct dp_trace *t)
{
	json_t *steps = json_array(), *j;
	char result[DP_TRACE_TEXT_MAX];

	if (steps == NULL)
		return NULL;
	for (unsigned i = 0; i < t->n_steps; i++)
		if (json_array_append_new(steps, json_pack("{s:s, s:s}", "stage", t->steps[i].stage,
							   "decision", t->steps[i].decision)) < 0) {
			json_decref(steps);
			return NULL;
		}
	j = json_pack("{s:s, s:o, s:s}", "packet", t->packet, "steps", steps,
		      "result", dp_trace_result(t, result, sizeof(result)));
	if (j != NULL && t->truncated)
		json_object_set_new(j, "steps_lost", json_true());
	return j;
}

/* ---- a packet described in words ---- */

struct key_def {
	const char *name;
	int (*set)(void *field, const char *v, int (*port_find)(const char *));
	size_t off;
	const char *expect;             /* what the value must be, for errors */
};

static int
set_port(void *field, const char *v, int (*port_find)(const char *))
{
	int idx = port_find(v);

	if (idx < 0 || idx >= DP_MAX_PORTS)
		return -EINVAL;
	*(uint16_t *)field = idx;
	return 0;
}

static int
set_mac(void *field, const char *v, int (*port_find)(const char *))
{
	(void)port_find;
	return rte_ether_unformat_addr(v, field) == 0 ? 0 : -EINVAL;
}

static int
set_ip4(void *field, const char *v, int (*port_find)(const char *))
{
	(void)port_find;
	return inet_pton(AF_INET, v, field) == 1 ? 0 : -EINVAL;
}

static int
parse_num(const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || *out > max)
		return -EINVAL;
	return 0;
}

static int
set_u16(void *field, const char *v, int (*port_find)(const char *))
{
	unsigned long n;

	(void)port_find;
	if (parse_num(v, UINT16_MAX, &n) < 0)
		return -EINVAL;
	*(uint16_t *)field = n;
	return 0;
}

static int
set_vni(void *field, const char *v, int (*port_find)(const char *))
{
	unsigned long n;

	(void)port_find;
	if (parse_num(v, 0xffffff, &n) < 0)
		return -EINVAL;
	*(uint32_t *)field = n;
	return 0;
}

static const char *const proto_names[] = {
	[DP_TRACE_ICMP] = "icmp", [DP_TRACE_TCP] = "tcp", [DP_TRACE_UDP] = "udp",
	[DP_TRACE_ARP] = "arp",
};

static int
set_proto(void *field, const char *v, int (*port_find)(const char *))
{
	(void)port_find;
	for (unsigned i = 0; i < RTE_DIM(proto_names); i++)
		if (strcmp(v, proto_names[i]) == 0) {
			*(enum dp_trace_proto *)field = i;
			return 0;
		}
	return -EINVAL;
}

static int
set_arp_op(void *field, const char *v, int (*port_find)(const char *))
{
	(void)port_find;
	if (strcmp(v, "request") == 0)
		*(uint16_t *)field = RTE_ARP_OP_REQUEST;
	else if (strcmp(v, "reply") == 0)
		*(uint16_t *)field = RTE_ARP_OP_REPLY;
	else
		return -EINVAL;
	return 0;
}

#define KEY(k, sym, fn, field, expect) \
	[DP_TRACE_K_##sym] = { k, fn, offsetof(struct dp_trace_desc, field), expect }
static const struct key_def keys[DP_TRACE_K_MAX] = {
	KEY("in_port", IN_PORT, set_port, in_port, "a port of this switch"),
	KEY("src_mac", SRC_MAC, set_mac, src_mac, "a MAC address (xx:xx:xx:xx:xx:xx)"),
	KEY("dst_mac", DST_MAC, set_mac, dst_mac, "a MAC address (xx:xx:xx:xx:xx:xx)"),
	KEY("src_ip", SRC_IP, set_ip4, src_ip, "an IPv4 address"),
	KEY("dst_ip", DST_IP, set_ip4, dst_ip, "an IPv4 address"),
	KEY("proto", PROTO, set_proto, proto, "icmp, tcp, udp or arp"),
	KEY("sport", SPORT, set_u16, sport, "a number from 0 to 65535"),
	KEY("dport", DPORT, set_u16, dport, "a number from 0 to 65535"),
	KEY("arp_op", ARP_OP, set_arp_op, arp_op, "request or reply"),
	KEY("len", LEN, set_u16, len, "a number from 0 to 65535"),
	KEY("vni", VNI, set_vni, vni, "a number from 0 to 16777215"),
	KEY("outer_src", OUTER_SRC, set_ip4, outer_src, "an IPv4 address"),
};
#undef KEY

int
dp_trace_desc_parse(struct dp_trace_desc *d, const char *const *kv, unsigned n,
		    int (*port_find)(const char *name), char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->proto = DP_TRACE_ICMP;
	d->arp_op = RTE_ARP_OP_REQUEST;
	d->sport = 12345;
	for (unsigned i = 0; i < n; i++) {
		const char *a = kv[i], *eq = strchr(a, '=');
		const struct key_def *k;
		unsigned ki;

		if (eq == NULL) {
			snprintf(err, errlen, "'%s' is not key=value", a);
			return -EINVAL;
		}
		for (ki = 0; ki < DP_TRACE_K_MAX; ki++)
			if (strlen(keys[ki].name) == (size_t)(eq - a) &&
			    strncmp(a, keys[ki].name, eq - a) == 0)
				break;
		k = ki < DP_TRACE_K_MAX ? &keys[ki] : NULL;
		if (k == NULL) {
			snprintf(err, errlen, "unknown key '%.*s' (keys: in_port src_mac dst_mac "
				 "src_ip dst_ip proto sport dport arp_op len vni outer_src)",
				 (int)(eq - a), a);
			return -EINVAL;
		}
		if (d->given & (1u << ki)) {
			snprintf(err, errlen, "%s: given twice", k->name);
			return -EINVAL;
		}
		if (k->set((uint8_t *)d + k->off, eq + 1, port_find) < 0) {
			snprintf(err, errlen, "%s: '%s' is not %s", k->name, eq + 1, k->expect);
			return -EINVAL;
		}
		d->given |= 1u << ki;
	}
	if (!(d->given & (1u << DP_TRACE_K_IN_PORT))) {
		snprintf(err, errlen, "in_port: required");
		return -EINVAL;
	}
	if (!(d->given & (1u << DP_TRACE_K_DPORT)))
		d->dport = d->proto == DP_TRACE_UDP ? 53 : 80;
	return 0;
}

static bool
given(const struct dp_trace_desc *d, enum dp_trace_key k)
{
	return d->given & (1u << k);
}

/* Check @d against its port and fill the defaults into @f.  Returns 0 or
 * -EINVAL with @err naming the key. */
static int
desc_complete(const struct dp_trace_desc *d, const struct dp_port *p,
	      struct dp_trace_desc *f, char *err, size_t errlen)
{
	bool phys = p->kind == DP_PORT_PHYS;
	const struct pol_endpoint *ep = phys ? NULL : pol_port_endpoint(d->in_port);
	bool ports = d->proto == DP_TRACE_TCP || d->proto == DP_TRACE_UDP;

	*f = *d;
	if (phys && !given(d, DP_TRACE_K_VNI)) {
		snprintf(err, errlen, "vni: required: %s is a physical port, the frame arrives "
			 "in VXLAN", p->name);
		return -EINVAL;
	}
	if (phys && !given(d, DP_TRACE_K_OUTER_SRC)) {
		snprintf(err, errlen, "outer_src: required: %s is a physical port, say which TEP "
			 "sends the VXLAN packet", p->name);
		return -EINVAL;
	}
	for (enum dp_trace_key k = DP_TRACE_K_VNI; !phys && k <= DP_TRACE_K_OUTER_SRC; k++)
		if (given(d, k)) {
			snprintf(err, errlen, "%s: only for a physical in_port (%s is a vhost-user "
				 "port)", keys[k].name, p->name);
			return -EINVAL;
		}
	for (enum dp_trace_key k = DP_TRACE_K_SPORT; !ports && k <= DP_TRACE_K_DPORT; k++)
		if (given(d, k)) {
			snprintf(err, errlen, "%s: only with proto=tcp or proto=udp", keys[k].name);
			return -EINVAL;
		}
	if (d->proto != DP_TRACE_ARP && given(d, DP_TRACE_K_ARP_OP)) {
		snprintf(err, errlen, "arp_op: only with proto=arp");
		return -EINVAL;
	}
	if (!given(d, DP_TRACE_K_SRC_MAC)) {
		if (ep == NULL) {
			snprintf(err, errlen, "src_mac: required: %s", phys ?
				 "the inner frame has no default source" :
				 "no endpoint is bound to the port");
			return -EINVAL;
		}
		f->src_mac = ep->mac;
	}
	if (!given(d, DP_TRACE_K_DST_MAC)) {
		if (d->proto != DP_TRACE_ARP || d->arp_op != RTE_ARP_OP_REQUEST) {
			snprintf(err, errlen, "dst_mac: required (the default, broadcast, "
				 "is for ARP requests)");
			return -EINVAL;
		}
		memset(&f->dst_mac, 0xff, sizeof(f->dst_mac));
	}
	if (!given(d, DP_TRACE_K_SRC_IP)) {
		for (unsigned i = 0; ep != NULL && i < ep->n_ips; i++)
			if (ep->ips[i].family == AF_INET) {
				f->src_ip = ep->ips[i].v4;
				f->given |= 1u << DP_TRACE_K_SRC_IP;
				break;
			}
		if (!given(f, DP_TRACE_K_SRC_IP)) {
			snprintf(err, errlen, "src_ip: required (no IPv4 address of an "
				 "endpoint bound to %s to default to)", p->name);
			return -EINVAL;
		}
	}
	if (!given(d, DP_TRACE_K_DST_IP)) {
		snprintf(err, errlen, "dst_ip: required");
		return -EINVAL;
	}
	return 0;
}

/* Write the inner frame @f of @len bytes at @b. */
static void
write_inner(uint8_t *b, uint16_t len, const struct dp_trace_desc *f)
{
	struct rte_ether_hdr *eh = (void *)b;
	struct rte_ipv4_hdr *ip = (void *)(eh + 1);
	uint8_t *l4 = (uint8_t *)(ip + 1);
	uint16_t hdrs = 0;

	memset(b, 0, len);
	eh->dst_addr = f->dst_mac;
	eh->src_addr = f->src_mac;
	if (f->proto == DP_TRACE_ARP) {
		struct rte_arp_hdr *a = (void *)(eh + 1);

		eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
		a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
		a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		a->arp_hlen = RTE_ETHER_ADDR_LEN;
		a->arp_plen = 4;
		a->arp_opcode = rte_cpu_to_be_16(f->arp_op);
		a->arp_data.arp_sha = f->src_mac;
		a->arp_data.arp_sip = f->src_ip;
		if (f->arp_op == RTE_ARP_OP_REPLY)
			a->arp_data.arp_tha = f->dst_mac;
		a->arp_data.arp_tip = f->dst_ip;
		return;                 /* the rest is padding */
	}
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(len - sizeof(*eh));
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->src_addr = f->src_ip;
	ip->dst_addr = f->dst_ip;
	switch (f->proto) {
	case DP_TRACE_TCP: {
		struct rte_tcp_hdr *tcp = (void *)l4;

		ip->next_proto_id = IPPROTO_TCP;
		tcp->src_port = rte_cpu_to_be_16(f->sport);
		tcp->dst_port = rte_cpu_to_be_16(f->dport);
		tcp->sent_seq = RTE_BE32(1);
		tcp->data_off = (sizeof(*tcp) / 4) << 4;
		tcp->tcp_flags = RTE_TCP_SYN_FLAG;
		tcp->rx_win = RTE_BE16(65535);
		hdrs = sizeof(*tcp);
		break;
	}
	case DP_TRACE_UDP: {
		struct rte_udp_hdr *udp = (void *)l4;

		ip->next_proto_id = IPPROTO_UDP;
		udp->src_port = rte_cpu_to_be_16(f->sport);
		udp->dst_port = rte_cpu_to_be_16(f->dport);
		udp->dgram_len = rte_cpu_to_be_16(len - sizeof(*eh) - sizeof(*ip));
		hdrs = sizeof(*udp);
		break;
	}
	default: {
		struct rte_icmp_hdr *icmp = (void *)l4;

		ip->next_proto_id = IPPROTO_ICMP;
		icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
		icmp->icmp_ident = RTE_BE16(0x1234);
		icmp->icmp_seq_nb = RTE_BE16(1);
		hdrs = sizeof(*icmp);
		break;
	}
	}
	for (uint16_t i = sizeof(*eh) + sizeof(*ip) + hdrs, k = 0; i < len; i++, k++)
		b[i] = 'a' + k % 26;     /* the payload of the unit tests' frames */
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (f->proto == DP_TRACE_ICMP) {
		struct rte_icmp_hdr *icmp = (void *)l4;

		icmp->icmp_cksum = ~rte_raw_cksum(icmp, len - sizeof(*eh) - sizeof(*ip));
	} else if (f->proto == DP_TRACE_TCP) {
		((struct rte_tcp_hdr *)l4)->cksum = rte_ipv4_udptcp_cksum(ip, l4);
	} else {
		((struct rte_udp_hdr *)l4)->dgram_cksum = rte_ipv4_udptcp_cksum(ip, l4);
	}
}

/* Outer Ethernet/IPv4/UDP/VXLAN at @b, as TEP @f->outer_src sends @inner_len
 * bytes in @f->vni to port @p. */
static void
write_outer(uint8_t *b, uint16_t inner_len, const struct dp_trace_desc *f, const struct dp_port *p)
{
	struct rte_ether_hdr *eh = (void *)b;
	struct rte_ipv4_hdr *ip = (void *)(eh + 1);
	struct rte_udp_hdr *udp = (void *)(ip + 1);
	struct rte_vxlan_hdr *vx = (void *)(udp + 1);

	memset(b, 0, DP_VXLAN_HLEN);
	eh->dst_addr = p->mac;          /* the source MAC (a router's) is not checked: zero */
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(DP_VXLAN_HLEN - sizeof(*eh) + inner_len);
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = f->outer_src;
	ip->dst_addr = p->ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = RTE_BE16(49152);
	udp->dst_port = dp.vxlan_port;
	udp->dgram_len = rte_cpu_to_be_16(sizeof(*udp) + sizeof(*vx) + inner_len);
	vx->vx_flags = VXLAN_I_FLAG;
	vx->vx_vni = rte_cpu_to_be_32(f->vni << 8);
}

struct rte_mbuf *
dp_trace_desc_build(const struct dp_trace_desc *d, char *err, size_t errlen)
{
	const struct dp_port *p = d->in_port < DP_MAX_PORTS ? dp_port_get(d->in_port) : NULL;
	struct dp_trace_desc f;
	struct rte_mbuf *m;
	uint16_t min, max, len, outer;
	uint8_t *b;

	if (p == NULL) {
		snprintf(err, errlen, "in_port: no port at index %u", d->in_port);
		errno = ENODEV;
		return NULL;
	}
	if (desc_complete(d, p, &f, err, errlen) < 0) {
		errno = EINVAL;
		return NULL;
	}
	outer = p->kind == DP_PORT_PHYS ? DP_VXLAN_HLEN : 0;
	min = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr);
	if (f.proto == DP_TRACE_ARP)
		min = sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr);
	else if (f.proto == DP_TRACE_TCP)
		min += sizeof(struct rte_tcp_hdr);
	else if (f.proto == DP_TRACE_UDP)
		min += sizeof(struct rte_udp_hdr);
	else
		min += sizeof(struct rte_icmp_hdr);
	max = rte_pktmbuf_data_room_size(dp.pool) - RTE_PKTMBUF_HEADROOM - outer;
	len = f.len != 0 ? f.len : min;
	if (len < min || len > max) {
		snprintf(err, errlen, "len: %u is not from %u to %u (frame bytes with proto=%s%s)",
			 len, min, max, proto_names[f.proto], outer ? ", before VXLAN" : "");
		errno = EINVAL;
		return NULL;
	}
	m = rte_pktmbuf_alloc(dp.pool);
	b = m != NULL ? (uint8_t *)rte_pktmbuf_append(m, outer + len) : NULL;
	if (b == NULL) {
		rte_pktmbuf_free(m);
		snprintf(err, errlen, "no mbuf left in the packet pool");
		errno = ENOBUFS;
		return NULL;
	}
	if (outer)
		write_outer(b, len, &f, p);
	write_inner(b + outer, len, &f);
	memset(dp_meta(m), 0, sizeof(struct dp_meta));
	return m;
}

json_t *
dp_trace_desc_run(const struct dp_trace_desc *d, char *err, size_t errlen)
{
	struct rte_mbuf *m = dp_trace_desc_build(d, err, errlen);
	struct dp_trace *t;
	json_t *j;
	int ret;

	if (m == NULL)
		return NULL;
	t = dp_trace_new();
	if (t == NULL) {
		rte_pktmbuf_free(m);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ret = dp_trace_run(t, d->in_port, m);
	j = ret == 0 ? dp_trace_json(t) : NULL;
	dp_trace_free(t);
	if (j == NULL) {
		snprintf(err, errlen, ret < 0 ? "in_port: no such port" : "out of memory");
		errno = ret < 0 ? -ret : ENOMEM;
	}
	return j;
}
