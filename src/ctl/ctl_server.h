/* The control socket server, run by the control thread (main lcore).
 *
 * Single-threaded and non-blocking: ctl_server_poll() serves whatever is
 * ready and returns, so the control thread can interleave it with its
 * other duties.  Commands are registered in a table (style.md #9).
 */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <stddef.h>
#include <jansson.h>

/* A command handler.
 * @args: JSON array of strings, its size already checked against the bounds.
 * @result: set to a new JSON object on success (the server takes the reference).
 * @err: message for the client on failure.
 * Returns 0, or a negative errno with @err filled in.
 */
typedef int (*ctl_cmd_fn)(json_t *args, json_t **result, char *err, size_t errlen);

struct ctl_cmd {
	const char *name;      /* "show", "stats", later "port/add" ... */
	const char *usage;     /* arguments, e.g. "[ports|workers|drops]" */
	unsigned min_args;     /* bounds checked by the server before the call */
	unsigned max_args;
	ctl_cmd_fn fn;
	const char *help;      /* one line for `vswitchctl help` */
};

/* Add commands to the table; @cmds must stay valid. Returns 0 or -ENOSPC/-EEXIST. */
int ctl_cmds_register(const struct ctl_cmd *cmds, unsigned n);

/* Create the listening socket at @path (mode 0660, parent directory created).
 * A stale socket left by a dead process is replaced; a socket a live
 * server answers on is never taken over (-EADDRINUSE).
 * Returns 0 or a negative errno. */
int ctl_server_open(const char *path);

/* Serve ready connections, waiting at most @timeout_ms for one. */
void ctl_server_poll(int timeout_ms);

/* Answer one request line (@len bytes at @text, without its newline), as
 * the server does for a client: parse, dispatch through the command table,
 * encode.  On success *@reply is a malloc'd, newline-terminated reply of
 * *@reply_len bytes for the caller to free, or NULL for a blank line (no
 * reply is due).  Returns 0, or -ENOMEM when no reply could be built.
 * Also the entry point of tests/fuzz/fuzz_ctl_request.c. */
int ctl_server_handle_line(const char *text, size_t len, char **reply, size_t *reply_len);

/* Close every connection and remove the socket file. Safe if not open. */
void ctl_server_close(void);

#endif
