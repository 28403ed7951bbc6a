/* Service definitions, profiles, pools and the other documents of the
 * services framework (S1, S2), parsed strictly from YAML (docs/services.md).
 *
 * A YAML stream holds one or more documents, each a mapping with one top
 * key naming its kind: service, profile, pool, chain, enable, configure (the
 * last two only in the catalog's state file, with its catalog header).  Every
 * error is "file:line:col: message".  Control thread only. */
#ifndef SVC_DEF_H
#define SVC_DEF_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl_config.h"
#include "svc_rule.h"

#define SVC_TEXT_MAX 128        /* description, contact, parameter values, with NUL */
#define SVC_MAX_PARAMS 16       /* parameters of a service, a level or a profile */
#define SVC_MAX_LEVELS 8
#define SVC_MAX_ENDPOINTS 8

enum svc_insertion {
	SVC_INS_SWITCH,             /* insertion point 1: rules in the switch */
	SVC_INS_NETWORK,            /* 2: an appliance VM on a vhost-user port */
	SVC_INS_EXTERNAL,           /* 3: a remote endpoint over the underlay */
};

struct svc_param {
	char key[CTL_NAME_MAX];
	char value[SVC_TEXT_MAX];
};

struct svc_params {
	unsigned n;
	struct svc_param v[SVC_MAX_PARAMS];
};

enum svc_ep_kind {
	SVC_EP_PORT,                /* a local vhost-user port of an appliance VM */
	SVC_EP_IP,
	SVC_EP_URL,
};

struct svc_endpoint {
	enum svc_ep_kind kind;
	char port[CTL_NAME_MAX];    /* SVC_EP_PORT: where traffic goes in */
	char port_out[CTL_NAME_MAX]; /* SVC_EP_PORT: where it comes back; "" = the same port */
	struct ctl_ip ip;           /* SVC_EP_IP */
	uint32_t vni;               /* SVC_EP_IP: the service VNI to tunnel in; 0 = none */
	char url[CTL_URL_MAX];      /* SVC_EP_URL */
};

/* A service the switch implements itself (no endpoint needed). */
enum svc_builtin {
	SVC_BUILTIN_NONE,
	SVC_BUILTIN_LB,             /* "load-balancer": a VIP over backend VMs (insertion network) */
};

struct svc_level {
	char name[CTL_NAME_MAX];
	struct svc_params params;   /* the level's own parameter values */
};

/* A registered service (S1).  About 25 KB: always on the heap. */
struct svc_def {
	char vendor[SVC_TEXT_MAX];
	char name[CTL_NAME_MAX];
	char description[SVC_TEXT_MAX];
	char contact[SVC_TEXT_MAX];
	enum svc_insertion insertion;
	enum svc_builtin builtin;
	unsigned n_endpoints;
	struct svc_endpoint endpoints[SVC_MAX_ENDPOINTS];
	unsigned n_levels;          /* at least one */
	struct svc_level levels[SVC_MAX_LEVELS];
	struct svc_params params;   /* the service's own parameters and their defaults */
	unsigned n_rules;           /* SVC_INS_SWITCH only; first match wins */
	struct svc_rule rules[SVC_MAX_RULES];
};

/* A list of names (heap array). */
struct svc_names {
	unsigned n;
	char (*v)[CTL_NAME_MAX];
};

enum svc_scope_dim {
	SVC_SCOPE_VNETS,
	SVC_SCOPE_HOSTS,
	SVC_SCOPE_VMS,
	SVC_SCOPE_POOLS,
	SVC_SCOPE_TENANTS,
	SVC_SCOPE_N,
};

/* A definition narrowed for some users (S2).  Its scope lists, per
 * dimension, who may use it; a VM may when it matches any entry of any
 * dimension; an empty scope admits nobody. */
struct svc_profile {
	char name[CTL_NAME_MAX];
	char service[CTL_NAME_MAX];
	char level[CTL_NAME_MAX];
	struct svc_params params;   /* keys of the service or of the level */
	struct svc_names scope[SVC_SCOPE_N];
	unsigned slot;              /* counter slot < SVC_MAX_PROFILES, set by the catalog */
};

/* A named set of VMs. */
struct svc_pool {
	char name[CTL_NAME_MAX];
	struct svc_names vms;
};

enum svc_target_kind {
	SVC_TARGET_VM,
	SVC_TARGET_POOL,
	SVC_TARGET_VNET,
};

/* A profile switched on for a VM, a pool or a virtual network (S5). */
struct svc_enable {
	char profile[CTL_NAME_MAX];
	enum svc_target_kind kind;
	char target[CTL_NAME_MAX];
};

/* A service chain (S7): profiles of network or external services that
 * matching traffic visits in order (and in reverse order on its way
 * back).  Named by policies with action chain. */
struct svc_chain {
	char name[CTL_NAME_MAX];
	unsigned n_hops;            /* 1..SVC_MAX_HOPS */
	char hops[SVC_MAX_HOPS][CTL_NAME_MAX]; /* profile names */
	unsigned slot;              /* counter slot < SVC_MAX_CHAINS, set by the catalog */
};

/* A service's parameters as configured at run time (S9). */
struct svc_configure {
	char service[CTL_NAME_MAX];
	struct svc_params params;
};

enum svc_doc_kind {
	SVC_DOC_SERVICE,
	SVC_DOC_PROFILE,
	SVC_DOC_POOL,
	SVC_DOC_ENABLE,
	SVC_DOC_CONFIGURE,
	SVC_DOC_CATALOG,            /* the state file's header */
	SVC_DOC_CHAIN,
};

/* One parsed document, handed to svc_parse_ops.apply. */
struct svc_doc {
	enum svc_doc_kind kind;
	const char *file;
	int line, col;              /* of the document's top key, for errors */
	struct svc_def *def;        /* SERVICE; apply may take it (set to NULL) */
	struct svc_profile profile; /* PROFILE: apply may take its lists (zero them) */
	struct svc_pool pool;       /* POOL: likewise */
	struct svc_enable enable;
	struct svc_configure configure;
	struct svc_chain chain;
	unsigned version, documents; /* CATALOG: format version, documents after it */
};

struct svc_parse_ops {
	/* Which document kinds are allowed (bit per enum svc_doc_kind). */
	unsigned allowed;
	/* The service a profile or configure document names, to check its
	 * level and parameter keys with their positions; NULL when unknown. */
	const struct svc_def *(*find_def)(void *arg, const char *name);
	/* Takes each document in order; an error (without position: it is
	 * prefixed with the document's) stops the parse. */
	int (*apply)(void *arg, struct svc_doc *doc, char *err, size_t errlen);
	void *arg;
};

#define SVC_DOC_BIT(k) (1u << (k))

/* Parse the YAML stream @text (@len bytes; NULL: read @file) document by
 * document, handing each to @ops->apply.  Returns the number of documents,
 * or a negative errno with @err ("file:line:col: message"). */
int svc_parse(const char *file, const char *text, size_t len, const struct svc_parse_ops *ops,
	      char *err, size_t errlen);

/* Frees the lists of a profile or pool (not the struct itself). */
void svc_profile_clear(struct svc_profile *p);
void svc_pool_clear(struct svc_pool *p);
void svc_names_clear(struct svc_names *n);
/* Deep copies; 0 or -ENOMEM (@dst is then empty). */
int svc_names_copy(struct svc_names *dst, const struct svc_names *src);
int svc_profile_copy(struct svc_profile *dst, const struct svc_profile *src);
int svc_pool_copy(struct svc_pool *dst, const struct svc_pool *src);
/* Appends @name; 0 or -ENOMEM. */
int svc_names_add(struct svc_names *n, const char *name);
bool svc_names_has(const struct svc_names *n, const char *name);

const struct svc_param *svc_params_get(const struct svc_params *p, const char *key);
/* Sets or adds @key; -ENOSPC when full. */
int svc_params_set(struct svc_params *p, const char *key, const char *value);
const struct svc_level *svc_def_level(const struct svc_def *d, const char *name);

/* Names for the CLI and the state file. */
const char *svc_insertion_name(enum svc_insertion i);
const char *svc_builtin_name(enum svc_builtin b);   /* "" for SVC_BUILTIN_NONE */
const char *svc_scope_name(enum svc_scope_dim d);
const char *svc_target_name(enum svc_target_kind k);
const char *svc_action_name(enum svc_rule_action a);
const char *svc_dir_name(enum svc_dir d);
const char *svc_proto_name(uint8_t proto);

/* Writes @d as a service document (YAML, one "---" document) to @f.
 * Returns 0 or -EIO. */
int svc_def_write(FILE *f, const struct svc_def *d);
int svc_profile_write(FILE *f, const struct svc_profile *p);
int svc_pool_write(FILE *f, const struct svc_pool *p);
int svc_chain_write(FILE *f, const struct svc_chain *ch);
/* A YAML double-quoted scalar of @s. */
void svc_write_str(FILE *f, const char *s);

#endif
