/* VM input, stage 2: port security.  A VM may only send from its own
 * MAC and its own IP addresses; its frames enter its virtual network.
 * Drops frames from unbound ports and spoofed sources.  Runs inside
 * dp_vm_parse's pass: dp_port_security_frame() (dp.h) passes the common
 * case, an IPv4 frame from the VM's own addresses, inline; every other
 * frame, and every frame in a trace, comes here. */
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp.h"
#include "dp_trace.h"

/* DHCP discover/request: the only IPv4 a VM may send before it has an address. */
static inline bool
is_dhcp_client(const struct rte_ipv4_hdr *ip)
{
	const struct rte_udp_hdr *udp = (const void *)((const uint8_t *)ip + rte_ipv4_hdr_len(ip));

	return ip->src_addr == 0 && ip->next_proto_id == IPPROTO_UDP &&
	       udp->src_port == RTE_BE16(68) && udp->dst_port == RTE_BE16(67);
}

static inline enum dp_drop
check_l3(const struct pol_endpoint *ep, const struct rte_mbuf *m, const struct dp_meta *md)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, md->l3_off);

	switch (md->ether_type) {
	case RTE_ETHER_TYPE_IPV4: {
		const struct rte_ipv4_hdr *ip = (const void *)l3;

		if (pol_ep_has_ip4(ep, ip->src_addr))
			return DP_DROP_MAX;
		if (m->data_len >= md->l3_off + rte_ipv4_hdr_len(ip) + sizeof(struct rte_udp_hdr) &&
		    is_dhcp_client(ip))
			return DP_DROP_MAX;
		return DP_DROP_SPOOF_IP;
	}
	case RTE_ETHER_TYPE_ARP: {
		const struct rte_arp_hdr *a = (const void *)l3;

		if (!rte_is_same_ether_addr(&a->arp_data.arp_sha, &ep->mac))
			return DP_DROP_SPOOF_MAC;
		/* sender 0.0.0.0 is an address probe (RFC 5227) */
		if (a->arp_data.arp_sip != 0 && !pol_ep_has_ip4(ep, a->arp_data.arp_sip))
			return DP_DROP_SPOOF_IP;
		return DP_DROP_MAX;
	}
	case RTE_ETHER_TYPE_IPV6: {
		const struct rte_ipv6_hdr *ip6 = (const void *)l3;
		static const uint8_t unspec[16];

		/* link-local (fe80::/10) and :: (duplicate address detection) are allowed */
		if ((ip6->src_addr[0] == 0xfe && (ip6->src_addr[1] & 0xc0) == 0x80) ||
		    memcmp(ip6->src_addr, unspec, 16) == 0 || pol_ep_has_ip6(ep, ip6->src_addr))
			return DP_DROP_MAX;
		return DP_DROP_SPOOF_IP;
	}
	default:
		return DP_DROP_MAX;
	}
}

bool
dp_port_security_check(struct dp_lcore *c, const struct pol_endpoint *ep, struct rte_mbuf *m)
{
	const struct dp_meta *md = dp_meta(m);
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	enum dp_drop why;

	if (unlikely(ep == NULL)) {
		DP_TRACE(c, "port security", "no endpoint bound to port %s",
			 dp_trace_port(c->trace, md->in_port));
		dp_drop(c, m, DP_DROP_UNKNOWN_PORT_VM);
		return false;
	}
	if (unlikely(!rte_is_same_ether_addr(&eh->src_addr, &ep->mac))) {
		DP_TRACE(c, "port security", "port %s is endpoint %s (%s): "
			 "source MAC %s is not its own",
			 dp_trace_port(c->trace, md->in_port), ep->name,
			 dp_trace_mac(c->trace, &ep->mac),
			 dp_trace_mac(c->trace, &eh->src_addr));
		dp_drop(c, m, DP_DROP_SPOOF_MAC);
		return false;
	}
	why = check_l3(ep, m, md);
	if (unlikely(why != DP_DROP_MAX)) {
		DP_TRACE(c, "port security", "port %s is endpoint %s (%s): %s",
			 dp_trace_port(c->trace, md->in_port), ep->name,
			 dp_trace_mac(c->trace, &ep->mac),
			 why == DP_DROP_SPOOF_IP ? "source address is not one of its own" :
			 "ARP sender MAC is not its own");
		dp_drop(c, m, why);
		return false;
	}
	DP_TRACE(c, "port security", "pass: port %s is endpoint %s (%s), "
		 "source is its own; network %s",
		 dp_trace_port(c->trace, md->in_port), ep->name,
		 dp_trace_mac(c->trace, &ep->mac), dp_trace_vnet(c->trace, ep->vni));
	return true;
}
