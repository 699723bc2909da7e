/* The page pool and the page owners: the process-wide state that heaps
 * other than the default one (heaps.c) and arenas (arena.c) share with the
 * default heap. None of it exists for a program that never creates a heap
 * or an arena: the default heap reaches it only through the hooks of
 * heap.h, which lm_pool_start installs.
 *
 * Runs. Memory moves between heaps and arenas in runs: [r, end) with r
 * and end A-aligned (block.h) and two header words at r,
 *
 *   +-----------+-----------+---------------- ... --------+
 *   | next run  | run end   |                              |
 *   +-----------+-----------+---------------- ... --------+
 *   r           r+4         r+8                            end
 *
 * the same two words a span (block.h) and an arena chunk (arena.c) begin
 * with. The pool is a list of released runs, in no order; a destroyed
 * arena's chunk list is spliced into it as it is (O(1)), a destroyed
 * heap's spans are pushed one by one. Adjacent runs merge when no single
 * run is large enough for a request (lm_pool_take sorts and merges then).
 * Released runs are never given back to the engine (memory.grow cannot
 * shrink memory): every heap, the default one included, and every arena
 * takes a run from the pool before it grows memory.
 *
 * Page owners. free(p) must tell a block of its own heap from another
 * heap's block (or an arena's bytes) that merely looks like one, in O(1).
 * One byte per 64 KiB page of the 4 GiB offset space (64 KiB in all) says
 * who owns the page:
 *   LM_OWNER_DEFAULT (0)    the default heap, or nobody in particular
 *                           (memory the default heap may own)
 *   1 .. LM_OWNER_MAX_ID    the created heap with that id, whole page
 *   LM_OWNER_NOBODY         a pool run or an arena chunk, whole page: no
 *                           heap's block can be there
 *   LM_OWNER_MIXED          anything else (a page shared by regions, or
 *                           a buffer heap's): lm_pool_owner looks it up
 *                           exactly in the lists of heaps, arenas and
 *                           runs, O(regions)
 * MIXED is always correct, only slower, so a page is given a single owner
 * only when one region covers all of it. Buffer heaps (never page
 * aligned, and nested in someone else's memory) always make their pages
 * MIXED, and have the id LM_OWNER_MIXED themselves, which no page carries
 * as a single owner. With wasm's memory.grow every run is whole pages, so
 * MIXED pages come only from buffer heaps; with Emscripten's sbrk (runs
 * 16-byte aligned) a run's first and last pages are often shared.
 *
 * Invariant P1: for every page, owner[page] is MIXED, or the owner every
 * address of the page has (lm_pool_owner's answer).
 */
#ifndef LM_POOL_H
#define LM_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "pages.h"

#define LM_OWNER_DEFAULT 0u
#define LM_OWNER_MAX_ID 253u
#define LM_OWNER_NOBODY 254u
#define LM_OWNER_MIXED 255u
#define LM_OWNER_PAGES (1u << (32 - LM_PAGE_SIZE_LOG2)) /* of 4 GiB */

/* The highest offset a run may end at (A-aligned, below 2^32), as for
 * spans in heap.c. */
#define LM_RUN_LIMIT 0xFFFFFFF0u

/* What a heap made by lm_heap_create has besides its lm_heap_t: stored
 * right after the struct (the default heap has none; see heap_id). */
typedef struct lm_heap_ext {
  uint32_t id;            /* its pages' mark in the owner map; MIXED: look up */
  uint32_t fixed;         /* 1: lives in a caller's buffer and never grows */
  lm_heap_t *next, *prev; /* the list of created heaps */
} lm_heap_ext_t;

static inline lm_heap_ext_t *heap_ext(const lm_heap_t *h) {
  return (lm_heap_ext_t *)(uintptr_t)(h + 1);
}
static inline uint32_t heap_id(const lm_heap_t *h) {
  return h == &lm_default_heap ? LM_OWNER_DEFAULT : heap_ext(h)->id;
}
static inline int heap_fixed(const lm_heap_t *h) {
  return h != &lm_default_heap && heap_ext(h)->fixed;
}

/* Bytes at the start of a created heap's memory that hold its struct and
 * extension; its first span starts right after them (heaps.c). */
#define LM_HEAP_SELF                                                           \
  ((((uint32_t)(sizeof(lm_heap_t) + sizeof(lm_heap_ext_t))) + LM_ALIGN - 1) &  \
   LM_SIZE_MASK)

/* An arena's entry in the pool's list of arenas (arena.c embeds one): the
 * pool reads its chunks for exact owner lookups. */
typedef struct lm_chunk_list {
  struct lm_chunk_list *next, *prev;
  lm_off_t first; /* first chunk: a run header, chunks linked through it */
} lm_chunk_list_t;

typedef struct lm_pool {
  lm_off_t runs; /* released runs, linked through their first word */
  size_t run_count;
  size_t free_bytes;  /* bytes of all released runs */
  size_t pages_grown; /* pages grown for created heaps and arenas */
  lm_heap_t *heaps;   /* created heaps, linked by lm_heap_ext_t */
  size_t heap_count;
  lm_chunk_list_t *arenas;
  size_t arena_count;
  uint32_t generation; /* salts each created heap's slab key */
  uint32_t ids[(LM_OWNER_MAX_ID + 32) / 32]; /* heap ids in use, bit per id */
  uint8_t owner[LM_OWNER_PAGES];             /* P1 */
} lm_pool_t;

extern lm_pool_t lm_pool;

/* Installs the hooks of heap.h (grow and owner), once. Cost: O(1). */
void lm_pool_start(void);

/* Run header fields. */
static inline lm_off_t run_next(uintptr_t base, lm_off_t r) {
  return word_get(base, r);
}
static inline lm_off_t run_end(uintptr_t base, lm_off_t r) {
  return word_get(base, r + 4);
}

/* A released run of at least `bytes` bytes, taken out of the pool: whole
 * 64 KiB pages' worth when the run is larger by a page or more (the rest
 * stays in the pool), else the whole run. Sets [*s, *e); returns 0 when
 * the pool has no run that large, even after merging adjacent runs. Its
 * bytes are not zero. Cost: O(runs), O(runs log runs) when it merges. */
int lm_pool_take(uint64_t bytes, lm_off_t *s, lm_off_t *e);

/* Fresh pages: lm_pages_grow of enough pages for `bytes` bytes (which
 * read as zero), counted in pages_grown. Sets [*s, *e) and returns the
 * page count, or 0 when memory cannot grow. Cost: memory.grow. */
uint32_t lm_pool_grow(uint64_t bytes, lm_off_t *s, lm_off_t *e);

/* Gives the run [s, e) to the pool and marks its pages NOBODY. */
void lm_pool_give(lm_off_t s, lm_off_t e);

/* Gives a list of runs (linked through their first words, from first to
 * last, `bytes` and `count` in all) to the pool in one step. Their pages
 * must already be marked NOBODY or MIXED (an arena's chunks are). O(1). */
void lm_pool_splice(lm_off_t first, lm_off_t last, size_t bytes, size_t count);

/* Marks the pages of [s, e) as owned by `owner` where the region covers a
 * whole page, and recomputes the pages it shares with others from the
 * lists (which must already describe the new state). owner MIXED marks
 * every page MIXED. Cost: O(pages + regions). */
void lm_pool_mark(lm_off_t s, lm_off_t e, uint32_t owner);

/* Recomputes every page of [s, e) from the lists (after a region left
 * them). Cost: O(pages * regions). */
void lm_pool_remark(lm_off_t s, lm_off_t e);

/* Who owns offset p, exactly: a created heap, &lm_default_heap, or NULL
 * (a pool run, an arena chunk, or a heap's own struct). O(regions). */
lm_heap_t *lm_pool_owner(lm_off_t p);

/* Created heaps: registration gives the heap its id (LM_OWNER_MIXED when
 * all LM_OWNER_MAX_ID ids are taken, or for a buffer heap). */
void lm_pool_add_heap(lm_heap_t *h, int fixed);
void lm_pool_remove_heap(lm_heap_t *h);
int lm_pool_has_heap(const lm_heap_t *h);

/* Arenas. */
void lm_pool_add_arena(lm_chunk_list_t *a);
void lm_pool_remove_arena(lm_chunk_list_t *a);
int lm_pool_has_arena(const lm_chunk_list_t *a);

#endif /* LM_POOL_H */
