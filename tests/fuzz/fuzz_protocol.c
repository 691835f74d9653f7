/* Fuzzes the CLI's side of the wire protocol (runner/wire.c): a child's report, a
 * driver's test list, RESULT/ERROR/HELLO lines. Whatever the bytes, no crash, undefined
 * behaviour or leak; every window, stack and list entry the parsers keep is bounded
 * and self-consistent (a test names a suite that exists, a stack holds <= 64 frames). */
#include "fuzz_common.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    mg_wire_report r;
    mg_wire_parse_report(text, size, &r);
    for (size_t i = 0; i < r.nwindows; i++) {
        const mg_wire_window *w = &r.windows[i];
        MGF_CHECK(w->kind >= MG_WK_TEST && w->kind <= MG_WK_WHOLE, "window kind %d", w->kind);
        MGF_CHECK(w->nleak <= MG_WIRE_MAX_DIFFS && w->nnet <= MG_WIRE_MAX_DIFFS &&
                      w->npeak <= MG_WIRE_MAX_DIFFS,
                  "more traceback entries than the protocol allows");
        for (size_t k = 0; k < w->nfailures; k++)
            MGF_CHECK(w->failures[k].file && w->failures[k].condition && w->failures[k].kind,
                      "a failure without its strings");
    }
    for (size_t i = 0; i < r.nstacks; i++) MGF_CHECK(r.stacks[i].n <= 64, "a stack of %zu frames", r.stacks[i].n);
    MGF_CHECK(r.misuse_site.n <= 64, "a misuse site of %zu frames", r.misuse_site.n);
    mg_wire_report_free(&r);

    mg_wire_list l;
    char err[256];
    if (mg_wire_parse_list(text, size, &l, err, sizeof err) == 0) {
        for (size_t i = 0; i < l.ntests; i++)
            MGF_CHECK(l.tests[i].suite < l.nsuites, "test %zu in suite %u of %zu", i, l.tests[i].suite, l.nsuites);
        MGF_CHECK(mg_wire_list_same(&l, &l), "a list differs from itself");
        mg_wire_list_free(&l);
    } else {
        MGF_CHECK(err[0], "a refused list without a message");
    }

    /* The single-line parsers see the input's first line. */
    char line[512];
    size_t n = size < sizeof line - 1 ? size : sizeof line - 1;
    memcpy(line, data, n);
    line[n] = '\0';
    mg_wire_result_hdr h;
    if (mg_wire_parse_result_header(line, &h) == 0)
        MGF_CHECK(h.res_len <= ((size_t)1 << 32) && h.out_len <= ((size_t)1 << 32), "unbounded RESULT lengths");
    unsigned tag;
    char *msg = NULL;
    if (mg_wire_parse_error(line, &tag, &msg) == 0) free(msg);
    int version;
    pid_t pid;
    mg_wire_parse_hello(line, &version, &pid);
    return 0;
}
