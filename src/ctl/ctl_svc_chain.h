/* Service chains onto the datapath (S7, S8): the hops of a chain as
 * published steering entries (dp_steer.h), one path per (chain,
 * direction, source network).  Control thread only. */
#ifndef CTL_SVC_CHAIN_H
#define CTL_SVC_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svc_catalog.h"

/* The tag of the first hop of chain @chain for traffic from VM @src (in
 * network @src_vni) to VM @dst, in reverse order when @reverse, into
 * *@first.  A path already published is reused while its hops still go
 * to the same places.  Returns 0, or a negative errno with @err: no such
 * chain, a hop not enabled for either VM (S5), a hop with no endpoint
 * usable from this host, no tag left. */
int ctl_chain_steer(const char *chain, bool reverse, const struct svc_vm *src,
		    const struct svc_vm *dst, uint32_t src_vni, uint16_t *first, char *err,
		    size_t errlen);

/* Around a recomputation of every cached decision: paths no decision
 * asked for between the two calls are unpublished. */
void ctl_chain_sweep_begin(void);
void ctl_chain_sweep_end(void);

/* Mark the local ports named by network services' endpoints as appliance
 * ports (their frames are only ever answers of hops). */
void ctl_chain_ports_update(void);

/* Unpublish everything (at stop). */
void ctl_chain_fini(void);

#endif
