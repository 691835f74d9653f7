/*
 * The runner layer of the collector (internal.h lists the layers): measurement windows
 * (window.c), the orderly shutdown of a test child (shutdown.c) and the messages a
 * child sends (wire.c). Used by driver.c; never installed.
 */
#ifndef MEMGATE_COLLECTOR_HARNESS_H
#define MEMGATE_COLLECTOR_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* ---- measurement windows (window.c) -------------------------------------------------
 * A window opens before a test's setup and closes after its teardown. Blocks allocated
 * while it is the innermost open window carry its id (block.h), so that after the
 * child's shutdown mg__win[id] holds exactly what the test left that nothing freed.
 * Windows nest: a suite's window (suite isolation) stays open around its tests. */
typedef struct mg_window {
    unsigned id;           /* 1..MG_MAX_WINDOW */
    bool open, closed;
    struct mg_window *outer;
    int64_t bytes_a, blocks_a;   /* live totals at the open */
    uint64_t allocs_a;
    int64_t peak_seen;           /* highest live total seen while nested windows ran */
    uint64_t t_start;
    /* At the close: */
    int64_t net_bytes, net_blocks, peak_bytes, pending_bytes, pending_blocks;
    uint64_t allocations, dur_ns;
    /* Trace mode: per-stack aggregates at the open (for the net growth by stack). */
    struct mg_stackstat *snap_a;
    size_t snap_a_n, snap_a_cap;
    bool peak_recorded;          /* trace mode: the peak breakdown belongs to this window */
} mg_window;

uint64_t mg__now_ns(void);
/* Opens w as the innermost window: collect hooks, live totals, a fresh peak. */
void mg__window_open(mg_window *w, unsigned id);
/* Closes w (the innermost window): collect hooks, then its figures. */
void mg__window_close(mg_window *w);
/* The innermost open window, or NULL. */
mg_window *mg__window_innermost(void);

/* ---- orderly shutdown of a test child (shutdown.c) ------------------------------------ */
/* From now on this process is a test child: exit handlers registered through atexit,
 * __cxa_atexit or on_exit are kept here instead of in libc, and exit() reports. */
void mg__shutdown_capture(void (*on_exit_call)(int status));
/* Runs the kept exit handlers (newest first), then flushes stdio. */
void mg__shutdown_run_handlers(void);
/* Releases libc's caches (__libc_freeres): frees of blocks stamped with a window take
 * them out of its leak. Returns false, releasing nothing, while other threads run. */
bool mg__shutdown_release_libc(void);
/* Number of exit handlers kept so far. */
unsigned mg__shutdown_handlers(void);

/* ---- lost vs reachable (lost.c) ------------------------------------------------------------
 * Every live counted block (from the side table: a traced process), each marked reached
 * or not from the roots. Built once after a child's shutdown, for all its windows. */
typedef struct mg_reach_block {
    uintptr_t start;
    uint64_t size;
    uint32_t stack;
    unsigned window;
    bool reached;
} mg_reach_block;
typedef struct mg_reach mg_reach;
/* NULL when no memory was left for it. */
mg_reach *mg__reach_build(void);
const mg_reach_block *mg__reach_blocks(const mg_reach *r, size_t *n);
void mg__reach_free(mg_reach *r);

/* ---- the messages of a child (wire.c) -------------------------------------------------- */
/* Appends the loaded modules ("MOD" lines). */
void mg__wire_modules(mg_buf *b);
/* Appends a stack's frames ("STK" line), once per id per message (seen tracks that). */
void mg__wire_stack(mg_buf *b, uint32_t id);
/* Appends the "R" line of a closed window. */
void mg__wire_window(mg_buf *b, const mg_window *w);
/* Appends the annotation of the window's test ("A" line), if it made one. */
void mg__wire_annotation(mg_buf *b, unsigned w);
/* Trace mode, at the close of w: the net growth by stack ("N") and, when the window is
 * the one its peak breakdown belongs to, the memory at the peak ("PK", "P"). */
void mg__wire_window_diffs(mg_buf *b, const mg_window *w);
/* Trace mode, after the shutdown: the blocks of window id still live, by stack ("D"),
 * with the part of each no pointer reaches when reach is given (then also the window's
 * lost totals, "LOST"). */
void mg__wire_leak_diffs(mg_buf *b, unsigned id, const mg_reach *reach);
/* Writes b to fd; a failure ends the child with MG_EXIT_NOREPORT. Empties b. */
void mg__wire_flush(mg_buf *b, int fd);

#endif
