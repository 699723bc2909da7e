/* Introspection: the one heap walker, and the two queries built on it
 * that the public API offers (lm_walk's block visits and lm_stats).
 * The checker (check.c) is a third visitor of the same walker. */
#include "heap.h"

static size_t fault(lm_off_t at, const char *what, uintptr_t base) {
  lm_report(LM_REPORT_CORRUPT, what, (const void *)(base + at), 0);
  return 1;
}

size_t lm_heap_walk_steps(lm_heap_t *h, lm_step_fn fn, void *ctx) {
  uintptr_t base = h->base;
  size_t faults = 0;
  unsigned index = 0;
  lm_off_t below = h->lo; /* spans are in address order */
  for (lm_off_t s = h->first_span; s; s = span_next(base, s), index++) {
    if (index >= h->spans)
      return faults + fault(s, "more spans are linked than the heap made", base);
    if (s < below || s >= h->hi || (s & (LM_ALIGN - 1)))
      return faults + fault(s, "span link points outside the heap", base);
    lm_off_t e = span_end(base, s);
    if (e > h->hi || e < s + LM_MIN_SPAN || (e & (LM_ALIGN - 1)))
      return faults + fault(s, "span end is not a valid address", base);
    below = e;
    lm_step_t step = {span_first_block(s), 0, s, e, index, 0};
    lm_off_t marker = span_marker(e);
    while (step.block < marker) {
      step.hdr = hdr_get(base, step.block);
      uint32_t size = hdr_size(step.hdr);
      if (size < LM_MIN_BLOCK || size > marker - step.block) {
        faults += fault(step.block, "block size runs out of its span", base);
        break;
      }
      if (fn(h, &step, ctx))
        return faults;
      step.block += size;
    }
    if (step.block != marker)
      continue;
    step.hdr = hdr_get(base, marker);
    step.marker = 1;
    if (hdr_size(step.hdr) != 0)
      faults += fault(marker, "span end marker is overwritten", base);
    else if (fn(h, &step, ctx))
      return faults;
  }
  if (index != h->spans)
    faults += fault(h->first_span, "fewer spans are linked than the heap made",
                    base);
  return faults;
}

/* lm_walk: hands each block (markers skipped) to the public visitor. */
typedef struct {
  lm_visitor_t visitor;
  void *ctx;
  size_t blocks;
} visit_ctx_t;

static int visit_block(lm_heap_t *h, const lm_step_t *step, void *arg) {
  visit_ctx_t *v = arg;
  if (step->marker)
    return 0;
  uint32_t size = hdr_size(step->hdr);
  lm_block_info_t info = {
      .ptr = heap_ptr(h, block_payload(step->block)),
      .header = heap_ptr(h, step->block),
      .size = size,
      .usable = size - LM_HEADER_SIZE,
      .used = !hdr_is_free(step->hdr),
      .span = step->span_index,
  };
  v->blocks++;
  return v->visitor(&info, v->ctx);
}

size_t lm_heap_walk(lm_heap_t *h, lm_visitor_t visitor, void *ctx) {
  visit_ctx_t v = {visitor, ctx, 0};
  if (visitor)
    lm_heap_walk_steps(h, visit_block, &v);
  return v.blocks;
}

/* lm_stats: counters kept at grow time plus one walk. */
static int count_block(lm_heap_t *h, const lm_step_t *step, void *arg) {
  lm_stats_t *s = arg;
  (void)h;
  if (step->marker)
    return 0;
  uint32_t size = hdr_size(step->hdr);
  if (hdr_is_free(step->hdr)) {
    s->free_blocks++;
    s->free_bytes += size;
    if (size > s->largest_free)
      s->largest_free = size;
  } else {
    s->used_blocks++;
    s->used_bytes += size - LM_HEADER_SIZE;
  }
  return 0;
}

int lm_heap_stats(lm_heap_t *h, lm_stats_t *stats) {
  if (!stats || stats->version != LM_STATS_VERSION ||
      stats->size != sizeof(lm_stats_t))
    return -1;
  *stats = (lm_stats_t){
      .version = LM_STATS_VERSION,
      .size = sizeof(lm_stats_t),
      .heap_bytes = h->heap_bytes,
      .pages_grown = h->pages_grown,
      .grow_count = h->grow_count,
      .spans = h->spans,
  };
  lm_heap_walk_steps(h, count_block, stats);
  stats->overhead_bytes =
      stats->heap_bytes - stats->used_bytes - stats->free_bytes;
  return 0;
}
