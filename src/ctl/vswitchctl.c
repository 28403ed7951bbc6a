/* vswitchctl: the command-line client of dpdk-vswitch's control socket.
 *
 * Sends one request (ctl_proto.h), waits for its reply and prints the
 * result as JSON (--json) or as "key: value" lines and text tables.  Links
 * only jansson: it knows nothing of the commands, so every command the
 * daemon registers works here unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_proto.h"

#ifndef VS_VERSION
#define VS_VERSION "dev"
#endif

#define EXIT_CMD_FAILED 1   /* the daemon answered ok:false */
#define EXIT_TROUBLE 2      /* usage, connection, timeout, malformed reply */
#define REPLY_MAX (1u << 30)
#define INDENT "  "
#define COL_GAP "  "

static const char *prog = "vswitchctl";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [OPTIONS] COMMAND [ARGS...]\n"
		"\n"
		"Send COMMAND to dpdk-vswitch over its control socket and print the result.\n"
		"Run '%s help' to list the commands the daemon understands;\n"
		"'%s port add NAME' and '%s port/add NAME' are the same command.\n"
		"\n"
		"options:\n"
		"  -s, --socket PATH      control socket (default: $VSWITCHCTL_SOCKET,\n"
		"                         else %s)\n"
		"  -j, --json             print the result as JSON\n"
		"  -t, --timeout SECONDS  give up after SECONDS (default 10)\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n"
		"\n"
		"exit status: 0 ok, 1 the command failed, 2 usage, connection or protocol error\n",
		prog, prog, prog, prog, CTL_PROTO_DEFAULT_SOCKET);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- talking to the daemon ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline.  Returns 0 or -ETIMEDOUT. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_to(const char *path, long long deadline, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long left = deadline - now_ms();
	struct timeval tv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };
	int fd, rc;

	if (left <= 0)
		tv = (struct timeval){ .tv_usec = 1000 };   /* zero would mean: wait forever */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		fail("socket: %s", strerror(errno));
		return rc;
	}
	/* A blocking unix connect waits for backlog room at most SO_SNDTIMEO. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		if (errno == EAGAIN || errno == EINPROGRESS)
			fail("timed out connecting to %s", path);
		else
			fail("cannot connect to %s: %s (is dpdk-vswitch running?)", path,
			     strerror(errno));
		goto close_fd;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		rc = -errno;
		fail("fcntl: %s", strerror(errno));
		goto close_fd;
	}
	*fdp = fd;
	return 0;

close_fd:
	close(fd);
	return rc;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		int rc;

		if (n >= 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return -errno;   /* the caller reads why, if the switch said */
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = -errno;
			fail("sending the request: %s", strerror(errno));
			return rc;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0) {
			fail(rc == -ETIMEDOUT ? "timed out sending the request" : "poll: %s",
			     strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Read up to the first newline.  On success *@line is malloc'd and
 * NUL-terminated in place of the newline. */
static int recv_line(int fd, long long deadline, char **line, size_t *len)
{
	size_t cap = 64 * 1024, have = 0, scanned = 0;
	char *buf = malloc(cap), *nl;
	int rc;

	if (buf == NULL)
		goto nomem;
	for (;;) {
		ssize_t n;

		if (cap - have < 16 * 1024) {
			char *bigger;

			if (cap >= REPLY_MAX) {
				fail("reply larger than %u bytes", REPLY_MAX);
				rc = -EMSGSIZE;
				goto free_buf;
			}
			bigger = realloc(buf, cap * 2);
			if (bigger == NULL)
				goto nomem;
			buf = bigger;
			cap *= 2;
		}
		n = recv(fd, buf + have, cap - have, 0);
		if (n > 0) {
			have += (size_t)n;
			nl = memchr(buf + scanned, '\n', have - scanned);
			if (nl != NULL)
				break;
			scanned = have;
			continue;
		}
		if (n == 0) {
			fail("dpdk-vswitch closed the connection before replying");
			rc = -ECONNRESET;
			goto free_buf;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = -errno;
			fail("reading the reply: %s", strerror(errno));
			goto free_buf;
		}
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0) {
			fail(rc == -ETIMEDOUT ? "timed out waiting for the reply" : "poll: %s",
			     strerror(-rc));
			goto free_buf;
		}
	}
	*nl = '\0';
	*line = buf;
	*len = (size_t)(nl - buf);
	return 0;

nomem:
	fail("out of memory");
	rc = -ENOMEM;
free_buf:
	free(buf);
	return rc;
}

/* ---- human output ---- */

/* Columns a UTF-8 string takes (code points; good enough for names). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void put_padded(const char *s, size_t width, bool right)
{
	size_t w = text_width(s);

	if (right)
		for (; w < width; w++)
			putchar(' ');
	fputs(s, stdout);
	if (!right)
		for (; w < width; w++)
			putchar(' ');
}

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static bool all_scalars(const json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (!is_scalar(v))
			return false;
	return true;
}

static bool all_objects(const json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (!json_is_object(v))
			return false;
	return true;
}

/* Control characters would break the alignment. */
static char *sanitized(const char *s)
{
	char *t = strdup(s);

	for (char *p = t; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return t;
}

/* Scalars joined with ","; malloc'd. */
static char *join_scalars(const json_t *a);

/* A value as table cell or "key: value" text; malloc'd. */
static char *value_text(const json_t *v)
{
	char *s = NULL;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return sanitized(json_string_value(v));
	case JSON_INTEGER:
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
			s = NULL;
		return s;
	case JSON_REAL:
		if (asprintf(&s, "%.15g", json_real_value(v)) < 0)
			s = NULL;
		return s;
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_NULL:
		return strdup("-");
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			return strdup("-");
		if (all_scalars(v))
			return join_scalars(v);
		break;
	case JSON_OBJECT:
	default:
		break;
	}
	/* Nested structures: compact JSON. */
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s != NULL) {
		char *t = sanitized(s);

		free(s);
		s = t;
	}
	return s;
}

static char *join_scalars(const json_t *a)
{
	char *s = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&s, &len);   /* linear however long the array */
	json_t *e;

	if (f == NULL)
		return NULL;
	json_array_foreach(a, i, e) {
		char *t = value_text(e);

		if (t == NULL) {
			fclose(f);
			free(s);
			return NULL;
		}
		fprintf(f, "%s%s", i ? "," : "", t);
		free(t);
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Members of an object that print as a "key: value" line. */
static bool is_kv_member(const json_t *v)
{
	if (is_scalar(v))
		return true;
	return json_is_array(v) && json_array_size(v) > 0 && !all_objects(v);
}

/* Returns how many lines it printed. */
static size_t print_kv_block(const json_t *obj, const char *indent)
{
	size_t lines = 0;
	size_t width = 0;
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
		if (is_kv_member(v) && text_width(key) > width)
			width = text_width(key);
	json_object_foreach((json_t *)obj, key, v) {
		char *t;

		if (!is_kv_member(v))
			continue;
		t = value_text(v);
		fputs(indent, stdout);
		fputs(key, stdout);
		putchar(':');
		put_padded("", width - text_width(key), false);
		printf(" %s\n", t ? t : "?");
		free(t);
		lines++;
	}
	return lines;
}

static bool printed_something;

static void print_heading(const char *path)
{
	if (printed_something)
		putchar('\n');
	printf("%s\n", path);
	printed_something = true;
}

/* Every key of every row, in order of first appearance (rows of different
 * kinds, e.g. physical and vhost-user ports, have different fields). */
static json_t *all_columns(const json_t *rows)
{
	json_t *cols = json_object(), *row, *v;
	const char *key;
	size_t r;

	json_array_foreach(rows, r, row)
		if (json_is_object(row))
			json_object_foreach(row, key, v)
				if (json_object_get(cols, key) == NULL)
					json_object_set_new(cols, key, json_null());
	return cols;
}

/* An array of objects: one row each, a column per key found in any row. */
static void print_table(const json_t *rows)
{
	json_t *first = all_columns(rows);
	size_t ncols = json_object_size(first), nrows = json_array_size(rows);
	const char **cols = calloc(ncols ? ncols : 1, sizeof(*cols));
	size_t *width = calloc(ncols ? ncols : 1, sizeof(*width));
	bool *numeric = calloc(ncols ? ncols : 1, sizeof(*numeric));
	char **cells = calloc(nrows * ncols + 1, sizeof(*cells));
	size_t c, r;
	const char *key;
	json_t *v;

	if (cols == NULL || width == NULL || numeric == NULL || cells == NULL) {
		fail("out of memory");
		goto free_all;
	}
	if (nrows == 0 || ncols == 0) {
		printf(INDENT "(none)\n");
		goto free_all;
	}

	c = 0;
	json_object_foreach(first, key, v) {
		cols[c] = key;
		width[c] = text_width(key);
		numeric[c] = true;
		c++;
	}
	for (r = 0; r < nrows; r++) {
		const json_t *row = json_array_get(rows, r);

		for (c = 0; c < ncols; c++) {
			json_t *cell = json_object_get(row, cols[c]);
			char **t = &cells[r * ncols + c];

			*t = cell ? value_text(cell) : strdup("-");
			if (*t == NULL)
				*t = strdup("?");
			if (*t != NULL && text_width(*t) > width[c])
				width[c] = text_width(*t);
			if (cell != NULL && !json_is_null(cell) && !json_is_number(cell))
				numeric[c] = false;
		}
	}

	fputs(INDENT, stdout);
	for (c = 0; c < ncols; c++) {
		char *h = strdup(cols[c]);

		for (char *p = h; p && *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		if (c > 0)
			fputs(COL_GAP, stdout);
		/* No trailing blanks after the last column. */
		put_padded(h ? h : cols[c], c + 1 < ncols || numeric[c] ? width[c] : 0, numeric[c]);
		free(h);
	}
	putchar('\n');
	for (r = 0; r < nrows; r++) {
		fputs(INDENT, stdout);
		for (c = 0; c < ncols; c++) {
			const char *t = cells[r * ncols + c];

			if (c > 0)
				fputs(COL_GAP, stdout);
			put_padded(t ? t : "?", c + 1 < ncols || numeric[c] ? width[c] : 0,
				   numeric[c]);
		}
		putchar('\n');
	}

free_all:
	for (r = 0; cells != NULL && r < nrows * ncols; r++)
		free(cells[r]);
	free(cells);
	free(numeric);
	free(width);
	json_decref(first);
	free(cols);
}

/* Scalars first as "key: value", then each table and nested object under
 * its own heading (a dotted path below the top level). */
static void print_object(const json_t *obj, const char *path)
{
	const char *key;
	json_t *v;

	if (print_kv_block(obj, path[0] ? INDENT : "") > 0)
		printed_something = true;
	json_object_foreach((json_t *)obj, key, v) {
		char *sub = NULL;

		if (is_kv_member(v))
			continue;
		if (asprintf(&sub, "%s%s%s", path, path[0] ? "." : "", key) < 0)
			continue;
		print_heading(sub);
		if (json_is_array(v))
			print_table(v);
		else if (json_object_size(v) == 0)
			printf(INDENT "(none)\n");
		else
			print_object(v, sub);
		free(sub);
	}
}

/* `help` as a command list, "module/verb" shown the way it is typed. */
static void print_help(const json_t *cmds)
{
	size_t i, width = 0, n = json_array_size(cmds);
	char **lines = calloc(n + 1, sizeof(*lines));
	json_t *e;

	if (lines == NULL) {
		fail("out of memory");
		return;
	}
	json_array_foreach(cmds, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *use = json_string_value(json_object_get(e, "usage"));
		char *p;

		if (name == NULL)
			name = "?";
		if (asprintf(&lines[i], "%s%s%s", name, use && *use ? " " : "",
			     use ? use : "") < 0) {
			lines[i] = NULL;
			continue;
		}
		p = memchr(lines[i], '/', strlen(name));
		if (p != NULL)
			*p = ' ';
		if (text_width(lines[i]) > width)
			width = text_width(lines[i]);
	}
	printf("usage: %s [OPTIONS] COMMAND [ARGS...]\n\ncommands:\n", prog);
	json_array_foreach(cmds, i, e) {
		const char *help = json_string_value(json_object_get(e, "help"));

		fputs(INDENT, stdout);
		if (help != NULL && *help) {
			put_padded(lines[i] ? lines[i] : "?", width, false);
			printf(COL_GAP "%s\n", help);
		} else {
			printf("%s\n", lines[i] ? lines[i] : "?");
		}
		free(lines[i]);
	}
	free(lines);
}

static void print_result(const char *cmd, const json_t *result, bool as_json)
{
	if (as_json) {
		json_dumpf(result, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
	} else if (strcmp(cmd, "help") == 0 &&
		   json_is_array(json_object_get(result, "commands"))) {
		print_help(json_object_get(result, "commands"));
	} else if (json_is_object(result)) {
		print_object(result, "");
	} else {
		char *t = value_text(result);

		printf("%s\n", t ? t : "?");
		free(t);
	}
}

/* ---- main ---- */

static int parse_timeout(const char *s, double *secs)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 86400)
		return -EINVAL;
	*secs = v;
	return 0;
}

/* The request line, or NULL with a message printed. */
static char *build_request(char **argv, int argc, size_t *len)
{
	json_t *req, *args = json_array();
	char *text, *line;

	if (args == NULL)
		goto nomem;
	for (int i = 1; i < argc; i++)
		if (json_array_append_new(args, json_string(argv[i])) < 0) {
			json_decref(args);
			fail("argument %d is not valid UTF-8", i);
			return NULL;
		}
	req = json_pack("{s:i, s:s?, s:o}", "id", 1, "cmd", argv[0], "args", args);
	if (req == NULL) {
		fail("command name is not valid UTF-8");
		return NULL;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		goto nomem;
	*len = strlen(text);
	if (*len > CTL_PROTO_MAX_MSG) {
		fail("request too large (max %d bytes)", CTL_PROTO_MAX_MSG);
		free(text);
		return NULL;
	}
	line = realloc(text, *len + 2);
	if (line == NULL) {
		free(text);
		goto nomem;
	}
	line[(*len)++] = '\n';
	line[*len] = '\0';
	return line;

nomem:
	fail("out of memory");
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("VSWITCHCTL_SOCKET");
	char *req = NULL, *reply = NULL, *abs_path = NULL;
	size_t req_len, reply_len = 0;
	json_t *msg = NULL, *ok, *result;
	json_error_t jerr;
	double timeout = 10;
	long long deadline;
	bool as_json = false;
	int opt, rc, fd = -1, status = EXIT_TROUBLE;

	if (path == NULL || path[0] == '\0')
		path = CTL_PROTO_DEFAULT_SOCKET;
	/* '+': options end at COMMAND, so its arguments may start with '-'. */
	while ((opt = getopt_long(argc, argv, "+s:jt:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 't':
			if (parse_timeout(optarg, &timeout) < 0) {
				fail("invalid timeout '%s' (seconds, > 0)", optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", prog, VS_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_TROUBLE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_TROUBLE;
	}

	/* The switch runs in its own directory: give it the file as we see it
	 * (config check FILE, service register FILE, profile create FILE). */
	if (argc - optind == 3 && argv[optind + 2][0] != '/' &&
	    ((strcmp(argv[optind], "config") == 0 && strcmp(argv[optind + 1], "check") == 0) ||
	     (strcmp(argv[optind], "service") == 0 && strcmp(argv[optind + 1], "register") == 0) ||
	     (strcmp(argv[optind], "profile") == 0 && strcmp(argv[optind + 1], "create") == 0 &&
	      strchr(argv[optind + 2], '=') == NULL))) {
		abs_path = realpath(argv[optind + 2], NULL);
		if (abs_path == NULL) {
			fail("%s: %s", argv[optind + 2], strerror(errno));
			status = EXIT_CMD_FAILED;
			goto out;
		}
		argv[optind + 2] = abs_path;
	}
	req = build_request(argv + optind, argc - optind, &req_len);
	if (req == NULL)
		goto out;
	deadline = now_ms() + (long long)(timeout * 1000);
	if (connect_to(path, deadline, &fd) < 0)
		goto out;
	/* A refused connection (e.g. too many clients) is closed after one
	 * error line: the send may fail, the line is still there to read. */
	rc = send_all(fd, req, req_len, deadline);
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET)
		goto out;
	if (recv_line(fd, deadline, &reply, &reply_len) < 0)
		goto out;

	msg = json_loadb(reply, reply_len, 0, &jerr);
	if (msg == NULL) {
		fail("malformed reply: %s", jerr.text);
		goto out;
	}
	ok = json_object_get(msg, "ok");
	if (!json_is_boolean(ok)) {
		fail("malformed reply: no \"ok\"");
		goto out;
	}
	if (json_is_false(ok)) {
		const char *err = json_string_value(json_object_get(msg, "error"));

		fail("%s", err ? err : "command failed (no error message)");
		status = EXIT_CMD_FAILED;
		goto out;
	}
	result = json_object_get(msg, "result");
	if (result == NULL) {
		result = json_object();
		json_object_set_new(msg, "result", result);
	}
	print_result(argv[optind], result, as_json);
	status = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fail("writing the output: %s", strerror(errno));
		status = EXIT_TROUBLE;
	}

out:
	json_decref(msg);
	free(reply);
	free(req);
	free(abs_path);
	if (fd >= 0)
		close(fd);
	return status;
}
