/*
 * A program merely linked with libmemgate (or preloaded without MEMGATE_ACTIVE) does not
 * track: memgate_is_tracking() is 0 and every counter stays 0 whatever it allocates.
 * Then memgate_start() switches tracking on from inside the program, exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "pl.h"

int main(void) {
    PL_EQ(memgate_is_tracking(), 0);
    void *p = pl_keep(malloc(100));
    void *q = pl_keep(calloc(10, 10));
    p = pl_keep(realloc(p, 10000));
    char *s = pl_keep(strdup("untracked"));
    void *al = NULL;
    PL_EQ(posix_memalign(&al, 64, 64), 0);
    pl_keep(al);
    free(s);
    free(q);
    free(al);
    memgate_counters c = pl_counters();
    PL_EQ(c.live_bytes, 0);
    PL_EQ(c.live_blocks, 0);
    PL_EQ(c.peak_bytes, 0);
    PL_EQ(c.total_allocs, 0);
    PL_EQ(c.total_frees, 0);
    PL_EQ(c.total_bytes, 0);

    PL_EQ(memgate_start(NULL), MEMGATE_OK);
    PL_EQ(memgate_is_tracking(), 1);
    free(p); /* allocated before the start: not counted */
    memgate_counters a = pl_counters();
    void *r = pl_keep(malloc(100));
    memgate_counters b = pl_counters();
    free(r);
    memgate_counters d = pl_counters();
    PL_EQ(a.live_bytes, 0);
    PL_EQ(a.total_frees, 0);
    pl_delta d1 = pl_diff(&a, &b), d2 = pl_diff(&a, &d);
    PL_DELTA(d1, 100, 1);
    PL_DELTA(d2, 0, 0);
    PL_EQ(memgate_stop(), MEMGATE_OK);
    PL_EQ(memgate_is_tracking(), 0);
    return pl_finish("pl_linked");
}
