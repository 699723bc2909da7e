/* big_heap: a heap that grows past 1 GiB and past 2 GiB.
 *
 * On wasm32 every address at or above 2^31 is negative as an int32_t and
 * every size above 2^31 - 1 is negative as a ptrdiff_t: a signed size or
 * offset anywhere in the allocator breaks here and nowhere else. This test
 * puts blocks, slab objects, calloc'd, realloc'd and over-aligned blocks
 * above 2^31, makes a free block and then a used block larger than 2 GiB,
 * and checks contents and lm_check() == 0 at each step.
 *
 * To stay fast and small in RAM (the heap is 2.25 GiB of address space but
 * only the bytes written are ever resident), each big block has only a
 * 64-byte window at its start and one at its end written and checked;
 * small objects are filled completely.
 *
 *   node tests/run-wasi.mjs big_heap.wasm [--seed N]
 */
#include "testlib.h"

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)
#define HIGH ((uintptr_t)1 << 31) /* the first address with bit 31 set */
#define WINDOW 64
#define MAX_BIG 1024
#define SMALL 4096

typedef struct big {
  unsigned char *p;
  size_t size;
  uint32_t tag;
} big_t;

static big_t big[MAX_BIG];
static size_t nbig;

static size_t heap_bytes(void) { return tl_stats().heap_bytes; }
static int high(const void *p) { return (uintptr_t)p >= HIGH; }

/* Writes the start and end windows of a block. */
static void mark(unsigned char *p, size_t size, uint32_t tag) {
  tl_fill(p, WINDOW, tag);
  tl_fill(p + size - WINDOW, WINDOW, ~tag);
}

static int marked(const unsigned char *p, size_t size, uint32_t tag) {
  return tl_verify(p, WINDOW, tag) == WINDOW &&
         tl_verify(p + size - WINDOW, WINDOW, ~tag) == WINDOW;
}

/* Allocates big block i of `size` bytes and marks it; 0 on failure. */
static int big_new(size_t i, size_t size) {
  unsigned char *p = tl_keep(malloc(size));
  CHECK(p != NULL, "malloc(%zu) with the heap at %zu bytes", size,
        heap_bytes());
  if (!p)
    return 0;
  CHECK(tl_aligned(p, LM_ALIGNMENT), "%p is 16-aligned", (void *)p);
  CHECK(lm_usable_size(p) >= size, "usable size %zu >= %zu", lm_usable_size(p),
        size);
  big[i] = (big_t){p, size, tl_tag((uint32_t)i, (uint32_t)size)};
  mark(p, size, big[i].tag);
  return 1;
}

static void big_free(size_t i) {
  free(big[i].p);
  big[i].p = NULL;
}

/* Every live big block still holds its windows. Returns how many live
 * blocks lie at or above 2^31 and how many straddle it. */
static void verify_big(const char *when, size_t *above, size_t *across) {
  size_t bad = 0, hi = 0, cross = 0;
  for (size_t i = 0; i < nbig; i++) {
    if (!big[i].p)
      continue;
    if (!marked(big[i].p, big[i].size, big[i].tag)) {
      if (++bad <= 5)
        CHECK(0, "%s: block %zu at %p (%zu bytes) lost its contents", when, i,
              (void *)big[i].p, big[i].size);
    }
    hi += high(big[i].p);
    cross += !high(big[i].p) && high(big[i].p + big[i].size - 1);
  }
  CHECK(bad == 0, "%s: %zu blocks lost their contents", when, bad);
  if (above)
    *above = hi;
  if (across)
    *across = cross;
}

static void check_heap(const char *when) {
  size_t n = tl_lm_check();
  CHECK(n == 0, "%s: lm_check() == 0, got %zu", when, n);
}

/* Walk: allocations at or above 2^31, and the largest entry. */
typedef struct walk_count {
  size_t high_allocations, largest, largest_used;
} walk_count_t;

static int walk_visit(const lm_block_info_t *b, void *ctx) {
  walk_count_t *w = ctx;
  if (tl_is_allocation(b) && high(b->ptr))
    w->high_allocations++;
  if (b->size > w->largest)
    w->largest = b->size;
  if (b->used && b->size > w->largest_used)
    w->largest_used = b->size;
  return 0;
}

static walk_count_t walk_count(void) {
  walk_count_t w = {0, 0, 0};
  lm_walk(walk_visit, &w);
  return w;
}

/* ---- phases ---------------------------------------------------------- */

/* Big blocks of 8-9 MiB, nothing freed, until the heap holds `target`
 * bytes. */
static void grow_to(size_t target) {
  while (heap_bytes() < target && nbig < MAX_BIG) {
    size_t size = 8 * MiB + (size_t)tl_range(0, MiB / 16) * 16;
    if (!big_new(nbig, size))
      return;
    nbig++;
  }
}

static unsigned char *small[SMALL];
static size_t small_size[SMALL];

/* Slab objects and small blocks: with no hole left below, blocks come
 * from the end of the heap, above 2^31, and so do new slabs (objects may
 * also fill slabs with room made before the big blocks, below). */
static void small_objects(void) {
  size_t above = 0, blocks = 0, blocks_above = 0;
  for (size_t i = 0; i < SMALL; i++) {
    size_t size =
        i % 8 == 7 ? (size_t)tl_range(257, 4096) : (size_t)tl_range(1, 256);
    small[i] = tl_keep(malloc(size));
    small_size[i] = size;
    CHECK(small[i] != NULL, "malloc(%zu) above 2 GiB", size);
    if (!small[i])
      return;
    tl_fill(small[i], size, tl_tag(0x5000 + (uint32_t)i, (uint32_t)size));
    above += high(small[i]);
    blocks += size > 256;
    blocks_above += size > 256 && high(small[i]);
  }
  printf("small allocations: %zu of %d above 2^31 (%zu of %zu blocks)\n", above,
         SMALL, blocks_above, blocks);
  CHECK(blocks_above >= blocks * 3 / 4 && above >= SMALL * 3 / 4,
        "most small allocations above 2^31: %zu of %d, blocks %zu of %zu",
        above, SMALL, blocks_above, blocks);
  size_t bad = 0;
  for (size_t i = 0; i < SMALL; i++) {
    uint32_t tag = tl_tag(0x5000 + (uint32_t)i, (uint32_t)small_size[i]);
    bad += tl_verify(small[i], small_size[i], tag) != small_size[i];
    tl_found_t f = tl_find(small[i]);
    if (i % 64 == 0)
      CHECK(f.found && f.info.used && f.info.usable >= small_size[i],
            "walker finds small allocation %zu at %p", i, (void *)small[i]);
  }
  CHECK(bad == 0, "%zu small allocations above 2^31 lost their contents", bad);
  for (size_t i = 0; i < SMALL; i += 2) {
    free(small[i]);
    small[i] = NULL;
  }
  check_heap("half the small allocations freed");
  for (size_t i = 1; i < SMALL; i += 2) {
    uint32_t tag = tl_tag(0x5000 + (uint32_t)i, (uint32_t)small_size[i]);
    bad += tl_verify(small[i], small_size[i], tag) != small_size[i];
  }
  CHECK(bad == 0, "small allocations intact after freeing their neighbours");
}

static void small_free_all(void) {
  for (size_t i = 0; i < SMALL; i++)
    free(small[i]);
}

/* calloc over dirty memory above 2^31 must clear it. */
static void calloc_high(void) {
  size_t i = nbig - 1;
  while (i > 0 && (!big[i].p || !high(big[i].p)))
    i--;
  CHECK(big[i].p && high(big[i].p), "a big block above 2^31 to recycle");
  unsigned char *old = big[i].p;
  size_t size = big[i].size;
  tl_fill(old, size, 0xC0FFEE); /* dirty the whole block once */
  big_free(i);
  unsigned char *z = tl_keep(calloc(1, size));
  CHECK(z != NULL, "calloc(%zu) after freeing a dirty block", size);
  if (!z)
    return;
  printf("calloc reused the dirty block: %s (%p)\n", z == old ? "yes" : "no",
         (void *)z);
  CHECK(tl_first_nonzero(z, size) == size, "calloc memory above 2^31 is zero");
  big[i] = (big_t){z, size, tl_tag((uint32_t)i, 0xCA11)};
  mark(z, size, big[i].tag);
}

/* realloc of a block above 2^31, growing and shrinking. */
static void realloc_high(void) {
  size_t i = nbig - 2;
  while (i > 0 && (!big[i].p || !high(big[i].p)))
    i--;
  unsigned char *p = big[i].p;
  CHECK(p && high(p), "a big block above 2^31 to realloc");
  size_t size = big[i].size;
  unsigned char *q = tl_keep(realloc(p, size + 16 * MiB));
  CHECK(q != NULL, "realloc above 2^31 grows to %zu", size + 16 * MiB);
  if (!q)
    return;
  CHECK(tl_verify(q, WINDOW, big[i].tag) == WINDOW,
        "realloc kept the first bytes (%p -> %p)", (void *)p, (void *)q);
  big[i].p = q;
  big[i].size = size + 16 * MiB;
  mark(q, big[i].size, big[i].tag);
  unsigned char *r = tl_keep(realloc(q, 4 * MiB));
  CHECK(r == q, "realloc shrinks in place above 2^31");
  big[i].p = r;
  big[i].size = 4 * MiB;
  mark(r, big[i].size, big[i].tag);
}

/* Over-aligned blocks above 2^31. */
static void aligned_high(void) {
  void *a[8];
  for (int k = 0; k < 8; k++) {
    size_t align = (size_t)1 << (12 + 2 * k % 16); /* 4 KiB ... 64 MiB */
    a[k] = tl_keep(aligned_alloc(align, 3 * MiB));
    CHECK(a[k] != NULL && tl_aligned(a[k], align), "aligned_alloc(%zu) = %p",
          align, a[k]);
    if (a[k])
      tl_fill(a[k], WINDOW, 0xA11 + (uint32_t)k);
  }
  check_heap("aligned blocks");
  for (int k = 0; k < 8; k++) {
    if (a[k])
      CHECK(tl_verify(a[k], WINDOW, 0xA11 + (uint32_t)k) == WINDOW,
            "aligned block %d intact", k);
    free(a[k]);
  }
}

/* Holes: free every third block, then allocate blocks of other sizes,
 * some of which go into the holes, below 2^31. */
static void holes(void) {
  for (size_t i = 0; i < nbig; i += 3)
    big_free(i);
  check_heap("every third block freed");
  verify_big("every third block freed", NULL, NULL);
  size_t refilled = 0, low = 0;
  for (size_t i = 0; i < nbig; i += 3) {
    size_t size = (size_t)tl_range(MiB, 8 * MiB) & ~(size_t)15;
    if (!big_new(i, size))
      break;
    refilled++;
    low += !high(big[i].p);
  }
  printf("refilled %zu holes, %zu of them below 2^31\n", refilled, low);
  CHECK(low > 0, "some refills landed in holes below 2^31");
  check_heap("holes refilled");
  verify_big("holes refilled", NULL, NULL);
}

/* One free block and then one used block larger than 2 GiB. */
static void huge_block(void) {
  /* Keep only the highest block: everything below it merges into one free
   * block of more than 2 GiB, which sits in a free list (not the top). */
  size_t last = 0;
  for (size_t i = 0; i < nbig; i++)
    if (big[i].p && (!big[last].p || big[i].p > big[last].p))
      last = i;
  for (size_t i = 0; i < nbig; i++)
    if (i != last)
      big_free(i);
  small_free_all();
  check_heap("all but the last block freed");
  lm_stats_t s = tl_stats();
  printf("largest free block: %zu bytes\n", s.largest_free);
  CHECK(s.largest_free > ((size_t)1 << 31),
        "a free block larger than 2 GiB: %zu", s.largest_free);
  walk_count_t w = walk_count();
  CHECK(w.largest == s.largest_free, "the walker sees it: %zu", w.largest);

  size_t want = 2 * GiB + 64 * MiB;
  size_t before = s.heap_bytes;
  unsigned char *h = tl_keep(malloc(want));
  CHECK(h != NULL, "malloc(%zu) from the free block", want);
  if (!h)
    return;
  CHECK(heap_bytes() == before, "no growth needed: %zu -> %zu", before,
        heap_bytes());
  CHECK(lm_usable_size(h) >= want, "usable %zu >= %zu", lm_usable_size(h),
        want);
  CHECK(!high(h) && high(h + want - 1), "it spans 2^31: %p + %zu", (void *)h,
        want);
  /* Windows at the start, across 2^31 and at the end. */
  unsigned char *mid = (unsigned char *)(HIGH - WINDOW / 2);
  mark(h, want, 0xB16);
  tl_fill(mid, WINDOW, 0x2031);
  w = walk_count();
  CHECK(w.largest_used >= want, "the walker sees a used block of %zu bytes",
        w.largest_used);
  check_heap("a used block of more than 2 GiB");

  unsigned char *r = tl_keep(realloc(h, GiB));
  CHECK(r == h, "shrinking it to 1 GiB stays in place");
  r = tl_keep(realloc(h, want));
  CHECK(r == h, "growing it back to %zu stays in place (next block free)",
        want);
  CHECK(tl_verify(h, WINDOW, 0xB16) == WINDOW &&
            tl_verify(mid, WINDOW, 0x2031) == WINDOW,
        "contents kept across shrink and grow");
  r = tl_keep(realloc(h, want + 128 * MiB)); /* must move or grow */
  CHECK(r != NULL && tl_verify(r, WINDOW, 0xB16) == WINDOW,
        "realloc to %zu keeps the first bytes", want + 128 * MiB);
  free(r ? r : h);
  check_heap("the huge block freed");
}

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  double t0 = tl_now();
  size_t above, across;

  grow_to(GiB + 16 * MiB);
  printf("past 1 GiB: heap %zu bytes, %zu blocks\n", heap_bytes(), nbig);
  CHECK(heap_bytes() > GiB, "heap past 1 GiB");
  verify_big("past 1 GiB", NULL, NULL);
  check_heap("past 1 GiB");

  grow_to(2 * GiB + 256 * MiB);
  verify_big("past 2 GiB", &above, &across);
  printf("past 2 GiB: heap %zu bytes, %zu blocks, %zu above 2^31, %zu "
         "across it\n",
         heap_bytes(), nbig, above, across);
  CHECK(heap_bytes() > 2 * GiB, "heap past 2 GiB");
  CHECK(above > 10, "blocks above 2^31: %zu", above);
  check_heap("past 2 GiB");
  walk_count_t w = walk_count();
  CHECK(w.high_allocations == above,
        "the walker sees %zu allocations above "
        "2^31, the test made %zu",
        w.high_allocations, above);

  small_objects();
  calloc_high();
  realloc_high();
  aligned_high();
  verify_big("after calloc, realloc, aligned", NULL, NULL);
  check_heap("after calloc, realloc, aligned");
  holes();
  huge_block();
  tl_check_all_free("end");
  check_heap("end");
  printf("time: %.2f s\n", tl_now() - t0);
  return tl_finish();
}
