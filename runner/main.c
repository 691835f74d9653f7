/*
 * memgate: command-line entry point.
 *
 * Why this file is long: every option of run/exec/torture/calibrate is parsed and
 * checked here, in one table and one switch, so that each option's spelling, range and
 * error message live in one place; the work itself is in sched.c, judge.c, the
 * reporters and calibrate.c.
 *
 *   memgate run [OPTIONS] BINARY...        run CUnit test binaries, one child per test
 *   memgate exec [OPTIONS] -- PROG ARGS... measure one program (whole process if it
 *                                          calls no CUnit runner)
 *   memgate list BINARY...                 print the suite/test names of binaries
 *
 * Exit status: 0 every test passed within budget, 1 a test failed, crashed, timed out
 * or broke a budget, 2 usage or setup error. 130/143 after SIGINT/SIGTERM, once the
 * reports for what finished are written.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "budgets.h"
#include "calibrate.h"
#include "commands.h"
#include "culprit.h"
#include "elfcheck.h"
#include "exec.h"
#include "metrics.h"
#include "memgate/version.h"
#include "outfile.h"
#include "progress.h"
#include "report.h"
#include "suppress.h"
#include "util.h"

/* The signal that asked the run to stop (SIGINT, SIGTERM, SIGHUP), 0 while none did.
 * mg_exec polls it, kills the running tests and returns what finished. */
static volatile int interrupted;

static void on_signal(int sig) { interrupted = sig; }

/* From here on SIGINT, SIGTERM and SIGHUP stop the run in order (tests killed, reports
 * of what finished written). SA_RESETHAND: a second signal gets the default action, so a
 * user can still end memgate at once if the orderly stop itself hangs. */
static void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void usage(FILE *out) {
    fputs("usage: memgate run [OPTIONS] BINARY...\n"
          "       memgate exec [OPTIONS] -- PROGRAM [ARGS...]\n"
          "       memgate list [-k GLOB] BINARY...\n"
          "       memgate torture [OPTIONS] [--max-points N] BINARY...\n"
          "       memgate calibrate [OPTIONS] [--runs N] [--headroom PCT] [--annotations]\n"
          "                         [--output FILE] BINARY...\n"
          "       memgate report IN.json [--junit PATH] [--html PATH] [--json PATH]\n"
          "       memgate merge OUT.json IN.json...\n"
          "       memgate suppress REPORT.json [-k GLOB] [--exclude GLOB] [--budgets]\n"
          "       memgate --version | --help\n"
          "\n"
          "Runs each CUnit test in its own process under an allocation collector and fails\n"
          "tests that leak, grow their live objects, or peak above their memory budget.\n"
          "\n"
          "Budgets (SIZE: 4096, 4KiB, \"8 MiB\", 1GiB, 4KB, 2MB ...; 'unlimited'):\n",
          out);
    /* One budget option per metric of the table that has one (metrics.h). */
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!mg_metrics[m].cli) continue;
        char opt[64];
        snprintf(opt, sizeof opt, "%s %s", mg_metrics[m].cli, mg_metrics[m].cli_arg);
        fprintf(out, "  %-24s%s\n", opt, mg_metrics[m].help);
    }
    fputs("  --budgets FILE          JSON budgets file (defaults and suite/test globs)\n"
          "  --suppressions FILE     LeakSanitizer-style leak:PATTERN lines to ignore\n"
          "  --strict                a budgets file key that matches no test of the binaries\n"
          "                          is an error (exit 2) instead of a warning\n"
          "Reports:\n"
          "  --junit PATH            JUnit XML report\n"
          "  --json PATH             JSON report with diffs and tracebacks\n"
          "  --html PATH             self-contained HTML report\n"
          "  --color WHEN            auto (default), always, never\n"
          "  -v, --verbose           show every test's figures and tracebacks of breaches\n"
          "  -q, --quiet             only problems (tests that did not pass, warnings) and\n"
          "                          the closing lines ('memgate: N passed, N failed')\n"
          "Running:\n"
          "  -j, --jobs N            tests run in parallel (default 1)\n"
          "  --timeout SECONDS       per test, then its process group is killed (default 60; 0 = none)\n"
          "  -k, --filter GLOB       only tests whose suite/test matches (repeatable)\n"
          "  --exclude GLOB          skip tests whose suite/test matches (repeatable)\n"
          "  --isolation MODE        test (default: a fresh child per test) or suite (one\n"
          "                          child per suite, tests in order, as CUnit runs them)\n"
          "  --warmups N             run each test N times before the measured run\n"
          "  --repeat N              measure each test N times in its child; leak = the\n"
          "                          growth every run shows (default 1)\n"
          "  --alloc-fn GLOB         an allocator wrapper (xmalloc): one-line summaries name\n"
          "                          its caller instead (repeatable)\n"
          "  --group-by KEY          console tracebacks by traceback, function, line\n"
          "                          (default) or file\n"
          "  --stacks                capture stacks on the first run (default: only on a\n"
          "                          re-run of a test that broke a budget)\n"
          "  --no-rerun              never re-run a failing test to name its tracebacks\n"
          "  --unwind METHOD         libunwind (default) or fp (frame pointers: faster,\n"
          "                          needs -fno-omit-frame-pointer everywhere)\n"
          "  --max-frames N          frames per traceback, 1..64 (default 32)\n"
          "  --library PATH          libmemgate.so to preload (default: next to memgate)\n"
          "  --shard I/N             run only shard I (0-based) of N (also Bazel's\n"
          "                          TEST_SHARD_INDEX/TEST_TOTAL_SHARDS, GTEST_SHARD_*)\n"
          "Regression gate:\n"
          "  --baseline FILE         fail tests whose figures grew beyond tolerance\n"
          "  --tolerance LIST        e.g. peak=10%,allocs=5%,leak=0,growth=2\n"
          "                          (defaults: leak 0, growth 0, peak 10%, allocs 10%)\n"
          "  --update-baseline FILE  write this run's figures as the baseline\n"
          "  --ratchet               with --update-baseline: figures only ever go down\n"
          "  --prune                 with --update-baseline: drop the entries of tests that\n"
          "                          no longer exist (a full run only: not with -k, --shard)\n"
          "Torture (memgate torture: each test again with allocation k failing):\n"
          "  --max-points N          allocations tried per test (default 100): above it,\n"
          "                          N spread points, then bisection to each first failure\n"
          "Calibration (memgate calibrate: a budgets file from measured runs):\n"
          "  --runs N                measured runs of the suite (default 5)\n"
          "  --headroom PCT          added to each peak budget (default 20%)\n"
          "  --annotations           print MEMGATE_BUDGET(...) lines instead of a file\n"
          "  --output FILE           write there instead of stdout\n",
          out);
}

/* Finds libmemgate.so.0: $MEMGATE_LIBRARY, else ../lib or ../<libdir> beside the binary. */
static char *find_library(void) {
    const char *env = getenv("MEMGATE_LIBRARY");
    if (env && *env) return mg_xstrdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    const char *rels[] = {"../lib/libmemgate.so.0", "../" MG_INSTALL_LIBDIR "/libmemgate.so.0",
                          "libmemgate.so.0"};
    for (size_t i = 0; i < sizeof rels / sizeof *rels; i++) {
        char *p = mg_xasprintf("%s/%s", exe, rels[i]);
        char resolved[PATH_MAX];
        if (realpath(p, resolved)) {
            free(p);
            return mg_xstrdup(resolved);
        }
        free(p);
    }
    return NULL;
}

static int parse_limit(const char *opt, const char *val, bool size, int64_t *out) {
    if (!strcmp(val, "unlimited") || !strcmp(val, "none")) {
        *out = MG_UNLIMITED;
        return 0;
    }
    int rc = size ? mg_parse_size(val, out) : mg_parse_count(val, out);
    if (rc != 0) {
        fprintf(stderr, "memgate: %s: '%s' is not %s\n", opt, val,
                size ? "a size (try 4096, 4KiB, \"8 MiB\", 1GiB or unlimited)"
                     : "a count (a whole number >= 0, or unlimited)");
        return -1;
    }
    return 0;
}

static int parse_uint(const char *opt, const char *val, unsigned lo, unsigned hi, unsigned *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(val, &end, 10);
    if (errno || end == val || *end || v < lo || v > hi || val[0] == '-') {
        fprintf(stderr, "memgate: %s: '%s' is not a whole number from %u to %u\n", opt, val, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* Checks a test program before anything runs (mg_check_program: a directory, a file
 * that is not executable or not a program, a static binary, another machine than
 * libmemgate's). Prints the problem and returns -1, or prints the warnings (a script, a
 * statically linked CUnit) and returns 0. */
static int check_binary(const char *path, const mg_elf_info *lib) {
    char err[PATH_MAX + 512];
    mg_strlist warnings = {0};
    int rc = mg_check_program(path, lib, &warnings, err, sizeof err);
    if (rc != 0) fprintf(stderr, "memgate: %s\n", err);
    for (size_t i = 0; i < warnings.n; i++)
        fprintf(stderr, "memgate: warning: %s\n", warnings.items[i]);
    mg_strlist_free(&warnings);
    return rc;
}

/* The program of `memgate exec`, found as execvp(3) would (a bare name is searched in
 * PATH), so the path handed on is the file that runs. Heap string, or NULL after
 * printing why. */
static char *resolve_program(const char *name) {
    char *path = mg_path_search(name);
    if (!path) {
        if (errno == EACCES)
            fprintf(stderr, "memgate: %s: found in PATH, but not executable\n", name);
        else
            fprintf(stderr, "memgate: %s: not found in PATH (give its path, e.g. ./%s)\n", name,
                    name);
    }
    return path;
}

/* libmemgate: --library, else MEMGATE_LIBRARY, else beside memgate, checked to be an
 * ELF shared object exporting memgate_version (read with libelf, never dlopen()ed: it
 * would replace this process's malloc). Returns the path (heap) and fills *info, or
 * NULL after printing the problem. */
static char *checked_library(const char *option, mg_elf_info *info) {
    const char *env = getenv("MEMGATE_LIBRARY");
    const char *source = option ? "--library" : env && *env ? "MEMGATE_LIBRARY" : NULL;
    char *lib = option ? mg_xstrdup(option) : find_library();
    if (!lib) {
        fprintf(stderr, "memgate: cannot find libmemgate.so.0 beside memgate (set "
                        "MEMGATE_LIBRARY or --library)\n");
        return NULL;
    }
    char err[PATH_MAX + 256];
    if (mg_check_library(lib, info, err, sizeof err) != 0) {
        if (source)
            fprintf(stderr, "memgate: %s %s\n", source, err);
        else
            fprintf(stderr, "memgate: %s (set MEMGATE_LIBRARY or --library)\n", err);
        free(lib);
        return NULL;
    }
    return lib;
}

/* Parses "I/N" with 0 <= I < N. */
static int parse_shard(const char *what, const char *val, unsigned *index, unsigned *count) {
    char *end;
    errno = 0;
    unsigned long i = strtoul(val, &end, 10);
    if (errno || end == val || *end != '/' || val[0] == '-') goto bad;
    const char *n_text = end + 1;
    unsigned long n = strtoul(n_text, &end, 10);
    if (errno || end == n_text || *end || n_text[0] == '-' || n == 0 || n > 100000 || i >= n) goto bad;
    *index = (unsigned)i;
    *count = (unsigned)n;
    return 0;
bad:
    fprintf(stderr, "memgate: %s: '%s' is not I/N with 0 <= I < N (e.g. 0/4)\n", what, val);
    return -1;
}

enum {
    OPT_JUNIT = 256, OPT_JSON, OPT_BUDGETS, OPT_TIMEOUT,
    OPT_SUPP, OPT_STACKS, OPT_NORERUN, OPT_UNWIND, OPT_FRAMES, OPT_COLOR, OPT_LIBRARY,
    OPT_HTML, OPT_SHARD, OPT_BASELINE, OPT_TOLERANCE, OPT_UPDATE_BASELINE, OPT_RATCHET,
    OPT_PRUNE, OPT_ISOLATION, OPT_WARMUPS, OPT_ALLOC_FN, OPT_EXCLUDE, OPT_GROUP_BY, OPT_REPEAT,
    OPT_MAX_POINTS, OPT_RUNS, OPT_HEADROOM, OPT_ANNOTATIONS, OPT_OUTPUT, OPT_STRICT,
    /* A budget option of the metric table: OPT_METRIC + its mg_metric. */
    OPT_METRIC = 512
};

static const struct option long_opts[] = {
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"json", required_argument, NULL, OPT_JSON},
    {"budgets", required_argument, NULL, OPT_BUDGETS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"jobs", required_argument, NULL, 'j'},
    {"suppressions", required_argument, NULL, OPT_SUPP},
    {"stacks", no_argument, NULL, OPT_STACKS},
    {"no-rerun", no_argument, NULL, OPT_NORERUN},
    {"unwind", required_argument, NULL, OPT_UNWIND},
    {"max-frames", required_argument, NULL, OPT_FRAMES},
    {"filter", required_argument, NULL, 'k'},
    {"color", required_argument, NULL, OPT_COLOR},
    {"library", required_argument, NULL, OPT_LIBRARY},
    {"html", required_argument, NULL, OPT_HTML},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"tolerance", required_argument, NULL, OPT_TOLERANCE},
    {"update-baseline", required_argument, NULL, OPT_UPDATE_BASELINE},
    {"ratchet", no_argument, NULL, OPT_RATCHET},
    {"prune", no_argument, NULL, OPT_PRUNE},
    {"isolation", required_argument, NULL, OPT_ISOLATION},
    {"warmups", required_argument, NULL, OPT_WARMUPS},
    {"repeat", required_argument, NULL, OPT_REPEAT},
    {"max-points", required_argument, NULL, OPT_MAX_POINTS},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"headroom", required_argument, NULL, OPT_HEADROOM},
    {"annotations", no_argument, NULL, OPT_ANNOTATIONS},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"alloc-fn", required_argument, NULL, OPT_ALLOC_FN},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"group-by", required_argument, NULL, OPT_GROUP_BY},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The getopt table: long_opts (up to its terminator), then one option per metric of
 * the table that has a CLI option, then the terminator. */
static const struct option *getopt_options(void) {
    static struct option all[sizeof long_opts / sizeof long_opts[0] + MG_M_COUNT];
    if (!all[0].name) {
        size_t n = 0;
        for (size_t i = 0; long_opts[i].name; i++) all[n++] = long_opts[i];
        for (int m = 0; m < MG_M_COUNT; m++)
            if (mg_metrics[m].cli)
                all[n++] = (struct option){mg_metrics[m].cli + 2, required_argument, NULL,
                                           OPT_METRIC + m};
    }
    return all;
}

typedef struct cli {
    const char *junit, *json, *budgets_path, *supp_path, *library, *unwind, *color, *html;
    const char *baseline, *update_baseline, *shard_text;
    mg_tolerance tolerance;
    bool ratchet, prune, shard_given;
    mg_exec_opts ex;
    const char **filters;
    size_t nfilters;
    const char **excludes;  /* --exclude globs */
    size_t nexcludes;
    const char **alloc_fns; /* --alloc-fn globs */
    size_t nalloc_fns;
    mg_group_by group_by;
    bool verbose, quiet;
    bool strict;        /* --strict: budgets keys that match no test are an error */
    /* memgate calibrate */
    unsigned runs;      /* 0: not given */
    double headroom;    /* fraction; < 0: not given */
    bool annotations;
    const char *output; /* NULL: stdout */
} cli;

/* Appends s to a growing list of borrowed strings. */
static void push_arg(const char ***list, size_t *n, const char *s) {
    *list = mg_xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = s;
}

/* Parses options for run/exec. Options may follow the binaries for `run` (GNU
 * permutation); `exec` stops at the program so its own options stay its own. Returns the
 * index of the first operand, -1 on error. */
static int parse_options(int argc, char **argv, cli *o, bool stop_at_operand) {
    o->ex.jobs = 1;
    o->ex.timeout_ms = 60000;
    mg_cli_limits_init(&o->ex.cli);
    o->color = "auto";
    o->group_by = MG_GROUP_LINE;
    o->headroom = -1;
    mg_tolerance_default(&o->tolerance);
    char terr[512];
    optind = 1;
    opterr = 0;
    int c;
    unsigned u;
    while ((c = getopt_long(argc, argv, stop_at_operand ? "+j:k:vqh" : "j:k:vqh", getopt_options(), NULL)) != -1) {
        if (c >= OPT_METRIC && c < OPT_METRIC + MG_M_COUNT) {
            const mg_metric_info *mi = &mg_metrics[c - OPT_METRIC];
            if (parse_limit(mi->cli, optarg, mi->unit == MG_UNIT_BYTES, &o->ex.cli.v[mi->id]))
                return -1;
            continue;
        }
        switch (c) {
        case OPT_JUNIT: o->junit = optarg; break;
        case OPT_JSON: o->json = optarg; break;
        case OPT_BUDGETS: o->budgets_path = optarg; break;
        case OPT_SUPP: o->supp_path = optarg; break;
        case OPT_TIMEOUT:
            if (parse_uint("--timeout", optarg, 0, 86400, &u)) return -1;
            o->ex.timeout_ms = u * 1000u;
            break;
        case 'j':
            if (parse_uint("--jobs", optarg, 1, 1024, &o->ex.jobs)) return -1;
            break;
        case 'k': push_arg(&o->filters, &o->nfilters, optarg); break;
        case OPT_EXCLUDE: push_arg(&o->excludes, &o->nexcludes, optarg); break;
        case OPT_ALLOC_FN: push_arg(&o->alloc_fns, &o->nalloc_fns, optarg); break;
        case OPT_ISOLATION:
            if (strcmp(optarg, "test") && strcmp(optarg, "suite")) {
                fprintf(stderr, "memgate: --isolation: '%s' is not one of test, suite\n", optarg);
                return -1;
            }
            o->ex.cli.isolation = strcmp(optarg, "suite") == 0 ? MG_ISO_SUITE : MG_ISO_TEST;
            break;
        case OPT_WARMUPS:
            if (parse_uint("--warmups", optarg, 0, 1000, &u)) return -1;
            o->ex.cli.warmups = u;
            break;
        case OPT_REPEAT:
            if (parse_uint("--repeat", optarg, 1, 256, &u)) return -1;
            o->ex.cli.repeat = u;
            break;
        case OPT_MAX_POINTS:
            if (parse_uint("--max-points", optarg, 2, 1000000, &o->ex.max_points)) return -1;
            break;
        case OPT_RUNS:
            if (parse_uint("--runs", optarg, 1, 1000, &o->runs)) return -1;
            break;
        case OPT_HEADROOM:
            if (mg_calib_parse_headroom(optarg, &o->headroom) != 0) {
                fprintf(stderr, "memgate: --headroom: '%s' is not a percentage such as 20%% (0 to 1000)\n", optarg);
                return -1;
            }
            break;
        case OPT_ANNOTATIONS: o->annotations = true; break;
        case OPT_OUTPUT: o->output = optarg; break;
        case OPT_GROUP_BY:
            if (mg_group_by_parse(optarg, &o->group_by) != 0) {
                fprintf(stderr, "memgate: --group-by: '%s' is not one of traceback, function, line, file\n",
                        optarg);
                return -1;
            }
            break;
        case OPT_STACKS: o->ex.always_trace = true; break;
        case OPT_NORERUN: o->ex.no_rerun = true; break;
        case OPT_UNWIND:
            if (strcmp(optarg, "fp") && strcmp(optarg, "libunwind")) {
                fprintf(stderr, "memgate: --unwind: '%s' is not one of libunwind, fp\n", optarg);
                return -1;
            }
            o->ex.unwind = strcmp(optarg, "fp") == 0 ? "fp" : NULL;
            break;
        case OPT_FRAMES:
            if (parse_uint("--max-frames", optarg, 1, 64, &o->ex.max_frames)) return -1;
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never")) {
                fprintf(stderr, "memgate: --color: '%s' is not one of auto, always, never\n", optarg);
                return -1;
            }
            o->color = optarg;
            break;
        case OPT_LIBRARY: o->library = optarg; break;
        case OPT_HTML: o->html = optarg; break;
        case OPT_SHARD:
            if (parse_shard("--shard", optarg, &o->ex.shard_index, &o->ex.shard_count)) return -1;
            o->shard_given = true;
            break;
        case OPT_BASELINE: o->baseline = optarg; break;
        case OPT_UPDATE_BASELINE: o->update_baseline = optarg; break;
        case OPT_RATCHET: o->ratchet = true; break;
        case OPT_PRUNE: o->prune = true; break;
        case OPT_TOLERANCE:
            if (mg_tolerance_parse(optarg, &o->tolerance, terr, sizeof terr) != 0) {
                fprintf(stderr, "memgate: --tolerance: %s\n", terr);
                return -1;
            }
            break;
        case 'v': o->verbose = true; break;
        case 'q': o->quiet = true; break;
        case OPT_STRICT: o->strict = true; break;
        case 'h': usage(stdout); exit(0);
        case '?':
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "memgate: unknown or incomplete option '-%c'\n", optopt);
            else
                fprintf(stderr, "memgate: unknown or incomplete option '%s'\n", argv[optind - 1]);
            fputs("Try 'memgate --help'.\n", stderr);
            return -1;
        }
    }
    /* Pruning drops the entries of tests the run does not have: with a selection of
     * tests that would drop every unselected test, so the two do not go together. */
    if (o->prune && !o->update_baseline) {
        fputs("memgate: --prune needs --update-baseline FILE\n", stderr);
        return -1;
    }
    if (o->prune && (o->nfilters || o->nexcludes || o->shard_given)) {
        fprintf(stderr,
                "memgate: --prune cannot be combined with %s: it would drop the baseline "
                "entries of every test that was not selected; prune with a full run\n",
                o->nfilters ? "-k/--filter" : o->nexcludes ? "--exclude" : "--shard");
        return -1;
    }
    o->ex.excludes = o->excludes;
    o->ex.nexcludes = o->nexcludes;
    o->ex.cli.alloc_functions = o->alloc_fns;
    o->ex.cli.nalloc_functions = o->nalloc_fns;
    return optind;
}

/* Bazel and GoogleTest sharding variables, when --shard was not given. Also touches
 * the shard status file, which tells Bazel that sharding is supported. A pair of which
 * only one variable is set is an error: running every test instead of one shard would
 * silently multiply the work of a sharded CI job. */
static int shard_from_env(cli *o) {
    static const char *vars[][3] = {{"TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS", "TEST_SHARD_STATUS_FILE"},
                                    {"GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS", "GTEST_SHARD_STATUS_FILE"}};
    for (size_t k = 0; k < 2; k++) {
        const char *idx = getenv(vars[k][0]), *total = getenv(vars[k][1]);
        const char *status = getenv(vars[k][2]);
        if (status && *status) {
            FILE *f = fopen(status, "a");
            if (f) fclose(f);
        }
        if (o->shard_given) continue;
        bool has_idx = idx && *idx, has_total = total && *total;
        if (has_idx != has_total) {
            fprintf(stderr,
                    "memgate: %s is set but %s is not: set both to run one shard, or neither "
                    "to run every test (or pass --shard I/N)\n",
                    vars[k][has_idx ? 0 : 1], vars[k][has_idx ? 1 : 0]);
            return -1;
        }
        if (!has_idx) continue;
        char text[64];
        snprintf(text, sizeof text, "%s/%s", idx, total);
        if (parse_shard(vars[k][0], text, &o->ex.shard_index, &o->ex.shard_count)) return -1;
        o->shard_given = true;
    }
    return 0;
}

/* The checks on the paths of a run, before any test runs (mg_outfile_check_all): each
 * output's directory exists and is writable, no two outputs are one file, and no output
 * overwrites a test binary. junit_source names where the JUnit path came from. Prints
 * the problem and returns -1, or 0. */
static int check_paths(const cli *o, const char *junit_source, char *const *binaries,
                       size_t nbinaries) {
    mg_path_use *uses = mg_xcalloc(6 + nbinaries, sizeof *uses);
    size_t n = 0;
    uses[n++] = (mg_path_use){"--output", o->output, true};
    uses[n++] = (mg_path_use){"--budgets", o->budgets_path, false};
    uses[n++] = (mg_path_use){"--json", o->json, true};
    uses[n++] = (mg_path_use){junit_source, o->junit, true};
    uses[n++] = (mg_path_use){"--html", o->html, true};
    uses[n++] = (mg_path_use){"--update-baseline", o->update_baseline, true};
    for (size_t i = 0; i < nbinaries; i++) uses[n++] = (mg_path_use){"test binary", binaries[i], false};
    char err[2 * PATH_MAX + 256];
    int rc = mg_outfile_check_all(uses, n, err, sizeof err);
    if (rc != 0) fprintf(stderr, "memgate: %s\n", err);
    free(uses);
    return rc;
}

static int write_reports(const cli *o, const mg_run *run) {
    char err[1024];
    int rc = 0;
    if (o->html && mg_report_html_write(run, o->html, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        rc = -1;
    }
    if (o->json && mg_report_json_write(run, o->json, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        rc = -1;
    }
    if (o->junit && mg_report_junit_write(run, o->junit, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        rc = -1;
    }
    return rc;
}

static char *iso_now(void) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return mg_xstrdup(buf);
}

/* What cmd_run does with the tests it runs. */
typedef enum { MODE_RUN, MODE_EXEC, MODE_TORTURE, MODE_CALIBRATE } run_mode;

/* The options only one mode takes: 0, or 2 after saying which option belongs where. */
static int check_mode_options(const cli *o, run_mode mode) {
    if (o->ex.max_points && mode != MODE_TORTURE) {
        fputs("memgate: --max-points is an option of memgate torture\n", stderr);
        return 2;
    }
    const char *cal = o->runs ? "--runs" : o->headroom >= 0 ? "--headroom" : o->annotations ? "--annotations"
                                        : o->output            ? "--output"
                                                               : NULL;
    if (cal && mode != MODE_CALIBRATE) {
        fprintf(stderr, "memgate: %s is an option of memgate calibrate\n", cal);
        return 2;
    }
    if (o->strict && mode == MODE_CALIBRATE) {
        fputs("memgate: --strict is an option of memgate run, exec and torture\n", stderr);
        return 2;
    }
    const char *report = o->json ? "--json" : o->junit ? "--junit" : o->html ? "--html" : o->baseline ? "--baseline"
                                          : o->update_baseline ? "--update-baseline"
                                                               : NULL;
    if (report && mode == MODE_CALIBRATE) {
        fprintf(stderr, "memgate: memgate calibrate writes a budgets file (--output FILE), not %s\n", report);
        return 2;
    }
    return 0;
}

/* memgate calibrate: runs the suite o->runs times, measuring only, and writes the
 * budgets file (or annotations) to o->output or stdout. */
static int calibrate(cli *o, char *const *binaries, size_t nbinaries) {
    mg_calib *cal = mg_calib_new();
    unsigned runs = o->runs ? o->runs : 5;
    int rc = 0;
    char err[2048];
    o->ex.no_rerun = true; /* figures only: no traced re-runs, no probes */
    o->ex.on_result = NULL;
    for (unsigned i = 0; i < runs && !interrupted; i++) {
        mg_run run = {0};
        fprintf(stderr, "memgate: calibrate: run %u of %u...", i + 1, runs);
        if (mg_exec(&o->ex, &run, err, sizeof err) != 0) {
            fprintf(stderr, "\nmemgate: %s\n", err);
            mg_run_free_contents(&run);
            mg_calib_free(cal);
            return 2;
        }
        fprintf(stderr, " %zu tests, %.2f s\n", run.ntests, run.duration_s);
        if (!interrupted) mg_calib_add_run(cal, &run);
        mg_run_free_contents(&run);
    }
    if (interrupted) {
        fprintf(stderr, "memgate: calibrate: interrupted, nothing written\n");
        mg_calib_free(cal);
        return 128 + interrupted;
    }
    size_t done, left, varied;
    mg_calib_counts(cal, &done, &left, &varied);
    if (!done && !left) {
        fprintf(stderr, "memgate: no test ran%s\n", o->nfilters ? " (no test matched the filter)" : "");
        mg_calib_free(cal);
        return 2;
    }
    char *what = NULL;
    for (size_t i = 0; i < nbinaries; i++) {
        char *next = mg_xasprintf("%s%s%s", what ? what : "", what ? ", " : "", binaries[i]);
        free(what);
        what = next;
    }
    mg_calib_opts co = {o->headroom >= 0 ? o->headroom : 0.2, o->annotations, what};
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem || mg_calib_write(cal, &co, mem) != 0 || fclose(mem) != 0) {
        fprintf(stderr, "memgate: calibrate: out of memory\n");
        rc = 2;
    } else if (o->output) {
        if (mg_outfile_write(o->output, o->annotations ? "annotations" : "budgets file", buf, len, err,
                             sizeof err) != 0) {
            fprintf(stderr, "memgate: %s\n", err);
            rc = 2;
        }
    } else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
        rc = 2;
    }
    free(buf);
    free(what);
    if (rc == 0) {
        fprintf(stderr, "memgate: calibrated %zu test%s over %u runs", done, done == 1 ? "" : "s", runs);
        if (varied) fprintf(stderr, "; %zu varied (marked, their spread added)", varied);
        if (o->output) fprintf(stderr, "; %s written to %s", o->annotations ? "annotations" : "budgets", o->output);
        fputc('\n', stderr);
        const char *name;
        for (size_t i = 0; (name = mg_calib_name(cal, MG_CALIB_LEAKING, i)); i++)
            fprintf(stderr, "memgate: calibrate: %s leaks: its budget accepts the leak (fix it instead if it is a bug)\n",
                    name);
        for (size_t i = 0; (name = mg_calib_name(cal, MG_CALIB_LEFT_OUT, i)); i++)
            fprintf(stderr, "memgate: calibrate: %s left out: it crashed, hung or erred in a run\n", name);
        if (left) rc = 1;
    }
    mg_calib_free(cal);
    return rc;
}

static int cmd_run(int argc, char **argv, run_mode mode) {
    cli o = {0};
    bool exec_mode = mode == MODE_EXEC;
    int first = parse_options(argc, argv, &o, exec_mode);
    if (first < 0) return 2;
    o.ex.torture = mode == MODE_TORTURE;
    if (check_mode_options(&o, mode) != 0) return 2;
    if (first >= argc) {
        fprintf(stderr, "memgate: %s\n", exec_mode ? "no program given (memgate exec -- PROGRAM [ARGS...])"
                                                   : "no test binary given (memgate run [OPTIONS] BINARY...)");
        return 2;
    }
    /* Everything the run holds, freed at `done` whatever the way out. */
    int rc = 2;
    char err[2048];
    mg_budget_file *bf = NULL;
    mg_suppressions *supp = NULL;
    mg_baseline *base = NULL, *ratchet_old = NULL;
    mg_run run = {0};
    char *program = NULL;
    mg_elf_info lib_info;
    char *lib = checked_library(o.library, &lib_info);
    if (!lib) goto done;

    /* The binaries as they will be run: `exec` finds its program in PATH like execvp. */
    char **binaries = &argv[first];
    size_t nbinaries = exec_mode ? 1 : (size_t)(argc - first);
    if (exec_mode) {
        program = resolve_program(argv[first]);
        if (!program) goto done;
        binaries = &program;
    }
    for (size_t i = 0; i < nbinaries; i++)
        if (check_binary(binaries[i], &lib_info) != 0) goto done;

    if (o.budgets_path && mg_budgets_load(o.budgets_path, &bf, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        goto done;
    }
    supp = mg_supp_new_builtin();
    if (o.supp_path) {
        mg_strlist warnings = {0};
        int loaded = mg_supp_load_file(supp, o.supp_path, &warnings, err, sizeof err);
        for (size_t i = 0; i < warnings.n; i++)
            fprintf(stderr, "memgate: warning: %s\n", warnings.items[i]);
        mg_strlist_free(&warnings);
        if (loaded != 0) {
            fprintf(stderr, "memgate: %s\n", err);
            goto done;
        }
    }
    if (shard_from_env(&o) != 0) goto done;
    /* Bazel and GoogleTest name the JUnit file they collect. */
    const char *junit_source = "--junit";
    if (!o.junit) {
        const char *x = getenv("XML_OUTPUT_FILE");
        const char *g = getenv("GTEST_OUTPUT");
        if (x && *x) {
            o.junit = x;
            junit_source = "XML_OUTPUT_FILE";
        } else if (g && !strncmp(g, "xml:", 4) && g[4]) {
            o.junit = g + 4;
            junit_source = "GTEST_OUTPUT";
        }
    }
    if (o.baseline && mg_baseline_load(o.baseline, &base, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        goto done;
    }
    if (o.ratchet && !o.update_baseline) {
        fprintf(stderr, "memgate: --ratchet needs --update-baseline FILE\n");
        goto done;
    }
    if (o.ratchet && access(o.update_baseline, F_OK) == 0 &&
        mg_baseline_load(o.update_baseline, &ratchet_old, err, sizeof err) != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        goto done;
    }
    /* Every report can be written, before any test runs rather than after all did. */
    if (check_paths(&o, junit_source, binaries, nbinaries) != 0) goto done;

    mg_progress_opts po = {0};
    bool tty = isatty(1);
    po.console.color = !strcmp(o.color, "always") || (!strcmp(o.color, "auto") && tty && !getenv("NO_COLOR"));
    po.console.max_tracebacks = 3;
    po.console.max_frames = 8;
    po.console.verbose = o.verbose;
    po.console.group_by = o.group_by;
    po.console.quiet = po.quiet = o.quiet;
    /* ETA and the live line only for a person at a terminal: logs stay comparable. */
    po.eta = !o.quiet && mg_progress_interactive(STDOUT_FILENO);
    po.live = po.eta && strcmp(o.color, "never") != 0;
    po.budgets = bf;
    po.strict = o.strict;
    po.run = &run;

    o.ex.budgets = bf;
    o.ex.supp = supp;
    o.ex.library = lib;
    o.ex.filters = o.filters;
    o.ex.nfilters = o.nfilters;
    o.ex.on_result = mg_progress_on_result;
    o.ex.interrupted = &interrupted;
    o.ex.baseline = base; /* the verdict of each test compares with it (judge.c) */
    o.ex.tolerance = &o.tolerance;
    /* Relative binary paths keep working for the children; the report shows them as given
     * (with `exec`, as found in PATH; argv[0] stays as typed). */
    o.ex.binaries = binaries;
    o.ex.nbinaries = nbinaries;
    if (exec_mode) o.ex.argv = &argv[first];

    catch_stop_signals();
    if (mode == MODE_CALIBRATE) {
        rc = calibrate(&o, binaries, nbinaries);
        goto done;
    }

    run.started_at = iso_now();
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    run.hostname = mg_xstrdup(host);
    mg_progress *prog = mg_progress_new(&po, stdout);
    o.ex.on_tick = mg_progress_on_tick;
    o.ex.ctx = prog;
    rc = mg_exec(&o.ex, &run, err, sizeof err);
    /* --strict: a budgets key that matches no listed test stopped the run (said). */
    bool strict_failed = mg_progress_finish(prog, interrupted != 0) != 0;
    mg_progress_free(prog);
    if (strict_failed) {
        rc = 2;
        goto done;
    }
    if (o.shard_given) run.shard = mg_xasprintf("%u/%u", o.ex.shard_index, o.ex.shard_count);
    if (rc != 0) {
        fprintf(stderr, "memgate: %s\n", err);
        rc = 2;
    } else {
        /* Each test was compared when it was judged; what is left is run-wide: the
         * baseline's tests that did not run, warnings about its keys. */
        if (base) mg_baseline_finish_run(base, &run);
        mg_budgets_warn_cli_overridden(&o.ex.cli, &run);
        if (o.update_baseline && !interrupted) {
            mg_baseline_update_opts bo = {o.ratchet, o.prune};
            if (mg_baseline_update(o.update_baseline, &run, ratchet_old, &bo, err, sizeof err) != 0) {
                fprintf(stderr, "memgate: %s\n", err);
                rc = 2;
            } else if (!o.quiet) {
                fprintf(stderr, "memgate: baseline written to %s\n", o.update_baseline);
            }
        }
        mg_console_summary(stdout, &run, &po.console);
        if (interrupted)
            fprintf(stderr, "memgate: interrupted; reports cover the %zu tests that finished\n", run.ntests);
        if (write_reports(&o, &run) != 0) rc = 2;
        /* rc is 2 when a report or the baseline could not be written: that stays. */
        mg_tally tl;
        mg_run_tally(&run, &tl);
        if (rc == 0) {
            if (tl.total == 0) {
                fprintf(stderr, "memgate: no test ran%s\n", o.nfilters ? " (no test matched the filter)" : "");
                rc = 2;
            } else {
                rc = tl.pass + tl.skip == tl.total ? 0 : 1;
            }
        }
        if (interrupted) rc = 128 + interrupted;
    }
done:
    mg_run_free_contents(&run);
    mg_baseline_free(base);
    mg_baseline_free(ratchet_old);
    mg_supp_free(supp);
    mg_budgets_free(bf);
    free(program);
    free(lib);
    free(o.filters);
    free(o.excludes);
    free(o.alloc_fns);
    return rc;
}

static void print_listed(const char *binary, const char *suite, const char *name, bool active,
                         void *ctx) {
    (void)ctx;
    printf("%s/%s%s\t%s\n", suite, name, active ? "" : " (inactive)", binary);
}

/* memgate list: prints "SUITE/TEST<TAB>BINARY" per test, in registry order. */
static int cmd_list(int argc, char **argv) {
    cli o = {0};
    int first = parse_options(argc, argv, &o, false);
    if (first < 0) return 2;
    if (first >= argc) {
        fprintf(stderr, "memgate: no test binary given (memgate list BINARY...)\n");
        return 2;
    }
    mg_elf_info lib_info;
    char *lib = checked_library(o.library, &lib_info);
    if (!lib) {
        free(o.filters);
        return 2;
    }
    for (int i = first; i < argc; i++) {
        if (check_binary(argv[i], &lib_info) != 0) {
            free(lib);
            free(o.filters);
            return 2;
        }
    }
    /* Listing starts the binaries (and runs a program without CUnit once): a signal
     * stops them too, instead of leaving them behind in their own process groups. */
    o.ex.interrupted = &interrupted;
    catch_stop_signals();
    o.ex.library = lib;
    o.ex.binaries = &argv[first];
    o.ex.nbinaries = (size_t)(argc - first);
    o.ex.filters = o.filters;
    o.ex.nfilters = o.nfilters;
    o.ex.list_only = true;
    o.ex.on_listed = print_listed;
    o.ex.no_rerun = true;
    mg_run run = {0};
    char err[512];
    int rc = mg_exec(&o.ex, &run, err, sizeof err);
    /* Programs without a CUnit runner ran once as a whole-process test: list that. */
    for (size_t i = 0; i < run.ntests; i++)
        printf("%s/%s\t%s\n", run.tests[i].suite, run.tests[i].name, run.tests[i].binary);
    if (rc != 0) fprintf(stderr, "memgate: %s\n", err);
    mg_run_free_contents(&run);
    free(lib);
    free(o.filters);
    if (interrupted) return 128 + interrupted;
    return rc == 0 ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("memgate %s (report schema %d)\n", MEMGATE_VERSION_STRING, MEMGATE_REPORT_SCHEMA_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1, MODE_RUN);
    if (!strcmp(cmd, "exec")) return cmd_run(argc - 1, argv + 1, MODE_EXEC);
    if (!strcmp(cmd, "torture")) return cmd_run(argc - 1, argv + 1, MODE_TORTURE);
    if (!strcmp(cmd, "calibrate")) return cmd_run(argc - 1, argv + 1, MODE_CALIBRATE);
    if (!strcmp(cmd, "list")) return cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return mg_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return mg_cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "suppress")) return mg_cmd_suppress(argc - 1, argv + 1);
    fprintf(stderr, "memgate: unknown command '%s'\nTry 'memgate --help'.\n", cmd);
    return 2;
}
