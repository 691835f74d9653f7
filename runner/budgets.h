/*
 * Budgets: built-in defaults < CLI options < budgets file "defaults" < budgets file
 * "tests" entries (an exact "suite/test" key beats a glob; among globs the longest
 * pattern wins, then the first in the file) < in-code MEMGATE_BUDGET annotation.
 * Every resolved limit records its source and origin for the JSON report.
 *
 * Every metric with a budget key in the metric table (metrics.h) is a limit here: a key
 * of the budgets file, a CLI option, an annotation field. The budgets file also carries
 * per-test settings that are not limits ("warmups", "isolation", "alloc_functions",
 * "repeat"), resolved by the same precedence into mg_budget.settings.
 */
#ifndef MEMGATE_RUNNER_BUDGETS_H
#define MEMGATE_RUNNER_BUDGETS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "util.h"

#define MG_LIMIT_UNSET (-2LL) /* "not given at this level" */

/* What the command line gave; start from mg_cli_limits_init (everything unset). */
typedef struct mg_cli_limits {
    int64_t v[MG_M_COUNT];              /* per metric; MG_LIMIT_UNSET when not given */
    int64_t warmups;                    /* --warmups N; MG_LIMIT_UNSET when not given */
    int isolation;                      /* --isolation: an mg_isolation, -1 when not given */
    int64_t repeat;                     /* >= 1; MG_LIMIT_UNSET when not given */
    const char *const *alloc_functions; /* --alloc-fn globs (borrowed); NULL when none */
    size_t nalloc_functions;
} mg_cli_limits;

/* Marks every limit and setting of cli as not given. */
void mg_cli_limits_init(mg_cli_limits *cli);

typedef struct mg_budget_file mg_budget_file;

/* Loads and validates a budgets file. Limit values: whole numbers up to
 * 9223372036854775807 (exact), SIZE strings ("2 MiB") for byte limits, null or
 * "unlimited" for no limit. Settings: "warmups" a whole number >= 0, "repeat" a whole
 * number >= 1, "isolation" "test" or "suite", "alloc_functions" an array of glob
 * strings. Unknown keys, wrong types, negative numbers and bad sizes are errors: err
 * gets a message naming the file, the key path and the value, e.g.
 *   budgets.json: tests["cache/..."].leak_bytes: "2 MiX" is not a size (try 4096, 4KiB, 8 MiB)
 * Returns 0, or -1 with err filled. */
int mg_budgets_load(const char *path, mg_budget_file **out, char *err, size_t errlen);
void mg_budgets_free(mg_budget_file *bf);

/* Resolves the limits and settings for suite/test from built-in defaults (the metric
 * table's, e.g. leak 0, growth 0, peak unlimited), cli (may be NULL) and bf (may be
 * NULL). Every field is resolved on its own: a level that does not mention it leaves it
 * to the level below. A list (alloc_functions) is replaced, not extended, by a higher
 * level. out's strings are heap copies owned by out (free with mg_budget_free_contents);
 * out is overwritten without being freed. Every suite/test resolved is also recorded in
 * bf, with the "tests" keys it matched, for mg_budgets_unmatched. */
void mg_budgets_resolve(const mg_budget_file *bf, const mg_cli_limits *cli,
                        const char *suite, const char *test, mg_budget *out);

/* A run warning per budget option of cli that some entries of run do not use because
 * the budgets file or an annotation sets that limit for them (CLI options have the
 * lowest precedence but one), e.g.
 *   --peak 1.0 MiB is overridden for 2 of 5 entries by the budgets file or annotations
 *   (e.g. cache/fill: 4.0 MiB from budgets.json: tests["cache/fill"])
 * Returns the number of warnings added. */
size_t mg_budgets_warn_cli_overridden(const mg_cli_limits *cli, mg_run *run);

/* The "tests" keys of bf that matched none of the tests resolved against it so far (a
 * run resolves every test its binaries list, selected or not), one message each,
 * appended to out (may be NULL), with the nearest test name when one is close:
 *   budgets.json: tests["parser/parse_smal"] matches no test of this run (did you mean "parser/parse_small"?)
 * Returns how many keys matched nothing (0 when bf is NULL). */
size_t mg_budgets_unmatched(const mg_budget_file *bf, mg_strlist *out);

/* Applies an in-code annotation on top: values[m] is the annotation's field for metric
 * m, MG_LIMIT_UNSET when the annotation leaves it alone; MG_UNLIMITED (-1) lifts a
 * limit. origin becomes "FILE:LINE" (none when file is NULL). A negative value other
 * than MG_UNLIMITED, or a value for a metric without a budget, is an error: b is left
 * unchanged, -1 is returned and err says
 *   MEMGATE_BUDGET(.leak_bytes = -5) at t.c:12: a limit must be >= 0 or MEMGATE_UNLIMITED
 * (the caller turns it into a test error). 0 on success. */
int mg_budget_apply_annotation(mg_budget *b, const int64_t values[MG_M_COUNT], const char *file,
                               unsigned line, char *err, size_t errlen);

/* MG_M_BIT of the limits that the figures break (a limit of N allows <= N). Only
 * metrics with a budget, a limit and a known figure (MG_M_BIT set in known) are judged. */
unsigned mg_budget_check(const mg_budget *b, const int64_t fig[MG_M_COUNT], unsigned known);

#endif
