/* Switch-to-switch notification wire format (pol_notify.h).  Pure: the
 * receiver decodes bytes from any host on the underlay, so every field is
 * checked before anything is believed. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pol_notify.h"

static const uint8_t magic[4] = { 'D', 'V', 'S', 'N' };

enum {
	OFF_MAGIC = 0, OFF_VERSION = 4, OFF_TYPE = 5, OFF_LENGTH = 6, OFF_TEP = 8,
	OFF_VNI = 12, OFF_MAC = 16, OFF_RESERVED = 22, OFF_REVISION = 24,
};

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool
mac_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

/* What each type requires of the other fields: so that whatever one
 * switch encodes, another decodes. */
static bool
consistent(const struct pol_notify *n)
{
	if (n->vni > 0xffffff)
		return false;
	if (n->type == POL_NOTIFY_MOVED)
		return !mac_zero(n->mac) && n->revision == 0;
	return n->vni == 0 && mac_zero(n->mac);
}

int
pol_notify_encode(const struct pol_notify *n, uint8_t *buf, size_t len)
{
	if (buf == NULL || len < POL_NOTIFY_LEN ||
	    (n->type != POL_NOTIFY_MOVED && n->type != POL_NOTIFY_STALE_POLICY) || !consistent(n))
		return -EINVAL;
	memset(buf, 0, POL_NOTIFY_LEN);
	memcpy(buf + OFF_MAGIC, magic, sizeof(magic));
	buf[OFF_VERSION] = POL_NOTIFY_VERSION;
	buf[OFF_TYPE] = (uint8_t)n->type;
	buf[OFF_LENGTH + 1] = POL_NOTIFY_LEN;
	memcpy(buf + OFF_TEP, &n->sender_tep, 4);     /* already network order */
	put32(buf + OFF_VNI, n->vni);
	memcpy(buf + OFF_MAC, n->mac, 6);
	put32(buf + OFF_REVISION, (uint32_t)(n->revision >> 32));
	put32(buf + OFF_REVISION + 4, (uint32_t)n->revision);
	return POL_NOTIFY_LEN;
}

int
pol_notify_decode(const uint8_t *buf, size_t len, struct pol_notify *n)
{
	struct pol_notify d;

	/* Version before size: a later version may well be longer. */
	if (buf == NULL || len < OFF_TYPE || memcmp(buf + OFF_MAGIC, magic, sizeof(magic)) != 0)
		return -EBADMSG;
	if (buf[OFF_VERSION] != POL_NOTIFY_VERSION)
		return -EPROTONOSUPPORT;
	if (len != POL_NOTIFY_LEN)
		return -EBADMSG;
	if (buf[OFF_TYPE] != POL_NOTIFY_MOVED && buf[OFF_TYPE] != POL_NOTIFY_STALE_POLICY)
		return -EPROTONOSUPPORT;
	if (buf[OFF_LENGTH] != 0 || buf[OFF_LENGTH + 1] != POL_NOTIFY_LEN ||
	    buf[OFF_RESERVED] != 0 || buf[OFF_RESERVED + 1] != 0)
		return -EBADMSG;
	memset(&d, 0, sizeof(d));
	d.type = (enum pol_notify_type)buf[OFF_TYPE];
	memcpy(&d.sender_tep, buf + OFF_TEP, 4);
	d.vni = get32(buf + OFF_VNI);
	memcpy(d.mac, buf + OFF_MAC, 6);
	d.revision = (uint64_t)get32(buf + OFF_REVISION) << 32 | get32(buf + OFF_REVISION + 4);
	if (!consistent(&d))
		return -EBADMSG;
	if (n != NULL)
		*n = d;
	return 0;
}

const char *
pol_notify_type_name(enum pol_notify_type t)
{
	switch (t) {
	case POL_NOTIFY_MOVED: return "moved";
	case POL_NOTIFY_STALE_POLICY: return "stale_policy";
	}
	return "?";
}
