/* The heap checker: verifies every invariant of heap.h and counts the
 * broken ones instead of stopping at the first, naming each in a report.
 * It reads only addresses inside the heap's spans (the walker checks the
 * tiling; the free lists are range-checked here before any read), never
 * allocates and never traps. */
#include "heap.h"
#include "slab.h"

typedef struct {
  size_t faults;
  size_t free_blocks; /* free blocks other than top */
  size_t span_bytes;
  lm_off_t span;      /* span of the previous step */
  int prev_free;      /* the previous block of this span is free */
  int top_seen;
  size_t slabs_with_room;
} check_ctx_t;

static void fault(check_ctx_t *c, const lm_heap_t *h, lm_off_t at,
                  const char *what) {
  c->faults++;
  lm_report(LM_REPORT_CORRUPT, what, heap_ptr(h, at), 0);
}

/* A slab's header, map and free list agree: every object is
 * exactly one of allocated (map bit), on the free list, or not yet handed
 * out (above the bump pointer). */
static void check_slab(check_ctx_t *c, lm_heap_t *h, lm_off_t b) {
  uintptr_t base = heap_base(h);
  lm_off_t s = block_payload(b);
  if (hdr_size(hdr_get(base, b)) != LM_SLAB_SIZE || (s & (LM_SLAB_SIZE - 1))) {
    fault(c, h, b, "slab block has the wrong size or alignment");
    return;
  }
  if (word_get(base, s + SLAB_CHECK) != slab_check_value(h, s))
    fault(c, h, s, "slab check word is overwritten");
  uint32_t map[SLAB_MAP_WORDS];
  int bad = lm_slab_free_map(h, s, map);
  if (bad & LM_SLAB_BAD_HEADER) {
    fault(c, h, s, "slab header (size, index multiplier or bump) is broken");
    return;
  }
  if (bad & LM_SLAB_BAD_LINK)
    fault(c, h, s, "slab free list points where no free object starts");
  if (bad & LM_SLAB_CYCLE)
    fault(c, h, s, "slab free list has a cycle");
  if (bad & LM_SLAB_LISTED_USED)
    fault(c, h, s, "object on a slab free list is marked allocated");
  uint32_t size = word_get(base, s + SLAB_SIZE);
  uint32_t cap = slab_capacity(size), free = 0, used = 0, bits = 0;
  for (uint32_t i = 0; i < cap; i++) {
    int is_free = (map[i >> 5] >> (i & 31)) & 1;
    int is_used = slab_bit(base, s, s + LM_SLAB_HEADER + i * size);
    if (is_free == is_used)
      fault(c, h, s, is_used ? "allocated object is also free"
                             : "object is neither allocated nor free (lost)");
    free += (uint32_t)is_free;
    used += (uint32_t)is_used;
  }
  for (uint32_t i = 0; i < SLAB_MAP_WORDS; i++)
    bits += (uint32_t)__builtin_popcount(word_get(base, s + SLAB_MAP + 4 * i));
  if (bits != used) /* a bit set in a cell where no object starts */
    fault(c, h, s, "slab map marks an object where none starts");
  if (used == 0) /* slab_put gives a slab back when its last object goes */
    fault(c, h, s, "slab with no object in use was not given back");
  if (free > 0)
    c->slabs_with_room++;
}

/* Each class lists exactly its slabs that have room. */
static void check_slab_lists(check_ctx_t *c, lm_heap_t *h) {
  uintptr_t base = heap_base(h);
  size_t listed = 0;
  for (uint32_t cls = LM_SLAB_MIN_CLASS; cls <= LM_SLAB_CLASSES; cls++) {
    lm_off_t prev = 0;
    for (lm_off_t s = h->slabs[cls]; s; s = word_get(base, s + SLAB_NEXT)) {
      if (listed++ > c->slabs_with_room) {
        fault(c, h, s, "slab lists hold more slabs than have room (a cycle?)");
        return;
      }
      if (s < h->lo || (uint64_t)s + LM_SLAB_SIZE > h->hi ||
          (s & (LM_SLAB_SIZE - 1)) ||
          slab_of(h, s + LM_SLAB_HEADER) != s) {
        fault(c, h, s, "slab list points to something that is not a slab");
        break;
      }
      if (word_get(base, s + SLAB_SIZE) != cls << LM_SLAB_STEP_LOG2)
        fault(c, h, s, "slab is in the list of another class");
      if (!word_get(base, s + SLAB_FREE) && !word_get(base, s + SLAB_BUMP))
        fault(c, h, s, "full slab is in a list of slabs with room");
      if (word_get(base, s + SLAB_PREV) != prev)
        fault(c, h, s, "slab list back link is broken");
      prev = s;
    }
  }
  if (listed != c->slabs_with_room)
    fault(c, h, 0, "slab lists and slabs with room disagree");
}

static int check_step(lm_heap_t *h, const lm_step_t *step, void *arg) {
  check_ctx_t *c = arg;
  uintptr_t base = heap_base(h);
  lm_off_t b = step->block;
  if (step->span != c->span) { /* a new span: nothing before its first block */
    c->span = step->span;
    c->span_bytes += step->span_end - step->span;
    c->prev_free = 0;
  }
  if (hdr_prev_free(step->hdr) != c->prev_free)
    fault(c, h, b, c->prev_free ? "PREV_FREE is clear but the block before is free"
                                : "PREV_FREE is set but the block before is in use");
  if (step->marker)
    return 0;
  int is_free = hdr_is_free(step->hdr);
  uint32_t size = hdr_size(step->hdr);
  if (is_free && c->prev_free)
    fault(c, h, b, "two free neighbours were not coalesced");
  if (!is_free && (step->hdr & LM_SLAB)) {
    check_slab(c, h, b);
  } else if (!is_free) {
    if (!seal_ok(base, h->key, b, size))
      fault(c, h, b, "used block's seal (its last 4 bytes) was overwritten "
                     "(a write past its end?)");
  } else if (b == h->top) {
    c->top_seen = 1;
    if (step->span != h->last_span)
      fault(c, h, b, "top is not in the newest span");
  } else {
    c->free_blocks++;
    if (footer_get(base, h->key, b, size) != size)
      fault(c, h, b, "free block's footer does not match its size");
  }
  c->prev_free = is_free;
  return 0;
}

/* Every list holds free blocks of its class, linked both ways, and the
 * bitmaps say which lists are non-empty. */
static size_t check_lists(lm_heap_t *h, check_ctx_t *c) {
  uintptr_t base = heap_base(h);
  size_t listed = 0;
  for (uint32_t cls = 0; cls < LM_CLASSES; cls++) {
    lm_off_t head = h->bins.head[cls];
    int bit = (h->bins.map[cls >> 5] >> (cls & 31)) & 1;
    if (bit != (head != 0))
      fault(c, h, head, "bitmap bit disagrees with its free list");
    lm_off_t prev = 0;
    for (lm_off_t b = head; b; b = link_next(base, h->key, b)) {
      if (listed > c->free_blocks) {
        fault(c, h, b, "free lists hold more blocks than the heap has free "
                       "(a cycle or a stray link)");
        return listed;
      }
      if (b < h->lo || b >= h->hi - LM_MIN_BLOCK ||
          (b & (LM_ALIGN - 1)) != LM_ALIGN - LM_HEADER_SIZE) {
        fault(c, h, b, "free-list link points outside the heap");
        break;
      }
      uint32_t hdr = hdr_get(base, b);
      uint32_t size = hdr_size(hdr);
      if (!hdr_is_free(hdr) || size < LM_MIN_BLOCK || size > h->hi - b) {
        fault(c, h, b, "free-list entry is not a free block");
        break;
      }
      if (bin_class(size) != cls)
        fault(c, h, b, "free block is in the list of another size class");
      if (b == h->top)
        fault(c, h, b, "top is in a free list");
      if (link_prev(base, h->key, b) != prev)
        fault(c, h, b, "free-list back link is broken");
      listed++;
      prev = b;
    }
  }
  for (uint32_t w = 0; w < LM_MAP_WORDS; w++)
    if (((h->bins.top >> w) & 1) != (h->bins.map[w] != 0))
      fault(c, h, 0, "top-level bitmap disagrees with its word");
  return listed;
}

size_t lm_heap_check(lm_heap_t *h) {
  check_ctx_t c = {0};
  c.faults += lm_heap_walk_steps(h, check_step, &c, 0);
  if (h->top && !c.top_seen)
    fault(&c, h, h->top, "top is not a free block of the heap");
  if (h->top && h->fresh < block_payload(h->top))
    fault(&c, h, h->top, "fresh mark is below top");
  /* The newest span's end is read only once its offset is known to lie
   * in the heap: the field itself may be what is corrupt. */
  lm_off_t last = h->last_span;
  if (last && (last < h->lo || last > h->hi || h->hi - last < LM_MIN_SPAN ||
               (last & (LM_ALIGN - 1))))
    fault(&c, h, last, "newest span lies outside the heap");
  else if (last && h->fresh_end > span_marker(span_end(heap_base(h), last)))
    fault(&c, h, h->fresh_end, "fresh range ends past the newest span");
  /* I6's range, when not empty, lies in top: calloc does not clear it. */
  if (h->fresh < h->fresh_end && !h->top)
    fault(&c, h, h->fresh, "fresh range without a top block");
  else if (h->fresh < h->fresh_end && c.top_seen &&
           h->fresh_end > h->top + block_size(heap_base(h), h->top))
    fault(&c, h, h->fresh_end, "fresh range reaches past top");
  if (c.span_bytes != h->heap_bytes)
    fault(&c, h, h->first_span, "heap size disagrees with its spans");
  check_slab_lists(&c, h);
  size_t listed = check_lists(h, &c);
  if (listed != c.free_blocks)
    fault(&c, h, 0, "free lists and heap disagree on the free blocks");
  return c.faults;
}
