/* tenant, group and policy commands: the logical model (D2) edited through
 * the YAML backend.  Like endpoint/add, a change edits a copy of the running
 * configuration and hands it to ctl_switch_change(): validated whole, saved
 * to the state file, or nothing happens.
 *
 * Each command's YAML-backend body is one function (*_yaml) so that a
 * policy-service backend can branch in front of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmds.h"
#include "ctl_cmds_util.h"
#include "ctl_model_json.h"
#include "ctl_pservice.h"
#include "ctl_server.h"
#include "ctl_switch.h"

static const char *
origin_name(enum ctl_origin o)
{
	return o == CTL_FROM_SERVICE ? "service" : "config";
}

/* Refuses to edit an object the policy service owns (it would come back). */
static int
owned(enum ctl_origin o, const char *what, const char *name, char *err, size_t errlen)
{
	if (o == CTL_FROM_CONFIG)
		return 0;
	snprintf(err, errlen, "%s '%s' comes from the policy service: change it there", what,
		 name);
	return -EPERM;
}

static long
find_tenant(const struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_tenants; i++)
		if (strcmp(c->tenants[i].name, name) == 0)
			return i;
	return -1;
}

static long
find_group(const struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_groups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return i;
	return -1;
}

static long
find_policy(const struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_policies; i++)
		if (strcmp(c->policies[i].name, name) == 0)
			return i;
	return -1;
}

/* A JSON string, or null for "" (the table shows "-"). */
static json_t *
str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* ---- tenants ---- */

static int
cmd_tenant_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct ctl_config *c = ctl_switch_config();
	json_t *arr = json_array();

	(void)args; (void)err; (void)errlen;
	for (unsigned i = 0; i < c->n_tenants; i++) {
		const struct ctl_tenant *t = &c->tenants[i];
		unsigned nets = 0;

		for (unsigned v = 0; v < c->n_vnets; v++)
			nets += strcmp(c->vnets[v].tenant, t->name) == 0;
		json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:I}", "name", t->name,
						     "networks", (int)nets, "origin",
						     origin_name(t->origin), "revision",
						     (json_int_t)t->revision));
	}
	*result = json_pack("{s:o}", "tenants", arr);
	return 0;
}

static int
cmd_tenant_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next = ctl_editable(err, errlen);
	struct ctl_tenant *t;
	int ret;

	if (next == NULL)
		return -ENOMEM;
	if (find_tenant(next, name) >= 0) {
		snprintf(err, errlen, "tenant '%s' already exists", name);
		ret = -EEXIST;
		goto fail;
	}
	if ((t = ctl_grow(&next->tenants, next->n_tenants, sizeof(*t), err, errlen)) == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	t->file = next->file;
	t->origin = CTL_FROM_CONFIG;
	if ((ret = ctl_copy_name(t->name, sizeof(t->name), name, "tenant name", err, errlen)) < 0)
		goto fail;
	next->n_tenants++;
	return ctl_commit(next, "tenant", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

/* What still names tenant @name, for the refusal; NULL when nothing does. */
static const char *
tenant_user(const struct ctl_config *c, const char *name, char *buf, size_t len)
{
	for (unsigned i = 0; i < c->n_vnets; i++)
		if (strcmp(c->vnets[i].tenant, name) == 0) {
			snprintf(buf, len, "network '%s'", c->vnets[i].name);
			return buf;
		}
	for (unsigned i = 0; i < c->n_groups; i++)
		if (strcmp(c->groups[i].tenant, name) == 0) {
			snprintf(buf, len, "group '%s'", c->groups[i].name);
			return buf;
		}
	for (unsigned i = 0; i < c->n_policies; i++)
		if (strcmp(c->policies[i].tenant, name) == 0) {
			snprintf(buf, len, "policy '%s'", c->policies[i].name);
			return buf;
		}
	return NULL;
}

static int
cmd_tenant_del(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next = ctl_editable(err, errlen);
	char user[2 * CTL_NAME_MAX];
	long i;
	int ret;

	if (next == NULL)
		return -ENOMEM;
	if ((i = find_tenant(next, name)) < 0) {
		snprintf(err, errlen, "no tenant '%s'", name);
		ret = -ENOENT;
		goto fail;
	}
	if ((ret = owned(next->tenants[i].origin, "tenant", name, err, errlen)) < 0)
		goto fail;
	if (tenant_user(next, name, user, sizeof(user)) != NULL) {
		snprintf(err, errlen, "tenant '%s' is used by %s: change or delete it first", name,
			 user);
		ret = -EBUSY;
		goto fail;
	}
	ctl_remove(next->tenants, next->n_tenants, sizeof(next->tenants[0]), (unsigned)i);
	next->n_tenants--;
	return ctl_commit(next, "tenant", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

/* ---- groups ---- */

static int
cmd_group_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct ctl_config *c = ctl_switch_config();
	json_t *arr = json_array();
	unsigned *members = calloc(c->n_groups + 1, sizeof(*members));

	(void)args;
	if (members == NULL) {
		json_decref(arr);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* One pass over the endpoints: there may be a million. */
	for (unsigned e = 0; e < c->n_endpoints; e++)
		for (unsigned g = 0; g < c->endpoints[e].n_groups; g++) {
			long gi = find_group(c, c->endpoints[e].groups[g]);

			if (gi >= 0)
				members[gi]++;
		}
	for (unsigned i = 0; i < c->n_groups; i++) {
		const struct ctl_group *g = &c->groups[i];

		json_array_append_new(arr, json_pack("{s:s, s:o, s:i, s:s, s:I}", "name", g->name,
						     "tenant", str_or_null(g->tenant), "members",
						     (int)members[i], "origin",
						     origin_name(g->origin), "revision",
						     (json_int_t)g->revision));
	}
	free(members);
	*result = json_pack("{s:o}", "groups", arr);
	return 0;
}

static int
cmd_group_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const allowed[] = { "tenant", NULL };
	const char *name = ctl_arg(args, 0), *tenant = ctl_opt(args, 1, "tenant");
	struct ctl_config *next;
	struct ctl_group *g;
	int ret = ctl_check_opts(args, 1, allowed, err, errlen);

	if (ret < 0)
		return ret;
	if ((next = ctl_editable(err, errlen)) == NULL)
		return -ENOMEM;
	if (find_group(next, name) >= 0) {
		snprintf(err, errlen, "group '%s' already exists", name);
		ret = -EEXIST;
		goto fail;
	}
	if ((g = ctl_grow(&next->groups, next->n_groups, sizeof(*g), err, errlen)) == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	g->file = next->file;
	g->origin = CTL_FROM_CONFIG;
	if ((ret = ctl_copy_name(g->name, sizeof(g->name), name, "group name", err, errlen)) < 0 ||
	    (tenant != NULL && (ret = ctl_copy_name(g->tenant, sizeof(g->tenant), tenant,
						    "tenant name", err, errlen)) < 0))
		goto fail;
	next->n_groups++;
	return ctl_commit(next, "group", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

static bool
selects(const struct ctl_selector *s, enum ctl_sel_kind kind, const char *name)
{
	return s->kind == kind && strcmp(s->name, name) == 0;
}

static int
cmd_group_del(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next = ctl_editable(err, errlen);
	long i;
	int ret;

	if (next == NULL)
		return -ENOMEM;
	if ((i = find_group(next, name)) < 0) {
		snprintf(err, errlen, "no group '%s'", name);
		ret = -ENOENT;
		goto fail;
	}
	if ((ret = owned(next->groups[i].origin, "group", name, err, errlen)) < 0)
		goto fail;
	for (unsigned e = 0; e < next->n_endpoints; e++)
		for (unsigned g = 0; g < next->endpoints[e].n_groups; g++)
			if (strcmp(next->endpoints[e].groups[g], name) == 0) {
				snprintf(err, errlen, "group '%s' still has endpoint '%s': take it "
					 "out first", name, next->endpoints[e].name);
				ret = -EBUSY;
				goto fail;
			}
	for (unsigned p = 0; p < next->n_policies; p++)
		if (selects(&next->policies[p].from, CTL_SEL_GROUP, name) ||
		    selects(&next->policies[p].to, CTL_SEL_GROUP, name)) {
			snprintf(err, errlen, "group '%s' is used by policy '%s': delete the policy "
				 "first", name, next->policies[p].name);
			ret = -EBUSY;
			goto fail;
		}
	ctl_remove(next->groups, next->n_groups, sizeof(next->groups[0]), (unsigned)i);
	next->n_groups--;
	return ctl_commit(next, "group", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

/* ---- policies ---- */

static json_t *
policy_json(const struct ctl_policy *p)
{
	char from[2 * CTL_NAME_MAX], to[2 * CTL_NAME_MAX];

	ctl_format_selector(&p->from, from, sizeof(from));
	ctl_format_selector(&p->to, to, sizeof(to));
	return json_pack("{s:s, s:o, s:s, s:s, s:s, s:o, s:i, s:s, s:I}", "name", p->name,
			 "tenant", str_or_null(p->tenant), "from", from, "to", to, "action",
			 ctl_action_name(p->action), "chain", str_or_null(p->chain), "priority",
			 p->priority, "origin", origin_name(p->origin), "revision",
			 (json_int_t)p->revision);
}

static int
cmd_policy_list(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct ctl_config *c = ctl_switch_config();
	json_t *arr = json_array();

	(void)args; (void)err; (void)errlen;
	for (unsigned i = 0; i < c->n_policies; i++)
		json_array_append_new(arr, policy_json(&c->policies[i]));
	*result = json_pack("{s:o}", "policies", arr);
	return 0;
}

static int
cmd_policy_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct ctl_config *c = ctl_switch_config();
	const char *name = ctl_arg(args, 0);
	long i = find_policy(c, name);

	if (i < 0) {
		snprintf(err, errlen, "no policy '%s'", name);
		return -ENOENT;
	}
	*result = policy_json(&c->policies[i]);
	return 0;
}

static int
parse_side(const char *s, const char *what, struct ctl_selector *sel, char *err, size_t errlen)
{
	if (s == NULL) {
		snprintf(err, errlen, "say %s=vm:NAME|group:NAME|vnet:NAME|any", what);
		return -EINVAL;
	}
	if (ctl_parse_selector(s, sel) < 0) {
		snprintf(err, errlen, "%s: '%s' is not vm:NAME, group:NAME, vnet:NAME or any", what,
			 s);
		return -EINVAL;
	}
	return 0;
}

/* allow, deny or chain:CHAIN into @p. */
static int
parse_action(const char *s, struct ctl_policy *p, char *err, size_t errlen)
{
	if (s == NULL) {
		snprintf(err, errlen, "say action=allow|deny|chain:CHAIN");
		return -EINVAL;
	}
	if (strcmp(s, "allow") == 0) {
		p->action = CTL_ACT_ALLOW;
	} else if (strcmp(s, "deny") == 0) {
		p->action = CTL_ACT_DENY;
	} else if (strncmp(s, "chain:", 6) == 0 && s[6] != '\0') {
		p->action = CTL_ACT_CHAIN;
		return ctl_copy_name(p->chain, sizeof(p->chain), s + 6, "chain name", err, errlen);
	} else {
		snprintf(err, errlen, "action: '%s' is not allow, deny or chain:CHAIN", s);
		return -EINVAL;
	}
	return 0;
}

static int
parse_priority(const char *s, int *out, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < -1000000 || v > 1000000) {
		snprintf(err, errlen, "priority: '%s' is not a number from -1000000 to 1000000", s);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

/* The policy the arguments describe. */
static int
policy_from_args(json_t *args, struct ctl_policy *out, char *err, size_t errlen)
{
	static const char *const allowed[] = { "from", "to", "action", "priority", "tenant", NULL };
	const char *name = ctl_arg(args, 0), *tenant = ctl_opt(args, 1, "tenant");
	const char *prio = ctl_opt(args, 1, "priority");
	struct ctl_policy p = { .origin = CTL_FROM_CONFIG };
	int ret = ctl_check_opts(args, 1, allowed, err, errlen);

	if (ret < 0 ||
	    (ret = ctl_copy_name(p.name, sizeof(p.name), name, "policy name", err, errlen)) < 0 ||
	    (ret = parse_side(ctl_opt(args, 1, "from"), "from", &p.from, err, errlen)) < 0 ||
	    (ret = parse_side(ctl_opt(args, 1, "to"), "to", &p.to, err, errlen)) < 0 ||
	    (ret = parse_action(ctl_opt(args, 1, "action"), &p, err, errlen)) < 0 ||
	    (prio != NULL && (ret = parse_priority(prio, &p.priority, err, errlen)) < 0) ||
	    (tenant != NULL &&
	     (ret = ctl_copy_name(p.tenant, sizeof(p.tenant), tenant, "tenant name", err,
				  errlen)) < 0))
		return ret;
	*out = p;
	return 0;
}

/* Builds the policy from the arguments; an existing one of that name is
 * replaced in place (its position kept). */
static int
policy_add_yaml(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_policy p;
	struct ctl_config *next;
	long i;
	int ret = policy_from_args(args, &p, err, errlen);

	if (ret < 0)
		return ret;
	if ((next = ctl_editable(err, errlen)) == NULL)
		return -ENOMEM;
	p.file = next->file;
	if ((i = find_policy(next, name)) >= 0) {
		if ((ret = owned(next->policies[i].origin, "policy", name, err, errlen)) < 0)
			goto fail;
		next->policies[i] = p;
	} else {
		struct ctl_policy *slot = ctl_grow(&next->policies, next->n_policies, sizeof(p), err,
						   errlen);

		if (slot == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		*slot = p;
		next->n_policies++;
	}
	return ctl_commit(next, "policy", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

static int
policy_del_yaml(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	struct ctl_config *next = ctl_editable(err, errlen);
	long i;
	int ret;

	if (next == NULL)
		return -ENOMEM;
	if ((i = find_policy(next, name)) < 0) {
		snprintf(err, errlen, "no policy '%s'", name);
		ret = -ENOENT;
		goto fail;
	}
	if ((ret = owned(next->policies[i].origin, "policy", name, err, errlen)) < 0)
		goto fail;
	ctl_remove(next->policies, next->n_policies, sizeof(next->policies[0]), (unsigned)i);
	next->n_policies--;
	return ctl_commit(next, "policy", name, result, err, errlen);
fail:
	ctl_config_free(next);
	return ret;
}

/* ---- policies with the etcd backend go to etcd; tenants and groups are the
 * switch's configuration (offered to etcd where it has none, docs/policy.md) ---- */

/* etcd backend: the change goes to the policy service and comes back
 * through its watch, to this switch and every other. */
static int
service_write(const char *kind, const char *name, json_t *value, json_t **result,
	      char *err, size_t errlen)
{
	char key[CTL_NAME_MAX + 16];
	int ret;

	snprintf(key, sizeof(key), "%s/%s", kind, name);
	if (value != NULL) {
		ret = ctl_pservice_put(key, value, err, errlen);
		json_decref(value);
	} else {
		ret = ctl_pservice_delete(key, err, errlen);
	}
	if (ret < 0)
		return ret;
	*result = json_pack("{s:s, s:s}", "key", key, "status", "sent to the policy service");
	return 0;
}

/* Names a policy refers to must exist in the running model. */
static int
policy_refs_exist(const struct ctl_policy *p, char *err, size_t errlen)
{
	const struct ctl_config *c = ctl_switch_config();
	const struct ctl_selector *side[2] = { &p->from, &p->to };

	for (unsigned s = 0; s < 2; s++) {
		bool found = side[s]->kind == CTL_SEL_ANY || side[s]->kind == CTL_SEL_VM;

		for (unsigned i = 0; !found && side[s]->kind == CTL_SEL_GROUP && i < c->n_groups; i++)
			found = strcmp(c->groups[i].name, side[s]->name) == 0;
		for (unsigned i = 0; !found && side[s]->kind == CTL_SEL_VNET && i < c->n_vnets; i++)
			found = strcmp(c->vnets[i].name, side[s]->name) == 0;
		if (!found) {
			snprintf(err, errlen, "policy '%s': no %s '%s'", p->name,
				 side[s]->kind == CTL_SEL_GROUP ? "group" : "network", side[s]->name);
			return -ENOENT;
		}
	}
	return 0;
}

static int
cmd_policy_add(json_t *args, json_t **result, char *err, size_t errlen)
{
	struct ctl_policy p;
	int ret;

	if (!ctl_pservice_is_etcd())
		return policy_add_yaml(args, result, err, errlen);
	ret = policy_from_args(args, &p, err, errlen);
	if (ret == 0)
		ret = policy_refs_exist(&p, err, errlen);
	if (ret < 0)
		return ret;
	return service_write("policies", p.name, ctl_policy_to_json(&p), result, err, errlen);
}

static int
cmd_policy_del(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = ctl_arg(args, 0);
	const struct ctl_config *c = ctl_switch_config();
	bool found = false;

	if (!ctl_pservice_is_etcd())
		return policy_del_yaml(args, result, err, errlen);
	for (unsigned i = 0; i < c->n_policies && !found; i++)
		found = strcmp(c->policies[i].name, name) == 0;
	if (!found) {
		snprintf(err, errlen, "no policy '%s'", name);
		return -ENOENT;
	}
	return service_write("policies", name, NULL, result, err, errlen);
}

static const struct ctl_cmd cmds[] = {
	{ "tenant/list", "", 0, 0, cmd_tenant_list, "tenants (routing domains)" },
	{ "tenant/add", "NAME", 1, 1, cmd_tenant_add, "add a tenant" },
	{ "tenant/del", "NAME", 1, 1, cmd_tenant_del,
	  "remove a tenant no network, group or policy names" },
	{ "group/list", "", 0, 0, cmd_group_list, "endpoint groups and how many members each has" },
	{ "group/add", "NAME [tenant=T]", 1, 2, cmd_group_add, "add an endpoint group" },
	{ "group/del", "NAME", 1, 1, cmd_group_del,
	  "remove a group no endpoint or policy names" },
	{ "policy/list", "", 0, 0, cmd_policy_list, "policies between VMs, groups and networks" },
	{ "policy/show", "NAME", 1, 1, cmd_policy_show, "one policy" },
	{ "policy/add", "NAME from=SEL to=SEL action=allow|deny|chain:CHAIN [priority=N] "
	  "[tenant=T]", 4, 6, cmd_policy_add,
	  "add or replace a policy; SEL is vm:NAME, group:NAME, vnet:NAME or any" },
	{ "policy/del", "NAME", 1, 1, cmd_policy_del, "remove a policy" },
};

int
ctl_cmds_model_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
