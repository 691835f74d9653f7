/* The frameworks the runner knows (frameworks.h). */
#include "frameworks.h"

static const char *const cunit_run[] = {"CU_basic_run_tests", "CU_automated_run_tests", "CU_console_run_tests",
                                        "CU_curses_run_tests", "CU_run_all_tests", NULL};

const mg_framework mg_frameworks[] = {
    {"CUnit", cunit_run, "memgate_cunit_run_with",
     "call memgate_cunit_run() from <memgate/cunit.h> where it calls CU_basic_run_tests()"},
};
const size_t mg_nframeworks = sizeof mg_frameworks / sizeof mg_frameworks[0];
