/*
 * Lost vs reachable (DESIGN.md "Measurements": lost_bytes / lost_blocks): after a
 * traced child's shutdown, which of the blocks a window left are still reachable
 * through a pointer, as LeakSanitizer and valgrind decide it at exit.
 *
 * A conservative mark: every aligned word of the roots (the writable segments of every
 * loaded module, the thread-local storage and the stack of the thread that runs the
 * shutdown) and of every block reached so far is taken for a pointer when it points
 * into a live block (its start or its inside). Blocks never reached are lost, the others
 * reachable (a cache, a registry: growth still in use). Blocks reached only from lost
 * blocks are lost too (valgrind's "indirectly lost").
 *
 * It needs every live block: in a traced driver (MEMGATE_STACKS=1 from its start) each
 * counted block has a side-table entry. Nothing here allocates: the block array and the
 * work list are mmap'd, and the sort is an in-place heapsort.
 */
#include <link.h>
#include <string.h>

#include "block.h"
#include "harness.h"

extern void *__libc_stack_end;

struct mg_reach {
    mg_reach_block *blocks;
    size_t n, cap;
    uintptr_t lo, hi;  /* the span of all blocks */
    uint32_t *work;    /* indices of reached blocks still to scan */
    size_t nwork;
};

static void collect(uintptr_t p, const mg_block *b, void *ctx) {
    mg_reach *r = ctx;
    unsigned w;
    if (b->stack == MG_STACK_INTERNAL || r->n == r->cap || !mg__block_window(p, &w)) return;
    r->blocks[r->n++] = (mg_reach_block){p, b->size, b->stack, w, false};
}

static void sift_down(mg_reach_block *a, size_t root, size_t n) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && a[child + 1].start > a[child].start) child++;
        if (a[root].start >= a[child].start) return;
        mg_reach_block t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heapsort_blocks(mg_reach_block *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        mg_reach_block t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

/* The block containing address v, or -1. */
static long find(const mg_reach *r, uintptr_t v) {
    if (v < r->lo || v >= r->hi) return -1;
    size_t lo = 0, hi = r->n;
    while (lo < hi) { /* the last block starting at or before v */
        size_t mid = (lo + hi) / 2;
        if (r->blocks[mid].start <= v) lo = mid + 1;
        else hi = mid;
    }
    if (!lo) return -1;
    const mg_reach_block *b = &r->blocks[lo - 1];
    return v < b->start + (b->size ? b->size : 1) ? (long)(lo - 1) : -1;
}

/* Marks every block a word of [from, to) points into. */
static void scan_range(mg_reach *r, uintptr_t from, uintptr_t to) {
    from = (from + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    for (uintptr_t a = from; a + sizeof(uintptr_t) <= to; a += sizeof(uintptr_t)) {
        long i = find(r, *(const uintptr_t *)a);
        if (i < 0 || r->blocks[i].reached) continue;
        r->blocks[i].reached = true;
        r->work[r->nwork++] = (uint32_t)i;
    }
}

static int scan_module(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    mg_reach *r = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
            uintptr_t s = info->dlpi_addr + ph->p_vaddr;
            scan_range(r, s, s + ph->p_memsz);
        } else if (ph->p_type == PT_TLS && info->dlpi_tls_data) {
            uintptr_t s = (uintptr_t)info->dlpi_tls_data;
            scan_range(r, s, s + ph->p_memsz);
        }
    }
    return 0;
}

__attribute__((noinline)) static void scan_stack(mg_reach *r) {
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t top = (uintptr_t)__libc_stack_end;
    if (top > here) scan_range(r, here, top);
}

mg_reach *mg__reach_build(void) {
    uint64_t entries, bytes;
    mg__table_stats(&entries, &bytes);
    mg_reach *r = mg__sys_alloc(sizeof *r);
    if (!r) return NULL;
    r->cap = entries + 1;
    r->blocks = mg__sys_alloc(r->cap * sizeof *r->blocks);
    r->work = mg__sys_alloc(r->cap * sizeof *r->work);
    if (!r->blocks || !r->work) {
        mg__reach_free(r);
        return NULL;
    }
    mg__table_foreach(collect, r);
    heapsort_blocks(r->blocks, r->n);
    if (r->n) {
        r->lo = r->blocks[0].start;
        for (size_t i = 0; i < r->n; i++) {
            uintptr_t end = r->blocks[i].start + (r->blocks[i].size ? r->blocks[i].size : 1);
            if (end > r->hi) r->hi = end;
        }
    }
    dl_iterate_phdr(scan_module, r);
    scan_stack(r);
    while (r->nwork) {
        const mg_reach_block *b = &r->blocks[r->work[--r->nwork]];
        scan_range(r, b->start, b->start + b->size);
    }
    return r;
}

const mg_reach_block *mg__reach_blocks(const mg_reach *r, size_t *n) {
    *n = r ? r->n : 0;
    return r ? r->blocks : NULL;
}

void mg__reach_free(mg_reach *r) {
    if (!r) return;
    if (r->blocks) mg__sys_free(r->blocks, r->cap * sizeof *r->blocks);
    if (r->work) mg__sys_free(r->work, r->cap * sizeof *r->work);
    mg__sys_free(r, sizeof *r);
}
