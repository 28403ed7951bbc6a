/* etcd v3 client over the JSON gateway, driven by ps_etcd_poll() from the
 * control thread (see ps_etcd.h and docs/etcd.md).
 *
 * Everything is a transfer on one curl multi handle: the unary requests
 * (one easy handle each; the multi's connection cache gives keep-alive)
 * and one long-lived streamed watch.  Nothing blocks: ps_etcd_poll()
 * fires the timers (lease grant/keepalive, snapshot retry, watch restart,
 * degraded probe, member health probes), lets curl move bytes, splits the
 * watch stream into lines and completes finished transfers.  Callbacks
 * always run from ps_etcd_poll(), outside of curl's own callbacks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <rte_log.h>

#include "ps_etcd.h"

RTE_LOG_REGISTER_SUFFIX(ps_etcd_logtype, policy.etcd, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, ps_etcd_logtype, "etcd: " fmt "\n", ##__VA_ARGS__)

#define PS_RETRY_MS 1000u          /* grant/snapshot/probe/health retry period */
#define PS_MAX_ANSWER (64u << 20)  /* larger answers abort the transfer */

enum ps_op {
	OP_GRANT,
	OP_KEEPALIVE,
	OP_SNAPSHOT,
	OP_PROBE,            /* cheap linearizable range while degraded */
	OP_HEALTH,           /* GET /health of one member */
	OP_PUT,
	OP_PUT_LEASED,
	OP_PUT_IF_ABSENT,
	OP_DELETE,
	OP_DELETE_LEASED,
	OP_GET,
	OP_GET_PREFIX,
};

static const char *const op_path[] = {
	[OP_GRANT] = "/v3/lease/grant",
	[OP_KEEPALIVE] = "/v3/lease/keepalive",
	[OP_SNAPSHOT] = "/v3/kv/range",
	[OP_PROBE] = "/v3/kv/range",
	[OP_HEALTH] = "/health",
	[OP_PUT] = "/v3/kv/put",
	[OP_PUT_LEASED] = "/v3/kv/put",
	[OP_PUT_IF_ABSENT] = "/v3/kv/txn",
	[OP_DELETE] = "/v3/kv/deleterange",
	[OP_DELETE_LEASED] = "/v3/kv/txn",
	[OP_GET] = "/v3/kv/range",
	[OP_GET_PREFIX] = "/v3/kv/range",
};

struct ps_buf {
	char *p;
	size_t len, cap;
};

struct ps_member {
	char *url;
	uint64_t ok_seq, err_seq;       /* order of the last success / failure */
	char last_error[96];
	bool probing;                   /* a health probe is in flight */
};

struct ps_req {
	struct ps_req *prev, *next;     /* e->reqs */
	enum ps_op op;
	char *key, *value;              /* relative key; value for puts */
	char *body;                     /* built when first started */
	CURL *h;                        /* NULL until started */
	struct ps_buf answer;
	unsigned member;                /* member of the current attempt */
	unsigned tries;                 /* members tried so far */
	bool pinned;                    /* one member only, no failover */
	ps_etcd_done_fn done;
	void *arg;
};

/* A key put under our lease, put again when the lease is granted again. */
struct ps_leased {
	struct ps_leased *next;
	char *key, *value;
};

struct ps_watch {
	CURL *h;                        /* NULL: no stream */
	struct ps_buf in;               /* received bytes not yet split in lines */
	unsigned member;                /* member of the stream, or next to try */
	bool created;                   /* etcd confirmed the watch */
	unsigned fails;                 /* streams ended in a row */
	uint64_t retry_at;
};

struct ps_etcd {
	CURLM *multi;
	struct curl_slist *hdrs;
	struct ps_member *m;
	unsigned n;
	unsigned cur;                   /* member that answered last */
	uint64_t seq;                   /* orders member successes/failures */
	char *strip;                    /* prefix + "/" */
	char *range_key, *range_end;    /* base64 of the whole prefix range */
	unsigned ttl_s, timeout_ms;
	struct ps_etcd_callbacks cb;
	struct ps_req *reqs;            /* started and waiting requests */
	struct ps_leased *leased;

	int64_t lease, lease_ttl;       /* 0: none granted (yet) */
	unsigned grants;                /* leases granted so far */
	bool granting, keepalive_busy, snapshot_busy, probe_busy;
	bool need_snapshot;
	uint64_t grant_at, keepalive_at, snapshot_at, probe_at, health_at;

	int64_t rev;                    /* last revision seen */
	struct ps_watch w;
	bool watch_paused;
	bool lin_failed;                /* last linearizable request failed everywhere */

	uint64_t requests, failures, failovers, events;
};

static unsigned curl_users;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int buf_append(struct ps_buf *b, const void *data, size_t n)
{
	size_t cap;
	char *p;

	if (b->len + n + 1 > b->cap) {
		if (b->len + n + 1 > PS_MAX_ANSWER)
			return -EFBIG;
		cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void buf_free(struct ps_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static size_t buf_write(char *data, size_t size, size_t nmemb, void *arg)
{
	size_t n = size * nmemb;

	return buf_append(arg, data, n) < 0 ? 0 : n;
}

/* ---- members ---------------------------------------------------------- */

static bool member_healthy(const struct ps_member *m)
{
	return m->ok_seq >= m->err_seq;
}

static void member_ok(struct ps_etcd *e, unsigned i)
{
	if (!member_healthy(&e->m[i]))
		LOG(INFO, "member %s answers again", e->m[i].url);
	e->m[i].ok_seq = ++e->seq;
}

static void member_error(struct ps_etcd *e, unsigned i, const char *what)
{
	if (member_healthy(&e->m[i]))
		LOG(WARNING, "member %s: %s", e->m[i].url, what);
	e->m[i].err_seq = ++e->seq;
	snprintf(e->m[i].last_error, sizeof(e->m[i].last_error), "%s", what);
}

bool ps_etcd_degraded(const struct ps_etcd *e)
{
	unsigned i;

	if (e->lin_failed)
		return true;
	for (i = 0; i < e->n; i++)
		if (member_healthy(&e->m[i]))
			return false;
	return true;
}

/* ---- request bodies ----------------------------------------------------- */

/* base64 of prefix + "/" + @key, with the last byte + 1 when @end (the
 * range_end that covers every key starting with it). */
static char *wire_b64(const struct ps_etcd *e, const char *key, bool end)
{
	size_t ls = strlen(e->strip), lk = strlen(key);
	char *w = malloc(ls + lk + 1), *b;

	if (w == NULL)
		return NULL;
	memcpy(w, e->strip, ls);
	memcpy(w + ls, key, lk + 1);
	if (end)
		w[ls + lk - 1]++;
	b = ps_b64_encode(w, ls + lk);
	free(w);
	return b;
}

static json_t *kv_pair(const struct ps_etcd *e, const char *key, const char *value)
{
	char *k = wire_b64(e, key, false);
	char *v = value ? ps_b64_encode(value, strlen(value)) : NULL;
	json_t *o = NULL;

	if (k != NULL && (value == NULL || v != NULL))
		o = v ? json_pack("{ssss}", "key", k, "value", v) : json_pack("{ss}", "key", k);
	free(k);
	free(v);
	return o;
}

static json_t *txn(const char *target, const char *field, const char *val, json_t *kv,
		   const char *request)
{
	json_t *cmp;

	if (kv == NULL)
		return NULL;
	cmp = json_pack("{sOssssss}", "key", json_object_get(kv, "key"), "target", target,
			"result", "EQUAL", field, val);
	return json_pack("{s[o]s[{so}]s[]}", "compare", cmp, "success", request, kv, "failure");
}

static char *build_body(const struct ps_etcd *e, const struct ps_req *r)
{
	char lease[24];
	json_t *o = NULL;
	char *s;

	snprintf(lease, sizeof(lease), "%" PRId64, e->lease);
	switch (r->op) {
	case OP_GRANT:
		o = json_pack("{sI}", "TTL", (json_int_t)e->ttl_s);
		break;
	case OP_KEEPALIVE:
		o = json_pack("{ss}", "ID", lease);
		break;
	case OP_SNAPSHOT:
		o = json_pack("{ssss}", "key", e->range_key, "range_end", e->range_end);
		break;
	case OP_PROBE:
		o = json_pack("{sssssb}", "key", e->range_key, "range_end", e->range_end,
			      "count_only", 1);
		break;
	case OP_HEALTH:
		return strdup("");
	case OP_PUT:
	case OP_DELETE:
	case OP_GET:
		o = kv_pair(e, r->key, r->value);
		break;
	case OP_PUT_LEASED:
		o = kv_pair(e, r->key, r->value);
		if (o != NULL && json_object_set_new(o, "lease", json_string(lease)) < 0) {
			json_decref(o);
			o = NULL;
		}
		break;
	case OP_GET_PREFIX:
		o = kv_pair(e, r->key, NULL);
		if (o != NULL) {
			s = wire_b64(e, r->key, true);
			if (s == NULL || json_object_set_new(o, "range_end", json_string(s)) < 0) {
				json_decref(o);
				o = NULL;
			}
			free(s);
		}
		break;
	case OP_PUT_IF_ABSENT:
		o = txn("CREATE", "create_revision", "0", kv_pair(e, r->key, r->value),
			"request_put");
		break;
	case OP_DELETE_LEASED:
		o = txn("LEASE", "lease", lease, kv_pair(e, r->key, NULL),
			"request_delete_range");
		break;
	}
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static bool op_needs_lease(enum ps_op op)
{
	return op == OP_KEEPALIVE || op == OP_PUT_LEASED || op == OP_DELETE_LEASED;
}

/* Linearizable requests go through raft: all of them failing means the
 * cluster (as we can reach it) has no quorum. */
static bool op_linearizable(enum ps_op op)
{
	return op != OP_HEALTH;
}

/* ---- request life cycle ------------------------------------------------- */

static void req_free(struct ps_etcd *e, struct ps_req *r)
{
	if (r->h != NULL) {
		curl_multi_remove_handle(e->multi, r->h);
		curl_easy_cleanup(r->h);
	}
	buf_free(&r->answer);
	free(r->key);
	free(r->value);
	free(r->body);
	free(r);
}

static void req_unlink(struct ps_etcd *e, struct ps_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		e->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

/* Start (or restart on r->member) one attempt. */
static int req_attempt(struct ps_etcd *e, struct ps_req *r)
{
	char url[512];

	if (r->body == NULL) {
		r->body = build_body(e, r);
		if (r->body == NULL)
			return -ENOMEM;
	}
	if (r->h == NULL) {
		r->h = curl_easy_init();
		if (r->h == NULL)
			return -ENOMEM;
		curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
		curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, buf_write);
		curl_easy_setopt(r->h, CURLOPT_WRITEDATA, &r->answer);
		curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
		curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
		if (r->op != OP_HEALTH) {
			curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, e->hdrs);
			curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->body);
		}
	} else {
		curl_multi_remove_handle(e->multi, r->h);
	}
	r->answer.len = 0;
	snprintf(url, sizeof(url), "%s%s", e->m[r->member].url, op_path[r->op]);
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	if (curl_multi_add_handle(e->multi, r->h) != CURLM_OK)
		return -ENOMEM;
	e->requests++;
	return 0;
}

static struct ps_req *req_new(struct ps_etcd *e, enum ps_op op, const char *key,
			      const char *value, ps_etcd_done_fn done, void *arg)
{
	struct ps_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->op = op;
	r->done = done;
	r->arg = arg;
	r->member = e->cur;
	if ((key != NULL && (r->key = strdup(key)) == NULL) ||
	    (value != NULL && (r->value = strdup(value)) == NULL)) {
		req_free(e, r);
		return NULL;
	}
	r->next = e->reqs;
	if (e->reqs != NULL)
		e->reqs->prev = r;
	e->reqs = r;
	return r;
}

/* Queue a request; it starts now unless it waits for the lease. */
static int req_submit(struct ps_etcd *e, enum ps_op op, const char *key, const char *value,
		      ps_etcd_done_fn done, void *arg)
{
	struct ps_req *r = req_new(e, op, key, value, done, arg);
	int ret;

	if (r == NULL)
		return -ENOMEM;
	if (op_needs_lease(op) && e->lease == 0)
		return 0;
	ret = req_attempt(e, r);
	if (ret < 0) {
		req_unlink(e, r);
		req_free(e, r);
	}
	return ret;
}

static void req_finish(struct ps_etcd *e, struct ps_req *r, int status, const struct ps_kv *kvs,
		       unsigned n, int64_t rev)
{
	req_unlink(e, r);
	if (status < 0 && r->op != OP_HEALTH)
		e->failures++;
	if (r->done != NULL)
		r->done(r->arg, status, kvs, n, rev);
	req_free(e, r);
}

/* ---- lease, snapshot, watch -------------------------------------------- */

static void watch_stop(struct ps_etcd *e)
{
	if (e->w.h != NULL) {
		curl_multi_remove_handle(e->multi, e->w.h);
		curl_easy_cleanup(e->w.h);
		e->w.h = NULL;
	}
	buf_free(&e->w.in);
	e->w.created = false;
}

static int watch_start(struct ps_etcd *e)
{
	char url[512], start[24];
	json_t *o;
	char *body;
	CURL *h;

	snprintf(start, sizeof(start), "%" PRId64, e->rev + 1);
	o = json_pack("{s{sssssssb}}", "create_request", "key", e->range_key, "range_end",
		      e->range_end, "start_revision", start, "prev_kv", 1);
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	h = body ? curl_easy_init() : NULL;
	if (h == NULL) {
		free(body);
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/v3/watch", e->m[e->w.member].url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, &e->w);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->hdrs);
	curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &e->w.in);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
	/* No overall timeout: the stream lives as long as the member does.  A
	 * vanished host is noticed by TCP keepalive. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L);
	free(body);
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		return -ENOMEM;
	}
	e->w.h = h;
	e->w.created = false;
	LOG(DEBUG, "watch %s from revision %s", e->m[e->w.member].url, start);
	return 0;
}

/* The stream ended or failed: resume on the next member; after a round of
 * failures on every member, wait before trying again. */
static void watch_failed(struct ps_etcd *e, const char *what)
{
	unsigned failed = e->w.member;

	member_error(e, failed, what);
	watch_stop(e);
	e->w.member = (failed + 1) % e->n;
	if (++e->w.fails >= e->n) {
		e->w.fails = 0;
		e->w.retry_at = now_ms() + PS_RETRY_MS;
	} else {
		e->w.retry_at = 0;
	}
	LOG(INFO, "watch on %s ended (%s); resuming from revision %" PRId64 " on %s",
	    e->m[failed].url, what, e->rev + 1, e->m[e->w.member].url);
}

static void watch_msg(struct ps_etcd *e, const struct ps_watch_msg *msg)
{
	int64_t seen = e->rev, top = e->rev;
	unsigned i;

	if (msg->created) {
		e->w.created = true;
		e->w.fails = 0;
		member_ok(e, e->w.member);
	}
	for (i = 0; i < msg->n_events; i++) {
		const struct ps_watch_event *ev = &msg->events[i];

		/* A revision is never split across messages, so anything at or
		 * below the last one seen was delivered already. */
		if (ev->kv.mod_revision <= seen)
			continue;
		if (ev->kv.mod_revision > top)
			top = ev->kv.mod_revision;
		e->events++;
		if (e->cb.event != NULL)
			e->cb.event(e->cb.arg, &ev->kv, ev->deleted);
	}
	if (top > e->rev)
		e->rev = top;
}

/* Split the received stream into lines and handle each; stops early when
 * a handler ended the stream. */
static void watch_lines(struct ps_etcd *e)
{
	struct ps_watch_msg msg;
	char *nl;
	size_t len;
	int r;

	while (e->w.h != NULL && e->w.in.len > 0 &&
	       (nl = memchr(e->w.in.p, '\n', e->w.in.len)) != NULL) {
		len = (size_t)(nl - e->w.in.p);
		r = len ? ps_json_watch_line(e->w.in.p, len, e->strip, &msg) : 1;
		e->w.in.len -= len + 1;
		memmove(e->w.in.p, nl + 1, e->w.in.len);
		if (r == 1)
			continue;
		if (r < 0) {
			watch_failed(e, r == -EIO ? "watch error answer" : "bad watch answer");
			return;
		}
		if (msg.compact_revision > 0) {
			LOG(WARNING, "revision %" PRId64 " compacted (at %" PRId64
				     "): reading a fresh snapshot",
			    e->rev + 1, msg.compact_revision);
			ps_watch_msg_clear(&msg);
			watch_stop(e);
			e->need_snapshot = true;
			e->snapshot_at = 0;
			return;
		}
		watch_msg(e, &msg);
		if (msg.canceled && e->w.h != NULL) {
			ps_watch_msg_clear(&msg);
			watch_failed(e, "watch canceled");
			return;
		}
		ps_watch_msg_clear(&msg);
	}
}

static void watch_done(struct ps_etcd *e, CURLcode cc)
{
	char what[96];
	long http = 0;

	watch_lines(e);
	if (e->w.h == NULL)
		return;
	curl_easy_getinfo(e->w.h, CURLINFO_RESPONSE_CODE, &http);
	if (cc != CURLE_OK)
		snprintf(what, sizeof(what), "watch: %s", curl_easy_strerror(cc));
	else
		snprintf(what, sizeof(what), "watch ended, HTTP %ld", http);
	watch_failed(e, what);
}

static void snapshot_done(struct ps_etcd *e, const json_t *root)
{
	struct ps_kv *kvs;
	unsigned n, i;
	int64_t rev;

	if (ps_json_range(root, e->strip, &kvs, &n, &rev) < 0 || rev <= 0) {
		LOG(WARNING, "bad snapshot answer");
		e->snapshot_at = now_ms() + PS_RETRY_MS;
		return;
	}
	if (e->cb.snapshot_begin != NULL)
		e->cb.snapshot_begin(e->cb.arg);
	for (i = 0; i < n; i++)
		if (e->cb.snapshot_kv != NULL)
			e->cb.snapshot_kv(e->cb.arg, &kvs[i]);
	ps_kvs_free(kvs, n);
	e->rev = rev;
	e->need_snapshot = false;
	if (e->cb.snapshot_end != NULL)
		e->cb.snapshot_end(e->cb.arg, rev);
	LOG(INFO, "snapshot of %s: %u keys at revision %" PRId64, e->strip, n, rev);
}

static void lease_granted(struct ps_etcd *e, const json_t *root)
{
	struct ps_leased *l;
	int64_t id, ttl;

	if (ps_json_lease(root, &id, &ttl) < 0 || id == 0 || ttl <= 0) {
		LOG(WARNING, "bad lease grant answer");
		e->grant_at = now_ms() + PS_RETRY_MS;
		return;
	}
	e->lease = id;
	e->lease_ttl = ttl;
	e->keepalive_at = now_ms() + (uint64_t)ttl * 1000 / 3;
	if (e->grants++ == 0)
		return;
	LOG(WARNING, "lease expired; new lease %" PRId64 ", putting its keys again", id);
	for (l = e->leased; l != NULL; l = l->next)
		if (req_submit(e, OP_PUT_LEASED, l->key, l->value, NULL, NULL) < 0)
			LOG(ERR, "cannot put %s again", l->key);
	if (e->cb.lease_renewed != NULL)
		e->cb.lease_renewed(e->cb.arg, id);
}

static void keepalive_done(struct ps_etcd *e, const json_t *root)
{
	int64_t id, ttl;

	if (ps_json_lease(root, &id, &ttl) < 0) {
		e->keepalive_at = now_ms() + PS_RETRY_MS;
		return;
	}
	if (ttl <= 0) {
		/* etcd forgot the lease (it expired while we could not reach a
		 * quorum): its keys are gone, start over with a new one. */
		e->lease = 0;
		e->lease_ttl = 0;
		e->grant_at = 0;
		return;
	}
	e->lease_ttl = ttl;
	e->keepalive_at = now_ms() + (uint64_t)e->ttl_s * 1000 / 3;
}

/* A request failed on its member: try the next one, or give up once each
 * member had its chance. */
static void req_failed(struct ps_etcd *e, struct ps_req *r, CURLcode cc, long http)
{
	char what[96];
	int status;

	if (cc != CURLE_OK)
		snprintf(what, sizeof(what), "%s", curl_easy_strerror(cc));
	else
		snprintf(what, sizeof(what), "HTTP %ld", http);
	member_error(e, r->member, what);
	if (!r->pinned && ++r->tries < e->n) {
		r->member = (r->member + 1) % e->n;
		e->failovers++;
		if (req_attempt(e, r) == 0)
			return;
	}
	status = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
		 cc == CURLE_COULDNT_CONNECT	? -ECONNREFUSED :
						  -EIO;
	if (op_linearizable(r->op))
		e->lin_failed = true;
	switch (r->op) {
	case OP_GRANT:
		e->granting = false;
		e->grant_at = now_ms() + PS_RETRY_MS;
		break;
	case OP_KEEPALIVE:
		e->keepalive_busy = false;
		e->keepalive_at = now_ms() + PS_RETRY_MS;
		break;
	case OP_SNAPSHOT:
		e->snapshot_busy = false;
		e->snapshot_at = now_ms() + PS_RETRY_MS;
		break;
	case OP_PROBE:
		e->probe_busy = false;
		e->probe_at = now_ms() + PS_RETRY_MS;
		break;
	case OP_HEALTH:
		e->m[r->member].probing = false;
		break;
	default:
		break;
	}
	req_finish(e, r, status, NULL, 0, 0);
}

static void req_done(struct ps_etcd *e, struct ps_req *r, CURLcode cc)
{
	struct ps_kv *kvs = NULL;
	unsigned n = 0;
	int64_t rev = 0;
	json_t *root;
	bool ok;
	long http = 0;
	int status = 0;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &http);
	if (cc != CURLE_OK || http >= 500 || http == 0) {
		req_failed(e, r, cc, http);
		return;
	}
	member_ok(e, r->member);
	if (!r->pinned)
		e->cur = r->member;
	if (op_linearizable(r->op))
		e->lin_failed = false;
	root = json_loadb(r->answer.p ? r->answer.p : "", r->answer.len, 0, NULL);
	if (root == NULL || ps_json_error(root, NULL, NULL))
		status = -EIO;
	switch (r->op) {
	case OP_GRANT:
		e->granting = false;
		if (status == 0)
			lease_granted(e, root);
		else
			e->grant_at = now_ms() + PS_RETRY_MS;
		break;
	case OP_KEEPALIVE:
		e->keepalive_busy = false;
		keepalive_done(e, status == 0 ? root : NULL);
		break;
	case OP_SNAPSHOT:
		e->snapshot_busy = false;
		if (status == 0)
			snapshot_done(e, root);
		else
			e->snapshot_at = now_ms() + PS_RETRY_MS;
		break;
	case OP_PROBE:
		e->probe_busy = false;
		e->probe_at = now_ms() + PS_RETRY_MS;
		break;
	case OP_HEALTH:
		e->m[r->member].probing = false;
		if (!json_is_string(json_object_get(root, "health")) ||
		    strcmp(json_string_value(json_object_get(root, "health")), "true"))
			member_error(e, r->member, "unhealthy");
		break;
	case OP_PUT_IF_ABSENT:
	case OP_DELETE_LEASED:
		if (status == 0 && ps_json_txn(root, &ok, &rev) < 0)
			status = -EIO;
		if (status == 0 && r->op == OP_PUT_IF_ABSENT && !ok)
			status = -EEXIST;
		break;
	case OP_GET:
	case OP_GET_PREFIX:
		if (status == 0 && ps_json_range(root, e->strip, &kvs, &n, &rev) < 0)
			status = -EIO;
		break;
	default:
		if (status == 0 && ps_json_revision(root, &rev) < 0)
			status = -EIO;
		break;
	}
	json_decref(root);
	req_finish(e, r, status, kvs, n, rev);
	ps_kvs_free(kvs, n);
}

/* ---- poll --------------------------------------------------------------- */

static void start_internal(struct ps_etcd *e, enum ps_op op, bool *busy, uint64_t *retry_at)
{
	if (req_submit(e, op, NULL, NULL, NULL, NULL) == 0)
		*busy = true;
	else
		*retry_at = now_ms() + PS_RETRY_MS;
}

static void timers(struct ps_etcd *e, uint64_t now)
{
	struct ps_req *r, *next;
	unsigned i;

	if (e->lease == 0 && !e->granting && now >= e->grant_at)
		start_internal(e, OP_GRANT, &e->granting, &e->grant_at);
	if (e->lease != 0 && !e->keepalive_busy && now >= e->keepalive_at)
		start_internal(e, OP_KEEPALIVE, &e->keepalive_busy, &e->keepalive_at);
	if (e->need_snapshot && !e->snapshot_busy && now >= e->snapshot_at)
		start_internal(e, OP_SNAPSHOT, &e->snapshot_busy, &e->snapshot_at);
	if (e->w.h == NULL && !e->need_snapshot && !e->snapshot_busy && !e->watch_paused &&
	    e->rev > 0 && now >= e->w.retry_at && watch_start(e) < 0)
		e->w.retry_at = now + PS_RETRY_MS;
	if (ps_etcd_degraded(e) && !e->probe_busy && now >= e->probe_at)
		start_internal(e, OP_PROBE, &e->probe_busy, &e->probe_at);
	if (now >= e->health_at) {
		e->health_at = now + PS_RETRY_MS;
		for (i = 0; i < e->n; i++) {
			if (member_healthy(&e->m[i]) || e->m[i].probing)
				continue;
			r = req_new(e, OP_HEALTH, NULL, NULL, NULL, NULL);
			if (r == NULL)
				break;
			r->member = i;
			r->pinned = true;
			if (req_attempt(e, r) < 0) {
				req_unlink(e, r);
				req_free(e, r);
				continue;
			}
			e->m[i].probing = true;
		}
	}
	/* requests that waited for the lease */
	if (e->lease != 0) {
		for (r = e->reqs; r != NULL; r = next) {
			next = r->next;
			if (r->h == NULL && req_attempt(e, r) < 0)
				req_finish(e, r, -ENOMEM, NULL, 0, 0);
		}
	}
}

void ps_etcd_poll(struct ps_etcd *e)
{
	struct CURLMsg *msg;
	int running, left;
	void *priv;

	if (e == NULL)
		return;
	timers(e, now_ms());
	curl_multi_perform(e->multi, &running);
	watch_lines(e);
	while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&priv);
		if (priv == &e->w)
			watch_done(e, msg->data.result);
		else if (priv != NULL)
			req_done(e, priv, msg->data.result);
	}
}

/* ---- public requests ---------------------------------------------------- */

static bool key_ok(const char *key)
{
	return key != NULL && *key != '\0';
}

static int leased_set(struct ps_etcd *e, const char *key, const char *value)
{
	struct ps_leased *l;
	char *v = strdup(value);

	if (v == NULL)
		return -ENOMEM;
	for (l = e->leased; l != NULL; l = l->next) {
		if (!strcmp(l->key, key)) {
			free(l->value);
			l->value = v;
			return 0;
		}
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->key = strdup(key)) == NULL) {
		free(l);
		free(v);
		return -ENOMEM;
	}
	l->value = v;
	l->next = e->leased;
	e->leased = l;
	return 0;
}

static void leased_forget(struct ps_etcd *e, const char *key)
{
	struct ps_leased **pl, *l;

	for (pl = &e->leased; (l = *pl) != NULL; pl = &l->next) {
		if (!strcmp(l->key, key)) {
			*pl = l->next;
			free(l->key);
			free(l->value);
			free(l);
			return;
		}
	}
}

int ps_etcd_put_leased(struct ps_etcd *e, const char *key, const char *value,
		       ps_etcd_done_fn done, void *arg)
{
	int r;

	if (e == NULL || !key_ok(key) || value == NULL)
		return -EINVAL;
	r = leased_set(e, key, value);
	return r < 0 ? r : req_submit(e, OP_PUT_LEASED, key, value, done, arg);
}

int ps_etcd_delete_leased(struct ps_etcd *e, const char *key, ps_etcd_done_fn done, void *arg)
{
	if (e == NULL || !key_ok(key))
		return -EINVAL;
	leased_forget(e, key);
	return req_submit(e, OP_DELETE_LEASED, key, NULL, done, arg);
}

int ps_etcd_put(struct ps_etcd *e, const char *key, const char *value, ps_etcd_done_fn done,
		void *arg)
{
	if (e == NULL || !key_ok(key) || value == NULL)
		return -EINVAL;
	return req_submit(e, OP_PUT, key, value, done, arg);
}

int ps_etcd_put_if_absent(struct ps_etcd *e, const char *key, const char *value,
			  ps_etcd_done_fn done, void *arg)
{
	if (e == NULL || !key_ok(key) || value == NULL)
		return -EINVAL;
	return req_submit(e, OP_PUT_IF_ABSENT, key, value, done, arg);
}

int ps_etcd_delete(struct ps_etcd *e, const char *key, ps_etcd_done_fn done, void *arg)
{
	if (e == NULL || !key_ok(key))
		return -EINVAL;
	return req_submit(e, OP_DELETE, key, NULL, done, arg);
}

int ps_etcd_get(struct ps_etcd *e, const char *key, bool prefix, ps_etcd_done_fn done, void *arg)
{
	if (e == NULL || !key_ok(key))
		return -EINVAL;
	return req_submit(e, prefix ? OP_GET_PREFIX : OP_GET, key, NULL, done, arg);
}

void ps_etcd_watch_pause(struct ps_etcd *e, bool paused)
{
	if (e == NULL || e->watch_paused == paused)
		return;
	e->watch_paused = paused;
	if (paused) {
		watch_stop(e);
	} else {
		e->w.fails = 0;
		e->w.retry_at = 0;
	}
}

/* ---- state -------------------------------------------------------------- */

json_t *ps_etcd_status(const struct ps_etcd *e)
{
	json_t *o, *arr;
	unsigned i;

	if (e == NULL)
		return NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < e->n; i++) {
		const struct ps_member *m = &e->m[i];

		json_array_append_new(arr, json_pack("{sssbsssb}", "url", m->url, "healthy",
						     member_healthy(m), "last_error",
						     m->last_error, "current", i == e->cur));
	}
	o = json_pack("{sosbsIsIsIsIsbsIsIsIsI}", "members", arr ? arr : json_array(),
		      "watching", e->w.h != NULL && e->w.created, "watch_member",
		      (json_int_t)(e->w.h != NULL ? (int)e->w.member : -1), "watch_revision",
		      (json_int_t)e->rev, "lease", (json_int_t)e->lease, "lease_ttl",
		      (json_int_t)e->lease_ttl, "degraded", ps_etcd_degraded(e), "requests",
		      (json_int_t)e->requests, "failures", (json_int_t)e->failures, "failovers",
		      (json_int_t)e->failovers, "events", (json_int_t)e->events);
	return o;
}

int64_t ps_etcd_revision(const struct ps_etcd *e)
{
	return e ? e->rev : 0;
}

/* ---- create / free ------------------------------------------------------ */

void ps_etcd_free(struct ps_etcd *e)
{
	struct ps_leased *l;
	struct ps_req *r;
	unsigned i;

	if (e == NULL)
		return;
	while ((r = e->reqs) != NULL) {
		req_unlink(e, r);
		req_free(e, r);
	}
	watch_stop(e);
	while ((l = e->leased) != NULL) {
		e->leased = l->next;
		free(l->key);
		free(l->value);
		free(l);
	}
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->hdrs);
	for (i = 0; e->m != NULL && i < e->n; i++)
		free(e->m[i].url);
	free(e->m);
	free(e->strip);
	free(e->range_key);
	free(e->range_end);
	free(e);
	if (--curl_users == 0)
		curl_global_cleanup();
}

struct ps_etcd *ps_etcd_new(const struct ps_etcd_params *p, const struct ps_etcd_callbacks *cb)
{
	struct ps_etcd *e;
	size_t lp;
	unsigned i;

	if (p == NULL || p->members == NULL || p->n_members == 0 || p->prefix == NULL ||
	    p->prefix[0] == '\0' || p->lease_ttl_s == 0 || p->timeout_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < p->n_members; i++) {
		if (p->members[i] == NULL || strlen(p->members[i]) > 256) {
			errno = EINVAL;
			return NULL;
		}
	}
	if (curl_users++ == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		curl_users--;
		errno = ENOMEM;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto nomem_global;
	e->ttl_s = p->lease_ttl_s;
	e->timeout_ms = p->timeout_ms;
	if (cb != NULL)
		e->cb = *cb;
	e->need_snapshot = true;
	e->w.member = 0;
	e->m = calloc(p->n_members, sizeof(*e->m));
	if (e->m == NULL)
		goto nomem;
	e->n = p->n_members;
	for (i = 0; i < e->n; i++) {
		e->m[i].url = strdup(p->members[i]);
		if (e->m[i].url == NULL)
			goto nomem;
		/* "http://host:port/" and "http://host:port" name the same member */
		lp = strlen(e->m[i].url);
		if (lp > 0 && e->m[i].url[lp - 1] == '/')
			e->m[i].url[lp - 1] = '\0';
	}
	lp = strlen(p->prefix);
	while (lp > 1 && p->prefix[lp - 1] == '/')
		lp--;
	e->strip = malloc(lp + 2);
	if (e->strip == NULL)
		goto nomem;
	memcpy(e->strip, p->prefix, lp);
	strcpy(e->strip + lp, "/");
	e->range_key = ps_b64_encode(e->strip, lp + 1);
	e->strip[lp] = '0';     /* '/' + 1: the end of the prefix range */
	e->range_end = ps_b64_encode(e->strip, lp + 1);
	e->strip[lp] = '/';
	e->multi = curl_multi_init();
	e->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->range_key == NULL || e->range_end == NULL || e->multi == NULL || e->hdrs == NULL)
		goto nomem;
	ps_etcd_poll(e);
	return e;
nomem:
	ps_etcd_free(e);
	errno = ENOMEM;
	return NULL;
nomem_global:
	if (--curl_users == 0)
		curl_global_cleanup();
	errno = ENOMEM;
	return NULL;
}
