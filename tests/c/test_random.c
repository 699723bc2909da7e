/* test_random: seeded random malloc/calloc/realloc/free/aligned_alloc
 * sequences checked against a shadow model of the live blocks.
 *
 * The shadow knows, for every live block, its pointer, requested size,
 * usable size and a (id, generation) tag. Every block is filled to its last
 * usable byte with the tag's pattern and verified in full before it is
 * freed, and its kept prefix after every realloc. A new block must not
 * overlap any live one, calloc must read zero, lm_check() must find
 * nothing after every operation, and every 500 operations lm_walk's used
 * blocks must be exactly the shadow's live set (plus the blocks that were
 * already live when the test started, which libc may own).
 *
 *   test_random [--seed N] [--ops N]     default 20000 operations
 *
 * Built a second time as test_random_std (LM_TEST_STD_NAMES), where the
 * library defines the standard names (wasm builds): the same operations
 * through malloc, calloc, realloc, aligned_alloc and free, which carry
 * fast paths of their own there (src/fast.h).
 */
#include "testlib.h"

#ifdef LM_TEST_STD_NAMES
#define lm_malloc malloc
#define lm_calloc calloc
#define lm_realloc realloc
#define lm_aligned_alloc aligned_alloc
#define lm_free free
#endif

#define MAX_LIVE 1000
#define WALK_EVERY 500
#define VERIFY_ALL_EVERY 1000
#define MAX_WALKED 4096

typedef struct blk {
  char *p;
  size_t size;   /* requested */
  size_t usable; /* lm_usable_size when allocated */
  size_t align;  /* 0 unless from aligned_alloc */
  uint32_t id, gen;
} blk_t;

static blk_t live[MAX_LIVE];
static int nlive;
static uint32_t next_id;
static unsigned long op_no; /* current operation, for messages */

/* Blocks used before the test began (stdio buffers on wasm, say). */
static void *baseline[64];
static int nbaseline;

static uint32_t tag_of(const blk_t *b) { return tl_tag(b->id, b->gen); }

/* Mostly small, some medium, rarely up to 1 MiB; now and then 0. */
static size_t random_size(void) {
  uint64_t r = tl_range(0, 999);
  if (r < 10)
    return 0;
  if (r < 850)
    return (size_t)tl_range(1, 256);
  if (r < 990)
    return (size_t)tl_range(1, 64 * 1024);
  return (size_t)tl_range(1, 1024 * 1024);
}

static int overlaps(const char *a, size_t an, const char *b, size_t bn) {
  return a < b + bn && b < a + an;
}

/* Checks a block fresh from the allocator and fills it. `kept` bytes at
 * the start must already hold `old_tag`'s pattern (after realloc). */
static void accept_block(blk_t *b, const char *what, int zeroed, size_t kept,
                         uint32_t old_tag, int self) {
  b->usable = lm_usable_size(b->p);
  CHECK(tl_aligned(b->p, LM_ALIGNMENT), "op %lu: %s(%zu) = %p aligned to LM_ALIGNMENT",
        op_no, what, b->size, (void *)b->p);
  if (b->align)
    CHECK(tl_aligned(b->p, b->align), "op %lu: %s(%zu, %zu) = %p aligned",
          op_no, what, b->align, b->size, (void *)b->p);
  CHECK(b->usable >= b->size, "op %lu: %s(%zu): usable %zu too small", op_no,
        what, b->size, b->usable);
  for (int i = 0; i < nlive; i++) {
    if (i == self)
      continue;
    if (overlaps(b->p, b->usable, live[i].p, live[i].usable)) {
      CHECK(0,
            "op %lu: %s(%zu) = [%p, +%zu) overlaps live block id %u "
            "[%p, +%zu)",
            op_no, what, b->size, (void *)b->p, b->usable, live[i].id,
            (void *)live[i].p, live[i].usable);
      break;
    }
  }
  if (zeroed) {
    size_t z = tl_first_nonzero(b->p, b->size);
    CHECK(z == b->size, "op %lu: calloc(%zu) byte %zu is not zero", op_no,
          b->size, z);
  }
  if (kept) {
    size_t v = tl_verify(b->p, kept, old_tag);
    CHECK(v == kept, "op %lu: realloc of id %u to %zu lost byte %zu of %zu",
          op_no, b->id, b->size, v, kept);
  }
  tl_fill(b->p, b->usable, tag_of(b));
}

static void verify_block(const blk_t *b, const char *when) {
  size_t v = tl_verify(b->p, b->usable, tag_of(b));
  CHECK(v == b->usable,
        "op %lu: block id %u (%p, size %zu, usable %zu) byte %zu changed %s",
        op_no, b->id, (void *)b->p, b->size, b->usable, v, when);
}

static void do_alloc(int kind) {
  if (nlive >= MAX_LIVE)
    return;
  blk_t b = {0};
  b.size = random_size();
  b.id = next_id++;
  const char *what = "malloc";
  int zeroed = 0;
  if (kind == 0) {
    b.p = lm_malloc(b.size);
  } else if (kind == 1) {
    what = "calloc";
    zeroed = 1;
    if (b.size > 1 && tl_range(0, 1)) {
      size_t n = (size_t)tl_range(1, 8);
      b.size = b.size / n + 1;
      b.p = lm_calloc(n, b.size);
      b.size *= n;
    } else {
      b.p = lm_calloc(1, b.size);
    }
  } else if (kind == 2) {
    what = "aligned_alloc";
    b.align =
        (size_t)1 << (tl_range(0, 9) ? tl_range(0, 12) : tl_range(13, 16));
    b.p = lm_aligned_alloc(b.align, b.size);
  } else {
    what = "realloc(NULL)";
    b.p = lm_realloc(NULL, b.size);
  }
  CHECK(b.p != NULL, "op %lu: %s(%zu) failed", op_no, what, b.size);
  if (!b.p)
    return;
  accept_block(&b, what, zeroed, 0, 0, -1);
  live[nlive++] = b;
}

static void remove_live(int i) { live[i] = live[--nlive]; }

static void do_free(void) {
  if (!nlive)
    return;
  int i = (int)tl_range(0, (uint64_t)nlive - 1);
  verify_block(&live[i], "before free");
  lm_free(live[i].p);
  remove_live(i);
}

static void do_realloc(void) {
  if (!nlive)
    return;
  int i = (int)tl_range(0, (uint64_t)nlive - 1);
  blk_t *b = &live[i];
  verify_block(b, "before realloc");
  size_t size = random_size();
  /* Sometimes a size close to the old one, to hit in-place paths. */
  if (tl_range(0, 3) == 0) {
    size_t delta = (size_t)tl_range(0, 64);
    size = tl_range(0, 1) ? b->size + delta
                          : (b->size > delta ? b->size - delta : 1);
  }
  if (tl_range(0, 49) == 0)
    size = 0;
  if (size == 0) { /* frees, returns NULL, errno unchanged */
    errno = 0;
    void *r = tl_keep(lm_realloc(b->p, 0));
    CHECK(r == NULL, "op %lu: realloc(p, 0) returned %p", op_no, r);
    CHECK(errno == 0, "op %lu: realloc(p, 0) set errno %d", op_no, errno);
    remove_live(i);
    return;
  }
  char *q = lm_realloc(b->p, size);
  CHECK(q != NULL, "op %lu: realloc(id %u, %zu -> %zu) failed", op_no, b->id,
        b->size, size);
  if (!q) {
    verify_block(b, "after a failed realloc");
    return;
  }
  size_t kept = b->size < size ? b->size : size;
  uint32_t old_tag = tag_of(b);
  b->p = q;
  b->size = size;
  b->align = 0; /* realloc promises only LM_ALIGNMENT */
  b->gen++;
  accept_block(b, "realloc", 0, kept, old_tag, i);
}

/* ---- walk comparison ---- */

static void *walked[MAX_WALKED];
static size_t walked_usable[MAX_WALKED];
static int nwalked, walk_overflow, walk_unordered;
static const char *walk_prev;     /* header of the previous block */
static lm_block_info_t walk_slab; /* the slab whose objects come next */
static const char *walk_prev_obj; /* previous object of that slab */

/* Collects the allocations (used blocks and used objects) in walk order,
 * checking that blocks come in increasing address order and each object
 * lies inside the slab visited before it, after the previous object. */
static int collect_used(const lm_block_info_t *b, void *ctx) {
  (void)ctx;
  if (b->kind == LM_KIND_OBJECT) {
    const char *p = (const char *)b->ptr;
    if (!walk_slab.header || p < (const char *)walk_slab.header ||
        p + b->size > (const char *)walk_slab.header + walk_slab.size ||
        (walk_prev_obj && p <= walk_prev_obj))
      walk_unordered++;
    walk_prev_obj = p;
  } else {
    if (walk_prev && (const char *)b->header <= walk_prev)
      walk_unordered++;
    walk_prev = (const char *)b->header;
    walk_slab = *b;
    if (b->kind != LM_KIND_SLAB)
      walk_slab.header = NULL;
    walk_prev_obj = NULL;
  }
  if (!tl_is_allocation(b))
    return 0;
  if (nwalked == MAX_WALKED) {
    walk_overflow = 1;
    return 0;
  }
  walked[nwalked] = b->ptr;
  walked_usable[nwalked] = b->usable;
  nwalked++;
  return 0;
}

static int by_address(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  return x < y ? -1 : x > y;
}

/* Collects the allocations, then sorts them by address (objects come after
 * their slab, so walk order is not quite address order) for lookups.
 * usable sizes are looked up through lm_usable_size after sorting. */
static void walk_used(void) {
  nwalked = walk_overflow = walk_unordered = 0;
  walk_prev = NULL;
  walk_prev_obj = NULL;
  memset(&walk_slab, 0, sizeof walk_slab);
  lm_walk(collect_used, NULL);
  for (int i = 0; i < nwalked; i++) /* the walk's own claim, checked */
    if (walked_usable[i] != lm_usable_size(walked[i]))
      walk_unordered++;
  qsort(walked, (size_t)nwalked, sizeof walked[0], by_address);
  for (int i = 0; i < nwalked; i++)
    walked_usable[i] = lm_usable_size(walked[i]);
}

/* Index of p in walked[] (sorted by address), or -1. */
static int walked_index(const void *p) {
  int lo = 0, hi = nwalked - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if ((const char *)walked[mid] == (const char *)p)
      return mid;
    if ((const char *)walked[mid] < (const char *)p)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return -1;
}

static void compare_walk(void) {
  walk_used();
  CHECK(!walk_overflow, "op %lu: more than %d used blocks", op_no, MAX_WALKED);
  CHECK(walk_unordered == 0,
        "op %lu: walk out of order, objects outside their slab, or a usable "
        "size that disagrees with lm_usable_size (%d)",
        op_no, walk_unordered);
  CHECK(nwalked == nlive + nbaseline,
        "op %lu: walk sees %d used blocks, shadow has %d (+%d at start)", op_no,
        nwalked, nlive, nbaseline);
  for (int i = 0; i < nlive; i++) {
    int w = walked_index(live[i].p);
    CHECK(w >= 0, "op %lu: live block id %u at %p missing from the walk", op_no,
          live[i].id, (void *)live[i].p);
    if (w >= 0)
      CHECK(walked_usable[w] == live[i].usable,
            "op %lu: walk says usable %zu for id %u, usable_size said %zu",
            op_no, walked_usable[w], live[i].id, live[i].usable);
  }
  for (int i = 0; i < nbaseline; i++)
    CHECK(walked_index(baseline[i]) >= 0,
          "op %lu: block %p live at start is gone", op_no, baseline[i]);
}

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  unsigned long ops = tl_option_ul(argc, argv, "--ops", 20000);

  walk_used();
  for (int i = 0; i < nwalked && nbaseline < 64; i++)
    baseline[nbaseline++] = walked[i];
  CHECK(nwalked <= 64, "at most 64 blocks used at start (%d)", nwalked);

  double t0 = tl_now();
  int peak = 0;
  for (op_no = 1; op_no <= ops; op_no++) {
    /* Phases of 4000 ops: grow, then shrink, so the heap fills up and
     * drains again and coalescing gets work. */
    int growing = (op_no / 4000) % 2 == 0;
    uint64_t r = tl_range(0, 99);
    int alloc_pct = growing ? 55 : 28;
    int realloc_pct = 20;
    if (r < (uint64_t)alloc_pct) {
      uint64_t k = tl_range(0, 99);
      do_alloc(k < 60 ? 0 : k < 80 ? 1 : k < 96 ? 2 : 3);
    } else if (r < (uint64_t)(alloc_pct + realloc_pct)) {
      do_realloc();
    } else {
      do_free();
    }
    if (nlive > peak)
      peak = nlive;
    size_t bad = tl_lm_check();
    CHECK(bad == 0, "op %lu: lm_check found %zu problems", op_no, bad);
    if (bad) { /* enough to replay; walking or freeing now could crash */
      printf("heap broken at op %lu: stopping (rerun with --seed and "
             "--ops %lu)\n",
             op_no, op_no);
      return tl_finish();
    }
    if (op_no % WALK_EVERY == 0)
      compare_walk();
    if (op_no % VERIFY_ALL_EVERY == 0)
      for (int i = 0; i < nlive; i++)
        verify_block(&live[i], "while live");
  }
  compare_walk();
  for (int i = 0; i < nlive; i++)
    verify_block(&live[i], "at the end");
  lm_stats_t s = tl_stats();
  printf("ops: %lu, peak live blocks: %d, heap_bytes: %zu, spans: %zu, "
         "time: %.2f s\n",
         ops, peak, s.heap_bytes, s.spans, tl_now() - t0);
  while (nlive)
    lm_free(live[--nlive].p);
  s = tl_stats();
  CHECK(s.used_blocks == (size_t)nbaseline,
        "all blocks freed: %zu used, %d at start", s.used_blocks, nbaseline);
  CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
