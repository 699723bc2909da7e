/* test_api: every edge case lmalloc.h promises, one function per promise.
 *
 * Guards: a few blocks filled with known bytes stay live through the whole
 * run; after every call that could go wrong (a failed request, an aligned
 * block written to its last usable byte, a realloc in place) they are
 * verified, so "the heap stays intact" is checked and not assumed.
 * Every function ends with lm_check() == 0 (through tl_lm_check, which
 * also counts the findings it reports).
 */
#include "testlib.h"

#define GUARDS 8
static void *guard[GUARDS];
static size_t guard_size[GUARDS];

static void guards_make(void) {
  static const size_t sizes[GUARDS] = {1,    24,   100,  333,
                                       1000, 4096, 5000, 70000};
  for (int i = 0; i < GUARDS; i++) {
    guard_size[i] = sizes[i];
    guard[i] = lm_malloc(sizes[i]);
    CHECK(guard[i] != NULL, "guard %d of %zu bytes", i, sizes[i]);
    if (guard[i])
      tl_fill(guard[i], sizes[i], tl_tag(0x6A, (uint32_t)i));
  }
}

static void guards_verify(const char *when) {
  for (int i = 0; i < GUARDS; i++)
    if (guard[i])
      CHECK(tl_verify(guard[i], guard_size[i], tl_tag(0x6A, (uint32_t)i)) ==
                guard_size[i],
            "guard %d (%zu bytes) changed %s", i, guard_size[i], when);
}

static void guards_free(void) {
  guards_verify("at the end");
  for (int i = 0; i < GUARDS; i++)
    lm_free(guard[i]);
}

static void test_malloc_zero(void) {
  void *a = tl_keep(lm_malloc(0));
  void *b = tl_keep(lm_malloc(0));
  CHECK(a != NULL && b != NULL, "malloc(0) gives a pointer (%p, %p)", a, b);
  CHECK(a != b, "two malloc(0) differ (%p, %p)", a, b);
  if (a && b) {
    CHECK(tl_aligned(a, LM_ALIGNMENT) && tl_aligned(b, LM_ALIGNMENT),
          "malloc(0) aligned to LM_ALIGNMENT: %p %p", a, b);
    CHECK(lm_usable_size(a) == 16, "malloc(0) usable size is 16, got %zu",
          lm_usable_size(a));
    tl_fill(a, lm_usable_size(a), 1);
    tl_fill(b, lm_usable_size(b), 2);
    CHECK(tl_verify(a, lm_usable_size(a), 1) == lm_usable_size(a),
          "malloc(0) bytes are its own");
    CHECK(tl_verify(b, lm_usable_size(b), 2) == lm_usable_size(b),
          "malloc(0) bytes are its own");
  }
  lm_stats_t s0 = tl_stats();
  lm_free(a);
  lm_free(b);
  lm_stats_t s1 = tl_stats();
  CHECK(s1.used_blocks + 2 == s0.used_blocks,
        "freeing two malloc(0) blocks frees two blocks (%zu -> %zu)",
        s0.used_blocks, s1.used_blocks);
  guards_verify("after malloc(0)");
  CHECK(tl_lm_check() == 0, "heap healthy after malloc(0)");
}

static void test_free_null(void) {
  lm_stats_t s0 = tl_stats();
  lm_free(NULL);
  lm_stats_t s1 = tl_stats();
  CHECK(s0.used_blocks == s1.used_blocks && s0.free_blocks == s1.free_blocks &&
            s0.heap_bytes == s1.heap_bytes,
        "free(NULL) changes nothing");
  CHECK(lm_usable_size(NULL) == 0, "usable_size(NULL) == 0, got %zu",
        lm_usable_size(NULL));
  CHECK(tl_lm_check() == 0, "heap healthy after free(NULL)");
}

/* Sizes around every rounding boundary, and a few large ones. */
static void test_alignment_and_usable(void) {
  enum { N = 240 };
  static void *p[N];
  static size_t n[N];
  for (int i = 0; i < N; i++) {
    n[i] = i < 200 ? (size_t)i * 5 + 1 : (size_t)(i - 199) * 12345;
    p[i] = lm_malloc(n[i]);
    CHECK(p[i] != NULL, "malloc(%zu)", n[i]);
    if (!p[i])
      continue;
    CHECK(tl_aligned(p[i], LM_ALIGNMENT), "malloc(%zu) = %p aligned to LM_ALIGNMENT",
          n[i], p[i]);
    size_t u = lm_usable_size(p[i]);
    CHECK(u >= n[i], "usable_size %zu >= requested %zu", u, n[i]);
    /* Every usable byte is the caller's: fill all of them. */
    tl_fill(p[i], u, tl_tag(7, (uint32_t)i));
  }
  for (int i = 0; i < N; i++)
    if (p[i]) {
      size_t u = lm_usable_size(p[i]);
      CHECK(tl_verify(p[i], u, tl_tag(7, (uint32_t)i)) == u,
            "block %d (%zu bytes, usable %zu) kept its bytes", i, n[i], u);
    }
  CHECK(tl_lm_check() == 0, "heap healthy with %d blocks", N);
  for (int i = 0; i < N; i += 2)
    lm_free(p[i]);
  CHECK(tl_lm_check() == 0, "heap healthy after freeing every other block");
  for (int i = 1; i < N; i += 2)
    if (p[i]) {
      size_t u = lm_usable_size(p[i]);
      CHECK(tl_verify(p[i], u, tl_tag(7, (uint32_t)i)) == u,
            "block %d kept its bytes after its neighbours were freed", i);
      lm_free(p[i]);
    }
  guards_verify("after the alignment test");
  CHECK(tl_lm_check() == 0, "heap healthy after freeing all");
}

static void test_calloc(void) {
  /* Fresh memory. */
  for (size_t n = 1; n <= 300000; n = n * 3 + 1) {
    char *p = lm_calloc(1, n);
    CHECK(p != NULL, "calloc(1, %zu)", n);
    if (!p)
      continue;
    CHECK(tl_aligned(p, LM_ALIGNMENT), "calloc aligned");
    CHECK(tl_first_nonzero(p, n) == n, "calloc(1, %zu) zero (byte %zu)", n,
          tl_first_nonzero(p, n));
    memset(p, 0xA5, n);
    lm_free(p);
  }

  /* Dirty memory: fill blocks, free them, calloc the same and nearby
   * sizes; the new blocks reuse the dirty bytes and must read zero. */
  enum { K = 40 };
  static char *d[K];
  static size_t dn[K];
  for (int i = 0; i < K; i++) {
    dn[i] = (size_t)tl_range(1, i < 30 ? 2000 : 200000);
    d[i] = lm_malloc(dn[i]);
    CHECK(d[i] != NULL, "malloc(%zu)", dn[i]);
    if (d[i])
      memset(d[i], 0xC3, lm_usable_size(d[i]));
  }
  for (int i = 0; i < K; i++)
    lm_free(d[i]);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < K; i++) {
      size_t count = round ? 3 : 1;
      size_t size = round ? dn[i] / 3 + 1 : dn[i];
      d[i] = lm_calloc(count, size);
      CHECK(d[i] != NULL, "calloc(%zu, %zu) over dirty memory", count, size);
      if (!d[i])
        continue;
      size_t total = count * size;
      CHECK(tl_first_nonzero(d[i], total) == total,
            "calloc(%zu, %zu) over dirty memory reads zero (byte %zu is not)",
            count, size, tl_first_nonzero(d[i], total));
      memset(d[i], 0x5C, total);
    }
    for (int i = 0; i < K; i++)
      lm_free(d[i]);
  }

  /* The free end of the heap, once used, is not fresh any more: a big
   * block written and freed merges back into it, and calloc of the same
   * size must still read zero. */
  size_t big = 3u << 20;
  char *b = lm_malloc(big);
  CHECK(b != NULL, "malloc(%zu)", big);
  if (b) {
    memset(b, 0xEE, big);
    lm_free(b);
    b = lm_calloc(big, 1);
    CHECK(b != NULL, "calloc(%zu, 1)", big);
    if (b)
      CHECK(tl_first_nonzero(b, big) == big,
            "calloc over a freed big block reads zero (byte %zu is not)",
            tl_first_nonzero(b, big));
    lm_free(b);
  }

  /* The tail cut off by a shrinking realloc is dirty too. */
  char *r = lm_malloc(5000);
  char *fence = lm_malloc(16);
  CHECK(r && fence, "malloc");
  if (r && fence) {
    memset(r, 0x77, 5000);
    char *r2 = lm_realloc(r, 100);
    CHECK(r2 == r, "shrinking realloc stays in place");
    if (r2)
      r = r2;
    char *z = lm_calloc(1, 4000);
    CHECK(z != NULL, "calloc(1, 4000)");
    if (z)
      CHECK(tl_first_nonzero(z, 4000) == 4000,
            "calloc after a shrink reads zero (byte %zu is not)",
            tl_first_nonzero(z, 4000));
    lm_free(z);
  }
  lm_free(r);
  lm_free(fence);

  /* Zero counts give a block like malloc(0). */
  void *z1 = tl_keep(lm_calloc(0, 10));
  void *z2 = tl_keep(lm_calloc(10, 0));
  CHECK(z1 != NULL && z2 != NULL && z1 != z2,
        "calloc(0, 10) and calloc(10, 0) give unique pointers (%p, %p)", z1,
        z2);
  lm_free(z1);
  lm_free(z2);

  /* Overflowing products, including ones that wrap to 0 or to a small
   * number (a naive count * size would succeed with a tiny block). */
  const size_t half = (size_t)1 << (sizeof(size_t) * 4);
  const size_t pairs[][2] = {
      {SIZE_MAX / 2 + 1, 2},
      {2, SIZE_MAX / 2 + 1},
      {SIZE_MAX, SIZE_MAX},
      {SIZE_MAX, 2},
      {half, half},
      {half + 1, half + 1},
      {half, half * 2 - 1},
      {1, LM_MAX_REQUEST + 1},
      {LM_MAX_REQUEST + 1, 1},
  };
  lm_stats_t s0 = tl_stats();
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    errno = 0;
    void *p = tl_keep(lm_calloc(pairs[i][0], pairs[i][1]));
    int e = errno;
    CHECK(p == NULL, "calloc(%zu, %zu) fails", pairs[i][0], pairs[i][1]);
    CHECK(e == ENOMEM, "calloc(%zu, %zu) sets ENOMEM (errno %d)", pairs[i][0],
          pairs[i][1], e);
    if (p)
      lm_free(p);
  }
  lm_stats_t s1 = tl_stats();
  CHECK(s0.heap_bytes == s1.heap_bytes && s0.used_blocks == s1.used_blocks,
        "failed callocs leave the heap as it was");
  guards_verify("after calloc");
  CHECK(tl_lm_check() == 0, "heap healthy after calloc");
}

/* Every one of these is above LM_MAX_REQUEST on wasm32 and on 64-bit
 * hosts (SIZE_MAX / 2 + 1 is not: 2 GiB can succeed on wasm32). */
static void test_huge(void) {
  const size_t sizes[] = {
      SIZE_MAX,
      SIZE_MAX - 3,
      SIZE_MAX - 15,
      SIZE_MAX - 16,
      LM_MAX_REQUEST + 1,
      LM_MAX_REQUEST + 4,
      LM_MAX_REQUEST + 16,
      (size_t)0xFFFFFFF0u,
      (size_t)0xFFFFFFFFu,
  };
  lm_stats_t s0 = tl_stats();
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    errno = 0;
    void *p = tl_keep(lm_malloc(sizes[i]));
    int e = errno;
    CHECK(p == NULL, "malloc(%zu) fails", sizes[i]);
    CHECK(e == ENOMEM, "malloc(%zu) sets ENOMEM (errno %d)", sizes[i], e);
    if (p)
      lm_free(p);
    /* The same through aligned_alloc, where size + alignment may wrap. */
    errno = 0;
    p = tl_keep(lm_aligned_alloc(4096, sizes[i]));
    e = errno;
    CHECK(p == NULL && e == ENOMEM,
          "aligned_alloc(4096, %zu) fails with ENOMEM (%p, errno %d)", sizes[i],
          p, e);
    if (p)
      lm_free(p);
  }
  errno = 0;
  void *p = tl_keep(lm_aligned_alloc((size_t)1 << 20, LM_MAX_REQUEST));
  CHECK(p == NULL && errno == ENOMEM,
        "aligned_alloc(1 MiB, LM_MAX_REQUEST) fails with ENOMEM");
  if (p)
    lm_free(p);
  lm_stats_t s1 = tl_stats();
  CHECK(s0.heap_bytes == s1.heap_bytes,
        "huge requests do not touch the heap (heap_bytes %zu -> %zu)",
        s0.heap_bytes, s1.heap_bytes);
  CHECK(s0.used_blocks == s1.used_blocks && s0.free_blocks == s1.free_blocks,
        "huge requests leave the blocks as they were");
  guards_verify("after huge requests");
  CHECK(tl_lm_check() == 0, "heap healthy after huge requests");

  /* And the heap still works. */
  void *q = lm_malloc(1000);
  CHECK(q != NULL, "malloc(1000) after huge requests");
  lm_free(q);
}

static void test_realloc_basic(void) {
  char *p = lm_realloc(NULL, 100);
  CHECK(p != NULL, "realloc(NULL, 100)");
  if (p) {
    CHECK(tl_aligned(p, LM_ALIGNMENT) && lm_usable_size(p) >= 100,
          "realloc(NULL, 100) is like malloc(100)");
    tl_fill(p, 100, 3);
  }
  void *z = tl_keep(lm_realloc(NULL, 0));
  CHECK(z != NULL && z != p, "realloc(NULL, 0) is malloc(0): %p", z);
  lm_free(z);
  lm_free(p);

  /* realloc(p, 0) frees p, returns NULL, leaves errno alone. */
  lm_stats_t s0 = tl_stats();
  p = lm_malloc(100);
  CHECK(p != NULL, "malloc(100)");
  lm_stats_t s1 = tl_stats();
  CHECK(s1.used_blocks == s0.used_blocks + 1, "one more used block");
  errno = EDOM;
  void *r = tl_keep(lm_realloc(p, 0));
  int e = errno;
  lm_stats_t s2 = tl_stats();
  CHECK(r == NULL, "realloc(p, 0) returns NULL, got %p", r);
  CHECK(e == EDOM, "realloc(p, 0) leaves errno alone (%d)", e);
  CHECK(s2.used_blocks == s0.used_blocks,
        "realloc(p, 0) frees p (used blocks %zu -> %zu -> %zu)", s0.used_blocks,
        s1.used_blocks, s2.used_blocks);
  CHECK(s2.used_bytes == s0.used_bytes, "realloc(p, 0) frees p's bytes");
  CHECK(tl_lm_check() == 0, "heap healthy after realloc(p, 0)");
}

/* Allocates a (na bytes) and b (nb bytes) with b the block right after a,
 * as the walk shows; pairs that land apart (in scattered holes) are kept
 * until one does not, then freed. 0 (a failed check) if none does. */
static int adjacent_pair(size_t na, size_t nb, char **pa, char **pb) {
  enum { TRIES = 128 };
  static char *miss[2 * TRIES];
  int nmiss = 0, ok = 0;
  for (int t = 0; t < TRIES && !ok; t++) {
    char *a = lm_malloc(na), *b = lm_malloc(nb);
    tl_found_t f = tl_find(a);
    if (a && b && f.found && f.has_next && f.next.ptr == b) {
      *pa = a;
      *pb = b;
      ok = 1;
    } else {
      miss[nmiss++] = a;
      miss[nmiss++] = b;
    }
  }
  for (int i = 0; i < nmiss; i++)
    lm_free(miss[i]);
  CHECK(ok, "blocks of %zu and %zu bytes next to each other", na, nb);
  return ok;
}

static void test_realloc_shrink(void) {
  const size_t from[] = {1000, 100000, 64, 4000};
  const size_t to[] = {100, 10, 60, 3000};
  for (int i = 0; i < 4; i++) {
    char *p = lm_malloc(from[i]);
    char *fence = lm_malloc(32); /* so p is not the last block */
    CHECK(p && fence, "malloc");
    if (!p || !fence)
      continue;
    tl_fill(p, from[i], tl_tag(9, (uint32_t)i));
    char *q = lm_realloc(p, to[i]);
    CHECK(q == p, "realloc %zu -> %zu stays in place (%p -> %p)", from[i],
          to[i], (void *)p, (void *)q);
    if (q) {
      p = q;
      CHECK(lm_usable_size(p) >= to[i], "usable %zu >= %zu", lm_usable_size(p),
            to[i]);
      CHECK(tl_verify(p, to[i], tl_tag(9, (uint32_t)i)) == to[i],
            "shrink %zu -> %zu kept the prefix", from[i], to[i]);
      /* Same size: nothing moves. */
      size_t u = lm_usable_size(p);
      q = lm_realloc(p, u);
      CHECK(q == p, "realloc to its own usable size stays in place");
      if (q)
        p = q;
    }
    CHECK(tl_lm_check() == 0, "heap healthy after shrinking %zu -> %zu",
          from[i], to[i]);
    lm_free(p);
    lm_free(fence);
  }
  guards_verify("after shrinking reallocs");
  CHECK(tl_lm_check() == 0, "heap healthy after shrinking reallocs");
}

/* Grows into a free right neighbour: in place, and to the exact byte.
 * (Sizes above 256 bytes: smaller requests are slab objects, lmalloc.h.) */
static void test_realloc_grow_next_free(void) {
  char *a, *b;
  if (!adjacent_pair(300, 2000, &a, &b))
    return;
  char *c = lm_malloc(64); /* keeps b's space from being the heap's end */
  CHECK(c != NULL, "malloc c");
  if (!c)
    return;
  tl_fill(a, 300, 0xA);
  tl_fill(c, 64, 0xC);
  lm_free(b);
  char *q = lm_realloc(a, 1000);
  CHECK(q == a, "realloc grows in place into the free next block (%p -> %p)",
        (void *)a, (void *)q);
  if (q)
    a = q;
  CHECK(tl_verify(a, 300, 0xA) == 300, "grow in place kept the bytes");
  CHECK(tl_lm_check() == 0, "heap healthy after growing in place");

  /* Now take the whole free neighbour, to the last usable byte. */
  tl_found_t f = tl_find(a);
  CHECK(f.found && f.info.used, "walk finds a as used");
  CHECK(f.has_next && !f.next.used, "the block after a is free");
  if (f.found && f.has_next && !f.next.used) {
    size_t whole = f.info.size + f.next.size - (f.info.size - f.info.usable);
    q = lm_realloc(a, whole);
    CHECK(q == a, "realloc to a + its free neighbour (%zu) stays in place",
          whole);
    if (q) {
      a = q;
      CHECK(lm_usable_size(a) >= whole, "usable %zu >= %zu", lm_usable_size(a),
            whole);
      tl_fill(a, whole, 0xB);
    }
    CHECK(tl_verify(c, 64, 0xC) == 64, "the block after was not touched");
  }
  CHECK(tl_lm_check() == 0, "heap healthy after growing into the neighbour");
  lm_free(a);
  lm_free(c);
}

/* Grows the last block of the heap: in place, through memory.grow. */
static void test_realloc_grow_top(void) {
  size_t n = 3u << 20; /* larger than any free block left so far */
  char *p = lm_malloc(n);
  CHECK(p != NULL, "malloc(%zu)", n);
  if (!p)
    return;
  tl_fill(p, n, 0x70);
  tl_found_t f = tl_find(p);
  CHECK(f.found, "walk finds the block");
  int last = f.found && (!f.has_next || !f.next.used);
  CHECK(last, "a fresh %zu-byte block is the last used block of its span", n);
  lm_stats_t s0 = tl_stats();
  size_t sizes[] = {n + 100000, 12u << 20, 20u << 20};
  for (int i = 0; i < 3; i++) {
    char *q = lm_realloc(p, sizes[i]);
    CHECK(q != NULL, "realloc top block to %zu", sizes[i]);
    if (!q)
      break;
    CHECK(q == p, "the last block grows in place to %zu (%p -> %p)", sizes[i],
          (void *)p, (void *)q);
    p = q;
    CHECK(tl_verify(p, n, 0x70) == n, "growing the top block kept its bytes");
    CHECK(tl_lm_check() == 0, "heap healthy after growing the top block");
  }
  lm_stats_t s1 = tl_stats();
  CHECK(s1.pages_grown > s0.pages_grown,
        "growing to 20 MiB took memory.grow (pages %zu -> %zu)", s0.pages_grown,
        s1.pages_grown);

  /* At the top but the heap may not grow: fails cleanly. */
  lm_set_heap_limit(s1.heap_bytes);
  errno = 0;
  char *q = lm_realloc(p, s1.heap_bytes + (1u << 20));
  int e = errno;
  CHECK(q == NULL && e == ENOMEM,
        "realloc past the heap limit fails with ENOMEM (%p, errno %d)",
        (void *)q, e);
  if (q)
    p = q;
  CHECK(tl_verify(p, n, 0x70) == n, "failed realloc kept the bytes");
  CHECK(lm_usable_size(p) >= (20u << 20), "failed realloc kept the size");
  lm_set_heap_limit(0);
  guards_verify("after growing the top block");
  CHECK(tl_lm_check() == 0, "heap healthy after a failed top realloc");
  lm_free(p);
  CHECK(tl_lm_check() == 0, "heap healthy after freeing the top block");
}

static void test_realloc_move(void) {
  char *a, *b; /* b right after a: a cannot grow in place */
  if (!adjacent_pair(300, 300, &a, &b))
    return;
  tl_fill(a, 300, 0x31);
  tl_fill(b, 300, 0x32);
  char *q = lm_realloc(a, 5000);
  CHECK(q != NULL, "realloc(a, 5000)");
  if (q) {
    CHECK(q != a, "a used right neighbour forces a move");
    CHECK(tl_aligned(q, LM_ALIGNMENT), "moved block aligned");
    CHECK(tl_verify(q, 300, 0x31) == 300, "moving realloc kept the bytes");
    a = q;
  }
  CHECK(tl_verify(b, 300, 0x32) == 300, "neighbour untouched by the move");
  CHECK(tl_lm_check() == 0, "heap healthy after a moving realloc");

  /* Failure keeps the block: too big, and then past the heap limit. */
  tl_fill(a, 5000, 0x33);
  const size_t huge[] = {SIZE_MAX, SIZE_MAX - 15, LM_MAX_REQUEST + 1};
  for (int i = 0; i < 3; i++) {
    errno = 0;
    q = lm_realloc(a, huge[i]);
    int e = errno;
    CHECK(q == NULL && e == ENOMEM,
          "realloc(a, %zu) fails with ENOMEM (%p, errno %d)", huge[i],
          (void *)q, e);
    if (q)
      a = q;
  }
  lm_stats_t s = tl_stats();
  lm_set_heap_limit(s.heap_bytes);
  errno = 0;
  q = lm_realloc(a, s.heap_bytes + 65536);
  int e = errno;
  CHECK(q == NULL && e == ENOMEM,
        "realloc past the heap limit fails with ENOMEM (%p, errno %d)",
        (void *)q, e);
  if (q)
    a = q;
  lm_set_heap_limit(0);
  CHECK(tl_verify(a, 5000, 0x33) == 5000, "failed realloc kept the bytes");
  CHECK(lm_usable_size(a) >= 5000, "failed realloc kept the size");
  CHECK(tl_verify(b, 300, 0x32) == 300, "neighbour untouched");
  CHECK(tl_lm_check() == 0, "heap healthy after failed reallocs");

  /* An aligned block moves and keeps its bytes too. */
  char *al = lm_aligned_alloc(4096, 300);
  CHECK(al != NULL && tl_aligned(al, 4096), "aligned_alloc(4096, 300)");
  if (al) {
    tl_fill(al, 300, 0x34);
    q = lm_realloc(al, 40000);
    CHECK(q != NULL && tl_aligned(q, LM_ALIGNMENT),
          "realloc of an aligned block");
    if (q) {
      CHECK(tl_verify(q, 300, 0x34) == 300, "aligned block kept its bytes");
      al = q;
    }
    lm_free(al);
  }
  lm_free(a);
  lm_free(b);
  guards_verify("after moving reallocs");
  CHECK(tl_lm_check() == 0, "heap healthy after moving reallocs");
}

/* One aligned block between two small neighbours, written to its last
 * usable byte. */
static void aligned_case(size_t align, size_t size) {
  char *before = lm_malloc(40);
  char *p = lm_aligned_alloc(align, size);
  char *after = lm_malloc(40);
  CHECK(p != NULL, "aligned_alloc(%zu, %zu)", align, size);
  CHECK(before && after, "neighbours");
  if (before)
    tl_fill(before, 40, 0xBE);
  if (after)
    tl_fill(after, 40, 0xAF);
  if (p) {
    CHECK(tl_aligned(p, align), "aligned_alloc(%zu, %zu) = %p is aligned",
          align, size, (void *)p);
    CHECK(tl_aligned(p, LM_ALIGNMENT),
          "aligned_alloc result aligned to LM_ALIGNMENT");
    size_t u = lm_usable_size(p);
    CHECK(u >= size, "aligned_alloc(%zu, %zu) usable %zu", align, size, u);
    tl_fill(p, u, tl_tag((uint32_t)align, (uint32_t)size));
    CHECK(tl_lm_check() == 0, "heap healthy with aligned_alloc(%zu, %zu)",
          align, size);
    CHECK(tl_verify(p, u, tl_tag((uint32_t)align, (uint32_t)size)) == u,
          "aligned block kept its bytes");
  }
  if (before)
    CHECK(tl_verify(before, 40, 0xBE) == 40,
          "block before aligned_alloc(%zu, %zu) untouched", align, size);
  if (after)
    CHECK(tl_verify(after, 40, 0xAF) == 40,
          "block after aligned_alloc(%zu, %zu) untouched", align, size);
  lm_free(p);
  CHECK(tl_lm_check() == 0,
        "heap healthy after freeing aligned_alloc(%zu, %zu)", align, size);
  lm_free(before);
  lm_free(after);
}

static void test_aligned_alloc(void) {
  for (size_t align = 1; align <= 65536; align <<= 1) {
    aligned_case(align, 1);
    aligned_case(align, 100);
    aligned_case(align, align);
    aligned_case(align, 3 * align + 5);
  }
  aligned_case((size_t)1 << 20, 1);
  aligned_case((size_t)1 << 20, 100000);

  void *z = tl_keep(lm_aligned_alloc(64, 0));
  CHECK(z != NULL && tl_aligned(z, 64), "aligned_alloc(64, 0) = %p", z);
  lm_free(z);

  /* Many live aligned blocks at once, with small blocks in between, so the
   * heads and tails given back meet used and free neighbours. */
  enum { M = 48 };
  static char *p[M], *s[M];
  static size_t n[M], a[M];
  for (int i = 0; i < M; i++) {
    a[i] = (size_t)1 << tl_range(4, 14);
    n[i] = (size_t)tl_range(1, 9000);
    p[i] = lm_aligned_alloc(a[i], n[i]);
    s[i] = lm_malloc((size_t)tl_range(1, 200));
    CHECK(p[i] && s[i], "aligned_alloc(%zu, %zu) and a small block", a[i],
          n[i]);
    if (p[i]) {
      CHECK(tl_aligned(p[i], a[i]), "aligned to %zu", a[i]);
      tl_fill(p[i], n[i], tl_tag(0xA1, (uint32_t)i));
    }
    if (s[i])
      tl_fill(s[i], 1, tl_tag(0xA2, (uint32_t)i));
    if (i % 3 == 2) { /* leave holes */
      lm_free(s[i - 1]);
      s[i - 1] = NULL;
    }
  }
  CHECK(tl_lm_check() == 0, "heap healthy with %d aligned blocks", M);
  for (int i = 0; i < M; i++) {
    if (p[i])
      CHECK(tl_verify(p[i], n[i], tl_tag(0xA1, (uint32_t)i)) == n[i],
            "aligned block %d kept its bytes", i);
    if (s[i])
      CHECK(tl_verify(s[i], 1, tl_tag(0xA2, (uint32_t)i)) == 1,
            "small block %d kept its byte", i);
    lm_free(p[i]);
    lm_free(s[i]);
  }
  CHECK(tl_lm_check() == 0, "heap healthy after freeing the aligned blocks");

  /* Bad alignments. */
  const size_t bad[] = {
      0, 3,  48, 24,       LM_MAX_ALIGNMENT * 2, 5,
      6, 12, 96, SIZE_MAX, SIZE_MAX / 2 + 1,     LM_MAX_ALIGNMENT + 16};
  lm_stats_t s0 = tl_stats();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    errno = 0;
    void *q = tl_keep(lm_aligned_alloc(bad[i], 64));
    int e = errno;
    CHECK(q == NULL && e == EINVAL,
          "aligned_alloc(%zu, 64) fails with EINVAL (%p, errno %d)", bad[i], q,
          e);
    if (q)
      lm_free(q);
  }
  lm_stats_t s1 = tl_stats();
  CHECK(s0.heap_bytes == s1.heap_bytes && s0.used_blocks == s1.used_blocks,
        "bad alignments do not touch the heap");
  guards_verify("after aligned_alloc");
  CHECK(tl_lm_check() == 0, "heap healthy after aligned_alloc");
}

/* The granule: LM_ALIGNMENT is the platform's alignof(max_align_t), 8 on
 * Emscripten and 16 on wasm32-wasi and native hosts (8 in the
 * native-align8 test build), and sizes step by it. In a fresh heap,
 * consecutive requests lie side by side: two malloc(260) are blocks 272
 * bytes apart with either granule, two malloc(20) small objects 24 bytes
 * apart with the 8-byte granule (32 with 16), each with exactly that many
 * usable bytes (a block less its 4-byte header and 4-byte seal). */
static void test_granule(void) {
#if defined(__EMSCRIPTEN__)
  CHECK(LM_ALIGNMENT == 8 && _Alignof(max_align_t) == 8,
        "Emscripten: granule %d, max_align_t %zu, both 8", LM_ALIGNMENT,
        (size_t)_Alignof(max_align_t));
#elif defined(__wasm__)
  CHECK(LM_ALIGNMENT == 16 && _Alignof(max_align_t) == 16,
        "wasm32-wasi: granule %d, max_align_t %zu, both 16", LM_ALIGNMENT,
        (size_t)_Alignof(max_align_t));
#endif
  CHECK(LM_ALIGNMENT == 8 || LM_ALIGNMENT == 16, "granule %d", LM_ALIGNMENT);
  const ptrdiff_t object = LM_ALIGNMENT == 8 ? 24 : 32;
  /* 260 bytes + a 4-byte header + a 4-byte seal = 268, rounded up to the
   * granule: 272 either way. */
  const ptrdiff_t block = 272;
  lm_heap_t *h = lm_heap_create(NULL, 0);
  CHECK(h != NULL, "a fresh heap");
  if (!h)
    return;
  char *c = lm_heap_malloc(h, 260), *d = lm_heap_malloc(h, 260);
  char *a = lm_heap_malloc(h, 20), *b = lm_heap_malloc(h, 20);
  char *z = lm_heap_malloc(h, 1);
  CHECK(a && b && c && d && z, "five small requests");
  if (a && b && c && d && z) {
    CHECK(d - c == block, "two malloc(260): %td bytes apart, want %td",
          d - c, block);
    CHECK(lm_heap_usable_size(h, c) == (size_t)block - 8,
          "malloc(260) usable %zu, want %td (header and seal: 8 bytes)",
          lm_heap_usable_size(h, c), block - 8);
    CHECK(b - a == object, "two malloc(20): %td bytes apart, want %td", b - a,
          object);
    CHECK(lm_heap_usable_size(h, a) == (size_t)object,
          "malloc(20) usable %zu, want %td", lm_heap_usable_size(h, a),
          object);
    CHECK(lm_heap_usable_size(h, z) == 16, "malloc(1) usable %zu, want 16",
          lm_heap_usable_size(h, z));
    CHECK(tl_aligned(a, LM_ALIGNMENT) && tl_aligned(b, LM_ALIGNMENT) &&
              tl_aligned(c, LM_ALIGNMENT) && tl_aligned(d, LM_ALIGNMENT),
          "aligned to the granule");
  }
  /* Above the granule, aligned_alloc aligns: 16 is no longer free with 8. */
  char *e = lm_heap_aligned_alloc(h, 16, 20);
  CHECK(e && tl_aligned(e, 16), "aligned_alloc(16, 20) = %p", (void *)e);
  CHECK(lm_heap_check(h) == 0, "fresh heap healthy");
  lm_heap_destroy(h);
}

/* Small objects live in 4 KiB slabs (src/slab.h), so the objects that
 * share an address >> 12 share a slab. An object freed in a full slab,
 * even the slab that filled last, is the next malloc of its size: slab
 * free lists are LIFO, and the slab goes back to the head of its list
 * (bench/README.md says why). */
static void test_slab_refill(void) {
  enum { N = 90 };
  const size_t size = 232; /* one class, few objects per slab */
  char *p[N];
  size_t n = 0;
  for (; n < N; n++) {
    p[n] = lm_malloc(size);
    CHECK(p[n] != NULL, "malloc(%zu) #%zu", size, n);
    if (!p[n])
      break;
  }
  /* The slabs that filled, in order, end where the last object's begins
   * (that one may be full too): free an object of the one before it and
   * of the first. */
  size_t last = n, first = n;
  for (size_t i = 0; i + 1 < n; i++)
    if (((uintptr_t)p[i] >> 12) != ((uintptr_t)p[i + 1] >> 12)) {
      last = i;
      if (first == n)
        first = i;
    }
  CHECK(n == N && first < last, "%zu mallocs fill at least two slabs", n);
  if (n == N && first < last) {
    size_t pick[2] = {last, first};
    for (int k = 0; k < 2; k++) {
      char *freed = p[pick[k]];
      lm_free(freed);
      p[pick[k]] = lm_malloc(size);
      CHECK(p[pick[k]] == freed, "the object freed in a full slab (%s) is "
            "the next malloc's (%p, freed %p)",
            k == 0 ? "the one that filled last" : "an earlier one",
            (void *)p[pick[k]], (void *)freed);
    }
    CHECK(tl_lm_check() == 0, "heap healthy after frees in full slabs");
  }
  for (size_t i = 0; i < n; i++)
    lm_free(p[i]);
  CHECK(tl_lm_check() == 0, "heap healthy after the slab refill test");
}

#if defined(__linux__) && !defined(__wasm__)
#include <sys/mman.h>
#include <unistd.h>

/* free, realloc and usable_size of a large block read only the block's
 * own pages and its neighbours' metadata: never the OS page below the one
 * its pointer is in, which for a large block is the untouched middle of
 * the block before it (reading it faults that page in: bench syn-large
 * once took 5,200 such faults). Native only: the page below is made
 * unreadable with mprotect, so a read of it crashes the test. */
static void test_large_block_page_below(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t a_size = 4 * page, b_size = 4 * page;
  char *a = NULL, *b = NULL;
  /* b's pointer must not start its page (then its header is on the page
   * below, and reading it is right): move b by 16 bytes until it is not. */
  for (size_t pad = 0; pad <= 64; pad += 16) {
    a = lm_malloc(a_size + pad);
    b = lm_malloc(b_size);
    if (!a || !b || ((uintptr_t)b & (page - 1)) >= 16)
      break;
    lm_free(b);
    lm_free(a);
    a = b = NULL;
  }
  CHECK(a && b, "two blocks of %zu bytes, b not at a page start", a_size);
  if (!a || !b)
    return;
  uintptr_t below = ((uintptr_t)b & ~(uintptr_t)(page - 1)) - page;
  CHECK(below >= (uintptr_t)a && below + page <= (uintptr_t)a + a_size,
        "the page below b's (%#lx) lies inside a [%p, +%zu)",
        (unsigned long)below, (void *)a, a_size);
  tl_fill(b, b_size, tl_tag(0x51, 1));
  CHECK(mprotect((void *)below, page, PROT_NONE) == 0, "mprotect: errno %d",
        errno);
  CHECK(lm_usable_size(b) >= b_size, "usable_size(b)");
  char *c = lm_realloc(b, b_size + 8 * page); /* in place or moved */
  CHECK(c != NULL, "realloc(b) to %zu bytes", b_size + 8 * page);
  if (c)
    b = c;
  CHECK(tl_verify(b, b_size, tl_tag(0x51, 1)) == b_size, "b's bytes kept");
  lm_free(b); /* got here without touching the page below: no crash */
  CHECK(mprotect((void *)below, page, PROT_READ | PROT_WRITE) == 0,
        "mprotect back: errno %d", errno);
  lm_free(a);
  CHECK(tl_lm_check() == 0, "heap healthy after large blocks");
}
#else
static void test_large_block_page_below(void) {} /* needs mprotect */
#endif

int main(int argc, char **argv) {
  tl_seed(argc, argv);
  lm_stats_t start = tl_stats();
  guards_make();
  test_malloc_zero();
  test_free_null();
  test_alignment_and_usable();
  test_calloc();
  test_huge();
  test_realloc_basic();
  test_realloc_shrink();
  test_realloc_grow_next_free();
  test_realloc_grow_top();
  test_realloc_move();
  test_aligned_alloc();
  test_granule();
  test_slab_refill();
  test_large_block_page_below();
  guards_free();
  lm_stats_t end = tl_stats();
  CHECK(end.used_blocks == start.used_blocks,
        "every block the test took was given back (%zu -> %zu)",
        start.used_blocks, end.used_blocks);
  CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
