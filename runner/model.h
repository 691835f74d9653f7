/*
 * The runner's result model: what one `memgate run` measured, shared by the
 * orchestrator (main.c), the budget logic and every reporter.
 * All strings are heap-allocated and owned by the struct that holds them;
 * mg_run_free() releases everything.
 */
#ifndef MEMGATE_RUNNER_MODEL_H
#define MEMGATE_RUNNER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mg_status {
    MG_ST_PASS = 0,
    MG_ST_FAIL,    /* assertion failure or budget breach */
    MG_ST_CRASH,   /* killed by a signal, or heap misuse detected */
    MG_ST_TIMEOUT, /* exceeded --timeout, process group killed */
    MG_ST_ERROR,   /* unexpected exit, suite init failure, harness problem */
    MG_ST_SKIP     /* inactive test/suite, or not run */
} mg_status;

/* "pass", "fail", "crash", "timeout", "error", "skip". */
const char *mg_status_name(mg_status st);

/* Where a limit came from, lowest precedence first. */
typedef enum mg_limit_source {
    MG_SRC_BUILTIN = 0, /* built-in default */
    MG_SRC_CLI,         /* --leak-bytes / --object-growth / --peak */
    MG_SRC_FILE_DEFAULTS,
    MG_SRC_FILE_TEST,   /* budgets file "tests" entry (glob or exact) */
    MG_SRC_ANNOTATION   /* MEMGATE_BUDGET in the test body */
} mg_limit_source;

/* "builtin", "cli", "file-defaults", "file-test", "annotation". */
const char *mg_source_name(mg_limit_source src);

#define MG_UNLIMITED (-1LL)

typedef struct mg_limit {
    int64_t value;          /* MG_UNLIMITED or >= 0 */
    mg_limit_source source;
    char *origin;           /* detail, may be NULL: "budgets.json: tests[\"cache/...\"]", "t.c:42" */
} mg_limit;

typedef struct mg_budget {
    mg_limit leak_bytes, object_growth, peak_bytes;
} mg_budget;

enum { MG_VIOL_LEAK = 1u, MG_VIOL_GROWTH = 2u, MG_VIOL_PEAK = 4u, MG_VIOL_ALLOCS = 8u };

/* Comparison of a test with a stored baseline (--baseline). */
typedef enum mg_baseline_state {
    MG_BASE_NONE = 0, /* no baseline in use, or the test has no figures (crash...) */
    MG_BASE_NEW,      /* the test is not in the baseline: reported, not a failure */
    MG_BASE_SAME,     /* within tolerance */
    MG_BASE_REGRESSED /* a figure grew beyond its tolerance: the test fails */
} mg_baseline_state;

typedef struct mg_baseline_cmp {
    mg_baseline_state state;
    int64_t leaked_bytes, object_growth, peak_bytes; /* the baseline's figures */
    uint64_t allocations;
    unsigned regressions; /* MG_VIOL_* bits of the figures that grew beyond tolerance */
} mg_baseline_cmp;

typedef struct mg_frame {
    char *function; /* "??" when unknown */
    char *file;     /* NULL when unknown */
    unsigned line;  /* 0 when unknown */
    char *module;   /* path of the ELF object, NULL when unknown */
    uint64_t address;
} mg_frame;

/* One growth entry: a traceback (or group) with its size and count now and their diffs. */
typedef struct mg_entry {
    int64_t size, size_diff;
    int64_t count, count_diff;
    size_t nframes;
    mg_frame *frames; /* innermost first: frames[0] called malloc */
} mg_entry;

/* A CUnit assertion failure. */
typedef struct mg_failure {
    char *file;
    unsigned line;
    char *condition;
} mg_failure;

typedef struct mg_test_result {
    char *binary, *suite, *name;
    mg_status status;
    int64_t leaked_bytes, object_growth, peak_bytes;
    uint64_t allocations;       /* allocations made during the test */
    mg_budget budget;           /* limits in force */
    unsigned violations;        /* MG_VIOL_* bits */
    mg_entry *diffs;            /* growth entries, largest size_diff first */
    size_t ndiffs;
    mg_entry *peak_diffs;       /* memory held at the peak, largest first */
    size_t npeak_diffs;
    mg_failure *failures;
    size_t nfailures;
    char *message;              /* one line for people: what happened; may be NULL on pass */
    int signal;                 /* crash: the signal number, else 0 */
    int exit_code;              /* error by exit(): the code, else 0 */
    double duration_s;
    bool traced;                /* diffs come from a re-run with full stacks */
    bool rerun_mismatch;        /* the re-run measured different figures than the first run */
    char *output;               /* captured stdout+stderr of the test, may be NULL */
    mg_baseline_cmp baseline;   /* comparison with --baseline */
} mg_test_result;

typedef struct mg_run {
    mg_test_result *tests;
    size_t ntests;
    double duration_s;
    char *started_at; /* ISO 8601 UTC, e.g. "2026-11-21T09:40:00Z" */
    char *hostname;
    char *baseline_path;      /* --baseline file, NULL when none */
    char **baseline_removed;  /* baseline keys with no test in this run */
    size_t nbaseline_removed;
    char *shard;              /* "I/N" when sharded, else NULL */
} mg_run;

void mg_entry_free_contents(mg_entry *e);
void mg_test_result_free_contents(mg_test_result *t);
void mg_run_free_contents(mg_run *run);

/* Counts per status, for summaries. */
typedef struct mg_tally {
    size_t total, pass, fail, crash, timeout, error, skip;
} mg_tally;
void mg_run_tally(const mg_run *run, mg_tally *out);

#endif
