/* A rule of an in-switch service (insertion point 1, S6): an iptables-like
 * 5-tuple match with prefixes and port ranges, a direction, and what to
 * do with a matching packet.  Shared by the definition parser (svc_def.c),
 * the catalog and the rte_acl compiler (svc_acl.c). */
#ifndef SVC_RULE_H
#define SVC_RULE_H

#include <stdint.h>

#include "ctl_config.h"

#define SVC_MAX_RULES 256      /* rules per service definition */
#define SVC_MAX_PROFILES 64    /* profiles, each with a counter slot (svc_profile.slot) */
#define SVC_MAX_HOPS 8         /* hops of a service chain */
#define SVC_MAX_CHAINS 64      /* chains, each with a counter slot (svc_chain.slot) */

enum svc_dir {
	SVC_DIR_INGRESS = 1,       /* traffic delivered to the VM */
	SVC_DIR_EGRESS = 2,        /* traffic the VM sends */
	SVC_DIR_BOTH = 3,
};

enum svc_rule_action {
	SVC_RULE_ALLOW,
	SVC_RULE_DROP,
	SVC_RULE_MIRROR,           /* a copy to port .target, the packet goes on */
	SVC_RULE_REDIRECT,         /* to port .target instead of its destination */
};

struct svc_rule {
	enum svc_dir dir;
	uint8_t proto;             /* IPPROTO_TCP/UDP/ICMP; 0 = any */
	struct ctl_prefix src;     /* IPv4; len 0 = any */
	struct ctl_prefix dst;
	uint16_t sport_lo, sport_hi; /* host order; 0-65535 = any */
	uint16_t dport_lo, dport_hi;
	enum svc_rule_action action;
	char target[CTL_NAME_MAX]; /* mirror, redirect: a port of the switch */
};

#endif
