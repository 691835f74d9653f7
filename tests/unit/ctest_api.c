/*
 * Tests of the public API with the collector linked into the test program (not
 * preloaded): tracking off until memgate_start, exact counters for every member of the
 * malloc family and for libc functions that allocate, errno, peak, stop, collect hooks,
 * snapshots and their comparison by traceback, function, line, file and module, filters,
 * sort order, printing, status strings, version and the MEMGATE_BUDGET annotation.
 *
 * Between two counter readings nothing but the code under test may allocate: CUnit
 * allocates only when an assertion fails, so the figures are read first and asserted
 * afterwards. Snapshot comparisons symbolize in-process with libmemgate-symbolize.so.0,
 * found at ../lib beside this program's directory (build/bin -> build/lib).
 */
#include "internal.h"
#include "mgtest.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#define CT_NOINLINE __attribute__((noinline, noipa))
#else
#define CT_NOINLINE __attribute__((noinline))
#endif

/* ---- helpers ------------------------------------------------------------------------ */
typedef struct delta {
    int64_t bytes, blocks;
    int64_t allocs, frees, total_bytes;
} delta;

static memgate_counters counters(void) {
    memgate_counters c;
    memgate_get_counters(&c);
    return c;
}

static delta diff(const memgate_counters *a, const memgate_counters *b) {
    delta d = {b->live_bytes - a->live_bytes, b->live_blocks - a->live_blocks,
               (int64_t)(b->total_allocs - a->total_allocs), (int64_t)(b->total_frees - a->total_frees),
               (int64_t)(b->total_bytes - a->total_bytes)};
    return d;
}

#define ASSERT_DELTA(d, eb, ec)                                                            \
    do {                                                                                   \
        CU_ASSERT_EQUAL((d).bytes, (eb));                                                  \
        CU_ASSERT_EQUAL((d).blocks, (ec));                                                 \
    } while (0)

static int ends_with(const char *s, const char *suffix) {
    if (!s || !suffix) return 0;
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* GCC removes a malloc/free pair whose pointer is not otherwise used, and then nothing
 * reaches the collector: keep() makes every block of a counting test escape. */
static void *volatile sink;

static void *keep(void *p) {
    sink = p;
    return p;
}

/* Returns p through a call GCC cannot see into: a copy taken before a realloc that is
 * meant to fail can be freed afterwards without -Wuse-after-free. */
static CT_NOINLINE void *launder(void *p) {
    void *volatile v = p;
    return v;
}

/* Sizes the compiler must not see as constants (it rejects overflowing products). */
static volatile size_t huge_count = SIZE_MAX / 2;

/* ---- tracking is off until memgate_start --------------------------------------------- */
static void test_off_until_start(void) {
    memgate_counters a = counters();
    int tracking = memgate_is_tracking();
    void *p = keep(malloc(100));
    void *q = keep(calloc(3, 40));
    p = keep(realloc(p, 5000));
    char *s = keep(strdup("not counted"));
    free(p);
    free(q);
    free(s);
    void *kept = keep(malloc(64)); /* allocated before the start: its free is not counted */
    memgate_counters b = counters();
    CU_ASSERT_EQUAL(tracking, 0);
    CU_ASSERT_EQUAL(a.live_bytes, 0);
    CU_ASSERT_EQUAL(a.live_blocks, 0);
    CU_ASSERT_EQUAL(b.live_bytes, 0);
    CU_ASSERT_EQUAL(b.live_blocks, 0);
    CU_ASSERT_EQUAL(b.peak_bytes, 0);
    CU_ASSERT_EQUAL(b.total_allocs, 0);
    CU_ASSERT_EQUAL(b.total_frees, 0);
    CU_ASSERT_EQUAL(b.total_bytes, 0);
    CU_ASSERT_EQUAL(memgate_stop(), MEMGATE_ENOTRUNNING);
    /* A bad option leaves it off. */
    memgate_options bad = {.capture_stacks = 0, .max_frames = MG_MAX_FRAMES + 1};
    CU_ASSERT_EQUAL(memgate_start(&bad), MEMGATE_EINVAL);
    CU_ASSERT_EQUAL(memgate_is_tracking(), 0);

    CU_ASSERT_EQUAL(memgate_start(NULL), MEMGATE_OK);
    memgate_counters c = counters();
    free(kept);
    memgate_counters d = counters();
    int on = memgate_is_tracking();
    CU_ASSERT_EQUAL(on, 1);
    delta dd = diff(&c, &d);
    ASSERT_DELTA(dd, 0, 0);
    CU_ASSERT_EQUAL(dd.frees, 0);
}

static void test_start_capture(void) {
    memgate_options o = {.capture_stacks = 1, .max_frames = 2};
    CU_ASSERT_EQUAL_FATAL(memgate_start(&o), MEMGATE_OK);
    void *p = keep(malloc(10));
    mg_block b = {0};
    int found = mg__table_find((uintptr_t)p, &b);
    uintptr_t fr[MG_MAX_FRAMES];
    int nf = mg__stack_frames(b.stack, fr, MG_MAX_FRAMES);
    free(p);
    CU_ASSERT_TRUE(found);
    CU_ASSERT(b.stack != MG_STACK_NONE && b.stack != MG_STACK_INTERNAL);
    CU_ASSERT(nf >= 1 && nf <= 2);
    CU_ASSERT_EQUAL(b.size, 10);

    o.max_frames = MG_MAX_FRAMES;
    CU_ASSERT_EQUAL(memgate_start(&o), MEMGATE_OK);
    p = keep(malloc(10));
    found = mg__table_find((uintptr_t)p, &b);
    nf = mg__stack_frames(b.stack, fr, MG_MAX_FRAMES);
    free(p);
    CU_ASSERT_TRUE(found);
    CU_ASSERT(nf > 2); /* main, CUnit's runner and this function at least */

    /* Counting only: new blocks carry no stack, and their size and window live in the
     * block's trailer alone (no side-table entry). */
    CU_ASSERT_EQUAL(memgate_start(NULL), MEMGATE_OK);
    p = keep(malloc(10));
    found = mg__table_find((uintptr_t)p, &b);
    uint64_t size = 0;
    unsigned window = 99;
    uint32_t stack = 99;
    int known = mg__block_info((uintptr_t)p, &size, &window, &stack);
    free(p);
    CU_ASSERT_FALSE(found);
    CU_ASSERT_TRUE(known);
    CU_ASSERT_EQUAL(size, 10);
    CU_ASSERT_EQUAL(window, 0);
    CU_ASSERT_EQUAL(stack, MG_STACK_NONE);
}

/* ---- exact counters ---------------------------------------------------------------------- */
static void test_malloc_calloc(void) {
    memgate_counters a = counters();
    void *p = keep(malloc(100));
    memgate_counters b = counters();
    void *q = keep(calloc(3, 40));
    memgate_counters c = counters();
    void *z = keep(malloc(0));
    memgate_counters d = counters();
    free(p);
    free(q);
    free(z);
    memgate_counters e = counters();
    delta d1 = diff(&a, &b), d2 = diff(&b, &c), d3 = diff(&c, &d), d4 = diff(&a, &e);
    ASSERT_DELTA(d1, 100, 1);
    CU_ASSERT_EQUAL(d1.allocs, 1);
    CU_ASSERT_EQUAL(d1.total_bytes, 100);
    ASSERT_DELTA(d2, 120, 1);
    CU_ASSERT_EQUAL(d2.total_bytes, 120);
    ASSERT_DELTA(d3, 0, z ? 1 : 0);
    ASSERT_DELTA(d4, 0, 0);
    CU_ASSERT_EQUAL(d4.allocs, z ? 3 : 2);
    CU_ASSERT_EQUAL(d4.frees, z ? 3 : 2);
    CU_ASSERT_EQUAL(d4.total_bytes, 220);
    /* calloc's product overflows: refused, nothing counted. */
    errno = 0;
    memgate_counters f = counters();
    void *o = keep(calloc(huge_count, 3));
    int err = errno;
    memgate_counters g = counters();
    delta d5 = diff(&f, &g);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err, ENOMEM);
    ASSERT_DELTA(d5, 0, 0);
    CU_ASSERT_EQUAL(d5.allocs, 0);
}

static void test_too_large(void) {
    memgate_counters a = counters();
    errno = 0;
    void *p = keep(malloc((size_t)MG_SIZE_MAX + 1));
    int e1 = errno;
    errno = 0;
    void *q = keep(calloc(1, (size_t)MG_SIZE_MAX + 1));
    int e2 = errno;
    void *r = keep(malloc(64)), *r_alias = launder(r);
    errno = 0;
    void *r2 = realloc(r, (size_t)MG_SIZE_MAX + 1);
    int e3 = errno;
    memgate_counters b = counters();
    free(r_alias);
    memgate_counters c = counters();
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NULL(q);
    CU_ASSERT_PTR_NULL(r2);
    CU_ASSERT_EQUAL(e1, ENOMEM);
    CU_ASSERT_EQUAL(e2, ENOMEM);
    CU_ASSERT_EQUAL(e3, ENOMEM);
    delta d = diff(&a, &b);
    ASSERT_DELTA(d, 64, 1); /* the failed realloc left r live and counted */
    delta d2 = diff(&a, &c);
    ASSERT_DELTA(d2, 0, 0);
}

static void test_realloc(void) {
    memgate_counters a = counters();
    char *p = keep(realloc(NULL, 50));
    memgate_counters b = counters();
    memset(p, 'x', 50);
    char *grown = keep(realloc(p, 5000));
    memgate_counters c = counters();
    int kept_grow = grown[49] == 'x';
    char *shrunk = keep(realloc(grown, 10));
    memgate_counters d = counters();
    int kept_shrink = shrunk[9] == 'x';
    /* A block after it keeps the next one from growing in place: this one must move. */
    char *blocker = keep(malloc(16));
    char *moving = keep(realloc(shrunk, 1u << 20));
    memgate_counters e = counters();
    int moved = moving != shrunk;
    int kept_move = moving[9] == 'x';
    char *zero = keep(realloc(moving, 0));
    memgate_counters f = counters();
    free(zero);
    free(blocker);
    memgate_counters g = counters();

    delta d1 = diff(&a, &b), d2 = diff(&b, &c), d3 = diff(&c, &d), d4 = diff(&d, &e);
    ASSERT_DELTA(d1, 50, 1);
    CU_ASSERT_EQUAL(d1.allocs, 1);
    ASSERT_DELTA(d2, 4950, 0);
    CU_ASSERT_EQUAL(d2.allocs, 1); /* a realloc is a free plus an allocation */
    CU_ASSERT_EQUAL(d2.frees, 1);
    CU_ASSERT_EQUAL(d2.total_bytes, 5000);
    ASSERT_DELTA(d3, -4990, 0);
    ASSERT_DELTA(d4, (1 << 20) + 16 - 10, 1);
    CU_ASSERT_TRUE(moved);
    CU_ASSERT_TRUE(kept_grow && kept_shrink && kept_move);
    /* realloc(p, 0) frees p (glibc returns NULL; a non-NULL result is a live 0-byte block). */
    delta d5 = diff(&e, &f);
    ASSERT_DELTA(d5, -(1 << 20), zero ? 0 : -1);
    delta all = diff(&a, &g);
    ASSERT_DELTA(all, 0, 0);
    CU_ASSERT_EQUAL(all.allocs, all.frees);

    /* A realloc that fails leaves the block live and counted, and sets errno. */
    char *kept = keep(malloc(77)), *keep_alias = launder(kept);
    memgate_counters h = counters();
    errno = 0;
    void *fail = realloc(kept, huge_count);
    int err = errno;
    memgate_counters i = counters();
    free(keep_alias);
    memgate_counters j = counters();
    CU_ASSERT_PTR_NULL(fail);
    CU_ASSERT_EQUAL(err, ENOMEM);
    delta d6 = diff(&h, &i), d7 = diff(&h, &j);
    ASSERT_DELTA(d6, 0, 0);
    ASSERT_DELTA(d7, -77, -1);
}

static void test_reallocarray(void) {
    memgate_counters a = counters();
    int *p = keep(reallocarray(NULL, 10, 12));
    memgate_counters b = counters();
    p = keep(reallocarray(p, 20, 12));
    memgate_counters c = counters();
    int *p_alias = launder(p);
    errno = 0;
    int *q = reallocarray(p, huge_count, 3);
    int err = errno;
    memgate_counters d = counters();
    free(p_alias);
    memgate_counters e = counters();
    delta d1 = diff(&a, &b), d2 = diff(&b, &c), d3 = diff(&c, &d), d4 = diff(&a, &e);
    ASSERT_DELTA(d1, 120, 1);
    ASSERT_DELTA(d2, 120, 0);
    CU_ASSERT_PTR_NULL(q);
    CU_ASSERT_EQUAL(err, ENOMEM);
    ASSERT_DELTA(d3, 0, 0);
    ASSERT_DELTA(d4, 0, 0);
}

static void test_aligned_family(void) {
    memgate_counters a = counters();
    void *p1 = NULL;
    int rc = posix_memalign(&p1, 64, 100);
    keep(p1);
    memgate_counters b = counters();
    void *bad = NULL;
    int rc_bad = posix_memalign(&bad, 3, 100);
    memgate_counters c = counters();
    void *p2 = keep(aligned_alloc(128, 256));
    memgate_counters d = counters();
    void *p3 = keep(memalign(32, 77));
    memgate_counters e = counters();
    void *p4 = keep(valloc(10));
    memgate_counters f = counters();
    void *p5 = keep(pvalloc(10));
    memgate_counters g = counters();
    int all = p1 && p2 && p3 && p4 && p5;
    uintptr_t misaligned = ((uintptr_t)p1 % 64) | ((uintptr_t)p2 % 128) | ((uintptr_t)p3 % 32) |
                           ((uintptr_t)p4 % 4096) | ((uintptr_t)p5 % 4096);
    free(p1);
    free(p2);
    free(p3);
    free(p4);
    free(p5);
    memgate_counters h = counters();
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(rc_bad, EINVAL);
    CU_ASSERT_TRUE(all);
    CU_ASSERT_EQUAL(misaligned, 0);
    /* Requested sizes, not usable sizes. */
    delta d1 = diff(&a, &b), d2 = diff(&b, &c), d3 = diff(&c, &d), d4 = diff(&d, &e);
    delta d5 = diff(&e, &f), d6 = diff(&f, &g), d7 = diff(&a, &h);
    ASSERT_DELTA(d1, 100, 1);
    ASSERT_DELTA(d2, 0, 0);
    ASSERT_DELTA(d3, 256, 1);
    ASSERT_DELTA(d4, 77, 1);
    ASSERT_DELTA(d5, 10, 1);
    ASSERT_DELTA(d6, 10, 1);
    ASSERT_DELTA(d7, 0, 0);
    CU_ASSERT_EQUAL(d7.allocs, 5);
    CU_ASSERT_EQUAL(d7.frees, 5);
    CU_ASSERT_EQUAL(d7.total_bytes, 100 + 256 + 77 + 10 + 10);
}

static void test_libc_allocators(void) {
    memgate_counters a = counters();
    char *s = keep(strdup("hello"));
    memgate_counters b = counters();
    char *n = keep(strndup("hello world", 5));
    memgate_counters c = counters();
    char *fmt = NULL;
    int len = asprintf(&fmt, "%d-%s", 12345, "abc");
    memgate_counters d = counters();
    free(s);
    free(n);
    free(fmt);
    memgate_counters e = counters();

    char text[] = "first line\nsecond line\n";
    FILE *in = fmemopen(text, sizeof text - 1, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = in ? getline(&line, &cap, in) : -1;
    memgate_counters f = counters();
    int line_ok = line && strcmp(line, "first line\n") == 0;
    free(line);
    if (in) fclose(in);
    memgate_counters g = counters();

    char *buf = NULL;
    size_t size = 0;
    FILE *ms = open_memstream(&buf, &size);
    if (ms) {
        for (int i = 0; i < 1000; i++) fprintf(ms, "%d,", i);
        fclose(ms);
    }
    memgate_counters h = counters();
    free(buf);
    memgate_counters i = counters();

    delta d1 = diff(&a, &b), d2 = diff(&b, &c), d3 = diff(&c, &d), d4 = diff(&a, &e);
    ASSERT_DELTA(d1, 6, 1);
    ASSERT_DELTA(d2, 6, 1);
    CU_ASSERT_EQUAL(len, 9);
    CU_ASSERT_EQUAL(d3.blocks, 1);
    CU_ASSERT(d3.bytes >= 10);
    ASSERT_DELTA(d4, 0, 0);
    CU_ASSERT_EQUAL(got, 11);
    CU_ASSERT_TRUE(line_ok);
    delta d5 = diff(&e, &f), d6 = diff(&e, &g);
    CU_ASSERT(d5.blocks >= 2); /* the stream and the line */
    CU_ASSERT(d5.bytes >= (int64_t)cap);
    ASSERT_DELTA(d6, 0, 0);
    CU_ASSERT(d6.allocs >= 2);
    CU_ASSERT_PTR_NOT_NULL(ms);
    CU_ASSERT(size > 1000);
    delta d7 = diff(&g, &h), d8 = diff(&g, &i);
    CU_ASSERT_EQUAL(d7.blocks, 1); /* only the buffer stays after fclose */
    CU_ASSERT(d7.bytes >= (int64_t)size + 1);
    ASSERT_DELTA(d8, 0, 0);
}

/* GCC assumes free() leaves errno alone and would fold the errno reads below into
 * constants: calls through these pointers it cannot see through. */
static void (*volatile free_opaque)(void *) = free;
static void *(*volatile realloc_opaque)(void *, size_t) = realloc;

static void test_free_null_and_errno(void) {
    memgate_counters a = counters();
    free(NULL);
    memgate_counters b = counters();
    CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof a), 0);

    void *p = keep(malloc(32));
    errno = 1234;
    free_opaque(p);
    int e1 = errno;
    CU_ASSERT_EQUAL(e1, 1234);
    /* Also for a block the table never saw (allocated while stopped). */
    memgate_stop();
    void *q = keep(malloc(32));
    memgate_start(NULL);
    errno = 4321;
    free_opaque(q);
    int e2 = errno;
    CU_ASSERT_EQUAL(e2, 4321);
    /* A big (mmap'd) block: munmap must not leak into errno either. */
    void *big = keep(malloc(8u << 20));
    errno = 777;
    free_opaque(big);
    int e3 = errno;
    CU_ASSERT_EQUAL(e3, 777);
    /* realloc that succeeds keeps errno. */
    void *r = keep(malloc(8));
    errno = 55;
    r = keep(realloc_opaque(r, 100000));
    int e4 = errno;
    free(r);
    CU_ASSERT_EQUAL(e4, 55);
}

static void test_peak(void) {
    memgate_reset_peak();
    memgate_counters a = counters();
    void *p = keep(malloc(1u << 20));
    memgate_counters b = counters();
    free(p);
    memgate_counters c = counters();
    memgate_reset_peak();
    memgate_counters d = counters();
    void *q = keep(malloc(10));
    void *r = keep(malloc(20));
    free(q);
    memgate_counters e = counters();
    free(r);
    CU_ASSERT_EQUAL(a.peak_bytes, a.live_bytes);
    CU_ASSERT_EQUAL(b.peak_bytes, a.live_bytes + (1 << 20));
    CU_ASSERT_EQUAL(b.live_bytes, a.live_bytes + (1 << 20));
    CU_ASSERT_EQUAL(c.peak_bytes, a.live_bytes + (1 << 20)); /* the peak stays */
    CU_ASSERT_EQUAL(c.live_bytes, a.live_bytes);
    CU_ASSERT_EQUAL(d.peak_bytes, d.live_bytes); /* a new window */
    CU_ASSERT_EQUAL(e.peak_bytes, d.live_bytes + 30);
    CU_ASSERT_EQUAL(e.live_bytes, d.live_bytes + 20);
}

static void test_stop_then_free(void) {
    CU_ASSERT_EQUAL_FATAL(memgate_start(NULL), MEMGATE_OK);
    void *p = keep(malloc(100));
    void *q = keep(malloc(200));
    void *s = keep(malloc(300));
    memgate_counters a = counters();
    int rc_stop = memgate_stop();
    int rc_stop2 = memgate_stop();
    int tracking = memgate_is_tracking();
    void *untracked = keep(malloc(5000));
    memgate_counters b = counters();
    free(p);
    memgate_counters c = counters();
    void *q2 = keep(realloc(q, 1000)); /* q leaves the figures; q2 is not tracked */
    memgate_counters d = counters();
    void *s2 = keep(reallocarray(s, 10, 70));
    memgate_counters e = counters();
    free(untracked);
    memgate_counters f = counters();
    CU_ASSERT_EQUAL_FATAL(memgate_start(NULL), MEMGATE_OK);
    free(q2);
    free(s2);
    memgate_counters g = counters();
    void *t = keep(malloc(40));
    memgate_counters h = counters();
    free(t);

    CU_ASSERT_EQUAL(rc_stop, MEMGATE_OK);
    CU_ASSERT_EQUAL(rc_stop2, MEMGATE_ENOTRUNNING);
    CU_ASSERT_EQUAL(tracking, 0);
    delta d1 = diff(&a, &b), d2 = diff(&b, &c), d3 = diff(&c, &d), d4 = diff(&d, &e);
    delta d5 = diff(&e, &f), d6 = diff(&f, &g), d7 = diff(&g, &h);
    ASSERT_DELTA(d1, 0, 0);
    CU_ASSERT_EQUAL(d1.allocs, 0);
    ASSERT_DELTA(d2, -100, -1);
    CU_ASSERT_EQUAL(d2.frees, 1);
    ASSERT_DELTA(d3, -200, -1);
    ASSERT_DELTA(d4, -300, -1);
    ASSERT_DELTA(d5, 0, 0);
    ASSERT_DELTA(d6, 0, 0);
    ASSERT_DELTA(d7, 40, 1);
}

/* ---- collect hooks --------------------------------------------------------------------- */
static char hook_log[256];
static size_t hook_len;

static void hook_a(void *ctx) { hook_log[hook_len++] = ctx ? *(const char *)ctx : 'a'; }
static void hook_b(void *ctx) {
    (void)ctx;
    hook_log[hook_len++] = 'b';
}
static void hook_c(void *ctx) {
    (void)ctx;
    hook_log[hook_len++] = 'c';
}
static void hook_filler(void *ctx) { (void)ctx; }

static const char *run_hooks(void) {
    hook_len = 0;
    memgate_collect();
    hook_log[hook_len] = '\0';
    return hook_log;
}

static void test_hooks_order_remove_full(void) {
    static char ctx_one = '1', ctx_two = '2';
    CU_ASSERT_EQUAL(memgate_on_collect(NULL, NULL), MEMGATE_EINVAL);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "");
    CU_ASSERT_EQUAL(memgate_on_collect(hook_a, &ctx_one), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_on_collect(hook_b, NULL), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_on_collect(hook_c, NULL), MEMGATE_OK);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "1bc");
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_b, NULL), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_b, NULL), MEMGATE_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "1c");
    /* Same function, another context: a separate hook; removal matches both. */
    CU_ASSERT_EQUAL(memgate_on_collect(hook_a, &ctx_two), MEMGATE_OK);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "1c2");
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_a, &ctx_one), MEMGATE_OK);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "c2");
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_a, NULL), MEMGATE_ENOTFOUND);
    /* 64 hooks at most. */
    int ok = 0, full = 0;
    for (int i = 0; i < 70; i++) {
        int rc = memgate_on_collect(hook_filler, (void *)(intptr_t)(i + 1));
        if (rc == MEMGATE_OK) ok++;
        else if (rc == MEMGATE_EFULL) full++;
    }
    CU_ASSERT_EQUAL(ok, 62);
    CU_ASSERT_EQUAL(full, 8);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "c2");
    for (int i = 0; i < 62; i++)
        CU_ASSERT_EQUAL(memgate_remove_collect(hook_filler, (void *)(intptr_t)(i + 1)), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_on_collect(hook_b, NULL), MEMGATE_OK);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "c2b");
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_c, NULL), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_a, &ctx_two), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_b, NULL), MEMGATE_OK);
    CU_ASSERT_STRING_EQUAL(run_hooks(), "");
}

/* A hook may remove itself while hooks run. */
static int self_removing_calls;
static void hook_self_remove(void *ctx) {
    self_removing_calls++;
    memgate_remove_collect(hook_self_remove, ctx);
}

/* The gc.collect() analog: a cache released by a hook is not in the snapshot. */
static void *hook_cache;
static int cache_hook_calls;
static void hook_release_cache(void *ctx) {
    (void)ctx;
    cache_hook_calls++;
    free(hook_cache);
    hook_cache = NULL;
}

static void test_hooks_before_snapshot(void) {
    CU_ASSERT_EQUAL_FATAL(memgate_start(NULL), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_on_collect(hook_self_remove, NULL), MEMGATE_OK);
    memgate_collect();
    memgate_collect();
    CU_ASSERT_EQUAL(self_removing_calls, 1);

    memgate_counters a = counters();
    hook_cache = malloc(5000);
    CU_ASSERT_EQUAL(memgate_on_collect(hook_release_cache, NULL), MEMGATE_OK);
    memgate_snapshot *s = NULL;
    int rc = memgate_snapshot_take(&s);
    memgate_counters b = counters();
    CU_ASSERT_EQUAL(rc, MEMGATE_OK);
    CU_ASSERT_EQUAL(cache_hook_calls, 1);
    CU_ASSERT_PTR_NULL(hook_cache);
    /* The snapshot was taken after the hook freed the cache, and holds exactly the live
     * figures (its own memory is not counted). */
    CU_ASSERT_EQUAL(memgate_snapshot_bytes(s), b.live_bytes);
    CU_ASSERT_EQUAL(memgate_snapshot_blocks(s), b.live_blocks);
    CU_ASSERT_EQUAL(b.live_bytes, a.live_bytes);
    CU_ASSERT_EQUAL(b.live_blocks, a.live_blocks);
    memgate_snapshot_free(s);
    memgate_counters c = counters();
    CU_ASSERT_EQUAL(c.live_bytes, b.live_bytes);
    CU_ASSERT_EQUAL(c.live_blocks, b.live_blocks);
    CU_ASSERT_EQUAL(memgate_remove_collect(hook_release_cache, NULL), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_snapshot_take(NULL), MEMGATE_EINVAL);
}

/* ---- snapshots and diffs ------------------------------------------------------------------ */
static unsigned line_widget, line_gadget, line_big;

/* Each allocation and the __LINE__ store sit on one line; the store after the call also
 * keeps the call from becoming a tail call, so these functions are frame 0. */
static CT_NOINLINE void *make_widget(void) {
    void *p = malloc(96); line_widget = __LINE__;
    return p;
}

static CT_NOINLINE void *make_gadget(void) {
    void *p = calloc(5, 8); line_gadget = __LINE__;
    return p;
}

static CT_NOINLINE void *make_big(void) {
    void *p = malloc(20000); line_big = __LINE__;
    return p;
}

static void start_stacks(void) {
    memgate_options o = {.capture_stacks = 1, .max_frames = 0};
    CU_ASSERT_EQUAL_FATAL(memgate_start(&o), MEMGATE_OK);
}

typedef struct scene {
    void *widgets[3], *gadgets[5], *libc_str, *big;
    memgate_snapshot *a, *b;
} scene;

/* Loop counts the compiler cannot see, so it cannot unroll a loop into several call
 * sites (each would be a traceback of its own). */
static volatile int two = 2, five = 5;

/* Snapshot A, then 3 widgets (from two call sites), 5 gadgets, one strdup (frame 0 in
 * libc) and the free of a 20000-byte block that A holds, then snapshot B. */
static void scene_make(scene *sc, int with_big) {
    memset(sc, 0, sizeof *sc);
    if (with_big) sc->big = make_big();
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_take(&sc->a), MEMGATE_OK);
    for (int i = 0; i < two; i++) sc->widgets[i] = make_widget();
    sc->widgets[2] = make_widget();
    for (int i = 0; i < five; i++) sc->gadgets[i] = make_gadget();
    sc->libc_str = strdup("0123456789abcdefghij"); /* 21 bytes */
    if (with_big) {
        free(sc->big);
        sc->big = NULL;
    }
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_take(&sc->b), MEMGATE_OK);
}

static void scene_free(scene *sc) {
    for (int i = 0; i < 3; i++) free(sc->widgets[i]);
    for (int i = 0; i < 5; i++) free(sc->gadgets[i]);
    free(sc->libc_str);
    memgate_snapshot_free(sc->a);
    memgate_snapshot_free(sc->b);
}

static int64_t sum_size_diff(const memgate_diff *d) {
    int64_t s = 0;
    for (size_t i = 0; i < memgate_diff_count(d); i++) s += memgate_diff_get(d, i)->size_diff;
    return s;
}

/* No frame of the collector (its hooks or internals) may appear in a traceback. */
static int collector_frame(const memgate_frame *f) {
    static const char *const names[] = {"malloc", "calloc", "realloc", "reallocarray", "free",
                                        "posix_memalign", "aligned_alloc", "memalign",
                                        "valloc", "pvalloc", "tracked_realloc", "current_stack",
                                        "track_new"};
    if (f->function && strncmp(f->function, "mg__", 4) == 0) return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (f->function && strcmp(f->function, names[i]) == 0) return 1;
    if (f->file && (strstr(f->file, "collector/interpose.c") || strstr(f->file, "collector/unwind.c") ||
                    strstr(f->file, "collector/stacks.c")))
        return 1;
    return 0;
}

static const memgate_stat *find_function(const memgate_diff *d, const char *fn) {
    for (size_t i = 0; i < memgate_diff_count(d); i++) {
        const memgate_stat *st = memgate_diff_get(d, i);
        if (st->nframes && st->frames[0].function && strcmp(st->frames[0].function, fn) == 0)
            return st;
    }
    return NULL;
}

static void test_snapshot_traceback(void) {
    start_stacks();
    scene sc;
    scene_make(&sc, 0);
    memgate_diff *d = NULL;
    int rc = memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_TRACEBACK, NULL, 0, &d);
    CU_ASSERT_EQUAL_FATAL(rc, MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_snapshot_bytes(sc.b) - memgate_snapshot_bytes(sc.a), 3 * 96 + 5 * 40 + 21);
    CU_ASSERT_EQUAL(memgate_snapshot_blocks(sc.b) - memgate_snapshot_blocks(sc.a), 9);
    /* Widgets from two call sites (two tracebacks), gadgets, strdup: 4 entries. */
    CU_ASSERT_EQUAL(memgate_diff_count(d), 4);
    CU_ASSERT_EQUAL(sum_size_diff(d), 3 * 96 + 5 * 40 + 21);
    const memgate_stat *g = find_function(d, "make_gadget");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->size_diff, 200);
    CU_ASSERT_EQUAL(g->count_diff, 5);
    CU_ASSERT_EQUAL(g->size, 200);
    CU_ASSERT_EQUAL(g->count, 5);
    CU_ASSERT(g->nframes >= 2);
    CU_ASSERT_EQUAL(g->frames[0].line, line_gadget);
    CU_ASSERT_TRUE(ends_with(g->frames[0].file, "ctest_api.c"));
    CU_ASSERT_TRUE(ends_with(g->frames[0].module, "ctest_api"));
    CU_ASSERT_NOT_EQUAL(g->frames[0].address, 0);
    /* Frame 1 is the caller: scene_make. */
    CU_ASSERT_STRING_EQUAL(g->frames[1].function, "scene_make");
    unsigned widget_entries = 0, widget_blocks = 0, collector = 0;
    for (size_t i = 0; i < memgate_diff_count(d); i++) {
        const memgate_stat *st = memgate_diff_get(d, i);
        for (size_t k = 0; k < st->nframes; k++) collector += collector_frame(&st->frames[k]);
        if (st->nframes && strcmp(st->frames[0].function, "make_widget") == 0) {
            widget_entries++;
            widget_blocks += (unsigned)st->count_diff;
            CU_ASSERT_EQUAL(st->frames[0].line, line_widget);
            CU_ASSERT_EQUAL(st->size_diff, 96 * st->count_diff);
        }
    }
    CU_ASSERT_EQUAL(collector, 0);
    CU_ASSERT_EQUAL(widget_entries, 2);
    CU_ASSERT_EQUAL(widget_blocks, 3);
    /* strdup's malloc call is in libc: frame 0 is strdup. */
    const memgate_stat *s = find_function(d, "strdup");
    if (!s) s = find_function(d, "__strdup");
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s) {
        CU_ASSERT_EQUAL(s->size_diff, 21);
        CU_ASSERT_PTR_NOT_NULL(strstr(s->frames[0].module, "libc.so"));
        CU_ASSERT(s->nframes >= 2);
        if (s->nframes >= 2) CU_ASSERT_STRING_EQUAL(s->frames[1].function, "scene_make");
    }
    memgate_diff_free(d);
    /* Comparing a snapshot with itself: no growth. */
    CU_ASSERT_EQUAL(memgate_snapshot_compare(sc.a, sc.a, MEMGATE_GROUP_TRACEBACK, NULL, 0, &d), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_diff_count(d), 0);
    memgate_diff_free(d);
    scene_free(&sc);
}

static void test_snapshot_function(void) {
    start_stacks();
    scene sc;
    scene_make(&sc, 0);
    memgate_diff *d = NULL;
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_FUNCTION, NULL, 0, &d),
                          MEMGATE_OK);
    /* objgraph's show_growth: one line per allocating function. */
    CU_ASSERT_EQUAL(memgate_diff_count(d), 3);
    const memgate_stat *w = memgate_diff_get(d, 0), *g = memgate_diff_get(d, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(w->nframes, 1);
    CU_ASSERT_STRING_EQUAL(w->frames[0].function, "make_widget");
    CU_ASSERT_EQUAL(w->size_diff, 288);
    CU_ASSERT_EQUAL(w->count_diff, 3);
    CU_ASSERT_STRING_EQUAL(g->frames[0].function, "make_gadget");
    CU_ASSERT_EQUAL(g->size_diff, 200);
    CU_ASSERT_EQUAL(g->count_diff, 5);
    const memgate_stat *s = memgate_diff_get(d, 2);
    CU_ASSERT_TRUE(s && s->size_diff == 21 && strstr(s->frames[0].function, "strdup"));
    memgate_diff_free(d);
    scene_free(&sc);
}

static void test_snapshot_line_file_module(void) {
    start_stacks();
    scene sc;
    scene_make(&sc, 0);
    memgate_diff *d = NULL;
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_LINE, NULL, 0, &d), MEMGATE_OK);
    /* Both widget call sites are one allocation line; gadgets; strdup. */
    CU_ASSERT_EQUAL(memgate_diff_count(d), 3);
    const memgate_stat *w = memgate_diff_get(d, 0), *g = memgate_diff_get(d, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_TRUE(ends_with(w->frames[0].file, "ctest_api.c"));
    CU_ASSERT_EQUAL(w->frames[0].line, line_widget);
    CU_ASSERT_EQUAL(w->size_diff, 288);
    CU_ASSERT_TRUE(ends_with(g->frames[0].file, "ctest_api.c"));
    CU_ASSERT_EQUAL(g->frames[0].line, line_gadget);
    CU_ASSERT_EQUAL(g->count_diff, 5);
    memgate_diff_free(d);

    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_FILE, NULL, 0, &d), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_diff_count(d), 2);
    const memgate_stat *f = memgate_diff_get(d, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_TRUE(ends_with(f->frames[0].file, "ctest_api.c"));
    CU_ASSERT_EQUAL(f->frames[0].line, 0);
    CU_ASSERT_EQUAL(f->size_diff, 488);
    CU_ASSERT_EQUAL(f->count_diff, 8);
    memgate_diff_free(d);

    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_MODULE, NULL, 0, &d), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_diff_count(d), 2);
    const memgate_stat *m0 = memgate_diff_get(d, 0), *m1 = memgate_diff_get(d, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
    CU_ASSERT_TRUE(ends_with(m0->frames[0].module, "ctest_api"));
    CU_ASSERT_EQUAL(m0->size_diff, 488);
    CU_ASSERT_PTR_NOT_NULL(strstr(m1->frames[0].module, "libc.so"));
    CU_ASSERT_EQUAL(m1->size_diff, 21);
    CU_ASSERT_EQUAL(m1->count_diff, 1);
    memgate_diff_free(d);
    scene_free(&sc);
}

static int64_t filtered_sum(const scene *sc, memgate_group group, const memgate_filter *f, size_t nf,
                            size_t *count) {
    memgate_diff *d = NULL;
    int rc = memgate_snapshot_compare(sc->b, sc->a, group, f, nf, &d);
    CU_ASSERT_EQUAL(rc, MEMGATE_OK);
    if (rc != MEMGATE_OK) return -1;
    int64_t s = sum_size_diff(d);
    *count = memgate_diff_count(d);
    memgate_diff_free(d);
    return s;
}

static void test_snapshot_filters(void) {
    start_stacks();
    scene sc;
    scene_make(&sc, 0);
    size_t n = 0;
    memgate_filter inc_file = {.inclusive = 1, .file_pattern = "*ctest_api.c"};
    memgate_filter exc_file = {.inclusive = 0, .file_pattern = "*ctest_api.c"};
    memgate_filter inc_libc = {.inclusive = 1, .module_pattern = "*libc.so*"};
    memgate_filter exc_libc = {.inclusive = 0, .module_pattern = "*libc.so*"};
    memgate_filter inc_file_all = {.inclusive = 1, .file_pattern = "*ctest_api.c", .all_frames = 1};
    memgate_filter exc_file_all = {.inclusive = 0, .file_pattern = "*ctest_api.c", .all_frames = 1};
    memgate_filter inc_nothing = {.inclusive = 1, .file_pattern = "*no_such_file.c"};

    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &inc_file, 1, &n), 488);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &exc_file, 1, &n), 21);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &inc_libc, 1, &n), 21);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_FUNCTION, &exc_libc, 1, &n), 488);
    CU_ASSERT_EQUAL(n, 2);
    /* Testing every frame: strdup's caller is in this file. */
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &inc_file_all, 1, &n), 488 + 21);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &exc_file_all, 1, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &inc_nothing, 1, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    /* Inclusive and exclusive together: this file's traces without the gadget line...
     * expressed with module + file: keep this file, drop libc. */
    memgate_filter both[2] = {inc_file_all, exc_libc};
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_LINE, both, 2, &n), 488);
    CU_ASSERT_EQUAL(n, 2);
    /* The header's contract (tracemalloc's): a trace matching any inclusive filter is
     * kept, so two inclusive filters keep the union of what each keeps. */
    size_t n_file = 0, n_libc = 0;
    int64_t s_file = filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &inc_file, 1, &n_file);
    int64_t s_libc = filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, &inc_libc, 1, &n_libc);
    CU_ASSERT(s_file > 0);
    memgate_filter two_inc[2] = {inc_file, inc_libc};
    CU_ASSERT_EQUAL(filtered_sum(&sc, MEMGATE_GROUP_TRACEBACK, two_inc, 2, &n), s_file + s_libc);
    CU_ASSERT_EQUAL(n, n_file + n_libc);
    /* Bad arguments. */
    memgate_diff *d = (memgate_diff *)&n;
    CU_ASSERT_EQUAL(memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_TRACEBACK, NULL, 1, &d), MEMGATE_EINVAL);
    CU_ASSERT_EQUAL(memgate_snapshot_compare(NULL, sc.a, MEMGATE_GROUP_TRACEBACK, NULL, 0, &d), MEMGATE_EINVAL);
    CU_ASSERT_EQUAL(memgate_snapshot_compare(sc.b, NULL, MEMGATE_GROUP_TRACEBACK, NULL, 0, &d), MEMGATE_EINVAL);
    CU_ASSERT_EQUAL(memgate_snapshot_compare(sc.b, sc.a, (memgate_group)7, NULL, 0, &d), MEMGATE_EINVAL);
    CU_ASSERT_EQUAL(memgate_snapshot_compare(sc.b, sc.a, (memgate_group)-1, NULL, 0, &d), MEMGATE_EINVAL);
    CU_ASSERT_EQUAL(memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_TRACEBACK, NULL, 0, NULL), MEMGATE_EINVAL);
    scene_free(&sc);
}

static void test_snapshot_sort_and_print(void) {
    start_stacks();
    scene sc;
    scene_make(&sc, 1);
    memgate_diff *d = NULL;
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_compare(sc.b, sc.a, MEMGATE_GROUP_TRACEBACK, NULL, 0, &d),
                          MEMGATE_OK);
    size_t n = memgate_diff_count(d);
    CU_ASSERT_EQUAL(n, 5);
    const memgate_stat *first = memgate_diff_get(d, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    /* The freed 20000-byte block is the largest change. */
    CU_ASSERT_EQUAL(first->size_diff, -20000);
    CU_ASSERT_EQUAL(first->count_diff, -1);
    CU_ASSERT_EQUAL(first->size, 0);
    CU_ASSERT_EQUAL(first->count, 0);
    CU_ASSERT_STRING_EQUAL(first->frames[0].function, "make_big");
    CU_ASSERT_EQUAL(first->frames[0].line, line_big);
    unsigned unordered = 0;
    for (size_t i = 1; i < n; i++) {
        const memgate_stat *p = memgate_diff_get(d, i - 1), *q = memgate_diff_get(d, i);
        int64_t ap = llabs(p->size_diff), aq = llabs(q->size_diff);
        if (ap < aq || (ap == aq && llabs(p->count_diff) < llabs(q->count_diff))) unordered++;
    }
    CU_ASSERT_EQUAL(unordered, 0);
    CU_ASSERT_EQUAL(memgate_diff_get(d, n), NULL);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    memgate_diff_print(d, out, 0);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "KiB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "-19.5 KiB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "make_big"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "make_widget"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ctest_api.c:"));
    free(text);
    text = NULL;
    out = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    memgate_diff_print(d, out, 1);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "make_big"));
    CU_ASSERT_PTR_NULL(strstr(text, "make_widget"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "4 more entries"));
    free(text);
    memgate_diff_free(d);
    scene_free(&sc);
}

/* Equal byte growth: the group with more blocks first. */
static CT_NOINLINE void *one_hundred(void) {
    void *p = malloc(100);
    sink = p;
    return p;
}
static CT_NOINLINE void *fifty(void) {
    void *p = malloc(50);
    sink = p;
    return p;
}

static void test_sort_ties_by_count(void) {
    start_stacks();
    memgate_snapshot *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_take(&a), MEMGATE_OK);
    void *x = one_hundred();
    void *y1 = fifty();
    void *y2 = fifty();
    /* Unchanged between the snapshots: not in the diff. */
    free(keep(malloc(4000)));
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_take(&b), MEMGATE_OK);
    memgate_diff *d = NULL;
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_compare(b, a, MEMGATE_GROUP_FUNCTION, NULL, 0, &d), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_diff_count(d), 2);
    const memgate_stat *s0 = memgate_diff_get(d, 0), *s1 = memgate_diff_get(d, 1);
    CU_ASSERT_TRUE(s0 && s1);
    if (s0 && s1) {
        CU_ASSERT_STRING_EQUAL(s0->frames[0].function, "fifty");
        CU_ASSERT_EQUAL(s0->count_diff, 2);
        CU_ASSERT_STRING_EQUAL(s1->frames[0].function, "one_hundred");
        CU_ASSERT_EQUAL(s1->count_diff, 1);
    }
    memgate_diff_free(d);
    free(x);
    free(y1);
    free(y2);
    memgate_snapshot_free(a);
    memgate_snapshot_free(b);
}

/* Without stacks, every block falls under one empty traceback. */
static void test_snapshot_without_stacks(void) {
    CU_ASSERT_EQUAL_FATAL(memgate_start(NULL), MEMGATE_OK);
    memgate_snapshot *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_take(&a), MEMGATE_OK);
    void *p = keep(malloc(123));
    void *q = keep(malloc(7));
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_take(&b), MEMGATE_OK);
    memgate_diff *d = NULL;
    CU_ASSERT_EQUAL_FATAL(memgate_snapshot_compare(b, a, MEMGATE_GROUP_TRACEBACK, NULL, 0, &d), MEMGATE_OK);
    CU_ASSERT_EQUAL(memgate_diff_count(d), 1);
    const memgate_stat *s = memgate_diff_get(d, 0);
    CU_ASSERT_TRUE(s && s->size_diff == 130 && s->count_diff == 2 && s->nframes == 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    memgate_diff_print(d, out, 0);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "+130 B"));
    free(text);
    memgate_diff_free(d);
    free(p);
    free(q);
    memgate_snapshot_free(a);
    memgate_snapshot_free(b);
}

/* ---- strings, version, annotation ---------------------------------------------------------- */
static void test_strerror(void) {
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_OK), "success");
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_ENOMEM), "out of memory");
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_EINVAL), "invalid argument");
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_ENOTRUNNING), "the collector is not running");
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_ENOSTACKS), "stack capture is off (start with capture_stacks)");
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_ESYMBOLS), "symbolization is unavailable");
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_EFULL), "table full");
    CU_ASSERT_STRING_EQUAL(memgate_strerror(MEMGATE_ENOTFOUND), "not found");
    /* Codes are stable. */
    CU_ASSERT_EQUAL(MEMGATE_OK, 0);
    CU_ASSERT_EQUAL(MEMGATE_ENOMEM, -1);
    CU_ASSERT_EQUAL(MEMGATE_ENOTFOUND, -7);
    static const int unknown[] = {1, -8, 100, -100, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CU_ASSERT_STRING_EQUAL(memgate_strerror(unknown[i]), "unknown memgate status");
}

static void test_version(void) {
    CU_ASSERT_STRING_EQUAL(memgate_version(), MEMGATE_VERSION_STRING);
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", MEMGATE_VERSION_MAJOR, MEMGATE_VERSION_MINOR,
             MEMGATE_VERSION_PATCH);
    CU_ASSERT_STRING_EQUAL(memgate_version(), buf);
}

static void test_budget_macro(void) {
    mg__annotation.set = false;
    unsigned line = __LINE__ + 1;
    MEMGATE_BUDGET(.leak_bytes = MEMGATE_KiB(4), .peak_bytes = MEMGATE_MiB(8));
    CU_ASSERT_TRUE(mg__annotation.set);
    CU_ASSERT_EQUAL(mg__annotation.budget.leak_bytes, 4096);
    CU_ASSERT_EQUAL(mg__annotation.budget.object_growth, MEMGATE_UNSET);
    CU_ASSERT_EQUAL(mg__annotation.budget.peak_bytes, 8LL * 1024 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mg__annotation.file);
    CU_ASSERT_STRING_EQUAL(mg__annotation.file, __FILE__);
    CU_ASSERT_EQUAL(mg__annotation.line, line);

    MEMGATE_BUDGET(.object_growth = 10, .peak_bytes = MEMGATE_UNLIMITED, .leak_bytes = MEMGATE_GiB(1));
    CU_ASSERT_EQUAL(mg__annotation.budget.leak_bytes, 1024LL * 1024 * 1024);
    CU_ASSERT_EQUAL(mg__annotation.budget.object_growth, 10);
    CU_ASSERT_EQUAL(mg__annotation.budget.peak_bytes, MEMGATE_UNLIMITED);

    MEMGATE_BUDGET(.object_growth = 3);
    CU_ASSERT_EQUAL(mg__annotation.budget.leak_bytes, MEMGATE_UNSET);
    CU_ASSERT_EQUAL(mg__annotation.budget.object_growth, 3);
    CU_ASSERT_EQUAL(mg__annotation.budget.peak_bytes, MEMGATE_UNSET);

    /* NULL is ignored. */
    memgate_budget_annotate(NULL, "x.c", 1);
    CU_ASSERT_EQUAL(mg__annotation.budget.object_growth, 3);
    CU_ASSERT_STRING_EQUAL(mg__annotation.file, __FILE__);
    CU_ASSERT_EQUAL(MEMGATE_KiB(1), 1024);
    CU_ASSERT_EQUAL(MEMGATE_MiB(3), 3LL << 20);
    CU_ASSERT_EQUAL(MEMGATE_GiB(5), 5LL << 30);
}

MGT_MAIN({
    /* Order matters: the first suite runs before anything starts the collector. */
    static const mgt_case off[] = {{"off_until_start", test_off_until_start},
                                   {"start_capture", test_start_capture},
                                   {NULL, NULL}};
    static const mgt_case counts[] = {{"malloc_calloc", test_malloc_calloc},
                                      {"too_large", test_too_large},
                                      {"realloc", test_realloc},
                                      {"reallocarray", test_reallocarray},
                                      {"aligned_family", test_aligned_family},
                                      {"libc_allocators", test_libc_allocators},
                                      {"free_null_and_errno", test_free_null_and_errno},
                                      {"peak", test_peak},
                                      {"stop_then_free", test_stop_then_free},
                                      {NULL, NULL}};
    static const mgt_case hooks[] = {{"order_remove_full", test_hooks_order_remove_full},
                                     {"before_snapshot", test_hooks_before_snapshot},
                                     {NULL, NULL}};
    static const mgt_case snaps[] = {{"traceback", test_snapshot_traceback},
                                     {"function", test_snapshot_function},
                                     {"line_file_module", test_snapshot_line_file_module},
                                     {"filters", test_snapshot_filters},
                                     {"sort_and_print", test_snapshot_sort_and_print},
                                     {"sort_ties_by_count", test_sort_ties_by_count},
                                     {"without_stacks", test_snapshot_without_stacks},
                                     {NULL, NULL}};
    static const mgt_case misc[] = {{"strerror", test_strerror},
                                    {"version", test_version},
                                    {"budget_macro", test_budget_macro},
                                    {NULL, NULL}};
    if (mgt_add_suite("api_off", off) || mgt_add_suite("api_counts", counts) ||
        mgt_add_suite("api_hooks", hooks) || mgt_add_suite("api_snapshots", snaps) ||
        mgt_add_suite("api_misc", misc))
        return 2;
})
