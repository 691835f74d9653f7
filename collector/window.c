/*
 * Measurement windows. A window opens right before a test's setup and closes right
 * after its teardown; the figures of DESIGN.md "Measurements" are taken here:
 *  - net_bytes/net_blocks: live totals at the close minus at the open;
 *  - peak_bytes: the highest live total while the window was open, from its start;
 *  - allocations: allocation calls made meanwhile;
 *  - pending: blocks stamped with the window (block.h) still live at the close. The
 *    leak is what is left of them after the child's shutdown (mg__win[id]); a window
 *    with nothing pending has no leak whatever the shutdown does.
 * Collect hooks (memgate_on_collect) run at both edges, before the figures are read.
 *
 * Windows nest: in suite isolation a suite's window stays open around its tests, so the
 * suite's init and cleanup (and anything between tests) are measured too. The peak
 * counter is reset when a window opens; the enclosing window keeps the highest value
 * seen before and during its nested windows in peak_seen.
 */
#include <time.h>

#include "block.h"
#include "harness.h"

static mg_window *innermost;

uint64_t mg__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int64_t live_bytes(void) { return atomic_load_explicit(&mg__g.live_bytes, memory_order_relaxed); }

mg_window *mg__window_innermost(void) { return innermost; }

void mg__window_open(mg_window *w, unsigned id) {
    mg__run_collect_hooks();
    mg__annotation.set = false;
    mg_window *outer = innermost;
    *w = (mg_window){.id = id, .outer = outer};
    if (outer) outer->peak_seen = max64(outer->peak_seen, atomic_load(&mg__g.peak_bytes));
    w->bytes_a = live_bytes();
    w->blocks_a = atomic_load(&mg__g.live_blocks);
    w->allocs_a = atomic_load(&mg__g.total_allocs);
    w->peak_seen = w->bytes_a;
    memgate_reset_peak(); /* also forgets a peak breakdown recorded before */
    if (mg__g.capture) w->snap_a = mg__stack_snapshot(&w->snap_a_n, &w->snap_a_cap);
    mg__win[id].bytes = 0;
    mg__win[id].blocks = 0;
    w->open = true;
    innermost = w;
    mg__g.window = id;
    w->t_start = mg__now_ns();
}

void mg__window_close(mg_window *w) {
    if (!w->open || w->closed) return;
    w->dur_ns = mg__now_ns() - w->t_start;
    mg__peak_flush(true); /* before the hooks free anything: the peak may be now */
    mg__run_collect_hooks();
    int64_t peak = max64(atomic_load(&mg__g.peak_bytes), w->peak_seen);
    w->peak_bytes = max64(peak - w->bytes_a, 0);
    w->net_bytes = live_bytes() - w->bytes_a;
    w->net_blocks = atomic_load(&mg__g.live_blocks) - w->blocks_a;
    w->allocations = atomic_load(&mg__g.total_allocs) - w->allocs_a;
    w->pending_bytes = atomic_load(&mg__win[w->id].bytes);
    w->pending_blocks = atomic_load(&mg__win[w->id].blocks);
    w->closed = true;
    innermost = w->outer;
    mg__g.window = innermost ? innermost->id : 0;
    if (innermost) innermost->peak_seen = max64(innermost->peak_seen, peak);
}
