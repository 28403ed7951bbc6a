/* In-switch service rules (insertion point 1, S6) compiled with rte_acl.
 *
 * The control thread compiles the rules of the profiles enabled on one
 * VM port into a struct svc_acl (two rte_acl contexts: ingress, egress)
 * and attaches it to the port.  Workers classify bursts against it
 * without locks or allocation.  A built svc_acl is immutable; replacing
 * or removing a port's one frees the old after an RCU grace period
 * (pol_defer_free), like every other table workers read.
 */
#ifndef SVC_ACL_H
#define SVC_ACL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "pol_tables.h"
#include "svc_rule.h"

#define SVC_ACL_MAX_RULES 1024     /* rules on one port, all profiles together */

/* One rule as the switch applies it. */
struct svc_acl_rule {
	struct svc_rule r;
	uint16_t profile;          /* counter slot, < SVC_MAX_PROFILES */
	uint16_t target_port;      /* mirror: datapath port index of the copy */
};

struct rte_acl_ctx;

/* Compiled rules of one port.  Immutable once built; dp: ro, ctl: rw. */
struct svc_acl {
	struct rte_acl_ctx *ctx[2];    /* [0] ingress, [1] egress; NULL: no rule that way */
	unsigned n_rules;
	struct svc_acl_rule rules[];   /* as given; classify returns indexes into it */
};

/* Compile @n rules (@rules[0] has the highest priority: first match wins)
 * into *@out.  Fields: proto (0 = any protocol), source and destination
 * IPv4 prefixes (length 0 = any), source and destination port ranges
 * (TCP and UDP rules only; other rules must leave them 0-65535).  A rule
 * of SVC_DIR_BOTH is in both directions.  @name (a port name) only names
 * the rte_acl contexts.  Returns 0, or -EINVAL (a bad rule: @err says
 * which and why), -E2BIG (more than SVC_ACL_MAX_RULES), -ENOMEM; *@out
 * is untouched on error. */
int svc_acl_build(const struct svc_acl_rule *rules, unsigned n, const char *name,
		  struct svc_acl **out, char *err, size_t errlen);
/* Free @a now (no reader may hold it); NULL-safe. */
void svc_acl_free(struct svc_acl *a);

/* Classify @n frames (any number) for direction @dir (INGRESS or EGRESS):
 * @rule_idx[i] = index of the first rule matching @pkts[i] into a->rules,
 * or -1 (no match: allow).  Reads the IPv4 header at dp_meta(m)->l3_off;
 * frames that are not IPv4 never match.  Workers: no lock, no allocation. */
void svc_acl_classify(const struct svc_acl *a, enum svc_dir dir, struct rte_mbuf **pkts,
		      uint16_t n, int32_t *rule_idx);

/* --- attachment to ports --- */

extern struct svc_acl *_Atomic svc_acl_ports[POL_MAX_PORTS]; /* dp: ro, ctl: rw */

/* The rules of port @port, or NULL (readers: any thread, never block). */
static inline const struct svc_acl *
svc_acl_port_get(uint16_t port)
{
	return atomic_load_explicit(&svc_acl_ports[port], memory_order_acquire);
}

/* Control thread: attach @a (owned by the port from now on) to @port,
 * NULL to clear.  The one it replaces is freed after a grace period. */
void svc_acl_port_set(uint16_t port, struct svc_acl *a);
/* Control thread: clear every port (shutdown, tests). */
void svc_acl_ports_clear(void);

#endif
