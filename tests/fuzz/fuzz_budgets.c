/* Fuzzes the budgets file loader (mg_budgets_load): any input either loads or is refused
 * with a message, without a crash, undefined behaviour or a leak. */
#include "budgets.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = mgf_input(data, size);
    mg_budget_file *bf = NULL;
    char err[1024];
    err[0] = '\0';
    int rc = mg_budgets_load(path, &bf, err, sizeof err);
    MGF_CHECK(rc == 0 || rc == -1, "mg_budgets_load returned %d", rc);
    MGF_CHECK(rc == 0 || (err[0] && !bf), "a refusal without a message, or with a result");
    mg_budgets_free(bf);
    return 0;
}
