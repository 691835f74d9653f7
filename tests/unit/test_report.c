/*
 * Tests of the three reporters (console, JUnit XML, JSON) over one fixed run that has
 * every status, a C++ template symbol full of <>&, quotes, non-ASCII and control
 * characters in a test name, invalid UTF-8 in captured output, an unlimited limit,
 * growth and peak tracebacks (with lost memory and a culprit frame), assertion failures
 * and captured output, lost and net figures, a net budget, suppressed memory, notes, a
 * suite entry run with suite isolation and warm-ups, figures that were not measured, run
 * warnings, an interrupted run, and a baseline comparison (same, new, regressed, removed
 * keys) of shard 1/2. Also the exact integers of jsonutil.c.
 *
 * Golden files: tests/golden/report.{console.txt,junit.xml,json}. The fixture's clock,
 * host and durations are fixed, so only the memgate version is masked (as @VERSION@).
 * Regenerate them with
 *     MG_UPDATE_GOLDEN=1 ./test_report
 * and REVIEW THE DIFF before committing: a regenerated golden accepts whatever the code
 * printed, bugs included.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <memgate/version.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgtest.h"
#include "jsonutil.h"
#include "mgtest_util.h"
#include "report.h"
#include "report_common.h"
#include "util.h"

/* ---- fixture ------------------------------------------------------------------- */

#define BIN_CACHE "./build/tests/test_cache"
#define BIN_PARSER "./build/tests/test_parser"
#define CXX_SYMBOL "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
/* Quotes, markup characters, non-ASCII (ï, ✓) and two control characters (SOH, ESC). */
#define ODD_NAME "peaks \"q\" & <t> 'a' na\xC3\xAFve \xE2\x9C\x93 \x01\x1B[31m"
/* Captured output of the crash: 15 lines, an escape sequence, a carriage return and
 * invalid UTF-8 (0xFF, 0xFE). */
#define CRASH_OUTPUT                                                                       \
    "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\n" \
    "line 11\n\x1B[31mred\x1B[0m text\nbad bytes \xFF\xFE here\r\nline 14\nSegmentation " \
    "fault at <0x0>\n"
/* CRASH_OUTPUT as the JSON report stores it: each invalid byte became U+FFFD. */
#define CRASH_OUTPUT_MENDED                                                                \
    "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\n" \
    "line 11\n\x1B[31mred\x1B[0m text\nbad bytes \xEF\xBF\xBD\xEF\xBF\xBD here\r\nline "  \
    "14\nSegmentation fault at <0x0>\n"

/* The fixed run every test here reports on. Free with mg_run_free_contents. */
static void make_run(mg_run *run) {
    memset(run, 0, sizeof *run);
    run->started_at = mg_xstrdup("2026-11-21T09:40:00Z");
    run->hostname = mg_xstrdup("ci-host");
    run->duration_s = 12.5;

    mg_test_result *t = mgt_test(run, BIN_CACHE, "core", "alloc_free", MG_ST_PASS, 0.01);
    t->peak_bytes = 12288;
    t->allocations = 4;
    mgt_base(t, MG_BASE_SAME, 0, 0, 12000, 4, 0);

    /* A budget breach on leak and growth, with more tracebacks and frames than shown. */
    t = mgt_test(run, BIN_CACHE, "cache", "grows", MG_ST_FAIL, 0.25);
    t->leaked_bytes = 4100;
    t->object_growth = 3;
    t->peak_bytes = 20000;
    t->allocations = 12;
    mgt_limit(&t->budget.leak_bytes, 4096, MG_SRC_FILE_TEST, "budgets.json: tests[\"cache/*\"]");
    t->budget.object_growth.source = MG_SRC_CLI;
    mgt_limit(&t->budget.peak_bytes, 1024 * 1024, MG_SRC_ANNOTATION, "test_cache.c:42");
    t->violations = MG_VIOL_LEAK | MG_VIOL_GROWTH;
    t->ndiffs = 4;
    t->diffs = mg_xcalloc(4, sizeof *t->diffs);
    mgt_entry(&t->diffs[0], 4096, 4096, 1, 1, 11);
    /* All of it is lost; the one-line summaries name cache_put, not the library frame. */
    t->diffs[0].lost_known = true;
    t->diffs[0].lost_size = 4096;
    t->diffs[0].lost_count = 1;
    t->diffs[0].culprit = 1;
    mgt_frame(&t->diffs[0].frames[0], CXX_SYMBOL, "/usr/include/c++/12/bits/vector.tcc", 512,
              "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", 0x7f0012345678ull);
    mgt_frame(&t->diffs[0].frames[1], "cache_put", "/src/cache.c", 88, BIN_CACHE, 0x401a2b);
    for (unsigned k = 2; k < 11; k++) {
        char fn[32];
        snprintf(fn, sizeof fn, "level_%u", k);
        mgt_frame(&t->diffs[0].frames[k], fn, "/src/deep/deep.c", 100 + k, BIN_CACHE, 0x402000 + k);
    }
    mgt_entry(&t->diffs[1], 64, 48, 3, 2, 2);
    t->diffs[1].lost_known = true; /* measured: nothing of it lost */
    mgt_frame(&t->diffs[1].frames[0], "??", NULL, 0, "/lib/x86_64-linux-gnu/libfoo.so.1", 0x1234);
    mgt_frame(&t->diffs[1].frames[1], "??", NULL, 0, NULL, 0xdeadbeef);
    mgt_entry(&t->diffs[2], 8, 8, 1, 1, 1);
    mgt_frame(&t->diffs[2].frames[0], "cache_key", "cache.c", 0, BIN_CACHE, 0x401b00);
    mgt_entry(&t->diffs[3], 0, -16, 0, -1, 1);
    mgt_frame(&t->diffs[3].frames[0], "cache_evict", "/src/cache.c", 120, BIN_CACHE, 0x401c00);
    t->traced = true;
    t->message = mg_xstrdup("leak and object growth over budget");
    t->output = mg_xstrdup("cache: warming up\n");
    mgt_base(t, MG_BASE_SAME, 4100, 3, 20000, 12, 0);
    /* The traced run measured what was lost and the net figures: net blocks differ from
     * the growth (shown on the line), net bytes equal the leak (not shown). */
    mg_test_set(t, MG_M_LOST_BYTES, 4096);
    mg_test_set(t, MG_M_LOST_BLOCKS, 1);
    mg_test_set(t, MG_M_NET_BYTES, 4100);
    mg_test_set(t, MG_M_NET_BLOCKS, 2);
    t->suppressed_bytes = 64;
    t->suppressed_blocks = 2;
    mg_test_add_note(t, "threads were still running after the test");

    /* A peak breach plus assertion failures, under a name full of awkward characters. */
    t = mgt_test(run, BIN_CACHE, "cache", ODD_NAME, MG_ST_FAIL, 1.5);
    t->peak_bytes = 40 * 1024 * 1024;
    t->allocations = 3;
    mgt_limit(&t->budget.peak_bytes, 32 * 1024 * 1024, MG_SRC_FILE_DEFAULTS,
              "budgets.json: defaults");
    t->violations = MG_VIOL_PEAK;
    t->npeak_diffs = 2;
    t->peak_diffs = mg_xcalloc(2, sizeof *t->peak_diffs);
    mgt_entry(&t->peak_diffs[0], 33554432, 33554432, 1, 1, 2);
    mgt_frame(&t->peak_diffs[0].frames[0], "big_buffer<char&>", "/src/a&b/buf.c", 7, BIN_CACHE,
              0x403000);
    mgt_frame(&t->peak_diffs[0].frames[1], "test_peaks", "/src/test_cache.c", 55, BIN_CACHE,
              0x403100);
    mgt_entry(&t->peak_diffs[1], 8388608, 8388608, 2, 2, 1);
    mgt_frame(&t->peak_diffs[1].frames[0], "scratch", "/src/test_cache.c", 56, BIN_CACHE,
              0x403200);
    t->nfailures = 2;
    t->failures = mg_xcalloc(2, sizeof *t->failures);
    t->failures[0].file = mg_xstrdup("test_cache.c");
    t->failures[0].line = 57;
    t->failures[0].condition = mg_xstrdup("CU_ASSERT_EQUAL(cache_size(c),3)");
    t->failures[1].file = mg_xstrdup("test_cache.c");
    t->failures[1].line = 60;
    t->failures[1].condition = mg_xstrdup("x < y && \"quoted\" != 'c'");
    t->traced = true;
    t->rerun_mismatch = true;
    /* Regressed against the baseline as well: peak (also over budget) and allocations,
     * each held to the default tolerance of 10%. */
    mgt_base(t, MG_BASE_REGRESSED, 0, 0, 30 * 1024 * 1024, 2, MG_VIOL_PEAK | MG_VIOL_ALLOCS);
    t->baseline.tol_known = true;
    t->baseline.tol[MG_M_PEAK].percent = 10;
    t->baseline.tol[MG_M_ALLOCS].percent = 10;

    t = mgt_test(run, BIN_PARSER, "parser", "segv", MG_ST_CRASH, 0.03);
    t->signal = 11;
    t->allocations = 1;
    t->output = mg_xstrdup(CRASH_OUTPUT);

    t = mgt_test(run, BIN_PARSER, "parser", "hangs", MG_ST_TIMEOUT, 10.0);
    t->message = mg_xstrdup("timed out after 10.0 s");

    t = mgt_test(run, BIN_CACHE, "cache", "bad_exit", MG_ST_ERROR, 0.02);
    t->exit_code = 3;
    t->message = mg_xstrdup("exited with code 3 outside a test");
    t->output = mg_xstrdup("fatal: cannot open db\n");

    t = mgt_test(run, BIN_PARSER, "parser", "inactive", MG_ST_SKIP, 0);
    t->message = mg_xstrdup("inactive test");

    /* The same suite name in another binary: a separate JUnit testsuite. Unlimited
     * leak, and a growth entry within budget (shown in the full report only). */
    t = mgt_test(run, BIN_PARSER, "cache", "other_binary", MG_ST_PASS, 0.125);
    mgt_limit(&t->budget.leak_bytes, MG_UNLIMITED, MG_SRC_ANNOTATION, "test_parser.c:10");
    t->leaked_bytes = 100;
    t->object_growth = 0;
    t->peak_bytes = 300;
    t->allocations = 2;
    t->ndiffs = 1;
    t->diffs = mg_xcalloc(1, sizeof *t->diffs);
    mgt_entry(&t->diffs[0], 100, 100, 1, 1, 1);
    mgt_frame(&t->diffs[0].frames[0], "intern", "/src/parser.c", 9, BIN_PARSER, 0x405000);
    mgt_base(t, MG_BASE_NEW, 0, 0, 0, 0, 0);
    /* A net budget, so the net figure (negative: the test freed older memory) shows. */
    mgt_limit(&t->budget.net_bytes, 1024 * 1024, MG_SRC_FILE_DEFAULTS, "budgets.json: defaults");
    mg_test_set(t, MG_M_NET_BYTES, -100);
    mg_test_set(t, MG_M_NET_BLOCKS, 0);

    /* The suite's own entry, its tests run in one child with two warm-ups; its
     * allocations were not measured. */
    t = mgt_test(run, BIN_CACHE, "cache", MG_SUITE_ENTRY_NAME, MG_ST_PASS, 0.05);
    t->kind = MG_KIND_SUITE;
    t->isolation = MG_ISO_SUITE;
    t->warmups = 2;
    t->peak_bytes = 512;
    t->known &= ~MG_M_BIT(MG_M_ALLOCS);
    /* Measured three times: each run's figures and the steady growth per run. */
    t->repeat = 3;
    t->nruns = 3;
    t->runs = mg_xcalloc(3, sizeof *t->runs);
    for (size_t k = 0; k < 3; k++)
        t->runs[k] = (mg_run_figures){(int64_t)k * 100, (int64_t)k, (int64_t)k * 100 - 5, (int64_t)k, 512, k != 1};
    t->has_slope = true;
    t->slope_bytes = 0;
    t->slope_blocks = 0;

    run->baseline_path = mg_xstrdup("ci/memgate-baseline.json");
    run->nbaseline_removed = 2;
    run->baseline_removed = mg_xcalloc(2, sizeof *run->baseline_removed);
    run->baseline_removed[0] = mg_xstrdup("test_cache:cache/evicted");
    run->baseline_removed[1] = mg_xstrdup("test_parser:parser/old \"one\"");
    run->shard = mg_xstrdup("1/2");
    run->interrupted = true;
    mg_run_add_warning(run, "baseline ci/memgate-baseline.json is in the old format");
}

/* ---- rendering ----------------------------------------------------------------- */

/* Replaces every occurrence of from by to in s (a heap string); returns the new one. */
static char *replace_all(char *s, const char *from, const char *to) {
    size_t n = mgt_count_of(s, from), fl = strlen(from), tl = strlen(to);
    if (!n) return s;
    char *out = mg_xcalloc(strlen(s) + n * tl + 1, 1), *o = out;
    for (const char *p = s, *q; ; p = q + fl) {
        q = strstr(p, from);
        size_t k = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!q) break;
        memcpy(o, to, tl);
        o += tl;
    }
    free(s);
    return out;
}

/* Writes the fixed run with each reporter; heap strings owned by the caller. */
static char *render_json(const mg_run *run) {
    char err[512] = "", *path = mgt_tmp_path("report.json");
    int rc = mg_report_json_write(run, path, err, sizeof err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) fprintf(stderr, "json write: %s\n", err);
    char *text = mgt_slurp(path);
    free(path);
    return text;
}

static char *render_junit(const mg_run *run) {
    char err[512] = "", *path = mgt_tmp_path("report.xml");
    int rc = mg_report_junit_write(run, path, err, sizeof err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) fprintf(stderr, "junit write: %s\n", err);
    char *text = mgt_slurp(path);
    free(path);
    return text;
}

/* The progress lines of every test, then the summary, as a person sees them. */
static char *render_console(const mg_run *run, bool color) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    mg_console_opts opts = {color, 3, 8, false, MG_GROUP_TRACEBACK, false};
    for (size_t i = 0; i < run->ntests; i++)
        mg_console_test_line(out, &run->tests[i], i + 1, run->ntests, &opts);
    mg_console_summary(out, run, &opts);
    fclose(out);
    return buf;
}

/* ---- golden files ---------------------------------------------------------------- */

/* Compares actual with tests/golden/NAME, or rewrites the golden file when
 * MG_UPDATE_GOLDEN=1 (review the result!). On a mismatch the actual text is saved
 * beside the build as NAME.actual and the first differing line is printed. */
static void check_golden(const char *name, const char *actual) {
    char *path = mg_xasprintf("%s/tests/golden/%s", MG_SOURCE_DIR, name);
    const char *update = getenv("MG_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        CU_ASSERT_EQUAL(mgt_spit(path, actual), 0);
        fprintf(stderr, "\nupdated %s: review the diff before committing\n", path);
        free(path);
        return;
    }
    char *expected = mgt_slurp(path);
    if (!expected) {
        fprintf(stderr, "\nmissing golden file %s (MG_UPDATE_GOLDEN=1 creates it)\n", path);
        CU_FAIL("golden file missing");
        free(path);
        return;
    }
    if (strcmp(expected, actual) != 0) {
        char *saved = mg_xasprintf("%s/tests/%s.actual", MG_BINARY_DIR, name);
        mgt_spit(saved, actual);
        size_t line = 1;
        const char *e = expected, *a = actual;
        while (*e && *e == *a) {
            if (*e == '\n') line++;
            e++, a++;
        }
        while (e > expected && e[-1] != '\n') e--, a--;
        fprintf(stderr, "\n%s differs at line %zu\n  expected: %.*s\n  actual:   %.*s\n"
                "  (actual output saved to %s)\n", path, line, (int)strcspn(e, "\n"), e,
                (int)strcspn(a, "\n"), a, saved);
        CU_FAIL("output differs from the golden file");
        free(saved);
    }
    free(expected);
    free(path);
}

static void test_golden_console(void) {
    mg_run run;
    make_run(&run);
    char *text = render_console(&run, false);
    check_golden("report.console.txt", text);
    free(text);
    mg_run_free_contents(&run);
}

static void test_golden_junit(void) {
    mg_run run;
    make_run(&run);
    char *text = render_junit(&run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    check_golden("report.junit.xml", text);
    free(text);
    mg_run_free_contents(&run);
}

static void test_golden_json(void) {
    mg_run run;
    make_run(&run);
    char *text = render_json(&run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    /* The version changes with every release; the golden file holds a placeholder. */
    text = replace_all(text, "\"" MEMGATE_VERSION_STRING "\"", "\"@VERSION@\"");
    check_golden("report.json", text);
    free(text);
    mg_run_free_contents(&run);
}

/* ---- JSON ---------------------------------------------------------------------- */

static bool same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Describes the first difference between two runs into buf; false when equal. */
static bool run_differs(const mg_run *a, const mg_run *b, char *buf, size_t len) {
#define DIFF(cond, ...)                                                                    \
    do {                                                                                   \
        if (cond) {                                                                        \
            snprintf(buf, len, __VA_ARGS__);                                               \
            return true;                                                                   \
        }                                                                                  \
    } while (0)
    DIFF(!same_str(a->started_at, b->started_at), "started_at");
    DIFF(!same_str(a->hostname, b->hostname), "hostname");
    DIFF(a->duration_s != b->duration_s, "duration_s");
    DIFF(!same_str(a->baseline_path, b->baseline_path), "baseline_path");
    DIFF(a->nbaseline_removed != b->nbaseline_removed, "nbaseline_removed");
    for (size_t i = 0; i < a->nbaseline_removed; i++)
        DIFF(!same_str(a->baseline_removed[i], b->baseline_removed[i]), "baseline_removed[%zu]", i);
    DIFF(!same_str(a->shard, b->shard), "shard");
    DIFF(a->interrupted != b->interrupted, "interrupted");
    DIFF(a->nwarnings != b->nwarnings, "nwarnings");
    for (size_t i = 0; i < a->nwarnings; i++)
        DIFF(!same_str(a->warnings[i], b->warnings[i]), "warnings[%zu]", i);
    DIFF(a->ntests != b->ntests, "ntests %zu vs %zu", a->ntests, b->ntests);
    for (size_t i = 0; i < a->ntests; i++) {
        const mg_test_result *x = &a->tests[i], *y = &b->tests[i];
        DIFF(!same_str(x->binary, y->binary), "tests[%zu].binary", i);
        DIFF(!same_str(x->suite, y->suite), "tests[%zu].suite", i);
        DIFF(!same_str(x->name, y->name), "tests[%zu].name", i);
        DIFF(x->status != y->status, "tests[%zu].status", i);
        DIFF(x->kind != y->kind, "tests[%zu].kind", i);
        DIFF(x->isolation != y->isolation, "tests[%zu].isolation", i);
        DIFF(x->warmups != y->warmups, "tests[%zu].warmups", i);
        DIFF((x->repeat ? x->repeat : 1) != (y->repeat ? y->repeat : 1), "tests[%zu].repeat", i);
        DIFF(x->nruns != y->nruns, "tests[%zu].nruns", i);
        for (size_t k = 0; k < x->nruns && k < y->nruns; k++) {
            const mg_run_figures *p = &x->runs[k], *q = &y->runs[k];
            DIFF(p->leak_known != q->leak_known || (p->leak_known && (p->leaked_bytes != q->leaked_bytes ||
                                                                      p->object_growth != q->object_growth)) ||
                     p->net_bytes != q->net_bytes || p->net_blocks != q->net_blocks || p->peak_bytes != q->peak_bytes,
                 "tests[%zu].runs[%zu]", i, k);
        }
        DIFF(x->has_slope != y->has_slope ||
                 (x->has_slope && (x->slope_bytes != y->slope_bytes || x->slope_blocks != y->slope_blocks)),
             "tests[%zu].slope", i);
        DIFF(x->known != y->known, "tests[%zu].known %#x vs %#x", i, x->known, y->known);
        for (int m = 0; m < MG_M_COUNT; m++) {
            /* A figure that was not measured has no value to keep. */
            if (mg_test_known(x, (mg_metric)m))
                DIFF(x->fig[m] != y->fig[m], "tests[%zu].%s", i, mg_metrics[m].key);
            /* Limits of metrics without a budget are not written. */
            if (!mg_metrics[m].budget_key) continue;
            const mg_limit *lx = &x->budget.lim[m], *ly = &y->budget.lim[m];
            DIFF(lx->value != ly->value, "tests[%zu].budget.%s.value", i, mg_metric_name(m));
            DIFF(lx->source != ly->source, "tests[%zu].budget.%s.source", i, mg_metric_name(m));
            DIFF(!same_str(lx->origin, ly->origin), "tests[%zu].budget.%s.origin", i,
                 mg_metric_name(m));
        }
        DIFF(x->suppressed_bytes != y->suppressed_bytes ||
                 x->suppressed_blocks != y->suppressed_blocks,
             "tests[%zu].suppressed", i);
        DIFF(x->nnotes != y->nnotes, "tests[%zu].nnotes", i);
        for (size_t k = 0; k < x->nnotes; k++)
            DIFF(!same_str(x->notes[k], y->notes[k]), "tests[%zu].notes[%zu]", i, k);
        DIFF(x->violations != y->violations, "tests[%zu].violations", i);
        DIFF(x->baseline.state != y->baseline.state, "tests[%zu].baseline.state", i);
        for (int m = 0; m < MG_M_COUNT; m++) {
            if (!mg_metrics[m].baseline) continue;
            DIFF(x->baseline.fig[m] != y->baseline.fig[m], "tests[%zu].baseline.%s", i,
                 mg_metrics[m].key);
            if (x->baseline.tol_known)
                DIFF(x->baseline.tol[m].percent != y->baseline.tol[m].percent ||
                         x->baseline.tol[m].absolute != y->baseline.tol[m].absolute,
                     "tests[%zu].baseline.tolerance.%s", i, mg_metrics[m].key);
        }
        DIFF(x->baseline.tol_known != y->baseline.tol_known, "tests[%zu].baseline.tol_known", i);
        DIFF(x->baseline.regressions != y->baseline.regressions, "tests[%zu].baseline.regressions",
             i);
        for (int which = 0; which < 2; which++) {
            const mg_entry *ex = which ? x->peak_diffs : x->diffs;
            const mg_entry *ey = which ? y->peak_diffs : y->diffs;
            size_t nx = which ? x->npeak_diffs : x->ndiffs, ny = which ? y->npeak_diffs : y->ndiffs;
            const char *what = which ? "peak_diffs" : "diffs";
            DIFF(nx != ny, "tests[%zu].%s count", i, what);
            for (size_t e = 0; e < nx; e++) {
                DIFF(ex[e].size != ey[e].size || ex[e].size_diff != ey[e].size_diff ||
                         ex[e].count != ey[e].count || ex[e].count_diff != ey[e].count_diff,
                     "tests[%zu].%s[%zu] figures", i, what, e);
                DIFF(ex[e].lost_known != ey[e].lost_known ||
                         (ex[e].lost_known && (ex[e].lost_size != ey[e].lost_size ||
                                               ex[e].lost_count != ey[e].lost_count)),
                     "tests[%zu].%s[%zu] lost", i, what, e);
                DIFF(ex[e].culprit != ey[e].culprit, "tests[%zu].%s[%zu].culprit", i, what, e);
                DIFF(ex[e].nframes != ey[e].nframes, "tests[%zu].%s[%zu].nframes", i, what, e);
                for (size_t f = 0; f < ex[e].nframes; f++) {
                    const mg_frame *fx = &ex[e].frames[f], *fy = &ey[e].frames[f];
                    DIFF(!same_str(fx->function, fy->function) || !same_str(fx->file, fy->file) ||
                             fx->line != fy->line || !same_str(fx->module, fy->module) ||
                             fx->address != fy->address,
                         "tests[%zu].%s[%zu].frames[%zu]", i, what, e, f);
                }
            }
        }
        DIFF(x->nfailures != y->nfailures, "tests[%zu].nfailures", i);
        for (size_t f = 0; f < x->nfailures; f++)
            DIFF(!same_str(x->failures[f].file, y->failures[f].file) ||
                     x->failures[f].line != y->failures[f].line ||
                     !same_str(x->failures[f].condition, y->failures[f].condition),
                 "tests[%zu].failures[%zu]", i, f);
        DIFF(!same_str(x->message, y->message), "tests[%zu].message", i);
        DIFF(x->signal != y->signal, "tests[%zu].signal", i);
        DIFF(x->exit_code != y->exit_code, "tests[%zu].exit_code", i);
        DIFF(x->duration_s != y->duration_s, "tests[%zu].duration_s", i);
        DIFF(x->traced != y->traced, "tests[%zu].traced", i);
        DIFF(x->rerun_mismatch != y->rerun_mismatch, "tests[%zu].rerun_mismatch", i);
        DIFF(!same_str(x->output, y->output), "tests[%zu].output", i);
    }
    return false;
#undef DIFF
}

static void test_json_roundtrip(void) {
    mg_run run, back;
    char err[512] = "", diff[256] = "";
    make_run(&run);
    char *path = mgt_tmp_path("roundtrip.json");
    CU_ASSERT_EQUAL_FATAL(mg_report_json_write(&run, path, err, sizeof err), 0);
    int rc = mg_report_json_read(path, &back, err, sizeof err);
    if (rc) fprintf(stderr, "\nread: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    /* JSON text is UTF-8: the crash output's invalid bytes come back as U+FFFD. */
    free(run.tests[3].output);
    run.tests[3].output = mg_xstrdup(CRASH_OUTPUT_MENDED);
    bool differs = run_differs(&run, &back, diff, sizeof diff);
    if (differs) fprintf(stderr, "\nround trip changed %s\n", diff);
    CU_ASSERT_FALSE(differs);

    /* Writing what was read gives the same document, byte for byte. */
    char *again = mgt_tmp_path("roundtrip2.json");
    CU_ASSERT_EQUAL(mg_report_json_write(&back, again, err, sizeof err), 0);
    char *t1 = mgt_slurp(path), *t2 = mgt_slurp(again);
    CU_ASSERT_PTR_NOT_NULL(t1);
    CU_ASSERT_PTR_NOT_NULL(t2);
    CU_ASSERT(t1 && t2 && strcmp(t1, t2) == 0);

    /* The comparison itself must notice a change, baseline fields included. */
    back.tests[1].diffs[0].frames[0].line++;
    CU_ASSERT_TRUE(run_differs(&run, &back, diff, sizeof diff));
    back.tests[1].diffs[0].frames[0].line--;
    back.tests[2].baseline.regressions &= ~(unsigned)MG_VIOL_ALLOCS;
    CU_ASSERT_TRUE(run_differs(&run, &back, diff, sizeof diff));
    back.tests[2].baseline.regressions |= MG_VIOL_ALLOCS;
    back.tests[0].baseline.peak_bytes++;
    CU_ASSERT_TRUE(run_differs(&run, &back, diff, sizeof diff));
    back.tests[0].baseline.peak_bytes--;
    back.tests[1].net_blocks++;
    CU_ASSERT_TRUE(run_differs(&run, &back, diff, sizeof diff));
    back.tests[1].net_blocks--;
    back.tests[1].diffs[0].culprit = 0;
    CU_ASSERT_TRUE(run_differs(&run, &back, diff, sizeof diff));
    back.tests[1].diffs[0].culprit = 1;
    back.tests[8].known |= MG_M_BIT(MG_M_ALLOCS);
    CU_ASSERT_TRUE(run_differs(&run, &back, diff, sizeof diff));
    back.tests[8].known &= ~MG_M_BIT(MG_M_ALLOCS);
    CU_ASSERT_FALSE(run_differs(&run, &back, diff, sizeof diff));

    free(t1);
    free(t2);
    free(again);
    free(path);
    mg_run_free_contents(&back);
    mg_run_free_contents(&run);
}

static const cJSON *item(const cJSON *obj, const char *key) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) fprintf(stderr, "\nmissing JSON member \"%s\"\n", key);
    return it;
}

static void test_json_fields(void) {
    mg_run run;
    make_run(&run);
    char *text = render_json(&run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    cJSON *doc = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);

    CU_ASSERT(cJSON_IsNumber(item(doc, "schema_version")) &&
              item(doc, "schema_version")->valuedouble == MEMGATE_REPORT_SCHEMA_VERSION);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(doc, "tool")), "memgate");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(doc, "version")), MEMGATE_VERSION_STRING);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(doc, "started_at")), "2026-11-21T09:40:00Z");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(doc, "hostname")), "ci-host");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(doc, "duration_s")), 12.5, 1e-12);
    const cJSON *sum = item(doc, "summary");
    CU_ASSERT(cJSON_IsObject(sum));
    static const char *keys[] = {"total", "pass", "fail", "crash", "timeout", "error", "skip"};
    static const double want[] = {9, 3, 2, 1, 1, 1, 1};
    for (int i = 0; i < 7; i++)
        CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(sum, keys[i])), want[i], 0);

    const cJSON *tests = item(doc, "tests");
    CU_ASSERT_FATAL(cJSON_IsArray(tests) && cJSON_GetArraySize(tests) == 9);
    /* Only an interrupted run has "interrupted"; warnings are always there. */
    CU_ASSERT(cJSON_IsTrue(item(doc, "interrupted")));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(item(doc, "warnings")), 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetArrayItem(item(doc, "warnings"), 0)),
                           "baseline ci/memgate-baseline.json is in the old format");
    static const char *strs[] = {"suite", "name", "binary", "status", "kind", "isolation"};
    static const char *nums[] = {"leaked_bytes",     "object_growth",     "peak_bytes",
                                 "exit_code",        "duration_s",        "warmups",
                                 "suppressed_bytes", "suppressed_blocks"};
    static const char *arrs[] = {"violations", "diffs", "peak_diffs", "failures", "notes"};
    const cJSON *t;
    cJSON_ArrayForEach(t, tests) {
        for (int i = 0; i < 6; i++) CU_ASSERT(cJSON_IsString(item(t, strs[i])));
        for (int i = 0; i < 8; i++) CU_ASSERT(cJSON_IsNumber(item(t, nums[i])));
        for (int i = 0; i < 5; i++) CU_ASSERT(cJSON_IsArray(item(t, arrs[i])));
        /* Every figure of the metric table, a number or (not measured) null. */
        for (int m = 0; m < MG_M_COUNT; m++) {
            const cJSON *f = item(t, mg_metrics[m].key);
            CU_ASSERT(cJSON_IsNumber(f) || cJSON_IsNull(f));
        }
        CU_ASSERT(cJSON_IsBool(item(t, "traced")));
        CU_ASSERT(cJSON_IsBool(item(t, "rerun_mismatch")));
        const cJSON *msg = item(t, "message"), *out = item(t, "output"), *sig = item(t, "signal");
        CU_ASSERT(cJSON_IsString(msg) || cJSON_IsNull(msg));
        CU_ASSERT(cJSON_IsString(out) || cJSON_IsNull(out));
        CU_ASSERT(cJSON_IsObject(sig) || cJSON_IsNull(sig));
        const cJSON *b = item(t, "budget");
        static const char *lims[] = {"leak_bytes", "object_growth", "lost_bytes",
                                     "net_bytes",  "net_blocks",    "peak_bytes"};
        CU_ASSERT_EQUAL(cJSON_GetArraySize(b), 6);
        for (int i = 0; i < 6; i++) {
            const cJSON *l = item(b, lims[i]);
            CU_ASSERT(cJSON_IsNumber(item(l, "value")) || cJSON_IsNull(item(l, "value")));
            CU_ASSERT(cJSON_IsString(item(l, "source")));
            CU_ASSERT(cJSON_IsString(item(l, "origin")) || cJSON_IsNull(item(l, "origin")));
        }
    }

    const cJSON *pass = cJSON_GetArrayItem(tests, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(pass, "status")), "pass");
    CU_ASSERT(cJSON_IsNull(item(item(item(pass, "budget"), "peak_bytes"), "value")));
    CU_ASSERT_STRING_EQUAL(
        cJSON_GetStringValue(item(item(item(pass, "budget"), "peak_bytes"), "source")), "builtin");
    CU_ASSERT(cJSON_IsNull(item(pass, "signal")));
    CU_ASSERT(cJSON_IsNull(item(pass, "message")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(pass, "kind")), "test");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(pass, "isolation")), "test");
    CU_ASSERT(cJSON_IsNull(item(pass, "lost_bytes")));  /* not measured: null, not 0 */
    CU_ASSERT(cJSON_IsNull(item(pass, "net_blocks")));
    CU_ASSERT(cJSON_IsNull(item(item(item(pass, "budget"), "net_bytes"), "value")));
    CU_ASSERT(cJSON_IsNull(item(item(pass, "baseline"), "tolerance")));

    const cJSON *grows = cJSON_GetArrayItem(tests, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(grows, "status")), "fail");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(grows, "leaked_bytes")), 4100, 0);
    const cJSON *leak = item(item(grows, "budget"), "leak_bytes");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(leak, "value")), 4096, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(leak, "source")), "file-test");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(leak, "origin")),
                           "budgets.json: tests[\"cache/*\"]");
    const cJSON *viol = item(grows, "violations");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(viol), 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetArrayItem(viol, 0)), "leak_bytes");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetArrayItem(viol, 1)), "object_growth");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(grows, "lost_bytes")), 4096, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(grows, "lost_blocks")), 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(grows, "net_blocks")), 2, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(grows, "suppressed_bytes")), 64, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(grows, "suppressed_blocks")), 2, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetArrayItem(item(grows, "notes"), 0)),
                           "threads were still running after the test");
    const cJSON *d0 = cJSON_GetArrayItem(item(grows, "diffs"), 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(d0, "size_diff")), 4096, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(d0, "count_diff")), 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(d0, "lost_size")), 4096, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(d0, "lost_count")), 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(d0, "culprit")), 1, 0);
    const cJSON *d2 = cJSON_GetArrayItem(item(grows, "diffs"), 2);
    CU_ASSERT(cJSON_IsNull(item(d2, "lost_size")) && cJSON_IsNull(item(d2, "lost_count")));
    const cJSON *tb = item(d0, "traceback");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(tb), 11);
    const cJSON *f0 = cJSON_GetArrayItem(tb, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(f0, "function")), CXX_SYMBOL);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(f0, "file")),
                           "/usr/include/c++/12/bits/vector.tcc");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(f0, "line")), 512, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(f0, "module")),
                           "/usr/lib/x86_64-linux-gnu/libstdc++.so.6");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(f0, "address")), "0x7f0012345678");
    const cJSON *unknown = cJSON_GetArrayItem(item(cJSON_GetArrayItem(item(grows, "diffs"), 1),
                                                   "traceback"), 1);
    CU_ASSERT(cJSON_IsNull(item(unknown, "file")) && cJSON_IsNull(item(unknown, "module")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(unknown, "address")), "0xdeadbeef");
    CU_ASSERT(cJSON_IsTrue(item(grows, "traced")));

    const cJSON *odd = cJSON_GetArrayItem(tests, 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(odd, "name")), ODD_NAME);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(item(odd, "peak_diffs")), 2);
    const cJSON *fail0 = cJSON_GetArrayItem(item(odd, "failures"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(fail0, "file")), "test_cache.c");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(fail0, "line")), 57, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(fail0, "condition")),
                           "CU_ASSERT_EQUAL(cache_size(c),3)");
    CU_ASSERT(cJSON_IsTrue(item(odd, "rerun_mismatch")));
    /* Control characters travel as \u escapes, never raw. */
    CU_ASSERT_PTR_NULL(strchr(text, '\x01'));
    CU_ASSERT_PTR_NULL(strchr(text, '\x1B'));
    CU_ASSERT_PTR_NULL(strchr(text, '\xFF'));

    const cJSON *crash = cJSON_GetArrayItem(tests, 3);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(crash, "status")), "crash");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(item(crash, "signal"), "name")), "SIGSEGV");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(item(crash, "signal"), "number")), 11, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(crash, "output")), CRASH_OUTPUT_MENDED);

    const cJSON *error = cJSON_GetArrayItem(tests, 5);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(error, "exit_code")), 3, 0);
    const cJSON *other = cJSON_GetArrayItem(tests, 7);
    CU_ASSERT(cJSON_IsNull(item(item(item(other, "budget"), "leak_bytes"), "value")));
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(other, "net_bytes")), -100, 0);
    CU_ASSERT_DOUBLE_EQUAL(
        cJSON_GetNumberValue(item(item(item(other, "budget"), "net_bytes"), "value")), 1048576, 0);
    const cJSON *suite = cJSON_GetArrayItem(tests, 8);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(suite, "name")), "(suite)");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(suite, "kind")), "suite");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(suite, "isolation")), "suite");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(suite, "warmups")), 2, 0);
    CU_ASSERT(cJSON_IsNull(item(suite, "allocations")));

    /* Baseline: the run's file, removed keys and shard; per test null or the state,
     * the baseline's figures (null for a new test) and what regressed. */
    const cJSON *base = item(doc, "baseline");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(base, "path")), "ci/memgate-baseline.json");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(item(base, "removed")), 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetArrayItem(item(base, "removed"), 1)),
                           "test_parser:parser/old \"one\"");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(doc, "shard")), "1/2");
    const cJSON *pb = item(pass, "baseline");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(pb, "state")), "same");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(pb, "peak_bytes")), 12000, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(pb, "allocations")), 4, 0);
    CU_ASSERT(cJSON_IsArray(item(pb, "regressions")) &&
              cJSON_GetArraySize(item(pb, "regressions")) == 0);
    const cJSON *ob = item(odd, "baseline");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(ob, "state")), "regressed");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(ob, "peak_bytes")), 30 * 1024 * 1024, 0);
    const cJSON *regs = item(ob, "regressions");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(regs), 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetArrayItem(regs, 0)), "peak_bytes");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetArrayItem(regs, 1)), "allocations");
    const cJSON *tol = item(item(ob, "tolerance"), "peak_bytes");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(tol, "percent")), 10, 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(item(tol, "absolute")), 0, 0);
    /* Regressions are not budget violations. */
    CU_ASSERT_EQUAL(cJSON_GetArraySize(item(odd, "violations")), 1);
    const cJSON *nb = item(other, "baseline");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(item(nb, "state")), "new");
    static const char *figs[] = {"leaked_bytes", "object_growth", "peak_bytes", "allocations"};
    for (int i = 0; i < 4; i++) CU_ASSERT(cJSON_IsNull(item(nb, figs[i])));
    CU_ASSERT(cJSON_IsNull(item(crash, "baseline")));

    cJSON_Delete(doc);
    free(text);
    mg_run_free_contents(&run);
}

/* Reading bad_text must fail with an error naming the file and containing every
 * string in want (NULL-terminated). */
static void expect_read_error(const char *bad_text, const char *want1, const char *want2) {
    char *path = mgt_tmp_path("bad.json");
    CU_ASSERT_EQUAL_FATAL(mgt_spit(path, bad_text), 0);
    mg_run run;
    char err[512] = "";
    int rc = mg_report_json_read(path, &run, err, sizeof err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want1));
    if (want2) CU_ASSERT_PTR_NOT_NULL(strstr(err, want2));
    if (rc != -1 || !strstr(err, want1) || (want2 && !strstr(err, want2)))
        fprintf(stderr, "\nfor %s\n  got: %s\n", bad_text, err);
    CU_ASSERT_PTR_NULL(run.tests); /* nothing half-read is left behind */
    CU_ASSERT_EQUAL(run.ntests, 0);
    if (rc == 0) mg_run_free_contents(&run);
    free(path);
}

#define DOC_HEAD "{\"schema_version\": 1, \"tool\": \"memgate\", \"tests\": ["
#define LIMIT "{\"value\": 0, \"source\": \"builtin\", \"origin\": null}"
#define BUDGET "{\"leak_bytes\": " LIMIT ", \"object_growth\": " LIMIT ", \"peak_bytes\": " LIMIT "}"
#define TEST_HEAD "{\"suite\": \"s\", \"name\": \"t\", \"leaked_bytes\": 0, \"object_growth\": 0, "

static void test_json_read_errors(void) {
    char err[512] = "";
    mg_run run;
    char *missing = mgt_tmp_path("does-not-exist.json");
    CU_ASSERT_EQUAL(mg_report_json_read(missing, &run, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, missing));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(ENOENT)));
    free(missing);

    expect_read_error("", "empty", NULL);
    expect_read_error("{\n  \"tool\": \"memgate\",\n  oops\n}", "line 3", "not valid JSON");
    expect_read_error("{\"tool\": \"memgate\"} trailing", "not valid JSON", NULL);
    expect_read_error("[1, 2]", "not a memgate report", NULL);
    expect_read_error("{\"tool\": \"other\", \"schema_version\": 1, \"tests\": []}",
                      "not a memgate report", NULL);
    expect_read_error("{\"tool\": \"memgate\", \"schema_version\": 99, \"tests\": []}",
                      "schema_version", "newer");
    expect_read_error("{\"tool\": \"memgate\", \"schema_version\": 1}", "tests", "missing");
    expect_read_error(DOC_HEAD "{\"suite\": \"s\"}]}", "tests[0].name", "missing");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"weird\", \"peak_bytes\": 0, \"budget\": "
                      BUDGET "}]}", "tests[0].status", "expected pass");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": \"big\", "
                      "\"budget\": " BUDGET "}]}", "tests[0].peak_bytes", "integer");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 1.5, "
                      "\"budget\": " BUDGET "}]}", "tests[0].peak_bytes", "integer");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      "{\"leak_bytes\": {\"value\": -5, \"source\": \"cli\"}}}]}",
                      "tests[0].budget.leak_bytes.value", "out of range");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      "{\"leak_bytes\": {\"value\": 5, \"source\": \"moon\"}}}]}",
                      "tests[0].budget.leak_bytes.source", "unknown source");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      BUDGET ", \"violations\": [\"leak\"]}]}", "tests[0].violations", "leak_bytes");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      BUDGET ", \"diffs\": [{\"size\": 1, \"size_diff\": 1, \"count\": 1, "
                      "\"count_diff\": 1, \"traceback\": [{\"address\": \"12\"}]}]}]}",
                      "tests[0].diffs[0].traceback[0].address", "0x");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      BUDGET ", \"traced\": 1}]}", "tests[0].traced", "true or false");

    /* A minimal valid document is accepted; absent optional members take defaults. */
    char *path = mgt_tmp_path("minimal.json");
    CU_ASSERT_EQUAL_FATAL(mgt_spit(path, DOC_HEAD TEST_HEAD "\"status\": \"skip\", "
                                         "\"peak_bytes\": 0, \"budget\": " BUDGET "}]}"),
                          0);
    int rc = mg_report_json_read(path, &run, err, sizeof err);
    if (rc) fprintf(stderr, "\nminimal: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(run.ntests, 1);
    CU_ASSERT_EQUAL(run.tests[0].status, MG_ST_SKIP);
    CU_ASSERT_PTR_NULL(run.tests[0].binary);
    CU_ASSERT_PTR_NULL(run.hostname);
    mg_run_free_contents(&run);
    free(path);
}

/* A run without a baseline or shard writes nulls and reads back without them; bad
 * baseline members are refused with their path. */
static void test_json_baseline(void) {
    mg_run run = {0}, back;
    char err[512] = "";
    mg_test_result *t = mgt_test(&run, BIN_CACHE, "s", "t", MG_ST_PASS, 0.5);
    t->baseline.state = MG_BASE_NONE;
    char *text = render_json(&run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    cJSON *doc = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT(cJSON_IsNull(item(doc, "baseline")));
    CU_ASSERT(cJSON_IsNull(item(doc, "shard")));
    CU_ASSERT(cJSON_IsNull(item(cJSON_GetArrayItem(item(doc, "tests"), 0), "baseline")));
    cJSON_Delete(doc);
    free(text);
    char *path = mgt_tmp_path("nobaseline.json");
    CU_ASSERT_EQUAL_FATAL(mg_report_json_write(&run, path, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(mg_report_json_read(path, &back, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(back.baseline_path);
    CU_ASSERT_PTR_NULL(back.shard);
    CU_ASSERT_EQUAL(back.nbaseline_removed, 0);
    CU_ASSERT_EQUAL(back.tests[0].baseline.state, MG_BASE_NONE);
    mg_run_free_contents(&back);
    free(path);
    mg_run_free_contents(&run);

    expect_read_error(DOC_HEAD "], \"baseline\": 5}", "baseline", "object or null");
    expect_read_error(DOC_HEAD "], \"baseline\": {\"removed\": []}}", "baseline.path", "missing");
    expect_read_error(DOC_HEAD "], \"baseline\": {\"path\": \"b\", \"removed\": [1]}}",
                      "baseline.removed[0]", "string");
    expect_read_error(DOC_HEAD "], \"shard\": 2}", "shard", "string");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      BUDGET ", \"baseline\": {\"state\": \"better\"}}]}",
                      "tests[0].baseline.state", "new, same or regressed");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      BUDGET ", \"baseline\": {\"state\": \"same\", \"leaked_bytes\": 0, "
                      "\"object_growth\": 0, \"peak_bytes\": 0}}]}",
                      "tests[0].baseline.allocations", "missing");
    expect_read_error(DOC_HEAD TEST_HEAD "\"status\": \"pass\", \"peak_bytes\": 0, \"budget\": "
                      BUDGET ", \"baseline\": {\"state\": \"regressed\", \"leaked_bytes\": 0, "
                      "\"object_growth\": 0, \"peak_bytes\": 0, \"allocations\": 0, "
                      "\"regressions\": [\"peak\"]}}]}",
                      "tests[0].baseline.regressions", "peak_bytes");
}

/* ---- exact integers (jsonutil.c) ------------------------------------------------ */

/* Parses text with mg_json_parse and reads its member "v" with mg_json_get_i64. */
static mg_json_int i64_of(const char *text, int64_t *out) {
    cJSON *doc = mg_json_parse(text, strlen(text), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    mg_json_int rc = mg_json_get_i64(cJSON_GetObjectItemCaseSensitive(doc, "v"), out);
    cJSON_Delete(doc);
    return rc;
}

static void expect_i64(const char *literal, int64_t want) {
    char text[128];
    snprintf(text, sizeof text, "{\"v\": %s}", literal);
    int64_t v = 0;
    mg_json_int rc = i64_of(text, &v);
    if (rc != MG_JSON_INT_OK || v != want)
        fprintf(stderr, "\n%s: rc %d, %" PRId64 " (want %" PRId64 ")\n", literal, rc, v, want);
    CU_ASSERT_EQUAL(rc, MG_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, want);
}

static void expect_i64_error(const char *literal, mg_json_int want) {
    char text[128];
    snprintf(text, sizeof text, "{\"v\": %s}", literal);
    int64_t v = 12345;
    mg_json_int rc = i64_of(text, &v);
    if (rc != want) fprintf(stderr, "\n%s: rc %d, want %d\n", literal, rc, want);
    CU_ASSERT_EQUAL(rc, want);
    CU_ASSERT_EQUAL(v, 12345); /* nothing stored */
}

static void test_json_exact_ints(void) {
    /* Beyond 2^53 a double loses the last digits: the literal keeps them. */
    expect_i64("9007199254740993", 9007199254740993LL);
    expect_i64("9223372036854775807", INT64_MAX);
    expect_i64("-9223372036854775808", INT64_MIN);
    expect_i64("-9007199254740993", -9007199254740993LL);
    expect_i64("0", 0);
    expect_i64("-0", 0);
    /* Whole numbers in other notations. */
    expect_i64("1e3", 1000);
    expect_i64("4096.0", 4096);
    expect_i64("1.5e1", 15);
    expect_i64("92233720368547758.07e2", INT64_MAX);
    expect_i64("0.0000e99", 0);
    expect_i64("100000000000000000000000000000000000000000000e-30", 100000000000000LL);
    expect_i64_error("9223372036854775808", MG_JSON_INT_TOO_LARGE);
    expect_i64_error("-9223372036854775809", MG_JSON_INT_TOO_SMALL);
    expect_i64_error("1e19", MG_JSON_INT_TOO_LARGE);
    expect_i64_error("1e300", MG_JSON_INT_TOO_LARGE);
    expect_i64_error("1.5", MG_JSON_INT_NOT_WHOLE);
    expect_i64_error("1e-3", MG_JSON_INT_NOT_WHOLE);
    expect_i64_error("9007199254740993.5", MG_JSON_INT_NOT_WHOLE);
    expect_i64_error("\"5\"", MG_JSON_INT_NOT_NUMBER);
    expect_i64_error("null", MG_JSON_INT_NOT_NUMBER);

    /* Literals go to their own nodes, in document order, at any depth, also after
     * strings that look like numbers or hold quotes and brackets. */
    const char *text = "{\"a\": [1, {\"s\": \"-2 [\\\"3\", \"b\": 9007199254740993}, -4.5e0],"
                       " \"c\": {\"d\": 9223372036854775807}, \"e\": 5}";
    cJSON *doc = mg_json_parse(text, strlen(text), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, "a");
    CU_ASSERT_STRING_EQUAL(mg_json_number_text(cJSON_GetArrayItem(a, 0)), "1");
    CU_ASSERT_STRING_EQUAL(
        mg_json_number_text(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 1), "b")),
        "9007199254740993");
    CU_ASSERT_STRING_EQUAL(mg_json_number_text(cJSON_GetArrayItem(a, 2)), "-4.5e0");
    int64_t v = 0;
    CU_ASSERT_EQUAL(mg_json_get_i64(cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(doc, "c"), "d"),
                                    &v),
                    MG_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    CU_ASSERT_STRING_EQUAL(mg_json_number_text(cJSON_GetObjectItemCaseSensitive(doc, "e")), "5");
    CU_ASSERT_PTR_NULL(mg_json_number_text(cJSON_GetObjectItemCaseSensitive(doc, "a")));
    /* Messages show a number as it was written. */
    char shown[MG_JSON_SHOWN_SIZE];
    mg_json_describe_value(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(doc, "c"), "d"),
                           shown, sizeof shown);
    CU_ASSERT_STRING_EQUAL(shown, "9223372036854775807");
    cJSON_Delete(doc);
    const char *end = NULL;
    CU_ASSERT_PTR_NULL(mg_json_parse("{\"v\": 1x}", 9, &end));
    CU_ASSERT(end != NULL);

    /* A number built in memory has no literal: whole doubles up to 2^53 only. */
    cJSON *n = cJSON_CreateNumber(4096);
    CU_ASSERT_EQUAL(mg_json_get_i64(n, &v), MG_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, 4096);
    cJSON_SetNumberValue(n, 1e17);
    CU_ASSERT_EQUAL(mg_json_get_i64(n, &v), MG_JSON_INT_TOO_LARGE);
    cJSON_SetNumberValue(n, 0.5);
    CU_ASSERT_EQUAL(mg_json_get_i64(n, &v), MG_JSON_INT_NOT_WHOLE);
    cJSON_Delete(n);

    /* And the writer's side: exact decimal text. */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "v", mg_json_create_i64(INT64_MAX));
    cJSON_AddItemToObject(o, "w", mg_json_create_i64(INT64_MIN));
    char *printed = cJSON_PrintUnformatted(o);
    CU_ASSERT_STRING_EQUAL(printed, "{\"v\":9223372036854775807,\"w\":-9223372036854775808}");
    cJSON_free(printed);
    cJSON_Delete(o);
}

/* Figures, limits and traceback sizes at 2^53+1 and 2^63-1 survive a JSON report's
 * write and read, and the read run writes the same document again. */
static void test_json_exact_roundtrip(void) {
    mg_run run = {0}, back;
    mg_test_result *t = mgt_test(&run, BIN_CACHE, "big", "numbers", MG_ST_FAIL, 1);
    t->leaked_bytes = 9007199254740993LL;
    t->peak_bytes = INT64_MAX;
    t->allocations = INT64_MAX;
    mg_test_set(t, MG_M_NET_BYTES, INT64_MIN + 1);
    mgt_limit(&t->budget.leak_bytes, 9007199254740992LL, MG_SRC_CLI, "--leak-bytes");
    mgt_limit(&t->budget.peak_bytes, INT64_MAX, MG_SRC_FILE_DEFAULTS, "b.json: defaults");
    t->violations = MG_VIOL_LEAK;
    t->suppressed_bytes = 9007199254740995LL;
    t->ndiffs = 1;
    t->diffs = mg_xcalloc(1, sizeof *t->diffs);
    mgt_entry(&t->diffs[0], INT64_MAX, 9007199254740993LL, 3, 3, 1);
    mgt_frame(&t->diffs[0].frames[0], "f", "f.c", 1, BIN_CACHE, UINT64_MAX);
    t->diffs[0].lost_known = true;
    t->diffs[0].lost_size = 9007199254740993LL;
    t->diffs[0].lost_count = 1;
    mgt_base(t, MG_BASE_SAME, 9007199254740993LL, 0, INT64_MAX, 1, 0);
    t->baseline.tol_known = true;
    t->baseline.tol[MG_M_LEAK].absolute = INT64_MAX;

    char err[512] = "", diff[256] = "";
    char *path = mgt_tmp_path("exact.json");
    CU_ASSERT_EQUAL_FATAL(mg_report_json_write(&run, path, err, sizeof err), 0);
    char *text = mgt_slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"leaked_bytes\":\t9007199254740993,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"peak_bytes\":\t9223372036854775807,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"net_bytes\":\t-9223372036854775807,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"value\":\t9007199254740992,"));
    int rc = mg_report_json_read(path, &back, err, sizeof err);
    if (rc) fprintf(stderr, "\nread: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    bool differs = run_differs(&run, &back, diff, sizeof diff);
    if (differs) fprintf(stderr, "\nround trip changed %s\n", diff);
    CU_ASSERT_FALSE(differs);
    CU_ASSERT_EQUAL(back.tests[0].leaked_bytes, 9007199254740993LL);
    CU_ASSERT_EQUAL(back.tests[0].budget.peak_bytes.value, INT64_MAX);
    CU_ASSERT_EQUAL(back.tests[0].diffs[0].size, INT64_MAX);
    CU_ASSERT_EQUAL(back.tests[0].diffs[0].frames[0].address, UINT64_MAX);
    CU_ASSERT_EQUAL(back.tests[0].baseline.tol[MG_M_LEAK].absolute, INT64_MAX);
    /* One off at 2^53 + 1 is noticed (a double could not tell). */
    back.tests[0].leaked_bytes--;
    CU_ASSERT_TRUE(run_differs(&run, &back, diff, sizeof diff));
    back.tests[0].leaked_bytes++;
    char *again = mgt_tmp_path("exact2.json");
    CU_ASSERT_EQUAL(mg_report_json_write(&back, again, err, sizeof err), 0);
    char *text2 = mgt_slurp(again);
    CU_ASSERT(text2 && strcmp(text, text2) == 0);
    free(text);
    free(text2);
    free(again);
    free(path);
    mg_run_free_contents(&back);
    mg_run_free_contents(&run);
}

#define DOC2_HEAD "{\"schema_version\": 2, \"tool\": \"memgate\", \"tests\": ["
#define BUDGET2                                                                             \
    "{\"leak_bytes\": " LIMIT ", \"object_growth\": " LIMIT ", \"lost_bytes\": " LIMIT         \
    ", \"net_bytes\": " LIMIT ", \"net_blocks\": " LIMIT ", \"peak_bytes\": " LIMIT "}"
#define FIGS2                                                                               \
    "\"leaked_bytes\": 0, \"object_growth\": 0, \"lost_bytes\": null, \"lost_blocks\": null, " \
    "\"net_bytes\": -3, \"net_blocks\": null, \"peak_bytes\": 0, \"allocations\": 0, "
#define TEST2 "{\"suite\": \"s\", \"name\": \"t\", \"status\": \"pass\", \"budget\": " BUDGET2 ", "

/* Schema 2 documents must have the keys of the metric table; unknown figures are null
 * and read back as not measured; only net figures may be negative. Schema 1 documents
 * (before lost and net figures, when leak and growth were net figures) still read. */
static void test_json_schema_versions(void) {
    char *path = mgt_tmp_path("v2.json");
    char err[512] = "";
    mg_run run;
    CU_ASSERT_EQUAL_FATAL(mgt_spit(path, DOC2_HEAD TEST2 FIGS2 "\"kind\": \"suite\"}]}"), 0);
    int rc = mg_report_json_read(path, &run, err, sizeof err);
    if (rc) fprintf(stderr, "\nv2: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const mg_test_result *t = &run.tests[0];
    CU_ASSERT_EQUAL(t->known, MG_M_ALL & ~(MG_M_BIT(MG_M_LOST_BYTES) | MG_M_BIT(MG_M_LOST_BLOCKS) |
                                           MG_M_BIT(MG_M_NET_BLOCKS)));
    CU_ASSERT_EQUAL(t->net_bytes, -3);
    CU_ASSERT_EQUAL(t->kind, MG_KIND_SUITE);
    CU_ASSERT_EQUAL(t->isolation, MG_ISO_TEST);
    CU_ASSERT_FALSE(run.interrupted);
    CU_ASSERT_EQUAL(run.nwarnings, 0);
    /* Written again, the unknown figures stay null. */
    CU_ASSERT_EQUAL_FATAL(mg_report_json_write(&run, path, err, sizeof err), 0);
    char *text = mgt_slurp(path);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"lost_bytes\":\tnull,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"net_blocks\":\tnull,"));
    CU_ASSERT_PTR_NULL(strstr(text, "\"interrupted\""));
    free(text);
    mg_run_free_contents(&run);

    expect_read_error(DOC2_HEAD TEST2 "\"leaked_bytes\": 0, \"object_growth\": 0, "
                      "\"peak_bytes\": 0, \"allocations\": 0}]}",
                      "tests[0].lost_bytes", "missing");
    expect_read_error(DOC2_HEAD "{\"suite\": \"s\", \"name\": \"t\", \"status\": \"pass\", "
                      FIGS2 "\"budget\": " BUDGET "}]}",
                      "tests[0].budget.lost_bytes", "missing");
    expect_read_error(DOC2_HEAD TEST2 "\"leaked_bytes\": -1, \"object_growth\": 0, "
                      "\"lost_bytes\": null, \"lost_blocks\": null, \"net_bytes\": 0, "
                      "\"net_blocks\": 0, \"peak_bytes\": 0, \"allocations\": 0}]}",
                      "tests[0].leaked_bytes", "-1 is out of range");
    expect_read_error(DOC2_HEAD TEST2 FIGS2 "\"kind\": \"fixture\"}]}", "tests[0].kind",
                      "\"test\" or \"suite\"");
    expect_read_error(DOC2_HEAD TEST2 FIGS2 "\"isolation\": 1}]}", "tests[0].isolation",
                      "string");
    expect_read_error(DOC2_HEAD TEST2 FIGS2 "\"warmups\": -1}]}", "tests[0].warmups",
                      "out of range");
    expect_read_error(DOC2_HEAD TEST2 FIGS2 "\"notes\": [\"a\", 2]}]}", "tests[0].notes[1]",
                      "string");
    expect_read_error(DOC2_HEAD TEST2 FIGS2 "\"violations\": [\"lost_blocks\"]}]}",
                      "tests[0].violations", "net_bytes, net_blocks, peak_bytes");
    expect_read_error(DOC2_HEAD TEST2 FIGS2 "\"diffs\": [{\"size\": 1, \"size_diff\": 1, "
                      "\"count\": 1, \"count_diff\": 1, \"lost_size\": 1, \"lost_count\": null, "
                      "\"traceback\": []}]}]}",
                      "tests[0].diffs[0].lost_count", "both null or both set");
    expect_read_error(DOC2_HEAD TEST2 FIGS2 "\"diffs\": [{\"size\": 1, \"size_diff\": 1, "
                      "\"count\": 1, \"count_diff\": 1, \"culprit\": 1, "
                      "\"traceback\": [{\"function\": \"f\"}]}]}]}",
                      "tests[0].diffs[0].culprit", "not the index of a frame");
    expect_read_error(DOC2_HEAD "], \"warnings\": [3]}", "warnings[0]", "string");
    expect_read_error(DOC2_HEAD "], \"interrupted\": \"yes\"}", "interrupted", "true or false");
    expect_read_error("{\"schema_version\": 3, \"tool\": \"memgate\", \"tests\": []}",
                      "schema_version", "newer than this memgate understands (2)");

    /* Schema 1: no lost or net keys, a net leak below 0, no allocations. */
    CU_ASSERT_EQUAL_FATAL(mgt_spit(path, DOC_HEAD TEST_HEAD "\"status\": \"pass\", "
                                         "\"peak_bytes\": 0, \"budget\": " BUDGET "}]}"),
                          0);
    rc = mg_report_json_read(path, &run, err, sizeof err);
    if (rc) fprintf(stderr, "\nv1: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    t = &run.tests[0];
    /* Its leak and growth were net figures: the net figures get them too. */
    CU_ASSERT_EQUAL(t->known, MG_M_BIT(MG_M_LEAK) | MG_M_BIT(MG_M_GROWTH) | MG_M_BIT(MG_M_PEAK) |
                                  MG_M_BIT(MG_M_NET_BYTES) | MG_M_BIT(MG_M_NET_BLOCKS));
    CU_ASSERT_EQUAL(t->budget.net_bytes.value, MG_UNLIMITED);
    CU_ASSERT_EQUAL(t->budget.net_bytes.source, MG_SRC_BUILTIN);
    mg_run_free_contents(&run);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(path, DOC_HEAD "{\"suite\": \"s\", \"name\": \"t\", "
                                         "\"leaked_bytes\": -64, \"object_growth\": -1, "
                                         "\"status\": \"pass\", \"peak_bytes\": 0, "
                                         "\"budget\": " BUDGET "}]}"),
                          0);
    rc = mg_report_json_read(path, &run, err, sizeof err);
    if (rc) fprintf(stderr, "\nv1: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* Negative net figures are net figures, not leaks. */
    t = &run.tests[0];
    CU_ASSERT_EQUAL(t->net_bytes, -64);
    CU_ASSERT_EQUAL(t->net_blocks, -1);
    CU_ASSERT_FALSE(mg_test_known(t, MG_M_LEAK));
    CU_ASSERT_FALSE(mg_test_known(t, MG_M_GROWTH));
    CU_ASSERT_TRUE(mg_test_known(t, MG_M_NET_BYTES));
    /* What was read is written as schema 2, and that reads back (and writes) the same. */
    char *again = mgt_tmp_path("v1-again.json"), *third = mgt_tmp_path("v1-third.json");
    CU_ASSERT_EQUAL_FATAL(mg_report_json_write(&run, again, err, sizeof err), 0);
    mg_run back;
    rc = mg_report_json_read(again, &back, err, sizeof err);
    if (rc) fprintf(stderr, "\nv1 written again: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(back.tests[0].known, t->known);
    CU_ASSERT_EQUAL(back.tests[0].net_bytes, -64);
    CU_ASSERT_EQUAL_FATAL(mg_report_json_write(&back, third, err, sizeof err), 0);
    char *a = mgt_slurp(again), *b = mgt_slurp(third);
    CU_ASSERT(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    free(again);
    free(third);
    mg_run_free_contents(&back);
    mg_run_free_contents(&run);
    free(path);
}

static void test_write_errors(void) {
    mg_run run;
    make_run(&run);
    char err[512];

    /* A directory that does not exist. */
    char *nodir = mgt_tmp_path("no/such/dir/report.json");
    err[0] = '\0';
    CU_ASSERT_EQUAL(mg_report_json_write(&run, nodir, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, nodir));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "JSON report"));
    err[0] = '\0';
    CU_ASSERT_EQUAL(mg_report_junit_write(&run, nodir, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, nodir));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "JUnit report"));

    /* The target is a directory: the temporary file is written, the rename fails, and
     * the temporary file must not be left behind. */
    char *dir = mgt_tmp_path("is-a-dir");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(mg_report_json_write(&run, dir, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, dir));
    CU_ASSERT_EQUAL(mg_report_junit_write(&run, dir, err, sizeof err), -1);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "is-a-dir"), 0);

    /* A successful write replaces an old report and leaves no temporary file. */
    char *path = mgt_tmp_path("replace.json");
    CU_ASSERT_EQUAL(mgt_spit(path, "old"), 0);
    CU_ASSERT_EQUAL(mg_report_json_write(&run, path, err, sizeof err), 0);
    char *text = mgt_slurp(path);
    CU_ASSERT(text && strncmp(text, "{", 1) == 0);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "replace.json"), 0);

    free(text);
    free(path);
    free(dir);
    free(nodir);
    mg_run_free_contents(&run);
}

/* ---- JUnit --------------------------------------------------------------------- */

static void test_junit_schema(void) {
    mg_run run;
    make_run(&run);
    char err[512] = "", *path = mgt_tmp_path("schema.xml");
    CU_ASSERT_EQUAL_FATAL(mg_report_junit_write(&run, path, err, sizeof err), 0);
    char *vendored = mg_xasprintf("%s/tests/golden/junit-10.xsd", MG_SOURCE_DIR);
    CU_ASSERT_TRUE(mgt_xmllint_validates(vendored, path));

    /* Beside a checkout of the project, also check against the shared original and
     * that the vendored copy has not drifted from it. */
    char *shared = mg_xasprintf("%s/../shared/schemas/junit-10.xsd", MG_SOURCE_DIR);
    if (access(shared, R_OK) == 0) {
        CU_ASSERT_TRUE(mgt_xmllint_validates(shared, path));
        char *a = mgt_slurp(shared), *b = mgt_slurp(vendored);
        CU_ASSERT(a && b && strcmp(a, b) == 0);
        free(a);
        free(b);
    }

    /* The validator must reject what the schema forbids, or this test proves nothing. */
    char *bad = mgt_tmp_path("bad.xml");
    CU_ASSERT_EQUAL(mgt_spit(bad, "<?xml version=\"1.0\"?><testsuites><testsuite name=\"s\" "
                                  "tests=\"1\" failures=\"0\" errors=\"0\"><testcase name=\"t\" "
                                  "file=\"t.c\"/></testsuite></testsuites>\n"),
                    0);
    fprintf(stderr, "\n(the next xmllint failure is expected)");
    CU_ASSERT_FALSE(mgt_xmllint_validates(vendored, bad));

    /* An empty run is a valid document too. */
    mg_run empty = {0};
    CU_ASSERT_EQUAL(mg_report_junit_write(&empty, path, err, sizeof err), 0);
    CU_ASSERT_TRUE(mgt_xmllint_validates(vendored, path));

    free(bad);
    free(shared);
    free(vendored);
    free(path);
    mg_run_free_contents(&run);
}

static void test_junit_content(void) {
    mg_run run;
    make_run(&run);
    char *x = render_junit(&run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);

    /* Structure: a testsuite per (binary, suite) in first-appearance order. */
    CU_ASSERT_EQUAL(mgt_count_of(x, "<testsuite "), 4);
    const char *s1 = strstr(x, "<testsuite name=\"core\""),
               *s2 = strstr(x, "<testsuite name=\"cache\""),
               *s3 = strstr(x, "<testsuite name=\"parser\""),
               *s4 = s2 ? strstr(s2 + 1, "<testsuite name=\"cache\"") : NULL;
    CU_ASSERT(s1 && s2 && s3 && s4 && s1 < s2 && s2 < s3 && s3 < s4);
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testsuite name=\"cache\" tests=\"4\" failures=\"2\" "
                                     "errors=\"1\" skipped=\"0\" time=\"1.820\" "
                                     "timestamp=\"2026-11-21T09:40:00Z\" hostname=\"ci-host\" "
                                     "file=\"" BIN_CACHE "\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testsuites name=\"memgate\" tests=\"9\" failures=\"2\" "
                                     "errors=\"3\" time=\"12.500\">"));
    CU_ASSERT_EQUAL(mgt_count_of(x, "<testcase "), 9);
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testcase classname=\"cache\" name=\"(suite)\" "));
    /* The interrupted run and its warnings: in each testsuite's properties (testsuites
     * has none in the schema). */
    CU_ASSERT_EQUAL(mgt_count_of(x, "<properties>\n      <property name=\"interrupted\" "
                                    "value=\"true\"/>\n      <property name=\"warning\" "
                                    "value=\"baseline ci/memgate-baseline.json is in the old "
                                    "format\"/>\n    </properties>\n"),
                    4);
    CU_ASSERT_EQUAL(mgt_count_of(x, "<failure "), 2);
    CU_ASSERT_EQUAL(mgt_count_of(x, "<error "), 3);
    CU_ASSERT_EQUAL(mgt_count_of(x, "<skipped "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testcase classname=\"cache\" name=\"grows\" time=\"0.250\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "type=\"crash\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "type=\"timeout\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<skipped message=\"inactive test\"/>"));

    /* The failure message: what broke, measured vs budget, and the top traceback's
     * culprit frame (frames[culprit], not the allocator wrapper in frames[0]). */
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<failure message=\"leak 4.0 KiB (4100 B) &gt; budget "
                                     "4.0 KiB (4096 B) (file-test: budgets.json: "
                                     "tests[&quot;cache/*&quot;]); growth 3 &gt; budget 0 (cli) at "
                                     "cache_put (cache.c:88)\" type=\"memory-budget\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "message=\"peak 40.0 MiB &gt; budget 32.0 MiB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "type=\"error\">exited with code 3 outside a test"));

    /* Escaping: no raw markup from names or symbols, no control characters, no invalid
     * UTF-8; quotes escaped in attributes; carriage returns kept as references. */
    CU_ASSERT_PTR_NULL(strstr(x, "vector<int"));
    CU_ASSERT_PTR_NULL(strstr(x, "<t>"));
    CU_ASSERT_PTR_NULL(strstr(x, "<0x0>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "big_buffer&lt;char&amp;&gt; (buf.c:7)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "name=\"peaks &quot;q&quot; &amp; &lt;t&gt; &apos;a&apos; "
                                     "na\xC3\xAFve \xE2\x9C\x93 \xEF\xBF\xBD\xEF\xBF\xBD[31m\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "bad bytes \xEF\xBF\xBD\xEF\xBF\xBD here&#13;\n"));
    for (const unsigned char *p = (const unsigned char *)x; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0xFF || *p == 0xFE) {
            CU_FAIL("raw control character or invalid byte in the JUnit XML");
            break;
        }
    }

    /* The full memory report goes to system-out, captured output to system-err. */
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<system-out>cache/grows (" BIN_CACHE ")\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "peak 19.5 KiB &lt;= budget 1.0 MiB (annotation: "
                                     "test_cache.c:42)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "leak 100 B, budget unlimited (annotation: test_parser.c:10)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<system-err>cache: warming up\n</system-err>"));
    /* Every measured figure, the unmeasured ones not at all; suppressed memory, notes,
     * warm-ups and isolation. */
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "growth 3 &gt; budget 0 (cli)\n"
                                     "lost 4.0 KiB, budget unlimited (builtin)\n"
                                     "lost blocks: 1\nnet 4.0 KiB, budget unlimited (builtin)\n"
                                     "net blocks 2, budget unlimited (builtin)\n"
                                     "peak 19.5 KiB &lt;= budget 1.0 MiB (annotation: "
                                     "test_cache.c:42)\nallocations: 12\n"
                                     "suppressed: 64 B in 2 blocks\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "net -100 B &lt;= budget 1.0 MiB (file-defaults: "
                                     "budgets.json: defaults)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "note: threads were still running after the test\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "peak 512 B, budget unlimited (builtin)\nwarm-ups: 2\n"
                                     "isolation: suite\n</system-out>"));
    CU_ASSERT_EQUAL(mgt_count_of(x, "allocations: "), 7); /* the suite entry's is unknown */
    CU_ASSERT_EQUAL(mgt_count_of(x, "lost blocks: "), 1);
    CU_ASSERT_PTR_NULL(strstr(x, " file=\"t"));  /* no testcase@file */
    CU_ASSERT_PTR_NULL(strstr(x, " line="));     /* no testcase@line */

    free(x);
    mg_run_free_contents(&run);
}

/* Long captured output keeps only its tail, cut at a character boundary. */
static void test_junit_long_output(void) {
    mg_run run = {0};
    mg_test_result *t = mgt_test(&run, BIN_CACHE, "s", "chatty", MG_ST_CRASH, 1);
    t->signal = 6;
    size_t n = 100 * 1024;
    t->output = mg_xcalloc(n + 1, 1);
    for (size_t i = 0; i + 3 <= n; i += 3) memcpy(t->output + i, "\xE2\x9C\x93", 3); /* check marks */
    memcpy(t->output + n - 4, "END\n", 4);
    char *x = render_junit(&run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "bytes of earlier output omitted]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "END\n</system-err>"));
    CU_ASSERT(strlen(x) < 80 * 1024);
    CU_ASSERT_PTR_NULL(strstr(x, "\xEF\xBF\xBD")); /* no character was split */
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "message=\"killed by SIGABRT (signal 6)\" type=\"crash\""));
    free(x);
    mg_run_free_contents(&run);
}

/* ---- console ------------------------------------------------------------------- */

static char *line_of(const mg_test_result *t, size_t index, size_t total, bool color) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    mg_console_opts opts = {color, 3, 8, false, MG_GROUP_TRACEBACK, false};
    mg_console_test_line(out, t, index, total, &opts);
    fclose(out);
    return buf;
}

static void expect_line(const mg_test_result *t, size_t index, size_t total, bool color,
                        const char *want) {
    char *got = line_of(t, index, total, color);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0) fprintf(stderr, "\n  want: %s  got:  %s", want, got);
    free(got);
}

static void test_console_line(void) {
    mg_run run;
    make_run(&run);
    expect_line(&run.tests[0], 3, 12, false,
                "[ 3/12] PASS    core/alloc_free  leak 0 B  growth 0  peak 12.0 KiB  0.01 s\n");
    /* Lost when it was measured, net blocks because they differ from the growth (net
     * bytes equal the leak: not shown), suppressed memory when there is some. */
    expect_line(&run.tests[1], 2, 8, false,
                "[2/8] FAIL    cache/grows  leak 4100 B > 4096 B  growth 3 > 0  lost 4.0 KiB  "
                "net blocks 2  peak 19.5 KiB  suppressed 64 B in 2 blocks  0.25 s\n");
    expect_line(&run.tests[2], 3, 8, false,
                "[3/8] FAIL    cache/peaks \"q\" & <t> 'a' na\xC3\xAFve \xE2\x9C\x93 ??[31m  "
                "leak 0 B  growth 0  peak 40.0 MiB > 32.0 MiB, > baseline 30.0 MiB  "
                "allocations 3 > baseline 2  2 assertions failed  1.50 s\n");
    expect_line(&run.tests[3], 4, 8, false,
                "[4/8] CRASH   parser/segv  killed by SIGSEGV (signal 11)  0.03 s\n");
    expect_line(&run.tests[4], 5, 8, false,
                "[5/8] TIMEOUT parser/hangs  timed out after 10.0 s  10.00 s\n");
    expect_line(&run.tests[6], 7, 8, false, "[7/8] SKIP    parser/inactive  inactive test\n");
    /* A net budget shows the net figure, negative here. */
    expect_line(&run.tests[7], 8, 9, false,
                "[8/9] PASS    cache/other_binary  leak 100 B  growth 0  net -100 B  peak 300 B  "
                "0.12 s\n");
    expect_line(&run.tests[8], 9, 9, false,
                "[9/9] PASS    cache/(suite)  leak 0 B  growth 0  peak 512 B  0.05 s\n");
    /* A net figure over its budget shows both, like the other limits. */
    run.tests[7].net_bytes = 2 * 1024 * 1024;
    run.tests[7].violations = MG_M_BIT(MG_M_NET_BYTES);
    expect_line(&run.tests[7], 8, 9, false,
                "[8/9] PASS    cache/other_binary  leak 100 B  growth 0  net 2.0 MiB > 1.0 MiB  "
                "peak 300 B  0.12 s\n");
    /* Without a net budget and equal to the leak, the net figure is not shown. */
    run.tests[7].budget.net_bytes.value = MG_UNLIMITED;
    run.tests[7].violations = 0;
    run.tests[7].net_bytes = 100;
    expect_line(&run.tests[7], 8, 9, false,
                "[8/9] PASS    cache/other_binary  leak 100 B  growth 0  peak 300 B  0.12 s\n");
    expect_line(&run.tests[0], 1, 8, true,
                "[1/8] \033[32mPASS\033[0m    core/alloc_free  leak 0 B  growth 0  peak 12.0 KiB"
                "  0.01 s\n");
    char *c = line_of(&run.tests[1], 2, 8, true);
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "\033[31mFAIL\033[0m"));
    free(c);
    mg_run_free_contents(&run);
}

static char *summary_of(const mg_run *run, const mg_console_opts *opts) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    mg_console_summary(out, run, opts);
    fclose(out);
    return buf;
}

static void test_console_summary(void) {
    mg_run run;
    make_run(&run);
    mg_console_opts opts = {false, 3, 8, false, MG_GROUP_TRACEBACK, false};
    char *s = summary_of(&run, &opts);

    /* The closing line, exactly, and last. */
    const char *last = "memgate: 3 passed, 2 failed, 1 crashed, 1 timed out, 1 error, 1 skipped\n";
    size_t sl = strlen(s), ll = strlen(last);
    CU_ASSERT(sl >= ll && strcmp(s + sl - ll, last) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "memgate: ran 9 tests in 12.50 s\n"));
    /* Run warnings and the interruption, before the closing line. */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "memgate: warning: baseline ci/memgate-baseline.json is in "
                                     "the old format\nmemgate: the run was interrupted; this "
                                     "covers the 9 tests that finished\nmemgate: 3 passed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  note: threads were still running after the test\n"));
    CU_ASSERT_PTR_NULL(strchr(s, '\033'));

    /* What broke, measured vs budget with its source; tracebacks innermost first. */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  leak 4.0 KiB (4100 B) > budget 4.0 KiB (4096 B) "
                                     "(file-test: budgets.json: tests[\"cache/*\"])\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  growth 3 > budget 0 (cli)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  peak 40.0 MiB > budget 32.0 MiB (file-defaults: "
                                     "budgets.json: defaults)\n"));
    /* The header names the culprit (the project's frame); a long traceback keeps its
     * innermost frames and its outermost (the test's own), with a gap between. */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  tracebacks of the growth (top 3 of 4):\n"
                                     "    +4.0 KiB in 1 block (lost 4.0 KiB in 1 block), allocated by "
                                     "cache_put (cache.c:88)\n"
                                     "      " CXX_SYMBOL " (vector.tcc:512)\n"
                                     "      cache_put (cache.c:88)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "      level_4 (deep.c:104)\n      ... 4 more frames\n"
                                     "      level_9 (deep.c:109)\n      level_10 (deep.c:110)\n"));
    CU_ASSERT_PTR_NULL(strstr(s, "level_5"));   /* max_frames */
    CU_ASSERT_PTR_NULL(strstr(s, "cache_evict")); /* max_tracebacks */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "    +48 B in 2 blocks (still reachable)\n      ?? (libfoo.so.1+0x1234)\n"
                                     "      ?? (0xdeadbeef)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "    32.0 MiB in 1 block\n      big_buffer<char&> (buf.c:7)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "note: these tracebacks come from a traced re-run"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "note: the traced re-run did not reproduce"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  test_cache.c:57: CU_ASSERT_EQUAL(cache_size(c),3)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nCRASH   parser/segv  (" BIN_PARSER ", 0.03 s)\n"
                                     "  killed by SIGSEGV (signal 11)\n"
                                     "  output (last 10 of 15 lines):\n  | line 6\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  | ?[31mred?[0m text\n  | bad bytes ?? here?\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "  exited with code 3 outside a test\n  output:\n"
                                     "  | fatal: cannot open db\n"));
    CU_ASSERT_PTR_NULL(strstr(s, "line 5\n"));       /* only the tail */
    CU_ASSERT_PTR_NULL(strstr(s, "alloc_free"));     /* passing tests stay quiet */
    CU_ASSERT_PTR_NULL(strstr(s, "inactive"));
    CU_ASSERT_PTR_NULL(strstr(s, "warming up"));     /* output only for crash/timeout/error */
    free(s);

    /* Fewer tracebacks and frames on request; verbose lists passing tests. */
    mg_console_opts small = {true, 1, 1, true, MG_GROUP_TRACEBACK, false};
    s = summary_of(&run, &small);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "tracebacks of the growth (top 1 of 4)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "      ... 10 more frames\n"));
    CU_ASSERT_PTR_NULL(strstr(s, "      cache_put (cache.c:88)\n")); /* named in the header only */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "core/alloc_free"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\033[1;31mCRASH\033[0m"));
    free(s);

    /* Only non-zero extra counts are listed; an empty run still closes. */
    mg_run empty = {0};
    s = summary_of(&empty, NULL);
    CU_ASSERT_STRING_EQUAL(s, "\nmemgate: ran 0 tests in 0.00 s\nmemgate: 0 passed, 0 failed\n");
    free(s);
    mg_run_free_contents(&run);
}

/* A test that failed only because it regressed against the baseline, in every
 * reporter: the regressed figures measured vs baseline (with the growth, its share and
 * the tolerance it broke where there is room), no budget wording, no duplicated
 * message, and the baseline line before the closing line. */
static void test_baseline_regression(void) {
    mg_run run = {0};
    run.baseline_path = mg_xstrdup("base.json");
    mg_test_result *t = mgt_test(&run, BIN_CACHE, "cache", "slower", MG_ST_FAIL, 0.5);
    t->leaked_bytes = 4100;
    t->peak_bytes = 1258291; /* 1.2 MiB */
    t->allocations = 130;
    mgt_limit(&t->budget.leak_bytes, MG_UNLIMITED, MG_SRC_CLI, NULL);
    mgt_base(t, MG_BASE_REGRESSED, 4096, 0, 1048576, 100,
             MG_VIOL_LEAK | MG_VIOL_PEAK | MG_VIOL_ALLOCS);
    t->baseline.tol_known = true; /* the defaults: leak exact, peak and allocations 10% */
    t->baseline.tol[MG_M_PEAK].percent = 10;
    t->baseline.tol[MG_M_ALLOCS].percent = 10;
    t->message = mg_xstrdup("leak 4.0 KiB (4100 B) > baseline 4.0 KiB (4096 B); peak 1.2 MiB > "
                            "baseline 1.0 MiB + 10%; allocations 130 > baseline 100 + 10%");
    t = mgt_test(&run, BIN_CACHE, "cache", "fresh", MG_ST_PASS, 0.5);
    mgt_base(t, MG_BASE_NEW, 0, 0, 0, 0, 0);
    t = mgt_test(&run, BIN_CACHE, "cache", "fresh2", MG_ST_PASS, 0.5);
    mgt_base(t, MG_BASE_NEW, 0, 0, 0, 0, 0);

    expect_line(&run.tests[0], 1, 3, false,
                "[1/3] FAIL    cache/slower  leak 4100 B > baseline 4096 B  growth 0  "
                "peak 1.2 MiB > baseline 1.0 MiB  allocations 130 > baseline 100  0.50 s\n");
    expect_line(&run.tests[1], 2, 3, false,
                "[2/3] PASS    cache/fresh  leak 0 B  growth 0  peak 0 B  0.50 s\n");

    mg_console_opts opts = {false, 3, 8, false, MG_GROUP_TRACEBACK, false};
    char *s = summary_of(&run, &opts);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nFAIL    cache/slower  (" BIN_CACHE ", 0.50 s)\n"
                                     "  leak +4 B (+0.1%) > tolerance 0 B (baseline 4096 B, "
                                     "now 4100 B)\n"
                                     "  peak +204.8 KiB (+20.0%) > tolerance 10 % (baseline "
                                     "1.0 MiB, now 1.2 MiB)\n"
                                     "  allocations +30 (+30.0%) > tolerance 10 % (baseline "
                                     "100, now 130)\n"
                                     "  no tracebacks were recorded\n"));
    CU_ASSERT_PTR_NULL(strstr(s, "+ 10%"));  /* the message is not repeated */
    CU_ASSERT_PTR_NULL(strstr(s, "budget")); /* no limit broke */
    const char *tail = "memgate: ran 3 tests in 0.00 s\n"
                       "baseline: 2 new tests, 0 removed\n"
                       "memgate: 2 passed, 1 failed\n";
    size_t sl = strlen(s), tl = strlen(tail);
    CU_ASSERT(sl >= tl && strcmp(s + sl - tl, tail) == 0);
    if (!(sl >= tl && strcmp(s + sl - tl, tail) == 0)) fprintf(stderr, "\ngot:\n%s", s);
    free(s);

    /* Many removed keys: the first ten, then a count; names are cleaned for the
     * terminal. A single new test reads in the singular. */
    run.tests[2].baseline.state = MG_BASE_NONE;
    run.nbaseline_removed = 12;
    run.baseline_removed = mg_xcalloc(12, sizeof *run.baseline_removed);
    for (int i = 0; i < 12; i++) run.baseline_removed[i] = mg_xasprintf("bin:s/gone%02d", i);
    free(run.baseline_removed[0]);
    run.baseline_removed[0] = mg_xstrdup("bin:s/\x1B[31mred");
    s = summary_of(&run, &opts);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nbaseline: 1 new test, 12 removed (bin:s/?[31mred, "
                                     "bin:s/gone01, bin:s/gone02, bin:s/gone03, bin:s/gone04, "
                                     "bin:s/gone05, bin:s/gone06, bin:s/gone07, bin:s/gone08, "
                                     "bin:s/gone09, ... 2 more)\nmemgate: 2 passed, 1 failed\n"));
    free(s);

    /* JUnit: the regression is the failure, of its own type, and system-out shows the
     * baseline's figures. */
    char *x = render_junit(&run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<failure message=\"leak +4 B (+0.1%) &gt; tolerance 0 B "
                                     "(baseline 4096 B, now 4100 B); peak +204.8 KiB (+20.0%) "
                                     "&gt; tolerance 10 % (baseline 1.0 MiB, now 1.2 MiB); "
                                     "allocations +30 (+30.0%) &gt; tolerance 10 % (baseline "
                                     "100, now 130)\" type=\"memory-regression\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "baseline (regressed): leak 4.0 KiB, growth 0, peak 1.0 MiB, "
                                     "allocations 100\n  leak +4 B (+0.1%) &gt; tolerance 0 B "
                                     "(baseline 4096 B, now 4100 B)\n  peak +204.8 KiB "
                                     "(+20.0%) &gt; tolerance 10 % (baseline 1.0 MiB, now 1.2 "
                                     "MiB)\n  allocations +30 (+30.0%) &gt; tolerance 10 % "
                                     "(baseline 100, now 130)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "baseline: new test (not in the baseline)\n"));
    free(x);

    /* Without a baseline there is no baseline line at all. */
    free(run.baseline_path);
    run.baseline_path = NULL;
    s = summary_of(&run, &opts);
    CU_ASSERT_PTR_NULL(strstr(s, "baseline:"));
    free(s);
    mg_run_free_contents(&run);
}

/* ---- shared helpers ------------------------------------------------------------ */

static void test_utf8(void) {
    unsigned cp = 0;
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"A", &cp), 1);
    CU_ASSERT_EQUAL(cp, 'A');
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xC3\xAF", &cp), 2);
    CU_ASSERT_EQUAL(cp, 0xEF);
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xE2\x9C\x93", &cp), 3);
    CU_ASSERT_EQUAL(cp, 0x2713);
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xF0\x9F\x98\x80", &cp), 4);
    CU_ASSERT_EQUAL(cp, 0x1F600);
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xC0\xAF", NULL), 0);     /* overlong */
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xE0\x80\xAF", NULL), 0); /* overlong */
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xED\xA0\x80", NULL), 0); /* surrogate */
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xF4\x90\x80\x80", NULL), 0); /* >10FFFF */
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\xE2\x9C", NULL), 0);     /* cut short */
    CU_ASSERT_EQUAL(mg_utf8_seq((const unsigned char *)"\x80", NULL), 0);
    CU_ASSERT_PTR_NULL(mg_utf8_fix("plain na\xC3\xAFve"));
    char *fixed = mg_utf8_fix("a\xFF" "b\xE2\x9C");
    CU_ASSERT_STRING_EQUAL(fixed, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD");
    free(fixed);
    CU_ASSERT_STRING_EQUAL(mg_report_signal_name(SIGABRT), "SIGABRT");
    CU_ASSERT_PTR_NULL(mg_report_signal_name(0));
}

MGT_MAIN({
    static const mgt_case json[] = {{"roundtrip", test_json_roundtrip},
                                    {"fields", test_json_fields},
                                    {"read_errors", test_json_read_errors},
                                    {"write_errors", test_write_errors},
                                    {"baseline", test_json_baseline},
                                    {"exact_ints", test_json_exact_ints},
                                    {"exact_roundtrip", test_json_exact_roundtrip},
                                    {"schema_versions", test_json_schema_versions},
                                    {NULL, NULL}};
    static const mgt_case junit[] = {{"schema", test_junit_schema},
                                     {"content", test_junit_content},
                                     {"long_output", test_junit_long_output},
                                     {NULL, NULL}};
    static const mgt_case console[] = {{"test_line", test_console_line},
                                       {"summary", test_console_summary},
                                       {"baseline_regression", test_baseline_regression},
                                       {NULL, NULL}};
    static const mgt_case golden[] = {{"console", test_golden_console},
                                      {"junit", test_golden_junit},
                                      {"json", test_golden_json},
                                      {NULL, NULL}};
    static const mgt_case common[] = {{"utf8_and_signals", test_utf8}, {NULL, NULL}};
    if (mgt_add_suite("report_json", json) || mgt_add_suite("report_junit", junit) ||
        mgt_add_suite("report_console", console) || mgt_add_suite("report_golden", golden) ||
        mgt_add_suite("report_common", common))
        return 2;
})
