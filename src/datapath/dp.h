/* Datapath: ports, per-lcore state and the stages of the input paths.
 *
 * Worker lcores run dp_worker_main(); each polls the rx queues it was
 * given and pushes every burst through the ordered list of stages of
 * the VM input path (vhost-user port) or the network input path
 * (physical port).  A stage takes (ctx, pkts, n), consumes or drops
 * what it finishes with, compacts the rest and returns how many it
 * passes on.  Workers share nothing writable: counters and tx buffers
 * live in their own struct dp_lcore.
 */
#ifndef DP_H
#define DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "ctl_config.h"
#include "dp_drop.h"
#include "dp_emc.h"
#include "pol_cache.h"
#include "pol_tables.h"
#include "svc_acl.h"
#include "svc_lb.h"

/* Frames per rx burst: up to 64 from a VM (the vhost library dequeues
 * 32 at a time; the worker's per-burst work is then shared by 64), 32
 * from a physical port (bench/: larger bursts there slowed decapsulation
 * toward the guest). */
#define DP_BURST 64
#define DP_BURST_PHYS 32
/* A worker naps only after this long without work, and pauses this long
 * after a poll that found under half a burst (dp_worker.c). */
#define DP_IDLE_SPIN_US 1000
#define DP_POLL_GAP_US 1
#define DP_MAX_PORTS POL_MAX_PORTS
#define DP_MAX_QUEUES 16
#define DP_MAX_WORKERS CTL_MAX_WORKERS
#define DP_TXBUF (DP_BURST * 2)
#ifndef DP_MAX_LCORE_RXQ
#define DP_MAX_LCORE_RXQ 64
#endif
#define DP_VXLAN_HLEN (sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + \
		       sizeof(struct rte_udp_hdr) + sizeof(struct rte_vxlan_hdr))

enum dp_port_kind {
	DP_PORT_PHYS,   /* underlay: carries VXLAN */
	DP_PORT_VHOST,  /* a VM's vhost-user interface */
};

/* Which tx queue each worker uses on a port, and whether workers share one. */
struct dp_txq_map {
	bool shared;                  /* two workers may hit one queue: take its lock */
	uint16_t q[DP_MAX_WORKERS];   /* worker index -> tx queue */
};

struct dp_port;
struct dp_trace;

/* The operations behind a port (style.md #8). */
struct dp_port_ops {
	const char *kind;
	int (*start)(struct dp_port *p, struct rte_mempool *mp, unsigned n_workers);
	void (*stop)(struct dp_port *p);
	uint16_t (*rx_burst)(struct dp_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
	uint16_t (*tx_burst)(struct dp_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
	bool (*link_up)(struct dp_port *p);
};

extern const struct dp_port_ops dp_phys_ops;
extern const struct dp_port_ops dp_vhost_ops;

struct dp_port {
	/* Set before the port is published; dp: ro, ctl: ro. */
	const struct dp_port_ops *ops;
	char name[CTL_NAME_MAX];
	enum dp_port_kind kind;
	uint16_t index;               /* datapath index, key of per-port counters */
	uint16_t eth_port;            /* DPDK ethdev port id */
	uint16_t n_rxq, n_txq;
	struct rte_ether_addr mac;
	bool tx_ip_cksum;             /* outer IPv4 checksum offloaded */
	uint16_t rx_burst;            /* frames per rx burst: DP_BURST or DP_BURST_PHYS */
	/* physical only */
	uint32_t ip;                  /* underlay address, network order */
	uint8_t prefix_len;
	uint32_t gateway;             /* network order, 0 = none */
	uint16_t mtu;                 /* L3 MTU: underlay (physical), guest (vhost) */
	struct rte_ring *inject;      /* frames from the control thread; owner worker sends them */
	/* vhost only */
	char socket[CTL_PATH_MAX];
	enum ctl_vhost_mode mode;
	uint32_t txq_enabled;         /* ctl only: queues the guest has enabled */
	uint16_t guest_mtu;           /* ctl only: MTU QEMU advertises to the guest, 0 = none */
	bool guest_mtu_known;         /* ctl only: guest_mtu read since the guest connected */
	bool active;                  /* ctl only: a guest runs here (link up, queues enabled) */
	/* dp: ro, ctl: rw (republished on vhost queue state changes) */
	struct dp_txq_map *_Atomic txq_map;
	/* dp: rw under the lock, only when txq_map->shared */
	rte_spinlock_t txq_lock[DP_MAX_QUEUES];
};

/* Per-mbuf metadata, in the mbuf's private area. */
struct dp_meta {
	uint16_t in_port;             /* datapath port index it arrived on */
	uint16_t l3_off;              /* offset of the L3 header in the frame */
	uint16_t ether_type;          /* host order */
	uint8_t chained;              /* back from its service chain: do not enter it again */
	uint32_t vni;                 /* virtual network, once known (VM input: the
				       * destination's after a routed decision) */
	uint16_t tunnel;              /* VM input: tunnel to encapsulate toward */
	uint16_t tag;                 /* policy revision tag for / from the VXLAN header */
	uint32_t tep;                 /* network input: outer source IPv4, network order */
	uint64_t held_until;          /* TSC deadline while waiting for a decision; 0 = not held */
};

/* Size of the mbuf private area: struct dp_meta, padded so that with the
 * cache-line-aligned mbuf and headroom a frame starts 56 bytes into a
 * line.  The 50 bytes of VXLAN outer headers then land in the line that
 * holds the frame's first bytes, already in cache from vhost's copy,
 * instead of a cold headroom line that every encapsulation would miss on. */
#define DP_MBUF_PRIV_SIZE 56
_Static_assert(sizeof(struct dp_meta) <= DP_MBUF_PRIV_SIZE &&
	       DP_MBUF_PRIV_SIZE % RTE_MBUF_PRIV_ALIGN == 0, "dp_meta fits the private area");

static inline struct dp_meta *
dp_meta(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

struct dp_port_counters {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t drops;               /* dropped after arriving here, or on its way out here */
};

struct dp_txbuf {
	uint16_t n;
	bool listed;                  /* in dp_lcore.dirty */
	struct rte_mbuf *pkts[DP_TXBUF];
};

struct dp_rxq {
	uint16_t port;                /* datapath port index */
	uint16_t queue;
};

/* The rx queues a worker polls; replaced whole by the control thread. */
struct dp_rxq_list {
	uint16_t n;
	struct dp_rxq q[DP_MAX_LCORE_RXQ];
};

/* What workers tell the control thread (dp.events, one ring, MP/SC). */
enum dp_event_type {
	DP_EV_MISS = 1,               /* no decision for key (from VM port @port) */
	DP_EV_NOT_LOCAL,              /* VXLAN from @tep for (key.src_vni, key.dst MAC) not here */
	DP_EV_STALE_TAG,              /* VXLAN from @tep carried policy tag @tag, not ours */
};

struct dp_event {
	uint8_t type;                 /* enum dp_event_type */
	uint8_t pad0;
	uint16_t port;
	uint32_t tep;                 /* network order */
	uint16_t tag;
	uint16_t pad1;
	uint32_t pad2;
	struct pol_flow_key key;
};

#define DP_HOLD_MAX 64                /* frames a worker holds waiting for decisions */
#define DP_MISS_FILTER 256            /* recent misses a worker does not report again */

/* What service rules did to frames, per profile slot (dp_lcore.svc). */
enum dp_svc_count {
	DP_SVC_ALLOWED,               /* matched an allow rule */
	DP_SVC_DROPPED,
	DP_SVC_MIRRORED,              /* a copy went to the mirror port */
	DP_SVC_REDIRECTED,            /* sent to the rule's port instead */
	DP_SVC_COUNT_MAX
};

/* Frames sent to a chain hop and frames that came back from it, for
 * each direction (dp_lcore.hops). */
enum dp_hop_count {
	DP_HOP_SENT_FWD,
	DP_HOP_BACK_FWD,
	DP_HOP_SENT_REV,
	DP_HOP_BACK_REV,
	DP_HOP_COUNT_MAX
};

/* One worker's state: only that worker writes it; the control thread
 * reads the counters (64-bit aligned loads, no tearing on x86-64). */
struct dp_lcore {
	unsigned lcore_id;            /* ctl: ro */
	unsigned worker;              /* index among workers, RCU thread id */
	struct dp_trace *trace;       /* dp_trace.h: ctl's dry-run ctx only; NULL on workers */
	struct dp_rxq_list *_Atomic rxqs; /* dp: ro, ctl: rw */
	/* dp: rw */
	uint16_t n_dirty;             /* ports with frames waiting in tx[] */
	uint16_t dirty[DP_MAX_PORTS];
	struct dp_txbuf tx[DP_MAX_PORTS];
	uint64_t idle_since;          /* TSC of the first empty iteration; 0 while busy */
	unsigned sleep_us;
	uint16_t burst_arp;           /* ARP frames dp_vm_parse passed in the current burst */
	/* frames waiting for a decision (policy.miss_hold_ms), in arrival order */
	uint16_t n_held;
	uint64_t held_gen;            /* pol_cache.gen when they were last retried */
	struct rte_mbuf *held[DP_HOLD_MAX];
	/* misses already reported: hash slot -> (key hash, TSC when reported) */
	struct { uint32_t sig; uint64_t tsc; } miss_filter[DP_MISS_FILTER];
	uint64_t events_lost;         /* dp.events full */
	/* counters: dp: rw, ctl: ro */
	uint64_t packets;             /* frames received */
	uint64_t busy_cycles;         /* TSC cycles of iterations that had work */
	uint64_t idle_sleeps;
	uint64_t punted;              /* frames handed to the control thread */
	uint64_t icmp_frag_needed;    /* ICMP fragmentation-needed answers sent (dp_icmp.c) */
	uint64_t icmp_limited;        /* ... and those not sent: over the rate */
	uint64_t icmp_tsc;            /* dp_icmp.c rate limiter */
	uint64_t drops[DP_DROP_MAX];
	struct dp_port_counters port[DP_MAX_PORTS];
	uint64_t svc[SVC_MAX_PROFILES][DP_SVC_COUNT_MAX]; /* frames matched, by profile slot */
	/* built-in load balancer (dp_lb.c): frames sent to each backend, by
	 * LB profile slot and position in its backend list */
	uint64_t lb[SVC_MAX_PROFILES][SVC_LB_MAX_BACKENDS];
	uint64_t hops[SVC_MAX_CHAINS][SVC_MAX_HOPS][DP_HOP_COUNT_MAX]; /* by chain slot, hop: enum dp_hop_count */
	/* last: large, and only this worker touches it */
	struct dp_emc emc;
} __rte_cache_aligned;

/* Global datapath state; set up by the control thread before workers start. */
struct dp_state {
	unsigned n_workers;
	struct dp_lcore *lcores;              /* n_workers entries */
	struct dp_port *_Atomic ports[DP_MAX_PORTS]; /* dp: ro, ctl: rw */
	struct rte_mempool *pool;
	struct rte_ring *punt;                /* workers -> control: underlay ARP, notifications */
	struct rte_ring *events;              /* workers -> control: struct dp_event */
	uint16_t notify_port;                 /* network order; UDP port of notifications */
	_Atomic uint16_t policy_tag;          /* our policy revision tag; 0 = do not check */
	uint64_t miss_hold_tsc;               /* how long a frame waits for its decision */
	uint64_t miss_repeat_tsc;             /* a worker reports one miss at most this often */
	struct rte_ether_addr gateway_mac;    /* distributed gateway (D10) */
	uint16_t vxlan_port;                  /* network order */
	bool vxlan_any_source;                /* accept VXLAN from unknown TEPs */
	unsigned idle_sleep_max_us;
	uint64_t idle_spin_tsc;               /* how long a worker polls an empty queue before a nap */
	uint64_t poll_gap_tsc;                /* pause after a poll that found little */
	_Atomic bool quit;
};

extern struct dp_state dp;

static inline struct dp_port *
dp_port_get(uint16_t idx)
{
	return atomic_load_explicit(&dp.ports[idx], memory_order_acquire);
}

/* Trace mode (dp_trace.h), control thread only: record a decision, a drop. */
void dp_trace_add(struct dp_trace *t, const char *stage, const char *fmt, ...)
	__rte_format_printf(3, 4);
void dp_trace_drop(struct dp_trace *t, enum dp_drop why);
/* Record a decision of @stage when @c traces; one not-taken branch on workers. */
#define DP_TRACE(c, stage, ...) do {						\
		if (unlikely((c)->trace != NULL))				\
			dp_trace_add((c)->trace, (stage), __VA_ARGS__);		\
	} while (0)

/* Count and free one frame. */
static inline void
dp_drop(struct dp_lcore *c, struct rte_mbuf *m, enum dp_drop why)
{
	if (unlikely(c->trace != NULL))
		dp_trace_drop(c->trace, why);
	c->drops[why]++;
	c->port[dp_meta(m)->in_port].drops++;
	rte_pktmbuf_free(m);
}

/* --- tx (dp_tx.c) --- */
/* dp_tx_enqueue() when tracing (record, never send) or when the buffer is full. */
void dp_tx_enqueue_slow(struct dp_lcore *c, uint16_t port, struct rte_mbuf *m);

/* Queue @m for @port; sent by dp_tx_flush() (or here when the buffer fills). */
static inline void
dp_tx_enqueue(struct dp_lcore *c, uint16_t port, struct rte_mbuf *m)
{
	struct dp_txbuf *b = &c->tx[port];

	if (unlikely(c->trace != NULL || b->n >= DP_TXBUF - 1)) {
		dp_tx_enqueue_slow(c, port, m);
		return;
	}
	if (!b->listed) {
		b->listed = true;
		c->dirty[c->n_dirty++] = port;
	}
	b->pkts[b->n++] = m;
}
void dp_tx_flush(struct dp_lcore *c);
/* Send frames on a port's tx queue for this worker; frees what cannot go. */
void dp_tx_burst_now(struct dp_lcore *c, struct dp_port *p, struct rte_mbuf **pkts, uint16_t n);

/* --- stages of the VM input path --- */
/* Parse and port security in one pass over a burst from VM port @port;
 * sets each frame's in_port and counts its bytes. */
uint16_t dp_vm_parse(struct dp_lcore *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n);
/* Complete the TCP/UDP checksum of @m (EtherType @et) that its guest
 * left to the device (RTE_MBUF_F_TX_{TCP,UDP}_CKSUM); clears the flags. */
void dp_l4_cksum_finish(struct rte_mbuf *m, uint16_t et);
/* The express path (vm_express.c): encapsulate and queue the longest
 * prefix of a burst from VM port @port whose every frame is ordinary
 * (see there); returns its length.  The rest goes through the stages. */
uint16_t dp_vm_express(struct dp_lcore *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n);
/* Port security for @m (parsed) from the VM bound as @ep (NULL: none):
 * true when it passes; false when it was dropped. */
bool dp_port_security_check(struct dp_lcore *c, const struct pol_endpoint *ep,
			    struct rte_mbuf *m);

/* dp_port_security_check() with the common case inline: an IPv4 frame
 * from the VM's own MAC and address, outside a trace. */
static __rte_always_inline bool
dp_port_security_frame(struct dp_lcore *c, const struct pol_endpoint *ep, struct rte_mbuf *m,
		       const struct rte_ether_hdr *eh, uint16_t et)
{
	if (likely(c->trace == NULL && ep != NULL && et == RTE_ETHER_TYPE_IPV4 &&
		   rte_is_same_ether_addr(&eh->src_addr, &ep->mac) &&
		   pol_ep_has_ip4(ep, ((const struct rte_ipv4_hdr *)(eh + 1))->src_addr)))
		return true;
	return dp_port_security_check(c, ep, m);
}
uint16_t dp_svc_egress(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);
uint16_t dp_arp_proxy(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);
uint16_t dp_policy_forward(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);
uint16_t dp_vxlan_encap(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);

/* --- stages of the network input path --- */
uint16_t dp_underlay_input(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);
uint16_t dp_vxlan_decap(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);
uint16_t dp_net_deliver(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);

/* Frames held for a decision (dp_policy.c), once per loop iteration while
 * c->n_held > 0: after an install (pol_cache.gen moved) run them again
 * through the policy stage and encapsulation; drop those whose time is up
 * (policy_miss).  Returns how many left the hold queue. */
unsigned dp_policy_held(struct dp_lcore *c);
/* Drop (policy_miss) every held frame: the worker is stopping. */
void dp_policy_held_free(struct dp_lcore *c);
/* Tell the control thread @ev on dp.events unless this worker did so for
 * @sig within dp.miss_repeat_tsc; nothing in a trace.  True when queued. */
bool dp_event_report(struct dp_lcore *c, const struct dp_event *ev, uint32_t sig);

/* Encapsulate one frame toward @tunnel and queue it; counts and frees on failure. */
void dp_vxlan_encap_one(struct dp_lcore *c, struct rte_mbuf *m, uint16_t tunnel);
/* Replicate a broadcast/unknown frame to the members of its network. */
void dp_flood(struct dp_lcore *c, struct rte_mbuf *m, const struct pol_vnet *v, bool to_tunnels);

struct rte_arp_hdr;
/* Ethernet/IPv4 ARP with a request or reply opcode. */
bool dp_arp_valid(const struct rte_arp_hdr *a);

/* --- service rules on delivery to a local VM (dp_services.c) --- */

bool dp_svc_ingress_check(struct dp_lcore *c, const struct svc_acl *a, struct rte_mbuf *m,
			  uint16_t port);
void dp_svc_trace_none(struct dp_lcore *c, struct rte_mbuf *m, int port);

/* Apply the ingress rules of local port @port to @m before it is queued
 * there (@port < 0: leaving by a tunnel, only traced).  True: deliver it;
 * false: it was dropped (service_drop).  A mirror copy is queued here.
 * Without rules on the port: one atomic load. */
static inline bool
dp_svc_ingress(struct dp_lcore *c, struct rte_mbuf *m, int port)
{
	const struct svc_acl *a = port >= 0 ? svc_acl_port_get(port) : NULL;

	if (likely(a == NULL)) {
		if (unlikely(c->trace != NULL))
			dp_svc_trace_none(c, m, port);
		return true;
	}
	return dp_svc_ingress_check(c, a, m, port);
}

/* Frames rules of profile slot @profile allowed, dropped and mirrored,
 * summed over the workers (control thread). */
void dp_svc_counters(uint16_t profile, uint64_t out[DP_SVC_COUNT_MAX]);

/* What went through hop @hop of the chain with counter slot @chain
 * (svc_chain.slot), summed over the workers (control thread). */
void dp_chain_counters(unsigned chain, unsigned hop, uint64_t out[DP_HOP_COUNT_MAX]);

/* --- built-in load balancer (dp_lb.c), VM input after dp_svc_egress --- */
uint16_t dp_lb(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);
/* Frames sent to backend position @pos of the LB profile with counter slot
 * @profile, summed over the workers (control thread). */
uint64_t dp_lb_counter(uint16_t profile, unsigned pos);

/* Run both input paths on one burst received on @port (also used by tests). */
void dp_input(struct dp_lcore *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n);

/* Worker main loop, launched with rte_eal_remote_launch(). */
int dp_worker_main(void *arg);

#endif
