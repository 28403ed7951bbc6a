/* Applying a new configuration to the running switch: only the
 * differences, in an order that never leaves a reader with a dangling
 * reference (ports before what binds to them, endpoints before the
 * networks and ports they leave). */
#ifndef CTL_APPLY_H
#define CTL_APPLY_H

#include <stddef.h>
#include <jansson.h>

#include "ctl_config.h"

struct ctl_diff {
	unsigned ports_added, ports_removed;
	unsigned vnets_added, vnets_changed, vnets_removed;
	unsigned eps_added, eps_changed, eps_removed;
};

/* What turning @from into @to would change. */
void ctl_diff(const struct ctl_config *from, const struct ctl_config *to, struct ctl_diff *d);
json_t *ctl_diff_json(const struct ctl_diff *d);

/* Turn the running @from into @to, which must be valid (ctl_config_validate)
 * and need no restart.  Ports are created before anything changes; if one
 * cannot be, nothing changes.  Returns 0 or a negative errno with @err. */
int ctl_apply(const struct ctl_config *from, const struct ctl_config *to,
	      char *err, size_t errlen);

#endif
