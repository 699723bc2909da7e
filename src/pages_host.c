/* Page source for native builds (tests, sanitizers, valgrind, fuzzers): a
 * reserved range of address space that behaves like wasm linear memory.
 *
 * - 4 GiB of addresses are reserved with no access; "memory.grow" makes
 *   the next pages readable and writable, so touching memory the heap does
 *   not own faults, as out-of-bounds wasm accesses trap.
 * - Like a wasm module, memory starts with 2 pages, the first part of which
 *   plays the static data and stack: the heap's initial region starts at
 *   an odd address (HEAP_BASE) and runs to the end of the second page.
 * - LM_HOST_MAX_PAGES in the environment caps memory (like a module's
 *   maximum), so tests can make memory.grow fail.
 * - Test hooks (pages.h): lm_pages_fail_after makes one chosen grow fail
 *   (fault injection at every point the core grows), lm_pages_reset gives
 *   all memory back so a fuzzer starts each input on fresh memory.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE under -std=c11 */
#include <stdlib.h>
#include <sys/mman.h>

#include "pages.h"

#define RESERVE ((size_t)1 << 32)
#define INITIAL_PAGES 2u
#define HEAP_BASE 0x11238u /* like wasm-ld's __heap_base: after data+stack */
_Static_assert(HEAP_BASE < INITIAL_PAGES * LM_PAGE_SIZE, "inside memory");

static uintptr_t memory;   /* start of the reserved range */
static uint32_t pages;     /* pages readable and writable */
static uint32_t max_pages; /* the most pages memory may have */
static int fail_countdown = -1; /* lm_pages_fail_after: grows left to succeed */

static void open_memory(void) {
  if (memory)
    return;
  void *p = mmap(NULL, RESERVE, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED ||
      mprotect(p, INITIAL_PAGES * (size_t)LM_PAGE_SIZE, PROT_READ | PROT_WRITE))
    abort();
  memory = (uintptr_t)p;
  pages = INITIAL_PAGES;
  max_pages = (uint32_t)(RESERVE >> LM_PAGE_SIZE_LOG2);
  const char *env = getenv("LM_HOST_MAX_PAGES");
  if (env && atol(env) > 0 && (unsigned long)atol(env) < max_pages)
    max_pages = (uint32_t)atol(env);
}

uintptr_t lm_pages_base(void) {
  open_memory();
  return memory;
}

void lm_pages_initial(uint32_t *start, uint32_t *end) {
  open_memory();
  *start = HEAP_BASE;
  *end = INITIAL_PAGES * LM_PAGE_SIZE;
}

/* memory.grow: returns the old size in pages, or -1. */
static int64_t grow_memory(uint32_t count) {
  open_memory();
  if (count > max_pages - pages)
    return -1;
  size_t at = (size_t)pages << LM_PAGE_SIZE_LOG2;
  if (mprotect((void *)(memory + at), (size_t)count << LM_PAGE_SIZE_LOG2,
               PROT_READ | PROT_WRITE))
    return -1;
  uint32_t old = pages;
  pages += count;
  return old;
}

uint32_t lm_pages_grow(uint32_t count) {
  if (fail_countdown >= 0 && fail_countdown-- == 0)
    return 0; /* injected failure; fail_countdown is now -1 (off) */
  int64_t old = grow_memory(count);
  return old < 0 ? 0 : (uint32_t)((uint64_t)old << LM_PAGE_SIZE_LOG2);
}

int lm_pages_foreign_grow(uint32_t count) {
  return grow_memory(count) < 0 ? -1 : 0;
}

int lm_pages_fail_after(int n) {
  int old = fail_countdown;
  fail_countdown = n < 0 ? -1 : n;
  return old;
}

void lm_pages_reset(void) {
  fail_countdown = -1;
  if (!memory)
    return;
  /* A fresh mapping over every page grown so far: zero, no access. */
  size_t used = (size_t)pages << LM_PAGE_SIZE_LOG2;
  if (mmap((void *)memory, used, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
           0) == MAP_FAILED ||
      mprotect((void *)memory, INITIAL_PAGES * (size_t)LM_PAGE_SIZE,
               PROT_READ | PROT_WRITE))
    abort();
  pages = INITIAL_PAGES;
}
