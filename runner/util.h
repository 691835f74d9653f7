/* Small helpers shared by the runner: sizes, strings, errors, reading files. */
#ifndef MEMGATE_RUNNER_UTIL_H
#define MEMGATE_RUNNER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a SIZE: "4096", "4KiB", "4 KiB", "8MiB", "1GiB", "1.5 MiB", decimal "4KB",
 * "2 MB", "1GB", and "B" suffix. Case-insensitive units; surrounding blanks allowed.
 * Returns 0 and stores bytes, or -1 for anything else (negative, empty, junk, overflow). */
int mg_parse_size(const char *text, int64_t *bytes);

/* Parses a non-negative integer count ("10"); -1 on junk or overflow. */
int mg_parse_count(const char *text, int64_t *count);

/* Formats a byte count for people: "0 B", "312 B", "4.0 KiB", "12.5 MiB", "1.00 GiB";
 * negative values get a '-' sign. Returns buf. */
char *mg_format_size(int64_t bytes, char *buf, size_t len);

/* strdup that aborts the runner with a message on out-of-memory; NULL stays NULL. */
char *mg_xstrdup(const char *s);
void *mg_xcalloc(size_t n, size_t size);
void *mg_xrealloc(void *p, size_t size);
/* printf into a new heap string. */
char *mg_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes an error message into err (may be NULL) */
void mg_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads the whole file at path into a NUL-terminated heap string (the caller frees it)
 * and stores its length in *len, which is larger than strlen when the file holds a NUL
 * byte. NULL on failure with errno set, and *open_failed true when the file could not
 * be opened, false when it could not be read. */
char *mg_read_file(const char *path, size_t *len, bool *open_failed);

/* A growable list of heap strings (warnings a loader returns for its caller to print). */
typedef struct mg_strlist {
    char **items;
    size_t n;
} mg_strlist;

/* Appends a printf-formatted string; l may be NULL (the string is then dropped). */
void mg_strlist_addf(mg_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the strings and empties the list (which can be used again). */
void mg_strlist_free(mg_strlist *l);

/* The first len bytes of s (NUL bytes included) made safe to print on a terminal, in
 * double quotes: '"' and '\' get a backslash, newline, return and tab become \n \r \t,
 * other control characters, DEL and bytes that are not valid UTF-8 become \xNN; valid
 * UTF-8 stays as it is. After max_chars characters of input the rest is cut and "..."
 * follows the closing quote. Heap string. */
char *mg_quote(const char *s, size_t len, size_t max_chars);

/* The file execvp(3) would run for name, for a program given by name alone: name itself
 * when it contains a '/', else the first regular file named name in a $PATH directory
 * that is executable (an empty entry is the current directory, "./name"; without PATH,
 * glibc's default "/bin:/usr/bin"). Heap string, or NULL with errno ENOENT (nothing of
 * that name) or EACCES (only files that are not executable). */
char *mg_path_search(const char *name);

#endif
