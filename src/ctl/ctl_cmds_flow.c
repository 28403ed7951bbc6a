/* flow list: the rte_flow rules tried on each physical port (dp_flow.h),
 * whether the device holds each one, why not, and the fallback counters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "ctl_cmds.h"
#include "ctl_cmds_util.h"
#include "ctl_ports.h"
#include "ctl_server.h"
#include "dp.h"
#include "dp_flow.h"

static const char *
yes_no(bool b)
{
	return b ? "yes" : "no";
}

static json_t *
rule_json(const struct dp_port *p, const struct dp_flow_rule *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "port", p->name,
			      "kind", dp_flow_kind_name(r->kind), "pattern", r->pattern,
			      "action", r->action, "validated", yes_no(r->validated),
			      "hardware", yes_no(r->flow != NULL));
	char e[192];

	if (r->flow != NULL) {
		json_object_set_new(o, "error", json_null());
		json_object_set_new(o, "errno", json_null());
		return o;
	}
	/* the device's message often is the errno's own text: say it once */
	if (strcmp(r->message, strerror(-r->error)) == 0)
		snprintf(e, sizeof(e), "%s", r->message);
	else
		snprintf(e, sizeof(e), "%s: %s", strerror(-r->error), r->message);
	json_object_set_new(o, "error", json_string(e));
	json_object_set_new(o, "errno", json_integer(-r->error));
	return o;
}

/* Append port @p's rules, its summary and its counters to the arrays. */
static void
port_json(const struct dp_port *p, json_t *ports, json_t *rules, json_t *counters)
{
	const struct dp_flow_rule *r;
	unsigned n = dp_flow_rules(p->index, &r), hw = 0;
	char dev[RTE_ETH_NAME_MAX_LEN] = "?";

	for (unsigned i = 0; i < n; i++) {
		hw += r[i].flow != NULL;
		json_array_append_new(rules, rule_json(p, &r[i]));
	}
	rte_eth_dev_get_name_by_port(p->eth_port, dev);
	json_array_append_new(ports, json_pack("{s:s, s:s, s:i, s:i, s:i, s:s}", "port", p->name,
					       "device", dev, "rules", n, "hardware", hw,
					       "software", n - hw, "marks",
					       dp_flow_marks(p->index)));
	for (unsigned k = 0; k < DP_FLOW_KIND_MAX; k++) {
		struct dp_flow_counters c;

		dp_flow_counters(p->index, k, &c);
		json_array_append_new(counters, json_pack("{s:s, s:s, s:I, s:I}", "port", p->name,
							  "kind", dp_flow_kind_name(k),
							  "hardware", (json_int_t)c.hardware,
							  "fallback", (json_int_t)c.fallback));
	}
}

static int
cmd_flow_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = json_array_size(args) > 0 ? ctl_arg(args, 0) : NULL;
	json_t *ports = json_array(), *rules = json_array(), *counters = json_array();

	if (name != NULL) {
		int idx = ctl_port_find(name);
		const struct dp_port *p = idx >= 0 ? dp_port_get(idx) : NULL;

		if (p == NULL || p->kind != DP_PORT_PHYS) {
			snprintf(err, errlen, "no physical port '%s'", name);
			json_decref(ports);
			json_decref(rules);
			json_decref(counters);
			return -ENOENT;
		}
		port_json(p, ports, rules, counters);
	} else {
		for (unsigned i = 0; i < ctl_port_slots(); i++) {
			const struct dp_port *p = dp_port_get(i);

			if (p != NULL && p->kind == DP_PORT_PHYS)
				port_json(p, ports, rules, counters);
		}
	}
	*result = json_pack("{s:o, s:o, s:o}", "ports", ports, "rules", rules,
			    "counters", counters);
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "flow/list", "[PORT]", 0, 1, cmd_flow_list,
	  "rte_flow rules of the physical ports: in hardware or not, why, fallback counters" },
};

int
ctl_cmds_flow_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
