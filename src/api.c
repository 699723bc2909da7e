/* The public lm_* API of lmalloc.h: each function is its lm_heap_*
 * counterpart (heap.c, walk.c, check.c) applied to the default heap. */
#include "heap.h"

/* Zero-initialised: it claims its memory on first use. */
lm_heap_t lm_default_heap;

void *lm_malloc(size_t size) { return lm_heap_malloc(&lm_default_heap, size); }

void lm_free(void *ptr) { lm_heap_free(&lm_default_heap, ptr); }

void *lm_calloc(size_t count, size_t size) {
  return lm_heap_calloc(&lm_default_heap, count, size);
}

void *lm_realloc(void *ptr, size_t size) {
  return lm_heap_realloc(&lm_default_heap, ptr, size);
}

void *lm_aligned_alloc(size_t alignment, size_t size) {
  return lm_heap_aligned_alloc(&lm_default_heap, alignment, size);
}

size_t lm_usable_size(const void *ptr) {
  return lm_heap_usable_size(&lm_default_heap, ptr);
}

void lm_set_heap_limit(size_t max_bytes) { lm_default_heap.limit = max_bytes; }

size_t lm_walk(lm_visitor_t visitor, void *ctx) {
  return lm_heap_walk(&lm_default_heap, visitor, ctx);
}

int lm_stats(lm_stats_t *stats) { return lm_heap_stats(&lm_default_heap, stats); }

size_t lm_check(void) { return lm_heap_check(&lm_default_heap); }
