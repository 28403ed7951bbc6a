/* Unit tests of the decision cache (src/policy/pol_cache.c): what a
 * lookup returns after installs, replacements and removals; which entry
 * goes when the cache or a port is full (the oldest installed); expiry;
 * and that a reader holding a decision never sees it freed under it.
 *
 * Each test starts from an empty cache of 8 decisions, at most 3 per
 * source port, on the unit tests' fixture (EAL, tables, RCU).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_rcu_qsbr.h>

#include "unit_main.h"
#include "dp_test_env.h"
#include "pol_cache.h"

#define ENTRIES 8
#define PER_PORT 3

/* The key of "VM n to VM n+1" in VNI 100. */
static struct pol_flow_key
key(unsigned n)
{
	struct rte_ether_addr s = { { 2, 0, 0, 0, n >> 8, n & 0xff } };
	struct rte_ether_addr d = { { 2, 0, 0, 1, n >> 8, n & 0xff } };
	struct pol_flow_key k;

	pol_flow_key_mac(&k, 100, &s, &d);
	return k;
}

static struct pol_decision
decision(unsigned n, uint16_t src_port, uint8_t result)
{
	struct pol_decision d;

	memset(&d, 0, sizeof(d));
	d.key = key(n);
	d.src_port = src_port;
	d.result = result;
	d.local = true;
	d.port = n % 16;
	d.tag = n % 16;               /* readers check tag == port */
	d.dst_vni = 100;
	snprintf(d.dst_vm, sizeof(d.dst_vm), "vm%u", n);
	return d;
}

static int
install(unsigned n, uint16_t src_port, uint8_t result)
{
	struct pol_decision d = decision(n, src_port, result);

	return pol_decision_install(&d);
}

static bool
cached(unsigned n)
{
	struct pol_flow_key k = key(n);

	return pol_decision_lookup(&k) != NULL;
}

static struct pol_cache_stats
stats(void)
{
	struct pol_cache_stats s;

	pol_cache_get_stats(&s);
	return s;
}

static void
test_setup(void)
{
	pol_cache_fini();
	CU_ASSERT_FATAL(pol_cache_init(ENTRIES, PER_PORT) == 0);
}

static void
test_installed_decision_found_by_its_key(void)
{
	struct pol_flow_key k = key(1), other = key(2);
	const struct pol_decision *d, *bulk[2];
	const struct pol_flow_key *keys[2] = { &k, &other };
	uint64_t gen = atomic_load(&pol_cache.gen);

	CU_ASSERT(pol_decision_lookup(&k) == NULL);
	CU_ASSERT(install(1, 1, POL_RES_FORWARD) == 0);
	CU_ASSERT(atomic_load(&pol_cache.gen) == gen + 1);
	d = pol_decision_lookup(&k);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(memcmp(&d->key, &k, sizeof(k)) == 0);
	CU_ASSERT_EQUAL(d->result, POL_RES_FORWARD);
	CU_ASSERT_STRING_EQUAL(d->dst_vm, "vm1");
	CU_ASSERT(d->installed_ms > 0);
	pol_decision_lookup_bulk(keys, 2, bulk);
	CU_ASSERT(bulk[0] == d);
	CU_ASSERT(bulk[1] == NULL);
	CU_ASSERT_EQUAL(stats().entries, 1);
	CU_ASSERT_EQUAL(stats().installs, 1);
}

static void
test_install_replaces_decision_of_same_key(void)
{
	struct pol_flow_key k = key(1);

	CU_ASSERT(install(1, 1, POL_RES_FORWARD) == 0);
	CU_ASSERT(install(1, 1, POL_RES_DENY) == 0);
	CU_ASSERT_FATAL(pol_decision_lookup(&k) != NULL);
	CU_ASSERT_EQUAL(pol_decision_lookup(&k)->result, POL_RES_DENY);
	CU_ASSERT_EQUAL(stats().entries, 1);
}

static void
test_removed_decision_gone(void)
{
	struct pol_flow_key k = key(1);

	CU_ASSERT(install(1, 1, POL_RES_FORWARD) == 0);
	CU_ASSERT(install(2, 1, POL_RES_FORWARD) == 0);
	CU_ASSERT(pol_decision_remove(&k) == 0);
	CU_ASSERT(!cached(1));
	CU_ASSERT(cached(2));
	CU_ASSERT(pol_decision_remove(&k) == -ENOENT);
	CU_ASSERT_EQUAL(stats().entries, 1);
	CU_ASSERT_EQUAL(stats().removals, 1);
}

static bool
from_port(const struct pol_decision *d, void *arg)
{
	return d->src_port == *(uint16_t *)arg;
}

static void
test_remove_if_removes_matching_only(void)
{
	uint16_t port = 2;

	for (unsigned i = 0; i < 6; i++)
		CU_ASSERT(install(i, 1 + i % 2, POL_RES_FORWARD) == 0);
	CU_ASSERT_EQUAL(pol_decision_remove_if(from_port, &port), 3);
	for (unsigned i = 0; i < 6; i++)
		CU_ASSERT(cached(i) == (i % 2 == 0));
	CU_ASSERT_EQUAL(stats().entries, 3);
}

static void
test_port_at_limit_loses_its_oldest(void)
{
	CU_ASSERT(install(100, 2, POL_RES_FORWARD) == 0);   /* another port, older */
	for (unsigned i = 0; i < PER_PORT + 1; i++)
		CU_ASSERT(install(i, 1, POL_RES_FORWARD) == 0);
	CU_ASSERT(!cached(0));
	for (unsigned i = 1; i < PER_PORT + 1; i++)
		CU_ASSERT(cached(i));
	CU_ASSERT(cached(100));
	CU_ASSERT_EQUAL(stats().evictions_port, 1);
	CU_ASSERT_EQUAL(stats().evictions, 0);
	CU_ASSERT_EQUAL(stats().entries, PER_PORT + 1);
}

static void
test_full_cache_loses_oldest_installed(void)
{
	/* remote sources count only globally */
	for (unsigned i = 0; i < ENTRIES; i++)
		CU_ASSERT(install(i, POL_NO_PORT, POL_RES_FORWARD) == 0);
	/* replacing 0 makes it the newest: 1 is now the oldest */
	CU_ASSERT(install(0, POL_NO_PORT, POL_RES_DENY) == 0);
	CU_ASSERT(install(ENTRIES, POL_NO_PORT, POL_RES_FORWARD) == 0);
	CU_ASSERT(!cached(1));
	CU_ASSERT(cached(0));
	CU_ASSERT(cached(ENTRIES));
	CU_ASSERT_EQUAL(stats().entries, ENTRIES);
	CU_ASSERT_EQUAL(stats().evictions, 1);
}

static void
test_churn_never_runs_out_of_slots(void)
{
	for (unsigned i = 0; i < 2000; i++)
		CU_ASSERT_FATAL(install(i, i % 5 == 0 ? POL_NO_PORT : i % 4, POL_RES_FORWARD) == 0);
	CU_ASSERT_EQUAL(stats().entries, ENTRIES);
	CU_ASSERT(cached(1999));
}

static void
test_expired_entries_removed(void)
{
	struct pol_decision d = decision(1, 1, POL_RES_UNKNOWN);

	d.expires_ms = 1000;
	CU_ASSERT(pol_decision_install(&d) == 0);
	CU_ASSERT(install(2, 1, POL_RES_FORWARD) == 0);   /* no expiry */
	pol_cache_expire(999);
	CU_ASSERT(cached(1));
	pol_cache_expire(1000);
	CU_ASSERT(!cached(1));
	CU_ASSERT(cached(2));
	CU_ASSERT_EQUAL(stats().expired, 1);
}

static void
test_key_with_padding_rejected(void)
{
	struct pol_decision d = decision(1, 1, POL_RES_FORWARD);

	d.key.pad1 = 1;
	CU_ASSERT(pol_decision_install(&d) == -EINVAL);
	d = decision(1, POL_MAX_PORTS, POL_RES_FORWARD);
	CU_ASSERT(pol_decision_install(&d) == -EINVAL);
	CU_ASSERT_EQUAL(stats().entries, 0);
}

static void
test_reader_keeps_replaced_decision_until_quiescent(void)
{
	struct pol_flow_key k = key(1);
	const struct pol_decision *old;
	uint64_t freed;

	CU_ASSERT(install(1, 1, POL_RES_FORWARD) == 0);
	rte_rcu_qsbr_thread_register(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_online(pol_tables.rcu, 0);
	old = pol_decision_lookup(&k);
	CU_ASSERT_FATAL(old != NULL);
	freed = stats().freed;
	CU_ASSERT(install(1, 1, POL_RES_DENY) == 0);
	pol_tables_reclaim();
	CU_ASSERT_EQUAL(stats().freed, freed);          /* still ours */
	CU_ASSERT_EQUAL(old->result, POL_RES_FORWARD);  /* and unchanged */
	CU_ASSERT_EQUAL(pol_decision_lookup(&k)->result, POL_RES_DENY);
	rte_rcu_qsbr_quiescent(pol_tables.rcu, 0);
	pol_tables_reclaim();
	CU_ASSERT_EQUAL(stats().freed, freed + 1);
	rte_rcu_qsbr_thread_offline(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_unregister(pol_tables.rcu, 0);
}

static atomic_bool reader_stop;
static atomic_uint reader_bad, reader_seen;

/* A worker: looks up while the control thread replaces; quiescent per loop. */
static void *
reader(void *arg)
{
	struct pol_flow_key k = key(7);

	(void)arg;
	rte_rcu_qsbr_thread_register(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_online(pol_tables.rcu, 0);
	while (!atomic_load(&reader_stop)) {
		const struct pol_decision *d = pol_decision_lookup(&k);

		if (d != NULL) {
			if (d->tag != d->port || memcmp(&d->key, &k, sizeof(k)) != 0)
				atomic_fetch_add(&reader_bad, 1);
			atomic_fetch_add(&reader_seen, 1);
		}
		rte_rcu_qsbr_quiescent(pol_tables.rcu, 0);
	}
	rte_rcu_qsbr_thread_offline(pol_tables.rcu, 0);
	rte_rcu_qsbr_thread_unregister(pol_tables.rcu, 0);
	return NULL;
}

static void
test_concurrent_reader_sees_whole_decisions(void)
{
	pthread_t t;

	atomic_store(&reader_stop, false);
	atomic_store(&reader_bad, 0);
	atomic_store(&reader_seen, 0);
	CU_ASSERT(install(7, 1, POL_RES_FORWARD) == 0);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, reader, NULL) == 0);
	for (unsigned i = 0; i < 20000; i++) {
		struct pol_decision d = decision(7, 1, POL_RES_FORWARD);

		d.port = d.tag = i % 1000;
		CU_ASSERT(pol_decision_install(&d) == 0);
		if (i % 64 == 0)
			pol_tables_reclaim();
		if (i % 5000 == 0) {   /* and sometimes gone altogether */
			struct pol_flow_key k = key(7);

			pol_decision_remove(&k);
		}
	}
	atomic_store(&reader_stop, true);
	pthread_join(t, NULL);
	pol_tables_reclaim();
	CU_ASSERT_EQUAL(atomic_load(&reader_bad), 0);
	CU_ASSERT(atomic_load(&reader_seen) > 0);
}

static void
test_path_translation_from_endpoint(void)
{
	struct pol_endpoint ep;
	struct pol_decision d;

	env_ep_init(&ep, 200, "web", "02:00:00:00:0c:01");
	ep.local = false;
	ep.tunnel = 5;
	ep.tep = env_ip4("192.0.2.9");
	ep.revision = 17;
	memset(&d, 0, sizeof(d));
	pol_path_translate(&ep, &d);
	CU_ASSERT(!d.local);
	CU_ASSERT_EQUAL(d.tunnel, 5);
	CU_ASSERT_EQUAL(d.tep, env_ip4("192.0.2.9"));
	CU_ASSERT_EQUAL(d.dst_vni, 200);
	CU_ASSERT(rte_is_same_ether_addr(&d.dst_mac, &ep.mac));
	CU_ASSERT_STRING_EQUAL(d.dst_vm, "web");
	CU_ASSERT_EQUAL(d.dst_rev, 17);
	ep.local = true;
	ep.port = 3;
	pol_path_translate(&ep, &d);
	CU_ASSERT(d.local);
	CU_ASSERT_EQUAL(d.port, 3);
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "installed decision found by its key", test_installed_decision_found_by_its_key },
		{ "install replaces the decision of the same key", test_install_replaces_decision_of_same_key },
		{ "removed decision gone", test_removed_decision_gone },
		{ "remove_if removes matching only", test_remove_if_removes_matching_only },
		{ "port at its limit loses its oldest", test_port_at_limit_loses_its_oldest },
		{ "full cache loses the oldest installed", test_full_cache_loses_oldest_installed },
		{ "churn never runs out of key slots", test_churn_never_runs_out_of_slots },
		{ "expired entries removed", test_expired_entries_removed },
		{ "key with padding rejected", test_key_with_padding_rejected },
		{ "reader keeps a replaced decision until quiescent", test_reader_keeps_replaced_decision_until_quiescent },
		{ "concurrent reader sees whole decisions", test_concurrent_reader_sees_whole_decisions },
		{ "path translation from an endpoint", test_path_translation_from_endpoint },
	};
	const struct unit_suite suite = { "cache", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, NULL };
	int ret = env_init(argv[0], 64);

	if (ret < 0) {
		fprintf(stderr, "test_cache: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
