/* fuzz_etcd_json: what etcd (or anyone who can write under the prefix)
 * hands the control thread.  Byte 0 picks a decoder, the rest is its text:
 *
 *   0 range answer     ps_json_range() (+ ps_json_revision, ps_json_error)
 *   1 watch line       ps_json_watch_line()
 *   2 txn answer       ps_json_txn()
 *   3 lease answer     ps_json_lease()
 *   4 error / one kv   ps_json_error(), ps_json_kv() on the result
 *   5..9 model value   tenants/, vnets/, groups/, policies/, endpoints/ as
 *                      ctl_pservice.c parses them, then ctl_json_to_*()
 *
 * Invariants: a rejection sets a terminated message and frees everything
 * (LeakSanitizer); an accepted model value obeys the decoder's rules and
 * re-encodes (ctl_*_to_json, printed and parsed again as a peer would)
 * to a value that decodes to the same struct; gateway answers give
 * NUL-terminated keys and values, NULL values exactly for deletions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "ctl_model_json.h"
#include "fuzz_common.h"
#include "ps_etcd.h"

#define STRIP "/dpdk-vswitch/"
#define NAME "fz"       /* the key's last part, as merge_kind() passes it */

enum mode {
	M_RANGE, M_WATCH, M_TXN, M_LEASE, M_KV,
	M_TENANT, M_VNET, M_GROUP, M_POLICY, M_ENDPOINT,
	M_N,
};

/* ---- seeds --------------------------------------------------------------- */

#define HDR(rev) "\"header\":{\"cluster_id\":\"3918346933467120736\",\"member_id\":" \
		 "\"9216577575565393503\",\"revision\":\"" rev "\",\"raft_term\":\"2\"}"

static int seed(const char *dir, const char *name, enum mode m, const char *text)
{
	size_t n = strlen(text);
	uint8_t *buf = malloc(n + 1);
	int rc;

	if (buf == NULL)
		return -1;
	buf[0] = (uint8_t)m;
	memcpy(buf + 1, text, n);
	rc = fuzz_seed_file(dir, name, buf, n + 1);
	free(buf);
	return rc;
}

/* One etcd kv as the gateway writes it: key and value in base64. */
static char *kv_json(const char *key, const char *value, const char *extra)
{
	char *k = ps_b64_encode(key, strlen(key));
	char *v = value ? ps_b64_encode(value, strlen(value)) : NULL;
	char *out = malloc(8192);

	if (k != NULL && out != NULL)
		snprintf(out, 8192, "{\"key\":\"%s\",%s%s%s\"create_revision\":\"2\","
			 "\"mod_revision\":\"9\",\"version\":\"1\"%s}", k,
			 v ? "\"value\":\"" : "", v ? v : "", v ? "\"," : "", extra);
	free(k);
	free(v);
	return out;
}

#define V_TENANT "{}"
#define V_VNET "{\"vni\":100,\"tenant\":\"acme\",\"subnets\":[\"10.0.0.0/24\"," \
	       "{\"prefix\":\"10.0.1.0/24\",\"gateway\":\"10.0.1.1\"}],\"flood\":false}"
#define V_VNET6 "{\"vni\":200,\"subnets\":[{\"prefix\":\"fd00:1::/64\",\"gateway\":\"fd00:1::1\"}]," \
		"\"flood\":true,\"description\":\"v6\"}"
#define V_GROUP "{\"tenant\":\"acme\"}"
#define V_POLICY "{\"from\":{\"group\":\"web\"},\"to\":{\"vnet\":\"green\"},\"action\":\"allow\"," \
		 "\"priority\":10,\"tenant\":\"acme\"}"
#define V_DENY "{\"from\":{\"vm\":\"a1\"},\"to\":{\"vm\":\"b2\"},\"action\":\"deny\"}"
#define V_CHAIN "{\"from\":{\"vnet\":\"blue\"},\"to\":\"any\",\"action\":\"chain\"," \
		"\"chain\":\"fw-ids\",\"priority\":5}"
#define V_ANY "{\"from\":{\"any\":true},\"to\":\"any\",\"action\":\"deny\",\"priority\":-1000000}"
#define V_PHYS "{\"from\":{\"vm\":\"a1\"},\"to\":{\"vm\":\"b2\"},\"action\":\"allow\"," \
	       "\"tep\":\"198.51.100.1\"}"
#define V_EP "{\"vm\":\"a1\",\"vnet\":\"blue\",\"mac\":\"02:00:00:00:0a:01\"," \
	     "\"ips\":[\"10.0.0.1\"],\"groups\":[\"web\"],\"tep\":\"198.51.100.1\"}"
#define V_EP6 "{\"vm\":\"b2\",\"vnet\":\"green\",\"mac\":\"02:00:00:00:0b:02\"," \
	      "\"ips\":[\"10.1.0.2\",\"fd00:1::2\"],\"groups\":[\"db\",\"web\"],\"tep\":\"198.51.100.2\"}"

static int write_seeds(const char *dir)
{
	char *a = kv_json(STRIP "policies/web-to-db", V_POLICY, ",\"lease\":\"0\"");
	char *b = kv_json(STRIP "endpoints/100/02:00:00:00:0a:01", V_EP,
			  ",\"lease\":\"9106175081761848584\"");
	char *c = kv_json(STRIP "vnets/blue", V_VNET, "");
	char *d = kv_json(STRIP "endpoints/100/02:00:00:00:0a:01", NULL, "");
	char *t = malloc(32768);
	int rc = 0;

	if (a == NULL || b == NULL || c == NULL || d == NULL || t == NULL) {
		rc = -1;
		goto out;
	}
	snprintf(t, 32768, "{" HDR("12") ",\"kvs\":[%s,%s,%s],\"count\":\"3\"}", a, b, c);
	rc |= seed(dir, "range-three", M_RANGE, t);
	rc |= seed(dir, "range-empty", M_RANGE, "{" HDR("2") "}");
	rc |= seed(dir, "range-unavailable", M_RANGE,
		   "{\"error\":\"etcdserver: request timed out\",\"code\":14,"
		   "\"message\":\"etcdserver: request timed out\"}");
	rc |= seed(dir, "watch-created", M_WATCH, "{\"result\":{" HDR("12") ",\"created\":true}}");
	snprintf(t, 32768, "{\"result\":{" HDR("13") ",\"events\":[{\"kv\":%s}]}}", a);
	rc |= seed(dir, "watch-put", M_WATCH, t);
	snprintf(t, 32768, "{\"result\":{" HDR("14") ",\"events\":[{\"type\":\"DELETE\","
		 "\"kv\":%s,\"prev_kv\":%s}]}}", d, b);
	rc |= seed(dir, "watch-delete", M_WATCH, t);
	rc |= seed(dir, "watch-compacted", M_WATCH, "{\"result\":{\"canceled\":true,"
		   "\"compact_revision\":\"4\"}}");
	rc |= seed(dir, "watch-error", M_WATCH, "{\"error\":{\"grpc_code\":14,\"http_code\":503,"
		   "\"message\":\"transport is closing\",\"http_status\":\"Service Unavailable\"}}");
	rc |= seed(dir, "txn-succeeded", M_TXN, "{" HDR("15") ",\"succeeded\":true,"
		   "\"responses\":[{\"response_put\":{" HDR("15") "}}]}");
	rc |= seed(dir, "txn-failed", M_TXN, "{" HDR("15") ",\"responses\":[{\"response_range\":"
		   "{" HDR("15") "}}]}");
	rc |= seed(dir, "lease-grant", M_LEASE, "{" HDR("1") ",\"ID\":\"9106175081761848582\","
		   "\"TTL\":\"5\"}");
	rc |= seed(dir, "lease-keepalive", M_LEASE, "{\"result\":{" HDR("1") ","
		   "\"ID\":\"9106175081761848582\",\"TTL\":\"4\"}}");
	rc |= seed(dir, "lease-expired", M_LEASE, "{\"result\":{" HDR("1") ","
		   "\"ID\":\"9106175081761848582\"}}");
	snprintf(t, 32768, "{\"result\":%s}", b);
	rc |= seed(dir, "kv-endpoint", M_KV, t);
	rc |= seed(dir, "kv-error", M_KV, "{\"error\":\"etcdserver: no leader\",\"code\":14}");
	rc |= seed(dir, "tenant", M_TENANT, V_TENANT);
	rc |= seed(dir, "vnet", M_VNET, V_VNET);
	rc |= seed(dir, "vnet-v6", M_VNET, V_VNET6);
	rc |= seed(dir, "group", M_GROUP, V_GROUP);
	rc |= seed(dir, "policy-allow", M_POLICY, V_POLICY);
	rc |= seed(dir, "policy-deny", M_POLICY, V_DENY);
	rc |= seed(dir, "policy-chain", M_POLICY, V_CHAIN);
	rc |= seed(dir, "policy-any", M_POLICY, V_ANY);
	rc |= seed(dir, "policy-physical", M_POLICY, V_PHYS);
	rc |= seed(dir, "endpoint", M_ENDPOINT, V_EP);
	rc |= seed(dir, "endpoint-v6", M_ENDPOINT, V_EP6);
out:
	free(a);
	free(b);
	free(c);
	free(d);
	free(t);
	return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seed_mode(*argc, *argv, write_seeds);
	return 0;
}

/* ---- gateway answers -------------------------------------------------- */

static void check_kv(const struct ps_kv *kv, bool deleted)
{
	FUZZ_CHECK(kv->key != NULL);
	FUZZ_CHECK(deleted == (kv->value == NULL));
	if (kv->value != NULL)
		FUZZ_CHECK(kv->value[kv->value_len] == '\0');
	else
		FUZZ_CHECK(kv->value_len == 0);
}

static void gateway(enum mode m, const char *text, size_t len)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	struct ps_watch_msg w;
	struct ps_kv *kvs, one;
	int64_t rev, id, ttl;
	const char *msg;
	bool ok, err;
	unsigned n;
	int rc, code;

	err = ps_json_error(root, &code, &msg);
	if (err)
		FUZZ_CHECK(msg != NULL);
	switch (m) {
	case M_RANGE:
		rc = ps_json_range(root, STRIP, &kvs, &n, &rev);
		FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -EINVAL);
		FUZZ_CHECK((rc == -EIO) == err);
		FUZZ_CHECK((kvs == NULL) == (n == 0));
		if (rc < 0)
			FUZZ_CHECK(kvs == NULL);
		for (unsigned i = 0; i < n; i++)
			check_kv(&kvs[i], false);
		ps_kvs_free(kvs, n);
		ps_json_revision(root, &rev);
		break;
	case M_WATCH:
		rc = ps_json_watch_line(text, len, STRIP, &w);
		FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -EINVAL);
		FUZZ_CHECK((w.events == NULL) == (w.n_events == 0));
		if (rc < 0)
			FUZZ_CHECK(w.events == NULL && !w.created && !w.canceled);
		for (unsigned i = 0; i < w.n_events; i++)
			check_kv(&w.events[i].kv, w.events[i].deleted);
		ps_watch_msg_clear(&w);
		FUZZ_CHECK(w.events == NULL && w.n_events == 0);
		break;
	case M_TXN:
		rc = ps_json_txn(root, &ok, &rev);
		FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -EINVAL);
		FUZZ_CHECK((rc == -EIO) == err);
		if (rc == -EIO)
			FUZZ_CHECK(!ok);
		break;
	case M_LEASE:
		rc = ps_json_lease(root, &id, &ttl);
		FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -EINVAL);
		FUZZ_CHECK((rc == -EIO) == err);
		break;
	default:
		for (int del = 0; del < 2; del++) {
			rc = ps_json_kv(ps_json_result(root), STRIP, del, &one);
			FUZZ_CHECK(rc == 0 || rc == -EINVAL);
			if (rc == 0)
				check_kv(&one, del);
			else
				FUZZ_CHECK(one.key == NULL && one.value == NULL);
			ps_kv_clear(&one);
		}
		break;
	}
	json_decref(root);
}

/* ---- model values ----------------------------------------------------- */

static bool ip_eq(const struct ctl_ip *a, const struct ctl_ip *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4 == b->v4;
	return a->family == 0 || memcmp(a->v6, b->v6, 16) == 0;
}

static bool sel_ok(const struct ctl_selector *s)
{
	struct ctl_ip ip;
	uint8_t mac[6];

	if (s->kind == CTL_SEL_ANY)
		return s->name[0] == '\0';
	return (s->kind == CTL_SEL_VM || s->kind == CTL_SEL_GROUP || s->kind == CTL_SEL_VNET) &&
	       ctl_name_valid(s->name) && ctl_parse_ip(s->name, &ip) < 0 &&
	       ctl_parse_mac(s->name, mac) < 0;
}

static void check_err(int rc, const char *err, size_t errlen)
{
	FUZZ_CHECK(rc == -EINVAL);
	FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', errlen) != NULL);
}

/* Encode @j, print it as ctl_pservice.c would publish it and parse it
 * back (the encoder must produce a value the strict parser accepts). */
static json_t *reparse(json_t *j)
{
	char *s;
	json_t *back;

	FUZZ_CHECK(j != NULL);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	FUZZ_CHECK(s != NULL);
	back = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	free(s);
	FUZZ_CHECK(back != NULL);
	return back;
}

static void vnet(const json_t *j)
{
	struct ctl_vnet v, w;
	char err[CTL_ERR_MAX];
	json_t *again;
	int rc = ctl_json_to_vnet(NAME, j, &v, err, sizeof(err));

	if (rc != 0) {
		check_err(rc, err, sizeof(err));
		return;
	}
	FUZZ_CHECK(strcmp(v.name, NAME) == 0);
	FUZZ_CHECK(v.vni >= 1 && v.vni <= 0xffffff);
	FUZZ_CHECK(v.n_subnets <= CTL_MAX_SUBNETS);
	FUZZ_CHECK(v.tenant[0] == '\0' || ctl_name_valid(v.tenant));
	for (unsigned i = 0; i < v.n_subnets; i++)
		FUZZ_CHECK(v.gateways[i].family == 0 ||
			   v.gateways[i].family == v.subnets[i].addr.family);
	again = reparse(ctl_vnet_to_json(&v));
	rc = ctl_json_to_vnet(NAME, again, &w, err, sizeof(err));
	json_decref(again);
	if (rc != 0)
		fuzz_fail("vnet re-encoded is refused: %s", err);
	FUZZ_CHECK(w.vni == v.vni && w.flood == v.flood && strcmp(w.tenant, v.tenant) == 0);
	FUZZ_CHECK(w.n_subnets == v.n_subnets);
	for (unsigned i = 0; i < v.n_subnets; i++) {
		FUZZ_CHECK(w.subnets[i].len == v.subnets[i].len);
		FUZZ_CHECK(ip_eq(&w.subnets[i].addr, &v.subnets[i].addr));
		FUZZ_CHECK(ip_eq(&w.gateways[i], &v.gateways[i]));
	}
}

static void group(const json_t *j)
{
	struct ctl_group g, h;
	char err[CTL_ERR_MAX];
	json_t *again;
	int rc = ctl_json_to_group(NAME, j, &g, err, sizeof(err));

	if (rc != 0) {
		check_err(rc, err, sizeof(err));
		return;
	}
	FUZZ_CHECK(g.tenant[0] == '\0' || ctl_name_valid(g.tenant));
	again = reparse(ctl_group_to_json(&g));
	rc = ctl_json_to_group(NAME, again, &h, err, sizeof(err));
	json_decref(again);
	if (rc != 0)
		fuzz_fail("group re-encoded is refused: %s", err);
	FUZZ_CHECK(strcmp(g.name, h.name) == 0 && strcmp(g.tenant, h.tenant) == 0);
}

static void policy(const json_t *j)
{
	struct ctl_policy p, q;
	char err[CTL_ERR_MAX];
	json_t *again;
	int rc = ctl_json_to_policy(NAME, j, &p, err, sizeof(err));

	if (rc != 0) {
		check_err(rc, err, sizeof(err));
		return;
	}
	FUZZ_CHECK(sel_ok(&p.from) && sel_ok(&p.to));
	FUZZ_CHECK(p.action == CTL_ACT_ALLOW || p.action == CTL_ACT_DENY ||
		   p.action == CTL_ACT_CHAIN);
	FUZZ_CHECK((p.action == CTL_ACT_CHAIN) == (p.chain[0] != '\0'));
	FUZZ_CHECK(p.chain[0] == '\0' || ctl_name_valid(p.chain));
	FUZZ_CHECK(p.priority >= -1000000 && p.priority <= 1000000);
	again = reparse(ctl_policy_to_json(&p));
	rc = ctl_json_to_policy(NAME, again, &q, err, sizeof(err));
	json_decref(again);
	if (rc != 0)
		fuzz_fail("policy re-encoded is refused: %s", err);
	FUZZ_CHECK(strcmp(p.tenant, q.tenant) == 0 && p.action == q.action &&
		   strcmp(p.chain, q.chain) == 0 && p.priority == q.priority);
	FUZZ_CHECK(p.from.kind == q.from.kind && strcmp(p.from.name, q.from.name) == 0);
	FUZZ_CHECK(p.to.kind == q.to.kind && strcmp(p.to.name, q.to.name) == 0);
}

static void endpoint(const json_t *j)
{
	struct ctl_endpoint e, f;
	char err[CTL_ERR_MAX];
	json_t *again;
	int rc = ctl_json_to_endpoint(j, &e, err, sizeof(err));

	if (rc != 0) {
		check_err(rc, err, sizeof(err));
		return;
	}
	FUZZ_CHECK(ctl_name_valid(e.name) && ctl_name_valid(e.vnet));
	FUZZ_CHECK((e.mac[0] & 1) == 0);
	FUZZ_CHECK(e.where == CTL_EP_REMOTE);
	FUZZ_CHECK(e.n_ips <= CTL_MAX_EP_IPS && e.n_groups <= CTL_MAX_EP_GROUPS);
	again = reparse(ctl_endpoint_to_json(&e, e.tep));
	rc = ctl_json_to_endpoint(again, &f, err, sizeof(err));
	json_decref(again);
	if (rc != 0)
		fuzz_fail("endpoint re-encoded is refused: %s", err);
	FUZZ_CHECK(strcmp(e.name, f.name) == 0 && strcmp(e.vnet, f.vnet) == 0);
	FUZZ_CHECK(memcmp(e.mac, f.mac, 6) == 0 && e.tep == f.tep);
	FUZZ_CHECK(e.n_ips == f.n_ips && e.n_groups == f.n_groups);
	for (unsigned i = 0; i < e.n_ips; i++)
		FUZZ_CHECK(ip_eq(&e.ips[i], &f.ips[i]));
	for (unsigned i = 0; i < e.n_groups; i++)
		FUZZ_CHECK(strcmp(e.groups[i], f.groups[i]) == 0);
}

static void model(enum mode m, const char *text, size_t len)
{
	/* as ctl_pservice.c parses a value, plus any JSON so non-objects get in */
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	struct ctl_tenant t;
	char err[CTL_ERR_MAX];
	int rc;

	if (j == NULL)
		return;
	switch (m) {
	case M_TENANT:
		rc = ctl_json_to_tenant(NAME, j, &t, err, sizeof(err));
		if (rc != 0)
			check_err(rc, err, sizeof(err));
		else
			FUZZ_CHECK(strcmp(t.name, NAME) == 0 && t.origin == CTL_FROM_SERVICE);
		break;
	case M_VNET: vnet(j); break;
	case M_GROUP: group(j); break;
	case M_POLICY: policy(j); break;
	default: endpoint(j); break;
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mode m;

	if (size < 1)
		return 0;
	m = (enum mode)(data[0] % M_N);
	if (m < M_TENANT)
		gateway(m, (const char *)data + 1, size - 1);
	else
		model(m, (const char *)data + 1, size - 1);
	return 0;
}
