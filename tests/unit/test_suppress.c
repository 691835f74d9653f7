/* Unit tests of runner/suppress.c: LSan-style patterns, frame matching, built-in rules
 * and suppressions files. */
#include <stdbool.h>
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
    mg_strlist warnings = {0};
    int rc = mg_supp_load_file(s, path, &warnings, err, sizeof err);
    if (rc != 0) fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL(warnings.n, 0); /* nothing here matches everything */
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
    CU_ASSERT_EQUAL(mg_supp_load_file(b, path, NULL, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(match1(b, frame("_dl_allocate_tls", NULL, NULL)));
    CU_ASSERT_PTR_NOT_NULL(match1(b, frame("lru_cache_grow", NULL, NULL)));
    mg_supp_free(b);
    mg_strlist_free(&warnings);
    mg_supp_free(s);
}

/* Expects loading text to fail with exactly "PATH" + want_suffix, and to add nothing. */
static void load_fails(const char *text, const char *want_suffix) {
    mg_suppressions *s = mg_supp_new_empty();
    mg_supp_add(s, "^kept$");
    const char *path = write_file(text);
    char err[512] = "";
    mg_strlist warnings = {0};
    mg_strlist_addf(&warnings, "earlier warning");
    CU_ASSERT_EQUAL(mg_supp_load_file(s, path, &warnings, err, sizeof err), -1);
    /* A refused file adds no warning either. */
    CU_ASSERT_EQUAL(warnings.n, 1);
    mg_strlist_free(&warnings);
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
    load_fails("leak:good_before\nleak:*\nbogus\n", ":3: expected leak:PATTERN, got \"bogus\"");
    load_fails("leak:good_before\nLEAK:x\n",
               ":2: unknown suppression kind \"LEAK\" (expected leak:PATTERN)");

    char *missing = mgt_tmp_path("nope.supp");
    mg_suppressions *s = mg_supp_new_empty();
    char err[512];
    CU_ASSERT_EQUAL(mg_supp_load_file(s, missing, NULL, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s: cannot open suppressions file: No such file or directory",
             missing);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_EQUAL(mg_supp_load_file(s, mgt_tmpdir(), NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot read suppressions file: Is a directory",
             mgt_tmpdir());
    CU_ASSERT_STRING_EQUAL(err, want);
    mg_supp_free(s);
    free(missing);
}


static void test_matches_all(void) {
    const char *all[] = {"", "^", "$", "*", "^*", "*$", "^*$", "**", "^**$"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!mg_supp_pattern_matches_all(all[i])) fprintf(stderr, "\n  \"%s\"\n", all[i]);
        CU_ASSERT_TRUE(mg_supp_pattern_matches_all(all[i]));
        /* ... and they do match anything a frame can hold. */
        CU_ASSERT_EQUAL(mg_supp_pattern_match(all[i][0] ? all[i] : "*", "any_function"), 1);
    }
    const char *some[] = {"^$", "a", "*a*", "^*x", "?", "^ ", "$*^"};
    for (size_t i = 0; i < sizeof some / sizeof some[0]; i++) {
        if (mg_supp_pattern_matches_all(some[i])) fprintf(stderr, "\n  \"%s\"\n", some[i]);
        CU_ASSERT_FALSE(mg_supp_pattern_matches_all(some[i]));
    }
    CU_ASSERT_FALSE(mg_supp_pattern_matches_all(NULL));
}

/* Patterns that match every frame load, warn with FILE:LINE, and suppress everything. */
static void test_load_warns_on_match_all(void) {
    const char *path = write_file("leak:^\n"
                                  "leak:specific\n"
                                  "leak:*\n"
                                  "# leak:*\n"
                                  "leak:^*\n"
                                  "leak:\n"
                                  "  leak:  \t\n"
                                  "leak:^$\n");
    mg_suppressions *s = mg_supp_new_empty();
    mg_strlist w = {0};
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(mg_supp_load_file(s, path, &w, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(w.n, 5);
    const char *lines[] = {":1: leak:^ ", ":3: leak:* ", ":5: leak:^* ", ":6: leak: ", ":7: leak: "};
    for (size_t i = 0; i < 5; i++) {
        char want[700];
        snprintf(want, sizeof want, "%s%ssuppresses every allocation (it matches every frame), "
                 "so no leak can fail a test", path, lines[i]);
        if (strcmp(w.items[i], want) != 0) fprintf(stderr, "\n  got:  %s\n  want: %s\n", w.items[i], want);
        CU_ASSERT_STRING_EQUAL(w.items[i], want);
    }
    /* Accepted, and they do what they say; the empty pattern shows as "*". */
    const char *p = match1(s, frame("any_function_at_all", NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "^");
    mg_supp_free(s);
    s = mg_supp_new_empty();
    mg_strlist_free(&w);
    CU_ASSERT_EQUAL_FATAL(mg_supp_load_file(s, write_file("leak:\n"), &w, err, sizeof err), 0);
    CU_ASSERT_EQUAL(w.n, 1);
    p = match1(s, frame("f", NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p, "*");
    /* Without a list the warnings are dropped, the patterns still load. */
    CU_ASSERT_EQUAL(mg_supp_load_file(s, write_file("leak:*\n"), NULL, err, sizeof err), 0);
    mg_strlist_free(&w);
    mg_supp_free(s);
}

/* True when text holds no byte a terminal would act on: no control character, no DEL,
 * no invalid UTF-8 (checked loosely: no byte >= 0x80 at all, as these inputs only have
 * non-ASCII bytes that must be escaped). */
static bool terminal_safe(const char *text) {
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p >= 0x7f) return false;
    return true;
}

/* Loads bytes (len of them, NULs included) and expects a refusal whose message is
 * PATH + want_suffix and safe to print. */
static void garbage_fails(const char *bytes, size_t len, const char *want_suffix) {
    snprintf(path_buf, sizeof path_buf, "%s/garbage.supp", mgt_tmpdir());
    FILE *f = fopen(path_buf, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fwrite(bytes, 1, len, f);
    fclose(f);
    mg_suppressions *s = mg_supp_new_empty();
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_supp_load_file(s, path_buf, NULL, err, sizeof err), -1);
    char want[700];
    snprintf(want, sizeof want, "%s%s", path_buf, want_suffix);
    if (strcmp(err, want) != 0) fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_TRUE(terminal_safe(err));
    mg_supp_free(s);
}

static void test_load_never_echoes_raw(void) {
    static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0\n";
    garbage_fails(elf, sizeof elf - 1,
                  ":1: not a text file (NUL byte) in \"\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00"
                  "\\x00\\x00\\x00\\x00\\x00\\x00\\x03\\x00>\\x00\\x01\\x00\\x00"
                  "\\x00\\n\"");
    /* A terminal escape sequence in a line without a colon. */
    static const char esc[] = "leak:ok\n\x1b[2J\x1b]0;pwned\x07 text\n";
    garbage_fails(esc, sizeof esc - 1,
                  ":2: expected leak:PATTERN, got \"\\x1b[2J\\x1b]0;pwned\\x07 text\"");
    /* Invalid UTF-8 in the kind, and DEL. */
    static const char bad_utf8[] = "\xff\xfe\x7f" "kind:pattern\n";
    garbage_fails(bad_utf8, sizeof bad_utf8 - 1,
                  ":1: unknown suppression kind \"\\xff\\xfe\\x7fkind\" (expected leak:PATTERN)");
    /* A long line is cut after 60 characters. */
    char long_line[300];
    memset(long_line, 'x', 200);
    memcpy(long_line + 200, "\n", 2);
    char want[120];
    snprintf(want, sizeof want, ":1: expected leak:PATTERN, got \"%.60s\"...", long_line);
    garbage_fails(long_line, 201, want);
}

/* Valid UTF-8 is shown as it is. */
static void test_load_keeps_utf8(void) {
    mg_suppressions *s = mg_supp_new_empty();
    char err[512] = "";
    const char *path = write_file("r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93\n");
    CU_ASSERT_EQUAL(mg_supp_load_file(s, path, NULL, err, sizeof err), -1);
    char want[700];
    snprintf(want, sizeof want, "%s:1: expected leak:PATTERN, got \"r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93\"",
             path);
    CU_ASSERT_STRING_EQUAL(err, want);
    mg_supp_free(s);
}

static const mgt_case pattern_cases[] = {
    {"substring", test_pattern_substring},
    {"anchors", test_pattern_anchors},
    {"stars", test_pattern_stars},
    {"matches_all", test_matches_all},
    {NULL, NULL},
};

static const mgt_case match_cases[] = {
    {"frame_parts", test_match_frame_parts},
    {"any_frame_first_rule", test_match_any_frame_first_rule},
    {"builtin_suppresses_libc", test_builtin_suppresses_libc},
    {"builtin_keeps_real_leaks", test_builtin_keeps_real_leaks},
    {"load_file", test_load_file},
    {"load_errors", test_load_errors},
    {"load_warns_on_match_all", test_load_warns_on_match_all},
    {"load_never_echoes_raw", test_load_never_echoes_raw},
    {"load_keeps_utf8", test_load_keeps_utf8},
    {NULL, NULL},
};

/* The temporary directory is made before any test runs: failing to make it is a harness
 * error (exit 2), not a test failure. */
MGT_MAIN(mgt_tmpdir();
         if (mgt_add_suite("suppress_pattern", pattern_cases) ||
             mgt_add_suite("suppress", match_cases))
             return 2;)
