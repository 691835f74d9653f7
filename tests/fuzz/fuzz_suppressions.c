/* Fuzzes the suppressions loader (mg_supp_load_file) and the pattern matcher: no crash,
 * undefined behaviour or leak, and every message and warning is safe to print on a
 * terminal (no control character, only valid UTF-8), whatever bytes the file held. */
#include "fuzz_common.h"
#include "suppress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = mgf_input(data, size);
    mg_suppressions *s = mg_supp_new_builtin();
    mg_strlist warnings = {0};
    char err[1024];
    err[0] = '\0';
    int rc = mg_supp_load_file(s, path, &warnings, err, sizeof err);
    MGF_CHECK(rc == 0 || rc == -1, "mg_supp_load_file returned %d", rc);
    MGF_CHECK(rc == 0 || err[0], "a refusal without a message");
    if (rc != 0) MGF_CHECK(mgf_terminal_safe(err), "message not safe for a terminal: %s", err);
    MGF_CHECK(rc == 0 || warnings.n == 0, "a refused file left %zu warnings", warnings.n);
    for (size_t i = 0; i < warnings.n; i++)
        MGF_CHECK(mgf_terminal_safe(warnings.items[i]), "warning not safe: %s", warnings.items[i]);
    /* The loaded patterns against a few frames: the matcher sees every fuzzed pattern. */
    mg_frame frames[3] = {
        {.function = "cache_put", .file = "/src/cache.c", .line = 88, .module = "/build/t"},
        {.function = "??", .file = NULL, .module = "/usr/lib/libvendor.so.3"},
        {.function = "main", .file = "main.c", .line = 3, .module = "/build/t"},
    };
    mg_entry e = {.frames = frames, .nframes = 3};
    const char *hit = mg_supp_match(s, &e);
    MGF_CHECK(!hit || *hit, "an empty pattern matched");
    mg_strlist_free(&warnings);
    mg_supp_free(s);
    return 0;
}
