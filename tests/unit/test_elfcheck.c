/* Unit tests of runner/elfcheck.c: what memgate refuses or warns about before it runs a
 * test program, and how it recognises libmemgate. The ELF inputs are compiled here, with
 * $CC (default cc), into the test's temporary directory. */
#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfcheck.h"
#include "mgtest.h"
#include "mgtest_util.h"

#define HAS(s, needle)                                                                  \
    do {                                                                                \
        if (!strstr((s), (needle))) fprintf(stderr, "\n  %s\n  lacks: %s\n", (s), (needle)); \
        CU_ASSERT_PTR_NOT_NULL(strstr((s), (needle)));                                  \
    } while (0)

/* Compiles C source text into tmpdir/name with extra flags; returns the output path
 * (free it) or NULL when the compiler failed (its output goes to stderr). */
static char *compile(const char *name, const char *source, const char *flags) {
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    char *src_name = mg_xasprintf("%s.c", name);
    char *src = mgt_tmp_path(src_name);
    free(src_name);
    char *out = mgt_tmp_path(name);
    CU_ASSERT_EQUAL_FATAL(mgt_spit(src, source), 0);
    char *cmd = mg_xasprintf("%s %s -o '%s' '%s' 2>&1", cc, flags, out, src);
    int rc = system(cmd);
    free(cmd);
    free(src);
    if (rc != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* A file with the given bytes and mode in the temporary directory; free the path. */
static char *make_file(const char *name, const char *bytes, size_t len, mode_t mode) {
    char *path = mgt_tmp_path(name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(fwrite(bytes, 1, len, f), len);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(chmod(path, mode), 0);
    return path;
}

static const char main_src[] = "int main(void) { return 0; }\n";

/* Expects mg_check_program(path) to fail with a message starting "PATH: " and holding
 * each needle. */
static void program_fails(const char *path, const char *needle1, const char *needle2) {
    char err[1024] = "";
    mg_strlist w = {0};
    CU_ASSERT_EQUAL(mg_check_program(path, NULL, &w, err, sizeof err), -1);
    CU_ASSERT_EQUAL(w.n, 0);
    char *prefix = mg_xasprintf("%s: ", path);
    CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
    HAS(err, needle1);
    if (needle2) HAS(err, needle2);
    free(prefix);
    mg_strlist_free(&w);
}

static void test_dynamic_program(void) {
    char *prog = compile("dyn", main_src, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(prog);
    mg_elf_info info;
    char err[1024] = "";
    CU_ASSERT_EQUAL_FATAL(mg_elf_read(prog, &info, err, sizeof err), 0);
    CU_ASSERT_TRUE(info.has_interp);
    CU_ASSERT_TRUE(info.type == ET_EXEC || info.type == ET_DYN);
    CU_ASSERT_EQUAL(info.defines_runner, 0);
    CU_ASSERT_FALSE(info.exports_memgate_version);
    mg_strlist w = {0};
    CU_ASSERT_EQUAL(mg_check_program(prog, NULL, &w, err, sizeof err), 0);
    CU_ASSERT_EQUAL(w.n, 0);
    /* With libmemgate's own facts: the same machine passes. */
    mg_elf_info lib;
    CU_ASSERT_EQUAL_FATAL(mg_check_library(MG_BINARY_DIR "/lib/libmemgate.so.0", &lib, err, sizeof err), 0);
    CU_ASSERT_EQUAL(mg_check_program(prog, &lib, &w, err, sizeof err), 0);
    /* Another machine does not: the message names both. */
    mg_elf_info other = lib;
    other.machine = lib.machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    CU_ASSERT_EQUAL(mg_check_program(prog, &other, &w, err, sizeof err), -1);
    char a[64], b[64];
    char *want = mg_xasprintf("%s: is a %s program but libmemgate is %s", prog,
                              mg_elf_describe(&info, a, sizeof a), mg_elf_describe(&other, b, sizeof b));
    HAS(err, want);
    free(want);
    /* And another ELF class. */
    other = lib;
    other.elf_class = lib.elf_class == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64;
    CU_ASSERT_EQUAL(mg_check_program(prog, &other, &w, err, sizeof err), -1);
    HAS(err, "cannot be preloaded");
    CU_ASSERT_EQUAL(w.n, 0);
    free(prog);
}

static void test_static_program(void) {
    if (access("/usr/lib/x86_64-linux-gnu/libc.a", F_OK) != 0 &&
        access("/usr/lib/aarch64-linux-gnu/libc.a", F_OK) != 0 && access("/usr/lib/libc.a", F_OK) != 0) {
        fprintf(stderr, "\n  SKIPPED: no libc.a (install libc6-dev) to build a static program\n");
        return;
    }
    char *prog = compile("static", main_src, "-static");
    CU_ASSERT_PTR_NOT_NULL_FATAL(prog);
    program_fails(prog, "is statically linked", "LD_PRELOAD cannot reach it");
    free(prog);
    /* A static PIE is just as unreachable, and not mistaken for a shared library. */
    char *pie = compile("static-pie", main_src, "-static-pie -fPIE");
    if (pie) {
        program_fails(pie, "is statically linked", "without -static");
        free(pie);
    } else {
        fprintf(stderr, "\n  note: the compiler cannot build a static PIE; that case is not checked\n");
    }
}

static void test_static_cunit_warning(void) {
    static const char own_runner[] = "int CU_basic_run_tests(void) { return 0; }\n"
                                     "int main(void) { return CU_basic_run_tests(); }\n";
    char *prog = compile("own_cunit", own_runner, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(prog);
    mg_strlist w = {0};
    char err[1024] = "";
    CU_ASSERT_EQUAL(mg_check_program(prog, NULL, &w, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(w.n, 1);
    char *want = mg_xasprintf("%s links CUnit statically (it defines CU_basic_run_tests itself)", prog);
    HAS(w.items[0], want);
    HAS(w.items[0], "its tests will run as one whole-process test");
    HAS(w.items[0], "memgate_cunit_run() from <memgate/cunit.h>");
    free(want);
    mg_strlist_free(&w);
    free(prog);

    /* The same program that hands its registry to memgate: no warning. */
    static const char with_memgate[] =
        "int CU_basic_run_tests(void) { return 0; }\n"
        "extern int memgate_cunit_run_with(const void *) __attribute__((weak));\n"
        "int main(void) { return memgate_cunit_run_with ? memgate_cunit_run_with(0) : "
        "CU_basic_run_tests(); }\n";
    prog = compile("own_cunit_memgate", with_memgate, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(prog);
    CU_ASSERT_EQUAL(mg_check_program(prog, NULL, &w, err, sizeof err), 0);
    CU_ASSERT_EQUAL(w.n, 0);
    mg_elf_info info;
    CU_ASSERT_EQUAL(mg_elf_read(prog, &info, err, sizeof err), 0);
    CU_ASSERT_EQUAL(info.defines_runner, 1u); /* mg_frameworks[0], CUnit */
    CU_ASSERT_EQUAL(info.refs_bridge, 1u);
    free(prog);

    /* The repository's fixture that links libcunit.a and calls memgate_cunit_run(). */
    const char *fixture = MG_BINARY_DIR "/tests/fixtures/fixture_static";
    if (access(fixture, X_OK) == 0) {
        CU_ASSERT_EQUAL(mg_check_program(fixture, NULL, &w, err, sizeof err), 0);
        CU_ASSERT_EQUAL(w.n, 0);
    } else {
        fprintf(stderr, "\n  note: %s is not built; that case is not checked\n", fixture);
    }
    /* A program linked to libcunit.so imports the runner: nothing to say. */
    const char *dynamic_fixture = MG_BINARY_DIR "/tests/fixtures/fixture_clean";
    if (access(dynamic_fixture, X_OK) == 0) {
        CU_ASSERT_EQUAL(mg_check_program(dynamic_fixture, NULL, &w, err, sizeof err), 0);
        CU_ASSERT_EQUAL(w.n, 0);
    }
    mg_strlist_free(&w);
}

static void test_scripts(void) {
    static const char sh[] = "#!/bin/sh\nexec ./tests \"$@\"\n";
    char *script = make_file("run.sh", sh, sizeof sh - 1, 0755);
    mg_strlist w = {0};
    char err[1024] = "";
    CU_ASSERT_EQUAL(mg_check_program(script, NULL, &w, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(w.n, 1);
    char *want = mg_xasprintf("%s is a script (\"#!/bin/sh\"): memgate preloads its collector "
                              "into the script's interpreter", script);
    HAS(w.items[0], want);
    HAS(w.items[0], "must exec the test binary with the environment intact");
    free(want);
    mg_strlist_free(&w);
    free(script);
    /* A #! line with control characters is quoted, never echoed raw. */
    static const char nasty[] = "#!/bin/sh \x1b[2J\x07\nexit 0\n";
    script = make_file("nasty.sh", nasty, sizeof nasty - 1, 0755);
    CU_ASSERT_EQUAL(mg_check_program(script, NULL, &w, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(w.n, 1);
    HAS(w.items[0], "(\"#!/bin/sh \\x1b[2J\\x07\")");
    CU_ASSERT_PTR_NULL(strchr(w.items[0], '\x1b'));
    mg_strlist_free(&w);
    free(script);
}

static void test_not_programs(void) {
    /* Missing, a directory, not executable. */
    char *missing = mgt_tmp_path("missing");
    program_fails(missing, "no such file", NULL);
    free(missing);
    char *dir = mgt_tmp_path("a-dir");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    program_fails(dir, "is a directory", "not a test binary");
    free(dir);
    char *noexec = compile("noexec", main_src, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(noexec);
    CU_ASSERT_EQUAL_FATAL(chmod(noexec, 0644), 0);
    program_fails(noexec, "not executable", NULL);
    free(noexec);
    /* ENOEXEC: neither ELF nor #!. */
    static const char text[] = "echo hello\n";
    char *plain = make_file("plain", text, sizeof text - 1, 0755);
    program_fails(plain, "not a program the system can run", "no #! line");
    free(plain);
    char *empty = make_file("empty", "", 0, 0755);
    program_fails(empty, "not a program the system can run", NULL);
    free(empty);
    /* ELF magic and then nothing sensible. */
    static const char broken[] = "\x7f" "ELF\x02\x01\x01\0garbage";
    char *damaged = make_file("damaged", broken, sizeof broken - 1, 0755);
    program_fails(damaged, "damaged ELF file", NULL);
    free(damaged);
    /* An object file and a shared library are not programs. */
    char *obj = compile("obj.o", main_src, "-c");
    CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
    CU_ASSERT_EQUAL_FATAL(chmod(obj, 0755), 0);
    program_fails(obj, "is an object file", NULL);
    free(obj);
    char *lib = compile("libplain.so", "int f(void) { return 1; }\n",
                        "-shared -fPIC -Wl,-soname,libplain.so");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
    program_fails(lib, "is a shared library, not a program", NULL);
    free(lib);
    /* A device is not a regular file. */
    program_fails("/dev/null", "is not a regular file", NULL);
}

static void test_library(void) {
    char err[1024] = "";
    mg_elf_info info;
    memset(&info, 0xAB, sizeof info);
    CU_ASSERT_EQUAL(mg_check_library(MG_BINARY_DIR "/lib/libmemgate.so.0", &info, err, sizeof err), 0);
    CU_ASSERT_TRUE(info.exports_memgate_version);
    CU_ASSERT_EQUAL(info.type, ET_DYN);

    CU_ASSERT_EQUAL(mg_check_library("/etc/passwd", NULL, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "/etc/passwd: is not an ELF shared object, so it is not libmemgate.so");

    char *fake = compile("libfake.so", "const char *memgate_version(void) { return \"0\"; }\n",
                         "-shared -fPIC");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake);
    CU_ASSERT_EQUAL(mg_check_library(fake, NULL, err, sizeof err), 0);
    free(fake);

    char *other = compile("libother.so", "int memgate_versions(void) { return 0; }\n",
                          "-shared -fPIC");
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_EQUAL(mg_check_library(other, NULL, err, sizeof err), -1);
    HAS(err, "is a shared object that does not export memgate_version");
    free(other);

    /* Defined but hidden, or only imported: not exported. */
    char *hidden = compile("libhidden.so",
                           "__attribute__((visibility(\"hidden\"))) const char *memgate_version(void) "
                           "{ return \"0\"; }\nconst char *f(void) { return memgate_version(); }\n",
                           "-shared -fPIC");
    CU_ASSERT_PTR_NOT_NULL_FATAL(hidden);
    CU_ASSERT_EQUAL(mg_check_library(hidden, NULL, err, sizeof err), -1);
    HAS(err, "does not export memgate_version");
    free(hidden);
    char *importer = compile("libimporter.so",
                             "const char *memgate_version(void);\n"
                             "const char *f(void) { return memgate_version(); }\n",
                             "-shared -fPIC");
    CU_ASSERT_PTR_NOT_NULL_FATAL(importer);
    CU_ASSERT_EQUAL(mg_check_library(importer, NULL, err, sizeof err), -1);
    HAS(err, "does not export memgate_version");
    free(importer);

    /* A program is not a shared object, a directory is not a file. */
    char *prog = compile("prog_not_lib", main_src, "-no-pie");
    if (prog) {
        CU_ASSERT_EQUAL(mg_check_library(prog, NULL, err, sizeof err), -1);
        HAS(err, "not a shared object");
        free(prog);
    }
    CU_ASSERT_EQUAL(mg_check_library(mgt_tmpdir(), NULL, err, sizeof err), -1);
    HAS(err, "is not a regular file");
    char *missing = mgt_tmp_path("libnope.so");
    CU_ASSERT_EQUAL(mg_check_library(missing, NULL, err, sizeof err), -1);
    HAS(err, "No such file or directory");
    free(missing);
}

static void test_describe(void) {
    char buf[64];
    mg_elf_info i = {0};
    i.elf_class = ELFCLASS64;
    i.machine = EM_X86_64;
    CU_ASSERT_STRING_EQUAL(mg_elf_describe(&i, buf, sizeof buf), "64-bit x86-64");
    i.elf_class = ELFCLASS32;
    i.machine = EM_386;
    CU_ASSERT_STRING_EQUAL(mg_elf_describe(&i, buf, sizeof buf), "32-bit i386");
    i.machine = 4242;
    CU_ASSERT_STRING_EQUAL(mg_elf_describe(&i, buf, sizeof buf), "32-bit machine 4242");
    /* A file that is not ELF reads as "not ELF", not as an error. */
    char err[256] = "";
    CU_ASSERT_EQUAL(mg_elf_read("/etc/passwd", &i, err, sizeof err), 1);
    CU_ASSERT_EQUAL(mg_elf_read("/nonexistent/x", &i, err, sizeof err), -1);
    HAS(err, "cannot open");
}

static const mgt_case cases[] = {
    {"dynamic_program", test_dynamic_program},
    {"static_program", test_static_program},
    {"static_cunit_warning", test_static_cunit_warning},
    {"scripts", test_scripts},
    {"not_programs", test_not_programs},
    {"library", test_library},
    {"describe", test_describe},
    {NULL, NULL},
};

MGT_MAIN(mgt_tmpdir(); if (mgt_add_suite("elfcheck", cases)) return 2;)
