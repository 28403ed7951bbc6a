/* etcd-client-check: drives the etcd client (src/policy/ps_etcd.c) against
 * a real local cluster started by scripts/etcd-cluster.sh and prints one
 * PASS/FAIL line per scenario (tests/integration/etcd_client.sh runs it).
 *
 *   etcd-client-check run        all scenarios; exit 0 when all pass
 *   etcd-client-check hold KEY   put KEY under a lease and keep it alive
 *                                until killed (the "other host" whose
 *                                death must make the key expire)
 *
 * Environment: ETCD_ENDPOINTS (comma-separated client URLs), ETCD_CLUSTER
 * (path of etcd-cluster.sh, its ETCD_* variables inherited), ETCDCTL.
 * Members are numbered 1..n in the cluster script, 0..n-1 in the client.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ps_etcd.h"

#define PREFIX "/vs-check"
#define TTL_S 3
#define TIMEOUT_MS 1000
#define MAX_MEMBERS 8
#define MAX_EVENTS 4096

struct ev {
	char key[64];
	char value[64];
	int64_t rev;
	bool deleted;
	int64_t lease;
};

static struct ps_etcd *cli;
static const char *members[MAX_MEMBERS];
static unsigned n_members;
static char endpoints[1024];

static struct ev evs[MAX_EVENTS];
static unsigned n_evs, dup_evs;
static struct ev snap[256];
static unsigned n_snap, snapshots;
static int64_t snap_rev;
static uint64_t max_poll_us, max_poll_all_us, polls;
static unsigned fails, passes;

/* completion of the last request */
static bool req_done;
static int req_status;
static unsigned req_n;
static struct ev req_kv;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		passes++;
	else
		fails++;
}

static void copy_kv(struct ev *d, const struct ps_kv *kv, bool deleted)
{
	snprintf(d->key, sizeof(d->key), "%s", kv->key);
	snprintf(d->value, sizeof(d->value), "%s", kv->value ? kv->value : "");
	d->rev = kv->mod_revision;
	d->deleted = deleted;
	d->lease = kv->lease;
}

static void on_snapshot_begin(void *arg)
{
	(void)arg;
	n_snap = 0;
}

static void on_snapshot_kv(void *arg, const struct ps_kv *kv)
{
	(void)arg;
	if (n_snap < 256)
		copy_kv(&snap[n_snap++], kv, false);
}

static void on_snapshot_end(void *arg, int64_t revision)
{
	(void)arg;
	snap_rev = revision;
	snapshots++;
}

static void on_event(void *arg, const struct ps_kv *kv, bool deleted)
{
	unsigned i;

	(void)arg;
	for (i = 0; i < n_evs; i++)
		if (evs[i].rev == kv->mod_revision && !strcmp(evs[i].key, kv->key))
			dup_evs++;
	if (n_evs < MAX_EVENTS)
		copy_kv(&evs[n_evs++], kv, deleted);
}

static void on_done(void *arg, int status, const struct ps_kv *kvs, unsigned n, int64_t rev)
{
	(void)arg;
	req_done = true;
	req_status = status;
	req_n = n;
	memset(&req_kv, 0, sizeof(req_kv));
	if (n > 0)
		copy_kv(&req_kv, &kvs[0], false);
	req_kv.rev = n > 0 ? kvs[0].mod_revision : rev;
}

static void poll_once(void)
{
	uint64_t t = now_us(), d;

	ps_etcd_poll(cli);
	d = now_us() - t;
	if (d > max_poll_us)
		max_poll_us = d;
	if (d > max_poll_all_us)
		max_poll_all_us = d;
	polls++;
	usleep(2000);
}

/* Poll until @cond holds or @ms pass; returns the time waited in ms, or
 * -1 on timeout. */
static long wait_for(bool (*cond)(const void *), const void *arg, unsigned ms)
{
	uint64_t t0 = now_us();

	for (;;) {
		if (cond(arg))
			return (long)((now_us() - t0) / 1000);
		if (now_us() - t0 > (uint64_t)ms * 1000)
			return -1;
		poll_once();
	}
}

static void poll_for(unsigned ms)
{
	uint64_t t0 = now_us();

	while (now_us() - t0 < (uint64_t)ms * 1000)
		poll_once();
}

static bool cond_req_done(const void *arg)
{
	(void)arg;
	return req_done;
}

static bool cond_snapshots(const void *arg)
{
	return snapshots >= *(const unsigned *)arg;
}

static unsigned count_events(const char *key, bool deleted)
{
	unsigned i, c = 0;

	for (i = 0; i < n_evs; i++)
		if (!strcmp(evs[i].key, key) && evs[i].deleted == deleted)
			c++;
	return c;
}

static const struct ev *find_event(const char *key, bool deleted)
{
	unsigned i;

	for (i = 0; i < n_evs; i++)
		if (!strcmp(evs[i].key, key) && evs[i].deleted == deleted)
			return &evs[i];
	return NULL;
}

static bool cond_put_event(const void *key)
{
	return find_event(key, false) != NULL;
}

static bool cond_del_event(const void *key)
{
	return find_event(key, true) != NULL;
}

static bool cond_degraded(const void *want)
{
	return ps_etcd_degraded(cli) == *(const bool *)want;
}

/* Wait for the last request's completion (bounded). */
static long finish_req(int ret, unsigned ms)
{
	if (ret < 0) {
		req_done = true;
		req_status = ret;
		return 0;
	}
	return wait_for(cond_req_done, NULL, ms);
}

#define REQ(call, ms) (req_done = false, finish_req((call), (ms)))

/* ---- shell helpers (the tool's own time, not the client's poll) -------- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

static const char *etcdctl(void)
{
	const char *p = getenv("ETCDCTL");

	return p ? p : "etcdctl";
}

/* Put through etcdctl; returns the revision of the put, or -1. */
static int64_t ctl_put(const char *key, const char *value)
{
	char cmd[2048], out[4096], *p;
	int64_t rev = -1;
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "ETCDCTL_API=3 %s --endpoints=%s --command-timeout=10s -w json put '%s/%s' '%s'",
		 etcdctl(), endpoints, PREFIX, key, value);
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	if ((n = (size_t)pclose(f)) != 0) {
		printf("  etcdctl put %s: status %zu, output '%s'\n", key, n, out);
		return -1;
	}
	/* not jansson: etcdctl prints member_id as a uint64 number */
	p = strstr(out, "\"revision\":");
	if (p != NULL)
		rev = strtoll(p + strlen("\"revision\":"), NULL, 10);
	if (rev < 0)
		printf("  etcdctl put %s: no revision in '%s'\n", key, out);
	return rev;
}

static int cluster(const char *verb, unsigned member)
{
	const char *script = getenv("ETCD_CLUSTER");

	return sh("%s %s %u >/dev/null", script ? script : "scripts/etcd-cluster.sh", verb,
		  member);
}

/* After a member was killed: wait (without polling the client, so that
 * its watch stream stays dead meanwhile) until the survivors have a
 * leader, so that the next puts do not time out. */
static void wait_leader(void)
{
	int i;

	for (i = 0; i < 40; i++)
		if (sh("ETCDCTL_API=3 %s --endpoints=%s --command-timeout=1s get %s/none "
		       ">/dev/null 2>&1",
		       etcdctl(), endpoints, PREFIX) == 0)
			return;
}

static int watch_member(void)
{
	json_t *s = ps_etcd_status(cli);
	int m = (int)json_integer_value(json_object_get(s, "watch_member"));

	json_decref(s);
	return m;
}

static bool cond_all_healthy(const void *arg)
{
	json_t *s = ps_etcd_status(cli), *m;
	bool ok = json_is_true(json_object_get(s, "watching"));
	size_t i;

	(void)arg;
	json_array_foreach(json_object_get(s, "members"), i, m)
		ok = ok && json_is_true(json_object_get(m, "healthy"));
	json_decref(s);
	return ok && !ps_etcd_degraded(cli);
}

/* ---- scenarios ------------------------------------------------------- */

static void s_snapshot(void)
{
	unsigned want = 1, i, seen = 0;
	long t;

	t = wait_for(cond_snapshots, &want, 10000);
	for (i = 0; i < n_snap; i++)
		if ((!strcmp(snap[i].key, "pre/a") && !strcmp(snap[i].value, "1")) ||
		    (!strcmp(snap[i].key, "pre/b") && !strcmp(snap[i].value, "2")))
			seen++;
	result(t >= 0 && seen == 2 && snap_rev > 0,
	       "snapshot sees pre-existing keys (%u of 2, revision %" PRId64 ", %ld ms)", seen,
	       snap_rev, t);
}

static void s_watch_event(void)
{
	int64_t rev = ctl_put("w/one", "x");
	const struct ev *ev;
	long t = wait_for(cond_put_event, "w/one", 5000);

	ev = find_event("w/one", false);
	result(rev > 0 && t >= 0 && ev && ev->rev == rev && !strcmp(ev->value, "x"),
	       "etcdctl put arrives as a watch event with its mod_revision (%" PRId64
	       " vs %" PRId64 ", %ld ms)",
	       ev ? ev->rev : -1, rev, t);
}

static void s_api(void)
{
	json_t *st;
	int64_t lease;
	bool ok = true;
	int s1, s2;

	REQ(ps_etcd_put_if_absent(cli, "api/x", "v1", on_done, NULL), 5000);
	s1 = req_status;
	REQ(ps_etcd_put_if_absent(cli, "api/x", "v2", on_done, NULL), 5000);
	s2 = req_status;
	result(s1 == 0 && s2 == -EEXIST, "put_if_absent: first 0, second -EEXIST (%d, %d)", s1,
	       s2);
	REQ(ps_etcd_get(cli, "api/x", false, on_done, NULL), 5000);
	ok = req_status == 0 && req_n == 1 && !strcmp(req_kv.value, "v1") &&
	     !strcmp(req_kv.key, "api/x");
	REQ(ps_etcd_get(cli, "api/", true, on_done, NULL), 5000);
	ok = ok && req_status == 0 && req_n == 1;
	REQ(ps_etcd_get(cli, "api/none", false, on_done, NULL), 5000);
	ok = ok && req_status == 0 && req_n == 0;
	result(ok, "get of one key, of a prefix, of an absent key");

	REQ(ps_etcd_put_leased(cli, "api/l", "mine", on_done, NULL), 5000);
	ok = req_status == 0;
	REQ(ps_etcd_get(cli, "api/l", false, on_done, NULL), 5000);
	st = ps_etcd_status(cli);
	lease = json_integer_value(json_object_get(st, "lease"));
	json_decref(st);
	result(ok && req_status == 0 && req_n == 1 && lease != 0 && req_kv.lease == lease,
	       "put_leased puts the key under the client's lease (%" PRId64 ")", lease);
	/* another host took the key over: delete_leased must leave it alone */
	REQ(ps_etcd_put(cli, "api/l", "theirs", on_done, NULL), 5000);
	REQ(ps_etcd_delete_leased(cli, "api/l", on_done, NULL), 5000);
	ok = req_status == 0;
	REQ(ps_etcd_get(cli, "api/l", false, on_done, NULL), 5000);
	ok = ok && req_n == 1 && !strcmp(req_kv.value, "theirs");
	REQ(ps_etcd_put_leased(cli, "api/l", "mine", on_done, NULL), 5000);
	REQ(ps_etcd_delete_leased(cli, "api/l", on_done, NULL), 5000);
	ok = ok && req_status == 0;
	REQ(ps_etcd_get(cli, "api/l", false, on_done, NULL), 5000);
	result(ok && req_n == 0, "delete_leased deletes only a key that holds our lease");
	REQ(ps_etcd_delete(cli, "api/x", on_done, NULL), 5000);
	ok = req_status == 0;
	wait_for(cond_del_event, "api/x", 3000);
	result(ok && count_events("api/x", true) == 1, "delete arrives as one DELETE event");
}

static void s_lease_expiry(const char *self)
{
	char key[64];
	const struct ev *ev;
	long t_put, t_del;
	uint64_t t0;
	pid_t pid;

	snprintf(key, sizeof(key), "hold/%d", (int)getpid());
	pid = fork();
	if (pid == 0) {
		execl(self, self, "hold", key, (char *)NULL);
		_exit(127);
	}
	t_put = wait_for(cond_put_event, key, 10000);
	ev = find_event(key, false);
	if (t_put < 0 || ev == NULL || ev->lease == 0) {
		result(false, "leased key of another client appears (%ld ms)", t_put);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	t0 = now_us();
	t_del = wait_for(cond_del_event, key, (TTL_S + 6) * 1000);
	result(t_del >= (TTL_S - 1) * 1000 && t_del <= (TTL_S + 3) * 1000,
	       "leased key expires after its owner is killed (%ld ms, TTL %d s)", t_del, TTL_S);
	(void)t0;
}

static void s_watch_failover(void)
{
	int m = watch_member();
	int64_t revs[5];
	char key[32];
	bool ok = m >= 0, exact = true;
	const struct ev *ev;
	unsigned i;
	long t;

	if (!ok || cluster("kill", (unsigned)m + 1) != 0) {
		result(false, "kill the member the watch streams from (m%d)", m + 1);
		return;
	}
	/* these happen while the stream is dead and before the client notices */
	wait_leader();
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "fo/%u", i);
		revs[i] = ctl_put(key, "v");
		ok = ok && revs[i] > 0;
	}
	t = wait_for(cond_put_event, "fo/4", 15000);
	poll_for(1000);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "fo/%u", i);
		ev = find_event(key, false);
		if (count_events(key, false) != 1 || ev == NULL || ev->rev != revs[i]) {
			printf("  %s: put at revision %" PRId64 ", %u events, first at %" PRId64 "\n",
			       key, revs[i], count_events(key, false), ev ? ev->rev : -1);
			exact = false;
		}
	}
	result(ok && t >= 0 && exact && watch_member() != m,
	       "watch member m%d killed: 5 later events arrive exactly once via m%d (%ld ms)",
	       m + 1, watch_member() + 1, t);
	cluster("restart", (unsigned)m + 1);
	t = wait_for(cond_all_healthy, NULL, 20000);
	result(t >= 0, "restarted m%d is healthy again (%ld ms)", m + 1, t);
}

static void s_quorum_loss(void)
{
	int w = watch_member();
	unsigned a = (unsigned)(w >= 0 ? w : 0), b = (a + 1) % n_members;
	bool yes = true, no = false;
	uint64_t t0;
	long t, tr;
	int64_t rev;

	cluster("kill", a + 1);
	cluster("kill", b + 1);
	t0 = now_us();
	max_poll_us = 0;
	t = wait_for(cond_degraded, &yes, 15000);
	result(t >= 0, "2 of 3 members killed (m%u m%u): degraded after %ld ms", a + 1, b + 1, t);
	t0 = now_us();
	tr = REQ(ps_etcd_put(cli, "q/lost", "x", on_done, NULL), 3 * TIMEOUT_MS * n_members + 5000);
	result(tr >= 0 && req_status < 0 && max_poll_us < 50000,
	       "put without quorum fails (%d) after %ld ms; longest poll %" PRIu64 " us",
	       req_status, tr, max_poll_us);
	cluster("restart", a + 1);
	cluster("restart", b + 1);
	t0 = now_us();
	t = wait_for(cond_degraded, &no, 30000);
	result(t >= 0, "members restarted: degraded clears by itself after %ld ms", t);
	tr = REQ(ps_etcd_put(cli, "q/back", "y", on_done, NULL), 10000);
	rev = req_kv.rev;
	wait_for(cond_put_event, "q/back", 10000);
	result(tr >= 0 && req_status == 0 && count_events("q/back", false) == 1 &&
		       find_event("q/back", false)->rev == rev,
	       "put after recovery succeeds (%d, %ld ms) and is watched once", req_status, tr);
	(void)t0;
	wait_for(cond_all_healthy, NULL, 20000);
}

static void s_pause(void)
{
	int64_t rev;
	unsigned before;
	long t;

	ps_etcd_watch_pause(cli, true);
	rev = ctl_put("p/x", "paused");
	poll_for(1000);
	before = count_events("p/x", false);
	ps_etcd_watch_pause(cli, false);
	t = wait_for(cond_put_event, "p/x", 5000);
	poll_for(1000);
	result(rev > 0 && before == 0 && t >= 0 && count_events("p/x", false) == 1 &&
		       find_event("p/x", false)->rev == rev,
	       "put while the watch is paused arrives once after unpause (%ld ms)", t);
}

static void s_compacted(void)
{
	unsigned want = snapshots + 1, i;
	bool seen = false;
	int64_t rev;
	long t;

	ps_etcd_watch_pause(cli, true);
	rev = ctl_put("c/x", "compacted");
	ctl_put("c/x", "compacted2");
	sh("ETCDCTL_API=3 %s --endpoints=%s compact %" PRId64 " >/dev/null", etcdctl(),
	   endpoints, rev + 1);
	ps_etcd_watch_pause(cli, false);
	t = wait_for(cond_snapshots, &want, 10000);
	for (i = 0; i < n_snap; i++)
		seen = seen || (!strcmp(snap[i].key, "c/x") && !strcmp(snap[i].value, "compacted2"));
	rev = ctl_put("c/y", "after");
	wait_for(cond_put_event, "c/y", 5000);
	result(t >= 0 && seen && count_events("c/y", false) == 1,
	       "resume point compacted: fresh snapshot (%ld ms), then the watch goes on", t);
}

static int run(const char *self)
{
	struct ps_etcd_callbacks cb = {
		.snapshot_begin = on_snapshot_begin,
		.snapshot_kv = on_snapshot_kv,
		.snapshot_end = on_snapshot_end,
		.event = on_event,
	};
	struct ps_etcd_params p = {
		.members = members,
		.n_members = n_members,
		.prefix = PREFIX,
		.lease_ttl_s = TTL_S,
		.timeout_ms = TIMEOUT_MS,
	};
	uint64_t t0 = now_us();

	if (ctl_put("pre/a", "1") < 0 || ctl_put("pre/b", "2") < 0) {
		result(false, "etcdctl put (is the cluster up?)");
		return 1;
	}
	cli = ps_etcd_new(&p, &cb);
	if (cli == NULL) {
		result(false, "ps_etcd_new: %s", strerror(errno));
		return 1;
	}
	s_snapshot();
	s_watch_event();
	s_api();
	s_lease_expiry(self);
	s_watch_failover();
	s_pause();
	s_compacted();
	s_quorum_loss();
	result(dup_evs == 0, "no event delivered twice in the whole run (%u events)", n_evs);
	result(max_poll_all_us < 50000,
	       "ps_etcd_poll never blocked > 50 ms (max %" PRIu64 " us, %" PRIu64 " polls)",
	       max_poll_all_us, polls);
	ps_etcd_free(cli);
	printf("%u passed, %u failed, %.1f s\n", passes, fails, (now_us() - t0) / 1e6);
	return fails ? 1 : 0;
}

static int hold(const char *key)
{
	struct ps_etcd_params p = {
		.members = members,
		.n_members = n_members,
		.prefix = PREFIX,
		.lease_ttl_s = TTL_S,
		.timeout_ms = TIMEOUT_MS,
	};

	cli = ps_etcd_new(&p, NULL);
	if (cli == NULL || ps_etcd_put_leased(cli, key, "held", NULL, NULL) < 0)
		return 1;
	for (;;) /* until killed */
		poll_once();
}

int main(int argc, char **argv)
{
	const char *env = getenv("ETCD_ENDPOINTS");
	char *save = NULL, *tok, *list;

	if (env == NULL || argc < 2) {
		fprintf(stderr, "usage: ETCD_ENDPOINTS=url,url,... %s run | hold KEY\n", argv[0]);
		return 2;
	}
	snprintf(endpoints, sizeof(endpoints), "%s", env);
	list = strdup(env);
	for (tok = strtok_r(list, ",", &save); tok && n_members < MAX_MEMBERS;
	     tok = strtok_r(NULL, ",", &save))
		members[n_members++] = tok;
	if (n_members == 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "hold") && argc == 3)
		return hold(argv[2]);
	if (!strcmp(argv[1], "run")) {
		int r = run("/proc/self/exe");

		free(list);
		return r;
	}
	return 2;
}
