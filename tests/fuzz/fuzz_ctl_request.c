/* fuzz_ctl_request: one request line into the control server's handler,
 * ctl_server_handle_line() -- the JSON parsing, command lookup (including
 * "module verb" -> "module/verb"), argument bounds and reply encoding the
 * daemon runs for every line a client sends.
 *
 * The command table holds the built-ins (help, version) and a few test
 * commands that need no running switch: echo, a failing one, one that
 * fails silently after setting a result, and a module/verb pair.
 * Invariants: a blank line gets no reply, anything else exactly one
 * newline-terminated JSON object {"ok": true, "result": {...}} or
 * {"ok": false, "error": "..."}, with the request's integer id echoed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_server.h"
#include "fuzz_common.h"

static int
cmd_echo(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	*result = json_pack("{s:O, s:I}", "args", args, "n", (json_int_t)json_array_size(args));
	return *result ? 0 : -ENOMEM;
}

static int
cmd_fail(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args, (void)result;
	snprintf(err, errlen, "not allowed: %s", json_string_value(json_array_get(args, 0)));
	return -EPERM;
}

static int
cmd_fail_silent(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args, (void)err, (void)errlen;
	*result = json_object();       /* the server must drop it */
	return EIO;                    /* positive: the server negates it */
}

static const struct ctl_cmd cmds[] = {
	{ "echo", "[ARG...]", 0, 8, cmd_echo, "reply with the arguments" },
	{ "fail", "ARG", 1, 1, cmd_fail, "always fails, with a message" },
	{ "fail/silent", "", 0, 0, cmd_fail_silent, "fails without a message" },
	{ "obj/add", "NAME [k=v...]", 1, 3, cmd_echo, "a module/verb command" },
	{ "obj/list", "", 0, 0, cmd_echo, "a module/verb command without arguments" },
};

static int
write_seeds(const char *dir)
{
	static const char *const reqs[][2] = {
		{ "help", "{\"id\":1,\"cmd\":\"help\"}" },
		{ "version", "{\"id\":2,\"cmd\":\"version\",\"args\":[]}" },
		{ "echo", "{\"id\":3,\"cmd\":\"echo\",\"args\":[\"a\",\"b\\u00e9\"]}" },
		{ "module-verb", "{\"id\":4,\"cmd\":\"obj\",\"args\":[\"add\",\"x\",\"k=v\"]}" },
		{ "fail", "{\"id\":5,\"cmd\":\"fail\",\"args\":[\"why\"]}" },
		{ "bounds", "{\"id\":6,\"cmd\":\"obj/list\",\"args\":[\"extra\"]}" },
		{ "unknown", "{\"cmd\":\"nope\",\"args\":[\"x\"]}" },
		{ "malformed", "{\"id\":7,\"cmd\":" },
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		rc |= fuzz_seed_file(dir, reqs[i][0], reqs[i][1], strlen(reqs[i][1]));
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seed_mode(*argc, *argv, write_seeds);
	if (ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0])) < 0) {
		fprintf(stderr, "fuzz_ctl_request: cannot register the commands\n");
		exit(1);
	}
	return 0;
}

static bool
blank(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *reply, *req, *ok, *id;
	json_error_t jerr;
	char *line;
	size_t len;

	/* The server hands over one line: the bytes before a newline. */
	if (memchr(data, '\n', size) != NULL)
		return -1;
	FUZZ_CHECK(ctl_server_handle_line((const char *)data, size, &line, &len) == 0);
	if (blank(data, size)) {
		FUZZ_CHECK(line == NULL);
		return 0;
	}
	FUZZ_CHECK(line != NULL);
	FUZZ_CHECK(len > 1 && strlen(line) == len && line[len - 1] == '\n');
	FUZZ_CHECK(memchr(line, '\n', len - 1) == NULL);
	reply = json_loadb(line, len - 1, 0, &jerr);
	if (reply == NULL)
		fuzz_fail("reply is not JSON (%s): %s", jerr.text, line);
	ok = json_object_get(reply, "ok");
	FUZZ_CHECK(json_is_boolean(ok));
	if (json_is_true(ok))
		FUZZ_CHECK(json_is_object(json_object_get(reply, "result")));
	else
		FUZZ_CHECK(json_is_string(json_object_get(reply, "error")) &&
			   json_string_length(json_object_get(reply, "error")) > 0);

	/* The request's integer id comes back; nothing else does. */
	req = json_loadb((const char *)data, size, 0, &jerr);
	id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	if (json_is_integer(id))
		FUZZ_CHECK(json_equal(id, json_object_get(reply, "id")));
	else
		FUZZ_CHECK(json_object_get(reply, "id") == NULL);
	if (req == NULL)
		FUZZ_CHECK(json_is_false(ok));
	json_decref(req);
	json_decref(reply);
	free(line);
	return 0;
}
