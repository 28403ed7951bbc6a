/* The policy service, level 2 of the hierarchy (D6, D7): the YAML
 * configuration itself, or an etcd cluster (docs/policy.md).
 *
 * With etcd, the switch runs a model merged from two sources: its own
 * configuration (ports, its local endpoints, and whatever the YAML file
 * and CLI define) and the objects read from etcd (tenants, networks,
 * groups, policies, other hosts' endpoints).  Objects of the same name
 * from etcd win; an object from etcd that does not fit (unknown network,
 * clashing VNI, unreachable tunnel endpoint) is left out and counted.
 * Local endpoints are published under this host's lease; the logical
 * objects of the configuration are published only where etcd has none.
 */
#ifndef CTL_PSERVICE_H
#define CTL_PSERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "ctl_config.h"

/* Start the backend of @cfg (etcd: connect, snapshot, watch).  0 or -errno. */
int ctl_pservice_init(const struct ctl_config *cfg);
void ctl_pservice_fini(void);
/* Progress (etcd I/O); applies what changed in etcd to the switch. */
void ctl_pservice_poll(void);
bool ctl_pservice_is_etcd(void);

/* The model to run for configuration @base: @base's own objects plus the
 * service's.  Returns a new configuration or NULL (no memory). */
struct ctl_config *ctl_pservice_merge(const struct ctl_config *base);

/* The switch now runs @running (merged) for @base: publish what is ours,
 * take the policy revision.  YAML backend: revisions of changed objects. */
void ctl_pservice_applied(const struct ctl_config *prev, struct ctl_config *running);

/* etcd backend: write / delete one object of the model (key relative to
 * the prefix, e.g. "policies/web").  The change comes back through the
 * watch.  Returns 0 when queued, or -errno with @err. */
int ctl_pservice_put(const char *key, json_t *value, char *err, size_t errlen);
int ctl_pservice_delete(const char *key, char *err, size_t errlen);

/* Hints from notifications (ctl_notify hooks). */
bool ctl_pservice_hint_moved(uint32_t from_tep, uint32_t vni, const uint8_t mac[6]);
bool ctl_pservice_hint_stale_policy(uint32_t from_tep, uint64_t revision);

/* `policy-service status`. */
json_t *ctl_pservice_status(void);
/* Fault injection: cut / restore the etcd watch.  -ENOTSUP without etcd. */
int ctl_pservice_watch_pause(bool paused);

/* A guest started (@active) or stopped running on vhost port @port.
 * With etcd, a local endpoint is published only while its guest runs
 * here, and one whose guest does not run here yields to where etcd says
 * it runs: a live-migrated VM's new host claims it when the guest starts
 * there, and the old host lets go (docs/policy.md). */
void ctl_pservice_port_activity(const char *port, bool active);

#endif
