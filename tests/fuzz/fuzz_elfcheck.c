/* Fuzzes the ELF checks of programs and libraries (runner/elfcheck.c, libelf underneath):
 * whatever the file holds, mg_elf_read, mg_check_program and mg_check_library answer
 * without a crash, undefined behaviour or leak, and every message or warning they give is
 * safe to print on a terminal. */
#include <sys/stat.h>

#include "elfcheck.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = mgf_input(data, size);
    /* Executable, so mg_check_program looks inside rather than stopping at the mode. */
    chmod(path, 0700);
    char err[1024];
    err[0] = '\0';
    mg_elf_info info;
    int rc = mg_elf_read(path, &info, err, sizeof err);
    MGF_CHECK(rc >= -1 && rc <= 1, "mg_elf_read returned %d", rc);
    MGF_CHECK(rc != -1 || err[0], "a damaged file without a message");
    MGF_CHECK(rc != 1 || (size < 4 || memcmp(data, "\x7f" "ELF", 4) != 0),
              "a file with the ELF magic called not ELF");

    mg_strlist warnings = {0};
    err[0] = '\0';
    rc = mg_check_program(path, NULL, &warnings, err, sizeof err);
    MGF_CHECK(rc == 0 || rc == -1, "mg_check_program returned %d", rc);
    if (rc != 0) MGF_CHECK(err[0] && mgf_terminal_safe(err), "program message: %s", err);
    MGF_CHECK(rc == 0 || warnings.n == 0, "a refused program with warnings");
    for (size_t i = 0; i < warnings.n; i++)
        MGF_CHECK(mgf_terminal_safe(warnings.items[i]), "warning not safe: %s", warnings.items[i]);
    mg_strlist_free(&warnings);

    err[0] = '\0';
    rc = mg_check_library(path, &info, err, sizeof err);
    MGF_CHECK(rc == 0 || rc == -1, "mg_check_library returned %d", rc);
    if (rc != 0) MGF_CHECK(err[0] && mgf_terminal_safe(err), "library message: %s", err);
    if (rc == 0) MGF_CHECK(info.exports_memgate_version, "a library accepted without memgate_version");
    return 0;
}
