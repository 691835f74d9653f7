/* Text and file helpers shared by the reporters (contract in report_common.h). */
#include "report_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outfile.h"
#include "util.h"

/* Assertion failures listed before "... N more". */
#define MAX_ASSERTIONS 10

size_t mg_utf8_seq(const unsigned char *s, unsigned *cp) {
    unsigned c = s[0], v;
    /* Each continuation test stops at the NUL terminator, so no read goes past it. */
#define CONT(i) ((s[i] & 0xC0u) == 0x80u)
    if (c < 0x80u) {
        v = c;
        if (cp) *cp = v;
        return 1;
    }
    if (c < 0xC2u) return 0; /* stray continuation byte or overlong 2-byte form */
    if (c < 0xE0u) {
        if (!CONT(1)) return 0;
        v = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        if (cp) *cp = v;
        return 2;
    }
    if (c < 0xF0u) {
        if (!CONT(1) || !CONT(2)) return 0;
        v = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        if (v < 0x800u || (v >= 0xD800u && v <= 0xDFFFu)) return 0;
        if (cp) *cp = v;
        return 3;
    }
    if (c < 0xF5u) {
        if (!CONT(1) || !CONT(2) || !CONT(3)) return 0;
        v = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
            (s[3] & 0x3Fu);
        if (v < 0x10000u || v > 0x10FFFFu) return 0;
        if (cp) *cp = v;
        return 4;
    }
#undef CONT
    return 0;
}

char *mg_utf8_fix(const char *s) {
    if (!s) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    bool valid = true;
    for (size_t n; *p; p += n) {
        n = mg_utf8_seq(p, NULL);
        if (!n) {
            valid = false;
            break;
        }
    }
    if (valid) return NULL;
    /* Every input byte becomes at most the 3 bytes of U+FFFD. */
    size_t len = strlen(s);
    char *fixed = mg_xcalloc(len * 3 + 1, 1), *o = fixed;
    for (p = (const unsigned char *)s; *p;) {
        size_t n = mg_utf8_seq(p, NULL);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        }
    }
    *o = '\0';
    return fixed;
}

const char *mg_report_status_label(mg_status st) {
    switch (st) {
    case MG_ST_PASS: return "PASS";
    case MG_ST_FAIL: return "FAIL";
    case MG_ST_CRASH: return "CRASH";
    case MG_ST_TIMEOUT: return "TIMEOUT";
    case MG_ST_ERROR: return "ERROR";
    case MG_ST_SKIP: return "SKIP";
    }
    return "?";
}

const char *mg_report_signal_name(int sig) {
    static const struct {
        int sig;
        const char *name;
    } table[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},     {SIGQUIT, "SIGQUIT"},
        {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"},   {SIGABRT, "SIGABRT"},
        {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},     {SIGKILL, "SIGKILL"},
        {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"},   {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},   {SIGTERM, "SIGTERM"},
        {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"},   {SIGSTOP, "SIGSTOP"},
        {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"},   {SIGTTOU, "SIGTTOU"},
        {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},   {SIGXFSZ, "SIGXFSZ"},
        {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].sig == sig) return table[i].name;
    return NULL;
}

char *mg_report_outcome(const mg_test_result *t) {
    if (t->message && t->message[0]) return mg_xstrdup(t->message);
    switch (t->status) {
    case MG_ST_CRASH: {
        const char *name = mg_report_signal_name(t->signal);
        if (t->signal && name) return mg_xasprintf("killed by %s (signal %d)", name, t->signal);
        if (t->signal) return mg_xasprintf("killed by signal %d", t->signal);
        return mg_xstrdup("crashed");
    }
    case MG_ST_TIMEOUT: return mg_xstrdup("timed out");
    case MG_ST_ERROR:
        if (t->exit_code) return mg_xasprintf("exited with code %d", t->exit_code);
        return mg_xstrdup("harness error");
    case MG_ST_SKIP: return mg_xstrdup("skipped");
    case MG_ST_FAIL: return mg_xstrdup("failed");
    case MG_ST_PASS: break;
    }
    return mg_xstrdup("passed");
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void mg_report_frame(FILE *out, const mg_frame *f) {
    fputs(f->function && f->function[0] ? f->function : "??", out);
    if (f->file && f->file[0]) {
        if (f->line)
            fprintf(out, " (%s:%u)", base_name(f->file), f->line);
        else
            fprintf(out, " (%s)", base_name(f->file));
    } else if (f->module && f->module[0]) {
        fprintf(out, " (%s+0x%" PRIx64 ")", base_name(f->module), f->address);
    } else if (f->address) {
        fprintf(out, " (0x%" PRIx64 ")", f->address);
    }
}

static void format_figure(int64_t v, bool bytes, char *buf, size_t len) {
    if (bytes)
        mg_format_size(v, buf, len);
    else
        snprintf(buf, len, "%" PRId64, v);
}

void mg_report_limit(FILE *out, const char *label, int64_t measured, const mg_limit *lim,
                     bool bytes) {
    char m[48], b[48];
    format_figure(measured, bytes, m, sizeof m);
    if (lim->value < 0) {
        fprintf(out, "%s %s, budget unlimited", label, m);
    } else {
        format_figure(lim->value, bytes, b, sizeof b);
        /* "4.0 KiB > budget 4.0 KiB" says nothing: show the exact bytes then. */
        if (bytes && measured != lim->value && strcmp(m, b) == 0) {
            size_t ml = strlen(m), bl = strlen(b);
            snprintf(m + ml, sizeof m - ml, " (%" PRId64 " B)", measured);
            snprintf(b + bl, sizeof b - bl, " (%" PRId64 " B)", lim->value);
        }
        fprintf(out, "%s %s %s budget %s", label, m, measured > lim->value ? ">" : "<=", b);
    }
    if (lim->origin && lim->origin[0])
        fprintf(out, " (%s: %s)", mg_source_name(lim->source), lim->origin);
    else
        fprintf(out, " (%s)", mg_source_name(lim->source));
}

/* The baseline metrics in report order; allocations have no budget and no traceback. */
static const unsigned regression_bits[] = {MG_VIOL_LEAK, MG_VIOL_GROWTH, MG_VIOL_PEAK,
                                           MG_VIOL_ALLOCS};
#define N_REGRESSION_BITS (sizeof regression_bits / sizeof regression_bits[0])
/* The figures that have tracebacks (growth and peak tables). */
#define TRACED_BITS (MG_VIOL_LEAK | MG_VIOL_GROWTH | MG_VIOL_PEAK)

static int64_t clamp_u64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

void mg_report_regression(FILE *out, const mg_test_result *t, unsigned bit) {
    const char *label;
    int64_t measured, base;
    bool bytes = true;
    switch (bit) {
    case MG_VIOL_LEAK:
        label = "leak";
        measured = t->leaked_bytes;
        base = t->baseline.leaked_bytes;
        break;
    case MG_VIOL_GROWTH:
        label = "growth";
        measured = t->object_growth;
        base = t->baseline.object_growth;
        bytes = false;
        break;
    case MG_VIOL_PEAK:
        label = "peak";
        measured = t->peak_bytes;
        base = t->baseline.peak_bytes;
        break;
    default:
        label = "allocations";
        measured = clamp_u64(t->allocations);
        base = clamp_u64(t->baseline.allocations);
        bytes = false;
        break;
    }
    char m[48], b[48];
    format_figure(measured, bytes, m, sizeof m);
    format_figure(base, bytes, b, sizeof b);
    /* "4.0 KiB > baseline 4.0 KiB" says nothing: show the exact bytes then. */
    if (bytes && measured != base && strcmp(m, b) == 0) {
        size_t ml = strlen(m), bl = strlen(b);
        snprintf(m + ml, sizeof m - ml, " (%" PRId64 " B)", measured);
        snprintf(b + bl, sizeof b - bl, " (%" PRId64 " B)", base);
    }
    fprintf(out, "%s %s %s baseline %s", label, m, measured > base ? ">" : "<=", b);
}

static size_t or_default(size_t v, size_t def) { return v ? v : def; }

/* The top max_tb entries of a growth (peak == false) or peak table, each a header
 * line and at most max_frames frames. */
static void write_entries(FILE *out, const char *indent, const mg_entry *e, size_t n, bool peak,
                          size_t max_tb, size_t max_frames) {
    size_t shown = n < max_tb ? n : max_tb;
    fprintf(out, "%s%s (top %zu of %zu):\n", indent,
            peak ? "tracebacks holding memory at the peak" : "tracebacks of the growth", shown, n);
    for (size_t i = 0; i < shown; i++) {
        char sz[48];
        int64_t size = peak ? e[i].size : e[i].size_diff;
        int64_t count = peak ? e[i].count : e[i].count_diff;
        mg_format_size(size, sz, sizeof sz);
        fprintf(out, "%s  %s%s in %" PRId64 " %s\n", indent, !peak && size > 0 ? "+" : "", sz,
                count, count == 1 || count == -1 ? "block" : "blocks");
        if (!e[i].nframes) fprintf(out, "%s    (no frames recorded)\n", indent);
        size_t nf = e[i].nframes < max_frames ? e[i].nframes : max_frames;
        for (size_t k = 0; k < nf; k++) {
            fprintf(out, "%s    ", indent);
            mg_report_frame(out, &e[i].frames[k]);
            fputc('\n', out);
        }
        if (e[i].nframes > nf)
            fprintf(out, "%s    ... %zu more frame%s\n", indent, e[i].nframes - nf,
                    e[i].nframes - nf == 1 ? "" : "s");
    }
}

static void write_failures(FILE *out, const mg_test_result *t, const char *indent) {
    size_t shown = t->nfailures < MAX_ASSERTIONS ? t->nfailures : MAX_ASSERTIONS;
    for (size_t i = 0; i < shown; i++) {
        const mg_failure *f = &t->failures[i];
        fprintf(out, "%s%s:%u: %s\n", indent, f->file ? f->file : "??", f->line,
                f->condition ? f->condition : "");
    }
    if (t->nfailures > shown)
        fprintf(out, "%s... %zu more assertion failures\n", indent, t->nfailures - shown);
}

static void write_notes(FILE *out, const mg_test_result *t, const char *indent, bool shown_tb) {
    if (t->traced && shown_tb)
        fprintf(out, "%snote: these tracebacks come from a traced re-run of the test\n", indent);
    if (t->rerun_mismatch)
        fprintf(out,
                "%snote: the traced re-run did not reproduce the first run's figures; "
                "its tracebacks may not explain them\n",
                indent);
}

void mg_report_problem(FILE *out, const mg_test_result *t, const char *indent, size_t max_tb,
                       size_t max_frames) {
    max_tb = or_default(max_tb, MG_REPORT_DEFAULT_TRACEBACKS);
    max_frames = or_default(max_frames, MG_REPORT_DEFAULT_FRAMES);
    static const struct {
        unsigned bit;
        const char *label;
        bool bytes;
    } limits[] = {{MG_VIOL_LEAK, "leak", true},
                  {MG_VIOL_GROWTH, "growth", false},
                  {MG_VIOL_PEAK, "peak", true}};
    const mg_limit *lims[] = {&t->budget.leak_bytes, &t->budget.object_growth,
                              &t->budget.peak_bytes};
    const int64_t figs[] = {t->leaked_bytes, t->object_growth, t->peak_bytes};
    for (size_t i = 0; i < 3; i++) {
        if (!(t->violations & limits[i].bit)) continue;
        fputs(indent, out);
        mg_report_limit(out, limits[i].label, figs[i], lims[i], limits[i].bytes);
        fputc('\n', out);
    }
    const unsigned regs = t->baseline.regressions;
    for (size_t i = 0; i < N_REGRESSION_BITS; i++) {
        if (!(regs & regression_bits[i])) continue;
        fputs(indent, out);
        mg_report_regression(out, t, regression_bits[i]);
        fputc('\n', out);
    }
    write_failures(out, t, indent);
    /* A failure is fully described by its limits, regressions and assertions; anything
     * else (and a failure with none) gets its outcome sentence. */
    if (t->status != MG_ST_FAIL || (!t->violations && !regs && !t->nfailures)) {
        char *o = mg_report_outcome(t);
        fprintf(out, "%s%s\n", indent, o);
        free(o);
    }
    /* A figure that regressed is explained by the same tracebacks as a broken limit. */
    const unsigned broken = t->violations | (regs & TRACED_BITS);
    bool shown_tb = false;
    if ((broken & (MG_VIOL_LEAK | MG_VIOL_GROWTH)) && t->ndiffs) {
        write_entries(out, indent, t->diffs, t->ndiffs, false, max_tb, max_frames);
        shown_tb = true;
    }
    if ((broken & MG_VIOL_PEAK) && t->npeak_diffs) {
        write_entries(out, indent, t->peak_diffs, t->npeak_diffs, true, max_tb, max_frames);
        shown_tb = true;
    }
    if (broken && !shown_tb) fprintf(out, "%sno tracebacks were recorded\n", indent);
    write_notes(out, t, indent, shown_tb);
}

/* The baseline part of the full report: the baseline's figures and each regression. */
static void write_baseline(FILE *out, const mg_test_result *t) {
    const mg_baseline_cmp *b = &t->baseline;
    if (b->state == MG_BASE_NONE) return;
    if (b->state == MG_BASE_NEW) {
        fputs("baseline: new test (not in the baseline)\n", out);
        return;
    }
    char leak[48], peak[48];
    mg_format_size(b->leaked_bytes, leak, sizeof leak);
    mg_format_size(b->peak_bytes, peak, sizeof peak);
    fprintf(out,
            "baseline (%s): leak %s, growth %" PRId64 ", peak %s, allocations %" PRIu64 "\n",
            b->state == MG_BASE_REGRESSED ? "regressed" : "within tolerance", leak,
            b->object_growth, peak, b->allocations);
    for (size_t i = 0; i < N_REGRESSION_BITS; i++) {
        if (!(b->regressions & regression_bits[i])) continue;
        fputs("  ", out);
        mg_report_regression(out, t, regression_bits[i]);
        fputc('\n', out);
    }
}

void mg_report_full(FILE *out, const mg_test_result *t) {
    fprintf(out, "%s/%s (%s)\n", t->suite ? t->suite : "", t->name ? t->name : "",
            t->binary ? t->binary : "");
    /* A pass or a failure needs no sentence unless the run gave one. */
    if ((t->message && t->message[0]) || (t->status != MG_ST_PASS && t->status != MG_ST_FAIL)) {
        char *o = mg_report_outcome(t);
        fprintf(out, "status: %s: %s\n", mg_status_name(t->status), o);
        free(o);
    } else {
        fprintf(out, "status: %s\n", mg_status_name(t->status));
    }
    mg_report_limit(out, "leak", t->leaked_bytes, &t->budget.leak_bytes, true);
    fputc('\n', out);
    mg_report_limit(out, "growth", t->object_growth, &t->budget.object_growth, false);
    fputc('\n', out);
    mg_report_limit(out, "peak", t->peak_bytes, &t->budget.peak_bytes, true);
    fputc('\n', out);
    fprintf(out, "allocations: %" PRIu64 "\n", t->allocations);
    if (t->violations) {
        fputs("broken limits:", out);
        if (t->violations & MG_VIOL_LEAK) fputs(" leak_bytes", out);
        if (t->violations & MG_VIOL_GROWTH) fputs(" object_growth", out);
        if (t->violations & MG_VIOL_PEAK) fputs(" peak_bytes", out);
        fputc('\n', out);
    }
    write_baseline(out, t);
    if (t->nfailures) {
        fputs("assertion failures:\n", out);
        write_failures(out, t, "  ");
    }
    if (t->ndiffs)
        write_entries(out, "", t->diffs, t->ndiffs, false, MG_REPORT_DEFAULT_TRACEBACKS,
                      MG_REPORT_DEFAULT_FRAMES);
    if (t->npeak_diffs)
        write_entries(out, "", t->peak_diffs, t->npeak_diffs, true, MG_REPORT_DEFAULT_TRACEBACKS,
                      MG_REPORT_DEFAULT_FRAMES);
    write_notes(out, t, "", t->ndiffs || t->npeak_diffs);
}

char *mg_report_headline(const mg_test_result *t) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) return mg_report_outcome(t);
    const char *sep = "";
    static const char *labels[] = {"leak", "growth", "peak"};
    static const unsigned bits[] = {MG_VIOL_LEAK, MG_VIOL_GROWTH, MG_VIOL_PEAK};
    const mg_limit *lims[] = {&t->budget.leak_bytes, &t->budget.object_growth,
                              &t->budget.peak_bytes};
    const int64_t figs[] = {t->leaked_bytes, t->object_growth, t->peak_bytes};
    for (size_t i = 0; i < 3; i++) {
        if (!(t->violations & bits[i])) continue;
        fputs(sep, out);
        mg_report_limit(out, labels[i], figs[i], lims[i], i != 1);
        sep = "; ";
    }
    for (size_t i = 0; i < N_REGRESSION_BITS; i++) {
        if (!(t->baseline.regressions & regression_bits[i])) continue;
        fputs(sep, out);
        mg_report_regression(out, t, regression_bits[i]);
        sep = "; ";
    }
    /* The top frame follows the limits and regressions it explains, before any
     * assertion. */
    const unsigned broken = t->violations | (t->baseline.regressions & TRACED_BITS);
    const mg_entry *top = NULL;
    if ((broken & (MG_VIOL_LEAK | MG_VIOL_GROWTH)) && t->ndiffs)
        top = &t->diffs[0];
    else if ((broken & MG_VIOL_PEAK) && t->npeak_diffs)
        top = &t->peak_diffs[0];
    if (top && top->nframes) {
        fputs(" at ", out);
        mg_report_frame(out, &top->frames[0]);
    }
    if (t->nfailures) {
        const mg_failure *f = &t->failures[0];
        fprintf(out, "%s%s:%u: %s", sep, f->file ? f->file : "??", f->line,
                f->condition ? f->condition : "");
        if (t->nfailures > 1) fprintf(out, " (+%zu more)", t->nfailures - 1);
        sep = "; ";
    }
    if (!*sep) {
        char *o = mg_report_outcome(t);
        fputs(o, out);
        free(o);
    }
    if (fclose(out) != 0 || !buf) {
        free(buf);
        return mg_report_outcome(t);
    }
    return buf;
}

/* Kept for the reporters and the baseline writer; outfile.c holds the one writer. */
int mg_report_write_atomic(const char *path, const char *what, const char *data, size_t len,
                           char *err, size_t errlen) {
    return mg_outfile_write(path, what, data, len, err, errlen);
}
