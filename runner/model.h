/*
 * The runner's result model: what one `memgate run` measured, shared by the
 * orchestrator, the budget logic and every reporter.
 * All strings are heap-allocated and owned by the struct that holds them;
 * mg_run_free_contents() releases everything.
 *
 * Figures, limits and baseline figures are arrays indexed by mg_metric (metrics.h), and
 * masks of metrics (violations, regressions, known figures) use MG_M_BIT(id). Each
 * array also has one named member per metric, generated from the same table, for code
 * that handles one particular metric (a protocol field, a test fixture):
 * t->fig[MG_M_PEAK] and t->peak_bytes are the same storage.
 */
#ifndef MEMGATE_RUNNER_MODEL_H
#define MEMGATE_RUNNER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

typedef enum mg_status {
    MG_ST_PASS = 0,
    MG_ST_FAIL,    /* assertion failure, budget breach or baseline regression */
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
    MG_SRC_CLI,         /* a budget option (--leak-bytes, --peak, ...) */
    MG_SRC_FILE_DEFAULTS,
    MG_SRC_FILE_TEST,   /* budgets file "tests" entry (glob or exact) */
    MG_SRC_ANNOTATION   /* MEMGATE_BUDGET in the test body */
} mg_limit_source;

/* "builtin", "cli", "file-defaults", "file-test", "annotation". */
const char *mg_source_name(mg_limit_source src);

/* A result entry is a test, or a suite's own entry "(suite)" measured from its init to
 * its cleanup (JSON "kind"). */
typedef enum mg_kind { MG_KIND_TEST = 0, MG_KIND_SUITE } mg_kind;

/* "test", "suite". */
const char *mg_kind_name(mg_kind k);

/* How tests share children: a fresh child per test, or one child per suite. */
typedef enum mg_isolation { MG_ISO_TEST = 0, MG_ISO_SUITE } mg_isolation;

/* "test", "suite". */
const char *mg_isolation_name(mg_isolation iso);

/* The name of the suite entry of a suite (JSON "name" of a kind "suite" entry). */
#define MG_SUITE_ENTRY_NAME "(suite)"

typedef struct mg_limit {
    int64_t value;          /* MG_UNLIMITED or >= 0 */
    mg_limit_source source;
    char *origin;           /* detail, may be NULL: "budgets.json: tests[\"cache/...\"]", "t.c:42" */
} mg_limit;

/* Per-test settings that are not limits, resolved with the limits (budgets file keys
 * "warmups", "isolation", "alloc_functions", "repeat"). */
typedef struct mg_settings {
    unsigned warmups;        /* runs of the test before the measured one */
    mg_isolation isolation;
    unsigned repeat;         /* measured runs, >= 1 */
    char **alloc_functions;  /* globs naming allocator wrappers (heap strings) */
    size_t nalloc_functions;
} mg_settings;

/* Member declarations generated from the metric table. */
#define MG_MODEL_FIG_MEMBER_(ID, FIELD, ...) int64_t FIELD;
#define MG_MODEL_LIMIT_MEMBER_(ID, FIELD, UNIT, LIMIT, ...) mg_limit LIMIT;

/* The limits in force for a test: one per metric (metrics without a budget keep an
 * unlimited built-in slot that nothing judges), plus its settings. */
typedef struct mg_budget {
    union {
        mg_limit lim[MG_M_COUNT];
        struct {
            MG_METRICS(MG_MODEL_LIMIT_MEMBER_)
        };
    };
    mg_settings settings;
} mg_budget;

/* Sets every limit to its built-in default (source builtin, no origin) and the settings
 * to theirs (no warm-ups, test isolation, one run, no allocator wrappers). Overwrites b
 * without freeing it. */
void mg_budget_init_builtin(mg_budget *b);
void mg_budget_free_contents(mg_budget *b);
/* A deep copy: dst's strings are its own. dst is overwritten without being freed. */
void mg_budget_copy(mg_budget *dst, const mg_budget *src);

/* Names of single metric bits, kept for code that names one metric. */
#define MG_VIOL_LEAK MG_M_BIT(MG_M_LEAK)
#define MG_VIOL_GROWTH MG_M_BIT(MG_M_GROWTH)
#define MG_VIOL_PEAK MG_M_BIT(MG_M_PEAK)
#define MG_VIOL_ALLOCS MG_M_BIT(MG_M_ALLOCS)

/* Comparison of a test with a stored baseline (--baseline). */
typedef enum mg_baseline_state {
    MG_BASE_NONE = 0, /* no baseline in use, or the test has no figures (crash...) */
    MG_BASE_NEW,      /* the test is not in the baseline: reported, not a failure */
    MG_BASE_SAME,     /* within tolerance */
    MG_BASE_REGRESSED /* a figure grew beyond its tolerance: the test fails */
} mg_baseline_state;

/* Tolerance of one metric: a figure regresses when
 *   measured > base + max(base * percent / 100, absolute). */
typedef struct mg_tolerance_one {
    double percent;
    int64_t absolute;
} mg_tolerance_one;

/* Highest percentage a tolerance may give; it keeps the integer arithmetic in range. */
#define MG_TOLERANCE_PERCENT_MAX 10000

/* The tolerance's percentage in millionths of a percent, clamped to
 * [0, MG_TOLERANCE_PERCENT_MAX %] (NaN and negatives count as 0). */
int64_t mg_tolerance_micro(const mg_tolerance_one *tol);

/* floor(base * percent / 100) for base >= 0 in integer arithmetic (so "10%" of 1000 is
 * exactly 100), saturating at INT64_MAX; 0 for base <= 0. */
int64_t mg_tolerance_percent_of(int64_t base, const mg_tolerance_one *tol);

/* The growth tol allows over base: max(base * percent / 100, absolute). */
int64_t mg_tolerance_allowance(int64_t base, const mg_tolerance_one *tol);

/* Whether measured grew beyond base + allowance (the boundary itself passes). */
bool mg_tolerance_exceeded(int64_t measured, int64_t base, const mg_tolerance_one *tol);

typedef struct mg_baseline_cmp {
    mg_baseline_state state;
    union { /* the baseline's figures (metrics the baseline tracks; others stay 0) */
        int64_t fig[MG_M_COUNT];
        struct {
            MG_METRICS(MG_MODEL_FIG_MEMBER_)
        };
    };
    mg_tolerance_one tol[MG_M_COUNT]; /* the tolerance each tracked figure was held to */
    bool tol_known;                   /* tol is filled (reports before schema 2 lack it) */
    unsigned regressions;             /* MG_M_BIT of the figures that grew beyond tolerance */
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
    int64_t lost_size, lost_count; /* the part of the entry no pointer reaches */
    bool lost_known;               /* lost_size/lost_count were measured (JSON null if not) */
    size_t culprit;                /* the frame one-line summaries name (< nframes, or 0) */
    size_t nframes;
    mg_frame *frames; /* innermost first: frames[0] called malloc */
} mg_entry;

/* The frame one-line summaries name: frames[culprit] (frames[0] when culprit is out of
 * range); NULL when the entry has no frames. */
const mg_frame *mg_entry_culprit(const mg_entry *e);

/* A CUnit assertion failure. */
typedef struct mg_failure {
    char *file;
    unsigned line;
    char *condition;
} mg_failure;

/* Allocation-failure torture (memgate torture): what a test did when one of its
 * allocations failed (NULL, ENOMEM). */
typedef enum mg_torture_outcome {
    MG_TO_PASS = 0,  /* it coped: no crash, no leak (a failed assertion is coping too) */
    MG_TO_LEAK,      /* it left blocks nothing frees: a leak on the error path */
    MG_TO_CRASH,     /* killed by a signal (a NULL dereference, an abort) */
    MG_TO_HANG,      /* timed out */
    MG_TO_ERROR,     /* exit() or a harness problem */
    MG_TO_UNREACHED  /* it made fewer allocations this time: the point did not apply */
} mg_torture_outcome;

/* "pass", "leak", "crash", "hang", "error", "unreached". */
const char *mg_torture_outcome_name(mg_torture_outcome o);

typedef struct mg_torture_point {
    uint64_t alloc;            /* the allocation made to fail, 1-based in the test's window */
    mg_torture_outcome outcome;
    int64_t leaked_bytes, object_growth; /* a leak on the error path */
    int signal;                /* a crash: its signal */
    char *message;             /* one line: what happened, may be NULL for pass */
    mg_entry *site;            /* a crash's site or the leak's top traceback (0 or 1 entry) */
    size_t nsite;
} mg_torture_point;

/* The figures of one measured run of a test run several times (--repeat). */
typedef struct mg_run_figures {
    int64_t leaked_bytes, object_growth, net_bytes, net_blocks, peak_bytes;
    bool leak_known; /* the run's leak after shutdown was measured */
} mg_run_figures;

typedef struct mg_test_result {
    char *binary, *suite, *name;
    mg_kind kind;               /* a test, or a suite's "(suite)" entry */
    mg_status status;
    mg_isolation isolation;     /* how the test was run */
    unsigned warmups;           /* runs before the measured one */
    unsigned repeat;            /* measured runs (1, or --repeat N) */
    mg_run_figures *runs;       /* each measured run's figures when repeat > 1 */
    size_t nruns;
    bool has_slope;             /* repeat > 1: the steady growth per run below */
    int64_t slope_bytes, slope_blocks;
    bool tortured;              /* memgate torture ran it (the fields below) */
    uint64_t torture_allocations; /* allocations of its window in the counting run */
    mg_torture_point *torture;  /* the points tried, by allocation */
    size_t ntorture;
    union {                     /* the measured figures, by metric */
        int64_t fig[MG_M_COUNT];
        struct {
            MG_METRICS(MG_MODEL_FIG_MEMBER_)
        };
    };
    unsigned known;             /* MG_M_BIT of the figures that were measured; the others
                                 * are written as null and never judged */
    int64_t suppressed_bytes;   /* removed from the figures by suppressions */
    int64_t suppressed_blocks;
    mg_budget budget;           /* limits in force */
    unsigned violations;        /* MG_M_BIT of the broken limits */
    mg_entry *diffs;            /* growth entries, largest size_diff first */
    size_t ndiffs;
    mg_entry *peak_diffs;       /* memory held at the peak, largest first */
    size_t npeak_diffs;
    mg_entry *crash_site;       /* a crash: where (one entry: its stack, and the live
                                 * bytes/blocks the test held then), else NULL */
    size_t ncrash_site;
    mg_failure *failures;
    size_t nfailures;
    char *message;              /* one line for people: what happened; may be NULL on pass */
    char **notes;               /* short remarks ("threads were still running ...") */
    size_t nnotes;
    int signal;                 /* crash: the signal number, else 0 */
    int exit_code;              /* error by exit(): the code, else 0 */
    double duration_s;
    bool traced;                /* diffs come from a re-run with full stacks */
    bool rerun_mismatch;        /* the re-run measured different figures than the first run */
    char *output;               /* captured stdout+stderr of the test, may be NULL */
    mg_baseline_cmp baseline;   /* comparison with --baseline */
} mg_test_result;

#undef MG_MODEL_FIG_MEMBER_
#undef MG_MODEL_LIMIT_MEMBER_

/* Whether figure id of t was measured. */
static inline bool mg_test_known(const mg_test_result *t, mg_metric id) {
    return (t->known & MG_M_BIT(id)) != 0;
}

/* Stores a measured figure and marks it known. */
static inline void mg_test_set(mg_test_result *t, mg_metric id, int64_t v) {
    t->fig[id] = v;
    t->known |= MG_M_BIT(id);
}

/* Appends a note (printf format) to t. */
void mg_test_add_note(mg_test_result *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
    bool partial;             /* only some tests were selected (-k, --shard): baseline keys
                               * without a test are not "removed" */
    bool interrupted;         /* SIGINT/SIGTERM ended the run early */
    char **warnings;          /* run-level warnings for people (duplicates, old formats) */
    size_t nwarnings;
} mg_run;

/* Appends a warning (printf format) to run, unless the same text is already there. */
void mg_run_add_warning(mg_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mg_entry_free_contents(mg_entry *e);
void mg_test_result_free_contents(mg_test_result *t);
void mg_run_free_contents(mg_run *run);

/* Counts per status, for summaries. */
typedef struct mg_tally {
    size_t total, pass, fail, crash, timeout, error, skip;
} mg_tally;
void mg_run_tally(const mg_run *run, mg_tally *out);

#endif
