/*
 * The malloc family, intercepted: malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size.
 * Why this file is long: every entry point of the malloc family is here with the
 * accounting they share, inlined into each hook for speed (the hot path).
 *
 * Each hook asks the next definition (libc's, found with dlsym(RTLD_NEXT)) for 8 bytes
 * more than requested and writes a trailer into the last 8 bytes of the usable area
 * (block.h): the slack that gives back the requested size, the measurement window the
 * block was born in, and flags. A free therefore knows the exact requested size and
 * window of a block without any lookup; only traced blocks (their stack id) and blocks
 * whose slack does not fit the trailer also live in the side table (table.c).
 *
 * Trailers are written whether or not the collector is recording, from the first
 * allocation on, so every block a free sees carries one; blocks allocated while not
 * recording are marked internal and never counted. malloc_usable_size() reports the
 * requested size, as AddressSanitizer does.
 *
 * Order inside a hook (as heaptrack does it): the thread's re-entrancy guard, then the
 * stack capture into a fixed array, and only then the table update under a shard lock.
 * A traced free leaves the table *before* the real free, so another thread cannot be
 * handed the same address while the table still holds it.
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

#include "block.h"
#include "internal.h"
#include "table_inline.h"

#define EXPORT __attribute__((visibility("default")))

mg_global mg__g = {.max_frames = MG_DEFAULT_FRAMES};
MG_TLS int mg__guard;
mg_wincount mg__win[MG_MAX_WINDOW + 1];

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

/* The usable size of a block is read from glibc's chunk header when the allocator
 * behind us is glibc's and its layout was confirmed at start-up; otherwise it is asked
 * for through malloc_usable_size. */
static bool glibc_layout;
static size_t page_size = 4096;
/* The main arena's range: it starts at or above the program break seen before the first
 * real allocation, and ends at the current break (brk_hi caches it; it only grows). */
static uintptr_t brk_lo, brk_hi;

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

/* glibc's in-use chunk: the size word sits right before the data; bit 1 marks an
 * mmapped chunk. Usable = chunk size - 8 (the next chunk's prev_size word is ours), or
 * - 16 for an mmapped chunk. */
static inline size_t glibc_usable(const void *p) {
    size_t word = ((const size_t *)p)[-1];
    return (word & ~(size_t)7) - ((word & 2) ? 16u : 8u);
}

/* Confirms that the next malloc is glibc's and that glibc_usable() agrees with it on
 * small, medium, aligned and mmapped blocks. */
static void check_glibc_layout(void (*free_fn)(void *)) {
    Dl_info info;
    void *addr;
    memcpy(&addr, &real.malloc_usable_size, sizeof addr);
    if (!dladdr(addr, &info) || !info.dli_fname ||
        !strstr(info.dli_fname, "libc.so"))
        return;
    static const size_t sizes[] = {0, 1, 24, 25, 100, 1000, 5000, 200000, 1u << 22};
    bool ok = true;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes && ok; i++) {
        void *p = real.malloc(sizes[i]);
        void *q = real.memalign(256, sizes[i] + 1);
        if (!p || !q) ok = false;
        if (p && real.malloc_usable_size(p) != glibc_usable(p)) ok = false;
        if (q && real.malloc_usable_size(q) != glibc_usable(q)) ok = false;
        free_fn(p);
        free_fn(q);
    }
    glibc_layout = ok;
}

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
    void (*free_fn)(void *);
    void *sym = next_sym("free");
    memcpy(&free_fn, &sym, sizeof sym);
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    brk_lo = (uintptr_t)sbrk(0);
    check_glibc_layout(free_fn);
    real.free = free_fn; /* last: real.free set means bootstrap is complete */
    resolving = 0;
}

#define BOOT_OR(early)                                                                 \
    do {                                                                               \
        if (MG_UNLIKELY(!real.free)) {                                                 \
            if (resolving) return early;                                               \
            mg__bootstrap();                                                           \
        }                                                                              \
    } while (0)

static inline size_t usable_of(const void *p) {
    if (MG_LIKELY(glibc_layout)) return glibc_usable(p);
    return real.malloc_usable_size((void *)p);
}


/* The usable size of a pointer handed to free/realloc by the program, which may not be
 * a block at all (a stack address, the middle of a block). The chunk header is checked
 * as glibc's free checks it (alignment, minimum and aligned size, an mmapped chunk's
 * page alignment) before its size is trusted to find the trailer: for a pointer that
 * fails, false, and the caller hands it to the real function, whose own report
 * ("free(): invalid pointer") then names the bug. */
static inline bool user_usable(const void *p, size_t *usable) {
    if (MG_UNLIKELY(!glibc_layout)) {
        *usable = real.malloc_usable_size((void *)p);
        return *usable >= MG_TRAILER;
    }
    uintptr_t mem = (uintptr_t)p;
    if (MG_UNLIKELY(mem & 15)) return false;
    size_t word = ((const size_t *)p)[-1];
    size_t size = word & ~(size_t)7;
    if (MG_UNLIKELY(size < 32 || (size & 15) || mem - 16 > (uintptr_t)0 - size)) return false;
    if (MG_UNLIKELY(word & 2)) { /* mmapped: the mapping starts and ends on pages */
        size_t prev = ((const size_t *)p)[-2];
        if (((mem - 16 - prev) | (prev + size)) & (page_size - 1)) return false;
    } else if (!(word & 4)) { /* the main arena: between the heap's start and the break */
        uintptr_t chunk = mem - 16, end = chunk + size;
        if (MG_UNLIKELY(chunk < brk_lo)) return false;
        if (MG_UNLIKELY(end > brk_hi)) {
            brk_hi = (uintptr_t)sbrk(0);
            if (end > brk_hi) return false;
        }
    }
    *usable = size - ((word & 2) ? 16u : 8u);
    return true;
}

static inline uint64_t *trailer_of(const void *p, size_t usable) {
    return (uint64_t *)(void *)((unsigned char *)(uintptr_t)p + usable - MG_TRAILER);
}

/* The canary: when the allocator left slack, the byte right after the requested size
 * holds the trailer's top byte, so writing one byte past the end is caught at the free
 * even where the trailer itself lies further on. */
static inline unsigned char canary_of(uint64_t t) { return (unsigned char)(t >> 56); }

/* Writes the trailer (and canary) of block p with n requested bytes. */
static inline void seal(void *p, size_t usable, size_t n, uint64_t low) {
    uint64_t t = mg__t_make((uintptr_t)p, low);
    *trailer_of(p, usable) = t;
    if (mg__t_slack(t)) ((unsigned char *)p)[n] = canary_of(t);
}

/* 1 when the canary of block p (n requested bytes, trailer t) is intact. */
static inline bool canary_ok(const void *p, size_t n, uint64_t t) {
    return !mg__t_slack(t) || ((const unsigned char *)p)[n] == canary_of(t);
}

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

/* The per-window and per-stack parts of a block's arrival (sign +1) or departure (-1). */
static inline void account_side(int64_t size, unsigned win, uint32_t stack, int sign) {
    if (win) {
        mg__add(&mg__win[win].bytes, sign * size);
        mg__add(&mg__win[win].blocks, sign);
    }
    if (stack) mg__stack_account(stack, sign * size, sign);
}

void mg__peak_flush(bool record) {
    if (atomic_exchange_explicit(&peak_dirty, false, memory_order_relaxed) && record &&
        mg__g.peak_tracking)
        mg__peak_maybe_record();
}

/* What a valid trailer says, with the side table consulted when it must be. */
typedef struct binfo {
    uint64_t size;
    uint32_t stack;
    unsigned window;
    bool internal;
} binfo;

/* Decodes trailer t of block p (usable bytes). With take, the side-table entry is
 * removed (the block is going away). */
static inline void decode(uintptr_t p, size_t usable, uint64_t t, bool take, binfo *b) {
    b->window = mg__t_window(t);
    b->internal = (t & MG_T_INTERNAL) != 0;
    b->stack = MG_STACK_NONE;
    b->size = usable - MG_TRAILER - mg__t_slack(t);
    if (MG_UNLIKELY(t & MG_T_TABLE)) {
        mg_block e;
        int found = take ? mg__table_remove_inline(p, &e) : mg__table_find(p, &e);
        if (found) {
            if (mg__t_slack(t) == MG_T_SLACK_BIG) b->size = e.size;
            b->stack = e.stack == MG_STACK_INTERNAL ? MG_STACK_NONE : e.stack;
            if (e.stack == MG_STACK_INTERNAL) b->internal = true;
        } else if (mg__t_slack(t) == MG_T_SLACK_BIG) {
            b->internal = true; /* cannot happen: its size is unknown, leave it out */
        }
    }
}

/* Writes the trailer of a fresh block p holding n requested bytes and counts it.
 * stack: MG_STACK_INTERNAL (never counted), MG_STACK_NONE (counted, no stack) or a
 * stack id. Blocks allocated while not recording are internal. */
static inline __attribute__((always_inline)) void *track(void *p, size_t n, uint32_t stack) {
    if (MG_UNLIKELY(!p)) return NULL;
    size_t usable = usable_of(p);
    uint64_t slack = usable - MG_TRAILER - n;
    bool internal = stack == MG_STACK_INTERNAL ||
                    atomic_load_explicit(&mg__g.recording, memory_order_relaxed) != 1;
    if (internal) stack = MG_STACK_NONE;
    uint64_t flags = 0;
    if (MG_UNLIKELY(slack >= MG_T_SLACK_BIG || stack != MG_STACK_NONE)) {
        if (slack >= MG_T_SLACK_BIG) slack = MG_T_SLACK_BIG;
        mg_block stale;
        if (mg__table_insert_inline((uintptr_t)p, n, internal ? MG_STACK_INTERNAL : stack,
                                    &stale) >= 0) {
            flags = MG_T_TABLE;
        } else { /* no table memory: the stack is lost, and a size that needs it too */
            stack = MG_STACK_NONE;
            if (slack == MG_T_SLACK_BIG) internal = true;
        }
    }
    unsigned win = internal ? 0 : mg__g.window;
    flags |= slack | ((uint64_t)win << MG_T_WIN_SHIFT) | (internal ? MG_T_INTERNAL : 0);
    seal(p, usable, n, flags);
    if (internal) return p;
    apply_delta((int64_t)n, 1);
    mg__addu(&mg__g.total_allocs, 1);
    mg__addu(&mg__g.total_bytes, n);
    if (win || stack) account_side((int64_t)n, win, stack, +1);
    return p;
}

/* Takes a counted block out of the figures (free, or the old half of a realloc). */
static inline void uncount(const binfo *b) {
    apply_delta(-(int64_t)b->size, -1);
    mg__addu(&mg__g.total_frees, 1);
    if (b->window || b->stack) account_side((int64_t)b->size, b->window, b->stack, -1);
}

/* Reports heap misuse through the runner's hook, if any. */
static void misuse(int kind, void *p, void *ret) {
    void (*hook)(int, uintptr_t, void *) = mg__g.misuse;
    if (hook) hook(kind, (uintptr_t)p, ret);
}

int mg__block_info(uintptr_t p, uint64_t *size, unsigned *window, uint32_t *stack) {
    size_t usable = usable_of((void *)p);
    uint64_t t = *trailer_of((void *)p, usable);
    if (!mg__t_valid(p, t)) return 0;
    binfo b;
    decode(p, usable, t, false, &b);
    if (b.internal) return 0;
    *size = b.size;
    *window = b.window;
    *stack = b.stack;
    return 1;
}

int mg__block_window(uintptr_t p, unsigned *window) {
    size_t usable = usable_of((void *)p);
    uint64_t t = *trailer_of((void *)p, usable);
    if (!mg__t_valid(p, t) || (t & MG_T_INTERNAL)) return 0;
    *window = mg__t_window(t);
    return 1;
}

void mg__untrack(uintptr_t p) {
    size_t usable = usable_of((void *)p);
    uint64_t *tp = trailer_of((void *)p, usable);
    uint64_t t = *tp;
    if (!mg__t_valid(p, t)) return;
    binfo b;
    decode(p, usable, t, false, &b);
    if (b.internal) return;
    uncount(&b);
    if (t & MG_T_TABLE) mg__table_set_stack(p, MG_STACK_INTERNAL);
    uint64_t low = (t & MG_T_LOW_MASK & ~((uint64_t)MG_T_WIN_MASK << MG_T_WIN_SHIFT)) |
                   MG_T_INTERNAL;
    seal((void *)p, usable, b.size, low);
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

/* recording: 0 = forward only, 1 = record allocations and frees, 2 = stopped by
 * memgate_stop(): new blocks are not counted, frees of counted blocks still are. */
#define RECORDING()                                                                    \
    MG_LIKELY(atomic_load_explicit(&mg__g.recording, memory_order_relaxed) == 1)

/* Requests the collector refuses before they reach the allocator: larger than a
 * trailer's size field can describe (1 TiB), which no allocator here could serve. */
#define TOO_BIG(n) MG_UNLIKELY((n) > MG_SIZE_MAX)

/* Runs `call` (which must yield the block, NULL on failure) for a request of n bytes and
 * records the block with the caller's stack when recording and outside the guard. */
/* Torture: whether this counted allocation is the one to fail. Only inside a window, so
 * warm-ups and suite init/cleanup are never made to fail. */
static inline bool fail_now(void) {
    if (MG_LIKELY(!atomic_load_explicit(&mg__g.fail_at, memory_order_relaxed)) || !mg__g.window) return false;
    return atomic_fetch_add(&mg__g.fail_count, 1) + 1 == atomic_load(&mg__g.fail_at);
}

/* TRACKED_AT: the same, for a hook whose caller's return address is ret (a hook that
 * shares its body with another, or a helper: never rely on inlining for frame 0). */
#define TRACKED(call, n) TRACKED_AT(call, n, __builtin_return_address(0))
#define TRACKED_AT(call, n, ret)                                                       \
    do {                                                                               \
        if (!RECORDING() || mg__guard) return track(call, n, MG_STACK_INTERNAL);       \
        if (MG_UNLIKELY(fail_now())) {                                                 \
            errno = ENOMEM;                                                            \
            return NULL;                                                               \
        }                                                                              \
        /* Counting only: nothing below can call malloc again, so no guard is needed. */\
        if (MG_LIKELY(!mg__g.capture)) return track(call, n, MG_STACK_NONE);           \
        mg__guard = 1;                                                                 \
        uint32_t stack_ = current_stack(ret);                                          \
        void *p_ = track(call, n, stack_);                                             \
        mg__guard = 0;                                                                 \
        return p_;                                                                     \
    } while (0)

/* ---- the hooks ------------------------------------------------------------------- */

/* malloc for a caller whose return address is ret (malloc itself, realloc(NULL, n)). */
static inline __attribute__((always_inline)) void *malloc_at(size_t n, void *ret) {
    if (TOO_BIG(n)) {
        errno = ENOMEM;
        return NULL;
    }
    TRACKED_AT(real.malloc(n + MG_TRAILER), n, ret);
}

EXPORT void *malloc(size_t n) {
    BOOT_OR(pool_alloc(n));
    return malloc_at(n, __builtin_return_address(0));
}

EXPORT void *calloc(size_t nmemb, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    BOOT_OR(pool_alloc(n));
    if (TOO_BIG(n)) {
        errno = ENOMEM;
        return NULL;
    }
    TRACKED(real.calloc(1, n + MG_TRAILER), n);
}

/* Takes p out of the figures, marks its trailer freed, and frees it. */
static inline __attribute__((always_inline)) void release_and_free(void *p, void *ret) {
    size_t usable;
    if (MG_UNLIKELY(!user_usable(p, &usable))) {
        real.free(p);
        return;
    }
    uint64_t *tp = trailer_of(p, usable);
    uint64_t t = *tp;
    if (MG_LIKELY(mg__t_valid((uintptr_t)p, t))) {
        binfo b;
        if (MG_LIKELY(!(t & (MG_T_INTERNAL | MG_T_TABLE)))) {
            b = (binfo){usable - MG_TRAILER - mg__t_slack(t), MG_STACK_NONE, mg__t_window(t), false};
        } else {
            decode((uintptr_t)p, usable, t, true, &b);
        }
        /* An overwritten canary is reported; the trailer is intact, so the block is
         * still accounted when the report returns. */
        if (MG_UNLIKELY(!canary_ok(p, b.size, t))) misuse(MG_MISUSE_BAD_TRAILER, p, ret);
        if (!b.internal) uncount(&b);
        /* Before the real free: afterwards the memory may belong to another thread. */
        *tp = mg__t_freed((uintptr_t)p, t);
    } else {
        misuse(mg__t_is_freed((uintptr_t)p, t) ? MG_MISUSE_DOUBLE_FREE : MG_MISUSE_BAD_TRAILER,
               p, ret);
    }
    real.free(p);
}

EXPORT void free(void *p) {
    if (!p || MG_UNLIKELY(in_pool(p))) return;
    if (MG_UNLIKELY(!real.free)) {
        if (resolving) return; /* nothing but pool blocks can exist yet */
        mg__bootstrap();
    }
    /* errno: the accounting makes no call that could set it, and glibc's free keeps it
     * (since 2.33), so free() preserves errno without saving it here. */
    release_and_free(p, __builtin_return_address(0));
}

/* realloc of a block the hooks made. The old block's side-table entry leaves the table
 * before the real call (its address may be reused by another thread as soon as realloc
 * frees it) and comes back if the call fails. A realloc is a new allocation: the new
 * block belongs to the current window and stack, as valgrind and LeakSanitizer see it. */
static void *tracked_realloc(void *old, size_t n, void *ret) {
    int outer = !mg__guard;
    mg__guard = 1;
    bool counting = RECORDING() && outer;
    if (counting && MG_UNLIKELY(fail_now())) { /* the old block stays, as a failed realloc leaves it */
        mg__guard = 0;
        errno = ENOMEM;
        return NULL;
    }
    uint32_t stack = !counting ? MG_STACK_INTERNAL
                     : mg__g.capture ? current_stack(ret) : MG_STACK_NONE;
    size_t ousable;
    if (!user_usable(old, &ousable)) {
        if (outer) mg__guard = 0;
        return real.realloc(old, n); /* not a block: the real realloc reports it */
    }
    uint64_t t = *trailer_of(old, ousable);
    binfo ob = {0, MG_STACK_NONE, 0, true};
    bool valid = mg__t_valid((uintptr_t)old, t);
    if (valid) {
        decode((uintptr_t)old, ousable, t, true, &ob);
        if (!canary_ok(old, ob.size, t)) misuse(MG_MISUSE_BAD_TRAILER, old, ret);
    } else {
        misuse(mg__t_is_freed((uintptr_t)old, t) ? MG_MISUSE_DOUBLE_FREE : MG_MISUSE_BAD_TRAILER,
               old, ret);
    }
    void *p = real.realloc(old, n + MG_TRAILER);
    if (!p) {
        if (valid && (t & MG_T_TABLE)) { /* the old block stays: so does its entry */
            mg_block ignored;
            mg__table_insert((uintptr_t)old, ob.size, ob.internal ? MG_STACK_INTERNAL : ob.stack,
                             &ignored);
        }
        if (outer) mg__guard = 0;
        return NULL;
    }
    /* One change of the live total for both halves, so the peak sees the net growth. */
    if (!ob.internal) {
        mg__addu(&mg__g.total_frees, 1);
        if (ob.window || ob.stack) account_side((int64_t)ob.size, ob.window, ob.stack, -1);
        apply_delta(-(int64_t)ob.size, -1);
    }
    track(p, n, stack);
    if (outer) mg__guard = 0;
    return p;
}

/* realloc for a caller whose return address is ret (realloc, reallocarray). */
static inline __attribute__((always_inline)) void *realloc_at(void *old, size_t n, void *ret) {
    if (MG_UNLIKELY(old && in_pool(old))) {
        void *p = malloc(n);
        if (p) {
            size_t have = pool_size(old);
            memcpy(p, old, have < n ? have : n);
        }
        return p;
    }
    if (!old) return malloc_at(n, ret);
    if (n == 0) { /* glibc: realloc(p, 0) frees p and returns NULL */
        release_and_free(old, ret);
        return NULL;
    }
    if (TOO_BIG(n)) {
        errno = ENOMEM;
        return NULL;
    }
    int saved = errno;
    void *p = tracked_realloc(old, n, ret);
    if (p) errno = saved;
    return p;
}

EXPORT void *realloc(void *old, size_t n) {
    BOOT_OR(pool_alloc(n));
    return realloc_at(old, n, __builtin_return_address(0));
}

EXPORT void *reallocarray(void *old, size_t nmemb, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    BOOT_OR(pool_alloc(n));
    return realloc_at(old, n, __builtin_return_address(0));
}

/* The aligned allocators: the real one with room for the trailer, then record. */
#define ALIGNED_HOOK(call, n)                                                          \
    do {                                                                               \
        if (TOO_BIG(n)) {                                                              \
            errno = ENOMEM;                                                            \
            return NULL;                                                               \
        }                                                                              \
        TRACKED(call, n);                                                              \
    } while (0)

EXPORT void *aligned_alloc(size_t align, size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.aligned_alloc(align, n + MG_TRAILER), n);
}

EXPORT void *memalign(size_t align, size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.memalign(align, n + MG_TRAILER), n);
}

EXPORT void *valloc(size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.valloc(n + MG_TRAILER), n);
}

EXPORT void *pvalloc(size_t n) {
    BOOT_OR(NULL);
    ALIGNED_HOOK(real.pvalloc(n + MG_TRAILER), n);
}

/* The block posix_memalign made, or NULL when it failed (its status in *rc). */
static inline void *pm_call(void **out, size_t align, size_t n, int *rc) {
    *rc = real.posix_memalign(out, align, n + MG_TRAILER);
    return *rc == 0 ? *out : NULL;
}

static void *pm_tracked(void **out, size_t align, size_t n, int *rc, void *ret) {
    *rc = ENOMEM; /* what an allocation made to fail returns */
    TRACKED_AT(pm_call(out, align, n, rc), n, ret);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n) {
    BOOT_OR(ENOMEM);
    if (TOO_BIG(n)) return ENOMEM;
    int rc;
    pm_tracked(out, align, n, &rc, __builtin_return_address(0));
    return rc;
}

EXPORT size_t malloc_usable_size(void *p) {
    if (!p) return 0;
    if (in_pool(p)) return pool_size(p);
    BOOT_OR(0);
    size_t usable;
    if (!user_usable(p, &usable)) return real.malloc_usable_size(p);
    uint64_t t = *trailer_of(p, usable);
    if (!mg__t_valid((uintptr_t)p, t)) return real.malloc_usable_size(p);
    binfo b;
    decode((uintptr_t)p, usable, t, false, &b);
    return b.size;
}

/* ---- fork ------------------------------------------------------------------------ */
/* Whether atfork_prepare took the locks. A process with one thread has no other thread
 * that could hold them at fork, so it takes none: the release would write the lock
 * words, and after a fork each written page costs the parent and the child a
 * copy-on-write fault (the driver forks once per test). */
static bool fork_locked;

static void atfork_prepare(void) {
    bool mt = mg__mt();
    if (fork_locked != mt) fork_locked = mt; /* no store (no fault) when unchanged */
    if (!mt) return;
    atomic_store(&fork_pending, true);
    while (atomic_load(&captures_in_flight) > 0) sched_yield();
    mg__stack_lock();
    mg__table_lock_all();
}

static void atfork_release(void) {
    if (!fork_locked) return;
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
}
