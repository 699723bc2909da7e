/* heap_4g: a heap that fills all of wasm32's 4 GiB.
 *
 * Linked with -Wl,--max-memory=4294967296 (65536 pages, the most a wasm32
 * memory can have; Emscripten: -sMAXIMUM_MEMORY=4GB, which its runtime
 * caps one page short, at emscripten_get_heap_max()), the test allocates
 * blocks of 64 MiB, then 1 MiB, 64 KiB, 4 KiB and finally small objects
 * until each size fails. Every failure must be a clean NULL with
 * errno = ENOMEM, with the heap intact: the blocks keep their contents,
 * lm_check() == 0, and after freeing some blocks the same sizes can be
 * allocated again. Memory must have grown to its maximum, and the highest
 * block must reach the end of it and be usable up to its last byte.
 *
 * Each block has only a 16-byte window at its start and at its end written
 * and checked, so the run touches a few MiB although the heap spans 4 GiB.
 *
 *   node tests/run-wasi.mjs heap_4g.wasm
 */
#include "testlib.h"

#ifdef __EMSCRIPTEN__
#include <emscripten/heap.h>
#endif

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)
#define WINDOW 16
#define MAX_BLOCKS 8192

typedef struct block {
  unsigned char *p;
  size_t size;
  uint32_t tag;
} block_t;

static block_t blocks[MAX_BLOCKS];
static size_t nblocks;

/* Blocks of at least two windows get one at each end; smaller ones are
 * filled whole. */
static void mark(const block_t *b) {
  if (b->size < 2 * WINDOW) {
    tl_fill(b->p, b->size, b->tag);
    return;
  }
  tl_fill(b->p, WINDOW, b->tag);
  tl_fill(b->p + b->size - WINDOW, WINDOW, ~b->tag);
}

static int marked(const block_t *b) {
  if (b->size < 2 * WINDOW)
    return tl_verify(b->p, b->size, b->tag) == b->size;
  return tl_verify(b->p, WINDOW, b->tag) == WINDOW &&
         tl_verify(b->p + b->size - WINDOW, WINDOW, ~b->tag) == WINDOW;
}

static void verify_all(const char *when) {
  size_t bad = 0;
  for (size_t i = 0; i < nblocks; i++)
    if (blocks[i].p && !marked(&blocks[i]) && ++bad <= 5)
      CHECK(0, "%s: block %zu at %p (%zu bytes) lost its contents", when, i,
            (void *)blocks[i].p, blocks[i].size);
  CHECK(bad == 0, "%s: %zu blocks lost their contents", when, bad);
}

static void check_heap(const char *when) {
  size_t n = tl_lm_check();
  CHECK(n == 0, "%s: lm_check() == 0, got %zu", when, n);
}

/* Allocates blocks of `size` bytes until malloc fails; checks that it
 * fails with ENOMEM. Returns how many it got. */
static size_t fill_with(size_t size) {
  size_t got = 0;
  while (nblocks < MAX_BLOCKS) {
    errno = 0;
    unsigned char *p = tl_keep(malloc(size));
    if (!p) {
      CHECK(errno == ENOMEM, "malloc(%zu) fails with ENOMEM, errno %d", size,
            errno);
      return got;
    }
    block_t *b = &blocks[nblocks];
    *b = (block_t){p, size, tl_tag((uint32_t)nblocks, (uint32_t)size)};
    mark(b);
    nblocks++;
    got++;
  }
  CHECK(0, "more than %d blocks: raise MAX_BLOCKS", MAX_BLOCKS);
  return got;
}

static size_t pages(void) { return __builtin_wasm_memory_size(0); }

/* The most memory the program may have, and how close to its end the
 * highest block must reach. WASI: 4 GiB; lmalloc's offsets are 32-bit, so
 * its heap stops 16 bytes short of 2^32 (LM_OFF_LIMIT in src/heap.c).
 * Emscripten: its runtime's cap; lmalloc grows the program break (sbrk) by
 * whole pages, and the break is not page-aligned, so up to a page below
 * the cap may stay unused. */
#ifdef __EMSCRIPTEN__
static uint64_t memory_max(void) { return emscripten_get_heap_max(); }
#define END_SLACK 65536u
#else
static uint64_t memory_max(void) { return (uint64_t)1 << 32; }
#define END_SLACK 64u
#endif

/* Everything else that allocates must fail cleanly too. */
static void everything_fails(void) {
  errno = 0;
  CHECK(tl_keep(malloc(1)) == NULL && errno == ENOMEM, "malloc(1) fails");
  errno = 0;
  CHECK(tl_keep(calloc(1, 64)) == NULL && errno == ENOMEM, "calloc fails");
  errno = 0;
  CHECK(tl_keep(aligned_alloc(4096, 4096)) == NULL && errno == ENOMEM,
        "aligned_alloc fails");
  errno = 0;
  CHECK(tl_keep(malloc(GiB)) == NULL && errno == ENOMEM, "malloc(1 GiB) fails");
  /* realloc that cannot grow in place leaves the block alone. */
  block_t *b = &blocks[0];
  errno = 0;
  CHECK(tl_keep(realloc(b->p, b->size + 64 * MiB)) == NULL && errno == ENOMEM,
        "realloc to a bigger size fails");
  CHECK(marked(b), "the block realloc could not grow is untouched");
}

int main(void) {
  double t0 = tl_now();
  printf("memory at start: %zu pages\n", pages());

  /* Down to 1 byte: when malloc(16) fails (it would take a 32-byte block)
   * a 16-byte free block may remain, which malloc(1) can still have. */
  size_t sizes[] = {64 * MiB, MiB, 64 * 1024, 4096, 256, 64, 16, 1};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    size_t got = fill_with(sizes[k]);
    printf("%9zu-byte blocks: %zu more, memory now %zu pages\n", sizes[k], got,
           pages());
  }
  lm_stats_t s = tl_stats();
  printf("heap full: %zu bytes in %zu span(s), %zu blocks, %zu bytes free in "
         "%zu free blocks, %.2f s\n",
         s.heap_bytes, s.spans, nblocks, s.free_bytes, s.free_blocks,
         tl_now() - t0);
  CHECK((uint64_t)pages() << 16 == memory_max(),
        "memory reached its maximum, %llu pages, has %zu",
        (unsigned long long)(memory_max() >> 16), pages());
  CHECK(s.heap_bytes > memory_max() - 16 * MiB,
        "the heap holds nearly all of it: %zu", s.heap_bytes);
  CHECK(s.free_bytes < 64 * 1024, "less than 64 KiB left free: %zu",
        s.free_bytes);

  /* The highest block reaches the end of the address space. */
  unsigned char *highest = NULL;
  for (size_t i = 0; i < nblocks; i++)
    if (blocks[i].p > highest)
      highest = blocks[i].p;
  uint64_t end = (uint64_t)(uintptr_t)highest + lm_usable_size(highest);
  printf("highest block: %p, usable up to %#llx\n", (void *)highest,
         (unsigned long long)end);
  CHECK(end + END_SLACK >= memory_max(),
        "the highest block ends within %u bytes of the end of memory: %#llx",
        END_SLACK, (unsigned long long)end);
  if (highest) {
    volatile unsigned char *last = highest + lm_usable_size(highest) - 1;
    unsigned char saved = *last;
    *last = (unsigned char)~saved;
    CHECK(*last == (unsigned char)~saved,
          "its last usable byte (%p) can be written", (void *)last);
    *last = saved;
  }

  everything_fails();
  verify_all("heap full");
  check_heap("heap full");

  /* Free every other 64 MiB block, allocate the same again. */
  size_t freed = 0;
  for (size_t i = 0; i < nblocks; i += 2)
    if (blocks[i].size == 64 * MiB) {
      free(blocks[i].p);
      blocks[i].p = NULL;
      freed++;
    }
  check_heap("half the 64 MiB blocks freed");
  size_t again = 0;
  for (size_t i = 0; i < nblocks; i += 2)
    if (!blocks[i].p) {
      blocks[i].p = tl_keep(malloc(64 * MiB));
      if (!blocks[i].p)
        break;
      blocks[i].tag ^= 0x1234;
      mark(&blocks[i]);
      again++;
    }
  printf("freed %zu blocks of 64 MiB, allocated %zu again\n", freed, again);
  CHECK(again == freed, "all %zu could be allocated again, got %zu", freed,
        again);
  errno = 0;
  CHECK(tl_keep(malloc(64 * MiB)) == NULL && errno == ENOMEM,
        "and then the heap is full again");
  verify_all("after refilling");
  check_heap("after refilling");

  /* Free everything; the whole heap is usable again. */
  for (size_t i = 0; i < nblocks; i++)
    free(blocks[i].p);
  nblocks = 0;
  tl_check_all_free("everything freed");
  void *big = tl_keep(malloc(3 * GiB));
  CHECK(big != NULL, "a 3 GiB block after freeing everything");
  free(big);
  check_heap("end");
  printf("time: %.2f s\n", tl_now() - t0);
  return tl_finish();
}
