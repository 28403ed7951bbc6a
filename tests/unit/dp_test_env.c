/* Shared fixture of the datapath and tables unit tests (see dp_test_env.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mempool.h>

#include "dp_test_env.h"
#include "dp_trace.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ENV_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ENV_ASAN 1
#endif
#ifdef ENV_ASAN
#include <sanitizer/asan_interface.h>
#endif

struct dp_lcore *env_ctx;

/* What the fake tx_burst took, per port. */
static struct rte_mbuf *captured[DP_MAX_PORTS][ENV_MAX_CAPTURE];
static unsigned n_captured[DP_MAX_PORTS];

static uint16_t
fake_rx(struct dp_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	(void)p, (void)q, (void)pkts, (void)n;
	return 0;
}

/* Keeps what fits; the datapath frees and counts the rest (tx_full). */
static uint16_t
fake_tx(struct dp_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	(void)q;
	for (i = 0; i < n && n_captured[p->index] < ENV_MAX_CAPTURE; i++)
		captured[p->index][n_captured[p->index]++] = pkts[i];
	return i;
}

static const struct dp_port_ops fake_ops = {
	.kind = "fake",
	.rx_burst = fake_rx,
	.tx_burst = fake_tx,
};

int
env_init(const char *prog, unsigned max_endpoints)
{
	char prefix[64];
	char *argv[] = {
		(char *)prog, "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
		prefix, "--log-level=*:warning", "--no-telemetry", "-l", "0",
	};
	int argc = sizeof(argv) / sizeof(argv[0]), ret;

	snprintf(prefix, sizeof(prefix), "--file-prefix=unit-%d", (int)getpid());
	if (rte_eal_init(argc, argv) < 0)
		return -rte_errno;
	dp.pool = rte_pktmbuf_pool_create("unit_pool", ENV_POOL_MBUFS, 0,
					  DP_MBUF_PRIV_SIZE,
					  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	dp.punt = rte_ring_create("unit_punt", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
	dp.events = rte_ring_create_elem("unit_events", sizeof(struct dp_event), 1024,
					 SOCKET_ID_ANY, RING_F_SC_DEQ);
	env_ctx = rte_zmalloc("unit_lcore", sizeof(*env_ctx), RTE_CACHE_LINE_SIZE);
	if (dp.pool == NULL || dp.punt == NULL || dp.events == NULL || env_ctx == NULL) {
		env_fini();
		return -ENOMEM;
	}
	dp.n_workers = 1;
	dp.lcores = env_ctx;
	dp.vxlan_port = rte_cpu_to_be_16(4789);
	/* as ctl_switch.c sets them from the policy: section */
	dp.miss_hold_tsc = rte_get_tsc_hz();           /* 1 s */
	dp.miss_repeat_tsc = rte_get_tsc_hz() / 10;    /* 100 ms */
	dp.gateway_mac = env_mac(ENV_GW_MAC);
	dp_trace_decide = env_decide;
	env_ctx_reset();
	ret = pol_tables_init(max_endpoints, 1);
	if (ret == 0)
		ret = pol_cache_init(ENV_CACHE_ENTRIES, 0);
	if (ret < 0)
		env_fini();
	return ret;
}

void
env_fini(void)
{
	char rundir[PATH_MAX];

	if (env_ctx != NULL)
		dp_policy_held_free(env_ctx);
	env_tx_clear();
	if (dp.punt != NULL)
		env_punt_drain();
	if (dp.events != NULL)
		rte_ring_reset(dp.events);
	env_ports_clear();
	pol_cache_fini();
	pol_tables_fini();
	rte_ring_free(dp.events);
	dp.events = NULL;
	dp_trace_decide = NULL;
	rte_free(env_ctx);
	env_ctx = NULL;
	dp.lcores = NULL;
	rte_ring_free(dp.punt);
	dp.punt = NULL;
	rte_mempool_free(dp.pool);
	dp.pool = NULL;
	/* --no-huge rules out --in-memory: remove the (empty) runtime directory */
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (rundir[0] != '\0')
		rmdir(rundir);
}

int
env_tables_reset(unsigned max_endpoints)
{
	int ret;

	rte_ring_reset(dp.events);
	pol_cache_fini();
	pol_tables_fini();
	ret = pol_tables_init(max_endpoints, 1);
	return ret < 0 ? ret : pol_cache_init(ENV_CACHE_ENTRIES, 0);
}

void
env_ctx_reset(void)
{
	dp_policy_held_free(env_ctx);
	memset(env_ctx, 0, sizeof(*env_ctx));
	env_ctx->lcore_id = rte_lcore_id();
	env_ctx->worker = 0;
}

unsigned
env_pool_in_use(void)
{
	return rte_mempool_in_use_count(dp.pool);
}

/* --- fake ports --- */

struct dp_port *
env_port_add(uint16_t index, enum dp_port_kind kind, const char *name, const char *mac)
{
	struct dp_port *p = rte_zmalloc("unit_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
	struct dp_txq_map *map = rte_zmalloc("unit_txq", sizeof(*map), RTE_CACHE_LINE_SIZE);

	if (p == NULL || map == NULL || index >= DP_MAX_PORTS) {
		rte_free(p);
		rte_free(map);
		return NULL;
	}
	p->ops = &fake_ops;
	p->kind = kind;
	p->index = index;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->mac = env_mac(mac);
	p->n_rxq = p->n_txq = 1;
	p->mtu = 1500;
	for (unsigned q = 0; q < DP_MAX_QUEUES; q++)
		rte_spinlock_init(&p->txq_lock[q]);
	map->shared = false;
	atomic_store(&p->txq_map, map);
	atomic_store(&dp.ports[index], p);
	return p;
}

void
env_port_underlay(struct dp_port *p, const char *ip, uint8_t prefix_len, uint16_t mtu)
{
	p->ip = env_ip4(ip);
	p->prefix_len = prefix_len;
	p->mtu = mtu;
}

void
env_ports_clear(void)
{
	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		struct dp_port *p = atomic_exchange(&dp.ports[i], NULL);

		if (p != NULL) {
			rte_free(atomic_load(&p->txq_map));
			rte_free(p);
		}
	}
}

unsigned
env_tx_count(uint16_t port)
{
	return n_captured[port];
}

struct rte_mbuf *
env_tx_pkt(uint16_t port, unsigned i)
{
	return i < n_captured[port] ? captured[port][i] : NULL;
}

unsigned
env_tx_total(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < DP_MAX_PORTS; i++)
		n += n_captured[i];
	return n;
}

void
env_tx_clear(void)
{
	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		if (n_captured[i] > 0)
			rte_pktmbuf_free_bulk(captured[i], n_captured[i]);
		n_captured[i] = 0;
	}
}

unsigned
env_punt_drain(void)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	while (rte_ring_dequeue(dp.punt, (void **)&m) == 0) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

/* --- addresses --- */

struct rte_ether_addr
env_mac(const char *s)
{
	struct rte_ether_addr a = { 0 };

	if (rte_ether_unformat_addr(s, &a) != 0)
		fprintf(stderr, "env_mac: bad MAC '%s'\n", s);
	return a;
}

uint32_t
env_ip4(const char *s)
{
	uint32_t a = 0;

	if (inet_pton(AF_INET, s, &a) != 1)
		fprintf(stderr, "env_ip4: bad address '%s'\n", s);
	return a;
}

/* --- tables --- */

int
env_vnet(uint32_t vni, const char *name, bool flood)
{
	struct ctl_vnet v;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.vni = vni;
	v.flood = flood;
	return pol_vnet_set(&v);
}

int
env_vnet_gateway(uint32_t vni, const char *name, bool flood, const char *gw)
{
	struct ctl_vnet v;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.vni = vni;
	v.flood = flood;
	v.n_subnets = 1;
	v.subnets[0].addr.family = AF_INET;
	v.subnets[0].addr.v4 = env_ip4(gw) & htonl(0xffffff00);
	v.subnets[0].len = 24;
	v.gateways[0].family = AF_INET;
	v.gateways[0].v4 = env_ip4(gw);
	return pol_vnet_set(&v);
}

void
env_ep_init(struct pol_endpoint *ep, uint32_t vni, const char *name, const char *mac)
{
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->name, sizeof(ep->name), "%s", name);
	ep->vni = vni;
	ep->mac = env_mac(mac);
	ep->tunnel = POL_NO_TUNNEL;
}

void
env_ep_add_ip(struct pol_endpoint *ep, const char *ip)
{
	struct ctl_ip *a = &ep->ips[ep->n_ips];

	if (ep->n_ips >= CTL_MAX_EP_IPS) {
		fprintf(stderr, "env_ep_add_ip: %s: too many addresses\n", ep->name);
		return;
	}
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &a->v4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, ip, a->v6) == 1)
		a->family = AF_INET6;
	else {
		fprintf(stderr, "env_ep_add_ip: bad address '%s'\n", ip);
		return;
	}
	ep->n_ips++;
}

int
env_ep_local(uint32_t vni, const char *name, const char *mac, const char *ip, uint16_t port)
{
	struct pol_endpoint ep;

	env_ep_init(&ep, vni, name, mac);
	if (ip != NULL)
		env_ep_add_ip(&ep, ip);
	ep.local = true;
	ep.port = port;
	return pol_endpoint_set(&ep);
}

int
env_ep_remote(uint32_t vni, const char *name, const char *mac, const char *ip,
	      uint16_t tunnel, const char *tep)
{
	struct pol_endpoint ep;

	env_ep_init(&ep, vni, name, mac);
	if (ip != NULL)
		env_ep_add_ip(&ep, ip);
	ep.local = false;
	ep.tunnel = tunnel;
	ep.tep = env_ip4(tep);
	return pol_endpoint_set(&ep);
}

void
env_tunnel(uint16_t idx, const struct dp_port *phys, const char *dst, const char *nh_mac,
	   bool resolved)
{
	struct pol_tunnel t;

	memset(&t, 0, sizeof(t));
	t.dst_ip = env_ip4(dst);
	t.nh_ip = t.dst_ip;
	t.src_ip = phys->ip;
	t.port = phys->index;
	t.resolved = resolved;
	t.src_mac = phys->mac;
	t.dst_mac = env_mac(nh_mac);
	pol_tunnel_publish(idx, &t);
	pol_tep_add(t.dst_ip);   /* as ctl_tunnel_acquire() does: VXLAN from it is accepted */
}

/* --- decisions --- */

int
env_decide(const struct pol_flow_key *k, uint16_t in_port, struct pol_decision *d)
{
	const struct pol_endpoint *src = pol_ep_by_mac(k->src_vni, (const void *)k->src_mac);
	const struct pol_endpoint *dst;
	uint32_t ip;

	memset(d, 0, sizeof(*d));
	d->key = *k;
	d->src_port = in_port;
	d->action = CTL_ACT_ALLOW;
	if (src != NULL)
		snprintf(d->src_vm, sizeof(d->src_vm), "%s", src->name);
	if (k->kind == POL_DST_IP4) {
		memcpy(&ip, k->dst, 4);
		dst = pol_ep_by_ip4(k->src_vni, ip);
		d->routed = true;
		d->src_mac = dp.gateway_mac;
	} else {
		dst = pol_ep_by_mac(k->src_vni, (const void *)k->dst);
	}
	if (dst == NULL) {
		d->result = POL_RES_UNKNOWN;
		d->routed = false;
		d->dst_vni = k->src_vni;
		return 0;
	}
	d->result = POL_RES_FORWARD;
	pol_path_translate(dst, d);
	return 0;
}

unsigned
env_events_take(struct dp_event *ev, unsigned max)
{
	return rte_ring_dequeue_burst_elem(dp.events, ev, sizeof(*ev), max, NULL);
}

unsigned
env_resolve(void)
{
	struct dp_event ev[64];
	struct pol_decision d;
	unsigned n, installed = 0;

	while ((n = env_events_take(ev, RTE_DIM(ev))) > 0)
		for (unsigned i = 0; i < n; i++) {
			if (ev[i].type != DP_EV_MISS)
				continue;
			env_decide(&ev[i].key, ev[i].port, &d);
			if (pol_decision_install(&d) == 0)
				installed++;
		}
	return installed;
}

unsigned
env_settle(void)
{
	unsigned n = env_resolve();

	if (env_ctx->n_held > 0)
		dp_policy_held(env_ctx);
	return n;
}

/* --- frames --- */

static uint8_t *
room(struct env_frame *f, size_t n)
{
	uint8_t *p = f->b + f->len;

	if (f->len + n > sizeof(f->b)) {
		fprintf(stderr, "env_frame: frame longer than %zu bytes\n", sizeof(f->b));
		abort();
	}
	memset(p, 0, n);
	f->len += n;
	return p;
}

void
env_put(struct env_frame *f, const void *data, size_t len)
{
	memcpy(room(f, len), data, len);
}

void
env_put16(struct env_frame *f, uint16_t v)
{
	uint16_t be = htons(v);

	env_put(f, &be, 2);
}

void
env_payload(struct env_frame *f, size_t n)
{
	uint8_t *p = room(f, n);

	for (size_t i = 0; i < n; i++)
		p[i] = 'a' + i % 26;
}

void
env_eth(struct env_frame *f, const char *dst, const char *src, uint16_t ether_type)
{
	struct rte_ether_addr d = env_mac(dst), s = env_mac(src);

	f->len = f->l3 = f->l4 = 0;
	f->ip_ver = f->l4_proto = 0;
	env_put(f, &d, 6);
	env_put(f, &s, 6);
	env_put16(f, ether_type);
}

void
env_ipv4(struct env_frame *f, const char *src, const char *dst, uint8_t proto)
{
	uint32_t s = env_ip4(src), d = env_ip4(dst);
	uint8_t *ip;

	f->l3 = f->len;
	f->ip_ver = 4;
	ip = room(f, 20);
	ip[0] = 0x45;
	ip[6] = 0x40;                 /* DF */
	ip[8] = 64;                   /* TTL */
	ip[9] = proto;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
}

void
env_ipv6(struct env_frame *f, const char *src, const char *dst, uint8_t next)
{
	uint8_t *ip;

	f->l3 = f->len;
	f->ip_ver = 6;
	ip = room(f, 40);
	ip[0] = 0x60;
	ip[6] = next;
	ip[7] = 64;                   /* hop limit */
	if (inet_pton(AF_INET6, src, ip + 8) != 1 || inet_pton(AF_INET6, dst, ip + 24) != 1)
		fprintf(stderr, "env_ipv6: bad address '%s' or '%s'\n", src, dst);
}

void
env_udp(struct env_frame *f, uint16_t sport, uint16_t dport)
{
	f->l4 = f->len;
	f->l4_proto = IPPROTO_UDP;
	env_put16(f, sport);
	env_put16(f, dport);
	env_put16(f, 0);              /* length, by env_frame_done() */
	env_put16(f, 0);              /* no checksum */
}

void
env_tcp(struct env_frame *f, uint16_t sport, uint16_t dport)
{
	uint8_t *h;

	f->l4 = f->len;
	f->l4_proto = IPPROTO_TCP;
	env_put16(f, sport);
	env_put16(f, dport);
	h = room(f, 16);              /* seq, ack 0 */
	h[8] = 5 << 4;                /* data offset: 20 bytes */
	h[9] = 0x02;                  /* SYN */
	h[10] = h[11] = 0xff;         /* window */
}

void
env_icmp_echo(struct env_frame *f, uint8_t type, uint16_t id, uint16_t seq)
{
	uint8_t *h;

	f->l4 = f->len;
	f->l4_proto = IPPROTO_ICMP;
	h = room(f, 4);
	h[0] = type;
	env_put16(f, id);
	env_put16(f, seq);
}

void
env_arp(struct env_frame *f, uint16_t op, const char *sha, const char *spa,
	const char *tha, const char *tpa)
{
	struct rte_ether_addr s = env_mac(sha), t = env_mac(tha ? tha : "00:00:00:00:00:00");
	uint32_t sip = env_ip4(spa), tip = env_ip4(tpa);
	uint8_t *a;

	env_put16(f, 1);              /* Ethernet */
	env_put16(f, 0x0800);         /* IPv4 */
	a = room(f, 2);
	a[0] = 6;
	a[1] = 4;
	env_put16(f, op);
	env_put(f, &s, 6);
	env_put(f, &sip, 4);
	env_put(f, &t, 6);
	env_put(f, &tip, 4);
}

void
env_vxlan(struct env_frame *f, uint8_t flags, uint32_t vni)
{
	uint8_t *h = room(f, 8);

	h[0] = flags;
	h[4] = vni >> 16;
	h[5] = vni >> 8;
	h[6] = vni;
}

/* Internet checksum of @n bytes at @p, as stored (host order value). */
static uint16_t
inet_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i += 2)
		sum += (p[i] << 8) | (i + 1 < n ? p[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Store @v at @p in network order. */
static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

void
env_ipv4_fix_csum(uint8_t *ip)
{
	put_be16(ip + 10, 0);
	put_be16(ip + 10, inet_csum(ip, (ip[0] & 0xfu) * 4u));
}

void
env_frame_done(struct env_frame *f)
{
	uint8_t *ip = f->b + f->l3, *l4 = f->b + f->l4;

	if (f->ip_ver == 4) {
		put_be16(ip + 2, f->len - f->l3);
		env_ipv4_fix_csum(ip);
	} else if (f->ip_ver == 6) {
		put_be16(ip + 4, f->len - f->l3 - 40);
	}
	if (f->l4 != 0 && f->l4_proto == IPPROTO_UDP) {
		put_be16(l4 + 4, f->len - f->l4);
	} else if (f->l4 != 0 && f->l4_proto == IPPROTO_ICMP) {
		put_be16(l4 + 2, 0);
		put_be16(l4 + 2, inet_csum(l4, f->len - f->l4));
	}
}

struct rte_mbuf *
env_mbuf(const void *data, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	char *p;

	if (m == NULL)
		return NULL;
	p = rte_pktmbuf_append(m, len);
	if (p == NULL && len > 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (len > 0)
		memcpy(p, data, len);
	memset(dp_meta(m), 0, sizeof(struct dp_meta));
	return m;
}

/* "xx" for byte @i of @p, "--" past its @len bytes. */
static const char *
hexbyte(char out[3], const uint8_t *p, size_t len, size_t i)
{
	if (i >= len)
		return "--";
	snprintf(out, 3, "%02x", p[i]);
	return out;
}

static void
hexdump_diff(const uint8_t *got, size_t got_len, const uint8_t *exp, size_t exp_len,
	     size_t skip_off, size_t skip_len)
{
	size_t n = got_len > exp_len ? got_len : exp_len;
	char g[3], e[3];

	fprintf(stderr, "\n  frame differs (got %zu bytes, expected %zu); "
		"each byte is got/expected, '*' where they differ, '~' not compared\n",
		got_len, exp_len);
	for (size_t row = 0; row < n; row += 16) {
		fprintf(stderr, "  %04zx:", row);
		for (size_t i = row; i < row + 16 && i < n; i++) {
			bool skip = i >= skip_off && i < skip_off + skip_len;
			bool diff = !skip && (i >= got_len || i >= exp_len || got[i] != exp[i]);

			fprintf(stderr, " %s%c%s", hexbyte(g, got, got_len, i),
				diff ? '*' : skip ? '~' : '/', hexbyte(e, exp, exp_len, i));
		}
		fprintf(stderr, "\n");
	}
}

bool
env_mbuf_equal(const struct rte_mbuf *m, const void *exp, size_t len,
	       size_t skip_off, size_t skip_len)
{
	const uint8_t *got, *e = exp;
	bool same;

	if (m == NULL) {
		fprintf(stderr, "\n  no frame where one was expected\n");
		return false;
	}
	if (m->nb_segs != 1 || m->data_len != m->pkt_len) {
		fprintf(stderr, "\n  frame has %u segments\n", m->nb_segs);
		return false;
	}
	got = rte_pktmbuf_mtod(m, const uint8_t *);
	same = m->pkt_len == len;
	for (size_t i = 0; same && i < len; i++)
		if ((i < skip_off || i >= skip_off + skip_len) && got[i] != e[i])
			same = false;
	if (!same)
		hexdump_diff(got, m->pkt_len, e, len, skip_off, skip_len);
	return same;
}

struct env_guard
env_guard(const struct rte_mbuf *m)
{
	struct env_guard g = { 0 };
	uint8_t *buf = m->buf_addr;
	uint8_t *data = buf + m->data_off, *end = data + m->data_len;

	g.head = buf;
	g.head_len = data - buf;
	g.tail = end;
	g.tail_len = buf + m->buf_len - end;
#ifdef ENV_ASAN
	ASAN_POISON_MEMORY_REGION(g.head, g.head_len);
	ASAN_POISON_MEMORY_REGION(g.tail, g.tail_len);
#endif
	return g;
}

void
env_unguard(const struct env_guard *g)
{
#ifdef ENV_ASAN
	ASAN_UNPOISON_MEMORY_REGION(g->head, g->head_len);
	ASAN_UNPOISON_MEMORY_REGION(g->tail, g->tail_len);
#else
	(void)g;
#endif
}
