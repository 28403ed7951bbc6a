/* trace: inject a described packet into a dry run of the pipeline and
 * answer with every decision the stages made; nothing is sent
 * (src/datapath/dp_trace.h does the work). */
#include <errno.h>
#include <stdio.h>

#include "ctl_cmds.h"
#include "ctl_ports.h"
#include "ctl_server.h"
#include "dp_trace.h"

#define TRACE_MAX_ARGS DP_TRACE_K_MAX   /* each key at most once */

static int
cmd_trace(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *kv[TRACE_MAX_ARGS];
	struct dp_trace_desc d;
	size_t n = json_array_size(args);
	int ret;

	if (n > TRACE_MAX_ARGS) {       /* the server checks the bounds; kv[] relies on it */
		snprintf(err, errlen, "at most %d arguments", TRACE_MAX_ARGS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		kv[i] = json_string_value(json_array_get(args, i));
	ret = dp_trace_desc_parse(&d, kv, n, ctl_port_find, err, errlen);
	if (ret < 0)
		return ret;
	*result = dp_trace_desc_run(&d, err, errlen);
	return *result != NULL ? 0 : -errno;
}

static const struct ctl_cmd cmds[] = {
	{ "trace", "in_port=PORT [src_mac=MAC] [dst_mac=MAC] [src_ip=IP] [dst_ip=IP] "
	  "[proto=icmp|tcp|udp|arp] [sport=N] [dport=N] [arp_op=request|reply] [len=N] [vni=N] "
	  "[outer_src=IPV4]", 1, TRACE_MAX_ARGS, cmd_trace,
	  "dry run of a described packet through the pipeline, every decision shown, nothing sent "
	  "(defaults: proto=icmp echo request, src_mac/src_ip of the VM on in_port, dst_mac "
	  "broadcast for ARP requests, shortest len; a physical in_port takes the frame as the "
	  "inner one, in VXLAN from outer_src with vni)" },
};

int
ctl_cmds_trace_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
