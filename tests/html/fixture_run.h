/*
 * A fixed run for the HTML report tests (tests/unit/test_html.c and the headless
 * browser check in this directory): every status, budgets from every source, an
 * unlimited limit, a baseline with same/regressed/new tests and removed keys, a shard,
 * growth and peak tracebacks, assertion failures, captured output with colour codes,
 * and test names built to break a careless page: markup, a "</script>" that would end
 * the data element, script that marks the page when it runs, U+2028, invalid UTF-8 and
 * control characters.
 *
 * A second run, hfx_make_review_run(), is the report a new user reviewed: leaks of 22 B
 * and 683 B over a zero budget (bars must differ), a baseline-only regression, a suite's
 * own "(suite)" entries, suite isolation and warm-ups, net, lost and suppressed figures,
 * figures that were not measured, a traceback table longer than the few shown open,
 * culprit frames past the innermost frame (one deeper than the frames shown at first),
 * names long enough to wrap, run warnings and an interrupted run.
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
    t->diffs[0].culprit = 1; /* the project's frame, not libstdc++'s */
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

/* The review run: see the top of this file. Tests in registry order, and the order the
 * page lists them in (problems, passes, skips; registry order within each). */
#define HFX_REVIEW_TESTS 11
#define HFX_REVIEW_CHARTS 7
#define HFX_REVIEW_GROWTH_TBS 8 /* tracebacks of store/update_index_after_compaction */
static const size_t hfx_review_order[HFX_REVIEW_TESTS] = {2, 3, 5, 6, 7, 8, 0, 1, 4, 9, 10};
#define HFX_LONG_NAME "parse_very_long_header_with_continuation_lines_and_folding_enabled"
#define HFX_LONG_SUITE "network_protocol_handlers"

/* Fills run (zeroed here) with the review run. Free with mg_run_free_contents. */
static inline void hfx_make_review_run(mg_run *run) {
    static const char store[] = "./build/tests/test_store", net[] = "./build/tests/test_net";
    memset(run, 0, sizeof *run);
    run->started_at = mg_xstrdup("2026-12-02T16:05:09Z");
    run->hostname = mg_xstrdup("laptop");
    run->duration_s = 3.5;
    run->baseline_path = mg_xstrdup("memgate-baseline.json");
    run->interrupted = true;
    mg_run_add_warning(run, "2 tests of this run have the baseline key \"test_net:net/<dup>\"");
    mg_run_add_warning(run, "the baseline was written by memgate 0.9 (schema 1): lost and net "
                            "figures are not compared");

    /* 0: the store suite's own entry, in suite isolation. */
    mg_test_result *t = mgt_test(run, store, "store", "(suite)", MG_ST_PASS, 0.002);
    t->kind = MG_KIND_SUITE;
    t->isolation = MG_ISO_SUITE;
    t->peak_bytes = 2048;
    t->allocations = 2;
    mgt_base(t, MG_BASE_SAME, 0, 0, 2048, 2, 0);

    /* 1: warm-ups, and net figures that differ from the leak (a freed fixture). */
    t = mgt_test(run, store, "store", "open_close", MG_ST_PASS, 0.004);
    t->isolation = MG_ISO_SUITE;
    t->warmups = 2;
    t->peak_bytes = 4096;
    t->allocations = 5;
    mg_test_set(t, MG_M_NET_BYTES, -64);
    mg_test_set(t, MG_M_NET_BLOCKS, -1);
    mgt_limit(&t->budget.peak_bytes, 64 * 1024, MG_SRC_FILE_DEFAULTS, "budgets.json: defaults");
    mgt_base(t, MG_BASE_SAME, 0, 0, 4096, 5, 0);

    /* 2: 22 B over a zero budget; the culprit is past an allocator wrapper. */
    t = mgt_test(run, store, "store", "insert_row_with_a_rather_long_name", MG_ST_FAIL, 0.01);
    t->isolation = MG_ISO_SUITE;
    t->leaked_bytes = 22;
    t->object_growth = 1;
    t->peak_bytes = 9000;
    t->allocations = 9;
    t->violations = MG_VIOL_LEAK | MG_VIOL_GROWTH;
    mgt_base(t, MG_BASE_SAME, 22, 1, 9000, 9, 0);
    t->ndiffs = 1;
    t->diffs = hfx_entries(1);
    mgt_entry(&t->diffs[0], 22, 22, 1, 1, 4);
    mgt_frame(&t->diffs[0].frames[0], "xmalloc", "/src/util.c", 12, store, 0x401000);
    mgt_frame(&t->diffs[0].frames[1], "store_strdup", "/src/store.c", 40, store, 0x401100);
    mgt_frame(&t->diffs[0].frames[2], "store_insert", "/src/store.c", 88, store, 0x401200);
    mgt_frame(&t->diffs[0].frames[3], "test_insert", "/src/test_store.c", 20, store, 0x401300);
    t->diffs[0].culprit = 2;
    t->message = mg_xstrdup("leak 22 B > budget 0 B; growth 1 > budget 0");

    /* 3: 683 B over a zero budget in eight tracebacks, lost and net figures, a net
     * budget, suppressed memory and a note. */
    t = mgt_test(run, store, "store", "update_index_after_compaction", MG_ST_FAIL, 0.05);
    t->isolation = MG_ISO_SUITE;
    t->leaked_bytes = 683;
    t->object_growth = 7;
    t->peak_bytes = 150000;
    t->allocations = 40;
    mg_test_set(t, MG_M_LOST_BYTES, 512);
    mg_test_set(t, MG_M_LOST_BLOCKS, 4);
    mg_test_set(t, MG_M_NET_BYTES, 683);
    mg_test_set(t, MG_M_NET_BLOCKS, 7);
    mgt_limit(&t->budget.net_bytes, 1024, MG_SRC_CLI, "--net-bytes");
    t->suppressed_bytes = 128;
    t->suppressed_blocks = 2;
    mg_test_add_note(t, "2 threads were still running when the test ended");
    t->violations = MG_VIOL_LEAK | MG_VIOL_GROWTH;
    mgt_base(t, MG_BASE_SAME, 683, 7, 150000, 40, 0);
    t->ndiffs = HFX_REVIEW_GROWTH_TBS;
    t->diffs = hfx_entries(HFX_REVIEW_GROWTH_TBS);
    static const int64_t sizes[HFX_REVIEW_GROWTH_TBS] = {256, 128, 96, 64, 48, 40, 32, 19};
    for (size_t k = 0; k < HFX_REVIEW_GROWTH_TBS; k++) {
        char fn[48];
        size_t nf = k == 0 ? 20 : 3;
        mgt_entry(&t->diffs[k], sizes[k], sizes[k], 1, 1, nf);
        mgt_frame(&t->diffs[k].frames[0], "malloc", NULL, 0, "/lib/x86_64-linux-gnu/libc.so.6",
                  0x9a0f0);
        for (size_t f = 1; f < nf; f++) {
            snprintf(fn, sizeof fn, "index_step_%zu_%zu", k, f);
            mgt_frame(&t->diffs[k].frames[f], fn, "/src/index.c", (unsigned)(100 + 10 * k + f),
                      store, 0x402000 + 16 * k + f);
        }
        t->diffs[k].culprit = k == 0 ? 18 : 1; /* the first one's culprit is deep */
        if (k < 4) {
            t->diffs[k].lost_known = true;
            t->diffs[k].lost_size = 128;
            t->diffs[k].lost_count = 1;
        }
    }
    t->message = mg_xstrdup("leak 683 B > budget 0 B; growth 7 > budget 0");

    /* 4: a long name in a long suite. */
    t = mgt_test(run, net, HFX_LONG_SUITE, HFX_LONG_NAME, MG_ST_PASS, 0.2);
    t->peak_bytes = 48 * 1024 * 1024;
    t->allocations = 3;
    mgt_limit(&t->budget.peak_bytes, 64 * 1024 * 1024, MG_SRC_ANNOTATION, "test_net.c:77");
    mgt_base(t, MG_BASE_SAME, 0, 0, 48 * 1024 * 1024, 3, 0);

    /* 5: within every budget, but the peak grew past the baseline's tolerance. */
    t = mgt_test(run, net, "net", "cache_grows_slowly", MG_ST_FAIL, 0.03);
    t->peak_bytes = 2621440;
    t->allocations = 11;
    mgt_limit(&t->budget.peak_bytes, 8 * 1024 * 1024, MG_SRC_FILE_DEFAULTS, "budgets.json: defaults");
    mgt_base(t, MG_BASE_REGRESSED, 0, 0, 2 * 1024 * 1024, 11, MG_VIOL_PEAK);
    t->baseline.tol_known = true;
    t->baseline.tol[MG_M_PEAK].percent = 10;
    t->message = mg_xstrdup("peak 2.5 MiB > baseline 2.0 MiB");
    t->npeak_diffs = 1;
    t->peak_diffs = hfx_entries(1);
    mgt_entry(&t->peak_diffs[0], 2097152, 2097152, 1, 1, 2);
    mgt_frame(&t->peak_diffs[0].frames[0], "cache_resize", "/src/cache.c", 61, net, 0x405000);
    mgt_frame(&t->peak_diffs[0].frames[1], "test_cache_grows_slowly", "/src/test_net.c", 90, net,
              0x405100);

    t = mgt_test(run, net, "net", "crashes", MG_ST_CRASH, 0.01);
    t->signal = 6;

    t = mgt_test(run, net, "net", "(suite)", MG_ST_ERROR, 0.02);
    t->kind = MG_KIND_SUITE;
    t->message = mg_xstrdup("suite cleanup failed (returned 1)");

    t = mgt_test(run, net, "net", "slow", MG_ST_TIMEOUT, 5.0);
    t->message = mg_xstrdup("timed out after 5.0 s");

    /* 9: a report that did not measure leak and growth (an old schema). */
    t = mgt_test(run, net, "legacy", "old_format", MG_ST_PASS, 0.001);
    t->known &= ~(MG_M_BIT(MG_M_LEAK) | MG_M_BIT(MG_M_GROWTH));
    t->peak_bytes = 1000;
    t->allocations = 1;

    t = mgt_test(run, net, "net", "never_ran", MG_ST_SKIP, 0);
    t->message = mg_xstrdup("not run: the run was interrupted");
}

#endif
