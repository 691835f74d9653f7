/*
 * suite_bench: a CUnit suite of 25 allocation-heavy tests that all pass and leak
 * nothing. It is the workload for timing `memgate run` on a realistic test binary
 * (fork per test, collector on, windows before and after) against a plain run
 * (docs/performance.md, target: `memgate run -j 1` <= 1.3x the plain run).
 * Each test makes tens of thousands to a few million allocations; the heaviest are
 * 2,000,000 malloc/free pairs over 1,024 random slots of 16..512 B (churn_slots), a
 * complete binary tree of depth 20 (tree_depth20: 1,048,575 nodes live at once) and
 * 200,000 reallocs of growing buffers (realloc_grow).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fixtures/fixture.h"

/* ---- Workloads, parameterized -------------------------------------------------------- */
struct lnode {
    struct lnode *next;
    size_t len;
    char data[];
};

/* Builds a list of n nodes of varying size, walks it, frees it. */
static uint64_t list_workload(unsigned n, unsigned spread)
{
    struct lnode *head = NULL;
    for (unsigned i = 0; i < n; i++) {
        size_t len = 8 + (i * 37u) % spread;
        struct lnode *node = malloc(sizeof *node + len);
        if (!node)
            break;
        node->len = len;
        memset(node->data, (int)(i & 0x7f), len);
        node->next = head;
        head = node;
    }
    uint64_t sum = 0;
    while (head) {
        struct lnode *next = head->next;
        sum += head->len + (unsigned char)head->data[0];
        free(head);
        head = next;
    }
    return sum;
}

/* Appends n pieces to a string grown with realloc, repeated rounds times. */
static uint64_t string_workload(unsigned rounds, unsigned n)
{
    uint64_t sum = 0;
    for (unsigned r = 0; r < rounds; r++) {
        char *s = NULL;
        size_t len = 0, cap = 0;
        for (unsigned i = 0; i < n; i++) {
            char piece[24];
            int k = snprintf(piece, sizeof piece, "%u,", i * r);
            if (len + (size_t)k + 1 > cap) {
                cap = cap ? cap * 2 : 8;
                char *grown = realloc(s, cap);
                if (!grown)
                    break;
                s = grown;
            }
            memcpy(s + len, piece, (size_t)k + 1);
            len += (size_t)k;
        }
        sum += len;
        free(s);
    }
    return sum;
}

struct hnode {
    struct hnode *next;
    char *key;
    unsigned value;
};

/* Inserts n string keys into a fixed-size chained table, looks half of them up, frees. */
static uint64_t hash_workload(unsigned n, unsigned nbuckets)
{
    struct hnode **buckets = calloc(nbuckets, sizeof *buckets);
    if (!buckets)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        char key[32];
        int k = snprintf(key, sizeof key, "item-%u", i);
        struct hnode *h = malloc(sizeof *h);
        if (!h)
            break;
        h->key = malloc((size_t)k + 1);
        if (!h->key) {
            free(h);
            break;
        }
        memcpy(h->key, key, (size_t)k + 1);
        h->value = i;
        unsigned b = (i * 2654435761u) % nbuckets;
        h->next = buckets[b];
        buckets[b] = h;
    }
    uint64_t sum = 0;
    for (unsigned b = 0; b < nbuckets; b++) {
        while (buckets[b]) {
            struct hnode *h = buckets[b];
            buckets[b] = h->next;
            sum += h->value + (unsigned char)h->key[5];
            free(h->key);
            free(h);
        }
    }
    free(buckets);
    return sum;
}

struct bnode {
    struct bnode *kid[2];
    unsigned key;
};

static struct bnode *bst_insert(struct bnode *root, unsigned key)
{
    struct bnode **link = &root;
    while (*link)
        link = &(*link)->kid[key > (*link)->key];
    struct bnode *node = calloc(1, sizeof *node);
    if (node)
        node->key = key;
    *link = node;
    return root;
}

static uint64_t bst_free(struct bnode *node)
{
    if (!node)
        return 0;
    uint64_t sum = node->key + bst_free(node->kid[0]) + bst_free(node->kid[1]);
    free(node);
    return sum;
}

/* Builds an unbalanced search tree from a scrambled key sequence, then frees it. */
static uint64_t bst_workload(unsigned n)
{
    struct bnode *root = NULL;
    for (unsigned i = 0; i < n; i++)
        root = bst_insert(root, (i * 2654435761u) ^ (i >> 3));
    return bst_free(root);
}

/* Keeps a pool of `live` blocks and replaces a pseudo-random one n times. */
static uint64_t pool_workload(unsigned n, unsigned live, unsigned max_size)
{
    void **slots = calloc(live, sizeof *slots);
    if (!slots)
        return 0;
    uint64_t x = 88172645463325252ULL, sum = 0;
    for (unsigned i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned slot = (unsigned)(x % live);
        size_t size = 1 + (size_t)((x >> 16) % max_size);
        free(slots[slot]);
        slots[slot] = malloc(size);
        if (slots[slot])
            ((unsigned char *)slots[slot])[0] = (unsigned char)i;
        sum += size;
    }
    for (unsigned i = 0; i < live; i++)
        free(slots[i]);
    free(slots);
    return sum;
}

/* Allocates rows x cols matrices with calloc, multiplies by a vector, frees. */
static uint64_t matrix_workload(unsigned rounds, unsigned rows, unsigned cols)
{
    uint64_t sum = 0;
    for (unsigned r = 0; r < rounds; r++) {
        double **m = malloc(rows * sizeof *m);
        if (!m)
            return sum;
        for (unsigned i = 0; i < rows; i++) {
            m[i] = calloc(cols, sizeof **m);
            if (m[i])
                m[i][i % cols] = (double)(i + r);
        }
        double acc = 0;
        for (unsigned i = 0; i < rows; i++)
            if (m[i])
                acc += m[i][i % cols];
        for (unsigned i = 0; i < rows; i++)
            free(m[i]);
        free(m);
        sum += (uint64_t)acc;
    }
    return sum;
}

/* Few large blocks: rounds of `count` allocations of `size` bytes, touched and freed. */
static uint64_t large_workload(unsigned rounds, unsigned count, size_t size)
{
    uint64_t sum = 0;
    void *blocks[64];
    if (count > 64)
        count = 64;
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < count; i++) {
            unsigned char *p = malloc(size);
            if (p) {
                p[0] = (unsigned char)i;
                p[size - 1] = (unsigned char)r;
            }
            blocks[i] = p;
        }
        for (unsigned i = 0; i < count; i++) {
            if (blocks[i])
                sum += ((unsigned char *)blocks[i])[0];
            free(blocks[i]);
        }
    }
    return sum;
}

/* n malloc/free pairs: each step frees a pseudo-random one of `slots` slots and puts a
 * new block of min..max bytes in it (the allocator's free lists stay busy). */
static uint64_t slots_workload(unsigned n, unsigned slots, unsigned min, unsigned max)
{
    void **slot = calloc(slots, sizeof *slot);
    if (!slot)
        return 0;
    uint64_t x = 0x9E3779B97F4A7C15ULL, sum = 0;
    for (unsigned i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned k = (unsigned)(x % slots);
        size_t size = min + (size_t)((x >> 20) % (max - min + 1));
        free(slot[k]);
        slot[k] = malloc(size);
        if (slot[k])
            ((unsigned char *)slot[k])[size - 1] = (unsigned char)i;
        sum += size;
    }
    for (unsigned i = 0; i < slots; i++)
        free(slot[i]);
    free(slot);
    return sum;
}

struct tnode {
    struct tnode *left, *right;
    uint64_t key;
};

static struct tnode *tree_build(unsigned depth, uint64_t key)
{
    if (!depth)
        return NULL;
    struct tnode *node = malloc(sizeof *node);
    if (!node)
        return NULL;
    node->key = key;
    node->left = tree_build(depth - 1, 2 * key + 1);
    node->right = tree_build(depth - 1, 2 * key + 2);
    return node;
}

static uint64_t tree_free(struct tnode *node)
{
    if (!node)
        return 0;
    uint64_t sum = node->key + tree_free(node->left) + tree_free(node->right);
    free(node);
    return sum;
}

/* A complete binary tree of the given depth (2^depth - 1 nodes), summed and freed. */
static uint64_t tree_workload(unsigned depth)
{
    return tree_free(tree_build(depth, 0)) + 1;
}

/* `nbuf` buffers grown by small steps with realloc, `steps` times each, in an
 * interleaved order (so a realloc often has to move its block): nbuf * steps reallocs. */
static uint64_t realloc_workload(unsigned nbuf, unsigned steps)
{
    char **buf = calloc(nbuf, sizeof *buf);
    size_t *len = calloc(nbuf, sizeof *len);
    if (!buf || !len) {
        free(buf);
        free(len);
        return 0;
    }
    uint64_t sum = 0;
    for (unsigned s = 0; s < steps; s++) {
        for (unsigned b = 0; b < nbuf; b++) {
            size_t grow = 1 + (b * 7u + s) % 24;
            char *p = realloc(buf[b], len[b] + grow);
            if (!p)
                continue;
            memset(p + len[b], (int)(s & 0x7f), grow);
            buf[b] = p;
            len[b] += grow;
        }
    }
    for (unsigned b = 0; b < nbuf; b++) {
        sum += len[b] + (unsigned char)buf[b][0];
        free(buf[b]);
    }
    free(buf);
    free(len);
    return sum;
}

/* n formatted strings duplicated with strdup and kept in an array, then freed. */
static uint64_t strdup_workload(unsigned n)
{
    char **s = malloc(n * sizeof *s);
    if (!s)
        return 0;
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        char tmp[48];
        snprintf(tmp, sizeof tmp, "key-%u/value-%u", i, i * 2654435761u);
        s[i] = strdup(tmp);
    }
    for (unsigned i = 0; i < n; i++) {
        if (s[i])
            sum += strlen(s[i]);
        free(s[i]);
    }
    free(s);
    return sum;
}

/* n aligned blocks (posix_memalign, alignments 16..4096), `live` of them at a time. */
static uint64_t aligned_workload(unsigned n, unsigned live)
{
    void **slot = calloc(live, sizeof *slot);
    if (!slot)
        return 0;
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned k = (i * 40503u) % live;
        size_t align = (size_t)16 << (i % 9);
        size_t size = 16 + (i * 13u) % 2000;
        free(slot[k]);
        slot[k] = NULL;
        if (posix_memalign(&slot[k], align, size) == 0) {
            ((unsigned char *)slot[k])[0] = (unsigned char)i;
            sum += size;
        }
    }
    for (unsigned i = 0; i < live; i++)
        free(slot[i]);
    free(slot);
    return sum;
}

/* ---- Tests ------------------------------------------------------------------------- */
#define BENCH_TEST(name, expr)                                                          \
    static void name(void)                                                              \
    {                                                                                   \
        uint64_t result = (expr);                                                       \
        CU_ASSERT(result > 0);                                                          \
    }

BENCH_TEST(test_list_small, list_workload(50000, 64))
BENCH_TEST(test_list_medium, list_workload(30000, 512))
BENCH_TEST(test_list_large, list_workload(10000, 4096))
BENCH_TEST(test_string_short, string_workload(400, 100))
BENCH_TEST(test_string_long, string_workload(20, 5000))
BENCH_TEST(test_hash_dense, hash_workload(40000, 1024))
BENCH_TEST(test_hash_sparse, hash_workload(20000, 65536))
BENCH_TEST(test_bst_small, bst_workload(20000))
BENCH_TEST(test_bst_large, bst_workload(60000))
BENCH_TEST(test_pool_tiny, pool_workload(100000, 64, 32))
BENCH_TEST(test_pool_small, pool_workload(100000, 1024, 256))
BENCH_TEST(test_pool_mixed, pool_workload(80000, 4096, 4096))
BENCH_TEST(test_pool_wide, pool_workload(60000, 20000, 128))
BENCH_TEST(test_matrix_tall, matrix_workload(20, 2000, 16))
BENCH_TEST(test_matrix_wide, matrix_workload(50, 200, 1000))
BENCH_TEST(test_large_blocks, large_workload(40, 16, 256 * 1024))
BENCH_TEST(test_huge_blocks, large_workload(10, 4, 8 * 1024 * 1024))
BENCH_TEST(test_mixed_list_hash, list_workload(20000, 128) + hash_workload(20000, 4096))
BENCH_TEST(test_mixed_string_bst, string_workload(100, 500) + bst_workload(20000))
BENCH_TEST(test_mixed_pool_matrix, pool_workload(50000, 512, 1024) + matrix_workload(10, 500, 64))
BENCH_TEST(test_churn_slots, slots_workload(2000000, 1024, 16, 512))
BENCH_TEST(test_tree_depth20, tree_workload(20))
BENCH_TEST(test_realloc_grow, realloc_workload(1000, 200))
BENCH_TEST(test_strdup_many, strdup_workload(200000))
BENCH_TEST(test_aligned_blocks, aligned_workload(100000, 256))

int main(int argc, char **argv)
{
    fixture_init();
    CU_pSuite structures = fixture_check_suite(CU_add_suite("bench_structures", NULL, NULL));
    fixture_add(structures, "list_small", test_list_small);
    fixture_add(structures, "list_medium", test_list_medium);
    fixture_add(structures, "list_large", test_list_large);
    fixture_add(structures, "string_short", test_string_short);
    fixture_add(structures, "string_long", test_string_long);
    fixture_add(structures, "hash_dense", test_hash_dense);
    fixture_add(structures, "hash_sparse", test_hash_sparse);
    fixture_add(structures, "bst_small", test_bst_small);
    fixture_add(structures, "bst_large", test_bst_large);
    CU_pSuite patterns = fixture_check_suite(CU_add_suite("bench_patterns", NULL, NULL));
    fixture_add(patterns, "pool_tiny", test_pool_tiny);
    fixture_add(patterns, "pool_small", test_pool_small);
    fixture_add(patterns, "pool_mixed", test_pool_mixed);
    fixture_add(patterns, "pool_wide", test_pool_wide);
    fixture_add(patterns, "matrix_tall", test_matrix_tall);
    fixture_add(patterns, "matrix_wide", test_matrix_wide);
    fixture_add(patterns, "large_blocks", test_large_blocks);
    fixture_add(patterns, "huge_blocks", test_huge_blocks);
    fixture_add(patterns, "mixed_list_hash", test_mixed_list_hash);
    fixture_add(patterns, "mixed_string_bst", test_mixed_string_bst);
    fixture_add(patterns, "mixed_pool_matrix", test_mixed_pool_matrix);
    CU_pSuite heavy = fixture_check_suite(CU_add_suite("bench_heavy", NULL, NULL));
    fixture_add(heavy, "churn_slots", test_churn_slots);
    fixture_add(heavy, "tree_depth20", test_tree_depth20);
    fixture_add(heavy, "realloc_grow", test_realloc_grow);
    fixture_add(heavy, "strdup_many", test_strdup_many);
    fixture_add(heavy, "aligned_blocks", test_aligned_blocks);
    return fixture_run(argc, argv);
}
