/* Forwarding tables: virtual networks, endpoints (locations) and tunnels.
 *
 * Single writer (the control thread), many lock-free readers (workers).
 * Every object a worker can reach is immutable once published: a change
 * publishes a new object and the old one is freed after an RCU grace
 * period (rte_rcu_qsbr), so a reader never sees a half-written entry and
 * never blocks.  Hash tables use RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF.
 */
#ifndef POL_TABLES_H
#define POL_TABLES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include "ctl_config.h"

#define POL_MAX_PORTS (CTL_MAX_PHYS + CTL_MAX_VHOST)
#define POL_MAX_TUNNELS 4096
#define POL_MAX_FLOOD_TUNNELS 256
#define POL_NO_TUNNEL UINT16_MAX

/* A VM's network interface and where it lives.  Immutable once published. */
struct pol_endpoint {
	char name[CTL_NAME_MAX];      /* VM name */
	uint32_t vni;
	struct rte_ether_addr mac;
	bool local;                   /* behind one of our ports */
	uint16_t port;                /* local: datapath port index */
	uint16_t tunnel;              /* remote: index into the tunnel table */
	uint32_t tep;                 /* remote: tunnel endpoint IPv4, network order */
	uint8_t n_ips;
	struct ctl_ip ips[CTL_MAX_EP_IPS];
	uint64_t revision;            /* bumped on every change */
};

/* A virtual network as the datapath sees it.  Immutable once published. */
struct pol_vnet {
	char name[CTL_NAME_MAX];
	uint32_t vni;
	bool flood;                   /* replicate broadcast/unknown to members */
	uint8_t n_subnets;
	struct ctl_prefix subnets[CTL_MAX_SUBNETS];
	/* distributed gateway addresses of the IPv4 subnets (D10), network
	 * order: workers answer ARP for them with dp.gateway_mac */
	uint8_t n_gateways;
	uint32_t gateways[CTL_MAX_SUBNETS];
	uint16_t n_flood_ports;       /* local ports with a member */
	uint16_t flood_ports[POL_MAX_PORTS];
	uint16_t n_flood_tunnels;     /* remote tunnel endpoints with a member */
	uint16_t flood_tunnels[POL_MAX_FLOOD_TUNNELS];
};

/* The physical path to one remote tunnel endpoint.  Immutable once published. */
struct pol_tunnel {
	uint32_t dst_ip;              /* remote TEP, network order */
	uint32_t src_ip;              /* our underlay address on @port */
	uint32_t nh_ip;               /* next hop to resolve: the TEP or a gateway */
	uint16_t port;                /* datapath index of the physical port */
	bool resolved;                /* dst_mac is valid */
	struct rte_ether_addr src_mac;
	struct rte_ether_addr dst_mac; /* next hop's MAC */
};

struct pol_mac_key {
	uint32_t vni;
	uint8_t mac[6];
	uint16_t pad;                 /* always 0 */
};

struct pol_ip_key {
	uint32_t vni;
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];             /* v4 in the first 4 bytes, network order */
};

/* Everything workers read.  dp: ro, ctl: rw (through the functions below). */
struct pol_tables {
	struct rte_hash *ep_by_mac;   /* pol_mac_key -> struct pol_endpoint * */
	struct rte_hash *ep_by_ip;    /* pol_ip_key -> struct pol_endpoint * */
	struct rte_hash *vnets;       /* uint32_t vni -> struct pol_vnet * */
	struct rte_hash *teps;        /* remote tunnel endpoints (IPv4, network order) */
	struct pol_endpoint *_Atomic port_ep[POL_MAX_PORTS]; /* VM bound to a local port */
	struct pol_tunnel *_Atomic tunnels[POL_MAX_TUNNELS];
	struct rte_rcu_qsbr *rcu;     /* workers report quiescence here */
};

extern struct pol_tables pol_tables;

/* Create the tables for up to @max_endpoints endpoints and @max_readers
 * worker threads.  Returns 0 or a negative errno. */
int pol_tables_init(unsigned max_endpoints, unsigned max_readers);
/* Free everything; workers must have stopped. */
void pol_tables_fini(void);
/* Free what readers can no longer see; called from the control loop. */
void pol_tables_reclaim(void);

/* --- readers (any thread, never block) --- */

static inline const struct pol_endpoint *
pol_ep_by_mac(uint32_t vni, const struct rte_ether_addr *mac)
{
	struct pol_mac_key k = { .vni = vni };
	void *data;

	rte_ether_addr_copy(mac, (struct rte_ether_addr *)k.mac);
	if (rte_hash_lookup_data(pol_tables.ep_by_mac, &k, &data) < 0)
		return NULL;
	return data;
}

static inline const struct pol_endpoint *
pol_ep_by_ip4(uint32_t vni, uint32_t ip)
{
	struct pol_ip_key k = { .vni = vni, .family = 4 };
	void *data;

	memcpy(k.addr, &ip, 4);
	if (rte_hash_lookup_data(pol_tables.ep_by_ip, &k, &data) < 0)
		return NULL;
	return data;
}

static inline const struct pol_vnet *
pol_vnet_lookup(uint32_t vni)
{
	void *data;

	if (rte_hash_lookup_data(pol_tables.vnets, &vni, &data) < 0)
		return NULL;
	return data;
}

/* True when @ip (IPv4, network order) is a gateway address of @v. */
static inline bool
pol_vnet_is_gateway(const struct pol_vnet *v, uint32_t ip)
{
	for (unsigned i = 0; i < v->n_gateways; i++)
		if (v->gateways[i] == ip)
			return true;
	return false;
}

/* Whether some remote endpoint lives behind tunnel endpoint @ip. */
static inline bool
pol_tep_known(uint32_t ip)
{
	return rte_hash_lookup(pol_tables.teps, &ip) >= 0;
}

static inline const struct pol_endpoint *
pol_port_endpoint(uint16_t port)
{
	return atomic_load_explicit(&pol_tables.port_ep[port], memory_order_acquire);
}

static inline const struct pol_tunnel *
pol_tunnel_get(uint16_t idx)
{
	return atomic_load_explicit(&pol_tables.tunnels[idx], memory_order_acquire);
}

/* True when @ep owns @ip4 (network order). */
static inline bool
pol_ep_has_ip4(const struct pol_endpoint *ep, uint32_t ip4)
{
	for (unsigned i = 0; i < ep->n_ips; i++)
		if (ep->ips[i].family == AF_INET && ep->ips[i].v4 == ip4)
			return true;
	return false;
}

bool pol_ep_has_ip6(const struct pol_endpoint *ep, const uint8_t ip6[16]);

/* --- writers (control thread only) --- */

/* Add or replace a virtual network (by VNI). */
int pol_vnet_set(const struct ctl_vnet *v);
/* Remove a virtual network; -EBUSY while endpoints still use it. */
int pol_vnet_del(uint32_t vni);

/* Add or replace an endpoint, keyed by (vni, mac).  @ep is copied; its
 * tunnel (remote) must have been acquired by the caller.  Returns 0,
 * -ENOENT (no such vnet), -EEXIST (an IP or the port is taken by another
 * endpoint), -ENOSPC. */
int pol_endpoint_set(const struct pol_endpoint *ep);
/* Remove an endpoint; -ENOENT if absent. */
int pol_endpoint_del(uint32_t vni, const struct rte_ether_addr *mac);
/* Number of endpoints, and iteration for the CLI (control thread). */
unsigned pol_endpoint_count(void);
int pol_endpoint_iterate(uint32_t *next, const struct pol_endpoint **ep);
int pol_vnet_iterate(uint32_t *next, const struct pol_vnet **v);

/* Add or remove a known remote tunnel endpoint (IPv4, network order). */
int pol_tep_add(uint32_t ip);
void pol_tep_del(uint32_t ip);

/* Publish @t at tunnel index @idx (NULL to clear). */
void pol_tunnel_publish(uint16_t idx, const struct pol_tunnel *t);

/* Defer fn(p) until no reader can hold p. */
void pol_defer_free(void (*fn)(void *), void *p);
/* Run every deferred free now.  Only when no reader is online (workers
 * stopped): it waits for a grace period. */
void pol_defer_drain(void);

#endif
