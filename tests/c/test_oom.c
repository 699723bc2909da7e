/* test_oom: running out of memory under lm_set_heap_limit.
 *
 *   1. With a cap 1 MiB above what the heap holds, 1 KiB blocks until one
 *      fails: ENOMEM, heap_bytes never above the cap, every block keeps its
 *      bytes, lm_check() == 0.
 *   2. At the cap every kind of request fails cleanly (malloc, calloc,
 *      aligned_alloc, realloc keeps its block), without touching the heap.
 *   3. Free every other block: exactly that many 1 KiB blocks fit again,
 *      with no growth; then a run of adjacent blocks freed together serves
 *      one bigger block.
 *   4. A cap below what the heap holds only stops growth; cap 0 lifts it.
 *   5. In a heap that cannot grow, a request that only a free block other
 *      than the first of its size class fits is served from it, not
 *      refused.
 */
#include "testlib.h"

#define MAX_BLOCKS 4096
#define BS 1024

static char *blk[MAX_BLOCKS];
static int nblk;

static uint32_t tag_of(int i) { return tl_tag(0x00E, (uint32_t)i); }

static void verify_all(const char *when) {
  int bad = 0;
  for (int i = 0; i < nblk; i++)
    if (blk[i] && tl_verify(blk[i], BS, tag_of(i)) != BS)
      bad++;
  CHECK(bad == 0, "%d blocks lost bytes %s", bad, when);
}

/* Every request below must fail with ENOMEM and change nothing. */
static void expect_enomem(const char *what, void *p) {
  int e = errno;
  CHECK(p == NULL, "%s fails at the cap (got %p)", what, p);
  CHECK(e == ENOMEM, "%s sets ENOMEM (errno %d)", what, e);
  if (p)
    lm_free(p);
}

/* Walk state: used blocks in address order, to find adjacent ones. */
typedef struct run_finder {
  lm_block_info_t prev;
  int have_prev;
  int run;           /* adjacent used blocks of ours ending at prev */
  const void *first; /* payload of the run's first block */
  int want;
  const void *found;
} run_finder_t;

static int is_ours(const void *p) {
  for (int i = 0; i < nblk; i++)
    if (blk[i] == p)
      return 1;
  return 0;
}

static int find_run(const lm_block_info_t *b, void *ctx) {
  run_finder_t *r = (run_finder_t *)ctx;
  int ours = b->used && is_ours(b->ptr);
  int adjacent =
      r->have_prev && r->prev.span == b->span &&
      (const char *)r->prev.header + r->prev.size == (const char *)b->header;
  if (!ours) {
    r->run = 0;
  } else if (r->run > 0 && adjacent) {
    r->run++;
  } else {
    r->run = 1;
    r->first = b->ptr;
  }
  r->prev = *b;
  r->have_prev = 1;
  if (r->run == r->want) {
    r->found = r->first;
    return 1;
  }
  return 0;
}

int main(void) {
  printf("test_oom: %d-byte blocks under a heap limit\n", BS);
  fflush(stdout);
  lm_free(tl_keep(lm_malloc(1)));
  lm_stats_t s0 = tl_stats();

  /* 1. Fill up to the cap. */
  size_t limit = (s0.heap_bytes + 65535) / 65536 * 65536 + ((size_t)1 << 20);
  lm_set_heap_limit(limit);
  int over = 0, failed_errno = 0;
  for (nblk = 0; nblk < MAX_BLOCKS; nblk++) {
    errno = 0;
    blk[nblk] = lm_malloc(BS);
    if (!blk[nblk]) {
      failed_errno = errno;
      break;
    }
    tl_fill(blk[nblk], BS, tag_of(nblk));
    lm_stats_t s = tl_stats();
    if (s.heap_bytes > limit)
      over++;
  }
  lm_stats_t s1 = tl_stats();
  printf("limit %zu: %d blocks, heap_bytes %zu, pages_grown %zu\n", limit, nblk,
         s1.heap_bytes, s1.pages_grown);
  CHECK(nblk < MAX_BLOCKS, "the heap ran out before %d blocks", MAX_BLOCKS);
  CHECK(failed_errno == ENOMEM, "the failing malloc set ENOMEM (errno %d)",
        failed_errno);
  CHECK(over == 0, "heap_bytes went over the limit %d times", over);
  CHECK(s1.heap_bytes <= limit, "heap_bytes %zu <= limit %zu", s1.heap_bytes,
        limit);
  CHECK(s1.heap_bytes + 65536 > limit,
        "the heap grew as far as the limit allows (%zu of %zu)", s1.heap_bytes,
        limit);
  CHECK(nblk >= (int)(((size_t)1 << 20) / (BS + 64)),
        "at least 1 MiB of blocks fit (%d blocks)", nblk);
  CHECK(tl_lm_check() == 0, "heap healthy at the cap");
  verify_all("at the cap");

  /* 2. Everything fails cleanly at the cap. */
  errno = 0;
  expect_enomem("malloc(1 KiB)", tl_keep(lm_malloc(BS)));
  errno = 0;
  expect_enomem("malloc(256 KiB)", tl_keep(lm_malloc(256 * 1024)));
  errno = 0;
  expect_enomem("malloc(16 MiB)", tl_keep(lm_malloc(16u << 20)));
  errno = 0;
  expect_enomem("calloc(100, 1000)", tl_keep(lm_calloc(100, 1000)));
  errno = 0;
  expect_enomem("aligned_alloc(4096, 2048)",
                tl_keep(lm_aligned_alloc(4096, 2048)));
  errno = 0;
  expect_enomem("aligned_alloc(64, 1024)", tl_keep(lm_aligned_alloc(64, BS)));
  for (int k = 0; k < 3 && nblk > 0; k++) {
    int i = k == 0 ? 0 : k == 1 ? nblk / 2 : nblk - 1;
    errno = 0;
    char *q = lm_realloc(blk[i], 64 * 1024);
    expect_enomem("realloc(block, 64 KiB)", q);
    if (q)
      blk[i] = q;
    CHECK(lm_usable_size(blk[i]) >= BS && lm_usable_size(blk[i]) < 64 * 1024,
          "failed realloc kept the block's size (%zu)", lm_usable_size(blk[i]));
  }
  lm_stats_t s2 = tl_stats();
  CHECK(s2.heap_bytes == s1.heap_bytes && s2.used_blocks == s1.used_blocks &&
            s2.free_blocks == s1.free_blocks,
        "failed requests left the heap as it was");
  CHECK(tl_lm_check() == 0, "heap healthy after failed requests");
  verify_all("after failed requests");

  /* 3. Free half: the same number of blocks fit again, without growth. */
  int freed = 0;
  for (int i = 0; i < nblk; i += 2) {
    lm_free(blk[i]);
    blk[i] = NULL;
    freed++;
  }
  CHECK(tl_lm_check() == 0, "heap healthy after freeing half");
  verify_all("after freeing half");
  int again = 0;
  for (int i = 0; i < nblk; i += 2) {
    blk[i] = lm_malloc(BS);
    if (!blk[i])
      break;
    tl_fill(blk[i], BS, tag_of(i));
    again++;
  }
  CHECK(again == freed, "%d blocks freed, %d fit again", freed, again);
  errno = 0;
  expect_enomem("malloc(1 KiB) with the freed space used up",
                tl_keep(lm_malloc(BS)));
  lm_stats_t s3 = tl_stats();
  CHECK(s3.heap_bytes == s1.heap_bytes, "no growth while reusing (%zu -> %zu)",
        s1.heap_bytes, s3.heap_bytes);
  CHECK(tl_lm_check() == 0, "heap healthy after reuse");
  verify_all("after reuse");

  /* A run of 40 adjacent blocks, freed, merges into one region. */
  run_finder_t r = {.want = 40};
  lm_walk(find_run, &r);
  CHECK(r.found != NULL, "40 adjacent blocks of ours exist");
  if (r.found) {
    /* Free the 40 blocks from r.found on, in address order (walk again). */
    size_t span_bytes = 0;
    const char *at = (const char *)r.found;
    for (int k = 0; k < 40; k++) {
      tl_found_t f = tl_find(at);
      if (!f.found)
        break;
      span_bytes += f.info.size;
      const char *next = f.has_next ? (const char *)f.next.ptr : NULL;
      for (int i = 0; i < nblk; i++)
        if (blk[i] == at) {
          lm_free(blk[i]);
          blk[i] = NULL;
        }
      at = next;
      if (!at)
        break;
    }
    size_t want = span_bytes - 64;
    char *big = lm_malloc(want);
    CHECK(big != NULL, "one %zu-byte block fits where 40 adjacent blocks were",
          want);
    if (big)
      memset(big, 0x42, want);
    lm_stats_t s4 = tl_stats();
    CHECK(s4.heap_bytes == s1.heap_bytes, "and the heap did not grow");
    lm_free(big);
  }
  CHECK(tl_lm_check() == 0, "heap healthy after the run");
  verify_all("after the run");

  /* 4. A cap below what the heap holds: no growth, reuse still works. */
  lm_set_heap_limit(65536);
  char *small = lm_malloc(100);
  CHECK(small != NULL, "small requests still fit below a low cap");
  errno = 0;
  expect_enomem("malloc(4 MiB) under a cap below the heap",
                tl_keep(lm_malloc(4u << 20)));
  lm_free(small);
  lm_set_heap_limit(0);
  char *huge = lm_malloc(4u << 20);
  CHECK(huge != NULL, "cap 0 lifts the limit: malloc(4 MiB)");
  if (huge)
    memset(huge, 0x24, 4u << 20);
  lm_stats_t s5 = tl_stats();
  CHECK(s5.heap_bytes > limit, "the heap grew past the old cap (%zu)",
        s5.heap_bytes);
  lm_free(huge);
  verify_all("at the end");

  /* 5. Two free blocks in one size class (100,016 and 100,032 bytes with
   * header and seal), the smaller first in its list: a request that needs
   * the larger one must find it when the heap cannot grow. */
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "a heap of its own");
  if (h) {
    char *a = lm_heap_malloc(h, 100008), *k1 = lm_heap_malloc(h, 300);
    char *b = lm_heap_malloc(h, 100024), *k2 = lm_heap_malloc(h, 300);
    CHECK(a && k1 && b && k2, "two large blocks, each kept apart");
    lm_stats_t hs = {.version = LM_STATS_VERSION, .size = sizeof hs};
    CHECK(lm_heap_stats(h, &hs) == 0 && hs.heap_bytes > 0, "its stats");
    lm_heap_set_limit(h, hs.heap_bytes);
    int filled = 0;
    while (lm_heap_malloc(h, 300) && filled < 100000) /* top used up */
      filled++;
    lm_heap_free(h, b);
    lm_heap_free(h, a); /* a is now first in the class */
    errno = 0;
    char *y = lm_heap_malloc(h, 100024);
    CHECK(y == b, "malloc(100024) takes the free block that fits (got %p, "
          "the block at %p fits; errno %d)", (void *)y, (void *)b, errno);
    CHECK(lm_heap_malloc(h, 100024) == NULL && errno == ENOMEM,
          "and one more fails with ENOMEM: a's block is too small");
    CHECK(lm_heap_check(h) == 0, "that heap is healthy");
    lm_heap_destroy(h);
  }
  for (int i = 0; i < nblk; i++)
    lm_free(blk[i]);
  tl_check_all_free("after freeing everything");
  CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
