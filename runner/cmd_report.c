/*
 * `memgate report` and `memgate merge`: work on JSON reports after a run, without
 * running anything. `report` renders a JSON report again (console, JUnit, HTML, JSON);
 * `merge` joins the reports of shards or separate runs into one.
 *
 * Both parse their own arguments (no getopt: it keeps global state, and the unit tests
 * call these functions many times in one process) and both answer with the exit status
 * of `memgate run`: 0 every test passed or was skipped, 1 some test did not pass, 2 a
 * usage or input error, said on stderr as "memgate: ...".
 */
#include "commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "model.h"
#include "report.h"
#include "util.h"

/* ---- argument parsing ---------------------------------------------------------- */

/* The value of option `name` at argv[*i]: "--name=VALUE" or "--name VALUE" (then *i
 * moves past VALUE). NULL when argv[*i] is not that option; *missing is set when it is
 * but has no value (or an empty one). */
static const char *option_value(int argc, char **argv, int *i, const char *name,
                                bool *missing) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return NULL;
    if (arg[n] == '=') {
        *missing = arg[n + 1] == '\0';
        return *missing ? NULL : arg + n + 1;
    }
    if (arg[n] != '\0') return NULL;
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static bool is_option(const char *arg) { return arg[0] == '-' && arg[1] != '\0'; }

static void report_usage(FILE *out) {
    fputs("usage: memgate report IN.json [--junit PATH] [--html PATH] [--json PATH]\n"
          "                      [--console] [--color auto|always|never] [-v]\n"
          "\n"
          "Renders a JSON report written by `memgate run --json` or `memgate merge`.\n"
          "With no output option it prints the console summary.\n"
          "  --junit PATH     JUnit XML report\n"
          "  --html PATH      one self-contained HTML page with tables and charts\n"
          "  --json PATH      the JSON report again (e.g. to normalize it)\n"
          "  --console        the console summary, also when writing files\n"
          "  --color WHEN     colours in the console summary: auto (default), always, never\n"
          "  -v, --verbose    also list passing tests in the console summary\n"
          "Exit status: 0 every test passed or was skipped, 1 a test did not pass,\n"
          "2 a usage or input error.\n",
          out);
}

static void merge_usage(FILE *out) {
    fputs("usage: memgate merge OUT.json IN.json...\n"
          "\n"
          "Joins JSON reports (e.g. one per shard) into OUT.json: tests in input order,\n"
          "durations summed, the earliest start time, the first input's host, every\n"
          "input's warnings, interrupted when any input was. A test (binary, suite and\n"
          "name) found in two inputs is an error.\n"
          "Exit status: 0 every merged test passed or was skipped, 1 a test did not pass,\n"
          "2 a usage or input error.\n",
          out);
}

/* 0 when every test passed or was skipped, 1 otherwise. */
static int verdict(const mg_run *run) {
    mg_tally n;
    mg_run_tally(run, &n);
    return n.pass + n.skip == n.total ? 0 : 1;
}

/* ---- memgate report ------------------------------------------------------------ */

int mg_cmd_report(int argc, char **argv) {
    const char *in = NULL, *junit = NULL, *html = NULL, *json = NULL, *color = "auto";
    bool console = false, verbose = false, operands_only = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        if (operands_only || !is_option(arg)) {
            if (in) {
                fprintf(stderr, "memgate: report: one input report expected, got '%s' and '%s'\n",
                        in, arg);
                return 2;
            }
            in = arg;
        } else if (!strcmp(arg, "--")) {
            operands_only = true;
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            report_usage(stdout);
            return 0;
        } else if (!strcmp(arg, "--console")) {
            console = true;
        } else if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
            verbose = true;
        } else if ((v = option_value(argc, argv, &i, "--junit", &missing))) {
            junit = v;
        } else if ((v = option_value(argc, argv, &i, "--html", &missing))) {
            html = v;
        } else if ((v = option_value(argc, argv, &i, "--json", &missing))) {
            json = v;
        } else if ((v = option_value(argc, argv, &i, "--color", &missing))) {
            if (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never")) {
                fprintf(stderr,
                        "memgate: report: --color: '%s' is not one of auto, always, never\n", v);
                return 2;
            }
            color = v;
        } else {
            if (missing)
                fprintf(stderr, "memgate: report: %.*s needs a value\n", (int)strcspn(arg, "="),
                        arg);
            else
                fprintf(stderr, "memgate: report: unknown option '%s'\n", arg);
            fputs("Try 'memgate report --help'.\n", stderr);
            return 2;
        }
    }
    if (!in) {
        fputs("memgate: report: no input report given (memgate report IN.json [OPTIONS])\n",
              stderr);
        return 2;
    }

    char err[2048];
    mg_run run;
    if (mg_report_json_read(in, &run, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        return 2;
    }
    int rc = verdict(&run);
    if (console || (!junit && !html && !json)) {
        mg_console_opts opts = {false, 0, 0, verbose, MG_GROUP_LINE, false};
        opts.color = !strcmp(color, "always") ||
                     (!strcmp(color, "auto") && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
        mg_console_summary(stdout, &run, &opts);
    }
    /* Every requested file is attempted, so one bad path does not hide the others. */
    if (junit && mg_report_junit_write(&run, junit, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        rc = 2;
    }
    if (html && mg_report_html_write(&run, html, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        rc = 2;
    }
    if (json && mg_report_json_write(&run, json, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        rc = 2;
    }
    mg_run_free_contents(&run);
    return rc;
}

/* ---- memgate merge ------------------------------------------------------------- */

/* One test of one input, for finding tests present in two inputs. */
typedef struct test_ref {
    const mg_test_result *t;
    size_t input;
} test_ref;

static int strcmp_null(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }

static int cmp_ref(const void *pa, const void *pb) {
    const test_ref *a = pa, *b = pb;
    int c = strcmp_null(a->t->binary, b->t->binary);
    if (!c) c = strcmp_null(a->t->suite, b->t->suite);
    if (!c) c = strcmp_null(a->t->name, b->t->name);
    if (!c) c = (a->input > b->input) - (a->input < b->input);
    return c;
}

static bool same_test(const mg_test_result *a, const mg_test_result *b) {
    return !strcmp_null(a->binary, b->binary) && !strcmp_null(a->suite, b->suite) &&
           !strcmp_null(a->name, b->name);
}

/* A copy of s for a terminal message: control characters become '?'. */
static char *printable(const char *s) {
    char *c = mg_xstrdup(s ? s : "");
    for (unsigned char *p = (unsigned char *)c; *p; p++)
        if (*p < 0x20u || *p == 0x7Fu) *p = '?';
    return c;
}

/* Finds a test that two inputs both hold. Returns 0 when there is none, else -1 after
 * saying which test and which two files. Duplicates inside one input are left alone:
 * a run given the same binary twice reports it twice, and that is its business. */
static int check_duplicates(const mg_run *runs, size_t nruns, char **paths) {
    size_t total = 0;
    for (size_t k = 0; k < nruns; k++) total += runs[k].ntests;
    if (!total) return 0;
    test_ref *refs = mg_xcalloc(total, sizeof *refs);
    size_t n = 0;
    for (size_t k = 0; k < nruns; k++)
        for (size_t i = 0; i < runs[k].ntests; i++) refs[n++] = (test_ref){&runs[k].tests[i], k};
    qsort(refs, n, sizeof *refs, cmp_ref);
    int rc = 0;
    /* Equal tests sort together, lowest input first: the first differing input of a
     * run of equal tests is a duplicate across files. */
    for (size_t i = 0, start = 0; i < n && rc == 0; i++) {
        if (i > 0 && !same_test(refs[i].t, refs[start].t)) start = i;
        if (refs[i].input == refs[start].input) continue;
        const mg_test_result *t = refs[i].t;
        char *bin = printable(t->binary), *suite = printable(t->suite), *name = printable(t->name);
        fprintf(stderr, "memgate: merge: test %s/%s of %s is in both '%s' and '%s'\n", suite, name,
                bin[0] ? bin : "(no binary)", paths[refs[start].input], paths[refs[i].input]);
        free(bin);
        free(suite);
        free(name);
        rc = -1;
    }
    free(refs);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The baseline keys reported as removed by any input, minus the keys of tests the
 * merged run has: a shard sees the other shards' tests as removed, so only a key no
 * input ran is really gone. Sorted bytewise, without repeats. */
static void merge_removed(mg_run *merged, mg_run *runs, size_t nruns) {
    size_t nkeys = merged->ntests, nremoved = 0;
    char **keys = mg_xcalloc(nkeys ? nkeys : 1, sizeof *keys);
    for (size_t i = 0; i < nkeys; i++) keys[i] = mg_baseline_key(&merged->tests[i]);
    qsort(keys, nkeys, sizeof *keys, cmp_str);
    for (size_t k = 0; k < nruns; k++) nremoved += runs[k].nbaseline_removed;
    char **removed = mg_xcalloc(nremoved ? nremoved : 1, sizeof *removed);
    size_t n = 0;
    for (size_t k = 0; k < nruns; k++) {
        for (size_t i = 0; i < runs[k].nbaseline_removed; i++) {
            char *key = runs[k].baseline_removed[i];
            if (nkeys && bsearch(&key, keys, nkeys, sizeof *keys, cmp_str)) continue;
            removed[n++] = mg_xstrdup(key);
        }
    }
    qsort(removed, n, sizeof *removed, cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept && !strcmp(removed[kept - 1], removed[i])) {
            free(removed[i]);
            continue;
        }
        removed[kept++] = removed[i];
    }
    for (size_t i = 0; i < nkeys; i++) free(keys[i]);
    free(keys);
    if (!kept) {
        free(removed);
        return;
    }
    merged->baseline_removed = removed;
    merged->nbaseline_removed = kept;
}

/* Moves the tests and facts of runs into merged (runs keep only what is left to free). */
static void merge_runs(mg_run *merged, mg_run *runs, size_t nruns) {
    memset(merged, 0, sizeof *merged);
    size_t total = 0;
    for (size_t k = 0; k < nruns; k++) total += runs[k].ntests;
    merged->tests = total ? mg_xcalloc(total, sizeof *merged->tests) : NULL;
    for (size_t k = 0; k < nruns; k++) {
        mg_run *r = &runs[k];
        if (r->ntests)
            memcpy(merged->tests + merged->ntests, r->tests, r->ntests * sizeof *r->tests);
        merged->ntests += r->ntests;
        free(r->tests);
        r->tests = NULL;
        r->ntests = 0;
        merged->duration_s += r->duration_s;
        /* ISO 8601 UTC times of one format compare as strings. */
        if (r->started_at &&
            (!merged->started_at || strcmp(r->started_at, merged->started_at) < 0)) {
            free(merged->started_at);
            merged->started_at = r->started_at;
            r->started_at = NULL;
        }
        if (!merged->baseline_path && r->baseline_path) {
            merged->baseline_path = r->baseline_path;
            r->baseline_path = NULL;
        }
        /* One interrupted input leaves the merged report incomplete too; warnings are
         * kept once each. */
        merged->interrupted |= r->interrupted;
        for (size_t i = 0; i < r->nwarnings; i++) mg_run_add_warning(merged, "%s", r->warnings[i]);
    }
    merged->hostname = runs[0].hostname;
    runs[0].hostname = NULL;
    merge_removed(merged, runs, nruns);
}

/* Whether a and b name the same existing file. */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int mg_cmd_merge(int argc, char **argv) {
    char **paths = mg_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *paths);
    size_t npaths = 0;
    bool operands_only = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (operands_only || !is_option(arg)) {
            paths[npaths++] = argv[i];
        } else if (!strcmp(arg, "--")) {
            operands_only = true;
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            merge_usage(stdout);
            free(paths);
            return 0;
        } else {
            fprintf(stderr, "memgate: merge: unknown option '%s'\nTry 'memgate merge --help'.\n",
                    arg);
            free(paths);
            return 2;
        }
    }
    if (npaths < 2) {
        fprintf(stderr, "memgate: merge: %s (memgate merge OUT.json IN.json...)\n",
                npaths ? "no input report given" : "no output and no input report given");
        free(paths);
        return 2;
    }
    const char *out = paths[0];
    char **inputs = paths + 1;
    size_t ninputs = npaths - 1;
    /* Writing over an input would lose it if anything went wrong half-way, and is
     * almost always a forgotten OUT.json argument. */
    for (size_t k = 0; k < ninputs; k++) {
        if (same_file(out, inputs[k])) {
            fprintf(stderr,
                    "memgate: merge: the output '%s' is also an input; the first argument is "
                    "the file to write (memgate merge OUT.json IN.json...)\n",
                    out);
            free(paths);
            return 2;
        }
    }

    char err[2048];
    int rc = 0;
    mg_run *runs = mg_xcalloc(ninputs, sizeof *runs);
    for (size_t k = 0; k < ninputs && rc == 0; k++) {
        if (mg_report_json_read(inputs[k], &runs[k], err, sizeof err) != 0) {
            fprintf(stderr, "memgate: %s\n", err);
            rc = 2;
        }
    }
    if (rc == 0 && check_duplicates(runs, ninputs, inputs) != 0) rc = 2;
    if (rc == 0) {
        mg_run merged;
        merge_runs(&merged, runs, ninputs);
        if (mg_report_json_write(&merged, out, err, sizeof err) != 0) {
            fprintf(stderr, "memgate: %s\n", err);
            rc = 2;
        } else {
            rc = verdict(&merged);
        }
        mg_run_free_contents(&merged);
    }
    for (size_t k = 0; k < ninputs; k++) mg_run_free_contents(&runs[k]);
    free(runs);
    free(paths);
    return rc;
}
