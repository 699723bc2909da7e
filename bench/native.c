/* What the native builds of the replay harness (bench/callgrind.sh) need
 * that the wasm platforms give: compiled into those programs only.
 *
 * sbrk over one reserved range, as on wasm: the harness takes its tables
 * from the break and dlmalloc grows its heap there, interleaved as in
 * linear memory, and the break is not limited to the 8 MB valgrind allows
 * the real one. lmalloc's native page source reserves its own range
 * (src/pages_host.c) and does not call sbrk.
 *
 * With -DLM_BENCH_DL_PREFIX, the standard allocation functions forward to
 * Emscripten's dlmalloc.c built with USE_DL_PREFIX (which natively defines
 * only the dl-prefixed names). */
#define _DEFAULT_SOURCE 1
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define RESERVED ((size_t)8 << 30)

static char *range, *brk_at;

void *sbrk(intptr_t delta) {
  if (!range) {
    void *r = mmap(NULL, RESERVED, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
      errno = ENOMEM;
      return (void *)-1;
    }
    range = brk_at = r;
  }
  if (delta < -(brk_at - range) || delta > (range + RESERVED) - brk_at) {
    errno = ENOMEM;
    return (void *)-1;
  }
  char *old = brk_at;
  brk_at += delta;
  return old;
}

#ifdef LM_BENCH_DL_PREFIX
void *dlmalloc(size_t);
void dlfree(void *);
void *dlcalloc(size_t, size_t);
void *dlrealloc(void *, size_t);
void *dlmemalign(size_t, size_t);

void *malloc(size_t n) { return dlmalloc(n); }
void free(void *p) { dlfree(p); }
void *calloc(size_t n, size_t size) { return dlcalloc(n, size); }
void *realloc(void *p, size_t n) { return dlrealloc(p, n); }
void *aligned_alloc(size_t align, size_t n) { return dlmemalign(align, n); }
#endif
