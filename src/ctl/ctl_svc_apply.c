/* Services onto the datapath after every catalog change and every model
 * change (a VM that moved, joined a pool or left a scope): in-switch rules
 * (insertion point 1, S6) of the profiles enabled for each local VM,
 * compiled with rte_acl and published on its port; the load balancer's
 * tables; which ports are appliances' (chains, S7). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_log.h>

#include "ctl_ports.h"
#include "ctl_resolve.h"
#include "ctl_services.h"
#include "ctl_svc_chain.h"
#include "ctl_svc_apply.h"
#include "ctl_svc_lb.h"
#include "ctl_switch.h"
#include "svc_acl.h"

RTE_LOG_REGISTER_SUFFIX(svc_logtype, services, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svc_logtype, "services: " fmt "\n", ##__VA_ARGS__)

static const char *
tenant_of(const struct ctl_config *c, const char *vnet)
{
	for (unsigned i = 0; i < c->n_vnets; i++)
		if (strcmp(c->vnets[i].name, vnet) == 0)
			return c->vnets[i].tenant;
	return "";
}

/* Compile and publish the rules of one local VM; its port is cleared when
 * no rule applies.  On an error the port keeps what it had. */
static void
apply_vm(const struct ctl_config *c, const struct ctl_endpoint *e, const char *host,
	 struct svc_rule *rules, unsigned *prof, struct svc_acl_rule *ar)
{
	struct svc_vm vm = { .name = e->name, .vnet = e->vnet,
			     .tenant = tenant_of(c, e->vnet), .host = host };
	int port = ctl_port_find(e->port), n;
	struct svc_acl *acl = NULL;
	char err[CTL_ERR_MAX];

	if (port < 0)
		return;
	n = svc_catalog_rules_for_vm(ctl_services_catalog(), &vm, rules, prof, SVC_MAX_RULES);
	if (n < 0) {
		LOG(ERR, "VM %s: too many service rules; its port keeps its old ones", e->name);
		return;
	}
	for (int i = 0; i < n; i++) {
		int t = rules[i].action == SVC_RULE_MIRROR || rules[i].action == SVC_RULE_REDIRECT ?
			ctl_port_find(rules[i].target) : 0;

		if (t < 0 || prof[i] >= SVC_MAX_PROFILES) {
			LOG(ERR, "VM %s: %s; its port keeps its old rules", e->name, t < 0 ?
			    "a mirror or redirect target is no port of this switch" : "a profile slot out of range");
			return;
		}
		ar[i].r = rules[i];
		ar[i].profile = (uint16_t)prof[i];   /* its stable slot: counters follow the profile */
		ar[i].target_port = (uint16_t)t;
	}
	if (n > 0 && svc_acl_build(ar, (unsigned)n, e->name, &acl, err, sizeof(err)) < 0) {
		LOG(ERR, "VM %s: rules not compiled: %s", e->name, err);
		return;
	}
	svc_acl_port_set((uint16_t)port, acl);
}

void
ctl_svc_apply_all(void)
{
	const struct ctl_config *c = ctl_switch_config();
	struct svc_rule *rules = malloc(sizeof(*rules) * SVC_MAX_RULES);
	unsigned *prof = malloc(sizeof(*prof) * SVC_MAX_RULES);
	struct svc_acl_rule *ar = malloc(sizeof(*ar) * SVC_MAX_RULES);
	char host[256] = "";

	if (c == NULL || rules == NULL || prof == NULL || ar == NULL) {
		if (c != NULL)
			LOG(ERR, "out of memory: service rules not updated");
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	for (unsigned i = 0; i < c->n_endpoints; i++)
		if (c->endpoints[i].where == CTL_EP_LOCAL)
			apply_vm(c, &c->endpoints[i], host, rules, prof, ar);
out:
	free(rules);
	free(prof);
	free(ar);
	ctl_svc_lb_apply_all();
	ctl_chain_ports_update();
}

/* After a catalog change: rules and ports, then every cached decision
 * (a chain, its hops or their enables may have changed). */
static void
services_changed(void)
{
	ctl_svc_apply_all();
	ctl_resolve_refresh();
}

int
ctl_svc_start(const struct ctl_config *cfg, char *err, size_t errlen)
{
	int ret = ctl_services_init(cfg->state_dir, cfg->services_dir, err, errlen);

	if (ret < 0)
		return ret;
	ctl_services_changed = services_changed;
	services_changed();
	return 0;
}

void
ctl_svc_stop(void)
{
	ctl_services_changed = NULL;
	svc_acl_ports_clear();
	svc_lb_ports_clear();
	ctl_services_fini();
}
