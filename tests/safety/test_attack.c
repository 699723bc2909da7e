/* test_attack: the classic heap-metadata attacks, against the release
 * library (lmalloc.h: free-list links and footers are masked with the
 * heap's key and checked before use; bins.h: safe unlink).
 *
 *   test_attack header   an overflow out of block A rewrites the header of
 *                        the free block B after it with a larger size, so
 *                        that B would cover the live block C
 *   test_attack links    the overflow leaves B's header as it was and
 *                        rewrites B's free-list links (the unlink
 *                        write-what-where)
 *   test_attack slab     a write after free rewrites the link in a freed
 *                        small object
 *
 * Each scenario must stop the program with a "heap corruption" report at
 * the next allocation (ctest runs it through expect-trap.cmake). If an
 * allocation returns instead, the program checks whether it overlaps a
 * live block, says so, and exits 0: the test then fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lmalloc.h"

static volatile void *sink; /* keeps the compiler from eliding calls */

static int overlaps(const unsigned char *p, size_t n, const unsigned char *q,
                    size_t m) {
  return p < q + m && q < p + n;
}

static int returned(const char *what, unsigned char *p, size_t n,
                    unsigned char *live, size_t m) {
  printf("attack not stopped: %s returned %p (%s a live block)\n", what,
         (void *)p, p && overlaps(p, n, live, m) ? "OVERLAPPING" : "not");
  return 0; /* exit 0: expect-trap.cmake fails the test */
}

int main(int argc, char **argv) {
  const char *attack = argc > 1 ? argv[1] : "";
  /* A, B, C are blocks (over 256 bytes); D keeps B away from top. */
  unsigned char *a = lm_malloc(1000), *b = lm_malloc(1000);
  unsigned char *c = lm_malloc(1000), *d = lm_malloc(1000);
  sink = d;
  memset(c, 0x5C, 1000);
  if (!strcmp(attack, "header") || !strcmp(attack, "links")) {
    lm_free(b); /* B: a free block in a free list, between A and C */
    /* The overflow: A's usable bytes end at its seal (4 bytes, left as
     * they were: a write that also rewrote them would be reported when A
     * is freed), and B's header follows. */
    unsigned char *b_header = a + lm_usable_size(a) + 4;
    uint32_t forged = (uint32_t)((c + 1000 - (b_header)) + 16) | 1u; /* FREE */
    if (!strcmp(attack, "header"))
      memcpy(b_header, &forged, 4);
    else
      memcpy(&forged, b_header, 4); /* B's true header: only links change */
    if (!strcmp(attack, "links")) { /* next, prev: a write-what-where */
      uint32_t where = (uint32_t)(uintptr_t)(c + 16), what = 0x41414141u;
      memcpy(b_header + 4, &where, 4);
      memcpy(b_header + 8, &what, 4);
    }
    printf("attack %s prepared: B's header says %u bytes\n", attack,
           (unsigned)(forged & ~15u));
    fflush(stdout);
    unsigned char *p = lm_malloc(1000); /* would take B */
    unsigned char *q = lm_malloc(1000); /* would take what overlaps C */
    sink = q;
    return returned("malloc after the overflow", q ? q : p, 1000, c, 1000);
  }
  if (!strcmp(attack, "slab")) {
    unsigned char *x = lm_malloc(48), *y = lm_malloc(48);
    lm_free(x);
    /* Write after free: point x's free-list link at the live object y. */
    uint32_t forged = (uint32_t)(uintptr_t)y;
    memcpy(x, &forged, 4);
    printf("attack slab prepared: freed object's link rewritten\n");
    fflush(stdout);
    unsigned char *p = lm_malloc(48); /* x again */
    unsigned char *q = lm_malloc(48); /* would be y: allocated twice */
    sink = p;
    return returned("the second malloc(48)", q, 48, y, 48);
  }
  printf("usage: test_attack header|links|slab\n");
  return 2;
}
