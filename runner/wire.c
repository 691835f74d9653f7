/*
 * The CLI's side of the wire protocol: parsers for what drivers and test children send
 * (wire.h). Everything received is untrusted: lines that do not parse are skipped and
 * counted, lengths and indices are bounded, strings are unescaped into heap copies.
 */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void mg_unescape(char *s) {
    if (s[0] == '-' && s[1] == '\0') {
        s[0] = '\0';
        return;
    }
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Splits a line into at most max tokens on spaces (in place). */
static int tokenize(char *line, char **tok, int max) {
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    return n;
}

/* Whole-token numbers; false (and *out untouched) on anything else. */
static bool parse_i64(const char *s, int64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_hex(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_uint(const char *s, unsigned *out) {
    uint64_t v;
    if (!parse_u64(s, &v) || v > UINT32_MAX) return false;
    *out = (unsigned)v;
    return true;
}

/* The value of token "key=value", or NULL. */
static const char *kv(const char *tok, const char *key) {
    size_t n = strlen(key);
    return strncmp(tok, key, n) == 0 && tok[n] == '=' ? tok + n + 1 : NULL;
}

/* Looks key up among tokens tok[from..n): its value, or NULL. */
static const char *find_kv(char **tok, int from, int n, const char *key) {
    for (int i = from; i < n; i++) {
        const char *v = kv(tok[i], key);
        if (v) return v;
    }
    return NULL;
}

static char *unescaped_copy(char *tok) {
    mg_unescape(tok);
    return mg_xstrdup(tok);
}

/* ---- driver messages --------------------------------------------------------------- */
int mg_wire_parse_hello(const char *line, int *version, pid_t *pid) {
    char copy[256];
    snprintf(copy, sizeof copy, "%s", line);
    copy[strcspn(copy, "\n")] = '\0';
    char *tok[8];
    int n = tokenize(copy, tok, 8);
    if (n < 3 || strcmp(tok[0], "HELLO") || strcmp(tok[1], "memgate")) return -1;
    int64_t v;
    if (!parse_i64(tok[2], &v)) return -1;
    *version = (int)v;
    int64_t p = 0;
    const char *pv = find_kv(tok, 3, n, "pid");
    if (pv && !parse_i64(pv, &p)) p = 0;
    *pid = (pid_t)p;
    return 0;
}

/* Appends s to a NULL-terminated list. */
static void list_add(char ***list, char *s) {
    size_t n = 0;
    while (*list && (*list)[n]) n++;
    *list = mg_xrealloc(*list, (n + 2) * sizeof **list);
    (*list)[n] = s;
    (*list)[n + 1] = NULL;
}

static void free_strlist(char **list) {
    for (size_t i = 0; list && list[i]; i++) free(list[i]);
    free(list);
}

int mg_wire_parse_list(const char *text, size_t len, mg_wire_list *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    char *copy = mg_xcalloc(1, len + 1);
    memcpy(copy, text, len);
    char *save = NULL;
    int rc = 0;
    size_t cap_s = 0, cap_t = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tok[8];
        int n = tokenize(line, tok, 8);
        if (n == 0) continue;
        if (!strcmp(tok[0], "LIST")) {
            const char *a = find_kv(tok, 1, n, "adapter");
            if (a) {
                char buf[128];
                snprintf(buf, sizeof buf, "%s", a);
                free(out->adapter);
                out->adapter = mg_xstrdup(buf);
            }
        } else if (!strcmp(tok[0], "U") && n == 6) {
            unsigned idx, act, init, clean;
            if (!parse_uint(tok[1], &idx) || !parse_uint(tok[2], &act) || !parse_uint(tok[3], &init) ||
                !parse_uint(tok[4], &clean))
                continue;
            if (idx != out->nsuites) {
                mg_set_err(err, errlen, "suite %u listed out of order", idx);
                rc = -1;
                break;
            }
            if (out->nsuites == cap_s) {
                cap_s = cap_s ? cap_s * 2 : 16;
                out->suites = mg_xrealloc(out->suites, cap_s * sizeof *out->suites);
            }
            out->suites[out->nsuites++] =
                (mg_wire_suite){unescaped_copy(tok[5]), act != 0, init != 0, clean != 0};
        } else if (!strcmp(tok[0], "T") && n == 5) {
            unsigned idx, suite, act;
            if (!parse_uint(tok[1], &idx) || !parse_uint(tok[2], &suite) || !parse_uint(tok[3], &act))
                continue;
            if (idx != out->ntests || suite >= out->nsuites) {
                mg_set_err(err, errlen, "test %u listed out of order or in an unknown suite", idx);
                rc = -1;
                break;
            }
            if (out->ntests == cap_t) {
                cap_t = cap_t ? cap_t * 2 : 64;
                out->tests = mg_xrealloc(out->tests, cap_t * sizeof *out->tests);
            }
            out->tests[out->ntests++] = (mg_wire_test){unescaped_copy(tok[4]), suite, act != 0};
        } else if (!strcmp(tok[0], "MOD")) {
            /* Rebuilt from its tokens: the line was split in place. */
            char line_text[4200];
            size_t off = 0;
            for (int i = 0; i < n && off < sizeof line_text - 1; i++)
                off += (size_t)snprintf(line_text + off, sizeof line_text - off, "%s%s", i ? " " : "", tok[i]);
            size_t have = out->modules ? strlen(out->modules) : 0;
            out->modules = mg_xrealloc(out->modules, have + off + 2);
            memcpy(out->modules + have, line_text, off);
            out->modules[have + off] = '\n';
            out->modules[have + off + 1] = '\0';
        } else if (!strcmp(tok[0], "H") && n == 3) {
            if (!strcmp(tok[1], "function")) list_add(&out->harness_functions, unescaped_copy(tok[2]));
            else if (!strcmp(tok[1], "module")) list_add(&out->harness_modules, unescaped_copy(tok[2]));
        }
    }
    free(copy);
    if (rc != 0) mg_wire_list_free(out);
    return rc;
}

void mg_wire_list_free(mg_wire_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->nsuites; i++) free(l->suites[i].name);
    for (size_t i = 0; i < l->ntests; i++) free(l->tests[i].name);
    free(l->suites);
    free(l->tests);
    free(l->adapter);
    free(l->modules);
    free_strlist(l->harness_functions);
    free_strlist(l->harness_modules);
    memset(l, 0, sizeof *l);
}

int mg_wire_list_same(const mg_wire_list *a, const mg_wire_list *b) {
    if (a->nsuites != b->nsuites || a->ntests != b->ntests) return 0;
    for (size_t i = 0; i < a->nsuites; i++)
        if (strcmp(a->suites[i].name, b->suites[i].name) || a->suites[i].active != b->suites[i].active)
            return 0;
    for (size_t i = 0; i < a->ntests; i++)
        if (strcmp(a->tests[i].name, b->tests[i].name) || a->tests[i].suite != b->tests[i].suite ||
            a->tests[i].active != b->tests[i].active)
            return 0;
    return 1;
}

int mg_wire_parse_result_header(const char *line, mg_wire_result_hdr *out) {
    char copy[256];
    snprintf(copy, sizeof copy, "%s", line);
    copy[strcspn(copy, "\n")] = '\0';
    char *tok[8];
    int n = tokenize(copy, tok, 8);
    memset(out, 0, sizeof *out);
    if (n < 7 || strcmp(tok[0], "RESULT")) return -1;
    int64_t w;
    uint64_t to, dur, res, o;
    if (!parse_uint(tok[1], &out->tag) || !parse_i64(find_kv(tok, 2, n, "wstatus"), &w) ||
        !parse_u64(find_kv(tok, 2, n, "timeout"), &to) || !parse_u64(find_kv(tok, 2, n, "dur_ns"), &dur) ||
        !parse_u64(find_kv(tok, 2, n, "res"), &res) || !parse_u64(find_kv(tok, 2, n, "out"), &o))
        return -1;
    /* A child's report and output are bounded by the driver (output) or by what a
     * test can reasonably produce; refuse absurd lengths rather than wait for them. */
    if (res > ((uint64_t)1 << 32) || o > ((uint64_t)1 << 32)) return -1;
    out->wstatus = (int)w;
    out->timed_out = to != 0;
    out->dur_ns = dur;
    out->res_len = (size_t)res;
    out->out_len = (size_t)o;
    return 0;
}

int mg_wire_parse_error(const char *line, unsigned *tag, char **message) {
    size_t len = strcspn(line, "\n");
    char *copy = mg_xcalloc(1, len + 1);
    memcpy(copy, line, len);
    char *tok[4];
    int n = tokenize(copy, tok, 4);
    int rc = -1;
    if (n >= 3 && !strcmp(tok[0], "ERROR") && parse_uint(tok[1], tag)) {
        *message = unescaped_copy(tok[2]);
        rc = 0;
    }
    free(copy);
    return rc;
}

/* ---- a child's report ------------------------------------------------------------------ */
static mg_wire_window *window_by_id(mg_wire_report *r, unsigned id) {
    for (size_t i = r->nwindows; i-- > 0;)
        if (r->windows[i].id == id) return &r->windows[i];
    return NULL;
}

static void add_entry(mg_wire_entry **arr, size_t *n, const mg_wire_entry *e) {
    if (*n >= MG_WIRE_MAX_DIFFS) return;
    *arr = mg_xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = *e;
}

static void parse_stack(char **tok, int n, mg_wire_stack *s) {
    s->n = 0;
    for (int i = 0; i < n && s->n < 64; i++) {
        uint64_t ip;
        if (parse_hex(tok[i], &ip)) s->ips[s->n++] = ip;
    }
}

/* Parses one line of a report; false when it was not understood. */
static bool report_line(mg_wire_report *r, char *line) {
    if (!strncmp(line, "MOD ", 4)) {
        size_t l = strlen(line);
        r->modules = mg_xrealloc(r->modules, r->modules_len + l + 2);
        memcpy(r->modules + r->modules_len, line, l);
        r->modules[r->modules_len + l] = '\n';
        r->modules_len += l + 1;
        r->modules[r->modules_len] = '\0';
        return true;
    }
    char *tok[MG_WIRE_MAX_TOKENS];
    int n = tokenize(line, tok, MG_WIRE_MAX_TOKENS);
    if (n == 0) return true;
    const char *k = tok[0];
    unsigned id;
    if (!strcmp(k, "END")) {
        r->ended = true;
        return true;
    }
    if (!strcmp(k, "STK") && n >= 2) {
        if (!parse_uint(tok[1], &id)) return false;
        r->stacks = mg_xrealloc(r->stacks, (r->nstacks + 1) * sizeof *r->stacks);
        mg_wire_stack *s = &r->stacks[r->nstacks++];
        s->id = id;
        parse_stack(tok + 2, n - 2, s);
        return true;
    }
    if (!strcmp(k, "NOTE") && n >= 2) {
        if (!strcmp(tok[1], "threads-running")) r->threads_running = true;
        return true;
    }
    if (!strcmp(k, "X") && n >= 2) {
        int64_t st;
        if (!parse_i64(tok[1], &st)) return false;
        r->exited = true;
        r->exit_status = (int)st;
        return true;
    }
    if (!strcmp(k, "MISUSE") && n >= 3) {
        free(r->misuse);
        r->misuse = mg_xstrdup(!strcmp(tok[1], "double-free") ? "double-free" : "bad-trailer");
        parse_hex(tok[2], &r->misuse_addr);
        return true;
    }
    if (!strcmp(k, "FREE")) {
        parse_stack(tok + 1, n - 1, &r->misuse_site);
        return true;
    }
    if (!strcmp(k, "C") && n >= 4) {
        int64_t sig;
        if (!parse_i64(tok[1], &sig)) return false;
        r->crashed = true;
        r->crash_signal = (int)sig;
        parse_hex(find_kv(tok, 2, n, "addr"), &r->crash_addr);
        parse_uint(find_kv(tok, 2, n, "window"), &r->crash_window);
        r->crash_figures = parse_i64(find_kv(tok, 2, n, "net_bytes"), &r->crash_net_bytes) &&
                           parse_i64(find_kv(tok, 2, n, "net_blocks"), &r->crash_net_blocks) &&
                           parse_i64(find_kv(tok, 2, n, "peak_bytes"), &r->crash_peak_bytes) &&
                           parse_u64(find_kv(tok, 2, n, "allocations"), &r->crash_allocations);
        parse_i64(find_kv(tok, 2, n, "pending_bytes"), &r->crash_pending_bytes);
        parse_i64(find_kv(tok, 2, n, "pending_blocks"), &r->crash_pending_blocks);
        return true;
    }
    if (!strcmp(k, "FAILED_ALLOC") && n >= 3) {
        uint64_t hit = 0;
        if (!parse_u64(tok[1], &r->fail_at) || !parse_u64(find_kv(tok, 2, n, "hit"), &hit)) return false;
        r->fail_reported = true;
        r->fail_hit = hit != 0;
        return true;
    }
    if (!strcmp(k, "CSTK")) {
        parse_stack(tok + 1, n - 1, &r->crash_site);
        return true;
    }
    if (n < 2 || !parse_uint(tok[1], &id)) return false;
    if (!strcmp(k, "W") && n >= 4) {
        unsigned index;
        if (!parse_uint(tok[3], &index) || r->nwindows >= 1u << 20) return false;
        int kind = !strcmp(tok[2], "test") ? MG_WK_TEST : !strcmp(tok[2], "suite") ? MG_WK_SUITE
                   : !strcmp(tok[2], "whole") ? MG_WK_WHOLE : 0;
        if (!kind) return false;
        r->windows = mg_xrealloc(r->windows, (r->nwindows + 1) * sizeof *r->windows);
        mg_wire_window *w = &r->windows[r->nwindows++];
        memset(w, 0, sizeof *w);
        w->id = id;
        w->kind = kind;
        w->index = index;
        return true;
    }
    mg_wire_window *w = window_by_id(r, id);
    if (!w) return false;
    if (!strcmp(k, "R")) {
        bool ok = parse_i64(find_kv(tok, 2, n, "net_bytes"), &w->net_bytes) &&
                  parse_i64(find_kv(tok, 2, n, "net_blocks"), &w->net_blocks) &&
                  parse_i64(find_kv(tok, 2, n, "peak_bytes"), &w->peak_bytes) &&
                  parse_u64(find_kv(tok, 2, n, "allocations"), &w->allocations);
        parse_u64(find_kv(tok, 2, n, "dur_ns"), &w->dur_ns);
        parse_i64(find_kv(tok, 2, n, "pending_bytes"), &w->pending_bytes);
        parse_i64(find_kv(tok, 2, n, "pending_blocks"), &w->pending_blocks);
        w->closed = ok;
        return ok;
    }
    if (!strcmp(k, "L")) {
        w->leak_known = parse_i64(find_kv(tok, 2, n, "leaked_bytes"), &w->leaked_bytes) &&
                        parse_i64(find_kv(tok, 2, n, "object_growth"), &w->object_growth);
        return w->leak_known;
    }
    if (!strcmp(k, "LOST")) {
        w->lost_known = parse_i64(find_kv(tok, 2, n, "lost_bytes"), &w->lost_bytes) &&
                        parse_i64(find_kv(tok, 2, n, "lost_blocks"), &w->lost_blocks);
        return w->lost_known;
    }
    if (!strcmp(k, "S") && n >= 3) {
        if (!strcmp(tok[2], "sinit")) w->sinit = true;
        else if (!strcmp(tok[2], "scleanup")) w->scleanup = true;
        else if (!strcmp(tok[2], "notrun")) w->notrun = true;
        else return false;
        return true;
    }
    if (!strcmp(k, "F") && n >= 6) {
        unsigned line_no;
        if (!parse_uint(tok[3], &line_no) || w->nfailures >= 10000) return false;
        w->failures = mg_xrealloc(w->failures, (w->nfailures + 1) * sizeof *w->failures);
        mg_wire_failure *f = &w->failures[w->nfailures++];
        f->kind = unescaped_copy(tok[2]);
        f->line = line_no;
        f->file = unescaped_copy(tok[4]);
        f->condition = unescaped_copy(tok[5]);
        return true;
    }
    if (!strcmp(k, "A")) {
        w->has_annotation = true;
        for (int i = 2; i < n; i++) {
            char *eq = strchr(tok[i], '=');
            if (!eq) continue;
            *eq = '\0';
            const char *val = eq + 1;
            if (!strcmp(tok[i], "file")) {
                free(w->annotation_file);
                w->annotation_file = unescaped_copy(eq + 1);
            } else if (!strcmp(tok[i], "line")) {
                parse_uint(val, &w->annotation_line);
            } else {
                int64_t v;
                if (!parse_i64(val, &v) || w->nannotation >= 32) continue;
                w->annotation = mg_xrealloc(w->annotation, (w->nannotation + 1) * sizeof *w->annotation);
                w->annotation[w->nannotation++] = (mg_wire_kv){mg_xstrdup(tok[i]), v};
            }
        }
        return true;
    }
    if ((!strcmp(k, "D") || !strcmp(k, "N") || !strcmp(k, "P")) && n >= 3) {
        mg_wire_entry e = {0};
        if (!parse_uint(tok[2], &e.stack) || !parse_i64(find_kv(tok, 3, n, "size"), &e.size) ||
            !parse_i64(find_kv(tok, 3, n, "count"), &e.count))
            return false;
        if (k[0] == 'N') {
            if (!parse_i64(find_kv(tok, 3, n, "size_diff"), &e.size_diff) ||
                !parse_i64(find_kv(tok, 3, n, "count_diff"), &e.count_diff))
                return false;
            add_entry(&w->net, &w->nnet, &e);
        } else {
            e.size_diff = e.size;
            e.count_diff = e.count;
            if (k[0] == 'D')
                e.lost_known = parse_i64(find_kv(tok, 3, n, "lost_size"), &e.lost_size) &&
                               parse_i64(find_kv(tok, 3, n, "lost_count"), &e.lost_count);
            if (k[0] == 'D') add_entry(&w->leak, &w->nleak, &e);
            else add_entry(&w->peak, &w->npeak, &e);
        }
        return true;
    }
    if (!strcmp(k, "PK") && n >= 3) {
        w->has_peak_live = parse_i64(tok[2], &w->peak_live);
        return w->has_peak_live;
    }
    return false;
}

void mg_wire_parse_report(const char *data, size_t len, mg_wire_report *out) {
    memset(out, 0, sizeof *out);
    char *copy = mg_xcalloc(1, len + 1);
    memcpy(copy, data, len);
    /* A NUL inside the data ends that line's text; strtok_r walks the rest. */
    for (size_t i = 0; i < len; i++)
        if (copy[i] == '\0') copy[i] = '\n';
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!report_line(out, line)) out->skipped_lines++;
    }
    free(copy);
}

void mg_wire_report_free(mg_wire_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nwindows; i++) {
        mg_wire_window *w = &r->windows[i];
        for (size_t k = 0; k < w->nfailures; k++) {
            free(w->failures[k].kind);
            free(w->failures[k].file);
            free(w->failures[k].condition);
        }
        for (size_t k = 0; k < w->nannotation; k++) free(w->annotation[k].key);
        free(w->failures);
        free(w->annotation);
        free(w->annotation_file);
        free(w->leak);
        free(w->net);
        free(w->peak);
    }
    free(r->windows);
    free(r->stacks);
    free(r->modules);
    free(r->misuse);
    memset(r, 0, sizeof *r);
}

const mg_wire_window *mg_wire_find_window(const mg_wire_report *r, int kind, unsigned index) {
    for (size_t i = r->nwindows; i-- > 0;)
        if (r->windows[i].kind == kind && r->windows[i].index == index) return &r->windows[i];
    return NULL;
}

size_t mg_wire_windows_of(const mg_wire_report *r, int kind, unsigned index, const mg_wire_window **out,
                          size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < r->nwindows; i++) {
        if (r->windows[i].kind != kind || r->windows[i].index != index) continue;
        if (n < max) out[n] = &r->windows[i];
        n++;
    }
    return n;
}

const mg_wire_window *mg_wire_last_window(const mg_wire_report *r) {
    return r->nwindows ? &r->windows[r->nwindows - 1] : NULL;
}

const mg_wire_stack *mg_wire_find_stack(const mg_wire_report *r, unsigned id) {
    for (size_t i = 0; i < r->nstacks; i++)
        if (r->stacks[i].id == id) return &r->stacks[i];
    return NULL;
}
