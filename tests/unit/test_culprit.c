/*
 * Tests of runner/culprit.c: which frame a one-line summary names (the runtime, allocator
 * wrappers named by --alloc-fn and system libraries are skipped), the system-library
 * rule, and grouping by traceback, function, line and file.
 */
#include "mgtest.h"

#include <stdlib.h>
#include <string.h>

#include "culprit.h"

static mg_frame fr(const char *fn, const char *file, unsigned line, const char *module) {
    return (mg_frame){(char *)fn, (char *)file, line, (char *)module, 0x1000u + line};
}

static void test_system_modules(void) {
    CU_ASSERT_TRUE(mg_trace_system_module("/usr/lib/x86_64-linux-gnu/libcjson.so.1"));
    CU_ASSERT_TRUE(mg_trace_system_module("/lib/x86_64-linux-gnu/libssl.so.3"));
    CU_ASSERT_TRUE(mg_trace_system_module("/usr/lib64/libz.so"));
    CU_ASSERT_FALSE(mg_trace_system_module("/home/me/proj/build/libproj.so"));
    CU_ASSERT_FALSE(mg_trace_system_module("/usr/local/lib/libmine.so"));
    CU_ASSERT_FALSE(mg_trace_system_module("/usr/library/x.so"));
    CU_ASSERT_FALSE(mg_trace_system_module(NULL));
}

static void test_culprit_skips_runtime_and_system(void) {
    mg_frame f[] = {
        fr("__strdup", "strdup.c", 42, "/lib/x86_64-linux-gnu/libc.so.6"),
        fr("CRYPTO_zalloc", "mem.c", 10, "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"),
        fr("project_fn", "p.c", 7, "/build/t"),
        fr("test_fn", "t.c", 3, "/build/t"),
    };
    CU_ASSERT_EQUAL(mg_trace_culprit(f, 4, NULL, 0), 2);
    /* Nothing of the project's own: the first frame outside the runtime. */
    CU_ASSERT_EQUAL(mg_trace_culprit(f, 2, NULL, 0), 1);
    /* Only the runtime: frame 0. */
    CU_ASSERT_EQUAL(mg_trace_culprit(f, 1, NULL, 0), 0);
    /* The project's own library outside the system directories is the project's. */
    mg_frame g[] = {fr("lib_make", "lib.c", 5, "/build/libproj.so"), fr("test_fn", "t.c", 3, "/build/t")};
    CU_ASSERT_EQUAL(mg_trace_culprit(g, 2, NULL, 0), 0);
}

static void test_culprit_alloc_functions(void) {
    mg_frame f[] = {
        fr("xmalloc", "util.c", 20, "/build/t"),
        fr("mosquitto__calloc", "mem.c", 30, "/build/t"),
        fr("make_name", "n.c", 5, "/build/t"),
    };
    const char *globs1[] = {"xmalloc"};
    CU_ASSERT_EQUAL(mg_trace_culprit(f, 3, globs1, 1), 1);
    const char *globs2[] = {"xmalloc", "mosquitto__*"};
    CU_ASSERT_EQUAL(mg_trace_culprit(f, 3, globs2, 2), 2);
    CU_ASSERT_EQUAL(mg_trace_culprit(f, 3, NULL, 0), 0);
}

/* An entry of two frames: the culprit is frames[0]. */
static mg_entry entry(int64_t size, int64_t count, const char *fn, const char *file, unsigned line,
                      const char *caller) {
    mg_entry e = {0};
    e.size = e.size_diff = size;
    e.count = e.count_diff = count;
    e.nframes = 2;
    e.frames = calloc(2, sizeof *e.frames);
    e.frames[0] = (mg_frame){strdup(fn), strdup(file), line, strdup("/build/t"), 0x100u + line};
    e.frames[1] = (mg_frame){strdup(caller), strdup("t.c"), 9, strdup("/build/t"), 0x900u + (unsigned char)caller[5]};
    return e;
}

static void test_grouping(void) {
    /* One allocation site reached from three callers, another site, another function. */
    mg_entry in[] = {entry(300, 3, "cache_put", "cache.c", 51, "test_a"),
                     entry(200, 2, "cache_put", "cache.c", 51, "test_b"),
                     entry(100, 1, "cache_put", "cache.c", 60, "test_c"),
                     entry(50, 1, "key_copy", "cache.c", 70, "test_a")};
    mg_entry *g;
    size_t n;
    mg_group_entries(in, 4, MG_GROUP_LINE, &g, &n);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(g[0].size_diff, 500);
    CU_ASSERT_EQUAL(g[0].count_diff, 5);
    CU_ASSERT_STRING_EQUAL(g[0].frames[1].function, "test_a"); /* the largest member's traceback */
    CU_ASSERT_EQUAL(g[1].size_diff, 100);
    CU_ASSERT_EQUAL(g[2].size_diff, 50);
    for (size_t i = 0; i < n; i++) mg_entry_free_contents(&g[i]);
    free(g);
    mg_group_entries(in, 4, MG_GROUP_FUNCTION, &g, &n);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(g[0].size_diff, 600);
    CU_ASSERT_STRING_EQUAL(g[1].frames[0].function, "key_copy");
    for (size_t i = 0; i < n; i++) mg_entry_free_contents(&g[i]);
    free(g);
    mg_group_entries(in, 4, MG_GROUP_FILE, &g, &n);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(g[0].size_diff, 650);
    CU_ASSERT_EQUAL(g[0].count_diff, 7);
    for (size_t i = 0; i < n; i++) mg_entry_free_contents(&g[i]);
    free(g);
    mg_group_entries(in, 4, MG_GROUP_TRACEBACK, &g, &n);
    CU_ASSERT_EQUAL(n, 4);
    for (size_t i = 0; i < n; i++) mg_entry_free_contents(&g[i]);
    free(g);
    for (size_t i = 0; i < 4; i++) mg_entry_free_contents(&in[i]);
    mg_group_by by;
    CU_ASSERT_EQUAL(mg_group_by_parse("line", &by), 0);
    CU_ASSERT_EQUAL(by, MG_GROUP_LINE);
    CU_ASSERT_EQUAL(mg_group_by_parse("traceback", &by), 0);
    CU_ASSERT_EQUAL(by, MG_GROUP_TRACEBACK);
    CU_ASSERT_EQUAL(mg_group_by_parse("lines", &by), -1);
}

static void test_resolve_gap_and_offsets(void) {
    /* No module map: frames stay unresolved, the gap marker becomes a readable frame. */
    uint64_t ips[] = {0x401000, 0xFFFF000000000000ull | 37, 0x402000};
    mg_frame *f;
    size_t n, culprit;
    mg_trace_resolve("MOD 400000 400000 500000 /nonexistent/bin\n", ips, 3, NULL, &f, &n, &culprit);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(f[1].function, "... 37 frames ...");
    CU_ASSERT_EQUAL(f[0].address, 0x1000); /* a module offset */
    CU_ASSERT_STRING_EQUAL(f[0].module, "/nonexistent/bin");
    mg_entry e = {.frames = f, .nframes = n};
    mg_entry_free_contents(&e);
    mg_trace_cache_free();
}

static const mgt_case cases[] = {{"system_modules", test_system_modules},
                                 {"culprit_skips_runtime_and_system", test_culprit_skips_runtime_and_system},
                                 {"culprit_alloc_functions", test_culprit_alloc_functions},
                                 {"grouping", test_grouping},
                                 {"resolve_gap_and_offsets", test_resolve_gap_and_offsets},
                                 {NULL, NULL}};

MGT_MAIN(if (mgt_add_suite("culprit", cases)) return 2;)
