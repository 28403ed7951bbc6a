/* Decoding of etcd's v3 JSON gateway answers (proto3 JSON mapping): int64
 * fields come as strings, zero/default fields are omitted, keys and values
 * are base64, streamed answers are wrapped in {"result":...}.  Pure
 * functions, no I/O, so tests/unit/test_ps_etcd_json.c can feed them
 * literal answers copied from a real etcd 3.4.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ps_etcd.h"

int ps_json_int64(const json_t *obj, const char *field, int64_t *out)
{
	const json_t *v = obj ? json_object_get(obj, field) : NULL;
	const char *s;
	char *end;
	long long x;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	if (*s == '\0')
		return -EINVAL;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*out = x;
	return 0;
}

int ps_json_b64(const json_t *obj, const char *field, char **out, size_t *len)
{
	const json_t *v = obj ? json_object_get(obj, field) : NULL;
	const char *s = "";
	size_t n, pad = 0;
	char *buf;
	int r;

	*out = NULL;
	*len = 0;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return -EINVAL;
		s = json_string_value(v);
	}
	n = strlen(s);
	if (n % 4 != 0 || n > INT_MAX)
		return -EINVAL;
	/* EVP_DecodeBlock keeps the zero bytes that padding stands for. */
	if (n > 0 && s[n - 1] == '=')
		pad++;
	if (n > 1 && s[n - 2] == '=')
		pad++;
	buf = malloc(n / 4 * 3 + 1);
	if (buf == NULL)
		return -ENOMEM;
	r = n ? EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)s, (int)n) : 0;
	if (r < 0 || (size_t)r < pad || memchr(s, '=', n - pad) != NULL) {
		free(buf);
		return -EINVAL;
	}
	*len = (size_t)r - pad;
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

char *ps_b64_encode(const void *data, size_t len)
{
	char *buf;

	if (len > INT_MAX / 2)
		return NULL;
	buf = malloc((len + 2) / 3 * 4 + 1);
	if (buf == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)buf, data, (int)len);
	return buf;
}

void ps_kv_clear(struct ps_kv *kv)
{
	if (kv == NULL)
		return;
	free((char *)kv->key);
	free((char *)kv->value);
	memset(kv, 0, sizeof(*kv));
}

void ps_kvs_free(struct ps_kv *kvs, unsigned n)
{
	unsigned i;

	if (kvs == NULL)
		return;
	for (i = 0; i < n; i++)
		ps_kv_clear(&kvs[i]);
	free(kvs);
}

const json_t *ps_json_result(const json_t *root)
{
	const json_t *r = json_object_get(root, "result");

	return json_is_object(r) ? r : root;
}

bool ps_json_error(const json_t *root, int *code, const char **msg)
{
	const json_t *err = json_object_get(root, "error");
	const json_t *m;

	if (err == NULL)
		return false;
	if (code != NULL)
		*code = (int)json_integer_value(json_object_get(root, "code"));
	if (msg != NULL) {
		m = json_object_get(root, "message");
		if (!json_is_string(m))
			m = json_is_string(err) ? err : NULL;
		*msg = m ? json_string_value(m) : "error";
	}
	return true;
}

int ps_json_kv(const json_t *kv, const char *strip, bool deleted, struct ps_kv *out)
{
	char *key = NULL, *val = NULL;
	size_t klen, vlen = 0, slen = strip ? strlen(strip) : 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(kv))
		return -EINVAL;
	r = ps_json_b64(kv, "key", &key, &klen);
	if (r < 0)
		return r;
	if (klen == 0 || memchr(key, '\0', klen) != NULL) {
		r = -EINVAL;
		goto fail;
	}
	if (slen > 0 && klen >= slen && memcmp(key, strip, slen) == 0)
		memmove(key, key + slen, klen - slen + 1);
	if (!deleted || json_object_get(kv, "value") != NULL) {
		r = ps_json_b64(kv, "value", &val, &vlen);
		if (r < 0)
			goto fail;
	}
	if ((r = ps_json_int64(kv, "mod_revision", &out->mod_revision)) < 0 ||
	    (r = ps_json_int64(kv, "create_revision", &out->create_revision)) < 0 ||
	    (r = ps_json_int64(kv, "lease", &out->lease)) < 0)
		goto fail;
	if (deleted) {
		free(val);
		val = NULL;
		vlen = 0;
	}
	out->key = key;
	out->value = val;
	out->value_len = vlen;
	return 0;
fail:
	free(key);
	free(val);
	memset(out, 0, sizeof(*out));
	return r;
}

int ps_json_revision(const json_t *root, int64_t *revision)
{
	return ps_json_int64(json_object_get(ps_json_result(root), "header"), "revision",
			     revision);
}

int ps_json_range(const json_t *root, const char *strip, struct ps_kv **kvs, unsigned *n,
		  int64_t *revision)
{
	const json_t *arr;
	struct ps_kv *v = NULL;
	size_t i, cnt;
	int r;

	*kvs = NULL;
	*n = 0;
	*revision = 0;
	if (ps_json_error(root, NULL, NULL))
		return -EIO;
	if (!json_is_object(root))
		return -EINVAL;
	r = ps_json_revision(root, revision);
	if (r < 0)
		return r;
	arr = json_object_get(root, "kvs");
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return -EINVAL;
	cnt = json_array_size(arr);
	if (cnt == 0)
		return 0;
	v = calloc(cnt, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < cnt; i++) {
		r = ps_json_kv(json_array_get(arr, i), strip, false, &v[i]);
		if (r < 0) {
			ps_kvs_free(v, (unsigned)i);
			return r;
		}
	}
	*kvs = v;
	*n = (unsigned)cnt;
	return 0;
}

int ps_json_lease(const json_t *root, int64_t *id, int64_t *ttl)
{
	const json_t *res;
	int r;

	*id = 0;
	*ttl = 0;
	if (ps_json_error(root, NULL, NULL))
		return -EIO;
	if (!json_is_object(root))
		return -EINVAL;
	res = ps_json_result(root);
	if ((r = ps_json_int64(res, "ID", id)) < 0 || (r = ps_json_int64(res, "TTL", ttl)) < 0)
		return r;
	return 0;
}

int ps_json_txn(const json_t *root, bool *succeeded, int64_t *revision)
{
	const json_t *s;

	*succeeded = false;
	*revision = 0;
	if (ps_json_error(root, NULL, NULL))
		return -EIO;
	if (!json_is_object(root))
		return -EINVAL;
	s = json_object_get(root, "succeeded");
	if (s != NULL && !json_is_boolean(s))
		return -EINVAL;
	*succeeded = s != NULL && json_is_true(s);
	return ps_json_revision(root, revision);
}

void ps_watch_msg_clear(struct ps_watch_msg *m)
{
	unsigned i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_events; i++)
		ps_kv_clear(&m->events[i].kv);
	free(m->events);
	memset(m, 0, sizeof(*m));
}

static int watch_event(const json_t *ev, const char *strip, struct ps_watch_event *out)
{
	const json_t *type = json_object_get(ev, "type");

	if (!json_is_object(ev))
		return -EINVAL;
	/* PUT is the zero value, so only "DELETE" is ever spelled out. */
	if (type == NULL || (json_is_string(type) && !strcmp(json_string_value(type), "PUT")))
		out->deleted = false;
	else if (json_is_string(type) && !strcmp(json_string_value(type), "DELETE"))
		out->deleted = true;
	else
		return -EINVAL;
	return ps_json_kv(json_object_get(ev, "kv"), strip, out->deleted, &out->kv);
}

int ps_json_watch_line(const char *line, size_t len, const char *strip, struct ps_watch_msg *m)
{
	const json_t *res, *arr;
	json_t *root;
	size_t i, cnt;
	int r = -EINVAL;

	memset(m, 0, sizeof(*m));
	root = json_loadb(line, len, 0, NULL);
	if (!json_is_object(root))
		goto out;
	if (ps_json_error(root, NULL, NULL)) {
		r = -EIO;
		goto out;
	}
	res = ps_json_result(root);
	m->created = json_is_true(json_object_get(res, "created"));
	m->canceled = json_is_true(json_object_get(res, "canceled"));
	if (ps_json_int64(res, "compact_revision", &m->compact_revision) < 0 ||
	    ps_json_revision(root, &m->revision) < 0)
		goto out;
	arr = json_object_get(res, "events");
	if (arr != NULL && !json_is_array(arr))
		goto out;
	cnt = json_array_size(arr);
	if (cnt > 0) {
		m->events = calloc(cnt, sizeof(*m->events));
		if (m->events == NULL) {
			r = -ENOMEM;
			goto out;
		}
		for (i = 0; i < cnt; i++) {
			r = watch_event(json_array_get(arr, i), strip, &m->events[i]);
			if (r < 0)
				goto out;
			m->n_events++;
		}
	}
	r = 0;
out:
	if (r < 0)
		ps_watch_msg_clear(m);
	json_decref(root);
	return r;
}
