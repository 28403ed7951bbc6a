/* Builds the datapath from a configuration and runs the control thread's
 * periodic duties.  Order matters: ports before the endpoints bound to
 * them, networks before endpoints, tunnels (which need port addresses)
 * before remote endpoints, workers last. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "ctl_switch.h"
#include "ctl_underlay.h"
#include "dp.h"
#include "dp_port.h"

RTE_LOG_REGISTER_SUFFIX(sw_logtype, switch, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sw_logtype, "switch: " fmt "\n", ##__VA_ARGS__)

static const struct ctl_config *running;
static unsigned n_ports;

const struct ctl_config *
ctl_switch_config(void)
{
	return running;
}

int
ctl_switch_eal_args(const struct ctl_config *cfg, const char *prog, char **argv, int max)
{
	static char mem[16], main_lcore[16];
	int n = 0;

#define ARG(s) do { if (n >= max - 1) return -E2BIG; argv[n++] = (char *)(s); } while (0)
	ARG(prog);
	ARG("--lcores");
	ARG(cfg->eal.lcores);
	snprintf(main_lcore, sizeof(main_lcore), "%u", cfg->eal.main_lcore);
	ARG("--main-lcore");
	ARG(main_lcore);
	if (cfg->eal.memory_mb) {
		snprintf(mem, sizeof(mem), "%u", cfg->eal.memory_mb);
		ARG("-m");
		ARG(mem);
	}
	if (cfg->eal.file_prefix[0]) {
		ARG("--file-prefix");
		ARG(cfg->eal.file_prefix);
	}
	if (cfg->eal.in_memory)
		ARG("--in-memory");
	if (cfg->eal.no_huge)
		ARG("--no-huge");
	for (unsigned i = 0; i < cfg->eal.n_args; i++)
		ARG(cfg->eal.args[i]);
#undef ARG
	argv[n] = NULL;
	return n;
}

static int
find_port(const char *name)
{
	for (unsigned i = 0; i < n_ports; i++) {
		const struct dp_port *p = dp_port_get(i);

		if (p != NULL && strcmp(p->name, name) == 0)
			return i;
	}
	return -ENOENT;
}

static uint32_t
vni_of(const struct ctl_config *cfg, const char *vnet)
{
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		if (strcmp(cfg->vnets[i].name, vnet) == 0)
			return cfg->vnets[i].vni;
	return 0;
}

/* Add one endpoint from its configuration; err explains a refusal. */
static int
endpoint_add(const struct ctl_config *cfg, const struct ctl_endpoint *ce,
	     char *err, size_t errlen)
{
	struct pol_endpoint ep;
	int ret;

	memset(&ep, 0, sizeof(ep));
	snprintf(ep.name, sizeof(ep.name), "%s", ce->name);
	ep.vni = vni_of(cfg, ce->vnet);
	memcpy(ep.mac.addr_bytes, ce->mac, 6);
	ep.n_ips = ce->n_ips;
	for (unsigned i = 0; i < ce->n_ips; i++) {
		ep.ips[i].family = ce->ips[i].family;
		if (ce->ips[i].family == AF_INET)
			ep.ips[i].v4 = ce->ips[i].v4;
		else
			memcpy(ep.ips[i].v6, ce->ips[i].v6, 16);
	}
	if (ce->where == CTL_EP_LOCAL) {
		ret = find_port(ce->port);
		if (ret < 0) {
			snprintf(err, errlen, "endpoint %s: no port %s", ce->name, ce->port);
			return ret;
		}
		ep.local = true;
		ep.port = ret;
		ep.tunnel = POL_NO_TUNNEL;
	} else {
		char tep[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ce->tep, tep, sizeof(tep));
		ret = ctl_tunnel_acquire(ce->tep);
		if (ret < 0) {
			snprintf(err, errlen, "endpoint %s: tunnel endpoint %s: %s", ce->name, tep,
				 ret == -EHOSTUNREACH ? "no physical port reaches it" : strerror(-ret));
			return ret;
		}
		ep.tunnel = ret;
		ep.tep = ce->tep;
	}
	ret = pol_endpoint_set(&ep);
	if (ret < 0) {
		snprintf(err, errlen, "endpoint %s: %s", ce->name, strerror(-ret));
		if (!ep.local)
			ctl_tunnel_release(ep.tunnel);
	}
	return ret;
}

/* Spread every rx queue of every port over the workers, round robin. */
static int
assign_rx_queues(void)
{
	struct dp_rxq_list *lists[DP_MAX_WORKERS] = { 0 };
	unsigned w = 0;

	for (unsigned i = 0; i < dp.n_workers; i++) {
		lists[i] = rte_zmalloc("dp_rxqs", sizeof(*lists[i]), RTE_CACHE_LINE_SIZE);
		if (lists[i] == NULL)
			goto nomem;
	}
	for (unsigned i = 0; i < n_ports; i++) {
		const struct dp_port *p = dp_port_get(i);

		for (uint16_t q = 0; p != NULL && q < p->n_rxq; q++) {
			struct dp_rxq_list *l = lists[w];

			if (l->n == DP_MAX_LCORE_RXQ) {
				LOG(ERR, "more rx queues than %u workers can poll", dp.n_workers);
				goto nomem;
			}
			l->q[l->n++] = (struct dp_rxq){ .port = i, .queue = q };
			w = (w + 1) % dp.n_workers;
		}
	}
	for (unsigned i = 0; i < dp.n_workers; i++) {
		struct dp_rxq_list *old = atomic_exchange(&dp.lcores[i].rxqs, lists[i]);

		pol_defer_free(rte_free, old);
	}
	return 0;
nomem:
	for (unsigned i = 0; i < dp.n_workers; i++)
		rte_free(lists[i]);
	return -ENOMEM;
}

/* A server-mode vhost socket needs its directory to exist. */
static void
make_parent_dir(const char *path)
{
	char dir[CTL_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *s = strchr(dir + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(dir, 0755);
		*s = '/';
	}
}

static int
add_port(struct dp_port *p, char *err, size_t errlen)
{
	int ret;

	if (p == NULL) {
		snprintf(err, errlen, "cannot create port: %s", strerror(errno));
		return -errno;
	}
	ret = p->ops->start(p, dp.pool, dp.n_workers);
	if (ret != 0) {
		snprintf(err, errlen, "port %s: cannot start: %s", p->name, rte_strerror(-ret));
		dp_port_destroy(p);
		return ret;
	}
	atomic_store(&dp.ports[p->index], p);
	n_ports = RTE_MAX(n_ports, (unsigned)p->index + 1);
	return 0;
}

int
ctl_switch_start(const struct ctl_config *cfg, char *err, size_t errlen)
{
	unsigned max_eps = RTE_MAX(2 * cfg->n_endpoints, 65536u);
	int ret;

	dp.n_workers = cfg->workers.n_lcores;
	dp.vxlan_port = rte_cpu_to_be_16(cfg->vxlan_port);
	dp.idle_sleep_max_us = cfg->workers.idle_sleep_max_us;
	for (unsigned i = 0; i < dp.n_workers; i++) {
		unsigned l = cfg->workers.lcores[i];

		if (!rte_lcore_is_enabled(l) || l == rte_get_main_lcore()) {
			snprintf(err, errlen, "worker lcore %u is not an enabled worker lcore "
				 "(eal.lcores is '%s')", l, cfg->eal.lcores);
			return -EINVAL;
		}
	}
	dp.lcores = rte_zmalloc("dp_lcores", sizeof(*dp.lcores) * dp.n_workers,
				RTE_CACHE_LINE_SIZE);
	dp.pool = rte_pktmbuf_pool_create("dp_pool", cfg->workers.mbufs, 256,
		RTE_ALIGN(sizeof(struct dp_meta), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	dp.punt = rte_ring_create("dp_punt", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (dp.lcores == NULL || dp.pool == NULL || dp.punt == NULL) {
		snprintf(err, errlen, "cannot allocate packet memory (%u mbufs): %s",
			 cfg->workers.mbufs, rte_strerror(rte_errno));
		ret = -ENOMEM;
		goto fail;
	}
	ret = pol_tables_init(max_eps, dp.n_workers);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create tables for %u endpoints", max_eps);
		goto fail;
	}
	for (unsigned i = 0; i < dp.n_workers; i++) {
		dp.lcores[i].lcore_id = cfg->workers.lcores[i];
		dp.lcores[i].worker = i;
	}
	for (unsigned i = 0; i < cfg->n_phys; i++) {
		ret = add_port(dp_port_create_phys(&cfg->phys[i], i), err, errlen);
		if (ret < 0)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->n_vhost; i++) {
		make_parent_dir(cfg->vhost[i].socket);
		ret = add_port(dp_port_create_vhost(&cfg->vhost[i], cfg->n_phys + i), err, errlen);
		if (ret < 0)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->n_vnets; i++) {
		ret = pol_vnet_set(&cfg->vnets[i]);
		if (ret < 0) {
			snprintf(err, errlen, "network %s: %s", cfg->vnets[i].name, strerror(-ret));
			goto fail;
		}
	}
	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		ret = endpoint_add(cfg, &cfg->endpoints[i], err, errlen);
		if (ret < 0)
			goto fail;
	}
	ret = assign_rx_queues();
	if (ret < 0) {
		snprintf(err, errlen, "cannot assign rx queues to workers");
		goto fail;
	}
	running = cfg;
	for (unsigned i = 0; i < dp.n_workers; i++) {
		ret = rte_eal_remote_launch(dp_worker_main, &dp.lcores[i], dp.lcores[i].lcore_id);
		if (ret != 0) {
			snprintf(err, errlen, "cannot launch worker on lcore %u", dp.lcores[i].lcore_id);
			goto fail;
		}
	}
	LOG(INFO, "%u ports, %u networks, %u endpoints, %u workers", n_ports, cfg->n_vnets,
	    pol_endpoint_count(), dp.n_workers);
	return 0;
fail:
	ctl_switch_stop();
	return ret;
}

void
ctl_switch_poll(void)
{
	ctl_underlay_poll();
	for (unsigned i = 0; i < n_ports; i++) {
		struct dp_port *p = dp_port_get(i);

		if (p != NULL && p->kind == DP_PORT_VHOST)
			dp_vhost_poll_events(p, dp.n_workers);
	}
	pol_tables_reclaim();
}

void
ctl_switch_stop(void)
{
	atomic_store(&dp.quit, true);
	rte_eal_mp_wait_lcore();
	for (unsigned i = 0; i < n_ports; i++) {
		struct dp_port *p = atomic_exchange(&dp.ports[i], NULL);

		if (p != NULL) {
			p->ops->stop(p);
			dp_port_destroy(p);
		}
	}
	n_ports = 0;
	for (unsigned i = 0; dp.lcores != NULL && i < dp.n_workers; i++) {
		for (unsigned j = 0; j < DP_MAX_PORTS; j++)
			rte_pktmbuf_free_bulk(dp.lcores[i].tx[j].pkts, dp.lcores[i].tx[j].n);
		rte_free(atomic_load(&dp.lcores[i].rxqs));
	}
	if (pol_tables.rcu != NULL)
		pol_tables_fini();
	if (dp.punt != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_dequeue(dp.punt, (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	rte_ring_free(dp.punt);
	rte_mempool_free(dp.pool);
	rte_free(dp.lcores);
	memset(&dp, 0, sizeof(dp));
	running = NULL;
}
