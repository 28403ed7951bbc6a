/* vs-fastpath-cycles: cycles per frame of dpdk-vswitch's own VM-input
 * work (parse, port security, policy, VXLAN encapsulation, tx), without
 * vhost, generator or second core: how a change to the fast path is
 * judged when the full bench (bench.py) is too noisy to see it.
 *
 *   vs-fastpath-cycles [SIZE [ROUNDS [FLOWS]]]   SIZE: inner frame bytes (64)
 *
 * One worker context on the calling thread, fake ports (the unit tests'
 * fixture, tests/unit/dp_test_env.c): vm1 sends UDP to FLOWS (1) remote
 * endpoints behind a tunnel, each frame to the next one, so that with
 * many flows every frame needs its own lookup.  All decisions are learnt
 * before the timing starts.  Each burst is prepared as vhost's dequeue leaves it
 * (64 mbufs from a pool with a per-lcore cache, every frame copied in
 * whole, so large frames push the first mbufs out of L1), then only
 * dp_input() is timed.  Prints the median and the lowest of ROUNDS
 * rounds of 2,000 bursts; run builds alternately to compare them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "dp_test_env.h"

#define BURST 64
#define BURSTS_PER_ROUND 2000
#define VNI 100
#define PHYS 0
#define VM1 1

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define MAX_FLOWS 1000   /* the fixture's tables hold 1024 endpoints */

static int
setup(unsigned flows)
{
	struct dp_port *phys = env_port_add(PHYS, DP_PORT_PHYS, "ul0", "02:00:00:00:00:aa");

	if (phys == NULL || env_port_add(VM1, DP_PORT_VHOST, "vm1", "02:00:00:00:01:01") == NULL)
		return -1;
	env_port_underlay(phys, "192.0.2.1", 24, 9000);
	if (env_vnet(VNI, "blue", false) != 0 ||
	    env_ep_local(VNI, "vm1", "02:00:00:00:00:01", "10.0.0.1", VM1) != 0)
		return -1;
	for (unsigned i = 0; i < flows; i++) {
		char name[16], mac[32], ip[32];

		snprintf(name, sizeof(name), "r%u", i);
		snprintf(mac, sizeof(mac), "02:00:00:01:%02x:%02x", i >> 8, i & 0xff);
		snprintf(ip, sizeof(ip), "10.1.%u.%u", i >> 8, i & 0xff);
		if (env_ep_remote(VNI, name, mac, ip, 0, "192.0.2.2") != 0)
			return -1;
	}
	env_tunnel(0, phys, "192.0.2.2", "02:00:00:00:00:bb", true);
	return 0;
}

/* A burst as vhost's dequeue leaves it: fresh mbufs, whole frames copied,
 * to the flows after the last burst's. */
static int
fill(struct rte_mempool *mp, struct rte_mbuf **pkts, const struct env_frame *f, unsigned flows,
     unsigned *next)
{
	if (rte_pktmbuf_alloc_bulk(mp, pkts, BURST) != 0)
		return -1;
	for (unsigned i = 0; i < BURST; i++) {
		const struct env_frame *g = &f[*next];

		*next = (*next + 1) % flows;
		memcpy(rte_pktmbuf_mtod(pkts[i], void *), g->b, g->len);
		pkts[i]->data_len = g->len;
		pkts[i]->pkt_len = g->len;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned size = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 15;
	unsigned flows = argc > 3 ? (unsigned)atoi(argv[3]) : 1, next = 0;
	struct rte_mbuf *pkts[BURST];
	struct rte_mempool *mp;
	struct env_frame *f;
	double *cpp;
	int ret;

	if (size < 60 || size > 1514 || rounds == 0 || flows == 0 || flows > MAX_FLOWS) {
		fprintf(stderr, "usage: %s [SIZE 60-1514 [ROUNDS [FLOWS 1-%u]]]\n", argv[0],
			MAX_FLOWS);
		return 2;
	}
	ret = env_init(argv[0], 1024);
	if (ret < 0) {
		fprintf(stderr, "cannot set up the environment: %s\n", rte_strerror(-ret));
		return 1;
	}
	/* as the switch's pool: a per-lcore cache, the fixture's private area */
	mp = rte_pktmbuf_pool_create("bench_pool", 16383, 256, rte_pktmbuf_priv_size(dp.pool),
				     RTE_PKTMBUF_HEADROOM + 2048, SOCKET_ID_ANY);
	cpp = calloc(rounds, sizeof(*cpp));
	f = calloc(flows, sizeof(*f));
	if (mp == NULL || cpp == NULL || f == NULL || setup(flows) != 0) {
		fprintf(stderr, "cannot set up ports, tables and pool\n");
		env_fini();
		return 1;
	}
	for (unsigned i = 0; i < flows; i++) {
		char mac[32], ip[32];

		snprintf(mac, sizeof(mac), "02:00:00:01:%02x:%02x", i >> 8, i & 0xff);
		snprintf(ip, sizeof(ip), "10.1.%u.%u", i >> 8, i & 0xff);
		env_eth(&f[i], mac, "02:00:00:00:00:01", RTE_ETHER_TYPE_IPV4);
		env_ipv4(&f[i], "10.0.0.1", ip, IPPROTO_UDP);
		env_udp(&f[i], 1000, 2000);
		env_payload(&f[i], size - f[i].len);
		env_frame_done(&f[i]);
	}

	/* learn the decisions, warm the caches */
	for (unsigned i = 0; i < 200; i++) {
		if (fill(mp, pkts, f, flows, &next) != 0)
			goto nombuf;
		dp_input(env_ctx, VM1, pkts, BURST);
		env_settle();
		env_tx_clear();
	}
	if (env_ctx->port[PHYS].tx_packets == 0) {
		fprintf(stderr, "no frame was encapsulated: the set-up is wrong\n");
		env_fini();
		return 1;
	}
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t cycles = 0, sent = env_ctx->port[PHYS].tx_packets;

		for (unsigned b = 0; b < BURSTS_PER_ROUND; b++) {
			uint64_t t0;

			if (fill(mp, pkts, f, flows, &next) != 0)
				goto nombuf;
			t0 = rte_rdtsc_precise();
			dp_input(env_ctx, VM1, pkts, BURST);
			cycles += rte_rdtsc_precise() - t0;
			env_tx_clear();
		}
		if (env_ctx->port[PHYS].tx_packets - sent != (uint64_t)BURST * BURSTS_PER_ROUND) {
			fprintf(stderr, "frames were dropped: the set-up is wrong\n");
			env_fini();
			return 1;
		}
		cpp[r] = (double)cycles / (BURST * BURSTS_PER_ROUND);
	}
	qsort(cpp, rounds, sizeof(*cpp), cmp_double);
	if (flows > 1)
		printf("%u B, %u flows: ", size, flows);
	else
		printf("%u B: ", size);
	printf("dp_input %.1f cycles/frame (median of %u rounds), lowest %.1f\n",
	       cpp[rounds / 2], rounds, cpp[0]);
	free(cpp);
	free(f);
	env_fini();
	return 0;
nombuf:
	fprintf(stderr, "out of mbufs\n");
	env_fini();
	return 1;
}
