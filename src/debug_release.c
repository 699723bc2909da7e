/* The debug API of lmalloc_debug.h in the release library (liblmalloc.a
 * only; the debug library has src/debug.c instead), so a program that
 * calls it links with either library. Without the debug bookkeeping there
 * are no sequence numbers and no quarantine: lm_leaks lists every live
 * allocation with its usable size. */
#include "heap.h"

int lm_debug_enabled(void) { return 0; }

uint64_t lm_debug_seq(void) { return 0; }

typedef struct leak_ctx {
  lm_leak_visitor_t visitor;
  void *ctx;
  size_t count;
} leak_ctx_t;

static int leak_visit(const lm_block_info_t *b, void *arg) {
  leak_ctx_t *l = arg;
  if (!b->used || b->kind == LM_KIND_SLAB)
    return 0;
  l->count++;
  lm_leak_t leak = {b->ptr, b->usable, 0};
  return l->visitor && l->visitor(&leak, l->ctx);
}

size_t lm_leaks(lm_leak_visitor_t visitor, void *ctx) {
  leak_ctx_t l = {visitor, ctx, 0};
  lm_heap_walk(&lm_default_heap, leak_visit, &l);
  return l.count;
}

size_t lm_quarantine_limit(size_t max_bytes) {
  (void)max_bytes;
  return 0;
}

size_t lm_quarantine_flush(void) { return 0; }

void lm_quarantine_release_heap(lm_heap_t *h) { (void)h; }
