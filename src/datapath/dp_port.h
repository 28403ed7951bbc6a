/* Creating and removing ports (control thread). */
#ifndef DP_PORT_H
#define DP_PORT_H

#include "dp.h"

/* Probe the device of a physical / vhost-user port; start it with
 * p->ops->start().  Return NULL with errno set on failure. */
struct dp_port *dp_port_create_phys(const struct ctl_phys_port *cfg, uint16_t index);
struct dp_port *dp_port_create_vhost(const struct ctl_vhost_port *cfg, uint16_t index);
/* Close and remove the device; NULL is fine.  Unpublish it first. */
void dp_port_destroy(struct dp_port *p);
/* Follow a vhost port's guest enabling/disabling its queues. */
/* Act on the guest's queue changes.  True when the guest started or
 * stopped running on @p (its first queue enabled, its last disabled). */
bool dp_vhost_poll_events(struct dp_port *p, unsigned n_workers);

/* A guest runs on vhost port @p: its driver has queues enabled. */
static inline bool
dp_vhost_active(const struct dp_port *p)
{
	return p->kind == DP_PORT_VHOST && p->active;
}

#endif
