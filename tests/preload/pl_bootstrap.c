/*
 * Run under LD_PRELOAD=libmemgate.so with MEMGATE_ACTIVE=1: allocations before main.
 *
 *  - A .preinit_array function runs before any shared object's constructor, so before
 *    libmemgate's own: its malloc/calloc/realloc/free reach the collector before it is
 *    set up (bootstrap, dlsym's calls served from the pool). It also calls dlsym and
 *    dlerror. Those blocks are not tracked: freeing them later changes nothing.
 *  - A constructor with priority 101 runs after libmemgate's: allocations there are
 *    counted exactly, with dlsym/dlerror in between.
 * The program must not crash and every figure must stay exact.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "pl.h"

/* ---- before every constructor ---------------------------------------------------- */
static void *pre_kept, *pre_grown;
static int pre_tracking = -1;
static int pre_dlerror_ok, pre_dlsym_ok;

static void preinit(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    pre_tracking = memgate_is_tracking();
    void *a = pl_keep(malloc(10));
    void *b = pl_keep(calloc(4, 8));
    free(a);
    pre_kept = pl_keep(malloc(333));
    pre_grown = pl_keep(realloc(b, 4000));
    pre_dlsym_ok = dlsym(RTLD_DEFAULT, "memgate_no_such_symbol") == NULL;
    const char *e = dlerror();
    pre_dlerror_ok = e != NULL && strstr(e, "memgate_no_such_symbol") != NULL;
    pre_dlsym_ok &= dlsym(RTLD_NEXT, "malloc") != NULL;
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_entry)(int, char **, char **) =
    preinit;

/* ---- after libmemgate's constructor -------------------------------------------------- */
static memgate_counters ctor_a, ctor_b, ctor_c, ctor_d;
static void *ctor_kept;
static int ctor_tracking, ctor_dlerror_ok, ctor_dlsym_ok;

__attribute__((constructor(101))) static void early_constructor(void) {
    ctor_tracking = memgate_is_tracking();
    memgate_get_counters(&ctor_a);
    void *p = pl_keep(malloc(123));
    memgate_get_counters(&ctor_b);
    free(p);
    ctor_kept = pl_keep(malloc(77));
    memgate_get_counters(&ctor_c);
    ctor_dlsym_ok = dlsym(RTLD_DEFAULT, "memgate_no_such_symbol_either") == NULL;
    const char *e = dlerror();
    ctor_dlerror_ok = e != NULL;
    void *real_free = dlsym(RTLD_NEXT, "free");
    ctor_dlsym_ok &= real_free != NULL;
    /* The second dlerror: no error pending. */
    ctor_dlerror_ok &= dlerror() == NULL;
    void *q = pl_keep(calloc(3, 41));
    memgate_get_counters(&ctor_d);
    free(q);
}

int main(void) {
    PL_EQ(pre_tracking, 0);
    PL_CHECK(pre_dlsym_ok);
    PL_CHECK(pre_dlerror_ok);
    PL_CHECK(pre_kept != NULL && pre_grown != NULL);

    PL_EQ(ctor_tracking, 1);
    PL_CHECK(ctor_dlsym_ok);
    PL_CHECK(ctor_dlerror_ok);
    pl_delta d1 = pl_diff(&ctor_a, &ctor_b), d2 = pl_diff(&ctor_a, &ctor_c);
    PL_DELTA(d1, 123, 1);
    PL_DELTA(d2, 77, 1);
    PL_CHECK(ctor_d.live_bytes - ctor_c.live_bytes >= 123);

    /* Blocks from before the collector started are not tracked. */
    memgate_counters a = pl_counters();
    free(pre_kept);
    memgate_counters b = pl_counters();
    pl_delta d3 = pl_diff(&a, &b);
    PL_DELTA(d3, 0, 0);
    PL_EQ(d3.frees, 0);
    /* realloc of such a block: the new block is counted in full. */
    void *g = pl_keep(realloc(pre_grown, 9000));
    memgate_counters c = pl_counters();
    pl_delta d4 = pl_diff(&b, &c);
    PL_DELTA(d4, 9000, 1);
    free(g);
    free(ctor_kept);
    memgate_counters d = pl_counters();
    pl_delta d5 = pl_diff(&b, &d);
    PL_DELTA(d5, -77, -1);

    /* dlsym/dlerror from main, then exact figures again. */
    memgate_counters e = pl_counters();
    PL_CHECK(dlsym(RTLD_DEFAULT, "memgate_no_such_symbol_main") == NULL);
    PL_CHECK(dlerror() != NULL);
    void *h = dlopen("libm.so.6", RTLD_NOW);
    PL_CHECK(h != NULL);
    PL_CHECK(h == NULL || dlsym(h, "cos") != NULL);
    memgate_counters f = pl_counters();
    void *x = pl_keep(malloc(4242));
    memgate_counters g2 = pl_counters();
    free(x);
    memgate_counters h2 = pl_counters();
    pl_delta d6 = pl_diff(&f, &g2), d7 = pl_diff(&f, &h2);
    PL_DELTA(d6, 4242, 1);
    PL_DELTA(d7, 0, 0);
    PL_CHECK(e.live_blocks >= 0);
    if (h) dlclose(h);
    return pl_finish("pl_bootstrap");
}
