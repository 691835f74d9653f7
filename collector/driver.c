/*
 * The in-process half of `memgate run`: takes over CUnit's run functions, forks one
 * child per test, and measures each test in its child.
 *
 * Processes:
 *   memgate (CLI)  <- socket (MEMGATE_RUNNER_FD) ->  test binary ("driver", D)
 *                                                     `- one child per test run
 * The driver lists the registry, then runs what the CLI asks ("RUN idx mode"), as many
 * at once as the CLI sends, and forwards each child's results ("RESULT ...") with its
 * wait status and captured output. It enforces the per-test timeout by killing the
 * child's process group. The CLI decides everything else (budgets, re-runs, reports).
 *
 * In the child: suite init (CUnit's), collect hooks, snapshot A, setup, test, teardown,
 * collect hooks, snapshot B (CUnit's test start/complete handlers), then suite cleanup,
 * then libc's own caches are released with __libc_freeres: frees it makes of blocks
 * allocated during the test take them out of the figures, since they were libc's
 * (stdio buffers, locale and timezone data, cached thread stacks), not the test's.
 *
 * A program that never calls a CUnit runner is measured as one whole-process test: the
 * window opens in the library constructor and closes in an on_exit handler.
 *
 * Messages are lines of space-separated tokens; strings are percent-escaped
 * (mg__buf_esc). The child formats everything without malloc.
 */
#include <CUnit/Automated.h>
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <CUnit/Console.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "memgate/cunit.h"

#define EXPORT __attribute__((visibility("default")))
#define MG_EXIT_HEAP 86     /* child exit code after reporting heap misuse */
#define MAX_DIFFS 64        /* traceback entries a child sends, largest growth first */
#define MAX_PEAK 32         /* peak entries a child sends */
#define OUTPUT_CAP (64 * 1024)

extern void __libc_freeres(void);
void CU_curses_run_tests(void); /* CUnit/CUCurses.h is not always installed */
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

/* ---- CUnit entry points, resolved at run time --------------------------------------
 * The library never links libcunit: a binary that does not use CUnit must not load it.
 * With a dynamically linked CUnit the functions are found with dlsym; a binary with a
 * static CUnit passes them through memgate_cunit_run() (memgate/cunit.h). */
static memgate_cunit_api cu;

/* Stores dlsym's answer into a function pointer (POSIX guarantees this works). */
#define LOAD_SYM(dst, name) do { void *sym_ = dlsym(RTLD_DEFAULT, name); memcpy(&(dst), &sym_, sizeof sym_); } while (0)

static int cu_resolve_dynamic(void) {
    if (cu.get_registry) return 0;
    LOAD_SYM(cu.get_registry, "CU_get_registry");
    LOAD_SYM(cu.run_test, "CU_run_test");
    LOAD_SYM(cu.set_test_start_handler, "CU_set_test_start_handler");
    LOAD_SYM(cu.set_test_complete_handler, "CU_set_test_complete_handler");
    LOAD_SYM(cu.get_failure_list, "CU_get_failure_list");
    if (!cu.get_registry || !cu.run_test || !cu.set_test_start_handler ||
        !cu.set_test_complete_handler || !cu.get_failure_list) {
        memset(&cu, 0, sizeof cu);
        return -1;
    }
    return 0;
}

/* ---- state ------------------------------------------------------------------------- */
static int runner_fd = -1;   /* socket to the CLI, in the driver and whole-process mode */
static int result_fd = -1;   /* in a test child: pipe to the driver */
static pid_t main_pid;
static bool whole_process;   /* measuring the whole program (no CUnit runner called) */
static bool taken_over;
static bool in_child;
static unsigned timeout_ms = 60000;

/* Figures at snapshot A and B of the window. */
static struct {
    bool open, closed;
    int64_t bytes_a, blocks_a, bytes_b, blocks_b, peak_b;
    uint64_t allocs_a, allocs_b;
    uint64_t t_start, t_end;
    mg_stackstat *snap_a;
    size_t snap_a_n, snap_a_cap;
} win;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void window_open(void) {
    mg__run_collect_hooks();
    mg__annotation.set = false;
    mg__g.epoch ^= 1u;
    win.bytes_a = atomic_load(&mg__g.live_bytes);
    win.blocks_a = atomic_load(&mg__g.live_blocks);
    win.allocs_a = atomic_load(&mg__g.total_allocs);
    memgate_reset_peak();
    mg__peak_flush(false); /* forget a peak reached before the window */
    if (mg__g.capture) win.snap_a = mg__stack_snapshot(&win.snap_a_n, &win.snap_a_cap);
    win.open = true;
    win.t_start = now_ns();
}

/* Snapshot B: from here on, only libc's own clean-up changes the figures. */
static void window_close(void) {
    if (!win.open || win.closed) return;
    win.t_end = now_ns();
    mg__peak_flush(true); /* before the hooks free anything: the peak may be now */
    mg__run_collect_hooks();
    win.peak_b = atomic_load(&mg__g.peak_bytes);
    win.allocs_b = atomic_load(&mg__g.total_allocs);
    mg__g.window_closed = true;
    win.closed = true;
}

/* Number of threads of this process (from /proc, without malloc); 0 if unknown. */
static int thread_count(void) {
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    if (!p) return 0;
    /* Fields after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime stime cutime cstime priority nice num_threads(20). */
    int field = 2;
    for (; *p; p++) {
        if (*p == ' ' && ++field == 20) return atoi(p + 1);
    }
    return 0;
}

/* Releases libc's caches; frees of blocks allocated in the window then leave the figures.
 * Skipped while other threads run: freeing libc state under them is not safe. */
static bool release_libc_caches(void) {
    fflush(NULL);
    if (thread_count() > 1) return false;
    mg__g.freeres_active = true;
    __libc_freeres();
    mg__g.freeres_active = false;
    return true;
}

/* ---- module map ------------------------------------------------------------------- */
static int module_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    mg_buf *b = data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < lo) lo = s;
        if (e > hi) hi = e;
    }
    if (hi == 0) return 0;
    const char *name = info->dlpi_name;
    char exe[4096];
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return 0;
        exe[n] = '\0';
        name = exe;
    }
    if (strstr(name, "linux-vdso")) return 0;
    mg__buf_printf(b, "MOD %llx %llx %llx ", (unsigned long long)info->dlpi_addr,
                   (unsigned long long)lo, (unsigned long long)hi);
    mg__buf_esc(b, name);
    mg__buf_puts(b, "\n");
    return 0;
}

static void emit_modules(mg_buf *b) { dl_iterate_phdr(module_cb, b); }

static void emit_stack(mg_buf *b, uint32_t id) {
    uintptr_t frames[MG_MAX_FRAMES];
    int n = mg__stack_frames(id, frames, MG_MAX_FRAMES);
    mg__buf_printf(b, "STK %u", id);
    for (int i = 0; i < n; i++) mg__buf_printf(b, " %llx", (unsigned long long)frames[i]);
    mg__buf_puts(b, "\n");
}

/* ---- diff of the window by traceback ------------------------------------------------ */
typedef struct diff_row {
    uint32_t stack;
    int64_t size, size_diff, count, count_diff;
} diff_row;

static int64_t lookup_a(uint32_t stack, int64_t *count) {
    for (size_t i = 0; i < win.snap_a_n; i++) {
        if (win.snap_a[i].stack == stack) {
            *count = win.snap_a[i].count;
            return win.snap_a[i].bytes;
        }
    }
    *count = 0;
    return 0;
}

/* Keeps the `max` rows with the largest size_diff (then count_diff) in rows[0..max). */
static void keep_top(diff_row *rows, size_t *n, size_t max, const diff_row *r) {
    size_t pos = *n;
    if (*n == max) {
        const diff_row *last = &rows[max - 1];
        if (r->size_diff < last->size_diff ||
            (r->size_diff == last->size_diff && r->count_diff <= last->count_diff))
            return;
        pos = max - 1;
    } else {
        (*n)++;
    }
    while (pos > 0 && (rows[pos - 1].size_diff < r->size_diff ||
                       (rows[pos - 1].size_diff == r->size_diff &&
                        rows[pos - 1].count_diff < r->count_diff))) {
        rows[pos] = rows[pos - 1];
        pos--;
    }
    rows[pos] = *r;
}

static void emit_diffs(mg_buf *b) {
    size_t nb, capb;
    mg_stackstat *snap_b = mg__stack_snapshot(&nb, &capb);
    diff_row top[MAX_DIFFS];
    size_t ntop = 0;
    for (size_t i = 0; i < nb; i++) {
        int64_t ca;
        int64_t ba = lookup_a(snap_b[i].stack, &ca);
        diff_row r = {snap_b[i].stack, snap_b[i].bytes, snap_b[i].bytes - ba, snap_b[i].count,
                      snap_b[i].count - ca};
        if (r.size_diff > 0 || r.count_diff > 0) keep_top(top, &ntop, MAX_DIFFS, &r);
    }
    for (size_t i = 0; i < ntop; i++) {
        emit_stack(b, top[i].stack);
        mg__buf_printf(b, "D %u %lld %lld %lld %lld\n", top[i].stack, (long long)top[i].size,
                       (long long)top[i].size_diff, (long long)top[i].count,
                       (long long)top[i].count_diff);
    }
    mg__sys_free(snap_b, capb * sizeof *snap_b);

    size_t np;
    int64_t live_at;
    const mg_stackstat *pk = mg__peak_breakdown(&np, &live_at);
    if (!np) return;
    diff_row ptop[MAX_PEAK];
    size_t nptop = 0;
    for (size_t i = 0; i < np; i++) {
        int64_t ca;
        int64_t ba = lookup_a(pk[i].stack, &ca);
        diff_row r = {pk[i].stack, pk[i].bytes, pk[i].bytes - ba, pk[i].count, pk[i].count - ca};
        if (r.size_diff > 0) keep_top(ptop, &nptop, MAX_PEAK, &r);
    }
    mg__buf_printf(b, "PK %lld\n", (long long)(live_at - win.bytes_a));
    for (size_t i = 0; i < nptop; i++) {
        emit_stack(b, ptop[i].stack);
        mg__buf_printf(b, "P %u %lld %lld\n", ptop[i].stack, (long long)ptop[i].size_diff,
                       (long long)ptop[i].count_diff);
    }
}

/* ---- results of a window ------------------------------------------------------------- */
static void emit_annotation(mg_buf *b) {
    if (!mg__annotation.set) return;
    mg__buf_printf(b, "A %lld %lld %lld %u ", mg__annotation.budget.leak_bytes,
                   mg__annotation.budget.object_growth, mg__annotation.budget.peak_bytes,
                   mg__annotation.line);
    mg__buf_esc(b, mg__annotation.file);
    mg__buf_puts(b, "\n");
}

/* Formats the figures of a closed window; modules must already be in b. */
static void emit_window(mg_buf *b, bool released) {
    int64_t leaked = atomic_load(&mg__g.live_bytes) - win.bytes_a;
    int64_t growth = atomic_load(&mg__g.live_blocks) - win.blocks_a;
    int64_t peak = win.peak_b - win.bytes_a;
    mg__buf_printf(b, "M %lld %lld %lld %llu %llu\n", (long long)leaked, (long long)growth,
                   (long long)(peak < 0 ? 0 : peak),
                   (unsigned long long)(win.allocs_b - win.allocs_a),
                   (unsigned long long)(win.t_end - win.t_start));
    if (!released) mg__buf_puts(b, "NOTE threads-running\n");
    emit_annotation(b);
    if (mg__g.capture) emit_diffs(b);
}

/* ---- heap misuse ------------------------------------------------------------------------ */
void mg__report_double_free(uintptr_t p, void *ret) {
    mg_buf b = {0};
    uintptr_t frames[MG_MAX_FRAMES];
    int n = mg__capture(ret, frames, MG_MAX_FRAMES);
    mg__buf_printf(&b, "S heap double-free %llx\n", (unsigned long long)p);
    mg__buf_puts(&b, "FREE");
    for (int i = 0; i < n; i++) mg__buf_printf(&b, " %llx", (unsigned long long)frames[i]);
    mg__buf_puts(&b, "\n");
    emit_modules(&b);
    mg__buf_puts(&b, "END\n");
    mg__log("double free of %p detected", (void *)p);
    if (in_child && result_fd >= 0) {
        mg__write_all(result_fd, b.data, b.len);
        /* A crash like glibc's own report of the same misuse. */
        signal(SIGABRT, SIG_DFL);
        abort();
    } else if (whole_process && runner_fd >= 0 && getpid() == main_pid) {
        char hdr[64];
        size_t h = mg__fmt(hdr, sizeof hdr, "WHOLE %zu\n", b.len);
        mg__write_all(runner_fd, hdr, h);
        mg__write_all(runner_fd, b.data, b.len);
    } else {
        abort();
    }
    _exit(MG_EXIT_HEAP);
}

/* ---- whole-process mode ------------------------------------------------------------------ */
static void whole_process_exit(int status, void *arg) {
    (void)arg;
    if (!whole_process || getpid() != main_pid || runner_fd < 0) return;
    window_close();
    mg_buf b = {0};
    emit_modules(&b);
    bool released = release_libc_caches();
    emit_window(&b, released);
    mg__buf_printf(&b, "EXIT %d\nEND\n", status);
    char hdr[64];
    size_t h = mg__fmt(hdr, sizeof hdr, "WHOLE %zu\n", b.len);
    mg__write_all(runner_fd, hdr, h);
    mg__write_all(runner_fd, b.data, b.len);
    exit_now(status);
}

void mg__driver_init(void) {
    const char *fd = getenv("MEMGATE_RUNNER_FD");
    const char *pid = getenv("MEMGATE_RUNNER_PID");
    if (!fd || !pid) return;
    if (atol(pid) != (long)getpid()) {
        /* A program started by a test inherits the environment: it is not measured. */
        atomic_store(&mg__g.recording, 0);
        return;
    }
    runner_fd = atoi(fd);
    if (fcntl(runner_fd, F_SETFD, FD_CLOEXEC) != 0) {
        runner_fd = -1;
        return;
    }
    main_pid = getpid();
    const char *t = getenv("MEMGATE_TIMEOUT_MS");
    if (t && *t) timeout_ms = (unsigned)strtoul(t, NULL, 10);
    mg__g.check_double_free = true;
    whole_process = true;
    on_exit(whole_process_exit, NULL);
    window_open();
}

/* ---- the test child ----------------------------------------------------------------------- */
static void on_test_start(const CU_pTest test, const CU_pSuite suite) {
    (void)test;
    (void)suite;
    window_open();
}

static void on_test_complete(const CU_pTest test, const CU_pSuite suite,
                             const CU_pFailureRecord failure) {
    (void)test;
    (void)suite;
    (void)failure;
    /* CUnit's failure records are CUnit's, not the test's: take them out before B. */
    for (CU_pFailureRecord f = cu.get_failure_list(); f; f = f->pNext) {
        mg__untrack((uintptr_t)f);
        if (f->strFileName) mg__untrack((uintptr_t)f->strFileName);
        if (f->strCondition) mg__untrack((uintptr_t)f->strCondition);
    }
    window_close();
}

static void emit_failures(mg_buf *b) {
    for (CU_pFailureRecord f = cu.get_failure_list(); f; f = f->pNext) {
        const char *kind = f->type == CUF_AssertFailed       ? "assert"
                           : f->type == CUF_SuiteInitFailed  ? "suite-init"
                           : f->type == CUF_SuiteCleanupFailed ? "suite-cleanup"
                           : f->type == CUF_TestInactive     ? "inactive"
                                                             : "other";
        mg__buf_printf(b, "F %s %u ", kind, f->uiLineNumber);
        mg__buf_esc(b, f->strFileName);
        mg__buf_puts(b, " ");
        mg__buf_esc(b, f->strCondition);
        mg__buf_puts(b, "\n");
    }
}

__attribute__((noreturn)) static void run_child(CU_pSuite suite, CU_pTest test, bool trace,
                                                int res_fd) {
    in_child = true;
    result_fd = res_fd;
    whole_process = false;
    mg__g.capture = trace;
    mg__g.peak_tracking = trace;
    cu.set_test_start_handler(on_test_start);
    cu.set_test_complete_handler(on_test_complete);
    int rc = cu.run_test(suite, test);

    mg_buf b = {0};
    emit_failures(&b); /* before libc is torn down: these read CUnit's records */
    if (trace) emit_modules(&b); /* only stacks need symbolizing */
    if (!win.open) {
        mg__buf_printf(&b, "S %s %d\n", rc == CUE_SINIT_FAILED ? "sinit" : "notrun", rc);
        release_libc_caches();
    } else {
        window_close();
        bool released = release_libc_caches();
        mg__buf_puts(&b, "S ok\n");
        emit_window(&b, released);
    }
    mg__buf_puts(&b, "END\n");
    mg__write_all(res_fd, b.data, b.len);
    exit_now(0);
}

/* ---- the driver loop ----------------------------------------------------------------------- */
typedef struct child {
    pid_t pid;
    int pidfd, res_fd, out_fd;
    unsigned idx;
    int trace;
    uint64_t started, deadline;
    bool timed_out, exited;
    int wstatus;
    mg_buf res, out;
    size_t out_dropped;
} child;

typedef struct test_ref {
    CU_pSuite suite;
    CU_pTest test;
} test_ref;

static test_ref *tests;
static size_t ntests;
static child *kids;
static size_t nkids, capkids;

static int send_all(const void *p, size_t n) { return mg__write_all(runner_fd, p, n); }

static void send_list(CU_pTestRegistry reg) {
    size_t n = 0;
    for (CU_pSuite s = reg ? reg->pSuite : NULL; s; s = s->pNext)
        for (CU_pTest t = s->pTest; t; t = t->pNext) n++;
    tests = mg__sys_alloc((n ? n : 1) * sizeof *tests);
    mg_buf b = {0};
    mg__buf_printf(&b, "LIST %zu\n", n);
    for (CU_pSuite s = reg ? reg->pSuite : NULL; s; s = s->pNext) {
        for (CU_pTest t = s->pTest; t; t = t->pNext) {
            tests[ntests].suite = s;
            tests[ntests].test = t;
            mg__buf_printf(&b, "T %zu %d %d ", ntests, s->fActive ? 1 : 0, t->fActive ? 1 : 0);
            mg__buf_esc(&b, s->pName);
            mg__buf_puts(&b, " ");
            mg__buf_esc(&b, t->pName);
            mg__buf_puts(&b, "\n");
            ntests++;
        }
    }
    mg__buf_puts(&b, "ENDLIST\n");
    send_all(b.data, b.len);
    mg__buf_release(&b);
}

/* Tells the CLI that RUN idx could not start: code -1 = no such test, -2 = fork failed. */
static void send_not_started(unsigned idx, int trace, int code) {
    char msg[96];
    size_t n = mg__fmt(msg, sizeof msg, "RESULT %u %d %d 0 0 0 0\n", idx, trace, code);
    send_all(msg, n);
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void spawn(unsigned idx, int trace) {
    if (idx >= ntests) {
        send_not_started(idx, trace, -1);
        return;
    }
    int res[2], out[2];
    if (pipe2(res, O_CLOEXEC) != 0) return;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(res[0]);
        close(res[1]);
        return;
    }
    fflush(NULL);
    pid_t driver = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* The test has its own process group (so a timeout kills what it started); tie
         * it to the driver so that it dies with it, e.g. when the CLI is interrupted. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != driver) _exit(1);
        close(runner_fd);
        for (size_t i = 0; i < nkids; i++) {
            close(kids[i].res_fd);
            close(kids[i].out_fd);
            if (kids[i].pidfd >= 0) close(kids[i].pidfd);
        }
        close(res[0]);
        close(out[0]);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(out[1]);
        run_child(tests[idx].suite, tests[idx].test, trace != 0, res[1]);
    }
    close(res[1]);
    close(out[1]);
    if (pid < 0) {
        close(res[0]);
        close(out[0]);
        send_not_started(idx, trace, -2);
        return;
    }
    setpgid(pid, pid); /* also from here: no race with the child's own call */
    if (nkids == capkids) {
        size_t ncap = capkids ? capkids * 2 : 16;
        child *nk = mg__sys_alloc(ncap * sizeof *nk);
        if (kids) {
            memcpy(nk, kids, nkids * sizeof *nk);
            mg__sys_free(kids, capkids * sizeof *kids);
        }
        kids = nk;
        capkids = ncap;
    }
    child *c = &kids[nkids++];
    memset(c, 0, sizeof *c);
    c->pid = pid;
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    c->res_fd = res[0];
    c->out_fd = out[0];
    set_nonblock(c->res_fd);
    set_nonblock(c->out_fd);
    c->idx = idx;
    c->trace = trace;
    c->started = now_ns();
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

static void finish(size_t k) {
    child *c = &kids[k];
    drain(c->res_fd, &c->res, 0, NULL);
    drain(c->out_fd, &c->out, OUTPUT_CAP, &c->out_dropped);
    if (c->out_dropped) {
        char note[96];
        size_t n = mg__fmt(note, sizeof note, "\n[memgate: %zu more bytes of output dropped]\n",
                           c->out_dropped);
        mg__buf_put(&c->out, note, n);
    }
    char hdr[160];
    size_t h = mg__fmt(hdr, sizeof hdr, "RESULT %u %d %d %d %llu %zu %zu\n", c->idx, c->trace,
                       c->wstatus, c->timed_out ? 1 : 0,
                       (unsigned long long)(now_ns() - c->started), c->res.len, c->out.len);
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

/* Parses complete command lines from the CLI. Returns -1 when told to stop. */
static int handle_commands(char *buf, size_t *len) {
    int stop = 0;
    char *start = buf;
    char *nl;
    while ((nl = memchr(start, '\n', (size_t)(buf + *len - start)))) {
        *nl = '\0';
        unsigned idx;
        int trace;
        if (strncmp(start, "RUN ", 4) == 0) {
            char *end;
            idx = (unsigned)strtoul(start + 4, &end, 10);
            trace = (int)strtol(end, NULL, 10);
            spawn(idx, trace);
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
    char cmd[8192];
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
        }
        size_t np = 0;
        pfd[np++] = (struct pollfd){.fd = (stopping || runner_gone) ? -1 : runner_fd, .events = POLLIN};
        uint64_t now = now_ns();
        int timeout = -1;
        for (size_t i = 0; i < nkids; i++) {
            child *c = &kids[i];
            pfd[np++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
            pfd[np++] = (struct pollfd){.fd = c->res_fd, .events = POLLIN};
            pfd[np++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
            if (c->pidfd < 0 && (timeout < 0 || timeout > 20)) timeout = 20; /* no pidfd: poll */
            if (c->deadline && !c->timed_out) {
                uint64_t left = c->deadline > now ? (c->deadline - now) / 1000000u + 1 : 0;
                if (timeout < 0 || left < (uint64_t)timeout) timeout = (int)left;
            }
        }
        int r = poll(pfd, np, timeout);
        if (r < 0 && errno != EINTR) break;
        if (pfd[0].fd >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(runner_fd, cmd + cmdlen, sizeof cmd - cmdlen);
            if (n <= 0) {
                if (n == 0 || errno != EINTR) {
                    runner_gone = true; /* the CLI died: stop everything */
                    stopping = true;
                    for (size_t i = 0; i < nkids; i++) kill_child(&kids[i]);
                }
            } else {
                cmdlen += (size_t)n;
                if (handle_commands(cmd, &cmdlen) < 0) stopping = true;
            }
        }
        now = now_ns();
        /* Children spawned by the commands above sit past `polled`; finish(i) moves the
         * last child into slot i, which a descending walk has already visited. */
        size_t polled = (np - 1) / 3;
        for (size_t i = nkids; i-- > 0;) {
            child *c = &kids[i];
            if (i < polled) {
                struct pollfd *p = &pfd[1 + i * 3];
                if (p[1].revents) drain(c->res_fd, &c->res, 0, NULL);
                if (p[2].revents) drain(c->out_fd, &c->out, OUTPUT_CAP, &c->out_dropped);
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

/* Takes over a CUnit run function when running under the memgate CLI. Returns 1 when
 * it did (the tests ran under memgate), 0 when the caller must run CUnit itself. */
static int take_over(void) {
    if (runner_fd < 0 || in_child || taken_over || getpid() != main_pid) return 0;
    if (!cu.get_registry && cu_resolve_dynamic() != 0) return 0;
    taken_over = true;
    whole_process = false;
    send_list(cu.get_registry());
    driver_loop();
    send_all("BYE\n", 4);
    return 1;
}

/* ---- the interposed CUnit run functions ---------------------------------------------------- */
#define FORWARD(ret_type, name)                                                         \
    ret_type (*next_)(void);                                                           \
    {                                                                                  \
        void *sym_ = dlsym(RTLD_NEXT, #name);                                          \
        memcpy(&next_, &sym_, sizeof sym_);                                            \
    }

EXPORT CU_ErrorCode CU_basic_run_tests(void) {
    if (take_over()) return CUE_SUCCESS;
    FORWARD(CU_ErrorCode, CU_basic_run_tests)
    return next_ ? next_() : CUE_NOREGISTRY;
}

EXPORT CU_ErrorCode CU_run_all_tests(void) {
    if (take_over()) return CUE_SUCCESS;
    FORWARD(CU_ErrorCode, CU_run_all_tests)
    return next_ ? next_() : CUE_NOREGISTRY;
}

EXPORT void CU_console_run_tests(void) {
    if (take_over()) return;
    FORWARD(void, CU_console_run_tests)
    if (next_) next_();
}

EXPORT void CU_automated_run_tests(void) {
    if (take_over()) return;
    FORWARD(void, CU_automated_run_tests)
    if (next_) next_();
}

EXPORT void CU_curses_run_tests(void) {
    if (take_over()) return;
    FORWARD(void, CU_curses_run_tests)
    if (next_) next_();
}

EXPORT int memgate_cunit_run_with(const memgate_cunit_api *api) {
    if (!api || !api->get_registry || !api->run_test || !api->set_test_start_handler ||
        !api->set_test_complete_handler || !api->get_failure_list)
        return MEMGATE_EINVAL;
    if (!cu.get_registry) cu = *api;
    if (take_over()) return 0;
    return api->basic_run_tests ? api->basic_run_tests() : 0;
}

EXPORT int memgate_under_runner(void) { return runner_fd >= 0; }
