/* Checks of test programs and libmemgate read from their ELF files (contract in
 * elfcheck.h). */
#include "elfcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frameworks.h"

/* Bytes of a "#!" line shown in a warning. */
#define SHEBANG_SHOWN 60


/* ELF facts read beyond those in mg_elf_info, for telling a static PIE from a library. */
typedef struct elf_extra {
    bool pie_flag;  /* DT_FLAGS_1 has DF_1_PIE */
    bool has_entry; /* e_entry != 0 */
} elf_extra;

static void scan_symbols(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, mg_elf_info *out) {
    Elf_Data *d = elf_getdata(scn, NULL);
    size_t sym_size = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
    if (!d || !sym_size) return;
    const bool dynamic = sh->sh_type == SHT_DYNSYM;
    size_t n = d->d_size / sym_size;
    for (size_t i = 1; i < n; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(d, (int)i, &sym)) break;
        const char *name = elf_strptr(e, sh->sh_link, sym.st_name);
        if (!name || !name[0]) continue;
        const bool defined = sym.st_shndx != SHN_UNDEF;
        for (size_t f = 0; f < mg_nframeworks && f < 8 * sizeof out->refs_bridge; f++) {
            const mg_framework *fw = &mg_frameworks[f];
            if (!strcmp(name, fw->bridge_symbol)) out->refs_bridge |= 1u << f;
            for (size_t k = 0; defined && GELF_ST_TYPE(sym.st_info) == STT_FUNC && fw->run_symbols[k]; k++)
                if (!strcmp(name, fw->run_symbols[k])) out->defines_runner |= 1u << f;
        }
        if (dynamic && defined && !strcmp(name, "memgate_version") &&
            (GELF_ST_BIND(sym.st_info) == STB_GLOBAL || GELF_ST_BIND(sym.st_info) == STB_WEAK) &&
            (GELF_ST_VISIBILITY(sym.st_other) == STV_DEFAULT ||
             GELF_ST_VISIBILITY(sym.st_other) == STV_PROTECTED))
            out->exports_memgate_version = true;
    }
}

static void scan_dynamic(Elf_Scn *scn, const GElf_Shdr *sh, mg_elf_info *out, elf_extra *x) {
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !sh->sh_entsize) return;
    size_t n = sh->sh_size / sh->sh_entsize;
    for (size_t i = 0; i < n; i++) {
        GElf_Dyn dyn;
        if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL) break;
        if (dyn.d_tag == DT_SONAME) out->has_soname = true;
        if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE)) x->pie_flag = true;
    }
}

/* mg_elf_read with the extra facts. */
static int read_elf(const char *path, mg_elf_info *out, elf_extra *x, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    memset(x, 0, sizeof *x);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mg_set_err(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    unsigned char magic[SELFMAG];
    ssize_t got = pread(fd, magic, sizeof magic, 0);
    if (got != (ssize_t)sizeof magic || memcmp(magic, ELFMAG, SELFMAG) != 0) {
        close(fd);
        return 1;
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        close(fd);
        mg_set_err(err, errlen, "libelf is out of date: %s", elf_errmsg(-1));
        return -1;
    }
    /* ELF_C_READ rather than a map: a file cut short while it is read gives an error, not
     * a SIGBUS. */
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr eh;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
        mg_set_err(err, errlen, "damaged ELF file (%s)", elf_errmsg(-1));
        if (e) elf_end(e);
        close(fd);
        return -1;
    }
    out->elf_class = gelf_getclass(e);
    out->machine = eh.e_machine;
    out->type = eh.e_type;
    x->has_entry = eh.e_entry != 0;
    size_t phnum = 0;
    if (elf_getphdrnum(e, &phnum) == 0) {
        for (size_t i = 0; i < phnum; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_INTERP) out->has_interp = true;
        }
    }
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) scan_symbols(e, scn, &sh, out);
        if (sh.sh_type == SHT_DYNAMIC) scan_dynamic(scn, &sh, out, x);
    }
    elf_end(e);
    close(fd);
    return 0;
}

int mg_elf_read(const char *path, mg_elf_info *out, char *err, size_t errlen) {
    elf_extra x;
    return read_elf(path, out, &x, err, errlen);
}

const char *mg_elf_describe(const mg_elf_info *info, char *buf, size_t len) {
    static const struct {
        unsigned machine;
        const char *name;
    } names[] = {
        {EM_X86_64, "x86-64"}, {EM_386, "i386"},         {EM_AARCH64, "AArch64"},
        {EM_ARM, "ARM"},       {EM_RISCV, "RISC-V"},     {EM_PPC64, "PowerPC64"},
        {EM_PPC, "PowerPC"},   {EM_S390, "s390"},        {EM_MIPS, "MIPS"},
        {EM_SPARCV9, "SPARC V9"},
#ifdef EM_LOONGARCH
        {EM_LOONGARCH, "LoongArch"},
#endif
    };
    const char *bits = info->elf_class == ELFCLASS64 ? "64-bit " :
                       info->elf_class == ELFCLASS32 ? "32-bit " : "";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].machine == info->machine) {
            snprintf(buf, len, "%s%s", bits, names[i].name);
            return buf;
        }
    }
    snprintf(buf, len, "%smachine %u", bits, info->machine);
    return buf;
}

/* The "#!" line of a script, quoted for a message. Heap string. */
static char *shebang_line(const char *path) {
    char buf[SHEBANG_SHOWN + 8] = "";
    ssize_t n = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = pread(fd, buf, sizeof buf, 0);
        close(fd);
    }
    size_t len = n > 0 ? (size_t)n : 0;
    char *nl = memchr(buf, '\n', len);
    if (nl) len = (size_t)(nl - buf);
    return mg_quote(buf, len, SHEBANG_SHOWN);
}

int mg_check_program(const char *path, const mg_elf_info *lib, mg_strlist *warnings,
                     char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            mg_set_err(err, errlen, "%s: no such file", path);
        else
            mg_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        mg_set_err(err, errlen, "%s: is a directory, not a test binary (name the program "
                   "inside it)", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        mg_set_err(err, errlen, "%s: is not a regular file, not a test binary", path);
        return -1;
    }
    if (access(path, X_OK) != 0) {
        mg_set_err(err, errlen, "%s: not executable (chmod +x, or name the built test binary)",
                   path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* Executable but not readable (mode --x): the kernel can still run it; there is
         * nothing to inspect. */
        return 0;
    }
    char head[2] = {0, 0};
    ssize_t got = pread(fd, head, sizeof head, 0);
    close(fd);
    if (got == 2 && head[0] == '#' && head[1] == '!') {
        char *line = shebang_line(path);
        mg_strlist_addf(warnings,
                        "%s is a script (%s): memgate preloads its collector into the script's "
                        "interpreter and every program the script starts; the script must exec "
                        "the test binary with the environment intact (LD_PRELOAD and the "
                        "MEMGATE_* variables), or its tests are not measured",
                        path, line);
        free(line);
        return 0;
    }
    mg_elf_info info;
    elf_extra x;
    char why[256];
    int rc = read_elf(path, &info, &x, why, sizeof why);
    if (rc == 1) {
        mg_set_err(err, errlen,
                   "%s: not a program the system can run (not an ELF executable and no #! "
                   "line); name the compiled test binary",
                   path);
        return -1;
    }
    if (rc != 0) {
        mg_set_err(err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (info.type == ET_REL) {
        mg_set_err(err, errlen, "%s: is an object file (.o), not a linked program", path);
        return -1;
    }
    if (info.type != ET_EXEC && info.type != ET_DYN) {
        mg_set_err(err, errlen, "%s: is an ELF file of type %u (a core dump?), not a program",
                   path, info.type);
        return -1;
    }
    if (!info.has_interp) {
        if (info.type == ET_DYN && !x.pie_flag && (info.has_soname || !x.has_entry)) {
            mg_set_err(err, errlen, "%s: is a shared library, not a program", path);
        } else {
            mg_set_err(err, errlen,
                       "%s: is statically linked (it has no program interpreter): LD_PRELOAD "
                       "cannot reach it, so memgate cannot measure it; link it dynamically "
                       "(without -static)",
                       path);
        }
        return -1;
    }
    if (lib && (lib->elf_class != info.elf_class || lib->machine != info.machine)) {
        char a[64], b[64];
        mg_set_err(err, errlen,
                   "%s: is a %s program but libmemgate is %s: it cannot be preloaded into it; "
                   "build memgate for %s (or the tests for %s)",
                   path, mg_elf_describe(&info, a, sizeof a), mg_elf_describe(lib, b, sizeof b),
                   a, b);
        return -1;
    }
    for (size_t f = 0; f < mg_nframeworks && f < 8 * sizeof info.defines_runner; f++) {
        if (!(info.defines_runner & ~info.refs_bridge & (1u << f))) continue;
        const mg_framework *fw = &mg_frameworks[f];
        mg_strlist_addf(warnings,
                        "%s links %s statically (it defines %s itself), so memgate cannot take over "
                        "its runner: its tests will run as one whole-process test. For one result "
                        "per test, %s",
                        path, fw->name, fw->run_symbols[0], fw->bridge_hint);
    }
    return 0;
}

int mg_check_library(const char *path, mg_elf_info *out, char *err, size_t errlen) {
    mg_elf_info info;
    elf_extra x;
    char why[256];
    struct stat st;
    if (stat(path, &st) != 0) {
        mg_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        mg_set_err(err, errlen, "%s: is not a regular file, not libmemgate.so", path);
        return -1;
    }
    int rc = read_elf(path, &info, &x, why, sizeof why);
    if (rc == 1) {
        mg_set_err(err, errlen, "%s: is not an ELF shared object, so it is not libmemgate.so",
                   path);
        return -1;
    }
    if (rc != 0) {
        mg_set_err(err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (info.type != ET_DYN) {
        mg_set_err(err, errlen, "%s: is an ELF file but not a shared object, so it is not "
                   "libmemgate.so", path);
        return -1;
    }
    if (!info.exports_memgate_version) {
        mg_set_err(err, errlen,
                   "%s: is a shared object that does not export memgate_version, so it is not "
                   "libmemgate.so",
                   path);
        return -1;
    }
    if (out) *out = info;
    return 0;
}
