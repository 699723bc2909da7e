/* The rest of the allocator names Emscripten's headers declare (its
 * <malloc.h> and <stdlib.h>) and its dlmalloc defines, so that programs
 * calling them link with -sMALLOC=none: valloc, pvalloc, mallinfo,
 * malloc_stats, mallopt, malloc_trim and __libc_realloc. Built into
 * liblmalloc.a for Emscripten only; kept apart from stdlib.c so that this
 * object is linked only into programs that call one of them. */
#define _DEFAULT_SOURCE /* getpagesize under -std=c11 */
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "heap.h"
#include "pages.h"

#define HEAP (&lm_default_heap)

void *__libc_realloc(void *ptr, size_t size) {
  return lm_heap_realloc(HEAP, ptr, size);
}

/* Page-aligned allocations; the page is what getpagesize() says. */
void *valloc(size_t size) {
  return lm_heap_aligned_alloc(HEAP, (size_t)getpagesize(), size);
}

void *pvalloc(size_t size) {
  size_t page = (size_t)getpagesize();
  if (size > LM_MAX_REQUEST - page)
    return lm_heap_malloc(HEAP, LM_MAX_REQUEST + (size_t)1); /* ENOMEM */
  return lm_heap_aligned_alloc(HEAP, page, (size + page - 1) & ~(page - 1));
}

/* Statistics in dlmalloc's shape, from lm_stats. O(blocks): it walks the
 * heap. Sizes beyond INT_MAX are clamped. */
static int clamp(size_t v) { return v > 0x7FFFFFFF ? 0x7FFFFFFF : (int)v; }

struct mallinfo mallinfo(void) {
  lm_stats_t s = {.version = LM_STATS_VERSION, .size = sizeof s};
  struct mallinfo m = {0};
  if (lm_heap_stats(HEAP, &s) == 0) {
    m.arena = clamp(s.heap_bytes);
    m.ordblks = clamp(s.free_blocks);
    m.uordblks = clamp(s.used_bytes);
    m.fordblks = clamp(s.free_bytes);
  }
  return m;
}

/* Writes "<label><n>\n" to stderr without printf (nothing here allocates). */
static void put_line(const char *label, size_t n) {
  char line[64];
  size_t len = 0;
  while (*label && len < 40)
    line[len++] = *label++;
  char digits[24];
  int d = 0;
  do {
    digits[d++] = (char)('0' + n % 10);
    n /= 10;
  } while (n);
  while (d > 0)
    line[len++] = digits[--d];
  line[len++] = '\n';
  lm_pages_write_error(line, len);
}

void malloc_stats(void) {
  lm_stats_t s = {.version = LM_STATS_VERSION, .size = sizeof s};
  if (lm_heap_stats(HEAP, &s) != 0)
    return;
  put_line("heap bytes     = ", s.heap_bytes);
  put_line("in use bytes   = ", s.used_bytes);
  put_line("free bytes     = ", s.free_bytes);
  put_line("in use blocks  = ", s.used_blocks);
}

/* lmalloc has no tunables: every option is refused (0), as the interface
 * allows. */
int mallopt(int param, int value) {
  (void)param;
  (void)value;
  return 0;
}

/* Linear memory never shrinks: nothing can be given back (0). */
int malloc_trim(size_t pad) {
  (void)pad;
  return 0;
}
