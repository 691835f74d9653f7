/*
 * A CUnit program whose suite and test names are hard to pass around: fnmatch
 * metacharacters (* ? [ \), spaces, CMake list separators (;), quotes, $ and a '/'
 * inside a test name. memgate_discover_tests() must register each of them as its own
 * CTest test whose `memgate run -k` pattern selects exactly that test.
 *
 * "glob/star*" has a sibling "glob/starlet" that an unescaped pattern would also select;
 * "glob/bracket[1]" and "glob/back\slash" select nothing at all when unescaped.
 * "glob/inactive" is switched off: discovery registers it as a disabled test.
 * Every test is clean (frees what it allocates), so each passes under memgate.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

/* Allocates, uses and frees a small block: a clean test. */
static void test_clean(void)
{
    char *p = malloc(32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    strcpy(p, "memgate");
    CU_ASSERT_EQUAL(strlen(p), 7);
    free(p);
}

static const char *const glob_tests[] = {"star*", "starlet", "what?", "bracket[1]", "back\\slash"};
static const char *const odd_tests[] = {"with space", "semi;colon", "quote\"d", "dollar${x}",
                                        "slash/inside"};

/* Adds a suite with one clean test per name; exits on a registry error. */
static CU_pSuite add_suite(const char *suite_name, const char *const *names, size_t n)
{
    CU_pSuite s = CU_add_suite(suite_name, NULL, NULL);
    if (!s)
        exit(2);
    for (size_t i = 0; i < n; i++)
        if (!CU_add_test(s, names[i], test_clean))
            exit(2);
    return s;
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite glob = add_suite("glob", glob_tests, sizeof glob_tests / sizeof *glob_tests);
    CU_pTest off = CU_add_test(glob, "inactive", test_clean);
    if (!off || CU_set_test_active(off, CU_FALSE) != CUE_SUCCESS)
        return 2;
    add_suite("odd names", odd_tests, sizeof odd_tests / sizeof *odd_tests);
    CU_set_fail_on_inactive(CU_FALSE); /* a switched-off test is not an error here */
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return err != CUE_SUCCESS ? 2 : failed ? 1 : 0;
}
