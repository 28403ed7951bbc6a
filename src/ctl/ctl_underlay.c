/* Underlay control: tunnels to remote endpoints, next-hop MACs resolved by
 * ARP, ARP answered for our own underlay addresses, and the few UDP
 * datagrams the control thread itself exchanges with other switches
 * (notifications).  Control thread only; the datapath sees the result as
 * published struct pol_tunnel. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "ctl_notify.h"
#include "ctl_switch.h"
#include "ctl_underlay.h"
#include "dp.h"

RTE_LOG_REGISTER_SUFFIX(ul_logtype, underlay, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, ul_logtype, "underlay: " fmt "\n", ##__VA_ARGS__)

#define ARP_RETRY_MS 1000      /* while unresolved */
#define ARP_REFRESH_MS 30000   /* once resolved: notice a changed MAC */
#define TIMER_MS 50            /* how often the tunnel table is scanned */

/* Control-side state of a tunnel slot. */
struct tunnel_slot {
	uint32_t refs;
	struct pol_tunnel t;       /* the copy last published */
	uint64_t next_arp;         /* TSC deadline of the next ARP request */
	bool fixed;                /* next hop MAC from physical_ports[].neighbors */
};

static struct tunnel_slot slots[POL_MAX_TUNNELS];
static uint64_t next_scan;     /* TSC deadline of the next scan of slots[] */

static bool
same_subnet(uint32_t a, uint32_t b, uint8_t len)
{
	uint32_t mask = len ? htonl(~0u << (32 - len)) : 0;

	return ((a ^ b) & mask) == 0;
}

/* Which physical port and next hop reach @tep: a port on its subnet
 * first, else the first port with a gateway. */
static struct dp_port *
route(uint32_t tep, uint32_t *nh)
{
	struct dp_port *gw = NULL;

	for (uint16_t i = 0; i < DP_MAX_PORTS; i++) {
		struct dp_port *p = dp_port_get(i);

		if (p == NULL || p->kind != DP_PORT_PHYS)
			continue;
		if (same_subnet(p->ip, tep, p->prefix_len)) {
			*nh = tep;
			return p;
		}
		if (gw == NULL && p->gateway)
			gw = p;
	}
	if (gw != NULL)
		*nh = gw->gateway;
	return gw;
}

/* The MAC configured for next hop @nh on @p (physical_ports[].neighbors),
 * or NULL.  Read from the running configuration: it is not set yet while
 * ctl_switch_start() applies the first one, so the scan of slots[] looks
 * again before it would ever send an ARP request. */
static const uint8_t *
static_mac(const struct dp_port *p, uint32_t nh)
{
	const struct ctl_config *cfg = ctl_switch_base_config();

	for (unsigned i = 0; cfg != NULL && i < cfg->n_phys; i++) {
		const struct ctl_phys_port *pp = &cfg->phys[i];

		if (strcmp(pp->name, p->name) != 0)
			continue;
		for (unsigned j = 0; j < pp->n_neighbors; j++)
			if (pp->neighbors[j].ip == nh)
				return pp->neighbors[j].mac;
	}
	return NULL;
}

/* Pin @s to its configured next hop MAC, if any.  Returns whether it did. */
static bool
pin_static(struct tunnel_slot *s, const struct dp_port *p)
{
	const uint8_t *mac = static_mac(p, s->t.nh_ip);

	if (mac == NULL)
		return false;
	memcpy(s->t.dst_mac.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
	s->t.resolved = true;
	s->fixed = true;
	s->next_arp = UINT64_MAX;   /* never asked, never expires */
	return true;
}

bool
ctl_tunnel_reachable(uint32_t tep)
{
	uint32_t nh;

	return route(tep, &nh) != NULL;
}

int
ctl_tunnel_acquire(uint32_t tep)
{
	int free_slot = -1;
	struct dp_port *p;
	uint32_t nh;
	bool fixed;

	for (int i = 0; i < POL_MAX_TUNNELS; i++) {
		if (slots[i].refs && slots[i].t.dst_ip == tep) {
			slots[i].refs++;
			return i;
		}
		if (!slots[i].refs && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	p = route(tep, &nh);
	if (p == NULL)
		return -EHOSTUNREACH;
	memset(&slots[free_slot], 0, sizeof(slots[free_slot]));
	slots[free_slot].refs = 1;
	slots[free_slot].t = (struct pol_tunnel){
		.dst_ip = tep, .src_ip = p->ip, .nh_ip = nh, .port = p->index,
		.src_mac = p->mac,
	};
	fixed = pin_static(&slots[free_slot], p);
	/* Reuse a MAC another tunnel already learnt for the same next hop. */
	for (int i = 0; !fixed && i < POL_MAX_TUNNELS; i++)
		if (i != free_slot && slots[i].refs && slots[i].t.resolved &&
		    slots[i].t.nh_ip == nh && slots[i].t.port == p->index) {
			slots[free_slot].t.dst_mac = slots[i].t.dst_mac;
			slots[free_slot].t.resolved = true;
			slots[free_slot].next_arp = rte_get_tsc_cycles() +
				rte_get_tsc_hz() / 1000 * ARP_REFRESH_MS;
			break;
		}
	pol_tunnel_publish(free_slot, &slots[free_slot].t);
	if (pol_tep_add(tep) < 0)   /* sized for every slot: cannot be full */
		LOG(ERR, "cannot note tunnel endpoint %u as known", free_slot);
	return free_slot;
}

void
ctl_tunnel_release(uint16_t idx)
{
	if (idx >= POL_MAX_TUNNELS || slots[idx].refs == 0)
		return;
	if (--slots[idx].refs == 0) {
		pol_tep_del(slots[idx].t.dst_ip);
		pol_tunnel_publish(idx, NULL);
	}
}

static struct rte_mbuf *
arp_frame(struct dp_port *p, uint16_t op, const struct rte_ether_addr *dst_mac,
	  const struct rte_ether_addr *tha, uint32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	struct rte_ether_hdr *eh;
	struct rte_arp_hdr *a;

	if (m == NULL)
		return NULL;
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) + sizeof(*a));
	a = (struct rte_arp_hdr *)(eh + 1);
	rte_ether_addr_copy(dst_mac, &eh->dst_addr);
	rte_ether_addr_copy(&p->mac, &eh->src_addr);
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(&p->mac, &a->arp_data.arp_sha);
	a->arp_data.arp_sip = p->ip;
	rte_ether_addr_copy(tha, &a->arp_data.arp_tha);
	a->arp_data.arp_tip = tip;
	return m;
}

static void
send_frame(struct dp_port *p, struct rte_mbuf *m)
{
	if (m != NULL && rte_ring_enqueue(p->inject, m) != 0)
		rte_pktmbuf_free(m);
}

static void
send_request(struct dp_port *p, uint32_t ip)
{
	static const struct rte_ether_addr bcast = {{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }};
	static const struct rte_ether_addr zero;

	send_frame(p, arp_frame(p, RTE_ARP_OP_REQUEST, &bcast, &zero, ip));
}

/* A neighbour told us its MAC: update every tunnel through it. */
static void
learn(uint16_t port, uint32_t ip, const struct rte_ether_addr *mac)
{
	uint64_t next = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * ARP_REFRESH_MS;

	for (int i = 0; i < POL_MAX_TUNNELS; i++) {
		struct tunnel_slot *s = &slots[i];

		if (!s->refs || s->fixed || s->t.nh_ip != ip || s->t.port != port)
			continue;
		s->next_arp = next;
		if (s->t.resolved && rte_is_same_ether_addr(&s->t.dst_mac, mac))
			continue;
		s->t.dst_mac = *mac;
		s->t.resolved = true;
		pol_tunnel_publish(i, &s->t);
		{
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &ip, a, sizeof(a));
			LOG(INFO, "next hop %s is " RTE_ETHER_ADDR_PRT_FMT, a,
			    RTE_ETHER_ADDR_BYTES(mac));
		}
	}
}

static void
handle_arp(struct rte_mbuf *m)
{
	struct dp_port *p = dp_port_get(dp_meta(m)->in_port);
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);

	if (p == NULL || m->data_len < sizeof(*eh) + sizeof(*a) || !dp_arp_valid(a) ||
	    rte_is_multicast_ether_addr(&a->arp_data.arp_sha))
		return;
	if (a->arp_data.arp_sip != 0)
		learn(p->index, a->arp_data.arp_sip, &a->arp_data.arp_sha);
	if (a->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST) && a->arp_data.arp_tip == p->ip)
		send_frame(p, arp_frame(p, RTE_ARP_OP_REPLY, &a->arp_data.arp_sha,
					&a->arp_data.arp_sha, a->arp_data.arp_sip));
}

/* Workers punt ARP and UDP to the notification port, nothing else. */
static bool
is_notify(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const void *)(eh + 1);
	const struct rte_udp_hdr *udp;

	if (m->data_len < sizeof(*eh) + sizeof(*ip) ||
	    eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || ip->next_proto_id != IPPROTO_UDP ||
	    m->data_len < sizeof(*eh) + rte_ipv4_hdr_len(ip) + sizeof(*udp))
		return false;
	udp = (const void *)((const uint8_t *)ip + rte_ipv4_hdr_len(ip));
	return dp.notify_port != 0 && udp->dst_port == dp.notify_port;
}

uint32_t
ctl_underlay_src_ip(uint32_t dst_ip)
{
	uint32_t nh;
	const struct dp_port *p = route(dst_ip, &nh);

	return p != NULL ? p->ip : 0;
}

/* The MAC of next hop @nh on @p, as a tunnel through it learnt it.  When no
 * tunnel goes through it, ask (the reply is learnt once one does). */
static int
next_hop_mac(struct dp_port *p, uint32_t nh, struct rte_ether_addr *mac)
{
	const uint8_t *fixed = static_mac(p, nh);
	bool pending = false;

	if (fixed != NULL) {
		memcpy(mac->addr_bytes, fixed, RTE_ETHER_ADDR_LEN);
		return 0;
	}
	for (int i = 0; i < POL_MAX_TUNNELS; i++) {
		const struct tunnel_slot *s = &slots[i];

		if (!s->refs || s->t.nh_ip != nh || s->t.port != p->index)
			continue;
		if (s->t.resolved) {
			*mac = s->t.dst_mac;
			return 0;
		}
		pending = true;   /* the scan of slots[] already asks for it */
	}
	if (!pending)
		send_request(p, nh);
	return -EAGAIN;
}

int
ctl_underlay_send_udp(uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
		      const void *payload, size_t len)
{
	const size_t hdrs = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
			    sizeof(struct rte_udp_hdr);
	struct rte_ether_addr nh_mac;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	struct rte_mbuf *m;
	struct dp_port *p;
	uint32_t nh;
	int rc;

	p = route(dst_ip, &nh);
	if (p == NULL || p->inject == NULL)
		return -EHOSTUNREACH;
	if (len > (size_t)p->mtu - sizeof(*ip) - sizeof(*udp) || len > UINT16_MAX - hdrs)
		return -EMSGSIZE;
	rc = next_hop_mac(p, nh, &nh_mac);
	if (rc < 0)
		return rc;
	m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL)
		return -ENOBUFS;
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, hdrs + len);
	if (eh == NULL) {
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	eh->dst_addr = nh_mac;
	eh->src_addr = p->mac;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*udp) + len),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_UDP,
		.src_addr = p->ip,
		.dst_addr = dst_ip,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*udp = (struct rte_udp_hdr){
		.src_port = rte_cpu_to_be_16(src_port),
		.dst_port = rte_cpu_to_be_16(dst_port),
		.dgram_len = rte_cpu_to_be_16(sizeof(*udp) + len),
	};
	memcpy(udp + 1, payload, len);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	if (rte_ring_enqueue(p->inject, m) != 0) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	return 0;
}

void
ctl_underlay_poll(void)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned n;
	uint64_t now = rte_get_tsc_cycles(), ms = rte_get_tsc_hz() / 1000;

	while ((n = rte_ring_dequeue_burst(dp.punt, (void **)pkts, DP_BURST, NULL)) > 0)
		for (unsigned i = 0; i < n; i++) {
			if (is_notify(pkts[i])) {
				ctl_notify_input(pkts[i]);   /* consumes it */
				continue;
			}
			handle_arp(pkts[i]);
			rte_pktmbuf_free(pkts[i]);
		}
	if (now < next_scan)
		return;
	next_scan = now + ms * TIMER_MS;
	for (int i = 0; i < POL_MAX_TUNNELS; i++) {
		struct tunnel_slot *s = &slots[i];
		struct dp_port *p;

		if (!s->refs || s->fixed || now < s->next_arp)
			continue;
		p = dp_port_get(s->t.port);
		if (p != NULL && pin_static(s, p)) {
			pol_tunnel_publish(i, &s->t);
			continue;
		}
		s->next_arp = now + ms * (s->t.resolved ? ARP_REFRESH_MS : ARP_RETRY_MS);
		if (p != NULL)
			send_request(p, s->t.nh_ip);
	}
}

json_t *
ctl_underlay_json(void)
{
	json_t *arr = json_array();

	for (int i = 0; i < POL_MAX_TUNNELS; i++) {
		const struct tunnel_slot *s = &slots[i];
		const struct dp_port *p;
		char tep[INET_ADDRSTRLEN], nh[INET_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE];

		if (!s->refs)
			continue;
		p = dp_port_get(s->t.port);
		inet_ntop(AF_INET, &s->t.dst_ip, tep, sizeof(tep));
		inet_ntop(AF_INET, &s->t.nh_ip, nh, sizeof(nh));
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 RTE_ETHER_ADDR_BYTES(&s->t.dst_mac));
		json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:s, s:s, s:b, s:b, s:i}",
			"id", i, "tep", tep, "port", p ? p->name : "?", "next_hop", nh,
			"next_hop_mac", s->t.resolved ? mac : "-", "resolved", s->t.resolved,
			"static", s->fixed, "endpoints", (int)s->refs));
	}
	return arr;
}
