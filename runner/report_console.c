/* Console reporter: one line per finished test, then a short account of every test
 * that did not pass and the closing "memgate: N passed, N failed" line. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_common.h"
#include "util.h"

/* Output lines shown for a crash, timeout or error, and the width kept of each. */
#define TAIL_LINES 10
#define TAIL_WIDTH 200
/* Width kept of an outcome sentence on a progress line. */
#define LINE_MESSAGE_WIDTH 100
/* Removed baseline keys listed on the summary's baseline line. */
#define MAX_REMOVED_SHOWN 10

static const char *status_color(mg_status st) {
    switch (st) {
    case MG_ST_PASS: return "\033[32m";
    case MG_ST_FAIL: return "\033[31m";
    case MG_ST_CRASH:
    case MG_ST_ERROR: return "\033[1;31m";
    case MG_ST_TIMEOUT: return "\033[35m";
    case MG_ST_SKIP: return "\033[33m";
    }
    return "";
}

/* The status word padded to a fixed width, coloured when asked (padding stays
 * outside the escape codes so columns line up either way). */
static void put_status(FILE *out, mg_status st, bool color) {
    const char *label = mg_report_status_label(st);
    if (color)
        fprintf(out, "%s%s\033[0m", status_color(st), label);
    else
        fputs(label, out);
    fprintf(out, "%*s", (int)(8 - strlen(label)), "");
}

/* Writes s for a terminal: invalid UTF-8, control characters (C0, DEL, C1: they could
 * drive the terminal) become '?'. With one_line, newlines and tabs become spaces and
 * at most width code points are kept, then "...". Without it, newlines stay. */
static void put_clean(FILE *out, const char *s, bool one_line, size_t width) {
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    size_t shown = 0;
    while (*p) {
        if (one_line && shown >= width) {
            fputs("...", out);
            return;
        }
        unsigned cp;
        size_t n = mg_utf8_seq(p, &cp);
        if (!n) {
            fputc('?', out);
            p++;
        } else if (cp == '\n' || cp == '\t') {
            fputc(one_line ? ' ' : (int)cp, out);
            p += n;
        } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
            fputc('?', out);
            p += n;
        } else {
            fwrite(p, 1, n, out);
            p += n;
        }
        if (!(n && cp == '\n')) shown++;
    }
}

static void put_name(FILE *out, const mg_test_result *t) {
    put_clean(out, t->suite ? t->suite : "", true, 200);
    fputc('/', out);
    put_clean(out, t->name ? t->name : "", true, 200);
}

/* "  peak 12.0 KiB"; "  peak 40.0 MiB > 32.0 MiB" when its limit broke; and
 * " > baseline 30.0 MiB" after it (", > baseline" after a broken limit) when the
 * figure regressed against the baseline. */
static void put_figure(FILE *out, const mg_test_result *t, mg_metric id) {
    const int64_t v = t->fig[id], limit = t->budget.lim[id].value, base = t->baseline.fig[id];
    const bool vs_budget = (t->violations & MG_M_BIT(id)) && limit >= 0;
    const bool regressed = (t->baseline.regressions & MG_M_BIT(id)) != 0;
    char a[48], b[48] = "", c[48] = "";
    mg_metric_format(id, v, a, sizeof a);
    if (vs_budget) mg_metric_format(id, limit, b, sizeof b);
    if (regressed) mg_metric_format(id, base, c, sizeof c);
    /* "4.0 KiB > 4.0 KiB" says nothing: fall back to exact bytes. */
    if ((vs_budget && strcmp(a, b) == 0) || (regressed && strcmp(a, c) == 0)) {
        snprintf(a, sizeof a, "%" PRId64 " B", v);
        if (vs_budget) snprintf(b, sizeof b, "%" PRId64 " B", limit);
        if (regressed) snprintf(c, sizeof c, "%" PRId64 " B", base);
    }
    fprintf(out, "  %s %s", mg_metrics[id].label, a);
    if (vs_budget) fprintf(out, " > %s", b);
    if (regressed) fprintf(out, "%s > baseline %s", vs_budget ? "," : "", c);
}

/* Whether the per-test line shows figure id of t (see mg_line_rule): a known figure
 * that its rule asks for, and always one that broke its limit or regressed. */
static bool line_shows(const mg_test_result *t, mg_metric id) {
    if (!mg_test_known(t, id)) return false;
    if ((t->violations | t->baseline.regressions) & MG_M_BIT(id)) return true;
    const mg_metric_info *mi = &mg_metrics[id];
    switch (mi->line) {
    case MG_LINE_ALWAYS:
    case MG_LINE_KNOWN: return true;
    case MG_LINE_PAIRED:
        /* A net figure says something of its own when a net budget is set or it differs
         * from the leak figure it pairs with. */
        return t->budget.lim[id].value >= 0 || !mg_test_known(t, mi->pair) ||
               t->fig[id] != t->fig[mi->pair];
    case MG_LINE_NEVER: break;
    }
    return false;
}

/* Everything on a progress line after the "[ i/n] " prefix. */
static void put_line_body(FILE *out, const mg_test_result *t, bool color) {
    put_status(out, t->status, color);
    put_name(out, t);
    if (t->status == MG_ST_PASS || t->status == MG_ST_FAIL) {
        for (int m = 0; m < MG_M_COUNT; m++)
            if (line_shows(t, (mg_metric)m)) put_figure(out, t, (mg_metric)m);
        if (t->suppressed_bytes || t->suppressed_blocks) {
            char sz[48];
            mg_format_size(t->suppressed_bytes, sz, sizeof sz);
            fprintf(out, "  suppressed %s in %" PRId64 " block%s", sz, t->suppressed_blocks,
                    t->suppressed_blocks == 1 ? "" : "s");
        }
        if (t->nfailures)
            fprintf(out, "  %zu assertion%s failed", t->nfailures, t->nfailures == 1 ? "" : "s");
        if (t->tortured) {
            size_t bad = 0;
            for (size_t i = 0; i < t->ntorture; i++)
                bad += t->torture[i].outcome != MG_TO_PASS && t->torture[i].outcome != MG_TO_UNREACHED;
            fprintf(out, "  failing allocations: %zu of %zu tried bad", bad, t->ntorture);
        }
    } else if (t->status != MG_ST_SKIP || (t->message && t->message[0])) {
        char *o = mg_report_outcome(t);
        fputs("  ", out);
        put_clean(out, o, true, LINE_MESSAGE_WIDTH);
        free(o);
    }
    if (t->status != MG_ST_SKIP) fprintf(out, "  %.2f s", t->duration_s);
}

static size_t digits(size_t n) {
    size_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

void mg_console_test_line(FILE *out, const mg_test_result *t, size_t index, size_t total,
                          const mg_console_opts *opts) {
    char *body = mg_console_line_body(t, opts);
    mg_console_put_line(out, index, total, body, NULL);
    free(body);
}

char *mg_console_line_body(const mg_test_result *t, const mg_console_opts *opts) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return mg_xstrdup("");
    put_line_body(mem, t, opts && opts->color);
    if (fclose(mem) != 0 || !buf) {
        free(buf);
        return mg_xstrdup("");
    }
    return buf;
}

void mg_console_put_line(FILE *out, size_t index, size_t total, const char *body,
                         const char *trailer) {
    fprintf(out, "[%*zu/%zu] %s%s\n", (int)digits(total), index, total, body ? body : "",
            trailer ? trailer : "");
    fflush(out);
}

/* The last TAIL_LINES lines of the captured output, each cut to TAIL_WIDTH. */
static void put_output_tail(FILE *out, const char *output) {
    if (!output || !output[0]) return;
    size_t len = strlen(output);
    while (len && output[len - 1] == '\n') len--; /* a final newline ends no extra line */
    if (!len) return;
    size_t lines = 1, start = len;
    for (size_t i = 0; i < len; i++)
        if (output[i] == '\n') lines++;
    size_t seen = 0;
    while (start > 0) {
        if (output[start - 1] == '\n' && ++seen == TAIL_LINES) break;
        start--;
    }
    if (lines > TAIL_LINES)
        fprintf(out, "  output (last %d of %zu lines):\n", TAIL_LINES, lines);
    else
        fputs("  output:\n", out);
    char *copy = mg_xcalloc(len - start + 1, 1);
    memcpy(copy, output + start, len - start);
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        fputs("  | ", out);
        put_clean(out, line, true, TAIL_WIDTH);
        fputc('\n', out);
    }
    free(copy);
}

/* The lines that would accept a test over its budget, ready to paste: a budgets-file
 * entry, the annotation (tests only: a suite entry has no body), and a leak: line when
 * the leak comes through a library outside the project (culprit.h's rule). */
static void put_fix_hints(FILE *out, const mg_test_result *t) {
    fputs("  to accept it instead:\n    budgets file: \"tests\": {\"", out);
    put_clean(out, t->suite ? t->suite : "", true, 200);
    fputc('/', out);
    put_clean(out, t->name ? t->name : "", true, 200);
    fputs("\": {", out);
    bool first = true;
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(t->violations & MG_M_BIT(m)) || !mg_metrics[m].budget_key) continue;
        fprintf(out, "%s\"%s\": %" PRId64, first ? "" : ", ", mg_metrics[m].budget_key, t->fig[m]);
        first = false;
    }
    fputs("}}\n", out);
    if (t->kind == MG_KIND_TEST) {
        fputs("    in the test:  MEMGATE_BUDGET(", out);
        first = true;
        for (int m = 0; m < MG_M_COUNT; m++) {
            if (!(t->violations & MG_M_BIT(m)) || !mg_metrics[m].budget_key) continue;
            fprintf(out, "%s.%s = %" PRId64, first ? "" : ", ", mg_metrics[m].budget_key, t->fig[m]);
            first = false;
        }
        fputs(");\n", out);
    }
    if (t->ndiffs && (t->violations & (MG_M_BIT(MG_M_LEAK) | MG_M_BIT(MG_M_GROWTH)))) {
        const mg_entry *e = &t->diffs[0];
        for (size_t k = 0; k < e->nframes && k <= e->culprit; k++) {
            const char *mod = e->frames[k].module;
            /* Never the runtime: leak:libc.so.6 would hide every leak through malloc. */
            if (!mg_trace_system_module(mod) || mg_trace_runtime_module(mod)) continue;
            const char *base = strrchr(mod, '/');
            fputs("    suppression:  leak:", out);
            put_clean(out, base ? base + 1 : mod, true, 200);
            fputs("   (a library outside the project allocates it)\n", out);
            break;
        }
    }
}

/* The account of one test that did not pass: header, what broke, output tail. */
static void put_problem(FILE *out, const mg_test_result *t, const mg_console_opts *opts) {
    fputc('\n', out);
    put_status(out, t->status, opts->color);
    put_name(out, t);
    fputs("  (", out);
    put_clean(out, t->binary ? t->binary : "?", true, 200);
    fprintf(out, ", %.2f s)\n", t->duration_s);

    /* Render to memory first so names and symbols pass through put_clean. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (mem) {
        mg_report_problem_grouped(mem, t, "  ", opts->max_tracebacks, opts->max_frames, opts->group_by);
        if (fclose(mem) == 0 && buf) put_clean(out, buf, false, 0);
        free(buf);
    }
    if (t->status == MG_ST_CRASH || t->status == MG_ST_TIMEOUT || t->status == MG_ST_ERROR)
        put_output_tail(out, t->output);
    if (t->status == MG_ST_FAIL && t->violations) put_fix_hints(out, t);
}

/* "baseline: 2 new tests, 1 removed (bin:suite/gone)": what changed between the
 * baseline and the run, listing at most MAX_REMOVED_SHOWN removed keys. */
static void put_baseline_line(FILE *out, const mg_run *run) {
    size_t fresh = 0;
    for (size_t i = 0; i < run->ntests; i++)
        if (run->tests[i].baseline.state == MG_BASE_NEW) fresh++;
    fprintf(out, "baseline: %zu new test%s, %zu removed", fresh, fresh == 1 ? "" : "s",
            run->nbaseline_removed);
    if (run->nbaseline_removed) {
        size_t shown = run->nbaseline_removed < MAX_REMOVED_SHOWN ? run->nbaseline_removed
                                                                  : MAX_REMOVED_SHOWN;
        fputs(" (", out);
        for (size_t i = 0; i < shown; i++) {
            if (i) fputs(", ", out);
            put_clean(out, run->baseline_removed[i] ? run->baseline_removed[i] : "", true, 200);
        }
        if (run->nbaseline_removed > shown)
            fprintf(out, ", ... %zu more", run->nbaseline_removed - shown);
        fputc(')', out);
    }
    fputc('\n', out);
}

void mg_console_summary(FILE *out, const mg_run *run, const mg_console_opts *opts) {
    mg_console_opts defaults = {false, MG_REPORT_DEFAULT_TRACEBACKS, MG_REPORT_DEFAULT_FRAMES,
                                false, MG_GROUP_LINE, false};
    if (!opts) opts = &defaults;
    bool listed = false, problems = false;
    for (size_t i = 0; i < run->ntests; i++) {
        const mg_test_result *t = &run->tests[i];
        if (t->status == MG_ST_PASS || t->status == MG_ST_SKIP) {
            if (opts->verbose && !opts->quiet) {
                if (!listed) fputc('\n', out);
                put_line_body(out, t, opts->color);
                fputc('\n', out);
                listed = true;
            }
            continue;
        }
        put_problem(out, t, opts);
        problems = true;
    }
    mg_tally n;
    mg_run_tally(run, &n);
    /* Quiet: the closing lines only, set apart by a blank line only from accounts of
     * problems above them; the baseline line only when tests went missing. */
    if (!opts->quiet || problems) fputc('\n', out);
    fprintf(out, "memgate: ran %zu test%s in %.2f s\n", n.total, n.total == 1 ? "" : "s",
            run->duration_s);
    if (run->baseline_path && (!opts->quiet || run->nbaseline_removed)) put_baseline_line(out, run);
    for (size_t i = 0; i < run->nwarnings; i++) {
        fputs("memgate: warning: ", out);
        put_clean(out, run->warnings[i] ? run->warnings[i] : "", true, 400);
        fputc('\n', out);
    }
    if (run->interrupted)
        fprintf(out, "memgate: the run was interrupted; this covers the %zu test%s that "
                "finished\n", n.total, n.total == 1 ? "" : "s");
    fprintf(out, "memgate: %zu passed, %zu failed", n.pass, n.fail);
    if (n.crash) fprintf(out, ", %zu crashed", n.crash);
    if (n.timeout) fprintf(out, ", %zu timed out", n.timeout);
    if (n.error) fprintf(out, ", %zu error%s", n.error, n.error == 1 ? "" : "s");
    if (n.skip) fprintf(out, ", %zu skipped", n.skip);
    fputc('\n', out);
    fflush(out);
}

