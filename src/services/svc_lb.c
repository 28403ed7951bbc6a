/* The built-in load balancer's per-frame work and its attachment to ports
 * (see svc_lb.h): pick a backend by a hash of the 5-tuple, rewrite
 * addresses and ports with incremental checksum updates (RFC 1624). */
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_log.h>

#include "svc_lb.h"

RTE_LOG_REGISTER_SUFFIX(svc_lb_logtype, services.lb, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svc_lb_logtype, "services: lb: " fmt "\n", ##__VA_ARGS__)

struct svc_lb *_Atomic svc_lb_ports[POL_MAX_PORTS];

static inline uint32_t
rotl32(uint32_t x, unsigned r)
{
	return (x << r) | (x >> (32 - r));
}

/* One word into the running hash (the murmur3 block step). */
static inline uint32_t
mix(uint32_t h, uint32_t k)
{
	k *= 0xcc9e2d51u;
	k = rotl32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

uint32_t
svc_lb_hash(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint32_t h = mix(mix(mix(proto, src), dst), ((uint32_t)sport << 16) | dport);

	/* final avalanche: backends are picked from the high bits */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Checksum @sum (as stored) after a 16-bit word of what it covers changed
 * from @old to @new (as stored): one's complement arithmetic does not care
 * about byte order as long as all three are in the same one. */
static inline uint16_t
csum_update16(uint16_t sum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint32_t)(uint16_t)~sum + (uint16_t)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline uint16_t
csum_update32(uint16_t sum, uint32_t old, uint32_t new)
{
	sum = csum_update16(sum, (uint16_t)old, (uint16_t)new);
	return csum_update16(sum, (uint16_t)(old >> 16), (uint16_t)(new >> 16));
}

/* Replace the source (@src) or destination address and port of the packet
 * at @ip, whose TCP/UDP header is @l4 with its checksum at @ck_off. */
static void
rewrite(struct rte_ipv4_hdr *ip, uint8_t *l4, unsigned ck_off, bool src, uint32_t addr,
	uint16_t port)
{
	uint32_t old = src ? ip->src_addr : ip->dst_addr;
	uint8_t *p = l4 + (src ? 0 : 2);
	uint16_t old_port, ck;
	bool udp = ip->next_proto_id == IPPROTO_UDP;

	memcpy(&old_port, p, 2);
	memcpy(&ck, l4 + ck_off, 2);
	if (!(udp && ck == 0)) {   /* UDP without checksum stays without */
		ck = csum_update32(ck, old, addr);
		ck = csum_update16(ck, old_port, port);
		if (udp && ck == 0)
			ck = 0xffff;    /* RFC 768: a computed zero is sent as all ones */
		memcpy(l4 + ck_off, &ck, 2);
	}
	ip->hdr_checksum = csum_update32(ip->hdr_checksum, old, addr);
	if (src)
		ip->src_addr = addr;
	else
		ip->dst_addr = addr;
	memcpy(p, &port, 2);
}

enum svc_lb_verdict
svc_lb_frame(const struct svc_lb *lb, uint32_t vni, bool to_gateway, void *l3, uint32_t len,
	     struct svc_lb_hit *hit)
{
	struct rte_ipv4_hdr *ip = l3;
	uint16_t sport, dport;
	unsigned ihl, ck_off;
	uint8_t *l4;

	if (len < sizeof(*ip) || (ip->version_ihl >> 4) != 4)
		return SVC_LB_PASS;
	ihl = rte_ipv4_hdr_len(ip);
	if (ip->next_proto_id == IPPROTO_TCP)
		ck_off = offsetof(struct rte_tcp_hdr, cksum);
	else if (ip->next_proto_id == IPPROTO_UDP)
		ck_off = offsetof(struct rte_udp_hdr, dgram_cksum);
	else
		return SVC_LB_PASS;
	/* only a first fragment has the ports */
	if (ihl < sizeof(*ip) || len < ihl + ck_off + 2 ||
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return SVC_LB_PASS;
	l4 = (uint8_t *)ip + ihl;
	memcpy(&sport, l4, 2);
	memcpy(&dport, l4 + 2, 2);
	for (unsigned i = 0; to_gateway && i < lb->n_vips; i++) {
		const struct svc_lb_vip *v = &lb->vips[i];
		unsigned b;

		if (v->vip != ip->dst_addr || v->port != dport || v->proto != ip->next_proto_id ||
		    v->vni != vni)
			continue;
		hit->entry = i;
		if (v->n_backends == 0)
			return SVC_LB_NO_BACKEND;
		b = svc_lb_pick(svc_lb_hash(v->proto, ip->src_addr, ip->dst_addr, sport, dport),
				v->n_backends);
		hit->backend = b;
		rewrite(ip, l4, ck_off, false, v->backend_ip[b], v->backend_port);
		return SVC_LB_DNAT;
	}
	for (unsigned i = 0; i < lb->n_rev; i++) {
		const struct svc_lb_rev *r = &lb->rev[i];

		if (r->backend_port != sport || r->proto != ip->next_proto_id)
			continue;
		hit->entry = i;
		rewrite(ip, l4, ck_off, true, r->vip, r->port);
		return SVC_LB_SNAT;
	}
	return SVC_LB_PASS;
}

/* --- attachment --- */

static void
lb_free_cb(void *p)
{
	free(p);
}

void
svc_lb_port_set(uint16_t port, struct svc_lb *lb)
{
	struct svc_lb *old;

	if (port >= POL_MAX_PORTS) {
		LOG(ERR, "port index %u out of range: load balancer not attached", port);
		free(lb);
		return;
	}
	old = atomic_exchange_explicit(&svc_lb_ports[port], lb, memory_order_acq_rel);
	if (old != NULL)
		pol_defer_free(lb_free_cb, old);
}

void
svc_lb_ports_clear(void)
{
	for (unsigned i = 0; i < POL_MAX_PORTS; i++)
		if (atomic_load_explicit(&svc_lb_ports[i], memory_order_relaxed) != NULL)
			svc_lb_port_set((uint16_t)i, NULL);
}
