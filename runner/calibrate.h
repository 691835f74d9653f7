/*
 * memgate calibrate: budgets from the figures of N measured runs of a suite.
 *
 * Each run's tests are added with mg_calib_add_run; mg_calib_write then prints a
 * budgets file (or MEMGATE_BUDGET lines) where each test's budget is the largest figure
 * of the runs. A figure that varied across runs gets its spread (largest minus smallest)
 * on top, and such a test carries a "comment" saying so. peak_bytes also gets the
 * headroom (a fraction) and is rounded up to a readable size (34 KiB, 4.5 KiB, 1.5 MiB)
 * with a floor of 1 KiB; leak_bytes and object_growth are exact (a leak is a count, not
 * a noisy measurement) and only written when not 0, the default.
 */
#ifndef MEMGATE_RUNNER_CALIBRATE_H
#define MEMGATE_RUNNER_CALIBRATE_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"

typedef struct mg_calib mg_calib;

typedef struct mg_calib_opts {
    double headroom;      /* on peak_bytes: 0.2 = 20 % */
    bool annotations;     /* MEMGATE_BUDGET(...) lines instead of a budgets file */
    const char *what;     /* for the file's "comment": the binaries calibrated */
} mg_calib_opts;

mg_calib *mg_calib_new(void);
void mg_calib_free(mg_calib *c);

/* Adds one run's results. Tests that crashed, timed out, erred or were skipped add no
 * figures (they are counted as not calibrated). */
void mg_calib_add_run(mg_calib *c, const mg_run *run);

/* Tests with figures from every run, tests left out (no figures in some run), and tests
 * whose figures varied. */
void mg_calib_counts(const mg_calib *c, size_t *calibrated, size_t *left_out, size_t *varied);

/* The i-th name ("suite/test") of the tests left out, or of the calibrated tests that
 * leaked (their budgets accept the leak), for messages; NULL past the end. */
typedef enum { MG_CALIB_LEFT_OUT, MG_CALIB_LEAKING } mg_calib_kind;
const char *mg_calib_name(const mg_calib *c, mg_calib_kind kind, size_t i);

/* Writes the budgets file (JSON, keys sorted, one test per line) or the annotation lines
 * to out. 0, or -1 when out failed. */
int mg_calib_write(const mg_calib *c, const mg_calib_opts *o, FILE *out);

/* "20%", "20 %", "0%", "12.5%", or a bare number of percent: 0 or -1 (outside 0..1000). */
int mg_calib_parse_headroom(const char *s, double *fraction);

/* The smallest readable size >= bytes: bytes themselves below 1 KiB; then 0.5 steps
 * below 10 units, whole units below 100, tens of units above (KiB, MiB, GiB). text gets
 * "34 KiB" (or "740" for bytes), the return value is the byte count it means. */
int64_t mg_calib_readable(int64_t bytes, char *text, size_t len);

#endif
