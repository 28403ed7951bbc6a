/* Shared by the libFuzzer targets of tests/fuzz (docs/fuzzing.md).
 *
 * Every target has a seed mode: `fuzz_<name> -seed=DIR` writes its seed
 * corpus (a handful of small valid inputs) into DIR and exits, so the
 * corpus under tests/fuzz/corpus/ is regenerated rather than hand-made.
 * The datapath targets share one topology built on the unit tests'
 * fixture (tests/unit/dp_test_env.h) and one per-frame invariant check.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* If argv holds -seed=DIR: create DIR, call @write(DIR) and exit (0, or 1
 * when it failed).  Otherwise return. */
void fuzz_seed_mode(int argc, char **argv, int (*write)(const char *dir));
/* Write @len bytes to DIR/@name.  Returns 0 or -1 (message printed). */
int fuzz_seed_file(const char *dir, const char *name, const void *data, size_t len);

/* Report a broken invariant with the input's context and abort(), which
 * libFuzzer records as a crash with the input that caused it. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FUZZ_CHECK(cond, ...) do {					\
		if (!(cond))						\
			fuzz_fail("%s:%d: invariant broken: %s", __FILE__, __LINE__, #cond);	\
	} while (0)

/* --- datapath targets (fuzz_dp.c) --- */

/* The topology every datapath target runs on:
 *   port 0 "uplink"  physical, 02:00:00:00:00:aa, 192.0.2.1/24, MTU 1500
 *   port 1 "vhost1"  vm1 02:00:00:00:0a:01 10.0.0.1 fd00::1 (blue)
 *   port 2 "vhost2"  vm2 02:00:00:00:0a:02 10.0.0.3 (blue)
 *   port 3 "vhost3"  vm3 02:00:00:00:0a:03 10.1.0.1 (red)
 *   port 4 "vhost4"  vm4 02:00:00:00:0a:04 10.2.0.1 (green, its only member)
 *   remote rem  02:00:00:00:0b:01 10.0.0.2 (blue) behind 192.0.2.2 (tunnel 0, resolved)
 *   remote rem2 02:00:00:00:0b:02 10.1.0.2 (red)  behind 192.0.2.3 (tunnel 1, resolved)
 *   remote far  02:00:00:00:0c:01 10.0.0.4 (blue) behind 192.0.2.4 (tunnel 2, unresolved)
 *   networks "blue" VNI 100 floods, "red" VNI 200 does not, "green" VNI 300
 *   floods (a network with one VM so far)
 */
#define FUZZ_PHYS 0
#define FUZZ_VHOST_FIRST 1
#define FUZZ_N_VHOST 4
#define FUZZ_VNI_BLUE 100
#define FUZZ_VNI_RED 200
#define FUZZ_PHYS_MAC "02:00:00:00:00:aa"
#define FUZZ_LOCAL_TEP "192.0.2.1"
#define FUZZ_TEP1 "192.0.2.2"
#define FUZZ_VM1_MAC "02:00:00:00:0a:01"
#define FUZZ_VM1_IP "10.0.0.1"
#define FUZZ_VM2_MAC "02:00:00:00:0a:02"
#define FUZZ_VM2_IP "10.0.0.3"
#define FUZZ_VM3_MAC "02:00:00:00:0a:03"
#define FUZZ_VM3_IP "10.1.0.1"
#define FUZZ_REM_MAC "02:00:00:00:0b:01"
#define FUZZ_REM_IP "10.0.0.2"

/* Bring up EAL (no hugepages), the pool and the topology above once.
 * Exits the process on failure. */
void fuzz_dp_init(const char *prog);

/* Push one frame of @len bytes (cut to what an mbuf holds) through
 * dp_input() on @port, then check that nothing leaked and that every frame
 * is accounted for: sent on a port, dropped with exactly one reason (and
 * the same count per port), or punted; and that a trace of the same frame
 * (dp_trace_run) reports the same outcome.  Aborts on a violation. */
void fuzz_dp_frame(uint16_t port, const uint8_t *data, size_t len);

/* Port finder over the fixture's ports, as ctl_port_find() is for the daemon. */
int fuzz_dp_port_find(const char *name);

/* mbufs in use once the topology is up (nothing in flight). */
unsigned fuzz_dp_pool_baseline(void);

#endif
