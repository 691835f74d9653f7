/* Shared main() for memgate's CUnit test programs: runs every registered suite with
 * the basic interface and exits non-zero when any assertion failed or a suite could not
 * be set up, so ctest sees the failure. */
#ifndef MEMGATE_TESTS_MGTEST_H
#define MEMGATE_TESTS_MGTEST_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>

typedef struct mgt_case {
    const char *name;
    void (*fn)(void);
} mgt_case;

/* Registers one suite made of `cases` (terminated by {NULL, NULL}). */
static inline int mgt_add_suite(const char *name, const mgt_case *cases) {
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s) return -1;
    for (const mgt_case *c = cases; c->name; c++)
        if (!CU_add_test(s, c->name, c->fn)) return -1;
    return 0;
}

static inline int mgt_run(void) {
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return failed ? 1 : 0;
}

#define MGT_MAIN(...)                                                                  \
    int main(void) {                                                                   \
        if (CU_initialize_registry() != CUE_SUCCESS) return 2;                         \
        __VA_ARGS__                                                                    \
        return mgt_run();                                                              \
    }

#endif
