/* fuzz_notify: bytes from any host on the underlay into the notification
 * decoder, pol_notify_decode(), and -- read as a whole punted frame -- into
 * the receiver's frame check, ctl_notify_parse().
 *
 * Invariants: a datagram is accepted only at exactly POL_NOTIFY_LEN bytes,
 * with fields consistent with its type, and re-encodes to the same bytes
 * (so nothing in it is silently ignored); a rejection is -EBADMSG or
 * -EPROTONOSUPPORT and leaves the output untouched; the frame check never
 * reads past the frame (ASan) and agrees with the decoder on the payload.
 */
#include <errno.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "ctl_notify.h"
#include "fuzz_common.h"
#include "pol_notify.h"

/* A whole punted frame around @payload: Ethernet, IPv4 from the sender,
 * UDP 4799 -> 4799 with its checksum. */
static int
seed_frame(const char *dir, const char *name, const uint8_t payload[POL_NOTIFY_LEN])
{
	struct {
		struct rte_ether_hdr eh;
		struct rte_ipv4_hdr ip;
		struct rte_udp_hdr udp;
		uint8_t payload[POL_NOTIFY_LEN];
	} __attribute__((packed)) f;

	memset(&f, 0, sizeof(f));
	f.eh.dst_addr = (struct rte_ether_addr){{ 0x02, 0, 0, 0, 0, 0xaa }};
	f.eh.src_addr = (struct rte_ether_addr){{ 0x02, 0, 0, 0, 0, 0xbb }};
	f.eh.ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	f.ip.version_ihl = RTE_IPV4_VHL_DEF;
	f.ip.total_length = rte_cpu_to_be_16(sizeof(f) - sizeof(f.eh));
	f.ip.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	f.ip.time_to_live = 64;
	f.ip.next_proto_id = IPPROTO_UDP;
	memcpy(&f.ip.src_addr, payload + 8, 4);      /* the sender TEP */
	f.ip.dst_addr = RTE_BE32(0xc0000201);
	f.ip.hdr_checksum = rte_ipv4_cksum(&f.ip);
	f.udp.src_port = f.udp.dst_port = RTE_BE16(POL_NOTIFY_DEFAULT_PORT);
	f.udp.dgram_len = rte_cpu_to_be_16(sizeof(f.udp) + POL_NOTIFY_LEN);
	memcpy(f.payload, payload, POL_NOTIFY_LEN);
	f.udp.dgram_cksum = rte_ipv4_udptcp_cksum(&f.ip, &f.udp);
	return fuzz_seed_file(dir, name, &f, sizeof(f));
}

static int
write_seeds(const char *dir)
{
	struct pol_notify moved = { .type = POL_NOTIFY_MOVED, .sender_tep = 0x020200c0,
				    .vni = 100, .mac = { 0x02, 0, 0, 0, 0x0a, 0x01 } };
	struct pol_notify stale = { .type = POL_NOTIFY_STALE_POLICY, .sender_tep = 0x030200c0,
				    .revision = 123456789 };
	uint8_t b[POL_NOTIFY_LEN];
	int rc = 0;

	if (pol_notify_encode(&moved, b, sizeof(b)) != POL_NOTIFY_LEN)
		return -1;
	rc |= fuzz_seed_file(dir, "moved", b, sizeof(b));
	if (pol_notify_encode(&stale, b, sizeof(b)) != POL_NOTIFY_LEN)
		return -1;
	rc |= fuzz_seed_file(dir, "stale-policy", b, sizeof(b));
	rc |= seed_frame(dir, "frame-stale-policy", b);
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seed_mode(*argc, *argv, write_seeds);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_notify n, before;
	uint8_t again[POL_NOTIFY_LEN];
	uint32_t src;
	int rc, frc;

	memset(&n, 0xa5, sizeof(n));
	before = n;
	rc = pol_notify_decode(data, size, &n);
	if (rc == 0) {
		FUZZ_CHECK(size == POL_NOTIFY_LEN);
		FUZZ_CHECK(n.type == POL_NOTIFY_MOVED || n.type == POL_NOTIFY_STALE_POLICY);
		FUZZ_CHECK(n.vni <= 0xffffff);
		FUZZ_CHECK(pol_notify_encode(&n, again, sizeof(again)) == POL_NOTIFY_LEN);
		FUZZ_CHECK(memcmp(again, data, POL_NOTIFY_LEN) == 0);
	} else {
		FUZZ_CHECK(rc == -EBADMSG || rc == -EPROTONOSUPPORT);
		FUZZ_CHECK(memcmp(&n, &before, sizeof(n)) == 0);
	}

	/* The same bytes as a frame the worker punted. */
	frc = ctl_notify_parse(data, size, &src, &n);
	FUZZ_CHECK(frc == 0 || frc == -EBADMSG || frc == -EPROTONOSUPPORT);
	if (frc == 0) {
		size_t payload = 14 + (size_t)(data[14] & 0xf) * 4 + 8;   /* Ethernet, IPv4, UDP */

		FUZZ_CHECK(payload + POL_NOTIFY_LEN <= size);
		FUZZ_CHECK(pol_notify_encode(&n, again, sizeof(again)) == POL_NOTIFY_LEN &&
			   memcmp(again, data + payload, POL_NOTIFY_LEN) == 0);
	}
	return 0;
}
