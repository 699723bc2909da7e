/* The standard names: malloc, free, calloc, realloc, aligned_alloc,
 * posix_memalign, memalign and malloc_usable_size, on the default heap.
 * Built into liblmalloc.a for wasm targets only (CMake option
 * LM_STD_NAMES), where it replaces the C library's allocator.
 *
 * It defines every symbol wasi-libc's dlmalloc.o defines (llvm-nm on
 * /usr/lib/wasm32-wasi/libc.a: malloc, free, calloc, realloc,
 * aligned_alloc, posix_memalign, malloc_usable_size and the __libc_*
 * aliases), so no link ever pulls dlmalloc in, and Emscripten's
 * emscripten_builtin_* entry points, which its runtime calls when it is
 * linked with -sMALLOC=none.
 *
 * The calls go straight to the heap functions, not through lm_malloc, to
 * save a call on the hottest paths there are; malloc's and free's slab
 * paths are inlined here (fast.h), so that most calls are one wasm call,
 * not two. */
#include <errno.h>

#include "fast.h"
#include "heap.h"

#define HEAP (&lm_default_heap)

void *malloc(size_t size) { return lm_fast_malloc(HEAP, size); }
void free(void *ptr) { lm_fast_free(HEAP, ptr); }
void *calloc(size_t count, size_t size) {
  return lm_heap_calloc(HEAP, count, size);
}
void *realloc(void *ptr, size_t size) {
  return lm_heap_realloc(HEAP, ptr, size);
}
void *aligned_alloc(size_t alignment, size_t size) {
  return lm_heap_aligned_alloc(HEAP, alignment, size);
}
void *memalign(size_t alignment, size_t size) {
  return lm_heap_aligned_alloc(HEAP, alignment, size);
}
size_t malloc_usable_size(void *ptr) { return lm_heap_usable_size(HEAP, ptr); }

/* POSIX: the alignment must be a power of two multiple of sizeof(void *);
 * errors are returned, not put in errno, which is left as it was. */
int posix_memalign(void **out, size_t alignment, size_t size) {
  if (alignment < sizeof(void *) || (alignment & (alignment - 1)) ||
      alignment > LM_MAX_ALIGNMENT)
    return EINVAL;
  int saved = errno;
  void *p = lm_heap_aligned_alloc(HEAP, alignment, size);
  if (!p) {
    int err = errno;
    errno = saved;
    return err;
  }
  *out = p;
  return 0;
}

/* wasi-libc's internal names for its allocator. malloc and free under
 * other names are aliases, not copies of their inlined fast paths. */
void *__libc_malloc(size_t size) __attribute__((alias("malloc")));
void __libc_free(void *ptr) __attribute__((alias("free")));
void *__libc_calloc(size_t count, size_t size) {
  return lm_heap_calloc(HEAP, count, size);
}

/* Emscripten's runtime allocates through these. */
void *emscripten_builtin_malloc(size_t size) __attribute__((alias("malloc")));
void emscripten_builtin_free(void *ptr) __attribute__((alias("free")));
void *emscripten_builtin_memalign(size_t alignment, size_t size) {
  return lm_heap_aligned_alloc(HEAP, alignment, size);
}
