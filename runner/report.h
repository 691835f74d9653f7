/* Reporters: console (for people), JUnit XML (for CI test views), JSON (artifacts),
 * HTML (one page to browse). */
#ifndef MEMGATE_RUNNER_REPORT_H
#define MEMGATE_RUNNER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "culprit.h"
#include "model.h"

typedef struct mg_console_opts {
    bool color;          /* ANSI colours (only on a TTY unless forced) */
    size_t max_tracebacks; /* tracebacks shown per breach (default 3) */
    size_t max_frames;   /* frames shown per traceback (default 8) */
    bool verbose;        /* also show passing tests' figures */
    mg_group_by group_by; /* how tracebacks are grouped (default: by line of the culprit) */
    bool quiet;          /* the summary: only problems, warnings and the closing line */
} mg_console_opts;

/* One line for a finished test, printed while the run goes on (index counts from 1):
 *   "[ 3/12] PASS  suite/test   leak 0 B  growth 0  peak 12.0 KiB   0.01 s" */
void mg_console_test_line(FILE *out, const mg_test_result *t, size_t index, size_t total,
                          const mg_console_opts *opts);

/* The part of that line after "[ i/n] ", without its newline (heap string): for a line
 * printed later, once its total is known. */
char *mg_console_line_body(const mg_test_result *t, const mg_console_opts *opts);

/* Prints "[ i/n] " BODY TRAILER and a newline; trailer (may be NULL) is what live
 * progress adds at the end, e.g. "  ETA 0:41". */
void mg_console_put_line(FILE *out, size_t index, size_t total, const char *body,
                         const char *trailer);

/* The closing part: each problem test with measured vs budget (KiB/MiB), its assertion
 * failures, its few top tracebacks as "function (file:line)" chains innermost first,
 * then a summary line "memgate: N passed, N failed, ..." */
void mg_console_summary(FILE *out, const mg_run *run, const mg_console_opts *opts);

/* Writes files atomically (PATH.tmp.PID then rename). 0, or -1 with err filled. */
int mg_report_json_write(const mg_run *run, const char *path, char *err, size_t errlen);
int mg_report_junit_write(const mg_run *run, const char *path, char *err, size_t errlen);
/* One self-contained HTML page (inline CSS, script and SVG; nothing fetched): the run's
 * summary, a table of every test's figures against its budget, and per test its
 * tracebacks, assertion failures, output and bar charts. */
int mg_report_html_write(const mg_run *run, const char *path, char *err, size_t errlen);

/* Reads a JSON report written by mg_report_json_write back into a run (for
 * `memgate report` and `memgate merge`). 0, or -1 with err filled. */
int mg_report_json_read(const char *path, mg_run *out, char *err, size_t errlen);

#endif
