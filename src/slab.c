/* Slabs (slab.h): creating a slab for a size class, giving an empty one
 * back to the heap, and finding out which objects of a slab are free. The
 * fast paths (taking and freeing an object) are inline in slab.h. */
#include "slab.h"

/* Puts slab s (of class c) at the head of its class's list. */
static void slab_push(lm_heap_t *h, lm_off_t s, uint32_t c) {
  uintptr_t base = heap_base(h);
  lm_off_t head = h->slabs[c];
  word_set(base, s + SLAB_NEXT, head);
  word_set(base, s + SLAB_PREV, 0);
  if (head)
    word_set(base, head + SLAB_PREV, s);
  h->slabs[c] = s;
}

/* Whether a slab header's object size is one of the classes'. */
static int slab_size_ok(uint32_t size) {
  return size >= LM_SLAB_MIN_OBJECT && size <= LM_SLAB_MAX &&
         size % LM_SLAB_STEP == 0;
}

/* The index multiplier of objects of `size` bytes (slab.h: inv). */
static uint32_t slab_inv(uint32_t size) {
  return ((1u << LM_SLAB_INV_SHIFT) + size - 1) / size;
}

/* The class of slab s, from its object size. */
static uint32_t slab_class_of(uintptr_t base, lm_off_t s) {
  return word_get(base, s + SLAB_SIZE) >> LM_SLAB_STEP_LOG2;
}

lm_off_t lm_slab_new(lm_heap_t *h, uint32_t c) {
  lm_off_t b = lm_block_alloc_aligned(h, LM_SLAB_SIZE, LM_SLAB_SIZE);
  if (!b)
    return 0;
  uintptr_t base = heap_base(h);
  hdr_set(base, b, hdr_get(base, b) | LM_SLAB);
  lm_off_t s = block_payload(b);
  uint32_t size = c << LM_SLAB_STEP_LOG2;
  word_set(base, s + SLAB_CHECK, slab_check_value(h, s));
  word_set(base, s + SLAB_FREE, 0);
  word_set(base, s + SLAB_SPARE, 0);
  word_set(base, s + SLAB_SIZE, size);
  word_set(base, s + SLAB_BUMP, s + LM_SLAB_HEADER);
  word_set(base, s + SLAB_INV, slab_inv(size));
  for (uint32_t i = 0; i < SLAB_MAP_WORDS; i++)
    word_set(base, s + SLAB_MAP + 4 * i, 0);
  slab_push(h, s, c);
  return s;
}

void lm_slab_release(lm_heap_t *h, lm_off_t s) {
  uintptr_t base = heap_base(h);
  lm_off_t next = word_get(base, s + SLAB_NEXT);
  lm_off_t prev = word_get(base, s + SLAB_PREV);
  if (prev)
    word_set(base, prev + SLAB_NEXT, next);
  else
    h->slabs[slab_class_of(base, s)] = next;
  if (next)
    word_set(base, next + SLAB_PREV, prev);
  word_set(base, s + SLAB_CHECK, 0); /* no longer a slab for slab_of */
  lm_block_release(h, block_from_payload(s));
}

/* A freed object's report, worded for the call (slab.h). */
#define NOT_ALLOCATED(misuse)                                                  \
  "object is not allocated (" misuse ", or never handed out)"

void lm_slab_refused(lm_heap_t *h, lm_off_t s, lm_off_t p, int freeing) {
  if (slab_index(heap_base(h), s, p) < 0)
    lm_report(LM_REPORT_INVALID_FREE, "pointer is inside a slab but no "
              "object starts there (interior pointer)", heap_ptr(h, p), 0);
  else
    lm_report(LM_REPORT_DOUBLE_FREE,
              freeing ? NOT_ALLOCATED("double free")
                      : NOT_ALLOCATED("use after free"),
              heap_ptr(h, p), word_get(heap_base(h), s + SLAB_SIZE));
}

void lm_slab_put(lm_heap_t *h, lm_off_t s, lm_off_t p) { slab_put(h, s, p); }

/* Slab s was full and has one object free again: back at the head of its
 * class's list, so the next malloc takes the object just freed, whose
 * memory is likely in the cache. A slab near full moves off and on the
 * list at nearly every free this way (sqlite: 60,104 times in 1.33 M
 * operations); putting it second instead was faster on sqlite but cost
 * the random small-object workload 8%, and heap pages on gcc under
 * Emscripten (bench/README.md). */
void lm_slab_was_full(lm_heap_t *h, lm_off_t s) {
  slab_push(h, s, slab_class_of(heap_base(h), s));
}

int lm_slab_free_map(lm_heap_t *h, lm_off_t s, uint32_t map[SLAB_MAP_WORDS]) {
  uintptr_t base = heap_base(h);
  uint32_t size = word_get(base, s + SLAB_SIZE);
  int fault = 0;
  for (uint32_t i = 0; i < SLAB_MAP_WORDS; i++)
    map[i] = 0;
  if (!slab_size_ok(size) || word_get(base, s + SLAB_INV) != slab_inv(size))
    return LM_SLAB_BAD_HEADER;
  uint32_t cap = slab_capacity(size);
  lm_off_t bump = word_get(base, s + SLAB_BUMP);
  uint32_t untouched = cap;
  if (bump) {
    int32_t first = slab_index(base, s, bump);
    if (first < 0 || (uint32_t)first >= cap)
      return LM_SLAB_BAD_HEADER;
    untouched = (uint32_t)first;
  }
  for (uint32_t i = untouched; i < cap; i++)
    map[i >> 5] |= 1u << (i & 31);
  for (lm_off_t o = word_get(base, s + SLAB_FREE); o;
       o = word_get(base, o) ^ LM_MASK(h->key)) {
    int32_t idx = slab_index(base, s, o);
    if (idx < 0 || (uint32_t)idx >= untouched) {
      fault |= LM_SLAB_BAD_LINK;
      break;
    }
    if (map[idx >> 5] & (1u << (idx & 31))) {
      fault |= LM_SLAB_CYCLE;
      break;
    }
    map[idx >> 5] |= 1u << (idx & 31);
    if (slab_bit(base, s, o))
      fault |= LM_SLAB_LISTED_USED;
  }
  return fault;
}

int lm_slab_objects(lm_heap_t *h, lm_off_t s, lm_slab_object_fn fn,
                    void *ctx) {
  uintptr_t base = heap_base(h);
  uint32_t size = word_get(base, s + SLAB_SIZE);
  if (!slab_size_ok(size))
    return 0; /* a broken header: the checker reports it */
  uint32_t cap = slab_capacity(size);
  for (uint32_t i = 0; i < cap; i++) {
    lm_off_t obj = s + LM_SLAB_HEADER + i * size;
    if (fn(h, obj, size, slab_bit(base, s, obj), ctx))
      return 1;
  }
  return 0;
}
