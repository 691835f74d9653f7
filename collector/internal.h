/*
 * libmemgate internals. Never installed.
 *
 * Rooms, in layers (a file only calls into its own layer or the ones above it):
 *  core:    fmt.c (allocation-free formatting, logging, raw memory), interpose.c (the
 *           malloc family, bootstrap, per-block trailers: block.h), table.c (side table:
 *           stack ids of traced blocks, sizes that do not fit a trailer), stacks.c
 *           (prefix tree of frames, per-stack live aggregates), unwind.c (capture);
 *  api:     api.c (public API, collect hooks, annotation), snapshot.c (snapshots, diffs);
 *  runner:  window.c (measurement windows and their figures), shutdown.c (exit
 *           handlers of a test child, orderly shutdown), wire.c (the messages a test
 *           child sends), driver.c (protocol with the CLI, fork per test, timeouts),
 *           adapter.h + adapter_cunit.c (the test framework: the only file that names
 *           CUnit).
 * The core reports heap misuse through a hook (mg__g.misuse) that the runner layer
 * installs, so nothing in the core depends on the layers above.
 *
 * Rule for everything here: the collector never calls malloc for itself. Its memory
 * comes from mmap (mg__sys_alloc), its messages are formatted into fixed buffers and
 * written with write(2).
 */
#ifndef MEMGATE_COLLECTOR_INTERNAL_H
#define MEMGATE_COLLECTOR_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/single_threaded.h>

#include "memgate/memgate.h"

#define MG_LIKELY(x) __builtin_expect(!!(x), 1)
#define MG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MG_TLS __thread __attribute__((tls_model("initial-exec")))
#define MG_HIDDEN __attribute__((visibility("hidden")))

#define MG_MAX_FRAMES 64
#define MG_DEFAULT_FRAMES 32

/* ---- stack ids -----------------------------------------------------------------
 * 23 bits are stored per traced block. Id 0 = "no stack recorded". The two highest ids
 * are reserved: MG_STACK_INTERNAL marks blocks that are never counted (the collector's
 * own re-entrant allocations, CUnit's failure records), MG_STACK_OVERFLOW stands for
 * any stack once the tree is full. */
#define MG_STACK_BITS 23
#define MG_STACK_NONE 0u
#define MG_STACK_INTERNAL ((1u << MG_STACK_BITS) - 1u)
#define MG_STACK_OVERFLOW ((1u << MG_STACK_BITS) - 2u)
#define MG_STACK_MAX_NODES (MG_STACK_OVERFLOW - 1u)

/* Largest request the table can store exactly (1 TiB); larger requests fail with ENOMEM
 * before reaching the allocator, which could not satisfy them anyway on this class of
 * machine. */
#define MG_SIZE_BITS 40
#define MG_SIZE_MAX ((UINT64_C(1) << MG_SIZE_BITS) - 1)

/* ---- raw memory and formatting (fmt.c) -------------------------------------------- */
void *mg__sys_alloc(size_t size);          /* zeroed, page-granular mmap; NULL on failure */
/* The same, with the pages populated up front: for memory that is about to be written
 * whole (table growth, stack tree chunks), one call instead of a fault per page. */
void *mg__sys_alloc_populated(size_t size);
void mg__sys_free(void *p, size_t size);
void mg__log(const char *fmt, ...);        /* "memgate: ..." to stderr, %s %d %u %zu %lld %llu %x %p only */
size_t mg__fmt(char *buf, size_t len, const char *fmt, ...);

/* Growable byte buffer on mmap, for messages to the runner. */
typedef struct mg_buf {
    char *data;
    size_t len, cap;
} mg_buf;
void mg__buf_put(mg_buf *b, const char *s, size_t n);
void mg__buf_puts(mg_buf *b, const char *s);
void mg__buf_printf(mg_buf *b, const char *fmt, ...);
/* Appends s percent-escaping ' ', '%', control characters and bytes >= 0x7f ("-" for
 * NULL or empty), so it is one token on a line. */
void mg__buf_esc(mg_buf *b, const char *s);
void mg__buf_release(mg_buf *b);
/* write(2) all of it, retrying on EINTR and short writes; -1 on error. */
int mg__write_all(int fd, const void *data, size_t len);

/* ---- global state ------------------------------------------------------------ */
typedef struct mg_global {
    /* 0: forward only (linked but not started); 1: record every allocation. */
    _Atomic int recording;
    int capture;           /* capture stacks for new allocations */
    unsigned max_frames;   /* 1..MG_MAX_FRAMES */

    _Atomic int64_t live_bytes, live_blocks, peak_bytes;
    _Atomic uint64_t total_allocs, total_frees, total_bytes;

    /* The measurement window new blocks are stamped with (block.h); 0 = none. */
    unsigned window;
    bool peak_tracking;    /* record per-stack aggregates at the peak (trace mode) */
    /* Allocation-failure torture: the fail_at-th counted allocation inside a window
     * returns NULL with ENOMEM (0: never); fail_count counts them. */
    _Atomic uint64_t fail_at, fail_count;
    /* Heap misuse seen by free/realloc (MG_MISUSE_*), reported by the runner layer;
     * NULL: the pointer goes to the real allocator, which has its own checks. */
    void (*misuse)(int kind, uintptr_t p, void *ret);
} mg_global;

enum {
    MG_MISUSE_DOUBLE_FREE = 1, /* a block freed twice (still in the allocator's cache) */
    MG_MISUSE_BAD_TRAILER = 2  /* the 8 bytes after a block were overwritten, or the
                                * pointer was never returned by malloc */
};

extern mg_global mg__g MG_HIDDEN;

/* The thread's re-entrancy guard: set while the collector works on this thread, so
 * allocations made by libunwind, dl_iterate_phdr or libc on our behalf are forwarded
 * (and recorded as internal) instead of being measured. */
extern MG_TLS int mg__guard;

static inline bool mg__mt(void) { return !__libc_single_threaded; }

/* Counter update: a plain load/store while the process has one thread, an atomic
 * read-modify-write once threads exist. */
static inline int64_t mg__add(_Atomic int64_t *c, int64_t v) {
    if (MG_LIKELY(!mg__mt())) {
        int64_t n = atomic_load_explicit(c, memory_order_relaxed) + v;
        atomic_store_explicit(c, n, memory_order_relaxed);
        return n;
    }
    return atomic_fetch_add_explicit(c, v, memory_order_relaxed) + v;
}
static inline void mg__addu(_Atomic uint64_t *c, uint64_t v) {
    if (MG_LIKELY(!mg__mt()))
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* Live figures of the blocks allocated in one window (leak after shutdown = what is
 * left here). Indexed by window id, 1..MG_MAX_WINDOW (block.h). */
typedef struct mg_wincount {
    _Atomic int64_t bytes, blocks;
} mg_wincount;
extern mg_wincount mg__win[] MG_HIDDEN;

/* ---- side table (table.c) -----------------------------------------------------------
 * Sharded open-addressing hash table, linear probing with backward-shift deletion,
 * 16 bytes per slot, grown at 70% load. Each shard has its own spin lock, taken only
 * when the process has more than one thread. Holds the blocks whose trailer has the
 * table bit: traced blocks (their stack id) and blocks whose slack does not fit a
 * trailer (their size). */
typedef struct mg_block {
    uint64_t size;   /* requested bytes */
    uint32_t stack;  /* stack id */
} mg_block;

/* Inserts p. Returns 0; 1 when an entry for p was already there (a free we never saw)
 * and was replaced, its old contents in *replaced; -1 if the table could not grow. */
int mg__table_insert(uintptr_t p, uint64_t size, uint32_t stack, mg_block *replaced);
/* Removes p; returns 1 and fills *out if it was there, else 0. */
int mg__table_remove(uintptr_t p, mg_block *out);
/* Looks p up without removing it. */
int mg__table_find(uintptr_t p, mg_block *out);
/* Changes the stack id of a live block (to MG_STACK_INTERNAL, to stop counting it). */
int mg__table_set_stack(uintptr_t p, uint32_t stack);
/* Calls fn for every live block, shard by shard, each shard locked meanwhile. */
void mg__table_foreach(void (*fn)(uintptr_t p, const mg_block *b, void *ctx), void *ctx);
/* Live entries and bytes of table memory, for the overhead figures. */
void mg__table_stats(uint64_t *entries, uint64_t *bytes);
/* Sum of each shard's highest entry count (about the peak number of live blocks). */
uint64_t mg__table_peak_entries(void);
void mg__table_lock_all(void);   /* pthread_atfork prepare */
void mg__table_unlock_all(void); /* parent and child */

/* ---- stacks (stacks.c, unwind.c) ------------------------------------------------- */
/* Captures the current call stack above the hook whose return address is `ret`,
 * innermost first, frames[0] == ret. Returns the frame count. */
int mg__capture(void *ret, uintptr_t *frames, int max);
typedef int (*mg_unwind_fn)(uintptr_t *frames, int max);
/* The unwinder in use (libunwind by default, frame pointers with MEMGATE_UNWIND=fp);
 * tests may install their own to feed fixed stacks. */
extern mg_unwind_fn mg__unwind MG_HIDDEN;
int mg__unwind_libunwind(uintptr_t *frames, int max);
int mg__unwind_fp(uintptr_t *frames, int max);

/* Interns a stack (innermost first) in the prefix tree; returns its id (the id of
 * the node of frames[0]), MG_STACK_NONE for n == 0, MG_STACK_OVERFLOW when full. */
uint32_t mg__stack_intern(const uintptr_t *frames, int n);
/* Writes the frames of a stack id, innermost first; returns the count. */
int mg__stack_frames(uint32_t id, uintptr_t *frames, int max);
/* Number of nodes (ids 1..n-1 are valid). */
uint32_t mg__stack_count(void);
/* Per-stack live aggregates (kept for every block with a stack id). */
void mg__stack_account(uint32_t id, int64_t bytes, int64_t count);
void mg__stack_live(uint32_t id, int64_t *bytes, int64_t *count);
uint64_t mg__stack_memory(void);
void mg__stack_lock(void);
void mg__stack_unlock(void);

/* One (stack, bytes, count) triple of a snapshot. */
typedef struct mg_stackstat {
    uint32_t stack;
    int64_t bytes, count;
} mg_stackstat;

/* Copies the non-zero per-stack aggregates into an mmap'd array; stack 0 receives what
 * the totals hold beyond the recorded stacks. *n gets the length, *cap the capacity
 * (free with mg__sys_free(arr, cap * sizeof *arr)). */
mg_stackstat *mg__stack_snapshot(size_t *n, size_t *cap);

/* ---- peak breakdown (trace mode) ----------------------------------------------
 * Called with the new live total when a free lowers it right after a new peak. */
void mg__peak_maybe_record(void);
void mg__peak_reset(void);
/* Ends the "new peak not yet recorded" state; with record, first records the breakdown
 * if the live total is at such a peak (a window closing while memory is at its highest). */
void mg__peak_flush(bool record);
/* The aggregates recorded at (or within 1/64 of) the peak: array, length, live total. */
const mg_stackstat *mg__peak_breakdown(size_t *n, int64_t *live_at_record);

/* ---- accounting entry points (interpose.c) --------------------------------------- */
/* Takes a live block out of the figures for good (it is marked internal): used for the
 * test framework's failure records when they could not be kept out at allocation. */
void mg__untrack(uintptr_t p);
/* What the hooks know of a live block p: 1 and the fields when its trailer is intact
 * and it is counted (not internal), else 0. */
int mg__block_info(uintptr_t p, uint64_t *size, unsigned *window, uint32_t *stack);
/* The window of a live counted block p from its trailer alone (no side-table lookup, so
 * it may be called while the table is locked, e.g. from mg__table_foreach); 0 when the
 * trailer is not intact or the block is internal. */
int mg__block_window(uintptr_t p, unsigned *window);
void mg__bootstrap(void);

/* ---- collect hooks, annotation (api.c) -------------------------------------------- */
void mg__run_collect_hooks(void);
typedef struct mg_annotation {
    bool set;
    memgate_budget budget;
    const char *file;
    unsigned line;
} mg_annotation;
extern mg_annotation mg__annotation MG_HIDDEN;

#endif
