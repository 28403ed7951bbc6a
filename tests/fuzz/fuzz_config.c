/* fuzz_config: YAML text into the configuration loader.
 *
 * The same bytes go to ctl_config_load() as a whole configuration and, in
 * a file (one temporary path, rewritten per input), to
 * ctl_config_load_state() over the built-in default configuration.
 * Invariants: whatever is accepted passes ctl_config_validate() and
 * survives ctl_config_dup(); a rejected state file leaves the
 * configuration as it was (its state text unchanged); an error message is
 * a terminated string; nothing leaks (libFuzzer's leak check).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_config.h"
#include "fuzz_common.h"

static struct ctl_config *base;       /* the default configuration */
static char state_path[] = "/tmp/fuzz_config_state.XXXXXX";

static int
copy_file(const char *dir, const char *name, const char *src)
{
	char buf[16384];
	FILE *f = fopen(src, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", src, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return fuzz_seed_file(dir, name, buf, n);
}

/* Seeds: the shipped configurations (from $VS_SOURCE_DIR, default "."),
 * and the state file the default configuration saves. */
static int
write_seeds(const char *dir)
{
	const char *src = getenv("VS_SOURCE_DIR") ? getenv("VS_SOURCE_DIR") : ".";
	char path[4096], err[CTL_ERR_MAX];
	struct ctl_config *cfg;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/config/default.yaml", src);
	rc |= copy_file(dir, "default.yaml", path);
	snprintf(path, sizeof(path), "%s/config/two-hosts/host-a.yaml", src);
	rc |= copy_file(dir, "host-a.yaml", path);
	snprintf(path, sizeof(path), "%s/config/two-hosts/host-b.yaml", src);
	rc |= copy_file(dir, "host-b.yaml", path);
	cfg = ctl_config_load(path, NULL, err, sizeof(err));   /* host-b.yaml */
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/state.yaml", dir);
	if (ctl_config_save_state(cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "state seed: %s\n", err);
		rc = -1;
	}
	ctl_config_free(cfg);
	return rc;
}

static void
cleanup(void)
{
	unlink(state_path);
	ctl_config_free(base);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[CTL_ERR_MAX];
	int fd;

	fuzz_seed_mode(*argc, *argv, write_seeds);
	base = ctl_config_load("default.yaml", ctl_config_default_yaml, err, sizeof(err));
	fd = mkstemp(state_path);
	if (base == NULL || fd < 0) {
		fprintf(stderr, "fuzz_config: %s\n", base == NULL ? err : strerror(errno));
		exit(1);
	}
	close(fd);
	atexit(cleanup);
	return 0;
}

/* The live sections of @a and @b agree (the "file" back-pointers aside:
 * every copy points them at its own file name). */
static bool
same_state(const struct ctl_config *a, const struct ctl_config *b)
{
	if (a->n_vnets != b->n_vnets || a->n_endpoints != b->n_endpoints ||
	    a->n_vhost != b->n_vhost)
		return false;
	for (unsigned i = 0; i < a->n_vnets; i++)
		if (memcmp(&a->vnets[i], &b->vnets[i], offsetof(struct ctl_vnet, file)) != 0)
			return false;
	for (unsigned i = 0; i < a->n_endpoints; i++)
		if (memcmp(&a->endpoints[i], &b->endpoints[i],
			   offsetof(struct ctl_endpoint, file)) != 0)
			return false;
	for (unsigned i = 0; i < a->n_vhost; i++)
		if (memcmp(&a->vhost[i], &b->vhost[i], offsetof(struct ctl_vhost_port, file)) != 0)
			return false;
	return true;
}

static void
check_err(const char *err)
{
	FUZZ_CHECK(memchr(err, '\0', CTL_ERR_MAX) != NULL);
	FUZZ_CHECK(err[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CTL_ERR_MAX];
	struct ctl_config *cfg, *dup;
	char *text = malloc(size + 1);
	FILE *f;
	int rc;

	if (text == NULL)
		return -1;
	memcpy(text, data, size);
	text[size] = '\0';

	/* a whole configuration */
	memset(err, 0x55, sizeof(err));
	cfg = ctl_config_load("fuzz.yaml", text, err, sizeof(err));
	if (cfg == NULL) {
		check_err(err);
	} else {
		dup = ctl_config_dup(cfg);
		FUZZ_CHECK(dup != NULL);
		rc = ctl_config_validate(dup, err, sizeof(err));
		if (rc != 0)
			fuzz_fail("loaded, yet the copy fails validation: %s", err);
		ctl_config_free(dup);
		ctl_config_free(cfg);
	}
	free(text);

	/* the same bytes as a state file over the default configuration */
	f = fopen(state_path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);
	cfg = ctl_config_dup(base);
	FUZZ_CHECK(cfg != NULL);
	memset(err, 0x55, sizeof(err));
	rc = ctl_config_load_state(cfg, state_path, err, sizeof(err));
	if (rc < 0) {
		check_err(err);
		/* left exactly as it was */
		if (!same_state(cfg, base))
			fuzz_fail("rejected state file (%s) changed the configuration", err);
	} else {
		rc = ctl_config_validate(cfg, err, sizeof(err));
		if (rc != 0)
			fuzz_fail("state file accepted, yet validation fails: %s", err);
	}
	ctl_config_free(cfg);
	return 0;
}
