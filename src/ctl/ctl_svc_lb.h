/* The built-in load balancer on the running switch: LB profiles' effective
 * parameters, backends resolved from the model, tables compiled onto the
 * local VM ports (svc_lb.h), and per-backend counters for `lb show`. */
#ifndef CTL_SVC_LB_H
#define CTL_SVC_LB_H

#include <stddef.h>
#include <stdint.h>

#include "svc_catalog.h"
#include "svc_lb.h"

struct ctl_lb_backend {
	char name[CTL_NAME_MAX];        /* VM name as configured */
	uint32_t ip;                    /* its first IPv4, network order; 0 = no such VM */
};

/* An LB profile's effective configuration (profile > configured > level >
 * definition parameters). */
struct ctl_lb_conf {
	uint32_t vip;                   /* network order */
	uint16_t port;                  /* host order */
	uint16_t backend_port;          /* host order */
	uint8_t proto;                  /* IPPROTO_TCP or IPPROTO_UDP */
	unsigned n_backends;            /* as listed, unknown VMs included */
	struct ctl_lb_backend backends[SVC_LB_MAX_BACKENDS];
};

/* The configuration of profile number @i of @cat.  Returns 0, -ENOTSUP
 * (not a load balancer's profile) or -EINVAL with @err (a bad parameter). */
int ctl_svc_lb_conf(const struct svc_catalog *cat, unsigned i, struct ctl_lb_conf *out,
		    char *err, size_t errlen);

/* Frames sent to backend @pos of LB profile @p since that backend took
 * that position in its list (or the profile was created). */
uint64_t ctl_svc_lb_packets(const struct svc_profile *p, unsigned pos);

/* Compile and publish the LB tables of every local VM port (after every
 * catalog and model change). */
void ctl_svc_lb_apply_all(void);

#endif
