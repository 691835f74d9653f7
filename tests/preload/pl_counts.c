/*
 * Run under LD_PRELOAD=libmemgate.so with MEMGATE_ACTIVE=1: exact live bytes and blocks
 * for a sequence of allocations, realloc's cases (NULL, shrink, grow in place, moving
 * grow, size 0, failure) told apart by pointer equality, 64 MiB blocks, the whole
 * memalign family, and errno across free.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl.h"

/* Sizes the compiler must not see as constants (it rejects overflowing requests). */
static volatile size_t huge = SIZE_MAX / 4;

static void check_tracking(void) {
    PL_EQ(memgate_is_tracking(), 1);
    memgate_counters c = pl_counters();
    PL_CHECK(c.live_blocks >= 0);
    PL_CHECK(c.live_bytes >= 0);
    /* Counting from the start: a first allocation shows at once. */
    void *p = pl_keep(malloc(10));
    memgate_counters d = pl_counters();
    free(p);
    pl_delta dd = pl_diff(&c, &d);
    PL_DELTA(dd, 10, 1);
    PL_EQ(dd.allocs, 1);
}

static void check_sequence(void) {
    enum { N = 200 };
    void *blocks[N];
    int64_t sum_all = 0, sum_even = 0;
    memgate_counters a = pl_counters();
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)i * 37u + 1u;
        blocks[i] = i % 3 ? pl_keep(malloc(n)) : pl_keep(calloc(1, n));
        sum_all += (int64_t)n;
        if (i % 2 == 0) sum_even += (int64_t)n;
    }
    memgate_counters b = pl_counters();
    for (int i = 1; i < N; i += 2) free(blocks[i]);
    memgate_counters c = pl_counters();
    for (int i = 0; i < N; i += 2) free(blocks[i]);
    memgate_counters d = pl_counters();
    pl_delta d1 = pl_diff(&a, &b), d2 = pl_diff(&a, &c), d3 = pl_diff(&a, &d);
    PL_DELTA(d1, sum_all, N);
    PL_EQ(d1.allocs, N);
    PL_EQ(d1.total_bytes, sum_all);
    PL_EQ(d1.frees, 0);
    PL_DELTA(d2, sum_even, N / 2);
    PL_EQ(d2.frees, N / 2);
    PL_DELTA(d3, 0, 0);
    PL_EQ(d3.frees, N);
    /* The peak saw every block at once. */
    PL_CHECK(b.peak_bytes >= b.live_bytes);
    PL_CHECK(b.peak_bytes >= a.live_bytes + sum_all);
    /* free(NULL) changes nothing. */
    memgate_counters e = pl_counters();
    free(NULL);
    memgate_counters f = pl_counters();
    PL_EQ(memcmp(&e, &f, sizeof e), 0);
    /* malloc_usable_size is forwarded. */
    void *u = pl_keep(malloc(100));
    PL_CHECK(malloc_usable_size(u) >= 100);
    free(u);
}

static void check_realloc(void) {
    memgate_counters a = pl_counters();
    char *p = pl_keep(realloc(NULL, 100));
    memgate_counters b = pl_counters();
    pl_delta d = pl_diff(&a, &b);
    PL_DELTA(d, 100, 1);
    memset(p, 'r', 100);

    /* Shrink: glibc keeps the block where it is. */
    char *s = pl_keep(realloc(p, 40));
    memgate_counters c = pl_counters();
    d = pl_diff(&b, &c);
    PL_DELTA(d, -60, 0);
    PL_CHECK(s == p);
    PL_CHECK(s[39] == 'r');

    /* Moving grow: a block right behind this one keeps it from growing in place. */
    char *blocker = pl_keep(malloc(40));
    char *m = pl_keep(realloc(s, 50000));
    memgate_counters e = pl_counters();
    d = pl_diff(&c, &e);
    PL_DELTA(d, 50000 - 40 + 40, 1);
    PL_CHECK(m != s);
    PL_CHECK(m[39] == 'r');
    free(blocker);
    free(m);

    /* Grow in place: a fresh large block carved from the top of the heap can grow
     * into the top. Try a few sizes; every attempt must keep the figures exact, and at
     * least one must grow in place. */
    int in_place = 0, moved = 0;
    for (int i = 0; i < 16; i++) {
        memgate_counters f = pl_counters();
        size_t n0 = 70000u + (size_t)i * 4096u, n1 = n0 + 20000u;
        char *g = pl_keep(malloc(n0));
        g[0] = 'g';
        char *h = pl_keep(realloc(g, n1));
        memgate_counters gg = pl_counters();
        d = pl_diff(&f, &gg);
        PL_DELTA(d, (int64_t)n1, 1);
        PL_CHECK(h && h[0] == 'g');
        if (h == g) in_place++;
        else moved++;
        free(h);
        memgate_counters hh = pl_counters();
        d = pl_diff(&f, &hh);
        PL_DELTA(d, 0, 0);
    }
    PL_CHECK(in_place > 0);

    /* realloc(p, 0) frees p. */
    memgate_counters i0 = pl_counters();
    void *z = pl_keep(malloc(300));
    void *zr = realloc(z, 0);
    memgate_counters i1 = pl_counters();
    d = pl_diff(&i0, &i1);
    PL_DELTA(d, 0, zr ? 1 : 0);
    free(zr);

    /* A failing realloc leaves the block live and counted. */
    memgate_counters j0 = pl_counters();
    char *k = pl_keep(malloc(500));
    void *k_alias = pl_sink; /* a copy GCC cannot tie to k (see -Wuse-after-free) */
    void *fail = realloc(k, huge);
    int err = errno;
    memgate_counters j1 = pl_counters();
    d = pl_diff(&j0, &j1);
    PL_CHECK(fail == NULL);
    PL_EQ(err, ENOMEM);
    PL_DELTA(d, 500, 1);
    free(k_alias);
    memgate_counters j2 = pl_counters();
    d = pl_diff(&j0, &j2);
    PL_DELTA(d, 0, 0);

    /* reallocarray: NULL, grow, overflow. */
    memgate_counters r0 = pl_counters();
    int *ra = pl_keep(reallocarray(NULL, 25, 4));
    ra = pl_keep(reallocarray(ra, 50, 4));
    void *ra_alias = pl_sink;
    memgate_counters r1 = pl_counters();
    void *rover = reallocarray(ra, huge, 8);
    int rerr = errno;
    memgate_counters r2 = pl_counters();
    d = pl_diff(&r0, &r1);
    PL_DELTA(d, 200, 1);
    PL_CHECK(rover == NULL);
    PL_EQ(rerr, ENOMEM);
    d = pl_diff(&r1, &r2);
    PL_DELTA(d, 0, 0);
    free(ra_alias);
    memgate_counters r3 = pl_counters();
    d = pl_diff(&r0, &r3);
    PL_DELTA(d, 0, 0);
    (void)moved;
}

static void check_big(void) {
    const int64_t mib64 = 64LL << 20;
    memgate_counters a = pl_counters();
    void *p = pl_keep(malloc((size_t)mib64));
    memgate_counters b = pl_counters();
    void *q = pl_keep(calloc(64, 1u << 20));
    memgate_counters c = pl_counters();
    void *r = pl_keep(realloc(p, (size_t)(2 * mib64)));
    memgate_counters d = pl_counters();
    free(r);
    memgate_counters e = pl_counters();
    free(q);
    memgate_counters f = pl_counters();
    pl_delta d1 = pl_diff(&a, &b), d2 = pl_diff(&b, &c), d3 = pl_diff(&c, &d);
    pl_delta d4 = pl_diff(&d, &e), d5 = pl_diff(&a, &f);
    PL_EQ(d1.bytes, 67108864);
    PL_EQ(d1.blocks, 1);
    PL_EQ(d2.bytes, 67108864);
    PL_EQ(d3.bytes, 67108864);
    PL_EQ(d3.blocks, 0);
    PL_EQ(d4.bytes, -2 * 67108864LL);
    PL_EQ(d4.blocks, -1);
    PL_DELTA(d5, 0, 0);
    PL_CHECK(c.peak_bytes >= a.live_bytes + 2 * mib64);
    PL_CHECK(d.peak_bytes >= a.live_bytes + 3 * mib64);
}

static void check_aligned(void) {
    memgate_counters a = pl_counters();
    void *p1 = NULL, *p2 = NULL, *bad = NULL;
    int rc1 = posix_memalign(&p1, 64, 100);
    int rc2 = posix_memalign(&p2, 1u << 20, 1000);
    int rcb = posix_memalign(&bad, 24, 100);
    pl_keep(p1);
    pl_keep(p2);
    memgate_counters b = pl_counters();
    void *p3 = pl_keep(aligned_alloc(256, 512));
    void *p4 = pl_keep(memalign(4096, 33));
    void *p5 = pl_keep(valloc(1));
    void *p6 = pl_keep(pvalloc(5000));
    memgate_counters c = pl_counters();
    uintptr_t mis = ((uintptr_t)p1 % 64) | ((uintptr_t)p2 % (1u << 20)) | ((uintptr_t)p3 % 256) |
                    ((uintptr_t)p4 % 4096) | ((uintptr_t)p5 % 4096) | ((uintptr_t)p6 % 4096);
    free(p1);
    free(p2);
    free(p3);
    free(p4);
    free(p5);
    free(p6);
    memgate_counters d = pl_counters();
    PL_EQ(rc1, 0);
    PL_EQ(rc2, 0);
    PL_EQ(rcb, EINVAL);
    PL_EQ(mis, 0);
    pl_delta d1 = pl_diff(&a, &b), d2 = pl_diff(&b, &c), d3 = pl_diff(&a, &d);
    PL_DELTA(d1, 1100, 2);
    PL_DELTA(d2, 512 + 33 + 1 + 5000, 4); /* requested sizes, not usable sizes */
    PL_DELTA(d3, 0, 0);
    PL_EQ(d3.allocs, 6);
    PL_EQ(d3.frees, 6);
}

/* GCC assumes free() leaves errno alone and would fold the errno reads into constants:
 * a call through a pointer it cannot see through. */
static void (*volatile free_opaque)(void *) = free;

static void check_errno(void) {
    void *p = pl_keep(malloc(64));
    void *big = pl_keep(malloc(32u << 20));
    errno = 1234;
    free_opaque(p);
    int e1 = errno;
    errno = 4321;
    free_opaque(big);
    int e2 = errno;
    PL_EQ(e1, 1234);
    PL_EQ(e2, 4321);
}

int main(void) {
    check_tracking();
    check_sequence();
    check_realloc();
    check_big();
    check_aligned();
    check_errno();
    return pl_finish("pl_counts");
}
