/*
 * The orchestrator: runs test binaries with libmemgate preloaded and speaks the driver
 * protocol (collector/driver.c) with each of them.
 *
 * Per binary: spawn with LD_PRELOAD and a socket; the driver answers "LIST" with the
 * registry (or, for a program without a CUnit runner, sends one "WHOLE" result when it
 * exits). The CLI then sends "RUN idx mode" for each test as job slots free up (global
 * -j over all binaries), reads "RESULT" messages, re-runs a test with full stacks when
 * it broke a budget (mode 1), and finally sends "EXIT".
 *
 * Everything a result needs for people is done here, in the parent: symbolization of
 * the few reported stacks (libdw), suppressions, budget checks, messages.
 */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "symbolize.h"
#include "util.h"
#include "wire.h"

#define MG_EXIT_HEAP 86
#define BIN_OUTPUT_CAP (16 * 1024)

extern char **environ;

/* ---- small helpers -------------------------------------------------------------------- */
typedef struct sbuf {
    char *data;
    size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->len + n + 1) nc *= 2;
        b->data = mg_xrealloc(b->data, nc);
        b->cap = nc;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_consume(sbuf *b, size_t n) {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    if (b->data) b->data[b->len] = '\0';
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *mg_signal_name(int sig, char *buf, size_t len) {
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %d", sig);
    return buf;
}

/* Splits a line into at most max tokens on spaces (in place). */
static int tokenize(char *line, char **tok, int max) {
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    return n;
}

/* ---- symbolization cache ------------------------------------------------------------- *
 * A symbolizer per distinct module map (children of one binary almost always share it). */
typedef struct symcache {
    char *signature;
    mg_symbolizer *sym;
    struct symcache *next;
} symcache;

static symcache *symcaches;

static mg_symbolizer *symbolizer_for(const char *mods) {
    for (symcache *c = symcaches; c; c = c->next)
        if (strcmp(c->signature, mods) == 0) return c->sym;
    symcache *c = mg_xcalloc(1, sizeof *c);
    c->signature = mg_xstrdup(mods);
    c->sym = mg_sym_new();
    char *copy = mg_xstrdup(mods);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tok[5];
        if (tokenize(line, tok, 5) != 5) continue;
        mg_unescape(tok[4]);
        if (c->sym)
            mg_sym_add_module(c->sym, tok[4], strtoull(tok[1], NULL, 16),
                              strtoull(tok[2], NULL, 16), strtoull(tok[3], NULL, 16));
    }
    free(copy);
    c->next = symcaches;
    symcaches = c;
    return c->sym;
}

static void symcache_free_all(void) {
    while (symcaches) {
        symcache *c = symcaches;
        symcaches = c->next;
        if (c->sym) mg_sym_free(c->sym);
        free(c->signature);
        free(c);
    }
}

/* ---- a child's report ------------------------------------------------------------------ */
typedef struct stackrec {
    unsigned id;
    size_t n;
    uint64_t ips[64];
} stackrec;

typedef struct report {
    bool ended, ok, sinit, notrun, heap, threads_running, has_m, has_annotation;
    uint64_t heap_addr;
    stackrec free_site;
    int64_t leaked, growth, peak;
    uint64_t allocs, dur_ns;
    int64_t a_leak, a_growth, a_peak;
    unsigned a_line;
    char *a_file;
    bool has_exit;
    int exit_status;
    sbuf mods;
    mg_failure *failures;
    size_t nfailures;
    stackrec *stacks;
    size_t nstacks;
    struct {
        unsigned id;
        int64_t size, size_diff, count, count_diff;
    } diffs[64], peaks[32];
    size_t ndiffs, npeaks;
    int64_t peak_live;
} report;

static void report_free(report *r) {
    free(r->a_file);
    free(r->mods.data);
    for (size_t i = 0; i < r->nfailures; i++) {
        free(r->failures[i].file);
        free(r->failures[i].condition);
    }
    free(r->failures);
    free(r->stacks);
}

static void parse_stack(char **tok, int n, stackrec *s) {
    s->n = 0;
    for (int i = 0; i < n && s->n < 64; i++) s->ips[s->n++] = strtoull(tok[i], NULL, 16);
}

static void parse_report(const char *data, size_t len, report *r) {
    memset(r, 0, sizeof *r);
    char *copy = malloc(len + 1);
    if (!copy) return;
    memcpy(copy, data, len);
    copy[len] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "MOD ", 4) == 0) {
            sb_put(&r->mods, line, strlen(line));
            sb_put(&r->mods, "\n", 1);
            continue;
        }
        char *tok[72];
        int n = tokenize(line, tok, 72);
        if (n == 0) continue;
        const char *k = tok[0];
        if (!strcmp(k, "END")) {
            r->ended = true;
        } else if (!strcmp(k, "S") && n >= 2) {
            if (!strcmp(tok[1], "ok")) r->ok = true;
            else if (!strcmp(tok[1], "sinit")) r->sinit = true;
            else if (!strcmp(tok[1], "notrun")) r->notrun = true;
            else if (!strcmp(tok[1], "heap") && n >= 4) {
                r->heap = true;
                r->heap_addr = strtoull(tok[3], NULL, 16);
            }
        } else if (!strcmp(k, "FREE")) {
            parse_stack(tok + 1, n - 1, &r->free_site);
        } else if (!strcmp(k, "M") && n >= 6) {
            r->has_m = true;
            r->leaked = strtoll(tok[1], NULL, 10);
            r->growth = strtoll(tok[2], NULL, 10);
            r->peak = strtoll(tok[3], NULL, 10);
            r->allocs = strtoull(tok[4], NULL, 10);
            r->dur_ns = strtoull(tok[5], NULL, 10);
        } else if (!strcmp(k, "NOTE") && n >= 2 && !strcmp(tok[1], "threads-running")) {
            r->threads_running = true;
        } else if (!strcmp(k, "A") && n >= 6) {
            r->has_annotation = true;
            r->a_leak = strtoll(tok[1], NULL, 10);
            r->a_growth = strtoll(tok[2], NULL, 10);
            r->a_peak = strtoll(tok[3], NULL, 10);
            r->a_line = (unsigned)strtoul(tok[4], NULL, 10);
            mg_unescape(tok[5]);
            r->a_file = mg_xstrdup(tok[5]);
        } else if (!strcmp(k, "F") && n >= 5) {
            if (strcmp(tok[1], "assert") != 0) continue; /* inactive/suite records: not asserts */
            r->failures = mg_xrealloc(r->failures, (r->nfailures + 1) * sizeof *r->failures);
            mg_failure *f = &r->failures[r->nfailures++];
            f->line = (unsigned)strtoul(tok[2], NULL, 10);
            mg_unescape(tok[3]);
            mg_unescape(tok[4]);
            f->file = mg_xstrdup(tok[3]);
            f->condition = mg_xstrdup(tok[4]);
        } else if (!strcmp(k, "STK") && n >= 2) {
            r->stacks = mg_xrealloc(r->stacks, (r->nstacks + 1) * sizeof *r->stacks);
            stackrec *s = &r->stacks[r->nstacks++];
            s->id = (unsigned)strtoul(tok[1], NULL, 10);
            parse_stack(tok + 2, n - 2, s);
        } else if (!strcmp(k, "D") && n >= 6 && r->ndiffs < 64) {
            r->diffs[r->ndiffs].id = (unsigned)strtoul(tok[1], NULL, 10);
            r->diffs[r->ndiffs].size = strtoll(tok[2], NULL, 10);
            r->diffs[r->ndiffs].size_diff = strtoll(tok[3], NULL, 10);
            r->diffs[r->ndiffs].count = strtoll(tok[4], NULL, 10);
            r->diffs[r->ndiffs].count_diff = strtoll(tok[5], NULL, 10);
            r->ndiffs++;
        } else if (!strcmp(k, "PK") && n >= 2) {
            r->peak_live = strtoll(tok[1], NULL, 10);
        } else if (!strcmp(k, "P") && n >= 4 && r->npeaks < 32) {
            r->peaks[r->npeaks].id = (unsigned)strtoul(tok[1], NULL, 10);
            r->peaks[r->npeaks].size = r->peaks[r->npeaks].size_diff = strtoll(tok[2], NULL, 10);
            r->peaks[r->npeaks].count = r->peaks[r->npeaks].count_diff = strtoll(tok[3], NULL, 10);
            r->npeaks++;
        } else if (!strcmp(k, "EXIT") && n >= 2) {
            r->has_exit = true;
            r->exit_status = atoi(tok[1]);
        }
    }
    free(copy);
}

static const stackrec *find_stack(const report *r, unsigned id) {
    for (size_t i = 0; i < r->nstacks; i++)
        if (r->stacks[i].id == id) return &r->stacks[i];
    return NULL;
}

static bool module_is(const mg_frame *f, const char *prefix) {
    if (!f->module) return false;
    const char *base = strrchr(f->module, '/');
    base = base ? base + 1 : f->module;
    return strncmp(base, prefix, strlen(prefix)) == 0;
}

/* Drops the harness from a traceback: memgate's driver frames and everything outside
 * them (CUnit's runner, main, libc start-up), or for a whole-process test the libc
 * start-up frames below main. What remains ends at the test function. */
/* A frame of CUnit's runner: in libcunit, or (CUnit linked statically) one of its
 * run functions. */
static bool cunit_frame(const mg_frame *f) {
    if (module_is(f, "libcunit.so")) return true;
    const char *fn = f->function ? f->function : "";
    return !strncmp(fn, "CU_", 3) || !strncmp(fn, "run_single_test", 15) ||
           !strncmp(fn, "run_single_suite", 16);
}

static void trim_frames(mg_frame *frames, size_t *n) {
    size_t keep = *n;
    for (size_t i = 1; i < *n; i++) {
        if (module_is(&frames[i], "libmemgate.so")) {
            keep = i;
            while (keep > 1 && cunit_frame(&frames[keep - 1])) keep--;
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

/* Symbolizes a raw stack into frames (innermost first). */
static void resolve_frames(const report *r, const stackrec *s, mg_frame **out, size_t *nout) {
    *out = NULL;
    *nout = 0;
    if (!s || !s->n) return;
    mg_symbolizer *sym = symbolizer_for(r->mods.data ? r->mods.data : "");
    *out = mg_xcalloc(s->n, sizeof **out);
    for (size_t i = 0; i < s->n; i++) {
        mg_frame *f = &(*out)[i];
        mg_symbol res = {0};
        if (sym) mg_sym_resolve(sym, s->ips[i], 1, &res);
        f->function = mg_xstrdup(res.function ? res.function : "??");
        f->file = mg_xstrdup(res.file);
        f->line = res.line;
        f->module = mg_xstrdup(res.module);
        f->address = s->ips[i];
    }
    *nout = s->n;
    trim_frames(*out, nout);
}

/* ---- per-test state ---------------------------------------------------------------------- */
enum { T_PENDING, T_RUNNING, T_RERUN, T_DONE, T_UNASSIGNED };

typedef struct test_state {
    mg_test_result r;
    mg_budget base; /* budget before the annotation */
    int state;
    bool active, suite_active;
    bool first_done;
    int64_t first_leak, first_growth, first_peak;
} test_state;

typedef struct bin {
    const char *path;
    char **argv;
    pid_t pid;
    int sock, out;
    bool running, listed, exit_sent, reaped, whole_trace, holds_slot;
    bool started_once, shard_selected;
    int wstatus;
    uint64_t started;
    sbuf in, output;
    size_t output_dropped;
    test_state *tests;
    size_t ntests, remaining, inflight;
    /* whole-process mode */
    bool whole;
    test_state whole_test;
} bin;

typedef struct job {
    size_t bin, idx;
    int trace;
} job;

typedef struct ctx {
    const mg_exec_opts *o;
    bin *bins;
    size_t nbins, next_bin;
    job *queue;
    size_t qhead, qlen, qcap;
    size_t slots_used, done, known;
    size_t next_assign;  /* next binary whose tests get shard positions */
    uint64_t position;   /* running test position for sharding */
} ctx;

static void assign_in_order(ctx *c);
static void assign_test(ctx *c, size_t bi, size_t idx);

/* Takes the next position; true when it belongs to this shard. */
static bool shard_take(ctx *c) {
    uint64_t pos = c->position++;
    return c->o->shard_count == 0 || pos % c->o->shard_count == c->o->shard_index;
}

static void enqueue(ctx *c, size_t b, size_t idx, int trace) {
    if (c->qlen == c->qcap) {
        c->qcap = c->qcap ? c->qcap * 2 : 256;
        c->queue = mg_xrealloc(c->queue, c->qcap * sizeof *c->queue);
    }
    c->queue[c->qlen++] = (job){b, idx, trace};
}

static void report_done(ctx *c, test_state *t) {
    t->state = T_DONE;
    c->done++;
    if (c->o->on_result) c->o->on_result(&t->r, c->done, c->known, c->o->ctx);
}

/* Applies the annotation and checks the figures; fills violations. */
static void check_budget(test_state *t, const report *rep) {
    mg_budget_free_contents(&t->r.budget);
    mg_budget_copy(&t->r.budget, &t->base);
    if (rep && rep->has_annotation)
        mg_budget_apply_annotation(&t->r.budget, rep->a_leak, rep->a_growth, rep->a_peak,
                                   rep->a_file, rep->a_line);
    t->r.violations = mg_budget_check(&t->r.budget, t->r.leaked_bytes, t->r.object_growth,
                                      t->r.peak_bytes);
}

static void append_msg(mg_test_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_msg(mg_test_result *r, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!r->message) {
        r->message = mg_xstrdup(buf);
    } else {
        char *m = mg_xasprintf("%s; %s", r->message, buf);
        free(r->message);
        r->message = m;
    }
}

static void budget_message(mg_test_result *r) {
    char a[32], b[32];
    if (r->violations & MG_VIOL_LEAK)
        append_msg(r, "leaked %s > budget %s", mg_format_size(r->leaked_bytes, a, sizeof a),
                   mg_format_size(r->budget.leak_bytes.value, b, sizeof b));
    if (r->violations & MG_VIOL_GROWTH)
        append_msg(r, "object growth %" PRId64 " > budget %" PRId64, r->object_growth,
                   r->budget.object_growth.value);
    if (r->violations & MG_VIOL_PEAK)
        append_msg(r, "peak %s > budget %s", mg_format_size(r->peak_bytes, a, sizeof a),
                   mg_format_size(r->budget.peak_bytes.value, b, sizeof b));
}

/* Fills diffs and peak_diffs from a traced report, applying suppressions to the figures. */
static void take_diffs(const mg_exec_opts *o, test_state *t, const report *rep) {
    mg_test_result *r = &t->r;
    int64_t sup_bytes = 0, sup_count = 0;
    const char *sup_pattern = NULL;
    r->diffs = mg_xcalloc(rep->ndiffs ? rep->ndiffs : 1, sizeof *r->diffs);
    for (size_t i = 0; i < rep->ndiffs; i++) {
        mg_entry e = {0};
        e.size = rep->diffs[i].size;
        e.size_diff = rep->diffs[i].size_diff;
        e.count = rep->diffs[i].count;
        e.count_diff = rep->diffs[i].count_diff;
        resolve_frames(rep, find_stack(rep, rep->diffs[i].id), &e.frames, &e.nframes);
        const char *pat = o->supp && e.nframes ? mg_supp_match(o->supp, &e) : NULL;
        if (pat) {
            sup_bytes += e.size_diff;
            sup_count += e.count_diff;
            sup_pattern = pat;
            mg_entry_free_contents(&e);
            continue;
        }
        r->diffs[r->ndiffs++] = e;
    }
    if (sup_bytes || sup_count) {
        r->leaked_bytes -= sup_bytes;
        r->object_growth -= sup_count;
        char a[32];
        append_msg(r, "suppressed %s in %" PRId64 " block%s (e.g. leak:%s)",
                   mg_format_size(sup_bytes, a, sizeof a), sup_count, sup_count == 1 ? "" : "s",
                   sup_pattern);
    }
    if (rep->npeaks && (r->violations & MG_VIOL_PEAK)) {
        r->peak_diffs = mg_xcalloc(rep->npeaks, sizeof *r->peak_diffs);
        for (size_t i = 0; i < rep->npeaks; i++) {
            mg_entry *e = &r->peak_diffs[r->npeak_diffs++];
            e->size = e->size_diff = rep->peaks[i].size;
            e->count = e->count_diff = rep->peaks[i].count;
            resolve_frames(rep, find_stack(rep, rep->peaks[i].id), &e->frames, &e->nframes);
        }
    }
}

static void set_output(mg_test_result *r, const char *data, size_t len) {
    free(r->output);
    r->output = NULL;
    if (!len) return;
    r->output = malloc(len + 1);
    if (!r->output) return;
    for (size_t i = 0; i < len; i++) r->output[i] = data[i] ? data[i] : '?';
    r->output[len] = '\0';
}

/* Heap misuse reported by glibc on stderr before it aborts. */
static const char *glibc_heap_message(const char *out) {
    static const char *needles[] = {"double free", "free(): invalid", "corrupted",
                                    "malloc(): ", "realloc(): invalid", "munmap_chunk()"};
    if (!out) return NULL;
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++) {
        const char *p = strstr(out, needles[i]);
        if (p) {
            while (p > out && p[-1] != '\n') p--;
            return p;
        }
    }
    return NULL;
}

/* A test killed by sig: named, and when glibc printed a heap-corruption message before
 * aborting, that message. */
static void set_crash(mg_test_result *r, int sig) {
    char name[32];
    r->status = MG_ST_CRASH;
    r->signal = sig;
    const char *heap = glibc_heap_message(r->output);
    if (heap)
        append_msg(r, "heap corruption detected by glibc: %.*s (%s)", (int)strcspn(heap, "\n"),
                   heap, mg_signal_name(sig, name, sizeof name));
    else
        append_msg(r, "crashed: killed by %s (%s)", mg_signal_name(sig, name, sizeof name),
                   strsignal(sig));
}

/* Classifies a finished run of a test child and fills the result. Returns true when the
 * test is final, false when a traced re-run was queued. */
static bool handle_result(ctx *c, size_t bi, test_state *t, int trace, int wstatus,
                          bool timed_out, uint64_t dur_ns, const char *res, size_t reslen,
                          const char *out, size_t outlen) {
    const mg_exec_opts *o = c->o;
    mg_test_result *r = &t->r;
    report rep;
    parse_report(res, reslen, &rep);
    bool rerun = trace && t->first_done;
    if (!rerun) {
        set_output(r, out, outlen);
        r->duration_s = (double)dur_ns / 1e9;
    }
    char sig[32];

    if (rerun) {
        /* The re-run only adds tracebacks; its outcome must match the first run. */
        if (!rep.ended || !rep.ok || !rep.has_m) {
            append_msg(r, "the re-run with stacks did not complete (%s)",
                       timed_out ? "timed out"
                       : WIFSIGNALED(wstatus) ? mg_signal_name(WTERMSIG(wstatus), sig, sizeof sig)
                                              : "no report");
            r->rerun_mismatch = true;
        } else {
            r->traced = true;
            free(r->message); /* rebuilt below from the final figures */
            r->message = NULL;
            if (rep.leaked != t->first_leak || rep.growth != t->first_growth ||
                rep.peak != t->first_peak) {
                r->rerun_mismatch = true;
                append_msg(r, "the re-run with stacks measured leak %" PRId64 " B, growth %" PRId64
                           ", peak %" PRId64 " B (first run: %" PRId64 ", %" PRId64 ", %" PRId64 ")",
                           rep.leaked, rep.growth, rep.peak, t->first_leak, t->first_growth,
                           t->first_peak);
            }
            take_diffs(o, t, &rep);
            check_budget(t, &rep);
            r->status = r->nfailures || r->violations ? MG_ST_FAIL : MG_ST_PASS;
            if (r->nfailures) append_msg(r, "%zu assertion(s) failed", r->nfailures);
            budget_message(r);
        }
        report_free(&rep);
        return true;
    }

    if (timed_out) {
        r->status = MG_ST_TIMEOUT;
        append_msg(r, "timed out after %.1f s (process group killed)", (double)o->timeout_ms / 1000.0);
    } else if (wstatus == -1 || wstatus == -2) {
        r->status = MG_ST_ERROR;
        append_msg(r, wstatus == -1 ? "the driver does not know this test" : "fork failed in the test binary");
    } else if (rep.heap) {
        /* memgate caught the misuse, reported it, then aborted the child. */
        r->status = MG_ST_CRASH;
        r->signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : SIGABRT;
        mg_frame *frames;
        size_t nf;
        resolve_frames(&rep, &rep.free_site, &frames, &nf);
        if (nf) {
            const char *file = frames[0].file ? frames[0].file : "?";
            const char *slash = strrchr(file, '/');
            append_msg(r, "heap misuse: double free of 0x%" PRIx64 " in %s (%s:%u)", rep.heap_addr,
                       frames[0].function, slash ? slash + 1 : file, frames[0].line);
        }
        else
            append_msg(r, "heap misuse: double free of 0x%" PRIx64, rep.heap_addr);
        mg_entry site = {.frames = frames, .nframes = nf};
        mg_entry_free_contents(&site);
    } else if (WIFSIGNALED(wstatus)) {
        set_crash(r, WTERMSIG(wstatus));
    } else if (!rep.ended) {
        r->status = MG_ST_ERROR;
        r->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 0;
        append_msg(r, "the test exited the process (exit status %d) before it finished", r->exit_code);
    } else if (rep.sinit) {
        r->status = MG_ST_ERROR;
        append_msg(r, "suite initialization failed");
    } else if (!rep.ok || !rep.has_m) {
        r->status = MG_ST_ERROR;
        append_msg(r, "the test did not run");
    } else {
        r->leaked_bytes = rep.leaked;
        r->object_growth = rep.growth;
        r->peak_bytes = rep.peak;
        r->allocations = rep.allocs;
        r->duration_s = (double)rep.dur_ns / 1e9;
        t->first_done = true;
        t->first_leak = rep.leaked;
        t->first_growth = rep.growth;
        t->first_peak = rep.peak;
        r->failures = rep.failures;
        r->nfailures = rep.nfailures;
        rep.failures = NULL;
        rep.nfailures = 0;
        check_budget(t, &rep);
        if (rep.threads_running)
            append_msg(r, "threads were still running after the test: libc caches were not released");
        if (trace) take_diffs(o, t, &rep), check_budget(t, &rep);
        r->status = r->nfailures || r->violations ? MG_ST_FAIL : MG_ST_PASS;
        if (r->nfailures) append_msg(r, "%zu assertion(s) failed", r->nfailures);
        budget_message(r);
        if (r->violations && !trace && !o->no_rerun) {
            report_free(&rep);
            t->state = T_RERUN;
            enqueue(c, bi, (size_t)(t - c->bins[bi].tests), 1);
            return false;
        }
    }
    report_free(&rep);
    return true;
}

/* ---- spawning ------------------------------------------------------------------------------ */
static char *env_entry(const char *name, const char *value) { return mg_xasprintf("%s=%s", name, value); }

static char **build_env(const mg_exec_opts *o, int sockfd, bool trace) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = mg_xcalloc(n + 12, sizeof *env);
    size_t k = 0;
    const char *old_preload = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(environ[i], "LD_PRELOAD=", 11)) {
            old_preload = environ[i] + 11;
            continue;
        }
        if (!strncmp(environ[i], "MEMGATE_", 8)) continue;
        env[k++] = environ[i];
    }
    env[k++] = old_preload && *old_preload
                   ? mg_xasprintf("LD_PRELOAD=%s:%s", o->library, old_preload)
                   : env_entry("LD_PRELOAD", o->library);
    env[k++] = env_entry("MEMGATE_ACTIVE", "1");
    char num[32];
    snprintf(num, sizeof num, "%d", sockfd);
    env[k++] = env_entry("MEMGATE_RUNNER_FD", num);
    snprintf(num, sizeof num, "%u", o->timeout_ms);
    env[k++] = env_entry("MEMGATE_TIMEOUT_MS", num);
    if (trace || o->always_trace) env[k++] = env_entry("MEMGATE_STACKS", "1");
    if (o->unwind) env[k++] = env_entry("MEMGATE_UNWIND", o->unwind);
    if (o->max_frames) {
        snprintf(num, sizeof num, "%u", o->max_frames);
        env[k++] = env_entry("MEMGATE_MAX_FRAMES", num);
    }
    env[k++] = NULL; /* MEMGATE_RUNNER_PID is added in the child */
    return env;
}

static int spawn_bin(ctx *c, bin *b, bool trace, char *err, size_t errlen) {
    int sv[2], outp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        mg_set_err(err, errlen, "socketpair: %s", strerror(errno));
        return -1;
    }
    if (pipe2(outp, O_CLOEXEC) != 0) {
        mg_set_err(err, errlen, "pipe: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    char **env = build_env(c->o, sv[1], trace);
    char *argv_default[2] = {(char *)b->path, NULL};
    char **argv = b->argv ? b->argv : argv_default;
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        size_t k = 0;
        while (env[k]) k++;
        char pidbuf[64];
        snprintf(pidbuf, sizeof pidbuf, "MEMGATE_RUNNER_PID=%d", (int)getpid());
        env[k] = pidbuf;
        env[k + 1] = NULL;
        fcntl(sv[1], F_SETFD, 0); /* the driver's end survives exec */
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(outp[1], 1);
        dup2(outp[1], 2);
        execve(b->path, argv, env);
        dprintf(2, "memgate: cannot execute %s: %s\n", b->path, strerror(errno));
        _exit(127);
    }
    for (size_t i = 0; env[i]; i++)
        if (!strncmp(env[i], "LD_PRELOAD=", 11) || !strncmp(env[i], "MEMGATE_", 8)) free(env[i]);
    free(env);
    close(sv[1]);
    close(outp[1]);
    if (pid < 0) {
        mg_set_err(err, errlen, "fork: %s", strerror(errno));
        close(sv[0]);
        close(outp[0]);
        return -1;
    }
    setpgid(pid, pid);
    b->pid = pid;
    b->sock = sv[0];
    b->out = outp[0];
    fcntl(b->out, F_SETFL, O_NONBLOCK);
    b->running = true;
    b->reaped = false;
    b->exit_sent = false;
    b->started = now_ns();
    b->whole_trace = trace;
    b->holds_slot = true;
    b->started_once = true;
    c->slots_used++;
    return 0;
}

static void send_line(bin *b, const char *line) {
    size_t len = strlen(line);
    while (len) {
        ssize_t w = write(b->sock, line, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return; /* the binary is gone: its EOF is handled by the loop */
        }
        line += w;
        len -= (size_t)w;
    }
}

/* ---- protocol ---------------------------------------------------------------------------- */
static bool test_selected(const mg_exec_opts *o, const char *suite, const char *name) {
    if (!o->nfilters) return true;
    char *full = mg_xasprintf("%s/%s", suite, name);
    bool hit = false;
    for (size_t i = 0; i < o->nfilters && !hit; i++) hit = fnmatch(o->filters[i], full, 0) == 0;
    free(full);
    return hit;
}

static void handle_list(ctx *c, size_t bi, char *text) {
    bin *b = &c->bins[bi];
    size_t n = 0;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save); /* "LIST n" */
    n = (size_t)strtoul(line + 5, NULL, 10);
    b->tests = mg_xcalloc(n ? n : 1, sizeof *b->tests);
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tok[6];
        if (tokenize(line, tok, 6) != 6 || strcmp(tok[0], "T") != 0) continue;
        size_t idx = (size_t)strtoul(tok[1], NULL, 10);
        if (idx >= n) continue;
        mg_unescape(tok[4]);
        mg_unescape(tok[5]);
        test_state *t = &b->tests[idx];
        t->r.binary = mg_xstrdup(b->path);
        t->r.suite = mg_xstrdup(tok[4]);
        t->r.name = mg_xstrdup(tok[5]);
        mg_budgets_resolve(c->o->budgets, &c->o->cli, t->r.suite, t->r.name, &t->base);
        mg_budget_copy(&t->r.budget, &t->base);
        bool active = atoi(tok[2]) && atoi(tok[3]);
        if (!test_selected(c->o, t->r.suite, t->r.name)) {
            t->state = -1; /* deselected: not reported at all */
            continue;
        }
        if (c->o->list_only) {
            if (c->o->on_listed) c->o->on_listed(b->path, t->r.suite, t->r.name, active, c->o->ctx);
            t->state = -1;
            continue;
        }
        t->state = T_UNASSIGNED;
        t->active = active;
        t->suite_active = atoi(tok[2]) != 0;
    }
    b->ntests = n;
    b->listed = true;
    if (b->holds_slot) {
        b->holds_slot = false;
        c->slots_used--;
    }
    assign_in_order(c);
}

/* Queues the tests of listed binaries in binary order, so that the shard a test falls
 * in depends only on its position in (binary, suite, test) order, whatever order the
 * binaries answered in. A binary that ended without listing holds one position (its
 * whole-process test). */
static void assign_in_order(ctx *c) {
    if (c->o->shard_count == 0) { /* positions do not matter: queue what has listed */
        for (size_t bi = 0; bi < c->nbins; bi++) {
            bin *b = &c->bins[bi];
            if (!b->listed) continue;
            for (size_t idx = 0; idx < b->ntests; idx++)
                if (b->tests[idx].state == T_UNASSIGNED) assign_test(c, bi, idx);
        }
        return;
    }
    while (c->next_assign < c->nbins) {
        bin *b = &c->bins[c->next_assign];
        if (!b->listed && b->running) return;
        if (!b->listed && !b->started_once) return;
        if (!b->listed) {
            b->shard_selected = shard_take(c);
            c->next_assign++;
            continue;
        }
        for (size_t idx = 0; idx < b->ntests; idx++) {
            test_state *t = &b->tests[idx];
            if (t->state != T_UNASSIGNED) continue;
            if (!shard_take(c)) {
                t->state = -1;
                continue;
            }
            assign_test(c, c->next_assign, idx);
        }
        c->next_assign++;
    }
}

static void assign_test(ctx *c, size_t bi, size_t idx) {
    bin *b = &c->bins[bi];
    test_state *t = &b->tests[idx];
    c->known++;
    if (!t->active) {
        t->r.status = MG_ST_SKIP;
        t->r.message = mg_xstrdup(t->suite_active ? "test is inactive" : "suite is inactive");
        report_done(c, t);
        return;
    }
    if (!b->running) { /* the binary ended while its tests waited for their shard turn */
        t->r.status = MG_ST_ERROR;
        append_msg(&t->r, "the test binary exited before this test ran");
        report_done(c, t);
        return;
    }
    b->remaining++;
    t->state = T_PENDING;
    enqueue(c, bi, idx, c->o->always_trace ? 1 : 0);
}

/* Names and budgets the whole-process test of binary b (suite = the binary's name,
 * test "main"), with its output so far. */
static void init_whole_test(ctx *c, bin *b) {
    test_state *t = &b->whole_test;
    mg_test_result *r = &t->r;
    char *base = mg_xstrdup(b->path);
    r->binary = mg_xstrdup(b->path);
    r->suite = mg_xstrdup(basename(base));
    r->name = mg_xstrdup("main");
    free(base);
    mg_budgets_resolve(c->o->budgets, &c->o->cli, r->suite, r->name, &t->base);
    mg_budget_copy(&r->budget, &t->base);
    r->duration_s = (double)(now_ns() - b->started) / 1e9;
    set_output(r, b->output.data, b->output.len);
    c->known++;
}

static void finish_whole(ctx *c, size_t bi, const char *res, size_t len) {
    bin *b = &c->bins[bi];
    test_state *t = &b->whole_test;
    report rep;
    parse_report(res, len, &rep);
    bool traced = b->whole_trace;
    if (!traced) init_whole_test(c, b);
    b->whole = true;
    test_state *ts = t;
    mg_test_result *r = &ts->r;
    if (rep.heap) {
        report_free(&rep);
        r->status = MG_ST_CRASH;
        append_msg(r, "heap misuse: double free");
        return;
    }
    if (!traced || !ts->first_done) {
        r->leaked_bytes = rep.leaked;
        r->object_growth = rep.growth;
        r->peak_bytes = rep.peak;
        r->allocations = rep.allocs;
        ts->first_done = true;
        ts->first_leak = rep.leaked;
        ts->first_growth = rep.growth;
        ts->first_peak = rep.peak;
    } else if (rep.leaked != ts->first_leak || rep.growth != ts->first_growth) {
        r->rerun_mismatch = true;
    }
    check_budget(ts, &rep);
    if (traced || c->o->always_trace) {
        r->traced = traced; /* "traced" = the tracebacks come from a re-run */
        take_diffs(c->o, ts, &rep);
        check_budget(ts, &rep);
    }
    free(r->message);
    r->message = NULL;
    r->exit_code = rep.exit_status;
    r->status = r->violations ? MG_ST_FAIL : MG_ST_PASS;
    if (rep.exit_status) {
        r->status = MG_ST_FAIL;
        append_msg(r, "the program exited with status %d", rep.exit_status);
    }
    budget_message(r);
    if (rep.threads_running)
        append_msg(r, "threads were still running at exit: libc caches were not released");
    report_free(&rep);
}

/* Handles complete messages in b->in. */
static void process_input(ctx *c, size_t bi) {
    bin *b = &c->bins[bi];
    for (;;) {
        char *nl = memchr(b->in.data ? b->in.data : "", '\n', b->in.len);
        if (!nl) return;
        size_t hlen = (size_t)(nl - b->in.data) + 1;
        if (!strncmp(b->in.data, "LIST ", 5)) {
            char *end = strstr(b->in.data, "ENDLIST\n");
            if (!end) return;
            size_t total = (size_t)(end - b->in.data) + 8;
            char *text = mg_xcalloc(1, total + 1);
            memcpy(text, b->in.data, total);
            sb_consume(&b->in, total);
            handle_list(c, bi, text);
            free(text);
        } else if (!strncmp(b->in.data, "RESULT ", 7)) {
            char hdr[256];
            size_t l = hlen < sizeof hdr ? hlen : sizeof hdr - 1;
            memcpy(hdr, b->in.data, l);
            hdr[l] = '\0';
            char *tok[9];
            if (tokenize(hdr, tok, 9) != 8) {
                sb_consume(&b->in, hlen);
                continue;
            }
            size_t idx = strtoul(tok[1], NULL, 10);
            int trace = atoi(tok[2]);
            int wstatus = atoi(tok[3]);
            bool timed_out = atoi(tok[4]) != 0;
            uint64_t dur = strtoull(tok[5], NULL, 10);
            size_t reslen = strtoul(tok[6], NULL, 10), outlen = strtoul(tok[7], NULL, 10);
            if (b->in.len < hlen + reslen + outlen) return;
            const char *res = b->in.data + hlen;
            const char *out = res + reslen;
            if (b->inflight) b->inflight--;
            if (c->slots_used) c->slots_used--;
            if (idx < b->ntests && b->tests[idx].state != T_DONE) {
                test_state *t = &b->tests[idx];
                if (handle_result(c, bi, t, trace, wstatus, timed_out, dur, res, reslen, out, outlen)) {
                    b->remaining--;
                    report_done(c, t);
                }
            }
            sb_consume(&b->in, hlen + reslen + outlen);
        } else if (!strncmp(b->in.data, "WHOLE ", 6)) {
            size_t len = strtoul(b->in.data + 6, NULL, 10);
            if (b->in.len < hlen + len) return;
            finish_whole(c, bi, b->in.data + hlen, len);
            sb_consume(&b->in, hlen + len);
        } else {
            sb_consume(&b->in, hlen); /* BYE and anything unknown */
        }
    }
}

/* Called when a binary's process has ended and its socket is drained. */
static void bin_ended_inner(ctx *c, size_t bi);

static void bin_ended(ctx *c, size_t bi) {
    bin_ended_inner(c, bi);
    assign_in_order(c);
}

static void bin_ended_inner(ctx *c, size_t bi) {
    bin *b = &c->bins[bi];
    b->running = false;
    close(b->sock);
    close(b->out);
    b->sock = b->out = -1;
    if (b->holds_slot) {
        b->holds_slot = false;
        if (c->slots_used) c->slots_used--;
    }
    c->slots_used -= b->inflight < c->slots_used ? b->inflight : c->slots_used;
    b->inflight = 0;
    char sig[32];
    if (b->listed) {
        /* Tests that never got a result: the binary died under them. */
        for (size_t i = 0; i < b->ntests; i++) {
            test_state *t = &b->tests[i];
            if (t->state == T_DONE || t->state == -1 || t->state == T_UNASSIGNED) continue;
            if (t->state == T_RERUN && t->first_done) {
                append_msg(&t->r, "the re-run with stacks could not run (test binary ended)");
                t->r.rerun_mismatch = true;
            } else {
                t->r.status = MG_ST_ERROR;
                if (WIFSIGNALED(b->wstatus))
                    append_msg(&t->r, "the test binary died (%s) before this test ran",
                               mg_signal_name(WTERMSIG(b->wstatus), sig, sizeof sig));
                else
                    append_msg(&t->r, "the test binary exited before this test ran");
            }
            b->remaining--;
            report_done(c, t);
        }
        return;
    }
    test_state *t = &b->whole_test;
    if (b->whole) {
        mg_test_result *r = &t->r;
        if (r->violations && !b->whole_trace && !c->o->no_rerun && !c->o->always_trace &&
            r->status != MG_ST_CRASH) {
            char err[256];
            if (spawn_bin(c, b, true, err, sizeof err) == 0) return; /* traced re-run */
        }
        report_done(c, t);
        return;
    }
    if (b->whole_trace && t->first_done) { /* the traced re-run died */
        append_msg(&t->r, "the re-run with stacks did not complete");
        t->r.rerun_mismatch = true;
        report_done(c, t);
        return;
    }
    /* The program ended without any report: crash, timeout or exec failure. */
    mg_test_result *r = &t->r;
    init_whole_test(c, b);
    if (WIFSIGNALED(b->wstatus) && WTERMSIG(b->wstatus) == SIGKILL && b->exit_sent) {
        r->status = MG_ST_TIMEOUT;
        append_msg(r, "timed out after %.1f s (process group killed)", (double)c->o->timeout_ms / 1000.0);
    } else if (WIFSIGNALED(b->wstatus)) {
        set_crash(r, WTERMSIG(b->wstatus));
    } else {
        r->status = MG_ST_ERROR;
        r->exit_code = WIFEXITED(b->wstatus) ? WEXITSTATUS(b->wstatus) : -1;
        if (r->exit_code == 127)
            append_msg(r, "could not execute %s (see output)", b->path);
        else if (r->exit_code == MG_EXIT_HEAP)
            append_msg(r, "heap misuse detected");
        else
            append_msg(r, "the program exited (status %d) without reporting to memgate", r->exit_code);
    }
    report_done(c, t);
}

/* ---- the loop ---------------------------------------------------------------------------- */
static void dispatch(ctx *c) {
    unsigned jobs = c->o->jobs ? c->o->jobs : 1;
    while (c->qhead < c->qlen && c->slots_used < jobs) {
        job j = c->queue[c->qhead++];
        bin *b = &c->bins[j.bin];
        if (!b->running) continue;
        char line[64];
        snprintf(line, sizeof line, "RUN %zu %d\n", j.idx, j.trace);
        b->tests[j.idx].state = j.trace && b->tests[j.idx].state == T_RERUN ? T_RERUN : T_RUNNING;
        send_line(b, line);
        b->inflight++;
        c->slots_used++;
    }
    for (size_t i = 0; i < c->nbins; i++) {
        bin *b = &c->bins[i];
        if (b->running && b->listed && !b->exit_sent && b->remaining == 0 && b->inflight == 0) {
            send_line(b, "EXIT\n");
            b->exit_sent = true;
        }
    }
}

static void start_bins(ctx *c, char *err, size_t errlen) {
    unsigned jobs = c->o->jobs ? c->o->jobs : 1;
    while (c->next_bin < c->nbins && c->slots_used < jobs) {
        /* Keep the queue from starving: start a binary only when no test is waiting. */
        if (c->qhead < c->qlen) break;
        bin *b = &c->bins[c->next_bin++];
        if (spawn_bin(c, b, false, err, errlen) != 0) {
            fprintf(stderr, "memgate: %s: %s\n", b->path, err);
            b->wstatus = 127 << 8;
            b->running = false;
        }
    }
}

static void kill_bin(bin *b) {
    if (b->pid > 0) {
        kill(-b->pid, SIGKILL);
        kill(b->pid, SIGKILL);
    }
}

int mg_exec(const mg_exec_opts *o, mg_run *run, char *err, size_t errlen) {
    ctx c = {0};
    c.o = o;
    c.nbins = o->nbinaries;
    c.bins = mg_xcalloc(c.nbins ? c.nbins : 1, sizeof *c.bins);
    for (size_t i = 0; i < c.nbins; i++) {
        c.bins[i].path = o->binaries[i];
        c.bins[i].argv = o->argv;
        c.bins[i].sock = c.bins[i].out = -1;
    }
    signal(SIGPIPE, SIG_IGN);
    uint64_t t0 = now_ns();
    struct pollfd *pfd = mg_xcalloc(c.nbins * 2 + 1, sizeof *pfd);
    for (;;) {
        start_bins(&c, err, errlen);
        dispatch(&c);
        bool any = false;
        size_t np = 0;
        for (size_t i = 0; i < c.nbins; i++) {
            bin *b = &c.bins[i];
            if (!b->running) continue;
            any = true;
            pfd[np++] = (struct pollfd){.fd = b->sock, .events = POLLIN};
            pfd[np++] = (struct pollfd){.fd = b->out, .events = POLLIN};
        }
        if (!any && c.next_bin >= c.nbins) break;
        if (o->interrupted && *o->interrupted) {
            for (size_t i = 0; i < c.nbins; i++)
                if (c.bins[i].running) kill_bin(&c.bins[i]);
            for (size_t i = 0; i < c.nbins; i++)
                if (c.bins[i].running) waitpid(c.bins[i].pid, NULL, 0);
            break;
        }
        int r = poll(pfd, np, 100);
        if (r < 0 && errno != EINTR) break;
        uint64_t now = now_ns();
        np = 0;
        for (size_t i = 0; i < c.nbins; i++) {
            bin *b = &c.bins[i];
            if (!b->running) continue;
            struct pollfd *ps = &pfd[np], *po = &pfd[np + 1];
            np += 2;
            if (po->revents) {
                char tmp[8192];
                ssize_t n;
                while ((n = read(b->out, tmp, sizeof tmp)) > 0) {
                    size_t keep = (size_t)n;
                    if (b->output.len + keep > BIN_OUTPUT_CAP) {
                        size_t room = b->output.len < BIN_OUTPUT_CAP ? BIN_OUTPUT_CAP - b->output.len : 0;
                        b->output_dropped += keep - room;
                        keep = room;
                    }
                    if (keep) sb_put(&b->output, tmp, keep);
                }
            }
            bool eof = false;
            if (ps->revents) {
                char tmp[65536];
                ssize_t n = read(b->sock, tmp, sizeof tmp);
                if (n > 0)
                    sb_put(&b->in, tmp, (size_t)n);
                else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                    eof = true;
                process_input(&c, i);
            }
            /* A whole-process test (not listed) is timed here; listed tests by the driver. */
            if (!b->listed && o->timeout_ms && !b->exit_sent &&
                now - b->started > (uint64_t)o->timeout_ms * 1000000u) {
                b->exit_sent = true; /* marks "killed for timeout" */
                kill_bin(b);
            }
            if (eof) {
                waitpid(b->pid, &b->wstatus, 0);
                kill(-b->pid, SIGKILL); /* leftovers of the group */
                bin_ended(&c, i);
            }
        }
    }
    free(pfd);

    /* Assemble results in binary, registry order. */
    size_t total = 0;
    for (size_t i = 0; i < c.nbins; i++) {
        bin *b = &c.bins[i];
        if (b->listed) {
            for (size_t k = 0; k < b->ntests; k++) total += b->tests[k].state == T_DONE;
        } else if (b->whole_test.r.name && (o->shard_count == 0 || b->shard_selected)) {
            total++;
        }
    }
    run->tests = mg_xcalloc(total ? total : 1, sizeof *run->tests);
    run->ntests = 0;
    for (size_t i = 0; i < c.nbins; i++) {
        bin *b = &c.bins[i];
        if (b->listed) {
            for (size_t k = 0; k < b->ntests; k++) {
                test_state *t = &b->tests[k];
                if (t->state == T_DONE) run->tests[run->ntests++] = t->r;
                else mg_test_result_free_contents(&t->r);
                mg_budget_free_contents(&t->base);
            }
        } else if (b->whole_test.r.name && (o->shard_count == 0 || b->shard_selected)) {
            run->tests[run->ntests++] = b->whole_test.r;
            mg_budget_free_contents(&b->whole_test.base);
        } else if (b->whole_test.r.name) {
            mg_test_result_free_contents(&b->whole_test.r);
            mg_budget_free_contents(&b->whole_test.base);
        }
        free(b->tests);
        free(b->in.data);
        free(b->output.data);
    }
    run->duration_s = (double)(now_ns() - t0) / 1e9;
    free(c.bins);
    free(c.queue);
    symcache_free_all();
    (void)err;
    (void)errlen;
    return 0;
}
