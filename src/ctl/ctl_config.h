/* The switch configuration as loaded from one YAML file (docs/config.md).
 *
 * The control thread owns it: it is parsed and validated whole before
 * anything starts, then the datapath tables are built from it.  Nothing
 * here is read by workers.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_NAME_MAX 32       /* port, network and endpoint names, with NUL */
#define CTL_PATH_MAX 108      /* sun_path of a unix socket */
#define CTL_DEVARGS_MAX 256
#define CTL_MAX_WORKERS 16
#define CTL_MAX_PHYS 4
#define CTL_MAX_NEIGHBORS 16  /* static next hops per physical port */
#define CTL_MAX_VHOST 64
#define CTL_MAX_VNETS 1024
#define CTL_MAX_EP_IPS 4      /* addresses per endpoint */
#define CTL_MAX_SUBNETS 8     /* subnets per virtual network */
#define CTL_MAX_EAL_ARGS 16
#define CTL_MAX_EP_GROUPS 8   /* groups an endpoint belongs to */
#define CTL_MAX_ETCD 8        /* etcd cluster members */
#define CTL_URL_MAX 128
#define CTL_ERR_MAX 512

/* An IPv4 or IPv6 address; v4 addresses are kept in network byte order. */
struct ctl_ip {
	uint8_t family;     /* AF_INET or AF_INET6 */
	union {
		uint32_t v4;        /* network byte order */
		uint8_t v6[16];
	};
};

struct ctl_prefix {
	struct ctl_ip addr;  /* network address as written */
	uint8_t len;         /* prefix length */
};

struct ctl_eal {
	char lcores[128];       /* EAL --lcores map, e.g. "0@0,1@1" */
	unsigned main_lcore;    /* lcore that runs the control thread */
	unsigned memory_mb;     /* -m; 0 = EAL default */
	char file_prefix[64];   /* --file-prefix; "" = EAL default */
	bool in_memory;         /* --in-memory: no hugepage files left behind */
	bool no_huge;           /* --no-huge: for tests without hugepages */
	unsigned n_args;        /* extra EAL arguments, passed verbatim */
	char args[CTL_MAX_EAL_ARGS][128];
};

struct ctl_workers {
	unsigned n_lcores;                  /* worker lcores, never the main one */
	unsigned lcores[CTL_MAX_WORKERS];
	unsigned idle_sleep_max_us;         /* cap of the adaptive idle back-off */
	unsigned mbufs;                     /* mbufs in the packet pool */
};

/* A next hop whose MAC is configured: never resolved by ARP, never expires
 * (OVS's tnl/neigh/set), for underlays where nothing answers ARP. */
struct ctl_neighbor {
	uint32_t ip;                    /* next hop IPv4, network order */
	uint8_t mac[6];
	char name[CTL_NAME_MAX];        /* the IP as text, names it in messages */
	const char *file; int line, col;
};

struct ctl_phys_port {
	char name[CTL_NAME_MAX];
	char devargs[CTL_DEVARGS_MAX];  /* DPDK devargs, e.g. net_af_packet0,iface=v0 */
	unsigned rx_queues;
	uint32_t ip;                    /* underlay (tunnel endpoint) IPv4, network order */
	uint8_t prefix_len;
	uint32_t gateway;               /* next hop off-subnet, network order; 0 = none */
	unsigned mtu;                   /* underlay L3 MTU */
	unsigned n_neighbors;           /* static next hops, inside the port's subnet */
	struct ctl_neighbor neighbors[CTL_MAX_NEIGHBORS];
	const char *file; int line, col; /* where it was declared, for errors */
};

enum ctl_vhost_mode {
	CTL_VHOST_SERVER,  /* the switch creates the socket, QEMU connects */
	CTL_VHOST_CLIENT,  /* QEMU creates the socket, the switch connects and reconnects */
};

struct ctl_vhost_port {
	char name[CTL_NAME_MAX];
	char socket[CTL_PATH_MAX];
	enum ctl_vhost_mode mode;
	unsigned queues;
	unsigned mtu;                   /* the guest's L3 MTU: QEMU's host_mtu must match */
	char vm[CTL_NAME_MAX];          /* name of the VM attached, informative */
	const char *file; int line, col;
};

/* Where an object of the logical model came from.  Only CTL_FROM_CONFIG
 * objects are saved to the state file; CTL_FROM_SERVICE ones were read
 * from the distributed policy service (etcd) and live there. */
enum ctl_origin {
	CTL_FROM_CONFIG,
	CTL_FROM_SERVICE,
};

/* A tenant (DOVE "domain"): the routing domain of its virtual networks. */
struct ctl_tenant {
	char name[CTL_NAME_MAX];
	enum ctl_origin origin;
	uint64_t revision;              /* etcd mod_revision, or a local counter */
	const char *file; int line, col;
};

struct ctl_vnet {
	char name[CTL_NAME_MAX];
	uint32_t vni;                   /* 24-bit VXLAN network identifier */
	char tenant[CTL_NAME_MAX];      /* "" = none: the network is its own routing domain */
	unsigned n_subnets;
	struct ctl_prefix subnets[CTL_MAX_SUBNETS];
	/* Distributed default gateway of each subnet (D10); family 0 = none.
	 * YAML: a subnet is "CIDR" or {prefix: CIDR, gateway: IP}. */
	struct ctl_ip gateways[CTL_MAX_SUBNETS];
	bool flood;                     /* replicate broadcast/unknown to member TEPs */
	enum ctl_origin origin;
	uint64_t revision;
	const char *file; int line, col;
};

/* An endpoint group: a named set of VMs; membership is on the endpoint. */
struct ctl_group {
	char name[CTL_NAME_MAX];
	char tenant[CTL_NAME_MAX];      /* "" = any */
	enum ctl_origin origin;
	uint64_t revision;
	const char *file; int line, col;
};

/* What a policy selects on one side.  Only logical things: a VM, a group,
 * a virtual network, or anything. */
enum ctl_sel_kind {
	CTL_SEL_ANY,
	CTL_SEL_VNET,
	CTL_SEL_GROUP,
	CTL_SEL_VM,
};

struct ctl_selector {
	enum ctl_sel_kind kind;
	char name[CTL_NAME_MAX];        /* "" for CTL_SEL_ANY */
};

enum ctl_action {
	CTL_ACT_ALLOW,
	CTL_ACT_DENY,
	CTL_ACT_CHAIN,                  /* through the service chain named in .chain */
};

/* A policy from a source selector to a destination selector (D2). */
struct ctl_policy {
	char name[CTL_NAME_MAX];
	char tenant[CTL_NAME_MAX];      /* "" = none */
	struct ctl_selector from, to;
	enum ctl_action action;
	char chain[CTL_NAME_MAX];       /* CTL_ACT_CHAIN only */
	int priority;                   /* breaks ties between equally specific policies; higher wins */
	enum ctl_origin origin;
	uint64_t revision;              /* etcd mod_revision, or a local counter */
	const char *file; int line, col;
};

enum ctl_backend {
	CTL_BACKEND_YAML,               /* the configuration is the policy service */
	CTL_BACKEND_ETCD,
};

/* policy: and policy_service: sections (docs/config.md, docs/policy.md). */
struct ctl_policy_cfg {
	enum ctl_action default_same_vnet;   /* ALLOW or DENY */
	enum ctl_action default_cross_vnet;  /* ALLOW or DENY */
	uint8_t gateway_mac[6];              /* the distributed gateway's MAC, same on every host */
	unsigned cache_entries;              /* decision cache size */
	unsigned cache_entries_per_port;     /* decisions one VM port may hold */
	unsigned miss_hold_ms;               /* how long a packet waits for its decision */
	unsigned misses_per_port_per_s;      /* miss requests one VM port may make */
	uint16_t notify_port;                /* UDP port of switch-to-switch notifications */
	unsigned notify_interval_ms;         /* at most one notification per (peer, endpoint) per interval */
	enum ctl_backend backend;
	unsigned n_etcd;
	char etcd[CTL_MAX_ETCD][CTL_URL_MAX]; /* member client URLs, http://host:port */
	char etcd_prefix[64];                /* key prefix, e.g. /dpdk-vswitch */
	unsigned lease_ttl_s;                /* lease of this host's published endpoints */
	unsigned etcd_timeout_ms;            /* per request */
};

enum ctl_ep_where {
	CTL_EP_LOCAL,   /* behind one of our vhost ports */
	CTL_EP_REMOTE,  /* behind another host's tunnel endpoint */
};

struct ctl_endpoint {
	char name[CTL_NAME_MAX];        /* VM name */
	uint8_t mac[6];
	unsigned n_ips;
	struct ctl_ip ips[CTL_MAX_EP_IPS];
	char vnet[CTL_NAME_MAX];
	enum ctl_ep_where where;
	char port[CTL_NAME_MAX];        /* local: vhost port name */
	uint32_t tep;                   /* remote: tunnel endpoint IPv4, network order */
	unsigned n_groups;
	char groups[CTL_MAX_EP_GROUPS][CTL_NAME_MAX];
	enum ctl_origin origin;
	uint64_t revision;
	const char *file; int line, col;
};

struct ctl_config {
	char *file;                     /* path it was loaded from ("<embedded>" for the default) */
	char state_dir[CTL_PATH_MAX];   /* control.state_dir: where live changes persist; "" = nowhere */
	char services_dir[CTL_PATH_MAX]; /* control.services_dir: definitions loaded at start */
	struct ctl_eal eal;
	struct ctl_workers workers;
	char ctl_socket[CTL_PATH_MAX];
	uint16_t vxlan_port;            /* UDP destination port, host order */
	bool vxlan_any_source;          /* accept VXLAN from unknown tunnel endpoints */
	unsigned n_phys;
	struct ctl_phys_port phys[CTL_MAX_PHYS];
	unsigned n_vhost;
	struct ctl_vhost_port vhost[CTL_MAX_VHOST];
	unsigned n_vnets;
	struct ctl_vnet *vnets;         /* n_vnets entries */
	unsigned n_endpoints;
	struct ctl_endpoint *endpoints; /* n_endpoints entries */
	struct ctl_policy_cfg policy;
	unsigned n_tenants;
	struct ctl_tenant *tenants;
	unsigned n_groups;
	struct ctl_group *groups;
	unsigned n_policies;
	struct ctl_policy *policies;
};

/* Load and validate a whole configuration.
 * @text: YAML text, or NULL to read @path.
 * @path: file name used for reading and in error messages.
 * @err: on failure, "file:line:col: message" (CTL_ERR_MAX bytes).
 * Returns a configuration to free with ctl_config_free(), or NULL with
 * errno set (EINVAL for a bad document, or the error from reading it).
 */
struct ctl_config *ctl_config_load(const char *path, const char *text,
				   char *err, size_t errlen);

void ctl_config_free(struct ctl_config *cfg);

/* Deep copy of @cfg, or NULL with errno set. */
struct ctl_config *ctl_config_dup(const struct ctl_config *cfg);

/* Run every cross-check of ctl_config_load() on a configuration built in
 * memory (e.g. the running one with a CLI change applied).  Errors name the
 * object at fault instead of a file position.  Returns 0 or -EINVAL. */
int ctl_config_validate(struct ctl_config *cfg, char *err, size_t errlen);

/* Settings that only a restart can change (EAL, workers, control socket,
 * state directory, VXLAN port, physical ports, all of policy_service, and
 * policy.cache_entries, cache_entries_per_port, notify_port; the other
 * policy keys, tenants, groups and policies are live): 0 when @a and @b agree,
 * else -EINVAL with @err naming the first difference. */
int ctl_config_restart_needed(const struct ctl_config *a, const struct ctl_config *b,
			      char *err, size_t errlen);

/* The state file: the live sections (vhost_ports, tenants, virtual_networks,
 * groups, endpoints, policies; only objects of origin CTL_FROM_CONFIG) as
 * YAML in the same schema, written atomically (temporary file, fsync,
 * rename, fsync of the directory).  A state file without tenants, groups or
 * policies (written before they existed) keeps @cfg's.  ctl_config_save_state() returns 0
 * or a negative errno.  ctl_config_load_state() replaces those sections of
 * @cfg by the file's, validated whole; on any error (errors as
 * "FILE:LINE:COL: message") @cfg is left exactly as it was.  Returns 0,
 * -ENOENT when there is no file, or another negative errno. */
int ctl_config_save_state(const struct ctl_config *cfg, const char *path, char *err, size_t errlen);
int ctl_config_load_state(struct ctl_config *cfg, const char *path, char *err, size_t errlen);

/* The default configuration compiled into the binary (config/default.yaml). */
extern const char ctl_config_default_yaml[];

/* Formatting helpers shared with the CLI and error messages. */
int ctl_parse_mac(const char *s, uint8_t mac[6]);
int ctl_parse_ip(const char *s, struct ctl_ip *ip);
int ctl_parse_prefix(const char *s, struct ctl_prefix *p);
/* A policy selector as the CLI writes it: "any", "vm:NAME", "group:NAME" or
 * "vnet:NAME".  Only the shape is checked here (a name that fits);
 * ctl_config_validate() applies the rules.  Returns 0 or -EINVAL. */
int ctl_parse_selector(const char *s, struct ctl_selector *sel);
/* The same text back ("any", "group:web"). */
void ctl_format_selector(const struct ctl_selector *sel, char *buf, size_t len);
/* "allow", "deny" or "chain". */
const char *ctl_action_name(enum ctl_action a);

#endif
