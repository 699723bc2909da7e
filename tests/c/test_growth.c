/* test_growth: the heap grows across hundreds of 64 KiB pages, gives all
 * of it back as one free region per span, and reuses it without growing.
 *
 *   1. 300 blocks of 100 KiB: contents intact, pages_grown covers them,
 *      heap_bytes grew by exactly the pages grown.
 *   2. Free all: one free block per span.
 *   3. The same 300 blocks again, then 600 half-size blocks, then one block
 *      of almost everything: no memory.grow at all.
 *   4. One block realloc'ed from 1 KiB to 48 MiB in 1.5x steps: in place
 *      while only free memory follows it, bytes kept.
 */
#include "testlib.h"

#define N 300
#define SZ ((size_t)100 * 1024)

static char *blk[2 * N];

static void fill_all(int n, size_t size, uint32_t round) {
  for (int i = 0; i < n; i++) {
    blk[i] = lm_malloc(size);
    CHECK(blk[i] != NULL, "round %u: malloc(%zu) #%d", round, size, i);
    if (!blk[i])
      continue;
    CHECK(tl_aligned(blk[i], LM_ALIGNMENT), "aligned");
    CHECK(lm_usable_size(blk[i]) >= size, "usable");
    tl_fill(blk[i], size, tl_tag(round, (uint32_t)i));
  }
  for (int i = 0; i < n; i++)
    if (blk[i])
      CHECK(tl_verify(blk[i], size, tl_tag(round, (uint32_t)i)) == size,
            "round %u: block %d kept its bytes", round, i);
  CHECK(tl_lm_check() == 0, "round %u: heap healthy with %d blocks", round, n);
}

static void free_all(int n) {
  for (int i = 0; i < n; i++) {
    lm_free(blk[i]);
    blk[i] = NULL;
  }
  CHECK(tl_lm_check() == 0, "heap healthy after freeing all");
}

int main(void) {
  printf("test_growth: %d blocks of %zu bytes\n", N, SZ);
  fflush(stdout);
  lm_free(tl_keep(lm_malloc(1))); /* the heap exists from here on */
  lm_stats_t s0 = tl_stats();

  /* 1. Grow. */
  fill_all(N, SZ, 1);
  lm_stats_t s1 = tl_stats();
  size_t need = N * SZ;
  size_t had = s0.free_bytes; /* what could be served without growing */
  size_t min_pages = need > had ? (need - had) / 65536 : 0;
  printf("grown: %zu pages in %zu memory.grow calls, heap_bytes %zu, spans "
         "%zu\n",
         s1.pages_grown - s0.pages_grown, s1.grow_count - s0.grow_count,
         s1.heap_bytes, s1.spans);
  CHECK(s1.pages_grown - s0.pages_grown >= min_pages,
        "%zu bytes need at least %zu new pages, %zu were grown", need,
        min_pages, s1.pages_grown - s0.pages_grown);
  CHECK(s1.heap_bytes - s0.heap_bytes ==
            (s1.pages_grown - s0.pages_grown) * 65536,
        "heap_bytes grew by the pages grown (%zu -> %zu, %zu pages)",
        s0.heap_bytes, s1.heap_bytes, s1.pages_grown - s0.pages_grown);
  CHECK(s1.grow_count > s0.grow_count, "memory.grow was called");
  CHECK(s1.heap_bytes >= need, "heap_bytes %zu holds %zu", s1.heap_bytes, need);
  CHECK(s1.used_blocks >= N && s1.used_bytes >= need,
        "stats count the blocks (%zu blocks, %zu bytes)", s1.used_blocks,
        s1.used_bytes);

  /* 2. Free all. */
  free_all(N);
  tl_check_all_free("after freeing 300 blocks");
  lm_stats_t s2 = tl_stats();
  CHECK(s2.heap_bytes == s1.heap_bytes, "freeing does not shrink the heap");

  /* 3. Reuse without growing. */
  fill_all(N, SZ, 2);
  lm_stats_t s3 = tl_stats();
  CHECK(s3.pages_grown == s2.pages_grown && s3.heap_bytes == s2.heap_bytes,
        "the same 300 blocks again: no growth (pages %zu -> %zu)",
        s2.pages_grown, s3.pages_grown);
  free_all(N);
  fill_all(2 * N, SZ / 2 - 64, 3);
  lm_stats_t s4 = tl_stats();
  CHECK(s4.pages_grown == s2.pages_grown,
        "600 half-size blocks: no growth (pages %zu -> %zu)", s2.pages_grown,
        s4.pages_grown);
  free_all(2 * N);
  tl_check_all_free("after freeing 600 blocks");

  lm_stats_t s5 = tl_stats();
  /* Everything merged back: the blocks freed form one free region (blocks
   * libc took before the test, on wasm, lie below them), and one block of
   * almost all of it fits without growing. */
  CHECK(s5.largest_free >= N * SZ,
        "the freed blocks merged into one region (largest free %zu)",
        s5.largest_free);
  {
    size_t n = s5.largest_free - 4096;
    char *p = lm_malloc(n);
    CHECK(p != NULL, "malloc(%zu) from the largest free region", n);
    lm_stats_t s6 = tl_stats();
    CHECK(s6.pages_grown == s5.pages_grown,
          "one block of %zu bytes: no growth (pages %zu -> %zu)", n,
          s5.pages_grown, s6.pages_grown);
    if (p) {
      p[0] = 1;
      p[n - 1] = 2;
    }
    lm_free(p);
  }
  CHECK(tl_lm_check() == 0, "heap healthy after reuse");

  /* 4. Realloc a block up through the free region and past the end. At
   * each step the walk says whether the spec promises growth in place: the
   * next block is free and big enough, or it is the free end of the only
   * span (or there is no next block), where memory.grow extends it. */
  size_t size = 1024;
  char *p = lm_malloc(size);
  CHECK(p != NULL, "malloc(1024)");
  if (p)
    tl_fill(p, size, 0x99);
  int in_place = 0, moved = 0;
  while (p && size < (48u << 20)) {
    size_t next = size + size / 2;
    tl_found_t f = tl_find(p);
    int free_next = f.found && f.has_next && !f.next.used;
    int fits = free_next && f.info.usable + f.next.size >= next;
    int at_end = f.found && s5.spans == 1 && !f.has_next;
    if (free_next && s5.spans == 1) {
      tl_found_t g = tl_find(f.next.ptr);
      at_end = g.found && !g.has_next;
    }
    char *q = lm_realloc(p, next);
    CHECK(q != NULL, "realloc to %zu", next);
    if (!q)
      break;
    if (fits || at_end)
      CHECK(q == p, "realloc %zu -> %zu in place: %s follows", size, next,
            fits ? "a big enough free block" : "the free end of the heap");
    in_place += q == p;
    moved += q != p;
    CHECK(tl_verify(q, size, 0x99) == size, "realloc %zu -> %zu kept bytes",
          size, next);
    p = q;
    for (size_t i = size; i < next; i++) /* continue the same pattern */
      p[i] = (char)tl_pattern_byte(0x99, i);
    size = next;
  }
  printf("realloc up to %zu bytes: %d in place, %d moved\n", size, in_place,
         moved);
  CHECK(tl_lm_check() == 0, "heap healthy after growing by realloc");
  lm_stats_t s7 = tl_stats();
  CHECK(s7.heap_bytes >= size, "heap_bytes %zu holds the %zu-byte block",
        s7.heap_bytes, size);
  lm_free(p);
  tl_check_all_free("at the end");
  CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
