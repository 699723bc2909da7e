/* The allocator interface (lmalloc_heaps.h): its instances over heaps and
 * arenas, realloc on top of any allocator, and the testing allocator.
 *
 * The testing allocator puts a header before every allocation it hands
 * out, taking header and allocation from its parent in one piece:
 *
 *   parent's allocation
 *   +---------- ... ----+-----------+--------------------------+
 *   | (alignment pad)   | header    | the caller's `size` bytes |
 *   +---------- ... ----+-----------+--------------------------+
 *   q                   p - HDR     p = q + pad (pad: HDR rounded up to
 *                                   the alignment, a multiple of it)
 *
 * Headers form a doubly linked list of the live allocations (newest
 * first), so finish reports every leak in O(leaks) and free unlinks in
 * O(1). A header's check word is its address xor a key while the
 * allocation is live, and that xor FREED after it was freed: free and
 * resize read it before trusting anything else, which catches double
 * frees and pointers the allocator never handed out.
 */
#include <errno.h>
#include <string.h>

#include "heap.h"

/* ---------------------------------------------------------------------
 * Heaps and arenas
 * ------------------------------------------------------------------- */

static int bad_align(size_t align) { return align & (align - 1); }

static void *heap_alloc(void *ctx, size_t size, size_t align) {
  if (bad_align(align)) {
    errno = EINVAL;
    return NULL;
  }
  if (align <= LM_ALIGNMENT)
    return lm_heap_malloc(ctx, size);
  return lm_heap_aligned_alloc(ctx, align, size);
}

static int heap_resize(void *ctx, void *ptr, size_t old_size, size_t new_size) {
  (void)old_size;
  return lm_heap_resize(ctx, ptr, new_size);
}

static void heap_free(void *ctx, void *ptr, size_t size) {
  (void)size;
  lm_heap_free(ctx, ptr);
}

lm_allocator_t lm_heap_allocator(lm_heap_t *heap) {
  lm_allocator_t a = {heap ? heap : &lm_default_heap, heap_alloc, heap_resize,
                      heap_free};
  return a;
}

static void *arena_alloc(void *ctx, size_t size, size_t align) {
  if (bad_align(align)) {
    errno = EINVAL;
    return NULL;
  }
  if (align <= LM_ALIGNMENT)
    return lm_arena_alloc(ctx, size);
  return lm_arena_aligned_alloc(ctx, align, size);
}

static int arena_resize(void *ctx, void *ptr, size_t old_size,
                        size_t new_size) {
  return lm_arena_resize(ctx, ptr, old_size, new_size);
}

static void arena_free(void *ctx, void *ptr, size_t size) {
  lm_arena_free(ctx, ptr, size);
}

lm_allocator_t lm_arena_allocator(lm_arena_t *arena) {
  lm_allocator_t a = {arena, arena_alloc, arena_resize, arena_free};
  return a;
}

void *lm_allocator_realloc(lm_allocator_t a, void *ptr, size_t old_size,
                           size_t new_size, size_t align) {
  if (!ptr)
    return a.alloc(a.ctx, new_size, align);
  if (new_size == 0) {
    a.free(a.ctx, ptr, old_size);
    return NULL;
  }
  if (a.resize(a.ctx, ptr, old_size, new_size))
    return ptr;
  void *q = a.alloc(a.ctx, new_size, align);
  if (!q)
    return NULL;
  memcpy(q, ptr, old_size < new_size ? old_size : new_size);
  a.free(a.ctx, ptr, old_size);
  return q;
}

/* ---------------------------------------------------------------------
 * The testing allocator
 * ------------------------------------------------------------------- */

typedef struct header {
  struct header *prev, *next; /* live list, newest first */
  size_t size;                /* requested */
  size_t pad;                 /* from the parent's pointer to the caller's */
  size_t serial;              /* allocation number */
  uintptr_t check;            /* (uintptr_t)header ^ key [^ FREED] */
} header_t;

#define HDR                                                                    \
  ((sizeof(header_t) + LM_ALIGNMENT - 1) & ~(size_t)(LM_ALIGNMENT - 1))
#define FREED ((uintptr_t)0x66726565u) /* "free" */

static header_t *header_of(void *ptr) {
  return (header_t *)((char *)ptr - HDR);
}

/* The live header of ptr, or NULL after reporting what is wrong. */
static header_t *live_header(lm_testing_allocator_t *t, void *ptr,
                             const char *op) {
  header_t *h = header_of(ptr);
  if (((uintptr_t)ptr & (LM_ALIGNMENT - 1)) == 0 &&
      h->check == ((uintptr_t)h ^ t->key))
    return h;
  t->errors++;
  if (((uintptr_t)ptr & (LM_ALIGNMENT - 1)) == 0 &&
      h->check == ((uintptr_t)h ^ t->key ^ FREED))
    lm_report(LM_REPORT_DOUBLE_FREE, op, ptr, h->size);
  else
    lm_report(LM_REPORT_INVALID_FREE,
              "testing allocator: this pointer is "
              "not a live allocation of this allocator",
              ptr, 0);
  return NULL;
}

static int size_matches(lm_testing_allocator_t *t, header_t *h, void *ptr,
                        size_t size) {
  if (size == h->size)
    return 1;
  t->errors++;
  lm_report(LM_REPORT_INVALID_FREE,
            "testing allocator: the size given is "
            "not the allocation's size",
            ptr, h->size);
  return 0;
}

static void *testing_alloc(void *ctx, size_t size, size_t align) {
  lm_testing_allocator_t *t = ctx;
  t->serial++;
  if (bad_align(align)) {
    t->failures++;
    errno = EINVAL;
    return NULL;
  }
  if (align < LM_ALIGNMENT)
    align = LM_ALIGNMENT;
  size_t pad = (HDR + align - 1) & ~(align - 1);
  char *q = NULL;
  if ((!t->fail_at || t->serial < t->fail_at) && size <= (size_t)-1 - pad)
    q = t->parent.alloc(t->parent.ctx, size + pad, align);
  if (!q) {
    t->failures++;
    errno = ENOMEM;
    return NULL;
  }
  char *p = q + pad;
  header_t *h = header_of(p);
  h->prev = NULL;
  h->next = t->head;
  if (h->next)
    h->next->prev = h;
  t->head = h;
  h->size = size;
  h->pad = pad;
  h->serial = t->serial;
  h->check = (uintptr_t)h ^ t->key;
  t->allocations++;
  t->live++;
  t->live_bytes += size;
  if (t->live_bytes > t->peak_bytes)
    t->peak_bytes = t->live_bytes;
  return p;
}

static void unlink_header(lm_testing_allocator_t *t, header_t *h) {
  if (h->prev)
    h->prev->next = h->next;
  else
    t->head = h->next;
  if (h->next)
    h->next->prev = h->prev;
  h->check = (uintptr_t)h ^ t->key ^ FREED;
}

static void testing_free(void *ctx, void *ptr, size_t size) {
  lm_testing_allocator_t *t = ctx;
  if (!ptr)
    return;
  header_t *h = live_header(t, ptr,
                            "testing allocator: allocation freed "
                            "twice (double free)");
  if (!h)
    return;
  size_matches(t, h, ptr, size); /* reported; the pointer is still good */
  size_t requested = h->size, pad = h->pad;
  unlink_header(t, h);
  t->frees++;
  t->live--;
  t->live_bytes -= requested;
  t->parent.free(t->parent.ctx, (char *)ptr - pad, requested + pad);
}

static int testing_resize(void *ctx, void *ptr, size_t old_size,
                          size_t new_size) {
  lm_testing_allocator_t *t = ctx;
  if (!ptr)
    return 0;
  header_t *h = live_header(t, ptr,
                            "testing allocator: resize of an "
                            "allocation already freed");
  if (!h || !size_matches(t, h, ptr, old_size) ||
      new_size > (size_t)-1 - h->pad ||
      !t->parent.resize(t->parent.ctx, (char *)ptr - h->pad, h->size + h->pad,
                        new_size + h->pad))
    return 0;
  t->live_bytes = t->live_bytes - h->size + new_size;
  if (t->live_bytes > t->peak_bytes)
    t->peak_bytes = t->live_bytes;
  h->size = new_size;
  return 1;
}

void lm_testing_allocator_init(lm_testing_allocator_t *t,
                               lm_allocator_t parent) {
  memset(t, 0, sizeof *t);
  t->parent = parent;
  /* Any value works; one that differs between allocators makes another
   * testing allocator's pointer fail the check word. */
  t->key = ((uintptr_t)t * 0x9E3779B1u) ^ 0x7465737400u;
}

lm_allocator_t lm_testing_allocator(lm_testing_allocator_t *t) {
  lm_allocator_t a = {t, testing_alloc, testing_resize, testing_free};
  return a;
}

size_t lm_testing_allocator_finish(lm_testing_allocator_t *t) {
  size_t leaks = 0;
  header_t *h = t->head;
  while (h && h->next) /* oldest first */
    h = h->next;
  while (h) {
    header_t *newer = h->prev;
    char *p = (char *)h + HDR;
    size_t requested = h->size, pad = h->pad;
    leaks++;
    lm_report(LM_REPORT_LEAK,
              "testing allocator: allocation never freed "
              "(leak)",
              p, requested);
    unlink_header(t, h);
    t->live--;
    t->live_bytes -= requested;
    t->parent.free(t->parent.ctx, p - pad, requested + pad);
    h = newer;
  }
  return leaks;
}
