/* The control socket server (ctl_server.h): framing, per-client buffers and
 * the command table, run by the control thread between its other duties.
 *
 * Everything here belongs to the control thread; nothing is shared with
 * workers, so there is no locking.  A client gets one reply per request, in
 * order; while a reply is being written its next request waits unread, so a
 * slow reader only ever holds one reply in memory.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <rte_log.h>

#include "ctl_proto.h"
#include "ctl_server.h"
#include "ctl_sockpath.h"

#ifndef VS_VERSION
#define VS_VERSION "dev"
#endif

RTE_LOG_REGISTER_SUFFIX(ctl_logtype, ctl, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, ctl_logtype, "ctl: " fmt "\n", ##__VA_ARGS__)

/* At most one message per call site every 10 s: for errors a client or a
 * resource shortage can trigger over and over. */
#define LOG_RATELIMITED(level, fmt, ...) do { \
	static uint64_t last_; \
	uint64_t now_ = now_ms(); \
	if (last_ == 0 || now_ - last_ >= 10000) { \
		last_ = now_; \
		LOG(level, fmt, ##__VA_ARGS__); \
	} \
} while (0)

#define MAX_CLIENTS 64
#define MAX_CMDS 256
#define IDLE_TIMEOUT_MS 30000
#define LISTEN_BACKLOG 64
#define ACCEPT_PAUSE_MS 100   /* back-off when accept() runs out of fds or memory */
#define ACCEPT_BURST 16       /* connections taken per poll, so clients are not starved */
#define ERR_LEN 512
#define IN_BUF_SIZE (CTL_PROTO_MAX_MSG + 1)  /* one byte more tells "too large" apart */

struct client {
	int fd;                 /* the connection */
	char *in;               /* unparsed request bytes, IN_BUF_SIZE; NULL: slot free */
	size_t in_len;          /* bytes in @in */
	size_t in_scanned;      /* prefix of @in known to hold no newline */
	char *out;              /* reply being written; NULL when none */
	size_t out_len;         /* bytes in @out, newline included */
	size_t out_off;         /* bytes of @out already sent */
	uint64_t last_active;   /* ms (monotonic) of the last byte in or out */
	bool eof;               /* peer shut its side: answer what is buffered, then close */
	bool closing;           /* close once @out is sent (request too large) */
};

static struct {
	int listen_fd;              /* -1: not open */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;                  /* identity of the socket file we created, so */
	ino_t ino;                  /* close never unlinks someone else's */
	uint64_t accept_resume;     /* ms; accept paused until then after EMFILE & co */
	struct client clients[MAX_CLIENTS];
} srv = { .listen_fd = -1 };

static int cmd_help(json_t *args, json_t **result, char *err, size_t errlen);
static int cmd_version(json_t *args, json_t **result, char *err, size_t errlen);

static const struct ctl_cmd builtin_cmds[] = {
	{ "help", "", 0, 0, cmd_help, "list the commands this daemon understands" },
	{ "version", "", 0, 0, cmd_version, "show the dpdk-vswitch version" },
};

static const struct ctl_cmd *cmd_table[MAX_CMDS] = { &builtin_cmds[0], &builtin_cmds[1] };
static unsigned n_cmds = 2;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- command table ---- */

static const struct ctl_cmd *cmd_find(const char *name)
{
	for (unsigned i = 0; i < n_cmds; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

int ctl_cmds_register(const struct ctl_cmd *cmds, unsigned n)
{
	/* All or nothing: validate the whole batch before adding any. */
	for (unsigned i = 0; i < n; i++) {
		const struct ctl_cmd *c = &cmds[i];

		if (c->name == NULL || c->name[0] == '\0' || c->fn == NULL ||
		    c->min_args > c->max_args)
			return -EINVAL;
		if (cmd_find(c->name) != NULL)
			return -EEXIST;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(cmds[j].name, c->name) == 0)
				return -EEXIST;
	}
	if (n > MAX_CMDS - n_cmds)
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++)
		cmd_table[n_cmds++] = &cmds[i];
	return 0;
}

static int cmd_cmp(const void *a, const void *b)
{
	const struct ctl_cmd *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int cmd_help(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct ctl_cmd *sorted[MAX_CMDS];
	json_t *list = json_array();

	(void)args;
	if (list == NULL)
		goto nomem;
	memcpy(sorted, cmd_table, n_cmds * sizeof(sorted[0]));
	qsort(sorted, n_cmds, sizeof(sorted[0]), cmd_cmp);
	for (unsigned i = 0; i < n_cmds; i++) {
		const struct ctl_cmd *c = sorted[i];

		if (json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "name", c->name,
				"usage", c->usage ? c->usage : "",
				"help", c->help ? c->help : "")) < 0)
			goto free_list;
	}
	*result = json_pack("{s:o}", "commands", list);
	if (*result == NULL)
		goto nomem;
	return 0;

free_list:
	json_decref(list);
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int cmd_version(json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args;
	*result = json_pack("{s:s}", "version", VS_VERSION);
	if (*result == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- requests ---- */

/* Find and run the command of @req; fills @result or @err. */
static int dispatch(json_t *req, json_t **result, char *err, size_t errlen)
{
	const struct ctl_cmd *c;
	json_t *cmd, *args, *argv = NULL;
	const char *name;
	size_t i, n;
	int rc;

	if (!json_is_object(req)) {
		snprintf(err, errlen, "malformed request: expected a JSON object");
		return -EINVAL;
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_string(cmd)) {
		snprintf(err, errlen, "malformed request: 'cmd' must be a string");
		return -EINVAL;
	}
	args = json_object_get(req, "args");
	if (args == NULL) {
		args = json_array();
		if (args == NULL)
			goto nomem;
	} else if (json_is_array(args)) {
		json_incref(args);
	} else {
		goto bad_args;
	}
	for (i = 0; i < json_array_size(args); i++)
		if (!json_is_string(json_array_get(args, i))) {
			json_decref(args);
			goto bad_args;
		}

	name = json_string_value(cmd);
	c = cmd_find(name);
	if (c != NULL) {
		argv = args;
	} else if (json_array_size(args) > 0) {
		/* "port add x" reaches "port/add" with ["x"]. */
		char verb[256];
		int len = snprintf(verb, sizeof(verb), "%s/%s", name,
				   json_string_value(json_array_get(args, 0)));

		if (len > 0 && (size_t)len < sizeof(verb))
			c = cmd_find(verb);
		if (c != NULL) {
			argv = json_array();
			if (argv == NULL) {
				json_decref(args);
				goto nomem;
			}
			for (i = 1; i < json_array_size(args); i++)
				json_array_append(argv, json_array_get(args, i));
			json_decref(args);
		}
	}
	if (c == NULL) {
		json_decref(args);
		snprintf(err, errlen, "unknown command '%s' (try 'help')", name);
		return -ENOENT;
	}

	n = json_array_size(argv);
	if (n < c->min_args || n > c->max_args) {
		const char *usage = c->usage ? c->usage : "";

		snprintf(err, errlen, "usage: %s%s%s", c->name, usage[0] ? " " : "", usage);
		rc = -EINVAL;
		goto free_argv;
	}

	*result = NULL;
	rc = c->fn(argv, result, err, errlen);
	if (rc != 0) {
		json_decref(*result);
		*result = NULL;
		if (rc > 0)
			rc = -rc;
		err[errlen - 1] = '\0';
		if (err[0] == '\0')
			snprintf(err, errlen, "%s failed: %s", c->name, strerror(-rc));
		goto free_argv;
	}
	if (*result == NULL)
		*result = json_object();
	if (*result == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
free_argv:
	json_decref(argv);
	return rc;

bad_args:
	snprintf(err, errlen, "malformed request: 'args' must be an array of strings");
	return -EINVAL;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* jansson rejects invalid UTF-8, which truncating a message can produce. */
static json_t *message_string(char *msg)
{
	json_t *s = json_string(msg);

	if (s == NULL) {
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		s = json_string(msg);
	}
	return s;
}

/* Build the reply line for one request.  Returns a malloc'd, newline
 * terminated string, or NULL when out of memory. */
static char *make_reply(json_t *id, json_t *result, char *error, size_t *len)
{
	json_t *reply = json_object();
	char *text = NULL, *line;
	size_t n;

	if (reply == NULL)
		goto free_result;
	if (json_is_integer(id))
		json_object_set(reply, "id", id);
	if (result != NULL) {
		json_object_set_new(reply, "ok", json_true());
		json_object_set_new(reply, "result", result);
		result = NULL;
	} else {
		json_object_set_new(reply, "ok", json_false());
		json_object_set_new(reply, "error", message_string(error));
	}
	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text == NULL)
		goto free_result;
	n = strlen(text);
	line = realloc(text, n + 2);
	if (line == NULL) {
		free(text);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;

free_result:
	json_decref(result);
	return NULL;
}

static void client_queue(struct client *c, char *line, size_t len)
{
	c->out = line;
	c->out_len = len;
	c->out_off = 0;
}

int ctl_server_handle_line(const char *text, size_t len, char **reply, size_t *reply_len)
{
	char err[ERR_LEN] = "";
	json_t *req, *result = NULL;
	json_error_t jerr;
	char *line = NULL;
	size_t line_len = 0, i;
	bool ok;

	*reply = NULL;
	*reply_len = 0;
	for (i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
			break;
	if (i == len)
		return 0;   /* blank line: not a request, no reply */

	req = json_loadb(text, len, 0, &jerr);
	if (req == NULL) {
		snprintf(err, sizeof(err), "malformed request: %s", jerr.text);
		line = make_reply(NULL, NULL, err, &line_len);
	} else {
		ok = dispatch(req, &result, err, sizeof(err)) == 0;
		if (!ok) {
			LOG(DEBUG, "request failed: %s", err);
			result = NULL;
		}
		line = make_reply(json_object_get(req, "id"), result, err, &line_len);
		if (line == NULL && ok) {
			/* The result itself could not be encoded; say so instead. */
			snprintf(err, sizeof(err), "cannot encode the reply");
			line = make_reply(json_object_get(req, "id"), NULL, err, &line_len);
		}
		json_decref(req);
	}
	if (line == NULL)
		return -ENOMEM;
	*reply = line;
	*reply_len = line_len;
	return 0;
}

/* Answer the request in c->in[0, len) and drop it (and its newline) from the buffer. */
static void client_serve_line(struct client *c, size_t len)
{
	char *line;
	size_t line_len;

	if (ctl_server_handle_line(c->in, len, &line, &line_len) < 0) {
		LOG_RATELIMITED(ERR, "cannot build a reply, closing the connection");
		c->closing = true;
	} else if (line != NULL) {
		client_queue(c, line, line_len);
	}
	memmove(c->in, c->in + len + 1, c->in_len - len - 1);
	c->in_len -= len + 1;
	c->in_scanned = 0;
}

/* ---- connections ---- */

static void client_close(struct client *c)
{
	if (c->in == NULL)
		return;
	close(c->fd);
	free(c->in);
	free(c->out);
	*c = (struct client){ .in = NULL };
}

/* Send what the socket takes now.  Returns 0, or a negative errno when the
 * connection is dead. */
static int client_flush(struct client *c, uint64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->out_off += (size_t)n;
		c->last_active = now;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

/* Move a client as far as it goes without blocking: send the pending reply,
 * then answer buffered requests one by one. */
static void client_progress(struct client *c, uint64_t now)
{
	for (;;) {
		char *nl;

		if (c->out != NULL) {
			int rc = client_flush(c, now);

			if (rc < 0) {
				LOG(DEBUG, "client gone mid-reply: %s", strerror(-rc));
				client_close(c);
				return;
			}
			if (c->out != NULL)
				return;   /* socket full: wait for POLLOUT */
		}
		if (c->closing) {
			client_close(c);
			return;
		}
		nl = memchr(c->in + c->in_scanned, '\n', c->in_len - c->in_scanned);
		if (nl != NULL) {
			client_serve_line(c, (size_t)(nl - c->in));
			continue;
		}
		c->in_scanned = c->in_len;
		if (c->in_len > CTL_PROTO_MAX_MSG) {
			char *line = NULL;
			int len = asprintf(&line, "{\"ok\":false,\"error\":\"request too large "
					   "(max %d bytes)\"}\n", CTL_PROTO_MAX_MSG);

			LOG(DEBUG, "request too large, closing the connection");
			c->closing = true;
			if (len > 0)
				client_queue(c, line, (size_t)len);
			continue;
		}
		if (c->eof) {
			/* a last request without its newline is still a request */
			if (c->in_len > 0 && c->out == NULL && !c->closing) {
				c->in[c->in_len++] = '\n';   /* in_len <= CTL_PROTO_MAX_MSG here */
				client_serve_line(c, c->in_len - 1);
				continue;
			}
			client_close(c);
			return;
		}
		return;   /* wait for more input */
	}
}

/* Read what is available.  Returns 0, or a negative errno when the connection is dead. */
static int client_read(struct client *c, uint64_t now)
{
	ssize_t n;

	do
		n = recv(c->fd, c->in + c->in_len, IN_BUF_SIZE - c->in_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		c->eof = true;
	c->in_len += (size_t)n;
	c->last_active = now;
	return 0;
}

static void client_event(struct client *c, short revents, uint64_t now)
{
	if (revents & POLLNVAL) {
		client_close(c);
		return;
	}
	/* Input is only polled for while no reply is pending. */
	if (c->out == NULL && (revents & (POLLIN | POLLHUP | POLLERR))) {
		int rc = client_read(c, now);

		if (rc < 0) {
			LOG(DEBUG, "client read failed: %s", strerror(-rc));
			client_close(c);
			return;
		}
	}
	client_progress(c, now);
}

static void accept_ready(uint64_t now)
{
	char busy[80];
	int busy_len = snprintf(busy, sizeof(busy),
		"{\"ok\":false,\"error\":\"too many clients (max %d)\"}\n", MAX_CLIENTS);

	for (int burst = 0; burst < ACCEPT_BURST; burst++) {
		struct client *c = NULL;
		int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of fds or memory: the socket stays readable, so
			 * stop polling it for a while rather than spin. */
			LOG_RATELIMITED(ERR, "accept failed: %s", strerror(errno));
			srv.accept_resume = now + ACCEPT_PAUSE_MS;
			return;
		}
		for (unsigned i = 0; i < MAX_CLIENTS; i++)
			if (srv.clients[i].in == NULL) {
				c = &srv.clients[i];
				break;
			}
		if (c == NULL) {
			/* Say why rather than leave the client guessing. */
			LOG_RATELIMITED(WARNING, "too many clients (max %d), refusing one", MAX_CLIENTS);
			(void)send(fd, busy, (size_t)busy_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		*c = (struct client){ .fd = fd, .in = malloc(IN_BUF_SIZE), .last_active = now };
		if (c->in == NULL) {
			LOG_RATELIMITED(ERR, "no memory for a client buffer");
			close(fd);
		}
	}
}

void ctl_server_poll(int timeout_ms)
{
	struct pollfd pfd[1 + MAX_CLIENTS];
	struct client *owner[1 + MAX_CLIENTS];
	uint64_t now = now_ms(), deadline = UINT64_MAX;
	nfds_t n = 0;
	int rc;

	if (srv.listen_fd >= 0) {
		if (now >= srv.accept_resume) {
			pfd[n] = (struct pollfd){ .fd = srv.listen_fd, .events = POLLIN };
			owner[n++] = NULL;
		} else {
			deadline = srv.accept_resume;
		}
	}
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &srv.clients[i];

		if (c->in == NULL)
			continue;
		pfd[n] = (struct pollfd){ .fd = c->fd, .events = c->out ? POLLOUT : POLLIN };
		owner[n++] = c;
		if (c->last_active + IDLE_TIMEOUT_MS < deadline)
			deadline = c->last_active + IDLE_TIMEOUT_MS;
	}
	if (deadline != UINT64_MAX) {
		uint64_t wait = deadline > now ? deadline - now : 0;

		if (timeout_ms < 0 || wait < (uint64_t)timeout_ms)
			timeout_ms = (int)wait;
	} else if (n == 0 && timeout_ms < 0) {
		return;   /* nothing could ever wake us */
	}

	rc = poll(pfd, n, timeout_ms);
	if (rc < 0 && errno != EINTR)
		LOG_RATELIMITED(ERR, "poll failed: %s", strerror(errno));
	now = now_ms();
	for (nfds_t i = 0; rc > 0 && i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (owner[i] == NULL)
			accept_ready(now);
		else
			client_event(owner[i], pfd[i].revents, now);
	}

	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &srv.clients[i];

		if (c->in != NULL && now - c->last_active >= IDLE_TIMEOUT_MS) {
			LOG(DEBUG, "closing a client idle for %d s", IDLE_TIMEOUT_MS / 1000);
			client_close(c);
		}
	}
}

/* ---- listening socket ---- */

int ctl_server_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	if (srv.listen_fd >= 0)
		return -EALREADY;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	rc = ctl_sockpath_claim(path);
	if (rc < 0)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto close_fd;
	}
	/* Nobody can connect before listen(), so the umask's mode never shows. */
	if (chmod(path, 0660) < 0 || lstat(path, &st) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		rc = -errno;
		goto unlink_path;
	}

	srv.listen_fd = fd;
	srv.dev = st.st_dev;
	srv.ino = st.st_ino;
	srv.accept_resume = 0;
	memcpy(srv.path, sa.sun_path, sizeof(srv.path));
	LOG(INFO, "listening on %s", path);
	return 0;

unlink_path:
	unlink(path);
close_fd:
	close(fd);
fail:
	LOG(ERR, "cannot listen on %s: %s", path, strerror(-rc));
	return rc;
}

void ctl_server_close(void)
{
	struct stat st;

	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		client_close(&srv.clients[i]);
	if (srv.listen_fd < 0)
		return;
	close(srv.listen_fd);
	srv.listen_fd = -1;
	/* Only remove the file if it is still ours. */
	if (lstat(srv.path, &st) == 0 && st.st_dev == srv.dev && st.st_ino == srv.ino)
		unlink(srv.path);
	srv.path[0] = '\0';
}
