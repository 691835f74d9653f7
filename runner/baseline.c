/*
 * Baselines (contract in baseline.h): tolerance texts, loading and validating a baseline
 * file, comparing a run with it, and writing one back, merged, ratcheted or pruned.
 * Why this file is long: the file's reader, its writer and the merge rules (selections
 * merge, --prune only on a full run, --ratchet) must agree key for key; split apart,
 * a key format change could reach one side only.
 *
 * Keys are built by mg_baseline_key() everywhere (compare, write), and that function
 * mends invalid UTF-8 the way the JSON report does, so a key written to the file reads
 * back byte for byte equal to the key the next run computes.
 *
 * Tolerances are applied in integer arithmetic (mg_tolerance_exceeded in model.c): a
 * percentage is held in millionths of a percent, so "10%" of 1000 is exactly 100 and the
 * boundary (== base + tolerance passes, one more fails) never depends on floating-point
 * rounding.
 */
#include "baseline.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonutil.h"
#include "report_common.h"
#include "util.h"

/* Version 2: keys name the binary by its path as given; version 1 by its basename. */
#define BASELINE_SCHEMA_VERSION 2
/* Decimals kept in a percentage ("2.125%"). */
#define PERCENT_DECIMALS 6

typedef struct entry {
    char *key;
    int64_t v[MG_M_COUNT]; /* the tracked metrics' figures, each >= 0 */
} entry;

struct mg_baseline {
    char *path;
    int version;    /* schema_version of the file */
    entry *entries; /* sorted bytewise by key, no two equal */
    size_t n;
};

static bool tracked(int m) { return mg_metrics[m].baseline; }

/* ---- tolerances ---------------------------------------------------------------- */

void mg_tolerance_default(mg_tolerance *t) {
    if (!t) return;
    memset(t, 0, sizeof *t);
    for (int m = 0; m < MG_M_COUNT; m++)
        if (tracked(m)) t->m[m].percent = mg_metrics[m].tol_percent;
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
 * millionths of a percent. -1 on junk, too many decimals or a value above
 * MG_TOLERANCE_PERCENT_MAX. */
static int parse_percent(const char *s, int64_t *micro) {
    int64_t whole = 0, frac = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > MG_TOLERANCE_PERCENT_MAX) return -1;
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
    return *micro > (int64_t)MG_TOLERANCE_PERCENT_MAX * 1000000 ? -1 : 0;
}

/* "leak, growth, peak or allocs": the tolerance names, for messages. */
static void tolerance_names(char *buf, size_t len) {
    const char *names[MG_M_COUNT];
    size_t n = 0, o = 0;
    for (int m = 0; m < MG_M_COUNT; m++)
        if (tracked(m) && mg_metrics[m].tol_name) names[n++] = mg_metrics[m].tol_name;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++) {
        int w = snprintf(buf + o, len - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                         names[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

/* Parses one "NAME=VALUE" item (already trimmed) into t; seen marks metrics given. */
static int parse_tolerance_item(const char *item, mg_tolerance *t, bool seen[MG_M_COUNT],
                                char *err, size_t errlen) {
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
    for (int i = 0; i < MG_M_COUNT; i++)
        if (tracked(i) && mg_metrics[i].tol_name && strcmp(name, mg_metrics[i].tol_name) == 0)
            m = i;
    if (m < 0) {
        char names[128];
        tolerance_names(names, sizeof names);
        mg_set_err(err, errlen, "tolerance item \"%s\": unknown metric \"%s\" (expected %s)", item,
                   name, names);
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
    mg_tolerance_one *one = &t->m[m];
    const bool bytes = mg_metric_bytes((mg_metric)m);
    size_t vlen = strlen(value);
    if (value[vlen - 1] == '%') {
        value[vlen - 1] = '\0';
        int64_t micro;
        if (parse_percent(trim(value), &micro) != 0) {
            mg_set_err(err, errlen,
                       "tolerance item \"%s\": not a percentage from 0%% to %d%% with at most "
                       "%d decimals",
                       item, MG_TOLERANCE_PERCENT_MAX, PERCENT_DECIMALS);
            goto out;
        }
        one->percent = (double)micro / 1e6;
        one->absolute = 0;
    } else {
        int64_t v;
        int bad = bytes ? mg_parse_size(value, &v) : mg_parse_count(value, &v);
        if (bad) {
            mg_set_err(err, errlen, "tolerance item \"%s\": \"%s\" is not a percentage or %s",
                       item, value, bytes ? "a size (try 10% or 4KiB)" : "a count (try 10% or 5)");
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
    bool seen[MG_M_COUNT] = {false};
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

/* ---- keys and lookups ---------------------------------------------------------- */

/* "BIN:SUITE/TEST" with invalid UTF-8 mended. */
static char *make_key(const char *bin, const mg_test_result *t) {
    char *key = mg_xasprintf("%s:%s/%s", bin, t->suite ? t->suite : "", t->name ? t->name : "");
    char *fixed = mg_utf8_fix(key);
    if (!fixed) return key;
    free(key);
    return fixed;
}

char *mg_baseline_key(const mg_test_result *t) { return make_key(t->binary ? t->binary : "", t); }

/* The key a version 1 baseline gave t: the binary's basename. */
static char *legacy_key(const mg_test_result *t) {
    const char *bin = t->binary ? t->binary : "";
    const char *slash = strrchr(bin, '/');
    return make_key(slash ? slash + 1 : bin, t);
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

static bool legacy(const mg_baseline *b) { return b && b->version < 2; }

/* t's entry in b: by its key, or in an old baseline by its basename key (then
 * *by_basename is set). NULL when b has none. */
static const entry *lookup(const mg_baseline *b, const mg_test_result *t, bool *by_basename) {
    if (by_basename) *by_basename = false;
    if (!b) return NULL;
    char *key = mg_baseline_key(t);
    const entry *e = find(b->entries, b->n, key);
    free(key);
    if (e || !legacy(b)) return e;
    key = legacy_key(t);
    e = find(b->entries, b->n, key);
    free(key);
    if (e && by_basename) *by_basename = true;
    return e;
}

static void free_entries(entry *entries, size_t n) {
    for (size_t i = 0; i < n; i++) free(entries[i].key);
    free(entries);
}

/* A test has figures when it ran to the end: passed, or failed an assertion or budget. */
static bool has_figures(const mg_test_result *t) {
    return t->status == MG_ST_PASS || t->status == MG_ST_FAIL;
}

/* ---- loading ------------------------------------------------------------------- */

/* A whole number in [0, INT64_MAX] at `where`, or -1 with err naming path, where and
 * value. */
static int parse_figure(const char *path, const char *where, const cJSON *item, int64_t *out,
                        char *err, size_t errlen) {
    char shown[MG_JSON_SHOWN_SIZE];
    mg_json_describe_value(item, shown, sizeof shown);
    if (!cJSON_IsNumber(item)) {
        mg_set_err(err, errlen, "%s: %s: expected a whole number, not %s", path, where, shown);
        return -1;
    }
    switch (mg_json_get_i64(item, out)) {
    case MG_JSON_INT_OK:
        if (*out >= 0) return 0;
        mg_set_err(err, errlen, "%s: %s: %s is negative", path, where, shown);
        return -1;
    case MG_JSON_INT_TOO_SMALL:
        mg_set_err(err, errlen, "%s: %s: %s is negative", path, where, shown);
        return -1;
    case MG_JSON_INT_TOO_LARGE:
        mg_set_err(err, errlen, "%s: %s: %s is too large (at most %" PRId64 ")", path, where,
                   shown, INT64_MAX);
        return -1;
    case MG_JSON_INT_NOT_WHOLE:
    case MG_JSON_INT_NOT_NUMBER: break;
    }
    mg_set_err(err, errlen, "%s: %s: %s is not a whole number", path, where, shown);
    return -1;
}

/* A key names a test as "BINARY:SUITE/TEST": a ':' with a '/' after it. */
static bool key_is_valid(const char *key) {
    const char *colon = strchr(key, ':');
    return colon && strchr(colon + 1, '/') != NULL;
}

/* "leaked_bytes, object_growth, peak_bytes and allocations". */
static void tracked_keys(char *buf, size_t len) {
    size_t n = 0, o = 0, total = 0;
    for (int m = 0; m < MG_M_COUNT; m++) total += tracked(m);
    buf[0] = '\0';
    for (int m = 0; m < MG_M_COUNT && o < len; m++) {
        if (!tracked(m)) continue;
        n++;
        int w = snprintf(buf + o, len - o, "%s%s", n == 1 ? "" : n == total ? " and " : ", ",
                         mg_metrics[m].key);
        if (w < 0) break;
        o += (size_t)w;
    }
}

/* Parses one "KEY": {figures} member of "tests" into e. */
static int parse_entry(const char *path, const cJSON *item, entry *e, char *err, size_t errlen) {
    char key[256], where[300], keys[160];
    mg_json_escape_key(item->string, key, sizeof key);
    snprintf(where, sizeof where, "tests[\"%s\"]", key);
    tracked_keys(keys, sizeof keys);
    if (!key_is_valid(item->string)) {
        mg_set_err(err, errlen, "%s: %s: a key must be \"BINARY:SUITE/TEST\"", path, where);
        return -1;
    }
    if (!cJSON_IsObject(item)) {
        char shown[MG_JSON_SHOWN_SIZE];
        mg_json_describe_value(item, shown, sizeof shown);
        mg_set_err(err, errlen, "%s: %s: expected an object with %s, not %s", path, where, keys,
                   shown);
        return -1;
    }
    bool seen[MG_M_COUNT] = {false};
    const cJSON *fig;
    cJSON_ArrayForEach(fig, item) {
        int m = mg_metric_by_key(fig->string, false);
        if (m >= 0 && !tracked(m)) m = -1;
        char name[256];
        mg_json_escape_key(fig->string, name, sizeof name);
        if (m < 0) {
            mg_set_err(err, errlen, "%s: %s: unknown key \"%s\" (expected %s)", path, where, name,
                       keys);
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
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (tracked(m) && !seen[m]) {
            mg_set_err(err, errlen, "%s: %s: missing \"%s\"", path, where, mg_metrics[m].key);
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
    b->entries = mg_xcalloc(n ? n : 1, sizeof *b->entries);
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
    int64_t version = 0;
    if (mg_json_get_i64(schema, &version) != MG_JSON_INT_OK || version < 1) {
        mg_set_err(err, errlen, "%s: schema_version: %s is not a version number (expected %d)",
                   b->path, shown, BASELINE_SCHEMA_VERSION);
        return -1;
    }
    if (version > BASELINE_SCHEMA_VERSION) {
        mg_set_err(err, errlen,
                   "%s: schema_version: %s is newer than this memgate understands (%d); use a "
                   "newer memgate",
                   b->path, shown, BASELINE_SCHEMA_VERSION);
        return -1;
    }
    b->version = (int)version;
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

const char *mg_baseline_path(const mg_baseline *b) { return b ? b->path : NULL; }

/* ---- comparing ----------------------------------------------------------------- */

unsigned mg_baseline_compare_test(const mg_baseline *b, const mg_tolerance *tol,
                                  const mg_test_result *t, mg_baseline_cmp *out) {
    memset(out, 0, sizeof *out);
    if (!b || !has_figures(t)) return 0;
    mg_tolerance defaults;
    if (!tol) {
        mg_tolerance_default(&defaults);
        tol = &defaults;
    }
    const entry *e = lookup(b, t, NULL);
    if (!e) {
        out->state = MG_BASE_NEW;
        return 0;
    }
    out->tol_known = true;
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!tracked(m)) continue;
        out->fig[m] = e->v[m];
        out->tol[m] = tol->m[m];
        if (mg_test_known(t, (mg_metric)m) && mg_tolerance_exceeded(t->fig[m], e->v[m], &tol->m[m]))
            out->regressions |= MG_M_BIT(m);
    }
    out->state = out->regressions ? MG_BASE_REGRESSED : MG_BASE_SAME;
    return out->regressions;
}

/* The number of shards in run->shard ("I/N"), 0 when the run is not sharded. */
static unsigned long shard_count(const mg_run *run) {
    const char *slash = run->shard ? strchr(run->shard, '/') : NULL;
    return slash ? strtoul(slash + 1, NULL, 10) : 0;
}

/* Sorted heap copies of the keys of run's tests, and with legacy also their basename
 * keys (then 2 per test). */
static char **run_keys(const mg_run *run, bool with_legacy, size_t *n) {
    size_t per = with_legacy ? 2 : 1;
    char **keys = mg_xcalloc(run->ntests * per + 1, sizeof *keys);
    for (size_t i = 0; i < run->ntests; i++) {
        keys[i * per] = mg_baseline_key(&run->tests[i]);
        if (with_legacy) keys[i * per + 1] = legacy_key(&run->tests[i]);
    }
    *n = run->ntests * per;
    qsort(keys, *n, sizeof *keys, cmp_str);
    return keys;
}

static void free_keys(char **keys, size_t n) {
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
}

/* Adds one warning when tests of run share a key (keys: the run's keys, sorted): a
 * binary given twice would otherwise give one warning per test. what ends it: what
 * becomes of the shared entries. */
static void warn_duplicates(mg_run *run, char *const *keys, size_t n, const char *what) {
    size_t shared = 0, first = 0, first_count = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(keys[j], keys[i]) == 0) j++;
        if (j - i > 1 && shared++ == 0) {
            first = i;
            first_count = j - i;
        }
        i = j;
    }
    if (shared == 1)
        mg_run_add_warning(run,
                           "%zu tests of this run have the baseline key \"%s\" (the same binary "
                           "given twice?); %s",
                           first_count, keys[first], what);
    else if (shared > 1)
        mg_run_add_warning(run,
                           "%zu baseline keys belong to more than one test of this run, e.g. "
                           "\"%s\" (the same binary given twice?); %s",
                           shared, keys[first], what);
}

void mg_baseline_finish_run(const mg_baseline *b, mg_run *run) {
    if (!run) return;
    for (size_t i = 0; i < run->nbaseline_removed; i++) free(run->baseline_removed[i]);
    free(run->baseline_removed);
    run->baseline_removed = NULL;
    run->nbaseline_removed = 0;
    if (!b) return;
    if (!run->baseline_path) run->baseline_path = mg_xstrdup(b->path);

    size_t nkeys;
    char **keys = run_keys(run, false, &nkeys);
    warn_duplicates(run, keys, nkeys, "they share one baseline entry");
    free_keys(keys, nkeys);

    size_t by_basename = 0;
    for (size_t i = 0; i < run->ntests && legacy(b); i++) {
        bool basename = false;
        if (lookup(b, &run->tests[i], &basename) && basename) by_basename++;
    }
    if (by_basename)
        mg_run_add_warning(run,
                           "baseline %s is in the old format (keys name the binary by its "
                           "basename): %zu test%s matched by basename; write it again with "
                           "--update-baseline to key tests by binary path",
                           b->path, by_basename, by_basename == 1 ? "" : "s");

    /* Tests the run did not select are not gone: with -k or one shard of several, no
     * key counts as removed. */
    if (run->partial || shard_count(run) > 1) return;
    /* Every test of the run, with figures or not, keeps its key out of "removed". */
    keys = run_keys(run, legacy(b), &nkeys);
    for (size_t k = 0; k < b->n; k++) {
        const char *key = b->entries[k].key;
        if (nkeys && bsearch(&key, keys, nkeys, sizeof *keys, cmp_str)) continue;
        run->baseline_removed = mg_xrealloc(run->baseline_removed,
                                            (run->nbaseline_removed + 1) * sizeof(char *));
        run->baseline_removed[run->nbaseline_removed++] = mg_xstrdup(key);
    }
    free_keys(keys, nkeys);
}

/* Appends the text of t's regressions to its message ("; " after an existing one). */
static void append_message(mg_test_result *t) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) return;
    const char *sep = t->message && t->message[0] ? "; " : "";
    if (*sep) fputs(t->message, out);
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(t->baseline.regressions & MG_M_BIT(m))) continue;
        fputs(sep, out);
        mg_report_regression(out, t, (mg_metric)m);
        sep = "; ";
    }
    if (fclose(out) != 0 || !buf) {
        free(buf);
        return;
    }
    free(t->message);
    t->message = buf;
}

void mg_baseline_compare(const mg_baseline *b, const mg_tolerance *tol, mg_run *run) {
    if (!run) return;
    for (size_t i = 0; i < run->ntests; i++) {
        mg_test_result *t = &run->tests[i];
        if (!mg_baseline_compare_test(b, tol, t, &t->baseline)) continue;
        if (t->status == MG_ST_PASS) t->status = MG_ST_FAIL;
        append_message(t);
    }
    mg_baseline_finish_run(b, run);
}

/* ---- writing ------------------------------------------------------------------- */

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
        const char *sep = "";
        for (int m = 0; m < MG_M_COUNT; m++) {
            if (!tracked(m)) continue;
            fprintf(out, "%s\"%s\": %" PRId64, sep, mg_metrics[m].key, entries[i].v[m]);
            sep = ", ";
        }
        fputs(i + 1 < n ? "},\n" : "}\n", out);
    }
    fputs("  }\n}\n", out);
}

/* One test of the run with figures, and its key. */
typedef struct measured {
    char *key;
    const mg_test_result *t;
} measured;

static int cmp_measured(const void *a, const void *b) {
    return strcmp(((const measured *)a)->key, ((const measured *)b)->key);
}

/* The figures the file keeps for t: negatives (a net figure of an old report) as 0,
 * unknown figures as the old entry's (0 without one). */
static void figures_for(const mg_test_result *t, const entry *old, int64_t v[MG_M_COUNT]) {
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!tracked(m)) {
            v[m] = 0;
        } else if (mg_test_known(t, (mg_metric)m)) {
            v[m] = t->fig[m] < 0 ? 0 : t->fig[m];
        } else {
            v[m] = old ? old->v[m] : 0;
        }
    }
}

/* Builds the merged entries (see mg_baseline_update); *n gets their number. */
static entry *merge_entries(mg_run *run, const mg_baseline *old, const mg_baseline_update_opts *o,
                            size_t *n) {
    size_t nold = old ? old->n : 0;
    bool *drop = mg_xcalloc(nold + 1, sizeof *drop);
    size_t nm = 0;
    measured *ms = mg_xcalloc(run->ntests + 1, sizeof *ms);
    for (size_t i = 0; i < run->ntests; i++)
        if (has_figures(&run->tests[i]))
            ms[nm++] = (measured){mg_baseline_key(&run->tests[i]), &run->tests[i]};
    qsort(ms, nm, sizeof *ms, cmp_measured);

    char **mkeys = mg_xcalloc(nm + 1, sizeof *mkeys);
    for (size_t i = 0; i < nm; i++) mkeys[i] = ms[i].key;
    warn_duplicates(run, mkeys, nm, "the baseline entry holds their larger figures");
    free(mkeys);

    entry *out = mg_xcalloc(nold + nm + 1, sizeof *out);
    size_t nout = 0;
    for (size_t i = 0; i < nm;) {
        /* Tests sharing a key are one group: one entry with the larger figures. */
        size_t j = i + 1;
        while (j < nm && strcmp(ms[j].key, ms[i].key) == 0) j++;
        bool by_basename = false;
        const entry *oe = lookup(old, ms[i].t, &by_basename);
        entry *e = &out[nout++];
        e->key = mg_xstrdup(ms[i].key);
        figures_for(ms[i].t, oe, e->v);
        for (size_t k = i + 1; k < j; k++) {
            int64_t v[MG_M_COUNT];
            figures_for(ms[k].t, oe, v);
            for (int m = 0; m < MG_M_COUNT; m++)
                if (v[m] > e->v[m]) e->v[m] = v[m];
        }
        if (oe) {
            if (o->ratchet)
                for (int m = 0; m < MG_M_COUNT; m++)
                    if (oe->v[m] < e->v[m]) e->v[m] = oe->v[m];
            drop[oe - old->entries] = true; /* replaced (under its new key, if by basename) */
        }
        i = j;
    }

    /* Pruning: old entries that no test of the run claims, by key or (in an old
     * baseline) by basename, are dropped. */
    if (o->prune && nold) {
        size_t nkeys;
        char **keys = run_keys(run, legacy(old), &nkeys);
        for (size_t k = 0; k < nold; k++) {
            const char *key = old->entries[k].key;
            if (!nkeys || !bsearch(&key, keys, nkeys, sizeof *keys, cmp_str)) drop[k] = true;
        }
        free_keys(keys, nkeys);
    }
    for (size_t k = 0; k < nold; k++) {
        if (drop[k]) continue;
        out[nout] = old->entries[k];
        out[nout++].key = mg_xstrdup(old->entries[k].key);
    }
    qsort(out, nout, sizeof *out, cmp_entry);
    for (size_t i = 0; i < nm; i++) free(ms[i].key);
    free(ms);
    free(drop);
    *n = nout;
    return out;
}

int mg_baseline_update(const char *path, mg_run *run, const mg_baseline *old,
                       const mg_baseline_update_opts *opts, char *err, size_t errlen) {
    if (!path || !run) {
        mg_set_err(err, errlen, "no baseline path or run given");
        return -1;
    }
    mg_baseline_update_opts defaults = {false, false};
    if (!opts) opts = &defaults;
    mg_baseline *loaded = NULL;
    if (!old && access(path, F_OK) == 0) {
        char lerr[1024];
        if (mg_baseline_load(path, &loaded, lerr, sizeof lerr) == 0) {
            old = loaded;
        } else if (run->partial || shard_count(run) > 1) {
            /* A selection keeps the other tests' entries: without them, writing would
             * lose them. */
            mg_set_err(err, errlen, "cannot update baseline '%s' with a selection of tests: %s",
                       path, lerr);
            return -1;
        } else {
            mg_run_add_warning(run, "%s was not a valid baseline and is replaced (%s)", path, lerr);
        }
    }
    if (legacy(old))
        mg_run_add_warning(run,
                           "baseline %s was in the old format (keys by binary basename); the "
                           "tests of this run are now keyed by binary path",
                           old->path);
    size_t n = 0;
    entry *entries = merge_entries(run, old, opts, &n);
    mg_baseline_free(loaded);

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

int mg_baseline_write(const char *path, mg_run *run, const mg_baseline *old, bool ratchet,
                      char *err, size_t errlen) {
    mg_baseline_update_opts o = {ratchet, false};
    return mg_baseline_update(path, run, old, &o, err, errlen);
}
