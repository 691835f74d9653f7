/* Unit tests of runner/suppress.c: LSan-style patterns, frame matching, built-in rules
 * and suppressions files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgtest.h"
#include "mgtest_util.h"
#include "suppress.h"

static char path_buf[600];

/* Writes text to a new file in the temporary directory; returns its path (valid until
 * the next call). */
static const char *write_file(const char *text) {
    static unsigned counter;
    snprintf(path_buf, sizeof path_buf, "%s/supp%u.txt", mgt_tmpdir(), ++counter);
    FILE *f = fopen(path_buf, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    return path_buf;
}

#define MATCH(p, t) CU_ASSERT_EQUAL(mg_supp_pattern_match((p), (t)), 1)
#define NO_MATCH(p, t) CU_ASSERT_EQUAL(mg_supp_pattern_match((p), (t)), 0)

static void test_pattern_substring(void) {
    MATCH("foo", "foo");
    MATCH("foo", "xfoox");
    MATCH("foo", "foobar");
    MATCH("foo", "barfoo");
    NO_MATCH("foo", "fo");
    NO_MATCH("foo", "f_o_o");
    NO_MATCH("foo", "");
    NO_MATCH("Foo", "foo"); /* case matters: symbol names are case-sensitive */
    MATCH("libfoo.so", "/usr/lib/libfoo.so.1");
}

static void test_pattern_anchors(void) {
    MATCH("^foo", "foobar");
    NO_MATCH("^foo", "xfoo");
    MATCH("bar$", "foobar");
    NO_MATCH("bar$", "barx");
    MATCH("^foo$", "foo");
    NO_MATCH("^foo$", "foox");
    NO_MATCH("^foo$", "xfoo");
    MATCH("^$", "");
    NO_MATCH("^$", "a");
    /* '^' and '$' are plain characters anywhere else. */
    MATCH("a^b", "xa^by");
    NO_MATCH("a^b", "ab");
    MATCH("a$b", "a$b");
    MATCH("^^x", "^x");
    NO_MATCH("^^x", "x");
    MATCH("x$$", "ax$");
    NO_MATCH("x$$", "ax");
}

static void test_pattern_stars(void) {
    MATCH("*", "");
    MATCH("*", "anything");
    MATCH("^*$", "anything");
    MATCH("a*c", "abc");
    MATCH("a*c", "ac");
    MATCH("a*c", "xxabbbcxx");
    NO_MATCH("a*c", "ca");
    MATCH("^a*c$", "abcbc");      /* backtracking: the first 'c' is not the end */
    NO_MATCH("^a*c$", "abcbcd");
    MATCH("^a*b*c$", "aXbYbZc");
    MATCH("^a**c$", "ac");
    MATCH("^_dl_*", "_dl_allocate_tls");
    NO_MATCH("^_dl_*", "x_dl_allocate_tls");
    MATCH("^std::*::~*$", "std::vector<int>::~vector");
    NO_MATCH("^a*b$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac");
    /* '?' and '[' are literal in LSan's syntax. */
    NO_MATCH("a?c", "abc");
    MATCH("a?c", "a?c");
    NO_MATCH("[ab]", "a");
    NO_MATCH(NULL, "a");
    NO_MATCH("a", NULL);
}

/* A frame with the given strings (which the frame does not own here). */
static mg_frame frame(const char *fn, const char *file, const char *module) {
    mg_frame f = {0};
    f.function = (char *)fn;
    f.file = (char *)file;
    f.module = (char *)module;
    return f;
}

static mg_entry entry(mg_frame *frames, size_t n) {
    mg_entry e = {0};
    e.frames = frames;
    e.nframes = n;
    e.size = e.size_diff = 64;
    e.count = e.count_diff = 1;
    return e;
}

static const char *match1(mg_suppressions *s, mg_frame f) {
    mg_entry e = entry(&f, 1);
    return mg_supp_match(s, &e);
}

static void test_match_frame_parts(void) {
    mg_suppressions *s = mg_supp_new_empty();
    mg_supp_add(s, "^make_cache$");
    mg_supp_add(s, "^vendor/");
    mg_supp_add(s, "^libthird.so");
    mg_supp_add(s, "^helpers.c$");
    mg_supp_add(s, "?");

    const char *p = match1(s, frame("make_cache", "src/cache.c", "/bin/t"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "^make_cache$");
    CU_ASSERT_PTR_NULL(match1(s, frame("make_cache2", "src/cache.c", "/bin/t")));
    /* File path, from its start. */
    p = match1(s, frame("f", "vendor/zlib/inflate.c", "/bin/t"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "^vendor/");
    /* Module: the full path does not start with "libthird", its base name does. */
    p = match1(s, frame("g", NULL, "/opt/lib/libthird.so.2"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "^libthird.so");
    CU_ASSERT_PTR_NULL(match1(s, frame("g", NULL, "/opt/lib/xlibthird.so.2")));
    /* File base name, anchored at both ends. */
    p = match1(s, frame("h", "/src/tests/helpers.c", NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "^helpers.c$");
    CU_ASSERT_PTR_NULL(match1(s, frame("h", "/src/tests/helpers.cc", NULL)));
    /* "??" is "unknown function", never matched by a pattern; missing parts are fine. */
    CU_ASSERT_PTR_NULL(match1(s, frame("??", NULL, NULL)));
    CU_ASSERT_PTR_NULL(match1(s, frame(NULL, NULL, NULL)));
    CU_ASSERT_PTR_NULL(match1(s, frame("h", "", "")));
    mg_supp_free(s);
}

static void test_match_any_frame_first_rule(void) {
    mg_suppressions *s = mg_supp_new_empty();
    mg_supp_add(s, "third_party_init");
    mg_supp_add(s, "strdup");
    mg_frame frames[3] = {frame("strdup", NULL, "/lib/libc.so.6"),
                          frame("third_party_init", "tp.c", "/bin/t"),
                          frame("test_x", "t.c", "/bin/t")};
    mg_entry e = entry(frames, 3);
    /* Rule order decides which pattern is reported, not frame order. */
    const char *p = mg_supp_match(s, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "third_party_init");
    /* An outer frame alone is enough. */
    mg_entry outer = entry(&frames[1], 2);
    CU_ASSERT_PTR_NOT_NULL(mg_supp_match(s, &outer));
    mg_entry inner_only = entry(&frames[2], 1);
    CU_ASSERT_PTR_NULL(mg_supp_match(s, &inner_only));
    mg_entry none = entry(NULL, 0);
    CU_ASSERT_PTR_NULL(mg_supp_match(s, &none));
    CU_ASSERT_PTR_NULL(mg_supp_match(NULL, &e));
    CU_ASSERT_PTR_NULL(mg_supp_match(s, NULL));
    /* Empty patterns are ignored: they would match everything. */
    mg_supp_add(s, "");
    CU_ASSERT_PTR_NULL(mg_supp_match(s, &inner_only));
    mg_supp_free(s);
    mg_supp_free(NULL);

    s = mg_supp_new_empty();
    CU_ASSERT_PTR_NULL(mg_supp_match(s, &e));
    mg_supp_free(s);
}

static void test_builtin_suppresses_libc(void) {
    mg_suppressions *s = mg_supp_new_builtin();
    struct {
        mg_frame f;
        const char *want;
    } cases[] = {
        {frame("??", NULL, "/lib64/ld-linux-x86-64.so.2"), "^ld-linux"},
        {frame("??", NULL, "/lib/ld-linux-aarch64.so.1"), "^ld-linux"},
        {frame("_dl_allocate_tls", NULL, NULL), "^_dl_"},
        {frame("_dl_map_object", "dl-load.c", NULL), "^_dl_"},
        {frame("_IO_file_doallocate", "filedoalloc.c", "/lib/x86_64-linux-gnu/libc.so.6"),
         "^_IO_file_doallocate$"},
        {frame("_IO_wfile_doallocate", NULL, NULL), "^_IO_wfile_doallocate$"},
        {frame("__tzfile_read", "tzfile.c", NULL), "^__tzfile_read$"},
        {frame("__tzstring_len", NULL, NULL), "^__tzstring"},
        {frame("tzset_internal", NULL, NULL), "^tzset_internal$"},
        {frame("setlocale", NULL, NULL), "^setlocale$"},
        {frame("__libc_setlocale", NULL, NULL), "^__libc_setlocale$"},
        {frame("_nl_load_locale_from_archive", NULL, NULL), "^_nl_"},
        {frame("_nl_find_domain", NULL, NULL), "^_nl_"},
        {frame("__gconv_load_cache", NULL, NULL), "^__gconv_load_cache$"},
        {frame("__nss_database_lookup2", NULL, NULL), "^__nss_"},
        {frame("__new_exitfn", NULL, NULL), "^__new_exitfn$"},
        {frame("add_failure", "TestRun.c", "/lib/libcunit.so.1"), "^add_failure$"},
        {frame("CU_assertImplementation", NULL, NULL), "^CU_assertImplementation$"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = match1(s, cases[i].f);
        if (!p || strcmp(p, cases[i].want) != 0)
            fprintf(stderr, "\n  case %zu: got %s, want %s\n", i, p ? p : "(none)",
                    cases[i].want);
        CU_ASSERT_PTR_NOT_NULL(p);
        if (p) CU_ASSERT_STRING_EQUAL(p, cases[i].want);
    }
    mg_supp_free(s);
}

static void test_builtin_keeps_real_leaks(void) {
    mg_suppressions *s = mg_supp_new_builtin();
    /* A whole ordinary stack, from malloc's caller out to _start: every frame that is on
     * every test's stack must stay unmatched, or built-ins would hide all leaks. */
    mg_frame stack[] = {
        frame("strdup", "string/strdup.c", "/lib/x86_64-linux-gnu/libc.so.6"),
        frame("make_cache", "/src/cache.c", "/build/tests/cache_tests"),
        frame("test_cache_get", "/src/tests/cache_tests.c", "/build/tests/cache_tests"),
        frame("run_single_test", "TestRun.c", "/lib/x86_64-linux-gnu/libcunit.so.1"),
        frame("run_single_suite", "TestRun.c", "/lib/x86_64-linux-gnu/libcunit.so.1"),
        frame("CU_run_all_tests", "TestRun.c", "/lib/x86_64-linux-gnu/libcunit.so.1"),
        frame("basic_run_all_tests", "Basic.c", "/lib/x86_64-linux-gnu/libcunit.so.1"),
        frame("CU_basic_run_tests", "Basic.c", "/lib/x86_64-linux-gnu/libcunit.so.1"),
        frame("main", "/src/tests/cache_tests.c", "/build/tests/cache_tests"),
        frame("__libc_start_call_main", "../sysdeps/nptl/libc_start_call_main.h",
              "/lib/x86_64-linux-gnu/libc.so.6"),
        frame("__libc_start_main_impl", "../csu/libc-start.c", "/lib/x86_64-linux-gnu/libc.so.6"),
        frame("_start", NULL, "/build/tests/cache_tests"),
    };
    mg_entry e = entry(stack, sizeof stack / sizeof stack[0]);
    const char *p = mg_supp_match(s, &e);
    if (p) fprintf(stderr, "\n  ordinary stack suppressed by %s\n", p);
    CU_ASSERT_PTR_NULL(p);

    /* Names that merely contain a built-in's text are not glibc's. */
    const char *lookalikes[] = {"my_dl_helper", "x_IO_file_doallocate", "xsetlocale",
                                "setlocale_wrapper", "newlocale", "my__nss_cache",
                                "record_add_failure", "add_failures", "tzset"};
    for (size_t i = 0; i < sizeof lookalikes / sizeof lookalikes[0]; i++) {
        p = match1(s, frame(lookalikes[i], "user.c", "/build/t"));
        if (p) fprintf(stderr, "\n  %s suppressed by %s\n", lookalikes[i], p);
        CU_ASSERT_PTR_NULL(p);
    }
    /* A user library whose name contains "ld-linux" but does not start with it. */
    CU_ASSERT_PTR_NULL(match1(s, frame("f", NULL, "/opt/libold-linux.so")));
    mg_supp_free(s);
}

static void test_load_file(void) {
    mg_suppressions *s = mg_supp_new_empty();
    const char *path = write_file("# leaks we accept\n"
                                  "\n"
                                  "leak:^third_party_init$\r\n"
                                  "   leak:  libvendor.so   \n"
                                  "\t# indented comment\n"
                                  "leak:*cache*grow\n"
                                  "   \n"
                                  "leak:no_newline_at_end");
    char err[512] = "";
    int rc = mg_supp_load_file(s, path, err, sizeof err);
    if (rc != 0) fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    const char *p = match1(s, frame("third_party_init", NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "^third_party_init$"); /* '\r' trimmed */
    p = match1(s, frame("f", NULL, "/usr/lib/libvendor.so.3"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "libvendor.so"); /* blanks around the pattern trimmed */
    CU_ASSERT_PTR_NOT_NULL(match1(s, frame("lru_cache_grow", NULL, NULL)));
    CU_ASSERT_PTR_NOT_NULL(match1(s, frame("no_newline_at_end", NULL, NULL)));
    /* Comment text is not a pattern. */
    CU_ASSERT_PTR_NULL(match1(s, frame("leaks we accept", NULL, NULL)));
    CU_ASSERT_PTR_NULL(match1(s, frame("indented comment", NULL, NULL)));
    CU_ASSERT_PTR_NULL(match1(s, frame("third_party_init2", NULL, NULL)));

    /* Loading adds to what is there: built-ins stay. */
    mg_suppressions *b = mg_supp_new_builtin();
    CU_ASSERT_EQUAL(mg_supp_load_file(b, path, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(match1(b, frame("_dl_allocate_tls", NULL, NULL)));
    CU_ASSERT_PTR_NOT_NULL(match1(b, frame("lru_cache_grow", NULL, NULL)));
    mg_supp_free(b);
    mg_supp_free(s);
}

/* Expects loading text to fail with exactly "PATH" + want_suffix, and to add nothing. */
static void load_fails(const char *text, const char *want_suffix) {
    mg_suppressions *s = mg_supp_new_empty();
    mg_supp_add(s, "^kept$");
    const char *path = write_file(text);
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_supp_load_file(s, path, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s%s", path, want_suffix);
    if (strcmp(err, want) != 0) fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
    CU_ASSERT_STRING_EQUAL(err, want);
    /* The good lines before the bad one were not kept; earlier rules were. */
    CU_ASSERT_PTR_NULL(match1(s, frame("good_before", NULL, NULL)));
    CU_ASSERT_PTR_NOT_NULL(match1(s, frame("kept", NULL, NULL)));
    mg_supp_free(s);
}

static void test_load_errors(void) {
    load_fails("leak:good_before\n# c\nrace:foo\n",
               ":3: \"race:\" suppressions are not supported; memgate only reads leak:PATTERN");
    load_fails("leak:good_before\ncalled_from_lib:libfoo.so\n",
               ":2: \"called_from_lib:\" suppressions are not supported; memgate only reads "
               "leak:PATTERN");
    load_fails("leak:good_before\n\nleek:foo\n",
               ":3: unknown suppression kind \"leek\" (expected leak:PATTERN)");
    load_fails("leak:good_before\nfoo\n", ":2: expected leak:PATTERN, got \"foo\"");
    load_fails("leak:good_before\nleak:\n", ":2: empty pattern after \"leak:\"");
    load_fails("leak:good_before\nleak:   \t\n", ":2: empty pattern after \"leak:\"");
    load_fails("leak:good_before\nLEAK:x\n",
               ":2: unknown suppression kind \"LEAK\" (expected leak:PATTERN)");

    char *missing = mgt_tmp_path("nope.supp");
    mg_suppressions *s = mg_supp_new_empty();
    char err[512];
    CU_ASSERT_EQUAL(mg_supp_load_file(s, missing, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s: cannot open suppressions file: No such file or directory",
             missing);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_EQUAL(mg_supp_load_file(s, mgt_tmpdir(), err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot read suppressions file: Is a directory",
             mgt_tmpdir());
    CU_ASSERT_STRING_EQUAL(err, want);
    mg_supp_free(s);
    free(missing);
}

static const mgt_case pattern_cases[] = {
    {"substring", test_pattern_substring},
    {"anchors", test_pattern_anchors},
    {"stars", test_pattern_stars},
    {NULL, NULL},
};

static const mgt_case match_cases[] = {
    {"frame_parts", test_match_frame_parts},
    {"any_frame_first_rule", test_match_any_frame_first_rule},
    {"builtin_suppresses_libc", test_builtin_suppresses_libc},
    {"builtin_keeps_real_leaks", test_builtin_keeps_real_leaks},
    {"load_file", test_load_file},
    {"load_errors", test_load_errors},
    {NULL, NULL},
};

/* The temporary directory is made before any test runs: failing to make it is a harness
 * error (exit 2), not a test failure. */
MGT_MAIN(mgt_tmpdir();
         if (mgt_add_suite("suppress_pattern", pattern_cases) ||
             mgt_add_suite("suppress", match_cases))
             return 2;)
