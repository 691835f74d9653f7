/* memgate calibrate: budgets from the figures of N runs (calibrate.h). */
#include "calibrate.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "metrics.h"
#include "report_common.h"
#include "util.h"

/* The figures a budgets file gets, in the order a test's entry lists them. */
static const mg_metric calibrated[] = {MG_M_LEAK, MG_M_GROWTH, MG_M_PEAK};
#define NCAL (sizeof calibrated / sizeof calibrated[0])

/* Below this a peak budget only ever catches noise (a stdio buffer, a locale). */
#define PEAK_FLOOR 1024

typedef struct calib_test {
    char *key;            /* "suite/test" */
    size_t runs;          /* runs that gave its figures */
    bool missing;         /* some run had it without figures (a crash, a timeout) */
    int64_t min[NCAL], max[NCAL];
} calib_test;

struct mg_calib {
    calib_test *t;
    size_t n, cap;
    size_t nruns;
};

mg_calib *mg_calib_new(void) { return mg_xcalloc(1, sizeof(mg_calib)); }

void mg_calib_free(mg_calib *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->t[i].key);
    free(c->t);
    free(c);
}

static calib_test *find(mg_calib *c, const char *key) {
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].key, key)) return &c->t[i];
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->t = mg_xrealloc(c->t, c->cap * sizeof *c->t);
    }
    calib_test *t = &c->t[c->n++];
    memset(t, 0, sizeof *t);
    t->key = mg_xstrdup(key);
    return t;
}

void mg_calib_add_run(mg_calib *c, const mg_run *run) {
    c->nruns++;
    for (size_t i = 0; i < run->ntests; i++) {
        const mg_test_result *r = &run->tests[i];
        if (r->status == MG_ST_SKIP) continue;
        char *key = mg_xasprintf("%s/%s", r->suite ? r->suite : "", r->name ? r->name : "");
        calib_test *t = find(c, key);
        free(key);
        bool measured = r->status == MG_ST_PASS || r->status == MG_ST_FAIL;
        for (size_t k = 0; k < NCAL && measured; k++) measured = mg_test_known(r, calibrated[k]);
        if (!measured) {
            t->missing = true;
            continue;
        }
        /* Several binaries may have the same suite/test: one key covers them all. */
        for (size_t k = 0; k < NCAL; k++) {
            int64_t v = r->fig[calibrated[k]];
            if (v < 0) v = 0;
            if (!t->runs || v < t->min[k]) t->min[k] = v;
            if (!t->runs || v > t->max[k]) t->max[k] = v;
        }
        t->runs++;
    }
}

static bool left_out(const mg_calib *c, const calib_test *t) { return t->missing || t->runs == 0 || !c->nruns; }

static bool varied(const calib_test *t) {
    for (size_t k = 0; k < NCAL; k++)
        if (t->min[k] != t->max[k]) return true;
    return false;
}

void mg_calib_counts(const mg_calib *c, size_t *calibrated_n, size_t *left_out_n, size_t *varied_n) {
    size_t a = 0, b = 0, v = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (left_out(c, &c->t[i])) {
            b++;
            continue;
        }
        a++;
        v += varied(&c->t[i]);
    }
    if (calibrated_n) *calibrated_n = a;
    if (left_out_n) *left_out_n = b;
    if (varied_n) *varied_n = v;
}

const char *mg_calib_name(const mg_calib *c, mg_calib_kind kind, size_t i) {
    for (size_t k = 0; k < c->n; k++) {
        const calib_test *t = &c->t[k];
        bool is = kind == MG_CALIB_LEFT_OUT ? left_out(c, t) : !left_out(c, t) && (t->max[0] > 0 || t->max[1] > 0);
        if (is && i-- == 0) return t->key;
    }
    return NULL;
}

int mg_calib_parse_headroom(const char *s, double *fraction) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0 || v > 1000) return -1;
    while (*end == ' ') end++;
    if (*end == '%') end++;
    if (*end) return -1;
    *fraction = v / 100.0;
    return 0;
}

int64_t mg_calib_readable(int64_t bytes, char *text, size_t len) {
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(text, len, "%" PRId64, bytes < 0 ? 0 : bytes);
        return bytes < 0 ? 0 : bytes;
    }
    for (int u = 0; u < 4; u++) {
        double size = (double)(INT64_C(1) << (10 * (u + 1)));
        double x = (double)bytes / size;
        double r = x < 10 ? ceil(x * 2) / 2 : x < 100 ? ceil(x) : ceil(x / 10) * 10;
        if (r >= 1024 && u < 3) continue; /* 1024 KiB reads better as 1 MiB */
        if (r == floor(r))
            snprintf(text, len, "%.0f %s", r, unit[u]);
        else
            snprintf(text, len, "%.1f %s", r, unit[u]);
        return (int64_t)(r * size);
    }
    snprintf(text, len, "%" PRId64, bytes);
    return bytes;
}

/* A test's budget for figure k: the largest figure plus the spread, with headroom and
 * readable rounding for the peak. text gets the JSON value (a number or a size string). */
static int64_t budget_of(const calib_test *t, size_t k, double headroom, char *text, size_t len) {
    int64_t v = t->max[k] + (t->max[k] - t->min[k]);
    if (calibrated[k] != MG_M_PEAK) {
        snprintf(text, len, "%" PRId64, v);
        return v;
    }
    double want = ceil((double)v * (1.0 + headroom));
    int64_t need = want > 9e18 ? INT64_MAX / 2 : (int64_t)want;
    if (need < PEAK_FLOOR) need = PEAK_FLOOR;
    char size[48];
    int64_t r = mg_calib_readable(need, size, sizeof size);
    if (strchr(size, ' '))
        snprintf(text, len, "\"%s\"", size);
    else
        snprintf(text, len, "%s", size);
    return r;
}

/* "peak_bytes 10.0 KiB to 12.3 KiB, leak_bytes 0 B to 16 B": what varied. */
static char *variation(const calib_test *t) {
    char *out = mg_xstrdup("");
    for (size_t k = 0; k < NCAL; k++) {
        if (t->min[k] == t->max[k]) continue;
        char a[48], b[48];
        mg_metric_format(calibrated[k], t->min[k], a, sizeof a);
        mg_metric_format(calibrated[k], t->max[k], b, sizeof b);
        char *next = mg_xasprintf("%s%s%s %s to %s", out, out[0] ? ", " : "", mg_metrics[calibrated[k]].budget_key,
                                  a, b);
        free(out);
        out = next;
    }
    return out;
}

/* s as a JSON string literal. */
static void put_json_string(FILE *out, const char *s) {
    cJSON *str = cJSON_CreateString(s);
    char *text = str ? cJSON_PrintUnformatted(str) : NULL;
    fputs(text ? text : "\"\"", out);
    free(text);
    cJSON_Delete(str);
}

/* A test name as a budgets-file key: fnmatch's special characters escaped. */
static char *key_glob(const char *name) {
    size_t n = strlen(name);
    char *k = mg_xcalloc(2 * n + 1, 1), *o = k;
    for (const char *p = name; *p; p++) {
        if (strchr("*?[\\", *p)) *o++ = '\\';
        *o++ = *p;
    }
    return k;
}

static int by_key(const void *a, const void *b) {
    return strcmp((*(const calib_test *const *)a)->key, (*(const calib_test *const *)b)->key);
}

static void write_annotations(FILE *out, const calib_test *const *sorted, size_t n, double headroom) {
    for (size_t i = 0; i < n; i++) {
        const calib_test *t = sorted[i];
        fputs("/* ", out);
        for (const char *k = t->key; *k; k++) /* a name cannot end the comment early */
            fputs(k[0] == '*' && k[1] == '/' ? "* " : (char[2]){k[0], 0}, out);
        fputs(" */ MEMGATE_BUDGET(", out);
        bool first = true;
        for (size_t k = 0; k < NCAL; k++) {
            char text[64];
            int64_t v = budget_of(t, k, headroom, text, sizeof text);
            if (calibrated[k] != MG_M_PEAK && v == 0) continue;
            fprintf(out, "%s.%s = ", first ? "" : ", ", mg_metrics[calibrated[k]].budget_key);
            if (calibrated[k] == MG_M_PEAK && v % (INT64_C(1) << 20) == 0)
                fprintf(out, "MEMGATE_MiB(%" PRId64 ")", v >> 20);
            else if (calibrated[k] == MG_M_PEAK && v % 1024 == 0)
                fprintf(out, "MEMGATE_KiB(%" PRId64 ")", v >> 10);
            else
                fprintf(out, "%" PRId64, v);
            first = false;
        }
        fputs(");", out);
        if (varied(t)) {
            char *why = variation(t);
            fprintf(out, " /* varied over %zu runs: %s */", t->runs, why);
            free(why);
        }
        fputc('\n', out);
    }
}

int mg_calib_write(const mg_calib *c, const mg_calib_opts *o, FILE *out) {
    size_t n = 0;
    const calib_test **sorted = mg_xcalloc(c->n ? c->n : 1, sizeof *sorted);
    for (size_t i = 0; i < c->n; i++)
        if (!left_out(c, &c->t[i])) sorted[n++] = &c->t[i];
    qsort(sorted, n, sizeof *sorted, by_key);
    if (o->annotations) {
        write_annotations(out, sorted, n, o->headroom);
        free(sorted);
        return ferror(out) ? -1 : 0;
    }
    /* The defaults give a test the file does not name (a new one) the largest ceiling of
     * the calibrated ones, and the built-in zero leak. */
    int64_t widest = PEAK_FLOOR;
    for (size_t i = 0; i < n; i++) {
        char text[64];
        int64_t v = budget_of(sorted[i], 2, o->headroom, text, sizeof text);
        if (v > widest) widest = v;
    }
    char wide[48];
    mg_calib_readable(widest, wide, sizeof wide);
    char *comment = mg_xasprintf("written by memgate calibrate from %zu runs of %s: each test's largest figures; "
                                 "a figure that varied gets its spread on top; peak_bytes has %.0f%% headroom, "
                                 "rounded up",
                                 c->nruns, o->what ? o->what : "the suite", o->headroom * 100);
    fputs("{\n  \"comment\": ", out);
    put_json_string(out, comment);
    free(comment);
    fputs(",\n  \"defaults\": {\"leak_bytes\": 0, \"object_growth\": 0, \"peak_bytes\": ", out);
    if (strchr(wide, ' '))
        fprintf(out, "\"%s\"", wide);
    else
        fputs(wide, out);
    fputs("},\n  \"tests\": {", out);
    for (size_t i = 0; i < n; i++) {
        const calib_test *t = sorted[i];
        char *key = key_glob(t->key);
        fputs(i ? ",\n    " : "\n    ", out);
        put_json_string(out, key);
        free(key);
        fputs(": {", out);
        bool first = true;
        if (varied(t)) {
            char *why = variation(t);
            char *note = mg_xasprintf("varied over %zu runs: %s; the spread is included", t->runs, why);
            fputs("\"comment\": ", out);
            put_json_string(out, note);
            free(note);
            free(why);
            first = false;
        }
        for (size_t k = 0; k < NCAL; k++) {
            char text[64];
            int64_t v = budget_of(t, k, o->headroom, text, sizeof text);
            if (calibrated[k] != MG_M_PEAK && v == 0) continue; /* the default */
            fprintf(out, "%s\"%s\": %s", first ? "" : ", ", mg_metrics[calibrated[k]].budget_key, text);
            first = false;
        }
        fputc('}', out);
    }
    fputs(n ? "\n  }\n}\n" : "}\n}\n", out);
    free(sorted);
    return ferror(out) ? -1 : 0;
}
