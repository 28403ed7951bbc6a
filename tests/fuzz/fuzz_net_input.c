/* fuzz_net_input: one frame from the underlay through the network input
 * path (underlay validation, VXLAN decapsulation, delivery).
 *
 * Input: byte 0 is a mode, the rest a frame.  Mode bit 0 set: the rest is
 * the inner frame, wrapped here in a valid outer Ethernet/IPv4/UDP/VXLAN
 * header from TEP1 addressed to us (bit 1 picks the VNI: blue or red), so
 * the fuzzer starts past the outer checks.  Bit 0 clear: the rest is the
 * whole frame as it came off the wire.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dp_test_env.h"
#include "fuzz_common.h"

#define MODE_WRAP 0x01
#define MODE_RED  0x02

/* The outer headers around @inner as TEP1 would send it, in @f. */
static void
wrap(struct env_frame *f, uint32_t vni, const uint8_t *inner, size_t len)
{
	env_eth(f, FUZZ_PHYS_MAC, "02:00:00:00:00:bb", RTE_ETHER_TYPE_IPV4);
	env_ipv4(f, FUZZ_TEP1, FUZZ_LOCAL_TEP, IPPROTO_UDP);
	env_udp(f, 49152, 4789);
	env_vxlan(f, 0x08, vni);
	env_put(f, inner, len);
	env_frame_done(f);
}

static int
seed(const char *dir, const char *name, uint8_t mode, const struct env_frame *f)
{
	uint8_t b[1 + ENV_FRAME_MAX];

	b[0] = mode;
	memcpy(b + 1, f->b, f->len);
	return fuzz_seed_file(dir, name, b, 1 + f->len);
}

static int
write_seeds(const char *dir)
{
	struct env_frame f, outer;
	int rc = 0;

	/* rem -> vm1 ICMP echo, inner only */
	env_eth(&f, FUZZ_VM1_MAC, FUZZ_REM_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, FUZZ_REM_IP, FUZZ_VM1_IP, IPPROTO_ICMP);
	env_icmp_echo(&f, 8, 1, 1);
	env_payload(&f, 32);
	env_frame_done(&f);
	rc |= seed(dir, "wrapped-icmp", MODE_WRAP, &f);
	/* the same, whole VXLAN frame from TEP1 */
	wrap(&outer, FUZZ_VNI_BLUE, f.b, f.len);
	rc |= seed(dir, "vxlan-icmp", 0, &outer);
	/* rem asks for vm1's address (broadcast, delivered to the owner only) */
	env_eth(&f, "ff:ff:ff:ff:ff:ff", FUZZ_REM_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, RTE_ARP_OP_REQUEST, FUZZ_REM_MAC, FUZZ_REM_IP, NULL, FUZZ_VM1_IP);
	rc |= seed(dir, "wrapped-arp-request", MODE_WRAP, &f);
	wrap(&outer, FUZZ_VNI_BLUE, f.b, f.len);
	rc |= seed(dir, "vxlan-arp-request", 0, &outer);
	/* broadcast in red (no flooding) */
	env_eth(&f, "ff:ff:ff:ff:ff:ff", "02:00:00:00:0b:02", RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, "10.1.0.2", "10.1.0.255", IPPROTO_UDP);
	env_udp(&f, 137, 137);
	env_payload(&f, 8);
	env_frame_done(&f);
	rc |= seed(dir, "wrapped-red-broadcast", MODE_WRAP | MODE_RED, &f);
	/* underlay ARP for our address: punted to the control thread */
	env_eth(&f, "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:bb", RTE_ETHER_TYPE_ARP);
	env_arp(&f, RTE_ARP_OP_REQUEST, "02:00:00:00:00:bb", FUZZ_TEP1, NULL, FUZZ_LOCAL_TEP);
	rc |= seed(dir, "underlay-arp", 0, &f);
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seed_mode(*argc, *argv, write_seeds);
	fuzz_dp_init((*argv)[0]);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct env_frame f;
	size_t room = ENV_FRAME_MAX - DP_VXLAN_HLEN;

	if (size < 1)
		return -1;
	if (!(data[0] & MODE_WRAP)) {
		fuzz_dp_frame(FUZZ_PHYS, data + 1, size - 1);
		return 0;
	}
	wrap(&f, data[0] & MODE_RED ? FUZZ_VNI_RED : FUZZ_VNI_BLUE, data + 1,
	     size - 1 < room ? size - 1 : room);
	fuzz_dp_frame(FUZZ_PHYS, f.b, f.len);
	return 0;
}
