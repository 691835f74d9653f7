/*
 * JSON reporter: writes the one-document-per-run report of DESIGN.md and reads it back
 * (`memgate report`, `memgate merge`). Reading a document this writer wrote gives back
 * every field exactly, with two limits of JSON itself: strings that are not valid UTF-8
 * were written with U+FFFD in place of the bad bytes, and integers are exact up to 2^53.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <memgate/version.h>

#include "jsonutil.h"
#include "report.h"
#include "report_common.h"
#include "util.h"

/* The largest integer a JSON number (an IEEE double) holds exactly. */
#define MAX_EXACT_INT 9007199254740992.0

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

static void put_num(mg_json_builder *w, cJSON *obj, const char *key, double v) {
    mg_json_add(w, obj, key, cJSON_CreateNumber(isfinite(v) ? v : 0));
}

static void put_bool(mg_json_builder *w, cJSON *obj, const char *key, bool v) {
    mg_json_add(w, obj, key, cJSON_CreateBool(v));
}

static void put_limit(mg_json_builder *w, cJSON *budget, const char *key, const mg_limit *lim) {
    cJSON *o = mg_json_add(w, budget, key, cJSON_CreateObject());
    if (!o) return;
    if (lim->value < 0)
        mg_json_add(w, o, "value", cJSON_CreateNull());
    else
        put_num(w, o, "value", (double)lim->value);
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
        put_num(w, o, "size", (double)e[i].size);
        put_num(w, o, "size_diff", (double)e[i].size_diff);
        put_num(w, o, "count", (double)e[i].count);
        put_num(w, o, "count_diff", (double)e[i].count_diff);
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
            put_num(w, fo, "line", f->line);
            put_str(w, fo, "module", f->module);
            put_str(w, fo, "address", addr);
        }
    }
}

/* The names of the figures in "violations" and in the baseline's "regressions". */
static const struct {
    unsigned bit;
    const char *name;
} figure_names[] = {{MG_VIOL_LEAK, "leak_bytes"},
                    {MG_VIOL_GROWTH, "object_growth"},
                    {MG_VIOL_PEAK, "peak_bytes"},
                    {MG_VIOL_ALLOCS, "allocations"}};
#define N_FIGURE_NAMES (sizeof figure_names / sizeof figure_names[0])

static const char *baseline_state_name(mg_baseline_state st) {
    switch (st) {
    case MG_BASE_NEW: return "new";
    case MG_BASE_SAME: return "same";
    case MG_BASE_REGRESSED: return "regressed";
    case MG_BASE_NONE: break;
    }
    return NULL;
}

/* A baseline figure: null for a new test, which has none. */
static void put_base_figure(mg_json_builder *w, cJSON *obj, const char *key, bool known,
                            double v) {
    if (known)
        put_num(w, obj, key, v);
    else
        mg_json_add(w, obj, key, cJSON_CreateNull());
}

/* "baseline": null when no baseline applies to the test, else its state, the
 * baseline's figures and the names of the figures that regressed. */
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
    put_base_figure(w, o, "leaked_bytes", known, (double)b->leaked_bytes);
    put_base_figure(w, o, "object_growth", known, (double)b->object_growth);
    put_base_figure(w, o, "peak_bytes", known, (double)b->peak_bytes);
    put_base_figure(w, o, "allocations", known, (double)b->allocations);
    cJSON *regs = mg_json_add(w, o, "regressions", cJSON_CreateArray());
    for (size_t i = 0; regs && i < N_FIGURE_NAMES; i++)
        if (b->regressions & figure_names[i].bit) put_str(w, regs, NULL, figure_names[i].name);
}

static void put_test(mg_json_builder *w, cJSON *tests, const mg_test_result *t) {
    cJSON *o = mg_json_add(w, tests, NULL, cJSON_CreateObject());
    if (!o) return;
    put_str(w, o, "suite", t->suite);
    put_str(w, o, "name", t->name);
    put_str(w, o, "binary", t->binary);
    put_str(w, o, "status", mg_status_name(t->status));
    put_num(w, o, "leaked_bytes", (double)t->leaked_bytes);
    put_num(w, o, "object_growth", (double)t->object_growth);
    put_num(w, o, "peak_bytes", (double)t->peak_bytes);
    put_num(w, o, "allocations", (double)t->allocations);
    cJSON *budget = mg_json_add(w, o, "budget", cJSON_CreateObject());
    if (budget) {
        put_limit(w, budget, "leak_bytes", &t->budget.leak_bytes);
        put_limit(w, budget, "object_growth", &t->budget.object_growth);
        put_limit(w, budget, "peak_bytes", &t->budget.peak_bytes);
    }
    cJSON *viol = mg_json_add(w, o, "violations", cJSON_CreateArray());
    if (viol) {
        if (t->violations & MG_VIOL_LEAK) put_str(w, viol, NULL, "leak_bytes");
        if (t->violations & MG_VIOL_GROWTH) put_str(w, viol, NULL, "object_growth");
        if (t->violations & MG_VIOL_PEAK) put_str(w, viol, NULL, "peak_bytes");
    }
    put_baseline(w, o, &t->baseline);
    put_entries(w, o, "diffs", t->diffs, t->ndiffs);
    put_entries(w, o, "peak_diffs", t->peak_diffs, t->npeak_diffs);
    cJSON *fails = mg_json_add(w, o, "failures", cJSON_CreateArray());
    for (size_t i = 0; fails && i < t->nfailures; i++) {
        cJSON *f = mg_json_add(w, fails, NULL, cJSON_CreateObject());
        if (!f) break;
        put_str(w, f, "file", t->failures[i].file);
        put_num(w, f, "line", t->failures[i].line);
        put_str(w, f, "condition", t->failures[i].condition);
    }
    put_str(w, o, "message", t->message);
    if (t->signal) {
        cJSON *sig = mg_json_add(w, o, "signal", cJSON_CreateObject());
        if (sig) {
            put_str(w, sig, "name", mg_report_signal_name(t->signal));
            put_num(w, sig, "number", t->signal);
        }
    } else {
        mg_json_add(w, o, "signal", cJSON_CreateNull());
    }
    put_num(w, o, "exit_code", t->exit_code);
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
    put_num(&w, doc, "schema_version", MEMGATE_REPORT_SCHEMA_VERSION);
    put_str(&w, doc, "tool", "memgate");
    put_str(&w, doc, "version", MEMGATE_VERSION_STRING);
    put_str(&w, doc, "started_at", run->started_at);
    put_str(&w, doc, "hostname", run->hostname);
    put_num(&w, doc, "duration_s", run->duration_s);
    mg_tally n;
    mg_run_tally(run, &n);
    cJSON *sum = mg_json_add(&w, doc, "summary", cJSON_CreateObject());
    if (sum) {
        put_num(&w, sum, "total", (double)n.total);
        put_num(&w, sum, "pass", (double)n.pass);
        put_num(&w, sum, "fail", (double)n.fail);
        put_num(&w, sum, "crash", (double)n.crash);
        put_num(&w, sum, "timeout", (double)n.timeout);
        put_num(&w, sum, "error", (double)n.error);
        put_num(&w, sum, "skip", (double)n.skip);
    }
    if (run->baseline_path) {
        cJSON *base = mg_json_add(&w, doc, "baseline", cJSON_CreateObject());
        if (base) {
            put_str(&w, base, "path", run->baseline_path);
            cJSON *removed = mg_json_add(&w, base, "removed", cJSON_CreateArray());
            for (size_t i = 0; removed && i < run->nbaseline_removed; i++)
                put_str(&w, removed, NULL, run->baseline_removed[i]);
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

/* An integral number member in [lo, hi]; absence (when optional) gives 0. */
static int get_int(jr *r, const char *where, const cJSON *obj, const char *key, bool required,
                   double lo, double hi, double *out) {
    const cJSON *it;
    *out = 0;
    if (member(r, where, obj, key, required, &it) < 0) return -1;
    if (!it) return 0;
    if (!cJSON_IsNumber(it)) return bad(r, where, key, "expected an integer");
    double d = it->valuedouble;
    if (!isfinite(d) || d != floor(d)) return bad(r, where, key, "expected an integer");
    if (d < lo || d > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "%.17g is out of range [%.17g, %.17g]", d, lo, hi);
        return bad(r, where, key, msg);
    }
    *out = d;
    return 0;
}

static int get_i64(jr *r, const char *where, const cJSON *obj, const char *key, bool required,
                   int64_t *out) {
    double d;
    if (get_int(r, where, obj, key, required, -MAX_EXACT_INT, MAX_EXACT_INT, &d) < 0) return -1;
    *out = (int64_t)d;
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

static int read_limit(jr *r, const char *where, const cJSON *budget, const char *key,
                      mg_limit *lim) {
    char at[256];
    const cJSON *o, *v;
    snprintf(at, sizeof at, "%s.%s", where, key);
    if (get_object(r, where, budget, key, &o) < 0) return -1;
    if (member(r, at, o, "value", true, &v) < 0) return -1;
    if (cJSON_IsNull(v)) {
        lim->value = MG_UNLIMITED;
    } else {
        double d;
        if (!cJSON_IsNumber(v)) return bad(r, at, "value", "expected an integer >= 0 or null");
        if (get_int(r, at, o, "value", true, 0, MAX_EXACT_INT, &d) < 0) return -1;
        lim->value = (int64_t)d;
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
    return get_str(r, at, o, "origin", false, &lim->origin);
}

static int read_frame(jr *r, const char *where, const cJSON *o, mg_frame *f) {
    double line;
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
        if (get_i64(r, at, it, "size", true, &e->size) < 0 ||
            get_i64(r, at, it, "size_diff", true, &e->size_diff) < 0 ||
            get_i64(r, at, it, "count", true, &e->count) < 0 ||
            get_i64(r, at, it, "count_diff", true, &e->count_diff) < 0 ||
            get_array(r, at, it, "traceback", true, &tb) < 0)
            return -1;
        int nf = cJSON_GetArraySize(tb);
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
        double line;
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

static int read_violations(jr *r, const char *where, const cJSON *test, unsigned *out) {
    const cJSON *arr, *it;
    *out = 0;
    if (get_array(r, where, test, "violations", false, &arr) < 0) return -1;
    if (!arr) return 0;
    cJSON_ArrayForEach(it, arr) {
        const char *s = cJSON_IsString(it) ? it->valuestring : "";
        if (strcmp(s, "leak_bytes") == 0)
            *out |= MG_VIOL_LEAK;
        else if (strcmp(s, "object_growth") == 0)
            *out |= MG_VIOL_GROWTH;
        else if (strcmp(s, "peak_bytes") == 0)
            *out |= MG_VIOL_PEAK;
        else
            return bad(r, where, "violations",
                       "expected names among leak_bytes, object_growth, peak_bytes");
    }
    return 0;
}

/* A baseline figure: null (a new test has none) gives 0. */
static int get_base_figure(jr *r, const char *where, const cJSON *obj, const char *key,
                           double lo, double *out) {
    const cJSON *it;
    *out = 0;
    if (member(r, where, obj, key, true, &it) < 0) return -1;
    if (cJSON_IsNull(it)) return 0;
    return get_int(r, where, obj, key, true, lo, MAX_EXACT_INT, out);
}

/* The test's "baseline": absent or null for none, else the object put_baseline wrote. */
static int read_baseline(jr *r, const char *where, const cJSON *test, mg_baseline_cmp *b) {
    const cJSON *o, *arr, *it;
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
    double leak, growth, peak, allocs;
    if (get_base_figure(r, at, o, "leaked_bytes", -MAX_EXACT_INT, &leak) < 0 ||
        get_base_figure(r, at, o, "object_growth", -MAX_EXACT_INT, &growth) < 0 ||
        get_base_figure(r, at, o, "peak_bytes", -MAX_EXACT_INT, &peak) < 0 ||
        get_base_figure(r, at, o, "allocations", 0, &allocs) < 0 ||
        get_array(r, at, o, "regressions", false, &arr) < 0)
        return -1;
    b->leaked_bytes = (int64_t)leak;
    b->object_growth = (int64_t)growth;
    b->peak_bytes = (int64_t)peak;
    b->allocations = (uint64_t)allocs;
    if (!arr) return 0;
    cJSON_ArrayForEach(it, arr) {
        const char *s = cJSON_IsString(it) ? it->valuestring : "";
        unsigned bit = 0;
        for (size_t i = 0; i < N_FIGURE_NAMES; i++)
            if (strcmp(s, figure_names[i].name) == 0) bit = figure_names[i].bit;
        if (!bit)
            return bad(r, at, "regressions",
                       "expected names among leak_bytes, object_growth, peak_bytes, allocations");
        b->regressions |= bit;
    }
    return 0;
}

static int read_test(jr *r, const char *where, const cJSON *o, mg_test_result *t) {
    if (!cJSON_IsObject(o)) return bad(r, where, NULL, "expected an object");
    char *status;
    const cJSON *budget, *sig;
    double num;
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
    char bat[256];
    snprintf(bat, sizeof bat, "%s.budget", where);
    if (get_i64(r, where, o, "leaked_bytes", true, &t->leaked_bytes) < 0 ||
        get_i64(r, where, o, "object_growth", true, &t->object_growth) < 0 ||
        get_i64(r, where, o, "peak_bytes", true, &t->peak_bytes) < 0 ||
        get_int(r, where, o, "allocations", false, 0, MAX_EXACT_INT, &num) < 0)
        return -1;
    t->allocations = (uint64_t)num;
    if (get_object(r, where, o, "budget", &budget) < 0 ||
        read_limit(r, bat, budget, "leak_bytes", &t->budget.leak_bytes) < 0 ||
        read_limit(r, bat, budget, "object_growth", &t->budget.object_growth) < 0 ||
        read_limit(r, bat, budget, "peak_bytes", &t->budget.peak_bytes) < 0 ||
        read_violations(r, where, o, &t->violations) < 0 ||
        read_baseline(r, where, o, &t->baseline) < 0 ||
        read_entries(r, where, o, "diffs", &t->diffs, &t->ndiffs) < 0 ||
        read_entries(r, where, o, "peak_diffs", &t->peak_diffs, &t->npeak_diffs) < 0 ||
        read_failures(r, where, o, t) < 0 ||
        get_str(r, where, o, "message", false, &t->message) < 0 ||
        member(r, where, o, "signal", false, &sig) < 0)
        return -1;
    if (sig && !cJSON_IsNull(sig)) {
        char sat[256];
        snprintf(sat, sizeof sat, "%s.signal", where);
        if (!cJSON_IsObject(sig)) return bad(r, where, "signal", "expected an object or null");
        if (get_int(r, sat, sig, "number", true, 0, 1024, &num) < 0) return -1;
        t->signal = (int)num;
    }
    if (get_int(r, where, o, "exit_code", false, -2147483648.0, 2147483647.0, &num) < 0)
        return -1;
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
    const cJSON *o, *arr, *it;
    if (member(r, "", doc, "baseline", false, &o) < 0) return -1;
    if (!o || cJSON_IsNull(o)) return 0;
    if (!cJSON_IsObject(o)) return bad(r, "", "baseline", "expected an object or null");
    if (get_str(r, "baseline", o, "path", true, &run->baseline_path) < 0) return -1;
    if (!run->baseline_path) return bad(r, "baseline", "path", "expected a string");
    if (get_array(r, "baseline", o, "removed", false, &arr) < 0) return -1;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n <= 0) return 0;
    run->baseline_removed = mg_xcalloc((size_t)n, sizeof *run->baseline_removed);
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it)) {
            char at[64];
            snprintf(at, sizeof at, "baseline.removed[%zu]", run->nbaseline_removed);
            return bad(r, at, NULL, "expected a string");
        }
        run->baseline_removed[run->nbaseline_removed++] = mg_xstrdup(it->valuestring);
    }
    return 0;
}

static int read_doc(jr *r, const cJSON *doc, mg_run *run) {
    const cJSON *tool, *tests, *it;
    double schema;
    if (!cJSON_IsObject(doc)) return bad(r, "", NULL, "not a memgate report (expected an object)");
    tool = cJSON_GetObjectItemCaseSensitive(doc, "tool");
    if (!cJSON_IsString(tool) || strcmp(tool->valuestring, "memgate") != 0)
        return bad(r, "", NULL, "not a memgate report (\"tool\" is not \"memgate\")");
    if (get_int(r, "", doc, "schema_version", true, 1, 1e9, &schema) < 0) return -1;
    if (schema > MEMGATE_REPORT_SCHEMA_VERSION) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%.0f is newer than this memgate understands (%d); use a newer memgate",
                 schema, MEMGATE_REPORT_SCHEMA_VERSION);
        return bad(r, "", "schema_version", msg);
    }
    if (get_str(r, "", doc, "started_at", false, &run->started_at) < 0 ||
        get_str(r, "", doc, "hostname", false, &run->hostname) < 0 ||
        get_double(r, "", doc, "duration_s", &run->duration_s) < 0 ||
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
    /* The length includes the terminating NUL: that is how cJSON checks that nothing
     * follows the document. */
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len + 1, &end, true);
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
    jr r = {path, err, errlen};
    int rc = read_doc(&r, doc, out);
    cJSON_Delete(doc);
    if (rc < 0) {
        mg_run_free_contents(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}
