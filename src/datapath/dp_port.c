/* Ports: a physical (underlay) instance and a vhost-user instance behind
 * one table of operations.  Both are DPDK ethdevs probed at run time with
 * rte_dev_probe(), so ports can be added while the switch runs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_eth_vhost.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_vhost.h>

#include "dp.h"
#include "dp_flow.h"
#include "dp_port.h"

RTE_LOG_REGISTER_SUFFIX(dp_logtype, datapath, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, dp_logtype, "datapath: " fmt "\n", ##__VA_ARGS__)

#define RX_DESC 1024
#define TX_DESC 1024

static uint16_t
eth_rx(struct dp_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(p->eth_port, q, pkts, n);
}

static uint16_t
eth_tx(struct dp_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(p->eth_port, q, pkts, n);
}

static bool
eth_link_up(struct dp_port *p)
{
	struct rte_eth_link link;

	return rte_eth_link_get_nowait(p->eth_port, &link) == 0 && link.link_status;
}

/* Publish which tx queue each worker uses, given the usable queues in @mask. */
static void
publish_txq_map(struct dp_port *p, uint32_t mask, unsigned n_workers)
{
	struct dp_txq_map *map = NULL, *old;
	uint16_t usable[DP_MAX_QUEUES], n = 0;

	for (uint16_t q = 0; q < p->n_txq; q++)
		if (mask & (1u << q))
			usable[n++] = q;
	if (n > 0) {
		map = rte_zmalloc("dp_txq_map", sizeof(*map), RTE_CACHE_LINE_SIZE);
		if (map == NULL) {
			LOG(ERR, "%s: out of memory for its tx queue map", p->name);
			return;
		}
		map->shared = n < n_workers;
		for (unsigned w = 0; w < DP_MAX_WORKERS; w++)
			map->q[w] = usable[w % n];
	}
	old = atomic_exchange_explicit(&p->txq_map, map, memory_order_acq_rel);
	pol_defer_free(rte_free, old);
}

static int
eth_setup(struct dp_port *p, struct rte_mempool *mp, uint16_t n_rxq, uint16_t n_txq)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = RX_DESC, nb_txd = TX_DESC;
	int socket = rte_eth_dev_socket_id(p->eth_port), ret;

	ret = rte_eth_dev_info_get(p->eth_port, &info);
	if (ret != 0)
		return ret;
	if (n_rxq > info.max_rx_queues || n_rxq > DP_MAX_QUEUES) {
		LOG(ERR, "%s: %u rx queues asked, device has %u", p->name, n_rxq,
		    info.max_rx_queues);
		return -EINVAL;
	}
	n_txq = RTE_MIN(RTE_MIN(n_txq, info.max_tx_queues), DP_MAX_QUEUES);
	if (p->kind == DP_PORT_PHYS &&
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		p->tx_ip_cksum = true;
	}
	/* Every frame sent is a direct mbuf of dp.pool with one reference
	 * (replicas and mirrors are copies, never clones), as fast free asks. */
	if (p->kind == DP_PORT_PHYS &&
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) && mp == dp.pool)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	ret = rte_eth_dev_configure(p->eth_port, n_rxq, n_txq, &conf);
	if (ret != 0)
		return ret;
	rte_eth_dev_adjust_nb_rx_tx_desc(p->eth_port, &nb_rxd, &nb_txd);
	for (uint16_t q = 0; q < n_rxq; q++) {
		ret = rte_eth_rx_queue_setup(p->eth_port, q, nb_rxd, socket, NULL, mp);
		if (ret != 0)
			return ret;
	}
	for (uint16_t q = 0; q < n_txq; q++) {
		ret = rte_eth_tx_queue_setup(p->eth_port, q, nb_txd, socket, NULL);
		if (ret != 0)
			return ret;
	}
	p->n_rxq = n_rxq;
	p->n_txq = n_txq;
	return 0;
}

static int
phys_start(struct dp_port *p, struct rte_mempool *mp, unsigned n_workers)
{
	char rname[RTE_RING_NAMESIZE];
	int ret;

	dp_flow_port_prepare(p);   /* before configure: MARK delivery is negotiated */
	ret = eth_setup(p, mp, p->n_rxq, n_workers);
	if (ret != 0)
		return ret;
	/* The underlay must carry a full inner frame plus 50 bytes of VXLAN. */
	ret = rte_eth_dev_set_mtu(p->eth_port, p->mtu);
	if (ret != 0 && ret != -ENOTSUP)
		LOG(WARNING, "%s: cannot set MTU %u: %s", p->name, p->mtu, rte_strerror(-ret));
	snprintf(rname, sizeof(rname), "inj_%u", p->index);
	p->inject = rte_ring_create(rname, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (p->inject == NULL)
		return -rte_errno;
	ret = rte_eth_dev_start(p->eth_port);
	if (ret != 0)
		return ret;
	rte_eth_macaddr_get(p->eth_port, &p->mac);
	publish_txq_map(p, (1u << p->n_txq) - 1, n_workers);
	dp_flow_port_start(p);     /* best effort: software classifies what it leaves */
	return 0;
}

static void
eth_stop(struct dp_port *p)
{
	publish_txq_map(p, 0, 1);
	dp_flow_port_stop(p);
	rte_eth_dev_stop(p->eth_port);
}

static int
vhost_start(struct dp_port *p, struct rte_mempool *mp, unsigned n_workers)
{
	int ret = eth_setup(p, mp, p->n_rxq, p->n_rxq);

	(void)n_workers;
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_start(p->eth_port);
	if (ret != 0)
		return ret;
	rte_eth_macaddr_get(p->eth_port, &p->mac);
	/* No tx queue is usable until the guest enables its rings. */
	return 0;
}

const struct dp_port_ops dp_phys_ops = {
	.kind = "physical",
	.start = phys_start,
	.stop = eth_stop,
	.rx_burst = eth_rx,
	.tx_burst = eth_tx,
	.link_up = eth_link_up,
};

const struct dp_port_ops dp_vhost_ops = {
	.kind = "vhost-user",
	.start = vhost_start,
	.stop = eth_stop,
	.rx_burst = eth_rx,
	.tx_burst = eth_tx,
	.link_up = eth_link_up,
};

/* Probe @devargs and return its ethdev port id in @eth_port. */
static int
probe(const char *devargs, uint16_t *eth_port)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t len = strcspn(devargs, ",");
	int ret;

	if (len >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, devargs, len);
	name[len] = '\0';
	ret = rte_dev_probe(devargs);
	if (ret != 0)
		return ret;
	return rte_eth_dev_get_port_by_name(name, eth_port);
}

static void
unprobe(uint16_t eth_port)
{
	char name[RTE_ETH_NAME_MAX_LEN];

	if (rte_eth_dev_get_name_by_port(eth_port, name) != 0)
		return;
	rte_eth_dev_close(eth_port);
	rte_eal_hotplug_remove("vdev", name);
}

struct dp_port *
dp_port_create_phys(const struct ctl_phys_port *cfg, uint16_t index)
{
	struct dp_port *p = rte_zmalloc("dp_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
	int ret;

	if (p == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	p->ops = &dp_phys_ops;
	p->kind = DP_PORT_PHYS;
	p->rx_burst = DP_BURST_PHYS;
	p->index = index;
	snprintf(p->name, sizeof(p->name), "%s", cfg->name);
	p->n_rxq = cfg->rx_queues;
	p->ip = cfg->ip;
	p->prefix_len = cfg->prefix_len;
	p->gateway = cfg->gateway;
	p->mtu = cfg->mtu;
	for (unsigned q = 0; q < DP_MAX_QUEUES; q++)
		rte_spinlock_init(&p->txq_lock[q]);
	ret = probe(cfg->devargs, &p->eth_port);
	if (ret != 0) {
		LOG(ERR, "%s: cannot probe '%s': %s", p->name, cfg->devargs, rte_strerror(-ret));
		rte_free(p);
		errno = -ret;
		return NULL;
	}
	return p;
}

struct dp_port *
dp_port_create_vhost(const struct ctl_vhost_port *cfg, uint16_t index)
{
	struct dp_port *p = rte_zmalloc("dp_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
	char devargs[CTL_DEVARGS_MAX + CTL_PATH_MAX];
	int ret;

	if (p == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	p->ops = &dp_vhost_ops;
	p->kind = DP_PORT_VHOST;
	p->rx_burst = DP_BURST;
	p->index = index;
	snprintf(p->name, sizeof(p->name), "%s", cfg->name);
	snprintf(p->socket, sizeof(p->socket), "%s", cfg->socket);
	p->mode = cfg->mode;
	p->n_rxq = cfg->queues;
	p->mtu = cfg->mtu;
	for (unsigned q = 0; q < DP_MAX_QUEUES; q++)
		rte_spinlock_init(&p->txq_lock[q]);
	/* Client mode reconnects on its own: QEMU may restart, or we may.
	 * legacy-ol-flags: with DPDK 22.11's compliant offload flags, every
	 * frame a guest sends cost ~150 cycles more (bench/, 64 B encap: 322
	 * -> 168 cycles/packet).  In legacy mode frames whose checksum the
	 * guest left to us are only flagged; vm_parse.c finishes them. */
	snprintf(devargs, sizeof(devargs), "net_vhost%u,iface=%s,queues=%u,client=%d,legacy-ol-flags=1",
		 index, cfg->socket, cfg->queues, cfg->mode == CTL_VHOST_CLIENT);
	ret = probe(devargs, &p->eth_port);
	if (ret != 0) {
		LOG(ERR, "%s: cannot create vhost-user port on %s: %s", p->name, cfg->socket,
		    rte_strerror(-ret));
		rte_free(p);
		errno = -ret;
		return NULL;
	}
	return p;
}

void
dp_port_destroy(struct dp_port *p)
{
	if (p == NULL)
		return;
	unprobe(p->eth_port);
	if (p->inject != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_dequeue(p->inject, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(p->inject);
	}
	rte_free(atomic_load(&p->txq_map));
	rte_free(p);
}

/* QEMU tells the backend the MTU it advertises to the guest (host_mtu,
 * VHOST_USER_NET_SET_MTU); a guest told something else than this port
 * is configured for sends frames the overlay may not carry. */
static void
vhost_check_mtu(struct dp_port *p)
{
	int vid = rte_eth_vhost_get_vid_from_port_id(p->eth_port);
	uint16_t mtu = 0;
	int ret = vid < 0 ? -ENODEV : rte_vhost_get_mtu(vid, &mtu);

	if (ret == -EAGAIN || ret == -ENODEV)
		return;            /* the device is not ready yet: ask again next time */
	if (ret != 0)
		mtu = 0;           /* no host_mtu in QEMU (-ENOTSUP): the guest assumes 1500 */
	p->guest_mtu_known = true;
	if (mtu == p->guest_mtu)
		return;
	p->guest_mtu = mtu;
	if (mtu != p->mtu && !(mtu == 0 && p->mtu == 1500))
		LOG(WARNING, "%s: the guest is told MTU %u (QEMU host_mtu), the port is "
		    "configured for %u", p->name, mtu ? mtu : 1500, p->mtu);
	else
		LOG(INFO, "%s: guest MTU %u", p->name, mtu ? mtu : 1500);
}

bool
dp_vhost_poll_events(struct dp_port *p, unsigned n_workers)
{
	struct rte_eth_vhost_queue_event ev;
	bool changed = false, was_active = p->active;

	while (rte_eth_vhost_get_queue_event(p->eth_port, &ev) == 0) {
		if (ev.rx || ev.queue_id >= p->n_txq)
			continue;
		if (ev.enable)
			p->txq_enabled |= 1u << ev.queue_id;
		else
			p->txq_enabled &= ~(1u << ev.queue_id);
		changed = true;
	}
	if (changed)
		publish_txq_map(p, p->txq_enabled, n_workers);
	/* A device stopped (QEMU stops it when its VM stops, e.g. after a
	 * migration) reports no queue events: its link goes down. */
	p->active = p->txq_enabled != 0 && p->ops->link_up(p);
	if (!p->active)
		p->guest_mtu_known = false;   /* a new connection may bring another MTU */
	else if (!p->guest_mtu_known)
		vhost_check_mtu(p);
	return was_active != p->active;
}
