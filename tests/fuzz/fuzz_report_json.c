/*
 * Fuzzes the JSON report reader (mg_report_json_read, used by `memgate report` and
 * `memgate merge`): no crash, undefined behaviour or leak; and a round trip: a report
 * that reads successfully writes (mg_report_json_write), reads back and writes again
 * byte for byte the same.
 */
#include "fuzz_common.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = mgf_input(data, size);
    mg_run run;
    memset(&run, 0, sizeof run);
    char err[1024];
    err[0] = '\0';
    int rc = mg_report_json_read(path, &run, err, sizeof err);
    MGF_CHECK(rc == 0 || rc == -1, "mg_report_json_read returned %d", rc);
    MGF_CHECK(rc == 0 || err[0], "a refusal without a message");
    if (rc == 0) {
        const char *first = mgf_path(1, "first.json"), *second = mgf_path(2, "second.json");
        rc = mg_report_json_write(&run, first, err, sizeof err);
        MGF_CHECK(rc == 0, "a report that was read cannot be written: %s", err);
        mg_run again;
        memset(&again, 0, sizeof again);
        rc = mg_report_json_read(first, &again, err, sizeof err);
        MGF_CHECK(rc == 0, "a report memgate wrote cannot be read back: %s", err);
        rc = mg_report_json_write(&again, second, err, sizeof err);
        MGF_CHECK(rc == 0, "the re-read report cannot be written: %s", err);
        size_t n1 = 0, n2 = 0;
        char *a = mgf_slurp(first, &n1), *b = mgf_slurp(second, &n2);
        MGF_CHECK(a && b && n1 == n2 && memcmp(a, b, n1) == 0,
                  "write, read, write changed the report (%zu vs %zu bytes)", n1, n2);
        free(a);
        free(b);
        mg_run_free_contents(&again);
    }
    mg_run_free_contents(&run);
    return 0;
}
