/*
 * Suppressions: allocations that are not the test's leaks. Accepts LeakSanitizer's
 * syntax: one "leak:PATTERN" per line, '#' comments and blank lines ignored. PATTERN
 * matches a frame when it matches the frame's function name, source file path or
 * module path as a substring glob: '*' is any run of characters, a leading '^' anchors
 * at the start, a trailing '$' at the end (as in LSan). An entry is suppressed when any
 * of its frames matches any pattern. Other LSan kinds ("race:", "called_from_lib:") are
 * errors with a clear message, so typos are not silently ignored.
 */
#ifndef MEMGATE_RUNNER_SUPPRESS_H
#define MEMGATE_RUNNER_SUPPRESS_H

#include <stddef.h>

#include "model.h"

typedef struct mg_suppressions mg_suppressions;

/* New set holding memgate's built-in rules (libc and loader internals). */
mg_suppressions *mg_supp_new_builtin(void);
/* New empty set. */
mg_suppressions *mg_supp_new_empty(void);
/* Adds the rules of a file; -1 with err naming file and line on a bad line. */
int mg_supp_load_file(mg_suppressions *s, const char *path, char *err, size_t errlen);
/* Adds one pattern (without the "leak:" prefix). */
void mg_supp_add(mg_suppressions *s, const char *pattern);
/* The pattern that suppresses e, or NULL. */
const char *mg_supp_match(const mg_suppressions *s, const mg_entry *e);
/* The plain pattern matcher, exposed for tests. */
int mg_supp_pattern_match(const char *pattern, const char *text);
void mg_supp_free(mg_suppressions *s);

#endif
