/* The running switch as the control thread builds and drives it. */
#ifndef CTL_SWITCH_H
#define CTL_SWITCH_H

#include <stddef.h>

#include "ctl_config.h"

/* Build the EAL argument vector for @cfg into @argv (at most @max entries,
 * NULL-terminated; strings point into @cfg and static storage, so call it
 * once).  Returns argc, or -E2BIG. */
int ctl_switch_eal_args(const struct ctl_config *cfg, const char *prog,
			char **argv, int max);

/* After rte_eal_init(): create pool, tables and ports from @cfg, load its
 * networks and endpoints, and launch the workers.  On failure @err says
 * why and everything created is undone.  Returns 0 or a negative errno. */
int ctl_switch_start(const struct ctl_config *cfg, char *err, size_t errlen);

/* One round of the control thread's periodic duties. */
void ctl_switch_poll(void);

/* Stop workers and free everything ctl_switch_start() made. */
void ctl_switch_stop(void);

/* The configuration the switch runs (control thread only). */
const struct ctl_config *ctl_switch_config(void);

#endif
