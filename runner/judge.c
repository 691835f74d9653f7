/*
 * Judging one entry (judge.h): figures and tracebacks from a child's report, how the
 * child ended, and the verdict.
 */
#include "judge.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *mg_signal_name(int sig, char *buf, size_t len) {
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %d", sig);
    return buf;
}

static void append_msg(mg_test_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_msg(mg_test_result *r, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!r->message) {
        r->message = mg_xstrdup(buf);
    } else {
        char *m = mg_xasprintf("%s; %s", r->message, buf);
        free(r->message);
        r->message = m;
    }
}

/* ---- annotations ------------------------------------------------------------------------ */
void mg_annotation_from_window(mg_annotation *a, const mg_wire_window *w) {
    memset(a, 0, sizeof *a);
    for (int m = 0; m < MG_M_COUNT; m++) a->values[m] = MG_LIMIT_UNSET;
    a->warmups = MG_LIMIT_UNSET;
    a->repeat = MG_LIMIT_UNSET;
    if (!w || !w->has_annotation) return;
    a->set = true;
    a->file = mg_xstrdup(w->annotation_file);
    a->line = w->annotation_line;
    for (size_t i = 0; i < w->nannotation; i++) {
        const mg_wire_kv *kv = &w->annotation[i];
        if (!strcmp(kv->key, "warmups")) {
            a->warmups = kv->value;
            continue;
        }
        if (!strcmp(kv->key, "repeat")) {
            a->repeat = kv->value;
            continue;
        }
        int m = mg_metric_by_key(kv->key, true);
        if (m < 0) {
            if (!a->unknown) a->unknown = mg_xstrdup(kv->key);
            continue;
        }
        a->values[m] = kv->value;
    }
}

void mg_annotation_free(mg_annotation *a) {
    if (!a) return;
    free(a->file);
    free(a->unknown);
    a->file = a->unknown = NULL;
}

/* ---- figures -------------------------------------------------------------------------------- */
void mg_judge_take_window(mg_test_result *r, const mg_wire_window *w) {
    if (!w->closed) return;
    mg_test_set(r, MG_M_NET_BYTES, w->net_bytes);
    mg_test_set(r, MG_M_NET_BLOCKS, w->net_blocks);
    mg_test_set(r, MG_M_PEAK, w->peak_bytes);
    mg_test_set(r, MG_M_ALLOCS, (int64_t)w->allocations);
    if (w->leak_known) {
        mg_test_set(r, MG_M_LEAK, w->leaked_bytes);
        mg_test_set(r, MG_M_GROWTH, w->object_growth);
    } else if (w->pending_bytes == 0 && w->pending_blocks == 0) {
        /* Nothing of the window was live at its close: the shutdown cannot leave any. */
        mg_test_set(r, MG_M_LEAK, 0);
        mg_test_set(r, MG_M_GROWTH, 0);
    }
    r->duration_s = (double)w->dur_ns / 1e9;
    for (size_t i = 0; i < r->nfailures; i++) {
        free(r->failures[i].file);
        free(r->failures[i].condition);
    }
    free(r->failures);
    r->failures = NULL;
    r->nfailures = 0;
    for (size_t i = 0; i < w->nfailures; i++) {
        if (strcmp(w->failures[i].kind, "assert") != 0) continue;
        r->failures = mg_xrealloc(r->failures, (r->nfailures + 1) * sizeof *r->failures);
        mg_failure *f = &r->failures[r->nfailures++];
        f->file = mg_xstrdup(w->failures[i].file);
        f->line = w->failures[i].line;
        f->condition = mg_xstrdup(w->failures[i].condition);
    }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

void mg_judge_take_runs(mg_test_result *r, const mg_wire_window *const *ws, size_t n) {
    mg_judge_take_window(r, ws[n - 1]); /* the last run's failures, duration, known bits */
    free(r->runs);
    r->runs = mg_xcalloc(n, sizeof *r->runs);
    r->nruns = 0;
    bool all_closed = true, all_leaks = true;
    for (size_t i = 0; i < n; i++) {
        const mg_wire_window *w = ws[i];
        if (!w->closed) {
            all_closed = false;
            continue;
        }
        mg_run_figures *rf = &r->runs[r->nruns++];
        rf->net_bytes = w->net_bytes;
        rf->net_blocks = w->net_blocks;
        rf->peak_bytes = w->peak_bytes;
        rf->leak_known = w->leak_known || (w->pending_bytes == 0 && w->pending_blocks == 0);
        rf->leaked_bytes = w->leak_known ? w->leaked_bytes : 0;
        rf->object_growth = w->leak_known ? w->object_growth : 0;
        if (!rf->leak_known) all_leaks = false;
    }
    if (!all_closed || !r->nruns) return;
    const mg_run_figures *f = r->runs;
    int64_t leak = f->leaked_bytes, growth = f->object_growth, net = f->net_bytes, netb = f->net_blocks;
    int64_t peak = f->peak_bytes;
    for (size_t i = 1; i < r->nruns; i++) {
        leak = min64(leak, r->runs[i].leaked_bytes);
        growth = min64(growth, r->runs[i].object_growth);
        net = min64(net, r->runs[i].net_bytes);
        netb = min64(netb, r->runs[i].net_blocks);
        peak = max64(peak, r->runs[i].peak_bytes);
    }
    mg_test_set(r, MG_M_NET_BYTES, net);
    mg_test_set(r, MG_M_NET_BLOCKS, netb);
    mg_test_set(r, MG_M_PEAK, peak);
    if (all_leaks) {
        mg_test_set(r, MG_M_LEAK, leak);
        mg_test_set(r, MG_M_GROWTH, growth);
        r->has_slope = true;
        r->slope_bytes = leak;
        r->slope_blocks = growth;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++) total += (double)ws[i]->dur_ns / 1e9;
    r->duration_s = total;
}

static void free_entries(mg_entry **arr, size_t *n) {
    for (size_t i = 0; i < *n; i++) mg_entry_free_contents(&(*arr)[i]);
    free(*arr);
    *arr = NULL;
    *n = 0;
}

/* Symbolized entries of one kind of a window. */
static void resolve_entries(const mg_wire_entry *in, size_t n, const mg_wire_report *rep,
                            const mg_trace_rules *rules, mg_entry **out, size_t *nout) {
    *out = mg_xcalloc(n ? n : 1, sizeof **out);
    *nout = 0;
    for (size_t i = 0; i < n; i++) {
        mg_entry e = {0};
        e.size = in[i].size;
        e.size_diff = in[i].size_diff;
        e.count = in[i].count;
        e.count_diff = in[i].count_diff;
        e.lost_known = in[i].lost_known;
        e.lost_size = in[i].lost_size;
        e.lost_count = in[i].lost_count;
        const mg_wire_stack *s = mg_wire_find_stack(rep, in[i].stack);
        if (s) mg_trace_resolve(rep->modules, s->ips, s->n, rules, &e.frames, &e.nframes, &e.culprit);
        (*out)[(*nout)++] = e;
    }
}

void mg_judge_take_traces(mg_test_result *r, const mg_wire_window *w, const mg_wire_report *rep,
                          const mg_trace_rules *rules, const mg_suppressions *supp, bool with_peak) {
    free_entries(&r->diffs, &r->ndiffs);
    free_entries(&r->peak_diffs, &r->npeak_diffs);
    r->traced = true;
    bool leak_entries = w->nleak > 0;
    mg_entry *all;
    size_t nall;
    if (leak_entries)
        resolve_entries(w->leak, w->nleak, rep, rules, &all, &nall);
    else
        resolve_entries(w->net, w->nnet, rep, rules, &all, &nall);
    /* Suppressions take leaked blocks out of the leak (LeakSanitizer's leak: lines). */
    r->diffs = mg_xcalloc(nall ? nall : 1, sizeof *r->diffs);
    int64_t sup_bytes = 0, sup_blocks = 0, sup_lost_bytes = 0, sup_lost_blocks = 0;
    const char *sup_pattern = NULL;
    for (size_t i = 0; i < nall; i++) {
        const char *pat = leak_entries && supp && all[i].nframes ? mg_supp_match(supp, &all[i]) : NULL;
        if (pat) {
            sup_pattern = pat;
            sup_lost_bytes += all[i].lost_size;
            sup_lost_blocks += all[i].lost_count;
            sup_bytes += all[i].size_diff;
            sup_blocks += all[i].count_diff;
            mg_entry_free_contents(&all[i]);
            continue;
        }
        r->diffs[r->ndiffs++] = all[i];
    }
    free(all);
    /* The part of the leak no pointer reaches, when the traced run scanned for it. */
    if (leak_entries && w->lost_known) {
        mg_test_set(r, MG_M_LOST_BYTES, w->lost_bytes - sup_lost_bytes);
        mg_test_set(r, MG_M_LOST_BLOCKS, w->lost_blocks - sup_lost_blocks);
    } else if (w->lost_known && w->lost_bytes == 0) {
        mg_test_set(r, MG_M_LOST_BYTES, 0);
        mg_test_set(r, MG_M_LOST_BLOCKS, 0);
    }
    if (sup_bytes || sup_blocks) {
        r->suppressed_bytes = sup_bytes;
        r->suppressed_blocks = sup_blocks;
        if (mg_test_known(r, MG_M_LEAK)) r->fig[MG_M_LEAK] -= sup_bytes;
        if (mg_test_known(r, MG_M_GROWTH)) r->fig[MG_M_GROWTH] -= sup_blocks;
        char size[48];
        mg_metric_format(MG_M_LEAK, sup_bytes, size, sizeof size);
        append_msg(r, "suppressed %s in %" PRId64 " block%s (e.g. leak:%s)", size, sup_blocks,
                   sup_blocks == 1 ? "" : "s", sup_pattern);
    }
    if (with_peak) resolve_entries(w->peak, w->npeak, rep, rules, &r->peak_diffs, &r->npeak_diffs);
    if (!r->npeak_diffs) free_entries(&r->peak_diffs, &r->npeak_diffs);
}

/* ---- how a child ended ------------------------------------------------------------------ */
/* Heap misuse reported by glibc on stderr before it aborts. */
static const char *glibc_heap_message(const char *out) {
    static const char *needles[] = {"double free", "free(): invalid", "corrupted",
                                    "malloc(): ", "realloc(): invalid", "munmap_chunk()"};
    if (!out) return NULL;
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++) {
        const char *p = strstr(out, needles[i]);
        if (p) {
            while (p > out && p[-1] != '\n') p--;
            return p;
        }
    }
    return NULL;
}

void mg_judge_crash(mg_test_result *r, int sig, const char *output) {
    mg_judge_crash_at(r, sig, output, NULL, NULL, NULL);
}

void mg_judge_crash_at(mg_test_result *r, int sig, const char *output, const mg_wire_report *rep,
                       const char *modules, const mg_trace_rules *rules) {
    char name[32];
    r->status = MG_ST_CRASH;
    r->signal = sig;
    /* Where: the stack the child's crash handler sent, symbolized with its modules (or,
     * since a crashing child does not walk them, the driver's). */
    char where[512] = "";
    if (rep && rep->crashed && rep->crash_site.n) {
        mg_entry e = {0};
        e.size = e.size_diff = rep->crash_figures ? rep->crash_net_bytes : 0;
        e.count = e.count_diff = rep->crash_figures ? rep->crash_net_blocks : 0;
        mg_trace_resolve(rep->modules ? rep->modules : modules, rep->crash_site.ips, rep->crash_site.n, rules,
                         &e.frames, &e.nframes, &e.culprit);
        if (e.nframes) {
            const mg_frame *f = &e.frames[e.culprit < e.nframes ? e.culprit : 0];
            const char *file = f->file ? strrchr(f->file, '/') : NULL;
            if (f->file)
                snprintf(where, sizeof where, " in %s (%s:%u)", f->function, file ? file + 1 : f->file, f->line);
            else
                snprintf(where, sizeof where, " in %s", f->function);
        }
        for (size_t i = 0; i < r->ncrash_site; i++) mg_entry_free_contents(&r->crash_site[i]);
        free(r->crash_site);
        r->crash_site = mg_xcalloc(1, sizeof *r->crash_site);
        r->crash_site[0] = e;
        r->ncrash_site = 1;
    }
    /* What the test held until then: the figures of its window up to the crash. */
    if (rep && rep->crashed && rep->crash_figures) {
        mg_test_set(r, MG_M_NET_BYTES, rep->crash_net_bytes);
        mg_test_set(r, MG_M_NET_BLOCKS, rep->crash_net_blocks);
        mg_test_set(r, MG_M_PEAK, rep->crash_peak_bytes);
        mg_test_set(r, MG_M_ALLOCS, (int64_t)rep->crash_allocations);
    }
    const char *heap = glibc_heap_message(output);
    if (heap)
        append_msg(r, "heap corruption detected by glibc: %.*s (%s)%s", (int)strcspn(heap, "\n"), heap,
                   mg_signal_name(sig, name, sizeof name), where);
    else
        append_msg(r, "crashed: killed by %s (%s)%s", mg_signal_name(sig, name, sizeof name), strsignal(sig), where);
    if (rep && rep->crashed && rep->crash_figures && rep->crash_net_bytes > 0) {
        char size[48];
        mg_metric_format(MG_M_NET_BYTES, rep->crash_net_bytes, size, sizeof size);
        append_msg(r, "it held %s in %" PRId64 " block%s when it crashed", size, rep->crash_net_blocks,
                   rep->crash_net_blocks == 1 ? "" : "s");
    }
}

void mg_judge_timeout(mg_test_result *r, unsigned timeout_ms) {
    r->status = MG_ST_TIMEOUT;
    append_msg(r, "timed out after %.1f s (process group killed)", (double)timeout_ms / 1000.0);
}

void mg_judge_error(mg_test_result *r, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->status = MG_ST_ERROR;
    append_msg(r, "%s", buf);
}

void mg_judge_misuse(mg_test_result *r, const mg_wire_report *rep, const mg_trace_rules *rules, int sig) {
    r->status = MG_ST_CRASH;
    r->signal = sig ? sig : SIGABRT;
    mg_frame *frames;
    size_t nf, culprit;
    mg_trace_resolve(rep->modules, rep->misuse_site.ips, rep->misuse_site.n, rules, &frames, &nf, &culprit);
    bool dbl = rep->misuse && !strcmp(rep->misuse, "double-free");
    const char *what = dbl ? "double free" : "the bytes after a block were overwritten (heap buffer overflow), or free() got a pointer malloc did not return";
    if (nf) {
        const mg_frame *f = &frames[culprit < nf ? culprit : 0];
        const char *file = f->file ? f->file : "?";
        const char *slash = strrchr(file, '/');
        append_msg(r, "heap misuse: %s of 0x%" PRIx64 " in %s (%s:%u)", what, rep->misuse_addr, f->function,
                   slash ? slash + 1 : file, f->line);
    } else {
        append_msg(r, "heap misuse: %s of 0x%" PRIx64, what, rep->misuse_addr);
    }
    mg_entry site = {.frames = frames, .nframes = nf};
    mg_entry_free_contents(&site);
}

/* ---- the verdict ------------------------------------------------------------------------------ */
/* The budget in force: base with the annotation on top. -1 (with err) for an annotation
 * that is not valid. */
static int effective_budget(const mg_budget *base, const mg_annotation *ann, mg_budget *out, char *err,
                            size_t errlen) {
    mg_budget_copy(out, base);
    if (!ann || !ann->set) return 0;
    if (ann->unknown) {
        mg_set_err(err, errlen, "MEMGATE_BUDGET at %s:%u: this memgate does not know the field '%s'",
                   ann->file ? ann->file : "?", ann->line, ann->unknown);
        return -1;
    }
    if (ann->warmups != MG_LIMIT_UNSET && ann->warmups < 0 && ann->warmups != MG_UNLIMITED) {
        mg_set_err(err, errlen, "MEMGATE_BUDGET(.warmups = %" PRId64 ") at %s:%u: warm-ups must be >= 0",
                   ann->warmups, ann->file ? ann->file : "?", ann->line);
        return -1;
    }
    return mg_budget_apply_annotation(out, ann->values, ann->file, ann->line, err, errlen);
}

unsigned mg_judge_preview(const mg_test_result *r, const mg_budget *base, const mg_annotation *ann,
                          const mg_judge_ctx *ctx, unsigned *regressions) {
    mg_budget b;
    char err[256];
    unsigned viol = 0;
    if (effective_budget(base, ann, &b, err, sizeof err) == 0) viol = mg_budget_check(&b, r->fig, r->known);
    mg_budget_free_contents(&b);
    if (regressions) {
        *regressions = 0;
        if (ctx && ctx->baseline) {
            mg_baseline_cmp cmp;
            *regressions = mg_baseline_compare_test(ctx->baseline, ctx->tolerance, r, &cmp);
        }
    }
    return viol;
}

/* "leak 446 B > budget 0 B" for each broken limit. */
static void budget_message(mg_test_result *r) {
    for (int m = 0; m < MG_M_COUNT; m++) {
        if (!(r->violations & MG_M_BIT(m))) continue;
        char a[48], b[48];
        mg_metric_format((mg_metric)m, r->fig[m], a, sizeof a);
        mg_metric_format((mg_metric)m, r->budget.lim[m].value, b, sizeof b);
        append_msg(r, "%s %s > budget %s", mg_metric_get((mg_metric)m)->label, a, b);
    }
}

void mg_judge_final(mg_test_result *r, const mg_budget *base, const mg_annotation *ann,
                    const mg_judge_ctx *ctx) {
    mg_budget_free_contents(&r->budget);
    char err[512];
    bool bad_annotation = effective_budget(base, ann, &r->budget, err, sizeof err) != 0;
    if (bad_annotation) {
        mg_budget_free_contents(&r->budget);
        mg_budget_copy(&r->budget, base);
    }
    bool abnormal = r->status == MG_ST_CRASH || r->status == MG_ST_TIMEOUT ||
                    r->status == MG_ST_ERROR || r->status == MG_ST_SKIP;
    if (abnormal) {
        r->violations = 0;
        return;
    }
    if (r->nruns > 1) {
        char list[512] = "";
        size_t off = 0;
        for (size_t i = 0; i < r->nruns && off < sizeof list - 32; i++) {
            char one[48];
            mg_metric_format(MG_M_LEAK, r->runs[i].leaked_bytes, one, sizeof one);
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", one);
        }
        char slope[48];
        mg_metric_format(MG_M_LEAK, r->slope_bytes, slope, sizeof slope);
        if (r->has_slope)
            mg_test_add_note(r, "measured %zu times: leaked %s; every run grows by at least %s in %" PRId64
                                " block%s",
                             r->nruns, list, slope, r->slope_blocks, r->slope_blocks == 1 ? "" : "s");
    }
    char *outcome = r->message; /* said while the figures were taken: kept after the verdict */
    r->message = NULL;
    r->violations = mg_budget_check(&r->budget, r->fig, r->known);
    memset(&r->baseline, 0, sizeof r->baseline);
    unsigned regressions = 0;
    if (ctx && ctx->baseline) regressions = mg_baseline_compare_test(ctx->baseline, ctx->tolerance, r, &r->baseline);
    if (bad_annotation) {
        r->status = MG_ST_ERROR;
        append_msg(r, "%s", err);
    } else {
        r->status = r->nfailures || r->violations || regressions ? MG_ST_FAIL : MG_ST_PASS;
        if (r->nfailures) append_msg(r, "%zu assertion(s) failed", r->nfailures);
        budget_message(r);
        for (int m = 0; m < MG_M_COUNT; m++) {
            if (!(regressions & MG_M_BIT(m))) continue;
            char a[48], b[48];
            mg_metric_format((mg_metric)m, r->fig[m], a, sizeof a);
            mg_metric_format((mg_metric)m, r->baseline.fig[m], b, sizeof b);
            append_msg(r, "%s %s > baseline %s", mg_metric_get((mg_metric)m)->label, a, b);
        }
    }
    if (outcome) {
        append_msg(r, "%s", outcome);
        free(outcome);
    }
}
