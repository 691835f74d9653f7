/*
 * The malloc family, intercepted: malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size.
 *
 * Each hook forwards to the next definition (libc's, found with dlsym(RTLD_NEXT)) and,
 * while recording, updates the live table and the exact counters. Order inside a hook
 * (as heaptrack does it): the thread's re-entrancy guard, then the stack capture into a
 * fixed array, and only then the table update under a shard lock. A free is recorded
 * *before* the real free, so another thread cannot be handed the same address while the
 * table still holds it.
 *
 * Bootstrap: dlsym itself may call calloc before the real functions are known; those
 * early requests are served from a static pool, and free ignores pool pointers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "table_inline.h"

#define EXPORT __attribute__((visibility("default")))

mg_global mg__g = {.max_frames = MG_DEFAULT_FRAMES};
MG_TLS int mg__guard;

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
} real;

/* ---- bootstrap pool ------------------------------------------------------------ */
#define POOL_SIZE (256 * 1024)
static _Alignas(64) unsigned char pool[POOL_SIZE];
static _Atomic size_t pool_used;
static int resolving;

static inline int in_pool(const void *p) {
    return (const unsigned char *)p >= pool && (const unsigned char *)p < pool + POOL_SIZE;
}

/* Pool blocks carry their size in the 16 bytes before them; memory is already zero. */
static void *pool_alloc(size_t n) {
    size_t need = ((n + 15) & ~(size_t)15) + 16;
    size_t off = atomic_fetch_add(&pool_used, need);
    if (off + need > POOL_SIZE) {
        mg__write_all(2, "memgate: bootstrap pool exhausted\n", 34);
        _exit(127);
    }
    *(size_t *)(void *)(pool + off) = n;
    return pool + off + 16;
}

static size_t pool_size(const void *p) { return *(const size_t *)(const void *)((const unsigned char *)p - 16); }

static void *next_sym(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        mg__log("cannot find the next definition of %s: %s", name, dlerror());
        _exit(127);
    }
    return f;
}

/* Stores dlsym's answer into a function pointer (POSIX guarantees this works). */
#define NEXT(field, name)                                                              \
    do {                                                                               \
        void *sym_ = next_sym(name);                                                   \
        memcpy(&real.field, &sym_, sizeof sym_);                                       \
    } while (0)

void mg__bootstrap(void) {
    if (real.free) return;
    resolving = 1;
    NEXT(malloc, "malloc");
    NEXT(calloc, "calloc");
    NEXT(realloc, "realloc");
    NEXT(posix_memalign, "posix_memalign");
    NEXT(aligned_alloc, "aligned_alloc");
    NEXT(memalign, "memalign");
    NEXT(valloc, "valloc");
    NEXT(pvalloc, "pvalloc");
    NEXT(malloc_usable_size, "malloc_usable_size");
    NEXT(free, "free"); /* last: real.free set means bootstrap is complete */
    resolving = 0;
}

#define BOOT_OR(early)                                                                 \
    do {                                                                               \
        if (MG_UNLIKELY(!real.free)) {                                                 \
            if (resolving) return early;                                               \
            mg__bootstrap();                                                           \
        }                                                                              \
    } while (0)

/* ---- accounting ------------------------------------------------------------------ */
/* A new peak was reached and not yet followed by a decrease. Claimed with an exchange so
 * that one thread records the breakdown; the recording itself is serialized in stacks.c. */
static _Atomic bool peak_dirty;

/* Applies a change of the live figures, keeping the peak. Before the total drops right
 * after a new peak, trace mode records which stacks held the memory at that peak. */
static inline void apply_delta(int64_t dbytes, int64_t dblocks) {
    if (dbytes < 0 && MG_UNLIKELY(atomic_load_explicit(&peak_dirty, memory_order_relaxed)) &&
        atomic_exchange_explicit(&peak_dirty, false, memory_order_relaxed)) {
        if (mg__g.peak_tracking) mg__peak_maybe_record();
    }
    int64_t live = mg__add(&mg__g.live_bytes, dbytes);
    if (dblocks) mg__add(&mg__g.live_blocks, dblocks);
    if (dbytes > 0) {
        int64_t peak = atomic_load_explicit(&mg__g.peak_bytes, memory_order_relaxed);
        if (live > peak) {
            if (MG_LIKELY(!mg__mt())) {
                atomic_store_explicit(&mg__g.peak_bytes, live, memory_order_relaxed);
            } else {
                while (live > peak && !atomic_compare_exchange_weak_explicit(
                                          &mg__g.peak_bytes, &peak, live,
                                          memory_order_relaxed, memory_order_relaxed)) {
                }
            }
            if (!atomic_load_explicit(&peak_dirty, memory_order_relaxed))
                atomic_store_explicit(&peak_dirty, true, memory_order_relaxed);
        }
    }
}

/* Whether a removed block still changes the figures when it goes away. After the
 * runner's snapshot B only libc's own clean-up (__libc_freeres) of blocks allocated in
 * the window counts: those were libc caches, not the test's leaks. */
static inline bool counts_on_free(const mg_block *b) {
    if (b->stack == MG_STACK_INTERNAL) return false;
    if (MG_LIKELY(!mg__g.window_closed)) return true;
    return mg__g.freeres_active && b->epoch == mg__g.epoch;
}

static inline void uncount(const mg_block *b) {
    apply_delta(-(int64_t)b->size, -1);
    mg__addu(&mg__g.total_frees, 1);
    if (b->stack) mg__stack_account(b->stack, -(int64_t)b->size, -1);
}

static inline __attribute__((always_inline)) void mg__account_alloc(uintptr_t p, size_t size, uint32_t stack) {
    if (MG_UNLIKELY(mg__g.window_closed)) stack = MG_STACK_INTERNAL;
    mg_block old;
    int rc = mg__table_insert_inline(p, size, stack, mg__g.epoch, &old);
    if (MG_UNLIKELY(rc != 0)) {
        if (rc < 0) return;                   /* untracked: table memory exhausted */
        if (counts_on_free(&old)) uncount(&old); /* a free we never saw */
    }
    if (stack == MG_STACK_INTERNAL) return;
    apply_delta((int64_t)size, 1);
    mg__addu(&mg__g.total_allocs, 1);
    mg__addu(&mg__g.total_bytes, size);
    if (stack) mg__stack_account(stack, (int64_t)size, 1);
}

static inline __attribute__((always_inline)) int mg__account_free(uintptr_t p) {
    mg_block b;
    if (!mg__table_remove_inline(p, &b)) return 0;
    if (counts_on_free(&b)) uncount(&b);
    if (MG_UNLIKELY(mg__g.check_double_free)) mg__table_note_freed(p);
    return 1;
}

void mg__peak_flush(bool record) {
    if (atomic_exchange_explicit(&peak_dirty, false, memory_order_relaxed) && record &&
        mg__g.peak_tracking)
        mg__peak_maybe_record();
}

void mg__untrack(uintptr_t p) {
    mg_block b;
    if (!mg__table_find(p, &b) || b.stack == MG_STACK_INTERNAL) return;
    if (counts_on_free(&b)) uncount(&b);
    mg__table_set_stack(p, MG_STACK_INTERNAL);
}

/* Stack captures in flight, and whether a fork is being prepared. The unwinder takes
 * locks of its own (libunwind blocks signals and holds a mutex while it walks); a fork
 * in the middle of another thread's capture would hand the child a mutex that nobody
 * releases. So fork waits until no capture runs, and captures wait while a fork is
 * prepared. Sequentially consistent operations make the two checks see each other. */
static _Atomic int captures_in_flight;
static _Atomic bool fork_pending;

/* Stack of the current allocation, or MG_STACK_NONE when stacks are off. */
static inline uint32_t current_stack(void *ret) {
    if (MG_LIKELY(!mg__g.capture)) return MG_STACK_NONE;
    uintptr_t frames[MG_MAX_FRAMES];
    int n;
    if (MG_LIKELY(!mg__mt())) {
        n = mg__capture(ret, frames, (int)mg__g.max_frames);
    } else {
        for (;;) {
            atomic_fetch_add(&captures_in_flight, 1);
            if (!atomic_load(&fork_pending)) break;
            atomic_fetch_sub(&captures_in_flight, 1);
            while (atomic_load(&fork_pending)) sched_yield();
        }
        n = mg__capture(ret, frames, (int)mg__g.max_frames);
        atomic_fetch_sub(&captures_in_flight, 1);
    }
    return mg__stack_intern(frames, n);
}

/* Records a fresh block. Inside the guard (the collector's own work on this thread)
 * the block is kept in the table as internal, so its later free is recognised. */
static inline void *track_new(void *p, size_t size, uint32_t stack) {
    if (p) mg__account_alloc((uintptr_t)p, size, stack);
    return p;
}

/* recording: 0 = forward only, 1 = record allocations and frees, 2 = stopped by
 * memgate_stop(): frees of tracked blocks are still taken out of the table so the
 * figures stay exact if tracking starts again. */
#define RECORDING()                                                                    \
    MG_LIKELY(atomic_load_explicit(&mg__g.recording, memory_order_relaxed) == 1)
#define RECORDING_FREES()                                                              \
    MG_LIKELY(atomic_load_explicit(&mg__g.recording, memory_order_relaxed) != 0)

/* ---- the hooks ------------------------------------------------------------------- */

EXPORT void *malloc(size_t n) {
    BOOT_OR(pool_alloc(n));
    if (!RECORDING()) return real.malloc(n);
    if (MG_UNLIKELY(n > MG_SIZE_MAX)) {
        errno = ENOMEM;
        return NULL;
    }
    if (mg__guard) return track_new(real.malloc(n), n, MG_STACK_INTERNAL);
    /* Counting only: nothing below can call malloc again, so no guard is needed. */
    if (MG_LIKELY(!mg__g.capture)) return track_new(real.malloc(n), n, MG_STACK_NONE);
    mg__guard = 1;
    uint32_t stack = current_stack(__builtin_return_address(0));
    void *p = track_new(real.malloc(n), n, stack);
    mg__guard = 0;
    return p;
}

EXPORT void *calloc(size_t nmemb, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    BOOT_OR(pool_alloc(n));
    if (!RECORDING()) return real.calloc(nmemb, size);
    if (MG_UNLIKELY(n > MG_SIZE_MAX)) {
        errno = ENOMEM;
        return NULL;
    }
    if (mg__guard) return track_new(real.calloc(nmemb, size), n, MG_STACK_INTERNAL);
    if (MG_LIKELY(!mg__g.capture)) return track_new(real.calloc(nmemb, size), n, MG_STACK_NONE);
    mg__guard = 1;
    uint32_t stack = current_stack(__builtin_return_address(0));
    void *p = track_new(real.calloc(nmemb, size), n, stack);
    mg__guard = 0;
    return p;
}

EXPORT void free(void *p) {
    if (!p || MG_UNLIKELY(in_pool(p))) return;
    if (MG_UNLIKELY(!real.free)) {
        if (resolving) return; /* nothing but pool blocks can exist yet */
        mg__bootstrap();
    }
    if (!RECORDING_FREES()) {
        real.free(p);
        return;
    }
    /* errno: the accounting makes no call that could set it, and glibc's free keeps it
     * (since 2.33), so free() preserves errno without saving it here. */
    if (!mg__account_free((uintptr_t)p) && MG_UNLIKELY(mg__g.check_double_free) &&
        mg__table_recently_freed((uintptr_t)p))
        mg__report_double_free((uintptr_t)p, __builtin_return_address(0));
    real.free(p);
}

/* realloc: the old block leaves the table before the real call (its address may be
 * reused by another thread as soon as realloc frees it) and comes back if it fails. */
static void *tracked_realloc(void *old, size_t n, void *ret) {
    if (MG_UNLIKELY(n > MG_SIZE_MAX)) {
        errno = ENOMEM;
        return NULL;
    }
    int outer = !mg__guard;
    mg__guard = 1;
    uint32_t stack = outer ? current_stack(ret) : MG_STACK_INTERNAL;
    mg_block ob;
    int known = mg__table_remove((uintptr_t)old, &ob);
    void *p = real.realloc(old, n);
    if (!p && n != 0) {
        if (known) {
            mg_block ignored;
            mg__table_insert((uintptr_t)old, ob.size, ob.stack, ob.epoch, &ignored);
        }
        if (outer) mg__guard = 0;
        return NULL;
    }
    bool old_counts = known && counts_on_free(&ob);
    if (p && mg__g.window_closed) stack = MG_STACK_INTERNAL;
    bool new_counts = p && stack != MG_STACK_INTERNAL;
    if (p) {
        mg_block stale;
        if (mg__table_insert((uintptr_t)p, n, stack, mg__g.epoch, &stale) == 1 &&
            counts_on_free(&stale))
            uncount(&stale);
    }
    int64_t db = (new_counts ? (int64_t)n : 0) - (old_counts ? (int64_t)ob.size : 0);
    int64_t dc = (new_counts ? 1 : 0) - (old_counts ? 1 : 0);
    apply_delta(db, dc);
    if (old_counts) {
        mg__addu(&mg__g.total_frees, 1);
        if (ob.stack) mg__stack_account(ob.stack, -(int64_t)ob.size, -1);
    }
    if (new_counts) {
        mg__addu(&mg__g.total_allocs, 1);
        mg__addu(&mg__g.total_bytes, n);
        if (stack) mg__stack_account(stack, (int64_t)n, 1);
    }
    if (outer) mg__guard = 0;
    return p;
}

EXPORT void *realloc(void *old, size_t n) {
    BOOT_OR(pool_alloc(n));
    if (MG_UNLIKELY(old && in_pool(old))) {
        void *p = malloc(n);
        if (p) {
            size_t have = pool_size(old);
            memcpy(p, old, have < n ? have : n);
        }
        return p;
    }
    if (!RECORDING()) {
        /* Stopped: the old block leaves the figures (a failed realloc keeps it live but
         * no longer tracked, which only matters if tracking starts again). */
        if (old && RECORDING_FREES()) mg__account_free((uintptr_t)old);
        return real.realloc(old, n);
    }
    if (!old) {
        if (mg__guard) return track_new(real.malloc(n), n, MG_STACK_INTERNAL);
        mg__guard = 1;
        uint32_t stack = current_stack(__builtin_return_address(0));
        void *p = track_new(real.realloc(NULL, n), n, stack);
        mg__guard = 0;
        return p;
    }
    int saved = errno;
    void *p = tracked_realloc(old, n, __builtin_return_address(0));
    if (p || n == 0) errno = saved;
    return p;
}

EXPORT void *reallocarray(void *old, size_t nmemb, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    BOOT_OR(NULL);
    if (!RECORDING() || (old && in_pool(old))) return realloc(old, n);
    if (!old) {
        if (mg__guard) return track_new(real.malloc(n), n, MG_STACK_INTERNAL);
        mg__guard = 1;
        uint32_t stack = current_stack(__builtin_return_address(0));
        void *p = track_new(real.malloc(n), n, stack);
        mg__guard = 0;
        return p;
    }
    return tracked_realloc(old, n, __builtin_return_address(0));
}

/* The aligned allocators share one shape: call the real one, then record. */
#define ALIGNED_HOOK(call, size_expr)                                                  \
    do {                                                                               \
        if (!RECORDING()) return call;                                                 \
        if (MG_UNLIKELY((size_expr) > MG_SIZE_MAX)) {                                  \
            errno = ENOMEM;                                                            \
            return NULL;                                                               \
        }                                                                              \
        if (mg__guard) return track_new(call, size_expr, MG_STACK_INTERNAL);           \
        mg__guard = 1;                                                                 \
        uint32_t stack_ = current_stack(__builtin_return_address(0));                  \
        void *p_ = track_new(call, size_expr, stack_);                                 \
        mg__guard = 0;                                                                 \
        return p_;                                                                     \
    } while (0)

EXPORT void *aligned_alloc(size_t align, size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.aligned_alloc(align, n), n);
}

EXPORT void *memalign(size_t align, size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.memalign(align, n), n);
}

EXPORT void *valloc(size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.valloc(n), n);
}

EXPORT void *pvalloc(size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.pvalloc(n), n);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n) {
    BOOT_OR(ENOMEM);
    if (!RECORDING()) return real.posix_memalign(out, align, n);
    if (MG_UNLIKELY(n > MG_SIZE_MAX)) return ENOMEM;
    int outer = !mg__guard;
    mg__guard = 1;
    uint32_t stack = outer ? current_stack(__builtin_return_address(0)) : MG_STACK_INTERNAL;
    int rc = real.posix_memalign(out, align, n);
    if (rc == 0) track_new(*out, n, stack);
    if (outer) mg__guard = 0;
    return rc;
}

EXPORT size_t malloc_usable_size(void *p) {
    if (!p) return 0;
    if (in_pool(p)) return pool_size(p);
    BOOT_OR(0);
    return real.malloc_usable_size(p);
}

/* ---- fork ------------------------------------------------------------------------ */
static void atfork_prepare(void) {
    atomic_store(&fork_pending, true);
    while (atomic_load(&captures_in_flight) > 0) sched_yield();
    mg__stack_lock();
    mg__table_lock_all();
}

static void atfork_release(void) {
    mg__table_unlock_all();
    mg__stack_unlock();
    atomic_store(&fork_pending, false);
}

/* ---- start-up ---------------------------------------------------------------------- */
static int env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* Runs before the program's own constructors when preloaded. MEMGATE_ACTIVE=1 (set by
 * the runner) switches recording on for the whole life of the process; merely linking
 * the library leaves it off until memgate_start(). */
__attribute__((constructor(101))) static void mg_init(void) {
    mg__bootstrap();
    pthread_atfork(atfork_prepare, atfork_release, atfork_release);
    const char *unwind = getenv("MEMGATE_UNWIND");
    if (unwind && strcmp(unwind, "fp") == 0) mg__unwind = mg__unwind_fp;
    const char *frames = getenv("MEMGATE_MAX_FRAMES");
    if (frames && *frames) {
        long v = strtol(frames, NULL, 10);
        if (v >= 1 && v <= MG_MAX_FRAMES) mg__g.max_frames = (unsigned)v;
    }
    if (env_flag("MEMGATE_ACTIVE")) {
        mg__g.capture = env_flag("MEMGATE_STACKS");
        mg__g.peak_tracking = mg__g.capture;
        atomic_store(&mg__g.recording, 1);
    }
    mg__driver_init();
}
