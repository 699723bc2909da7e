/* test_entropy: the page source's random bits (lm_pages_entropy, from
 * src/pages.h: getentropy natively, wasi-libc's random_get under WASI,
 * crypto.getRandomValues under Emscripten), which make each heap's key
 * (heap.c: the mask of free-list links and footers) unpredictable.
 *
 *   1. Eight calls give at least two different values, not all zero
 *      (a platform without entropy returns 0 every time: that fails here,
 *      so a build that silently lost its entropy does not pass).
 *   2. The heap made with that key works: blocks keep their bytes across
 *      frees and merges, and lm_check() == 0.
 */
#include "testlib.h"

#include "pages.h"

int main(void) {
  uint32_t v[8];
  int distinct = 0, nonzero = 0;
  for (int i = 0; i < 8; i++) {
    v[i] = lm_pages_entropy();
    nonzero += v[i] != 0;
    distinct += i > 0 && v[i] != v[0];
  }
  CHECK(nonzero > 0, "lm_pages_entropy() returned 0 eight times");
  CHECK(distinct > 0, "lm_pages_entropy() returned %u eight times", v[0]);

  char *p[64];
  for (int i = 0; i < 64; i++) {
    p[i] = lm_malloc(300 + 40 * (size_t)i);
    CHECK(p[i] != NULL, "malloc");
    if (p[i])
      memset(p[i], i, 300);
  }
  for (int i = 0; i < 64; i += 2)
    lm_free(p[i]);
  for (int i = 1; i < 64; i += 2) {
    int ok = 1;
    for (int k = 0; k < 300; k++)
      ok &= p[i][k] == (char)i;
    CHECK(ok, "block %d kept its bytes", i);
  }
  CHECK(lm_check() == 0, "lm_check() == 0");
  for (int i = 1; i < 64; i += 2)
    lm_free(p[i]);
  CHECK(lm_check() == 0, "lm_check() == 0 after freeing all");
  return tl_finish();
}
