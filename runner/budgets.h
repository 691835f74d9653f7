/*
 * Budgets: built-in defaults < CLI options < budgets file "defaults" < budgets file
 * "tests" entries (an exact "suite/test" key beats a glob; among globs the longest
 * pattern wins, then the first in the file) < in-code MEMGATE_BUDGET annotation.
 * Every resolved limit records its source and origin for the JSON report.
 */
#ifndef MEMGATE_RUNNER_BUDGETS_H
#define MEMGATE_RUNNER_BUDGETS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define MG_LIMIT_UNSET (-2LL) /* "not given at this level" */

/* Limits given on the command line (MG_LIMIT_UNSET when an option was not given). */
typedef struct mg_cli_limits {
    int64_t leak_bytes, object_growth, peak_bytes;
} mg_cli_limits;

typedef struct mg_budget_file mg_budget_file;

/* Loads and validates a budgets file. Values: integer bytes/counts, SIZE strings
 * ("2 MiB") for byte limits, null or "unlimited" for no limit. Unknown keys, wrong
 * types, negative numbers and bad sizes are errors: err gets a message naming the
 * file, the key path and the value, e.g.
 *   budgets.json: tests["cache/..."].leak_bytes: "2 MiX" is not a size (try 4096, 4KiB, 8 MiB)
 * Returns 0, or -1 with err filled. */
int mg_budgets_load(const char *path, mg_budget_file **out, char *err, size_t errlen);
void mg_budgets_free(mg_budget_file *bf);

/* Resolves the limits for suite/test from built-in defaults (leak 0, growth 0, peak
 * unlimited), cli (may be NULL) and bf (may be NULL). out's origin strings are heap
 * copies owned by out (free with mg_budget_free_contents). */
void mg_budgets_resolve(const mg_budget_file *bf, const mg_cli_limits *cli,
                        const char *suite, const char *test, mg_budget *out);

/* Applies an in-code annotation on top: fields equal to MG_LIMIT_UNSET are left alone;
 * MG_UNLIMITED (-1) lifts a limit. origin becomes "FILE:LINE". */
void mg_budget_apply_annotation(mg_budget *b, int64_t leak_bytes, int64_t object_growth,
                                int64_t peak_bytes, const char *file, unsigned line);

/* MG_VIOL_* bits of the limits that the figures break (a limit of N allows <= N). */
unsigned mg_budget_check(const mg_budget *b, int64_t leaked_bytes, int64_t object_growth,
                         int64_t peak_bytes);

void mg_budget_free_contents(mg_budget *b);
void mg_budget_copy(mg_budget *dst, const mg_budget *src);

#endif
