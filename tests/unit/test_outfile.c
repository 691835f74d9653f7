/* Unit tests of runner/outfile.c: the one writer of reports and baselines (temporary
 * files that nothing planted can redirect, symlinks, FIFOs, devices, unwritable
 * directories) and the checks a run makes on its output paths before any test runs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mgtest.h"
#include "mgtest_util.h"
#include "outfile.h"
#include "report_common.h"

/* ---- a predictable getrandom --------------------------------------------------------
 * outfile.c names its temporary files from getrandom(2). This definition takes the
 * place of libc's in the test program, so a test can know the first name the writer
 * will try, plant a symlink there, and check that the write does not follow it. */
static enum { RANDOM_REAL, RANDOM_FIXED, RANDOM_FAIL } random_mode;
static unsigned random_calls;

ssize_t getrandom(void *buf, size_t len, unsigned flags) {
    if (random_mode == RANDOM_REAL) return syscall(SYS_getrandom, buf, len, flags);
    random_calls++;
    if (random_mode == RANDOM_FAIL) {
        errno = ENOSYS;
        return -1;
    }
    /* Call 1 gives all zero bytes ("AAAA..."), call 2 all ones ("BBBB..."), and so on. */
    memset(buf, (int)(random_calls - 1), len);
    return (ssize_t)len;
}

/* ---- helpers --------------------------------------------------------------------- */

static const char payload[] = "{\"tool\": \"memgate\"}\n";

static int write_payload(const char *path, char *err, size_t errlen) {
    err[0] = '\0';
    return mg_outfile_write(path, "JSON report", payload, strlen(payload), err, errlen);
}

/* Fails the test with the message when s does not contain needle. */
#define HAS(s, needle)                                                                  \
    do {                                                                                \
        if (!strstr((s), (needle))) fprintf(stderr, "\n  %s\n  lacks: %s\n", (s), (needle)); \
        CU_ASSERT_PTR_NOT_NULL(strstr((s), (needle)));                                  \
    } while (0)

static bool file_is(const char *path, const char *want) {
    char *got = mgt_slurp(path);
    bool same = got && strcmp(got, want) == 0;
    free(got);
    return same;
}

static mode_t type_of(const char *path, bool follow) {
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return 0;
    return st.st_mode & S_IFMT;
}

/* A new empty directory inside the temporary directory; free the result. */
static char *new_dir(const char *name) {
    char *d = mgt_tmp_path(name);
    CU_ASSERT_EQUAL_FATAL(mkdir(d, 0755), 0);
    return d;
}

/* Runs fn(arg) in a child process that has no privileges: as root (where access(2) and
 * open(2) ignore permission bits) the child becomes "nobody" first. Returns fn's
 * result, or -99 when the child could not run it. */
static int unprivileged(int (*fn)(const char *), const char *arg) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(99);
        _exit(fn(arg) & 0x7f);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -99;
    return WEXITSTATUS(st) == 99 ? -99 : WEXITSTATUS(st);
}

/* ---- regular files ----------------------------------------------------------------- */

static void test_new_file(void) {
    char *dir = new_dir("new");
    char *path = mg_xasprintf("%s/r.json", dir);
    char err[1024];
    mode_t old_mask = umask(027);
    CU_ASSERT_EQUAL(write_payload(path, err, sizeof err), 0);
    umask(old_mask);
    CU_ASSERT_TRUE(file_is(path, payload));
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0640); /* 0666 less the umask */
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(dir, "r.json"), 0);
    CU_ASSERT_EQUAL(mg_outfile_check(path, err, sizeof err), 0);
    free(path);
    free(dir);
}

static void test_replace_keeps_mode(void) {
    char *path = mgt_tmp_path("replace.json");
    CU_ASSERT_EQUAL_FATAL(mgt_spit(path, "old contents, longer than the new ones ......."), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
    struct stat before, after;
    CU_ASSERT_EQUAL_FATAL(stat(path, &before), 0);
    char err[1024];
    CU_ASSERT_EQUAL(write_payload(path, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(stat(path, &after), 0);
    CU_ASSERT_NOT_EQUAL(before.st_ino, after.st_ino); /* renamed into place, not rewritten */
    CU_ASSERT_EQUAL(after.st_mode & 07777, 0600);
    CU_ASSERT_TRUE(file_is(path, payload));
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "replace.json"), 0);
    free(path);
}

/* The old writer used PATH.tmp.PID; the new one must never open a planted name. */
static void test_symlink_at_temp_name(void) {
    char *dir = new_dir("planted");
    char *path = mg_xasprintf("%s/report.json", dir);
    char *victim = mg_xasprintf("%s/victim", dir);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(victim, "precious"), 0);
    /* The first name the writer will try (getrandom gives zeros: "AAAAAAAAAAAA"), the old
     * predictable name, and a dangling link at a second guess. */
    char *first = mg_xasprintf("%s.tmp.AAAAAAAAAAAA", path);
    char *old = mg_xasprintf("%s.tmp.%ld", path, (long)getpid());
    char *dangling_target = mg_xasprintf("%s/created-through-link", dir);
    char *second = mg_xasprintf("%s.tmp.BBBBBBBBBBBB", path);
    CU_ASSERT_EQUAL_FATAL(symlink(victim, first), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(victim, old), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(dangling_target, second), 0);

    char err[1024];
    random_mode = RANDOM_FIXED;
    random_calls = 0;
    int rc = write_payload(path, err, sizeof err);
    random_mode = RANDOM_REAL;
    if (rc != 0) fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(random_calls, 3); /* two planted names skipped, the third is new */
    CU_ASSERT_TRUE(file_is(path, payload));
    CU_ASSERT_TRUE(file_is(victim, "precious"));
    CU_ASSERT_EQUAL(access(dangling_target, F_OK), -1);
    /* The planted links are left alone; the writer's own temporary is gone. */
    CU_ASSERT_EQUAL(type_of(first, false), S_IFLNK);
    CU_ASSERT_EQUAL(type_of(second, false), S_IFLNK);
    char *third = mg_xasprintf("%s.tmp.CCCCCCCCCCCC", path);
    CU_ASSERT_EQUAL(access(third, F_OK), -1);
    free(third);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(dir, "report.json"), 3); /* the three planted */

    free(first);
    free(old);
    free(second);
    free(dangling_target);
    free(victim);
    free(path);
    free(dir);
}

/* Without getrandom the names still differ from call to call, and writes work. */
static void test_random_fallback(void) {
    char *dir = new_dir("fallback");
    char *path = mg_xasprintf("%s/r.json", dir);
    char err[1024];
    random_mode = RANDOM_FAIL;
    random_calls = 0;
    CU_ASSERT_EQUAL(write_payload(path, err, sizeof err), 0);
    CU_ASSERT_EQUAL(write_payload(path, err, sizeof err), 0);
    random_mode = RANDOM_REAL;
    CU_ASSERT(random_calls >= 2);
    CU_ASSERT_TRUE(file_is(path, payload));
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(dir, "r.json"), 0);
    free(path);
    free(dir);
}

/* A name near NAME_MAX: the temporary's name is cut to fit, the write works. */
static void test_long_name(void) {
    char name[251];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char *path = mgt_tmp_path(name);
    char err[1024];
    int rc = write_payload(path, err, sizeof err);
    if (rc != 0) fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(file_is(path, payload));
    free(path);
}

/* ---- symbolic links at the target ------------------------------------------------- */

static void test_symlink_to_file_written_through(void) {
    char *dir = new_dir("through");
    char *artifacts = mg_xasprintf("%s/artifacts", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(artifacts, 0755), 0);
    char *real = mg_xasprintf("%s/run-42.json", artifacts);
    char *link = mg_xasprintf("%s/latest.json", dir);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(real, "old"), 0);
    CU_ASSERT_EQUAL_FATAL(symlink("artifacts/run-42.json", link), 0);
    char err[1024];
    CU_ASSERT_EQUAL(mg_outfile_check(link, err, sizeof err), 0);
    CU_ASSERT_EQUAL(write_payload(link, err, sizeof err), 0);
    CU_ASSERT_EQUAL(type_of(link, false), S_IFLNK); /* the link stays a link */
    CU_ASSERT_TRUE(file_is(real, payload));
    /* The temporary went next to the real file, and nothing stayed behind. */
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(artifacts, "run-42.json"), 0);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(dir, "latest.json"), 0);
    free(real);
    free(link);
    free(artifacts);
    free(dir);
}

static void test_dangling_symlink_refused(void) {
    char *dir = new_dir("dangling");
    char *link = mg_xasprintf("%s/r.json", dir);
    char *nowhere = mg_xasprintf("%s/elsewhere.json", dir);
    CU_ASSERT_EQUAL_FATAL(symlink(nowhere, link), 0);
    char err[1024];
    CU_ASSERT_EQUAL(mg_outfile_check(link, err, sizeof err), -1);
    HAS(err, "is a symbolic link to '");
    HAS(err, "elsewhere.json', which does not exist");
    CU_ASSERT_EQUAL(write_payload(link, err, sizeof err), -1);
    HAS(err, "cannot write JSON report '");
    HAS(err, "which does not exist");
    CU_ASSERT_EQUAL(access(nowhere, F_OK), -1); /* nothing created where it points */
    CU_ASSERT_EQUAL(type_of(link, false), S_IFLNK);
    /* A loop is named as one. */
    char *loop = mg_xasprintf("%s/loop", dir);
    CU_ASSERT_EQUAL_FATAL(symlink("loop", loop), 0);
    CU_ASSERT_EQUAL(mg_outfile_check(loop, err, sizeof err), -1);
    HAS(err, "symbolic link that loops");
    free(loop);
    free(nowhere);
    free(link);
    free(dir);
}

/* ---- things that are not regular files -------------------------------------------- */

static void test_dev_null_written_in_place(void) {
    char err[1024];
    CU_ASSERT_EQUAL(mg_outfile_check("/dev/null", err, sizeof err), 0);
    CU_ASSERT_EQUAL(write_payload("/dev/null", err, sizeof err), 0);
    CU_ASSERT_EQUAL(type_of("/dev/null", false), S_IFCHR);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers("/dev", "null"), 0);
    /* A link to a device is written in place too. */
    char *link = mgt_tmp_path("to-null");
    CU_ASSERT_EQUAL_FATAL(symlink("/dev/null", link), 0);
    CU_ASSERT_EQUAL(write_payload(link, err, sizeof err), 0);
    CU_ASSERT_EQUAL(type_of(link, false), S_IFLNK);
    CU_ASSERT_EQUAL(type_of("/dev/null", false), S_IFCHR);
    free(link);
    /* A device that fails the write: the error comes back. */
    if (access("/dev/full", W_OK) == 0) {
        CU_ASSERT_EQUAL(write_payload("/dev/full", err, sizeof err), -1);
        HAS(err, "cannot write JSON report '/dev/full': No space left on device");
        CU_ASSERT_EQUAL(type_of("/dev/full", false), S_IFCHR);
    }
}

static void test_fifo_written_in_place(void) {
    alarm(20); /* a writer that waits for a reader forever fails the test, not hangs */
    char *fifo = mgt_tmp_path("report.fifo");
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    char err[1024];
    CU_ASSERT_EQUAL(mg_outfile_check(fifo, err, sizeof err), 0);

    /* Nobody reads: an error at once. */
    CU_ASSERT_EQUAL(write_payload(fifo, err, sizeof err), -1);
    HAS(err, "is a FIFO that no process is reading");
    CU_ASSERT_EQUAL(type_of(fifo, false), S_IFIFO);

    /* A reader: the data arrives through the FIFO, which stays a FIFO. */
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    CU_ASSERT_FATAL(rd >= 0);
    CU_ASSERT_EQUAL(write_payload(fifo, err, sizeof err), 0);
    char buf[256] = "";
    ssize_t n = read(rd, buf, sizeof buf - 1);
    CU_ASSERT_EQUAL(n, (ssize_t)strlen(payload));
    if (n > 0) buf[n] = '\0';
    CU_ASSERT_STRING_EQUAL(buf, payload);
    CU_ASSERT_EQUAL(type_of(fifo, false), S_IFIFO);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "report.fifo"), 0);
    close(rd);
    alarm(0);
    free(fifo);
}

/* A reader that goes away mid-report is an error message, not a death by SIGPIPE. */
static void test_fifo_reader_gone(void) {
    alarm(20);
    char *fifo = mgt_tmp_path("gone.fifo");
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    CU_ASSERT_FATAL(rd >= 0);
    /* The only reader is a child that reads one byte and exits: the writer's open finds
     * a reader, its first write wakes the child, and the rest of the data (more than a
     * pipe holds) meets a closed pipe. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* poll, not a blocking read: before any writer has opened the FIFO, read() would
         * return end-of-file at once. poll waits for the first data. */
        struct pollfd p = {.fd = rd, .events = POLLIN};
        char c;
        _exit(poll(&p, 1, 10000) == 1 && read(rd, &c, 1) == 1 ? 0 : 1);
    }
    close(rd);
    size_t big = 4u << 20;
    char *data = mg_xcalloc(big, 1);
    char err[1024] = "";
    int rc = mg_outfile_write(fifo, "JSON report", data, big, err, sizeof err);
    int st = -1;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "\n  reader: status 0x%x\n", (unsigned)st);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT_EQUAL(rc, -1);
    HAS(err, "cannot write JSON report");
    HAS(err, "Broken pipe");
    /* SIGPIPE was neither delivered nor left pending. */
    sigset_t pending;
    sigemptyset(&pending);
    CU_ASSERT_EQUAL(sigpending(&pending), 0);
    CU_ASSERT_FALSE(sigismember(&pending, SIGPIPE));
    free(data);
    free(fifo);
    alarm(0);
}

static void test_directory_refused(void) {
    char *dir = new_dir("adir");
    char err[1024];
    CU_ASSERT_EQUAL(mg_outfile_check(dir, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "is a directory");
    CU_ASSERT_EQUAL(write_payload(dir, err, sizeof err), -1);
    HAS(err, "is a directory");
    CU_ASSERT_EQUAL(type_of(dir, false), S_IFDIR);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "adir"), 0);
    /* A link to a directory, and a path with a trailing slash that does not exist. */
    char *link = mgt_tmp_path("adir-link");
    CU_ASSERT_EQUAL_FATAL(symlink(dir, link), 0);
    CU_ASSERT_EQUAL(mg_outfile_check(link, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "is a symbolic link to a directory");
    char *slash = mgt_tmp_path("newdir/");
    CU_ASSERT_EQUAL(mg_outfile_check(slash, err, sizeof err), -1);
    HAS(err, "ends with '/'");
    free(slash);
    free(link);
    free(dir);
}

/* ---- directories that cannot take the file ------------------------------------------ */

static void test_missing_directory(void) {
    char *path = mgt_tmp_path("no/such/r.json");
    char *want = mg_xasprintf("directory %s/no/such does not exist", mgt_tmpdir());
    char err[1024];
    CU_ASSERT_EQUAL(mg_outfile_check(path, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_EQUAL(write_payload(path, err, sizeof err), -1);
    char *full = mg_xasprintf("cannot write JSON report '%s': %s", path, want);
    CU_ASSERT_STRING_EQUAL(err, full);
    free(full);
    free(want);
    free(path);

    /* A relative path without a directory part lives in ".". */
    CU_ASSERT_EQUAL(mg_outfile_check("memgate-unit-test-never-written.json", err, sizeof err), 0);

    /* A file where a directory should be. */
    char *file = mgt_tmp_path("plainfile");
    CU_ASSERT_EQUAL_FATAL(mgt_spit(file, "x"), 0);
    char *under = mg_xasprintf("%s/r.json", file);
    CU_ASSERT_EQUAL(mg_outfile_check(under, err, sizeof err), -1);
    want = mg_xasprintf("%s is not a directory", file);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_EQUAL(write_payload(under, err, sizeof err), -1);
    HAS(err, want);
    free(want);
    free(under);
    free(file);
}

static char ro_dir[600];

static int check_in_ro_dir(const char *name) {
    char path[700], err[1024];
    snprintf(path, sizeof path, "%s/%s", ro_dir, name);
    char want[700];
    snprintf(want, sizeof want, "directory %s is not writable", ro_dir);
    if (mg_outfile_check(path, err, sizeof err) != -1 || strcmp(err, want) != 0) {
        fprintf(stderr, "\n  check: %s\n", err);
        return 1;
    }
    if (mg_outfile_write(path, "JSON report", "x", 1, err, sizeof err) != -1 || !strstr(err, want)) {
        fprintf(stderr, "\n  write: %s\n", err);
        return 2;
    }
    return access(path, F_OK) == 0 ? 3 : 0;
}

static int check_ro_file(const char *path) {
    char err[1024];
    if (mg_outfile_check(path, err, sizeof err) != -1 || strcmp(err, "is not writable") != 0) {
        fprintf(stderr, "\n  check: %s\n", err);
        return 1;
    }
    if (mg_outfile_write(path, "JSON report", "x", 1, err, sizeof err) != -1 ||
        !strstr(err, "is not writable")) {
        fprintf(stderr, "\n  write: %s\n", err);
        return 2;
    }
    return 0;
}

static void test_read_only(void) {
    /* The unprivileged child must be able to reach the temporary directory. */
    CU_ASSERT_EQUAL_FATAL(chmod(mgt_tmpdir(), 0755), 0);
    snprintf(ro_dir, sizeof ro_dir, "%s/ro", mgt_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mkdir(ro_dir, 0755), 0);
    char ro_file[700];
    snprintf(ro_file, sizeof ro_file, "%s/ro-file.json", mgt_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mgt_spit(ro_file, "keep"), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(ro_file, 0444), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(ro_dir, 0555), 0);
    CU_ASSERT_EQUAL(unprivileged(check_in_ro_dir, "r.json"), 0);
    CU_ASSERT_EQUAL(unprivileged(check_ro_file, ro_file), 0);
    CU_ASSERT_TRUE(file_is(ro_file, "keep"));
    chmod(ro_dir, 0755);
    chmod(mgt_tmpdir(), 0700);
}

/* ---- the same file, and the checks of a whole command line ------------------------ */

static void test_same(void) {
    char *dir = new_dir("same");
    char *x = mg_xasprintf("%s/x.json", dir);
    char *dot = mg_xasprintf("%s/./x.json", dir);
    char *up = mg_xasprintf("%s/../same/x.json", dir);
    char *y = mg_xasprintf("%s/y.json", dir);
    /* Not there yet: the same name in the same directory. */
    CU_ASSERT_TRUE(mg_outfile_same(x, dot));
    CU_ASSERT_TRUE(mg_outfile_same(x, up));
    CU_ASSERT_FALSE(mg_outfile_same(x, y));
    /* There: the same file, also through a symlink; a hard link is the same file too. */
    CU_ASSERT_EQUAL_FATAL(mgt_spit(x, "x"), 0);
    CU_ASSERT_TRUE(mg_outfile_same(dot, up));
    char *link = mg_xasprintf("%s/link.json", dir);
    CU_ASSERT_EQUAL_FATAL(symlink("x.json", link), 0);
    CU_ASSERT_TRUE(mg_outfile_same(x, link));
    CU_ASSERT_FALSE(mg_outfile_same(y, link));
    /* Devices are written in place one after the other: never "the same file". */
    CU_ASSERT_FALSE(mg_outfile_same("/dev/null", "/dev/null"));
    CU_ASSERT_FALSE(mg_outfile_same(NULL, x));
    CU_ASSERT_FALSE(mg_outfile_same(x, ""));
    /* The current directory's spellings. */
    char cwd[600];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
    CU_ASSERT_TRUE(mg_outfile_same("y.json", "./y.json"));
    CU_ASSERT_TRUE(mg_outfile_same("x.json", x));
    CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
    free(link);
    free(y);
    free(up);
    free(dot);
    free(x);
    free(dir);
}

static void test_check_all(void) {
    char *dir = new_dir("all");
    char *binary = mg_xasprintf("%s/tests", dir);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(binary, "\x7f" "ELF"), 0);
    char *r = mg_xasprintf("%s/r.xml", dir);
    char *r2 = mg_xasprintf("%s/./r.xml", dir);
    char *base = mg_xasprintf("%s/base.json", dir);
    char *missing = mg_xasprintf("%s/out/r.json", dir);
    char err[2048];

    mg_path_use ok[] = {{"--json", NULL, true}, {"--junit", r, true}, {"--html", "/dev/null", true},
                        {"--update-baseline", base, true}, {"test binary", binary, false}};
    CU_ASSERT_EQUAL(mg_outfile_check_all(ok, 5, err, sizeof err), 0);

    mg_path_use dup[] = {{"--json", r, true}, {"--junit", r2, true}};
    CU_ASSERT_EQUAL(mg_outfile_check_all(dup, 2, err, sizeof err), -1);
    char *want = mg_xasprintf("--json %s and --junit %s name the same file", r, r2);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);

    /* The same file through a symlink, once it exists. */
    CU_ASSERT_EQUAL_FATAL(mgt_spit(base, "{}"), 0);
    char *link = mg_xasprintf("%s/link.json", dir);
    CU_ASSERT_EQUAL_FATAL(symlink("base.json", link), 0);
    mg_path_use via_link[] = {{"--update-baseline", base, true}, {"--json", link, true}};
    CU_ASSERT_EQUAL(mg_outfile_check_all(via_link, 2, err, sizeof err), -1);
    want = mg_xasprintf("--update-baseline %s and --json %s name the same file", base, link);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);

    mg_path_use clobber[] = {{"test binary", binary, false}, {"--html", binary, true}};
    CU_ASSERT_EQUAL(mg_outfile_check_all(clobber, 2, err, sizeof err), -1);
    want = mg_xasprintf("--html %s would overwrite test binary %s", binary, binary);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);

    /* Two inputs may be the same file; /dev/null may take two reports. */
    mg_path_use inputs[] = {{"test binary", binary, false}, {"test binary", binary, false},
                            {"--json", "/dev/null", true}, {"--junit", "/dev/null", true}};
    CU_ASSERT_EQUAL(mg_outfile_check_all(inputs, 4, err, sizeof err), 0);

    /* A directory that is missing is named with the option, before any duplicate. */
    mg_path_use bad[] = {{"--json", r, true}, {"--junit", r, true}, {"--html", missing, true}};
    CU_ASSERT_EQUAL(mg_outfile_check_all(bad, 3, err, sizeof err), -1);
    want = mg_xasprintf("--html %s: directory %s/out does not exist", missing, dir);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);

    free(link);
    free(missing);
    free(base);
    free(r2);
    free(r);
    free(binary);
    free(dir);
}

/* The reporters' entry point is the same writer. */
static void test_report_write_atomic_is_the_writer(void) {
    char *dir = new_dir("atomic");
    char *path = mg_xasprintf("%s/r.xml", dir);
    char *first = mg_xasprintf("%s.tmp.AAAAAAAAAAAA", path);
    char *victim = mg_xasprintf("%s/victim", dir);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(victim, "precious"), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(victim, first), 0);
    char err[1024];
    random_mode = RANDOM_FIXED;
    random_calls = 0;
    CU_ASSERT_EQUAL(mg_report_write_atomic(path, "JUnit report", "<x/>", 4, err, sizeof err), 0);
    random_mode = RANDOM_REAL;
    CU_ASSERT_TRUE(file_is(path, "<x/>"));
    CU_ASSERT_TRUE(file_is(victim, "precious"));
    CU_ASSERT_EQUAL(mg_report_write_atomic(dir, "JUnit report", "<x/>", 4, err, sizeof err), -1);
    char *want = mg_xasprintf("cannot write JUnit report '%s': is a directory", dir);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);
    free(victim);
    free(first);
    free(path);
    free(dir);
}

static const mgt_case write_cases[] = {
    {"new_file", test_new_file},
    {"replace_keeps_mode", test_replace_keeps_mode},
    {"symlink_at_temp_name", test_symlink_at_temp_name},
    {"random_fallback", test_random_fallback},
    {"long_name", test_long_name},
    {"symlink_to_file_written_through", test_symlink_to_file_written_through},
    {"dangling_symlink_refused", test_dangling_symlink_refused},
    {"dev_null_written_in_place", test_dev_null_written_in_place},
    {"fifo_written_in_place", test_fifo_written_in_place},
    {"fifo_reader_gone", test_fifo_reader_gone},
    {"directory_refused", test_directory_refused},
    {"missing_directory", test_missing_directory},
    {"read_only", test_read_only},
    {"report_write_atomic_is_the_writer", test_report_write_atomic_is_the_writer},
    {NULL, NULL},
};

static const mgt_case check_cases[] = {
    {"same", test_same},
    {"check_all", test_check_all},
    {NULL, NULL},
};

MGT_MAIN(mgt_tmpdir();
         if (mgt_add_suite("outfile_write", write_cases) ||
             mgt_add_suite("outfile_check", check_cases))
             return 2;)
