/* In-switch service rules: compile to rte_acl, classify bursts, attach
 * to ports (see svc_acl.h).
 *
 * rte_acl matches fixed offsets of a byte string.  Frames are not
 * classified in place: IPv4 options move the ports, ICMP has none and a
 * short frame could be read past its end.  Each frame's 5-tuple is copied
 * into a 16-byte key on the worker's stack (network order, as rte_acl
 * expects its input; rule values are in host order).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_log.h>

#include "dp.h"
#include "svc_acl.h"

RTE_LOG_REGISTER_SUFFIX(svc_acl_logtype, services.acl, INFO);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svc_acl_logtype, "services: acl: " fmt "\n", ##__VA_ARGS__)

#define ACL_CHUNK 32                /* frames classified per rte_acl call */

/* What rte_acl reads for one frame.  The first field must be one byte;
 * the others are grouped in 4-byte words (input_index). */
struct acl_key {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t src;               /* network order */
	uint32_t dst;
	uint16_t sport;             /* network order; 0 when the frame has none */
	uint16_t dport;
};

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_NUM };

RTE_ACL_RULE_DEF(acl_rule5, F_NUM);

static const struct rte_acl_field_def acl_fields[F_NUM] = {
	[F_PROTO] = { RTE_ACL_FIELD_TYPE_BITMASK, 1, F_PROTO, 0, offsetof(struct acl_key, proto) },
	[F_SRC]   = { RTE_ACL_FIELD_TYPE_MASK,    4, F_SRC,   1, offsetof(struct acl_key, src) },
	[F_DST]   = { RTE_ACL_FIELD_TYPE_MASK,    4, F_DST,   2, offsetof(struct acl_key, dst) },
	[F_SPORT] = { RTE_ACL_FIELD_TYPE_RANGE,   2, F_SPORT, 3, offsetof(struct acl_key, sport) },
	[F_DPORT] = { RTE_ACL_FIELD_TYPE_RANGE,   2, F_DPORT, 3, offsetof(struct acl_key, dport) },
};

struct svc_acl *_Atomic svc_acl_ports[POL_MAX_PORTS];

static unsigned ctx_seq;            /* ctl only: rte_acl context names must be unique */

static bool
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

static int
check_prefix(const struct ctl_prefix *p)
{
	if (p->len == 0)
		return 0;
	return p->addr.family == AF_INET && p->len <= 32 ? 0 : -EINVAL;
}

/* Why rule @r cannot be compiled, or NULL. */
static const char *
rule_problem(const struct svc_acl_rule *r)
{
	const struct svc_rule *s = &r->r;
	bool any_ports = s->sport_lo == 0 && s->dport_lo == 0 &&
			 (s->sport_hi == 0 || s->sport_hi == UINT16_MAX) &&
			 (s->dport_hi == 0 || s->dport_hi == UINT16_MAX);

	if (s->dir != SVC_DIR_INGRESS && s->dir != SVC_DIR_EGRESS && s->dir != SVC_DIR_BOTH)
		return "bad direction";
	if (check_prefix(&s->src) < 0)
		return "source is not an IPv4 prefix";
	if (check_prefix(&s->dst) < 0)
		return "destination is not an IPv4 prefix";
	if (s->sport_lo > s->sport_hi || s->dport_lo > s->dport_hi)
		return "port range ends before it starts";
	/* iptables also refuses --dport without -p tcp/udp: an "any protocol"
	 * rule with ports would silently match all of ICMP. */
	if (!has_ports(s->proto) && !any_ports)
		return "ports need protocol tcp or udp";
	if (r->profile >= SVC_MAX_PROFILES)
		return "profile slot out of range";
	switch (s->action) {
	case SVC_RULE_ALLOW:
	case SVC_RULE_DROP:
		return NULL;
	case SVC_RULE_MIRROR:
	case SVC_RULE_REDIRECT:
		return r->target_port < POL_MAX_PORTS ? NULL : "target port out of range";
	default:
		return "action not supported";
	}
}

static void
prefix_field(struct rte_acl_field *f, const struct ctl_prefix *p)
{
	uint32_t a = p->len ? rte_be_to_cpu_32(p->addr.v4) : 0;

	f->value.u32 = p->len ? a & (UINT32_MAX << (32 - p->len)) : 0;
	f->mask_range.u32 = p->len;
}

static void
to_acl_rule(struct acl_rule5 *ar, const struct svc_rule *s, unsigned idx, unsigned n)
{
	bool ports = has_ports(s->proto);

	memset(ar, 0, sizeof(*ar));
	ar->data.category_mask = 1;
	ar->data.priority = (int32_t)(n - idx);   /* earlier rule, higher priority */
	ar->data.userdata = idx + 1;               /* 0 is rte_acl's "no match" */
	ar->field[F_PROTO].value.u8 = s->proto;
	ar->field[F_PROTO].mask_range.u8 = s->proto ? 0xff : 0;
	prefix_field(&ar->field[F_SRC], &s->src);
	prefix_field(&ar->field[F_DST], &s->dst);
	ar->field[F_SPORT].value.u16 = ports ? s->sport_lo : 0;
	ar->field[F_SPORT].mask_range.u16 = ports ? s->sport_hi : UINT16_MAX;
	ar->field[F_DPORT].value.u16 = ports ? s->dport_lo : 0;
	ar->field[F_DPORT].mask_range.u16 = ports ? s->dport_hi : UINT16_MAX;
}

/* Compile the rules of direction @dir into a->ctx[slot]; none: NULL. */
static int
build_dir(struct svc_acl *a, unsigned slot, enum svc_dir dir, const char *name,
	  char *err, size_t errlen)
{
	struct rte_acl_config cfg;
	struct rte_acl_param prm;
	struct acl_rule5 *ar;
	char ctx_name[RTE_ACL_NAMESIZE];
	unsigned k = 0;
	int ret;

	ar = calloc(a->n_rules ? a->n_rules : 1, sizeof(*ar));
	if (ar == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < a->n_rules; i++)
		if (a->rules[i].r.dir & dir)
			to_acl_rule(&ar[k++], &a->rules[i].r, i, a->n_rules);
	if (k == 0) {
		free(ar);
		return 0;
	}
	snprintf(ctx_name, sizeof(ctx_name), "svc%u%c-%.20s", ctx_seq++,
		 dir == SVC_DIR_INGRESS ? 'i' : 'e', name ? name : "");
	memset(&prm, 0, sizeof(prm));
	prm.name = ctx_name;
	prm.socket_id = SOCKET_ID_ANY;
	prm.rule_size = RTE_ACL_RULE_SZ(F_NUM);
	prm.max_rule_num = k;
	a->ctx[slot] = rte_acl_create(&prm);
	if (a->ctx[slot] == NULL) {
		ret = rte_errno ? -rte_errno : -ENOMEM;
		snprintf(err, errlen, "%s: cannot create an ACL context: %s", name ? name : "",
			 rte_strerror(-ret));
		goto out;
	}
	ret = rte_acl_add_rules(a->ctx[slot], (const struct rte_acl_rule *)ar, k);
	if (ret == 0) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.num_categories = 1;
		cfg.num_fields = F_NUM;
		memcpy(cfg.defs, acl_fields, sizeof(acl_fields));
		ret = rte_acl_build(a->ctx[slot], &cfg);
	}
	if (ret < 0)
		snprintf(err, errlen, "%s: %s rules do not compile: %s", name ? name : "",
			 dir == SVC_DIR_INGRESS ? "ingress" : "egress", rte_strerror(-ret));
out:
	free(ar);
	return ret;
}

int
svc_acl_build(const struct svc_acl_rule *rules, unsigned n, const char *name,
	      struct svc_acl **out, char *err, size_t errlen)
{
	struct svc_acl *a;
	int ret;

	if (n > SVC_ACL_MAX_RULES) {
		snprintf(err, errlen, "%u rules, at most %u per port", n, SVC_ACL_MAX_RULES);
		return -E2BIG;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *why = rule_problem(&rules[i]);

		if (why != NULL) {
			snprintf(err, errlen, "rule %u: %s", i + 1, why);
			return -EINVAL;
		}
	}
	a = calloc(1, sizeof(*a) + (size_t)n * sizeof(a->rules[0]));
	if (a == NULL)
		return -ENOMEM;
	a->n_rules = n;
	if (n > 0)
		memcpy(a->rules, rules, n * sizeof(rules[0]));
	ret = build_dir(a, 0, SVC_DIR_INGRESS, name, err, errlen);
	if (ret == 0)
		ret = build_dir(a, 1, SVC_DIR_EGRESS, name, err, errlen);
	if (ret < 0) {
		svc_acl_free(a);
		return ret;
	}
	*out = a;
	return 0;
}

void
svc_acl_free(struct svc_acl *a)
{
	if (a == NULL)
		return;
	rte_acl_free(a->ctx[0]);
	rte_acl_free(a->ctx[1]);
	free(a);
}

/* The 5-tuple of @m into @k; false when @m is not (readable) IPv4. */
static inline bool
acl_key(struct rte_mbuf *m, struct acl_key *k)
{
	const struct dp_meta *md = dp_meta(m);
	const struct rte_ipv4_hdr *ip;
	uint32_t ihl;

	if (md->ether_type != RTE_ETHER_TYPE_IPV4 ||
	    m->data_len < (uint32_t)md->l3_off + sizeof(*ip))
		return false;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, md->l3_off);
	ihl = rte_ipv4_hdr_len(ip);
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip))
		return false;
	memset(k, 0, sizeof(*k));
	k->proto = ip->next_proto_id;
	k->src = ip->src_addr;
	k->dst = ip->dst_addr;
	/* Only a first fragment carries the ports. */
	if (has_ports(k->proto) &&
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) == 0 &&
	    m->data_len >= md->l3_off + ihl + 2 * sizeof(uint16_t))
		memcpy(&k->sport, (const uint8_t *)ip + ihl, 2 * sizeof(uint16_t));
	return true;
}

void
svc_acl_classify(const struct svc_acl *a, enum svc_dir dir, struct rte_mbuf **pkts,
		 uint16_t n, int32_t *rule_idx)
{
	const struct rte_acl_ctx *ctx = a->ctx[dir == SVC_DIR_INGRESS ? 0 : 1];
	struct acl_key keys[ACL_CHUNK];
	const uint8_t *data[ACL_CHUNK];
	uint32_t res[ACL_CHUNK];
	uint16_t at[ACL_CHUNK];          /* data[j] is the key of pkts[at[j]] */

	for (uint16_t i = 0; i < n; i++)
		rule_idx[i] = -1;
	if (ctx == NULL)
		return;
	for (uint16_t base = 0; base < n; base += ACL_CHUNK) {
		uint16_t len = RTE_MIN(n - base, ACL_CHUNK), nk = 0;

		for (uint16_t i = 0; i < len; i++) {
			if (!acl_key(pkts[base + i], &keys[nk]))
				continue;
			data[nk] = (const uint8_t *)&keys[nk];
			at[nk++] = base + i;
		}
		if (nk == 0 || rte_acl_classify(ctx, data, res, nk, 1) != 0)
			continue;
		for (uint16_t j = 0; j < nk; j++)
			if (res[j] != 0)
				rule_idx[at[j]] = (int32_t)res[j] - 1;
	}
}

/* --- attachment --- */

static void
acl_free_cb(void *p)
{
	svc_acl_free(p);
}

void
svc_acl_port_set(uint16_t port, struct svc_acl *a)
{
	struct svc_acl *old;

	if (port >= POL_MAX_PORTS) {
		LOG(ERR, "port index %u out of range: rules not attached", port);
		svc_acl_free(a);
		return;
	}
	old = atomic_exchange_explicit(&svc_acl_ports[port], a, memory_order_acq_rel);
	pol_defer_free(acl_free_cb, old);
}

void
svc_acl_ports_clear(void)
{
	for (unsigned i = 0; i < POL_MAX_PORTS; i++)
		if (atomic_load_explicit(&svc_acl_ports[i], memory_order_relaxed) != NULL)
			svc_acl_port_set(i, NULL);
}
