/* fuzz_vm_input: one frame from a VM through the VM input path.
 *
 * Input: byte 0 picks the vhost port (vhost1..4 of the topology in
 * fuzz_common.h), the rest is the Ethernet frame.  dp_input() runs parse,
 * port security, ARP proxy, L2 lookup, flooding and VXLAN encapsulation;
 * fuzz_dp_frame() checks the accounting and the pool after each frame.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>

#include "dp_test_env.h"
#include "fuzz_common.h"

/* Seed: port selector @port_byte, then frame @f. */
static int
seed(const char *dir, const char *name, uint8_t port_byte, const struct env_frame *f)
{
	uint8_t b[1 + ENV_FRAME_MAX];

	b[0] = port_byte;
	memcpy(b + 1, f->b, f->len);
	return fuzz_seed_file(dir, name, b, 1 + f->len);
}

static int
write_seeds(const char *dir)
{
	struct env_frame f;
	int rc = 0;

	/* vm1 -> vm2, local ICMP echo */
	env_eth(&f, FUZZ_VM2_MAC, FUZZ_VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, FUZZ_VM1_IP, FUZZ_VM2_IP, IPPROTO_ICMP);
	env_icmp_echo(&f, 8, 1, 1);
	env_payload(&f, 32);
	env_frame_done(&f);
	rc |= seed(dir, "icmp-local", 0, &f);
	/* vm1 -> rem, encapsulated toward TEP1 */
	env_eth(&f, FUZZ_REM_MAC, FUZZ_VM1_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, FUZZ_VM1_IP, FUZZ_REM_IP, IPPROTO_UDP);
	env_udp(&f, 5000, 53);
	env_payload(&f, 16);
	env_frame_done(&f);
	rc |= seed(dir, "udp-remote", 0, &f);
	/* vm1 asks for vm2's address: answered by the proxy */
	env_eth(&f, "ff:ff:ff:ff:ff:ff", FUZZ_VM1_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, RTE_ARP_OP_REQUEST, FUZZ_VM1_MAC, FUZZ_VM1_IP, NULL, FUZZ_VM2_IP);
	rc |= seed(dir, "arp-request", 0, &f);
	/* vm1 asks for an address nobody owns: blue floods it */
	env_eth(&f, "ff:ff:ff:ff:ff:ff", FUZZ_VM1_MAC, RTE_ETHER_TYPE_ARP);
	env_arp(&f, RTE_ARP_OP_REQUEST, FUZZ_VM1_MAC, FUZZ_VM1_IP, NULL, "10.0.0.99");
	rc |= seed(dir, "arp-flood", 0, &f);
	/* vm1 IPv6 from its own address to a multicast group */
	env_eth(&f, "33:33:00:00:00:01", FUZZ_VM1_MAC, RTE_ETHER_TYPE_IPV6);
	env_ipv6(&f, "fd00::1", "ff02::1", IPPROTO_UDP);
	env_udp(&f, 546, 547);
	env_frame_done(&f);
	rc |= seed(dir, "ipv6-multicast", 0, &f);
	/* vm3 (red, no flooding) -> rem2 behind TEP 192.0.2.3 */
	env_eth(&f, "02:00:00:00:0b:02", FUZZ_VM3_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, FUZZ_VM3_IP, "10.1.0.2", IPPROTO_ICMP);
	env_icmp_echo(&f, 8, 7, 1);
	env_frame_done(&f);
	rc |= seed(dir, "icmp-red-remote", 2, &f);
	/* vm2 DHCP discover, before it has an address */
	env_eth(&f, "ff:ff:ff:ff:ff:ff", FUZZ_VM2_MAC, RTE_ETHER_TYPE_IPV4);
	env_ipv4(&f, "0.0.0.0", "255.255.255.255", IPPROTO_UDP);
	env_udp(&f, 68, 67);
	env_payload(&f, 240);
	env_frame_done(&f);
	rc |= seed(dir, "dhcp-discover", 1, &f);
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
	if (size < 1)
		return -1;
	fuzz_dp_frame(FUZZ_VHOST_FIRST + data[0] % FUZZ_N_VHOST, data + 1, size - 1);
	return 0;
}
