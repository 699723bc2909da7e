/* The free-list index: size classes, one doubly linked free list per
 * class, and a two-level bitmap of the non-empty classes, so that finding
 * a free block that fits any request is O(1) (a few bit scans), as in
 * TLSF. (Ideas from TLSF and dlmalloc's small bins; no code from either.)
 *
 * Classes of block sizes (headers included, multiples of the granule A,
 * block.h; L = 1024 / A linear classes, 64 when A is 16, 128 when 8):
 *   - below 1024 bytes, one class per size: class = size / A (16 / A ..
 *     L - 1; the classes below 16 / A stay empty). A small request finds
 *     an exact fit whenever one exists.
 *   - from 1024 up, each power of two [2^k, 2^(k+1)) is split into 16
 *     equal subclasses: class = L + (k - 10) * 16 + (size >> (k - 4)) % 16.
 *     A block in a class is at most 1/16 (6.25%) larger than the class's
 *     lower bound.
 *   L + 22 * 16 classes (416 when A is 16, 480 when 8) cover every block
 *   size below 4 GiB.
 *
 * Bitmaps: map[w] bit i is set when class w*32+i is non-empty; top bit w is
 * set when map[w] != 0. Invariant: a bit is set iff its list is non-empty.
 *
 * Lists are LIFO (a freed block is reused first while it is still in the
 * cache) and doubly linked so any block can be unlinked in O(1) when it
 * coalesces with a neighbour.
 */
#ifndef LM_BINS_H
#define LM_BINS_H

#include <stdint.h>

#include "block.h"

#define LM_LINEAR_LIMIT 1024u           /* sizes below: one class each */
#define LM_LINEAR_LOG2 10
#define LM_SUB_LOG2 4                   /* 16 subclasses per power of two */
#define LM_SUBCLASSES (1u << LM_SUB_LOG2)
#define LM_LINEAR_CLASSES (LM_LINEAR_LIMIT / LM_ALIGN)
#define LM_CLASSES (LM_LINEAR_CLASSES + (32 - LM_LINEAR_LOG2) * LM_SUBCLASSES)
#define LM_MAP_WORDS ((LM_CLASSES + 31) / 32)

_Static_assert(LM_LINEAR_LIMIT == 1u << LM_LINEAR_LOG2, "limit is 2^log2");
_Static_assert(LM_LINEAR_CLASSES << LM_ALIGN_LOG2 == LM_LINEAR_LIMIT,
               "one exact class per granule below the limit");
_Static_assert(LM_MAP_WORDS < 32, "the top bitmap is one word, with room to shift");
/* Classes of the linear range and the first power of two must meet: the
 * first logarithmic class starts at LM_LINEAR_LIMIT. */
_Static_assert(LM_LINEAR_LIMIT >> (LM_LINEAR_LOG2 - LM_SUB_LOG2) ==
                   LM_SUBCLASSES,
               "subclass index of 1024 is 0");

typedef struct lm_bins {
  uint32_t top;                 /* bit w: map[w] != 0 */
  uint32_t map[LM_MAP_WORDS];   /* bit c%32 of map[c/32]: list c non-empty */
  lm_off_t head[LM_CLASSES];    /* first block of each list, 0 = empty */
} lm_bins_t;

static inline uint32_t log2_floor(uint32_t x) {
  return 31u - (uint32_t)__builtin_clz(x);
}

/* The class holding blocks of exactly `size` bytes (size >= LM_MIN_BLOCK,
 * a multiple of A). */
static inline uint32_t bin_class(uint32_t size) {
  if (size < LM_LINEAR_LIMIT)
    return size >> LM_ALIGN_LOG2;
  uint32_t k = log2_floor(size);
  uint32_t sub = (size >> (k - LM_SUB_LOG2)) & (LM_SUBCLASSES - 1);
  return LM_LINEAR_CLASSES + ((k - LM_LINEAR_LOG2) << LM_SUB_LOG2) + sub;
}

/* Smallest block size in class c (used by the checker). */
static inline uint32_t bin_class_min(uint32_t c) {
  if (c < LM_LINEAR_CLASSES)
    return c << LM_ALIGN_LOG2;
  uint32_t k = LM_LINEAR_LOG2 + ((c - LM_LINEAR_CLASSES) >> LM_SUB_LOG2);
  uint32_t sub = (c - LM_LINEAR_CLASSES) & (LM_SUBCLASSES - 1);
  return (1u << k) + (sub << (k - LM_SUB_LOG2));
}

static inline void bin_mark(lm_bins_t *bins, uint32_t c) {
  bins->map[c >> 5] |= 1u << (c & 31);
  bins->top |= 1u << (c >> 5);
}

static inline void bin_unmark(lm_bins_t *bins, uint32_t c) {
  uint32_t w = c >> 5;
  bins->map[w] &= ~(1u << (c & 31));
  if (bins->map[w] == 0)
    bins->top &= ~(1u << w);
}

/* The first non-empty class >= c, or LM_CLASSES if there is none. O(1). */
static inline uint32_t bin_find(const lm_bins_t *bins, uint32_t c) {
  if (c >= LM_CLASSES)
    return LM_CLASSES;
  uint32_t w = c >> 5;
  uint32_t bits = bins->map[w] & (~0u << (c & 31));
  if (bits == 0) {
    uint32_t words = bins->top & (~0u << (w + 1));
    if (words == 0)
      return LM_CLASSES;
    w = (uint32_t)__builtin_ctz(words);
    bits = bins->map[w];
  }
  return (w << 5) + (uint32_t)__builtin_ctz(bits);
}

/* Reports heap metadata found broken while allocating or freeing (a
 * rewritten link, header or footer) and stops the program: the heap can no
 * longer be trusted, and going on could hand out memory twice (report.c). */
_Noreturn void lm_corrupt(const char *what, uintptr_t address);

/* Puts free block b of `size` bytes at the head of its class's list. */
static inline void bin_insert(lm_bins_t *bins, uintptr_t base, uint32_t key,
                              lm_off_t b, uint32_t size) {
  uint32_t c = bin_class(size);
  lm_off_t first = bins->head[c];
  link_set_next(base, key, b, first);
  link_set_prev(base, key, b, 0);
  if (first)
    link_set_prev(base, key, first, b);
  else
    bin_mark(bins, c);
  bins->head[c] = b;
}

/* Takes free block b of `size` bytes out of its list. Safe unlink: before
 * writing through b's links it checks that its neighbours link back to it,
 * so a forged link is reported instead of used to write elsewhere. */
static inline void bin_remove(lm_bins_t *bins, uintptr_t base, uint32_t key,
                              lm_off_t b, uint32_t size) {
  uint32_t c = bin_class(size);
  lm_off_t next = link_next(base, key, b);
  lm_off_t prev = link_prev(base, key, b);
  if (LM_HARDEN && ((prev ? link_next(base, key, prev) : bins->head[c]) != b ||
                    (next && link_prev(base, key, next) != b)))
    lm_corrupt("free-list links of a free block were overwritten", base + b);
  if (prev) {
    link_set_next(base, key, prev, next);
  } else {
    bins->head[c] = next;
    if (!next)
      bin_unmark(bins, c);
  }
  if (next)
    link_set_prev(base, key, next, prev);
}

#endif /* LM_BINS_H */
