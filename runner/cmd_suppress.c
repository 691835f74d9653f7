/*
 * `memgate suppress`: turns the failing tests of a JSON report into what would accept
 * them, ready to review and commit:
 *
 *   - leak:PATTERN lines (docs/suppressions.md) for `memgate run --suppressions FILE`,
 *     one per culprit function of each leaked traceback, anchored (^name$) so it hides
 *     nothing else; each preceded by a comment naming the test, the figure and the
 *     traceback, as valgrind --gen-suppressions gives one block per error;
 *   - with --budgets, a budgets file (docs/budgets.md) whose "tests" entries set each
 *     broken limit to the measured figure.
 *
 * What neither can accept is said on stderr and makes the exit status 1: a crash, a
 * timeout, an error, a failed assertion, a regression against a baseline; a peak or net
 * figure for suppressions (they only take leaked blocks out); a limit set by an in-code
 * MEMGATE_BUDGET for budgets (an annotation outranks the file).
 *
 * Arguments are parsed by hand, as in cmd_report.c (no getopt: it keeps global state).
 */
#include "commands.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "model.h"
#include "report.h"
#include "report_common.h"
#include "util.h"

/* Metrics whose figure a suppression lowers (judge.c takes the suppressed blocks out of
 * the leak, the growth and the lost part of the leak). */
#define SUPPRESSIBLE (MG_M_BIT(MG_M_LEAK) | MG_M_BIT(MG_M_GROWTH) | MG_M_BIT(MG_M_LOST_BYTES))

static void suppress_usage(FILE *out) {
    fputs("usage: memgate suppress REPORT.json [-k GLOB]... [--exclude GLOB]... [--budgets]\n"
          "\n"
          "Prints what would accept the failing tests of a JSON report written by\n"
          "`memgate run --json`: LeakSanitizer-style leak:PATTERN lines for\n"
          "`memgate run --suppressions FILE`, one per culprit function of each leaked\n"
          "traceback, with a comment naming the test and the figure; or, with --budgets,\n"
          "a budgets file for `memgate run --budgets FILE` accepting the measured figures.\n"
          "  -k, --filter GLOB  only failing tests whose suite/test matches (repeatable)\n"
          "  --exclude GLOB     leave out tests whose suite/test matches (repeatable)\n"
          "  --budgets          a budgets file instead of suppressions\n"
          "Exit status: 0 the output accepts every selected failing test (or there is\n"
          "none), 1 some failing test cannot be accepted this way (said on stderr), 2 a\n"
          "usage or input error.\n",
          out);
}

/* The value of option `name` at argv[*i] ("--name=V", "--name V"; "-k V" and "-kV" for
 * a short name), moving *i past a separate value. NULL when argv[*i] is not the option;
 * *missing when it is but has no value. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return NULL;
    if (arg[n] == '=' && name[1] == '-') {
        *missing = arg[n + 1] == '\0';
        return *missing ? NULL : arg + n + 1;
    }
    if (arg[n] != '\0') {
        if (name[1] != '-') return arg + n; /* -kGLOB */
        return NULL;
    }
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

typedef struct selection {
    const char **filters, **excludes;
    size_t nfilters, nexcludes;
} selection;

static bool selected(const selection *sel, const mg_test_result *t) {
    char *full = mg_xasprintf("%s/%s", t->suite ? t->suite : "", t->name ? t->name : "");
    bool hit = sel->nfilters == 0;
    for (size_t i = 0; i < sel->nfilters && !hit; i++) hit = fnmatch(sel->filters[i], full, 0) == 0;
    for (size_t i = 0; i < sel->nexcludes && hit; i++) hit = fnmatch(sel->excludes[i], full, 0) != 0;
    free(full);
    return hit;
}

/* s for a comment line or a message: control characters become '?'. Heap string. */
static char *printable(const char *s) {
    char *c = mg_xstrdup(s ? s : "");
    for (unsigned char *p = (unsigned char *)c; *p; p++)
        if (*p < 0x20u || *p == 0x7Fu) *p = '?';
    return c;
}

/* "suite/test", printable. Heap string. */
static char *test_label(const mg_test_result *t) {
    char *raw = mg_xasprintf("%s/%s", t->suite ? t->suite : "", t->name ? t->name : "");
    char *p = printable(raw);
    free(raw);
    return p;
}

/* What a reporter function writes to a stream, as a printable heap string. */
static char *rendered_frame(const mg_frame *f) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return mg_xstrdup("?");
    mg_report_frame(mem, f);
    fclose(mem);
    char *p = printable(buf);
    free(buf);
    return p;
}

static char *rendered_limit(const mg_test_result *t, mg_metric m) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return mg_xstrdup("?");
    mg_report_limit(mem, m, t->fig[m], &t->budget.lim[m]);
    fclose(mem);
    char *p = printable(buf);
    free(buf);
    return p;
}

/* Says on stderr why t cannot be accepted by this output. */
static void cannot(const mg_test_result *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cannot(const mg_test_result *t, const char *fmt, ...) {
    char *label = test_label(t);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *clean = printable(msg);
    fprintf(stderr, "memgate: suppress: %s: %s\n", label, clean);
    free(clean);
    free(label);
}

/* Reasons neither suppressions nor budgets accept: the outcome itself, failed
 * assertions, baseline regressions. True after saying so. */
static bool not_about_budgets(const mg_test_result *t) {
    bool said = false;
    if (t->status == MG_ST_CRASH || t->status == MG_ST_TIMEOUT || t->status == MG_ST_ERROR) {
        char *o = mg_report_outcome(t);
        cannot(t, "%s: only a fix in the code or the test helps", o);
        free(o);
        return true;
    }
    if (t->nfailures) {
        cannot(t, "%zu assertion%s failed: a suppression or a budget cannot accept that", t->nfailures,
               t->nfailures == 1 ? "" : "s");
        said = true;
    }
    if (t->baseline.regressions) {
        cannot(t, "grew beyond the baseline: accept it by writing a new baseline "
                  "(memgate run --update-baseline FILE)");
        said = true;
    }
    if (!said && t->status == MG_ST_FAIL && !t->violations) {
        char *o = mg_report_outcome(t);
        cannot(t, "failed (%s), but broke no budget", o);
        free(o);
        said = true;
    }
    return said;
}

/* ---- suppressions ------------------------------------------------------------- */

typedef struct strset {
    char **items;
    size_t n;
} strset;

static bool strset_has(const strset *s, const char *v) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i], v) == 0) return true;
    return false;
}

static void strset_add(strset *s, const char *v) {
    s->items = mg_xrealloc(s->items, (s->n + 1) * sizeof *s->items);
    s->items[s->n++] = mg_xstrdup(v);
}

static void strset_free(strset *s) {
    for (size_t i = 0; i < s->n; i++) free(s->items[i]);
    free(s->items);
}

/* Whether name can stand in a leak: line as itself: known, printable, and not a name
 * that would match every frame. */
static bool usable_function(const char *name) {
    if (!name || !*name || strcmp(name, "??") == 0) return false;
    bool only_stars = true;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20u || *p == 0x7Fu) return false;
        if (*p != '*') only_stars = false;
    }
    return !only_stars;
}

/* The frame whose function a suppression of e names: the culprit (the innermost frame
 * of the project's own code, culprit.h), or the next frame outwards that has a usable
 * function name. NULL when none has. */
static const mg_frame *pattern_frame(const mg_entry *e) {
    for (size_t k = e->culprit < e->nframes ? e->culprit : 0; k < e->nframes; k++)
        if (usable_function(e->frames[k].function)) return &e->frames[k];
    return NULL;
}

/* One allocation site of a test's leak, for its comment line. */
typedef struct site {
    char *where;          /* "function (file:line)", printable */
    const char *function; /* borrowed from the report */
    int64_t bytes, blocks;
    bool outermost;       /* the traceback's outermost frame: the test body itself */
} site;

/* Writes the suppressions of one failing test; false when they cannot accept it (then
 * said on stderr). */
static bool suppress_test(FILE *out, const mg_test_result *t, strset *patterns) {
    char *label = test_label(t);
    bool ok = !not_about_budgets(t);
    unsigned other = t->violations & ~(unsigned)SUPPRESSIBLE;
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(other & MG_M_BIT(m))) continue;
        char *lim = rendered_limit(t, (mg_metric)m);
        cannot(t, "%s: a suppression only takes leaked blocks out; a budget can accept this "
                  "figure (memgate suppress --budgets)", lim);
        free(lim);
        ok = false;
    }
    if (!(t->violations & SUPPRESSIBLE)) {
        free(label);
        return ok;
    }
    fprintf(out, "\n# %s:", label);
    bool first = true;
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(t->violations & SUPPRESSIBLE & MG_M_BIT(m))) continue;
        char *lim = rendered_limit(t, (mg_metric)m);
        fprintf(out, "%s %s", first ? "" : ",", lim);
        free(lim);
        first = false;
    }
    fputc('\n', out);
    /* The growth by allocation site (the culprit's function and line), in the report's
     * order, largest first: one comment line per site, one leak: line per function. */
    site *sites = mg_xcalloc(t->ndiffs ? t->ndiffs : 1, sizeof *sites);
    size_t nsites = 0;
    int64_t covered_bytes = 0, covered_blocks = 0, covered_lost = 0, unnamed_bytes = 0,
            unnamed_blocks = 0;
    for (size_t i = 0; i < t->ndiffs; i++) {
        const mg_entry *e = &t->diffs[i];
        if (e->size_diff <= 0 && e->count_diff <= 0) continue;
        const mg_frame *f = pattern_frame(e);
        if (!f) {
            unnamed_bytes += e->size_diff;
            unnamed_blocks += e->count_diff;
            continue;
        }
        char *where = rendered_frame(f);
        site *st = NULL;
        for (size_t k = 0; k < nsites && !st; k++)
            if (strcmp(sites[k].where, where) == 0) st = &sites[k];
        if (st) {
            free(where);
        } else {
            st = &sites[nsites++];
            st->where = where;
            st->function = f->function;
        }
        if (e->nframes && f == &e->frames[e->nframes - 1]) st->outermost = true;
        st->bytes += e->size_diff;
        st->blocks += e->count_diff;
        covered_bytes += e->size_diff;
        covered_blocks += e->count_diff;
        covered_lost += e->lost_known ? e->lost_size : 0;
    }
    for (size_t k = 0; k < nsites; k++) {
        char size[48];
        mg_format_size(sites[k].bytes, size, sizeof size);
        fprintf(out, "#   %s in %" PRId64 " block%s allocated in %s\n", size, sites[k].blocks,
                sites[k].blocks == 1 ? "" : "s", sites[k].where);
        char *pattern = mg_xasprintf("^%s$", sites[k].function);
        if (sites[k].outermost && !strset_has(patterns, pattern))
            fprintf(out, "#   note: %s is the test's (or suite function's) own body: this line hides "
                         "every leak allocated in it or in what it calls\n",
                    sites[k].function);
        if (!strset_has(patterns, pattern)) {
            fprintf(out, "leak:%s\n", pattern);
            strset_add(patterns, pattern);
        }
        free(pattern);
        free(sites[k].where);
    }
    free(sites);
    size_t written = nsites;
    if (unnamed_bytes || unnamed_blocks) {
        char size[48];
        mg_format_size(unnamed_bytes, size, sizeof size);
        fprintf(out, "#   %s in %" PRId64 " block%s: no function name in the traceback, no "
                     "suppression\n",
                size, unnamed_blocks, unnamed_blocks == 1 ? "" : "s");
    }
    /* What the suppressions leave must fit the budget, or the test still fails. */
    int64_t left[MG_M_COUNT] = {0};
    left[MG_M_LEAK] = t->fig[MG_M_LEAK] - covered_bytes;
    left[MG_M_GROWTH] = t->fig[MG_M_GROWTH] - covered_blocks;
    left[MG_M_LOST_BYTES] = t->fig[MG_M_LOST_BYTES] - covered_lost;
    if (!written) {
        cannot(t, "the report has no traceback of its leak to name (was it run with "
                  "--no-rerun?); run it again, or use memgate suppress --budgets");
        ok = false;
    } else {
        for (int m = 0; m < MG_M_COUNT; m++) {
            if (!(t->violations & SUPPRESSIBLE & MG_M_BIT(m))) continue;
            int64_t limit = t->budget.lim[m].value;
            if (limit >= 0 && left[m] > limit) {
                char a[48], b[48];
                mg_metric_format((mg_metric)m, left[m], a, sizeof a);
                mg_metric_format((mg_metric)m, limit, b, sizeof b);
                cannot(t, "the report's tracebacks leave %s %s of it unexplained, over its "
                          "budget of %s (only the largest tracebacks are reported)",
                       mg_metrics[m].label, a, b);
                ok = false;
            }
        }
    }
    free(label);
    return ok;
}

/* ---- budgets -------------------------------------------------------------------- */

typedef struct budget_row {
    char *key;      /* "suite/test" */
    bool has[MG_M_COUNT];
    int64_t v[MG_M_COUNT];
} budget_row;

/* Adds the broken limits of t to rows (the largest figure when a test of the same name
 * ran in two binaries); false when some cannot be accepted this way. */
static bool budget_test(const mg_test_result *t, budget_row **rows, size_t *nrows) {
    bool ok = !not_about_budgets(t);
    char *key = mg_xasprintf("%s/%s", t->suite ? t->suite : "", t->name ? t->name : "");
    budget_row *row = NULL;
    for (size_t i = 0; i < *nrows && !row; i++)
        if (strcmp((*rows)[i].key, key) == 0) row = &(*rows)[i];
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(t->violations & MG_M_BIT(m)) || !mg_metrics[m].budget_key) continue;
        const mg_limit *lim = &t->budget.lim[m];
        if (lim->source == MG_SRC_ANNOTATION) {
            char *origin = printable(lim->origin ? lim->origin : "the test");
            cannot(t, "its %s limit comes from MEMGATE_BUDGET at %s, which outranks a budgets "
                      "file: change it there to .%s = %" PRId64,
                   mg_metrics[m].budget_key, origin, mg_metrics[m].budget_key, t->fig[m]);
            free(origin);
            ok = false;
            continue;
        }
        if (!row) {
            *rows = mg_xrealloc(*rows, (*nrows + 1) * sizeof **rows);
            row = &(*rows)[(*nrows)++];
            memset(row, 0, sizeof *row);
            row->key = mg_xstrdup(key);
        }
        if (!row->has[m] || t->fig[m] > row->v[m]) row->v[m] = t->fig[m];
        row->has[m] = true;
    }
    free(key);
    return ok;
}

/* s as a JSON string literal. Heap string. */
static char *json_string(const char *s) {
    cJSON *item = cJSON_CreateString(s);
    char *text = item ? cJSON_PrintUnformatted(item) : NULL;
    cJSON_Delete(item);
    return text ? text : mg_xstrdup("\"\"");
}

/* A budgets file, one test per line in report order. */
static void write_budgets(FILE *out, const char *report, const budget_row *rows, size_t nrows) {
    char *comment_text = mg_xasprintf("memgate suppress --budgets %s: the figures measured for "
                                      "its failing tests, accepted as their budgets", report);
    char *comment = json_string(comment_text);
    fprintf(out, "{\n  \"comment\": %s,\n  \"tests\": {", comment);
    for (size_t i = 0; i < nrows; i++) {
        char *key = json_string(rows[i].key);
        fprintf(out, "%s\n    %s: {", i ? "," : "", key);
        bool first = true;
        for (int m = 0; m < MG_M_COUNT; m++) {
            if (!rows[i].has[m]) continue;
            fprintf(out, "%s\"%s\": %" PRId64, first ? "" : ", ", mg_metrics[m].budget_key, rows[i].v[m]);
            first = false;
        }
        fputc('}', out);
        free(key);
    }
    fputs(nrows ? "\n  }\n}\n" : "}\n}\n", out);
    free(comment);
    free(comment_text);
}

/* ---- the command ------------------------------------------------------------------ */

static bool is_option(const char *arg) { return arg[0] == '-' && arg[1] != '\0'; }

int mg_cmd_suppress(int argc, char **argv) {
    const char *in = NULL;
    bool budgets = false, operands_only = false;
    selection sel = {0};
    sel.filters = mg_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *sel.filters);
    sel.excludes = mg_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *sel.excludes);
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        if (operands_only || !is_option(arg)) {
            if (in) {
                fprintf(stderr, "memgate: suppress: one report expected, got '%s' and '%s'\n", in, arg);
                goto out;
            }
            in = arg;
        } else if (!strcmp(arg, "--")) {
            operands_only = true;
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            suppress_usage(stdout);
            rc = 0;
            goto out;
        } else if (!strcmp(arg, "--budgets")) {
            budgets = true;
        } else if ((v = option_value(argc, argv, &i, "--filter", &missing)) ||
                   (!missing && (v = option_value(argc, argv, &i, "-k", &missing)))) {
            sel.filters[sel.nfilters++] = v;
        } else if (!missing && (v = option_value(argc, argv, &i, "--exclude", &missing))) {
            sel.excludes[sel.nexcludes++] = v;
        } else {
            if (missing)
                fprintf(stderr, "memgate: suppress: %.*s needs a GLOB\n", (int)strcspn(arg, "="), arg);
            else
                fprintf(stderr, "memgate: suppress: unknown option '%s'\n", arg);
            fputs("Try 'memgate suppress --help'.\n", stderr);
            goto out;
        }
    }
    if (!in) {
        fputs("memgate: suppress: no report given (memgate suppress REPORT.json, a report "
              "written by memgate run --json)\n",
              stderr);
        goto out;
    }

    char err[2048];
    mg_run run;
    if (mg_report_json_read(in, &run, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        goto out;
    }
    size_t failing = 0, accepted = 0;
    strset patterns = {0};
    budget_row *rows = NULL;
    size_t nrows = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *body = open_memstream(&buf, &len);
    if (!body) {
        fputs("memgate: suppress: out of memory\n", stderr);
        mg_run_free_contents(&run);
        goto out;
    }
    char *shown_in = printable(in);
    if (!budgets)
        fprintf(body, "# memgate suppress %s: leak suppressions for its failing tests\n"
                      "# (memgate run --suppressions FILE; review each before you commit it)\n",
                shown_in);
    for (size_t i = 0; i < run.ntests; i++) {
        const mg_test_result *t = &run.tests[i];
        if (t->status == MG_ST_PASS || t->status == MG_ST_SKIP || !selected(&sel, t)) continue;
        failing++;
        bool ok = budgets ? budget_test(t, &rows, &nrows) : suppress_test(body, t, &patterns);
        accepted += ok;
    }
    if (budgets) write_budgets(body, shown_in, rows, nrows);
    fclose(body);
    rc = 0;
    if (!failing) {
        fprintf(stderr, "memgate: suppress: no failing test in %s%s: nothing to accept\n", shown_in,
                sel.nfilters || sel.nexcludes ? " that -k/--exclude select" : "");
        /* A budgets file that accepts nothing is still a valid one to pass on. */
        if (budgets) fwrite(buf, 1, len, stdout);
    } else {
        fwrite(buf, 1, len, stdout);
        if (budgets)
            fprintf(stderr, "memgate: suppress: budgets for %zu test%s; %zu of %zu failing test%s "
                            "accepted\n",
                    nrows, nrows == 1 ? "" : "s", accepted, failing, failing == 1 ? "" : "s");
        else
            fprintf(stderr, "memgate: suppress: %zu suppression%s; %zu of %zu failing test%s "
                            "accepted\n",
                    patterns.n, patterns.n == 1 ? "" : "s", accepted, failing, failing == 1 ? "" : "s");
        if (accepted < failing) rc = 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("memgate: suppress: cannot write the output\n", stderr);
        rc = 2;
    }
    free(buf);
    free(shown_in);
    for (size_t i = 0; i < nrows; i++) free(rows[i].key);
    free(rows);
    strset_free(&patterns);
    mg_run_free_contents(&run);
out:
    free(sel.filters);
    free(sel.excludes);
    return rc;
}
