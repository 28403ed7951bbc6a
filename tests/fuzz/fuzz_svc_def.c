/* fuzz_svc_def: YAML text into the service catalog (definitions, profiles,
 * pools), as `vswitchctl service register FILE` hands it over.
 *
 * Each input is registered into a catalog that already holds the built-in
 * firewall (config/services/firewall.yaml), so profile documents have a
 * service to name.  Invariants: a refusal has a terminated message and
 * leaves the catalog as it was (same counts); what is accepted survives a
 * save and a load into a fresh catalog with the same counts; nothing leaks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "svc_catalog.h"

static char *firewall;                      /* the built-in definition's text */
static char dir[] = "/tmp/fuzz_svc_def.XXXXXX";

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static int
write_seeds(const char *out)
{
	static const char *const files[] = { "firewall.yaml", "firewall-profile.yaml" };
	const char *src = getenv("VS_SOURCE_DIR") ? getenv("VS_SOURCE_DIR") : ".";
	static const char pool[] = "pool:\n  name: p1\n  vms: [a, b]\n";
	int rc = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096], *text;
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/config/services/%s", src, files[i]);
		text = read_file(path, &len);
		if (text == NULL) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return -1;
		}
		rc |= fuzz_seed_file(out, files[i], text, len);
		free(text);
	}
	rc |= fuzz_seed_file(out, "pool.yaml", pool, sizeof(pool) - 1);
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *src = getenv("VS_SOURCE_DIR") ? getenv("VS_SOURCE_DIR") : ".";
	char path[4096];
	size_t len;

	fuzz_seed_mode(*argc, *argv, write_seeds);
	snprintf(path, sizeof(path), "%s/config/services/firewall.yaml", src);
	firewall = read_file(path, &len);
	if (firewall == NULL || mkdtemp(dir) == NULL) {
		fprintf(stderr, "fuzz_svc_def: %s: %s (set VS_SOURCE_DIR)\n", path, strerror(errno));
		exit(1);
	}
	return 0;
}

static void
counts(const struct svc_catalog *c, unsigned out[3])
{
	out[0] = c->n_services;
	out[1] = c->n_profiles;
	out[2] = c->n_pools;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svc_catalog *cat = svc_catalog_new(), *back = NULL;
	char err[CTL_ERR_MAX], *text = malloc(size + 1);
	unsigned before[3], after[3], again[3];
	int ret;

	FUZZ_CHECK(cat != NULL && text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	FUZZ_CHECK(svc_catalog_register(cat, "firewall.yaml", firewall, err, sizeof(err)) > 0);
	counts(cat, before);
	err[0] = '\0';
	ret = svc_catalog_register(cat, "fuzz.yaml", text, err, sizeof(err));
	counts(cat, after);
	if (ret < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(memcmp(before, after, sizeof(before)) == 0);
	} else {
		back = svc_catalog_new();
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(svc_catalog_save(cat, dir, err, sizeof(err)) == 0);
		FUZZ_CHECK(svc_catalog_load(back, dir, err, sizeof(err)) == 0);
		counts(back, again);
		FUZZ_CHECK(memcmp(after, again, sizeof(after)) == 0);
	}
	svc_catalog_free(back);
	svc_catalog_free(cat);
	free(text);
	return 0;
}
