/*
 * Tracebacks for people: raw return addresses from a child's report become frames
 * (function, file:line, module, module offset), the harness is trimmed away, and each
 * traceback gets its culprit, the frame a one-line summary names.
 *
 * The culprit is the innermost frame that is the project's own code:
 *  - not in the C/C++ runtime or the dynamic loader (libc, libstdc++, libgcc_s, libm,
 *    ld-linux, libmemgate);
 *  - not an allocator wrapper named by --alloc-fn / "alloc_functions" globs (matched
 *    against the function name: "xmalloc", "mosquitto__*");
 *  - not in a shared library installed under the system library directories (/lib,
 *    /lib64, /usr/lib, /usr/lib64 and their subdirectories): a third-party library such
 *    as OpenSSL allocates on behalf of the project's code that called it.
 * When no frame qualifies, the first frame outside the runtime is named, else frame 0.
 */
#ifndef MEMGATE_RUNNER_CULPRIT_H
#define MEMGATE_RUNNER_CULPRIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct mg_trace_rules {
    const char *const *harness_functions; /* NULL-terminated globs (the adapter's) */
    const char *const *harness_modules;
    const char *const *alloc_functions;   /* --alloc-fn globs */
    size_t nalloc_functions;
} mg_trace_rules;

/* Symbolizes ips (innermost first) of a process whose module map is `modules` (the
 * "MOD" lines of its report), trims the harness and fills *out (heap, owned by the
 * caller: mg_entry_free_contents frees it through an entry) and the culprit index. */
void mg_trace_resolve(const char *modules, const uint64_t *ips, size_t n, const mg_trace_rules *rules,
                      mg_frame **out, size_t *nout, size_t *culprit);

/* Picks the culprit of frames (see above). */
size_t mg_trace_culprit(const mg_frame *frames, size_t n, const char *const *alloc_functions,
                        size_t nalloc_functions);

/* True for a module path under the system library directories. */
bool mg_trace_system_module(const char *path);

/* True for the C/C++ runtime, the loader and memgate itself (by module basename). */
bool mg_trace_runtime_module(const char *path);

/* Releases the symbolizers cached by mg_trace_resolve (one per distinct module map). */
void mg_trace_cache_free(void);

/* How the console groups a test's tracebacks (tracemalloc's key types). */
typedef enum mg_group_by {
    MG_GROUP_TRACEBACK = 0, /* each distinct traceback */
    MG_GROUP_FUNCTION,      /* the culprit's function */
    MG_GROUP_LINE,          /* the culprit's file:line (the default) */
    MG_GROUP_FILE           /* the culprit's source file */
} mg_group_by;

/* "traceback", "function", "line", "file" -> *out; -1 for anything else. */
int mg_group_by_parse(const char *text, mg_group_by *out);

/* Groups entries by g: sizes and counts are summed, each group keeps the traceback of
 * its first member (entries come largest first, so its largest), and the groups are
 * sorted largest size_diff first. *out is a new
 * heap array of deep copies (free each with mg_entry_free_contents, then the array). */
void mg_group_entries(const mg_entry *in, size_t n, mg_group_by g, mg_entry **out, size_t *nout);

#endif
