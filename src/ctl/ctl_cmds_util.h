/* Helpers shared by the command groups that edit the configuration
 * (ctl_cmds_objects.c, ctl_cmds_model.c): arguments as "key=value" words,
 * and the edit cycle — copy the running configuration, change the copy,
 * hand it to ctl_switch_change(). */
#ifndef CTL_CMDS_UTIL_H
#define CTL_CMDS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "ctl_config.h"

/* Argument @i as a string (the server checked the count). */
const char *ctl_arg(json_t *args, size_t i);

/* Options are key=value words from argument @from on; every one must be in
 * @allowed (NULL-terminated).  Returns 0 or -EINVAL with @err. */
int ctl_check_opts(json_t *args, size_t from, const char *const *allowed, char *err,
		   size_t errlen);

/* Value of option @key=... from argument @from on, or NULL. */
const char *ctl_opt(json_t *args, size_t from, const char *key);

/* Decimal @s in [min, max] into *@out.  Returns 0 or -EINVAL with @err naming @what. */
int ctl_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out,
		   const char *what, char *err, size_t errlen);

/* Copies @s into @dst (@size bytes with its NUL) or fails with -EINVAL. */
int ctl_copy_name(char *dst, size_t size, const char *s, const char *what, char *err,
		  size_t errlen);

/* Parses "a,b,c" into *@n items of @size bytes at @out (at most @max), each
 * with @parse.  Returns 0 or -EINVAL with @err. */
int ctl_parse_csv(const char *csv, void *out, size_t size, unsigned *n, unsigned max,
		  int (*parse)(const char *, void *), const char *what, const char *expect,
		  char *err, size_t errlen);

/* A deep copy of the running configuration to edit, or NULL with @err. */
struct ctl_config *ctl_editable(char *err, size_t errlen);

/* Applies @next (which this function owns) and answers
 * {"<what>": name, "status": "applied"}.  Returns 0 or a negative errno. */
int ctl_commit(struct ctl_config *next, const char *what, const char *name, json_t **result,
	       char *err, size_t errlen);

/* Grows the dynamic array *@arr of *@n elements of @size by one zeroed
 * element; returns it, or NULL with @err (the array is unchanged). */
void *ctl_grow(void *arr_ptr, unsigned n, size_t size, char *err, size_t errlen);

/* Removes element @i of the @n elements of @size at @arr. */
void ctl_remove(void *arr, unsigned n, size_t size, unsigned i);

/* The element of @arr (JSON objects, reference stolen) whose "name" is
 * @name, as a new reference, or NULL. */
json_t *ctl_find_named(json_t *arr, const char *name);

#endif
