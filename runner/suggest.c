/* "Did you mean ...?" by edit distance (see suggest.h). */
#include "suggest.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions) over
 * three rows of the matrix. A row whose smallest value is above limit can only lead to
 * a larger distance, so the loop stops there. */
size_t mg_edit_distance(const char *a, const char *b, size_t limit) {
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > limit) return limit + 1;
    size_t *prev2 = mg_xcalloc(lb + 1, sizeof *prev2);
    size_t *prev = mg_xcalloc(lb + 1, sizeof *prev);
    size_t *cur = mg_xcalloc(lb + 1, sizeof *cur);
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    size_t result = la == 0 ? lb : limit + 1;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        size_t row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d) d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
            if (d < row_min) row_min = d;
        }
        if (row_min > limit) {
            result = limit + 1;
            break;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
        if (i == la) result = prev[lb];
    }
    free(prev2);
    free(prev);
    free(cur);
    return result > limit ? limit + 1 : result;
}

size_t mg_suggest_limit(const char *word) {
    size_t n = strlen(word);
    return n < 8 ? 1 : n < 16 ? 2 : 3;
}

const char *mg_suggest(const char *word, const char *const *candidates, size_t n) {
    size_t limit = mg_suggest_limit(word), best_d = limit + 1;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i]) continue;
        size_t d = mg_edit_distance(word, candidates[i], best_d > 0 ? best_d - 1 : 0);
        if (d == 0) return NULL; /* the word is there: nothing to suggest */
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}
