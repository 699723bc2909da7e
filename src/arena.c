/* Arenas (lmalloc_heaps.h): bump allocation in a list of chunks, freed all
 * at once.
 *
 * Chunks are runs (pool.h) taken from the page pool, else fresh pages,
 * linked through their first word in the order they were made. The arena
 * struct lives in the first chunk, after the run header:
 *
 *   first chunk                                  later chunks
 *   +--------+------------+--------- ... --+      +--------+--------- ... --+
 *   | chunk  | lm_arena_t | allocations    |      | chunk  | allocations    |
 *   | header |            | bump -->       |      | header | bump -->       |
 *   +--------+------------+--------- ... --+      +--------+--------- ... --+
 *   c        c+H          data(c)          end    c        c+H             end
 *
 * The chunk header (H = CHUNK_HEADER, three 32-bit words rounded up to A:
 * 16 bytes whether A is 8 or 16):
 *
 *   c+0 next chunk   c+4 chunk end   (the run header of pool.h)
 *   c+8 stop: where the bump was when the arena left this chunk (A4)
 *
 * Invariants:
 *   A1 chunk is one of the arena's chunks, and data(chunk) <= bump <= end
 *      = the chunk's end; chunks after it hold nothing (since the last
 *      reset), chunks before it hold allocations (or were skipped);
 *   A2 used_before = bytes consumed in the chunks before chunk;
 *   A3 last is the most recent allocation when it lies in chunk and nothing
 *      after it was allocated, else 0 (only it can be resized or freed);
 *   A4 every chunk before chunk holds its stop word (written as the arena
 *      moves on), data(c) <= stop <= end, and the stops' consumption plus
 *      the current chunk's adds up to used_before + bump - data(chunk).
 * lm_arena_walk reads A1 and A4: each chunk's bump is its stop, the
 * current chunk's is bump, later chunks' is their data start.
 * Reset keeps every chunk and moves the bump back to the first one: O(1).
 * Destroy splices the whole chunk list into the pool: O(1). A chunk's
 * pages are marked NOBODY in the page owner map (pool.h), so no heap ever
 * takes an arena pointer for one of its blocks.
 */
#include <errno.h>
#include <string.h>

#include "pool.h"

/* The chunk header: the run header's two words and the stop word (A4),
 * padded to LM_ALIGN. */
#define CHUNK_STOP 8u
#define CHUNK_HEADER ((CHUNK_STOP + 4u + LM_ALIGN - 1) & LM_SIZE_MASK)
_Static_assert(CHUNK_HEADER == 16, "16 bytes for A = 8 and A = 16");
#define GROWTH_CAP ((size_t)8 << 20) /* new chunks: at most 8 MiB ... */
#define ARENA_MAGIC 0x61726E61u      /* "arna" */

struct lm_arena {
  lm_chunk_list_t list; /* in the pool's list of arenas; list.first: chunk 0 */
  uintptr_t check;      /* (uintptr_t)arena ^ ARENA_MAGIC while alive */
  lm_off_t last_chunk;  /* the newest chunk (the list's end) */
  lm_off_t chunk;       /* A1 */
  uintptr_t bump, end;  /* A1: absolute addresses in chunk */
  uintptr_t last;       /* A3 */
  size_t used_before;   /* A2 */
  size_t allocations;   /* since the last reset */
  size_t peak;          /* the most bytes used ever */
  size_t held;          /* bytes of all chunks */
  size_t chunks;
  size_t chunk_min; /* the first chunk's size: no chunk is smaller */
};

#define ARENA_SELF                                                             \
  (((uint32_t)sizeof(struct lm_arena) + LM_ALIGN - 1) & LM_SIZE_MASK)

static inline uintptr_t data_of(const lm_arena_t *a, lm_off_t c) {
  return lm_pages_base() + c + CHUNK_HEADER +
         (c == a->list.first ? ARENA_SELF : 0);
}

static inline size_t used_bytes(const lm_arena_t *a) {
  return a->used_before + (a->bump - data_of(a, a->chunk));
}

/* Leaves the current chunk: records its stop (A4) and counts what it
 * consumed (A2). */
static void leave(lm_arena_t *a) {
  word_set(lm_pages_base(), a->chunk + CHUNK_STOP,
           (lm_off_t)(a->bump - lm_pages_base()));
  a->used_before += a->bump - data_of(a, a->chunk);
}

/* A run of at least `bytes` bytes for a chunk: a released one, else fresh
 * pages (counted). 0 when there is none. */
static int get_run(uint64_t bytes, lm_off_t *s, lm_off_t *e) {
  if (lm_pool_take(bytes, s, e))
    return 1;
  uint32_t pages = lm_pool_grow(bytes, s, e);
  lm_pool.pages_grown += pages;
  return pages != 0;
}

/* Makes chunk c (one of the arena's) the one to fill, from its start. */
static void enter(lm_arena_t *a, lm_off_t c) {
  a->chunk = c;
  a->bump = data_of(a, c);
  a->end = lm_pages_base() + run_end(lm_pages_base(), c);
  a->last = 0;
}

/* Tries to carve n bytes aligned to `align` from the current chunk. */
static inline void *carve(lm_arena_t *a, size_t n, size_t align) {
  uintptr_t p = (a->bump + align - 1) & ~(uintptr_t)(align - 1);
  if (p < a->bump || p > a->end || n > a->end - p)
    return NULL;
  a->bump = p + n;
  a->last = p;
  a->allocations++;
  size_t used = used_bytes(a);
  if (used > a->peak)
    a->peak = used;
  return (void *)p;
}

/* The slow path: the next chunks that fit, else a new chunk at the end. */
static void *alloc_slow(lm_arena_t *a, size_t n, size_t align) {
  uintptr_t base = lm_pages_base();
  for (lm_off_t c = run_next(base, a->chunk); c; c = run_next(base, c)) {
    leave(a);
    enter(a, c);
    void *p = carve(a, n, align);
    if (p)
      return p;
  }
  uint64_t need = (uint64_t)n + align + CHUNK_HEADER;
  uint64_t want = a->held < GROWTH_CAP ? a->held : GROWTH_CAP;
  if (want < a->chunk_min)
    want = a->chunk_min;
  if (want < need)
    want = need;
  lm_off_t s, e;
  if (!get_run(want, &s, &e)) {
    errno = ENOMEM;
    return NULL;
  }
  word_set(base, s, 0);
  word_set(base, s + 4, e);
  word_set(base, a->last_chunk, s);
  a->last_chunk = s;
  a->held += e - s;
  a->chunks++;
  lm_pool_mark(s, e, LM_OWNER_NOBODY); /* after linking: the pool sees it */
  leave(a);
  enter(a, s);
  return carve(a, n, align);
}

static void *arena_alloc(lm_arena_t *a, size_t size, size_t align) {
  if (size > LM_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  size_t n = size ? (size + LM_ALIGN - 1) & ~(size_t)(LM_ALIGN - 1) : LM_ALIGN;
  void *p = carve(a, n, align);
  return p ? p : alloc_slow(a, n, align);
}

lm_arena_t *lm_arena_create(size_t chunk_bytes) {
  lm_pool_start();
  if (chunk_bytes > LM_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  uint64_t bytes = (uint64_t)CHUNK_HEADER + ARENA_SELF + chunk_bytes;
  lm_off_t s, e;
  if (!get_run(bytes, &s, &e)) {
    errno = ENOMEM;
    return NULL;
  }
  uintptr_t base = lm_pages_base();
  word_set(base, s, 0);
  word_set(base, s + 4, e);
  lm_arena_t *a = (lm_arena_t *)(base + s + CHUNK_HEADER);
  memset(a, 0, sizeof *a);
  a->list.first = s;
  a->check = (uintptr_t)a ^ ARENA_MAGIC;
  a->last_chunk = s;
  a->held = e - s;
  a->chunks = 1;
  a->chunk_min = e - s;
  enter(a, s);
  lm_pool_add_arena(&a->list);
  lm_pool_mark(s, e, LM_OWNER_NOBODY);
  return a;
}

void *lm_arena_alloc(lm_arena_t *a, size_t size) {
  return arena_alloc(a, size, LM_ALIGN);
}

void *lm_arena_aligned_alloc(lm_arena_t *a, size_t alignment, size_t size) {
  if (alignment == 0 || (alignment & (alignment - 1)) ||
      alignment > LM_MAX_ALIGNMENT) {
    errno = EINVAL;
    return NULL;
  }
  return arena_alloc(a, size, alignment < LM_ALIGN ? LM_ALIGN : alignment);
}

void *lm_arena_calloc(lm_arena_t *a, size_t count, size_t size) {
  if (size && count > LM_MAX_REQUEST / size) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = arena_alloc(a, count * size, LM_ALIGN);
  if (p)
    memset(p, 0, count * size);
  return p;
}

int lm_arena_resize(lm_arena_t *a, void *ptr, size_t old_size,
                    size_t new_size) {
  if (!ptr || new_size > LM_MAX_REQUEST)
    return 0;
  uintptr_t p = (uintptr_t)ptr;
  if (p != a->last)
    return new_size <= old_size; /* a shrink needs nothing done */
  size_t n =
      new_size ? (new_size + LM_ALIGN - 1) & ~(size_t)(LM_ALIGN - 1) : LM_ALIGN;
  if (n > a->end - p)
    return 0;
  a->bump = p + n;
  size_t used = used_bytes(a);
  if (used > a->peak)
    a->peak = used;
  return 1;
}

void lm_arena_free(lm_arena_t *a, void *ptr, size_t size) {
  (void)size;
  if (ptr && (uintptr_t)ptr == a->last) {
    a->bump = a->last;
    a->last = 0;
  }
}

void lm_arena_reset(lm_arena_t *a) {
  a->used_before = 0;
  a->allocations = 0;
  enter(a, a->list.first);
}

void lm_arena_destroy(lm_arena_t *a) {
  if (!a)
    return;
  if (a->check != ((uintptr_t)a ^ ARENA_MAGIC)) {
    lm_report(LM_REPORT_INVALID_FREE,
              "not a live arena from lm_arena_create (destroyed twice?)", a, 0);
    return;
  }
  a->check = 0;
  lm_pool_remove_arena(&a->list);
  lm_pool_splice(a->list.first, a->last_chunk, a->held, a->chunks);
}

int lm_arena_info(const lm_arena_t *a, lm_arena_info_t *info) {
  if (!a || !info)
    return -1;
  info->used_bytes = used_bytes(a);
  info->allocations = a->allocations;
  info->held_bytes = a->held;
  info->pages = (a->held + LM_PAGE_SIZE - 1) >> LM_PAGE_SIZE_LOG2;
  info->chunks = a->chunks;
  info->peak_bytes = a->peak;
  return 0;
}

size_t lm_arena_walk(const lm_arena_t *a, lm_arena_visitor_t visitor,
                     void *ctx) {
  if (!a || !visitor)
    return 0;
  uintptr_t base = lm_pages_base();
  size_t n = 0;
  int before = 1; /* still before the current chunk (A4) */
  for (lm_off_t c = a->list.first; c; c = run_next(base, c)) {
    lm_arena_chunk_t info;
    info.start = (void *)(base + c);
    info.data = (void *)data_of(a, c);
    info.end = (void *)(base + run_end(base, c));
    uintptr_t bump = (uintptr_t)info.data;
    if (c == a->chunk) {
      bump = a->bump;
      before = 0;
    } else if (before) {
      bump = base + word_get(base, c + CHUNK_STOP);
    }
    info.used = bump - (uintptr_t)info.data;
    info.current = c == a->chunk;
    n++;
    if (visitor(&info, ctx))
      break;
  }
  return n;
}
