/*
 * Shared pieces of memgate's libFuzzer targets (tests/fuzz/fuzz_*.c). The loaders take a
 * path, so each input is written to a file in a private temporary directory, made once
 * per process and removed at exit. A broken property aborts with a message: libFuzzer
 * then saves the input as a crash artifact.
 */
#ifndef MEMGATE_TESTS_FUZZ_COMMON_H
#define MEMGATE_TESTS_FUZZ_COMMON_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_common.h"

/* libFuzzer's entry point, declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char mgf_dir[256];

static inline int mgf_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static inline void mgf_cleanup(void) {
    if (mgf_dir[0]) nftw(mgf_dir, mgf_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The private temporary directory, $TMPDIR/mg-fuzz-XXXXXX (made on first use). */
static inline const char *mgf_tmpdir(void) {
    if (!mgf_dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(mgf_dir, sizeof mgf_dir, "%s/mg-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(mgf_dir)) {
            perror("mg-fuzz: mkdtemp");
            abort();
        }
        atexit(mgf_cleanup);
    }
    return mgf_dir;
}

/* A path in the temporary directory (a static buffer per slot 0..3). */
static inline const char *mgf_path(unsigned slot, const char *name) {
    static char paths[4][320];
    snprintf(paths[slot & 3], sizeof paths[0], "%s/%s", mgf_tmpdir(), name);
    return paths[slot & 3];
}

/* Writes the fuzzer's input to the file "input" and returns its path. */
static inline const char *mgf_input(const uint8_t *data, size_t size) {
    const char *path = mgf_path(0, "input");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror("mg-fuzz: open input");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            perror("mg-fuzz: write input");
            abort();
        }
        done += (size_t)n;
    }
    close(fd);
    return path;
}

/* The whole file as a heap buffer (NUL-terminated; *len without it), or NULL. */
static inline char *mgf_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (cap - n < 2) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

/* True when s holds no control character, no DEL and only valid UTF-8: safe to print on
 * a terminal. */
static inline int mgf_terminal_safe(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p < 0x20 || *p == 0x7f) return 0;
        size_t n = mg_utf8_seq(p, NULL);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

/* Stops the run with a message: libFuzzer keeps the input that broke the property. */
#define MGF_CHECK(cond, ...)                                                            \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "mg-fuzz: property broken: %s\n  ", #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            abort();                                                                    \
        }                                                                               \
    } while (0)

#endif
