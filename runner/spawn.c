/*
 * Starting and ending processes (spawn.h).
 */
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

static char *env_entry(const char *name, const char *value) { return mg_xasprintf("%s=%s", name, value); }

/* The environment of a driver: ours without memgate's variables, plus the preload and
 * the settings. Entries made here are freed by free_env. */
static char **build_env(const mg_spawn_opts *o, int sockfd) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = mg_xcalloc(n + 16, sizeof *env);
    size_t k = 0;
    const char *old_preload = NULL;
    bool bind_set = false, tunables_set = false;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(environ[i], "LD_BIND_NOW=", 12)) bind_set = true;
        if (!strncmp(environ[i], "GLIBC_TUNABLES=", 15)) tunables_set = true;
        if (!strncmp(environ[i], "LD_PRELOAD=", 11)) {
            old_preload = environ[i] + 11;
            continue;
        }
        if (!strncmp(environ[i], "MEMGATE_", 8)) continue;
        env[k++] = environ[i];
    }
    env[k++] = old_preload && *old_preload ? mg_xasprintf("LD_PRELOAD=%s:%s", o->library, old_preload)
                                           : env_entry("LD_PRELOAD", o->library);
    env[k++] = env_entry("MEMGATE_ACTIVE", "1");
    /* Every symbol bound once in the driver, not again in each test's child (lazy
     * binding cost each child a quarter of a millisecond on trivial tests); the driver
     * removes both variables, so what the tests start binds as it would. An LD_BIND_NOW
     * of the user's own, even empty (lazy), is left alone. */
    if (!bind_set) {
        env[k++] = (char *)"LD_BIND_NOW=1";
        env[k++] = env_entry("MEMGATE_BIND_NOW", "1");
    }
    /* Transparent huge pages for glibc's malloc (glibc 2.35+; older ones ignore it): each
     * test's child faults its heap in afresh, and 2 MiB at a time instead of 4 KiB took an
     * allocation-heavy suite from 2.4x to about 1.5x its plain run (docs/performance.md);
     * the figures count requested bytes, which this does not change. Removed again by
     * the driver like LD_BIND_NOW; any GLIBC_TUNABLES of the user's own is left alone. */
    if (!tunables_set) {
        env[k++] = (char *)"GLIBC_TUNABLES=glibc.malloc.hugetlb=1";
        env[k++] = env_entry("MEMGATE_TUNABLES", "1");
    }
    char num[32];
    snprintf(num, sizeof num, "%d", sockfd);
    env[k++] = env_entry("MEMGATE_RUNNER_FD", num);
    snprintf(num, sizeof num, "%u", o->timeout_ms);
    env[k++] = env_entry("MEMGATE_TIMEOUT_MS", num);
    if (o->trace) env[k++] = env_entry("MEMGATE_STACKS", "1");
    if (o->unwind) env[k++] = env_entry("MEMGATE_UNWIND", o->unwind);
    if (o->max_frames) {
        snprintf(num, sizeof num, "%u", o->max_frames);
        env[k++] = env_entry("MEMGATE_MAX_FRAMES", num);
    }
    env[k] = NULL; /* MEMGATE_RUNNER_PID is added in the child, two slots remain */
    return env;
}

static void free_env(char **env) {
    for (size_t i = 0; env[i]; i++)
        if (!strncmp(env[i], "LD_PRELOAD=", 11) || !strncmp(env[i], "MEMGATE_", 8)) free(env[i]);
    free(env);
}

int mg_spawn(const mg_spawn_opts *o, const char *path, char *const *argv, mg_proc *out, char *err,
             size_t errlen) {
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
    char **env = build_env(o, sv[1]);
    char *argv_default[2] = {(char *)path, NULL};
    char *const *args = argv ? argv : argv_default;
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
        /* Default dispositions: the CLI's handlers must not leak into the program. */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execve(path, args, env);
        dprintf(2, "memgate: cannot execute %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int fork_errno = errno;
    free_env(env);
    close(sv[1]);
    close(outp[1]);
    if (pid < 0) {
        mg_set_err(err, errlen, "fork: %s", strerror(fork_errno));
        close(sv[0]);
        close(outp[0]);
        return -1;
    }
    setpgid(pid, pid);
    out->pid = pid;
    out->sock = sv[0];
    out->out = outp[0];
    fcntl(out->out, F_SETFL, O_NONBLOCK);
    fcntl(out->sock, F_SETFL, O_NONBLOCK);
    return 0;
}

void mg_proc_kill(const mg_proc *p) {
    if (p->pid <= 0) return;
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL);
}

void mg_proc_close(mg_proc *p) {
    if (p->sock >= 0) close(p->sock);
    if (p->out >= 0) close(p->out);
    p->sock = p->out = -1;
}

int mg_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -1; }

/* Reads /proc/PID/stat: state, parent, name and start time (clock ticks since boot).
 * 0, or -1 when the process is gone. */
static int read_stat(pid_t pid, char *state, pid_t *ppid, char comm[32], unsigned long long *start) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *open_paren = strchr(buf, '(');
    char *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren) return -1;
    if (comm) {
        size_t len = (size_t)(close_paren - open_paren - 1);
        if (len > 31) len = 31;
        memcpy(comm, open_paren + 1, len);
        comm[len] = '\0';
    }
    char st = '?';
    int pp = 0;
    unsigned long long t = 0;
    /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
     * stime cutime cstime priority nice num_threads itrealvalue starttime */
    if (sscanf(close_paren + 1,
               " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &st, &pp, &t) < 2)
        return -1;
    if (state) *state = st;
    if (ppid) *ppid = pp;
    if (start) *start = t;
    return 0;
}

unsigned long long mg_boot_ticks(void) {
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0) hz = 100;
    return (unsigned long long)ts.tv_sec * (unsigned long long)hz +
           (unsigned long long)ts.tv_nsec / (1000000000ull / (unsigned long long)hz);
}

char mg_proc_state(pid_t pid) {
    char st = '?';
    if (read_stat(pid, &st, NULL, NULL, NULL) != 0) return '?';
    return st;
}

/* Lists the pids whose parent is this process, into out (at most max): from the
 * kernel's list of the (single-threaded) CLI's children when it offers one, else by
 * scanning /proc. */
static size_t children_of_self(pid_t *out, size_t max) {
    pid_t self = getpid();
    size_t n = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)self);
    FILE *f = fopen(path, "re");
    if (f) {
        long pid;
        while (n < max && fscanf(f, "%ld", &pid) == 1) out[n++] = (pid_t)pid;
        fclose(f);
        return n;
    }
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        pid_t ppid;
        if (read_stat((pid_t)pid, NULL, &ppid, NULL, NULL) == 0 && ppid == self) out[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

size_t mg_kill_strays(const pid_t *known, size_t nknown, mg_stray *out, size_t max) {
    size_t found = 0;
    /* A killed stray's own children become ours in turn: a few rounds. */
    for (int round = 0; round < 8; round++) {
        pid_t kids[512];
        size_t n = children_of_self(kids, sizeof kids / sizeof *kids);
        size_t killed = 0;
        for (size_t i = 0; i < n; i++) {
            bool ours = false;
            for (size_t k = 0; k < nknown && !ours; k++) ours = known[k] == kids[i];
            if (ours) continue;
            char comm[32] = "?", st = '?';
            unsigned long long start = 0;
            read_stat(kids[i], &st, NULL, comm, &start);
            if (st != 'Z') {
                if (found < max) {
                    out[found].pid = kids[i];
                    out[found].start_ticks = start;
                    snprintf(out[found].comm, sizeof out[found].comm, "%s", comm);
                }
                found++;
                kill(-kids[i], SIGKILL);
                kill(kids[i], SIGKILL);
            }
            waitpid(kids[i], NULL, 0);
            killed++;
        }
        if (!killed) break;
    }
    return found < max ? found : max;
}
