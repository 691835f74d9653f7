/*
 * A small CUnit test program as a project would write it, gated by memgate through
 * CTest (see CMakeLists.txt here). It is an ordinary CUnit program: run plainly it runs
 * every test and exits 0, whether or not memgate is installed at run time.
 *
 *   text/upper_copy            clean: frees everything it allocates
 *   text/split_words           clean, with an in-code budget: never more than 4 KiB live
 *   cache/intern_keeps_strings leaks on purpose (the intern table lives as long as the
 *                              process); the cache glob in budgets.json allows it
 *   cache/intern_reuses        interns one string twice: one block stays, also allowed
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <memgate/memgate.h>
#include <stdlib.h>
#include <string.h>

/* ---- the code under test -------------------------------------------------------- */

/* Returns an upper-case copy of s; the caller frees it. */
static char *upper_copy(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    return out;
}

/* Splits s at spaces into at most max words, each a new string; returns the count. The
 * caller frees the words. */
static size_t split_words(const char *s, char **words, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        while (*s == ' ')
            s++;
        size_t len = strcspn(s, " ");
        if (len == 0)
            break;
        words[n] = malloc(len + 1);
        if (!words[n])
            break;
        memcpy(words[n], s, len);
        words[n][len] = '\0';
        n++;
        s += len;
    }
    return n;
}

/* A process-wide string table: interned strings are never freed, by design. */
static const char *g_interned[16];
static size_t g_ninterned;

/* Returns the interned copy of s (the same pointer for equal strings), or NULL when the
 * table is full. */
static const char *intern(const char *s)
{
    for (size_t i = 0; i < g_ninterned; i++)
        if (strcmp(g_interned[i], s) == 0)
            return g_interned[i];
    if (g_ninterned == sizeof g_interned / sizeof *g_interned)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    g_interned[g_ninterned++] = copy;
    return copy;
}

/* ---- the tests ------------------------------------------------------------------ */

static void test_upper_copy(void)
{
    char *s = upper_copy("memgate");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s, "MEMGATE");
    free(s);
}

static void test_split_words(void)
{
    /* The budget in code: leak and growth stay at the default 0, the peak is capped. */
    MEMGATE_BUDGET(.peak_bytes = MEMGATE_KiB(4));
    char *words[8];
    size_t n = split_words("per test memory budgets", words, 8);
    CU_ASSERT_EQUAL(n, 4);
    if (n == 4)
        CU_ASSERT_STRING_EQUAL(words[3], "budgets");
    for (size_t i = 0; i < n; i++)
        free(words[i]);
}

static void test_intern_keeps_strings(void)
{
    CU_ASSERT_PTR_NOT_NULL(intern("alpha"));
    CU_ASSERT_PTR_NOT_NULL(intern("beta"));
    CU_ASSERT_PTR_NOT_NULL(intern("gamma"));
}

static void test_intern_reuses(void)
{
    const char *a = intern("delta");
    const char *b = intern("delta");
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_EQUAL(a, b);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite text = CU_add_suite("text", NULL, NULL);
    CU_pSuite cache = CU_add_suite("cache", NULL, NULL);
    if (!text || !cache || !CU_add_test(text, "upper_copy", test_upper_copy) ||
        !CU_add_test(text, "split_words", test_split_words) ||
        !CU_add_test(cache, "intern_keeps_strings", test_intern_keeps_strings) ||
        !CU_add_test(cache, "intern_reuses", test_intern_reuses)) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return err != CUE_SUCCESS ? 2 : failed ? 1 : 0;
}
