/* Configuration: one YAML document -> struct ctl_config (docs/config.md),
 * and the live sections back to YAML for the state file.
 *
 * Three passes over one libyaml document, kept loaded until the end so
 * every error can name the node that caused it:
 *   1. a schema walk driven by one key table per section (key, type,
 *      offset, limits), which parses each value and applies its rules;
 *   2. per-object checks that tie keys of one mapping together;
 *   3. cross-checks over the whole configuration.  Uniqueness is found by
 *      sorting, so a million endpoints cost O(n log n).
 * The rules of all three passes are written once and also run on
 * configurations built in memory (ctl_config_validate()), which have no
 * document: their errors name the object ("endpoint 'a1': ...") instead of
 * a file position.  The same tables write and read the state file and
 * decide which changes need a restart.
 * The caller gets a complete, valid configuration or nothing.
 * No DPDK here: the CLI and the unit tests link it without an EAL.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "ctl_config.h"
#include "ctl_proto.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CFG_MAX_KEYS 16        /* keys in one table; sizes the per-mapping node arrays */
#define CFG_MAX_LCORE 127
#define CFG_EMBEDDED "<embedded>"
#define CFG_NAME_LEN ((int)CTL_NAME_MAX - 1)  /* "%.*s" bound: in-memory names may lack a NUL */
#define CFG_VAL_MAX 320        /* one value as text (devargs, a path, a MAC, a prefix) */
#define CFG_NO_ITEM ((size_t)-1)
#define CFG_STATE_VERSION 1

/* Lists whose sequence node is remembered for errors found by cross-checks. */
enum cfg_slot {
	CFG_S_PHYS, CFG_S_VHOST, CFG_S_VNET, CFG_S_EP, CFG_S_TENANT, CFG_S_GROUP, CFG_S_POLICY,
	CFG_S_NEIGH,   /* a physical port's neighbors: checked by the port, never cross-checked */
	CFG_S_COUNT
};

struct cfg_ctx {
	const char *file;                  /* name used in messages */
	yaml_document_t *doc;              /* NULL: validating a configuration built in memory */
	yaml_node_t *root;
	yaml_node_t *lists[CFG_S_COUNT];   /* sequence node of each list, NULL if not in doc */
	struct ctl_config *cfg;
	char *err;
	size_t errlen;
};

/* Where a finding is reported: a node of the document, or else the object. */
struct cfg_at {
	yaml_node_t *node;   /* the value (or mapping) in the document; NULL: no document */
	const char *what;    /* object holding the value, for messages without a node */
	const char *name;    /* its name, printed at most CFG_NAME_LEN bytes; NULL for a section */
};

enum cfg_type {
	CFG_INT,          /* decimal in [min, max], stored in a field of `size` bytes */
	CFG_BOOL,         /* true/false/yes/no/on/off */
	CFG_STR,          /* min..size-1 bytes, restricted to `chars` if set */
	CFG_PATH,         /* absolute path fitting char[size]; "" too when min is 0 */
	CFG_ENUM,         /* one of `names`, stored as its index in a field of `size` bytes */
	CFG_IPV4,         /* unicast IPv4, uint32_t network order */
	CFG_IFADDR,       /* IPv4 host address/len: uint32_t at off, uint8_t length at aux */
	CFG_MAC,          /* unicast MAC, uint8_t[6] */
	CFG_INT_LIST,     /* CFG_INT items: unsigned[max_n], unsigned count at aux */
	CFG_STR_LIST,     /* CFG_STR items: char[max_n][size], unsigned count at aux */
	CFG_IP_LIST,      /* IPv4/IPv6 addresses: struct ctl_ip[max_n], unsigned count at aux */
	CFG_PREFIX_LIST,  /* CIDR prefixes: struct ctl_prefix[max_n], unsigned count at aux */
	CFG_SUBNETS,      /* CFG_PREFIX_LIST whose items may be {prefix, gateway}: struct
			   * ctl_ip[max_n] gateways at off2 */
	CFG_SELECTOR,     /* struct ctl_selector: `any` or {vm|group|vnet: NAME} or {any: true};
			   * the owning policy's name at aux, for messages */
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
	size_t off2;             /* third destination: CFG_SUBNETS gateways */
	long long min, max;      /* integer range; minimum string length */
	unsigned min_n, max_n;   /* list length bounds (max_n 0: unbounded) */
	long long def;           /* default of CFG_INT/CFG_BOOL/CFG_ENUM */
	const char *def_str;     /* default of CFG_STR/CFG_PATH */
	bool required;
	bool live;               /* changed at run time and kept in the state file */
	const struct cfg_charset *chars;
	const char *const *names;  /* CFG_ENUM values, NULL-terminated, by index */
	const void *sub;           /* CFG_SECTION: cfg_table; CFG_LIST: cfg_list */
};

struct cfg_table {
	const char *what;                 /* the object, as named in messages */
	const struct cfg_key *keys;
	unsigned n_keys;
	/* Rules tying keys of one mapping together.  @at is the mapping; @vals
	 * (indexed like keys[]) holds its value nodes while parsing and is NULL
	 * when checking an object built in memory. */
	int (*check)(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals, void *obj);
	/* Keys refused because they would name a physical location (D2). */
	const char *const *physical;
};

struct cfg_list {
	const struct cfg_table *elem;
	enum cfg_slot slot;
	size_t elem_size;
	size_t loc_name;                     /* the element's name, for messages */
	size_t loc_file, loc_line, loc_col;  /* where an element records its position */
	bool dynamic;                        /* array is malloc'd, its pointer at the key's off */
	/* Logical model object: its enum ctl_origin at loc_origin decides
	 * whether the state file keeps it (only CTL_FROM_CONFIG). */
	bool model;
	size_t loc_origin;
};

typedef int (*cfg_parse_fn)(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj);
/* Rules on a stored value (item @i of a list type) for both the loader and
 * ctl_config_validate(). */
typedef int (*cfg_check_fn)(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			    const void *obj, size_t i);
/* The stored value (item @i of a list type) as the text a file would hold. */
typedef void (*cfg_format_fn)(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			      size_t len);

struct cfg_type_ops {
	const char *expect;  /* "expected ..." in type errors */
	cfg_parse_fn parse;
	cfg_check_fn check;   /* NULL: any stored value is valid */
	cfg_format_fn format; /* NULL for sections and lists of mappings */
};

static const struct cfg_type_ops cfg_types[CFG_TYPE_COUNT];

static bool cfg_is_items(enum cfg_type t)
{
	return t == CFG_INT_LIST || t == CFG_STR_LIST || t == CFG_IP_LIST || t == CFG_PREFIX_LIST ||
	       t == CFG_SUBNETS;
}

/* ---- errors and document access ---------------------------------------- */

/* Every error is one line: control bytes quoted from the input become '?'. */
static void cfg_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int cfg_verr(char *err, size_t errlen, const char *file, size_t line, size_t col,
		    const char *fmt, va_list ap)
{
	int n;

	if (err == NULL || errlen == 0)
		return -EINVAL;
	n = snprintf(err, errlen, "%s:%zu:%zu: ", file, line, col);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	cfg_one_line(err);
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

/* "FILE:LINE:COL: " with a node, else "what 'name': " or "what: ".  @whole:
 * the message is about the object itself, so with a node it is named too. */
static int cfg_vreport(struct cfg_ctx *c, const struct cfg_at *at, bool whole, const char *fmt,
		       va_list ap)
{
	int n;

	if (c->err == NULL || c->errlen == 0)
		return -EINVAL;
	if (at->node && whole)
		n = snprintf(c->err, c->errlen, "%s:%zu:%zu: %s '%.*s' ", c->file,
			     at->node->start_mark.line + 1, at->node->start_mark.column + 1,
			     at->what, CFG_NAME_LEN, at->name ? at->name : "");
	else if (at->node)
		n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->file,
			     at->node->start_mark.line + 1, at->node->start_mark.column + 1);
	else if (at->name)
		n = snprintf(c->err, c->errlen, "%s '%.*s': ", at->what, CFG_NAME_LEN, at->name);
	else
		n = snprintf(c->err, c->errlen, "%s: ", at->what);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	cfg_one_line(c->err);
	return -EINVAL;
}

/* Reports a value's fault. Returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
static int cfg_report(struct cfg_ctx *c, const struct cfg_at *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vreport(c, at, false, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Reports a fault of the object as a whole ("endpoint 'a' needs ..."). */
__attribute__((format(printf, 3, 4)))
static int cfg_report_obj(struct cfg_ctx *c, const struct cfg_at *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vreport(c, at, true, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int cfg_oom(struct cfg_ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory",
			 c->file ? c->file : "configuration");
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

	if (c->doc == NULL || map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(c, p->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(cfg_str(k), key))
			return cfg_node(c, p->value);
	}
	return NULL;
}

/* @at moved to item @i when its node is a sequence that long. */
static struct cfg_at cfg_at_item(struct cfg_ctx *c, const struct cfg_at *at, size_t i)
{
	struct cfg_at r = *at;

	if (r.node && r.node->type == YAML_SEQUENCE_NODE && i < cfg_seq_len(r.node))
		r.node = cfg_item(c, r.node, i);
	return r;
}

/* The value of key @i of a mapping: its node while parsing, else the object. */
static struct cfg_at cfg_key_at(const struct cfg_at *obj, yaml_node_t **vals, unsigned i)
{
	struct cfg_at r = *obj;

	if (vals && vals[i])
		r.node = vals[i];
	return r;
}

static const char *const cfg_slot_what[CFG_S_COUNT] = {
	[CFG_S_PHYS] = "physical port", [CFG_S_VHOST] = "vhost port",
	[CFG_S_VNET] = "virtual network", [CFG_S_EP] = "endpoint", [CFG_S_TENANT] = "tenant",
	[CFG_S_GROUP] = "group", [CFG_S_POLICY] = "policy", [CFG_S_NEIGH] = "neighbor",
};

static const char *cfg_elem_name(const struct ctl_config *cfg, enum cfg_slot slot, size_t i)
{
	switch (slot) {
	case CFG_S_PHYS:
		return cfg->phys[i].name;
	case CFG_S_VHOST:
		return cfg->vhost[i].name;
	case CFG_S_VNET:
		return cfg->vnets[i].name;
	case CFG_S_TENANT:
		return cfg->tenants[i].name;
	case CFG_S_GROUP:
		return cfg->groups[i].name;
	case CFG_S_POLICY:
		return cfg->policies[i].name;
	default:
		return cfg->endpoints[i].name;
	}
}

/* Key @key (item @j, or CFG_NO_ITEM) of element @i of list @slot: its node
 * when the element comes from the document, falling back outward. */
static struct cfg_at cfg_elem_at(struct cfg_ctx *c, enum cfg_slot slot, size_t i, const char *key,
				 size_t j)
{
	struct cfg_at at = { .what = cfg_slot_what[slot], .name = cfg_elem_name(c->cfg, slot, i) };
	yaml_node_t *v;

	if (c->doc == NULL || c->lists[slot] == NULL)
		return at;
	at.node = cfg_item(c, c->lists[slot], i);
	if ((v = cfg_get(c, at.node, key)) != NULL)
		at.node = v;
	return j == CFG_NO_ITEM ? at : cfg_at_item(c, &at, j);
}

/* Suffix naming the earlier of two clashing objects: its line when it is in
 * the document, its kind when that differs from the later one's. */
static const char *cfg_first(struct cfg_ctx *c, enum cfg_slot slot, size_t i,
			     enum cfg_slot dup_slot, char *buf, size_t len)
{
	buf[0] = '\0';
	if (c->doc && c->lists[slot])
		snprintf(buf, len, " (first at line %zu)",
			 cfg_item(c, c->lists[slot], i)->start_mark.line + 1);
	else if (slot != dup_slot)
		snprintf(buf, len, " (also a %s)", cfg_slot_what[slot]);
	return buf;
}

/* ---- address helpers --------------------------------------------------- */

int ctl_parse_mac(const char *s, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t out[6];

	if (s == NULL || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		/* isxdigit first: | 0x20 would also fold control bytes into digits */
		if (!isxdigit((unsigned char)s[3 * i]) || !isxdigit((unsigned char)s[3 * i + 1]) ||
		    (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		out[i] = (uint8_t)((strchr(hex, s[3 * i] | 0x20) - hex) << 4 |
				   (strchr(hex, s[3 * i + 1] | 0x20) - hex));
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

int ctl_parse_selector(const char *s, struct ctl_selector *sel)
{
	static const struct {
		const char *prefix;
		enum ctl_sel_kind kind;
	} kinds[] = { { "vm:", CTL_SEL_VM }, { "group:", CTL_SEL_GROUP }, { "vnet:", CTL_SEL_VNET } };
	struct ctl_selector out = { .kind = CTL_SEL_ANY };

	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "any") == 0) {
		*sel = out;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t pl = strlen(kinds[i].prefix);

		if (strncmp(s, kinds[i].prefix, pl))
			continue;
		if (s[pl] == '\0' || strlen(s + pl) >= sizeof(out.name))
			return -EINVAL;
		out.kind = kinds[i].kind;
		memcpy(out.name, s + pl, strlen(s + pl) + 1);
		*sel = out;
		return 0;
	}
	return -EINVAL;
}

void ctl_format_selector(const struct ctl_selector *sel, char *buf, size_t len)
{
	static const char *const kinds[] = {
		[CTL_SEL_ANY] = "any", [CTL_SEL_VNET] = "vnet", [CTL_SEL_GROUP] = "group",
		[CTL_SEL_VM] = "vm",
	};

	if (sel->kind == CTL_SEL_ANY)
		snprintf(buf, len, "any");
	else if ((unsigned)sel->kind < ARRAY_SIZE(kinds))
		snprintf(buf, len, "%s:%.*s", kinds[sel->kind], CFG_NAME_LEN, sel->name);
	else
		snprintf(buf, len, "(selector kind %u)", (unsigned)sel->kind);
}

const char *ctl_action_name(enum ctl_action a)
{
	switch (a) {
	case CTL_ACT_ALLOW:
		return "allow";
	case CTL_ACT_DENY:
		return "deny";
	case CTL_ACT_CHAIN:
		return "chain";
	}
	return "?";
}

static bool cfg_family_ok(uint8_t family)
{
	return family == AF_INET || family == AF_INET6;
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

/* Usable as a source/destination: not 0.0.0.0, loopback, multicast or reserved. */
static bool cfg_v4_unicast(uint32_t host)
{
	return host != 0 && (host >> 24) != 127 && (host >> 28) < 14;
}

static void cfg_v4_str(uint32_t nbo, char buf[INET_ADDRSTRLEN])
{
	inet_ntop(AF_INET, &nbo, buf, INET_ADDRSTRLEN);
}

static void cfg_ip_str(const struct ctl_ip *ip, char *buf, size_t len)
{
	unsigned bits;

	if (!cfg_family_ok(ip->family) || !inet_ntop(ip->family, cfg_ip_bytes(ip, &bits), buf,
						     (socklen_t)len))
		snprintf(buf, len, "(address family %u)", ip->family);
}

static uint32_t cfg_v4_mask(unsigned len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

/* ---- stored values: rules and text -------------------------------------- */

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

static unsigned long long cfg_load_uint(const void *src, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1: memcpy(&u8, src, 1); return u8;
	case 2: memcpy(&u16, src, 2); return u16;
	case 4: memcpy(&u32, src, 4); return u32;
	default: memcpy(&u64, src, 8); return u64;
	}
}

/* Address of the value of @k in @obj, or of its item @i. */
static const char *cfg_val(const struct cfg_key *k, const void *obj, size_t i)
{
	return (const char *)obj + k->off + (cfg_is_items(k->type) ? i * k->size : 0);
}

static unsigned cfg_count(const struct cfg_key *k, const void *obj)
{
	unsigned n;

	memcpy(&n, (const char *)obj + k->aux, sizeof(n));
	return n;
}

/* An optional key without a default, left zero, was not given: the
 * loader never sees it (port, tep, gateway, vm, empty lists). */
static bool cfg_absent(const struct cfg_key *k, const void *obj)
{
	const uint8_t *v = (const uint8_t *)obj + k->off;

	if (k->required || k->def || k->def_str || k->type == CFG_SECTION || k->type == CFG_LIST)
		return false;
	if (cfg_is_items(k->type))
		return k->min_n == 0 && cfg_count(k, obj) == 0;
	if (k->type == CFG_STR || k->type == CFG_PATH)
		return v[0] == '\0';
	for (size_t b = 0; b < k->size; b++)
		if (v[b])
			return false;
	return true;
}

static int cfg_int_range(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			 long long x)
{
	if (x < k->min || x > k->max)
		return cfg_report(c, at, "%s: %lld is out of range (%lld..%lld)", k->key, x, k->min,
				  k->max);
	return 0;
}

/* @x as stored in @k's field, sign-extended when the key allows negative values. */
static long long cfg_sext(const struct cfg_key *k, unsigned long long x)
{
	if (k->min < 0 && k->size < 8 && ((x >> (k->size * 8 - 1)) & 1))
		x |= ~0ULL << (k->size * 8);
	return (long long)x;
}

static int cfg_check_int(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			 const void *obj, size_t i)
{
	unsigned long long x = cfg_load_uint(cfg_val(k, obj, i), k->size);

	if (k->min < 0)
		return cfg_int_range(c, k, at, cfg_sext(k, x));
	if (x > (unsigned long long)k->max)
		return cfg_report(c, at, "%s: %llu is out of range (%lld..%lld)", k->key, x, k->min,
				  k->max);
	return cfg_int_range(c, k, at, (long long)x);
}

static void cfg_format_int(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			   size_t len)
{
	unsigned long long x = cfg_load_uint(cfg_val(k, obj, i), k->size);

	if (k->min < 0)
		snprintf(buf, len, "%lld", cfg_sext(k, x));
	else
		snprintf(buf, len, "%llu", x);
}

static void cfg_format_bool(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			    size_t len)
{
	snprintf(buf, len, "%s", *(const bool *)cfg_val(k, obj, i) ? "true" : "false");
}

/* Length, control characters and charset of a string value; paths are absolute. */
static int cfg_text_ok(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
		       const char *s)
{
	size_t len = strlen(s), bad;

	if (len < (size_t)k->min)
		return cfg_report(c, at, "%s: must not be empty", k->key);
	if (len >= k->size)
		return cfg_report(c, at, "%s: too long (%zu characters, at most %zu)", k->key, len,
				  k->size - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cfg_report(c, at, "%s: value contains a control character", k->key);
	if (k->chars && (bad = strspn(s, k->chars->set)) != len) {
		char what[16];

		/* Name a non-ASCII byte by value: half a UTF-8 sequence is unreadable. */
		if ((unsigned char)s[bad] < 0x80)
			snprintf(what, sizeof(what), "'%c'", s[bad]);
		else
			snprintf(what, sizeof(what), "byte 0x%02x", (unsigned char)s[bad]);
		return cfg_report(c, at, "%s: invalid character %s in '%s' (allowed: %s)", k->key,
				  what, s, k->chars->desc);
	}
	if (k->type == CFG_PATH && s[0] && s[0] != '/')
		return cfg_report(c, at, "%s: '%s' is not an absolute path", k->key, s);
	return 0;
}

static int cfg_check_str(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			 const void *obj, size_t i)
{
	const char *s = cfg_val(k, obj, i);

	if (memchr(s, '\0', k->size) == NULL)
		return cfg_report(c, at, "%s: too long (no terminating NUL in %zu bytes)", k->key,
				  k->size);
	return cfg_text_ok(c, k, at, s);
}

static void cfg_format_str(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			   size_t len)
{
	snprintf(buf, len, "%.*s", (int)k->size, cfg_val(k, obj, i));
}

static unsigned cfg_n_names(const struct cfg_key *k)
{
	unsigned n = 0;

	while (k->names[n])
		n++;
	return n;
}

static int cfg_check_enum(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			  const void *obj, size_t i)
{
	unsigned long long x = cfg_load_uint(cfg_val(k, obj, i), k->size);
	char list[128] = "";

	if (x < cfg_n_names(k))
		return 0;
	for (unsigned j = 0; k->names[j]; j++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? ", " : "",
			 k->names[j]);
	return cfg_report(c, at, "%s: %llu is not one of %s", k->key, x, list);
}

static void cfg_format_enum(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			    size_t len)
{
	unsigned long long x = cfg_load_uint(cfg_val(k, obj, i), k->size);

	if (x < cfg_n_names(k))
		snprintf(buf, len, "%s", k->names[x]);
	else
		snprintf(buf, len, "%llu", x);
}

static int cfg_check_ipv4(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			  const void *obj, size_t i)
{
	uint32_t a;
	char s[INET_ADDRSTRLEN];

	memcpy(&a, cfg_val(k, obj, i), sizeof(a));
	if (cfg_v4_unicast(ntohl(a)))
		return 0;
	cfg_v4_str(a, s);
	return cfg_report(c, at, "%s: %s is not a unicast address", k->key, s);
}

static void cfg_format_ipv4(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			    size_t len)
{
	uint32_t a;

	memcpy(&a, cfg_val(k, obj, i), sizeof(a));
	if (!inet_ntop(AF_INET, &a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static int cfg_check_ifaddr(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			    const void *obj, size_t i)
{
	uint32_t a, host, mask;
	uint8_t len;
	char s[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN];

	(void)i;
	memcpy(&a, (const char *)obj + k->off, sizeof(a));
	memcpy(&len, (const char *)obj + k->aux, 1);
	cfg_v4_str(a, s);
	if (len < 1 || len > 32)
		return cfg_report(c, at, "%s: prefix length %u is out of range (1..32)", k->key,
				  len);
	host = ntohl(a);
	mask = cfg_v4_mask(len);
	if (!cfg_v4_unicast(host))
		return cfg_report(c, at, "%s: %s/%u is not a unicast address", k->key, s, len);
	/* /31 and /32 have no network or broadcast address (RFC 3021). */
	if (len < 31 && ((host & ~mask) == 0 || (host & ~mask) == ~mask)) {
		cfg_v4_str(htonl(host & mask), net);
		return cfg_report(c, at, "%s: %s/%u is the %s address of %s/%u; use a host address",
				  k->key, s, len, (host & ~mask) == 0 ? "network" : "broadcast",
				  net, len);
	}
	return 0;
}

static void cfg_format_ifaddr(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			      size_t len)
{
	uint32_t a;
	uint8_t plen;
	char s[INET_ADDRSTRLEN];

	(void)i;
	memcpy(&a, (const char *)obj + k->off, sizeof(a));
	memcpy(&plen, (const char *)obj + k->aux, 1);
	cfg_v4_str(a, s);
	snprintf(buf, len, "%s/%u", s, plen);
}

static void cfg_format_mac(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			   size_t len)
{
	const uint8_t *m = (const uint8_t *)cfg_val(k, obj, i);

	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int cfg_check_mac(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			 const void *obj, size_t i)
{
	static const uint8_t zero[6], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t *mac = (const uint8_t *)cfg_val(k, obj, i);
	char s[32];

	cfg_format_mac(k, obj, i, s, sizeof(s));
	if (!memcmp(mac, zero, 6))
		return cfg_report(c, at, "%s: the all-zero MAC address is not allowed", k->key);
	if (!memcmp(mac, bcast, 6))
		return cfg_report(c, at, "%s: %s is the broadcast address, not a unicast one",
				  k->key, s);
	if (mac[0] & 1)
		return cfg_report(c, at, "%s: %s is a multicast address, not a unicast one", k->key,
				  s);
	return 0;
}

static int cfg_check_ip(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			const void *obj, size_t i)
{
	struct ctl_ip ip;
	char s[INET6_ADDRSTRLEN + 32];
	bool bad;

	memcpy(&ip, cfg_val(k, obj, i), sizeof(ip));
	if (!cfg_family_ok(ip.family))
		return cfg_report(c, at, "%s: address family %u is neither IPv4 nor IPv6", k->key,
				  ip.family);
	if (ip.family == AF_INET)
		bad = ip.v4 == 0 || ip.v4 == 0xffffffffu || (ntohl(ip.v4) >> 28) == 14;
	else
		bad = ip.v6[0] == 0xff || !memcmp(ip.v6, (uint8_t[16]){ 0 }, 16);
	if (!bad)
		return 0;
	cfg_ip_str(&ip, s, sizeof(s));
	return cfg_report(c, at, "%s: %s is not a unicast address", k->key, s);
}

static void cfg_format_ip(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			  size_t len)
{
	struct ctl_ip ip;

	memcpy(&ip, cfg_val(k, obj, i), sizeof(ip));
	cfg_ip_str(&ip, buf, len);
}

static void cfg_format_prefix(const struct cfg_key *k, const void *obj, size_t i, char *buf,
			      size_t len)
{
	struct ctl_prefix p;
	char s[INET6_ADDRSTRLEN + 32];

	memcpy(&p, cfg_val(k, obj, i), sizeof(p));
	cfg_ip_str(&p.addr, s, sizeof(s));
	snprintf(buf, len, "%s/%u", s, p.len);
}

static int cfg_check_prefix(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			    const void *obj, size_t i)
{
	struct ctl_prefix p;
	char s[CFG_VAL_MAX], net[INET6_ADDRSTRLEN + 32];
	unsigned bits;
	uint8_t *a;
	bool host_bits = false;

	memcpy(&p, cfg_val(k, obj, i), sizeof(p));
	if (!cfg_family_ok(p.addr.family))
		return cfg_report(c, at, "%s: address family %u is neither IPv4 nor IPv6", k->key,
				  p.addr.family);
	a = (uint8_t *)cfg_ip_bytes(&p.addr, &bits);
	if (p.len > bits)
		return cfg_report(c, at, "%s: prefix length %u is out of range (0..%u)", k->key,
				  p.len, bits);
	cfg_format_prefix(k, obj, i, s, sizeof(s));
	for (unsigned b = p.len; b < bits; b++) {
		host_bits |= (a[b / 8] & (0x80 >> (b % 8))) != 0;
		a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	}
	if (!host_bits)
		return 0;
	cfg_ip_str(&p.addr, net, sizeof(net));
	return cfg_report(c, at, "%s: %s has host bits set (did you mean %s/%u?)", k->key, s, net,
			  p.len);
}

/* List lengths, for both paths: "too many" names the first item too many. */
static int cfg_count_ok(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			size_t n)
{
	if (k->max_n && n > k->max_n) {
		struct cfg_at item = cfg_at_item(c, at, k->max_n);

		return cfg_report(c, &item, "%s: too many entries (%zu, at most %u)", k->key, n,
				  k->max_n);
	}
	if (n < k->min_n)
		return cfg_report(c, at, "%s: needs at least %u %s", k->key, k->min_n,
				  k->min_n == 1 ? "entry" : "entries");
	return 0;
}

/* The whole value as text: list types as "[a, b]". */
static void cfg_format_value(const struct cfg_key *k, const void *obj, char *buf, size_t len)
{
	char item[CFG_VAL_MAX];
	size_t n, used;

	if (!cfg_is_items(k->type)) {
		cfg_types[k->type].format(k, obj, 0, buf, len);
		return;
	}
	n = cfg_count(k, obj);
	if (k->max_n && n > k->max_n)
		n = k->max_n;
	snprintf(buf, len, "[");
	for (size_t i = 0; i < n; i++) {
		cfg_types[k->type].format(k, obj, i, item, sizeof(item));
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", i ? ", " : "", item);
	}
	used = strlen(buf);
	snprintf(buf + used, len - used, "]");
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

static int cfg_int_value(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, long long *out)
{
	const char *s = NULL, *digits;
	char buf[64];
	long long x = 0;
	struct cfg_at at = { .node = v };
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_INT].expect, v, &s);

	if (rc)
		return rc;
	digits = s + (*s == '-');
	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return cfg_err(c, v, "%s: expected an integer, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	errno = 0;
	x = strtoll(s, NULL, 10);
	if (errno == ERANGE)
		return cfg_err(c, v, "%s: %.32s is out of range (%lld..%lld)", k->key, s, k->min,
			       k->max);
	if ((rc = cfg_int_range(c, k, &at, x)))
		return rc;
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

static int cfg_parse_str(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s = NULL;
	struct cfg_at at = { .node = v };
	int rc = cfg_scalar(c, k->key, cfg_types[k->type].expect, v, &s);

	/* Checked as text first: the field has room only for a valid value. */
	if (rc == 0)
		rc = cfg_text_ok(c, k, &at, s);
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
	struct cfg_at at = { .node = v };
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_IPV4].expect, v, &s);

	if (rc)
		return rc;
	if (inet_pton(AF_INET, s, &a) != 1)
		return cfg_err(c, v, "%s: expected an IPv4 address, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	memcpy((char *)obj + k->off, &a, sizeof(a));
	return cfg_check_ipv4(c, k, &at, obj, 0);
}

static int cfg_parse_ifaddr(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s = NULL;
	char buf[64];
	struct ctl_prefix p;
	uint8_t len;
	struct cfg_at at = { .node = v };
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_IFADDR].expect, v, &s);

	if (rc)
		return rc;
	if (ctl_parse_prefix(s, &p) < 0 || p.addr.family != AF_INET)
		return cfg_err(c, v, "%s: expected an IPv4 address with prefix length "
			       "(a.b.c.d/len), got %s", k->key, cfg_got(v, buf, sizeof(buf)));
	memcpy((char *)obj + k->off, &p.addr.v4, sizeof(p.addr.v4));
	len = p.len;
	memcpy((char *)obj + k->aux, &len, 1);
	return cfg_check_ifaddr(c, k, &at, obj, 0);
}

static int cfg_parse_mac(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s = NULL;
	char buf[64];
	uint8_t mac[6];
	struct cfg_at at = { .node = v };
	int rc = cfg_scalar(c, k->key, cfg_types[CFG_MAC].expect, v, &s);

	if (rc)
		return rc;
	if (ctl_parse_mac(s, mac) < 0)
		return cfg_err(c, v, "%s: expected a MAC address (xx:xx:xx:xx:xx:xx), got %s",
			       k->key, cfg_got(v, buf, sizeof(buf)));
	memcpy((char *)obj + k->off, mac, 6);
	return cfg_check_mac(c, k, &at, obj, 0);
}

/* ---- sequences --------------------------------------------------------- */

/* Checks @v is a sequence (null: empty) within the key's length bounds. */
static int cfg_seq(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, size_t *n)
{
	char buf[64];
	struct cfg_at at = { .node = v };

	if (cfg_is_null(v))
		*n = 0;
	else if (v->type != YAML_SEQUENCE_NODE)
		return cfg_err(c, v, "%s: expected a sequence, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	else
		*n = cfg_seq_len(v);
	return cfg_count_ok(c, k, &at, *n);
}

/* Parses one item of list @k, node @item with text @s, into @dst. */
typedef int (*cfg_item_fn)(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *item,
			   const char *s, void *dst);

static int cfg_item_int(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *item,
			const char *s, void *dst)
{
	long long x = 0;
	int rc = cfg_int_value(c, k, item, &x);

	(void)s;
	if (rc == 0)
		cfg_store_uint(dst, k->size, (unsigned long long)x);
	return rc;
}

static int cfg_item_str(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *item,
			const char *s, void *dst)
{
	struct cfg_at at = { .node = item };
	int rc = cfg_text_ok(c, k, &at, s);

	if (rc == 0)
		memcpy(dst, s, strlen(s) + 1);
	return rc;
}

static int cfg_item_ip(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *item,
		       const char *s, void *dst)
{
	char buf[64];

	if (ctl_parse_ip(s, dst) < 0)
		return cfg_err(c, item, "%s: expected an IPv4 or IPv6 address, got %s", k->key,
			       cfg_got(item, buf, sizeof(buf)));
	return 0;
}

static int cfg_item_prefix(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *item,
			   const char *s, void *dst)
{
	char buf[64];

	if (ctl_parse_prefix(s, dst) < 0)
		return cfg_err(c, item, "%s: expected an IPv4 or IPv6 prefix (address/len), got %s",
			       k->key, cfg_got(item, buf, sizeof(buf)));
	return 0;
}

/* Every list type: length, then item by item (parse, then the item's rules)
 * so the first bad node in the file is the one reported. */
static int cfg_parse_items(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	static const struct {
		cfg_item_fn parse;
		const char *expect;
	} item_ops[CFG_TYPE_COUNT] = {
		[CFG_INT_LIST] = { cfg_item_int, NULL },
		[CFG_STR_LIST] = { cfg_item_str, "a string" },
		[CFG_IP_LIST] = { cfg_item_ip, "an IP address" },
		[CFG_PREFIX_LIST] = { cfg_item_prefix, "a prefix" },
	};
	unsigned *cnt = (unsigned *)((char *)obj + k->aux);
	const char *s = NULL;
	size_t n;
	int rc = cfg_seq(c, k, v, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		yaml_node_t *item = cfg_item(c, v, i);
		struct cfg_at at = { .node = item };

		if (item_ops[k->type].expect)
			rc = cfg_scalar(c, k->key, item_ops[k->type].expect, item, &s);
		if (rc == 0)
			rc = item_ops[k->type].parse(c, k, item, s, (char *)cfg_val(k, obj, *cnt));
		if (rc == 0 && cfg_types[k->type].check)
			rc = cfg_types[k->type].check(c, k, &at, obj, *cnt);
		if (rc == 0)
			(*cnt)++;
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
		case CFG_MAC:
			if (k->def_str)
				ctl_parse_mac(k->def_str, (uint8_t *)dst);
			break;
		case CFG_SECTION:
			cfg_defaults(k->sub, dst);
			break;
		default:
			break;
		}
	}
}

/* Policies hold only logical references (D2): a host, port or NIC named in
 * one is refused with this message, @thing saying what was found. */
static int cfg_physical(struct cfg_ctx *c, const struct cfg_at *at, const char *policy,
			const char *thing)
{
	static const char why[] = "is a physical location; policies name only VMs, groups and "
				  "virtual networks";

	if (at->node == NULL)   /* cfg_report() names the policy */
		return cfg_report(c, at, "%s %s", thing, why);
	if (policy && *policy)
		return cfg_report(c, at, "policy '%.*s': %s %s", CFG_NAME_LEN, policy, thing, why);
	return cfg_report(c, at, "policy: %s %s", thing, why);
}

static bool cfg_in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
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

/* Walks mapping @map (or a null value) with table @t, filling @obj, whose
 * name (NULL for a section) is at @name once parsed. */
static int cfg_parse_map(struct cfg_ctx *c, const struct cfg_table *t, yaml_node_t *map, void *obj,
			 const char *name)
{
	yaml_node_t *keys[CFG_MAX_KEYS] = { 0 }, *vals[CFG_MAX_KEYS] = { 0 };
	struct cfg_at at = { .node = map, .what = t->what, .name = name };
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
			if (strlen(cfg_str(kn)) != kn->data.scalar.length)
				return cfg_err(c, kn, "key in %s contains a NUL byte", t->what);
			for (i = 0; i < t->n_keys && strcmp(cfg_str(kn), t->keys[i].key); i++)
				;
			if (i == t->n_keys && cfg_in_list(t->physical, cfg_str(kn))) {
				char thing[80];
				struct cfg_at ka = { .node = kn };

				snprintf(thing, sizeof(thing), "'%.64s'", cfg_str(kn));
				return cfg_physical(c, &ka, name, thing);
			}
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
	return t->check ? t->check(c, &at, vals, obj) : 0;
}

static int cfg_parse_section(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	char buf[64];

	if (v->type != YAML_MAPPING_NODE && !cfg_is_null(v))
		return cfg_err(c, v, "%s: expected a mapping, got %s", k->key,
			       cfg_got(v, buf, sizeof(buf)));
	return cfg_parse_map(c, k->sub, v, (char *)obj + k->off, NULL);
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
		rc = cfg_parse_map(c, l->elem, item, e, e + l->loc_name);
		if (rc)
			return rc;
		(*cnt)++;
	}
	return 0;
}

/* ---- subnets with gateways, policy selectors ----------------------------- */

static const char *const cfg_sel_kinds[] = {
	[CTL_SEL_ANY] = "any", [CTL_SEL_VNET] = "vnet", [CTL_SEL_GROUP] = "group",
	[CTL_SEL_VM] = "vm", NULL,
};

/* Keys refused in a policy and in its selectors: physical locations (D2). */
static const char *const cfg_physical_keys[] = {
	"host", "tep", "ip", "ips", "address", "port", "nic", "mac", "interface", "device", NULL,
};

static const struct cfg_charset cfg_name_chars;

/* A selector's name: a valid name, and never an address or a MAC in disguise. */
static int cfg_sel_name_ok(struct cfg_ctx *c, const struct cfg_at *at, const char *side,
			   const char *policy, enum ctl_sel_kind kind, const char *name)
{
	char key[32], thing[96];
	struct ctl_ip ip;
	uint8_t mac[6];
	struct cfg_key nk = { .size = CTL_NAME_MAX, .min = 1, .chars = &cfg_name_chars };

	if (ctl_parse_ip(name, &ip) == 0 || ctl_parse_mac(name, mac) == 0) {
		snprintf(thing, sizeof(thing), "%s: '%.48s' (%s)", side, name,
			 ctl_parse_ip(name, &ip) == 0 ? "an IP address" : "a MAC address");
		return cfg_physical(c, at, policy, thing);
	}
	snprintf(key, sizeof(key), "%s.%s", side, cfg_sel_kinds[kind]);
	nk.key = key;
	return cfg_text_ok(c, &nk, at, name);
}

static int cfg_check_selector(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			      const void *obj, size_t i)
{
	struct ctl_selector s;

	(void)i;
	memcpy(&s, (const char *)obj + k->off, sizeof(s));
	if ((unsigned)s.kind > CTL_SEL_VM)
		return cfg_report(c, at, "%s: selector kind %u is not one of any, vnet, group, vm",
				  k->key, (unsigned)s.kind);
	if (memchr(s.name, '\0', sizeof(s.name)) == NULL)
		return cfg_report(c, at, "%s: too long (no terminating NUL in %zu bytes)", k->key,
				  sizeof(s.name));
	if (s.kind == CTL_SEL_ANY)
		return s.name[0] ? cfg_report(c, at, "%s: 'any' takes no name", k->key) : 0;
	return cfg_sel_name_ok(c, at, k->key, (const char *)obj + k->aux, s.kind, s.name);
}

static void cfg_format_selector(const struct cfg_key *k, const void *obj, size_t i, char *buf,
				size_t len)
{
	struct ctl_selector s;

	(void)i;
	memcpy(&s, (const char *)obj + k->off, sizeof(s));
	ctl_format_selector(&s, buf, len);
}

static int cfg_parse_selector(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	struct ctl_selector sel = { .kind = CTL_SEL_ANY };
	const char *policy = (const char *)obj + k->aux, *s = NULL;
	yaml_node_t *given = NULL;
	char buf[64];
	int rc;

	if (v->type == YAML_SCALAR_NODE && !strcmp(cfg_str(v), "any"))
		goto out;
	if (v->type != YAML_MAPPING_NODE)
		return cfg_err(c, v, "%s: expected 'any' or a mapping with one of vm, group, vnet, "
			       "any, got %s", k->key, cfg_got(v, buf, sizeof(buf)));
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = cfg_node(c, p->key), *vn = cfg_node(c, p->value);
		struct cfg_at at = { .node = kn };
		unsigned kind;

		if (kn->type != YAML_SCALAR_NODE ||
		    strlen(cfg_str(kn)) != kn->data.scalar.length)
			return cfg_err(c, kn, "%s: expected a key name, got %s", k->key,
				       cfg_got(kn, buf, sizeof(buf)));
		if (cfg_in_list(cfg_physical_keys, cfg_str(kn))) {
			char thing[96];

			snprintf(thing, sizeof(thing), "%s: '%.48s'", k->key, cfg_str(kn));
			return cfg_physical(c, &at, policy, thing);
		}
		for (kind = 0; cfg_sel_kinds[kind] && strcmp(cfg_sel_kinds[kind], cfg_str(kn)); kind++)
			;
		if (cfg_sel_kinds[kind] == NULL)
			return cfg_err(c, kn, "unknown key '%.64s' in %s (expected one of: vm, group, "
				       "vnet, any)", cfg_str(kn), k->key);
		if (given)
			return cfg_err(c, kn, "%s: give exactly one of vm, group, vnet or any "
				       "('%s' already at line %zu)", k->key, cfg_str(given),
				       given->start_mark.line + 1);
		given = kn;
		if ((rc = cfg_scalar(c, k->key, "a name", vn, &s)))
			return rc;
		at.node = vn;
		sel.kind = (enum ctl_sel_kind)kind;
		if (kind == CTL_SEL_ANY) {
			if (strcasecmp(s, "true") && strcasecmp(s, "yes") && strcasecmp(s, "on"))
				return cfg_err(c, vn, "%s: any: expected true, got %s", k->key,
					       cfg_got(vn, buf, sizeof(buf)));
			continue;
		}
		if ((rc = cfg_sel_name_ok(c, &at, k->key, policy, sel.kind, s)))
			return rc;
		memcpy(sel.name, s, strlen(s) + 1);
	}
	if (given == NULL)
		return cfg_err(c, v, "%s: give exactly one of vm, group, vnet or any", k->key);
out:
	memcpy((char *)obj + k->off, &sel, sizeof(sel));
	return 0;
}

/* Each item "CIDR" or {prefix: CIDR, gateway: IP}; the gateway's rules are
 * the virtual network's (cfg_check_vnet). */
static int cfg_parse_subnets(struct cfg_ctx *c, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	unsigned *cnt = (unsigned *)((char *)obj + k->aux);
	char buf[64];
	size_t n;
	int rc = cfg_seq(c, k, v, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		yaml_node_t *item = cfg_item(c, v, i), *pn = NULL, *gn = NULL;
		struct ctl_ip *gw = (struct ctl_ip *)((char *)obj + k->off2) + *cnt;
		struct cfg_at at = { .node = item };
		const char *s = NULL;

		memset(gw, 0, sizeof(*gw));
		if (item->type == YAML_SCALAR_NODE) {
			pn = item;
		} else if (item->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
			     p < item->data.mapping.pairs.top; p++) {
				yaml_node_t *kn = cfg_node(c, p->key);
				const char *key = kn->type == YAML_SCALAR_NODE ? cfg_str(kn) : "";
				yaml_node_t **slot = !strcmp(key, "prefix") ? &pn :
						     !strcmp(key, "gateway") ? &gn : NULL;

				if (slot == NULL)
					return cfg_err(c, kn, "%s: unknown key '%.64s' in subnet "
						       "(expected one of: prefix, gateway)", k->key,
						       key);
				if (*slot)
					return cfg_err(c, kn, "%s: duplicate key '%s' in subnet",
						       k->key, key);
				*slot = cfg_node(c, p->value);
			}
			if (pn == NULL)
				return cfg_err(c, item, "%s: missing required key 'prefix' in subnet",
					       k->key);
		} else {
			return cfg_err(c, item, "%s: expected a prefix or {prefix, gateway}, got %s",
				       k->key, cfg_got(item, buf, sizeof(buf)));
		}
		at.node = pn;
		if ((rc = cfg_scalar(c, k->key, "a prefix", pn, &s)) ||
		    (rc = cfg_item_prefix(c, k, pn, s, (char *)cfg_val(k, obj, *cnt))) ||
		    (rc = cfg_check_prefix(c, k, &at, obj, *cnt)))
			return rc;
		if (gn && ((rc = cfg_scalar(c, k->key, "an IP address", gn, &s)) ||
			   ctl_parse_ip(s, gw) < 0))
			return rc ? rc : cfg_err(c, gn, "%s: gateway: expected an IPv4 or IPv6 "
						 "address, got %s", k->key,
						 cfg_got(gn, buf, sizeof(buf)));
		(*cnt)++;
	}
	return rc;
}

static const struct cfg_type_ops cfg_types[CFG_TYPE_COUNT] = {
	[CFG_INT] = { "an integer", cfg_parse_int, cfg_check_int, cfg_format_int },
	[CFG_BOOL] = { "a boolean", cfg_parse_bool, NULL, cfg_format_bool },
	[CFG_STR] = { "a string", cfg_parse_str, cfg_check_str, cfg_format_str },
	[CFG_PATH] = { "a path", cfg_parse_str, cfg_check_str, cfg_format_str },
	[CFG_ENUM] = { "a string", cfg_parse_enum, cfg_check_enum, cfg_format_enum },
	[CFG_IPV4] = { "an IPv4 address", cfg_parse_ipv4, cfg_check_ipv4, cfg_format_ipv4 },
	[CFG_IFADDR] = { "an IPv4 address with prefix length", cfg_parse_ifaddr, cfg_check_ifaddr,
			 cfg_format_ifaddr },
	[CFG_MAC] = { "a MAC address", cfg_parse_mac, cfg_check_mac, cfg_format_mac },
	[CFG_INT_LIST] = { "a sequence", cfg_parse_items, cfg_check_int, cfg_format_int },
	[CFG_STR_LIST] = { "a sequence", cfg_parse_items, cfg_check_str, cfg_format_str },
	[CFG_IP_LIST] = { "a sequence", cfg_parse_items, cfg_check_ip, cfg_format_ip },
	[CFG_PREFIX_LIST] = { "a sequence", cfg_parse_items, cfg_check_prefix, cfg_format_prefix },
	[CFG_SUBNETS] = { "a sequence", cfg_parse_subnets, cfg_check_prefix, cfg_format_prefix },
	[CFG_SELECTOR] = { "a selector", cfg_parse_selector, cfg_check_selector,
			   cfg_format_selector },
	[CFG_SECTION] = { "a mapping", cfg_parse_section, NULL, NULL },
	[CFG_LIST] = { "a sequence", cfg_parse_list, NULL, NULL },
};

/* ---- objects built in memory ------------------------------------------- */

static int cfg_check_obj(struct cfg_ctx *c, const struct cfg_table *t, void *obj, const char *name);

static int cfg_check_list(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_at *at,
			  void *obj)
{
	const struct cfg_list *l = k->sub;
	unsigned n = cfg_count(k, obj);
	char *arr = (char *)obj + k->off;
	int rc = cfg_count_ok(c, k, at, n);

	if (rc || n == 0)
		return rc;
	if (l->dynamic)
		memcpy(&arr, (char *)obj + k->off, sizeof(arr));
	if (arr == NULL)
		return cfg_report(c, at, "%s: %u entries but no array", k->key, n);
	for (unsigned i = 0; i < n; i++) {
		char *e = arr + (size_t)i * l->elem_size;

		if ((rc = cfg_check_obj(c, l->elem, e, e + l->loc_name)))
			return rc;
	}
	return 0;
}

/* Applies to @obj every rule the loader applies while parsing it. */
static int cfg_check_obj(struct cfg_ctx *c, const struct cfg_table *t, void *obj, const char *name)
{
	struct cfg_at at = { .what = t->what, .name = name };
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < t->n_keys; i++) {
		const struct cfg_key *k = &t->keys[i];
		cfg_check_fn check = cfg_types[k->type].check;

		if (k->type == CFG_SECTION) {
			rc = cfg_check_obj(c, k->sub, (char *)obj + k->off, NULL);
		} else if (k->type == CFG_LIST) {
			rc = cfg_check_list(c, k, &at, obj);
		} else if (cfg_absent(k, obj)) {
			continue;
		} else if (cfg_is_items(k->type)) {
			unsigned n = cfg_count(k, obj);

			rc = cfg_count_ok(c, k, &at, n);
			for (unsigned j = 0; rc == 0 && j < n; j++)
				rc = check(c, k, &at, obj, j);
		} else if (check) {
			rc = check(c, k, &at, obj, 0);
		}
	}
	if (rc == 0 && t->check)
		rc = t->check(c, &at, NULL, obj);
	return rc;
}

/* ---- per-object checks ------------------------------------------------- */

enum { W_LCORES, W_IDLE, W_MBUFS };
enum { PP_NAME, PP_DEVARGS, PP_RXQ, PP_IP, PP_GW, PP_MTU, PP_NEIGH };
enum { EP_NAME, EP_MAC, EP_IPS, EP_VNET, EP_PORT, EP_TEP, EP_GROUPS };

static int cfg_check_workers(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			     void *obj)
{
	const struct ctl_workers *w = obj;
	struct cfg_at lc = cfg_key_at(at, vals, W_LCORES), item;

	for (unsigned i = 1; i < w->n_lcores; i++)
		for (unsigned j = 0; j < i; j++)
			if (w->lcores[i] == w->lcores[j]) {
				item = cfg_at_item(c, &lc, i);
				return cfg_report(c, &item, "lcores: lcore %u is listed twice",
						  w->lcores[i]);
			}
	return 0;
}

/* The neighbor is named by its address in messages and in `show`. */
static int cfg_check_neighbor(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			      void *obj)
{
	struct ctl_neighbor *n = obj;

	(void)c, (void)at;
	if (vals != NULL)   /* parsing; an object built in memory keeps its name */
		cfg_v4_str(n->ip, n->name);
	return 0;
}

/* Static neighbors are next hops: on the port's subnet, not the port
 * itself, each address once. */
static int cfg_check_neighbors(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			       const struct ctl_phys_port *p)
{
	uint32_t mask = cfg_v4_mask(p->prefix_len);
	struct cfg_at list = cfg_key_at(at, vals, PP_NEIGH);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	cfg_v4_str(p->ip, b);
	for (unsigned i = 0; i < p->n_neighbors && i < CTL_MAX_NEIGHBORS; i++) {
		uint32_t ip = p->neighbors[i].ip;
		struct cfg_at item = cfg_at_item(c, &list, i);
		yaml_node_t *v = item.node ? cfg_get(c, item.node, "ip") : NULL;

		if (v != NULL)
			item.node = v;
		cfg_v4_str(ip, a);
		if ((ntohl(ip) & mask) != (ntohl(p->ip) & mask))
			return cfg_report(c, &item, "neighbors: %s is not inside %s/%u", a, b,
					  p->prefix_len);
		if (ip == p->ip)
			return cfg_report(c, &item, "neighbors: %s is the port's own address", a);
		for (unsigned j = 0; j < i; j++)
			if (p->neighbors[j].ip == ip)
				return cfg_report(c, &item, "neighbors: %s is listed twice", a);
	}
	return 0;
}

static int cfg_check_phys(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			  void *obj)
{
	const struct ctl_phys_port *p = obj;
	uint32_t mask = cfg_v4_mask(p->prefix_len), ip = ntohl(p->ip), gw = ntohl(p->gateway);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct cfg_at g = cfg_key_at(at, vals, PP_GW);
	int rc = cfg_check_neighbors(c, at, vals, p);

	/* 0.0.0.0 is no unicast address: only an absent gateway reads as 0. */
	if (rc || p->gateway == 0)
		return rc;
	cfg_v4_str(p->gateway, a);
	cfg_v4_str(p->ip, b);
	if ((gw & mask) != (ip & mask))
		return cfg_report(c, &g, "gateway: %s is not inside %s/%u", a, b, p->prefix_len);
	if (gw == ip)
		return cfg_report(c, &g, "gateway: %s is the port's own address", a);
	if (p->prefix_len < 31 && ((gw & ~mask) == 0 || (gw & ~mask) == ~mask))
		return cfg_report(c, &g, "gateway: %s is the %s address of %s/%u", a,
				  (gw & ~mask) == 0 ? "network" : "broadcast", b, p->prefix_len);
	return 0;
}

/* Exactly one of port and tep.  The loader derives `where` from it; an
 * endpoint built in memory must already say the same. */
static int cfg_check_endpoint(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			      void *obj)
{
	struct ctl_endpoint *ep = obj;
	bool port = ep->port[0] != '\0', tep = ep->tep != 0;
	enum ctl_ep_where where = port ? CTL_EP_LOCAL : CTL_EP_REMOTE;
	struct cfg_at later = *at;

	if (port && tep) {
		if (vals && vals[EP_PORT] && vals[EP_TEP]) {
			size_t port_at = vals[EP_PORT]->start_mark.index,
			       tep_at = vals[EP_TEP]->start_mark.index;

			later.node = port_at > tep_at ? vals[EP_PORT] : vals[EP_TEP];
		}
		return cfg_report_obj(c, &later, "has both 'port' and 'tep'; give exactly one");
	}
	if (!port && !tep)
		return cfg_report_obj(c, at, "needs exactly one of 'port' (local vhost port) "
				      "or 'tep' (remote tunnel endpoint)");
	if (vals)
		ep->where = where;
	else if (ep->where != where)
		return cfg_report_obj(c, at, "is marked %s but has a '%s'",
				      ep->where == CTL_EP_LOCAL ? "local" : "remote",
				      port ? "port" : "tep");
	return 0;
}

static int cfg_check_state_version(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
				   void *obj);

#define ALNUM_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
enum { VN_NAME, VN_VNI, VN_TENANT, VN_SUBNETS, VN_FLOOD };
enum { PO_NAME, PO_TENANT, PO_FROM, PO_TO, PO_ACTION, PO_CHAIN, PO_PRIORITY };
enum { PC_SAME, PC_CROSS, PC_GWMAC, PC_CACHE, PC_PER_PORT, PC_HOLD, PC_MISSES, PC_NOTIFY,
       PC_INTERVAL };
enum { PS_BACKEND, PS_ETCD };
enum { ET_ENDPOINTS, ET_PREFIX, ET_TTL, ET_TIMEOUT };

/* Each subnet's gateway (D10) is a host address inside it. */
static int cfg_check_vnet(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			  void *obj)
{
	const struct ctl_vnet *vn = obj;
	struct cfg_at sn = cfg_key_at(at, vals, VN_SUBNETS);
	unsigned n = vn->n_subnets < CTL_MAX_SUBNETS ? vn->n_subnets : CTL_MAX_SUBNETS;

	for (unsigned s = 0; s < n; s++) {
		const struct ctl_ip *g = &vn->gateways[s];
		const struct ctl_prefix *p = &vn->subnets[s];
		struct cfg_at ga = cfg_at_item(c, &sn, s);
		char gs[INET6_ADDRSTRLEN + 32], ps[INET6_ADDRSTRLEN + 32];
		unsigned bits;
		const uint8_t *a;
		bool zero = true, ones = true;

		if (g->family == 0)
			continue;
		if (ga.node && ga.node->type == YAML_MAPPING_NODE)
			ga.node = cfg_get(c, ga.node, "gateway");
		if (!cfg_family_ok(g->family))
			return cfg_report(c, &ga, "subnets: gateway: address family %u is neither "
					  "IPv4 nor IPv6", g->family);
		cfg_ip_str(g, gs, sizeof(gs));
		cfg_ip_str(&p->addr, ps, sizeof(ps));
		if (!cfg_prefix_has(p, g))
			return cfg_report(c, &ga, "subnets: gateway %s is not inside %s/%u", gs, ps,
					  p->len);
		a = cfg_ip_bytes(g, &bits);
		for (unsigned b = p->len; b < bits; b++) {
			bool set = (a[b / 8] & (0x80 >> (b % 8))) != 0;

			zero &= !set;
			ones &= set;
		}
		/* /31, /32 (and /127, /128) have no network or broadcast address. */
		if (p->len + 1u < bits && (zero || (ones && g->family == AF_INET)))
			return cfg_report(c, &ga, "subnets: gateway %s is the %s address of %s/%u",
					  gs, zero ? "network" : "broadcast", ps, p->len);
	}
	return 0;
}

/* A chain is named exactly when the action is `chain`. */
static int cfg_check_policy(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			    void *obj)
{
	const struct ctl_policy *po = obj;
	struct cfg_at ch = cfg_key_at(at, vals, PO_CHAIN);

	if (po->action == CTL_ACT_CHAIN && po->chain[0] == '\0')
		return cfg_report_obj(c, at, "has action 'chain' but no 'chain' to send traffic "
				      "through");
	if (po->action != CTL_ACT_CHAIN && po->chain[0] != '\0')
		return cfg_report(c, &ch, "chain: only with action 'chain'");
	return 0;
}

static int cfg_check_policy_cfg(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
				void *obj)
{
	const struct ctl_policy_cfg *pc = obj;
	struct cfg_at pp = cfg_key_at(at, vals, PC_PER_PORT);

	if (pc->default_same_vnet == CTL_ACT_CHAIN || pc->default_cross_vnet == CTL_ACT_CHAIN) {
		struct cfg_at d = cfg_key_at(at, vals, pc->default_same_vnet == CTL_ACT_CHAIN ?
						       PC_SAME : PC_CROSS);

		return cfg_report(c, &d, "%s: a default is allow or deny",
				  pc->default_same_vnet == CTL_ACT_CHAIN ? "default_same_vnet" :
									   "default_cross_vnet");
	}
	if (pc->cache_entries_per_port > pc->cache_entries)
		return cfg_report(c, &pp, "cache_entries_per_port: %u is more than cache_entries "
				  "(%u)", pc->cache_entries_per_port, pc->cache_entries);
	return 0;
}

/* The etcd section exactly when the backend is etcd. */
static int cfg_check_pservice(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			      void *obj)
{
	const struct ctl_policy_cfg *pc = obj;
	bool given = vals ? vals[PS_ETCD] != NULL : pc->n_etcd > 0;
	struct cfg_at e = cfg_key_at(at, vals, PS_ETCD);

	if (pc->backend == CTL_BACKEND_ETCD && pc->n_etcd == 0)
		return cfg_report(c, given ? &e : at, "backend etcd needs etcd.endpoints (at least "
				  "one http://HOST:PORT)");
	if (pc->backend != CTL_BACKEND_ETCD && given)
		return cfg_report(c, &e, "etcd: only with backend etcd");
	return 0;
}

/* http://HOST:PORT, HOST a name, an IPv4 address or [IPv6]. */
static bool cfg_url_ok(const char *u)
{
	const char *h = u + 7, *colon;
	char *end;
	unsigned long port;

	if (strncmp(u, "http://", 7))
		return false;
	if (*h == '[') {
		const char *close = strchr(h, ']');
		char v6[INET6_ADDRSTRLEN];
		struct in6_addr a;

		if (close == NULL || close - h - 1 <= 0 || close - h - 1 >= (long)sizeof(v6))
			return false;
		memcpy(v6, h + 1, (size_t)(close - h - 1));
		v6[close - h - 1] = '\0';
		if (inet_pton(AF_INET6, v6, &a) != 1)
			return false;
		colon = close + 1;
		if (*colon != ':')
			return false;
	} else {
		colon = strrchr(h, ':');
		if (colon == NULL || colon == h ||
		    strspn(h, ALNUM_CHARS ".-") != (size_t)(colon - h))
			return false;
	}
	if (!isdigit((unsigned char)colon[1]))
		return false;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	return *end == '\0' && errno == 0 && port >= 1 && port <= 65535;
}

static int cfg_check_etcd(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
			  void *obj)
{
	const struct ctl_policy_cfg *pc = obj;
	struct cfg_at ep = cfg_key_at(at, vals, ET_ENDPOINTS), pf = cfg_key_at(at, vals, ET_PREFIX);
	size_t len = strnlen(pc->etcd_prefix, sizeof(pc->etcd_prefix));

	for (unsigned i = 0; i < pc->n_etcd && i < CTL_MAX_ETCD; i++) {
		struct cfg_at item = cfg_at_item(c, &ep, i);

		if (!cfg_url_ok(pc->etcd[i]))
			return cfg_report(c, &item, "endpoints: '%.*s' is not http://HOST:PORT",
					  CTL_URL_MAX - 1, pc->etcd[i]);
	}
	if (len == 0 || len == sizeof(pc->etcd_prefix))
		return 0;   /* the key's own rules say why */
	if (pc->etcd_prefix[0] != '/' || (len > 1 && pc->etcd_prefix[len - 1] == '/') || len == 1)
		return cfg_report(c, &pf, "prefix: '%s' must start with '/' and not end with one",
				  pc->etcd_prefix);
	return 0;
}


/* ---- schema ------------------------------------------------------------ */

#define ALNUM ALNUM_CHARS
static const struct cfg_charset cfg_name_chars = { ALNUM "_.-", "letters, digits, '_', '.', '-'" };
static const struct cfg_charset cfg_prefix_chars = { ALNUM "_-", "letters, digits, '_', '-'" };
static const struct cfg_charset cfg_key_prefix_chars = { ALNUM "/_.-",
							 "letters, digits, '/', '_', '.', '-'" };
static const struct cfg_charset cfg_url_chars = {
	ALNUM ":/[]._-", "letters, digits, ':', '/', '[', ']', '.', '_', '-'"
};
static const char *const cfg_actions[] = {
	[CTL_ACT_ALLOW] = "allow", [CTL_ACT_DENY] = "deny", [CTL_ACT_CHAIN] = "chain", NULL,
};
static const char *const cfg_backends[] = {
	[CTL_BACKEND_YAML] = "yaml", [CTL_BACKEND_ETCD] = "etcd", NULL,
};
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
#define LOC(st) .elem_size = sizeof(st), .loc_name = offsetof(st, name), \
	.loc_file = offsetof(st, file), .loc_line = offsetof(st, line), .loc_col = offsetof(st, col)
#define MODEL(st) .model = true, .loc_origin = offsetof(st, origin)
#define REF(st, f) FIELD(st, f), .chars = &cfg_name_chars   /* optional name of another object */

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
	/* "" (min 0) turns persistence off. */
	{ K("state_dir", CFG_PATH), FIELD(struct ctl_config, state_dir),
	  .def_str = "/var/lib/dpdk-vswitch" },
	/* service definitions registered at start when the catalog is empty; "" = none */
	{ K("services_dir", CFG_PATH), FIELD(struct ctl_config, services_dir) },
};
static const struct cfg_table cfg_control = TABLE("control", cfg_control_keys, NULL);

static const struct cfg_key cfg_vxlan_keys[] = {
	{ K("udp_port", CFG_INT), FIELD(struct ctl_config, vxlan_port), .min = 1, .max = 65535,
	  .def = 4789 },
	/* false: VXLAN only from tunnel endpoints some endpoint lives behind */
	{ K("accept_any_source", CFG_BOOL), FIELD(struct ctl_config, vxlan_any_source), .def = 0 },
};
static const struct cfg_table cfg_vxlan = TABLE("vxlan", cfg_vxlan_keys, NULL);

static const struct cfg_key cfg_neigh_keys[] = {
	{ K("ip", CFG_IPV4), FIELD(struct ctl_neighbor, ip), .required = true },
	{ K("mac", CFG_MAC), FIELD(struct ctl_neighbor, mac), .required = true },
};
static const struct cfg_table cfg_neigh = TABLE("neighbor", cfg_neigh_keys, cfg_check_neighbor);
static const struct cfg_list cfg_neigh_list = {
	.elem = &cfg_neigh, .slot = CFG_S_NEIGH, LOC(struct ctl_neighbor),
};

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
	[PP_NEIGH] = { K("neighbors", CFG_LIST), ITEMS(struct ctl_phys_port, neighbors, n_neighbors),
		       .sub = &cfg_neigh_list },
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
	{ K("mtu", CFG_INT), FIELD(struct ctl_vhost_port, mtu), .min = 68, .max = 9600, .def = 1500 },
	{ K("vm", CFG_STR), FIELD(struct ctl_vhost_port, vm) },
};
static const struct cfg_table cfg_vhost = TABLE("vhost port", cfg_vhost_keys, NULL);
static const struct cfg_list cfg_vhost_list = {
	.elem = &cfg_vhost, .slot = CFG_S_VHOST, LOC(struct ctl_vhost_port),
};

static const struct cfg_key cfg_vnet_keys[] = {
	[VN_NAME] = { NAME(struct ctl_vnet) },
	[VN_VNI] = { K("vni", CFG_INT), FIELD(struct ctl_vnet, vni), .min = 1, .max = 16777215,
		     .required = true },
	[VN_TENANT] = { K("tenant", CFG_STR), REF(struct ctl_vnet, tenant) },
	[VN_SUBNETS] = { K("subnets", CFG_SUBNETS), ITEMS(struct ctl_vnet, subnets, n_subnets),
			 .off2 = offsetof(struct ctl_vnet, gateways) },
	[VN_FLOOD] = { K("flood", CFG_BOOL), FIELD(struct ctl_vnet, flood) },
};
static const struct cfg_table cfg_vnet = TABLE("virtual network", cfg_vnet_keys, cfg_check_vnet);
static const struct cfg_list cfg_vnet_list = {
	.elem = &cfg_vnet, .slot = CFG_S_VNET, LOC(struct ctl_vnet), .dynamic = true,
	MODEL(struct ctl_vnet),
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
	[EP_GROUPS] = { K("groups", CFG_STR_LIST), ITEMS(struct ctl_endpoint, groups, n_groups),
			.min = 1, .chars = &cfg_name_chars },
};
static const struct cfg_table cfg_ep = TABLE("endpoint", cfg_ep_keys, cfg_check_endpoint);
static const struct cfg_list cfg_ep_list = {
	.elem = &cfg_ep, .slot = CFG_S_EP, LOC(struct ctl_endpoint), .dynamic = true,
	MODEL(struct ctl_endpoint),
};

static const struct cfg_key cfg_tenant_keys[] = {
	{ NAME(struct ctl_tenant) },
};
static const struct cfg_table cfg_tenant = TABLE("tenant", cfg_tenant_keys, NULL);
static const struct cfg_list cfg_tenant_list = {
	.elem = &cfg_tenant, .slot = CFG_S_TENANT, LOC(struct ctl_tenant), .dynamic = true,
	MODEL(struct ctl_tenant),
};

static const struct cfg_key cfg_group_keys[] = {
	{ NAME(struct ctl_group) },
	{ K("tenant", CFG_STR), REF(struct ctl_group, tenant) },
};
static const struct cfg_table cfg_group = TABLE("group", cfg_group_keys, NULL);
static const struct cfg_list cfg_group_list = {
	.elem = &cfg_group, .slot = CFG_S_GROUP, LOC(struct ctl_group), .dynamic = true,
	MODEL(struct ctl_group),
};

static const struct cfg_key cfg_policy_keys[] = {
	[PO_NAME] = { NAME(struct ctl_policy) },
	[PO_TENANT] = { K("tenant", CFG_STR), REF(struct ctl_policy, tenant) },
	[PO_FROM] = { K("from", CFG_SELECTOR), FIELD(struct ctl_policy, from),
		      .aux = offsetof(struct ctl_policy, name), .required = true },
	[PO_TO] = { K("to", CFG_SELECTOR), FIELD(struct ctl_policy, to),
		    .aux = offsetof(struct ctl_policy, name), .required = true },
	[PO_ACTION] = { K("action", CFG_ENUM), FIELD(struct ctl_policy, action), .names = cfg_actions,
			.required = true },
	[PO_CHAIN] = { K("chain", CFG_STR), REF(struct ctl_policy, chain) },
	[PO_PRIORITY] = { K("priority", CFG_INT), FIELD(struct ctl_policy, priority),
			  .min = -1000000, .max = 1000000 },
};
static const struct cfg_table cfg_policy = {
	.what = "policy", .keys = cfg_policy_keys, .n_keys = ARRAY_SIZE(cfg_policy_keys),
	.check = cfg_check_policy, .physical = cfg_physical_keys,
};
static const struct cfg_list cfg_policy_list = {
	.elem = &cfg_policy, .slot = CFG_S_POLICY, LOC(struct ctl_policy), .dynamic = true,
	MODEL(struct ctl_policy),
};

/* live: changed without a restart.  The decision cache's size and the
 * notification socket are set up once. */
static const struct cfg_key cfg_policy_cfg_keys[] = {
	[PC_SAME] = { K("default_same_vnet", CFG_ENUM), FIELD(struct ctl_policy_cfg, default_same_vnet),
		      .names = cfg_actions, .def = CTL_ACT_ALLOW, .live = true },
	[PC_CROSS] = { K("default_cross_vnet", CFG_ENUM),
		       FIELD(struct ctl_policy_cfg, default_cross_vnet), .names = cfg_actions,
		       .def = CTL_ACT_DENY, .live = true },
	[PC_GWMAC] = { K("gateway_mac", CFG_MAC), FIELD(struct ctl_policy_cfg, gateway_mac),
		       .def_str = "02:00:5e:00:01:01", .live = true },
	[PC_CACHE] = { K("cache_entries", CFG_INT), FIELD(struct ctl_policy_cfg, cache_entries),
		       .min = 1024, .max = 16777216, .def = 65536 },
	[PC_PER_PORT] = { K("cache_entries_per_port", CFG_INT),
			  FIELD(struct ctl_policy_cfg, cache_entries_per_port), .min = 16,
			  .max = 16777216, .def = 16384 },
	[PC_HOLD] = { K("miss_hold_ms", CFG_INT), FIELD(struct ctl_policy_cfg, miss_hold_ms),
		      .max = 5000, .def = 200, .live = true },
	[PC_MISSES] = { K("misses_per_port_per_s", CFG_INT),
			FIELD(struct ctl_policy_cfg, misses_per_port_per_s), .min = 1,
			.max = 1000000, .def = 1000, .live = true },
	[PC_NOTIFY] = { K("notify_port", CFG_INT), FIELD(struct ctl_policy_cfg, notify_port),
			.min = 1, .max = 65535, .def = 4799 },
	[PC_INTERVAL] = { K("notify_interval_ms", CFG_INT),
			  FIELD(struct ctl_policy_cfg, notify_interval_ms), .max = 60000,
			  .def = 1000, .live = true },
};
static const struct cfg_table cfg_policy_cfg = TABLE("policy", cfg_policy_cfg_keys,
						     cfg_check_policy_cfg);

static const struct cfg_key cfg_etcd_keys[] = {
	[ET_ENDPOINTS] = { K("endpoints", CFG_STR_LIST), .off = offsetof(struct ctl_policy_cfg, etcd),
			   .size = CTL_URL_MAX, .aux = offsetof(struct ctl_policy_cfg, n_etcd),
			   .max_n = CTL_MAX_ETCD, .min = 1, .chars = &cfg_url_chars,
			   .required = true },
	[ET_PREFIX] = { K("prefix", CFG_STR), FIELD(struct ctl_policy_cfg, etcd_prefix), .min = 1,
			.chars = &cfg_key_prefix_chars, .def_str = "/dpdk-vswitch" },
	[ET_TTL] = { K("lease_ttl", CFG_INT), FIELD(struct ctl_policy_cfg, lease_ttl_s), .min = 2,
		     .max = 3600, .def = 5 },
	[ET_TIMEOUT] = { K("timeout_ms", CFG_INT), FIELD(struct ctl_policy_cfg, etcd_timeout_ms),
			 .min = 100, .max = 60000, .def = 1000 },
};
static const struct cfg_table cfg_etcd = TABLE("policy_service.etcd", cfg_etcd_keys,
					       cfg_check_etcd);

static const struct cfg_key cfg_pservice_keys[] = {
	[PS_BACKEND] = { K("backend", CFG_ENUM), FIELD(struct ctl_policy_cfg, backend),
			 .names = cfg_backends, .def = CTL_BACKEND_YAML },
	/* etcd keys live directly in struct ctl_policy_cfg. */
	[PS_ETCD] = { K("etcd", CFG_SECTION), .off = 0, .sub = &cfg_etcd },
};
static const struct cfg_table cfg_pservice = TABLE("policy_service", cfg_pservice_keys,
						   cfg_check_pservice);

/* The sections changed at run time: in the configuration file and, with the
 * same tables, in the state file.  @st is the struct holding them, @f its
 * path to the struct ctl_config fields. */
/* tenants, groups and policies came later: a state file without them is
 * still read, and then keeps the configuration's (ctl_config_load_state). */
#define CFG_LIVE_KEYS(st, f, req)                                                                  \
	{ K("vhost_ports", CFG_LIST), .off = offsetof(st, f vhost),                                \
	  .aux = offsetof(st, f n_vhost), .max_n = CTL_MAX_VHOST, .sub = &cfg_vhost_list,          \
	  .live = true, .required = (req) },                                                       \
	{ K("tenants", CFG_LIST), .off = offsetof(st, f tenants),                                  \
	  .aux = offsetof(st, f n_tenants), .sub = &cfg_tenant_list, .live = true },               \
	{ K("virtual_networks", CFG_LIST), .off = offsetof(st, f vnets),                           \
	  .aux = offsetof(st, f n_vnets), .max_n = CTL_MAX_VNETS, .sub = &cfg_vnet_list,           \
	  .live = true, .required = (req) },                                                       \
	{ K("groups", CFG_LIST), .off = offsetof(st, f groups),                                    \
	  .aux = offsetof(st, f n_groups), .sub = &cfg_group_list, .live = true },                 \
	{ K("endpoints", CFG_LIST), .off = offsetof(st, f endpoints),                              \
	  .aux = offsetof(st, f n_endpoints), .sub = &cfg_ep_list, .live = true,                   \
	  .required = (req) },                                                                     \
	{ K("policies", CFG_LIST), .off = offsetof(st, f policies),                                \
	  .aux = offsetof(st, f n_policies), .sub = &cfg_policy_list, .live = true }

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
	CFG_LIVE_KEYS(struct ctl_config, , false),
	{ K("policy", CFG_SECTION), .off = offsetof(struct ctl_config, policy),
	  .sub = &cfg_policy_cfg },
	{ K("policy_service", CFG_SECTION), .off = offsetof(struct ctl_config, policy),
	  .sub = &cfg_pservice },
};
static const struct cfg_table cfg_top = TABLE("configuration", cfg_top_keys, NULL);

/* What a state file fills: a candidate configuration and the version. */
struct cfg_state {
	struct ctl_config cfg;
	unsigned version;
};

/* Every section is required so that a file cut short between two of them
 * is not read as "no endpoints". */
static const struct cfg_key cfg_state_keys[] = {
	{ K("state_version", CFG_INT), FIELD(struct cfg_state, version), .max = 1000000,
	  .required = true },
	CFG_LIVE_KEYS(struct cfg_state, cfg., true),
};
static const struct cfg_table cfg_state_table = TABLE("state file", cfg_state_keys,
						      cfg_check_state_version);

static int cfg_check_state_version(struct cfg_ctx *c, const struct cfg_at *at, yaml_node_t **vals,
				   void *obj)
{
	const struct cfg_state *st = obj;
	struct cfg_at v = cfg_key_at(at, vals, 0);

	if (st->version != CFG_STATE_VERSION)
		return cfg_report(c, &v, "state_version: %u is not supported (expected %d)",
				  st->version, CFG_STATE_VERSION);
	return 0;
}

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
	struct cfg_at at = { .node = cfg_get(c, cfg_get(c, c->root, "workers"), "lcores"),
			     .what = "workers" };
	size_t len;

	for (unsigned i = 0; i < cfg->workers.n_lcores; i++)
		if (cfg->workers.lcores[i] == eal->main_lcore) {
			struct cfg_at item = cfg_at_item(c, &at, i);

			return cfg_report(c, &item,
					  "lcores: lcore %u is the main lcore (eal.main_lcore)",
					  eal->main_lcore);
		}
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

static enum cfg_slot cfg_port_slot(const struct ctl_config *cfg, unsigned *i)
{
	if (*i < cfg->n_phys)
		return CFG_S_PHYS;
	*i -= cfg->n_phys;
	return CFG_S_VHOST;
}

static int cfg_check_ports(struct cfg_ctx *c)
{
	struct ctl_config *cfg = c->cfg;
	unsigned n = cfg->n_phys + cfg->n_vhost;
	char first[64];

	/* At most CTL_MAX_PHYS + CTL_MAX_VHOST names: pairwise is fine. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = 0; j < i; j++) {
			unsigned ii = i, jj = j;
			enum cfg_slot si, sj;
			struct cfg_at at;

			if (strcmp(cfg_port_name(cfg, i), cfg_port_name(cfg, j)))
				continue;
			si = cfg_port_slot(cfg, &ii);
			sj = cfg_port_slot(cfg, &jj);
			at = cfg_elem_at(c, si, ii, "name", CFG_NO_ITEM);
			return cfg_report(c, &at, "name: duplicate port name '%s'%s",
					  cfg_port_name(cfg, i),
					  cfg_first(c, sj, jj, si, first, sizeof(first)));
		}
	for (unsigned i = 1; i < cfg->n_phys; i++) {
		char a[INET_ADDRSTRLEN];

		for (unsigned j = 0; j < i; j++) {
			struct cfg_at at;

			if (cfg->phys[i].ip != cfg->phys[j].ip)
				continue;
			cfg_v4_str(cfg->phys[i].ip, a);
			at = cfg_elem_at(c, CFG_S_PHYS, i, "ip", CFG_NO_ITEM);
			return cfg_report(c, &at, "ip: %s is already used by physical port '%s'", a,
					  cfg->phys[j].name);
		}
	}
	for (unsigned i = 0; i < cfg->n_vhost; i++) {
		struct cfg_at at = cfg_elem_at(c, CFG_S_VHOST, i, "socket", CFG_NO_ITEM);

		if (!strcmp(cfg->vhost[i].socket, cfg->ctl_socket))
			return cfg_report(c, &at, "socket: %s is also the control socket",
					  cfg->vhost[i].socket);
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(cfg->vhost[i].socket, cfg->vhost[j].socket))
				return cfg_report(c, &at,
						  "socket: %s is already used by vhost port '%s'",
						  cfg->vhost[i].socket, cfg->vhost[j].name);
	}
	return 0;
}

static int cfg_check_vnets(struct cfg_ctx *c, struct cfg_ref *refs)
{
	struct ctl_config *cfg = c->cfg;
	const struct cfg_ref *first, *dup;
	struct cfg_at at;
	char line[64];
	uint32_t vni;

	for (unsigned i = 0; i < cfg->n_vnets; i++) {
		memset(&refs[i], 0, sizeof(refs[i]));
		vni = cfg->vnets[i].vni;
		memcpy(refs[i].key, &vni, sizeof(vni));
		refs[i].idx = i;
	}
	if (cfg_find_dup(refs, cfg->n_vnets, &first, &dup)) {
		at = cfg_elem_at(c, CFG_S_VNET, dup->idx, "vni", CFG_NO_ITEM);
		return cfg_report(c, &at, "vni: %u is already used by network '%s'",
				  cfg->vnets[dup->idx].vni, cfg->vnets[first->idx].name);
	}
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		refs[i] = (struct cfg_ref){ .name = cfg->vnets[i].name, .idx = i };
	if (cfg_find_dup(refs, cfg->n_vnets, &first, &dup)) {
		at = cfg_elem_at(c, CFG_S_VNET, dup->idx, "name", CFG_NO_ITEM);
		return cfg_report(c, &at, "name: duplicate virtual network name '%s'%s", dup->name,
				  cfg_first(c, CFG_S_VNET, first->idx, CFG_S_VNET, line,
					    sizeof(line)));
	}
	/* refs stays sorted by name for the endpoint pass. */
	return 0;
}

static int cfg_check_ep_subnets(struct cfg_ctx *c, unsigned i, const struct ctl_vnet *vn)
{
	const struct ctl_endpoint *ep = &c->cfg->endpoints[i];
	char buf[INET6_ADDRSTRLEN + 32];
	unsigned s;

	for (unsigned j = 0; vn->n_subnets && j < ep->n_ips; j++) {
		struct cfg_at at;

		for (s = 0; s < vn->n_subnets; s++)
			if (cfg_prefix_has(&vn->subnets[s], &ep->ips[j]))
				break;
		if (s < vn->n_subnets)
			continue;
		cfg_ip_str(&ep->ips[j], buf, sizeof(buf));
		at = cfg_elem_at(c, CFG_S_EP, i, "ips", j);
		return cfg_report(c, &at, "ips: %s is not inside any subnet of network '%s'", buf,
				  vn->name);
	}
	return 0;
}

/* A local endpoint's vhost port exists and serves no other endpoint. */
static int cfg_check_ep_port(struct cfg_ctx *c, unsigned i, const struct cfg_ref *vh, long *bound)
{
	const struct ctl_config *cfg = c->cfg;
	const struct ctl_endpoint *ep = &cfg->endpoints[i];
	struct cfg_at at = cfg_elem_at(c, CFG_S_EP, i, "port", CFG_NO_ITEM);
	long pi = cfg_lookup(vh, cfg->n_vhost, ep->port);

	if (pi < 0) {
		for (unsigned p = 0; p < cfg->n_phys; p++)
			if (!strcmp(cfg->phys[p].name, ep->port))
				return cfg_report(c, &at, "port: '%s' is a physical port; "
						  "endpoints attach to vhost ports", ep->port);
		return cfg_report(c, &at, "port: no vhost port named '%s'", ep->port);
	}
	if (bound[pi] >= 0)
		return cfg_report(c, &at,
				  "port: vhost port '%s' is already bound to endpoint '%s'",
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
		struct cfg_at at;

		if (ep->tep != cfg->phys[p].ip)
			continue;
		cfg_v4_str(ep->tep, buf);
		at = cfg_elem_at(c, CFG_S_EP, i, "tep", CFG_NO_ITEM);
		return cfg_report(c, &at,
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

		if (vi < 0) {
			struct cfg_at at = cfg_elem_at(c, CFG_S_EP, i, "vnet", CFG_NO_ITEM);

			return cfg_report(c, &at, "vnet: no virtual network named '%s'", ep->vnet);
		}
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
/* Endpoint names globally; MACs within each network; IPv4 addresses within
 * each routing domain (a tenant's networks, or one network without a
 * tenant), IPv6 ones within each network. */
static int cfg_check_ep_unique(struct cfg_ctx *c, const uint32_t *ep_vnet, const long *vnet_tenant)
{
	struct ctl_config *cfg = c->cfg;
	const struct cfg_ref *first, *dup;
	struct cfg_ref *refs;
	struct cfg_at at;
	size_t n = 0;
	char buf[INET6_ADDRSTRLEN], line[64];
	unsigned bits;
	int rc = 0;

	for (unsigned i = 0; i < cfg->n_endpoints; i++)
		n += cfg->endpoints[i].n_ips;
	if (n < cfg->n_endpoints)
		n = cfg->n_endpoints;
	if ((refs = malloc((n + 1) * sizeof(*refs))) == NULL)
		return cfg_oom(c);

	for (unsigned i = 0; i < cfg->n_endpoints; i++)
		refs[i] = (struct cfg_ref){ .name = cfg->endpoints[i].name, .idx = i };
	if (cfg_find_dup(refs, cfg->n_endpoints, &first, &dup)) {
		at = cfg_elem_at(c, CFG_S_EP, dup->idx, "name", CFG_NO_ITEM);
		rc = cfg_report(c, &at, "name: duplicate endpoint name '%s'%s", dup->name,
				cfg_first(c, CFG_S_EP, first->idx, CFG_S_EP, line, sizeof(line)));
		goto out;
	}

	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		refs[i] = (struct cfg_ref){ .grp = ep_vnet[i], .idx = i };
		memcpy(refs[i].key, cfg->endpoints[i].mac, 6);
	}
	if (cfg_find_dup(refs, cfg->n_endpoints, &first, &dup)) {
		const uint8_t *m = dup->key;

		at = cfg_elem_at(c, CFG_S_EP, dup->idx, "mac", CFG_NO_ITEM);
		rc = cfg_report(c, &at,
				"mac: %02x:%02x:%02x:%02x:%02x:%02x is already used in network "
				"'%s' by endpoint '%s'", m[0], m[1], m[2], m[3], m[4], m[5],
				cfg->vnets[dup->grp].name, cfg->endpoints[first->idx].name);
		goto out;
	}

	n = 0;
	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		const struct ctl_endpoint *ep = &cfg->endpoints[i];

		for (unsigned j = 0; j < ep->n_ips; j++, n++) {
			const uint8_t *a = cfg_ip_bytes(&ep->ips[j], &bits);

			uint32_t dom = ep_vnet[i];

			/* Tenant domains are numbered after the networks. */
			if (ep->ips[j].family == AF_INET && vnet_tenant[dom] >= 0)
				dom = cfg->n_vnets + (uint32_t)vnet_tenant[dom];
			refs[n] = (struct cfg_ref){ .grp = dom, .idx = i, .sub = j };
			refs[n].key[0] = ep->ips[j].family;
			memcpy(refs[n].key + 1, a, bits / 8);
		}
	}
	if (cfg_find_dup(refs, n, &first, &dup)) {
		const struct ctl_endpoint *ep = &cfg->endpoints[dup->idx];
		const struct ctl_vnet *fv = &cfg->vnets[ep_vnet[first->idx]];

		inet_ntop(ep->ips[dup->sub].family, dup->key + 1, buf, sizeof(buf));
		at = cfg_elem_at(c, CFG_S_EP, dup->idx, "ips", dup->sub);
		if (ep_vnet[first->idx] == ep_vnet[dup->idx])
			rc = cfg_report(c, &at, "ips: %s is already used in network '%s' by "
					"endpoint '%s'", buf, fv->name,
					cfg->endpoints[first->idx].name);
		else
			rc = cfg_report(c, &at, "ips: %s is already used in tenant '%s' by endpoint "
					"'%s' (network '%s')", buf, fv->tenant,
					cfg->endpoints[first->idx].name, fv->name);
	}
out:
	free(refs);
	return rc;
}

/* ---- cross-checks of the logical model ------------------------------------ */

/* Names of list @slot are unique; @refs (n + 1 entries) stays sorted by name. */
static int cfg_check_names(struct cfg_ctx *c, enum cfg_slot slot, unsigned n, struct cfg_ref *refs)
{
	const struct cfg_ref *first, *dup;
	struct cfg_at at;
	char line[64];

	for (unsigned i = 0; i < n; i++)
		refs[i] = (struct cfg_ref){ .name = cfg_elem_name(c->cfg, slot, i), .idx = i };
	if (!cfg_find_dup(refs, n, &first, &dup))
		return 0;
	at = cfg_elem_at(c, slot, dup->idx, "name", CFG_NO_ITEM);
	return cfg_report(c, &at, "name: duplicate %s name '%s'%s", cfg_slot_what[slot], dup->name,
			  cfg_first(c, slot, first->idx, slot, line, sizeof(line)));
}

/* The `tenant` of element @i of @slot names a tenant; its index in *@ti, or -1. */
static int cfg_check_tenant_ref(struct cfg_ctx *c, enum cfg_slot slot, unsigned i,
				const char *tenant, const struct cfg_ref *tenants, long *ti)
{
	struct cfg_at at;

	*ti = -1;
	if (tenant[0] == '\0' || (*ti = cfg_lookup(tenants, c->cfg->n_tenants, tenant)) >= 0)
		return 0;
	at = cfg_elem_at(c, slot, i, "tenant", CFG_NO_ITEM);
	return cfg_report(c, &at, "tenant: no tenant named '%s'", tenant);
}

/* The networks of one tenant form one routing domain (D10): no two of them
 * may hold overlapping subnets.  Sorted by address, a subnet inside any
 * earlier one is inside the last one that was inside none. */
static int cfg_check_overlap(struct cfg_ctx *c, const long *vnet_tenant)
{
	struct ctl_config *cfg = c->cfg;
	struct cfg_ref *refs;
	size_t n = 0;
	long top = -1;
	int rc = 0;

	for (unsigned v = 0; v < cfg->n_vnets; v++)
		if (vnet_tenant[v] >= 0)
			n += cfg->vnets[v].n_subnets;
	if (n == 0)
		return 0;
	if ((refs = malloc(n * sizeof(*refs))) == NULL)
		return cfg_oom(c);
	n = 0;
	for (unsigned v = 0; v < cfg->n_vnets; v++) {
		const struct ctl_vnet *vn = &cfg->vnets[v];

		for (unsigned s = 0; vnet_tenant[v] >= 0 && s < vn->n_subnets; s++, n++) {
			unsigned bits;
			const uint8_t *a = cfg_ip_bytes(&vn->subnets[s].addr, &bits);

			refs[n] = (struct cfg_ref){ .grp = (uint32_t)vnet_tenant[v], .idx = v,
						    .sub = s };
			refs[n].key[0] = vn->subnets[s].addr.family;
			memcpy(refs[n].key + 1, a, bits / 8);
			refs[n].key[17] = vn->subnets[s].len;
		}
	}
	qsort(refs, n, sizeof(*refs), cfg_ref_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct cfg_ref *r = &refs[i], *t = top >= 0 ? &refs[top] : NULL;
		const struct ctl_vnet *tv, *rv = &cfg->vnets[r->idx];
		const struct cfg_ref *later;
		char a[INET6_ADDRSTRLEN + 32], b[INET6_ADDRSTRLEN + 32];
		struct cfg_at at;

		if (t == NULL || t->grp != r->grp ||
		    !cfg_prefix_has(&cfg->vnets[t->idx].subnets[t->sub], &rv->subnets[r->sub].addr)) {
			top = (long)i;
			continue;
		}
		if (t->idx == r->idx)
			continue;   /* within one network: not a routing question */
		tv = &cfg->vnets[t->idx];
		later = t->idx > r->idx ? t : r;
		cfg_ip_str(&rv->subnets[r->sub].addr, a, sizeof(a));
		cfg_ip_str(&tv->subnets[t->sub].addr, b, sizeof(b));
		at = cfg_elem_at(c, CFG_S_VNET, later->idx, "subnets", later->sub);
		if (later == r)
			rc = cfg_report(c, &at, "subnets: %s/%u overlaps %s/%u of network '%s' (both "
					"in tenant '%s')", a, rv->subnets[r->sub].len, b,
					tv->subnets[t->sub].len, tv->name, rv->tenant);
		else
			rc = cfg_report(c, &at, "subnets: %s/%u overlaps %s/%u of network '%s' (both "
					"in tenant '%s')", b, tv->subnets[t->sub].len, a,
					rv->subnets[r->sub].len, rv->name, rv->tenant);
		break;
	}
	free(refs);
	return rc;
}

/* Tenants and groups: unique names, tenant references. */
static int cfg_check_model(struct cfg_ctx *c, struct cfg_ref *tenants, struct cfg_ref *groups,
			   long *vnet_tenant)
{
	struct ctl_config *cfg = c->cfg;
	long ti;
	int rc;

	if ((rc = cfg_check_names(c, CFG_S_TENANT, cfg->n_tenants, tenants)) ||
	    (rc = cfg_check_names(c, CFG_S_GROUP, cfg->n_groups, groups)))
		return rc;
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		if ((rc = cfg_check_tenant_ref(c, CFG_S_VNET, i, cfg->vnets[i].tenant, tenants,
					       &vnet_tenant[i])))
			return rc;
	for (unsigned i = 0; i < cfg->n_groups; i++)
		if ((rc = cfg_check_tenant_ref(c, CFG_S_GROUP, i, cfg->groups[i].tenant, tenants,
					       &ti)))
			return rc;
	return cfg_check_overlap(c, vnet_tenant);
}

/* Every group an endpoint lists exists, once. */
static int cfg_check_ep_groups(struct cfg_ctx *c, const struct cfg_ref *groups)
{
	struct ctl_config *cfg = c->cfg;

	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		const struct ctl_endpoint *ep = &cfg->endpoints[i];

		for (unsigned j = 0; j < ep->n_groups && j < CTL_MAX_EP_GROUPS; j++) {
			struct cfg_at at = cfg_elem_at(c, CFG_S_EP, i, "groups", j);

			if (cfg_lookup(groups, cfg->n_groups, ep->groups[j]) < 0)
				return cfg_report(c, &at, "groups: no group named '%s'",
						  ep->groups[j]);
			for (unsigned k = 0; k < j; k++)
				if (!strcmp(ep->groups[k], ep->groups[j]))
					return cfg_report(c, &at, "groups: '%s' is listed twice",
							  ep->groups[j]);
		}
	}
	return 0;
}

/* A group or network a selector names exists; a VM may live on another host. */
static int cfg_check_selector_ref(struct cfg_ctx *c, unsigned i, const char *side,
				  const struct ctl_selector *s, const struct cfg_ref *vnets,
				  const struct cfg_ref *groups)
{
	const struct ctl_config *cfg = c->cfg;
	struct cfg_at at;
	yaml_node_t *v;

	if (s->kind == CTL_SEL_VNET ? cfg_lookup(vnets, cfg->n_vnets, s->name) >= 0 :
	    s->kind == CTL_SEL_GROUP ? cfg_lookup(groups, cfg->n_groups, s->name) >= 0 : true)
		return 0;
	at = cfg_elem_at(c, CFG_S_POLICY, i, side, CFG_NO_ITEM);
	if (at.node && (v = cfg_get(c, at.node, cfg_sel_kinds[s->kind])) != NULL)
		at.node = v;
	return cfg_report(c, &at, "%s: no %s named '%s'", side,
			  s->kind == CTL_SEL_VNET ? "virtual network" : "group", s->name);
}

static int cfg_check_policies(struct cfg_ctx *c, const struct cfg_ref *vnets,
			      const struct cfg_ref *tenants, const struct cfg_ref *groups)
{
	struct ctl_config *cfg = c->cfg;
	struct cfg_ref *refs = malloc((cfg->n_policies + 1) * sizeof(*refs));
	long ti;
	int rc;

	if (refs == NULL)
		return cfg_oom(c);
	rc = cfg_check_names(c, CFG_S_POLICY, cfg->n_policies, refs);
	free(refs);
	for (unsigned i = 0; rc == 0 && i < cfg->n_policies; i++) {
		const struct ctl_policy *po = &cfg->policies[i];

		if ((rc = cfg_check_tenant_ref(c, CFG_S_POLICY, i, po->tenant, tenants, &ti)) == 0 &&
		    (rc = cfg_check_selector_ref(c, i, "from", &po->from, vnets, groups)) == 0)
			rc = cfg_check_selector_ref(c, i, "to", &po->to, vnets, groups);
	}
	return rc;
}

/* Switch-to-switch notifications and VXLAN cannot share a UDP port. */
static int cfg_check_notify(struct cfg_ctx *c)
{
	struct cfg_at at = { .node = cfg_get(c, cfg_get(c, c->root, "policy"), "notify_port"),
			     .what = "policy" };

	if (c->cfg->policy.notify_port != c->cfg->vxlan_port)
		return 0;
	return cfg_report(c, &at, "notify_port: %u is also vxlan.udp_port",
			  c->cfg->policy.notify_port);
}

static int cfg_cross_check(struct cfg_ctx *c)
{
	struct ctl_config *cfg = c->cfg;
	struct cfg_ref *vnets = NULL, *tenants = NULL, *groups = NULL;
	uint32_t *ep_vnet = NULL;
	long *vnet_tenant = NULL;
	int rc;

	if ((rc = cfg_check_lcores(c)) || (rc = cfg_check_ports(c)) || (rc = cfg_check_notify(c)))
		return rc;
	vnets = malloc((cfg->n_vnets + 1) * sizeof(*vnets));
	ep_vnet = malloc((cfg->n_endpoints + 1) * sizeof(*ep_vnet));
	tenants = malloc((cfg->n_tenants + 1) * sizeof(*tenants));
	groups = malloc((cfg->n_groups + 1) * sizeof(*groups));
	vnet_tenant = malloc((cfg->n_vnets + 1) * sizeof(*vnet_tenant));
	if (vnets == NULL || ep_vnet == NULL || tenants == NULL || groups == NULL ||
	    vnet_tenant == NULL) {
		rc = cfg_oom(c);
		goto out;
	}
	if ((rc = cfg_check_vnets(c, vnets)) ||
	    (rc = cfg_check_model(c, tenants, groups, vnet_tenant)) ||
	    (rc = cfg_check_ep_refs(c, vnets, ep_vnet)) || (rc = cfg_check_ep_groups(c, groups)) ||
	    (rc = cfg_check_ep_unique(c, ep_vnet, vnet_tenant)))
		goto out;
	rc = cfg_check_policies(c, vnets, tenants, groups);
out:
	free(vnets);
	free(ep_vnet);
	free(tenants);
	free(groups);
	free(vnet_tenant);
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
	else if ((rc = cfg_parse_map(&c, &cfg_top, c.root, cfg, NULL)) == 0)
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
	free(cfg->tenants);
	free(cfg->groups);
	free(cfg->policies);
	free(cfg->file);
	free(cfg);
}

/* Element positions name the file their configuration came from. */
static void cfg_set_file(struct ctl_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_phys && i < CTL_MAX_PHYS; i++) {
		cfg->phys[i].file = cfg->file;
		for (unsigned j = 0; j < cfg->phys[i].n_neighbors && j < CTL_MAX_NEIGHBORS; j++)
			cfg->phys[i].neighbors[j].file = cfg->file;
	}
	for (unsigned i = 0; i < cfg->n_vhost && i < CTL_MAX_VHOST; i++)
		cfg->vhost[i].file = cfg->file;
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		cfg->vnets[i].file = cfg->file;
	for (unsigned i = 0; i < cfg->n_endpoints; i++)
		cfg->endpoints[i].file = cfg->file;
	for (unsigned i = 0; i < cfg->n_tenants; i++)
		cfg->tenants[i].file = cfg->file;
	for (unsigned i = 0; i < cfg->n_groups; i++)
		cfg->groups[i].file = cfg->file;
	for (unsigned i = 0; i < cfg->n_policies; i++)
		cfg->policies[i].file = cfg->file;
}

static void *cfg_memdup(const void *src, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	if ((p = malloc(n * size)) != NULL)
		memcpy(p, src, n * size);
	return p;
}

struct ctl_config *ctl_config_dup(const struct ctl_config *cfg)
{
	struct ctl_config *d;

	if (cfg == NULL || (cfg->n_vnets && cfg->vnets == NULL) ||
	    (cfg->n_endpoints && cfg->endpoints == NULL) ||
	    (cfg->n_tenants && cfg->tenants == NULL) || (cfg->n_groups && cfg->groups == NULL) ||
	    (cfg->n_policies && cfg->policies == NULL)) {
		errno = EINVAL;
		return NULL;
	}
	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	*d = *cfg;
	d->file = cfg->file ? strdup(cfg->file) : NULL;
	d->vnets = cfg_memdup(cfg->vnets, cfg->n_vnets, sizeof(*cfg->vnets));
	d->endpoints = cfg_memdup(cfg->endpoints, cfg->n_endpoints, sizeof(*cfg->endpoints));
	d->tenants = cfg_memdup(cfg->tenants, cfg->n_tenants, sizeof(*cfg->tenants));
	d->groups = cfg_memdup(cfg->groups, cfg->n_groups, sizeof(*cfg->groups));
	d->policies = cfg_memdup(cfg->policies, cfg->n_policies, sizeof(*cfg->policies));
	if ((cfg->file && d->file == NULL) || (cfg->n_vnets && d->vnets == NULL) ||
	    (cfg->n_endpoints && d->endpoints == NULL) ||
	    (cfg->n_tenants && d->tenants == NULL) || (cfg->n_groups && d->groups == NULL) ||
	    (cfg->n_policies && d->policies == NULL)) {
		ctl_config_free(d);
		errno = ENOMEM;
		return NULL;
	}
	cfg_set_file(d);
	return d;
}

int ctl_config_validate(struct ctl_config *cfg, char *err, size_t errlen)
{
	struct cfg_ctx c = { .cfg = cfg, .err = err, .errlen = errlen };
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (cfg == NULL)
		return -EINVAL;
	c.file = cfg->file;
	/* Element rules first: the cross-checks rely on terminated names and
	 * known address families. */
	rc = cfg_check_obj(&c, &cfg_top, cfg, NULL);
	return rc ? rc : cfg_cross_check(&c);
}

/* ---- restart ----------------------------------------------------------- */

static int cfg_changed(const struct cfg_table *t, const char *name, const char *what,
		       const char *va, const char *vb, char *err, size_t errlen)
{
	if (err && errlen) {
		if (name)
			snprintf(err, errlen,
				 "%s '%.*s': %s changed (%s -> %s): a restart is needed", t->what,
				 CFG_NAME_LEN, name, what, va, vb);
		else
			snprintf(err, errlen, "%s: %s changed (%s -> %s): a restart is needed",
				 t->what, what, va, vb);
	}
	return -EINVAL;
}

/* First difference between @a and @b outside the live sections. */
static int cfg_diff(const struct cfg_table *t, const void *a, const void *b, const char *name,
		    char *err, size_t errlen)
{
	char va[4096], vb[4096];
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < t->n_keys; i++) {
		const struct cfg_key *k = &t->keys[i];
		const struct cfg_list *l = k->sub;
		const char *ea, *eb;
		unsigned na, nb;

		if (k->live)
			continue;
		switch (k->type) {
		case CFG_SECTION:
			rc = cfg_diff(k->sub, (const char *)a + k->off, (const char *)b + k->off,
				      NULL, err, errlen);
			break;
		case CFG_LIST:
			na = cfg_count(k, a);
			nb = cfg_count(k, b);
			if (na != nb) {
				char what[64];

				snprintf(what, sizeof(what), "number of %s", k->key);
				snprintf(va, sizeof(va), "%u", na);
				snprintf(vb, sizeof(vb), "%u", nb);
				return cfg_changed(t, name, what, va, vb, err, errlen);
			}
			ea = (const char *)a + k->off;
			eb = (const char *)b + k->off;
			if (l->dynamic) {   /* the field holds a pointer to the array */
				ea = *(const char *const *)ea;
				eb = *(const char *const *)eb;
			}
			if (k->max_n && na > k->max_n)
				na = k->max_n;
			for (unsigned j = 0; rc == 0 && j < na; j++, ea += l->elem_size,
				      eb += l->elem_size)
				rc = cfg_diff(l->elem, ea, eb, ea + l->loc_name, err, errlen);
			break;
		default:
			cfg_format_value(k, a, va, sizeof(va));
			cfg_format_value(k, b, vb, sizeof(vb));
			if (strcmp(va, vb))
				return cfg_changed(t, name, k->key, va, vb, err, errlen);
			break;
		}
	}
	return rc;
}

int ctl_config_restart_needed(const struct ctl_config *a, const struct ctl_config *b, char *err,
			      size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (a == NULL || b == NULL)
		return -EINVAL;
	return cfg_diff(&cfg_top, a, b, NULL, err, errlen);
}

/* ---- the state file ---------------------------------------------------- */

struct cfg_out {
	int fd;
	int err;   /* errno of the failed write, 0 if none */
};

static int cfg_write(void *data, unsigned char *buf, size_t size)
{
	struct cfg_out *o = data;

	while (size) {
		ssize_t n = write(o->fd, buf, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->err = n < 0 ? errno : EIO;
			return 0;
		}
		buf += n;
		size -= (size_t)n;
	}
	return 1;
}

static int cfg_emit_scalar(yaml_emitter_t *em, const char *s)
{
	yaml_event_t ev;
	/* MACs and IPv6 addresses: quoted as docs/config.md asks.  libyaml
	 * quotes anything else that would not read back as the same string. */
	yaml_scalar_style_t style = strchr(s, ':') ? YAML_SINGLE_QUOTED_SCALAR_STYLE :
						     YAML_ANY_SCALAR_STYLE;

	return yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s,
					    (int)strlen(s), 1, 1, style) &&
	       yaml_emitter_emit(em, &ev);
}

static int cfg_emit_seq(yaml_emitter_t *em, bool start, yaml_sequence_style_t style)
{
	yaml_event_t ev;

	if (start)
		return yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, style) &&
		       yaml_emitter_emit(em, &ev);
	return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

static int cfg_emit_map(yaml_emitter_t *em, bool start, yaml_mapping_style_t style)
{
	yaml_event_t ev;

	if (start)
		return yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, style) &&
		       yaml_emitter_emit(em, &ev);
	return yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

/* `any`, or {KIND: NAME}. */
static int cfg_emit_selector(yaml_emitter_t *em, const struct ctl_selector *s)
{
	char name[CTL_NAME_MAX];

	if (s->kind == CTL_SEL_ANY || (unsigned)s->kind > CTL_SEL_VM)
		return cfg_emit_scalar(em, "any");
	snprintf(name, sizeof(name), "%.*s", CFG_NAME_LEN, s->name);
	return cfg_emit_map(em, true, YAML_FLOW_MAPPING_STYLE) &&
	       cfg_emit_scalar(em, cfg_sel_kinds[s->kind]) && cfg_emit_scalar(em, name) &&
	       cfg_emit_map(em, false, 0);
}

/* Model objects the policy service owns are not ours to keep. */
static bool cfg_kept(const struct cfg_list *l, const char *e)
{
	enum ctl_origin o;

	if (!l->model)
		return true;
	memcpy(&o, e + l->loc_origin, sizeof(o));
	return o == CTL_FROM_CONFIG;
}

/* One element as a flow mapping on its line: the keys the loader would
 * need to rebuild it, values in the loader's syntax. */
static int cfg_emit_obj(yaml_emitter_t *em, const struct cfg_table *t, const void *obj)
{
	char buf[CFG_VAL_MAX];

	if (!cfg_emit_map(em, true, YAML_FLOW_MAPPING_STYLE))
		return 0;
	for (unsigned i = 0; i < t->n_keys; i++) {
		const struct cfg_key *k = &t->keys[i];

		if (cfg_absent(k, obj))
			continue;
		if (!cfg_emit_scalar(em, k->key))
			return 0;
		if (k->type == CFG_SELECTOR) {
			if (!cfg_emit_selector(em, (const struct ctl_selector *)cfg_val(k, obj, 0)))
				return 0;
			continue;
		}
		if (!cfg_is_items(k->type)) {
			cfg_types[k->type].format(k, obj, 0, buf, sizeof(buf));
			if (!cfg_emit_scalar(em, buf))
				return 0;
			continue;
		}
		if (!cfg_emit_seq(em, true, YAML_FLOW_SEQUENCE_STYLE))
			return 0;
		for (unsigned j = 0; j < cfg_count(k, obj) && j < k->max_n; j++) {
			const struct ctl_ip *gw =
				(const struct ctl_ip *)((const char *)obj + k->off2) + j;

			cfg_types[k->type].format(k, obj, j, buf, sizeof(buf));
			if (k->type == CFG_SUBNETS && gw->family != 0) {
				char g[INET6_ADDRSTRLEN + 32];

				cfg_ip_str(gw, g, sizeof(g));
				if (!cfg_emit_map(em, true, YAML_FLOW_MAPPING_STYLE) ||
				    !cfg_emit_scalar(em, "prefix") || !cfg_emit_scalar(em, buf) ||
				    !cfg_emit_scalar(em, "gateway") || !cfg_emit_scalar(em, g) ||
				    !cfg_emit_map(em, false, 0))
					return 0;
				continue;
			}
			if (!cfg_emit_scalar(em, buf))
				return 0;
		}
		if (!cfg_emit_seq(em, false, 0))
			return 0;
	}
	return cfg_emit_map(em, false, 0);
}

/* The document: state_version, then the live sections of cfg_top.  It ends
 * with an explicit "..." so that a file cut short is never taken whole. */
static int cfg_emit_state(yaml_emitter_t *em, const struct ctl_config *cfg)
{
	yaml_event_t ev;
	char v[16];

	snprintf(v, sizeof(v), "%d", CFG_STATE_VERSION);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(em, &ev) ||
	    !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(em, &ev) || !cfg_emit_map(em, true, YAML_BLOCK_MAPPING_STYLE) ||
	    !cfg_emit_scalar(em, cfg_state_keys[0].key) || !cfg_emit_scalar(em, v))
		return 0;
	for (unsigned i = 0; i < cfg_top.n_keys; i++) {
		const struct cfg_key *k = &cfg_top.keys[i];
		const struct cfg_list *l = k->sub;
		const char *arr = (const char *)cfg + k->off;
		unsigned n = cfg_count(k, cfg), kept = 0;

		if (!k->live)
			continue;
		if (l->dynamic)   /* the field holds a pointer to the array */
			arr = *(const char *const *)arr;
		for (unsigned j = 0; j < n; j++)
			kept += cfg_kept(l, arr + (size_t)j * l->elem_size);
		/* An empty list as "[]": a bare "key:" would read as null. */
		if (!cfg_emit_scalar(em, k->key) ||
		    !cfg_emit_seq(em, true,
				  kept ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE))
			return 0;
		for (unsigned j = 0; j < n; j++)
			if (cfg_kept(l, arr + (size_t)j * l->elem_size) &&
			    !cfg_emit_obj(em, l->elem, arr + (size_t)j * l->elem_size))
				return 0;
		if (!cfg_emit_seq(em, false, 0))
			return 0;
	}
	return cfg_emit_map(em, false, 0) && yaml_document_end_event_initialize(&ev, 0) &&
	       yaml_emitter_emit(em, &ev) && yaml_stream_end_event_initialize(&ev) &&
	       yaml_emitter_emit(em, &ev) && yaml_emitter_flush(em);
}

/* Writes the state of @cfg to @fd. Returns 0 or a negative errno. */
static int cfg_write_state(const struct ctl_config *cfg, int fd, char *err, size_t errlen)
{
	struct cfg_out out = { .fd = fd };
	yaml_emitter_t em;
	int rc = 0;

	/* Counts are trusted below: a bad one would read past the arrays. */
	for (unsigned i = 0; i < cfg_top.n_keys; i++) {
		const struct cfg_key *k = &cfg_top.keys[i];
		const char *arr = NULL;
		unsigned n;

		if (!k->live)
			continue;
		n = cfg_count(k, cfg);
		if (((const struct cfg_list *)k->sub)->dynamic)
			memcpy(&arr, (const char *)cfg + k->off, sizeof(arr));
		if ((k->max_n && n > k->max_n) ||
		    (n && ((const struct cfg_list *)k->sub)->dynamic && arr == NULL)) {
			snprintf(err, errlen, "%s: %u entries but no room for them", k->key, n);
			return -EINVAL;
		}
	}
	if (!yaml_emitter_initialize(&em))
		return -ENOMEM;
	yaml_emitter_set_output(&em, cfg_write, &out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);   /* one element per line, however long */
	if (!cfg_emit_state(&em, cfg)) {
		rc = out.err ? -out.err : em.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
		if (out.err)
			snprintf(err, errlen, "%s", strerror(out.err));
		else
			snprintf(err, errlen, "%s", em.problem ? em.problem : "YAML emitter error");
	}
	yaml_emitter_delete(&em);
	return rc;
}

static char *cfg_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* mkdir -p @dir (0755). On failure @dir is cut to the directory that failed. */
static int cfg_mkdirs(char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	for (char *p = dir + 1;; p++) {
		char ch = *p;

		if (ch != '/' && ch != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = ch;
		if (ch == '\0')
			return 0;
	}
}

int ctl_config_save_state(const struct ctl_config *cfg, const char *path, char *err, size_t errlen)
{
	char *dir = NULL, *tmp = NULL, why[CTL_ERR_MAX] = "";
	const char *step = NULL, *target = NULL;
	bool tmp_made = false;
	int fd = -1, dfd = -1, rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (cfg == NULL || path == NULL || *path == '\0') {
		if (err && errlen)
			snprintf(err, errlen, "no configuration or state file path");
		return -EINVAL;
	}
	if ((dir = cfg_dirname(path)) == NULL || (tmp = malloc(strlen(path) + 32)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* The pid keeps two writers (a test, a second switch) off each other's file. */
	snprintf(tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
	step = "mkdir";
	target = dir;
	if ((rc = cfg_mkdirs(dir)))
		goto out;
	step = "create";
	target = tmp;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		rc = -errno;
		goto out;
	}
	tmp_made = true;
	step = "write";
	if ((rc = cfg_write_state(cfg, fd, why, sizeof(why))))
		goto out;
	step = "fsync";
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	step = "close";
	rc = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (rc)
		goto out;
	step = "rename";
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out;
	}
	tmp_made = false;
	/* The rename itself is durable only once the directory is synced. */
	step = "fsync";
	target = dir;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0)
		rc = -errno;
	if (dfd >= 0)
		close(dfd);
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	if (rc && err && errlen) {
		if (step == NULL)
			snprintf(err, errlen, "cannot save %s: %s", path, strerror(-rc));
		else
			snprintf(err, errlen, "cannot save %s: %s %s: %s", path, step, target,
				 why[0] ? why : strerror(-rc));
	}
	free(dir);
	free(tmp);
	return rc;
}

/* @cfg without its live sections; the rest (and `file`) still @cfg's. */
static void cfg_borrow(struct ctl_config *cand, const struct ctl_config *cfg)
{
	*cand = *cfg;
	cand->n_vhost = 0;
	memset(cand->vhost, 0, sizeof(cand->vhost));
	cand->n_vnets = 0;
	cand->vnets = NULL;
	cand->n_endpoints = 0;
	cand->endpoints = NULL;
	cand->n_tenants = cand->n_groups = cand->n_policies = 0;
	cand->tenants = NULL;
	cand->groups = NULL;
	cand->policies = NULL;
}

/* The model sections a state file may lack (written before they existed):
 * absent, the configuration's are kept. */
struct cfg_kept_sections {
	bool tenants, groups, policies;
};

static void cfg_keep_absent(struct cfg_ctx *c, struct cfg_kept_sections *keep,
			    struct ctl_config *cand, const struct ctl_config *cfg)
{
	keep->tenants = cfg_get(c, c->root, "tenants") == NULL;
	keep->groups = cfg_get(c, c->root, "groups") == NULL;
	keep->policies = cfg_get(c, c->root, "policies") == NULL;
	if (keep->tenants) {
		cand->n_tenants = cfg->n_tenants;
		cand->tenants = cfg->tenants;
	}
	if (keep->groups) {
		cand->n_groups = cfg->n_groups;
		cand->groups = cfg->groups;
	}
	if (keep->policies) {
		cand->n_policies = cfg->n_policies;
		cand->policies = cfg->policies;
	}
}

int ctl_config_load_state(struct ctl_config *cfg, const char *path, char *err, size_t errlen)
{
	struct cfg_ctx c = { .file = path, .err = err, .errlen = errlen };
	struct cfg_state *st = NULL;
	struct cfg_kept_sections keep = { false, false, false };
	yaml_document_t doc;
	char *buf = NULL, got[64];
	size_t len = 0;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (cfg == NULL || path == NULL)
		return -EINVAL;
	if ((buf = cfg_read_file(path, &len)) == NULL) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = cfg_oom(&c);
		goto out;
	}
	cfg_borrow(&st->cfg, cfg);
	c.cfg = &st->cfg;
	if ((rc = cfg_load_doc(&c, buf, len, &doc)))
		goto out;
	c.doc = &doc;
	c.root = yaml_document_get_root_node(&doc);
	if (doc.end_implicit)
		rc = cfg_err_at(err, errlen, path, doc.end_mark.line + 1, doc.end_mark.column + 1,
				"the state file does not end with '...': it was cut short");
	else if (c.root->type != YAML_MAPPING_NODE)
		rc = cfg_err(&c, c.root, "expected a mapping at the top level, got %s",
			     cfg_got(c.root, got, sizeof(got)));
	else if ((rc = cfg_parse_map(&c, &cfg_state_table, c.root, st, NULL)) == 0) {
		cfg_keep_absent(&c, &keep, &st->cfg, cfg);
		rc = cfg_cross_check(&c);
		/* Kept sections are only lent to the candidate. */
		if (keep.tenants)
			st->cfg.tenants = NULL;
		if (keep.groups)
			st->cfg.groups = NULL;
		if (keep.policies)
			st->cfg.policies = NULL;
	}
	yaml_document_delete(&doc);
	if (rc)
		goto out;

	/* Valid whole: now, and only now, @cfg changes.  Positions in the state
	 * file are dropped since `file` names the configuration file. */
	free(cfg->vnets);
	free(cfg->endpoints);
	cfg->n_vhost = st->cfg.n_vhost;
	memcpy(cfg->vhost, st->cfg.vhost, sizeof(cfg->vhost));
	cfg->n_vnets = st->cfg.n_vnets;
	cfg->vnets = st->cfg.vnets;
	cfg->n_endpoints = st->cfg.n_endpoints;
	cfg->endpoints = st->cfg.endpoints;
	st->cfg.vnets = NULL;
	st->cfg.endpoints = NULL;
	if (!keep.tenants) {
		free(cfg->tenants);
		cfg->n_tenants = st->cfg.n_tenants;
		cfg->tenants = st->cfg.tenants;
		st->cfg.tenants = NULL;
		for (unsigned i = 0; i < cfg->n_tenants; i++)
			cfg->tenants[i].line = cfg->tenants[i].col = 0;
	}
	if (!keep.groups) {
		free(cfg->groups);
		cfg->n_groups = st->cfg.n_groups;
		cfg->groups = st->cfg.groups;
		st->cfg.groups = NULL;
		for (unsigned i = 0; i < cfg->n_groups; i++)
			cfg->groups[i].line = cfg->groups[i].col = 0;
	}
	if (!keep.policies) {
		free(cfg->policies);
		cfg->n_policies = st->cfg.n_policies;
		cfg->policies = st->cfg.policies;
		st->cfg.policies = NULL;
		for (unsigned i = 0; i < cfg->n_policies; i++)
			cfg->policies[i].line = cfg->policies[i].col = 0;
	}
	for (unsigned i = 0; i < cfg->n_vhost; i++)
		cfg->vhost[i].line = cfg->vhost[i].col = 0;
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		cfg->vnets[i].line = cfg->vnets[i].col = 0;
	for (unsigned i = 0; i < cfg->n_endpoints; i++)
		cfg->endpoints[i].line = cfg->endpoints[i].col = 0;
out:
	if (st) {
		free(st->cfg.vnets);
		free(st->cfg.endpoints);
		free(st->cfg.tenants);
		free(st->cfg.groups);
		free(st->cfg.policies);
	}
	free(st);
	free(buf);
	return rc;
}
