/* Output files: safe writes and the checks before a run (contract in outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Random characters in a temporary name: 62^12 is about 2^71 names to guess. */
#define TMP_RANDOM_CHARS 12
/* Names tried before giving up when every one already exists. */
#define TMP_ATTEMPTS 100
/* The longest file name most file systems take (NAME_MAX). */
#define NAME_LIMIT 255

/* How a path is written (see outfile.h). */
typedef enum target_kind {
    T_REPLACE,  /* temporary file, then rename onto target */
    T_IN_PLACE, /* opened as it is: FIFO, device, socket */
} target_kind;

typedef struct target {
    target_kind kind;
    char *path; /* T_REPLACE: the file to replace or create (a link resolved); heap */
    int mode;   /* permission bits of the file replaced, -1 when it is new */
    mode_t type; /* S_IFMT bits of what is there, 0 when nothing is */
} target;

/* path without trailing slashes (but "/" stays "/"): heap string. */
static char *strip_slashes(const char *path) {
    char *p = mg_xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    return p;
}

/* The directory part of path, like dirname(3) but without touching path: "." when
 * there is no slash, "/" for "/x". Heap string. */
static char *dir_of(const char *path) {
    char *p = strip_slashes(path);
    char *slash = strrchr(p, '/');
    if (!slash) {
        free(p);
        return mg_xstrdup(".");
    }
    while (slash > p && slash[-1] == '/') slash--;
    if (slash == p) slash++; /* "/x" and "//x" live in "/" */
    *slash = '\0';
    return p;
}

/* The last component of path (trailing slashes ignored). Heap string. */
static char *base_of(const char *path) {
    char *p = strip_slashes(path);
    char *slash = strrchr(p, '/');
    char *b = mg_xstrdup(slash && slash[1] ? slash + 1 : p);
    free(p);
    return b;
}

/* Fills out[0..n) with letters and digits from the kernel's random source; falls back
 * to a mix of time, pid, address and a counter when getrandom(2) is unavailable. */
static void random_chars(char *out, size_t n) {
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[TMP_RANDOM_CHARS];
    if (n > sizeof raw) n = sizeof raw;
    if (getrandom(raw, n, GRND_NONBLOCK) != (ssize_t)n) {
        static uint64_t counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     ((uint64_t)getpid() << 17) ^ (uint64_t)(uintptr_t)&ts ^ ++counter;
        for (size_t i = 0; i < n; i++) {
            /* splitmix64 */
            x += 0x9E3779B97F4A7C15ull;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            raw[i] = (unsigned char)(z ^ (z >> 31));
        }
    }
    for (size_t i = 0; i < n; i++) out[i] = set[raw[i] % (sizeof set - 1)];
}

/* 0 when the directory dir can take a new file, else -1 with why saying what is wrong. */
static int dir_problem(const char *dir, char *why, size_t whylen) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        int e = errno;
        if (e == ENOENT)
            mg_set_err(why, whylen, "directory %s does not exist", dir);
        else if (e == ENOTDIR)
            mg_set_err(why, whylen, "%s is not a directory", dir);
        else
            mg_set_err(why, whylen, "directory %s cannot be reached: %s", dir, strerror(e));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        mg_set_err(why, whylen, "%s is not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        if (errno == EROFS)
            mg_set_err(why, whylen, "directory %s is not writable (read-only file system)", dir);
        else
            mg_set_err(why, whylen, "directory %s is not writable", dir);
        return -1;
    }
    return 0;
}

/* Decides how path is written (see outfile.h) and fills t; -1 with why (no path in
 * it) when path cannot be written at all. */
static int resolve(const char *path, target *t, char *why, size_t whylen) {
    memset(t, 0, sizeof *t);
    t->mode = -1;
    if (!path || !*path) {
        mg_set_err(why, whylen, "the path is empty");
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) {
            int e = errno;
            if (e == ENOTDIR) {
                char *dir = dir_of(path);
                mg_set_err(why, whylen, "%s is not a directory", dir);
                free(dir);
            } else {
                mg_set_err(why, whylen, "%s", strerror(e));
            }
            return -1;
        }
        /* A trailing slash promises a directory that is not there. */
        if (path[strlen(path) - 1] == '/') {
            mg_set_err(why, whylen, "names a directory (it ends with '/')");
            return -1;
        }
        t->kind = T_REPLACE;
        t->path = mg_xstrdup(path);
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        if (stat(path, &st) != 0) {
            int e = errno;
            if (e == ENOENT) {
                char link[PATH_MAX];
                ssize_t n = readlink(path, link, sizeof link - 1);
                link[n > 0 ? n : 0] = '\0';
                mg_set_err(why, whylen,
                           "is a symbolic link to '%s', which does not exist (memgate writes "
                           "through links only to existing files)",
                           link);
            } else if (e == ELOOP) {
                mg_set_err(why, whylen, "is a symbolic link that loops");
            } else {
                mg_set_err(why, whylen, "is a symbolic link that cannot be followed: %s",
                           strerror(e));
            }
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            mg_set_err(why, whylen, "is a symbolic link to a directory");
            return -1;
        }
        t->type = st.st_mode & S_IFMT;
        if (S_ISREG(st.st_mode)) {
            char real[PATH_MAX];
            if (!realpath(path, real)) {
                mg_set_err(why, whylen, "is a symbolic link that cannot be resolved: %s",
                           strerror(errno));
                return -1;
            }
            t->kind = T_REPLACE;
            t->path = mg_xstrdup(real);
            t->mode = (int)(st.st_mode & 07777);
            return 0;
        }
        t->kind = T_IN_PLACE;
        return 0;
    }
    t->type = st.st_mode & S_IFMT;
    if (S_ISDIR(st.st_mode)) {
        mg_set_err(why, whylen, "is a directory");
        return -1;
    }
    if (S_ISREG(st.st_mode)) {
        t->kind = T_REPLACE;
        t->path = mg_xstrdup(path);
        t->mode = (int)(st.st_mode & 07777);
        return 0;
    }
    t->kind = T_IN_PLACE;
    return 0;
}

/* Writes all of data to fd, retrying short writes and EINTR. 0, or an errno value. */
static int write_all(int fd, const char *data, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        done += (size_t)n;
    }
    return 0;
}

/* Creates a new temporary file next to target, named "BASE.tmp.RANDOM" (BASE cut so the
 * name stays within NAME_LIMIT). O_EXCL|O_NOFOLLOW: whatever is already at a name, a
 * file or a symlink, makes the open fail, and another name is tried. Returns the fd and
 * stores the heap name in *tmp, or -1 with errno set. */
static int create_temp(const char *target_path, char **tmp) {
    char *dir = dir_of(target_path), *base = base_of(target_path);
    size_t room = NAME_LIMIT - (sizeof ".tmp." - 1) - TMP_RANDOM_CHARS;
    if (strlen(base) > room) base[room] = '\0';
    int fd = -1, e = EEXIST;
    for (int i = 0; i < TMP_ATTEMPTS && fd < 0 && e == EEXIST; i++) {
        char rnd[TMP_RANDOM_CHARS + 1];
        random_chars(rnd, TMP_RANDOM_CHARS);
        rnd[TMP_RANDOM_CHARS] = '\0';
        *tmp = mg_xasprintf("%s/%s.tmp.%s", dir, base, rnd);
        fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0) {
            e = errno;
            free(*tmp);
            *tmp = NULL;
        }
    }
    free(dir);
    free(base);
    if (fd < 0) errno = e;
    return fd;
}

/* Replaces (or creates) t->path through a temporary file and rename(2). */
static int write_replace(const target *t, const char *data, size_t len, char *why,
                         size_t whylen) {
    if (t->mode >= 0 && access(t->path, W_OK) != 0) {
        mg_set_err(why, whylen, "is not writable");
        return -1;
    }
    char *tmp = NULL;
    int fd = create_temp(t->path, &tmp);
    if (fd < 0) {
        int e = errno;
        char *dir = dir_of(t->path);
        /* Name the directory's problem when there is one; else the plain reason. */
        if (dir_problem(dir, why, whylen) == 0) mg_set_err(why, whylen, "%s", strerror(e));
        free(dir);
        return -1;
    }
    /* The umask made the new file's mode; a replaced file keeps its own. */
    if (t->mode >= 0) (void)fchmod(fd, (mode_t)t->mode);
    int e = write_all(fd, data, len);
    /* close() can report a deferred write error (NFS, full disk): check it before the
     * rename publishes the file. */
    if (close(fd) != 0 && e == 0) e = errno;
    if (e == 0 && rename(tmp, t->path) != 0) e = errno;
    if (e != 0) {
        unlink(tmp);
        mg_set_err(why, whylen, "%s", strerror(e));
    }
    free(tmp);
    return e ? -1 : 0;
}

/* Writes into what is at path (FIFO, device) without creating or replacing anything.
 * SIGPIPE is held back meanwhile, so a reader that goes away makes an error message
 * ("Broken pipe") instead of killing memgate. */
static int write_in_place(const char *path, const target *t, const char *data, size_t len,
                          char *why, size_t whylen) {
    /* O_NONBLOCK: opening a FIFO that no process reads fails with ENXIO instead of
     * waiting forever; it is cleared before writing. */
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENXIO && t->type == S_IFIFO)
            mg_set_err(why, whylen, "is a FIFO that no process is reading");
        else
            mg_set_err(why, whylen, "%s", strerror(e));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        /* Replaced by a regular file between the check and the open. */
        close(fd);
        mg_set_err(why, whylen, "changed while it was being written");
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);

    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    bool was_pending = false;
    if (sigprocmask(SIG_BLOCK, &pipe_set, &old) == 0 && sigpending(&pending) == 0)
        was_pending = sigismember(&pending, SIGPIPE);
    int e = write_all(fd, data, len);
    if (close(fd) != 0 && e == 0) e = errno;
    if (e == EPIPE && !was_pending) {
        /* Take the SIGPIPE this write raised, so unblocking does not deliver it. */
        const struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        mg_set_err(why, whylen, "%s", strerror(e));
        return -1;
    }
    return 0;
}

int mg_outfile_write(const char *path, const char *what, const char *data, size_t len,
                     char *err, size_t errlen) {
    char why[PATH_MAX + 256];
    target t;
    int rc = resolve(path, &t, why, sizeof why);
    if (rc == 0)
        rc = t.kind == T_REPLACE ? write_replace(&t, data, len, why, sizeof why)
                                 : write_in_place(path, &t, data, len, why, sizeof why);
    if (rc != 0) mg_set_err(err, errlen, "cannot write %s '%s': %s", what, path ? path : "", why);
    free(t.path);
    return rc;
}

int mg_outfile_check(const char *path, char *err, size_t errlen) {
    target t;
    if (resolve(path, &t, err, errlen) != 0) return -1;
    int rc = 0;
    if (t.kind == T_IN_PLACE) {
        if (access(path, W_OK) != 0) {
            mg_set_err(err, errlen, "is not writable");
            rc = -1;
        }
    } else if (t.mode >= 0 && access(t.path, W_OK) != 0) {
        mg_set_err(err, errlen, "is not writable");
        rc = -1;
    } else {
        char *dir = dir_of(t.path);
        rc = dir_problem(dir, err, errlen);
        free(dir);
    }
    free(t.path);
    return rc;
}

/* What a path names, for mg_outfile_same: an existing regular file (dev, ino), or a
 * name that does not exist yet in an existing directory (the directory's dev and ino
 * plus the name). */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    char *name; /* NULL for an existing file */
} file_id;

/* Fills id; false when path names something that is neither (a device, a FIFO, a
 * dangling link, a missing directory), which mg_outfile_check reports on its own. */
static bool get_file_id(const char *path, file_id *id) {
    struct stat st;
    id->name = NULL;
    if (!path || !*path) return false;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) return false;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        return true;
    }
    if (errno != ENOENT || lstat(path, &st) == 0) return false;
    char *dir = dir_of(path);
    bool ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    if (!ok) return false;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->name = base_of(path);
    return true;
}

bool mg_outfile_same(const char *a, const char *b) {
    file_id x, y;
    bool same = false;
    if (get_file_id(a, &x)) {
        if (get_file_id(b, &y)) {
            same = x.dev == y.dev && x.ino == y.ino && !x.name == !y.name &&
                   (!x.name || strcmp(x.name, y.name) == 0);
            free(y.name);
        }
        free(x.name);
    }
    return same;
}

int mg_outfile_check_all(const mg_path_use *uses, size_t n, char *err, size_t errlen) {
    char why[PATH_MAX + 256];
    for (size_t i = 0; i < n; i++) {
        if (!uses[i].output || !uses[i].path) continue;
        if (mg_outfile_check(uses[i].path, why, sizeof why) != 0) {
            mg_set_err(err, errlen, "%s %s: %s", uses[i].option, uses[i].path, why);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const mg_path_use *a = &uses[i], *b = &uses[j];
            if (!a->path || !b->path || (!a->output && !b->output)) continue;
            if (!mg_outfile_same(a->path, b->path)) continue;
            if (a->output && b->output) {
                mg_set_err(err, errlen, "%s %s and %s %s name the same file", a->option, a->path,
                           b->option, b->path);
            } else {
                const mg_path_use *out = a->output ? a : b, *in = a->output ? b : a;
                mg_set_err(err, errlen, "%s %s would overwrite %s %s", out->option, out->path,
                           in->option, in->path);
            }
            return -1;
        }
    }
    return 0;
}
