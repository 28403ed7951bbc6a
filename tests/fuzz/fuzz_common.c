/* Seed mode and failure reports shared by the fuzz targets (fuzz_common.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

void
fuzz_seed_mode(int argc, char **argv, int (*write)(const char *dir))
{
	for (int i = 1; i < argc; i++) {
		const char *dir;

		if (strncmp(argv[i], "-seed=", 6) != 0)
			continue;
		dir = argv[i] + 6;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "%s: %s\n", dir, strerror(errno));
			exit(1);
		}
		exit(write(dir) == 0 ? 0 : 1);
	}
}

int
fuzz_seed_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "%s: cannot write: %s\n", path, strerror(errno));
		return -1;
	}
	printf("%s: %zu bytes\n", path, len);
	return 0;
}

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FUZZ INVARIANT: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}
