/* The control thread's side of the decision cache: it answers the misses
 * workers report (policy selection + physical path translation, D2/D3),
 * keeps cached decisions true when the model changes, and turns what
 * workers saw on the network input path into notifications (D5, D8). */
#ifndef CTL_RESOLVE_H
#define CTL_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "ctl_config.h"
#include "pol_cache.h"

/* Set up from the running configuration (rate limits); installs the
 * trace hook.  Returns 0 or a negative errno. */
int ctl_resolve_init(const struct ctl_config *cfg);
void ctl_resolve_fini(void);

/* The model changed (after every apply): take @cfg as the model and
 * recompute every cached decision, replacing those that changed and
 * removing those whose source is gone. */
void ctl_resolve_model_changed(const struct ctl_config *cfg);

/* Recompute every cached decision (after the services catalog changed). */
void ctl_resolve_refresh(void);

/* The decision for @k under the current model, not installed.  Returns 0,
 * or -ENOENT when the source endpoint is unknown. */
int ctl_resolve_decide(const struct pol_flow_key *k, struct pol_decision *d);

/* Serve what workers reported (dp.events). */
void ctl_resolve_poll(void);

/* The policy revision tag workers write into VXLAN and compare on
 * receipt (0 = none: YAML backend), and the full revision behind it. */
void ctl_resolve_set_policy_revision(uint64_t revision, bool tagged);
uint64_t ctl_resolve_policy_revision(void);

/* Called when the answer for a destination that was unknown may have
 * changed (on-demand fetch): a hook for the policy service. */
typedef void (*ctl_resolve_unknown_fn)(uint32_t vni, const uint8_t mac[6]);
void ctl_resolve_on_unknown(ctl_resolve_unknown_fn fn);

/* Counters and cache figures for `policy-service status` / `policy table`. */
json_t *ctl_resolve_json(void);

#endif
