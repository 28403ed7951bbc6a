/* Unit tests of the forwarding tables (src/policy/pol_tables.c): virtual
 * networks, endpoints and their three views (by MAC, by IP, by port),
 * flood lists, tunnels, and lock-free reading under RCU while the
 * control thread replaces what readers are looking at.
 *
 * Every test starts from empty tables (env_tables_reset()).  Endpoint
 * objects live in rte_malloc memory, which ASan does not track, so the
 * concurrent test checks what a reader sees instead: every object it
 * reaches must stay whole and unchanged while it holds it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit_main.h"
#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include "dp_test_env.h"
#include "pol_tables.h"

#define VNI 100
#define VNI2 200

/* ---- helpers ---- */

/* An endpoint template in @vni with MAC @mac and up to two addresses. */
static struct pol_endpoint
ep_tmpl(uint32_t vni, const char *name, const char *mac, const char *ip1, const char *ip2)
{
	struct pol_endpoint ep;

	env_ep_init(&ep, vni, name, mac);
	if (ip1 != NULL)
		env_ep_add_ip(&ep, ip1);
	if (ip2 != NULL)
		env_ep_add_ip(&ep, ip2);
	return ep;
}

static struct pol_endpoint
local_ep(uint32_t vni, const char *name, const char *mac, uint16_t port,
	 const char *ip1, const char *ip2)
{
	struct pol_endpoint ep = ep_tmpl(vni, name, mac, ip1, ip2);

	ep.local = true;
	ep.port = port;
	return ep;
}

static struct pol_endpoint
remote_ep(uint32_t vni, const char *name, const char *mac, uint16_t tunnel, const char *tep,
	  const char *ip1, const char *ip2)
{
	struct pol_endpoint ep = ep_tmpl(vni, name, mac, ip1, ip2);

	ep.local = false;
	ep.tunnel = tunnel;
	ep.tep = env_ip4(tep);
	return ep;
}

static const struct pol_endpoint *
by_mac(uint32_t vni, const char *mac)
{
	struct rte_ether_addr a = env_mac(mac);

	return pol_ep_by_mac(vni, &a);
}

static const struct pol_endpoint *
by_ip(uint32_t vni, const char *ip)
{
	return pol_ep_by_ip4(vni, env_ip4(ip));
}

/* The IPv6 view has no inline reader: look the key up as pol_tables.h lays it out. */
static const struct pol_endpoint *
by_ip6(uint32_t vni, const char *ip)
{
	struct pol_ip_key k;
	void *data;

	memset(&k, 0, sizeof(k));
	k.vni = vni;
	k.family = 6;
	if (inet_pton(AF_INET6, ip, k.addr) != 1)
		return NULL;
	return rte_hash_lookup_data(pol_tables.ep_by_ip, &k, &data) < 0 ? NULL : data;
}

/* Keys in a hash once every deferred slot release has run. */
static int32_t
keys(struct rte_hash *h)
{
	pol_tables_reclaim();
	return rte_hash_count(h);
}

static bool
flood_ports_are(uint32_t vni, unsigned n, const uint16_t *ports)
{
	const struct pol_vnet *v = pol_vnet_lookup(vni);

	if (v == NULL || v->n_flood_ports != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (v->flood_ports[i] != ports[i])
			return false;
	return true;
}

static bool
flood_tunnels_are(uint32_t vni, unsigned n, const uint16_t *tunnels)
{
	const struct pol_vnet *v = pol_vnet_lookup(vni);

	if (v == NULL || v->n_flood_tunnels != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (v->flood_tunnels[i] != tunnels[i])
			return false;
	return true;
}

static void
test_setup(void)
{
	CU_ASSERT(env_tables_reset(1024) == 0);
}

/* ---- virtual networks ---- */

static void
test_vnet_set_lookup_replace_delete(void)
{
	struct ctl_vnet cv;
	const struct pol_vnet *v;
	struct pol_endpoint ep = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1", NULL);

	memset(&cv, 0, sizeof(cv));
	snprintf(cv.name, sizeof(cv.name), "blue");
	cv.vni = VNI;
	cv.n_subnets = 1;
	cv.subnets[0].addr.family = AF_INET;
	cv.subnets[0].addr.v4 = env_ip4("10.0.0.0");
	cv.subnets[0].len = 24;
	CU_ASSERT(pol_vnet_set(&cv) == 0);
	v = pol_vnet_lookup(VNI);
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(v->name, "blue");
	CU_ASSERT_EQUAL(v->vni, VNI);
	CU_ASSERT_FALSE(v->flood);
	CU_ASSERT_EQUAL(v->n_subnets, 1);
	CU_ASSERT(memcmp(&v->subnets[0], &cv.subnets[0], sizeof(cv.subnets[0])) == 0);
	CU_ASSERT_EQUAL(v->n_flood_ports, 0);
	CU_ASSERT_EQUAL(v->n_flood_tunnels, 0);
	CU_ASSERT_PTR_NULL(pol_vnet_lookup(VNI + 1));

	/* replaced: new settings, members kept */
	CU_ASSERT(pol_endpoint_set(&ep) == 0);
	snprintf(cv.name, sizeof(cv.name), "blue2");
	cv.flood = true;
	CU_ASSERT(pol_vnet_set(&cv) == 0);
	v = pol_vnet_lookup(VNI);
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(v->name, "blue2");
	CU_ASSERT_TRUE(v->flood);
	CU_ASSERT(flood_ports_are(VNI, 1, (uint16_t[]){ 1 }));
	CU_ASSERT_PTR_EQUAL(by_mac(VNI, "02:00:00:00:0a:01"), pol_port_endpoint(1));
	CU_ASSERT(pol_endpoint_del(VNI, &ep.mac) == 0);

	CU_ASSERT(pol_vnet_del(VNI) == 0);
	CU_ASSERT_PTR_NULL(pol_vnet_lookup(VNI));
	CU_ASSERT(pol_vnet_del(VNI) == -ENOENT);
	CU_ASSERT(pol_endpoint_set(&ep) == -ENOENT);
	CU_ASSERT(keys(pol_tables.vnets) == 0);

	/* and can come back */
	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT_PTR_NOT_NULL(pol_vnet_lookup(VNI));
	CU_ASSERT(pol_endpoint_set(&ep) == 0);
}

static void
test_vnet_keeps_ipv4_gateways_of_its_subnets(void)
{
	struct ctl_vnet cv;
	const struct pol_vnet *v;

	memset(&cv, 0, sizeof(cv));
	snprintf(cv.name, sizeof(cv.name), "blue");
	cv.vni = 100;
	cv.n_subnets = 3;
	cv.subnets[0].addr.family = AF_INET;
	cv.subnets[0].addr.v4 = env_ip4("10.0.0.0");
	cv.subnets[0].len = 24;
	cv.gateways[0].family = AF_INET;
	cv.gateways[0].v4 = env_ip4("10.0.0.254");
	cv.subnets[1].addr.family = AF_INET;   /* no gateway */
	cv.subnets[1].addr.v4 = env_ip4("10.2.0.0");
	cv.subnets[1].len = 24;
	cv.subnets[2].addr.family = AF_INET;
	cv.subnets[2].addr.v4 = env_ip4("10.1.0.0");
	cv.subnets[2].len = 24;
	cv.gateways[2].family = AF_INET;
	cv.gateways[2].v4 = env_ip4("10.1.0.1");
	CU_ASSERT_FATAL(pol_vnet_set(&cv) == 0);
	v = pol_vnet_lookup(100);
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_EQUAL(v->n_gateways, 2);
	CU_ASSERT(pol_vnet_is_gateway(v, env_ip4("10.0.0.254")));
	CU_ASSERT(pol_vnet_is_gateway(v, env_ip4("10.1.0.1")));
	CU_ASSERT(!pol_vnet_is_gateway(v, env_ip4("10.2.0.254")));
	CU_ASSERT(!pol_vnet_is_gateway(v, 0));
	/* kept when the flood lists are republished */
	CU_ASSERT(env_ep_local(100, "vm1", "02:00:00:00:0a:01", "10.0.0.1", 1) == 0);
	CU_ASSERT(pol_vnet_is_gateway(pol_vnet_lookup(100), env_ip4("10.1.0.1")));
}

static void
test_vnet_delete_refused_while_endpoints_use_it(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1", NULL);
	struct pol_endpoint b = remote_ep(VNI, "rem", "02:00:00:00:0b:01", 7, "192.0.2.2",
					  "10.0.0.2", NULL);

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(pol_endpoint_set(&b) == 0);
	CU_ASSERT(pol_vnet_del(VNI) == -EBUSY);
	CU_ASSERT(pol_endpoint_del(VNI, &a.mac) == 0);
	CU_ASSERT(pol_vnet_del(VNI) == -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(pol_vnet_lookup(VNI));
	CU_ASSERT_PTR_NOT_NULL(by_mac(VNI, "02:00:00:00:0b:01"));
	CU_ASSERT(pol_endpoint_del(VNI, &b.mac) == 0);
	CU_ASSERT(pol_vnet_del(VNI) == 0);
	CU_ASSERT_PTR_NULL(pol_vnet_lookup(VNI));
}

/* ---- endpoints ---- */

static void
test_endpoint_found_by_mac_ip_and_port(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 5, "10.0.0.1",
					 "2001:db8::1");
	struct pol_endpoint b = remote_ep(VNI, "rem", "02:00:00:00:0b:01", 7, "192.0.2.2",
					  "10.0.0.2", NULL);
	const struct pol_endpoint *e;
	uint8_t v6[16];

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(pol_endpoint_set(&b) == 0);
	CU_ASSERT_EQUAL(pol_endpoint_count(), 2);

	e = by_mac(VNI, "02:00:00:00:0a:01");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.1"), e);
	CU_ASSERT_PTR_EQUAL(by_ip6(VNI, "2001:db8::1"), e);
	CU_ASSERT_PTR_EQUAL(pol_port_endpoint(5), e);
	CU_ASSERT_STRING_EQUAL(e->name, "vm1");
	CU_ASSERT_TRUE(e->local);
	CU_ASSERT_EQUAL(e->port, 5);
	CU_ASSERT_EQUAL(e->n_ips, 2);
	CU_ASSERT_TRUE(pol_ep_has_ip4(e, env_ip4("10.0.0.1")));
	CU_ASSERT_FALSE(pol_ep_has_ip4(e, env_ip4("10.0.0.2")));
	inet_pton(AF_INET6, "2001:db8::1", v6);
	CU_ASSERT_TRUE(pol_ep_has_ip6(e, v6));

	e = by_mac(VNI, "02:00:00:00:0b:01");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.2"), e);
	CU_ASSERT_FALSE(e->local);
	CU_ASSERT_EQUAL(e->tunnel, 7);
	CU_ASSERT_EQUAL(e->tep, env_ip4("192.0.2.2"));

	CU_ASSERT_PTR_NULL(by_mac(VNI, "02:00:00:00:0a:02"));
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.3"));
	CU_ASSERT_PTR_NULL(by_ip6(VNI, "2001:db8::2"));
	CU_ASSERT_PTR_NULL(pol_port_endpoint(6));
	CU_ASSERT(pol_endpoint_set(&(struct pol_endpoint){ .vni = 999 }) == -ENOENT);
}

static void
test_same_mac_and_ip_in_two_networks_stay_separate(void)
{
	struct pol_endpoint a = local_ep(VNI, "blue-vm", "02:00:00:00:0a:01", 1, "10.0.0.1", NULL);
	struct pol_endpoint b = local_ep(VNI2, "red-vm", "02:00:00:00:0a:01", 2, "10.0.0.1", NULL);
	const struct pol_endpoint *ea, *eb;

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_vnet(VNI2, "red", false) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(pol_endpoint_set(&b) == 0);
	ea = by_mac(VNI, "02:00:00:00:0a:01");
	eb = by_mac(VNI2, "02:00:00:00:0a:01");
	CU_ASSERT_FATAL(ea != NULL && eb != NULL);
	CU_ASSERT_PTR_NOT_EQUAL(ea, eb);
	CU_ASSERT_EQUAL(ea->port, 1);
	CU_ASSERT_EQUAL(eb->port, 2);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.1"), ea);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI2, "10.0.0.1"), eb);
	CU_ASSERT(flood_ports_are(VNI, 1, (uint16_t[]){ 1 }));
	CU_ASSERT(flood_ports_are(VNI2, 1, (uint16_t[]){ 2 }));

	CU_ASSERT(pol_endpoint_del(VNI, &a.mac) == 0);
	CU_ASSERT_PTR_NULL(by_mac(VNI, "02:00:00:00:0a:01"));
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.1"));
	CU_ASSERT_PTR_EQUAL(by_mac(VNI2, "02:00:00:00:0a:01"), eb);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI2, "10.0.0.1"), eb);
	CU_ASSERT_PTR_EQUAL(pol_port_endpoint(2), eb);
}

static void
test_replacing_endpoint_updates_every_view(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1", "10.0.0.2");
	const struct pol_endpoint *e;

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);

	/* moves to port 2, keeps 10.0.0.2, trades 10.0.0.1 for 10.0.0.9 */
	a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 2, "10.0.0.2", "10.0.0.9");
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	e = by_mac(VNI, "02:00:00:00:0a:01");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_EQUAL(e->port, 2);
	CU_ASSERT_PTR_NULL(pol_port_endpoint(1));
	CU_ASSERT_PTR_EQUAL(pol_port_endpoint(2), e);
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.1"));
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.2"), e);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.9"), e);
	CU_ASSERT(flood_ports_are(VNI, 1, (uint16_t[]){ 2 }));

	/* moves away to a remote TEP, with one address left */
	a = remote_ep(VNI, "vm1", "02:00:00:00:0a:01", 3, "192.0.2.9", "10.0.0.9", NULL);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	e = by_mac(VNI, "02:00:00:00:0a:01");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_FALSE(e->local);
	CU_ASSERT_EQUAL(e->tunnel, 3);
	CU_ASSERT_EQUAL(e->tep, env_ip4("192.0.2.9"));
	CU_ASSERT_PTR_NULL(pol_port_endpoint(2));
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.2"));
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.9"), e);
	CU_ASSERT(flood_ports_are(VNI, 0, NULL));
	CU_ASSERT(flood_tunnels_are(VNI, 1, (uint16_t[]){ 3 }));
	CU_ASSERT_EQUAL(pol_endpoint_count(), 1);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_mac), 1);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_ip), 1);   /* stale addresses gone */
}

static void
test_address_owned_by_another_endpoint_refused(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1", NULL);
	struct pol_endpoint b = local_ep(VNI, "vm2", "02:00:00:00:0a:02", 2, "10.0.0.2", NULL);
	struct pol_endpoint c = remote_ep(VNI, "rem", "02:00:00:00:0b:01", 7, "192.0.2.2",
					  "10.0.0.1", NULL);
	const struct pol_endpoint *ea, *eb;
	uint64_t rev_b;

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(pol_endpoint_set(&b) == 0);
	ea = by_mac(VNI, "02:00:00:00:0a:01");
	eb = by_mac(VNI, "02:00:00:00:0a:02");
	CU_ASSERT_FATAL(ea != NULL && eb != NULL);
	rev_b = eb->revision;

	/* a new endpoint wanting vm1's address */
	CU_ASSERT(pol_endpoint_set(&c) == -EEXIST);
	CU_ASSERT_PTR_NULL(by_mac(VNI, "02:00:00:00:0b:01"));
	CU_ASSERT(flood_tunnels_are(VNI, 0, NULL));

	/* vm2 adding vm1's address (and a new one) */
	b = local_ep(VNI, "vm2", "02:00:00:00:0a:02", 2, "10.0.0.9", "10.0.0.1");
	CU_ASSERT(pol_endpoint_set(&b) == -EEXIST);
	CU_ASSERT_PTR_EQUAL(by_mac(VNI, "02:00:00:00:0a:02"), eb);
	CU_ASSERT_EQUAL(eb->revision, rev_b);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.1"), ea);
	CU_ASSERT_PTR_EQUAL(by_ip(VNI, "10.0.0.2"), eb);
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.9"));
	CU_ASSERT_PTR_EQUAL(pol_port_endpoint(2), eb);
	CU_ASSERT_EQUAL(pol_endpoint_count(), 2);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_ip), 2);
}

static void
test_port_bound_to_another_endpoint_refused(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1", NULL);
	struct pol_endpoint b = local_ep(VNI, "vm2", "02:00:00:00:0a:02", 2, "10.0.0.2", NULL);
	struct pol_endpoint c = local_ep(VNI, "vm3", "02:00:00:00:0a:03", 1, "10.0.0.3", NULL);
	const struct pol_endpoint *ea, *eb;

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_vnet(VNI2, "red", false) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(pol_endpoint_set(&b) == 0);
	ea = pol_port_endpoint(1);
	eb = pol_port_endpoint(2);

	CU_ASSERT(pol_endpoint_set(&c) == -EEXIST);
	CU_ASSERT_PTR_NULL(by_mac(VNI, "02:00:00:00:0a:03"));
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.3"));
	c.vni = VNI2;                     /* one port, one VM, whatever its network */
	CU_ASSERT(pol_endpoint_set(&c) == -EEXIST);

	b.port = 1;                       /* vm2 moving onto vm1's port */
	CU_ASSERT(pol_endpoint_set(&b) == -EEXIST);
	CU_ASSERT_PTR_EQUAL(pol_port_endpoint(1), ea);
	CU_ASSERT_PTR_EQUAL(pol_port_endpoint(2), eb);
	CU_ASSERT_EQUAL(eb->port, 2);

	a.port = POL_MAX_PORTS;
	CU_ASSERT(pol_endpoint_set(&a) == -EINVAL);
	c = remote_ep(VNI, "rem", "02:00:00:00:0b:01", POL_MAX_TUNNELS, "192.0.2.2", NULL, NULL);
	CU_ASSERT(pol_endpoint_set(&c) == -EINVAL);
}

static void
test_deleted_endpoint_gone_from_every_view(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1",
					 "2001:db8::1");
	struct pol_endpoint b = remote_ep(VNI, "rem", "02:00:00:00:0b:01", 7, "192.0.2.2",
					  "10.0.0.2", NULL);

	CU_ASSERT(env_vnet(VNI, "blue", true) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(pol_endpoint_set(&b) == 0);
	CU_ASSERT(pol_endpoint_del(VNI, &a.mac) == 0);
	CU_ASSERT(pol_endpoint_del(VNI, &b.mac) == 0);
	CU_ASSERT_PTR_NULL(by_mac(VNI, "02:00:00:00:0a:01"));
	CU_ASSERT_PTR_NULL(by_mac(VNI, "02:00:00:00:0b:01"));
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.1"));
	CU_ASSERT_PTR_NULL(by_ip(VNI, "10.0.0.2"));
	CU_ASSERT_PTR_NULL(by_ip6(VNI, "2001:db8::1"));
	CU_ASSERT_PTR_NULL(pol_port_endpoint(1));
	CU_ASSERT(flood_ports_are(VNI, 0, NULL));
	CU_ASSERT(flood_tunnels_are(VNI, 0, NULL));
	CU_ASSERT(pol_endpoint_del(VNI, &a.mac) == -ENOENT);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_mac), 0);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_ip), 0);
	CU_ASSERT_EQUAL(pol_endpoint_count(), 0);
}

/* "Number of endpoints" (pol_tables.h) must not count deleted ones while
 * their hash slots wait for a grace period. */
static void
test_endpoint_count_drops_on_delete(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1", NULL);
	struct pol_endpoint b = local_ep(VNI, "vm2", "02:00:00:00:0a:02", 2, "10.0.0.2", NULL);
	const struct pol_endpoint *e;
	unsigned visited = 0;
	uint32_t next = 0;

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(pol_endpoint_set(&b) == 0);
	CU_ASSERT_EQUAL(pol_endpoint_count(), 2);
	CU_ASSERT(pol_endpoint_del(VNI, &a.mac) == 0);
	while (pol_endpoint_iterate(&next, &e) >= 0)
		visited++;
	CU_ASSERT_EQUAL(visited, 1);
	CU_ASSERT_EQUAL(pol_endpoint_count(), 1);    /* before any reclaim */
	pol_tables_reclaim();
	CU_ASSERT_EQUAL(pol_endpoint_count(), 1);
}

static void
test_flood_lists_follow_membership(void)
{
	static const char *const macs[] = {
		"02:00:00:00:0b:01", "02:00:00:00:0b:02", "02:00:00:00:0b:03", "02:00:00:00:0c:01",
	};
	struct pol_endpoint ep;

	CU_ASSERT(env_vnet(VNI, "blue", true) == 0);
	CU_ASSERT(flood_ports_are(VNI, 0, NULL) && flood_tunnels_are(VNI, 0, NULL));
	ep = local_ep(VNI, "vm2", "02:00:00:00:0a:02", 2, NULL, NULL);
	CU_ASSERT(pol_endpoint_set(&ep) == 0);
	ep = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, NULL, NULL);
	CU_ASSERT(pol_endpoint_set(&ep) == 0);
	CU_ASSERT(flood_ports_are(VNI, 2, (uint16_t[]){ 1, 2 }));

	/* three members behind tunnel 9, one behind tunnel 5 */
	for (unsigned i = 0; i < 4; i++) {
		ep = remote_ep(VNI, "rem", macs[i], i < 3 ? 9 : 5, "192.0.2.2", NULL, NULL);
		CU_ASSERT(pol_endpoint_set(&ep) == 0);
	}
	CU_ASSERT(flood_tunnels_are(VNI, 2, (uint16_t[]){ 5, 9 }));
	for (unsigned i = 0; i < 2; i++) {
		struct rte_ether_addr m = env_mac(macs[i]);

		CU_ASSERT(pol_endpoint_del(VNI, &m) == 0);
	}
	CU_ASSERT(flood_tunnels_are(VNI, 2, (uint16_t[]){ 5, 9 }));   /* one left behind 9 */
	ep = remote_ep(VNI, "rem", macs[2], 5, "192.0.2.3", NULL, NULL);  /* moves to 5 */
	CU_ASSERT(pol_endpoint_set(&ep) == 0);
	CU_ASSERT(flood_tunnels_are(VNI, 1, (uint16_t[]){ 5 }));
	ep = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, NULL, NULL);
	CU_ASSERT(pol_endpoint_del(VNI, &ep.mac) == 0);
	CU_ASSERT(flood_ports_are(VNI, 1, (uint16_t[]){ 2 }));
	/* the network's own settings survive membership changes */
	CU_ASSERT_TRUE(pol_vnet_lookup(VNI)->flood);
	CU_ASSERT_STRING_EQUAL(pol_vnet_lookup(VNI)->name, "blue");
}

static void
test_revision_increases_on_every_change(void)
{
	struct pol_endpoint a = local_ep(VNI, "vm1", "02:00:00:00:0a:01", 1, "10.0.0.1", NULL);
	struct pol_endpoint b = local_ep(VNI, "vm2", "02:00:00:00:0a:02", 2, "10.0.0.2", NULL);
	uint64_t last = 0;

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	for (unsigned i = 0; i < 4; i++) {
		const struct pol_endpoint *e;

		CU_ASSERT(pol_endpoint_set(i % 2 ? &b : &a) == 0);   /* identical re-sets too */
		e = by_mac(VNI, i % 2 ? "02:00:00:00:0a:02" : "02:00:00:00:0a:01");
		CU_ASSERT_FATAL(e != NULL);
		CU_ASSERT(e->revision > last);
		last = e->revision;
	}
	a.port = 3;
	CU_ASSERT(pol_endpoint_set(&a) == 0);
	CU_ASSERT(by_mac(VNI, "02:00:00:00:0a:01")->revision > last);
}

static void
test_endpoint_iteration_visits_each_once(void)
{
	struct pol_endpoint ep;
	const struct pol_endpoint *e;
	const struct pol_vnet *v;
	unsigned seen = 0, vnets = 0;
	uint32_t next = 0;

	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_vnet(VNI2, "red", false) == 0);
	for (unsigned i = 0; i < 10; i++) {
		char mac[18];

		snprintf(mac, sizeof(mac), "02:00:00:00:0d:%02x", i);
		ep = remote_ep(i % 2 ? VNI : VNI2, "rem", mac, i, "192.0.2.2", NULL, NULL);
		CU_ASSERT(pol_endpoint_set(&ep) == 0);
	}
	while (pol_endpoint_iterate(&next, &e) >= 0)
		seen |= 1u << e->tunnel;
	CU_ASSERT_EQUAL(seen, 0x3ff);
	next = 0;
	while (pol_vnet_iterate(&next, &v) >= 0)
		vnets += v->vni;
	CU_ASSERT_EQUAL(vnets, VNI + VNI2);
}

/* ---- tunnels ---- */

static void
test_tunnel_publish_replace_clear(void)
{
	struct pol_tunnel t;
	const struct pol_tunnel *got;

	memset(&t, 0, sizeof(t));
	t.dst_ip = env_ip4("192.0.2.2");
	t.port = 0;
	t.resolved = false;
	CU_ASSERT_PTR_NULL(pol_tunnel_get(4));
	pol_tunnel_publish(4, &t);
	got = pol_tunnel_get(4);
	CU_ASSERT_FATAL(got != NULL);
	CU_ASSERT_PTR_NOT_EQUAL(got, &t);
	CU_ASSERT_FALSE(got->resolved);
	t.resolved = true;
	t.dst_mac = env_mac("02:00:00:00:00:bb");
	pol_tunnel_publish(4, &t);
	got = pol_tunnel_get(4);
	CU_ASSERT_FATAL(got != NULL);
	CU_ASSERT_TRUE(got->resolved);
	CU_ASSERT(memcmp(got, &t, sizeof(t)) == 0);
	pol_tunnel_publish(4, NULL);
	CU_ASSERT_PTR_NULL(pol_tunnel_get(4));
	pol_tunnel_publish(POL_MAX_TUNNELS, &t);  /* out of range: ignored */
	pol_tables_reclaim();
}

/* ---- concurrency ---- */

#define RCU_ROUNDS 100000
#define RCU_PORT 3
#define RCU_MAC "02:00:00:00:0e:01"
#define RCU_STABLE_IP "10.0.0.1"

/* Version @k of the endpoint the reader watches: every field derives from k. */
static struct pol_endpoint
rcu_version(uint32_t k)
{
	char ip[INET_ADDRSTRLEN + 8];
	struct pol_endpoint ep;

	snprintf(ip, sizeof(ip), "10.%u.%u.%u", 1 + (k >> 16), (k >> 8) & 0xff, k & 0xff);
	ep = local_ep(VNI, "", RCU_MAC, RCU_PORT, RCU_STABLE_IP, ip);
	snprintf(ep.name, sizeof(ep.name), "ep-%u", k);
	ep.tep = htonl(k);
	ep.tunnel = k & 0xfff;
	return ep;
}

/* True when @ep is a whole version of the watched endpoint. */
static bool
rcu_whole(const struct pol_endpoint *ep)
{
	struct pol_endpoint want = rcu_version(ntohl(ep->tep));
	bool same = strncmp(want.name, ep->name, sizeof(want.name)) == 0 &&
		    want.vni == ep->vni && rte_is_same_ether_addr(&want.mac, &ep->mac) &&
		    want.local == ep->local && want.port == ep->port &&
		    want.tunnel == ep->tunnel && want.n_ips == ep->n_ips && ep->revision != 0;

	for (unsigned i = 0; same && i < want.n_ips; i++)
		same = want.ips[i].family == ep->ips[i].family && want.ips[i].v4 == ep->ips[i].v4;
	return same;
}

struct rcu_reader {
	pthread_t tid;
	atomic_bool started, stop;
	/* results, read after join */
	uint64_t rounds;
	uint64_t misses;              /* a lookup found nothing */
	uint64_t torn;                /* an object was not a whole version */
	uint64_t changed;             /* an object changed while held */
	uint64_t backwards;           /* an older revision after a newer one */
	uint64_t flood_gaps;          /* the network's flood list lacked the endpoint's port */
	int reg_error;
};

/* Check one object the reader reached: whole now, and unchanged a little later. */
static void
rcu_check(struct rcu_reader *r, const struct pol_endpoint *ep)
{
	struct pol_endpoint first;

	memcpy(&first, ep, sizeof(first));
	if (!rcu_whole(&first))
		r->torn++;
	for (volatile int spin = 0; spin < 20; spin++)
		;
	rte_compiler_barrier();
	if (memcmp(&first, ep, sizeof(first)) != 0)
		r->changed++;
}

static void *
rcu_reader_main(void *arg)
{
	struct rcu_reader *r = arg;
	struct rte_ether_addr mac = env_mac(RCU_MAC);
	uint32_t stable = env_ip4(RCU_STABLE_IP);
	uint64_t last_rev = 0;

	r->reg_error = rte_rcu_qsbr_thread_register(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_online(pol_tables.rcu, 0);
	atomic_store(&r->started, true);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		const struct pol_endpoint *e_mac = pol_ep_by_mac(VNI, &mac);
		const struct pol_endpoint *e_ip = pol_ep_by_ip4(VNI, stable);
		const struct pol_endpoint *e_port = pol_port_endpoint(RCU_PORT);
		const struct pol_vnet *v = pol_vnet_lookup(VNI);

		r->rounds++;
		if (e_mac == NULL || e_ip == NULL || e_port == NULL || v == NULL) {
			r->misses++;
		} else {
			rcu_check(r, e_mac);
			rcu_check(r, e_ip);
			rcu_check(r, e_port);
			if (e_mac->revision < last_rev)
				r->backwards++;
			last_rev = e_mac->revision;
			if (v->n_flood_ports != 1 || v->flood_ports[0] != RCU_PORT)
				r->flood_gaps++;
		}
		rte_rcu_qsbr_quiescent(pol_tables.rcu, 0);
	}
	rte_rcu_qsbr_thread_offline(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_unregister(pol_tables.rcu, 0);
	return NULL;
}

/* Replace the watched endpoint RCU_ROUNDS times while a reader thread,
 * RCU reader 0 and free to run on any CPU, keeps looking at it. */
static void
rcu_run(struct rcu_reader *r, unsigned *set_errors)
{
	struct pol_endpoint ep = rcu_version(0);
	pthread_attr_t attr;
	cpu_set_t cpus;

	memset(r, 0, sizeof(*r));
	*set_errors = 0;
	CU_ASSERT_FATAL(env_tables_reset(65536) == 0);
	CU_ASSERT_FATAL(env_vnet(VNI, "blue", true) == 0);
	CU_ASSERT_FATAL(pol_endpoint_set(&ep) == 0);

	/* EAL pinned this thread to one CPU; the reader must not share it */
	CPU_ZERO(&cpus);
	for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
		CPU_SET(c, &cpus);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	CU_ASSERT_FATAL(pthread_create(&r->tid, &attr, rcu_reader_main, r) == 0);
	pthread_attr_destroy(&attr);
	while (!atomic_load(&r->started))
		sched_yield();

	for (uint32_t k = 1; k <= RCU_ROUNDS; k++) {
		ep = rcu_version(k);
		if (pol_endpoint_set(&ep) != 0)
			(*set_errors)++;
		pol_tables_reclaim();
	}
	atomic_store(&r->stop, true);
	pthread_join(r->tid, NULL);
	pol_tables_reclaim();
	fprintf(stderr, "\n    reader: %" PRIu64 " rounds, %" PRIu64 " misses, %" PRIu64
		" torn, %" PRIu64 " changed, %" PRIu64 " backwards, %" PRIu64 " flood gaps ",
		r->rounds, r->misses, r->torn, r->changed, r->backwards, r->flood_gaps);
}

static void
test_readers_see_whole_endpoints_during_replacement(void)
{
	struct rcu_reader r;
	unsigned set_errors;

	rcu_run(&r, &set_errors);
	CU_ASSERT_EQUAL(r.reg_error, 0);
	CU_ASSERT_EQUAL(set_errors, 0);
	CU_ASSERT(r.rounds > 0);
	CU_ASSERT_EQUAL(r.misses, 0);
	CU_ASSERT_EQUAL(r.torn, 0);
	CU_ASSERT_EQUAL(r.changed, 0);
	CU_ASSERT_EQUAL(r.backwards, 0);
	/* the last version is what remains, with no stale address keys */
	CU_ASSERT_EQUAL(ntohl(by_mac(VNI, RCU_MAC)->tep), RCU_ROUNDS);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_ip), 2);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_mac), 1);
}

/* Replacing an endpoint in place must not publish a network whose flood
 * list lacks it: a broadcast read in between would miss the VM. */
static void
test_flood_list_keeps_member_during_replacement(void)
{
	struct rcu_reader r;
	unsigned set_errors;

	rcu_run(&r, &set_errors);
	CU_ASSERT_EQUAL(set_errors, 0);
	CU_ASSERT(r.rounds > 0);
	CU_ASSERT_EQUAL(r.flood_gaps, 0);
}

#define MANY 100000

static void
test_100k_endpoints_added_and_removed_leave_tables_empty(void)
{
	struct pol_endpoint ep;
	unsigned add_errors = 0, del_errors = 0;

	CU_ASSERT_FATAL(env_tables_reset(131072) == 0);
	CU_ASSERT_FATAL(env_vnet(VNI, "blue", true) == 0);
	for (uint32_t k = 0; k < MANY; k++) {
		char mac[24], ip[INET_ADDRSTRLEN + 8];

		snprintf(mac, sizeof(mac), "02:01:00:%02x:%02x:%02x", k >> 16, (k >> 8) & 0xff,
			 k & 0xff);
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", k >> 16, (k >> 8) & 0xff, k & 0xff);
		ep = remote_ep(VNI, "many", mac, k % 8, "192.0.2.2", ip, NULL);
		add_errors += pol_endpoint_set(&ep) != 0;
	}
	CU_ASSERT_EQUAL(add_errors, 0);
	CU_ASSERT_EQUAL(pol_endpoint_count(), MANY);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_ip), MANY);
	CU_ASSERT(flood_tunnels_are(VNI, 8, (uint16_t[]){ 0, 1, 2, 3, 4, 5, 6, 7 }));
	CU_ASSERT_PTR_NOT_NULL(by_ip(VNI, "10.1.134.159"));       /* k = 99999 */

	for (uint32_t k = 0; k < MANY; k++) {
		struct rte_ether_addr mac = {
			.addr_bytes = { 0x02, 0x01, 0x00, k >> 16, (k >> 8) & 0xff, k & 0xff },
		};

		del_errors += pol_endpoint_del(VNI, &mac) != 0;
	}
	CU_ASSERT_EQUAL(del_errors, 0);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_mac), 0);
	CU_ASSERT_EQUAL(keys(pol_tables.ep_by_ip), 0);
	CU_ASSERT_EQUAL(pol_endpoint_count(), 0);
	CU_ASSERT(flood_tunnels_are(VNI, 0, NULL));
	CU_ASSERT(pol_vnet_del(VNI) == 0);
	CU_ASSERT_EQUAL(keys(pol_tables.vnets), 0);
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "vnet set, lookup, replace, delete", test_vnet_set_lookup_replace_delete },
		{ "vnet delete refused while in use", test_vnet_delete_refused_while_endpoints_use_it },
		{ "vnet keeps the IPv4 gateways of its subnets", test_vnet_keeps_ipv4_gateways_of_its_subnets },
		{ "endpoint found by MAC, IP and port", test_endpoint_found_by_mac_ip_and_port },
		{ "same MAC and IP in two networks", test_same_mac_and_ip_in_two_networks_stay_separate },
		{ "replacing an endpoint updates every view", test_replacing_endpoint_updates_every_view },
		{ "address owned by another endpoint refused", test_address_owned_by_another_endpoint_refused },
		{ "port bound to another endpoint refused", test_port_bound_to_another_endpoint_refused },
		{ "deleted endpoint gone from every view", test_deleted_endpoint_gone_from_every_view },
		{ "endpoint count drops on delete", test_endpoint_count_drops_on_delete },
		{ "flood lists follow membership", test_flood_lists_follow_membership },
		{ "revision increases on every change", test_revision_increases_on_every_change },
		{ "iteration visits each once", test_endpoint_iteration_visits_each_once },
		{ "tunnel publish, replace, clear", test_tunnel_publish_replace_clear },
		{ "readers see whole endpoints during replacement", test_readers_see_whole_endpoints_during_replacement },
		{ "flood list keeps member during replacement", test_flood_list_keeps_member_during_replacement },
		{ "100k endpoints added and removed leave tables empty", test_100k_endpoints_added_and_removed_leave_tables_empty },
	};
	const struct unit_suite suite = { "tables", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, NULL };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_tables: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
