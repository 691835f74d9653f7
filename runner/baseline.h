/*
 * Baselines: the regression gate. A baseline is a reviewed JSON file in the user's repo
 * holding each test's figures; a run compares against it and fails a test whose figure
 * grew beyond a per-metric tolerance. New and removed tests are reported, not failures.
 *
 * File format (stable key order, one test per line, so diffs review well):
 *   {
 *     "schema_version": 1,
 *     "tool": "memgate",
 *     "tests": {
 *       "BINARY:SUITE/TEST": {"leaked_bytes": 0, "object_growth": 0, "peak_bytes": 4096, "allocations": 12},
 *       ...
 *     }
 *   }
 * BINARY is the basename of the test binary, so baselines move between build trees.
 * Keys are sorted bytewise; the writer emits exactly this layout (2-space indent).
 */
#ifndef MEMGATE_RUNNER_BASELINE_H
#define MEMGATE_RUNNER_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct mg_baseline mg_baseline;

/* Tolerance of one metric: a figure regresses when
 *   measured > base + max(base * percent / 100, absolute). */
typedef struct mg_tolerance_one {
    double percent;
    int64_t absolute;
} mg_tolerance_one;

typedef struct mg_tolerance {
    mg_tolerance_one leak, growth, peak, allocs;
} mg_tolerance;

/* Defaults: leak 0, growth 0, peak 10%, allocs 10%. */
void mg_tolerance_default(mg_tolerance *t);

/* Parses "peak=10%,allocs=5%,leak=1KiB,growth=2" (any subset, overriding t's values;
 * leak/peak accept % or a SIZE, growth/allocs % or a count). -1 with err naming the
 * offending item. */
int mg_tolerance_parse(const char *text, mg_tolerance *t, char *err, size_t errlen);

/* Loads a baseline; -1 with err naming file, key and value on any problem (unknown
 * keys, wrong types, negative numbers, bad JSON with line:column). */
int mg_baseline_load(const char *path, mg_baseline **out, char *err, size_t errlen);
void mg_baseline_free(mg_baseline *b);

/* "BINARY:SUITE/TEST" for a result (heap string). */
char *mg_baseline_key(const mg_test_result *t);

/* Compares every test of run with b: fills each test's `baseline` field, turns a pass
 * into a fail (with a message like "peak 1.2 MiB > baseline 1.0 MiB + 10%") when a
 * figure regressed, and lists the baseline keys with no test in run->baseline_removed.
 * Tests without figures (crash, timeout, error, skip) get MG_BASE_NONE and are not
 * counted as removed. Sets run->baseline_path to the baseline's path when it is NULL;
 * tol NULL means the defaults; b NULL clears every test's comparison. */
void mg_baseline_compare(const mg_baseline *b, const mg_tolerance *tol, mg_run *run);

/* Writes a baseline from run (tests with figures: pass or fail). With ratchet and an
 * existing baseline `old`: figures never grow (each metric = min(old, new)), tests
 * missing from the run are dropped, new tests are added (a test in the run without
 * figures keeps its old entry). Negative figures are written as 0; two binaries with the
 * same basename share a key holding the larger figures. Atomic write (temp + rename).
 * 0, or -1 with err. */
int mg_baseline_write(const char *path, const mg_run *run, const mg_baseline *old, bool ratchet,
                      char *err, size_t errlen);

#endif
