/*
 * Tests of the per-block trailers (block.h), measurement windows (window.c) and the
 * capture of exit handlers in a test child (shutdown.c), with the collector linked
 * into this program.
 *
 * What they pin down: malloc_usable_size reports the requested size; a double free and
 * an overwritten trailer reach the misuse hook before the real free; blocks carry the
 * window they were born in, so a window's leak is exactly what it allocated and nobody
 * freed, whatever older blocks it freed; realloc makes a new block of the current
 * window; nested windows keep the enclosing window's peak; exit handlers registered in
 * a child run newest first at the shutdown, and __cxa_finalize runs a library's own.
 */
#include "harness.h"
#include "mgtest.h"

#include <malloc.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block.h"

#if defined(__GNUC__) && !defined(__clang__)
#define CT_NOINLINE __attribute__((noinline, noipa))
#else
#define CT_NOINLINE __attribute__((noinline))
#endif

/* Keeps the compiler from pairing a malloc with its free and dropping both. */
static void *volatile sink;
static void *keep(void *p) {
    sink = p;
    return p;
}

static void setup_tracking(void) { CU_ASSERT_EQUAL_FATAL(memgate_start(NULL), MEMGATE_OK); }

/* ---- trailers ----------------------------------------------------------------------- */
static void test_usable_size_is_requested(void) {
    setup_tracking();
    static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 23, 24, 25, 40, 100, 1000, 4096, 70000, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char *p = keep(malloc(sizes[i]));
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(malloc_usable_size(p), sizes[i]);
        memset(p, 0xAA, sizes[i]); /* the whole requested size is usable */
        p = keep(realloc(p, sizes[i] + 33));
        CU_ASSERT_EQUAL(malloc_usable_size(p), sizes[i] + 33);
        for (size_t k = 0; k < sizes[i]; k++)
            if ((unsigned char)p[k] != 0xAA) {
                CU_FAIL("realloc lost the contents");
                break;
            }
        free(p);
        void *q = NULL;
        CU_ASSERT_EQUAL(posix_memalign(&q, 64, sizes[i]), 0);
        CU_ASSERT_EQUAL((uintptr_t)q % 64, 0);
        CU_ASSERT_EQUAL(malloc_usable_size(q), sizes[i]);
        free(q);
        q = keep(aligned_alloc(256, sizes[i] ? sizes[i] : 1));
        CU_ASSERT_EQUAL((uintptr_t)q % 256, 0);
        free(q);
    }
}

static sigjmp_buf misuse_jump;
static int misuse_kind;
static uintptr_t misuse_ptr;

static void misuse_hook(int kind, uintptr_t p, void *ret) {
    (void)ret;
    misuse_kind = kind;
    misuse_ptr = p;
    siglongjmp(misuse_jump, 1); /* before the real free: the block is never handed back */
}

static void test_double_free_reported(void) {
    setup_tracking();
    mg__g.misuse = misuse_hook;
    void *p = keep(malloc(40));
    misuse_kind = 0;
    free(p);
    CU_ASSERT_EQUAL(misuse_kind, 0);
    if (sigsetjmp(misuse_jump, 1) == 0) free(p);
    mg__g.misuse = NULL;
    CU_ASSERT_EQUAL(misuse_kind, MG_MISUSE_DOUBLE_FREE);
    CU_ASSERT_EQUAL(misuse_ptr, (uintptr_t)p);
}

/* Writes one byte past the end of a block of n bytes and frees it: the misuse hook must
 * see a broken block, before the real free. */
static void overflow_one(size_t n) {
    mg__g.misuse = misuse_hook;
    unsigned char *p = keep(malloc(n));
    memgate_counters before, after;
    memgate_get_counters(&before);
    misuse_kind = 0;
    volatile size_t end = n; /* opaque to the compiler, which knows the block's size */
    unsigned char *volatile vp = p;
    vp[end] ^= 0x5A;
    if (sigsetjmp(misuse_jump, 1) == 0) free(p);
    mg__g.misuse = NULL;
    memgate_get_counters(&after);
    CU_ASSERT_EQUAL(misuse_kind, MG_MISUSE_BAD_TRAILER);
    CU_ASSERT_EQUAL(misuse_ptr, (uintptr_t)p);
    /* The block could not be accounted: it stays in the figures (and is never freed). */
    CU_ASSERT_EQUAL(after.live_bytes, before.live_bytes);
}

static void test_overflow_reported(void) {
    setup_tracking();
    overflow_one(32); /* no slack: the byte after the data is the trailer's */
    overflow_one(24); /* slack: the byte after the data is the canary */
    overflow_one(1000);
}

static void test_untrack_and_internal(void) {
    setup_tracking();
    void *p = keep(malloc(77));
    memgate_counters a, b, c;
    memgate_get_counters(&a);
    mg__untrack((uintptr_t)p);
    memgate_get_counters(&b);
    free(p);
    memgate_get_counters(&c);
    CU_ASSERT_EQUAL(b.live_bytes - a.live_bytes, -77);
    CU_ASSERT_EQUAL(b.live_blocks - a.live_blocks, -1);
    CU_ASSERT_EQUAL(c.live_bytes, b.live_bytes); /* an internal block's free does not count */
    /* Allocations under the guard are internal from the start. */
    memgate_get_counters(&a);
    /* The barriers keep the compiler, which assumes malloc reads no program variable,
     * from dropping or moving the stores to the guard. */
    mg__guard = 1;
    __asm__ volatile("" ::: "memory");
    void *q = keep(malloc(500));
    __asm__ volatile("" ::: "memory");
    mg__guard = 0;
    memgate_get_counters(&b);
    free(q);
    memgate_get_counters(&c);
    CU_ASSERT_EQUAL(b.live_bytes, a.live_bytes);
    CU_ASSERT_EQUAL(c.live_bytes, a.live_bytes);
}

/* ---- windows -------------------------------------------------------------------------- */
static void test_leak_is_not_net(void) {
    setup_tracking();
    void *fixture = keep(malloc(1100)); /* older than the window */
    mg_window w;
    mg__window_open(&w, 1);
    free(fixture);                      /* freeing it must not hide... */
    void *leak = keep(malloc(217));     /* ...this leak */
    void *tmp = keep(malloc(5000));
    free(tmp);
    mg__window_close(&w);
    CU_ASSERT_EQUAL(w.net_bytes, 217 - 1100);
    CU_ASSERT_EQUAL(w.net_blocks, 0);
    CU_ASSERT_EQUAL(w.pending_bytes, 217);
    CU_ASSERT_EQUAL(w.pending_blocks, 1);
    CU_ASSERT_EQUAL(w.peak_bytes, 217 + 5000 - 1100);
    CU_ASSERT_EQUAL(w.allocations, 2);
    CU_ASSERT_EQUAL(mg__win[1].bytes, 217);
    /* Freed after the window (by a suite cleanup, an exit handler): no longer a leak. */
    free(leak);
    CU_ASSERT_EQUAL(mg__win[1].bytes, 0);
    CU_ASSERT_EQUAL(mg__win[1].blocks, 0);
    CU_ASSERT_EQUAL(mg__g.window, 0);
}

static void test_realloc_moves_to_window(void) {
    setup_tracking();
    char *fixture = keep(malloc(100));
    mg_window w;
    mg__window_open(&w, 2);
    fixture = keep(realloc(fixture, 4000)); /* a new allocation of this window */
    mg__window_close(&w);
    CU_ASSERT_EQUAL(w.net_bytes, 3900);
    CU_ASSERT_EQUAL(w.pending_bytes, 4000);
    CU_ASSERT_EQUAL(w.pending_blocks, 1);
    free(fixture);
    CU_ASSERT_EQUAL(mg__win[2].bytes, 0);
}

static void test_nested_windows(void) {
    setup_tracking();
    mg_window suite, test;
    mg__window_open(&suite, 3);
    void *a = keep(malloc(1000)); /* suite init */
    mg__window_open(&test, 4);
    void *b = keep(malloc(8000));
    void *c = keep(malloc(10)); /* the test's leak */
    free(b);
    mg__window_close(&test);
    CU_ASSERT_EQUAL(mg__g.window, 3); /* back to the suite's window */
    void *d = keep(malloc(20)); /* between tests, or the cleanup: the suite's */
    free(a);
    mg__window_close(&suite);
    CU_ASSERT_EQUAL(test.peak_bytes, 8010);
    CU_ASSERT_EQUAL(test.pending_bytes, 10);
    CU_ASSERT_EQUAL(suite.peak_bytes, 9010); /* 1000 + the test's 8010 */
    CU_ASSERT_EQUAL(suite.pending_bytes, 20);
    CU_ASSERT_EQUAL(suite.net_bytes, 30);
    CU_ASSERT_EQUAL(mg__g.window, 0);
    free(c);
    free(d);
    CU_ASSERT_EQUAL(mg__win[3].bytes, 0);
    CU_ASSERT_EQUAL(mg__win[4].bytes, 0);
}

/* ---- exit handlers in a child --------------------------------------------------------- */
static int order[8];
static int norder;
static void handler_a(void *arg) { order[norder++] = (int)(intptr_t)arg; }
static void handler_b(int status, void *arg) {
    (void)status;
    order[norder++] = 100 + (int)(intptr_t)arg;
}
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
void __cxa_finalize(void *dso);

static void exit_reported(int status) { _exit(40 + status); }

/* Runs in a forked child (capturing is for good); exit status 0 = all as expected. */
static int child_handlers(void) {
    static char dso_a, dso_b;
    mg__shutdown_capture(exit_reported);
    __cxa_atexit(handler_a, (void *)1, &dso_a);
    on_exit(handler_b, (void *)2);
    __cxa_atexit(handler_a, (void *)3, &dso_b);
    __cxa_atexit(handler_a, (void *)4, &dso_a);
    if (mg__shutdown_handlers() != 4) return 1;
    __cxa_finalize(&dso_b); /* dlclose of library b: its handler only */
    if (norder != 1 || order[0] != 3) return 2;
    mg__shutdown_run_handlers();
    if (norder != 4 || order[1] != 4 || order[2] != 102 || order[3] != 1) return 3;
    if (mg__shutdown_handlers() != 0) return 4;
    exit(2); /* reported through the hook: never runs libc's handlers */
}

static void test_exit_handlers_kept_and_run(void) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child_handlers());
    int status = -1;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 42);
}

static const mgt_case trailer_cases[] = {{"usable_size_is_requested", test_usable_size_is_requested},
                                         {"double_free_reported", test_double_free_reported},
                                         {"overflow_reported", test_overflow_reported},
                                         {"untrack_and_internal", test_untrack_and_internal},
                                         {NULL, NULL}};
static const mgt_case window_cases[] = {{"leak_is_not_net", test_leak_is_not_net},
                                        {"realloc_moves_to_window", test_realloc_moves_to_window},
                                        {"nested_windows", test_nested_windows},
                                        {NULL, NULL}};
static const mgt_case shutdown_cases[] = {{"exit_handlers_kept_and_run", test_exit_handlers_kept_and_run},
                                          {NULL, NULL}};

MGT_MAIN(if (mgt_add_suite("trailer", trailer_cases) || mgt_add_suite("window", window_cases) ||
             mgt_add_suite("shutdown", shutdown_cases)) return 2;)
