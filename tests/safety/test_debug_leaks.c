/* test_debug_leaks: the debug library's leak listing and its report at
 * exit (lmalloc_debug.h).
 *
 * In main: lm_leaks lists live blocks with their requested sizes and
 * allocation numbers, in address order, and leaves out freed (quarantined)
 * blocks. Then main returns with two blocks leaked on purpose, allocated
 * after lm_leak_report_at_exit: at exit the default handler prints both
 * (24 and 5000 bytes), not the block allocated before the call, then the
 * summary "2 blocks leaked (5024 bytes)", and traps. ctest runs this
 * through expect-trap.cmake, which wants exactly that.
 */
#include "testlib.h"

#define MAX_SEEN 64

typedef struct listing {
  size_t n;
  lm_leak_t leak[MAX_SEEN];
} listing_t;

static int collect(const lm_leak_t *leak, void *ctx) {
  listing_t *l = ctx;
  if (l->n < MAX_SEEN)
    l->leak[l->n] = *leak;
  l->n++;
  return 0;
}

static const lm_leak_t *find(const listing_t *l, const void *p) {
  for (size_t i = 0; i < l->n && i < MAX_SEEN; i++)
    if (l->leak[i].ptr == p)
      return &l->leak[i];
  return NULL;
}

int main(void) {
  CHECK(lm_debug_enabled() == 1, "linked to the debug library");
  void *before = tl_keep(lm_malloc(40)); /* not reported at exit */
  lm_leak_report_at_exit();
  void *a = tl_keep(lm_malloc(24));
  void *b = tl_keep(lm_malloc(5000));
  void *c = tl_keep(lm_malloc(77));
  lm_free(c); /* in the quarantine: not a leak */
#ifdef __wasm__
  /* The standard names reach the checking layer too: in the debug library
   * stdlib.c's malloc and free inline no fast path of the core
   * (LM_DEBUG, src/fast.h), so a small object from malloc is listed
   * with its requested size, and one given to free is quarantined. */
  void *d = tl_keep(malloc(33));
  void *e = tl_keep(malloc(33));
  free(e);
#endif

  static listing_t l;
  size_t n = lm_leaks(collect, &l);
  CHECK(n == l.n, "lm_leaks returns the number listed (%zu, %zu)", n, l.n);
  const lm_leak_t *la = find(&l, a), *lb = find(&l, b),
                  *lbefore = find(&l, before);
  CHECK(la && la->size == 24, "the 24-byte block is listed with its size");
  CHECK(lb && lb->size == 5000, "the 5000-byte block is listed with its size");
  CHECK(lbefore && lbefore->size == 40, "the block from before is listed");
  CHECK(find(&l, c) == NULL, "a freed (quarantined) block is not a leak");
#ifdef __wasm__
  const lm_leak_t *ld = find(&l, d);
  CHECK(ld && ld->size == 33, "malloc's block is listed with its size (%zu)",
        ld ? (size_t)ld->size : (size_t)0);
  CHECK(find(&l, e) == NULL, "a block given to free is not a leak");
#endif
  if (la && lb && lbefore)
    CHECK(lbefore->alloc_seq < la->alloc_seq && la->alloc_seq < lb->alloc_seq,
          "allocation numbers increase (%llu, %llu, %llu)",
          (unsigned long long)lbefore->alloc_seq,
          (unsigned long long)la->alloc_seq, (unsigned long long)lb->alloc_seq);
  for (size_t i = 1; i < l.n && i < MAX_SEEN; i++)
    CHECK((uintptr_t)l.leak[i - 1].ptr < (uintptr_t)l.leak[i].ptr,
          "listed in address order");
  CHECK(lm_leaks(NULL, NULL) == n, "a NULL visitor counts");
#ifdef __wasm__
  free(d); /* not among the two leaks the report at exit must list */
#endif
  printf("leaking 2 blocks (24 and 5000 bytes) on purpose; the report at "
         "exit must list them and trap\n");
  return tl_finish();
}
