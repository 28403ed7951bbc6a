/* The worker lcore loop: poll rx queues, run each burst through its input
 * path, flush tx, report RCU quiescence, back off when idle. */
#include <time.h>

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"
#include "dp_steer.h"

struct dp_state dp;

void
dp_input(struct dp_lcore *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	const struct dp_port *p = dp_port_get(port);
	struct dp_port_counters *pc = &c->port[port];

	pc->rx_packets += n;
	c->packets += n;
	if (p->kind == DP_PORT_VHOST && likely(!dp_steer_is_port(port))) {
		uint16_t done = dp_vm_express(c, port, pkts, n);

		if (likely(done == n)) {
			dp_tx_flush(c);
			return;
		}
		pkts += done;
		n -= done;
		n = dp_vm_parse(c, port, pkts, n);   /* with port security, in one pass */
		n = dp_svc_egress(c, pkts, n);
		n = dp_lb(c, pkts, n);
		if (c->burst_arp > 0)   /* it only acts on ARP */
			n = dp_arp_proxy(c, pkts, n);
		n = dp_policy_forward(c, pkts, n);
		dp_vxlan_encap(c, pkts, n);
		dp_tx_flush(c);
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		dp_meta(pkts[i])->in_port = port;
		pc->rx_bytes += pkts[i]->pkt_len;
	}
	if (p->kind == DP_PORT_VHOST) {   /* back from an appliance */
		n = dp_steer_port_input(c, pkts, n);
		n = dp_policy_forward(c, pkts, n);
		dp_vxlan_encap(c, pkts, n);
	} else {
		n = dp_underlay_input(c, pkts, n);
		n = dp_vxlan_decap(c, pkts, n);
		dp_net_deliver(c, pkts, n);
	}
	dp_tx_flush(c);
}

/* Frames the control thread wants sent on a physical port (ARP). */
static unsigned
drain_inject(struct dp_lcore *c, struct dp_port *p)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned n = rte_ring_dequeue_burst(p->inject, (void **)pkts, DP_BURST, NULL);

	if (n > 0)
		dp_tx_burst_now(c, p, pkts, n);
	return n;
}

/* True when it slept. */
static bool
idle_backoff(struct dp_lcore *c, uint64_t now)
{
	struct timespec ts;

	/* Poll on through short gaps: a nap lasts 50 us or more (timer slack,
	 * wake-up), while a vhost ring of 256 fills in 13 us at 20 Mpps, so a
	 * sender stalled by an interrupt or a preempted vCPU must not put us
	 * to sleep under load. */
	if (c->idle_since == 0)
		c->idle_since = now;
	if (now - c->idle_since < dp.idle_spin_tsc || dp.idle_sleep_max_us == 0)
		return false;
	c->sleep_us = c->sleep_us ? RTE_MIN(c->sleep_us * 2, dp.idle_sleep_max_us) : 1;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)c->sleep_us * 1000;
	/* Offline while asleep so the control thread's grace periods need not wait. */
	rte_rcu_qsbr_thread_offline(pol_tables.rcu, c->worker);
	nanosleep(&ts, NULL);
	rte_rcu_qsbr_thread_online(pol_tables.rcu, c->worker);
	c->idle_sleeps++;
	return true;
}

int
dp_worker_main(void *arg)
{
	struct dp_lcore *c = arg;
	struct rte_mbuf *pkts[DP_BURST];
	uint64_t t0, t1;

	rte_rcu_qsbr_thread_register(pol_tables.rcu, c->worker);
	rte_rcu_qsbr_thread_online(pol_tables.rcu, c->worker);
	t0 = rte_rdtsc();   /* start of this iteration: the end of the last one */
	while (!atomic_load_explicit(&dp.quit, memory_order_relaxed)) {
		const struct dp_rxq_list *l = atomic_load_explicit(&c->rxqs, memory_order_acquire);
		unsigned work = 0;

		for (uint16_t i = 0; l != NULL && i < l->n; i++) {
			struct dp_port *p = dp_port_get(l->q[i].port);
			uint16_t n;

			if (unlikely(p == NULL))
				continue;
			n = p->ops->rx_burst(p, l->q[i].queue, pkts, p->rx_burst);
			if (n > 0) {
				dp_input(c, l->q[i].port, pkts, n);
				work += n;
			}
			if (p->inject != NULL && l->q[i].queue == 0)
				work += drain_inject(c, p);
		}
		if (unlikely(c->n_held > 0))
			work += dp_policy_held(c);
		rte_rcu_qsbr_quiescent(pol_tables.rcu, c->worker);
		t1 = rte_rdtsc();
		if (work > 0 || c->n_held > 0) {   /* no nap while frames wait */
			c->busy_cycles += t1 - t0;
			c->idle_since = 0;
			c->sleep_us = 0;
		} else if (idle_backoff(c, t1)) {
			t0 = rte_rdtsc();   /* the nap is nobody's iteration */
			continue;
		}
		/* Outrunning the senders: let their rings fill a little.  Polling
		 * an almost empty ring pulls its index lines away from the sender
		 * on every try, which slows the sender down further. */
		if (work < DP_BURST / 2) {
			while (rte_rdtsc() - t1 < dp.poll_gap_tsc)
				rte_pause();
			t1 = rte_rdtsc();   /* the pause is nobody's iteration either */
		}
		t0 = t1;
	}
	dp_policy_held_free(c);
	rte_rcu_qsbr_thread_offline(pol_tables.rcu, c->worker);
	rte_rcu_qsbr_thread_unregister(pol_tables.rcu, c->worker);
	return 0;
}
