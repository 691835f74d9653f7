/* The runner's result model: names for its enums, and release of everything it owns. */
#include "model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Every named member must be the array element of its metric: the unions in model.h
 * rely on a struct of equal members having the layout of an array. */
#define MG_MODEL_CHECK_(ID, FIELD, UNIT, LIMIT, ...)                                           \
    _Static_assert(offsetof(mg_test_result, FIELD) ==                                          \
                       offsetof(mg_test_result, fig) + (size_t)(ID) * sizeof(int64_t),         \
                   "figure member " #FIELD " is not fig[" #ID "]");                            \
    _Static_assert(offsetof(mg_baseline_cmp, FIELD) ==                                         \
                       offsetof(mg_baseline_cmp, fig) + (size_t)(ID) * sizeof(int64_t),        \
                   "baseline member " #FIELD " is not fig[" #ID "]");                          \
    _Static_assert(offsetof(mg_budget, LIMIT) ==                                               \
                       offsetof(mg_budget, lim) + (size_t)(ID) * sizeof(mg_limit),             \
                   "limit member " #LIMIT " is not lim[" #ID "]");
MG_METRICS(MG_MODEL_CHECK_)
#undef MG_MODEL_CHECK_

const char *mg_status_name(mg_status st) {
    switch (st) {
    case MG_ST_PASS: return "pass";
    case MG_ST_FAIL: return "fail";
    case MG_ST_CRASH: return "crash";
    case MG_ST_TIMEOUT: return "timeout";
    case MG_ST_ERROR: return "error";
    case MG_ST_SKIP: return "skip";
    }
    return "unknown";
}

const char *mg_torture_outcome_name(mg_torture_outcome o) {
    switch (o) {
    case MG_TO_PASS: return "pass";
    case MG_TO_LEAK: return "leak";
    case MG_TO_CRASH: return "crash";
    case MG_TO_HANG: return "hang";
    case MG_TO_ERROR: return "error";
    case MG_TO_UNREACHED: return "unreached";
    }
    return "unknown";
}

const char *mg_source_name(mg_limit_source src) {
    switch (src) {
    case MG_SRC_BUILTIN: return "builtin";
    case MG_SRC_CLI: return "cli";
    case MG_SRC_FILE_DEFAULTS: return "file-defaults";
    case MG_SRC_FILE_TEST: return "file-test";
    case MG_SRC_ANNOTATION: return "annotation";
    }
    return "unknown";
}

const char *mg_kind_name(mg_kind k) {
    switch (k) {
    case MG_KIND_TEST: return "test";
    case MG_KIND_SUITE: return "suite";
    }
    return "unknown";
}

const char *mg_isolation_name(mg_isolation iso) {
    switch (iso) {
    case MG_ISO_TEST: return "test";
    case MG_ISO_SUITE: return "suite";
    }
    return "unknown";
}

/* ---- budgets ------------------------------------------------------------------- */

void mg_budget_init_builtin(mg_budget *b) {
    memset(b, 0, sizeof *b);
    for (int m = 0; m < MG_M_COUNT; m++) {
        b->lim[m].value = mg_metrics[m].default_limit;
        b->lim[m].source = MG_SRC_BUILTIN;
    }
    b->settings.isolation = MG_ISO_TEST;
    b->settings.repeat = 1;
}

/* The budget's strings are freed here rather than in budgets.c so the model stays
 * usable on its own (a report reader fills results without budget logic). */
void mg_budget_free_contents(mg_budget *b) {
    if (!b) return;
    for (int m = 0; m < MG_M_COUNT; m++) {
        free(b->lim[m].origin);
        b->lim[m].origin = NULL;
    }
    for (size_t i = 0; i < b->settings.nalloc_functions; i++) free(b->settings.alloc_functions[i]);
    free(b->settings.alloc_functions);
    b->settings.alloc_functions = NULL;
    b->settings.nalloc_functions = 0;
}

void mg_budget_copy(mg_budget *dst, const mg_budget *src) {
    *dst = *src;
    for (int m = 0; m < MG_M_COUNT; m++) dst->lim[m].origin = mg_xstrdup(src->lim[m].origin);
    size_t n = src->settings.nalloc_functions;
    dst->settings.alloc_functions = n ? mg_xcalloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++)
        dst->settings.alloc_functions[i] = mg_xstrdup(src->settings.alloc_functions[i]);
}

/* ---- tolerances ---------------------------------------------------------------- */

/* Millionths of a percent per unit of a figure: 100 (percent) x 10^6. */
#define MICRO_PER_UNIT 100000000LL

int64_t mg_tolerance_micro(const mg_tolerance_one *tol) {
    double percent = tol->percent;
    if (!(percent > 0)) return 0;
    if (percent > MG_TOLERANCE_PERCENT_MAX) percent = MG_TOLERANCE_PERCENT_MAX;
    return llround(percent * 1e6);
}

/* Split as base = q * 10^8 + r so that r * micro < 10^8 * 10^10 stays inside 64 bits. */
int64_t mg_tolerance_percent_of(int64_t base, const mg_tolerance_one *tol) {
    int64_t micro = mg_tolerance_micro(tol);
    if (base <= 0 || micro <= 0) return 0;
    int64_t q = base / MICRO_PER_UNIT, r = base % MICRO_PER_UNIT;
    if (q > INT64_MAX / micro) return INT64_MAX;
    int64_t a = q * micro, b = r * micro / MICRO_PER_UNIT;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int64_t mg_tolerance_allowance(int64_t base, const mg_tolerance_one *tol) {
    int64_t pct = mg_tolerance_percent_of(base, tol);
    int64_t abs = tol->absolute > 0 ? tol->absolute : 0;
    return pct > abs ? pct : abs;
}

bool mg_tolerance_exceeded(int64_t measured, int64_t base, const mg_tolerance_one *tol) {
    int64_t allow = mg_tolerance_allowance(base, tol);
    if (base > 0 && allow > INT64_MAX - base) return false;
    return measured > base + allow;
}

/* ---- results ------------------------------------------------------------------- */

const mg_frame *mg_entry_culprit(const mg_entry *e) {
    if (!e || !e->nframes) return NULL;
    return &e->frames[e->culprit < e->nframes ? e->culprit : 0];
}

/* Appends a formatted string to a heap array of heap strings; with unique, an equal
 * string already there is not added again. */
__attribute__((format(printf, 4, 0))) static void append_text(char ***arr, size_t *n, bool unique, const char *fmt,
                                                              va_list ap) {
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    for (size_t i = 0; unique && i < *n; i++)
        if (strcmp((*arr)[i], buf) == 0) return;
    *arr = mg_xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = mg_xstrdup(buf);
}

void mg_test_add_note(mg_test_result *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    append_text(&t->notes, &t->nnotes, false, fmt, ap);
    va_end(ap);
}

void mg_run_add_warning(mg_run *run, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    append_text(&run->warnings, &run->nwarnings, true, fmt, ap);
    va_end(ap);
}

static void free_strings(char **arr, size_t n) {
    if (!arr) return;
    for (size_t i = 0; i < n; i++) free(arr[i]);
    free(arr);
}

/* Frees the strings of n frames and the array itself. */
static void free_frames(mg_frame *frames, size_t n) {
    if (!frames) return;
    for (size_t i = 0; i < n; i++) {
        free(frames[i].function);
        free(frames[i].file);
        free(frames[i].module);
    }
    free(frames);
}

void mg_entry_free_contents(mg_entry *e) {
    if (!e) return;
    free_frames(e->frames, e->nframes);
    memset(e, 0, sizeof *e);
}

/* Frees n entries' contents and the array itself. */
static void free_entries(mg_entry *entries, size_t n) {
    if (!entries) return;
    for (size_t i = 0; i < n; i++) mg_entry_free_contents(&entries[i]);
    free(entries);
}

void mg_test_result_free_contents(mg_test_result *t) {
    if (!t) return;
    free(t->binary);
    free(t->suite);
    free(t->name);
    mg_budget_free_contents(&t->budget);
    free_entries(t->diffs, t->ndiffs);
    free_entries(t->peak_diffs, t->npeak_diffs);
    free_entries(t->crash_site, t->ncrash_site);
    free(t->runs);
    for (size_t i = 0; i < t->ntorture; i++) {
        free(t->torture[i].message);
        free_entries(t->torture[i].site, t->torture[i].nsite);
    }
    free(t->torture);
    if (t->failures) {
        for (size_t i = 0; i < t->nfailures; i++) {
            free(t->failures[i].file);
            free(t->failures[i].condition);
        }
        free(t->failures);
    }
    free(t->message);
    free_strings(t->notes, t->nnotes);
    free(t->output);
    memset(t, 0, sizeof *t);
}

void mg_run_free_contents(mg_run *run) {
    if (!run) return;
    if (run->tests) {
        for (size_t i = 0; i < run->ntests; i++) mg_test_result_free_contents(&run->tests[i]);
        free(run->tests);
    }
    free(run->started_at);
    free(run->hostname);
    free(run->baseline_path);
    free_strings(run->baseline_removed, run->nbaseline_removed);
    free(run->shard);
    free_strings(run->warnings, run->nwarnings);
    memset(run, 0, sizeof *run);
}

void mg_run_tally(const mg_run *run, mg_tally *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!run) return;
    for (size_t i = 0; i < run->ntests; i++) {
        out->total++;
        switch (run->tests[i].status) {
        case MG_ST_PASS: out->pass++; break;
        case MG_ST_FAIL: out->fail++; break;
        case MG_ST_CRASH: out->crash++; break;
        case MG_ST_TIMEOUT: out->timeout++; break;
        case MG_ST_SKIP: out->skip++; break;
        /* A status outside the enum can only come from a harness bug: count it as an
         * error so the totals still add up and the run does not look clean. */
        case MG_ST_ERROR:
        default: out->error++; break;
        }
    }
}
