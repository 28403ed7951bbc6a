/* config check|reload and log level. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_log.h>

#include "ctl_apply.h"
#include "ctl_cmds.h"
#include "ctl_server.h"
#include "ctl_switch.h"

/* Load @path (or the built-in default when it is "<embedded>"). */
static struct ctl_config *
load(const char *path, char *err, size_t errlen)
{
	if (strcmp(path, "<embedded>") == 0)
		return ctl_config_load(NULL, ctl_config_default_yaml, err, errlen);
	return ctl_config_load(path, NULL, err, errlen);
}

static int
cmd_config_check(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *path = json_string_value(json_array_get(args, 0));
	const struct ctl_config *running = ctl_switch_config();
	struct ctl_config *cfg;
	char why[CTL_ERR_MAX];

	/* the switch's working directory is not the caller's */
	if (path[0] != '/') {
		snprintf(err, errlen, "config check: '%s' is not an absolute path", path);
		return -EINVAL;
	}
	cfg = load(path, err, errlen);
	struct ctl_diff d;

	if (cfg == NULL)
		return -EINVAL;
	ctl_diff(running, cfg, &d);
	*result = json_pack("{s:s, s:b, s:o}", "file", path, "valid", 1,
			    "changes", ctl_diff_json(&d));
	if (ctl_config_restart_needed(running, cfg, why, sizeof(why)) < 0)
		json_object_set_new(*result, "restart_needed", json_string(why));
	ctl_config_free(cfg);
	return 0;
}

static int
cmd_config_reload(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct ctl_config *running = ctl_switch_config();
	struct ctl_config *cfg;
	struct ctl_diff d;
	char path[CTL_PATH_MAX + 64];
	int ret;

	(void)args;
	snprintf(path, sizeof(path), "%s", running->file);
	cfg = load(path, err, errlen);
	if (cfg == NULL)
		return -EINVAL;
	ctl_diff(running, cfg, &d);
	ret = ctl_switch_change(cfg, err, errlen);
	if (ret < 0) {
		ctl_config_free(cfg);
		return ret;
	}
	*result = json_pack("{s:s, s:o}", "file", path, "changes", ctl_diff_json(&d));
	return 0;
}

static const char *const level_names[] = {
	[RTE_LOG_EMERG] = "emerg", [RTE_LOG_ALERT] = "alert", [RTE_LOG_CRIT] = "crit",
	[RTE_LOG_ERR] = "err", [RTE_LOG_WARNING] = "warning", [RTE_LOG_NOTICE] = "notice",
	[RTE_LOG_INFO] = "info", [RTE_LOG_DEBUG] = "debug",
};

/* The log types this program registers, vswitch.<name>. */
static const char *const modules[] = { "ctl", "datapath", "policy", "switch", "underlay", "apply" };

static int
cmd_log_level(json_t *args, json_t **result, char *err, size_t errlen)
{
	size_t n = json_array_size(args);
	const char *module = n == 2 ? json_string_value(json_array_get(args, 0)) : "all";
	const char *level = json_string_value(json_array_get(args, n - 1));
	char pattern[128];
	int lvl = -1;

	for (int i = RTE_LOG_EMERG; i <= (int)RTE_LOG_DEBUG; i++)
		if (strcmp(level, level_names[i]) == 0)
			lvl = i;
	if (lvl < 0) {
		snprintf(err, errlen, "unknown level '%s' (emerg, alert, crit, err, warning, "
			 "notice, info, debug)", level);
		return -EINVAL;
	}
	/* our modules are vswitch.<module>; a dotted name is a DPDK log type */
	if (strcmp(module, "all") == 0)
		snprintf(pattern, sizeof(pattern), "vswitch.*");
	else if (strchr(module, '.') != NULL)
		snprintf(pattern, sizeof(pattern), "%s", module);
	else   /* the module and its sub-types, e.g. vswitch.ctl.socket */
		snprintf(pattern, sizeof(pattern), "vswitch.%s*", module);
	if (strchr(module, '.') == NULL && strcmp(module, "all") != 0) {
		bool known = false;

		for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
			known |= strcmp(module, modules[i]) == 0;
		if (!known) {
			snprintf(err, errlen, "unknown module '%s' (ctl, datapath, policy, switch, "
				 "underlay, apply, all, or a DPDK log type such as lib.eal)", module);
			return -ENOENT;
		}
	}
	if (rte_log_set_level_pattern(pattern, lvl) < 0) {
		snprintf(err, errlen, "cannot set the level of '%s'", pattern);
		return -EINVAL;
	}
	*result = json_pack("{s:s, s:s}", "pattern", pattern, "level", level_names[lvl]);
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "config/check", "FILE", 1, 1, cmd_config_check,
	  "validate a configuration file and say what loading it would change" },
	{ "config/reload", "", 0, 0, cmd_config_reload,
	  "re-read the configuration file and apply only its differences (all or nothing)" },
	{ "log/level", "[MODULE] LEVEL", 1, 2, cmd_log_level,
	  "set the log level of one module (ctl, datapath, policy, switch, underlay, apply) "
	  "or of all" },
};

int
ctl_cmds_config_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
