/* Port lifecycle on the control thread (see ctl_ports.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "ctl_cmds.h"
#include "ctl_ports.h"
#include "ctl_sockpath.h"
#include "dp.h"
#include "dp_port.h"

static unsigned n_slots;              /* highest index in use + 1 */
static bool reserved[DP_MAX_PORTS];   /* prepared or published */

int
ctl_port_find(const char *name)
{
	for (unsigned i = 0; i < n_slots; i++) {
		const struct dp_port *p = dp_port_get(i);

		if (p != NULL && strcmp(p->name, name) == 0)
			return i;
	}
	return -ENOENT;
}

unsigned
ctl_port_slots(void)
{
	return n_slots;
}

static int
free_slot(void)
{
	for (unsigned i = 0; i < DP_MAX_PORTS; i++)
		if (!reserved[i])
			return i;
	return -ENOSPC;
}

static struct dp_port *
prepare(struct dp_port *p, const char *name, char *err, size_t errlen)
{
	int ret;

	if (p == NULL) {
		snprintf(err, errlen, "port %s: cannot create it: %s", name, strerror(errno));
		return NULL;
	}
	ret = p->ops->start(p, dp.pool, dp.n_workers);
	if (ret != 0) {
		snprintf(err, errlen, "port %s: cannot start it: %s", name, rte_strerror(-ret));
		dp_port_destroy(p);
		return NULL;
	}
	reserved[p->index] = true;
	return p;
}

struct dp_port *
ctl_port_prepare_phys(const struct ctl_phys_port *cfg, char *err, size_t errlen)
{
	int idx = free_slot();

	if (idx < 0) {
		snprintf(err, errlen, "port %s: all %u port slots are in use", cfg->name, DP_MAX_PORTS);
		return NULL;
	}
	return prepare(dp_port_create_phys(cfg, idx), cfg->name, err, errlen);
}

struct dp_port *
ctl_port_prepare_vhost(const struct ctl_vhost_port *cfg, char *err, size_t errlen)
{
	int idx = free_slot();

	if (idx < 0) {
		snprintf(err, errlen, "port %s: all %u port slots are in use", cfg->name, DP_MAX_PORTS);
		return NULL;
	}
	if (cfg->mode == CTL_VHOST_SERVER) {
		/* after a crash our own old socket is still there: take it back */
		int ret = ctl_sockpath_claim(cfg->socket);

		if (ret < 0) {
			snprintf(err, errlen, "port %s: socket %s: %s", cfg->name, cfg->socket,
				 ret == -EADDRINUSE ? "another process is serving it" :
				 ret == -EEXIST ? "exists and is not a socket" : strerror(-ret));
			return NULL;
		}
	}
	return prepare(dp_port_create_vhost(cfg, idx), cfg->name, err, errlen);
}

void
ctl_port_discard(struct dp_port *p)
{
	if (p == NULL)
		return;
	reserved[p->index] = false;
	p->ops->stop(p);
	dp_port_destroy(p);
}

/* Publish new rx queue lists: @w's gets @add appended, every list loses
 * the queues of port @drop (UINT16_MAX: none).  A queue never changes
 * worker, so no two workers ever poll one queue. */
static int
republish_rxqs(int w_add, const struct dp_rxq *add, uint16_t drop)
{
	struct dp_rxq_list *lists[DP_MAX_WORKERS] = { 0 };

	for (unsigned w = 0; w < dp.n_workers; w++) {
		const struct dp_rxq_list *old = atomic_load(&dp.lcores[w].rxqs);
		struct dp_rxq_list *l = rte_zmalloc("dp_rxqs", sizeof(*l), RTE_CACHE_LINE_SIZE);

		if (l == NULL)
			goto nomem;
		lists[w] = l;
		for (uint16_t i = 0; old != NULL && i < old->n; i++)
			if (old->q[i].port != drop)
				l->q[l->n++] = old->q[i];
		if ((int)w == w_add) {
			if (l->n == DP_MAX_LCORE_RXQ)
				goto full;
			l->q[l->n++] = *add;
		}
	}
	for (unsigned w = 0; w < dp.n_workers; w++)
		pol_defer_free(rte_free, atomic_exchange(&dp.lcores[w].rxqs, lists[w]));
	return 0;
full:
	for (unsigned w = 0; w < dp.n_workers; w++)
		rte_free(lists[w]);
	return -ENOSPC;
nomem:
	for (unsigned w = 0; w < dp.n_workers; w++)
		rte_free(lists[w]);
	return -ENOMEM;
}

/* The worker with the fewest rx queues among those polling no queue of
 * @port yet, so that a multiqueue port spreads over the workers even when
 * earlier removals left them unevenly loaded. */
static unsigned
least_loaded_worker(uint16_t port)
{
	unsigned best = 0, best_n = UINT32_MAX;

	for (unsigned w = 0; w < dp.n_workers; w++) {
		const struct dp_rxq_list *l = atomic_load(&dp.lcores[w].rxqs);
		unsigned n = l ? l->n : 0;

		for (uint16_t i = 0; l != NULL && i < l->n; i++)
			if (l->q[i].port == port) {
				n += DP_MAX_LCORE_RXQ + 1;   /* after every worker without it */
				break;
			}
		if (n < best_n) {
			best = w;
			best_n = n;
		}
	}
	return best;
}

int
ctl_port_publish(struct dp_port *p)
{
	int ret;

	ctl_stats_port_reset(p->index);
	atomic_store(&dp.ports[p->index], p);
	n_slots = RTE_MAX(n_slots, (unsigned)p->index + 1);
	for (uint16_t q = 0; q < p->n_rxq; q++) {
		struct dp_rxq rq = { .port = p->index, .queue = q };

		ret = republish_rxqs(least_loaded_worker(p->index), &rq, UINT16_MAX);
		if (ret < 0) {
			republish_rxqs(-1, NULL, p->index);
			atomic_store(&dp.ports[p->index], NULL);
			return ret;
		}
	}
	return 0;
}

void
ctl_port_remove(unsigned idx)
{
	struct dp_port *p = dp_port_get(idx);
	int ret;

	if (p == NULL)
		return;
	/* Workers may be polling it or have frames for it: take it away,
	 * then wait until every worker has passed a quiescent state.  Workers
	 * skip a NULL port, so if the queue lists could not be rewritten the
	 * slot stays reserved rather than be polled by two workers later. */
	ret = republish_rxqs(-1, NULL, idx);
	atomic_store(&dp.ports[idx], NULL);
	rte_rcu_qsbr_synchronize(pol_tables.rcu, RTE_QSBR_THRID_INVALID);
	p->ops->stop(p);
	dp_port_destroy(p);
	reserved[idx] = ret != 0;
	while (n_slots > 0 && !reserved[n_slots - 1])
		n_slots--;
}
