/* Output: per-worker tx buffers per port, flushed once per rx burst.
 *
 * Each worker sends on the tx queue its port's txq_map gives it.  When
 * a port has fewer (enabled) tx queues than there are workers, the map
 * says "shared" and senders serialise on that queue's spinlock, as OVS
 * does for vhost ports with concurrent_txq; otherwise no lock is taken.
 */
#include <rte_ethdev.h>

#include "dp.h"
#include "dp_trace.h"

void
dp_tx_burst_now(struct dp_lcore *c, struct dp_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	const struct dp_txq_map *map = atomic_load_explicit(&p->txq_map, memory_order_acquire);
	struct dp_port_counters *pc = &c->port[p->index];
	uint64_t bytes = 0;
	uint16_t q, sent = 0;

	/* Counted before sending: a sent mbuf belongs to the driver. */
	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	if (map == NULL) {
		q = UINT16_MAX; /* port not ready: nothing can be sent */
	} else {
		q = map->q[c->worker];
		if (map->shared)
			rte_spinlock_lock(&p->txq_lock[q]);
		sent = p->ops->tx_burst(p, q, pkts, n);
		if (map->shared)
			rte_spinlock_unlock(&p->txq_lock[q]);
	}
	pc->tx_packets += sent;
	if (unlikely(sent < n)) {
		for (uint16_t i = sent; i < n; i++)
			bytes -= pkts[i]->pkt_len;
		c->drops[DP_DROP_TX_FULL] += n - sent;
		pc->drops += n - sent;
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	}
	pc->tx_bytes += bytes;
}

/* The port went away (hot-removed) with frames still buffered for it. */
static void
tx_lost(struct dp_lcore *c, uint16_t port, struct dp_txbuf *b)
{
	c->drops[DP_DROP_TX_FULL] += b->n;
	c->port[port].drops += b->n;
	rte_pktmbuf_free_bulk(b->pkts, b->n);
}

void
dp_tx_enqueue_slow(struct dp_lcore *c, uint16_t port, struct rte_mbuf *m)
{
	struct dp_txbuf *b = &c->tx[port];

	if (unlikely(c->trace != NULL)) {
		dp_trace_output(c->trace, port, m);  /* recorded and freed, never sent */
		return;
	}
	if (!b->listed) {
		b->listed = true;
		c->dirty[c->n_dirty++] = port;
	}
	b->pkts[b->n++] = m;
	if (unlikely(b->n == DP_TXBUF)) {
		struct dp_port *p = dp_port_get(port);

		if (likely(p != NULL))
			dp_tx_burst_now(c, p, b->pkts, b->n);
		else
			tx_lost(c, port, b);
		b->n = 0;
	}
}

void
dp_tx_flush(struct dp_lcore *c)
{
	for (uint16_t i = 0; i < c->n_dirty; i++) {
		uint16_t port = c->dirty[i];
		struct dp_txbuf *b = &c->tx[port];
		struct dp_port *p;

		b->listed = false;
		if (b->n == 0)
			continue;
		p = dp_port_get(port);
		if (likely(p != NULL))
			dp_tx_burst_now(c, p, b->pkts, b->n);
		else
			tx_lost(c, port, b);
		b->n = 0;
	}
	c->n_dirty = 0;
}
