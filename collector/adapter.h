/*
 * The test-framework adapter: what the driver needs from a test framework, and nothing
 * more. CUnit is the first adapter (adapter_cunit.c, the only file that names CUnit);
 * another framework is one more file filling an mg_adapter and calling
 * mg__driver_take_over() from wherever that framework starts its run.
 *
 * Everything an adapter hands out stays valid for the life of the process and is made
 * without malloc where the framework allows (the driver's own memory must not show up
 * in a test's figures).
 */
#ifndef MEMGATE_COLLECTOR_ADAPTER_H
#define MEMGATE_COLLECTOR_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mg_suite_desc {
    const char *name;
    bool active;
    bool has_init, has_cleanup;
} mg_suite_desc;

typedef struct mg_test_desc {
    const char *name;
    unsigned suite; /* index into the suites */
    bool active;
} mg_test_desc;

/* Called by the adapter right before a test's setup and right after its teardown: the
 * measurement window. */
typedef struct mg_run_hooks {
    void (*before)(void *ctx);
    void (*after)(void *ctx);
    void *ctx;
} mg_run_hooks;

/* One failure the framework recorded while a test ran (an assertion). */
typedef struct mg_failure_rec {
    const char *kind; /* "assert", or another word for the framework's own records */
    unsigned line;
    const char *file, *condition;
} mg_failure_rec;

typedef struct mg_adapter {
    const char *name; /* "cunit" */
    /* The registry in registry order; 0, or -1 when there is none. */
    int (*list)(const mg_suite_desc **suites, size_t *nsuites, const mg_test_desc **tests,
                size_t *ntests);
    /* The suite's init / cleanup function: 0 when it succeeded or there is none. */
    int (*suite_init)(unsigned suite);
    int (*suite_cleanup)(unsigned suite);
    /* Runs test (setup, body, teardown) in this process; hooks may be NULL (warm-up). */
    void (*run_test)(unsigned test, const mg_run_hooks *hooks);
    /* Calls fn for each failure the last run_test recorded. */
    void (*failures)(void (*fn)(const mg_failure_rec *f, void *ctx), void *ctx);
    /* Keeps the records of the last run out of the figures, if run_test could not keep
     * them out while they were made (may be NULL). */
    void (*untrack_failures)(void);
    /* fnmatch globs naming the framework's own frames, NULL-terminated: the CLI trims
     * them from tracebacks. */
    const char *const *harness_functions;
    const char *const *harness_modules;
} mg_adapter;

/* Runs the tests of adapter a under the memgate CLI when this process was started by
 * it: lists the registry, then forks a child per command. Returns 1 when it did (the
 * caller must not run the framework itself), 0 when not under the CLI. */
int mg__driver_take_over(const mg_adapter *a);

/* 1 when this process talks to the memgate CLI (it was started by it). */
bool mg__driver_active(void);

#endif
