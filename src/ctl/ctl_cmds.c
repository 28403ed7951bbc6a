/* Every command group of the control socket. */
#include "ctl_cmds.h"

int
ctl_cmds_register_all(void)
{
	int (*const groups[])(void) = {
		ctl_cmds_stats_register,
		ctl_cmds_objects_register,
		ctl_cmds_model_register,
		ctl_cmds_config_register,
		ctl_cmds_debug_register,
		ctl_cmds_trace_register,
		ctl_cmds_policy_register,
		ctl_cmds_services_register,
		ctl_cmds_lb_register,
		ctl_cmds_flow_register,
	};

	for (unsigned i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		int ret = groups[i]();

		if (ret < 0)
			return ret;
	}
	return 0;
}
