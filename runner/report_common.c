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

/* The figure v of metric id as people read it. */
static void format_figure(mg_metric id, int64_t v, char *buf, size_t len) {
    mg_metric_format(id, v, buf, len);
}

/* "4.0 KiB > 4.0 KiB" says nothing: when two different byte figures print the same,
 * both are written out in exact bytes instead ("4100 B", "4096 B"), or with the exact
 * bytes added in parentheses when add is set ("4.0 KiB (4100 B)"). */
static void exact_if_same(mg_metric id, int64_t av, char *a, int64_t bv, char *b, size_t len,
                          bool add) {
    if (!mg_metric_bytes(id) || av == bv || strcmp(a, b) != 0) return;
    if (add) {
        size_t al = strlen(a), bl = strlen(b);
        snprintf(a + al, len - al, " (%" PRId64 " B)", av);
        snprintf(b + bl, len - bl, " (%" PRId64 " B)", bv);
    } else {
        snprintf(a, len, "%" PRId64 " B", av);
        snprintf(b, len, "%" PRId64 " B", bv);
    }
}

void mg_report_limit(FILE *out, mg_metric id, int64_t measured, const mg_limit *lim) {
    const char *label = mg_metrics[id].label;
    char m[64], b[64];
    format_figure(id, measured, m, sizeof m);
    if (lim->value < 0) {
        fprintf(out, "%s %s, budget unlimited", label, m);
    } else {
        format_figure(id, lim->value, b, sizeof b);
        exact_if_same(id, measured, m, lim->value, b, sizeof m, true);
        fprintf(out, "%s %s %s budget %s", label, m, measured > lim->value ? ">" : "<=", b);
    }
    if (lim->origin && lim->origin[0])
        fprintf(out, " (%s: %s)", mg_source_name(lim->source), lim->origin);
    else
        fprintf(out, " (%s)", mg_source_name(lim->source));
}

/* The tolerance text of mg_report_tolerance into buf; *absolute gets the allowance
 * when the text is an amount (so callers can compare it with a growth), else -1. */
static void tolerance_text(mg_metric id, int64_t base, const mg_tolerance_one *tol, char *buf,
                           size_t len, int64_t *absolute) {
    int64_t micro = mg_tolerance_micro(tol);
    int64_t abs = tol->absolute > 0 ? tol->absolute : 0;
    *absolute = -1;
    if (micro > 0 && !(abs > 0 && abs >= mg_tolerance_percent_of(base, tol))) {
        char num[48];
        snprintf(num, sizeof num, "%" PRId64 ".%06" PRId64, micro / 1000000, micro % 1000000);
        size_t n = strlen(num);
        while (num[n - 1] == '0') num[--n] = '\0';
        if (num[n - 1] == '.') num[--n] = '\0';
        snprintf(buf, len, "%s %%", num);
        return;
    }
    *absolute = abs;
    format_figure(id, abs, buf, len);
}

void mg_report_tolerance(FILE *out, mg_metric id, int64_t base, const mg_tolerance_one *tol) {
    char buf[64];
    int64_t abs;
    tolerance_text(id, base, tol, buf, sizeof buf, &abs);
    fputs(buf, out);
}

void mg_report_regression(FILE *out, const mg_test_result *t, mg_metric id) {
    const mg_baseline_cmp *c = &t->baseline;
    int64_t now = t->fig[id], base = c->fig[id], d;
    /* Figures from a corrupt report could overflow the difference: saturate. */
    if (__builtin_sub_overflow(now, base, &d)) d = now > base ? INT64_MAX : INT64_MIN + 1;
    char delta[64], tol[64], b[64], n[64];
    format_figure(id, d < 0 ? -d : d, delta, sizeof delta);
    int64_t abs = -1;
    if (c->tol_known) {
        tolerance_text(id, base, &c->tol[id], tol, sizeof tol, &abs);
        if (abs >= 0) exact_if_same(id, d < 0 ? -d : d, delta, abs, tol, sizeof delta, false);
    }
    fprintf(out, "%s %s%s", mg_metrics[id].label, d < 0 ? "-" : "+", delta);
    if (base > 0) fprintf(out, " (%+.1f%%)", (double)d * 100.0 / (double)base);
    if (c->tol_known) fprintf(out, " > tolerance %s", tol);
    format_figure(id, base, b, sizeof b);
    format_figure(id, now, n, sizeof n);
    exact_if_same(id, base, b, now, n, sizeof b, false);
    fprintf(out, " (baseline %s, now %s)", b, n);
}

static size_t or_default(size_t v, size_t def) { return v ? v : def; }

/* MG_M_BIT of the metrics explained by the traceback table tr. */
static unsigned traced_by(mg_traces tr) {
    unsigned bits = 0;
    for (int m = 0; m < MG_M_COUNT; m++)
        if (mg_metrics[m].traces == tr) bits |= MG_M_BIT(m);
    return bits;
}

/* How many of a cut traceback's outermost frames stay: the test's own, right above
 * the trimmed harness. */
#define OUTER_FRAMES 2

/* The frames of one traceback, at most max_frames lines: a long one keeps its innermost
 * frames and its outermost (the test that got there) with a gap line between. */
static void write_frames(FILE *out, const char *indent, const mg_entry *e, size_t max_frames) {
    size_t n = e->nframes;
    size_t inner = n, outer = 0;
    if (n > max_frames) {
        outer = max_frames > OUTER_FRAMES + 1 ? OUTER_FRAMES : 0;
        inner = max_frames - outer - (outer ? 1 : 0);
    }
    for (size_t k = 0; k < inner; k++) {
        fprintf(out, "%s    ", indent);
        mg_report_frame(out, &e->frames[k]);
        fputc('\n', out);
    }
    if (n > inner + outer)
        fprintf(out, "%s    ... %zu more frame%s\n", indent, n - inner - outer, n - inner - outer == 1 ? "" : "s");
    for (size_t k = n - outer; k < n; k++) {
        fprintf(out, "%s    ", indent);
        mg_report_frame(out, &e->frames[k]);
        fputc('\n', out);
    }
}

/* The top max_tb entries of a growth (peak == false) or peak table, each a header
 * line naming its culprit frame and at most max_frames frames. */
static void write_entries(FILE *out, const char *indent, const mg_entry *e, size_t n, bool peak,
                          size_t max_tb, size_t max_frames, mg_group_by group) {
    static const char *const by[] = {"", " by function", " by line", " by file"};
    size_t shown = n < max_tb ? n : max_tb;
    fprintf(out, "%s%s%s (top %zu of %zu):\n", indent,
            peak ? "tracebacks holding memory at the peak" : "tracebacks of the growth",
            group > MG_GROUP_TRACEBACK && group <= MG_GROUP_FILE ? by[group] : "", shown, n);
    for (size_t i = 0; i < shown; i++) {
        char sz[48];
        int64_t size = peak ? e[i].size : e[i].size_diff;
        int64_t count = peak ? e[i].count : e[i].count_diff;
        mg_format_size(size, sz, sizeof sz);
        fprintf(out, "%s  %s%s in %" PRId64 " %s", indent, !peak && size > 0 ? "+" : "", sz,
                count, count == 1 || count == -1 ? "block" : "blocks");
        /* LeakSanitizer's and valgrind's words: lost (nothing points to it any more) or
         * still reachable (a cache, a registry). */
        if (!peak && e[i].lost_known && e[i].lost_count > 0 && e[i].lost_count < count) {
            mg_format_size(e[i].lost_size, sz, sizeof sz);
            fprintf(out, " (lost %s in %" PRId64 " %s, the rest still reachable)", sz, e[i].lost_count,
                    e[i].lost_count == 1 ? "block" : "blocks");
        } else if (!peak && e[i].lost_known && e[i].lost_count > 0) {
            mg_format_size(e[i].lost_size, sz, sizeof sz);
            fprintf(out, " (lost %s in %" PRId64 " %s)", sz, e[i].lost_count,
                    e[i].lost_count == 1 ? "block" : "blocks");
        } else if (!peak && e[i].lost_known && count > 0) {
            fputs(" (still reachable)", out);
        }
        const mg_frame *culprit = mg_entry_culprit(&e[i]);
        if (culprit && e[i].culprit > 0) {
            fputs(", allocated by ", out);
            mg_report_frame(out, culprit);
        }
        fputc('\n', out);
        if (!e[i].nframes) fprintf(out, "%s    (no frames recorded)\n", indent);
        write_frames(out, indent, &e[i], max_frames);
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

/* The test's own notes, then what is known about the tracebacks shown. */
static void write_notes(FILE *out, const mg_test_result *t, const char *indent, bool shown_tb) {
    for (size_t i = 0; i < t->nnotes; i++)
        fprintf(out, "%snote: %s\n", indent, t->notes[i] ? t->notes[i] : "");
    if (t->traced && shown_tb)
        fprintf(out, "%snote: these tracebacks come from a traced re-run of the test\n", indent);
    if (t->rerun_mismatch)
        fprintf(out,
                "%snote: the traced re-run did not reproduce the first run's figures; "
                "its tracebacks may not explain them\n",
                indent);
}

/* The entries of one table as shown: grouped (a new array, *owned set) or as they are. */
static const mg_entry *grouped(const mg_entry *e, size_t n, mg_group_by group, size_t *nout, bool *owned) {
    *owned = false;
    *nout = n;
    if (group == MG_GROUP_TRACEBACK || n < 2) return e;
    mg_entry *g;
    mg_group_entries(e, n, group, &g, nout);
    *owned = true;
    return g;
}

static void release_grouped(const mg_entry *e, size_t n, bool owned) {
    if (!owned) return;
    mg_entry *m = (mg_entry *)(uintptr_t)e;
    for (size_t i = 0; i < n; i++) mg_entry_free_contents(&m[i]);
    free(m);
}

/* Writes the tracebacks that explain the metrics in broken (growth, then peak);
 * returns whether any were written. */
static bool write_tracebacks(FILE *out, const mg_test_result *t, const char *indent,
                             unsigned broken, size_t max_tb, size_t max_frames, mg_group_by group) {
    bool shown = false, owned;
    size_t n;
    if ((broken & traced_by(MG_TRACE_GROWTH)) && t->ndiffs) {
        const mg_entry *e = grouped(t->diffs, t->ndiffs, group, &n, &owned);
        write_entries(out, indent, e, n, false, max_tb, max_frames, owned ? group : MG_GROUP_TRACEBACK);
        release_grouped(e, n, owned);
        shown = true;
    }
    if ((broken & traced_by(MG_TRACE_PEAK)) && t->npeak_diffs) {
        const mg_entry *e = grouped(t->peak_diffs, t->npeak_diffs, group, &n, &owned);
        write_entries(out, indent, e, n, true, max_tb, max_frames, owned ? group : MG_GROUP_TRACEBACK);
        release_grouped(e, n, owned);
        shown = true;
    }
    return shown;
}

void mg_report_problem(FILE *out, const mg_test_result *t, const char *indent, size_t max_tb,
                       size_t max_frames) {
    mg_report_problem_grouped(out, t, indent, max_tb, max_frames, MG_GROUP_TRACEBACK);
}

/* The torture points that did not cope, the first max_tb with their site: where the
 * crash happened, or where the block leaked on the error path was allocated. */
static void write_torture(FILE *out, const mg_test_result *t, const char *indent, size_t max_tb, size_t max_frames) {
    size_t shown = 0, bad = 0;
    for (size_t i = 0; i < t->ntorture; i++) {
        const mg_torture_point *p = &t->torture[i];
        if (p->outcome == MG_TO_PASS || p->outcome == MG_TO_UNREACHED) continue;
        bad++;
        if (shown == max_tb) continue;
        shown++;
        fprintf(out, "%sallocation %" PRIu64 " of %" PRIu64 " made to fail: %s\n", indent, p->alloc,
                t->torture_allocations, p->message ? p->message : mg_torture_outcome_name(p->outcome));
        if (p->nsite && p->site[0].nframes) {
            fprintf(out, "%s  %s\n", indent, p->outcome == MG_TO_LEAK ? "what leaked was allocated at:" : "at:");
            char deeper[64];
            snprintf(deeper, sizeof deeper, "%s  ", indent);
            write_frames(out, deeper, &p->site[0], max_frames);
        }
    }
    if (bad > shown)
        fprintf(out, "%s... and %zu more failing point%s (--json has them all)\n", indent, bad - shown,
                bad - shown == 1 ? "" : "s");
}

void mg_report_problem_grouped(FILE *out, const mg_test_result *t, const char *indent, size_t max_tb,
                               size_t max_frames, mg_group_by group) {
    max_tb = or_default(max_tb, MG_REPORT_DEFAULT_TRACEBACKS);
    max_frames = or_default(max_frames, MG_REPORT_DEFAULT_FRAMES);
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(t->violations & MG_M_BIT(m))) continue;
        fputs(indent, out);
        mg_report_limit(out, (mg_metric)m, t->fig[m], &t->budget.lim[m]);
        fputc('\n', out);
    }
    const unsigned regs = t->baseline.regressions;
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(regs & MG_M_BIT(m))) continue;
        fputs(indent, out);
        mg_report_regression(out, t, (mg_metric)m);
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
    if (t->ncrash_site && t->crash_site[0].nframes) {
        fprintf(out, "%scrash site:\n", indent);
        write_frames(out, indent, &t->crash_site[0], max_frames);
    }
    if (t->tortured) write_torture(out, t, indent, max_tb, max_frames);
    /* A figure that regressed is explained by the same tracebacks as a broken limit;
     * figures without a traceback table (allocations) have none to show. */
    const unsigned broken = (t->violations | regs) & ~traced_by(MG_TRACE_NONE);
    bool shown_tb = write_tracebacks(out, t, indent, broken, max_tb, max_frames, group);
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
    fprintf(out, "baseline (%s):",
            b->state == MG_BASE_REGRESSED ? "regressed" : "within tolerance");
    const char *sep = " ";
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!mg_metrics[m].baseline) continue;
        char v[48];
        format_figure((mg_metric)m, b->fig[m], v, sizeof v);
        fprintf(out, "%s%s %s", sep, mg_metrics[m].label, v);
        sep = ", ";
    }
    fputc('\n', out);
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(b->regressions & MG_M_BIT(m))) continue;
        fputs("  ", out);
        mg_report_regression(out, t, (mg_metric)m);
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
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!mg_test_known(t, (mg_metric)m)) continue;
        if (mg_metrics[m].budget_key) {
            mg_report_limit(out, (mg_metric)m, t->fig[m], &t->budget.lim[m]);
        } else {
            char v[48];
            format_figure((mg_metric)m, t->fig[m], v, sizeof v);
            fprintf(out, "%s: %s", mg_metrics[m].label, v);
        }
        fputc('\n', out);
    }
    if (t->suppressed_bytes || t->suppressed_blocks) {
        char v[48];
        mg_format_size(t->suppressed_bytes, v, sizeof v);
        fprintf(out, "suppressed: %s in %" PRId64 " block%s\n", v, t->suppressed_blocks,
                t->suppressed_blocks == 1 ? "" : "s");
    }
    if (t->warmups) fprintf(out, "warm-ups: %u\n", t->warmups);
    if (t->isolation != MG_ISO_TEST) fprintf(out, "isolation: %s\n", mg_isolation_name(t->isolation));
    if (t->violations) {
        fputs("broken limits:", out);
        for (int m = 0; m < MG_M_COUNT; m++)
            if (t->violations & MG_M_BIT(m)) fprintf(out, " %s", mg_metric_name((mg_metric)m));
        fputc('\n', out);
    }
    write_baseline(out, t);
    if (t->nfailures) {
        fputs("assertion failures:\n", out);
        write_failures(out, t, "  ");
    }
    if (t->ndiffs)
        write_entries(out, "", t->diffs, t->ndiffs, false, MG_REPORT_DEFAULT_TRACEBACKS,
                      MG_REPORT_DEFAULT_FRAMES, MG_GROUP_TRACEBACK);
    if (t->npeak_diffs)
        write_entries(out, "", t->peak_diffs, t->npeak_diffs, true, MG_REPORT_DEFAULT_TRACEBACKS,
                      MG_REPORT_DEFAULT_FRAMES, MG_GROUP_TRACEBACK);
    write_notes(out, t, "", t->ndiffs || t->npeak_diffs);
}

char *mg_report_headline(const mg_test_result *t) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) return mg_report_outcome(t);
    const char *sep = "";
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(t->violations & MG_M_BIT(m))) continue;
        fputs(sep, out);
        mg_report_limit(out, (mg_metric)m, t->fig[m], &t->budget.lim[m]);
        sep = "; ";
    }
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(t->baseline.regressions & MG_M_BIT(m))) continue;
        fputs(sep, out);
        mg_report_regression(out, t, (mg_metric)m);
        sep = "; ";
    }
    /* The culprit frame follows the limits and regressions it explains, before any
     * assertion. */
    const unsigned broken = t->violations | t->baseline.regressions;
    const mg_entry *top = NULL;
    if ((broken & traced_by(MG_TRACE_GROWTH)) && t->ndiffs)
        top = &t->diffs[0];
    else if ((broken & traced_by(MG_TRACE_PEAK)) && t->npeak_diffs)
        top = &t->peak_diffs[0];
    const mg_frame *culprit = mg_entry_culprit(top);
    if (culprit) {
        fputs(" at ", out);
        mg_report_frame(out, culprit);
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
