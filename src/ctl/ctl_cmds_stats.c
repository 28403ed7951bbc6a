/* `show` and `stats`: the switch's configuration and counters as JSON.
 * Counters are summed over workers here; workers never share a counter. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mempool.h>

#include "ctl_cmds.h"
#include "ctl_server.h"
#include "ctl_switch.h"
#include "ctl_underlay.h"
#include "dp.h"

static json_t *
ip_str(const struct ctl_ip *ip)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(ip->family, ip->family == AF_INET ? (const void *)&ip->v4 : ip->v6, s, sizeof(s));
	return json_string(s);
}

static json_t *
prefix_str(const struct ctl_prefix *p)
{
	char s[INET6_ADDRSTRLEN + 4];
	size_t len;

	inet_ntop(p->addr.family, p->addr.family == AF_INET ? (const void *)&p->addr.v4 :
		  p->addr.v6, s, sizeof(s));
	len = strlen(s);
	snprintf(s + len, sizeof(s) - len, "/%u", p->len);
	return json_string(s);
}

static json_t *
mac_str(const struct rte_ether_addr *mac)
{
	char s[RTE_ETHER_ADDR_FMT_SIZE];

	/* lower case, as configurations and trace write them */
	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", RTE_ETHER_ADDR_BYTES(mac));
	return json_string(s);
}

/* The VM a vhost port is declared for (informative; "-" when unset). */
static const char *
vhost_vm(const char *port)
{
	const struct ctl_config *cfg = ctl_switch_config();

	for (unsigned i = 0; cfg != NULL && i < cfg->n_vhost; i++)
		if (strcmp(cfg->vhost[i].name, port) == 0 && cfg->vhost[i].vm[0] != '\0')
			return cfg->vhost[i].vm;
	return "-";
}

json_t *
ctl_json_ports(void)
{
	json_t *arr = json_array();

	for (uint16_t i = 0; i < DP_MAX_PORTS; i++) {
		struct dp_port *p = dp_port_get(i);
		json_t *o;

		if (p == NULL)
			continue;
		o = json_pack("{s:s, s:s, s:s, s:o, s:i, s:i}", "name", p->name,
			      "type", p->kind == DP_PORT_PHYS ? "physical" : "vhost-user",
			      "link", p->ops->link_up(p) ? "up" : "down",
			      "mac", mac_str(&p->mac), "rx_queues", p->n_rxq, "tx_queues", p->n_txq);
		if (p->kind == DP_PORT_PHYS) {
			struct ctl_prefix pf = { .addr = { .family = AF_INET, .v4 = p->ip },
						 .len = p->prefix_len };

			json_object_set_new(o, "address", prefix_str(&pf));
			json_object_set_new(o, "mtu", json_integer(p->mtu));
		} else {
			const struct pol_endpoint *ep = pol_port_endpoint(i);

			json_object_set_new(o, "address", json_string(p->socket));
			json_object_set_new(o, "mode", json_string(
				p->mode == CTL_VHOST_CLIENT ? "client" : "server"));
			json_object_set_new(o, "vm", json_string(vhost_vm(p->name)));
			json_object_set_new(o, "mtu", json_integer(p->mtu));
			if (p->guest_mtu_known)   /* once the guest's driver is up */
				json_object_set_new(o, "guest_mtu",
						    json_integer(p->guest_mtu ? p->guest_mtu : 1500));
			json_object_set_new(o, "endpoint", json_string(ep ? ep->name : "-"));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *
ctl_json_vnets(void)
{
	json_t *arr = json_array();
	const struct pol_vnet *v;
	uint32_t next = 0;

	while (pol_vnet_iterate(&next, &v) >= 0) {
		json_t *subnets = json_array();

		for (unsigned i = 0; i < v->n_subnets; i++)
			json_array_append_new(subnets, prefix_str(&v->subnets[i]));
		json_array_append_new(arr, json_pack("{s:s, s:i, s:o, s:b, s:i, s:i}",
			"name", v->name, "vni", (int)v->vni, "subnets", subnets, "flood", v->flood,
			"local_ports", v->n_flood_ports, "remote_teps", v->n_flood_tunnels));
	}
	return arr;
}

json_t *
ctl_json_endpoints(uint32_t vni)
{
	json_t *arr = json_array();
	const struct pol_endpoint *ep;
	uint32_t next = 0;

	while (pol_endpoint_iterate(&next, &ep) >= 0) {
		json_t *ips;
		char where[64];

		if (vni != UINT32_MAX && ep->vni != vni)
			continue;
		ips = json_array();

		for (unsigned i = 0; i < ep->n_ips; i++)
			json_array_append_new(ips, ip_str(&ep->ips[i]));
		if (ep->local) {
			const struct dp_port *p = dp_port_get(ep->port);

			snprintf(where, sizeof(where), "port %s", p ? p->name : "?");
		} else {
			char tep[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &ep->tep, tep, sizeof(tep));
			snprintf(where, sizeof(where), "tep %s", tep);
		}
		json_array_append_new(arr, json_pack("{s:s, s:i, s:o, s:o, s:s, s:I}",
			"name", ep->name, "vni", (int)ep->vni, "mac", mac_str(&ep->mac),
			"ips", ips, "location", where, "revision", (json_int_t)ep->revision));
	}
	return arr;
}

/* What `stats --clear` subtracts: counters as they were when cleared.
 * Workers' counters are never written by this thread. */
static struct {
	struct dp_port_counters port[DP_MAX_PORTS];
	uint64_t packets[DP_MAX_WORKERS], busy_cycles[DP_MAX_WORKERS];
	uint64_t idle_sleeps[DP_MAX_WORKERS], punted[DP_MAX_WORKERS];
	uint64_t icmp_sent[DP_MAX_WORKERS], icmp_limited[DP_MAX_WORKERS];
	uint64_t emc_hits[DP_MAX_WORKERS], emc_misses[DP_MAX_WORKERS];
	uint64_t drops[DP_DROP_MAX];
} base;

static struct dp_port_counters
port_sum(uint16_t i)
{
	struct dp_port_counters s = { 0 };

	for (unsigned w = 0; w < dp.n_workers; w++) {
		const struct dp_port_counters *c = &dp.lcores[w].port[i];

		s.rx_packets += c->rx_packets;
		s.rx_bytes += c->rx_bytes;
		s.tx_packets += c->tx_packets;
		s.tx_bytes += c->tx_bytes;
		s.drops += c->drops;
	}
	return s;
}

static uint64_t
drop_sum(unsigned d)
{
	uint64_t n = 0;

	for (unsigned w = 0; w < dp.n_workers; w++)
		n += dp.lcores[w].drops[d];
	return n;
}

void
ctl_stats_port_reset(uint16_t idx)
{
	if (dp.lcores != NULL)
		base.port[idx] = port_sum(idx);
}

static void
stats_clear(void)
{
	for (uint16_t i = 0; i < DP_MAX_PORTS; i++)
		ctl_stats_port_reset(i);
	for (unsigned w = 0; w < dp.n_workers; w++) {
		base.packets[w] = dp.lcores[w].packets;
		base.busy_cycles[w] = dp.lcores[w].busy_cycles;
		base.idle_sleeps[w] = dp.lcores[w].idle_sleeps;
		base.punted[w] = dp.lcores[w].punted;
		base.icmp_sent[w] = dp.lcores[w].icmp_frag_needed;
		base.icmp_limited[w] = dp.lcores[w].icmp_limited;
		base.emc_hits[w] = dp.lcores[w].emc.hits;
		base.emc_misses[w] = dp.lcores[w].emc.misses;
	}
	for (unsigned d = 0; d < DP_DROP_MAX; d++)
		base.drops[d] = drop_sum(d);
}

json_t *
ctl_json_port_stats(uint16_t i)
{
	const struct dp_port *p = dp_port_get(i);
	struct dp_port_counters s = port_sum(i);

	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}",
		"name", p ? p->name : "?",
		"rx_packets", (json_int_t)(s.rx_packets - base.port[i].rx_packets),
		"rx_bytes", (json_int_t)(s.rx_bytes - base.port[i].rx_bytes),
		"tx_packets", (json_int_t)(s.tx_packets - base.port[i].tx_packets),
		"tx_bytes", (json_int_t)(s.tx_bytes - base.port[i].tx_bytes),
		"drops", (json_int_t)(s.drops - base.port[i].drops));
}

static json_t *
workers_json(void)
{
	json_t *arr = json_array();

	for (unsigned w = 0; w < dp.n_workers; w++) {
		const struct dp_lcore *c = &dp.lcores[w];
		const struct dp_rxq_list *l = atomic_load(&c->rxqs);
		json_t *rxqs = json_array();
		char q[CTL_NAME_MAX + 8];
		uint64_t pkts = c->packets - base.packets[w];
		uint64_t cyc = c->busy_cycles - base.busy_cycles[w];

		for (uint16_t i = 0; l != NULL && i < l->n; i++) {
			const struct dp_port *p = dp_port_get(l->q[i].port);

			snprintf(q, sizeof(q), "%s:%u", p ? p->name : "?", l->q[i].queue);
			json_array_append_new(rxqs, json_string(q));
		}
		json_array_append_new(arr, json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
						     "s:I, s:I, s:o}",
			"worker", w, "lcore", c->lcore_id, "packets", (json_int_t)pkts,
			"busy_cycles", (json_int_t)cyc,
			"cycles_per_packet", (json_int_t)(pkts ? cyc / pkts : 0),
			"idle_sleeps", (json_int_t)(c->idle_sleeps - base.idle_sleeps[w]),
			"punted", (json_int_t)(c->punted - base.punted[w]),
			"icmp_frag_needed", (json_int_t)(c->icmp_frag_needed - base.icmp_sent[w]),
			"icmp_rate_limited", (json_int_t)(c->icmp_limited - base.icmp_limited[w]),
			"emc_hits", (json_int_t)(c->emc.hits - base.emc_hits[w]),
			"emc_misses", (json_int_t)(c->emc.misses - base.emc_misses[w]),
			"rx_queues", rxqs));
	}
	return arr;
}

static json_t *
port_stats_json(void)
{
	json_t *arr = json_array();

	for (uint16_t i = 0; i < DP_MAX_PORTS; i++)
		if (dp_port_get(i) != NULL)
			json_array_append_new(arr, ctl_json_port_stats(i));
	return arr;
}

static json_t *
drops_json(void)
{
	json_t *arr = json_array();

	for (unsigned d = 0; d < DP_DROP_MAX; d++)
		json_array_append_new(arr, json_pack("{s:s, s:I, s:s}", "reason", dp_drop_name(d),
			"count", (json_int_t)(drop_sum(d) - base.drops[d]), "help", dp_drop_help(d)));
	return arr;
}

static int
cmd_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct ctl_config *cfg = ctl_switch_config();

	(void)args; (void)err; (void)errlen;
	*result = json_pack("{s:s, s:s, s:i, s:I, s:o, s:o, s:o, s:o, s:o}",
		"version", VS_VERSION, "config", cfg ? cfg->file : "-",
		"vxlan_port", rte_be_to_cpu_16(dp.vxlan_port),
		"tsc_hz", (json_int_t)rte_get_tsc_hz(),
		"ports", ctl_json_ports(), "networks", ctl_json_vnets_model(), "endpoints", ctl_json_endpoints_model(UINT32_MAX),
		"tunnels", ctl_underlay_json(), "workers", workers_json());
	return *result ? 0 : -ENOMEM;
}

static int
cmd_stats(json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *what = "all";
	bool clear = false, all;

	for (size_t i = 0; i < json_array_size(args); i++) {
		const char *a = json_string_value(json_array_get(args, i));

		if (strcmp(a, "--clear") == 0 || strcmp(a, "clear") == 0)
			clear = true;
		else
			what = a;
	}
	all = strcmp(what, "all") == 0;
	if (!all && strcmp(what, "ports") && strcmp(what, "workers") && strcmp(what, "drops")) {
		snprintf(err, errlen, "unknown statistics '%s' (ports, workers, drops or all)", what);
		return -EINVAL;
	}
	/* the reply shows the counters as they were, then they restart from 0 */
	*result = json_object();
	if (all || strcmp(what, "ports") == 0)
		json_object_set_new(*result, "ports", port_stats_json());
	if (all || strcmp(what, "workers") == 0) {
		json_object_set_new(*result, "workers", workers_json());
		/* what leaks, or exhaustion, would show */
		json_object_set_new(*result, "mbufs", json_pack("{s:I, s:I}",
			"size", (json_int_t)dp.pool->size,
			"in_use", (json_int_t)rte_mempool_in_use_count(dp.pool)));
	}
	if (all || strcmp(what, "drops") == 0)
		json_object_set_new(*result, "drops", drops_json());
	if (clear) {
		stats_clear();
		json_object_set_new(*result, "cleared", json_true());
	}
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "show", "", 0, 0, cmd_show,
	  "ports, networks, endpoints, tunnels and workers" },
	{ "stats", "[ports|workers|drops|all] [--clear]", 0, 2, cmd_stats,
	  "counters per port, per worker and per drop reason; --clear restarts them from 0" },
};

int
ctl_cmds_stats_register(void)
{
	return ctl_cmds_register(cmds, RTE_DIM(cmds));
}
