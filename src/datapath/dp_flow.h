/* rte_flow rules on physical ports (C7), control thread only.
 *
 * When a physical port starts, and whenever the set of virtual networks
 * changes, the control thread tries to put the port's classification into
 * the device: VXLAN to our tunnel endpoint spread (RSS) over the workers'
 * rx queues, control traffic (ARP for our underlay address, notifications
 * to policy.notify_port) marked and sent to queue 0, and VXLAN marked with
 * its VNI.  Each rule is probed by creating it, not only validating it
 * (net_tap validates rules it cannot create when the kernel lacks TC
 * flower).  A rule the device refuses is left to the software
 * classification of underlay_input.c, which runs on every frame anyway:
 * the fast path never depends on a rule being in the device, it neither
 * reads marks nor assumes a queue's contents.  Refusals are logged once
 * per port and rule kind and counted.
 *
 * Workers never touch any of this; the bookkeeping is per port index.
 */
#ifndef DP_FLOW_H
#define DP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

struct dp_port;
struct rte_flow;

enum dp_flow_kind {
	DP_FLOW_VXLAN,                /* VXLAN to our TEP -> RSS over the rx queues */
	DP_FLOW_ARP,                  /* ARP for our underlay IP -> mark, queue 0 */
	DP_FLOW_NOTIFY,               /* UDP to policy.notify_port -> mark, queue 0 */
	DP_FLOW_VNI,                  /* VXLAN of one VNI -> mark VNI, RSS */
	DP_FLOW_KIND_MAX
};

/* Marks of control traffic: above any 24-bit VNI, which marks itself. */
#define DP_FLOW_MARK_ARP (1u << 24)
#define DP_FLOW_MARK_NOTIFY ((1u << 24) + 1)

/* One rule as tried on a port. */
struct dp_flow_rule {
	enum dp_flow_kind kind;
	uint32_t vni;                 /* DP_FLOW_VNI only */
	struct rte_flow *flow;        /* in the device; NULL: software classifies */
	bool validated;               /* rte_flow_validate() accepted it */
	int error;                    /* rte_flow_create()'s negative errno, flow == NULL */
	char pattern[96];             /* human summary of the match */
	char action[64];              /* ... and of the actions */
	char message[128];            /* the device's reason for refusing it */
};

/* What happened to a port's rules of one kind since the port started. */
struct dp_flow_counters {
	uint64_t hardware;            /* rules created in the device */
	uint64_t fallback;            /* rules refused: left to software classification */
};

/* Name of @k ("vxlan", "arp", "notify", "vni"). */
const char *dp_flow_kind_name(enum dp_flow_kind k);

/* Before the port is configured: ask the device to deliver MARK values
 * to mbufs (rte_eth_rx_metadata_negotiate); a refusal is only noted. */
void dp_flow_port_prepare(struct dp_port *p);

/* The port has started: try every rule on it (the networks are read from
 * pol_tables).  Returns how many rules are in the device. */
unsigned dp_flow_port_start(struct dp_port *p);

/* Destroy the port's rules and forget them, before it stops.  A port
 * that never started rules (vhost-user) is fine. */
void dp_flow_port_stop(struct dp_port *p);

/* The tables changed: on every port with rules, destroy the VNI rules of
 * networks that are gone and try one for each new network (the other
 * rules do not depend on the tables and stay). */
void dp_flow_tables_changed(void);

/* The rules tried on port @idx (index of struct dp_port), *@rules valid
 * until the next start, stop or change; 0 when it has none. */
unsigned dp_flow_rules(uint16_t idx, const struct dp_flow_rule **rules);

/* Whether port @idx has rule bookkeeping (a started physical port), and
 * its counters of kind @k. */
bool dp_flow_port_active(uint16_t idx);
void dp_flow_counters(uint16_t idx, enum dp_flow_kind k, struct dp_flow_counters *out);
/* Whether the device agreed to deliver MARK values to mbufs: "negotiated",
 * "refused", "not negotiable" (the PMD has no negotiation; marks, if it
 * supports them, arrive as it does them). */
const char *dp_flow_marks(uint16_t idx);

#endif
