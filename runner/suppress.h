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

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "util.h"

typedef struct mg_suppressions mg_suppressions;

/* New set holding memgate's built-in rules (libc and loader internals). */
mg_suppressions *mg_supp_new_builtin(void);
/* New empty set. */
mg_suppressions *mg_supp_new_empty(void);
/* Adds the rules of a file. A pattern that matches every frame ("leak:", "leak:^",
 * "leak:*", "leak:^*") is accepted, and a warning naming FILE:LINE is added to warnings
 * (may be NULL) for the caller to print. -1 with err naming FILE:LINE and the offending
 * line (quoted with mg_quote: control characters and invalid UTF-8 escaped, cut after 60
 * characters) on a bad line, and then nothing from the file is kept, warnings included. */
int mg_supp_load_file(mg_suppressions *s, const char *path, mg_strlist *warnings, char *err,
                      size_t errlen);
/* Adds one pattern (without the "leak:" prefix). */
void mg_supp_add(mg_suppressions *s, const char *pattern);
/* The pattern that suppresses e, or NULL. */
const char *mg_supp_match(const mg_suppressions *s, const mg_entry *e);
/* True when pattern matches every non-empty text: after the optional '^' and '$' it is
 * made of '*' only ("", "^", "*", "^*$"), except "^$", which matches nothing a frame has. */
bool mg_supp_pattern_matches_all(const char *pattern);
/* The plain pattern matcher, exposed for tests. */
int mg_supp_pattern_match(const char *pattern, const char *text);
void mg_supp_free(mg_suppressions *s);

#endif
