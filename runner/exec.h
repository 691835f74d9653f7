/*
 * Running test binaries under the collector (sched.c): drivers, scheduling (-j),
 * isolation, warm-ups, re-runs with full stacks, deadlines, and the results of every
 * test and suite entry, judged once (judge.c).
 */
#ifndef MEMGATE_RUNNER_EXEC_H
#define MEMGATE_RUNNER_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "baseline.h"
#include "budgets.h"
#include "model.h"
#include "suppress.h"

/* A test process running now, for live progress (mg_exec_opts.on_tick). */
typedef struct mg_exec_running {
    const char *binary;
    const char *suite; /* NULL while the binary starts: lists its tests, or runs as a
                        * whole-process test */
    const char *name;  /* the test or "(suite)"; NULL for a suite child that runs all
                        * its suite's tests in order (--isolation suite) */
    double seconds;    /* since it started */
} mg_exec_running;

/* What the run is doing, handed to on_tick. */
typedef struct mg_exec_tick {
    const mg_exec_running *running;
    size_t nrunning;
    size_t done, known; /* as for on_result */
    bool known_final;   /* every binary has listed its tests: known is the run's total */
} mg_exec_tick;

typedef struct mg_exec_opts {
    char **binaries;        /* paths; with `exec`, one binary and its arguments in argv */
    size_t nbinaries;
    char **argv;            /* argv for a single binary (exec mode), NULL otherwise */
    unsigned jobs;          /* concurrent test processes, >= 1 */
    unsigned timeout_ms;    /* per test; 0 = none */
    const mg_budget_file *budgets;
    mg_cli_limits cli;
    const mg_suppressions *supp;
    const char *library;    /* libmemgate.so to preload */
    const char *unwind;     /* "fp" or NULL */
    unsigned max_frames;    /* 0 = default */
    bool always_trace;      /* capture stacks on the first run */
    bool no_rerun;          /* never re-run with stacks */
    const char *const *filters; /* suite/test globs; a test runs if it matches any */
    size_t nfilters;
    const char *const *excludes; /* suite/test globs; a test matching any does not run */
    size_t nexcludes;
    const mg_baseline *baseline;   /* compared by the verdict; NULL: none */
    const mg_tolerance *tolerance; /* NULL: the defaults */
    /* Called when a test's result is final (progress output). */
    void (*on_result)(const mg_test_result *t, size_t done, size_t known, void *ctx);
    /* Called from the scheduler's loop before it starts more work: at least every
     * 100 ms while the run goes on, and after anything happened (live progress, checks
     * once the total is known). Nonzero stops the run as an interruption does. May be
     * NULL. */
    int (*on_tick)(const mg_exec_tick *tick, void *ctx);
    void *ctx;
    volatile int *interrupted; /* set asynchronously: stop and keep what finished */
    /* List mode: report each test of each binary through on_listed and run nothing
     * (a program without a CUnit runner still runs once, to find that out). */
    bool list_only;
    void (*on_listed)(const char *binary, const char *suite, const char *name, bool active,
                      void *ctx);
    /* Allocation-failure torture (memgate torture): after a test's counting run, run it
     * again with allocation k failing, for every k up to max_points (or that many spread
     * points, refined by bisection where the outcome changes). */
    bool torture;
    unsigned max_points;
    /* Sharding: run only tests whose position in binary, suite, test order is
     * congruent to shard_index modulo shard_count (shard_count 0 = no sharding). */
    unsigned shard_index, shard_count;
} mg_exec_opts;

/* Runs every binary; fills run->tests in binary, suite, test (registry) order.
 * Returns 0, or -1 with err filled for a setup error (nothing could run). */
int mg_exec(const mg_exec_opts *opts, mg_run *run, char *err, size_t errlen);

#endif
