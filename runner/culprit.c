/*
 * Tracebacks for people (culprit.h): symbolization of raw stacks with one cached
 * symbolizer per module map (the children of a binary almost always share one), the
 * harness trimmed, module offsets, the culprit frame, and grouping for the console.
 */
#include "culprit.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "symbolize.h"
#include "util.h"

/* ---- the module map of a report ------------------------------------------------------ */
typedef struct module {
    uint64_t base, lo, hi;
    char *path;
} module;

typedef struct symcache {
    char *signature; /* the "MOD" lines */
    mg_symbolizer *sym;
    module *mods;
    size_t nmods;
    struct symcache *next;
} symcache;

static symcache *caches;

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a percent-escaped token in place ("-" is empty). */
static void unescape(char *s) {
    if (s[0] == '-' && s[1] == '\0') {
        s[0] = '\0';
        return;
    }
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static symcache *cache_for(const char *mods) {
    if (!mods) mods = "";
    for (symcache *c = caches; c; c = c->next)
        if (strcmp(c->signature, mods) == 0) return c;
    symcache *c = mg_xcalloc(1, sizeof *c);
    c->signature = mg_xstrdup(mods);
    c->sym = mg_sym_new();
    char *copy = mg_xstrdup(mods);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tok[5], *s2 = NULL;
        int n = 0;
        for (char *t = strtok_r(line, " ", &s2); t && n < 5; t = strtok_r(NULL, " ", &s2)) tok[n++] = t;
        if (n != 5 || strcmp(tok[0], "MOD")) continue;
        unescape(tok[4]);
        module m = {strtoull(tok[1], NULL, 16), strtoull(tok[2], NULL, 16), strtoull(tok[3], NULL, 16),
                    mg_xstrdup(tok[4])};
        c->mods = mg_xrealloc(c->mods, (c->nmods + 1) * sizeof *c->mods);
        c->mods[c->nmods++] = m;
        if (c->sym) mg_sym_add_module(c->sym, m.path, m.base, m.lo, m.hi);
    }
    free(copy);
    c->next = caches;
    caches = c;
    return c;
}

void mg_trace_cache_free(void) {
    while (caches) {
        symcache *c = caches;
        caches = c->next;
        if (c->sym) mg_sym_free(c->sym);
        for (size_t i = 0; i < c->nmods; i++) free(c->mods[i].path);
        free(c->mods);
        free(c->signature);
        free(c);
    }
}

static const module *module_of(const symcache *c, uint64_t ip) {
    for (size_t i = 0; i < c->nmods; i++)
        if (ip >= c->mods[i].lo && ip < c->mods[i].hi) return &c->mods[i];
    return NULL;
}

/* ---- rules ------------------------------------------------------------------------------ */
static const char *basename_of(const char *path) {
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "";
}

static bool any_glob(const char *const *globs, size_t n, const char *text) {
    if (!text) return false;
    for (size_t i = 0; globs && (n ? i < n : globs[i] != NULL); i++)
        if (fnmatch(globs[i], text, 0) == 0) return true;
    return false;
}

bool mg_trace_runtime_module(const char *path) {
    static const char *const runtime[] = {"libc.so*",   "libc-*.so", "libstdc++.so*", "libgcc_s.so*",
                                          "libm.so*",   "ld-linux*", "ld-*.so*",      "libpthread.so*",
                                          "libdl.so*",  "libmemgate.so*", NULL};
    return path && any_glob(runtime, 0, basename_of(path));
}

bool mg_trace_system_module(const char *path) {
    static const char *const dirs[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/lib32/", "/usr/lib32/"};
    if (!path) return false;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0) return true;
    return false;
}

static bool is_gap(const mg_frame *f) { return !f->module && f->address == 0 && f->function && f->function[0] == '.'; }

size_t mg_trace_culprit(const mg_frame *frames, size_t n, const char *const *alloc_functions,
                        size_t nalloc_functions) {
    size_t outside_runtime = n;
    for (size_t i = 0; i < n; i++) {
        const mg_frame *f = &frames[i];
        if (is_gap(f) || mg_trace_runtime_module(f->module)) continue;
        if (outside_runtime == n) outside_runtime = i;
        if (nalloc_functions && any_glob(alloc_functions, nalloc_functions, f->function)) continue;
        if (mg_trace_system_module(f->module)) continue;
        return i;
    }
    return outside_runtime < n ? outside_runtime : 0;
}

/* Drops the harness from a traceback: memgate's driver frames and everything outside
 * them (the framework's runner, main, libc start-up), or for a whole-process test the
 * libc start-up frames below main. What remains ends at the test function. */
static void trim(mg_frame *frames, size_t *n, const mg_trace_rules *rules) {
    size_t keep = *n;
    for (size_t i = 1; i < *n; i++) {
        if (frames[i].module && !strncmp(basename_of(frames[i].module), "libmemgate.so", 13)) {
            keep = i;
            while (keep > 1 && (any_glob(rules->harness_modules, 0, basename_of(frames[keep - 1].module)) ||
                                any_glob(rules->harness_functions, 0, frames[keep - 1].function)))
                keep--;
            break;
        }
    }
    if (keep == *n) {
        while (keep > 1 && frames[keep - 1].function &&
               (!strncmp(frames[keep - 1].function, "__libc_start", 12) ||
                !strcmp(frames[keep - 1].function, "_start")))
            keep--;
    }
    for (size_t i = keep; i < *n; i++) {
        free(frames[i].function);
        free(frames[i].file);
        free(frames[i].module);
    }
    *n = keep;
}

void mg_trace_resolve(const char *modules, const uint64_t *ips, size_t n, const mg_trace_rules *rules,
                      mg_frame **out, size_t *nout, size_t *culprit) {
    static const mg_trace_rules none = {0};
    if (!rules) rules = &none;
    *out = NULL;
    *nout = 0;
    *culprit = 0;
    if (!n) return;
    symcache *c = cache_for(modules);
    mg_frame *frames = mg_xcalloc(n, sizeof *frames);
    for (size_t i = 0; i < n; i++) {
        mg_frame *f = &frames[i];
        if (MG_FRAME_IS_GAP(ips[i])) {
            unsigned gap = MG_FRAME_GAP_COUNT(ips[i]);
            f->function = mg_xasprintf("... %u frame%s ...", gap, gap == 1 ? "" : "s");
            continue;
        }
        mg_symbol res = {0};
        if (c->sym) mg_sym_resolve(c->sym, ips[i], 1, &res);
        const module *m = module_of(c, ips[i]);
        f->function = mg_xstrdup(res.function ? res.function : "??");
        f->file = mg_xstrdup(res.file);
        f->line = res.line;
        f->module = mg_xstrdup(res.module ? res.module : m ? m->path : NULL);
        /* A module offset, as addr2line -e MODULE takes it. */
        f->address = m ? ips[i] - m->base : ips[i];
    }
    size_t k = n;
    trim(frames, &k, rules);
    *out = frames;
    *nout = k;
    *culprit = mg_trace_culprit(frames, k, rules->alloc_functions, rules->nalloc_functions);
}

/* ---- grouping ------------------------------------------------------------------------------ */
int mg_group_by_parse(const char *text, mg_group_by *out) {
    static const char *const names[] = {"traceback", "function", "line", "file"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(text, names[i])) {
            *out = (mg_group_by)i;
            return 0;
        }
    }
    return -1;
}

static mg_frame copy_frame(const mg_frame *f) {
    mg_frame c = *f;
    c.function = mg_xstrdup(f->function);
    c.file = mg_xstrdup(f->file);
    c.module = mg_xstrdup(f->module);
    return c;
}

static mg_entry copy_entry(const mg_entry *e) {
    mg_entry c = *e;
    c.frames = e->nframes ? mg_xcalloc(e->nframes, sizeof *c.frames) : NULL;
    for (size_t i = 0; i < e->nframes; i++) c.frames[i] = copy_frame(&e->frames[i]);
    return c;
}

static bool same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* Whether a and b fall in one group. */
static bool same_group(const mg_entry *a, const mg_entry *b, mg_group_by g) {
    if (g == MG_GROUP_TRACEBACK) {
        if (a->nframes != b->nframes) return false;
        for (size_t i = 0; i < a->nframes; i++)
            if (a->frames[i].address != b->frames[i].address ||
                !same_str(a->frames[i].module, b->frames[i].module))
                return false;
        return true;
    }
    const mg_frame *fa = mg_entry_culprit(a), *fb = mg_entry_culprit(b);
    if (!fa || !fb) return fa == fb;
    switch (g) {
    case MG_GROUP_FUNCTION: return same_str(fa->function, fb->function);
    case MG_GROUP_FILE: return fa->file ? same_str(fa->file, fb->file) : same_str(fa->function, fb->function);
    case MG_GROUP_LINE:
    default:
        return fa->file ? same_str(fa->file, fb->file) && fa->line == fb->line
                        : fa->address == fb->address && same_str(fa->module, fb->module);
    }
}

static int by_size_desc(const void *pa, const void *pb) {
    const mg_entry *a = pa, *b = pb;
    if (a->size_diff != b->size_diff) return a->size_diff < b->size_diff ? 1 : -1;
    if (a->count_diff != b->count_diff) return a->count_diff < b->count_diff ? 1 : -1;
    return 0;
}

void mg_group_entries(const mg_entry *in, size_t n, mg_group_by g, mg_entry **out, size_t *nout) {
    mg_entry *groups = mg_xcalloc(n ? n : 1, sizeof *groups);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ng && !same_group(&groups[k], &in[i], g)) k++;
        if (k == ng) {
            groups[ng++] = copy_entry(&in[i]);
            continue;
        }
        mg_entry *grp = &groups[k];
        grp->size += in[i].size;
        grp->size_diff += in[i].size_diff;
        grp->count += in[i].count;
        grp->count_diff += in[i].count_diff;
        grp->lost_size += in[i].lost_size;
        grp->lost_count += in[i].lost_count;
        grp->lost_known = grp->lost_known && in[i].lost_known;
    }
    qsort(groups, ng, sizeof *groups, by_size_desc);
    *out = groups;
    *nout = ng;
}
