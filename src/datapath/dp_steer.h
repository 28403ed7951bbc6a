/* Service chain steering (insertion points 2 and 3, S7, S8).
 *
 * A chained frame is sent to each hop of its chain in turn with an
 * 802.1Q tag whose VLAN ID names the hop: which chain, which hop, which
 * direction, the source's virtual network, where the frame goes in and
 * where it must come back.  An appliance VM (a vhost-user port, used both
 * ways or as an in/out pair) or an external service (a VXLAN tunnel with a
 * service VNI) returns the frame with its tag; the switch checks that it
 * came back from where that hop was sent, then sends it to the next hop,
 * or, after the last one, puts back the source's and destination's MACs
 * (looked up by IPv4 address in the source's network: the service may
 * have rewritten them) and forwards it along its decision, marked so the
 * chain is not entered again.  A frame can only move forward along one
 * chain: no loops, each hop visited once per direction.
 *
 * The control thread owns the table: entries are immutable once published
 * and freed after an RCU grace period (pol_defer_free).
 */
#ifndef DP_STEER_H
#define DP_STEER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#define DP_STEER_IDS 4095         /* VLAN IDs 1..4094 name hops; 0 = none */

enum dp_steer_kind {
	DP_STEER_PORT = 1,        /* an appliance VM on a local vhost-user port */
	DP_STEER_TUNNEL,          /* an external service behind a VXLAN tunnel */
};

struct dp_steer {
	uint8_t kind;             /* enum dp_steer_kind */
	bool reverse;             /* the answers' direction: hops in reverse order */
	uint8_t hop;              /* index of the hop in chain order (counters) */
	uint8_t chain;            /* the chain's counter slot */
	uint16_t next;            /* VLAN ID of the next hop; 0 = this is the last */
	uint16_t to_port;         /* PORT: datapath port the frame goes in by */
	uint16_t from_port;       /* PORT: datapath port it must come back on */
	uint16_t tunnel;          /* TUNNEL: tunnel toward the service endpoint */
	uint32_t tep;             /* TUNNEL: the endpoint's IPv4 (network order) */
	uint32_t svc_vni;         /* TUNNEL: the service VNI, both ways */
	uint32_t src_vni;         /* the virtual network the frames come from */
};

struct dp_lcore;

/* dp: ro, ctl: rw.  Indexed by VLAN ID. */
extern struct dp_steer *_Atomic dp_steer_tab[DP_STEER_IDS];
/* dp: ro, ctl: rw.  Ports of appliance VMs: their frames only come back
 * from hops, they never enter the VM input path. */
extern _Atomic bool dp_steer_port[];

static inline const struct dp_steer *
dp_steer_get(uint16_t id)
{
	return id < DP_STEER_IDS ? atomic_load_explicit(&dp_steer_tab[id], memory_order_acquire)
				 : NULL;
}

static inline bool
dp_steer_is_port(uint16_t port)
{
	return atomic_load_explicit(&dp_steer_port[port], memory_order_relaxed);
}

/* Send @m to hop @id (tag pushed).  Consumes @m (dropped and counted on
 * failure). */
void dp_steer_send(struct dp_lcore *c, struct rte_mbuf *m, uint16_t id);

/* Frames received on appliance port @port (its dp_steer_is_port()):
 * each goes to its next hop or, after the last, stays in @pkts ready for
 * dp_policy_forward.  Returns how many stay. */
uint16_t dp_steer_port_input(struct dp_lcore *c, struct rte_mbuf **pkts, uint16_t n);

/* A decapsulated frame of a VNI that is no virtual network: when it is a
 * service's answer (a tagged frame from that hop's endpoint and service
 * VNI) it goes on along its chain and true is returned; false leaves @m
 * untouched for the caller to drop. */
bool dp_steer_tunnel_input(struct dp_lcore *c, struct rte_mbuf *m, uint32_t vni);

/* Control thread: publish a copy of @e at @id (NULL clears; the old entry
 * is freed after a grace period); 0, -EINVAL or -ENOMEM.  Mark or unmark
 * a port as an appliance's. */
int dp_steer_publish(uint16_t id, const struct dp_steer *e);
void dp_steer_set_port(uint16_t port, bool appliance);

#endif
