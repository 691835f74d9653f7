/*
 * CUnit integration for binaries that cannot be taken over by preloading.
 *
 * `memgate run ./tests` needs no code change when the test binary links libcunit
 * dynamically: the preloaded library takes over CU_basic_run_tests() and friends. A
 * binary that links CUnit statically calls memgate_cunit_run() where it would call
 * CU_basic_run_tests(): under `memgate run` the tests then run one per forked child;
 * otherwise it runs CU_basic_run_tests() as usual.
 */
#ifndef MEMGATE_CUNIT_H
#define MEMGATE_CUNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "memgate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The CUnit functions memgate needs, as linked into the calling binary. */
typedef struct memgate_cunit_api {
    CU_pTestRegistry (*get_registry)(void);
    CU_ErrorCode (*run_test)(CU_pSuite, CU_pTest);
    void (*set_test_start_handler)(CU_TestStartMessageHandler);
    void (*set_test_complete_handler)(CU_TestCompleteMessageHandler);
    CU_pFailureRecord (*get_failure_list)(void);
    CU_ErrorCode (*basic_run_tests)(void); /* used when not under memgate */
} memgate_cunit_api;

/* Runs the registry's tests under memgate when the runner started this process, else
 * with api->basic_run_tests. Returns 0, or the CUnit error code of the plain run, or
 * MEMGATE_EINVAL when api lacks a function. */
MEMGATE_API int memgate_cunit_run_with(const memgate_cunit_api *api);

static inline int memgate_cunit_run(void) {
    static const memgate_cunit_api api = {CU_get_registry,
                                          CU_run_test,
                                          CU_set_test_start_handler,
                                          CU_set_test_complete_handler,
                                          CU_get_failure_list,
                                          CU_basic_run_tests};
    return memgate_cunit_run_with(&api);
}

#ifdef __cplusplus
}
#endif
#endif
