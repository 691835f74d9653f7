/*
 * Output files: the one way memgate writes a report (JSON, JUnit, HTML) or a baseline,
 * and the checks made on every output path before any test runs. Internal to the runner.
 *
 * What a write does depends on what the path names when the write happens:
 *  - nothing, or a regular file: the data goes to a new temporary file in the same
 *    directory, created with O_CREAT|O_EXCL|O_NOFOLLOW under an unpredictable name
 *    ("BASE.tmp.XXXXXXXXXXXX"), which then replaces the path with rename(2). A file or
 *    symlink planted at a temporary name can never receive the data, and readers never
 *    see a half-written file. A replaced file keeps its permission bits.
 *  - a symbolic link: it is followed, and the file it finally names is written as above,
 *    in that file's own directory; the link stays a link (a report path that links into
 *    an artifacts directory keeps doing so). A link whose target does not exist is an
 *    error, not a new file created wherever the link happens to point.
 *  - a FIFO, a character device (/dev/null, a terminal) or anything else that is not a
 *    regular file: opened for writing as it is and written in place, never replaced by
 *    a regular file. A FIFO nobody reads is an error, not a hang.
 *  - a directory: an error.
 */
#ifndef MEMGATE_RUNNER_OUTFILE_H
#define MEMGATE_RUNNER_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes len bytes of data to path as described above. what names the file in errors
 * ("JSON report"). 0, or -1 with err = "cannot write WHAT 'PATH': REASON"; a failed
 * write leaves no temporary file and the old file unchanged. */
int mg_outfile_write(const char *path, const char *what, const char *data, size_t len,
                     char *err, size_t errlen);

/* Checks, without writing anything, that a later mg_outfile_write(path) can succeed:
 * 0, or -1 with err saying why not, e.g. "directory out does not exist", "directory out
 * is not writable", "is a directory", "is not writable", "is a symbolic link to 'x',
 * which does not exist". The caller puts the option and path in front. */
int mg_outfile_check(const char *path, char *err, size_t errlen);

/* True when a and b name the same file that a write would replace or create: the same
 * existing regular file (also through different spellings, ./x, dir/../x, or a symlink),
 * or the same name in the same directory when it does not exist yet. Two paths that
 * reach one FIFO or device are not "the same" here: written in place one after the
 * other, neither replaces the other. */
bool mg_outfile_same(const char *a, const char *b);

/* One path the command line names, for mg_outfile_check_all. */
typedef struct mg_path_use {
    const char *option; /* "--json", "--budgets", "XML_OUTPUT_FILE", "test binary" */
    const char *path;   /* NULL: not given (skipped) */
    bool output;        /* written by the run (else only read) */
} mg_path_use;

/* The checks a run makes on its paths before any test runs: every output passes
 * mg_outfile_check ("--json out/r.json: directory out does not exist"), no two outputs
 * name the same file ("--json r.xml and --junit ./r.xml name the same file"), and no
 * output would overwrite an input ("--json ./t would overwrite test binary ./t"). 0, or
 * -1 with err filled (no "memgate: " prefix). */
int mg_outfile_check_all(const mg_path_use *uses, size_t n, char *err, size_t errlen);

#endif
