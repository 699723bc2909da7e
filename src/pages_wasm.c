/* Page source for wasm32 (WASI programs and the standalone module): the
 * only file that knows about memory.grow. Offsets are linear-memory
 * addresses (base 0).
 *
 * At start-up the bytes from __heap_base (set by wasm-ld after data and
 * stack) to the end of the initial memory are unused and already zero:
 * the heap's first span takes them. wasi-libc's own sbrk only ever grows
 * whole pages at the end of memory, so it coexists with this. */
#include <unistd.h>

#include "pages.h"

extern unsigned char __heap_base;

uintptr_t lm_pages_base(void) { return 0; }

void lm_pages_initial(uint32_t *start, uint32_t *end) {
  uint64_t size = (uint64_t)__builtin_wasm_memory_size(0) << LM_PAGE_SIZE_LOG2;
  *start = (uint32_t)(uintptr_t)&__heap_base;
  *end = size > 0xFFFFFFF0u ? 0xFFFFFFF0u : (uint32_t)size;
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

void lm_pages_write_error(const char *text, size_t len) {
  while (len > 0) {
    ssize_t n = write(2, text, len);
    if (n <= 0)
      return;
    text += n;
    len -= (size_t)n;
  }
}

_Noreturn void lm_pages_trap(void) { __builtin_trap(); }
