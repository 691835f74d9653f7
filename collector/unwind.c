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
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>

#include "internal.h"

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

int mg__capture(void *ret, uintptr_t *frames, int max) {
    enum { SLACK = 6 };
    uintptr_t tmp[MG_MAX_FRAMES + SLACK];
    int want = max + SLACK;
    if (want > MG_MAX_FRAMES + SLACK) want = MG_MAX_FRAMES + SLACK;
    int n = mg__unwind(tmp, want);
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
    int k = 0;
    for (int i = start; i < n && k < max; i++) frames[k++] = tmp[i];
    return k;
}
