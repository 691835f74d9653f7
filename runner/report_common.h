/*
 * Pieces shared by the reporters (report_console.c, report_junit.c, report_json.c,
 * report_html.c): the human-readable text about one test, UTF-8 checking, status and
 * signal names and the atomic file write. Internal to the runner, never installed.
 *
 * The text functions write raw model strings (names, symbols, captured output) as
 * they are; each reporter cleans the finished text for its medium (terminal, XML).
 */
#ifndef MEMGATE_RUNNER_REPORT_COMMON_H
#define MEMGATE_RUNNER_REPORT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "culprit.h"
#include "model.h"

#define MG_REPORT_DEFAULT_TRACEBACKS 3
#define MG_REPORT_DEFAULT_FRAMES 8

/* Length (1-4) of the valid UTF-8 sequence starting at s, or 0 when the bytes there
 * are not valid UTF-8 (bad lead or continuation byte, overlong form, surrogate, beyond
 * U+10FFFF, or cut short by the terminating NUL). *cp gets the code point when valid. */
size_t mg_utf8_seq(const unsigned char *s, unsigned *cp);

/* A heap copy of s in which every invalid UTF-8 byte is replaced by U+FFFD, or NULL
 * when s is NULL or already valid (then use s itself). */
char *mg_utf8_fix(const char *s);

/* "PASS", "FAIL", "CRASH", "TIMEOUT", "ERROR" or "SKIP": the status as the console and
 * HTML reports show it; "?" for a value outside the enum. */
const char *mg_report_status_label(mg_status st);

/* "SIGSEGV" for 11 and so on; NULL for a number this table does not know. */
const char *mg_report_signal_name(int sig);

/* "killed by SIGSEGV (signal 11)", "timed out", "exited with code 3": t->message when
 * set, else a sentence made from the status, signal and exit code. Heap string. */
char *mg_report_outcome(const mg_test_result *t);

/* Writes "function (file:line)" with the file's basename; falls back to the
 * module's basename, then the address, when the source position is unknown. */
void mg_report_frame(FILE *out, const mg_frame *f);

/* Writes "leak 4.0 KiB > budget 0 B (builtin)" for measured against lim ("<=" when
 * within, "budget unlimited" when there is none), with the metric's label and unit
 * (metrics.h); exact bytes are added when both sizes would print the same. */
void mg_report_limit(FILE *out, mg_metric id, int64_t measured, const mg_limit *lim);

/* Writes the tolerance of metric id that is in force for a baseline figure base: "10 %",
 * "1.0 KiB" or "5" (the absolute part when it allows at least as much as the
 * percentage), "0 B" / "0" when nothing is allowed. */
void mg_report_tolerance(FILE *out, mg_metric id, int64_t base, const mg_tolerance_one *tol);

/* Writes the regression of metric id of t against t->baseline:
 *   "peak +3.5 KiB (+21.9%) > tolerance 10 % (baseline 16.0 KiB, now 19.5 KiB)"
 * the growth, its share of the baseline figure (left out for a baseline of 0), the
 * tolerance it broke (left out when the report does not record it) and both figures;
 * exact bytes are given where two sizes would print the same. */
void mg_report_regression(FILE *out, const mg_test_result *t, mg_metric id);

/* Writes what broke in t, one item per line, each line starting with indent: broken
 * limits (measured, budget and source), figures that regressed against the baseline,
 * assertion failures, the outcome sentence for crash/timeout/error/skip, the top max_tb
 * tracebacks (max_frames frames each) of every broken limit or regressed figure, the
 * test's notes and notes on traced re-runs. 0 for max_tb or max_frames means the
 * default. */
void mg_report_problem(FILE *out, const mg_test_result *t, const char *indent, size_t max_tb,
                       size_t max_frames);

/* mg_report_problem with the tracebacks grouped by group (the console's --group-by):
 * one entry per allocating function, line or file of the culprit frame. */
void mg_report_problem_grouped(FILE *out, const mg_test_result *t, const char *indent, size_t max_tb,
                               size_t max_frames, mg_group_by group);

/* Writes the full memory report of t: every measured figure against its limit with its
 * source and origin (figures without a budget plainly), suppressed memory, warm-ups and
 * isolation when they are not the defaults, the outcome, assertion failures, notes and
 * the top tracebacks of both the growth and the peak, whether a limit broke or not; with
 * a baseline, its figures and the regressions. */
void mg_report_full(FILE *out, const mg_test_result *t);

/* One line saying what broke, for JUnit's failure message: the broken limits
 * ("leak 4.0 KiB > budget 0 B (builtin)"), the regressions ("peak +3.5 KiB (+21.9%) >
 * tolerance 10 % (...)"), the culprit frame of the first responsible traceback ("at
 * cache_put (cache.c:88)", mg_entry_culprit) and the first assertion failure. Heap
 * string. */
char *mg_report_headline(const mg_test_result *t);

/* Writes len bytes of data to path through mg_outfile_write (outfile.h): a regular
 * file is replaced atomically by a temporary file with an unpredictable name and
 * rename(2), symlinks are followed to an existing file, FIFOs and devices are written
 * in place. what names the report in errors ("JSON report"). 0, or -1 with err naming
 * the path and the reason. */
int mg_report_write_atomic(const char *path, const char *what, const char *data, size_t len,
                           char *err, size_t errlen);

#endif
