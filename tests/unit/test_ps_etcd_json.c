/* Unit tests of the etcd gateway JSON decoding (src/policy/ps_etcd_json.c).
 *
 * The inputs are answers of a real etcd 3.4.23 JSON gateway (copied from
 * curl runs, cluster ids shortened): int64 as strings, zero fields left
 * out, base64 keys and values, {"result":...} around streamed answers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

#include "ps_etcd.h"

#define HDR(rev) "\"header\":{\"cluster_id\":\"3918346933467120736\",\"member_id\":" \
		 "\"9216577575565393503\",\"revision\":\"" rev "\",\"raft_term\":\"2\"}"

/* "/vs/" stripped from every key below */
#define STRIP "/vs/"

static json_t *parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	return j;
}

static void test_int64_string_number_absent(void)
{
	json_t *j = parse("{\"a\":\"9106175081761848582\",\"b\":42,\"c\":\"-1\",\"bad\":\"12x\","
			  "\"empty\":\"\",\"obj\":{}}");
	int64_t v;

	CU_ASSERT_EQUAL(ps_json_int64(j, "a", &v), 0);
	CU_ASSERT_EQUAL(v, 9106175081761848582LL);
	CU_ASSERT_EQUAL(ps_json_int64(j, "b", &v), 0);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(ps_json_int64(j, "c", &v), 0);
	CU_ASSERT_EQUAL(v, -1);
	v = 7;
	CU_ASSERT_EQUAL(ps_json_int64(j, "absent", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(ps_json_int64(j, "bad", &v), -EINVAL);
	CU_ASSERT_EQUAL(ps_json_int64(j, "empty", &v), -EINVAL);
	CU_ASSERT_EQUAL(ps_json_int64(j, "obj", &v), -EINVAL);
	CU_ASSERT_EQUAL(ps_json_int64(NULL, "a", &v), 0);
	json_decref(j);
}

static void test_base64_round_trip_and_rejects(void)
{
	json_t *j = parse("{\"v\":\"eQ==\",\"k\":\"L3ZzL3BvbGljaWVzL3dlYg==\",\"two\":\"YWI=\","
			  "\"short\":\"abc\",\"chars\":\"!!!!\",\"inner\":\"YQ==YWI=\","
			  "\"num\":5,\"empty\":\"\"}");
	const char *samples[] = { "", "a", "ab", "abc", "abcd", "\x01\xff\x00z" };
	size_t sizes[] = { 0, 1, 2, 3, 4, 4 };
	char *out, *enc;
	size_t len, i;
	json_t *o;

	CU_ASSERT_EQUAL(ps_json_b64(j, "v", &out, &len), 0);
	CU_ASSERT_EQUAL(len, 1);
	CU_ASSERT_STRING_EQUAL(out, "y");
	free(out);
	CU_ASSERT_EQUAL(ps_json_b64(j, "k", &out, &len), 0);
	CU_ASSERT_EQUAL(len, strlen("/vs/policies/web"));
	CU_ASSERT_STRING_EQUAL(out, "/vs/policies/web");
	free(out);
	CU_ASSERT_EQUAL(ps_json_b64(j, "two", &out, &len), 0);
	CU_ASSERT_EQUAL(len, 2);
	free(out);
	/* proto3 leaves out an empty value */
	CU_ASSERT_EQUAL(ps_json_b64(j, "absent", &out, &len), 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	CU_ASSERT_EQUAL(ps_json_b64(j, "empty", &out, &len), 0);
	free(out);
	CU_ASSERT_EQUAL(ps_json_b64(j, "short", &out, &len), -EINVAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(ps_json_b64(j, "chars", &out, &len), -EINVAL);
	CU_ASSERT_EQUAL(ps_json_b64(j, "inner", &out, &len), -EINVAL);
	CU_ASSERT_EQUAL(ps_json_b64(j, "num", &out, &len), -EINVAL);
	json_decref(j);

	for (i = 0; i < UNIT_DIM(samples); i++) {
		enc = ps_b64_encode(samples[i], sizes[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
		o = json_pack("{ss}", "x", enc);
		CU_ASSERT_EQUAL(ps_json_b64(o, "x", &out, &len), 0);
		CU_ASSERT_EQUAL(len, sizes[i]);
		CU_ASSERT(out != NULL && memcmp(out, samples[i], sizes[i]) == 0);
		free(out);
		json_decref(o);
		free(enc);
	}
	enc = ps_b64_encode("/vs/", 4);
	CU_ASSERT_STRING_EQUAL(enc, "L3ZzLw==");
	free(enc);
}

static void test_range_with_kvs_strips_prefix(void)
{
	json_t *j = parse("{" HDR("7") ",\"kvs\":[{\"key\":\"L3ZzL3BvbGljaWVzL3dlYg==\","
			  "\"create_revision\":\"2\",\"mod_revision\":\"5\",\"version\":\"4\","
			  "\"value\":\"YWxsb3c=\",\"lease\":\"9106175081761848584\"},"
			  "{\"key\":\"L290aGVy\",\"mod_revision\":6}],\"count\":\"2\"}");
	struct ps_kv *kvs;
	unsigned n;
	int64_t rev;

	CU_ASSERT_EQUAL_FATAL(ps_json_range(j, STRIP, &kvs, &n, &rev), 0);
	CU_ASSERT_EQUAL(rev, 7);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(kvs[0].key, "policies/web");
	CU_ASSERT_STRING_EQUAL(kvs[0].value, "allow");
	CU_ASSERT_EQUAL(kvs[0].value_len, 5);
	CU_ASSERT_EQUAL(kvs[0].mod_revision, 5);
	CU_ASSERT_EQUAL(kvs[0].create_revision, 2);
	CU_ASSERT_EQUAL(kvs[0].lease, 9106175081761848584LL);
	/* a key outside the prefix is passed on whole; no value = "" */
	CU_ASSERT_STRING_EQUAL(kvs[1].key, "/other");
	CU_ASSERT_STRING_EQUAL(kvs[1].value, "");
	CU_ASSERT_EQUAL(kvs[1].mod_revision, 6);
	CU_ASSERT_EQUAL(kvs[1].lease, 0);
	ps_kvs_free(kvs, n);
	json_decref(j);
}

static void test_empty_range_has_no_kvs_nor_count(void)
{
	json_t *j = parse("{" HDR("2") "}");
	struct ps_kv *kvs = (void *)1;
	unsigned n = 9;
	int64_t rev;

	CU_ASSERT_EQUAL(ps_json_range(j, STRIP, &kvs, &n, &rev), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(kvs);
	CU_ASSERT_EQUAL(rev, 2);
	json_decref(j);
}

static void test_range_with_bad_base64_rejected(void)
{
	json_t *j = parse("{" HDR("2") ",\"kvs\":[{\"key\":\"L3ZzL2E=\",\"value\":\"eQ==\"},"
			  "{\"key\":\"L3ZzL2I=\",\"value\":\"e*==\"}]}");
	struct ps_kv *kvs;
	unsigned n;
	int64_t rev;

	CU_ASSERT_EQUAL(ps_json_range(j, STRIP, &kvs, &n, &rev), -EINVAL);
	CU_ASSERT_PTR_NULL(kvs);
	CU_ASSERT_EQUAL(n, 0);
	json_decref(j);
}

static void test_error_objects(void)
{
	json_t *j = parse("{\"error\":\"etcdserver: request timed out\",\"message\":"
			  "\"etcdserver: request timed out\",\"code\":14}");
	json_t *ok = parse("{" HDR("3") "}");
	struct ps_kv *kvs;
	const char *msg;
	int64_t rev, id, ttl;
	unsigned n;
	bool succ;
	int code;

	CU_ASSERT_TRUE(ps_json_error(j, &code, &msg));
	CU_ASSERT_EQUAL(code, 14);
	CU_ASSERT_STRING_EQUAL(msg, "etcdserver: request timed out");
	CU_ASSERT_FALSE(ps_json_error(ok, &code, &msg));
	CU_ASSERT_EQUAL(ps_json_range(j, STRIP, &kvs, &n, &rev), -EIO);
	CU_ASSERT_EQUAL(ps_json_lease(j, &id, &ttl), -EIO);
	CU_ASSERT_EQUAL(ps_json_txn(j, &succ, &rev), -EIO);
	json_decref(j);
	json_decref(ok);
}

static void test_lease_grant_and_keepalive(void)
{
	json_t *grant = parse("{" HDR("1") ",\"ID\":\"9106175081761848582\",\"TTL\":\"3\"}");
	json_t *alive = parse("{\"result\":{" HDR("1") ",\"ID\":\"9106175081761848584\","
			      "\"TTL\":\"2\"}}");
	json_t *expired = parse("{\"result\":{" HDR("1") ",\"ID\":\"9106175081761848584\"}}");
	int64_t id, ttl;

	CU_ASSERT_EQUAL(ps_json_lease(grant, &id, &ttl), 0);
	CU_ASSERT_EQUAL(id, 9106175081761848582LL);
	CU_ASSERT_EQUAL(ttl, 3);
	CU_ASSERT_EQUAL(ps_json_lease(alive, &id, &ttl), 0);
	CU_ASSERT_EQUAL(id, 9106175081761848584LL);
	CU_ASSERT_EQUAL(ttl, 2);
	/* keepalive of an expired lease: no TTL at all */
	CU_ASSERT_EQUAL(ps_json_lease(expired, &id, &ttl), 0);
	CU_ASSERT_EQUAL(ttl, 0);
	json_decref(grant);
	json_decref(alive);
	json_decref(expired);
}

static void test_txn_success_and_failure(void)
{
	json_t *yes = parse("{" HDR("2") ",\"succeeded\":true,\"responses\":[{\"response_put\":"
			    "{\"header\":{\"revision\":\"2\"}}}]}");
	json_t *no = parse("{" HDR("2") "}");
	int64_t rev;
	bool s;

	CU_ASSERT_EQUAL(ps_json_txn(yes, &s, &rev), 0);
	CU_ASSERT_TRUE(s);
	CU_ASSERT_EQUAL(rev, 2);
	CU_ASSERT_EQUAL(ps_json_txn(no, &s, &rev), 0);
	CU_ASSERT_FALSE(s);
	json_decref(yes);
	json_decref(no);
}

static void test_watch_created_put_delete(void)
{
	const char *created = "{\"result\":{" HDR("5") ",\"created\":true}}";
	/* a PUT event has no "type"; a DELETE kv has no value */
	const char *events =
		"{\"result\":{" HDR("9") ",\"events\":[{\"kv\":{\"key\":\"L3ZzL2E=\","
		"\"create_revision\":\"8\",\"mod_revision\":\"8\",\"version\":\"1\","
		"\"value\":\"eQ==\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3ZzL2I=\","
		"\"mod_revision\":\"9\"},\"prev_kv\":{\"key\":\"L3ZzL2I=\",\"create_revision\":"
		"\"3\",\"mod_revision\":\"4\",\"version\":\"1\",\"value\":\"eQ==\"}}]}}";
	struct ps_watch_msg m;

	CU_ASSERT_EQUAL_FATAL(ps_json_watch_line(created, strlen(created), STRIP, &m), 0);
	CU_ASSERT_TRUE(m.created);
	CU_ASSERT_FALSE(m.canceled);
	CU_ASSERT_EQUAL(m.revision, 5);
	CU_ASSERT_EQUAL(m.n_events, 0);
	ps_watch_msg_clear(&m);

	CU_ASSERT_EQUAL_FATAL(ps_json_watch_line(events, strlen(events), STRIP, &m), 0);
	CU_ASSERT_FALSE(m.created);
	CU_ASSERT_EQUAL(m.revision, 9);
	CU_ASSERT_EQUAL_FATAL(m.n_events, 2);
	CU_ASSERT_FALSE(m.events[0].deleted);
	CU_ASSERT_STRING_EQUAL(m.events[0].kv.key, "a");
	CU_ASSERT_STRING_EQUAL(m.events[0].kv.value, "y");
	CU_ASSERT_EQUAL(m.events[0].kv.mod_revision, 8);
	CU_ASSERT_TRUE(m.events[1].deleted);
	CU_ASSERT_STRING_EQUAL(m.events[1].kv.key, "b");
	CU_ASSERT_PTR_NULL(m.events[1].kv.value);
	CU_ASSERT_EQUAL(m.events[1].kv.mod_revision, 9);
	ps_watch_msg_clear(&m);
}

static void test_watch_compacted_and_errors(void)
{
	const char *compacted = "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"raft_term\":\"2\"},"
				"\"canceled\":true,\"compact_revision\":\"4\"}}";
	const char *err = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
			  "\"transport is closing\",\"http_status\":\"Service Unavailable\"}}";
	const char *bad_type = "{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":"
			       "{\"key\":\"L3ZzL2E=\"}}]}}";
	const char *bad_b64 = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"L3ZzL2E\"}}]}}";
	const char *garbage = "{\"result\":{\"events\":";
	struct ps_watch_msg m;

	CU_ASSERT_EQUAL_FATAL(ps_json_watch_line(compacted, strlen(compacted), STRIP, &m), 0);
	CU_ASSERT_TRUE(m.canceled);
	CU_ASSERT_EQUAL(m.compact_revision, 4);
	CU_ASSERT_EQUAL(m.revision, 0);
	ps_watch_msg_clear(&m);
	CU_ASSERT_EQUAL(ps_json_watch_line(err, strlen(err), STRIP, &m), -EIO);
	CU_ASSERT_EQUAL(ps_json_watch_line(bad_type, strlen(bad_type), STRIP, &m), -EINVAL);
	CU_ASSERT_EQUAL(m.n_events, 0);
	CU_ASSERT_PTR_NULL(m.events);
	CU_ASSERT_EQUAL(ps_json_watch_line(bad_b64, strlen(bad_b64), STRIP, &m), -EINVAL);
	CU_ASSERT_EQUAL(ps_json_watch_line(garbage, strlen(garbage), STRIP, &m), -EINVAL);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "int64 as string, number, absent", test_int64_string_number_absent },
		{ "base64 round trip, bad base64 rejected", test_base64_round_trip_and_rejects },
		{ "range answer: keys relative to the prefix", test_range_with_kvs_strips_prefix },
		{ "empty range has neither kvs nor count", test_empty_range_has_no_kvs_nor_count },
		{ "range with bad base64 rejected whole", test_range_with_bad_base64_rejected },
		{ "error objects", test_error_objects },
		{ "lease grant, keepalive, expired keepalive", test_lease_grant_and_keepalive },
		{ "txn succeeded / failed", test_txn_success_and_failure },
		{ "watch: created, PUT without type, DELETE", test_watch_created_put_delete },
		{ "watch: compacted, error, malformed", test_watch_compacted_and_errors },
	};
	const struct unit_suite suite = { "ps_etcd_json", tests, UNIT_DIM(tests), NULL, NULL,
					  NULL, NULL };

	return unit_run(&suite, NULL);
}
