/* Unit tests of the configuration loader (src/ctl/ctl_config.c).
 *
 * Every rule in docs/config.md is exercised with a small YAML text and
 * checked for the exact "file:line:col:" of the error and a key phrase,
 * so error positions stay useful to someone fixing a config by hand.
 * Run under ASan: every load, failed or not, must free everything.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

#include "ctl_config.h"
#include "ctl_proto.h"

/* Lines 1-2 of most inputs below. */
#define W "workers:\n  lcores: [1]\n"

/* A physical port, a vhost port and a network: lines 3-13 after W. */
#define PORTS_NET                      \
	"physical_ports:\n"            \
	"  - name: ul0\n"              \
	"    devargs: net_null0\n"     \
	"    ip: 192.0.2.1/24\n"       \
	"vhost_ports:\n"               \
	"  - name: v1\n"               \
	"    socket: /tmp/v1.sock\n"   \
	"virtual_networks:\n"          \
	"  - name: blue\n"             \
	"    vni: 100\n"               \
	"    subnets: [10.0.0.0/24]\n"

/* Endpoint entries start on line 15. */
#define EP_HDR W PORTS_NET "endpoints:\n"

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

static struct ctl_config *load_ok_(const char *path, const char *text, int line)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg = ctl_config_load(path, text, err, sizeof(err));

	check_(cfg != NULL, line, "load should succeed, got: %s", err);
	return cfg;
}
#define LOAD_OK(text) load_ok_("t.yaml", (text), __LINE__)

/* Loads @text as "t.yaml"; expects failure with EINVAL, @where as the
 * exact message prefix and @phrase somewhere in the message. */
static void expect_err_(const char *text, const char *where, const char *phrase, int line)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg;
	int e;

	errno = 0;
	cfg = ctl_config_load("t.yaml", text, err, sizeof(err));
	e = errno;
	check_(cfg == NULL && e == EINVAL && strncmp(err, where, strlen(where)) == 0 &&
	       err[strlen(where)] == ' ' && strstr(err, phrase) != NULL,
	       line, "expected '%s ...%s...' (EINVAL), got '%s' (errno %d)", where, phrase, err, e);
	ctl_config_free(cfg);
}
#define EXPECT_ERR(text, where, phrase) expect_err_((text), (where), (phrase), __LINE__)

/* ---- source tree -------------------------------------------------------- */

/* The source tree: $VS_SOURCE_DIR, else three levels above this file. */
static void source_path(char *buf, size_t len, const char *rel)
{
	const char *dir = getenv("VS_SOURCE_DIR");
	const char *me = __FILE__, *suffix = "tests/unit/test_config.c";
	size_t n = strlen(me), sl = strlen(suffix);

	if (dir && *dir) {
		snprintf(buf, len, "%s/%s", dir, rel);
	} else if (n >= sl && !strcmp(me + n - sl, suffix)) {
		int prefix = (int)(n - sl);

		snprintf(buf, len, "%.*s%s", prefix, me, rel);
		if (prefix == 0)
			snprintf(buf, len, "./%s", rel);
	} else {
		snprintf(buf, len, "%s", rel);
	}
}

/* ---- good configurations ------------------------------------------------ */

static void test_default_config(void)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg = ctl_config_load(NULL, ctl_config_default_yaml, err, sizeof(err));

	check_(cfg != NULL, __LINE__, "embedded default config: %s", err);
	if (cfg == NULL)
		return;
	/* config/default.yaml is edited by hand: check its shape, not its values. */
	CU_ASSERT_STRING_EQUAL(cfg->file, "<embedded>");
	CU_ASSERT_NOT_EQUAL(cfg->eal.lcores[0], '\0');
	CU_ASSERT_TRUE(cfg->workers.n_lcores >= 1);
	CU_ASSERT_EQUAL(cfg->ctl_socket[0], '/');
	CU_ASSERT_NOT_EQUAL(cfg->vxlan_port, 0);
	CU_ASSERT_TRUE(cfg->n_phys >= 1);
	CU_ASSERT_TRUE(cfg->n_vnets >= 1);
	CU_ASSERT_TRUE(cfg->n_endpoints >= 1);
	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		const struct ctl_endpoint *ep = &cfg->endpoints[i];

		CU_ASSERT_STRING_EQUAL(ep->file, "<embedded>");
		CU_ASSERT_TRUE(ep->line > 0 && ep->col > 0);
		if (ep->where == CTL_EP_LOCAL) {
			CU_ASSERT_NOT_EQUAL(ep->port[0], '\0');
		} else {
			CU_ASSERT_NOT_EQUAL(ep->tep, 0);
		}
	}
	ctl_config_free(cfg);

	/* No error buffer is fine too. */
	cfg = ctl_config_load(NULL, ctl_config_default_yaml, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL(cfg);
	ctl_config_free(cfg);
	CU_ASSERT_PTR_NULL(ctl_config_load("t.yaml", "foo: 1\n", NULL, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
}

static struct ctl_config *load_example(const char *rel, char *path, size_t len)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg;

	source_path(path, len, rel);
	cfg = ctl_config_load(path, NULL, err, sizeof(err));
	check_(cfg != NULL, __LINE__, "%s: %s", path, err);
	return cfg;
}

/* The etcd examples: same cluster and prefix, the same logical model, and
 * each lists only its own VM (the other comes from etcd). */
static void test_etcd_examples(void)
{
	char pa[4096], pb[4096];
	struct ctl_config *a = load_example("config/etcd/host-a.yaml", pa, sizeof(pa));
	struct ctl_config *b = load_example("config/etcd/host-b.yaml", pb, sizeof(pb));

	if (a && b) {
		CU_ASSERT_EQUAL(a->policy.backend, CTL_BACKEND_ETCD);
		CU_ASSERT_EQUAL(b->policy.backend, CTL_BACKEND_ETCD);
		CU_ASSERT_EQUAL(a->policy.n_etcd, 3);
		CU_ASSERT_EQUAL(b->policy.n_etcd, 3);
		CU_ASSERT_STRING_EQUAL(a->policy.etcd_prefix, b->policy.etcd_prefix);
		CU_ASSERT_STRING_NOT_EQUAL(a->ctl_socket, b->ctl_socket);
		CU_ASSERT_EQUAL(a->n_vnets, b->n_vnets);
		for (unsigned i = 0; i < a->n_vnets && i < b->n_vnets; i++) {
			CU_ASSERT_STRING_EQUAL(a->vnets[i].name, b->vnets[i].name);
			CU_ASSERT_EQUAL(a->vnets[i].vni, b->vnets[i].vni);
			CU_ASSERT_EQUAL(a->vnets[i].gateways[0].v4, b->vnets[i].gateways[0].v4);
		}
		CU_ASSERT_EQUAL(a->n_policies, 1);
		CU_ASSERT_EQUAL(a->n_endpoints, 1);
		CU_ASSERT_EQUAL(b->n_endpoints, 1);
		CU_ASSERT_EQUAL(a->endpoints[0].where, CTL_EP_LOCAL);
		CU_ASSERT_EQUAL(b->endpoints[0].where, CTL_EP_LOCAL);
	}
	ctl_config_free(a);
	ctl_config_free(b);
}

static void test_two_hosts(void)
{
	char pa[4096], pb[4096];
	struct ctl_config *a = load_example("config/two-hosts/host-a.yaml", pa, sizeof(pa));
	struct ctl_config *b = load_example("config/two-hosts/host-b.yaml", pb, sizeof(pb));

	if (a && b) {
		CU_ASSERT_STRING_EQUAL(a->file, pa);
		CU_ASSERT_STRING_NOT_EQUAL(a->eal.file_prefix, b->eal.file_prefix);
		CU_ASSERT_STRING_NOT_EQUAL(a->ctl_socket, b->ctl_socket);
		CU_ASSERT_STRING_EQUAL(a->eal.lcores, "0@0,1@1");
		CU_ASSERT_EQUAL(a->phys[0].ip, htonl(0xc6336401));   /* 198.51.100.1 */
		CU_ASSERT_EQUAL(b->phys[0].ip, htonl(0xc6336402));
		CU_ASSERT_EQUAL(a->phys[0].prefix_len, 24);
		CU_ASSERT_STRING_EQUAL(a->phys[0].devargs, "net_af_packet0,iface=vsA");
		CU_ASSERT_STRING_EQUAL(b->phys[0].devargs, "net_af_packet0,iface=vsB");
		CU_ASSERT_EQUAL(a->vhost[0].mode, CTL_VHOST_CLIENT);
		CU_ASSERT_EQUAL(b->vhost[0].mode, CTL_VHOST_CLIENT);
		CU_ASSERT_EQUAL(strncmp(a->vhost[0].socket, "/tmp/vswitch/", 13), 0);
		CU_ASSERT_EQUAL(strncmp(b->vhost[0].socket, "/tmp/vswitch/", 13), 0);
		CU_ASSERT_EQUAL(a->vnets[0].vni, b->vnets[0].vni);
		CU_ASSERT_EQUAL(a->n_endpoints, 2);
		CU_ASSERT_EQUAL(b->n_endpoints, 2);
		/* Each host's local VM is the other's remote one, behind the other's TEP. */
		for (unsigned i = 0; i < 2; i++) {
			const struct ctl_endpoint *ea = &a->endpoints[i], *eb = &b->endpoints[i];

			CU_ASSERT_STRING_EQUAL(ea->name, eb->name);
			CU_ASSERT_EQUAL(memcmp(ea->mac, eb->mac, 6), 0);
			CU_ASSERT_NOT_EQUAL(ea->where, eb->where);
			if (ea->where == CTL_EP_REMOTE)
				CU_ASSERT_EQUAL(ea->tep, b->phys[0].ip);
			if (eb->where == CTL_EP_REMOTE)
				CU_ASSERT_EQUAL(eb->tep, a->phys[0].ip);
		}
		CU_ASSERT_STRING_EQUAL(a->endpoints[0].name, "a1");
		CU_ASSERT_EQUAL(a->endpoints[0].where, CTL_EP_LOCAL);
		CU_ASSERT_EQUAL(a->endpoints[0].ips[0].v4, htonl(0x0a000001));
		CU_ASSERT_EQUAL(b->endpoints[1].ips[0].v4, htonl(0x0a000002));
	}
	ctl_config_free(a);
	ctl_config_free(b);
}

static void test_defaults(void)
{
	struct ctl_config *cfg = LOAD_OK(W
		"physical_ports:\n"
		"  - {name: p0, devargs: net_null0, ip: 192.0.2.1/24}\n"
		"vhost_ports:\n"
		"  - {name: v0, socket: /tmp/v0.sock}\n"
		"virtual_networks:\n"
		"  - {name: n, vni: 1}\n"
		"endpoints:\n"
		"  - {name: e, mac: '02:00:00:00:00:01', vnet: n, port: v0}\n");

	if (cfg == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(cfg->file, "t.yaml");
	CU_ASSERT_EQUAL(cfg->eal.main_lcore, 0);
	CU_ASSERT_EQUAL(cfg->eal.memory_mb, 0);
	CU_ASSERT_STRING_EQUAL(cfg->eal.file_prefix, "dpdk-vswitch");
	CU_ASSERT_FALSE(cfg->eal.in_memory);
	CU_ASSERT_FALSE(cfg->eal.no_huge);
	CU_ASSERT_EQUAL(cfg->eal.n_args, 0);
	CU_ASSERT_STRING_EQUAL(cfg->eal.lcores, "0@0,1@1");
	CU_ASSERT_EQUAL(cfg->workers.idle_sleep_max_us, 200);
	CU_ASSERT_EQUAL(cfg->workers.mbufs, 16384);
	CU_ASSERT_STRING_EQUAL(cfg->ctl_socket, CTL_PROTO_DEFAULT_SOCKET);
	CU_ASSERT_EQUAL(cfg->vxlan_port, 4789);
	CU_ASSERT_EQUAL(cfg->phys[0].rx_queues, 1);
	CU_ASSERT_EQUAL(cfg->phys[0].mtu, 1500);
	CU_ASSERT_EQUAL(cfg->phys[0].gateway, 0);
	CU_ASSERT_EQUAL(cfg->vhost[0].mode, CTL_VHOST_CLIENT);
	CU_ASSERT_EQUAL(cfg->vhost[0].queues, 1);
	CU_ASSERT_STRING_EQUAL(cfg->vhost[0].vm, "");
	CU_ASSERT_EQUAL(cfg->vnets[0].n_subnets, 0);
	CU_ASSERT_FALSE(cfg->vnets[0].flood);
	CU_ASSERT_EQUAL(cfg->endpoints[0].n_ips, 0);
	/* Where each object was declared, for later messages. */
	CU_ASSERT_STRING_EQUAL(cfg->phys[0].file, "t.yaml");
	CU_ASSERT_EQUAL(cfg->phys[0].line, 4);
	CU_ASSERT_EQUAL(cfg->phys[0].col, 5);
	CU_ASSERT_EQUAL(cfg->vhost[0].line, 6);
	CU_ASSERT_EQUAL(cfg->vnets[0].line, 8);
	CU_ASSERT_EQUAL(cfg->endpoints[0].line, 10);
	CU_ASSERT_EQUAL(cfg->endpoints[0].col, 5);
	ctl_config_free(cfg);

	/* Only workers is required; empty lists and sections are allowed. */
	cfg = LOAD_OK(
		W "eal:\nphysical_ports: []\nvhost_ports:\nvirtual_networks: ~\nendpoints: null\n");
	if (cfg) {
		CU_ASSERT_EQUAL(cfg->n_phys + cfg->n_vhost + cfg->n_vnets + cfg->n_endpoints, 0);
		CU_ASSERT_PTR_NULL(cfg->vnets);
		CU_ASSERT_PTR_NULL(cfg->endpoints);
		CU_ASSERT_STRING_EQUAL(cfg->eal.file_prefix, "dpdk-vswitch");
	}
	ctl_config_free(cfg);
}

static void test_all_keys(void)
{
	struct ctl_config *cfg = LOAD_OK(
		"eal:\n"
		"  lcores: \"2@(2,3),4@4\"\n"
		"  main_lcore: 2\n"
		"  memory_mb: 65536\n"
		"  file_prefix: my_prefix-1\n"
		"  in_memory: yes\n"
		"  no_huge: On\n"
		"  args: [--no-pci, \"--log-level=lib.eal:debug\"]\n"
		"workers:\n"
		"  lcores: [4, 127]\n"
		"  idle_sleep_max_us: 0\n"
		"  mbufs: 4194304\n"
		"control:\n"
		"  socket: /tmp/x/ctl.sock\n"
		"vxlan:\n"
		"  udp_port: 65535\n"
		"physical_ports:\n"
		"  - name: p.0_x-y\n"
		"    devargs: 0000:00:04.0\n"
		"    rx_queues: 16\n"
		"    ip: 198.51.100.2/30\n"
		"    gateway: 198.51.100.1\n"
		"    mtu: 9600\n"
		"vhost_ports:\n"
		"  - name: v\n"
		"    socket: /tmp/v.sock\n"
		"    mode: server\n"
		"    queues: 16\n"
		"    vm: some vm\n"
		"virtual_networks:\n"
		"  - name: six\n"
		"    vni: 16777215\n"
		"    subnets: [10.1.0.0/16, \"2001:db8::/64\", 0.0.0.0/0]\n"
		"    flood: TRUE\n"
		"endpoints:\n"
		"  - name: e\n"
		"    mac: 02:AB:cd:00:00:01\n"
		"    ips: [10.1.2.3, \"2001:db8::1\", 192.168.0.1, \"2001:db8::2\"]\n"
		"    vnet: six\n"
		"    port: v\n");

	if (cfg == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(cfg->eal.lcores, "2@(2,3),4@4");
	CU_ASSERT_EQUAL(cfg->eal.main_lcore, 2);
	CU_ASSERT_EQUAL(cfg->eal.memory_mb, 65536);
	CU_ASSERT_STRING_EQUAL(cfg->eal.file_prefix, "my_prefix-1");
	CU_ASSERT_TRUE(cfg->eal.in_memory);
	CU_ASSERT_TRUE(cfg->eal.no_huge);
	CU_ASSERT_EQUAL(cfg->eal.n_args, 2);
	CU_ASSERT_STRING_EQUAL(cfg->eal.args[1], "--log-level=lib.eal:debug");
	CU_ASSERT_EQUAL(cfg->workers.n_lcores, 2);
	CU_ASSERT_EQUAL(cfg->workers.lcores[1], 127);
	CU_ASSERT_EQUAL(cfg->workers.idle_sleep_max_us, 0);
	CU_ASSERT_EQUAL(cfg->workers.mbufs, 4194304);
	CU_ASSERT_STRING_EQUAL(cfg->ctl_socket, "/tmp/x/ctl.sock");
	CU_ASSERT_EQUAL(cfg->vxlan_port, 65535);
	CU_ASSERT_STRING_EQUAL(cfg->phys[0].name, "p.0_x-y");
	CU_ASSERT_STRING_EQUAL(cfg->phys[0].devargs, "0000:00:04.0");
	CU_ASSERT_EQUAL(cfg->phys[0].rx_queues, 16);
	CU_ASSERT_EQUAL(cfg->phys[0].prefix_len, 30);
	CU_ASSERT_EQUAL(cfg->phys[0].mtu, 9600);
	CU_ASSERT_EQUAL(cfg->vhost[0].mode, CTL_VHOST_SERVER);
	CU_ASSERT_EQUAL(cfg->vhost[0].queues, 16);
	CU_ASSERT_STRING_EQUAL(cfg->vhost[0].vm, "some vm");
	CU_ASSERT_EQUAL(cfg->vnets[0].vni, 16777215);
	CU_ASSERT_EQUAL(cfg->vnets[0].n_subnets, 3);
	CU_ASSERT_EQUAL(cfg->vnets[0].subnets[1].addr.family, AF_INET6);
	CU_ASSERT_EQUAL(cfg->vnets[0].subnets[1].len, 64);
	CU_ASSERT_EQUAL(cfg->vnets[0].subnets[2].len, 0);
	CU_ASSERT_TRUE(cfg->vnets[0].flood);
	CU_ASSERT_EQUAL(cfg->endpoints[0].n_ips, 4);
	CU_ASSERT_EQUAL(cfg->endpoints[0].mac[1], 0xab);
	CU_ASSERT_EQUAL(cfg->endpoints[0].mac[2], 0xcd);
	CU_ASSERT_EQUAL(cfg->endpoints[0].where, CTL_EP_LOCAL);
	ctl_config_free(cfg);
}

static void test_lcores_autofill(void)
{
	struct ctl_config *cfg = LOAD_OK("eal: {main_lcore: 2}\nworkers: {lcores: [3, 5, 4]}\n");

	if (cfg)
		CU_ASSERT_STRING_EQUAL(cfg->eal.lcores, "2@2,3@3,5@5,4@4");
	ctl_config_free(cfg);

	/* Empty strings: EAL's own file prefix, derived lcores. */
	cfg = LOAD_OK("eal: {lcores: '', file_prefix: ''}\nworkers: {lcores: [1]}\n");
	if (cfg) {
		CU_ASSERT_STRING_EQUAL(cfg->eal.lcores, "0@0,1@1");
		CU_ASSERT_STRING_EQUAL(cfg->eal.file_prefix, "");
	}
	ctl_config_free(cfg);

	/* An explicit map is kept verbatim. */
	cfg = LOAD_OK("eal: {lcores: '0@1,1@2'}\nworkers: {lcores: [1]}\n");
	if (cfg)
		CU_ASSERT_STRING_EQUAL(cfg->eal.lcores, "0@1,1@2");
	ctl_config_free(cfg);

	/* 17 three-digit lcores do not fit as "L@C": the shorter "L" form is used. */
	cfg = LOAD_OK(
		"eal: {main_lcore: 100}\n"
		"workers: {lcores: [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112,"
		" 113, 114, 115, 116]}\n");
	if (cfg)
		CU_ASSERT_STRING_EQUAL(
			cfg->eal.lcores,
			"100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116");
	ctl_config_free(cfg);
}

static void test_byte_order(void)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x05 };
	struct ctl_config *cfg;
	const uint8_t *b;

	cfg = LOAD_OK(
		W
		"vxlan: {udp_port: 8472}\n"
		"physical_ports:\n"
		"  - {name: p, devargs: d, ip: 192.0.2.10/24, gateway: 192.0.2.254}\n"
		"virtual_networks:\n"
		"  - {name: n, vni: 65536, subnets: ['10.20.0.0/16', '2001:db8::/32']}\n"
		"endpoints:\n"
		"  - {name: e, mac: '02:00:00:00:00:01', ips: [10.20.30.40, '2001:db8::5'], vnet: n,"
		" tep: 203.0.113.7}\n");
	if (cfg == NULL)
		return;
	/* Addresses: network order, i.e. the bytes as written, left to right. */
	b = (const uint8_t *)&cfg->phys[0].ip;
	CU_ASSERT(b[0] == 192 && b[1] == 0 && b[2] == 2 && b[3] == 10);
	CU_ASSERT_EQUAL(cfg->phys[0].ip, htonl(0xc000020a));
	CU_ASSERT_EQUAL(cfg->phys[0].gateway, htonl(0xc00002fe));
	CU_ASSERT_EQUAL(cfg->endpoints[0].tep, htonl(0xcb007107));
	CU_ASSERT_EQUAL(cfg->endpoints[0].ips[0].family, AF_INET);
	CU_ASSERT_EQUAL(cfg->endpoints[0].ips[0].v4, htonl(0x0a141e28));
	CU_ASSERT_EQUAL(cfg->endpoints[0].ips[1].family, AF_INET6);
	CU_ASSERT_EQUAL(memcmp(cfg->endpoints[0].ips[1].v6, v6, 16), 0);
	CU_ASSERT_EQUAL(cfg->vnets[0].subnets[0].addr.v4, htonl(0x0a140000));
	CU_ASSERT_EQUAL(cfg->vnets[0].subnets[0].len, 16);
	/* Numbers: host order. */
	CU_ASSERT_EQUAL(cfg->vxlan_port, 8472);
	CU_ASSERT_EQUAL(cfg->vnets[0].vni, 65536);
	ctl_config_free(cfg);
}

/* ---- document level ----------------------------------------------------- */

static void test_file_errors(void)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg;

	errno = 0;
	cfg = ctl_config_load("/nonexistent/dir/x.yaml", NULL, err, sizeof(err));
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/dir/x.yaml: No such file or directory");

	errno = 0;
	cfg = ctl_config_load("/", NULL, err, sizeof(err));
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(errno, EISDIR);
	CU_ASSERT_STRING_EQUAL(err, "/: Is a directory");

	errno = 0;
	cfg = ctl_config_load(NULL, NULL, err, sizeof(err));
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(errno, EINVAL);

	/* A file with an error names the file. */
	{
		char path[] = "/tmp/test_config_XXXXXX";
		int fd = mkstemp(path);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
		char want[128];

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs(W "vxlan:\n  udp_port: 0\n", f);
		fclose(f);
		cfg = ctl_config_load(path, NULL, err, sizeof(err));
		CU_ASSERT_PTR_NULL(cfg);
		snprintf(want, sizeof(want), "%s:4:13: udp_port: 0 is out of range (1..65535)",
			 path);
		CU_ASSERT_STRING_EQUAL(err, want);
		unlink(path);
	}
}

static void test_syntax_errors(void)
{
	EXPECT_ERR("workers:\n\tlcores: [1]\n", "t.yaml:2:1:", "cannot start any token");
	EXPECT_ERR(W "  mbufs: 1: 2\n", "t.yaml:3:11:", "mapping values are not allowed");
	EXPECT_ERR("workers:\n  lcores: [1\n", "t.yaml:3:1:", "did not find expected ',' or ']'");
	EXPECT_ERR(W " extra: 1\n", "t.yaml:3:2:", "did not find expected key");
	EXPECT_ERR("workers:\n  lcores: *nowhere\n", "t.yaml:2:11:", "undefined alias");
	EXPECT_ERR(W "eal: {file_prefix: \"abc}\n", "t.yaml:4:1:", "unexpected end of stream");
	EXPECT_ERR(W "\xff\n", "t.yaml:3:1:", "invalid leading UTF-8 octet");
	/* Anchors and aliases themselves are fine. */
	{
		struct ctl_config *cfg =
			LOAD_OK("eal: {file_prefix: &p abc}\nworkers: {lcores: [1]}\n"
				"vhost_ports: [{name: *p, socket: /v}]\n");

		if (cfg)
			CU_ASSERT_STRING_EQUAL(cfg->vhost[0].name, "abc");
		ctl_config_free(cfg);
	}
}

static void test_document_shape(void)
{
	EXPECT_ERR("", "t.yaml:1:1:", "empty configuration document");
	EXPECT_ERR("# nothing but a comment\n\n", "t.yaml:1:1:", "empty configuration document");
	EXPECT_ERR("---\n", "t.yaml:1:1:", "empty configuration document");
	EXPECT_ERR("- workers\n",
		   "t.yaml:1:1:", "expected a mapping at the top level, got a sequence");
	EXPECT_ERR("\n\n  just text\n",
		   "t.yaml:3:3:", "expected a mapping at the top level, got 'just text'");
	EXPECT_ERR(W "---\n" W, "t.yaml:4:1:", "only one YAML document is allowed");
	EXPECT_ERR("eal: {}\n", "t.yaml:1:1:", "missing required key 'workers' in configuration");
	EXPECT_ERR("[a]: 1\n" W,
		   "t.yaml:1:1:", "expected a key name in configuration, got a sequence");
	EXPECT_ERR(W "vhost_ports:\n  - name: v\n    socket: \"/a\\0b\"\n", "t.yaml:5:13:",
		   "socket: value contains a NUL character");
}

static void test_unknown_keys(void)
{
	EXPECT_ERR(
		W "\nworker:\n  lcores: [1]\n", "t.yaml:4:1:",
		"unknown key 'worker' in configuration (expected one of: eal, workers, control, vxlan, "
		"physical_ports, vhost_ports, tenants, virtual_networks, groups, endpoints, policies, "
		"policy, policy_service)");
	EXPECT_ERR("eal:\n  huge: 1\n" W, "t.yaml:2:3:", "unknown key 'huge' in eal");
	EXPECT_ERR(W "  lcore: 2\n", "t.yaml:3:3:", "unknown key 'lcore' in workers");
	EXPECT_ERR(W "control: {path: /x}\n", "t.yaml:3:11:", "unknown key 'path' in control");
	EXPECT_ERR(W "vxlan: {port: 1}\n", "t.yaml:3:9:", "unknown key 'port' in vxlan");
	EXPECT_ERR(
		W "physical_ports:\n"
		  "  - name: p\n"
		  "    devargs: d\n"
		  "    rxqueues: 2\n",
		"t.yaml:6:5:",
		"unknown key 'rxqueues' in physical port (expected one of: name, devargs, rx_queues, ip, "
		"gateway, mtu, neighbors)");
	EXPECT_ERR(
		W "vhost_ports:\n  - {name: v, sock: /x}\n", "t.yaml:4:15:",
		"unknown key 'sock' in vhost port (expected one of: name, socket, mode, queues, mtu, vm)");
	EXPECT_ERR(W "virtual_networks:\n  - {name: n, vni: 1, subnet: []}\n", "t.yaml:4:23:",
		   "unknown key 'subnet' in virtual network");
	EXPECT_ERR(
		EP_HDR "  - name: a\n    MAC: '02:00:00:00:00:01'\n", "t.yaml:16:5:",
		"unknown key 'MAC' in endpoint (expected one of: name, mac, ips, vnet, port, tep, groups)");
}

static void test_duplicate_keys(void)
{
	EXPECT_ERR(W "  lcores: [2]\n",
		   "t.yaml:3:3:", "duplicate key 'lcores' in workers (first at line 2)");
	EXPECT_ERR(W "eal: {}\nvxlan: {}\neal: {}\n",
		   "t.yaml:5:1:", "duplicate key 'eal' in configuration");
	EXPECT_ERR(W "endpoints: []\nendpoints: []\n", "t.yaml:4:1:", "duplicate key 'endpoints'");
	EXPECT_ERR(W "physical_ports:\n  - {name: a, name: b}\n", "t.yaml:4:15:",
		   "duplicate key 'name' in physical port (first at line 4)");
}

static void test_types(void)
{
	EXPECT_ERR(W "physical_ports: {name: x}\n", "t.yaml:3:17:",
		   "physical_ports: expected a sequence, got a mapping");
	EXPECT_ERR(W "endpoints: none\n",
		   "t.yaml:3:12:", "endpoints: expected a sequence, got 'none'");
	EXPECT_ERR(W "eal: [a]\n", "t.yaml:3:6:", "eal: expected a mapping, got a sequence");
	EXPECT_ERR(W "vxlan: 4789\n", "t.yaml:3:8:", "vxlan: expected a mapping, got '4789'");
	EXPECT_ERR("workers:\n  lcores: 1\n",
		   "t.yaml:2:11:", "lcores: expected a sequence, got '1'");
	EXPECT_ERR("workers:\n  lcores: {a: 1}\n",
		   "t.yaml:2:11:", "lcores: expected a sequence, got a mapping");
	EXPECT_ERR("workers:\n  lcores: [[1]]\n",
		   "t.yaml:2:12:", "lcores: expected an integer, got a sequence");
	EXPECT_ERR(W "virtual_networks:\n  - blue\n", "t.yaml:4:5:",
		   "virtual_networks: expected a mapping for each virtual network, got 'blue'");
	EXPECT_ERR(W "vhost_ports:\n  - {name: [v], socket: /x}\n", "t.yaml:4:12:",
		   "name: expected a string, got a sequence");
	EXPECT_ERR(W "eal: {args: [{a: b}]}\n",
		   "t.yaml:3:14:", "args: expected a string, got a mapping");
	EXPECT_ERR(W "eal: {in_memory: [true]}\n",
		   "t.yaml:3:18:", "in_memory: expected a boolean, got a sequence");
	EXPECT_ERR(W "vxlan: {udp_port: {}}\n",
		   "t.yaml:3:19:", "udp_port: expected an integer, got a mapping");
	EXPECT_ERR(W "virtual_networks:\n  - {name: n, vni: 1, subnets: 10.0.0.0/8}\n",
		   "t.yaml:4:32:", "subnets: expected a sequence, got '10.0.0.0/8'");
	EXPECT_ERR(EP_HDR
		   "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: v1, ips: 10.0.0.1}\n",
		   "t.yaml:15:68:", "ips: expected a sequence, got '10.0.0.1'");
}

static void test_integers(void)
{
	static const char *const bad[] = { "12abc", "''",   "1.5", "0x10", "+5",
					   "1e3",   "' 5'", "--1", "'-'",  "five" };
	char text[256];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), W "vxlan:\n  udp_port: %s\n", bad[i]);
		EXPECT_ERR(text, "t.yaml:4:13:", "udp_port: expected an integer");
	}
	EXPECT_ERR(W "vxlan:\n  udp_port:\n",
		   "t.yaml:4:12:", "udp_port: expected an integer, got an empty value");
	EXPECT_ERR(W "vxlan:\n  udp_port: 99999999999999999999999\n", "t.yaml:4:13:",
		   "udp_port: 99999999999999999999999 is out of range (1..65535)");
	EXPECT_ERR(W "vxlan:\n  udp_port: -1\n",
		   "t.yaml:4:13:", "udp_port: -1 is out of range (1..65535)");
	EXPECT_ERR(W "vxlan:\n  udp_port: 65536\n", "t.yaml:4:13:", "out of range (1..65535)");
	EXPECT_ERR(W "vxlan:\n  udp_port: 0\n", "t.yaml:4:13:", "out of range (1..65535)");
	EXPECT_ERR(W "virtual_networks:\n  - {name: n, vni: 0x10000}\n", "t.yaml:4:20:",
		   "vni: expected an integer, got '0x10000'");

	/* Quoting does not matter, leading zeros are still decimal. */
	{
		struct ctl_config *cfg = LOAD_OK(W "vxlan:\n  udp_port: \"0100\"\n");

		if (cfg)
			CU_ASSERT_EQUAL(cfg->vxlan_port, 100);
		ctl_config_free(cfg);
	}
}

static void test_booleans(void)
{
	static const char *const t[] = { "true", "yes", "on", "True", "YES", "On" };
	static const char *const f[] = { "false", "no", "off", "False", "NO", "OFF" };
	char text[256];

	for (unsigned i = 0; i < 6; i++) {
		struct ctl_config *cfg;

		snprintf(text, sizeof(text), W "eal: {in_memory: %s, no_huge: %s}\n", t[i], f[i]);
		cfg = LOAD_OK(text);
		if (cfg) {
			CU_ASSERT_TRUE(cfg->eal.in_memory);
			CU_ASSERT_FALSE(cfg->eal.no_huge);
		}
		ctl_config_free(cfg);
	}
	EXPECT_ERR(W "eal: {in_memory: 1}\n", "t.yaml:3:18:",
		   "in_memory: expected a boolean (true/false, yes/no, on/off), got '1'");
	EXPECT_ERR(W "eal: {no_huge: y}\n", "t.yaml:3:16:", "no_huge: expected a boolean");
	EXPECT_ERR(W "virtual_networks:\n  - {name: n, vni: 1, flood: maybe}\n", "t.yaml:4:30:",
		   "flood: expected a boolean");
}

/* ---- section rules ------------------------------------------------------ */

static void test_eal_rules(void)
{
	char text[2048];
	size_t n;

	EXPECT_ERR(W "eal:\n  main_lcore: 128\n",
		   "t.yaml:4:15:", "main_lcore: 128 is out of range (0..127)");
	EXPECT_ERR(W "eal:\n  memory_mb: 65537\n",
		   "t.yaml:4:14:", "memory_mb: 65537 is out of range (0..65536)");
	EXPECT_ERR(
		W "eal:\n  file_prefix: a/b\n", "t.yaml:4:16:",
		"file_prefix: invalid character '/' in 'a/b' (allowed: letters, digits, '_', '-')");
	EXPECT_ERR(W "eal:\n  file_prefix: a.b\n", "t.yaml:4:16:", "invalid character '.'");
	EXPECT_ERR(W "eal:\n  file_prefix: caf\xc3\xa9\n", "t.yaml:4:16:",
		   "file_prefix: invalid character byte 0xc3 in");
	EXPECT_ERR(
		W
		"eal:\n  file_prefix: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"t.yaml:4:16:", "file_prefix: too long (64 characters, at most 63)");
	EXPECT_ERR(W "eal:\n  lcores: 0@0;1@1\n", "t.yaml:4:11:", "lcores: invalid character ';'");
	EXPECT_ERR(W "eal:\n  args: [--no-pci, '']\n", "t.yaml:4:20:", "args: must not be empty");
	EXPECT_ERR(W "eal:\n  args: --no-pci\n", "t.yaml:4:9:", "args: expected a sequence");
	EXPECT_ERR(W "eal:\n  args: [\"a\\tb\"]\n",
		   "t.yaml:4:10:", "args: value contains a control character");

	n = (size_t)snprintf(text, sizeof(text), W "eal:\n  args: [");
	for (int i = 0; i < CTL_MAX_EAL_ARGS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sa%d", i ? ", " : "", i + 10);
	snprintf(text + n, sizeof(text) - n, "]\n");
	/* "  args: [" is 9 characters; each earlier item "aNN, " is 5. */
	snprintf(text + 1024, 64, "t.yaml:4:%d:", 10 + 5 * CTL_MAX_EAL_ARGS);
	EXPECT_ERR(text, text + 1024, "args: too many entries (17, at most 16)");

	memset(text, 0, sizeof(text));
	n = (size_t)snprintf(text, sizeof(text), W "eal:\n  args: [");
	memset(text + n, 'x', 128);
	snprintf(text + n + 128, sizeof(text) - n - 128, "]\n");
	EXPECT_ERR(text, "t.yaml:4:10:", "args: too long (128 characters, at most 127)");
}

static void test_workers_rules(void)
{
	EXPECT_ERR("eal: {}\n", "t.yaml:1:1:", "missing required key 'workers'");
	EXPECT_ERR("workers:\n  mbufs: 2048\n",
		   "t.yaml:2:3:", "missing required key 'lcores' in workers");
	EXPECT_ERR("workers:\n", "t.yaml:1:9:", "missing required key 'lcores' in workers");
	EXPECT_ERR("workers:\n  lcores: []\n", "t.yaml:2:11:", "lcores: needs at least 1 entry");
	EXPECT_ERR(
		"workers:\n  lcores: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]\n",
		"t.yaml:2:67:", "lcores: too many entries (17, at most 16)");
	EXPECT_ERR("workers:\n  lcores: [1, 2, 1]\n",
		   "t.yaml:2:18:", "lcores: lcore 1 is listed twice");
	EXPECT_ERR("workers:\n  lcores: [1, 128]\n",
		   "t.yaml:2:15:", "lcores: 128 is out of range (0..127)");
	EXPECT_ERR("workers:\n  lcores: [1, -1]\n", "t.yaml:2:15:", "lcores: -1 is out of range");
	EXPECT_ERR("workers:\n  lcores: [1, x]\n",
		   "t.yaml:2:15:", "lcores: expected an integer, got 'x'");
	/* The main lcore may be given before or after the workers. */
	EXPECT_ERR("workers:\n  lcores: [1, 0]\n", "t.yaml:2:15:",
		   "lcores: lcore 0 is the main lcore (eal.main_lcore)");
	EXPECT_ERR("workers:\n  lcores: [3, 1]\neal:\n  main_lcore: 3\n", "t.yaml:2:12:",
		   "lcore 3 is the main lcore");
	EXPECT_ERR(W "  idle_sleep_max_us: 100001\n", "t.yaml:3:22:",
		   "idle_sleep_max_us: 100001 is out of range (0..100000)");
	EXPECT_ERR(W "  mbufs: 1023\n",
		   "t.yaml:3:10:", "mbufs: 1023 is out of range (1024..4194304)");
	EXPECT_ERR(W "  mbufs: 4194305\n", "t.yaml:3:10:", "mbufs: 4194305 is out of range");
}

static void test_control_rules(void)
{
	char text[512];
	struct ctl_config *cfg;

	EXPECT_ERR(W "control:\n  socket: ctl.sock\n",
		   "t.yaml:4:11:", "socket: 'ctl.sock' is not an absolute path");
	EXPECT_ERR(W "control:\n  socket: ''\n", "t.yaml:4:11:", "socket: must not be empty");
	/* sun_path holds 107 characters and the NUL. */
	snprintf(text, sizeof(text), W "control:\n  socket: /%0107d\n", 0);
	EXPECT_ERR(text, "t.yaml:4:11:", "socket: too long (108 characters, at most 107)");
	snprintf(text, sizeof(text), W "control:\n  socket: /%0106d\n", 0);
	cfg = LOAD_OK(text);
	if (cfg)
		CU_ASSERT_EQUAL(strlen(cfg->ctl_socket), 107);
	ctl_config_free(cfg);
	EXPECT_ERR(W "vhost_ports:\n  - {name: v, socket: " CTL_PROTO_DEFAULT_SOCKET "}\n",
		   "t.yaml:4:23:", "is also the control socket");
	EXPECT_ERR(W "control: {path: /x}\n", "t.yaml:3:11:",
		   "unknown key 'path' in control (expected one of: socket, state_dir, services_dir)");
}

static void test_state_dir(void)
{
	char text[512];
	struct ctl_config *cfg = LOAD_OK(W);

	if (cfg)
		CU_ASSERT_STRING_EQUAL(cfg->state_dir, "/var/lib/dpdk-vswitch");
	ctl_config_free(cfg);
	cfg = LOAD_OK(W "control:\n  state_dir: /tmp/vs-a/state\n");
	if (cfg)
		CU_ASSERT_STRING_EQUAL(cfg->state_dir, "/tmp/vs-a/state");
	ctl_config_free(cfg);
	/* "" turns persistence off. */
	cfg = LOAD_OK(W "control:\n  state_dir: ''\n");
	if (cfg)
		CU_ASSERT_STRING_EQUAL(cfg->state_dir, "");
	ctl_config_free(cfg);
	EXPECT_ERR(W "control:\n  state_dir: var/lib/vs\n", "t.yaml:4:14:",
		   "state_dir: 'var/lib/vs' is not an absolute path");
	EXPECT_ERR(W "control:\n  state_dir: [/a]\n", "t.yaml:4:14:",
		   "state_dir: expected a path, got a sequence");
	EXPECT_ERR(W "control:\n  state_dir: \"/a\\tb\"\n", "t.yaml:4:14:",
		   "state_dir: value contains a control character");
	snprintf(text, sizeof(text), W "control:\n  state_dir: /%0107d\n", 0);
	EXPECT_ERR(text, "t.yaml:4:14:", "state_dir: too long (108 characters, at most 107)");
}

static void test_phys_rules(void)
{
#define PP W "physical_ports:\n  - name: p\n    devargs: d\n"   /* items' keys on line 6 on */
	EXPECT_ERR(W "physical_ports:\n  - devargs: d\n    ip: 192.0.2.1/24\n", "t.yaml:4:5:",
		   "missing required key 'name' in physical port");
	EXPECT_ERR(W "physical_ports:\n  - name: p\n    ip: 192.0.2.1/24\n", "t.yaml:4:5:",
		   "missing required key 'devargs' in physical port");
	EXPECT_ERR(PP, "t.yaml:4:5:", "missing required key 'ip' in physical port");
	EXPECT_ERR(W "physical_ports:\n  - {name: p, devargs: '', ip: 192.0.2.1/24}\n",
		   "t.yaml:4:24:", "devargs: must not be empty");
	EXPECT_ERR(
		W "physical_ports:\n  - {name: 'p 0', devargs: d, ip: 192.0.2.1/24}\n",
		"t.yaml:4:12:",
		"name: invalid character ' ' in 'p 0' (allowed: letters, digits, '_', '.', '-')");
	EXPECT_ERR(W "physical_ports:\n  - {name: '', devargs: d, ip: 192.0.2.1/24}\n",
		   "t.yaml:4:12:", "name: must not be empty");
	EXPECT_ERR(W "physical_ports:\n  - {name: abcdefghijabcdefghijabcdefghij012, devargs: d}\n",
		   "t.yaml:4:12:", "name: too long (33 characters, at most 31)");
	EXPECT_ERR(PP "    ip: 192.0.2.1/24\n    rx_queues: 17\n",
		   "t.yaml:7:16:", "rx_queues: 17 is out of range (1..16)");
	EXPECT_ERR(PP "    ip: 192.0.2.1/24\n    rx_queues: 0\n",
		   "t.yaml:7:16:", "rx_queues: 0 is out of range");
	EXPECT_ERR(
		PP "    ip: 192.0.2.1\n", "t.yaml:6:9:",
		"ip: expected an IPv4 address with prefix length (a.b.c.d/len), got '192.0.2.1'");
	EXPECT_ERR(PP "    ip: 2001:db8::1/64\n",
		   "t.yaml:6:9:", "ip: expected an IPv4 address with prefix length");
	EXPECT_ERR(PP "    ip: 192.0.2.1/33\n",
		   "t.yaml:6:9:", "ip: expected an IPv4 address with prefix length");
	EXPECT_ERR(PP "    ip: 192.0.2.1/0\n",
		   "t.yaml:6:9:", "ip: prefix length 0 is out of range (1..32)");
	EXPECT_ERR(PP "    ip: 192.0.2.300/24\n", "t.yaml:6:9:", "ip: expected an IPv4 address");
	EXPECT_ERR(PP "    ip: 192.0.2.0/24\n", "t.yaml:6:9:",
		   "ip: 192.0.2.0/24 is the network address of 192.0.2.0/24; use a host address");
	EXPECT_ERR(PP "    ip: 192.0.2.255/24\n",
		   "t.yaml:6:9:", "is the broadcast address of 192.0.2.0/24");
	EXPECT_ERR(PP "    ip: 10.255.255.255/8\n",
		   "t.yaml:6:9:", "broadcast address of 10.0.0.0/8");
	EXPECT_ERR(PP "    ip: 224.0.0.1/24\n",
		   "t.yaml:6:9:", "ip: 224.0.0.1/24 is not a unicast address");
	EXPECT_ERR(PP "    ip: 127.0.0.1/8\n", "t.yaml:6:9:", "is not a unicast address");
	EXPECT_ERR(PP "    ip: 0.0.0.0/32\n", "t.yaml:6:9:", "is not a unicast address");
	EXPECT_ERR(PP "    ip: 192.0.2.1/24\n    gateway: 198.51.100.1\n", "t.yaml:7:14:",
		   "gateway: 198.51.100.1 is not inside 192.0.2.1/24");
	EXPECT_ERR(PP "    gateway: 192.0.2.1\n    ip: 192.0.2.1/24\n", "t.yaml:6:14:",
		   "gateway: 192.0.2.1 is the port's own address");
	EXPECT_ERR(PP "    ip: 192.0.2.1/24\n    gateway: 192.0.2.255\n", "t.yaml:7:14:",
		   "gateway: 192.0.2.255 is the broadcast address");
	EXPECT_ERR(PP "    ip: 192.0.2.1/24\n    gateway: 192.0.2\n", "t.yaml:7:14:",
		   "gateway: expected an IPv4 address, got '192.0.2'");
	EXPECT_ERR(PP "    ip: 192.0.2.1/24\n    mtu: 575\n",
		   "t.yaml:7:10:", "mtu: 575 is out of range (576..9600)");
	EXPECT_ERR(PP "    ip: 192.0.2.1/24\n    mtu: 9601\n",
		   "t.yaml:7:10:", "mtu: 9601 is out of range");
	EXPECT_ERR(W "physical_ports:\n"
		   "  - {name: a, devargs: d, ip: 192.0.2.1/24}\n"
		   "  - {name: b, devargs: d, ip: 192.0.3.1/24}\n"
		   "  - {name: c, devargs: d, ip: 192.0.4.1/24}\n"
		   "  - {name: d, devargs: d, ip: 192.0.5.1/24}\n"
		   "  - {name: e, devargs: d, ip: 192.0.6.1/24}\n",
		   "t.yaml:8:5:", "physical_ports: too many entries (5, at most 4)");
	EXPECT_ERR(W "physical_ports:\n"
		   "  - {name: a, devargs: d, ip: 192.0.2.1/24}\n"
		   "  - {name: b, devargs: d, ip: 192.0.2.1/16}\n",
		   "t.yaml:5:31:", "ip: 192.0.2.1 is already used by physical port 'a'");

	/* Point-to-point prefixes have no network or broadcast address. */
	{
		struct ctl_config *cfg = LOAD_OK(
			W "physical_ports:\n"
			  "  - {name: a, devargs: d, ip: 192.0.2.0/31, gateway: 192.0.2.1}\n"
			  "  - {name: b, devargs: d, ip: 198.51.100.7/32}\n");

		if (cfg) {
			CU_ASSERT_EQUAL(cfg->n_phys, 2);
			CU_ASSERT_EQUAL(cfg->phys[0].prefix_len, 31);
			CU_ASSERT_EQUAL(cfg->phys[1].prefix_len, 32);
		}
		ctl_config_free(cfg);
	}
#undef PP
}

static void test_vhost_rules(void)
{
	char text[8192];
	size_t n;

	EXPECT_ERR(W "vhost_ports:\n  - name: v\n",
		   "t.yaml:4:5:", "missing required key 'socket' in vhost port");
	EXPECT_ERR(W "vhost_ports:\n  - {name: v, socket: tmp/v.sock}\n", "t.yaml:4:23:",
		   "socket: 'tmp/v.sock' is not an absolute path");
	EXPECT_ERR(W "vhost_ports:\n  - {name: v, socket: /v, mode: both}\n", "t.yaml:4:33:",
		   "mode: expected one of server, client, got 'both'");
	EXPECT_ERR(W "vhost_ports:\n  - {name: v, socket: /v, queues: 0}\n", "t.yaml:4:35:",
		   "queues: 0 is out of range (1..16)");
	EXPECT_ERR(W "vhost_ports:\n  - {name: v, socket: /v, queues: 17}\n", "t.yaml:4:35:",
		   "queues: 17 is out of range (1..16)");
	EXPECT_ERR(
		W
		"vhost_ports:\n  - {name: v, socket: /v, vm: 0123456789012345678901234567890123}\n",
		"t.yaml:4:31:", "vm: too long (34 characters, at most 31)");
	EXPECT_ERR(W "vhost_ports:\n  - {name: v, socket: /v}\n  - {name: w, socket: /v}\n",
		   "t.yaml:5:23:", "socket: /v is already used by vhost port 'v'");

	n = (size_t)snprintf(text, sizeof(text), W "vhost_ports:\n");
	for (int i = 0; i <= CTL_MAX_VHOST; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  - {name: v%d, socket: /v%d}\n",
				      i, i);
	EXPECT_ERR(text, "t.yaml:68:5:", "vhost_ports: too many entries (65, at most 64)");
}

static void test_vnet_rules(void)
{
#define VN W "virtual_networks:\n"   /* entries from line 4 */
	EXPECT_ERR(VN "  - {name: n}\n",
		   "t.yaml:4:5:", "missing required key 'vni' in virtual network");
	EXPECT_ERR(VN "  - {vni: 5}\n",
		   "t.yaml:4:5:", "missing required key 'name' in virtual network");
	EXPECT_ERR(VN "  - {name: n, vni: 0}\n",
		   "t.yaml:4:20:", "vni: 0 is out of range (1..16777215)");
	EXPECT_ERR(VN "  - {name: n, vni: 16777216}\n",
		   "t.yaml:4:20:", "vni: 16777216 is out of range");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [10.0.0.1/24]}\n", "t.yaml:4:33:",
		   "subnets: 10.0.0.1/24 has host bits set (did you mean 10.0.0.0/24?)");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [10.0.0.0/24, '2001:db8::1/64']}\n",
		   "t.yaml:4:46:",
		   "subnets: 2001:db8::1/64 has host bits set (did you mean 2001:db8::/64?)");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [10.0.0.0]}\n", "t.yaml:4:33:",
		   "subnets: expected an IPv4 or IPv6 prefix (address/len), got '10.0.0.0'");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [10.0.0.0/33]}\n",
		   "t.yaml:4:33:", "expected an IPv4 or IPv6 prefix");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: ['::/129']}\n",
		   "t.yaml:4:33:", "expected an IPv4 or IPv6 prefix");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [10.0.0.0/-1]}\n",
		   "t.yaml:4:33:", "expected an IPv4 or IPv6 prefix");
	EXPECT_ERR(
		VN
		"  - {name: n, vni: 1, subnets: [1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8, 5.0.0.0/8,"
		" 6.0.0.0/8, 7.0.0.0/8, 8.0.0.0/8, 9.0.0.0/8]}\n",
		"t.yaml:4:121:", "subnets: too many entries (9, at most 8)");
	EXPECT_ERR(VN "  - {name: a, vni: 1}\n  - {name: b, vni: 2}\n  - {name: c, vni: 1}\n",
		   "t.yaml:6:20:", "vni: 1 is already used by network 'a'");
	EXPECT_ERR(VN "  - {name: a, vni: 1}\n  - {name: b, vni: 2}\n  - {name: a, vni: 3}\n",
		   "t.yaml:6:12:", "name: duplicate virtual network name 'a' (first at line 4)");
	EXPECT_ERR(VN "  - {name: a/b, vni: 1}\n", "t.yaml:4:12:", "name: invalid character '/'");
#undef VN
}

static void test_endpoint_rules(void)
{
	/* Keys of the first entry are on lines 15.. (see EP_HDR). */
	EXPECT_ERR(EP_HDR "  - name: a\n    vnet: blue\n    port: v1\n", "t.yaml:15:5:",
		   "missing required key 'mac' in endpoint");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: '02:00:00:00:00:01'\n    port: v1\n",
		   "t.yaml:15:5:", "missing required key 'vnet' in endpoint");
	EXPECT_ERR(EP_HDR "  - mac: '02:00:00:00:00:01'\n    vnet: blue\n    port: v1\n",
		   "t.yaml:15:5:", "missing required key 'name' in endpoint");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: '01:00:5e:00:00:01'\n", "t.yaml:16:10:",
		   "mac: 01:00:5e:00:00:01 is a multicast address, not a unicast one");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: 'ff:ff:ff:ff:ff:ff'\n", "t.yaml:16:10:",
		   "mac: ff:ff:ff:ff:ff:ff is the broadcast address");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: '00:00:00:00:00:00'\n", "t.yaml:16:10:",
		   "mac: the all-zero MAC address is not allowed");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: '02:00:00:00:00'\n", "t.yaml:16:10:",
		   "mac: expected a MAC address (xx:xx:xx:xx:xx:xx), got '02:00:00:00:00'");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: 02-00-00-00-00-01\n",
		   "t.yaml:16:10:", "mac: expected a MAC address");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: '02:00:00:00:00:0g'\n",
		   "t.yaml:16:10:", "mac: expected a MAC address");
	EXPECT_ERR(EP_HDR "  - name: a\n    mac: '02:00:00:00:00:001'\n",
		   "t.yaml:16:10:", "mac: expected a MAC address");
	EXPECT_ERR(EP_HDR "  - name: a\n    ips: [10.0.0.1, 10.0.0.300]\n", "t.yaml:16:21:",
		   "ips: expected an IPv4 or IPv6 address, got '10.0.0.300'");
	EXPECT_ERR(EP_HDR "  - name: a\n    ips: [10.0.0.0/24]\n",
		   "t.yaml:16:11:", "ips: expected an IPv4 or IPv6 address");
	EXPECT_ERR(EP_HDR
		   "  - name: a\n    ips: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5]\n",
		   "t.yaml:16:51:", "ips: too many entries (5, at most 4)");
	EXPECT_ERR(EP_HDR "  - name: a\n    ips: [0.0.0.0]\n",
		   "t.yaml:16:11:", "ips: 0.0.0.0 is not a unicast address");
	EXPECT_ERR(EP_HDR "  - name: a\n    ips: ['ff02::1']\n",
		   "t.yaml:16:11:", "ips: ff02::1 is not a unicast address");
	EXPECT_ERR(EP_HDR "  - name: a\n    ips: [239.1.1.1]\n",
		   "t.yaml:16:11:", "is not a unicast address");
	EXPECT_ERR(EP_HDR "  - name: a\n    tep: 10.0.0\n",
		   "t.yaml:16:10:", "tep: expected an IPv4 address, got '10.0.0'");
	EXPECT_ERR(EP_HDR "  - name: a\n    tep: '2001:db8::1'\n",
		   "t.yaml:16:10:", "tep: expected an IPv4 address");
	EXPECT_ERR(EP_HDR "  - name: a\n    tep: 255.255.255.255\n", "t.yaml:16:10:",
		   "tep: 255.255.255.255 is not a unicast address");
	EXPECT_ERR(EP_HDR "  - name: a\n    port: v 1\n",
		   "t.yaml:16:11:", "port: invalid character ' '");
	/* Exactly one of port and tep. */
	EXPECT_ERR(
		EP_HDR "  - name: a\n    mac: '02:00:00:00:00:01'\n    vnet: blue\n",
		"t.yaml:15:5:",
		"endpoint 'a' needs exactly one of 'port' (local vhost port) or 'tep' (remote tunnel endpoint)");
	EXPECT_ERR(EP_HDR
		   "  - name: a\n    mac: '02:00:00:00:00:01'\n    vnet: blue\n    tep: 192.0.2.2\n"
		   "    port: v1\n",
		   "t.yaml:19:11:", "endpoint 'a' has both 'port' and 'tep'; give exactly one");
}

static void test_cross_refs(void)
{
#define EP1 "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: v1}\n"   /* line 15 */
	EXPECT_ERR(EP_HDR "  - {name: a, mac: '02:00:00:00:00:01', vnet: red, port: v1}\n",
		   "t.yaml:15:47:", "vnet: no virtual network named 'red'");
	EXPECT_ERR(EP_HDR "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: v2}\n",
		   "t.yaml:15:59:", "port: no vhost port named 'v2'");
	EXPECT_ERR(
		EP_HDR "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: ul0}\n",
		"t.yaml:15:59:", "port: 'ul0' is a physical port; endpoints attach to vhost ports");
	EXPECT_ERR(EP_HDR EP1 "  - {name: b, mac: '02:00:00:00:00:02', vnet: blue, port: v1}\n",
		   "t.yaml:16:59:", "port: vhost port 'v1' is already bound to endpoint 'a'");
	EXPECT_ERR(
		EP_HDR "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.1}\n",
		"t.yaml:15:58:", "tep: 192.0.2.1 is this host's own address (physical port 'ul0')");
	EXPECT_ERR(EP_HDR "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.2,\n"
		   "     ips: [10.0.0.1, 10.0.1.1]}\n", "t.yaml:16:22:",
		   "ips: 10.0.1.1 is not inside any subnet of network 'blue'");
	EXPECT_ERR(
		EP_HDR
		"  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.2, ips: ['2001:db8::1']}\n",
		"t.yaml:15:75:", "ips: 2001:db8::1 is not inside any subnet of network 'blue'");
	/* The same port name twice, across physical and vhost ports. */
	EXPECT_ERR(W "physical_ports:\n  - {name: x, devargs: d, ip: 192.0.2.1/24}\n"
		     "vhost_ports:\n  - {name: y, socket: /y}\n  - {name: x, socket: /x}\n",
		   "t.yaml:7:12:", "name: duplicate port name 'x' (first at line 4)");
	EXPECT_ERR(W "vhost_ports:\n  - {name: y, socket: /y}\n  - {name: y, socket: /x}\n",
		   "t.yaml:5:12:", "duplicate port name 'y'");

	/* Networks without subnets take any address. */
	{
		struct ctl_config *cfg =
			LOAD_OK(W "virtual_networks:\n  - {name: n, vni: 7}\nendpoints:\n"
				  "  - {name: a, mac: '02:00:00:00:00:01', vnet: n, tep: 192.0.2.2,"
				  " ips: [172.16.0.1, 'fe80::1']}\n");

		if (cfg)
			CU_ASSERT_EQUAL(cfg->endpoints[0].n_ips, 2);
		ctl_config_free(cfg);
	}
#undef EP1
}

static void test_uniqueness(void)
{
	struct ctl_config *cfg;

	EXPECT_ERR(EP_HDR
		   "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: v1}\n"
		   "  - {name: b, mac: '02:00:00:00:00:02', vnet: blue, tep: 192.0.2.2}\n"
		   "  - {name: a, mac: '02:00:00:00:00:03', vnet: blue, tep: 192.0.2.2}\n",
		   "t.yaml:17:12:", "name: duplicate endpoint name 'a' (first at line 15)");
	EXPECT_ERR(EP_HDR "  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: v1}\n"
			  "  - {name: b, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.2}\n",
		   "t.yaml:16:20:",
		   "mac: 02:00:00:00:00:01 is already used in network 'blue' by endpoint 'a'");
	EXPECT_ERR(
		EP_HDR
		"  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: v1, ips: [10.0.0.1]}\n"
		"  - {name: b, mac: '02:00:00:00:00:02', vnet: blue, tep: 192.0.2.2, ips: [10.0.0.2, 10.0.0.1]}\n",
		"t.yaml:16:85:", "ips: 10.0.0.1 is already used in network 'blue' by endpoint 'a'");
	/* Within one endpoint too. */
	EXPECT_ERR(
		EP_HDR
		"  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, port: v1, ips: [10.0.0.1, 10.0.0.1]}\n",
		"t.yaml:15:79:", "ips: 10.0.0.1 is already used in network 'blue' by endpoint 'a'");
	/* IPv6 spelled differently is still the same address. */
	EXPECT_ERR(
		W
		"virtual_networks:\n  - {name: n, vni: 1}\nendpoints:\n"
		"  - {name: a, mac: '02:00:00:00:00:01', vnet: n, tep: 192.0.2.2, ips: ['2001:db8::1']}\n"
		"  - {name: b, mac: '02:00:00:00:00:02', vnet: n, tep: 192.0.2.2, ips: ['2001:0db8:0:0::1']}\n",
		"t.yaml:7:72:", "ips: 2001:db8::1 is already used in network 'n' by endpoint 'a'");

	/* MACs and addresses only need to be unique within one network. */
	cfg = LOAD_OK(
		W
		"virtual_networks:\n  - {name: n1, vni: 1}\n  - {name: n2, vni: 2}\n"
		"endpoints:\n"
		"  - {name: a, mac: '02:00:00:00:00:01', vnet: n1, tep: 192.0.2.2, ips: [10.0.0.1]}\n"
		"  - {name: b, mac: '02:00:00:00:00:01', vnet: n2, tep: 192.0.2.2, ips: [10.0.0.1]}\n");
	if (cfg)
		CU_ASSERT_EQUAL(cfg->n_endpoints, 2);
	ctl_config_free(cfg);
}

static void test_helpers(void)
{
	uint8_t mac[6];
	struct ctl_ip ip;
	struct ctl_prefix p;

	CU_ASSERT_EQUAL(ctl_parse_mac("02:aB:00:ff:10:09", mac), 0);
	CU_ASSERT(mac[0] == 0x02 && mac[1] == 0xab && mac[3] == 0xff && mac[5] == 0x09);
	CU_ASSERT_EQUAL(ctl_parse_mac("02:ab:00:ff:10", mac), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_mac("02:ab:00:ff:10:0", mac), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_mac("02.ab.00.ff.10.09", mac), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_mac("02:ab:00:ff:10:0x", mac), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_mac(NULL, mac), -EINVAL);

	CU_ASSERT_EQUAL(ctl_parse_ip("10.1.2.3", &ip), 0);
	CU_ASSERT_EQUAL(ip.family, AF_INET);
	CU_ASSERT_EQUAL(ip.v4, htonl(0x0a010203));
	CU_ASSERT_EQUAL(ctl_parse_ip("::1", &ip), 0);
	CU_ASSERT_EQUAL(ip.family, AF_INET6);
	CU_ASSERT_EQUAL(ip.v6[15], 1);
	CU_ASSERT_EQUAL(ctl_parse_ip("10.1.2", &ip), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_ip(" 10.1.2.3", &ip), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_ip("10.1.2.3/8", &ip), -EINVAL);

	CU_ASSERT_EQUAL(ctl_parse_prefix("10.0.0.0/8", &p), 0);
	CU_ASSERT(p.addr.family == AF_INET && p.len == 8 && p.addr.v4 == htonl(0x0a000000));
	CU_ASSERT_EQUAL(ctl_parse_prefix("2001:db8::/32", &p), 0);
	CU_ASSERT(p.addr.family == AF_INET6 && p.len == 32);
	CU_ASSERT_EQUAL(ctl_parse_prefix("10.0.0.1/24", &p), 0); /* host bits: the caller's rule */
	CU_ASSERT_EQUAL(ctl_parse_prefix("10.0.0.0", &p), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_prefix("10.0.0.0/", &p), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_prefix("/8", &p), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_prefix("10.0.0.0/33", &p), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_prefix("::/129", &p), -EINVAL);
	CU_ASSERT_EQUAL(ctl_parse_prefix("10.0.0.0/8x", &p), -EINVAL);

	ctl_config_free(NULL);
}

/* ---- scale -------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + 256;
		b->p = realloc(b->p, b->cap);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b->p);
	}
	b->len += (size_t)n;
}

#define BIG_HDR W \
	"physical_ports:\n  - {name: ul0, devargs: d, ip: 192.0.2.1/24}\n" \
	"virtual_networks:\n  - {name: big, vni: 1, subnets: [10.0.0.0/8]}\n" \
	"endpoints:\n"
#define BIG_HDR_LINES 7
#define BIG_EP                                                                                     \
	"  - {name: e%u, mac: '02:00:%02x:%02x:%02x:%02x', ips: [%u.%u.%u.%u], vnet: big, tep: 192.0.2.2}\n"

static void big_ep(struct buf *b, unsigned i, uint32_t addr)
{
	buf_add(b, BIG_EP, i, i >> 24, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, addr >> 24,
		(addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

static void test_many_endpoints(void)
{
	const unsigned n = 200000;
	struct buf b = { 0 };
	struct ctl_config *cfg;

	buf_add(&b, BIG_HDR);
	for (unsigned i = 0; i < n; i++)
		big_ep(&b, i, 0x0a000001 + i);
	cfg = LOAD_OK(b.p);
	if (cfg) {
		CU_ASSERT_EQUAL(cfg->n_endpoints, n);
		CU_ASSERT_STRING_EQUAL(cfg->endpoints[n - 1].name, "e199999");
		CU_ASSERT_EQUAL(cfg->endpoints[n - 1].ips[0].v4, htonl(0x0a000001 + n - 1));
		CU_ASSERT_EQUAL(cfg->endpoints[n - 1].line, BIG_HDR_LINES + (int)n);
	}
	ctl_config_free(cfg);
	free(b.p);
}

/* A duplicate address far apart in a big list is found, at the later one. */
static void test_many_endpoints_dup(void)
{
	const unsigned n = 50000;
	struct buf b = { 0 };
	char where[64];
	const char *last;

	buf_add(&b, BIG_HDR);
	for (unsigned i = 0; i < n - 1; i++)
		big_ep(&b, i, 0x0a000001 + i);
	last = b.p + b.len;
	big_ep(&b, n - 1, 0x0a000001 + 17);
	snprintf(where, sizeof(where), "t.yaml:%u:%d:", BIG_HDR_LINES + n,
		 (int)(strstr(last, "ips: [") - last) + 7);
	expect_err_(b.p, where, "ips: 10.0.0.18 is already used in network 'big' by endpoint 'e17'",
		    __LINE__);
	free(b.p);
}

/* Input that smuggles control bytes or NULs must neither parse as
 * something else nor break the one-line error format. */
static void test_control_bytes_rejected_on_one_line(void)
{
	char err[CTL_ERR_MAX];
	uint8_t mac[6];
	static const char key_nul[] = "workers: {lcores: [1]}\nvxlan: {\"udp_port\\0zz\": 5}\n";

	CU_ASSERT(ctl_parse_mac("\x12\x10:00:00:00:00:01", mac) < 0);
	CU_ASSERT(ctl_parse_mac("0g:00:00:00:00:01", mac) < 0);
	CU_ASSERT(ctl_parse_mac("0A:0b:00:00:00:01", mac) == 0 && mac[0] == 0x0a && mac[1] == 0x0b);
	EXPECT_ERR(key_nul, "t.yaml:2:9:", "NUL");
	CU_ASSERT(ctl_config_load("t.yaml", "workers: {lcores: [1]}\nvxlan: {udp_port: \"12\\nrm\"}\n",
				  err, sizeof(err)) == NULL);
	CU_ASSERT(strchr(err, '\n') == NULL);
}

/* ---- the logical model: tenants, groups, policies, policy settings ------- */

/* Lines 3-7: two tenants, two groups, two networks of tenant acme; more networks
 * may follow from line 8. */
#define MODEL W                                                                                  \
	"tenants: [{name: acme}, {name: beta}]\n"                                                  \
	"groups: [{name: web, tenant: acme}, {name: db}]\n"                                        \
	"virtual_networks:\n"                                                                      \
	"  - {name: blue, vni: 100, tenant: acme, subnets: [10.0.0.0/24]}\n"                        \
	"  - {name: red, vni: 200, tenant: acme, subnets: [{prefix: 10.0.1.0/24, gateway: 10.0.1.1}]}\n"
/* Policy entries start on line 9. */
#define POL MODEL "policies:\n"

static void test_model_all_keys(void)
{
	struct ctl_config *cfg = LOAD_OK(
		W
		"policy:\n"
		"  default_same_vnet: deny\n"
		"  default_cross_vnet: allow\n"
		"  gateway_mac: '02:00:00:00:00:fe'\n"
		"  cache_entries: 1024\n"
		"  cache_entries_per_port: 1024\n"
		"  miss_hold_ms: 0\n"
		"  misses_per_port_per_s: 1000000\n"
		"  notify_port: 65535\n"
		"  notify_interval_ms: 60000\n"
		"policy_service:\n"
		"  backend: etcd\n"
		"  etcd:\n"
		"    endpoints: [http://127.0.0.1:32379, 'http://[::1]:2379', http://etcd-1.lan:2379]\n"
		"    prefix: /a/b_c.d-e\n"
		"    lease_ttl: 3600\n"
		"    timeout_ms: 100\n"
		"tenants:\n  - name: acme\n"
		"virtual_networks:\n"
		"  - name: blue\n    vni: 100\n    tenant: acme\n"
		"    subnets: [10.0.0.0/24, {prefix: 10.0.1.0/24, gateway: 10.0.1.1},"
		" {gateway: '2001:db8::1', prefix: '2001:db8::/64'}]\n"
		"  - {name: red, vni: 200}\n"
		"groups:\n  - {name: web, tenant: acme}\n  - {name: db}\n"
		"endpoints:\n"
		"  - {name: vm1, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.9,"
		" groups: [web, db]}\n"
		"policies:\n"
		"  - {name: p1, tenant: acme, from: {group: web}, to: {vnet: red}, action: allow,"
		" priority: -1000000}\n"
		"  - {name: p2, from: any, to: {any: true}, action: deny, priority: 1000000}\n"
		"  - {name: p3, from: {vm: vm9}, to: {group: db}, action: chain, chain: fw-ids}\n");

	if (cfg == NULL)
		return;
	CU_ASSERT_EQUAL(cfg->policy.default_same_vnet, CTL_ACT_DENY);
	CU_ASSERT_EQUAL(cfg->policy.default_cross_vnet, CTL_ACT_ALLOW);
	CU_ASSERT_EQUAL(cfg->policy.gateway_mac[5], 0xfe);
	CU_ASSERT_EQUAL(cfg->policy.cache_entries, 1024);
	CU_ASSERT_EQUAL(cfg->policy.cache_entries_per_port, 1024);
	CU_ASSERT_EQUAL(cfg->policy.miss_hold_ms, 0);
	CU_ASSERT_EQUAL(cfg->policy.misses_per_port_per_s, 1000000);
	CU_ASSERT_EQUAL(cfg->policy.notify_port, 65535);
	CU_ASSERT_EQUAL(cfg->policy.notify_interval_ms, 60000);
	CU_ASSERT_EQUAL(cfg->policy.backend, CTL_BACKEND_ETCD);
	CU_ASSERT_EQUAL(cfg->policy.n_etcd, 3);
	CU_ASSERT_STRING_EQUAL(cfg->policy.etcd[1], "http://[::1]:2379");
	CU_ASSERT_STRING_EQUAL(cfg->policy.etcd_prefix, "/a/b_c.d-e");
	CU_ASSERT_EQUAL(cfg->policy.lease_ttl_s, 3600);
	CU_ASSERT_EQUAL(cfg->policy.etcd_timeout_ms, 100);
	CU_ASSERT_EQUAL_FATAL(cfg->n_tenants, 1);
	CU_ASSERT_STRING_EQUAL(cfg->tenants[0].name, "acme");
	CU_ASSERT_EQUAL(cfg->tenants[0].line, 21);
	CU_ASSERT_EQUAL(cfg->tenants[0].col, 5);
	CU_ASSERT_STRING_EQUAL(cfg->vnets[0].tenant, "acme");
	CU_ASSERT_STRING_EQUAL(cfg->vnets[1].tenant, "");
	CU_ASSERT_EQUAL(cfg->vnets[0].n_subnets, 3);
	CU_ASSERT_EQUAL(cfg->vnets[0].gateways[0].family, 0);
	CU_ASSERT_EQUAL(cfg->vnets[0].gateways[1].family, AF_INET);
	CU_ASSERT_EQUAL(cfg->vnets[0].gateways[1].v4, htonl(0x0a000101));
	CU_ASSERT_EQUAL(cfg->vnets[0].subnets[1].len, 24);
	CU_ASSERT_EQUAL(cfg->vnets[0].gateways[2].family, AF_INET6);
	CU_ASSERT_EQUAL(cfg->vnets[0].subnets[2].len, 64);
	CU_ASSERT_EQUAL_FATAL(cfg->n_groups, 2);
	CU_ASSERT_STRING_EQUAL(cfg->groups[0].tenant, "acme");
	CU_ASSERT_STRING_EQUAL(cfg->groups[1].tenant, "");
	CU_ASSERT_EQUAL(cfg->endpoints[0].n_groups, 2);
	CU_ASSERT_STRING_EQUAL(cfg->endpoints[0].groups[1], "db");
	CU_ASSERT_EQUAL_FATAL(cfg->n_policies, 3);
	CU_ASSERT_STRING_EQUAL(cfg->policies[0].tenant, "acme");
	CU_ASSERT_EQUAL(cfg->policies[0].from.kind, CTL_SEL_GROUP);
	CU_ASSERT_STRING_EQUAL(cfg->policies[0].from.name, "web");
	CU_ASSERT_EQUAL(cfg->policies[0].to.kind, CTL_SEL_VNET);
	CU_ASSERT_EQUAL(cfg->policies[0].action, CTL_ACT_ALLOW);
	CU_ASSERT_EQUAL(cfg->policies[0].priority, -1000000);
	CU_ASSERT_EQUAL(cfg->policies[1].from.kind, CTL_SEL_ANY);
	CU_ASSERT_EQUAL(cfg->policies[1].to.kind, CTL_SEL_ANY);
	CU_ASSERT_EQUAL(cfg->policies[1].priority, 1000000);
	CU_ASSERT_EQUAL(cfg->policies[2].from.kind, CTL_SEL_VM);   /* vm9 lives elsewhere */
	CU_ASSERT_STRING_EQUAL(cfg->policies[2].from.name, "vm9");
	CU_ASSERT_EQUAL(cfg->policies[2].action, CTL_ACT_CHAIN);
	CU_ASSERT_STRING_EQUAL(cfg->policies[2].chain, "fw-ids");
	for (unsigned i = 0; i < cfg->n_policies; i++)
		CU_ASSERT_TRUE(cfg->policies[i].origin == CTL_FROM_CONFIG &&
			       cfg->policies[i].revision == 0);
	CU_ASSERT_TRUE(cfg->vnets[0].origin == CTL_FROM_CONFIG && cfg->groups[0].origin ==
		       CTL_FROM_CONFIG && cfg->endpoints[0].origin == CTL_FROM_CONFIG);
	CU_ASSERT_EQUAL(ctl_config_validate(cfg, NULL, 0), 0);
	ctl_config_free(cfg);
}

static void test_model_defaults(void)
{
	static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x01, 0x01 };
	struct ctl_config *cfg = LOAD_OK(W);

	if (cfg == NULL)
		return;
	CU_ASSERT_EQUAL(cfg->policy.default_same_vnet, CTL_ACT_ALLOW);
	CU_ASSERT_EQUAL(cfg->policy.default_cross_vnet, CTL_ACT_DENY);
	CU_ASSERT_EQUAL(memcmp(cfg->policy.gateway_mac, gw_mac, 6), 0);
	CU_ASSERT_EQUAL(cfg->policy.cache_entries, 65536);
	CU_ASSERT_EQUAL(cfg->policy.cache_entries_per_port, 16384);
	CU_ASSERT_EQUAL(cfg->policy.miss_hold_ms, 200);
	CU_ASSERT_EQUAL(cfg->policy.misses_per_port_per_s, 1000);
	CU_ASSERT_EQUAL(cfg->policy.notify_port, 4799);
	CU_ASSERT_EQUAL(cfg->policy.notify_interval_ms, 1000);
	CU_ASSERT_EQUAL(cfg->policy.backend, CTL_BACKEND_YAML);
	CU_ASSERT_EQUAL(cfg->policy.n_etcd, 0);
	CU_ASSERT_STRING_EQUAL(cfg->policy.etcd_prefix, "/dpdk-vswitch");
	CU_ASSERT_EQUAL(cfg->policy.lease_ttl_s, 5);
	CU_ASSERT_EQUAL(cfg->policy.etcd_timeout_ms, 1000);
	CU_ASSERT_EQUAL(cfg->n_tenants + cfg->n_groups + cfg->n_policies, 0);
	CU_ASSERT_PTR_NULL(cfg->tenants);
	CU_ASSERT_PTR_NULL(cfg->policies);
	ctl_config_free(cfg);
	/* Empty sections are the defaults too. */
	cfg = LOAD_OK(W "policy:\npolicy_service: {}\ntenants: []\ngroups: ~\npolicies:\n");
	if (cfg)
		CU_ASSERT_EQUAL(cfg->policy.cache_entries, 65536);
	ctl_config_free(cfg);
}

static void test_policy_settings_rules(void)
{
	EXPECT_ERR(W "policy: {cache_entries: 1023}\n", "t.yaml:3:25:",
		   "cache_entries: 1023 is out of range (1024..16777216)");
	EXPECT_ERR(W "policy: {cache_entries: 2048, cache_entries_per_port: 4096}\n",
		   "t.yaml:3:55:", "cache_entries_per_port: 4096 is more than cache_entries (2048)");
	EXPECT_ERR(W "policy: {cache_entries_per_port: 15}\n", "t.yaml:3:34:",
		   "cache_entries_per_port: 15 is out of range (16..16777216)");
	EXPECT_ERR(W "policy: {miss_hold_ms: 5001}\n", "t.yaml:3:24:", "out of range (0..5000)");
	EXPECT_ERR(W "policy: {misses_per_port_per_s: 0}\n", "t.yaml:3:33:",
		   "out of range (1..1000000)");
	EXPECT_ERR(W "policy: {notify_interval_ms: 60001}\n", "t.yaml:3:30:",
		   "out of range (0..60000)");
	EXPECT_ERR(W "policy: {notify_port: 0}\n", "t.yaml:3:23:", "out of range (1..65535)");
	EXPECT_ERR(W "vxlan: {udp_port: 5000}\npolicy: {notify_port: 5000}\n", "t.yaml:4:23:",
		   "notify_port: 5000 is also vxlan.udp_port");
	EXPECT_ERR(W "policy: {notify_port: 4789}\n", "t.yaml:3:23:",
		   "notify_port: 4789 is also vxlan.udp_port");
	EXPECT_ERR(W "policy: {default_same_vnet: chain}\n", "t.yaml:3:29:",
		   "default_same_vnet: a default is allow or deny");
	EXPECT_ERR(W "policy: {default_cross_vnet: maybe}\n", "t.yaml:3:30:",
		   "default_cross_vnet: expected one of allow, deny, chain, got 'maybe'");
	EXPECT_ERR(W "policy: {gateway_mac: '01:00:5e:00:00:01'}\n", "t.yaml:3:23:",
		   "gateway_mac: 01:00:5e:00:00:01 is a multicast address");
	EXPECT_ERR(W "policy: {gateway_mac: '00:00:00:00:00:00'}\n", "t.yaml:3:23:",
		   "gateway_mac: the all-zero MAC address is not allowed");
	EXPECT_ERR(W "policy: {cache_size: 1}\n", "t.yaml:3:10:",
		   "unknown key 'cache_size' in policy (expected one of: default_same_vnet");
	/* policy_service */
	EXPECT_ERR(W "policy_service: {backend: consul}\n", "t.yaml:3:27:",
		   "backend: expected one of yaml, etcd, got 'consul'");
	EXPECT_ERR(W "policy_service: {backend: etcd}\n", "t.yaml:3:17:",
		   "backend etcd needs etcd.endpoints");
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd: {endpoints: []}\n", "t.yaml:5:9:",
		   "backend etcd needs etcd.endpoints");
	EXPECT_ERR(W "policy_service:\n  etcd: {endpoints: [http://a:1]}\n", "t.yaml:4:9:",
		   "etcd: only with backend etcd");
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd: {prefix: /x}\n", "t.yaml:5:9:",
		   "missing required key 'endpoints' in policy_service.etcd");
#define ETCD W "policy_service:\n  backend: etcd\n  etcd:\n    endpoints: [http://h:2379]\n"
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd:\n"
		   "    endpoints: [http://h:2379, https://h:2379]\n", "t.yaml:6:32:",
		   "endpoints: 'https://h:2379' is not http://HOST:PORT");
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd:\n    endpoints: [http://h]\n",
		   "t.yaml:6:17:", "endpoints: 'http://h' is not http://HOST:PORT");
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd:\n    endpoints: [http://h:65536]\n",
		   "t.yaml:6:17:", "is not http://HOST:PORT");
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd:\n    endpoints: [http://h:1/v3]\n",
		   "t.yaml:6:17:", "is not http://HOST:PORT");
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd:\n    endpoints: [http://:1]\n",
		   "t.yaml:6:17:", "is not http://HOST:PORT");
	EXPECT_ERR(W "policy_service:\n  backend: etcd\n  etcd:\n    endpoints: "
		   "[a, b, c, d, e, f, g, h, i]\n", "t.yaml:6:41:",
		   "endpoints: too many entries (9, at most 8)");
	EXPECT_ERR(ETCD "    prefix: dpdk\n", "t.yaml:7:13:",
		   "prefix: 'dpdk' must start with '/' and not end with one");
	EXPECT_ERR(ETCD "    prefix: /dpdk/\n", "t.yaml:7:13:", "must start with '/'");
	EXPECT_ERR(ETCD "    prefix: /\n", "t.yaml:7:13:", "must start with '/'");
	EXPECT_ERR(ETCD "    prefix: /a b\n", "t.yaml:7:13:", "prefix: invalid character ' '");
	EXPECT_ERR(ETCD "    prefix: /0123456789012345678901234567890123456789012345678901234567890123\n",
		   "t.yaml:7:13:", "prefix: too long (65 characters, at most 63)");
	EXPECT_ERR(ETCD "    lease_ttl: 1\n", "t.yaml:7:16:", "lease_ttl: 1 is out of range (2..3600)");
	EXPECT_ERR(ETCD "    timeout_ms: 60001\n", "t.yaml:7:17:",
		   "timeout_ms: 60001 is out of range (100..60000)");
#undef ETCD
}

static void test_model_names_and_refs(void)
{
	EXPECT_ERR(W "tenants: [{name: a}, {name: b}, {name: a}]\n", "t.yaml:3:40:",
		   "name: duplicate tenant name 'a' (first at line 3)");
	EXPECT_ERR(W "tenants: [{name: 'a b'}]\n", "t.yaml:3:18:", "name: invalid character ' '");
	EXPECT_ERR(W "tenants: [{name: a, vni: 1}]\n", "t.yaml:3:21:",
		   "unknown key 'vni' in tenant (expected one of: name)");
	EXPECT_ERR(MODEL "  - {name: x, vni: 300, tenant: gamma}\n", "t.yaml:8:33:",
		   "tenant: no tenant named 'gamma'");
	EXPECT_ERR(W "groups:\n  - {name: web}\n  - {name: web}\n", "t.yaml:5:12:",
		   "name: duplicate group name 'web' (first at line 4)");
	EXPECT_ERR(W "groups: [{name: web, tenant: acme}]\n", "t.yaml:3:30:",
		   "tenant: no tenant named 'acme'");
	EXPECT_ERR(MODEL "endpoints:\n"
		   "  - {name: e, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.2, groups: [web, app]}\n",
		   "t.yaml:9:83:", "groups: no group named 'app'");
	EXPECT_ERR(MODEL "endpoints:\n"
		   "  - {name: e, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.2, groups: [web, web]}\n",
		   "t.yaml:9:83:", "groups: 'web' is listed twice");
	EXPECT_ERR(MODEL "endpoints:\n"
		   "  - {name: e, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.2,"
		   " groups: [a, b, c, d, e, f, g, h, i]}\n",
		   "t.yaml:9:102:", "groups: too many entries (9, at most 8)");
	EXPECT_ERR(POL "  - {name: p, from: any, to: any, action: allow}\n"
		   "  - {name: p, from: any, to: any, action: deny}\n", "t.yaml:10:12:",
		   "name: duplicate policy name 'p' (first at line 9)");
	EXPECT_ERR(POL "  - {name: p, tenant: beta2, from: any, to: any, action: allow}\n",
		   "t.yaml:9:23:", "tenant: no tenant named 'beta2'");
	EXPECT_ERR(POL "  - {name: p, from: {group: app}, to: any, action: allow}\n",
		   "t.yaml:9:29:", "from: no group named 'app'");
	EXPECT_ERR(POL "  - {name: p, from: any, to: {vnet: green}, action: allow}\n",
		   "t.yaml:9:37:", "to: no virtual network named 'green'");
}

static void test_policy_rules(void)
{
	EXPECT_ERR(POL "  - {name: p, from: any, to: any}\n", "t.yaml:9:5:",
		   "missing required key 'action' in policy");
	EXPECT_ERR(POL "  - {name: p, to: any, action: deny}\n", "t.yaml:9:5:",
		   "missing required key 'from' in policy");
	EXPECT_ERR(POL "  - {name: p, from: any, to: any, action: chain}\n", "t.yaml:9:5:",
		   "policy 'p' has action 'chain' but no 'chain'");
	EXPECT_ERR(POL "  - {name: p, from: any, to: any, action: allow, chain: fw}\n",
		   "t.yaml:9:57:", "chain: only with action 'chain'");
	EXPECT_ERR(POL "  - {name: p, from: any, to: any, action: drop}\n", "t.yaml:9:43:",
		   "action: expected one of allow, deny, chain, got 'drop'");
	EXPECT_ERR(POL "  - {name: p, from: any, to: any, action: deny, priority: 1000001}\n",
		   "t.yaml:9:59:", "priority: 1000001 is out of range (-1000000..1000000)");
	EXPECT_ERR(POL "  - {name: p, from: any, to: any, action: deny, priority: -1000001}\n",
		   "t.yaml:9:59:", "priority: -1000001 is out of range (-1000000..1000000)");
	/* Selectors: exactly one logical reference. */
	EXPECT_ERR(POL "  - {name: p, from: everything, to: any, action: deny}\n", "t.yaml:9:21:",
		   "from: expected 'any' or a mapping with one of vm, group, vnet, any, got "
		   "'everything'");
	EXPECT_ERR(POL "  - {name: p, from: {}, to: any, action: deny}\n", "t.yaml:9:21:",
		   "from: give exactly one of vm, group, vnet or any");
	EXPECT_ERR(POL "  - {name: p, from: {vm: a, group: web}, to: any, action: deny}\n",
		   "t.yaml:9:29:", "from: give exactly one of vm, group, vnet or any ('vm' already "
		   "at line 9)");
	EXPECT_ERR(POL "  - {name: p, from: any, to: {any: false}, action: deny}\n",
		   "t.yaml:9:36:", "to: any: expected true, got 'false'");
	EXPECT_ERR(POL "  - {name: p, from: {tenant: acme}, to: any, action: deny}\n",
		   "t.yaml:9:22:", "unknown key 'tenant' in from (expected one of: vm, group, vnet, "
		   "any)");
	EXPECT_ERR(POL "  - {name: p, from: {vm: 'a b'}, to: any, action: deny}\n", "t.yaml:9:26:",
		   "from.vm: invalid character ' '");
	EXPECT_ERR(POL "  - {name: p, from: {vm: ''}, to: any, action: deny}\n", "t.yaml:9:26:",
		   "from.vm: must not be empty");
}

/* D2: a policy names VMs, groups and networks, never where they are. */
static void test_policy_no_physical(void)
{
	static const char *const keys[] = { "host", "tep", "ip", "ips", "address", "port",
					    "nic", "mac", "interface", "device" };
	char text[1024], msg[256];

	for (unsigned i = 0; i < UNIT_DIM(keys); i++) {
		snprintf(text, sizeof(text), POL "  - {name: p1, from: any, to: any, action: deny, "
			 "%s: x}\n", keys[i]);
		snprintf(msg, sizeof(msg), "policy 'p1': '%s' is a physical location; policies "
			 "name only VMs, groups and virtual networks", keys[i]);
		expect_err_(text, "t.yaml:9:50:", msg, __LINE__);
		snprintf(text, sizeof(text), POL "  - {name: p1, from: {%s: x}, to: any, "
			 "action: deny}\n", keys[i]);
		snprintf(msg, sizeof(msg), "policy 'p1': from: '%s' is a physical location; "
			 "policies name only VMs, groups and virtual networks", keys[i]);
		expect_err_(text, "t.yaml:9:23:", msg, __LINE__);
	}
	EXPECT_ERR(POL "  - {name: p1, from: {vm: 10.0.0.1}, to: any, action: deny}\n",
		   "t.yaml:9:27:", "policy 'p1': from: '10.0.0.1' (an IP address) is a physical "
		   "location; policies name only VMs, groups and virtual networks");
	EXPECT_ERR(POL "  - {name: p1, from: any, to: {group: '2001:db8::1'}, action: deny}\n",
		   "t.yaml:9:39:", "policy 'p1': to: '2001:db8::1' (an IP address) is a physical "
		   "location");
	EXPECT_ERR(POL "  - {name: p1, from: any, to: {vnet: '02:00:00:00:00:01'}, action: deny}\n",
		   "t.yaml:9:38:", "policy 'p1': to: '02:00:00:00:00:01' (a MAC address) is a "
		   "physical location");
	/* Before the name is known, the policy is named without it. */
	EXPECT_ERR(POL "  - {tep: 192.0.2.2, name: p1}\n", "t.yaml:9:6:",
		   "policy: 'tep' is a physical location");
}

static void test_subnet_gateways(void)
{
#define VN W "virtual_networks:\n"   /* entries from line 4 */
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.0/24, gateway: 10.0.1.1}]}\n",
		   "t.yaml:4:64:", "subnets: gateway 10.0.1.1 is not inside 10.0.0.0/24");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.0/24, gateway: 10.0.0.0}]}\n",
		   "t.yaml:4:64:", "subnets: gateway 10.0.0.0 is the network address of 10.0.0.0/24");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.0/24, gateway: 10.0.0.255}]}\n",
		   "t.yaml:4:64:", "subnets: gateway 10.0.0.255 is the broadcast address of 10.0.0.0/24");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.0/24, gateway: '2001:db8::1'}]}\n",
		   "t.yaml:4:64:", "subnets: gateway 2001:db8::1 is not inside 10.0.0.0/24");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: '2001:db8::/64', gateway: '2001:db8::'}]}\n",
		   "t.yaml:4:68:", "subnets: gateway 2001:db8:: is the network address of 2001:db8::/64");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{gateway: 10.0.0.1}]}\n", "t.yaml:4:33:",
		   "subnets: missing required key 'prefix' in subnet");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.0/24, gw: 10.0.0.1}]}\n",
		   "t.yaml:4:55:", "subnets: unknown key 'gw' in subnet (expected one of: prefix, gateway)");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.0/24, gateway: x}]}\n",
		   "t.yaml:4:64:", "subnets: gateway: expected an IPv4 or IPv6 address, got 'x'");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.1/24}]}\n", "t.yaml:4:42:",
		   "subnets: 10.0.0.1/24 has host bits set");
	EXPECT_ERR(VN "  - {name: n, vni: 1, subnets: [[10.0.0.0/24]]}\n", "t.yaml:4:33:",
		   "subnets: expected a prefix or {prefix, gateway}, got a sequence");
	/* /31 and /32 have neither network nor broadcast address. */
	{
		struct ctl_config *cfg = LOAD_OK(
			VN "  - {name: n, vni: 1, subnets: [{prefix: 10.0.0.0/31, gateway: 10.0.0.0},"
			" {prefix: 10.0.1.1/32, gateway: 10.0.1.1}]}\n");

		if (cfg)
			CU_ASSERT_EQUAL(cfg->vnets[0].gateways[1].v4, htonl(0x0a000101));
		ctl_config_free(cfg);
	}
#undef VN
}

/* The networks of one tenant are one routing domain. */
static void test_tenant_routing_domain(void)
{
	struct ctl_config *cfg;

	EXPECT_ERR(MODEL "  - {name: green, vni: 300, tenant: acme, subnets: [10.0.0.128/25]}\n",
		   "t.yaml:8:53:", "subnets: 10.0.0.128/25 overlaps 10.0.0.0/24 of network 'blue' "
		   "(both in tenant 'acme')");
	EXPECT_ERR(MODEL "  - {name: green, vni: 300, tenant: acme, subnets: [10.0.0.0/16]}\n",
		   "t.yaml:8:53:", "subnets: 10.0.0.0/16 overlaps 10.0.0.0/24 of network 'blue'");
	/* Other tenants, and networks without one, may reuse the addresses. */
	cfg = LOAD_OK(MODEL "  - {name: green, vni: 300, tenant: beta, subnets: [10.0.0.0/24]}\n"
		      "  - {name: plain, vni: 400, subnets: [10.0.0.0/16]}\n"
		      "  - {name: plain2, vni: 500, subnets: [10.0.0.0/16]}\n");
	ctl_config_free(cfg);
	/* Endpoint IPv4 addresses are unique across the tenant's networks;
	 * IPv6 ones, and networks without a tenant, stay per network. */
#define DOM W "tenants: [{name: acme}]\n"                                                      \
	"virtual_networks:\n"                                                                     \
	"  - {name: blue, vni: 1, tenant: acme}\n"                                                \
	"  - {name: red, vni: 2, tenant: acme}\n"                                                 \
	"  - {name: solo, vni: 3}\n"                                                              \
	"endpoints:\n"                                                                            \
	"  - {name: a, mac: '02:00:00:00:00:01', vnet: blue, tep: 192.0.2.2, ips: [10.0.0.5]}\n"  \
	"  - {name: b, mac: '02:00:00:00:00:02', vnet: solo, tep: 192.0.2.2,"                     \
	" ips: [10.0.0.5, '2001:db8::5']}\n"
	EXPECT_ERR(DOM "  - {name: c, mac: '02:00:00:00:00:03', vnet: red, tep: 192.0.2.2,"
		   " ips: ['2001:db8::5', 10.0.0.5]}\n", "t.yaml:11:89:",
		   "ips: 10.0.0.5 is already used in tenant 'acme' by endpoint 'a' (network 'blue')");
	cfg = LOAD_OK(DOM "  - {name: c, mac: '02:00:00:00:00:03', vnet: red, tep: 192.0.2.2,"
		      " ips: ['2001:db8::5', 10.0.0.6]}\n");
	ctl_config_free(cfg);
#undef DOM
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "default config", test_default_config },
		{ "two-hosts examples", test_two_hosts },
		{ "etcd examples", test_etcd_examples },
		{ "defaults", test_defaults },
		{ "all keys", test_all_keys },
		{ "lcores auto-fill", test_lcores_autofill },
		{ "byte order", test_byte_order },
		{ "file errors", test_file_errors },
		{ "syntax errors", test_syntax_errors },
		{ "document shape", test_document_shape },
		{ "unknown keys", test_unknown_keys },
		{ "duplicate keys", test_duplicate_keys },
		{ "types", test_types },
		{ "integers", test_integers },
		{ "booleans", test_booleans },
		{ "eal rules", test_eal_rules },
		{ "workers rules", test_workers_rules },
		{ "control rules", test_control_rules },
		{ "control.state_dir", test_state_dir },
		{ "physical port rules", test_phys_rules },
		{ "vhost port rules", test_vhost_rules },
		{ "virtual network rules", test_vnet_rules },
		{ "endpoint rules", test_endpoint_rules },
		{ "cross references", test_cross_refs },
		{ "uniqueness", test_uniqueness },
		{ "helpers", test_helpers },
		{ "200k endpoints", test_many_endpoints },
		{ "duplicate in 50k endpoints", test_many_endpoints_dup },
		{ "control bytes rejected, errors on one line", test_control_bytes_rejected_on_one_line },
		{ "model: every key", test_model_all_keys },
		{ "model: defaults", test_model_defaults },
		{ "policy and policy_service rules", test_policy_settings_rules },
		{ "model: names and references", test_model_names_and_refs },
		{ "policy rules", test_policy_rules },
		{ "policies name nothing physical", test_policy_no_physical },
		{ "subnet gateways", test_subnet_gateways },
		{ "a tenant is one routing domain", test_tenant_routing_domain },
	};
	const struct unit_suite suite = { "config", tests, UNIT_DIM(tests), NULL, NULL,
					  NULL, NULL };

	return unit_run(&suite, NULL);
}
