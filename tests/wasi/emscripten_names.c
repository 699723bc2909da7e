/* emscripten_names: the allocator names Emscripten declares beyond the
 * standard ones (valloc, pvalloc, mallinfo, malloc_stats, mallopt,
 * malloc_trim, __libc_realloc) link with -sMALLOC=none and behave: page
 * alignment, statistics that match lm_stats, refused tunables, and no
 * effect on the heap (lm_check() == 0). Emscripten preset only.
 */
#define _DEFAULT_SOURCE /* getpagesize, valloc */
#include <malloc.h>
#include <unistd.h>

#include "testlib.h"

void *pvalloc(size_t size);            /* defined, not declared by Emscripten */
void *__libc_realloc(void *ptr, size_t size);
int malloc_trim(size_t pad);

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  size_t page = (size_t)getpagesize();
  unsigned char *v = tl_keep(valloc(100));
  unsigned char *pv = tl_keep(pvalloc(100));
  unsigned char *r = tl_keep(__libc_realloc(NULL, 40));
  CHECK(v && (uintptr_t)v % page == 0, "valloc is page-aligned (%p, page %zu)",
        (void *)v, page);
  CHECK(pv && (uintptr_t)pv % page == 0 && lm_usable_size(pv) >= page,
        "pvalloc rounds up to a whole page (%p, usable %zu)", (void *)pv,
        pv ? lm_usable_size(pv) : 0);
  CHECK(r != NULL, "__libc_realloc(NULL, n) allocates");
  r = tl_keep(__libc_realloc(r, 4000));
  CHECK(r && lm_usable_size(r) >= 4000, "__libc_realloc grows");

  struct mallinfo m = mallinfo();
  lm_stats_t s = {.version = LM_STATS_VERSION, .size = sizeof s};
  CHECK(lm_stats(&s) == 0, "lm_stats");
  CHECK((size_t)m.arena == s.heap_bytes && (size_t)m.uordblks == s.used_bytes &&
            (size_t)m.fordblks == s.free_bytes,
        "mallinfo agrees with lm_stats (arena %d/%zu, in use %d/%zu, free "
        "%d/%zu)", m.arena, s.heap_bytes, m.uordblks, s.used_bytes,
        m.fordblks, s.free_bytes);
  CHECK(mallopt(M_GRANULARITY, 4096) == 0, "mallopt refuses (no tunables)");
  CHECK(malloc_trim(0) == 0, "malloc_trim releases nothing");
  malloc_stats(); /* four lines on stderr; must not allocate or crash */

  free(v);
  free(pv);
  free(r);
  CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
