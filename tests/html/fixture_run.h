/*
 * A fixed run for the HTML report tests (tests/unit/test_html.c and the headless
 * browser check in this directory): every status, budgets from every source, an
 * unlimited limit, a baseline with same/regressed/new tests and removed keys, a shard,
 * growth and peak tracebacks, assertion failures, captured output with colour codes,
 * and test names built to break a careless page: markup, a "</script>" that would end
 * the data element, script that marks the page when it runs, U+2028, invalid UTF-8 and
 * control characters.
 */
#ifndef MEMGATE_TESTS_HTML_FIXTURE_RUN_H
#define MEMGATE_TESTS_HTML_FIXTURE_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/mgtest_util.h"
#include "model.h"
#include "util.h"

/* Tests in the fixture, and how many of them have figures (pass or fail: a chart each). */
#define HFX_TESTS 11
#define HFX_CHARTS 7
#define HFX_PASS 3
#define HFX_FAIL 4
#define HFX_CRASH 1
#define HFX_TIMEOUT 1
#define HFX_ERROR 1
#define HFX_SKIP 1

/* Names that must never reach the page as markup. Each one, if it ran, would set
 * data-pwned on the root element; the browser check looks for it. */
#define HFX_XSS_SCRIPT "<script>document.documentElement.setAttribute('data-pwned','1')</script>"
#define HFX_XSS_BREAKOUT                                                                 \
    "x</script><script>document.documentElement.setAttribute('data-pwned','2')</script>"
#define HFX_XSS_IMG                                                                      \
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','3')\">"
/* Quotes, ampersand, U+2028 (a JavaScript line terminator), invalid UTF-8, ESC. */
#define HFX_ODD_NAME "odd \"q\" & 'a' \xE2\x80\xA8 line \xFF\xFE bytes \x1B[31m"
#define HFX_BASELINE "ci/memgate-baseline.json"

static inline mg_entry *hfx_entries(size_t n) { return mg_xcalloc(n, sizeof(mg_entry)); }

/* Fills run (zeroed here) with the fixture. Free with mg_run_free_contents. */
static inline void hfx_make_run(mg_run *run) {
    static const char cache[] = "./build/tests/test_cache", parser[] = "./build/tests/test_parser";
    memset(run, 0, sizeof *run);
    run->started_at = mg_xstrdup("2026-11-21T09:40:00Z");
    run->hostname = mg_xstrdup("ci-runner-07");
    run->duration_s = 14.25;
    run->shard = mg_xstrdup("2/4");
    run->baseline_path = mg_xstrdup(HFX_BASELINE);
    run->nbaseline_removed = 2;
    run->baseline_removed = mg_xcalloc(2, sizeof(char *));
    run->baseline_removed[0] = mg_xstrdup("test_cache:cache/retired");
    run->baseline_removed[1] = mg_xstrdup("test_parser:parser/<old>");

    mg_test_result *t = mgt_test(run, cache, "core", "alloc_free", MG_ST_PASS, 0.012);
    t->peak_bytes = 12288;
    t->allocations = 4;
    mgt_limit(&t->budget.peak_bytes, 64 * 1024, MG_SRC_FILE_DEFAULTS, "budgets.json: defaults");
    mgt_base(t, MG_BASE_SAME, 0, 0, 12288, 4, 0);

    /* Leak and growth over budget, with more frames than the page shows. */
    t = mgt_test(run, cache, "cache", "grows", MG_ST_FAIL, 0.25);
    t->leaked_bytes = 4100;
    t->object_growth = 3;
    t->peak_bytes = 20000;
    t->allocations = 12;
    mgt_limit(&t->budget.leak_bytes, 4096, MG_SRC_FILE_TEST, "budgets.json: tests[\"cache/*\"]");
    t->budget.object_growth.source = MG_SRC_CLI;
    mgt_limit(&t->budget.peak_bytes, 1024 * 1024, MG_SRC_ANNOTATION, "test_cache.c:42");
    t->violations = MG_VIOL_LEAK | MG_VIOL_GROWTH;
    mgt_base(t, MG_BASE_SAME, 4100, 3, 19000, 12, 0);
    t->ndiffs = 3;
    t->diffs = hfx_entries(3);
    mgt_entry(&t->diffs[0], 4096, 4096, 1, 1, 20);
    mgt_frame(&t->diffs[0].frames[0], "std::vector<int, std::allocator<int> >::_M_realloc_insert",
              "/usr/include/c++/12/bits/vector.tcc", 512, "/usr/lib/libstdc++.so.6",
              0x7f0012345678);
    mgt_frame(&t->diffs[0].frames[1], "cache_put", "/src/cache.c", 88, cache, 0x401a2b);
    for (unsigned k = 2; k < 20; k++) {
        char fn[32];
        snprintf(fn, sizeof fn, "level_%u", k);
        mgt_frame(&t->diffs[0].frames[k], fn, "/src/deep/deep.c", 100 + k, cache, 0x402000 + k);
    }
    mgt_entry(&t->diffs[1], 64, 48, 3, 2, 2);
    mgt_frame(&t->diffs[1].frames[0], "??", NULL, 0, "/lib/x86_64-linux-gnu/libfoo.so.1", 0x1234);
    mgt_frame(&t->diffs[1].frames[1], "??", NULL, 0, NULL, 0xdeadbeef);
    mgt_entry(&t->diffs[2], 0, -44, 0, -1, 1);
    mgt_frame(&t->diffs[2].frames[0], "cache_evict", "/src/cache.c", 120, cache, 0x401c00);
    t->traced = true;
    t->message = mg_xstrdup("leak and object growth over budget");
    t->output = mg_xstrdup("cache: warming up\ncache: 3 entries\n");

    /* Peak over budget and over the baseline, plus assertion failures. */
    t = mgt_test(run, cache, "cache", "peaks", MG_ST_FAIL, 1.5);
    t->peak_bytes = 40 * 1024 * 1024;
    t->allocations = 3;
    mgt_limit(&t->budget.peak_bytes, 32 * 1024 * 1024, MG_SRC_FILE_DEFAULTS,
              "budgets.json: defaults");
    t->violations = MG_VIOL_PEAK;
    mgt_base(t, MG_BASE_REGRESSED, 0, 0, 30 * 1024 * 1024, 3, MG_VIOL_PEAK);
    t->npeak_diffs = 2;
    t->peak_diffs = hfx_entries(2);
    mgt_entry(&t->peak_diffs[0], 33554432, 33554432, 1, 1, 2);
    mgt_frame(&t->peak_diffs[0].frames[0], "big_buffer<char&>", "/src/a&b/buf.c", 7, cache,
              0x403000);
    mgt_frame(&t->peak_diffs[0].frames[1], "test_peaks", "/src/test_cache.c", 55, cache, 0x403100);
    mgt_entry(&t->peak_diffs[1], 8388608, 8388608, 2, 2, 1);
    mgt_frame(&t->peak_diffs[1].frames[0], "scratch", "/src/test_cache.c", 56, cache, 0x403200);
    t->nfailures = 2;
    t->failures = mg_xcalloc(2, sizeof *t->failures);
    t->failures[0].file = mg_xstrdup("/src/test_cache.c");
    t->failures[0].line = 57;
    t->failures[0].condition = mg_xstrdup("CU_ASSERT_EQUAL(cache_size(c),3)");
    t->failures[1].file = mg_xstrdup("test_cache.c");
    t->failures[1].line = 60;
    t->failures[1].condition = mg_xstrdup("x < y && \"quoted\" != 'c'");

    /* Hostile names: a pass and a fail, so they reach the table, the sections and the
     * data blob. */
    t = mgt_test(run, cache, "xss", HFX_XSS_SCRIPT, MG_ST_PASS, 0.002);
    t->allocations = 1;
    t->peak_bytes = 32;
    mgt_base(t, MG_BASE_NEW, 0, 0, 0, 0, 0);
    t = mgt_test(run, cache, "xss", HFX_XSS_BREAKOUT, MG_ST_FAIL, 0.003);
    t->leaked_bytes = 16;
    t->object_growth = 1;
    t->peak_bytes = 16;
    t->allocations = 1;
    t->violations = MG_VIOL_LEAK | MG_VIOL_GROWTH;
    t->message = mg_xstrdup(HFX_XSS_IMG);
    mgt_base(t, MG_BASE_NEW, 0, 0, 0, 0, 0);
    t = mgt_test(run, cache, HFX_XSS_IMG, HFX_ODD_NAME, MG_ST_FAIL, 0.004);
    t->object_growth = 2;
    t->peak_bytes = 100;
    t->allocations = 2;
    t->violations = MG_VIOL_GROWTH;
    t->nfailures = 1;
    t->failures = mg_xcalloc(1, sizeof *t->failures);
    t->failures[0].file = mg_xstrdup("odd.c");
    t->failures[0].line = 3;
    t->failures[0].condition = mg_xstrdup(HFX_XSS_SCRIPT);
    t->output = mg_xstrdup(HFX_XSS_BREAKOUT "\n");
    mgt_base(t, MG_BASE_SAME, 0, 2, 100, 2, 0);

    /* A crash with coloured, CRLF and invalid UTF-8 output. */
    t = mgt_test(run, parser, "parser", "segv", MG_ST_CRASH, 0.03);
    t->signal = 11;
    t->allocations = 1;
    t->output = mg_xstrdup("parsing input.txt\r\n\x1B[31mfatal:\x1B[0m bad token \xFF at 3:7\n"
                           "Segmentation fault at <0x0>\n");

    t = mgt_test(run, parser, "parser", "hangs", MG_ST_TIMEOUT, 10.0);
    t->message = mg_xstrdup("timed out after 10.0 s");

    t = mgt_test(run, cache, "cache", "bad_exit", MG_ST_ERROR, 0.02);
    t->exit_code = 3;
    t->message = mg_xstrdup("exited with code 3 outside a test");
    t->output = mg_xstrdup("fatal: cannot open db\n");

    t = mgt_test(run, parser, "parser", "inactive", MG_ST_SKIP, 0);
    t->message = mg_xstrdup("inactive test");

    /* Unlimited leak, a growth entry within budget, and a pass below its baseline. */
    t = mgt_test(run, parser, "parser", "tokens", MG_ST_PASS, 0.125);
    mgt_limit(&t->budget.leak_bytes, MG_UNLIMITED, MG_SRC_ANNOTATION, "test_parser.c:10");
    mgt_limit(&t->budget.object_growth, 10, MG_SRC_ANNOTATION, "test_parser.c:10");
    mgt_limit(&t->budget.peak_bytes, 512 * 1024, MG_SRC_CLI, NULL);
    t->leaked_bytes = 100;
    t->object_growth = 1;
    t->peak_bytes = 300 * 1024;
    t->allocations = 2;
    mgt_base(t, MG_BASE_SAME, 100, 1, 350 * 1024, 3, 0);
    t->ndiffs = 1;
    t->diffs = hfx_entries(1);
    mgt_entry(&t->diffs[0], 100, 100, 1, 1, 1);
    mgt_frame(&t->diffs[0].frames[0], "intern", "/src/parser.c", 9, parser, 0x405000);
}

#endif
