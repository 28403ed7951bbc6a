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

/* Replace @cfg's live sections (vhost ports, networks, endpoints, tenants,
 * groups, policies) by the state file in its state directory, if any.  Returns 1 when it
 * did, 0 when there was none, or a negative errno when the file was bad
 * (@err says why; it is renamed to state.yaml.rejected, @cfg unchanged). */
int ctl_switch_restore_state(struct ctl_config *cfg, char *err, size_t errlen);

/* After rte_eal_init(): create pool, tables and ports from @cfg, load its
 * networks and endpoints, and launch the workers; the switch owns @cfg from
 * then on.  On failure @err says why, everything created is undone and
 * @cfg is freed.  Returns 0 or a negative errno. */
int ctl_switch_start(struct ctl_config *cfg, char *err, size_t errlen);

/* Make @next the running configuration: checked (no restart needed,
 * cross-checks), only the differences applied, then saved to the state
 * file.  On success the switch owns @next; on failure nothing changed and
 * the caller still owns it.  Returns 0 or a negative errno with @err. */
int ctl_switch_change(struct ctl_config *next, char *err, size_t errlen);

/* The policy service changed: run the configuration merged with it again
 * (not saved: the service keeps its own state).  0 or a negative errno. */
int ctl_switch_service_changed(void);

/* One round of the control thread's periodic duties. */
void ctl_switch_poll(void);

/* Stop workers and free everything ctl_switch_start() made. */
void ctl_switch_stop(void);

/* The configuration the switch runs, merged with the policy service
 * (control thread only). */
const struct ctl_config *ctl_switch_config(void);
/* The configuration as configured (file and CLI changes): what CLI edits
 * start from and what the state file holds. */
const struct ctl_config *ctl_switch_base_config(void);

#endif
