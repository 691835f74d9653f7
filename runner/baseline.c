/*
 * Baselines (contract in baseline.h): tolerance texts, loading and validating a baseline
 * file, comparing a run with it, and writing one back, ratcheted or not.
 *
 * Keys are built by mg_baseline_key() everywhere (compare, write), and that function
 * mends invalid UTF-8 the way the JSON report does, so a key written to the file reads
 * back byte for byte equal to the key the next run computes.
 *
 * Tolerances are applied in integer arithmetic: a percentage is held in millionths of
 * a percent, so "10%" of 1000 is exactly 100 and the boundary (== base + tolerance
 * passes, one more fails) never depends on floating-point rounding.
 */
#include "baseline.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "report_common.h"
#include "util.h"

#define BASELINE_SCHEMA_VERSION 1
/* The largest integer a JSON number (an IEEE double) holds exactly. */
#define MAX_EXACT_INT 9007199254740992.0
/* Highest percentage a tolerance may give; it keeps the integer arithmetic in range. */
#define PERCENT_MAX 10000
/* Millionths of a percent per unit of a figure: 100 (percent) x 10^6. */
#define MICRO_PER_UNIT 100000000LL
/* Decimals kept in a percentage ("2.125%"). */
#define PERCENT_DECIMALS 6

enum { M_LEAK, M_GROWTH, M_PEAK, M_ALLOCS, M_COUNT };

static const struct metric {
    const char *json; /* key in the baseline file */
    const char *tol;  /* name in a tolerance text */
    unsigned bit;     /* MG_VIOL_* */
    bool bytes;       /* a byte size (else a count) */
} metrics[M_COUNT] = {
    {"leaked_bytes", "leak", MG_VIOL_LEAK, true},
    {"object_growth", "growth", MG_VIOL_GROWTH, false},
    {"peak_bytes", "peak", MG_VIOL_PEAK, true},
    {"allocations", "allocs", MG_VIOL_ALLOCS, false},
};

typedef struct entry {
    char *key;
    int64_t v[M_COUNT]; /* each >= 0 */
} entry;

struct mg_baseline {
    char *path;
    entry *entries; /* sorted bytewise by key, no two equal */
    size_t n;
};

/* ---- tolerances ---------------------------------------------------------------- */

void mg_tolerance_default(mg_tolerance *t) {
    if (!t) return;
    memset(t, 0, sizeof *t);
    t->peak.percent = 10;
    t->allocs.percent = 10;
}

static mg_tolerance_one *tol_one(mg_tolerance *t, int m) {
    switch (m) {
    case M_LEAK: return &t->leak;
    case M_GROWTH: return &t->growth;
    case M_PEAK: return &t->peak;
    default: return &t->allocs;
    }
}

static const mg_tolerance_one *tol_one_c(const mg_tolerance *t, int m) {
    return tol_one((mg_tolerance *)t, m);
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Strips blanks from both ends of s in place. */
static char *trim(char *s) {
    while (is_blank(*s)) s++;
    size_t n = strlen(s);
    while (n && is_blank(s[n - 1])) s[--n] = '\0';
    return s;
}

/* Parses "10", "2.5", "0.125" (at most PERCENT_DECIMALS decimals, nothing else) into
 * millionths of a percent. -1 on junk, too many decimals or a value above PERCENT_MAX. */
static int parse_percent(const char *s, int64_t *micro) {
    int64_t whole = 0, frac = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > PERCENT_MAX) return -1;
    }
    int decimals = 0;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++decimals > PERCENT_DECIMALS) return -1;
            frac = frac * 10 + (*p - '0');
        }
    }
    if (*p) return -1;
    for (; decimals < PERCENT_DECIMALS; decimals++) frac *= 10;
    *micro = whole * 1000000 + frac;
    return *micro > (int64_t)PERCENT_MAX * 1000000 ? -1 : 0;
}

/* Parses one "NAME=VALUE" item (already trimmed) into t; seen marks metrics given. */
static int parse_tolerance_item(const char *item, mg_tolerance *t, bool seen[M_COUNT], char *err,
                                size_t errlen) {
    char *copy = mg_xstrdup(item);
    char *eq = strchr(copy, '=');
    int rc = -1;
    if (!eq) {
        mg_set_err(err, errlen,
                   "tolerance item \"%s\": expected NAME=VALUE, e.g. peak=10%% or leak=1KiB", item);
        goto out;
    }
    *eq = '\0';
    char *name = trim(copy), *value = trim(eq + 1);
    int m = -1;
    for (int i = 0; i < M_COUNT; i++)
        if (strcmp(name, metrics[i].tol) == 0) m = i;
    if (m < 0) {
        mg_set_err(err, errlen,
                   "tolerance item \"%s\": unknown metric \"%s\" (expected leak, growth, peak "
                   "or allocs)",
                   item, name);
        goto out;
    }
    if (seen[m]) {
        mg_set_err(err, errlen, "tolerance item \"%s\": %s is given twice", item, name);
        goto out;
    }
    seen[m] = true;
    if (!*value) {
        mg_set_err(err, errlen, "tolerance item \"%s\": missing value after '='", item);
        goto out;
    }
    mg_tolerance_one *one = tol_one(t, m);
    size_t vlen = strlen(value);
    if (value[vlen - 1] == '%') {
        value[vlen - 1] = '\0';
        int64_t micro;
        if (parse_percent(trim(value), &micro) != 0) {
            mg_set_err(err, errlen,
                       "tolerance item \"%s\": not a percentage from 0%% to %d%% with at most "
                       "%d decimals",
                       item, PERCENT_MAX, PERCENT_DECIMALS);
            goto out;
        }
        one->percent = (double)micro / 1e6;
        one->absolute = 0;
    } else {
        int64_t v;
        int bad = metrics[m].bytes ? mg_parse_size(value, &v) : mg_parse_count(value, &v);
        if (bad) {
            mg_set_err(err, errlen, "tolerance item \"%s\": \"%s\" is not a percentage or %s",
                       item, value,
                       metrics[m].bytes ? "a size (try 10% or 4KiB)" : "a count (try 10% or 5)");
            goto out;
        }
        one->percent = 0;
        one->absolute = v;
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

/* All items are parsed into a copy first, so an error leaves t as it was. */
int mg_tolerance_parse(const char *text, mg_tolerance *t, char *err, size_t errlen) {
    if (!text || !t) {
        mg_set_err(err, errlen, "no tolerance given");
        return -1;
    }
    mg_tolerance work = *t;
    bool seen[M_COUNT] = {false};
    char *copy = mg_xstrdup(text);
    int rc = 0;
    if (!*trim(copy)) {
        mg_set_err(err, errlen, "empty tolerance (expected e.g. \"peak=10%%,allocs=5%%\")");
        rc = -1;
    }
    for (char *item = copy, *next; rc == 0 && item; item = next) {
        next = strchr(item, ',');
        if (next) *next++ = '\0';
        char *it = trim(item);
        if (!*it) {
            mg_set_err(err, errlen, "tolerance \"%s\": empty item between commas", text);
            rc = -1;
        } else {
            rc = parse_tolerance_item(it, &work, seen, err, errlen);
        }
    }
    free(copy);
    if (rc == 0) *t = work;
    return rc;
}

/* A tolerance's percentage in millionths of a percent, clamped to [0, PERCENT_MAX%]
 * (NaN and negatives count as 0). */
static int64_t micro_percent(double percent) {
    if (!(percent > 0)) return 0;
    if (percent > PERCENT_MAX) percent = PERCENT_MAX;
    return llround(percent * 1e6);
}

/* floor(base * micro / 10^8) for base >= 0, saturating at INT64_MAX. Split as
 * base = q * 10^8 + r so that r * micro < 10^8 * 10^10 stays inside 64 bits. */
static int64_t percent_of(int64_t base, int64_t micro) {
    if (base <= 0 || micro <= 0) return 0;
    int64_t q = base / MICRO_PER_UNIT, r = base % MICRO_PER_UNIT;
    if (q > INT64_MAX / micro) return INT64_MAX;
    int64_t a = q * micro, b = r * micro / MICRO_PER_UNIT;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The growth a tolerance allows over base: max(base * percent / 100, absolute). */
static int64_t allowance(int64_t base, const mg_tolerance_one *tol) {
    int64_t pct = percent_of(base, micro_percent(tol->percent));
    int64_t abs = tol->absolute > 0 ? tol->absolute : 0;
    return pct > abs ? pct : abs;
}

static bool regressed(int64_t measured, int64_t base, const mg_tolerance_one *tol) {
    int64_t allow = allowance(base, tol);
    if (base > 0 && allow > INT64_MAX - base) return false;
    return measured > base + allow;
}

/* Writes " + 10%" or " + 1.0 KiB": the part of the tolerance that is in force for base
 * (nothing when the tolerance is zero). */
static void write_tolerance(FILE *out, int64_t base, const mg_tolerance_one *tol, bool bytes) {
    int64_t micro = micro_percent(tol->percent);
    int64_t abs = tol->absolute > 0 ? tol->absolute : 0;
    if (abs > 0 && abs >= percent_of(base, micro)) {
        char buf[48];
        if (bytes)
            mg_format_size(abs, buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "%" PRId64, abs);
        fprintf(out, " + %s", buf);
    } else if (micro > 0) {
        char buf[48];
        snprintf(buf, sizeof buf, "%" PRId64 ".%06" PRId64, micro / 1000000, micro % 1000000);
        size_t n = strlen(buf);
        while (buf[n - 1] == '0') buf[--n] = '\0';
        if (buf[n - 1] == '.') buf[--n] = '\0';
        fprintf(out, " + %s%%", buf);
    }
}

/* ---- keys and lookups ---------------------------------------------------------- */

char *mg_baseline_key(const mg_test_result *t) {
    const char *bin = t->binary ? t->binary : "";
    const char *slash = strrchr(bin, '/');
    if (slash) bin = slash + 1;
    char *key = mg_xasprintf("%s:%s/%s", bin, t->suite ? t->suite : "", t->name ? t->name : "");
    char *fixed = mg_utf8_fix(key);
    if (!fixed) return key;
    free(key);
    return fixed;
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const entry *find(const entry *entries, size_t n, const char *key) {
    entry probe = {(char *)key, {0}};
    return n ? bsearch(&probe, entries, n, sizeof *entries, cmp_entry) : NULL;
}

static void free_entries(entry *entries, size_t n) {
    for (size_t i = 0; i < n; i++) free(entries[i].key);
    free(entries);
}

/* A test has figures when it ran to the end: passed, or failed an assertion or budget. */
static bool has_figures(const mg_test_result *t) {
    return t->status == MG_ST_PASS || t->status == MG_ST_FAIL;
}

static int64_t clamp_u64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

/* The measured figures of t, in metric order. */
static void figures_of(const mg_test_result *t, int64_t v[M_COUNT]) {
    v[M_LEAK] = t->leaked_bytes;
    v[M_GROWTH] = t->object_growth;
    v[M_PEAK] = t->peak_bytes;
    v[M_ALLOCS] = clamp_u64(t->allocations);
}

/* ---- loading ------------------------------------------------------------------- */

/* A whole number in [0, 2^53] at `where`, or -1 with err naming path, where and value. */
static int parse_figure(const char *path, const char *where, const cJSON *item, int64_t *out,
                        char *err, size_t errlen) {
    char shown[MG_JSON_SHOWN_SIZE];
    mg_json_describe_value(item, shown, sizeof shown);
    if (!cJSON_IsNumber(item)) {
        mg_set_err(err, errlen, "%s: %s: expected a whole number, not %s", path, where, shown);
        return -1;
    }
    double d = item->valuedouble;
    if (!isfinite(d) || d > MAX_EXACT_INT) {
        mg_set_err(err, errlen, "%s: %s: %s is too large", path, where, shown);
        return -1;
    }
    if (d < 0) {
        mg_set_err(err, errlen, "%s: %s: %s is negative", path, where, shown);
        return -1;
    }
    if (floor(d) != d) {
        mg_set_err(err, errlen, "%s: %s: %s is not a whole number", path, where, shown);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* A key names a test as "BINARY:SUITE/TEST": a ':' with a '/' after it. */
static bool key_is_valid(const char *key) {
    const char *colon = strchr(key, ':');
    return colon && strchr(colon + 1, '/') != NULL;
}

/* Parses one "KEY": {figures} member of "tests" into e. */
static int parse_entry(const char *path, const cJSON *item, entry *e, char *err, size_t errlen) {
    char key[256], where[300];
    mg_json_escape_key(item->string, key, sizeof key);
    snprintf(where, sizeof where, "tests[\"%s\"]", key);
    if (!key_is_valid(item->string)) {
        mg_set_err(err, errlen, "%s: %s: a key must be \"BINARY:SUITE/TEST\"", path, where);
        return -1;
    }
    if (!cJSON_IsObject(item)) {
        char shown[MG_JSON_SHOWN_SIZE];
        mg_json_describe_value(item, shown, sizeof shown);
        mg_set_err(err, errlen,
                   "%s: %s: expected an object such as {\"leaked_bytes\": 0, \"object_growth\": "
                   "0, \"peak_bytes\": 0, \"allocations\": 0}, not %s",
                   path, where, shown);
        return -1;
    }
    bool seen[M_COUNT] = {false};
    const cJSON *fig;
    cJSON_ArrayForEach(fig, item) {
        int m = -1;
        for (int i = 0; i < M_COUNT; i++)
            if (strcmp(fig->string, metrics[i].json) == 0) m = i;
        char name[256];
        mg_json_escape_key(fig->string, name, sizeof name);
        if (m < 0) {
            mg_set_err(err, errlen,
                       "%s: %s: unknown key \"%s\" (expected leaked_bytes, object_growth, "
                       "peak_bytes and allocations)",
                       path, where, name);
            return -1;
        }
        char fwhere[600];
        snprintf(fwhere, sizeof fwhere, "%s.%s", where, name);
        if (seen[m]) {
            mg_set_err(err, errlen, "%s: %s: given twice", path, fwhere);
            return -1;
        }
        seen[m] = true;
        if (parse_figure(path, fwhere, fig, &e->v[m], err, errlen) != 0) return -1;
    }
    for (int m = 0; m < M_COUNT; m++) {
        if (!seen[m]) {
            mg_set_err(err, errlen, "%s: %s: missing \"%s\"", path, where, metrics[m].json);
            return -1;
        }
    }
    e->key = mg_xstrdup(item->string);
    return 0;
}

static int parse_tests(mg_baseline *b, const cJSON *tests, char *err, size_t errlen) {
    if (!cJSON_IsObject(tests)) {
        mg_set_err(err, errlen,
                   "%s: tests: expected an object mapping \"BINARY:SUITE/TEST\" to figures, "
                   "not %s%s",
                   b->path, mg_json_type_name(tests),
                   cJSON_IsArray(tests) ? " (is this a JSON report rather than a baseline?)" : "");
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(tests);
    b->entries = mg_xcalloc(n, sizeof *b->entries);
    const cJSON *item;
    cJSON_ArrayForEach(item, tests) {
        if (parse_entry(b->path, item, &b->entries[b->n], err, errlen) != 0) return -1;
        b->n++;
    }
    qsort(b->entries, b->n, sizeof *b->entries, cmp_entry);
    for (size_t i = 1; i < b->n; i++) {
        if (strcmp(b->entries[i - 1].key, b->entries[i].key) == 0) {
            char key[256];
            mg_json_escape_key(b->entries[i].key, key, sizeof key);
            mg_set_err(err, errlen, "%s: tests[\"%s\"]: given twice", b->path, key);
            return -1;
        }
    }
    return 0;
}

/* Validates the top level: schema_version, tool and tests, nothing else. */
static int parse_document(mg_baseline *b, const cJSON *root, char *err, size_t errlen) {
    if (!cJSON_IsObject(root)) {
        mg_set_err(err, errlen, "%s: the top level must be an object, not %s", b->path,
                   mg_json_type_name(root));
        return -1;
    }
    const cJSON *schema = NULL, *tool = NULL, *tests = NULL, *item;
    cJSON_ArrayForEach(item, root) {
        const cJSON **slot = strcmp(item->string, "schema_version") == 0 ? &schema
                             : strcmp(item->string, "tool") == 0         ? &tool
                             : strcmp(item->string, "tests") == 0        ? &tests
                                                                         : NULL;
        char key[256];
        mg_json_escape_key(item->string, key, sizeof key);
        if (!slot) {
            mg_set_err(err, errlen,
                       "%s: unknown top-level key \"%s\" (expected schema_version, tool and "
                       "tests)",
                       b->path, key);
            return -1;
        }
        if (*slot) {
            mg_set_err(err, errlen, "%s: %s: given twice", b->path, key);
            return -1;
        }
        *slot = item;
    }
    /* "tests" first: a JSON report handed over by mistake gets the clearest message. */
    if (!tests) {
        mg_set_err(err, errlen, "%s: missing \"tests\"", b->path);
        return -1;
    }
    if (!cJSON_IsObject(tests)) return parse_tests(b, tests, err, errlen);
    char shown[MG_JSON_SHOWN_SIZE];
    if (!schema) {
        mg_set_err(err, errlen, "%s: missing \"schema_version\"", b->path);
        return -1;
    }
    mg_json_describe_value(schema, shown, sizeof shown);
    if (!cJSON_IsNumber(schema) || schema->valuedouble != floor(schema->valuedouble) ||
        schema->valuedouble < 1) {
        mg_set_err(err, errlen, "%s: schema_version: %s is not a version number (expected %d)",
                   b->path, shown, BASELINE_SCHEMA_VERSION);
        return -1;
    }
    if (schema->valuedouble > BASELINE_SCHEMA_VERSION) {
        mg_set_err(err, errlen,
                   "%s: schema_version: %s is newer than this memgate understands (%d); use a "
                   "newer memgate",
                   b->path, shown, BASELINE_SCHEMA_VERSION);
        return -1;
    }
    if (!tool) {
        mg_set_err(err, errlen, "%s: missing \"tool\"", b->path);
        return -1;
    }
    if (!cJSON_IsString(tool) || strcmp(tool->valuestring, "memgate") != 0) {
        mg_json_describe_value(tool, shown, sizeof shown);
        mg_set_err(err, errlen, "%s: tool: %s is not \"memgate\"", b->path, shown);
        return -1;
    }
    return parse_tests(b, tests, err, errlen);
}

int mg_baseline_load(const char *path, mg_baseline **out, char *err, size_t errlen) {
    if (!out) return -1;
    *out = NULL;
    if (!path) {
        mg_set_err(err, errlen, "no baseline file given");
        return -1;
    }
    cJSON *root = mg_json_load_file(path, "baseline", "a memgate baseline",
                                    /* blame_strings */ false, err, errlen);
    if (!root) return -1;
    mg_baseline *b = mg_xcalloc(1, sizeof *b);
    b->path = mg_xstrdup(path);
    int rc = parse_document(b, root, err, errlen);
    cJSON_Delete(root);
    if (rc != 0) {
        mg_baseline_free(b);
        return -1;
    }
    *out = b;
    return 0;
}

void mg_baseline_free(mg_baseline *b) {
    if (!b) return;
    free_entries(b->entries, b->n);
    free(b->path);
    free(b);
}

/* ---- comparing ----------------------------------------------------------------- */

/* Appends the sentence for t's regressions to its message ("; " after an existing one):
 * "peak 1.2 MiB > baseline 1.0 MiB + 10%; allocations 130 > baseline 100 + 10%". */
static void append_message(mg_test_result *t, const mg_tolerance *tol) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) return;
    const char *sep = t->message && t->message[0] ? "; " : "";
    if (*sep) fputs(t->message, out);
    const int64_t base[M_COUNT] = {t->baseline.leaked_bytes, t->baseline.object_growth,
                                   t->baseline.peak_bytes, clamp_u64(t->baseline.allocations)};
    for (int m = 0; m < M_COUNT; m++) {
        if (!(t->baseline.regressions & metrics[m].bit)) continue;
        fputs(sep, out);
        mg_report_regression(out, t, metrics[m].bit);
        write_tolerance(out, base[m], tol_one_c(tol, m), metrics[m].bytes);
        sep = "; ";
    }
    if (fclose(out) != 0 || !buf) {
        free(buf);
        return;
    }
    free(t->message);
    t->message = buf;
}

/* Compares one test that has figures with its baseline entry e (NULL: a new test). */
static void compare_test(mg_test_result *t, const entry *e, const mg_tolerance *tol) {
    if (!e) {
        t->baseline.state = MG_BASE_NEW;
        return;
    }
    t->baseline.leaked_bytes = e->v[M_LEAK];
    t->baseline.object_growth = e->v[M_GROWTH];
    t->baseline.peak_bytes = e->v[M_PEAK];
    t->baseline.allocations = (uint64_t)e->v[M_ALLOCS];
    int64_t v[M_COUNT];
    figures_of(t, v);
    for (int m = 0; m < M_COUNT; m++)
        if (regressed(v[m], e->v[m], tol_one_c(tol, m))) t->baseline.regressions |= metrics[m].bit;
    if (!t->baseline.regressions) {
        t->baseline.state = MG_BASE_SAME;
        return;
    }
    t->baseline.state = MG_BASE_REGRESSED;
    if (t->status == MG_ST_PASS) t->status = MG_ST_FAIL;
    append_message(t, tol);
}

void mg_baseline_compare(const mg_baseline *b, const mg_tolerance *tol, mg_run *run) {
    if (!run) return;
    mg_tolerance defaults;
    if (!tol) {
        mg_tolerance_default(&defaults);
        tol = &defaults;
    }
    for (size_t i = 0; i < run->nbaseline_removed; i++) free(run->baseline_removed[i]);
    free(run->baseline_removed);
    run->baseline_removed = NULL;
    run->nbaseline_removed = 0;
    for (size_t i = 0; i < run->ntests; i++)
        memset(&run->tests[i].baseline, 0, sizeof run->tests[i].baseline);
    if (!b) return;
    if (!run->baseline_path) run->baseline_path = mg_xstrdup(b->path);

    char **keys = mg_xcalloc(run->ntests, sizeof *keys);
    for (size_t i = 0; i < run->ntests; i++) {
        mg_test_result *t = &run->tests[i];
        keys[i] = mg_baseline_key(t);
        if (has_figures(t)) compare_test(t, find(b->entries, b->n, keys[i]), tol);
    }
    /* Every test of the run, with figures or not, keeps its key out of "removed". */
    qsort(keys, run->ntests, sizeof *keys, cmp_str);
    for (size_t k = 0; k < b->n; k++) {
        const char *key = b->entries[k].key;
        if (run->ntests && bsearch(&key, keys, run->ntests, sizeof *keys, cmp_str)) continue;
        run->baseline_removed = mg_xrealloc(run->baseline_removed,
                                            (run->nbaseline_removed + 1) * sizeof(char *));
        run->baseline_removed[run->nbaseline_removed++] = mg_xstrdup(key);
    }
    for (size_t i = 0; i < run->ntests; i++) free(keys[i]);
    free(keys);
}

/* ---- writing ------------------------------------------------------------------- */

/* Sorts entries and merges equal keys (two binaries with the same basename) into one
 * holding the larger figure of each metric, so both tests pass against it. */
static size_t sort_and_merge(entry *entries, size_t n) {
    if (!n) return 0;
    qsort(entries, n, sizeof *entries, cmp_entry);
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(entries[out].key, entries[i].key) == 0) {
            for (int m = 0; m < M_COUNT; m++)
                if (entries[i].v[m] > entries[out].v[m]) entries[out].v[m] = entries[i].v[m];
            free(entries[i].key);
        } else {
            entries[++out] = entries[i];
        }
    }
    return out + 1;
}

/* Writes s as a JSON string: quotes, backslashes and control characters escaped,
 * everything else (UTF-8 included) as it is. */
static void write_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (*p < 0x20 || *p == 0x7F)
                fprintf(out, "\\u%04x", (unsigned)*p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

/* The document of baseline.h, byte for byte. */
static void write_document(FILE *out, const entry *entries, size_t n) {
    fprintf(out, "{\n  \"schema_version\": %d,\n  \"tool\": \"memgate\",\n",
            BASELINE_SCHEMA_VERSION);
    if (!n) {
        fputs("  \"tests\": {}\n}\n", out);
        return;
    }
    fputs("  \"tests\": {\n", out);
    for (size_t i = 0; i < n; i++) {
        fputs("    ", out);
        write_json_string(out, entries[i].key);
        fputs(": {", out);
        for (int m = 0; m < M_COUNT; m++)
            fprintf(out, "%s\"%s\": %" PRId64, m ? ", " : "", metrics[m].json, entries[i].v[m]);
        fputs(i + 1 < n ? "},\n" : "}\n", out);
    }
    fputs("  }\n}\n", out);
}

/* Negative figures (a test that freed memory it found allocated) are stored as 0: a
 * baseline holds what a test may grow to, and the file format has no negatives. */
int mg_baseline_write(const char *path, const mg_run *run, const mg_baseline *old, bool ratchet,
                      char *err, size_t errlen) {
    if (!path || !run) {
        mg_set_err(err, errlen, "no baseline path or run given");
        return -1;
    }
    size_t cap = run->ntests, n = 0;
    entry *entries = mg_xcalloc(cap, sizeof *entries);
    for (size_t i = 0; i < run->ntests; i++) {
        const mg_test_result *t = &run->tests[i];
        if (!has_figures(t)) continue;
        entry *e = &entries[n++];
        e->key = mg_baseline_key(t);
        figures_of(t, e->v);
        for (int m = 0; m < M_COUNT; m++)
            if (e->v[m] < 0) e->v[m] = 0;
    }
    n = sort_and_merge(entries, n);

    if (ratchet && old) {
        for (size_t i = 0; i < n; i++) {
            const entry *o = find(old->entries, old->n, entries[i].key);
            for (int m = 0; o && m < M_COUNT; m++)
                if (o->v[m] < entries[i].v[m]) entries[i].v[m] = o->v[m];
        }
        /* A test that is in the run but has no figures this time (it crashed, timed
         * out, was skipped) is not missing: its old figures stay. */
        size_t measured = n;
        for (size_t i = 0; i < run->ntests; i++) {
            const mg_test_result *t = &run->tests[i];
            if (has_figures(t)) continue;
            char *key = mg_baseline_key(t);
            const entry *o = find(old->entries, old->n, key);
            if (!o || find(entries, measured, key)) {
                free(key);
                continue;
            }
            entries = mg_xrealloc(entries, (n + 1) * sizeof *entries);
            entries[n] = *o;
            entries[n++].key = key;
        }
        n = sort_and_merge(entries, n);
    }

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        free_entries(entries, n);
        mg_set_err(err, errlen, "cannot write baseline '%s': out of memory", path);
        return -1;
    }
    write_document(out, entries, n);
    free_entries(entries, n);
    if (fclose(out) != 0 || !buf) {
        free(buf);
        mg_set_err(err, errlen, "cannot write baseline '%s': out of memory", path);
        return -1;
    }
    int rc = mg_report_write_atomic(path, "baseline", buf, len, err, errlen);
    free(buf);
    return rc;
}
