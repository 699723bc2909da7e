/* Page source for wasm32 (WASI programs and the standalone module): the
 * only file that knows about memory.grow. Offsets are linear-memory
 * addresses (base 0). Where reports are written is not its business:
 * output_stderr.c writes them to stderr for WASI programs, and the
 * standalone module for JavaScript brings its own (wasm/).
 *
 * At start-up the bytes from __heap_base (set by wasm-ld after data and
 * stack) to the end of the initial memory are unused and already zero:
 * the heap's first span takes them. wasi-libc's own sbrk only ever grows
 * whole pages at the end of memory, so it coexists with this. */
#include "pages.h"

extern unsigned char __heap_base;

/* Where the start-up region ends, when non-zero (0: at the end of memory,
 * as in every WASI program). Only the standalone module for JavaScript
 * (wasm/module.c) sets it, before the first allocation: its memory may be
 * a host's, and pages past the ones it reserved at start-up are not
 * lmalloc's to claim, even when they are still zero. */
uint32_t lm_pages_initial_end;

uintptr_t lm_pages_base(void) { return 0; }

void lm_pages_initial(uint32_t *start, uint32_t *end) {
  uint64_t size = (uint64_t)__builtin_wasm_memory_size(0) << LM_PAGE_SIZE_LOG2;
  *start = (uint32_t)(uintptr_t)&__heap_base;
  *end = size > 0xFFFFFFF0u ? 0xFFFFFFF0u : (uint32_t)size;
  if (lm_pages_initial_end && *end > lm_pages_initial_end)
    *end = lm_pages_initial_end;
  if (*end < *start)
    *end = *start;
}

uint32_t lm_pages_grow(uint32_t count) {
  size_t old = __builtin_wasm_memory_grow(0, count);
  if (old == (size_t)-1 || old == 0)
    return 0;
  return (uint32_t)(old << LM_PAGE_SIZE_LOG2);
}

int lm_pages_foreign_grow(uint32_t count) {
  return __builtin_wasm_memory_grow(0, count) == (size_t)-1 ? -1 : 0;
}
