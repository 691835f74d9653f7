/*
 * Processes the CLI starts and ends: a test binary with the collector preloaded and a
 * socket to the CLI (its driver), process groups, and the processes a test leaves
 * behind. The CLI is a child subreaper (PR_SET_CHILD_SUBREAPER): a helper a test started
 * that outlives its parent (daemonized with setsid(), double-forked) becomes the CLI's
 * child, where it is found, named and killed instead of surviving the run.
 */
#ifndef MEMGATE_RUNNER_SPAWN_H
#define MEMGATE_RUNNER_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct mg_spawn_opts {
    const char *library;   /* libmemgate.so to preload */
    unsigned timeout_ms;   /* per test, handed to the driver; 0 = none */
    bool trace;            /* MEMGATE_STACKS=1: stacks from the start (whole-process) */
    const char *unwind;    /* "fp" or NULL */
    unsigned max_frames;   /* 0 = default */
} mg_spawn_opts;

typedef struct mg_proc {
    pid_t pid;   /* also its process group */
    int sock;    /* the driver's socket (CLI end) */
    int out;     /* the program's stdout+stderr (non-blocking) */
} mg_proc;

/* Starts path (argv NULL: just the path) with the collector preloaded. 0, or -1 with err. */
int mg_spawn(const mg_spawn_opts *o, const char *path, char *const *argv, mg_proc *out, char *err,
             size_t errlen);

/* Kills the process group (and the process, should it have left its group). */
void mg_proc_kill(const mg_proc *p);

/* Closes the CLI's ends. */
void mg_proc_close(mg_proc *p);

/* Makes this process a child subreaper. 0, or -1 where the kernel does not offer it. */
int mg_become_subreaper(void);

/* A process that is the CLI's child but not one it started: left behind by a test. */
typedef struct mg_stray {
    pid_t pid;
    char comm[32];
    unsigned long long start_ticks; /* when it started, in clock ticks since boot */
} mg_stray;

/* Now, in the clock of mg_stray.start_ticks. */
unsigned long long mg_boot_ticks(void);

/* Finds the CLI's children whose pid is not in known[0..nknown), kills each with its
 * process group, and reaps them. Fills up to max strays; returns how many were found. */
size_t mg_kill_strays(const pid_t *known, size_t nknown, mg_stray *out, size_t max);

/* The one-letter state of a process from /proc ('R', 'S', 'T' stopped, 'Z'...), or '?'. */
char mg_proc_state(pid_t pid);

#endif
