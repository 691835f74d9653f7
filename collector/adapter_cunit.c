/*
 * The CUnit adapter (adapter.h): the only file of memgate that names CUnit.
 *
 * Zero code changes: a binary dynamically linked to libcunit calls CU_basic_run_tests()
 * (or another run function); the preloaded library defines those symbols first, so the
 * call lands here and, under the memgate CLI, the driver takes the run over. A binary
 * with a static CUnit passes its functions through memgate_cunit_run_with().
 *
 * Running one test: CU_run_test() runs the suite's init, the test and the suite's
 * cleanup. The driver calls init and cleanup itself (once per child, around one test or
 * a whole suite), so while a test runs the suite's init and cleanup pointers are set
 * aside and CU_run_test() runs setup, body and teardown only; its test start and
 * complete handlers are the measurement window's edges.
 *
 * CUnit's failure records are CUnit's, not the test's: CU_assertImplementation() is
 * interposed too and lets CUnit allocate the record under the collector's guard, so the
 * record never counts in any figure, peak included. (With a static CUnit that call
 * cannot be intercepted; the records are then taken out of the figures afterwards.)
 */
#include <CUnit/Automated.h>
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <CUnit/Console.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <string.h>

#include "adapter.h"
#include "internal.h"
#include "memgate/cunit.h"

#define EXPORT __attribute__((visibility("default")))

void CU_curses_run_tests(void); /* CUnit/CUCurses.h is not always installed */

/* ---- CUnit entry points, resolved at run time --------------------------------------
 * The library never links libcunit: a binary that does not use CUnit must not load it.
 * With a dynamically linked CUnit the functions are found with dlsym; a binary with a
 * static CUnit passes them through memgate_cunit_run() (memgate/cunit.h). */
static memgate_cunit_api cu;

/* Stores dlsym's answer into a function pointer (POSIX guarantees this works). */
#define LOAD_SYM(dst, handle, name)                                                    \
    do {                                                                               \
        void *sym_ = dlsym(handle, name);                                              \
        memcpy(&(dst), &sym_, sizeof sym_);                                            \
    } while (0)

static int resolve_dynamic(void) {
    if (cu.get_registry) return 0;
    LOAD_SYM(cu.get_registry, RTLD_DEFAULT, "CU_get_registry");
    LOAD_SYM(cu.run_test, RTLD_DEFAULT, "CU_run_test");
    LOAD_SYM(cu.set_test_start_handler, RTLD_DEFAULT, "CU_set_test_start_handler");
    LOAD_SYM(cu.set_test_complete_handler, RTLD_DEFAULT, "CU_set_test_complete_handler");
    LOAD_SYM(cu.get_failure_list, RTLD_DEFAULT, "CU_get_failure_list");
    if (!cu.get_registry || !cu.run_test || !cu.set_test_start_handler ||
        !cu.set_test_complete_handler || !cu.get_failure_list) {
        memset(&cu, 0, sizeof cu);
        return -1;
    }
    return 0;
}

/* ---- the registry, flattened ------------------------------------------------------- */
static CU_pSuite *suite_ptr;
static CU_pTest *test_ptr;
static unsigned *test_suite;
static mg_suite_desc *suite_desc;
static mg_test_desc *test_desc;

static int cu_list(const mg_suite_desc **suites, size_t *nsuites, const mg_test_desc **tests,
                   size_t *ntests) {
    CU_pTestRegistry reg = cu.get_registry();
    size_t ns = 0, nt = 0;
    for (CU_pSuite s = reg ? reg->pSuite : NULL; s; s = s->pNext, ns++)
        for (CU_pTest t = s->pTest; t; t = t->pNext) nt++;
    /* mmap'd, not malloc'd: the driver's bookkeeping must stay out of the figures. */
    suite_ptr = mg__sys_alloc((ns + 1) * sizeof *suite_ptr);
    suite_desc = mg__sys_alloc((ns + 1) * sizeof *suite_desc);
    test_ptr = mg__sys_alloc((nt + 1) * sizeof *test_ptr);
    test_suite = mg__sys_alloc((nt + 1) * sizeof *test_suite);
    test_desc = mg__sys_alloc((nt + 1) * sizeof *test_desc);
    if (!suite_ptr || !suite_desc || !test_ptr || !test_suite || !test_desc) return -1;
    size_t si = 0, ti = 0;
    for (CU_pSuite s = reg ? reg->pSuite : NULL; s; s = s->pNext, si++) {
        suite_ptr[si] = s;
        suite_desc[si] = (mg_suite_desc){s->pName, s->fActive != CU_FALSE,
                                         s->pInitializeFunc != NULL, s->pCleanupFunc != NULL};
        for (CU_pTest t = s->pTest; t; t = t->pNext, ti++) {
            test_ptr[ti] = t;
            test_suite[ti] = (unsigned)si;
            test_desc[ti] = (mg_test_desc){t->pName, (unsigned)si, t->fActive != CU_FALSE};
        }
    }
    *suites = suite_desc;
    *nsuites = ns;
    *tests = test_desc;
    *ntests = nt;
    return 0;
}

static int cu_suite_init(unsigned suite) {
    CU_pSuite s = suite_ptr[suite];
    return s->pInitializeFunc && s->pInitializeFunc() != 0 ? -1 : 0;
}

static int cu_suite_cleanup(unsigned suite) {
    CU_pSuite s = suite_ptr[suite];
    return s->pCleanupFunc && s->pCleanupFunc() != 0 ? -1 : 0;
}

/* ---- running one test ------------------------------------------------------------- */
static const mg_run_hooks *cur_hooks;

static void on_test_start(const CU_pTest test, const CU_pSuite suite) {
    (void)test;
    (void)suite;
    if (cur_hooks && cur_hooks->before) cur_hooks->before(cur_hooks->ctx);
}

static void on_test_complete(const CU_pTest test, const CU_pSuite suite,
                             const CU_pFailureRecord failure) {
    (void)test;
    (void)suite;
    (void)failure;
    if (cur_hooks && cur_hooks->after) cur_hooks->after(cur_hooks->ctx);
}

static void cu_run_test(unsigned test, const mg_run_hooks *hooks) {
    CU_pSuite s = suite_ptr[test_suite[test]];
    CU_InitializeFunc init = s->pInitializeFunc;
    CU_CleanupFunc cleanup = s->pCleanupFunc;
    s->pInitializeFunc = NULL;
    s->pCleanupFunc = NULL;
    cur_hooks = hooks;
    cu.set_test_start_handler(on_test_start);
    cu.set_test_complete_handler(on_test_complete);
    cu.run_test(s, test_ptr[test]);
    cur_hooks = NULL;
    s->pInitializeFunc = init;
    s->pCleanupFunc = cleanup;
}

static void cu_failures(void (*fn)(const mg_failure_rec *f, void *ctx), void *ctx) {
    for (CU_pFailureRecord f = cu.get_failure_list(); f; f = f->pNext) {
        mg_failure_rec r = {
            f->type == CUF_AssertFailed           ? "assert"
            : f->type == CUF_SuiteInitFailed      ? "suite-init"
            : f->type == CUF_SuiteCleanupFailed   ? "suite-cleanup"
            : f->type == CUF_TestInactive         ? "inactive"
                                                  : "other",
            f->uiLineNumber, f->strFileName, f->strCondition};
        fn(&r, ctx);
    }
}

static void cu_untrack_failures(void) {
    for (CU_pFailureRecord f = cu.get_failure_list(); f; f = f->pNext) {
        mg__untrack((uintptr_t)f);
        if (f->strFileName) mg__untrack((uintptr_t)f->strFileName);
        if (f->strCondition) mg__untrack((uintptr_t)f->strCondition);
    }
}

/* CUnit's runner functions and libcunit itself: what a traceback loses at its outer end. */
static const char *const harness_functions[] = {"CU_*", "run_single_test", "run_single_suite",
                                                NULL};
static const char *const harness_modules[] = {"libcunit.so*", NULL};

static const mg_adapter cunit_adapter = {
    .name = "cunit",
    .list = cu_list,
    .suite_init = cu_suite_init,
    .suite_cleanup = cu_suite_cleanup,
    .run_test = cu_run_test,
    .failures = cu_failures,
    .untrack_failures = cu_untrack_failures,
    .harness_functions = harness_functions,
    .harness_modules = harness_modules,
};

static int take_over(void) {
    if (!cu.get_registry && resolve_dynamic() != 0) return 0;
    return mg__driver_take_over(&cunit_adapter);
}

/* ---- the failure records, kept out of the figures ---------------------------------- */
EXPORT CU_BOOL CU_assertImplementation(CU_BOOL value, unsigned int line, const char *condition,
                                       const char *file, const char *function, CU_BOOL fatal) {
    static CU_BOOL (*next)(CU_BOOL, unsigned int, const char *, const char *, const char *,
                           CU_BOOL);
    static CU_pTest (*current_test)(void);
    if (!next) {
        LOAD_SYM(current_test, RTLD_NEXT, "CU_get_current_test");
        LOAD_SYM(next, RTLD_NEXT, "CU_assertImplementation");
        if (!next) return value;
    }
    /* The record is allocated under the guard (internal); a fatal failure's longjmp is
     * made here, after the guard is released, instead of inside CUnit. */
    int outer = !mg__guard;
    mg__guard = 1;
    next(value, line, condition, file, function, CU_FALSE);
    if (outer) mg__guard = 0;
    if (value == CU_FALSE && fatal == CU_TRUE && current_test) {
        CU_pTest t = current_test();
        if (t && t->pJumpBuf) longjmp(*t->pJumpBuf, 1);
    }
    return value;
}

/* ---- the interposed CUnit run functions ---------------------------------------------- */
#define FORWARD(ret_type, name)                                                         \
    ret_type (*next_)(void);                                                           \
    LOAD_SYM(next_, RTLD_NEXT, #name);

EXPORT CU_ErrorCode CU_basic_run_tests(void) {
    if (take_over()) return CUE_SUCCESS;
    FORWARD(CU_ErrorCode, CU_basic_run_tests)
    return next_ ? next_() : CUE_NOREGISTRY;
}

EXPORT CU_ErrorCode CU_run_all_tests(void) {
    if (take_over()) return CUE_SUCCESS;
    FORWARD(CU_ErrorCode, CU_run_all_tests)
    return next_ ? next_() : CUE_NOREGISTRY;
}

EXPORT void CU_console_run_tests(void) {
    if (take_over()) return;
    FORWARD(void, CU_console_run_tests)
    if (next_) next_();
}

EXPORT void CU_automated_run_tests(void) {
    if (take_over()) return;
    FORWARD(void, CU_automated_run_tests)
    if (next_) next_();
}

EXPORT void CU_curses_run_tests(void) {
    if (take_over()) return;
    FORWARD(void, CU_curses_run_tests)
    if (next_) next_();
}

EXPORT int memgate_cunit_run_with(const memgate_cunit_api *api) {
    if (!api || !api->get_registry || !api->run_test || !api->set_test_start_handler ||
        !api->set_test_complete_handler || !api->get_failure_list)
        return MEMGATE_EINVAL;
    if (!cu.get_registry) cu = *api;
    if (take_over()) return 0;
    return api->basic_run_tests ? api->basic_run_tests() : 0;
}
