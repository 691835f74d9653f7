/*
 * Run under LD_PRELOAD=libmemgate.so with MEMGATE_ACTIVE=1 MEMGATE_STACKS=1, once with
 * the default unwinder (libunwind) and once with MEMGATE_UNWIND=fp: every hook of the
 * malloc family records the allocating function as frame 0, with the file and the line
 * of the call, its caller as frame 1, and no frame of the collector itself.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "pl.h"

#if defined(__GNUC__) && !defined(__clang__)
#define PL_NOINLINE __attribute__((noinline, noipa))
#else
#define PL_NOINLINE __attribute__((noinline))
#endif

/* Each allocation and its __LINE__ store share a line; the store after the call also
 * keeps the call from becoming a tail call. Every size is unique, to find the entry. */
static unsigned l_malloc, l_calloc, l_realloc_new, l_realloc_grow, l_reallocarray, l_posix_memalign,
    l_aligned_alloc, l_memalign, l_valloc, l_pvalloc;

static PL_NOINLINE void *a_malloc(void) {
    void *p = malloc(1001); l_malloc = __LINE__;
    return p;
}
static PL_NOINLINE void *a_calloc(void) {
    void *p = calloc(2, 501); l_calloc = __LINE__;
    return p;
}
static PL_NOINLINE void *a_realloc_new(void) {
    void *p = realloc(NULL, 1003); l_realloc_new = __LINE__;
    return p;
}
static PL_NOINLINE void *a_realloc_grow(void *old) {
    void *p = realloc(old, 5005); l_realloc_grow = __LINE__;
    return p;
}
static PL_NOINLINE void *a_reallocarray(void) {
    void *p = reallocarray(NULL, 4, 251); l_reallocarray = __LINE__;
    return p;
}
static PL_NOINLINE void *a_posix_memalign(void) {
    void *p = NULL; int rc = posix_memalign(&p, 64, 1007); l_posix_memalign = __LINE__;
    return rc == 0 ? p : NULL;
}
static PL_NOINLINE void *a_aligned_alloc(void) {
    void *p = aligned_alloc(64, 1088); l_aligned_alloc = __LINE__;
    return p;
}
static PL_NOINLINE void *a_memalign(void) {
    void *p = memalign(32, 1009); l_memalign = __LINE__;
    return p;
}
static PL_NOINLINE void *a_valloc(void) {
    void *p = valloc(1010); l_valloc = __LINE__;
    return p;
}
static PL_NOINLINE void *a_pvalloc(void) {
    void *p = pvalloc(1011); l_pvalloc = __LINE__;
    return p;
}
static PL_NOINLINE void *seed(void) {
    void *p = malloc(16);
    pl_keep(p);
    return p;
}

#define NALLOC 10
static void *blocks[NALLOC];

static PL_NOINLINE void scenario(void) {
    blocks[0] = a_malloc();
    blocks[1] = a_calloc();
    blocks[2] = a_realloc_new();
    blocks[3] = a_realloc_grow(seed());
    blocks[4] = a_reallocarray();
    blocks[5] = a_posix_memalign();
    blocks[6] = a_aligned_alloc();
    blocks[7] = a_memalign();
    blocks[8] = a_valloc();
    blocks[9] = a_pvalloc();
}

static int ends_with(const char *s, const char *suffix) {
    if (!s) return 0;
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int collector_frame(const memgate_frame *f) {
    static const char *const hooks[] = {"malloc", "calloc", "realloc", "reallocarray", "free",
                                        "posix_memalign", "aligned_alloc", "memalign", "valloc",
                                        "pvalloc", "tracked_realloc"};
    if (f->module && strstr(f->module, "libmemgate")) return 1;
    if (f->function && strncmp(f->function, "mg__", 4) == 0) return 1;
    for (size_t i = 0; i < sizeof hooks / sizeof *hooks; i++)
        if (f->function && strcmp(f->function, hooks[i]) == 0) return 1;
    return 0;
}

static void check_entry(const memgate_diff *d, int64_t size, const char *fn, unsigned line) {
    const memgate_stat *st = NULL;
    for (size_t i = 0; i < memgate_diff_count(d); i++)
        if (memgate_diff_get(d, i)->size_diff == size) st = memgate_diff_get(d, i);
    if (!st) {
        fprintf(stderr, "no diff entry of %lld bytes (%s)\n", (long long)size, fn);
        pl_failures++;
        return;
    }
    PL_EQ(st->count_diff, 1);
    PL_CHECK(st->nframes >= 3);
    if (st->nframes < 3) return;
    const memgate_frame *f0 = &st->frames[0], *f1 = &st->frames[1], *f2 = &st->frames[2];
    if (!f0->function || strcmp(f0->function, fn) != 0 || !ends_with(f0->file, "pl_stacks.c") ||
        f0->line != line) {
        fprintf(stderr, "%s: frame 0 is %s (%s:%u), want %s (pl_stacks.c:%u)\n", fn,
                f0->function ? f0->function : "?", f0->file ? f0->file : "?", f0->line, fn, line);
        pl_failures++;
    }
    PL_CHECK(f0->module && ends_with(f0->module, "pl_stacks"));
    PL_CHECK(f1->function && strcmp(f1->function, "scenario") == 0);
    PL_CHECK(f2->function && strcmp(f2->function, "main") == 0);
}

int main(void) {
    PL_EQ(memgate_is_tracking(), 1);
    memgate_snapshot *a = NULL, *b = NULL;
    PL_EQ(memgate_snapshot_take(&a), MEMGATE_OK);
    memgate_counters c0 = pl_counters();
    scenario();
    memgate_counters c1 = pl_counters();
    PL_EQ(memgate_snapshot_take(&b), MEMGATE_OK);
    pl_delta dd = pl_diff(&c0, &c1);
    int64_t want = 1001 + 1002 + 1003 + 5005 + 1004 + 1007 + 1088 + 1009 + 1010 + 1011;
    PL_DELTA(dd, want, NALLOC);
    PL_EQ(memgate_snapshot_bytes(b) - memgate_snapshot_bytes(a), want);
    PL_EQ(memgate_snapshot_blocks(b) - memgate_snapshot_blocks(a), NALLOC);

    memgate_diff *d = NULL;
    PL_EQ(memgate_snapshot_compare(b, a, MEMGATE_GROUP_TRACEBACK, NULL, 0, &d), MEMGATE_OK);
    if (!d) return pl_finish("pl_stacks");
    PL_EQ(memgate_diff_count(d), NALLOC);
    check_entry(d, 1001, "a_malloc", l_malloc);
    check_entry(d, 1002, "a_calloc", l_calloc);
    check_entry(d, 1003, "a_realloc_new", l_realloc_new);
    check_entry(d, 5005, "a_realloc_grow", l_realloc_grow);
    check_entry(d, 1004, "a_reallocarray", l_reallocarray);
    check_entry(d, 1007, "a_posix_memalign", l_posix_memalign);
    check_entry(d, 1088, "a_aligned_alloc", l_aligned_alloc);
    check_entry(d, 1009, "a_memalign", l_memalign);
    check_entry(d, 1010, "a_valloc", l_valloc);
    check_entry(d, 1011, "a_pvalloc", l_pvalloc);
    unsigned collector = 0;
    for (size_t i = 0; i < memgate_diff_count(d); i++) {
        const memgate_stat *st = memgate_diff_get(d, i);
        for (size_t k = 0; k < st->nframes; k++) {
            if (collector_frame(&st->frames[k])) {
                fprintf(stderr, "collector frame in a traceback: %s (%s)\n",
                        st->frames[k].function ? st->frames[k].function : "?",
                        st->frames[k].module ? st->frames[k].module : "?");
                collector++;
            }
        }
    }
    PL_EQ(collector, 0);
    if (pl_failures) memgate_diff_print(d, stderr, 0);
    memgate_diff_free(d);

    /* Grouped by line: one entry per allocation line, all in this file. */
    PL_EQ(memgate_snapshot_compare(b, a, MEMGATE_GROUP_LINE, NULL, 0, &d), MEMGATE_OK);
    if (d) {
        PL_EQ(memgate_diff_count(d), NALLOC);
        unsigned lines_ok = 0;
        for (size_t i = 0; i < memgate_diff_count(d); i++) {
            const memgate_frame *f = &memgate_diff_get(d, i)->frames[0];
            unsigned l = f->line;
            lines_ok += ends_with(f->file, "pl_stacks.c") &&
                        (l == l_malloc || l == l_calloc || l == l_realloc_new || l == l_realloc_grow ||
                         l == l_reallocarray || l == l_posix_memalign || l == l_aligned_alloc ||
                         l == l_memalign || l == l_valloc || l == l_pvalloc);
        }
        PL_EQ(lines_ok, NALLOC);
        memgate_diff_free(d);
    }
    memgate_snapshot_free(a);
    memgate_snapshot_free(b);
    for (int i = 0; i < NALLOC; i++) free(blocks[i]);
    return pl_finish("pl_stacks");
}
