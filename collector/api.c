/*
 * Public API: status strings, version, start/stop, counters, collect hooks and the
 * budget annotation.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT const char *memgate_strerror(int status) {
    switch (status) {
#define MG_STATUS_TEXT_(name, value, text)                                             \
    case value: return text;
        MEMGATE_STATUS_MAP(MG_STATUS_TEXT_)
#undef MG_STATUS_TEXT_
    default: return "unknown memgate status";
    }
}

EXPORT const char *memgate_version(void) { return MEMGATE_VERSION_STRING; }

/* ---- annotation ------------------------------------------------------------------- */
mg_annotation mg__annotation;

EXPORT void memgate_budget_annotate_sized(const memgate_budget *budget, size_t size,
                                          const char *file, unsigned line) {
    if (!budget) return;
    /* Fields the caller's struct does not have stay unset. */
    memgate_budget b;
    long long *fields = &b.leak_bytes;
    for (size_t i = 0; i < sizeof b / sizeof *fields; i++) fields[i] = MEMGATE_UNSET;
    memcpy(&b, budget, size < sizeof b ? size : sizeof b);
    mg__annotation.budget = b;
    mg__annotation.file = file;
    mg__annotation.line = line;
    mg__annotation.set = true;
}

EXPORT void memgate_budget_annotate(const memgate_budget *budget, const char *file,
                                    unsigned line) {
    memgate_budget_annotate_sized(budget, 3 * sizeof(long long), file, line);
}

/* ---- start / stop / counters ------------------------------------------------------- */
EXPORT int memgate_start(const memgate_options *opts) {
    unsigned frames = MG_DEFAULT_FRAMES;
    if (opts && opts->max_frames) {
        if (opts->max_frames > MG_MAX_FRAMES) return MEMGATE_EINVAL;
        frames = opts->max_frames;
    }
    mg__bootstrap();
    mg__g.max_frames = frames;
    mg__g.capture = opts && opts->capture_stacks;
    mg__g.peak_tracking = mg__g.capture;
    atomic_store(&mg__g.recording, 1);
    return MEMGATE_OK;
}

EXPORT int memgate_stop(void) {
    if (atomic_load(&mg__g.recording) != 1) return MEMGATE_ENOTRUNNING;
    atomic_store(&mg__g.recording, 2);
    return MEMGATE_OK;
}

EXPORT int memgate_is_tracking(void) { return atomic_load(&mg__g.recording) == 1; }

EXPORT void memgate_get_counters(memgate_counters *out) {
    if (!out) return;
    out->live_bytes = atomic_load(&mg__g.live_bytes);
    out->live_blocks = atomic_load(&mg__g.live_blocks);
    out->peak_bytes = atomic_load(&mg__g.peak_bytes);
    out->total_allocs = atomic_load(&mg__g.total_allocs);
    out->total_frees = atomic_load(&mg__g.total_frees);
    out->total_bytes = atomic_load(&mg__g.total_bytes);
}

EXPORT void memgate_reset_peak(void) {
    atomic_store(&mg__g.peak_bytes, atomic_load(&mg__g.live_bytes));
    mg__peak_reset();
    mg__peak_flush(false);
}

/* ---- collect hooks ------------------------------------------------------------------ */
#define MAX_HOOKS 64
static struct {
    memgate_collect_fn fn;
    void *ctx;
} hooks[MAX_HOOKS];
static size_t nhooks;
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

EXPORT int memgate_on_collect(memgate_collect_fn fn, void *ctx) {
    if (!fn) return MEMGATE_EINVAL;
    pthread_mutex_lock(&hooks_lock);
    int rc = MEMGATE_EFULL;
    if (nhooks < MAX_HOOKS) {
        hooks[nhooks].fn = fn;
        hooks[nhooks].ctx = ctx;
        nhooks++;
        rc = MEMGATE_OK;
    }
    pthread_mutex_unlock(&hooks_lock);
    return rc;
}

EXPORT int memgate_remove_collect(memgate_collect_fn fn, void *ctx) {
    pthread_mutex_lock(&hooks_lock);
    int rc = MEMGATE_ENOTFOUND;
    for (size_t i = 0; i < nhooks; i++) {
        if (hooks[i].fn == fn && hooks[i].ctx == ctx) {
            for (size_t j = i + 1; j < nhooks; j++) hooks[j - 1] = hooks[j];
            nhooks--;
            rc = MEMGATE_OK;
            break;
        }
    }
    pthread_mutex_unlock(&hooks_lock);
    return rc;
}

/* Runs the hooks in registration order. The lock is not held while a hook runs, so a
 * hook may register or remove hooks; a copy of the list is taken first. */
void mg__run_collect_hooks(void) {
    struct {
        memgate_collect_fn fn;
        void *ctx;
    } copy[MAX_HOOKS];
    pthread_mutex_lock(&hooks_lock);
    size_t n = nhooks;
    for (size_t i = 0; i < n; i++) {
        copy[i].fn = hooks[i].fn;
        copy[i].ctx = hooks[i].ctx;
    }
    pthread_mutex_unlock(&hooks_lock);
    for (size_t i = 0; i < n; i++) copy[i].fn(copy[i].ctx);
}

EXPORT void memgate_collect(void) { mg__run_collect_hooks(); }

/* MEMGATE_STATS_FILE=PATH: at exit, the collector's own memory use, for the benchmark
 * (ci/bench.sh): key=value lines. */
__attribute__((destructor)) static void write_stats(void) {
    const char *path = getenv("MEMGATE_STATS_FILE");
    if (!path || !*path || !atomic_load(&mg__g.recording)) return;
    uint64_t entries, table_bytes, peak_entries;
    mg__table_stats(&entries, &table_bytes);
    peak_entries = mg__table_peak_entries();
    uint64_t nodes = mg__stack_count(), stack_bytes = mg__stack_memory();
    char buf[1024];
    size_t n = mg__fmt(buf, sizeof buf,
                       "live_blocks=%lld\npeak_bytes=%lld\ntotal_allocs=%llu\n"
                       "table_bytes=%llu\ntable_peak_entries=%llu\ntable_bytes_per_peak_entry=%llu\n"
                       "stack_nodes=%llu\nstack_bytes=%llu\n",
                       (long long)atomic_load(&mg__g.live_blocks),
                       (long long)atomic_load(&mg__g.peak_bytes),
                       (unsigned long long)atomic_load(&mg__g.total_allocs),
                       (unsigned long long)table_bytes, (unsigned long long)peak_entries,
                       (unsigned long long)(peak_entries ? table_bytes / peak_entries : 0),
                       (unsigned long long)nodes, (unsigned long long)stack_bytes);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    mg__write_all(fd, buf, n < sizeof buf ? n : sizeof buf - 1);
    close(fd);
}
