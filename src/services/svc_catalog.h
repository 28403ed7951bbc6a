/* The catalog of network services (S3-S5, S9): registered definitions,
 * their profiles, VM pools, enables and runtime parameters, persisted in
 * STATE_DIR/catalog.yaml.  Control thread only; nothing here touches DPDK.
 *
 * Every change is applied whole or not at all: a change works on a copy
 * that replaces the catalog only when it succeeded. */
#ifndef SVC_CATALOG_H
#define SVC_CATALOG_H

#include "svc_def.h"

#define SVC_CATALOG_FILE "catalog.yaml"

/* A VM as the scope checks see it. */
struct svc_vm {
	const char *name;
	const char *vnet;           /* "" = none */
	const char *tenant;         /* the vnet's tenant; "" = none */
	const char *host;           /* where it runs; "" = unknown */
};

/* Where the VMs come from (the running configuration, or a test). */
struct svc_env {
	/* VM number @i into *@vm (strings stay valid until the next call);
	 * false past the last. */
	bool (*vm_at)(void *arg, size_t i, struct svc_vm *vm);
	/* Whether virtual network @name exists. */
	bool (*vnet_exists)(void *arg, const char *name);
	void *arg;
};

struct svc_service {
	struct svc_def *def;
	struct svc_params configured;   /* values set by svc_catalog_configure() */
};

struct svc_catalog {
	unsigned n_services;
	struct svc_service *services;
	unsigned n_profiles;
	struct svc_profile *profiles;
	unsigned n_pools;
	struct svc_pool *pools;
	unsigned n_enables;             /* in the order they were enabled */
	struct svc_enable *enables;
	unsigned n_chains;
	struct svc_chain *chains;
};

struct svc_catalog *svc_catalog_new(void);
void svc_catalog_free(struct svc_catalog *cat);

/* Register every service, profile, pool and chain document of @file (@text: its
 * contents, or NULL to read it).  Returns the number of documents or a
 * negative errno with @err ("file:line:col: message"). */
int svc_catalog_register(struct svc_catalog *cat, const char *file, const char *text,
			 char *err, size_t errlen);
/* Refused (-EBUSY) while a profile uses it. */
int svc_catalog_unregister(struct svc_catalog *cat, const char *name, char *err, size_t errlen);
/* Add a profile built in memory (the CLI's key=value form); checked like a
 * profile document.  Takes nothing from @p.  Every new profile gets the
 * lowest free counter slot (svc_profile.slot) and keeps it until deleted;
 * beyond SVC_MAX_PROFILES profiles, -ENOSPC. */
int svc_catalog_profile_add(struct svc_catalog *cat, const struct svc_profile *p, char *err,
			    size_t errlen);
/* Refused (-EBUSY) while it is enabled or a hop of a chain. */
int svc_catalog_profile_del(struct svc_catalog *cat, const char *name, char *err, size_t errlen);
int svc_catalog_pool_add(struct svc_catalog *cat, const struct svc_pool *p, char *err,
			 size_t errlen);
/* Refused (-EBUSY) while enabled or listed in a profile's scope. */
int svc_catalog_pool_del(struct svc_catalog *cat, const char *name, char *err, size_t errlen);

/* Switch @profile on for a VM, a pool or a virtual network.  The target
 * must exist and lie inside the profile's scope: a pool or a network is
 * inside when the profile lists it, or when every VM of it is (-EPERM
 * naming the first VM outside).  Returns 0, -EEXIST, -ENOENT, -EPERM. */
int svc_catalog_enable(struct svc_catalog *cat, const struct svc_env *env, const char *profile,
		       enum svc_target_kind kind, const char *target, char *err, size_t errlen);
int svc_catalog_disable(struct svc_catalog *cat, const char *profile, enum svc_target_kind kind,
			const char *target, char *err, size_t errlen);

/* Add a chain (also from a `chain` document of a registered file): every
 * hop names an existing profile of a service with insertion 'network' (not
 * a built-in one) or 'external'; a profile appears at most once.  Every new
 * chain gets the lowest free counter slot (svc_chain.slot).  Returns 0,
 * -EEXIST, -ENOENT (a hop's profile), -EINVAL (a hop's kind, no hops, a
 * repeated hop), -ENOSPC (beyond SVC_MAX_CHAINS). */
int svc_catalog_chain_add(struct svc_catalog *cat, const struct svc_chain *ch, char *err,
			  size_t errlen);
int svc_catalog_chain_del(struct svc_catalog *cat, const char *name, char *err, size_t errlen);
long svc_catalog_chain(const struct svc_catalog *cat, const char *name);

/* One hop of a chain as resolved for a flow. */
struct svc_hop {
	unsigned profile;               /* index into cat->profiles */
	const struct svc_service *service;
};

/* The hops of chain @name for traffic between VMs @a and @b, in chain
 * order.  S5: each hop's profile must be enabled for @a or for @b (and
 * that VM in its scope).  Returns the number of hops, or -ENOENT (no such
 * chain) or -EPERM (a hop not enabled for either VM, named in @err). */
int svc_catalog_chain_hops(const struct svc_catalog *cat, const char *name,
			   const struct svc_vm *a, const struct svc_vm *b,
			   struct svc_hop hops[SVC_MAX_HOPS], char *err, size_t errlen);

/* Set parameter @key (one the service defines) of service @name. */
int svc_catalog_configure(struct svc_catalog *cat, const char *name, const char *key,
			  const char *value, char *err, size_t errlen);

const struct svc_service *svc_catalog_service(const struct svc_catalog *cat, const char *name);
long svc_catalog_profile(const struct svc_catalog *cat, const char *name);
long svc_catalog_pool(const struct svc_catalog *cat, const char *name);

/* Whether @vm may use profile number @i (its scope). */
bool svc_catalog_in_scope(const struct svc_catalog *cat, unsigned i, const struct svc_vm *vm);
/* Whether an enable of profile number @i covers @vm (and @vm is in scope). */
bool svc_catalog_enabled_for(const struct svc_catalog *cat, unsigned i, const struct svc_vm *vm);

/* The rules the switch applies to @vm: those of every enabled profile of a
 * switch-insertion service that covers it, in enable order (a profile
 * enabled twice counts once), each with its profile's counter slot in
 * @prof (may be NULL).  Returns how many, or -ENOSPC beyond @max. */
int svc_catalog_rules_for_vm(const struct svc_catalog *cat, const struct svc_vm *vm,
			     struct svc_rule *rules, unsigned *prof, unsigned max);

/* Write @dir/catalog.yaml atomically (temporary file, fsync, rename, fsync
 * of the directory, created if needed).  0 or a negative errno with @err. */
int svc_catalog_save(const struct svc_catalog *cat, const char *dir, char *err, size_t errlen);
/* Replace the catalog by @dir/catalog.yaml, validated whole; on any error
 * @cat is unchanged.  Slots are given again in the file's (creation) order:
 * counters start from zero with the switch anyway.  Returns 0, -ENOENT when
 * there is no file, or another negative errno with @err. */
int svc_catalog_load(struct svc_catalog *cat, const char *dir, char *err, size_t errlen);
/* Register every *.yaml of @dir (services and pools of all files, then
 * profiles, then chains) whose names are not registered yet (the
 * catalog's copy wins): all files or none.  Returns the number of documents taken or a negative errno. */
int svc_catalog_load_dir(struct svc_catalog *cat, const char *dir, char *err, size_t errlen);

#endif
