/* Fault injection for tests and operators: commands that make the control
 * thread misbehave on purpose, to show what the datapath does meanwhile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctl_cmds.h"
#include "ctl_server.h"

/* Block the control thread (socket, ARP, reclamation) for N seconds; the
 * workers must keep forwarding on the tables they have.  Replies after. */
static int
cmd_stall_control(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *s = json_string_value(json_array_get(args, 0));
	struct timespec ts = { 0 };
	char *end;
	long secs = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || secs < 0 || secs > 60) {
		snprintf(err, errlen, "'%s' is not a number of seconds from 0 to 60", s);
		return -EINVAL;
	}
	ts.tv_sec = secs;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	*result = json_pack("{s:i}", "stalled_seconds", (int)secs);
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "debug/stall-control", "SECONDS", 1, 1, cmd_stall_control,
	  "fault injection: block the control thread for 0-60 s (workers keep forwarding)" },
};

int
ctl_cmds_debug_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
