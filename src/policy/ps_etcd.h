/* A client of an etcd v3 cluster through its JSON gateway (libcurl multi,
 * jansson), driven by the control thread: ps_etcd_poll() makes progress
 * without blocking and runs the callbacks.  Never used from a worker.
 *
 * It keeps: one lease (granted at start, kept alive every TTL/3, granted
 * again if it expired; its keys are re-put), a watch on the whole prefix
 * resumed from the last seen revision + 1 on another member when a stream
 * ends, and a member list with health.  Requests fail over to the next
 * member on a connection error or timeout.  Keys given to and passed
 * back by this API are relative to the prefix ("policies/web").
 */
#ifndef PS_ETCD_H
#define PS_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct ps_etcd;

/* One key-value pair as etcd returns it. */
struct ps_kv {
	const char *key;                /* relative to the prefix, NUL-terminated */
	const char *value;              /* NULL for a delete event */
	size_t value_len;
	int64_t mod_revision;
	int64_t create_revision;
	int64_t lease;                  /* 0 = none */
};

struct ps_etcd_callbacks {
	void *arg;
	/* A full snapshot of the prefix follows (at start, and whenever the
	 * watch cannot resume, e.g. compacted): begin(), kv() per key, end(). */
	void (*snapshot_begin)(void *arg);
	void (*snapshot_kv)(void *arg, const struct ps_kv *kv);
	void (*snapshot_end)(void *arg, int64_t revision);
	/* One watch event; kv->value NULL for a delete. */
	void (*event)(void *arg, const struct ps_kv *kv, bool deleted);
	/* The lease was lost and granted again: re-put what was leased (the
	 * client re-puts keys put with ps_etcd_put_leased itself; this is
	 * for logging). */
	void (*lease_renewed)(void *arg, int64_t lease);
};

struct ps_etcd_params {
	const char *const *members;     /* client URLs, "http://127.0.0.1:32379" */
	unsigned n_members;
	const char *prefix;             /* "/dpdk-vswitch" */
	unsigned lease_ttl_s;
	unsigned timeout_ms;            /* per unary request */
};

/* Create the client and start connecting (lease grant, snapshot, watch).
 * Returns NULL with errno set on bad parameters or no memory. */
struct ps_etcd *ps_etcd_new(const struct ps_etcd_params *p, const struct ps_etcd_callbacks *cb);
void ps_etcd_free(struct ps_etcd *e);

/* Make progress on every transfer and timer; never blocks.  Call it from
 * the control loop (every few ms). */
void ps_etcd_poll(struct ps_etcd *e);

/* Completion of a request: @status 0, or a negative errno (-ETIMEDOUT,
 * -ECONNREFUSED, -EIO for an error answer); @kvs/@n for a get (n = 0 when
 * absent); @revision the header revision of the answer. */
typedef void (*ps_etcd_done_fn)(void *arg, int status, const struct ps_kv *kvs, unsigned n,
				int64_t revision);

/* Put @key under this client's lease; remembered and re-put if the lease
 * is granted again.  Returns 0 (queued) or a negative errno. */
int ps_etcd_put_leased(struct ps_etcd *e, const char *key, const char *value,
		       ps_etcd_done_fn done, void *arg);
/* Delete @key only if it still holds this client's lease (a key another
 * host has taken over is left alone); forgets it. */
int ps_etcd_delete_leased(struct ps_etcd *e, const char *key, ps_etcd_done_fn done, void *arg);
/* Plain put / put only if absent / delete, without a lease. */
int ps_etcd_put(struct ps_etcd *e, const char *key, const char *value,
		ps_etcd_done_fn done, void *arg);
int ps_etcd_put_if_absent(struct ps_etcd *e, const char *key, const char *value,
			  ps_etcd_done_fn done, void *arg);
int ps_etcd_delete(struct ps_etcd *e, const char *key, ps_etcd_done_fn done, void *arg);
/* Read one key, or every key under @key when @prefix (on demand, D7). */
int ps_etcd_get(struct ps_etcd *e, const char *key, bool prefix, ps_etcd_done_fn done, void *arg);

/* Fault injection for tests: stop the watch (as if its stream were cut and
 * never resumed) or let it resume from the last revision seen. */
void ps_etcd_watch_pause(struct ps_etcd *e, bool paused);

/* State for `policy-service status`: {"members":[{"url","healthy","last_error",
 * "current"}], "watching", "watch_revision", "lease", "lease_ttl", "degraded",
 * "requests", "failures", "failovers", "events"}.  "degraded" is true when
 * no member answered a linearizable request within the timeout recently. */
json_t *ps_etcd_status(const struct ps_etcd *e);
bool ps_etcd_degraded(const struct ps_etcd *e);
/* Last revision seen (snapshot or watch). */
int64_t ps_etcd_revision(const struct ps_etcd *e);

/* Notes on the calls above (ps_etcd.c):
 * - ps_etcd_put_if_absent completes with -EEXIST when the key exists;
 *   ps_etcd_delete_leased completes with 0 whether or not the key still
 *   held our lease.
 * - Leased puts and delete_leased wait (queued) until a lease is granted.
 * - ps_etcd_status also has "watch_member" (index of the member the watch
 *   streams from, -1 when none). */

/* --- gateway JSON (ps_etcd_json.c; unit-tested on its own) --- */

/* int64 fields arrive as strings ("123"), sometimes as numbers; absent = 0. */
int ps_json_int64(const json_t *obj, const char *field, int64_t *out);
/* Decode a base64 field into a NUL-terminated malloc'd buffer (*len bytes
 * before the NUL); an absent field gives "" (proto3 omits empty values).
 * Returns 0, or -EINVAL for bad base64. */
int ps_json_b64(const json_t *obj, const char *field, char **out, size_t *len);
/* Encode @len bytes as base64 (malloc'd, NUL-terminated) or NULL. */
char *ps_b64_encode(const void *data, size_t len);

/* Free what the decoders below allocated in @kv (key, value). */
void ps_kv_clear(struct ps_kv *kv);
void ps_kvs_free(struct ps_kv *kvs, unsigned n);

/* The "result" object of a streamed answer ({"result":{...}}), or @root
 * itself for a unary answer. */
const json_t *ps_json_result(const json_t *root);
/* An error answer ({"error":"...","code":14,"message":"..."}): returns
 * true and the gRPC code (0 when absent) and message. */
bool ps_json_error(const json_t *root, int *code, const char **msg);
/* Decode one mvcc kv; @strip (prefix + "/") is removed from the key when
 * the key starts with it.  A kv without "value" gets value "" when
 * @deleted is false, NULL when true.  0 or -EINVAL; clear with ps_kv_clear. */
int ps_json_kv(const json_t *kv, const char *strip, bool deleted, struct ps_kv *out);
/* A range answer: kvs (absent = none) and the header revision.
 * 0, -EIO for an error answer, -EINVAL for a malformed one. */
int ps_json_range(const json_t *root, const char *strip, struct ps_kv **kvs, unsigned *n,
		  int64_t *revision);
/* Header revision of any answer (0 when absent). */
int ps_json_revision(const json_t *root, int64_t *revision);
/* Lease grant or keepalive answer: *ttl = 0 when "TTL" is absent, which
 * for a keepalive means the lease has expired. */
int ps_json_lease(const json_t *root, int64_t *id, int64_t *ttl);
/* A txn answer: *succeeded false when "succeeded" is absent. */
int ps_json_txn(const json_t *root, bool *succeeded, int64_t *revision);

/* One line of the watch stream. */
struct ps_watch_event {
	struct ps_kv kv;                /* value NULL when deleted */
	bool deleted;
};
struct ps_watch_msg {
	bool created;                   /* the watch exists now */
	bool canceled;                  /* etcd ended the watch */
	int64_t compact_revision;       /* >0: start revision was compacted */
	int64_t revision;               /* header revision */
	struct ps_watch_event *events;
	unsigned n_events;
};
/* Decode one line (a JSON object) of the watch stream.  0, -EIO for an
 * error object, -EINVAL for a malformed line; free with ps_watch_msg_clear. */
int ps_json_watch_line(const char *line, size_t len, const char *strip, struct ps_watch_msg *m);
void ps_watch_msg_clear(struct ps_watch_msg *m);

#endif
