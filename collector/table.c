/*
 * The live table: pointer -> (requested size, stack id, window bit) for every tracked
 * block.
 *
 * 64 shards, each an open-addressing table with linear probing and backward-shift
 * deletion (no tombstones, so lookups stay short after heavy churn). A slot is 16 bytes;
 * a shard grows (doubles) past 70% load, so the table costs 23..46 bytes per live block.
 * Memory comes from mmap, never from malloc.
 *
 * Locking: each shard has a spin lock, taken only once the process has a second thread
 * (glibc's __libc_single_threaded). Unlock always clears the lock, so a lock taken while
 * multi-threaded is released correctly in a fork child that is single-threaded again.
 */
#include <sched.h>
#include <string.h>

#include "internal.h"

#define SHARD_BITS 6
#define NSHARDS (1u << SHARD_BITS)
#define INITIAL_CAP 256u
#define RING_SIZE 64u

typedef struct slot {
    uintptr_t key; /* 0 = empty */
    uint64_t meta; /* size:40 | stack:23 | epoch:1 */
} slot;

typedef struct shard {
    _Atomic int lock;
    unsigned bits; /* capacity = 1 << bits (0 = not allocated yet) */
    size_t count;
    slot *slots;
    unsigned ring_pos;
    uintptr_t ring[RING_SIZE];
} __attribute__((aligned(64))) shard;

static shard shards[NSHARDS];

static inline uint64_t pack(uint64_t size, uint32_t stack, unsigned epoch) {
    return (size & MG_SIZE_MAX) | ((uint64_t)(stack & MG_STACK_INTERNAL) << MG_SIZE_BITS) |
           ((uint64_t)(epoch & 1u) << 63);
}

static inline void unpack(uint64_t meta, mg_block *b) {
    b->size = meta & MG_SIZE_MAX;
    b->stack = (uint32_t)((meta >> MG_SIZE_BITS) & MG_STACK_INTERNAL);
    b->epoch = (unsigned)(meta >> 63);
}

/* Fibonacci hashing: the top bits of the product are well mixed; the top SHARD_BITS
 * pick the shard, the next bits the home slot. Allocations are 16-byte aligned, so the
 * low 4 bits carry no information. */
static inline uint64_t hash_ptr(uintptr_t p) { return (uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull; }
static inline shard *shard_of(uint64_t h) { return &shards[h >> (64 - SHARD_BITS)]; }
static inline size_t home_of(uint64_t h, unsigned bits) {
    return (size_t)((h << SHARD_BITS) >> (64 - bits));
}

static inline void shard_lock(shard *s) {
    if (MG_LIKELY(!mg__mt())) return;
    unsigned spins = 0;
    while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&s->lock, memory_order_relaxed)) {
            if (++spins < 128)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
    }
}

static inline void shard_unlock(shard *s) {
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Places an entry known not to be present; the caller ensures there is room. */
static void place(slot *slots, unsigned bits, uintptr_t key, uint64_t meta) {
    size_t mask = ((size_t)1 << bits) - 1;
    size_t i = home_of(hash_ptr(key), bits);
    while (slots[i].key) i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].meta = meta;
}

static int grow(shard *s) {
    unsigned nbits = s->bits ? s->bits + 1 : 8;
    size_t ncap = (size_t)1 << nbits;
    slot *ns = mg__sys_alloc(ncap * sizeof(slot));
    if (!ns) return -1;
    if (s->slots) {
        size_t cap = (size_t)1 << s->bits;
        for (size_t i = 0; i < cap; i++)
            if (s->slots[i].key) place(ns, nbits, s->slots[i].key, s->slots[i].meta);
        mg__sys_free(s->slots, cap * sizeof(slot));
    }
    s->slots = ns;
    s->bits = nbits;
    return 0;
}

/* Returns the index of key in s, or (size_t)-1. */
static size_t find(const shard *s, uintptr_t key, uint64_t h) {
    if (!s->slots) return (size_t)-1;
    size_t mask = ((size_t)1 << s->bits) - 1;
    for (size_t i = home_of(h, s->bits);; i = (i + 1) & mask) {
        if (s->slots[i].key == key) return i;
        if (!s->slots[i].key) return (size_t)-1;
    }
}

/* Backward-shift deletion: after emptying slot i, move later entries of the same probe
 * run back so that every entry stays reachable from its home slot. */
static void erase_at(shard *s, size_t i) {
    size_t mask = ((size_t)1 << s->bits) - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!s->slots[j].key) break;
        size_t home = home_of(hash_ptr(s->slots[j].key), s->bits);
        /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
        int keep = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (keep) continue;
        s->slots[i] = s->slots[j];
        i = j;
    }
    s->slots[i].key = 0;
    s->slots[i].meta = 0;
    s->count--;
}

int mg__table_insert(uintptr_t p, uint64_t size, uint32_t stack, unsigned epoch,
                     mg_block *replaced) {
    uint64_t h = hash_ptr(p);
    shard *s = shard_of(h);
    int rc = 0;
    shard_lock(s);
    size_t i = find(s, p, h);
    if (i != (size_t)-1) {
        unpack(s->slots[i].meta, replaced);
        s->slots[i].meta = pack(size, stack, epoch);
        rc = 1;
    } else if ((s->count + 1) * 10 > ((size_t)1 << s->bits) * 7 && grow(s) != 0) {
        rc = -1;
    } else {
        place(s->slots, s->bits, p, pack(size, stack, epoch));
        s->count++;
    }
    shard_unlock(s);
    return rc;
}

int mg__table_remove(uintptr_t p, mg_block *out) {
    uint64_t h = hash_ptr(p);
    shard *s = shard_of(h);
    shard_lock(s);
    size_t i = find(s, p, h);
    int found = i != (size_t)-1;
    if (found) {
        unpack(s->slots[i].meta, out);
        erase_at(s, i);
    }
    shard_unlock(s);
    return found;
}

int mg__table_find(uintptr_t p, mg_block *out) {
    uint64_t h = hash_ptr(p);
    shard *s = shard_of(h);
    shard_lock(s);
    size_t i = find(s, p, h);
    int found = i != (size_t)-1;
    if (found) unpack(s->slots[i].meta, out);
    shard_unlock(s);
    return found;
}

int mg__table_set_stack(uintptr_t p, uint32_t stack) {
    uint64_t h = hash_ptr(p);
    shard *s = shard_of(h);
    shard_lock(s);
    size_t i = find(s, p, h);
    int found = i != (size_t)-1;
    if (found) {
        mg_block b;
        unpack(s->slots[i].meta, &b);
        s->slots[i].meta = pack(b.size, stack, b.epoch);
    }
    shard_unlock(s);
    return found;
}

void mg__table_foreach(void (*fn)(uintptr_t p, const mg_block *b, void *ctx), void *ctx) {
    for (unsigned k = 0; k < NSHARDS; k++) {
        shard *s = &shards[k];
        shard_lock(s);
        size_t cap = s->slots ? (size_t)1 << s->bits : 0;
        for (size_t i = 0; i < cap; i++) {
            if (!s->slots[i].key) continue;
            mg_block b;
            unpack(s->slots[i].meta, &b);
            fn(s->slots[i].key, &b, ctx);
        }
        shard_unlock(s);
    }
}

void mg__table_stats(uint64_t *entries, uint64_t *bytes) {
    uint64_t e = 0, by = 0;
    for (unsigned k = 0; k < NSHARDS; k++) {
        e += shards[k].count;
        by += shards[k].slots ? ((uint64_t)1 << shards[k].bits) * sizeof(slot) : 0;
    }
    *entries = e;
    *bytes = by + sizeof shards;
}

void mg__table_note_freed(uintptr_t p) {
    shard *s = shard_of(hash_ptr(p));
    shard_lock(s);
    s->ring[s->ring_pos++ % RING_SIZE] = p;
    shard_unlock(s);
}

int mg__table_recently_freed(uintptr_t p) {
    shard *s = shard_of(hash_ptr(p));
    int hit = 0;
    shard_lock(s);
    for (unsigned i = 0; i < RING_SIZE && !hit; i++) hit = s->ring[i] == p;
    shard_unlock(s);
    return hit;
}

void mg__table_lock_all(void) {
    for (unsigned k = 0; k < NSHARDS; k++) {
        while (atomic_exchange_explicit(&shards[k].lock, 1, memory_order_acquire))
            sched_yield();
    }
}

void mg__table_unlock_all(void) {
    for (unsigned k = 0; k < NSHARDS; k++) shard_unlock(&shards[k]);
}
