/* test_arena: arenas (lmalloc_heaps.h).
 *
 *   1. Seeded random allocations of every size and alignment: aligned,
 *      no overlap, every byte kept until the reset; used_bytes and
 *      allocations as counted; chunks grow geometrically (few chunks).
 *   2. Reset: nothing used, every chunk kept; the same allocations again
 *      take no new memory (pages_grown of lm_pool_info unchanged);
 *      calloc of reused memory is zero.
 *   3. Resize and free of the last allocation work in place; of an
 *      earlier one only a shrink succeeds; free of an earlier one does
 *      nothing.
 *   4. Failures: NULL + ENOMEM for a request beyond LM_MAX_REQUEST or an
 *      overflowing calloc, EINVAL for a bad alignment, the arena intact.
 *   5. Destroy gives every chunk to the page pool, and a new arena takes
 *      them back without growing memory; destroying twice is reported.
 *   6. lm_arena_walk, after every round of 1 and 2: as many chunks as
 *      lm_arena_info counts, their sizes add up to its held_bytes (and
 *      pages), their used bytes to its used_bytes; one current chunk,
 *      nothing used after it; each chunk's bump (data + used) is the end
 *      of the last allocation in it; a visitor that returns 1 stops it.
 *   Reset in constant time is measured by bench/arena-reset.c, not here.
 *
 *   test_arena [--seed N] [--ops N]      default 20000 allocations
 */
#include "testlib.h"

#define MAX_ALLOCS 20000

typedef struct rec {
  char *p;
  size_t size, align;
} rec_t;

static rec_t recs[MAX_ALLOCS];
static int nrecs;

static uint64_t pages_grown(void) {
  lm_pool_info_t info;
  lm_pool_info(&info);
  return info.pages_grown;
}

static lm_arena_info_t info_of(lm_arena_t *a) {
  lm_arena_info_t i;
  memset(&i, 0, sizeof i);
  CHECK(lm_arena_info(a, &i) == 0, "lm_arena_info");
  return i;
}

static size_t random_size(void) {
  uint64_t r = tl_range(0, 99);
  if (r < 80)
    return (size_t)tl_range(0, 200);
  if (r < 99)
    return (size_t)tl_range(201, 5000);
  return (size_t)tl_range(5001, 300000);
}

/* Allocates `count` random blocks, checking each; returns bytes asked. */
static size_t fill(lm_arena_t *a, int count, const char *round) {
  size_t asked = 0;
  nrecs = 0;
  for (int i = 0; i < count && nrecs < MAX_ALLOCS; i++) {
    rec_t r = {NULL, random_size(), 0};
    if (tl_range(0, 9) == 0) {
      r.align = (size_t)1 << tl_range(0, 16);
      r.p = lm_arena_aligned_alloc(a, r.align, r.size);
    } else {
      r.p = lm_arena_alloc(a, r.size);
    }
    CHECK(r.p != NULL, "%s: allocation %d of %zu bytes", round, i, r.size);
    if (!r.p)
      return asked;
    CHECK(tl_aligned(r.p, r.align > LM_ALIGNMENT ? r.align : LM_ALIGNMENT),
          "%s: %p aligned to %zu", round, (void *)r.p, r.align);
    if (nrecs > 0) { /* bump order: each starts after the previous ends */
      rec_t *prev = &recs[nrecs - 1];
      int next_chunk = r.p < prev->p;
      CHECK(next_chunk || r.p >= prev->p + (prev->size ? prev->size : 1),
            "%s: allocation %d overlaps the one before", round, i);
    }
    tl_fill(r.p, r.size, tl_tag((uint32_t)nrecs, 0xA7));
    recs[nrecs++] = r;
    asked += r.size;
  }
  return asked;
}

static void verify_all(const char *when) {
  int bad = 0;
  for (int i = 0; i < nrecs; i++)
    if (tl_verify(recs[i].p, recs[i].size, tl_tag((uint32_t)i, 0xA7)) !=
        recs[i].size)
      bad++;
  CHECK(bad == 0, "%d allocations lost bytes %s", bad, when);
}

static void no_overlap(void) {
  /* Sort-free check: allocations of one chunk come in increasing order;
   * across chunks compare every pair only for a sample. */
  int bad = 0;
  for (int k = 0; k < 2000; k++) {
    int i = (int)tl_range(0, (uint64_t)nrecs - 1);
    int j = (int)tl_range(0, (uint64_t)nrecs - 1);
    if (i == j)
      continue;
    rec_t *x = &recs[i], *y = &recs[j];
    size_t xs = x->size ? x->size : 1, ys = y->size ? y->size : 1;
    if (x->p < y->p + ys && y->p < x->p + xs)
      bad++;
  }
  CHECK(bad == 0, "%d sampled pairs of allocations overlap", bad);
}

#define MAX_CHUNKS 64

typedef struct walked {
  lm_arena_chunk_t chunk[MAX_CHUNKS];
  size_t n;
} walked_t;

static int collect(const lm_arena_chunk_t *c, void *ctx) {
  walked_t *w = ctx;
  if (w->n < MAX_CHUNKS)
    w->chunk[w->n] = *c;
  w->n++;
  return 0;
}

static int stop_at_first(const lm_arena_chunk_t *c, void *ctx) {
  (void)c;
  ++*(size_t *)ctx;
  return 1;
}

/* What lm_arena_walk gives agrees with lm_arena_info and with the
 * allocations in recs (made since the last reset, none freed). */
static void check_walk(lm_arena_t *a, const char *when) {
  static walked_t w;
  w.n = 0;
  size_t count = lm_arena_walk(a, collect, &w);
  lm_arena_info_t info = info_of(a);
  CHECK(count == w.n && count == info.chunks && count <= MAX_CHUNKS,
        "%s: the walk visits %zu chunks, lm_arena_info counts %zu", when, count,
        info.chunks);
  if (count > MAX_CHUNKS)
    return;
  size_t held = 0, used = 0, current = 0, bad = 0;
  for (size_t i = 0; i < count; i++) {
    const lm_arena_chunk_t *c = &w.chunk[i];
    char *start = c->start, *data = c->data, *end = c->end;
    held += (size_t)(end - start);
    used += c->used;
    if (!(start < data && data + c->used <= end &&
          tl_aligned(data, LM_ALIGNMENT) && (size_t)(end - start) % 65536 == 0))
      bad++;
    if (i == 0 && !((char *)a > start && (char *)a < data))
      bad++; /* the first chunk holds the arena struct */
    if (current && c->used != 0)
      bad++; /* chunks after the current one are empty */
    current += c->current != 0;
    /* The bump is where the last allocation in this chunk ends. */
    char *last_end = NULL;
    for (int k = 0; k < nrecs; k++) {
      char *p = recs[k].p;
      size_t n = recs[k].size ? recs[k].size : 1;
      n = (n + LM_ALIGNMENT - 1) & ~(size_t)(LM_ALIGNMENT - 1);
      if (p >= data && p < end && p + n > last_end)
        last_end = p + n;
    }
    if (last_end ? last_end != data + c->used : c->used != 0)
      bad++;
  }
  CHECK(bad == 0, "%s: %zu chunks out of place or with a wrong bump", when,
        bad);
  CHECK(current == 1, "%s: %zu current chunks", when, current);
  CHECK(held == info.held_bytes && held / 65536 == info.pages,
        "%s: chunks hold %zu bytes, lm_arena_info %zu (%zu pages)", when, held,
        info.held_bytes, info.pages);
  CHECK(used == info.used_bytes, "%s: chunks use %zu bytes, lm_arena_info %zu",
        when, used, info.used_bytes);
  size_t visited = 0;
  CHECK(lm_arena_walk(a, stop_at_first, &visited) == 1 && visited == 1,
        "%s: a visitor returning 1 stops the walk", when);
}

static void random_rounds(int ops) {
  lm_arena_t *a = lm_arena_create(0);
  CHECK(a != NULL, "lm_arena_create(0)");
  if (!a)
    return;
  lm_arena_info_t i0 = info_of(a);
  CHECK(i0.used_bytes == 0 && i0.chunks == 1 && i0.pages == 1,
        "a new arena holds one page, nothing used");
  uint64_t state = tl_rng_state; /* each round replays round 1 */
  check_walk(a, "new arena");
  size_t asked = fill(a, ops, "round 1");
  verify_all("in round 1");
  no_overlap();
  check_walk(a, "round 1");
  lm_arena_info_t i1 = info_of(a);
  CHECK(i1.allocations == (size_t)nrecs && i1.used_bytes >= asked &&
            i1.used_bytes <= i1.held_bytes,
        "round 1: %zu allocations, used %zu >= asked %zu, held %zu",
        i1.allocations, i1.used_bytes, asked, i1.held_bytes);
  CHECK(i1.peak_bytes >= i1.used_bytes, "peak >= used");
  /* Chunks double up to 8 MiB, then are 8 MiB each: log2 of the bytes
   * up to 8 MiB, linear beyond. */
  size_t expect = 2 + i1.held_bytes / ((size_t)8 << 20);
  for (size_t b = 65536; b < i1.held_bytes && b < ((size_t)8 << 20); b *= 2)
    expect++;
  CHECK(i1.chunks <= expect, "%zu chunks for %zu bytes (at most %zu)",
        i1.chunks, i1.held_bytes, expect);
  printf("round 1: %d allocations, %zu bytes asked, %zu used, %zu held in %zu "
         "chunks\n",
         nrecs, asked, i1.used_bytes, i1.held_bytes, i1.chunks);

  uint64_t grown = pages_grown();
  lm_arena_reset(a);
  lm_arena_info_t i2 = info_of(a);
  CHECK(i2.used_bytes == 0 && i2.allocations == 0 &&
            i2.held_bytes == i1.held_bytes && i2.chunks == i1.chunks,
        "reset: nothing used, all %zu chunks kept", i1.chunks);
  nrecs = 0;
  check_walk(a, "after reset");
  for (int round = 2; round <= 4; round++) {
    tl_rng_state = state; /* the same allocations each round */
    fill(a, ops, "again");
    verify_all("after a reset");
    check_walk(a, "again");
    lm_arena_info_t ir = info_of(a);
    CHECK(ir.chunks == i1.chunks && pages_grown() == grown,
          "round %d reused the chunks: %zu chunks, grown %llu -> %llu", round,
          ir.chunks, (unsigned long long)grown,
          (unsigned long long)pages_grown());
    lm_arena_reset(a);
  }
  /* Memory reused after a reset is dirty, calloc clears it. */
  tl_fill(lm_arena_alloc(a, 1000), 1000, 1);
  lm_arena_reset(a);
  char *z = lm_arena_calloc(a, 10, 100);
  CHECK(z && tl_first_nonzero(z, 1000) == 1000, "calloc after reset is zero");
  lm_arena_destroy(a);
}

static void resize_and_free(void) {
  lm_arena_t *a = lm_arena_create(100000);
  CHECK(a != NULL, "arena with a 100000-byte first chunk");
  if (!a)
    return;
  CHECK(info_of(a).held_bytes >= 100000, "the first chunk is that large");
  char *x = lm_arena_alloc(a, 100);
  char *y = lm_arena_alloc(a, 100);
  tl_fill(y, 100, 7);
  CHECK(lm_arena_resize(a, y, 100, 5000) == 1, "the last allocation grows");
  CHECK(tl_verify(y, 100, 7) == 100, "and keeps its bytes");
  size_t used = info_of(a).used_bytes;
  CHECK(lm_arena_resize(a, y, 5000, 50) == 1 &&
            info_of(a).used_bytes == used - 5008 + 64,
        "the last allocation shrinks and gives its bytes back");
  CHECK(lm_arena_resize(a, x, 100, 200) == 0, "an earlier one cannot grow");
  CHECK(lm_arena_resize(a, x, 100, 20) == 1, "an earlier one can shrink");
  CHECK(lm_arena_resize(a, y, 50, (size_t)1 << 30) == 0,
        "growing past the chunk fails");
  lm_arena_free(a, x, 100); /* not the last: nothing happens */
  char *w = lm_arena_alloc(a, 16);
  CHECK(w > y, "freeing an earlier allocation gives nothing back");
  lm_arena_free(a, w, 16);
  CHECK(lm_arena_alloc(a, 16) == w, "freeing the last one does");
  lm_arena_free(a, NULL, 0);
  lm_arena_destroy(a);
}

static void failures(void) {
  lm_arena_t *a = lm_arena_create(0);
  CHECK(a != NULL, "arena");
  if (!a)
    return;
  char *p = lm_arena_alloc(a, 32);
  tl_fill(p, 32, 9);
  errno = 0;
  CHECK(tl_keep(lm_arena_alloc(a, LM_MAX_REQUEST + (size_t)1)) == NULL &&
            errno == ENOMEM,
        "a request beyond LM_MAX_REQUEST: ENOMEM");
  errno = 0;
  CHECK(tl_keep(lm_arena_calloc(a, (size_t)-1 / 2, 4)) == NULL &&
            errno == ENOMEM,
        "an overflowing calloc: ENOMEM");
  errno = 0;
  CHECK(tl_keep(lm_arena_aligned_alloc(a, 48, 10)) == NULL && errno == EINVAL,
        "alignment 48: EINVAL");
  errno = 0;
  CHECK(tl_keep(lm_arena_aligned_alloc(a, 0, 10)) == NULL && errno == EINVAL,
        "alignment 0: EINVAL");
  char *big = lm_arena_aligned_alloc(a, 1 << 16, 10);
  CHECK(big && tl_aligned(big, 1 << 16), "alignment 64 KiB");
  CHECK(tl_verify(p, 32, 9) == 32 && info_of(a).allocations == 2,
        "the arena is intact after its failures");
  lm_arena_destroy(a);
}

static void destroy_and_reuse(void) {
  lm_arena_t *a = lm_arena_create(0);
  CHECK(a != NULL, "arena");
  if (!a)
    return;
  for (int i = 0; i < 100; i++)
    CHECK(lm_arena_alloc(a, 30000) != NULL, "allocation %d", i);
  lm_arena_info_t i1 = info_of(a);
  lm_pool_info_t p0, p1;
  lm_pool_info(&p0);
  uint64_t grown = pages_grown();
  lm_arena_destroy(a);
  lm_pool_info(&p1);
  CHECK(p1.free_bytes == p0.free_bytes + i1.held_bytes &&
            p1.arenas + 1 == p0.arenas,
        "destroy gives all %zu bytes to the pool", i1.held_bytes);
  lm_arena_t *b = lm_arena_create(0);
  CHECK(b != NULL, "second arena");
  if (!b)
    return;
  for (int i = 0; i < 100; i++)
    CHECK(lm_arena_alloc(b, 30000) != NULL, "second arena allocation %d", i);
  CHECK(pages_grown() == grown, "the second arena reused the pages");
  tl_reports_t r;
  tl_reports_begin(&r);
  lm_arena_destroy(b);
  lm_arena_destroy(b); /* twice */
  tl_reports_end();
  CHECK(r.count[LM_REPORT_INVALID_FREE] == 1,
        "destroying an arena twice is reported (%lu)",
        r.count[LM_REPORT_INVALID_FREE]);
  lm_arena_destroy(NULL);
  CHECK(lm_arena_walk(NULL, collect, NULL) == 0, "walking NULL visits nothing");
}

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  int ops = (int)tl_option_ul(argc, argv, "--ops", MAX_ALLOCS);
  if (ops > MAX_ALLOCS)
    ops = MAX_ALLOCS;
  random_rounds(ops);
  resize_and_free();
  failures();
  destroy_and_reuse();
  lm_pool_info_t info;
  lm_pool_info(&info);
  CHECK(info.arenas == 0, "every arena destroyed");
  CHECK(tl_lm_check() == 0, "default heap healthy at the end");
  return tl_finish();
}
