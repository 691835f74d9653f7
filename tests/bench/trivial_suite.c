/*
 * trivial_suite: 2,000 trivial passing tests (20 suites of 100), registered in loops.
 * The tests do almost nothing, so timing `memgate run` on this binary measures the
 * runner's fixed cost per test: fork, windows, the pipe back, and report writing
 * (docs/performance.md: per-test cost against a bare fork+waitpid of this binary, and
 * -j 2 against -j 1).
 *
 * Built a second time as tiny_suite with TRIVIAL_SUITES=10 and TRIVIAL_TESTS=20: 200
 * tests, for comparing `memgate run` with `valgrind --leak-check=full` on the same
 * binary.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../fixtures/fixture.h"

#ifndef TRIVIAL_SUITES
#define TRIVIAL_SUITES 20
#endif
#ifndef TRIVIAL_TESTS
#define TRIVIAL_TESTS 100
#endif
enum { SUITES = TRIVIAL_SUITES, TESTS_PER_SUITE = TRIVIAL_TESTS };

static volatile unsigned g_counter;

static void trivial_test(void)
{
    g_counter++;
    CU_ASSERT(1);
}

/* One test in ten allocates and frees a small block, as many real tests do. */
static void trivial_alloc_test(void)
{
    char *p = malloc(32);
    CU_ASSERT_PTR_NOT_NULL(p);
    free(p);
}

int main(int argc, char **argv)
{
    fixture_init();
    for (unsigned s = 0; s < SUITES; s++) {
        char suite_name[32];
        snprintf(suite_name, sizeof suite_name, "trivial_%02u", s);
        CU_pSuite suite = fixture_check_suite(CU_add_suite(suite_name, NULL, NULL));
        for (unsigned t = 0; t < TESTS_PER_SUITE; t++) {
            char test_name[32];
            snprintf(test_name, sizeof test_name, "t%04u", t);
            fixture_add(suite, test_name, t % 10 == 9 ? trivial_alloc_test : trivial_test);
        }
    }
    return fixture_run(argc, argv);
}
