/* test_foreign: a heap that is not contiguous, because other code grows
 * the same memory between allocations (lm_pages_foreign_grow, the page
 * source's test hook from src/pages.h: the one internal name used here).
 *
 *   1. Allocations interleaved with foreign growth of 1..3 pages: more
 *      than one span, every block keeps its bytes, lm_check() == 0 after
 *      every step, the walk sees each block inside one span.
 *   2. realloc of the last block of a span, when foreign pages follow the
 *      span, moves it (and keeps its bytes); the last block of the newest
 *      span still grows in place.
 *   3. Free everything: one free block per span.
 */
#include "testlib.h"

#include "pages.h"

#define MAXB 1000

typedef struct blk {
  char *p;
  size_t size;
  uint32_t tag;
} blk_t;

static blk_t b[MAXB];
static int nb;
static uint32_t serial;

static void add(size_t size) {
  if (nb == MAXB)
    return;
  char *p = lm_malloc(size);
  CHECK(p != NULL, "malloc(%zu)", size);
  if (!p)
    return;
  CHECK(tl_aligned(p, LM_ALIGNMENT), "aligned");
  for (int i = 0; i < nb; i++)
    if (p < b[i].p + b[i].size && b[i].p < p + size) {
      CHECK(0, "malloc(%zu) = %p overlaps a live block %p (%zu)", size,
            (void *)p, (void *)b[i].p, b[i].size);
      break;
    }
  blk_t x = {p, size, tl_tag(0xF0, serial++)};
  tl_fill(p, size, x.tag);
  b[nb++] = x;
}

static void drop(int i) {
  CHECK(tl_verify(b[i].p, b[i].size, b[i].tag) == b[i].size,
        "block %p (%zu) kept its bytes until freed", (void *)b[i].p, b[i].size);
  lm_free(b[i].p);
  b[i] = b[--nb];
}

static void verify_all(const char *when) {
  int bad = 0;
  for (int i = 0; i < nb; i++)
    if (tl_verify(b[i].p, b[i].size, b[i].tag) != b[i].size)
      bad++;
  CHECK(bad == 0, "%d of %d blocks lost bytes %s", bad, nb, when);
}

static void foreign(uint32_t pages) {
  CHECK(lm_pages_foreign_grow(pages) == 0, "foreign growth of %u pages", pages);
}

/* Walk: the blocks of each span (slabs included, their objects not)
 * chain without gaps, in increasing address order. */
typedef struct span_walk {
  lm_block_info_t prev;
  int have_prev, gaps, backwards;
} span_walk_t;

static int chain_visit(const lm_block_info_t *x, void *ctx) {
  span_walk_t *w = (span_walk_t *)ctx;
  if (x->kind == LM_KIND_OBJECT)
    return 0; /* inside the slab before it: not part of the chain */
  if (w->have_prev) {
    if ((const char *)x->header <= (const char *)w->prev.header)
      w->backwards++;
    if (x->span == w->prev.span &&
        (const char *)w->prev.header + w->prev.size != (const char *)x->header)
      w->gaps++;
    if (x->span != w->prev.span && x->span != w->prev.span + 1)
      w->gaps++;
  }
  w->prev = *x;
  w->have_prev = 1;
  return 0;
}

static void check_chain(const char *when) {
  span_walk_t w = {0};
  lm_walk(chain_visit, &w);
  CHECK(w.gaps == 0 && w.backwards == 0,
        "%s: walk chain has %d gaps, %d steps backwards", when, w.gaps,
        w.backwards);
}

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  foreign(1); /* before lmalloc has ever grown */

  /* 1. Interleave. */
  for (int round = 0; round < 40; round++) {
    int k = (int)tl_range(1, 6);
    for (int j = 0; j < k; j++)
      add(tl_range(0, 4) ? (size_t)tl_range(1, 3000)
                         : (size_t)tl_range(20000, 150000));
    if (nb > 0 && tl_range(0, 2) == 0)
      drop((int)tl_range(0, (uint64_t)nb - 1));
    if (round % 2 == 0)
      foreign((uint32_t)tl_range(1, 3));
    /* Larger than the free end of the heap, so lmalloc must grow now. */
    add((size_t)tl_range(200000, 400000));
    size_t bad = tl_lm_check();
    CHECK(bad == 0, "round %d: lm_check found %zu problems", round, bad);
  }
  lm_stats_t s1 = tl_stats();
  printf("after interleaving: %d blocks, %zu spans, heap_bytes %zu\n", nb,
         s1.spans, s1.heap_bytes);
  CHECK(s1.spans > 1, "foreign growth split the heap (%zu spans)", s1.spans);
  verify_all("after interleaving");
  check_chain("after interleaving");

  /* 2. The last block of a span cannot grow into foreign pages. */
  lm_stats_t s = tl_stats();
  size_t n = s.largest_free + 4096; /* must come from fresh pages */
  char *p = lm_malloc(n);
  CHECK(p != NULL, "malloc(%zu)", n);
  if (p) {
    tl_fill(p, n, 0x5A);
    tl_found_t f = tl_find(p);
    CHECK(f.found && (!f.has_next || !f.next.used),
          "a block bigger than any free block is last in its span");
    foreign(2);
    lm_stats_t before = tl_stats();
    size_t m = n + before.largest_free + 200000;
    char *q = lm_realloc(p, m);
    CHECK(q != NULL, "realloc(%zu -> %zu) across foreign pages", n, m);
    if (q) {
      CHECK(q != p, "the block moved: foreign pages follow its span");
      CHECK(tl_verify(q, n, 0x5A) == n, "moving realloc kept the bytes");
      p = q;
      tl_fill(p, m, 0x5B);
      n = m;
    }
    lm_stats_t after = tl_stats();
    CHECK(after.spans == before.spans + 1,
          "the moved block started a new span (%zu -> %zu)", before.spans,
          after.spans);
    CHECK(tl_lm_check() == 0, "heap healthy after the move");

    /* The newest span's last block grows in place. */
    f = tl_find(p);
    CHECK(f.found && (!f.has_next || !f.next.used), "p is last in its span");
    q = lm_realloc(p, n + 300000);
    CHECK(q == p, "the newest span's last block grows in place (%p -> %p)",
          (void *)p, (void *)q);
    if (q) {
      p = q;
      CHECK(tl_verify(p, n, 0x5B) == n, "growing in place kept the bytes");
    }
    verify_all("after the reallocs");
    check_chain("after the reallocs");
    lm_free(p);
  }
  CHECK(tl_lm_check() == 0, "heap healthy");

  /* 3. Free everything. */
  while (nb > 0)
    drop((int)tl_range(0, (uint64_t)nb - 1));
  CHECK(tl_lm_check() == 0, "heap healthy after freeing everything");
  tl_check_all_free("after freeing everything");
  lm_stats_t s3 = tl_stats();
  printf("at the end: %zu spans, %zu free blocks, largest free %zu\n", s3.spans,
         s3.free_blocks, s3.largest_free);

  /* Spans are reused: a block that fits in the largest free region does
   * not grow the heap. */
  char *r = lm_malloc(s3.largest_free - 64);
  CHECK(r != NULL, "malloc(largest_free - 64)");
  lm_stats_t s4 = tl_stats();
  CHECK(s4.pages_grown == s3.pages_grown, "no growth for a block that fits");
  lm_free(r);
  CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
