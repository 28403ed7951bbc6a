/* Helpers of the command groups that edit the configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmds_util.h"
#include "ctl_switch.h"

const char *
ctl_arg(json_t *args, size_t i)
{
	return json_string_value(json_array_get(args, i));
}

int
ctl_check_opts(json_t *args, size_t from, const char *const *allowed, char *err, size_t errlen)
{
	for (size_t i = from; i < json_array_size(args); i++) {
		const char *a = ctl_arg(args, i), *eq = strchr(a, '=');
		bool ok = false;

		for (const char *const *k = allowed; eq != NULL && *k != NULL; k++)
			ok |= strlen(*k) == (size_t)(eq - a) && strncmp(a, *k, eq - a) == 0;
		if (!ok) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -EINVAL;
		}
	}
	return 0;
}

const char *
ctl_opt(json_t *args, size_t from, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = from; i < json_array_size(args); i++) {
		const char *a = ctl_arg(args, i);

		if (strncmp(a, key, len) == 0 && a[len] == '=')
			return a + len + 1;
	}
	return NULL;
}

int
ctl_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out,
	       const char *what, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max || s[0] == '-') {
		snprintf(err, errlen, "%s: '%s' is not a number from %lu to %lu", what, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int
ctl_copy_name(char *dst, size_t size, const char *s, const char *what, char *err, size_t errlen)
{
	if (strlen(s) >= size) {
		snprintf(err, errlen, "%s '%s' is longer than %zu characters", what, s, size - 1);
		return -EINVAL;
	}
	snprintf(dst, size, "%s", s);
	return 0;
}

int
ctl_parse_csv(const char *csv, void *out, size_t size, unsigned *n, unsigned max,
	      int (*parse)(const char *, void *), const char *what, const char *expect,
	      char *err, size_t errlen)
{
	char buf[1024], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", csv);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (*n == max) {
			snprintf(err, errlen, "%s: at most %u", what, max);
			return -EINVAL;
		}
		if (parse(t, (char *)out + (size_t)*n * size) < 0) {
			snprintf(err, errlen, "%s: '%s' is not %s", what, t, expect);
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

struct ctl_config *
ctl_editable(char *err, size_t errlen)
{
	/* edits start from what was configured, not from what the policy
	 * service added to it (ctl_switch_change merges that in again) */
	struct ctl_config *c = ctl_config_dup(ctl_switch_base_config());

	if (c == NULL)
		snprintf(err, errlen, "out of memory");
	return c;
}

int
ctl_commit(struct ctl_config *next, const char *what, const char *name, json_t **result,
	   char *err, size_t errlen)
{
	int ret = ctl_switch_change(next, err, errlen);

	if (ret < 0) {
		ctl_config_free(next);
		return ret;
	}
	*result = json_pack("{s:s, s:s}", what, name, "status", "applied");
	return 0;
}

void *
ctl_grow(void *arr_ptr, unsigned n, size_t size, char *err, size_t errlen)
{
	void **arr = arr_ptr;
	char *grown = realloc(*arr, ((size_t)n + 1) * size);

	if (grown == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*arr = grown;
	memset(grown + (size_t)n * size, 0, size);
	return grown + (size_t)n * size;
}

void
ctl_remove(void *arr, unsigned n, size_t size, unsigned i)
{
	memmove((char *)arr + (size_t)i * size, (char *)arr + ((size_t)i + 1) * size,
		((size_t)n - i - 1) * size);
}

json_t *
ctl_find_named(json_t *arr, const char *name)
{
	size_t i;
	json_t *o, *found = NULL;

	json_array_foreach(arr, i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));

		if (n != NULL && strcmp(n, name) == 0) {
			found = json_incref(o);
			break;
		}
	}
	json_decref(arr);
	return found;
}
