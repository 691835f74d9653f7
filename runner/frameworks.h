/*
 * What the runner knows of each test framework memgate has an adapter for (the tested
 * process's side is collector/adapter.h and collector/adapter_<name>.c). The runner
 * learns a binary's tests from its driver's LIST, and which frames are the harness from
 * its H lines, so the only framework knowledge it needs before a binary runs is this:
 * the functions that run a registry (defined in the program itself, the framework is
 * linked statically and the preloaded collector cannot take them over) and memgate's
 * entry point that takes such a program over anyway. A new framework is one row.
 */
#ifndef MEMGATE_RUNNER_FRAMEWORKS_H
#define MEMGATE_RUNNER_FRAMEWORKS_H

#include <stddef.h>

typedef struct mg_framework {
    const char *name;               /* "CUnit" */
    const char *const *run_symbols; /* NULL-terminated: functions that run its registry */
    const char *bridge_symbol;      /* referenced by a program that calls memgate's entry point */
    const char *bridge_hint;        /* how to: "call memgate_cunit_run() from <memgate/cunit.h> ..." */
} mg_framework;

extern const mg_framework mg_frameworks[];
extern const size_t mg_nframeworks;

#endif
