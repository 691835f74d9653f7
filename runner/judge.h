/*
 * Judging: what a child's report says about one entry (a test or a suite's own entry),
 * turned into its mg_test_result, and the verdict, decided once.
 *
 * The orchestrator (sched.c) calls the take functions as reports arrive (the first run's
 * figures, a traced re-run's tracebacks, how a child ended) and mg_judge_final exactly
 * once, when nothing more will arrive for the entry: the annotation is applied, the
 * budget checked, the baseline compared, the status and the one-line message decided.
 * Reporters only print that decision.
 */
#ifndef MEMGATE_RUNNER_JUDGE_H
#define MEMGATE_RUNNER_JUDGE_H

#include <stdbool.h>

#include "baseline.h"
#include "budgets.h"
#include "culprit.h"
#include "model.h"
#include "suppress.h"
#include "wire.h"

/* An annotation as a child reported it: per-metric values (MG_LIMIT_UNSET when not
 * given) and the run settings it asked for. */
typedef struct mg_annotation {
    bool set;
    int64_t values[MG_M_COUNT];
    int64_t warmups; /* MG_LIMIT_UNSET when not given */
    int64_t repeat;  /* MG_LIMIT_UNSET when not given */
    char *file;
    unsigned line;
    char *unknown;   /* a key no metric has, reported as an error, or NULL */
} mg_annotation;

void mg_annotation_from_window(mg_annotation *a, const mg_wire_window *w);
void mg_annotation_free(mg_annotation *a);

/* Stores the figures and assertion failures of a closed window in r (figures the window
 * did not measure stay unknown). leak_known: the child's shutdown completed, so the
 * leak figures are final; a window with nothing pending at its close has no leak. */
void mg_judge_take_window(mg_test_result *r, const mg_wire_window *w);

/* The same for a test measured several times (--repeat): each run's figures in r->runs;
 * r's leak and net figures are the smallest of the runs (the growth every run shows,
 * CPython's regrtest -R rule), also its slope per run; its peak the largest. */
void mg_judge_take_runs(mg_test_result *r, const mg_wire_window *const *ws, size_t n);

/* Stores the tracebacks of a traced run's window (leak, or net growth when the window
 * leaked nothing, and the peak when asked) in r, symbolized, with suppressions applied
 * to the leak (the suppressed part leaves the figures and is counted apart). */
void mg_judge_take_traces(mg_test_result *r, const mg_wire_window *w, const mg_wire_report *rep,
                          const mg_trace_rules *rules, const mg_suppressions *supp, bool with_peak);

/* How the child that ran an entry ended, when its figures are not all there. */
void mg_judge_crash(mg_test_result *r, int sig, const char *output);
/* A crash with what the child's crash handler said (rep may be NULL): the site's
 * traceback (symbolized with the report's modules, else `modules`, the driver's) and the
 * figures up to the crash. */
void mg_judge_crash_at(mg_test_result *r, int sig, const char *output, const mg_wire_report *rep,
                       const char *modules, const mg_trace_rules *rules);
void mg_judge_timeout(mg_test_result *r, unsigned timeout_ms);
void mg_judge_error(mg_test_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Heap misuse the collector caught: names the free's site. */
void mg_judge_misuse(mg_test_result *r, const mg_wire_report *rep, const mg_trace_rules *rules, int sig);

/* The inputs of the verdict besides the result itself. */
typedef struct mg_judge_ctx {
    const mg_baseline *baseline;   /* NULL: no baseline in use */
    const mg_tolerance *tolerance; /* NULL: the defaults */
} mg_judge_ctx;

/* The verdict. base is the budget resolved without the annotation; the annotation (may
 * be unset) is applied on top. A status already set to crash, timeout, error or skip
 * stays; otherwise the status is fail when an assertion failed, a limit broke or a
 * figure regressed against the baseline, else pass. The message says what broke. */
void mg_judge_final(mg_test_result *r, const mg_budget *base, const mg_annotation *ann,
                    const mg_judge_ctx *ctx);

/* The limits broken by r's figures under base and ann (without deciding anything): the
 * orchestrator's question "does this test need a traced re-run?". */
unsigned mg_judge_preview(const mg_test_result *r, const mg_budget *base, const mg_annotation *ann,
                          const mg_judge_ctx *ctx, unsigned *regressions);

/* "SIGSEGV", "SIGABRT", ... or "signal N". */
const char *mg_signal_name(int sig, char *buf, size_t len);

#endif
