/* Example: a dynamic array that grows with realloc, and where it lands.
 *
 * realloc (lmalloc.h) keeps a block where it is when it can and moves it
 * when it must; this program shows each case and why, with what a walk of
 * the heap (lm_walk) says about the array and the block after it:
 *
 *   1. Requests up to 256 bytes are objects in slabs, in fixed size
 *      classes (16, 32, ... 256 bytes). An object cannot grow past its
 *      class, so each doubling moves it to a slab of a bigger class, and
 *      past 256 bytes it moves to a block.
 *   2. A block followed by free memory grows in place. Here the array is
 *      followed by the top block, the heap's free space, which memory.grow
 *      extends when needed (while nothing lies after it). Its first block
 *      may land in a hole instead (left before a slab, or an old top
 *      block: where holes lie depends on where the heap starts, so on the
 *      program's static data); it grows in place there while the hole
 *      has room, then moves once more, to the top block.
 *   3. Once another block is allocated right after it, the array must
 *      move; it lands in the top block again and grows in place.
 *   4. When the block after it is freed, the array grows in place into
 *      that free block.
 *   5. Shrinking always happens in place.
 *
 * After every realloc the program checks that the array kept its
 * contents; it exits with status 1 if one did not, or if the heap check
 * (lm_check) finds a problem.
 *
 *   npm run example -- dynamic-array
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmalloc.h"

/* ---- what the heap says about an allocation and its neighbour ------ */

typedef struct where {
  const void *ptr;
  int found;     /* ptr is an allocation */
  int object;    /* it is a slab object (else a block) */
  size_t usable; /* its usable bytes */
  unsigned span; /* the span it is in */
  int after;     /* a block of the same span follows it */
  int next_free; /* the block right after it is free */
  int next_top;  /* ... and is the top block, the heap's free space */
} where_t;

/* Finds w->ptr, then looks at the block after it: free or not, and
 * whether it is the top block or a hole. */
static int locate(const lm_block_info_t *b, void *ctx) {
  where_t *w = ctx;
  if (!w->found) {
    if (b->ptr != w->ptr || b->kind == LM_KIND_SLAB)
      return 0;
    w->found = 1;
    w->object = b->kind == LM_KIND_OBJECT;
    w->usable = b->usable;
    w->span = b->span;
    return w->object; /* an object has no neighbour block of its own */
  }
  if (b->kind == LM_KIND_OBJECT)
    return 0; /* objects of a slab that follows */
  if (b->span != w->span)
    return 1;
  w->after = 1;
  w->next_free = !b->used;
  w->next_top = b->top;
  return 1;
}

static where_t where_is(const void *p) {
  where_t w = {.ptr = p};
  lm_walk(locate, &w);
  return w;
}

static const char *describe(where_t w) {
  if (!w.found)
    return "not found by the walker";
  if (w.object)
    return "a slab object";
  if (w.after == 0)
    return "a block, last in its span";
  if (!w.next_free)
    return "a block, next block in use";
  return w.next_top ? "a block, next: the top block (free space)"
                    : "a block, next block free";
}

/* ---- the array ------------------------------------------------------ */

typedef struct array {
  uint32_t *items;
  size_t count;
} array_t;

static int failures;

/* The blocks allocated around the array are never read, and clang deletes
 * a malloc/free pair whose memory is unused (at -O1 and above). Storing
 * the pointer where the compiler cannot see it go keeps the allocation. */
static void *volatile sink;
static void *keep(void *p) {
  sink = p;
  return p;
}

/* Resizes the array to `count` items and says what realloc did. */
static void resize(array_t *a, size_t count) {
  size_t bytes = count * sizeof *a->items;
  where_t before = where_is(a->items);
  uint32_t *p = realloc(a->items, bytes);
  if (!p) {
    printf("realloc to %zu bytes failed\n", bytes);
    failures++;
    return;
  }
  int moved = p != a->items;
  size_t kept = count < a->count ? count : a->count;
  for (size_t i = 0; i < kept; i++)
    if (p[i] != (uint32_t)i * 2654435761u) {
      printf("item %zu lost after realloc\n", i);
      failures++;
      break;
    }
  for (size_t i = kept; i < count; i++)
    p[i] = (uint32_t)i * 2654435761u;
  a->items = p;
  a->count = count;
  where_t after = where_is(p);
  printf("  %6zu -> %6zu bytes  %-8s  was %s; now %s (%zu usable)\n",
         before.usable, bytes, moved ? "moved" : "in place", describe(before),
         after.object ? "a slab object" : "a block", after.usable);
}

int main(void) {
  printf("lmalloc %d.%d dynamic-array example\n", LM_VERSION_MAJOR,
         LM_VERSION_MINOR);
  array_t a = {NULL, 0};

  printf("1-2. doubling from 16 bytes to 64 KiB:\n");
  a.items = malloc(16);
  if (!a.items)
    return 1;
  a.count = 4;
  for (size_t i = 0; i < a.count; i++)
    a.items[i] = (uint32_t)i * 2654435761u;
  while (a.count < 16384)
    resize(&a, a.count * 2);

  printf("3. a block is allocated right after the array:\n");
  void *neighbour = keep(malloc(100000));
  resize(&a, a.count * 2);
  resize(&a, a.count * 2);

  printf("4. a block right after the array is freed:\n");
  /* Both are too big for the hole the array left behind in step 3, so
   * they come from the top block, in this order. */
  void *next = keep(malloc(200000));  /* right after the array */
  void *guard = keep(malloc(200000)); /* so `next` is not the heap's end */
  free(next);
  resize(&a, a.count + 200000 / sizeof *a.items - 64);

  printf("5. shrinking:\n");
  resize(&a, 1000);
  resize(&a, 100);

  free(a.items);
  free(neighbour);
  free(guard);
  size_t problems = lm_check();
  printf("heap check: %zu problem(s)\n", problems);
  return failures || problems ? 1 : 0;
}
