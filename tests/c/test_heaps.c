/* test_heaps: heaps besides the default one (lmalloc_heaps.h).
 *
 *   1. Independence: seeded random malloc/calloc/realloc/aligned_alloc/free
 *      on four heaps at once (the default heap, two page-source heaps and
 *      a buffer heap), against a shadow of every live block. A new block
 *      overlaps no live block of any heap; every block keeps its bytes;
 *      the heap operated on passes lm_heap_check after every operation,
 *      all of them every 100; a free in one heap leaves the others' stats
 *      exactly as they were; each heap's walk holds exactly its own blocks.
 *   2. A buffer heap: an unaligned, dirty buffer; calloc still zeroes;
 *      filling it ends in NULL + ENOMEM without growth; after freeing
 *      everything the same allocations fit again; a buffer too small for
 *      slabs serves small requests from blocks; a buffer too small for a
 *      heap gives NULL + EINVAL.
 *   3. Destroy, then reuse: a destroyed heap's pages go to the page pool,
 *      and a new heap, then the default heap, take them instead of growing
 *      memory (pages_grown of lm_pool_info, and memory.size on wasm).
 *   4. Wrong heap: a pointer freed, reallocated, resized or measured
 *      through a heap that does not own it (another heap, the default
 *      heap, a buffer heap, an arena) is reported and changes nothing; so
 *      are destroying the default heap and destroying a heap twice.
 *   5. lm_heap_set_limit caps a created heap.
 *   6. Slabs at every alignment: buffer heaps whose free memory starts at
 *      every granule offset modulo 4 KiB, and is a top or a free block of
 *      every size around what a slab takes, each serve a small object
 *      that is written and freed without a report, and check clean.
 *   7. A slab's place is reused: when a slab empties (and does not merge
 *      into top), the next slab takes its place from the free lists.
 *   8. Slabs are cut from the end of the top block, blocks from its start:
 *      a block, two slabs and another block leave no free block but top
 *      (no alignment gap before a slab); the slabs lie side by side, the
 *      blocks too. When the slabs empty, they merge back into top. When
 *      a block does not fit in top, the heap grows and its new memory
 *      becomes top: the old top goes to the free lists and is used again.
 *
 *   test_heaps [--seed N] [--ops N]      default 6000 operations
 */
#include "testlib.h"

#define NHEAPS 4
#define MAX_LIVE 600
#define FIXED_BYTES (256 * 1024)

static lm_heap_t *heaps[NHEAPS];
static const char *names[NHEAPS] = {"default", "pages-1", "pages-2", "buffer"};
static unsigned long op_no;

/* lm_heap_check with its findings printed and counted, like tl_lm_check. */
static size_t heap_check(lm_heap_t *h) {
  unsigned long reported = 0;
  lm_set_report_handler(tl_print_report, &reported);
  size_t n = lm_heap_check(h);
  if (tl_active_reports)
    lm_set_report_handler(tl_count_report, tl_active_reports);
  else
    lm_set_report_handler(NULL, NULL);
  return n > reported ? n : (size_t)reported;
}

/* lm_heap_stats. (The debug library counts blocks in its quarantine as
 * used: tests that expect none flush it first, which the release
 * library's flush does nothing.) */
static lm_stats_t heap_stats(lm_heap_t *h) {
  lm_stats_t s;
  memset(&s, 0, sizeof s);
  s.version = LM_STATS_VERSION;
  s.size = sizeof s;
  CHECK(lm_heap_stats(h, &s) == 0, "lm_heap_stats");
  return s;
}

static uint64_t pages_grown(void) {
  lm_pool_info_t info;
  CHECK(lm_pool_info(&info) == 0, "lm_pool_info");
  return info.pages_grown;
}

/* ---------------------------------------------------------------------
 * 1. Independence
 * ------------------------------------------------------------------- */

typedef struct blk {
  int heap;
  char *p;
  size_t size, usable;
  uint32_t id, gen;
} blk_t;

static blk_t live[MAX_LIVE];
static int nlive;
static uint32_t next_id;
static size_t baseline[NHEAPS]; /* allocations already there (libc's) */

static uint32_t tag_of(const blk_t *b) { return tl_tag(b->id, b->gen); }

static size_t random_size(void) {
  uint64_t r = tl_range(0, 99);
  if (r < 70)
    return (size_t)tl_range(0, 256);
  if (r < 97)
    return (size_t)tl_range(257, 8192);
  return (size_t)tl_range(8193, 96 * 1024);
}

static void verify(const blk_t *b, const char *when) {
  size_t v = tl_verify(b->p, b->usable, tag_of(b));
  CHECK(v == b->usable, "op %lu: %s block %p (%zu bytes) byte %zu changed %s",
        op_no, names[b->heap], (void *)b->p, b->usable, v, when);
}

static void accept(blk_t *b, int zeroed, int self, size_t kept,
                   uint32_t old_tag) {
  b->usable = lm_heap_usable_size(heaps[b->heap], b->p);
  CHECK(b->usable >= b->size && tl_aligned(b->p, LM_ALIGNMENT),
        "op %lu: %s: %p usable %zu for %zu", op_no, names[b->heap],
        (void *)b->p, b->usable, b->size);
  for (int i = 0; i < nlive; i++) {
    if (i == self)
      continue;
    if (b->p < live[i].p + live[i].usable && live[i].p < b->p + b->usable) {
      CHECK(0, "op %lu: %s block [%p, +%zu) overlaps %s block [%p, +%zu)",
            op_no, names[b->heap], (void *)b->p, b->usable, names[live[i].heap],
            (void *)live[i].p, live[i].usable);
      break;
    }
  }
  if (zeroed)
    CHECK(tl_first_nonzero(b->p, b->size) == b->size,
          "op %lu: %s calloc(%zu) is not zero", op_no, names[b->heap], b->size);
  if (kept)
    CHECK(tl_verify(b->p, kept, old_tag) == kept,
          "op %lu: %s realloc lost bytes", op_no, names[b->heap]);
  tl_fill(b->p, b->usable, tag_of(b));
}

/* A NULL is a failure except from the buffer heap, which may be full. */
static void check_null(int k, const char *what, size_t size) {
  int e = errno;
  if (k == 3)
    CHECK(e == ENOMEM, "op %lu: full buffer heap: %s(%zu) sets ENOMEM (%d)",
          op_no, what, size, e);
  else
    CHECK(0, "op %lu: %s: %s(%zu) failed", op_no, names[k], what, size);
}

static void do_alloc(int k) {
  if (nlive == MAX_LIVE)
    return;
  blk_t b = {k, NULL, random_size(), 0, next_id++, 0};
  uint64_t kind = tl_range(0, 9);
  const char *what = kind < 6   ? "malloc"
                     : kind < 8 ? "calloc"
                                : "aligned_alloc";
  errno = 0;
  if (kind < 6)
    b.p = lm_heap_malloc(heaps[k], b.size);
  else if (kind < 8)
    b.p = lm_heap_calloc(heaps[k], 1, b.size);
  else
    b.p = lm_heap_aligned_alloc(heaps[k], (size_t)1 << tl_range(4, 12), b.size);
  if (!b.p) {
    check_null(k, what, b.size);
    return;
  }
  accept(&b, kind >= 6 && kind < 8, -1, 0, 0);
  live[nlive++] = b;
}

/* Stats of every heap but k: a free or realloc in k must not change them. */
static void others_stats(int k, lm_stats_t out[NHEAPS]) {
  for (int j = 0; j < NHEAPS; j++)
    if (j != k)
      out[j] = heap_stats(heaps[j]);
}

static void same_stats(int k, const lm_stats_t a[NHEAPS],
                       const lm_stats_t b[NHEAPS]) {
  for (int j = 0; j < NHEAPS; j++) {
    if (j == k)
      continue;
    CHECK(a[j].heap_bytes == b[j].heap_bytes &&
              a[j].used_bytes == b[j].used_bytes &&
              a[j].used_blocks == b[j].used_blocks &&
              a[j].free_bytes == b[j].free_bytes &&
              a[j].free_blocks == b[j].free_blocks,
          "op %lu: an operation on %s changed %s's stats", op_no, names[k],
          names[j]);
  }
}

static void do_free(int i) {
  blk_t b = live[i];
  verify(&b, "before free");
  static lm_stats_t before[NHEAPS], after[NHEAPS];
  int compare = op_no % 8 == 0;
  if (compare)
    others_stats(b.heap, before);
  lm_heap_free(heaps[b.heap], b.p);
  if (compare) {
    others_stats(b.heap, after);
    same_stats(b.heap, before, after);
  }
  live[i] = live[--nlive];
}

static void do_realloc(int i) {
  blk_t *b = &live[i];
  verify(b, "before realloc");
  size_t size = tl_range(0, 3) ? random_size() : b->size + tl_range(1, 64);
  if (size == 0)
    size = 1;
  errno = 0;
  char *q = lm_heap_realloc(heaps[b->heap], b->p, size);
  if (!q) {
    check_null(b->heap, "realloc", size);
    verify(b, "after a failed realloc");
    return;
  }
  size_t kept = b->size < size ? b->size : size;
  uint32_t old = tag_of(b);
  b->p = q;
  b->size = size;
  b->gen++;
  accept(b, 0, i, kept, old);
}

/* Each heap's walk holds its own live blocks and nothing else. */
typedef struct walk_list {
  const void *ptr[MAX_LIVE + 128];
  size_t n;
  int overflow;
} walk_list_t;

static int collect(const lm_block_info_t *b, void *ctx) {
  walk_list_t *w = (walk_list_t *)ctx;
  if (!tl_is_allocation(b))
    return 0;
  if (w->n == sizeof w->ptr / sizeof w->ptr[0])
    w->overflow = 1;
  else
    w->ptr[w->n++] = b->ptr;
  return 0;
}

static void compare_walks(void) {
  static walk_list_t w;
  for (int k = 0; k < NHEAPS; k++) {
    memset(&w, 0, sizeof w);
    lm_heap_walk(heaps[k], collect, &w);
    size_t mine = 0, found = 0;
    for (int i = 0; i < nlive; i++) {
      if (live[i].heap != k)
        continue;
      mine++;
      for (size_t j = 0; j < w.n; j++)
        if (w.ptr[j] == live[i].p) {
          found++;
          break;
        }
    }
    CHECK(!w.overflow && w.n == mine + baseline[k] && found == mine,
          "op %lu: %s's walk: %zu allocations, %zu of its %zu blocks (+%zu "
          "at start)",
          op_no, names[k], w.n, found, mine, baseline[k]);
  }
}

static void independence(unsigned long ops) {
  static char *buffer;
  heaps[0] = lm_heap_default();
  heaps[1] = lm_heap_create(NULL, 0);
  heaps[2] = lm_heap_create(NULL, 200 * 1024);
  buffer = lm_malloc(FIXED_BYTES + 7);
  CHECK(heaps[1] && heaps[2] && buffer, "two heaps and a buffer");
  if (!heaps[1] || !heaps[2] || !buffer)
    return;
  heaps[3] = lm_heap_create(buffer + 7, FIXED_BYTES); /* unaligned */
  CHECK(heaps[3] != NULL, "a heap in a buffer");
  if (!heaps[3])
    return;
  for (int k = 0; k < NHEAPS; k++)
    baseline[k] = heap_stats(heaps[k]).used_blocks;
  CHECK(baseline[1] == 0 && baseline[2] == 0 && baseline[3] == 0,
        "new heaps hold nothing");
  size_t buffer_bytes = heap_stats(heaps[3]).heap_bytes;

  for (op_no = 1; op_no <= ops; op_no++) {
    int growing = (op_no / 1500) % 2 == 0;
    uint64_t r = tl_range(0, 99);
    int k;
    if (r < (growing ? 55u : 30u)) {
      k = (int)tl_range(0, NHEAPS - 1);
      do_alloc(k);
    } else if (nlive) {
      int i = (int)tl_range(0, (uint64_t)nlive - 1);
      k = live[i].heap;
      if (r < 75)
        do_realloc(i);
      else
        do_free(i);
    } else {
      continue;
    }
    size_t bad = heap_check(heaps[k]);
    CHECK(bad == 0, "op %lu: %s: lm_heap_check found %zu problems", op_no,
          names[k], bad);
    if (bad) {
      printf("stopping at op %lu (rerun with --seed and --ops %lu)\n", op_no,
             op_no);
      return;
    }
    if (op_no % 100 == 0) {
      for (int j = 0; j < NHEAPS; j++)
        CHECK(heap_check(heaps[j]) == 0, "op %lu: %s healthy", op_no, names[j]);
      for (int i = 0; i < nlive; i++)
        verify(&live[i], "while live");
    }
    if (op_no % 500 == 0)
      compare_walks();
  }
  compare_walks();
  CHECK(heap_stats(heaps[3]).heap_bytes == buffer_bytes,
        "the buffer heap never grew");
  size_t per_heap[NHEAPS] = {0};
  for (int i = 0; i < nlive; i++)
    per_heap[live[i].heap]++;
  printf("independence: %lu ops, live at the end: default %zu, pages-1 %zu, "
         "pages-2 %zu, buffer %zu\n",
         ops, per_heap[0], per_heap[1], per_heap[2], per_heap[3]);
  while (nlive)
    do_free(nlive - 1);
  lm_quarantine_flush();
  for (int k = 1; k < NHEAPS; k++) {
    lm_stats_t s = heap_stats(heaps[k]);
    CHECK(s.used_blocks == 0 && s.free_blocks == s.spans && s.slabs == 0,
          "%s: everything freed: %zu used, %zu free blocks in %zu spans",
          names[k], s.used_blocks, s.free_blocks, s.spans);
    CHECK(heap_check(heaps[k]) == 0, "%s healthy at the end", names[k]);
  }
  lm_heap_destroy(heaps[3]);
  lm_heap_destroy(heaps[2]);
  lm_heap_destroy(heaps[1]);
  lm_free(buffer);
}

/* ---------------------------------------------------------------------
 * 2. A buffer heap
 * ------------------------------------------------------------------- */

#define FILL_MAX 4096

static int fill(lm_heap_t *h, char **p, int salt) {
  int n = 0;
  for (;;) {
    size_t size = (size_t)(16 + ((n * 37 + salt) % 700));
    errno = 0;
    char *q = lm_heap_malloc(h, size);
    if (!q) {
      CHECK(errno == ENOMEM, "a full buffer heap sets ENOMEM (%d)", errno);
      return n;
    }
    if (n == FILL_MAX) {
      CHECK(0, "a buffer heap holds no more than %d blocks", FILL_MAX);
      lm_heap_free(h, q);
      return n;
    }
    tl_fill(q, size, tl_tag(0xB0F, (uint32_t)n));
    p[n++] = q;
  }
}

static void buffer_heap(void) {
  static char *p[FILL_MAX + 1];
  size_t bytes = 64 * 1024;
  char *buffer = lm_malloc(bytes + 32);
  CHECK(buffer != NULL, "buffer");
  if (!buffer)
    return;
  memset(buffer, 0xAB, bytes + 32); /* not zero, as memory reused is */
  lm_heap_t *h = lm_heap_create(buffer + 3, bytes);
  CHECK(h != NULL, "lm_heap_create(buffer + 3, 64 KiB)");
  if (!h)
    return;
  lm_stats_t s0 = heap_stats(h);
  CHECK(s0.heap_bytes + LM_HEAP_BUFFER_OVERHEAD >= bytes &&
            s0.heap_bytes < bytes,
        "the heap holds the buffer but its own bytes (%zu of %zu)",
        s0.heap_bytes, bytes);
  for (size_t n = 1; n < 3000; n += 397) {
    char *z = lm_heap_calloc(h, n, 3);
    CHECK(z && tl_first_nonzero(z, n * 3) == n * 3,
          "calloc(%zu, 3) of a dirty buffer is zero", n);
    lm_heap_free(h, z);
  }
  int first = fill(h, p, 1);
  CHECK(first > 50, "a 64 KiB buffer holds %d blocks", first);
  lm_stats_t s1 = heap_stats(h);
  CHECK(s1.heap_bytes == s0.heap_bytes && s1.pages_grown == 0,
        "a full buffer heap did not grow");
  CHECK(lm_heap_aligned_alloc(h, 4096, 20000) == NULL && errno == ENOMEM,
        "aligned_alloc in a full buffer heap: ENOMEM");
  CHECK(lm_heap_calloc(h, 100, 100) == NULL && errno == ENOMEM,
        "calloc in a full buffer heap: ENOMEM");
  CHECK(heap_check(h) == 0, "full buffer heap healthy");
  for (int i = 0; i < first; i++) {
    size_t size = (size_t)(16 + ((i * 37 + 1) % 700));
    CHECK(tl_verify(p[i], size, tl_tag(0xB0F, (uint32_t)i)) == size,
          "block %d kept its bytes", i);
    lm_heap_free(h, p[i]);
  }
  lm_quarantine_flush();
  lm_stats_t s2 = heap_stats(h);
  CHECK(s2.used_blocks == 0 && s2.free_blocks == 1,
        "emptied buffer heap is one free block (%zu free)", s2.free_blocks);
  int again = fill(h, p, 1);
  CHECK(again >= first, "the same blocks fit again (%d, first %d)", again,
        first);
  for (int i = 0; i < again; i++)
    lm_heap_free(h, p[i]);
  CHECK(heap_check(h) == 0, "buffer heap healthy after recovery");
  lm_heap_destroy(h);
  /* The buffer is the caller's again: malloc can use it and free it. */
  CHECK(lm_usable_size(buffer) >= bytes + 32, "the buffer is a block again");
  lm_free(buffer);

  /* Too small for a 4 KiB slab (which needs 8 KiB): small requests are
   * served from blocks. */
  char *small = lm_malloc(LM_HEAP_BUFFER_OVERHEAD + 3000);
  lm_heap_t *hs =
      small ? lm_heap_create(small, LM_HEAP_BUFFER_OVERHEAD + 3000) : NULL;
  CHECK(hs != NULL, "a small buffer heap");
  if (hs) {
    int n = 0;
    static char *q[256];
    while (n < 256 && (q[n] = lm_heap_malloc(hs, 24)) != NULL)
      tl_fill(q[n], 24, (uint32_t)n), n++;
    CHECK(n > 20 && n < 256 && errno == ENOMEM,
          "a small buffer heap serves %d small blocks, then ENOMEM", n);
    CHECK(heap_stats(hs).slabs == 0, "without slabs");
    while (n--) {
      CHECK(tl_verify(q[n], 24, (uint32_t)n) == 24, "small block kept");
      lm_heap_free(hs, q[n]);
    }
    CHECK(heap_check(hs) == 0, "small buffer heap healthy");
    lm_heap_destroy(hs);
  }
  lm_free(small);

  errno = 0;
  char tiny[64];
  CHECK(lm_heap_create(tiny, sizeof tiny) == NULL && errno == EINVAL,
        "a buffer too small: NULL + EINVAL");
}

/* ---------------------------------------------------------------------
 * 3. Destroy, then reuse
 * ------------------------------------------------------------------- */

#define REUSE_BLOCKS 96
#define REUSE_SIZE (20 * 1024)

static size_t memory_pages(void) {
#ifdef __wasm__
  return __builtin_wasm_memory_size(0);
#else
  return 0; /* the host page source's size is pages_grown */
#endif
}

static void destroy_and_reuse(void) {
  static char *p[REUSE_BLOCKS];
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "heap");
  if (!h)
    return;
  for (int i = 0; i < REUSE_BLOCKS; i++) {
    p[i] = lm_heap_malloc(h, REUSE_SIZE);
    CHECK(p[i] != NULL, "block %d", i);
  }
  lm_stats_t s = heap_stats(h);
  CHECK(s.heap_bytes >= (size_t)REUSE_BLOCKS * REUSE_SIZE,
        "the heap holds its blocks");
  lm_pool_info_t before;
  lm_pool_info(&before);
  uint64_t grown = pages_grown();
  size_t mem = memory_pages();
  lm_heap_destroy(h);
  lm_pool_info_t after;
  lm_pool_info(&after);
  CHECK(after.free_bytes >= before.free_bytes + s.heap_bytes &&
            after.heaps + 1 == before.heaps,
        "destroy gives %zu bytes to the pool (pool: %zu -> %zu)", s.heap_bytes,
        before.free_bytes, after.free_bytes);

  /* A new heap takes them back. */
  lm_heap_t *h2 = lm_heap_create(NULL, 0);
  CHECK(h2 != NULL, "second heap");
  if (!h2)
    return;
  for (int i = 0; i < REUSE_BLOCKS; i++) {
    p[i] = lm_heap_malloc(h2, REUSE_SIZE);
    CHECK(p[i] != NULL, "block %d in the second heap", i);
    if (p[i])
      tl_fill(p[i], REUSE_SIZE, (uint32_t)i);
  }
  CHECK(pages_grown() == grown && memory_pages() == mem,
        "the second heap reused the pages: grown %llu -> %llu",
        (unsigned long long)grown, (unsigned long long)pages_grown());
  for (int i = 0; i < REUSE_BLOCKS; i++)
    if (p[i])
      CHECK(tl_verify(p[i], REUSE_SIZE, (uint32_t)i) == REUSE_SIZE,
            "reused block %d kept its bytes", i);
  CHECK(heap_check(h2) == 0, "second heap healthy");
  lm_heap_destroy(h2);

  /* The default heap takes them too. */
  lm_pool_info(&before);
  for (int i = 0; i < REUSE_BLOCKS; i++) {
    p[i] = lm_malloc(REUSE_SIZE);
    CHECK(p[i] != NULL, "default block %d", i);
  }
  lm_pool_info(&after);
  CHECK(pages_grown() == grown && memory_pages() == mem,
        "the default heap reused the pages: grown %llu -> %llu",
        (unsigned long long)grown, (unsigned long long)pages_grown());
  CHECK(after.free_bytes < before.free_bytes,
        "the default heap took runs from the pool (%zu -> %zu bytes)",
        before.free_bytes, after.free_bytes);
  CHECK(tl_lm_check() == 0, "default heap healthy with reused pages");
  for (int i = 0; i < REUSE_BLOCKS; i++)
    lm_free(p[i]);
  CHECK(tl_lm_check() == 0, "default heap healthy after freeing them");
}

/* ---------------------------------------------------------------------
 * 4. Wrong heap
 * ------------------------------------------------------------------- */

/* `what` on p through heap `by` must be reported and change nothing.
 * Returns 1 when the report said the pointer lies outside the heap asked
 * (with other heaps about, such a report names them too), else 0. */
static int refused(const char *what, lm_heap_t *by, void *p, size_t size,
                   lm_heap_t *owner, uint32_t tag) {
  tl_reports_t r;
  tl_reports_begin(&r);
  lm_stats_t before = heap_stats(owner);
  if (strcmp(what, "free") == 0) {
    lm_heap_free(by, p);
  } else if (strcmp(what, "realloc") == 0) {
    CHECK(tl_keep(lm_heap_realloc(by, p, size * 2)) == NULL,
          "realloc through the wrong heap gives NULL");
  } else if (strcmp(what, "resize") == 0) {
    CHECK(lm_heap_resize(by, p, size / 2) == 0,
          "resize through the wrong heap gives 0");
  } else {
    CHECK(lm_heap_usable_size(by, p) == 0,
          "usable_size through the wrong heap gives 0");
  }
  lm_stats_t after = heap_stats(owner);
  tl_reports_end();
  CHECK(r.count[LM_REPORT_INVALID_FREE] + r.count[LM_REPORT_DOUBLE_FREE] == 1 &&
            r.total == 1,
        "%s of %p (%zu bytes) through the wrong heap is reported once (%lu)",
        what, p, size, r.total);
  int outside =
      r.last_message && strstr(r.last_message, "outside the heap") != NULL;
  if (outside) {
    CHECK(strstr(r.last_message, "another heap") != NULL,
          "%s through the wrong heap: the report names other heaps (%s)", what,
          r.last_message);
  }
  CHECK(before.used_blocks == after.used_blocks &&
            before.free_bytes == after.free_bytes,
        "%s through the wrong heap changed nothing", what);
  CHECK(tl_verify(p, size, tag) == size, "%s: the block kept its bytes", what);
  CHECK(heap_check(by) == 0 && heap_check(owner) == 0, "%s: both heaps healthy",
        what);
  return outside;
}

static void wrong_heap(void) {
  char *buffer = lm_malloc(128 * 1024);
  lm_heap_t *a = lm_heap_create(NULL, 0), *b = lm_heap_create(NULL, 0);
  lm_heap_t *f = buffer ? lm_heap_create(buffer, 128 * 1024) : NULL;
  lm_arena_t *arena = lm_arena_create(0);
  lm_heap_t *d = lm_heap_default();
  CHECK(a && b && f && arena, "two heaps, a buffer heap and an arena");
  if (!a || !b || !f || !arena)
    return;
  lm_heap_t *hs[4] = {a, b, f, d};
  const char *ops[4] = {"free", "realloc", "resize", "usable_size"};
  size_t sizes[3] = {40, 600, 5000}; /* a slab object, blocks */
  unsigned outside_reports = 0;
  for (int from = 0; from < 4; from++) {
    for (int si = 0; si < 3; si++) {
      char *p = lm_heap_malloc(hs[from], sizes[si]);
      CHECK(p != NULL, "allocation");
      if (!p)
        continue;
      uint32_t tag = tl_tag((uint32_t)from, (uint32_t)si);
      tl_fill(p, sizes[si], tag);
      for (int by = 0; by < 4; by++) {
        if (by == from)
          continue;
        for (int o = 0; o < 4; o++)
          outside_reports +=
              refused(ops[o], hs[by], p, sizes[si], hs[from], tag);
      }
      CHECK(lm_heap_usable_size(hs[from], p) >= sizes[si],
            "the owner still knows its block");
      lm_heap_free(hs[from], p);
    }
  }
  CHECK(outside_reports > 0, "some wrong-heap pointer lay outside the heap "
        "asked (%u reports said so)", outside_reports);

  /* An arena's memory is nobody's block. */
  tl_keep(lm_arena_alloc(arena, 64)); /* room for a fake header below q */
  char *q = lm_arena_alloc(arena, 200);
  char *q2 = lm_arena_alloc(arena, 4000);
  CHECK(q && q2, "arena allocations");
  if (q && q2) {
    for (int by = 0; by < 4; by++) {
      tl_reports_t r;
      memset(q - 16, 0, 216); /* a header that looks like a used block */
      q[-4] = (char)0x20;
      tl_reports_begin(&r);
      lm_heap_free(hs[by], q);
      lm_heap_free(hs[by], q2);
      tl_reports_end();
      CHECK(r.total == 2,
            "arena pointers freed through a heap are reported "
            "(%lu)",
            r.total);
      CHECK(heap_check(hs[by]) == 0, "and the heap is healthy");
    }
  }

  /* A buffer heap inside a block of heap a: its pages are shared, so
   * both heaps look each pointer up exactly, and each refuses the other's.
   * After the buffer heap is gone, a's pages are a's alone again. */
  char *outer = lm_heap_malloc(a, 300 * 1024);
  lm_heap_t *inner = outer ? lm_heap_create(outer, 300 * 1024) : NULL;
  CHECK(inner != NULL, "a buffer heap inside heap a's block");
  if (inner) {
    char *pa = lm_heap_malloc(a, 3000), *pi = lm_heap_malloc(inner, 3000);
    char *pi2 = lm_heap_malloc(inner, 100000);
    CHECK(pa && pi && pi2, "blocks in both");
    tl_fill(pi, 3000, 1);
    tl_fill(pa, 3000, 2);
    tl_fill(pi2, 100000, 3);
    refused("free", a, pi, 3000, inner, 1);
    refused("free", a, pi2, 100000, inner, 3);
    refused("realloc", inner, pa, 3000, a, 2);
    refused("free", d, pi2, 100000, inner, 3);
    lm_heap_free(inner, pi);
    lm_heap_free(inner, pi2);
    CHECK(heap_check(inner) == 0 && heap_check(a) == 0, "both healthy");
    lm_heap_destroy(inner);
    lm_heap_free(a, pa);
    lm_heap_free(a, outer);
    CHECK(heap_check(a) == 0, "heap a healthy after the inner heap");
  }

  /* Destroying what cannot be destroyed. */
  tl_reports_t r;
  tl_reports_begin(&r);
  lm_heap_destroy(d);
  lm_heap_destroy(b);
  lm_heap_destroy(b); /* twice */
  tl_reports_end();
  CHECK(r.count[LM_REPORT_INVALID_FREE] == 2,
        "destroying the default heap or a heap twice is reported (%lu)",
        r.count[LM_REPORT_INVALID_FREE]);
  CHECK(tl_lm_check() == 0, "default heap healthy");

  lm_arena_destroy(arena);
  lm_heap_destroy(f);
  lm_heap_destroy(a);
  lm_free(buffer);
}

/* ---------------------------------------------------------------------
 * 5. Limits
 * ------------------------------------------------------------------- */

static void limit(void) {
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "heap");
  if (!h)
    return;
  lm_heap_set_limit(h, 512 * 1024);
  static char *p[64];
  int n = 0;
  while (n < 64 && (p[n] = lm_heap_malloc(h, 30000)) != NULL)
    n++;
  int e = errno;
  lm_stats_t s = heap_stats(h);
  CHECK(n > 5 && n < 64 && e == ENOMEM && s.heap_bytes <= 512 * 1024,
        "a capped heap stops at its cap: %d blocks, %zu bytes, errno %d", n,
        s.heap_bytes, e);
  lm_heap_set_limit(h, 0);
  char *more = lm_heap_malloc(h, 30000);
  CHECK(more != NULL, "cap 0 lifts the cap");
  lm_heap_free(h, more);
  while (n--)
    lm_heap_free(h, p[n]);
  CHECK(heap_check(h) == 0, "capped heap healthy");
  lm_heap_destroy(h);
}

/* One case of slab_sweep: a buffer heap at buf + off of `size` bytes;
 * with hole != 0, a free block of `hole` bytes at the start of its
 * memory (a guard block after it), else all its memory is top. A small
 * object is taken, written and freed: a slab cut a granule too long (its
 * header then names no slab, slab.h) makes the free a report. Returns
 * the size of the heap's largest free block before the object (its top,
 * when hole is 0). */
static size_t slab_case(unsigned char *buf, size_t off, size_t size,
                        size_t hole, unsigned long *failures) {
  lm_heap_t *h = lm_heap_create(buf + off, size);
  if (!h) {
    ++*failures;
    return 0;
  }
  char *guard = NULL;
  if (hole) {
    char *a = lm_heap_malloc(h, hole - 4); /* a block of exactly hole bytes */
    guard = lm_heap_malloc(h, 300);
    lm_heap_free(h, a);
    if (!a || !guard)
      ++*failures;
  }
  size_t largest = heap_stats(h).largest_free;
  tl_reports_t rep;
  tl_reports_begin(&rep);
  char *o = lm_heap_malloc(h, 16);
  if (o) {
    memset(o, 0x5A, 16);
    lm_heap_free(h, o);
  }
  tl_reports_end();
  lm_heap_free(h, guard);
  if (!o || rep.total || heap_check(h)) {
    if (++*failures <= 5)
      fprintf(stderr, "slab case: offset %zu, size %zu, hole %zu: object %p, "
              "%lu reports (%s)\n", off, size, hole, (void *)o, rep.total,
              rep.last_message ? rep.last_message : "-");
  }
  lm_heap_destroy(h);
  return largest;
}

static void slab_sweep(void) {
  const size_t slab = 4096, room = 2 * slab + 256;
  const size_t base_size = LM_HEAP_BUFFER_OVERHEAD + room + 512;
  unsigned char *buf = lm_malloc(slab + base_size + 2 * room);
  CHECK(buf != NULL, "a buffer for the slab sweep");
  if (!buf)
    return;
  unsigned long failures = 0, cases = 0;
  for (size_t off = 0; off < slab; off += LM_ALIGNMENT) {
    /* Top of exactly 2 slabs + t bytes: the sizes around what carving an
     * aligned slab from top takes. */
    size_t top0 = slab_case(buf, off, base_size, 0, &failures);
    for (size_t t = 0; t <= 64 && top0; t += LM_ALIGNMENT, cases++)
      slab_case(buf, off, base_size + 2 * slab + t - top0, 0, &failures);
    /* A free block of 1 or 2 slabs + t bytes before the guard. */
    for (size_t t = 0; t <= 64; t += LM_ALIGNMENT, cases += 2) {
      slab_case(buf, off, base_size + room, slab + t, &failures);
      slab_case(buf, off, base_size + room, 2 * slab + t, &failures);
    }
  }
  CHECK(failures == 0, "slabs at every alignment: %lu of %lu cases failed",
        failures, cases);
  lm_free(buf);
}

static void slab_reuse(void) {
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "heap");
  if (!h)
    return;
  /* Two slabs side by side, so that the first one, when it empties, is
   * not next to top (it would merge into top, and the next slab would be
   * cut at the same end of top again without reusing anything). */
  char *a = lm_heap_malloc(h, 16);
  char *other = lm_heap_malloc(h, 48); /* the second slab */
  CHECK(a && other, "objects in two slabs");
  uintptr_t slab = (uintptr_t)a & ~(uintptr_t)4095;
  lm_heap_free(h, a); /* the slab empties and goes to the free lists */
  char *b = lm_heap_malloc(h, 16);
  CHECK(b && ((uintptr_t)b & ~(uintptr_t)4095) == slab,
        "the next slab takes the first one's place (%p, was %p)", (void *)b,
        (void *)slab);
  lm_heap_free(h, b);
  lm_heap_free(h, other);
  CHECK(heap_check(h) == 0, "heap healthy after slab reuse");
  lm_heap_destroy(h);
}

/* ---------------------------------------------------------------------
 * 8. Slabs from top's end
 * ------------------------------------------------------------------- */

/* The heap's blocks (not slab objects) in address order, from its walk. */
typedef struct {
  lm_block_info_t b[64];
  int n;
} blocks_t;

static int record_block(const lm_block_info_t *b, void *ctx) {
  blocks_t *w = ctx;
  if (b->kind != LM_KIND_OBJECT && w->n < 64)
    w->b[w->n++] = *b;
  return 0;
}

/* The index of the block whose header is at `at`, or -1. */
static int block_index(const blocks_t *w, uintptr_t at) {
  for (int i = 0; i < w->n; i++)
    if ((uintptr_t)w->b[i].header == at)
      return i;
  return -1;
}

static void slabs_from_top_end(void) {
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "heap");
  if (!h)
    return;
  char *first = lm_heap_malloc(h, 1000);
  char *a = lm_heap_malloc(h, 16), *b = lm_heap_malloc(h, 48);
  /* Over 4 KiB: where the span's end is not 4 KiB aligned (Emscripten's
   * sbrk), the bytes after the first slab are a free block of less than
   * 4 KiB (heap.c: slab_from_top), which a smaller request would take. */
  char *second = lm_heap_malloc(h, 5000);
  CHECK(first && a && b && second, "a block, two objects, a block");
  if (!first || !a || !b || !second)
    return;
  uintptr_t sa = (uintptr_t)a & ~(uintptr_t)4095;
  uintptr_t sb = (uintptr_t)b & ~(uintptr_t)4095;
  CHECK(sb + 4096 == sa, "the second slab (%#zx) lies right below the first "
        "(%#zx)", (size_t)sb, (size_t)sa);
  CHECK(second == first + lm_heap_usable_size(h, first) + 8,
        "the second block follows the first (first's seal, second's "
        "header between them): top kept its start");
  blocks_t w = {0};
  lm_heap_walk(h, record_block, &w);
  int i = block_index(&w, sb - 4); /* the slab's block header */
  CHECK(i > 0 && !w.b[i - 1].used && w.b[i - 1].top,
        "the block right below the slabs is top");
  int free_below = 0;
  for (int k = 0; k < w.n && (uintptr_t)w.b[k].header < sb; k++)
    free_below += !w.b[k].used && !w.b[k].top;
  CHECK(free_below == 0, "no free block but top lies below the slabs "
        "(an alignment gap): %d", free_below);
  CHECK(heap_check(h) == 0, "heap healthy with slabs at top's end");

  lm_heap_free(h, a);
  lm_heap_free(h, b);
  memset(&w, 0, sizeof w);
  lm_heap_walk(h, record_block, &w);
  int frees = 0, top = -1;
  for (int k = 0; k < w.n; k++) {
    frees += !w.b[k].used;
    if (w.b[k].top)
      top = k;
  }
  CHECK(frees == 1 && top == w.n - 1,
        "empty slabs merged back into top, the span's last block (%d free "
        "blocks)", frees);
  if (top < 0)
    return; /* no top to size the next request by */
  CHECK(heap_check(h) == 0, "heap healthy after the slabs merged into top");

  /* A slab at top's end again, then a block larger than top: new memory
   * becomes top, the old top a free block that serves a later request.
   * (The new memory follows the heap's span, or starts a new span above
   * it: the page pool has no released pages yet, see main.) */
  a = lm_heap_malloc(h, 16);
  size_t top_before = w.b[top].size;
  char *big = lm_heap_malloc(h, top_before + 8192);
  CHECK(a && big && big > a, "a block larger than top comes from new memory");
  memset(&w, 0, sizeof w);
  lm_heap_walk(h, record_block, &w);
  i = block_index(&w, (uintptr_t)second + lm_heap_usable_size(h, second) + 4);
  CHECK(i >= 0 && !w.b[i].used && !w.b[i].top,
        "the old top is a free block in a list now");
  char *reuse = i >= 0 ? lm_heap_malloc(h, w.b[i].size - 64) : NULL;
  CHECK(reuse == second + lm_heap_usable_size(h, second) + 8,
        "and serves the next request that fits it");
  CHECK(heap_check(h) == 0, "heap healthy after growing past a slab");
  lm_heap_free(h, reuse);
  lm_heap_free(h, big);
  lm_heap_free(h, a);
  lm_heap_free(h, second);
  lm_heap_free(h, first);
  CHECK(heap_check(h) == 0, "heap healthy after freeing everything");
  lm_heap_destroy(h);
}

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  unsigned long ops = tl_option_ul(argc, argv, "--ops", 6000);
  lm_quarantine_flush();
  size_t used_at_start = tl_stats().used_blocks;
  slabs_from_top_end(); /* first: no released pages yet, so it grows */
  independence(ops);
  buffer_heap();
  destroy_and_reuse();
  wrong_heap();
  limit();
  slab_sweep();
  slab_reuse();
  lm_pool_info_t info;
  lm_pool_info(&info);
  CHECK(info.heaps == 0 && info.arenas == 0, "every heap and arena destroyed");
  lm_quarantine_flush();
  CHECK(tl_stats().used_blocks == used_at_start,
        "the default heap holds what it held at start");
  CHECK(tl_lm_check() == 0, "default heap healthy at the end");
  return tl_finish();
}
