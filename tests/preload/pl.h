/*
 * Shared helpers of the preload test programs: checks that report and count failures
 * (the program exits 1 if any failed), and counter differences.
 *
 * Checks run while the collector counts every allocation of the process, so the
 * helpers never allocate: a passing check only compares numbers, and a failing one
 * prints to the unbuffered stderr.
 */
#ifndef MEMGATE_TESTS_PRELOAD_PL_H
#define MEMGATE_TESTS_PRELOAD_PL_H

#include <memgate/memgate.h>
#include <stdint.h>
#include <stdio.h>

static int pl_failures;

static inline void pl_fail_eq(const char *file, int line, const char *a, const char *b,
                              long long va, long long vb) {
    fprintf(stderr, "%s:%d: FAILED %s == %s (%lld != %lld)\n", file, line, a, b, va, vb);
    pl_failures++;
}

static inline void pl_fail(const char *file, int line, const char *what) {
    fprintf(stderr, "%s:%d: FAILED %s\n", file, line, what);
    pl_failures++;
}

#define PL_CHECK(cond)                                                                     \
    do {                                                                                   \
        if (!(cond)) pl_fail(__FILE__, __LINE__, #cond);                                   \
    } while (0)

#define PL_EQ(a, b)                                                                        \
    do {                                                                                   \
        long long pl_a_ = (long long)(a), pl_b_ = (long long)(b);                          \
        if (pl_a_ != pl_b_) pl_fail_eq(__FILE__, __LINE__, #a, #b, pl_a_, pl_b_);          \
    } while (0)

/* Exits with the verdict; a summary line on success. */
static inline int pl_finish(const char *name) {
    if (pl_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, pl_failures);
        return 1;
    }
    fprintf(stderr, "%s: all checks passed\n", name);
    return 0;
}

static inline memgate_counters pl_counters(void) {
    memgate_counters c;
    memgate_get_counters(&c);
    return c;
}

/* Differences of the live figures and totals between two readings. */
typedef struct pl_delta {
    int64_t bytes, blocks, allocs, frees, total_bytes;
} pl_delta;

static inline pl_delta pl_diff(const memgate_counters *a, const memgate_counters *b) {
    pl_delta d = {b->live_bytes - a->live_bytes, b->live_blocks - a->live_blocks,
                  (int64_t)(b->total_allocs - a->total_allocs),
                  (int64_t)(b->total_frees - a->total_frees),
                  (int64_t)(b->total_bytes - a->total_bytes)};
    return d;
}

/* GCC drops a malloc/free pair whose pointer is not otherwise used: pl_keep makes the
 * block escape so the calls really happen. */
static void *volatile pl_sink;
static inline void *pl_keep(void *p) {
    pl_sink = p;
    return p;
}

#define PL_DELTA(d, eb, ec)                                                                \
    do {                                                                                   \
        PL_EQ((d).bytes, (eb));                                                            \
        PL_EQ((d).blocks, (ec));                                                           \
    } while (0)

#endif
