/*
 * The metric table: every figure memgate measures, declared once. The JSON writer and
 * reader, the budgets file, the CLI budget options, annotations, the budget check, the
 * baseline and every reporter iterate this table, so adding a metric is adding a row
 * (LeakSanitizer's lsan_flags.inc and libuv's UV_ERRNO_MAP work the same way).
 *
 * Definitions (DESIGN.md, "Measurements"):
 *   leaked_bytes / object_growth  bytes / blocks allocated inside the test's window that
 *                                 are still live after the child's orderly shutdown
 *   lost_bytes / lost_blocks      the part of that leak no pointer reaches any more
 *   net_bytes / net_blocks        live at the window's end minus at its start (the only
 *                                 figures that may be negative)
 *   peak_bytes                    highest live requested bytes during the window
 *   allocations                   allocation calls the test made
 *
 * Internal to the runner, never installed.
 */
#ifndef MEMGATE_RUNNER_METRICS_H
#define MEMGATE_RUNNER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "No limit" as a limit value (the JSON report writes null). */
#define MG_UNLIMITED (-1LL)

/* What a figure counts: printed as a size ("4.0 KiB") or as a plain number. */
typedef enum mg_unit { MG_UNIT_BYTES = 0, MG_UNIT_COUNT } mg_unit;

/* When the console's per-test line shows a figure (it is never shown when unknown). */
typedef enum mg_line_rule {
    MG_LINE_ALWAYS = 0, /* every line of a test with figures */
    MG_LINE_KNOWN,      /* whenever it was measured */
    MG_LINE_PAIRED,     /* when its budget is set or it differs from its paired figure */
    MG_LINE_NEVER       /* only in the problem block and the full report */
} mg_line_rule;

/* Which traceback table explains a figure. */
typedef enum mg_traces {
    MG_TRACE_NONE = 0,
    MG_TRACE_GROWTH, /* diffs: tracebacks of the memory left live */
    MG_TRACE_PEAK    /* peak_diffs: tracebacks holding memory at the peak */
} mg_traces;

/*
 * One row per metric, in report order. Columns:
 *   ID        enum constant (mg_metric)
 *   FIELD     JSON key of the figure, also its member name in the model
 *   UNIT      MG_UNIT_BYTES or MG_UNIT_COUNT
 *   LIMIT     budget key (budgets file, JSON budget, annotation field), also the member
 *             name of its limit in mg_budget; rows without a budget still name a slot
 *   BUDGET    1 when the metric has a budget (LIMIT is a real key), else 0
 *   CLI       CLI option setting its limit, or NULL
 *   ARG       the option's argument in --help ("SIZE" or "N"), or NULL
 *   DEFAULT   built-in limit: 0 or MG_UNLIMITED
 *   LABEL     console and HTML label ("leak", "net blocks")
 *   NEG       1 when the figure may be negative (net figures only)
 *   LINE      mg_line_rule of the console's per-test line
 *   PAIR      the metric a MG_LINE_PAIRED figure is compared with (else its own ID)
 *   TRACES    mg_traces: which traceback table explains the figure
 *   HTML      1 for a column (and a chart bar) of the HTML summary table
 *   BASE      1 when baselines track the figure
 *   TOL       its name in --tolerance texts ("peak=10%"), or NULL
 *   TOLPCT    default tolerance in percent (0 = exact)
 *   SINCE     report schema_version that introduced the key (a reader requires the
 *             key in documents of that version and later)
 *   HELP      the --help text of its CLI option
 */
#define MG_METRICS(X)                                                                     \
    X(MG_M_LEAK, leaked_bytes, MG_UNIT_BYTES, leak_bytes, 1, "--leak-bytes", "SIZE", 0,      \
      "leak", 0, MG_LINE_ALWAYS, MG_M_LEAK, MG_TRACE_GROWTH, 1, 1, "leak", 0, 1,             \
      "bytes allocated in a test and still live after shutdown (default 0)")                \
    X(MG_M_GROWTH, object_growth, MG_UNIT_COUNT, object_growth, 1, "--object-growth", "N",  \
      0, "growth", 0, MG_LINE_ALWAYS, MG_M_GROWTH, MG_TRACE_GROWTH, 1, 1, "growth", 0, 1,    \
      "blocks allocated in a test and still live after shutdown (default 0)")               \
    X(MG_M_LOST_BYTES, lost_bytes, MG_UNIT_BYTES, lost_bytes, 1, "--lost-bytes", "SIZE",     \
      MG_UNLIMITED, "lost", 0, MG_LINE_KNOWN, MG_M_LOST_BYTES, MG_TRACE_GROWTH, 0, 0, NULL,  \
      0, 2, "leaked bytes no pointer reaches any more (default unlimited)")                  \
    X(MG_M_LOST_BLOCKS, lost_blocks, MG_UNIT_COUNT, lost_blocks, 0, NULL, NULL,              \
      MG_UNLIMITED, "lost blocks", 0, MG_LINE_NEVER, MG_M_LOST_BLOCKS, MG_TRACE_GROWTH, 0,   \
      0, NULL, 0, 2, NULL)                                                                   \
    X(MG_M_NET_BYTES, net_bytes, MG_UNIT_BYTES, net_bytes, 1, "--net-bytes", "SIZE",         \
      MG_UNLIMITED, "net", 1, MG_LINE_PAIRED, MG_M_LEAK, MG_TRACE_GROWTH, 0, 0, NULL, 0, 2,  \
      "live bytes at a test's end minus at its start (default unlimited)")                  \
    X(MG_M_NET_BLOCKS, net_blocks, MG_UNIT_COUNT, net_blocks, 1, "--net-blocks", "N",        \
      MG_UNLIMITED, "net blocks", 1, MG_LINE_PAIRED, MG_M_GROWTH, MG_TRACE_GROWTH, 0, 0,     \
      NULL, 0, 2, "live blocks at a test's end minus at its start (default unlimited)")     \
    X(MG_M_PEAK, peak_bytes, MG_UNIT_BYTES, peak_bytes, 1, "--peak", "SIZE", MG_UNLIMITED,   \
      "peak", 0, MG_LINE_ALWAYS, MG_M_PEAK, MG_TRACE_PEAK, 1, 1, "peak", 10, 1,              \
      "peak live bytes during a test (default unlimited)")                                  \
    X(MG_M_ALLOCS, allocations, MG_UNIT_COUNT, allocations, 0, NULL, NULL, MG_UNLIMITED,     \
      "allocations", 0, MG_LINE_NEVER, MG_M_ALLOCS, MG_TRACE_NONE, 0, 1, "allocs", 10, 2,    \
      NULL)

typedef enum mg_metric {
#define MG_METRIC_ENUM_(ID, ...) ID,
    MG_METRICS(MG_METRIC_ENUM_)
#undef MG_METRIC_ENUM_
    MG_M_COUNT
} mg_metric;

/* The bit of metric id in violation and regression masks and in mg_test_result.known. */
#define MG_M_BIT(id) (1u << (unsigned)(id))
/* Every metric's bit. */
#define MG_M_ALL (MG_M_BIT(MG_M_COUNT) - 1u)

/* One row of the table as data. */
typedef struct mg_metric_info {
    mg_metric id;
    const char *key;        /* JSON key of the figure: "leaked_bytes" */
    mg_unit unit;
    const char *budget_key; /* "leak_bytes"; NULL when the metric has no budget */
    const char *cli;        /* "--leak-bytes"; NULL when there is no option */
    const char *cli_arg;    /* "SIZE", "N"; NULL without an option */
    int64_t default_limit;  /* 0 or MG_UNLIMITED */
    const char *label;      /* "leak" */
    bool may_be_negative;
    mg_line_rule line;
    mg_metric pair;
    mg_traces traces;
    bool html_column;
    bool baseline;          /* tracked by baselines */
    const char *tol_name;   /* "peak" in "--tolerance peak=10%"; NULL when untracked */
    double tol_percent;     /* default tolerance */
    int since;              /* report schema_version that introduced the figure */
    const char *help;       /* --help text of the option; NULL without one */
} mg_metric_info;

extern const mg_metric_info mg_metrics[MG_M_COUNT];

/* The row of id (id must be < MG_M_COUNT). */
static inline const mg_metric_info *mg_metric_get(mg_metric id) { return &mg_metrics[id]; }

static inline bool mg_metric_bytes(mg_metric id) { return mg_metrics[id].unit == MG_UNIT_BYTES; }

/* The metric's name in "violations" and "regressions" lists: its budget key when it has
 * a budget ("leak_bytes"), else its figure key ("allocations"). */
const char *mg_metric_name(mg_metric id);

/* The metric whose figure key (match_budget false) or mg_metric_name / budget key
 * (match_budget true) is name; -1 when none. */
int mg_metric_by_key(const char *name, bool match_budget);

/* Writes the figure as people read it: "4.0 KiB" for bytes, "12" for counts. */
void mg_metric_format(mg_metric id, int64_t v, char *buf, size_t len);

/* Writes "leak_bytes, object_growth, ... or peak_bytes" into buf: every budget key in
 * table order, for messages; with extra (may be NULL), those names follow the keys. */
void mg_metric_budget_keys(char *buf, size_t len, const char *const *extra);

#endif
