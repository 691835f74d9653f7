/*
 * Snapshots and diffs in the traced process (tracemalloc's take_snapshot and
 * compare_to), for programs that drive the collector through the public API.
 *
 * Everything allocated here is allocated under the re-entrancy guard, so it is
 * recorded as internal and never shows in the figures being measured. Symbolization
 * loads libmemgate-symbolize.so (libdw) with dlopen on first use, so a tested process
 * maps libdw only if it asks for a diff; without it frames fall back to dladdr.
 */
#include <dlfcn.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "symbolize.h"

#define EXPORT __attribute__((visibility("default")))

struct memgate_snapshot {
    size_t n;
    mg_stackstat *stats; /* sorted by stack id */
    int64_t bytes, blocks;
};

struct memgate_diff {
    size_t n;
    memgate_stat *stats;
    memgate_frame *frames; /* all frames of all entries */
    size_t nframes;
    char **strings; /* owned copies */
    size_t nstrings, capstrings;
};

/* ---- symbolizer, loaded on demand ------------------------------------------------ */
static struct {
    int tried;
    mg_symbolizer *(*sym_new)(void);
    int (*add_self)(mg_symbolizer *);
    int (*resolve)(mg_symbolizer *, uint64_t, int, mg_symbol *);
    void (*sym_free)(mg_symbolizer *);
    mg_symbolizer *sym;
} dw;

static void *open_beside_us(const char *rel) {
    Dl_info info;
    if (!dladdr((const void *)&dw, &info) || !info.dli_fname) return NULL;
    char path[4096];
    size_t len = strlen(info.dli_fname);
    if (len >= sizeof path - 64) return NULL;
    memcpy(path, info.dli_fname, len + 1);
    char *dir = dirname(path);
    char full[4200];
    mg__fmt(full, sizeof full, "%s/%s", dir, rel);
    return dlopen(full, RTLD_NOW | RTLD_LOCAL);
}

static void load_symbolizer(void) {
    if (dw.tried) return;
    dw.tried = 1;
    void *h = open_beside_us(MG_SYMBOLIZE_SONAME);
    if (!h) h = open_beside_us("../lib/" MG_SYMBOLIZE_SONAME);
    if (!h) h = dlopen(MG_SYMBOLIZE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
#define LOAD_SYM(dst, name)                                                            \
    do {                                                                               \
        void *sym_ = dlsym(h, name);                                                   \
        memcpy(&(dst), &sym_, sizeof sym_);                                            \
    } while (0)
    LOAD_SYM(dw.sym_new, "mg_sym_new");
    LOAD_SYM(dw.add_self, "mg_sym_add_self");
    LOAD_SYM(dw.resolve, "mg_sym_resolve");
    LOAD_SYM(dw.sym_free, "mg_sym_free");
#undef LOAD_SYM
    if (!dw.sym_new || !dw.add_self || !dw.resolve || !dw.sym_free) {
        dw.sym_new = NULL;
        return;
    }
    dw.sym = dw.sym_new();
    if (dw.sym) dw.add_self(dw.sym);
}

/* Resolves one return address into *out (strings owned by the symbolizer or static). */
static void resolve_frame(uintptr_t addr, mg_symbol *out) {
    memset(out, 0, sizeof *out);
    load_symbolizer();
    if (dw.sym) {
        dw.resolve(dw.sym, addr, 1, out);
        if (!out->module) { /* a module loaded after the symbolizer was made */
            dw.sym_free(dw.sym);
            dw.sym = dw.sym_new();
            if (dw.sym) {
                dw.add_self(dw.sym);
                dw.resolve(dw.sym, addr, 1, out);
            }
        }
        if (out->function) return;
    }
    Dl_info info;
    if (dladdr((void *)(addr - 1), &info)) {
        if (!out->function) out->function = info.dli_sname;
        if (!out->module) out->module = info.dli_fname;
    }
}

/* ---- snapshots ------------------------------------------------------------------------ */
static int cmp_stack(const void *a, const void *b) {
    uint32_t x = ((const mg_stackstat *)a)->stack, y = ((const mg_stackstat *)b)->stack;
    return x < y ? -1 : x > y;
}

EXPORT int memgate_snapshot_take(memgate_snapshot **out) {
    if (!out) return MEMGATE_EINVAL;
    *out = NULL;
    mg__run_collect_hooks();
    int outer = !mg__guard;
    mg__guard = 1;
    int rc = MEMGATE_ENOMEM;
    size_t n, cap;
    mg_stackstat *arr = mg__stack_snapshot(&n, &cap);
    memgate_snapshot *s = calloc(1, sizeof *s);
    if (arr && s) {
        s->stats = malloc((n ? n : 1) * sizeof *s->stats);
        if (s->stats) {
            memcpy(s->stats, arr, n * sizeof *arr);
            s->n = n;
            qsort(s->stats, n, sizeof *s->stats, cmp_stack);
            for (size_t i = 0; i < n; i++) {
                s->bytes += s->stats[i].bytes;
                s->blocks += s->stats[i].count;
            }
            *out = s;
            s = NULL;
            rc = MEMGATE_OK;
        }
    }
    free(s);
    if (arr) mg__sys_free(arr, cap * sizeof *arr);
    if (outer) mg__guard = 0;
    return rc;
}

EXPORT void memgate_snapshot_free(memgate_snapshot *s) {
    if (!s) return;
    int outer = !mg__guard;
    mg__guard = 1;
    free(s->stats);
    free(s);
    if (outer) mg__guard = 0;
}

EXPORT int64_t memgate_snapshot_bytes(const memgate_snapshot *s) { return s ? s->bytes : 0; }
EXPORT int64_t memgate_snapshot_blocks(const memgate_snapshot *s) { return s ? s->blocks : 0; }

/* ---- compare -------------------------------------------------------------------------- */
typedef struct work_entry {
    char *key; /* group key (NULL for traceback grouping) */
    uint32_t stack;
    int64_t size, size_diff, count, count_diff;
} work_entry;

static const char *keep_str(memgate_diff *d, const char *s) {
    if (!s) return NULL;
    if (d->nstrings == d->capstrings) {
        size_t nc = d->capstrings ? d->capstrings * 2 : 64;
        char **ns = realloc(d->strings, nc * sizeof *ns);
        if (!ns) return "";
        d->strings = ns;
        d->capstrings = nc;
    }
    char *c = strdup(s);
    if (!c) return "";
    d->strings[d->nstrings++] = c;
    return c;
}

/* Whether a frame set passes the filters (tracemalloc.Filter semantics). */
static int frame_matches(const memgate_filter *f, const mg_symbol *sym) {
    if (f->file_pattern && fnmatch(f->file_pattern, sym->file ? sym->file : "", 0) != 0)
        return 0;
    if (f->module_pattern &&
        fnmatch(f->module_pattern, sym->module ? sym->module : "", 0) != 0)
        return 0;
    return 1;
}

static int passes_filters(uint32_t stack, const memgate_filter *filters, size_t nfilters) {
    if (!nfilters) return 1;
    uintptr_t frames[MG_MAX_FRAMES];
    int n = mg__stack_frames(stack, frames, MG_MAX_FRAMES);
    mg_symbol syms[MG_MAX_FRAMES];
    for (int i = 0; i < n; i++) resolve_frame(frames[i], &syms[i]);
    int have_inclusive = 0, included = 0;
    for (size_t k = 0; k < nfilters; k++) {
        const memgate_filter *f = &filters[k];
        int lim = f->all_frames ? n : (n ? 1 : 0);
        int any = 0;
        for (int i = 0; i < lim && !any; i++) any = frame_matches(f, &syms[i]);
        if (n == 0) { /* no stack: only patterns that accept "" match */
            mg_symbol none = {0};
            any = frame_matches(f, &none);
        }
        if (f->inclusive) {
            have_inclusive = 1;
            included |= any;
        } else if (any) {
            return 0; /* any exclusive filter that matches drops the trace */
        }
    }
    return !have_inclusive || included;
}

static char *group_key(uint32_t stack, memgate_group group) {
    uintptr_t frames[1];
    int n = mg__stack_frames(stack, frames, 1);
    if (n == 0) return strdup("<no stack>");
    mg_symbol sym;
    resolve_frame(frames[0], &sym);
    char buf[4096];
    switch (group) {
    case MEMGATE_GROUP_FUNCTION: mg__fmt(buf, sizeof buf, "%s", sym.function ? sym.function : "?"); break;
    case MEMGATE_GROUP_LINE:
        mg__fmt(buf, sizeof buf, "%s:%u", sym.file ? sym.file : "?", sym.line);
        break;
    case MEMGATE_GROUP_FILE: mg__fmt(buf, sizeof buf, "%s", sym.file ? sym.file : "?"); break;
    case MEMGATE_GROUP_MODULE: mg__fmt(buf, sizeof buf, "%s", sym.module ? sym.module : "?"); break;
    default: buf[0] = '\0'; break;
    }
    return strdup(buf);
}

static int cmp_key(const void *a, const void *b) {
    const work_entry *x = a, *y = b;
    return strcmp(x->key, y->key);
}

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

static int cmp_growth(const void *a, const void *b) {
    const work_entry *x = a, *y = b;
    int64_t ax = abs64(x->size_diff), ay = abs64(y->size_diff);
    if (ax != ay) return ax > ay ? -1 : 1;
    ax = abs64(x->count_diff);
    ay = abs64(y->count_diff);
    if (ax != ay) return ax > ay ? -1 : 1;
    return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static void fill_frame(memgate_diff *d, memgate_frame *f, uintptr_t addr, const mg_symbol *sym) {
    f->function = keep_str(d, sym->function ? sym->function : "?");
    f->file = keep_str(d, sym->file ? sym->file : "");
    f->line = sym->line;
    f->module = keep_str(d, sym->module ? sym->module : "");
    f->address = addr;
}

static int build_diff(memgate_diff *d, work_entry *w, size_t nw, memgate_group group) {
    size_t total_frames = 0;
    uintptr_t frames[MG_MAX_FRAMES];
    for (size_t i = 0; i < nw; i++)
        total_frames += group == MEMGATE_GROUP_TRACEBACK
                            ? (size_t)mg__stack_frames(w[i].stack, frames, MG_MAX_FRAMES)
                            : 1;
    d->stats = calloc(nw ? nw : 1, sizeof *d->stats);
    d->frames = calloc(total_frames ? total_frames : 1, sizeof *d->frames);
    if (!d->stats || !d->frames) return MEMGATE_ENOMEM;
    size_t fpos = 0;
    for (size_t i = 0; i < nw; i++) {
        memgate_stat *st = &d->stats[i];
        st->size = w[i].size;
        st->size_diff = w[i].size_diff;
        st->count = w[i].count;
        st->count_diff = w[i].count_diff;
        st->frames = &d->frames[fpos];
        if (group == MEMGATE_GROUP_TRACEBACK) {
            int n = mg__stack_frames(w[i].stack, frames, MG_MAX_FRAMES);
            for (int k = 0; k < n; k++) {
                mg_symbol sym;
                resolve_frame(frames[k], &sym);
                fill_frame(d, &d->frames[fpos++], frames[k], &sym);
            }
            st->nframes = (size_t)n;
        } else {
            memgate_frame *f = &d->frames[fpos++];
            memset(f, 0, sizeof *f);
            const char *k = w[i].key;
            f->function = f->file = f->module = "";
            if (group == MEMGATE_GROUP_FUNCTION) f->function = keep_str(d, k);
            else if (group == MEMGATE_GROUP_MODULE) f->module = keep_str(d, k);
            else {
                const char *colon = group == MEMGATE_GROUP_LINE ? strrchr(k, ':') : NULL;
                char tmp[4096];
                size_t len = colon ? (size_t)(colon - k) : strlen(k);
                if (len >= sizeof tmp) len = sizeof tmp - 1;
                memcpy(tmp, k, len);
                tmp[len] = '\0';
                f->file = keep_str(d, tmp);
                if (colon) f->line = (unsigned)strtoul(colon + 1, NULL, 10);
            }
            st->nframes = 1;
        }
    }
    d->n = nw;
    d->nframes = fpos;
    return MEMGATE_OK;
}

EXPORT int memgate_snapshot_compare(const memgate_snapshot *newer,
                                    const memgate_snapshot *older, memgate_group group,
                                    const memgate_filter *filters, size_t nfilters,
                                    memgate_diff **out) {
    if (!newer || !older || !out || group < MEMGATE_GROUP_TRACEBACK ||
        group > MEMGATE_GROUP_MODULE || (nfilters && !filters))
        return MEMGATE_EINVAL;
    *out = NULL;
    int outer = !mg__guard;
    mg__guard = 1;
    int rc = MEMGATE_ENOMEM;
    memgate_diff *d = calloc(1, sizeof *d);
    work_entry *w = calloc(newer->n + older->n + 1, sizeof *w);
    size_t nw = 0;
    if (!d || !w) goto done;

    /* Merge the two sorted per-stack lists. */
    size_t i = 0, j = 0;
    while (i < newer->n || j < older->n) {
        const mg_stackstat *a = i < newer->n ? &newer->stats[i] : NULL;
        const mg_stackstat *b = j < older->n ? &older->stats[j] : NULL;
        work_entry e = {0};
        if (a && (!b || a->stack < b->stack)) {
            e.stack = a->stack;
            e.size = a->bytes;
            e.count = a->count;
            e.size_diff = a->bytes;
            e.count_diff = a->count;
            i++;
        } else if (b && (!a || b->stack < a->stack)) {
            e.stack = b->stack;
            e.size_diff = -b->bytes;
            e.count_diff = -b->count;
            j++;
        } else {
            e.stack = a->stack;
            e.size = a->bytes;
            e.count = a->count;
            e.size_diff = a->bytes - b->bytes;
            e.count_diff = a->count - b->count;
            i++;
            j++;
        }
        if (!passes_filters(e.stack, filters, nfilters)) continue;
        w[nw++] = e;
    }

    if (group != MEMGATE_GROUP_TRACEBACK) {
        for (size_t k = 0; k < nw; k++) {
            w[k].key = group_key(w[k].stack, group);
            if (!w[k].key) goto done;
        }
        qsort(w, nw, sizeof *w, cmp_key);
        size_t m = 0;
        for (size_t k = 0; k < nw; k++) {
            if (m && strcmp(w[m - 1].key, w[k].key) == 0) {
                w[m - 1].size += w[k].size;
                w[m - 1].size_diff += w[k].size_diff;
                w[m - 1].count += w[k].count;
                w[m - 1].count_diff += w[k].count_diff;
                if (w[k].stack < w[m - 1].stack) w[m - 1].stack = w[k].stack;
                free(w[k].key);
                w[k].key = NULL;
            } else {
                w[m++] = w[k];
            }
        }
        nw = m;
    }
    /* Unchanged groups are not growth. */
    size_t m = 0;
    for (size_t k = 0; k < nw; k++) {
        if (w[k].size_diff || w[k].count_diff) w[m++] = w[k];
        else free(w[k].key);
    }
    nw = m;
    qsort(w, nw, sizeof *w, cmp_growth);
    rc = build_diff(d, w, nw, group);
done:
    if (w)
        for (size_t k = 0; k < nw; k++) free(w[k].key);
    free(w);
    if (rc == MEMGATE_OK) {
        *out = d;
    } else {
        memgate_diff_free(d); /* NULL-safe; still under the guard */
    }
    if (outer) mg__guard = 0;
    return rc;
}

EXPORT size_t memgate_diff_count(const memgate_diff *d) { return d ? d->n : 0; }

EXPORT const memgate_stat *memgate_diff_get(const memgate_diff *d, size_t index) {
    return d && index < d->n ? &d->stats[index] : NULL;
}

static void human(char *buf, size_t len, int64_t v) {
    int64_t a = v < 0 ? -v : v;
    const char *sign = v < 0 ? "-" : "";
    if (a < 1024) {
        mg__fmt(buf, len, "%s%lld B", sign, (long long)a);
    } else if (a < 1024 * 1024) {
        mg__fmt(buf, len, "%s%lld.%lld KiB", sign, (long long)(a / 1024),
                (long long)(a % 1024 * 10 / 1024));
    } else {
        int64_t m = 1024 * 1024;
        mg__fmt(buf, len, "%s%lld.%lld MiB", sign, (long long)(a / m), (long long)(a % m * 10 / m));
    }
}

EXPORT void memgate_diff_print(const memgate_diff *d, FILE *out, size_t limit) {
    if (!d || !out) return;
    int outer = !mg__guard;
    mg__guard = 1;
    size_t n = limit && limit < d->n ? limit : d->n;
    for (size_t i = 0; i < n; i++) {
        const memgate_stat *st = &d->stats[i];
        char sd[32], sz[32];
        human(sd, sizeof sd, st->size_diff);
        human(sz, sizeof sz, st->size);
        fprintf(out, "%s%s (now %s), %+lld blocks (now %lld)\n", st->size_diff > 0 ? "+" : "",
                sd, sz, (long long)st->count_diff, (long long)st->count);
        for (size_t k = 0; k < st->nframes; k++) {
            const memgate_frame *f = &st->frames[k];
            if (f->file && *f->file)
                fprintf(out, "    %s (%s:%u)\n", f->function && *f->function ? f->function : "?",
                        f->file, f->line);
            else if (f->function && *f->function)
                fprintf(out, "    %s (%s)\n", f->function, f->module && *f->module ? f->module : "?");
            else
                fprintf(out, "    %s\n", f->module && *f->module ? f->module : "<no stack recorded>");
        }
    }
    if (n < d->n) fprintf(out, "... %zu more entries\n", d->n - n);
    if (outer) mg__guard = 0;
}

EXPORT void memgate_diff_free(memgate_diff *d) {
    if (!d) return;
    int outer = !mg__guard;
    mg__guard = 1;
    for (size_t i = 0; i < d->nstrings; i++) free(d->strings[i]);
    free(d->strings);
    free(d->stats);
    free(d->frames);
    free(d);
    if (outer) mg__guard = 0;
}
