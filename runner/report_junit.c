/* JUnit XML reporter, inside the subset of junit-10.xsd (Jenkins xUnit) that GitLab
 * and the common GitHub reporters read: testsuites > testsuite per (binary, suite) >
 * testcase, no testcase@file/@line and no testcase-level properties. A run that was
 * interrupted, or that has warnings, says so in each testsuite's properties
 * (<property name="interrupted" value="true"/>, <property name="warning" .../>). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_common.h"
#include "util.h"

/* Captured output kept in <system-err>: the last 64 KiB. */
#define MAX_SYSTEM_ERR (64 * 1024)

/* Writes s escaped for XML 1.0 text (attr == false) or a double-quoted attribute.
 * Characters XML 1.0 cannot carry even as references (C0 controls other than tab,
 * newline and carriage return; U+FFFE, U+FFFF) and invalid UTF-8 bytes become U+FFFD.
 * In attributes, tab/newline/carriage return become references so parsers do not
 * normalise them to spaces. */
static void xml_put(FILE *out, const char *s, bool attr) {
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        size_t n = mg_utf8_seq(p, &cp);
        if (!n) {
            fputs("\xEF\xBF\xBD", out);
            p++;
            continue;
        }
        switch (cp) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs(attr ? "&quot;" : "\"", out); break;
        case '\'': fputs(attr ? "&apos;" : "'", out); break;
        case '\t': fputs(attr ? "&#9;" : "\t", out); break;
        case '\n': fputs(attr ? "&#10;" : "\n", out); break;
        case '\r': fputs("&#13;", out); break;
        default:
            if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF)
                fputs("\xEF\xBF\xBD", out);
            else
                fwrite(p, 1, n, out);
        }
        p += n;
    }
}

static void xml_attr(FILE *out, const char *name, const char *value) {
    fprintf(out, " %s=\"", name);
    xml_put(out, value, true);
    fputc('"', out);
}

/* Seconds as the schema's SUREFIRE_TIME wants them: digits, '.', three decimals. */
static void xml_time(FILE *out, const char *name, double s) {
    if (!(s >= 0) || isinf(s)) s = 0;
    fprintf(out, " %s=\"%.3f\"", name, s);
}

static bool same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

/* Runs fn(t) into a memory buffer; NULL on failure. */
static char *render(void (*fn)(FILE *, const mg_test_result *), const mg_test_result *t) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return NULL;
    fn(mem, t);
    if (fclose(mem) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void render_problem(FILE *out, const mg_test_result *t) {
    mg_report_problem(out, t, "", 0, 0);
}

static void put_element(FILE *out, const char *tag, const char *text) {
    fprintf(out, "      <%s>", tag);
    xml_put(out, text, false);
    fprintf(out, "</%s>\n", tag);
}

static void put_testcase(FILE *out, const mg_test_result *t) {
    fputs("    <testcase", out);
    xml_attr(out, "classname", t->suite ? t->suite : "");
    xml_attr(out, "name", t->name ? t->name : "");
    xml_time(out, "time", t->duration_s);
    fputs(">\n", out);

    const char *tag = NULL, *type = NULL;
    switch (t->status) {
    case MG_ST_FAIL:
        tag = "failure";
        type = t->violations                ? "memory-budget"
               : t->baseline.regressions ? "memory-regression"
               : t->nfailures            ? "assertion"
                                         : "failure";
        break;
    case MG_ST_CRASH:
        tag = "error";
        type = "crash";
        break;
    case MG_ST_TIMEOUT:
        tag = "error";
        type = "timeout";
        break;
    case MG_ST_ERROR:
        tag = "error";
        type = "error";
        break;
    case MG_ST_SKIP:
        fputs("      <skipped", out);
        if (t->message && t->message[0]) xml_attr(out, "message", t->message);
        fputs("/>\n", out);
        break;
    case MG_ST_PASS: break;
    }
    if (tag) {
        char *headline = mg_report_headline(t);
        char *body = render(render_problem, t);
        fprintf(out, "      <%s", tag);
        xml_attr(out, "message", headline);
        xml_attr(out, "type", type);
        fputc('>', out);
        xml_put(out, body, false);
        fprintf(out, "</%s>\n", tag);
        free(headline);
        free(body);
    }
    if (t->status != MG_ST_SKIP) {
        char *full = render(mg_report_full, t);
        if (full) put_element(out, "system-out", full);
        free(full);
    }
    if (t->output && t->output[0]) {
        const char *o = t->output;
        size_t len = strlen(o);
        char *cut = NULL;
        if (len > MAX_SYSTEM_ERR) {
            size_t skip = len - MAX_SYSTEM_ERR;
            while (((unsigned char)o[skip] & 0xC0u) == 0x80u) skip++; /* whole characters */
            cut = mg_xasprintf("[... %zu bytes of earlier output omitted]\n%s", skip, o + skip);
            o = cut;
        }
        put_element(out, "system-err", o);
        free(cut);
    }
    fputs("    </testcase>\n", out);
}

/* memgate torture: one testcase "test[alloc k]" per point tried, after the test's own.
 * A leak on the error path is a failure, a crash or a hang an error, a point the test
 * did not reach this time a skip. */
static void put_torture_cases(FILE *out, const mg_test_result *t) {
    for (size_t i = 0; t->tortured && i < t->ntorture; i++) {
        const mg_torture_point *p = &t->torture[i];
        char name[512];
        snprintf(name, sizeof name, "%s[alloc %" PRIu64 "]", t->name ? t->name : "", p->alloc);
        fputs("    <testcase", out);
        xml_attr(out, "classname", t->suite ? t->suite : "");
        xml_attr(out, "name", name);
        fputs(">\n", out);
        const char *tag = p->outcome == MG_TO_LEAK ? "failure"
                          : p->outcome == MG_TO_CRASH || p->outcome == MG_TO_HANG || p->outcome == MG_TO_ERROR
                              ? "error"
                              : NULL;
        char *msg = mg_xasprintf("allocation %" PRIu64 " of %" PRIu64 " made to fail: %s", p->alloc,
                                 t->torture_allocations,
                                 p->message ? p->message : mg_torture_outcome_name(p->outcome));
        if (tag) {
            char *type = mg_xasprintf("allocation-failure-%s", mg_torture_outcome_name(p->outcome));
            fprintf(out, "      <%s", tag);
            xml_attr(out, "message", msg);
            xml_attr(out, "type", type);
            fputc('>', out);
            xml_put(out, msg, false);
            for (size_t f = 0; p->nsite && f < p->site[0].nframes; f++) {
                char *fr = NULL;
                size_t frlen = 0;
                FILE *m = open_memstream(&fr, &frlen);
                if (!m) break;
                fputs("\n    ", m);
                mg_report_frame(m, &p->site[0].frames[f]);
                if (fclose(m) == 0 && fr) xml_put(out, fr, false);
                free(fr);
            }
            fprintf(out, "</%s>\n", tag);
            free(type);
        } else if (p->outcome == MG_TO_UNREACHED) {
            fputs("      <skipped", out);
            xml_attr(out, "message", "the test made fewer allocations this time: the point did not apply");
            fputs("/>\n", out);
        }
        free(msg);
        fputs("    </testcase>\n", out);
    }
}

/* Adds t's torture points to a tally of testcases. */
static void count_torture(const mg_test_result *t, size_t *tests, size_t *failures, size_t *errors,
                          size_t *skipped) {
    for (size_t i = 0; t->tortured && i < t->ntorture; i++) {
        mg_torture_outcome o = t->torture[i].outcome;
        (*tests)++;
        if (o == MG_TO_LEAK) (*failures)++;
        if (o == MG_TO_CRASH || o == MG_TO_HANG || o == MG_TO_ERROR) (*errors)++;
        if (o == MG_TO_UNREACHED && skipped) (*skipped)++;
    }
}

/* One <testsuite> for the tests of run that share first's binary and suite. */
/* The run's own properties (testsuites has none in the schema: each testsuite carries
 * them): interrupted, and the run's warnings. */
static void put_run_properties(FILE *out, const mg_run *run) {
    if (!run->interrupted && !run->nwarnings) return;
    fputs("    <properties>\n", out);
    if (run->interrupted) fputs("      <property name=\"interrupted\" value=\"true\"/>\n", out);
    for (size_t i = 0; i < run->nwarnings; i++) {
        fputs("      <property name=\"warning\"", out);
        xml_attr(out, "value", run->warnings[i]);
        fputs("/>\n", out);
    }
    fputs("    </properties>\n", out);
}

static void put_testsuite(FILE *out, const mg_run *run, const mg_test_result *first) {
    size_t tests = 0, failures = 0, errors = 0, skipped = 0;
    double time = 0;
    for (size_t i = 0; i < run->ntests; i++) {
        const mg_test_result *t = &run->tests[i];
        if (!same(t->binary, first->binary) || !same(t->suite, first->suite)) continue;
        tests++;
        if (t->duration_s > 0) time += t->duration_s;
        if (t->status == MG_ST_FAIL) failures++;
        if (t->status == MG_ST_CRASH || t->status == MG_ST_TIMEOUT || t->status == MG_ST_ERROR)
            errors++;
        if (t->status == MG_ST_SKIP) skipped++;
        count_torture(t, &tests, &failures, &errors, &skipped);
    }
    fputs("  <testsuite", out);
    xml_attr(out, "name", first->suite ? first->suite : "");
    fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", tests,
            failures, errors, skipped);
    xml_time(out, "time", time);
    if (run->started_at) xml_attr(out, "timestamp", run->started_at);
    if (run->hostname) xml_attr(out, "hostname", run->hostname);
    if (first->binary) xml_attr(out, "file", first->binary);
    fputs(">\n", out);
    put_run_properties(out, run);
    for (size_t i = 0; i < run->ntests; i++) {
        const mg_test_result *t = &run->tests[i];
        if (!same(t->binary, first->binary) || !same(t->suite, first->suite)) continue;
        put_testcase(out, t);
        put_torture_cases(out, t);
    }
    fputs("  </testsuite>\n", out);
}

int mg_report_junit_write(const mg_run *run, const char *path, char *err, size_t errlen) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        mg_set_err(err, errlen, "cannot write JUnit report '%s': out of memory", path);
        return -1;
    }
    mg_tally n;
    mg_run_tally(run, &n);
    size_t all = n.total, failures = n.fail, errors = n.crash + n.timeout + n.error;
    for (size_t i = 0; i < run->ntests; i++) count_torture(&run->tests[i], &all, &failures, &errors, NULL);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"memgate\"", out);
    fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\"", all, failures, errors);
    xml_time(out, "time", run->duration_s);
    fputs(">\n", out);
    /* Suites in order of first appearance. Each test is looked up among the groups
     * opened so far, so the work grows with tests x groups, and groups stay few. */
    const mg_test_result **groups = run->ntests ? mg_xcalloc(run->ntests, sizeof *groups) : NULL;
    size_t ngroups = 0;
    for (size_t i = 0; i < run->ntests; i++) {
        const mg_test_result *t = &run->tests[i];
        bool seen = false;
        for (size_t k = 0; k < ngroups && !seen; k++)
            seen = same(groups[k]->binary, t->binary) && same(groups[k]->suite, t->suite);
        if (!seen) groups[ngroups++] = t;
    }
    for (size_t k = 0; k < ngroups; k++) put_testsuite(out, run, groups[k]);
    /* A run interrupted (or warned about) before any test finished still says so: in
     * an empty testsuite, the only place the schema has for properties. */
    if (!ngroups && (run->interrupted || run->nwarnings)) {
        fputs("  <testsuite name=\"memgate\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\">\n", out);
        put_run_properties(out, run);
        fputs("  </testsuite>\n", out);
    }
    free(groups);
    fputs("</testsuites>\n", out);
    if (fclose(out) != 0 || !buf) {
        free(buf);
        mg_set_err(err, errlen, "cannot write JUnit report '%s': out of memory", path);
        return -1;
    }
    int rc = mg_report_write_atomic(path, "JUnit report", buf, len, err, errlen);
    free(buf);
    return rc;
}
