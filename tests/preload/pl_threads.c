/*
 * Run under LD_PRELOAD=libmemgate.so with MEMGATE_ACTIVE=1: 8 threads allocate and free
 * at once (exact totals, exact live figures at a pause in the middle, net 0 at the end);
 * blocks allocated by one thread and freed by another, directly and through a
 * producer/consumer queue.
 *
 * Creating and exiting threads makes libc allocate for itself (TLS of cached stacks),
 * so figures are read while every worker waits at a barrier, never across a create or
 * a join: workers meet the main thread at a "ready" barrier, main reads the figures,
 * and only then lets them go at a second barrier. Barriers, mutexes and condition
 * variables do not allocate.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl.h"

#define THREADS 8
#define ROUNDS 4000
#define HELD 64

static pthread_barrier_t barrier;

typedef struct worker {
    unsigned id;
    /* What this thread expects the collector to have counted for it. */
    int64_t allocs, frees, bytes, held_bytes;
    void *held[HELD];
} worker;

static size_t size_for(unsigned id, unsigned i) { return 1u + (id * 131u + i * 7919u) % 3000u; }

static void *worker_main(void *arg) {
    worker *w = arg;
    pthread_barrier_wait(&barrier); /* 0: ready, main reads the figures */
    pthread_barrier_wait(&barrier); /* 1: start together */
    for (unsigned i = 0; i < ROUNDS; i++) {
        size_t n = size_for(w->id, i);
        void *p;
        if (i % 5 == 0) {
            p = calloc(1, n);
        } else {
            p = malloc(n);
        }
        w->allocs++;
        w->bytes += (int64_t)n;
        if (i % 7 == 0) {
            size_t m = n + 100u;
            p = realloc(p, m); /* one free plus one allocation */
            w->allocs++;
            w->frees++;
            w->bytes += (int64_t)m;
        }
        ((char *)p)[0] = (char)i;
        free(p);
        w->frees++;
    }
    /* Hold some blocks over the pause so the live figures are non-trivial. */
    for (unsigned i = 0; i < HELD; i++) {
        size_t n = 10u + i * w->id;
        w->held[i] = malloc(n);
        w->allocs++;
        w->bytes += (int64_t)n;
        w->held_bytes += (int64_t)n;
    }
    pthread_barrier_wait(&barrier); /* 2: main reads the figures */
    pthread_barrier_wait(&barrier); /* 3 */
    for (unsigned i = 0; i < HELD; i++) {
        free(w->held[i]);
        w->frees++;
    }
    pthread_barrier_wait(&barrier); /* 4: main reads the figures */
    pthread_barrier_wait(&barrier); /* 5: then the workers exit */
    return NULL;
}

static void check_concurrent(void) {
    static worker w[THREADS];
    pthread_t th[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS + 1);
    for (unsigned t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].id = t;
        if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0) {
            PL_CHECK(!"pthread_create");
            return;
        }
    }
    pthread_barrier_wait(&barrier); /* 0 */
    memgate_counters a = pl_counters();
    memgate_reset_peak();
    pthread_barrier_wait(&barrier); /* 1 */
    pthread_barrier_wait(&barrier); /* 2 */
    memgate_counters b = pl_counters();
    pthread_barrier_wait(&barrier); /* 3 */
    pthread_barrier_wait(&barrier); /* 4 */
    memgate_counters c = pl_counters();
    pthread_barrier_wait(&barrier); /* 5 */
    for (unsigned t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&barrier);

    int64_t allocs = 0, frees = 0, bytes = 0, held = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        allocs += w[t].allocs;
        frees += w[t].frees;
        bytes += w[t].bytes;
        held += w[t].held_bytes;
    }
    pl_delta mid = pl_diff(&a, &b), end = pl_diff(&a, &c);
    PL_DELTA(mid, held, THREADS * HELD);
    PL_DELTA(end, 0, 0);
    PL_EQ(end.allocs, allocs);
    PL_EQ(end.frees, frees);
    PL_EQ(end.total_bytes, bytes);
    PL_CHECK(b.peak_bytes >= b.live_bytes);
    PL_CHECK(c.peak_bytes >= a.live_bytes + held);
}

/* ---- one thread allocates, another frees ------------------------------------------- */
#define CROSS 5000

static void *cross_blocks[CROSS];
static int64_t cross_bytes;

static void *allocator_main(void *arg) {
    (void)arg;
    pthread_barrier_wait(&barrier); /* 0: ready */
    pthread_barrier_wait(&barrier); /* 1: go */
    for (unsigned i = 0; i < CROSS; i++) {
        size_t n = 1u + i % 700u;
        cross_blocks[i] = malloc(n);
        cross_bytes += (int64_t)n;
    }
    pthread_barrier_wait(&barrier); /* 2: main reads, then frees them */
    pthread_barrier_wait(&barrier); /* 3: main reads again */
    return NULL;
}

static void check_cross_thread_free(void) {
    pthread_t t;
    pthread_barrier_init(&barrier, NULL, 2);
    if (pthread_create(&t, NULL, allocator_main, NULL) != 0) {
        PL_CHECK(!"pthread_create");
        return;
    }
    pthread_barrier_wait(&barrier); /* 0 */
    memgate_counters a = pl_counters();
    pthread_barrier_wait(&barrier); /* 1 */
    pthread_barrier_wait(&barrier); /* 2 */
    memgate_counters b = pl_counters();
    for (unsigned i = 0; i < CROSS; i++) free(cross_blocks[i]);
    memgate_counters c = pl_counters();
    pthread_barrier_wait(&barrier); /* 3 */
    pthread_join(t, NULL);
    pthread_barrier_destroy(&barrier);
    pl_delta d1 = pl_diff(&a, &b), d2 = pl_diff(&a, &c);
    PL_DELTA(d1, cross_bytes, CROSS);
    PL_EQ(d1.allocs, CROSS);
    PL_DELTA(d2, 0, 0);
    PL_EQ(d2.frees, CROSS);
}

/* ---- producers and consumers ----------------------------------------------------------
 * 4 producers push blocks into a queue, 4 consumers pop and free them: almost every
 * block is freed by a thread other than the one that allocated it. */
#define PRODUCERS 4
#define PER_PRODUCER 20000
#define QCAP 256

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    void *items[QCAP];
    size_t head, len;
    int producers_left;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};

static int64_t produced_bytes[PRODUCERS];
static int64_t consumed[PRODUCERS];

static void *producer_main(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    pthread_barrier_wait(&barrier); /* ready */
    pthread_barrier_wait(&barrier); /* go */
    for (unsigned i = 0; i < PER_PRODUCER; i++) {
        size_t n = 8u + (i * 13u + id) % 500u;
        void *p = malloc(n);
        produced_bytes[id] += (int64_t)n;
        pthread_mutex_lock(&q.lock);
        while (q.len == QCAP) pthread_cond_wait(&q.not_full, &q.lock);
        q.items[(q.head + q.len++) % QCAP] = p;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.lock);
    }
    pthread_mutex_lock(&q.lock);
    q.producers_left--;
    pthread_cond_broadcast(&q.not_empty);
    pthread_mutex_unlock(&q.lock);
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void *consumer_main(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    pthread_barrier_wait(&barrier); /* ready */
    pthread_barrier_wait(&barrier); /* go */
    for (;;) {
        pthread_mutex_lock(&q.lock);
        while (q.len == 0 && q.producers_left > 0) pthread_cond_wait(&q.not_empty, &q.lock);
        if (q.len == 0) {
            pthread_mutex_unlock(&q.lock);
            break;
        }
        void *p = q.items[q.head];
        q.head = (q.head + 1) % QCAP;
        q.len--;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.lock);
        free(p);
        consumed[id]++;
    }
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void check_producers_consumers(void) {
    pthread_t th[2 * PRODUCERS];
    q.producers_left = PRODUCERS;
    pthread_barrier_init(&barrier, NULL, 2 * PRODUCERS + 1);
    for (unsigned i = 0; i < PRODUCERS; i++) {
        pthread_create(&th[i], NULL, producer_main, (void *)(uintptr_t)i);
        pthread_create(&th[PRODUCERS + i], NULL, consumer_main, (void *)(uintptr_t)i);
    }
    pthread_barrier_wait(&barrier); /* ready */
    memgate_counters a = pl_counters();
    pthread_barrier_wait(&barrier); /* go */
    pthread_barrier_wait(&barrier); /* all done */
    memgate_counters b = pl_counters();
    pthread_barrier_wait(&barrier);
    for (unsigned i = 0; i < 2 * PRODUCERS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    int64_t n = 0, bytes = 0;
    for (unsigned i = 0; i < PRODUCERS; i++) {
        n += consumed[i];
        bytes += produced_bytes[i];
    }
    pl_delta d = pl_diff(&a, &b);
    PL_EQ(n, PRODUCERS * PER_PRODUCER);
    PL_DELTA(d, 0, 0);
    PL_EQ(d.allocs, PRODUCERS * PER_PRODUCER);
    PL_EQ(d.frees, PRODUCERS * PER_PRODUCER);
    PL_EQ(d.total_bytes, bytes);
}

int main(void) {
    PL_EQ(memgate_is_tracking(), 1);
    check_concurrent();
    check_cross_thread_free();
    check_producers_consumers();
    return pl_finish("pl_threads");
}
