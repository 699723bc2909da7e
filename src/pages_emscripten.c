/* The Emscripten page source, which is also the program's sbrk.
 *
 * What it owns: the program break, the single address that divides the
 * memory handed out so far (below it) from memory nobody owns yet (from
 * there to the end of linear memory and beyond, as memory grows).
 *
 * Why this file is sbrk: Emscripten's sbrk owns everything above
 * __heap_base (trap 7 in TOOLCHAIN.md). Its runtime, user code and any
 * second allocator take memory by moving that one break, so lmalloc must
 * take its pages the same way or it will be handed bytes someone else was
 * given. Emscripten keeps its sbrk inside its malloc library, which
 * -sMALLOC=none leaves out, so the break has no owner unless lmalloc
 * provides one: this file defines sbrk, brk and emscripten_get_sbrk_ptr
 * with the behaviour of Emscripten 3.1.6's own, and builds the page source
 * of pages.h on top of them.
 *
 * Invariants:
 *   - __heap_base <= break, and break % 4 == 0 (sbrk rounds every increment
 *     up to a multiple of 4, as Emscripten's does, so callers that only
 *     need 4-byte alignment never have to pad).
 *   - break <= emscripten_get_heap_size(): memory is grown, through
 *     emscripten_resize_heap so the JS glue re-creates its views, before
 *     the break is moved past its end. Memory never shrinks; lowering the
 *     break only gives the bytes back to the next sbrk caller.
 *   - Bytes at and above high_water (the highest break ever set) have never
 *     been handed out, so they still read as zero. Bytes below it may have
 *     been written by a caller that later lowered the break; lm_pages_grow
 *     clears those before handing them to the core.
 *
 * Start-up memory (lm_pages_initial): there is none to hand over. The bytes
 * from __heap_base to the end of the initial memory are already the sbrk
 * region: the first lm_pages_grow calls are carved out of them, because
 * sbrk grows memory only once the break passes its end. Nothing is wasted
 * (trap 6), and those bytes stay available to other sbrk callers instead
 * of being claimed by lmalloc all at once.
 *
 * Differences from Emscripten 3.1.6's sbrk: a negative increment (or a brk
 * below the current break) lowers the break, down to __heap_base; 3.1.6's
 * overflow check rejects every negative increment with ENOMEM, which breaks
 * emmalloc_trim-style callers that give memory back. A brk address is
 * rounded up to a multiple of 4 to keep the invariant above.
 *
 * Threads: the break moves by compare-and-swap, so with -pthread
 * concurrent sbrk calls each get their own range. In single-threaded
 * builds the atomic builtins compile to plain loads and stores.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* sbrk and brk in <unistd.h> under -std=c11 */
#endif

#include "pages.h"

#include <emscripten/heap.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* Every break is a multiple of this (see the invariants above). */
#define BREAK_ALIGN ((uintptr_t)4)
/* lm_pages_grow returns offsets aligned to this (what the core needs). */
#define GROW_ALIGN ((uintptr_t)16)
_Static_assert((BREAK_ALIGN & (BREAK_ALIGN - 1)) == 0, "power of two");
_Static_assert((GROW_ALIGN & (GROW_ALIGN - 1)) == 0, "power of two");
_Static_assert(GROW_ALIGN % BREAK_ALIGN == 0,
               "grow alignment keeps the break aligned");
_Static_assert(LM_PAGE_SIZE % GROW_ALIGN == 0,
               "whole pages keep the break aligned");

/* Defined by wasm-ld: its address is the first byte after data and stack. */
extern unsigned char __heap_base;

/* The break itself. Starts at __heap_base; emscripten_get_sbrk_ptr hands
 * out its address, so it is a plain uintptr_t only ever touched through
 * atomic builtins here. */
static uintptr_t program_break = (uintptr_t)&__heap_base;

/* The highest break ever set (0 until the break first rises). */
static uintptr_t high_water;

/* ---- small helpers ------------------------------------------------------ */

static uintptr_t heap_start(void) { return (uintptr_t)&__heap_base; }

static uintptr_t load_break(void) {
  return __atomic_load_n(&program_break, __ATOMIC_SEQ_CST);
}

/* Rounds `value` up to `align` (a power of two); false when that wraps. */
static bool align_up(uintptr_t value, uintptr_t align, uintptr_t *out) {
  uintptr_t rounded = (value + (align - 1)) & ~(align - 1);
  *out = rounded;
  return rounded >= value;
}

/* True when linear memory reaches at least `end` bytes, growing it through
 * the JS glue if it does not yet. */
static bool memory_reaches(uintptr_t end) {
  if (end <= emscripten_get_heap_size())
    return true;
  if (emscripten_resize_heap(end))
    return true;
  /* With threads the glue refuses when another thread grew it first. */
  return end <= emscripten_get_heap_size();
}

/* Raises high_water to at least `end`; returns its value before. */
static uintptr_t raise_high_water(uintptr_t end) {
  uintptr_t seen = __atomic_load_n(&high_water, __ATOMIC_SEQ_CST);
  while (seen < end &&
         !__atomic_compare_exchange_n(&high_water, &seen, end, false,
                                      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return seen;
}

typedef enum { MOVED, RACED, NO_MEMORY } move_result_t;

/* Tries once to move the break from `from` to `to` (both multiples of
 * BREAK_ALIGN). MOVED: done, and *old_high_water says how high the break
 * had ever been before. RACED: another thread moved it first; reload and
 * retry. NO_MEMORY: `to` is below __heap_base or memory cannot grow there. */
static move_result_t move_break(uintptr_t from, uintptr_t to,
                                uintptr_t *old_high_water) {
  if (to < heap_start() || !memory_reaches(to))
    return NO_MEMORY;
  if (!__atomic_compare_exchange_n(&program_break, &from, to, false,
                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
    return RACED;
  *old_high_water = raise_high_water(to);
  return MOVED;
}

static void *no_memory(void) {
  errno = ENOMEM;
  return (void *)-1;
}

/* ---- sbrk, as the rest of the program sees it --------------------------- */

/* Where the break lives. Emscripten's JS (SAFE_HEAP) and its tools find
 * the break through this; 3.1.6 exports it when SAFE_HEAP is on. */
uintptr_t *emscripten_get_sbrk_ptr(void) { return &program_break; }

/* Moves the break by `increment` bytes (rounded up to a multiple of 4) and
 * returns the old break, or (void *)-1 with errno ENOMEM when memory cannot
 * grow that far or the break would fall below __heap_base. O(1) plus the
 * cost of growing memory. */
void *sbrk(intptr_t increment) {
  /* Unsigned arithmetic: rounding -3 gives 0, -5 gives -4 (towards +inf).
   * A positive increment is at most INTPTR_MAX, so rounding cannot wrap. */
  uintptr_t delta =
      ((uintptr_t)increment + (BREAK_ALIGN - 1)) & ~(BREAK_ALIGN - 1);
  bool up = increment >= 0;
  uintptr_t ignored;
  for (;;) {
    uintptr_t from = load_break();
    uintptr_t to = from + delta;
    if (up ? to < from : to > from)
      return no_memory(); /* past 4 GiB or below 0 */
    switch (move_break(from, to, &ignored)) {
    case MOVED:
      return (void *)from;
    case RACED:
      continue;
    case NO_MEMORY:
      return no_memory();
    }
  }
}

/* Sets the break to `addr` rounded up to a multiple of 4. Returns 0, or -1
 * with errno ENOMEM (break unchanged). */
int brk(void *addr) {
  uintptr_t to;
  if (!align_up((uintptr_t)addr, BREAK_ALIGN, &to)) {
    errno = ENOMEM;
    return -1;
  }
  uintptr_t ignored;
  for (;;) {
    switch (move_break(load_break(), to, &ignored)) {
    case MOVED:
      return 0;
    case RACED:
      continue;
    case NO_MEMORY:
      errno = ENOMEM;
      return -1;
    }
  }
}

/* ---- the page source (pages.h) ------------------------------------------ */

uintptr_t lm_pages_base(void) { return 0; }

void lm_pages_initial(uint32_t *start, uint32_t *end) {
  /* See the opening comment: start-up memory is reached through sbrk. */
  *start = 0;
  *end = 0;
}

uint32_t lm_pages_grow(uint32_t count) {
  if (count == 0 || count > (UINT32_MAX >> LM_PAGE_SIZE_LOG2))
    return 0;
  uintptr_t bytes = (uintptr_t)count << LM_PAGE_SIZE_LOG2;
  uintptr_t start, end, dirty_end;
  for (;;) {
    /* The break may sit anywhere on a 4-byte boundary (other callers move
     * it by arbitrary amounts): the pad up to 16 is consumed with the pages,
     * in the same move, so a failure leaves the break where it was. */
    uintptr_t from = load_break();
    if (!align_up(from, GROW_ALIGN, &start))
      return 0;
    end = start + bytes;
    if (end < start)
      return 0;
    move_result_t result = move_break(from, end, &dirty_end);
    if (result == MOVED)
      break;
    if (result == NO_MEMORY)
      return 0;
  }
  /* Bytes below the previous high-water mark may hold what an earlier
   * caller wrote before lowering the break: clear them (pages read as
   * zero). Normally the break never went down and there is nothing to do. */
  if (dirty_end > start)
    memset((void *)start, 0, (dirty_end < end ? dirty_end : end) - start);
  return (uint32_t)start;
}

int lm_pages_foreign_grow(uint32_t count) {
  if (count > (UINT32_MAX >> LM_PAGE_SIZE_LOG2))
    return -1;
  intptr_t bytes = (intptr_t)((uintptr_t)count << LM_PAGE_SIZE_LOG2);
  if (bytes < 0)
    return -1; /* 2 GiB or more: not an sbrk increment */
  return sbrk(bytes) == (void *)-1 ? -1 : 0;
}
