/*
 * Call stacks as a prefix tree of frames (as heaptrack does).
 *
 * A stack is interned outermost frame first, so stacks that share their callers share
 * nodes; the id of a stack is the id of the node of its innermost frame. A recursive
 * build of a 1M-node tree produces a million distinct stacks, but each adds only one or
 * two nodes, where a flat store would repeat every frame of every stack.
 *
 * Nodes live in chunks of 64 Ki nodes that never move, so ids and node pointers stay
 * valid without locks. Lookups of (parent, ip) go through an open-addressing index of
 * node ids under one lock (skipped while single-threaded).
 *
 * Each thread remembers the path of its previous stack: consecutive allocations share
 * most frames, so only the frames below the first difference need an index lookup. For
 * 5M allocations from one call chain this makes interning a compare of ~15 words.
 *
 * Each node also holds the live bytes and blocks of the blocks allocated with that
 * exact stack: snapshots read these aggregates instead of walking the live table.
 */
#include <sched.h>
#include <string.h>

#include "internal.h"

#define CHUNK_BITS 16
#define CHUNK_NODES (1u << CHUNK_BITS)
#define MAX_CHUNKS ((MG_STACK_MAX_NODES + CHUNK_NODES) / CHUNK_NODES)

/* 24 bytes: programs with a million distinct stacks have a few million nodes. A stack
 * cannot hold 2^31 live blocks (that is >= 32 GiB of headers alone), so 32 bits count. */
typedef struct node {
    uint64_t ip;
    uint32_t parent;
    _Atomic int32_t live_count;
    _Atomic int64_t live_bytes;
} node;

static node *chunks[MAX_CHUNKS];
static _Atomic uint32_t nnodes = 1; /* node 0 is the root (the empty stack) */
static uint32_t *index_ids;          /* 0 = empty */
static unsigned index_bits;
static uint32_t index_count;
static _Atomic int tree_lock;
static node overflow_node;           /* aggregates of MG_STACK_OVERFLOW */

/* Path of this thread's previous stack, outermost first. */
static MG_TLS uint64_t path_ips[MG_MAX_FRAMES];
static MG_TLS uint32_t path_ids[MG_MAX_FRAMES];
static MG_TLS int path_len;

static inline node *node_at(uint32_t id) {
    if (id == MG_STACK_OVERFLOW) return &overflow_node;
    return &chunks[id >> CHUNK_BITS][id & (CHUNK_NODES - 1)];
}

void mg__stack_lock(void) {
    if (MG_LIKELY(!mg__mt())) return;
    while (atomic_exchange_explicit(&tree_lock, 1, memory_order_acquire)) sched_yield();
}

void mg__stack_unlock(void) { atomic_store_explicit(&tree_lock, 0, memory_order_release); }

/* Home slot of (parent, ip) in the index. Children are created right after their parent
 * in most programs (a deeper call allocates next), and ids are handed out in creation
 * order, so the home is derived from the parent's id, spread by 5/4 (the index is at
 * most three quarters full, so the ids then cover it without wrapping), plus a few bits of
 * the frame: lookups and insertions walk the index roughly in order instead of touching
 * a random cache line each. */
static inline size_t index_slot(uint32_t parent, uint64_t ip, unsigned bits) {
    uint64_t h = ip * 0x9E3779B97F4A7C15ull;
    size_t spread = (size_t)parent + (size_t)parent / 4u;
    return (spread + (size_t)(h >> 59)) & (((size_t)1 << bits) - 1);
}

/* Full-range hash of (parent, ip), for keys whose local window is full. */
static inline size_t index_scatter(uint32_t parent, uint64_t ip, unsigned bits) {
    uint64_t h = (ip ^ ((uint64_t)parent << 32 | parent)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> (64 - bits));
}

#define INDEX_WINDOW 32

/* Finds the slot of (parent, ip) in ids (1 << bits slots), or the empty slot where it
 * belongs. A key lives in the first WINDOW slots from its local home when one of them
 * was free when it was inserted, else in a linear-probing run from a scattered home:
 * nodes are never removed, so an empty slot in the window proves the key is not further
 * on, and a parent with very many children (a full window) degrades to plain hashing
 * instead of long runs. `lookup` is false when rehashing (every key is new). */
static size_t index_locate(const uint32_t *ids, unsigned bits, uint32_t parent, uint64_t ip,
                           bool lookup) {
    size_t mask = ((size_t)1 << bits) - 1;
    size_t home = index_slot(parent, ip, bits);
    for (size_t k = 0; k < INDEX_WINDOW; k++) {
        size_t j = (home + k) & mask;
        uint32_t id = ids[j];
        if (!id) return j;
        if (lookup) {
            node *n = node_at(id);
            if (n->ip == ip && n->parent == parent) return j;
        }
    }
    for (size_t j = index_scatter(parent, ip, bits);; j = (j + 1) & mask) {
        uint32_t id = ids[j];
        if (!id) return j;
        if (lookup) {
            node *n = node_at(id);
            if (n->ip == ip && n->parent == parent) return j;
        }
    }
}

static int index_grow(void) {
    unsigned nbits = index_bits ? index_bits + 1 : 12;
    size_t ncap = (size_t)1 << nbits;
    uint32_t *ni = (ncap * sizeof(uint32_t) >= (1u << 20) ? mg__sys_alloc_populated : mg__sys_alloc)(
        ncap * sizeof(uint32_t));
    if (!ni) return -1;
    if (index_ids) {
        size_t cap = (size_t)1 << index_bits;
        for (size_t i = 0; i < cap; i++) {
            uint32_t id = index_ids[i];
            if (!id) continue;
            node *n = node_at(id);
            ni[index_locate(ni, nbits, n->parent, n->ip, false)] = id;
        }
        mg__sys_free(index_ids, cap * sizeof(uint32_t));
    }
    index_ids = ni;
    index_bits = nbits;
    return 0;
}

/* Finds or creates the child of `parent` for frame `ip`. Called with the tree lock. */
static uint32_t child_of(uint32_t parent, uint64_t ip) {
    /* Grown at 75% load: the index costs 4 bytes a slot, 5.3..10.7 bytes a node. */
    if ((index_count + 1) * 4 > ((size_t)3 << index_bits) && index_grow() != 0)
        return MG_STACK_OVERFLOW;
    size_t j = index_locate(index_ids, index_bits, parent, ip, true);
    if (index_ids[j]) return index_ids[j];
    uint32_t id = atomic_load_explicit(&nnodes, memory_order_relaxed);
    if (id > MG_STACK_MAX_NODES) return MG_STACK_OVERFLOW;
    if (!chunks[id >> CHUNK_BITS]) {
        /* The first chunk is faulted in lazily (most programs use a few pages of it);
         * later ones belong to programs with many stacks and are populated at once. */
        chunks[id >> CHUNK_BITS] = (id ? mg__sys_alloc_populated : mg__sys_alloc)(
            sizeof(node) * CHUNK_NODES);
        if (!chunks[id >> CHUNK_BITS]) return MG_STACK_OVERFLOW;
    }
    node *n = node_at(id);
    n->ip = ip;
    n->parent = parent;
    index_ids[j] = id;
    index_count++;
    /* Publish the node only once it is filled in (readers scan up to nnodes). */
    atomic_store_explicit(&nnodes, id + 1, memory_order_release);
    return id;
}

static void ensure_root(void) {
    if (!chunks[0]) chunks[0] = mg__sys_alloc(sizeof(node) * CHUNK_NODES);
}

uint32_t mg__stack_intern(const uintptr_t *frames, int n) {
    if (n <= 0) return MG_STACK_NONE;
    if (n > MG_MAX_FRAMES) n = MG_MAX_FRAMES;
    int k = 0;
    int lim = n < path_len ? n : path_len;
    while (k < lim && path_ips[k] == frames[n - 1 - k]) k++;
    if (k == n) return path_ids[n - 1];

    mg__stack_lock();
    ensure_root();
    uint32_t parent = k ? path_ids[k - 1] : 0;
    for (int i = k; i < n; i++) {
        uint64_t ip = frames[n - 1 - i];
        uint32_t id = child_of(parent, ip);
        if (id == MG_STACK_OVERFLOW) {
            path_len = i;
            mg__stack_unlock();
            return MG_STACK_OVERFLOW;
        }
        path_ips[i] = ip;
        path_ids[i] = id;
        parent = id;
    }
    path_len = n;
    mg__stack_unlock();
    return parent;
}

int mg__stack_frames(uint32_t id, uintptr_t *frames, int max) {
    int n = 0;
    if (id == MG_STACK_OVERFLOW || id == MG_STACK_INTERNAL) return 0;
    if (id >= atomic_load_explicit(&nnodes, memory_order_acquire)) return 0;
    while (id && n < max) {
        node *nd = node_at(id);
        frames[n++] = (uintptr_t)nd->ip;
        id = nd->parent;
    }
    return n;
}

uint32_t mg__stack_count(void) { return atomic_load_explicit(&nnodes, memory_order_acquire); }

void mg__stack_account(uint32_t id, int64_t bytes, int64_t count) {
    if (id == MG_STACK_NONE || id == MG_STACK_INTERNAL) return;
    node *n = node_at(id);
    mg__add(&n->live_bytes, bytes);
    if (MG_LIKELY(!mg__mt()))
        atomic_store_explicit(&n->live_count,
                              atomic_load_explicit(&n->live_count, memory_order_relaxed) + (int32_t)count,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&n->live_count, (int32_t)count, memory_order_relaxed);
}

void mg__stack_live(uint32_t id, int64_t *bytes, int64_t *count) {
    *bytes = *count = 0;
    if (id == MG_STACK_NONE || id == MG_STACK_INTERNAL) return;
    if (id != MG_STACK_OVERFLOW && id >= mg__stack_count()) return;
    node *n = node_at(id);
    *bytes = atomic_load_explicit(&n->live_bytes, memory_order_relaxed);
    *count = atomic_load_explicit(&n->live_count, memory_order_relaxed);
}

uint64_t mg__stack_memory(void) {
    uint64_t chunks_used = 0;
    for (unsigned i = 0; i < MAX_CHUNKS; i++) chunks_used += chunks[i] != NULL;
    return chunks_used * CHUNK_NODES * sizeof(node) +
           (index_ids ? ((uint64_t)1 << index_bits) * sizeof(uint32_t) : 0);
}

/* Adds the aggregates of one node to arr when they are non-zero. */
static void collect_one(mg_stackstat *arr, size_t *n, uint32_t id, node *nd, int64_t *sb,
                        int64_t *sc) {
    int64_t b = atomic_load_explicit(&nd->live_bytes, memory_order_relaxed);
    int64_t c = atomic_load_explicit(&nd->live_count, memory_order_relaxed);
    if (!b && !c) return;
    arr[*n].stack = id;
    arr[*n].bytes = b;
    arr[*n].count = c;
    *sb += b;
    *sc += c;
    (*n)++;
}

/* Fills arr (capacity cap, at least nodes + 1) with the non-zero aggregates. */
static size_t collect(mg_stackstat *arr, size_t cap, int64_t *sum_bytes, int64_t *sum_count) {
    size_t n = 0;
    uint32_t total = mg__stack_count();
    *sum_bytes = *sum_count = 0;
    if (!chunks[0]) return 0;
    for (uint32_t id = 1; id < total && n < cap; id++)
        collect_one(arr, &n, id, node_at(id), sum_bytes, sum_count);
    if (n < cap) collect_one(arr, &n, MG_STACK_OVERFLOW, &overflow_node, sum_bytes, sum_count);
    return n;
}

mg_stackstat *mg__stack_snapshot(size_t *n, size_t *cap) {
    size_t c = (size_t)mg__stack_count() + 2;
    mg_stackstat *arr = mg__sys_alloc(c * sizeof *arr);
    if (!arr) {
        *n = *cap = 0;
        return NULL;
    }
    int64_t sb, sc;
    size_t k = collect(arr, c - 1, &sb, &sc);
    /* What the totals hold beyond the recorded stacks belongs to "no stack". */
    int64_t rest_b = atomic_load_explicit(&mg__g.live_bytes, memory_order_relaxed) - sb;
    int64_t rest_c = atomic_load_explicit(&mg__g.live_blocks, memory_order_relaxed) - sc;
    if (rest_b || rest_c) {
        arr[k].stack = MG_STACK_NONE;
        arr[k].bytes = rest_b;
        arr[k].count = rest_c;
        k++;
    }
    *n = k;
    *cap = c;
    return arr;
}

/* ---- peak breakdown ----------------------------------------------------------------
 * In trace mode, the per-stack aggregates are copied when the live total is about to
 * drop right after reaching a new peak: that copy is the live set at the peak. To bound
 * the cost for programs whose peak creeps up between frees, a new copy is only taken
 * when the peak grew by 1/64 since the last one, unless the tree is small (< 4096
 * nodes), where copies are cheap and the breakdown stays exact. */
static void peak_record_locked(void);
static mg_stackstat *peak_arr;
static size_t peak_cap, peak_n;
static int64_t peak_live;

void mg__peak_reset(void) {
    peak_n = 0;
    peak_live = 0;
}

static _Atomic bool peak_recording;

void mg__peak_maybe_record(void) {
    /* One thread at a time; another one arriving meanwhile skips (it would record
     * nearly the same moment). */
    if (atomic_exchange_explicit(&peak_recording, true, memory_order_acquire)) return;
    peak_record_locked();
    atomic_store_explicit(&peak_recording, false, memory_order_release);
}

static void peak_record_locked(void) {
    int64_t live = atomic_load_explicit(&mg__g.live_bytes, memory_order_relaxed);
    uint32_t total = mg__stack_count();
    if (peak_n && total >= 4096 && live < peak_live + peak_live / 64) return;
    size_t need = (size_t)total + 2;
    if (need > peak_cap) {
        size_t ncap = need * 2;
        mg_stackstat *na = mg__sys_alloc(ncap * sizeof *na);
        if (!na) return;
        mg__sys_free(peak_arr, peak_cap * sizeof *peak_arr);
        peak_arr = na;
        peak_cap = ncap;
    }
    int64_t sb, sc;
    peak_n = collect(peak_arr, peak_cap, &sb, &sc);
    peak_live = live;
}

const mg_stackstat *mg__peak_breakdown(size_t *n, int64_t *live_at_record) {
    *n = peak_n;
    *live_at_record = peak_live;
    return peak_arr;
}
