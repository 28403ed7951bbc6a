/* Unit tests of the configuration as the running switch uses it
 * (src/ctl/ctl_config.c): copies, validation of configurations built in
 * memory, the restart rule and the state file.
 *
 * Configurations are loaded from YAML, then changed in memory the way a
 * control command would, so every rule is seen without a document.  State
 * files live in a fresh directory under /tmp, removed at the end.  Run under
 * ASan: every failed load must leave the configuration as it was and free
 * everything it built.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

#include "ctl_config.h"
#include "ctl_proto.h"

static void check_(int ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An assertion whose failure text carries the values seen (CUnit copies it). */
static void check_(int ok, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, __FILE__, "",
				CU_FALSE);
}

/* Every kind of value: a gateway, both vhost modes, IPv6, flood, local and
 * remote endpoints, the same MAC and address in two networks. */
static const char base_yaml[] =
	"workers: {lcores: [1]}\n"
	"physical_ports:\n"
	"  - {name: ul0, devargs: net_null0, ip: 192.0.2.1/24, gateway: 192.0.2.254, mtu: 1500}\n"
	"vhost_ports:\n"
	"  - {name: v1, socket: /tmp/v1.sock}\n"
	"  - {name: v2, socket: /tmp/v2.sock, mode: server, queues: 4, vm: 'vm #2: test'}\n"
	"virtual_networks:\n"
	"  - {name: blue, vni: 100, subnets: [10.0.0.0/24, '2001:db8::/64'], flood: true}\n"
	"  - {name: red, vni: 200}\n"
	"endpoints:\n"
	"  - {name: a1, mac: '02:00:00:00:0a:01', ips: [10.0.0.1, '2001:db8::1'], vnet: blue,"
	" port: v1}\n"
	"  - {name: a2, mac: '02:00:00:00:0a:02', ips: [10.0.0.2], vnet: blue, port: v2}\n"
	"  - {name: a3, mac: '02:00:00:00:0a:03', ips: [10.0.0.3], vnet: blue, tep: 192.0.2.2}\n"
	"  - {name: r1, mac: '02:00:00:00:0a:01', ips: [10.0.0.1, 10.0.0.9, '2001:db8::9',"
	" 172.16.0.1], vnet: red, tep: 198.51.100.7}\n";

static char tmpdir[64];   /* this run's scratch directory */

static struct ctl_config *load_(const char *text, int line)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg = ctl_config_load("base.yaml", text, err, sizeof(err));

	check_(cfg != NULL, line, "load should succeed, got: %s", err);
	return cfg;
}
#define LOAD(text) load_((text), __LINE__)

static void path_in(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", tmpdir, rel);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int suite_init(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config_state_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- comparing configurations -------------------------------------------- */

static int ip_eq(const struct ctl_ip *a, const struct ctl_ip *b)
{
	if (a->family != b->family)
		return 0;
	return a->family == AF_INET ? a->v4 == b->v4 : !memcmp(a->v6, b->v6, 16);
}

/* The live sections of @a and @b hold the same values, field by field. */
static void expect_same_live_(const struct ctl_config *a, const struct ctl_config *b, int line)
{
	check_(a->n_vhost == b->n_vhost && a->n_vnets == b->n_vnets &&
	       a->n_endpoints == b->n_endpoints, line, "counts differ: %u/%u/%u vs %u/%u/%u",
	       a->n_vhost, a->n_vnets, a->n_endpoints, b->n_vhost, b->n_vnets, b->n_endpoints);
	if (a->n_vhost != b->n_vhost || a->n_vnets != b->n_vnets ||
	    a->n_endpoints != b->n_endpoints)
		return;
	for (unsigned i = 0; i < a->n_vhost; i++) {
		const struct ctl_vhost_port *x = &a->vhost[i], *y = &b->vhost[i];

		check_(!strcmp(x->name, y->name) && !strcmp(x->socket, y->socket) &&
		       x->mode == y->mode && x->queues == y->queues && !strcmp(x->vm, y->vm),
		       line, "vhost port %u differs: %s/%s", i, x->name, y->name);
	}
	for (unsigned i = 0; i < a->n_vnets; i++) {
		const struct ctl_vnet *x = &a->vnets[i], *y = &b->vnets[i];
		int same = !strcmp(x->name, y->name) && x->vni == y->vni &&
			   x->n_subnets == y->n_subnets && x->flood == y->flood;

		for (unsigned s = 0; same && s < x->n_subnets; s++)
			same = ip_eq(&x->subnets[s].addr, &y->subnets[s].addr) &&
			       x->subnets[s].len == y->subnets[s].len;
		check_(same, line, "virtual network %u differs: %s/%s", i, x->name, y->name);
	}
	for (unsigned i = 0; i < a->n_endpoints; i++) {
		const struct ctl_endpoint *x = &a->endpoints[i], *y = &b->endpoints[i];
		int same = !strcmp(x->name, y->name) && !memcmp(x->mac, y->mac, 6) &&
			   x->n_ips == y->n_ips && !strcmp(x->vnet, y->vnet) &&
			   x->where == y->where && !strcmp(x->port, y->port) && x->tep == y->tep;

		for (unsigned j = 0; same && j < x->n_ips; j++)
			same = ip_eq(&x->ips[j], &y->ips[j]);
		check_(same, line, "endpoint %u differs: %s/%s", i, x->name, y->name);
	}
}
#define EXPECT_SAME_LIVE(a, b) expect_same_live_((a), (b), __LINE__)

/* A byte-for-byte picture of a configuration and the arrays it owns. */
struct snap {
	struct ctl_config top;
	void *vnets, *endpoints;
};

static void snap_take(struct snap *s, const struct ctl_config *cfg)
{
	s->top = *cfg;
	s->vnets = malloc(cfg->n_vnets * sizeof(*cfg->vnets) + 1);
	s->endpoints = malloc(cfg->n_endpoints * sizeof(*cfg->endpoints) + 1);
	CU_ASSERT_FATAL(s->vnets != NULL && s->endpoints != NULL);
	if (cfg->n_vnets)
		memcpy(s->vnets, cfg->vnets, cfg->n_vnets * sizeof(*cfg->vnets));
	if (cfg->n_endpoints)
		memcpy(s->endpoints, cfg->endpoints, cfg->n_endpoints * sizeof(*cfg->endpoints));
}

static int snap_same(const struct snap *s, const struct ctl_config *cfg)
{
	if (memcmp(&s->top, cfg, sizeof(*cfg)))
		return 0;
	return (cfg->n_vnets == 0 ||
		!memcmp(s->vnets, cfg->vnets, cfg->n_vnets * sizeof(*cfg->vnets))) &&
	       (cfg->n_endpoints == 0 ||
		!memcmp(s->endpoints, cfg->endpoints, cfg->n_endpoints * sizeof(*cfg->endpoints)));
}

static void snap_free(struct snap *s)
{
	free(s->vnets);
	free(s->endpoints);
}

/* ---- dup ------------------------------------------------------------------ */

static void test_dup_deep(void)
{
	struct ctl_config *cfg = LOAD(base_yaml), *d;

	if (cfg == NULL)
		return;
	d = ctl_config_dup(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_EQUAL(d->file, cfg->file);
	CU_ASSERT_STRING_EQUAL(d->file, cfg->file);
	CU_ASSERT_PTR_NOT_EQUAL(d->vnets, cfg->vnets);
	CU_ASSERT_PTR_NOT_EQUAL(d->endpoints, cfg->endpoints);
	EXPECT_SAME_LIVE(cfg, d);
	CU_ASSERT_EQUAL(memcmp(&d->eal, &cfg->eal, sizeof(d->eal)), 0);
	CU_ASSERT_EQUAL(memcmp(&d->workers, &cfg->workers, sizeof(d->workers)), 0);
	CU_ASSERT_STRING_EQUAL(d->state_dir, cfg->state_dir);
	CU_ASSERT_EQUAL(ctl_config_restart_needed(cfg, d, NULL, 0), 0);
	/* Positions name the copy's own file string. */
	CU_ASSERT_PTR_EQUAL(d->phys[0].file, d->file);
	CU_ASSERT_PTR_EQUAL(d->vhost[1].file, d->file);
	CU_ASSERT_PTR_EQUAL(d->vnets[1].file, d->file);
	for (unsigned i = 0; i < d->n_endpoints; i++)
		CU_ASSERT_PTR_EQUAL(d->endpoints[i].file, d->file);
	CU_ASSERT_EQUAL(d->endpoints[2].line, cfg->endpoints[2].line);

	/* Independent: changing or freeing one leaves the other intact. */
	d->endpoints[0].name[0] = 'X';
	d->vnets[0].vni = 999;
	d->file[0] = '#';
	CU_ASSERT_STRING_EQUAL(cfg->endpoints[0].name, "a1");
	CU_ASSERT_EQUAL(cfg->vnets[0].vni, 100);
	CU_ASSERT_STRING_EQUAL(cfg->file, "base.yaml");
	ctl_config_free(cfg);
	CU_ASSERT_EQUAL(d->endpoints[1].name[1], '2');
	CU_ASSERT_EQUAL(d->phys[0].file[0], '#');
	ctl_config_free(d);
}

static void test_dup_empty(void)
{
	struct ctl_config *cfg = LOAD("workers: {lcores: [1]}\n"), *d;

	if (cfg == NULL)
		return;
	d = ctl_config_dup(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NULL(d->vnets);
	CU_ASSERT_PTR_NULL(d->endpoints);
	CU_ASSERT_EQUAL(ctl_config_validate(d, NULL, 0), 0);
	ctl_config_free(d);
	ctl_config_free(cfg);
	errno = 0;
	CU_ASSERT_PTR_NULL(ctl_config_dup(NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
}

/* ---- validate ------------------------------------------------------------- */

static void test_validate_accepts_loaded(void)
{
	char err[CTL_ERR_MAX] = "x";
	struct ctl_config *cfg = LOAD(base_yaml), *def;
	struct snap s;

	if (cfg == NULL)
		return;
	snap_take(&s, cfg);
	CU_ASSERT_EQUAL(ctl_config_validate(cfg, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_TRUE(snap_same(&s, cfg));
	snap_free(&s);
	ctl_config_free(cfg);

	def = ctl_config_load(NULL, ctl_config_default_yaml, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(def);
	CU_ASSERT_EQUAL(ctl_config_validate(def, err, sizeof(err)), 0);
	/* An element added in memory has no position: that is fine. */
	def->vhost[def->n_vhost] = (struct ctl_vhost_port){ .name = "new", .socket = "/tmp/new",
							    .mode = CTL_VHOST_CLIENT, .queues = 1,
							    .mtu = 1500 };
	def->n_vhost++;
	CU_ASSERT_EQUAL(ctl_config_validate(def, err, sizeof(err)), 0);
	/* Persistence off. */
	def->state_dir[0] = '\0';
	CU_ASSERT_EQUAL(ctl_config_validate(def, err, sizeof(err)), 0);
	ctl_config_free(def);
	CU_ASSERT_EQUAL(ctl_config_validate(NULL, NULL, 0), -EINVAL);
}

static struct ctl_endpoint *ep(struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_endpoints; i++)
		if (!strcmp(c->endpoints[i].name, name))
			return &c->endpoints[i];
	CU_FAIL_FATAL("no such endpoint");
	return NULL;
}

static void set_ip(struct ctl_ip *ip, const char *s)
{
	CU_ASSERT_EQUAL_FATAL(ctl_parse_ip(s, ip), 0);
}

/* One in-memory change and the exact message it must produce. */
#define MUTATION(id, body) static void mut_##id(struct ctl_config *c) { body; }
MUTATION(dup_mac, memcpy(ep(c, "a3")->mac, ep(c, "a1")->mac, 6))
MUTATION(dup_ip, set_ip(&ep(c, "a3")->ips[0], "10.0.0.1"))
MUTATION(dup_ip6, set_ip(&ep(c, "a3")->ips[0], "2001:db8:0::1"))
MUTATION(dup_ip_self, set_ip(&ep(c, "r1")->ips[2], "10.0.0.9"))
MUTATION(dup_ep_name, strcpy(ep(c, "a3")->name, "a1"))
MUTATION(dup_vni, c->vnets[1].vni = 100)
MUTATION(dup_vnet_name, strcpy(c->vnets[1].name, "blue"))
MUTATION(unknown_vnet, strcpy(ep(c, "a3")->vnet, "green"))
MUTATION(unknown_port, strcpy(ep(c, "a1")->port, "v9"))
MUTATION(phys_port, strcpy(ep(c, "a1")->port, "ul0"))
MUTATION(port_twice, strcpy(ep(c, "a2")->port, "v1"))
MUTATION(outside_subnet, set_ip(&ep(c, "a3")->ips[0], "10.0.1.3"))
MUTATION(v6_outside, set_ip(&ep(c, "a2")->ips[0], "2001:db8:1::2"))
MUTATION(multicast_mac, ep(c, "a3")->mac[0] = 0x01)
MUTATION(zero_mac, memset(ep(c, "a3")->mac, 0, 6))
MUTATION(bcast_mac, memset(ep(c, "a3")->mac, 0xff, 6))
MUTATION(own_tep, ep(c, "a3")->tep = c->phys[0].ip)
MUTATION(mcast_tep, ep(c, "a3")->tep = htonl(0xe0000001))
MUTATION(bad_name, strcpy(ep(c, "a3")->name, "a/3"))
MUTATION(empty_name, ep(c, "a3")->name[0] = '\0')
MUTATION(unterminated, memset(ep(c, "a3")->name, 'x', CTL_NAME_MAX))
MUTATION(both, strcpy(ep(c, "a3")->port, "v2"))
MUTATION(neither, ep(c, "a3")->tep = 0)
MUTATION(where, ep(c, "a3")->where = CTL_EP_LOCAL)
MUTATION(too_many_ips, ep(c, "a3")->n_ips = CTL_MAX_EP_IPS + 1)
MUTATION(bcast_ip, set_ip(&ep(c, "a3")->ips[0], "255.255.255.255"))
MUTATION(mcast_ip6, set_ip(&ep(c, "a1")->ips[1], "ff02::1"))
MUTATION(bad_family, ep(c, "a3")->ips[0].family = 7)
MUTATION(vni_zero, c->vnets[0].vni = 0)
MUTATION(vni_big, c->vnets[1].vni = 1u << 24)
MUTATION(host_bits, set_ip(&c->vnets[0].subnets[0].addr, "10.0.0.1"))
MUTATION(prefix_len, c->vnets[0].subnets[0].len = 33)
MUTATION(dup_port_name, strcpy(c->vhost[1].name, "v1"))
MUTATION(port_name_phys, strcpy(c->vhost[0].name, "ul0"))
MUTATION(dup_socket, strcpy(c->vhost[1].socket, "/tmp/v1.sock"))
MUTATION(ctl_socket, strcpy(c->vhost[0].socket, c->ctl_socket))
MUTATION(rel_socket, strcpy(c->vhost[0].socket, "v1.sock"))
MUTATION(queues, c->vhost[0].queues = 0)
MUTATION(mode, c->vhost[0].mode = (enum ctl_vhost_mode)5)
MUTATION(vm_ctrl, strcpy(c->vhost[1].vm, "a\tb"))
MUTATION(too_many_vhost, c->n_vhost = CTL_MAX_VHOST + 1)
MUTATION(mtu, c->phys[0].mtu = 100)
MUTATION(gateway, c->phys[0].gateway = htonl(0xc6336401))
MUTATION(net_addr, c->phys[0].ip = htonl(0xc0000200))
MUTATION(dup_phys_ip, {
	c->phys[1] = c->phys[0];
	strcpy(c->phys[1].name, "ul1");
	c->n_phys = 2;
})
MUTATION(main_lcore, c->workers.lcores[0] = c->eal.main_lcore)
MUTATION(lcore_twice, {
	c->workers.lcores[1] = c->workers.lcores[0];
	c->workers.n_lcores = 2;
})
MUTATION(no_lcores, c->workers.n_lcores = 0)
MUTATION(udp_port, c->vxlan_port = 0)
MUTATION(no_socket, c->ctl_socket[0] = '\0')
MUTATION(rel_state_dir, strcpy(c->state_dir, "var/lib/x"))
MUTATION(file_prefix, strcpy(c->eal.file_prefix, "a/b"))
MUTATION(mbufs, c->workers.mbufs = 10)

static void test_validate_rejects(void)
{
	static const struct {
		void (*mutate)(struct ctl_config *);
		const char *msg;
	} cases[] = {
		{ mut_dup_mac, "endpoint 'a3': mac: 02:00:00:00:0a:01 is already used in network "
			       "'blue' by endpoint 'a1'" },
		{ mut_dup_ip, "endpoint 'a3': ips: 10.0.0.1 is already used in network 'blue' by "
			      "endpoint 'a1'" },
		{ mut_dup_ip6, "endpoint 'a3': ips: 2001:db8::1 is already used in network 'blue' "
			       "by endpoint 'a1'" },
		{ mut_dup_ip_self, "endpoint 'r1': ips: 10.0.0.9 is already used in network 'red' "
				   "by endpoint 'r1'" },
		{ mut_dup_ep_name, "endpoint 'a1': name: duplicate endpoint name 'a1'" },
		{ mut_dup_vni, "virtual network 'red': vni: 100 is already used by network "
			       "'blue'" },
		{ mut_dup_vnet_name, "virtual network 'blue': name: duplicate virtual network name "
				     "'blue'" },
		{ mut_unknown_vnet, "endpoint 'a3': vnet: no virtual network named 'green'" },
		{ mut_unknown_port, "endpoint 'a1': port: no vhost port named 'v9'" },
		{ mut_phys_port, "endpoint 'a1': port: 'ul0' is a physical port; endpoints attach "
				 "to vhost ports" },
		{ mut_port_twice, "endpoint 'a2': port: vhost port 'v1' is already bound to "
				  "endpoint 'a1'" },
		{ mut_outside_subnet, "endpoint 'a3': ips: 10.0.1.3 is not inside any subnet of "
				      "network 'blue'" },
		{ mut_v6_outside, "endpoint 'a2': ips: 2001:db8:1::2 is not inside any subnet of "
				  "network 'blue'" },
		{ mut_multicast_mac, "endpoint 'a3': mac: 01:00:00:00:0a:03 is a multicast "
				     "address, not a unicast one" },
		{ mut_zero_mac, "endpoint 'a3': mac: the all-zero MAC address is not allowed" },
		{ mut_bcast_mac, "endpoint 'a3': mac: ff:ff:ff:ff:ff:ff is the broadcast address, "
				 "not a unicast one" },
		{ mut_own_tep, "endpoint 'a3': tep: 192.0.2.1 is this host's own address (physical "
			       "port 'ul0'); a remote endpoint must be behind another host" },
		{ mut_mcast_tep, "endpoint 'a3': tep: 224.0.0.1 is not a unicast address" },
		{ mut_bad_name, "endpoint 'a/3': name: invalid character '/' in 'a/3' (allowed: "
				"letters, digits, '_', '.', '-')" },
		{ mut_empty_name, "endpoint '': name: must not be empty" },
		{ mut_unterminated, "endpoint 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx': name: too long "
				    "(no terminating NUL in 32 bytes)" },
		{ mut_both, "endpoint 'a3': has both 'port' and 'tep'; give exactly one" },
		{ mut_neither, "endpoint 'a3': needs exactly one of 'port' (local vhost port) or "
			       "'tep' (remote tunnel endpoint)" },
		{ mut_where, "endpoint 'a3': is marked local but has a 'tep'" },
		{ mut_too_many_ips, "endpoint 'a3': ips: too many entries (5, at most 4)" },
		{ mut_bcast_ip, "endpoint 'a3': ips: 255.255.255.255 is not a unicast address" },
		{ mut_mcast_ip6, "endpoint 'a1': ips: ff02::1 is not a unicast address" },
		{ mut_bad_family, "endpoint 'a3': ips: address family 7 is neither IPv4 nor IPv6" },
		{ mut_vni_zero, "virtual network 'blue': vni: 0 is out of range (1..16777215)" },
		{ mut_vni_big, "virtual network 'red': vni: 16777216 is out of range "
			       "(1..16777215)" },
		{ mut_host_bits, "virtual network 'blue': subnets: 10.0.0.1/24 has host bits set "
				 "(did you mean 10.0.0.0/24?)" },
		{ mut_prefix_len, "virtual network 'blue': subnets: prefix length 33 is out of "
				  "range (0..32)" },
		{ mut_dup_port_name, "vhost port 'v1': name: duplicate port name 'v1'" },
		{ mut_port_name_phys, "vhost port 'ul0': name: duplicate port name 'ul0' (also a "
				      "physical port)" },
		{ mut_dup_socket, "vhost port 'v2': socket: /tmp/v1.sock is already used by vhost "
				  "port 'v1'" },
		{ mut_ctl_socket, "vhost port 'v1': socket: " CTL_PROTO_DEFAULT_SOCKET " is also "
				  "the control socket" },
		{ mut_rel_socket, "vhost port 'v1': socket: 'v1.sock' is not an absolute path" },
		{ mut_queues, "vhost port 'v1': queues: 0 is out of range (1..16)" },
		{ mut_mode, "vhost port 'v1': mode: 5 is not one of server, client" },
		{ mut_vm_ctrl, "vhost port 'v2': vm: value contains a control character" },
		{ mut_too_many_vhost, "configuration: vhost_ports: too many entries (65, at most "
				      "64)" },
		{ mut_mtu, "physical port 'ul0': mtu: 100 is out of range (576..9600)" },
		{ mut_gateway, "physical port 'ul0': gateway: 198.51.100.1 is not inside "
			       "192.0.2.1/24" },
		{ mut_net_addr, "physical port 'ul0': ip: 192.0.2.0/24 is the network address of "
				"192.0.2.0/24; use a host address" },
		{ mut_dup_phys_ip, "physical port 'ul1': ip: 192.0.2.1 is already used by physical "
				   "port 'ul0'" },
		{ mut_main_lcore, "workers: lcores: lcore 0 is the main lcore (eal.main_lcore)" },
		{ mut_lcore_twice, "workers: lcores: lcore 1 is listed twice" },
		{ mut_no_lcores, "workers: lcores: needs at least 1 entry" },
		{ mut_udp_port, "vxlan: udp_port: 0 is out of range (1..65535)" },
		{ mut_no_socket, "control: socket: must not be empty" },
		{ mut_rel_state_dir, "control: state_dir: 'var/lib/x' is not an absolute path" },
		{ mut_file_prefix, "eal: file_prefix: invalid character '/' in 'a/b' (allowed: "
				   "letters, digits, '_', '-')" },
		{ mut_mbufs, "workers: mbufs: 10 is out of range (1024..4194304)" },
	};
	struct ctl_config *base = LOAD(base_yaml);

	if (base == NULL)
		return;
	for (unsigned i = 0; i < UNIT_DIM(cases); i++) {
		char err[CTL_ERR_MAX] = "";
		struct ctl_config *c = ctl_config_dup(base);
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		cases[i].mutate(c);
		rc = ctl_config_validate(c, err, sizeof(err));
		check_(rc == -EINVAL && !strcmp(err, cases[i].msg), __LINE__,
		       "case %u: expected '%s' (-EINVAL), got '%s' (%d)", i, cases[i].msg, err, rc);
		ctl_config_free(c);
	}
	ctl_config_free(base);
}

/* Positions are only for documents: a loaded config keeps its lines, but
 * validate still names objects. */
static void test_validate_names_objects_not_lines(void)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *c = LOAD(base_yaml);

	if (c == NULL)
		return;
	CU_ASSERT_TRUE(c->endpoints[2].line > 0);
	strcpy(c->endpoints[2].name, "a1");
	CU_ASSERT_EQUAL(ctl_config_validate(c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(strstr(err, "base.yaml"));
	CU_ASSERT_PTR_NULL(strstr(err, "line"));
	ctl_config_free(c);
}

/* n endpoints in network "big" (10.0.0.0/8), remote, built without YAML. */
static struct ctl_config *big_config(unsigned n)
{
	struct ctl_config *cfg = LOAD(
		"workers: {lcores: [1]}\n"
		"physical_ports: [{name: ul0, devargs: d, ip: 192.0.2.1/24}]\n"
		"virtual_networks: [{name: big, vni: 1, subnets: [10.0.0.0/8]}]\n");

	if (cfg == NULL)
		return NULL;
	cfg->endpoints = calloc(n, sizeof(*cfg->endpoints));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->endpoints);
	cfg->n_endpoints = n;
	for (unsigned i = 0; i < n; i++) {
		struct ctl_endpoint *e = &cfg->endpoints[i];
		uint8_t mac[6] = { 0x02, 0x01, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				   (uint8_t)(i >> 8), (uint8_t)i };

		snprintf(e->name, sizeof(e->name), "e%u", i);
		memcpy(e->mac, mac, 6);
		e->n_ips = 1;
		e->ips[0].family = AF_INET;
		e->ips[0].v4 = htonl(0x0a000001 + i);
		strcpy(e->vnet, "big");
		e->where = CTL_EP_REMOTE;
		e->tep = htonl(0xc0000202);
		e->file = cfg->file;
	}
	return cfg;
}

static void test_validate_million(void)
{
	const unsigned n = 1000000;
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg = big_config(n);

	if (cfg == NULL)
		return;
	CU_ASSERT_EQUAL(ctl_config_validate(cfg, err, sizeof(err)), 0);
	/* The last one repeats an address far away. */
	cfg->endpoints[n - 1].ips[0].v4 = htonl(0x0a000001 + 17);
	CU_ASSERT_EQUAL(ctl_config_validate(cfg, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "endpoint 'e999999': ips: 10.0.0.18 is already used in "
				    "network 'big' by endpoint 'e17'");
	ctl_config_free(cfg);
}

/* ---- restart ------------------------------------------------------------ */

#define CHANGE(id, body) static void chg_##id(struct ctl_config *c) { body; }
CHANGE(lcores_map, strcpy(c->eal.lcores, "0@0,1@2"))
CHANGE(memory, c->eal.memory_mb = 512)
CHANGE(prefix, strcpy(c->eal.file_prefix, "other"))
CHANGE(in_memory, c->eal.in_memory = true)
CHANGE(eal_args, {
	strcpy(c->eal.args[0], "--no-pci");
	c->eal.n_args = 1;
})
CHANGE(workers, {
	c->workers.lcores[1] = 2;
	c->workers.n_lcores = 2;
})
CHANGE(idle, c->workers.idle_sleep_max_us = 0)
CHANGE(mbufs, c->workers.mbufs = 32768)
CHANGE(socket, strcpy(c->ctl_socket, "/tmp/other.sock"))
CHANGE(state_dir, c->state_dir[0] = '\0')
CHANGE(udp_port, c->vxlan_port = 8472)
CHANGE(mtu, c->phys[0].mtu = 1600)
CHANGE(devargs, strcpy(c->phys[0].devargs, "net_null1"))
CHANGE(rxq, c->phys[0].rx_queues = 2)
CHANGE(phys_ip, c->phys[0].prefix_len = 25)
CHANGE(gw, c->phys[0].gateway = htonl(0xc00002fd))
CHANGE(phys_name, strcpy(c->phys[0].name, "ul9"))
CHANGE(phys_count, c->n_phys = 0)

static void test_restart_needed(void)
{
	static const struct {
		void (*change)(struct ctl_config *);
		const char *msg;
	} cases[] = {
		{ chg_lcores_map, "eal: lcores changed (0@0,1@1 -> 0@0,1@2): a restart is needed" },
		{ chg_memory, "eal: memory_mb changed (0 -> 512): a restart is needed" },
		{ chg_prefix, "eal: file_prefix changed (dpdk-vswitch -> other): a restart is "
			      "needed" },
		{ chg_in_memory, "eal: in_memory changed (false -> true): a restart is needed" },
		{ chg_eal_args, "eal: args changed ([] -> [--no-pci]): a restart is needed" },
		{ chg_workers, "workers: lcores changed ([1] -> [1, 2]): a restart is needed" },
		{ chg_idle, "workers: idle_sleep_max_us changed (200 -> 0): a restart is needed" },
		{ chg_mbufs, "workers: mbufs changed (16384 -> 32768): a restart is needed" },
		{ chg_socket, "control: socket changed (" CTL_PROTO_DEFAULT_SOCKET
			      " -> /tmp/other.sock): a restart is needed" },
		{ chg_state_dir, "control: state_dir changed (/var/lib/dpdk-vswitch -> ): a "
				 "restart is needed" },
		{ chg_udp_port, "vxlan: udp_port changed (4789 -> 8472): a restart is needed" },
		{ chg_mtu, "physical port 'ul0': mtu changed (1500 -> 1600): a restart is needed" },
		{ chg_devargs, "physical port 'ul0': devargs changed (net_null0 -> net_null1): a "
			       "restart is needed" },
		{ chg_rxq, "physical port 'ul0': rx_queues changed (1 -> 2): a restart is needed" },
		{ chg_phys_ip, "physical port 'ul0': ip changed (192.0.2.1/24 -> 192.0.2.1/25): a "
			       "restart is needed" },
		{ chg_gw, "physical port 'ul0': gateway changed (192.0.2.254 -> 192.0.2.253): a "
			  "restart is needed" },
		{ chg_phys_name, "physical port 'ul0': name changed (ul0 -> ul9): a restart is "
				 "needed" },
		{ chg_phys_count, "configuration: number of physical_ports changed (1 -> 0): a "
				  "restart is needed" },
	};
	char err[CTL_ERR_MAX] = "x";
	struct ctl_config *a = LOAD(base_yaml), *b;

	if (a == NULL)
		return;
	b = ctl_config_dup(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(ctl_config_restart_needed(a, b, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	/* Live sections change without a restart. */
	b->n_endpoints = 1;
	b->n_vhost = 0;
	strcpy(b->vnets[0].name, "green");
	CU_ASSERT_EQUAL(ctl_config_restart_needed(a, b, err, sizeof(err)), 0);
	ctl_config_free(b);
	for (unsigned i = 0; i < UNIT_DIM(cases); i++) {
		int rc;

		b = ctl_config_dup(a);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		cases[i].change(b);
		rc = ctl_config_restart_needed(a, b, err, sizeof(err));
		check_(rc == -EINVAL && !strcmp(err, cases[i].msg), __LINE__,
		       "case %u: expected '%s', got '%s' (%d)", i, cases[i].msg, err, rc);
		ctl_config_free(b);
	}
	ctl_config_free(a);
}

/* ---- the state file ------------------------------------------------------ */

static void test_state_round_trip(void)
{
	char err[CTL_ERR_MAX] = "", path[256];
	struct ctl_config *cfg = LOAD(base_yaml), *other;

	if (cfg == NULL)
		return;
	path_in(path, sizeof(path), "rt/state.yaml");
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");

	/* Into a configuration whose live sections are empty... */
	other = LOAD("workers: {lcores: [1]}\n"
		     "physical_ports:\n"
		     "  - {name: ul0, devargs: net_null0, ip: 192.0.2.1/24,"
		     " gateway: 192.0.2.254}\n");
	if (other == NULL)
		goto out;
	CU_ASSERT_EQUAL(ctl_config_load_state(other, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	EXPECT_SAME_LIVE(cfg, other);
	/* ...whose positions name its own file, with no line of another. */
	CU_ASSERT_PTR_EQUAL(other->vhost[1].file, other->file);
	CU_ASSERT_PTR_EQUAL(other->vnets[0].file, other->file);
	CU_ASSERT_PTR_EQUAL(other->endpoints[3].file, other->file);
	CU_ASSERT_EQUAL(other->endpoints[3].line, 0);
	CU_ASSERT_EQUAL(ctl_config_validate(other, err, sizeof(err)), 0);

	/* Saved again, the same text: the format is stable. */
	{
		char p2[256], *a, *b;
		size_t la = 0, lb = 0;

		path_in(p2, sizeof(p2), "rt/again.yaml");
		CU_ASSERT_EQUAL(ctl_config_save_state(other, p2, err, sizeof(err)), 0);
		a = read_all(path, &la);
		b = read_all(p2, &lb);
		CU_ASSERT_FATAL(a != NULL && b != NULL);
		CU_ASSERT_TRUE(la == lb && !memcmp(a, b, la));
		/* Same schema as the configuration file, ending with "...". */
		CU_ASSERT_EQUAL(strncmp(a, "state_version: 1\nvhost_ports:\n", 30), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(a, "\nvirtual_networks:\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(a, "\nendpoints:\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(a, "mac: '02:00:00:00:0a:01'"));
		CU_ASSERT_TRUE(la > 4 && !strcmp(a + la - 4, "...\n"));
		free(a);
		free(b);
	}
	ctl_config_free(other);
out:
	ctl_config_free(cfg);
}

/* Empty live sections round-trip as empty, replacing full ones. */
static void test_state_empty_sections(void)
{
	char err[CTL_ERR_MAX] = "", path[256];
	struct ctl_config *empty = LOAD("workers: {lcores: [1]}\n"), *cfg = LOAD(base_yaml);

	if (empty == NULL || cfg == NULL)
		goto out;
	path_in(path, sizeof(path), "empty/state.yaml");
	CU_ASSERT_EQUAL(ctl_config_save_state(empty, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ctl_config_load_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg->n_vhost + cfg->n_vnets + cfg->n_endpoints, 0);
	CU_ASSERT_PTR_NULL(cfg->vnets);
	CU_ASSERT_PTR_NULL(cfg->endpoints);
out:
	ctl_config_free(empty);
	ctl_config_free(cfg);
}

/* Loads @path into @cfg and expects failure (@rc_want, or any negative when 0)
 * with @cfg unchanged to the byte; @want, if set, is the message prefix. */
static void expect_load_fails_(struct ctl_config *cfg, const char *path, int rc_want,
			       const char *want, int line)
{
	char err[CTL_ERR_MAX] = "";
	struct snap s;
	int rc;

	snap_take(&s, cfg);
	rc = ctl_config_load_state(cfg, path, err, sizeof(err));
	check_(rc < 0 && (rc_want == 0 || rc == rc_want), line, "expected failure %d, got %d (%s)",
	       rc_want, rc, err);
	check_(want == NULL || !strncmp(err, want, strlen(want)), line,
	       "expected '%s...', got '%s'", want ? want : "", err);
	check_(rc == -ENOENT || err[0] != '\0', line, "no message for %d", rc);
	check_(snap_same(&s, cfg), line, "configuration changed by a failed load (%s)", err);
	snap_free(&s);
}
#define EXPECT_LOAD_FAILS(cfg, path, rc, want) \
	expect_load_fails_((cfg), (path), (rc), (want), __LINE__)

static void test_state_truncated(void)
{
	char err[CTL_ERR_MAX] = "", path[256], cut[256];
	struct ctl_config *cfg = LOAD(base_yaml);
	char *text;
	size_t len = 0;
	unsigned tried = 0;

	if (cfg == NULL)
		return;
	path_in(path, sizeof(path), "cut/state.yaml");
	path_in(cut, sizeof(cut), "cut/cut.yaml");
	CU_ASSERT_EQUAL_FATAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	text = read_all(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* Dropping only the final newline loses nothing; any shorter file must fail. */
	for (size_t off = 0; off + 1 < len; off += 7, tried++) {
		write_file(cut, text, off);
		EXPECT_LOAD_FAILS(cfg, cut, -EINVAL, NULL);
	}
	CU_ASSERT_TRUE(tried > 50);
	/* A file cut between two whole lines says why. */
	{
		const char *last = strstr(text, "\n...");

		CU_ASSERT_PTR_NOT_NULL_FATAL(last);
		write_file(cut, text, (size_t)(last - text) + 1);
		snprintf(err, sizeof(err), "%s:", cut);
		EXPECT_LOAD_FAILS(cfg, cut, -EINVAL, err);
		{
			char e2[CTL_ERR_MAX];

			ctl_config_load_state(cfg, cut, e2, sizeof(e2));
			CU_ASSERT_PTR_NOT_NULL(strstr(e2, "does not end with '...'"));
		}
	}
	/* The whole file still loads. */
	write_file(cut, text, len);
	CU_ASSERT_EQUAL(ctl_config_load_state(cfg, cut, err, sizeof(err)), 0);
	free(text);
	ctl_config_free(cfg);
}

#define ST_HEAD "state_version: 1\nvhost_ports: []\nvirtual_networks:\n- {name: n, vni: 5}\n"

static void test_state_rejected(void)
{
	static const struct {
		const char *text;
		const char *msg;   /* after "PATH:" */
	} cases[] = {
		{ "\x01\x02garbage\xff\xfe", "1:1: control characters are not allowed" },
		{ "this is not yaml: [\n", "2:1: did not find expected node content" },
		{ "- a\n- b\n...\n", "1:1: expected a mapping at the top level, got a sequence" },
		{ "state_version: 2\nvhost_ports: []\nvirtual_networks: []\nendpoints: []\n...\n",
		  "1:16: state_version: 2 is not supported (expected 1)" },
		{ "state_version: x\n...\n", "1:16: state_version: expected an integer, got 'x'" },
		{ ST_HEAD "endpoints: []\nphysical_ports: []\n...\n",
		  "6:1: unknown key 'physical_ports' in state file (expected one of: "
		  "state_version, vhost_ports, tenants, virtual_networks, groups, endpoints, "
		  "policies)" },
		{ ST_HEAD "endpoints: []\nfoo: 1\n...\n", "6:1: unknown key 'foo' in state file" },
		{ ST_HEAD "...\n", "1:1: missing required key 'endpoints' in state file" },
		{ "vhost_ports: []\nvirtual_networks: []\nendpoints: []\n...\n",
		  "1:1: missing required key 'state_version' in state file" },
		{ ST_HEAD "endpoints:\n"
		  "- {name: e, mac: '02:00:00:00:00:01', vnet: n, tep: 203.0.113.1}\n"
		  "- {name: f, mac: '02:00:00:00:00:02', vnet: n, tep: 203.0.113.1}\n"
		  "- {name: e, mac: '02:00:00:00:00:03', vnet: n, tep: 203.0.113.1}\n...\n",
		  "8:10: name: duplicate endpoint name 'e' (first at line 6)" },
		{ ST_HEAD "endpoints:\n"
		  "- {name: e, mac: '02:00:00:00:00:01', vnet: n, tep: 192.0.2.1}\n...\n",
		  "6:53: tep: 192.0.2.1 is this host's own address (physical port 'ul0')" },
		{ ST_HEAD "endpoints:\n"
		  "- {name: e, mac: '02:00:00:00:00:01', vnet: x, tep: 1.2.3.4}\n...\n",
		  "6:45: vnet: no virtual network named 'x'" },
		{ "state_version: 1\nvhost_ports:\n- {name: ul0, socket: /tmp/s}\n"
		  "virtual_networks: []\nendpoints: []\n...\n",
		  "3:10: name: duplicate port name 'ul0' (also a physical port)" },
		{ ST_HEAD "endpoints:\n"
		  "- {name: e, mac: '01:00:00:00:00:01', vnet: n, tep: 1.2.3.4}\n...\n",
		  "6:18: mac: 01:00:00:00:00:01 is a multicast address" },
		{ ST_HEAD "endpoints: []\n...\n---\nstate_version: 1\n",
		  "8:1: only one YAML document is allowed" },
		{ "", "1:1: empty configuration document" },
	};
	char path[256], want[CTL_ERR_MAX];
	struct ctl_config *cfg = LOAD(base_yaml);

	if (cfg == NULL)
		return;
	path_in(path, sizeof(path), "bad.yaml");
	for (unsigned i = 0; i < UNIT_DIM(cases); i++) {
		write_file(path, cases[i].text, strlen(cases[i].text));
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].msg);
		expect_load_fails_(cfg, path, -EINVAL, want, __LINE__);
	}
	/* The same file with the duplicate removed is fine: the checks were the cause. */
	{
		static const char good[] = ST_HEAD "endpoints:\n"
			"- {name: e, mac: '02:00:00:00:00:01', vnet: n, tep: 203.0.113.1}\n...\n";
		char err[CTL_ERR_MAX] = "";

		write_file(path, good, strlen(good));

		CU_ASSERT_EQUAL(ctl_config_load_state(cfg, path, err, sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(err, "");
		CU_ASSERT_EQUAL(cfg->n_endpoints, 1);
		CU_ASSERT_EQUAL(cfg->n_vhost, 0);
		CU_ASSERT_STRING_EQUAL(cfg->vnets[0].name, "n");
	}
	ctl_config_free(cfg);
}

static void test_state_missing(void)
{
	char path[256];
	struct ctl_config *cfg = LOAD(base_yaml);

	if (cfg == NULL)
		return;
	path_in(path, sizeof(path), "nowhere/state.yaml");
	EXPECT_LOAD_FAILS(cfg, path, -ENOENT, NULL);
	EXPECT_LOAD_FAILS(cfg, tmpdir, -EISDIR, NULL);
	ctl_config_free(cfg);
}

static unsigned count_entries(const char *dir, const char *not)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    (not == NULL || strcmp(e->d_name, not)))
			n++;
	closedir(d);
	return n;
}

static void test_state_save_creates_dir(void)
{
	char err[CTL_ERR_MAX] = "", path[256], dir[256];
	struct ctl_config *cfg = LOAD(base_yaml);
	struct stat st;

	if (cfg == NULL)
		return;
	path_in(dir, sizeof(dir), "a/b/c");
	path_in(path, sizeof(path), "a/b/c/state.yaml");
	CU_ASSERT_EQUAL(stat(dir, &st), -1);
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
	CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	ctl_config_free(cfg);
}

static void test_state_save_no_temp_left(void)
{
	char err[CTL_ERR_MAX] = "", path[256], dir[256], sub[256], blocker[256];
	struct ctl_config *cfg = LOAD(base_yaml), *back = LOAD(base_yaml);
	int rc;

	if (cfg == NULL || back == NULL)
		goto out;
	path_in(dir, sizeof(dir), "tmpcheck");
	path_in(path, sizeof(path), "tmpcheck/state.yaml");
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(count_entries(dir, NULL), 1);
	/* Saving over an existing file replaces it. */
	cfg->n_endpoints = 2;
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(count_entries(dir, NULL), 1);
	CU_ASSERT_EQUAL(ctl_config_load_state(back, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(back->n_endpoints, 2);

	/* A failed rename (the target is a non-empty directory) removes the temp file. */
	path_in(sub, sizeof(sub), "tmpcheck/busy.yaml");
	path_in(blocker, sizeof(blocker), "tmpcheck/busy.yaml/x");
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
	write_file(blocker, "x", 1);
	rc = ctl_config_save_state(cfg, sub, err, sizeof(err));
	check_(rc < 0 && strstr(err, "rename") != NULL, __LINE__, "got %d '%s'", rc, err);
	CU_ASSERT_EQUAL(count_entries(dir, NULL), 2);   /* state.yaml and busy.yaml */

	/* A parent that is a file: nothing created, the error names it. */
	path_in(sub, sizeof(sub), "tmpcheck/state.yaml/state.yaml");
	rc = ctl_config_save_state(cfg, sub, err, sizeof(err));
	check_(rc == -ENOTDIR && strstr(err, "cannot save ") == err, __LINE__, "got %d '%s'", rc,
	       err);
	CU_ASSERT_EQUAL(count_entries(dir, NULL), 2);
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, "", err, sizeof(err)), -EINVAL);
out:
	ctl_config_free(cfg);
	ctl_config_free(back);
}

/* Save and load at scale: one endpoint per line, O(n log n) checks. */
static void test_state_many_endpoints(void)
{
	const unsigned n = 200000;
	char err[CTL_ERR_MAX] = "", path[256];
	struct ctl_config *cfg = big_config(n), *back;

	if (cfg == NULL)
		return;
	back = ctl_config_dup(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	back->n_endpoints = 0;
	path_in(path, sizeof(path), "big/state.yaml");
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ctl_config_load_state(back, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	EXPECT_SAME_LIVE(cfg, back);
	ctl_config_free(back);
	ctl_config_free(cfg);
}

/* ---- the logical model ------------------------------------------------------ */

/* Tenants, groups, policies of every form, gateways, endpoint groups. */
static const char model_yaml[] =
	"workers: {lcores: [1]}\n"
	"physical_ports:\n"
	"  - {name: ul0, devargs: net_null0, ip: 192.0.2.1/24}\n"
	"tenants: [{name: acme}, {name: beta}]\n"
	"groups: [{name: web, tenant: acme}, {name: db}]\n"
	"virtual_networks:\n"
	"  - {name: blue, vni: 100, tenant: acme, subnets: [10.0.0.0/24,"
	" {prefix: 10.0.1.0/24, gateway: 10.0.1.1}, {prefix: '2001:db8::/64', gateway: '2001:db8::1'}]}\n"
	"  - {name: red, vni: 200, tenant: acme, subnets: [10.0.2.0/24]}\n"
	"  - {name: solo, vni: 300}\n"
	"endpoints:\n"
	"  - {name: a1, mac: '02:00:00:00:0a:01', ips: [10.0.0.1], vnet: blue, tep: 192.0.2.2,"
	" groups: [web, db]}\n"
	"  - {name: b1, mac: '02:00:00:00:0b:01', ips: [10.0.2.1], vnet: red, tep: 192.0.2.3}\n"
	"policies:\n"
	"  - {name: p1, tenant: acme, from: {group: web}, to: {vnet: red}, action: allow,"
	" priority: -5}\n"
	"  - {name: p2, from: any, to: {vm: far-away}, action: chain, chain: fw}\n"
	"  - {name: p3, from: {vnet: solo}, to: {group: db}, action: deny, priority: 7}\n";

static struct ctl_tenant *tenant(struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_tenants; i++)
		if (!strcmp(c->tenants[i].name, name))
			return &c->tenants[i];
	CU_FAIL_FATAL("no such tenant");
	return NULL;
}

static struct ctl_policy *policy(struct ctl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_policies; i++)
		if (!strcmp(c->policies[i].name, name))
			return &c->policies[i];
	CU_FAIL_FATAL("no such policy");
	return NULL;
}

static int sel_eq(const struct ctl_selector *a, const struct ctl_selector *b)
{
	return a->kind == b->kind && !strcmp(a->name, b->name);
}

/* The model sections of @a and @b hold the same values. */
static void expect_same_model_(const struct ctl_config *a, const struct ctl_config *b, int line)
{
	check_(a->n_tenants == b->n_tenants && a->n_groups == b->n_groups &&
	       a->n_policies == b->n_policies && a->n_vnets == b->n_vnets &&
	       a->n_endpoints == b->n_endpoints, line, "model counts differ");
	if (a->n_tenants != b->n_tenants || a->n_groups != b->n_groups ||
	    a->n_policies != b->n_policies || a->n_vnets != b->n_vnets ||
	    a->n_endpoints != b->n_endpoints)
		return;
	for (unsigned i = 0; i < a->n_tenants; i++)
		check_(!strcmp(a->tenants[i].name, b->tenants[i].name), line, "tenant %u", i);
	for (unsigned i = 0; i < a->n_groups; i++)
		check_(!strcmp(a->groups[i].name, b->groups[i].name) &&
		       !strcmp(a->groups[i].tenant, b->groups[i].tenant), line, "group %u", i);
	for (unsigned i = 0; i < a->n_vnets; i++) {
		const struct ctl_vnet *x = &a->vnets[i], *y = &b->vnets[i];
		int same = !strcmp(x->tenant, y->tenant) && x->n_subnets == y->n_subnets;

		for (unsigned s = 0; same && s < x->n_subnets; s++)
			same = x->gateways[s].family == y->gateways[s].family &&
			       (x->gateways[s].family == 0 || ip_eq(&x->gateways[s], &y->gateways[s]));
		check_(same, line, "network %s: tenant or gateways differ", x->name);
	}
	for (unsigned i = 0; i < a->n_endpoints; i++) {
		const struct ctl_endpoint *x = &a->endpoints[i], *y = &b->endpoints[i];
		int same = x->n_groups == y->n_groups;

		for (unsigned g = 0; same && g < x->n_groups; g++)
			same = !strcmp(x->groups[g], y->groups[g]);
		check_(same, line, "endpoint %s: groups differ", x->name);
	}
	for (unsigned i = 0; i < a->n_policies; i++) {
		const struct ctl_policy *x = &a->policies[i], *y = &b->policies[i];

		check_(!strcmp(x->name, y->name) && !strcmp(x->tenant, y->tenant) &&
		       sel_eq(&x->from, &y->from) && sel_eq(&x->to, &y->to) &&
		       x->action == y->action && !strcmp(x->chain, y->chain) &&
		       x->priority == y->priority, line, "policy %s differs", x->name);
	}
}
#define EXPECT_SAME_MODEL(a, b) expect_same_model_((a), (b), __LINE__)

static void test_model_dup(void)
{
	struct ctl_config *cfg = LOAD(model_yaml), *d;

	if (cfg == NULL)
		return;
	d = ctl_config_dup(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_TRUE(d->tenants != cfg->tenants && d->groups != cfg->groups &&
		       d->policies != cfg->policies);
	EXPECT_SAME_MODEL(cfg, d);
	CU_ASSERT_PTR_EQUAL(d->policies[2].file, d->file);
	CU_ASSERT_PTR_EQUAL(d->tenants[1].file, d->file);
	CU_ASSERT_PTR_EQUAL(d->groups[1].file, d->file);
	CU_ASSERT_EQUAL(d->policies[1].line, cfg->policies[1].line);
	strcpy(d->tenants[0].name, "X");
	d->policies[0].priority = 99;
	CU_ASSERT_STRING_EQUAL(cfg->tenants[0].name, "acme");
	CU_ASSERT_EQUAL(cfg->policies[0].priority, -5);
	ctl_config_free(cfg);
	CU_ASSERT_STRING_EQUAL(d->groups[0].name, "web");
	ctl_config_free(d);
}

MUTATION(m_dup_tenant, strcpy(tenant(c, "beta")->name, "acme"))
MUTATION(m_vnet_tenant, strcpy(c->vnets[2].tenant, "gamma"))
MUTATION(m_group_tenant, strcpy(c->groups[1].tenant, "gamma"))
MUTATION(m_dup_group, strcpy(c->groups[1].name, "web"))
MUTATION(m_ep_group, strcpy(ep(c, "b1")->groups[0], "app"); ep(c, "b1")->n_groups = 1)
MUTATION(m_ep_group_twice, strcpy(ep(c, "a1")->groups[1], "web"))
MUTATION(m_ep_groups_many, ep(c, "a1")->n_groups = CTL_MAX_EP_GROUPS + 1)
MUTATION(m_dup_policy, strcpy(policy(c, "p3")->name, "p1"))
MUTATION(m_policy_tenant, strcpy(policy(c, "p2")->tenant, "gamma"))
MUTATION(m_sel_group, strcpy(policy(c, "p3")->to.name, "app"))
MUTATION(m_sel_vnet, strcpy(policy(c, "p1")->to.name, "green"))
MUTATION(m_sel_ip, strcpy(policy(c, "p2")->to.name, "10.0.0.1"))
MUTATION(m_sel_mac, strcpy(policy(c, "p2")->to.name, "02:00:00:00:00:01"))
MUTATION(m_sel_kind, policy(c, "p2")->from.kind = (enum ctl_sel_kind)9)
MUTATION(m_sel_any_name, strcpy(policy(c, "p2")->from.name, "x"))
MUTATION(m_sel_empty, policy(c, "p2")->to.name[0] = '\0')
MUTATION(m_chain_missing, policy(c, "p2")->chain[0] = '\0')
MUTATION(m_chain_extra, strcpy(policy(c, "p1")->chain, "fw"))
MUTATION(m_action, policy(c, "p1")->action = (enum ctl_action)7)
MUTATION(m_priority, policy(c, "p1")->priority = -1000001)
MUTATION(m_gw_outside, set_ip(&c->vnets[0].gateways[1], "10.0.2.1"))
MUTATION(m_gw_bcast, set_ip(&c->vnets[0].gateways[1], "10.0.1.255"))
MUTATION(m_gw_family, set_ip(&c->vnets[0].gateways[0], "2001:db8::1"))
MUTATION(m_overlap, set_ip(&c->vnets[1].subnets[0].addr, "10.0.1.0"))
MUTATION(m_tenant_ip, set_ip(&ep(c, "b1")->ips[0], "10.0.0.1");
	 set_ip(&c->vnets[1].subnets[0].addr, "10.0.0.0"); strcpy(c->vnets[1].tenant, "beta"))
MUTATION(m_tenant_ip2, {
	strcpy(c->vnets[1].tenant, "acme");
	c->vnets[1].n_subnets = 0;
	set_ip(&ep(c, "b1")->ips[0], "10.0.0.1");
})
MUTATION(m_notify, c->policy.notify_port = c->vxlan_port)
MUTATION(m_per_port, c->policy.cache_entries_per_port = c->policy.cache_entries + 1)
MUTATION(m_default, c->policy.default_cross_vnet = CTL_ACT_CHAIN)
MUTATION(m_gw_mac, memset(c->policy.gateway_mac, 0, 6))
MUTATION(m_etcd_none, c->policy.backend = CTL_BACKEND_ETCD)
MUTATION(m_etcd_yaml, {
	strcpy(c->policy.etcd[0], "http://127.0.0.1:2379");
	c->policy.n_etcd = 1;
})
MUTATION(m_etcd_url, {
	c->policy.backend = CTL_BACKEND_ETCD;
	strcpy(c->policy.etcd[0], "http://h:0");
	c->policy.n_etcd = 1;
})
MUTATION(m_etcd_prefix, strcpy(c->policy.etcd_prefix, "/x/"))

static void test_validate_model_rejects(void)
{
	static const struct {
		void (*mutate)(struct ctl_config *);
		const char *msg;
	} cases[] = {
		{ mut_m_dup_tenant, "tenant 'acme': name: duplicate tenant name 'acme'" },
		{ mut_m_vnet_tenant, "virtual network 'solo': tenant: no tenant named 'gamma'" },
		{ mut_m_group_tenant, "group 'db': tenant: no tenant named 'gamma'" },
		{ mut_m_dup_group, "group 'web': name: duplicate group name 'web'" },
		{ mut_m_ep_group, "endpoint 'b1': groups: no group named 'app'" },
		{ mut_m_ep_group_twice, "endpoint 'a1': groups: 'web' is listed twice" },
		{ mut_m_ep_groups_many, "endpoint 'a1': groups: too many entries (9, at most 8)" },
		{ mut_m_dup_policy, "policy 'p1': name: duplicate policy name 'p1'" },
		{ mut_m_policy_tenant, "policy 'p2': tenant: no tenant named 'gamma'" },
		{ mut_m_sel_group, "policy 'p3': to: no group named 'app'" },
		{ mut_m_sel_vnet, "policy 'p1': to: no virtual network named 'green'" },
		{ mut_m_sel_ip, "policy 'p2': to: '10.0.0.1' (an IP address) is a physical location; "
				"policies name only VMs, groups and virtual networks" },
		{ mut_m_sel_mac, "policy 'p2': to: '02:00:00:00:00:01' (a MAC address) is a physical "
				 "location; policies name only VMs, groups and virtual networks" },
		{ mut_m_sel_kind, "policy 'p2': from: selector kind 9 is not one of any, vnet, group, "
				  "vm" },
		{ mut_m_sel_any_name, "policy 'p2': from: 'any' takes no name" },
		{ mut_m_sel_empty, "policy 'p2': to.vm: must not be empty" },
		{ mut_m_chain_missing, "policy 'p2': has action 'chain' but no 'chain' to send "
				       "traffic through" },
		{ mut_m_chain_extra, "policy 'p1': chain: only with action 'chain'" },
		{ mut_m_action, "policy 'p1': action: 7 is not one of allow, deny, chain" },
		{ mut_m_priority, "policy 'p1': priority: -1000001 is out of range "
				  "(-1000000..1000000)" },
		{ mut_m_gw_outside, "virtual network 'blue': subnets: gateway 10.0.2.1 is not inside "
				    "10.0.1.0/24" },
		{ mut_m_gw_bcast, "virtual network 'blue': subnets: gateway 10.0.1.255 is the "
				  "broadcast address of 10.0.1.0/24" },
		{ mut_m_gw_family, "virtual network 'blue': subnets: gateway 2001:db8::1 is not "
				   "inside 10.0.0.0/24" },
		{ mut_m_overlap, "virtual network 'red': subnets: 10.0.1.0/24 overlaps 10.0.1.0/24 of "
				 "network 'blue' (both in tenant 'acme')" },
		{ mut_m_tenant_ip2, "endpoint 'b1': ips: 10.0.0.1 is already used in tenant 'acme' "
				    "by endpoint 'a1' (network 'blue')" },
		{ mut_m_notify, "policy: notify_port: 4789 is also vxlan.udp_port" },
		{ mut_m_per_port, "policy: cache_entries_per_port: 65537 is more than cache_entries "
				  "(65536)" },
		{ mut_m_default, "policy: default_cross_vnet: a default is allow or deny" },
		{ mut_m_gw_mac, "policy: gateway_mac: the all-zero MAC address is not allowed" },
		{ mut_m_etcd_none, "policy_service: backend etcd needs etcd.endpoints (at least one "
				   "http://HOST:PORT)" },
		{ mut_m_etcd_yaml, "policy_service: etcd: only with backend etcd" },
		{ mut_m_etcd_url, "policy_service.etcd: endpoints: 'http://h:0' is not "
				  "http://HOST:PORT" },
		{ mut_m_etcd_prefix, "policy_service.etcd: prefix: '/x/' must start with '/' and not "
				     "end with one" },
	};
	struct ctl_config *base = LOAD(model_yaml);

	if (base == NULL)
		return;
	CU_ASSERT_EQUAL(ctl_config_validate(base, NULL, 0), 0);
	/* Another tenant's network may reuse the address. */
	{
		struct ctl_config *c = ctl_config_dup(base);

		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		mut_m_tenant_ip(c);
		CU_ASSERT_EQUAL(ctl_config_validate(c, NULL, 0), 0);
		ctl_config_free(c);
	}
	for (unsigned i = 0; i < UNIT_DIM(cases); i++) {
		char err[CTL_ERR_MAX] = "";
		struct ctl_config *c = ctl_config_dup(base);
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		cases[i].mutate(c);
		rc = ctl_config_validate(c, err, sizeof(err));
		check_(rc == -EINVAL && !strcmp(err, cases[i].msg), __LINE__,
		       "case %u: expected '%s' (-EINVAL), got '%s' (%d)", i, cases[i].msg, err, rc);
		ctl_config_free(c);
	}
	ctl_config_free(base);
}

CHANGE(backend, {
	c->policy.backend = CTL_BACKEND_ETCD;
	strcpy(c->policy.etcd[0], "http://127.0.0.1:2379");
	c->policy.n_etcd = 1;
})
CHANGE(etcd_prefix, strcpy(c->policy.etcd_prefix, "/other"))
CHANGE(lease, c->policy.lease_ttl_s = 10)
CHANGE(etcd_timeout, c->policy.etcd_timeout_ms = 2000)
CHANGE(cache, c->policy.cache_entries = 131072)
CHANGE(per_port, c->policy.cache_entries_per_port = 16)
CHANGE(notify_port, c->policy.notify_port = 4800)

static void test_restart_needed_model(void)
{
	static const struct {
		void (*change)(struct ctl_config *);
		const char *msg;
	} cases[] = {
		{ chg_backend, "policy_service: backend changed (yaml -> etcd): a restart is needed" },
		{ chg_etcd_prefix, "policy_service.etcd: prefix changed (/dpdk-vswitch -> /other): a "
				   "restart is needed" },
		{ chg_lease, "policy_service.etcd: lease_ttl changed (5 -> 10): a restart is needed" },
		{ chg_etcd_timeout, "policy_service.etcd: timeout_ms changed (1000 -> 2000): a "
				    "restart is needed" },
		{ chg_cache, "policy: cache_entries changed (65536 -> 131072): a restart is needed" },
		{ chg_per_port, "policy: cache_entries_per_port changed (16384 -> 16): a restart is "
				"needed" },
		{ chg_notify_port, "policy: notify_port changed (4799 -> 4800): a restart is needed" },
	};
	char err[CTL_ERR_MAX] = "x";
	struct ctl_config *a = LOAD(model_yaml), *b;

	if (a == NULL)
		return;
	/* Live: the other policy keys and the whole model. */
	b = ctl_config_dup(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	b->policy.default_same_vnet = CTL_ACT_DENY;
	b->policy.default_cross_vnet = CTL_ACT_ALLOW;
	b->policy.gateway_mac[5] = 0x77;
	b->policy.miss_hold_ms = 0;
	b->policy.misses_per_port_per_s = 5;
	b->policy.notify_interval_ms = 0;
	b->n_tenants = 1;
	b->n_groups = 0;
	b->n_policies = 1;
	strcpy(b->policies[0].name, "renamed");
	strcpy(b->vnets[2].tenant, "beta");
	CU_ASSERT_EQUAL(ctl_config_restart_needed(a, b, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	ctl_config_free(b);
	for (unsigned i = 0; i < UNIT_DIM(cases); i++) {
		int rc;

		b = ctl_config_dup(a);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		cases[i].change(b);
		rc = ctl_config_restart_needed(a, b, err, sizeof(err));
		check_(rc == -EINVAL && !strcmp(err, cases[i].msg), __LINE__,
		       "case %u: expected '%s', got '%s' (%d)", i, cases[i].msg, err, rc);
		ctl_config_free(b);
	}
	ctl_config_free(a);
}

static void test_state_model_round_trip(void)
{
	char err[CTL_ERR_MAX] = "", path[256];
	struct ctl_config *cfg = LOAD(model_yaml), *other = NULL;
	char *text = NULL;
	size_t len = 0;

	if (cfg == NULL)
		return;
	path_in(path, sizeof(path), "model/state.yaml");
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	text = read_all(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* The configuration's own syntax: mapping-form subnets, mapping selectors. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "{prefix: 10.0.1.0/24, gateway: 10.0.1.1}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "from: {group: web}, to: {vnet: red}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "from: any, to: {vm: far-away}, action: chain, "
					    "chain: fw"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "priority: -5"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "groups: [web, db]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ntenants:\n"));
	other = LOAD("workers: {lcores: [1]}\n"
		     "physical_ports: [{name: ul0, devargs: net_null0, ip: 192.0.2.1/24}]\n");
	if (other == NULL)
		goto out;
	CU_ASSERT_EQUAL(ctl_config_load_state(other, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	EXPECT_SAME_MODEL(cfg, other);
	CU_ASSERT_PTR_EQUAL(other->policies[0].file, other->file);
	CU_ASSERT_EQUAL(other->policies[0].line, 0);
	CU_ASSERT_EQUAL(other->tenants[0].origin, CTL_FROM_CONFIG);
	CU_ASSERT_EQUAL(ctl_config_validate(other, err, sizeof(err)), 0);
out:
	free(text);
	ctl_config_free(other);
	ctl_config_free(cfg);
}

/* Objects read from the policy service live there, never in the state file. */
static void test_state_skips_service_objects(void)
{
	char err[CTL_ERR_MAX] = "", path[256];
	struct ctl_config *cfg = LOAD(model_yaml), *back = NULL;
	char *text = NULL;
	size_t len = 0;

	if (cfg == NULL)
		return;
	tenant(cfg, "beta")->origin = CTL_FROM_SERVICE;
	cfg->groups[1].origin = CTL_FROM_SERVICE;       /* db */
	cfg->vnets[2].origin = CTL_FROM_SERVICE;        /* solo */
	ep(cfg, "b1")->origin = CTL_FROM_SERVICE;
	policy(cfg, "p3")->origin = CTL_FROM_SERVICE;   /* names solo and db */
	strcpy(ep(cfg, "a1")->groups[1], "web");
	ep(cfg, "a1")->n_groups = 1;
	path_in(path, sizeof(path), "origin/state.yaml");
	CU_ASSERT_EQUAL_FATAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	text = read_all(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NULL(strstr(text, "beta"));
	CU_ASSERT_PTR_NULL(strstr(text, "name: db"));
	CU_ASSERT_PTR_NULL(strstr(text, "solo"));
	CU_ASSERT_PTR_NULL(strstr(text, "b1"));
	CU_ASSERT_PTR_NULL(strstr(text, "p3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "name: p1"));
	back = LOAD("workers: {lcores: [1]}\n"
		    "physical_ports: [{name: ul0, devargs: net_null0, ip: 192.0.2.1/24}]\n");
	if (back == NULL)
		goto out;
	CU_ASSERT_EQUAL(ctl_config_load_state(back, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(back->n_tenants, 1);
	CU_ASSERT_EQUAL(back->n_groups, 1);
	CU_ASSERT_EQUAL(back->n_vnets, 2);
	CU_ASSERT_EQUAL(back->n_endpoints, 1);
	CU_ASSERT_EQUAL(back->n_policies, 2);
	/* Everything service-made gone: an empty list is written as []. */
	for (unsigned i = 0; i < cfg->n_tenants; i++)
		cfg->tenants[i].origin = CTL_FROM_SERVICE;
	for (unsigned i = 0; i < cfg->n_vnets; i++)
		strcpy(cfg->vnets[i].tenant, "");
	for (unsigned i = 0; i < cfg->n_groups; i++)
		strcpy(cfg->groups[i].tenant, "");
	for (unsigned i = 0; i < cfg->n_policies; i++)
		strcpy(cfg->policies[i].tenant, "");
	CU_ASSERT_EQUAL(ctl_config_save_state(cfg, path, err, sizeof(err)), 0);
	free(text);
	text = read_all(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ntenants: []\n"));
out:
	free(text);
	ctl_config_free(back);
	ctl_config_free(cfg);
}

/* A state file written before the model existed keeps the configuration's
 * tenants, groups and policies, which must still fit it. */
static void test_state_without_model_sections(void)
{
#define OLD_HEAD "state_version: 1\nvhost_ports: []\nvirtual_networks:\n"                  \
	"- {name: blue, vni: 100, tenant: acme, subnets: [10.0.0.0/24]}\n"                  \
	"- {name: solo, vni: 300}\n"
	static const char old[] = OLD_HEAD "- {name: red, vni: 200}\n"
		"endpoints:\n- {name: e, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.9,"
		" groups: [web]}\n...\n";
	static const char no_red[] = OLD_HEAD "endpoints: []\n...\n";
	char err[CTL_ERR_MAX] = "", path[256];
	struct ctl_config *cfg = LOAD(model_yaml);
	struct ctl_tenant *t;

	if (cfg == NULL)
		return;
	/* p1 names network red: without it the file is refused, nothing changed;
	 * the policy has no line in the state file, so it is named. */
	path_in(path, sizeof(path), "old.yaml");
	write_file(path, no_red, strlen(no_red));
	EXPECT_LOAD_FAILS(cfg, path, -EINVAL, "policy 'p1': to: no virtual network named 'red'");

	t = cfg->tenants;
	write_file(path, old, strlen(old));
	CU_ASSERT_EQUAL(ctl_config_load_state(cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_PTR_EQUAL(cfg->tenants, t);
	CU_ASSERT_EQUAL(cfg->n_tenants, 2);
	CU_ASSERT_EQUAL(cfg->n_groups, 2);
	CU_ASSERT_EQUAL(cfg->n_policies, 3);
	CU_ASSERT_EQUAL(cfg->n_vnets, 3);
	CU_ASSERT_STRING_EQUAL(cfg->vnets[2].tenant, "");
	CU_ASSERT_EQUAL(cfg->n_endpoints, 1);
	CU_ASSERT_EQUAL(ctl_config_validate(cfg, err, sizeof(err)), 0);
	ctl_config_free(cfg);
#undef OLD_HEAD
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{ "dup is deep and independent", test_dup_deep },
		{ "dup of empty sections", test_dup_empty },
		{ "validate accepts what the loader accepts", test_validate_accepts_loaded },
		{ "validate rejects each rule with the object's name", test_validate_rejects },
		{ "validate names objects, not lines", test_validate_names_objects_not_lines },
		{ "validate 1,000,000 endpoints", test_validate_million },
		{ "restart needed for each restart-only setting", test_restart_needed },
		{ "state round trip equals the original", test_state_round_trip },
		{ "state with empty sections", test_state_empty_sections },
		{ "truncated state rejected, config unchanged", test_state_truncated },
		{ "bad state rejected, config unchanged", test_state_rejected },
		{ "missing state file is ENOENT", test_state_missing },
		{ "save creates the directory", test_state_save_creates_dir },
		{ "save leaves no temp file", test_state_save_no_temp_left },
		{ "state with 200k endpoints", test_state_many_endpoints },
		{ "dup copies tenants, groups and policies", test_model_dup },
		{ "validate rejects each model rule with the object's name",
		  test_validate_model_rejects },
		{ "restart needed for policy_service and the decision cache",
		  test_restart_needed_model },
		{ "state round trip of the model", test_state_model_round_trip },
		{ "state keeps only objects from the configuration", test_state_skips_service_objects },
		{ "state without model sections keeps the configuration's",
		  test_state_without_model_sections },
	};
	const struct unit_suite suite = { "config_state", tests, UNIT_DIM(tests), suite_init,
					  suite_clean, NULL, NULL };

	return unit_run(&suite, argc > 1 ? argv[1] : NULL);
}
