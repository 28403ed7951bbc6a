/* Switch-to-switch notifications (D5, D8; docs/policy.md).
 *
 * A destination switch tells an originating switch that what it used is
 * stale: the endpoint it sent to is not here (MOVED), or it decided under
 * an older policy revision than ours (STALE_POLICY).  One UDP datagram on
 * the underlay, to policy.notify_port.  A receiver treats it as a hint
 * only: it invalidates and refetches from the policy service; it never
 * installs a location or a policy from it.
 *
 * Wire format (network byte order), exactly POL_NOTIFY_LEN bytes:
 *   0  magic "DVSN"          4  version (1)   5  type   6  length (32)
 *   8  sender TEP (IPv4)    12  VNI (low 24 bits; 0 for STALE_POLICY)
 *  16  MAC (6 bytes; 0 for STALE_POLICY)   22  reserved (2, zero)
 *  24  revision (64 bits; the sender's policy revision, 0 for MOVED)
 */
#ifndef POL_NOTIFY_H
#define POL_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#define POL_NOTIFY_LEN 32
#define POL_NOTIFY_VERSION 1
#define POL_NOTIFY_DEFAULT_PORT 4799

enum pol_notify_type {
	POL_NOTIFY_MOVED = 1,          /* endpoint (vni, mac) does not live here */
	POL_NOTIFY_STALE_POLICY = 2,   /* my policy revision is .revision */
};

struct pol_notify {
	enum pol_notify_type type;
	uint32_t sender_tep;           /* network order */
	uint32_t vni;
	uint8_t mac[6];
	uint64_t revision;
};

/* Encode @n into @buf (@len >= POL_NOTIFY_LEN).  Returns POL_NOTIFY_LEN
 * or -EINVAL (bad type or VNI, buffer too small). */
int pol_notify_encode(const struct pol_notify *n, uint8_t *buf, size_t len);

/* Decode and validate a datagram payload.  Returns 0, -EBADMSG (wrong
 * size, magic, length, reserved bits or fields inconsistent with the
 * type) or -EPROTONOSUPPORT (other version or unknown type). */
int pol_notify_decode(const uint8_t *buf, size_t len, struct pol_notify *n);

const char *pol_notify_type_name(enum pol_notify_type t);

#endif
