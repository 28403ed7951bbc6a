/* The catalog (svc_catalog.h).  Small arrays searched linearly: a switch
 * holds tens of services and profiles, and only the control thread reads
 * them; the datapath gets compiled rules, never this. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_model_json.h"
#include "svc_catalog.h"

struct svc_catalog *svc_catalog_new(void)
{
	return calloc(1, sizeof(struct svc_catalog));
}

static void cat_clear(struct svc_catalog *c)
{
	for (unsigned i = 0; i < c->n_services; i++)
		free(c->services[i].def);
	for (unsigned i = 0; i < c->n_profiles; i++)
		svc_profile_clear(&c->profiles[i]);
	for (unsigned i = 0; i < c->n_pools; i++)
		svc_pool_clear(&c->pools[i]);
	free(c->services);
	free(c->profiles);
	free(c->pools);
	free(c->enables);
	free(c->chains);
	memset(c, 0, sizeof(*c));
}

void svc_catalog_free(struct svc_catalog *cat)
{
	if (cat == NULL)
		return;
	cat_clear(cat);
	free(cat);
}

/* A deep copy to change; NULL on no memory. */
static struct svc_catalog *cat_dup(const struct svc_catalog *s)
{
	struct svc_catalog *d = svc_catalog_new();

	if (d == NULL)
		return NULL;
	if ((s->n_services && !(d->services = calloc(s->n_services, sizeof(*d->services)))) ||
	    (s->n_profiles && !(d->profiles = calloc(s->n_profiles, sizeof(*d->profiles)))) ||
	    (s->n_pools && !(d->pools = calloc(s->n_pools, sizeof(*d->pools)))) ||
	    (s->n_enables && !(d->enables = calloc(s->n_enables, sizeof(*d->enables)))) ||
	    (s->n_chains && !(d->chains = calloc(s->n_chains, sizeof(*d->chains)))))
		goto fail;
	for (; d->n_services < s->n_services; d->n_services++) {
		struct svc_service *x = &d->services[d->n_services];

		*x = s->services[d->n_services];
		if ((x->def = malloc(sizeof(*x->def))) == NULL)
			goto fail;
		memcpy(x->def, s->services[d->n_services].def, sizeof(*x->def));
	}
	for (; d->n_profiles < s->n_profiles; d->n_profiles++)
		if (svc_profile_copy(&d->profiles[d->n_profiles], &s->profiles[d->n_profiles]))
			goto fail;
	for (; d->n_pools < s->n_pools; d->n_pools++)
		if (svc_pool_copy(&d->pools[d->n_pools], &s->pools[d->n_pools]))
			goto fail;
	if (s->n_enables)
		memcpy(d->enables, s->enables, s->n_enables * sizeof(*d->enables));
	d->n_enables = s->n_enables;
	if (s->n_chains)
		memcpy(d->chains, s->chains, s->n_chains * sizeof(*d->chains));
	d->n_chains = s->n_chains;
	return d;
fail:
	svc_catalog_free(d);
	return NULL;
}

/* @next replaces @cat's contents. */
static void cat_take(struct svc_catalog *cat, struct svc_catalog *next)
{
	cat_clear(cat);
	*cat = *next;
	free(next);
}

static int oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Grows *@arr of @n elements by one zeroed element at its end. */
static void *grow(void *arr_ptr, unsigned n, size_t size)
{
	void **arr = arr_ptr;
	char *na = realloc(*arr, (n + 1) * size);

	if (na == NULL)
		return NULL;
	memset(na + n * size, 0, size);
	*arr = na;
	return na + n * size;
}

const struct svc_service *svc_catalog_service(const struct svc_catalog *cat, const char *name)
{
	for (unsigned i = 0; i < cat->n_services; i++)
		if (!strcmp(cat->services[i].def->name, name))
			return &cat->services[i];
	return NULL;
}

long svc_catalog_profile(const struct svc_catalog *cat, const char *name)
{
	for (unsigned i = 0; i < cat->n_profiles; i++)
		if (!strcmp(cat->profiles[i].name, name))
			return i;
	return -1;
}

long svc_catalog_pool(const struct svc_catalog *cat, const char *name)
{
	for (unsigned i = 0; i < cat->n_pools; i++)
		if (!strcmp(cat->pools[i].name, name))
			return i;
	return -1;
}

long svc_catalog_chain(const struct svc_catalog *cat, const char *name)
{
	for (unsigned i = 0; i < cat->n_chains; i++)
		if (!strcmp(cat->chains[i].name, name))
			return i;
	return -1;
}

/* ---- changes on a staged copy ---- */

static int add_service(struct svc_catalog *c, struct svc_def **def, char *err, size_t errlen)
{
	struct svc_service *s;

	if (svc_catalog_service(c, (*def)->name)) {
		snprintf(err, errlen, "service '%s' is already registered", (*def)->name);
		return -EEXIST;
	}
	if ((s = grow(&c->services, c->n_services, sizeof(*s))) == NULL)
		return oom(err, errlen);
	s->def = *def;
	*def = NULL;
	c->n_services++;
	return 0;
}

/* What a profile names must exist: its service, level, parameter keys, pools. */
static int check_profile(const struct svc_catalog *c, const struct svc_profile *p, char *err,
			 size_t errlen)
{
	const struct svc_service *s = svc_catalog_service(c, p->service);
	const struct svc_level *lv;

	if (svc_catalog_profile(c, p->name) >= 0) {
		snprintf(err, errlen, "profile '%s' already exists", p->name);
		return -EEXIST;
	}
	if (s == NULL) {
		snprintf(err, errlen, "profile '%s': no service '%s' is registered", p->name,
			 p->service);
		return -ENOENT;
	}
	if ((lv = svc_def_level(s->def, p->level)) == NULL) {
		snprintf(err, errlen, "profile '%s': service '%s' has no level '%s'", p->name,
			 p->service, p->level);
		return -ENOENT;
	}
	for (unsigned i = 0; i < p->params.n; i++)
		if (!svc_params_get(&s->def->params, p->params.v[i].key) &&
		    !svc_params_get(&lv->params, p->params.v[i].key)) {
			snprintf(err, errlen, "profile '%s': service '%s' (level '%s') has no "
				 "parameter '%s'", p->name, p->service, p->level, p->params.v[i].key);
			return -EINVAL;
		}
	for (unsigned i = 0; i < p->scope[SVC_SCOPE_POOLS].n; i++)
		if (svc_catalog_pool(c, p->scope[SVC_SCOPE_POOLS].v[i]) < 0) {
			snprintf(err, errlen, "profile '%s': scope names pool '%s', which does "
				 "not exist", p->name, p->scope[SVC_SCOPE_POOLS].v[i]);
			return -ENOENT;
		}
	return 0;
}

/* The lowest counter slot no profile holds; SVC_MAX_PROFILES when full. */
static unsigned free_slot(const struct svc_catalog *c)
{
	bool used[SVC_MAX_PROFILES] = { false };
	unsigned s = 0;

	for (unsigned i = 0; i < c->n_profiles; i++)
		if (c->profiles[i].slot < SVC_MAX_PROFILES)
			used[c->profiles[i].slot] = true;
	while (s < SVC_MAX_PROFILES && used[s])
		s++;
	return s;
}

/* Takes @p's lists (zeroed in @p) on success. */
static int add_profile(struct svc_catalog *c, struct svc_profile *p, char *err, size_t errlen)
{
	struct svc_profile *x;
	unsigned slot;
	int rc;

	if ((rc = check_profile(c, p, err, errlen)))
		return rc;
	if ((slot = free_slot(c)) == SVC_MAX_PROFILES) {
		snprintf(err, errlen, "profile '%s': the switch holds at most %d profiles; "
			 "delete one first", p->name, SVC_MAX_PROFILES);
		return -ENOSPC;
	}
	if ((x = grow(&c->profiles, c->n_profiles, sizeof(*x))) == NULL)
		return oom(err, errlen);
	*x = *p;
	x->slot = slot;
	memset(p->scope, 0, sizeof(p->scope));
	c->n_profiles++;
	return 0;
}

static int add_pool(struct svc_catalog *c, struct svc_pool *p, char *err, size_t errlen)
{
	struct svc_pool *x;

	if (svc_catalog_pool(c, p->name) >= 0) {
		snprintf(err, errlen, "pool '%s' already exists", p->name);
		return -EEXIST;
	}
	if ((x = grow(&c->pools, c->n_pools, sizeof(*x))) == NULL)
		return oom(err, errlen);
	*x = *p;
	memset(&p->vms, 0, sizeof(p->vms));
	c->n_pools++;
	return 0;
}

static long find_enable(const struct svc_catalog *c, const char *profile,
			enum svc_target_kind kind, const char *target)
{
	for (unsigned i = 0; i < c->n_enables; i++)
		if (c->enables[i].kind == kind && !strcmp(c->enables[i].profile, profile) &&
		    !strcmp(c->enables[i].target, target))
			return i;
	return -1;
}

/* The parts of an enable that do not depend on the VMs. */
static int add_enable(struct svc_catalog *c, const struct svc_enable *e, char *err,
		      size_t errlen)
{
	struct svc_enable *x;

	if (svc_catalog_profile(c, e->profile) < 0) {
		snprintf(err, errlen, "no profile '%s'", e->profile);
		return -ENOENT;
	}
	if (e->kind == SVC_TARGET_POOL && svc_catalog_pool(c, e->target) < 0) {
		snprintf(err, errlen, "no pool '%s'", e->target);
		return -ENOENT;
	}
	if (find_enable(c, e->profile, e->kind, e->target) >= 0) {
		snprintf(err, errlen, "profile '%s' is already enabled for %s '%s'", e->profile,
			 svc_target_name(e->kind), e->target);
		return -EEXIST;
	}
	if ((x = grow(&c->enables, c->n_enables, sizeof(*x))) == NULL)
		return oom(err, errlen);
	*x = *e;
	c->n_enables++;
	return 0;
}

/* Every hop must be a profile a chain can visit: traffic leaves the switch
 * for it and comes back (network, external); rules in the switch and the
 * switch's own load balancer are not hops. */
static int check_chain(const struct svc_catalog *c, const struct svc_chain *ch, char *err,
		       size_t errlen)
{
	if (svc_catalog_chain(c, ch->name) >= 0) {
		snprintf(err, errlen, "chain '%s' already exists", ch->name);
		return -EEXIST;
	}
	if (!ctl_name_valid(ch->name)) {
		snprintf(err, errlen, "'%.64s' is not a valid chain name", ch->name);
		return -EINVAL;
	}
	if (ch->n_hops == 0 || ch->n_hops > SVC_MAX_HOPS) {
		snprintf(err, errlen, "chain '%s': %u hops; a chain has 1 to %d", ch->name,
			 ch->n_hops, SVC_MAX_HOPS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < ch->n_hops; i++) {
		long pi = svc_catalog_profile(c, ch->hops[i]);
		const struct svc_service *s;

		if (pi < 0) {
			snprintf(err, errlen, "chain '%s': no profile '%.64s'", ch->name,
				 ch->hops[i]);
			return -ENOENT;
		}
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(ch->hops[j], ch->hops[i])) {
				snprintf(err, errlen, "chain '%s': profile '%s' is a hop twice",
					 ch->name, ch->hops[i]);
				return -EINVAL;
			}
		s = svc_catalog_service(c, c->profiles[pi].service);
		if (s == NULL)
			continue;   /* cannot be: unregister waits for the profiles */
		if (s->def->insertion == SVC_INS_SWITCH) {
			snprintf(err, errlen, "chain '%s': profile '%s' is of service '%s', whose "
				 "insertion is 'switch'; a hop is a 'network' or 'external' service",
				 ch->name, ch->hops[i], s->def->name);
			return -EINVAL;
		}
		if (s->def->builtin != SVC_BUILTIN_NONE) {
			snprintf(err, errlen, "chain '%s': profile '%s' is of the built-in %s '%s', "
				 "which is not a hop", ch->name, ch->hops[i],
				 svc_builtin_name(s->def->builtin), s->def->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* The lowest counter slot no chain holds; SVC_MAX_CHAINS when full. */
static unsigned free_chain_slot(const struct svc_catalog *c)
{
	bool used[SVC_MAX_CHAINS] = { false };
	unsigned s = 0;

	for (unsigned i = 0; i < c->n_chains; i++)
		if (c->chains[i].slot < SVC_MAX_CHAINS)
			used[c->chains[i].slot] = true;
	while (s < SVC_MAX_CHAINS && used[s])
		s++;
	return s;
}

/* Checked whole before @c is touched. */
static int add_chain(struct svc_catalog *c, const struct svc_chain *ch, char *err,
		     size_t errlen)
{
	struct svc_chain *x;
	unsigned slot;
	int rc;

	if ((rc = check_chain(c, ch, err, errlen)))
		return rc;
	if ((slot = free_chain_slot(c)) == SVC_MAX_CHAINS) {
		snprintf(err, errlen, "chain '%s': the switch holds at most %d chains; delete one "
			 "first", ch->name, SVC_MAX_CHAINS);
		return -ENOSPC;
	}
	if ((x = grow(&c->chains, c->n_chains, sizeof(*x))) == NULL)
		return oom(err, errlen);
	*x = *ch;
	x->slot = slot;
	c->n_chains++;
	return 0;
}

/* ---- documents ---- */

struct apply_ctx {
	struct svc_catalog *cat;
	bool skip_existing;         /* services_dir: what is registered wins */
	bool need_header;           /* the state file starts with its header */
	enum {
		PASS_ALL,               /* one file: every document, in order */
		PASS_DEFS,              /* services_dir: services and pools, */
		PASS_PROFILES,          /* then the rest but chains (their hops), */
		PASS_CHAINS,            /* then chains */
	} pass;
	unsigned expected;          /* documents the header announced */
	unsigned seen;
};

static const struct svc_def *find_def(void *arg, const char *name)
{
	const struct svc_service *s = svc_catalog_service(((struct apply_ctx *)arg)->cat, name);

	return s ? s->def : NULL;
}

static int apply(void *arg, struct svc_doc *d, char *err, size_t errlen)
{
	struct apply_ctx *a = arg;
	struct svc_catalog *c = a->cat;

	if (a->need_header && a->seen++ == 0) {
		if (d->kind != SVC_DOC_CATALOG) {
			snprintf(err, errlen, "the catalog file must start with its 'catalog' header");
			return -EINVAL;
		}
		a->expected = d->documents;
		return 0;
	}
	if (d->kind == SVC_DOC_CATALOG) {
		snprintf(err, errlen, "only one 'catalog' header, first");
		return -EINVAL;
	}
	if ((a->pass == PASS_DEFS && d->kind != SVC_DOC_SERVICE && d->kind != SVC_DOC_POOL) ||
	    (a->pass == PASS_PROFILES && d->kind == SVC_DOC_CHAIN) ||
	    (a->pass == PASS_CHAINS && d->kind != SVC_DOC_CHAIN))
		return 0;
	switch (d->kind) {
	case SVC_DOC_SERVICE:
		if (a->skip_existing && svc_catalog_service(c, d->def->name))
			return 0;
		return add_service(c, &d->def, err, errlen);
	case SVC_DOC_PROFILE:
		if (a->skip_existing && svc_catalog_profile(c, d->profile.name) >= 0)
			return 0;
		return add_profile(c, &d->profile, err, errlen);
	case SVC_DOC_POOL:
		if (a->skip_existing && svc_catalog_pool(c, d->pool.name) >= 0)
			return 0;
		return add_pool(c, &d->pool, err, errlen);
	case SVC_DOC_CHAIN:
		if (a->skip_existing && svc_catalog_chain(c, d->chain.name) >= 0)
			return 0;
		return add_chain(c, &d->chain, err, errlen);
	case SVC_DOC_ENABLE:
		return add_enable(c, &d->enable, err, errlen);
	case SVC_DOC_CONFIGURE: {
		struct svc_service *s = (struct svc_service *)svc_catalog_service(c,
										  d->configure.service);

		/* The parser checked the service and its keys. */
		for (unsigned i = 0; s && i < d->configure.params.n; i++)
			if (svc_params_set(&s->configured, d->configure.params.v[i].key,
					   d->configure.params.v[i].value) < 0)
				return oom(err, errlen);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int svc_catalog_register(struct svc_catalog *cat, const char *file, const char *text,
			 char *err, size_t errlen)
{
	struct apply_ctx a = { .cat = cat_dup(cat) };
	struct svc_parse_ops ops = {
		.allowed = SVC_DOC_BIT(SVC_DOC_SERVICE) | SVC_DOC_BIT(SVC_DOC_PROFILE) |
			   SVC_DOC_BIT(SVC_DOC_POOL) | SVC_DOC_BIT(SVC_DOC_CHAIN),
		.find_def = find_def, .apply = apply, .arg = &a,
	};
	int rc;

	if (a.cat == NULL)
		return oom(err, errlen);
	rc = svc_parse(file, text, text ? strlen(text) : 0, &ops, err, errlen);
	if (rc < 0)
		svc_catalog_free(a.cat);
	else
		cat_take(cat, a.cat);
	return rc;
}

/* ---- single changes: validated before anything is touched ---- */

int svc_catalog_unregister(struct svc_catalog *cat, const char *name, char *err, size_t errlen)
{
	const struct svc_service *s = svc_catalog_service(cat, name);
	unsigned i;

	if (s == NULL) {
		snprintf(err, errlen, "no service '%s' is registered", name);
		return -ENOENT;
	}
	for (i = 0; i < cat->n_profiles; i++)
		if (!strcmp(cat->profiles[i].service, name)) {
			snprintf(err, errlen, "service '%s' has profile '%s': delete its profiles "
				 "first", name, cat->profiles[i].name);
			return -EBUSY;
		}
	i = (unsigned)(s - cat->services);
	free(cat->services[i].def);
	memmove(&cat->services[i], &cat->services[i + 1],
		(cat->n_services - i - 1) * sizeof(cat->services[0]));
	cat->n_services--;
	return 0;
}

int svc_catalog_profile_add(struct svc_catalog *cat, const struct svc_profile *p, char *err,
			    size_t errlen)
{
	struct svc_profile copy;
	int rc;

	if ((rc = check_profile(cat, p, err, errlen)))
		return rc;
	if (svc_profile_copy(&copy, p) < 0)
		return oom(err, errlen);
	if ((rc = add_profile(cat, &copy, err, errlen)))
		svc_profile_clear(&copy);
	return rc;
}

int svc_catalog_profile_del(struct svc_catalog *cat, const char *name, char *err, size_t errlen)
{
	long i = svc_catalog_profile(cat, name);

	if (i < 0) {
		snprintf(err, errlen, "no profile '%s'", name);
		return -ENOENT;
	}
	for (unsigned e = 0; e < cat->n_enables; e++)
		if (!strcmp(cat->enables[e].profile, name)) {
			snprintf(err, errlen, "profile '%s' is enabled for %s '%s': disable it first",
				 name, svc_target_name(cat->enables[e].kind), cat->enables[e].target);
			return -EBUSY;
		}
	for (unsigned k = 0; k < cat->n_chains; k++)
		for (unsigned h = 0; h < cat->chains[k].n_hops; h++)
			if (!strcmp(cat->chains[k].hops[h], name)) {
				snprintf(err, errlen, "profile '%s' is hop %u of chain '%s': delete "
					 "the chain first", name, h + 1, cat->chains[k].name);
				return -EBUSY;
			}
	svc_profile_clear(&cat->profiles[i]);
	memmove(&cat->profiles[i], &cat->profiles[i + 1],
		(cat->n_profiles - i - 1) * sizeof(cat->profiles[0]));
	cat->n_profiles--;
	return 0;
}

int svc_catalog_pool_add(struct svc_catalog *cat, const struct svc_pool *p, char *err,
			 size_t errlen)
{
	struct svc_pool copy;
	int rc;

	if (svc_catalog_pool(cat, p->name) >= 0) {
		snprintf(err, errlen, "pool '%s' already exists", p->name);
		return -EEXIST;
	}
	if (svc_pool_copy(&copy, p) < 0)
		return oom(err, errlen);
	if ((rc = add_pool(cat, &copy, err, errlen)))
		svc_pool_clear(&copy);
	return rc;
}

int svc_catalog_pool_del(struct svc_catalog *cat, const char *name, char *err, size_t errlen)
{
	long i = svc_catalog_pool(cat, name);

	if (i < 0) {
		snprintf(err, errlen, "no pool '%s'", name);
		return -ENOENT;
	}
	for (unsigned e = 0; e < cat->n_enables; e++)
		if (cat->enables[e].kind == SVC_TARGET_POOL && !strcmp(cat->enables[e].target, name)) {
			snprintf(err, errlen, "pool '%s' has profile '%s' enabled: disable it first",
				 name, cat->enables[e].profile);
			return -EBUSY;
		}
	for (unsigned p = 0; p < cat->n_profiles; p++)
		if (svc_names_has(&cat->profiles[p].scope[SVC_SCOPE_POOLS], name)) {
			snprintf(err, errlen, "pool '%s' is in the scope of profile '%s'", name,
				 cat->profiles[p].name);
			return -EBUSY;
		}
	svc_pool_clear(&cat->pools[i]);
	memmove(&cat->pools[i], &cat->pools[i + 1], (cat->n_pools - i - 1) * sizeof(cat->pools[0]));
	cat->n_pools--;
	return 0;
}

int svc_catalog_chain_add(struct svc_catalog *cat, const struct svc_chain *ch, char *err,
			  size_t errlen)
{
	return add_chain(cat, ch, err, errlen);
}

int svc_catalog_chain_del(struct svc_catalog *cat, const char *name, char *err, size_t errlen)
{
	long i = svc_catalog_chain(cat, name);

	if (i < 0) {
		snprintf(err, errlen, "no chain '%s'", name);
		return -ENOENT;
	}
	memmove(&cat->chains[i], &cat->chains[i + 1],
		(cat->n_chains - i - 1) * sizeof(cat->chains[0]));
	cat->n_chains--;
	return 0;
}

/* ---- scope ---- */

static bool in_pool(const struct svc_catalog *cat, const char *pool, const char *vm)
{
	long i = svc_catalog_pool(cat, pool);

	return i >= 0 && svc_names_has(&cat->pools[i].vms, vm);
}

bool svc_catalog_in_scope(const struct svc_catalog *cat, unsigned i, const struct svc_vm *vm)
{
	const struct svc_profile *p = &cat->profiles[i];
	const struct svc_names *pools = &p->scope[SVC_SCOPE_POOLS];

	if (svc_names_has(&p->scope[SVC_SCOPE_VMS], vm->name) ||
	    (vm->vnet && vm->vnet[0] && svc_names_has(&p->scope[SVC_SCOPE_VNETS], vm->vnet)) ||
	    (vm->tenant && vm->tenant[0] &&
	     svc_names_has(&p->scope[SVC_SCOPE_TENANTS], vm->tenant)) ||
	    (vm->host && vm->host[0] && svc_names_has(&p->scope[SVC_SCOPE_HOSTS], vm->host)))
		return true;
	for (unsigned k = 0; k < pools->n; k++)
		if (in_pool(cat, pools->v[k], vm->name))
			return true;
	return false;
}

static bool covers(const struct svc_catalog *cat, const struct svc_enable *e,
		   const struct svc_vm *vm)
{
	switch (e->kind) {
	case SVC_TARGET_VM:
		return !strcmp(e->target, vm->name);
	case SVC_TARGET_POOL:
		return in_pool(cat, e->target, vm->name);
	default:
		return vm->vnet && !strcmp(e->target, vm->vnet);
	}
}

bool svc_catalog_enabled_for(const struct svc_catalog *cat, unsigned i, const struct svc_vm *vm)
{
	for (unsigned e = 0; e < cat->n_enables; e++)
		if (!strcmp(cat->enables[e].profile, cat->profiles[i].name) &&
		    covers(cat, &cat->enables[e], vm))
			return svc_catalog_in_scope(cat, i, vm);
	return false;
}

int svc_catalog_chain_hops(const struct svc_catalog *cat, const char *name,
			   const struct svc_vm *a, const struct svc_vm *b,
			   struct svc_hop hops[SVC_MAX_HOPS], char *err, size_t errlen)
{
	long ci = svc_catalog_chain(cat, name);
	const struct svc_chain *ch;

	if (ci < 0) {
		snprintf(err, errlen, "no chain '%s'", name);
		return -ENOENT;
	}
	ch = &cat->chains[ci];
	for (unsigned h = 0; h < ch->n_hops; h++) {
		long pi = svc_catalog_profile(cat, ch->hops[h]);

		if (pi < 0) {   /* cannot be: a profile in a chain is not deleted */
			snprintf(err, errlen, "chain '%s': no profile '%s'", name, ch->hops[h]);
			return -ENOENT;
		}
		/* S5: a hop serves a flow only once enabled for one of its ends. */
		if (!(a && svc_catalog_enabled_for(cat, (unsigned)pi, a)) &&
		    !(b && svc_catalog_enabled_for(cat, (unsigned)pi, b))) {
			snprintf(err, errlen, "chain '%s': profile '%s' (hop %u) is not enabled for "
				 "VM '%s' or VM '%s'", name, ch->hops[h], h + 1, a ? a->name : "",
				 b ? b->name : "");
			return -EPERM;
		}
		hops[h].profile = (unsigned)pi;
		hops[h].service = svc_catalog_service(cat, cat->profiles[pi].service);
	}
	return (int)ch->n_hops;
}

static bool env_vm(const struct svc_env *env, const char *name, struct svc_vm *vm)
{
	for (size_t i = 0; env->vm_at(env->arg, i, vm); i++)
		if (!strcmp(vm->name, name))
			return true;
	return false;
}

static int outside(const struct svc_profile *p, const struct svc_vm *vm, const char *via,
		   char *err, size_t errlen)
{
	snprintf(err, errlen, "VM '%s'%s is outside the scope of profile '%s' (vnet '%s', "
		 "tenant '%s', host '%s' not listed)", vm->name, via, p->name,
		 vm->vnet ? vm->vnet : "", vm->tenant ? vm->tenant : "", vm->host ? vm->host : "");
	return -EPERM;
}

int svc_catalog_enable(struct svc_catalog *cat, const struct svc_env *env, const char *profile,
		       enum svc_target_kind kind, const char *target, char *err, size_t errlen)
{
	struct svc_enable e = { .kind = kind };
	long pi = svc_catalog_profile(cat, profile);
	const struct svc_profile *p;
	struct svc_vm vm;
	char via[2 * CTL_NAME_MAX + 16];

	if (pi < 0) {
		snprintf(err, errlen, "no profile '%s'", profile);
		return -ENOENT;
	}
	p = &cat->profiles[pi];
	snprintf(e.profile, sizeof(e.profile), "%s", profile);
	if (snprintf(e.target, sizeof(e.target), "%s", target) >= (int)sizeof(e.target)) {
		snprintf(err, errlen, "no %s '%.64s'", svc_target_name(kind), target);
		return -ENOENT;
	}
	if (kind == SVC_TARGET_VM) {
		if (!env_vm(env, target, &vm)) {
			snprintf(err, errlen, "no VM '%s'", target);
			return -ENOENT;
		}
		if (!svc_catalog_in_scope(cat, (unsigned)pi, &vm))
			return outside(p, &vm, "", err, errlen);
	} else if (kind == SVC_TARGET_POOL) {
		long pl = svc_catalog_pool(cat, target);

		if (pl < 0) {
			snprintf(err, errlen, "no pool '%s'", target);
			return -ENOENT;
		}
		snprintf(via, sizeof(via), " of pool '%s'", target);
		for (unsigned k = 0; !svc_names_has(&p->scope[SVC_SCOPE_POOLS], target) &&
				     k < cat->pools[pl].vms.n; k++) {
			const char *nm = cat->pools[pl].vms.v[k];

			if (!env_vm(env, nm, &vm))   /* not known here: only its name counts */
				vm = (struct svc_vm){ .name = nm, .vnet = "", .tenant = "", .host = "" };
			if (!svc_catalog_in_scope(cat, (unsigned)pi, &vm))
				return outside(p, &vm, via, err, errlen);
		}
	} else {
		if (!env->vnet_exists(env->arg, target)) {
			snprintf(err, errlen, "no virtual network '%s'", target);
			return -ENOENT;
		}
		snprintf(via, sizeof(via), " of network '%s'", target);
		for (size_t k = 0; !svc_names_has(&p->scope[SVC_SCOPE_VNETS], target) &&
				   env->vm_at(env->arg, k, &vm); k++)
			if (vm.vnet && !strcmp(vm.vnet, target) &&
			    !svc_catalog_in_scope(cat, (unsigned)pi, &vm))
				return outside(p, &vm, via, err, errlen);
	}
	return add_enable(cat, &e, err, errlen);
}

int svc_catalog_disable(struct svc_catalog *cat, const char *profile, enum svc_target_kind kind,
			const char *target, char *err, size_t errlen)
{
	long i = find_enable(cat, profile, kind, target);

	if (i < 0) {
		snprintf(err, errlen, "profile '%s' is not enabled for %s '%s'", profile,
			 svc_target_name(kind), target);
		return -ENOENT;
	}
	memmove(&cat->enables[i], &cat->enables[i + 1],
		(cat->n_enables - i - 1) * sizeof(cat->enables[0]));
	cat->n_enables--;
	return 0;
}

int svc_catalog_configure(struct svc_catalog *cat, const char *name, const char *key,
			  const char *value, char *err, size_t errlen)
{
	struct svc_service *s = (struct svc_service *)svc_catalog_service(cat, name);

	if (s == NULL) {
		snprintf(err, errlen, "no service '%s' is registered", name);
		return -ENOENT;
	}
	if (!svc_params_get(&s->def->params, key)) {
		snprintf(err, errlen, "service '%s' has no parameter '%s'", name, key);
		return -EINVAL;
	}
	if (strlen(value) >= SVC_TEXT_MAX) {
		snprintf(err, errlen, "value of '%s' is longer than %d characters", key,
			 SVC_TEXT_MAX - 1);
		return -EINVAL;
	}
	return svc_params_set(&s->configured, key, value) < 0 ? oom(err, errlen) : 0;
}

/* The service parameter "default" (profile, else configured, else the
 * definition's) says what happens to traffic none of its rules matched. */
static bool default_drops(const struct svc_service *s, const struct svc_profile *p)
{
	const struct svc_param *v = svc_params_get(&p->params, "default");

	if (v == NULL)
		v = svc_params_get(&s->configured, "default");
	if (v == NULL)
		v = svc_params_get(&s->def->params, "default");
	return v != NULL && strcmp(v->value, "drop") == 0;
}

int svc_catalog_rules_for_vm(const struct svc_catalog *cat, const struct svc_vm *vm,
			     struct svc_rule *rules, unsigned *prof, unsigned max)
{
	bool *done = calloc(cat->n_profiles + 1, sizeof(*done));
	unsigned n = 0;
	int rc = 0;

	if (done == NULL)
		return -ENOMEM;
	for (unsigned e = 0; e < cat->n_enables && rc == 0; e++) {
		long pi = svc_catalog_profile(cat, cat->enables[e].profile);
		const struct svc_service *s;

		if (pi < 0 || done[pi] || !covers(cat, &cat->enables[e], vm) ||
		    !svc_catalog_in_scope(cat, (unsigned)pi, vm))
			continue;
		done[pi] = true;
		s = svc_catalog_service(cat, cat->profiles[pi].service);
		if (s == NULL || s->def->insertion != SVC_INS_SWITCH)
			continue;
		if (n + s->def->n_rules > max) {
			rc = -ENOSPC;
			break;
		}
		for (unsigned r = 0; r < s->def->n_rules; r++, n++) {
			rules[n] = s->def->rules[r];
			if (prof)
				prof[n] = cat->profiles[pi].slot;
		}
		if (default_drops(s, &cat->profiles[pi])) {
			if (n + 1 > max) {
				rc = -ENOSPC;
				break;
			}
			/* like an iptables chain policy: what no rule of this
			 * profile matched is dropped, both ways (IPv4 only) */
			memset(&rules[n], 0, sizeof(rules[n]));
			rules[n].dir = SVC_DIR_BOTH;
			rules[n].sport_hi = rules[n].dport_hi = 65535;
			rules[n].action = SVC_RULE_DROP;
			if (prof)
				prof[n] = cat->profiles[pi].slot;
			n++;
		}
	}
	free(done);
	return rc ? rc : (int)n;
}

/* ---- persistence ---- */

static int write_catalog(const struct svc_catalog *cat, FILE *f)
{
	unsigned docs = cat->n_services + cat->n_profiles + cat->n_pools + cat->n_chains +
			cat->n_enables;

	for (unsigned i = 0; i < cat->n_services; i++)
		docs += cat->services[i].configured.n > 0;
	/* The header counts the documents so that a file cut short is refused. */
	fprintf(f, "# dpdk-vswitch service catalog, written by the switch\n---\n"
		"catalog: {version: 1, documents: %u}\n", docs);
	for (unsigned i = 0; i < cat->n_services; i++) {
		const struct svc_params *cf = &cat->services[i].configured;

		svc_def_write(f, cat->services[i].def);
		if (cf->n == 0)
			continue;
		fprintf(f, "---\nconfigure:\n  service: %s\n  parameters: {",
			cat->services[i].def->name);
		for (unsigned k = 0; k < cf->n; k++) {
			fprintf(f, "%s%s: ", k ? ", " : "", cf->v[k].key);
			svc_write_str(f, cf->v[k].value);
		}
		fprintf(f, "}\n");
	}
	for (unsigned i = 0; i < cat->n_pools; i++)
		svc_pool_write(f, &cat->pools[i]);
	for (unsigned i = 0; i < cat->n_profiles; i++)
		svc_profile_write(f, &cat->profiles[i]);
	/* After the profiles they name; slots are given again in this order. */
	for (unsigned i = 0; i < cat->n_chains; i++)
		svc_chain_write(f, &cat->chains[i]);
	for (unsigned i = 0; i < cat->n_enables; i++)
		fprintf(f, "---\nenable: {profile: %s, %s: %s}\n", cat->enables[i].profile,
			svc_target_name(cat->enables[i].kind), cat->enables[i].target);
	fprintf(f, "...\n");
	return ferror(f) ? -EIO : 0;
}

static int mkdirs(const char *path)
{
	char d[4096];

	if (snprintf(d, sizeof(d), "%s", path) >= (int)sizeof(d))
		return -ENAMETOOLONG;
	for (char *p = d + 1;; p++) {
		char ch = *p;

		if (ch != '/' && ch != '\0')
			continue;
		*p = '\0';
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = ch;
		if (ch == '\0')
			return 0;
	}
}

int svc_catalog_save(const struct svc_catalog *cat, const char *dir, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int fd = -1, rc = 0;
	const char *step = "write";

	snprintf(path, sizeof(path), "%s/%s", dir, SVC_CATALOG_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if ((mem = open_memstream(&buf, &len)) == NULL)
		return oom(err, errlen);
	rc = write_catalog(cat, mem);
	if (fclose(mem) != 0 || rc < 0) {
		free(buf);
		return oom(err, errlen);
	}
	step = "mkdir";
	if ((rc = mkdirs(dir)))
		goto out;
	step = "create";
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		rc = -errno;
		goto out;
	}
	step = "write";
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			goto out;
		}
		off += (size_t)w;
	}
	step = "fsync";
	if (fsync(fd) < 0 || close(fd) < 0) {
		rc = -errno;
		fd = -1;
		goto out;
	}
	fd = -1;
	step = "rename";
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out;
	}
	/* The rename is durable only once the directory is synced. */
	step = "fsync of the directory";
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) < 0)
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		unlink(tmp);
		snprintf(err, errlen, "cannot save %s: %s: %s", path, step, strerror(-rc));
	}
	free(buf);
	return rc;
}

int svc_catalog_load(struct svc_catalog *cat, const char *dir, char *err, size_t errlen)
{
	struct apply_ctx a = { .cat = svc_catalog_new(), .need_header = true };
	struct svc_parse_ops ops = { .allowed = ~0u, .find_def = find_def, .apply = apply,
				     .arg = &a };
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, SVC_CATALOG_FILE);
	if (a.cat == NULL)
		return oom(err, errlen);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		svc_catalog_free(a.cat);
		snprintf(err, errlen, "%s: no catalog file", path);
		return -ENOENT;
	}
	rc = svc_parse(path, NULL, 0, &ops, err, errlen);
	if (rc >= 0 && (unsigned)rc != a.expected + 1) {
		snprintf(err, errlen, "%s: %d of %u documents: the file was cut short", path,
			 rc - 1, a.expected);
		rc = -EINVAL;
	}
	if (rc < 0) {
		svc_catalog_free(a.cat);
		return rc;
	}
	cat_take(cat, a.cat);
	return 0;
}

static int yaml_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".yaml");
}

int svc_catalog_load_dir(struct svc_catalog *cat, const char *dir, char *err, size_t errlen)
{
	struct apply_ctx a = { .cat = cat_dup(cat), .skip_existing = true };
	struct svc_parse_ops ops = {
		.allowed = SVC_DOC_BIT(SVC_DOC_SERVICE) | SVC_DOC_BIT(SVC_DOC_PROFILE) |
			   SVC_DOC_BIT(SVC_DOC_POOL) | SVC_DOC_BIT(SVC_DOC_CHAIN),
		.find_def = find_def, .apply = apply, .arg = &a,
	};
	struct dirent **list = NULL;
	int n, rc = 0, total = 0;

	if (a.cat == NULL)
		return oom(err, errlen);
	if ((n = scandir(dir, &list, yaml_file, alphasort)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		svc_catalog_free(a.cat);
		return rc;
	}
	/* Services and pools of every file first, then profiles, then chains:
	 * a profile may come in a file sorted before its service's, a chain
	 * before its hops'. */
	for (a.pass = PASS_DEFS; a.pass <= PASS_CHAINS; a.pass++) {
		ops.find_def = a.pass == PASS_DEFS ? NULL : find_def;
		for (int i = 0; i < n && rc >= 0; i++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
			if ((rc = svc_parse(path, NULL, 0, &ops, err, errlen)) >= 0 &&
			    a.pass == PASS_CHAINS)
				total += rc;
		}
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	if (rc < 0) {
		svc_catalog_free(a.cat);
		return rc;
	}
	cat_take(cat, a.cat);
	return total;
}
