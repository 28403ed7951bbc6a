/* Packet trace: a dry run of the datapath for the `trace` command.
 *
 * The control thread pushes one frame through dp_input() -- the real
 * stages of the port's input path -- on a private struct dp_lcore whose
 * trace is set.  Each stage records its decisions with DP_TRACE() (dp.h);
 * dp_drop() records the drop; dp_tx_enqueue() records the output and the
 * underlay punt is recorded, and those frames are freed, never sent.
 * The context has its own counters and tx buffers, so no worker state
 * moves; every mbuf the run allocates is freed before it returns.
 * Everything here is for the control thread only.
 */
#ifndef DP_TRACE_H
#define DP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "pol_tables.h"

#define DP_TRACE_TEXT_MAX 256         /* one decision, one packet summary */
#define DP_TRACE_SCRATCH 16           /* formatted values alive at once in one step */

struct dp_trace_step {
	const char *stage;              /* static string given to DP_TRACE() */
	char decision[DP_TRACE_TEXT_MAX];
};

/* One dry run.  Only the control thread touches it. */
struct dp_trace {
	struct dp_lcore *c;             /* private context, c->trace == this; worker index 0 */
	uint16_t in_port;
	bool ran;                       /* dp_trace_run() done: a trace runs once */
	char packet[DP_TRACE_TEXT_MAX]; /* what was injected, one line */
	const char *stage;              /* of the latest step: a drop is recorded under it */
	struct dp_trace_step *steps;    /* n_steps recorded, in pipeline order */
	unsigned n_steps, cap;
	bool truncated;                 /* steps lost for want of memory */
	/* outcome */
	unsigned n_out;                 /* frames that would have been sent */
	uint16_t out_port;              /* where the first one would have gone */
	unsigned n_drops;
	enum dp_drop drop;              /* first drop */
	bool punted, flooded, answered;
	unsigned scratch_next;
	char scratch[DP_TRACE_SCRATCH][DP_TRACE_TEXT_MAX];
};

/* A new trace with its private context (rte_zmalloc, cache aligned), or
 * NULL with errno set (ENOMEM). */
struct dp_trace *dp_trace_new(void);
/* Free @t and its context; NULL-safe. */
void dp_trace_free(struct dp_trace *t);

/* Run @m (owned by the call, always consumed) as if it had arrived on
 * port @in_port, recording every decision.  Nothing is sent.
 * Returns 0, -ENODEV (no port at @in_port) or -EALREADY (@t has run). */
int dp_trace_run(struct dp_trace *t, uint16_t in_port, struct rte_mbuf *m);

/* The outcome in one line, e.g. "output port vhost2 (not sent)", in @buf. */
const char *dp_trace_result(const struct dp_trace *t, char *buf, size_t len);

/* {"packet": "...", "steps": [{"stage": "...", "decision": "..."}...],
 *  "result": "..."}, or NULL (out of memory). */
json_t *dp_trace_json(const struct dp_trace *t);

/* --- hooks called by the stages in trace mode (c->trace != NULL) --- */

/* Set by the control plane: decide @k (from port @in_port) into @out as a
 * miss would be resolved, without installing it.  Returns 0 or a negative
 * errno.  A traced frame with no cached decision is never held: it goes
 * on with this decision, or is dropped (policy_miss) when the hook is
 * NULL or fails. */
extern int (*dp_trace_decide)(const struct pol_flow_key *k, uint16_t in_port,
			      struct pol_decision *out);

/* Record that @m would have been sent on @port, then free it. */
void dp_trace_output(struct dp_trace *t, uint16_t port, struct rte_mbuf *m);
/* Record that @m would have been handed to the control thread, then free it. */
void dp_trace_punt(struct dp_trace *t, struct rte_mbuf *m);

/* Values formatted for a step, valid until DP_TRACE_SCRATCH more are made. */
const char *dp_trace_mac(struct dp_trace *t, const struct rte_ether_addr *a);
const char *dp_trace_ip4(struct dp_trace *t, uint32_t ip);        /* network order */
const char *dp_trace_port(struct dp_trace *t, uint16_t port);     /* its name */
const char *dp_trace_vnet(struct dp_trace *t, uint32_t vni);      /* "blue (VNI 100)" */
const char *dp_trace_ethertype(struct dp_trace *t, uint16_t et);  /* host order: "IPv4 (0x0800)" */
/* "rem 02:00:00:00:0b:01, remote behind TEP 192.0.2.2" or "vm2 ..., local on port vhost2". */
const char *dp_trace_ep(struct dp_trace *t, const struct pol_endpoint *ep);
/* What dp_underlay_input() checked on the outer headers of @m from @p,
 * given its verdict @why (DP_DROP_MAX when they passed). */
const char *dp_trace_outer(struct dp_trace *t, const struct dp_port *p,
			   const struct rte_mbuf *m, enum dp_drop why);
/* How many of @ports[0..n) are not @except. */
unsigned dp_trace_count_except(const uint16_t *ports, uint16_t n, uint16_t except);

/* --- a packet described in words (the `trace` command's arguments) --- */

enum dp_trace_proto {
	DP_TRACE_ICMP,                  /* echo request */
	DP_TRACE_TCP,                   /* SYN */
	DP_TRACE_UDP,
	DP_TRACE_ARP,
};

/* Keys of a description, as bits of dp_trace_desc.given. */
enum dp_trace_key {
	DP_TRACE_K_IN_PORT, DP_TRACE_K_SRC_MAC, DP_TRACE_K_DST_MAC, DP_TRACE_K_SRC_IP,
	DP_TRACE_K_DST_IP, DP_TRACE_K_PROTO, DP_TRACE_K_SPORT, DP_TRACE_K_DPORT,
	DP_TRACE_K_ARP_OP, DP_TRACE_K_LEN, DP_TRACE_K_VNI, DP_TRACE_K_OUTER_SRC,
	DP_TRACE_K_MAX
};

struct dp_trace_desc {
	uint32_t given;                 /* 1 << enum dp_trace_key for each key given */
	uint16_t in_port;               /* datapath port index */
	struct rte_ether_addr src_mac, dst_mac;
	uint32_t src_ip, dst_ip;        /* network order */
	enum dp_trace_proto proto;
	uint16_t sport, dport;          /* host order */
	uint16_t arp_op;                /* RTE_ARP_OP_REQUEST or RTE_ARP_OP_REPLY */
	uint16_t len;                   /* frame length, 0 = the shortest */
	uint32_t vni;                   /* physical in_port: VXLAN network of the frame */
	uint32_t outer_src;             /* physical in_port: sending TEP, network order */
};

/* Fill @d from @n words "key=value" (keys: see dp_trace_desc).  Port
 * names are resolved by @port_find (name -> index or a negative errno).
 * Returns 0, or -EINVAL with @err naming the key at fault. */
int dp_trace_desc_parse(struct dp_trace_desc *d, const char *const *kv, unsigned n,
			int (*port_find)(const char *name), char *err, size_t errlen);

/* The frame @d describes, defaults filled from the port and the endpoint
 * bound to it; wrapped in VXLAN toward the port when it is physical.
 * Returns an mbuf of dp.pool, or NULL with @err (naming the key at fault)
 * and errno set (EINVAL, ENODEV, ENOBUFS). */
struct rte_mbuf *dp_trace_desc_build(const struct dp_trace_desc *d, char *err, size_t errlen);

/* Build, run and render the trace of @d (what the command does).
 * Returns the JSON of dp_trace_json(), or NULL with @err and errno set. */
json_t *dp_trace_desc_run(const struct dp_trace_desc *d, char *err, size_t errlen);

#endif
