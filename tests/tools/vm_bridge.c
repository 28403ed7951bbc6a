/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm-bridge: test tool that turns a Linux network namespace into a "VM" of
 * the switch.  Every port comes from an EAL --vdev argument; the ports are
 * paired in --vdev order (1st<->2nd, 3rd<->4th, ...) and frames are
 * forwarded unchanged both ways in each pair (pure io forwarding; what tx
 * cannot take is freed and counted as a drop on the destination port).
 * Typical use, one pair per VM:
 *
 *   vm-bridge --no-pci --in-memory --single-file-segments --file-prefix vmb-x \
 *     --vdev virtio_user0,path=/tmp/x/vm1.sock,queues=1 \
 *     --vdev net_tap0,iface=vm1tap
 *
 * The forwarding loop runs on the main lcore only (no worker lcores), one
 * rx/tx queue per port, one small mbuf pool.  When idle it backs off with
 * nanosleep (1 us doubling up to 200 us, reset on traffic), so an idle
 * bridge costs ~6 % of one core on the project VM (about 5000 wakeups/s)
 * instead of 100 %; added latency is at most ~200 us per direction.
 *
 * stdout protocol (line buffered, for test harnesses):
 *   VM_BRIDGE READY ports=N          all ports exist: static ports (net_tap)
 *                                    started, server-mode sockets listening
 *   VM_BRIDGE UP <vdev> port=<id>    a virtio_user port was probed+started
 *   VM_BRIDGE LINK <vdev> up|down    link change (LSC event) of a virtio_user
 *   VM_BRIDGE DOWN <vdev> ...        client-mode backend went away; the port
 *                                    was removed and will be re-probed
 *   VM_BRIDGE STALL <vdev> on|off    rx of that port stopped/resumed (SIGUSR2)
 *   VM_BRIDGE STATS <vdev> port=<id> rx=.. tx=.. drop=..   at exit and on
 *                                    SIGUSR1 (rx: frames received from the
 *                                    port, tx: sent to it, drop: meant for
 *                                    it but not taken by tx / port absent)
 * Fault injection: with VM_BRIDGE_STALL=<vdev>[,<vdev>...] in the
 * environment (or the application option `-- --stall <vdev>[,...]`),
 * SIGUSR2 toggles "stop polling rx of these ports": the guest stops
 * reading, its vhost ring fills and the backend cannot deliver to it any
 * more.  Its tx direction (frames from the tap into the switch) goes on.
 * Exit status 0 after SIGINT/SIGTERM (ports stopped and closed,
 * rte_eal_cleanup called), 1 on set-up errors.
 *
 * Facts about virtio_user (DPDK 22.11) that shaped this tool, checked on
 * the project machine:
 *
 * - Memory: the vhost-user backend maps the frontend's memory through the
 *   file descriptors of the EAL memory segments, and vhost-user allows at
 *   most 8 memory regions.  Checked (ping through testpmd's net_vhost):
 *     --in-memory --single-file-segments   works (memfd hugepages, one fd
 *                                          per memseg list; nothing in
 *                                          /dev/hugepages even after a crash)
 *     (default) hugepage files + --file-prefix   works (files removed on a
 *                                          clean exit)
 *     --no-huge -m 256                     works (memfd, 4 KiB pages)
 *     --in-memory (without single-file)    FAILS: "Failed to set memory
 *                                          table" (one fd per 2 MiB page)
 *     --huge-unlink                        FAILS the same way (no fds)
 *   A failed dev_start is retried every 0.5 s, the port never comes UP.
 *   Use a distinct --file-prefix per process in any case.
 *
 * - Client mode (virtio_user connects to the switch's socket): the probe
 *   fails at once ("connect error") when the socket is not there yet, and
 *   after the backend goes away the link stays down for good (the 22.11
 *   PMD only re-arms server mode on disconnect).  Hence virtio_user devices are not handed
 *   to rte_eal_init(): each one gets a helper thread which hot-plugs it
 *   (rte_eal_hotplug_add) once its socket exists, retrying until that
 *   works.  When the LSC event reports the link down (the backend closed the
 *   socket), the main loop stops polling the port, the helper stops and
 *   removes it (rte_dev_remove) and goes back to probing, so the bridge
 *   follows a restarting switch (traffic back ~0.1-0.3 s after the
 *   switch's socket reappears).
 *
 * - Server mode (server=1, the switch is the vhost-user client): the PMD
 *   bind()s the socket and then blocks in accept() INSIDE the probe until a
 *   backend connects; given to rte_eal_init() that would hang start-up (and
 *   serialise the sockets: EAL probes vdevs one by one, so the 2nd socket
 *   would not even exist before the 1st is connected).  Here the blocking probe runs in the helper thread.
 *   After the first connection the PMD reconnects by itself: on backend
 *   exit the LSC interrupt marks the link down and the listen socket is
 *   re-armed, a new backend connection is accepted from the interrupt
 *   thread and the link comes back up at once (LSC interrupts must be
 *   enabled: intr_conf.lsc = 1).  Checked with SIGINT and SIGKILL of the
 *   backend, several restarts in a row.  A stale socket file makes bind() fail ("Address
 *   already in use"), so the path is unlinked before each probe.
 *   On shutdown a helper still blocked in accept() is released by
 *   connecting to its socket once (the probe then fails cleanly).
 *
 * - EAL device lists are not thread safe, so all hot-plug calls are
 *   serialised by a semaphore.  A server-mode helper cannot release it
 *   itself while blocked in accept(); the main loop releases it for the
 *   helper as soon as the socket file exists (the list work is done by then).
 *
 * - SIGPIPE is ignored: vhost-user messages to a vanished backend would
 *   otherwise kill the process.
 *
 * - net_tap ports are plain EAL vdevs.  Their kernel netdev may be moved
 *   into another netns after start-up; the tap fd keeps working (ioctl
 *   based link status/flags then fail harmlessly, so LSC is not used on
 *   them).  Frames towards a tap are limited to 1522 bytes (MTU 1500 +
 *   VLAN): net_tap tx drops anything above its ethdev MTU and
 *   rte_eth_dev_set_mtu() refuses more than 1500 (max_rx_pktlen 1522), so
 *   a "VM" MTU above 1500 only works in the VM->switch direction
 *   (tap rx uses scatter, virtio_user tx multi-segment mbufs).
 *   Promiscuous mode is not enabled anywhere: the tap's kernel
 *   netdev must keep filtering like a real NIC, and virtio_user without a
 *   control queue delivers everything anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define MAX_SLOTS 64
#define BURST 32
#define NB_RXD 256
#define NB_TXD 512
#define POOL_MIN 8191
#define POOL_CACHE 128
#define IDLE_SPINS 128		/* empty polls before the first sleep */
#define SLEEP_MIN_NS 1000L
#define SLEEP_MAX_NS 200000L	/* 200 us */

enum slot_kind {
	KIND_STATIC,		/* probed by rte_eal_init (net_tap, ...) */
	KIND_VU_CLIENT,		/* virtio_user, connects to the backend */
	KIND_VU_SERVER,		/* virtio_user server=1, backend connects */
};

enum slot_state {
	ST_ABSENT,		/* not probed (yet) */
	ST_ACTIVE,		/* started, polled by the main loop */
	ST_DOWN_REQ,		/* backend gone: main must stop polling */
	ST_QUIESCED,		/* main stopped polling: helper may tear down */
};

struct slot {
	char spec[1024];	/* full --vdev argument */
	char name[64];		/* device name (before the first comma) */
	const char *args;	/* after the first comma, "" if none */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	enum slot_kind kind;
	_Atomic int state;
	_Atomic int port;	/* ethdev port id while probed, else -1 */
	_Atomic int bind_wait;	/* server helper holds the hp token, waits for bind */
	_Atomic int token_held;
	_Atomic int thr_done;
	bool has_thr;
	pthread_t thr;
	/* counters, main lcore only */
	uint64_t rx, tx, drop;
	bool stall;		/* named by VM_BRIDGE_STALL / --stall */
};

static struct slot slots[MAX_SLOTS];
static unsigned int nb_slots;
static struct rte_mempool *pool;
static sem_t hp_sem;			/* serialises EAL hot-plug calls */
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t want_stats;
static volatile sig_atomic_t want_stall_toggle;
static const char *stall_list;		/* vdev names stalled by SIGUSR2 */
static bool stalled;
static _Atomic int quit;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stats = 1;
	else if (sig == SIGUSR2)
		want_stall_toggle = 1;
	else
		got_signal = sig;
}

static void
msleep_quit(unsigned int ms)
{
	/* sleep in 10 ms steps so that helpers notice quit quickly */
	while (ms > 0 && !atomic_load(&quit)) {
		unsigned int step = ms < 10 ? ms : 10;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void
out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
out(const char *fmt, ...)
{
	va_list ap;

	flockfile(stdout);
	fputs("VM_BRIDGE ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	funlockfile(stdout);
}

/* ---- argument handling ------------------------------------------------- */

static int
kv_get(const char *args, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key);
	const char *p = args;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vlen = n - klen - 1;

			if (vlen >= len)
				return -1;
			memcpy(val, p + klen + 1, vlen);
			val[vlen] = '\0';
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -1;
}

static int
add_slot(const char *spec)
{
	struct slot *s;
	const char *comma;
	size_t n;
	char v[16];

	if (nb_slots >= MAX_SLOTS) {
		fprintf(stderr, "vm-bridge: too many --vdev (max %d)\n", MAX_SLOTS);
		return -1;
	}
	s = &slots[nb_slots];
	if (strlen(spec) >= sizeof(s->spec)) {
		fprintf(stderr, "vm-bridge: --vdev argument too long\n");
		return -1;
	}
	strcpy(s->spec, spec);
	comma = strchr(s->spec, ',');
	n = comma ? (size_t)(comma - s->spec) : strlen(s->spec);
	if (n == 0 || n >= sizeof(s->name)) {
		fprintf(stderr, "vm-bridge: bad --vdev name in '%s'\n", spec);
		return -1;
	}
	memcpy(s->name, s->spec, n);
	s->name[n] = '\0';
	s->args = comma ? comma + 1 : "";
	s->kind = KIND_STATIC;
	if (strncmp(s->name, "virtio_user", 11) == 0 ||
	    strncmp(s->name, "net_virtio_user", 15) == 0) {
		if (kv_get(s->args, "path", s->path, sizeof(s->path)) < 0) {
			fprintf(stderr, "vm-bridge: %s: path= missing or too long\n",
				s->name);
			return -1;
		}
		s->kind = KIND_VU_CLIENT;
		if (kv_get(s->args, "server", v, sizeof(v)) == 0 && atoi(v) != 0)
			s->kind = KIND_VU_SERVER;
	}
	atomic_init(&s->state, ST_ABSENT);
	atomic_init(&s->port, -1);
	atomic_init(&s->bind_wait, 0);
	atomic_init(&s->token_held, 0);
	atomic_init(&s->thr_done, 0);
	nb_slots++;
	return 0;
}

/*
 * Build the EAL argv: everything except the virtio_user --vdev arguments,
 * which are hot-plugged later by helper threads.  Stops at "--"; nothing
 * after it is accepted.
 */
static int
split_args(int argc, char **argv, int *eal_argc, char **eal_argv)
{
	int i, n = 0;

	eal_argv[n++] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *spec = NULL;
		int used = 1;

		if (strcmp(argv[i], "--") == 0) {
			if (i + 1 < argc && (strcmp(argv[i + 1], "--stall") != 0 ||
					     i + 3 != argc)) {
				fprintf(stderr, "vm-bridge: the only application option is --stall VDEV[,VDEV...]\n");
				return -1;
			}
			if (i + 1 < argc)
				stall_list = argv[i + 2];
			break;
		}
		if (strcmp(argv[i], "--vdev") == 0 && i + 1 < argc) {
			spec = argv[i + 1];
			used = 2;
		} else if (strncmp(argv[i], "--vdev=", 7) == 0) {
			spec = argv[i] + 7;
		}
		if (spec != NULL) {
			if (add_slot(spec) < 0)
				return -1;
			if (slots[nb_slots - 1].kind == KIND_STATIC) {
				eal_argv[n++] = argv[i];
				if (used == 2)
					eal_argv[n++] = argv[i + 1];
			}
			i += used - 1;
			continue;
		}
		eal_argv[n++] = argv[i];
	}
	eal_argv[n] = NULL;
	*eal_argc = n;
	return 0;
}

/* ---- ports ------------------------------------------------------------- */

static int
port_setup(struct slot *s, uint16_t port)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_rxconf rxconf;
	struct rte_eth_txconf txconf;
	uint16_t nb_rxd = NB_RXD, nb_txd = NB_TXD;
	int ret, socket = rte_eth_dev_socket_id(port);

	if (socket < 0)
		socket = (int)rte_socket_id();
	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0) {
		fprintf(stderr, "vm-bridge: %s: dev_info: %s\n", s->name, strerror(-ret));
		return ret;
	}
	memset(&conf, 0, sizeof(conf));
	/* LSC only on virtio_user: it drives disconnect detection and the
	 * server-mode reconnect; tap netdevs may live in another netns. */
	if (s->kind != KIND_STATIC && (*info.dev_flags & RTE_ETH_DEV_INTR_LSC))
		conf.intr_conf.lsc = 1;
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret != 0) {
		fprintf(stderr, "vm-bridge: %s: configure: %s\n", s->name, strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (ret != 0)
		return ret;
	rxconf = info.default_rxconf;
	rxconf.offloads = conf.rxmode.offloads;
	ret = rte_eth_rx_queue_setup(port, 0, nb_rxd, (unsigned int)socket, &rxconf, pool);
	if (ret != 0) {
		fprintf(stderr, "vm-bridge: %s: rx queue: %s\n", s->name, strerror(-ret));
		return ret;
	}
	txconf = info.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	ret = rte_eth_tx_queue_setup(port, 0, nb_txd, (unsigned int)socket, &txconf);
	if (ret != 0) {
		fprintf(stderr, "vm-bridge: %s: tx queue: %s\n", s->name, strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_start(port);
	if (ret != 0) {
		fprintf(stderr, "vm-bridge: %s: start: %s\n", s->name, strerror(-ret));
		return ret;
	}
	return 0;
}

static int
lsc_event(uint16_t port, enum rte_eth_event_type type, void *cb_arg, void *ret_param)
{
	struct rte_eth_link link;
	unsigned int i;

	RTE_SET_USED(type);
	RTE_SET_USED(cb_arg);
	RTE_SET_USED(ret_param);
	/* With intr_conf.lsc set this only reads the stored status; it does
	 * not call into the PMD again (which would re-arm its disconnect
	 * handling a second time). */
	if (rte_eth_link_get_nowait(port, &link) != 0)
		return 0;
	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];
		int expect = ST_ACTIVE;

		if (s->kind == KIND_STATIC || atomic_load(&s->port) != (int)port)
			continue;
		out("LINK %s %s", s->name, link.link_status ? "up" : "down");
		if (s->kind == KIND_VU_CLIENT && !link.link_status)
			atomic_compare_exchange_strong(&s->state, &expect, ST_DOWN_REQ);
		break;
	}
	return 0;
}

static void
release_token(struct slot *s)
{
	int one = 1;

	if (atomic_compare_exchange_strong(&s->token_held, &one, 0))
		sem_post(&hp_sem);
}

static void
take_token(struct slot *s)
{
	while (sem_wait(&hp_sem) != 0 && errno == EINTR)
		;
	atomic_store(&s->token_held, 1);
}

/* Hot-plug the virtio_user device and start it. 0 on success. */
static int
vu_probe(struct slot *s)
{
	uint16_t port;
	int ret;

	take_token(s);
	if (s->kind == KIND_VU_SERVER) {
		if (unlink(s->path) != 0 && errno != ENOENT)
			fprintf(stderr, "vm-bridge: unlink %s: %s\n", s->path, strerror(errno));
		atomic_store(&s->bind_wait, 1);
	}
	/* server mode: blocks in accept() until the backend connects */
	ret = rte_eal_hotplug_add("vdev", s->name, s->args);
	atomic_store(&s->bind_wait, 0);
	release_token(s);
	if (ret != 0)
		return -1;
	if (rte_eth_dev_get_port_by_name(s->name, &port) != 0) {
		fprintf(stderr, "vm-bridge: %s: probed but no ethdev port\n", s->name);
		return -1;
	}
	atomic_store(&s->port, port);
	if (atomic_load(&quit))
		return -1;	/* main closes it */
	if (port_setup(s, port) != 0) {
		struct rte_eth_dev_info info;

		if (rte_eth_dev_info_get(port, &info) == 0) {
			take_token(s);
			rte_dev_remove(info.device);
			release_token(s);
		}
		atomic_store(&s->port, -1);
		return -1;
	}
	atomic_store(&s->state, ST_ACTIVE);
	out("UP %s port=%u", s->name, port);
	return 0;
}

/* Client mode: the backend went away; remove the port so it can be
 * probed again.  Only called once the main loop no longer polls it. */
static void
vu_teardown(struct slot *s)
{
	struct rte_eth_dev_info info;
	int port = atomic_load(&s->port);

	/* let the PMD's own delayed disconnect alarm (1 us) run first */
	msleep_quit(100);
	if (port >= 0 && rte_eth_dev_info_get((uint16_t)port, &info) == 0) {
		rte_eth_dev_stop((uint16_t)port);
		take_token(s);
		if (rte_dev_remove(info.device) != 0)
			rte_eth_dev_close((uint16_t)port);
		/* before another helper may probe and reuse the port id */
		atomic_store(&s->port, -1);
		release_token(s);
	}
	atomic_store(&s->port, -1);
	atomic_store(&s->state, ST_ABSENT);
	out("DOWN %s backend gone, port removed, reconnecting", s->name);
}

static bool
path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void *
vu_helper(void *arg)
{
	struct slot *s = arg;
	bool warned = false;

	while (!atomic_load(&quit)) {
		int st = atomic_load(&s->state);

		if (st == ST_ABSENT) {
			if (s->kind == KIND_VU_CLIENT && !path_exists(s->path)) {
				if (!warned)
					fprintf(stderr, "vm-bridge: %s: waiting for %s\n",
						s->name, s->path);
				warned = true;
				msleep_quit(100);
				continue;
			}
			if (vu_probe(s) != 0 && !atomic_load(&quit))
				msleep_quit(500);
			warned = false;
		} else if (st == ST_QUIESCED) {
			vu_teardown(s);
		} else {
			msleep_quit(20);
		}
	}
	atomic_store(&s->thr_done, 1);
	return NULL;
}

/* ---- main loop --------------------------------------------------------- */

static inline unsigned int
fwd(struct slot *src, struct slot *dst)
{
	struct rte_mbuf *bufs[BURST];
	uint16_t n, sent = 0;

	if (atomic_load_explicit(&src->state, memory_order_acquire) != ST_ACTIVE)
		return 0;
	if (unlikely(stalled && src->stall))
		return 0;	/* the guest does not read this port */
	n = rte_eth_rx_burst((uint16_t)atomic_load_explicit(&src->port,
			     memory_order_relaxed), 0, bufs, BURST);
	if (n == 0)
		return 0;
	src->rx += n;
	if (atomic_load_explicit(&dst->state, memory_order_acquire) == ST_ACTIVE)
		sent = rte_eth_tx_burst((uint16_t)atomic_load_explicit(&dst->port,
					memory_order_relaxed), 0, bufs, n);
	dst->tx += sent;
	if (sent < n) {
		dst->drop += n - sent;
		rte_pktmbuf_free_bulk(&bufs[sent], n - sent);
	}
	return n;
}

static void
print_stats(void)
{
	unsigned int i;

	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];

		out("STATS %s port=%d rx=%" PRIu64 " tx=%" PRIu64 " drop=%" PRIu64,
		    s->name, atomic_load(&s->port), s->rx, s->tx, s->drop);
	}
}

static void
housekeeping(void)
{
	unsigned int i;

	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];
		int expect = ST_DOWN_REQ;
		struct stat st;

		/* called between bursts: the port is no longer being polled */
		atomic_compare_exchange_strong(&s->state, &expect, ST_QUIESCED);
		if (atomic_load(&s->bind_wait) && stat(s->path, &st) == 0 &&
		    S_ISSOCK(st.st_mode))
			release_token(s);
	}
}

/* Is @name one of the comma-separated names in @list? */
static bool
in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void
toggle_stall(void)
{
	unsigned int i;

	stalled = !stalled;
	for (i = 0; i < nb_slots; i++)
		if (slots[i].stall)
			out("STALL %s %s", slots[i].name, stalled ? "on" : "off");
}

static bool
all_ready(void)
{
	unsigned int i;

	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];

		if (s->kind == KIND_STATIC && atomic_load(&s->state) != ST_ACTIVE)
			return false;
		if (s->kind == KIND_VU_SERVER && atomic_load(&s->state) != ST_ACTIVE &&
		    !(atomic_load(&s->bind_wait) && path_exists(s->path)))
			return false;
	}
	return true;
}

static void
poke_server_socket(const char *path)
{
	struct sockaddr_un un;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path, path, strlen(path));
	/* accept() in the PMD returns, its first vhost-user message then
	 * fails on the closed connection and the probe gives up; if nothing
	 * listens yet, stop_helpers() simply tries again */
	(void)connect(fd, (struct sockaddr *)&un, sizeof(un));
	close(fd);
}

static void
stop_helpers(void)
{
	unsigned int i;
	int tries;

	atomic_store(&quit, 1);
	for (tries = 0; tries < 200; tries++) {	/* up to ~10 s */
		bool pending = false;

		for (i = 0; i < nb_slots; i++) {
			struct slot *s = &slots[i];

			if (!s->has_thr || atomic_load(&s->thr_done))
				continue;
			pending = true;
			if (s->kind == KIND_VU_SERVER && atomic_load(&s->bind_wait))
				poke_server_socket(s->path);
		}
		if (!pending)
			break;
		housekeeping();
		{
			struct timespec ts = { 0, 50 * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];

		if (!s->has_thr)
			continue;
		if (atomic_load(&s->thr_done)) {
			pthread_join(s->thr, NULL);
		} else {
			fprintf(stderr, "vm-bridge: %s: helper thread stuck, not joined\n",
				s->name);
			pthread_detach(s->thr);
			atomic_store(&s->port, -1);	/* do not touch its port */
		}
	}
}

int
main(int argc, char **argv)
{
	char **eal_argv;
	int eal_argc, ret, rc = 0;
	unsigned int i, idle = 0, iter = 0;
	long sleep_ns = 0;
	unsigned int nb_mbufs;
	sigset_t sigs, oldsigs;
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	eal_argv = calloc((size_t)argc + 1, sizeof(*eal_argv));
	if (eal_argv == NULL)
		return 1;
	if (split_args(argc, argv, &eal_argc, eal_argv) < 0) {
		free(eal_argv);
		return 1;
	}
	if (stall_list == NULL)
		stall_list = getenv("VM_BRIDGE_STALL");
	if (stall_list != NULL && *stall_list != '\0') {
		unsigned int found = 0;

		for (i = 0; i < nb_slots; i++) {
			slots[i].stall = in_list(stall_list, slots[i].name);
			found += slots[i].stall;
		}
		if (found == 0) {
			fprintf(stderr, "vm-bridge: stall: no --vdev named in '%s'\n", stall_list);
			free(eal_argv);
			return 1;
		}
	}
	if (nb_slots < 2 || nb_slots % 2 != 0) {
		fprintf(stderr, "vm-bridge: need an even number (>= 2) of --vdev ports, got %u\n",
			nb_slots);
		free(eal_argv);
		return 1;
	}

	/* Signals: ignore SIGPIPE; block SIGINT/SIGTERM in every thread but
	 * the main one (EAL and helper threads inherit the blocked mask). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, &oldsigs);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);	/* precise short sleeps */

	ret = rte_eal_init(eal_argc, eal_argv);
	if (ret < 0) {
		fprintf(stderr, "vm-bridge: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		free(eal_argv);
		return 1;
	}
	if (sem_init(&hp_sem, 0, 1) != 0) {
		rc = 1;
		goto cleanup;
	}

	nb_mbufs = RTE_MAX((unsigned int)POOL_MIN, nb_slots * 1024U - 1U);
	pool = rte_pktmbuf_pool_create("vmb_pool", nb_mbufs, POOL_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "vm-bridge: mbuf pool: %s\n", rte_strerror(rte_errno));
		rc = 1;
		goto cleanup;
	}

	/* static ports were probed by rte_eal_init() */
	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];
		uint16_t port;

		if (s->kind != KIND_STATIC)
			continue;
		if (rte_eth_dev_get_port_by_name(s->name, &port) != 0) {
			fprintf(stderr, "vm-bridge: %s: no such port (probe failed?)\n", s->name);
			rc = 1;
			goto cleanup;
		}
		atomic_store(&s->port, port);
		if (port_setup(s, port) != 0) {
			rc = 1;
			goto cleanup;
		}
		atomic_store(&s->state, ST_ACTIVE);
	}

	ret = rte_eth_dev_callback_register(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_LSC,
					    lsc_event, NULL);
	if (ret != 0)
		fprintf(stderr, "vm-bridge: LSC callback: %s\n", strerror(-ret));

	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];

		if (s->kind == KIND_STATIC)
			continue;
		if (pthread_create(&s->thr, NULL, vu_helper, s) != 0) {
			fprintf(stderr, "vm-bridge: %s: cannot create helper thread\n", s->name);
			rc = 1;
			goto cleanup;
		}
		s->has_thr = true;
	}
	pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);

	while (!got_signal && !all_ready()) {
		struct timespec ts = { 0, 5 * 1000000L };

		housekeeping();
		nanosleep(&ts, NULL);
	}
	if (!got_signal)
		out("READY ports=%u", nb_slots);

	while (!got_signal) {
		unsigned int nb = 0, p;

		if (unlikely(want_stall_toggle)) {
			want_stall_toggle = 0;
			toggle_stall();
		}
		for (p = 0; p + 1 < nb_slots; p += 2) {
			nb += fwd(&slots[p], &slots[p + 1]);
			nb += fwd(&slots[p + 1], &slots[p]);
		}
		if (nb != 0) {
			idle = 0;
			sleep_ns = 0;
			if ((++iter & 63) == 0)
				housekeeping();
			continue;
		}
		housekeeping();
		if (want_stats) {
			want_stats = 0;
			print_stats();
		}
		if (++idle < IDLE_SPINS)
			continue;
		sleep_ns = sleep_ns == 0 ? SLEEP_MIN_NS : RTE_MIN(sleep_ns * 2, SLEEP_MAX_NS);
		{
			struct timespec ts = { 0, sleep_ns };

			nanosleep(&ts, NULL);
		}
	}
	fprintf(stderr, "vm-bridge: signal %d, shutting down\n", (int)got_signal);

cleanup:
	pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);
	stop_helpers();
	print_stats();
	for (i = 0; i < nb_slots; i++) {
		struct slot *s = &slots[i];
		int port = atomic_load(&s->port);

		if (port < 0)
			continue;
		if (atomic_load(&s->state) != ST_ABSENT)
			rte_eth_dev_stop((uint16_t)port);
		rte_eth_dev_close((uint16_t)port);
	}
	for (i = 0; i < nb_slots; i++) {
		/* server sockets of ports that never connected */
		if (slots[i].kind == KIND_VU_SERVER && atomic_load(&slots[i].port) < 0)
			unlink(slots[i].path);
	}
	rte_eal_cleanup();
	free(eal_argv);
	return rc;
}
