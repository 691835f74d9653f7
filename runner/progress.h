/*
 * The console while a run goes on (memgate run, exec, torture): one "[ i/N]" line per
 * finished test, N being the run's total from the first line on; on a terminal an ETA
 * on those lines and a live "running suite/test (12 s)" line for a test that takes
 * long, redrawn in place; and the checks made once every binary has listed its tests
 * (budgets keys that match no test, an error with --strict).
 *
 * It plugs into mg_exec through on_result and on_tick (exec.h) with itself as ctx.
 */
#ifndef MEMGATE_RUNNER_PROGRESS_H
#define MEMGATE_RUNNER_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "budgets.h"
#include "exec.h"
#include "model.h"
#include "report.h"

typedef struct mg_progress_opts {
    mg_console_opts console;
    bool quiet;       /* only tests that did not pass get a line */
    bool eta;         /* "  ETA 0:41" at the end of lines (a terminal: logs stay stable) */
    bool live;        /* the live line (a terminal that takes \r and ESC[K) */
    const mg_budget_file *budgets; /* its keys are checked once the total is known */
    bool strict;      /* a key that matches no test is an error that stops the run */
    mg_run *run;      /* gets the warnings about such keys (borrowed) */
} mg_progress_opts;

typedef struct mg_progress mg_progress;

/* A progress printer writing to out (borrowed; stdout in the CLI). Free with
 * mg_progress_free. */
mg_progress *mg_progress_new(const mg_progress_opts *o, FILE *out);
void mg_progress_free(mg_progress *p);

/* mg_exec_opts.on_result and .on_tick, with the mg_progress as ctx. Until every binary
 * has listed, finished tests' lines are held back so the first line already shows the
 * run's total. on_tick returns 1 to stop the run when --strict found a budgets key
 * that matches no test. */
void mg_progress_on_result(const mg_test_result *t, size_t done, size_t known, void *ctx);
int mg_progress_on_tick(const mg_exec_tick *tick, void *ctx);

/* After mg_exec: erases the live line, prints the lines still held back, and checks the
 * budgets keys if that did not happen yet (not after an interruption: binaries that
 * never listed would make keys look unmatched). Returns -1 when --strict found keys
 * that match no test (said on stderr: the run's exit status is then 2), else 0. */
int mg_progress_finish(mg_progress *p, bool interrupted);

/* Whether fd is a terminal someone watches: a TTY, TERM set and not "dumb", and no CI
 * variable (CI services that attach a pseudo-terminal still write logs). */
bool mg_progress_interactive(int fd);

#endif
