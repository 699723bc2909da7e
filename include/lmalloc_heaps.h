/* lmalloc heaps, arenas and allocators: memory for code that takes an
 * allocator instead of calling malloc.
 *
 * This header is the specification of that part of the API; lmalloc.h
 * includes it, so including lmalloc.h is enough. Conventions are those of
 * lmalloc.h: each function says what it returns, what NULL or 0 means and
 * what it costs; "O(1)" does not count memory.grow, nor copying or zeroing
 * the caller's own bytes.
 *
 * Four kinds of memory, one interface:
 *   - heaps (lm_heap_t): independent general-purpose heaps with the whole
 *     malloc family. The default heap (lm_heap_default) is the one malloc
 *     uses. A created heap grows from the shared page source like the
 *     default heap, or lives in a caller's fixed buffer and never grows.
 *   - arenas (lm_arena_t): bump allocation, all freed at once in O(1) by
 *     lm_arena_reset or lm_arena_destroy.
 *   - the allocator interface (lm_allocator_t): a context and three
 *     functions (alloc, resize in place, free), with ready instances for
 *     any heap and any arena, and a testing allocator that wraps another,
 *     counts allocations and reports every leak.
 *   - the page pool: memory.grow cannot give pages back to the engine, so
 *     a destroyed heap or arena gives its pages to a process-wide pool of
 *     released runs, and every heap (the default one included) and arena
 *     takes pages from there before it grows memory.
 *
 * Ownership: a pointer passed to a heap's free, realloc, resize or
 * usable_size that belongs to another heap or to an arena is reported as
 * LM_REPORT_INVALID_FREE (as a pointer where no block of this heap
 * starts) and changes nothing, like any foreign pointer (lmalloc.h,
 * lm_set_report_handler). Each 64 KiB page's owner is recorded, so the
 * check costs O(1), or a search of the heaps', arenas' and pool's lists
 * on a page two of them share.
 *
 * Cost when unused: a program that never creates a heap or an arena links
 * none of this code; the default heap consults two hook pointers that stay
 * NULL (src/heap.h).
 */
#ifndef LMALLOC_HEAPS_H
#define LMALLOC_HEAPS_H

#include <stddef.h>

#include "lmalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------
 * Heaps
 * ------------------------------------------------------------------- */

typedef struct lm_heap lm_heap_t;

/* The heap malloc and the lm_* functions of lmalloc.h use. Never NULL.
 * It cannot be destroyed. Cost: O(1). */
lm_heap_t *lm_heap_default(void);

/* Bytes a fixed buffer gives up to the heap's own bookkeeping (the heap
 * struct, alignment and the span's header and end marker): a buffer must
 * be larger than this. Checked against the real struct at build time.
 * With the 8-byte granule (LM_ALIGNMENT 8, Emscripten) the free-list index
 * has one exact class per 8 bytes below 1 KiB, so the struct is larger. */
#if LM_ALIGNMENT == 8
#define LM_HEAP_BUFFER_OVERHEAD 2560
#else
#define LM_HEAP_BUFFER_OVERHEAD 2048
#endif

/* Creates an independent heap.
 * - buffer == NULL: the heap grows from the shared page source (the page
 *   pool first, then memory.grow) like the default heap; `size` is how
 *   many bytes to reserve at once (0: one 64 KiB page). The heap struct
 *   lives at the start of its first span's pages. NULL with errno = ENOMEM
 *   when memory cannot grow.
 * - buffer != NULL: the heap lives in [buffer, buffer + size) and never
 *   grows: when it is full, its allocations return NULL with errno =
 *   ENOMEM and it stays usable. The buffer need not be aligned nor zero.
 *   The heap struct lives at its start, so it holds size minus at most
 *   LM_HEAP_BUFFER_OVERHEAD bytes of blocks. Small requests are served
 *   from 4 KiB slabs when the buffer has room for one, otherwise from
 *   blocks. NULL with errno = EINVAL when size <= LM_HEAP_BUFFER_OVERHEAD,
 *   or, in native builds (host page source), when the buffer is not
 *   inside lmalloc's reserved address range (take it from lm_malloc, a
 *   heap or an arena there; on wasm any memory works).
 * Cost: O(1) plus memory.grow (page source), O(1) (buffer). */
lm_heap_t *lm_heap_create(void *buffer, size_t size);

/* Destroys a heap made by lm_heap_create and every block in it at once.
 * A page-source heap gives all its pages (struct included) to the page
 * pool, where the default heap and other heaps and arenas reuse them. A
 * buffer heap gives the buffer back to its owner (the caller). NULL does
 * nothing; the default heap, or a pointer that is not a live heap, is
 * reported (LM_REPORT_INVALID_FREE) and nothing happens.
 * Cost: O(spans of the heap + live heaps and arenas). */
void lm_heap_destroy(lm_heap_t *heap);

/* The malloc family on one heap: each has the contract and cost of its
 * lmalloc.h counterpart (lm_malloc, lm_free, lm_calloc, lm_realloc,
 * lm_aligned_alloc, lm_usable_size), on `heap`, which must be
 * lm_heap_default() or a live heap from lm_heap_create. */
void *lm_heap_malloc(lm_heap_t *heap, size_t size);
void lm_heap_free(lm_heap_t *heap, void *ptr);
void *lm_heap_calloc(lm_heap_t *heap, size_t count, size_t size);
void *lm_heap_realloc(lm_heap_t *heap, void *ptr, size_t size);
void *lm_heap_aligned_alloc(lm_heap_t *heap, size_t alignment, size_t size);
size_t lm_heap_usable_size(lm_heap_t *heap, const void *ptr);

/* Resizes the allocation at ptr to `size` bytes without moving it: 1 on
 * success, 0 when it would have to move (then nothing changed). A block
 * shrinks, or grows into a free neighbour or the end of the heap; a small
 * object (<= 256 bytes) can grow up to its size class. A bad pointer is
 * reported and gives 0. Cost: O(1), plus memory.grow. */
int lm_heap_resize(lm_heap_t *heap, void *ptr, size_t size);

/* lm_set_heap_limit for one heap: caps the bytes of its spans (0: no
 * cap). A buffer heap never grows anyway. Cost: O(1). */
void lm_heap_set_limit(lm_heap_t *heap, size_t max_bytes);

/* lm_walk, lm_stats and lm_check for one heap; same contracts and costs.
 * pages_grown and grow_count count only what this heap took through
 * memory.grow, not pages it reused from the pool. */
size_t lm_heap_walk(lm_heap_t *heap, lm_visitor_t visitor, void *ctx);
int lm_heap_stats(lm_heap_t *heap, lm_stats_t *stats);
size_t lm_heap_check(lm_heap_t *heap);

/* ---------------------------------------------------------------------
 * Arenas: bump allocation, freed all at once
 * ------------------------------------------------------------------- */

typedef struct lm_arena lm_arena_t;

/* Creates an arena. It holds a list of chunks (whole pages from the page
 * pool, else memory.grow); the first holds at least `chunk_bytes` (0: one
 * 64 KiB page), and each new chunk is as large as all earlier ones
 * together (at most 8 MiB unless one allocation needs more), so an arena
 * of n bytes holds O(log n) chunks. The arena struct lives at the start of
 * its first chunk. NULL with errno = ENOMEM when memory cannot grow.
 * Cost: O(1) plus memory.grow. */
lm_arena_t *lm_arena_create(size_t chunk_bytes);

/* `size` bytes aligned to LM_ALIGNMENT (size 0 takes LM_ALIGNMENT bytes,
 * so every pointer is unique). NULL with errno = ENOMEM when memory cannot grow.
 * Cost: O(1): a bump, or moving to the next chunk (reused after a reset,
 * else new). */
void *lm_arena_alloc(lm_arena_t *arena, size_t size);

/* As lm_arena_alloc, aligned to `alignment` (a power of two up to
 * LM_MAX_ALIGNMENT; NULL with errno = EINVAL otherwise). The padding is
 * lost until the next reset. Cost: O(1). */
void *lm_arena_aligned_alloc(lm_arena_t *arena, size_t alignment, size_t size);

/* `count * size` zeroed bytes (arena memory is reused after a reset, so it
 * is cleared). NULL with errno = ENOMEM on overflow or when out of memory.
 * Cost: O(1) plus zeroing. */
void *lm_arena_calloc(lm_arena_t *arena, size_t count, size_t size);

/* Resizes the allocation at ptr (of old_size bytes) to new_size in place:
 * 1 when done (always for a shrink; for growth only when ptr is the
 * arena's last allocation and its chunk has room), 0 otherwise (nothing
 * changed). Cost: O(1). */
int lm_arena_resize(lm_arena_t *arena, void *ptr, size_t old_size,
                    size_t new_size);

/* Gives back the bytes of ptr when it is the arena's last allocation (the
 * next allocation reuses them); otherwise does nothing: arena memory comes
 * back at reset. NULL does nothing. Cost: O(1). */
void lm_arena_free(lm_arena_t *arena, void *ptr, size_t size);

/* Frees every allocation at once and keeps all chunks for reuse (the
 * next allocations fill them again in order, so an arena reset between
 * rounds of similar work never touches the page source again). Pointers
 * into the arena are dangling afterwards. Cost: O(1), whatever was
 * allocated. */
void lm_arena_reset(lm_arena_t *arena);

/* Destroys the arena: all its chunks (its struct included) go to the page
 * pool in one step. NULL does nothing. Cost: O(1) (the chunk list is
 * spliced into the pool as it is). */
void lm_arena_destroy(lm_arena_t *arena);

/* What an arena holds, for introspection (the playground). */
typedef struct lm_arena_info {
  size_t used_bytes;  /* handed out since the last reset, padding included */
  size_t allocations; /* allocations since the last reset */
  size_t held_bytes; /* bytes of all its chunks (struct and headers included) */
  size_t pages;      /* held_bytes in 64 KiB pages (rounded up) */
  size_t chunks;     /* chunks held */
  size_t peak_bytes; /* the most used_bytes ever was */
} lm_arena_info_t;

/* Fills *info. Returns 0, or -1 when arena or info is NULL. Cost: O(1). */
int lm_arena_info(const lm_arena_t *arena, lm_arena_info_t *info);

/* One chunk of an arena, as lm_arena_walk visits it. Its allocations
 * since the last reset are [data, data + used); a chunk before the
 * current one keeps the bytes from there to `end` unused until the reset
 * (the allocation that did not fit went on), a chunk after it is empty
 * (used 0). */
typedef struct lm_arena_chunk {
  void *start; /* first byte of the chunk (its 16-byte header) */
  void *data;  /* where its allocations start (after the arena struct in
                  the first chunk, right after the header in the others) */
  void *end;   /* one past its last byte */
  size_t used; /* bytes bumped in it since the last reset, padding
                  included: its bump pointer is data + used */
  int current; /* 1 for the chunk being filled, else 0 */
} lm_arena_chunk_t;

/* Called once per chunk; return non-zero to stop the walk. */
typedef int (*lm_arena_visitor_t)(const lm_arena_chunk_t *chunk, void *ctx);

/* Visits the arena's chunks in list order (the order they were made; the
 * first holds the arena struct). The chunks' sizes add up to
 * lm_arena_info's held_bytes and their `used` to its used_bytes. Returns
 * the number of chunks visited; 0 when arena or visitor is NULL. The
 * visitor must not allocate from or reset the arena.
 * Cost: O(chunks), which is O(log of the bytes held). */
size_t lm_arena_walk(const lm_arena_t *arena, lm_arena_visitor_t visitor,
                     void *ctx);

/* ---------------------------------------------------------------------
 * The allocator interface
 * ------------------------------------------------------------------- */

/* An allocator: code that allocates takes one of these and never calls
 * malloc, so its caller chooses where the memory comes from.
 *   alloc(ctx, size, align)  `size` bytes aligned to `align` (a power of
 *       two; anything below LM_ALIGNMENT gives LM_ALIGNMENT; 0 means
 *       LM_ALIGNMENT), or NULL (errno = ENOMEM, or EINVAL for a bad align).
 *   resize(ctx, ptr, old_size, new_size)  1 when the allocation at ptr
 *       now has new_size bytes without moving, 0 when it cannot (nothing
 *       changed). old_size is the size it was allocated or last resized
 *       with.
 *   free(ctx, ptr, size)  gives the allocation back; `size` as for
 *       resize. NULL does nothing.
 * Copy the struct freely: it is four words. */
typedef struct lm_allocator {
  void *ctx;
  void *(*alloc)(void *ctx, size_t size, size_t align);
  int (*resize)(void *ctx, void *ptr, size_t old_size, size_t new_size);
  void (*free)(void *ctx, void *ptr, size_t size);
} lm_allocator_t;

/* Shorthands for calling an allocator. */
static inline void *lm_allocator_alloc(lm_allocator_t a, size_t size,
                                       size_t align) {
  return a.alloc(a.ctx, size, align);
}
static inline int lm_allocator_resize(lm_allocator_t a, void *ptr,
                                      size_t old_size, size_t new_size) {
  return a.resize(a.ctx, ptr, old_size, new_size);
}
static inline void lm_allocator_free(lm_allocator_t a, void *ptr, size_t size) {
  a.free(a.ctx, ptr, size);
}

/* realloc through any allocator: resizes in place when it can, else
 * allocates new_size bytes aligned to `align`, copies min(old, new) bytes
 * and frees the old allocation. ptr NULL: an allocation. new_size 0: frees
 * ptr and returns NULL. On failure returns NULL and ptr is untouched.
 * Cost: O(1) in place, O(size) when it moves. */
void *lm_allocator_realloc(lm_allocator_t a, void *ptr, size_t old_size,
                           size_t new_size, size_t align);

/* An allocator over a heap (NULL: the default heap). free ignores the
 * size. Cost of each call: the heap function's. */
lm_allocator_t lm_heap_allocator(lm_heap_t *heap);

/* An allocator over an arena: free gives back only the last allocation,
 * resize works in place as lm_arena_resize. */
lm_allocator_t lm_arena_allocator(lm_arena_t *arena);

/* The testing allocator: wraps another allocator (its parent), keeps every
 * live allocation in a list (a small header before each one, taken from
 * the parent), counts, and when finished reports every allocation that
 * was never freed. It also checks each free and resize: a pointer it did
 * not hand out or already freed is reported (LM_REPORT_INVALID_FREE,
 * LM_REPORT_DOUBLE_FREE) and not passed on, and a size that differs from
 * the allocation's is reported (LM_REPORT_INVALID_FREE). Allocations are
 * numbered from 1 since the allocator was made, failed ones included
 * (serial is the number of the last one); setting fail_at to n > 0 makes
 * allocation n, and every later one, fail with NULL (errno = ENOMEM), to
 * test out-of-memory paths: fail_at = serial + k fails the k-th allocation
 * from now on. The counters and serial may be read at any time; the
 * fields after them are private. */
typedef struct lm_testing_allocator {
  lm_allocator_t parent;
  size_t allocations; /* successful allocations */
  size_t frees;       /* allocations freed */
  size_t failures;    /* allocations that returned NULL */
  size_t live;        /* allocations not freed yet */
  size_t live_bytes;  /* their requested bytes */
  size_t peak_bytes;  /* the most live_bytes ever was */
  size_t errors;      /* bad frees and resizes reported */
  size_t fail_at;     /* see above; 0: never fail */
  size_t serial;      /* number of the last allocation, for fail_at */
  /* private */
  void *head;    /* newest live allocation's header */
  uintptr_t key; /* check words of the headers */
} lm_testing_allocator_t;

#ifndef LM_REPORT_LEAK
/* Report kind of a leak found by lm_testing_allocator_finish (the same
 * value lmalloc_debug.h gives its leaks). */
#define LM_REPORT_LEAK ((lm_report_kind_t)16)
#endif

/* Starts a testing allocator over `parent`. Cost: O(1). */
void lm_testing_allocator_init(lm_testing_allocator_t *t,
                               lm_allocator_t parent);

/* The allocator interface of t (t must outlive it). */
lm_allocator_t lm_testing_allocator(lm_testing_allocator_t *t);

/* Ends the test: reports each allocation still live through the report
 * handler (kind LM_REPORT_LEAK, its address and requested size), frees it
 * to the parent, and returns how many there were (0: no leak). With the
 * default report handler the first leak stops the program, as any misuse
 * does; a handler that returns non-zero lets finish go on and count.
 * Cost: O(leaks). */
size_t lm_testing_allocator_finish(lm_testing_allocator_t *t);

/* ---------------------------------------------------------------------
 * The page pool
 * ------------------------------------------------------------------- */

typedef struct lm_pool_info {
  size_t free_bytes;  /* bytes in released runs waiting to be reused */
  size_t runs;        /* released runs (adjacent runs merge when needed) */
  size_t heaps;       /* live heaps besides the default heap */
  size_t arenas;      /* live arenas */
  size_t pages_grown; /* 64 KiB pages lmalloc took through memory.grow:
                         default heap, heaps and arenas together */
} lm_pool_info_t;

/* Fills *info. Returns 0, or -1 when info is NULL. Cost: O(runs). */
int lm_pool_info(lm_pool_info_t *info);

#ifdef __cplusplus
}
#endif

#endif /* LMALLOC_HEAPS_H */
