/* JSON values of the logical model in the policy service (docs/policy.md). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_model_json.h"

static const char *const physical_words[] = {
	"host", "tep", "ip", "ips", "address", "port", "nic", "mac", "interface", "device",
};

bool
ctl_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CTL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
			return false;
	return true;
}

static bool
is_physical_word(const char *k)
{
	for (size_t i = 0; i < sizeof(physical_words) / sizeof(physical_words[0]); i++)
		if (strcmp(k, physical_words[i]) == 0)
			return true;
	return false;
}

/* Only @allowed keys in @j; a physical word gets the policy message. */
static int
check_keys(const json_t *j, const char *const *allowed, const char *what, const char *name,
	   bool policy, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(j)) {
		snprintf(err, errlen, "%s '%s': value must be a JSON object", what, name);
		return -EINVAL;
	}
	json_object_foreach((json_t *)j, k, v) {
		bool ok = false;

		for (unsigned i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(k, allowed[i]) == 0;
		if (ok)
			continue;
		if (policy && is_physical_word(k))
			snprintf(err, errlen, "%s '%s': '%s' is a physical location; policies name "
				 "only VMs, groups and virtual networks", what, name, k);
		else
			snprintf(err, errlen, "%s '%s': unknown key '%s'", what, name, k);
		return -EINVAL;
	}
	return 0;
}

static int
get_name(const json_t *j, const char *key, bool required, char *out, const char *what,
	 const char *name, char *err, size_t errlen)
{
	const json_t *v = json_object_get(j, key);

	out[0] = '\0';
	if (v == NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s '%s': missing '%s'", what, name, key);
		return -EINVAL;
	}
	if (!json_is_string(v) || !ctl_name_valid(json_string_value(v))) {
		snprintf(err, errlen, "%s '%s': '%s' must be a name (letters, digits, '_', '.', '-')",
			 what, name, key);
		return -EINVAL;
	}
	snprintf(out, CTL_NAME_MAX, "%s", json_string_value(v));
	return 0;
}

static int
check_name(const char *name, const char *what, char *err, size_t errlen)
{
	if (ctl_name_valid(name))
		return 0;
	snprintf(err, errlen, "%s '%.40s': not a valid name", what, name);
	return -EINVAL;
}

int
ctl_json_to_tenant(const char *name, const json_t *j, struct ctl_tenant *t,
		   char *err, size_t errlen)
{
	static const char *const keys[] = { "description", NULL };

	memset(t, 0, sizeof(*t));
	if (check_name(name, "tenant", err, errlen) < 0 ||
	    check_keys(j, keys, "tenant", name, false, err, errlen) < 0)
		return -EINVAL;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->origin = CTL_FROM_SERVICE;
	return 0;
}

int
ctl_json_to_group(const char *name, const json_t *j, struct ctl_group *g,
		  char *err, size_t errlen)
{
	static const char *const keys[] = { "tenant", "description", NULL };

	memset(g, 0, sizeof(*g));
	if (check_name(name, "group", err, errlen) < 0 ||
	    check_keys(j, keys, "group", name, false, err, errlen) < 0 ||
	    get_name(j, "tenant", false, g->tenant, "group", name, err, errlen) < 0)
		return -EINVAL;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->origin = CTL_FROM_SERVICE;
	return 0;
}

/* The YAML loader's rule (cfg_check_vnet): a gateway is a host address
 * inside its subnet -- not the network address, nor the IPv4 broadcast. */
static bool
gateway_fits(const struct ctl_prefix *p, const struct ctl_ip *g)
{
	const uint8_t *a = g->family == AF_INET ? (const uint8_t *)&g->v4 : g->v6;
	const uint8_t *n = p->addr.family == AF_INET ? (const uint8_t *)&p->addr.v4 : p->addr.v6;
	unsigned bits = g->family == AF_INET ? 32 : 128;
	bool zero = true, ones = true;

	if (g->family != p->addr.family)
		return false;
	for (unsigned b = 0; b < bits; b++) {
		bool set = (a[b / 8] & (0x80 >> (b % 8))) != 0;

		if (b < p->len && set != ((n[b / 8] & (0x80 >> (b % 8))) != 0))
			return false;
		if (b >= p->len) {
			zero &= !set;
			ones &= set;
		}
	}
	/* /31, /32 (and /127, /128) have no network or broadcast address. */
	return p->len + 1u >= bits || !(zero || (ones && g->family == AF_INET));
}

int
ctl_json_to_vnet(const char *name, const json_t *j, struct ctl_vnet *v, char *err, size_t errlen)
{
	static const char *const keys[] = { "vni", "tenant", "subnets", "flood", "description", NULL };
	const json_t *vni, *subnets, *flood, *s;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (check_name(name, "virtual network", err, errlen) < 0 ||
	    check_keys(j, keys, "virtual network", name, false, err, errlen) < 0 ||
	    get_name(j, "tenant", false, v->tenant, "virtual network", name, err, errlen) < 0)
		return -EINVAL;
	snprintf(v->name, sizeof(v->name), "%s", name);
	vni = json_object_get(j, "vni");
	if (!json_is_integer(vni) || json_integer_value(vni) < 1 ||
	    json_integer_value(vni) > 0xffffff) {
		snprintf(err, errlen, "virtual network '%s': 'vni' must be an integer 1..16777215",
			 name);
		return -EINVAL;
	}
	v->vni = (uint32_t)json_integer_value(vni);
	flood = json_object_get(j, "flood");
	if (flood != NULL && !json_is_boolean(flood)) {
		snprintf(err, errlen, "virtual network '%s': 'flood' must be true or false", name);
		return -EINVAL;
	}
	v->flood = json_is_true(flood);
	subnets = json_object_get(j, "subnets");
	if (subnets != NULL && (!json_is_array(subnets) ||
				json_array_size(subnets) > CTL_MAX_SUBNETS)) {
		snprintf(err, errlen, "virtual network '%s': 'subnets' must be a list of at most "
			 "%d subnets", name, CTL_MAX_SUBNETS);
		return -EINVAL;
	}
	json_array_foreach(subnets, i, s) {
		const json_t *pfx = json_is_object(s) ? json_object_get(s, "prefix") : s;
		const json_t *gw = json_is_object(s) ? json_object_get(s, "gateway") : NULL;

		if (!json_is_string(pfx) ||
		    ctl_parse_prefix(json_string_value(pfx), &v->subnets[i]) < 0 ||
		    (gw != NULL && (!json_is_string(gw) ||
				    ctl_parse_ip(json_string_value(gw), &v->gateways[i]) < 0)) ||
		    (json_is_object(s) && json_object_size(s) != 1u + (gw != NULL))) {
			snprintf(err, errlen, "virtual network '%s': subnet %zu must be \"CIDR\" or "
				 "{\"prefix\": CIDR, \"gateway\": IP}", name, i + 1);
			return -EINVAL;
		}
		if (gw != NULL && !gateway_fits(&v->subnets[i], &v->gateways[i])) {
			snprintf(err, errlen, "virtual network '%s': subnet %zu: gateway %s must be a "
				 "host address inside %s", name, i + 1, json_string_value(gw),
				 json_string_value(pfx));
			return -EINVAL;
		}
		v->n_subnets++;
	}
	v->origin = CTL_FROM_SERVICE;
	return 0;
}

/* A selector name that is an address is a physical reference in disguise. */
static bool
looks_physical(const char *s)
{
	struct ctl_ip ip;
	uint8_t mac[6];

	return ctl_parse_ip(s, &ip) == 0 || ctl_parse_mac(s, mac) == 0;
}

static int
json_to_selector(const json_t *j, struct ctl_selector *sel, const char *side, const char *name,
		 char *err, size_t errlen)
{
	static const struct { const char *key; enum ctl_sel_kind kind; } kinds[] = {
		{ "vm", CTL_SEL_VM }, { "group", CTL_SEL_GROUP }, { "vnet", CTL_SEL_VNET },
	};
	const char *k;
	json_t *v;

	memset(sel, 0, sizeof(*sel));
	if (json_is_string(j) && strcmp(json_string_value(j), "any") == 0)
		return 0;
	/* Before the shape: {"vm": "a", "tep": ...} is refused for the reason
	 * that matters, not for having two keys. */
	json_object_foreach((json_t *)j, k, v) {
		if (is_physical_word(k))
			goto physical;
		if (json_is_string(v) && looks_physical(json_string_value(v))) {
			k = json_string_value(v);
			goto physical;
		}
	}
	k = json_string_value(j);
	if (k != NULL && looks_physical(k))
		goto physical;
	if (!json_is_object(j) || json_object_size(j) != 1) {
		snprintf(err, errlen, "policy '%s': '%s' must be \"any\" or one of {\"vm\": NAME}, "
			 "{\"group\": NAME}, {\"vnet\": NAME}, {\"any\": true}", name, side);
		return -EINVAL;
	}
	json_object_foreach((json_t *)j, k, v) {
		if (strcmp(k, "any") == 0 && json_is_true(v))
			return 0;
		for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (strcmp(k, kinds[i].key) != 0 || !json_is_string(v))
				continue;
			if (!ctl_name_valid(json_string_value(v))) {
				snprintf(err, errlen, "policy '%s': %s '%.40s' is not a valid name",
					 name, k, json_string_value(v));
				return -EINVAL;
			}
			sel->kind = kinds[i].kind;
			snprintf(sel->name, sizeof(sel->name), "%s", json_string_value(v));
			return 0;
		}
	}
	snprintf(err, errlen, "policy '%s': bad '%s' selector", name, side);
	return -EINVAL;
physical:
	snprintf(err, errlen, "policy '%s': '%s' selector: '%.40s' is a physical location; "
		 "policies name only VMs, groups and virtual networks", name, side, k);
	return -EINVAL;
}

int
ctl_json_to_policy(const char *name, const json_t *j, struct ctl_policy *p,
		   char *err, size_t errlen)
{
	static const char *const keys[] = {
		"tenant", "from", "to", "action", "chain", "priority", "description", NULL,
	};
	const json_t *action, *prio;
	const char *a;

	memset(p, 0, sizeof(*p));
	if (check_name(name, "policy", err, errlen) < 0 ||
	    check_keys(j, keys, "policy", name, true, err, errlen) < 0 ||
	    get_name(j, "tenant", false, p->tenant, "policy", name, err, errlen) < 0 ||
	    json_to_selector(json_object_get(j, "from"), &p->from, "from", name, err, errlen) < 0 ||
	    json_to_selector(json_object_get(j, "to"), &p->to, "to", name, err, errlen) < 0)
		return -EINVAL;
	snprintf(p->name, sizeof(p->name), "%s", name);
	action = json_object_get(j, "action");
	a = json_is_string(action) ? json_string_value(action) : "";
	if (strcmp(a, "allow") == 0)
		p->action = CTL_ACT_ALLOW;
	else if (strcmp(a, "deny") == 0)
		p->action = CTL_ACT_DENY;
	else if (strcmp(a, "chain") == 0)
		p->action = CTL_ACT_CHAIN;
	else {
		snprintf(err, errlen, "policy '%s': 'action' must be allow, deny or chain", name);
		return -EINVAL;
	}
	if (get_name(j, "chain", p->action == CTL_ACT_CHAIN, p->chain, "policy", name,
		     err, errlen) < 0)
		return -EINVAL;
	if (p->action != CTL_ACT_CHAIN && p->chain[0] != '\0') {
		snprintf(err, errlen, "policy '%s': 'chain' only goes with action chain", name);
		return -EINVAL;
	}
	prio = json_object_get(j, "priority");
	if (prio != NULL && (!json_is_integer(prio) || json_integer_value(prio) < -1000000 ||
			     json_integer_value(prio) > 1000000)) {
		snprintf(err, errlen, "policy '%s': 'priority' must be an integer "
			 "-1000000..1000000", name);
		return -EINVAL;
	}
	p->priority = prio != NULL ? (int)json_integer_value(prio) : 0;
	p->origin = CTL_FROM_SERVICE;
	return 0;
}

int
ctl_json_to_endpoint(const json_t *j, struct ctl_endpoint *e, char *err, size_t errlen)
{
	static const char *const keys[] = { "vm", "vnet", "mac", "ips", "groups", "tep", NULL };
	const json_t *mac, *ips, *groups, *tep, *x;
	struct ctl_ip tip;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "endpoint: value must be a JSON object");
		return -EINVAL;
	}
	if (get_name(j, "vm", true, e->name, "endpoint", "?", err, errlen) < 0 ||
	    check_keys(j, keys, "endpoint", e->name, false, err, errlen) < 0 ||
	    get_name(j, "vnet", true, e->vnet, "endpoint", e->name, err, errlen) < 0)
		return -EINVAL;
	mac = json_object_get(j, "mac");
	if (!json_is_string(mac) || ctl_parse_mac(json_string_value(mac), e->mac) < 0 ||
	    (e->mac[0] & 1)) {
		snprintf(err, errlen, "endpoint '%s': 'mac' must be a unicast MAC", e->name);
		return -EINVAL;
	}
	tep = json_object_get(j, "tep");
	if (!json_is_string(tep) || ctl_parse_ip(json_string_value(tep), &tip) < 0 ||
	    tip.family != AF_INET) {
		snprintf(err, errlen, "endpoint '%s': 'tep' must be an IPv4 address", e->name);
		return -EINVAL;
	}
	e->where = CTL_EP_REMOTE;
	e->tep = tip.v4;
	ips = json_object_get(j, "ips");
	if (ips != NULL && (!json_is_array(ips) || json_array_size(ips) > CTL_MAX_EP_IPS)) {
		snprintf(err, errlen, "endpoint '%s': 'ips' must be a list of at most %d addresses",
			 e->name, CTL_MAX_EP_IPS);
		return -EINVAL;
	}
	json_array_foreach(ips, i, x) {
		if (!json_is_string(x) || ctl_parse_ip(json_string_value(x), &e->ips[i]) < 0) {
			snprintf(err, errlen, "endpoint '%s': bad address in 'ips'", e->name);
			return -EINVAL;
		}
		e->n_ips++;
	}
	groups = json_object_get(j, "groups");
	if (groups != NULL && (!json_is_array(groups) ||
			       json_array_size(groups) > CTL_MAX_EP_GROUPS)) {
		snprintf(err, errlen, "endpoint '%s': 'groups' must be a list of at most %d names",
			 e->name, CTL_MAX_EP_GROUPS);
		return -EINVAL;
	}
	json_array_foreach(groups, i, x) {
		if (!json_is_string(x) || !ctl_name_valid(json_string_value(x))) {
			snprintf(err, errlen, "endpoint '%s': bad group name", e->name);
			return -EINVAL;
		}
		snprintf(e->groups[i], CTL_NAME_MAX, "%s", json_string_value(x));
		e->n_groups++;
	}
	e->origin = CTL_FROM_SERVICE;
	return 0;
}

static json_t *
ip_json(const struct ctl_ip *ip)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(ip->family, ip->family == AF_INET ? (const void *)&ip->v4 : ip->v6,
		      buf, sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

json_t *
ctl_vnet_to_json(const struct ctl_vnet *v)
{
	json_t *j = json_pack("{s:i, s:b}", "vni", (int)v->vni, "flood", v->flood);
	json_t *subnets = json_array();

	if (j == NULL || subnets == NULL) {
		json_decref(j);
		json_decref(subnets);
		return NULL;
	}
	if (v->tenant[0])
		json_object_set_new(j, "tenant", json_string(v->tenant));
	for (unsigned i = 0; i < v->n_subnets; i++) {
		char buf[INET6_ADDRSTRLEN + 8];
		json_t *p = ip_json(&v->subnets[i].addr);

		snprintf(buf, sizeof(buf), "%s/%u", json_string_value(p), v->subnets[i].len);
		json_decref(p);
		if (v->gateways[i].family != 0)
			json_array_append_new(subnets, json_pack("{s:s, s:o}", "prefix", buf,
								 "gateway", ip_json(&v->gateways[i])));
		else
			json_array_append_new(subnets, json_string(buf));
	}
	json_object_set_new(j, "subnets", subnets);
	return j;
}

json_t *
ctl_group_to_json(const struct ctl_group *g)
{
	json_t *j = json_object();

	if (j != NULL && g->tenant[0])
		json_object_set_new(j, "tenant", json_string(g->tenant));
	return j;
}

json_t *
ctl_selector_to_json(const struct ctl_selector *s)
{
	static const char *const key[] = {
		[CTL_SEL_VNET] = "vnet", [CTL_SEL_GROUP] = "group", [CTL_SEL_VM] = "vm",
	};

	if (s->kind == CTL_SEL_ANY)
		return json_string("any");
	return json_pack("{s:s}", key[s->kind], s->name);
}

json_t *
ctl_policy_to_json(const struct ctl_policy *p)
{
	static const char *const action[] = {
		[CTL_ACT_ALLOW] = "allow", [CTL_ACT_DENY] = "deny", [CTL_ACT_CHAIN] = "chain",
	};
	json_t *j = json_pack("{s:o, s:o, s:s, s:i}", "from", ctl_selector_to_json(&p->from),
			      "to", ctl_selector_to_json(&p->to), "action", action[p->action],
			      "priority", p->priority);

	if (j != NULL && p->tenant[0])
		json_object_set_new(j, "tenant", json_string(p->tenant));
	if (j != NULL && p->action == CTL_ACT_CHAIN)
		json_object_set_new(j, "chain", json_string(p->chain));
	return j;
}

json_t *
ctl_endpoint_to_json(const struct ctl_endpoint *e, uint32_t tep)
{
	struct ctl_ip t = { .family = AF_INET, .v4 = tep };
	char mac[18];
	json_t *j, *ips = json_array(), *groups = json_array();

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac[0], e->mac[1],
		 e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
	for (unsigned i = 0; i < e->n_ips; i++)
		json_array_append_new(ips, ip_json(&e->ips[i]));
	for (unsigned i = 0; i < e->n_groups; i++)
		json_array_append_new(groups, json_string(e->groups[i]));
	j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "vm", e->name, "vnet", e->vnet,
		      "mac", mac, "ips", ips, "groups", groups, "tep", ip_json(&t));
	return j;
}
