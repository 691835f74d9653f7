/*
 * Allocation-free formatting, logging and raw memory for the collector.
 *
 * The collector runs inside malloc, inside a test child after __libc_freeres, and in
 * processes whose heap may be corrupt, so nothing here calls malloc or stdio: memory
 * comes from mmap and text is formatted by hand into caller-provided buffers.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

void *mg__sys_alloc(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *mg__sys_alloc_populated(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mg__sys_free(void *p, size_t size) {
    if (p) munmap(p, size);
}

typedef struct fmt_out {
    char *buf;
    size_t len, pos; /* pos may exceed len: the full length is reported */
} fmt_out;

static void out_c(fmt_out *o, char c) {
    if (o->pos + 1 < o->len) o->buf[o->pos] = c;
    o->pos++;
}

static void out_s(fmt_out *o, const char *s) {
    if (!s) s = "(null)";
    while (*s) out_c(o, *s++);
}

static void out_u(fmt_out *o, unsigned long long v, unsigned base) {
    char tmp[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n) out_c(o, tmp[--n]);
}

static void out_d(fmt_out *o, long long v) {
    if (v < 0) {
        out_c(o, '-');
        out_u(o, (unsigned long long)0 - (unsigned long long)v, 10);
    } else {
        out_u(o, (unsigned long long)v, 10);
    }
}

/* Supports %s %c %d %u %x %p %% with the length modifiers l, ll and z. */
static void fmt_v(fmt_out *o, const char *fmt, va_list ap) {
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            out_c(o, *f);
            continue;
        }
        f++;
        int lng = 0;
        while (*f == 'l' || *f == 'z') {
            lng++;
            f++;
        }
        switch (*f) {
        case 's': out_s(o, va_arg(ap, const char *)); break;
        case 'c': out_c(o, (char)va_arg(ap, int)); break;
        case 'd':
            out_d(o, lng ? va_arg(ap, long long) : (long long)va_arg(ap, int));
            break;
        case 'u':
            out_u(o, lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 10);
            break;
        case 'x':
            out_u(o, lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 16);
            break;
        case 'p':
            out_s(o, "0x");
            out_u(o, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case '%': out_c(o, '%'); break;
        case '\0': return;
        default: out_c(o, '?'); break;
        }
    }
}

size_t mg__fmt(char *buf, size_t len, const char *fmt, ...) {
    fmt_out o = {buf, len, 0};
    va_list ap;
    va_start(ap, fmt);
    fmt_v(&o, fmt, ap);
    va_end(ap);
    if (len) buf[o.pos < len ? o.pos : len - 1] = '\0';
    return o.pos;
}

int mg__write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void mg__log(const char *fmt, ...) {
    char buf[1024];
    int saved = errno;
    fmt_out o = {buf, sizeof buf - 1, 0};
    out_s(&o, "memgate: ");
    va_list ap;
    va_start(ap, fmt);
    fmt_v(&o, fmt, ap);
    va_end(ap);
    size_t n = o.pos < sizeof buf - 2 ? o.pos : sizeof buf - 2;
    buf[n++] = '\n';
    mg__write_all(2, buf, n);
    errno = saved;
}

/* ---- growable buffer ---------------------------------------------------------- */

static int buf_reserve(mg_buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra) cap *= 2;
    char *d = mg__sys_alloc(cap);
    if (!d) return -1;
    if (b->data) {
        memcpy(d, b->data, b->len);
        mg__sys_free(b->data, b->cap);
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void mg__buf_put(mg_buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n) == 0) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
    }
}

void mg__buf_puts(mg_buf *b, const char *s) { mg__buf_put(b, s, strlen(s)); }

void mg__buf_printf(mg_buf *b, const char *fmt, ...) {
    char tmp[512];
    fmt_out o = {tmp, sizeof tmp, 0};
    va_list ap;
    va_start(ap, fmt);
    fmt_v(&o, fmt, ap);
    va_end(ap);
    mg__buf_put(b, tmp, o.pos < sizeof tmp ? o.pos : sizeof tmp - 1);
}

void mg__buf_esc(mg_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    if (!s || !*s) {
        mg__buf_put(b, "-", 1);
        return;
    }
    if (s[0] == '-' && s[1] == '\0') {
        mg__buf_put(b, "%2D", 3);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '%' || *p >= 0x7f) {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            mg__buf_put(b, e, 3);
        } else {
            mg__buf_put(b, (const char *)p, 1);
        }
    }
}

void mg__buf_release(mg_buf *b) {
    mg__sys_free(b->data, b->cap);
    b->data = NULL;
    b->len = b->cap = 0;
}
