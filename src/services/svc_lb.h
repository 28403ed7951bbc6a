/* The built-in L4 load balancer (builtin: load-balancer, insertion point
 * 2 implemented in the switch), as compiled for the datapath.
 *
 * The control thread (ctl_svc_lb.c) compiles, per local VM port, the VIPs
 * that VM reaches as an enabled client (forward: destination rewritten to
 * a backend chosen by a hash of the 5-tuple) and the VIPs it backs
 * (reverse: source rewritten back to the VIP), into one immutable struct
 * svc_lb published on the port like svc_acl: replaced whole, the old one
 * freed after an RCU grace period.  Workers read it without locks.
 */
#ifndef SVC_LB_H
#define SVC_LB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pol_tables.h"
#include "svc_rule.h"

#define SVC_LB_MAX_VIPS 16          /* VIPs per port, each way */
#define SVC_LB_MAX_BACKENDS 32      /* backends per VIP (per LB profile) */

/* A VIP as a client port sees it. */
struct svc_lb_vip {
	uint32_t vni;                   /* the client's network */
	uint32_t vip;                   /* network order */
	uint16_t port;                  /* VIP port, network order */
	uint16_t backend_port;          /* where backends listen, network order */
	uint8_t proto;                  /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t n_backends;             /* 0: frames to the VIP are dropped (lb_no_backend) */
	uint16_t profile;               /* counter slot of the LB profile */
	uint32_t backend_ip[SVC_LB_MAX_BACKENDS];  /* network order */
	uint8_t backend_pos[SVC_LB_MAX_BACKENDS];  /* position in the profile's backend list */
};

/* A VIP as one of its backends answers for it. */
struct svc_lb_rev {
	uint8_t proto;
	uint16_t backend_port;          /* network order: the source port replies come from */
	uint32_t vip;                   /* network order */
	uint16_t port;                  /* network order */
};

/* Compiled LB state of one port.  Immutable once published; dp: ro, ctl: rw. */
struct svc_lb {
	uint8_t n_vips;
	uint8_t n_rev;
	struct svc_lb_vip vips[SVC_LB_MAX_VIPS];
	struct svc_lb_rev rev[SVC_LB_MAX_VIPS];
};

/* What svc_lb_frame() did. */
enum svc_lb_verdict {
	SVC_LB_PASS,                    /* not LB traffic: untouched */
	SVC_LB_DNAT,                    /* to a VIP: now to backend hit->backend */
	SVC_LB_SNAT,                    /* from a backend's service port: now from the VIP */
	SVC_LB_NO_BACKEND,              /* to a VIP without backends: drop it */
};

struct svc_lb_hit {
	unsigned entry;                 /* index into vips[] (DNAT, NO_BACKEND) or rev[] (SNAT) */
	unsigned backend;               /* DNAT: index into vips[entry].backend_ip */
};

/* The hash of a flow's 5-tuple (addresses and ports in network order): one
 * flow always gives one value, flows spread evenly. */
uint32_t svc_lb_hash(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport);
/* Which of @n (> 0) backends flow hash @h goes to. */
static inline unsigned
svc_lb_pick(uint32_t h, unsigned n)
{
	return (unsigned)(((uint64_t)h * n) >> 32);
}

/* Apply @lb to the IPv4 packet at @ip (@len bytes readable from it) of
 * network @vni: as a client's frame when @to_gateway (sent to the gateway
 * MAC) and it goes to one of lb->vips, as a backend's when its protocol and
 * source port are one of lb->rev.  Addresses, ports, the IPv4 checksum and
 * the TCP/UDP checksum (incrementally; a zero UDP checksum stays zero) are
 * rewritten in place.  Fragments other than a first one pass untouched. */
enum svc_lb_verdict svc_lb_frame(const struct svc_lb *lb, uint32_t vni, bool to_gateway,
				 void *ip, uint32_t len, struct svc_lb_hit *hit);

/* Whether @ip (network order) is a VIP @lb serves to network @vni. */
static inline bool
svc_lb_is_vip(const struct svc_lb *lb, uint32_t vni, uint32_t ip)
{
	for (unsigned i = 0; lb != NULL && i < lb->n_vips; i++)
		if (lb->vips[i].vip == ip && lb->vips[i].vni == vni)
			return true;
	return false;
}

/* --- attachment to ports --- */

extern struct svc_lb *_Atomic svc_lb_ports[POL_MAX_PORTS]; /* dp: ro, ctl: rw */

/* The LB state of port @port, or NULL (readers: any thread, never block). */
static inline const struct svc_lb *
svc_lb_port_get(uint16_t port)
{
	return atomic_load_explicit(&svc_lb_ports[port], memory_order_acquire);
}

/* Control thread: attach @lb (malloc'd, owned by the port from now on) to
 * @port, NULL to clear.  The one it replaces is freed after a grace period. */
void svc_lb_port_set(uint16_t port, struct svc_lb *lb);
/* Control thread: clear every port (shutdown, tests). */
void svc_lb_ports_clear(void);

#endif
