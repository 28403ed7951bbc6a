/* Unit tests of physical_ports[].neighbors (src/ctl/ctl_config.c): static
 * next-hop MACs for underlays where nothing answers ARP.  Errors are checked
 * for their exact "file:line:col:" and a key phrase, as in test_config.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

#include "ctl_config.h"

/* A port on 198.51.100.0/24; its neighbors list starts on line 8. */
#define PORT                                  \
	"workers:\n  lcores: [1]\n"           \
	"physical_ports:\n"                   \
	"  - name: ul0\n"                     \
	"    devargs: net_null0,no-rx=1\n"    \
	"    ip: 198.51.100.1/24\n"           \
	"    neighbors:\n"

static void check_(int ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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

static struct ctl_config *load_ok_(const char *text, int line)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg = ctl_config_load("t.yaml", text, err, sizeof(err));

	check_(cfg != NULL, line, "load should succeed, got: %s", err);
	return cfg;
}
#define LOAD_OK(text) load_ok_((text), __LINE__)

/* Expects the load of @text to fail with EINVAL, the message starting with
 * @where and containing @phrase. */
static void expect_err_(const char *text, const char *where, const char *phrase, int line)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *cfg;
	int e;

	errno = 0;
	cfg = ctl_config_load("t.yaml", text, err, sizeof(err));
	e = errno;
	check_(cfg == NULL && e == EINVAL && strncmp(err, where, strlen(where)) == 0 &&
	       strstr(err, phrase) != NULL,
	       line, "expected '%s ...%s...' (EINVAL), got '%s' (errno %d)", where, phrase, err, e);
	ctl_config_free(cfg);
}
#define EXPECT_ERR(text, where, phrase) expect_err_((text), (where), (phrase), __LINE__)

static void test_neighbors_parsed(void)
{
	static const uint8_t mac1[6] = { 0x02, 0x00, 0x5e, 0x00, 0x02, 0x02 };
	static const uint8_t mac2[6] = { 0x02, 0x00, 0x5e, 0x00, 0x02, 0xfe };
	struct ctl_config *cfg = LOAD_OK(PORT
		"      - {ip: 198.51.100.2, mac: \"02:00:5e:00:02:02\"}\n"
		"      - ip: 198.51.100.254\n"
		"        mac: \"02:00:5E:00:02:FE\"\n");

	if (cfg == NULL)
		return;
	CU_ASSERT_EQUAL(cfg->phys[0].n_neighbors, 2);
	CU_ASSERT_EQUAL(cfg->phys[0].neighbors[0].ip, inet_addr("198.51.100.2"));
	CU_ASSERT_EQUAL(memcmp(cfg->phys[0].neighbors[0].mac, mac1, 6), 0);
	CU_ASSERT_STRING_EQUAL(cfg->phys[0].neighbors[0].name, "198.51.100.2");
	CU_ASSERT_EQUAL(cfg->phys[0].neighbors[1].ip, inet_addr("198.51.100.254"));
	CU_ASSERT_EQUAL(memcmp(cfg->phys[0].neighbors[1].mac, mac2, 6), 0);
	CU_ASSERT_EQUAL(cfg->phys[0].neighbors[1].line, 9);
	ctl_config_free(cfg);
}

static void test_neighbors_optional(void)
{
	struct ctl_config *cfg = LOAD_OK("workers:\n  lcores: [1]\nphysical_ports:\n"
					 "  - {name: ul0, devargs: d, ip: 198.51.100.1/24}\n");

	if (cfg != NULL)
		CU_ASSERT_EQUAL(cfg->phys[0].n_neighbors, 0);
	ctl_config_free(cfg);
	cfg = LOAD_OK(PORT "      []\n");
	if (cfg != NULL)
		CU_ASSERT_EQUAL(cfg->phys[0].n_neighbors, 0);
	ctl_config_free(cfg);
}

static void test_neighbors_rejected(void)
{
	EXPECT_ERR(PORT "      - {ip: 192.0.2.2, mac: \"02:00:00:00:00:01\"}\n", "t.yaml:8:14:",
		   "neighbors: 192.0.2.2 is not inside 198.51.100.1/24");
	EXPECT_ERR(PORT "      - {ip: 198.51.100.1, mac: \"02:00:00:00:00:01\"}\n", "t.yaml:8:14:",
		   "neighbors: 198.51.100.1 is the port's own address");
	EXPECT_ERR(PORT "      - {ip: 198.51.100.2, mac: \"02:00:00:00:00:01\"}\n"
			"      - {ip: 198.51.100.2, mac: \"02:00:00:00:00:02\"}\n",
		   "t.yaml:9:14:", "neighbors: 198.51.100.2 is listed twice");
	EXPECT_ERR(PORT "      - {ip: 198.51.100.2}\n", "t.yaml:8:9:",
		   "missing required key 'mac' in neighbor");
	EXPECT_ERR(PORT "      - {mac: \"02:00:00:00:00:01\"}\n", "t.yaml:8:9:",
		   "missing required key 'ip' in neighbor");
	EXPECT_ERR(PORT "      - {ip: 198.51.100.2, mac: \"01:00:5e:00:00:01\"}\n", "t.yaml:8:33:",
		   "mac:");
	EXPECT_ERR(PORT "      - {ip: 198.51.100.2, mac: \"02:00:00:00:00:01\", port: x}\n",
		   "t.yaml:8:54:", "unknown key 'port' in neighbor");
	EXPECT_ERR(PORT "      198.51.100.2\n", "t.yaml:8:7:", "neighbors: expected a sequence");
}

static void test_neighbors_at_most_16(void)
{
	char text[4096];
	int n = snprintf(text, sizeof(text), "%s", PORT);

	for (int i = 0; i < 17; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "      - {ip: 198.51.100.%d, mac: \"02:00:00:00:00:%02x\"}\n", i + 2, i);
	EXPECT_ERR(text, "t.yaml:24:9:", "neighbors: too many entries (17, at most 16)");
}

/* A changed neighbor needs a restart, like every other physical port key;
 * a copy keeps the neighbors and still validates. */
static void test_neighbors_restart_and_copy(void)
{
	struct ctl_config *a = LOAD_OK(PORT "      - {ip: 198.51.100.2, mac: \"02:00:00:00:00:01\"}\n");
	struct ctl_config *b = LOAD_OK(PORT "      - {ip: 198.51.100.2, mac: \"02:00:00:00:00:02\"}\n");
	struct ctl_config *d;
	char err[CTL_ERR_MAX] = "";

	if (a == NULL || b == NULL)
		goto out;
	CU_ASSERT_EQUAL(ctl_config_restart_needed(a, b, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mac"));
	d = ctl_config_dup(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(ctl_config_restart_needed(a, d, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ctl_config_validate(d, err, sizeof(err)), 0);
	/* an object built in memory gets the same rules */
	d->phys[0].neighbors[0].ip = inet_addr("192.0.2.9");
	CU_ASSERT_EQUAL(ctl_config_validate(d, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "192.0.2.9 is not inside"));
	ctl_config_free(d);
out:
	ctl_config_free(a);
	ctl_config_free(b);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "neighbors parsed", test_neighbors_parsed },
		{ "neighbors optional", test_neighbors_optional },
		{ "bad neighbors rejected with position", test_neighbors_rejected },
		{ "at most 16 neighbors", test_neighbors_at_most_16 },
		{ "neighbors need a restart and survive a copy", test_neighbors_restart_and_copy },
	};
	const struct unit_suite suite = { "config_neighbors", tests, UNIT_DIM(tests), NULL, NULL,
					  NULL, NULL };

	return unit_run(&suite, NULL);
}
