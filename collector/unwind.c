/*
 * Stack capture. Two unwinders behind one function pointer (mg__unwind):
 *  - libunwind's unw_backtrace (default): uses DWARF CFI, correct for code without frame
 *    pointers such as Debian's libc; ~10 ns per frame once its caches are warm.
 *    (The unw_step loop is avoided: libunwind 1.6 makes syscalls per step.)
 *  - frame-pointer walking (MEMGATE_UNWIND=fp): a few ns per frame, correct only when
 *    every frame on the way up keeps a frame pointer (-fno-omit-frame-pointer). A frame
 *    of a function without one (e.g. a libc function calling malloc) hides its caller.
 * Both report return addresses, innermost first; mg__capture trims the collector's own
 * frames so that frames[0] is the return address into the function that called malloc.
 * A stack deeper than the configured depth keeps its innermost frames and its outermost
 * ones (the test and the harness that called into a library), with a gap marker
 * (protocol.h, MG_FRAME_GAP) standing for the frames between.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>

#include <string.h>

#include "internal.h"
#include "protocol.h"

mg_unwind_fn mg__unwind = mg__unwind_libunwind;

int mg__unwind_libunwind(uintptr_t *frames, int max) {
    return unw_backtrace((void **)frames, max);
}

/* Bounds of this thread's stack, read once per thread (pthread_getattr_np may allocate;
 * it runs under the caller's re-entrancy guard). */
static MG_TLS uintptr_t stack_lo, stack_hi;

static void stack_bounds(void) {
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            stack_lo = (uintptr_t)addr;
            stack_hi = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    if (!stack_hi) { /* unknown: allow 1 MiB above the current frame */
        stack_lo = (uintptr_t)__builtin_frame_address(0) - 4096;
        stack_hi = stack_lo + (1u << 20);
    }
}

__attribute__((noinline)) int mg__unwind_fp(uintptr_t *frames, int max) {
    if (MG_UNLIKELY(!stack_hi)) stack_bounds();
    const uintptr_t *fp = __builtin_frame_address(0);
    int n = 0;
    while (n < max) {
        uintptr_t a = (uintptr_t)fp;
        if (a < stack_lo || a + 2 * sizeof(uintptr_t) > stack_hi || (a & 7)) break;
        uintptr_t ret = fp[1];
        if (ret < 4096) break;
        frames[n++] = ret;
        const uintptr_t *next = (const uintptr_t *)fp[0];
        if ((uintptr_t)next <= a) break;
        fp = next;
    }
    return n;
}

/* Deepest stack walked; a deeper one is cut at its outer end. */
#define MAX_WALK 256

int mg__capture(void *ret, uintptr_t *frames, int max) {
    enum { SLACK = 6 };
    uintptr_t tmp[MAX_WALK + SLACK];
    int n = mg__unwind(tmp, MAX_WALK + SLACK);
    int start = -1;
    for (int i = 0; i < n && i < SLACK + 1; i++) {
        if (tmp[i] == (uintptr_t)ret) {
            start = i;
            break;
        }
    }
    if (start < 0) { /* the unwinder failed: keep at least the caller */
        frames[0] = (uintptr_t)ret;
        return 1;
    }
    int avail = n - start;
    if (avail <= max || max < 8) {
        int k = avail < max ? avail : max;
        memcpy(frames, tmp + start, (size_t)k * sizeof *frames);
        return k;
    }
    /* Too deep: the innermost frames (where the memory was asked for) and the outermost
     * (the test that called into the library, and the harness), with a gap marker. */
    int outer = max * 5 / 8, inner = max - outer - 1;
    memcpy(frames, tmp + start, (size_t)inner * sizeof *frames);
    frames[inner] = (uintptr_t)(MG_FRAME_GAP | (uint64_t)(avail - inner - outer));
    memcpy(frames + inner + 1, tmp + n - outer, (size_t)outer * sizeof *frames);
    return max;
}
