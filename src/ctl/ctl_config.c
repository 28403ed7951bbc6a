/* Configuration loading: one YAML document -> struct ctl_config
 * (docs/config.md).
 *
 * Three passes over one libyaml document, kept loaded until the end so
 * every error can name the node that caused it:
 *   1. a schema walk driven by one key table per section (key, type,
 *      offset, limits), which parses and range-checks each value;
 *   2. per-object checks that tie keys of one mapping together;
 *   3. cross-checks over the whole configuration.  Uniqueness is found by
 *      sorting, so a million endpoints cost O(n log n).
 * The caller gets a complete, valid configuration or nothing.
 * No DPDK here: the CLI and the unit tests link it without an EAL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <yaml.h>

#include "ctl_config.h"
#include "ctl_proto.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CFG_MAX_KEYS 16        /* keys in one table; sizes the per-mapping node arrays */
#define CFG_MAX_LCORE 127
#define CFG_EMBEDDED "<embedded>"

/* Lists whose sequence node is remembered for errors found by cross-checks. */
enum cfg_slot { CFG_S_PHYS, CFG_S_VHOST, CFG_S_VNET, CFG_S_EP, CFG_S_COUNT };

struct cfg_ctx {
	const char *file;                  /* name used in messages */
	yaml_document_t *doc;
	yaml_node_t *root;
	yaml_node_t *lists[CFG_S_COUNT];   /* sequence node of each list, NULL if absent */
	struct ctl_config *cfg;
	char *err;
	size_t errlen;
};

enum cfg_type {
	CFG_INT,          /* decimal in [min, max], stored in a field of `size` bytes */
	CFG_BOOL,         /* true/false/yes/no/on/off */
	CFG_STR,          /* min..size-1 bytes, restricted to `chars` if set */
	CFG_PATH,         /* absolute path fitting char[size] */
	CFG_ENUM,         /* one of `names`, stored as its index in a field of `size` bytes */
	CFG_IPV4,         /* unicast IPv4, uint32_t network order */
	CFG_IFADDR,       /* IPv4 host address/len: uint32_t at off, uint8_t length at aux */
	CFG_MAC,          /* unicast MAC, uint8_t[6] */
	CFG_INT_LIST,     /* CFG_INT items: unsigned[max_n], unsigned count at aux */
	CFG_STR_LIST,     /* CFG_STR items: char[max_n][size], unsigned count at aux */
	CFG_IP_LIST,      /* IPv4/IPv6 addresses: struct ctl_ip[max_n], unsigned count at aux */
	CFG_PREFIX_LIST,  /* CIDR prefixes: struct ctl_prefix[max_n], unsigned count at aux */
	CFG_SECTION,      /* mapping described by `sub` (struct cfg_table), based at off */
	CFG_LIST,         /* sequence of mappings described by `sub` (struct cfg_list) */
	CFG_TYPE_COUNT
};

struct cfg_charset {
	const char *set;   /* every allowed byte */
	const char *desc;  /* the same, for humans */
};

struct cfg_key {
	const char *key;
	enum cfg_type type;
	size_t off;              /* destination, from the start of the object */
	size_t size;             /* destination field (or list item) size in bytes */
	size_t aux;              /* second destination: list count, prefix length */
	long long min, max;      /* integer range; minimum string length */
	unsigned min_n, max_n;   /* list length bounds (max_n 0: unbounded) */
	long long def;           /* default of CFG_INT/CFG_BOOL/CFG_ENUM */
	const char *def_str;     /* default of CFG_STR/CFG_PATH */
	bool required;
	const struct cfg_charset *chars;
	const char *const *names;  /* CFG_ENUM values, NULL-terminated, by index */
	const void *sub;           /* CFG_SECTION: cfg_table; CFG_LIST: cfg_list */
};

struct cfg_table {
	const char *what;                 /* the object, as named in messages */
	const struct cfg_key *keys;
	unsigned n_keys;
	/* Rules tying keys of one mapping together; vals[] is indexed like keys[]. */
	int (*check)(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals, void *obj);
};

struct cfg_list {
	const struct cfg_table *elem;
	enum cfg_slot slot;
	size_t elem_size;
	size_t loc_file, loc_line, loc_col;  /* where an element records its position */
	bool dynamic;                        /* array is malloc'd, its pointer at the key's off */
};

typedef int (*cfg_parse_fn)(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj);

struct cfg_type_ops {
	const char *expect;  /* "expected ..." in type errors */
	cfg_parse_fn parse;
};

static const struct cfg_type_ops cfg_types[CFG_TYPE_COUNT];

/* ---- errors and document access ---------------------------------------- */

static int cfg_verr(char *err, size_t errlen, const char *file, size_t line, size_t col,
		    const char *fmt, va_list ap)
{
	int n;

	if (err == NULL || errlen == 0)
		return -EINVAL;
	n = snprintf(err, errlen, "%s:%zu:%zu: ", file, line, col);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	return -EINVAL;
}

__attribute__((format(printf, 6, 7)))
static int cfg_err_at(char *err, size_t errlen, const char *file, size_t line, size_t col,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verr(err, errlen, file, line, col, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Reports @fmt at @n's position (libyaml marks are 0-based). Returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
static int cfg_err(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	size_t line = n ? n->start_mark.line + 1 : 1, col = n ? n->start_mark.column + 1 : 1;

	va_start(ap, fmt);
	cfg_verr(c->err, c->errlen, c->file, line, col, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int cfg_oom(struct cfg_ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
	return -ENOMEM;
}

static yaml_node_t *cfg_node(struct cfg_ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *cfg_str(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t cfg_seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *cfg_item(struct cfg_ctx *c, const yaml_node_t *seq, size_t i)
{
	return cfg_node(c, seq->data.sequence.items.start[i]);
}

/* `key:` with no value, `~` or `null`: treated as an empty section or list. */
static bool cfg_is_null(const yaml_node_t *n)
{
	const char *s = NULL;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = cfg_str(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* What a node is, for "expected X, got Y"; @buf holds a quoted scalar. */
static const char *cfg_got(const yaml_node_t *n, char *buf, size_t len)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		if (n->data.scalar.length == 0)
			return "an empty value";
		snprintf(buf, len, "'%.48s%s'", cfg_str(n),
			 n->data.scalar.length > 48 ? "..." : "");
		return buf;
	default:
		return "nothing";
	}
}

/* Value node of @key in mapping @map, or NULL. Used on error paths only. */
static yaml_node_t *cfg_get(struct cfg_ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(c, p->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(cfg_str(k), key))
			return cfg_node(c, p->value);
	}
	return NULL;
}

/* Node of @key in element @i of list @slot, falling back to the element. */
static yaml_node_t *cfg_elem_val(struct cfg_ctx *c, enum cfg_slot slot, size_t i, const char *key)
{
	yaml_node_t *elem = cfg_item(c, c->lists[slot], i);
	yaml_node_t *v = cfg_get(c, elem, key);

	return v ? v : elem;
}

/* Item @j of sequence @key in element @i of list @slot, falling back outward. */
static yaml_node_t *cfg_elem_item(struct cfg_ctx *c, enum cfg_slot slot, size_t i,
				  const char *key, size_t j)
{
	yaml_node_t *v = cfg_elem_val(c, slot, i, key);

	if (v->type == YAML_SEQUENCE_NODE && j < cfg_seq_len(v))
		return cfg_item(c, v, j);
	return v;
}

/* ---- address helpers --------------------------------------------------- */

int ctl_parse_mac(const char *s, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t out[6];

	if (s == NULL || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *hi = strchr(hex, s[3 * i] | 0x20),
			   *lo = strchr(hex, s[3 * i + 1] | 0x20);

		/* | 0x20 folds case; strchr also finds the terminator, so reject NUL. */
		if (!s[3 * i] || !s[3 * i + 1] || !hi || !lo || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		out[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
	}
	memcpy(mac, out, 6);
	return 0;
}

int ctl_parse_ip(const char *s, struct ctl_ip *ip)
{
	struct ctl_ip out;

	if (s == NULL)
		return -EINVAL;
	/* Zeroed so v4 addresses compare equal with memcmp over the union. */
	memset(&out, 0, sizeof(out));
	if (inet_pton(AF_INET, s, &out.v4) == 1)
		out.family = AF_INET;
	else if (inet_pton(AF_INET6, s, out.v6) == 1)
		out.family = AF_INET6;
	else
		return -EINVAL;
	*ip = out;
	return 0;
}

int ctl_parse_prefix(const char *s, struct ctl_prefix *p)
{
	char addr[64];
	const char *slash;
	size_t alen, llen;
	struct ctl_prefix out;
	unsigned len = 0;

	if (s == NULL || (slash = strchr(s, '/')) == NULL)
		return -EINVAL;
	alen = (size_t)(slash - s);
	llen = strlen(slash + 1);
	if (alen == 0 || alen >= sizeof(addr) || llen == 0 || llen > 3 ||
	    strspn(slash + 1, "0123456789") != llen)
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(&out, 0, sizeof(out));
	if (ctl_parse_ip(addr, &out.addr) < 0)
		return -EINVAL;
	for (size_t i = 0; i < llen; i++)
		len = len * 10 + (unsigned)(slash[1 + i] - '0');
	if (len > (out.addr.family == AF_INET ? 32u : 128u))
		return -EINVAL;
	out.len = (uint8_t)len;
	*p = out;
	return 0;
}

static const uint8_t *cfg_ip_bytes(const struct ctl_ip *ip, unsigned *bits)
{
	*bits = ip->family == AF_INET ? 32 : 128;
	return ip->family == AF_INET ? (const uint8_t *)&ip->v4 : ip->v6;
}

/* True when @ip lies inside @p. */
static bool cfg_prefix_has(const struct ctl_prefix *p, const struct ctl_ip *ip)
{
	unsigned bits;
	const uint8_t *a, *b;
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->addr.family != ip->family)
		return false;
	a = cfg_ip_bytes(&p->addr, &bits);
	b = cfg_ip_bytes(ip, &bits);
	if (memcmp(a, b, full))
		return false;
	return rest == 0 || ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool cfg_host_bits_zero(const struct ctl_prefix *p)
{
	unsigned bits;
	const uint8_t *a = cfg_ip_bytes(&p->addr, &bits);

	for (unsigned i = p->len; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* Usable as a source/destination: not 0.0.0.0, loopback, multicast or reserved. */
static bool cfg_v4_unicast(uint32_t host)
{
	return host != 0 && (host >> 24) != 127 && (host >> 28) < 14;
}

static void cfg_v4_str(uint32_t nbo, char buf[INET_ADDRSTRLEN])
{
	inet_ntop(AF_INET, &nbo, buf, INET_ADDRSTRLEN);
}

static uint32_t cfg_v4_mask(unsigned len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

/* ---- scalar parsers ---------------------------------------------------- */

/* The text of scalar @v, or an error naming what @key expected. */
static int cfg_scalar(struct cfg_ctx *c, const char *key, const char *expect, yaml_node_t *v,
		      const char **out)
{
	char buf[64];

	if (v->type != YAML_SCALAR_NODE)
		return cfg_err(c, v, "%s: expected %s, got %s", key, expect,
			       cfg_got(v, buf, sizeof(buf)));
	/* Double-quoted "\0" would silently truncate the value. */
	if (strlen(cfg_str(v)) != v->data.scalar.length)
		return cfg_err(c, v, "%s: value contains a NUL character", key);
	*out = cfg_str(v);
	return 0;
}

static void cfg_store_uint(void *dst, size_t size, unsigned long long x)
{
	uint8_t u8 = (uint8_t)x;
	uint16_t u16 = (uint16_t)x;
	uint32_t u32 = (uint32_t)x;
	uint64_t u64 = x;

	switch (size) {
	case 1: memcpy(dst, &u8, 1); break;
	case 2: memcpy(dst, &u16, 2); break;
	case 4: memcpy(dst, &u32, 4); break;
	default: memcpy(dst, &u64, 8); break;
	}
}

static int cfg_int_value(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, long long *out)
{
	const char *s = NULL, *digits;
	char buf[64];
	long long x = 0;
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_INT].expect, v, &s);

	if (rc)
		return rc;
	digits = s + (*s == '-');
	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return cfg_err(c, v, "%s: expected an integer, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	errno = 0;
	x = strtoll(s, NULL, 10);
	if (errno == ERANGE || x < k->min || x > k->max)
		return cfg_err(c, v, "%s: %.32s is out of range (%lld..%lld)", k->key, s, k->min,
			       k->max);
	*out = x;
	return 0;
}

static int cfg_parse_int(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	long long x = 0;
	int rc = cfg_int_value(c, k, v, &x);

	if (rc == 0)
		cfg_store_uint((char *)obj + k->off, k->size, (unsigned long long)x);
	return rc;
}

static int cfg_parse_bool(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char *s = NULL;
	char buf[64];
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_BOOL].expect, v, &s);

	if (rc)
		return rc;
	for (unsigned i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*(bool *)((char *)obj + k->off) = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return cfg_err(c, v, "%s: expected a boolean (true/false, yes/no, on/off), got %s", k->key,
		       cfg_got(v, buf, sizeof(buf)));
}

/* Length, control characters and charset of a string value. */
static int cfg_text_ok(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, const char *s)
{
	size_t len = strlen(s), bad;

	if (len < (size_t)k->min)
		return cfg_err(c, v, "%s: must not be empty", k->key);
	if (len >= k->size)
		return cfg_err(c, v, "%s: too long (%zu characters, at most %zu)", k->key, len,
			       k->size - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cfg_err(c, v, "%s: value contains a control character", k->key);
	if (k->chars && (bad = strspn(s, k->chars->set)) != len) {
		char what[16];

		/* Name a non-ASCII byte by value: half a UTF-8 sequence is unreadable. */
		if ((unsigned char)s[bad] < 0x80)
			snprintf(what, sizeof(what), "'%c'", s[bad]);
		else
			snprintf(what, sizeof(what), "byte 0x%02x", (unsigned char)s[bad]);
		return cfg_err(c, v, "%s: invalid character %s in '%s' (allowed: %s)", k->key,
			       what, s, k->chars->desc);
	}
	return 0;
}

static int cfg_parse_str(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s = NULL;
	int rc = cfg_scalar(c, k->key, cfg_types[k->type].expect, v, &s);

	if (rc == 0)
		rc = cfg_text_ok(c, k, v, s);
	if (rc == 0 && k->type == CFG_PATH && s[0] != '/')
		rc = cfg_err(c, v, "%s: '%s' is not an absolute path", k->key, s);
	if (rc == 0)
		memcpy((char *)obj + k->off, s, strlen(s) + 1);
	return rc;
}

static int cfg_parse_enum(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s = NULL;
	char buf[64], list[128] = "";
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_ENUM].expect, v, &s);

	if (rc)
		return rc;
	for (unsigned i = 0; k->names[i]; i++) {
		if (!strcmp(s, k->names[i])) {
			cfg_store_uint((char *)obj + k->off, k->size, i);
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 k->names[i]);
	}
	return cfg_err(c, v, "%s: expected one of %s, got %s", k->key, list,
		       cfg_got(v, buf, sizeof(buf)));
}

static int cfg_parse_ipv4(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s = NULL;
	char buf[64];
	uint32_t a;
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_IPV4].expect, v, &s);

	if (rc)
		return rc;
	if (inet_pton(AF_INET, s, &a) != 1)
		return cfg_err(c, v, "%s: expected an IPv4 address, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	if (!cfg_v4_unicast(ntohl(a)))
		return cfg_err(c, v, "%s: %s is not a unicast address", k->key, s);
	memcpy((char *)obj + k->off, &a, sizeof(a));
	return 0;
}

static int cfg_parse_ifaddr(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s = NULL;
	char buf[64], net[INET_ADDRSTRLEN];
	struct ctl_prefix p;
	uint32_t host, mask;
	uint8_t len;
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_IFADDR].expect, v, &s);

	if (rc)
		return rc;
	if (ctl_parse_prefix(s, &p) < 0 || p.addr.family != AF_INET)
		return cfg_err(c, v, "%s: expected an IPv4 address with prefix length "
			       "(a.b.c.d/len), got %s", k->key, cfg_got(v, buf, sizeof(buf)));
	if (p.len < 1 || p.len > 32)
		return cfg_err(c, v, "%s: prefix length %u is out of range (1..32)", k->key, p.len);
	host = ntohl(p.addr.v4);
	mask = cfg_v4_mask(p.len);
	if (!cfg_v4_unicast(host))
		return cfg_err(c, v, "%s: %s is not a unicast address", k->key, s);
	/* /31 and /32 have no network or broadcast address (RFC 3021). */
	if (p.len < 31 && ((host & ~mask) == 0 || (host & ~mask) == ~mask)) {
		cfg_v4_str(htonl(host & mask), net);
		return cfg_err(c, v, "%s: %s is the %s address of %s/%u; use a host address",
			       k->key, s, (host & ~mask) == 0 ? "network" : "broadcast", net,
			       p.len);
	}
	memcpy((char *)obj + k->off, &p.addr.v4, sizeof(p.addr.v4));
	len = p.len;
	memcpy((char *)obj + k->aux, &len, 1);
	return 0;
}

static int cfg_parse_mac(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	static const uint8_t zero[6], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const char *s = NULL;
	char buf[64];
	uint8_t mac[6];
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_MAC].expect, v, &s);

	if (rc)
		return rc;
	if (ctl_parse_mac(s, mac) < 0)
		return cfg_err(c, v, "%s: expected a MAC address (xx:xx:xx:xx:xx:xx), got %s",
			       k->key, cfg_got(v, buf, sizeof(buf)));
	if (!memcmp(mac, zero, 6))
		return cfg_err(c, v, "%s: the all-zero MAC address is not allowed", k->key);
	if (!memcmp(mac, bcast, 6))
		return cfg_err(c, v, "%s: %s is the broadcast address, not a unicast one", k->key,
			       s);
	if (mac[0] & 1)
		return cfg_err(c, v, "%s: %s is a multicast address, not a unicast one", k->key, s);
	memcpy((char *)obj + k->off, mac, 6);
	return 0;
}

/* ---- sequences --------------------------------------------------------- */

/* Checks @v is a sequence (null: empty) within the key's length bounds. */
static int cfg_seq(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, size_t *n)
{
	char buf[64];

	if (cfg_is_null(v)) {
		*n = 0;
	} else if (v->type != YAML_SEQUENCE_NODE) {
		return cfg_err(c, v, "%s: expected a sequence, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	} else {
		*n = cfg_seq_len(v);
		if (k->max_n && *n > k->max_n)
			return cfg_err(c, cfg_item(c, v, k->max_n),
				       "%s: too many entries (%zu, at most %u)", k->key, *n,
				       k->max_n);
	}
	if (*n < k->min_n)
		return cfg_err(c, v, "%s: needs at least %u %s", k->key, k->min_n,
			       k->min_n == 1 ? "entry" : "entries");
	return 0;
}

static int cfg_parse_int_list(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	unsigned *dst = (unsigned *)((char *)obj + k->off),
		 *cnt = (unsigned *)((char *)obj + k->aux);
	size_t n;
	long long x = 0;
	int rc = cfg_seq(c, k, v, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = cfg_int_value(c, k, cfg_item(c, v, i), &x);
		if (rc == 0)
			dst[(*cnt)++] = (unsigned)x;
	}
	return rc;
}

static int cfg_parse_str_list(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	char *dst = (char *)obj + k->off;
	unsigned *cnt = (unsigned *)((char *)obj + k->aux);
	const char *s = NULL;
	size_t n;
	int rc = cfg_seq(c, k, v, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		yaml_node_t *item = cfg_item(c, v, i);

		rc = cfg_scalar(c, k->key, "a string", item, &s);
		if (rc == 0)
			rc = cfg_text_ok(c, k, item, s);
		if (rc == 0)
			memcpy(dst + (*cnt)++ * k->size, s, strlen(s) + 1);
	}
	return rc;
}

static int cfg_parse_ip_list(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	struct ctl_ip *dst = (struct ctl_ip *)((char *)obj + k->off);
	unsigned *cnt = (unsigned *)((char *)obj + k->aux);
	const char *s = NULL;
	char buf[64];
	size_t n;
	int rc = cfg_seq(c, k, v, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		yaml_node_t *item = cfg_item(c, v, i);
		struct ctl_ip ip;
		bool bad;

		rc = cfg_scalar(c, k->key, "an IP address", item, &s);
		if (rc)
			break;
		if (ctl_parse_ip(s, &ip) < 0)
			return cfg_err(c, item, "%s: expected an IPv4 or IPv6 address, got %s",
				       k->key, cfg_got(item, buf, sizeof(buf)));
		if (ip.family == AF_INET)
			bad = ip.v4 == 0 || ip.v4 == 0xffffffffu || (ntohl(ip.v4) >> 28) == 14;
		else
			bad = ip.v6[0] == 0xff || !memcmp(ip.v6, (uint8_t[16]){ 0 }, 16);
		if (bad)
			return cfg_err(c, item, "%s: %s is not a unicast address", k->key, s);
		dst[(*cnt)++] = ip;
	}
	return rc;
}

static int cfg_parse_prefix_list(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v,
				 void *obj)
{
	struct ctl_prefix *dst = (struct ctl_prefix *)((char *)obj + k->off);
	unsigned *cnt = (unsigned *)((char *)obj + k->aux);
	const char *s = NULL;
	char buf[64], net[INET6_ADDRSTRLEN];
	size_t n;
	int rc = cfg_seq(c, k, v, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		yaml_node_t *item = cfg_item(c, v, i);
		struct ctl_prefix p, q;
		unsigned bits;

		rc = cfg_scalar(c, k->key, "a prefix", item, &s);
		if (rc)
			break;
		if (ctl_parse_prefix(s, &p) < 0)
			return cfg_err(c, item,
				       "%s: expected an IPv4 or IPv6 prefix (address/len), got %s",
				       k->key, cfg_got(item, buf, sizeof(buf)));
		if (!cfg_host_bits_zero(&p)) {
			uint8_t *a;

			q = p;
			a = (uint8_t *)cfg_ip_bytes(&q.addr, &bits);
			for (unsigned b = q.len; b < bits; b++)
				a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
			inet_ntop(q.addr.family, a, net, sizeof(net));
			return cfg_err(c, item, "%s: %s has host bits set (did you mean %s/%u?)",
				       k->key, s, net, q.len);
		}
		dst[(*cnt)++] = p;
	}
	return rc;
}

/* ---- mappings ---------------------------------------------------------- */

static void cfg_defaults(const struct cfg_table *t, void *obj)
{
	for (unsigned i = 0; i < t->n_keys; i++) {
		const struct cfg_key *k = &t->keys[i];
		char *dst = (char *)obj + k->off;

		switch (k->type) {
		case CFG_INT:
		case CFG_ENUM:
			cfg_store_uint(dst, k->size, (unsigned long long)k->def);
			break;
		case CFG_BOOL:
			*(bool *)dst = k->def != 0;
			break;
		case CFG_STR:
		case CFG_PATH:
			if (k->def_str)
				snprintf(dst, k->size, "%s", k->def_str);
			break;
		case CFG_SECTION:
			cfg_defaults(k->sub, dst);
			break;
		default:
			break;
		}
	}
}

static int cfg_unknown_key(struct cfg_ctx *c, const struct cfg_table *t, yaml_node_t *kn)
{
	char list[256] = "";

	for (unsigned i = 0; i < t->n_keys; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 t->keys[i].key);
	return cfg_err(c, kn, "unknown key '%.64s' in %s (expected one of: %s)", cfg_str(kn),
		       t->what, list);
}

/* Walks mapping @map (or a null value) with table @t, filling @obj. */
static int cfg_parse_map(struct cfg_ctx *c, const struct cfg_table *t, yaml_node_t *map, void *obj)
{
	yaml_node_t *keys[CFG_MAX_KEYS] = { 0 }, *vals[CFG_MAX_KEYS] = { 0 };
	char buf[64];
	int rc;

	if (map->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
		     p < map->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = cfg_node(c, p->key), *vn = cfg_node(c, p->value);
			unsigned i;

			if (kn->type != YAML_SCALAR_NODE)
				return cfg_err(c, kn, "expected a key name in %s, got %s", t->what,
					       cfg_got(kn, buf, sizeof(buf)));
			for (i = 0; i < t->n_keys && strcmp(cfg_str(kn), t->keys[i].key); i++)
				;
			if (i == t->n_keys)
				return cfg_unknown_key(c, t, kn);
			if (keys[i])
				return cfg_err(c, kn, "duplicate key '%s' in %s "
					       "(first at line %zu)", t->keys[i].key, t->what,
					       keys[i]->start_mark.line + 1);
			keys[i] = kn;
			vals[i] = vn;
			rc = cfg_types[t->keys[i].type].parse(c, &t->keys[i], vn, obj);
			if (rc)
				return rc;
		}
	} else if (!cfg_is_null(map)) {
		return cfg_err(c, map, "expected a mapping for %s, got %s", t->what,
			       cfg_got(map, buf, sizeof(buf)));
	}
	for (unsigned i = 0; i < t->n_keys; i++)
		if (t->keys[i].required && !vals[i])
			return cfg_err(c, map, "missing required key '%s' in %s", t->keys[i].key,
				       t->what);
	return t->check ? t->check(c, map, vals, obj) : 0;
}

static int cfg_parse_section(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	char buf[64];

	if (v->type != YAML_MAPPING_NODE && !cfg_is_null(v))
		return cfg_err(c, v, "%s: expected a mapping, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	return cfg_parse_map(c, k->sub, v, (char *)obj + k->off);
}

static int cfg_parse_list(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const struct cfg_list *l = k->sub;
	unsigned *cnt = (unsigned *)((char *)obj + k->aux);
	char *arr = (char *)obj + k->off, buf[64];
	size_t n;
	int rc = cfg_seq(c, k, v, &n);

	if (rc || n == 0)
		return rc;
	c->lists[l->slot] = v;
	if (l->dynamic) {
		/* One allocation sized from the document: no regrowth for big lists. */
		if ((arr = calloc(n, l->elem_size)) == NULL)
			return cfg_oom(c);
		memcpy((char *)obj + k->off, &arr, sizeof(arr));
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_item(c, v, i);
		char *e = arr + i * l->elem_size;
		int line = (int)item->start_mark.line + 1, col = (int)item->start_mark.column + 1;

		if (item->type != YAML_MAPPING_NODE)
			return cfg_err(c, item, "%s: expected a mapping for each %s, got %s",
				       k->key, l->elem->what, cfg_got(item, buf, sizeof(buf)));
		cfg_defaults(l->elem, e);
		memcpy(e + l->loc_file, &c->cfg->file, sizeof(c->cfg->file));
		memcpy(e + l->loc_line, &line, sizeof(line));
		memcpy(e + l->loc_col, &col, sizeof(col));
		rc = cfg_parse_map(c, l->elem, item, e);
		if (rc)
			return rc;
		(*cnt)++;
	}
	return 0;
}

static const struct cfg_type_ops cfg_types[CFG_TYPE_COUNT] = {
	[CFG_INT] = { "an integer", cfg_parse_int },
	[CFG_BOOL] = { "a boolean", cfg_parse_bool },
	[CFG_STR] = { "a string", cfg_parse_str },
	[CFG_PATH] = { "a path", cfg_parse_str },
	[CFG_ENUM] = { "a string", cfg_parse_enum },
	[CFG_IPV4] = { "an IPv4 address", cfg_parse_ipv4 },
	[CFG_IFADDR] = { "an IPv4 address with prefix length", cfg_parse_ifaddr },
	[CFG_MAC] = { "a MAC address", cfg_parse_mac },
	[CFG_INT_LIST] = { "a sequence", cfg_parse_int_list },
	[CFG_STR_LIST] = { "a sequence", cfg_parse_str_list },
	[CFG_IP_LIST] = { "a sequence", cfg_parse_ip_list },
	[CFG_PREFIX_LIST] = { "a sequence", cfg_parse_prefix_list },
	[CFG_SECTION] = { "a mapping", cfg_parse_section },
	[CFG_LIST] = { "a sequence", cfg_parse_list },
};

/* ---- per-object checks ------------------------------------------------- */

enum { W_LCORES, W_IDLE, W_MBUFS };
enum { PP_NAME, PP_DEVARGS, PP_RXQ, PP_IP, PP_GW, PP_MTU };
enum { EP_NAME, EP_MAC, EP_IPS, EP_VNET, EP_PORT, EP_TEP };

static int cfg_check_workers(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals, void *obj)
{
	const struct ctl_workers *w = obj;

	(void)map;
	for (unsigned i = 1; i < w->n_lcores; i++)
		for (unsigned j = 0; j < i; j++)
			if (w->lcores[i] == w->lcores[j])
				return cfg_err(c, cfg_item(c, vals[W_LCORES], i),
					       "lcores: lcore %u is listed twice", w->lcores[i]);
	return 0;
}

static int cfg_check_phys(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals, void *obj)
{
	const struct ctl_phys_port *p = obj;
	uint32_t mask = cfg_v4_mask(p->prefix_len), ip = ntohl(p->ip), gw = ntohl(p->gateway);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	(void)map;
	if (!vals[PP_GW])
		return 0;
	cfg_v4_str(p->gateway, a);
	cfg_v4_str(p->ip, b);
	if ((gw & mask) != (ip & mask))
		return cfg_err(c, vals[PP_GW], "gateway: %s is not inside %s/%u", a, b,
			       p->prefix_len);
	if (gw == ip)
		return cfg_err(c, vals[PP_GW], "gateway: %s is the port's own address", a);
	if (p->prefix_len < 31 && ((gw & ~mask) == 0 || (gw & ~mask) == ~mask))
		return cfg_err(c, vals[PP_GW], "gateway: %s is the %s address of %s/%u", a,
			       (gw & ~mask) == 0 ? "network" : "broadcast", b, p->prefix_len);
	return 0;
}

static int cfg_check_endpoint(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals, void *obj)
{
	struct ctl_endpoint *ep = obj;

	if (vals[EP_PORT] && vals[EP_TEP]) {
		size_t port_at = vals[EP_PORT]->start_mark.index,
		       tep_at = vals[EP_TEP]->start_mark.index;
		yaml_node_t *later = port_at > tep_at ? vals[EP_PORT] : vals[EP_TEP];

		return cfg_err(c, later,
			       "endpoint '%s' has both 'port' and 'tep'; give exactly one",
			       ep->name);
	}
	if (!vals[EP_PORT] && !vals[EP_TEP])
		return cfg_err(c, map,
			       "endpoint '%s' needs exactly one of 'port' (local vhost port) "
			       "or 'tep' (remote tunnel endpoint)",
			       ep->name);
	ep->where = vals[EP_PORT] ? CTL_EP_LOCAL : CTL_EP_REMOTE;
	return 0;
}

/* ---- schema ------------------------------------------------------------ */

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
static const struct cfg_charset cfg_name_chars = { ALNUM "_.-", "letters, digits, '_', '.', '-'" };
static const struct cfg_charset cfg_prefix_chars = { ALNUM "_-", "letters, digits, '_', '-'" };
static const struct cfg_charset cfg_lcore_chars = { "0123456789@,()-",
						    "digits, '@', ',', '(', ')', '-'" };
static const char *const cfg_vhost_modes[] = {
	[CTL_VHOST_SERVER] = "server", [CTL_VHOST_CLIENT] = "client", NULL,
};

#define K(name, t) .key = (name), .type = (t)
#define FIELD(st, f) .off = offsetof(st, f), .size = sizeof(((st *)0)->f)
#define ITEMS(st, f, cnt) .off = offsetof(st, f), .size = sizeof(((st *)0)->f[0]), \
	.aux = offsetof(st, cnt), .max_n = ARRAY_SIZE(((st *)0)->f)
#define NAME(st) K("name", CFG_STR), FIELD(st, name), .min = 1, .chars = &cfg_name_chars, \
	.required = true
#define TABLE(w, k, chk) { .what = (w), .keys = (k), .n_keys = ARRAY_SIZE(k), .check = (chk) }; \
	_Static_assert(ARRAY_SIZE(k) <= CFG_MAX_KEYS, "too many keys in " #k)
#define LOC(st) .elem_size = sizeof(st), .loc_file = offsetof(st, file), \
	.loc_line = offsetof(st, line), .loc_col = offsetof(st, col)

static const struct cfg_key cfg_eal_keys[] = {
	{ K("lcores", CFG_STR), FIELD(struct ctl_eal, lcores), .chars = &cfg_lcore_chars },
	{ K("main_lcore", CFG_INT), FIELD(struct ctl_eal, main_lcore), .max = CFG_MAX_LCORE },
	{ K("memory_mb", CFG_INT), FIELD(struct ctl_eal, memory_mb), .max = 65536 },
	{ K("file_prefix", CFG_STR), FIELD(struct ctl_eal, file_prefix), .chars = &cfg_prefix_chars,
	  .def_str = "dpdk-vswitch" },
	{ K("in_memory", CFG_BOOL), FIELD(struct ctl_eal, in_memory) },
	{ K("no_huge", CFG_BOOL), FIELD(struct ctl_eal, no_huge) },
	{ K("args", CFG_STR_LIST), ITEMS(struct ctl_eal, args, n_args), .min = 1 },
};
static const struct cfg_table cfg_eal = TABLE("eal", cfg_eal_keys, NULL);

static const struct cfg_key cfg_workers_keys[] = {
	[W_LCORES] = { K("lcores", CFG_INT_LIST), ITEMS(struct ctl_workers, lcores, n_lcores),
		       .max = CFG_MAX_LCORE, .min_n = 1, .required = true },
	[W_IDLE] = { K("idle_sleep_max_us", CFG_INT), FIELD(struct ctl_workers, idle_sleep_max_us),
		     .max = 100000, .def = 200 },
	[W_MBUFS] = { K("mbufs", CFG_INT), FIELD(struct ctl_workers, mbufs), .min = 1024,
		      .max = 4194304, .def = 16384 },
};
static const struct cfg_table cfg_workers = TABLE("workers", cfg_workers_keys, cfg_check_workers);

static const struct cfg_key cfg_control_keys[] = {
	{ K("socket", CFG_PATH), FIELD(struct ctl_config, ctl_socket), .min = 1,
	  .def_str = CTL_PROTO_DEFAULT_SOCKET },
};
static const struct cfg_table cfg_control = TABLE("control", cfg_control_keys, NULL);

static const struct cfg_key cfg_vxlan_keys[] = {
	{ K("udp_port", CFG_INT), FIELD(struct ctl_config, vxlan_port), .min = 1, .max = 65535,
	  .def = 4789 },
};
static const struct cfg_table cfg_vxlan = TABLE("vxlan", cfg_vxlan_keys, NULL);

static const struct cfg_key cfg_phys_keys[] = {
	[PP_NAME] = { NAME(struct ctl_phys_port) },
	[PP_DEVARGS] = { K("devargs", CFG_STR), FIELD(struct ctl_phys_port, devargs), .min = 1,
			 .required = true },
	[PP_RXQ] = { K("rx_queues", CFG_INT), FIELD(struct ctl_phys_port, rx_queues), .min = 1,
		     .max = 16, .def = 1 },
	[PP_IP] = { K("ip", CFG_IFADDR), FIELD(struct ctl_phys_port, ip),
		    .aux = offsetof(struct ctl_phys_port, prefix_len), .required = true },
	[PP_GW] = { K("gateway", CFG_IPV4), FIELD(struct ctl_phys_port, gateway) },
	[PP_MTU] = { K("mtu", CFG_INT), FIELD(struct ctl_phys_port, mtu), .min = 576, .max = 9600,
		     .def = 1500 },
};
static const struct cfg_table cfg_phys = TABLE("physical port", cfg_phys_keys, cfg_check_phys);
static const struct cfg_list cfg_phys_list = {
	.elem = &cfg_phys, .slot = CFG_S_PHYS, LOC(struct ctl_phys_port),
};

static const struct cfg_key cfg_vhost_keys[] = {
	{ NAME(struct ctl_vhost_port) },
	{ K("socket", CFG_PATH), FIELD(struct ctl_vhost_port, socket), .min = 1, .required = true },
	{ K("mode", CFG_ENUM), FIELD(struct ctl_vhost_port, mode), .names = cfg_vhost_modes,
	  .def = CTL_VHOST_CLIENT },
	{ K("queues", CFG_INT), FIELD(struct ctl_vhost_port, queues), .min = 1, .max = 16,
	  .def = 1 },
	{ K("vm", CFG_STR), FIELD(struct ctl_vhost_port, vm) },
};
static const struct cfg_table cfg_vhost = TABLE("vhost port", cfg_vhost_keys, NULL);
static const struct cfg_list cfg_vhost_list = {
	.elem = &cfg_vhost, .slot = CFG_S_VHOST, LOC(struct ctl_vhost_port),
};

static const struct cfg_key cfg_vnet_keys[] = {
	{ NAME(struct ctl_vnet) },
	{ K("vni", CFG_INT), FIELD(struct ctl_vnet, vni), .min = 1, .max = 16777215,
	  .required = true },
	{ K("subnets", CFG_PREFIX_LIST), ITEMS(struct ctl_vnet, subnets, n_subnets) },
	{ K("flood", CFG_BOOL), FIELD(struct ctl_vnet, flood) },
};
static const struct cfg_table cfg_vnet = TABLE("virtual network", cfg_vnet_keys, NULL);
static const struct cfg_list cfg_vnet_list = {
	.elem = &cfg_vnet, .slot = CFG_S_VNET, LOC(struct ctl_vnet), .dynamic = true,
};

static const struct cfg_key cfg_ep_keys[] = {
	[EP_NAME] = { NAME(struct ctl_endpoint) },
	[EP_MAC] = { K("mac", CFG_MAC), FIELD(struct ctl_endpoint, mac), .required = true },
	[EP_IPS] = { K("ips", CFG_IP_LIST), ITEMS(struct ctl_endpoint, ips, n_ips) },
	[EP_VNET] = { K("vnet", CFG_STR), FIELD(struct ctl_endpoint, vnet), .min = 1,
		      .chars = &cfg_name_chars, .required = true },
	[EP_PORT] = { K("port", CFG_STR), FIELD(struct ctl_endpoint, port), .min = 1,
		      .chars = &cfg_name_chars },
	[EP_TEP] = { K("tep", CFG_IPV4), FIELD(struct ctl_endpoint, tep) },
};
static const struct cfg_table cfg_ep = TABLE("endpoint", cfg_ep_keys, cfg_check_endpoint);
static const struct cfg_list cfg_ep_list = {
	.elem = &cfg_ep, .slot = CFG_S_EP, LOC(struct ctl_endpoint), .dynamic = true,
};

static const struct cfg_key cfg_top_keys[] = {
	{ K("eal", CFG_SECTION), .off = offsetof(struct ctl_config, eal), .sub = &cfg_eal },
	{ K("workers", CFG_SECTION), .off = offsetof(struct ctl_config, workers),
	  .sub = &cfg_workers, .required = true },
	/* control and vxlan keys live directly in struct ctl_config. */
	{ K("control", CFG_SECTION), .off = 0, .sub = &cfg_control },
	{ K("vxlan", CFG_SECTION), .off = 0, .sub = &cfg_vxlan },
	{ K("physical_ports", CFG_LIST), .off = offsetof(struct ctl_config, phys),
	  .aux = offsetof(struct ctl_config, n_phys), .max_n = CTL_MAX_PHYS,
	  .sub = &cfg_phys_list },
	{ K("vhost_ports", CFG_LIST), .off = offsetof(struct ctl_config, vhost),
	  .aux = offsetof(struct ctl_config, n_vhost), .max_n = CTL_MAX_VHOST,
	  .sub = &cfg_vhost_list },
	{ K("virtual_networks", CFG_LIST), .off = offsetof(struct ctl_config, vnets),
	  .aux = offsetof(struct ctl_config, n_vnets), .max_n = CTL_MAX_VNETS,
	  .sub = &cfg_vnet_list },
	{ K("endpoints", CFG_LIST), .off = offsetof(struct ctl_config, endpoints),
	  .aux = offsetof(struct ctl_config, n_endpoints), .sub = &cfg_ep_list },
};
static const struct cfg_table cfg_top = TABLE("configuration", cfg_top_keys, NULL);

/* ---- cross-checks ------------------------------------------------------ */

/* One entry of a uniqueness check: sorted, equal neighbours are duplicates. */
struct cfg_ref {
	uint32_t grp;        /* scope of uniqueness (network index), 0 if global */
	const char *name;    /* string key, or NULL to compare key[] */
	uint8_t key[20];     /* fixed-size key: MAC, address, VNI */
	uint32_t idx, sub;   /* entry and item within it: document order */
};

static int cfg_ref_key_cmp(const struct cfg_ref *a, const struct cfg_ref *b)
{
	if (a->grp != b->grp)
		return a->grp < b->grp ? -1 : 1;
	if (a->name)
		return strcmp(a->name, b->name);
	return memcmp(a->key, b->key, sizeof(a->key));
}

static int cfg_ref_cmp(const void *pa, const void *pb)
{
	const struct cfg_ref *a = pa, *b = pb;
	int r = cfg_ref_key_cmp(a, b);

	if (r)
		return r;
	if (a->idx != b->idx)
		return a->idx < b->idx ? -1 : 1;
	return a->sub < b->sub ? -1 : a->sub > b->sub;
}

/* Sorts @refs; finds the duplicate that comes first in the document.
 * Returns true with *first (earliest equal entry) and *dup set. */
static bool cfg_find_dup(struct cfg_ref *refs, size_t n, const struct cfg_ref **first,
			 const struct cfg_ref **dup)
{
	size_t run = 0;

	*dup = NULL;
	qsort(refs, n, sizeof(*refs), cfg_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (cfg_ref_key_cmp(&refs[i - 1], &refs[i])) {
			run = i;
			continue;
		}
		if (*dup == NULL || refs[i].idx < (*dup)->idx ||
		    (refs[i].idx == (*dup)->idx && refs[i].sub < (*dup)->sub)) {
			*dup = &refs[i];
			*first = &refs[run];
		}
	}
	return *dup != NULL;
}

static int cfg_lookup_cmp(const void *pa, const void *pb)
{
	const struct cfg_ref *a = pa, *b = pb;

	return strcmp(a->name, b->name);
}

static long cfg_lookup(const struct cfg_ref *sorted, size_t n, const char *name)
{
	struct cfg_ref key = { .name = name };
	const struct cfg_ref *r = n ? bsearch(&key, sorted, n, sizeof(key), cfg_lookup_cmp) : NULL;

	return r ? (long)r->idx : -1;
}

static int cfg_check_lcores(struct cfg_ctx *c)
{
	struct ctl_config *cfg = c->cfg;
	struct ctl_eal *eal = &cfg->eal;
	yaml_node_t *lc = cfg_get(c, cfg_get(c, c->root, "workers"), "lcores");
	size_t len;

	for (unsigned i = 0; i < cfg->workers.n_lcores; i++)
		if (cfg->workers.lcores[i] == eal->main_lcore)
			return cfg_err(c, cfg_item(c, lc, i),
				       "lcores: lcore %u is the main lcore (eal.main_lcore)",
				       eal->main_lcore);
	if (eal->lcores[0])
		return 0;
	/* Prefer "L@C" (explicit); fall back to the equivalent "L" list if it would not fit. */
	for (int pinned = 1; pinned >= 0; pinned--) {
		len = 0;
		for (unsigned i = 0; i <= cfg->workers.n_lcores && len < sizeof(eal->lcores); i++) {
			unsigned id = i ? cfg->workers.lcores[i - 1] : eal->main_lcore;
			char *at = eal->lcores + len;
			size_t room = sizeof(eal->lcores) - len;

			len += (size_t)(pinned ? snprintf(at, room, "%s%u@%u", i ? "," : "", id, id)
					       : snprintf(at, room, "%s%u", i ? "," : "", id));
		}
		if (len < sizeof(eal->lcores))
			break;
	}
	return 0;
}

/* Ports share one namespace: index @i counts physical ports, then vhost ones. */
static const char *cfg_port_name(const struct ctl_config *cfg, unsigned i)
{
	return i < cfg->n_phys ? cfg->phys[i].name : cfg->vhost[i - cfg->n_phys].name;
}

static yaml_node_t *cfg_port_node(struct cfg_ctx *c, unsigned i)
{
	if (i < c->cfg->n_phys)
		return cfg_elem_val(c, CFG_S_PHYS, i, "name");
	return cfg_elem_val(c, CFG_S_VHOST, i - c->cfg->n_phys, "name");
}

static int cfg_check_ports(struct cfg_ctx *c)
{
	struct ctl_config *cfg = c->cfg;
	unsigned n = cfg->n_phys + cfg->n_vhost;

	/* At most CTL_MAX_PHYS + CTL_MAX_VHOST names: pairwise is fine. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(cfg_port_name(cfg, i), cfg_port_name(cfg, j)))
				return cfg_err(c, cfg_port_node(c, i),
					       "name: duplicate port name '%s' (first at line %zu)",
					       cfg_port_name(cfg, i),
					       cfg_port_node(c, j)->start_mark.line + 1);
	for (unsigned i = 1; i < cfg->n_phys; i++) {
		char a[INET_ADDRSTRLEN];

		for (unsigned j = 0; j < i; j++) {
			if (cfg->phys[i].ip != cfg->phys[j].ip)
				continue;
			cfg_v4_str(cfg->phys[i].ip, a);
			return cfg_err(c, cfg_elem_val(c, CFG_S_PHYS, i, "ip"),
				       "ip: %s is already used by physical port '%s'", a,
				       cfg->phys[j].name);
		}
	}
	for (unsigned i = 0; i < cfg->n_vhost; i++) {
		yaml_node_t *at = cfg_elem_val(c, CFG_S_VHOST, i, "socket");

		if (!strcmp(cfg->vhost[i].socket, cfg->ctl_socket))
			return cfg_err(c, at, "socket: %s is also the control socket",
				       cfg->vhost[i].socket);
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(cfg->vhost[i].socket, cfg->vhost[j].socket))
				return cfg_err(c, at,
					       "socket: %s is already used by vhost port '%s'",
					       cfg->vhost[i].socket, cfg->vhost[j].name);
	}
	return 0;
}

static int cfg_check_vnets(struct cfg_ctx *c, struct cfg_ref *refs)
{
	struct ctl_config *cfg = c->cfg;
	const struct cfg_ref *first, *dup;
	uint32_t vni;

	for (unsigned i = 0; i < cfg->n_vnets; i++) {
		memset(&refs[i], 0, sizeof(refs[i]));
		vni = cfg->vnets[i].vni;
		memcpy(refs[i].key, &vni, sizeof(vni));
		refs[i].idx = i;
	}
	if (cfg_find_dup(refs, cfg->n_vnets, &first, &dup))
		return cfg_err(c, cfg_elem_val(c, CFG_S_VNET, dup->idx, "vni"),
			       "vni: %u is already used by network '%s'", cfg->vnets[dup->idx].vni,
			       cfg->vnets[first->idx].name);
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		refs[i] = (struct cfg_ref){ .name = cfg->vnets[i].name, .idx = i };
	if (cfg_find_dup(refs, cfg->n_vnets, &first, &dup))
		return cfg_err(c, cfg_elem_val(c, CFG_S_VNET, dup->idx, "name"),
			       "name: duplicate virtual network name '%s' (first at line %d)",
			       dup->name, cfg->vnets[first->idx].line);
	/* refs stays sorted by name for the endpoint pass. */
	return 0;
}

static int cfg_check_ep_subnets(struct cfg_ctx *c, unsigned i, const struct ctl_vnet *vn)
{
	const struct ctl_endpoint *ep = &c->cfg->endpoints[i];
	char buf[INET6_ADDRSTRLEN];
	unsigned s, bits;

	for (unsigned j = 0; vn->n_subnets && j < ep->n_ips; j++) {
		for (s = 0; s < vn->n_subnets; s++)
			if (cfg_prefix_has(&vn->subnets[s], &ep->ips[j]))
				break;
		if (s < vn->n_subnets)
			continue;
		inet_ntop(ep->ips[j].family, cfg_ip_bytes(&ep->ips[j], &bits), buf, sizeof(buf));
		return cfg_err(c, cfg_elem_item(c, CFG_S_EP, i, "ips", j),
			       "ips: %s is not inside any subnet of network '%s'", buf, vn->name);
	}
	return 0;
}

/* A local endpoint's vhost port exists and serves no other endpoint. */
static int cfg_check_ep_port(struct cfg_ctx *c, unsigned i, const struct cfg_ref *vh, long *bound)
{
	const struct ctl_config *cfg = c->cfg;
	const struct ctl_endpoint *ep = &cfg->endpoints[i];
	yaml_node_t *at = cfg_elem_val(c, CFG_S_EP, i, "port");
	long pi = cfg_lookup(vh, cfg->n_vhost, ep->port);

	if (pi < 0) {
		for (unsigned p = 0; p < cfg->n_phys; p++)
			if (!strcmp(cfg->phys[p].name, ep->port))
				return cfg_err(c, at, "port: '%s' is a physical port; "
					       "endpoints attach to vhost ports", ep->port);
		return cfg_err(c, at, "port: no vhost port named '%s'", ep->port);
	}
	if (bound[pi] >= 0)
		return cfg_err(c, at, "port: vhost port '%s' is already bound to endpoint '%s'",
			       ep->port, cfg->endpoints[bound[pi]].name);
	bound[pi] = i;
	return 0;
}

/* A remote endpoint behind one of our own addresses would loop. */
static int cfg_check_ep_tep(struct cfg_ctx *c, unsigned i)
{
	const struct ctl_config *cfg = c->cfg;
	const struct ctl_endpoint *ep = &cfg->endpoints[i];
	char buf[INET_ADDRSTRLEN];

	for (unsigned p = 0; p < cfg->n_phys; p++) {
		if (ep->tep != cfg->phys[p].ip)
			continue;
		cfg_v4_str(ep->tep, buf);
		return cfg_err(c, cfg_elem_val(c, CFG_S_EP, i, "tep"),
			       "tep: %s is this host's own address (physical port '%s'); "
			       "a remote endpoint must be behind another host", buf,
			       cfg->phys[p].name);
	}
	return 0;
}

/* Per endpoint, in document order: network, subnets, port binding, TEP. */
static int cfg_check_ep_refs(struct cfg_ctx *c, const struct cfg_ref *vnets, uint32_t *ep_vnet)
{
	struct ctl_config *cfg = c->cfg;
	struct cfg_ref vh[CTL_MAX_VHOST];
	long bound[CTL_MAX_VHOST];   /* endpoint bound to each vhost port, or -1 */
	int rc;

	for (unsigned i = 0; i < cfg->n_vhost; i++) {
		vh[i] = (struct cfg_ref){ .name = cfg->vhost[i].name, .idx = i };
		bound[i] = -1;
	}
	qsort(vh, cfg->n_vhost, sizeof(vh[0]), cfg_ref_cmp);
	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		const struct ctl_endpoint *ep = &cfg->endpoints[i];
		long vi = cfg_lookup(vnets, cfg->n_vnets, ep->vnet);

		if (vi < 0)
			return cfg_err(c, cfg_elem_val(c, CFG_S_EP, i, "vnet"),
				       "vnet: no virtual network named '%s'", ep->vnet);
		ep_vnet[i] = (uint32_t)vi;
		rc = cfg_check_ep_subnets(c, i, &cfg->vnets[vi]);
		if (rc == 0)
			rc = ep->where == CTL_EP_LOCAL ? cfg_check_ep_port(c, i, vh, bound) :
							 cfg_check_ep_tep(c, i);
		if (rc)
			return rc;
	}
	return 0;
}

/* Endpoint names globally; MACs and addresses within each network. */
static int cfg_check_ep_unique(struct cfg_ctx *c, const uint32_t *ep_vnet)
{
	struct ctl_config *cfg = c->cfg;
	const struct cfg_ref *first, *dup;
	struct cfg_ref *refs;
	size_t n = 0;
	char buf[INET6_ADDRSTRLEN];
	unsigned bits;
	int rc = 0;

	for (unsigned i = 0; i < cfg->n_endpoints; i++)
		n += cfg->endpoints[i].n_ips;
	if (n < cfg->n_endpoints)
		n = cfg->n_endpoints;
	if ((refs = malloc(n * sizeof(*refs))) == NULL)
		return cfg_oom(c);

	for (unsigned i = 0; i < cfg->n_endpoints; i++)
		refs[i] = (struct cfg_ref){ .name = cfg->endpoints[i].name, .idx = i };
	if (cfg_find_dup(refs, cfg->n_endpoints, &first, &dup)) {
		rc = cfg_err(c, cfg_elem_val(c, CFG_S_EP, dup->idx, "name"),
			     "name: duplicate endpoint name '%s' (first at line %d)", dup->name,
			     cfg->endpoints[first->idx].line);
		goto out;
	}

	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		refs[i] = (struct cfg_ref){ .grp = ep_vnet[i], .idx = i };
		memcpy(refs[i].key, cfg->endpoints[i].mac, 6);
	}
	if (cfg_find_dup(refs, cfg->n_endpoints, &first, &dup)) {
		const uint8_t *m = dup->key;

		rc = cfg_err(c, cfg_elem_val(c, CFG_S_EP, dup->idx, "mac"),
			     "mac: %02x:%02x:%02x:%02x:%02x:%02x is already used in network '%s' "
			     "by endpoint '%s'", m[0], m[1], m[2], m[3], m[4], m[5],
			     cfg->vnets[dup->grp].name, cfg->endpoints[first->idx].name);
		goto out;
	}

	n = 0;
	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		const struct ctl_endpoint *ep = &cfg->endpoints[i];

		for (unsigned j = 0; j < ep->n_ips; j++, n++) {
			const uint8_t *a = cfg_ip_bytes(&ep->ips[j], &bits);

			refs[n] = (struct cfg_ref){ .grp = ep_vnet[i], .idx = i, .sub = j };
			refs[n].key[0] = ep->ips[j].family;
			memcpy(refs[n].key + 1, a, bits / 8);
		}
	}
	if (cfg_find_dup(refs, n, &first, &dup)) {
		const struct ctl_endpoint *ep = &cfg->endpoints[dup->idx];

		inet_ntop(ep->ips[dup->sub].family, dup->key + 1, buf, sizeof(buf));
		rc = cfg_err(c, cfg_elem_item(c, CFG_S_EP, dup->idx, "ips", dup->sub),
			     "ips: %s is already used in network '%s' by endpoint '%s'", buf,
			     cfg->vnets[dup->grp].name, cfg->endpoints[first->idx].name);
	}
out:
	free(refs);
	return rc;
}

static int cfg_cross_check(struct cfg_ctx *c)
{
	struct ctl_config *cfg = c->cfg;
	struct cfg_ref *vnets = NULL;
	uint32_t *ep_vnet = NULL;
	int rc;

	if ((rc = cfg_check_lcores(c)) || (rc = cfg_check_ports(c)))
		return rc;
	vnets = malloc((cfg->n_vnets + 1) * sizeof(*vnets));
	ep_vnet = malloc((cfg->n_endpoints + 1) * sizeof(*ep_vnet));
	if (vnets == NULL || ep_vnet == NULL) {
		rc = cfg_oom(c);
		goto out;
	}
	if ((rc = cfg_check_vnets(c, vnets)) || (rc = cfg_check_ep_refs(c, vnets, ep_vnet)))
		goto out;
	rc = cfg_check_ep_unique(c, ep_vnet);
out:
	free(vnets);
	free(ep_vnet);
	return rc;
}

/* ---- loading ----------------------------------------------------------- */

static char *cfg_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *nbuf;
	size_t cap = 0, n = 0, got;
	int e;

	if (f == NULL)
		return NULL;
	errno = 0;
	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				e = ENOMEM;
				goto fail;
			}
			buf = nbuf;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		e = errno ? errno : EIO;   /* e.g. EISDIR: fopen() accepts a directory */
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	errno = e;
	return NULL;
}

static int cfg_syntax_error(struct cfg_ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "YAML error";

	if (p->error == YAML_MEMORY_ERROR)
		return cfg_oom(c);
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		line = 1;
		col = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++, col++)
			if (text[i] == '\n') {
				line++;
				col = 0;
			}
		if (p->problem_value != -1)
			return cfg_err_at(c->err, c->errlen, c->file, line, col, "%s (byte 0x%02x)",
					  problem, (unsigned)p->problem_value);
		return cfg_err_at(c->err, c->errlen, c->file, line, col, "%s", problem);
	}
	if (p->context)
		return cfg_err_at(c->err, c->errlen, c->file, line, col, "%s (%s at line %zu)",
				  problem, p->context, p->context_mark.line + 1);
	return cfg_err_at(c->err, c->errlen, c->file, line, col, "%s", problem);
}

/* Parses @text into @doc; rejects syntax errors, empty and multi-document input. */
static int cfg_load_doc(struct cfg_ctx *c, const char *text, size_t len, yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return cfg_oom(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, doc)) {
		rc = cfg_syntax_error(c, &parser, text, len);
		goto out;
	}
	root = yaml_document_get_root_node(doc);
	if (root == NULL || cfg_is_null(root)) {
		rc = cfg_err_at(c->err, c->errlen, c->file, 1, 1, "empty configuration document");
	} else if (!yaml_parser_load(&parser, &extra)) {
		rc = cfg_syntax_error(c, &parser, text, len);
	} else {
		yaml_node_t *r2 = yaml_document_get_root_node(&extra);

		if (r2)
			rc = cfg_err_at(c->err, c->errlen, c->file, r2->start_mark.line + 1,
					r2->start_mark.column + 1,
					"only one YAML document is allowed");
		yaml_document_delete(&extra);
	}
	if (rc)
		yaml_document_delete(doc);
out:
	yaml_parser_delete(&parser);
	return rc;
}

struct ctl_config *ctl_config_load(const char *path, const char *text, char *err, size_t errlen)
{
	struct cfg_ctx c = { .file = path ? path : CFG_EMBEDDED, .err = err, .errlen = errlen };
	struct ctl_config *cfg = NULL;
	yaml_document_t doc;
	char *buf = NULL, got[64];
	size_t len;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (text == NULL) {
		if (path == NULL) {
			rc = cfg_err_at(err, errlen, c.file, 1, 1,
					"no configuration text or file given");
			goto fail;
		}
		if ((buf = cfg_read_file(path, &len)) == NULL) {
			rc = -errno;
			if (err && errlen)
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		text = buf;
	} else {
		len = strlen(text);
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || (cfg->file = strdup(c.file)) == NULL) {
		rc = cfg_oom(&c);
		goto fail;
	}
	c.cfg = cfg;
	c.file = cfg->file;
	if ((rc = cfg_load_doc(&c, text, len, &doc)))
		goto fail;
	c.doc = &doc;
	c.root = yaml_document_get_root_node(&doc);
	cfg_defaults(&cfg_top, cfg);
	if (c.root->type != YAML_MAPPING_NODE)
		rc = cfg_err(&c, c.root, "expected a mapping at the top level, got %s",
			     cfg_got(c.root, got, sizeof(got)));
	else if ((rc = cfg_parse_map(&c, &cfg_top, c.root, cfg)) == 0)
		rc = cfg_cross_check(&c);
	yaml_document_delete(&doc);
	if (rc)
		goto fail;
	free(buf);
	return cfg;
fail:
	ctl_config_free(cfg);
	free(buf);
	errno = -rc;
	return NULL;
}

void ctl_config_free(struct ctl_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->vnets);
	free(cfg->endpoints);
	free(cfg->file);
	free(cfg);
}
