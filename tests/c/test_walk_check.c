/* test_walk_check: the introspection functions and the misuse reports.
 *
 *   1. lm_walk visits blocks in strictly increasing address order, each
 *      span tiled without gaps (header + size is the next header), stops
 *      when the visitor says so, and returns the number visited.
 *   2. lm_stats agrees with a recount from the walk, and refuses a wrong
 *      version or size (-1) without writing past what it was given.
 *   3. lm_check finds a live block's header overwritten with garbage,
 *      through the report handler as LM_REPORT_CORRUPT, without crashing;
 *      with the word restored the heap is healthy again. So too a slab
 *      map bit flipped, an empty slab that was not given back, and
 *      calloc's zero range (heap.h, I6) reaching past top.
 *   4. Double frees and frees of interior, foreign or wild pointers (and
 *      realloc of them) are reported as LM_REPORT_DOUBLE_FREE or
 *      LM_REPORT_INVALID_FREE, do nothing, and leave every block intact.
 */
#include "testlib.h"

#include "slab.h" /* test_heap_state_corruption sets heap and slab words */

#define MAXL 600
#define MAXW 8192

typedef struct blk {
  char *p;
  size_t size;
  uint32_t tag;
} blk_t;

static blk_t live[MAXL];
static int nlive;

static lm_block_info_t w[MAXW];
static size_t nw;
static int w_overflow;

static int record(const lm_block_info_t *b, void *ctx) {
  (void)ctx;
  if (nw == MAXW) {
    w_overflow = 1;
    return 0;
  }
  w[nw++] = *b;
  return 0;
}

static size_t walk_all(void) {
  nw = 0;
  w_overflow = 0;
  size_t n = lm_walk(record, NULL);
  CHECK(!w_overflow, "more than %d blocks", MAXW);
  CHECK(n == nw, "lm_walk returns the blocks visited (%zu vs %zu)", n, nw);
  return n;
}

static void add(size_t size, size_t align) {
  char *p = align ? lm_aligned_alloc(align, size) : lm_malloc(size);
  CHECK(p != NULL, "allocation of %zu (align %zu)", size, align);
  if (!p || nlive == MAXL)
    return;
  live[nlive].p = p;
  live[nlive].size = size;
  live[nlive].tag = tl_tag(0x3C, (uint32_t)nlive);
  tl_fill(p, size, live[nlive].tag);
  nlive++;
}

static void verify_live(const char *when) {
  int bad = 0;
  for (int i = 0; i < nlive; i++)
    if (tl_verify(live[i].p, live[i].size, live[i].tag) != live[i].size)
      bad++;
  CHECK(bad == 0, "%d of %d blocks lost bytes %s", bad, nlive, when);
}

static int stop_after(const lm_block_info_t *b, void *ctx) {
  (void)b;
  int *left = (int *)ctx;
  return --*left <= 0;
}

static int find_in_walk(const void *p) {
  for (size_t i = 0; i < nw; i++)
    if (w[i].ptr == p && w[i].kind != LM_KIND_SLAB)
      return (int)i;
  return -1;
}

/* ---- 1 and 2 ---- */

static void test_walk_and_stats(void) {
  walk_all();
  CHECK(nw > 0, "the walk sees blocks");
  size_t used_bytes = 0, used_blocks = 0, free_bytes = 0, free_blocks = 0;
  size_t largest = 0, block_bytes = 0, slabs = 0;
  int order = 0, gaps = 0, bad_span = 0, bad_used = 0, free_pairs = 0;
  int bad_object = 0, bad_slab = 0;
  CHECK(nw == 0 || w[0].span == 0, "the first span is 0");
  const lm_block_info_t *prev = NULL; /* previous block or slab */
  const lm_block_info_t *slab = NULL; /* the slab whose objects follow */
  const char *prev_obj = NULL;
  for (size_t i = 0; i < nw; i++) {
    const lm_block_info_t *b = &w[i];
    const char *h = (const char *)b->header, *p = (const char *)b->ptr;
    if (b->used && b->kind != LM_KIND_SLAB) {
      used_blocks++;
      used_bytes += b->usable;
      if (!tl_aligned(p, LM_ALIGNMENT) || b->usable != lm_usable_size(p))
        bad_used++;
    }
    if (b->kind == LM_KIND_OBJECT) {
      /* Inside the slab before it, after the previous object; no header. */
      if (!slab || h != NULL || b->size < b->usable ||
          p < (const char *)slab->ptr ||
          p + b->size > (const char *)slab->header + slab->size ||
          (prev_obj && p <= prev_obj) || b->span != slab->span)
        bad_object++;
      prev_obj = p;
      if (!b->used)
        free_bytes += b->size;
      continue;
    }
    /* A block or a slab: part of the span's chain of headers. */
    block_bytes += b->size;
    slab = b->kind == LM_KIND_SLAB ? b : NULL;
    prev_obj = NULL;
    if (b->kind == LM_KIND_SLAB) {
      slabs++;
      if (!b->used)
        bad_slab++;
    } else if (b->used) {
      if (!(p > h && p + b->usable <= h + b->size))
        bad_used++;
    } else {
      free_blocks++;
      free_bytes += b->size;
      if (b->size > largest)
        largest = b->size;
    }
    if (prev) {
      if ((const char *)prev->header >= h)
        order++;
      if (b->span == prev->span) {
        if ((const char *)prev->header + prev->size != h)
          gaps++;
        if (!prev->used && !b->used)
          free_pairs++;
      } else if (b->span != prev->span + 1) {
        bad_span++;
      }
    }
    prev = b;
  }
  CHECK(order == 0,
        "blocks in strictly increasing address order (%d steps back)", order);
  CHECK(gaps == 0, "blocks of a span chain without gaps (%d gaps)", gaps);
  CHECK(bad_span == 0, "span indexes count up by one (%d jumps)", bad_span);
  CHECK(bad_used == 0,
        "allocations: payload inside the block, aligned, usable == "
        "lm_usable_size (%d bad)",
        bad_used);
  CHECK(bad_object == 0,
        "objects lie in the slab before them, in order, without a header "
        "(%d bad)",
        bad_object);
  CHECK(bad_slab == 0, "slabs are used blocks (%d free)", bad_slab);
  CHECK(free_pairs == 0, "no two free neighbours (%d pairs)", free_pairs);

  for (int i = 0; i < nlive; i++) {
    int k = find_in_walk(live[i].p);
    CHECK(k >= 0 && w[k].used, "live block %p is used in the walk",
          (void *)live[i].p);
  }

  lm_stats_t s = tl_stats();
  CHECK(s.used_blocks == used_blocks, "used_blocks %zu, walk %zu",
        s.used_blocks, used_blocks);
  CHECK(s.used_bytes == used_bytes, "used_bytes %zu, walk %zu", s.used_bytes,
        used_bytes);
  CHECK(s.free_blocks == free_blocks, "free_blocks %zu, walk %zu",
        s.free_blocks, free_blocks);
  CHECK(s.free_bytes == free_bytes, "free_bytes %zu, walk %zu", s.free_bytes,
        free_bytes);
  CHECK(s.largest_free == largest, "largest_free %zu, walk %zu", s.largest_free,
        largest);
  CHECK(nw == 0 || s.spans == (size_t)w[nw - 1].span + 1, "spans %zu, walk %u",
        s.spans, nw ? w[nw - 1].span + 1 : 0);
  CHECK(s.slabs == slabs, "slabs %zu, walk %zu", s.slabs, slabs);
  CHECK(s.heap_bytes >= block_bytes, "heap_bytes %zu holds the blocks (%zu)",
        s.heap_bytes, block_bytes);
  CHECK(s.used_bytes + s.free_bytes + s.overhead_bytes == s.heap_bytes,
        "used %zu + free %zu + overhead %zu == heap_bytes %zu", s.used_bytes,
        s.free_bytes, s.overhead_bytes, s.heap_bytes);
  CHECK(s.pages_grown >= s.grow_count, "pages_grown %zu >= grow_count %zu",
        s.pages_grown, s.grow_count);

  /* Stopping early. */
  int left = 3;
  size_t n = lm_walk(stop_after, &left);
  CHECK(n == 3 || (nw < 3 && n == nw),
        "a walk stopped at block 3 returns 3 (%zu)", n);

  /* Bad versions and sizes: -1, and nothing written past the header. */
  CHECK(lm_stats(NULL) == -1, "lm_stats(NULL) == -1");
  struct {
    lm_stats_t s;
    unsigned char after[32];
  } buf;
  const uint32_t versions[] = {0,
                               LM_STATS_VERSION + 1,
                               0xFFFFFFFFu,
                               LM_STATS_VERSION,
                               LM_STATS_VERSION,
                               LM_STATS_VERSION,
                               LM_STATS_VERSION};
  const uint32_t sizes[] = {
      sizeof(lm_stats_t),     sizeof(lm_stats_t),     sizeof(lm_stats_t), 0, 8,
      sizeof(lm_stats_t) - 1, sizeof(lm_stats_t) + 16};
  for (int i = 0; i < 7; i++) {
    memset(&buf, 0xAB, sizeof buf);
    buf.s.version = versions[i];
    buf.s.size = sizes[i];
    int r = lm_stats(&buf.s);
    CHECK(r == -1, "lm_stats with version %u, size %u returns -1 (got %d)",
          versions[i], sizes[i], r);
    const unsigned char *bytes = (const unsigned char *)&buf;
    int touched = 0;
    for (size_t k = 8; k < sizeof buf; k++)
      if (bytes[k] != 0xAB)
        touched++;
    CHECK(touched == 0,
          "lm_stats with version %u, size %u wrote %d bytes it was refused",
          versions[i], sizes[i], touched);
  }
}

/* ---- 3 ---- */

static void corrupt_case(char *p, uint32_t garbage, const char *what) {
  uint32_t saved;
  memcpy(&saved, p - 4, 4);
  if (garbage == saved)
    return;
  tl_reports_t rep;
  tl_reports_begin(&rep);
  memcpy(p - 4, &garbage, 4);
  size_t n = lm_check();
  memcpy(p - 4, &saved, 4);
  tl_reports_end();
  CHECK(n > 0, "lm_check finds the header of %p overwritten with 0x%08x (%s)",
        (void *)p, garbage, what);
  CHECK(rep.count[LM_REPORT_CORRUPT] > 0,
        "the handler saw LM_REPORT_CORRUPT for 0x%08x (%s)", garbage, what);
  CHECK(rep.count[LM_REPORT_CORRUPT] == rep.total,
        "lm_check reports only LM_REPORT_CORRUPT (%lu of %lu)",
        rep.count[LM_REPORT_CORRUPT], rep.total);
  CHECK(rep.count[LM_REPORT_CORRUPT] == n,
        "lm_check returns the number it reported (returned %zu, reported "
        "%lu; header 0x%08x, was 0x%08x; last: %s)",
        n, rep.count[LM_REPORT_CORRUPT], garbage, saved,
        rep.last_message ? rep.last_message : "-");
  size_t after = tl_lm_check();
  CHECK(after == 0, "the header restored, the heap is healthy (%zu)", after);
}

/* A slab's map (src/slab.h: 32 bytes into the slab, one bit per 16-byte
 * cell of its objects' area, set where an allocated object starts) with
 * one bit flipped: lm_check finds it, and the heap is healthy again once
 * the bit is restored. */
static void corrupt_map_case(uintptr_t s, uint32_t cell, const char *what) {
  unsigned char *w = (unsigned char *)s + 32 + (cell >> 5) * 4;
  uint32_t saved, flipped;
  memcpy(&saved, w, 4);
  flipped = saved ^ (1u << (cell & 31));
  tl_reports_t rep;
  tl_reports_begin(&rep);
  memcpy(w, &flipped, 4);
  size_t n = lm_check();
  memcpy(w, &saved, 4);
  tl_reports_end();
  CHECK(n > 0 && rep.count[LM_REPORT_CORRUPT] == rep.total &&
            rep.total == n,
        "lm_check finds a slab map bit flipped: %s (%zu found, %lu "
        "reported; last: %s)", what, n, rep.total,
        rep.last_message ? rep.last_message : "-");
  CHECK(tl_lm_check() == 0, "slab map restored, the heap is healthy (%s)",
        what);
}

static void test_slab_map_corruption(void) {
  char *a = lm_malloc(40), *b = lm_malloc(40);
  CHECK(a && b, "two 40-byte objects");
  if (a && b && ((uintptr_t)a >> 12) == ((uintptr_t)b >> 12)) {
    uintptr_t s = (uintptr_t)a & ~(uintptr_t)4095;
    uint32_t cell = (uint32_t)((uintptr_t)a - s - 64) >> 4;
    corrupt_map_case(s, cell, "an allocated object's bit cleared");
    /* Objects of 40 bytes or more start at least 2 cells apart. */
    corrupt_map_case(s, cell + 1, "a bit set where no object starts");
    uint32_t freed = (uint32_t)((uintptr_t)b - s - 64) >> 4;
    lm_free(b); /* its object is free now: its bit set says allocated */
    b = NULL;
    corrupt_map_case(s, freed, "a free object's bit set");
  }
  lm_free(a);
  lm_free(b);
}

/* lm_heap_check of h with `n` (at most CORRUPT_WORDS) words set to new
 * values and put back: exactly one finding, reported as
 * LM_REPORT_CORRUPT, and none after. */
#define CORRUPT_WORDS 2
static void corrupt_words(lm_heap_t *h, uint32_t *at[], const uint32_t value[],
                          int n, const char *what) {
  uint32_t saved[CORRUPT_WORDS];
  tl_reports_t rep;
  tl_reports_begin(&rep);
  for (int i = 0; i < n; i++) {
    saved[i] = *at[i];
    *at[i] = value[i];
  }
  size_t found = lm_heap_check(h);
  for (int i = n - 1; i >= 0; i--)
    *at[i] = saved[i];
  tl_reports_end();
  CHECK(found == 1 && rep.count[LM_REPORT_CORRUPT] == 1 && rep.total == 1,
        "lm_heap_check finds %s (%zu found, %lu reported; last: %s)", what,
        found, rep.total, rep.last_message ? rep.last_message : "-");
  CHECK(lm_heap_check(h) == 0, "restored, the heap is healthy (%s)", what);
}

/* Two faults no single block's words show, made by hand in a heap of
 * their own. */
static void test_heap_state_corruption(void) {
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "a heap");
  if (!h)
    return;
  char *block = lm_heap_malloc(h, 1000);
  unsigned char *obj = lm_heap_malloc(h, 240); /* its slab's first object */
  unsigned char *s = obj - LM_SLAB_HEADER;
  CHECK(block && obj && ((uintptr_t)s & 4095) == 0,
        "a block, and an object first in its slab");
  if (!block || !obj || ((uintptr_t)s & 4095))
    return;
  /* The slab's only object as never handed out: map bit 0 clear and the
   * bump pointer back at it. Each word agrees with the others; only the
   * slab being empty is wrong. */
  uint32_t *empty_at[CORRUPT_WORDS] = {(uint32_t *)(void *)(s + SLAB_MAP),
                           (uint32_t *)(void *)(s + SLAB_BUMP)};
  uint32_t empty[CORRUPT_WORDS] = {*empty_at[0] & ~1u, *empty_at[1] - 240};
  corrupt_words(h, empty_at, empty, CORRUPT_WORDS,
                "an empty slab that was not given back");
  /* The slab was cut from top's end (top is not the span's last block):
   * calloc's zero range stops at the slab. Made to reach the span's end,
   * it takes in the slab's bytes. */
  uint32_t *fresh_at[1] = {&h->fresh_end};
  uint32_t past[1] = {span_marker(span_end(heap_base(h), h->last_span))};
  int after_top = lm_heap_top_size(h) == 0 && h->fresh < h->fresh_end &&
                  past[0] > h->fresh_end;
  CHECK(after_top, "the slab lies after top, and top has a zero range");
  if (after_top)
    corrupt_words(h, fresh_at, past, 1, "a zero range reaching past top");
  /* The newest span's offset itself overwritten: the checker must not
   * read a span header there (it did, and crashed, on 0x80000000). Top is
   * in the real newest span, so that is a second finding. */
  const uint32_t bad_spans[] = {0x80000000u, 0xFFFFFFF0u, h->hi,
                                h->last_span + 4, h->lo - 16};
  for (size_t i = 0; i < sizeof bad_spans / sizeof bad_spans[0]; i++) {
    uint32_t saved = h->last_span;
    tl_reports_t rep;
    tl_reports_begin(&rep);
    h->last_span = bad_spans[i];
    size_t found = lm_heap_check(h);
    h->last_span = saved;
    tl_reports_end();
    CHECK(found >= 1 && found == rep.total &&
              rep.count[LM_REPORT_CORRUPT] == rep.total,
          "lm_heap_check finds a newest span of 0x%x (%zu found; last: %s)",
          (unsigned)bad_spans[i], found,
          rep.last_message ? rep.last_message : "-");
  }
  lm_heap_free(h, obj);
  lm_heap_free(h, block);
  CHECK(lm_heap_check(h) == 0, "heap healthy at the end");
  lm_heap_destroy(h);
}

static void corrupt_block(char *p, const char *where) {
  uint32_t saved;
  memcpy(&saved, p - 4, 4);
  /* Words no block header can hold: size 0, sizes far past the heap. */
  const uint32_t garbage[] = {0,           0xFFFFFFFFu, 0xDEADBEEFu,
                              0x12345678u, 0x80000000u, 7};
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
    corrupt_case(p, garbage[i], where);
  /* Plausible lies: the size off by one granule (LM_ALIGNMENT) either way,
   * and each flag bit (block.h: bit 0 free, bit 1 previous block free)
   * flipped. A wrong size makes the chain of headers continue inside a
   * payload, where the blocks of this test hold 0xFF bytes (no header
   * looks like that); the next block is never one granule long, so the
   * larger size cannot land exactly on the header after it, which would
   * be a consistent heap. */
  corrupt_case(p, saved + LM_ALIGNMENT, where);
  corrupt_case(p, saved - LM_ALIGNMENT, where);
  corrupt_case(p, saved ^ 1u, where);
  corrupt_case(p, saved ^ 2u, where);
}

static int adjacent_run(size_t size, int n, char **out);
static void good_free(void *p, const char *what);

/* Corrupts the headers of blocks in three positions: between used blocks,
 * just before a free block and just after one. The blocks are made here
 * (adjacent, 512 bytes each, payloads all 0xFF) so that what each lie
 * makes the checker read is known. (Requests of up to 256 bytes are slab
 * objects, which have no header.) */
static void test_corruption(void) {
  char *r[7]; /* guard, a, b, c, d, e, guard */
  if (!adjacent_run(512 - 4, 5, r))
    return;
  for (int i = 0; i < 7; i++)
    memset(r[i], 0xFF, lm_usable_size(r[i]));
  corrupt_block(r[2], "between used blocks");
  good_free(r[4], "free of d");
  corrupt_block(r[3], "before a free block");
  corrupt_block(r[5], "after a free block");
  for (int i = 0; i < 7; i++)
    if (i != 4)
      good_free(r[i], "free of a block of the corruption test");
  verify_live("after the corruption tests");
  CHECK(tl_lm_check() == 0, "heap healthy after the corruption tests");
}

/* ---- 4 ---- */

/* Set once a bad call has broken the heap: what follows would only repeat
 * the failure (or crash), so it is skipped. */
static int heap_broken;

/* Runs one bad call under the counting handler: expects one report of
 * kind `kind` (or, if alt != 0, of kind alt) about `ptr`, and the heap as
 * it was. */
static void expect_report(const char *what, const tl_reports_t *rep,
                          lm_report_kind_t kind, lm_report_kind_t alt,
                          const void *ptr, lm_stats_t before) {
  unsigned long hits = rep->count[kind] + (alt ? rep->count[alt] : 0);
  CHECK(hits == 1 && rep->total == 1,
        "%s: one report of kind %d (got %lu of that kind, %lu in all, the "
        "last of kind %d: %s)",
        what, (int)kind, hits, rep->total, (int)rep->last_kind,
        rep->last_message ? rep->last_message : "-");
  if (rep->total)
    CHECK(rep->last_address == ptr, "%s: the report names %p (got %p)", what,
          ptr, rep->last_address);
  if (rep->total)
    CHECK(rep->last_message != NULL && rep->last_message[0] != 0,
          "%s: the report has a message", what);
  lm_stats_t s = tl_stats();
  CHECK(s.used_blocks == before.used_blocks &&
            s.free_blocks == before.free_blocks &&
            s.used_bytes == before.used_bytes &&
            s.heap_bytes == before.heap_bytes,
        "%s changed the heap (used %zu -> %zu, free %zu -> %zu)", what,
        before.used_blocks, s.used_blocks, before.free_blocks, s.free_blocks);
  size_t bad = tl_lm_check();
  CHECK(bad == 0, "%s: heap healthy afterwards (%zu problems)", what, bad);
  if (bad && !heap_broken) {
    heap_broken = 1;
    printf("the heap is broken after: %s; later cases are skipped\n", what);
  }
  verify_live(what);
}

static void bad_free(const char *what, void *ptr, lm_report_kind_t kind,
                     lm_report_kind_t alt) {
  lm_stats_t before = tl_stats();
  tl_reports_t rep;
  tl_reports_begin(&rep);
  lm_free(ptr);
  tl_reports_end();
  expect_report(what, &rep, kind, alt, ptr, before);
}

static void bad_realloc(const char *what, void *ptr, lm_report_kind_t kind,
                        lm_report_kind_t alt) {
  lm_stats_t before = tl_stats();
  tl_reports_t rep;
  tl_reports_begin(&rep);
  void *r = tl_keep(lm_realloc(ptr, 100));
  tl_reports_end();
  CHECK(r == NULL, "%s returns NULL (got %p)", what, r);
  expect_report(what, &rep, kind, alt, ptr, before);
}

/* A free that must be accepted without any report. Under the counting
 * handler, so that a heap already broken by an earlier failure does not
 * trap the run before the rest is checked. */
static void good_free(void *p, const char *what) {
  tl_reports_t rep;
  tl_reports_begin(&rep);
  lm_free(p);
  tl_reports_end();
  CHECK(rep.total == 0, "%s: a valid free was reported (%s)", what,
        rep.last_message ? rep.last_message : "-");
}

/* Finds n + 2 adjacent used blocks (LM_KIND_BLOCK: `size` must be above
 * the slab objects' 256 bytes) of `size` bytes in one span: out[0]
 * and out[n + 1] are the used neighbours of the run out[1..n]. Allocates
 * batches of blocks until the walk shows such a run among them (the first
 * ones may fill scattered holes; later ones come from the top block), then
 * frees the rest. Returns 0 if none turned up (a failed check). */
#define BATCH 64
#define MAX_BATCHES 16
static int adjacent_run(size_t size, int n, char **out) {
  static char *batch[BATCH * MAX_BATCHES];
  int nbatch = 0, found = -1;
  for (int round = 0; round < MAX_BATCHES && found < 0; round++) {
    for (int i = 0; i < BATCH; i++)
      batch[nbatch++] = lm_malloc(size);
    walk_all();
    for (size_t i = 0; found < 0 && i + (size_t)n + 1 < nw; i++) {
      int ok = 1;
      for (size_t k = i; ok && k <= i + (size_t)n + 1; k++) {
        int mine = 0;
        for (int j = 0; j < nbatch && !mine; j++)
          mine = batch[j] && w[k].ptr == batch[j];
        ok = mine && w[k].used && w[k].kind == LM_KIND_BLOCK &&
             w[k].span == w[i].span;
      }
      if (ok)
        found = (int)i;
    }
  }
  CHECK(found >= 0, "%d adjacent blocks of %zu bytes among %d allocated", n + 2,
        size, nbatch);
  for (int k = 0; found >= 0 && k < n + 2; k++)
    out[k] = w[found + k].ptr;
  for (int j = 0; j < nbatch; j++) {
    int kept = 0;
    for (int k = 0; found >= 0 && k < n + 2; k++)
      kept |= batch[j] == out[k];
    if (!kept)
      good_free(batch[j], "free of a batch block");
  }
  return found >= 0;
}

/* A live object's bytes belong to the program, whatever they hold. Even
 * the bytes a freed object held (any free-list link or free mark the
 * allocator writes there), copied back into the same object once it is
 * allocated again, must not make its valid free look like a double free.
 * (Reading the freed object is fine here: lmalloc's memory stays mapped.) */
static void test_valid_free_of_mimic(void) {
  const size_t sizes[] = {16, 40, 100, 256, 1000};
  for (int i = 0; i < 5; i++) {
    size_t n = sizes[i];
    char *keep = lm_malloc(n); /* keeps the slab alive */
    char *o = lm_malloc(n);
    CHECK(keep && o, "malloc(%zu)", n);
    if (!keep || !o)
      continue;
    good_free(o, "free of an object");
    unsigned char freed[16];
    memcpy(freed, o, sizeof freed);
    char *o2 = lm_malloc(n);
    CHECK(o2 != NULL, "malloc(%zu) again", n);
    if (o2 == o) { /* LIFO reuse: the same slot, the same marks */
      memcpy(o2, freed, sizeof freed);
      lm_stats_t before = tl_stats();
      unsigned long failed = tl_failed;
      good_free(o2, "valid free of an object holding its freed bytes");
      lm_stats_t after = tl_stats();
      CHECK(after.used_blocks + 1 == before.used_blocks,
            "the object of %zu bytes holding its freed bytes was freed "
            "(%zu -> %zu allocations)",
            n, before.used_blocks, after.used_blocks);
      if (tl_failed != failed) { /* o2 is lost: the heap cannot be trusted */
        heap_broken = 1;
        printf("a valid free was refused; the rest is skipped\n");
        return;
      }
    } else {
      good_free(o2, "free of an object");
    }
    good_free(keep, "free of an object");
    CHECK(tl_lm_check() == 0, "heap healthy after the mimic test (%zu)", n);
  }
}

static void test_bad_frees(void) {
  /* Double free of a block between used blocks: it stays a block. */
  char *r1[3];
  if (!adjacent_run(300, 1, r1))
    return;
  char *a = r1[0], *p = r1[1], *c = r1[2];
  memset(a, 0x11, 300);
  memset(c, 0x33, 300);
  good_free(p, "free of p");
  bad_free("double free", p, LM_REPORT_DOUBLE_FREE, 0);
  bad_realloc("realloc of a freed block", p, LM_REPORT_DOUBLE_FREE, 0);

  /* Interior pointers of a live object (256 bytes) and of a live block
   * (1000 bytes), whatever their bytes say. */
  for (int qi = 0; qi < 2; qi++) {
    const size_t qn = qi ? 1000 : 256;
    char *q = lm_malloc(qn);
    CHECK(q != NULL, "malloc(%zu)", qn);
    if (!q)
      continue;
    const int fills[] = {0x00, 0xFF, 0x5A};
    for (int k = 0; k < 3; k++) {
      char what[64];
      memset(q, fills[k], qn);
      snprintf(what, sizeof what, "free of q + 16 (bytes 0x%02x)", fills[k]);
      bad_free(what, q + 16, LM_REPORT_INVALID_FREE, 0);
      snprintf(what, sizeof what, "free of q + 1 (bytes 0x%02x)", fills[k]);
      bad_free(what, q + 1, LM_REPORT_INVALID_FREE, 0);
      snprintf(what, sizeof what, "free of q + 8 (bytes 0x%02x)", fills[k]);
      bad_free(what, q + 8, LM_REPORT_INVALID_FREE, 0);
      snprintf(what, sizeof what, "free of q + 128 (bytes 0x%02x)", fills[k]);
      bad_free(what, q + 128, LM_REPORT_INVALID_FREE, 0);
      snprintf(what, sizeof what, "realloc of q + 32 (bytes 0x%02x)", fills[k]);
      bad_realloc(what, q + 32, LM_REPORT_INVALID_FREE, 0);
      size_t z = 0;
      for (size_t i = 0; i < qn; i++)
        if ((unsigned char)q[i] != fills[k])
          z++;
      CHECK(z == 0, "q's bytes unchanged by bad frees of its interior");
      CHECK(lm_usable_size(q) >= qn, "q still has its size");
    }
    good_free(q, "free of q after bad frees of its interior");
    CHECK(tl_lm_check() == 0, "q freed normally");
  }

  /* Slab objects: a double free while the slab lives on, a realloc of
   * the freed object, a double free after the slab went back to the heap
   * with its last object, and a free of a slab's own address. */
  char *o[4];
  for (int i = 0; i < 4; i++)
    o[i] = lm_malloc(40);
  CHECK(o[0] && o[1] && o[2] && o[3], "four 40-byte objects");
  if (o[0] && o[1] && o[2] && o[3]) {
    memset(o[0], 0x44, 40);
    memset(o[2], 0x55, 40);
    good_free(o[1], "free of an object");
    bad_free("double free of an object", o[1], LM_REPORT_DOUBLE_FREE,
             LM_REPORT_INVALID_FREE);
    bad_realloc("realloc of a freed object", o[1], LM_REPORT_DOUBLE_FREE,
                LM_REPORT_INVALID_FREE);
    CHECK(o[0][0] == 0x44 && o[0][39] == 0x44 && o[2][0] == 0x55 &&
              o[2][39] == 0x55,
          "objects next to the double-freed one unchanged");
    good_free(o[0], "free of an object");
    good_free(o[2], "free of an object");
    good_free(o[3], "free of an object");
  }
  /* Every A-aligned pointer inside a live object, of every object size:
   * no object starts there, whichever cell of the slab's map it falls in
   * (with A = 8, one of them is the cell where the object starts). */
  for (size_t size = LM_ALIGNMENT; size <= 256; size += LM_ALIGNMENT) {
    char *x[3];
    for (int i = 0; i < 3; i++)
      x[i] = lm_malloc(size);
    CHECK(x[0] && x[1] && x[2], "three %zu-byte objects", size);
    if (!(x[0] && x[1] && x[2]))
      break;
    size_t usable = lm_usable_size(x[1]);
    memset(x[1], 0x66, usable);
    int refused = 1;
    for (size_t at = LM_ALIGNMENT; at < usable; at += LM_ALIGNMENT) {
      char what[80];
      snprintf(what, sizeof what, "free of a %zu-byte object + %zu", size, at);
      bad_free(what, x[1] + at, LM_REPORT_INVALID_FREE, 0);
      refused &= lm_usable_size(x[1]) == usable;
    }
    size_t same = 0;
    for (size_t i = 0; i < usable; i++)
      same += (unsigned char)x[1][i] == 0x66;
    CHECK(refused && same == usable,
          "%zu-byte object intact after frees of its interior", size);
    for (int i = 0; i < 3; i++)
      good_free(x[i], "free of an object after interior frees");
  }
  CHECK(tl_lm_check() == 0, "heap healthy after interior frees of objects");

  char *lone = lm_malloc(232); /* likely alone in its slab */
  CHECK(lone != NULL, "malloc(232)");
  if (lone) {
    good_free(lone, "free of a lone object");
    bad_free("double free of an object whose slab may be gone", lone,
             LM_REPORT_DOUBLE_FREE, LM_REPORT_INVALID_FREE);
  }
  char *keep = lm_malloc(24); /* so at least one slab exists */
  walk_all();
  void *slab_ptr = NULL;
  for (size_t i = 0; i < nw && !slab_ptr; i++)
    if (w[i].kind == LM_KIND_SLAB)
      slab_ptr = w[i].ptr;
  CHECK(slab_ptr != NULL, "the walk shows a slab");
  if (slab_ptr)
    bad_free("free of a slab's own address", slab_ptr, LM_REPORT_INVALID_FREE,
             0);
  good_free(keep, "free of an object");

  /* Foreign and wild pointers. */
  int local = 0;
  static char global[64];
  bad_free("free of a stack address", tl_keep(&local), LM_REPORT_INVALID_FREE,
           0);
  bad_free("free of a global", tl_keep(global + 16), LM_REPORT_INVALID_FREE, 0);
  bad_free("free of address 64", tl_keep((void *)(uintptr_t)64),
           LM_REPORT_INVALID_FREE, 0);
  bad_free("free of address 0xFFFFFFF0",
           tl_keep((void *)(uintptr_t)0xFFFFFFF0u), LM_REPORT_INVALID_FREE, 0);

  CHECK(a[0] == 0x11 && a[299] == 0x11 && c[0] == 0x33 && c[299] == 0x33,
        "neighbours of the double-freed block unchanged");
  good_free(a, "free of a");
  good_free(c, "free of c");
  CHECK(tl_lm_check() == 0, "heap healthy after the simple bad frees");

  /* Last, the double frees of blocks that have merged since they were
   * freed: their old header now lies inside a bigger free block. */

  /* Its free right neighbour merged into it. */
  if (heap_broken)
    return;
  char *r3[4];
  if (adjacent_run(400, 2, r3)) {
    char *d = r3[1], *e = r3[2];
    good_free(e, "free of e");
    good_free(d, "free of d (e merges into it)");
    bad_free("double free of a block merged with its right neighbour", e,
             LM_REPORT_DOUBLE_FREE, LM_REPORT_INVALID_FREE);
    bad_free("double free of the merged block", d, LM_REPORT_DOUBLE_FREE, 0);
    good_free(r3[0], "free of the left guard");
    good_free(r3[3], "free of the right guard");
  }

  /* A big block, merged with top when freed. */
  if (heap_broken)
    return;
  char *big = lm_malloc(3u << 20);
  CHECK(big != NULL, "malloc(3 MiB)");
  if (big) {
    good_free(big, "free of a 3 MiB block");
    bad_free("double free of a block merged into top", big,
             LM_REPORT_DOUBLE_FREE, LM_REPORT_INVALID_FREE);
  }

  /* Merged into its free left neighbour. */
  if (heap_broken)
    return;
  char *r2[4];
  if (adjacent_run(400, 2, r2)) {
    char *d = r2[1], *e = r2[2];
    good_free(d, "free of d");
    good_free(e, "free of e (merges into d)");
    bad_free("double free of a block merged into its left neighbour", e,
             LM_REPORT_DOUBLE_FREE, LM_REPORT_INVALID_FREE);
    bad_realloc("realloc of a block merged into its left neighbour", e,
                LM_REPORT_DOUBLE_FREE, LM_REPORT_INVALID_FREE);
    good_free(r2[0], "free of the left guard");
    good_free(r2[3], "free of the right guard");
  }

  CHECK(tl_lm_check() == 0, "heap healthy after the bad frees");
  verify_live("after the bad frees");
}

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  for (int i = 0; i < 400; i++) {
    uint64_t k = tl_range(0, 99);
    if (k < 80)
      add((size_t)tl_range(1, 3000), 0);
    else if (k < 90) {
      size_t n = (size_t)tl_range(1, 2000); /* sequenced: replayable */
      add(n, (size_t)1 << tl_range(5, 12));
    } else
      add((size_t)tl_range(10000, 100000), 0);
  }
  /* Free every third block, and grow a few in place or not. */
  for (int i = nlive - 1; i >= 0; i -= 3) {
    lm_free(live[i].p);
    live[i] = live[--nlive];
  }
  for (int i = 0; i < nlive; i += 17) {
    size_t n = live[i].size * 2 + 10;
    char *r = lm_realloc(live[i].p, n);
    CHECK(r != NULL, "realloc");
    if (r) {
      CHECK(tl_verify(r, live[i].size, live[i].tag) == live[i].size,
            "realloc kept the bytes");
      live[i].p = r;
      live[i].size = n;
      tl_fill(r, n, live[i].tag);
    }
  }
  CHECK(tl_lm_check() == 0, "heap healthy after set-up");

  test_walk_and_stats();
  test_corruption();
  test_slab_map_corruption();
  test_heap_state_corruption();
  test_bad_frees();
  if (heap_broken)
    return tl_finish();
  test_walk_and_stats(); /* and all still agrees */

  verify_live("at the end");
  test_valid_free_of_mimic(); /* last: a failure leaves an object lost */
  if (heap_broken)
    return tl_finish();
  for (int i = 0; i < nlive; i++)
    good_free(live[i].p, "free of a live block at the end");
  nlive = 0;
  tl_check_all_free("at the end");
  CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
