/*
 * Symbolization with elfutils libdwfl (see symbolize.h for the contract).
 *
 * The symbolizer never looks at the live address space: the caller declares
 * the modules of the target process (path, load bias, address range), and
 * every module is reported to one Dwfl session with dwfl_report_elf, so the
 * target process may have exited long ago. This file is compiled into both
 * the CLI's static core library and libmemgate-symbolize.so, so its only
 * external names are the mg_sym_* functions of the header.
 *
 * Lookup order for one address:
 *   1. the per-address cache (open addressing, keyed by the looked-up pc);
 *   2. the declared range that contains pc, which names the module;
 *   3. the DWARF compilation unit containing pc: libdw's lookup, which relies on
 *      .debug_aranges, or else an index of the units' own address ranges (clang
 *      emits no .debug_aranges by default, and libdw 0.188 then finds nothing);
 *   4. in that unit, the innermost function scope (a subprogram, or an inlined
 *      subroutine) containing pc, named by its C++ linkage name (demangled) or
 *      its source name; when DWARF says nothing, the ELF symbol table;
 *   5. the unit's line table for file and line.
 * Taking the innermost scope keeps the function consistent with the file and
 * line, which the line table gives for the innermost inlined code too.
 *
 * All strings handed out are interned in an arena owned by the symbolizer,
 * so equal strings share one pointer and stay valid until mg_sym_free, even
 * when the cache is reset because a module was added.
 *
 * A symbolizer is not thread-safe; use one per thread or lock around it.
 */
#include "symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- string arena and intern set ------------------------------------------------ */

typedef struct sym_chunk {
    struct sym_chunk *next;
    size_t used, cap;
    char data[];
} sym_chunk;

typedef struct sym_str {
    const char *s; /* NULL marks an empty slot */
    uint64_t hash;
} sym_str;

/* ---- modules and cache ----------------------------------------------------------- */

/* One address range of a compilation unit, in target-process addresses. */
typedef struct sym_cu {
    uint64_t lo, hi; /* [lo, hi) */
    Dwarf_Die *die;  /* owned by libdwfl, valid as long as the module */
    Dwarf_Addr bias; /* target address - DWARF address */
} sym_cu;

typedef struct sym_module {
    const char *path;   /* interned */
    uint64_t bias;      /* dlpi_addr of the module in the target process */
    Dwfl_Module *dwmod; /* NULL when the file could not be loaded */
    /* Own CU index, built on the first address that libdw's .debug_aranges lookup does
     * not place (see sym_cu_at). */
    sym_cu *cus;
    size_t ncus;
    bool cus_built;
} sym_module;

typedef struct sym_range {
    uint64_t start, end; /* [start, end) */
    size_t module;       /* index into modules */
} sym_range;

typedef struct sym_entry {
    uint64_t pc;
    mg_symbol sym;
    bool used;
    bool found;
} sym_entry;

typedef char *(*sym_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

struct mg_symbolizer {
    /* libdwfl keeps a pointer to the callbacks, so they live as long as the session. */
    Dwfl_Callbacks callbacks;
    char *debuginfo_path;
    Dwfl *dwfl;

    sym_module *modules;
    size_t nmodules, capmodules;
    sym_range *ranges;
    size_t nranges, capranges;

    sym_entry *cache; /* capacity is a power of two, at most half full */
    size_t cache_cap, cache_len;

    sym_str *strings; /* intern set, capacity a power of two, at most half full */
    size_t str_cap, str_len;
    sym_chunk *chunks;

    /* libstdc++ is opened only when a mangled name shows up, so a C-only process never
     * maps it. */
    void *cxx_lib;
    sym_demangle_fn demangle;
    bool cxx_tried;
};

enum { SYM_CHUNK_SIZE = 64 * 1024 };

static uint64_t sym_hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t sym_hash_pc(uint64_t pc) {
    pc ^= pc >> 33;
    pc *= 0xff51afd7ed558ccdull;
    pc ^= pc >> 33;
    return pc;
}

/* Copies n bytes of s plus a terminating NUL into the arena; NULL when out of memory. */
static char *sym_arena_copy(mg_symbolizer *s, const char *str, size_t n) {
    sym_chunk *c = s->chunks;
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > SYM_CHUNK_SIZE ? n + 1 : SYM_CHUNK_SIZE;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        /* A big string gets a chunk of its own behind the current one, so the rest of
         * the current chunk is not wasted. */
        if (s->chunks && cap > SYM_CHUNK_SIZE) {
            c->next = s->chunks->next;
            s->chunks->next = c;
        } else {
            c->next = s->chunks;
            s->chunks = c;
        }
    }
    char *dst = c->data + c->used;
    memcpy(dst, str, n);
    dst[n] = '\0';
    c->used += n + 1;
    return dst;
}

static bool sym_strings_grow(mg_symbolizer *s) {
    size_t cap = s->str_cap ? s->str_cap * 2 : 256;
    sym_str *tab = calloc(cap, sizeof *tab);
    if (!tab) return false;
    for (size_t i = 0; i < s->str_cap; i++) {
        if (!s->strings[i].s) continue;
        size_t j = s->strings[i].hash & (cap - 1);
        while (tab[j].s) j = (j + 1) & (cap - 1);
        tab[j] = s->strings[i];
    }
    free(s->strings);
    s->strings = tab;
    s->str_cap = cap;
    return true;
}

/* Returns the symbolizer's copy of str (one pointer per distinct string), or NULL when
 * str is NULL or memory ran out. */
static const char *sym_intern(mg_symbolizer *s, const char *str) {
    if (!str) return NULL;
    if (2 * (s->str_len + 1) > s->str_cap && !sym_strings_grow(s)) return NULL;
    size_t n = strlen(str);
    uint64_t h = sym_hash_str(str, n);
    size_t j = h & (s->str_cap - 1);
    while (s->strings[j].s) {
        if (s->strings[j].hash == h && strcmp(s->strings[j].s, str) == 0) return s->strings[j].s;
        j = (j + 1) & (s->str_cap - 1);
    }
    char *copy = sym_arena_copy(s, str, n);
    if (!copy) return NULL;
    s->strings[j].s = copy;
    s->strings[j].hash = h;
    s->str_len++;
    return copy;
}

/* ---- cache ------------------------------------------------------------------------ */

static const sym_entry *sym_cache_find(const mg_symbolizer *s, uint64_t pc) {
    if (!s->cache_cap) return NULL;
    size_t j = sym_hash_pc(pc) & (s->cache_cap - 1);
    while (s->cache[j].used) {
        if (s->cache[j].pc == pc) return &s->cache[j];
        j = (j + 1) & (s->cache_cap - 1);
    }
    return NULL;
}

static bool sym_cache_grow(mg_symbolizer *s) {
    size_t cap = s->cache_cap ? s->cache_cap * 2 : 1024;
    sym_entry *tab = calloc(cap, sizeof *tab);
    if (!tab) return false;
    for (size_t i = 0; i < s->cache_cap; i++) {
        if (!s->cache[i].used) continue;
        size_t j = sym_hash_pc(s->cache[i].pc) & (cap - 1);
        while (tab[j].used) j = (j + 1) & (cap - 1);
        tab[j] = s->cache[i];
    }
    free(s->cache);
    s->cache = tab;
    s->cache_cap = cap;
    return true;
}

/* Remembers a result; a full table that cannot grow only costs a later recomputation. */
static void sym_cache_put(mg_symbolizer *s, uint64_t pc, const mg_symbol *sym, bool found) {
    if (2 * (s->cache_len + 1) > s->cache_cap && !sym_cache_grow(s)) return;
    size_t j = sym_hash_pc(pc) & (s->cache_cap - 1);
    while (s->cache[j].used) j = (j + 1) & (s->cache_cap - 1);
    s->cache[j].pc = pc;
    s->cache[j].sym = *sym;
    s->cache[j].used = true;
    s->cache[j].found = found;
    s->cache_len++;
}

/* Forgets every cached result: an added module may now cover an address that was
 * resolved to nothing. Interned strings stay, so pointers already handed out remain
 * valid. */
static void sym_cache_clear(mg_symbolizer *s) {
    if (s->cache_cap) memset(s->cache, 0, s->cache_cap * sizeof *s->cache);
    s->cache_len = 0;
}

/* ---- demangling ------------------------------------------------------------------- */

/* Returns the interned demangled form of name, or the interned name itself when it is
 * not a C++ mangled name or libstdc++ cannot be loaded. */
static const char *sym_function_name(mg_symbolizer *s, const char *name) {
    if (!name) return NULL;
    if (name[0] != '_' || name[1] != 'Z') return sym_intern(s, name);
    if (!s->cxx_tried) {
        s->cxx_tried = true;
        s->cxx_lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
        if (s->cxx_lib) {
            /* POSIX allows converting dlsym's object pointer to a function pointer;
             * memcpy keeps -Wpedantic quiet about it. */
            void *sym = dlsym(s->cxx_lib, "__cxa_demangle");
            if (sym) memcpy(&s->demangle, &sym, sizeof s->demangle);
        }
    }
    if (!s->demangle) return sym_intern(s, name);
    int status = -1;
    char *plain = s->demangle(name, NULL, NULL, &status);
    const char *out = sym_intern(s, status == 0 && plain ? plain : name);
    free(plain);
    return out;
}

/* ---- module table ----------------------------------------------------------------- */

static bool sym_ranges_overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
    return a0 < b1 && b0 < a1;
}

/* Reports path at bias to the Dwfl session; NULL when the file is missing or not ELF. */
static Dwfl_Module *sym_report(mg_symbolizer *s, const char *path, uint64_t bias) {
    dwfl_report_begin_add(s->dwfl);
    /* add_p_vaddr = true: bias is dlpi_addr, the difference between run-time and link-time
     * addresses, which is what libdwfl then uses as the module's bias. With false it
     * would take it as the address of the first segment, which differs whenever the first
     * PT_LOAD has a non-zero p_vaddr. */
    Dwfl_Module *m = dwfl_report_elf(s->dwfl, path, path, -1, bias, true);
    /* dwfl_report_end with no callback removes nothing that was reported before. */
    if (dwfl_report_end(s->dwfl, NULL, NULL) != 0) return NULL;
    return m;
}

int mg_sym_add_module(mg_symbolizer *s, const char *path, uint64_t bias, uint64_t start,
                      uint64_t end) {
    if (!s || !path || !*path || start >= end) return -1;

    size_t mod = s->nmodules;
    for (size_t i = 0; i < s->nmodules; i++) {
        if (s->modules[i].bias == bias && strcmp(s->modules[i].path, path) == 0) {
            mod = i;
            break;
        }
    }
    /* A range that overlaps another module's range would make lookups ambiguous: the
     * declaration is refused and the earlier module keeps the addresses. A module may
     * repeat or extend its own ranges (one declaration per segment, or a second
     * mg_sym_add_self). */
    for (size_t i = 0; i < s->nranges; i++) {
        const sym_range *r = &s->ranges[i];
        if (!sym_ranges_overlap(start, end, r->start, r->end)) continue;
        if (r->module != mod) return -1;
        if (r->start <= start && end <= r->end) return 0; /* already covered */
    }

    if (s->nranges == s->capranges) {
        size_t cap = s->capranges ? s->capranges * 2 : 16;
        sym_range *ranges = realloc(s->ranges, cap * sizeof *ranges);
        if (!ranges) return -1;
        s->ranges = ranges;
        s->capranges = cap;
    }
    if (mod == s->nmodules) {
        if (s->nmodules == s->capmodules) {
            size_t cap = s->capmodules ? s->capmodules * 2 : 16;
            sym_module *modules = realloc(s->modules, cap * sizeof *modules);
            if (!modules) return -1;
            s->modules = modules;
            s->capmodules = cap;
        }
        const char *ipath = sym_intern(s, path);
        if (!ipath) return -1;
        /* A module whose file is gone is still recorded: its addresses then resolve to
         * the module path with no function, which is worth more than nothing. */
        s->modules[mod].path = ipath;
        s->modules[mod].bias = bias;
        s->modules[mod].dwmod = sym_report(s, ipath, bias);
        s->modules[mod].cus = NULL;
        s->modules[mod].ncus = 0;
        s->modules[mod].cus_built = false;
        s->nmodules++;
    }
    s->ranges[s->nranges].start = start;
    s->ranges[s->nranges].end = end;
    s->ranges[s->nranges].module = mod;
    s->nranges++;
    sym_cache_clear(s);
    return 0;
}

typedef struct sym_self_ctx {
    mg_symbolizer *s;
    unsigned index;
    int added;
} sym_self_ctx;

static int sym_self_module(struct dl_phdr_info *info, size_t size, void *arg) {
    sym_self_ctx *ctx = arg;
    (void)size;
    unsigned index = ctx->index++;
    const char *name = info->dlpi_name;
    char exe[PATH_MAX];

    if (!name || !*name) {
        /* glibc lists the main program first, with an empty name. */
        if (index != 0) return 0;
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return 0;
        exe[n] = '\0';
        name = exe;
    } else if (strncmp(name, "linux-vdso", 10) == 0 || strncmp(name, "linux-gate", 10) == 0) {
        return 0; /* no file behind it */
    }

    uint64_t lo = UINT64_MAX, hi = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || ph->p_memsz == 0) continue;
        uint64_t a = (uint64_t)info->dlpi_addr + ph->p_vaddr;
        if (a < lo) lo = a;
        if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
    }
    if (lo >= hi) return 0;
    if (mg_sym_add_module(ctx->s, name, (uint64_t)info->dlpi_addr, lo, hi) == 0) ctx->added++;
    return 0;
}

int mg_sym_add_self(mg_symbolizer *s) {
    if (!s) return -1;
    sym_self_ctx ctx = {s, 0, 0};
    dl_iterate_phdr(sym_self_module, &ctx);
    return ctx.added > 0 ? 0 : -1;
}

/* ---- lookup ----------------------------------------------------------------------- */

static const char *sym_die_string(Dwarf_Die *die, unsigned attr_name) {
    Dwarf_Attribute attr;
    return dwarf_formstring(dwarf_attr_integrate(die, attr_name, &attr));
}

static int sym_cu_cmp(const void *a, const void *b) {
    const sym_cu *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Collects the address ranges of every compilation unit of m, sorted by start. On
 * allocation failure the index is left partial, which only loses lookups. */
static void sym_cus_build(sym_module *m) {
    m->cus_built = true;
    size_t cap = 0;
    Dwarf_Addr bias = 0;
    for (Dwarf_Die *cu = NULL; (cu = dwfl_module_nextcu(m->dwmod, cu, &bias)) != NULL;) {
        Dwarf_Addr base, lo, hi;
        for (ptrdiff_t off = 0; (off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0;) {
            if (lo >= hi) continue;
            if (m->ncus == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                sym_cu *cus = realloc(m->cus, ncap * sizeof *cus);
                if (!cus) goto done;
                m->cus = cus;
                cap = ncap;
            }
            m->cus[m->ncus].lo = lo + bias;
            m->cus[m->ncus].hi = hi + bias;
            m->cus[m->ncus].die = cu;
            m->cus[m->ncus].bias = bias;
            m->ncus++;
        }
    }
done:
    if (m->ncus > 1) qsort(m->cus, m->ncus, sizeof *m->cus, sym_cu_cmp);
}

/* The compilation unit whose code contains pc, and its bias; NULL when none. */
static Dwarf_Die *sym_cu_at(sym_module *m, uint64_t pc, Dwarf_Addr *bias) {
    Dwarf_Die *cu = dwfl_module_addrdie(m->dwmod, pc, bias);
    if (cu) return cu;
    if (!m->cus_built) sym_cus_build(m);
    /* Last range starting at or below pc, then back over earlier ones in case a wide
     * range encloses pc (units do not usually nest, so this stops at once). */
    size_t lo = 0, hi = m->ncus;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cus[mid].lo <= pc) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo; i-- > 0;) {
        if (pc < m->cus[i].hi) {
            *bias = m->cus[i].bias;
            return m->cus[i].die;
        }
    }
    return NULL;
}

/* Name of the innermost function (possibly inlined) of compilation unit cu whose code
 * contains addr (a DWARF address); NULL when DWARF does not name one. */
static const char *sym_dwarf_function(mg_symbolizer *s, Dwarf_Die *cu, Dwarf_Addr addr) {
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes(cu, addr, &scopes);
    const char *out = NULL;
    for (int i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) continue;
        /* A C++ linkage name carries the qualified name and the parameter types. Other
         * linkage names are assembler names such as glibc's "__GI_qsort", so for C the
         * source name comes first. */
        const char *linkage = sym_die_string(&scopes[i], DW_AT_linkage_name);
        if (!linkage) linkage = sym_die_string(&scopes[i], DW_AT_MIPS_linkage_name);
        const char *name = linkage && linkage[0] == '_' && linkage[1] == 'Z' ? linkage : NULL;
        if (!name) name = sym_die_string(&scopes[i], DW_AT_name);
        if (!name) name = linkage;
        if (name) out = sym_function_name(s, name);
        break;
    }
    free(scopes);
    return out;
}

/* Name of the ELF symbol (a function, not data) containing pc; NULL when none. */
static const char *sym_elf_function(mg_symbolizer *s, Dwfl_Module *mod, uint64_t pc) {
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
    if (!name || !*name) return NULL;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) return NULL;
    return sym_function_name(s, name);
}

/* Interned source path of a line record of compilation unit cu. libdw leaves a file
 * relative when its line table directory is relative (the compiler was given a relative
 * path); DWARF defines such a directory as relative to the compilation directory, so
 * join the two and the report points at the file wherever it is read from. */
static const char *sym_line_file(mg_symbolizer *s, Dwarf_Die *cu, Dwarf_Line *line) {
    const char *file = dwarf_linesrc(line, NULL, NULL);
    if (!file || file[0] == '/') return sym_intern(s, file);
    Dwarf_Attribute attr;
    const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
    /* A relative compilation directory (from -fdebug-prefix-map, as in distribution
     * packages) gives nothing to anchor the path to. */
    if (!dir || dir[0] != '/') return sym_intern(s, file);
    while (file[0] == '.' && file[1] == '/') file += 2;
    char buf[PATH_MAX];
    size_t dl = strlen(dir);
    int n = snprintf(buf, sizeof buf, "%s%s%s", dir, dir[dl - 1] == '/' ? "" : "/", file);
    if (n < 0 || (size_t)n >= sizeof buf) return sym_intern(s, file);
    return sym_intern(s, buf);
}

static sym_module *sym_module_at(const mg_symbolizer *s, uint64_t pc) {
    for (size_t i = 0; i < s->nranges; i++)
        if (s->ranges[i].start <= pc && pc < s->ranges[i].end)
            return &s->modules[s->ranges[i].module];
    return NULL;
}

int mg_sym_resolve(mg_symbolizer *s, uint64_t address, int return_address, mg_symbol *out) {
    mg_symbol sym = {NULL, NULL, 0, NULL};
    if (out) *out = sym;
    if (!s || !out) return -1;

    /* A return address points after the call; the call instruction ends one byte
     * earlier and carries the line of the call. */
    uint64_t pc = return_address && address > 0 ? address - 1 : address;
    const sym_entry *hit = sym_cache_find(s, pc);
    if (hit) {
        *out = hit->sym;
        return hit->found ? 0 : -1;
    }

    sym_module *m = sym_module_at(s, pc);
    if (m) {
        sym.module = m->path;
        if (m->dwmod) {
            Dwarf_Addr bias = 0;
            Dwarf_Die *cu = sym_cu_at(m, pc, &bias);
            if (cu) {
                sym.function = sym_dwarf_function(s, cu, pc - bias);
                Dwarf_Line *line = dwarf_getsrc_die(cu, pc - bias);
                int lineno = 0;
                if (line && dwarf_lineno(line, &lineno) == 0 && lineno > 0) {
                    sym.file = sym_line_file(s, cu, line);
                    if (sym.file) sym.line = (unsigned)lineno;
                }
            }
            if (!sym.function) sym.function = sym_elf_function(s, m->dwmod, pc);
        }
    }
    bool found = sym.function != NULL;
    sym_cache_put(s, pc, &sym, found);
    *out = sym;
    return found ? 0 : -1;
}

/* ---- lifetime --------------------------------------------------------------------- */

mg_symbolizer *mg_sym_new(void) {
    mg_symbolizer *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->callbacks.find_elf = dwfl_build_id_find_elf;
    s->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    s->callbacks.section_address = NULL;
    s->callbacks.debuginfo_path = &s->debuginfo_path; /* NULL: the default search path */
    s->dwfl = dwfl_begin(&s->callbacks);
    if (!s->dwfl) {
        free(s);
        return NULL;
    }
    return s;
}

void mg_sym_free(mg_symbolizer *s) {
    if (!s) return;
    dwfl_end(s->dwfl);
    if (s->cxx_lib) dlclose(s->cxx_lib);
    for (sym_chunk *c = s->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    for (size_t i = 0; i < s->nmodules; i++) free(s->modules[i].cus);
    free(s->strings);
    free(s->cache);
    free(s->ranges);
    free(s->modules);
    free(s);
}
