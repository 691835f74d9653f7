/*
 * "Did you mean ...?": the nearest of a set of names to a misspelt one, by edit
 * distance (insertions, deletions, substitutions and swaps of two neighbours each cost
 * 1; Python's difflib and git's "did you mean" work on the same idea).
 */
#ifndef MEMGATE_RUNNER_SUGGEST_H
#define MEMGATE_RUNNER_SUGGEST_H

#include <stddef.h>

/* The edit distance between a and b, or limit + 1 when it is larger than limit (the
 * computation stops early then). */
size_t mg_edit_distance(const char *a, const char *b, size_t limit);

/* The largest distance at which a name still counts as a likely misspelling of word:
 * 1 for short words, growing with its length up to 3. */
size_t mg_suggest_limit(const char *word);

/* The candidate nearest to word within mg_suggest_limit(word), the first one in the
 * array among equals; NULL when none is near enough or when word itself is one of
 * them. Borrowed from candidates. */
const char *mg_suggest(const char *word, const char *const *candidates, size_t n);

#endif
