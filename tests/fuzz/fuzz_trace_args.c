/* fuzz_trace_args: the `trace` command's words into the packet description
 * parser, dp_trace_desc_parse(), and -- when they parse -- the dry run it
 * feeds, dp_trace_desc_run(), on the datapath topology of fuzz_common.h.
 *
 * Input: text split on spaces into words ("key=value").  Invariants: a
 * rejected description says why; a dry run sends nothing, punts nothing,
 * moves no counter of the worker and hands every mbuf back to the pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_ring.h>

#include "dp_test_env.h"
#include "dp_trace.h"
#include "fuzz_common.h"

#define MAX_WORDS (DP_TRACE_K_MAX + 4)

static struct dp_lcore worker_before;

static int
write_seeds(const char *dir)
{
	static const char *const args[][2] = {
		{ "vm-icmp", "in_port=vhost1 dst_mac=" FUZZ_VM2_MAC " dst_ip=" FUZZ_VM2_IP },
		{ "vm-udp-remote", "in_port=vhost1 dst_mac=" FUZZ_REM_MAC " proto=udp sport=5000 "
		  "dport=53 len=200" },
		{ "vm-arp", "in_port=vhost2 proto=arp arp_op=request dst_ip=" FUZZ_VM1_IP },
		{ "vm-spoof", "in_port=vhost3 src_mac=02:00:00:00:0f:0f src_ip=10.9.9.9 proto=tcp" },
		{ "net-vxlan", "in_port=uplink vni=100 outer_src=" FUZZ_TEP1 " src_mac="
		  FUZZ_REM_MAC " dst_mac=" FUZZ_VM1_MAC " dst_ip=" FUZZ_VM1_IP },
		{ "net-bad", "in_port=uplink vni=300 len=1600" },
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		rc |= fuzz_seed_file(dir, args[i][0], args[i][1], strlen(args[i][1]));
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seed_mode(*argc, *argv, write_seeds);
	fuzz_dp_init((*argv)[0]);
	memcpy(&worker_before, env_ctx, sizeof(worker_before));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *words[MAX_WORDS];
	char err[256], *text, *p;
	struct dp_trace_desc d;
	unsigned n = 0;
	json_t *j;

	if (size > 4096)
		return -1;
	text = malloc(size + 1);
	if (text == NULL)
		return -1;
	memcpy(text, data, size);
	text[size] = '\0';
	/* the CLI splits on spaces; the socket hands the words over as strings */
	for (p = strtok(text, " "); p != NULL && n < MAX_WORDS; p = strtok(NULL, " "))
		words[n++] = p;

	memset(err, 0x55, sizeof(err));
	if (dp_trace_desc_parse(&d, words, n, fuzz_dp_port_find, err, sizeof(err)) < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		free(text);
		return 0;
	}
	memset(err, 0x55, sizeof(err));
	j = dp_trace_desc_run(&d, err, sizeof(err));
	if (j == NULL)
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
	else
		FUZZ_CHECK(json_is_array(json_object_get(j, "steps")) &&
			   json_is_string(json_object_get(j, "result")));
	json_decref(j);
	free(text);

	/* The dry run left no trace of its own. */
	FUZZ_CHECK(env_tx_total() == 0);
	FUZZ_CHECK(rte_ring_count(dp.punt) == 0);
	FUZZ_CHECK(memcmp(&worker_before, env_ctx, sizeof(worker_before)) == 0);
	if (env_pool_in_use() != fuzz_dp_pool_baseline())
		fuzz_fail("mbuf leak: %u in use after the trace, %u before", env_pool_in_use(),
			  fuzz_dp_pool_baseline());
	return 0;
}
