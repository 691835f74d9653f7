/* Unit tests of runner/util.c (SIZE parsing and formatting, counts, string helpers,
 * quoting for terminals, PATH search) and runner/model.c (names, tallies, freeing). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgtest.h"
#include "mgtest_util.h"
#include "model.h"
#include "util.h"

/* Parses text and returns the byte count, or -99 when mg_parse_size refused it. */
static int64_t size_of(const char *text) {
    int64_t v = -77;
    if (mg_parse_size(text, &v) != 0) return -99;
    return v;
}

static void test_size_plain_bytes(void) {
    CU_ASSERT_EQUAL(size_of("0"), 0);
    CU_ASSERT_EQUAL(size_of("1"), 1);
    CU_ASSERT_EQUAL(size_of("4096"), 4096);
    CU_ASSERT_EQUAL(size_of("007"), 7);
    CU_ASSERT_EQUAL(size_of("  4096  "), 4096);
    CU_ASSERT_EQUAL(size_of("\t12\t"), 12);
    CU_ASSERT_EQUAL(size_of("312B"), 312);
    CU_ASSERT_EQUAL(size_of("312 B"), 312);
    CU_ASSERT_EQUAL(size_of("312 b"), 312);
    CU_ASSERT_EQUAL(size_of("9223372036854775807"), INT64_MAX);
}

static void test_size_binary_units(void) {
    CU_ASSERT_EQUAL(size_of("4KiB"), 4096);
    CU_ASSERT_EQUAL(size_of("4 KiB"), 4096);
    CU_ASSERT_EQUAL(size_of("4   KiB"), 4096);
    CU_ASSERT_EQUAL(size_of("8MiB"), 8LL * 1024 * 1024);
    CU_ASSERT_EQUAL(size_of("8 MiB"), 8LL * 1024 * 1024);
    CU_ASSERT_EQUAL(size_of("1GiB"), 1024LL * 1024 * 1024);
    CU_ASSERT_EQUAL(size_of("2 TiB"), 2LL << 40);
    CU_ASSERT_EQUAL(size_of("0 KiB"), 0);
    CU_ASSERT_EQUAL(size_of("1024 KiB"), size_of("1 MiB"));
}

static void test_size_decimal_units(void) {
    CU_ASSERT_EQUAL(size_of("4KB"), 4000);
    CU_ASSERT_EQUAL(size_of("4 KB"), 4000);
    CU_ASSERT_EQUAL(size_of("2 MB"), 2000000);
    CU_ASSERT_EQUAL(size_of("1GB"), 1000000000);
    CU_ASSERT_EQUAL(size_of("3 TB"), 3000000000000LL);
}

static void test_size_case_insensitive(void) {
    CU_ASSERT_EQUAL(size_of("4kib"), 4096);
    CU_ASSERT_EQUAL(size_of("4KIB"), 4096);
    CU_ASSERT_EQUAL(size_of("4kIb"), 4096);
    CU_ASSERT_EQUAL(size_of("8 mib"), 8LL << 20);
    CU_ASSERT_EQUAL(size_of("1 gib"), 1LL << 30);
    CU_ASSERT_EQUAL(size_of("4kb"), 4000);
    CU_ASSERT_EQUAL(size_of("2 Mb"), 2000000);
    CU_ASSERT_EQUAL(size_of("1 gB"), 1000000000);
}

static void test_size_fractions(void) {
    CU_ASSERT_EQUAL(size_of("1.5 MiB"), 1572864);
    CU_ASSERT_EQUAL(size_of("1.5MiB"), 1572864);
    CU_ASSERT_EQUAL(size_of("0.5 KiB"), 512);
    CU_ASSERT_EQUAL(size_of("0.25 GiB"), 256LL << 20);
    CU_ASSERT_EQUAL(size_of("1.5 KB"), 1500);
    CU_ASSERT_EQUAL(size_of("2.0 KiB"), 2048);
    /* Rounded down to whole bytes: 1.1 KiB is 1126.4 bytes. */
    CU_ASSERT_EQUAL(size_of("1.1 KiB"), 1126);
    /* Digits past the sixth are ignored, not an error. */
    CU_ASSERT_EQUAL(size_of("1.50000000 MiB"), 1572864);
    /* A whole-valued fraction of bytes is fine; a real one is not. */
    CU_ASSERT_EQUAL(size_of("4.0"), 4);
    CU_ASSERT_EQUAL(size_of("1.5"), -99);
    CU_ASSERT_EQUAL(size_of("1.5 B"), -99);
}

static void test_size_rejects(void) {
    const char *bad[] = {
        "", "   ", "-1", "+1", "-4 KiB", "4 XB", "KiB", "MiB", "4 KiBs", "4 KiB junk",
        "4096x", "4 K", "4M", "4 G", "1.", ".5 MiB", "1..5 MiB", "1.5.0 MiB", "4 Ki B",
        "4,096", "0x10", "1e3", "4 KiB 2", "four", "4\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 12345;
        int rc = mg_parse_size(bad[i], &v);
        if (rc != -1) fprintf(stderr, "accepted bad size \"%s\"\n", bad[i]);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(v, 12345); /* untouched on failure */
    }
    int64_t v;
    CU_ASSERT_EQUAL(mg_parse_size(NULL, &v), -1);
}

static void test_size_overflow(void) {
    CU_ASSERT_EQUAL(size_of("99999999999 GiB"), -99);
    CU_ASSERT_EQUAL(size_of("9223372036854775808"), -99);
    CU_ASSERT_EQUAL(size_of("99999999999999999999999"), -99);
    CU_ASSERT_EQUAL(size_of("8388608 TiB"), -99);           /* exactly 2^63 */
    CU_ASSERT_EQUAL(size_of("8388607 TiB"), 8388607LL << 40); /* just below */
    /* The fraction alone can push the total over the limit. */
    CU_ASSERT_EQUAL(size_of("9223372036854775.8 KB"), 9223372036854775800LL);
    CU_ASSERT_EQUAL(size_of("9223372036854775.9 KB"), -99);
    CU_ASSERT_EQUAL(size_of("9223372036854775 KB"), 9223372036854775000LL);
    CU_ASSERT_EQUAL(size_of("9223372036854776 KB"), -99);
}

static void test_count(void) {
    int64_t v = -5;
    CU_ASSERT_EQUAL(mg_parse_count("0", &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(mg_parse_count("10", &v), 0);
    CU_ASSERT_EQUAL(v, 10);
    CU_ASSERT_EQUAL(mg_parse_count(" 42 ", &v), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(mg_parse_count("9223372036854775807", &v), 0);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    const char *bad[] = {"", " ", "-1", "+1", "1.5", "10 KiB", "10x", "9223372036854775808",
                         "abc", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 777;
        CU_ASSERT_EQUAL(mg_parse_count(bad[i], &v), -1);
        CU_ASSERT_EQUAL(v, 777);
    }
    CU_ASSERT_EQUAL(mg_parse_count(NULL, &v), -1);
}

/* Formats n and compares with want. */
static void check_format(int64_t n, const char *want) {
    char buf[32];
    char *got = mg_format_size(n, buf, sizeof buf);
    CU_ASSERT_PTR_EQUAL(got, buf);
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "mg_format_size(%lld) = \"%s\", want \"%s\"\n", (long long)n, buf, want);
    CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_format_size(void) {
    check_format(0, "0 B");
    check_format(1, "1 B");
    check_format(312, "312 B");
    check_format(1023, "1023 B");
    check_format(1024, "1.0 KiB");
    check_format(4096, "4.0 KiB");
    check_format(1536, "1.5 KiB");
    check_format(1572864, "1.5 MiB");
    check_format(12LL * 1048576 + 524288, "12.5 MiB");
    check_format(1LL << 30, "1.00 GiB");
    check_format(3LL << 29, "1.50 GiB");
    check_format(5LL << 40, "5.00 TiB");
    /* Never "1024.0 KiB": values that round up to the next unit move to it. */
    check_format(1048575, "1.0 MiB");
    check_format(1048536, "1.0 MiB");    /* 1023.96 KiB */
    check_format(1048514, "1023.9 KiB"); /* 1023.94 KiB */
    check_format(-312, "-312 B");
    check_format(-4096, "-4.0 KiB");
    check_format(-1572864, "-1.5 MiB");
    check_format(INT64_MAX, "8.00 EiB");
    check_format(INT64_MIN, "-8.00 EiB");
}

static void test_format_truncates(void) {
    char buf[4];
    mg_format_size(1572864, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "1.5");
    CU_ASSERT_PTR_NULL(mg_format_size(1, NULL, 0));
}

static void test_strings(void) {
    CU_ASSERT_PTR_NULL(mg_xstrdup(NULL));
    char *s = mg_xstrdup("abc");
    CU_ASSERT_STRING_EQUAL(s, "abc");
    free(s);
    s = mg_xasprintf("%s/%d", "suite", 42);
    CU_ASSERT_STRING_EQUAL(s, "suite/42");
    free(s);
    s = mg_xasprintf("%s", "");
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);

    int *z = mg_xcalloc(8, sizeof *z);
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(z[i], 0);
    z = mg_xrealloc(z, 16 * sizeof *z);
    CU_ASSERT_EQUAL(z[7], 0);
    z[15] = 3;
    CU_ASSERT_EQUAL(z[15], 3);
    free(z);
    /* Zero-size requests still give a pointer to free. */
    void *p = mg_xcalloc(0, 0);
    CU_ASSERT_PTR_NOT_NULL(p);
    p = mg_xrealloc(p, 0);
    CU_ASSERT_PTR_NOT_NULL(p);
    free(p);
}

static void test_set_err(void) {
    char err[16];
    mg_set_err(err, sizeof err, "%s: %d", "file", 7);
    CU_ASSERT_STRING_EQUAL(err, "file: 7");
    mg_set_err(err, sizeof err, "%s", "a message longer than sixteen");
    CU_ASSERT_EQUAL(strlen(err), sizeof err - 1);
    CU_ASSERT_NSTRING_EQUAL(err, "a message longe", 15);
    mg_set_err(NULL, 0, "%s", "ignored");
    err[0] = 'x';
    mg_set_err(err, 0, "%s", "ignored");
    CU_ASSERT_EQUAL(err[0], 'x');
}

static void test_model_names(void) {
    CU_ASSERT_STRING_EQUAL(mg_status_name(MG_ST_PASS), "pass");
    CU_ASSERT_STRING_EQUAL(mg_status_name(MG_ST_FAIL), "fail");
    CU_ASSERT_STRING_EQUAL(mg_status_name(MG_ST_CRASH), "crash");
    CU_ASSERT_STRING_EQUAL(mg_status_name(MG_ST_TIMEOUT), "timeout");
    CU_ASSERT_STRING_EQUAL(mg_status_name(MG_ST_ERROR), "error");
    CU_ASSERT_STRING_EQUAL(mg_status_name(MG_ST_SKIP), "skip");
    CU_ASSERT_STRING_EQUAL(mg_status_name((mg_status)99), "unknown");
    CU_ASSERT_STRING_EQUAL(mg_source_name(MG_SRC_BUILTIN), "builtin");
    CU_ASSERT_STRING_EQUAL(mg_source_name(MG_SRC_CLI), "cli");
    CU_ASSERT_STRING_EQUAL(mg_source_name(MG_SRC_FILE_DEFAULTS), "file-defaults");
    CU_ASSERT_STRING_EQUAL(mg_source_name(MG_SRC_FILE_TEST), "file-test");
    CU_ASSERT_STRING_EQUAL(mg_source_name(MG_SRC_ANNOTATION), "annotation");
    CU_ASSERT_STRING_EQUAL(mg_source_name((mg_limit_source)99), "unknown");
}

/* Builds an entry of n frames with every string set, so freeing it is checked by ASan. */
static void fill_entry(mg_entry *e, size_t n) {
    e->nframes = n;
    e->frames = mg_xcalloc(n, sizeof *e->frames);
    for (size_t i = 0; i < n; i++) {
        e->frames[i].function = mg_xasprintf("fn%zu", i);
        e->frames[i].file = mg_xstrdup("f.c");
        e->frames[i].module = i % 2 ? mg_xstrdup("/lib/m.so") : NULL;
        e->frames[i].line = (unsigned)i;
    }
}

static void test_model_free_and_tally(void) {
    const mg_status st[] = {MG_ST_PASS, MG_ST_PASS, MG_ST_FAIL, MG_ST_CRASH,
                            MG_ST_TIMEOUT, MG_ST_ERROR, MG_ST_SKIP, MG_ST_SKIP,
                            MG_ST_SKIP};
    mg_run run = {0};
    run.ntests = sizeof st / sizeof st[0];
    run.tests = mg_xcalloc(run.ntests, sizeof *run.tests);
    run.started_at = mg_xstrdup("2026-11-21T09:40:00Z");
    run.hostname = mg_xstrdup("ci-1");
    for (size_t i = 0; i < run.ntests; i++) {
        mg_test_result *t = &run.tests[i];
        t->status = st[i];
        t->binary = mg_xstrdup("./tests");
        t->suite = mg_xstrdup("s");
        t->name = mg_xasprintf("t%zu", i);
        t->budget.leak_bytes.origin = mg_xstrdup("budgets.json: defaults");
        t->budget.object_growth.origin = mg_xstrdup("--object-growth");
        t->budget.peak_bytes.origin = mg_xstrdup("t.c:42");
        t->ndiffs = 2;
        t->diffs = mg_xcalloc(2, sizeof *t->diffs);
        fill_entry(&t->diffs[0], 3);
        fill_entry(&t->diffs[1], 1);
        t->npeak_diffs = 1;
        t->peak_diffs = mg_xcalloc(1, sizeof *t->peak_diffs);
        fill_entry(&t->peak_diffs[0], 2);
        t->nfailures = 1;
        t->failures = mg_xcalloc(1, sizeof *t->failures);
        t->failures[0].file = mg_xstrdup("t.c");
        t->failures[0].condition = mg_xstrdup("x == 1");
        t->message = mg_xstrdup("leaked 4.0 KiB");
        t->output = mg_xstrdup("hello\n");
    }
    mg_tally tally;
    mg_run_tally(&run, &tally);
    CU_ASSERT_EQUAL(tally.total, 9);
    CU_ASSERT_EQUAL(tally.pass, 2);
    CU_ASSERT_EQUAL(tally.fail, 1);
    CU_ASSERT_EQUAL(tally.crash, 1);
    CU_ASSERT_EQUAL(tally.timeout, 1);
    CU_ASSERT_EQUAL(tally.error, 1);
    CU_ASSERT_EQUAL(tally.skip, 3);

    /* ASan's leak check at exit fails this program if anything above is not freed. */
    mg_run_free_contents(&run);
    CU_ASSERT_PTR_NULL(run.tests);
    CU_ASSERT_EQUAL(run.ntests, 0);
    CU_ASSERT_PTR_NULL(run.hostname);
    mg_run_free_contents(&run); /* idempotent once cleared */

    mg_run_tally(&run, &tally);
    CU_ASSERT_EQUAL(tally.total, 0);
    mg_run_tally(NULL, &tally);
    CU_ASSERT_EQUAL(tally.total, 0);
}

static void test_model_entry_free(void) {
    mg_entry e = {0};
    fill_entry(&e, 4);
    mg_entry_free_contents(&e);
    CU_ASSERT_PTR_NULL(e.frames);
    CU_ASSERT_EQUAL(e.nframes, 0);
    mg_entry_free_contents(NULL);
    mg_test_result_free_contents(NULL);
    mg_run_free_contents(NULL);
}


static void test_quote(void) {
    struct {
        const char *in;
        size_t len, max;
        const char *want;
    } cases[] = {
        {"plain text", 10, 60, "\"plain text\""},
        {"", 0, 60, "\"\""},
        {"a\"b\\c", 5, 60, "\"a\\\"b\\\\c\""},
        {"tab\there\r\n", 10, 60, "\"tab\\there\\r\\n\""},
        {"\x1b[31mred", 8, 60, "\"\\x1b[31mred\""},
        {"nul\0inside", 10, 60, "\"nul\\x00inside\""},
        {"del\x7f", 4, 60, "\"del\\x7f\""},
        {"\xff\xfe\xc3", 3, 60, "\"\\xff\\xfe\\xc3\""},       /* invalid and cut-short UTF-8 */
        {"\xc0\xaf", 2, 60, "\"\\xc0\\xaf\""},                 /* overlong '/' */
        {"caf\xc3\xa9 \xe2\x9c\x93", 9, 60, "\"caf\xc3\xa9 \xe2\x9c\x93\""}, /* valid UTF-8 stays */
        {"abcdef", 6, 3, "\"abc\"..."},
        {"abc", 3, 3, "\"abc\""},
        {"\xc3\xa9\xc3\xa9\xc3\xa9", 6, 2, "\"\xc3\xa9\xc3\xa9\"..."}, /* cut counts characters */
        {"\x01\x02\x03\x04", 4, 2, "\"\\x01\\x02\"..."},
        {"only part", 4, 60, "\"only\""},                       /* len, not strlen */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *q = mg_quote(cases[i].in, cases[i].len, cases[i].max);
        if (strcmp(q, cases[i].want) != 0)
            fprintf(stderr, "\n  case %zu: got %s, want %s\n", i, q, cases[i].want);
        CU_ASSERT_STRING_EQUAL(q, cases[i].want);
        free(q);
    }
}

static void test_strlist(void) {
    mg_strlist l = {0};
    mg_strlist_addf(&l, "%s:%d", "a", 1);
    mg_strlist_addf(&l, "second");
    mg_strlist_addf(NULL, "dropped");
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_STRING_EQUAL(l.items[0], "a:1");
    CU_ASSERT_STRING_EQUAL(l.items[1], "second");
    mg_strlist_free(&l);
    CU_ASSERT_EQUAL(l.n, 0);
    CU_ASSERT_PTR_NULL(l.items);
    mg_strlist_addf(&l, "again");
    CU_ASSERT_EQUAL(l.n, 1);
    mg_strlist_free(&l);
    mg_strlist_free(NULL);
}

static void test_path_search(void) {
    const char *dir = mgt_tmpdir();
    char *bin = mg_xasprintf("%s/bin", dir), *other = mg_xasprintf("%s/other", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(bin, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(other, 0755), 0);
    char *prog = mg_xasprintf("%s/prog", bin), *noexec = mg_xasprintf("%s/prog", other);
    char *onlyplain = mg_xasprintf("%s/plain", other), *subdir = mg_xasprintf("%s/prog", dir);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(prog, "#!/bin/sh\n"), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(prog, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(noexec, "x"), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(noexec, 0644), 0);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(onlyplain, "x"), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(onlyplain, 0644), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(subdir, 0755), 0); /* a directory named prog is skipped */

    char *saved = getenv("PATH") ? mg_xstrdup(getenv("PATH")) : NULL;
    char *path = mg_xasprintf("%s:%s:%s", dir, other, bin);
    setenv("PATH", path, 1);
    /* A non-executable file of the name (in other/) is passed over, as by execvp. */
    char *got = mg_path_search("prog");
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got) CU_ASSERT_STRING_EQUAL(got, prog);
    free(got);
    errno = 0;
    CU_ASSERT_PTR_NULL(mg_path_search("no-such-program-anywhere"));
    CU_ASSERT_EQUAL(errno, ENOENT);
    errno = 0;
    CU_ASSERT_PTR_NULL(mg_path_search("plain"));
    CU_ASSERT_EQUAL(errno, EACCES);
    /* A name with a slash is taken as it is; an empty name is nothing. */
    got = mg_path_search("./relative/prog");
    CU_ASSERT_STRING_EQUAL(got, "./relative/prog");
    free(got);
    CU_ASSERT_PTR_NULL(mg_path_search(""));
    /* An empty PATH entry is the current directory. */
    char cwd[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(bin), 0);
    setenv("PATH", "/nonexistent::/also-not", 1);
    got = mg_path_search("prog");
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got) CU_ASSERT_STRING_EQUAL(got, "./prog");
    free(got);
    CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
    /* Without PATH, glibc's default: /bin:/usr/bin. */
    unsetenv("PATH");
    got = mg_path_search("sh");
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got) CU_ASSERT_TRUE(strcmp(got, "/bin/sh") == 0 || strcmp(got, "/usr/bin/sh") == 0);
    free(got);

    if (saved) setenv("PATH", saved, 1);
    free(saved);
    free(path);
    free(subdir);
    free(onlyplain);
    free(noexec);
    free(prog);
    free(other);
    free(bin);
}

static const mgt_case size_cases[] = {
    {"plain_bytes", test_size_plain_bytes},
    {"binary_units", test_size_binary_units},
    {"decimal_units", test_size_decimal_units},
    {"case_insensitive", test_size_case_insensitive},
    {"fractions", test_size_fractions},
    {"rejects", test_size_rejects},
    {"overflow", test_size_overflow},
    {"count", test_count},
    {"format", test_format_size},
    {"format_truncates", test_format_truncates},
    {NULL, NULL},
};

static const mgt_case misc_cases[] = {
    {"strings", test_strings},
    {"set_err", test_set_err},
    {"model_names", test_model_names},
    {"model_free_and_tally", test_model_free_and_tally},
    {"model_entry_free", test_model_entry_free},
    {"quote", test_quote},
    {"strlist", test_strlist},
    {"path_search", test_path_search},
    {NULL, NULL},
};

MGT_MAIN(if (mgt_add_suite("size", size_cases) || mgt_add_suite("util", misc_cases)) return 2;)
