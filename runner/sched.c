/*
 * The orchestrator (exec.h): runs test binaries under the collector and turns what they
 * report into results, in registry order. Why this file is long: it is the one place
 * that owns the lifecycle of every process and entry of a run (drivers, jobs, re-runs,
 * replays, deadlines, strays), and splitting that state machine would scatter it.
 * Parsing lives in wire.c, processes in spawn.c, the verdict in judge.c, tracebacks in
 * culprit.c.
 *
 * Per binary, a driver process (the binary with libmemgate preloaded) says HELLO and
 * lists its registry; each entry (a test, or a suite's "(suite)" entry) then needs one
 * or more runs, each a RUN command a driver executes in a fresh child:
 *   FIRST  the measured run (a suite in suite isolation: all its tests in one child);
 *   WARM   again with the warm-ups the test's annotation asked for;
 *   TRACE  again with stacks, for an entry over budget, to name its tracebacks;
 *   PROBE  again with one more warm-up, to tell first-use initialisation from a leak.
 * When an entry needs nothing more, it is judged once (judge.c) and reported.
 *
 * Parallelism (-j N): a driver runs one child at a time, and a binary gets up to N
 * drivers ("lanes") that list the same registry, so forks of one binary's tests run in
 * parallel instead of queueing behind one parent.
 *
 * Faults: each driver has a deadline for listing, for every command and for exiting; a
 * driver that dies or stops answering takes only the running command's entry with it
 * (the culprit), and the binary's remaining entries go on in a restarted driver. A
 * suite child that dies is replayed without the test that crashed. Processes that a
 * test left behind become the CLI's children (spawn.c: subreaper) and are killed and
 * named when their binary's driver ends.
 */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "culprit.h"
#include "exec.h"
#include "judge.h"
#include "protocol.h"
#include "spawn.h"
#include "util.h"
#include "wire.h"

#define BIN_OUTPUT_CAP (16 * 1024)
/* Beyond the per-test timeout the driver enforces itself, how long a command may take
 * before the driver counts as unresponsive. */
#define DRIVER_GRACE_MS 2000
/* How long a driver may take to exit after EXIT. */
#define EXIT_GRACE_MS 10000

/* ---- small helpers ------------------------------------------------------------------- */
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

/* ---- state ------------------------------------------------------------------------------ */
enum { NEED_FIRST = 1u, NEED_WARM = 2u, NEED_TRACE = 4u, NEED_PROBE = 8u, NEED_TORTURE = 16u };
enum { R_FIRST, R_WARM, R_TRACE, R_PROBE, R_TORTURE };
enum { E_OFF, E_WAIT, E_ACTIVE, E_DONE };
enum { J_TEST, J_SUITE, J_SUITEONLY, J_WHOLE };

typedef struct entry {
    mg_test_result r;
    mg_budget base;       /* resolved without the annotation */
    mg_annotation ann;
    int state;
    unsigned need;        /* NEED_* still to run */
    unsigned warmups;     /* warm-ups of its runs */
    unsigned repeat;      /* measured runs in its child (>= 1) */
    bool first_done;      /* the measured figures are in */
    int64_t first_fig[MG_M_COUNT];
    unsigned first_known;
    unsigned long long t0, t1; /* boot ticks of its last run (stray attribution) */
    size_t torture_pending; /* torture: points queued or running */
} entry;

typedef struct suite_st {
    mg_isolation iso;
    bool has_entry;       /* an init or cleanup function: a "(suite)" entry */
    entry entry;
    sbuf skip;            /* suite isolation: tests that crashed, "i,j," */
    unsigned children;    /* suite children started (bounds replays) */
} suite_st;

typedef struct job {
    size_t bin;
    int what;             /* J_* */
    unsigned index;       /* test or suite index */
    int round;            /* R_* */
    bool trace;
    unsigned warmups;
    uint64_t fail_at;     /* R_TORTURE: the allocation made to fail */
    int drv;              /* the driver running it, -1 while queued */
    uint64_t deadline;
    bool done;
    uint64_t started;     /* when it was sent to its driver (progress, on_tick) */
} job;

typedef struct driver {
    size_t bin;
    mg_proc p;
    bool alive, hello, listed, exit_sent, lane_bad;
    bool trace;           /* stacks from its start: runs the traced re-runs */
    bool whole_rerun;     /* started to re-run a whole-process program with stacks */
    int job;              /* index of the running job, -1 when idle */
    sbuf in;
    uint64_t started, deadline;
    int deadline_kind;    /* what the deadline is for: 0 none, 1 listing, 2 command, 3 exit */
    char *modules;        /* its module map from LIST (crash sites; each driver has its own
                           * load addresses) */
    bool killed;          /* killed at a deadline */
    char state_at_kill;   /* its state then ('T': stopped) */
    int wstatus;
} driver;

typedef struct binary {
    const char *path;
    char **argv;
    mg_wire_list list;
    bool listed, started, ended_unlisted, single_lane;
    entry *tests;
    suite_st *suites;
    unsigned restarts;
    bool whole;           /* measured as one whole-process test */
    entry whole_e;
    bool whole_pending_trace;
    bool shard_assigned;
    sbuf output;          /* the program's own output outside test children */
    size_t output_dropped;
} binary;

typedef struct ctx {
    const mg_exec_opts *o;
    mg_judge_ctx jctx;
    binary *bins;
    size_t nbins;
    driver *drv;
    size_t ndrv, capdrv;
    job *jobs;
    size_t njobs, capjobs;
    size_t next_job;      /* jobs before it are all dispatched or done */
    size_t running;       /* jobs running + drivers starting (listing) */
    size_t done, known;
    size_t next_shard_bin;
    uint64_t position;
    mg_run *run;
    const char *cur_modules; /* the module map of the driver whose result is handled */
} ctx;

static unsigned jobs_limit(const ctx *c) { return c->o->jobs ? c->o->jobs : 1; }

/* ---- entries ------------------------------------------------------------------------------ */
static void entry_init(ctx *c, entry *e, const char *binary_path, const char *suite, const char *name,
                       mg_kind kind) {
    memset(e, 0, sizeof *e);
    e->r.binary = mg_xstrdup(binary_path);
    e->r.suite = mg_xstrdup(suite);
    e->r.name = mg_xstrdup(name);
    e->r.kind = kind;
    mg_budgets_resolve(c->o->budgets, &c->o->cli, suite, name, &e->base);
    mg_budget_copy(&e->r.budget, &e->base);
    e->warmups = e->base.settings.warmups;
    e->r.warmups = e->warmups;
    e->repeat = e->base.settings.repeat ? e->base.settings.repeat : 1;
    e->r.repeat = e->repeat;
    mg_annotation_from_window(&e->ann, NULL);
}

static mg_trace_rules rules_for(const binary *b, const entry *e) {
    mg_trace_rules r = {0};
    r.harness_functions = (const char *const *)b->list.harness_functions;
    r.harness_modules = (const char *const *)b->list.harness_modules;
    r.alloc_functions = (const char *const *)e->base.settings.alloc_functions;
    r.nalloc_functions = e->base.settings.nalloc_functions;
    return r;
}

static void torture_verdict(entry *e);

/* The entry is final: judged once, then reported. */
static void finish_entry(ctx *c, entry *e) {
    if (e->state == E_DONE) return;
    e->need = 0;
    e->state = E_DONE;
    mg_judge_final(&e->r, &e->base, &e->ann, &c->jctx);
    torture_verdict(e);
    c->done++;
    if (c->o->on_result) c->o->on_result(&e->r, c->done, c->known, c->o->ctx);
}

static bool selected(const mg_exec_opts *o, const char *suite, const char *name) {
    char *full = mg_xasprintf("%s/%s", suite, name);
    bool hit = o->nfilters == 0;
    for (size_t i = 0; i < o->nfilters && !hit; i++) hit = fnmatch(o->filters[i], full, 0) == 0;
    for (size_t i = 0; i < o->nexcludes && hit; i++) hit = fnmatch(o->excludes[i], full, 0) != 0;
    free(full);
    return hit;
}

/* ---- jobs --------------------------------------------------------------------------------- */
static size_t add_job(ctx *c, size_t bin, int what, unsigned index, int round, bool trace, unsigned warmups) {
    if (c->njobs == c->capjobs) {
        c->capjobs = c->capjobs ? c->capjobs * 2 : 256;
        c->jobs = mg_xrealloc(c->jobs, c->capjobs * sizeof *c->jobs);
    }
    c->jobs[c->njobs] = (job){bin, what, index, round, trace, warmups, 0, -1, 0, false, 0};
    return c->njobs++;
}

/* The job an entry needs next, queued. */
static void queue_entry(ctx *c, size_t bin, entry *e, int what, unsigned index) {
    const mg_exec_opts *o = c->o;
    if (e->need & NEED_FIRST)
        add_job(c, bin, what, index, R_FIRST, o->always_trace, e->warmups);
    else if (e->need & NEED_WARM)
        add_job(c, bin, what, index, R_WARM, o->always_trace, e->warmups);
    else if (e->need & NEED_TRACE)
        add_job(c, bin, what, index, R_TRACE, true, e->warmups);
    else if (e->need & NEED_PROBE)
        add_job(c, bin, what, index, R_PROBE, false, e->warmups + 1);
}

/* Suite isolation: the next child of suite s, for what its entries still need. */
static void queue_suite(ctx *c, size_t bin, unsigned s) {
    binary *b = &c->bins[bin];
    unsigned need = b->suites[s].has_entry && b->suites[s].entry.state == E_ACTIVE ? b->suites[s].entry.need : 0;
    for (size_t t = 0; t < b->list.ntests; t++)
        if (b->list.tests[t].suite == s && b->tests[t].state == E_ACTIVE) need |= b->tests[t].need;
    if (!need) return;
    int round = need & NEED_FIRST ? R_FIRST : need & NEED_WARM ? R_WARM : R_TRACE;
    add_job(c, bin, J_SUITE, s, round, round == R_TRACE || c->o->always_trace, 0);
}

/* ---- drivers -------------------------------------------------------------------------------- */
/* Starts a driver of binary bin: with stacks from its start (trace) for traced re-runs,
 * whose lost-vs-reachable scan needs every block in the side table. */
static int start_driver(ctx *c, size_t bin, bool trace, char *err, size_t errlen) {
    binary *b = &c->bins[bin];
    /* --stacks: a program measured as a whole captures stacks from its start. */
    mg_spawn_opts so = {c->o->library, c->o->timeout_ms, trace || c->o->always_trace, c->o->unwind,
                        c->o->max_frames};
    mg_proc p;
    if (mg_spawn(&so, b->path, b->argv, &p, err, errlen) != 0) return -1;
    if (c->ndrv == c->capdrv) {
        c->capdrv = c->capdrv ? c->capdrv * 2 : 16;
        c->drv = mg_xrealloc(c->drv, c->capdrv * sizeof *c->drv);
    }
    driver *d = &c->drv[c->ndrv++];
    memset(d, 0, sizeof *d);
    d->bin = bin;
    d->p = p;
    d->alive = true;
    d->trace = trace || c->o->always_trace;
    d->job = -1;
    d->started = now_ns();
    if (c->o->timeout_ms) {
        d->deadline = d->started + (uint64_t)c->o->timeout_ms * 1000000u;
        d->deadline_kind = 1;
    }
    b->started = true;
    c->running++; /* a starting driver holds a slot until it lists */
    return 0;
}

static void send_line(driver *d, const char *line) {
    size_t len = strlen(line);
    while (len) {
        ssize_t w = write(d->p.sock, line, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = d->p.sock, .events = POLLOUT};
                if (poll(&p, 1, 1000) > 0) continue;
            }
            return; /* the driver is gone: its EOF is handled by the loop */
        }
        line += w;
        len -= (size_t)w;
    }
}

static size_t live_drivers(const ctx *c, size_t bin) {
    size_t n = 0;
    for (size_t i = 0; i < c->ndrv; i++) n += c->drv[i].alive && c->drv[i].bin == bin;
    return n;
}

/* Live drivers of binary bin with stacks on (trace) or off. */
static size_t live_lanes(const ctx *c, size_t bin, bool trace) {
    size_t n = 0;
    for (size_t i = 0; i < c->ndrv; i++)
        n += c->drv[i].alive && c->drv[i].bin == bin && c->drv[i].trace == trace;
    return n;
}

/* Sends job j to driver d. */
static void dispatch_job(ctx *c, size_t j, size_t di) {
    job *jb = &c->jobs[j];
    driver *d = &c->drv[di];
    binary *b = &c->bins[jb->bin];
    char line[65536];
    int n;
    if (jb->what == J_TEST) {
        n = snprintf(line, sizeof line, "RUN %zu test %u trace=%d warmups=%u repeat=%u fail=%llu\n", j,
                     jb->index, jb->trace, jb->warmups, jb->round == R_TORTURE ? 1u : b->tests[jb->index].repeat,
                     (unsigned long long)jb->fail_at);
    } else if (jb->what == J_SUITEONLY) {
        n = snprintf(line, sizeof line, "RUN %zu suiteonly %u trace=%d\n", j, jb->index, jb->trace);
    } else {
        /* Per-test warm-ups ("warm=test:n,..."), and the tests not to run again. */
        sbuf warm = {0};
        for (size_t t = 0; t < b->list.ntests; t++) {
            if (b->list.tests[t].suite != jb->index || !b->tests[t].warmups) continue;
            char item[48];
            int k = snprintf(item, sizeof item, "%s%zu:%u", warm.len ? "," : "", t,
                             b->tests[t].warmups + (jb->round == R_PROBE ? 1 : 0));
            sb_put(&warm, item, (size_t)k);
        }
        sbuf reps = {0};
        for (size_t t = 0; t < b->list.ntests; t++) {
            if (b->list.tests[t].suite != jb->index || b->tests[t].repeat <= 1) continue;
            char item[48];
            int k = snprintf(item, sizeof item, "%s%zu:%u", reps.len ? "," : "", t, b->tests[t].repeat);
            sb_put(&reps, item, (size_t)k);
        }
        const sbuf *skip = &b->suites[jb->index].skip;
        n = snprintf(line, sizeof line, "RUN %zu suite %u trace=%d warmups=0 warm=%s repeat=1 reps=%s skip=%s\n",
                     j, jb->index, jb->trace, warm.len ? warm.data : "-", reps.len ? reps.data : "-",
                     skip->len ? skip->data : "-");
        free(warm.data);
        free(reps.data);
        b->suites[jb->index].children++;
    }
    if (n < 0 || (size_t)n >= sizeof line) n = (int)sizeof line - 1;
    jb->drv = (int)di;
    jb->started = now_ns();
    d->job = (int)j;
    if (c->o->timeout_ms) {
        /* A suite child runs many tests, each under the timeout (the driver resets it
         * per test): the driver's own deadline covers the whole child. */
        uint64_t per = (uint64_t)c->o->timeout_ms * 1000000u;
        uint64_t n_tests = 1;
        if (jb->what == J_SUITE)
            for (size_t t = 0; t < b->list.ntests; t++) n_tests += b->list.tests[t].suite == jb->index;
        d->deadline = now_ns() + per * (n_tests + 1) + (uint64_t)DRIVER_GRACE_MS * 1000000u;
        d->deadline_kind = 2;
    }
    unsigned long long ticks = mg_boot_ticks();
    /* The entries this child works on, for strays started meanwhile. */
    if (jb->what == J_TEST) b->tests[jb->index].t0 = ticks;
    else b->suites[jb->index].entry.t0 = ticks;
    c->running++;
    send_line(d, line);
}

static void init_whole(ctx *c, binary *b);

/* ---- listing -------------------------------------------------------------------------------- */
static void skip_entry(ctx *c, entry *e, const char *why) {
    e->r.status = MG_ST_SKIP;
    e->r.message = mg_xstrdup(why);
    finish_entry(c, e);
}

/* Decides which entries of binary bin run (selection and shard) and queues their jobs.
 * Shard positions count in binary, suite, entry order: a "(suite)" entry, then the
 * suite's tests; a suite in suite isolation takes one position. */
static void assign_binary(ctx *c, size_t bin) {
    binary *b = &c->bins[bin];
    const mg_exec_opts *o = c->o;
    b->shard_assigned = true;
    for (unsigned s = 0; s < b->list.nsuites; s++) {
        suite_st *ss = &b->suites[s];
        bool suite_unit = ss->iso == MG_ISO_SUITE;
        bool unit_taken = false, unit_mine = false;
        /* Returns whether the next position (or the suite's one) is this shard's. */
#define TAKE()                                                                                     \
    (o->shard_count == 0 ? true                                                                    \
     : suite_unit ? (unit_taken ? unit_mine                                                        \
                                : (unit_taken = true, unit_mine = c->position++ % o->shard_count ==  \
                                                                    o->shard_index))               \
                  : c->position++ % o->shard_count == o->shard_index)
        bool any = false;
        if (ss->has_entry && ss->entry.state == E_WAIT) {
            if (TAKE()) {
                ss->entry.state = E_ACTIVE;
                c->known++;
                any = true;
            } else {
                ss->entry.state = E_OFF;
            }
        }
        for (size_t t = 0; t < b->list.ntests; t++) {
            entry *e = &b->tests[t];
            if (b->list.tests[t].suite != s || e->state != E_WAIT) continue;
            if (!TAKE()) {
                e->state = E_OFF;
                continue;
            }
            c->known++;
            if (!b->list.suites[s].active || !b->list.tests[t].active) {
                e->state = E_ACTIVE;
                skip_entry(c, e, b->list.suites[s].active ? "test is inactive" : "suite is inactive");
                continue;
            }
            e->state = E_ACTIVE;
            any = true;
        }
#undef TAKE
        if (!any) continue;
        if (o->list_only) continue;
        if (ss->has_entry && ss->entry.state == E_ACTIVE && !b->list.suites[s].active) {
            skip_entry(c, &ss->entry, "suite is inactive");
            continue;
        }
        if (suite_unit) {
            queue_suite(c, bin, s);
            continue;
        }
        if (ss->has_entry && ss->entry.state == E_ACTIVE) queue_entry(c, bin, &ss->entry, J_SUITEONLY, s);
        for (size_t t = 0; t < b->list.ntests; t++)
            if (b->list.tests[t].suite == s && b->tests[t].state == E_ACTIVE)
                queue_entry(c, bin, &b->tests[t], J_TEST, (unsigned)t);
    }
}

/* Assigns binaries in command-line order, so shard positions do not depend on which
 * binary listed first. A binary that ended without listing holds one position. */
static void assign_in_order(ctx *c) {
    while (c->next_shard_bin < c->nbins) {
        binary *b = &c->bins[c->next_shard_bin];
        if (!b->listed && !b->ended_unlisted) return;
        if (b->listed) {
            assign_binary(c, c->next_shard_bin);
        } else if (b->whole) {
            bool mine = c->o->shard_count == 0 ||
                        c->position++ % c->o->shard_count == c->o->shard_index;
            if (mine) {
                c->known++;
                b->whole_e.state = E_ACTIVE;
                if (b->whole_e.need == 0) finish_entry(c, &b->whole_e);
            } else {
                b->whole_e.state = E_OFF;
            }
        }
        c->next_shard_bin++;
    }
}

static void handle_list(ctx *c, size_t di, const char *text, size_t len) {
    driver *d = &c->drv[di];
    binary *b = &c->bins[d->bin];
    mg_wire_list l;
    char err[256];
    d->listed = true;
    d->deadline = 0;
    d->deadline_kind = 0;
    if (c->running) c->running--; /* the slot it held while starting */
    if (mg_wire_parse_list(text, len, &l, err, sizeof err) != 0) {
        mg_run_add_warning(c->run, "%s: the driver's test list is malformed (%s)", b->path, err);
        d->lane_bad = true;
        mg_proc_kill(&d->p);
        if (!b->listed) { /* nothing of it can run: one error entry stands for it */
            init_whole(c, b);
            mg_judge_error(&b->whole_e.r, "memgate could not read the list of tests (%s)", err);
            b->whole_e.need = 0;
            b->ended_unlisted = true;
            assign_in_order(c);
        }
        return;
    }
    d->modules = l.modules ? mg_xstrdup(l.modules) : NULL;
    if (b->listed) { /* a further lane: it must list the same registry */
        if (!mg_wire_list_same(&b->list, &l)) {
            mg_run_add_warning(c->run,
                               "%s: registers different tests each time it starts; its tests run in one "
                               "process at a time",
                               b->path);
            b->single_lane = true;
            d->lane_bad = true;
            mg_proc_kill(&d->p);
        }
        mg_wire_list_free(&l);
        return;
    }
    b->list = l;
    b->listed = true;
    b->tests = mg_xcalloc(l.ntests ? l.ntests : 1, sizeof *b->tests);
    b->suites = mg_xcalloc(l.nsuites ? l.nsuites : 1, sizeof *b->suites);
    for (unsigned s = 0; s < l.nsuites; s++) {
        suite_st *ss = &b->suites[s];
        ss->has_entry = l.suites[s].has_init || l.suites[s].has_cleanup;
        entry_init(c, &ss->entry, b->path, l.suites[s].name, MG_SUITE_ENTRY_NAME, MG_KIND_SUITE);
        /* Torture runs every allocation point of a test in a child of its own. */
        ss->iso = c->o->torture ? MG_ISO_TEST : ss->entry.base.settings.isolation;
        if (ss->has_entry && !c->o->list_only && selected(c->o, l.suites[s].name, MG_SUITE_ENTRY_NAME)) {
            ss->entry.state = E_WAIT;
            ss->entry.need = NEED_FIRST;
        }
    }
    for (size_t t = 0; t < l.ntests; t++) {
        entry *e = &b->tests[t];
        const mg_wire_suite *su = &l.suites[l.tests[t].suite];
        entry_init(c, e, b->path, su->name, l.tests[t].name, MG_KIND_TEST);
        if (!selected(c->o, su->name, l.tests[t].name)) continue;
        if (c->o->list_only) {
            if (c->o->on_listed)
                c->o->on_listed(b->path, su->name, l.tests[t].name, su->active && l.tests[t].active, c->o->ctx);
            continue;
        }
        e->state = E_WAIT;
        e->need = NEED_FIRST;
        /* Tests that depend on their neighbours: the whole suite runs in one child. */
        if (e->base.settings.isolation == MG_ISO_SUITE && !c->o->torture)
            b->suites[l.tests[t].suite].iso = MG_ISO_SUITE;
    }
    for (unsigned s = 0; s < l.nsuites; s++) {
        entry *se = &b->suites[s].entry;
        se->r.isolation = b->suites[s].iso;
    }
    for (size_t t = 0; t < l.ntests; t++) b->tests[t].r.isolation = b->suites[l.tests[t].suite].iso;
    assign_in_order(c);
}

/* ---- results --------------------------------------------------------------------------------- */
static void set_output(mg_test_result *r, const char *data, size_t len) {
    free(r->output);
    r->output = NULL;
    if (!len) return;
    r->output = mg_xcalloc(1, len + 1);
    for (size_t i = 0; i < len; i++) r->output[i] = data[i] ? data[i] : '?';
}

/* How a child ended, when it did not end normally: fills e's outcome, returns true. */
static bool abnormal_end(ctx *c, entry *e, const mg_wire_report *rep, const mg_wire_result_hdr *h,
                         const mg_trace_rules *rules) {
    mg_test_result *r = &e->r;
    if (rep->misuse) {
        mg_judge_misuse(r, rep, rules, WIFSIGNALED(h->wstatus) ? WTERMSIG(h->wstatus) : 0);
    } else if (h->timed_out) {
        mg_judge_timeout(r, c->o->timeout_ms);
    } else if (WIFSIGNALED(h->wstatus)) {
        mg_judge_crash_at(r, WTERMSIG(h->wstatus), r->output, rep, c->cur_modules, rules);
    } else if (rep->exited) {
        r->exit_code = rep->exit_status;
        mg_judge_error(r, "the test called exit(%d): the rest of it did not run", rep->exit_status);
    } else if (!rep->ended && WIFEXITED(h->wstatus) && WEXITSTATUS(h->wstatus) == MG_EXIT_NOREPORT) {
        mg_judge_error(r, "the test closed memgate's result pipe (did it close every file descriptor?): "
                          "its figures are lost");
    } else if (!rep->ended) {
        r->exit_code = WIFEXITED(h->wstatus) ? WEXITSTATUS(h->wstatus) : -1;
        mg_judge_error(r, "the test ended the process (exit status %d) before it finished", r->exit_code);
    } else {
        return false;
    }
    return true;
}

/* The figures run of an entry (FIRST or WARM) ended normally with window w: takes the
 * figures and decides what the entry still needs. */
static void figures_taken(ctx *c, binary *b, entry *e, const mg_wire_window *w, const mg_wire_report *rep,
                          bool traced_run) {
    const mg_exec_opts *o = c->o;
    e->r.known = 0;
    /* A repeated test has a window per measured run: w is the last one. */
    const mg_wire_window *runs[256];
    size_t nruns = mg_wire_windows_of(rep, w->kind, w->index, runs, 256);
    if (nruns > 1)
        mg_judge_take_runs(&e->r, runs, nruns);
    else
        mg_judge_take_window(&e->r, w);
    mg_annotation_free(&e->ann);
    mg_annotation_from_window(&e->ann, nruns ? runs[0] : w);
    e->need &= ~(unsigned)(NEED_FIRST | NEED_WARM);
    if (rep->threads_running)
        mg_test_add_note(&e->r, "threads were still running at the end: libc's caches were not released");
    bool more_warmups = e->ann.set && e->ann.warmups > (int64_t)e->warmups && e->ann.warmups <= 1000;
    bool more_runs = e->ann.set && e->ann.repeat > (int64_t)e->repeat && e->ann.repeat <= 256;
    if (more_warmups || more_runs) {
        if (more_warmups) e->warmups = (unsigned)e->ann.warmups;
        if (more_runs) e->repeat = (unsigned)e->ann.repeat;
        e->r.warmups = e->warmups;
        e->r.repeat = e->repeat;
        e->need |= NEED_WARM; /* measured again the way its annotation asks */
        return;
    }
    e->first_done = true;
    memcpy(e->first_fig, e->r.fig, sizeof e->first_fig);
    e->first_known = e->r.known;
    mg_trace_rules rules = rules_for(b, e);
    unsigned regressions = 0;
    unsigned viol = mg_judge_preview(&e->r, &e->base, &e->ann, &c->jctx, &regressions);
    if (traced_run) {
        mg_judge_take_traces(&e->r, w, rep, &rules, o->supp, (viol & MG_M_BIT(MG_M_PEAK)) != 0);
        e->r.traced = false; /* the tracebacks come from the measured run itself */
        return;
    }
    /* A lost_bytes limit needs the reachability scan, which only a traced run makes:
     * a test that leaked anything is re-run even when the leak is within its budget. */
    bool lost_limit = e->base.lim[MG_M_LOST_BYTES].value >= 0 ||
                      (e->ann.set && e->ann.values[MG_M_LOST_BYTES] >= 0);
    bool leaked = mg_test_known(&e->r, MG_M_LEAK) && e->r.fig[MG_M_LEAK] > 0;
    if ((viol || regressions || (lost_limit && leaked)) && !o->no_rerun) {
        e->need |= NEED_TRACE;
        /* A leak that vanishes after one more warm-up is first-use initialisation. */
        if ((viol & (MG_M_BIT(MG_M_LEAK) | MG_M_BIT(MG_M_GROWTH))) && e->r.kind == MG_KIND_TEST &&
            e->r.isolation == MG_ISO_TEST)
            e->need |= NEED_PROBE;
    }
}

/* The traced re-run of an entry ended with window w (or not normally: w NULL). */
static void traces_taken(ctx *c, binary *b, entry *e, const mg_wire_window *w, const mg_wire_report *rep,
                         const char *why_not) {
    e->need &= ~(unsigned)NEED_TRACE;
    if (!w) {
        mg_test_add_note(&e->r, "the re-run with stacks did not complete (%s): no tracebacks", why_not);
        e->r.rerun_mismatch = true;
        return;
    }
    mg_test_result probe = {0};
    const mg_wire_window *runs[256];
    size_t nruns = rep ? mg_wire_windows_of(rep, w->kind, w->index, runs, 256) : 0;
    if (nruns > 1)
        mg_judge_take_runs(&probe, runs, nruns);
    else
        mg_judge_take_window(&probe, w);
    bool differs = false;
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (m == MG_M_ALLOCS || !(probe.known & e->first_known & MG_M_BIT(m))) continue;
        if (probe.fig[m] != e->first_fig[m]) differs = true;
    }
    if (differs) {
        char a[48], f[48];
        mg_metric_format(MG_M_LEAK, probe.fig[MG_M_LEAK], a, sizeof a);
        mg_metric_format(MG_M_LEAK, e->first_fig[MG_M_LEAK], f, sizeof f);
        mg_test_add_note(&e->r, "the re-run with stacks measured leak %s, growth %" PRId64 " (first run: %s, %" PRId64
                                "): the tracebacks may not match the figures",
                         a, probe.fig[MG_M_GROWTH], f, e->first_fig[MG_M_GROWTH]);
        e->r.rerun_mismatch = true;
    }
    mg_test_result_free_contents(&probe);
    mg_trace_rules rules = rules_for(b, e);
    unsigned viol = mg_judge_preview(&e->r, &e->base, &e->ann, &c->jctx, NULL);
    mg_judge_take_traces(&e->r, w, rep, &rules, c->o->supp, (viol & MG_M_BIT(MG_M_PEAK)) != 0);
}

/* The probe (one more warm-up) of an entry ended with window w. */
static void probe_taken(entry *e, const mg_wire_window *w) {
    e->need &= ~(unsigned)NEED_PROBE;
    if (!w || !w->closed || !w->leak_known) return;
    if (w->leaked_bytes == 0 && w->object_growth == 0)
        mg_test_add_note(&e->r, "looks like first-use initialisation: the growth does not repeat on a second run; "
                                "try `warmups: %u` (budgets file) or MEMGATE_BUDGET(.warmups = %u)",
                         e->warmups + 1, e->warmups + 1);
}

/* ---- allocation-failure torture ---------------------------------------------------------- */
static bool bad_point(const mg_torture_point *p) {
    return p->outcome == MG_TO_LEAK || p->outcome == MG_TO_CRASH || p->outcome == MG_TO_HANG ||
           p->outcome == MG_TO_ERROR;
}

static void queue_point(ctx *c, size_t bin, entry *e, unsigned test, uint64_t k, bool trace) {
    size_t j = add_job(c, bin, J_TEST, test, R_TORTURE, trace, e->warmups);
    c->jobs[j].fail_at = k;
    e->torture_pending++;
}

/* After the counting run: the points to try, all of them or max_points spread ones. */
static void plan_torture(ctx *c, size_t bin, entry *e, unsigned test) {
    uint64_t a = mg_test_known(&e->r, MG_M_ALLOCS) ? (uint64_t)e->r.fig[MG_M_ALLOCS] : 0;
    e->r.tortured = true;
    e->r.torture_allocations = a;
    if (!a) return;
    uint64_t max = c->o->max_points ? c->o->max_points : 100;
    e->need |= NEED_TORTURE;
    if (a <= max) {
        for (uint64_t k = 1; k <= a; k++) queue_point(c, bin, e, test, k, false);
        return;
    }
    uint64_t last = 0;
    for (uint64_t i = 0; i < max; i++) {
        uint64_t k = 1 + i * (a - 1) / (max - 1);
        if (k != last) queue_point(c, bin, e, test, k, false);
        last = k;
    }
}

static int by_alloc(const void *pa, const void *pb) {
    const mg_torture_point *a = pa, *b = pb;
    return a->alloc < b->alloc ? -1 : a->alloc > b->alloc;
}

/* When every queued point is back: the next bisection step, the midpoint between a
 * point that coped and the next tried one that did not (each step adds a point strictly
 * between, so it ends), so every first failing allocation is found; else done. */
static void torture_next(ctx *c, size_t bin, entry *e, unsigned test) {
    if (e->torture_pending) return;
    mg_test_result *r = &e->r;
    qsort(r->torture, r->ntorture, sizeof *r->torture, by_alloc);
    for (size_t i = 0; i < r->ntorture; i++) {
        uint64_t lo = i ? r->torture[i - 1].alloc : 0;
        bool lo_ok = !i || !bad_point(&r->torture[i - 1]);
        if (bad_point(&r->torture[i]) && lo_ok && r->torture[i].alloc - lo > 1) {
            queue_point(c, bin, e, test, lo + (r->torture[i].alloc - lo) / 2, false);
            return;
        }
    }
    e->need &= ~(unsigned)NEED_TORTURE;
}

/* A torture point ended: how the test coped with allocation k failing. */
static void point_taken(ctx *c, size_t bin, entry *e, const job *jb, const mg_wire_report *rep,
                        const mg_wire_result_hdr *h, const char *out, size_t outlen) {
    binary *b = &c->bins[bin];
    mg_test_result *r = &e->r;
    if (e->torture_pending) e->torture_pending--;
    const mg_wire_window *w = mg_wire_find_window(rep, MG_WK_TEST, jb->index);
    mg_torture_point *p = NULL;
    for (size_t i = 0; i < r->ntorture && !p; i++)
        if (r->torture[i].alloc == jb->fail_at) p = &r->torture[i];
    if (jb->trace) { /* the traced re-run of a leaking point: its tracebacks */
        if (p && w && w->nleak) {
            mg_trace_rules rules = rules_for(b, e);
            mg_test_result tmp = {0};
            mg_judge_take_window(&tmp, w);
            mg_judge_take_traces(&tmp, w, rep, &rules, c->o->supp, false);
            if (tmp.ndiffs) {
                p->site = mg_xcalloc(1, sizeof *p->site);
                p->site[0] = tmp.diffs[0];
                p->nsite = 1;
                tmp.diffs[0] = (mg_entry){0};
            }
            mg_test_result_free_contents(&tmp);
        }
        torture_next(c, bin, e, jb->index);
        return;
    }
    r->torture = mg_xrealloc(r->torture, (r->ntorture + 1) * sizeof *r->torture);
    p = &r->torture[r->ntorture++];
    memset(p, 0, sizeof *p);
    p->alloc = jb->fail_at;
    mg_test_result tmp = {0};
    set_output(&tmp, out, outlen);
    mg_trace_rules rules = rules_for(b, e);
    if (h->timed_out) {
        p->outcome = MG_TO_HANG;
        p->message = mg_xasprintf("hung: timed out after %.1f s", c->o->timeout_ms / 1000.0);
    } else if (rep->misuse || WIFSIGNALED(h->wstatus)) {
        p->outcome = MG_TO_CRASH;
        if (rep->misuse)
            mg_judge_misuse(&tmp, rep, &rules, WIFSIGNALED(h->wstatus) ? WTERMSIG(h->wstatus) : 0);
        else
            mg_judge_crash_at(&tmp, WTERMSIG(h->wstatus), tmp.output, rep, c->cur_modules, &rules);
        p->signal = tmp.signal;
        p->message = tmp.message;
        tmp.message = NULL;
        p->site = tmp.crash_site;
        p->nsite = tmp.ncrash_site;
        tmp.crash_site = NULL;
        tmp.ncrash_site = 0;
    } else if (rep->exited || !rep->ended) {
        p->outcome = MG_TO_ERROR;
        p->message = rep->exited ? mg_xasprintf("the test called exit(%d)", rep->exit_status)
                                 : mg_xstrdup("the test ended without reporting");
    } else if (rep->fail_reported && !rep->fail_hit) {
        p->outcome = MG_TO_UNREACHED;
    } else if (w && w->leak_known && (w->leaked_bytes > 0 || w->object_growth > 0)) {
        p->outcome = MG_TO_LEAK;
        p->leaked_bytes = w->leaked_bytes;
        p->object_growth = w->object_growth;
        char size[48];
        mg_metric_format(MG_M_LEAK, w->leaked_bytes, size, sizeof size);
        p->message = mg_xasprintf("leaked %s in %" PRId64 " block%s on the error path", size, w->object_growth,
                                  w->object_growth == 1 ? "" : "s");
        queue_point(c, bin, e, jb->index, jb->fail_at, true); /* for its tracebacks */
    } else {
        p->outcome = MG_TO_PASS;
    }
    mg_test_result_free_contents(&tmp);
    torture_next(c, bin, e, jb->index);
}

/* A tortured test fails when any point did not cope; its message names the first. */
static void torture_verdict(entry *e) {
    mg_test_result *r = &e->r;
    if (!r->tortured || r->status == MG_ST_CRASH || r->status == MG_ST_TIMEOUT || r->status == MG_ST_ERROR ||
        r->status == MG_ST_SKIP)
        return;
    size_t bad = 0;
    const mg_torture_point *first = NULL;
    for (size_t i = 0; i < r->ntorture; i++)
        if (bad_point(&r->torture[i])) {
            if (!first) first = &r->torture[i];
            bad++;
        }
    if (!bad) return;
    r->status = MG_ST_FAIL;
    char *m = mg_xasprintf("%s%sdid not cope with failing allocations: %zu of %zu points tried went wrong, "
                           "the first at allocation %" PRIu64 " (%s)",
                           r->message ? r->message : "", r->message ? "; " : "", bad, r->ntorture, first->alloc,
                           mg_torture_outcome_name(first->outcome));
    free(r->message);
    r->message = m;
}

/* What the entry needs next after one of its runs: queued, or it is final. */
static void advance(ctx *c, size_t bin, entry *e, int what, unsigned index) {
    if (e->state != E_ACTIVE) return;
    if (!e->need) {
        finish_entry(c, e);
        return;
    }
    if (what != J_SUITE) queue_entry(c, bin, e, what, index);
}

/* A test-isolation child (J_TEST or J_SUITEONLY) ended. */
static void single_result(ctx *c, const job *jb, const mg_wire_report *rep, const mg_wire_result_hdr *h,
                          const char *out, size_t outlen) {
    binary *b = &c->bins[jb->bin];
    bool suite_entry = jb->what == J_SUITEONLY;
    entry *e = suite_entry ? &b->suites[jb->index].entry : &b->tests[jb->index];
    if (e->state != E_ACTIVE) return;
    mg_trace_rules rules = rules_for(b, e);
    const mg_wire_window *w = mg_wire_find_window(rep, suite_entry ? MG_WK_SUITE : MG_WK_TEST, jb->index);
    e->t1 = mg_boot_ticks();
    if (jb->round == R_TORTURE) {
        point_taken(c, jb->bin, e, jb, rep, h, out, outlen);
        advance(c, jb->bin, e, jb->what, jb->index);
        return;
    }
    if (jb->round == R_TRACE || jb->round == R_PROBE) {
        bool ok = rep->ended && !rep->exited && !rep->misuse && !h->timed_out && !WIFSIGNALED(h->wstatus) &&
                  w && w->closed;
        if (jb->round == R_TRACE) {
            char why[64];
            snprintf(why, sizeof why, "%s",
                     h->timed_out ? "timed out" : WIFSIGNALED(h->wstatus) ? "killed by a signal" : "no report");
            traces_taken(c, b, e, ok ? w : NULL, rep, why);
        } else {
            probe_taken(e, ok ? w : NULL);
        }
        advance(c, jb->bin, e, jb->what, jb->index);
        return;
    }
    set_output(&e->r, out, outlen);
    e->r.duration_s = (double)h->dur_ns / 1e9;
    if (abnormal_end(c, e, rep, h, &rules)) {
        finish_entry(c, e);
        return;
    }
    if (w && w->sinit) {
        mg_judge_error(&e->r, "suite initialization failed");
        finish_entry(c, e);
        return;
    }
    if (!w || !w->closed) {
        mg_judge_error(&e->r, "the test did not run");
        finish_entry(c, e);
        return;
    }
    if (suite_entry && w->scleanup) {
        mg_judge_take_window(&e->r, w);
        mg_judge_error(&e->r, "suite cleanup failed");
        finish_entry(c, e);
        return;
    }
    figures_taken(c, b, e, w, rep, jb->trace);
    if (c->o->torture && !suite_entry && !(e->need & NEED_WARM)) {
        e->need &= ~(unsigned)(NEED_TRACE | NEED_PROBE); /* torture names its own sites */
        plan_torture(c, jb->bin, e, jb->index);
    }
    advance(c, jb->bin, e, jb->what, jb->index);
}

static void add_skip(suite_st *ss, size_t test) {
    char item[24];
    int n = snprintf(item, sizeof item, "%s%zu", ss->skip.len ? "," : "", test);
    sb_put(&ss->skip, item, (size_t)n);
}

/* A suite-isolation child ended: every test of the suite it reached, and its entry. */
static void suite_result(ctx *c, const job *jb, const mg_wire_report *rep, const mg_wire_result_hdr *h,
                         const char *out, size_t outlen) {
    binary *b = &c->bins[jb->bin];
    unsigned s = jb->index;
    suite_st *ss = &b->suites[s];
    const mg_wire_window *last = mg_wire_last_window(rep);
    bool died = !rep->ended || rep->exited || rep->misuse || h->timed_out || WIFSIGNALED(h->wstatus);
    const mg_wire_window *sw = mg_wire_find_window(rep, MG_WK_SUITE, s);
    bool init_failed = sw && sw->sinit;
    unsigned long long now_ticks = mg_boot_ticks();
    /* Where the child died: a test's window left open, or the suite's own. */
    entry *culprit = NULL;
    /* Died once every test's window had closed: in the cleanup or the shutdown. */
    bool after_tests = died && last && (last->kind == MG_WK_SUITE || last->closed);
    if (died && last) {
        if (last->kind == MG_WK_TEST && last->index < b->list.ntests && !last->closed)
            culprit = &b->tests[last->index];
        else if (last->kind == MG_WK_SUITE || (last->kind == MG_WK_TEST && last->closed))
            culprit = ss->has_entry ? &ss->entry : NULL;
    }
    for (size_t t = 0; t < b->list.ntests; t++) {
        entry *e = &b->tests[t];
        if (b->list.tests[t].suite != s || e->state != E_ACTIVE) continue;
        const mg_wire_window *w = mg_wire_find_window(rep, MG_WK_TEST, (unsigned)t);
        mg_trace_rules rules = rules_for(b, e);
        if (w) e->t0 = e->t0 ? e->t0 : now_ticks, e->t1 = now_ticks;
        if (e == culprit) {
            if (jb->round == R_TRACE) {
                traces_taken(c, b, e, NULL, rep, "the child died in this test");
                advance(c, jb->bin, e, J_SUITE, s);
                continue;
            }
            set_output(&e->r, out, outlen);
            abnormal_end(c, e, rep, h, &rules) || (mg_judge_error(&e->r, "the test did not finish"), true);
            add_skip(ss, t);
            finish_entry(c, e);
            continue;
        }
        if (jb->round == R_TRACE) {
            if (!(e->need & NEED_TRACE)) continue;
            bool ok = w && w->closed && (w->leak_known || !died);
            traces_taken(c, b, e, ok ? w : NULL, rep, died ? "the suite's child died" : "no report");
            advance(c, jb->bin, e, J_SUITE, s);
            continue;
        }
        if (!(e->need & (NEED_FIRST | NEED_WARM))) continue;
        if (init_failed) {
            mg_judge_error(&e->r, "suite initialization failed");
            finish_entry(c, e);
            continue;
        }
        if (!w) {
            if (!died) {
                mg_judge_error(&e->r, "the test did not run");
                finish_entry(c, e);
            }
            continue; /* not reached: the next child runs it */
        }
        if (!w->closed) continue;
        if (died && !w->leak_known && (w->pending_bytes || w->pending_blocks)) {
            if (!after_tests) continue; /* replayed in the suite's next child */
            mg_test_add_note(&e->r, "the suite's child died after the tests (in the cleanup or the shutdown): "
                                    "the leak could not be measured");
        }
        if (!died) set_output(&e->r, out, outlen);
        e->r.duration_s = (double)w->dur_ns / 1e9;
        figures_taken(c, b, e, w, rep, jb->trace);
        if (e->need == 0) finish_entry(c, e);
    }
    if (ss->has_entry && ss->entry.state == E_ACTIVE) {
        entry *e = &ss->entry;
        mg_trace_rules rules = rules_for(b, e);
        if (jb->round == R_TRACE) {
            if (e->need & NEED_TRACE) {
                traces_taken(c, b, e, sw && sw->closed && sw->leak_known ? sw : NULL, rep, "no report");
                if (!e->need) finish_entry(c, e);
            }
        } else if (e == culprit || (died && !culprit && !sw)) {
            set_output(&e->r, out, outlen);
            abnormal_end(c, e, rep, h, &rules) || (mg_judge_error(&e->r, "the suite did not finish"), true);
            finish_entry(c, e);
        } else if (sw && sw->closed && (sw->leak_known || !died) && (e->need & (NEED_FIRST | NEED_WARM))) {
            if (init_failed) { /* no figures: the suite never ran */
                mg_judge_error(&e->r, "suite initialization failed");
                finish_entry(c, e);
            } else if (sw->scleanup) {
                mg_judge_take_window(&e->r, sw);
                mg_judge_error(&e->r, "suite cleanup failed");
                finish_entry(c, e);
            } else {
                figures_taken(c, b, e, sw, rep, jb->trace);
                if (!e->need) finish_entry(c, e);
            }
        }
    }
    /* Whatever still needs a run gets the suite's next child, unless this suite has
     * already had as many children as it has tests (each replay drops a crashed test). */
    size_t ntests = 0;
    for (size_t t = 0; t < b->list.ntests; t++) ntests += b->list.tests[t].suite == s;
    if (ss->children > ntests + 3) {
        for (size_t t = 0; t < b->list.ntests; t++) {
            entry *e = &b->tests[t];
            if (b->list.tests[t].suite != s || e->state != E_ACTIVE) continue;
            mg_judge_error(&e->r, "the suite's children kept dying: the test could not be measured");
            finish_entry(c, e);
        }
        if (ss->has_entry && ss->entry.state == E_ACTIVE) {
            mg_judge_error(&ss->entry.r, "the suite's children kept dying");
            finish_entry(c, &ss->entry);
        }
        return;
    }
    queue_suite(c, jb->bin, s);
}

/* RESULT of job j from driver di. */
static void handle_result(ctx *c, size_t di, const mg_wire_result_hdr *h, const char *res, const char *out) {
    driver *d = &c->drv[di];
    if (h->tag >= c->njobs || d->job != (int)h->tag) return; /* not what this driver runs */
    /* A copy: the handlers below queue jobs, which may move c->jobs. */
    c->jobs[h->tag].done = true;
    job jcopy = c->jobs[h->tag];
    const job *jb = &jcopy;
    d->job = -1;
    d->deadline = 0;
    d->deadline_kind = 0;
    if (c->running) c->running--;
    mg_wire_report rep;
    mg_wire_parse_report(res, h->res_len, &rep);
    c->cur_modules = d->modules;
    if (jb->what == J_SUITE)
        suite_result(c, jb, &rep, h, out, h->out_len);
    else
        single_result(c, jb, &rep, h, out, h->out_len);
    mg_wire_report_free(&rep);
}

/* ERROR from a driver: the command could not run (a harness problem). */
static void handle_error(ctx *c, size_t di, const char *line) {
    driver *d = &c->drv[di];
    binary *b = &c->bins[d->bin];
    unsigned tag;
    char *msg = NULL;
    if (mg_wire_parse_error(line, &tag, &msg) != 0) return;
    if (d->job >= 0 && tag == (unsigned)d->job) {
        c->jobs[tag].done = true;
        job jcopy = c->jobs[tag]; /* finishing entries may queue jobs and move c->jobs */
        const job *jb = &jcopy;
        d->job = -1;
        d->deadline = 0;
        if (c->running) c->running--;
        entry *targets[1] = {NULL};
        if (jb->what == J_TEST) targets[0] = &b->tests[jb->index];
        else if (jb->what == J_SUITEONLY) targets[0] = &b->suites[jb->index].entry;
        if (targets[0]) {
            mg_judge_error(&targets[0]->r, "memgate's driver could not run the test: %s", msg);
            finish_entry(c, targets[0]);
        } else {
            for (size_t t = 0; t < b->list.ntests; t++) {
                entry *e = &b->tests[t];
                if (b->list.tests[t].suite != jb->index || e->state != E_ACTIVE) continue;
                mg_judge_error(&e->r, "memgate's driver could not run the suite: %s", msg);
                finish_entry(c, e);
            }
            entry *se = &b->suites[jb->index].entry;
            if (se->state == E_ACTIVE) {
                mg_judge_error(&se->r, "memgate's driver could not run the suite: %s", msg);
                finish_entry(c, se);
            }
        }
    } else {
        mg_run_add_warning(c->run, "%s: memgate's driver reported: %s", b->path, msg);
    }
    free(msg);
}

/* ---- whole-process programs -------------------------------------------------------------------- */
static void init_whole(ctx *c, binary *b) {
    if (b->whole) return;
    b->whole = true;
    char *copy = mg_xstrdup(b->path);
    entry_init(c, &b->whole_e, b->path, basename(copy), "main", MG_KIND_TEST);
    free(copy);
    b->whole_e.state = E_WAIT;
    b->whole_e.need = NEED_FIRST;
}

static void handle_whole(ctx *c, size_t di, const char *res, size_t len) {
    driver *d = &c->drv[di];
    binary *b = &c->bins[d->bin];
    init_whole(c, b);
    entry *e = &b->whole_e;
    mg_wire_report rep;
    mg_wire_parse_report(res, len, &rep);
    const mg_wire_window *w = mg_wire_find_window(&rep, MG_WK_WHOLE, 0);
    mg_trace_rules rules = rules_for(b, e);
    if (d->whole_rerun) {
        traces_taken(c, b, e, w && w->closed ? w : NULL, &rep, "no report");
        b->whole_pending_trace = false;
    } else if (rep.misuse) {
        mg_judge_misuse(&e->r, &rep, &rules, 0);
        e->need = 0;
    } else if (w && w->closed) {
        e->r.duration_s = (double)(now_ns() - d->started) / 1e9;
        figures_taken(c, b, e, w, &rep, c->o->always_trace);
        e->need &= ~(unsigned)(NEED_WARM | NEED_PROBE); /* a program runs once more only for stacks */
        if (rep.exited && rep.exit_status) {
            e->r.exit_code = rep.exit_status;
            mg_judge_error(&e->r, "the program exited with status %d", rep.exit_status);
            e->need = 0;
        }
        if (e->need & NEED_TRACE) b->whole_pending_trace = true;
    }
    mg_wire_report_free(&rep);
}

/* ---- driver ends ---------------------------------------------------------------------------------- */
static void note_strays(ctx *c, size_t bin) {
    pid_t known[1024];
    size_t nknown = 0;
    for (size_t i = 0; i < c->ndrv && nknown < 1024; i++)
        if (c->drv[i].alive) known[nknown++] = c->drv[i].p.pid;
    mg_stray strays[32];
    size_t n = mg_kill_strays(known, nknown, strays, 32);
    binary *b = &c->bins[bin];
    for (size_t i = 0; i < n; i++) {
        entry *owner = NULL;
        for (size_t t = 0; b->listed && t < b->list.ntests && !owner; t++)
            if (b->tests[t].t0 && strays[i].start_ticks >= b->tests[t].t0 &&
                strays[i].start_ticks <= b->tests[t].t1 + 1)
                owner = &b->tests[t];
        if (owner)
            mg_test_add_note(&owner->r, "left a process running after it ended: pid %d (%s), killed by memgate",
                             (int)strays[i].pid, strays[i].comm);
        if (owner)
            mg_run_add_warning(c->run, "%s: %s/%s left a process running: pid %d (%s), killed by memgate",
                               b->path, owner->r.suite, owner->r.name, (int)strays[i].pid, strays[i].comm);
        else
            mg_run_add_warning(c->run, "%s: the program left a process running: pid %d (%s), killed by memgate",
                               b->path, (int)strays[i].pid, strays[i].comm);
    }
}

/* The driver's process ended (its socket closed and it was reaped). */
static void driver_ended(ctx *c, size_t di) {
    driver *d = &c->drv[di];
    binary *b = &c->bins[d->bin];
    d->alive = false;
    mg_proc_kill(&d->p); /* what is left of its process group */
    mg_proc_close(&d->p);
    free(d->in.data);
    d->in = (sbuf){0};
    char sig[32];
    if (!d->listed && c->running) c->running--;
    if (d->job >= 0) {
        /* The command it ran: its entry is the culprit. */
        c->jobs[d->job].done = true;
        job jcopy = c->jobs[d->job]; /* handlers below may queue jobs and move c->jobs */
        const job *jb = &jcopy;
        if (c->running) c->running--;
        entry *e = NULL;
        if (jb->what == J_TEST) e = &b->tests[jb->index];
        else if (jb->what == J_SUITEONLY) e = &b->suites[jb->index].entry;
        else {
            for (size_t t = 0; t < b->list.ntests && !e; t++)
                if (b->list.tests[t].suite == jb->index && b->tests[t].state == E_ACTIVE) e = &b->tests[t];
            if (e) add_skip(&b->suites[jb->index], (size_t)(e - b->tests));
            else if (b->suites[jb->index].entry.state == E_ACTIVE) e = &b->suites[jb->index].entry;
        }
        if (e && e->state == E_ACTIVE && jb->round == R_TORTURE) {
            /* A point that took the driver down counts as a crash of that point. */
            mg_wire_report none = {0};
            mg_wire_result_hdr h = {.tag = (unsigned)d->job, .wstatus = d->wstatus};
            if (!WIFSIGNALED(h.wstatus)) h.wstatus = SIGKILL; /* reads as killed */
            c->cur_modules = d->modules;
            point_taken(c, jb->bin, e, jb, &none, &h, NULL, 0);
            advance(c, jb->bin, e, jb->what, jb->index);
        } else if (e && e->state == E_ACTIVE) {
            if (jb->round == R_TRACE) {
                traces_taken(c, b, e, NULL, NULL, "the test binary died");
                advance(c, jb->bin, e, jb->what, jb->index);
            } else if (jb->round == R_PROBE) {
                probe_taken(e, NULL);
                advance(c, jb->bin, e, jb->what, jb->index);
            } else if (d->killed && d->deadline_kind == 2) {
                mg_judge_error(&e->r, "the test binary stopped responding while this test ran%s: killed",
                               d->state_at_kill == 'T' ? " (it was stopped, e.g. by SIGSTOP)" : "");
                e->r.status = MG_ST_TIMEOUT;
                finish_entry(c, e);
            } else if (WIFSIGNALED(d->wstatus)) {
                mg_judge_crash(&e->r, WTERMSIG(d->wstatus), NULL);
                mg_test_add_note(&e->r, "the test binary itself died (%s) while this test ran",
                                 mg_signal_name(WTERMSIG(d->wstatus), sig, sizeof sig));
                finish_entry(c, e);
            } else {
                mg_judge_error(&e->r, "the test binary exited (status %d) while this test ran",
                               WIFEXITED(d->wstatus) ? WEXITSTATUS(d->wstatus) : -1);
                finish_entry(c, e);
            }
            if (jb->what == J_SUITE) queue_suite(c, jb->bin, jb->index);
        }
        d->job = -1;
    }
    note_strays(c, d->bin);
    if (!b->listed) {
        if (b->ended_unlisted) return; /* already accounted for (a malformed list) */
        /* It never listed: a program measured as a whole, or one that could not start. */
        init_whole(c, b);
        entry *e = &b->whole_e;
        if (d->whole_rerun) {
            if (b->whole_pending_trace) traces_taken(c, b, e, NULL, NULL, "the program did not report");
            b->whole_pending_trace = false;
        } else if (e->need & NEED_FIRST) {
            e->need = 0;
            e->r.duration_s = (double)(now_ns() - d->started) / 1e9;
            if (b->output.len) set_output(&e->r, b->output.data, b->output.len);
            if (d->killed && d->deadline_kind == 1) {
                if (d->hello)
                    mg_judge_timeout(&e->r, c->o->timeout_ms);
                else
                    mg_judge_error(&e->r, "the program did not start within %.1f s", c->o->timeout_ms / 1000.0);
            } else if (WIFSIGNALED(d->wstatus)) {
                mg_judge_crash(&e->r, WTERMSIG(d->wstatus), e->r.output);
            } else {
                int code = WIFEXITED(d->wstatus) ? WEXITSTATUS(d->wstatus) : -1;
                e->r.exit_code = code;
                if (code == 127 && !d->hello)
                    mg_judge_error(&e->r, "could not execute %s (see output)", b->path);
                else if (!d->hello)
                    mg_judge_error(&e->r,
                                   "%s never loaded libmemgate (exit status %d): it is statically linked, or a "
                                   "wrapper that drops LD_PRELOAD; memgate must run the dynamically linked test "
                                   "program itself",
                                   b->path, code);
                else if (code == MG_EXIT_HEAP)
                    mg_judge_error(&e->r, "heap misuse detected");
                else
                    mg_judge_error(&e->r, "the program exited (status %d) without reporting to memgate", code);
            }
        }
        if (b->whole_pending_trace && !d->whole_rerun && !c->o->no_rerun) {
            char err[256];
            if (start_driver(c, d->bin, true, err, sizeof err) == 0) {
                c->drv[c->ndrv - 1].whole_rerun = true;
                return;
            }
            b->whole_pending_trace = false;
        }
        e->need &= ~(unsigned)NEED_TRACE;
        b->ended_unlisted = true;
        assign_in_order(c);
        if (e->state == E_ACTIVE && !e->need) finish_entry(c, e);
        return;
    }
}

/* ---- the loop ----------------------------------------------------------------------------------- */
/* Handles the complete messages in driver di's input. */
static void process_input(ctx *c, size_t di) {
    driver *d = &c->drv[di];
    for (;;) {
        char *data = d->in.data;
        if (!data || !d->in.len) return;
        char *nl = memchr(data, '\n', d->in.len);
        if (!nl) {
            if (d->in.len > (1u << 20)) d->in.len = 0; /* an endless line: not the protocol */
            return;
        }
        size_t hlen = (size_t)(nl - data) + 1;
        if (!strncmp(data, "HELLO ", 6)) {
            int version;
            pid_t pid;
            char line[256];
            snprintf(line, sizeof line, "%.*s", (int)(hlen - 1), data);
            sb_consume(&d->in, hlen);
            if (mg_wire_parse_hello(line, &version, &pid) == 0 && version == MG_PROTOCOL_VERSION) {
                /* Answered once: a second HELLO comes from a program a wrapper script
                 * exec'd in the same process, which reads the answer still waiting. */
                if (!d->hello) {
                    char reply[64];
                    snprintf(reply, sizeof reply, "HELLO memgate %d\n", MG_PROTOCOL_VERSION);
                    send_line(d, reply);
                }
                d->hello = true;
            } else {
                mg_run_add_warning(c->run,
                                   "%s: its libmemgate speaks a different protocol (%s), this memgate speaks %d: "
                                   "mixed installations?",
                                   c->bins[d->bin].path, line, MG_PROTOCOL_VERSION);
                mg_proc_kill(&d->p);
            }
        } else if (!strncmp(data, "LIST", 4)) {
            char *end = strstr(data, "ENDLIST\n");
            if (!end) return;
            size_t total = (size_t)(end - data) + 8;
            char *text = mg_xcalloc(1, total + 1);
            memcpy(text, data, total);
            sb_consume(&d->in, total);
            handle_list(c, di, text, total);
            free(text);
        } else if (!strncmp(data, "RESULT ", 7)) {
            char hdr[256];
            snprintf(hdr, sizeof hdr, "%.*s", (int)(hlen - 1 < 255 ? hlen - 1 : 255), data);
            mg_wire_result_hdr h;
            if (mg_wire_parse_result_header(hdr, &h) != 0) {
                sb_consume(&d->in, hlen);
                continue;
            }
            if (d->in.len < hlen + h.res_len + h.out_len) return;
            handle_result(c, di, &h, d->in.data + hlen, d->in.data + hlen + h.res_len);
            sb_consume(&d->in, hlen + h.res_len + h.out_len);
        } else if (!strncmp(data, "WHOLE ", 6)) {
            size_t len = strtoul(data + 6, NULL, 10);
            if (d->in.len < hlen + len) return;
            handle_whole(c, di, d->in.data + hlen, len);
            sb_consume(&d->in, hlen + len);
        } else if (!strncmp(data, "ERROR ", 6)) {
            char *line = mg_xcalloc(1, hlen + 1);
            memcpy(line, data, hlen);
            sb_consume(&d->in, hlen);
            handle_error(c, di, line);
            free(line);
        } else {
            sb_consume(&d->in, hlen); /* BYE and anything unknown */
        }
    }
}

/* Starts first drivers (listing comes before running tests, so the total is known
 * early), restarts drivers of binaries that still have work, and adds lanes. */
static void start_drivers(ctx *c) {
    unsigned lim = jobs_limit(c);
    for (size_t i = 0; i < c->nbins && c->running < lim; i++) {
        binary *b = &c->bins[i];
        if (b->started) continue;
        char err[256];
        if (start_driver(c, i, false, err, sizeof err) != 0) {
            fprintf(stderr, "memgate: %s: %s\n", b->path, err);
            b->started = true;
            b->ended_unlisted = true;
            init_whole(c, b);
            mg_judge_error(&b->whole_e.r, "could not start: %s", err);
            b->whole_e.need = 0;
            assign_in_order(c);
        }
    }
}

/* A job that cannot run: its binary's driver kept dying. Its entries end as errors. */
static void abandon_job(ctx *c, size_t j) {
    job *jb = &c->jobs[j];
    binary *b = &c->bins[jb->bin];
    jb->done = true;
    const char *why = "the test binary kept dying: this test could not run";
    if (jb->what == J_TEST) {
        if (b->tests[jb->index].state == E_ACTIVE) {
            mg_judge_error(&b->tests[jb->index].r, "%s", why);
            finish_entry(c, &b->tests[jb->index]);
        }
        return;
    }
    for (size_t t = 0; jb->what == J_SUITE && t < b->list.ntests; t++) {
        entry *e = &b->tests[t];
        if (b->list.tests[t].suite != jb->index || e->state != E_ACTIVE) continue;
        mg_judge_error(&e->r, "%s", why);
        finish_entry(c, e);
    }
    entry *se = &b->suites[jb->index].entry;
    if (se->state == E_ACTIVE) {
        mg_judge_error(&se->r, "%s", why);
        finish_entry(c, se);
    }
}

/* The first queued job that can go to an idle driver of its binary, or a new lane. */
static void dispatch(ctx *c) {
    unsigned lim = jobs_limit(c);
    while (c->next_job < c->njobs && (c->jobs[c->next_job].done || c->jobs[c->next_job].drv >= 0)) c->next_job++;
    for (size_t j = c->next_job; j < c->njobs && c->running < lim; j++) {
        job *jb = &c->jobs[j];
        if (jb->done || jb->drv >= 0) continue;
        binary *b = &c->bins[jb->bin];
        size_t idle = (size_t)-1;
        bool starting = false;
        for (size_t i = 0; i < c->ndrv; i++) {
            driver *d = &c->drv[i];
            if (!d->alive || d->bin != jb->bin || d->trace != jb->trace || d->exit_sent) continue;
            if (!d->listed) starting = true;
            else if (d->job < 0 && !d->lane_bad && idle == (size_t)-1) idle = i;
        }
        if (idle != (size_t)-1) {
            dispatch_job(c, j, idle);
            continue;
        }
        size_t lanes = live_lanes(c, jb->bin, jb->trace);
        bool may_add = !starting && (lanes == 0 || (!b->single_lane && lanes < lim));
        if (may_add) {
            if (live_drivers(c, jb->bin) == 0 && b->restarts++ > b->list.ntests + 3) {
                abandon_job(c, j);
                continue;
            }
            char err[256];
            if (start_driver(c, jb->bin, jb->trace, err, sizeof err) != 0)
                mg_run_add_warning(c->run, "%s: could not start another driver: %s", b->path, err);
        }
    }
}

/* Whether a driver of this binary is running a job: its result may queue another round
 * (a traced re-run, a torture point) for any lane of the binary. */
static bool bin_running(const ctx *c, size_t bin) {
    for (size_t i = 0; i < c->ndrv; i++)
        if (c->drv[i].alive && c->drv[i].bin == bin && c->drv[i].job >= 0) return true;
    return false;
}

/* EXIT to drivers whose binary has nothing queued or running. */
static void retire_idle(ctx *c) {
    for (size_t i = 0; i < c->ndrv; i++) {
        driver *d = &c->drv[i];
        if (!d->alive || !d->listed || d->exit_sent || d->job >= 0) continue;
        if (!c->bins[d->bin].shard_assigned && !d->lane_bad) continue; /* its jobs are not queued yet */
        bool work = false;
        for (size_t j = c->next_job; j < c->njobs && !work; j++)
            work = !c->jobs[j].done && c->jobs[j].drv < 0 && c->jobs[j].bin == d->bin &&
                   c->jobs[j].trace == d->trace;
        if (work && !d->lane_bad) continue;
        /* Keep the lane while its binary still runs something, rather than restart a
         * driver for the next round that result queues. */
        if (!d->lane_bad && bin_running(c, d->bin)) continue;
        send_line(d, "EXIT\n");
        d->exit_sent = true;
        d->deadline = now_ns() + (uint64_t)EXIT_GRACE_MS * 1000000u;
        d->deadline_kind = 3;
    }
}

static void read_output(driver *d, binary *b) {
    char tmp[8192];
    ssize_t n;
    while ((n = read(d->p.out, tmp, sizeof tmp)) > 0) {
        size_t keep = (size_t)n;
        if (b->output.len + keep > BIN_OUTPUT_CAP) {
            size_t room = b->output.len < BIN_OUTPUT_CAP ? BIN_OUTPUT_CAP - b->output.len : 0;
            b->output_dropped += keep - room;
            keep = room;
        }
        if (keep) sb_put(&b->output, tmp, keep);
    }
}

/* Waits for a driver whose socket closed: it is exiting. One that keeps running with
 * its socket closed is killed after two seconds. */
static void reap(driver *d) {
    for (int i = 0; i < 2000; i++) {
        pid_t r = waitpid(d->p.pid, &d->wstatus, WNOHANG);
        if (r == d->p.pid || (r < 0 && errno != EINTR)) return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    mg_proc_kill(&d->p);
    waitpid(d->p.pid, &d->wstatus, 0);
}

static bool anything_left(const ctx *c) {
    for (size_t i = 0; i < c->ndrv; i++)
        if (c->drv[i].alive) return true;
    for (size_t i = 0; i < c->nbins; i++)
        if (!c->bins[i].started) return true;
    return false;
}

static void kill_everything(ctx *c) {
    for (size_t i = 0; i < c->ndrv; i++)
        if (c->drv[i].alive) mg_proc_kill(&c->drv[i].p);
    for (size_t i = 0; i < c->ndrv; i++) {
        if (!c->drv[i].alive) continue;
        waitpid(c->drv[i].p.pid, NULL, 0);
        c->drv[i].alive = false;
        mg_proc_close(&c->drv[i].p);
    }
    mg_stray strays[8];
    mg_kill_strays(NULL, 0, strays, 8);
}

/* Tells o->on_tick what runs now (drivers still listing, then each driver's job) and
 * whether the total is final; returns its answer. */
static int tick(ctx *c) {
    mg_exec_running *rn = mg_xcalloc(c->ndrv ? c->ndrv : 1, sizeof *rn);
    size_t n = 0;
    uint64_t now = now_ns();
    for (size_t i = 0; i < c->ndrv; i++) {
        const driver *d = &c->drv[i];
        const binary *b = &c->bins[d->bin];
        if (!d->alive) continue;
        if (!d->listed && !b->listed) {
            rn[n++] = (mg_exec_running){b->path, NULL, NULL, (double)(now - d->started) / 1e9};
        } else if (d->job >= 0) {
            const job *jb = &c->jobs[d->job];
            const mg_test_result *r = jb->what == J_TEST ? &b->tests[jb->index].r
                                      : jb->what == J_SUITEONLY ? &b->suites[jb->index].entry.r
                                                                : NULL;
            const char *suite = r ? r->suite : jb->what == J_SUITE ? b->list.suites[jb->index].name : NULL;
            rn[n++] = (mg_exec_running){b->path, suite, r ? r->name : NULL, (double)(now - jb->started) / 1e9};
        }
    }
    mg_exec_tick tk = {rn, n, c->done, c->known, c->next_shard_bin >= c->nbins};
    int stop = c->o->on_tick(&tk, c->o->ctx);
    free(rn);
    return stop;
}

int mg_exec(const mg_exec_opts *o, mg_run *run, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    ctx c = {0};
    c.o = o;
    c.run = run;
    c.jctx.baseline = o->baseline;
    c.jctx.tolerance = o->tolerance;
    c.nbins = o->nbinaries;
    c.bins = mg_xcalloc(c.nbins ? c.nbins : 1, sizeof *c.bins);
    for (size_t i = 0; i < c.nbins; i++) {
        c.bins[i].path = o->binaries[i];
        c.bins[i].argv = o->argv;
    }
    signal(SIGPIPE, SIG_IGN);
    mg_become_subreaper();
    uint64_t t0 = now_ns();
    struct pollfd *pfd = NULL;
    size_t pfd_cap = 0;
    for (;;) {
        if (o->interrupted && *o->interrupted) {
            kill_everything(&c);
            run->interrupted = true;
            break;
        }
        if (o->on_tick && tick(&c) != 0) {
            kill_everything(&c);
            run->interrupted = true;
            break;
        }
        start_drivers(&c);
        dispatch(&c);
        retire_idle(&c);
        if (!anything_left(&c)) break;
        if (pfd_cap < c.ndrv * 2 + 1) {
            pfd_cap = c.ndrv * 2 + 16;
            pfd = mg_xrealloc(pfd, pfd_cap * sizeof *pfd);
        }
        size_t np = 0;
        uint64_t now = now_ns();
        int timeout = 100;
        for (size_t i = 0; i < c.ndrv; i++) {
            driver *d = &c.drv[i];
            pfd[np++] = (struct pollfd){.fd = d->alive ? d->p.sock : -1, .events = POLLIN};
            pfd[np++] = (struct pollfd){.fd = d->alive ? d->p.out : -1, .events = POLLIN};
            if (d->alive && d->deadline) {
                uint64_t left = d->deadline > now ? (d->deadline - now) / 1000000u + 1 : 0;
                if (left < (uint64_t)timeout) timeout = (int)left;
            }
        }
        int r = poll(pfd, np, timeout);
        if (r < 0 && errno != EINTR) break;
        now = now_ns();
        size_t ndrv = c.ndrv; /* drivers started while handling input are polled next time */
        for (size_t i = 0; i < ndrv && i * 2 + 1 < np; i++) {
            driver *d = &c.drv[i];
            if (!d->alive) continue;
            binary *b = &c.bins[d->bin];
            if (pfd[i * 2 + 1].revents) read_output(d, b);
            bool eof = false;
            if (pfd[i * 2].revents) {
                char tmp[65536];
                for (;;) {
                    ssize_t n = read(d->p.sock, tmp, sizeof tmp);
                    if (n > 0) {
                        sb_put(&d->in, tmp, (size_t)n);
                        continue;
                    }
                    if (n == 0 || (errno != EINTR && errno != EAGAIN)) eof = true;
                    break;
                }
                process_input(&c, i);
                d = &c.drv[i]; /* handlers may grow the array */
            }
            if (d->deadline && now >= d->deadline && !d->killed) {
                d->killed = true;
                d->state_at_kill = mg_proc_state(d->p.pid);
                mg_proc_kill(&d->p);
            }
            if (eof || waitpid(d->p.pid, &d->wstatus, WNOHANG) == d->p.pid) {
                if (eof) reap(d);
                read_output(d, &c.bins[d->bin]);
                driver_ended(&c, i);
            }
        }
    }
    free(pfd);

    /* Results in binary, suite, registry order: a suite's own entry, then its tests. */
    size_t total = 0;
    for (size_t i = 0; i < c.nbins; i++) {
        binary *b = &c.bins[i];
        total += b->whole_e.state == E_DONE;
        for (size_t s = 0; b->listed && s < b->list.nsuites; s++) total += b->suites[s].entry.state == E_DONE;
        for (size_t t = 0; b->listed && t < b->list.ntests; t++) total += b->tests[t].state == E_DONE;
    }
    run->tests = mg_xcalloc(total ? total : 1, sizeof *run->tests);
    run->ntests = 0;
    for (size_t i = 0; i < c.nbins; i++) {
        binary *b = &c.bins[i];
        if (b->whole_e.state == E_DONE) run->tests[run->ntests++] = b->whole_e.r;
        else if (b->whole) mg_test_result_free_contents(&b->whole_e.r);
        if (b->whole) {
            mg_budget_free_contents(&b->whole_e.base);
            mg_annotation_free(&b->whole_e.ann);
        }
        for (size_t s = 0; b->listed && s < b->list.nsuites; s++) {
            entry *se = &b->suites[s].entry;
            if (se->state == E_DONE) run->tests[run->ntests++] = se->r;
            else mg_test_result_free_contents(&se->r);
            mg_budget_free_contents(&se->base);
            mg_annotation_free(&se->ann);
            for (size_t t = 0; t < b->list.ntests; t++) {
                if (b->list.tests[t].suite != s) continue;
                entry *e = &b->tests[t];
                if (e->state == E_DONE) run->tests[run->ntests++] = e->r;
                else mg_test_result_free_contents(&e->r);
                mg_budget_free_contents(&e->base);
                mg_annotation_free(&e->ann);
            }
            free(b->suites[s].skip.data);
        }
        free(b->tests);
        free(b->suites);
        free(b->output.data);
        mg_wire_list_free(&b->list);
    }
    for (size_t i = 0; i < c.ndrv; i++) {
        free(c.drv[i].in.data);
        free(c.drv[i].modules);
    }
    run->duration_s = (double)(now_ns() - t0) / 1e9;
    run->partial = o->nfilters > 0 || o->nexcludes > 0 || o->shard_count > 1;
    free(c.bins);
    free(c.drv);
    free(c.jobs);
    mg_trace_cache_free();
    return 0;
}
