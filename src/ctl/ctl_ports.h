/* Ports as the control thread manages them: created and started before
 * they are published to workers, rx queues handed to workers without ever
 * moving a queue that is already polled, removed only after a grace period. */
#ifndef CTL_PORTS_H
#define CTL_PORTS_H

#include <stddef.h>

#include "ctl_config.h"

struct dp_port;

/* Datapath index of the port called @name, or -ENOENT. */
int ctl_port_find(const char *name);
/* One more than the highest port index in use. */
unsigned ctl_port_slots(void);

/* Create and start a port in a free slot, not yet visible to workers.
 * Returns it, or NULL with @err filled in. */
struct dp_port *ctl_port_prepare_phys(const struct ctl_phys_port *cfg, char *err, size_t errlen);
struct dp_port *ctl_port_prepare_vhost(const struct ctl_vhost_port *cfg, char *err, size_t errlen);
/* Undo a prepare that will not be published. */
void ctl_port_discard(struct dp_port *p);
/* Make a prepared port visible and give its rx queues to the least loaded
 * workers.  Returns 0 or -ENOSPC (a worker's rx queue list is full). */
int ctl_port_publish(struct dp_port *p);
/* Take the port at @idx away from workers, wait until none can still use
 * it, then stop and free it. */
void ctl_port_remove(unsigned idx);

#endif
