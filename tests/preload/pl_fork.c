/*
 * Run under LD_PRELOAD=libmemgate.so with MEMGATE_ACTIVE=1: fork keeps the figures
 * exact in parent and child, the child can allocate and free (also blocks of the
 * parent), and forking while other threads allocate does not leave a lock held in
 * the child. A child that does not finish within 5 s is killed and counted as hung
 * (a lock taken with every signal blocked would make alarm() useless).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pl.h"

/* Waits for pid, killing it after 5 s; returns its wait status, or -1 if it hung. */
static int wait_child(pid_t pid) {
    int status = 0;
    for (int waited_ms = 0; waited_ms < 5000; waited_ms++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0) return -2;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Child side: checks with the child's own counters, exits 0 when all held. */
static void child_checks(const memgate_counters *at_fork, void *parent_block) {
    int bad = 0;
    memgate_counters c = pl_counters();
    /* The child starts with the parent's figures. */
    if (c.live_bytes != at_fork->live_bytes || c.live_blocks != at_fork->live_blocks) bad |= 1;
    void *p = pl_keep(malloc(500));
    memgate_counters d = pl_counters();
    if (d.live_bytes != c.live_bytes + 500 || d.live_blocks != c.live_blocks + 1) bad |= 2;
    free(parent_block);
    memgate_counters e = pl_counters();
    if (e.live_bytes != d.live_bytes - 1000 || e.live_blocks != d.live_blocks - 1) bad |= 4;
    free(p);
    memgate_counters f = pl_counters();
    if (f.live_bytes != c.live_bytes - 1000 || f.live_blocks != c.live_blocks - 1) bad |= 8;
    if (!memgate_is_tracking()) bad |= 16;
    _exit(bad);
}

static void check_fork_single_thread(void) {
    void *block = pl_keep(malloc(1000));
    memgate_counters at_fork = pl_counters();
    pid_t pid = fork();
    if (pid == 0) {
        child_checks(&at_fork, block);
    }
    PL_CHECK(pid > 0);
    int status = wait_child(pid);
    memgate_counters after = pl_counters();
    PL_CHECK(status >= 0 && WIFEXITED(status));
    PL_EQ(status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    /* The child's frees do not reach the parent. */
    pl_delta d = pl_diff(&at_fork, &after);
    PL_DELTA(d, 0, 0);
    free(block);
    memgate_counters end = pl_counters();
    d = pl_diff(&at_fork, &end);
    PL_DELTA(d, -1000, -1);
}

/* ---- fork while other threads allocate ----------------------------------------------- */
#define SPINNERS 4
static atomic_int stop_spinning;
static pthread_barrier_t barrier;

static void *spinner_main(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    void *ring[32] = {0};
    pthread_barrier_wait(&barrier); /* ready: main reads the figures */
    pthread_barrier_wait(&barrier); /* go */
    for (unsigned i = 0; !atomic_load(&stop_spinning); i++) {
        unsigned k = i % 32u;
        free(ring[k]);
        ring[k] = i % 3 ? malloc(16u + (i + id) % 200u) : calloc(1, 64);
        if (i % 11 == 0) ring[k] = realloc(ring[k], 300);
    }
    for (unsigned k = 0; k < 32; k++) free(ring[k]);
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void check_fork_threads(void) {
    pthread_t th[SPINNERS];
    pthread_barrier_init(&barrier, NULL, SPINNERS + 1);
    for (unsigned i = 0; i < SPINNERS; i++)
        pthread_create(&th[i], NULL, spinner_main, (void *)(uintptr_t)i);
    pthread_barrier_wait(&barrier); /* ready */
    memgate_counters a = pl_counters();
    pthread_barrier_wait(&barrier); /* go */
    int children_ok = 0, children = 0;
    for (int k = 0; k < 30; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* Only this thread exists here: many allocations, exact net 0. */
            memgate_counters c0 = pl_counters();
            void *blocks[100];
            for (int i = 0; i < 100; i++) blocks[i] = pl_keep(malloc(64u + (unsigned)i));
            memgate_counters c1 = pl_counters();
            for (int i = 0; i < 100; i++) free(blocks[i]);
            memgate_counters c2 = pl_counters();
            int bad = c1.live_bytes - c0.live_bytes != 100 * 64 + 4950 ||
                      c1.live_blocks - c0.live_blocks != 100 || c2.live_bytes != c0.live_bytes ||
                      c2.live_blocks != c0.live_blocks;
            _exit(bad);
        }
        if (pid < 0) continue;
        children++;
        int status = wait_child(pid);
        if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) children_ok++;
        else if (status == -1) fprintf(stderr, "fork child %d: hung, killed\n", k);
        else fprintf(stderr, "fork child %d: wait status %#x\n", k, (unsigned)status);
    }
    atomic_store(&stop_spinning, 1);
    pthread_barrier_wait(&barrier);
    memgate_counters b = pl_counters();
    pthread_barrier_wait(&barrier);
    for (unsigned i = 0; i < SPINNERS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    PL_EQ(children, 30);
    PL_EQ(children_ok, children);
    /* The spinners freed all they allocated: the parent's figures are exact too. */
    pl_delta d = pl_diff(&a, &b);
    PL_DELTA(d, 0, 0);
    PL_EQ(d.allocs - d.frees, 0);
}

int main(void) {
    PL_EQ(memgate_is_tracking(), 1);
    check_fork_single_thread();
    check_fork_threads();
    return pl_finish("pl_fork");
}
