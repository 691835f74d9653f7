/*
 * Unit tests of runner/baseline.c: tolerance texts, loading (and every refusal), keys by
 * binary path and old baselines keyed by basename, comparing a run with a baseline at
 * the exact tolerance boundaries (per test without touching the status, and per run with
 * removed keys, selections and duplicate keys), the byte-exact file layout, merging into
 * an existing file, ratcheting, pruning, exact 64-bit figures and a write -> load ->
 * compare round trip. Files live in a private mkdtemp directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "mgtest.h"
#include "mgtest_util.h"
#include "util.h"

/* ---- files ----------------------------------------------------------------------- */

/* Writes len bytes of text (strlen when len is 0) to the temporary file name; returns
 * the path. */
static char *spit_n(const char *name, const char *text, size_t len) {
    char *path = mgt_tmp_path(name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (!len) len = strlen(text);
    CU_ASSERT_EQUAL(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static char *spit(const char *name, const char *text) { return spit_n(name, text, 0); }

/* ---- runs ------------------------------------------------------------------------ */

static mg_test_result *add_test(mg_run *run, const char *binary, const char *suite,
                                const char *name, mg_status st, int64_t leak, int64_t growth,
                                int64_t peak, uint64_t allocs) {
    mg_test_result *t = mgt_test(run, binary, suite, name, st, 0);
    t->leaked_bytes = leak;
    t->object_growth = growth;
    t->peak_bytes = peak;
    t->allocations = allocs;
    return t;
}

/* Loads text as a baseline and expects success. */
static mg_baseline *load_text(const char *text) {
    char *path = spit("baseline.json", text);
    mg_baseline *b = NULL;
    char err[512] = "";
    int rc = mg_baseline_load(path, &b, err, sizeof err);
    if (rc) fprintf(stderr, "\nunexpected load error: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(b);
    free(path);
    return b;
}

/* An old (schema 1) baseline, keyed by binary basename, and a current one. */
#define HEAD "{\"schema_version\": 1, \"tool\": \"memgate\", \"tests\": {"
#define HEAD2 "{\"schema_version\": 2, \"tool\": \"memgate\", \"tests\": {"
#define FIGS(l, g, p, a)                                                                   \
    "{\"leaked_bytes\": " #l ", \"object_growth\": " #g ", \"peak_bytes\": " #p            \
    ", \"allocations\": " #a "}"

/* ---- tolerances ------------------------------------------------------------------ */

static void expect_one(const mg_tolerance_one *one, double percent, int64_t absolute) {
    CU_ASSERT_DOUBLE_EQUAL(one->percent, percent, 1e-9);
    CU_ASSERT_EQUAL(one->absolute, absolute);
}

static void test_tolerance_defaults(void) {
    mg_tolerance t;
    memset(&t, 0x5A, sizeof t);
    mg_tolerance_default(&t);
    expect_one(&t.m[MG_M_LEAK], 0, 0);
    expect_one(&t.m[MG_M_GROWTH], 0, 0);
    expect_one(&t.m[MG_M_PEAK], 10, 0);
    expect_one(&t.m[MG_M_ALLOCS], 10, 0);
}

static void parse_ok(const char *text, mg_tolerance *t) {
    char err[256] = "";
    int rc = mg_tolerance_parse(text, t, err, sizeof err);
    if (rc) fprintf(stderr, "\n\"%s\": %s\n", text, err);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_tolerance_forms(void) {
    mg_tolerance t;
    mg_tolerance_default(&t);
    /* The example of the header: every metric, both forms. */
    parse_ok("peak=10%,allocs=5%,leak=1KiB,growth=2", &t);
    expect_one(&t.m[MG_M_PEAK], 10, 0);
    expect_one(&t.m[MG_M_ALLOCS], 5, 0);
    expect_one(&t.m[MG_M_LEAK], 0, 1024);
    expect_one(&t.m[MG_M_GROWTH], 0, 2);

    /* Percent OR absolute: giving one form clears the other. */
    parse_ok("peak=1 MiB", &t);
    expect_one(&t.m[MG_M_PEAK], 0, 1024 * 1024);
    parse_ok("leak=2.5%", &t);
    expect_one(&t.m[MG_M_LEAK], 2.5, 0);
    parse_ok("allocs=7", &t);
    expect_one(&t.m[MG_M_ALLOCS], 0, 7);
    parse_ok("growth=0%", &t);
    expect_one(&t.m[MG_M_GROWTH], 0, 0);

    /* Only the named metrics change; blanks around items, names and values are fine. */
    mg_tolerance_default(&t);
    parse_ok(" growth = 3 , peak = 0.125 % ", &t);
    expect_one(&t.m[MG_M_GROWTH], 0, 3);
    expect_one(&t.m[MG_M_PEAK], 0.125, 0);
    expect_one(&t.m[MG_M_LEAK], 0, 0);
    expect_one(&t.m[MG_M_ALLOCS], 10, 0);

    /* Sizes take every SIZE spelling; the extremes of percentages are accepted. */
    parse_ok("leak=4 KB,peak=1GiB", &t);
    expect_one(&t.m[MG_M_LEAK], 0, 4000);
    expect_one(&t.m[MG_M_PEAK], 0, 1024LL * 1024 * 1024);
    parse_ok("peak=0.000001%,allocs=10000%", &t);
    expect_one(&t.m[MG_M_PEAK], 0.000001, 0);
    expect_one(&t.m[MG_M_ALLOCS], 10000, 0);
}

/* Parsing text must fail, name the offending item (want1) and say why (want2), and
 * leave the tolerance as it was. */
static void parse_bad(const char *text, const char *want1, const char *want2) {
    mg_tolerance t, before;
    mg_tolerance_default(&t);
    before = t;
    char err[256] = "";
    CU_ASSERT_EQUAL(mg_tolerance_parse(text, &t, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want1));
    if (want2) CU_ASSERT_PTR_NOT_NULL(strstr(err, want2));
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fprintf(stderr, "\nfor \"%s\" got: %s\n", text, err);
    CU_ASSERT_EQUAL(memcmp(&t, &before, sizeof t), 0);
}

static void test_tolerance_errors(void) {
    parse_bad("", "empty tolerance", NULL);
    parse_bad("   ", "empty tolerance", NULL);
    parse_bad("peak", "\"peak\"", "NAME=VALUE");
    parse_bad("speed=1%", "\"speed=1%\"", "unknown metric \"speed\"");
    parse_bad("peak=", "\"peak=\"", "missing value");
    parse_bad("peak=abc", "\"peak=abc\"", "not a percentage or a size");
    parse_bad("leak=-5", "\"leak=-5\"", "not a percentage or a size");
    parse_bad("growth=1KiB", "\"growth=1KiB\"", "not a percentage or a count");
    parse_bad("allocs=1.5", "\"allocs=1.5\"", "not a percentage or a count");
    parse_bad("peak=-5%", "\"peak=-5%\"", "not a percentage");
    parse_bad("peak=10001%", "\"peak=10001%\"", "10000%");
    parse_bad("peak=1.1234567%", "\"peak=1.1234567%\"", "decimals");
    parse_bad("peak=1e3%", "\"peak=1e3%\"", "not a percentage");
    parse_bad("peak=%", "\"peak=%\"", "not a percentage");
    parse_bad("peak=1%,peak=2%", "\"peak=2%\"", "given twice");
    parse_bad("peak=1%,,growth=1", "empty item", NULL);
    parse_bad("peak=1%,", "empty item", NULL);
    /* An error late in the text undoes the items before it. */
    parse_bad("peak=5%,leak=1KiB,bogus=1", "\"bogus=1\"", "unknown metric");

    char err[64] = "";
    mg_tolerance t;
    CU_ASSERT_EQUAL(mg_tolerance_parse(NULL, &t, err, sizeof err), -1);
    CU_ASSERT_NOT_EQUAL(err[0], '\0');
}

/* ---- loading --------------------------------------------------------------------- */

/* Loading text must fail with an error naming the file and containing want1 and want2
 * (the key and the value, where there are some). */
static void load_bad(const char *text, size_t len, const char *want1, const char *want2) {
    char *path = spit_n("bad.json", text, len);
    mg_baseline *b = (mg_baseline *)(void *)&b; /* any non-NULL value: must become NULL */
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_baseline_load(path, &b, err, sizeof err), -1);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want1));
    if (want2) CU_ASSERT_PTR_NOT_NULL(strstr(err, want2));
    if (!strstr(err, path) || !strstr(err, want1) || (want2 && !strstr(err, want2)))
        fprintf(stderr, "\nfor %s\n  got: %s\n", text, err);
    free(path);
}

static void test_load_errors(void) {
    char err[512] = "";
    mg_baseline *b = NULL;
    char *missing = mgt_tmp_path("no-such-baseline.json");
    CU_ASSERT_EQUAL(mg_baseline_load(missing, &b, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, missing));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(ENOENT)));
    CU_ASSERT_PTR_NULL(b);
    free(missing);

    load_bad(" \n", 0, "empty", NULL);
    load_bad("{\"tests\": {}}\0junk", 18, "NUL byte", NULL);
    load_bad("{\n  \"schema_version\": 1,\n  \"tests\": {oops}\n}", 0, ":3:13:", "near \"oops}\"");
    load_bad("{\"schema_version\": 1,", 0, ":1:22:", "ends too early");
    load_bad("{\"schema_version\": 1,\n x: 2}", 0, ":2:2:", "near \"x: 2}\"");
    load_bad("{\"tests\": [1,2x]}", 0, ":1:15:", "near \"x]}\"");
    load_bad(HEAD "}} trailing", 0, "invalid JSON", "trailing");
    load_bad("[1, 2]", 0, "top level must be an object", "an array");
    load_bad(HEAD "}, \"extra\": 1}", 0, "unknown top-level key \"extra\"", NULL);
    load_bad(HEAD "}, \"tool\": \"memgate\"}", 0, "tool: given twice", NULL);
    load_bad("{\"schema_version\": 1, \"tool\": \"memgate\"}", 0, "missing \"tests\"", NULL);
    load_bad("{\"schema_version\": 1, \"tool\": \"memgate\", \"tests\": []}", 0,
             "tests: expected an object", "JSON report");
    load_bad("{\"tool\": \"memgate\", \"tests\": {}}", 0, "missing \"schema_version\"", NULL);
    load_bad("{\"schema_version\": 3, \"tool\": \"memgate\", \"tests\": {}}", 0,
             "schema_version: 3", "newer");
    /* Figures are exact 64-bit integers: one more than INT64_MAX is refused. */
    load_bad(HEAD2 "\"bin:s/t\": " FIGS(0, 0, 9223372036854775808, 0) "}}", 0,
             "tests[\"bin:s/t\"].peak_bytes", "9223372036854775808 is too large");
    load_bad(HEAD2 "\"bin:s/t\": " FIGS(0, 0, 1e-3, 0) "}}", 0,
             "tests[\"bin:s/t\"].peak_bytes", "1e-3 is not a whole number");
    load_bad("{\"schema_version\": \"1\", \"tool\": \"memgate\", \"tests\": {}}", 0,
             "schema_version: \"1\"", "not a version number");
    load_bad("{\"schema_version\": 1.5, \"tool\": \"memgate\", \"tests\": {}}", 0,
             "schema_version: 1.5", "not a version number");
    load_bad("{\"schema_version\": 1, \"tests\": {}}", 0, "missing \"tool\"", NULL);
    load_bad("{\"schema_version\": 1, \"tool\": \"other\", \"tests\": {}}", 0,
             "tool: \"other\"", "not \"memgate\"");
    load_bad(HEAD "\"no-colon/t\": " FIGS(0, 0, 0, 0) "}}", 0, "tests[\"no-colon/t\"]",
             "BINARY:SUITE/TEST");
    load_bad(HEAD "\"bin:noslash\": " FIGS(0, 0, 0, 0) "}}", 0, "tests[\"bin:noslash\"]",
             "BINARY:SUITE/TEST");
    load_bad(HEAD "\"bin:s/t\": 5}}", 0, "tests[\"bin:s/t\"]", "expected an object");
    load_bad(HEAD "\"bin:s/t\": {\"leaked_bytes\": 0, \"object_growth\": 0, \"peak_bytes\": 0, "
                  "\"allocations\": 0, \"leak\": 1}}}",
             0, "tests[\"bin:s/t\"]: unknown key \"leak\"", NULL);
    load_bad(HEAD "\"bin:s/t\": {\"leaked_bytes\": 0, \"object_growth\": 0, \"peak_bytes\": 0}}}",
             0, "tests[\"bin:s/t\"]", "missing \"allocations\"");
    load_bad(HEAD "\"bin:s/t\": " FIGS(0, 0, -5, 0) "}}", 0, "tests[\"bin:s/t\"].peak_bytes",
             "-5 is negative");
    load_bad(HEAD "\"bin:s/t\": " FIGS(1.5, 0, 0, 0) "}}", 0, "tests[\"bin:s/t\"].leaked_bytes",
             "1.5 is not a whole number");
    load_bad(HEAD "\"bin:s/t\": " FIGS(0, "2", 0, 0) "}}", 0,
             "tests[\"bin:s/t\"].object_growth", "not \"2\"");
    load_bad(HEAD "\"bin:s/t\": " FIGS(0, 0, 0, 1e300) "}}", 0,
             "tests[\"bin:s/t\"].allocations", "too large");
    load_bad(HEAD "\"bin:s/t\": {\"leaked_bytes\": 0, \"leaked_bytes\": 1}}}", 0,
             "tests[\"bin:s/t\"].leaked_bytes", "given twice");
    load_bad(HEAD "\"bin:s/t\": " FIGS(0, 0, 0, 0) ", \"a:b/c\": " FIGS(0, 0, 0, 0)
                  ", \"bin:s/t\": " FIGS(1, 1, 1, 1) "}}",
             0, "tests[\"bin:s/t\"]", "given twice");
    load_bad(HEAD "\"bin:s/q\\\"uote\": 1}}", 0, "tests[\"bin:s/q\\\"uote\"]", NULL);

    CU_ASSERT_EQUAL(mg_baseline_load(NULL, &b, err, sizeof err), -1);
    CU_ASSERT_PTR_NULL(b);
}

static void test_load_accepts(void) {
    /* Any member order, an empty tests object, keys with ':' and '/' in names. */
    mg_baseline *b = load_text("{\"tests\": {}, \"tool\": \"memgate\", \"schema_version\": 1}");
    mg_baseline_free(b);
    b = load_text(HEAD2 "\"/x/bin:a:b/c/d\": {\"allocations\": 4, \"peak_bytes\": 3, "
                        "\"object_growth\": 2, \"leaked_bytes\": 1}}}");
    mg_run run = {0};
    add_test(&run, "/x/bin", "a:b", "c/d", MG_ST_PASS, 1, 2, 3, 4);
    mg_baseline_compare(b, NULL, &run);
    const mg_baseline_cmp *c = &run.tests[0].baseline;
    CU_ASSERT_EQUAL(c->state, MG_BASE_SAME);
    CU_ASSERT_EQUAL(c->leaked_bytes, 1);
    CU_ASSERT_EQUAL(c->object_growth, 2);
    CU_ASSERT_EQUAL(c->peak_bytes, 3);
    CU_ASSERT_EQUAL(c->allocations, 4);
    CU_ASSERT_EQUAL(run.nwarnings, 0);
    mg_run_free_contents(&run);
    mg_baseline_free(b);
    mg_baseline_free(NULL);

    /* Figures up to INT64_MAX load exactly (a double would round them). */
    b = load_text(HEAD2 "\"bin:s/t\": " FIGS(9007199254740993, 0, 9223372036854775807, 1e3) "}}");
    add_test(&run, "bin", "s", "t", MG_ST_PASS, 0, 0, 0, 0);
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.leaked_bytes, 9007199254740993LL);
    CU_ASSERT_EQUAL(run.tests[0].baseline.peak_bytes, INT64_MAX);
    CU_ASSERT_EQUAL(run.tests[0].baseline.allocations, 1000);
    mg_run_free_contents(&run);
    mg_baseline_free(b);
}

/* ---- comparing ------------------------------------------------------------------- */

static void test_key(void) {
    mg_run run = {0};
    mg_test_result *t = add_test(&run, "/build/tests/test_cache", "cache", "grows", MG_ST_PASS,
                                 0, 0, 0, 0);
    char *key = mg_baseline_key(t);
    CU_ASSERT_STRING_EQUAL(key, "/build/tests/test_cache:cache/grows");
    free(key);
    /* The path as given: relative paths stay relative. */
    t = add_test(&run, "build/tests/unit_tests", "suite", "test", MG_ST_PASS, 0, 0, 0, 0);
    key = mg_baseline_key(t);
    CU_ASSERT_STRING_EQUAL(key, "build/tests/unit_tests:suite/test");
    free(key);
    t = add_test(&run, "relative_bin", "s", "t", MG_ST_PASS, 0, 0, 0, 0);
    key = mg_baseline_key(t);
    CU_ASSERT_STRING_EQUAL(key, "relative_bin:s/t");
    free(key);
    /* Invalid UTF-8 is mended, as in the JSON report, so keys survive the file. */
    t = add_test(&run, "bin", "s", "bad\xFF", MG_ST_PASS, 0, 0, 0, 0);
    key = mg_baseline_key(t);
    CU_ASSERT_STRING_EQUAL(key, "bin:s/bad\xEF\xBF\xBD");
    free(key);
    mg_run_free_contents(&run);
}

/* Two binaries named "tests" in different directories have entries of their own: each
 * is compared with its own figures, and a write keeps both. */
static void test_key_same_basename(void) {
    mg_baseline *b = load_text(HEAD2 "\"a/tests:s/t\": " FIGS(0, 0, 100, 0)
                                     ", \"b/tests:s/t\": " FIGS(0, 0, 5000, 0) "}}");
    mg_run run = {0};
    add_test(&run, "a/tests", "s", "t", MG_ST_PASS, 0, 0, 4000, 0);
    add_test(&run, "b/tests", "s", "t", MG_ST_PASS, 0, 0, 4000, 0);
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_REGRESSED); /* 4000 > 100 + 10% */
    CU_ASSERT_EQUAL(run.tests[0].baseline.peak_bytes, 100);
    CU_ASSERT_EQUAL(run.tests[1].baseline.state, MG_BASE_SAME);
    CU_ASSERT_EQUAL(run.tests[1].baseline.peak_bytes, 5000);
    CU_ASSERT_EQUAL(run.nwarnings, 0);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 0);
    mg_baseline_free(b);
    mg_run_free_contents(&run);
}

/* Runs one PASS test with the given figures against base (1000 B leak, 10 objects,
 * 1000 B peak, 100 allocations) under tolerance text tol; returns the result's
 * comparison and copies its status and message. */
typedef struct outcome {
    mg_baseline_cmp cmp;
    mg_status status;
    char message[512];
} outcome;

static outcome compare_one(const char *tol_text, int64_t leak, int64_t growth, int64_t peak,
                           uint64_t allocs) {
    static const char *doc = HEAD2 "\"./bin:s/t\": " FIGS(1000, 10, 1000, 100) "}}";
    mg_baseline *b = load_text(doc);
    mg_tolerance tol;
    mg_tolerance_default(&tol);
    if (tol_text) parse_ok(tol_text, &tol);
    mg_run run = {0};
    add_test(&run, "./bin", "s", "t", MG_ST_PASS, leak, growth, peak, allocs);
    mg_baseline_compare(b, &tol, &run);
    outcome o;
    o.cmp = run.tests[0].baseline;
    o.status = run.tests[0].status;
    snprintf(o.message, sizeof o.message, "%s", run.tests[0].message ? run.tests[0].message : "");
    CU_ASSERT_EQUAL(run.tests[0].violations, 0); /* budgets are not touched */
    CU_ASSERT_EQUAL(run.nbaseline_removed, 0);
    mg_run_free_contents(&run);
    mg_baseline_free(b);
    return o;
}

static void expect_same(outcome o) {
    CU_ASSERT_EQUAL(o.cmp.state, MG_BASE_SAME);
    CU_ASSERT_EQUAL(o.cmp.regressions, 0);
    CU_ASSERT_EQUAL(o.status, MG_ST_PASS);
    CU_ASSERT_STRING_EQUAL(o.message, "");
}

static void expect_regressed(outcome o, unsigned bits, const char *message) {
    CU_ASSERT_EQUAL(o.cmp.state, MG_BASE_REGRESSED);
    CU_ASSERT_EQUAL(o.cmp.regressions, bits);
    CU_ASSERT_EQUAL(o.status, MG_ST_FAIL);
    CU_ASSERT_STRING_EQUAL(o.message, message);
    if (strcmp(o.message, message) != 0) fprintf(stderr, "\n  want: %s\n  got:  %s\n", message, o.message);
}

static void test_compare_boundaries(void) {
    const char *tol = "leak=10,growth=1,peak=10%,allocs=5%";
    /* Every figure exactly at base + tolerance: within. */
    outcome o = compare_one(tol, 1010, 11, 1100, 105);
    expect_same(o);
    CU_ASSERT_EQUAL(o.cmp.leaked_bytes, 1000);
    CU_ASSERT_EQUAL(o.cmp.object_growth, 10);
    CU_ASSERT_EQUAL(o.cmp.peak_bytes, 1000);
    CU_ASSERT_EQUAL(o.cmp.allocations, 100);
    /* The comparison records the tolerance each figure was held to. */
    CU_ASSERT(o.cmp.tol_known);
    CU_ASSERT_EQUAL(o.cmp.tol[MG_M_LEAK].absolute, 10);
    CU_ASSERT_DOUBLE_EQUAL(o.cmp.tol[MG_M_PEAK].percent, 10, 1e-9);
    /* One more in any single figure: that figure, and only it, regressed; the text
     * shows the growth, its share of the baseline and the tolerance it broke. */
    expect_regressed(compare_one(tol, 1011, 11, 1100, 105), MG_VIOL_LEAK,
                     "leak +11 B (+1.1%) > tolerance 10 B (baseline 1000 B, now 1011 B)");
    expect_regressed(compare_one(tol, 1010, 12, 1100, 105), MG_VIOL_GROWTH,
                     "growth +2 (+20.0%) > tolerance 1 (baseline 10, now 12)");
    expect_regressed(compare_one(tol, 1010, 11, 1101, 105), MG_VIOL_PEAK,
                     "peak +101 B (+10.1%) > tolerance 10 % (baseline 1000 B, now 1.1 KiB)");
    expect_regressed(compare_one(tol, 1010, 11, 1100, 106), MG_VIOL_ALLOCS,
                     "allocations +6 (+6.0%) > tolerance 5 % (baseline 100, now 106)");
    /* Several at once, in the order leak, growth, peak, allocations. */
    expect_regressed(compare_one(tol, 5000, 11, 1100, 200), MG_VIOL_LEAK | MG_VIOL_ALLOCS,
                     "leak +3.9 KiB (+400.0%) > tolerance 10 B (baseline 1000 B, now 4.9 KiB); "
                     "allocations +100 (+100.0%) > tolerance 5 % (baseline 100, now 200)");
    /* Lower figures are fine, negative ones too. */
    expect_same(compare_one(tol, -4096, -3, 0, 0));

    /* Defaults: leak and growth exact, peak and allocations 10%. */
    expect_same(compare_one(NULL, 1000, 10, 1100, 110));
    expect_regressed(compare_one(NULL, 1001, 10, 1000, 100), MG_VIOL_LEAK,
                     "leak +1 B (+0.1%) > tolerance 0 B (baseline 1000 B, now 1001 B)");
    expect_regressed(compare_one(NULL, 1000, 11, 1000, 100), MG_VIOL_GROWTH,
                     "growth +1 (+10.0%) > tolerance 0 (baseline 10, now 11)");
    expect_regressed(compare_one(NULL, 1000, 10, 1101, 100), MG_VIOL_PEAK,
                     "peak +101 B (+10.1%) > tolerance 10 % (baseline 1000 B, now 1.1 KiB)");
    expect_regressed(compare_one(NULL, 1000, 10, 1000, 111), MG_VIOL_ALLOCS,
                     "allocations +11 (+11.0%) > tolerance 10 % (baseline 100, now 111)");
}

static void test_compare_percent_vs_absolute(void) {
    /* Percent on leak and growth; absolute on peak and allocations. */
    const char *text = "leak=1%,growth=50%,peak=100,allocs=0";
    expect_same(compare_one(text, 1010, 15, 1100, 100));
    expect_regressed(compare_one(text, 1011, 15, 1100, 100), MG_VIOL_LEAK,
                     "leak +11 B (+1.1%) > tolerance 1 % (baseline 1000 B, now 1011 B)");
    expect_regressed(compare_one(text, 1010, 16, 1100, 100), MG_VIOL_GROWTH,
                     "growth +6 (+60.0%) > tolerance 50 % (baseline 10, now 16)");
    expect_regressed(compare_one(text, 1010, 15, 1101, 100), MG_VIOL_PEAK,
                     "peak +101 B (+10.1%) > tolerance 100 B (baseline 1000 B, now 1.1 KiB)");
    expect_regressed(compare_one(text, 1010, 15, 1100, 101), MG_VIOL_ALLOCS,
                     "allocations +1 (+1.0%) > tolerance 0 (baseline 100, now 101)");

    /* A fractional allowance is rounded down: 2.5% of 1000 is 25; 0.15% is 1.5. */
    expect_same(compare_one("peak=2.5%", 0, 0, 1025, 0));
    expect_regressed(compare_one("peak=2.5%", 1000, 10, 1026, 100), MG_VIOL_PEAK,
                     "peak +26 B (+2.6%) > tolerance 2.5 % (baseline 1000 B, now 1.0 KiB)");
    expect_same(compare_one("leak=0.15%", 1001, 10, 1000, 100));
    expect_regressed(compare_one("leak=0.15%", 1002, 10, 1000, 100), MG_VIOL_LEAK,
                     "leak +2 B (+0.2%) > tolerance 0.15 % (baseline 1000 B, now 1002 B)");
    /* 0.1% is not exact in binary floating point; the boundary still holds. */
    expect_same(compare_one("allocs=0.1%,peak=0.1%", 1000, 10, 1001, 100));
    expect_regressed(compare_one("peak=0.1%", 1000, 10, 1002, 100), MG_VIOL_PEAK,
                     "peak +2 B (+0.2%) > tolerance 0.1 % (baseline 1000 B, now 1002 B)");

    /* Both forms set directly: the larger allowance wins, and the message shows it. */
    mg_baseline *b = load_text(HEAD2 "\"bin:s/small\": " FIGS(0, 0, 100, 0)
                                     ", \"bin:s/large\": " FIGS(0, 0, 10000, 0) "}}");
    mg_tolerance tol;
    mg_tolerance_default(&tol);
    tol.m[MG_M_PEAK].percent = 10;
    tol.m[MG_M_PEAK].absolute = 50;
    mg_run run = {0};
    add_test(&run, "bin", "s", "small", MG_ST_PASS, 0, 0, 150, 0);  /* 100 + max(10, 50) */
    add_test(&run, "bin", "s", "large", MG_ST_PASS, 0, 0, 11000, 0); /* 10000 + max(1000, 50) */
    mg_baseline_compare(b, &tol, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_SAME);
    CU_ASSERT_EQUAL(run.tests[1].baseline.state, MG_BASE_SAME);
    run.tests[0].peak_bytes = 151;
    run.tests[1].peak_bytes = 11001;
    mg_baseline_compare(b, &tol, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_REGRESSED);
    CU_ASSERT_STRING_EQUAL(run.tests[0].message,
                           "peak +51 B (+51.0%) > tolerance 50 B (baseline 100 B, now 151 B)");
    CU_ASSERT_EQUAL(run.tests[1].baseline.state, MG_BASE_REGRESSED);
    CU_ASSERT_STRING_EQUAL(run.tests[1].message, "peak +1001 B (+10.0%) > tolerance 10 % "
                                                 "(baseline 9.8 KiB, now 10.7 KiB)");
    mg_run_free_contents(&run);

    /* Zero baseline: a percentage allows nothing, an absolute tolerance still does; a
     * share of 0 is not given. */
    mg_baseline_free(b);
    b = load_text(HEAD2 "\"bin:s/t\": " FIGS(0, 0, 0, 0) "}}");
    mg_tolerance_default(&tol);
    add_test(&run, "bin", "s", "t", MG_ST_PASS, 0, 0, 1, 0);
    mg_baseline_compare(b, &tol, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.regressions, MG_VIOL_PEAK);
    CU_ASSERT_STRING_EQUAL(run.tests[0].message,
                           "peak +1 B > tolerance 10 % (baseline 0 B, now 1 B)");
    mg_run_free_contents(&run);
    parse_ok("peak=16", &tol);
    add_test(&run, "bin", "s", "t", MG_ST_PASS, 0, 0, 16, 0);
    mg_baseline_compare(b, &tol, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_SAME);
    mg_run_free_contents(&run);
    mg_baseline_free(b);
}

/* The per-test comparison returns what regressed and the baseline's figures, and leaves
 * the test alone: status, message and figures are the caller's to judge. */
static void test_compare_test(void) {
    mg_baseline *b = load_text(HEAD2 "\"bin:s/t\": " FIGS(10, 1, 1000, 5) "}}");
    mg_run run = {0};
    mg_test_result *t = add_test(&run, "bin", "s", "t", MG_ST_PASS, 11, 1, 2000, 5);
    mg_baseline_cmp cmp;
    memset(&cmp, 0x5A, sizeof cmp);
    unsigned bits = mg_baseline_compare_test(b, NULL, t, &cmp);
    CU_ASSERT_EQUAL(bits, MG_VIOL_LEAK | MG_VIOL_PEAK);
    CU_ASSERT_EQUAL(cmp.regressions, bits);
    CU_ASSERT_EQUAL(cmp.state, MG_BASE_REGRESSED);
    CU_ASSERT_EQUAL(cmp.leaked_bytes, 10);
    CU_ASSERT_EQUAL(cmp.peak_bytes, 1000);
    CU_ASSERT_EQUAL(cmp.allocations, 5);
    CU_ASSERT_EQUAL(t->status, MG_ST_PASS);
    CU_ASSERT_PTR_NULL(t->message);
    CU_ASSERT_EQUAL(t->baseline.state, MG_BASE_NONE);

    /* A figure that was not measured is never compared. */
    t->known &= ~MG_M_BIT(MG_M_PEAK);
    CU_ASSERT_EQUAL(mg_baseline_compare_test(b, NULL, t, &cmp), MG_VIOL_LEAK);
    CU_ASSERT_EQUAL(cmp.peak_bytes, 1000); /* the baseline's figure is still given */

    /* A new test, a test without figures, no baseline at all. */
    mg_test_result *fresh = add_test(&run, "bin", "s", "new", MG_ST_FAIL, 99, 9, 9, 9);
    t = &run.tests[0];
    CU_ASSERT_EQUAL(mg_baseline_compare_test(b, NULL, fresh, &cmp), 0);
    CU_ASSERT_EQUAL(cmp.state, MG_BASE_NEW);
    fresh->status = MG_ST_CRASH;
    CU_ASSERT_EQUAL(mg_baseline_compare_test(b, NULL, fresh, &cmp), 0);
    CU_ASSERT_EQUAL(cmp.state, MG_BASE_NONE);
    CU_ASSERT_EQUAL(mg_baseline_compare_test(NULL, NULL, t, &cmp), 0);
    CU_ASSERT_EQUAL(cmp.state, MG_BASE_NONE);
    mg_run_free_contents(&run);
    mg_baseline_free(b);
}

static void test_compare_run(void) {
    mg_baseline *b = load_text(HEAD2 "\"/b/bin:s/a_gone\": " FIGS(0, 0, 0, 0)
                                     ", \"/b/bin:s/crashes\": " FIGS(0, 0, 0, 0)
                                     ", \"/b/bin:s/failed\": " FIGS(0, 0, 100, 10)
                                     ", \"/b/bin:s/same\": " FIGS(0, 0, 100, 10)
                                     ", \"/b/bin:s/skipped\": " FIGS(0, 0, 0, 0)
                                     ", \"/b/bin:s/z_gone\": " FIGS(0, 0, 0, 0)
                                     ", \"/c/bin:s/same\": " FIGS(0, 0, 0, 0) "}}");
    mg_run run = {0};
    mg_test_result *same = add_test(&run, "/b/bin", "s", "same", MG_ST_PASS, 0, 0, 110, 11);
    mg_test_result *fresh = add_test(&run, "/b/bin", "s", "new", MG_ST_PASS, 99, 9, 999, 9);
    mg_test_result *failed = add_test(&run, "/b/bin", "s", "failed", MG_ST_FAIL, 0, 0, 200, 10);
    failed->message = mg_xstrdup("leak over budget");
    failed->violations = MG_VIOL_LEAK;
    mg_test_result *crash = add_test(&run, "/b/bin", "s", "crashes", MG_ST_CRASH, 5, 5, 5, 5);
    crash->signal = 11;
    add_test(&run, "/b/bin", "s", "skipped", MG_ST_SKIP, 0, 0, 0, 0);
    add_test(&run, "/b/bin", "s", "times_out", MG_ST_TIMEOUT, 1 << 20, 9, 1 << 20, 9);
    add_test(&run, "/b/bin", "s", "errors", MG_ST_ERROR, 1 << 20, 9, 1 << 20, 9);

    mg_baseline_compare(b, NULL, &run);
    same = &run.tests[0], fresh = &run.tests[1], failed = &run.tests[2], crash = &run.tests[3];
    CU_ASSERT_EQUAL(same->baseline.state, MG_BASE_SAME);
    CU_ASSERT_EQUAL(same->status, MG_ST_PASS);
    CU_ASSERT_PTR_NULL(same->message);

    /* A new test is reported, not failed, and carries no baseline figures. */
    CU_ASSERT_EQUAL(fresh->baseline.state, MG_BASE_NEW);
    CU_ASSERT_EQUAL(fresh->status, MG_ST_PASS);
    CU_ASSERT_EQUAL(fresh->baseline.regressions, 0);
    CU_ASSERT_EQUAL(fresh->baseline.peak_bytes, 0);
    CU_ASSERT_PTR_NULL(fresh->message);

    /* An already failed test keeps failing, with the regression added to its message;
     * budget violations stay budget names only. */
    CU_ASSERT_EQUAL(failed->baseline.state, MG_BASE_REGRESSED);
    CU_ASSERT_EQUAL(failed->baseline.regressions, MG_VIOL_PEAK);
    CU_ASSERT_EQUAL(failed->status, MG_ST_FAIL);
    CU_ASSERT_EQUAL(failed->violations, MG_VIOL_LEAK);
    CU_ASSERT_STRING_EQUAL(failed->message, "leak over budget; peak +100 B (+100.0%) > "
                                            "tolerance 10 % (baseline 100 B, now 200 B)");

    /* Tests without figures are not compared, keep their status and are not removed. */
    for (size_t i = 3; i < run.ntests; i++) {
        CU_ASSERT_EQUAL(run.tests[i].baseline.state, MG_BASE_NONE);
        CU_ASSERT_EQUAL(run.tests[i].baseline.regressions, 0);
        CU_ASSERT_PTR_NULL(run.tests[i].message);
    }
    CU_ASSERT_EQUAL(crash->status, MG_ST_CRASH);
    CU_ASSERT_EQUAL(run.tests[5].status, MG_ST_TIMEOUT);
    CU_ASSERT_EQUAL(run.tests[6].status, MG_ST_ERROR);

    /* Removed: baseline keys no test of the run has, sorted; the same test name under
     * another binary path counts as another test. */
    CU_ASSERT_EQUAL_FATAL(run.nbaseline_removed, 3);
    CU_ASSERT_STRING_EQUAL(run.baseline_removed[0], "/b/bin:s/a_gone");
    CU_ASSERT_STRING_EQUAL(run.baseline_removed[1], "/b/bin:s/z_gone");
    CU_ASSERT_STRING_EQUAL(run.baseline_removed[2], "/c/bin:s/same");
    CU_ASSERT_PTR_NOT_NULL(run.baseline_path);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.baseline_path, "baseline.json"));
    CU_ASSERT_EQUAL(run.nwarnings, 0);

    /* Comparing again replaces the previous outcome rather than piling up. */
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 3);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_SAME);

    /* A selection of the tests (-k, or one shard of several): the tests it left out are
     * not gone, so nothing is removed. One shard of one is the whole run. */
    run.partial = true;
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 0);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_SAME);
    run.partial = false;
    run.shard = mg_xstrdup("1/3");
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 0);
    free(run.shard);
    run.shard = mg_xstrdup("0/1");
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 3);

    /* No baseline: nothing is compared. */
    mg_baseline_compare(NULL, NULL, &run);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 0);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_NONE);

    mg_run_free_contents(&run);
    mg_baseline_free(b);
}

/* A baseline of the old format (schema 1, keys by basename) still works: a test without
 * an entry of its own is matched by its binary's basename, the run says so once, and
 * the entries it matched are not removed. */
static void test_compare_legacy(void) {
    mg_baseline *b = load_text(HEAD "\"tests:s/a\": " FIGS(0, 0, 100, 1)
                                    ", \"tests:s/b\": " FIGS(0, 0, 100, 1)
                                    ", \"tests:s/gone\": " FIGS(0, 0, 0, 0) "}}");
    mg_run run = {0};
    add_test(&run, "build/tests", "s", "a", MG_ST_PASS, 0, 0, 100, 1);
    add_test(&run, "build/tests", "s", "b", MG_ST_PASS, 0, 0, 500, 1);
    add_test(&run, "build/tests", "s", "c", MG_ST_PASS, 0, 0, 100, 1);
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_SAME);
    CU_ASSERT_EQUAL(run.tests[1].baseline.state, MG_BASE_REGRESSED);
    CU_ASSERT_EQUAL(run.tests[2].baseline.state, MG_BASE_NEW);
    CU_ASSERT_EQUAL_FATAL(run.nbaseline_removed, 1);
    CU_ASSERT_STRING_EQUAL(run.baseline_removed[0], "tests:s/gone");
    CU_ASSERT_EQUAL_FATAL(run.nwarnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.warnings[0], "old format"));
    CU_ASSERT_PTR_NOT_NULL(strstr(run.warnings[0], "2 tests matched by basename"));
    /* Once, however often the run is compared. */
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.nwarnings, 1);
    mg_run_free_contents(&run);

    /* A current baseline never falls back to basenames. */
    mg_baseline_free(b);
    b = load_text(HEAD2 "\"tests:s/a\": " FIGS(0, 0, 100, 1) "}}");
    add_test(&run, "build/tests", "s", "a", MG_ST_PASS, 0, 0, 100, 1);
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.tests[0].baseline.state, MG_BASE_NEW);
    CU_ASSERT_EQUAL(run.nwarnings, 0);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 1);
    mg_run_free_contents(&run);
    mg_baseline_free(b);
}

/* Two tests of one run with the same key (a binary given twice) are a warning. */
static void test_compare_duplicates(void) {
    mg_baseline *b = load_text(HEAD2 "\"bin:s/t\": " FIGS(0, 0, 100, 1) "}}");
    mg_run run = {0};
    add_test(&run, "bin", "s", "t", MG_ST_PASS, 0, 0, 100, 1);
    add_test(&run, "bin", "s", "u", MG_ST_PASS, 0, 0, 100, 1);
    add_test(&run, "bin", "s", "t", MG_ST_PASS, 0, 0, 100, 1);
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL_FATAL(run.nwarnings, 1);
    CU_ASSERT_STRING_EQUAL(run.warnings[0],
                           "2 tests of this run have the baseline key \"bin:s/t\" (the same "
                           "binary given twice?); they share one baseline entry");
    mg_run_free_contents(&run);

    /* A whole binary given twice is one warning, not one per test. */
    for (int k = 0; k < 2; k++) {
        add_test(&run, "bin", "s", "t", MG_ST_PASS, 0, 0, 100, 1);
        add_test(&run, "bin", "s", "u", MG_ST_PASS, 0, 0, 100, 1);
        add_test(&run, "bin", "s", "v", MG_ST_CRASH, 0, 0, 0, 0);
    }
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL_FATAL(run.nwarnings, 1);
    CU_ASSERT_STRING_EQUAL(run.warnings[0],
                           "3 baseline keys belong to more than one test of this run, e.g. "
                           "\"bin:s/t\" (the same binary given twice?); they share one baseline "
                           "entry");
    mg_run_free_contents(&run);
    mg_baseline_free(b);
}

/* ---- writing --------------------------------------------------------------------- */

/* Writes run to a fresh file (any earlier one is removed first) and returns its text. */
static char *write_opts(mg_run *run, const mg_baseline *old, bool ratchet, bool prune) {
    char *path = mgt_tmp_path("written.json");
    unlink(path);
    char err[512] = "";
    mg_baseline_update_opts o = {ratchet, prune};
    int rc = mg_baseline_update(path, run, old, &o, err, sizeof err);
    if (rc) fprintf(stderr, "\nwrite: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    char *text = mgt_slurp(path);
    free(path);
    return text;
}

static char *write_text(mg_run *run, const mg_baseline *old, bool ratchet) {
    return write_opts(run, old, ratchet, false);
}

static void expect_text(const char *got, const char *want) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0) fprintf(stderr, "\n--- want:\n%s--- got:\n%s", want, got);
}

#define DOC_HEAD "{\n  \"schema_version\": 2,\n  \"tool\": \"memgate\",\n  \"tests\": {\n"
#define DOC_TAIL "  }\n}\n"
#define LINE(key, l, g, p, a)                                                              \
    "    \"" key "\": {\"leaked_bytes\": " #l ", \"object_growth\": " #g                      \
    ", \"peak_bytes\": " #p ", \"allocations\": " #a "}"

static void test_write_format(void) {
    mg_run run = {0};
    add_test(&run, "/build/zeta", "s", "t", MG_ST_PASS, 1, 2, 3, 4);
    add_test(&run, "/build/alpha", "suite", "b", MG_ST_FAIL, 0, 0, 4096, 12);
    add_test(&run, "/build/alpha", "suite", "a", MG_ST_PASS, -64, -2, 100, 1);
    add_test(&run, "/build/alpha", "suite", "crashed", MG_ST_CRASH, 1, 1, 1, 1);
    add_test(&run, "/build/alpha", "suite", "skipped", MG_ST_SKIP, 0, 0, 0, 0);
    add_test(&run, "/build/alpha", "Suite", "q\"uote\\\t\x01", MG_ST_PASS, 0, 0, 0, 0);
    char *text = write_text(&run, NULL, false);
    /* Sorted bytewise ('S' < 's', "alpha" < "zeta"), one test per line, the binary as
     * given, negatives stored as 0, no figureless tests, escapes for quotes, backslashes
     * and control characters. */
    expect_text(text, DOC_HEAD
                LINE("/build/alpha:Suite/q\\\"uote\\\\\\t\\u0001", 0, 0, 0, 0) ",\n"
                LINE("/build/alpha:suite/a", 0, 0, 100, 1) ",\n"
                LINE("/build/alpha:suite/b", 0, 0, 4096, 12) ",\n"
                LINE("/build/zeta:s/t", 1, 2, 3, 4) "\n" DOC_TAIL);
    free(text);
    CU_ASSERT_EQUAL(run.nwarnings, 0);

    /* The odd key reads back as the same test. */
    char *path = mgt_tmp_path("written.json");
    mg_baseline *b = NULL;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(mg_baseline_load(path, &b, err, sizeof err), 0);
    mg_baseline_compare(b, NULL, &run);
    CU_ASSERT_EQUAL(run.tests[5].baseline.state, MG_BASE_SAME);
    mg_baseline_free(b);
    free(path);
    mg_run_free_contents(&run);

    /* An empty run still gives a valid, loadable document. */
    mg_run empty = {0};
    text = write_text(&empty, NULL, false);
    expect_text(text, "{\n  \"schema_version\": 2,\n  \"tool\": \"memgate\",\n  \"tests\": {}\n}\n");
    free(text);
    mg_baseline_free(load_text("{\n  \"schema_version\": 2,\n  \"tool\": \"memgate\",\n"
                               "  \"tests\": {}\n}\n"));
}

/* Two binaries with one basename in different directories keep separate entries; the
 * same key twice in one run is a warning and its entry holds the larger figures. */
static void test_write_keys(void) {
    mg_run run = {0};
    add_test(&run, "/build/a/tests", "s", "t", MG_ST_PASS, 10, 1, 500, 7);
    add_test(&run, "/build/b/tests", "s", "t", MG_ST_PASS, 5, 3, 400, 9);
    char *text = write_text(&run, NULL, false);
    expect_text(text, DOC_HEAD LINE("/build/a/tests:s/t", 10, 1, 500, 7) ",\n"
                          LINE("/build/b/tests:s/t", 5, 3, 400, 9) "\n" DOC_TAIL);
    free(text);
    CU_ASSERT_EQUAL(run.nwarnings, 0);

    add_test(&run, "/build/a/tests", "s", "t", MG_ST_PASS, 20, 0, 100, 8);
    text = write_text(&run, NULL, false);
    expect_text(text, DOC_HEAD LINE("/build/a/tests:s/t", 20, 1, 500, 8) ",\n"
                          LINE("/build/b/tests:s/t", 5, 3, 400, 9) "\n" DOC_TAIL);
    free(text);
    CU_ASSERT_EQUAL_FATAL(run.nwarnings, 1);
    CU_ASSERT_STRING_EQUAL(run.warnings[0],
                           "2 tests of this run have the baseline key \"/build/a/tests:s/t\" "
                           "(the same binary given twice?); the baseline entry holds their "
                           "larger figures");
    mg_run_free_contents(&run);
}

static void test_write_errors(void) {
    mg_run run = {0};
    add_test(&run, "bin", "s", "t", MG_ST_PASS, 0, 0, 0, 0);
    char err[512] = "";
    char *nodir = mgt_tmp_path("no/such/dir/baseline.json");
    CU_ASSERT_EQUAL(mg_baseline_write(nodir, &run, NULL, false, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, nodir));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "baseline"));
    free(nodir);

    /* Atomic: a failed rename leaves neither a temporary file nor a changed target. */
    char *dir = mgt_tmp_path("is-a-dir");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    CU_ASSERT_EQUAL(mg_baseline_write(dir, &run, NULL, false, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, dir));
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "is-a-dir"), 0);
    free(dir);

    /* A successful write replaces a file that is not a baseline, leaves no temporary
     * file behind and says what it replaced. */
    char *path = spit("replaced.json", "old contents");
    CU_ASSERT_EQUAL(mg_baseline_write(path, &run, NULL, false, err, sizeof err), 0);
    char *text = mgt_slurp(path);
    CU_ASSERT(text && strncmp(text, "{\n  \"schema_version\": 2,", 24) == 0);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "replaced.json"), 0);
    /* (The directory above was no baseline either: its warning comes first.) */
    CU_ASSERT_EQUAL_FATAL(run.nwarnings, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.warnings[1], path));
    CU_ASSERT_PTR_NOT_NULL(strstr(run.warnings[1], "was not a valid baseline and is replaced"));
    free(text);

    /* But a selection of the tests cannot merge into it: that would lose the entries of
     * every other test, so it is an error and the file stays as it was. */
    CU_ASSERT_EQUAL(mgt_spit(path, "old contents"), 0);
    run.partial = true;
    CU_ASSERT_EQUAL(mg_baseline_write(path, &run, NULL, false, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "with a selection of tests"));
    text = mgt_slurp(path);
    CU_ASSERT_STRING_EQUAL(text, "old contents");
    free(text);
    free(path);
    mg_run_free_contents(&run);
}

/* --update-baseline merges: the run's tests replace their entries, every other entry
 * stays (tests of other shards or filtered out by -k, tests that crashed this time). */
static void test_update_merge(void) {
    char *path = spit("merged.json", HEAD2 "\"bin:s/a\": " FIGS(1, 1, 1, 1)
                                           ", \"bin:s/b\": " FIGS(2, 2, 2, 2)
                                           ", \"bin:s/c\": " FIGS(3, 3, 3, 3) "}}");
    mg_run run = {0};
    run.partial = true; /* e.g. -k 's/a' */
    add_test(&run, "bin", "s", "a", MG_ST_PASS, 10, 10, 10, 10);
    add_test(&run, "bin", "s", "c", MG_ST_CRASH, 0, 0, 0, 0);
    add_test(&run, "bin", "s", "d", MG_ST_PASS, 4, 4, 4, 4);
    char err[512] = "";
    /* No old baseline given: the valid one at the path is read and merged into. */
    CU_ASSERT_EQUAL_FATAL(mg_baseline_write(path, &run, NULL, false, err, sizeof err), 0);
    char *text = mgt_slurp(path);
    expect_text(text, DOC_HEAD LINE("bin:s/a", 10, 10, 10, 10) ",\n"
                          LINE("bin:s/b", 2, 2, 2, 2) ",\n" LINE("bin:s/c", 3, 3, 3, 3) ",\n"
                          LINE("bin:s/d", 4, 4, 4, 4) "\n" DOC_TAIL);
    free(text);

    /* A figure the run did not measure keeps the old entry's value. */
    run.tests[0].known &= ~MG_M_BIT(MG_M_ALLOCS);
    run.tests[0].allocations = 77;
    CU_ASSERT_EQUAL_FATAL(mg_baseline_write(path, &run, NULL, false, err, sizeof err), 0);
    text = mgt_slurp(path);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, LINE("bin:s/a", 10, 10, 10, 10)));
    free(text);
    CU_ASSERT_EQUAL(run.nwarnings, 0);
    mg_run_free_contents(&run);
    free(path);
}

/* --prune (full runs): entries of tests the run does not have are dropped; tests that
 * ran without figures keep theirs. */
static void test_update_prune(void) {
    mg_baseline *old = load_text(HEAD2 "\"bin:s/crashed\": " FIGS(7, 7, 7, 7)
                                       ", \"bin:s/dropped\": " FIGS(1, 1, 1, 1)
                                       ", \"bin:s/kept\": " FIGS(2, 2, 2, 2) "}}");
    mg_run run = {0};
    add_test(&run, "bin", "s", "kept", MG_ST_PASS, 3, 3, 3, 3);
    add_test(&run, "bin", "s", "crashed", MG_ST_CRASH, 99, 99, 99, 99);
    char *text = write_opts(&run, old, false, true);
    expect_text(text, DOC_HEAD LINE("bin:s/crashed", 7, 7, 7, 7) ",\n"
                          LINE("bin:s/kept", 3, 3, 3, 3) "\n" DOC_TAIL);
    free(text);
    text = write_opts(&run, old, false, false);
    expect_text(text, DOC_HEAD LINE("bin:s/crashed", 7, 7, 7, 7) ",\n"
                          LINE("bin:s/dropped", 1, 1, 1, 1) ",\n"
                          LINE("bin:s/kept", 3, 3, 3, 3) "\n" DOC_TAIL);
    free(text);
    mg_run_free_contents(&run);
    mg_baseline_free(old);
}

/* Updating an old (basename-keyed) baseline: the run's tests are matched by basename,
 * replaced under their path keys, and the run is told. */
static void test_update_legacy(void) {
    mg_baseline *old = load_text(HEAD "\"tests:s/a\": " FIGS(1, 1, 1, 1)
                                      ", \"tests:s/gone\": " FIGS(2, 2, 2, 2) "}}");
    mg_run run = {0};
    add_test(&run, "build/tests", "s", "a", MG_ST_PASS, 5, 0, 5, 5);
    char *text = write_opts(&run, old, true, false);
    expect_text(text, DOC_HEAD LINE("build/tests:s/a", 1, 0, 1, 1) ",\n"
                          LINE("tests:s/gone", 2, 2, 2, 2) "\n" DOC_TAIL);
    free(text);
    CU_ASSERT_EQUAL_FATAL(run.nwarnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.warnings[0], "old format"));
    text = write_opts(&run, old, true, true);
    expect_text(text, DOC_HEAD LINE("build/tests:s/a", 1, 0, 1, 1) "\n" DOC_TAIL);
    free(text);
    mg_run_free_contents(&run);
    mg_baseline_free(old);
}

static void test_ratchet(void) {
    mg_baseline *old = load_text(HEAD2 "\"bin:s/better\": " FIGS(100, 5, 5000, 50)
                                       ", \"bin:s/crashed\": " FIGS(7, 7, 7, 7)
                                       ", \"bin:s/dropped\": " FIGS(1, 1, 1, 1)
                                       ", \"bin:s/mixed\": " FIGS(10, 1, 1000, 10) "}}");
    mg_run run = {0};
    add_test(&run, "bin", "s", "better", MG_ST_PASS, 0, 2, 4000, 40);   /* every figure lower */
    add_test(&run, "bin", "s", "mixed", MG_ST_FAIL, 20, 0, 900, 30);    /* some lower */
    add_test(&run, "bin", "s", "added", MG_ST_PASS, 3, 3, 3, 3);        /* not in old */
    add_test(&run, "bin", "s", "crashed", MG_ST_CRASH, 99, 99, 99, 99); /* no figures */

    /* Each metric is min(old, new); with pruning "dropped" is gone, "added" is in, the
     * crashed test keeps its old figures. */
    char *text = write_opts(&run, old, true, true);
    expect_text(text, DOC_HEAD LINE("bin:s/added", 3, 3, 3, 3) ",\n"
                          LINE("bin:s/better", 0, 2, 4000, 40) ",\n"
                          LINE("bin:s/crashed", 7, 7, 7, 7) ",\n"
                          LINE("bin:s/mixed", 10, 0, 900, 10) "\n" DOC_TAIL);
    free(text);
    /* Without pruning the entry of a test the run did not have stays. */
    text = write_text(&run, old, true);
    expect_text(text, DOC_HEAD LINE("bin:s/added", 3, 3, 3, 3) ",\n"
                          LINE("bin:s/better", 0, 2, 4000, 40) ",\n"
                          LINE("bin:s/crashed", 7, 7, 7, 7) ",\n"
                          LINE("bin:s/dropped", 1, 1, 1, 1) ",\n"
                          LINE("bin:s/mixed", 10, 0, 900, 10) "\n" DOC_TAIL);
    free(text);

    /* Without ratchet the run's figures are written as they are, old or not. */
    text = write_opts(&run, old, false, true);
    expect_text(text, DOC_HEAD LINE("bin:s/added", 3, 3, 3, 3) ",\n"
                          LINE("bin:s/better", 0, 2, 4000, 40) ",\n"
                          LINE("bin:s/crashed", 7, 7, 7, 7) ",\n"
                          LINE("bin:s/mixed", 20, 0, 900, 30) "\n" DOC_TAIL);
    free(text);

    /* Ratchet with no old baseline (and no file) is a plain write. */
    text = write_text(&run, NULL, true);
    expect_text(text, DOC_HEAD LINE("bin:s/added", 3, 3, 3, 3) ",\n"
                          LINE("bin:s/better", 0, 2, 4000, 40) ",\n"
                          LINE("bin:s/mixed", 20, 0, 900, 30) "\n" DOC_TAIL);
    free(text);
    mg_run_free_contents(&run);
    mg_baseline_free(old);
}

/* write -> load -> compare: a run compared with its own baseline has no regressions,
 * and writing the loaded baseline again changes nothing. Figures beyond 2^53 survive. */
static void test_round_trip(void) {
    mg_run run = {0};
    add_test(&run, "/b/t1", "cache", "grows", MG_ST_FAIL, 4100, 3, 20000, 12);
    add_test(&run, "/b/t1", "core", "alloc_free", MG_ST_PASS, 0, 0, 12288, 4);
    add_test(&run, "/b/t2", "parser", "big", MG_ST_PASS, 9007199254740993LL, 0, INT64_MAX,
             1ULL << 53);
    add_test(&run, "/b/t2", "parser", "na\xC3\xAFve \xE2\x9C\x93", MG_ST_PASS, 1, 1, 1, 1);
    add_test(&run, "/b/t2", "parser", "bad \xFF bytes", MG_ST_PASS, 2, 2, 2, 2);
    add_test(&run, "/b/t2", "parser", "segv", MG_ST_CRASH, 0, 0, 0, 0);
    char *path = mgt_tmp_path("round.json");
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(mg_baseline_write(path, &run, NULL, false, err, sizeof err), 0);
    mg_baseline *b = NULL;
    int rc = mg_baseline_load(path, &b, err, sizeof err);
    if (rc) fprintf(stderr, "\nload: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    mg_tolerance exact;
    memset(&exact, 0, sizeof exact); /* no tolerance at all */
    mg_baseline_compare(b, &exact, &run);
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(run.tests[i].baseline.state, MG_BASE_SAME);
        CU_ASSERT_EQUAL(run.tests[i].baseline.regressions, 0);
    }
    CU_ASSERT_EQUAL(run.tests[0].status, MG_ST_FAIL);
    CU_ASSERT_EQUAL(run.tests[1].status, MG_ST_PASS);
    CU_ASSERT_EQUAL(run.tests[2].baseline.leaked_bytes, 9007199254740993LL);
    CU_ASSERT_EQUAL(run.tests[2].baseline.peak_bytes, INT64_MAX);
    CU_ASSERT_EQUAL(run.tests[2].baseline.allocations, 1LL << 53);
    CU_ASSERT_EQUAL(run.tests[5].baseline.state, MG_BASE_NONE);
    CU_ASSERT_EQUAL(run.nbaseline_removed, 0);

    char *again = mgt_tmp_path("round2.json");
    CU_ASSERT_EQUAL(mg_baseline_write(again, &run, b, true, err, sizeof err), 0);
    char *t1 = mgt_slurp(path), *t2 = mgt_slurp(again);
    CU_ASSERT(t1 && t2 && strcmp(t1, t2) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t1, "\"leaked_bytes\": 9007199254740993,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t1, "\"peak_bytes\": 9223372036854775807,"));

    /* And the comparison does notice a change, also one of 1 beyond 2^53. */
    run.tests[1].peak_bytes++;
    run.tests[2].leaked_bytes++;
    mg_baseline_compare(b, &exact, &run);
    CU_ASSERT_EQUAL(run.tests[1].baseline.state, MG_BASE_REGRESSED);
    CU_ASSERT_EQUAL(run.tests[1].status, MG_ST_FAIL);
    CU_ASSERT_EQUAL(run.tests[2].baseline.regressions, MG_VIOL_LEAK);

    free(t1);
    free(t2);
    free(again);
    free(path);
    mg_baseline_free(b);
    mg_run_free_contents(&run);
}

MGT_MAIN({
    static const mgt_case tolerance[] = {{"defaults", test_tolerance_defaults},
                                         {"forms", test_tolerance_forms},
                                         {"errors", test_tolerance_errors},
                                         {NULL, NULL}};
    static const mgt_case load[] = {{"errors", test_load_errors},
                                    {"accepts", test_load_accepts},
                                    {NULL, NULL}};
    static const mgt_case compare[] = {{"key", test_key},
                                       {"key_same_basename", test_key_same_basename},
                                       {"boundaries", test_compare_boundaries},
                                       {"percent_vs_absolute", test_compare_percent_vs_absolute},
                                       {"per_test", test_compare_test},
                                       {"run", test_compare_run},
                                       {"legacy", test_compare_legacy},
                                       {"duplicates", test_compare_duplicates},
                                       {NULL, NULL}};
    static const mgt_case write[] = {{"format", test_write_format},
                                     {"keys", test_write_keys},
                                     {"errors", test_write_errors},
                                     {"merge", test_update_merge},
                                     {"prune", test_update_prune},
                                     {"legacy", test_update_legacy},
                                     {"ratchet", test_ratchet},
                                     {"round_trip", test_round_trip},
                                     {NULL, NULL}};
    if (mgt_add_suite("baseline_tolerance", tolerance) || mgt_add_suite("baseline_load", load) ||
        mgt_add_suite("baseline_compare", compare) || mgt_add_suite("baseline_write", write))
        return 2;
})
