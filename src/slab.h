/* Slabs: small objects without headers.
 *
 * Requests of up to LM_SLAB_MAX bytes (most of what real programs ask for:
 * 80-100% of the allocations in bench/traces) are served from slabs. A
 * slab is a used block of the heap (block.h) of exactly LM_SLAB_SIZE bytes
 * whose payload is LM_SLAB_SIZE-aligned, cut into objects of one size
 * class (heap.h: 16 to 256 bytes in steps of the granule A). Objects have
 * no header, so a 32-byte request takes 32 bytes (a block would take 48
 * when A is 16, 40 when 8), and a free object is
 * reused LIFO through a singly linked list that touches only the slab's
 * header and the object itself: no neighbour is read, no list is relinked.
 *
 *   s-4      s        s+64                                     s+4092
 *   +--------+--------+----------+----------+-- ... --+--------+--------+
 *   | block  | slab   | object 0 | object 1 |         | slack  | next   |
 *   | header | header |          |          |         |        | header |
 *   +--------+--------+----------+----------+-- ... --+--------+--------+
 *   (SLAB flag, size LM_SLAB_SIZE)
 *
 * Slab header (offsets from s):
 *    0 check   s ^ heap key: together with the SLAB flag in the block
 *              header at s-4 this tells free() that a pointer is a slab
 *              object (see slab_of)
 *    4 free    first free object (offset), 0 = none
 *    8 spare   0. No count of objects in use is kept: the map says
 *              whether any is (slab_empty), and keeping a count on every
 *              malloc and free cost 7-10% of sqlite's replay time
 *              (bench/README.md)
 *   12 size    object size in bytes
 *   16 next    next slab of the class with room (offset), 0 = none
 *   20 prev    previous one
 *   24 bump    next object never handed out, 0 when all have been: a new
 *              slab hands its objects out in address order without
 *              building a free list first
 *   28 inv     ceil(2^20 / size): object index = (offset * inv) >> 20,
 *              exact for offsets below 4096, so no division on any path
 *              (the checker, reports, and free when A = 8: see map)
 *   32 map     one bit per 16-byte cell of the objects' area (the
 *              smallest object), set at each allocated object's start: the
 *              exact answer to "is this a live object" for double-free
 *              detection, usable_size, the walker and the checker. A bit
 *              per cell rather than per object index, so that malloc and
 *              free find it with a subtract and a shift instead of a load
 *              and a multiply (1-3% of the replay time of sqlite, perl
 *              and lua; bench/README.md)
 *
 * A free object holds the offset of the next free object in its first 4
 * bytes, masked with the heap's key, and malloc checks that it stays in
 * the slab; nothing about an object's state is kept in its own bytes, so
 * no content a program writes can be mistaken for metadata.
 *
 * Each class keeps a doubly linked list of its slabs that have room
 * (heap.slabs[class]); malloc takes from the first. A slab leaves the list
 * when it fills and comes back at the head when an object is freed in it.
 * A slab whose last object is freed goes back to the heap at once and
 * merges with its free neighbours, so freeing every block still leaves one
 * free region per span.
 */
#ifndef LM_SLAB_H
#define LM_SLAB_H

#include "heap.h"

#define LM_SLAB_LOG2 12
#define LM_SLAB_SIZE ((uint32_t)1 << LM_SLAB_LOG2)
#define LM_SLAB_HEADER 64u
#define LM_SLAB_END (LM_SLAB_SIZE - LM_HEADER_SIZE) /* next block's header */
#define LM_SLAB_INV_SHIFT 20

#define SLAB_CHECK 0
#define SLAB_FREE 4
#define SLAB_SPARE 8
#define SLAB_SIZE 12
#define SLAB_NEXT 16
#define SLAB_PREV 20
#define SLAB_BUMP 24
#define SLAB_INV 28
#define SLAB_MAP 32
/* The most objects a slab holds (of the smallest size), and the map's
 * cells: one bit per LM_SLAB_MIN_OBJECT bytes, so two objects never share
 * a bit. */
#define SLAB_MAX_OBJECTS ((LM_SLAB_END - LM_SLAB_HEADER) / LM_SLAB_MIN_OBJECT)
#define SLAB_MAP_WORDS ((SLAB_MAX_OBJECTS + 31) / 32)
#define SLAB_CELL_LOG2 4
_Static_assert(LM_SLAB_MIN_OBJECT == 1u << SLAB_CELL_LOG2,
               "a map cell is the smallest object");

_Static_assert(LM_SLAB_HEADER % LM_ALIGN == 0, "objects are A-aligned");
_Static_assert(SLAB_MAP + SLAB_MAP_WORDS * 4 <= LM_SLAB_HEADER,
               "the header holds the map");
_Static_assert(LM_SLAB_SIZE <= (1u << LM_SLAB_INV_SHIFT) / LM_SLAB_MIN_OBJECT,
               "(offset * inv) >> shift is exact for every offset in a slab");
_Static_assert(LM_SLAB_MAX < LM_LINEAR_LIMIT, "slab sizes are small");

/* The class of a request of `size` bytes (size <= LM_SLAB_MAX):
 * LM_SLAB_MIN_CLASS..LM_SLAB_CLASSES. */
static inline uint32_t slab_class(size_t size) {
  uint32_t c = ((uint32_t)size + LM_SLAB_STEP - 1) >> LM_SLAB_STEP_LOG2;
  /* At least LM_SLAB_MIN_CLASS (malloc(0) takes a 16-byte object): a max
   * written as an add, which compiles to c + (c == 0) when the minimum
   * class is 1, as it is with the 16-byte granule. */
  return c + (c < LM_SLAB_MIN_CLASS) * (LM_SLAB_MIN_CLASS - c);
}

static inline uint32_t slab_check_value(const lm_heap_t *h, lm_off_t s) {
  return s ^ h->key;
}

/* If payload offset p is a slab object's, its slab; else 0. A slab is
 * recognised by two words: its check word, keyed to this heap, and its
 * block header (SLAB flag, size LM_SLAB_SIZE). The check word is read
 * first: it lies in p's own 4 KiB page, while the header lies in the page
 * below, which for a large block may be memory nobody has touched yet
 * (reading it would fault that page in: bench syn-large took 5,200 such
 * faults in 30,000 operations). The caller has checked that p lies
 * inside the heap. O(1). */
static inline lm_off_t slab_of(const lm_heap_t *h, lm_off_t p) {
  lm_off_t s = p & ~(LM_SLAB_SIZE - 1);
  if (!LM_SLABS || s == p || s < h->lo + LM_SPAN_HEADER + LM_HEADER_SIZE ||
      word_get(heap_base(h), s + SLAB_CHECK) != slab_check_value(h, s))
    return 0;
  uint32_t hdr = hdr_get(heap_base(h), s - LM_HEADER_SIZE) & ~LM_PREV_FREE;
  return hdr == (LM_SLAB_SIZE | LM_SLAB) ? s : 0;
}

/* Index of the object at offset p of slab s, or -1 if no object of s
 * starts at p. */
static inline int32_t slab_index(uintptr_t base, lm_off_t s, lm_off_t p) {
  if (p < s + LM_SLAB_HEADER)
    return -1;
  uint32_t off = p - s - LM_SLAB_HEADER;
  uint32_t idx = (off * word_get(base, s + SLAB_INV)) >> LM_SLAB_INV_SHIFT;
  if (idx * word_get(base, s + SLAB_SIZE) != off)
    return -1;
  return (int32_t)idx;
}

/* Number of objects a slab of objects of `size` bytes holds. */
static inline uint32_t slab_capacity(uint32_t size) {
  return (LM_SLAB_END - LM_SLAB_HEADER) / size;
}

/* The map bit of offset p of slab s (p in the objects' area) is bit g of
 * the map, g = slab_cell(s, p), the cell p lies in; its word is
 * slab_map_word(s, g). */
static inline uint32_t slab_cell(lm_off_t s, lm_off_t p) {
  return (p - s - LM_SLAB_HEADER) >> SLAB_CELL_LOG2;
}

static inline lm_off_t slab_map_word(lm_off_t s, uint32_t g) {
  return s + SLAB_MAP + (g >> 5) * 4;
}

/* Whether the object at offset obj of slab s is allocated (obj is an
 * object's start). */
static inline int slab_bit(uintptr_t base, lm_off_t s, lm_off_t obj) {
  uint32_t g = slab_cell(s, obj);
  return (word_get(base, slab_map_word(s, g)) >> (g & 31)) & 1;
}

/* Creates a slab for class c at the head of its list; 0 when the heap
 * cannot give a block for it. O(1), plus memory.grow. */
lm_off_t lm_slab_new(lm_heap_t *h, uint32_t c);

/* Gives empty slab s back to the heap. O(1). */
void lm_slab_release(lm_heap_t *h, lm_off_t s);

/* Slab s (of class c) has no room left: it leaves c's list, of which it
 * is the head. */
static inline void slab_unlist_full(lm_heap_t *h, lm_off_t s, uint32_t c) {
  uintptr_t base = heap_base(h);
  lm_off_t next = word_get(base, s + SLAB_NEXT);
  h->slabs[c] = next;
  if (next)
    word_set(base, next + SLAB_PREV, 0);
  word_set(base, s + SLAB_NEXT, 0);
}

/* Takes an object from slab s, the first slab of class c's list (so it
 * has room). O(1). */
static inline lm_off_t slab_take(lm_heap_t *h, lm_off_t s, uint32_t c) {
  uintptr_t base = heap_base(h);
  lm_off_t obj = word_get(base, s + SLAB_FREE);
  if (obj) {
    /* The link lives in the freed object, where a write after free can
     * reach it: masked with the key, and it must stay inside this slab. */
    lm_off_t next = word_get(base, obj) ^ LM_MASK(h->key);
    if (LM_HARDEN && next && ((next ^ s) >= LM_SLAB_SIZE || next < s + LM_SLAB_HEADER))
      lm_corrupt("a freed small object's link was overwritten (write "
                 "after free?)", base + obj);
    word_set(base, s + SLAB_FREE, next);
    if (!next && !word_get(base, s + SLAB_BUMP))
      slab_unlist_full(h, s, c);
  } else { /* a new slab's objects, in address order */
    obj = word_get(base, s + SLAB_BUMP);
    uint32_t size = word_get(base, s + SLAB_SIZE);
    lm_off_t bump = obj + 2 * size <= s + LM_SLAB_END ? obj + size : 0;
    word_set(base, s + SLAB_BUMP, bump);
    if (!bump)
      slab_unlist_full(h, s, c);
  }
  uint32_t g = slab_cell(s, obj);
  lm_off_t w = slab_map_word(s, g);
  word_set(base, w, word_get(base, w) | (1u << (g & 31)));
  return obj;
}

/* The map bit of p, an A-aligned offset in slab s: its word's offset in
 * *w, the bit in *bit, and the word's value returned, or 0 (no bit set)
 * where p lies in the header or, with A = 8, where no object starts. A
 * bit is set only where an allocated object starts, so with A = 16 (the
 * cell's size: objects start at multiples of 16, and so does p) a set bit
 * alone says that one starts at p; with A = 8 an object may start
 * mid-cell, and p is checked against the object grid first. */
static inline uint32_t slab_map_of(uintptr_t base, lm_off_t s, lm_off_t p,
                                   lm_off_t *w, uint32_t *bit) {
  uint32_t g = slab_cell(s, p);
  *w = slab_map_word(s, g);
  *bit = 1u << (g & 31);
  if (p < s + LM_SLAB_HEADER)
    return 0;
  if (LM_ALIGN < LM_SLAB_MIN_OBJECT && slab_index(base, s, p) < 0)
    return 0;
  return word_get(base, *w);
}

/* Whether an allocated object starts at offset p of slab s. */
static inline int slab_live(const lm_heap_t *h, lm_off_t s, lm_off_t p) {
  lm_off_t w;
  uint32_t bit;
  return (slab_map_of(heap_base(h), s, p, &w, &bit) & bit) != 0;
}

/* Whether no object of slab s is allocated. O(1): 32 bytes of map. */
static inline int slab_empty(uintptr_t base, lm_off_t s) {
  uint32_t any = 0;
  for (uint32_t i = 0; i < SLAB_MAP_WORDS; i++)
    any |= word_get(base, s + SLAB_MAP + 4 * i);
  return !any;
}

/* The rare cases of slab_put, out of line so that its common path stays
 * short enough to inline into free(): a pointer where no allocated object
 * starts (reported: as a double free when `freeing`, for free and
 * realloc, else as a use after free, as heap.c's refused() words a
 * block's; realloc and usable_size call lm_slab_refused directly for a
 * pointer slab_live refuses), and a slab that was full (back on its list)
 * or is now empty (back to the heap). */
void lm_slab_refused(lm_heap_t *h, lm_off_t s, lm_off_t p, int freeing);
void lm_slab_was_full(lm_heap_t *h, lm_off_t s);

/* Frees the object at offset p of slab s. A double free, or a pointer
 * into the slab where no allocated object starts, is reported and changes
 * nothing. O(1). */
static inline __attribute__((always_inline)) void
slab_put(lm_heap_t *h, lm_off_t s, lm_off_t p) {
  uintptr_t base = heap_base(h);
  lm_off_t w;
  uint32_t bit, bits = slab_map_of(base, s, p, &w, &bit);
  if (__builtin_expect(!(bits & bit), 0)) {
    lm_slab_refused(h, s, p, 1);
    return;
  }
  word_set(base, w, bits & ~bit);
  lm_off_t first = word_get(base, s + SLAB_FREE);
  word_set(base, p, first ^ LM_MASK(h->key));
  word_set(base, s + SLAB_FREE, p);
  /* Empty only if the map word just cleared is 0: only then the others
   * are read. */
  if (__builtin_expect(!(bits & ~bit), 0) && slab_empty(base, s))
    lm_slab_release(h, s);
  else if (__builtin_expect(!first && !word_get(base, s + SLAB_BUMP), 0))
    lm_slab_was_full(h, s);
}

/* slab_put, out of line: for realloc, and for free() too when built for
 * size (slab_free below). */
void lm_slab_put(lm_heap_t *h, lm_off_t s, lm_off_t p);

/* What free() calls for a slab object: slab_put inlined when built for
 * speed, the one out-of-line copy when built for size (-Os, -Oz), which is
 * how bench/size.sh builds the module it measures. */
#ifdef __OPTIMIZE_SIZE__
#define slab_free lm_slab_put
#else
#define slab_free slab_put
#endif

/* Calls fn for every object slot of slab s in address order, with whether
 * it is in use (its map bit). Used by the walker's visitors. */
typedef int (*lm_slab_object_fn)(lm_heap_t *h, lm_off_t obj, uint32_t size,
                                 int used, void *ctx);
int lm_slab_objects(lm_heap_t *h, lm_off_t s, lm_slab_object_fn fn, void *ctx);

/* Fills map with one bit per free object of slab s (on the free list or
 * never handed out), following the free list for at most capacity steps
 * so a corrupt list cannot loop.
 * Returns 0, or the LM_SLAB_* faults found (a bad header leaves map
 * empty). Used by the checker; never allocates. */
#define LM_SLAB_BAD_HEADER 1 /* size, multiplier or bump is not valid */
#define LM_SLAB_BAD_LINK 2   /* the free list points where no object is */
#define LM_SLAB_CYCLE 4      /* the free list repeats an object */
#define LM_SLAB_LISTED_USED 8 /* an object on the free list is allocated */
int lm_slab_free_map(lm_heap_t *h, lm_off_t s, uint32_t map[SLAB_MAP_WORDS]);

#endif /* LM_SLAB_H */
