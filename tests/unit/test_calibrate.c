/*
 * Tests of budget calibration (runner/calibrate.c): readable rounding, the headroom
 * argument, and the budgets file and annotation lines written from several runs:
 * largest figures, spread on top for what varied (with a comment), headroom and the
 * 1 KiB floor on peaks, exact leaks, sorted keys with glob characters escaped, tests
 * left out when a run had no figures for them. The file written is read back by the
 * budgets loader.
 */
#include "mgtest.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budgets.h"
#include "calibrate.h"

static void test_readable(void) {
    static const struct {
        int64_t in, out;
        const char *text;
    } cases[] = {
        {0, 0, "0"},
        {1000, 1000, "1000"},
        {1024, 1024, "1 KiB"},
        {1025, 1536, "1.5 KiB"},
        {4300, 4608, "4.5 KiB"},
        {10240, 10240, "10 KiB"},
        {10241, 11264, "11 KiB"},
        {102400, 102400, "100 KiB"},
        {102401, 112640, "110 KiB"},
        {360000, 368640, "360 KiB"},
        {1048000, 1048576, "1 MiB"},
        {1572864, 1572864, "1.5 MiB"},
        {(int64_t)3 << 30, (int64_t)3 << 30, "3 GiB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[48];
        int64_t got = mg_calib_readable(cases[i].in, text, sizeof text);
        CU_ASSERT_EQUAL(got, cases[i].out);
        CU_ASSERT_STRING_EQUAL(text, cases[i].text);
        CU_ASSERT_TRUE(got >= cases[i].in);
    }
}

static void test_headroom(void) {
    double f = -1;
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("20%", &f), 0);
    CU_ASSERT_DOUBLE_EQUAL(f, 0.2, 1e-12);
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("12.5 %", &f), 0);
    CU_ASSERT_DOUBLE_EQUAL(f, 0.125, 1e-12);
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("0", &f), 0);
    CU_ASSERT_DOUBLE_EQUAL(f, 0, 1e-12);
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("-5%", &f), -1);
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("20%%", &f), -1);
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("lots", &f), -1);
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("2000%", &f), -1);
    CU_ASSERT_EQUAL(mg_calib_parse_headroom("", &f), -1);
}

/* One test result with leak, growth and peak figures and a status. */
static void put(mg_run *run, const char *suite, const char *name, mg_status st, int64_t leak, int64_t growth,
                int64_t peak) {
    mg_test_result *t = &run->tests[run->ntests++];
    memset(t, 0, sizeof *t);
    t->suite = (char *)suite;
    t->name = (char *)name;
    t->status = st;
    if (st == MG_ST_PASS || st == MG_ST_FAIL) {
        mg_test_set(t, MG_M_LEAK, leak);
        mg_test_set(t, MG_M_GROWTH, growth);
        mg_test_set(t, MG_M_PEAK, peak);
    }
}

/* Three runs: a stable test, a noisy one, a leaking one, one that crashed once, one
 * with glob characters in its name. */
static mg_calib *three_runs(void) {
    mg_calib *c = mg_calib_new();
    static const int64_t noisy[3] = {10000, 30000, 20000};
    for (int r = 0; r < 3; r++) {
        mg_test_result tests[8];
        mg_run run = {.tests = tests};
        put(&run, "s", "stable", MG_ST_PASS, 0, 0, 300000);
        put(&run, "s", "noisy", MG_ST_PASS, 0, 0, noisy[r]);
        put(&run, "s", "leaks", MG_ST_FAIL, 24, 1, 24);
        put(&run, "s", "crashy", r == 1 ? MG_ST_CRASH : MG_ST_PASS, 0, 0, 64);
        put(&run, "s", "star*[x]", MG_ST_PASS, 0, 0, 2000);
        put(&run, "s", "skipped", MG_ST_SKIP, 0, 0, 0);
        mg_calib_add_run(c, &run);
    }
    return c;
}

static char *written(const mg_calib *c, bool annotations) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mg_calib_opts o = {0.2, annotations, "t"};
    CU_ASSERT_EQUAL(mg_calib_write(c, &o, f), 0);
    fclose(f);
    return buf;
}

static void test_file(void) {
    mg_calib *c = three_runs();
    size_t done = 0, left = 0, varied = 0;
    mg_calib_counts(c, &done, &left, &varied);
    CU_ASSERT_EQUAL(done, 4);
    CU_ASSERT_EQUAL(left, 1);
    CU_ASSERT_EQUAL(varied, 1);
    CU_ASSERT_STRING_EQUAL(mg_calib_name(c, MG_CALIB_LEFT_OUT, 0), "s/crashy");
    CU_ASSERT_PTR_NULL(mg_calib_name(c, MG_CALIB_LEFT_OUT, 1));
    CU_ASSERT_STRING_EQUAL(mg_calib_name(c, MG_CALIB_LEAKING, 0), "s/leaks");
    CU_ASSERT_PTR_NULL(mg_calib_name(c, MG_CALIB_LEAKING, 1));
    char *text = written(c, false);
    const char *want =
        "{\n"
        "  \"comment\": \"written by memgate calibrate from 3 runs of t: each test's largest figures; a figure that "
        "varied gets its spread on top; peak_bytes has 20% headroom, rounded up\",\n"
        "  \"defaults\": {\"leak_bytes\": 0, \"object_growth\": 0, \"peak_bytes\": \"360 KiB\"},\n"
        "  \"tests\": {\n"
        "    \"s/leaks\": {\"leak_bytes\": 24, \"object_growth\": 1, \"peak_bytes\": \"1 KiB\"},\n"
        "    \"s/noisy\": {\"comment\": \"varied over 3 runs: peak_bytes 9.8 KiB to 29.3 KiB; the spread is "
        "included\", \"peak_bytes\": \"59 KiB\"},\n"
        "    \"s/stable\": {\"peak_bytes\": \"360 KiB\"},\n"
        "    \"s/star\\\\*\\\\[x]\": {\"peak_bytes\": \"2.5 KiB\"}\n"
        "  }\n"
        "}\n";
    CU_ASSERT_STRING_EQUAL(text, want);
    if (strcmp(text, want)) fprintf(stderr, "\ngot:\n%s\n", text);

    /* The file is a budgets file memgate accepts, and its keys match the tests. */
    char path[] = "/tmp/mg-calib-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    mg_budget_file *bf = NULL;
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_budgets_load(path, &bf, err, sizeof err), 0);
    if (err[0]) fprintf(stderr, "\n%s\n", err);
    unlink(path);
    mg_budgets_free(bf);
    free(text);

    text = written(c, true);
    CU_ASSERT_STRING_EQUAL(text,
                           "/* s/leaks */ MEMGATE_BUDGET(.leak_bytes = 24, .object_growth = 1, .peak_bytes = "
                           "MEMGATE_KiB(1));\n"
                           "/* s/noisy */ MEMGATE_BUDGET(.peak_bytes = MEMGATE_KiB(59)); /* varied over 3 runs: "
                           "peak_bytes 9.8 KiB to 29.3 KiB */\n"
                           "/* s/stable */ MEMGATE_BUDGET(.peak_bytes = MEMGATE_KiB(360));\n"
                           "/* s/star*[x] */ MEMGATE_BUDGET(.peak_bytes = 2560);\n");
    free(text);
    mg_calib_free(c);
}

static const mgt_case cases[] = {
    {"readable", test_readable}, {"headroom", test_headroom}, {"file", test_file}, {NULL, NULL}};

MGT_MAIN(if (mgt_add_suite("calibrate", cases)) return 2;)
