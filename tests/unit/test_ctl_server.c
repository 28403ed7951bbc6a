/* Unit tests of the control socket server (src/ctl/ctl_server.c).
 *
 * The real server runs in this thread on a socket in a mkdtemp() directory;
 * the clients are real non-blocking sockets, and every wait on the client
 * side drives the server with ctl_server_poll(), so no threads are needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit_main.h"
#include <jansson.h>

#include "ctl_proto.h"
#include "ctl_server.h"

#ifndef VS_VERSION
#define VS_VERSION "dev"
#endif

#define WAIT_MS 5000          /* give up on a reply after this */
#define BIG_REPLY (5u << 20)  /* bytes of payload in the "big" reply */
#define MAX_CONNS 80

/* A client connection with its own receive buffer. */
struct conn {
	int fd;          /* -1 once closed */
	char *buf;       /* received bytes not yet returned as a line */
	size_t len, cap;
};

static char tmpdir[48];
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct conn conns[MAX_CONNS];   /* closed by the teardown, even after a failed assert */

/* ---- test commands ---- */

static int cmd_echo(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	*result = json_pack("{s:O, s:i}", "args", args, "n", (json_int_t)json_array_size(args));
	return *result ? 0 : -ENOMEM;
}

static int cmd_count(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	*result = json_pack("{s:i}", "n", (json_int_t)json_array_size(args));
	return *result ? 0 : -ENOMEM;
}

static int cmd_port_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	*result = json_pack("{s:O}", "added", json_array_get(args, 0));
	return *result ? 0 : -ENOMEM;
}

static int cmd_fail(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args, (void)result;
	snprintf(err, errlen, "not allowed");
	return -EPERM;
}

static int cmd_fail_silent(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args, (void)err, (void)errlen;
	*result = json_object();   /* must be dropped by the server */
	return -EBUSY;
}

static int cmd_big(json_t *args, json_t **result, char *err, size_t errlen)
{
	size_t n = strtoul(json_string_value(json_array_get(args, 0)), NULL, 10);
	char *s = malloc(n);

	if (s == NULL) {
		snprintf(err, errlen, "no memory");
		return -ENOMEM;
	}
	memset(s, 'x', n);
	*result = json_pack("{s:s#}", "data", s, (int)n);
	free(s);
	return *result ? 0 : -ENOMEM;
}

static const struct ctl_cmd test_cmds[] = {
	{ "echo", "[WORD...]", 0, 8, cmd_echo, "echo the arguments" },
	{ "two", "A B [C]", 2, 3, cmd_count, "two or three arguments" },
	{ "port/add", "NAME", 1, 1, cmd_port_add, "add a port" },
	{ "port/del", "NAME", 1, 1, cmd_port_add, "delete a port" },
	{ "fail", "", 0, 0, cmd_fail, "always fails" },
	{ "fail-silent", "", 0, 0, cmd_fail_silent, "fails without a message" },
	{ "big", "BYTES", 1, 1, cmd_big, "a large reply" },
};

/* ---- client side ---- */

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static struct conn *conn_slot(void)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd < 0)
			return &conns[i];
	return NULL;
}

static void conn_close(struct conn *c)
{
	if (c == NULL || c->fd < 0)
		return;
	close(c->fd);
	free(c->buf);
	*c = (struct conn){ .fd = -1 };
}

static struct conn *conn_open_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct conn *c = conn_slot();
	int fd;

	if (c == NULL)
		return NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	*c = (struct conn){ .fd = fd };
	return c;
}

static struct conn *conn_open(void)
{
	return conn_open_at(sock_path);
}

/* Send all of @s, letting the server run while the socket is full.
 * Returns 0, or a negative errno (e.g. -EPIPE once the server closed). */
static int conn_send(struct conn *c, const char *s, size_t len)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len > 0) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN)
				return -errno;
			if (elapsed_ms(&t0) > WAIT_MS)
				return -ETIMEDOUT;
			ctl_server_poll(10);
			continue;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static int conn_send_str(struct conn *c, const char *s)
{
	return conn_send(c, s, strlen(s));
}

/* Receive at most @chunk bytes per read (0: any).  Returns the next line
 * without its newline (malloc'd), or NULL on EOF, error or timeout. */
static char *conn_recv_line_chunked(struct conn *c, size_t chunk)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		ssize_t n;

		if (nl != NULL) {
			size_t l = (size_t)(nl - c->buf);
			char *line = malloc(l + 1);

			memcpy(line, c->buf, l);
			line[l] = '\0';
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return line;
		}
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 65536;
			c->buf = realloc(c->buf, c->cap);
		}
		n = recv(c->fd, c->buf + c->len,
			 chunk && chunk < c->cap - c->len ? chunk : c->cap - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			if (chunk)
				ctl_server_poll(0);   /* a slow reader: the server runs between reads */
			continue;
		}
		if (n == 0 || errno != EAGAIN)
			return NULL;
		if (elapsed_ms(&t0) > WAIT_MS)
			return NULL;
		ctl_server_poll(10);
	}
}

static char *conn_recv_line(struct conn *c)
{
	return conn_recv_line_chunked(c, 0);
}

static json_t *conn_recv_json(struct conn *c)
{
	char *line = conn_recv_line(c);
	json_t *j = line ? json_loads(line, 0, NULL) : NULL;

	free(line);
	return j;
}

/* One request, one parsed reply (NULL on any failure). */
static json_t *call(struct conn *c, const char *req)
{
	if (c == NULL || conn_send_str(c, req) < 0)
		return NULL;
	return conn_recv_json(c);
}

/* Drive the server until the peer closes @c.  True on EOF or reset. */
static bool conn_wait_closed(struct conn *c)
{
	struct timespec t0;
	char b[4096];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < WAIT_MS) {
		ssize_t n = recv(c->fd, b, sizeof(b), 0);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
		if (n < 0)
			ctl_server_poll(10);
	}
	return false;
}

static bool reply_ok(json_t *r)
{
	return json_is_true(json_object_get(r, "ok"));
}

static const char *reply_error(json_t *r)
{
	const char *e = json_string_value(json_object_get(r, "error"));

	return e ? e : "";
}

/* Whether a fresh client gets a version reply: the server is still serving. */
static bool server_serves(void)
{
	struct conn *c = conn_open();
	json_t *r = call(c, "{\"id\":7,\"cmd\":\"version\"}\n");
	bool ok = reply_ok(r);

	json_decref(r);
	conn_close(c);
	return ok;
}

static void use_path(const char *name)
{
	snprintf(sock_path, sizeof(sock_path), "%s/%s", tmpdir, name);
}

static int open_server(const char *name)
{
	use_path(name);
	return ctl_server_open(sock_path);
}

/* ---- tests ---- */

static void test_ok_reply_echoes_id(void)
{
	struct conn *c;
	json_t *r;

	CU_ASSERT_FATAL(open_server("ok.sock") == 0);
	c = conn_open();
	CU_ASSERT_FATAL(c != NULL);

	r = call(c, "{\"id\":42,\"cmd\":\"echo\",\"args\":[\"a\",\"b\"]}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 42);
	CU_ASSERT(json_integer_value(json_object_get(json_object_get(r, "result"), "n")) == 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
		json_object_get(json_object_get(r, "result"), "args"), 1)), "b");
	json_decref(r);

	/* No "args": none. No integer id: none echoed. */
	r = call(c, "{\"id\":\"x\",\"cmd\":\"echo\"}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT(json_object_get(r, "id") == NULL);
	CU_ASSERT(json_integer_value(json_object_get(json_object_get(r, "result"), "n")) == 0);
	json_decref(r);

	/* A handler's error reaches the client. */
	r = call(c, "{\"id\":3,\"cmd\":\"fail\"}\n");
	CU_ASSERT(!reply_ok(r));
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 3);
	CU_ASSERT_STRING_EQUAL(reply_error(r), "not allowed");
	json_decref(r);
	r = call(c, "{\"id\":4,\"cmd\":\"fail-silent\"}\n");
	CU_ASSERT(!reply_ok(r));
	CU_ASSERT(strlen(reply_error(r)) > 0);
	CU_ASSERT(json_object_get(r, "result") == NULL);
	json_decref(r);
}

static void test_unknown_command(void)
{
	struct conn *c;
	json_t *r;

	CU_ASSERT_FATAL(open_server("unknown.sock") == 0);
	c = conn_open();
	r = call(c, "{\"id\":1,\"cmd\":\"frobnicate\",\"args\":[]}\n");
	CU_ASSERT(r != NULL && !reply_ok(r));
	CU_ASSERT_STRING_EQUAL(reply_error(r), "unknown command 'frobnicate' (try 'help')");
	json_decref(r);
}

static void test_malformed_then_good(void)
{
	static const char *const bad[] = {
		"{\"id\":1,\"cmd\":\n",               /* truncated JSON */
		"[1,2]\n",                            /* not an object */
		"{\"id\":1}\n",                       /* no cmd */
		"{\"id\":1,\"cmd\":5}\n",             /* cmd not a string */
		"{\"id\":1,\"cmd\":\"echo\",\"args\":\"a\"}\n",
		"{\"id\":1,\"cmd\":\"echo\",\"args\":[\"a\",1]}\n",
		"{\"id\":1,\"cmd\":\"echo\"} trailing\n",
	};
	struct conn *c;
	json_t *r;

	CU_ASSERT_FATAL(open_server("malformed.sock") == 0);
	c = conn_open();
	CU_ASSERT_FATAL(c != NULL);

	r = call(c, "{not json\n");
	CU_ASSERT(r != NULL && !reply_ok(r));
	CU_ASSERT(strncmp(reply_error(r), "malformed request: ", 19) == 0);
	CU_ASSERT(strlen(reply_error(r)) > 19);
	json_decref(r);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call(c, bad[i]);
		CU_ASSERT(r != NULL && !reply_ok(r));
		CU_ASSERT(strlen(reply_error(r)) > 0);
		json_decref(r);
	}

	/* Blank lines are skipped; the connection still works. */
	r = call(c, "\n  \r\n{\"id\":9,\"cmd\":\"echo\",\"args\":[\"z\"]}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 9);
	json_decref(r);
}

static void test_oversized_request(void)
{
	size_t big = CTL_PROTO_MAX_MSG + 5000;
	char *junk = malloc(big);
	struct conn *a, *b;
	char *line;
	json_t *r;
	int rc;

	CU_ASSERT_FATAL(open_server("oversized.sock") == 0);
	b = conn_open();
	a = conn_open();
	CU_ASSERT_FATAL(a != NULL && b != NULL);

	/* B starts a request, A floods, B finishes and is still answered. */
	CU_ASSERT(conn_send_str(b, "{\"id\":2,\"cmd\":") == 0);
	memset(junk, 'x', big);
	rc = conn_send(a, junk, big);
	CU_ASSERT(rc == 0 || rc == -EPIPE || rc == -ECONNRESET);
	line = conn_recv_line(a);
	CU_ASSERT_PTR_NOT_NULL(line);
	r = line ? json_loads(line, 0, NULL) : NULL;
	CU_ASSERT(r != NULL && !reply_ok(r));
	CU_ASSERT_STRING_EQUAL(reply_error(r), "request too large (max 65536 bytes)");
	json_decref(r);
	free(line);
	CU_ASSERT(conn_wait_closed(a));

	r = call(b, "\"echo\"}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 2);
	json_decref(r);

	/* A request of exactly CTL_PROTO_MAX_MSG bytes is still fine. */
	{
		static const char head[] = "{\"id\":3,\"cmd\":\"echo\",\"args\":[\"";
		static const char tail[] = "\"]}";
		size_t pad = CTL_PROTO_MAX_MSG - strlen(head) - strlen(tail);

		snprintf(junk, big, "%s", head);
		memset(junk + strlen(head), 'y', pad);
		snprintf(junk + strlen(head) + pad, big - strlen(head) - pad, "%s\n", tail);
		CU_ASSERT(strlen(junk) == CTL_PROTO_MAX_MSG + 1);
		r = call(b, junk);
		CU_ASSERT(reply_ok(r));
		CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 3);
		json_decref(r);
	}
	free(junk);
}

static void test_arg_bounds(void)
{
	static const struct {
		const char *req;
		const char *error;   /* NULL: must succeed */
	} cases[] = {
		{ "{\"cmd\":\"two\",\"args\":[\"a\"]}\n", "usage: two A B [C]" },
		{ "{\"cmd\":\"two\",\"args\":[\"a\",\"b\"]}\n", NULL },
		{ "{\"cmd\":\"two\",\"args\":[\"a\",\"b\",\"c\"]}\n", NULL },
		{ "{\"cmd\":\"two\",\"args\":[\"a\",\"b\",\"c\",\"d\"]}\n", "usage: two A B [C]" },
		{ "{\"cmd\":\"help\",\"args\":[\"x\"]}\n", "usage: help" },
		{ "{\"cmd\":\"echo\",\"args\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}\n",
		  "usage: echo [WORD...]" },
	};
	struct conn *c;

	CU_ASSERT_FATAL(open_server("bounds.sock") == 0);
	c = conn_open();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = call(c, cases[i].req);

		CU_ASSERT_PTR_NOT_NULL(r);
		if (cases[i].error == NULL) {
			CU_ASSERT(reply_ok(r));
		} else {
			CU_ASSERT(!reply_ok(r));
			CU_ASSERT_STRING_EQUAL(reply_error(r), cases[i].error);
		}
		json_decref(r);
	}
}

static void test_module_verb(void)
{
	struct conn *c;
	json_t *r;

	CU_ASSERT_FATAL(open_server("verb.sock") == 0);
	c = conn_open();

	r = call(c, "{\"id\":1,\"cmd\":\"port\",\"args\":[\"add\",\"vm1\"]}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
		json_object_get(r, "result"), "added")), "vm1");
	json_decref(r);

	r = call(c, "{\"id\":2,\"cmd\":\"port/add\",\"args\":[\"vm2\"]}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
		json_object_get(r, "result"), "added")), "vm2");
	json_decref(r);

	/* Bounds apply to the shifted arguments. */
	r = call(c, "{\"id\":3,\"cmd\":\"port\",\"args\":[\"add\"]}\n");
	CU_ASSERT(!reply_ok(r));
	CU_ASSERT_STRING_EQUAL(reply_error(r), "usage: port/add NAME");
	json_decref(r);

	r = call(c, "{\"id\":4,\"cmd\":\"port\",\"args\":[\"bogus\"]}\n");
	CU_ASSERT(!reply_ok(r));
	CU_ASSERT_STRING_EQUAL(reply_error(r), "unknown command 'port' (try 'help')");
	json_decref(r);

	r = call(c, "{\"id\":5,\"cmd\":\"port\"}\n");
	CU_ASSERT(!reply_ok(r));
	json_decref(r);
}

static void test_help_and_version(void)
{
	struct conn *c;
	json_t *r, *cmds;
	const char *prev = "";
	bool seen_port_add = false;
	size_t i;

	CU_ASSERT_FATAL(open_server("help.sock") == 0);
	c = conn_open();

	r = call(c, "{\"id\":1,\"cmd\":\"help\"}\n");
	CU_ASSERT(reply_ok(r));
	cmds = json_object_get(json_object_get(r, "result"), "commands");
	CU_ASSERT(json_array_size(cmds) == 2 + sizeof(test_cmds) / sizeof(test_cmds[0]));
	for (i = 0; i < json_array_size(cmds); i++) {
		json_t *e = json_array_get(cmds, i);
		const char *name = json_string_value(json_object_get(e, "name"));

		CU_ASSERT_PTR_NOT_NULL_FATAL(name);
		CU_ASSERT(strcmp(prev, name) < 0);
		CU_ASSERT(json_is_string(json_object_get(e, "usage")));
		CU_ASSERT(json_is_string(json_object_get(e, "help")));
		if (strcmp(name, "port/add") == 0) {
			seen_port_add = true;
			CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "usage")), "NAME");
		}
		prev = name;
	}
	CU_ASSERT(seen_port_add);
	json_decref(r);

	r = call(c, "{\"id\":2,\"cmd\":\"version\"}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
		json_object_get(r, "result"), "version")), VS_VERSION);
	json_decref(r);
}

static void test_register_errors(void)
{
	static const struct ctl_cmd dup[] = { { "echo", "", 0, 0, cmd_echo, "" } };
	static const struct ctl_cmd builtin[] = { { "help", "", 0, 0, cmd_echo, "" } };
	static const struct ctl_cmd twice[] = {
		{ "t-new", "", 0, 0, cmd_echo, "" },
		{ "t-new", "", 0, 0, cmd_echo, "" },
	};
	static const struct ctl_cmd bad_bounds[] = { { "t-bounds", "", 2, 1, cmd_echo, "" } };
	static const struct ctl_cmd no_fn[] = { { "t-nofn", "", 0, 0, NULL, "" } };

	CU_ASSERT(ctl_cmds_register(dup, 1) == -EEXIST);
	CU_ASSERT(ctl_cmds_register(builtin, 1) == -EEXIST);
	CU_ASSERT(ctl_cmds_register(twice, 2) == -EEXIST);
	CU_ASSERT(ctl_cmds_register(bad_bounds, 1) == -EINVAL);
	CU_ASSERT(ctl_cmds_register(no_fn, 1) == -EINVAL);
	CU_ASSERT(ctl_cmds_register(NULL, 0) == 0);
}

static void test_stale_socket_replaced(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* A socket file whose owner died: bound, never unlinked. */
	use_path("stale.sock");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);

	CU_ASSERT(ctl_server_open(sock_path) == 0);
	CU_ASSERT(server_serves());
}

static void test_live_socket_not_stolen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct conn *c;
	struct stat st;
	FILE *f;

	use_path("live.sock");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(listen(fd, 4) == 0);

	CU_ASSERT(ctl_server_open(sock_path) == -EADDRINUSE);
	/* The other server still owns its socket. */
	c = conn_open();
	CU_ASSERT(c != NULL);
	conn_close(c);
	close(fd);
	unlink(sock_path);

	/* A file that is not a socket is left alone. */
	use_path("regular.sock");
	f = fopen(sock_path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fclose(f);
	CU_ASSERT(ctl_server_open(sock_path) == -EEXIST);
	CU_ASSERT(stat(sock_path, &st) == 0 && S_ISREG(st.st_mode));
	unlink(sock_path);
}

static void test_socket_mode_and_dirs(void)
{
	char dir[160];
	struct stat st;
	mode_t old = umask(0077);   /* the modes must not depend on it */
	int rc;

	snprintf(dir, sizeof(dir), "%s/run/vs", tmpdir);
	use_path("run/vs/ctl.sock");
	rc = ctl_server_open(sock_path);
	umask(old);
	CU_ASSERT_FATAL(rc == 0);

	CU_ASSERT_FATAL(lstat(sock_path, &st) == 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT((st.st_mode & 07777) == 0660);
	CU_ASSERT_FATAL(stat(dir, &st) == 0);
	CU_ASSERT(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	CU_ASSERT(server_serves());

	CU_ASSERT(ctl_server_open(sock_path) == -EALREADY);
	CU_ASSERT(ctl_server_open("") == -EINVAL);

	/* Closing removes the socket and may be repeated. */
	ctl_server_close();
	CU_ASSERT(lstat(sock_path, &st) < 0 && errno == ENOENT);
	ctl_server_close();
	CU_ASSERT(ctl_server_open(sock_path) == 0);
	CU_ASSERT(server_serves());
}

static void test_silent_client_does_not_block(void)
{
	struct conn *silent, *half, *c;
	struct timespec t0;
	json_t *r;

	CU_ASSERT_FATAL(open_server("silent.sock") == 0);
	silent = conn_open();
	half = conn_open();
	CU_ASSERT_FATAL(silent != NULL && half != NULL);
	CU_ASSERT(conn_send_str(half, "{\"id\":5,\"cmd\":\"ec") == 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = conn_open();
	r = call(c, "{\"id\":6,\"cmd\":\"version\"}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT(elapsed_ms(&t0) < 1000);
	json_decref(r);

	r = call(half, "ho\"}\n");
	CU_ASSERT(reply_ok(r));
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 5);
	json_decref(r);
}

static void test_big_reply_slow_reader(void)
{
	char req[128];
	struct conn *slow, *other;
	char *line;
	json_t *r, *data;

	CU_ASSERT_FATAL(open_server("big.sock") == 0);
	slow = conn_open();
	other = conn_open();
	CU_ASSERT_FATAL(slow != NULL && other != NULL);

	snprintf(req, sizeof(req), "{\"id\":11,\"cmd\":\"big\",\"args\":[\"%u\"]}\n", BIG_REPLY);
	CU_ASSERT(conn_send_str(slow, req) == 0);
	ctl_server_poll(10);

	/* While the big reply waits on a full socket, others are served. */
	r = call(other, "{\"id\":12,\"cmd\":\"version\"}\n");
	CU_ASSERT(reply_ok(r));
	json_decref(r);

	line = conn_recv_line_chunked(slow, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT(strlen(line) > BIG_REPLY);
	r = json_loads(line, 0, NULL);
	free(line);
	CU_ASSERT(reply_ok(r));
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 11);
	data = json_object_get(json_object_get(r, "result"), "data");
	CU_ASSERT(json_string_length(data) == BIG_REPLY);
	CU_ASSERT(json_string_length(data) == BIG_REPLY &&
		  json_string_value(data)[0] == 'x' && json_string_value(data)[BIG_REPLY - 1] == 'x');
	json_decref(r);

	/* The same connection serves the next request. */
	r = call(slow, "{\"id\":13,\"cmd\":\"echo\"}\n");
	CU_ASSERT(reply_ok(r));
	json_decref(r);
}

static void test_disconnect_mid_reply(void)
{
	char req[128], b[4096];
	struct conn *c;

	CU_ASSERT_FATAL(open_server("disconnect.sock") == 0);

	/* Mid-reply: read a little of a big reply, then hang up. */
	c = conn_open();
	CU_ASSERT_FATAL(c != NULL);
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"big\",\"args\":[\"%u\"]}\n", BIG_REPLY);
	CU_ASSERT(conn_send_str(c, req) == 0);
	for (int i = 0; i < 20; i++)
		ctl_server_poll(1);
	CU_ASSERT(recv(c->fd, b, sizeof(b), 0) > 0);
	conn_close(c);
	for (int i = 0; i < 20; i++)
		ctl_server_poll(1);
	CU_ASSERT(server_serves());

	/* Mid-request. */
	c = conn_open();
	CU_ASSERT(conn_send_str(c, "{\"id\":1,\"cmd\":\"ve") == 0);
	ctl_server_poll(1);
	conn_close(c);
	for (int i = 0; i < 5; i++)
		ctl_server_poll(1);
	CU_ASSERT(server_serves());
}

static void test_pipelined_and_half_close(void)
{
	struct conn *c;
	json_t *r;

	CU_ASSERT_FATAL(open_server("pipeline.sock") == 0);
	c = conn_open();
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(conn_send_str(c, "{\"id\":1,\"cmd\":\"echo\"}\n{\"id\":2,\"cmd\":\"nope\"}\n"
			        "{\"id\":3,\"cmd\":\"version\"}\n") == 0);
	shutdown(c->fd, SHUT_WR);   /* like `echo ... | socat`: replies still due */
	for (int id = 1; id <= 3; id++) {
		r = conn_recv_json(c);
		CU_ASSERT(json_integer_value(json_object_get(r, "id")) == id);
		CU_ASSERT(reply_ok(r) == (id != 2));
		json_decref(r);
	}
	CU_ASSERT(conn_wait_closed(c));
}

static void test_last_request_without_newline_answered(void)
{
	struct conn *c;
	json_t *r;

	CU_ASSERT_FATAL(open_server("nonl.sock") == 0);
	c = conn_open();
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(conn_send_str(c, "{\"id\":5,\"cmd\":\"version\"}") == 0);
	shutdown(c->fd, SHUT_WR);
	r = conn_recv_json(c);
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 5);
	CU_ASSERT(reply_ok(r));
	json_decref(r);
	CU_ASSERT(conn_wait_closed(c));
}

static void test_too_many_clients(void)
{
	struct conn *c[65];
	json_t *r;
	int i;

	CU_ASSERT_FATAL(open_server("many.sock") == 0);
	for (i = 0; i < 64; i++) {
		c[i] = conn_open();
		CU_ASSERT_FATAL(c[i] != NULL);
		ctl_server_poll(0);
	}
	c[64] = conn_open();
	CU_ASSERT_FATAL(c[64] != NULL);
	/* The extra one is turned away... */
	r = conn_recv_json(c[64]);
	CU_ASSERT(r != NULL && !reply_ok(r));
	json_decref(r);
	CU_ASSERT(conn_wait_closed(c[64]));
	/* ...and every other client is still served. */
	r = call(c[0], "{\"id\":1,\"cmd\":\"version\"}\n");
	CU_ASSERT(reply_ok(r));
	json_decref(r);
	r = call(c[63], "{\"id\":2,\"cmd\":\"version\"}\n");
	CU_ASSERT(reply_ok(r));
	json_decref(r);
	/* A freed slot is reusable. */
	conn_close(c[0]);
	ctl_server_poll(10);
	CU_ASSERT(server_serves());
}

/* ---- harness ---- */

static int suite_init(void)
{
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ctl_server.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return ctl_cmds_register(test_cmds, sizeof(test_cmds) / sizeof(test_cmds[0])) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
	char dir[sizeof(tmpdir) + 16];

	snprintf(dir, sizeof(dir), "%s/run/vs", tmpdir);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	rmdir(dir);
	return rmdir(tmpdir) == 0 ? 0 : -1;   /* fails if a test left a file behind */
}

static void test_setup(void)
{
	sock_path[0] = '\0';
}

static void test_teardown(void)
{
	for (int i = 0; i < MAX_CONNS; i++)
		conn_close(&conns[i]);
	ctl_server_close();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "ok reply echoes id", test_ok_reply_echoes_id },
		{ "unknown command", test_unknown_command },
		{ "malformed then good request", test_malformed_then_good },
		{ "oversized request closes only that client", test_oversized_request },
		{ "argument count bounds", test_arg_bounds },
		{ "module/verb resolution", test_module_verb },
		{ "help sorted, version", test_help_and_version },
		{ "registration errors", test_register_errors },
		{ "stale socket replaced", test_stale_socket_replaced },
		{ "live socket not stolen", test_live_socket_not_stolen },
		{ "socket mode 0660, parent dirs, close twice", test_socket_mode_and_dirs },
		{ "silent client does not block others", test_silent_client_does_not_block },
		{ "5 MB reply to a slow reader", test_big_reply_slow_reader },
		{ "client disconnect mid-reply", test_disconnect_mid_reply },
		{ "pipelined requests and half-close", test_pipelined_and_half_close },
		{ "last request without newline answered", test_last_request_without_newline_answered },
		{ "too many clients", test_too_many_clients },
	};
	const struct unit_suite suite = { "ctl_server", tests, UNIT_DIM(tests), suite_init, suite_clean,
					  test_setup, test_teardown };

	return unit_run(&suite, NULL);
}
