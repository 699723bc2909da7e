/* Heaps other than the default one (lmalloc_heaps.h): creating and
 * destroying them. Everything else a heap does is the allocation core
 * (heap.c, walk.c, check.c) on its struct; where a created heap differs,
 * the core asks the hooks that pool.c installs.
 *
 * Where a created heap lives. Its struct, and the extension the default
 * heap does without (pool.h), are the first LM_HEAP_SELF bytes of its own
 * memory, and its first span starts right after them:
 *
 *   page-source heap (a run from the pool, or fresh pages)
 *   +-----------+-----+------------------------------------ ... ------+
 *   | lm_heap_t | ext | first span: header, blocks ..., end marker     |
 *   +-----------+-----+------------------------------------ ... ------+
 *   s                 s + LM_HEAP_SELF                                 e
 *
 *   buffer heap: the same inside [buffer, buffer + size), the struct at
 *   the first A-aligned address (block.h). It has exactly that one span, never
 *   grows (the grow hook refuses it) and its bytes are not zero (fresh,
 *   I6, starts at the span's end, so calloc clears what it hands out).
 *
 * Destroying a page-source heap gives every span to the page pool, the
 * struct's with it (the struct is written over: the pool's run header),
 * so the default heap and other heaps reuse the pages. Destroying a
 * buffer heap only forgets it: the buffer is the caller's again.
 */
#include <errno.h>
#include <string.h>

#include "pool.h"

/* A buffer of more than LM_HEAP_BUFFER_OVERHEAD bytes, rounded in by up
 * to A - 1 bytes at each end, holds the struct and a span with one block. */
_Static_assert(LM_HEAP_SELF + 2 * LM_ALIGN + LM_MIN_SPAN <=
                   LM_HEAP_BUFFER_OVERHEAD,
               "a buffer heap's own bytes fit in LM_HEAP_BUFFER_OVERHEAD");

lm_heap_t *lm_heap_default(void) { return &lm_default_heap; }

/* Sets up the struct at h (bytes not yet zero) and registers the heap. */
static void init_heap(lm_heap_t *h, int fixed) {
  memset(h, 0, sizeof *h + sizeof(lm_heap_ext_t));
  h->base = lm_pages_base();
  h->initialized = 1;
  /* Keys differ between heaps, and between heaps that reuse one address
   * in turn, so a slab object is never taken for another heap's. */
  lm_pool.generation++;
  h->key = ((uint32_t)(uintptr_t)h * 0x9E3779B1u) ^
           (lm_pool.generation * 0x85EBCA77u) ^ 0x6C6D616Cu ^ lm_pages_entropy();
  lm_pool_add_heap(h, fixed);
}

static lm_heap_t *create_in_buffer(void *buffer, size_t size) {
  uintptr_t base = lm_pages_base(), b = (uintptr_t)buffer;
  /* Offsets are 32-bit: the buffer must lie in [base, base + 4 GiB). */
  if (size <= LM_HEAP_BUFFER_OVERHEAD || b < base || b - base >= LM_RUN_LIMIT ||
      size > LM_RUN_LIMIT - (b - base)) {
    errno = EINVAL;
    return NULL;
  }
  lm_off_t s = (lm_off_t)((b - base + LM_ALIGN - 1) & LM_SIZE_MASK);
  lm_off_t e = (lm_off_t)((b - base + size) & LM_SIZE_MASK);
  if (s == 0)
    s = LM_ALIGN; /* offset 0 is never a block */
  lm_heap_t *h = (lm_heap_t *)(base + s);
  init_heap(h, 1);
  lm_heap_add_run(h, s + LM_HEAP_SELF, e, 1);
  lm_pool_mark(s, e, LM_OWNER_MIXED);
  return h;
}

static lm_heap_t *create_from_pages(size_t size) {
  if (size > LM_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  uint64_t bytes =
      (uint64_t)LM_HEAP_SELF + LM_SPAN_OVERHEAD + (size ? size : LM_MIN_BLOCK);
  lm_off_t s, e;
  uint32_t pages = 0;
  int reused = lm_pool_take(bytes, &s, &e);
  if (!reused) {
    pages = lm_pool_grow(bytes, &s, &e);
    if (!pages) {
      errno = ENOMEM;
      return NULL;
    }
    lm_pool.pages_grown += pages;
  }
  lm_heap_t *h = (lm_heap_t *)(lm_pages_base() + s);
  init_heap(h, 0);
  h->pages_grown = pages;
  h->grow_count = pages ? 1 : 0;
  lm_heap_add_run(h, s + LM_HEAP_SELF, e, reused);
  lm_pool_mark(s, e, heap_id(h));
  return h;
}

lm_heap_t *lm_heap_create(void *buffer, size_t size) {
  lm_pool_start();
  return buffer ? create_in_buffer(buffer, size) : create_from_pages(size);
}

void lm_heap_destroy(lm_heap_t *h) {
  if (!h)
    return;
  if (h == &lm_default_heap || !lm_pool_has_heap(h)) {
    lm_report(LM_REPORT_INVALID_FREE,
              h == &lm_default_heap
                  ? "the default heap cannot be destroyed"
                  : "not a live heap from lm_heap_create (destroyed twice?)",
              h, 0);
    return;
  }
  /* The debug library's quarantine may hold blocks of this heap: free
   * them now, while the heap exists (the release library's does nothing). */
  lm_quarantine_release_heap(h);
  uintptr_t base = heap_base(h);
  lm_off_t self = heap_off(h, h), first = self + LM_HEAP_SELF;
  lm_off_t span = h->first_span;
  int fixed = heap_fixed(h);
  lm_pool_remove_heap(h);
  if (fixed) { /* its one span is the buffer: the caller's again */
    lm_pool_remark(self, span_end(base, first));
    memset(h, 0, LM_HEAP_SELF);
    return;
  }
  /* Read each span's link before the pool writes its run header there. */
  while (span) {
    lm_off_t next = span_next(base, span), end = span_end(base, span);
    lm_pool_give(span == first ? self : span, end);
    span = next;
  }
}

void lm_heap_set_limit(lm_heap_t *h, size_t max_bytes) { h->limit = max_bytes; }
