/* Shared fixture of the datapath and tables unit tests.
 *
 * It gives a test what a running switch gives a worker, without devices:
 * an EAL without hugepages, a packet pool whose mbufs carry struct
 * dp_meta in their private area, the forwarding tables, fake ports whose
 * tx_burst captures what the datapath sends (rx_burst returns nothing),
 * the punt ring, the decision cache and the event ring, and one worker
 * context (struct dp_lcore, worker 0).  A small resolver stands in for
 * the control thread's (ctl_resolve.c): it answers misses from the
 * endpoint table.  Frames are written byte by byte with the env_frame
 * builders below.
 */
#ifndef DP_TEST_ENV_H
#define DP_TEST_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dp.h"
#include "pol_tables.h"

#define ENV_POOL_MBUFS 8191     /* mbufs in the test pool */
#define ENV_MAX_CAPTURE 512     /* frames kept per port by the fake tx_burst */
#define ENV_FRAME_MAX 2048      /* largest frame the builders write */
#define ENV_GW_MAC "02:00:00:00:ff:fe"  /* dp.gateway_mac */
#define ENV_CACHE_ENTRIES 4096  /* decision cache size */

extern struct dp_lcore *env_ctx; /* the test's worker: counters, tx buffers */

/* Bring up EAL, the pool, the punt ring and the worker context, and
 * create tables for @max_endpoints endpoints with one RCU reader.
 * @prog: argv[0].  Returns 0 or a negative errno. */
int env_init(const char *prog, unsigned max_endpoints);
/* Undo env_init() (ports, captures, tables, pool, EAL); NULL-safe state. */
void env_fini(void);

/* Throw the tables and the decision cache away and create empty ones for
 * @max_endpoints endpoints.  Returns 0 or a negative errno. */
int env_tables_reset(unsigned max_endpoints);
/* Zero the worker context: counters, tx buffers, held frames (freed) (keeps worker 0). */
void env_ctx_reset(void);
/* mbufs of the pool currently allocated. */
unsigned env_pool_in_use(void);

/* --- fake ports --- */

/* Create and publish a port at @index with MAC @mac ("02:00:..").  Its
 * tx queue map is published (one unshared queue).  Returns NULL on error. */
struct dp_port *env_port_add(uint16_t index, enum dp_port_kind kind, const char *name,
			     const char *mac);
/* Give a physical port its underlay address ("192.0.2.1"), prefix and MTU. */
void env_port_underlay(struct dp_port *p, const char *ip, uint8_t prefix_len, uint16_t mtu);
/* Unpublish and free every fake port (captures are kept). */
void env_ports_clear(void);

/* Frames the fake tx_burst took on @port since the last env_tx_clear(). */
unsigned env_tx_count(uint16_t port);
struct rte_mbuf *env_tx_pkt(uint16_t port, unsigned i);
/* Frames sent on all ports together. */
unsigned env_tx_total(void);
/* Free every captured frame. */
void env_tx_clear(void);
/* Free whatever sits in dp.punt; returns how many there were. */
unsigned env_punt_drain(void);

/* --- addresses --- */

struct rte_ether_addr env_mac(const char *s);
uint32_t env_ip4(const char *s);                 /* network order */

/* --- tables --- */

/* Add or replace virtual network @vni. Returns pol_vnet_set()'s result. */
int env_vnet(uint32_t vni, const char *name, bool flood);
/* The same with one IPv4 subnet, @gw/24, whose gateway is @gw. */
int env_vnet_gateway(uint32_t vni, const char *name, bool flood, const char *gw);
/* A zeroed endpoint of network @vni with MAC @mac and no address. */
void env_ep_init(struct pol_endpoint *ep, uint32_t vni, const char *name, const char *mac);
/* Append IPv4 or IPv6 address @ip (text) to @ep. */
void env_ep_add_ip(struct pol_endpoint *ep, const char *ip);
/* An endpoint behind local port @port / remote tunnel @tunnel toward @tep,
 * with one address @ip (NULL for none).  Return pol_endpoint_set()'s result. */
int env_ep_local(uint32_t vni, const char *name, const char *mac, const char *ip, uint16_t port);
int env_ep_remote(uint32_t vni, const char *name, const char *mac, const char *ip,
		  uint16_t tunnel, const char *tep);
/* Publish tunnel @idx toward @dst over physical port @phys, next hop MAC @nh_mac. */
void env_tunnel(uint16_t idx, const struct dp_port *phys, const char *dst, const char *nh_mac,
		bool resolved);

/* --- decisions (a stand-in for the control thread's resolver) --- */

/* Decide @k from the endpoint table: FORWARD along pol_path_translate()
 * when the destination is known (by MAC; routed keys by IPv4 in the same
 * VNI, from the gateway MAC), else POL_RES_UNKNOWN.  Also the trace hook
 * (dp_trace_decide).  Returns 0. */
int env_decide(const struct pol_flow_key *k, uint16_t in_port, struct pol_decision *out);
/* Take up to @max events from dp.events into @ev; returns how many. */
unsigned env_events_take(struct dp_event *ev, unsigned max);
/* Drain dp.events; install env_decide()'s answer to each miss.  Returns
 * how many decisions were installed. */
unsigned env_resolve(void);
/* What the switch does after a burst: resolve misses, then let the
 * worker retry its held frames.  Returns how many decisions were installed. */
unsigned env_settle(void);

/* --- frames --- */

/* A frame being written: headers are appended in order, then
 * env_frame_done() fills the lengths and checksums of the first IP
 * header and of the UDP/ICMP header that follows it. */
struct env_frame {
	uint8_t b[ENV_FRAME_MAX];
	uint16_t len;
	uint16_t l3;                  /* offset of the IP header, 0 = none yet */
	uint16_t l4;                  /* offset of the UDP/ICMP header, 0 = none yet */
	uint8_t ip_ver;               /* 4 or 6 once an IP header is written */
	uint8_t l4_proto;             /* IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_TCP */
};

/* Start @f with an Ethernet header. */
void env_eth(struct env_frame *f, const char *dst, const char *src, uint16_t ether_type);
/* IPv4: no options, id 0, DF, TTL 64. */
void env_ipv4(struct env_frame *f, const char *src, const char *dst, uint8_t proto);
void env_ipv6(struct env_frame *f, const char *src, const char *dst, uint8_t next);
void env_udp(struct env_frame *f, uint16_t sport, uint16_t dport);
/* TCP SYN, 20-byte header, window 65535; its checksum is left 0. */
void env_tcp(struct env_frame *f, uint16_t sport, uint16_t dport);
void env_icmp_echo(struct env_frame *f, uint8_t type, uint16_t id, uint16_t seq);
/* Ethernet/IPv4 ARP; @tha NULL for 00:00:00:00:00:00. */
void env_arp(struct env_frame *f, uint16_t op, const char *sha, const char *spa,
	     const char *tha, const char *tpa);
/* VXLAN header: first byte @flags, then @vni in bytes 4..6. */
void env_vxlan(struct env_frame *f, uint8_t flags, uint32_t vni);
void env_put(struct env_frame *f, const void *data, size_t len);
void env_put16(struct env_frame *f, uint16_t v);   /* network order */
/* @n bytes of a fixed pattern. */
void env_payload(struct env_frame *f, size_t n);
/* Fill IP length/checksum and UDP length or ICMP checksum. */
void env_frame_done(struct env_frame *f);
/* Recompute the IPv4 header checksum at @ip. */
void env_ipv4_fix_csum(uint8_t *ip);

/* A pool mbuf holding a copy of @data (single segment); NULL if none left. */
struct rte_mbuf *env_mbuf(const void *data, size_t len);
static inline struct rte_mbuf *
env_frame_mbuf(const struct env_frame *f)
{
	return env_mbuf(f->b, f->len);
}
/* True when @m holds exactly @len bytes equal to @exp, except the
 * @skip_len bytes at @skip_off; prints a hex diff to stderr otherwise. */
bool env_mbuf_equal(const struct rte_mbuf *m, const void *exp, size_t len,
		    size_t skip_off, size_t skip_len);

/* Under ASan, make the bytes of @m's buffer outside its data unreadable,
 * so that a read past the end of a truncated frame is reported; no-op
 * without ASan.  Undo with env_unguard() before the mbuf is reused. */
struct env_guard {
	void *head, *tail;
	size_t head_len, tail_len;
};
struct env_guard env_guard(const struct rte_mbuf *m);
void env_unguard(const struct env_guard *g);

#endif
