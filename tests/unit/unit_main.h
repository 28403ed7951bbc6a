/* The one main() body every CUnit test binary shares: register a suite,
 * run it (or one test named on the command line), report failures. */
#ifndef UNIT_MAIN_H
#define UNIT_MAIN_H

#include <stddef.h>

#include <CUnit/CUnit.h>

struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

struct unit_suite {
	const char *name;
	const struct unit_test *tests;
	size_t n_tests;
	CU_InitializeFunc init;    /* optional, per suite */
	CU_CleanupFunc clean;
	CU_SetUpFunc setup;        /* optional, per test */
	CU_TearDownFunc teardown;
};

/* Run @s; @only names a single test to run, or is NULL for all.
 * Returns the process exit status: 0 when everything passed. */
int unit_run(const struct unit_suite *s, const char *only);

#define UNIT_DIM(a) (sizeof(a) / sizeof((a)[0]))

#endif
