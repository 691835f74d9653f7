/*
 * The driver: the in-process half of `memgate run` (protocol.h has the messages).
 * Why this file is long: the two halves of a fork live together, the driver's loop
 * (commands, children, pipes, deadlines) and what each child does (windows, warm-ups,
 * suites, shutdown, its report), because they share the child's state across fork();
 * measurement (window.c), shutdown (shutdown.c) and formatting (wire.c) are elsewhere.
 *
 * Processes:
 *   memgate (CLI)  <- socket (MEMGATE_RUNNER_FD) ->  test binary ("driver")
 *                                                     `- one child per RUN command
 * When a test framework's run function is called (adapter_cunit.c), the driver lists
 * the registry, then runs what the CLI asks, as many children at once as it sends
 * commands, and forwards each child's report with its wait status and captured output.
 * It enforces the per-test timeout by killing the child's process group. The CLI
 * decides everything else (budgets, re-runs, reports).
 *
 * A child runs, for `RUN test`: the suite's init, the warm-up runs, the measured run
 * (window open before setup, closed after teardown), the suite's cleanup, then the
 * orderly shutdown (shutdown.c): exit handlers registered since the child started and,
 * when a window still has live blocks, libc's own caches. What is left of each window's
 * blocks is its leak. `RUN suite` does the same for a whole suite in registry order, with
 * a window of its own around init, tests and cleanup; `RUN suiteonly` measures init and
 * cleanup alone (the suite's own entry under test isolation).
 *
 * A program that never calls a framework's run function is measured as one
 * whole-process test: the window opens in the library constructor and closes in an
 * exit handler registered first, so it runs after the program's own.
 *
 * Everything here formats without malloc (mg_buf is mmap'd): the driver's bookkeeping
 * must not appear in any figure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ucontext.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapter.h"
#include "block.h"
#include "harness.h"
#include "protocol.h"

#define EXPORT __attribute__((visibility("default")))

#ifdef MEMGATE_GCOV_DUMP
/* libgcov (coverage builds): writes the counters of every instrumented module. */
void __gcov_dump(void);
#endif

/* Ends the process like _exit(). Coverage builds first write the gcov counters, which
 * _exit() skips: test children and whole-process runs end here. */
__attribute__((noreturn)) static void exit_now(int status) {
#ifdef MEMGATE_GCOV_DUMP
    __gcov_dump();
#endif
    _exit(status);
}

/* ---- state -------------------------------------------------------------------------- */
static int runner_fd = -1;   /* socket to the CLI */
static pid_t main_pid;
static bool whole_process;   /* measuring the whole program (no framework run yet) */
static bool taken_over;
static unsigned timeout_ms = 60000;
static int devnull_fd = -1;
static mg_window whole_win;

/* The registry, as the adapter listed it. */
static const mg_adapter *A;
static const mg_suite_desc *suites;
static const mg_test_desc *tests;
static size_t nsuites, ntests;

/* In a test child: where its report goes, and the report being written. */
static bool in_child;
static int result_fd = -1;
static mg_buf rep;

bool mg__driver_active(void) { return runner_fd >= 0 && !taken_over && !in_child && getpid() == main_pid; }

EXPORT int memgate_under_runner(void) { return runner_fd >= 0; }

static int send_all(const void *p, size_t n) { return mg__write_all(runner_fd, p, n); }

/* ---- heap misuse ------------------------------------------------------------------------ */
/* Reports a double free or a broken trailer with the traceback of the free, then ends
 * the process like glibc's own checks do (SIGABRT). */
static void on_misuse(int kind, uintptr_t p, void *ret) {
    int outer = !mg__guard;
    mg__guard = 1; /* the unwinder may allocate */
    mg_buf b = {0};
    uintptr_t frames[MG_MAX_FRAMES];
    int n = mg__capture(ret, frames, MG_MAX_FRAMES);
    mg__buf_printf(&b, "MISUSE %s %llx\nFREE", kind == MG_MISUSE_DOUBLE_FREE ? "double-free" : "bad-trailer",
                   (unsigned long long)p);
    for (int i = 0; i < n; i++) mg__buf_printf(&b, " %llx", (unsigned long long)frames[i]);
    mg__buf_puts(&b, "\n");
    mg__wire_modules(&b);
    mg__buf_puts(&b, "END\n");
    if (kind == MG_MISUSE_DOUBLE_FREE)
        mg__log("double free of %p detected", (void *)p);
    else
        mg__log("heap corruption at free(%p): the 8 bytes after the block were overwritten, or malloc did not return this pointer",
                (void *)p);
    if (in_child && result_fd >= 0) {
        mg__wire_flush(&rep, result_fd);
        mg__write_all(result_fd, b.data, b.len);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    if (whole_process && runner_fd >= 0 && getpid() == main_pid) {
        char hdr[64];
        size_t h = mg__fmt(hdr, sizeof hdr, "WHOLE %zu\n", b.len);
        send_all(hdr, h);
        send_all(b.data, b.len);
        exit_now(MG_EXIT_HEAP);
    }
    if (outer) mg__guard = 0;
    signal(SIGABRT, SIG_DFL);
    abort();
}

/* ---- crashes ----------------------------------------------------------------------------
 * A test child that receives SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT says where and
 * what it had allocated before it dies: the crash site's stack (raw addresses: the CLI
 * symbolizes them with the driver's module map) and the figures of its open window.
 * Everything here is async-signal-safe: no malloc, no stdio, only write(2) of text
 * formatted into a stack buffer; it runs on its own stack (a stack overflow is a crash
 * too). The signal is then raised again with its default action, so the wait status
 * still says how the child died. */
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static void crash_handler(int sig, siginfo_t *si, void *ucv) {
    if (in_child && result_fd >= 0) {
        int outer = !mg__guard;
        mg__guard = 1; /* an unwinder that allocates must not touch the figures */
        mg__wire_flush(&rep, result_fd);
        char buf[4096];
        size_t n = 0;
        mg_window *w = mg__window_innermost();
        int64_t live = atomic_load(&mg__g.live_bytes), blocks = atomic_load(&mg__g.live_blocks);
        int64_t peak = atomic_load(&mg__g.peak_bytes);
        uint64_t allocs = atomic_load(&mg__g.total_allocs);
        if (w) {
            if (w->peak_seen > peak) peak = w->peak_seen;
            n += mg__fmt(buf + n, sizeof buf - n,
                         "C %d addr=%llx window=%u net_bytes=%lld net_blocks=%lld peak_bytes=%lld "
                         "allocations=%llu pending_bytes=%lld pending_blocks=%lld\n",
                         sig, (unsigned long long)(uintptr_t)si->si_addr, w->id, (long long)(live - w->bytes_a),
                         (long long)(blocks - w->blocks_a), (long long)(peak > w->bytes_a ? peak - w->bytes_a : 0),
                         (unsigned long long)(allocs - w->allocs_a), (long long)atomic_load(&mg__win[w->id].bytes),
                         (long long)atomic_load(&mg__win[w->id].blocks));
        } else {
            n += mg__fmt(buf + n, sizeof buf - n, "C %d addr=%llx window=0\n", sig,
                         (unsigned long long)(uintptr_t)si->si_addr);
        }
        uintptr_t frames[MG_MAX_FRAMES];
        int nf = mg__unwind(frames, MG_MAX_FRAMES);
        /* The frames of this handler and of the signal trampoline come first: the stack
         * of the test starts at the interrupted instruction. */
        uintptr_t pc = 0;
#if defined(__x86_64__)
        pc = (uintptr_t)((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
        pc = (uintptr_t)((ucontext_t *)ucv)->uc_mcontext.pc;
#else
        (void)ucv;
#endif
        int start = 0;
        for (int i = 0; i < nf; i++)
            if (frames[i] == pc) {
                start = i;
                break;
            }
        n += mg__fmt(buf + n, sizeof buf - n, "CSTK");
        for (int i = start; i < nf && n + 24 < sizeof buf; i++)
            n += mg__fmt(buf + n, sizeof buf - n, " %llx", (unsigned long long)frames[i]);
        n += mg__fmt(buf + n, sizeof buf - n, "\n");
        mg__write_all(result_fd, buf, n < sizeof buf ? n : sizeof buf - 1);
        if (outer) mg__guard = 0;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs the crash handler (inherited by every child) on an alternate stack. */
static void install_crash_handler(void) {
    size_t size = 64 * 1024;
    void *mem = mg__sys_alloc(size);
    if (mem) {
        stack_t ss = {.ss_sp = mem, .ss_size = size, .ss_flags = 0};
        sigaltstack(&ss, NULL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = crash_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof crash_signals / sizeof *crash_signals; i++) sigaction(crash_signals[i], &sa, NULL);
}

/* ---- the shutdown of a child, and its last words ----------------------------------------- */
/* Windows a child measured, by id (1..n): the first ones in static storage (a child
 * per test needs one; no mmap on the way), more in mmap'd chunks for long suites. */
#define MAX_CHILD_WINDOWS MG_MAX_WINDOW
#define INLINE_WINDOWS 8
#define WINDOW_CHUNK 256
static mg_window inline_windows[INLINE_WINDOWS];
static mg_window *window_chunks[(MAX_CHILD_WINDOWS + WINDOW_CHUNK - 1) / WINDOW_CHUNK + 1];
static unsigned child_nwindows;

static mg_window *window_at(unsigned id) {
    if (id <= INLINE_WINDOWS) return &inline_windows[id - 1];
    unsigned k = id - INLINE_WINDOWS - 1;
    return &window_chunks[k / WINDOW_CHUNK][k % WINDOW_CHUNK];
}

static mg_window *new_window(void) {
    if (child_nwindows >= MAX_CHILD_WINDOWS) {
        mg__log("more than %u measured windows in one child", (unsigned)MAX_CHILD_WINDOWS);
        exit_now(MG_EXIT_NOREPORT);
    }
    unsigned id = ++child_nwindows;
    if (id > INLINE_WINDOWS) {
        unsigned k = id - INLINE_WINDOWS - 1;
        if (!window_chunks[k / WINDOW_CHUNK]) {
            window_chunks[k / WINDOW_CHUNK] = mg__sys_alloc(WINDOW_CHUNK * sizeof(mg_window));
            if (!window_chunks[k / WINDOW_CHUNK]) exit_now(MG_EXIT_NOREPORT);
        }
    }
    mg_window *w = window_at(id);
    w->id = id;
    return w;
}

/* The orderly shutdown and the leak figures of every window, then the end. */
__attribute__((noreturn)) static void finish_child(bool trace) {
    mg__g.window = 0;
    mg__shutdown_run_handlers();
    bool pending = false;
    for (unsigned i = 1; i <= child_nwindows; i++)
        if (atomic_load(&mg__win[i].blocks) > 0) pending = true;
    /* Torture: whether the allocation to fail was reached (a test that allocates less
     * than it did before never hits it). */
    uint64_t fail_at = atomic_load(&mg__g.fail_at);
    if (fail_at) {
        mg__buf_printf(&rep, "FAILED_ALLOC %llu hit=%d\n", (unsigned long long)fail_at,
                       atomic_load(&mg__g.fail_count) >= fail_at);
        atomic_store(&mg__g.fail_at, 0); /* the shutdown's own allocations must work */
    }
    bool threads = pending && !mg__shutdown_release_libc();
    if (threads) mg__buf_puts(&rep, "NOTE threads-running\n");
    /* Traced, with leaks, one thread left (other threads' stacks would be roots we cannot
     * scan): which leaked blocks are still reachable. */
    mg_reach *reach = trace && pending && !threads ? mg__reach_build() : NULL;
    for (unsigned i = 1; i <= child_nwindows; i++) {
        if (!window_at(i)->open) continue;
        int64_t bytes = atomic_load(&mg__win[i].bytes), blocks = atomic_load(&mg__win[i].blocks);
        mg__buf_printf(&rep, "L %u leaked_bytes=%lld object_growth=%lld\n", i, (long long)bytes,
                       (long long)blocks);
        if (trace && blocks > 0) mg__wire_leak_diffs(&rep, i, reach);
    }
    mg__reach_free(reach);
    if (trace) mg__wire_modules(&rep);
    mg__buf_puts(&rep, "END\n");
    mg__wire_flush(&rep, result_fd);
    exit_now(0);
}

/* exit() called by the test: reported, and the child ends without running handlers. */
__attribute__((noreturn)) static void child_called_exit(int status) {
    mg__buf_printf(&rep, "X %d\nEND\n", status);
    mg__wire_flush(&rep, result_fd);
    exit_now(status);
}

/* ---- measured runs ----------------------------------------------------------------------- */
typedef struct run_ctx {
    mg_window *w;
} run_ctx;

static void hook_before(void *ctx) {
    run_ctx *c = ctx;
    atomic_store(&mg__g.fail_count, 0); /* torture counts the window's allocations */
    mg__window_open(c->w, c->w->id);
}

static void hook_after(void *ctx) {
    run_ctx *c = ctx;
    /* Records the framework could not keep out while the test ran leave the figures
     * before the window closes. */
    if (A->untrack_failures) A->untrack_failures();
    mg__window_close(c->w);
}

static void failure_line(const mg_failure_rec *f, void *ctx) {
    const unsigned *w = ctx;
    mg__buf_printf(&rep, "F %u %s %u ", *w, f->kind, f->line);
    mg__buf_esc(&rep, f->file);
    mg__buf_puts(&rep, " ");
    mg__buf_esc(&rep, f->condition);
    mg__buf_puts(&rep, "\n");
}

/* One measured run of test in a window of its own. */
static void measured_run(unsigned test, bool trace, bool flush) {
    mg_window *w = new_window();
    unsigned id = w->id;
    mg__buf_printf(&rep, "W %u test %u\n", id, test);
    /* In a suite's child the driver and the CLI learn here which test runs (its
     * timeout restarts; a crash from now on is its). A child of one test writes once. */
    if (flush) mg__wire_flush(&rep, result_fd);
    run_ctx c = {w};
    mg_run_hooks hooks = {hook_before, hook_after, &c};
    A->run_test(test, &hooks);
    if (!w->open) {
        mg__buf_printf(&rep, "S %u notrun\n", id);
    } else {
        if (!w->closed) mg__window_close(w);
        mg__wire_window(&rep, w);
        A->failures(failure_line, &id);
        mg__wire_annotation(&rep, id);
        if (trace) mg__wire_window_diffs(&rep, w);
    }
    if (flush) mg__wire_flush(&rep, result_fd);
}

/* Runs test `warmups` times outside any window, then `repeat` times, each in a window
 * of its own, and reports those windows. */
static void measured_test(unsigned test, unsigned warmups, unsigned repeat, bool trace, bool flush) {
    unsigned outer_window = mg__g.window;
    for (unsigned i = 0; i < warmups; i++) {
        mg__g.window = 0; /* first-use caches of the warm-ups are nobody's leak */
        A->run_test(test, NULL);
    }
    mg__g.window = outer_window;
    for (unsigned r = 0; r < (repeat ? repeat : 1); r++) measured_run(test, trace, flush);
}


/* Opens the window of a suite (its init and cleanup, and what happens between tests). */
static mg_window *open_suite_window(unsigned suite) {
    mg_window *w = new_window();
    mg__buf_printf(&rep, "W %u suite %u\n", w->id, suite);
    mg__wire_flush(&rep, result_fd);
    mg__window_open(w, w->id);
    return w;
}

static void close_suite_window(mg_window *w) {
    mg__window_close(w);
    mg__wire_window(&rep, w);
    mg__wire_flush(&rep, result_fd);
}

/* ---- commands ------------------------------------------------------------------------------ */
enum { RUN_TEST, RUN_SUITE, RUN_SUITEONLY };

typedef struct command {
    unsigned tag;
    int what;
    unsigned index;
    bool trace;
    unsigned warmups;
    unsigned repeat;  /* measured runs of each test (>= 1) */
    unsigned long fail_at; /* torture: the allocation of the window to fail, 0 none */
    const char *skip; /* suite mode: "i,j,..." test indices not to run, or "-" */
    const char *warm; /* suite mode: "test:n,..." warm-ups per test, or "-" */
    const char *reps; /* suite mode: "test:n,..." measured runs per test, or "-" */
} command;

static bool skipped(const char *list, unsigned test) {
    if (!list) return false;
    for (const char *p = list; *p;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p) break;
        if (v == test) return true;
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* The value for test in a "test:n,..." list, else the default. */
static unsigned per_test(const char *list, unsigned test, unsigned dflt) {
    for (const char *p = list; p && *p;) {
        char *end;
        unsigned long t = strtoul(p, &end, 10);
        if (end == p || *end != ':') break;
        unsigned long n = strtoul(end + 1, &end, 10);
        if (t == test) return (unsigned)n;
        p = *end == ',' ? end + 1 : end;
    }
    return dflt;
}

/* The body of a test child. */
__attribute__((noreturn)) static void run_child(const command *cmd) {
    mg__g.capture = cmd->trace;
    mg__g.peak_tracking = cmd->trace;
    atomic_store(&mg__g.fail_at, cmd->fail_at);
    mg__shutdown_capture(child_called_exit);
    if (cmd->what == RUN_TEST) {
        unsigned test = cmd->index, suite = tests[test].suite;
        if (A->suite_init(suite) != 0) {
            mg__buf_printf(&rep, "W 1 test %u\nS 1 sinit\nEND\n", test);
            mg__wire_flush(&rep, result_fd);
            exit_now(0);
        }
        measured_test(test, cmd->warmups, cmd->repeat, cmd->trace, false);
        A->suite_cleanup(suite); /* a failing cleanup is the suite entry's to report */
        finish_child(cmd->trace);
    }
    unsigned suite = cmd->index;
    mg_window *sw = open_suite_window(suite);
    if (A->suite_init(suite) != 0) {
        mg__buf_printf(&rep, "S %u sinit\n", sw->id);
        close_suite_window(sw);
        finish_child(cmd->trace);
    }
    if (cmd->what == RUN_SUITE) {
        for (unsigned t = 0; t < ntests; t++) {
            if (tests[t].suite != suite || !tests[t].active || skipped(cmd->skip, t)) continue;
            measured_test(t, per_test(cmd->warm, t, cmd->warmups), per_test(cmd->reps, t, cmd->repeat),
                          cmd->trace, true);
        }
    }
    if (A->suite_cleanup(suite) != 0) mg__buf_printf(&rep, "S %u scleanup\n", sw->id);
    close_suite_window(sw);
    if (cmd->trace) mg__wire_window_diffs(&rep, sw);
    finish_child(cmd->trace);
}

/* ---- the driver loop ------------------------------------------------------------------------ */
typedef struct child {
    pid_t pid;
    int pidfd, res_fd, out_fd;
    unsigned tag;
    uint64_t started, deadline;
    bool timed_out;
    int wstatus;
    mg_buf res, out;
    size_t out_dropped;
    size_t scanned; /* bytes of res already searched for window openings */
    bool eager;     /* its pipes are read as data comes (suites, traced runs) */
} child;

/* A single untraced test's pipes are not polled for its first QUIET_NS: such a test
 * usually ends sooner and writes a few hundred bytes (the pipe holds 64 KiB), so the
 * driver wakes once, at its exit, instead of once more for its report. A child that
 * writes more than a pipe holds in that time waits at most QUIET_NS. */
#define QUIET_NS 20000000u

static child *kids;
static size_t nkids, capkids;

/* CPU placement: each test's child starts on the CPU its driver forks it on (the
 * driver narrows its own affinity to that CPU around fork, then takes its mask back),
 * and gets the program's affinity back before the test runs. On 2 vCPUs, a child that
 * the kernel started on the other CPU doubled the kernel time per test; the driver
 * itself is never held to a CPU, so concurrent memgate runs (ctest -j) spread as usual. */
static bool placing;            /* more than one CPU to choose from */
static cpu_set_t program_cpus;  /* the program's own affinity */

static void init_placement(void) {
    placing = sched_getaffinity(0, sizeof program_cpus, &program_cpus) == 0 && CPU_COUNT(&program_cpus) > 1;
}

/* Before fork: the child will start on this CPU. */
static void place_next_child(void) {
    if (!placing) return;
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu >= CPU_SETSIZE) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)sched_setaffinity(0, sizeof one, &one);
}

/* After fork, in the driver and in the child: the program's affinity again. */
static void unplace(void) {
    if (placing) (void)sched_setaffinity(0, sizeof program_cpus, &program_cpus);
}

/* Tells the CLI that a command could not run (a harness error, never a test failure). */
static void send_error(unsigned tag, const char *what, int err) {
    mg_buf b = {0};
    char text[256];
    if (err)
        mg__fmt(text, sizeof text, "%s: %s", what, strerror(err));
    else
        mg__fmt(text, sizeof text, "%s", what);
    mg__buf_printf(&b, "ERROR %u ", tag);
    mg__buf_esc(&b, text);
    mg__buf_puts(&b, "\n");
    send_all(b.data, b.len);
    mg__buf_release(&b);
}

/* For the read ends of fresh pipes, whose only status flag is O_RDONLY. */
static int set_nonblock(int fd) { return fcntl(fd, F_SETFL, O_RDONLY | O_NONBLOCK); }

static child *add_child(void) {
    if (nkids == capkids) {
        size_t ncap = capkids ? capkids * 2 : 16;
        child *nk = mg__sys_alloc(ncap * sizeof *nk);
        if (!nk) return NULL;
        if (kids) {
            memcpy(nk, kids, nkids * sizeof *nk);
            mg__sys_free(kids, capkids * sizeof *kids);
        }
        kids = nk;
        capkids = ncap;
    }
    child *c = &kids[nkids++];
    memset(c, 0, sizeof *c);
    return c;
}

static void spawn(const command *cmd) {
    bool valid = cmd->what == RUN_TEST ? cmd->index < ntests : cmd->index < nsuites;
    if (!valid) {
        send_error(cmd->tag, "no such test or suite", 0);
        return;
    }
    int res[2], out[2];
    if (pipe2(res, O_CLOEXEC) != 0) {
        send_error(cmd->tag, "pipe2", errno);
        return;
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        int e = errno;
        close(res[0]);
        close(res[1]);
        send_error(cmd->tag, "pipe2", e);
        return;
    }
    child *c = add_child();
    if (!c) {
        close(res[0]), close(res[1]), close(out[0]), close(out[1]);
        send_error(cmd->tag, "out of memory in the driver", 0);
        return;
    }
    fflush(NULL);
    pid_t driver = getpid();
    place_next_child();
    pid_t pid = fork();
    if (pid == 0) {
        /* The test has its own process group (so a timeout kills what it started); tie
         * it to the driver so that it dies with it, e.g. when the CLI is interrupted. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != driver) _exit(1);
        in_child = true;
        unplace();
        close(runner_fd);
        for (size_t i = 0; i + 1 < nkids; i++) {
            close(kids[i].res_fd);
            close(kids[i].out_fd);
            if (kids[i].pidfd >= 0) close(kids[i].pidfd);
        }
        close(res[0]);
        close(out[0]);
        if (devnull_fd >= 0) dup2(devnull_fd, 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(out[1]);
        result_fd = res[1];
        run_child(cmd);
    }
    int fork_errno = errno;
    unplace();
    close(res[1]);
    close(out[1]);
    if (pid < 0) {
        close(res[0]);
        close(out[0]);
        nkids--;
        send_error(cmd->tag, "fork", fork_errno);
        return;
    }
    setpgid(pid, pid); /* also from here: no race with the child's own call */
    c->pid = pid;
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    c->res_fd = res[0];
    c->out_fd = out[0];
    set_nonblock(c->res_fd);
    set_nonblock(c->out_fd);
    c->tag = cmd->tag;
    c->eager = cmd->trace || cmd->what != RUN_TEST;
    c->started = mg__now_ns();
    c->deadline = timeout_ms ? c->started + (uint64_t)timeout_ms * 1000000u : 0;
}

/* Reads what is available; returns 1 at EOF. */
static int drain(int fd, mg_buf *b, size_t cap, size_t *dropped) {
    char tmp[16384];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n > 0) {
            size_t keep = (size_t)n;
            if (cap && b->len + keep > cap) {
                size_t room = b->len < cap ? cap - b->len : 0;
                if (dropped) *dropped += keep - room;
                keep = room;
            }
            if (keep) mg__buf_put(b, tmp, keep);
            continue;
        }
        if (n == 0) return 1;
        if (errno == EINTR) continue;
        return 0;
    }
}

/* A suite child reports "W" when it starts each test: the timeout counts per test. */
static void note_progress(child *c) {
    for (size_t i = c->scanned; i + 2 <= c->res.len; i++) {
        if ((i == 0 || c->res.data[i - 1] == '\n') && c->res.data[i] == 'W' && c->res.data[i + 1] == ' ')
            c->deadline = timeout_ms ? mg__now_ns() + (uint64_t)timeout_ms * 1000000u : 0;
    }
    c->scanned = c->res.len >= 1 ? c->res.len - 1 : 0;
}

static void finish(size_t k) {
    child *c = &kids[k];
    drain(c->res_fd, &c->res, 0, NULL);
    drain(c->out_fd, &c->out, MG_WIRE_OUTPUT_CAP, &c->out_dropped);
    if (c->out_dropped) {
        char note[96];
        size_t n = mg__fmt(note, sizeof note, "\n[memgate: %zu more bytes of output dropped]\n",
                           c->out_dropped);
        mg__buf_put(&c->out, note, n);
    }
    char hdr[192];
    size_t h = mg__fmt(hdr, sizeof hdr, "RESULT %u wstatus=%d timeout=%d dur_ns=%llu res=%zu out=%zu\n",
                       c->tag, c->wstatus, c->timed_out ? 1 : 0,
                       (unsigned long long)(mg__now_ns() - c->started), c->res.len, c->out.len);
    send_all(hdr, h);
    if (c->res.len) send_all(c->res.data, c->res.len);
    if (c->out.len) send_all(c->out.data, c->out.len);
    close(c->res_fd);
    close(c->out_fd);
    if (c->pidfd >= 0) close(c->pidfd);
    mg__buf_release(&c->res);
    mg__buf_release(&c->out);
    kids[k] = kids[--nkids];
}

static void kill_child(child *c) {
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
}

/* "key=value" token: the value when the token starts with key=, else NULL. */
static const char *kv(const char *tok, const char *key) {
    size_t n = strlen(key);
    return strncmp(tok, key, n) == 0 && tok[n] == '=' ? tok + n + 1 : NULL;
}

/* Parses "RUN <tag> <what> <index> key=value..." (in place). */
static int parse_run(char *line, command *cmd) {
    char *tok[12];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t && n < 12; t = strtok_r(NULL, " ", &save)) tok[n++] = t;
    if (n < 4) return -1;
    memset(cmd, 0, sizeof *cmd);
    cmd->tag = (unsigned)strtoul(tok[1], NULL, 10);
    if (!strcmp(tok[2], "test")) cmd->what = RUN_TEST;
    else if (!strcmp(tok[2], "suite")) cmd->what = RUN_SUITE;
    else if (!strcmp(tok[2], "suiteonly")) cmd->what = RUN_SUITEONLY;
    else return -1;
    cmd->index = (unsigned)strtoul(tok[3], NULL, 10);
    for (int i = 4; i < n; i++) {
        const char *v;
        if ((v = kv(tok[i], "trace"))) cmd->trace = *v == '1';
        else if ((v = kv(tok[i], "warmups"))) cmd->warmups = (unsigned)strtoul(v, NULL, 10);
        else if ((v = kv(tok[i], "skip"))) cmd->skip = strcmp(v, "-") ? v : NULL;
        else if ((v = kv(tok[i], "warm"))) cmd->warm = strcmp(v, "-") ? v : NULL;
        else if ((v = kv(tok[i], "repeat"))) cmd->repeat = (unsigned)strtoul(v, NULL, 10);
        else if ((v = kv(tok[i], "reps"))) cmd->reps = strcmp(v, "-") ? v : NULL;
        else if ((v = kv(tok[i], "fail"))) cmd->fail_at = strtoul(v, NULL, 10);
    }
    return 0;
}

/* Handles complete command lines from the CLI. Returns -1 when told to stop. */
static int handle_commands(char *buf, size_t *len) {
    int stop = 0;
    char *start = buf;
    char *nl;
    while ((nl = memchr(start, '\n', (size_t)(buf + *len - start)))) {
        *nl = '\0';
        command cmd;
        if (strncmp(start, "RUN ", 4) == 0) {
            if (parse_run(start, &cmd) == 0) spawn(&cmd);
            else send_error(0, "malformed RUN command", 0);
        } else if (strcmp(start, "EXIT") == 0) {
            stop = 1;
        }
        start = nl + 1;
    }
    size_t rest = (size_t)(buf + *len - start);
    memmove(buf, start, rest);
    *len = rest;
    return stop ? -1 : 0;
}

static void driver_loop(void) {
    static char cmd[65536];
    size_t cmdlen = 0;
    bool stopping = false, runner_gone = false;
    struct pollfd *pfd = NULL;
    size_t pfd_cap = 0;
    while (!(stopping && nkids == 0)) {
        size_t need = 1 + nkids * 3;
        if (need > pfd_cap) {
            if (pfd) mg__sys_free(pfd, pfd_cap * sizeof *pfd);
            pfd_cap = need * 2;
            pfd = mg__sys_alloc(pfd_cap * sizeof *pfd);
            if (!pfd) {
                mg__log("driver: out of memory");
                exit_now(1);
            }
        }
        size_t np = 0;
        pfd[np++] = (struct pollfd){.fd = (stopping || runner_gone) ? -1 : runner_fd, .events = POLLIN};
        uint64_t now = mg__now_ns();
        int timeout = -1;
        for (size_t i = 0; i < nkids; i++) {
            child *c = &kids[i];
            bool quiet = !c->eager && c->pidfd >= 0 && now - c->started < QUIET_NS;
            pfd[np++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
            pfd[np++] = (struct pollfd){.fd = quiet ? -1 : c->res_fd, .events = POLLIN};
            pfd[np++] = (struct pollfd){.fd = quiet ? -1 : c->out_fd, .events = POLLIN};
            if (quiet) {
                int left = (int)((c->started + QUIET_NS - now) / 1000000u) + 1;
                if (timeout < 0 || left < timeout) timeout = left;
            }
            if (c->pidfd < 0 && (timeout < 0 || timeout > 20)) timeout = 20; /* no pidfd: poll */
            if (c->deadline && !c->timed_out) {
                uint64_t left = c->deadline > now ? (c->deadline - now) / 1000000u + 1 : 0;
                if (timeout < 0 || left < (uint64_t)timeout) timeout = (int)left;
            }
        }
        int r = poll(pfd, np, timeout);
        if (r < 0 && errno != EINTR) {
            mg__log("driver: poll failed: %s", strerror(errno));
            exit_now(1);
        }
        if (pfd[0].fd >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(runner_fd, cmd + cmdlen, sizeof cmd - 1 - cmdlen);
            if (n <= 0) {
                if (n == 0 || errno != EINTR) {
                    runner_gone = true; /* the CLI died: stop everything */
                    stopping = true;
                    for (size_t i = 0; i < nkids; i++) kill_child(&kids[i]);
                }
            } else {
                cmdlen += (size_t)n;
                if (handle_commands(cmd, &cmdlen) < 0) stopping = true;
                if (cmdlen == sizeof cmd - 1) cmdlen = 0; /* an endless line: drop it */
            }
        }
        now = mg__now_ns();
        /* Children spawned by the commands above sit past `polled`; finish(i) moves the
         * last child into slot i, which a descending walk has already visited. */
        size_t polled = (np - 1) / 3;
        for (size_t i = nkids; i-- > 0;) {
            child *c = &kids[i];
            if (i < polled) {
                struct pollfd *p = &pfd[1 + i * 3];
                if (p[1].revents) {
                    drain(c->res_fd, &c->res, 0, NULL);
                    note_progress(c);
                }
                if (p[2].revents) drain(c->out_fd, &c->out, MG_WIRE_OUTPUT_CAP, &c->out_dropped);
            }
            if (c->deadline && !c->timed_out && now >= c->deadline) {
                c->timed_out = true;
                kill_child(c);
            }
            if (waitpid(c->pid, &c->wstatus, WNOHANG) == c->pid) {
                /* A grandchild may hold the pipes open: kill the group so the final
                 * drain ends. */
                kill(-c->pid, SIGKILL);
                finish(i);
            }
        }
    }
    if (pfd) mg__sys_free(pfd, pfd_cap * sizeof *pfd);
}

/* Reads the CLI's HELLO (the first line it sends). 0, or -1 after telling the CLI. */
static int read_hello(void) {
    char line[256];
    size_t len = 0;
    while (len < sizeof line - 1) {
        struct pollfd p = {.fd = runner_fd, .events = POLLIN};
        int r = poll(&p, 1, 30000);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            send_error(0, "the CLI did not answer HELLO", 0);
            return -1;
        }
        ssize_t n = read(runner_fd, line + len, 1); /* byte by byte: RUN lines follow */
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return -1;
        }
        if (line[len] == '\n') break;
        len++;
    }
    line[len] = '\0';
    char expect[64];
    mg__fmt(expect, sizeof expect, "HELLO memgate %d", MG_PROTOCOL_VERSION);
    if (strcmp(line, expect) != 0) {
        char msg[320];
        mg__fmt(msg, sizeof msg, "protocol mismatch: the CLI said '%s', this library speaks %d", line,
                MG_PROTOCOL_VERSION);
        send_error(0, msg, 0);
        return -1;
    }
    return 0;
}

static void send_list(void) {
    mg_buf b = {0};
    mg__buf_printf(&b, "LIST adapter=%s suites=%zu tests=%zu\n", A->name, nsuites, ntests);
    for (size_t i = 0; i < nsuites; i++) {
        mg__buf_printf(&b, "U %zu %d %d %d ", i, suites[i].active, suites[i].has_init,
                       suites[i].has_cleanup);
        mg__buf_esc(&b, suites[i].name);
        mg__buf_puts(&b, "\n");
    }
    for (size_t i = 0; i < ntests; i++) {
        mg__buf_printf(&b, "T %zu %u %d ", i, tests[i].suite, tests[i].active);
        mg__buf_esc(&b, tests[i].name);
        mg__buf_puts(&b, "\n");
    }
    for (const char *const *g = A->harness_functions; g && *g; g++) {
        mg__buf_puts(&b, "H function ");
        mg__buf_esc(&b, *g);
        mg__buf_puts(&b, "\n");
    }
    for (const char *const *g = A->harness_modules; g && *g; g++) {
        mg__buf_puts(&b, "H module ");
        mg__buf_esc(&b, *g);
        mg__buf_puts(&b, "\n");
    }
    /* The driver's modules: the CLI symbolizes crash sites with them (a crashing child
     * cannot safely walk its own). */
    mg__wire_modules(&b);
    mg__buf_puts(&b, "ENDLIST\n");
    send_all(b.data, b.len);
    mg__buf_release(&b);
}

/* MEMGATE_FORK_BENCH=N (ci/bench.sh): the floor a child per test is measured against,
 * in this very process: N times fork, a child that exits at once, waitpid. Prints the
 * mean in nanoseconds and ends the program. */
static void fork_bench(const char *arg) {
    unsigned long n = strtoul(arg, NULL, 10);
    if (!n) n = 1000;
    uint64_t t0 = mg__now_ns();
    for (unsigned long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, NULL, 0);
    }
    char line[96];
    size_t len = mg__fmt(line, sizeof line, "fork_waitpid_ns=%llu\n",
                         (unsigned long long)((mg__now_ns() - t0) / n));
    mg__write_all(1, line, len);
    exit_now(0);
}

int mg__driver_take_over(const mg_adapter *a) {
    const char *bench = getenv("MEMGATE_FORK_BENCH");
    if (bench && *bench) fork_bench(bench);
    if (!mg__driver_active()) return 0;
    taken_over = true;
    (void)fcntl(runner_fd, F_SETFD, FD_CLOEXEC); /* what the tests exec never sees it */
    /* The program is no longer one whole-process test. */
    whole_process = false;
    mg__window_close(&whole_win);
    A = a;
    init_placement();
    install_crash_handler();
    if (read_hello() != 0) exit_now(2);
    if (a->list(&suites, &nsuites, &tests, &ntests) != 0) {
        suites = NULL;
        tests = NULL;
        nsuites = ntests = 0;
    }
    send_list();
    driver_loop();
    send_all("BYE\n", 4);
    /* The tests ran in children: nothing is left for the rest of main to do under the
     * CLI, and code after the framework's run call could hang the run. */
    fflush(NULL);
    exit_now(0);
}

/* ---- whole-process mode ------------------------------------------------------------------ */
static void whole_process_exit(int status, void *arg) {
    (void)arg;
    if (!whole_process || getpid() != main_pid || runner_fd < 0) return;
    mg__window_close(&whole_win);
    fflush(NULL);
    unsigned id = whole_win.id;
    mg_buf b = {0};
    if (atomic_load(&mg__win[id].blocks) > 0 && !mg__shutdown_release_libc())
        mg__buf_puts(&b, "NOTE threads-running\n");
    mg__buf_printf(&b, "W %u whole 0\n", id);
    mg__wire_window(&b, &whole_win);
    mg__wire_annotation(&b, id);
    mg__buf_printf(&b, "L %u leaked_bytes=%lld object_growth=%lld\n", id,
                   (long long)atomic_load(&mg__win[id].bytes), (long long)atomic_load(&mg__win[id].blocks));
    if (mg__g.capture) {
        mg__wire_window_diffs(&b, &whole_win);
        mg__wire_leak_diffs(&b, id, NULL);
        mg__wire_modules(&b);
    }
    mg__buf_printf(&b, "X %d\nEND\n", status);
    char hdr[64];
    size_t h = mg__fmt(hdr, sizeof hdr, "WHOLE %zu\n", b.len);
    send_all(hdr, h);
    send_all(b.data, b.len);
    exit_now(status);
}

/* In a process forked by the program: the socket is not for it, nor for what it execs. */
static void on_fork_child(void) {
    if (runner_fd >= 0) (void)fcntl(runner_fd, F_SETFD, FD_CLOEXEC);
}

/* Runs after the collector's own constructor (interpose.c, priority 101). */
__attribute__((constructor(102))) static void driver_init(void) {
    /* LD_BIND_NOW was the runner's (spawn.c): ld.so has read it; what this process
     * starts binds lazily again. GLIBC_TUNABLES likewise: glibc has read it. */
    if (getenv("MEMGATE_BIND_NOW")) {
        unsetenv("LD_BIND_NOW");
        unsetenv("MEMGATE_BIND_NOW");
    }
    if (getenv("MEMGATE_TUNABLES")) { /* GLIBC_TUNABLES likewise (spawn.c) */
        unsetenv("GLIBC_TUNABLES");
        unsetenv("MEMGATE_TUNABLES");
    }
    const char *fd = getenv("MEMGATE_RUNNER_FD");
    const char *pid = getenv("MEMGATE_RUNNER_PID");
    if (!fd || !pid) return;
    if (atol(pid) != (long)getpid()) {
        /* A program started by a test inherits the environment: it is not measured. */
        atomic_store(&mg__g.recording, 0);
        return;
    }
    runner_fd = atoi(fd);
    /* Not close-on-exec yet: a wrapper script (libtool's, a shell line) that execs the
     * real test binary keeps the same pid, and that binary takes the socket over from
     * here (the CLI answers HELLO once; the answer waits in the socket). Processes this
     * one forks close it (on_fork_child); a CUnit take-over makes it close-on-exec. */
    if (fcntl(runner_fd, F_GETFD) < 0) {
        runner_fd = -1;
        return;
    }
    pthread_atfork(NULL, NULL, on_fork_child);
    main_pid = getpid();
    const char *t = getenv("MEMGATE_TIMEOUT_MS");
    if (t && *t) timeout_ms = (unsigned)strtoul(t, NULL, 10);
    devnull_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    mg__g.misuse = on_misuse;
    char hello[96];
    size_t n = mg__fmt(hello, sizeof hello, "HELLO memgate %d pid=%d\n", MG_PROTOCOL_VERSION, (int)main_pid);
    send_all(hello, n);
    whole_process = true;
    on_exit(whole_process_exit, NULL);
    mg__window_open(&whole_win, MG_MAX_WINDOW);
}
