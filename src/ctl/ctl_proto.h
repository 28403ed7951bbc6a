/* The control socket's wire protocol, shared by dpdk-vswitch and vswitchctl.
 *
 * A unix stream socket carrying newline-delimited JSON objects, one
 * request answered by one reply, in order:
 *
 *   request: {"id": <int>, "cmd": "<module/verb or verb>", "args": [<string>...]}\n
 *   reply:   {"id": <int>, "ok": true,  "result": <object>}\n
 *         or {"id": <int>, "ok": false, "error": "<message>"}\n
 *
 * A request longer than CTL_PROTO_MAX_MSG bytes without a newline is
 * answered with an error and the connection is closed.
 */
#ifndef CTL_PROTO_H
#define CTL_PROTO_H

#define CTL_PROTO_MAX_MSG (64 * 1024)
#define CTL_PROTO_DEFAULT_SOCKET "/run/dpdk-vswitch/ctl.sock"

#endif
