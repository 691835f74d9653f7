/*
 * Helpers shared by the runner's unit tests (tests/unit/test_*.c) and the HTML report
 * fixture (tests/html/fixture_run.h): a private temporary directory with whole-file
 * reads and writes, and builders for the pieces of a fixed mg_run.
 *
 * Header-only and free of CUnit, so tests/html/make_report.c can use the builders too;
 * the tests put their own assertions around the results.
 */
#ifndef MEMGATE_TESTS_MGTEST_UTIL_H
#define MEMGATE_TESTS_MGTEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "model.h"
#include "util.h"

/* ---- temporary files ------------------------------------------------------------ */

static inline char *mgt_tmpdir_buf(void) {
    static char dir[512];
    return dir;
}

static inline int mgt_rm_entry(const char *path, const struct stat *sb, int flag,
                               struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Kept when MG_KEEP_TMP is set, to look at what a test wrote. */
static inline void mgt_remove_tmpdir(void) {
    const char *dir = mgt_tmpdir_buf();
    if (dir[0] && !getenv("MG_KEEP_TMP")) nftw(dir, mgt_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* This program's private temporary directory, $TMPDIR/mg-PROGRAM-XXXXXX (/tmp without
 * TMPDIR), made on first use and removed at exit. Exits with 2 when it cannot be made. */
static inline const char *mgt_tmpdir(void) {
    char *dir = mgt_tmpdir_buf();
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, 512, "%s/mg-%s-XXXXXX", base && *base ? base : "/tmp",
                 program_invocation_short_name);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(mgt_remove_tmpdir);
    }
    return dir;
}

/* A path inside mgt_tmpdir(); free it. */
static inline char *mgt_tmp_path(const char *name) {
    return mg_xasprintf("%s/%s", mgt_tmpdir(), name);
}

/* The whole file as a NUL-terminated heap string, or NULL when it cannot be opened. */
static inline char *mgt_slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (cap - n < 4096) buf = mg_xrealloc(buf, cap = cap * 2 + 8192);
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Writes text to path, replacing the file. 0, or -1 when it cannot be opened, written
 * or closed. */
static inline int mgt_spit(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t len = strlen(text);
    int rc = fwrite(text, 1, len, f) == len ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* How often needle occurs in hay, not overlapping. */
static inline size_t mgt_count_of(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Names in dir that start with base followed by ".tmp.": temporaries an atomic write
 * of dir/base left behind. */
static inline size_t mgt_tmp_leftovers(const char *dir, const char *base) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0, len = strlen(base);
    for (struct dirent *e; (e = readdir(d));)
        if (!strncmp(e->d_name, base, len) && !strncmp(e->d_name + len, ".tmp.", 5)) n++;
    closedir(d);
    return n;
}

/* Runs xmllint against schema; true when the document validates. Otherwise prints
 * xmllint's output (and a hint when it is not installed) to stderr. */
static inline bool mgt_xmllint_validates(const char *schema, const char *xml) {
    char *log = mgt_tmp_path("xmllint.log");
    char *cmd = mg_xasprintf("xmllint --noout --schema '%s' '%s' >'%s' 2>&1", schema, xml, log);
    int rc = system(cmd);
    int code = rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
    if (code != 0) {
        char *msg = mgt_slurp(log);
        if (code == 127)
            fprintf(stderr, "\nxmllint not found: install libxml2-utils (Debian) to run this test\n");
        fprintf(stderr, "\nxmllint exit %d:\n%s\n", code, msg ? msg : "");
        free(msg);
    }
    free(cmd);
    free(log);
    return code == 0;
}

/* ---- fixed runs ----------------------------------------------------------------- */

static inline void mgt_frame(mg_frame *f, const char *fn, const char *file, unsigned line,
                             const char *module, uint64_t addr) {
    f->function = mg_xstrdup(fn);
    f->file = mg_xstrdup(file);
    f->line = line;
    f->module = mg_xstrdup(module);
    f->address = addr;
}

/* Fills a traceback entry and gives it nframes zeroed frames to set with mgt_frame. */
static inline void mgt_entry(mg_entry *e, int64_t size, int64_t size_diff, int64_t count,
                             int64_t count_diff, size_t nframes) {
    e->size = size;
    e->size_diff = size_diff;
    e->count = count;
    e->count_diff = count_diff;
    e->nframes = nframes;
    e->frames = mg_xcalloc(nframes ? nframes : 1, sizeof *e->frames);
}

/* Sets a limit, replacing (and freeing) its origin. */
static inline void mgt_limit(mg_limit *l, int64_t value, mg_limit_source src,
                             const char *origin) {
    free(l->origin);
    l->value = value;
    l->source = src;
    l->origin = mg_xstrdup(origin);
}

static inline void mgt_base(mg_test_result *t, mg_baseline_state st, int64_t leak,
                            int64_t growth, int64_t peak, uint64_t allocs, unsigned regressions) {
    t->baseline.state = st;
    t->baseline.leaked_bytes = leak;
    t->baseline.object_growth = growth;
    t->baseline.peak_bytes = peak;
    t->baseline.allocations = allocs;
    t->baseline.regressions = regressions;
}

/* Appends a test to run with the built-in budget (leak 0, growth 0, peak unlimited, the
 * other limits unlimited) and every other field zero; leak, growth, peak and allocations
 * count as measured (lost and net figures do not, as in a run that did not trace the
 * test). Returns it for the caller to fill in. */
static inline mg_test_result *mgt_test(mg_run *run, const char *binary, const char *suite,
                                       const char *name, mg_status st, double duration) {
    run->tests = mg_xrealloc(run->tests, (run->ntests + 1) * sizeof *run->tests);
    mg_test_result *t = &run->tests[run->ntests++];
    memset(t, 0, sizeof *t);
    t->binary = mg_xstrdup(binary);
    t->suite = mg_xstrdup(suite);
    t->name = mg_xstrdup(name);
    t->status = st;
    t->duration_s = duration;
    mg_budget_init_builtin(&t->budget);
    t->known = MG_M_BIT(MG_M_LEAK) | MG_M_BIT(MG_M_GROWTH) | MG_M_BIT(MG_M_PEAK) |
               MG_M_BIT(MG_M_ALLOCS);
    return t;
}

#endif
