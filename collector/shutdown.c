/*
 * The orderly shutdown of a test child (DESIGN.md "Measurements"): after the test's
 * window closed and the suite's cleanup ran, the exit handlers registered since the
 * child started run (a library's clean-up registered at its first use inside the test:
 * OpenSSL frees its algorithm cache this way), then libc releases its own caches
 * (__libc_freeres). What is still live of a window's blocks after that is its leak.
 *
 * To know which handlers are the child's, atexit/__cxa_atexit and on_exit are
 * interposed: while a test child runs they are kept here instead of being handed to
 * libc. Handlers that main registered before the tests started stay in libc's list and
 * never run in a child (it ends with _exit): they belong to the real process exit.
 * __cxa_finalize (dlclose) runs the kept handlers of the library being closed, as libc
 * would. exit() called by a test is reported (the test ended the child) and the child
 * then ends without running any handler.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define EXPORT __attribute__((visibility("default")))

extern void __libc_freeres(void);
/* The C++ ABI's registration and finalization of exit handlers (no public header). */
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
void __cxa_finalize(void *dso);

typedef struct handler {
    void (*cxa)(void *);          /* __cxa_atexit / atexit */
    void (*onexit)(int, void *);  /* on_exit */
    void *arg, *dso;
} handler;

static handler *list;
static size_t count, cap;
static bool capturing;
static void (*exit_hook)(int status);
static _Atomic int lock;

static void lock_list(void) {
    while (atomic_exchange_explicit(&lock, 1, memory_order_acquire)) sched_yield();
}
static void unlock_list(void) { atomic_store_explicit(&lock, 0, memory_order_release); }

/* Appends a handler; 0, or -1 when no memory is left for the list. */
static int keep(handler h) {
    lock_list();
    if (count == cap) {
        size_t ncap = cap ? cap * 2 : 64;
        handler *nl = mg__sys_alloc(ncap * sizeof *nl);
        if (!nl) {
            unlock_list();
            return -1;
        }
        if (list) {
            memcpy(nl, list, count * sizeof *nl);
            mg__sys_free(list, cap * sizeof *list);
        }
        list = nl;
        cap = ncap;
    }
    list[count++] = h;
    unlock_list();
    return 0;
}

/* Removes and returns the newest handler matching dso (any when dso is NULL). */
static bool take_newest(void *dso, bool any, handler *out) {
    bool found = false;
    lock_list();
    for (size_t i = count; i-- > 0;) {
        if (any || list[i].dso == dso) {
            *out = list[i];
            memmove(&list[i], &list[i + 1], (count - i - 1) * sizeof *list);
            count--;
            found = true;
            break;
        }
    }
    unlock_list();
    return found;
}

static void run_one(const handler *h, int status) {
    if (h->cxa) h->cxa(h->arg);
    else if (h->onexit) h->onexit(status, h->arg);
}

/* Resolves libc's definition of a function we interpose. */
#define NEXT_FN(var, name)                                                             \
    do {                                                                               \
        if (!var) {                                                                    \
            void *sym_ = dlsym(RTLD_NEXT, name);                                       \
            memcpy(&var, &sym_, sizeof sym_);                                          \
        }                                                                              \
    } while (0)

EXPORT int __cxa_atexit(void (*fn)(void *), void *arg, void *dso) {
    static int (*next)(void (*)(void *), void *, void *);
    if (capturing) return keep((handler){fn, NULL, arg, dso}) == 0 ? 0 : -1;
    NEXT_FN(next, "__cxa_atexit");
    return next ? next(fn, arg, dso) : -1;
}

EXPORT int on_exit(void (*fn)(int, void *), void *arg) {
    static int (*next)(void (*)(int, void *), void *);
    if (capturing) return keep((handler){NULL, fn, arg, NULL}) == 0 ? 0 : -1;
    NEXT_FN(next, "on_exit");
    return next ? next(fn, arg) : -1;
}

EXPORT void __cxa_finalize(void *dso) {
    static void (*next)(void *);
    if (capturing && dso) {
        handler h;
        while (take_newest(dso, false, &h)) run_one(&h, 0);
    }
    NEXT_FN(next, "__cxa_finalize");
    if (next) next(dso);
}

EXPORT void exit(int status) {
    static void (*next)(int);
    if (capturing && exit_hook) exit_hook(status); /* does not return */
    NEXT_FN(next, "exit");
    if (next) next(status);
    _exit(status);
}

void mg__shutdown_capture(void (*on_exit_call)(int status)) {
    exit_hook = on_exit_call;
    capturing = true;
}

unsigned mg__shutdown_handlers(void) { return (unsigned)count; }

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

void mg__shutdown_run_handlers(void) {
    handler h;
    /* Newest first; a handler may register another one, which then runs next. */
    while (take_newest(NULL, true, &h)) run_one(&h, 0);
    fflush(NULL);
}

bool mg__shutdown_release_libc(void) {
    /* Freeing libc's state under other running threads is not safe. */
    if (thread_count() > 1) return false;
    __libc_freeres();
    return true;
}
