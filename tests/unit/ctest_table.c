/*
 * Tests of the live table (collector/table.c) through its internal interface: insert,
 * replace, find, remove with backward-shift deletion under heavy churn, the packed
 * fields at their limits, set_stack, foreach, the memory cost
 * per entry, and concurrent use from 8 threads.
 *
 * Recording is never started in this program, so the table holds only the keys the
 * tests put there; every test removes what it inserted. The cluster tests run before
 * the 1M-entry test on purpose: the table never shrinks, and probe runs that wrap
 * around the end of a shard are far more frequent while the shards are still small.
 */
#include "internal.h"
#include "mgtest.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------------- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void shuffle_u32(uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng() % i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Metadata derived from an index, covering all packed bits. */
static uint64_t meta_size(uint64_t i) { return (i * 0x9E3779B97F4Bull) & MG_SIZE_MAX; }
static uint32_t meta_stack(uint64_t i) { return (uint32_t)((i * 2654435761u) % (MG_STACK_INTERNAL + 1u)); }

static uint64_t table_entries(void) {
    uint64_t e, b;
    mg__table_stats(&e, &b);
    return e;
}

/* Checks that key is present with the metadata of index i. */
static int present_as(uintptr_t key, uint64_t i) {
    mg_block b;
    memset(&b, 0xAB, sizeof b);
    if (!mg__table_find(key, &b)) return 0;
    return b.size == meta_size(i) && b.stack == meta_stack(i);
}

static int absent(uintptr_t key) {
    mg_block b;
    return !mg__table_find(key, &b);
}

/* ---- basic semantics ---------------------------------------------------------------- */
static void test_insert_find_remove(void) {
    uint64_t base = table_entries();
    mg_block b, r;
    uintptr_t p = 0x7f0000001230u;
    CU_ASSERT_FALSE(mg__table_find(p, &b));
    CU_ASSERT_EQUAL(mg__table_insert(p, 100, 7, &r), 0);
    CU_ASSERT_EQUAL(table_entries(), base + 1);
    CU_ASSERT_TRUE(mg__table_find(p, &b));
    CU_ASSERT_EQUAL(b.size, 100);
    CU_ASSERT_EQUAL(b.stack, 7);
    /* find does not remove */
    CU_ASSERT_TRUE(mg__table_find(p, &b));
    CU_ASSERT_EQUAL(table_entries(), base + 1);
    memset(&b, 0, sizeof b);
    CU_ASSERT_EQUAL(mg__table_remove(p, &b), 1);
    CU_ASSERT_EQUAL(b.size, 100);
    CU_ASSERT_EQUAL(b.stack, 7);
    CU_ASSERT_EQUAL(table_entries(), base);
    CU_ASSERT_EQUAL(mg__table_remove(p, &b), 0);
    CU_ASSERT_FALSE(mg__table_find(p, &b));
    /* A neighbour in the same 16-byte granule (same hash) is a different key. */
    CU_ASSERT_EQUAL(mg__table_insert(p, 1, 1, &r), 0);
    CU_ASSERT_FALSE(mg__table_find(p + 8, &b));
    CU_ASSERT_EQUAL(mg__table_insert(p + 8, 2, 2, &r), 0);
    CU_ASSERT_TRUE(mg__table_find(p, &b) && b.size == 1 && b.stack == 1);
    CU_ASSERT_TRUE(mg__table_find(p + 8, &b) && b.size == 2 && b.stack == 2);
    CU_ASSERT_EQUAL(mg__table_remove(p, &b), 1);
    CU_ASSERT_TRUE(mg__table_find(p + 8, &b) && b.size == 2);
    CU_ASSERT_EQUAL(mg__table_remove(p + 8, &b), 1);
    CU_ASSERT_EQUAL(table_entries(), base);
}

static void test_replacement(void) {
    uint64_t base = table_entries();
    uintptr_t p = 0x55550000abc0u;
    mg_block r, b;
    CU_ASSERT_EQUAL(mg__table_insert(p, 10, 5, &r), 0);
    memset(&r, 0, sizeof r);
    /* Second insert of the same pointer: a free we never saw. */
    CU_ASSERT_EQUAL(mg__table_insert(p, 20, 6, &r), 1);
    CU_ASSERT_EQUAL(r.size, 10);
    CU_ASSERT_EQUAL(r.stack, 5);
    CU_ASSERT_EQUAL(table_entries(), base + 1);
    CU_ASSERT_TRUE(mg__table_find(p, &b));
    CU_ASSERT_EQUAL(b.size, 20);
    CU_ASSERT_EQUAL(b.stack, 6);
    /* And again, the extremes replaced by zeros. */
    CU_ASSERT_EQUAL(mg__table_insert(p, MG_SIZE_MAX, MG_STACK_INTERNAL, &r), 1);
    CU_ASSERT_EQUAL(r.size, 20);
    CU_ASSERT_EQUAL(mg__table_insert(p, 0, 0, &r), 1);
    CU_ASSERT_EQUAL(r.size, MG_SIZE_MAX);
    CU_ASSERT_EQUAL(r.stack, MG_STACK_INTERNAL);
    CU_ASSERT_TRUE(mg__table_find(p, &b));
    CU_ASSERT_EQUAL(b.size, 0);
    CU_ASSERT_EQUAL(b.stack, 0);
    CU_ASSERT_EQUAL(mg__table_remove(p, &b), 1);
    CU_ASSERT_EQUAL(table_entries(), base);
}

/* Every combination of extreme field values survives packing, without bleeding into
 * the neighbouring fields. */
static void test_field_limits(void) {
    static const uint64_t sizes[] = {0, 1, 4096, (UINT64_C(1) << 39), MG_SIZE_MAX - 1, MG_SIZE_MAX};
    static const uint32_t stacks[] = {MG_STACK_NONE, 1, MG_STACK_MAX_NODES, MG_STACK_OVERFLOW,
                                      MG_STACK_INTERNAL};
    uint64_t base = table_entries();
    uintptr_t p = 0x600000000000u;
    unsigned k = 0, bad = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (size_t ti = 0; ti < sizeof stacks / sizeof *stacks; ti++, k++) {
                mg_block r;
                if (mg__table_insert(p + k * 16u, sizes[si], stacks[ti], &r) != 0) bad++;
            }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(table_entries(), base + k);
    k = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (size_t ti = 0; ti < sizeof stacks / sizeof *stacks; ti++, k++) {
                mg_block b;
                int ok = mg__table_remove(p + k * 16u, &b) == 1 && b.size == sizes[si] &&
                         b.stack == stacks[ti];
                if (!ok) bad++;
            }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(table_entries(), base);
    /* The table stores exactly MG_SIZE_BITS bits of size. */
    CU_ASSERT_EQUAL(MG_SIZE_MAX, (UINT64_C(1) << 40) - 1);
}

static void test_set_stack(void) {
    uint64_t base = table_entries();
    uintptr_t p = 0x7ffff0000010u;
    mg_block r, b;
    CU_ASSERT_EQUAL(mg__table_set_stack(p, 3), 0); /* not there */
    CU_ASSERT_EQUAL(table_entries(), base);
    CU_ASSERT_EQUAL(mg__table_insert(p, MG_SIZE_MAX, 3, &r), 0);
    CU_ASSERT_EQUAL(mg__table_set_stack(p, MG_STACK_INTERNAL), 1);
    CU_ASSERT_TRUE(mg__table_find(p, &b));
    CU_ASSERT_EQUAL(b.size, MG_SIZE_MAX);
    CU_ASSERT_EQUAL(b.stack, MG_STACK_INTERNAL);
    CU_ASSERT_EQUAL(mg__table_set_stack(p, 0), 1);
    CU_ASSERT_TRUE(mg__table_find(p, &b));
    CU_ASSERT_EQUAL(b.size, MG_SIZE_MAX);
    CU_ASSERT_EQUAL(b.stack, 0);
    CU_ASSERT_EQUAL(mg__table_remove(p, &b), 1);
    CU_ASSERT_EQUAL(table_entries(), base);
}

typedef struct fe_ctx {
    uintptr_t lo, hi;
    uint64_t seen, key_sum, bad;
    uint64_t others;
} fe_ctx;

static void fe_cb(uintptr_t p, const mg_block *b, void *ctx) {
    fe_ctx *c = ctx;
    if (p < c->lo || p >= c->hi) {
        c->others++;
        return;
    }
    uint64_t i = (p - c->lo) / 16u;
    c->seen++;
    c->key_sum += p;
    if (b->size != meta_size(i) || b->stack != meta_stack(i))
        c->bad++;
}

static void test_foreach(void) {
    enum { N = 5000 };
    uint64_t base = table_entries();
    uintptr_t lo = 0x7e0000000000u;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < N; i++) {
        mg_block r;
        mg__table_insert(lo + i * 16u, meta_size(i), meta_stack(i), &r);
        sum += lo + i * 16u;
    }
    fe_ctx c = {.lo = lo, .hi = lo + N * 16u};
    mg__table_foreach(fe_cb, &c);
    CU_ASSERT_EQUAL(c.seen, N);
    CU_ASSERT_EQUAL(c.key_sum, sum);
    CU_ASSERT_EQUAL(c.bad, 0);
    CU_ASSERT_EQUAL(c.others, base);
    /* Remove every other one: foreach sees exactly the rest. */
    for (uint64_t i = 0; i < N; i += 2) {
        mg_block b;
        mg__table_remove(lo + i * 16u, &b);
        sum -= lo + i * 16u;
    }
    memset(&c, 0, sizeof c);
    c.lo = lo;
    c.hi = lo + N * 16u;
    mg__table_foreach(fe_cb, &c);
    CU_ASSERT_EQUAL(c.seen, N / 2);
    CU_ASSERT_EQUAL(c.key_sum, sum);
    CU_ASSERT_EQUAL(c.bad, 0);
    for (uint64_t i = 1; i < N; i += 2) {
        mg_block b;
        mg__table_remove(lo + i * 16u, &b);
    }
    CU_ASSERT_EQUAL(table_entries(), base);
}

/* ---- churn: backward-shift deletion ----------------------------------------------------
 * Keys that differ only in their low 4 bits hash alike (allocations are 16-byte
 * aligned, so the hash ignores those bits): 16 of them fill one long probe run. Random
 * deletions inside such runs must keep every other key reachable. */
static int check_cluster_set(const uintptr_t *keys, const uint8_t *gone, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (gone[i] ? !absent(keys[i]) : !present_as(keys[i], i)) return 0;
    }
    return 1;
}

static void run_clusters(size_t nclusters, size_t check_every) {
    size_t n = nclusters * 16;
    uintptr_t *keys = malloc(n * sizeof *keys);
    uint8_t *gone = calloc(n, 1);
    uint32_t *order = malloc(n * sizeof *order);
    CU_ASSERT_FATAL(keys && gone && order);
    uint64_t base = table_entries();
    for (size_t c = 0; c < nclusters; c++) {
        uintptr_t granule = (uintptr_t)((rng() & 0x00003ffffffff000ull) | 0x100000000000ull) + c * 0x10000u;
        for (size_t j = 0; j < 16; j++) keys[c * 16 + j] = granule | j;
    }
    /* Interleave the clusters' insertions so runs of different homes overlap. */
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    shuffle_u32(order, n);
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        mg_block r;
        uint32_t k = order[i];
        if (mg__table_insert(keys[k], meta_size(k), meta_stack(k), &r) != 0) bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(table_entries(), base + n);
    CU_ASSERT_TRUE(check_cluster_set(keys, gone, n));
    shuffle_u32(order, n);
    size_t failures = 0;
    for (size_t i = 0; i < n; i++) {
        mg_block b;
        uint32_t k = order[i];
        if (mg__table_remove(keys[k], &b) != 1 || b.size != meta_size(k) ||
            b.stack != meta_stack(k))
            bad++;
        gone[k] = 1;
        if ((i + 1) % check_every == 0 && !check_cluster_set(keys, gone, n)) failures++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(table_entries(), base);
    free(keys);
    free(gone);
    free(order);
}

static void test_clusters_small(void) {
    /* Full verification after every single deletion, several seeds. */
    for (int round = 0; round < 20; round++) run_clusters(6, 1);
}

static void test_clusters_many(void) { run_clusters(4000, 2000); }

/* ---- 1M pointers -------------------------------------------------------------------- */
#define BIG_N 1000000u

static uintptr_t big_key(uint32_t i) { return (uintptr_t)0x7f0000000000ull + (uintptr_t)i * 48u; }

static size_t verify_big(const uint8_t *gone) {
    size_t wrong = 0;
    for (uint32_t i = 0; i < BIG_N; i++)
        if (gone[i] ? !absent(big_key(i)) : !present_as(big_key(i), i)) wrong++;
    return wrong;
}

static void test_million(void) {
    uint64_t base = table_entries();
    CU_ASSERT_EQUAL(base, 0);
    uint8_t *gone = calloc(BIG_N, 1);
    uint32_t *order = malloc(BIG_N * sizeof *order);
    CU_ASSERT_FATAL(gone && order);
    size_t bad = 0;
    for (uint32_t i = 0; i < BIG_N; i++) {
        mg_block r;
        if (mg__table_insert(big_key(i), meta_size(i), meta_stack(i), &r) != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    uint64_t entries, bytes;
    mg__table_stats(&entries, &bytes);
    CU_ASSERT_EQUAL(entries, BIG_N);
    /* 16-byte slots at 35..70% load, plus the shard headers. */
    CU_ASSERT(bytes >= (uint64_t)BIG_N * 16u);
    CU_ASSERT(bytes <= (uint64_t)BIG_N * 48u);
    CU_ASSERT_EQUAL(verify_big(gone), 0);

    /* Delete in random order, verifying the whole set at checkpoints. */
    for (uint32_t i = 0; i < BIG_N; i++) order[i] = i;
    shuffle_u32(order, BIG_N);
    size_t wrong_total = 0, removed_bad = 0;
    for (uint32_t i = 0; i < BIG_N / 2; i++) {
        mg_block b;
        uint32_t k = order[i];
        if (mg__table_remove(big_key(k), &b) != 1 || b.size != meta_size(k) ||
            b.stack != meta_stack(k))
            removed_bad++;
        gone[k] = 1;
        if ((i + 1) % 125000u == 0) wrong_total += verify_big(gone);
    }
    CU_ASSERT_EQUAL(removed_bad, 0);
    CU_ASSERT_EQUAL(wrong_total, 0);
    CU_ASSERT_EQUAL(table_entries(), BIG_N / 2);

    /* Churn at a steady population: deletion leaves no tombstones, so putting the
     * removed half back does not grow the table. */
    uint64_t bytes_before_churn = bytes;
    for (uint32_t i = 0; i < BIG_N / 2; i++) {
        mg_block r;
        uint32_t k = order[i];
        if (mg__table_insert(big_key(k), meta_size(k), meta_stack(k), &r) != 0)
            bad++;
        gone[k] = 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    mg__table_stats(&entries, &bytes);
    CU_ASSERT_EQUAL(entries, BIG_N);
    CU_ASSERT_EQUAL(bytes, bytes_before_churn);
    CU_ASSERT_EQUAL(verify_big(gone), 0);

    /* Remove everything, in another random order. */
    shuffle_u32(order, BIG_N);
    for (uint32_t i = 0; i < BIG_N; i++) {
        mg_block b;
        uint32_t k = order[i];
        if (mg__table_remove(big_key(k), &b) != 1) removed_bad++;
        gone[k] = 1;
        if ((i + 1) % 250000u == 0 && i + 1 < BIG_N) wrong_total += verify_big(gone);
    }
    CU_ASSERT_EQUAL(removed_bad, 0);
    CU_ASSERT_EQUAL(wrong_total, 0);
    CU_ASSERT_EQUAL(table_entries(), 0);
    free(gone);
    free(order);
}

/* ---- 8 threads -------------------------------------------------------------------------- */
#define THREADS 8
#define PER_THREAD 60000u

static pthread_barrier_t barrier;

typedef struct worker {
    unsigned id;
    size_t errors;
} worker;

static uintptr_t thread_key(unsigned t, uint32_t i) {
    return (uintptr_t)0x200000000000ull + ((uintptr_t)t << 32) + (uintptr_t)i * 32u;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    uint64_t local = 0x1234567ull * (w->id + 1);
    uint8_t *gone = calloc(PER_THREAD, 1);
    uint32_t *order = malloc(PER_THREAD * sizeof *order);
    if (!gone || !order) {
        w->errors++;
        return NULL;
    }
    for (uint32_t i = 0; i < PER_THREAD; i++) order[i] = i;
    for (uint32_t i = PER_THREAD; i > 1; i--) {
        local ^= local << 13;
        local ^= local >> 7;
        local ^= local << 17;
        uint32_t j = (uint32_t)(local % i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    pthread_barrier_wait(&barrier);
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        mg_block r;
        uint64_t m = i + w->id;
        if (mg__table_insert(thread_key(w->id, i), meta_size(m), meta_stack(m), &r) != 0)
            w->errors++;
    }
    pthread_barrier_wait(&barrier); /* main counts the entries here */
    pthread_barrier_wait(&barrier);
    /* Remove a random half while the other threads do the same. */
    for (uint32_t i = 0; i < PER_THREAD / 2; i++) {
        mg_block b;
        uint32_t k = order[i];
        uint64_t m = k + w->id;
        if (mg__table_remove(thread_key(w->id, k), &b) != 1 || b.size != meta_size(m) ||
            b.stack != meta_stack(m))
            w->errors++;
        gone[k] = 1;
    }
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        uint64_t m = i + w->id;
        if (gone[i] ? !absent(thread_key(w->id, i)) : !present_as(thread_key(w->id, i), m))
            w->errors++;
    }
    /* Set and reset stacks of the survivors, then remove them. */
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        if (gone[i]) continue;
        if (mg__table_set_stack(thread_key(w->id, i), MG_STACK_INTERNAL) != 1) w->errors++;
    }
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        mg_block b;
        if (gone[i]) continue;
        if (mg__table_remove(thread_key(w->id, i), &b) != 1 || b.stack != MG_STACK_INTERNAL ||
            b.size != meta_size(i + w->id))
            w->errors++;
    }
    free(gone);
    free(order);
    return NULL;
}

static void test_threads(void) {
    uint64_t base = table_entries();
    pthread_t th[THREADS];
    worker w[THREADS];
    CU_ASSERT_FATAL(pthread_barrier_init(&barrier, NULL, THREADS + 1) == 0);
    for (unsigned t = 0; t < THREADS; t++) {
        w[t].id = t;
        w[t].errors = 0;
        CU_ASSERT_FATAL(pthread_create(&th[t], NULL, worker_main, &w[t]) == 0);
    }
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    uint64_t mid = table_entries();
    pthread_barrier_wait(&barrier);
    for (unsigned t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&barrier);
    CU_ASSERT_EQUAL(mid, base + (uint64_t)THREADS * PER_THREAD);
    size_t errors = 0;
    for (unsigned t = 0; t < THREADS; t++) errors += w[t].errors;
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(table_entries(), base);
}

/* All threads insert and remove keys that differ only in their low 4 bits from the
 * other threads' keys (same hash), so they contend on the same locks and probe runs. */
static uintptr_t contended_key(unsigned t, uint32_t i) {
    return (uintptr_t)0x300000000000ull + (uintptr_t)(i % 512u) * 0x100000u + t * 2u;
}

static void *contend_main(void *arg) {
    worker *w = arg;
    pthread_barrier_wait(&barrier);
    for (unsigned round = 0; round < 40; round++) {
        for (uint32_t i = 0; i < 512; i++) {
            mg_block r;
            if (mg__table_insert(contended_key(w->id, i), i, w->id + 1, &r) != 0)
                w->errors++;
        }
        for (uint32_t i = 0; i < 512; i++) {
            mg_block b;
            if (mg__table_remove(contended_key(w->id, i), &b) != 1 || b.size != i ||
                b.stack != w->id + 1)
                w->errors++;
        }
    }
    return NULL;
}

static void test_threads_contended(void) {
    uint64_t base = table_entries();
    pthread_t th[THREADS];
    worker w[THREADS];
    CU_ASSERT_FATAL(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
    for (unsigned t = 0; t < THREADS; t++) {
        w[t].id = t;
        w[t].errors = 0;
        CU_ASSERT_FATAL(pthread_create(&th[t], NULL, contend_main, &w[t]) == 0);
    }
    for (unsigned t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&barrier);
    size_t errors = 0;
    for (unsigned t = 0; t < THREADS; t++) errors += w[t].errors;
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(table_entries(), base);
}

MGT_MAIN({
    static const mgt_case basic[] = {{"insert_find_remove", test_insert_find_remove},
                                     {"replacement", test_replacement},
                                     {"field_limits", test_field_limits},
                                     {"set_stack", test_set_stack},
                                     {"foreach", test_foreach},
                                     {NULL, NULL}};
    static const mgt_case churn[] = {{"clusters_small", test_clusters_small},
                                     {"clusters_many", test_clusters_many},
                                     {"million", test_million},
                                     {NULL, NULL}};
    static const mgt_case threads[] = {{"threads", test_threads},
                                       {"threads_contended", test_threads_contended},
                                       {NULL, NULL}};
    if (mgt_add_suite("table", basic) || mgt_add_suite("table_churn", churn) ||
        mgt_add_suite("table_threads", threads))
        return 2;
})
