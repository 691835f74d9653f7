/*
 * Tests of collector/symbolize.c: addresses of this process, of libc, of another process
 * (forked, and fork+exec'd so its layout differs) that has exited, of C++ shared objects
 * with and without DWARF (demangling), garbage addresses, missing files, and the
 * per-address cache.
 */
#include "mgtest.h"
#include "symbolize.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* noipa keeps GCC from cloning or specialising the function, so its symbol and its
 * DWARF name stay the plain source name. */
#if defined(__GNUC__) && !defined(__clang__)
#define SYMTEST_NOINLINE __attribute__((noinline, noipa))
#else
#define SYMTEST_NOINLINE __attribute__((noinline))
#endif

#define SYMTEST_CHILD_ENV "MGT_SYMBOLIZE_CHILD_FD"

static SYMTEST_NOINLINE void *symtest_capture(void) {
    return __builtin_return_address(0);
}

/* The return address of the call to symtest_capture lies inside this function, and
 * address-1 is on the marked line. */
static SYMTEST_NOINLINE void *symtest_marked_call(unsigned *line) {
    void *ra = symtest_capture(); *line = __LINE__;
    return ra;
}

/* Always inlined into symtest_inline_host: the innermost DWARF scope of the call names
 * this function, matching the line the line table gives. */
static inline __attribute__((always_inline)) void *symtest_inlined(unsigned *line) {
    void *ra = symtest_capture(); *line = __LINE__;
    return ra;
}

static SYMTEST_NOINLINE void *symtest_inline_host(unsigned *line) {
    return symtest_inlined(line);
}

/* A call that is the last instruction of its function: the return address is past the
 * function's end, so only the address-1 rule finds the caller. */
static jmp_buf symtest_jmp;
static void *volatile symtest_noreturn_ra;
static unsigned symtest_noreturn_line;

static SYMTEST_NOINLINE __attribute__((noreturn)) void symtest_noreturn(void) {
    symtest_noreturn_ra = __builtin_return_address(0);
    longjmp(symtest_jmp, 1);
}

static SYMTEST_NOINLINE void symtest_ends_in_noreturn(void) {
    symtest_noreturn_line = __LINE__ + 1;
    symtest_noreturn();
}

static const char symtest_data[64] = "not code";

static int ends_with(const char *s, const char *suffix) {
    if (!s) return 0;
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int self_exe(char *buf, size_t size) {
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0) return -1;
    buf[n] = '\0';
    return 0;
}

/* ---- interposed libdw call: counts real lookups, to see the cache work ----------- */

/* Every uncached lookup in a module with a file starts by asking libdw for the
 * compilation unit. This definition lives in the executable, so the static core
 * library's call binds to it; it forwards to libdw's own through RTLD_NEXT. */
static unsigned g_addrdie_calls;
typedef Dwarf_Die *(*symtest_addrdie_fn)(Dwfl_Module *, Dwarf_Addr, Dwarf_Addr *);

Dwarf_Die *dwfl_module_addrdie(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias) {
    static symtest_addrdie_fn real;
    if (!real) {
        void *p = dlsym(RTLD_NEXT, "dwfl_module_addrdie");
        if (p) memcpy(&real, &p, sizeof real);
    }
    g_addrdie_calls++;
    return real ? real(mod, addr, bias) : NULL;
}

/* ---- the module map of a child process ------------------------------------------ */

typedef struct map_writer {
    int fd;
    unsigned index;
} map_writer;

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(3);
        buf += n;
        len -= (size_t)n;
    }
}

/* Writes one "M bias start end path" line per module, computed independently of the
 * symbolizer's own mg_sym_add_self. */
static int write_module(struct dl_phdr_info *info, size_t size, void *arg) {
    map_writer *w = arg;
    (void)size;
    unsigned index = w->index++;
    char exe[PATH_MAX];
    const char *name = info->dlpi_name;
    if (!name || !*name) {
        if (index != 0 || self_exe(exe, sizeof exe) != 0) return 0;
        name = exe;
    }
    if (strncmp(name, "linux-vdso", 10) == 0) return 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uint64_t a = (uint64_t)info->dlpi_addr + ph->p_vaddr;
        if (a < lo) lo = a;
        if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
    }
    if (lo >= hi) return 0;
    char line[PATH_MAX + 128];
    int n = snprintf(line, sizeof line, "M %llx %llx %llx %s\n",
                     (unsigned long long)info->dlpi_addr, (unsigned long long)lo,
                     (unsigned long long)hi, name);
    if (n > 0 && (size_t)n < sizeof line) write_all(w->fd, line, (size_t)n);
    return 0;
}

/* Child side: the module map, then "R return_address line" of a marked call. */
static void child_report(int fd) {
    map_writer w = {fd, 0};
    dl_iterate_phdr(write_module, &w);
    unsigned line = 0;
    void *ra = symtest_marked_call(&line);
    char buf[128];
    int n = snprintf(buf, sizeof buf, "R %llx %u\n", (unsigned long long)(uintptr_t)ra, line);
    write_all(fd, buf, (size_t)n);
}

/* When started as the exec'd child of test_cross_process_exec, report and leave before
 * main() ever runs. */
__attribute__((constructor)) static void symtest_exec_child(void) {
    const char *fd = getenv(SYMTEST_CHILD_ENV);
    if (!fd) return;
    child_report(atoi(fd));
    _exit(0);
}

typedef struct child_result {
    char *text; /* everything the child wrote, NUL-terminated */
    int status;
} child_result;

/* Reads the pipe to EOF, then reaps the child: the caller symbolizes only afterwards. */
static int collect_child(pid_t pid, int fd, child_result *res) {
    size_t cap = 1 << 16, len = 0;
    res->text = malloc(cap);
    if (!res->text) return -1;
    for (;;) {
        if (cap - len < 4096) {
            char *t = realloc(res->text, cap *= 2);
            if (!t) return -1;
            res->text = t;
        }
        ssize_t n = read(fd, res->text + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    res->text[len] = '\0';
    close(fd);
    while (waitpid(pid, &res->status, 0) < 0)
        if (errno != EINTR) return -1;
    return 0;
}

/* Builds a fresh symbolizer from the child's map and checks the marked call resolves to
 * symtest_marked_call at the reported line. */
static void check_child_map(child_result *res) {
    CU_ASSERT_FATAL(WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0);
    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    unsigned long long ra = 0;
    unsigned line = 0, modules = 0;
    char exe[PATH_MAX];
    CU_ASSERT_FATAL(self_exe(exe, sizeof exe) == 0);
    const char *exe_line = NULL;
    for (char *p = res->text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
        *nl = '\0';
        unsigned long long bias, start, end;
        int off = 0;
        if (sscanf(p, "M %llx %llx %llx %n", &bias, &start, &end, &off) == 3 && off > 0) {
            CU_ASSERT_EQUAL(mg_sym_add_module(s, p + off, bias, start, end), 0);
            if (strcmp(p + off, exe) == 0) exe_line = p + off;
            modules++;
        } else {
            CU_ASSERT_EQUAL_FATAL(sscanf(p, "R %llx %u", &ra, &line), 2);
        }
    }
    CU_ASSERT(modules >= 2);
    CU_ASSERT_PTR_NOT_NULL(exe_line);
    CU_ASSERT(ra != 0 && line != 0);

    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "symtest_marked_call");
    CU_ASSERT(ends_with(sym.file, "test_symbolize.c"));
    CU_ASSERT_EQUAL(sym.line, line);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.module);
    CU_ASSERT_STRING_EQUAL(sym.module, exe);
    mg_sym_free(s);
    free(res->text);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_self(void) {
    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);
    char exe[PATH_MAX];
    CU_ASSERT_FATAL(self_exe(exe, sizeof exe) == 0);

    unsigned line = 0;
    void *ra = symtest_marked_call(&line);
    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "symtest_marked_call");
    CU_ASSERT(ends_with(sym.file, "/tests/unit/test_symbolize.c"));
    CU_ASSERT_EQUAL(sym.line, line);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.module);
    CU_ASSERT_STRING_EQUAL(sym.module, exe);

    /* A function's own address (not a return address) names that function. */
    void *(*fn)(unsigned *) = symtest_marked_call;
    uintptr_t entry;
    memcpy(&entry, &fn, sizeof entry);
    CU_ASSERT_EQUAL(mg_sym_resolve(s, entry, 0, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "symtest_marked_call");
    mg_sym_free(s);
}

static void test_noreturn_call(void) {
    if (setjmp(symtest_jmp) == 0) symtest_ends_in_noreturn();
    uintptr_t ra = (uintptr_t)symtest_noreturn_ra;
    CU_ASSERT_FATAL(ra != 0);
    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);
    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "symtest_ends_in_noreturn");
    CU_ASSERT_EQUAL(sym.line, symtest_noreturn_line);
    /* The same address taken as a plain address is past the caller's code. */
    (void)mg_sym_resolve(s, ra, 0, &sym);
    CU_ASSERT(sym.function == NULL || strcmp(sym.function, "symtest_ends_in_noreturn") != 0);
    mg_sym_free(s);
}

static void test_inlined(void) {
    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);
    unsigned line = 0;
    void *ra = symtest_inline_host(&line);
    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "symtest_inlined");
    CU_ASSERT(ends_with(sym.file, "test_symbolize.c"));
    CU_ASSERT_EQUAL(sym.line, line);
    mg_sym_free(s);
}

static void test_libc(void) {
    /* libc's own qsort, not a sanitizer's interceptor of the same name. */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(libc);
    void *fn = dlsym(libc, "qsort");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fn);

    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);
    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)fn, 0, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "qsort");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.module);
    CU_ASSERT_PTR_NOT_NULL(strstr(sym.module, "libc.so"));

    /* Same module set, another module: the executable still resolves. */
    unsigned line = 0;
    void *ra = symtest_marked_call(&line);
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "symtest_marked_call");
    mg_sym_free(s);
    dlclose(libc);
}

static void test_cross_process_fork(void) {
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_report(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    child_result res = {NULL, 0};
    CU_ASSERT_FATAL(collect_child(pid, fds[0], &res) == 0);
    check_child_map(&res);
}

/* The child execs this test binary again, so its modules sit at other addresses (with
 * ASLR): nothing of the parent's own layout can make the answer right by accident. */
static void test_cross_process_exec(void) {
    char exe[PATH_MAX];
    CU_ASSERT_FATAL(self_exe(exe, sizeof exe) == 0);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        char fdbuf[16];
        snprintf(fdbuf, sizeof fdbuf, "%d", fds[1]);
        setenv(SYMTEST_CHILD_ENV, fdbuf, 1);
        char *argv[] = {exe, NULL};
        execv(exe, argv);
        _exit(127);
    }
    close(fds[1]);
    child_result res = {NULL, 0};
    CU_ASSERT_FATAL(collect_child(pid, fds[0], &res) == 0);
    check_child_map(&res);
}

static void test_cxx_demangle(void) {
#ifndef MG_CXX_TARGET
    CU_FAIL("tests/cxx was not built: MG_CXX_TARGET is undefined");
#else
    void *lib = dlopen(MG_CXX_TARGET, RTLD_NOW | RTLD_LOCAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
    void *p = dlsym(lib, "mg_cxx_probe");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int (*probe)(void **, unsigned *);
    memcpy(&probe, &p, sizeof probe);
    void *ra = NULL;
    unsigned line = 0;
    CU_ASSERT_EQUAL(probe(&ra, &line), 7);

    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);
    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "ns::Widget::grow(int)");
    CU_ASSERT(ends_with(sym.file, "/tests/cxx/demangle_target.cpp"));
    CU_ASSERT_EQUAL(sym.line, line);
    CU_ASSERT(ends_with(sym.module, "libmg_demangle_target.so"));
    mg_sym_free(s);
    dlclose(lib);
#endif
}

/* No DWARF in the object: the ELF symbol table names the function (demangled); there
 * is no file or line. */
static void test_cxx_symtab_fallback(void) {
#ifndef MG_CXX_NODEBUG_TARGET
    CU_FAIL("tests/cxx was not built: MG_CXX_NODEBUG_TARGET is undefined");
#else
    void *lib = dlopen(MG_CXX_NODEBUG_TARGET, RTLD_NOW | RTLD_LOCAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
    void *p = dlsym(lib, "mg_nodebug_probe");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    long (*probe)(void **);
    memcpy(&probe, &p, sizeof probe);
    void *ra = NULL;
    CU_ASSERT_EQUAL(probe(&ra), 5);

    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);
    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "ns::Gadget::spin(long)");
    CU_ASSERT_PTR_NULL(sym.file);
    CU_ASSERT_EQUAL(sym.line, 0);
    CU_ASSERT(ends_with(sym.module, "libmg_nodebug_target.so"));
    mg_sym_free(s);
    dlclose(lib);
#endif
}

static void expect_nothing(mg_symbolizer *s, uint64_t address, int return_address) {
    mg_symbol sym = {"x", "x", 1, "x"};
    CU_ASSERT_EQUAL(mg_sym_resolve(s, address, return_address, &sym), -1);
    CU_ASSERT_PTR_NULL(sym.function);
    CU_ASSERT_PTR_NULL(sym.file);
    CU_ASSERT_EQUAL(sym.line, 0);
    CU_ASSERT_PTR_NULL(sym.module);
}

static void test_garbage(void) {
    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    expect_nothing(s, 0x1234, 1); /* no module declared at all */
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);
    expect_nothing(s, 0x1, 0);
    expect_nothing(s, 0x1, 1);
    expect_nothing(s, 0, 1);
    expect_nothing(s, 0, 0);
    expect_nothing(s, UINT64_MAX, 0);
    expect_nothing(s, UINT64_MAX, 1);
    expect_nothing(s, 0xffffffff80000000ull, 0); /* kernel space */

    /* Data inside a module: the module is known, but there is no function. */
    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)symtest_data + 3, 0, &sym), -1);
    CU_ASSERT_PTR_NULL(sym.function);
    CU_ASSERT_PTR_NOT_NULL(sym.module);

    /* Walking the executable's first pages byte by byte must not crash. */
    char exe[PATH_MAX];
    CU_ASSERT_FATAL(self_exe(exe, sizeof exe) == 0);
    void *(*fn)(unsigned *) = symtest_marked_call;
    uintptr_t entry;
    memcpy(&entry, &fn, sizeof entry);
    for (uintptr_t a = entry & ~(uintptr_t)0xfff; a < (entry & ~(uintptr_t)0xfff) + 0x2000; a++)
        (void)mg_sym_resolve(s, a, (int)(a & 1), &sym);

    /* Bad arguments. */
    CU_ASSERT_EQUAL(mg_sym_resolve(NULL, 0x1000, 0, &sym), -1);
    CU_ASSERT_EQUAL(mg_sym_resolve(s, 0x1000, 0, NULL), -1);
    CU_ASSERT_EQUAL(mg_sym_add_module(NULL, "/x", 0, 0, 1), -1);
    CU_ASSERT_EQUAL(mg_sym_add_module(s, NULL, 0, 0, 1), -1);
    CU_ASSERT_EQUAL(mg_sym_add_module(s, "/x", 0, 0x2000, 0x1000), -1);
    CU_ASSERT_EQUAL(mg_sym_add_self(NULL), -1);
    mg_sym_free(NULL);
    mg_sym_free(s);
}

static void test_missing_and_overlapping_modules(void) {
    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const uint64_t base = 0x10000000;
    CU_ASSERT_EQUAL(mg_sym_add_module(s, "/nonexistent/libgone.so", base, base, base + 0x100000), 0);
    /* A file that exists but is not ELF. */
    const char *not_elf = MG_SOURCE_DIR "/tests/unit/test_symbolize.c";
    CU_ASSERT_EQUAL(mg_sym_add_module(s, not_elf, 4 * base, 4 * base, 4 * base + 0x1000), 0);
    /* Overlapping another module: refused, the first module keeps its addresses. */
    CU_ASSERT_EQUAL(mg_sym_add_module(s, "/nonexistent/other.so", base + 0x800, base + 0x800,
                                      base + 0x200000), -1);
    /* Repeating a module (same path and bias) is harmless. */
    CU_ASSERT_EQUAL(mg_sym_add_module(s, "/nonexistent/libgone.so", base, base, base + 0x1000), 0);
    /* Real modules still load next to the broken ones. */
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);

    mg_symbol sym;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, base + 0x900, 1, &sym), -1);
    CU_ASSERT_PTR_NULL(sym.function);
    CU_ASSERT_PTR_NULL(sym.file);
    CU_ASSERT_EQUAL(sym.line, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.module);
    CU_ASSERT_STRING_EQUAL(sym.module, "/nonexistent/libgone.so");

    CU_ASSERT_EQUAL(mg_sym_resolve(s, 4 * base + 0x10, 0, &sym), -1);
    CU_ASSERT_PTR_NULL(sym.function);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.module);
    CU_ASSERT_STRING_EQUAL(sym.module, not_elf);

    unsigned line = 0;
    void *ra = symtest_marked_call(&line);
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &sym), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
    CU_ASSERT_STRING_EQUAL(sym.function, "symtest_marked_call");
    CU_ASSERT_EQUAL(sym.line, line);
    mg_sym_free(s);
}

static void test_cache(void) {
    mg_symbolizer *s = mg_sym_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    unsigned line = 0;
    void *ra = symtest_marked_call(&line);

    /* Resolved before the module is declared: nothing. Declaring it must not leave that
     * stale answer in the cache. */
    mg_symbol before;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &before), -1);
    CU_ASSERT_EQUAL(mg_sym_add_self(s), 0);

    mg_symbol a, b, c;
    unsigned calls0 = g_addrdie_calls;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &a), 0);
    /* Proves the counting hook sees the symbolizer's libdw calls. */
    CU_ASSERT_EQUAL(g_addrdie_calls, calls0 + 1);
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &b), 0);
    /* The return address is looked up at address-1, so this is the same entry. */
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra - 1, 0, &c), 0);
    CU_ASSERT_EQUAL(g_addrdie_calls, calls0 + 1); /* both answered from the cache */

    CU_ASSERT_PTR_NOT_NULL(a.function);
    CU_ASSERT_PTR_EQUAL(a.function, b.function);
    CU_ASSERT_PTR_EQUAL(a.file, b.file);
    CU_ASSERT_PTR_EQUAL(a.module, b.module);
    CU_ASSERT_EQUAL(a.line, b.line);
    CU_ASSERT_PTR_EQUAL(a.function, c.function);
    CU_ASSERT_EQUAL(a.line, line);

    /* Misses are cached too. */
    calls0 = g_addrdie_calls;
    mg_symbol d;
    (void)mg_sym_resolve(s, (uintptr_t)symtest_data, 0, &d);
    unsigned calls1 = g_addrdie_calls;
    CU_ASSERT_EQUAL(calls1, calls0 + 1);
    (void)mg_sym_resolve(s, (uintptr_t)symtest_data, 0, &d);
    CU_ASSERT_EQUAL(g_addrdie_calls, calls1);

    /* Many distinct addresses (forcing the table to grow) keep earlier answers. */
    void *(*fn)(unsigned *) = symtest_marked_call;
    uintptr_t entry;
    memcpy(&entry, &fn, sizeof entry);
    for (uintptr_t x = entry; x < entry + 3000; x++) (void)mg_sym_resolve(s, x, 0, &d);
    calls0 = g_addrdie_calls;
    CU_ASSERT_EQUAL(mg_sym_resolve(s, (uintptr_t)ra, 1, &b), 0);
    CU_ASSERT_EQUAL(g_addrdie_calls, calls0);
    CU_ASSERT_PTR_EQUAL(a.function, b.function);
    CU_ASSERT_PTR_EQUAL(a.file, b.file);
    CU_ASSERT_EQUAL(a.line, b.line);
    mg_sym_free(s);
}

MGT_MAIN({
    static const mgt_case cases[] = {
        {"self", test_self},
        {"noreturn_call", test_noreturn_call},
        {"inlined", test_inlined},
        {"libc", test_libc},
        {"cross_process_fork", test_cross_process_fork},
        {"cross_process_exec", test_cross_process_exec},
        {"cxx_demangle", test_cxx_demangle},
        {"cxx_symtab_fallback", test_cxx_symtab_fallback},
        {"garbage", test_garbage},
        {"missing_and_overlapping_modules", test_missing_and_overlapping_modules},
        {"cache", test_cache},
        {NULL, NULL},
    };
    if (mgt_add_suite("symbolize", cases) != 0) return 2;
})
