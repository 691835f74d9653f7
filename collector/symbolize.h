/*
 * Symbolization with elfutils libdw: address -> function (demangled for C++),
 * source file, line and module. Works on addresses of another (possibly exited)
 * process, given that process's module map. Results are cached per address.
 * Not used in the hot path: only for the tracebacks a report shows.
 */
#ifndef MEMGATE_SYMBOLIZE_H
#define MEMGATE_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mg_symbolizer mg_symbolizer;

typedef struct mg_symbol {
    const char *function; /* demangled; NULL when unknown */
    const char *file;     /* source path; NULL when unknown */
    unsigned line;        /* 0 when unknown */
    const char *module;   /* path of the ELF object; NULL when the address is in none */
} mg_symbol;

mg_symbolizer *mg_sym_new(void);

/* Declares a module of the target process: the ELF file at `path` loaded with load bias
 * `bias` (dl_iterate_phdr's dlpi_addr), covering [start, end). Returns 0 or -1. */
int mg_sym_add_module(mg_symbolizer *s, const char *path, uint64_t bias, uint64_t start,
                      uint64_t end);

/* Declares the modules of the calling process itself (dl_iterate_phdr). */
int mg_sym_add_self(mg_symbolizer *s);

/* Resolves an address. return_address != 0 means the address is a return address
 * (every frame of a recorded stack), looked up at address-1 so the call's line is found.
 * Strings stay valid until mg_sym_free. Always fills out (fields NULL when unknown);
 * returns 0 when at least the function was found, else -1. */
int mg_sym_resolve(mg_symbolizer *s, uint64_t address, int return_address, mg_symbol *out);

void mg_sym_free(mg_symbolizer *s);

#endif
