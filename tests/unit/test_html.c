/*
 * Tests of the HTML reporter (runner/report_html.c) over the fixed run of
 * tests/html/fixture_run.h, and of the `memgate report` / `memgate merge` commands
 * (runner/cmd_report.c) called through their C functions on temporary files.
 *
 * What a browser makes of the page (the script ran, charts have bars) is checked by
 * tests/html/check_report.py in headless Chromium; here the file itself is checked:
 * escaping, counts, the data blob, no external URL, atomic writes.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "html/fixture_run.h"
#include "mgtest.h"
#include "mgtest_util.h"
#include "report.h"
#include "report_common.h"
#include "util.h"

/* The HTML escaping the page must use for plain ASCII text; with wbr, a name as the
 * page shows it between tags: a line break opportunity (<wbr>) after each '/' and '_'
 * that is not the last character. */
static char *escaped_as(const char *s, bool wbr) {
    char *out = mg_xcalloc(strlen(s) * 6 + 1, 1), *o = out;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '/':
        case '_': rep = wbr && s[1] ? (*s == '/' ? "/<wbr>" : "_<wbr>") : NULL; break;
        default: break;
        }
        if (rep)
            o = stpcpy(o, rep);
        else
            *o++ = *s;
    }
    return out;
}

static char *escaped(const char *s) { return escaped_as(s, false); }

/* "suite/name" as the table link and the card title show it. */
static char *escaped_name(const char *s) { return escaped_as(s, true); }

/* Renders run to a fresh file and returns the page; NULL (and an assertion) on error. */
static char *render(const mg_run *run, const char *name) {
    char *path = mgt_tmp_path(name), err[512] = "";
    int rc = mg_report_html_write(run, path, err, sizeof err);
    if (rc != 0) fprintf(stderr, "\nmg_report_html_write: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    char *html = rc == 0 ? mgt_slurp(path) : NULL;
    free(path);
    return html;
}

static char *render_fixture(void) {
    mg_run run;
    hfx_make_run(&run);
    char *html = render(&run, "fixture.html");
    mg_run_free_contents(&run);
    return html;
}

/* The text of the data blob inside <script type="application/json">, a heap copy. */
static char *data_blob(const char *html) {
    static const char open_tag[] = "<script type=\"application/json\" id=\"mg-data\">";
    const char *p = strstr(html, open_tag);
    if (!p) return NULL;
    p += sizeof open_tag - 1;
    const char *end = strstr(p, "</script>");
    if (!end) return NULL;
    char *blob = mg_xcalloc((size_t)(end - p) + 1, 1);
    memcpy(blob, p, (size_t)(end - p));
    return blob;
}

/* ---- the page ------------------------------------------------------------------- */

static void test_structure(void) {
    char *html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(strncmp(html, "<!DOCTYPE html>", 15), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "</html>"));
    /* Every template marker was filled. */
    CU_ASSERT_PTR_NULL(strstr(html, "<!--mg:"));
    /* One self-contained file: nothing to fetch, from anywhere. */
    CU_ASSERT_PTR_NULL(strstr(html, "http://"));
    CU_ASSERT_PTR_NULL(strstr(html, "https://"));
    CU_ASSERT_PTR_NULL(strstr(html, "<link"));
    CU_ASSERT_PTR_NULL(strstr(html, "<img"));
    CU_ASSERT_PTR_NULL(strstr(html, "<iframe"));
    CU_ASSERT_PTR_NULL(strstr(html, "@import"));
    CU_ASSERT_PTR_NULL(strstr(html, "url("));
    /* The table, one row and one section per test, a chart box per test with figures. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<table class=\"tests\" id=\"mg-tests\">"));
    CU_ASSERT_EQUAL(mgt_count_of(html, "<tr data-i="), HFX_TESTS);
    CU_ASSERT_EQUAL(mgt_count_of(html, "<details class=\"test\""), HFX_TESTS);
    CU_ASSERT_EQUAL(mgt_count_of(html, "<div class=\"chart\" data-i="), HFX_CHARTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<svg id=\"mg-statusbar\""));
    CU_ASSERT_EQUAL(mgt_count_of(html, "<rect class=\"st-"), 6); /* every status occurs */
    /* Only the page's own two script elements exist. */
    CU_ASSERT_EQUAL(mgt_count_of(html, "<script"), 2);
    CU_ASSERT_EQUAL(mgt_count_of(html, "</script"), 2);
    /* Failing tests are open, passing ones closed. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"t-1\" data-i=\"1\" data-status=\"fail\" open>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"t-0\" data-i=\"0\" data-status=\"pass\"><summary>"));
    free(html);
}

static void test_header_counts(void) {
    char *html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    static const struct {
        const char *status;
        int count;
    } want[] = {{"pass", HFX_PASS},       {"fail", HFX_FAIL},   {"crash", HFX_CRASH},
                {"timeout", HFX_TIMEOUT}, {"error", HFX_ERROR}, {"skip", HFX_SKIP}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *needle = mg_xasprintf("data-count=\"%s\">%d</b>", want[i].status, want[i].count);
        if (!strstr(html, needle)) fprintf(stderr, "\nmissing count: %s\n", needle);
        CU_ASSERT_PTR_NOT_NULL(strstr(html, needle));
        free(needle);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"verdict bad\">FAILED</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "7 of 11 tests did not pass"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "<title>memgate report \xC2\xB7 FAILED \xC2\xB7 ci-runner-07</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "2026-11-21 09:40:00 UTC"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<dt>Host</dt><dd>ci-runner-07</dd>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<dt>Duration</dt><dd>14.25 s</dd>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<dt>Shard</dt><dd>2/4</dd>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<code>" HFX_BASELINE "</code>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "1 regressed \xC2\xB7 2 new \xC2\xB7 2 removed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<code>test_parser:parser/&lt;old&gt;</code>"));
    free(html);
}

static void test_names_escaped(void) {
    mg_run run;
    hfx_make_run(&run);
    char *html = render(&run, "names.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    /* No hostile string reaches the page raw, anywhere (blob included). */
    CU_ASSERT_PTR_NULL(strstr(html, HFX_XSS_SCRIPT));
    CU_ASSERT_PTR_NULL(strstr(html, HFX_XSS_BREAKOUT));
    CU_ASSERT_PTR_NULL(strstr(html, HFX_XSS_IMG));
    CU_ASSERT_PTR_NULL(strstr(html, "<img"));
    CU_ASSERT_PTR_NULL(strstr(html, "onerror=\""));
    /* Every test's suite/name shows escaped: as the table link and the card title, with
     * line break opportunities after '/' and '_' (markup of the page's own, never a
     * character of the name). */
    for (size_t i = 0; i < run.ntests; i++) {
        const mg_test_result *t = &run.tests[i];
        if (strcmp(t->name, HFX_ODD_NAME) == 0) continue; /* not ASCII: below */
        char *full = mg_xasprintf("%s/%s", t->suite, t->name), *esc = escaped_name(full);
        char *link = mg_xasprintf("<a href=\"#t-%zu\">%s</a>", i, esc);
        char *title = mg_xasprintf("<span class=\"tname\">%s</span>", esc);
        if (!strstr(html, link)) fprintf(stderr, "\nmissing: %s\n", link);
        CU_ASSERT_PTR_NOT_NULL(strstr(html, link));
        CU_ASSERT_PTR_NOT_NULL(strstr(html, title));
        free(full);
        free(esc);
        free(link);
        free(title);
    }
    /* The odd name: quotes and ampersand escaped, U+2028 kept, bad bytes as U+FFFD,
     * ESC as its visible picture U+241B. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "odd &quot;q&quot; &amp; &#39;a&#39; \xE2\x80\xA8 line "
                                        "\xEF\xBF\xBD\xEF\xBF\xBD bytes \xE2\x90\x9B[31m"));
    /* The whole page is valid UTF-8 without control characters but newline and tab. */
    const unsigned char *p = (const unsigned char *)html;
    bool valid = true, clean = true;
    while (*p) {
        unsigned cp;
        size_t n = mg_utf8_seq(p, &cp);
        if (!n) {
            valid = false;
            break;
        }
        if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            clean = false;
        p += n;
    }
    CU_ASSERT_TRUE(valid);
    CU_ASSERT_TRUE(clean);
    free(html);
    mg_run_free_contents(&run);
}

static void test_data_blob(void) {
    char *html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    char *blob = data_blob(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
    /* Nothing in the blob can end its element or open a comment, and the JavaScript
     * line terminators are escaped. */
    CU_ASSERT_PTR_NULL(strchr(blob, '<'));
    CU_ASSERT_PTR_NULL(strchr(blob, '>'));
    CU_ASSERT_PTR_NULL(strstr(blob, "\xE2\x80\xA8"));
    CU_ASSERT_PTR_NULL(strstr(blob, "\xE2\x80\xA9"));
    CU_ASSERT_PTR_NOT_NULL(strstr(blob, "\\u2028"));
    CU_ASSERT_PTR_NOT_NULL(strstr(blob, "\\u003c/script\\u003e"));
    cJSON *doc = cJSON_Parse(blob);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(doc, "tests");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(tests), HFX_TESTS);
    /* The escapes decode to the very name. */
    const cJSON *t4 = cJSON_GetArrayItem(tests, 4);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t4, "name");
    CU_ASSERT_TRUE(cJSON_IsString(name) && strcmp(name->valuestring, "xss/" HFX_XSS_BREAKOUT) == 0);
    int charts = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tests) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(t, "metrics");
        if (cJSON_IsArray(m)) {
            charts++;
            CU_ASSERT_EQUAL(cJSON_GetArraySize(m), 3);
        } else {
            CU_ASSERT_TRUE(cJSON_IsNull(m));
        }
    }
    CU_ASSERT_EQUAL(charts, HFX_CHARTS);
    /* cache/peaks: peak 40 MiB against 32 MiB, baseline 30 MiB, broken and regressed. */
    const cJSON *peak = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tests, 2), "metrics"), 2);
    const double MiB = 1048576;
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(peak, "value")->valuedouble, 40 * MiB);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(peak, "budget")->valuedouble, 32 * MiB);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(peak, "baseline")->valuedouble, 30 * MiB);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(peak, "broken")));
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(peak, "regressed")));
    /* An unlimited budget is null, never a number. */
    const cJSON *ulim = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tests, 10), "metrics"), 0);
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ulim, "budget")));
    cJSON_Delete(doc);
    free(blob);
    free(html);
}

static void test_table_cells(void) {
    char *html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    /* measured / budget, exact bytes when both would print as 4.0 KiB, broken in red. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td class=\"num broken\" data-v=\"4100\">4100 B <span "
                                        "class=\"of\" title=\"budget\">/ 4096 B</span></td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td class=\"num broken\" data-v=\"3\">3 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "data-v=\"20000\">19.5 KiB <span class=\"of\" "
                                        "title=\"budget\">/ 1.0 MiB</span>"));
    /* Unlimited shows as such. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "100 B <span class=\"of\" title=\"budget unlimited\">/ "
                                        "\xE2\x88\x9E</span>"));
    /* Baseline column: states and the change against the baseline. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<th data-sort=\"num\">Baseline</th>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"tag regressed\">regressed</span>"
                                        "<div class=\"delta-up\">peak +10.0 MiB (+33.3%)</div>"));
    CU_ASSERT_EQUAL(mgt_count_of(html, "<span class=\"tag new\">new</span>"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<div class=\"delta-down\">peak -50.0 KiB (-14.3%)</div>"));
    /* Durations. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "data-v=\"0.250000\">250 ms</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "data-v=\"10.000000\">10.00 s</td>"));
    free(html);
}

static void test_sections(void) {
    char *html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    /* Frames as "function (file:line)", innermost first, the rest counted. (The frame
     * list, not the traceback's summary line, which names the culprit cache_put.) */
    const char *frames = strstr(html, "<ol class=\"frames\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(frames);
    const char *inner = strstr(frames, "_M_realloc_insert</span>");
    const char *outer = strstr(frames, "<span class=\"fn\">cache_put</span>");
    CU_ASSERT_PTR_NOT_NULL_FATAL(inner);
    CU_ASSERT_PTR_NOT_NULL_FATAL(outer);
    CU_ASSERT_TRUE(inner < outer);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"fn\">cache_put</span> <span class=\"loc\" "
                                        "title=\"/src/cache.c\">(cache.c:88)</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "(libfoo.so.1+0x1234)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "(0xdeadbeef)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "\xE2\x80\xA6 4 more frames"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<b>+4.0 KiB</b> in 1 block"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "Memory held at the peak"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "big_buffer&lt;char&amp;&gt;"));
    /* Assertion failures, escaped. */
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "<code>test_cache.c:57</code> CU_ASSERT_EQUAL(cache_size(c),3)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "x &lt; y &amp;&amp; &quot;quoted&quot; != &#39;c&#39;"));
    /* Outcome and output: colour codes dropped, CRLF as one newline, bad bytes mended. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "killed by SIGSEGV (signal 11)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<pre class=\"out\">parsing input.txt\nfatal: bad token "
                                        "\xEF\xBF\xBD at 3:7\nSegmentation fault at "
                                        "&lt;0x0&gt;\n</pre>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "These tracebacks come from a traced re-run"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td class=\"src\">file-test: budgets.json: "
                                        "tests[&quot;cache/*&quot;]</td>"));
    free(html);
}

static void test_output_tail(void) {
    mg_run run;
    hfx_make_run(&run);
    /* 500 numbered lines: only the last 200 are kept, and the heading says so. */
    mg_test_result *t = &run.tests[8]; /* cache/bad_exit */
    free(t->output);
    char *buf = mg_xcalloc(500 * 16, 1), *o = buf;
    for (int i = 1; i <= 500; i++) o += sprintf(o, "line %d\n", i);
    t->output = buf;
    char *html = render(&run, "tail.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "Output <small>(last 200 of 500 lines)</small>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<pre class=\"out\">line 301\n"));
    CU_ASSERT_PTR_NULL(strstr(html, "line 300\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "line 500\n</pre>"));
    free(html);
    mg_run_free_contents(&run);
}

static void test_empty_and_plain(void) {
    /* No test at all: a page that says so. */
    mg_run run = {0};
    char *html = render(&run, "empty.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "NO TESTS"));
    CU_ASSERT_EQUAL(mgt_count_of(html, "<tr data-i="), 0);
    CU_ASSERT_PTR_NULL(strstr(html, "<!--mg:"));
    free(html);

    /* Without a baseline or a shard: neither is mentioned. */
    hfx_make_run(&run);
    free(run.baseline_path);
    free(run.shard);
    run.baseline_path = run.shard = NULL;
    for (size_t i = 0; i < run.nbaseline_removed; i++) free(run.baseline_removed[i]);
    free(run.baseline_removed);
    run.baseline_removed = NULL;
    run.nbaseline_removed = 0;
    for (size_t i = 0; i < run.ntests; i++)
        memset(&run.tests[i].baseline, 0, sizeof run.tests[i].baseline);
    html = render(&run, "plain.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NULL(strstr(html, "Baseline"));
    CU_ASSERT_PTR_NULL(strstr(html, "Shard"));
    free(html);
    mg_run_free_contents(&run);

    /* All passing: the verdict says so. */
    hfx_make_run(&run);
    for (size_t i = 0; i < run.ntests; i++) run.tests[i].status = MG_ST_PASS;
    html = render(&run, "green.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"verdict ok\">PASSED</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "all 11 tests within budget"));
    free(html);
    mg_run_free_contents(&run);
}

static void test_atomic_write(void) {
    mg_run run;
    hfx_make_run(&run);
    char err[512];
    char *path = mgt_tmp_path("atomic.html");
    /* Replaces an existing file whole, through a temporary that does not stay. */
    CU_ASSERT_EQUAL(mgt_spit(path, "old contents"), 0);
    struct stat before, after;
    CU_ASSERT_EQUAL(stat(path, &before), 0);
    CU_ASSERT_EQUAL(mg_report_html_write(&run, path, err, sizeof err), 0);
    CU_ASSERT_EQUAL(stat(path, &after), 0);
    CU_ASSERT_NOT_EQUAL(before.st_ino, after.st_ino); /* a new file renamed into place */
    char *html = mgt_slurp(path);
    CU_ASSERT_TRUE(html && strncmp(html, "<!DOCTYPE html>", 15) == 0 && strstr(html, "</html>"));
    free(html);
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "atomic.html"), 0);

    /* A directory that does not exist: an error naming the path, no file anywhere. */
    char *bad = mgt_tmp_path("missing/dir/r.html");
    err[0] = '\0';
    CU_ASSERT_EQUAL(mg_report_html_write(&run, bad, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, bad));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "HTML report"));
    CU_ASSERT_EQUAL(access(bad, F_OK), -1);

    /* The path is a directory: rename fails, the temporary is removed. */
    char *dir = mgt_tmp_path("adir");
    CU_ASSERT_EQUAL(mkdir(dir, 0755), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(mg_report_html_write(&run, dir, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, dir));
    CU_ASSERT_EQUAL(mgt_tmp_leftovers(mgt_tmpdir(), "adir"), 0);
    free(dir);
    free(bad);
    free(path);
    mg_run_free_contents(&run);
}

/* ---- the review run --------------------------------------------------------------- */

static char *render_review(void) {
    mg_run run;
    hfx_make_review_run(&run);
    char *html = render(&run, "review.html");
    mg_run_free_contents(&run);
    return html;
}

/* The data-i values of the elements starting with prefix (`<tr data-i="` or
 * `<details class="test" id="t-`...`data-i="`), in page order; returns how many. */
static size_t page_order(const char *html, const char *prefix, size_t *out, size_t max) {
    size_t n = 0;
    for (const char *p = html; (p = strstr(p, prefix)) && n < max; p += strlen(prefix)) {
        const char *d = strstr(p, "data-i=\"");
        if (!d) break;
        out[n++] = strtoul(d + 8, NULL, 10);
    }
    return n;
}

/* The card of test i: from its <details> to the end of its body, a heap copy. */
static char *card_of(const char *html, size_t i) {
    char *open = mg_xasprintf("<details class=\"test\" id=\"t-%zu\"", i);
    const char *p = strstr(html, open);
    free(open);
    if (!p) return NULL;
    const char *end = strstr(p, "</div></details>\n");
    if (!end) return NULL;
    char *card = mg_xcalloc((size_t)(end - p) + 1, 1);
    memcpy(card, p, (size_t)(end - p));
    return card;
}

/* Rows and cards list problems first, then passes, then skips, registry order within
 * each group; data-i keeps the registry index (links, the data blob). */
static void test_order(void) {
    static const size_t want1[HFX_TESTS] = {1, 2, 4, 5, 6, 7, 8, 0, 3, 10, 9};
    size_t got[HFX_TESTS + 1];
    char *html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL_FATAL(page_order(html, "<tr data-i=\"", got, HFX_TESTS + 1), HFX_TESTS);
    CU_ASSERT_EQUAL(memcmp(got, want1, sizeof want1), 0);
    CU_ASSERT_EQUAL_FATAL(page_order(html, "<details class=\"test\"", got, HFX_TESTS + 1), HFX_TESTS);
    CU_ASSERT_EQUAL(memcmp(got, want1, sizeof want1), 0);
    /* The order control, for registry order (the script enables it). */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"mg-order-registry\" aria-pressed=\"false\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"mg-order-problems\" aria-pressed=\"true\""));
    free(html);

    html = render_review();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL_FATAL(page_order(html, "<tr data-i=\"", got, HFX_TESTS + 1), HFX_REVIEW_TESTS);
    CU_ASSERT_EQUAL(memcmp(got, hfx_review_order, sizeof hfx_review_order), 0);
    CU_ASSERT_EQUAL_FATAL(page_order(html, "<details class=\"test\"", got, HFX_TESTS + 1),
                          HFX_REVIEW_TESTS);
    CU_ASSERT_EQUAL(memcmp(got, hfx_review_order, sizeof hfx_review_order), 0);
    free(html);
}

/* A card says what went wrong once: the headline in its summary line, no outcome
 * paragraph, no verdict in the chart data. */
static void test_one_sentence(void) {
    for (int which = 0; which < 2; which++) {
        mg_run run;
        if (which)
            hfx_make_review_run(&run);
        else
            hfx_make_run(&run);
        char *html = render(&run, "sentence.html");
        CU_ASSERT_PTR_NOT_NULL_FATAL(html);
        for (size_t i = 0; i < run.ntests; i++) {
            const mg_test_result *t = &run.tests[i];
            char *card = card_of(html, i);
            CU_ASSERT_PTR_NOT_NULL_FATAL(card);
            if (t->status == MG_ST_PASS) {
                CU_ASSERT_PTR_NULL(strstr(card, "class=\"why\""));
                free(card);
                continue;
            }
            char *why = mg_report_headline(t);
            bool ascii = true;
            for (const char *c = why; *c; c++) ascii = ascii && (unsigned char)*c < 0x80 && *c >= 0x20;
            CU_ASSERT_EQUAL(mgt_count_of(card, "class=\"why\""), 1);
            CU_ASSERT_PTR_NULL(strstr(card, "class=\"outcome\""));
            if (ascii) {
                char *esc = escaped(why);
                if (mgt_count_of(card, esc) != 1) fprintf(stderr, "\ncard %zu: %s\n", i, esc);
                CU_ASSERT_EQUAL(mgt_count_of(card, esc), 1);
                free(esc);
            }
            /* The message, when it is not the headline, is not said again either. */
            if (t->message && strcmp(t->message, why) != 0 && strchr(t->message, '<') == NULL) {
                char *msg = escaped(t->message);
                CU_ASSERT_PTR_NULL(strstr(card, msg));
                free(msg);
            }
            free(why);
            free(card);
        }
        char *blob = data_blob(html);
        CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
        CU_ASSERT_PTR_NULL(strstr(blob, "> budget"));
        CU_ASSERT_PTR_NULL(strstr(blob, "\\u003e budget"));
        free(blob);
        free(html);
        mg_run_free_contents(&run);
    }
}

/* Every traceback is on the page, each behind its own expander, the first three open;
 * each names and marks its culprit frame, even one deeper than the frames shown first. */
static void test_tracebacks(void) {
    char *html = render_review();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    char *card = card_of(html, 3); /* store/update_index_after_compaction */
    CU_ASSERT_PTR_NOT_NULL_FATAL(card);
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "Growth by traceback <small>(8 tracebacks, largest first;"));
    CU_ASSERT_EQUAL(mgt_count_of(card, "<details class=\"tb\""), HFX_REVIEW_GROWTH_TBS);
    CU_ASSERT_EQUAL(mgt_count_of(card, "<details class=\"tb\" open>"), 3);
    CU_ASSERT_EQUAL(mgt_count_of(card, "<li class=\"culprit\">"), HFX_REVIEW_GROWTH_TBS);
    const char *first_closed = strstr(card, "<details class=\"tb\"><summary");
    const char *third_open = card;
    for (int k = 0; k < 3 && third_open; k++) third_open = strstr(third_open + 1, "<details class=\"tb\" open>");
    CU_ASSERT_TRUE(first_closed && third_open && third_open < first_closed);
    CU_ASSERT_PTR_NULL(strstr(first_closed, "<details class=\"tb\" open>"));
    /* The smallest traceback, closed, is there all the same. */
    CU_ASSERT_PTR_NOT_NULL(strstr(first_closed, "<b>+19 B</b> in 1 block <span class=\"at\">at "
                                                "<span class=\"fn\">index_step_7_1</span>"));
    /* The first traceback's culprit is frame 18 of 20: shown marked (frames 0-18),
     * the last frame behind "1 more frame". */
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<b>+256 B</b> in 1 block (lost 128 B in 1 block) "
                                        "<span class=\"at\">at <span class=\"fn\">index_step_0_18"
                                        "</span> <span class=\"loc\" title=\"/src/index.c\">"
                                        "(index.c:118)</span></span></summary>"));
    const char *deep = strstr(card, "<li class=\"culprit\"><span class=\"fn\">index_step_0_18</span>");
    const char *more = strstr(card, "\xE2\x80\xA6 1 more frame</summary><ol class=\"frames\" start=\"20\">"
                                    "<li><span class=\"fn\">index_step_0_19</span>");
    CU_ASSERT_TRUE(deep && more && deep < more);
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<span class=\"ctag\""));
    free(card);
    /* Past an allocator wrapper: the culprit of store/insert_row... is frame 2. */
    card = card_of(html, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(card);
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<li><span class=\"fn\">xmalloc</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<li class=\"culprit\"><span class=\"fn\">store_insert</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "at store_insert (store.c:88)</span>")); /* headline */
    free(card);
    free(html);

    /* The first fixture: 20 frames, 16 shown, the other 4 behind an expander. */
    html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<li class=\"more\"><details><summary>\xE2\x80\xA6 4 more "
                                        "frames</summary><ol class=\"frames\" start=\"17\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"fn\">level_19</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<li class=\"culprit\"><span class=\"fn\">cache_put</span>"));
    free(html);
}

/* A baseline-only regression has a style and a label of its own; a broken budget is
 * red; both together are both. */
static void test_regression_style(void) {
    char *html = render_review();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    const char *row = strstr(html, "<tr data-i=\"5\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_PTR_NOT_NULL(strstr(row, "<td class=\"num regressed\" data-v=\"2621440\">2.5 MiB "
                                       "<span class=\"of\" title=\"budget\">/ 8.0 MiB</span>"
                                       "<span class=\"rtag\">regressed vs baseline</span></td>"));
    const char *end = strstr(row, "</tr>");
    const char *broken = strstr(row, "num broken");
    CU_ASSERT_TRUE(!broken || broken > end);
    char *card = card_of(html, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(card);
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<tr data-metric=\"peak_bytes\" class=\"regressed\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "+512.0 KiB (+25.0%)<span class=\"rtag\">regressed vs "
                                        "baseline</span>"));
    CU_ASSERT_PTR_NULL(strstr(card, "class=\"broken"));
    free(card);
    free(html);

    html = render_fixture(); /* cache/peaks: over budget and over the baseline */
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td class=\"num broken regressed\" data-v=\"41943040\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr data-metric=\"peak_bytes\" class=\"broken regressed\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr data-metric=\"leaked_bytes\" class=\"broken\">"));
    free(html);
}

/* Suite entries, isolation, warm-ups, net, lost and unknown figures, banners, names
 * that wrap, inert chips, the narrow layout's labels and the chart scales. */
static void test_review_fields(void) {
    char *html = render_review();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    /* Two "(suite)" entries: a badge in the row and in the card of each. */
    CU_ASSERT_EQUAL(mgt_count_of(html, "<span class=\"kind\""), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<a href=\"#t-0\">store/<wbr>(suite)</a> <span class=\"kind\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"tname\">net/<wbr>(suite)</span> "
                                        "<span class=\"kind\""));
    /* Suite isolation on the four store entries; warm-ups on one. */
    CU_ASSERT_EQUAL(mgt_count_of(html, "<li class=\"iso\">isolation <b>suite</b></li>"), 4);
    CU_ASSERT_EQUAL(mgt_count_of(html, "<li class=\"warm\">"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<li class=\"warm\"><b>2</b> warm-up runs before the "
                                        "measured one</li>"));
    /* Net figures: shown when they differ from the leak (open_close) or a net budget is
     * set (update_index...), not when equal and unbudgeted (its net blocks). Lost
     * figures when measured. */
    char *card = card_of(html, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(card);
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<tr data-metric=\"net_bytes\"><th>net</th><td class=\"num\" "
                                        "title=\"-64\">-64 B</td><td class=\"num\">unlimited</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<tr data-metric=\"net_blocks\">"));
    CU_ASSERT_PTR_NULL(strstr(card, "data-metric=\"lost_bytes\""));
    free(card);
    card = card_of(html, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(card);
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<tr data-metric=\"net_bytes\"><th>net</th><td class=\"num\" "
                                        "title=\"683\">683 B</td><td class=\"num\">1.0 KiB</td>"
                                        "<td class=\"src\">cli: --net-bytes</td>"));
    CU_ASSERT_PTR_NULL(strstr(card, "data-metric=\"net_blocks\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<tr data-metric=\"lost_bytes\"><th>lost</th><td class=\"num\" "
                                        "title=\"512\">512 B</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<tr data-metric=\"lost_blocks\"><th>lost blocks</th>"
                                        "<td class=\"num\">4</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "</div><p class=\"note\">Suppressed: 128 B in 2 blocks.</p>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(card, "<p class=\"note\">2 threads were still running when the "
                                        "test ended</p>"));
    free(card);
    /* Unknown figures: an em dash in the table, explained, and null in the blob. */
    const char *row9 = strstr(html, "<tr data-i=\"9\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row9);
    CU_ASSERT_TRUE(mgt_count_of(row9, "title=\"not measured\">\xE2\x80\x94</td>") == 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(row9, "data-v=\"1000\">1000 B"));
    /* The interrupted banner comes before the facts; the warnings have one too. */
    const char *banner = strstr(html, "<div class=\"banner interrupted\" id=\"mg-interrupted\" "
                                      "role=\"alert\"><b class=\"btitle\">Interrupted</b>");
    const char *facts = strstr(html, "<dl class=\"facts\">");
    CU_ASSERT_TRUE(banner && facts && banner < facts);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<b class=\"btitle\">2 warnings</b><p class=\"note\">"
                                        "Warning: 2 tests of this run have the baseline key "
                                        "&quot;test_net:net/&lt;dup&gt;&quot;</p>"));
    /* Long names break after '/' and '_' (markup), never inside an attribute. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, ">network_<wbr>protocol_<wbr>handlers/<wbr>parse_<wbr>very_"
                                        "<wbr>long_<wbr>header_<wbr>with_"));
    CU_ASSERT_PTR_NULL(strstr(html, "=\"network_<wbr>"));
    CU_ASSERT_PTR_NULL(strstr(html, "title=\"./build/<wbr>"));
    /* Status chips are inert until the script runs. */
    CU_ASSERT_EQUAL(mgt_count_of(html, "aria-pressed=\"true\" disabled title=\"show or hide"), 6);
    /* The narrow layout labels each figure cell by its column, from the metric table. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "#mg-tests td:nth-child(3)::before { content: \"Leak\"; }"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "#mg-tests td:nth-child(5)::before { content: \"Peak\"; }"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "#mg-tests td:nth-child(6)::before { content: \"Time\"; }"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "#mg-tests td:nth-child(7)::before { content: \"Baseline\"; }"));

    /* The blob: scales across the run (22 B and 683 B leaks: linear up to 683 B; peaks
     * from 1000 B to 64 MiB: logarithmic), kinds, settings, traceback counts, unknowns. */
    char *blob = data_blob(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
    cJSON *doc = cJSON_Parse(blob);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "interrupted")));
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(doc, "warnings")->valueint, 2);
    const cJSON *scales = cJSON_GetObjectItemCaseSensitive(doc, "scales");
    const cJSON *leak = cJSON_GetObjectItemCaseSensitive(scales, "leaked_bytes");
    const cJSON *growth = cJSON_GetObjectItemCaseSensitive(scales, "object_growth");
    const cJSON *peak = cJSON_GetObjectItemCaseSensitive(scales, "peak_bytes");
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(leak, "max")->valuedouble, 683);
    CU_ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(leak, "log")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(leak, "maxText")->valuestring, "683 B");
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(growth, "max")->valuedouble, 7);
    CU_ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(growth, "log")));
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(peak, "max")->valuedouble, 64 * 1048576.0);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(peak, "log")));
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(doc, "tests");
    const cJSON *t0 = cJSON_GetArrayItem(tests, 0), *t1 = cJSON_GetArrayItem(tests, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(t0, "kind")->valuestring, "suite");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(t0, "isolation")->valuestring, "suite");
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(t1, "warmups")->valueint, 2);
    const cJSON *tbs = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tests, 3), "tracebacks");
    CU_ASSERT_EQUAL(cJSON_GetArrayItem(tbs, 0)->valueint, HFX_REVIEW_GROWTH_TBS);
    CU_ASSERT_EQUAL(cJSON_GetArrayItem(tbs, 1)->valueint, 0);
    const cJSON *m9 = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tests, 9), "metrics"), 0);
    CU_ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m9, "known")));
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m9, "value")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(m9, "text")->valuestring, "\xE2\x80\x94");
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tests, 10), "group")->valueint, 2);
    cJSON_Delete(doc);
    free(blob);
    free(html);

    /* The first fixture's leaks span 16 B to 4100 B: a log scale. A complete run has no
     * banner, and without a baseline the narrow layout has no baseline label. */
    html = render_fixture();
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    blob = data_blob(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
    CU_ASSERT_PTR_NOT_NULL(strstr(blob, "\"leaked_bytes\":{\"max\":4100,\"log\":true"));
    CU_ASSERT_PTR_NULL(strstr(html, "mg-interrupted"));
    CU_ASSERT_PTR_NULL(strstr(html, "mg-warnings"));
    free(blob);
    free(html);
}

/* The scale of a figure nobody measured above zero, and of a run without figures. */
static void test_scales_edge(void) {
    mg_run run = {0};
    mgt_test(&run, "./t", "s", "zero", MG_ST_PASS, 0.1);
    mgt_test(&run, "./t", "s", "crashed", MG_ST_CRASH, 0.1)->leaked_bytes = 1 << 30;
    char *html = render(&run, "zeros.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    char *blob = data_blob(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
    /* All zeros: a scale of 1, linear; a crashed test's figures do not count. */
    CU_ASSERT_PTR_NOT_NULL(strstr(blob, "\"leaked_bytes\":{\"max\":1,\"log\":false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(blob, "\"peak_bytes\":{\"max\":1,\"log\":false"));
    free(blob);
    free(html);
    mg_run_free_contents(&run);
}

/* ---- memgate report / merge ------------------------------------------------------ */

/* Output of a command call, captured from its stdout and stderr. */
typedef struct captured {
    int rc;
    char *out, *err;
} captured;

static void captured_free(captured *c) {
    free(c->out);
    free(c->err);
}

/* Calls cmd with the NULL-terminated argument list, capturing stdout and stderr. */
static captured call(int (*cmd)(int, char **), const char *const *args) {
    int argc = 0;
    while (args[argc]) argc++;
    char **argv = mg_xcalloc((size_t)argc + 1, sizeof *argv);
    for (int i = 0; i < argc; i++) argv[i] = mg_xstrdup(args[i]);
    char *out_path = mgt_tmp_path("stdout.txt"), *err_path = mgt_tmp_path("stderr.txt");
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    captured c;
    c.rc = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    c.out = mgt_slurp(out_path);
    c.err = mgt_slurp(err_path);
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    free(out_path);
    free(err_path);
    return c;
}

/* Writes the tests [from, to) of the fixture as a JSON report. */
static char *write_part(const char *name, size_t from, size_t to, const char *started,
                        const char *host, double duration) {
    mg_run run;
    hfx_make_run(&run);
    for (size_t i = 0; i < run.ntests; i++)
        if (i < from || i >= to) mg_test_result_free_contents(&run.tests[i]);
    memmove(run.tests, run.tests + from, (to - from) * sizeof *run.tests);
    run.ntests = to - from;
    free(run.started_at);
    free(run.hostname);
    run.started_at = mg_xstrdup(started);
    run.hostname = mg_xstrdup(host);
    run.duration_s = duration;
    char *path = mgt_tmp_path(name), err[512];
    CU_ASSERT_EQUAL(mg_report_json_write(&run, path, err, sizeof err), 0);
    mg_run_free_contents(&run);
    return path;
}

static void test_merge(void) {
    char *a = write_part("a.json", 0, 5, "2026-11-21T09:41:00Z", "host-a", 2.5);
    char *b = write_part("b.json", 5, HFX_TESTS, "2026-11-21T09:40:30Z", "host-b", 4.0);
    char *out = mgt_tmp_path("merged.json");
    captured c = call(mg_cmd_merge, (const char *[]){"merge", out, a, b, NULL});
    CU_ASSERT_EQUAL(c.rc, 1); /* the fixture has failures */
    CU_ASSERT_STRING_EQUAL(c.err, "");
    captured_free(&c);

    mg_run m, ref;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(mg_report_json_read(out, &m, err, sizeof err), 0);
    hfx_make_run(&ref);
    CU_ASSERT_EQUAL(m.ntests, HFX_TESTS);
    for (size_t i = 0; i < m.ntests && i < ref.ntests; i++) {
        char *fixed = mg_utf8_fix(ref.tests[i].name); /* the JSON report mends bad bytes */
        CU_ASSERT_STRING_EQUAL(m.tests[i].name, fixed ? fixed : ref.tests[i].name);
        free(fixed);
        CU_ASSERT_EQUAL(m.tests[i].status, ref.tests[i].status);
    }
    CU_ASSERT_DOUBLE_EQUAL(m.duration_s, 6.5, 1e-9);
    CU_ASSERT_STRING_EQUAL(m.started_at, "2026-11-21T09:40:30Z");
    CU_ASSERT_STRING_EQUAL(m.hostname, "host-a");
    CU_ASSERT_PTR_NULL(m.shard);
    CU_ASSERT_STRING_EQUAL(m.baseline_path, HFX_BASELINE);
    /* Both inputs reported the same two removed keys: once each, sorted. */
    CU_ASSERT_EQUAL_FATAL(m.nbaseline_removed, 2);
    CU_ASSERT_STRING_EQUAL(m.baseline_removed[0], "test_cache:cache/retired");
    CU_ASSERT_STRING_EQUAL(m.baseline_removed[1], "test_parser:parser/<old>");
    mg_run_free_contents(&m);
    mg_run_free_contents(&ref);
    free(a);
    free(b);
    free(out);
}

static void test_merge_removed_keys(void) {
    /* Shard 1 runs test_cache's core/alloc_free and calls parser/tokens removed; shard 2
     * runs parser/tokens and calls core/alloc_free removed: neither is really gone.
     * Baseline keys name the binary as given, "./build/tests/test_cache". */
    char err[512];
    const char *files[2] = {"s1.json", "s2.json"};
    size_t pick[2] = {0, 10};
    const char *removed[2] = {"./build/tests/test_parser:parser/tokens",
                              "./build/tests/test_cache:core/alloc_free"};
    char *paths[2];
    for (int k = 0; k < 2; k++) {
        mg_run run;
        hfx_make_run(&run);
        mg_test_result keep = run.tests[pick[k]];
        memset(&run.tests[pick[k]], 0, sizeof keep);
        for (size_t i = 0; i < run.ntests; i++) mg_test_result_free_contents(&run.tests[i]);
        run.tests[0] = keep;
        run.ntests = 1;
        for (size_t i = 0; i < run.nbaseline_removed; i++) free(run.baseline_removed[i]);
        run.baseline_removed[0] = mg_xstrdup(removed[k]);
        run.baseline_removed[1] = mg_xstrdup(k ? "gone:x/y" : "gone:a/b");
        paths[k] = mgt_tmp_path(files[k]);
        CU_ASSERT_EQUAL(mg_report_json_write(&run, paths[k], err, sizeof err), 0);
        mg_run_free_contents(&run);
    }
    char *out = mgt_tmp_path("shards.json");
    captured c = call(mg_cmd_merge, (const char *[]){"merge", out, paths[0], paths[1], NULL});
    CU_ASSERT_EQUAL(c.rc, 0); /* both tests pass */
    captured_free(&c);
    mg_run m;
    CU_ASSERT_EQUAL_FATAL(mg_report_json_read(out, &m, err, sizeof err), 0);
    CU_ASSERT_EQUAL(m.ntests, 2);
    CU_ASSERT_PTR_NULL(m.shard);
    CU_ASSERT_EQUAL_FATAL(m.nbaseline_removed, 2);
    CU_ASSERT_STRING_EQUAL(m.baseline_removed[0], "gone:a/b");
    CU_ASSERT_STRING_EQUAL(m.baseline_removed[1], "gone:x/y");
    mg_run_free_contents(&m);
    free(paths[0]);
    free(paths[1]);
    free(out);
}

static void test_merge_errors(void) {
    char *a = write_part("da.json", 0, 3, "2026-11-21T09:41:00Z", "h", 1);
    char *b = write_part("db.json", 2, 5, "2026-11-21T09:41:00Z", "h", 1); /* shares test 2 */
    char *out = mgt_tmp_path("dup.json");
    captured c = call(mg_cmd_merge, (const char *[]){"merge", out, a, b, NULL});
    CU_ASSERT_EQUAL(c.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "cache/peaks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, a));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, b));
    CU_ASSERT_EQUAL(access(out, F_OK), -1); /* nothing written */
    captured_free(&c);

    /* Bad inputs: missing file, not JSON, not a memgate report. */
    char *missing = mgt_tmp_path("nope.json"), *junk = mgt_tmp_path("junk.json"),
         *other = mgt_tmp_path("other.json");
    CU_ASSERT_EQUAL(mgt_spit(junk, "{\"tool\": \"memgate\", "), 0);
    CU_ASSERT_EQUAL(mgt_spit(other, "{\"tool\": \"pytest\", \"tests\": []}"), 0);
    const char *bad_inputs[] = {missing, junk, other};
    const char *want[] = {"nope.json", "not valid JSON", "not a memgate report"};
    for (size_t i = 0; i < 3; i++) {
        c = call(mg_cmd_merge, (const char *[]){"merge", out, a, bad_inputs[i], NULL});
        CU_ASSERT_EQUAL(c.rc, 2);
        if (!strstr(c.err, want[i])) fprintf(stderr, "\nstderr: %s\n", c.err);
        CU_ASSERT_PTR_NOT_NULL(strstr(c.err, want[i]));
        CU_ASSERT_EQUAL(access(out, F_OK), -1);
        captured_free(&c);
    }
    /* Usage: too few operands, an unknown option, the output among the inputs. */
    c = call(mg_cmd_merge, (const char *[]){"merge", NULL});
    CU_ASSERT_EQUAL(c.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "memgate merge OUT.json IN.json"));
    captured_free(&c);
    c = call(mg_cmd_merge, (const char *[]){"merge", out, NULL});
    CU_ASSERT_EQUAL(c.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "no input report"));
    captured_free(&c);
    c = call(mg_cmd_merge, (const char *[]){"merge", "--frobnicate", out, a, NULL});
    CU_ASSERT_EQUAL(c.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "--frobnicate"));
    captured_free(&c);
    char *a_before = mgt_slurp(a);
    c = call(mg_cmd_merge, (const char *[]){"merge", a, a, b, NULL});
    CU_ASSERT_EQUAL(c.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "is also an input"));
    captured_free(&c);
    char *a_after = mgt_slurp(a);
    CU_ASSERT_STRING_EQUAL(a_before, a_after); /* the input survived */
    free(a_before);
    free(a_after);
    c = call(mg_cmd_merge, (const char *[]){"merge", "--help", NULL});
    CU_ASSERT_EQUAL(c.rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "usage: memgate merge"));
    captured_free(&c);
    free(missing);
    free(junk);
    free(other);
    free(a);
    free(b);
    free(out);
}

static void test_report_outputs(void) {
    char *in = write_part("full.json", 0, HFX_TESTS, "2026-11-21T09:40:00Z", "ci", 3);
    char *junit = mgt_tmp_path("r.xml"), *html = mgt_tmp_path("r.html");
    char *json = mgt_tmp_path("r.json");
    captured c = call(mg_cmd_report, (const char *[]){"report", in, "--junit", junit,
                                                      "--html=" /* joined form */, NULL});
    /* "--html=" with an empty value names no file: a clear error. */
    CU_ASSERT_EQUAL(c.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "--html needs a value"));
    captured_free(&c);
    char *html_opt = mg_xasprintf("--html=%s", html);
    c = call(mg_cmd_report,
             (const char *[]){"report", "--junit", junit, in, html_opt, "--json", json, NULL});
    CU_ASSERT_EQUAL(c.rc, 1);
    CU_ASSERT_STRING_EQUAL(c.out, ""); /* files asked for: no console summary */
    CU_ASSERT_STRING_EQUAL(c.err, "");
    captured_free(&c);
    free(html_opt);

    char *schema = mg_xasprintf("%s/tests/golden/junit-10.xsd", MG_SOURCE_DIR);
    CU_ASSERT_TRUE(mgt_xmllint_validates(schema, junit));
    char *xml = mgt_slurp(junit);
    CU_ASSERT_TRUE(xml && strstr(xml, "name=\"grows\"") && strstr(xml, "<failure"));
    free(xml);
    char *page = mgt_slurp(html);
    CU_ASSERT_TRUE(page && strstr(page, "<a href=\"#t-1\">cache/<wbr>grows</a>"));
    CU_ASSERT_TRUE(page && mgt_count_of(page, "<tr data-i=") == HFX_TESTS);
    free(page);
    mg_run back;
    char err[512];
    CU_ASSERT_EQUAL(mg_report_json_read(json, &back, err, sizeof err), 0);
    CU_ASSERT_EQUAL(back.ntests, HFX_TESTS);
    CU_ASSERT_STRING_EQUAL(back.shard, "2/4");
    mg_run_free_contents(&back);

    /* No output option: the console summary, without colour when asked. */
    c = call(mg_cmd_report, (const char *[]){"report", in, "--color", "never", NULL});
    CU_ASSERT_EQUAL(c.rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "memgate: ran 11 tests"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "cache/grows"));
    CU_ASSERT_PTR_NULL(strchr(c.out, '\033'));
    captured_free(&c);
    c = call(mg_cmd_report, (const char *[]){"report", in, "--color=always", "--console",
                                              "--junit", junit, NULL});
    CU_ASSERT_EQUAL(c.rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "\033[31mFAIL"));
    captured_free(&c);

    /* Every test passed or skipped: exit 0. */
    char *green = write_part("green.json", 9, HFX_TESTS, "2026-11-21T09:40:00Z", "ci", 1);
    c = call(mg_cmd_report, (const char *[]){"report", green, NULL});
    CU_ASSERT_EQUAL(c.rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "1 passed, 0 failed, 1 skipped"));
    captured_free(&c);
    free(green);
    free(schema);
    free(in);
    free(junit);
    free(html);
    free(json);
}

static void test_report_errors(void) {
    char *in = write_part("e.json", 0, 2, "2026-11-21T09:40:00Z", "ci", 1);
    char *missing = mgt_tmp_path("absent.json"), *junk = mgt_tmp_path("junk2.json");
    CU_ASSERT_EQUAL(mgt_spit(junk, "[1, 2"), 0);
    char *bad_dir = mgt_tmp_path("no/such/dir/r.html");
    static const struct {
        const char *args[6];
        const char *want;
    } cases[] = {
        {{"report", NULL}, "no input report"},
        {{"report", "@MISSING", NULL}, "absent.json"},
        {{"report", "@JUNK", NULL}, "not valid JSON"},
        {{"report", "@IN", "@IN", NULL}, "one input report expected"},
        {{"report", "@IN", "--color", "sometimes", NULL}, "sometimes"},
        {{"report", "@IN", "--junit", NULL}, "--junit needs a value"},
        {{"report", "@IN", "--pdf", "x", NULL}, "unknown option '--pdf'"},
        {{"report", "@IN", "--html", "@BADDIR", NULL}, "no/such/dir"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[6] = {0};
        for (size_t k = 0; k < 6 && cases[i].args[k]; k++) {
            const char *a = cases[i].args[k];
            args[k] = !strcmp(a, "@IN")        ? in
                      : !strcmp(a, "@MISSING") ? missing
                      : !strcmp(a, "@JUNK")    ? junk
                      : !strcmp(a, "@BADDIR")  ? bad_dir
                                               : a;
        }
        captured c = call(mg_cmd_report, args);
        CU_ASSERT_EQUAL(c.rc, 2);
        if (!strstr(c.err, cases[i].want))
            fprintf(stderr, "\ncase %zu: stderr: %s\n", i, c.err);
        CU_ASSERT_PTR_NOT_NULL(strstr(c.err, cases[i].want));
        CU_ASSERT_EQUAL(strncmp(c.err, "memgate: ", 9), 0);
        captured_free(&c);
    }
    captured c = call(mg_cmd_report, (const char *[]){"report", "-h", NULL});
    CU_ASSERT_EQUAL(c.rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "usage: memgate report IN.json"));
    captured_free(&c);
    free(in);
    free(missing);
    free(junk);
    free(bad_dir);
}

/* The figures beyond leak, growth and peak: lost and net figures in a test's limits
 * table when they were measured (never when not), suppressed memory, notes, the lost
 * part of a traceback, run warnings and an interrupted run; the summary table keeps its
 * three figure columns. */
static void test_new_figures(void) {
    mg_run run;
    hfx_make_run(&run);
    mg_test_result *t = &run.tests[1]; /* cache/grows */
    mg_test_set(t, MG_M_LOST_BYTES, 4096);
    mg_test_set(t, MG_M_LOST_BLOCKS, 1);
    mg_test_set(t, MG_M_NET_BYTES, -2048);
    mgt_limit(&t->budget.net_bytes, 0, MG_SRC_CLI, "--net-bytes");
    t->suppressed_bytes = 64;
    t->suppressed_blocks = 2;
    mg_test_add_note(t, "threads were still running <after> the test");
    t->diffs[0].lost_known = true;
    t->diffs[0].lost_size = 4096;
    t->diffs[0].lost_count = 1;
    run.tests[0].known &= ~MG_M_BIT(MG_M_LEAK); /* core/alloc_free: leak not measured */
    run.interrupted = true;
    mg_run_add_warning(&run, "2 tests of this run have the baseline key \"a<b\"");
    char *html = render(&run, "figures.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr data-metric=\"lost_bytes\"><th>lost</th>"
                                        "<td class=\"num\" title=\"4096\">4.0 KiB</td>"
                                        "<td class=\"num\">unlimited</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr data-metric=\"lost_blocks\"><th>lost blocks</th>"
                                        "<td class=\"num\">1</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr data-metric=\"net_bytes\"><th>net</th>"
                                        "<td class=\"num\" title=\"-2048\">-2.0 KiB</td>"
                                        "<td class=\"num\">0 B</td><td class=\"src\">cli: "
                                        "--net-bytes</td>"));
    CU_ASSERT_EQUAL(mgt_count_of(html, "data-metric=\"net_bytes\""), 1); /* measured once */
    CU_ASSERT_EQUAL(mgt_count_of(html, "data-metric=\"net_blocks\""), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<p class=\"note\">Suppressed: 64 B in 2 blocks.</p>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<p class=\"note\">threads were still running "
                                        "&lt;after&gt; the test</p>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<b>+4.0 KiB</b> in 1 block (lost 4.0 KiB in 1 block)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<p class=\"note\">The run was interrupted"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<p class=\"note\">Warning: 2 tests of this run have the "
                                        "baseline key &quot;a&lt;b&quot;</p>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<th class=\"num\" data-sort=\"num\">Leak</th>"
                                        "<th class=\"num\" data-sort=\"num\">Growth</th>"
                                        "<th class=\"num\" data-sort=\"num\">Peak</th>"
                                        "<th class=\"num\" data-sort=\"num\">Time</th>"));
    /* A figure that was not measured shows as an em dash in its column, never as 0,
     * and has no row. */
    const char *row0 = strstr(html, "<tr data-i=\"0\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row0);
    CU_ASSERT_PTR_NOT_NULL(strstr(row0, "<td class=\"num na\" data-v=\"\" title=\"not measured\">"
                                        "\xE2\x80\x94</td>"));
    const char *sec0 = strstr(html, "id=\"t-0\""), *sec1 = strstr(html, "id=\"t-1\"");
    CU_ASSERT_FATAL(sec0 && sec1);
    const char *leak_row = strstr(sec0, "data-metric=\"leaked_bytes\"");
    CU_ASSERT(leak_row == NULL || leak_row > sec1);
    free(html);
    mg_run_free_contents(&run);
}

/* A crash site, the measured runs of --repeat and the points of memgate torture each get
 * their own section in the card, with their stacks. */
static void test_crash_repeat_torture(void) {
    mg_run run;
    hfx_make_run(&run);
    mg_test_result *t = &run.tests[0];
    t->crash_site = hfx_entries(1);
    t->ncrash_site = 1;
    mgt_entry(&t->crash_site[0], 0, 0, 0, 0, 2);
    mgt_frame(&t->crash_site[0].frames[0], "strlen", NULL, 0, "/lib/x86_64-linux-gnu/libc.so.6", 0x1000);
    mgt_frame(&t->crash_site[0].frames[1], "parse_name", "/src/parse.c", 31, "/build/t", 0x401000);
    t->crash_site[0].culprit = 1;
    t->repeat = 3;
    t->nruns = 3;
    t->runs = mg_xcalloc(3, sizeof *t->runs);
    for (size_t k = 0; k < 3; k++)
        t->runs[k] = (mg_run_figures){.leaked_bytes = 64, .object_growth = 1, .net_bytes = 64, .net_blocks = 1,
                                      .peak_bytes = 128 * (int64_t)(k + 1), .leak_known = true};
    t->has_slope = true;
    t->slope_bytes = 64;
    t->slope_blocks = 1;
    t->tortured = true;
    t->torture_allocations = 3;
    t->ntorture = 3;
    t->torture = mg_xcalloc(3, sizeof *t->torture);
    t->torture[0] = (mg_torture_point){.alloc = 1, .outcome = MG_TO_PASS};
    t->torture[1] = (mg_torture_point){.alloc = 2, .outcome = MG_TO_LEAK, .leaked_bytes = 16, .object_growth = 1,
                                       .message = mg_xstrdup("leaked 16 B in 1 block on the error path")};
    t->torture[1].site = hfx_entries(1);
    t->torture[1].nsite = 1;
    mgt_entry(&t->torture[1].site[0], 16, 16, 1, 1, 1);
    mgt_frame(&t->torture[1].site[0].frames[0], "config_load", "/src/config.c", 32, "/build/t", 0x402000);
    t->torture[2] = (mg_torture_point){.alloc = 3, .outcome = MG_TO_UNREACHED};
    char *html = render(&run, "crash_repeat_torture.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    const char *sec = strstr(html, "id=\"t-0\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
    const char *crash = strstr(sec, "<h3>Crash site <small>(innermost frame first)</small></h3><ol class=\"frames\">");
    CU_ASSERT_PTR_NOT_NULL(crash);
    if (crash) CU_ASSERT_PTR_NOT_NULL(strstr(crash, "<li class=\"culprit\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sec, "<h3>Measured runs <small>(3; growth every run shows: +64 B and 1 block per "
                                       "run)</small></h3>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sec, "<tr><td>3</td><td>64 B</td><td>1</td><td>64 B</td><td>1</td><td>384 B</td></tr>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sec, "<h3>Allocation failures <small>(3 allocations counted; 3 points tried, 1 went "
                                       "wrong, 1 not reached)</small></h3>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sec, "<li class=\"to-leak\"><b>allocation 2</b> made to fail: leaked 16 B in 1 "
                                       "block on the error path<details class=\"tb\"><summary>where what leaked was "
                                       "allocated</summary>"));
    CU_ASSERT_EQUAL(mgt_count_of(html, "<li class=\"to-"), 1); /* passing and unreached points are only counted */
    free(html);
    mg_run_free_contents(&run);
}

/* `memgate report` and `memgate merge` take what `memgate run --json` wrote, exactly:
 * limits and figures beyond 2^53 come out as they went in; warnings and an
 * interrupted input carry over into the merged report. */
static void test_commands_exact(void) {
    char err[512] = "";
    char *parts[2];
    for (int k = 0; k < 2; k++) {
        mg_run run = {0};
        mg_test_result *t = mgt_test(&run, "./t", "s", k ? "b" : "a", MG_ST_PASS, 1);
        t->leaked_bytes = 9007199254740993LL;
        t->peak_bytes = 9007199254740993LL + k;
        mgt_limit(&t->budget.leak_bytes, 9007199254740993LL, MG_SRC_FILE_DEFAULTS, "b: defaults");
        mgt_limit(&t->budget.peak_bytes, INT64_MAX, MG_SRC_CLI, "--peak");
        run.interrupted = k == 1;
        mg_run_add_warning(&run, "shared warning");
        if (k) mg_run_add_warning(&run, "warning of part %d", k);
        parts[k] = mgt_tmp_path(k ? "exact-b.json" : "exact-a.json");
        CU_ASSERT_EQUAL(mg_report_json_write(&run, parts[k], err, sizeof err), 0);
        mg_run_free_contents(&run);
    }
    char *merged = mgt_tmp_path("exact-merged.json"), *again = mgt_tmp_path("exact-again.json");
    captured c = call(mg_cmd_merge, (const char *[]){"merge", merged, parts[0], parts[1], NULL});
    CU_ASSERT_EQUAL(c.rc, 0);
    if (c.rc) fprintf(stderr, "\nmerge: %s\n", c.err);
    captured_free(&c);
    c = call(mg_cmd_report, (const char *[]){"report", merged, "--json", again, NULL});
    CU_ASSERT_EQUAL(c.rc, 0);
    if (c.rc) fprintf(stderr, "\nreport: %s\n", c.err);
    captured_free(&c);
    mg_run back;
    CU_ASSERT_EQUAL_FATAL(mg_report_json_read(again, &back, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(back.ntests, 2);
    CU_ASSERT_EQUAL(back.tests[0].leaked_bytes, 9007199254740993LL);
    CU_ASSERT_EQUAL(back.tests[1].peak_bytes, 9007199254740994LL);
    CU_ASSERT_EQUAL(back.tests[0].budget.leak_bytes.value, 9007199254740993LL);
    CU_ASSERT_EQUAL(back.tests[1].budget.peak_bytes.value, INT64_MAX);
    CU_ASSERT_TRUE(back.interrupted);
    CU_ASSERT_EQUAL_FATAL(back.nwarnings, 2);
    CU_ASSERT_STRING_EQUAL(back.warnings[0], "shared warning");
    CU_ASSERT_STRING_EQUAL(back.warnings[1], "warning of part 1");
    mg_run_free_contents(&back);
    char *text = mgt_slurp(again);
    CU_ASSERT(text && strstr(text, "\"value\":\t9223372036854775807,"));
    free(text);
    free(parts[0]);
    free(parts[1]);
    free(merged);
    free(again);
}

MGT_MAIN({
    static const mgt_case page[] = {
        {"structure", test_structure},
        {"header_counts", test_header_counts},
        {"names_escaped", test_names_escaped},
        {"data_blob", test_data_blob},
        {"table_cells", test_table_cells},
        {"sections", test_sections},
        {"output_tail", test_output_tail},
        {"empty_and_plain", test_empty_and_plain},
        {"atomic_write", test_atomic_write},
        {"new_figures", test_new_figures},
        {"crash_repeat_torture", test_crash_repeat_torture},
        {"order", test_order},
        {"one_sentence", test_one_sentence},
        {"tracebacks", test_tracebacks},
        {"regression_style", test_regression_style},
        {"review_fields", test_review_fields},
        {"scales_edge", test_scales_edge},
        {NULL, NULL},
    };
    static const mgt_case commands[] = {
        {"merge", test_merge},
        {"merge_removed_keys", test_merge_removed_keys},
        {"merge_errors", test_merge_errors},
        {"report_outputs", test_report_outputs},
        {"report_errors", test_report_errors},
        {"exact", test_commands_exact},
        {NULL, NULL},
    };
    if (mgt_add_suite("html", page) || mgt_add_suite("commands", commands)) return 2;
})
