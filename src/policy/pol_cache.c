/* The decision cache: the control thread's writer side (see pol_cache.h).
 *
 * Workers see only the rte_hash (lock-free) and the decisions it points
 * to.  Everything else here is the control thread's: a node per hash key
 * position, linked in install order globally and per source port, so
 * that evicting the oldest entry is O(1).  A removed or replaced decision
 * (and a removed key's slot) is freed after an RCU grace period.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "pol_cache.h"
#include "pol_tables.h"

RTE_LOG_REGISTER_SUFFIX(pol_cache_logtype, policy.cache, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, pol_cache_logtype, "policy cache: " fmt "\n", ##__VA_ARGS__)

#define NIL UINT32_MAX

struct pol_cache pol_cache;

/* What readers get, plus the key slot to release with it (control only). */
struct cache_entry {
	struct pol_decision d;        /* first: readers get &entry->d */
	int32_t pos;                  /* key slot to free with it; -1 = still in use (replaced) */
};

/* One FIFO (intrusive, by key position). */
struct fifo {
	uint32_t head, tail;          /* oldest, newest */
	uint32_t n;
};

/* Control-side state of one key position. */
struct node {
	struct cache_entry *e;        /* NULL = position not in use */
	uint32_t g_prev, g_next;      /* global install order */
	uint32_t p_prev, p_next;      /* install order within e->d.src_port */
};

static struct {
	struct node *nodes;           /* capacity entries, indexed by key position */
	uint32_t capacity;            /* hash key slots (room for slots awaiting reclaim) */
	unsigned entries, per_port;
	struct fifo all;
	struct fifo port[POL_MAX_PORTS];
	struct pol_cache_stats st;
} cs;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
pol_decision_lookup_bulk(const struct pol_flow_key **keys, unsigned n,
			 const struct pol_decision **out)
{
	uint32_t sigs[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t w[3];

	for (unsigned i = 0; i < n; i++) {
		memcpy(w, keys[i], sizeof(w));
		sigs[i] = pol_flow_key_hash(w);
	}
	pol_decision_lookup_bulk_hash(keys, sigs, n, out);
}

void
pol_decision_lookup_bulk_hash(const struct pol_flow_key **keys, uint32_t *sigs, unsigned n,
			      const struct pol_decision **out)
{
	uint64_t hits = 0;

	if (rte_hash_lookup_with_hash_bulk_data(pol_cache.h, (const void **)keys, sigs, n, &hits,
						(void **)out) < 0)
		hits = 0;
	for (unsigned i = 0; i < n; i++)
		if (!(hits & (1ULL << i)))
			out[i] = NULL;
}

void
pol_path_translate(const struct pol_endpoint *dst, struct pol_decision *d)
{
	d->local = dst->local;
	d->port = dst->local ? dst->port : 0;
	d->tunnel = dst->local ? POL_NO_TUNNEL : dst->tunnel;
	d->tep = dst->local ? 0 : dst->tep;
	d->dst_vni = dst->vni;
	d->dst_mac = dst->mac;
	snprintf(d->dst_vm, sizeof(d->dst_vm), "%s", dst->name);
	d->dst_rev = dst->revision;
}

/* ---- FIFOs ---- */

static void
fifo_init(struct fifo *f)
{
	f->head = f->tail = NIL;
	f->n = 0;
}

/* The links of @pos in global (@port false) or per-port order. */
static uint32_t *
prev_of(uint32_t pos, bool port)
{
	return port ? &cs.nodes[pos].p_prev : &cs.nodes[pos].g_prev;
}

static uint32_t *
next_of(uint32_t pos, bool port)
{
	return port ? &cs.nodes[pos].p_next : &cs.nodes[pos].g_next;
}

static void
fifo_push(struct fifo *f, uint32_t pos, bool port)
{
	*prev_of(pos, port) = f->tail;
	*next_of(pos, port) = NIL;
	if (f->tail != NIL)
		*next_of(f->tail, port) = pos;
	else
		f->head = pos;
	f->tail = pos;
	f->n++;
}

static void
fifo_unlink(struct fifo *f, uint32_t pos, bool port)
{
	uint32_t p = *prev_of(pos, port), n = *next_of(pos, port);

	if (p != NIL)
		*next_of(p, port) = n;
	else
		f->head = n;
	if (n != NIL)
		*prev_of(n, port) = p;
	else
		f->tail = p;
	f->n--;
}

static struct fifo *
port_fifo(const struct pol_decision *d)
{
	return d->src_port < POL_MAX_PORTS ? &cs.port[d->src_port] : NULL;
}

static void
node_link(uint32_t pos, struct cache_entry *e)
{
	struct fifo *pf = port_fifo(&e->d);

	cs.nodes[pos].e = e;
	fifo_push(&cs.all, pos, false);
	if (pf != NULL)
		fifo_push(pf, pos, true);
}

static void
node_unlink(uint32_t pos)
{
	struct fifo *pf = port_fifo(&cs.nodes[pos].e->d);

	fifo_unlink(&cs.all, pos, false);
	if (pf != NULL)
		fifo_unlink(pf, pos, true);
	cs.nodes[pos].e = NULL;
}

/* ---- reclamation ---- */

static void
entry_free(void *p)
{
	struct cache_entry *e = p;

	/* pol_cache_fini() drains the queue before freeing the hash */
	if (e->pos >= 0 && pol_cache.h != NULL)
		rte_hash_free_key_with_position(pol_cache.h, e->pos);
	cs.st.freed++;
	rte_free(e);
}

/* Take the entry at @pos out of the table; freed once readers are done. */
static void
remove_pos(uint32_t pos)
{
	struct cache_entry *e = cs.nodes[pos].e;
	int32_t del;

	node_unlink(pos);
	del = rte_hash_del_key(pol_cache.h, &e->d.key);
	e->pos = del;   /* == pos */
	atomic_fetch_add_explicit(&pol_cache.retired, 1, memory_order_release);
	if (pol_tables.rcu == NULL)   /* no readers can exist without RCU */
		entry_free(e);
	else
		pol_defer_free(entry_free, e);
}

/* ---- control thread API ---- */

int
pol_cache_init(unsigned entries, unsigned per_port)
{
	struct rte_hash_parameters p = {
		.name = "pol_cache",
		.key_len = sizeof(struct pol_flow_key),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	RTE_BUILD_BUG_ON(sizeof(struct pol_flow_key) != 24);
	if (entries == 0 || pol_cache.h != NULL)
		return entries == 0 ? -EINVAL : -EALREADY;
	/* Removed keys hold their slot for a grace period: room for as many. */
	cs.capacity = RTE_MAX(2 * entries, 64u);
	p.entries = cs.capacity;
	cs.nodes = calloc(cs.capacity, sizeof(*cs.nodes));
	pol_cache.h = cs.nodes != NULL ? rte_hash_create(&p) : NULL;
	if (pol_cache.h == NULL) {
		LOG(ERR, "cannot create the cache for %u decisions: %s", entries,
		    rte_strerror(rte_errno));
		free(cs.nodes);
		cs.nodes = NULL;
		return -ENOMEM;
	}
	cs.entries = entries;
	cs.per_port = per_port == 0 || per_port > entries ? entries : per_port;
	fifo_init(&cs.all);
	for (unsigned i = 0; i < POL_MAX_PORTS; i++)
		fifo_init(&cs.port[i]);
	memset(&cs.st, 0, sizeof(cs.st));
	atomic_store_explicit(&pol_cache.gen, 0, memory_order_relaxed);
	/* never reset: workers may still hold pointers stamped with older values */
	atomic_fetch_add_explicit(&pol_cache.retired, 1, memory_order_release);
	return 0;
}

void
pol_cache_fini(void)
{
	if (pol_cache.h == NULL)
		return;
	while (cs.all.head != NIL)
		remove_pos(cs.all.head);
	pol_defer_drain();    /* the deferred frees need the hash */
	rte_hash_free(pol_cache.h);
	pol_cache.h = NULL;
	free(cs.nodes);
	cs.nodes = NULL;
}

static int
key_valid(const struct pol_flow_key *k)
{
	static const uint8_t zero[8];

	if (k->pad0 != 0 || k->pad1 != 0)
		return -EINVAL;
	if (k->kind == POL_DST_MAC)
		return memcmp(k->dst + 6, zero, 2) == 0 ? 0 : -EINVAL;
	if (k->kind == POL_DST_IP4)
		return memcmp(k->dst + 4, zero, 4) == 0 ? 0 : -EINVAL;
	return -EINVAL;
}

/* Make room for one more entry of source port @port. */
static void
make_room(uint16_t port)
{
	if (port < POL_MAX_PORTS && cs.port[port].n >= cs.per_port) {
		remove_pos(cs.port[port].head);
		cs.st.evictions_port++;
	} else if (cs.all.n >= cs.entries) {
		remove_pos(cs.all.head);
		cs.st.evictions++;
	}
}

int
pol_decision_install(const struct pol_decision *d)
{
	struct cache_entry *e, *old = NULL;
	int32_t pos;
	int ret;

	if (pol_cache.h == NULL)
		return -ENODEV;
	ret = key_valid(&d->key);
	if (ret < 0 || (d->src_port != POL_NO_PORT && d->src_port >= POL_MAX_PORTS))
		return -EINVAL;
	e = rte_zmalloc("pol_decision", sizeof(*e), RTE_CACHE_LINE_SIZE);
	if (e == NULL)
		return -ENOMEM;
	e->d = *d;
	e->d.installed_ms = now_ms();
	e->pos = -1;

	pos = rte_hash_lookup(pol_cache.h, &d->key);
	if (pos >= 0) {
		old = cs.nodes[pos].e;
		node_unlink(pos);   /* relinked as the newest below */
	}
	make_room(d->src_port);
	ret = rte_hash_add_key_data(pol_cache.h, &e->d.key, &e->d);
	if (ret == -ENOSPC) {
		pol_tables_reclaim();   /* slots of removed keys come back after their grace period */
		ret = rte_hash_add_key_data(pol_cache.h, &e->d.key, &e->d);
	}
	if (ret < 0) {
		rte_free(e);
		if (old != NULL)    /* still published: keep it */
			node_link(pos, old);
		return ret;
	}
	if (old == NULL)
		pos = rte_hash_lookup(pol_cache.h, &e->d.key);
	node_link(pos, e);
	if (old != NULL) {
		atomic_fetch_add_explicit(&pol_cache.retired, 1, memory_order_release);
		pol_defer_free(entry_free, old);   /* pos stays -1: the key slot lives on */
	}
	cs.st.installs++;
	atomic_fetch_add_explicit(&pol_cache.gen, 1, memory_order_release);
	return 0;
}

int
pol_decision_remove(const struct pol_flow_key *k)
{
	int32_t pos;

	if (pol_cache.h == NULL)
		return -ENOENT;
	pos = rte_hash_lookup(pol_cache.h, k);
	if (pos < 0 || cs.nodes[pos].e == NULL)
		return -ENOENT;
	remove_pos(pos);
	cs.st.removals++;
	return 0;
}

unsigned
pol_decision_remove_if(bool (*pred)(const struct pol_decision *, void *), void *arg)
{
	unsigned n = 0;

	if (pol_cache.h == NULL)
		return 0;
	for (uint32_t pos = cs.all.head, next; pos != NIL; pos = next) {
		next = cs.nodes[pos].g_next;
		if (pred(&cs.nodes[pos].e->d, arg)) {
			remove_pos(pos);
			n++;
		}
	}
	cs.st.removals += n;
	return n;
}

int
pol_decision_iterate(uint32_t *next, const struct pol_decision **d)
{
	const void *key;
	void *data;
	int ret;

	if (pol_cache.h == NULL)
		return -ENOENT;
	ret = rte_hash_iterate(pol_cache.h, &key, &data, next);
	if (ret >= 0)
		*d = data;
	return ret;
}

void
pol_cache_expire(uint64_t now)
{
	if (pol_cache.h == NULL)
		return;
	for (uint32_t pos = cs.all.head, next; pos != NIL; pos = next) {
		const struct pol_decision *d = &cs.nodes[pos].e->d;

		next = cs.nodes[pos].g_next;
		if (d->expires_ms != 0 && d->expires_ms <= now) {
			remove_pos(pos);
			cs.st.expired++;
		}
	}
}

void
pol_cache_get_stats(struct pol_cache_stats *s)
{
	*s = cs.st;
	s->entries = pol_cache.h != NULL ? cs.all.n : 0;
	s->capacity = cs.entries;
	s->per_port_limit = cs.per_port;
}
