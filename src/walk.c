/* Introspection: the one heap walker, and the two queries built on it
 * that the public API offers (lm_walk's block visits and lm_stats).
 * The checker (check.c) is a third visitor of the same walker. */
#include "heap.h"
#include "slab.h"

/* A fault the walk meets: reported unless the walk is quiet; counted. */
static size_t fault(lm_off_t at, const char *what, uintptr_t base, int quiet) {
  if (!quiet)
    lm_report(LM_REPORT_CORRUPT, what, (const void *)(base + at), 0);
  return 1;
}

size_t lm_heap_walk_steps(lm_heap_t *h, lm_step_fn fn, void *ctx, int quiet) {
  uintptr_t base = heap_base(h);
  size_t faults = 0;
  unsigned index = 0;
  lm_off_t below = h->lo; /* spans are in address order */
  for (lm_off_t s = h->first_span; s; s = span_next(base, s), index++) {
    if (index >= h->spans)
      return faults +
             fault(s, "more spans are linked than the heap made", base, quiet);
    if (s < below || s >= h->hi || (s & (LM_ALIGN - 1)))
      return faults +
             fault(s, "span link points outside the heap", base, quiet);
    lm_off_t e = span_end(base, s);
    if (e > h->hi || e < s + LM_MIN_SPAN || (e & (LM_ALIGN - 1)))
      return faults + fault(s, "span end is not a valid address", base, quiet);
    below = e;
    lm_step_t step = {span_first_block(s), 0, s, e, index, 0};
    lm_off_t marker = span_marker(e);
    while (step.block < marker) {
      step.hdr = hdr_get(base, step.block);
      uint32_t size = hdr_size(step.hdr);
      if (size < LM_MIN_BLOCK || size > marker - step.block) {
        faults +=
            fault(step.block, "block size runs out of its span", base, quiet);
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
      faults += fault(marker, "span end marker is overwritten", base, quiet);
    else if (fn(h, &step, ctx))
      return faults;
  }
  if (index != h->spans)
    faults += fault(h->first_span, "fewer spans are linked than the heap made",
                    base, quiet);
  return faults;
}

/* lm_walk: hands each block (markers skipped), and each slab's objects
 * after it, to the public visitor. */
typedef struct {
  lm_visitor_t visitor;
  void *ctx;
  size_t entries;
  unsigned span;
} visit_ctx_t;

static int visit_object(lm_heap_t *h, lm_off_t obj, uint32_t size, int used,
                        void *arg) {
  visit_ctx_t *v = arg;
  lm_block_info_t info = {
      .ptr = heap_ptr(h, obj),
      .header = NULL,
      .size = size,
      .usable = size,
      .used = used,
      .kind = LM_KIND_OBJECT,
      .span = v->span,
  };
  v->entries++;
  return v->visitor(&info, v->ctx);
}

static int visit_block(lm_heap_t *h, const lm_step_t *step, void *arg) {
  visit_ctx_t *v = arg;
  if (step->marker)
    return 0;
  uint32_t size = hdr_size(step->hdr);
  int slab = (step->hdr & LM_SLAB) != 0;
  lm_block_info_t info = {
      .ptr = heap_ptr(h, block_payload(step->block)),
      .header = heap_ptr(h, step->block),
      .size = size,
      .usable = slab ? size - LM_HEADER_SIZE : block_usable(size),
      .used = !hdr_is_free(step->hdr),
      .kind = slab ? LM_KIND_SLAB : LM_KIND_BLOCK,
      .span = step->span_index,
      .top = step->block == h->top,
  };
  v->entries++;
  v->span = step->span_index;
  if (v->visitor(&info, v->ctx))
    return 1;
  return slab &&
         lm_slab_objects(h, block_payload(step->block), visit_object, v);
}

static size_t walk(lm_heap_t *h, lm_visitor_t visitor, void *ctx, int quiet) {
  visit_ctx_t v = {visitor, ctx, 0, 0};
  if (visitor)
    lm_heap_walk_steps(h, visit_block, &v, quiet);
  return v.entries;
}

size_t lm_heap_walk(lm_heap_t *h, lm_visitor_t visitor, void *ctx) {
  return walk(h, visitor, ctx, 0);
}

size_t lm_heap_walk_quiet(lm_heap_t *h, lm_visitor_t visitor, void *ctx) {
  return walk(h, visitor, ctx, 1);
}

/* lm_stats: counters kept at grow time plus one walk. */
static int count_object(lm_heap_t *h, lm_off_t obj, uint32_t size, int used,
                        void *arg) {
  lm_stats_t *s = arg;
  (void)h;
  (void)obj;
  if (used) {
    s->used_blocks++;
    s->used_bytes += size;
  } else {
    s->free_bytes += size;
  }
  return 0;
}

static int count_block(lm_heap_t *h, const lm_step_t *step, void *arg) {
  lm_stats_t *s = arg;
  if (step->marker)
    return 0;
  uint32_t size = hdr_size(step->hdr);
  if (hdr_is_free(step->hdr)) {
    s->free_blocks++;
    s->free_bytes += size;
    if (size > s->largest_free)
      s->largest_free = size;
  } else if (step->hdr & LM_SLAB) {
    s->slabs++;
    lm_slab_objects(h, block_payload(step->block), count_object, s);
  } else {
    s->used_blocks++;
    s->used_bytes += block_usable(size);
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
  lm_heap_walk_steps(h, count_block, stats, 0);
  stats->overhead_bytes =
      stats->heap_bytes - stats->used_bytes - stats->free_bytes;
  return 0;
}
