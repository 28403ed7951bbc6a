/* Network services on the running switch: the catalog loaded at start and
 * the in-switch rules of enabled profiles compiled onto VM ports. */
#ifndef CTL_SVC_APPLY_H
#define CTL_SVC_APPLY_H

#include <stddef.h>

#include "ctl_config.h"

/* Load the catalog (state directory, then services_dir) and apply it.
 * Returns 0 or a negative errno with @err. */
int ctl_svc_start(const struct ctl_config *cfg, char *err, size_t errlen);
/* Recompile the rules of every local VM port (after any change). */
void ctl_svc_apply_all(void);
/* Clear every port's rules and free the catalog. */
void ctl_svc_stop(void);

#endif
