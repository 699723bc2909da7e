/* test_allocator: the allocator interface (lmalloc_heaps.h).
 *
 *   1. One test body, written against lm_allocator_t only (a vector of
 *      strings grown with lm_allocator_realloc, aligned allocations,
 *      resizes, size 0, a bad alignment), run through every instance: the
 *      default heap, a created heap, a buffer heap, an arena, and the
 *      testing allocator wrapped around each of them. Afterwards each heap
 *      holds nothing more than before and the testing allocator finds no
 *      leak.
 *   2. The testing allocator catches a planted leak: finish returns the
 *      count and reports each one (LM_REPORT_LEAK, its address and size),
 *      and gives the memory back to the parent.
 *   3. It reports a double free, a wrong size and a foreign pointer, and
 *      passes none of them on; fail_at makes allocations fail on cue.
 */
#include "testlib.h"

/* ---------------------------------------------------------------------
 * Library code that takes an allocator
 * ------------------------------------------------------------------- */

typedef struct vec {
  char **items;
  size_t n, cap;
} vec_t;

static int vec_push(lm_allocator_t a, vec_t *v, const char *s) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 4;
    char **items = lm_allocator_realloc(a, v->items, v->cap * sizeof *items,
                                        cap * sizeof *items, _Alignof(char *));
    if (!items)
      return 0;
    v->items = items;
    v->cap = cap;
  }
  size_t len = strlen(s) + 1;
  char *copy = lm_allocator_alloc(a, len, 1);
  if (!copy)
    return 0;
  memcpy(copy, s, len);
  v->items[v->n++] = copy;
  return 1;
}

static void vec_free(lm_allocator_t a, vec_t *v) {
  for (size_t i = 0; i < v->n; i++)
    lm_allocator_free(a, v->items[i], strlen(v->items[i]) + 1);
  lm_allocator_free(a, v->items, v->cap * sizeof *v->items);
  memset(v, 0, sizeof *v);
}

/* The one test body. */
static void exercise(lm_allocator_t a, const char *name) {
  vec_t v = {0};
  char text[64];
  for (int i = 0; i < 300; i++) {
    snprintf(text, sizeof text, "item %d of %s", i, name);
    CHECK(vec_push(a, &v, text), "%s: push %d", name, i);
  }
  int bad = 0;
  for (size_t i = 0; i < v.n; i++) {
    snprintf(text, sizeof text, "item %zu of %s", i, name);
    bad += strcmp(v.items[i], text) != 0;
  }
  CHECK(v.n == 300 && bad == 0, "%s: 300 strings kept (%d wrong)", name, bad);

  for (size_t align = 1; align <= 4096; align *= 2) {
    size_t size = align * 3 + 5;
    char *p = lm_allocator_alloc(a, size, align);
    CHECK(p && tl_aligned(p, align), "%s: alloc(%zu, %zu) aligned", name, size,
          align);
    if (!p)
      continue;
    tl_fill(p, size, (uint32_t)align);
    CHECK(tl_verify(p, size, (uint32_t)align) == size, "%s: writable", name);
    lm_allocator_free(a, p, size);
  }

  char *p = lm_allocator_alloc(a, 100, 0);
  CHECK(p && tl_aligned(p, LM_ALIGNMENT), "%s: align 0 means LM_ALIGNMENT", name);
  tl_fill(p, 100, 3);
  CHECK(lm_allocator_resize(a, p, 100, 40), "%s: a shrink in place", name);
  CHECK(tl_verify(p, 40, 3) == 40, "%s: the shrink kept the bytes", name);
  size_t size = 40;
  if (lm_allocator_resize(a, p, 40, 120)) { /* may or may not fit */
    size = 120;
    tl_fill(p + 40, 80, 4);
  }
  char *q = lm_allocator_realloc(a, p, size, 100000, 16);
  CHECK(q && tl_verify(q, 40, 3) == 40, "%s: realloc to 100000 kept bytes",
        name);
  if (q) {
    memset(q + 40, 0x5A, 100000 - 40);
    lm_allocator_free(a, q, 100000);
  }
  CHECK(lm_allocator_realloc(a, lm_allocator_alloc(a, 8, 8), 8, 0, 8) == NULL,
        "%s: realloc to 0 frees", name);

  char *z1 = lm_allocator_alloc(a, 0, 1), *z2 = lm_allocator_alloc(a, 0, 1);
  CHECK(z1 && z2 && z1 != z2, "%s: size 0 gives unique pointers", name);
  lm_allocator_free(a, z2, 0);
  lm_allocator_free(a, z1, 0);
  lm_allocator_free(a, NULL, 0);

  errno = 0;
  CHECK(tl_keep(lm_allocator_alloc(a, 10, 3)) == NULL && errno == EINVAL,
        "%s: alignment 3 gives EINVAL", name);
  vec_free(a, &v);
}

/* ---------------------------------------------------------------------
 * Instances
 * ------------------------------------------------------------------- */

/* Allocations in h. (The debug library counts blocks in its quarantine
 * as used: flush it first; the release library's flush does nothing.) */
static size_t heap_used(lm_heap_t *h) {
  lm_quarantine_flush();
  lm_stats_t s;
  memset(&s, 0, sizeof s);
  s.version = LM_STATS_VERSION;
  s.size = sizeof s;
  lm_heap_stats(h, &s);
  return s.used_blocks;
}

/* exercise() on `a`, then again through a testing allocator over it. */
static void both_ways(lm_allocator_t a, const char *name) {
  exercise(a, name);
  lm_testing_allocator_t t;
  lm_testing_allocator_init(&t, a);
  char label[64];
  snprintf(label, sizeof label, "testing(%s)", name);
  exercise(lm_testing_allocator(&t), label);
  CHECK(t.allocations > 300 && t.allocations == t.frees && t.live == 0 &&
            t.live_bytes == 0 && t.errors == 0 && t.peak_bytes >= 100000,
        "%s: %zu allocations, %zu frees, %zu live, %zu errors", label,
        t.allocations, t.frees, t.live, t.errors);
  CHECK(lm_testing_allocator_finish(&t) == 0, "%s: no leak", label);
}

static void every_instance(void) {
  lm_heap_t *d = lm_heap_default();
  size_t used = heap_used(d);
  both_ways(lm_heap_allocator(NULL), "default heap");
  CHECK(heap_used(d) == used, "default heap: as many blocks as before");

  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "a heap");
  if (h) {
    both_ways(lm_heap_allocator(h), "heap");
    CHECK(heap_used(h) == 0 && lm_heap_check(h) == 0, "heap: empty, healthy");
    lm_heap_destroy(h);
  }

  size_t bytes = 1 << 20;
  char *buffer = lm_malloc(bytes);
  lm_heap_t *f = buffer ? lm_heap_create(buffer, bytes) : NULL;
  CHECK(f != NULL, "a buffer heap");
  if (f) {
    both_ways(lm_heap_allocator(f), "buffer heap");
    CHECK(heap_used(f) == 0 && lm_heap_check(f) == 0,
          "buffer heap: empty, healthy");
    lm_heap_destroy(f);
  }
  lm_free(buffer);

  lm_arena_t *arena = lm_arena_create(0);
  CHECK(arena != NULL, "an arena");
  if (arena) {
    both_ways(lm_arena_allocator(arena), "arena");
    lm_arena_info_t i;
    lm_arena_info(arena, &i);
    CHECK(i.allocations > 600, "arena: %zu allocations", i.allocations);
    lm_arena_reset(arena);
    lm_arena_destroy(arena);
  }
}

/* ---------------------------------------------------------------------
 * The testing allocator's findings
 * ------------------------------------------------------------------- */

typedef struct findings {
  int leaks, double_frees, invalid, other;
  const void *addr[8];
  size_t size[8];
} findings_t;

static int record(const lm_report_t *r, void *ctx) {
  findings_t *f = (findings_t *)ctx;
  if (r->kind == LM_REPORT_LEAK) {
    if (f->leaks < 8) {
      f->addr[f->leaks] = r->address;
      f->size[f->leaks] = r->size;
    }
    f->leaks++;
  } else if (r->kind == LM_REPORT_DOUBLE_FREE) {
    f->double_frees++;
  } else if (r->kind == LM_REPORT_INVALID_FREE) {
    f->invalid++;
  } else {
    f->other++;
  }
  return 1;
}

static void planted_leak(void) {
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "a heap");
  if (!h)
    return;
  lm_testing_allocator_t t;
  lm_testing_allocator_init(&t, lm_heap_allocator(h));
  lm_allocator_t a = lm_testing_allocator(&t);
  size_t sizes[5] = {10, 200, 3000, 40, 70000};
  char *p[5];
  for (int i = 0; i < 5; i++)
    p[i] = lm_allocator_alloc(a, sizes[i], 16);
  p[1] = lm_allocator_realloc(a, p[1], 200, 900, 16);
  sizes[1] = 900;
  lm_allocator_free(a, p[0], sizes[0]);
  lm_allocator_free(a, p[3], sizes[3]);
  CHECK(t.live == 3 && t.live_bytes == 900 + 3000 + 70000,
        "three allocations live (%zu, %zu bytes)", t.live, t.live_bytes);

  findings_t f;
  memset(&f, 0, sizeof f);
  lm_set_report_handler(record, &f);
  size_t leaks = lm_testing_allocator_finish(&t);
  lm_set_report_handler(NULL, NULL);
  CHECK(leaks == 3 && f.leaks == 3 && f.other == 0 && f.invalid == 0,
        "finish finds the 3 leaks (returned %zu, reported %d)", leaks, f.leaks);
  int seen = 0;
  for (int k = 0; k < f.leaks && k < 8; k++)
    for (int i = 1; i < 5; i += 1)
      if (i != 3 && f.addr[k] == p[i] && f.size[k] == sizes[i])
        seen++;
  CHECK(seen == 3, "each leak reported with its address and size (%d)", seen);
  CHECK(f.addr[0] == p[2] || f.addr[0] == p[1], "leaks come oldest first");
  CHECK(t.live == 0 && heap_used(h) == 0,
        "finish gave the leaked memory back to the heap");
  CHECK(lm_testing_allocator_finish(&t) == 0, "nothing left to report");
  CHECK(lm_heap_check(h) == 0, "heap healthy");
  lm_heap_destroy(h);
}

static void misuse(void) {
  lm_testing_allocator_t t, other;
  lm_testing_allocator_init(&t, lm_heap_allocator(NULL));
  lm_testing_allocator_init(&other, lm_heap_allocator(NULL));
  lm_allocator_t a = lm_testing_allocator(&t);
  lm_allocator_t b = lm_testing_allocator(&other);
  findings_t f;
  memset(&f, 0, sizeof f);
  lm_set_report_handler(record, &f);

  char *p = lm_allocator_alloc(a, 64, 16);
  lm_allocator_free(a, p, 64);
  lm_allocator_free(a, p, 64); /* double free */
  /* A double free, unless the parent wrote over the freed header (the
   * debug library fills freed blocks): then a pointer not live. */
  CHECK(f.double_frees + f.invalid == 1 && t.errors == 1 && t.frees == 1,
        "a double free is reported, not passed on (%d)", f.double_frees);
  int bad = f.double_frees + f.invalid;

  p = lm_allocator_alloc(a, 64, 16);
  lm_allocator_free(a, p, 65); /* wrong size: reported, still freed */
  CHECK(f.invalid + f.double_frees == bad + 1 && t.live == 0,
        "a wrong size is reported");
  CHECK(lm_allocator_resize(a, lm_allocator_alloc(a, 32, 16), 31, 16) == 0 &&
            f.invalid + f.double_frees == bad + 2,
        "a resize with the wrong old size is reported and refused");

  char *q = lm_allocator_alloc(b, 64, 16);
  lm_allocator_free(a, q, 64); /* another testing allocator's */
  CHECK(f.invalid + f.double_frees == bad + 3 && other.live == 1,
        "a foreign pointer is reported");
  lm_allocator_free(b, q, 64);

  t.fail_at = t.serial + 2; /* the second allocation from now fails */
  char *ok = lm_allocator_alloc(a, 10, 16);
  errno = 0;
  CHECK(ok && tl_keep(lm_allocator_alloc(a, 10, 16)) == NULL &&
            errno == ENOMEM && tl_keep(lm_allocator_alloc(a, 10, 16)) == NULL,
        "fail_at: the chosen allocation and the later ones fail");
  CHECK(t.failures == 2, "failures counted (%zu)", t.failures);
  lm_allocator_free(a, ok, 10);

  /* The allocation whose resize was refused above was never freed: finish
   * reports it. */
  size_t leaks = lm_testing_allocator_finish(&t);
  lm_set_report_handler(NULL, NULL);
  CHECK(leaks == 1 && f.leaks == 1 && f.other == 0,
        "finish reports the one leak left (%zu)", leaks);
  CHECK(lm_testing_allocator_finish(&other) == 0, "the other has none");
}

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  lm_quarantine_flush();
  size_t used_at_start = tl_stats().used_blocks;
  every_instance();
  planted_leak();
  misuse();
  lm_quarantine_flush();
  lm_pool_info_t info;
  lm_pool_info(&info);
  CHECK(info.heaps == 0 && info.arenas == 0, "every heap and arena destroyed");
  CHECK(tl_stats().used_blocks == used_at_start,
        "the default heap holds what it held at start");
  CHECK(tl_lm_check() == 0, "default heap healthy at the end");
  return tl_finish();
}
