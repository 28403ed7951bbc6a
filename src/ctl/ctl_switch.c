/* Builds the datapath from a configuration and runs the control thread's
 * periodic duties.  Order matters: ports before the endpoints bound to
 * them, networks before endpoints, tunnels (which need port addresses)
 * before remote endpoints, workers last. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "ctl_apply.h"
#include "ctl_notify.h"
#include "ctl_ports.h"
#include "ctl_pservice.h"
#include "ctl_resolve.h"
#include "ctl_svc_apply.h"
#include "ctl_switch.h"
#include "ctl_underlay.h"
#include "dp.h"
#include "dp_port.h"

RTE_LOG_REGISTER_SUFFIX(sw_logtype, switch, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sw_logtype, "switch: " fmt "\n", ##__VA_ARGS__)

static struct ctl_config *running;  /* what the datapath runs: base + policy service; owned */
static struct ctl_config *base;     /* the configuration as configured (file, CLI); owned */

const struct ctl_config *
ctl_switch_config(void)
{
	return running;
}

const struct ctl_config *
ctl_switch_base_config(void)
{
	return base;
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

/* The live sections of @cfg emptied: what a switch with no ports, networks
 * or endpoints runs, the starting point of the first ctl_apply(). */
static struct ctl_config *
empty_like(const struct ctl_config *cfg)
{
	struct ctl_config *e = ctl_config_dup(cfg);

	if (e != NULL) {
		e->n_vhost = 0;
		e->n_vnets = 0;
		e->n_endpoints = 0;
		e->n_tenants = 0;
		e->n_groups = 0;
		e->n_policies = 0;
	}
	return e;
}

/* Bytes of frame one mbuf holds: a whole frame of the largest MTU
 * configured, so jumbo frames from the underlay fit one buffer (what
 * net_af_packet needs: it copies each frame into a single mbuf).  Vhost
 * ports added later with a larger MTU get chained buffers. */
static uint16_t
mbuf_data_room(const struct ctl_config *cfg)
{
	unsigned mtu = 1500;

	for (unsigned i = 0; i < cfg->n_phys; i++)
		mtu = RTE_MAX(mtu, cfg->phys[i].mtu);
	for (unsigned i = 0; i < cfg->n_vhost; i++)
		mtu = RTE_MAX(mtu, cfg->vhost[i].mtu);
	/* + Ethernet, a VLAN tag and slack, in 1 KiB steps: 2048 for 1500, 9216 for 9000 */
	return RTE_ALIGN_CEIL(mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + 32, 1024);
}

static const struct ctl_notify_hooks notify_hooks = {
	.moved = ctl_pservice_hint_moved,
	.stale_policy = ctl_pservice_hint_stale_policy,
};

/* Decision cache, the ring workers report misses on, notifications and
 * the policy service. */
static int
policy_start(const struct ctl_config *cfg, char *err, size_t errlen)
{
	uint64_t ms = rte_get_tsc_hz() / 1000;
	int ret;

	dp.events = rte_ring_create_elem("dp_events", sizeof(struct dp_event), 4096,
					 SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (dp.events == NULL) {
		snprintf(err, errlen, "cannot create the event ring: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	dp.miss_hold_tsc = cfg->policy.miss_hold_ms * ms;
	dp.miss_repeat_tsc = 100 * ms;
	memcpy(&dp.gateway_mac, cfg->policy.gateway_mac, sizeof(dp.gateway_mac));
	ret = pol_cache_init(cfg->policy.cache_entries, cfg->policy.cache_entries_per_port);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create a decision cache of %u entries: %s",
			 cfg->policy.cache_entries, strerror(-ret));
		return ret;
	}
	ret = ctl_resolve_init(cfg);
	if (ret == 0)
		ret = ctl_notify_init(cfg, &notify_hooks);
	if (ret == 0)
		ret = ctl_pservice_init(cfg);
	if (ret < 0)
		snprintf(err, errlen, "cannot start the policy service: %s", strerror(-ret));
	return ret;
}

int
ctl_switch_start(struct ctl_config *cfg, char *err, size_t errlen)
{
	unsigned max_eps = RTE_MAX(2 * cfg->n_endpoints, 65536u);
	struct ctl_config *empty = NULL, *merged;
	int ret;

	dp.n_workers = cfg->workers.n_lcores;
	dp.vxlan_port = rte_cpu_to_be_16(cfg->vxlan_port);
	dp.vxlan_any_source = cfg->vxlan_any_source;
	dp.idle_sleep_max_us = cfg->workers.idle_sleep_max_us;
	dp.idle_spin_tsc = rte_get_tsc_hz() / 1000000 * DP_IDLE_SPIN_US;
	dp.poll_gap_tsc = rte_get_tsc_hz() / 1000000 * DP_POLL_GAP_US;
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
		DP_MBUF_PRIV_SIZE,
		RTE_PKTMBUF_HEADROOM + mbuf_data_room(cfg), rte_socket_id());
	dp.punt = rte_ring_create("dp_punt", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (dp.lcores == NULL || dp.pool == NULL || dp.punt == NULL) {
		snprintf(err, errlen, "cannot allocate packet memory (%u mbufs of %u bytes): %s",
			 cfg->workers.mbufs, mbuf_data_room(cfg), rte_strerror(rte_errno));
		ret = -ENOMEM;
		goto fail;
	}
	ret = pol_tables_init(max_eps, dp.n_workers);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create tables for %u endpoints", max_eps);
		goto fail;
	}
	ret = policy_start(cfg, err, errlen);
	if (ret < 0)
		goto fail;
	for (unsigned i = 0; i < dp.n_workers; i++) {
		dp.lcores[i].lcore_id = cfg->workers.lcores[i];
		dp.lcores[i].worker = i;
	}
	for (unsigned i = 0; i < cfg->n_phys; i++) {
		struct dp_port *p = ctl_port_prepare_phys(&cfg->phys[i], err, errlen);

		ret = p ? ctl_port_publish(p) : -EIO;
		if (ret < 0)
			goto fail;
	}
	empty = empty_like(cfg);
	if (empty == NULL) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	merged = ctl_pservice_merge(cfg);
	ret = merged != NULL ? ctl_apply(empty, merged, err, errlen) : -ENOMEM;
	ctl_config_free(empty);
	if (ret < 0) {
		if (merged == NULL)
			snprintf(err, errlen, "out of memory");
		ctl_config_free(merged);
		goto fail;
	}
	base = cfg;
	running = merged;
	ctl_pservice_applied(NULL, running);
	ctl_resolve_model_changed(running);
	ret = ctl_svc_start(running, err, errlen);
	if (ret < 0)
		goto fail;
	for (unsigned i = 0; i < dp.n_workers; i++) {
		ret = rte_eal_remote_launch(dp_worker_main, &dp.lcores[i], dp.lcores[i].lcore_id);
		if (ret != 0) {
			snprintf(err, errlen, "cannot launch worker on lcore %u", dp.lcores[i].lcore_id);
			goto fail;
		}
	}
	LOG(INFO, "%u ports, %u networks, %u endpoints, %u workers", ctl_port_slots(),
	    cfg->n_vnets, pol_endpoint_count(), dp.n_workers);
	return 0;
fail:
	if (base != cfg)
		ctl_config_free(cfg);
	ctl_switch_stop();   /* frees running and base */
	return ret;
}

static void
state_path(const struct ctl_config *cfg, char *path, size_t len)
{
	snprintf(path, len, "%s/state.yaml", cfg->state_dir);
}

/* A switch killed while saving leaves state.yaml.tmp.<pid>: remove those
 * whose writer is gone (the rename never happened, state.yaml is whole). */
static void
remove_stale_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end, path[CTL_PATH_MAX + 300];
		long pid;

		if (strncmp(e->d_name, "state.yaml.tmp.", 15) != 0)
			continue;
		pid = strtol(e->d_name + 15, &end, 10);
		if (*end != '\0' || pid <= 0 || (kill(pid, 0) == 0 || errno == EPERM))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			LOG(INFO, "removed %s, left by a switch that stopped while saving", path);
	}
	closedir(d);
}

int
ctl_switch_restore_state(struct ctl_config *cfg, char *err, size_t errlen)
{
	char path[CTL_PATH_MAX + 16], aside[CTL_PATH_MAX + 32];
	int ret;

	if (cfg->state_dir[0] == '\0')
		return 0;
	remove_stale_temps(cfg->state_dir);
	state_path(cfg, path, sizeof(path));
	ret = ctl_config_load_state(cfg, path, err, errlen);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		/* keep the bad file for a human, start from the YAML file */
		snprintf(aside, sizeof(aside), "%s.rejected", path);
		rename(path, aside);
		return ret;
	}
	return 1;
}

/* Run @merged (built from @next_base): checked, applied, then the switch
 * owns both. */
static int
switch_to(struct ctl_config *next_base, struct ctl_config *merged, char *err, size_t errlen)
{
	int ret;

	ret = ctl_config_restart_needed(running, merged, err, errlen);
	if (ret == 0)
		ret = ctl_config_validate(merged, err, errlen);
	if (ret == 0)
		ret = ctl_apply(running, merged, err, errlen);
	if (ret < 0)
		return ret;
	ctl_pservice_applied(running, merged);
	ctl_config_free(running);
	running = merged;
	if (next_base != base) {
		ctl_config_free(base);
		base = next_base;
	}
	ctl_resolve_model_changed(running);
	ctl_svc_apply_all();
	return 0;
}

int
ctl_switch_change(struct ctl_config *next, char *err, size_t errlen)
{
	char path[CTL_PATH_MAX + 16];
	struct ctl_config *merged = ctl_pservice_merge(next);
	int ret;

	if (merged == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = switch_to(next, merged, err, errlen);
	if (ret < 0) {
		ctl_config_free(merged);
		return ret;
	}
	if (base->state_dir[0] != '\0') {
		char serr[CTL_ERR_MAX];

		state_path(base, path, sizeof(path));
		if (ctl_config_save_state(base, path, serr, sizeof(serr)) < 0)
			LOG(ERR, "change applied but not saved: %s", serr);
	}
	return 0;
}

int
ctl_switch_service_changed(void)
{
	char err[CTL_ERR_MAX];
	struct ctl_config *merged = ctl_pservice_merge(base);
	int ret;

	if (merged == NULL)
		return -ENOMEM;
	ret = switch_to(base, merged, err, sizeof(err));
	if (ret < 0) {
		ctl_config_free(merged);
		LOG(ERR, "policy service change not applied: %s", err);
	}
	return ret;
}

void
ctl_switch_poll(void)
{
	ctl_underlay_poll();
	ctl_resolve_poll();
	ctl_pservice_poll();
	for (unsigned i = 0; i < ctl_port_slots(); i++) {
		struct dp_port *p = dp_port_get(i);

		if (p != NULL && p->kind == DP_PORT_VHOST && dp_vhost_poll_events(p, dp.n_workers))
			ctl_pservice_port_activity(p->name, dp_vhost_active(p));
	}
	pol_tables_reclaim();
}

void
ctl_switch_stop(void)
{
	atomic_store(&dp.quit, true);
	rte_eal_mp_wait_lcore();
	for (unsigned i = ctl_port_slots(); i-- > 0;)
		ctl_port_remove(i);
	for (unsigned i = 0; dp.lcores != NULL && i < dp.n_workers; i++) {
		for (unsigned j = 0; j < DP_MAX_PORTS; j++)
			rte_pktmbuf_free_bulk(dp.lcores[i].tx[j].pkts, dp.lcores[i].tx[j].n);
		rte_free(atomic_load(&dp.lcores[i].rxqs));
	}
	ctl_svc_stop();
	ctl_pservice_fini();
	ctl_notify_fini();
	ctl_resolve_fini();
	pol_cache_fini();
	rte_ring_free(dp.events);
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
	ctl_config_free(running);
	running = NULL;
	ctl_config_free(base);
	base = NULL;
}
