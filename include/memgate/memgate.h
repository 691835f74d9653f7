/*
 * memgate public API.
 *
 * Two audiences use this header:
 *  - test authors, who only need MEMGATE_BUDGET(...) inside a test body;
 *  - tools and programs that drive the collector directly: start/stop, counters,
 *    snapshots, diffs, filters and collect hooks (the tracemalloc workflow in C).
 *
 * Linking libmemgate does not switch tracking on. Tracking starts when the memgate
 * runner preloads the library, or when the program calls memgate_start().
 *
 * Ownership: every object returned through an out-parameter by a *_take / *_compare
 * function belongs to the caller and is released with the matching *_free function.
 * Strings inside a memgate_stat are owned by the memgate_diff that holds them.
 */
#ifndef MEMGATE_MEMGATE_H
#define MEMGATE_MEMGATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MEMGATE_BUILDING_LIBRARY)
#define MEMGATE_API __attribute__((visibility("default")))
#else
#define MEMGATE_API
#endif

/* ---- Status codes ------------------------------------------------------------
 * 0 = success, negative = error. Append-only: new codes go last, none is removed. */
#define MEMGATE_STATUS_MAP(X)                                                      \
    X(OK, 0, "success")                                                            \
    X(ENOMEM, -1, "out of memory")                                                 \
    X(EINVAL, -2, "invalid argument")                                              \
    X(ENOTRUNNING, -3, "the collector is not running")                             \
    X(ENOSTACKS, -4, "stack capture is off (start with capture_stacks)")           \
    X(ESYMBOLS, -5, "symbolization is unavailable")                                \
    X(EFULL, -6, "table full")                                                     \
    X(ENOTFOUND, -7, "not found")

typedef enum memgate_status {
#define MEMGATE_STATUS_ENUM_(name, value, text) MEMGATE_##name = (value),
    MEMGATE_STATUS_MAP(MEMGATE_STATUS_ENUM_)
#undef MEMGATE_STATUS_ENUM_
} memgate_status;

/* Text for a status code; never NULL, for unknown codes "unknown memgate status". */
MEMGATE_API const char *memgate_strerror(int status);

/* "0.1.0": the version of the library actually loaded. */
MEMGATE_API const char *memgate_version(void);

/* ---- Sizes and budgets ------------------------------------------------------ */
#define MEMGATE_KiB(n) ((long long)(n) * 1024LL)
#define MEMGATE_MiB(n) ((long long)(n) * 1024LL * 1024LL)
#define MEMGATE_GiB(n) ((long long)(n) * 1024LL * 1024LL * 1024LL)

/* A limit may be a number (bytes or objects), MEMGATE_UNLIMITED, or left unset. */
#define MEMGATE_UNLIMITED (-1LL)
#define MEMGATE_UNSET (-2LL)

typedef struct memgate_budget {
    long long leak_bytes;    /* bytes the test may leave that nothing frees (after the
                              * child's orderly shutdown: suite cleanup, exit handlers) */
    long long object_growth; /* blocks the test may leave that nothing frees */
    long long peak_bytes;    /* highest live bytes during the test, from its start */
    long long net_bytes;     /* live bytes at the test's end minus at its start */
    long long net_blocks;    /* live blocks at the test's end minus at its start */
    long long lost_bytes;    /* leaked bytes no pointer reaches any more */
    long long warmups;       /* runs of the test before the measured one (not a limit) */
    long long repeat;        /* measured runs; the verdict takes the growth every run
                              * shows (not a limit) */
} memgate_budget;

/* Records the budget of the test that is running (used by MEMGATE_BUDGET). Fields equal
 * to MEMGATE_UNSET keep the limit from the next level down (budgets file, CLI, defaults).
 * size is sizeof(memgate_budget) as the caller was compiled: fields past it are unset,
 * so binaries built against an older header keep working. Outside the memgate runner
 * this only stores the values: the test runs unchanged. */
MEMGATE_API void memgate_budget_annotate_sized(const memgate_budget *budget, size_t size,
                                               const char *file, unsigned line);

/* The first version of the above, for binaries built before net_bytes existed: reads
 * leak_bytes, object_growth and peak_bytes only. */
MEMGATE_API void memgate_budget_annotate(const memgate_budget *budget, const char *file,
                                         unsigned line);

/* The in-code budget annotation, written as the first statement of a test body:
 *   MEMGATE_BUDGET(.leak_bytes = MEMGATE_KiB(4), .object_growth = 10);
 * Any subset of fields. Define MEMGATE_DISABLE before including this header to compile
 * annotations away entirely (then the library need not be linked). */
#if defined(MEMGATE_DISABLE)
#define MEMGATE_BUDGET(...) ((void)0)
#else
#if defined(__clang__)
#define MEMGATE_DIAG_PUSH_ _Pragma("clang diagnostic push")                           \
    _Pragma("clang diagnostic ignored \"-Winitializer-overrides\"")
#define MEMGATE_DIAG_POP_ _Pragma("clang diagnostic pop")
#elif defined(__GNUC__)
#define MEMGATE_DIAG_PUSH_ _Pragma("GCC diagnostic push")                             \
    _Pragma("GCC diagnostic ignored \"-Woverride-init\"")
#define MEMGATE_DIAG_POP_ _Pragma("GCC diagnostic pop")
#else
#define MEMGATE_DIAG_PUSH_
#define MEMGATE_DIAG_POP_
#endif
#define MEMGATE_BUDGET(...)                                                            \
    do {                                                                               \
        MEMGATE_DIAG_PUSH_                                                             \
        const memgate_budget memgate_budget_value_ = {.leak_bytes = MEMGATE_UNSET,     \
                                                      .object_growth = MEMGATE_UNSET,  \
                                                      .peak_bytes = MEMGATE_UNSET,     \
                                                      .net_bytes = MEMGATE_UNSET,      \
                                                      .net_blocks = MEMGATE_UNSET,     \
                                                      .lost_bytes = MEMGATE_UNSET,     \
                                                      .warmups = MEMGATE_UNSET,        \
                                                      .repeat = MEMGATE_UNSET,         \
                                                      __VA_ARGS__};                    \
        MEMGATE_DIAG_POP_                                                              \
        memgate_budget_annotate_sized(&memgate_budget_value_,                          \
                                      sizeof memgate_budget_value_, __FILE__, __LINE__); \
    } while (0)
#endif

/* 1 when this process was started by `memgate run` (or `memgate exec`), else 0. */
MEMGATE_API int memgate_under_runner(void);

/* ---- Start, stop, counters -------------------------------------------------- */
typedef struct memgate_options {
    int capture_stacks;  /* nonzero: record a call stack for every allocation */
    unsigned max_frames; /* stack depth, 1..64; 0 = default (32) */
} memgate_options;

/* Starts tracking allocations made from now on (opts may be NULL: counting only).
 * Blocks allocated before the start are not counted when they are freed.
 * Returns MEMGATE_OK, or MEMGATE_EINVAL for a bad option. Calling it while running
 * changes the options for new allocations. */
MEMGATE_API int memgate_start(const memgate_options *opts);

/* Stops tracking: later allocations and frees are no longer counted. */
MEMGATE_API int memgate_stop(void);

/* 1 when tracking is on, else 0. */
MEMGATE_API int memgate_is_tracking(void);

typedef struct memgate_counters {
    int64_t live_bytes;      /* requested bytes of live tracked blocks */
    int64_t live_blocks;     /* live tracked blocks ("objects") */
    int64_t peak_bytes;      /* highest live_bytes since the last memgate_reset_peak() */
    uint64_t total_allocs;   /* allocations counted since start */
    uint64_t total_frees;    /* frees of tracked blocks */
    uint64_t total_bytes;    /* bytes requested since start */
} memgate_counters;

/* Exact counters at the time of the call. */
MEMGATE_API void memgate_get_counters(memgate_counters *out);

/* Starts a new peak window: the peak becomes the current live_bytes. */
MEMGATE_API void memgate_reset_peak(void);

/* ---- Collect hooks: the gc.collect() analog --------------------------------- */
typedef void (*memgate_collect_fn)(void *ctx);

/* Registers fn(ctx) to run before every snapshot (memgate_snapshot_take and the runner's
 * before/after measurements), so pools and caches can release memory first. Hooks run
 * in registration order. Returns MEMGATE_EFULL past 64 hooks. */
MEMGATE_API int memgate_on_collect(memgate_collect_fn fn, void *ctx);

/* Removes a hook registered with the same fn and ctx; MEMGATE_ENOTFOUND if none. */
MEMGATE_API int memgate_remove_collect(memgate_collect_fn fn, void *ctx);

/* Runs the collect hooks now. */
MEMGATE_API void memgate_collect(void);

/* ---- Snapshots and diffs (tracemalloc's take_snapshot / compare_to) ---------- */
typedef struct memgate_snapshot memgate_snapshot;
typedef struct memgate_diff memgate_diff;

/* Runs the collect hooks, then records the live tracked blocks grouped by call stack.
 * Without capture_stacks every block falls under one empty traceback.
 * *out is freed with memgate_snapshot_free. */
MEMGATE_API int memgate_snapshot_take(memgate_snapshot **out);
MEMGATE_API void memgate_snapshot_free(memgate_snapshot *snapshot);

/* Totals of a snapshot. */
MEMGATE_API int64_t memgate_snapshot_bytes(const memgate_snapshot *snapshot);
MEMGATE_API int64_t memgate_snapshot_blocks(const memgate_snapshot *snapshot);

typedef enum memgate_group {
    MEMGATE_GROUP_TRACEBACK = 0, /* the whole call stack */
    MEMGATE_GROUP_FUNCTION = 1,  /* allocating function (frame 0): growth "by type" */
    MEMGATE_GROUP_LINE = 2,      /* file:line of frame 0 */
    MEMGATE_GROUP_FILE = 3,      /* source file of frame 0 */
    MEMGATE_GROUP_MODULE = 4     /* executable or shared object of frame 0 */
} memgate_group;

/* A tracemalloc.Filter: keeps (inclusive) or drops (exclusive) the traces with a frame
 * whose file matches file_pattern and whose module matches module_pattern (fnmatch
 * globs; NULL matches anything). As in tracemalloc, a trace is kept when it matches at
 * least one inclusive filter (if there are any) and no exclusive filter. */
typedef struct memgate_filter {
    int inclusive;
    const char *file_pattern;
    const char *module_pattern;
    int all_frames; /* nonzero: test every frame, zero: only frame 0 */
} memgate_filter;

typedef struct memgate_frame {
    const char *function; /* "?" when unknown */
    const char *file;     /* "" when unknown */
    unsigned line;        /* 0 when unknown */
    const char *module;   /* path of the executable or shared object */
    uintptr_t address;    /* return address as recorded */
} memgate_frame;

typedef struct memgate_stat {
    int64_t size, size_diff;   /* bytes now, and growth since the older snapshot */
    int64_t count, count_diff; /* blocks now, and growth */
    size_t nframes;            /* frames, innermost first (1 for non-traceback groups) */
    const memgate_frame *frames;
} memgate_stat;

/* Compares two snapshots (newer against older), grouped by `group`, keeping the traces
 * that pass `filters`. Entries are sorted by |size_diff|, then |count_diff|, largest
 * first; unchanged groups are omitted. Symbolizes the frames it needs (libdw). */
MEMGATE_API int memgate_snapshot_compare(const memgate_snapshot *newer,
                                         const memgate_snapshot *older, memgate_group group,
                                         const memgate_filter *filters, size_t nfilters,
                                         memgate_diff **out);
MEMGATE_API size_t memgate_diff_count(const memgate_diff *diff);
MEMGATE_API const memgate_stat *memgate_diff_get(const memgate_diff *diff, size_t index);
/* Prints at most `limit` entries (0 = all) in human form, sizes in KiB/MiB. */
MEMGATE_API void memgate_diff_print(const memgate_diff *diff, FILE *out, size_t limit);
MEMGATE_API void memgate_diff_free(memgate_diff *diff);

#ifdef __cplusplus
}
#endif
#endif
