/* Unit tests of runner/budgets.c: the budgets file, precedence and origins, annotations
 * and the limit check. Budgets files are written under a private mkdtemp directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budgets.h"
#include "mgtest.h"
#include "mgtest_util.h"
#include "suggest.h"
#include "util.h"

static char path_buf[600];

/* Writes text (len bytes, or strlen when len is 0) to a new file in the temporary
 * directory and returns its path (valid until the next call). */
static const char *write_file_n(const char *text, size_t len) {
    static unsigned counter;
    snprintf(path_buf, sizeof path_buf, "%s/budgets%u.json", mgt_tmpdir(), ++counter);
    FILE *f = fopen(path_buf, "wb");
    CU_ASSERT_FATAL(f != NULL);
    if (!len) len = strlen(text);
    CU_ASSERT_FATAL(fwrite(text, 1, len, f) == len);
    fclose(f);
    return path_buf;
}

static const char *write_file(const char *text) { return write_file_n(text, 0); }

/* Every key a budgets file entry may have, as the unknown-key message lists them. */
#define KEYS                                                                               \
    "leak_bytes, object_growth, lost_bytes, net_bytes, net_blocks, peak_bytes, warmups, "  \
    "isolation, alloc_functions or repeat"

/* Loads text as a budgets file and expects success. */
static mg_budget_file *load_ok(const char *text) {
    const char *path = write_file(text);
    mg_budget_file *bf = NULL;
    char err[512] = "";
    int rc = mg_budgets_load(path, &bf, err, sizeof err);
    if (rc != 0) fprintf(stderr, "unexpected load error: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(bf);
    return bf;
}

/* Loads text (len bytes, or strlen when len is 0) and expects failure with exactly the
 * message "PATH" + want_suffix. */
static void load_fails(const char *text, size_t len, const char *want_suffix) {
    const char *path = write_file_n(text, len);
    char full[600];
    snprintf(full, sizeof full, "%s%s", path, want_suffix);

    mg_budget_file *bf = (mg_budget_file *)&bf; /* must be reset to NULL */
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_budgets_load(path, &bf, err, sizeof err), -1);
    CU_ASSERT_PTR_NULL(bf);
    if (strcmp(err, full) != 0) fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, full);
    CU_ASSERT_STRING_EQUAL(err, full);
}

/* Asserts one resolved limit: value, source and origin (NULL, or a suffix after the
 * file's path when origin starts with ':', or an exact string otherwise). */
static void check_limit(const mg_limit *l, int64_t value, mg_limit_source src,
                        const char *origin, const char *file) {
    CU_ASSERT_EQUAL(l->value, value);
    CU_ASSERT_EQUAL(l->source, src);
    if (!origin) {
        CU_ASSERT_PTR_NULL(l->origin);
        return;
    }
    char want[512];
    if (origin[0] == ':' && file)
        snprintf(want, sizeof want, "%s%s", file, origin);
    else
        snprintf(want, sizeof want, "%s", origin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l->origin);
    if (strcmp(l->origin, want) != 0)
        fprintf(stderr, "\n  origin got: %s\n  want: %s\n", l->origin, want);
    CU_ASSERT_STRING_EQUAL(l->origin, want);
}

/* A command line giving the leak, growth and peak limits (MG_LIMIT_UNSET: not given). */
static mg_cli_limits cli3(int64_t leak, int64_t growth, int64_t peak) {
    mg_cli_limits c;
    mg_cli_limits_init(&c);
    c.v[MG_M_LEAK] = leak;
    c.v[MG_M_GROWTH] = growth;
    c.v[MG_M_PEAK] = peak;
    return c;
}

/* An annotation of the leak, growth and peak fields; the others are unset. */
static int annotate3(mg_budget *b, int64_t leak, int64_t growth, int64_t peak, const char *file,
                     unsigned line) {
    int64_t v[MG_M_COUNT];
    for (int m = 0; m < MG_M_COUNT; m++) v[m] = MG_LIMIT_UNSET;
    v[MG_M_LEAK] = leak;
    v[MG_M_GROWTH] = growth;
    v[MG_M_PEAK] = peak;
    char err[256] = "";
    int rc = mg_budget_apply_annotation(b, v, file, line, err, sizeof err);
    if (rc) fprintf(stderr, "\nannotation: %s\n", err);
    return rc;
}

/* mg_budget_check of measured leak, growth and peak figures (the others not measured). */
static unsigned check3(const mg_budget *b, int64_t leak, int64_t growth, int64_t peak) {
    int64_t fig[MG_M_COUNT] = {0};
    fig[MG_M_LEAK] = leak;
    fig[MG_M_GROWTH] = growth;
    fig[MG_M_PEAK] = peak;
    return mg_budget_check(b, fig, MG_M_BIT(MG_M_LEAK) | MG_M_BIT(MG_M_GROWTH) |
                                       MG_M_BIT(MG_M_PEAK));
}

/* ---- precedence ----------------------------------------------------------------- */

static void test_builtin_defaults(void) {
    mg_budget b;
    mg_budgets_resolve(NULL, NULL, "s", "t", &b);
    check_limit(&b.leak_bytes, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.object_growth, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);
    mg_budget_free_contents(&b);

    /* An all-unset CLI changes nothing. */
    mg_cli_limits no_cli;
    mg_cli_limits_init(&no_cli);
    mg_budgets_resolve(NULL, &no_cli, "s", "t", &b);
    check_limit(&b.leak_bytes, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);
    mg_budget_free_contents(&b);
}

static void test_cli_over_builtin(void) {
    mg_cli_limits cli = cli3(100, MG_LIMIT_UNSET, 1 << 20);
    mg_budget b;
    mg_budgets_resolve(NULL, &cli, "s", "t", &b);
    check_limit(&b.leak_bytes, 100, MG_SRC_CLI, "--leak-bytes", NULL);
    check_limit(&b.object_growth, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.peak_bytes, 1 << 20, MG_SRC_CLI, "--peak", NULL);
    mg_budget_free_contents(&b);

    cli = cli3(MG_LIMIT_UNSET, 7, MG_UNLIMITED);
    mg_budgets_resolve(NULL, &cli, "s", "t", &b);
    check_limit(&b.leak_bytes, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.object_growth, 7, MG_SRC_CLI, "--object-growth", NULL);
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_CLI, "--peak", NULL);
    mg_budget_free_contents(&b);
}

static void test_file_defaults_over_cli(void) {
    mg_budget_file *bf = load_ok("{\"defaults\": {\"leak_bytes\": \"2 KiB\", \"object_growth\": 3}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_cli_limits cli = cli3(100, 5, 4096);
    mg_budget b;
    mg_budgets_resolve(bf, &cli, "s", "t", &b);
    check_limit(&b.leak_bytes, 2048, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.object_growth, 3, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.peak_bytes, 4096, MG_SRC_CLI, "--peak", NULL); /* not in the file */
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_file_test_over_defaults(void) {
    mg_budget_file *bf = load_ok(
        "{ \"defaults\": { \"leak_bytes\": 0, \"object_growth\": 0, \"peak_bytes\": \"64 MiB\" },\n"
        "  \"tests\": { \"cache/*\": { \"leak_bytes\": \"2 MiB\" },\n"
        "             \"parser/parse_small\": { \"peak_bytes\": \"1 MiB\" } } }\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_budget b;
    mg_budgets_resolve(bf, NULL, "cache", "get", &b);
    check_limit(&b.leak_bytes, 2 << 20, MG_SRC_FILE_TEST, ": tests[\"cache/*\"]", file);
    check_limit(&b.object_growth, 0, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.peak_bytes, 64 << 20, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    mg_budget_free_contents(&b);

    mg_budgets_resolve(bf, NULL, "parser", "parse_small", &b);
    check_limit(&b.leak_bytes, 0, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.peak_bytes, 1 << 20, MG_SRC_FILE_TEST, ": tests[\"parser/parse_small\"]", file);
    mg_budget_free_contents(&b);

    /* Not matched by any entry: the glob is not a prefix match. */
    mg_budgets_resolve(bf, NULL, "parser", "parse_small_2", &b);
    check_limit(&b.peak_bytes, 64 << 20, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "cachex", "get", &b);
    check_limit(&b.leak_bytes, 0, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_exact_beats_glob(void) {
    /* The glob is longer than the exact key and comes first: the exact key still wins. */
    mg_budget_file *bf = load_ok("{\"tests\": {\"p/*********\": {\"leak_bytes\": 1},\n"
                                 "            \"p/t\": {\"leak_bytes\": 2},\n"
                                 "            \"p/?\": {\"leak_bytes\": 3}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_budget b;
    mg_budgets_resolve(bf, NULL, "p", "t", &b);
    check_limit(&b.leak_bytes, 2, MG_SRC_FILE_TEST, ": tests[\"p/t\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "p", "u", &b);
    check_limit(&b.leak_bytes, 1, MG_SRC_FILE_TEST, ": tests[\"p/*********\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_longest_glob_wins(void) {
    mg_budget_file *bf = load_ok("{\"tests\": {\"cache/*\": {\"leak_bytes\": 7},\n"
                                 "            \"*\": {\"leak_bytes\": 1},\n"
                                 "            \"cache/get*\": {\"leak_bytes\": 10},\n"
                                 "            \"ca*\": {\"leak_bytes\": 3}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_budget b;
    mg_budgets_resolve(bf, NULL, "cache", "get_one", &b);
    check_limit(&b.leak_bytes, 10, MG_SRC_FILE_TEST, ": tests[\"cache/get*\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "cache", "put", &b);
    check_limit(&b.leak_bytes, 7, MG_SRC_FILE_TEST, ": tests[\"cache/*\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "castle", "x", &b);
    check_limit(&b.leak_bytes, 3, MG_SRC_FILE_TEST, ": tests[\"ca*\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "other", "x", &b);
    check_limit(&b.leak_bytes, 1, MG_SRC_FILE_TEST, ": tests[\"*\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_equal_globs_first_wins(void) {
    const char *texts[2] = {
        "{\"tests\": {\"a/*x\": {\"leak_bytes\": 1}, \"a/x*\": {\"leak_bytes\": 2}}}",
        "{\"tests\": {\"a/x*\": {\"leak_bytes\": 2}, \"a/*x\": {\"leak_bytes\": 1}}}",
    };
    const int64_t want[2] = {1, 2};
    for (int i = 0; i < 2; i++) {
        mg_budget_file *bf = load_ok(texts[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
        mg_budget b;
        mg_budgets_resolve(bf, NULL, "a", "x", &b);
        CU_ASSERT_EQUAL(b.leak_bytes.value, want[i]);
        mg_budget_free_contents(&b);
        mg_budgets_free(bf);
    }
}

static void test_glob_spans_slash(void) {
    mg_budget_file *bf = load_ok("{\"tests\": {\"*get\": {\"object_growth\": 4},"
                                 " \"[cd]ache/[!x]ut\": {\"object_growth\": 9}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    mg_budget b;
    mg_budgets_resolve(bf, NULL, "cache", "get", &b);
    CU_ASSERT_EQUAL(b.object_growth.value, 4);
    CU_ASSERT_EQUAL(b.object_growth.source, MG_SRC_FILE_TEST);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "dache", "put", &b);
    CU_ASSERT_EQUAL(b.object_growth.value, 9);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "cache", "xut", &b);
    CU_ASSERT_EQUAL(b.object_growth.source, MG_SRC_BUILTIN);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_fields_cascade(void) {
    /* The exact entry only sets peak_bytes: leak comes from the glob, growth from the
     * defaults, and the glob's own peak loses to the exact entry. */
    mg_budget_file *bf = load_ok("{\"defaults\": {\"object_growth\": 2},"
                                 " \"tests\": {\"s/*\": {\"leak_bytes\": 5, \"peak_bytes\": 6},"
                                 " \"s/t\": {\"peak_bytes\": \"1 KiB\"}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_cli_limits cli = cli3(11, 12, 13);
    mg_budget b;
    mg_budgets_resolve(bf, &cli, "s", "t", &b);
    check_limit(&b.leak_bytes, 5, MG_SRC_FILE_TEST, ": tests[\"s/*\"]", file);
    check_limit(&b.object_growth, 2, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.peak_bytes, 1024, MG_SRC_FILE_TEST, ": tests[\"s/t\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_unlimited_in_file(void) {
    mg_budget_file *bf = load_ok("{\"defaults\": {\"leak_bytes\": \"unlimited\", \"object_growth\": null,"
                                 " \"peak_bytes\": \"4 KiB\"},"
                                 " \"tests\": {\"s/t\": {\"peak_bytes\": null, \"leak_bytes\": 0,"
                                 " \"object_growth\": \"unlimited\"}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_cli_limits cli = cli3(1, 1, 1);
    mg_budget b;
    mg_budgets_resolve(bf, &cli, "s", "u", &b);
    check_limit(&b.leak_bytes, MG_UNLIMITED, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.object_growth, MG_UNLIMITED, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.peak_bytes, 4096, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, &cli, "s", "t", &b);
    check_limit(&b.leak_bytes, 0, MG_SRC_FILE_TEST, ": tests[\"s/t\"]", file);
    check_limit(&b.object_growth, MG_UNLIMITED, MG_SRC_FILE_TEST, ": tests[\"s/t\"]", file);
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_FILE_TEST, ": tests[\"s/t\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_annotation_over_everything(void) {
    mg_budget_file *bf = load_ok("{\"defaults\": {\"peak_bytes\": 100},"
                                 " \"tests\": {\"s/t\": {\"leak_bytes\": 5, \"object_growth\": 6}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_budget b;
    mg_budgets_resolve(bf, NULL, "s", "t", &b);
    CU_ASSERT_EQUAL(annotate3(&b, 4096, MG_LIMIT_UNSET, MG_UNLIMITED, "t.c", 42), 0);
    check_limit(&b.leak_bytes, 4096, MG_SRC_ANNOTATION, "t.c:42", NULL);
    check_limit(&b.object_growth, 6, MG_SRC_FILE_TEST, ": tests[\"s/t\"]", file);
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_ANNOTATION, "t.c:42", NULL);

    /* A second annotation replaces the first; 0 is a real limit, not "unset". */
    CU_ASSERT_EQUAL(annotate3(&b, MG_LIMIT_UNSET, 0, 8, "u.c", 7), 0);
    check_limit(&b.leak_bytes, 4096, MG_SRC_ANNOTATION, "t.c:42", NULL);
    check_limit(&b.object_growth, 0, MG_SRC_ANNOTATION, "u.c:7", NULL);
    check_limit(&b.peak_bytes, 8, MG_SRC_ANNOTATION, "u.c:7", NULL);

    /* No file gives no origin. */
    CU_ASSERT_EQUAL(annotate3(&b, MG_UNLIMITED, MG_LIMIT_UNSET, MG_LIMIT_UNSET, NULL, 0), 0);
    check_limit(&b.leak_bytes, MG_UNLIMITED, MG_SRC_ANNOTATION, NULL, NULL);
    mg_budget_free_contents(&b);

    /* All unset: nothing changes. */
    mg_budgets_resolve(NULL, NULL, "s", "t", &b);
    CU_ASSERT_EQUAL(annotate3(&b, MG_LIMIT_UNSET, MG_LIMIT_UNSET, MG_LIMIT_UNSET, "t.c", 1), 0);
    check_limit(&b.leak_bytes, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.object_growth, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
}

static void test_check_boundaries(void) {
    mg_budget b;
    mg_budgets_resolve(NULL, NULL, "s", "t", &b); /* leak 0, growth 0, peak unlimited */
    CU_ASSERT_EQUAL(check3(&b, 0, 0, INT64_MAX), 0);
    CU_ASSERT_EQUAL(check3(&b, 1, 0, 0), MG_VIOL_LEAK);
    CU_ASSERT_EQUAL(check3(&b, 0, 1, 0), MG_VIOL_GROWTH);
    CU_ASSERT_EQUAL(check3(&b, -100, -3, 0), 0); /* freeing more is fine */

    CU_ASSERT_EQUAL(annotate3(&b, 4096, 10, 1 << 20, "t.c", 1), 0);
    CU_ASSERT_EQUAL(check3(&b, 4096, 10, 1 << 20), 0);
    CU_ASSERT_EQUAL(check3(&b, 4097, 10, 1 << 20), MG_VIOL_LEAK);
    CU_ASSERT_EQUAL(check3(&b, 4096, 11, 1 << 20), MG_VIOL_GROWTH);
    CU_ASSERT_EQUAL(check3(&b, 4096, 10, (1 << 20) + 1), MG_VIOL_PEAK);
    CU_ASSERT_EQUAL(check3(&b, 4097, 11, (1 << 20) + 1),
                    MG_VIOL_LEAK | MG_VIOL_GROWTH | MG_VIOL_PEAK);

    CU_ASSERT_EQUAL(annotate3(&b, MG_UNLIMITED, MG_UNLIMITED, MG_UNLIMITED, "t.c", 2), 0);
    CU_ASSERT_EQUAL(check3(&b, INT64_MAX, INT64_MAX, INT64_MAX), 0);
    mg_budget_free_contents(&b);
}

static void test_copy(void) {
    mg_budget a, c;
    mg_budgets_resolve(NULL, NULL, "s", "t", &a);
    CU_ASSERT_EQUAL(annotate3(&a, 1, 2, MG_LIMIT_UNSET, "t.c", 3), 0);
    mg_budget_copy(&c, &a);
    CU_ASSERT_EQUAL(c.leak_bytes.value, 1);
    CU_ASSERT_EQUAL(c.object_growth.source, MG_SRC_ANNOTATION);
    CU_ASSERT_PTR_NULL(c.peak_bytes.origin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.leak_bytes.origin);
    CU_ASSERT_STRING_EQUAL(c.leak_bytes.origin, "t.c:3");
    CU_ASSERT_PTR_NOT_EQUAL(c.leak_bytes.origin, a.leak_bytes.origin);
    mg_budget_free_contents(&a); /* the copy must survive this */
    CU_ASSERT_STRING_EQUAL(c.object_growth.origin, "t.c:3");
    mg_budget_free_contents(&c);
    CU_ASSERT_PTR_NULL(c.leak_bytes.origin);
}

static void test_load_accepts(void) {
    mg_budget_file *bf = load_ok("{}");
    mg_budget b;
    mg_budgets_resolve(bf, NULL, "s", "t", &b);
    CU_ASSERT_EQUAL(b.leak_bytes.source, MG_SRC_BUILTIN);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);

    bf = load_ok("{\"$schema\": \"https://example.org/budgets.json\", \"comment\": \"ok\","
                 " \"defaults\": {}, \"tests\": {}}");
    mg_budgets_free(bf);
    /* A limits object's comment is a note for people (memgate calibrate writes them). */
    bf = load_ok("{\"tests\": {\"a/n\": {\"comment\": \"varied\", \"peak_bytes\": 9}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    mg_budgets_resolve(bf, NULL, "a", "n", &b);
    CU_ASSERT_EQUAL(b.peak_bytes.value, 9);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);

    /* Every SIZE form and big whole numbers. */
    bf = load_ok("{\"tests\": {\"a/1\": {\"leak_bytes\": \"1.5 MiB\", \"peak_bytes\": \"2GB\"},"
                 " \"a/2\": {\"leak_bytes\": 4096, \"peak_bytes\": 1e3, \"object_growth\": 1000000}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    mg_budgets_resolve(bf, NULL, "a", "1", &b);
    CU_ASSERT_EQUAL(b.leak_bytes.value, 1572864);
    CU_ASSERT_EQUAL(b.peak_bytes.value, 2000000000);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, NULL, "a", "2", &b);
    CU_ASSERT_EQUAL(b.leak_bytes.value, 4096);
    CU_ASSERT_EQUAL(b.peak_bytes.value, 1000);
    CU_ASSERT_EQUAL(b.object_growth.value, 1000000);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);
    mg_budgets_free(NULL);
}

/* ---- errors --------------------------------------------------------------------- */

static void test_error_missing_file(void) {
    char *path = mgt_tmp_path("does-not-exist.json");
    mg_budget_file *bf = NULL;
    char err[512];
    CU_ASSERT_EQUAL(mg_budgets_load(path, &bf, err, sizeof err), -1);
    CU_ASSERT_PTR_NULL(bf);
    char want[600];
    snprintf(want, sizeof want, "%s: cannot open budgets file: No such file or directory", path);
    CU_ASSERT_STRING_EQUAL(err, want);

    CU_ASSERT_EQUAL(mg_budgets_load(mgt_tmpdir(), &bf, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot read budgets file: Is a directory", mgt_tmpdir());
    CU_ASSERT_STRING_EQUAL(err, want);

    if (geteuid() != 0) { /* root reads anything */
        const char *p = write_file("{}");
        CU_ASSERT_EQUAL(chmod(p, 0), 0);
        CU_ASSERT_EQUAL(mg_budgets_load(p, &bf, err, sizeof err), -1);
        snprintf(want, sizeof want, "%s: cannot open budgets file: Permission denied", p);
        CU_ASSERT_STRING_EQUAL(err, want);
    }
    free(path);
}

static void test_error_invalid_json(void) {
    load_fails("", 0, ": the file is empty (expected a JSON object)");
    load_fails(" \n\t\n", 0, ": the file is empty (expected a JSON object)");
    load_fails("{\n  \"defaults\": {\"leak_bytes\": 0,}\n}\n", 0,
               ":2:32: invalid JSON near \"}\"");
    load_fails("{,}", 0, ":1:2: invalid JSON near \",}\"");
    load_fails("{\"a\":[1,2x]}", 0, ":1:10: invalid JSON near \"x]}\"");
    load_fails("{\"defaults\": {\"leak_bytes\": 1x}}", 0, ":1:30: invalid JSON near \"x}}\"");
    load_fails("{\"a\": \"unterminated}", 0,
               ":1:7: invalid JSON string (unterminated, or a bad escape) near \"unterminated}\"");
    load_fails("{\"a\":\n \"b\\q\"}", 0,
               ":2:4: invalid JSON near \"\\q\"}\""); /* the bad escape itself */
    load_fails("{\"defaults\": {\"leak_bytes\": 0}", 0,
               ":1:31: invalid JSON: the document ends too early");
    load_fails("{} {}", 0, ":1:4: invalid JSON near \"{}\"");
    load_fails("{\n\n   leak_bytes: 4}", 0, ":3:4: invalid JSON near \"leak_bytes: 4}\"");
    load_fails("{\"a\": 1}\0{}", 11, ": not a JSON file (it contains a NUL byte)");

    /* Arrays nested deeper than the blame scan's stack and closed again: the stray
     * "}" after ',' is still known to be inside the top-level object. */
    char deep[256] = "{\"x\": ";
    for (int i = 0; i < 100; i++) strcat(deep, "[");
    for (int i = 0; i < 100; i++) strcat(deep, "]");
    strcat(deep, ", }");
    load_fails(deep, 0, ":1:209: invalid JSON near \"}\"");
}

static void test_error_structure(void) {
    load_fails("[]", 0, ": the top level must be an object with \"defaults\" and/or \"tests\", "
                        "not an array");
    load_fails("\"x\"", 0, ": the top level must be an object with \"defaults\" and/or \"tests\", "
                           "not a string");
    load_fails("{\"default\": {}}", 0,
               ": unknown top-level key \"default\" (expected \"defaults\" or \"tests\")");
    load_fails("{\"$schema\": 3}", 0, ": $schema: must be a string, not a number");
    load_fails("{\"defaults\": {}, \"defaults\": {}}", 0, ": defaults: given twice");
    load_fails("{\"tests\": {}, \"tests\": {}}", 0, ": tests: given twice");
    load_fails("{\"defaults\": 0}", 0,
               ": defaults: must be an object such as {\"leak_bytes\": 0}, not 0");
    load_fails("{\"tests\": [1]}", 0,
               ": tests: must be an object mapping \"suite/test\" globs to limits, not an array");
    load_fails("{\"tests\": {\"a/b\": 5}}", 0,
               ": tests[\"a/b\"]: must be an object such as {\"leak_bytes\": 0}, not 5");
    load_fails("{\"tests\": {\"a/b\": \"2 MiB\"}}", 0,
               ": tests[\"a/b\"]: must be an object such as {\"leak_bytes\": 0}, not \"2 MiB\"");
    load_fails("{\"tests\": {\"a/b\": {}, \"a/b\": {}}}", 0, ": tests[\"a/b\"]: given twice");
    load_fails("{\"tests\": {\"cache\": {}}}", 0,
               ": tests[\"cache\"]: a key must be \"suite/test\" or a glob such as \"suite/*\"");
    load_fails("{\"tests\": {\"\": {}}}", 0,
               ": tests[\"\"]: a key must be \"suite/test\" or a glob such as \"suite/*\"");
}

static void test_error_fields(void) {
    load_fails("{\"tests\": {\"a/b\": {\"leak\": 1}}}", 0,
               ": tests[\"a/b\"]: unknown key \"leak\" (expected " KEYS ")");
    load_fails("{\"defaults\": {\"peak\": 1}}", 0,
               ": defaults: unknown key \"peak\" (expected " KEYS ")");
    load_fails("{\"tests\": {\"a/b\": {\"comment\": 1}}}", 0, ": tests[\"a/b\"].comment: must be a string");
    load_fails("{\"defaults\": {\"leak_bytes\": 1, \"leak_bytes\": 2}}", 0,
               ": defaults.leak_bytes: given twice");
    /* Key paths escape quotes like the JSON they came from. */
    load_fails("{\"tests\": {\"a/\\\"q\": {\"x\": 1}}}", 0,
               ": tests[\"a/\\\"q\"]: unknown key \"x\" (expected " KEYS ")");
}

static void test_error_values(void) {
    load_fails("{\"tests\": {\"cache/*\": {\"leak_bytes\": \"2 MiX\"}}}", 0,
               ": tests[\"cache/*\"].leak_bytes: \"2 MiX\" is not a size (try 4096, 4KiB, 8 MiB)");
    load_fails("{\"defaults\": {\"peak_bytes\": \"\"}}", 0,
               ": defaults.peak_bytes: \"\" is not a size (try 4096, 4KiB, 8 MiB)");
    load_fails("{\"defaults\": {\"peak_bytes\": \"-1\"}}", 0,
               ": defaults.peak_bytes: \"-1\" is not a size (try 4096, 4KiB, 8 MiB)");
    load_fails("{\"defaults\": {\"leak_bytes\": -1}}", 0,
               ": defaults.leak_bytes: -1 is negative (use null or \"unlimited\" for no limit)");
    load_fails("{\"tests\": {\"a/b\": {\"object_growth\": -3}}}", 0,
               ": tests[\"a/b\"].object_growth: -3 is negative (use null or \"unlimited\" for no "
               "limit)");
    load_fails("{\"defaults\": {\"object_growth\": 2.5}}", 0,
               ": defaults.object_growth: 2.5 is not a whole number of objects");
    load_fails("{\"defaults\": {\"leak_bytes\": 1.5}}", 0,
               ": defaults.leak_bytes: 1.5 is not a whole number of bytes");
    load_fails("{\"defaults\": {\"object_growth\": \"10\"}}", 0,
               ": defaults.object_growth: \"10\" is not a count (use a whole number such as 10, "
               "or null for no limit)");
    load_fails("{\"defaults\": {\"peak_bytes\": 1e30}}", 0,
               ": defaults.peak_bytes: 1e30 is too large (the largest limit is "
               "9223372036854775807)");
    load_fails("{\"defaults\": {\"leak_bytes\": true}}", 0,
               ": defaults.leak_bytes: expected a size (4096 or \"4 KiB\") or null, not true");
    load_fails("{\"defaults\": {\"object_growth\": [1]}}", 0,
               ": defaults.object_growth: expected a whole number or null, not [1]");
    load_fails("{\"defaults\": {\"peak_bytes\": \"99999999999 GiB\"}}", 0,
               ": defaults.peak_bytes: \"99999999999 GiB\" is not a size (try 4096, 4KiB, 8 MiB)");
    /* Long values are cut in the message. */
    load_fails("{\"defaults\": {\"peak_bytes\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxx\"}}",
               0,
               ": defaults.peak_bytes: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxx... is not a size (try 4096, 4KiB, 8 MiB)");
}

static void test_error_leaves_nothing(void) {
    /* A failed load returns NULL and leaks nothing (ASan checks at exit), even after a
     * part of the file parsed fine; a NULL err buffer is allowed. */
    const char *p = write_file("{\"tests\": {\"a/*\": {\"leak_bytes\": 1}, \"b/*\": {\"leak_bytes\": \"x\"}}}");
    mg_budget_file *bf = NULL;
    CU_ASSERT_EQUAL(mg_budgets_load(p, &bf, NULL, 0), -1);
    CU_ASSERT_PTR_NULL(bf);
}

/* ---- the whole metric table, settings, exact limits ------------------------------ */

/* Every metric with a budget is a budgets file key, a CLI limit and a checked limit:
 * lost_bytes, net_bytes and net_blocks as well as the first three. Their built-in
 * defaults are unlimited; net figures may be negative. */
static void test_every_metric(void) {
    mg_budget b;
    mg_budgets_resolve(NULL, NULL, "s", "t", &b);
    check_limit(&b.lost_bytes, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.net_bytes, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.net_blocks, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);
    mg_budget_free_contents(&b);

    mg_budget_file *bf = load_ok("{\"defaults\": {\"net_bytes\": \"1 KiB\", \"lost_bytes\": 0},"
                                 " \"tests\": {\"s/*\": {\"net_blocks\": 3}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *file = path_buf;
    mg_cli_limits cli;
    mg_cli_limits_init(&cli);
    cli.v[MG_M_NET_BLOCKS] = 100;
    cli.v[MG_M_LOST_BYTES] = 50;
    mg_budgets_resolve(bf, &cli, "s", "t", &b);
    check_limit(&b.net_bytes, 1024, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.lost_bytes, 0, MG_SRC_FILE_DEFAULTS, ": defaults", file);
    check_limit(&b.net_blocks, 3, MG_SRC_FILE_TEST, ": tests[\"s/*\"]", file);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, &cli, "other", "t", &b);
    check_limit(&b.net_blocks, 100, MG_SRC_CLI, "--net-blocks", NULL);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);

    /* The check: each limit against its figure; only measured figures are judged. */
    mg_budgets_resolve(NULL, NULL, "s", "t", &b);
    int64_t v[MG_M_COUNT];
    for (int m = 0; m < MG_M_COUNT; m++) v[m] = MG_LIMIT_UNSET;
    v[MG_M_NET_BYTES] = 100;
    v[MG_M_NET_BLOCKS] = 0;
    v[MG_M_LOST_BYTES] = 16;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(mg_budget_apply_annotation(&b, v, "t.c", 9, err, sizeof err), 0);
    check_limit(&b.net_bytes, 100, MG_SRC_ANNOTATION, "t.c:9", NULL);
    int64_t fig[MG_M_COUNT] = {0};
    fig[MG_M_NET_BYTES] = 101;
    fig[MG_M_NET_BLOCKS] = -5; /* a test that freed more than it allocated */
    fig[MG_M_LOST_BYTES] = 17;
    const unsigned all = MG_M_ALL;
    CU_ASSERT_EQUAL(mg_budget_check(&b, fig, all),
                    MG_M_BIT(MG_M_NET_BYTES) | MG_M_BIT(MG_M_LOST_BYTES));
    CU_ASSERT_EQUAL(mg_budget_check(&b, fig, all & ~MG_M_BIT(MG_M_LOST_BYTES)),
                    MG_M_BIT(MG_M_NET_BYTES));
    fig[MG_M_NET_BLOCKS] = 1;
    CU_ASSERT_EQUAL(mg_budget_check(&b, fig, MG_M_BIT(MG_M_NET_BLOCKS)), MG_M_BIT(MG_M_NET_BLOCKS));
    /* Metrics without a budget are never judged, whatever their figure. */
    fig[MG_M_ALLOCS] = INT64_MAX;
    fig[MG_M_LOST_BLOCKS] = INT64_MAX;
    CU_ASSERT_EQUAL(mg_budget_check(&b, fig, MG_M_BIT(MG_M_ALLOCS) | MG_M_BIT(MG_M_LOST_BLOCKS)), 0);
    mg_budget_free_contents(&b);
}

/* A negative annotation value other than MEMGATE_UNLIMITED, or one for a metric without
 * a budget, is an error that names the field, the value and the place; the budget is
 * left as it was (nothing of the annotation applies). */
static void test_annotation_errors(void) {
    mg_budget b;
    mg_budgets_resolve(NULL, NULL, "s", "t", &b);
    int64_t v[MG_M_COUNT];
    for (int m = 0; m < MG_M_COUNT; m++) v[m] = MG_LIMIT_UNSET;
    v[MG_M_PEAK] = 4096;
    v[MG_M_LEAK] = -5;
    char err[256] = "";
    CU_ASSERT_EQUAL(mg_budget_apply_annotation(&b, v, "t.c", 12, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "MEMGATE_BUDGET(.leak_bytes = -5) at t.c:12: a limit must be "
                                ">= 0 or MEMGATE_UNLIMITED");
    check_limit(&b.leak_bytes, 0, MG_SRC_BUILTIN, NULL, NULL);
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);

    v[MG_M_LEAK] = MG_LIMIT_UNSET;
    v[MG_M_NET_BLOCKS] = INT64_MIN;
    CU_ASSERT_EQUAL(mg_budget_apply_annotation(&b, v, NULL, 0, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "MEMGATE_BUDGET(.net_blocks = -9223372036854775808): a limit "
                                "must be >= 0 or MEMGATE_UNLIMITED");
    v[MG_M_NET_BLOCKS] = MG_LIMIT_UNSET;
    v[MG_M_ALLOCS] = 10;
    CU_ASSERT_EQUAL(mg_budget_apply_annotation(&b, v, "t.c", 3, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "MEMGATE_BUDGET(.allocations = 10) at t.c:3: allocations has "
                                "no budget");
    check_limit(&b.peak_bytes, MG_UNLIMITED, MG_SRC_BUILTIN, NULL, NULL);

    /* The same annotation without the bad field applies. */
    v[MG_M_ALLOCS] = MG_LIMIT_UNSET;
    CU_ASSERT_EQUAL(mg_budget_apply_annotation(&b, v, "t.c", 3, err, sizeof err), 0);
    check_limit(&b.peak_bytes, 4096, MG_SRC_ANNOTATION, "t.c:3", NULL);
    mg_budget_free_contents(&b);
}

/* Settings that are not limits: warmups, isolation, alloc_functions and repeat, by the
 * same precedence as limits (builtin < CLI < file defaults < file tests). */
static void test_settings(void) {
    mg_budget b;
    mg_budgets_resolve(NULL, NULL, "s", "t", &b);
    CU_ASSERT_EQUAL(b.settings.warmups, 0);
    CU_ASSERT_EQUAL(b.settings.isolation, MG_ISO_TEST);
    CU_ASSERT_EQUAL(b.settings.repeat, 1);
    CU_ASSERT_EQUAL(b.settings.nalloc_functions, 0);
    mg_budget_free_contents(&b);

    mg_budget_file *bf = load_ok(
        "{\"defaults\": {\"warmups\": 1, \"alloc_functions\": [\"xmalloc\", \"pool_*\"]},"
        " \"tests\": {\"db/*\": {\"isolation\": \"suite\", \"repeat\": 3},"
        "             \"db/slow\": {\"warmups\": 0, \"alloc_functions\": []},"
        "             \"db/big\": {\"warmups\": 4294967295}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    const char *globs[] = {"mosquitto__*"};
    mg_cli_limits cli;
    mg_cli_limits_init(&cli);
    cli.warmups = 2;
    cli.isolation = MG_ISO_TEST;
    cli.repeat = 2;
    cli.alloc_functions = globs;
    cli.nalloc_functions = 1;

    mg_budgets_resolve(bf, &cli, "db", "fast", &b);
    CU_ASSERT_EQUAL(b.settings.warmups, 1);             /* file defaults over the CLI */
    CU_ASSERT_EQUAL(b.settings.isolation, MG_ISO_SUITE); /* the glob entry */
    CU_ASSERT_EQUAL(b.settings.repeat, 3);
    CU_ASSERT_EQUAL_FATAL(b.settings.nalloc_functions, 2);
    CU_ASSERT_STRING_EQUAL(b.settings.alloc_functions[0], "xmalloc");
    CU_ASSERT_STRING_EQUAL(b.settings.alloc_functions[1], "pool_*");
    /* A copy owns its globs. */
    mg_budget c;
    mg_budget_copy(&c, &b);
    mg_budget_free_contents(&b);
    CU_ASSERT_STRING_EQUAL(c.settings.alloc_functions[1], "pool_*");
    mg_budget_free_contents(&c);
    CU_ASSERT_PTR_NULL(c.settings.alloc_functions);

    /* The exact entry sets only what it names; an empty list replaces the defaults'. */
    mg_budgets_resolve(bf, &cli, "db", "slow", &b);
    CU_ASSERT_EQUAL(b.settings.warmups, 0);
    CU_ASSERT_EQUAL(b.settings.isolation, MG_ISO_SUITE);
    CU_ASSERT_EQUAL(b.settings.nalloc_functions, 0);
    mg_budget_free_contents(&b);
    mg_budgets_resolve(bf, &cli, "db", "big", &b);
    CU_ASSERT_EQUAL(b.settings.warmups, 4294967295u);
    mg_budget_free_contents(&b);
    /* Without the file, the CLI's settings apply. */
    mg_budgets_resolve(NULL, &cli, "db", "fast", &b);
    CU_ASSERT_EQUAL(b.settings.warmups, 2);
    CU_ASSERT_EQUAL(b.settings.repeat, 2);
    CU_ASSERT_EQUAL_FATAL(b.settings.nalloc_functions, 1);
    CU_ASSERT_STRING_EQUAL(b.settings.alloc_functions[0], "mosquitto__*");
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);

    load_fails("{\"defaults\": {\"warmups\": -1}}", 0,
               ": defaults.warmups: expected a whole number >= 0, not -1");
    load_fails("{\"defaults\": {\"warmups\": \"2\"}}", 0,
               ": defaults.warmups: expected a whole number >= 0, not \"2\"");
    load_fails("{\"defaults\": {\"warmups\": 4294967296}}", 0,
               ": defaults.warmups: 4294967296 is too large (at most 4294967295)");
    load_fails("{\"defaults\": {\"repeat\": 0}}", 0,
               ": defaults.repeat: expected a whole number >= 1, not 0");
    load_fails("{\"defaults\": {\"repeat\": 1.5}}", 0,
               ": defaults.repeat: expected a whole number >= 1, not 1.5");
    load_fails("{\"tests\": {\"a/*\": {\"isolation\": \"process\"}}}", 0,
               ": tests[\"a/*\"].isolation: expected \"test\" or \"suite\", not \"process\"");
    load_fails("{\"defaults\": {\"alloc_functions\": \"xmalloc\"}}", 0,
               ": defaults.alloc_functions: expected an array of function name globs such as "
               "[\"xmalloc\", \"pool_*\"], not \"xmalloc\"");
    load_fails("{\"defaults\": {\"alloc_functions\": [\"a\", 1]}}", 0,
               ": defaults.alloc_functions[1]: expected a non-empty string, not 1");
    load_fails("{\"defaults\": {\"alloc_functions\": [\"\"]}}", 0,
               ": defaults.alloc_functions[0]: expected a non-empty string, not \"\"");
    load_fails("{\"defaults\": {\"warmups\": 1, \"warmups\": 2}}", 0,
               ": defaults.warmups: given twice");
}

/* Limits are exact 64-bit integers: 2^53+1 and 2^63-1 (documented as the largest) load
 * as written, 2^63 is refused with the largest allowed value in the message. */
static void test_exact_limits(void) {
    mg_budget_file *bf = load_ok("{\"defaults\": {\"peak_bytes\": 9223372036854775807, "
                                 "\"leak_bytes\": 9007199254740993, \"object_growth\": 1e3, "
                                 "\"net_bytes\": 4096.0}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    mg_budget b;
    mg_budgets_resolve(bf, NULL, "s", "t", &b);
    CU_ASSERT_EQUAL(b.peak_bytes.value, INT64_MAX);
    CU_ASSERT_EQUAL(b.leak_bytes.value, 9007199254740993LL);
    CU_ASSERT_EQUAL(b.object_growth.value, 1000);
    CU_ASSERT_EQUAL(b.net_bytes.value, 4096);
    /* One byte over the exact limit breaks it, which a double could not tell. */
    CU_ASSERT_EQUAL(check3(&b, 9007199254740993LL, 0, 0), 0);
    CU_ASSERT_EQUAL(check3(&b, 9007199254740994LL, 0, 0), MG_VIOL_LEAK);
    mg_budget_free_contents(&b);
    mg_budgets_free(bf);

    load_fails("{\"defaults\": {\"peak_bytes\": 9223372036854775808}}", 0,
               ": defaults.peak_bytes: 9223372036854775808 is too large (the largest limit is "
               "9223372036854775807)");
    load_fails("{\"defaults\": {\"peak_bytes\": -9223372036854775809}}", 0,
               ": defaults.peak_bytes: -9223372036854775809 is negative (use null or "
               "\"unlimited\" for no limit)");
    load_fails("{\"defaults\": {\"net_blocks\": 1e-1}}", 0,
               ": defaults.net_blocks: 1e-1 is not a whole number of objects");
}

/* The distance behind "did you mean": edits, swaps of neighbours, the early stop. */
static void test_edit_distance(void) {
    CU_ASSERT_EQUAL(mg_edit_distance("kitten", "sitting", 5), 3);
    CU_ASSERT_EQUAL(mg_edit_distance("kitten", "sitting", 2), 3); /* over the limit: limit + 1 */
    CU_ASSERT_EQUAL(mg_edit_distance("parse_small", "parse_smlal", 3), 1);
    CU_ASSERT_EQUAL(mg_edit_distance("", "abc", 5), 3);
    CU_ASSERT_EQUAL(mg_edit_distance("abc", "abc", 0), 0);
    const char *names[] = {"cache/get", "cache/put", "parser/parse_small"};
    CU_ASSERT_STRING_EQUAL(mg_suggest("cache/gte", names, 3), "cache/get");
    CU_ASSERT_PTR_NULL(mg_suggest("cache/get", names, 3)); /* there: nothing to suggest */
    CU_ASSERT_PTR_NULL(mg_suggest("lexer/token", names, 3)); /* nothing near */
}

/* Keys that match none of the tests resolved are reported, with the nearest name. */
static void test_unmatched_keys(void) {
    mg_budget_file *bf = load_ok("{\"tests\": {\"parser/parse_smal\": {\"leak_bytes\": 1},"
                                 " \"parsr/*\": {\"leak_bytes\": 2}, \"parser/*\": {\"leak_bytes\": 3},"
                                 " \"zzz/qqq\": {\"leak_bytes\": 4}, \"lexer/tok?n\": {\"leak_bytes\": 5}}}");
    const char *path = path_buf;
    mg_strlist msgs = {0};
    /* Nothing resolved yet: every key is unmatched. */
    CU_ASSERT_EQUAL(mg_budgets_unmatched(bf, NULL), 5);
    const char *names[][2] = {{"parser", "parse_small"}, {"parser", "parse_large"}, {"lexer", "token"},
                              {"parser", "parse_small"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        mg_budget b;
        mg_budgets_resolve(bf, NULL, names[i][0], names[i][1], &b);
        mg_budget_free_contents(&b);
    }
    CU_ASSERT_EQUAL(mg_budgets_unmatched(bf, &msgs), 3);
    CU_ASSERT_EQUAL(msgs.n, 3);
    char want[3][700];
    snprintf(want[0], sizeof want[0],
             "%s: tests[\"parser/parse_smal\"] matches no test of this run (did you mean "
             "\"parser/parse_small\"?)", path);
    snprintf(want[1], sizeof want[1],
             "%s: tests[\"parsr/*\"] matches no test of this run (did you mean \"parser/*\"?)", path);
    snprintf(want[2], sizeof want[2], "%s: tests[\"zzz/qqq\"] matches no test of this run", path);
    for (size_t i = 0; i < 3 && i < msgs.n; i++) {
        if (strcmp(msgs.items[i], want[i]) != 0) fprintf(stderr, "\n  got:  %s\n  want: %s\n", msgs.items[i], want[i]);
        CU_ASSERT_STRING_EQUAL(msgs.items[i], want[i]);
    }
    mg_strlist_free(&msgs);
    mg_budgets_free(bf);
    CU_ASSERT_EQUAL(mg_budgets_unmatched(NULL, NULL), 0);
}

static const mgt_case precedence_cases[] = {
    {"builtin_defaults", test_builtin_defaults},
    {"cli_over_builtin", test_cli_over_builtin},
    {"file_defaults_over_cli", test_file_defaults_over_cli},
    {"file_test_over_defaults", test_file_test_over_defaults},
    {"exact_beats_glob", test_exact_beats_glob},
    {"longest_glob_wins", test_longest_glob_wins},
    {"equal_globs_first_wins", test_equal_globs_first_wins},
    {"glob_spans_slash", test_glob_spans_slash},
    {"fields_cascade", test_fields_cascade},
    {"unlimited_in_file", test_unlimited_in_file},
    {"annotation_over_everything", test_annotation_over_everything},
    {"check_boundaries", test_check_boundaries},
    {"copy", test_copy},
    {"load_accepts", test_load_accepts},
    {"every_metric", test_every_metric},
    {"annotation_errors", test_annotation_errors},
    {"settings", test_settings},
    {"exact_limits", test_exact_limits},
    {"unmatched_keys", test_unmatched_keys},
    {"edit_distance", test_edit_distance},
    {NULL, NULL},
};

static const mgt_case error_cases[] = {
    {"missing_file", test_error_missing_file},
    {"invalid_json", test_error_invalid_json},
    {"structure", test_error_structure},
    {"fields", test_error_fields},
    {"values", test_error_values},
    {"leaves_nothing", test_error_leaves_nothing},
    {NULL, NULL},
};

/* The temporary directory is made before any test runs: failing to make it is a harness
 * error (exit 2), not a test failure. */
MGT_MAIN(mgt_tmpdir();
         if (mgt_add_suite("budgets", precedence_cases) ||
             mgt_add_suite("budgets_errors", error_cases))
             return 2;)
