/* The heap: all the state of one allocator instance in one struct, and the
 * operations on it. The default heap (the one malloc uses) is a
 * zero-initialised static in api.c; the only other globals are the two
 * hook pointers below, NULL unless heaps or arenas are created.
 *
 * Regions of a heap:
 *   - spans: contiguous runs of memory from the page source, linked in
 *     address order (see block.h for the span layout);
 *   - the top block: a free block of the newest span that is in no free
 *     list. Blocks that no free list can serve are carved from its start;
 *     slabs from its end, where they need no gap to be aligned (heap.c:
 *     slab_from_top). When top is the span's last block, memory.grow
 *     extends it; when slabs were cut from its end, the new pages become a
 *     new top and the old one goes to the free lists. Every other free
 *     block is in exactly one free list (bins.h);
 *   - slabs (slab.h): used blocks cut into small objects of one size class;
 *     requests up to LM_SLAB_MAX bytes are served from them.
 *
 * Other heaps (lmalloc_heaps.h) are more structs of the same type, made by
 * heaps.c. What they need from this core costs the default heap nothing
 * until one exists: two hook pointers (below), NULL until heaps.c or
 * arena.c installs them, so a program that never creates a heap links
 * none of their code.
 *
 * Invariants (lm_check verifies each one):
 *   I1 the blocks of a span tile it from span_first_block to the marker;
 *   I2 no two free blocks are neighbours (free coalesces at once);
 *   I3 PREV_FREE of every block and marker is set iff its left neighbour is
 *      free; every free block but top has a footer equal to its size;
 *   I4 a free block is in the list of its class iff it is not top;
 *   I5 top, when non-zero, is a free block of the newest span;
 *   I6 fresh: every byte in [fresh, fresh_end) is zero (memory that came
 *      from memory.grow and was never handed out), so calloc need not clear
 *      it; fresh >= top + 4 when top exists, fresh_end is at most the
 *      newest span's end marker, and a range that is not empty lies in top
 *      (no top, no range).
 */
#ifndef LM_HEAP_H
#define LM_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "bins.h"
#include "block.h"
#include "lmalloc.h"
#include "lmalloc_heaps.h" /* lm_heap_t; included by lmalloc.h too */

/* Small-object classes served by slabs (slab.h): class c holds objects of
 * c * LM_SLAB_STEP bytes, from LM_SLAB_MIN_CLASS (16-byte objects) to
 * LM_SLAB_CLASSES (256-byte objects). The step is the granule: 16, 32,
 * ... 256 when A is 16; 16, 24, 32, ... 256 when A is 8. */
#define LM_SLAB_STEP_LOG2 LM_ALIGN_LOG2
#define LM_SLAB_STEP (1u << LM_SLAB_STEP_LOG2)
#define LM_SLAB_MIN_OBJECT 16u /* the smallest object: malloc(0) to (16) */
#define LM_SLAB_MAX 256u       /* the largest object */
#define LM_SLAB_MIN_CLASS (LM_SLAB_MIN_OBJECT / LM_SLAB_STEP)
#define LM_SLAB_CLASSES (LM_SLAB_MAX / LM_SLAB_STEP)
/* LM_SLABS=0 compiles the core without slabs: every request is a block
 * (malloc never makes a slab, so free never finds one). Like LM_HARDEN=0
 * (block.h) it exists only so bench/ can measure what a part costs and
 * buys, here in bytes, speed and pages (node bench/run.mjs --variants,
 * bench/size.sh); it is not a supported configuration. */
#ifndef LM_SLABS
#define LM_SLABS 1
#endif
_Static_assert(LM_SLAB_STEP % LM_ALIGN == 0, "objects are A-aligned");
_Static_assert(LM_SLAB_MIN_OBJECT % LM_SLAB_STEP == 0 &&
                   LM_SLAB_MAX % LM_SLAB_STEP == 0,
               "the smallest and largest objects are whole classes");

struct lm_heap {
  uintptr_t base;       /* lm_pages_base(): offsets are relative to it */
  lm_off_t top;         /* top block, 0 when there is none */
  lm_off_t fresh;       /* I6 */
  lm_off_t fresh_end;   /* I6 */
  lm_off_t first_span;  /* lowest span, 0 before the first grow */
  lm_off_t last_span;   /* newest span (the highest) */
  lm_off_t lo, hi;      /* every span lies in [lo, hi) */
  uint32_t initialized; /* the start-up region has been claimed */
  uint32_t spans;       /* number of spans */
  size_t heap_bytes;    /* bytes of all spans */
  size_t limit;         /* cap on heap_bytes, 0 = none */
  size_t pages_grown;   /* pages obtained through lm_pages_grow */
  size_t grow_count;    /* successful lm_pages_grow calls */
  uint32_t key;         /* keys slab check words to this heap (slab.h) */
  lm_off_t slabs[LM_SLAB_CLASSES + 1]; /* per class: slabs with room */
  lm_bins_t bins;
  /* A heap made by lm_heap_create has more state right after this struct
   * (lm_heap_ext_t, pool.h); the default heap has none, so it costs not
   * a byte more than before heaps existed. */
};

/* The heap malloc uses. */
extern lm_heap_t lm_default_heap;

/* The allocation core (heap.c). Same contracts as the lm_* functions of
 * lmalloc.h, on heap h. errno is set here. */
void *lm_heap_malloc(lm_heap_t *h, size_t size);
void *lm_heap_calloc(lm_heap_t *h, size_t count, size_t size);
void *lm_heap_realloc(lm_heap_t *h, void *ptr, size_t size);
void *lm_heap_aligned_alloc(lm_heap_t *h, size_t alignment, size_t size);
void lm_heap_free(lm_heap_t *h, void *ptr);
size_t lm_heap_usable_size(lm_heap_t *h, const void *ptr);

/* Hooks for heaps other than the default one. NULL until the first heap
 * or arena is created (pool.c's lm_pool_start installs them), so the
 * default heap alone pays one load and branch where they are consulted,
 * and a program that never creates a heap links none of their code.
 *
 * lm_grow_hook(h, nb) replaces grow: it must add memory to h (from the
 * page pool, pool.h, or the page source) holding a free block of at least
 * nb bytes, either as top or at the head of its free list, and return 1;
 * or return 0 when there is none (the heap is then unchanged).
 *
 * lm_owner_hook(h, p) is asked, before a block is freed, resized or
 * measured, whether payload offset p lies in memory h owns: 1 if so, else
 * 0 (the caller reports the pointer). */
extern int (*lm_grow_hook)(lm_heap_t *h, uint32_t nb);
extern int (*lm_owner_hook)(lm_heap_t *h, lm_off_t p);

/* Texts of the refusals the release library (heap.c) and the debug
 * library (debug.c) both make, written once so that both say the same. */
#define LM_TEXT_MISALIGNED                                                     \
  "pointer is not " LM_ALIGN_TEXT "-byte aligned, so lmalloc never returned it"
/* Once other heaps or arenas exist, a pointer outside this heap may be
 * theirs. */
static inline const char *lm_text_outside_heap(void) {
  return lm_owner_hook ? "pointer is outside the heap (another heap's or an "
                         "arena's, or lmalloc never returned it)"
                       : "pointer is outside the heap";
}
/* A freed block given back again (`freeing`: free, realloc) is a double
 * free; used (usable_size, resize), a use after free. Both are of kind
 * LM_REPORT_DOUBLE_FREE (lmalloc.h). */
static inline const char *lm_text_freed(int freeing) {
  return freeing ? "block is already free (double free)"
                 : "block was freed already (use after free)";
}

/* Building blocks for the grow hook (heap.c). */

/* Takes the start-up region (lm_pages_initial) and sets base and key: what
 * the default heap does on its first grow. */
void lm_heap_claim_initial(lm_heap_t *h);

/* Adds the run [s, e) (A-aligned, no overlap with h's spans) to h: it
 * extends the newest span when it follows it, becomes the newest span
 * (and top) when it lies above every span, and otherwise becomes a span
 * in address order between the others, or extends the span it follows,
 * as one free block at the head of its list. `dirty`: the bytes are not
 * known to be zero (a run given back by another heap), so fresh (I6)
 * covers none of them. Returns 1, or 0 when the run is too small to be
 * a span of its own (nothing changed). O(spans). */
int lm_heap_add_run(lm_heap_t *h, lm_off_t s, lm_off_t e, int dirty);

/* Size of h's top block when it is the newest span's last block, so that
 * growing that span extends it; 0 otherwise. */
uint32_t lm_heap_top_size(const lm_heap_t *h);

/* Resizes the allocation at ptr to `size` bytes in place: 1 on success
 * (a slab object fits when size <= its object size; a block shrinks, or
 * grows into a free right neighbour or top), 0 when it would have to move
 * (nothing changed; errno untouched). A bad pointer is reported and gives
 * 0. O(1), plus memory.grow. */
int lm_heap_resize(lm_heap_t *h, void *ptr, size_t size);

/* Block-level operations for slab.c (heap.c). */

/* A used block of exactly nb bytes (a multiple of A) whose payload is
 * aligned to `align` (a power of two above A); 0 when memory cannot
 * grow. O(1). */
lm_off_t lm_block_alloc_aligned(lm_heap_t *h, uint32_t align, uint32_t nb);

/* Frees used block b: it merges with its free neighbours. O(1). */
void lm_block_release(lm_heap_t *h, lm_off_t b);

/* Gives every block of heap h in the debug library's quarantine back to
 * h, checking each as it leaves (a block written after its free is
 * reported, and traps under the default handler); the other heaps' stay.
 * lm_heap_destroy calls it first. Nothing in the release library. */
void lm_quarantine_release_heap(lm_heap_t *h);

/* The usable bytes of the live block or slab object of heap h that
 * starts at ptr, or 0 when none does. Reports nothing: the debug library
 * asks it before trusting a debug header found before a pointer. O(1). */
size_t lm_block_live_size(lm_heap_t *h, const void *ptr);

/* Introspection (walk.c, check.c). */

/* One step of the heap walk: a block, or the end marker of a span. */
typedef struct lm_step {
  lm_off_t block;      /* offset of the block (or of the marker) */
  uint32_t hdr;        /* its header word */
  lm_off_t span;       /* its span's start */
  lm_off_t span_end;   /* its span's end */
  unsigned span_index; /* 0-based, in address order */
  int marker;          /* 1 for the span's end marker */
} lm_step_t;

/* Called once per step; non-zero stops the walk. */
typedef int (*lm_step_fn)(lm_heap_t *h, const lm_step_t *step, void *ctx);

/* The one heap walker: visits every block and end marker of every span
 * in address order. It reads only addresses inside the heap's spans and
 * checks as it goes that spans chain upwards and block sizes tile each
 * span (I1); a break is reported as LM_REPORT_CORRUPT (unless `quiet`)
 * and ends that span. Returns the number of such faults. O(blocks). */
size_t lm_heap_walk_steps(lm_heap_t *h, lm_step_fn fn, void *ctx, int quiet);

size_t lm_heap_walk(lm_heap_t *h, lm_visitor_t visitor, void *ctx);
/* lm_heap_walk without reporting the faults it meets: for a second walk
 * after the checker has reported them (the debug library's lm_check). */
size_t lm_heap_walk_quiet(lm_heap_t *h, lm_visitor_t visitor, void *ctx);
int lm_heap_stats(lm_heap_t *h, lm_stats_t *stats);
size_t lm_heap_check(lm_heap_t *h);

/* Reports (report.c). Returns non-zero when the handler chose to continue;
 * otherwise the default action has already trapped (or, for
 * LM_REPORT_CORRUPT, returns 0 and the caller goes on counting). */
int lm_report(lm_report_kind_t kind, const char *message, const void *address,
              size_t size);

/* The base of heap h's offsets. A build whose page source always has
 * base 0 (wasm linear memory) defines LM_PAGES_BASE_ZERO (CMake sets it
 * together with the page source), so that the compiler drops the base
 * from every address instead of loading and adding it. */
static inline uintptr_t heap_base(const lm_heap_t *h) {
#ifdef LM_PAGES_BASE_ZERO
  (void)h;
  return 0;
#else
  return h->base;
#endif
}

static inline lm_off_t heap_off(const lm_heap_t *h, const void *p) {
  return (lm_off_t)((uintptr_t)p - heap_base(h));
}
static inline void *heap_ptr(const lm_heap_t *h, lm_off_t off) {
  return (void *)(heap_base(h) + off);
}

/* Whether ptr cannot be anything lmalloc returned from heap h:
 * misaligned, or outside the heap. Always inlined: left to -Oz, it became
 * a call that made the size module 7 B larger. */
static inline __attribute__((always_inline)) int
lm_off_heap(const lm_heap_t *h, const void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  return (p & (LM_ALIGN - 1)) || p <= heap_base(h) + h->lo + LM_SPAN_HEADER ||
         p >= heap_base(h) + h->hi;
}

#endif /* LM_HEAP_H */
