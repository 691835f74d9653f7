/*
 * What memgate checks in a test program and in libmemgate before it runs anything, read
 * from the files with libelf (ELF header, program headers, symbol tables). Nothing is
 * ever loaded: dlopen() of libmemgate would put its malloc into the runner itself.
 * Internal to the runner.
 */
#ifndef MEMGATE_RUNNER_ELFCHECK_H
#define MEMGATE_RUNNER_ELFCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* The facts of one ELF file that the checks use. */
typedef struct mg_elf_info {
    int elf_class;                /* ELFCLASS32 or ELFCLASS64 */
    unsigned machine;             /* e_machine: EM_X86_64, EM_AARCH64, ... */
    unsigned type;                /* e_type: ET_EXEC, ET_DYN, ET_REL, ET_CORE */
    bool has_interp;              /* a PT_INTERP program header: dynamically linked */
    bool has_soname;              /* DT_SONAME: built as a shared library */
    /* Bit i for mg_frameworks[i] (frameworks.h): the program defines one of its run
     * functions (linked statically), and names memgate's entry point for it. */
    unsigned defines_runner, refs_bridge;
    bool exports_memgate_version; /* exports memgate_version from its dynamic symbols */
} mg_elf_info;

/* Reads path's ELF facts into out. 0; 1 when the file is not ELF at all (no ELF magic);
 * -1 with err (no path in it) when it cannot be opened or is damaged ELF. */
int mg_elf_read(const char *path, mg_elf_info *out, char *err, size_t errlen);

/* "x86-64", "AArch64", "i386" ... or "machine 183" for e_machine values it does not
 * name; the class in front: "64-bit x86-64". Writes into buf and returns it. */
const char *mg_elf_describe(const mg_elf_info *info, char *buf, size_t len);

/*
 * Checks that path (already found: a name without '/' is not searched here) is a
 * program memgate can run and measure, for `memgate run/exec/list`. lib, when not NULL,
 * is libmemgate's info (mg_check_library) and the program must match its class and
 * machine. 0 when it can run, possibly with warnings added to warnings for the caller to
 * print (lines without "memgate: "):
 *   - a script (#!): memgate preloads into its interpreter, so the script must exec the
 *     test binary with the environment intact;
 *   - CUnit linked statically without memgate_cunit_run(): its tests run as one
 *     whole-process test.
 * -1 with err = "PATH: PROBLEM; HINT" when it cannot: missing, a directory, not
 * executable, not a program the kernel runs (ENOEXEC: no ELF, no #!), an object file,
 * a shared library, damaged ELF, statically linked (no PT_INTERP: LD_PRELOAD cannot
 * reach it), or built for another machine than libmemgate.
 */
int mg_check_program(const char *path, const mg_elf_info *lib, mg_strlist *warnings,
                     char *err, size_t errlen);

/* Checks that path is libmemgate: an ELF shared object that exports memgate_version.
 * Fills *out (may be NULL) for mg_check_program. 0, or -1 with err = "PATH: PROBLEM". */
int mg_check_library(const char *path, mg_elf_info *out, char *err, size_t errlen);

#endif
