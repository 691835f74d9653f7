/*
 * A small CUnit program for the documentation tests (check_schema.py): it produces the
 * report shapes that the shared fixtures in tests/fixtures/ do not, so that every branch
 * of docs/report.schema.json is checked against a real report.
 *
 *   docs/inactive          marked inactive with CU_set_test_active: status "skip"
 *   docs/keeps_one_block   leaves one 24-byte block live: a small leak to budget for
 *   docs/frees_everything  clean
 *   broken_init/never_runs its suite's init fails: status "error"
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

static char *kept;

static void test_inactive(void)
{
    CU_FAIL("an inactive test never runs");
}

static void test_keeps_one_block(void)
{
    kept = malloc(24);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kept);
    memset(kept, 'k', 24);
}

static void test_frees_everything(void)
{
    char *p = malloc(100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    memset(p, 0, 100);
    free(p);
}

static void test_never_runs(void)
{
    CU_FAIL("the suite's init failed, so this never runs");
}

static int init_fails(void)
{
    return 1;
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite docs = CU_add_suite("docs", NULL, NULL);
    CU_pSuite broken = CU_add_suite("broken_init", init_fails, NULL);
    CU_pTest inactive = docs ? CU_add_test(docs, "inactive", test_inactive) : NULL;
    if (!docs || !broken || !inactive || !CU_add_test(docs, "keeps_one_block", test_keeps_one_block) ||
        !CU_add_test(docs, "frees_everything", test_frees_everything) ||
        !CU_add_test(broken, "never_runs", test_never_runs)) {
        CU_cleanup_registry();
        return 1;
    }
    CU_set_test_active(inactive, CU_FALSE);
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    CU_cleanup_registry();
    free(kept);
    /* Run plainly, broken_init fails on purpose: the exit status says nothing here. */
    return 0;
}
