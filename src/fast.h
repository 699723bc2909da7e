/* The fast paths of malloc and free, inlined into the standard names.
 *
 * Most allocations in real programs are slab objects (slab.h), and their
 * malloc and free are a few loads and stores. In wasm every function call
 * costs more than that: V8 (node 20) does not inline one wasm function into
 * another, so each call builds a frame and checks the stack. With malloc a
 * wrapper around lm_heap_malloc, a program paid two calls per allocation;
 * with the slab path inlined into malloc itself it pays one, and only the
 * other requests (blocks, a class without a slab with room, bad pointers)
 * go on to lm_heap_malloc and lm_heap_free, which handle every case and
 * repeat the slab test cheaply (bench/README.md, "One call, not two").
 * Both paths handle a slab object with the same inline functions of
 * slab.h, refusals of a double free in a slab included.
 *
 * Used by src/stdlib.c only. Compiled out (a plain call) where it is not
 * wanted:
 *   - builds for size (-Os, -Oz): a second copy of the path costs bytes;
 *   - the debug library (LM_DEBUG, CMakeLists.txt): its standard
 *     names must reach the checking layer of debug.c, never the core
 *     (debug.c refuses to compile without LM_DEBUG);
 *   - builds without slabs (LM_SLABS 0).
 */
#ifndef LM_FAST_H
#define LM_FAST_H

#include "heap.h"
#include "slab.h"

#if LM_SLABS && !defined(__OPTIMIZE_SIZE__) && !defined(LM_DEBUG)
#define LM_FAST_PATHS 1
#else
#define LM_FAST_PATHS 0
#endif

/* malloc on heap h: an object from the first slab of its class with room,
 * else lm_heap_malloc. */
static inline __attribute__((always_inline)) void *lm_fast_malloc(lm_heap_t *h,
                                                                  size_t size) {
#if LM_FAST_PATHS
  if (size <= LM_SLAB_MAX) {
    uint32_t c = slab_class(size);
    lm_off_t s = h->slabs[c];
    if (s)
      return heap_ptr(h, slab_take(h, s, c));
  }
#endif
  return lm_heap_malloc(h, size);
}

/* free on heap h: a slab object of h goes back to its slab (slab_put
 * refuses a double free there), anything else to lm_heap_free. */
static inline __attribute__((always_inline)) void lm_fast_free(lm_heap_t *h,
                                                               void *ptr) {
#if LM_FAST_PATHS
  if (!lm_off_heap(h, ptr)) {
    lm_off_t p = heap_off(h, ptr), s = slab_of(h, p);
    if (s) {
      slab_put(h, s, p);
      return;
    }
  }
#endif
  lm_heap_free(h, ptr);
}

#endif /* LM_FAST_H */
