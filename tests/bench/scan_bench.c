/*
 * scan_bench: the cost of the lost/reachable scan (collector/lost.c) over N live blocks.
 *
 *   scan_bench [N]   (default 100,000)
 *
 * The collector is linked into this program (like the ctest_* unit tests) and started
 * with stacks, as in a traced re-run, where every counted block has a side-table entry.
 * Inside a measurement window the program then leaves N blocks of 16..271 bytes live,
 * as a leaking test would: half on a list whose head is in a global (reachable), half
 * on a list whose head is dropped (lost, each block reached only from a lost block).
 * It then does what a traced test child does after its shutdown when a window leaked:
 * mg__reach_build() (the scan: sort the blocks, mark from module data, TLS and the
 * stack, follow pointers through reached blocks) and mg__wire_leak_diffs() with the
 * result (the leak by stack with its lost part), three times each.
 *
 * Prints one line on stdout:
 *   scan_bench blocks=B reached=R lost=L scan_ms=S scan_ns_per_block=P diffs_ms=D
 * where scan_ms and diffs_ms are medians of three repetitions and B counts every
 * block the scan saw (the N blocks plus the few the program and libc hold).
 * A passing test never pays this: the scan runs only in a traced re-run of a test whose
 * window leaked (driver.c, finish_child).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "memgate/memgate.h"

struct lnode {
    struct lnode *next;
    uint64_t payload[];
};

/* The reachable list's head: module data, one of the scan's roots. */
static struct lnode *volatile g_reachable;

/* Builds a list of n blocks and returns its head. */
__attribute__((noinline)) static struct lnode *build_list(size_t n, uint64_t seed)
{
    struct lnode *head = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t extra = 8 + (size_t)((seed + i * 2654435761u) % 256);
        struct lnode *node = malloc(sizeof *node + extra);
        if (!node) {
            fprintf(stderr, "scan_bench: out of memory\n");
            exit(2);
        }
        memset(node->payload, 0, extra);
        node->next = head;
        head = node;
    }
    return head;
}

/* Builds the lost list in a frame of its own, so no live frame keeps its head. */
__attribute__((noinline)) static void leak_lost_list(size_t n)
{
    struct lnode *volatile head = build_list(n, 7);
    head = NULL;
    (void)head;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
    if (n < 2) {
        fprintf(stderr, "usage: %s [N >= 2]\n", argv[0]);
        return 2;
    }
    memgate_options opts = {.capture_stacks = 1, .max_frames = 0};
    if (memgate_start(&opts) != MEMGATE_OK) {
        fprintf(stderr, "scan_bench: memgate_start failed\n");
        return 2;
    }
    mg_window w;
    memset(&w, 0, sizeof w);
    mg__window_open(&w, 1);
    g_reachable = build_list(n / 2, 3);
    leak_lost_list(n - n / 2);
    mg__window_close(&w);
    mg__g.window = 0;

    enum { REPS = 3 };
    uint64_t scan_ns[REPS], diffs_ns[REPS];
    size_t blocks = 0, reached = 0;
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = mg__now_ns();
        mg_reach *reach = mg__reach_build();
        uint64_t t1 = mg__now_ns();
        if (!reach) {
            fprintf(stderr, "scan_bench: the scan found no memory\n");
            return 2;
        }
        const mg_reach_block *b = mg__reach_blocks(reach, &blocks);
        reached = 0;
        for (size_t i = 0; i < blocks; i++) reached += b[i].reached;
        mg_buf buf = {0};
        uint64_t t2 = mg__now_ns();
        mg__wire_leak_diffs(&buf, w.id, reach);
        uint64_t t3 = mg__now_ns();
        mg__buf_release(&buf);
        mg__reach_free(reach);
        scan_ns[r] = t1 - t0;
        diffs_ns[r] = t3 - t2;
    }
    qsort(scan_ns, REPS, sizeof *scan_ns, cmp_u64);
    qsort(diffs_ns, REPS, sizeof *diffs_ns, cmp_u64);
    printf("scan_bench blocks=%zu reached=%zu lost=%zu scan_ms=%.3f scan_ns_per_block=%.1f diffs_ms=%.3f\n",
           blocks, reached, blocks - reached, scan_ns[REPS / 2] / 1e6,
           blocks ? (double)scan_ns[REPS / 2] / (double)blocks : 0.0, diffs_ns[REPS / 2] / 1e6);
    return 0;
}
