/* See unit_main.h. */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "unit_main.h"

int
unit_run(const struct unit_suite *s, const char *only)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		goto fail;
	suite = CU_add_suite_with_setup_and_teardown(s->name, s->init, s->clean,
						     s->setup, s->teardown);
	if (suite == NULL)
		goto fail;
	for (size_t i = 0; i < s->n_tests; i++)
		if (CU_add_test(suite, s->tests[i].name, s->tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (only != NULL) {
		CU_pTest t = CU_get_test(suite, only);

		if (t == NULL) {
			fprintf(stderr, "%s: no test '%s'\n", s->name, only);
			CU_cleanup_registry();
			return 1;
		}
		CU_basic_run_test(suite, t);
	} else {
		CU_basic_run_tests();
	}
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}
