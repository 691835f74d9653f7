/*
 * The side table: pointer -> (requested size, stack id) for the blocks whose trailer
 * (block.h) cannot say everything: traced blocks and blocks with a large slack.
 *
 * 64 shards, each an open-addressing table with linear probing and backward-shift
 * deletion (hash: see table_inline.h) (no tombstones, so lookups stay short after heavy churn). A slot is 16 bytes;
 * a shard grows (doubles) past 70% load, so the table costs 23..46 bytes per live block.
 * Memory comes from mmap, never from malloc.
 *
 * Locking: each shard has a spin lock, taken only once the process has a second thread
 * (glibc's __libc_single_threaded). Unlock always clears the lock, so a lock taken while
 * multi-threaded is released correctly in a fork child that is single-threaded again.
 */
#include <string.h>

#include "internal.h"

#include "table_inline.h"

shard mg__shards[NSHARDS];

/* Places an entry known not to be present; the caller ensures there is room. */
static void place(slot *slots, unsigned bits, uintptr_t key, uint64_t meta) {
    size_t mask = ((size_t)1 << bits) - 1;
    size_t i = home_of(key, hash_ptr(key), bits);
    while (slots[i].key) i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].meta = meta;
}

int mg__table_grow(shard *s) {
    unsigned nbits = s->bits ? s->bits + 1 : 4;
    size_t ncap = (size_t)1 << nbits;
    /* Populated in one call whatever its size: the rehash below and the inserts that
     * follow write all over a grown table, and a lazily mapped page is first read (the
     * shared zero page, by a probe) and then written, a second fault with a TLB flush.
     * Measured on a tree of 1M traced blocks (64 shards of up to 512 KiB, which the
     * former 1 MiB threshold never populated): -20% wall, -30% CPU (docs/performance.md). */
    slot *ns = mg__sys_alloc_populated(ncap * sizeof(slot));
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

int mg__table_insert(uintptr_t p, uint64_t size, uint32_t stack, mg_block *replaced) {
    return mg__table_insert_inline(p, size, stack, replaced);
}

int mg__table_remove(uintptr_t p, mg_block *out) { return mg__table_remove_inline(p, out); }

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
        s->slots[i].meta = pack(b.size, stack);
    }
    shard_unlock(s);
    return found;
}

void mg__table_foreach(void (*fn)(uintptr_t p, const mg_block *b, void *ctx), void *ctx) {
    for (unsigned k = 0; k < NSHARDS; k++) {
        shard *s = &mg__shards[k];
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
        e += mg__shards[k].count;
        by += mg__shards[k].slots ? ((uint64_t)1 << mg__shards[k].bits) * sizeof(slot) : 0;
    }
    *entries = e;
    *bytes = by + sizeof mg__shards;
}

uint64_t mg__table_peak_entries(void) {
    uint64_t pe = 0;
    for (unsigned k = 0; k < NSHARDS; k++) pe += mg__shards[k].max_count;
    return pe;
}

void mg__table_lock_all(void) {
    for (unsigned k = 0; k < NSHARDS; k++) {
        while (atomic_exchange_explicit(&mg__shards[k].lock, 1, memory_order_acquire))
            sched_yield();
    }
}

void mg__table_unlock_all(void) {
    for (unsigned k = 0; k < NSHARDS; k++) shard_unlock(&mg__shards[k]);
}
