/* The allocation core: malloc, free, calloc, realloc and aligned allocation
 * over one heap (heap.h), with boundary-tag coalescing (block.h) and the
 * segregated free lists (bins.h). Memory comes only from the page source
 * (pages.h).
 *
 * Policy, in order, for a block of nb bytes:
 *   1. the free lists: the first block of the smallest non-empty class
 *      that is sure to fit (for sizes >= 1024 the first block of the
 *      request's own class is tried too, since it may fit);
 *   2. the top block, carved from its start;
 *   3. memory.grow, extending the newest span when the new pages follow
 *      it, otherwise starting a new span.
 * An aligned block (a slab, aligned_alloc) first looks at a few free
 * blocks for one its aligned payload fits in (the place a slab left, a
 * hole between blocks), before it cuts nb + align bytes by this policy.
 * A slab that must come from top is cut from top's end instead, unless
 * top's start is aligned already: blocks and slabs then meet in the
 * middle of top, and no slab leaves an alignment gap before it
 * (slab_from_top).
 * Every step is O(1): no list is walked beyond a fixed number of probes.
 *
 * Heaps other than the default one (heaps.c) run this same code; where
 * they differ (where pages come from, which pointers are theirs) it asks
 * the two hooks of heap.h, which stay NULL until such a heap exists.
 */
#include <errno.h>
#include <string.h>

#include "heap.h"
#include "pages.h"
#include "slab.h"

/* Free blocks lm_block_alloc_aligned looks at before it cuts a new one. */
#define ALIGNED_PROBES 8

/* Slabs are cut from top's end (slab_from_top) while top holds at most
 * this many bytes; from a bigger top, by the general policy (its start,
 * after an alignment gap). A slab at the end of a big top would strand it
 * below the slab when a larger block makes memory grow, and a gap of at
 * most a slab is small beside such a top. 128 KiB keeps every trace's
 * pages as with no limit (bench/README), which 32 KiB does not (jq: 363
 * pages against 361). */
#define TOP_END_LIMIT (128u * 1024)

/* The hooks of heap.h: installed by pool.c when the first heap or arena
 * other than the default heap is created. */
int (*lm_grow_hook)(lm_heap_t *h, uint32_t nb);
int (*lm_owner_hook)(lm_heap_t *h, lm_off_t p);

/* The highest offset a span may end at (A-aligned, below 2^32). */
#define LM_OFF_LIMIT 0xFFFFFFF0u

/* Helpers the default heap's paths use once, that code for other heaps
 * (lm_heap_add_run, lm_heap_resize) uses as well: forced inline, so that
 * second use does not turn them into calls on the default heap's paths
 * (bench/size.sh measures those). take_listed is forced inline into its
 * callers, the free-list searches, on purpose: each keeps the
 * straight-line code it had before the helper existed (take_any_fit's
 * copy is on the way to ENOMEM only). */
#define INLINE_ONCE static inline __attribute__((always_inline))
/* A function on the hot path of malloc or free for blocks: inlined where
 * it is called when built for speed (in wasm each call costs a frame and a
 * stack check: src/fast.h; bench/README.md, "One call, not two"), an
 * ordinary function when built for size, and in the standalone module for
 * JavaScript (LM_NO_HOT_INLINE, wasm/CMakeLists.txt), where a call from
 * JavaScript costs far more than the calls this saves, and the 6-7 KB it
 * adds would be downloaded. */
#if defined(__OPTIMIZE_SIZE__) || defined(LM_NO_HOT_INLINE)
#define LM_HOT_INLINE 0
#define HOT static
#else
#define LM_HOT_INLINE 1
#define HOT static inline __attribute__((always_inline))
#endif

/* ---------------------------------------------------------------------
 * Spans and growth
 * ------------------------------------------------------------------- */

static inline lm_off_t newest_marker(const lm_heap_t *h) {
  return span_marker(span_end(heap_base(h), h->last_span));
}

/* The size of free block b (in a free list, not top), after checking that
 * its header says free, fits the heap, and agrees with its masked footer:
 * a header rewritten by an overflow is reported here, before the block is
 * unlinked, merged or handed out (bins.h: lm_corrupt stops the program). */
static uint32_t free_size(const lm_heap_t *h, lm_off_t b) {
  uintptr_t base = heap_base(h);
  uint32_t hdr = hdr_get(base, b);
  uint32_t size = hdr_size(hdr);
  if (LM_HARDEN &&
      ((hdr & (LM_FREE | LM_SLAB)) != LM_FREE || size < LM_MIN_BLOCK ||
       size > h->hi - LM_HEADER_SIZE - b || footer_get(base, h->key, b, size) != size))
    lm_corrupt("a free block's header or footer was overwritten", base + b);
  return size;
}

/* Takes free block b of `size` bytes out of its free list. Its masked
 * links must name blocks of this heap (or none) before bins.h's safe
 * unlink reads through them: a forged link is reported, not followed. */
HOT void unlink_block(lm_heap_t *h, lm_off_t b, uint32_t size) {
  uintptr_t base = heap_base(h);
  lm_off_t links[2] = {link_next(base, h->key, b), link_prev(base, h->key, b)};
  for (int i = 0; LM_HARDEN && i < 2; i++)
    if (links[i] && (links[i] < h->lo || links[i] > h->hi - LM_MIN_BLOCK ||
                     (links[i] & (LM_ALIGN - 1)) != LM_ALIGN - LM_HEADER_SIZE))
      lm_corrupt("free-list links of a free block were overwritten", base + b);
  bin_remove(&h->bins, base, h->key, b, size);
}

/* The free block that ends just before b (whose header has PREV_FREE):
 * top, which keeps no footer, or else the block its masked footer names,
 * checked like free_size. */
static lm_off_t free_before(const lm_heap_t *h, lm_off_t b) {
  if (h->top && h->top + block_size(heap_base(h), h->top) == b)
    return h->top; /* a slab cut from top's end is being freed */
  uint32_t size = prev_footer(heap_base(h), h->key, b);
  if (LM_HARDEN && (size > b - h->lo || free_size(h, b - size) != size))
    lm_corrupt("the footer before a block was overwritten", heap_base(h) + b);
  return b - size;
}

/* Puts the current top block into the free lists (its span is no longer
 * the newest, so it stops being top). */
static void retire_top(lm_heap_t *h) {
  lm_off_t t = h->top;
  if (!t)
    return;
  uint32_t size = block_size(heap_base(h), t);
  footer_set(heap_base(h), h->key, t, size);
  bin_insert(&h->bins, heap_base(h), h->key, t, size);
  h->top = 0;
}

/* Makes [s, e) a new span whose single block becomes top. */
static void add_span(lm_heap_t *h, lm_off_t s, lm_off_t e) {
  uintptr_t base = heap_base(h);
  word_set(base, s, 0);
  word_set(base, s + 4, e);
  word_set(base, s + 8, 0);
  if (h->last_span)
    word_set(base, h->last_span, s);
  else
    h->first_span = h->lo = s;
  retire_top(h);
  h->last_span = s;
  h->hi = e;
  h->spans++;
  h->heap_bytes += e - s;

  lm_off_t t = span_first_block(s);
  hdr_set(base, t, (e - s - LM_SPAN_OVERHEAD) | LM_FREE);
  hdr_set(base, span_marker(e), LM_PREV_FREE);
  h->top = t;
  h->fresh = block_payload(t);
  h->fresh_end = span_marker(e);
}

/* Appends `bytes` of new memory that directly follow the newest span.
 * When top is the span's last block, it grows by them. Otherwise (slabs
 * were cut from top's end, or there is no top) top goes to the free lists
 * and the new memory becomes top, together with the span's last block
 * when that is free (the tail a slab left, slab_from_top). */
INLINE_ONCE void extend_span(lm_heap_t *h, uint32_t bytes) {
  uintptr_t base = heap_base(h);
  lm_off_t e = span_end(base, h->last_span);
  lm_off_t e2 = e + bytes, m = span_marker(e);
  word_set(base, h->last_span + 4, e2);
  if (h->top && h->top + block_size(base, h->top) == m) {
    hdr_set(base, h->top, (block_size(base, h->top) + bytes) | LM_FREE);
    word_set(base, m, 0); /* the old marker is top's now: I6 */
    /* The new bytes are zero; they extend I6's range only when it reached
     * the old end (slabs freed into top's end leave bytes that are not). */
    if (h->fresh_end == m)
      h->fresh_end = span_marker(e2);
  } else {
    retire_top(h);
    lm_off_t t = m;
    uint32_t size = bytes;
    if (hdr_prev_free(hdr_get(base, m))) {
      t = free_before(h, m);
      unlink_block(h, t, m - t);
      size += m - t;
      /* Its bytes (a slab's tail, slabs given back) are top's now:
       * cleared, so that I6 holds from its payload. */
      memset((void *)(base + block_payload(t)), 0, m - t);
    }
    hdr_set(base, t, size | LM_FREE);
    h->top = t;
    h->fresh = block_payload(t);
    h->fresh_end = span_marker(e2);
  }
  hdr_set(base, span_marker(e2), LM_PREV_FREE);
  h->hi = e2;
  h->heap_bytes += bytes;
}

/* Makes the run [s, e), which lies below the newest span, part of the
 * heap as one free block in its list: it extends the span it directly
 * follows, merging with that span's last block when it is free, or else
 * becomes a span of its own, linked in address order. Top is untouched:
 * the newest span stays the newest. */
static int insert_span(lm_heap_t *h, lm_off_t s, lm_off_t e) {
  uintptr_t base = heap_base(h);
  lm_off_t prev = 0, next = h->first_span;
  while (next && next < s) {
    prev = next;
    next = span_next(base, next);
  }
  lm_off_t b;
  uint32_t size;
  if (prev && span_end(base, prev) == s) {
    /* prev's end marker becomes the header of the new free block. */
    b = span_marker(s);
    size = e - s;
    if (hdr_prev_free(hdr_get(base, b))) {
      lm_off_t pb = free_before(h, b);
      uint32_t prev_size = b - pb;
      b = pb;
      unlink_block(h, b, prev_size);
      size += prev_size;
    }
    word_set(base, prev + 4, e);
  } else {
    if (e - s < LM_MIN_SPAN)
      return 0;
    word_set(base, s, next);
    word_set(base, s + 4, e);
    word_set(base, s + 8, 0);
    if (prev)
      word_set(base, prev, s);
    else
      h->first_span = h->lo = s;
    h->spans++;
    b = span_first_block(s);
    size = e - s - LM_SPAN_OVERHEAD;
  }
  hdr_set(base, b, size | LM_FREE); /* its left neighbour is in use (I2) */
  footer_set(base, h->key, b, size);
  bin_insert(&h->bins, base, h->key, b, size);
  hdr_set(base, span_marker(e), LM_PREV_FREE);
  h->heap_bytes += e - s;
  return 1;
}

int lm_heap_add_run(lm_heap_t *h, lm_off_t s, lm_off_t e, int dirty) {
  if (h->last_span && s == span_end(heap_base(h), h->last_span)) {
    extend_span(h, e - s);
  } else if (!h->last_span || s > h->last_span) {
    if (e - s < LM_MIN_SPAN)
      return 0;
    add_span(h, s, e);
  } else {
    return insert_span(h, s, e); /* fresh (I6) is about the newest span */
  }
  /* I6's range stops where the run starts: none of its bytes is known to
   * be zero. (Only fresh_end moves: calloc reads it after malloc, so a
   * run taken during a calloc is cleared.) */
  if (dirty && h->fresh_end > s)
    h->fresh_end = s;
  return 1;
}

/* Claims the memory the program owns at start-up but nobody uses. */
INLINE_ONCE void claim_initial(lm_heap_t *h) {
  lm_off_t s, e;
  h->initialized = 1;
  h->base = lm_pages_base();  /* kept even when LM_PAGES_BASE_ZERO */
  /* Any value works for correctness; one that differs between heaps makes
   * a pointer freed into the wrong heap fail slab_of, and one nobody can
   * predict (the platform's random bits) keeps an overflow from forging
   * masked links and footers (block.h). */
  h->key = ((uint32_t)(uintptr_t)h * 0x9E3779B1u ^ 0x6C6D616Cu) ^
           lm_pages_entropy();
  lm_pages_initial(&s, &e);
  s = (s + LM_ALIGN - 1) & LM_SIZE_MASK;
  e &= LM_SIZE_MASK;
  if (e > s && e - s >= LM_MIN_SPAN)
    add_span(h, s, e);
}

void lm_heap_claim_initial(lm_heap_t *h) { claim_initial(h); }

static inline uint32_t top_size(const lm_heap_t *h) {
  return h->top ? block_size(heap_base(h), h->top) : 0;
}

/* Top's size when it is the newest span's last block, which growing that
 * span extends; 0 otherwise. */
static uint32_t growable_top(const lm_heap_t *h) {
  uint32_t size = top_size(h);
  return size && h->top + size == newest_marker(h) ? size : 0;
}

uint32_t lm_heap_top_size(const lm_heap_t *h) { return growable_top(h); }

/* Grows the heap until top holds at least nb bytes. Returns 0 when memory
 * cannot grow (memory.grow failed or the limit was reached); the heap is
 * then unchanged. Once other heaps exist, the grow hook does it instead,
 * and may add a free block elsewhere than top (see lm_grow_hook). */
static int grow(lm_heap_t *h, uint32_t nb) {
  if (lm_grow_hook)
    return lm_grow_hook(h, nb);
  if (!h->initialized)
    claim_initial(h);
  /* First ask for what is missing, expecting the pages to follow the
   * newest span. If other code grew memory in between, they start a new
   * span; a second request then asks for a whole new span's worth. */
  for (int attempt = 0;; attempt++) {
    if (top_size(h) >= nb)
      return 1;
    if (attempt == 2)
      return 0;
    /* 32-bit arithmetic is enough: nb <= LM_MAX_REQUEST + 64, so need
     * and the page count (at most 2^16) cannot wrap. */
    uint32_t need = attempt == 0 && h->last_span ? nb - growable_top(h)
                                                 : nb + LM_SPAN_OVERHEAD;
    uint32_t pages = ((need - 1) >> LM_PAGE_SIZE_LOG2) + 1;
    /* At most 2^16 pages, whose bytes (2^32) wrap to 0: but all of memory
     * can never be had (it already holds some), so every page source
     * refuses them and returns 0 below. */
    uint32_t bytes = pages << LM_PAGE_SIZE_LOG2;
    if (h->limit && (uint64_t)h->heap_bytes + bytes > h->limit)
      return 0;
    lm_off_t start = lm_pages_grow(pages);
    if (!start)
      return 0;
    h->pages_grown += pages;
    h->grow_count++;
    /* Offsets are 32-bit: a span that would reach 4 GiB stops 16 bytes
     * short of it (LM_OFF_LIMIT). */
    if (bytes > LM_OFF_LIMIT - start)
      bytes = LM_OFF_LIMIT - start;
    if (h->last_span && start == span_end(heap_base(h), h->last_span))
      extend_span(h, bytes);
    else if (bytes >= LM_MIN_SPAN)
      add_span(h, start, start + bytes);
  }
}

/* ---------------------------------------------------------------------
 * Taking and giving back blocks
 * ------------------------------------------------------------------- */

/* Block b of `size` bytes was free and is now in use with `nb` of them;
 * a remainder big enough to be a block goes back to the free lists. The
 * left neighbour of a free block is in use (I2), so b's header has no
 * PREV_FREE. */
static void use_block(lm_heap_t *h, lm_off_t b, uint32_t size, uint32_t nb) {
  uintptr_t base = heap_base(h);
  uint32_t rest = size - nb;
  if (rest >= LM_MIN_BLOCK) {
    lm_off_t r = b + nb; /* its right neighbour keeps PREV_FREE */
    hdr_set(base, r, rest | LM_FREE);
    footer_set(base, h->key, r, rest);
    bin_insert(&h->bins, base, h->key, r, rest);
    hdr_set(base, b, nb);
  } else {
    hdr_set(base, b, size);
    hdr_clear_prev_free(base, b + size);
  }
}

/* Takes free block b, found in list c, out of it and puts its first nb
 * bytes in use (the rest back in the lists). Its header and footer are
 * checked first, and its size must belong to list c: a rewritten header
 * is reported, not trusted. */
INLINE_ONCE lm_off_t take_listed(lm_heap_t *h, lm_off_t b, uint32_t c,
                                 uint32_t nb) {
  uint32_t size = free_size(h, b);
  if (LM_HARDEN && bin_class(size) != c)
    lm_corrupt("a free block's size does not match its free list",
               heap_base(h) + b);
  unlink_block(h, b, size);
  use_block(h, b, size, nb);
  return b;
}

/* A free block of at least nb bytes from the free lists, in use, or 0.
 * Inlined into alloc_block's first round (HOT); take_from_bins, below, is
 * the out-of-line copy for the rest. */
HOT lm_off_t bins_take(lm_heap_t *h, uint32_t nb) {
  uintptr_t base = heap_base(h);
  uint32_t c = bin_class(nb);
  lm_off_t b;
  if (nb >= LM_LINEAR_LIMIT) {
    /* Blocks of c itself may be smaller than nb: the first is tried.
     * Trying more finds a fit in about one probe in five on sqlite, and
     * costs pages (bench: one on sqlite under WASI, one on gcc under
     * Emscripten, medians over seven layouts). */
    b = h->bins.head[c];
    if (b && block_size(base, b) >= nb)
      goto found;
    c++;
  }
  c = bin_find(&h->bins, c);
  if (c == LM_CLASSES)
    return 0;
  b = h->bins.head[c];
found:
  return take_listed(h, b, c, nb);
}

/* Carves nb bytes from the start of top (which holds at least nb). Top's
 * PREV_FREE is kept: it is 0 for a real top, but realloc also carves from
 * a used block it has just merged with top. */
static lm_off_t take_from_top(lm_heap_t *h, uint32_t nb) {
  uintptr_t base = heap_base(h);
  lm_off_t t = h->top;
  uint32_t hdr = hdr_get(base, t);
  uint32_t size = hdr_size(hdr);
  uint32_t prev_flag = hdr & LM_PREV_FREE;
  lm_off_t end;
  if (size - nb >= LM_MIN_BLOCK) {
    lm_off_t rest = t + nb; /* the marker after it keeps PREV_FREE */
    hdr_set(base, rest, (size - nb) | LM_FREE);
    hdr_set(base, t, nb | prev_flag);
    h->top = rest;
    end = rest;
  } else {
    hdr_set(base, t, size | prev_flag);
    hdr_clear_prev_free(base, t + size); /* the marker, or a slab */
    h->top = 0;
    end = t + size;
  }
  if (h->fresh < end + LM_HEADER_SIZE)
    h->fresh = end + LM_HEADER_SIZE; /* I6: the new header is not zero */
  return t;
}

/* bins_take out of line: alloc_block_slow's loop would otherwise be
 * compiled with a copy of it, and so would the aligned path. */
__attribute__((noinline)) static lm_off_t take_from_bins(lm_heap_t *h,
                                                       uint32_t nb) {
  return bins_take(h, nb);
}

/* The last resort before a request fails: any block of nb's own class
 * that fits. take_from_bins tries only the first, since above
 * LM_LINEAR_LIMIT a class holds sizes on both sides of nb; when memory
 * cannot grow, the others are looked at too rather than fail while a free
 * block fits. O(blocks in that class), on the way to ENOMEM only. */
__attribute__((noinline, cold)) static lm_off_t
take_any_fit(lm_heap_t *h, uint32_t nb) {
  if (nb < LM_LINEAR_LIMIT)
    return 0; /* exact classes: take_from_bins missed nothing */
  uintptr_t base = heap_base(h);
  uint32_t c = bin_class(nb);
  /* At most as many steps as blocks fit in the heap: a corrupt list
   * cannot make it loop. */
  size_t steps = h->heap_bytes / LM_MIN_BLOCK;
  for (lm_off_t b = h->bins.head[c]; b && steps; steps--) {
    if (block_size(base, b) >= nb)
      return take_listed(h, b, c, nb);
    b = link_next(base, h->key, b);
  }
  return 0;
}

/* A block of nb bytes, in use, or 0 when memory cannot grow and no free
 * block fits (take_any_fit). Growing makes top big enough, except that
 * the grow hook may add the memory as a free block instead: hence the
 * second look at the free lists. */
__attribute__((noinline)) static lm_off_t alloc_block_slow(lm_heap_t *h,
                                                         uint32_t nb) {
  for (;;) {
    lm_off_t b = take_from_bins(h, nb);
    if (b)
      return b;
    if (top_size(h) >= nb)
      return take_from_top(h, nb);
    if (!grow(h, nb))
      return take_any_fit(h, nb);
  }
}

/* alloc_block_slow's first round, inlined into malloc when built for
 * speed: a free block that fits, else top when it is big enough; growing
 * memory is the slow part. Otherwise (!LM_HOT_INLINE) the loop alone,
 * so that the round is not compiled twice. */
HOT lm_off_t alloc_block(lm_heap_t *h, uint32_t nb) {
#if LM_HOT_INLINE
  lm_off_t b = bins_take(h, nb);
  if (b)
    return b;
  if (top_size(h) >= nb)
    return take_from_top(h, nb);
#endif
  return alloc_block_slow(h, nb);
}

/* Frees block b (in use, valid): coalesces with free neighbours, then the
 * result becomes top or goes to its free list. */
HOT void release_block(lm_heap_t *h, lm_off_t b) {
  uintptr_t base = heap_base(h);
  uint32_t hdr = hdr_get(base, b);
  uint32_t size = hdr_size(hdr);
  lm_off_t next = b + size;
  uint32_t next_hdr = hdr_get(base, next);
  /* Both neighbours' headers and footers are checked before anything is
   * written, so a broken one is reported with the heap still as it was
   * (their list links are checked when unlinked, bins.h). */
  lm_off_t pb = hdr_prev_free(hdr) ? free_before(h, b) : b;
  uint32_t next_size = hdr_is_free(next_hdr) && next != h->top
                           ? free_size(h, next) : hdr_size(next_hdr);

  if (pb != b) {
    uint32_t prev_size = b - pb;
    hdr_set(base, b, LM_DEAD);
    b = pb;
    if (pb != h->top) /* top is in no list: b (a slab) joins it below */
      unlink_block(h, b, prev_size);
    size += prev_size;
  }
  if (hdr_is_free(next_hdr)) {
    hdr_set(base, next, LM_DEAD);
    size += next_size;
    if (next == h->top) {
      hdr_set(base, b, size | LM_FREE);
      h->top = b;
      return;
    }
    unlink_block(h, next, next_size);
  }
  hdr_set(base, b, size | LM_FREE);
  if (b == h->top) {
    hdr_mark_prev_free(base, b + size);
    return;
  }
  if (!h->top && b + size == newest_marker(h)) {
    h->top = b; /* the newest span's last block: it is top now (I5) */
    hdr_mark_prev_free(base, b + size);
    /* I6: a slab cut from top's end lies above fresh (and fresh_end). */
    if (h->fresh < block_payload(b))
      h->fresh = block_payload(b);
    return;
  }
  footer_set(base, h->key, b, size);
  hdr_mark_prev_free(base, b + size);
  bin_insert(&h->bins, base, h->key, b, size);
}

void lm_block_release(lm_heap_t *h, lm_off_t b) { release_block(h, b); }

/* Gives back the tail of in-use block b (of `size` bytes) beyond nb
 * bytes, when it is big enough to be a block. */
static void trim(lm_heap_t *h, lm_off_t b, uint32_t size, uint32_t nb) {
  uintptr_t base = heap_base(h);
  if (size - nb < LM_MIN_BLOCK)
    return;
  hdr_set(base, b, nb | (hdr_get(base, b) & LM_PREV_FREE));
  hdr_set(base, b + nb, size - nb); /* in use for a moment, left in use */
  lm_block_release(h, b + nb);
}

/* payload_of's refusal, reported: one short cold call, so that choosing
 * the text costs the paths that inline payload_of nothing. */
__attribute__((noinline, cold)) static lm_off_t
not_heap_pointer(const void *ptr) {
  lm_report(LM_REPORT_INVALID_FREE,
            (uintptr_t)ptr & (LM_ALIGN - 1) ? LM_TEXT_MISALIGNED
                                            : lm_text_outside_heap(),
            ptr, 0);
  return 0;
}

/* The payload offset of a pointer passed to free/realloc/usable_size, or
 * 0 after reporting it when it is off the heap (lm_off_heap, heap.h). O(1). */
static lm_off_t payload_of(lm_heap_t *h, const void *ptr) {
  if (lm_off_heap(h, ptr))
    return not_heap_pointer(ptr);
  return heap_off(h, ptr);
}

/* Why no live block starts at payload offset p (find_block). */
enum {
  BLOCK_FREE = 1, /* a free block starts there: freed already */
  INSIDE_FREE,    /* p lies inside top: in free memory */
  NO_BLOCK,       /* no header a used block of this heap can have */
  BAD_SEAL,       /* a used header, but its seal does not match */
};

/* The block whose payload is at offset p (not a slab object), or 0 with
 * the reason in *why: already free, a header no block can have
 * (interior pointer, overwritten header), a used header without its seal
 * (the same, when the bytes before p happen to look like a header; or an
 * overflow that reached the seal), or, with check_owner, a block of
 * another heap or an arena's bytes. *size_out is the size its header says.
 * Reports nothing. O(1). */
static inline lm_off_t find_block(lm_heap_t *h, lm_off_t p, int check_owner,
                                  int *why, uint32_t *size_out) {
  lm_off_t b = block_from_payload(p);
  uint32_t hdr = hdr_get(heap_base(h), b);
  uint32_t size = hdr_size(hdr);
  *size_out = size;
  int fits = size >= LM_MIN_BLOCK && size <= h->hi - LM_HEADER_SIZE - b;
  if (hdr_is_free(hdr) &&
      (hdr == LM_DEAD || b == h->top ||
       (fits && footer_get(heap_base(h), h->key, b, size) == size))) {
    *why = BLOCK_FREE;
    return 0;
  }
  /* Top is free, so no block in use lies inside it or runs into it: a
   * pointer inside was freed already (its block, or its slab, merged into
   * top) and its header is stale or program data, or it was never handed
   * out. */
  if (h->top && b + size > h->top) {
    lm_off_t top_end = h->top + block_size(heap_base(h), h->top);
    if (b > h->top && b < top_end) {
      *why = INSIDE_FREE;
      return 0;
    }
    if (b < h->top) {
      *why = NO_BLOCK;
      return 0;
    }
  }
  /* Another heap's block (or an arena's bytes) can look like one of ours:
   * once other heaps exist, the owner hook says whose memory it is. (A
   * slab object of another heap gets here too: its check word is keyed to
   * its own heap, so slab_of did not take it.) */
  if (hdr_is_free(hdr) || !fits || (hdr & LM_SLAB) ||
      (check_owner && lm_owner_hook && !lm_owner_hook(h, p))) {
    *why = NO_BLOCK;
    return 0;
  }
  /* A used header, but is it a block's? Only then its seal is there. */
  if (!seal_ok(heap_base(h), h->key, b, size)) {
    *why = BAD_SEAL;
    return 0;
  }
  return b;
}

/* find_block's refusal, reported: one short call where a pointer is
 * refused, worded for a call that frees the block or one that only uses
 * it (lm_text_freed); only a freed block's report gives its size. */
__attribute__((noinline, cold)) static void
refused(lm_heap_t *h, lm_off_t p, int why, uint32_t size, int freeing) {
  const char *what;
  lm_report_kind_t kind = LM_REPORT_INVALID_FREE;
  switch (why) {
  case BLOCK_FREE:
    kind = LM_REPORT_DOUBLE_FREE;
    what = lm_text_freed(freeing);
    break;
  case INSIDE_FREE:
    kind = LM_REPORT_DOUBLE_FREE;
    what = "pointer lies inside free memory: its block was freed "
           "already, or it was never handed out";
    break;
  case BAD_SEAL:
    what = "the block's seal (its last 4 bytes) does not match: no block "
           "starts at this pointer (interior pointer), or a write ran past "
           "the block's end";
    break;
  default:
    what = "no block starts at this pointer (interior pointer, or its "
           "header was overwritten)";
  }
  lm_report(kind, what, heap_ptr(h, p), why == BLOCK_FREE ? size : 0);
}

/* find_block, reporting a refusal (as refused() words it for a call that
 * frees the block, or for one that only uses it). */
HOT lm_off_t block_at(lm_heap_t *h, lm_off_t p, int check_owner,
                      int freeing) {
  int why = 0;
  uint32_t size;
  lm_off_t b = find_block(h, p, check_owner, &why, &size);
  if (!b)
    refused(h, p, why, size, freeing);
  return b;
}

size_t lm_block_live_size(lm_heap_t *h, const void *ptr) {
  if (lm_off_heap(h, ptr))
    return 0;
  lm_off_t p = heap_off(h, ptr), s = slab_of(h, p);
  if (s)
    return slab_live(h, s, p) ? word_get(heap_base(h), s + SLAB_SIZE) : 0;
  int why = 0;
  uint32_t size;
  lm_off_t b = find_block(h, p, 1, &why, &size);
  return b ? block_usable(size) : 0;
}

/* ---------------------------------------------------------------------
 * The malloc family
 * ------------------------------------------------------------------- */

/* NULL with errno = ENOMEM: one call where a request fails. */
__attribute__((noinline, cold)) static void *no_memory(void) {
  errno = ENOMEM;
  return NULL;
}

/* Block b goes to the program: sealed (block.h), its payload returned.
 * Every path that hands out a block, or changes the size of one the
 * program holds, ends here or in reseal. */
static inline void reseal(lm_heap_t *h, lm_off_t b) {
  seal_set(heap_base(h), h->key, b, block_size(heap_base(h), b));
}
static inline void *handed_out(lm_heap_t *h, lm_off_t b) {
  reseal(h, b);
  return heap_ptr(h, block_payload(b));
}

void *lm_heap_malloc(lm_heap_t *h, size_t size) {
  if (LM_SLABS && size <= LM_SLAB_MAX) {
    uint32_t c = slab_class(size);
    lm_off_t s = h->slabs[c];
    if (s || (s = lm_slab_new(h, c)))
      return heap_ptr(h, slab_take(h, s, c));
    /* No slab could be had: a small block may still fit. */
  } else if (size > LM_MAX_REQUEST) {
    return no_memory();
  }
  lm_off_t b = alloc_block(h, block_size_for(size));
  if (!b)
    return no_memory();
  return handed_out(h, b);
}

/* lm_heap_free of the block at payload offset p once other heaps exist,
 * one of which may own it. Reached by a tail call, so that lm_heap_free's
 * own code (where block_at is inlined when built for speed: HOT) has no
 * call more than before, and its path without other heaps costs one load
 * and branch. */
__attribute__((noinline)) static void free_owned(lm_heap_t *h, lm_off_t p) {
  lm_off_t b = block_at(h, p, 1, 1);
  if (b)
    lm_block_release(h, b);
}

void lm_heap_free(lm_heap_t *h, void *ptr) {
  if (!ptr)
    return;
  lm_off_t p = payload_of(h, ptr);
  if (!p)
    return;
  lm_off_t s = slab_of(h, p);
  if (s) {
    slab_free(h, s, p);
    return;
  }
  if (lm_owner_hook) { /* a tail call: the path without hooks is as before */
    free_owned(h, p);
    return;
  }
  lm_off_t b = block_at(h, p, 0, 1);
  if (b)
    release_block(h, b);
}

void *lm_heap_calloc(lm_heap_t *h, size_t count, size_t size) {
  if (size && count > LM_MAX_REQUEST / size)
    return no_memory();
  size_t n = count * size;
  /* Bytes in [fresh, fresh_end) are still zero (I6). Only the bytes of
   * the new block matter: fresh is taken before malloc (carving from top
   * moves it past them) and fresh_end after (a slab cut from top, or new
   * memory, moves it first). */
  lm_off_t fresh = h->fresh;
  char *p = lm_heap_malloc(h, n);
  if (!p)
    return NULL;
  lm_off_t off = heap_off(h, p), end = off + (lm_off_t)n, zero = h->fresh_end;
  if (off < fresh)
    memset(p, 0, (end < fresh ? end : fresh) - off);
  if (zero < fresh)
    zero = fresh;
  if (end > zero) {
    lm_off_t from = off > zero ? off : zero;
    memset((char *)p + (from - off), 0, end - from);
  }
  return p;
}

/* resize_block's work: b's new size, its seal not yet moved. */
INLINE_ONCE int resize_in_place(lm_heap_t *h, lm_off_t b, uint32_t bs,
                                uint32_t nb) {
  uintptr_t base = heap_base(h);
  if (nb <= bs) {
    trim(h, b, bs, nb);
    return 1;
  }
  /* Grow into top (growing memory if top, or b, is the newest span's last
   * block), or into a free right neighbour. */
  lm_off_t next = b + bs;
  uint32_t prev_flag = hdr_get(base, b) & LM_PREV_FREE;
  if (next == h->top || (!h->top && next == newest_marker(h))) {
    if (bs + top_size(h) < nb && (!h->top || growable_top(h)))
      grow(h, nb - bs); /* may fail, or start a new span: then top moved */
    if (next == h->top && bs + top_size(h) >= nb) {
      /* b and top form one region; carve b's new size from its start. */
      hdr_set(base, b, (bs + top_size(h)) | prev_flag);
      h->top = b;
      take_from_top(h, nb);
      return 1;
    }
    return 0;
  }
  uint32_t next_hdr = hdr_get(base, next);
  if (hdr_is_free(next_hdr) && bs + hdr_size(next_hdr) >= nb) {
    uint32_t total = bs + free_size(h, next);
    unlink_block(h, next, hdr_size(next_hdr));
    hdr_set(base, next, LM_DEAD);
    hdr_set(base, b, total | prev_flag);
    hdr_clear_prev_free(base, b + total);
    trim(h, b, total, nb);
    return 1;
  }
  return 0;
}

/* realloc of a block (not a slab object) of bs bytes to nb bytes, in
 * place, resealed at its new end; 0 when it cannot be done in place. */
INLINE_ONCE int resize_block(lm_heap_t *h, lm_off_t b, uint32_t bs,
                             uint32_t nb) {
  if (!resize_in_place(h, b, bs, nb))
    return 0;
  reseal(h, b);
  return 1;
}

void *lm_heap_realloc(lm_heap_t *h, void *ptr, size_t size) {
  if (!ptr)
    return lm_heap_malloc(h, size);
  if (size == 0) {
    lm_heap_free(h, ptr);
    return NULL;
  }
  lm_off_t p = payload_of(h, ptr);
  if (!p)
    return NULL;
  lm_off_t s = slab_of(h, p), b = 0;
  uint32_t have, bs = 0; /* usable bytes now; the block's size */
  if (s) {
    if (!slab_live(h, s, p)) {
      lm_slab_refused(h, s, p, 1);
      return NULL;
    }
    have = word_get(heap_base(h), s + SLAB_SIZE);
    if (size <= have)
      return ptr;
  } else {
    b = block_at(h, p, 1, 1);
    if (!b)
      return NULL;
    bs = block_size(heap_base(h), b);
    have = block_usable(bs);
  }
  if (size > LM_MAX_REQUEST)
    return no_memory();
  /* A block stays a block: it shrinks or grows in place when it can. */
  if (b && resize_block(h, b, bs, block_size_for(size)))
    return ptr;
  char *q = lm_heap_malloc(h, size);
  if (!q)
    return NULL;
  memcpy(q, ptr, have);
  if (s)
    lm_slab_put(h, s, p);
  else
    lm_block_release(h, b);
  return q;
}

/* Bytes from block b's payload to the first payload aligned to `align`
 * that leaves either no gap or a gap of at least a minimum block (a free
 * block) before it. The payload is A-aligned, so the gap is at most
 * LM_MIN_BLOCK + align - A bytes. */
static inline uint32_t aligned_lead(const lm_heap_t *h, lm_off_t b,
                                    uint32_t align) {
  uintptr_t payload = (uintptr_t)heap_ptr(h, block_payload(b));
  if (!(payload & (align - 1)))
    return 0;
  return (uint32_t)(((payload + LM_MIN_BLOCK + align - 1) &
                     ~(uintptr_t)(align - 1)) - payload);
}

/* A free block of the free lists that holds an aligned payload of nb bytes
 * with a tail that is empty or a block (the aligned block must come out
 * exactly nb bytes long: a slab must be LM_SLAB_SIZE), taken out of its
 * list and in use with lead + nb bytes (a remainder goes back to the
 * lists), or 0. Looks at the first blocks
 * of the non-empty classes from nb's up to that of `want`, the size that
 * always fits, ALIGNED_PROBES blocks at most: O(1). A block that fits
 * with a small gap (a slab's old place, a hole between blocks) is used
 * before a block of `want` bytes is cut apart. */
static lm_off_t take_aligned_from_bins(lm_heap_t *h, uint32_t align,
                                       uint32_t nb, uint32_t want) {
  uintptr_t base = heap_base(h);
  uint32_t last = bin_class(want), probes = ALIGNED_PROBES;
  for (uint32_t c = bin_find(&h->bins, bin_class(nb)); c <= last;
       c = bin_find(&h->bins, c + 1)) {
    for (lm_off_t b = h->bins.head[c]; b; b = link_next(base, h->key, b)) {
      uint32_t size = block_size(base, b), lead = aligned_lead(h, b, align);
      if (lead + nb == size || lead + nb + LM_MIN_BLOCK <= size)
        return take_listed(h, b, c, lead + nb);
      if (--probes == 0)
        return 0;
    }
  }
  return 0;
}

/* A slab (a block of nb bytes whose payload is aligned to `align`) cut
 * from top, in use, or 0 when memory cannot grow. When top's start is
 * aligned, the slab is cut there, as any block would be. Otherwise it is
 * cut from top's end: top keeps its start, so blocks go on being carved
 * where they were, and slabs cut this way lie side by side. Neither way
 * leaves an alignment gap before the slab (bench/README: such gaps were
 * most of the pages lmalloc held above dlmalloc's on jq and perl). When
 * the span's end is not aligned (Emscripten's sbrk), the bytes beyond the
 * slab become a free block (a tail of less than `align` bytes), which
 * the next growth joins to the new top (extend_span). Grows memory when
 * top has no room. */
static lm_off_t slab_from_top(lm_heap_t *h, uint32_t align, uint32_t nb) {
  for (int attempt = 0; attempt < 3; attempt++) {
    uintptr_t base = heap_base(h); /* set by the first grow */
    lm_off_t t = h->top;
    uint32_t size = top_size(h);
    /* Top's start is aligned: cut there, as any block is (the slab must
     * come out exactly nb bytes, so top keeps nothing or a block). */
    if (size >= nb && !aligned_lead(h, t, align) &&
        (size == nb || size - nb >= LM_MIN_BLOCK))
      return take_from_top(h, nb);
    /* Else at the last aligned place in top: below it top keeps a block,
     * above it lies nothing or a free block. */
    lm_off_t end = t + size;
    lm_off_t b = ((end - nb + LM_HEADER_SIZE) & ~(align - 1)) - LM_HEADER_SIZE;
    uint32_t tail = end - b - nb;
    if (size >= nb + align && b - t >= LM_MIN_BLOCK &&
        (tail == 0 || tail >= LM_MIN_BLOCK)) {
      hdr_set(base, t, (b - t) | LM_FREE | (hdr_get(base, t) & LM_PREV_FREE));
      hdr_set(base, b, nb | LM_PREV_FREE);
      if (h->fresh_end > b)
        h->fresh_end = b; /* I6: the slab is written above top */
      if (tail) {
        lm_off_t r = b + nb; /* its right neighbour keeps PREV_FREE */
        hdr_set(base, r, tail | LM_FREE);
        footer_set(base, h->key, r, tail);
        bin_insert(&h->bins, base, h->key, r, tail);
      } else {
        hdr_clear_prev_free(base, end);
      }
      return b;
    }
    /* Room for the slab at the end of a top that growing extends, or of
     * a new one made of the new memory. */
    uint32_t top = growable_top(h);
    if (!grow(h, top ? top + nb + align : nb + align))
      return 0;
  }
  return 0;
}

lm_off_t lm_block_alloc_aligned(lm_heap_t *h, uint32_t align, uint32_t nb) {
  /* A block that fits, or one of `want` bytes, which always does: room
   * for nb bytes after the largest gap aligned_lead leaves (align + 16 -
   * A), and, when A is 8, for a tail of at least a block (a tail of 8
   * bytes could not be split off): nb + align when A is 16, nb + align +
   * 24 when A is 8. */
  uint32_t want = nb + align + (LM_MIN_BLOCK - LM_ALIGN) +
                  (LM_ALIGN < LM_MIN_BLOCK ? LM_MIN_BLOCK : 0);
  lm_off_t b = take_aligned_from_bins(h, align, nb, want);
  if (!b && align == LM_SLAB_SIZE && nb == LM_SLAB_SIZE &&
      top_size(h) <= TOP_END_LIMIT) {
    b = take_from_bins(h, want);
    if (!b)
      return slab_from_top(h, align, nb);
  }
  if (!b)
    b = alloc_block_slow(h, want); /* its first round is alloc_block's */
  if (!b)
    return 0;
  uintptr_t base = heap_base(h);
  uint32_t bs = block_size(base, b);
  uint32_t lead = aligned_lead(h, b, align);
  if (lead) {
    /* [b, b+lead) becomes a free block; its left neighbour is in use. */
    lm_off_t a = b + lead;
    hdr_set(base, a, (bs - lead) | LM_PREV_FREE);
    hdr_set(base, b, lead | LM_FREE);
    footer_set(base, h->key, b, lead);
    bin_insert(&h->bins, base, h->key, b, lead);
    b = a;
    bs -= lead;
  }
  trim(h, b, bs, nb);
  return b;
}

void *lm_heap_aligned_alloc(lm_heap_t *h, size_t alignment, size_t size) {
  if (alignment == 0 || (alignment & (alignment - 1)) ||
      alignment > LM_MAX_ALIGNMENT) {
    errno = EINVAL;
    return NULL;
  }
  if (alignment <= LM_ALIGN)
    return lm_heap_malloc(h, size);
  if (size > LM_MAX_REQUEST - alignment)
    return no_memory();
  lm_off_t b = lm_block_alloc_aligned(h, (uint32_t)alignment,
                                      block_size_for(size));
  if (!b)
    return no_memory();
  return handed_out(h, b);
}

/* Through lm_heap_usable_size, which checks the pointer (and reports a
 * bad one), so that the checks' code is not inlined once more. */
int lm_heap_resize(lm_heap_t *h, void *ptr, size_t size) {
  size_t have = lm_heap_usable_size(h, ptr);
  if (!have || size > LM_MAX_REQUEST)
    return 0;
  lm_off_t p = heap_off(h, ptr), b = block_from_payload(p);
  if (slab_of(h, p))
    return size <= have;
  return resize_block(h, b, block_size(heap_base(h), b), block_size_for(size));
}

size_t lm_heap_usable_size(lm_heap_t *h, const void *ptr) {
  if (!ptr)
    return 0;
  lm_off_t p = payload_of(h, ptr);
  if (!p)
    return 0;
  lm_off_t s = slab_of(h, p);
  if (s) {
    if (slab_live(h, s, p))
      return word_get(heap_base(h), s + SLAB_SIZE);
    lm_slab_refused(h, s, p, 0);
    return 0;
  }
  lm_off_t b = block_at(h, p, 1, 0);
  return b ? block_usable(block_size(heap_base(h), b)) : 0;
}
