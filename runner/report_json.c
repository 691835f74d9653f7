/*
 * Why this file is long: the writer and the strict reader of the report sit together
 * so that every key is written and read in the same terms (a change to one shows
 * beside the other); the figures themselves come from the metric table.
 *
 * JSON reporter: writes the one-document-per-run report of DESIGN.md and reads it back
 * (`memgate report`, `memgate merge`). Reading a document this writer wrote gives back
 * every field exactly, with one limit of JSON itself: strings that are not valid UTF-8
 * were written with U+FFFD in place of the bad bytes.
 *
 * Figures and limits are written as exact integer text and read back exactly (see
 * jsonutil.h), so every value up to 2^63-1 survives a round trip. The figure keys, the
 * budget keys and the names in "violations" and "regressions" all come from the metric
 * table (metrics.h). Documents of an older schema_version are read too: keys that
 * version did not have are optional there (a figure then counts as not measured, a
 * limit as its built-in default).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <memgate/version.h>

#include "jsonutil.h"
#include "report.h"
#include "report_common.h"
#include "util.h"

/* ---- writing ------------------------------------------------------------------- */

/* A string, null for NULL; invalid UTF-8 is mended because JSON text must be UTF-8. */
static void put_str(mg_json_builder *w, cJSON *obj, const char *key, const char *s) {
    if (!s) {
        mg_json_add(w, obj, key, cJSON_CreateNull());
        return;
    }
    char *fixed = mg_utf8_fix(s);
    mg_json_add(w, obj, key, cJSON_CreateString(fixed ? fixed : s));
    free(fixed);
}

/* A number that is not an integer figure (durations). */
static void put_num(mg_json_builder *w, cJSON *obj, const char *key, double v) {
    mg_json_add(w, obj, key, cJSON_CreateNumber(isfinite(v) ? v : 0));
}

/* An integer, as exact decimal text. */
static void put_int(mg_json_builder *w, cJSON *obj, const char *key, int64_t v) {
    mg_json_add(w, obj, key, mg_json_create_i64(v));
}

/* An integer, or null when it is not known. */
static void put_int_or_null(mg_json_builder *w, cJSON *obj, const char *key, bool known,
                            int64_t v) {
    mg_json_add(w, obj, key, known ? mg_json_create_i64(v) : cJSON_CreateNull());
}

static void put_bool(mg_json_builder *w, cJSON *obj, const char *key, bool v) {
    mg_json_add(w, obj, key, cJSON_CreateBool(v));
}

static void put_strings(mg_json_builder *w, cJSON *obj, const char *key, char *const *s,
                        size_t n) {
    cJSON *arr = mg_json_add(w, obj, key, cJSON_CreateArray());
    for (size_t i = 0; arr && i < n; i++) put_str(w, arr, NULL, s[i] ? s[i] : "");
}

/* A list of metric names (violations, regressions) for the bits of mask. */
static void put_metric_names(mg_json_builder *w, cJSON *obj, const char *key, unsigned mask) {
    cJSON *arr = mg_json_add(w, obj, key, cJSON_CreateArray());
    for (int m = 0; arr && m < MG_M_COUNT; m++)
        if (mask & MG_M_BIT(m)) put_str(w, arr, NULL, mg_metric_name((mg_metric)m));
}

static void put_limit(mg_json_builder *w, cJSON *budget, const char *key, const mg_limit *lim) {
    cJSON *o = mg_json_add(w, budget, key, cJSON_CreateObject());
    if (!o) return;
    put_int_or_null(w, o, "value", lim->value >= 0, lim->value);
    put_str(w, o, "source", mg_source_name(lim->source));
    put_str(w, o, "origin", lim->origin);
}

static void put_entries(mg_json_builder *w, cJSON *test, const char *key, const mg_entry *e,
                        size_t n) {
    cJSON *arr = mg_json_add(w, test, key, cJSON_CreateArray());
    if (!arr) return;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = mg_json_add(w, arr, NULL, cJSON_CreateObject());
        if (!o) return;
        put_int(w, o, "size", e[i].size);
        put_int(w, o, "size_diff", e[i].size_diff);
        put_int(w, o, "count", e[i].count);
        put_int(w, o, "count_diff", e[i].count_diff);
        put_int_or_null(w, o, "lost_size", e[i].lost_known, e[i].lost_size);
        put_int_or_null(w, o, "lost_count", e[i].lost_known, e[i].lost_count);
        put_int(w, o, "culprit", (int64_t)(e[i].culprit < e[i].nframes ? e[i].culprit : 0));
        cJSON *tb = mg_json_add(w, o, "traceback", cJSON_CreateArray());
        if (!tb) return;
        for (size_t k = 0; k < e[i].nframes; k++) {
            const mg_frame *f = &e[i].frames[k];
            cJSON *fo = mg_json_add(w, tb, NULL, cJSON_CreateObject());
            if (!fo) return;
            char addr[24];
            snprintf(addr, sizeof addr, "0x%" PRIx64, f->address);
            put_str(w, fo, "function", f->function);
            put_str(w, fo, "file", f->file);
            put_int(w, fo, "line", f->line);
            put_str(w, fo, "module", f->module);
            put_str(w, fo, "address", addr);
        }
    }
}

/* "torture": null, or the allocations counted and each point tried. */
static void put_torture(mg_json_builder *w, cJSON *test, const mg_test_result *t) {
    if (!t->tortured) {
        mg_json_add(w, test, "torture", cJSON_CreateNull());
        return;
    }
    cJSON *o = mg_json_add(w, test, "torture", cJSON_CreateObject());
    if (!o) return;
    put_int(w, o, "allocations", (int64_t)t->torture_allocations);
    cJSON *arr = mg_json_add(w, o, "points", cJSON_CreateArray());
    for (size_t i = 0; arr && i < t->ntorture; i++) {
        const mg_torture_point *p = &t->torture[i];
        cJSON *po = mg_json_add(w, arr, NULL, cJSON_CreateObject());
        if (!po) return;
        put_int(w, po, "alloc", (int64_t)p->alloc);
        put_str(w, po, "outcome", mg_torture_outcome_name(p->outcome));
        put_int(w, po, "leaked_bytes", p->leaked_bytes);
        put_int(w, po, "object_growth", p->object_growth);
        if (p->signal)
            put_str(w, po, "signal", mg_report_signal_name(p->signal));
        else
            mg_json_add(w, po, "signal", cJSON_CreateNull());
        put_str(w, po, "message", p->message);
        put_entries(w, po, "site", p->site, p->nsite);
    }
}

static const char *baseline_state_name(mg_baseline_state st) {
    switch (st) {
    case MG_BASE_NEW: return "new";
    case MG_BASE_SAME: return "same";
    case MG_BASE_REGRESSED: return "regressed";
    case MG_BASE_NONE: break;
    }
    return NULL;
}

/* "baseline": null when no baseline applies to the test, else its state, the
 * baseline's figures (null for a new test, which has none), the tolerance each figure
 * was held to and the names of the figures that regressed. */
static void put_baseline(mg_json_builder *w, cJSON *test, const mg_baseline_cmp *b) {
    const char *state = baseline_state_name(b->state);
    if (!state) {
        mg_json_add(w, test, "baseline", cJSON_CreateNull());
        return;
    }
    cJSON *o = mg_json_add(w, test, "baseline", cJSON_CreateObject());
    if (!o) return;
    bool known = b->state != MG_BASE_NEW;
    put_str(w, o, "state", state);
    for (int m = 0; m < MG_M_COUNT; m++)
        if (mg_metrics[m].baseline) put_int_or_null(w, o, mg_metrics[m].key, known, b->fig[m]);
    if (known && b->tol_known) {
        cJSON *tol = mg_json_add(w, o, "tolerance", cJSON_CreateObject());
        for (int m = 0; tol && m < MG_M_COUNT; m++) {
            if (!mg_metrics[m].baseline) continue;
            cJSON *t = mg_json_add(w, tol, mg_metrics[m].key, cJSON_CreateObject());
            if (!t) break;
            put_num(w, t, "percent", b->tol[m].percent);
            put_int(w, t, "absolute", b->tol[m].absolute);
        }
    } else {
        mg_json_add(w, o, "tolerance", cJSON_CreateNull());
    }
    put_metric_names(w, o, "regressions", b->regressions);
}

static void put_test(mg_json_builder *w, cJSON *tests, const mg_test_result *t) {
    cJSON *o = mg_json_add(w, tests, NULL, cJSON_CreateObject());
    if (!o) return;
    put_str(w, o, "suite", t->suite);
    put_str(w, o, "name", t->name);
    put_str(w, o, "binary", t->binary);
    put_str(w, o, "kind", mg_kind_name(t->kind));
    put_str(w, o, "status", mg_status_name(t->status));
    put_str(w, o, "isolation", mg_isolation_name(t->isolation));
    put_int(w, o, "warmups", t->warmups);
    put_int(w, o, "repeat", t->repeat ? t->repeat : 1);
    cJSON *runs = mg_json_add(w, o, "runs", cJSON_CreateArray());
    for (size_t i = 0; runs && i < t->nruns; i++) {
        cJSON *ro = mg_json_add(w, runs, NULL, cJSON_CreateObject());
        if (!ro) break;
        const mg_run_figures *rf = &t->runs[i];
        put_int_or_null(w, ro, "leaked_bytes", rf->leak_known, rf->leaked_bytes);
        put_int_or_null(w, ro, "object_growth", rf->leak_known, rf->object_growth);
        put_int(w, ro, "net_bytes", rf->net_bytes);
        put_int(w, ro, "net_blocks", rf->net_blocks);
        put_int(w, ro, "peak_bytes", rf->peak_bytes);
    }
    if (t->has_slope) {
        cJSON *sl = mg_json_add(w, o, "slope", cJSON_CreateObject());
        if (sl) {
            put_int(w, sl, "bytes_per_run", t->slope_bytes);
            put_int(w, sl, "blocks_per_run", t->slope_blocks);
        }
    } else {
        mg_json_add(w, o, "slope", cJSON_CreateNull());
    }
    for (int m = 0; m < MG_M_COUNT; m++)
        put_int_or_null(w, o, mg_metrics[m].key, mg_test_known(t, (mg_metric)m), t->fig[m]);
    put_int(w, o, "suppressed_bytes", t->suppressed_bytes);
    put_int(w, o, "suppressed_blocks", t->suppressed_blocks);
    cJSON *budget = mg_json_add(w, o, "budget", cJSON_CreateObject());
    for (int m = 0; budget && m < MG_M_COUNT; m++)
        if (mg_metrics[m].budget_key)
            put_limit(w, budget, mg_metrics[m].budget_key, &t->budget.lim[m]);
    put_metric_names(w, o, "violations", t->violations);
    put_baseline(w, o, &t->baseline);
    put_entries(w, o, "diffs", t->diffs, t->ndiffs);
    put_entries(w, o, "peak_diffs", t->peak_diffs, t->npeak_diffs);
    put_entries(w, o, "crash_site", t->crash_site, t->ncrash_site);
    put_torture(w, o, t);
    cJSON *fails = mg_json_add(w, o, "failures", cJSON_CreateArray());
    for (size_t i = 0; fails && i < t->nfailures; i++) {
        cJSON *f = mg_json_add(w, fails, NULL, cJSON_CreateObject());
        if (!f) break;
        put_str(w, f, "file", t->failures[i].file);
        put_int(w, f, "line", t->failures[i].line);
        put_str(w, f, "condition", t->failures[i].condition);
    }
    put_str(w, o, "message", t->message);
    put_strings(w, o, "notes", t->notes, t->nnotes);
    if (t->signal) {
        cJSON *sig = mg_json_add(w, o, "signal", cJSON_CreateObject());
        if (sig) {
            put_str(w, sig, "name", mg_report_signal_name(t->signal));
            put_int(w, sig, "number", t->signal);
        }
    } else {
        mg_json_add(w, o, "signal", cJSON_CreateNull());
    }
    put_int(w, o, "exit_code", t->exit_code);
    put_num(w, o, "duration_s", t->duration_s);
    put_bool(w, o, "traced", t->traced);
    put_bool(w, o, "rerun_mismatch", t->rerun_mismatch);
    put_str(w, o, "output", t->output);
}

int mg_report_json_write(const mg_run *run, const char *path, char *err, size_t errlen) {
    mg_json_builder w = {false};
    cJSON *doc = cJSON_CreateObject();
    if (!doc) {
        mg_set_err(err, errlen, "cannot write JSON report '%s': out of memory", path);
        return -1;
    }
    put_int(&w, doc, "schema_version", MEMGATE_REPORT_SCHEMA_VERSION);
    put_str(&w, doc, "tool", "memgate");
    put_str(&w, doc, "version", MEMGATE_VERSION_STRING);
    put_str(&w, doc, "started_at", run->started_at);
    put_str(&w, doc, "hostname", run->hostname);
    put_num(&w, doc, "duration_s", run->duration_s);
    /* Only an interrupted run says so: a complete report has no "interrupted" key. */
    if (run->interrupted) put_bool(&w, doc, "interrupted", true);
    mg_tally n;
    mg_run_tally(run, &n);
    cJSON *sum = mg_json_add(&w, doc, "summary", cJSON_CreateObject());
    if (sum) {
        put_int(&w, sum, "total", (int64_t)n.total);
        put_int(&w, sum, "pass", (int64_t)n.pass);
        put_int(&w, sum, "fail", (int64_t)n.fail);
        put_int(&w, sum, "crash", (int64_t)n.crash);
        put_int(&w, sum, "timeout", (int64_t)n.timeout);
        put_int(&w, sum, "error", (int64_t)n.error);
        put_int(&w, sum, "skip", (int64_t)n.skip);
    }
    put_strings(&w, doc, "warnings", run->warnings, run->nwarnings);
    if (run->baseline_path) {
        cJSON *base = mg_json_add(&w, doc, "baseline", cJSON_CreateObject());
        if (base) {
            put_str(&w, base, "path", run->baseline_path);
            put_strings(&w, base, "removed", run->baseline_removed, run->nbaseline_removed);
        }
    } else {
        mg_json_add(&w, doc, "baseline", cJSON_CreateNull());
    }
    put_str(&w, doc, "shard", run->shard);
    cJSON *tests = mg_json_add(&w, doc, "tests", cJSON_CreateArray());
    for (size_t i = 0; tests && i < run->ntests; i++) put_test(&w, tests, &run->tests[i]);

    char *text = w.failed ? NULL : cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text) {
        mg_set_err(err, errlen, "cannot write JSON report '%s': out of memory", path);
        return -1;
    }
    size_t len = strlen(text);
    char *data = mg_xcalloc(len + 2, 1);
    memcpy(data, text, len);
    data[len] = '\n';
    cJSON_free(text);
    int rc = mg_report_write_atomic(path, "JSON report", data, len + 1, err, errlen);
    free(data);
    return rc;
}

/* ---- reading ------------------------------------------------------------------- */

/* Reader state: errors read "PATH: tests[2].budget.leak_bytes.value: expected ...". */
typedef struct jr {
    const char *path;
    char *err;
    size_t errlen;
    int64_t schema; /* the document's schema_version */
} jr;

static int bad(jr *r, const char *where, const char *key, const char *what) {
    const char *dot = *where && key ? "." : "";
    if (!*where && !key)
        mg_set_err(r->err, r->errlen, "%s: %s", r->path, what);
    else
        mg_set_err(r->err, r->errlen, "%s: %s%s%s: %s", r->path, where, dot, key ? key : "",
                   what);
    return -1;
}

/* The member key of obj, or NULL when absent; -1 (with err) when required and absent. */
static int member(jr *r, const char *where, const cJSON *obj, const char *key, bool required,
                  const cJSON **out) {
    *out = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!*out && required) return bad(r, where, key, "missing");
    return 0;
}

/* A string member; null (or absence, when optional) gives NULL. */
static int get_str(jr *r, const char *where, const cJSON *obj, const char *key, bool required,
                   char **out) {
    const cJSON *it;
    *out = NULL;
    if (member(r, where, obj, key, required, &it) < 0) return -1;
    if (!it || cJSON_IsNull(it)) return 0;
    if (!cJSON_IsString(it)) return bad(r, where, key, "expected a string or null");
    *out = mg_xstrdup(it->valuestring);
    return 0;
}

/* The exact integer of node it (the member key of where) in [lo, hi]. */
static int int_value(jr *r, const char *where, const char *key, const cJSON *it, int64_t lo,
                     int64_t hi, int64_t *out) {
    int64_t v = 0;
    mg_json_int rc = mg_json_get_i64(it, &v);
    if (rc == MG_JSON_INT_NOT_NUMBER || rc == MG_JSON_INT_NOT_WHOLE)
        return bad(r, where, key, "expected an integer");
    if (rc != MG_JSON_INT_OK || v < lo || v > hi) {
        char shown[MG_JSON_SHOWN_SIZE], msg[160];
        mg_json_describe_value(it, shown, sizeof shown);
        snprintf(msg, sizeof msg, "%s is out of range [%" PRId64 ", %" PRId64 "]", shown, lo, hi);
        return bad(r, where, key, msg);
    }
    *out = v;
    return 0;
}

/* An integer member in [lo, hi]; absence (when optional) gives 0. */
static int get_int(jr *r, const char *where, const cJSON *obj, const char *key, bool required,
                   int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *it;
    *out = 0;
    if (member(r, where, obj, key, required, &it) < 0) return -1;
    if (!it) return 0;
    return int_value(r, where, key, it, lo, hi, out);
}

/* An integer member that may be null (or, when optional, absent): *known says which. */
static int get_int_or_null(jr *r, const char *where, const cJSON *obj, const char *key,
                           bool required, int64_t lo, int64_t hi, int64_t *out, bool *known) {
    const cJSON *it;
    *out = 0;
    *known = false;
    if (member(r, where, obj, key, required, &it) < 0) return -1;
    if (!it || cJSON_IsNull(it)) return 0;
    if (int_value(r, where, key, it, lo, hi, out) < 0) return -1;
    *known = true;
    return 0;
}

static int get_double(jr *r, const char *where, const cJSON *obj, const char *key, double *out) {
    const cJSON *it;
    *out = 0;
    if (member(r, where, obj, key, false, &it) < 0 || !it) return 0;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return bad(r, where, key, "expected a number");
    *out = it->valuedouble;
    return 0;
}

static int get_bool(jr *r, const char *where, const cJSON *obj, const char *key, bool *out) {
    const cJSON *it;
    *out = false;
    if (member(r, where, obj, key, false, &it) < 0 || !it) return 0;
    if (!cJSON_IsBool(it)) return bad(r, where, key, "expected true or false");
    *out = cJSON_IsTrue(it);
    return 0;
}

/* An array member, or NULL when optional and absent (null counts as absent). */
static int get_array(jr *r, const char *where, const cJSON *obj, const char *key, bool required,
                     const cJSON **out) {
    if (member(r, where, obj, key, required, out) < 0) return -1;
    if (*out && cJSON_IsNull(*out) && !required) *out = NULL;
    if (*out && !cJSON_IsArray(*out)) return bad(r, where, key, "expected an array");
    return 0;
}

static int get_object(jr *r, const char *where, const cJSON *obj, const char *key,
                      const cJSON **out) {
    if (member(r, where, obj, key, true, out) < 0) return -1;
    if (!cJSON_IsObject(*out)) return bad(r, where, key, "expected an object");
    return 0;
}

/* An optional array of strings into a heap array (*out, *n). */
static int get_strings(jr *r, const char *where, const cJSON *obj, const char *key, char ***out,
                       size_t *n) {
    const cJSON *arr, *it;
    if (get_array(r, where, obj, key, false, &arr) < 0) return -1;
    int count = arr ? cJSON_GetArraySize(arr) : 0;
    if (count <= 0) return 0;
    *out = mg_xcalloc((size_t)count, sizeof **out);
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it)) {
            char at[300];
            snprintf(at, sizeof at, "%s%s%s[%zu]", where, *where ? "." : "", key, *n);
            return bad(r, at, NULL, "expected a string");
        }
        (*out)[(*n)++] = mg_xstrdup(it->valuestring);
    }
    return 0;
}

/* Whether the document must have a key that schema version `since` introduced. */
static bool required_since(const jr *r, int since) { return r->schema >= since; }

static int read_limit(jr *r, const char *where, const cJSON *budget, const char *key,
                      bool required, mg_limit *lim) {
    char at[512];
    const cJSON *o, *v;
    snprintf(at, sizeof at, "%s.%s", where, key);
    if (!required && !cJSON_GetObjectItemCaseSensitive(budget, key)) return 0; /* builtin */
    if (get_object(r, where, budget, key, &o) < 0) return -1;
    if (member(r, at, o, "value", true, &v) < 0) return -1;
    if (cJSON_IsNull(v)) {
        lim->value = MG_UNLIMITED;
    } else {
        if (!cJSON_IsNumber(v)) return bad(r, at, "value", "expected an integer >= 0 or null");
        if (int_value(r, at, "value", v, 0, INT64_MAX, &lim->value) < 0) return -1;
    }
    char *src;
    if (get_str(r, at, o, "source", true, &src) < 0) return -1;
    if (!src) return bad(r, at, "source", "expected a string");
    bool found = false;
    for (int s = MG_SRC_BUILTIN; s <= MG_SRC_ANNOTATION && !found; s++) {
        if (strcmp(src, mg_source_name((mg_limit_source)s)) == 0) {
            lim->source = (mg_limit_source)s;
            found = true;
        }
    }
    if (!found) {
        char msg[200];
        snprintf(msg, sizeof msg, "unknown source \"%.80s\" (expected builtin, cli, "
                 "file-defaults, file-test or annotation)", src);
        free(src);
        return bad(r, at, "source", msg);
    }
    free(src);
    free(lim->origin);
    return get_str(r, at, o, "origin", false, &lim->origin);
}

static int read_frame(jr *r, const char *where, const cJSON *o, mg_frame *f) {
    int64_t line;
    char *addr;
    if (!cJSON_IsObject(o)) return bad(r, where, NULL, "expected an object");
    if (get_str(r, where, o, "function", false, &f->function) < 0 ||
        get_str(r, where, o, "file", false, &f->file) < 0 ||
        get_int(r, where, o, "line", false, 0, UINT32_MAX, &line) < 0 ||
        get_str(r, where, o, "module", false, &f->module) < 0 ||
        get_str(r, where, o, "address", false, &addr) < 0)
        return -1;
    f->line = (unsigned)line;
    if (addr) {
        char *end;
        errno = 0;
        unsigned long long a = strtoull(addr + 2, &end, 16);
        bool ok = (addr[0] == '0' && (addr[1] == 'x' || addr[1] == 'X') && addr[2] &&
                   addr[2] != '-' && addr[2] != '+' && addr[2] != ' ' && !*end && errno == 0);
        free(addr);
        if (!ok) return bad(r, where, "address", "expected a \"0x...\" hexadecimal string");
        f->address = (uint64_t)a;
    }
    return 0;
}

/* "runs" (each measured run of a repeated test) and "slope" (its steady growth). */
static int read_runs(jr *r, const char *where, const cJSON *o, mg_test_result *t) {
    const cJSON *arr, *it, *sl;
    if (get_array(r, where, o, "runs", false, &arr) < 0) return -1;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n > 0) {
        t->runs = mg_xcalloc((size_t)n, sizeof *t->runs);
        size_t i = 0;
        cJSON_ArrayForEach(it, arr) {
            char at[256];
            snprintf(at, sizeof at, "%s.runs[%zu]", where, i);
            mg_run_figures *rf = &t->runs[i++];
            bool lb, lg;
            if (!cJSON_IsObject(it)) return bad(r, at, NULL, "expected an object");
            if (get_int_or_null(r, at, it, "leaked_bytes", true, INT64_MIN, INT64_MAX, &rf->leaked_bytes, &lb) < 0 ||
                get_int_or_null(r, at, it, "object_growth", true, INT64_MIN, INT64_MAX, &rf->object_growth, &lg) < 0 ||
                get_int(r, at, it, "net_bytes", true, INT64_MIN, INT64_MAX, &rf->net_bytes) < 0 ||
                get_int(r, at, it, "net_blocks", true, INT64_MIN, INT64_MAX, &rf->net_blocks) < 0 ||
                get_int(r, at, it, "peak_bytes", true, 0, INT64_MAX, &rf->peak_bytes) < 0)
                return -1;
            if (lb != lg) return bad(r, at, "object_growth", "leaked_bytes and object_growth are both null or both set");
            rf->leak_known = lb;
            t->nruns = i;
        }
    }
    if (member(r, where, o, "slope", false, &sl) < 0) return -1;
    if (sl && !cJSON_IsNull(sl)) {
        char at[256];
        snprintf(at, sizeof at, "%s.slope", where);
        if (!cJSON_IsObject(sl)) return bad(r, where, "slope", "expected an object or null");
        if (get_int(r, at, sl, "bytes_per_run", true, INT64_MIN, INT64_MAX, &t->slope_bytes) < 0 ||
            get_int(r, at, sl, "blocks_per_run", true, INT64_MIN, INT64_MAX, &t->slope_blocks) < 0)
            return -1;
        t->has_slope = true;
    }
    return 0;
}

static int read_entries(jr *r, const char *where, const cJSON *test, const char *key,
                        mg_entry **out, size_t *nout) {
    const cJSON *arr, *it;
    if (get_array(r, where, test, key, false, &arr) < 0) return -1;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n <= 0) return 0;
    *out = mg_xcalloc((size_t)n, sizeof **out);
    *nout = (size_t)n;
    size_t i = 0;
    cJSON_ArrayForEach(it, arr) {
        char at[256];
        mg_entry *e = &(*out)[i];
        snprintf(at, sizeof at, "%s.%s[%zu]", where, key, i++);
        if (!cJSON_IsObject(it)) return bad(r, at, NULL, "expected an object");
        const cJSON *tb, *fr;
        bool lost_size_known, lost_count_known;
        int64_t culprit;
        if (get_int(r, at, it, "size", true, INT64_MIN, INT64_MAX, &e->size) < 0 ||
            get_int(r, at, it, "size_diff", true, INT64_MIN, INT64_MAX, &e->size_diff) < 0 ||
            get_int(r, at, it, "count", true, INT64_MIN, INT64_MAX, &e->count) < 0 ||
            get_int(r, at, it, "count_diff", true, INT64_MIN, INT64_MAX, &e->count_diff) < 0 ||
            get_int_or_null(r, at, it, "lost_size", false, 0, INT64_MAX, &e->lost_size,
                            &lost_size_known) < 0 ||
            get_int_or_null(r, at, it, "lost_count", false, 0, INT64_MAX, &e->lost_count,
                            &lost_count_known) < 0 ||
            get_int(r, at, it, "culprit", false, 0, INT64_MAX, &culprit) < 0 ||
            get_array(r, at, it, "traceback", true, &tb) < 0)
            return -1;
        if (lost_size_known != lost_count_known)
            return bad(r, at, "lost_count", "lost_size and lost_count are both null or both set");
        e->lost_known = lost_size_known;
        int nf = cJSON_GetArraySize(tb);
        if (culprit > 0 && culprit >= nf)
            return bad(r, at, "culprit", "is not the index of a frame of the traceback");
        e->culprit = (size_t)culprit;
        if (nf <= 0) continue;
        e->frames = mg_xcalloc((size_t)nf, sizeof *e->frames);
        e->nframes = (size_t)nf;
        size_t k = 0;
        cJSON_ArrayForEach(fr, tb) {
            char fat[300];
            snprintf(fat, sizeof fat, "%s.traceback[%zu]", at, k);
            if (read_frame(r, fat, fr, &e->frames[k++]) < 0) return -1;
        }
    }
    return 0;
}

/* "torture" (memgate torture): null, or the allocations and the points tried. */
static int read_torture(jr *r, const char *where, const cJSON *o, mg_test_result *t) {
    const cJSON *to, *arr, *it;
    if (member(r, where, o, "torture", false, &to) < 0) return -1;
    if (!to || cJSON_IsNull(to)) return 0;
    char at[256];
    snprintf(at, sizeof at, "%s.torture", where);
    if (!cJSON_IsObject(to)) return bad(r, where, "torture", "expected an object or null");
    int64_t allocs;
    if (get_int(r, at, to, "allocations", true, 0, INT64_MAX, &allocs) < 0 ||
        get_array(r, at, to, "points", true, &arr) < 0)
        return -1;
    t->tortured = true;
    t->torture_allocations = (uint64_t)allocs;
    int n = cJSON_GetArraySize(arr);
    if (n <= 0) return 0;
    t->torture = mg_xcalloc((size_t)n, sizeof *t->torture);
    cJSON_ArrayForEach(it, arr) {
        char pat[300];
        snprintf(pat, sizeof pat, "%s.points[%zu]", at, t->ntorture);
        mg_torture_point *p = &t->torture[t->ntorture++];
        int64_t alloc;
        char *outcome = NULL, *sig = NULL;
        if (!cJSON_IsObject(it)) return bad(r, pat, NULL, "expected an object");
        if (get_int(r, pat, it, "alloc", true, 1, INT64_MAX, &alloc) < 0 ||
            get_str(r, pat, it, "outcome", true, &outcome) < 0)
            return -1;
        p->alloc = (uint64_t)alloc;
        bool found = false;
        for (int k = MG_TO_PASS; k <= MG_TO_UNREACHED && outcome && !found; k++)
            if (!strcmp(outcome, mg_torture_outcome_name((mg_torture_outcome)k))) {
                p->outcome = (mg_torture_outcome)k;
                found = true;
            }
        free(outcome);
        if (!found) return bad(r, pat, "outcome", "expected pass, leak, crash, hang, error or unreached");
        if (get_int(r, pat, it, "leaked_bytes", false, 0, INT64_MAX, &p->leaked_bytes) < 0 ||
            get_int(r, pat, it, "object_growth", false, 0, INT64_MAX, &p->object_growth) < 0 ||
            get_str(r, pat, it, "signal", false, &sig) < 0 || get_str(r, pat, it, "message", false, &p->message) < 0 ||
            read_entries(r, pat, it, "site", &p->site, &p->nsite) < 0) {
            free(sig);
            return -1;
        }
        for (int sn = 1; sig && sn < 65; sn++) {
            const char *name = mg_report_signal_name(sn);
            if (name && !strcmp(name, sig)) p->signal = sn;
        }
        free(sig);
    }
    return 0;
}

static int read_failures(jr *r, const char *where, const cJSON *test, mg_test_result *t) {
    const cJSON *arr, *it;
    if (get_array(r, where, test, "failures", false, &arr) < 0) return -1;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n <= 0) return 0;
    t->failures = mg_xcalloc((size_t)n, sizeof *t->failures);
    t->nfailures = (size_t)n;
    size_t i = 0;
    cJSON_ArrayForEach(it, arr) {
        char at[256];
        mg_failure *f = &t->failures[i];
        int64_t line;
        snprintf(at, sizeof at, "%s.failures[%zu]", where, i++);
        if (!cJSON_IsObject(it)) return bad(r, at, NULL, "expected an object");
        if (get_str(r, at, it, "file", false, &f->file) < 0 ||
            get_int(r, at, it, "line", false, 0, UINT32_MAX, &line) < 0 ||
            get_str(r, at, it, "condition", false, &f->condition) < 0)
            return -1;
        f->line = (unsigned)line;
    }
    return 0;
}

/* A list of metric names (violations, regressions) into a mask: names of metrics with
 * a budget (budget_only), or of metrics the baseline tracks. */
static int read_metric_names(jr *r, const char *where, const cJSON *obj, const char *key,
                             bool budget_only, unsigned *out) {
    const cJSON *arr, *it;
    *out = 0;
    if (get_array(r, where, obj, key, false, &arr) < 0) return -1;
    if (!arr) return 0;
    cJSON_ArrayForEach(it, arr) {
        int m = mg_metric_by_key(cJSON_IsString(it) ? it->valuestring : NULL, true);
        bool ok = m >= 0 && (budget_only ? mg_metrics[m].budget_key != NULL : mg_metrics[m].baseline);
        if (!ok) {
            char names[400] = "", *p = names;
            for (int k = 0; k < MG_M_COUNT; k++) {
                bool in = budget_only ? mg_metrics[k].budget_key != NULL : mg_metrics[k].baseline;
                if (in)
                    p += snprintf(p, sizeof names - (size_t)(p - names), "%s%s",
                                  p == names ? "" : ", ", mg_metric_name((mg_metric)k));
            }
            char msg[480];
            snprintf(msg, sizeof msg, "expected names among %s", names);
            return bad(r, where, key, msg);
        }
        *out |= MG_M_BIT(m);
    }
    return 0;
}

/* The test's "baseline": absent or null for none, else the object put_baseline wrote. */
static int read_baseline(jr *r, const char *where, const cJSON *test, mg_baseline_cmp *b) {
    const cJSON *o, *tol;
    memset(b, 0, sizeof *b);
    if (member(r, where, test, "baseline", false, &o) < 0) return -1;
    if (!o || cJSON_IsNull(o)) return 0;
    if (!cJSON_IsObject(o)) return bad(r, where, "baseline", "expected an object or null");
    char at[256];
    snprintf(at, sizeof at, "%s.baseline", where);
    char *state;
    if (get_str(r, at, o, "state", true, &state) < 0) return -1;
    for (int s = MG_BASE_NEW; s <= MG_BASE_REGRESSED && state; s++)
        if (strcmp(state, baseline_state_name((mg_baseline_state)s)) == 0)
            b->state = (mg_baseline_state)s;
    free(state);
    if (b->state == MG_BASE_NONE) return bad(r, at, "state", "expected new, same or regressed");
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!mg_metrics[m].baseline) continue;
        bool known;
        /* Before schema 2 leak and growth were net figures and could be negative: such
         * a baseline leaked nothing (read as 0, so the report written again reads back).
         * A peak or a count was never negative, in any schema. */
        bool old_net = r->schema < 2 && (m == MG_M_LEAK || m == MG_M_GROWTH);
        int64_t lo = mg_metrics[m].may_be_negative || old_net ? INT64_MIN : 0;
        if (get_int_or_null(r, at, o, mg_metrics[m].key, true, lo, INT64_MAX, &b->fig[m],
                            &known) < 0)
            return -1;
        if (old_net && b->fig[m] < 0) b->fig[m] = 0;
    }
    if (member(r, at, o, "tolerance", false, &tol) < 0) return -1;
    if (tol && !cJSON_IsNull(tol)) {
        if (!cJSON_IsObject(tol)) return bad(r, at, "tolerance", "expected an object or null");
        char tat[300];
        snprintf(tat, sizeof tat, "%s.tolerance", at);
        for (int m = 0; m < MG_M_COUNT; m++) {
            const cJSON *one;
            if (!mg_metrics[m].baseline) continue;
            char oat[400];
            snprintf(oat, sizeof oat, "%s.%s", tat, mg_metrics[m].key);
            if (get_object(r, tat, tol, mg_metrics[m].key, &one) < 0 ||
                get_double(r, oat, one, "percent", &b->tol[m].percent) < 0 ||
                get_int(r, oat, one, "absolute", true, 0, INT64_MAX, &b->tol[m].absolute) < 0)
                return -1;
        }
        b->tol_known = true;
    }
    return read_metric_names(r, at, o, "regressions", false, &b->regressions);
}

/* The figures of a test: null is "not measured"; keys newer than the document's
 * schema may be absent.
 *
 * Before schema 2, leaked_bytes and object_growth were net figures. Such a document
 * gives them to the net figures that pair with them (net_bytes, net_blocks), where they
 * belong, and keeps them as leak and growth too, so an old report renders as it did;
 * a negative one cannot be a leak figure and counts as not measured there. Written
 * again, the document then holds schema 2 figures that read back as they are. */
static int read_figures(jr *r, const char *where, const cJSON *o, mg_test_result *t) {
    for (int m = 0; m < MG_M_COUNT; m++) {
        const mg_metric_info *mi = &mg_metrics[m];
        bool known;
        int64_t lo = mi->may_be_negative || r->schema < 2 ? INT64_MIN : 0;
        if (get_int_or_null(r, where, o, mi->key, required_since(r, mi->since), lo, INT64_MAX,
                            &t->fig[m], &known) < 0)
            return -1;
        if (known) t->known |= MG_M_BIT(m);
    }
    if (r->schema >= 2) return 0;
    for (int m = 0; m < MG_M_COUNT; m++) {
        const mg_metric_info *mi = &mg_metrics[m];
        if (mi->line != MG_LINE_PAIRED || mi->since <= r->schema || mg_test_known(t, (mg_metric)m) ||
            !mg_test_known(t, mi->pair))
            continue;
        mg_test_set(t, (mg_metric)m, t->fig[mi->pair]);
        if (t->fig[mi->pair] < 0 && !mg_metrics[mi->pair].may_be_negative)
            t->known &= ~MG_M_BIT(mi->pair);
    }
    return 0;
}

/* An optional enum member given by its names (kind, isolation): index into names. */
static int get_name(jr *r, const char *where, const cJSON *o, const char *key,
                    const char *const *names, int n, int *out) {
    char *s;
    *out = 0;
    if (get_str(r, where, o, key, false, &s) < 0) return -1;
    if (!s) return 0;
    int found = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) found = i;
    free(s);
    if (found < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "expected \"%s\" or \"%s\"", names[0], names[1]);
        return bad(r, where, key, msg);
    }
    *out = found;
    return 0;
}

static int read_test(jr *r, const char *where, const cJSON *o, mg_test_result *t) {
    if (!cJSON_IsObject(o)) return bad(r, where, NULL, "expected an object");
    char *status;
    const cJSON *budget, *sig;
    int64_t num;
    mg_budget_init_builtin(&t->budget);
    if (get_str(r, where, o, "suite", true, &t->suite) < 0 ||
        get_str(r, where, o, "name", true, &t->name) < 0 ||
        get_str(r, where, o, "binary", false, &t->binary) < 0 ||
        get_str(r, where, o, "status", true, &status) < 0)
        return -1;
    if (!t->suite || !t->name) return bad(r, where, t->suite ? "name" : "suite", "must not be null");
    bool found = false;
    for (int s = MG_ST_PASS; s <= MG_ST_SKIP && status && !found; s++) {
        if (strcmp(status, mg_status_name((mg_status)s)) == 0) {
            t->status = (mg_status)s;
            found = true;
        }
    }
    free(status);
    if (!found)
        return bad(r, where, "status", "expected pass, fail, crash, timeout, error or skip");
    const char *const kinds[] = {mg_kind_name(MG_KIND_TEST), mg_kind_name(MG_KIND_SUITE)};
    const char *const isos[] = {mg_isolation_name(MG_ISO_TEST), mg_isolation_name(MG_ISO_SUITE)};
    int kind, iso;
    int64_t warmups, repeat;
    if (get_name(r, where, o, "kind", kinds, 2, &kind) < 0 ||
        get_name(r, where, o, "isolation", isos, 2, &iso) < 0 ||
        get_int(r, where, o, "warmups", false, 0, UINT_MAX, &warmups) < 0 ||
        get_int(r, where, o, "repeat", false, 0, UINT_MAX, &repeat) < 0 ||
        read_runs(r, where, o, t) < 0 ||
        read_figures(r, where, o, t) < 0 ||
        get_int(r, where, o, "suppressed_bytes", false, INT64_MIN, INT64_MAX,
                &t->suppressed_bytes) < 0 ||
        get_int(r, where, o, "suppressed_blocks", false, INT64_MIN, INT64_MAX,
                &t->suppressed_blocks) < 0)
        return -1;
    t->kind = (mg_kind)kind;
    t->isolation = (mg_isolation)iso;
    t->warmups = (unsigned)warmups;
    t->repeat = repeat ? (unsigned)repeat : 1;
    char bat[256];
    snprintf(bat, sizeof bat, "%s.budget", where);
    if (get_object(r, where, o, "budget", &budget) < 0) return -1;
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!mg_metrics[m].budget_key) continue;
        if (read_limit(r, bat, budget, mg_metrics[m].budget_key,
                       required_since(r, mg_metrics[m].since), &t->budget.lim[m]) < 0)
            return -1;
    }
    if (read_metric_names(r, where, o, "violations", true, &t->violations) < 0 ||
        read_baseline(r, where, o, &t->baseline) < 0 ||
        read_entries(r, where, o, "diffs", &t->diffs, &t->ndiffs) < 0 ||
        read_entries(r, where, o, "peak_diffs", &t->peak_diffs, &t->npeak_diffs) < 0 ||
        read_entries(r, where, o, "crash_site", &t->crash_site, &t->ncrash_site) < 0 ||
        read_torture(r, where, o, t) < 0 ||
        read_failures(r, where, o, t) < 0 ||
        get_str(r, where, o, "message", false, &t->message) < 0 ||
        get_strings(r, where, o, "notes", &t->notes, &t->nnotes) < 0 ||
        member(r, where, o, "signal", false, &sig) < 0)
        return -1;
    if (sig && !cJSON_IsNull(sig)) {
        char sat[256];
        snprintf(sat, sizeof sat, "%s.signal", where);
        if (!cJSON_IsObject(sig)) return bad(r, where, "signal", "expected an object or null");
        if (get_int(r, sat, sig, "number", true, 0, 1024, &num) < 0) return -1;
        t->signal = (int)num;
    }
    if (get_int(r, where, o, "exit_code", false, INT_MIN, INT_MAX, &num) < 0) return -1;
    t->exit_code = (int)num;
    if (get_double(r, where, o, "duration_s", &t->duration_s) < 0 ||
        get_bool(r, where, o, "traced", &t->traced) < 0 ||
        get_bool(r, where, o, "rerun_mismatch", &t->rerun_mismatch) < 0 ||
        get_str(r, where, o, "output", false, &t->output) < 0)
        return -1;
    return 0;
}

/* The run's "baseline": absent or null for none, else {"path": ..., "removed": [...]}. */
static int read_run_baseline(jr *r, const cJSON *doc, mg_run *run) {
    const cJSON *o;
    if (member(r, "", doc, "baseline", false, &o) < 0) return -1;
    if (!o || cJSON_IsNull(o)) return 0;
    if (!cJSON_IsObject(o)) return bad(r, "", "baseline", "expected an object or null");
    if (get_str(r, "baseline", o, "path", true, &run->baseline_path) < 0) return -1;
    if (!run->baseline_path) return bad(r, "baseline", "path", "expected a string");
    return get_strings(r, "baseline", o, "removed", &run->baseline_removed,
                       &run->nbaseline_removed);
}

static int read_doc(jr *r, const cJSON *doc, mg_run *run) {
    const cJSON *tool, *tests, *it;
    if (!cJSON_IsObject(doc)) return bad(r, "", NULL, "not a memgate report (expected an object)");
    tool = cJSON_GetObjectItemCaseSensitive(doc, "tool");
    if (!cJSON_IsString(tool) || strcmp(tool->valuestring, "memgate") != 0)
        return bad(r, "", NULL, "not a memgate report (\"tool\" is not \"memgate\")");
    if (get_int(r, "", doc, "schema_version", true, 1, 1000000000, &r->schema) < 0) return -1;
    if (r->schema > MEMGATE_REPORT_SCHEMA_VERSION) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%" PRId64 " is newer than this memgate understands (%d); use a newer memgate",
                 r->schema, MEMGATE_REPORT_SCHEMA_VERSION);
        return bad(r, "", "schema_version", msg);
    }
    if (get_str(r, "", doc, "started_at", false, &run->started_at) < 0 ||
        get_str(r, "", doc, "hostname", false, &run->hostname) < 0 ||
        get_double(r, "", doc, "duration_s", &run->duration_s) < 0 ||
        get_bool(r, "", doc, "interrupted", &run->interrupted) < 0 ||
        get_strings(r, "", doc, "warnings", &run->warnings, &run->nwarnings) < 0 ||
        read_run_baseline(r, doc, run) < 0 ||
        get_str(r, "", doc, "shard", false, &run->shard) < 0 ||
        get_array(r, "", doc, "tests", true, &tests) < 0)
        return -1;
    int n = cJSON_GetArraySize(tests);
    if (n <= 0) return 0;
    run->tests = mg_xcalloc((size_t)n, sizeof *run->tests);
    run->ntests = (size_t)n;
    size_t i = 0;
    cJSON_ArrayForEach(it, tests) {
        char at[64];
        snprintf(at, sizeof at, "tests[%zu]", i);
        if (read_test(r, at, it, &run->tests[i++]) < 0) return -1;
    }
    return 0;
}

int mg_report_json_read(const char *path, mg_run *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    size_t len;
    bool open_failed;
    char *text = mg_read_file(path, &len, &open_failed);
    if (!text) {
        if (open_failed)
            mg_set_err(err, errlen, "cannot read JSON report '%s': %s", path, strerror(errno));
        else
            mg_set_err(err, errlen, "cannot read JSON report '%s': read error", path);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        mg_set_err(err, errlen, "%s: contains a NUL byte, not a JSON report", path);
        free(text);
        return -1;
    }
    const char *end = NULL;
    cJSON *doc = mg_json_parse(text, len, &end);
    if (!doc) {
        /* Say where the parser stopped, as a line and column people can look up. */
        size_t off = end && end > text ? (size_t)(end - text) : 0, line, col;
        mg_json_line_col(text, off < len ? off : len, &line, &col);
        if (len == 0)
            mg_set_err(err, errlen, "%s: empty file, not a JSON report", path);
        else
            mg_set_err(err, errlen, "%s: not valid JSON (line %zu, column %zu)", path, line, col);
        free(text);
        return -1;
    }
    free(text);
    jr r = {path, err, errlen, 0};
    int rc = read_doc(&r, doc, out);
    cJSON_Delete(doc);
    if (rc < 0) {
        mg_run_free_contents(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}
