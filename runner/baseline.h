/*
 * Baselines: the regression gate. A baseline is a reviewed JSON file in the user's repo
 * holding each test's figures; a run compares against it and fails a test whose figure
 * grew beyond a per-metric tolerance. New and removed tests are reported, not failures.
 * The figures a baseline tracks are the rows of the metric table (metrics.h) with the
 * baseline flag: leaked_bytes, object_growth, peak_bytes and allocations.
 *
 * File format (stable key order, one test per line, so diffs review well):
 *   {
 *     "schema_version": 2,
 *     "tool": "memgate",
 *     "tests": {
 *       "BINARY:SUITE/TEST": {"leaked_bytes": 0, "object_growth": 0, "peak_bytes": 4096, "allocations": 12},
 *       ...
 *     }
 *   }
 * BINARY is the test binary's path as given on the command line (relative to the
 * working directory, e.g. "build/tests/unit_tests"), so two binaries with one basename
 * in different directories have entries of their own. Schema version 1 files keyed
 * tests by the binary's basename; they still load, and a test without an entry of its
 * own is then matched by basename (the run says so once in a warning).
 * Keys are sorted bytewise; the writer emits exactly this layout (2-space indent).
 */
#ifndef MEMGATE_RUNNER_BASELINE_H
#define MEMGATE_RUNNER_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct mg_baseline mg_baseline;

/* The tolerance of each metric (mg_tolerance_one in model.h), indexed by mg_metric;
 * only metrics the baseline tracks are used. */
typedef struct mg_tolerance {
    mg_tolerance_one m[MG_M_COUNT];
} mg_tolerance;

/* The metric table's defaults: leak 0, growth 0, peak 10%, allocs 10%. */
void mg_tolerance_default(mg_tolerance *t);

/* Parses "peak=10%,allocs=5%,leak=1KiB,growth=2" (any subset, overriding t's values;
 * byte metrics accept % or a SIZE, counts % or a count). -1 with err naming the
 * offending item, t unchanged. */
int mg_tolerance_parse(const char *text, mg_tolerance *t, char *err, size_t errlen);

/* Loads a baseline; -1 with err naming file, key and value on any problem (unknown
 * keys, wrong types, negative numbers, bad JSON with line:column). Figures are exact
 * up to 9223372036854775807. */
int mg_baseline_load(const char *path, mg_baseline **out, char *err, size_t errlen);
void mg_baseline_free(mg_baseline *b);

/* The path the baseline was loaded from. */
const char *mg_baseline_path(const mg_baseline *b);

/* "BINARY:SUITE/TEST" for a result, BINARY as given on the command line (heap string,
 * invalid UTF-8 mended as in the JSON report so keys survive the file). */
char *mg_baseline_key(const mg_test_result *t);

/*
 * Compares one test with its entry of b under tol (NULL: the defaults) and returns the
 * MG_M_BIT of the figures that grew beyond their tolerance. *out gets the state (NONE
 * for a test without figures: crash, timeout, error, skip; NEW when b has no entry),
 * the baseline's figures, the tolerance applied and the regressions. Unknown figures
 * are never compared. t is not changed: deciding the status is the caller's.
 */
unsigned mg_baseline_compare_test(const mg_baseline *b, const mg_tolerance *tol,
                                  const mg_test_result *t, mg_baseline_cmp *out);

/*
 * The run-level part of a comparison: sets run->baseline_path (when NULL) and
 * run->baseline_removed (the keys of b that no test of run has, sorted; none at all when
 * run is partial or one shard of several, as unselected tests are not gone), and adds
 * run warnings for two tests sharing a key and for matches by basename in an old
 * baseline. Replaces the removed list of an earlier call.
 */
void mg_baseline_finish_run(const mg_baseline *b, mg_run *run);

/* Compares every test of run with b (mg_baseline_compare_test, then
 * mg_baseline_finish_run): fills each test's `baseline` field, turns a pass into a fail
 * and appends the regression text to the message ("peak +3.5 KiB (+21.9%) > tolerance
 * 10 % (baseline 16.0 KiB, now 19.5 KiB)"). tol NULL means the defaults; b NULL clears
 * every test's comparison and the removed list. */
void mg_baseline_compare(const mg_baseline *b, const mg_tolerance *tol, mg_run *run);

typedef struct mg_baseline_update_opts {
    bool ratchet; /* figures only ever go down: each metric = min(old, new) */
    bool prune;   /* drop entries of tests the run does not have (full runs only) */
} mg_baseline_update_opts;

/*
 * Writes the baseline at path from run, merged into old (or, when old is NULL, into the
 * valid baseline already at path, if any): the entries of the run's tests with figures
 * (pass or fail) are replaced, every other entry stays, including those of tests that
 * ran without figures (crash, timeout, skip) and of tests the run did not select. With
 * opts->prune, entries whose test is not in the run are dropped. Negative figures are
 * written as 0, unknown ones keep the old figure (0 for a new entry). Two tests of the
 * run with one key share an entry with the larger figures, and the run gets a warning;
 * so does a file at path that is not a baseline (it is replaced). Atomic write (temp +
 * rename). 0, or -1 with err.
 */
int mg_baseline_update(const char *path, mg_run *run, const mg_baseline *old,
                       const mg_baseline_update_opts *opts, char *err, size_t errlen);

/* mg_baseline_update without pruning. */
int mg_baseline_write(const char *path, mg_run *run, const mg_baseline *old, bool ratchet,
                      char *err, size_t errlen);

#endif
