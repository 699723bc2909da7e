/* A deliberately simple allocator, with one mistake chosen at compile
 * time, that bench/replay.c is linked with in tests/js/bench-replay.test.mjs
 * to prove the benchmark's harness catches allocators that break the
 * contract: a wrong allocator must fail the benchmark, not win it.
 *
 *   -DFAULT=0  no mistake (the control: the harness must accept it)
 *   -DFAULT=1  SAME:      every 50th malloc returns the block the previous
 *                         one returned (often still live)
 *   -DFAULT=2  NESTED:    every 10th malloc of at most 16 bytes returns a
 *                         pointer inside the last block of 64 bytes or more
 *                         (often still live): only whole-block stamps
 *                         (--verify) see it
 *   -DFAULT=3  CALLOC:    calloc leaves one byte in the middle non-zero
 *   -DFAULT=4  REALLOC:   realloc moves without copying
 *   -DFAULT=5  ALIGN:     aligned_alloc ignores alignments above 16
 *   -DFAULT=6  NULL:      malloc of more than 4096 bytes returns NULL
 *   -DFAULT=7  MISALIGN:  every 7th malloc returns a block 1 byte past an
 *                         aligned address (its bytes are all its own, so
 *                         only the alignment check sees it)
 *
 * Memory is a bump region of static storage (each block keeps its size in
 * the 16 bytes before it); free gives nothing back. It defines every
 * symbol wasi-libc's dlmalloc.o does (as src/stdlib.c does), so the link
 * never pulls dlmalloc in.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef FAULT
#error "build with -DFAULT=0..7"
#endif

#define HEADER 16u
static unsigned char region[48u << 20] __attribute__((aligned(16)));
static size_t used;
static unsigned long mallocs, small_mallocs;
static unsigned char *last, *last_big;

static unsigned char *bump(size_t align, size_t size) {
  uintptr_t start = (uintptr_t)region;
  size_t at = ((start + used + HEADER + align - 1) & ~(uintptr_t)(align - 1)) - start;
  if (size > sizeof region || at > sizeof region - size) {
    errno = ENOMEM;
    return NULL;
  }
  used = at + size;
  memcpy(region + at - sizeof size, &size, sizeof size);
  return region + at;
}

static size_t size_of(const void *p) {
  size_t size;
  memcpy(&size, (const unsigned char *)p - sizeof size, sizeof size);
  return size;
}

/* A new block: what calloc and realloc take, without malloc's mistakes. */
static unsigned char *take(size_t size) {
  unsigned char *p = bump(16, size);
  last = p;
  if (size >= 64)
    last_big = p;
  return p;
}

void *malloc(size_t size) {
  mallocs++;
  if (FAULT == 1 && last && mallocs % 50 == 0)
    return last;
  if (FAULT == 2 && last_big && size <= 16 && ++small_mallocs % 10 == 0)
    return last_big + 32;
  if (FAULT == 6 && size > 4096)
    return NULL;
  if (FAULT == 7 && mallocs % 7 == 0) {
    unsigned char *p = take(size + 1);
    if (p) { /* the size word moves with the block (size_of) */
      p++;
      memcpy(p - sizeof size, &size, sizeof size);
    }
    return p;
  }
  return take(size);
}

void free(void *ptr) { (void)ptr; }

void *calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  unsigned char *p = take(count * size);
  if (p)
    memset(p, 0, count * size);
  if (FAULT == 3 && p && count * size >= 2)
    p[count * size / 2] = 0x5a;
  return p;
}

void *realloc(void *ptr, size_t size) {
  unsigned char *p = take(size);
  if (p && ptr && FAULT != 4) {
    size_t old = size_of(ptr);
    memcpy(p, ptr, old < size ? old : size);
  }
  return p;
}

void *aligned_alloc(size_t alignment, size_t size) {
  if (alignment < 16 || FAULT == 5)
    alignment = 16;
  return bump(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
  return aligned_alloc(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  void *p = aligned_alloc(alignment, size);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

size_t malloc_usable_size(void *ptr) { return ptr ? size_of(ptr) : 0; }

void *__libc_malloc(size_t size) { return malloc(size); }
void __libc_free(void *ptr) { free(ptr); }
void *__libc_calloc(size_t count, size_t size) { return calloc(count, size); }
