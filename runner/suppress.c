/*
 * Suppressions in LeakSanitizer's syntax (see suppress.h). Patterns are kept as given;
 * matching works on the pattern text in place, so checking an entry allocates nothing.
 */
#include "suppress.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct mg_suppressions {
    char **patterns;
    size_t n, cap;
};

/*
 * memgate's built-in rules: allocations glibc and the loader make for themselves and keep
 * for the life of the process, so they show up as growth the first time a test happens
 * to trigger them. (A test framework's own records, such as its failure list, are not
 * here: its adapter in the collector keeps them out of the test's figures.) Every pattern is anchored with '^' (and '$' where the name is
 * complete) so that it cannot swallow a user function that merely contains the name.
 *
 * Never add a pattern that matches a frame present in every test's stack (main,
 * __libc_start_main, the test framework's runner, memgate's own driver): since one
 * matching frame suppresses an entry, such a pattern would hide every leak. That is
 * also why libc.so.6 as a module is not listed: strdup and friends live there and sit
 * at frame 0 of ordinary leaks.
 */
static const char *const builtin_patterns[] = {
    /* The dynamic loader, by module basename (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1):
     * TLS blocks for new threads, link maps and search paths of dlopen, lazy binding.
     * This includes the constructors of a library the test dlopen()s, which run from the
     * loader: their allocations are that library's one-time state. */
    "^ld-linux",
    /* Loader functions, for when the module of a frame is unknown: _dl_allocate_tls and
     * _dl_allocate_tls_init (DTV and static TLS of threads whose stacks glibc caches and
     * reuses), _dl_map_object, _dl_new_object and the rest of dlopen's bookkeeping. */
    "^_dl_",
    /* stdio buffers: allocated on a stream's first read or write and kept until fclose,
     * which for stdin/stdout/stderr is never. A FILE the test forgets to close is still
     * reported, through the allocation of the FILE itself in fopen. */
    "^_IO_file_doallocate$",
    /* The same for wide-oriented streams (fwprintf and friends). */
    "^_IO_wfile_doallocate$",
    /* Time zone data read once by tzset (directly, or through localtime, mktime, strftime)
     * and cached for the process: the parsed TZif file, the zone name strings and the
     * copy of $TZ that tzset compares against on the next call. */
    "^__tzfile_read$",
    "^__tzstring",
    "^tzset_internal$",
    /* Locale data loaded by setlocale (the exported name and glibc's internal one) and
     * the archive/file readers under it (_nl_find_locale, _nl_load_locale_from_archive,
     * _nl_intern_locale_data), plus gettext's catalog cache (_nl_find_domain). glibc
     * never unloads them. The object newlocale() returns is allocated in newlocale itself
     * and is therefore still reported when a test forgets freelocale(). */
    "^setlocale$",
    "^__libc_setlocale$",
    "^_nl_",
    /* Character set conversion modules and their configuration, cached by iconv_open and
     * by wide-character stdio once loaded. */
    "^__gconv_load_cache$",
    "^__gconv_read_conf$",
    /* Name service switch: getpwnam, getaddrinfo and friends load the nsswitch.conf
     * database and its service modules once per process. */
    "^__nss_",
    /* atexit/__cxa_atexit: glibc grows its list of exit handlers in blocks of 32 and keeps
     * them until exit; registering a handler is not a leak of the test. */
    "^__new_exitfn$",
};

mg_suppressions *mg_supp_new_empty(void) {
    return mg_xcalloc(1, sizeof(mg_suppressions));
}

mg_suppressions *mg_supp_new_builtin(void) {
    mg_suppressions *s = mg_supp_new_empty();
    for (size_t i = 0; i < sizeof builtin_patterns / sizeof builtin_patterns[0]; i++)
        mg_supp_add(s, builtin_patterns[i]);
    return s;
}

/* Adds pattern unless it is empty: an empty pattern would match every entry, which is
 * never what a suppression file means. */
void mg_supp_add(mg_suppressions *s, const char *pattern) {
    if (!s || !pattern || !*pattern) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->patterns = mg_xrealloc(s->patterns, s->cap * sizeof *s->patterns);
    }
    s->patterns[s->n++] = mg_xstrdup(pattern);
}

/* Drops the patterns added after the first `keep`, so a file with a bad line adds
 * nothing at all. */
static void truncate_to(mg_suppressions *s, size_t keep) {
    while (s->n > keep) free(s->patterns[--s->n]);
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Trims blanks at both ends of line in place and returns its new start. */
static char *trim(char *line) {
    while (is_space(*line)) line++;
    size_t n = strlen(line);
    while (n > 0 && is_space(line[n - 1])) line[--n] = '\0';
    return line;
}

/* Longest part of a bad line quoted in an error message. */
#define QUOTE_CHARS 60

/* text quoted for a message (mg_quote, cut after QUOTE_CHARS characters): a line of a
 * binary file or a terminal escape sequence is never echoed raw. Heap string. */
static char *quoted(const char *text) { return mg_quote(text, strlen(text), QUOTE_CHARS); }

bool mg_supp_pattern_matches_all(const char *pattern) {
    if (!pattern) return false;
    size_t len = strlen(pattern);
    bool anchored_start = len > 0 && pattern[0] == '^';
    const char *core = pattern + anchored_start;
    size_t core_len = len - anchored_start;
    bool anchored_end = core_len > 0 && core[core_len - 1] == '$';
    if (anchored_end) core_len--;
    for (size_t i = 0; i < core_len; i++)
        if (core[i] != '*') return false;
    /* "^$" matches only the empty text, which no frame has; any other all-star core has a
     * star of its own or an unanchored end that stands for one. */
    return core_len > 0 || !anchored_start || !anchored_end;
}

/* Parses one trimmed, non-comment line. Returns 0 after adding its pattern (and a
 * warning to warnings when the pattern matches every frame), or -1 with err naming
 * path:lineno and the line, quoted. */
static int parse_line(mg_suppressions *s, char *line, const char *path, size_t lineno,
                      mg_strlist *warnings, char *err, size_t errlen) {
    static const char *const other_kinds[] = {
        "race", "thread", "mutex", "signal", "deadlock", "called_from_lib",
        "interceptor_via_fun", "interceptor_via_lib", "interceptor_name", "vptr_check",
    };
    char *colon = strchr(line, ':');
    if (!colon) {
        char *q = quoted(line);
        mg_set_err(err, errlen, "%s:%zu: expected leak:PATTERN, got %s", path, lineno, q);
        free(q);
        return -1;
    }
    *colon = '\0';
    const char *kind = trim(line);
    const char *pattern = trim(colon + 1);
    if (strcmp(kind, "leak") != 0) {
        bool known = false;
        for (size_t i = 0; i < sizeof other_kinds / sizeof other_kinds[0]; i++)
            if (strcmp(kind, other_kinds[i]) == 0) known = true;
        if (known) {
            mg_set_err(err, errlen,
                       "%s:%zu: \"%s:\" suppressions are not supported; memgate only reads "
                       "leak:PATTERN",
                       path, lineno, kind);
        } else {
            char *q = mg_quote(kind, strlen(kind), 40);
            mg_set_err(err, errlen, "%s:%zu: unknown suppression kind %s (expected leak:PATTERN)",
                       path, lineno, q);
            free(q);
        }
        return -1;
    }
    if (mg_supp_pattern_matches_all(pattern)) {
        /* Such a pattern is made of '^', '*' and '$' only: safe to print as it is. */
        mg_strlist_addf(warnings,
                        "%s:%zu: leak:%s suppresses every allocation (it matches every frame), "
                        "so no leak can fail a test",
                        path, lineno, pattern);
    }
    if (*pattern == '\0') {
        /* mg_supp_add ignores an empty pattern; a file that says "leak:" gets what it
         * says, spelled so that messages show it ("e.g. leak:*"). */
        pattern = "*";
    }
    mg_supp_add(s, pattern);
    return 0;
}

int mg_supp_load_file(mg_suppressions *s, const char *path, mg_strlist *warnings, char *err,
                      size_t errlen) {
    if (!s || !path) {
        mg_set_err(err, errlen, "no suppressions file given");
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        mg_set_err(err, errlen, "%s: cannot open suppressions file: %s", path, strerror(errno));
        return -1;
    }
    const size_t keep = s->n;
    const size_t kept_warnings = warnings ? warnings->n : 0;
    char *buf = NULL;
    size_t cap = 0, lineno = 0;
    int rc = 0;
    ssize_t got;
    errno = 0;
    while ((got = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        if (memchr(buf, '\0', (size_t)got)) {
            char *q = mg_quote(buf, (size_t)got, QUOTE_CHARS);
            mg_set_err(err, errlen, "%s:%zu: not a text file (NUL byte) in %s", path, lineno, q);
            free(q);
            rc = -1;
            break;
        }
        char *line = trim(buf);
        if (*line == '\0' || *line == '#') continue;
        if (parse_line(s, line, path, lineno, warnings, err, errlen) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        mg_set_err(err, errlen, "%s: cannot read suppressions file: %s", path, strerror(errno));
        rc = -1;
    }
    free(buf);
    fclose(f);
    if (rc != 0) {
        truncate_to(s, keep);
        /* A file that is refused warns about nothing. */
        while (warnings && warnings->n > kept_warnings) free(warnings->items[--warnings->n]);
    }
    return rc;
}

/* Character i of the pattern as matched, where an unanchored start or end counts as a
 * '*' of its own: "foo" behaves as "*foo*", "^foo" as "foo*", "foo$" as "*foo". */
typedef struct vpattern {
    const char *core; /* the pattern without its '^' and '$' */
    size_t core_len;
    bool lead_star, trail_star;
    size_t len; /* core_len plus the implicit stars */
} vpattern;

static char vp_at(const vpattern *vp, size_t i) {
    if (vp->lead_star) {
        if (i == 0) return '*';
        i--;
    }
    return i < vp->core_len ? vp->core[i] : '*';
}

/* Returns 1 when pattern matches text. Only '*' is special (any run of characters,
 * including none); '^' is special only as the first character and '$' only as the last.
 * This is the usual greedy wildcard match with a single backtrack point: on a mismatch
 * the last '*' absorbs one more character. It runs in O(len(pattern) * len(text)) and
 * allocates nothing. */
int mg_supp_pattern_match(const char *pattern, const char *text) {
    if (!pattern || !text) return 0;
    vpattern vp;
    vp.core = pattern;
    vp.core_len = strlen(pattern);
    vp.lead_star = true;
    vp.trail_star = true;
    if (vp.core_len > 0 && vp.core[0] == '^') {
        vp.core++;
        vp.core_len--;
        vp.lead_star = false;
    }
    if (vp.core_len > 0 && vp.core[vp.core_len - 1] == '$') {
        vp.core_len--;
        vp.trail_star = false;
    }
    vp.len = vp.core_len + vp.lead_star + vp.trail_star;

    const size_t tlen = strlen(text);
    const size_t none = (size_t)-1;
    size_t p = 0, t = 0, star = none, mark = 0;
    while (t < tlen) {
        if (p < vp.len && vp_at(&vp, p) == '*') {
            star = p++;
            mark = t;
        } else if (p < vp.len && vp_at(&vp, p) == text[t]) {
            p++;
            t++;
        } else if (star != none) {
            p = star + 1;
            t = ++mark;
        } else {
            return 0;
        }
    }
    while (p < vp.len && vp_at(&vp, p) == '*') p++;
    return p == vp.len;
}

/* The part of a path after its last '/'. */
static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Matches pattern against a path and, when the path has directories, its base name, so
 * that "^ld-linux" finds "/lib64/ld-linux-x86-64.so.2" and "^util.c$" finds
 * "/src/util.c". */
static bool match_path(const char *pattern, const char *path) {
    if (!path || !*path) return false;
    if (mg_supp_pattern_match(pattern, path)) return true;
    const char *base = base_name(path);
    return base != path && mg_supp_pattern_match(pattern, base);
}

static bool match_frame(const char *pattern, const mg_frame *fr) {
    /* "??" is the placeholder for an unknown function, not a name to match. */
    if (fr->function && strcmp(fr->function, "??") != 0 &&
        mg_supp_pattern_match(pattern, fr->function))
        return true;
    return match_path(pattern, fr->file) || match_path(pattern, fr->module);
}

/* Rules are tried in the order they were added, so the pattern reported is the first
 * rule that applies (built-ins first when the set started from mg_supp_new_builtin). */
const char *mg_supp_match(const mg_suppressions *s, const mg_entry *e) {
    if (!s || !e || !e->frames) return NULL;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < e->nframes; j++)
            if (match_frame(s->patterns[i], &e->frames[j])) return s->patterns[i];
    return NULL;
}

void mg_supp_free(mg_suppressions *s) {
    if (!s) return;
    truncate_to(s, 0);
    free(s->patterns);
    free(s);
}
