/*
 * Per-block metadata: the trailer.
 *
 * Every block the hooks hand out is asked of the real allocator 8 bytes larger, and
 * the last 8 bytes of its usable area (whatever the allocator rounded it up to) hold a
 * trailer:
 *
 *   bits  0..12  slack: usable size - 8 - requested size (0x1FFF: the requested size
 *                is kept in the side table instead, for allocators with large slack)
 *   bits 13..28  window: the measurement window the block was allocated in (0: none)
 *   bit  29      table: the block also has a side-table entry (its stack id in trace
 *                mode, or its size when the slack does not fit)
 *   bit  30      internal: never counted (the collector's own blocks, the test
 *                framework's failure records, blocks allocated while not recording)
 *   bits 31..63  check: a hash of the address and of bits 0..30
 *
 * So a free learns the requested size and the window without a lookup: the usable size
 * comes from the allocator's chunk header (read directly for glibc, whose layout is
 * checked at start-up), the trailer sits right behind the data the program just used.
 * The check tells a trailer written by the hooks from anything else: a block whose end
 * the program overwrote (heap buffer overflow), a pointer malloc never returned. A free
 * writes the trailer back with its check inverted, so a second free of the same block
 * (still in the allocator's cache, not handed out again) is recognised as a double
 * free.
 *
 * Measured against a per-free hash-table lookup: see docs/performance.md.
 */
#ifndef MEMGATE_COLLECTOR_BLOCK_H
#define MEMGATE_COLLECTOR_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define MG_TRAILER 8u
#define MG_T_SLACK_BITS 13
#define MG_T_SLACK_BIG ((1u << MG_T_SLACK_BITS) - 1u)
#define MG_T_WIN_SHIFT MG_T_SLACK_BITS
#define MG_T_WIN_BITS 16
#define MG_T_WIN_MASK ((1u << MG_T_WIN_BITS) - 1u)
#define MG_T_TABLE (UINT64_C(1) << 29)
#define MG_T_INTERNAL (UINT64_C(1) << 30)
#define MG_T_LOW_MASK ((UINT64_C(1) << 31) - 1u)
#define MG_T_CHECK_SHIFT 31
#define MG_T_CHECK_MASK ((UINT64_C(1) << 33) - 1u)

/* Largest window id a trailer can hold; id 0 means "outside every window". */
#define MG_MAX_WINDOW MG_T_WIN_MASK

static inline uint64_t mg__t_check(uintptr_t p, uint64_t low) {
    uint64_t h = ((uint64_t)p ^ (low << 31) ^ UINT64_C(0x5bd1e9955bd1e995)) *
                 UINT64_C(0x9E3779B97F4A7C15);
    return h >> 31;
}

static inline uint64_t mg__t_make(uintptr_t p, uint64_t low) {
    return low | (mg__t_check(p, low) << MG_T_CHECK_SHIFT);
}

static inline bool mg__t_valid(uintptr_t p, uint64_t t) {
    return (t >> MG_T_CHECK_SHIFT) == mg__t_check(p, t & MG_T_LOW_MASK);
}

/* The trailer a free leaves behind: the same low bits, the check inverted. */
static inline uint64_t mg__t_freed(uintptr_t p, uint64_t t) {
    uint64_t low = t & MG_T_LOW_MASK;
    return low | ((~mg__t_check(p, low) & MG_T_CHECK_MASK) << MG_T_CHECK_SHIFT);
}

static inline bool mg__t_is_freed(uintptr_t p, uint64_t t) {
    uint64_t low = t & MG_T_LOW_MASK;
    return (t >> MG_T_CHECK_SHIFT) == (~mg__t_check(p, low) & MG_T_CHECK_MASK);
}

static inline unsigned mg__t_slack(uint64_t t) { return (unsigned)(t & MG_T_SLACK_BIG); }
static inline unsigned mg__t_window(uint64_t t) {
    return (unsigned)((t >> MG_T_WIN_SHIFT) & MG_T_WIN_MASK);
}

#endif
