/* Small helpers shared by the runner: sizes, counts, allocation that cannot fail, error
 * strings, reading files. Nothing here runs inside the tested process. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_common.h"

/* Fraction digits kept when parsing "1.5 MiB"; later digits are ignored. Six digits
 * times the largest unit (2^40) still fits in 64 bits, so no floating point is needed. */
#define FRAC_DIGITS_MAX 6

typedef struct size_unit {
    const char *name; /* lower case */
    uint64_t factor;
} size_unit;

/* The empty name is a bare number of bytes. Binary units are powers of 1024, decimal
 * units powers of 1000, as in IEC 80000-13. Bare "K"/"M"/"G" are refused on purpose:
 * they are ambiguous between the two families. */
static const size_unit size_units[] = {
    {"", 1ULL},
    {"b", 1ULL},
    {"kib", 1ULL << 10},
    {"mib", 1ULL << 20},
    {"gib", 1ULL << 30},
    {"tib", 1ULL << 40},
    {"kb", 1000ULL},
    {"mb", 1000ULL * 1000ULL},
    {"gb", 1000ULL * 1000ULL * 1000ULL},
    {"tb", 1000ULL * 1000ULL * 1000ULL * 1000ULL},
};

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static const char *skip_blanks(const char *p) {
    while (is_blank(*p)) p++;
    return p;
}

/* Reads decimal digits at *pp into *out, refusing values above INT64_MAX. Returns the
 * number of digits read (0 when none), or -1 on overflow. */
static int read_digits(const char **pp, uint64_t *out) {
    const char *p = *pp;
    uint64_t v = 0;
    int n = 0;
    while (is_digit(*p)) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
        p++;
        n++;
    }
    *pp = p;
    *out = v;
    return n;
}

/* Accepts NUMBER[.FRACTION] [UNIT] with optional blanks around and between; the result
 * is rounded down to whole bytes. A fraction needs a unit larger than a byte. */
int mg_parse_size(const char *text, int64_t *bytes) {
    if (!text || !bytes) return -1;
    const char *p = skip_blanks(text);
    uint64_t whole;
    if (read_digits(&p, &whole) <= 0) return -1;

    uint64_t frac = 0, scale = 1;
    if (*p == '.') {
        p++;
        if (!is_digit(*p)) return -1;
        for (int n = 0; is_digit(*p); p++, n++) {
            if (n < FRAC_DIGITS_MAX) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }

    p = skip_blanks(p);
    char unit[4];
    size_t ulen = 0;
    while (is_alpha(*p)) {
        if (ulen == sizeof unit - 1) return -1;
        unit[ulen++] = to_lower(*p++);
    }
    unit[ulen] = '\0';
    p = skip_blanks(p);
    if (*p != '\0') return -1;

    uint64_t factor = 0;
    for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++)
        if (strcmp(unit, size_units[i].name) == 0) factor = size_units[i].factor;
    if (factor == 0) return -1;
    if (factor == 1 && frac != 0) return -1; /* "1.5 B" is not a whole number of bytes */

    if (whole > (uint64_t)INT64_MAX / factor) return -1;
    uint64_t total = whole * factor;
    uint64_t part = frac * factor / scale; /* frac < 10^6 and factor <= 2^40: no overflow */
    if (part > (uint64_t)INT64_MAX - total) return -1;
    *bytes = (int64_t)(total + part);
    return 0;
}

int mg_parse_count(const char *text, int64_t *count) {
    if (!text || !count) return -1;
    const char *p = skip_blanks(text);
    uint64_t v;
    if (read_digits(&p, &v) <= 0) return -1;
    p = skip_blanks(p);
    if (*p != '\0') return -1;
    *count = (int64_t)v;
    return 0;
}

/* Bytes below 1 KiB print exactly; KiB and MiB with one decimal, larger units with two.
 * A value that would round up to 1024 of a unit is shown in the next unit instead, so
 * 1048575 bytes reads "1.0 MiB", not "1024.0 KiB". */
char *mg_format_size(int64_t bytes, char *buf, size_t len) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (!buf || len == 0) return buf;
    const char *sign = bytes < 0 ? "-" : "";
    /* The magnitude in unsigned arithmetic, so INT64_MIN does not overflow. */
    uint64_t mag = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;
    if (mag < 1024) {
        snprintf(buf, len, "%s%llu B", sign, (unsigned long long)mag);
        return buf;
    }
    double v = (double)mag;
    size_t u = 0;
    v /= 1024.0;
    for (;;) {
        int decimals = u < 2 ? 1 : 2;
        double shown = decimals == 1 ? (double)(long long)(v * 10.0 + 0.5) / 10.0
                                     : (double)(long long)(v * 100.0 + 0.5) / 100.0;
        if (shown < 1024.0 || u + 1 == sizeof units / sizeof units[0]) {
            snprintf(buf, len, "%s%.*f %s", sign, decimals, v, units[u]);
            return buf;
        }
        v /= 1024.0;
        u++;
    }
}

/* Out of memory in the runner is not recoverable in any useful way: say so and stop
 * with the "setup error" exit code. */
static _Noreturn void out_of_memory(size_t size) {
    fprintf(stderr, "memgate: out of memory (allocating %zu bytes)\n", size);
    exit(2);
}

char *mg_xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (!copy) out_of_memory(n);
    memcpy(copy, s, n);
    return copy;
}

void *mg_xcalloc(size_t n, size_t size) {
    /* calloc(0, x) may legally return NULL; ask for one element so NULL means failure. */
    if (n == 0 || size == 0) n = size = 1;
    void *p = calloc(n, size);
    if (!p) out_of_memory(n * size);
    return p;
}

void *mg_xrealloc(void *p, size_t size) {
    /* realloc(p, 0) is implementation-defined (it may free p); never ask for 0 bytes. */
    if (size == 0) size = 1;
    void *q = realloc(p, size);
    if (!q) out_of_memory(size);
    return q;
}

char *mg_xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "memgate: bad format string \"%s\"\n", fmt);
        exit(2);
    }
    char *s = malloc((size_t)n + 1);
    if (!s) out_of_memory((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void mg_set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

char *mg_read_file(const char *path, size_t *len, bool *open_failed) {
    FILE *f = fopen(path, "rb");
    *open_failed = !f;
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = mg_xcalloc(1, cap);
    for (;;) {
        if (n + 1 >= cap) buf = mg_xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    /* errno of the failed read, before fclose and free can change it. */
    int failed = ferror(f), saved = errno;
    fclose(f);
    if (failed) {
        free(buf);
        errno = saved;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

void mg_strlist_addf(mg_strlist *l, const char *fmt, ...) {
    if (!l) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    char *s = mg_xcalloc((size_t)n + 1, 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    l->items = mg_xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = s;
}

void mg_strlist_free(mg_strlist *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

char *mg_quote(const char *s, size_t len, size_t max_chars) {
    /* A NUL-terminated copy: mg_utf8_seq stops at a NUL, so it never reads past len,
     * and an embedded NUL is escaped like any other control character. */
    char *copy = mg_xcalloc(len + 1, 1);
    if (len) memcpy(copy, s, len);
    /* Every input byte becomes at most 4 output bytes ("\xNN"). */
    char *out = mg_xcalloc(len * 4 + 8, 1), *o = out;
    *o++ = '"';
    size_t i = 0, chars = 0;
    while (i < len && chars < max_chars) {
        const unsigned char *p = (const unsigned char *)copy + i;
        size_t n = *p ? mg_utf8_seq(p, NULL) : 0;
        chars++;
        if (n > 1) {
            memcpy(o, p, n);
            o += n;
            i += n;
            continue;
        }
        i++;
        switch (*p) {
        case '"': o += sprintf(o, "\\\""); break;
        case '\\': o += sprintf(o, "\\\\"); break;
        case '\n': o += sprintf(o, "\\n"); break;
        case '\r': o += sprintf(o, "\\r"); break;
        case '\t': o += sprintf(o, "\\t"); break;
        default:
            if (n == 1 && *p >= 0x20 && *p != 0x7f)
                *o++ = (char)*p;
            else
                o += sprintf(o, "\\x%02x", *p);
        }
    }
    *o++ = '"';
    if (i < len) o += sprintf(o, "...");
    *o = '\0';
    free(copy);
    return out;
}

char *mg_path_search(const char *name) {
    if (!name || !*name) {
        errno = ENOENT;
        return NULL;
    }
    if (strchr(name, '/')) return mg_xstrdup(name);
    const char *path = getenv("PATH");
    if (!path) path = "/bin:/usr/bin";
    int e = ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        char *cand = dlen ? mg_xasprintf("%.*s/%s", (int)dlen, p, name) : mg_xasprintf("./%s", name);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(cand, X_OK) == 0) return cand;
            e = EACCES;
        }
        free(cand);
        if (!end) break;
        p = end;
    }
    errno = e;
    return NULL;
}
