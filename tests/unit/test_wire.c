/*
 * Tests of the CLI's protocol parsers (runner/wire.c): HELLO, LIST, RESULT and ERROR
 * lines from a driver, and a child's report with several windows, annotations,
 * failures, tracebacks, exits and heap misuse; hostile input is skipped, never trusted.
 */
#include "mgtest.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

static void test_unescape(void) {
    char a[] = "a%20b%25c%0A";
    mg_unescape(a);
    CU_ASSERT_STRING_EQUAL(a, "a b%c\n");
    char dash[] = "-";
    mg_unescape(dash);
    CU_ASSERT_STRING_EQUAL(dash, "");
    char bad[] = "100%zz%4";
    mg_unescape(bad);
    CU_ASSERT_STRING_EQUAL(bad, "100%zz%4");
}

static void test_hello(void) {
    int v = 0;
    pid_t pid = 0;
    CU_ASSERT_EQUAL(mg_wire_parse_hello("HELLO memgate 2 pid=1234\n", &v, &pid), 0);
    CU_ASSERT_EQUAL(v, 2);
    CU_ASSERT_EQUAL(pid, 1234);
    CU_ASSERT_EQUAL(mg_wire_parse_hello("HELLO other 2", &v, &pid), -1);
    CU_ASSERT_EQUAL(mg_wire_parse_hello("LIST", &v, &pid), -1);
    CU_ASSERT_EQUAL(mg_wire_parse_hello("HELLO memgate x", &v, &pid), -1);
}

static const char list_text[] = "LIST adapter=cunit suites=2 tests=3\n"
                                "U 0 1 1 0 cache\n"
                                "U 1 0 0 1 with%20space\n"
                                "T 0 0 1 put\n"
                                "T 1 0 0 get\n"
                                "T 2 1 1 -\n"
                                "H function CU_*\n"
                                "H function run_single_test\n"
                                "H module libcunit.so*\n"
                                "ENDLIST\n";

static void test_list(void) {
    mg_wire_list l;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(mg_wire_parse_list(list_text, strlen(list_text), &l, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(l.adapter, "cunit");
    CU_ASSERT_EQUAL(l.nsuites, 2);
    CU_ASSERT_EQUAL(l.ntests, 3);
    CU_ASSERT_STRING_EQUAL(l.suites[1].name, "with space");
    CU_ASSERT_TRUE(l.suites[0].has_init && !l.suites[0].has_cleanup && l.suites[0].active);
    CU_ASSERT_TRUE(!l.suites[1].active && l.suites[1].has_cleanup);
    CU_ASSERT_FALSE(l.tests[1].active);
    CU_ASSERT_EQUAL(l.tests[2].suite, 1);
    CU_ASSERT_STRING_EQUAL(l.tests[2].name, "");
    CU_ASSERT_STRING_EQUAL(l.harness_functions[1], "run_single_test");
    CU_ASSERT_PTR_NULL(l.harness_functions[2]);
    CU_ASSERT_STRING_EQUAL(l.harness_modules[0], "libcunit.so*");
    mg_wire_list same;
    CU_ASSERT_EQUAL(mg_wire_parse_list(list_text, strlen(list_text), &same, err, sizeof err), 0);
    CU_ASSERT_TRUE(mg_wire_list_same(&l, &same));
    free(same.tests[0].name);
    same.tests[0].name = strdup("puts");
    CU_ASSERT_FALSE(mg_wire_list_same(&l, &same));
    mg_wire_list_free(&same);
    mg_wire_list_free(&l);
    /* A test in a suite that was never listed is refused. */
    const char *bad = "LIST\nU 0 1 0 0 a\nT 0 5 1 t\nENDLIST\n";
    CU_ASSERT_EQUAL(mg_wire_parse_list(bad, strlen(bad), &l, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown suite"));
}

static void test_result_header(void) {
    mg_wire_result_hdr h;
    CU_ASSERT_EQUAL(mg_wire_parse_result_header("RESULT 7 wstatus=9 timeout=1 dur_ns=123 res=10 out=2\n", &h), 0);
    CU_ASSERT_EQUAL(h.tag, 7);
    CU_ASSERT_EQUAL(h.wstatus, 9);
    CU_ASSERT_TRUE(h.timed_out);
    CU_ASSERT_EQUAL(h.dur_ns, 123);
    CU_ASSERT_EQUAL(h.res_len, 10);
    CU_ASSERT_EQUAL(h.out_len, 2);
    CU_ASSERT_EQUAL(mg_wire_parse_result_header("RESULT 7 wstatus=9 timeout=1 dur_ns=1 res=-1 out=2", &h), -1);
    CU_ASSERT_EQUAL(mg_wire_parse_result_header("RESULT 7 wstatus=9", &h), -1);
    CU_ASSERT_EQUAL(mg_wire_parse_result_header("RESULT 7 wstatus=9 timeout=0 dur_ns=1 res=99999999999 out=0", &h), -1);
    unsigned tag = 0;
    char *msg = NULL;
    CU_ASSERT_EQUAL(mg_wire_parse_error("ERROR 3 pipe2:%20Too%20many%20open%20files\n", &tag, &msg), 0);
    CU_ASSERT_EQUAL(tag, 3);
    CU_ASSERT_STRING_EQUAL(msg, "pipe2: Too many open files");
    free(msg);
}

static const char report_text[] =
    "W 1 suite 0\n"
    "W 2 test 4\n"
    "R 2 net_bytes=-883 net_blocks=0 peak_bytes=5217 allocations=2 dur_ns=1000 pending_bytes=217 pending_blocks=1\n"
    "F 2 assert 42 t.c x%20==%201\n"
    "A 2 leak_bytes=4096 warmups=1 line=12 file=t.c\n"
    "STK 9 401000 401100\n"
    "N 2 9 size=300 size_diff=200 count=3 count_diff=2\n"
    "PK 2 5217\n"
    "P 2 9 size=5000 count=1\n"
    "W 3 test 5\n"
    "S 3 notrun\n"
    "R 1 net_bytes=10 net_blocks=1 peak_bytes=6000 allocations=9 dur_ns=5 pending_bytes=10 pending_blocks=1\n"
    "S 1 scleanup\n"
    "NOTE threads-running\n"
    "L 1 leaked_bytes=0 object_growth=0\n"
    "L 2 leaked_bytes=217 object_growth=1\n"
    "D 2 9 size=217 count=1\n"
    "MOD 0 400000 500000 /bin/t\n"
    "garbage line here\n"
    "R 99 net_bytes=1\n"
    "END\n";

static void test_report(void) {
    mg_wire_report r;
    mg_wire_parse_report(report_text, strlen(report_text), &r);
    CU_ASSERT_TRUE(r.ended);
    CU_ASSERT_TRUE(r.threads_running);
    CU_ASSERT_EQUAL(r.nwindows, 3);
    CU_ASSERT_EQUAL(r.skipped_lines, 2);
    const mg_wire_window *t = mg_wire_find_window(&r, MG_WK_TEST, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_TRUE(t->closed && t->leak_known);
    CU_ASSERT_EQUAL(t->net_bytes, -883);
    CU_ASSERT_EQUAL(t->peak_bytes, 5217);
    CU_ASSERT_EQUAL(t->pending_bytes, 217);
    CU_ASSERT_EQUAL(t->leaked_bytes, 217);
    CU_ASSERT_EQUAL(t->object_growth, 1);
    CU_ASSERT_EQUAL(t->nfailures, 1);
    CU_ASSERT_STRING_EQUAL(t->failures[0].condition, "x == 1");
    CU_ASSERT_TRUE(t->has_annotation);
    CU_ASSERT_EQUAL(t->nannotation, 2);
    CU_ASSERT_STRING_EQUAL(t->annotation[1].key, "warmups");
    CU_ASSERT_EQUAL(t->annotation[1].value, 1);
    CU_ASSERT_EQUAL(t->annotation_line, 12);
    CU_ASSERT_STRING_EQUAL(t->annotation_file, "t.c");
    CU_ASSERT_EQUAL(t->nnet, 1);
    CU_ASSERT_EQUAL(t->net[0].size_diff, 200);
    CU_ASSERT_EQUAL(t->nleak, 1);
    CU_ASSERT_EQUAL(t->leak[0].size, 217);
    CU_ASSERT_EQUAL(t->npeak, 1);
    CU_ASSERT_EQUAL(t->peak_live, 5217);
    const mg_wire_window *nr = mg_wire_find_window(&r, MG_WK_TEST, 5);
    CU_ASSERT_TRUE(nr && nr->notrun && !nr->closed);
    const mg_wire_window *s = mg_wire_find_window(&r, MG_WK_SUITE, 0);
    CU_ASSERT_TRUE(s && s->scleanup && s->closed && s->leak_known && s->leaked_bytes == 0);
    const mg_wire_stack *st = mg_wire_find_stack(&r, 9);
    CU_ASSERT_TRUE(st && st->n == 2 && st->ips[1] == 0x401100);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.modules, "/bin/t"));
    CU_ASSERT_EQUAL(mg_wire_last_window(&r)->id, 3);
    mg_wire_report_free(&r);
}

static void test_report_exit_and_misuse(void) {
    const char *text = "W 1 test 0\nX 3\nEND\n";
    mg_wire_report r;
    mg_wire_parse_report(text, strlen(text), &r);
    CU_ASSERT_TRUE(r.exited && r.exit_status == 3 && r.ended);
    CU_ASSERT_FALSE(r.windows[0].closed);
    mg_wire_report_free(&r);
    text = "W 1 test 0\nMISUSE double-free 55aa\nFREE 401000 402000\nEND\n";
    mg_wire_parse_report(text, strlen(text), &r);
    CU_ASSERT_STRING_EQUAL(r.misuse, "double-free");
    CU_ASSERT_EQUAL(r.misuse_addr, 0x55aa);
    CU_ASSERT_EQUAL(r.misuse_site.n, 2);
    mg_wire_report_free(&r);
    /* Cut short: a crash after the window opened, NUL bytes, no END. */
    static const char cut[] = "W 1 test 2\nR 1 net_bytes=\0\x01\xff\nF 1";
    mg_wire_parse_report(cut, sizeof cut - 1, &r);
    CU_ASSERT_FALSE(r.ended);
    CU_ASSERT_EQUAL(r.nwindows, 1);
    CU_ASSERT_FALSE(r.windows[0].closed);
    mg_wire_report_free(&r);
}

static const mgt_case cases[] = {{"unescape", test_unescape},
                                 {"hello", test_hello},
                                 {"list", test_list},
                                 {"result_header", test_result_header},
                                 {"report", test_report},
                                 {"report_exit_and_misuse", test_report_exit_and_misuse},
                                 {NULL, NULL}};

MGT_MAIN(if (mgt_add_suite("wire", cases)) return 2;)
