/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vs-core-to-core CPU_A CPU_B [BATCHES [TRIPS]]
 *
 * Prints how long one cache line takes to travel from CPU_A to CPU_B, in
 * nanoseconds: two threads pinned to the two CPUs hand a counter back and
 * forth TRIPS times per batch, and the fastest batch's mean one-way time
 * is printed (a batch the scheduler interrupted is slower, never faster).
 *
 * The benchmark runs it during each measurement window (bench/bench.py):
 * on these virtual machines the host places the two vCPUs either in one
 * L3 complex (~30 ns) or in two (~160 ns), keeps that placement while the
 * vCPUs are busy, and changes it when they idle.  Every frame crossing the
 * vhost ring crosses between the generator's CPU and the poller's, so the
 * far placement slows every system, by different amounts.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct shared {
	_Alignas(64) _Atomic uint64_t ball;   /* odd: at B's side, even: at A's */
	_Alignas(64) _Atomic int quit;
};

struct partner {
	struct shared *sh;
	int cpu;
	int err;
};

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *partner_main(void *arg)
{
	struct partner *p = arg;

	p->err = pin(p->cpu);
	if (p->err < 0) {
		atomic_store(&p->sh->quit, 1);
		return NULL;
	}
	while (!atomic_load_explicit(&p->sh->quit, memory_order_relaxed)) {
		uint64_t v = atomic_load_explicit(&p->sh->ball, memory_order_acquire);

		if (v & 1)
			atomic_store_explicit(&p->sh->ball, v + 1, memory_order_release);
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The fastest batch's one-way time (ns), or -errno. */
static double measure(int cpu_a, int cpu_b, unsigned batches, unsigned trips)
{
	static struct shared sh;
	struct partner p = { .sh = &sh, .cpu = cpu_b };
	pthread_t t;
	double best = -EAGAIN;
	uint64_t v = 0;
	int rc;

	rc = pin(cpu_a);
	if (rc < 0)
		return rc;
	rc = pthread_create(&t, NULL, partner_main, &p);
	if (rc != 0)
		return -rc;
	for (unsigned b = 0; b < batches && !atomic_load(&sh.quit); b++) {
		uint64_t t0 = now_ns();

		for (unsigned i = 0; i < trips; i++) {
			atomic_store_explicit(&sh.ball, ++v, memory_order_release);
			++v;
			while (atomic_load_explicit(&sh.ball, memory_order_acquire) != v)
				if (atomic_load_explicit(&sh.quit, memory_order_relaxed))
					break;
		}
		double one_way = (double)(now_ns() - t0) / (2.0 * trips);

		if (best < 0 || one_way < best)
			best = one_way;
	}
	atomic_store(&sh.quit, 1);
	pthread_join(t, NULL);
	return p.err < 0 ? p.err : best;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned a, b, batches = 8, trips = 500;

	if (argc < 3 || argc > 5 || parse_uint(argv[1], CPU_SETSIZE - 1, &a) < 0 ||
	    parse_uint(argv[2], CPU_SETSIZE - 1, &b) < 0 || a == b ||
	    (argc > 3 && (parse_uint(argv[3], 1000, &batches) < 0 || batches == 0)) ||
	    (argc > 4 && (parse_uint(argv[4], 1000000, &trips) < 0 || trips == 0))) {
		fprintf(stderr, "usage: %s CPU_A CPU_B [BATCHES 1-1000 [TRIPS 1-1000000]]"
			" (two different CPUs)\n", argv[0]);
		return 2;
	}
	double ns = measure((int)a, (int)b, batches, trips);

	if (ns < 0) {
		fprintf(stderr, "%s: CPUs %u and %u: %s\n", argv[0], a, b, strerror((int)-ns));
		return 1;
	}
	printf("%.1f\n", ns);
	return 0;
}
