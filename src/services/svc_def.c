/* Strict YAML parsing of the services framework's documents (svc_def.h).
 * Each document is read through the libyaml document API so that every
 * error can name the node's position; keys are checked against a list per
 * mapping, duplicates included. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <yaml.h>

#include "ctl_model_json.h"
#include "svc_def.h"

struct pctx {
	const char *file;
	yaml_document_t *doc;
	const struct svc_parse_ops *ops;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int perr(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->file,
		     n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1);
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < c->errlen)
		vsnprintf(c->err + k, c->errlen - k, fmt, ap);
	va_end(ap);
	for (char *s = c->err; *s; s++)   /* one line, whatever the input held */
		if ((unsigned char)*s < 0x20)
			*s = '?';
	return -EINVAL;
}

static yaml_node_t *node(struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int scalar(struct pctx *c, yaml_node_t *n, const char *what, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return perr(c, n, "%s: expected a value, got a %s", what,
			    n->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
	*out = sval(n);
	return 0;
}

/* Fills @vals (parallel to NULL-terminated @keys) from mapping @map;
 * unknown and repeated keys are errors. */
static int fields(struct pctx *c, yaml_node_t *map, const char *what, const char *const *keys,
		  yaml_node_t **vals)
{
	size_t nk = 0;

	while (keys[nk])
		vals[nk++] = NULL;
	if (map->type != YAML_MAPPING_NODE)
		return perr(c, map, "%s: expected a mapping", what);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node(c, p->key);
		size_t i;

		if (k->type != YAML_SCALAR_NODE)
			return perr(c, k, "%s: keys must be plain names", what);
		for (i = 0; i < nk && strcmp(keys[i], sval(k)); i++)
			;
		if (i == nk) {
			char list[256] = "";

			for (size_t j = 0; j < nk; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 j ? ", " : "", keys[j]);
			return perr(c, k, "unknown key '%.64s' in %s (expected one of: %s)",
				    sval(k), what, list);
		}
		if (vals[i])
			return perr(c, k, "%s: duplicate key '%s' (first at line %zu)", what,
				    keys[i], vals[i]->start_mark.line + 1);
		vals[i] = node(c, p->value);
	}
	return 0;
}

static int need(struct pctx *c, yaml_node_t *map, yaml_node_t *v, const char *what,
		const char *key)
{
	if (v == NULL)
		return perr(c, map, "%s: missing required key '%s'", what, key);
	return 0;
}

static int text(struct pctx *c, yaml_node_t *n, const char *what, char *dst, size_t size)
{
	const char *s = NULL;
	int rc;

	if ((rc = scalar(c, n, what, &s)))
		return rc;
	if (strlen(s) >= size)
		return perr(c, n, "%s: longer than %zu characters", what, size - 1);
	strcpy(dst, s);
	return 0;
}

static int name(struct pctx *c, yaml_node_t *n, const char *what, char *dst)
{
	const char *s = NULL;
	int rc;

	if ((rc = scalar(c, n, what, &s)))
		return rc;
	if (!ctl_name_valid(s))
		return perr(c, n, "%s: '%.64s' is not a valid name (letters, digits, '_', '.', "
			    "'-'; at most %d characters)", what, s, CTL_NAME_MAX - 1);
	strcpy(dst, s);
	return 0;
}

static int one_of(struct pctx *c, yaml_node_t *n, const char *what, const char *const *names,
		  unsigned *out)
{
	const char *s = NULL;
	int rc;
	char list[128] = "";

	if ((rc = scalar(c, n, what, &s)))
		return rc;
	for (unsigned i = 0; names[i]; i++) {
		if (!strcmp(names[i], s)) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 names[i]);
	}
	return perr(c, n, "%s: '%.64s' is not one of: %s", what, s, list);
}

static int params(struct pctx *c, yaml_node_t *map, const char *what, struct svc_params *out)
{
	out->n = 0;
	if (map->type != YAML_MAPPING_NODE)
		return perr(c, map, "%s: expected a mapping of names to values", what);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		char key[CTL_NAME_MAX];
		int rc;

		if ((rc = name(c, k, what, key)))
			return rc;
		if (svc_params_get(out, key))
			return perr(c, k, "%s: duplicate key '%s'", what, key);
		if (out->n == SVC_MAX_PARAMS)
			return perr(c, k, "%s: more than %d parameters", what, SVC_MAX_PARAMS);
		strcpy(out->v[out->n].key, key);
		if ((rc = text(c, v, what, out->v[out->n].value, SVC_TEXT_MAX)))
			return rc;
		out->n++;
	}
	return 0;
}

static int names(struct pctx *c, yaml_node_t *seq, const char *what, struct svc_names *out)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return perr(c, seq, "%s: expected a list of names", what);
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		char nm[CTL_NAME_MAX];
		int rc;

		if ((rc = name(c, node(c, *it), what, nm)))
			return rc;
		if (svc_names_has(out, nm))
			return perr(c, node(c, *it), "%s: '%s' listed twice", what, nm);
		if (svc_names_add(out, nm) < 0)
			return perr(c, node(c, *it), "out of memory");
	}
	return 0;
}

/* ---- service ---- */

static int uint_val(struct pctx *c, yaml_node_t *n, const char *what, unsigned *out);

static int endpoint(struct pctx *c, yaml_node_t *n, struct svc_endpoint *ep)
{
	static const char *const keys[] = { "port", "ip", "url", "out", "vni", NULL };
	yaml_node_t *v[5];
	int rc, given = 0;
	const char *s = NULL;

	if ((rc = fields(c, n, "endpoint", keys, v)))
		return rc;
	given = !!v[0] + !!v[1] + !!v[2];
	if (given != 1)
		return perr(c, n, "endpoint: give exactly one of port, ip, url");
	if (v[3] && !v[0])
		return perr(c, v[3], "endpoint out: only a port endpoint has a return port");
	if (v[4] && !v[1])
		return perr(c, v[4], "endpoint vni: only an ip endpoint is reached by a tunnel");
	if (v[0]) {
		ep->kind = SVC_EP_PORT;
		if ((rc = name(c, v[0], "endpoint port", ep->port)))
			return rc;
		return v[3] ? name(c, v[3], "endpoint out", ep->port_out) : 0;
	}
	if (v[1]) {
		ep->kind = SVC_EP_IP;
		if ((rc = scalar(c, v[1], "endpoint ip", &s)))
			return rc;
		if (ctl_parse_ip(s, &ep->ip) < 0)
			return perr(c, v[1], "endpoint ip: '%.64s' is not an IP address", s);
		if (v[4]) {
			if ((rc = uint_val(c, v[4], "endpoint vni", &ep->vni)))
				return rc;
			if (ep->vni == 0 || ep->vni > 0xffffff)
				return perr(c, v[4], "endpoint vni: %u is not a VNI (1-16777215)",
					    ep->vni);
			if (ep->ip.family != AF_INET)
				return perr(c, v[1], "endpoint ip: a tunnel endpoint must be IPv4");
		}
		return 0;
	}
	ep->kind = SVC_EP_URL;
	if ((rc = text(c, v[2], "endpoint url", ep->url, sizeof(ep->url))))
		return rc;
	if (strncmp(ep->url, "http://", 7) && strncmp(ep->url, "https://", 8))
		return perr(c, v[2], "endpoint url: '%.64s' is not an http:// or https:// URL",
			    ep->url);
	return 0;
}

static int level(struct pctx *c, yaml_node_t *n, struct svc_def *d)
{
	static const char *const keys[] = { "name", "parameters", NULL };
	yaml_node_t *v[2];
	struct svc_level *l = &d->levels[d->n_levels];
	int rc;

	if ((rc = fields(c, n, "level", keys, v)) || (rc = need(c, n, v[0], "level", "name")) ||
	    (rc = name(c, v[0], "level name", l->name)))
		return rc;
	if (svc_def_level(d, l->name))
		return perr(c, v[0], "level '%s' defined twice", l->name);
	if (v[1] && (rc = params(c, v[1], "level parameters", &l->params)))
		return rc;
	d->n_levels++;
	return 0;
}

static int prefix4(struct pctx *c, yaml_node_t *n, const char *what, struct ctl_prefix *p)
{
	const char *s = NULL;
	struct ctl_ip ip;
	int rc;

	if ((rc = scalar(c, n, what, &s)))
		return rc;
	if (strchr(s, '/') ? ctl_parse_prefix(s, p) == 0 : ctl_parse_ip(s, &ip) == 0) {
		if (!strchr(s, '/')) {
			p->addr = ip;
			p->len = 32;
		}
		if (p->addr.family != AF_INET)
			return perr(c, n, "%s: '%.64s': rules match IPv4 only", what, s);
		if (p->len < 32 && (ntohl(p->addr.v4) & (0xffffffffu >> p->len)))
			return perr(c, n, "%s: '%.64s' has host bits set", what, s);
		return 0;
	}
	return perr(c, n, "%s: '%.64s' is not an IPv4 address or prefix", what, s);
}

static int port_num(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int ports(struct pctx *c, yaml_node_t *n, const char *what, uint16_t *lo, uint16_t *hi)
{
	const char *s = NULL, *dash;
	int rc;

	if ((rc = scalar(c, n, what, &s)))
		return rc;
	dash = strchr(s, '-');
	if (dash ? port_num(s, (size_t)(dash - s), lo) || port_num(dash + 1, strlen(dash + 1), hi)
		 : port_num(s, strlen(s), lo))
		return perr(c, n, "%s: '%.64s' is not a port (0-65535) or a range LO-HI", what, s);
	if (!dash)
		*hi = *lo;
	if (*lo > *hi)
		return perr(c, n, "%s: range %u-%u is empty (LO must be <= HI)", what, *lo, *hi);
	return 0;
}

static int rule(struct pctx *c, yaml_node_t *n, struct svc_rule *r)
{
	static const char *const keys[] = { "direction", "proto", "src", "dst", "sport",
					    "dport", "action", "target", NULL };
	static const char *const dirs[] = { "ingress", "egress", "both", NULL };
	static const char *const protos[] = { "tcp", "udp", "icmp", "any", NULL };
	static const uint8_t proto_nums[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 0 };
	static const char *const acts[] = { "allow", "drop", "mirror", "redirect", NULL };
	yaml_node_t *v[8];
	unsigned x;
	int rc;

	memset(r, 0, sizeof(*r));
	r->sport_hi = r->dport_hi = 65535;
	if ((rc = fields(c, n, "rule", keys, v)) || (rc = need(c, n, v[0], "rule", "direction")) ||
	    (rc = need(c, n, v[6], "rule", "action")) ||
	    (rc = one_of(c, v[0], "rule direction", dirs, &x)))
		return rc;
	r->dir = (enum svc_dir)(x + 1);
	if (v[1]) {
		if ((rc = one_of(c, v[1], "rule proto", protos, &x)))
			return rc;
		r->proto = proto_nums[x];
	}
	if ((v[2] && (rc = prefix4(c, v[2], "rule src", &r->src))) ||
	    (v[3] && (rc = prefix4(c, v[3], "rule dst", &r->dst))))
		return rc;
	for (int i = 4; i <= 5; i++) {
		if (v[i] == NULL)
			continue;
		if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
			return perr(c, v[i], "rule %s: ports need proto tcp or udp", keys[i]);
		if ((rc = ports(c, v[i], i == 4 ? "rule sport" : "rule dport",
				i == 4 ? &r->sport_lo : &r->dport_lo,
				i == 4 ? &r->sport_hi : &r->dport_hi)))
			return rc;
	}
	if ((rc = one_of(c, v[6], "rule action", acts, &x)))
		return rc;
	r->action = (enum svc_rule_action)x;
	if (r->action == SVC_RULE_MIRROR || r->action == SVC_RULE_REDIRECT) {
		if (v[7] == NULL)
			return perr(c, n, "rule: action '%s' needs a 'target' port", acts[x]);
		return name(c, v[7], "rule target", r->target);
	}
	if (v[7])
		return perr(c, v[7], "rule target: only actions 'mirror' and 'redirect' take a "
			    "target");
	return 0;
}

static int service(struct pctx *c, yaml_node_t *n, struct svc_def *d)
{
	static const char *const keys[] = { "vendor", "name", "description", "contact",
					    "insertion", "endpoints", "levels", "parameters",
					    "rules", "builtin", NULL };
	static const char *const ins[] = { "switch", "network", "external", NULL };
	static const char *const builtins[] = { "load-balancer", NULL };
	yaml_node_t *v[10];
	unsigned x;
	int rc;

	if ((rc = fields(c, n, "service", keys, v)))
		return rc;
	for (int i = 0; i < 7; i++)
		if (i != 2 && i != 5 && (rc = need(c, n, v[i], "service", keys[i])))
			return rc;
	if ((rc = text(c, v[0], "service vendor", d->vendor, sizeof(d->vendor))) ||
	    (rc = name(c, v[1], "service name", d->name)) ||
	    (v[2] && (rc = text(c, v[2], "service description", d->description,
				sizeof(d->description)))) ||
	    (rc = text(c, v[3], "service contact", d->contact, sizeof(d->contact))) ||
	    (rc = one_of(c, v[4], "service insertion", ins, &x)))
		return rc;
	d->insertion = (enum svc_insertion)x;
	if (v[5]) {
		if (v[5]->type != YAML_SEQUENCE_NODE)
			return perr(c, v[5], "service endpoints: expected a list");
		for (yaml_node_item_t *it = v[5]->data.sequence.items.start;
		     it < v[5]->data.sequence.items.top; it++) {
			if (d->n_endpoints == SVC_MAX_ENDPOINTS)
				return perr(c, node(c, *it), "service endpoints: more than %d",
					    SVC_MAX_ENDPOINTS);
			if ((rc = endpoint(c, node(c, *it), &d->endpoints[d->n_endpoints])))
				return rc;
			d->n_endpoints++;
		}
	}
	if (v[9]) {
		if ((rc = one_of(c, v[9], "service builtin", builtins, &x)))
			return rc;
		d->builtin = SVC_BUILTIN_LB;
		if (d->insertion != SVC_INS_NETWORK)
			return perr(c, v[9], "service builtin: a load-balancer has insertion 'network'");
		if (d->n_endpoints > 0)
			return perr(c, v[5], "service endpoints: the switch itself is a built-in "
				    "service's endpoint");
	}
	if (d->insertion != SVC_INS_SWITCH && d->builtin == SVC_BUILTIN_NONE &&
	    d->n_endpoints == 0)
		return perr(c, v[5] ? v[5] : n, "service: insertion '%s' needs at least one endpoint",
			    svc_insertion_name(d->insertion));
	if (v[6]->type != YAML_SEQUENCE_NODE || v[6]->data.sequence.items.top ==
						    v[6]->data.sequence.items.start)
		return perr(c, v[6], "service levels: expected a list of at least one level");
	for (yaml_node_item_t *it = v[6]->data.sequence.items.start;
	     it < v[6]->data.sequence.items.top; it++) {
		if (d->n_levels == SVC_MAX_LEVELS)
			return perr(c, node(c, *it), "service levels: more than %d", SVC_MAX_LEVELS);
		if ((rc = level(c, node(c, *it), d)))
			return rc;
	}
	if (v[7] && (rc = params(c, v[7], "service parameters", &d->params)))
		return rc;
	if (v[8]) {
		if (d->insertion != SVC_INS_SWITCH)
			return perr(c, v[8], "service rules: only insertion 'switch' takes rules");
		if (v[8]->type != YAML_SEQUENCE_NODE)
			return perr(c, v[8], "service rules: expected a list");
		for (yaml_node_item_t *it = v[8]->data.sequence.items.start;
		     it < v[8]->data.sequence.items.top; it++) {
			if (d->n_rules == SVC_MAX_RULES)
				return perr(c, node(c, *it), "service rules: more than %d rules",
					    SVC_MAX_RULES);
			if ((rc = rule(c, node(c, *it), &d->rules[d->n_rules])))
				return rc;
			d->n_rules++;
		}
	}
	return 0;
}

/* ---- profile, pool, enable, configure, catalog ---- */

/* Parameter keys of @m must be the service's or (when @lv) the level's. */
static int check_keys(struct pctx *c, yaml_node_t *m, const struct svc_def *d,
		      const struct svc_level *lv, const char *what)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);

		if (!svc_params_get(&d->params, sval(k)) &&
		    !(lv && svc_params_get(&lv->params, sval(k))))
			return perr(c, k, "%s: service '%s'%s%s%s has no parameter '%s'", what,
				    d->name, lv ? " (level '" : "", lv ? lv->name : "",
				    lv ? "')" : "", sval(k));
	}
	return 0;
}

static int profile(struct pctx *c, yaml_node_t *n, struct svc_profile *p)
{
	static const char *const keys[] = { "name", "service", "level", "parameters", "scope",
					    NULL };
	static const char *const skeys[] = { "vnets", "hosts", "vms", "pools", "tenants", NULL };
	yaml_node_t *v[5], *s[SVC_SCOPE_N];
	const struct svc_def *d = NULL;
	const struct svc_level *lv = NULL;
	int rc;

	if ((rc = fields(c, n, "profile", keys, v)))
		return rc;
	for (int i = 0; i < 3; i++)
		if ((rc = need(c, n, v[i], "profile", keys[i])))
			return rc;
	if ((rc = name(c, v[0], "profile name", p->name)) ||
	    (rc = name(c, v[1], "profile service", p->service)) ||
	    (rc = name(c, v[2], "profile level", p->level)))
		return rc;
	if (c->ops->find_def) {
		if ((d = c->ops->find_def(c->ops->arg, p->service)) == NULL)
			return perr(c, v[1], "profile service: no service '%s' is registered",
				    p->service);
		if ((lv = svc_def_level(d, p->level)) == NULL)
			return perr(c, v[2], "profile level: service '%s' has no level '%s'",
				    d->name, p->level);
	}
	if (v[3] && ((rc = params(c, v[3], "profile parameters", &p->params)) ||
		     (d && (rc = check_keys(c, v[3], d, lv, "profile parameters")))))
		return rc;
	if (v[4] && (rc = fields(c, v[4], "profile scope", skeys, s)))
		return rc;
	for (int i = 0; v[4] && i < SVC_SCOPE_N; i++) {
		char what[32];

		snprintf(what, sizeof(what), "profile scope %s", skeys[i]);
		if (s[i] && (rc = names(c, s[i], what, &p->scope[i])))
			return rc;
	}
	return 0;
}

static int pool(struct pctx *c, yaml_node_t *n, struct svc_pool *p)
{
	static const char *const keys[] = { "name", "vms", NULL };
	yaml_node_t *v[2];
	int rc;

	if ((rc = fields(c, n, "pool", keys, v)) || (rc = need(c, n, v[0], "pool", "name")) ||
	    (rc = need(c, n, v[1], "pool", "vms")) || (rc = name(c, v[0], "pool name", p->name)))
		return rc;
	return names(c, v[1], "pool vms", &p->vms);
}

static int enable(struct pctx *c, yaml_node_t *n, struct svc_enable *e)
{
	static const char *const keys[] = { "profile", "vm", "pool", "vnet", NULL };
	yaml_node_t *v[4];
	int rc;

	if ((rc = fields(c, n, "enable", keys, v)) || (rc = need(c, n, v[0], "enable", "profile")) ||
	    (rc = name(c, v[0], "enable profile", e->profile)))
		return rc;
	if (!!v[1] + !!v[2] + !!v[3] != 1)
		return perr(c, n, "enable: give exactly one of vm, pool, vnet");
	e->kind = v[1] ? SVC_TARGET_VM : v[2] ? SVC_TARGET_POOL : SVC_TARGET_VNET;
	return name(c, v[1] ? v[1] : v[2] ? v[2] : v[3], "enable target", e->target);
}

static int configure(struct pctx *c, yaml_node_t *n, struct svc_configure *cf)
{
	static const char *const keys[] = { "service", "parameters", NULL };
	yaml_node_t *v[2];
	const struct svc_def *d;
	int rc;

	if ((rc = fields(c, n, "configure", keys, v)) ||
	    (rc = need(c, n, v[0], "configure", "service")) ||
	    (rc = need(c, n, v[1], "configure", "parameters")) ||
	    (rc = name(c, v[0], "configure service", cf->service)) ||
	    (rc = params(c, v[1], "configure parameters", &cf->params)))
		return rc;
	if (c->ops->find_def) {
		if ((d = c->ops->find_def(c->ops->arg, cf->service)) == NULL)
			return perr(c, v[0], "configure service: no service '%s' is registered",
				    cf->service);
		return check_keys(c, v[1], d, NULL, "configure parameters");
	}
	return 0;
}

static int uint_val(struct pctx *c, yaml_node_t *n, const char *what, unsigned *out)
{
	const char *s = NULL;
	char *end;
	unsigned long v;
	int rc;

	if ((rc = scalar(c, n, what, &s)))
		return rc;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 1000000000ul || *s == '-')
		return perr(c, n, "%s: '%.64s' is not a number", what, s);
	*out = (unsigned)v;
	return 0;
}

static int catalog(struct pctx *c, yaml_node_t *n, struct svc_doc *d)
{
	static const char *const keys[] = { "version", "documents", NULL };
	yaml_node_t *v[2];
	int rc;

	if ((rc = fields(c, n, "catalog", keys, v)) || (rc = need(c, n, v[0], "catalog", "version")) ||
	    (rc = need(c, n, v[1], "catalog", "documents")) ||
	    (rc = uint_val(c, v[0], "catalog version", &d->version)) ||
	    (rc = uint_val(c, v[1], "catalog documents", &d->documents)))
		return rc;
	if (d->version != 1)
		return perr(c, v[0], "catalog version %u is not supported (expected 1)", d->version);
	return 0;
}

/* A chain names profiles by name only: whether they exist and what they
 * are is the catalog's check (svc_catalog_chain_add), at this position. */
static int chain(struct pctx *c, yaml_node_t *n, struct svc_chain *ch)
{
	static const char *const keys[] = { "name", "hops", NULL };
	yaml_node_t *v[2];
	int rc;

	if ((rc = fields(c, n, "chain", keys, v)) || (rc = need(c, n, v[0], "chain", "name")) ||
	    (rc = need(c, n, v[1], "chain", "hops")) || (rc = name(c, v[0], "chain name", ch->name)))
		return rc;
	if (v[1]->type != YAML_SEQUENCE_NODE ||
	    v[1]->data.sequence.items.top == v[1]->data.sequence.items.start)
		return perr(c, v[1], "chain hops: expected a list of 1 to %d profile names",
			    SVC_MAX_HOPS);
	for (yaml_node_item_t *it = v[1]->data.sequence.items.start;
	     it < v[1]->data.sequence.items.top; it++) {
		yaml_node_t *h = node(c, *it);

		if (ch->n_hops == SVC_MAX_HOPS)
			return perr(c, h, "chain hops: more than %d hops", SVC_MAX_HOPS);
		if ((rc = name(c, h, "chain hop", ch->hops[ch->n_hops])))
			return rc;
		for (unsigned i = 0; i < ch->n_hops; i++)
			if (!strcmp(ch->hops[i], ch->hops[ch->n_hops]))
				return perr(c, h, "chain hops: profile '%s' listed twice",
					    ch->hops[i]);
		ch->n_hops++;
	}
	return 0;
}

/* In enum svc_doc_kind order. */
static const char *const kinds[] = { "service", "profile", "pool", "enable", "configure",
				     "catalog", "chain", NULL };

static void doc_clear(struct svc_doc *d)
{
	free(d->def);
	d->def = NULL;
	svc_profile_clear(&d->profile);
	svc_pool_clear(&d->pool);
}

static int one_doc(struct pctx *c, yaml_node_t *root)
{
	struct svc_doc d;
	yaml_node_t *k, *v;
	unsigned kind;
	int rc;

	memset(&d, 0, sizeof(d));
	if (root->type != YAML_MAPPING_NODE ||
	    root->data.mapping.pairs.top - root->data.mapping.pairs.start != 1)
		return perr(c, root, "a document is a mapping with one key: service, profile, "
			    "pool or chain");
	k = node(c, root->data.mapping.pairs.start->key);
	v = node(c, root->data.mapping.pairs.start->value);
	if ((rc = one_of(c, k, "document", kinds, &kind)))
		return rc;
	if (!(c->ops->allowed & SVC_DOC_BIT(kind)))
		return perr(c, k, "a '%s' document is not allowed here", kinds[kind]);
	d.kind = (enum svc_doc_kind)kind;
	d.file = c->file;
	d.line = (int)k->start_mark.line + 1;
	d.col = (int)k->start_mark.column + 1;
	switch (d.kind) {
	case SVC_DOC_SERVICE:
		if ((d.def = calloc(1, sizeof(*d.def))) == NULL)
			return perr(c, k, "out of memory");
		rc = service(c, v, d.def);
		break;
	case SVC_DOC_PROFILE:
		rc = profile(c, v, &d.profile);
		break;
	case SVC_DOC_POOL:
		rc = pool(c, v, &d.pool);
		break;
	case SVC_DOC_ENABLE:
		rc = enable(c, v, &d.enable);
		break;
	case SVC_DOC_CONFIGURE:
		rc = configure(c, v, &d.configure);
		break;
	case SVC_DOC_CHAIN:
		rc = chain(c, v, &d.chain);
		break;
	case SVC_DOC_CATALOG:
		rc = catalog(c, v, &d);
		break;
	}
	if (rc == 0 && c->ops->apply) {
		char why[CTL_ERR_MAX] = "";

		rc = c->ops->apply(c->ops->arg, &d, why, sizeof(why));
		if (rc < 0)
			snprintf(c->err, c->errlen, "%s:%d:%d: %s", c->file, d.line, d.col, why);
	}
	doc_clear(&d);
	return rc;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;
	int e = 0;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 4096) {
			char *nb = realloc(buf, (cap = cap ? cap * 2 : 16384) + 1);

			if (nb == NULL) {
				e = ENOMEM;
				break;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (!e && ferror(f))
		e = errno ? errno : EIO;
	fclose(f);
	if (e) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int svc_parse(const char *file, const char *text, size_t len, const struct svc_parse_ops *ops,
	      char *err, size_t errlen)
{
	struct pctx c = { .file = file, .ops = ops, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	char *buf = NULL;
	int rc = 0, n = 0;

	if (text == NULL) {
		if ((buf = read_all(file, &len)) == NULL) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			return rc;
		}
		text = buf;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(buf);
		snprintf(err, errlen, "%s: out of memory", file);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			rc = perr(&c, NULL, "%s", parser.problem ? parser.problem : "YAML error");
			snprintf(err, errlen, "%s:%zu:%zu: %s", file, parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "YAML error");
			break;
		}
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		c.doc = &doc;
		rc = one_doc(&c, root);
		yaml_document_delete(&doc);
		if (rc)
			break;
		n++;
	}
	yaml_parser_delete(&parser);
	free(buf);
	if (rc == 0 && n == 0) {
		snprintf(err, errlen, "%s:1:1: no document", file);
		rc = -EINVAL;
	}
	return rc ? rc : n;
}

/* ---- small helpers ---- */

void svc_names_clear(struct svc_names *n)
{
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

int svc_names_add(struct svc_names *n, const char *nm)
{
	void *nv = realloc(n->v, (n->n + 1) * sizeof(*n->v));

	if (nv == NULL)
		return -ENOMEM;
	n->v = nv;
	snprintf(n->v[n->n++], CTL_NAME_MAX, "%s", nm);
	return 0;
}

bool svc_names_has(const struct svc_names *n, const char *nm)
{
	for (unsigned i = 0; i < n->n; i++)
		if (!strcmp(n->v[i], nm))
			return true;
	return false;
}

int svc_names_copy(struct svc_names *dst, const struct svc_names *src)
{
	dst->n = 0;
	dst->v = NULL;
	if (src->n == 0)
		return 0;
	if ((dst->v = malloc(src->n * sizeof(*dst->v))) == NULL)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	return 0;
}

void svc_profile_clear(struct svc_profile *p)
{
	for (int i = 0; i < SVC_SCOPE_N; i++)
		svc_names_clear(&p->scope[i]);
}

void svc_pool_clear(struct svc_pool *p)
{
	svc_names_clear(&p->vms);
}

int svc_profile_copy(struct svc_profile *dst, const struct svc_profile *src)
{
	*dst = *src;
	for (int i = 0; i < SVC_SCOPE_N; i++)
		if (svc_names_copy(&dst->scope[i], &src->scope[i]) < 0) {
			for (int j = 0; j < i; j++)
				svc_names_clear(&dst->scope[j]);
			for (int j = i; j < SVC_SCOPE_N; j++)
				dst->scope[j] = (struct svc_names){ 0 };
			return -ENOMEM;
		}
	return 0;
}

int svc_pool_copy(struct svc_pool *dst, const struct svc_pool *src)
{
	*dst = *src;
	return svc_names_copy(&dst->vms, &src->vms);
}

const struct svc_param *svc_params_get(const struct svc_params *p, const char *key)
{
	for (unsigned i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].key, key))
			return &p->v[i];
	return NULL;
}

int svc_params_set(struct svc_params *p, const char *key, const char *value)
{
	struct svc_param *x = (struct svc_param *)svc_params_get(p, key);

	if (x == NULL) {
		if (p->n == SVC_MAX_PARAMS)
			return -ENOSPC;
		x = &p->v[p->n++];
		snprintf(x->key, sizeof(x->key), "%s", key);
	}
	snprintf(x->value, sizeof(x->value), "%s", value);
	return 0;
}

const struct svc_level *svc_def_level(const struct svc_def *d, const char *nm)
{
	for (unsigned i = 0; i < d->n_levels; i++)
		if (!strcmp(d->levels[i].name, nm))
			return &d->levels[i];
	return NULL;
}

const char *svc_builtin_name(enum svc_builtin b)
{
	return b == SVC_BUILTIN_LB ? "load-balancer" : "";
}

const char *svc_insertion_name(enum svc_insertion i)
{
	return i == SVC_INS_SWITCH ? "switch" : i == SVC_INS_NETWORK ? "network" : "external";
}

const char *svc_scope_name(enum svc_scope_dim d)
{
	static const char *const n[] = { "vnets", "hosts", "vms", "pools", "tenants" };

	return (unsigned)d < SVC_SCOPE_N ? n[d] : "?";
}

const char *svc_target_name(enum svc_target_kind k)
{
	return k == SVC_TARGET_VM ? "vm" : k == SVC_TARGET_POOL ? "pool" : "vnet";
}

const char *svc_action_name(enum svc_rule_action a)
{
	static const char *const n[] = { "allow", "drop", "mirror", "redirect" };

	return (unsigned)a < 4 ? n[a] : "?";
}

const char *svc_dir_name(enum svc_dir d)
{
	return d == SVC_DIR_INGRESS ? "ingress" : d == SVC_DIR_EGRESS ? "egress" : "both";
}

const char *svc_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	       proto == IPPROTO_ICMP ? "icmp" : "any";
}

/* ---- writing ---- */

void svc_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void write_params(FILE *f, const struct svc_params *p)
{
	fputc('{', f);
	for (unsigned i = 0; i < p->n; i++) {
		fprintf(f, "%s%s: ", i ? ", " : "", p->v[i].key);
		svc_write_str(f, p->v[i].value);
	}
	fputc('}', f);
}

static void write_names(FILE *f, const struct svc_names *n)
{
	fputc('[', f);
	for (unsigned i = 0; i < n->n; i++)
		fprintf(f, "%s%s", i ? ", " : "", n->v[i]);
	fputc(']', f);
}

static void write_prefix(FILE *f, const char *key, const struct ctl_prefix *p)
{
	char a[INET_ADDRSTRLEN];

	if (p->len == 0)
		return;
	inet_ntop(AF_INET, &p->addr.v4, a, sizeof(a));
	fprintf(f, ", %s: %s/%u", key, a, p->len);
}

int svc_def_write(FILE *f, const struct svc_def *d)
{
	fprintf(f, "---\nservice:\n  vendor: ");
	svc_write_str(f, d->vendor);
	fprintf(f, "\n  name: %s\n  description: ", d->name);
	svc_write_str(f, d->description);
	fprintf(f, "\n  contact: ");
	svc_write_str(f, d->contact);
	fprintf(f, "\n  insertion: %s\n", svc_insertion_name(d->insertion));
	if (d->builtin != SVC_BUILTIN_NONE)
		fprintf(f, "  builtin: %s\n", svc_builtin_name(d->builtin));
	fprintf(f, "  endpoints:%s\n", d->n_endpoints ? "" : " []");
	for (unsigned i = 0; i < d->n_endpoints; i++) {
		const struct svc_endpoint *e = &d->endpoints[i];
		char a[INET6_ADDRSTRLEN];

		if (e->kind == SVC_EP_PORT) {
			fprintf(f, "    - {port: %s", e->port);
			if (e->port_out[0])
				fprintf(f, ", out: %s", e->port_out);
			fprintf(f, "}\n");
		} else if (e->kind == SVC_EP_IP) {
			inet_ntop(e->ip.family, e->ip.family == AF_INET ? (const void *)&e->ip.v4
									 : (const void *)e->ip.v6,
				  a, sizeof(a));
			fprintf(f, "    - {ip: \"%s\"", a);
			if (e->vni)
				fprintf(f, ", vni: %u", e->vni);
			fprintf(f, "}\n");
		} else {
			fprintf(f, "    - {url: ");
			svc_write_str(f, e->url);
			fprintf(f, "}\n");
		}
	}
	fprintf(f, "  levels:\n");
	for (unsigned i = 0; i < d->n_levels; i++) {
		fprintf(f, "    - {name: %s, parameters: ", d->levels[i].name);
		write_params(f, &d->levels[i].params);
		fprintf(f, "}\n");
	}
	fprintf(f, "  parameters: ");
	write_params(f, &d->params);
	fputc('\n', f);
	if (d->insertion == SVC_INS_SWITCH)
		fprintf(f, "  rules:%s\n", d->n_rules ? "" : " []");
	for (unsigned i = 0; i < d->n_rules; i++) {
		const struct svc_rule *r = &d->rules[i];

		fprintf(f, "    - {direction: %s, proto: %s", svc_dir_name(r->dir),
			svc_proto_name(r->proto));
		write_prefix(f, "src", &r->src);
		write_prefix(f, "dst", &r->dst);
		if (r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP) {
			if (r->sport_lo || r->sport_hi != 65535)
				fprintf(f, ", sport: \"%u-%u\"", r->sport_lo, r->sport_hi);
			if (r->dport_lo || r->dport_hi != 65535)
				fprintf(f, ", dport: \"%u-%u\"", r->dport_lo, r->dport_hi);
		}
		fprintf(f, ", action: %s", svc_action_name(r->action));
		if (r->target[0])
			fprintf(f, ", target: %s", r->target);
		fprintf(f, "}\n");
	}
	return ferror(f) ? -EIO : 0;
}

int svc_profile_write(FILE *f, const struct svc_profile *p)
{
	fprintf(f, "---\nprofile:\n  name: %s\n  service: %s\n  level: %s\n  parameters: ",
		p->name, p->service, p->level);
	write_params(f, &p->params);
	fprintf(f, "\n  scope:\n");
	for (int i = 0; i < SVC_SCOPE_N; i++) {
		fprintf(f, "    %s: ", svc_scope_name((enum svc_scope_dim)i));
		write_names(f, &p->scope[i]);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

int svc_pool_write(FILE *f, const struct svc_pool *p)
{
	fprintf(f, "---\npool:\n  name: %s\n  vms: ", p->name);
	write_names(f, &p->vms);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

int svc_chain_write(FILE *f, const struct svc_chain *ch)
{
	fprintf(f, "---\nchain:\n  name: %s\n  hops: [", ch->name);
	for (unsigned i = 0; i < ch->n_hops; i++)
		fprintf(f, "%s%s", i ? ", " : "", ch->hops[i]);
	fprintf(f, "]\n");
	return ferror(f) ? -EIO : 0;
}
