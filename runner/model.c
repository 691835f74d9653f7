/* The runner's result model: names for its enums, and release of everything it owns. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

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
    /* The budget's origins are freed here rather than through budgets.c so the model
     * stays usable on its own (a report reader fills results without budget logic). */
    free(t->budget.leak_bytes.origin);
    free(t->budget.object_growth.origin);
    free(t->budget.peak_bytes.origin);
    free_entries(t->diffs, t->ndiffs);
    free_entries(t->peak_diffs, t->npeak_diffs);
    if (t->failures) {
        for (size_t i = 0; i < t->nfailures; i++) {
            free(t->failures[i].file);
            free(t->failures[i].condition);
        }
        free(t->failures);
    }
    free(t->message);
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
    if (run->baseline_removed) {
        for (size_t i = 0; i < run->nbaseline_removed; i++) free(run->baseline_removed[i]);
        free(run->baseline_removed);
    }
    free(run->shard);
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
