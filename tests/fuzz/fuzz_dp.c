/* The datapath targets' topology and per-frame invariants (fuzz_common.h),
 * on the unit tests' fixture (tests/unit/dp_test_env.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ring.h>
#include <sanitizer/asan_interface.h>

#include "dp.h"
#include "dp_test_env.h"
#include "dp_trace.h"
#include "fuzz_common.h"

static unsigned pool_baseline;

static void
need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dp_init: %s failed\n", what);
		exit(1);
	}
}

void
fuzz_dp_init(const char *prog)
{
	struct dp_port *phys;
	struct pol_endpoint ep;

	need(env_init(prog, 1024) == 0, "env_init");
	phys = env_port_add(FUZZ_PHYS, DP_PORT_PHYS, "uplink", FUZZ_PHYS_MAC);
	need(phys != NULL, "physical port");
	env_port_underlay(phys, FUZZ_LOCAL_TEP, 24, 1500);
	need(env_port_add(1, DP_PORT_VHOST, "vhost1", "02:00:00:00:01:01") != NULL, "vhost1");
	need(env_port_add(2, DP_PORT_VHOST, "vhost2", "02:00:00:00:01:02") != NULL, "vhost2");
	need(env_port_add(3, DP_PORT_VHOST, "vhost3", "02:00:00:00:01:03") != NULL, "vhost3");
	/* every miss reported and resolved at once: a frame's fate is then
	 * the same whatever came before it (the cache evicts old decisions) */
	dp.miss_repeat_tsc = 0;
	need(env_vnet_gateway(FUZZ_VNI_BLUE, "blue", true, "10.0.0.254") == 0, "vnet blue");
	need(env_vnet(FUZZ_VNI_RED, "red", false) == 0, "vnet red");
	need(env_port_add(4, DP_PORT_VHOST, "vhost4", "02:00:00:00:01:04") != NULL, "vhost4");
	need(env_vnet(300, "green", true) == 0, "vnet green");
	need(env_ep_local(300, "vm4", "02:00:00:00:0a:04", "10.2.0.1", 4) == 0, "vm4");
	env_ep_init(&ep, FUZZ_VNI_BLUE, "vm1", FUZZ_VM1_MAC);
	env_ep_add_ip(&ep, FUZZ_VM1_IP);
	env_ep_add_ip(&ep, "fd00::1");
	ep.local = true;
	ep.port = 1;
	need(pol_endpoint_set(&ep) == 0, "vm1");
	need(env_ep_local(FUZZ_VNI_BLUE, "vm2", FUZZ_VM2_MAC, FUZZ_VM2_IP, 2) == 0, "vm2");
	need(env_ep_local(FUZZ_VNI_RED, "vm3", FUZZ_VM3_MAC, FUZZ_VM3_IP, 3) == 0, "vm3");
	env_tunnel(0, phys, FUZZ_TEP1, "02:00:00:00:00:bb", true);
	env_tunnel(1, phys, "192.0.2.3", "02:00:00:00:00:bb", true);
	env_tunnel(2, phys, "192.0.2.4", "02:00:00:00:00:bb", false);
	need(env_ep_remote(FUZZ_VNI_BLUE, "rem", FUZZ_REM_MAC, FUZZ_REM_IP, 0, FUZZ_TEP1) == 0,
	     "rem");
	need(env_ep_remote(FUZZ_VNI_RED, "rem2", "02:00:00:00:0b:02", "10.1.0.2", 1,
			   "192.0.2.3") == 0, "rem2");
	need(env_ep_remote(FUZZ_VNI_BLUE, "far", "02:00:00:00:0c:01", "10.0.0.4", 2,
			   "192.0.2.4") == 0, "far");
	/* Free the objects the set-up replaced (RCU deferred), and everything
	 * at exit, so that LeakSanitizer's final check only sees real leaks. */
	pol_tables_reclaim();
	atexit(env_fini);
	pool_baseline = env_pool_in_use();
}

unsigned
fuzz_dp_pool_baseline(void)
{
	return pool_baseline;
}

int
fuzz_dp_port_find(const char *name)
{
	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		const struct dp_port *p = dp_port_get(i);

		if (p != NULL && strcmp(p->name, name) == 0)
			return i;
	}
	return -ENOENT;
}

/* Sums over the worker's counters. */
struct tally {
	uint64_t drops;               /* over every reason */
	uint64_t port_drops;          /* over every port */
	uint64_t tx;                  /* tx_packets over every port */
	uint64_t rx;                  /* rx_packets over every port */
	uint64_t punted;
};

static struct tally
tally(void)
{
	struct tally t = { .punted = env_ctx->punted };

	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		t.drops += env_ctx->drops[i];
	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		t.port_drops += env_ctx->port[i].drops;
		t.tx += env_ctx->port[i].tx_packets;
		t.rx += env_ctx->port[i].rx_packets;
	}
	return t;
}

/* A pool mbuf with a copy of the frame; the bytes past its end poisoned so
 * a stage reading beyond the frame is an ASan report (the headroom stays
 * writable: encapsulation prepends there). */
static struct rte_mbuf *
frame_mbuf(const uint8_t *data, size_t len, struct env_guard *g)
{
	struct rte_mbuf *m = env_mbuf(data, len);

	if (m == NULL)
		fuzz_fail("pool empty: %u mbufs in use, baseline %u", env_pool_in_use(),
			  pool_baseline);
	*g = env_guard(m);
	ASAN_UNPOISON_MEMORY_REGION(g->head, g->head_len);
	return m;
}

static const char *
drop_names(const uint64_t *before)
{
	static char buf[512];
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < DP_DROP_MAX && o < sizeof(buf); i++)
		if (env_ctx->drops[i] != before[i])
			o += snprintf(buf + o, sizeof(buf) - o, " %s+%lu", dp_drop_name(i),
				      (unsigned long)(env_ctx->drops[i] - before[i]));
	return buf;
}

void
fuzz_dp_frame(uint16_t port, const uint8_t *data, size_t len)
{
	uint64_t drops_before[DP_DROP_MAX];
	struct tally a, b;
	struct env_guard g, tg;
	struct rte_mbuf *m;
	struct dp_trace *t;
	unsigned sent, punted;

	if (len > ENV_FRAME_MAX)
		len = ENV_FRAME_MAX;
	memcpy(drops_before, env_ctx->drops, sizeof(drops_before));
	a = tally();

	m = frame_mbuf(data, len, &g);
	dp_input(env_ctx, port, &m, 1);
	env_settle();                 /* the control thread answers, held frames go */
	FUZZ_CHECK(env_ctx->n_held == 0);
	env_unguard(&g);              /* before the pool hands the mbuf out again */
	punted = env_punt_drain();
	sent = env_tx_total();
	b = tally();

	/* The burst was counted in, and nothing waits in a tx buffer. */
	FUZZ_CHECK(b.rx - a.rx == 1 && env_ctx->port[port].rx_packets > 0);
	FUZZ_CHECK(env_ctx->n_dirty == 0);
	for (unsigned i = 0; i < DP_MAX_PORTS; i++)
		FUZZ_CHECK(env_ctx->tx[i].n == 0 && !env_ctx->tx[i].listed);
	/* Every drop has exactly one reason, charged to exactly one port. */
	if (b.drops - a.drops != b.port_drops - a.port_drops)
		fuzz_fail("drop reasons moved by %lu (%s) but port drops by %lu",
			  (unsigned long)(b.drops - a.drops), drop_names(drops_before),
			  (unsigned long)(b.port_drops - a.port_drops));
	FUZZ_CHECK(b.tx - a.tx == sent);
	FUZZ_CHECK(b.punted - a.punted == punted);

	/* The dry run of the same frame tells the same story. */
	t = dp_trace_new();
	FUZZ_CHECK(t != NULL);
	m = frame_mbuf(data, len, &tg);
	FUZZ_CHECK(dp_trace_run(t, port, m) == 0);
	env_unguard(&tg);
	if (t->n_out != sent || t->n_drops != b.drops - a.drops || t->punted != (punted == 1))
		fuzz_fail("port %u, %zu bytes: ran: %u sent, %lu dropped (%s), %u punted; "
			  "trace: %u out, %u drops, punted %d, flooded %d", port, len, sent,
			  (unsigned long)(b.drops - a.drops), drop_names(drops_before), punted,
			  t->n_out, t->n_drops, t->punted, t->flooded);
	/* Nothing vanishes uncounted: one outcome, or one per flooded copy. */
	if (!t->flooded && sent + (b.drops - a.drops) + punted != 1)
		fuzz_fail("port %u, %zu bytes: not flooded, yet %u sent + %lu dropped (%s) + "
			  "%u punted != 1", port, len, sent, (unsigned long)(b.drops - a.drops),
			  drop_names(drops_before), punted);
	if (t->flooded && sent + (b.drops - a.drops) == 0)
		fuzz_fail("port %u, %zu bytes: flooded to nobody, and no drop counted",
			  port, len);
	dp_trace_free(t);

	env_tx_clear();
	if (env_pool_in_use() != pool_baseline)
		fuzz_fail("mbuf leak: %u in use after the frame, %u before", env_pool_in_use(),
			  pool_baseline);
}
