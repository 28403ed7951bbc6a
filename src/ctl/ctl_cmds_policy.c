/* policy table (the seed's fig. 10), policy-service status, and the
 * policy service's fault injection. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl_cmds.h"
#include "ctl_notify.h"
#include "ctl_pservice.h"
#include "ctl_resolve.h"
#include "ctl_server.h"
#include "dp.h"

static const char *const result_name[] = {
	[POL_RES_FORWARD] = "forward", [POL_RES_DENY] = "drop (denied)",
	[POL_RES_UNKNOWN] = "unknown destination", [POL_RES_CHAIN_DOWN] = "drop (chain down)",
};

static void
mac_str(const void *mac, char *buf, size_t len)
{
	const uint8_t *m = mac;

	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The physical path translation of @d in words, and its pieces. */
static void
add_path(json_t *row, const struct pol_decision *d)
{
	const struct dp_port *p;
	char buf[64];

	if (d->result != POL_RES_FORWARD && d->result != POL_RES_DENY &&
	    d->result != POL_RES_CHAIN_DOWN)
		return;
	json_object_set_new(row, "vni", json_integer(d->dst_vni));
	if (d->local) {
		p = dp_port_get(d->port);
		json_object_set_new(row, "where", json_string("local"));
		json_object_set_new(row, "output_port", json_string(p ? p->name : "?"));
		return;
	}
	{
		const struct pol_tunnel *t = pol_tunnel_get(d->tunnel);

		inet_ntop(AF_INET, &d->tep, buf, sizeof(buf));
		json_object_set_new(row, "where", json_string("remote"));
		json_object_set_new(row, "tep", json_string(buf));
		if (t != NULL && t->resolved) {
			mac_str(&t->dst_mac, buf, sizeof(buf));
			json_object_set_new(row, "next_hop_mac", json_string(buf));
		} else {
			json_object_set_new(row, "next_hop_mac", json_string("unresolved"));
		}
		p = t != NULL ? dp_port_get(t->port) : NULL;
		json_object_set_new(row, "output_port", json_string(p ? p->name : "?"));
	}
}

static json_t *
decision_row(const struct pol_decision *d, uint64_t now)
{
	char dst[64];
	json_t *row;

	if (d->key.kind == POL_DST_IP4)
		inet_ntop(AF_INET, d->key.dst, dst, sizeof(dst));
	else
		mac_str(d->key.dst, dst, sizeof(dst));
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
		"from_vm", d->src_vm, "to_vm", d->dst_vm[0] ? d->dst_vm : "-",
		"destination", dst, "kind", d->routed ? "routed" : "switched",
		"policy", d->policy[0] ? d->policy : "(default)",
		"decision", result_name[d->result],
		"revision", (json_int_t)d->policy_rev,
		"age_ms", (json_int_t)(now - d->installed_ms));
	if (row == NULL)
		return NULL;
	if (d->chain[0])
		json_object_set_new(row, "chain", json_string(d->chain));
	add_path(row, d);
	return row;
}

static int
cmd_policy_table(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *a = json_string_value(json_array_get(args, 0));
	const char *vm = NULL;
	const struct pol_decision *d;
	uint32_t next = 0;
	uint64_t now = now_ms();
	json_t *rows = json_array();

	if (a != NULL) {
		if (strncmp(a, "vm=", 3) != 0 || a[3] == '\0') {
			snprintf(err, errlen, "expected vm=NAME, got '%s'", a);
			json_decref(rows);
			return -EINVAL;
		}
		vm = a + 3;
	}
	while (pol_decision_iterate(&next, &d) >= 0) {
		if (vm != NULL && strcmp(d->src_vm, vm) != 0 && strcmp(d->dst_vm, vm) != 0)
			continue;
		json_array_append_new(rows, decision_row(d, now));
	}
	*result = json_pack("{s:o, s:o}", "decisions", rows, "cache", ctl_resolve_json());
	return 0;
}

static int
cmd_pservice_status(json_t *args, json_t **result, char *err, size_t errlen)
{
	json_t *j = ctl_pservice_status();

	(void)args;
	if (j == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_object_set_new(j, "notifications", ctl_notify_json());
	json_object_set_new(j, "decisions", ctl_resolve_json());
	*result = j;
	return 0;
}

static int
cmd_watch(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *a = json_string_value(json_array_get(args, 0));
	bool pause = strcmp(a, "stop") == 0;
	int ret;

	if (!pause && strcmp(a, "start") != 0) {
		snprintf(err, errlen, "expected stop or start, got '%s'", a);
		return -EINVAL;
	}
	ret = ctl_pservice_watch_pause(pause);
	if (ret < 0) {
		snprintf(err, errlen, "the policy service is not etcd: there is no watch");
		return ret;
	}
	*result = json_pack("{s:s}", "watch", pause ? "stopped" : "started");
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "policy/table", "[vm=NAME]", 0, 1, cmd_policy_table,
	  "cached decisions per (originating VM, destination): policy, revision, physical path" },
	{ "policy-service/status", "", 0, 0, cmd_pservice_status,
	  "policy service backend, members and health; notification and cache counters" },
	{ "debug/policy-service-watch", "stop|start", 1, 1, cmd_watch,
	  "fault injection: cut the etcd watch (changes are then learnt only from "
	  "notifications and refetches) or resume it" },
};

int
ctl_cmds_policy_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
