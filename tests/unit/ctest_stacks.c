/*
 * Tests of the stack prefix tree (collector/stacks.c): interning and deduplication,
 * prefix sharing, frames round trip, the per-thread path cache (alternating stacks,
 * prefixes of the cached path, other threads interning meanwhile), MG_MAX_FRAMES
 * truncation, 1M distinct stacks, per-stack live aggregates and mg__stack_snapshot.
 * The last suite feeds fixed stacks through real malloc calls with a fake unwinder
 * installed in mg__unwind.
 *
 * The tree is global and never shrinks, so every test uses its own range of synthetic
 * frame values and measures node counts as differences. Recording stays off until the
 * last suite (with capture on, every allocation of CUnit would add nodes).
 */
#include "internal.h"
#include "mgtest.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__GNUC__) && !defined(__clang__)
#define CT_NOINLINE __attribute__((noinline, noipa))
#else
#define CT_NOINLINE __attribute__((noinline))
#endif

/* Fills f with n frames base+n-1 .. base (innermost first), i.e. the outermost frame
 * is `base`, as if main called f1 called f2... */
static void make_stack(uintptr_t *f, int n, uintptr_t base) {
    for (int i = 0; i < n; i++) f[i] = base + (uintptr_t)(n - 1 - i) * 0x10u;
}

static int frames_equal(uint32_t id, const uintptr_t *want, int n) {
    uintptr_t got[MG_MAX_FRAMES + 8];
    int k = mg__stack_frames(id, got, MG_MAX_FRAMES + 8);
    if (k != n) return 0;
    return memcmp(got, want, (size_t)n * sizeof *want) == 0;
}

/* ---- interning ------------------------------------------------------------------------ */
static void test_empty_and_reserved(void) {
    uintptr_t f[1] = {0x1234};
    uintptr_t out[4];
    CU_ASSERT_EQUAL(mg__stack_intern(f, 0), MG_STACK_NONE);
    CU_ASSERT_EQUAL(mg__stack_intern(f, -1), MG_STACK_NONE);
    CU_ASSERT_EQUAL(mg__stack_frames(MG_STACK_NONE, out, 4), 0);
    CU_ASSERT_EQUAL(mg__stack_frames(MG_STACK_INTERNAL, out, 4), 0);
    CU_ASSERT_EQUAL(mg__stack_frames(MG_STACK_OVERFLOW, out, 4), 0);
    /* An id that was never handed out has no frames. */
    CU_ASSERT_EQUAL(mg__stack_frames(mg__stack_count() + 5, out, 4), 0);
    CU_ASSERT(mg__stack_count() >= 1); /* the root */
}

static void test_dedup(void) {
    uintptr_t a[5], b[5];
    make_stack(a, 5, 0x10000);
    memcpy(b, a, sizeof a);
    b[0] += 8; /* same callers, different innermost frame */
    uint32_t before = mg__stack_count();
    uint32_t ia = mg__stack_intern(a, 5);
    CU_ASSERT_NOT_EQUAL(ia, MG_STACK_NONE);
    CU_ASSERT_NOT_EQUAL(ia, MG_STACK_OVERFLOW);
    CU_ASSERT(ia < mg__stack_count());
    CU_ASSERT_EQUAL(mg__stack_count(), before + 5);
    CU_ASSERT_EQUAL(mg__stack_intern(a, 5), ia);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 5);
    uint32_t ib = mg__stack_intern(b, 5);
    CU_ASSERT_NOT_EQUAL(ib, ia);
    /* b shares its 4 callers with a: one new node. */
    CU_ASSERT_EQUAL(mg__stack_count(), before + 6);
    /* Back and forth: the path cache must not confuse them. */
    for (int i = 0; i < 100; i++) {
        if (mg__stack_intern(a, 5) != ia || mg__stack_intern(b, 5) != ib) {
            CU_FAIL("alternating stacks changed id");
            break;
        }
    }
    CU_ASSERT_EQUAL(mg__stack_count(), before + 6);
    /* Different outermost frame: nothing shared. */
    uintptr_t c[5];
    memcpy(c, a, sizeof a);
    c[4] += 8;
    uint32_t ic = mg__stack_intern(c, 5);
    CU_ASSERT_NOT_EQUAL(ic, ia);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 11);
    CU_ASSERT_TRUE(frames_equal(ia, a, 5));
    CU_ASSERT_TRUE(frames_equal(ib, b, 5));
    CU_ASSERT_TRUE(frames_equal(ic, c, 5));
}

static void test_prefix_sharing(void) {
    uintptr_t s[8];
    make_stack(s, 8, 0x20000);
    /* s+1 (7 frames) is the caller's stack of s: intern the short one first. */
    uint32_t before = mg__stack_count();
    uint32_t ishort = mg__stack_intern(s + 1, 7);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 7);
    uint32_t ilong = mg__stack_intern(s, 8);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 8); /* one frame more: one node more */
    CU_ASSERT_NOT_EQUAL(ishort, ilong);
    CU_ASSERT_TRUE(frames_equal(ilong, s, 8));
    CU_ASSERT_TRUE(frames_equal(ishort, s + 1, 7));
    /* Extending once more from another thread's point of view is covered below; here:
     * a stack that is a prefix of the cached path (the callers only) finds the existing
     * node without creating any. */
    uint32_t icallers = mg__stack_intern(s + 3, 5);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 8);
    CU_ASSERT_TRUE(frames_equal(icallers, s + 3, 5));
    CU_ASSERT_EQUAL(mg__stack_intern(s + 1, 7), ishort);
    CU_ASSERT_EQUAL(mg__stack_intern(s, 8), ilong);
    /* One frame below the longest: again exactly one node. */
    uintptr_t deeper[9];
    deeper[0] = 0x2ffff0;
    memcpy(deeper + 1, s, sizeof s);
    uint32_t ideeper = mg__stack_intern(deeper, 9);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 9);
    CU_ASSERT_TRUE(frames_equal(ideeper, deeper, 9));
    /* max limits the output to the innermost frames. */
    uintptr_t out[3];
    CU_ASSERT_EQUAL(mg__stack_frames(ideeper, out, 3), 3);
    CU_ASSERT_EQUAL(out[0], deeper[0]);
    CU_ASSERT_EQUAL(out[1], deeper[1]);
    CU_ASSERT_EQUAL(out[2], deeper[2]);
}

/* Alternating among stacks of varied shared prefix lengths and depths. */
static void test_path_cache_alternating(void) {
    enum { NS = 12 };
    uintptr_t st[NS][20];
    int len[NS];
    uint32_t id[NS];
    for (int k = 0; k < NS; k++) {
        len[k] = 3 + (k * 7) % 17;
        make_stack(st[k], len[k], 0x30000);
        /* diverge at depth k % len: frames outer of that point are shared */
        int d = k % len[k];
        st[k][d] += (uintptr_t)(k + 1) * 0x100000u;
        id[k] = mg__stack_intern(st[k], len[k]);
    }
    unsigned wrong = 0;
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 20000; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int k = (int)(x % NS);
        if (mg__stack_intern(st[k], len[k]) != id[k]) wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    for (int k = 0; k < NS; k++) CU_ASSERT_TRUE(frames_equal(id[k], st[k], len[k]));
    /* Distinct stacks got distinct ids. */
    for (int i = 0; i < NS; i++)
        for (int j = i + 1; j < NS; j++) {
            int same = len[i] == len[j] && memcmp(st[i], st[j], sizeof(uintptr_t) * (size_t)len[i]) == 0;
            if (!same) CU_ASSERT_NOT_EQUAL(id[i], id[j]);
        }
}

/* ---- other threads ---------------------------------------------------------------------- */
typedef struct th_arg {
    uintptr_t base;
    int nstacks;
    uint32_t ids[64];
    uintptr_t shared[6];
    uint32_t shared_id;
} th_arg;

static void *intern_many(void *arg) {
    th_arg *a = arg;
    /* Many new nodes, so the index grows (rehashes) while the main thread's path cache
     * still holds its ids. */
    uintptr_t f[10];
    for (int k = 0; k < 50000; k++) {
        make_stack(f, 10, a->base);
        f[0] = a->base + 0x1000000u + (uintptr_t)k * 0x10u;
        uint32_t id = mg__stack_intern(f, 10);
        if (k < 64) a->ids[k] = id;
    }
    a->shared_id = mg__stack_intern(a->shared, 6);
    return NULL;
}

static void test_path_cache_other_thread(void) {
    uintptr_t mine[6];
    make_stack(mine, 6, 0x40000);
    uint32_t im = mg__stack_intern(mine, 6);
    th_arg a;
    memset(&a, 0, sizeof a);
    a.base = 0x50000000;
    /* The thread interns the main thread's stack too: same id from an empty cache. */
    memcpy(a.shared, mine, sizeof mine);
    pthread_t t;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, intern_many, &a) == 0);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(a.shared_id, im);
    uint32_t count = mg__stack_count();
    /* This thread's cache still points at valid nodes. */
    CU_ASSERT_EQUAL(mg__stack_intern(mine, 6), im);
    CU_ASSERT_TRUE(frames_equal(im, mine, 6));
    /* And it finds the nodes the other thread made, without making new ones. */
    uintptr_t f[10];
    unsigned wrong = 0;
    for (int k = 0; k < 64; k++) {
        make_stack(f, 10, a.base);
        f[0] = a.base + 0x1000000u + (uintptr_t)k * 0x10u;
        if (mg__stack_intern(f, 10) != a.ids[k] || !frames_equal(a.ids[k], f, 10)) wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(mg__stack_count(), count);
}

/* Two threads intern the same fresh stacks at once: each stack gets one id. */
static uintptr_t race_base = 0x60000000;

static void *intern_race(void *arg) {
    uint32_t *ids = arg;
    uintptr_t f[8];
    for (int k = 0; k < 2000; k++) {
        make_stack(f, 8, race_base + (uintptr_t)(k % 50) * 0x1000u);
        f[0] = race_base + 0x100000u + (uintptr_t)k * 0x10u;
        ids[k] = mg__stack_intern(f, 8);
    }
    return NULL;
}

static void test_concurrent_intern(void) {
    enum { T = 4 };
    static uint32_t ids[T][2000];
    pthread_t th[T];
    uint32_t before = mg__stack_count();
    for (int t = 0; t < T; t++) CU_ASSERT_FATAL(pthread_create(&th[t], NULL, intern_race, ids[t]) == 0);
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    unsigned wrong = 0;
    for (int k = 0; k < 2000; k++)
        for (int t = 1; t < T; t++) wrong += ids[t][k] != ids[0][k];
    CU_ASSERT_EQUAL(wrong, 0);
    /* 50 distinct 7-frame caller chains + 2000 distinct leaves. */
    CU_ASSERT_EQUAL(mg__stack_count(), before + 50 * 7 + 2000);
}

/* ---- limits ----------------------------------------------------------------------------- */
static void test_truncation(void) {
    uintptr_t f[MG_MAX_FRAMES + 6];
    make_stack(f, MG_MAX_FRAMES + 6, 0x70000);
    uint32_t before = mg__stack_count();
    uint32_t id = mg__stack_intern(f, MG_MAX_FRAMES + 6);
    CU_ASSERT_NOT_EQUAL(id, MG_STACK_NONE);
    /* Only the innermost MG_MAX_FRAMES frames are kept. */
    CU_ASSERT_EQUAL(mg__stack_count(), before + MG_MAX_FRAMES);
    CU_ASSERT_TRUE(frames_equal(id, f, MG_MAX_FRAMES));
    CU_ASSERT_EQUAL(mg__stack_intern(f, MG_MAX_FRAMES), id);
    CU_ASSERT_EQUAL(mg__stack_intern(f, MG_MAX_FRAMES + 1), id);
    uintptr_t out[MG_MAX_FRAMES];
    CU_ASSERT_EQUAL(mg__stack_frames(id, out, MG_MAX_FRAMES), MG_MAX_FRAMES);
    CU_ASSERT_EQUAL(out[0], f[0]);
    CU_ASSERT_EQUAL(out[MG_MAX_FRAMES - 1], f[MG_MAX_FRAMES - 1]);
}

/* CPU time of this thread: a guard against a quadratic slowdown that does not fire
 * because the machine is busy. */
static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 1M distinct stacks shaped like a real program's: 100,000 distinct caller chains, each
 * with 10 allocation sites below it. Interning must stay fast (the collector does it on
 * every allocation) and cost a bounded amount of memory per node. */
static void test_million_stacks(void) {
    enum { CALLERS = 100000, LEAVES = 10, LIMIT_S = 20 };
    uintptr_t f[4] = {0, 0, 0xa00020, 0xa00030};
    uint32_t before = mg__stack_count();
    uint64_t mem_before = mg__stack_memory();
    uint32_t first = 0, last = 0;
    unsigned bad = 0;
    double t0 = now_s();
    int too_slow = 0;
    for (uint32_t c = 0; c < CALLERS && !too_slow; c++) {
        f[1] = 0xc000000u + (uintptr_t)c * 0x10u;
        for (uint32_t l = 0; l < LEAVES; l++) {
            f[0] = 0xb000000u + (uintptr_t)l * 0x10u;
            uint32_t id = mg__stack_intern(f, 4);
            if (id == MG_STACK_OVERFLOW || id == MG_STACK_NONE) bad++;
            if (c == 0 && l == 0) first = id;
            last = id;
        }
        if (c % 1024 == 0 && now_s() - t0 > LIMIT_S) too_slow = 1;
    }
    if (too_slow) {
        CU_FAIL("interning 1M stacks took more than 20 s of CPU");
        return;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Two shared outer frames, one node per caller, one per (caller, leaf). */
    CU_ASSERT_EQUAL(mg__stack_count(), before + 2 + CALLERS + CALLERS * LEAVES);
    uint64_t mem = mg__stack_memory();
    CU_ASSERT(mem > mem_before);
    /* At least the frame and parent of each node; at most 64 bytes per node overall. */
    CU_ASSERT(mem - mem_before >= (uint64_t)CALLERS * LEAVES * 12u);
    CU_ASSERT(mem <= (uint64_t)mg__stack_count() * 64u + (1u << 20));
    /* Dedup at this scale, through the index (the path cache holds the last one). */
    f[1] = 0xc000000u;
    f[0] = 0xb000000u;
    CU_ASSERT_EQUAL(mg__stack_intern(f, 4), first);
    CU_ASSERT_TRUE(frames_equal(first, f, 4));
    f[1] = 0xc000000u + (uintptr_t)(CALLERS - 1) * 0x10u;
    f[0] = 0xb000000u + (uintptr_t)(LEAVES - 1) * 0x10u;
    CU_ASSERT_EQUAL(mg__stack_intern(f, 4), last);
    unsigned wrong = 0;
    for (uint32_t c = 0; c < CALLERS; c += 997) {
        f[1] = 0xc000000u + (uintptr_t)c * 0x10u;
        f[0] = 0xb000000u + (uintptr_t)(c % LEAVES) * 0x10u;
        uint32_t id = mg__stack_intern(f, 4);
        if (!frames_equal(id, f, 4)) wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 2 + CALLERS + CALLERS * LEAVES);
}

/* Many allocation sites below one caller (a dispatcher calling many allocating
 * functions): 20,000 children of one node. */
static void test_many_siblings(void) {
    enum { N = 20000, LIMIT_S = 5 };
    uintptr_t f[3] = {0, 0xd00010, 0xd00020};
    uint32_t before = mg__stack_count();
    double t0 = now_s();
    int too_slow = 0;
    for (uint32_t k = 0; k < N && !too_slow; k++) {
        f[0] = 0xe000000u + (uintptr_t)k * 0x10u;
        mg__stack_intern(f, 3);
        if (k % 1024 == 0 && now_s() - t0 > LIMIT_S) too_slow = 1;
    }
    CU_ASSERT_FALSE(too_slow);
    CU_ASSERT_EQUAL(mg__stack_count(), before + 2 + N);
}

/* ---- aggregates ------------------------------------------------------------------------- */
static void test_account_live(void) {
    uintptr_t f[3];
    make_stack(f, 3, 0x80000);
    uint32_t id = mg__stack_intern(f, 3);
    int64_t b, c;
    mg__stack_live(id, &b, &c);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(c, 0);
    mg__stack_account(id, 100, 1);
    mg__stack_account(id, 250, 1);
    mg__stack_live(id, &b, &c);
    CU_ASSERT_EQUAL(b, 350);
    CU_ASSERT_EQUAL(c, 2);
    mg__stack_account(id, -100, -1);
    mg__stack_live(id, &b, &c);
    CU_ASSERT_EQUAL(b, 250);
    CU_ASSERT_EQUAL(c, 1);
    /* The parent node has its own aggregates: a child's blocks are not the parent's. */
    uint32_t parent = mg__stack_intern(f + 1, 2);
    mg__stack_live(parent, &b, &c);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(c, 0);
    mg__stack_account(id, -250, -1);
    mg__stack_live(id, &b, &c);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(c, 0);
    /* No stack and internal blocks are not aggregated. */
    mg__stack_account(MG_STACK_NONE, 10, 1);
    mg__stack_account(MG_STACK_INTERNAL, 10, 1);
    mg__stack_live(MG_STACK_NONE, &b, &c);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(c, 0);
    mg__stack_live(MG_STACK_INTERNAL, &b, &c);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(c, 0);
    /* The overflow stack has aggregates of its own. */
    mg__stack_account(MG_STACK_OVERFLOW, 77, 3);
    mg__stack_live(MG_STACK_OVERFLOW, &b, &c);
    CU_ASSERT_EQUAL(b, 77);
    CU_ASSERT_EQUAL(c, 3);
    mg__stack_account(MG_STACK_OVERFLOW, -77, -3);
    mg__stack_live(MG_STACK_OVERFLOW, &b, &c);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(c, 0);
    /* An id never handed out reads as zero. */
    mg__stack_live(mg__stack_count() + 1, &b, &c);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(c, 0);
}

static const mg_stackstat *find_stat(const mg_stackstat *arr, size_t n, uint32_t id) {
    for (size_t i = 0; i < n; i++)
        if (arr[i].stack == id) return &arr[i];
    return NULL;
}

static void test_snapshot_totals(void) {
    uintptr_t f1[2], f2[3];
    make_stack(f1, 2, 0x90000);
    make_stack(f2, 3, 0x91000);
    uint32_t a = mg__stack_intern(f1, 2), b = mg__stack_intern(f2, 3);
    int64_t saved_bytes = atomic_load(&mg__g.live_bytes);
    int64_t saved_blocks = atomic_load(&mg__g.live_blocks);
    size_t n0, cap0;
    mg_stackstat *s0 = mg__stack_snapshot(&n0, &cap0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s0);
    mg__sys_free(s0, cap0 * sizeof *s0);

    mg__stack_account(a, 100, 1);
    mg__stack_account(b, 50, 2);
    mg__stack_account(MG_STACK_OVERFLOW, 7, 1);
    /* The totals also hold 30 bytes in 1 block without a stack. */
    atomic_store(&mg__g.live_bytes, saved_bytes + 100 + 50 + 7 + 30);
    atomic_store(&mg__g.live_blocks, saved_blocks + 1 + 2 + 1 + 1);
    size_t n, cap;
    mg_stackstat *s = mg__stack_snapshot(&n, &cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT(n <= cap);
    const mg_stackstat *sa = find_stat(s, n, a), *sb = find_stat(s, n, b);
    const mg_stackstat *so = find_stat(s, n, MG_STACK_OVERFLOW);
    const mg_stackstat *sn = find_stat(s, n, MG_STACK_NONE);
    CU_ASSERT_TRUE(sa && sa->bytes == 100 && sa->count == 1);
    CU_ASSERT_TRUE(sb && sb->bytes == 50 && sb->count == 2);
    CU_ASSERT_TRUE(so && so->bytes == 7 && so->count == 1);
    CU_ASSERT_TRUE(sn && sn->bytes == saved_bytes + 30 && sn->count == saved_blocks + 1);
    int64_t tb = 0, tc = 0;
    for (size_t i = 0; i < n; i++) {
        tb += s[i].bytes;
        tc += s[i].count;
        CU_ASSERT(s[i].bytes != 0 || s[i].count != 0); /* only non-zero aggregates */
    }
    CU_ASSERT_EQUAL(tb, atomic_load(&mg__g.live_bytes));
    CU_ASSERT_EQUAL(tc, atomic_load(&mg__g.live_blocks));
    mg__sys_free(s, cap * sizeof *s);

    mg__stack_account(a, -100, -1);
    mg__stack_account(b, -50, -2);
    mg__stack_account(MG_STACK_OVERFLOW, -7, -1);
    atomic_store(&mg__g.live_bytes, saved_bytes);
    atomic_store(&mg__g.live_blocks, saved_blocks);
    s = mg__stack_snapshot(&n, &cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(find_stat(s, n, a));
    CU_ASSERT_PTR_NULL(find_stat(s, n, b));
    CU_ASSERT_PTR_NULL(find_stat(s, n, MG_STACK_OVERFLOW));
    mg__sys_free(s, cap * sizeof *s);
}

/* ---- real malloc calls with a fake unwinder ----------------------------------------------
 * The fake walks the real frame-pointer chain from itself up to the return address into
 * fed_alloc (the frame record whose saved frame pointer is fed_alloc's frame), which is
 * the frame mg__capture looks for, then appends the fixed synthetic frames. The recorded
 * stack is therefore [return address into fed_alloc, synthetic frames...]. */
static volatile uintptr_t fake_anchor; /* fed_alloc's frame address while it allocates */
static const uintptr_t *fake_frames;
static int fake_n;
static volatile int fake_calls;

static CT_NOINLINE int fake_unwind(uintptr_t *frames, int max) {
    if (!fake_anchor) return mg__unwind_fp(frames, max);
    fake_calls++;
    const uintptr_t *fp = __builtin_frame_address(0);
    int n = 0;
    for (int step = 0; step < 16 && n < max; step++) {
        frames[n++] = fp[1];
        const uintptr_t *next = (const uintptr_t *)fp[0];
        if ((uintptr_t)next == fake_anchor) break;
        if (next <= fp) return n;
        fp = next;
    }
    for (int i = 0; i < fake_n && n < max; i++) frames[n++] = fake_frames[i];
    return n;
}

enum { FED_MALLOC, FED_CALLOC, FED_REALLOC };

static CT_NOINLINE void *fed_alloc(int kind, void *old, size_t n, const uintptr_t *synth, int ns) {
    fake_frames = synth;
    fake_n = ns;
    fake_anchor = (uintptr_t)__builtin_frame_address(0);
    void *p = kind == FED_MALLOC ? malloc(n) : kind == FED_CALLOC ? calloc(1, n) : realloc(old, n);
    fake_anchor = 0;
    return p;
}

static uint32_t stack_of(void *p) {
    mg_block b;
    if (!mg__table_find((uintptr_t)p, &b)) return MG_STACK_INTERNAL;
    return b.stack;
}

static void test_fake_unwinder_real_allocs(void) {
    static const uintptr_t s1[3] = {0xc00030, 0xc00020, 0xc00010};
    static const uintptr_t s2[3] = {0xc10030, 0xc00020, 0xc00010};
    mg_unwind_fn saved = mg__unwind;
    mg__unwind = fake_unwind;
    memgate_options o = {.capture_stacks = 1, .max_frames = 16};
    CU_ASSERT_EQUAL_FATAL(memgate_start(&o), MEMGATE_OK);

    void *p1 = fed_alloc(FED_MALLOC, NULL, 100, s1, 3);
    void *p2 = fed_alloc(FED_MALLOC, NULL, 200, s1, 3);
    void *q = fed_alloc(FED_MALLOC, NULL, 50, s2, 3);
    void *c = fed_alloc(FED_CALLOC, NULL, 64, s2, 3);
    uint32_t i1 = stack_of(p1), i2 = stack_of(p2), iq = stack_of(q), ic = stack_of(c);
    int64_t live_b = atomic_load(&mg__g.live_bytes), live_c = atomic_load(&mg__g.live_blocks);
    size_t n, cap;
    mg_stackstat *snap = mg__stack_snapshot(&n, &cap);
    int64_t b1, c1, bq, cq;
    mg__stack_live(i1, &b1, &c1);
    mg__stack_live(iq, &bq, &cq);

    CU_ASSERT(fake_calls >= 4);
    CU_ASSERT(i1 != MG_STACK_NONE && i1 != MG_STACK_INTERNAL && i1 != MG_STACK_OVERFLOW);
    CU_ASSERT_EQUAL(i1, i2); /* same call site, same fed stack */
    CU_ASSERT_NOT_EQUAL(i1, iq);
    /* Same fed frames but another call site (calloc's call in fed_alloc): its own id. */
    CU_ASSERT_NOT_EQUAL(iq, ic);
    CU_ASSERT(ic != MG_STACK_NONE && ic != MG_STACK_INTERNAL && ic != MG_STACK_OVERFLOW);
    CU_ASSERT_EQUAL(b1, 300);
    CU_ASSERT_EQUAL(c1, 2);
    uintptr_t fr[8];
    int k = mg__stack_frames(i1, fr, 8);
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT(fr[0] > (uintptr_t)fed_alloc && fr[0] < (uintptr_t)fed_alloc + 4096);
    CU_ASSERT_EQUAL(memcmp(fr + 1, s1, sizeof s1), 0);
    k = mg__stack_frames(iq, fr, 8);
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_EQUAL(memcmp(fr + 1, s2, sizeof s2), 0);
    /* The snapshot's entries sum to the totals and hold the fed stacks. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(snap);
    int64_t tb = 0, tc = 0;
    const mg_stackstat *e1 = find_stat(snap, n, i1);
    for (size_t i = 0; i < n; i++) {
        tb += snap[i].bytes;
        tc += snap[i].count;
    }
    CU_ASSERT_EQUAL(tb, live_b);
    CU_ASSERT_EQUAL(tc, live_c);
    CU_ASSERT_TRUE(e1 && e1->bytes == 300 && e1->count == 2);
    mg__sys_free(snap, cap * sizeof *snap);

    /* realloc moves the block to the realloc's own stack. */
    void *r = fed_alloc(FED_REALLOC, p1, 4000, s2, 3);
    uint32_t ir = stack_of(r);
    mg__stack_live(i1, &b1, &c1);
    CU_ASSERT_EQUAL(b1, 200);
    CU_ASSERT_EQUAL(c1, 1);
    int64_t br, cr;
    mg__stack_live(ir, &br, &cr);
    CU_ASSERT_EQUAL(br, 4000);
    CU_ASSERT_EQUAL(cr, 1);
    k = mg__stack_frames(ir, fr, 8);
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_EQUAL(memcmp(fr + 1, s2, sizeof s2), 0);

    free(r);
    free(p2);
    free(q);
    free(c);
    mg__stack_live(i1, &b1, &c1);
    mg__stack_live(iq, &bq, &cq);
    CU_ASSERT_EQUAL(b1, 0);
    CU_ASSERT_EQUAL(c1, 0);
    CU_ASSERT_EQUAL(bq, 0);
    CU_ASSERT_EQUAL(cq, 0);
    memgate_stop();
    mg__unwind = saved;
}

/* ---- fork while another thread is inside the unwinder ----------------------------------
 * libunwind takes an internal mutex while it walks a stack. A fork at that moment gives
 * the child a mutex that nobody will ever release, and the child's first captured
 * allocation blocks forever. This fake unwinder behaves the same way (a mutex held
 * during the walk, held for 300 ms by one thread on request), so the collector must
 * either let no capture be in flight when the process forks, or not call the parent's
 * unwinder in the child. */
static pthread_mutex_t fake_unw_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int hold_request, holding;

static CT_NOINLINE int locking_unwind(uintptr_t *frames, int max) {
    pthread_mutex_lock(&fake_unw_lock);
    if (atomic_exchange(&hold_request, 0)) {
        atomic_store(&holding, 1);
        struct timespec pause = {0, 300 * 1000000};
        nanosleep(&pause, NULL);
    }
    int n = mg__unwind_fp(frames, max);
    pthread_mutex_unlock(&fake_unw_lock);
    return n;
}

static void *volatile sink;

static void *alloc_while_holding(void *arg) {
    (void)arg;
    atomic_store(&hold_request, 1);
    void *p = malloc(24);
    sink = p; /* keeps GCC from dropping the malloc/free pair */
    free(p);
    return NULL;
}

/* Waits up to `ms` for pid; kills it when it does not finish. Returns the wait status,
 * or -1 when it had to be killed. */
static int wait_or_kill(pid_t pid, int ms) {
    int status = 0;
    for (int i = 0; i < ms; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        struct timespec one = {0, 1000000};
        nanosleep(&one, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void test_fork_during_capture(void) {
    mg_unwind_fn saved = mg__unwind;
    memgate_options o = {.capture_stacks = 1, .max_frames = 16};
    CU_ASSERT_EQUAL_FATAL(memgate_start(&o), MEMGATE_OK);
    mg__unwind = locking_unwind;
    atomic_store(&holding, 0);
    pthread_t t;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, alloc_while_holding, NULL) == 0);
    for (int i = 0; i < 20000 && !atomic_load(&holding); i++) {
        struct timespec one = {0, 100000};
        nanosleep(&one, NULL);
    }
    CU_ASSERT_TRUE(atomic_load(&holding));
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: one captured allocation must complete. */
        void *p = malloc(40);
        sink = p;
        free(p);
        _exit(p ? 0 : 3);
    }
    int status = pid > 0 ? wait_or_kill(pid, 1500) : -2;
    pthread_join(t, NULL);
    mg__unwind = saved;
    memgate_stop();
    CU_ASSERT(pid > 0);
    CU_ASSERT_NOT_EQUAL(status, -1); /* -1: the child hung in the unwinder */
    CU_ASSERT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

MGT_MAIN({
    static const mgt_case tree[] = {{"empty_and_reserved", test_empty_and_reserved},
                                    {"dedup", test_dedup},
                                    {"prefix_sharing", test_prefix_sharing},
                                    {"path_cache_alternating", test_path_cache_alternating},
                                    {"path_cache_other_thread", test_path_cache_other_thread},
                                    {"concurrent_intern", test_concurrent_intern},
                                    {"truncation", test_truncation},
                                    {"million_stacks", test_million_stacks},
                                    {"many_siblings", test_many_siblings},
                                    {NULL, NULL}};
    static const mgt_case agg[] = {{"account_live", test_account_live},
                                   {"snapshot_totals", test_snapshot_totals},
                                   {NULL, NULL}};
    static const mgt_case fed[] = {{"fake_unwinder_real_allocs", test_fake_unwinder_real_allocs},
                                   {"fork_during_capture", test_fork_during_capture},
                                   {NULL, NULL}};
    if (mgt_add_suite("stacks", tree) || mgt_add_suite("stacks_aggregates", agg) ||
        mgt_add_suite("stacks_fed", fed))
        return 2;
})
