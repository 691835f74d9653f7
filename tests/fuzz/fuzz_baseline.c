/* Fuzzes the baseline loader (mg_baseline_load): any input either loads or is refused
 * with a message, without a crash, undefined behaviour or a leak. */
#include "baseline.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = mgf_input(data, size);
    mg_baseline *b = NULL;
    char err[1024];
    err[0] = '\0';
    int rc = mg_baseline_load(path, &b, err, sizeof err);
    MGF_CHECK(rc == 0 || rc == -1, "mg_baseline_load returned %d", rc);
    MGF_CHECK(rc == 0 || (err[0] && !b), "a refusal without a message, or with a result");
    mg_baseline_free(b);
    return 0;
}
