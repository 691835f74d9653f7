/*
 * HTML reporter: one self-contained page per run, for people reading a CI artifact.
 * Why this file is long: everything a reader sees without JavaScript is rendered here
 * (header, table, one card per test with limits, tracebacks and notes), with its
 * escaping; the template holds the layout and the script only the interactive parts.
 *
 * The page is the template templates/report.html (compiled in, see html_template.h)
 * with its "<!--mg:NAME-->" markers filled here. Everything people need to read is
 * rendered in C, so it shows without JavaScript: the header (verdict, host, times,
 * counts, a status bar in inline SVG, banners for an interrupted run and warnings), the
 * summary table and one <details> card per test. Table rows and cards come problems
 * first (fail, crash, timeout, error), then passes, then skips, in registry order within
 * each group. The template's inline script adds what needs a program: the per-test bar
 * charts (drawn from a JSON blob this file embeds), sorting, the order control and the
 * status filters.
 *
 * Charts are to scale across the run: each figure (leak, growth, peak) has one scale for
 * every test, reaching the largest value, budget or baseline of that figure in the run;
 * it is logarithmic when that figure's non-zero values span more than
 * MG_HTML_LOG_SPAN (two orders of magnitude), else linear. This file decides the scales
 * (run_scales) and the script only draws them.
 *
 * Safety: every string from the run goes through put_text() (HTML) or cJSON plus
 * put_json_blob() (the blob inside <script>), never straight into the page.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <memgate/version.h>

#include "html_template.h"
#include "jsonutil.h"
#include "report.h"
#include "report_common.h"
#include "util.h"

/* Tracebacks open at first per table (growth, peak): the console shows as many; the
 * others are there, closed. Frames shown per traceback before "N more frames" (the
 * culprit frame is always among those shown). */
#define HTML_TRACEBACKS_OPEN MG_REPORT_DEFAULT_TRACEBACKS
#define HTML_FRAMES 16
/* A figure's chart scale is logarithmic when its largest non-zero value is more than
 * this many times its smallest. */
#define MG_HTML_LOG_SPAN 100.0
/* Captured output shown per test: the last lines, at most this many bytes. */
#define HTML_OUTPUT_LINES 200
#define HTML_OUTPUT_BYTES (64 * 1024)

/* ---- escaping ------------------------------------------------------------------ */

enum {
    TEXT_LINES = 1u, /* keep newlines and tabs (inside <pre>); else they become spaces */
    TEXT_ANSI = 2u,  /* drop ANSI CSI sequences (colour codes in captured output) */
    TEXT_WBR = 4u    /* a line break opportunity (<wbr>) after each '/' and '_', for names
                      * between tags (never in an attribute) */
};

/* Writes a code point below U+10000 (all this file needs) as UTF-8. */
static void put_cp(FILE *out, unsigned cp) {
    if (cp < 0x80u) {
        fputc((int)cp, out);
    } else if (cp < 0x800u) {
        fputc((int)(0xC0u | (cp >> 6)), out);
        fputc((int)(0x80u | (cp & 0x3Fu)), out);
    } else {
        fputc((int)(0xE0u | (cp >> 12)), out);
        fputc((int)(0x80u | ((cp >> 6) & 0x3Fu)), out);
        fputc((int)(0x80u | (cp & 0x3Fu)), out);
    }
}

/* Writes s as HTML text, safe both between tags and inside a quoted attribute value:
 * the five markup characters become references, invalid UTF-8 and C1 controls become
 * U+FFFD, other control characters their visible Control Pictures (ESC shows as U+241B)
 * so nothing in a test name or its output can drive the page or hide itself. */
static void put_text(FILE *out, const char *s, unsigned flags) {
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        size_t n = mg_utf8_seq(p, &cp);
        if (!n) {
            put_cp(out, 0xFFFDu);
            p++;
            continue;
        }
        if ((flags & TEXT_ANSI) && cp == 0x1Bu && p[1] == '[') {
            /* ESC [ parameters... final byte (0x40-0x7E): a colour or cursor command. */
            const unsigned char *q = p + 2;
            while (*q >= 0x20u && *q <= 0x3Fu) q++;
            if (*q >= 0x40u && *q <= 0x7Eu) {
                p = q + 1;
                continue;
            }
        }
        p += n;
        switch (cp) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        case '/':
        case '_':
            fputc((int)cp, out);
            if ((flags & TEXT_WBR) && *p) fputs("<wbr>", out);
            break;
        case '\n':
        case '\t': fputc((flags & TEXT_LINES) ? (int)cp : ' ', out); break;
        case '\r':
            if ((flags & TEXT_LINES) && *p == '\n') break; /* CRLF reads as one newline */
            put_cp(out, 0x240Du);
            break;
        default:
            if (cp < 0x20u)
                put_cp(out, 0x2400u + cp);
            else if (cp == 0x7Fu)
                put_cp(out, 0x2421u);
            else if (cp >= 0x80u && cp <= 0x9Fu)
                put_cp(out, 0xFFFDu);
            else
                fwrite(p - n, 1, n, out);
        }
    }
}

/* The last component of a path, or the whole string when it has no slash. */
static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* Writes a JSON text inside <script type="application/json">: '<', '>' and '&' become
 * \u escapes (so no "</script>" or "<!--" can end or bend the element) and so do
 * U+2028/U+2029. All of them occur only inside JSON strings, where the escapes mean
 * the same characters. */
static void put_json_blob(FILE *out, const char *json) {
    for (const unsigned char *p = (const unsigned char *)json; *p; p++) {
        if (*p == '<')
            fputs("\\u003c", out);
        else if (*p == '>')
            fputs("\\u003e", out);
        else if (*p == '&')
            fputs("\\u0026", out);
        else if (p[0] == 0xE2u && p[1] == 0x80u && (p[2] == 0xA8u || p[2] == 0xA9u)) {
            fputs(p[2] == 0xA8u ? "\\u2028" : "\\u2029", out);
            p += 2;
        } else
            fputc(*p, out);
    }
}

/* ---- figures ------------------------------------------------------------------- */

/* Sort key of the status column: the worst outcomes first. */
static int status_rank(mg_status st) {
    switch (st) {
    case MG_ST_CRASH: return 0;
    case MG_ST_ERROR: return 1;
    case MG_ST_TIMEOUT: return 2;
    case MG_ST_FAIL: return 3;
    case MG_ST_PASS: return 4;
    case MG_ST_SKIP: return 5;
    }
    return 1;
}

/* Passing and failing tests ran to the end and have figures; the others do not. */
static bool has_figures(const mg_test_result *t) {
    return t->status == MG_ST_PASS || t->status == MG_ST_FAIL;
}

/* The group a test is listed in: 0 problems (fail, crash, timeout, error), 1 passes,
 * 2 skips. */
static int display_group(mg_status st) {
    switch (st) {
    case MG_ST_PASS: return 1;
    case MG_ST_SKIP: return 2;
    case MG_ST_FAIL:
    case MG_ST_CRASH:
    case MG_ST_TIMEOUT:
    case MG_ST_ERROR: return 0;
    }
    return 0;
}

/* The order of the table rows and cards: indexes into run->tests, group by group
 * (display_group), registry order within a group. Heap array of run->ntests entries
 * (NULL when there is no test); the caller frees it. */
static size_t *display_order(const mg_run *run) {
    if (!run->ntests) return NULL;
    size_t *order = mg_xcalloc(run->ntests, sizeof *order), n = 0;
    for (int g = 0; g <= 2; g++)
        for (size_t i = 0; i < run->ntests; i++)
            if (display_group(run->tests[i].status) == g) order[n++] = i;
    return order;
}

/* The measured figure and its limit as people read them. When both round to the same
 * text but differ ("4.0 KiB" and "4.0 KiB"), both are given in exact bytes instead. */
static void format_pair(mg_metric id, int64_t measured, int64_t limit, char *m, char *b,
                        size_t len) {
    mg_metric_format(id, measured, m, len);
    if (limit < 0) {
        snprintf(b, len, "unlimited");
        return;
    }
    mg_metric_format(id, limit, b, len);
    if (mg_metric_bytes(id) && measured != limit && strcmp(m, b) == 0) {
        snprintf(m, len, "%" PRId64 " B", measured);
        snprintf(b, len, "%" PRId64 " B", limit);
    }
}

/* One metric of a test, as the tables and charts show it. */
typedef struct metric {
    mg_metric id;
    const char *key, *label; /* the figure's JSON key and its label */
    bool bytes;
    int64_t value;
    const mg_limit *limit; /* NULL for metrics without a budget */
    bool broken;           /* over its budget */
    int64_t base;          /* baseline figure, when the test has one */
    bool regressed;        /* grew beyond the baseline's tolerance */
} metric;

static metric metric_of(const mg_test_result *t, mg_metric id) {
    const mg_metric_info *mi = &mg_metrics[id];
    return (metric){id,
                    mi->key,
                    mi->label,
                    mg_metric_bytes(id),
                    t->fig[id],
                    mi->budget_key ? &t->budget.lim[id] : NULL,
                    (t->violations & MG_M_BIT(id)) != 0,
                    t->baseline.fig[id],
                    (t->baseline.regressions & MG_M_BIT(id)) != 0};
}

/* Whether the test has baseline figures to compare with. */
static bool has_base_figures(const mg_test_result *t) {
    return t->baseline.state == MG_BASE_SAME || t->baseline.state == MG_BASE_REGRESSED;
}

/* The chart scale of one figure, shared by every test of the run. */
typedef struct scale {
    int64_t max; /* what a full bar stands for: the largest value, budget or baseline (>= 1) */
    bool log;    /* logarithmic (bar length by log(1 + v)) rather than linear */
} scale;

/* Decides the scale of every figure from the tests that have it: the values measured,
 * the budgets that are set and the baseline figures. Zero and negative figures sit at
 * the origin of either scale and do not widen it. */
static void run_scales(const mg_run *run, scale sc[MG_M_COUNT]) {
    for (int id = 0; id < MG_M_COUNT; id++) {
        int64_t max = 0, minpos = 0;
        for (size_t i = 0; i < run->ntests; i++) {
            const mg_test_result *t = &run->tests[i];
            if (!has_figures(t) || !mg_test_known(t, (mg_metric)id)) continue;
            int64_t v[3];
            size_t n = 0;
            v[n++] = t->fig[id];
            if (mg_metrics[id].budget_key && t->budget.lim[id].value >= 0)
                v[n++] = t->budget.lim[id].value;
            if (has_base_figures(t) && mg_metrics[id].baseline) v[n++] = t->baseline.fig[id];
            for (size_t k = 0; k < n; k++) {
                if (v[k] <= 0) continue;
                if (v[k] > max) max = v[k];
                if (!minpos || v[k] < minpos) minpos = v[k];
            }
        }
        sc[id].max = max > 0 ? max : 1;
        sc[id].log = minpos > 0 && (double)max > MG_HTML_LOG_SPAN * (double)minpos;
    }
}

/* Whether the limits table shows figure id of t: when it was measured, and for a paired
 * figure (net against leak) only when its budget is set or it differs from its pair. */
static bool shows_figure(const mg_test_result *t, mg_metric id) {
    if (!mg_test_known(t, id)) return false;
    const mg_metric_info *mi = &mg_metrics[id];
    if (mi->line != MG_LINE_PAIRED || mi->pair == id) return true;
    if (mi->budget_key && t->budget.lim[id].value >= 0) return true;
    return !mg_test_known(t, mi->pair) || t->fig[id] != t->fig[mi->pair];
}

/* Writes the change of m against its baseline: "+192 KiB (+18.8%)", "-3", "=". */
static void put_delta(FILE *out, const metric *m) {
    int64_t d;
    if (__builtin_sub_overflow(m->value, m->base, &d)) { /* only from a corrupt report */
        fputs("?", out);
        return;
    }
    if (d == 0) {
        fputs("=", out);
        return;
    }
    char buf[48];
    uint64_t mag = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    if (m->bytes)
        mg_format_size((int64_t)(mag > INT64_MAX ? INT64_MAX : mag), buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "%" PRIu64, mag);
    fprintf(out, "%s%s", d < 0 ? "-" : "+", buf);
    if (m->base > 0) fprintf(out, " (%+.1f%%)", (double)d * 100.0 / (double)m->base);
}

/* Writes a duration: "<1 ms", "12 ms" below a second, "1.50 s" from there on. */
static void put_duration(FILE *out, double d) {
    if (!isfinite(d) || d < 0) d = 0;
    if (d > 0 && d < 0.0005)
        fputs("&lt;1 ms", out);
    else if (d < 0.9995)
        fprintf(out, "%.0f ms", d * 1000.0);
    else
        fprintf(out, "%.2f s", d);
}

/* ---- header -------------------------------------------------------------------- */

/* Writes "2026-11-21 09:40:00 UTC" for the report's "2026-11-21T09:40:00Z", any other
 * form as it is. */
static void put_started(FILE *out, const char *iso) {
    size_t len = strlen(iso);
    if (len == 20 && iso[10] == 'T' && iso[19] == 'Z') {
        char buf[32];
        snprintf(buf, sizeof buf, "%.10s %.8s UTC", iso, iso + 11);
        put_text(out, buf, 0);
    } else {
        put_text(out, iso, 0);
    }
}

typedef struct status_info {
    mg_status st;
    const char *label; /* "passed" */
    size_t count;
} status_info;

static void tally_rows(const mg_tally *n, status_info rows[6]) {
    rows[0] = (status_info){MG_ST_PASS, "passed", n->pass};
    rows[1] = (status_info){MG_ST_FAIL, "failed", n->fail};
    rows[2] = (status_info){MG_ST_CRASH, "crashed", n->crash};
    rows[3] = (status_info){MG_ST_TIMEOUT, "timed out", n->timeout};
    rows[4] = (status_info){MG_ST_ERROR, "errors", n->error};
    rows[5] = (status_info){MG_ST_SKIP, "skipped", n->skip};
}

static bool uses_baseline(const mg_run *run) {
    if (run->baseline_path || run->nbaseline_removed) return true;
    for (size_t i = 0; i < run->ntests; i++)
        if (run->tests[i].baseline.state != MG_BASE_NONE) return true;
    return false;
}

static void put_title(FILE *out, const mg_run *run) {
    mg_tally n;
    mg_run_tally(run, &n);
    fputs("memgate report", out);
    if (n.total) fputs(n.pass + n.skip == n.total ? " \xC2\xB7 passed" : " \xC2\xB7 FAILED", out);
    if (run->hostname && run->hostname[0]) {
        fputs(" \xC2\xB7 ", out);
        put_text(out, run->hostname, 0);
    }
}

static void put_header(FILE *out, const mg_run *run) {
    mg_tally n;
    mg_run_tally(run, &n);
    size_t bad = n.total - n.pass - n.skip;
    fputs("<div class=\"brand\"><h1>memgate <span>memory report</span></h1>", out);
    if (!n.total)
        fputs("<span class=\"verdict none\">NO TESTS</span>"
              "<span class=\"lede\">the report holds no test</span>",
              out);
    else if (bad)
        fprintf(out,
                "<span class=\"verdict bad\">FAILED</span>"
                "<span class=\"lede\">%zu of %zu test%s did not pass</span>",
                bad, n.total, n.total == 1 ? "" : "s");
    else
        fprintf(out,
                "<span class=\"verdict ok\">PASSED</span>"
                "<span class=\"lede\">all %zu test%s within budget</span>",
                n.total, n.total == 1 ? "" : "s");
    fputs("</div>\n", out);
    /* An interrupted run says so before anything else: its counts are not the suite's. */
    if (run->interrupted)
        fputs("<div class=\"banner interrupted\" id=\"mg-interrupted\" role=\"alert\">"
              "<b class=\"btitle\">Interrupted</b><p class=\"note\">The run was interrupted: "
              "this report covers the tests that finished.</p></div>\n",
              out);
    fputs("<dl class=\"facts\">", out);
    if (run->started_at && run->started_at[0]) {
        fputs("<div><dt>Started</dt><dd><time datetime=\"", out);
        put_text(out, run->started_at, 0);
        fputs("\">", out);
        put_started(out, run->started_at);
        fputs("</time></dd></div>", out);
    }
    if (run->hostname && run->hostname[0]) {
        fputs("<div><dt>Host</dt><dd>", out);
        put_text(out, run->hostname, 0);
        fputs("</dd></div>", out);
    }
    fputs("<div><dt>Duration</dt><dd>", out);
    put_duration(out, run->duration_s);
    fputs("</dd></div>", out);
    fprintf(out, "<div><dt>Tests</dt><dd>%zu</dd></div>", n.total);
    if (run->shard && run->shard[0]) {
        fputs("<div><dt>Shard</dt><dd>", out);
        put_text(out, run->shard, 0);
        fputs("</dd></div>", out);
    }
    if (uses_baseline(run)) {
        size_t regressed = 0, fresh = 0;
        for (size_t i = 0; i < run->ntests; i++) {
            regressed += run->tests[i].baseline.state == MG_BASE_REGRESSED;
            fresh += run->tests[i].baseline.state == MG_BASE_NEW;
        }
        fputs("<div><dt>Baseline</dt><dd>", out);
        if (run->baseline_path) {
            fputs("<code>", out);
            put_text(out, run->baseline_path, 0);
            fputs("</code> \xC2\xB7 ", out);
        }
        fprintf(out, "%zu regressed \xC2\xB7 %zu new \xC2\xB7 %zu removed</dd></div>", regressed,
                fresh, run->nbaseline_removed);
    }
    fputs("</dl>\n", out);

    status_info rows[6];
    tally_rows(&n, rows);
    /* Filters by status: inert (disabled) until the page's script enables them, so a
     * page read without JavaScript shows counts, not controls that do nothing. */
    fputs("<div class=\"counts\" id=\"mg-counts\" role=\"group\" "
          "aria-label=\"show tests by status\">",
          out);
    for (size_t i = 0; i < 6; i++) {
        const char *name = mg_status_name(rows[i].st);
        fprintf(out,
                "<button type=\"button\" class=\"chip%s\" data-status=\"%s\" aria-pressed=\"true\" "
                "disabled title=\"show or hide %s tests\"><b class=\"st-%s\" data-count=\"%s\">"
                "%zu</b><span class=\"lbl\">%s</span></button>",
                rows[i].count ? "" : " zero", name, rows[i].label, name, name, rows[i].count,
                rows[i].label);
    }
    fputs("</div>\n", out);

    /* The status bar: one segment per status, widths proportional to the counts. */
    fputs("<svg id=\"mg-statusbar\" class=\"statusbar\" viewBox=\"0 0 1000 10\" "
          "preserveAspectRatio=\"none\" role=\"img\" aria-label=\"tests by status\">",
          out);
    double x = 0;
    for (size_t i = 0; i < 6 && n.total; i++) {
        if (!rows[i].count) continue;
        double w = 1000.0 * (double)rows[i].count / (double)n.total;
        fprintf(out,
                "<rect class=\"st-%s\" x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"10\">"
                "<title>%zu %s</title></rect>",
                mg_status_name(rows[i].st), x, w, rows[i].count, rows[i].label);
        x += w;
    }
    fputs("</svg>\n", out);

    if (run->nwarnings) {
        fprintf(out,
                "<div class=\"banner warnings\" id=\"mg-warnings\" role=\"note\">"
                "<b class=\"btitle\">%zu warning%s</b>",
                run->nwarnings, run->nwarnings == 1 ? "" : "s");
        for (size_t i = 0; i < run->nwarnings; i++) {
            fputs("<p class=\"note\">Warning: ", out);
            put_text(out, run->warnings[i], 0);
            fputs("</p>", out);
        }
        fputs("</div>\n", out);
    }

    if (run->nbaseline_removed) {
        fprintf(out,
                "<details class=\"removed\"><summary>%zu baseline entr%s no test in this "
                "run</summary><ul>",
                run->nbaseline_removed, run->nbaseline_removed == 1 ? "y has" : "ies have");
        for (size_t i = 0; i < run->nbaseline_removed; i++) {
            fputs("<li><code>", out);
            put_text(out, run->baseline_removed[i], 0);
            fputs("</code></li>", out);
        }
        fputs("</ul></details>\n", out);
    }
}

/* ---- summary table ------------------------------------------------------------- */

/* The em dash every cell and chart shows for a figure that is not there. */
#define MG_HTML_NONE "\xE2\x80\x94"

/* Writes "suite/name" as text, with line break opportunities after '/' and '_' when
 * flags has TEXT_WBR (never inside an attribute). */
static void put_name(FILE *out, const mg_test_result *t, unsigned flags) {
    put_text(out, t->suite ? t->suite : "", flags);
    fputc('/', out);
    if (flags & TEXT_WBR) fputs("<wbr>", out);
    put_text(out, t->name ? t->name : "", flags);
}

static void put_badge(FILE *out, mg_status st) {
    fprintf(out, "<span class=\"badge st-%s\">%s</span>", mg_status_name(st),
            mg_report_status_label(st));
}

/* The badge of a suite's own "(suite)" entry; nothing for a test. */
static void put_kind(FILE *out, const mg_test_result *t) {
    if (t->kind == MG_KIND_SUITE)
        fputs(" <span class=\"kind\" title=\"the suite's own entry: its init and cleanup, "
              "measured like a test\">suite</span>",
              out);
}

/* A "measured / budget" cell; its data-v (the measured figure) is the sort key. A broken
 * budget makes the cell red; a regression against the baseline has a style and a label
 * of its own, so a baseline-only regression never looks like a broken budget. */
static void put_figure_cell(FILE *out, const mg_test_result *t, const metric *m) {
    if (!has_figures(t)) {
        fputs("<td class=\"num na\" data-v=\"\">" MG_HTML_NONE "</td>", out);
        return;
    }
    if (!mg_test_known(t, m->id)) {
        fputs("<td class=\"num na\" data-v=\"\" title=\"not measured\">" MG_HTML_NONE "</td>",
              out);
        return;
    }
    char a[48], b[48];
    int64_t limit = m->limit ? m->limit->value : MG_UNLIMITED;
    format_pair(m->id, m->value, limit, a, b, sizeof a);
    fprintf(out, "<td class=\"num%s%s\" data-v=\"%" PRId64 "\">%s <span class=\"of\"",
            m->broken ? " broken" : "", m->regressed ? " regressed" : "", m->value, a);
    if (limit < 0)
        fputs(" title=\"budget unlimited\">/ \xE2\x88\x9E</span>", out);
    else
        fprintf(out, " title=\"budget\">/ %s</span>", b);
    if (m->regressed) fputs("<span class=\"rtag\">regressed vs baseline</span>", out);
    fputs("</td>", out);
}

static void put_baseline_cell(FILE *out, const mg_test_result *t) {
    const mg_baseline_cmp *b = &t->baseline;
    switch (b->state) {
    case MG_BASE_NONE: fputs("<td class=\"base\" data-v=\"3\">" MG_HTML_NONE "</td>", out); return;
    case MG_BASE_NEW:
        fputs("<td class=\"base\" data-v=\"1\"><span class=\"tag new\">new</span></td>", out);
        return;
    case MG_BASE_SAME:
    case MG_BASE_REGRESSED: break;
    }
    bool regressed = b->state == MG_BASE_REGRESSED;
    fprintf(out, "<td class=\"base\" data-v=\"%d\"><span class=\"tag %s\">%s</span>",
            regressed ? 0 : 2, regressed ? "regressed" : "same", regressed ? "regressed" : "same");
    for (int id = 0; id < MG_M_COUNT; id++) {
        if (!mg_metrics[id].baseline || !mg_test_known(t, (mg_metric)id)) continue;
        metric m = metric_of(t, (mg_metric)id);
        if (m.value == m.base) continue;
        fprintf(out, "<div class=\"%s\">%s ",
                m.regressed ? "delta-up" : (m.value < m.base ? "delta-down" : ""), m.label);
        put_delta(out, &m);
        fputs("</div>", out);
    }
    fputs("</td>", out);
}

/* The narrow layout shows each table row as a small card, its figure cells labelled by
 * their column's heading: CSS rules generated from the metric table, inside the page's
 * <style> (labels are fixed ASCII words, never data from the run). */
static void put_column_labels(FILE *out, const mg_run *run) {
    int col = 3; /* status, test, then the figure columns */
    for (int id = 0; id < MG_M_COUNT; id++) {
        if (!mg_metrics[id].html_column) continue;
        fprintf(out, "  #mg-tests td:nth-child(%d)::before { content: \"%c%s\"; }\n", col++,
                toupper((unsigned char)mg_metrics[id].label[0]), mg_metrics[id].label + 1);
    }
    fprintf(out, "  #mg-tests td:nth-child(%d)::before { content: \"Time\"; }\n", col++);
    if (uses_baseline(run))
        fprintf(out, "  #mg-tests td:nth-child(%d)::before { content: \"Baseline\"; }\n", col);
}

static void put_table(FILE *out, const mg_run *run, const size_t *order) {
    bool with_base = uses_baseline(run);
    fputs("<div class=\"tablebox\"><table class=\"tests\" id=\"mg-tests\">\n<thead><tr>"
          "<th data-sort=\"num\">Status</th><th data-sort=\"text\">Test</th>",
          out);
    /* One column per metric the table marks for the summary: "Leak", "Growth", "Peak". */
    for (int id = 0; id < MG_M_COUNT; id++)
        if (mg_metrics[id].html_column)
            fprintf(out, "<th class=\"num\" data-sort=\"num\">%c%s</th>",
                    toupper((unsigned char)mg_metrics[id].label[0]), mg_metrics[id].label + 1);
    fputs("<th class=\"num\" data-sort=\"num\">Time</th>", out);
    if (with_base) fputs("<th data-sort=\"num\">Baseline</th>", out);
    fputs("</tr></thead>\n<tbody>\n", out);
    for (size_t k = 0; k < run->ntests; k++) {
        size_t i = order[k];
        const mg_test_result *t = &run->tests[i];
        fprintf(out, "<tr data-i=\"%zu\" data-status=\"%s\"><td data-v=\"%d\">", i,
                mg_status_name(t->status), status_rank(t->status));
        put_badge(out, t->status);
        fprintf(out, "</td><td class=\"name\"><a href=\"#t-%zu\">", i);
        put_name(out, t, TEXT_WBR);
        fputs("</a>", out);
        put_kind(out, t);
        if (t->binary) {
            fputs("<div class=\"sub\">", out);
            put_text(out, t->binary, TEXT_WBR);
            fputs("</div>", out);
        }
        if (t->status != MG_ST_PASS) {
            char *why = mg_report_headline(t);
            fputs("<div class=\"why\" title=\"", out);
            put_text(out, why, 0);
            fputs("\">", out);
            put_text(out, why, 0);
            fputs("</div>", out);
            free(why);
        }
        fputs("</td>", out);
        for (int id = 0; id < MG_M_COUNT; id++) {
            if (!mg_metrics[id].html_column) continue;
            metric m = metric_of(t, (mg_metric)id);
            put_figure_cell(out, t, &m);
        }
        double d = isfinite(t->duration_s) ? t->duration_s : 0.0;
        fprintf(out, "<td class=\"num\" data-v=\"%.6f\">", d);
        if (t->status == MG_ST_SKIP && d == 0)
            fputs(MG_HTML_NONE, out);
        else
            put_duration(out, d);
        fputs("</td>", out);
        if (with_base) put_baseline_cell(out, t);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table></div>\n", out);
    if (!run->ntests) fputs("<p class=\"note\">This report holds no test.</p>\n", out);
}

/* ---- per-test sections --------------------------------------------------------- */

/* The limits table: each figure shows_figure() keeps, its budget and where the budget
 * came from, and the baseline's figure with the change when there is one. A broken
 * budget colours the measured and budget cells (row class "broken"); a regression
 * colours the baseline side and says so (row class "regressed"). */
static void put_limits(FILE *out, const mg_test_result *t, bool with_base) {
    bool base = with_base && has_base_figures(t);
    fputs("<table class=\"limits\"><thead><tr><th></th><th class=\"num\">measured</th>"
          "<th class=\"num\">budget</th><th>budget from</th>",
          out);
    if (base) fputs("<th class=\"num\">baseline</th><th class=\"num\">change</th>", out);
    fputs("</tr></thead><tbody>", out);
    for (int id = 0; id < MG_M_COUNT; id++) {
        if (!shows_figure(t, (mg_metric)id)) continue;
        metric m = metric_of(t, (mg_metric)id);
        char a[48], b[48];
        fprintf(out, "<tr data-metric=\"%s\"%s><th>%s</th>", m.key,
                m.broken && m.regressed ? " class=\"broken regressed\""
                : m.broken              ? " class=\"broken\""
                : m.regressed           ? " class=\"regressed\""
                                        : "",
                m.label);
        if (m.limit) {
            format_pair(m.id, m.value, m.limit->value, a, b, sizeof a);
            fprintf(out, "<td class=\"num\" title=\"%" PRId64 "\">%s</td><td class=\"num\">%s</td>",
                    m.value, a, b);
            fprintf(out, "<td class=\"src\">%s", mg_source_name(m.limit->source));
            if (m.limit->origin && m.limit->origin[0]) {
                fputs(": ", out);
                put_text(out, m.limit->origin, 0);
            }
            fputs("</td>", out);
        } else {
            mg_metric_format(m.id, m.value, a, sizeof a);
            fprintf(out, "<td class=\"num\">%s</td><td class=\"num\">" MG_HTML_NONE "</td><td></td>",
                    a);
        }
        if (base && mg_metrics[id].baseline) {
            mg_metric_format(m.id, m.base, b, sizeof b);
            fprintf(out, "<td class=\"num\">%s</td><td class=\"num\">", b);
            put_delta(out, &m);
            if (m.regressed) fputs("<span class=\"rtag\">regressed vs baseline</span>", out);
            fputs("</td>", out);
        } else if (base) {
            fputs("<td class=\"num\">" MG_HTML_NONE "</td><td class=\"num\"></td>", out);
        }
        fputs("</tr>", out);
    }
    fputs("</tbody></table>", out);
}

/* Memory the suppressions took out of the figures, when there was any. */
static void put_suppressed(FILE *out, const mg_test_result *t) {
    if (!t->suppressed_bytes && !t->suppressed_blocks) return;
    char sz[48];
    mg_format_size(t->suppressed_bytes, sz, sizeof sz);
    fprintf(out, "<p class=\"note\">Suppressed: %s in %" PRId64 " block%s.</p>", sz,
            t->suppressed_blocks, t->suppressed_blocks == 1 ? "" : "s");
}

/* Writes a frame as "function (file:line)": the function, then the source position
 * (full path in the tooltip), else the module and offset, else the address. */
static void put_frame_text(FILE *out, const mg_frame *f) {
    fputs("<span class=\"fn\">", out);
    put_text(out, f->function && f->function[0] ? f->function : "??", 0);
    fputs("</span>", out);
    if (f->file && f->file[0]) {
        fputs(" <span class=\"loc\" title=\"", out);
        put_text(out, f->file, 0);
        fputs("\">(", out);
        put_text(out, base_name(f->file), 0);
        if (f->line) fprintf(out, ":%u", f->line);
        fputs(")</span>", out);
    } else if (f->module && f->module[0]) {
        fputs(" <span class=\"loc\" title=\"", out);
        put_text(out, f->module, 0);
        fputs("\">(", out);
        put_text(out, base_name(f->module), 0);
        fprintf(out, "+0x%" PRIx64 ")</span>", f->address);
    } else if (f->address) {
        fprintf(out, " <span class=\"loc\">(0x%" PRIx64 ")</span>", f->address);
    }
}

/* One frame of a traceback's list; the culprit frame is marked and labelled. */
static void put_frame(FILE *out, const mg_frame *f, bool culprit) {
    fputs(culprit ? "<li class=\"culprit\">" : "<li>", out);
    put_frame_text(out, f);
    if (culprit)
        fputs(" <span class=\"ctag\" title=\"the frame the one-line summary names\">culprit"
              "</span>",
              out);
    fputs("</li>", out);
}

/* Every traceback of a growth table (peak == false: sizes are diffs) or of the memory
 * held at the peak, each behind its own expander: the first HTML_TRACEBACKS_OPEN open.
 * An expander's summary gives the size, the count, the lost part and the culprit frame;
 * its list shows the first HTML_FRAMES frames (more when the culprit is deeper) and
 * keeps the rest behind one more expander. */
static void put_entries(FILE *out, const mg_entry *e, size_t n, bool peak) {
    fprintf(out, "<h3>%s <small>(%zu traceback%s, largest first; innermost frame first)</small>"
            "</h3>",
            peak ? "Memory held at the peak" : "Growth by traceback", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        char sz[48];
        int64_t size = peak ? e[i].size : e[i].size_diff;
        int64_t count = peak ? e[i].count : e[i].count_diff;
        mg_format_size(size, sz, sizeof sz);
        fprintf(out,
                "<details class=\"tb\"%s><summary class=\"head\"><b>%s%s</b> in %" PRId64
                " block%s",
                i < HTML_TRACEBACKS_OPEN ? " open" : "", !peak && size > 0 ? "+" : "", sz, count,
                count == 1 || count == -1 ? "" : "s");
        if (!peak && e[i].lost_known && e[i].lost_count > 0) {
            mg_format_size(e[i].lost_size, sz, sizeof sz);
            fprintf(out, " (lost %s in %" PRId64 " block%s)", sz, e[i].lost_count,
                    e[i].lost_count == 1 ? "" : "s");
        }
        const mg_frame *culprit = mg_entry_culprit(&e[i]);
        size_t ci = culprit ? (size_t)(culprit - e[i].frames) : 0;
        if (culprit) {
            fputs(" <span class=\"at\">at ", out);
            put_frame_text(out, culprit);
            fputs("</span>", out);
        }
        fputs("</summary><ol class=\"frames\">", out);
        size_t nf = ci + 1 > HTML_FRAMES ? ci + 1 : HTML_FRAMES;
        if (nf > e[i].nframes) nf = e[i].nframes;
        for (size_t k = 0; k < nf; k++) put_frame(out, &e[i].frames[k], culprit && k == ci);
        if (!e[i].nframes) fputs("<li class=\"more\">no frames recorded</li>", out);
        if (e[i].nframes > nf) {
            fprintf(out,
                    "<li class=\"more\"><details><summary>\xE2\x80\xA6 %zu more frame%s</summary>"
                    "<ol class=\"frames\" start=\"%zu\">",
                    e[i].nframes - nf, e[i].nframes - nf == 1 ? "" : "s", nf + 1);
            for (size_t k = nf; k < e[i].nframes; k++) put_frame(out, &e[i].frames[k], false);
            fputs("</ol></details></li>", out);
        }
        fputs("</ol></details>", out);
    }
}

/* One stack as a list, its culprit frame marked: a crash site, a torture point's site. */
static void put_stack(FILE *out, const mg_entry *e) {
    const mg_frame *culprit = mg_entry_culprit(e);
    fputs("<ol class=\"frames\">", out);
    for (size_t k = 0; k < e->nframes; k++) put_frame(out, &e->frames[k], culprit == &e->frames[k]);
    fputs("</ol>", out);
}

/* --repeat N: each measured run's figures and the steady growth per run. */
static void put_runs(FILE *out, const mg_test_result *t) {
    fprintf(out, "<h3>Measured runs <small>(%zu", t->nruns);
    if (t->has_slope) {
        char sz[48];
        mg_format_size(t->slope_bytes, sz, sizeof sz);
        fprintf(out, "; growth every run shows: %s%s and %" PRId64 " block%s per run", t->slope_bytes > 0 ? "+" : "",
                sz, t->slope_blocks, t->slope_blocks == 1 ? "" : "s");
    }
    fputs(")</small></h3><table class=\"runs\"><thead><tr><th>run</th><th>leak</th><th>growth</th>"
          "<th>net</th><th>net blocks</th><th>peak</th></tr></thead><tbody>",
          out);
    for (size_t k = 0; k < t->nruns; k++) {
        const mg_run_figures *r = &t->runs[k];
        char leak[48] = "\xE2\x80\x94", net[48], peak[48];
        if (r->leak_known) mg_format_size(r->leaked_bytes, leak, sizeof leak);
        mg_format_size(r->net_bytes, net, sizeof net);
        mg_format_size(r->peak_bytes, peak, sizeof peak);
        fprintf(out, "<tr><td>%zu</td><td>%s</td><td>", k + 1, leak);
        if (r->leak_known)
            fprintf(out, "%" PRId64, r->object_growth);
        else
            fputs("\xE2\x80\x94", out);
        fprintf(out, "</td><td>%s</td><td>%" PRId64 "</td><td>%s</td></tr>", net, r->net_blocks, peak);
    }
    fputs("</tbody></table>", out);
}

/* memgate torture: the points that did not cope, each with its site, and a count of the
 * rest. */
static void put_torture(FILE *out, const mg_test_result *t) {
    size_t bad = 0, unreached = 0;
    for (size_t k = 0; k < t->ntorture; k++) {
        mg_torture_outcome o = t->torture[k].outcome;
        bad += o != MG_TO_PASS && o != MG_TO_UNREACHED;
        unreached += o == MG_TO_UNREACHED;
    }
    fprintf(out,
            "<h3>Allocation failures <small>(%" PRIu64 " allocation%s counted; %zu point%s tried, %zu went wrong",
            t->torture_allocations, t->torture_allocations == 1 ? "" : "s", t->ntorture, t->ntorture == 1 ? "" : "s",
            bad);
    if (unreached) fprintf(out, ", %zu not reached", unreached);
    fputs(")</small></h3>", out);
    if (!bad) return;
    fputs("<ul class=\"torture\">", out);
    for (size_t k = 0; k < t->ntorture; k++) {
        const mg_torture_point *p = &t->torture[k];
        if (p->outcome == MG_TO_PASS || p->outcome == MG_TO_UNREACHED) continue;
        fprintf(out, "<li class=\"to-%s\"><b>allocation %" PRIu64 "</b> made to fail: ", mg_torture_outcome_name(p->outcome),
                p->alloc);
        put_text(out, p->message ? p->message : mg_torture_outcome_name(p->outcome), 0);
        if (p->nsite && p->site[0].nframes) {
            fprintf(out, "<details class=\"tb\"><summary>%s</summary>",
                    p->outcome == MG_TO_LEAK ? "where what leaked was allocated" : "where");
            put_stack(out, &p->site[0]);
            fputs("</details>", out);
        }
        fputs("</li>", out);
    }
    fputs("</ul>", out);
}

/* The captured output's tail: at most HTML_OUTPUT_LINES lines, HTML_OUTPUT_BYTES bytes,
 * cut at a line start (or a UTF-8 sequence start when one line is that long). */
static void put_output(FILE *out, const char *output) {
    size_t len = strlen(output), lines = 0;
    for (size_t i = 0; i < len; i++) lines += output[i] == '\n';
    if (len && output[len - 1] != '\n') lines++;
    size_t start = len, seen = 0;
    while (start > 0 && len - start < HTML_OUTPUT_BYTES) {
        if (output[start - 1] == '\n' && start != len && ++seen == HTML_OUTPUT_LINES) break;
        start--;
    }
    if (start > 0 && output[start - 1] != '\n')
        while (start < len && ((unsigned char)output[start] & 0xC0u) == 0x80u) start++;
    size_t kept = 0;
    for (size_t i = start; i < len; i++) kept += output[i] == '\n';
    if (len > start && output[len - 1] != '\n') kept++;
    if (start > 0)
        fprintf(out, "<h3>Output <small>(last %zu of %zu lines)</small></h3>", kept, lines);
    else
        fputs("<h3>Output</h3>", out);
    fputs("<pre class=\"out\">", out);
    put_text(out, output + start, TEXT_LINES | TEXT_ANSI);
    fputs("</pre>", out);
}

/* How the test ran, when that is worth saying: its binary, suite isolation, warm-ups. */
static void put_meta(FILE *out, const mg_test_result *t) {
    if (!t->binary && t->isolation == MG_ISO_TEST && !t->warmups) return;
    fputs("<ul class=\"meta\">", out);
    if (t->binary) {
        fputs("<li>binary <code>", out);
        put_text(out, t->binary, TEXT_WBR);
        fputs("</code></li>", out);
    }
    if (t->isolation != MG_ISO_TEST)
        fprintf(out, "<li class=\"iso\">isolation <b>%s</b></li>", mg_isolation_name(t->isolation));
    if (t->warmups)
        fprintf(out, "<li class=\"warm\"><b>%u</b> warm-up run%s before the measured one</li>",
                t->warmups, t->warmups == 1 ? "" : "s");
    fputs("</ul>", out);
}

/* One card per test. Its summary line carries the test's one sentence about what went
 * wrong (mg_report_headline: broken limits, regressions, culprit, first assertion, or
 * the outcome of a crash, timeout, error or skip); the body gives the figures, lists and
 * tracebacks behind it without saying it again. */
static void put_section(FILE *out, const mg_test_result *t, size_t i, bool with_base) {
    bool open = t->status != MG_ST_PASS && t->status != MG_ST_SKIP;
    fprintf(out,
            "<details class=\"test\" id=\"t-%zu\" data-i=\"%zu\" data-status=\"%s\"%s>"
            "<summary>",
            i, i, mg_status_name(t->status), open ? " open" : "");
    put_badge(out, t->status);
    fputs("<span class=\"tname\">", out);
    put_name(out, t, TEXT_WBR);
    fputs("</span>", out);
    put_kind(out, t);
    if (t->status != MG_ST_PASS) {
        char *why = mg_report_headline(t);
        fputs("<span class=\"why\">", out);
        put_text(out, why, 0);
        fputs("</span>", out);
        free(why);
    }
    if (t->status != MG_ST_SKIP || t->duration_s > 0) {
        fputs("<span class=\"dur\">", out);
        put_duration(out, t->duration_s);
        fputs("</span>", out);
    }
    fputs("</summary>\n<div class=\"body\">", out);
    put_meta(out, t);
    if (has_figures(t)) {
        fprintf(out, "<div class=\"figures\"><div class=\"chart\" data-i=\"%zu\"></div>", i);
        put_limits(out, t, with_base);
        fputs("</div>", out);
        put_suppressed(out, t);
    }
    /* A passing test has no sentence in its summary: a message it carries goes here. */
    if (t->status == MG_ST_PASS && t->message && t->message[0]) {
        fputs("<p class=\"outcome\">", out);
        put_text(out, t->message, 0);
        fputs("</p>", out);
    }
    if (t->nfailures) {
        fprintf(out, "<h3>Assertion failures <small>(%zu)</small></h3><ul class=\"asserts\">",
                t->nfailures);
        for (size_t k = 0; k < t->nfailures; k++) {
            const mg_failure *f = &t->failures[k];
            fputs("<li><code>", out);
            put_text(out, f->file ? base_name(f->file) : "??", 0);
            fprintf(out, ":%u</code> ", f->line);
            put_text(out, f->condition ? f->condition : "", 0);
            fputs("</li>", out);
        }
        fputs("</ul>", out);
    }
    if (t->ncrash_site && t->crash_site[0].nframes) {
        fputs("<h3>Crash site <small>(innermost frame first)</small></h3>", out);
        put_stack(out, &t->crash_site[0]);
    }
    if (t->nruns) put_runs(out, t);
    if (t->tortured) put_torture(out, t);
    if (t->ndiffs) put_entries(out, t->diffs, t->ndiffs, false);
    if (t->npeak_diffs) put_entries(out, t->peak_diffs, t->npeak_diffs, true);
    if (t->violations && !t->ndiffs && !t->npeak_diffs)
        fputs("<p class=\"note\">No tracebacks were recorded.</p>", out);
    for (size_t k = 0; k < t->nnotes; k++) {
        fputs("<p class=\"note\">", out);
        put_text(out, t->notes[k], 0);
        fputs("</p>", out);
    }
    if (t->traced && (t->ndiffs || t->npeak_diffs))
        fputs("<p class=\"note\">These tracebacks come from a traced re-run of the test.</p>", out);
    if (t->rerun_mismatch)
        fputs("<p class=\"note\">The traced re-run did not reproduce the first run's figures; "
              "its tracebacks may not explain them.</p>",
              out);
    if (t->output && t->output[0]) put_output(out, t->output);
    fputs("</div></details>\n", out);
}

static void put_sections(FILE *out, const mg_run *run, const size_t *order) {
    bool with_base = uses_baseline(run);
    for (size_t k = 0; k < run->ntests; k++)
        put_section(out, &run->tests[order[k]], order[k], with_base);
}

/* ---- data for the script ------------------------------------------------------- */

/* A string member; invalid UTF-8 mended (JSON text must be UTF-8), NULL as "". */
static void jstr(mg_json_builder *w, cJSON *obj, const char *key, const char *s) {
    char *fixed = mg_utf8_fix(s);
    mg_json_add(w, obj, key, cJSON_CreateString(fixed ? fixed : s ? s : ""));
    free(fixed);
}

static void jnum_or_null(mg_json_builder *w, cJSON *obj, const char *key, bool present,
                         int64_t v) {
    mg_json_add(w, obj, key, present ? cJSON_CreateNumber((double)v) : cJSON_CreateNull());
}

/* What the charts need per test: each chart figure's value (null when it was not
 * measured), budget (null when unlimited) and baseline (null when none), the verdict on
 * it and the texts to show; plus what the filters and the order control use. */
static void put_test_data(mg_json_builder *w, cJSON *arr, const mg_test_result *t) {
    cJSON *o = mg_json_add(w, arr, NULL, cJSON_CreateObject());
    if (!o) return;
    char *name = mg_xasprintf("%s/%s", t->suite ? t->suite : "", t->name ? t->name : "");
    jstr(w, o, "name", name);
    free(name);
    jstr(w, o, "binary", t->binary);
    jstr(w, o, "status", mg_status_name(t->status));
    jstr(w, o, "kind", mg_kind_name(t->kind));
    jstr(w, o, "isolation", mg_isolation_name(t->isolation));
    mg_json_add(w, o, "warmups", cJSON_CreateNumber(t->warmups));
    mg_json_add(w, o, "group", cJSON_CreateNumber(display_group(t->status)));
    cJSON *tb = mg_json_add(w, o, "tracebacks", cJSON_CreateArray());
    mg_json_add(w, tb, NULL, cJSON_CreateNumber((double)t->ndiffs));
    mg_json_add(w, tb, NULL, cJSON_CreateNumber((double)t->npeak_diffs));
    if (!has_figures(t)) {
        mg_json_add(w, o, "metrics", cJSON_CreateNull());
        return;
    }
    cJSON *ms = mg_json_add(w, o, "metrics", cJSON_CreateArray());
    bool base = has_base_figures(t);
    for (int id = 0; ms && id < MG_M_COUNT; id++) {
        if (!mg_metrics[id].html_column) continue;
        bool known = mg_test_known(t, (mg_metric)id);
        metric m = metric_of(t, (mg_metric)id);
        bool tracked = known && base && mg_metrics[id].baseline;
        int64_t limit = m.limit ? m.limit->value : MG_UNLIMITED;
        cJSON *mo = mg_json_add(w, ms, NULL, cJSON_CreateObject());
        if (!mo) return;
        char a[48], b[48], c[48];
        format_pair(m.id, m.value, limit, a, b, sizeof a);
        jstr(w, mo, "key", m.key);
        jstr(w, mo, "label", m.label);
        mg_json_add(w, mo, "known", cJSON_CreateBool(known));
        jnum_or_null(w, mo, "value", known, m.value);
        jnum_or_null(w, mo, "budget", limit >= 0, limit);
        jnum_or_null(w, mo, "baseline", tracked, m.base);
        mg_json_add(w, mo, "broken", cJSON_CreateBool(known && m.broken));
        mg_json_add(w, mo, "regressed", cJSON_CreateBool(known && m.regressed));
        jstr(w, mo, "text", known ? a : MG_HTML_NONE);
        jstr(w, mo, "budgetText", b);
        if (tracked) {
            mg_metric_format(m.id, m.base, c, sizeof c);
            jstr(w, mo, "baselineText", c);
        } else {
            mg_json_add(w, mo, "baselineText", cJSON_CreateNull());
        }
    }
}

/* The JSON blob, or NULL when out of memory. Free with cJSON_free. */
static char *data_json(const mg_run *run, const scale sc[MG_M_COUNT]) {
    mg_json_builder w = {false};
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return NULL;
    jstr(&w, doc, "version", MEMGATE_VERSION_STRING);
    mg_json_add(&w, doc, "interrupted", cJSON_CreateBool(run->interrupted));
    mg_json_add(&w, doc, "warnings", cJSON_CreateNumber((double)run->nwarnings));
    cJSON *scales = mg_json_add(&w, doc, "scales", cJSON_CreateObject());
    for (int id = 0; scales && id < MG_M_COUNT; id++) {
        if (!mg_metrics[id].html_column) continue;
        cJSON *so = mg_json_add(&w, scales, mg_metrics[id].key, cJSON_CreateObject());
        if (!so) break;
        char text[48];
        mg_metric_format((mg_metric)id, sc[id].max, text, sizeof text);
        mg_json_add(&w, so, "max", cJSON_CreateNumber((double)sc[id].max));
        mg_json_add(&w, so, "log", cJSON_CreateBool(sc[id].log));
        jstr(&w, so, "maxText", text);
    }
    cJSON *tests = mg_json_add(&w, doc, "tests", cJSON_CreateArray());
    for (size_t i = 0; tests && i < run->ntests; i++) put_test_data(&w, tests, &run->tests[i]);
    char *text = w.failed ? NULL : cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

/* ---- the page ------------------------------------------------------------------ */

/* What the template's markers are filled from. */
typedef struct page {
    const mg_run *run;
    const char *json;    /* the data blob */
    const size_t *order; /* display_order() */
} page;

/* Fills the marker name (len bytes) of the template. -1 for a name it does not know. */
static int fill(FILE *out, const char *name, size_t len, const page *pg) {
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
    if (IS("version"))
        put_text(out, MEMGATE_VERSION_STRING, 0);
    else if (IS("title"))
        put_title(out, pg->run);
    else if (IS("columns"))
        put_column_labels(out, pg->run);
    else if (IS("header"))
        put_header(out, pg->run);
    else if (IS("table"))
        put_table(out, pg->run, pg->order);
    else if (IS("details"))
        put_sections(out, pg->run, pg->order);
    else if (IS("data"))
        put_json_blob(out, pg->json);
    else
        return -1;
    return 0;
#undef IS
}

int mg_report_html_write(const mg_run *run, const char *path, char *err, size_t errlen) {
    scale sc[MG_M_COUNT];
    run_scales(run, sc);
    char *json = data_json(run, sc);
    if (!json) {
        mg_set_err(err, errlen, "cannot write HTML report '%s': out of memory", path);
        return -1;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        cJSON_free(json);
        mg_set_err(err, errlen, "cannot write HTML report '%s': out of memory", path);
        return -1;
    }
    size_t *order = display_order(run);
    page pg = {run, json, order};
    static const char open_mark[] = "<!--mg:", close_mark[] = "-->";
    const char *tpl = (const char *)mg__html_template, *p = tpl;
    int rc = 0;
    for (const char *m; (m = strstr(p, open_mark)) != NULL;) {
        fwrite(p, 1, (size_t)(m - p), out);
        const char *name = m + sizeof open_mark - 1, *end = strstr(name, close_mark);
        if (!end || fill(out, name, (size_t)(end - name), &pg) != 0) {
            mg_set_err(err, errlen, "cannot write HTML report '%s': bad template marker at "
                       "byte %zu", path, (size_t)(m - tpl));
            rc = -1;
            break;
        }
        p = end + sizeof close_mark - 1;
    }
    if (rc == 0) fputs(p, out);
    free(order);
    cJSON_free(json);
    if (fclose(out) != 0 || !buf) {
        free(buf);
        mg_set_err(err, errlen, "cannot write HTML report '%s': out of memory", path);
        return -1;
    }
    if (rc == 0) rc = mg_report_write_atomic(path, "HTML report", buf, len, err, errlen);
    free(buf);
    return rc;
}
