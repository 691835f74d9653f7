/*
 * alloc_bench: allocation workloads for measuring the collector's overhead.
 *
 *   alloc_bench churn [N]  N malloc/free pairs (default 5,000,000), each made at the
 *                          bottom of a 15-frame chain of distinct non-inlined functions,
 *                          sizes 16..256 bytes, at most 256 blocks live.
 *   alloc_bench tree [N]   builds a balanced binary tree of N nodes (default 1,000,000)
 *                          recursively -- every node is allocated under a different call
 *                          stack, since left and right children come from different call
 *                          sites -- then frees it. N blocks are live at the peak.
 *   alloc_bench mix [N]    N operations (default 1,000,000) of a realistic mixture:
 *                          a chained hash map with string keys, per-entry strings grown
 *                          with realloc, per-entry int arrays, short-lived formatted
 *                          messages, deletes, frees in a scrambled order.
 *
 * Prints one line on stdout:
 *   alloc_bench mode=M n=N elapsed_s=S allocs=A peak_live_blocks=L checksum=C
 * where elapsed_s covers the workload only (not process start-up or exit), allocs counts
 * the allocation calls the workload made (malloc, calloc, realloc), and peak_live_blocks
 * the most blocks it held at once. Built with -O2 -g -fno-omit-frame-pointer so that a
 * frame-pointer unwinder sees every frame.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* noclone keeps GCC from specializing a function into a differently named copy; clang
 * has no such pass and no such attribute. */
#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

static uint64_t g_allocs;
static uint64_t g_live, g_peak_live;

static void note_alloc(void)
{
    g_allocs++;
    if (++g_live > g_peak_live)
        g_peak_live = g_live;
}

static void note_free(void)
{
    g_live--;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "alloc_bench: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    note_alloc();
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Small, fast, deterministic generator (xorshift64*). */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- churn ------------------------------------------------------------------------ */
enum { CHURN_RING = 256 };

struct churn_state {
    void *ring[CHURN_RING];
    uint64_t i;
    uint64_t rng;
    uint64_t sum;
};

/* The bottom of the chain: frees the oldest block of its ring slot, allocates a new one. */
static NOINLINE uint64_t churn_leaf(struct churn_state *st)
{
    unsigned slot = (unsigned)(st->i % CHURN_RING);
    if (st->ring[slot]) {
        free(st->ring[slot]);
        note_free();
    }
    size_t size = 16 + (size_t)(rng_next(&st->rng) % 241); /* 16..256 */
    unsigned char *p = xmalloc(size);
    p[0] = (unsigned char)st->i;
    p[size - 1] = (unsigned char)size;
    st->ring[slot] = p;
    st->sum += size;
    return size;
}

/* Fourteen distinct functions above the leaf. Each does work after its call, so none
 * of the calls can become a tail call and every frame stays on the stack. */
#define CHURN_LINK(name, next, salt)                                                   \
    static NOINLINE uint64_t name(struct churn_state *st)                              \
    {                                                                                  \
        uint64_t r = next(st);                                                         \
        __asm__ volatile("" : "+r"(r));                                                \
        return r ^ (salt);                                                             \
    }
CHURN_LINK(churn_14, churn_leaf, 14)
CHURN_LINK(churn_13, churn_14, 13)
CHURN_LINK(churn_12, churn_13, 12)
CHURN_LINK(churn_11, churn_12, 11)
CHURN_LINK(churn_10, churn_11, 10)
CHURN_LINK(churn_09, churn_10, 9)
CHURN_LINK(churn_08, churn_09, 8)
CHURN_LINK(churn_07, churn_08, 7)
CHURN_LINK(churn_06, churn_07, 6)
CHURN_LINK(churn_05, churn_06, 5)
CHURN_LINK(churn_04, churn_05, 4)
CHURN_LINK(churn_03, churn_04, 3)
CHURN_LINK(churn_02, churn_03, 2)
CHURN_LINK(churn_01, churn_02, 1)

static NOINLINE uint64_t run_churn(uint64_t n)
{
    struct churn_state st;
    memset(&st, 0, sizeof st);
    st.rng = 0x9E3779B97F4A7C15ULL;
    uint64_t x = 0;
    for (st.i = 0; st.i < n; st.i++)
        x += churn_01(&st);
    for (unsigned i = 0; i < CHURN_RING; i++) {
        if (st.ring[i]) {
            free(st.ring[i]);
            note_free();
        }
    }
    return x ^ st.sum;
}

/* ---- tree ------------------------------------------------------------------------- */
struct tnode {
    struct tnode *left, *right;
    uint64_t key;
    unsigned char payload[];
};

/* Builds a balanced tree of n nodes. The two recursive calls are different call sites,
 * so the stack under which a node is allocated encodes its path from the root. */
static NOINLINE struct tnode *tree_build(uint64_t n, uint64_t key)
{
    if (n == 0)
        return NULL;
    size_t extra = (size_t)(key % 17);
    struct tnode *node = xmalloc(sizeof *node + extra);
    node->key = key;
    if (extra)
        node->payload[0] = (unsigned char)key;
    uint64_t nl = (n - 1) / 2;
    node->left = tree_build(nl, key * 2 + 1);
    node->right = tree_build(n - 1 - nl, key * 2 + 2);
    return node;
}

static NOINLINE uint64_t tree_free(struct tnode *node)
{
    if (!node)
        return 0;
    uint64_t sum = node->key;
    sum += tree_free(node->left);
    sum += tree_free(node->right);
    free(node);
    note_free();
    return sum;
}

static NOINLINE uint64_t run_tree(uint64_t n)
{
    struct tnode *root = tree_build(n, 0);
    return tree_free(root);
}

/* ---- mix -------------------------------------------------------------------------- */
struct strbuf {
    char *data;
    size_t len, cap;
};

struct intvec {
    int *data;
    size_t len, cap;
};

struct entry {
    struct entry *next;
    char *key;
    uint64_t hash;
    struct strbuf text;
    struct intvec values;
};

struct map {
    struct entry **buckets;
    size_t nbuckets, count;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static NOINLINE void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap * 2 : 16;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *data = realloc(sb->data, cap);
        if (!data) {
            fprintf(stderr, "alloc_bench: out of memory\n");
            exit(2);
        }
        if (!sb->data)
            note_alloc();
        else
            g_allocs++;
        sb->data = data;
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

static NOINLINE void intvec_push(struct intvec *v, int x)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap + v->cap / 2 + 1 : 4;
        int *data = realloc(v->data, cap * sizeof *data);
        if (!data) {
            fprintf(stderr, "alloc_bench: out of memory\n");
            exit(2);
        }
        if (!v->data)
            note_alloc();
        else
            g_allocs++;
        v->data = data;
        v->cap = cap;
    }
    v->data[v->len++] = x;
}

static NOINLINE void map_grow(struct map *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
    struct entry **buckets = calloc(nb, sizeof *buckets);
    if (!buckets) {
        fprintf(stderr, "alloc_bench: out of memory\n");
        exit(2);
    }
    note_alloc();
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            size_t b = (size_t)(e->hash & (nb - 1));
            e->next = buckets[b];
            buckets[b] = e;
            e = next;
        }
    }
    if (m->buckets) {
        free(m->buckets);
        note_free();
    }
    m->buckets = buckets;
    m->nbuckets = nb;
}

static NOINLINE struct entry *map_get_or_add(struct map *m, const char *key)
{
    uint64_t h = hash_str(key);
    if (m->nbuckets) {
        for (struct entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
            if (e->hash == h && strcmp(e->key, key) == 0)
                return e;
    }
    if (m->count + 1 > m->nbuckets * 3 / 4)
        map_grow(m);
    struct entry *e = xmalloc(sizeof *e);
    memset(e, 0, sizeof *e);
    size_t n = strlen(key) + 1;
    e->key = xmalloc(n);
    memcpy(e->key, key, n);
    e->hash = h;
    size_t b = (size_t)(h & (m->nbuckets - 1));
    e->next = m->buckets[b];
    m->buckets[b] = e;
    m->count++;
    return e;
}

static void entry_free(struct entry *e)
{
    if (e->text.data) {
        free(e->text.data);
        note_free();
    }
    if (e->values.data) {
        free(e->values.data);
        note_free();
    }
    free(e->key);
    note_free();
    free(e);
    note_free();
}

static NOINLINE int map_remove(struct map *m, const char *key)
{
    if (!m->nbuckets)
        return 0;
    uint64_t h = hash_str(key);
    struct entry **link = &m->buckets[h & (m->nbuckets - 1)];
    for (; *link; link = &(*link)->next) {
        struct entry *e = *link;
        if (e->hash == h && strcmp(e->key, key) == 0) {
            *link = e->next;
            entry_free(e);
            m->count--;
            return 1;
        }
    }
    return 0;
}

static void map_clear(struct map *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        while (m->buckets[i]) {
            struct entry *e = m->buckets[i];
            m->buckets[i] = e->next;
            entry_free(e);
        }
    }
    if (m->buckets) {
        free(m->buckets);
        note_free();
    }
    memset(m, 0, sizeof *m);
}

/* A short-lived message, kept for a while in a ring and freed when a random slot is
 * reused, so frees happen in a scrambled order. */
static NOINLINE char *make_message(uint64_t i, uint64_t r)
{
    size_t n = 24 + (size_t)(r % 200);
    char *msg = xmalloc(n);
    snprintf(msg, n, "event %" PRIu64 " code %" PRIu64 " ", i, r % 1000);
    return msg;
}

enum { MIX_PENDING = 1024 };

static NOINLINE uint64_t run_mix(uint64_t n)
{
    struct map m = {0};
    char *pending[MIX_PENDING] = {0};
    uint64_t rng = 0xD1B54A32D192ED03ULL, sum = 0;
    uint64_t keyspace = n / 8 + 16;
    char key[32];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&rng);
        unsigned op = (unsigned)(r % 100);
        snprintf(key, sizeof key, "key:%" PRIu64, (r >> 8) % keyspace);
        if (op < 40) {
            struct entry *e = map_get_or_add(&m, key);
            strbuf_append(&e->text, key, strlen(key));
            sum += e->text.len;
        } else if (op < 65) {
            struct entry *e = map_get_or_add(&m, key);
            intvec_push(&e->values, (int)(r >> 32));
            sum += e->values.len;
        } else if (op < 85) {
            sum += (uint64_t)map_remove(&m, key);
        } else {
            unsigned slot = (unsigned)((r >> 20) % MIX_PENDING);
            if (pending[slot]) {
                sum += (unsigned char)pending[slot][0];
                free(pending[slot]);
                note_free();
            }
            pending[slot] = make_message(i, r >> 16);
        }
    }
    for (unsigned i = 0; i < MIX_PENDING; i++) {
        if (pending[i]) {
            free(pending[i]);
            note_free();
        }
    }
    sum += m.count;
    map_clear(&m);
    return sum;
}

/* ---- main ------------------------------------------------------------------------- */
static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s churn|tree|mix [N]\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return usage(argv[0]);
    const char *mode = argv[1];
    uint64_t n;
    uint64_t (*work)(uint64_t);
    if (strcmp(mode, "churn") == 0) {
        work = run_churn;
        n = 5000000;
    } else if (strcmp(mode, "tree") == 0) {
        work = run_tree;
        n = 1000000;
    } else if (strcmp(mode, "mix") == 0) {
        work = run_mix;
        n = 1000000;
    } else {
        return usage(argv[0]);
    }
    if (argc == 3) {
        char *end;
        unsigned long long v = strtoull(argv[2], &end, 10);
        if (*end || v == 0)
            return usage(argv[0]);
        n = v;
    }
    double t0 = now_s();
    uint64_t checksum = work(n);
    double elapsed = now_s() - t0;
    printf("alloc_bench mode=%s n=%" PRIu64 " elapsed_s=%.6f allocs=%" PRIu64
           " peak_live_blocks=%" PRIu64 " checksum=%" PRIu64 "\n",
           mode, n, elapsed, g_allocs, g_peak_live, checksum);
    return g_live == 0 ? 0 : 1;
}
