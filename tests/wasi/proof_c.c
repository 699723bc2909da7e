/* proof_c: a C program whose allocations must all land in lmalloc.
 *
 * tests/wasi/CMakeLists.txt builds this file twice, with the same flags:
 *   proof_c_lmalloc.wasm  linked with liblmalloc.a (LM_PROOF_LMALLOC=1)
 *   proof_c_libc.wasm     linked with wasi-libc alone (LM_PROOF_LMALLOC=0)
 * and wasm-names.mjs then reads both modules' name sections: dlmalloc,
 * dlfree and dispose_chunk must be in the second and absent from the
 * first (test dlmalloc_gone_c).
 *
 * This program is the other half of the proof: it allocates through every
 * entry point wasi-libc's dlmalloc.o defines (malloc, calloc, realloc,
 * aligned_alloc, posix_memalign, malloc_usable_size, free) and through
 * libc functions that allocate on the program's behalf (strdup,
 * open_memstream), and, when lmalloc is linked, checks with lm_walk and
 * lm_stats that every one of those blocks is an lmalloc allocation while
 * it lives and that all are gone afterwards. Without lmalloc it only
 * checks the contents, so the same program runs on dlmalloc.
 */
#include "testlib.h"

#ifndef LM_PROOF_LMALLOC
#error "build with -DLM_PROOF_LMALLOC=1 (lmalloc linked) or 0 (libc only)"
#endif

#include <malloc.h> /* malloc_usable_size */

#define COUNT 6

/* With lmalloc: p must be a used allocation the walker knows. */
static void expect_lmalloc_block(const void *p, const char *what) {
#if LM_PROOF_LMALLOC
  tl_found_t f = tl_find(p);
  CHECK(f.found && f.info.used, "%s: %p is a used lmalloc allocation", what, p);
#else
  (void)p;
  (void)what;
#endif
}

static size_t used_allocations(void) {
#if LM_PROOF_LMALLOC
  return tl_stats().used_blocks;
#else
  return 0;
#endif
}

int main(void) {
  printf("proof_c: malloc is %s\n", LM_PROOF_LMALLOC
                                        ? "lmalloc (liblmalloc.a linked)"
                                        : "wasi-libc's (no lmalloc)");
  size_t before = used_allocations();

  /* Every entry point of dlmalloc.o. */
  void *p[COUNT];
  p[0] = tl_keep(malloc(100));
  p[1] = tl_keep(calloc(10, 1000));
  p[2] = tl_keep(realloc(NULL, 300));
  p[2] = tl_keep(realloc(p[2], 5000));
  p[3] = tl_keep(aligned_alloc(256, 1024));
  p[4] = NULL;
  CHECK(posix_memalign(&p[4], 64, 200) == 0, "posix_memalign succeeds");
  p[5] = tl_keep(strdup("a string copied by wasi-libc's strdup"));
  for (int i = 0; i < COUNT; i++)
    CHECK(p[i] != NULL, "allocation %d succeeded", i);
  if (tl_failed)
    return tl_finish();

  CHECK(((uintptr_t)p[3] & 255) == 0, "aligned_alloc(256) is aligned");
  CHECK(((uintptr_t)p[4] & 63) == 0, "posix_memalign(64) is aligned");
  CHECK(tl_first_nonzero(p[1], 10000) == 10000, "calloc memory is zero");
  CHECK(malloc_usable_size(p[2]) >= 5000, "usable size covers the request");
  for (int i = 0; i < COUNT; i++) {
    char what[32];
    snprintf(what, sizeof what, "allocation %d", i);
    expect_lmalloc_block(p[i], what);
  }
  if (LM_PROOF_LMALLOC)
    CHECK(used_allocations() == before + COUNT,
          "lm_stats counts the %d allocations: %zu -> %zu", COUNT, before,
          used_allocations());

  /* libc allocating for itself: open_memstream mallocs its FILE and
   * reallocs the buffer as it grows. */
  char *buf = NULL;
  size_t len = 0;
  size_t before_stream = used_allocations();
  FILE *f = open_memstream(&buf, &len);
  CHECK(f != NULL, "open_memstream succeeds");
  if (f) {
    for (int i = 0; i < 1000; i++)
      fprintf(f, "line %d of a memory stream\n", i);
    fflush(f);
    CHECK(len > 20000, "the stream holds %zu bytes", len);
    expect_lmalloc_block(buf, "open_memstream buffer");
    if (LM_PROOF_LMALLOC)
      CHECK(used_allocations() >= before_stream + 2,
            "the stream's FILE and buffer are lmalloc allocations (%zu -> "
            "%zu)",
            before_stream, used_allocations());
    fclose(f);
    CHECK(buf && strncmp(buf, "line 0 of", 9) == 0, "stream contents kept");
    free(buf);
  }

  for (int i = 0; i < COUNT; i++)
    free(p[i]);
  if (LM_PROOF_LMALLOC) {
    CHECK(used_allocations() == before,
          "everything freed: %zu allocations, %zu at start", used_allocations(),
          before);
    CHECK(tl_lm_check() == 0, "lm_check finds no problem");
  }
  return tl_finish();
}
