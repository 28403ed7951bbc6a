/* The logical model as JSON: the values stored in the distributed policy
 * service (docs/policy.md, "etcd key layout").  Decoding is strict, like
 * the YAML loader: unknown keys, bad names and addresses are errors, and
 * a policy that names a physical thing is refused. */
#ifndef CTL_MODEL_JSON_H
#define CTL_MODEL_JSON_H

#include <stddef.h>
#include <jansson.h>

#include "ctl_config.h"

/* Decode the value of tenants/NAME, vnets/NAME, groups/NAME, policies/NAME.
 * Return 0 or -EINVAL with @err. */
int ctl_json_to_tenant(const char *name, const json_t *j, struct ctl_tenant *t,
		       char *err, size_t errlen);
int ctl_json_to_vnet(const char *name, const json_t *j, struct ctl_vnet *v,
		     char *err, size_t errlen);
int ctl_json_to_group(const char *name, const json_t *j, struct ctl_group *g,
		      char *err, size_t errlen);
int ctl_json_to_policy(const char *name, const json_t *j, struct ctl_policy *p,
		       char *err, size_t errlen);
/* Decode endpoints/VNI/MAC: the key's VNI and MAC must match the value's
 * network's VNI (checked by the caller) and "mac". */
int ctl_json_to_endpoint(const json_t *j, struct ctl_endpoint *e, char *err, size_t errlen);

/* Encode (new references, or NULL on no memory). */
json_t *ctl_vnet_to_json(const struct ctl_vnet *v);
json_t *ctl_group_to_json(const struct ctl_group *g);
json_t *ctl_policy_to_json(const struct ctl_policy *p);
json_t *ctl_selector_to_json(const struct ctl_selector *s);
/* A remote view of a local endpoint: located at @tep (network order). */
json_t *ctl_endpoint_to_json(const struct ctl_endpoint *e, uint32_t tep);

/* Letters, digits, '_', '.', '-'; 1..CTL_NAME_MAX-1 characters. */
bool ctl_name_valid(const char *s);

#endif
