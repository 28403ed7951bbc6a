/* The switch's catalog of network services (src/services/svc_catalog.h)
 * as the control thread holds it; changed by the service, profile, pool
 * and catalog commands (ctl_cmds_services.c). */
#ifndef CTL_SERVICES_H
#define CTL_SERVICES_H

#include <stddef.h>

#include "svc_catalog.h"

/* The catalog; created on first use.  Control thread only. */
struct svc_catalog *ctl_services_catalog(void);

/* Called after every successful change (e.g. to recompile the rules of
 * the VM ports); NULL = nothing. */
extern void (*ctl_services_changed)(void);

/* At start: the catalog from STATE_DIR/catalog.yaml (if any), then every
 * definition of @services_dir ("" or NULL = none) not registered yet.
 * Returns 0 or a negative errno with @err. */
int ctl_services_init(const char *state_dir, const char *services_dir, char *err,
		      size_t errlen);

/* Free the catalog (at exit). */
void ctl_services_fini(void);

#endif
