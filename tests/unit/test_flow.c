/* Unit tests of the rte_flow rules of physical ports (src/datapath/dp_flow.c)
 * on real ethdevs: the software PMDs of these machines refuse every rule
 * (net_null: ENOSYS; net_tap: no TC flower to create them), so what is
 * checked is what a user sees there: each rule listed with its error,
 * the fallback counted per kind, VNI rules following the networks, all
 * rules forgotten when the port stops, and the software classification
 * that carries the traffic without them.
 *
 *   port 0  physical net_null, 2 rx queues, 192.0.2.1
 *   port 1  physical net_tap, 1 rx queue, 192.0.2.1
 *   port 2  fake vhost port, vm1 02:00:00:00:0a:01 in VNI 100
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <rte_ethdev.h>
#include <rte_ip.h>

#include "unit_main.h"
#include "dp.h"
#include "dp_flow.h"
#include "dp_port.h"
#include "dp_test_env.h"

#define NULL_PORT 0
#define TAP_PORT 1
#define VM_PORT 2
#define LOCAL_TEP "192.0.2.1"
#define PEER_TEP "192.0.2.2"
#define PEER_MAC "02:00:00:00:00:bb"
#define VM1_MAC "02:00:00:00:0a:01"
#define NOTIFY_PORT 4790

static char tap_iface[16];

/* Create and start a physical port at @idx from @devargs, as ctl_ports.c does. */
static struct dp_port *
phys(uint16_t idx, const char *name, const char *devargs, unsigned rxq)
{
	struct ctl_phys_port cfg;
	struct dp_port *p;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	snprintf(cfg.devargs, sizeof(cfg.devargs), "%s", devargs);
	cfg.rx_queues = rxq;
	cfg.ip = env_ip4(LOCAL_TEP);
	cfg.prefix_len = 24;
	cfg.mtu = 1500;
	p = dp_port_create_phys(&cfg, idx);
	if (p == NULL)
		return NULL;
	if (p->ops->start(p, dp.pool, dp.n_workers) != 0) {
		dp_port_destroy(p);
		return NULL;
	}
	return p;
}

static void
phys_remove(struct dp_port *p)
{
	if (p == NULL)
		return;
	atomic_store(&dp.ports[p->index], NULL);
	p->ops->stop(p);
	dp_port_destroy(p);
}

static struct dp_port *
null_port(void)
{
	return phys(NULL_PORT, "ul-null", "net_null_flow0", 2);
}

static unsigned
count_kind(uint16_t idx, enum dp_flow_kind k)
{
	const struct dp_flow_rule *r;
	unsigned n = dp_flow_rules(idx, &r), c = 0;

	for (unsigned i = 0; i < n; i++)
		c += r[i].kind == k;
	return c;
}

static void
test_setup(void)
{
	CU_ASSERT_FATAL(env_tables_reset(1024) == 0);
	env_ctx_reset();
	dp.notify_port = rte_cpu_to_be_16(NOTIFY_PORT);
	dp.vxlan_any_source = false;
	CU_ASSERT_FATAL(env_vnet(100, "blue", false) == 0);
	CU_ASSERT_FATAL(env_vnet(200, "red", false) == 0);
}

static void
test_teardown(void)
{
	env_tx_clear();
	env_punt_drain();
	env_ports_clear();
	dp.notify_port = 0;
}

static void
test_every_rule_refused_by_net_null_is_listed_with_enosys_and_counted(void)
{
	struct dp_port *p = null_port();
	const struct dp_flow_rule *r;
	struct dp_flow_counters c;
	unsigned n;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(dp_flow_port_active(NULL_PORT));
	n = dp_flow_rules(NULL_PORT, &r);
	/* vxlan, arp, notify, then one per network by VNI */
	CU_ASSERT_FATAL(n == 5);
	CU_ASSERT(r[0].kind == DP_FLOW_VXLAN);
	CU_ASSERT(r[1].kind == DP_FLOW_ARP);
	CU_ASSERT(r[2].kind == DP_FLOW_NOTIFY);
	CU_ASSERT(r[3].kind == DP_FLOW_VNI && r[3].vni == 100);
	CU_ASSERT(r[4].kind == DP_FLOW_VNI && r[4].vni == 200);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT(r[i].flow == NULL);
		CU_ASSERT(!r[i].validated);
		CU_ASSERT(r[i].error == -ENOSYS);
		CU_ASSERT(r[i].message[0] != '\0');
	}
	CU_ASSERT_STRING_EQUAL(r[0].pattern, "eth / ipv4 dst 192.0.2.1 / udp dst 4789");
	CU_ASSERT_STRING_EQUAL(r[0].action, "rss queues 0-1");
	CU_ASSERT_STRING_EQUAL(r[1].pattern, "eth type 0x0806 / arp tpa 192.0.2.1");
	CU_ASSERT_STRING_EQUAL(r[2].pattern, "eth / ipv4 dst 192.0.2.1 / udp dst 4790");
	CU_ASSERT_STRING_EQUAL(r[3].pattern,
			       "eth / ipv4 dst 192.0.2.1 / udp dst 4789 / vxlan vni 100");
	CU_ASSERT_STRING_EQUAL(r[3].action, "mark 100 / rss queues 0-1");
	dp_flow_counters(NULL_PORT, DP_FLOW_VXLAN, &c);
	CU_ASSERT(c.hardware == 0 && c.fallback == 1);
	dp_flow_counters(NULL_PORT, DP_FLOW_VNI, &c);
	CU_ASSERT(c.hardware == 0 && c.fallback == 2);
	CU_ASSERT_STRING_EQUAL(dp_flow_marks(NULL_PORT), "not negotiable");
	phys_remove(p);
	CU_ASSERT_STRING_EQUAL(dp_flow_marks(NULL_PORT), "-");
}

static void
test_net_tap_rules_are_not_created_and_say_why(void)
{
	char devargs[64];
	struct dp_port *p;
	const struct dp_flow_rule *r;
	struct dp_flow_counters c;
	unsigned n;

	snprintf(devargs, sizeof(devargs), "net_tap_flow0,iface=%s", tap_iface);
	p = phys(TAP_PORT, "ul-tap", devargs, 1);
	CU_ASSERT_FATAL(p != NULL);
	n = dp_flow_rules(TAP_PORT, &r);
	CU_ASSERT_FATAL(n == 5);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT(r[i].flow == NULL);
		CU_ASSERT(r[i].error < 0);
		CU_ASSERT(r[i].error != -ENOSYS);   /* net_tap has flow support, the kernel not */
		CU_ASSERT(r[i].message[0] != '\0');
	}
	CU_ASSERT_STRING_EQUAL(r[0].action, "queue 0");   /* one rx queue: no RSS */
	for (unsigned k = 0; k < DP_FLOW_KIND_MAX; k++) {
		dp_flow_counters(TAP_PORT, k, &c);
		CU_ASSERT(c.hardware == 0);
		CU_ASSERT(c.fallback == count_kind(TAP_PORT, k));
	}
	phys_remove(p);
}

static void
test_changed_networks_add_and_remove_only_their_vni_rules(void)
{
	struct dp_port *p = null_port();
	const struct dp_flow_rule *r;
	struct dp_flow_counters c;
	unsigned n;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_FATAL(env_vnet(300, "green", false) == 0);
	CU_ASSERT(pol_vnet_del(100) == 0);
	dp_flow_tables_changed();
	n = dp_flow_rules(NULL_PORT, &r);
	CU_ASSERT_FATAL(n == 5);
	CU_ASSERT(r[3].vni == 200 && r[4].vni == 300);
	/* only the new network's rule was tried: 100, 200, then 300 */
	dp_flow_counters(NULL_PORT, DP_FLOW_VNI, &c);
	CU_ASSERT(c.fallback == 3);
	dp_flow_counters(NULL_PORT, DP_FLOW_VXLAN, &c);
	CU_ASSERT(c.fallback == 1);
	/* an apply that leaves the networks as they are tries nothing */
	dp_flow_tables_changed();
	dp_flow_counters(NULL_PORT, DP_FLOW_VNI, &c);
	CU_ASSERT(c.fallback == 3);
	/* no network left: only the base rules */
	CU_ASSERT(pol_vnet_del(200) == 0);
	CU_ASSERT(pol_vnet_del(300) == 0);
	dp_flow_tables_changed();
	CU_ASSERT(dp_flow_rules(NULL_PORT, &r) == 3);
	CU_ASSERT(count_kind(NULL_PORT, DP_FLOW_VNI) == 0);
	phys_remove(p);
}

static void
test_without_notify_port_no_notification_rule(void)
{
	struct dp_port *p;

	dp.notify_port = 0;
	p = null_port();
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(count_kind(NULL_PORT, DP_FLOW_NOTIFY) == 0);
	CU_ASSERT(count_kind(NULL_PORT, DP_FLOW_VXLAN) == 1);
	phys_remove(p);
}

static void
test_stopped_port_forgets_its_rules_and_counters(void)
{
	struct dp_port *p = null_port();
	const struct dp_flow_rule *r;
	struct dp_flow_counters c;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(dp_flow_rules(NULL_PORT, &r) == 5);
	p->ops->stop(p);
	CU_ASSERT(!dp_flow_port_active(NULL_PORT));
	CU_ASSERT(dp_flow_rules(NULL_PORT, &r) == 0 && r == NULL);
	dp_flow_counters(NULL_PORT, DP_FLOW_VXLAN, &c);
	CU_ASSERT(c.fallback == 0);
	/* a stopped port is not re-made by a table change */
	CU_ASSERT(env_vnet(300, "green", false) == 0);
	dp_flow_tables_changed();
	CU_ASSERT(!dp_flow_port_active(NULL_PORT));
	dp_port_destroy(p);
	/* a vhost-user port never has rules: stopping one is harmless */
	CU_ASSERT(!dp_flow_port_active(VM_PORT));
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	CU_ASSERT_FATAL(m != NULL);
	dp_input(env_ctx, port, &m, 1);
}

static void
test_traffic_is_classified_in_software_without_rules(void)
{
	struct dp_port *p = null_port(), *vm;
	struct env_frame f, inner;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(count_kind(NULL_PORT, DP_FLOW_VXLAN) == 1);
	atomic_store(&dp.ports[NULL_PORT], p);
	vm = env_port_add(VM_PORT, DP_PORT_VHOST, "vm1", VM1_MAC);
	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT_FATAL(env_ep_local(100, "vm1", VM1_MAC, "10.0.0.1", VM_PORT) == 0);
	dp.vxlan_any_source = true;
	rte_ether_format_addr(mac, sizeof(mac), &p->mac);

	/* ARP for our underlay address: to the control thread */
	f.len = 0;
	env_eth(&f, "ff:ff:ff:ff:ff:ff", PEER_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, 1, PEER_MAC, PEER_TEP, NULL, LOCAL_TEP);
	input(NULL_PORT, env_frame_mbuf(&f));
	CU_ASSERT(env_punt_drain() == 1);

	/* a notification: to the control thread */
	f.len = 0;
	env_eth(&f, mac, PEER_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, PEER_TEP, LOCAL_TEP, IPPROTO_UDP);
	env_udp(&f, 40000, NOTIFY_PORT);
	env_payload(&f, 32);
	env_frame_done(&f);
	input(NULL_PORT, env_frame_mbuf(&f));
	CU_ASSERT(env_punt_drain() == 1);

	/* VXLAN in VNI 100 to vm1: decapsulated and delivered */
	inner.len = 0;
	env_eth(&inner, VM1_MAC, "02:00:00:00:0b:01", RTE_ETHER_TYPE_IPV4);
	env_ipv4(&inner, "10.0.0.2", "10.0.0.1", IPPROTO_UDP);
	env_udp(&inner, 1000, 2000);
	env_payload(&inner, 16);
	env_frame_done(&inner);
	f.len = 0;
	env_eth(&f, mac, PEER_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, PEER_TEP, LOCAL_TEP, IPPROTO_UDP);
	env_udp(&f, 50000, 4789);
	env_vxlan(&f, 0x08, 100);
	env_put(&f, inner.b, inner.len);
	env_frame_done(&f);
	input(NULL_PORT, env_frame_mbuf(&f));
	CU_ASSERT(env_tx_count(VM_PORT) == 1);
	CU_ASSERT(env_mbuf_equal(env_tx_pkt(VM_PORT, 0), inner.b, inner.len, 0, 0));
	CU_ASSERT(pol_endpoint_del(100, &vm->mac) == 0);
	phys_remove(p);
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "every rule refused by net_null is listed with ENOSYS and counted",
		  test_every_rule_refused_by_net_null_is_listed_with_enosys_and_counted },
		{ "net_tap rules are not created and say why",
		  test_net_tap_rules_are_not_created_and_say_why },
		{ "changed networks add and remove only their VNI rules",
		  test_changed_networks_add_and_remove_only_their_vni_rules },
		{ "without notify port no notification rule",
		  test_without_notify_port_no_notification_rule },
		{ "stopped port forgets its rules and counters",
		  test_stopped_port_forgets_its_rules_and_counters },
		{ "traffic is classified in software without rules",
		  test_traffic_is_classified_in_software_without_rules },
	};
	const struct unit_suite suite = { "flow", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, test_teardown };
	int ret;

	snprintf(tap_iface, sizeof(tap_iface), "dpflow%d", (int)getpid() % 100000);
	ret = env_init(argv[0], 1024);
	if (ret < 0) {
		fprintf(stderr, "test_flow: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
