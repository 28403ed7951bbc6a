/* Unit tests of the packet trace (src/datapath/dp_trace.c and the DP_TRACE
 * hooks of the stages): what each dry run records, and that it leaves no
 * trace of its own -- nothing sent on any port, no counter of the worker
 * moved, every mbuf back in the pool, nothing punted.
 *
 * Packets are described in words as the `trace` command gets them
 * (dp_trace_desc_parse() then dp_trace_desc_run(), what ctl_cmds_trace.c
 * calls) on the topology of test_datapath.c:
 *
 *   port 0  "uplink", physical, 02:00:00:00:00:aa, 192.0.2.1/24, MTU 1500
 *   port 1  "vhost1", vm1 02:00:00:00:0a:01 10.0.0.1
 *   port 2  "vhost2", vm2 02:00:00:00:0a:02 10.0.0.3
 *   port 3  "vhost3", nothing bound (the flood tests bind vm3 here)
 *   remote  rem 02:00:00:00:0b:01 10.0.0.2 behind TEP 192.0.2.2 (tunnel 0,
 *           next hop 02:00:00:00:00:bb)
 *   network "blue", VNI 100, no flooding unless a test turns it on
 *
 * Set TRACE_SHOW=1 to print the JSON of each trace.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <jansson.h>
#include <rte_arp.h>
#include <rte_ring.h>

#include "unit_main.h"
#include "dp.h"
#include "dp_test_env.h"
#include "dp_trace.h"

#define VNI 100
#define PHYS 0
#define VM1 1
#define VM2 2
#define VM3 3
#define T_REM 0
#define T_FAR 1

#define PHYS_MAC "02:00:00:00:00:aa"
#define NH_MAC   "02:00:00:00:00:bb"
#define LOCAL_TEP "192.0.2.1"
#define TEP1     "192.0.2.2"
#define TEP2     "192.0.2.3"
#define VM1_MAC  "02:00:00:00:0a:01"
#define VM1_IP   "10.0.0.1"
#define VM2_MAC  "02:00:00:00:0a:02"
#define VM2_IP   "10.0.0.3"
#define VM3_MAC  "02:00:00:00:0a:03"
#define VM3_IP   "10.0.0.6"
#define REM_MAC  "02:00:00:00:0b:01"
#define REM_IP   "10.0.0.2"
#define NOBODY_MAC "02:00:00:00:0f:0f"

static struct dp_lcore worker_before;  /* the worker's context when the test began */
static unsigned pool_start;

/* ---- the fixture ---- */

static void
test_setup(void)
{
	struct dp_port *phys;

	env_ctx_reset();
	CU_ASSERT(env_tables_reset(1024) == 0);
	phys = env_port_add(PHYS, DP_PORT_PHYS, "uplink", PHYS_MAC);
	CU_ASSERT_FATAL(phys != NULL);
	env_port_underlay(phys, LOCAL_TEP, 24, 1500);
	CU_ASSERT(env_port_add(VM1, DP_PORT_VHOST, "vhost1", "02:00:00:00:01:01") != NULL);
	CU_ASSERT(env_port_add(VM2, DP_PORT_VHOST, "vhost2", "02:00:00:00:01:02") != NULL);
	CU_ASSERT(env_port_add(VM3, DP_PORT_VHOST, "vhost3", "02:00:00:00:01:03") != NULL);
	CU_ASSERT(env_vnet(VNI, "blue", false) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm1", VM1_MAC, VM1_IP, VM1) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm2", VM2_MAC, VM2_IP, VM2) == 0);
	CU_ASSERT(env_ep_remote(VNI, "rem", REM_MAC, REM_IP, T_REM, TEP1) == 0);
	env_tunnel(T_REM, phys, TEP1, NH_MAC, true);
	memcpy(&worker_before, env_ctx, sizeof(worker_before));
	pool_start = env_pool_in_use();
}

static void
test_teardown(void)
{
	env_tx_clear();
	env_punt_drain();
	CU_ASSERT_EQUAL(env_pool_in_use(), pool_start);
	env_ports_clear();
}

/* Flooding on; vm3 on port 3, rem2 behind TEP1, far behind TEP2. */
static void
flood_topology(void)
{
	CU_ASSERT(env_vnet(VNI, "blue", true) == 0);
	CU_ASSERT(env_ep_local(VNI, "vm3", VM3_MAC, VM3_IP, VM3) == 0);
	CU_ASSERT(env_ep_remote(VNI, "rem2", "02:00:00:00:0b:02", "10.0.0.5", T_REM, TEP1) == 0);
	CU_ASSERT(env_ep_remote(VNI, "far", "02:00:00:00:0c:01", "10.0.0.4", T_FAR, TEP2) == 0);
	env_tunnel(T_FAR, dp_port_get(PHYS), TEP2, NH_MAC, true);
}

/* ---- driving a trace ---- */

/* What ctl_port_find() does for the daemon, over the fake ports. */
static int
find_port(const char *name)
{
	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		const struct dp_port *p = dp_port_get(i);

		if (p != NULL && strcmp(p->name, name) == 0)
			return i;
	}
	return -ENOENT;
}

/* True when the trace left nothing behind: no frame sent, the worker's
 * context (counters, tx buffers) untouched, the pool as it was, no punt. */
static bool
left_no_trace(void)
{
	bool sent = env_tx_total() != 0;
	bool worker = memcmp(&worker_before, env_ctx, sizeof(worker_before)) != 0;
	bool pool = env_pool_in_use() != pool_start;
	bool punt = rte_ring_count(dp.punt) != 0;

	if (sent || worker || pool || punt)
		fprintf(stderr, "\n  trace left: %s%s%s%s\n", sent ? "frames sent; " : "",
			worker ? "worker context changed; " : "",
			pool ? "mbufs in use; " : "", punt ? "frames punted" : "");
	return !sent && !worker && !pool && !punt;
}

static void
show(const json_t *j)
{
	char *s;

	if (getenv("TRACE_SHOW") == NULL || j == NULL)
		return;
	s = json_dumps(j, JSON_INDENT(2));
	fprintf(stderr, "\n%s\n", s);
	free(s);
}

/* Parse the words @first... (NULL-terminated) and run the trace as the
 * command does; the JSON, or NULL with the error in @err. */
static json_t *
vtrace(char *err, size_t errlen, const char *first, va_list ap)
{
	const char *kv[DP_TRACE_K_MAX + 4];
	struct dp_trace_desc d;
	unsigned n = 0;
	json_t *j;

	for (const char *a = first; a != NULL && n < RTE_DIM(kv); a = va_arg(ap, const char *))
		kv[n++] = a;
	err[0] = '\0';
	if (dp_trace_desc_parse(&d, kv, n, find_port, err, errlen) < 0)
		return NULL;
	j = dp_trace_desc_run(&d, err, errlen);
	show(j);
	return j;
}

/* The trace of the words given, which must succeed and leave nothing behind. */
static json_t *
trace(const char *first, ...)
{
	char err[256];
	va_list ap;
	json_t *j;

	va_start(ap, first);
	j = vtrace(err, sizeof(err), first, ap);
	va_end(ap);
	if (j == NULL)
		fprintf(stderr, "\n  trace failed: %s\n", err);
	CU_ASSERT(left_no_trace());
	return j;
}

/* True when the trace of the words given fails, leaving nothing behind;
 * its error in @err. */
static bool
trace_fails(char *err, size_t errlen, const char *first, ...)
{
	va_list ap;
	json_t *j;

	va_start(ap, first);
	j = vtrace(err, errlen, first, ap);
	va_end(ap);
	CU_ASSERT(left_no_trace());
	json_decref(j);
	return j == NULL;
}

static const char *
result(const json_t *j)
{
	const char *r = json_string_value(json_object_get(j, "result"));

	return r != NULL ? r : "";
}

static size_t
n_steps(const json_t *j)
{
	return json_array_size(json_object_get(j, "steps"));
}

static const char *
stage_of(const json_t *j, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(j, "steps"), i),
						 "stage"));
}

static const char *
decision_of(const json_t *j, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(j, "steps"), i),
						 "decision"));
}

/* Index of the first step of @stage from @from on whose decision holds
 * every string given (NULL-terminated), or -1. */
static int
find_step(const json_t *j, size_t from, const char *stage, ...)
{
	for (size_t i = from; i < n_steps(j); i++) {
		const char *d = decision_of(j, i);
		bool all = strcmp(stage_of(j, i), stage) == 0;
		va_list ap;

		va_start(ap, stage);
		for (const char *s = va_arg(ap, const char *); all && s != NULL;
		     s = va_arg(ap, const char *))
			all = strstr(d, s) != NULL;
		va_end(ap);
		if (all)
			return i;
	}
	return -1;
}

static void
print_steps(const json_t *j)
{
	fprintf(stderr, "\n  packet: %s\n", json_string_value(json_object_get(j, "packet")));
	for (size_t i = 0; i < n_steps(j); i++)
		fprintf(stderr, "  %-18s %s\n", stage_of(j, i), decision_of(j, i));
	fprintf(stderr, "  result: %s\n", result(j));
}

/* The stages of @j's steps are exactly those given (NULL-terminated), in order. */
static bool
stages_are(const json_t *j, ...)
{
	va_list ap;
	size_t i = 0;
	bool ok = true;

	va_start(ap, j);
	for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *), i++)
		ok &= i < n_steps(j) && strcmp(stage_of(j, i), s) == 0;
	va_end(ap);
	ok &= i == n_steps(j);
	if (!ok)
		print_steps(j);
	return ok;
}

static bool
last_is_drop(const json_t *j, const char *name)
{
	char want[64];
	size_t n = n_steps(j);

	snprintf(want, sizeof(want), "drop: %s — ", name);
	return n > 0 && strncmp(decision_of(j, n - 1), want, strlen(want)) == 0;
}

/* ---- the VM input path ---- */

static void
test_spoofed_source_mac_ends_with_spoof_mac_drop(void)
{
	json_t *j = trace("in_port=vhost1", "src_mac=02:00:00:00:0a:99", "dst_mac=" REM_MAC,
			  "dst_ip=" REM_IP, NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "parse", "port security", "port security", NULL));
	CU_ASSERT(find_step(j, 0, "port security", "vm1", "02:00:00:00:0a:99", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "spoof_mac"));
	CU_ASSERT_STRING_EQUAL(result(j), "dropped: spoof_mac");
	json_decref(j);
}

static void
test_unknown_destination_dropped_or_flooded(void)
{
	json_t *j = trace("in_port=vhost1", "dst_mac=" NOBODY_MAC, "dst_ip=10.0.0.77",
			  "proto=udp", "dport=53", NULL);
	int f;

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "lookup", NOBODY_MAC, "unknown", "no decision cached", NULL) >= 0);
	CU_ASSERT(find_step(j, 0, "policy", "unknown destination", "does not flood", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "unknown_unicast"));
	CU_ASSERT_STRING_EQUAL(result(j), "dropped: unknown_unicast");
	json_decref(j);

	/* flooding on: every replica is listed, none sent */
	flood_topology();
	j = trace("in_port=vhost1", "dst_mac=" NOBODY_MAC, "dst_ip=10.0.0.77", "proto=udp", NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "policy", "unknown destination", "floods", NULL) >= 0);
	f = find_step(j, 0, "flood", "blue (VNI 100)", "2 other member port(s)",
		      "2 tunnel endpoint(s)", NULL);
	CU_ASSERT(f >= 0);
	CU_ASSERT(find_step(j, f, "output", "vhost2 (VM vm2)", NULL) > f);
	CU_ASSERT(find_step(j, f, "output", "vhost3 (VM vm3)", NULL) > f);
	CU_ASSERT(find_step(j, f, "encapsulation", "TEP " TEP1, NULL) > f);
	CU_ASSERT(find_step(j, f, "encapsulation", "TEP " TEP2, NULL) > f);
	CU_ASSERT(find_step(j, f, "output", "uplink", "→ " TEP1, "VNI 100", NULL) > f);
	CU_ASSERT(find_step(j, f, "output", "uplink", "→ " TEP2, "VNI 100", NULL) > f);
	CU_ASSERT(find_step(j, 0, "output", "vhost1", NULL) < 0);
	CU_ASSERT_STRING_EQUAL(result(j), "flooded to 4 copies (not sent)");
	json_decref(j);
}

static void
test_packet_to_remote_vm_encapsulated_toward_its_tep(void)
{
	json_t *j = trace("in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "proto=tcp",
			  "dport=22", NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "parse", "port security", "lookup", "policy",
			     "service insertion", "encapsulation", "output", NULL));
	CU_ASSERT(strstr(json_string_value(json_object_get(j, "packet")),
			 "in_port vhost1: " VM1_MAC " → " REM_MAC ", IPv4 " VM1_IP " → " REM_IP
			 ", TCP 12345 → 22, 54 bytes") != NULL);
	CU_ASSERT(find_step(j, 0, "parse", "IPv4", "54 bytes", NULL) == 1);
	CU_ASSERT(find_step(j, 0, "port security", "pass", "vm1", "blue (VNI 100)", NULL) == 2);
	CU_ASSERT(find_step(j, 0, "lookup", "(VNI 100, " VM1_MAC " → " REM_MAC ")", "endpoint rem",
			    "remote behind TEP " TEP1, "no decision cached", NULL) == 3);
	CU_ASSERT(find_step(j, 0, "policy", "default: allow (revision 0)",
			    "path: rem, tunnel 0 to TEP " TEP1 ", VNI 100",
			    "decided for this trace, not installed", NULL) == 4);
	CU_ASSERT(find_step(j, 0, "service insertion", "none enabled", NULL) == 5);
	CU_ASSERT(find_step(j, 0, "encapsulation", "VNI 100", "TEP " TEP1, "via uplink",
			    "next hop " TEP1 " (" NH_MAC ")", "UDP source port", "104 bytes",
			    NULL) == 6);
	CU_ASSERT(find_step(j, 0, "output", "uplink: 104 bytes", LOCAL_TEP " → " TEP1,
			    "→ 4789", "VNI 100", NULL) == 7);
	CU_ASSERT_STRING_EQUAL(result(j), "output port uplink (not sent)");
	json_decref(j);
}

static void
test_encapsulation_failures_say_why(void)
{
	json_t *j;

	/* 1464-byte inner frame fits the 1500-byte MTU, one more does not */
	j = trace("in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "len=1464", NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_STRING_EQUAL(result(j), "output port uplink (not sent)");
	json_decref(j);
	j = trace("in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "len=1465", NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "encapsulation", "1465 bytes", "MTU 1500", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "mtu_exceeded"));
	json_decref(j);

	env_tunnel(T_REM, dp_port_get(PHYS), TEP1, NH_MAC, false);
	j = trace("in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "encapsulation", "next hop " TEP1 " unresolved", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "neigh_unresolved"));
	CU_ASSERT_STRING_EQUAL(result(j), "dropped: neigh_unresolved");
	json_decref(j);

	pol_tunnel_publish(T_REM, NULL);
	j = trace("in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "encapsulation", "not set up", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "no_tunnel"));
	json_decref(j);
}

static void
test_local_vm_to_local_vm_output_on_its_port(void)
{
	json_t *j = trace("in_port=vhost1", "dst_mac=" VM2_MAC, "dst_ip=" VM2_IP, NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "parse", "port security", "lookup", "policy",
			     "service insertion", "output", NULL));
	CU_ASSERT(find_step(j, 0, "lookup", "endpoint vm2", "local on port vhost2", NULL) >= 0);
	CU_ASSERT(find_step(j, 0, "output", "vhost2 (VM vm2): 42 bytes", NULL) >= 0);
	CU_ASSERT_STRING_EQUAL(result(j), "output port vhost2 (not sent)");
	json_decref(j);

	/* to itself: the decision says port vhost1, the hairpin check drops it */
	j = trace("in_port=vhost1", "dst_mac=" VM1_MAC, "dst_ip=" VM1_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "parse", "port security", "lookup", "policy", "policy",
			     NULL));
	CU_ASSERT(last_is_drop(j, "hairpin"));
	json_decref(j);
}

static void
test_arp_request_answered_locally(void)
{
	json_t *j = trace("in_port=vhost1", "proto=arp", "dst_ip=" REM_IP, NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "parse", "port security", "arp", "arp", "output", NULL));
	CU_ASSERT(strstr(json_string_value(json_object_get(j, "packet")),
			 "ff:ff:ff:ff:ff:ff, ARP request who-has " REM_IP " tell " VM1_IP) != NULL);
	CU_ASSERT(find_step(j, 0, "arp", "answered locally", REM_IP " is-at " REM_MAC,
			    "endpoint rem", NULL) >= 0);
	CU_ASSERT(find_step(j, 0, "output", "vhost1", NULL) >= 0);
	CU_ASSERT_STRING_EQUAL(result(j), "answered locally (ARP reply to port vhost1, not sent)");
	json_decref(j);

	/* nobody owns the address, the network does not flood */
	j = trace("in_port=vhost1", "proto=arp", "dst_ip=10.0.0.99", NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(last_is_drop(j, "arp_unknown_target"));
	json_decref(j);

	/* gratuitous */
	j = trace("in_port=vhost1", "proto=arp", "dst_ip=" VM1_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(last_is_drop(j, "arp_gratuitous"));
	json_decref(j);
}

static void
test_unbound_port_and_bad_source_ip(void)
{
	json_t *j = trace("in_port=vhost3", "src_mac=" VM3_MAC, "src_ip=" VM3_IP,
			  "dst_mac=" REM_MAC, "dst_ip=" REM_IP, NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "port security", "no endpoint bound to port vhost3", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "port_unbound"));
	json_decref(j);

	j = trace("in_port=vhost1", "src_ip=10.0.0.50", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "port security", "source address is not one of its own", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "spoof_ip"));
	json_decref(j);
}

static void
test_broadcast_dropped_or_flooded(void)
{
	json_t *j = trace("in_port=vhost1", "dst_mac=ff:ff:ff:ff:ff:ff", "dst_ip=10.0.0.255",
			  "proto=udp", "sport=137", "dport=137", NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "lookup", "broadcast", "does not flood", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "bum_dropped"));
	json_decref(j);
}

/* ---- the network input path ---- */

static void
test_vxlan_from_network_decapsulated_and_delivered(void)
{
	json_t *j = trace("in_port=uplink", "vni=100", "outer_src=" TEP1, "src_mac=" REM_MAC,
			  "dst_mac=" VM1_MAC, "src_ip=" REM_IP, "dst_ip=" VM1_IP, NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "outer validation", "decap", "delivery", "policy",
			     "service insertion", "output", NULL));
	CU_ASSERT(strstr(json_string_value(json_object_get(j, "packet")),
			 "IPv4 " TEP1 " → " LOCAL_TEP ", UDP 49152 → 4789, VXLAN VNI 100 [" REM_MAC
			 " → " VM1_MAC ", IPv4 " REM_IP " → " VM1_IP ", ICMP echo request], 92 bytes")
		  != NULL);
	CU_ASSERT(find_step(j, 0, "outer validation", "to us", PHYS_MAC, LOCAL_TEP, "UDP port 4789",
			    "checksum good", "lengths consistent", NULL) >= 0);
	CU_ASSERT(find_step(j, 0, "decap", "VNI 100 → network blue (VNI 100)", "42 bytes",
			    NULL) >= 0);
	CU_ASSERT(find_step(j, 0, "delivery", VM1_MAC, "endpoint vm1", "local on port vhost1",
			    NULL) >= 0);
	CU_ASSERT(find_step(j, 0, "output", "vhost1 (VM vm1): 42 bytes", NULL) >= 0);
	CU_ASSERT_STRING_EQUAL(result(j), "output port vhost1 (not sent)");
	json_decref(j);

	/* an ARP request from the network goes to the VM that owns the address */
	j = trace("in_port=uplink", "vni=100", "outer_src=" TEP1, "src_mac=" REM_MAC,
		  "src_ip=" REM_IP, "proto=arp", "dst_ip=" VM2_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "delivery", "ARP request for " VM2_IP, "endpoint vm2", NULL) >= 0);
	CU_ASSERT_STRING_EQUAL(result(j), "output port vhost2 (not sent)");
	json_decref(j);

	/* for a VM that is not here */
	j = trace("in_port=uplink", "vni=100", "outer_src=" TEP1, "src_mac=" REM_MAC,
		  "dst_mac=" NOBODY_MAC, "src_ip=" REM_IP, "dst_ip=" VM1_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "delivery", NOBODY_MAC, "unknown", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "dst_not_local"));
	json_decref(j);
}

static void
test_vxlan_with_unknown_vni_dropped(void)
{
	json_t *j = trace("in_port=uplink", "vni=999", "outer_src=" TEP1, "src_mac=" REM_MAC,
			  "dst_mac=" VM1_MAC, "src_ip=" REM_IP, "dst_ip=" VM1_IP, NULL);

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "outer validation", "decap", "decap", NULL));
	CU_ASSERT(find_step(j, 0, "decap", "VNI 999: no such network", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "unknown_vni"));
	CU_ASSERT_STRING_EQUAL(result(j), "dropped: unknown_vni");
	json_decref(j);
}

static void
test_vxlan_not_for_us_rejected_by_outer_validation(void)
{
	const char *kv[] = { "in_port=uplink", "vni=100", "outer_src=" TEP1, "src_mac=" REM_MAC,
			     "dst_mac=" VM1_MAC, "src_ip=" REM_IP, "dst_ip=" VM1_IP };
	struct dp_port *p = dp_port_get(PHYS);
	struct dp_trace_desc d;
	struct rte_mbuf *m;
	struct dp_trace *t;
	char err[256];
	json_t *j;

	/* built while the port is 192.0.2.9, run once it is 192.0.2.1 again */
	CU_ASSERT_FATAL(dp_trace_desc_parse(&d, kv, RTE_DIM(kv), find_port, err, sizeof(err)) == 0);
	p->ip = env_ip4("192.0.2.9");
	m = dp_trace_desc_build(&d, err, sizeof(err));
	p->ip = env_ip4(LOCAL_TEP);
	CU_ASSERT_FATAL(m != NULL);
	t = dp_trace_new();
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT(dp_trace_run(t, PHYS, m) == 0);
	j = dp_trace_json(t);
	dp_trace_free(t);
	CU_ASSERT(left_no_trace());
	CU_ASSERT_FATAL(j != NULL);
	show(j);
	CU_ASSERT(find_step(j, 0, "outer validation", "rejected", "192.0.2.9", "we are", NULL) >= 0);
	CU_ASSERT(last_is_drop(j, "underlay_not_for_us"));
	json_decref(j);
}

static void
test_underlay_arp_punt_recorded_not_queued(void)
{
	struct env_frame f;
	struct dp_trace *t = dp_trace_new();
	char buf[128];

	CU_ASSERT_FATAL(t != NULL);
	env_eth(&f, "ff:ff:ff:ff:ff:ff", NH_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, RTE_ARP_OP_REQUEST, NH_MAC, TEP1, NULL, LOCAL_TEP);
	CU_ASSERT(dp_trace_run(t, PHYS, env_frame_mbuf(&f)) == 0);
	CU_ASSERT_EQUAL(t->n_steps, 2);
	CU_ASSERT_STRING_EQUAL(t->steps[1].stage, "punt");
	CU_ASSERT_STRING_EQUAL(dp_trace_result(t, buf, sizeof(buf)),
			       "punted to the control thread (not processed)");
	CU_ASSERT_EQUAL(t->c->punted, 0);
	/* a trace runs once; the frame is consumed either way */
	CU_ASSERT_EQUAL(dp_trace_run(t, PHYS, env_frame_mbuf(&f)), -EALREADY);
	dp_trace_free(t);
	t = dp_trace_new();
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(dp_trace_run(t, 40, env_frame_mbuf(&f)), -ENODEV);
	dp_trace_free(t);
	CU_ASSERT(left_no_trace());
}

/* ---- the command's words ---- */

static void
test_arguments_checked_and_errors_name_the_key(void)
{
	static const struct {
		const char *args[4];
		const char *error;     /* the start of the message */
	} bad[] = {
		{ { "dst_mac=" REM_MAC }, "in_port: required" },
		{ { "in_port=nosuch" }, "in_port: 'nosuch' is not a port" },
		{ { "in_port" }, "'in_port' is not key=value" },
		{ { "in_port=vhost1", "colour=red" }, "unknown key 'colour'" },
		{ { "in_port=vhost1", "in_port=vhost2" }, "in_port: given twice" },
		{ { "in_port=vhost1", "src_mac=02:00" }, "src_mac: '02:00' is not a MAC" },
		{ { "in_port=vhost1", "dst_ip=10.0.0" }, "dst_ip: '10.0.0' is not an IPv4" },
		{ { "in_port=vhost1", "proto=sctp" }, "proto: 'sctp' is not icmp, tcp, udp or arp" },
		{ { "in_port=vhost1", "sport=65536" }, "sport: '65536' is not a number" },
		{ { "in_port=vhost1", "dport=-1" }, "dport: '-1' is not a number" },
		{ { "in_port=vhost1", "arp_op=maybe" }, "arp_op: 'maybe' is not request or reply" },
		{ { "in_port=vhost1", "vni=16777216" }, "vni: '16777216' is not a number" },
		{ { "in_port=vhost1", "outer_src=x" }, "outer_src: 'x' is not an IPv4" },
		{ { "in_port=vhost1", "dst_ip=" REM_IP }, "dst_mac: required" },
		{ { "in_port=vhost1", "dst_mac=" REM_MAC }, "dst_ip: required" },
		{ { "in_port=vhost3", "dst_mac=" REM_MAC, "dst_ip=" REM_IP }, "src_mac: required" },
		{ { "in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "vni=100" },
		  "vni: only for a physical in_port" },
		{ { "in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "sport=1" },
		  "sport: only with proto=tcp or proto=udp" },
		{ { "in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "arp_op=reply" },
		  "arp_op: only with proto=arp" },
		{ { "in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "len=41" },
		  "len: 41 is not from 42 to" },
		{ { "in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, "len=9000" },
		  "len: 9000 is not from 42 to" },
		{ { "in_port=uplink", "dst_mac=" VM1_MAC, "dst_ip=" VM1_IP, "outer_src=" TEP1 },
		  "vni: required" },
		{ { "in_port=uplink", "dst_mac=" VM1_MAC, "dst_ip=" VM1_IP, "vni=100" },
		  "outer_src: required" },
		{ { "in_port=uplink", "dst_mac=" VM1_MAC, "vni=100", "outer_src=" TEP1 },
		  "src_mac: required" },
	};
	char err[256];

	for (unsigned i = 0; i < RTE_DIM(bad); i++) {
		bool failed = trace_fails(err, sizeof(err), bad[i].args[0], bad[i].args[1],
					  bad[i].args[2], bad[i].args[3], NULL);

		CU_ASSERT(failed);
		if (!failed || strncmp(err, bad[i].error, strlen(bad[i].error)) != 0) {
			fprintf(stderr, "\n  case %u: expected error '%s...', got '%s'\n", i,
				bad[i].error, failed ? err : "(success)");
			CU_FAIL("wrong error");
		}
	}
}

static void
test_described_frames_well_formed(void)
{
	struct dp_trace_desc d;
	struct rte_mbuf *m;
	char err[256];
	const char *arp_reply[] = { "in_port=vhost1", "proto=arp", "arp_op=reply",
				    "dst_mac=" VM2_MAC, "dst_ip=" VM2_IP };
	const struct rte_arp_hdr *a;

	CU_ASSERT_FATAL(dp_trace_desc_parse(&d, arp_reply, RTE_DIM(arp_reply), find_port, err,
					    sizeof(err)) == 0);
	m = dp_trace_desc_build(&d, err, sizeof(err));
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(m->pkt_len, 42);
	a = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	CU_ASSERT(a->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY));
	CU_ASSERT(rte_is_same_ether_addr(&a->arp_data.arp_tha, &(struct rte_ether_addr){
		{ 0x02, 0, 0, 0, 0x0a, 0x02 } }));
	CU_ASSERT(a->arp_data.arp_sip == env_ip4(VM1_IP));
	rte_pktmbuf_free(m);

	/* described, the echo of test_datapath.c is its scapy reference frame byte for byte */
	{
		const char *echo[] = { "in_port=vhost1", "dst_mac=" VM2_MAC, "dst_ip=" VM2_IP,
				       "len=74" };
		struct env_frame f;

		CU_ASSERT_FATAL(dp_trace_desc_parse(&d, echo, RTE_DIM(echo), find_port, err,
						    sizeof(err)) == 0);
		m = dp_trace_desc_build(&d, err, sizeof(err));
		CU_ASSERT_FATAL(m != NULL);
		env_eth(&f, VM2_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV4);
		env_ipv4(&f, VM1_IP, VM2_IP, IPPROTO_ICMP);
		env_icmp_echo(&f, 8, 0x1234, 1);
		env_payload(&f, 32);
		env_frame_done(&f);
		CU_ASSERT(env_mbuf_equal(m, f.b, f.len, 0, 0));
		rte_pktmbuf_free(m);
	}
}

/* ---- no cost when not tracing ---- */

static void
test_workers_untouched_and_unchanged(void)
{
	struct pol_cache_stats st;
	struct env_frame f;
	json_t *j;

	/* a trace, then the worker sends the same frame for real */
	j = trace("in_port=vhost1", "dst_mac=" REM_MAC, "dst_ip=" REM_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	json_decref(j);
	CU_ASSERT(env_ctx->trace == NULL);
	env_eth(&f, REM_MAC, VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, VM1_IP, REM_IP, IPPROTO_ICMP);
	env_icmp_echo(&f, 8, 0x1234, 1);
	env_frame_done(&f);
	pol_cache_get_stats(&st);
	CU_ASSERT_EQUAL(st.entries, 0);     /* the trace decided, installed nothing */
	CU_ASSERT(rte_ring_count(dp.events) == 0);
	dp_input(env_ctx, VM1, (struct rte_mbuf *[]){ env_frame_mbuf(&f) }, 1);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 0);   /* held: no decision yet */
	CU_ASSERT_EQUAL(env_settle(), 1);
	CU_ASSERT_EQUAL(env_tx_count(PHYS), 1);
	CU_ASSERT_EQUAL(env_ctx->port[PHYS].tx_packets, 1);
	CU_ASSERT_EQUAL(env_ctx->packets, 1);
	env_tx_clear();
	env_ctx_reset();
}

static void
test_cached_decision_shown_with_policy_and_revision(void)
{
	struct pol_decision d;
	struct pol_flow_key k;
	struct rte_ether_addr s = env_mac(VM1_MAC), t = env_mac(VM2_MAC);
	json_t *j;

	pol_flow_key_mac(&k, VNI, &s, &t);
	env_decide(&k, VM1, &d);
	d.result = POL_RES_DENY;
	d.action = CTL_ACT_DENY;
	snprintf(d.policy, sizeof(d.policy), "no-vm2");
	d.policy_rev = 42;
	CU_ASSERT_FATAL(pol_decision_install(&d) == 0);
	j = trace("in_port=vhost1", "dst_mac=" VM2_MAC, "dst_ip=" VM2_IP, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(stages_are(j, "input", "parse", "port security", "lookup", "policy", "policy",
			     NULL));
	CU_ASSERT(find_step(j, 0, "lookup", "decision cached", NULL) == 3);
	CU_ASSERT(find_step(j, 0, "policy", "no-vm2: deny (revision 42)", "no path", NULL) == 4);
	CU_ASSERT(last_is_drop(j, "policy_deny"));
	CU_ASSERT_STRING_EQUAL(result(j), "dropped: policy_deny");
	json_decref(j);
}

static void
test_miss_without_decide_hook_reports_no_decision(void)
{
	int (*hook)(const struct pol_flow_key *, uint16_t, struct pol_decision *) = dp_trace_decide;
	json_t *j;

	dp_trace_decide = NULL;
	j = trace("in_port=vhost1", "dst_mac=" VM2_MAC, "dst_ip=" VM2_IP, NULL);
	dp_trace_decide = hook;
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT(find_step(j, 0, "lookup", "no decision cached", NULL) == 3);
	CU_ASSERT(last_is_drop(j, "policy_miss"));
	CU_ASSERT_EQUAL(env_ctx->n_held, 0);
	CU_ASSERT(rte_ring_count(dp.events) == 0);
	json_decref(j);
}

int
main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "vm: spoofed source MAC ends with spoof_mac", test_spoofed_source_mac_ends_with_spoof_mac_drop },
		{ "vm: unknown destination dropped, or flooded with replicas listed", test_unknown_destination_dropped_or_flooded },
		{ "vm: remote VM, encapsulation toward its TEP", test_packet_to_remote_vm_encapsulated_toward_its_tep },
		{ "vm: encapsulation failures say why", test_encapsulation_failures_say_why },
		{ "vm: local VM output on its port", test_local_vm_to_local_vm_output_on_its_port },
		{ "vm: ARP request answered locally", test_arp_request_answered_locally },
		{ "vm: unbound port, foreign source IP", test_unbound_port_and_bad_source_ip },
		{ "vm: broadcast without flooding dropped", test_broadcast_dropped_or_flooded },
		{ "net: VXLAN decapsulated and delivered", test_vxlan_from_network_decapsulated_and_delivered },
		{ "net: unknown VNI dropped", test_vxlan_with_unknown_vni_dropped },
		{ "net: not for us, outer validation", test_vxlan_not_for_us_rejected_by_outer_validation },
		{ "net: underlay ARP punt recorded, not queued", test_underlay_arp_punt_recorded_not_queued },
		{ "args: checked, errors name the key", test_arguments_checked_and_errors_name_the_key },
		{ "args: described frames well formed", test_described_frames_well_formed },
		{ "workers untouched, fast path unchanged", test_workers_untouched_and_unchanged },
		{ "policy: cached decision shown with policy and revision", test_cached_decision_shown_with_policy_and_revision },
		{ "policy: miss without decide hook, no decision", test_miss_without_decide_hook_reports_no_decision },
	};
	const struct unit_suite suite = { "trace", tests, UNIT_DIM(tests), NULL, NULL,
					  test_setup, test_teardown };
	int ret = env_init(argv[0], 1024);

	if (ret < 0) {
		fprintf(stderr, "test_trace: fixture: %s\n", strerror(-ret));
		return 1;
	}
	ret = unit_run(&suite, argc > 1 ? argv[1] : NULL);
	env_fini();
	return ret;
}
