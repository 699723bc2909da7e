/* The page pool and the page owners (pool.h): released runs, the owner
 * byte of every page, the lists of created heaps and arenas, and the two
 * hooks through which the allocation core (heap.c) reaches all of it once
 * a heap or an arena other than the default heap exists.
 *
 * The grow hook is where every heap's memory comes from then: a released
 * run first (so a destroyed heap's pages go to whoever grows next), fresh
 * pages from the page source otherwise. The owner hook answers, for a
 * pointer about to be freed, whether its page belongs to the heap freeing
 * it (pool.h, P1).
 */
#include <string.h>

#include "pool.h"

lm_pool_t lm_pool;

static int grow_hook(lm_heap_t *h, uint32_t nb);
static int owner_hook(lm_heap_t *h, lm_off_t p);

void lm_pool_start(void) {
  if (lm_grow_hook)
    return;
  lm_grow_hook = grow_hook;
  lm_owner_hook = owner_hook;
}

static inline uint64_t round_pages(uint64_t bytes) {
  return (bytes + LM_PAGE_SIZE - 1) & ~(uint64_t)(LM_PAGE_SIZE - 1);
}

/* ---------------------------------------------------------------------
 * Released runs
 * ------------------------------------------------------------------- */

/* Merges two lists of runs sorted by address. */
static lm_off_t merge_sorted(uintptr_t base, lm_off_t a, lm_off_t b) {
  lm_off_t head = 0, tail = 0;
  while (a && b) {
    lm_off_t x;
    if (a < b) {
      x = a;
      a = run_next(base, a);
    } else {
      x = b;
      b = run_next(base, b);
    }
    if (tail)
      word_set(base, tail, x);
    else
      head = x;
    tail = x;
  }
  lm_off_t rest = a ? a : b;
  if (tail)
    word_set(base, tail, rest);
  else
    head = rest;
  return head;
}

/* Sorts a list of runs by address (merge sort, recursion depth log n). */
static lm_off_t sort_runs(uintptr_t base, lm_off_t list) {
  if (!list || !run_next(base, list))
    return list;
  lm_off_t slow = list, fast = run_next(base, list);
  while (fast && run_next(base, fast)) {
    slow = run_next(base, slow);
    fast = run_next(base, run_next(base, fast));
  }
  lm_off_t second = run_next(base, slow);
  word_set(base, slow, 0);
  return merge_sorted(base, sort_runs(base, list), sort_runs(base, second));
}

/* Sorts the pool and merges runs that touch. Returns whether any did. */
static int merge_runs(uintptr_t base) {
  int merged = 0;
  lm_pool.runs = sort_runs(base, lm_pool.runs);
  for (lm_off_t r = lm_pool.runs; r;) {
    lm_off_t next = run_next(base, r);
    if (next && run_end(base, r) == next) {
      word_set(base, r + 4, run_end(base, next));
      word_set(base, r, run_next(base, next));
      lm_pool.run_count--;
      merged = 1;
    } else {
      r = next;
    }
  }
  return merged;
}

int lm_pool_take(uint64_t bytes, lm_off_t *s, lm_off_t *e) {
  uintptr_t base = lm_pages_base();
  for (int pass = 0; pass < 2 && lm_pool.runs; pass++) {
    if (pass == 1 && !merge_runs(base))
      return 0;
    lm_off_t prev = 0;
    for (lm_off_t r = lm_pool.runs; r; prev = r, r = run_next(base, r)) {
      lm_off_t end = run_end(base, r);
      if (end - r < bytes)
        continue;
      lm_off_t next = run_next(base, r), cut = end;
      uint64_t take = round_pages(bytes);
      if (end - r >= take + LM_PAGE_SIZE) { /* the rest stays a run */
        cut = r + (lm_off_t)take;
        word_set(base, cut, next);
        word_set(base, cut + 4, end);
        next = cut;
      } else {
        lm_pool.run_count--;
      }
      if (prev)
        word_set(base, prev, next);
      else
        lm_pool.runs = next;
      lm_pool.free_bytes -= cut - r;
      *s = r;
      *e = cut;
      return 1;
    }
  }
  return 0;
}

uint32_t lm_pool_grow(uint64_t bytes, lm_off_t *s, lm_off_t *e) {
  uint64_t pages = round_pages(bytes) >> LM_PAGE_SIZE_LOG2;
  if (pages == 0 || pages >= LM_OWNER_PAGES)
    return 0;
  lm_off_t start = lm_pages_grow((uint32_t)pages);
  if (!start)
    return 0;
  uint64_t end = (uint64_t)start + (pages << LM_PAGE_SIZE_LOG2);
  *s = start;
  *e = end > LM_RUN_LIMIT ? LM_RUN_LIMIT : (lm_off_t)end;
  return (uint32_t)pages;
}

void lm_pool_give(lm_off_t s, lm_off_t e) {
  if (e - s < 2 * LM_ALIGN)
    return; /* too small to hold a run header: never happens */
  uintptr_t base = lm_pages_base();
  word_set(base, s, lm_pool.runs);
  word_set(base, s + 4, e);
  lm_pool.runs = s;
  lm_pool.run_count++;
  lm_pool.free_bytes += e - s;
  lm_pool_mark(s, e, LM_OWNER_NOBODY);
}

void lm_pool_splice(lm_off_t first, lm_off_t last, size_t bytes, size_t count) {
  word_set(lm_pages_base(), last, lm_pool.runs);
  lm_pool.runs = first;
  lm_pool.run_count += count;
  lm_pool.free_bytes += bytes;
}

/* ---------------------------------------------------------------------
 * Regions: every place that is not the default heap's
 * ------------------------------------------------------------------- */

/* Where region [s, e) of heap h really starts: the span a created heap
 * made first begins right after the heap's struct, which is h's too. */
static lm_off_t region_start(const lm_heap_t *h, lm_off_t s) {
  lm_off_t self = heap_off(h, h);
  return s == self + LM_HEAP_SELF ? self : s;
}

/* Calls fn for every region: each created heap's spans (struct included;
 * a buffer heap's with owner MIXED), each arena chunk and each released
 * run (owner NOBODY). fn returns non-zero to stop; so does this. */
typedef int (*region_fn)(lm_off_t s, lm_off_t e, uint32_t owner,
                         const lm_heap_t *h, void *ctx);

static int for_each_region(region_fn fn, void *ctx) {
  uintptr_t base = lm_pages_base();
  for (lm_heap_t *h = lm_pool.heaps; h; h = heap_ext(h)->next)
    for (lm_off_t s = h->first_span; s; s = span_next(base, s))
      if (fn(region_start(h, s), span_end(base, s),
             heap_fixed(h) ? LM_OWNER_MIXED : heap_id(h), h, ctx))
        return 1;
  for (lm_chunk_list_t *a = lm_pool.arenas; a; a = a->next)
    for (lm_off_t c = a->first; c; c = run_next(base, c))
      if (fn(c, run_end(base, c), LM_OWNER_NOBODY, NULL, ctx))
        return 1;
  for (lm_off_t r = lm_pool.runs; r; r = run_next(base, r))
    if (fn(r, run_end(base, r), LM_OWNER_NOBODY, NULL, ctx))
      return 1;
  return 0;
}

/* The owner of one page, from the regions touching it. */
typedef struct {
  uint64_t start, end; /* the page */
  uint64_t covered;    /* bytes of it inside regions */
  uint32_t owner; /* of the first region seen; LM_OWNER_MIXED once two differ */
  int seen;
} page_ctx_t;

static int page_visit(lm_off_t s, lm_off_t e, uint32_t owner,
                      const lm_heap_t *h, void *arg) {
  page_ctx_t *c = arg;
  (void)h;
  uint64_t lo = s > c->start ? s : c->start, hi = e < c->end ? e : c->end;
  if (lo >= hi)
    return 0;
  c->covered += hi - lo;
  if (c->seen && c->owner != owner)
    owner = LM_OWNER_MIXED;
  c->owner = owner;
  c->seen = 1;
  return 0;
}

static uint8_t page_owner(uint32_t page) {
  page_ctx_t c = {0};
  c.start = (uint64_t)page << LM_PAGE_SIZE_LOG2;
  c.end = c.start + LM_PAGE_SIZE;
  for_each_region(page_visit, &c);
  if (!c.seen)
    return LM_OWNER_DEFAULT;
  return c.covered == LM_PAGE_SIZE ? (uint8_t)c.owner : LM_OWNER_MIXED;
}

void lm_pool_mark(lm_off_t s, lm_off_t e, uint32_t owner) {
  if (e <= s)
    return;
  uint32_t first = s >> LM_PAGE_SIZE_LOG2, last = (e - 1) >> LM_PAGE_SIZE_LOG2;
  for (uint32_t page = first; page <= last; page++) {
    uint64_t ps = (uint64_t)page << LM_PAGE_SIZE_LOG2;
    if (owner == LM_OWNER_MIXED)
      lm_pool.owner[page] = LM_OWNER_MIXED;
    else if (ps >= s && ps + LM_PAGE_SIZE <= e)
      lm_pool.owner[page] = (uint8_t)owner;
    else
      lm_pool.owner[page] = page_owner(page);
  }
}

void lm_pool_remark(lm_off_t s, lm_off_t e) {
  if (e <= s)
    return;
  uint32_t first = s >> LM_PAGE_SIZE_LOG2, last = (e - 1) >> LM_PAGE_SIZE_LOG2;
  for (uint32_t page = first; page <= last; page++)
    lm_pool.owner[page] = page_owner(page);
}

/* The owner of one address: the smallest buffer heap holding it, else
 * the region holding it, else the default heap. */
typedef struct {
  lm_off_t p;
  int found;
  const lm_heap_t *heap; /* the owner found (NULL: nobody) */
  uint64_t size;         /* of the buffer heap found */
  int buffers;           /* pass: 1 = buffer heaps only, 0 = the rest */
} owner_ctx_t;

static int owner_visit(lm_off_t s, lm_off_t e, uint32_t owner,
                       const lm_heap_t *h, void *arg) {
  owner_ctx_t *c = arg;
  (void)owner;
  if (c->p < s || c->p >= e || (h && heap_fixed(h)) != c->buffers)
    return 0;
  if (c->buffers) { /* nested buffers: the innermost (smallest) wins */
    if (!c->found || e - s < c->size) {
      c->found = 1;
      c->heap = h;
      c->size = e - s;
    }
    return 0;
  }
  c->found = 1;
  c->heap = h;
  return 1;
}

lm_heap_t *lm_pool_owner(lm_off_t p) {
  owner_ctx_t c = {p, 0, NULL, 0, 1};
  for_each_region(owner_visit, &c);
  if (!c.found) {
    c.buffers = 0;
    for_each_region(owner_visit, &c);
  }
  return c.found ? (lm_heap_t *)c.heap : &lm_default_heap;
}

/* ---------------------------------------------------------------------
 * The hooks
 * ------------------------------------------------------------------- */

static int owner_hook(lm_heap_t *h, lm_off_t p) {
  uint32_t owner = lm_pool.owner[p >> LM_PAGE_SIZE_LOG2];
  if (owner != LM_OWNER_MIXED)
    return owner == heap_id(h);
  return lm_pool_owner(p) == h;
}

static int within_limit(const lm_heap_t *h, uint64_t bytes) {
  return !h->limit || (uint64_t)h->heap_bytes + bytes <= h->limit;
}

/* Adds [s, e) to h and marks its pages h's. */
static void adopt(lm_heap_t *h, lm_off_t s, lm_off_t e, int dirty) {
  if (lm_heap_add_run(h, s, e, dirty))
    lm_pool_mark(s, e, heap_id(h));
  else if (dirty)
    lm_pool_give(s, e);
}

/* The grow of every heap once hooks exist (lm_grow_hook in heap.h): a
 * released run big enough for a span holding nb bytes, else fresh pages,
 * as heap.c's own grow asks for them. */
static int grow_hook(lm_heap_t *h, uint32_t nb) {
  if (heap_fixed(h))
    return 0;
  if (!h->initialized)
    lm_heap_claim_initial(h); /* the default heap, on first use */
  uint64_t span = (uint64_t)nb + LM_SPAN_OVERHEAD;
  lm_off_t s, e;
  if (lm_heap_top_size(h) < nb && within_limit(h, span) &&
      lm_pool_take(span, &s, &e)) {
    if (within_limit(h, e - s)) {
      adopt(h, s, e, 1);
      return 1;
    }
    lm_pool_give(s, e);
  }
  /* First what is missing, expecting the pages to follow the newest span;
   * if other code grew memory in between, a whole span's worth. */
  for (int attempt = 0;; attempt++) {
    uint32_t top = lm_heap_top_size(h);
    if (top >= nb)
      return 1;
    if (attempt == 2)
      return 0;
    uint64_t need = attempt == 0 && h->last_span ? nb - top : span;
    if (!within_limit(h, round_pages(need)))
      return 0;
    uint32_t pages = lm_pool_grow(need, &s, &e);
    if (!pages)
      return 0;
    h->pages_grown += pages;
    h->grow_count++;
    if (h != &lm_default_heap)
      lm_pool.pages_grown += pages;
    adopt(h, s, e, 0);
  }
}

/* ---------------------------------------------------------------------
 * Lists of created heaps and arenas
 * ------------------------------------------------------------------- */

void lm_pool_add_heap(lm_heap_t *h, int fixed) {
  lm_heap_ext_t *x = heap_ext(h);
  x->fixed = (uint32_t)fixed;
  x->id = LM_OWNER_MIXED;
  for (uint32_t id = 1; !fixed && id <= LM_OWNER_MAX_ID; id++) {
    uint32_t *word = &lm_pool.ids[id >> 5], bit = 1u << (id & 31);
    if (!(*word & bit)) {
      *word |= bit;
      x->id = id;
      break;
    }
  }
  x->prev = NULL;
  x->next = lm_pool.heaps;
  if (lm_pool.heaps)
    heap_ext(lm_pool.heaps)->prev = h;
  lm_pool.heaps = h;
  lm_pool.heap_count++;
}

void lm_pool_remove_heap(lm_heap_t *h) {
  lm_heap_ext_t *x = heap_ext(h);
  if (x->id != LM_OWNER_DEFAULT && x->id <= LM_OWNER_MAX_ID)
    lm_pool.ids[x->id >> 5] &= ~(1u << (x->id & 31));
  if (x->prev)
    heap_ext(x->prev)->next = x->next;
  else
    lm_pool.heaps = x->next;
  if (x->next)
    heap_ext(x->next)->prev = x->prev;
  x->next = x->prev = NULL;
  lm_pool.heap_count--;
}

int lm_pool_has_heap(const lm_heap_t *h) {
  for (const lm_heap_t *x = lm_pool.heaps; x; x = heap_ext(x)->next)
    if (x == h)
      return 1;
  return 0;
}

void lm_pool_add_arena(lm_chunk_list_t *a) {
  a->prev = NULL;
  a->next = lm_pool.arenas;
  if (lm_pool.arenas)
    lm_pool.arenas->prev = a;
  lm_pool.arenas = a;
  lm_pool.arena_count++;
}

void lm_pool_remove_arena(lm_chunk_list_t *a) {
  if (a->prev)
    a->prev->next = a->next;
  else
    lm_pool.arenas = a->next;
  if (a->next)
    a->next->prev = a->prev;
  a->next = a->prev = NULL;
  lm_pool.arena_count--;
}

int lm_pool_has_arena(const lm_chunk_list_t *a) {
  for (const lm_chunk_list_t *x = lm_pool.arenas; x; x = x->next)
    if (x == a)
      return 1;
  return 0;
}

int lm_pool_info(lm_pool_info_t *info) {
  if (!info)
    return -1;
  info->free_bytes = lm_pool.free_bytes;
  info->runs = lm_pool.run_count;
  info->heaps = lm_pool.heap_count;
  info->arenas = lm_pool.arena_count;
  info->pages_grown = lm_pool.pages_grown + lm_default_heap.pages_grown;
  return 0;
}
