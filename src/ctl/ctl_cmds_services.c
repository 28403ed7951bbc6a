/* service, profile, pool, chain and catalog commands (docs/services.md):
 * the catalog of network services (S1-S5, S7, S9).  Every change works on the
 * catalog's copy (svc_catalog_*), then calls ctl_services_changed and
 * saves the catalog in the state directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_cmds.h"
#include "ctl_cmds_util.h"
#include "ctl_model_json.h"
#include "ctl_server.h"
#include "ctl_services.h"
#include "ctl_switch.h"
#include "dp.h"

void (*ctl_services_changed)(void);
static struct svc_catalog *catalog;
static char host_name[64];

/* Per counter slot: the profile holding it and the datapath's counters
 * when it took the slot, so that a reused slot counts from zero for its
 * new profile (the datapath's counters only grow). */
static struct {
	char owner[CTL_NAME_MAX];               /* "" = free */
	uint64_t base[DP_SVC_COUNT_MAX];
} slots[SVC_MAX_PROFILES];

/* The same per chain slot, for each hop's counters. */
static struct {
	char owner[CTL_NAME_MAX];               /* "" = free */
	uint64_t base[SVC_MAX_HOPS][DP_HOP_COUNT_MAX];
} chain_slots[SVC_MAX_CHAINS];

static void chain_slots_sync(const struct svc_catalog *c)
{
	bool held[SVC_MAX_CHAINS] = { false };

	for (unsigned i = 0; i < c->n_chains; i++) {
		const struct svc_chain *ch = &c->chains[i];

		held[ch->slot] = true;
		if (strcmp(chain_slots[ch->slot].owner, ch->name) == 0)
			continue;
		snprintf(chain_slots[ch->slot].owner, sizeof(chain_slots[ch->slot].owner), "%s",
			 ch->name);
		for (unsigned h = 0; h < SVC_MAX_HOPS; h++)
			dp_chain_counters(ch->slot, h, chain_slots[ch->slot].base[h]);
	}
	for (unsigned s = 0; s < SVC_MAX_CHAINS; s++)
		if (!held[s])
			chain_slots[s].owner[0] = '\0';
}

/* What went through hop @hop of @ch since the chain was created. */
static void hop_counters(const struct svc_chain *ch, unsigned hop,
			 uint64_t out[DP_HOP_COUNT_MAX])
{
	const uint64_t *base = chain_slots[ch->slot].base[hop];

	dp_chain_counters(ch->slot, hop, out);
	for (unsigned j = 0; j < DP_HOP_COUNT_MAX; j++)
		out[j] = out[j] >= base[j] ? out[j] - base[j] : 0;
}

/* After every catalog change, before its rules reach the ports: a profile
 * new in its slot takes the slot's counters as its baseline.  Deleting and
 * creating are separate changes, so a name reused for a new profile is
 * seen as the slot falling free first. */
static void slots_sync(const struct svc_catalog *c)
{
	bool held[SVC_MAX_PROFILES] = { false };

	for (unsigned i = 0; i < c->n_profiles; i++) {
		const struct svc_profile *p = &c->profiles[i];

		held[p->slot] = true;
		if (strcmp(slots[p->slot].owner, p->name) == 0)
			continue;
		snprintf(slots[p->slot].owner, sizeof(slots[p->slot].owner), "%s", p->name);
		dp_svc_counters((uint16_t)p->slot, slots[p->slot].base);
	}
	for (unsigned s = 0; s < SVC_MAX_PROFILES; s++)
		if (!held[s])
			slots[s].owner[0] = '\0';
	chain_slots_sync(c);
}

/* What the rules of @p did since it was created. */
static void profile_counters(const struct svc_profile *p, uint64_t out[DP_SVC_COUNT_MAX])
{
	dp_svc_counters((uint16_t)p->slot, out);
	for (unsigned j = 0; j < DP_SVC_COUNT_MAX; j++)
		out[j] = out[j] >= slots[p->slot].base[j] ? out[j] - slots[p->slot].base[j] : 0;
}

struct svc_catalog *ctl_services_catalog(void)
{
	if (catalog == NULL)
		catalog = svc_catalog_new();
	return catalog;
}

void ctl_services_fini(void)
{
	svc_catalog_free(catalog);
	catalog = NULL;
	memset(slots, 0, sizeof(slots));
	memset(chain_slots, 0, sizeof(chain_slots));
}

int ctl_services_init(const char *state_dir, const char *services_dir, char *err,
		      size_t errlen)
{
	struct svc_catalog *cat = ctl_services_catalog();
	int rc;

	if (cat == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (state_dir && state_dir[0] &&
	    (rc = svc_catalog_load(cat, state_dir, err, errlen)) < 0 && rc != -ENOENT)
		return rc;
	if (services_dir && services_dir[0] &&
	    (rc = svc_catalog_load_dir(cat, services_dir, err, errlen)) < 0)
		return rc;
	slots_sync(cat);
	return 0;
}

/* ---- VMs of the running configuration ---- */

static const char *vnet_tenant(const struct ctl_config *c, const char *vnet)
{
	for (unsigned i = 0; i < c->n_vnets; i++)
		if (!strcmp(c->vnets[i].name, vnet))
			return c->vnets[i].tenant;
	return "";
}

/* Local VMs run on this host (its host name); remote ones are named by
 * the tunnel endpoint they sit behind. */
static bool cfg_vm_at(void *arg, size_t i, struct svc_vm *vm)
{
	const struct ctl_config *c = ctl_switch_config();
	static char tep[16];
	const struct ctl_endpoint *e;

	(void)arg;
	if (c == NULL || i >= c->n_endpoints)
		return false;
	e = &c->endpoints[i];
	if (host_name[0] == '\0' && gethostname(host_name, sizeof(host_name) - 1) < 0)
		host_name[0] = '\0';
	vm->name = e->name;
	vm->vnet = e->vnet;
	vm->tenant = vnet_tenant(c, e->vnet);
	if (e->where == CTL_EP_LOCAL) {
		vm->host = host_name;
	} else {
		const uint8_t *b = (const uint8_t *)&e->tep;

		snprintf(tep, sizeof(tep), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		vm->host = tep;
	}
	return true;
}

static bool cfg_vnet_exists(void *arg, const char *name)
{
	const struct ctl_config *c = ctl_switch_config();

	(void)arg;
	for (unsigned i = 0; c && i < c->n_vnets; i++)
		if (!strcmp(c->vnets[i].name, name))
			return true;
	return false;
}

static const struct svc_env env = { cfg_vm_at, cfg_vnet_exists, NULL };

/* ---- helpers ---- */

static struct svc_catalog *cat_or_fail(char *err, size_t errlen)
{
	struct svc_catalog *c = ctl_services_catalog();

	if (c == NULL)
		snprintf(err, errlen, "out of memory");
	return c;
}

/* After a change: the hook, then the state file. */
static int changed(const char *what, const char *name, json_t **result, char *err,
		   size_t errlen)
{
	const struct ctl_config *c = ctl_switch_config();
	int rc = 0;

	slots_sync(ctl_services_catalog());
	if (ctl_services_changed)
		ctl_services_changed();
	if (c && c->state_dir[0] &&
	    (rc = svc_catalog_save(ctl_services_catalog(), c->state_dir, err, errlen)) < 0)
		return rc;
	*result = json_pack("{s:s, s:s}", what, name, "status", "applied");
	return 0;
}

/* Remove the object named by the first argument with @del, then persist
 * and apply like every change. */
static int remove_named(json_t *args, json_t **result, char *err, size_t errlen,
			int (*del)(struct svc_catalog *, const char *, char *, size_t),
			const char *what)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	int rc;

	if (c == NULL)
		return -ENOMEM;
	if ((rc = del(c, ctl_arg(args, 0), err, errlen)) < 0)
		return rc;
	return changed(what, ctl_arg(args, 0), result, err, errlen);
}


static json_t *names_json(const struct svc_names *n)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < n->n; i++)
		json_array_append_new(a, json_string(n->v[i]));
	return a;
}

static json_t *params_json(const struct svc_params *p)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < p->n; i++)
		json_object_set_new(o, p->v[i].key, json_string(p->v[i].value));
	return o;
}

static unsigned profiles_of(const struct svc_catalog *c, const char *service)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->n_profiles; i++)
		n += !strcmp(c->profiles[i].service, service);
	return n;
}

static unsigned enables_of(const struct svc_catalog *c, const char *profile)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->n_enables; i++)
		n += !strcmp(c->enables[i].profile, profile);
	return n;
}

/* "vm=X", "pool=X" or "vnet=X". */
static int parse_target(const char *s, enum svc_target_kind *kind, const char **target,
			char *err, size_t errlen)
{
	static const char *const k[] = { "vm=", "pool=", "vnet=" };

	for (int i = 0; i < 3; i++)
		if (!strncmp(s, k[i], strlen(k[i]))) {
			*kind = (enum svc_target_kind)i;
			*target = s + strlen(k[i]);
			return 0;
		}
	snprintf(err, errlen, "expected vm=VM, pool=POOL or vnet=NET, got '%.64s'", s);
	return -EINVAL;
}

/* ---- service ---- */

static int cmd_service_register(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	int rc;

	if (c == NULL)
		return -ENOMEM;
	if ((rc = svc_catalog_register(c, ctl_arg(args, 0), NULL, err, errlen)) < 0)
		return rc;
	return changed("file", ctl_arg(args, 0), result, err, errlen);
}

static int cmd_service_unregister(json_t *args, json_t **result, char *err, size_t errlen)
{
	return remove_named(args, result, err, errlen, svc_catalog_unregister, "service");
}

static int cmd_service_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	json_t *a;

	(void)args;
	if (c == NULL)
		return -ENOMEM;
	a = json_array();
	for (unsigned i = 0; i < c->n_services; i++) {
		const struct svc_def *d = c->services[i].def;

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "name",
						   d->name, "vendor", d->vendor, "insertion",
						   svc_insertion_name(d->insertion), "levels",
						   (int)d->n_levels, "rules", (int)d->n_rules,
						   "profiles", (int)profiles_of(c, d->name)));
	}
	*result = json_pack("{s:o}", "services", a);
	return 0;
}

static json_t *rule_json(const struct svc_rule *r)
{
	char src[24] = "any", dst[24] = "any", sp[16] = "any", dp[16] = "any";
	const uint8_t *b;

	if (r->src.len) {
		b = (const uint8_t *)&r->src.addr.v4;
		snprintf(src, sizeof(src), "%u.%u.%u.%u/%u", b[0], b[1], b[2], b[3], r->src.len);
	}
	if (r->dst.len) {
		b = (const uint8_t *)&r->dst.addr.v4;
		snprintf(dst, sizeof(dst), "%u.%u.%u.%u/%u", b[0], b[1], b[2], b[3], r->dst.len);
	}
	if (r->sport_lo || r->sport_hi != 65535)
		snprintf(sp, sizeof(sp), "%u-%u", r->sport_lo, r->sport_hi);
	if (r->dport_lo || r->dport_hi != 65535)
		snprintf(dp, sizeof(dp), "%u-%u", r->dport_lo, r->dport_hi);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "direction",
			 svc_dir_name(r->dir), "proto", svc_proto_name(r->proto), "src", src, "dst",
			 dst, "sport", sp, "dport", dp, "action", svc_action_name(r->action),
			 "target", r->target);
}

static void endpoint_ip(const struct svc_endpoint *e, char *ip, size_t len)
{
	const uint8_t *b = (const uint8_t *)&e->ip.v4;

	if (e->ip.family == AF_INET)
		snprintf(ip, len, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	else
		snprintf(ip, len, "(IPv6)");
}

/* kind, address; a port's return port ("out", the same port when not
 * given); an IP's service VNI ("vni", 0 = none). */
static json_t *endpoint_json(const struct svc_endpoint *e)
{
	char ip[64];

	if (e->kind == SVC_EP_PORT)
		return json_pack("{s:s, s:s, s:s}", "kind", "port", "address", e->port, "out",
				 e->port_out[0] ? e->port_out : e->port);
	if (e->kind == SVC_EP_IP) {
		endpoint_ip(e, ip, sizeof(ip));
		return json_pack("{s:s, s:s, s:I}", "kind", "ip", "address", ip, "vni",
				 (json_int_t)e->vni);
	}
	return json_pack("{s:s, s:s}", "kind", "url", "address", e->url);
}

/* The same as one word for a table cell: "port IN[/OUT]", "ip A [vni N]",
 * "url U". */
static json_t *endpoint_text(const struct svc_endpoint *e)
{
	char t[CTL_URL_MAX + 2 * CTL_NAME_MAX + 16], ip[64];

	if (e->kind == SVC_EP_PORT) {
		snprintf(t, sizeof(t), "port %s%s%s", e->port, e->port_out[0] ? "/" : "",
			 e->port_out);
	} else if (e->kind == SVC_EP_IP) {
		endpoint_ip(e, ip, sizeof(ip));
		if (e->vni)
			snprintf(t, sizeof(t), "ip %s vni %u", ip, e->vni);
		else
			snprintf(t, sizeof(t), "ip %s", ip);
	} else {
		snprintf(t, sizeof(t), "url %s", e->url);
	}
	return json_string(t);
}

static int cmd_service_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	const struct svc_service *s;
	const struct svc_def *d;
	json_t *levels, *rules, *eps, *profs;

	if (c == NULL)
		return -ENOMEM;
	if ((s = svc_catalog_service(c, ctl_arg(args, 0))) == NULL) {
		snprintf(err, errlen, "no service '%s' is registered", ctl_arg(args, 0));
		return -ENOENT;
	}
	d = s->def;
	levels = json_array();
	rules = json_array();
	eps = json_array();
	profs = json_array();
	for (unsigned i = 0; i < d->n_levels; i++)
		json_array_append_new(levels, json_pack("{s:s, s:o}", "name", d->levels[i].name,
							"parameters",
							params_json(&d->levels[i].params)));
	for (unsigned i = 0; i < d->n_rules; i++)
		json_array_append_new(rules, rule_json(&d->rules[i]));
	for (unsigned i = 0; i < d->n_endpoints; i++)
		json_array_append_new(eps, endpoint_json(&d->endpoints[i]));
	for (unsigned i = 0; i < c->n_profiles; i++)
		if (!strcmp(c->profiles[i].service, d->name))
			json_array_append_new(profs, json_string(c->profiles[i].name));
	{
		struct svc_params eff = d->params;

		for (unsigned i = 0; i < s->configured.n; i++)
			svc_params_set(&eff, s->configured.v[i].key, s->configured.v[i].value);
		*result = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
				    "name", d->name, "vendor", d->vendor, "description",
				    d->description, "contact", d->contact, "insertion",
				    svc_insertion_name(d->insertion), "endpoints", eps, "levels",
				    levels, "parameters", params_json(&eff), "configured",
				    params_json(&s->configured), "rules", rules, "profiles", profs);
	}
	return 0;
}

static int cmd_service_configure(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	const char *name = ctl_arg(args, 0);
	int rc = 0;

	if (c == NULL)
		return -ENOMEM;
	if (svc_catalog_service(c, name) == NULL) {
		snprintf(err, errlen, "no service '%s' is registered", name);
		return -ENOENT;
	}
	/* All pairs or none: every one is checked before any is set. */
	for (size_t i = 1; i < json_array_size(args) && rc == 0; i++) {
		const char *kv = ctl_arg(args, i), *eq = strchr(kv, '=');
		char key[CTL_NAME_MAX];

		if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
			snprintf(err, errlen, "expected key=value, got '%.64s'", kv);
			rc = -EINVAL;
			break;
		}
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		if (!svc_params_get(&svc_catalog_service(c, name)->def->params, key)) {
			snprintf(err, errlen, "service '%s' has no parameter '%s'", name, key);
			rc = -EINVAL;
		} else if (strlen(eq + 1) >= SVC_TEXT_MAX) {
			snprintf(err, errlen, "value of '%s' is too long", key);
			rc = -EINVAL;
		}
	}
	for (size_t i = 1; i < json_array_size(args) && rc == 0; i++) {
		const char *kv = ctl_arg(args, i), *eq = strchr(kv, '=');
		char key[CTL_NAME_MAX];

		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		rc = svc_catalog_configure(c, name, key, eq + 1, err, errlen);
	}
	if (rc < 0)
		return rc;
	return changed("service", name, result, err, errlen);
}

static int enable_cmd(json_t *args, json_t **result, char *err, size_t errlen, bool on)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	enum svc_target_kind kind;
	const char *target;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	if ((rc = parse_target(ctl_arg(args, 1), &kind, &target, err, errlen)) < 0)
		return rc;
	rc = on ? svc_catalog_enable(c, &env, ctl_arg(args, 0), kind, target, err, errlen)
		: svc_catalog_disable(c, ctl_arg(args, 0), kind, target, err, errlen);
	if (rc < 0)
		return rc;
	return changed("profile", ctl_arg(args, 0), result, err, errlen);
}

static int cmd_service_enable(json_t *args, json_t **result, char *err, size_t errlen)
{
	return enable_cmd(args, result, err, errlen, true);
}

static int cmd_service_disable(json_t *args, json_t **result, char *err, size_t errlen)
{
	return enable_cmd(args, result, err, errlen, false);
}

/* ---- profile ---- */

static int csv_names(const char *csv, struct svc_names *out, const char *what, char *err,
		     size_t errlen)
{
	char buf[4096], *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", csv) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "%s: list too long", what);
		return -EINVAL;
	}
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!ctl_name_valid(t)) {
			snprintf(err, errlen, "%s: '%.64s' is not a valid name", what, t);
			return -EINVAL;
		}
		if (!svc_names_has(out, t) && svc_names_add(out, t) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

/* profile create FILE, or NAME service=S level=L [vms=..] [pools=..]
 * [vnets=..] [tenants=..] [hosts=..] [param.K=V]... */
static int cmd_profile_create(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	struct svc_profile p;
	const char *name = ctl_arg(args, 0);
	int rc = 0;

	if (c == NULL)
		return -ENOMEM;
	if (json_array_size(args) == 1) {
		if ((rc = svc_catalog_register(c, name, NULL, err, errlen)) < 0)
			return rc;
		return changed("file", name, result, err, errlen);
	}
	memset(&p, 0, sizeof(p));
	if (!ctl_name_valid(name)) {
		snprintf(err, errlen, "'%.64s' is not a valid profile name", name);
		return -EINVAL;
	}
	strcpy(p.name, name);
	for (size_t i = 1; i < json_array_size(args) && rc == 0; i++) {
		const char *kv = ctl_arg(args, i), *eq = strchr(kv, '=');
		size_t kl = eq ? (size_t)(eq - kv) : 0;
		int dim = -1;

		if (eq == NULL) {
			snprintf(err, errlen, "expected key=value, got '%.64s'", kv);
			rc = -EINVAL;
			break;
		}
		for (int d = 0; d < SVC_SCOPE_N; d++)
			if (strlen(svc_scope_name((enum svc_scope_dim)d)) == kl &&
			    !strncmp(kv, svc_scope_name((enum svc_scope_dim)d), kl))
				dim = d;
		if (kl == 7 && !strncmp(kv, "service", 7))
			rc = ctl_copy_name(p.service, sizeof(p.service), eq + 1, "service", err,
					   errlen);
		else if (kl == 5 && !strncmp(kv, "level", 5))
			rc = ctl_copy_name(p.level, sizeof(p.level), eq + 1, "level", err, errlen);
		else if (dim >= 0)
			rc = csv_names(eq + 1, &p.scope[dim], svc_scope_name((enum svc_scope_dim)dim),
				       err, errlen);
		else if (kl > 6 && !strncmp(kv, "param.", 6)) {
			char key[CTL_NAME_MAX];

			if (kl - 6 >= sizeof(key) || strlen(eq + 1) >= SVC_TEXT_MAX) {
				snprintf(err, errlen, "parameter '%.64s' too long", kv);
				rc = -EINVAL;
				break;
			}
			memcpy(key, kv + 6, kl - 6);
			key[kl - 6] = '\0';
			if (svc_params_set(&p.params, key, eq + 1) < 0) {
				snprintf(err, errlen, "more than %d parameters", SVC_MAX_PARAMS);
				rc = -EINVAL;
			}
		} else {
			snprintf(err, errlen, "unknown option '%.64s' (expected service=, level=, "
				 "vms=, pools=, vnets=, tenants=, hosts=, param.KEY=)", kv);
			rc = -EINVAL;
		}
	}
	if (rc == 0 && (!p.service[0] || !p.level[0])) {
		snprintf(err, errlen, "profile needs service=S and level=L");
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = svc_catalog_profile_add(c, &p, err, errlen);
	svc_profile_clear(&p);
	if (rc < 0)
		return rc;
	return changed("profile", name, result, err, errlen);
}

static int cmd_profile_delete(json_t *args, json_t **result, char *err, size_t errlen)
{
	return remove_named(args, result, err, errlen, svc_catalog_profile_del, "profile");
}

static json_t *profile_json(const struct svc_catalog *c, unsigned i)
{
	const struct svc_profile *p = &c->profiles[i];
	json_t *scope = json_object(), *en = json_array();
	uint64_t n[DP_SVC_COUNT_MAX];

	for (int d = 0; d < SVC_SCOPE_N; d++)
		json_object_set_new(scope, svc_scope_name((enum svc_scope_dim)d),
				    names_json(&p->scope[d]));
	for (unsigned e = 0; e < c->n_enables; e++)
		if (!strcmp(c->enables[e].profile, p->name)) {
			char t[2 * CTL_NAME_MAX];

			snprintf(t, sizeof(t), "%s=%s", svc_target_name(c->enables[e].kind),
				 c->enables[e].target);
			json_array_append_new(en, json_string(t));
		}
	profile_counters(p, n);
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:{s:I, s:I, s:I, s:I}}", "name",
			 p->name, "service", p->service, "level", p->level, "parameters",
			 params_json(&p->params), "scope", scope, "enabled", en, "slot",
			 (int)p->slot, "counters", "allowed", (json_int_t)n[DP_SVC_ALLOWED],
			 "dropped", (json_int_t)n[DP_SVC_DROPPED], "mirrored",
			 (json_int_t)n[DP_SVC_MIRRORED], "redirected",
			 (json_int_t)n[DP_SVC_REDIRECTED]);
}

static int cmd_profile_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	long i;

	if (c == NULL)
		return -ENOMEM;
	if ((i = svc_catalog_profile(c, ctl_arg(args, 0))) < 0) {
		snprintf(err, errlen, "no profile '%s'", ctl_arg(args, 0));
		return -ENOENT;
	}
	*result = profile_json(c, (unsigned)i);
	return 0;
}

static int cmd_profile_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	json_t *a;

	(void)args;
	if (c == NULL)
		return -ENOMEM;
	a = json_array();
	for (unsigned i = 0; i < c->n_profiles; i++) {
		const struct svc_profile *p = &c->profiles[i];
		uint64_t n[DP_SVC_COUNT_MAX];

		profile_counters(p, n);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:I}",
						   "name", p->name, "service", p->service,
						   "level", p->level, "enables",
						   (int)enables_of(c, p->name), "slot", (int)p->slot,
						   "allowed", (json_int_t)n[DP_SVC_ALLOWED],
						   "dropped", (json_int_t)n[DP_SVC_DROPPED],
						   "mirrored", (json_int_t)n[DP_SVC_MIRRORED],
						   "redirected", (json_int_t)n[DP_SVC_REDIRECTED]));
	}
	*result = json_pack("{s:o}", "profiles", a);
	return 0;
}

/* ---- pool ---- */

static int cmd_pool_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	struct svc_pool p;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	if ((rc = ctl_copy_name(p.name, sizeof(p.name), ctl_arg(args, 0), "pool name", err,
				errlen)) < 0)
		return rc;
	if (!ctl_name_valid(p.name)) {
		snprintf(err, errlen, "'%.64s' is not a valid pool name", p.name);
		return -EINVAL;
	}
	if ((rc = csv_names(ctl_arg(args, 1), &p.vms, "pool vms", err, errlen)) == 0)
		rc = svc_catalog_pool_add(c, &p, err, errlen);
	svc_pool_clear(&p);
	if (rc < 0)
		return rc;
	return changed("pool", ctl_arg(args, 0), result, err, errlen);
}

static int cmd_pool_del(json_t *args, json_t **result, char *err, size_t errlen)
{
	return remove_named(args, result, err, errlen, svc_catalog_pool_del, "pool");
}

static int cmd_pool_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	json_t *a;

	(void)args;
	if (c == NULL)
		return -ENOMEM;
	a = json_array();
	for (unsigned i = 0; i < c->n_pools; i++)
		json_array_append_new(a, json_pack("{s:s, s:o}", "name", c->pools[i].name, "vms",
						   names_json(&c->pools[i].vms)));
	*result = json_pack("{s:o}", "pools", a);
	return 0;
}

/* ---- chain ---- */

static json_t *hop_names_json(const struct svc_chain *ch)
{
	json_t *a = json_array();

	for (unsigned h = 0; h < ch->n_hops; h++)
		json_array_append_new(a, json_string(ch->hops[h]));
	return a;
}

/* Every chain: name, hops (profile names, in order), counter slot. */
static json_t *chains_json(const struct svc_catalog *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < c->n_chains; i++)
		json_array_append_new(a, json_pack("{s:s, s:o, s:i}", "name", c->chains[i].name,
						   "hops", hop_names_json(&c->chains[i]), "slot",
						   (int)c->chains[i].slot));
	return a;
}

/* chain create NAME PROFILE [PROFILE...] */
static int cmd_chain_create(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	const char *name = ctl_arg(args, 0);
	struct svc_chain ch;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	memset(&ch, 0, sizeof(ch));
	if (!ctl_name_valid(name)) {
		snprintf(err, errlen, "'%.64s' is not a valid chain name", name);
		return -EINVAL;
	}
	strcpy(ch.name, name);
	if (json_array_size(args) - 1 > SVC_MAX_HOPS) {
		snprintf(err, errlen, "chain '%s': %zu hops; a chain has 1 to %d", name,
			 json_array_size(args) - 1, SVC_MAX_HOPS);
		return -EINVAL;
	}
	for (size_t i = 1; i < json_array_size(args); i++, ch.n_hops++) {
		const char *hop = ctl_arg(args, i);

		if (!ctl_name_valid(hop)) {
			snprintf(err, errlen, "'%.64s' is not a valid profile name", hop);
			return -EINVAL;
		}
		strcpy(ch.hops[ch.n_hops], hop);
	}
	if ((rc = svc_catalog_chain_add(c, &ch, err, errlen)) < 0)
		return rc;
	return changed("chain", name, result, err, errlen);
}

static int cmd_chain_delete(json_t *args, json_t **result, char *err, size_t errlen)
{
	return remove_named(args, result, err, errlen, svc_catalog_chain_del, "chain");
}

static int cmd_chain_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);

	(void)args;
	if (c == NULL)
		return -ENOMEM;
	*result = json_pack("{s:o}", "chains", chains_json(c));
	return 0;
}

/* Each hop: its profile, service, insertion, endpoints, and what it was
 * sent and gave back in each direction since the chain was created. */
static int cmd_chain_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	const struct svc_chain *ch;
	json_t *hops;
	long i;

	if (c == NULL)
		return -ENOMEM;
	if ((i = svc_catalog_chain(c, ctl_arg(args, 0))) < 0) {
		snprintf(err, errlen, "no chain '%s'", ctl_arg(args, 0));
		return -ENOENT;
	}
	ch = &c->chains[i];
	hops = json_array();
	for (unsigned h = 0; h < ch->n_hops; h++) {
		long pi = svc_catalog_profile(c, ch->hops[h]);
		const struct svc_service *s = pi >= 0 ? svc_catalog_service(c, c->profiles[pi].service)
						      : NULL;
		json_t *eps = json_array();
		uint64_t n[DP_HOP_COUNT_MAX];

		for (unsigned e = 0; s && e < s->def->n_endpoints; e++)
			json_array_append_new(eps, endpoint_text(&s->def->endpoints[e]));
		hop_counters(ch, h, n);
		json_array_append_new(hops, json_pack(
			"{s:i, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I}", "hop", (int)h + 1, "profile",
			ch->hops[h], "service", s ? s->def->name : "", "insertion",
			s ? svc_insertion_name(s->def->insertion) : "", "endpoints", eps, "sent_fwd",
			(json_int_t)n[DP_HOP_SENT_FWD], "back_fwd", (json_int_t)n[DP_HOP_BACK_FWD],
			"sent_rev", (json_int_t)n[DP_HOP_SENT_REV], "back_rev",
			(json_int_t)n[DP_HOP_BACK_REV]));
	}
	*result = json_pack("{s:s, s:i, s:o}", "name", ch->name, "slot", (int)ch->slot, "hops",
			    hops);
	return 0;
}

/* ---- catalog ---- */

static int cmd_catalog_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	json_t *a;

	(void)args;
	if (c == NULL)
		return -ENOMEM;
	a = json_array();
	for (unsigned i = 0; i < c->n_services; i++) {
		const struct svc_def *d = c->services[i].def;
		json_t *profs = json_array();

		for (unsigned p = 0; p < c->n_profiles; p++)
			if (!strcmp(c->profiles[p].service, d->name))
				json_array_append_new(profs, json_string(c->profiles[p].name));
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:o}", "service", d->name,
						   "vendor", d->vendor, "insertion",
						   svc_insertion_name(d->insertion), "description",
						   d->description, "profiles", profs));
	}
	*result = json_pack("{s:o, s:o}", "catalog", a, "chains", chains_json(c));
	return 0;
}

static int cmd_catalog_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct svc_catalog *c = cat_or_fail(err, errlen);
	const char *arg = ctl_arg(args, 0);
	struct svc_vm vm;
	bool found = false;
	json_t *a;

	if (c == NULL)
		return -ENOMEM;
	if (strncmp(arg, "vm=", 3)) {
		snprintf(err, errlen, "expected vm=VM, got '%.64s'", arg);
		return -EINVAL;
	}
	for (size_t i = 0; !found && cfg_vm_at(NULL, i, &vm); i++)
		found = !strcmp(vm.name, arg + 3);
	if (!found) {
		snprintf(err, errlen, "no VM '%s'", arg + 3);
		return -ENOENT;
	}
	a = json_array();
	for (unsigned i = 0; i < c->n_profiles; i++)
		if (svc_catalog_in_scope(c, i, &vm))
			json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b}", "profile",
							   c->profiles[i].name, "service",
							   c->profiles[i].service, "level",
							   c->profiles[i].level, "enabled",
							   svc_catalog_enabled_for(c, i, &vm)));
	*result = json_pack("{s:s, s:s, s:o}", "vm", vm.name, "vnet", vm.vnet, "profiles", a);
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "service/register", "FILE", 1, 1, cmd_service_register,
	  "register the service (and profile, pool) documents of a YAML file on the switch host" },
	{ "service/unregister", "NAME", 1, 1, cmd_service_unregister,
	  "remove a service that has no profiles" },
	{ "service/list", "", 0, 0, cmd_service_list, "registered services" },
	{ "service/show", "NAME", 1, 1, cmd_service_show, "one service: levels, parameters, rules" },
	{ "service/configure", "NAME KEY=VALUE...", 2, 17, cmd_service_configure,
	  "change parameters of a registered service at run time" },
	{ "service/enable", "PROFILE vm=VM|pool=POOL|vnet=NET", 2, 2, cmd_service_enable,
	  "switch a profile on for VMs inside its scope" },
	{ "service/disable", "PROFILE vm=VM|pool=POOL|vnet=NET", 2, 2, cmd_service_disable,
	  "switch a profile off" },
	{ "profile/create", "FILE | NAME service=S level=L [vms=..] [pools=..] [vnets=..] "
	  "[tenants=..] [hosts=..] [param.KEY=V]...", 1, 24, cmd_profile_create,
	  "create a profile of a registered service" },
	{ "profile/delete", "NAME", 1, 1, cmd_profile_delete, "delete a profile not enabled" },
	{ "profile/show", "NAME", 1, 1, cmd_profile_show, "one profile: scope and enables" },
	{ "profile/list", "", 0, 0, cmd_profile_list, "service profiles" },
	{ "pool/add", "NAME VM,...", 2, 2, cmd_pool_add, "name a set of VMs" },
	{ "pool/del", "NAME", 1, 1, cmd_pool_del, "remove a pool nothing uses" },
	{ "pool/list", "", 0, 0, cmd_pool_list, "VM pools" },
	{ "chain/create", "NAME PROFILE [PROFILE...]", 2, 1 + SVC_MAX_HOPS + 1, cmd_chain_create,
	  "name the profiles (network or external services) that traffic visits in order" },
	{ "chain/delete", "NAME", 1, 1, cmd_chain_delete, "delete a service chain" },
	{ "chain/list", "", 0, 0, cmd_chain_list, "service chains: hops and counter slot" },
	{ "chain/show", "NAME", 1, 1, cmd_chain_show,
	  "one chain: each hop's service, endpoints and counters" },
	{ "catalog/list", "", 0, 0, cmd_catalog_list, "services and their profiles, chains" },
	{ "catalog/show", "vm=VM", 1, 1, cmd_catalog_show,
	  "profiles a VM may use and which are enabled for it" },
};

int ctl_cmds_services_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
