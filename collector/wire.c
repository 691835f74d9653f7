/*
 * The messages a test child sends to its driver (protocol.h has the grammar). Everything
 * is formatted into mmap'd buffers without malloc: the child may be in the middle of
 * its shutdown, after libc released its caches, or have a corrupt heap.
 *
 * Tracebacks travel as raw return addresses with a stack id ("STK"), each stack once
 * per report, and the loaded modules ("MOD") so the CLI can symbolize them offline.
 */
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "harness.h"
#include "protocol.h"

/* ---- modules ------------------------------------------------------------------------ */
static int module_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    mg_buf *b = data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < lo) lo = s;
        if (e > hi) hi = e;
    }
    if (hi == 0) return 0;
    const char *name = info->dlpi_name;
    char exe[4096];
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return 0;
        exe[n] = '\0';
        name = exe;
    }
    if (strstr(name, "linux-vdso")) return 0;
    mg__buf_printf(b, "MOD %llx %llx %llx ", (unsigned long long)info->dlpi_addr,
                   (unsigned long long)lo, (unsigned long long)hi);
    mg__buf_esc(b, name);
    mg__buf_puts(b, "\n");
    return 0;
}

void mg__wire_modules(mg_buf *b) { dl_iterate_phdr(module_cb, b); }

/* ---- stacks, each sent once per report --------------------------------------------- */
#define SENT_SLOTS 4096u
static uint32_t sent[SENT_SLOTS]; /* ids already sent; 0 = empty */
static unsigned nsent;

/* 1 when id was not sent yet (and is now remembered); a full set just sends again. */
static int first_time(uint32_t id) {
    if (nsent >= SENT_SLOTS / 2) return 1;
    for (unsigned i = (id * 2654435761u) % SENT_SLOTS;; i = (i + 1) % SENT_SLOTS) {
        if (sent[i] == id) return 0;
        if (!sent[i]) {
            sent[i] = id;
            nsent++;
            return 1;
        }
    }
}

void mg__wire_stack(mg_buf *b, uint32_t id) {
    if (id == MG_STACK_NONE || !first_time(id)) return;
    uintptr_t frames[MG_MAX_FRAMES];
    int n = mg__stack_frames(id, frames, MG_MAX_FRAMES);
    mg__buf_printf(b, "STK %u", id);
    for (int i = 0; i < n; i++) mg__buf_printf(b, " %llx", (unsigned long long)frames[i]);
    mg__buf_puts(b, "\n");
}

/* ---- window figures ------------------------------------------------------------------ */
void mg__wire_window(mg_buf *b, const mg_window *w) {
    mg__buf_printf(b,
                   "R %u net_bytes=%lld net_blocks=%lld peak_bytes=%lld allocations=%llu "
                   "dur_ns=%llu pending_bytes=%lld pending_blocks=%lld\n",
                   w->id, (long long)w->net_bytes, (long long)w->net_blocks,
                   (long long)w->peak_bytes, (unsigned long long)w->allocations,
                   (unsigned long long)w->dur_ns, (long long)w->pending_bytes,
                   (long long)w->pending_blocks);
}

void mg__wire_annotation(mg_buf *b, unsigned w) {
    if (!mg__annotation.set) return;
    const memgate_budget *a = &mg__annotation.budget;
    static const char *const keys[] = {"leak_bytes", "object_growth", "peak_bytes", "net_bytes",
                                       "net_blocks", "lost_bytes",    "warmups",    "repeat"};
    const long long vals[] = {a->leak_bytes, a->object_growth, a->peak_bytes, a->net_bytes,
                              a->net_blocks, a->lost_bytes,    a->warmups,    a->repeat};
    mg__buf_printf(b, "A %u", w);
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        if (vals[i] != MEMGATE_UNSET) mg__buf_printf(b, " %s=%lld", keys[i], vals[i]);
    mg__buf_printf(b, " line=%u file=", mg__annotation.line);
    mg__buf_esc(b, mg__annotation.file);
    mg__buf_puts(b, "\n");
}

/* ---- tracebacks ---------------------------------------------------------------------- */
typedef struct row {
    uint32_t stack;
    int64_t size, size_diff, count, count_diff;
} row;

/* Keeps the `max` rows with the largest size_diff (then count_diff) in rows[0..max). */
static void keep_top(row *rows, size_t *n, size_t max, const row *r) {
    size_t pos = *n;
    if (*n == max) {
        const row *last = &rows[max - 1];
        if (r->size_diff < last->size_diff ||
            (r->size_diff == last->size_diff && r->count_diff <= last->count_diff))
            return;
        pos = max - 1;
    } else {
        (*n)++;
    }
    while (pos > 0 && (rows[pos - 1].size_diff < r->size_diff ||
                       (rows[pos - 1].size_diff == r->size_diff &&
                        rows[pos - 1].count_diff < r->count_diff))) {
        rows[pos] = rows[pos - 1];
        pos--;
    }
    rows[pos] = *r;
}

static const mg_stackstat *find_stat(const mg_stackstat *arr, size_t n, uint32_t stack) {
    for (size_t i = 0; i < n; i++)
        if (arr[i].stack == stack) return &arr[i];
    return NULL;
}

void mg__wire_window_diffs(mg_buf *b, const mg_window *w) {
    size_t nb, capb;
    mg_stackstat *snap_b = mg__stack_snapshot(&nb, &capb);
    row top[MG_WIRE_MAX_DIFFS];
    size_t ntop = 0;
    for (size_t i = 0; i < nb; i++) {
        const mg_stackstat *a = find_stat(w->snap_a, w->snap_a_n, snap_b[i].stack);
        row r = {snap_b[i].stack, snap_b[i].bytes, snap_b[i].bytes - (a ? a->bytes : 0),
                 snap_b[i].count, snap_b[i].count - (a ? a->count : 0)};
        if (r.stack != MG_STACK_NONE && (r.size_diff > 0 || r.count_diff > 0))
            keep_top(top, &ntop, MG_WIRE_MAX_DIFFS, &r);
    }
    mg__sys_free(snap_b, capb * sizeof *snap_b);
    for (size_t i = 0; i < ntop; i++) {
        mg__wire_stack(b, top[i].stack);
        mg__buf_printf(b, "N %u %u size=%lld size_diff=%lld count=%lld count_diff=%lld\n", w->id,
                       top[i].stack, (long long)top[i].size, (long long)top[i].size_diff,
                       (long long)top[i].count, (long long)top[i].count_diff);
    }

    size_t np;
    int64_t live_at;
    const mg_stackstat *pk = mg__peak_breakdown(&np, &live_at);
    if (!np) return;
    row ptop[MG_WIRE_MAX_PEAK];
    size_t nptop = 0;
    for (size_t i = 0; i < np; i++) {
        const mg_stackstat *a = find_stat(w->snap_a, w->snap_a_n, pk[i].stack);
        row r = {pk[i].stack, pk[i].bytes, pk[i].bytes - (a ? a->bytes : 0), pk[i].count,
                 pk[i].count - (a ? a->count : 0)};
        if (r.stack != MG_STACK_NONE && r.size_diff > 0) keep_top(ptop, &nptop, MG_WIRE_MAX_PEAK, &r);
    }
    mg__buf_printf(b, "PK %u %lld\n", w->id, (long long)(live_at - w->bytes_a));
    for (size_t i = 0; i < nptop; i++) {
        mg__wire_stack(b, ptop[i].stack);
        mg__buf_printf(b, "P %u %u size=%lld count=%lld\n", w->id, ptop[i].stack,
                       (long long)ptop[i].size_diff, (long long)ptop[i].count_diff);
    }
}

/* ---- the leak by stack, after the shutdown ------------------------------------------- */
typedef struct leak_row {
    uint32_t stack;
    int64_t size, count, lost_size, lost_count;
} leak_row;

/* Per-stack sums of the blocks of one window, in an open-addressing map on mmap. */
typedef struct leak_map {
    leak_row *slots;
    size_t cap; /* power of two */
    unsigned window;
} leak_map;

static void leak_add_block(leak_map *m, uint32_t stack, uint64_t size, bool lost) {
    for (size_t i = (stack * 2654435761u) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        leak_row *r = &m->slots[i];
        if (r->stack == stack || r->stack == MG_STACK_NONE) {
            r->stack = stack;
            r->size += (int64_t)size;
            r->count++;
            if (lost) {
                r->lost_size += (int64_t)size;
                r->lost_count++;
            }
            return;
        }
    }
}

static void leak_add(uintptr_t p, const mg_block *blk, void *ctx) {
    leak_map *m = ctx;
    unsigned w;
    if (blk->stack == MG_STACK_INTERNAL || blk->stack == MG_STACK_NONE) return;
    if (!mg__block_window(p, &w) || w != m->window) return;
    leak_add_block(m, blk->stack, blk->size, false);
}

void mg__wire_leak_diffs(mg_buf *b, unsigned id, const mg_reach *reach) {
    uint64_t entries, bytes;
    mg__table_stats(&entries, &bytes);
    leak_map m = {NULL, 64, id};
    while (m.cap < entries * 2 + 2) m.cap *= 2;
    m.slots = mg__sys_alloc(m.cap * sizeof *m.slots);
    if (!m.slots) return;
    int64_t lost_bytes = 0, lost_blocks = 0;
    if (reach) {
        size_t n;
        const mg_reach_block *rb = mg__reach_blocks(reach, &n);
        for (size_t i = 0; i < n; i++) {
            if (rb[i].window != id) continue;
            if (!rb[i].reached) {
                lost_bytes += (int64_t)rb[i].size;
                lost_blocks++;
            }
            if (rb[i].stack != MG_STACK_NONE) leak_add_block(&m, rb[i].stack, rb[i].size, !rb[i].reached);
        }
        mg__buf_printf(b, "LOST %u lost_bytes=%lld lost_blocks=%lld\n", id, (long long)lost_bytes,
                       (long long)lost_blocks);
    } else {
        mg__table_foreach(leak_add, &m);
    }
    row top[MG_WIRE_MAX_DIFFS];
    leak_row lost_of[MG_WIRE_MAX_DIFFS];
    size_t ntop = 0;
    for (size_t i = 0; i < m.cap; i++) {
        const leak_row *lr = &m.slots[i];
        if (lr->stack == MG_STACK_NONE) continue;
        row r = {lr->stack, lr->size, lr->size, lr->count, lr->count};
        keep_top(top, &ntop, MG_WIRE_MAX_DIFFS, &r);
    }
    /* The lost part of each kept row, found again by its stack. */
    for (size_t k = 0; k < ntop; k++) {
        lost_of[k] = (leak_row){0};
        for (size_t i = (top[k].stack * 2654435761u) & (m.cap - 1);; i = (i + 1) & (m.cap - 1))
            if (m.slots[i].stack == top[k].stack) {
                lost_of[k] = m.slots[i];
                break;
            }
    }
    mg__sys_free(m.slots, m.cap * sizeof *m.slots);
    for (size_t i = 0; i < ntop; i++) {
        mg__wire_stack(b, top[i].stack);
        if (reach)
            mg__buf_printf(b, "D %u %u size=%lld count=%lld lost_size=%lld lost_count=%lld\n", id,
                           top[i].stack, (long long)top[i].size, (long long)top[i].count,
                           (long long)lost_of[i].lost_size, (long long)lost_of[i].lost_count);
        else
            mg__buf_printf(b, "D %u %u size=%lld count=%lld\n", id, top[i].stack, (long long)top[i].size,
                           (long long)top[i].count);
    }
}

void mg__wire_flush(mg_buf *b, int fd) {
    if (b->len && mg__write_all(fd, b->data, b->len) != 0) _exit(MG_EXIT_NOREPORT);
    b->len = 0;
}
