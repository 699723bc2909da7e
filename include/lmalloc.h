/* lmalloc: a memory allocator for WebAssembly linear memory.
 *
 * This header is the specification of the public API. Every function
 * works on the default heap, the one `malloc` uses. Functions say what
 * they return, what NULL or 0 means, and what they cost; "O(1)" means
 * the cost does not depend on how many blocks the heap holds (apart from
 * memory.grow itself and copying or zeroing the block's own bytes).
 *
 * Alignment: every pointer returned is aligned to LM_ALIGNMENT, the
 * platform's alignof(max_align_t): 8 on Emscripten, 16 on wasm32-wasi and
 * on x86-64.
 *
 * Threads: lmalloc is single-threaded, like wasm32-wasi programs. It takes
 * no locks.
 */
#ifndef LMALLOC_H
#define LMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LM_VERSION_MAJOR 0
#define LM_VERSION_MINOR 1

/* Minimum alignment of every returned pointer, in bytes: alignof(max_align_t)
 * (8 on Emscripten, 16 on wasm32-wasi and x86-64), which is also the
 * granule of every block size. The one place the granule is chosen; the
 * library checks it against max_align_t at build time. (A native test
 * build may define it as 8 to run Emscripten's layout under the
 * sanitizers: CMake option LM_ALIGN8, preset native-align8.) */
#ifndef LM_ALIGNMENT
#ifdef __EMSCRIPTEN__
#define LM_ALIGNMENT 8
#else
#define LM_ALIGNMENT 16
#endif
#endif

/* Largest alignment lm_aligned_alloc accepts (any power of two up to it).
 * Larger powers of two are refused with EINVAL. */
#define LM_MAX_ALIGNMENT ((size_t)1 << 30)

/* Largest request that can ever succeed: just under 4 GiB, the wasm32
 * address space. Larger requests fail with ENOMEM without touching the
 * heap. */
#define LM_MAX_REQUEST ((size_t)0xFFFF0000u)

/* ---------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------- */

/* A block of at least `size` bytes, aligned to LM_ALIGNMENT, contents
 * undefined. NULL with errno = ENOMEM when the heap cannot grow (memory.grow
 * failed or the limit set by lm_set_heap_limit was reached); the heap stays
 * fully usable. malloc(0) returns a unique pointer to a minimum-size
 * allocation (16 usable bytes) that must be freed like any other.
 * Cost: O(1), plus memory.grow when the heap must grow. When it cannot,
 * before returning NULL it looks through every free block of the
 * request's size class (above 1 KiB a class spans sizes on both sides of
 * the request, and the O(1) path tries only its first block): NULL then
 * means that no free block fits. */
void *lm_malloc(size_t size);

/* Frees a block returned by this allocator. lm_free(NULL) does nothing.
 * The block merges with free neighbours at once (boundary tags), so freeing
 * every block leaves one free region per contiguous span of memory.
 * A pointer that is not a live block is reported through the report
 * handler (see lm_set_report_handler) and changes nothing: a double free,
 * a pointer outside the heap or misaligned, an interior pointer into a
 * small object, and any pointer whose header is free, dead or inconsistent
 * with the block after it. The release library decides from the 4 bytes
 * before the pointer and the block's seal (its last 4 bytes, written when
 * the block was handed out and keyed to the block's address and to a
 * random key): an interior pointer into a large block whose preceding
 * bytes happen to look like a header finds no seal where that header says
 * the block ends. A write past a block's usable size that reached its
 * seal is reported here too, as an invalid free: the block is not freed.
 * The debug library (liblmalloc-debug.a) reports overflows at the first
 * byte past the requested size, and names the allocation. Cost: O(1). */
void lm_free(void *ptr);

/* `count * size` bytes, all zero. An overflowing product gives NULL with
 * errno = ENOMEM. Memory fresh from memory.grow is already zero and is not
 * written again. Cost: O(1) plus zeroing the part of the block that may
 * have been used before. */
void *lm_calloc(size_t count, size_t size);

/* Resizes the block at `ptr` to `size` bytes, keeping the first
 * min(old, new) bytes.
 * - lm_realloc(NULL, n) is lm_malloc(n).
 * - lm_realloc(p, 0) frees p and returns NULL (errno unchanged), as
 *   dlmalloc does, so code written for wasi-libc and Emscripten behaves the
 *   same.
 * - The block shrinks in place; it grows in place when the next block is
 *   free or is the top block, the heap's free space (memory.grow is used
 *   when that, or the block itself, is last in memory). Otherwise a new
 *   block is allocated, the bytes are copied and the old block is freed.
 * - On failure returns NULL with errno = ENOMEM, and `ptr` is untouched.
 * Cost: O(1) in place; O(size) when it moves. */
void *lm_realloc(void *ptr, size_t size);

/* A block of at least `size` bytes whose address is a multiple of
 * `alignment`, which must be a power of two no larger than
 * LM_MAX_ALIGNMENT (any size is accepted, as in C17 after DR 460).
 * NULL with errno = EINVAL for a bad alignment, ENOMEM when out of memory.
 * Alignments up to LM_ALIGNMENT cost the same as lm_malloc. Larger ones
 * reserve `size + alignment` bytes, then give the unused head and tail back
 * to the free lists. Cost: O(1). */
void *lm_aligned_alloc(size_t alignment, size_t size);

/* Number of bytes usable at `ptr` (at least the size requested), 0 for
 * NULL. A pointer that is not a live block is reported, as free reports
 * it (a freed one as a use after free, of kind LM_REPORT_DOUBLE_FREE),
 * and gives 0. Cost: O(1). */
size_t lm_usable_size(const void *ptr);

/* Caps the total memory the heap may hold (heap_bytes of lm_stats,
 * counted in whole 64 KiB pages once it grows), in bytes. 0 means no cap
 * (the default). A request that would take the heap past the cap fails
 * with ENOMEM and leaves the heap as it was. A cap below what the heap
 * already holds only stops further growth. Cost: O(1). */
void lm_set_heap_limit(size_t max_bytes);

/* ---------------------------------------------------------------------
 * Introspection: one walker, many visitors
 * ------------------------------------------------------------------- */

/* What a walk entry is. The heap is a sequence of blocks; a slab is a
 * block cut into small objects of one size (requests of up to 256 bytes
 * are served from slabs). The walker visits a slab as one LM_KIND_SLAB
 * entry followed by one LM_KIND_OBJECT entry per object slot. */
typedef enum lm_block_kind {
  LM_KIND_BLOCK = 0,  /* a block: 4-byte header, payload, 4-byte seal */
  LM_KIND_SLAB = 1,   /* a block holding small objects (always used) */
  LM_KIND_OBJECT = 2, /* an object slot of the slab visited before it */
} lm_block_kind_t;

/* One walk entry. */
typedef struct lm_block_info {
  void *ptr;       /* what malloc returned (payload or object address) */
  void *header;    /* first byte of the block; NULL for objects (none) */
  size_t size;     /* whole block, header (and seal) included; object size */
  size_t usable;   /* bytes usable at ptr (lm_usable_size) */
  int used;        /* 1 = allocated, 0 = free */
  lm_block_kind_t kind;
  unsigned span;   /* index of the contiguous span, 0-based, in address order */
  int top;         /* 1 for the top block: the free block that new blocks
                      are carved from the start of, and slabs from the end
                      (while it holds at most 128 KiB) */
} lm_block_info_t;

/* Called once per block; return non-zero to stop the walk. */
typedef int (*lm_visitor_t)(const lm_block_info_t *block, void *ctx);

/* Visits every block of every span in address order, and the objects of
 * each slab after it. Returns the number of entries visited. The visitor
 * must not allocate or free. Cost: O(blocks + objects). */
size_t lm_walk(lm_visitor_t visitor, void *ctx);

#define LM_STATS_VERSION 1

/* Heap statistics. Set `version` and `size` before calling lm_stats:
 *   lm_stats_t s = {.version = LM_STATS_VERSION, .size = sizeof s};  */
typedef struct lm_stats {
  uint32_t version;       /* in: LM_STATS_VERSION */
  uint32_t size;          /* in: sizeof(lm_stats_t) */
  size_t heap_bytes;      /* bytes taken from the page source (all spans) */
  size_t pages_grown;     /* 64 KiB pages obtained through memory.grow */
  size_t grow_count;      /* successful memory.grow calls */
  size_t spans;           /* contiguous spans (1 unless other code grew memory) */
  size_t used_bytes;      /* usable bytes of allocations (blocks, objects) */
  size_t used_blocks;     /* allocations: used blocks and used objects */
  size_t free_bytes;      /* free blocks (headers included) + free objects */
  size_t free_blocks;     /* free blocks (free regions; objects not counted) */
  size_t overhead_bytes;  /* headers, seals, span markers, slab headers, slack */
  size_t largest_free;    /* largest free block, header included */
  size_t slabs;           /* slabs of small objects */
} lm_stats_t;

/* Fills `*stats`. Returns 0, or -1 if stats is NULL or its version/size is
 * not one this library knows. Cost: O(blocks) (it walks the heap). */
int lm_stats(lm_stats_t *stats);

/* Checks every invariant of the heap: block sizes and alignment, boundary
 * tags, no two free neighbours, every free block in the right free list
 * and every free-list entry free, bitmaps matching the lists, spans and the
 * top region, and every used block's seal (a write past its end). Returns
 * the number of broken invariants (0 = healthy). It never allocates and
 * never crashes on a corrupt heap: every address is range-checked before
 * it is read. Each finding goes to the report handler as
 * LM_REPORT_CORRUPT. Cost: O(blocks). */
size_t lm_check(void);

/* ---------------------------------------------------------------------
 * Reports: every misuse and every corruption found goes through one hook
 * ------------------------------------------------------------------- */

typedef enum lm_report_kind {
  LM_REPORT_DOUBLE_FREE = 1,  /* free/realloc/usable_size of a freed block,
                               * or of a pointer inside free memory, which
                               * lmalloc cannot tell from one */
  LM_REPORT_INVALID_FREE,     /* pointer lmalloc never returned */
  LM_REPORT_CORRUPT,          /* heap metadata found broken */
  /* Found only by the debug library (lmalloc_debug.h): */
  LM_REPORT_USE_AFTER_FREE,   /* a freed block was written to */
  LM_REPORT_OVERFLOW,         /* bytes past the requested size were written */
  LM_REPORT_UNDERFLOW,        /* bytes before the block (its header) were written */
} lm_report_kind_t;

typedef struct lm_report {
  lm_report_kind_t kind;
  const char *message;  /* static text naming the problem */
  const void *address;  /* the pointer concerned */
  size_t size;          /* the block's size if known, else 0 (debug
                           library: the size that was requested) */
  /* Set by the debug library, 0 otherwise. Sequence numbers count
   * allocations and frees together, from 1: the block was allocated by
   * call number alloc_seq and freed by call number free_seq. */
  uint64_t alloc_seq;   /* 0: unknown */
  uint64_t free_seq;    /* 0: the block is live (or unknown) */
  ptrdiff_t offset;     /* use after free, overflow, underflow: the first
                           wrong byte, relative to address (negative for
                           an underflow) */
} lm_report_t;

/* Returns non-zero to continue (the bad call then does nothing), 0 to use
 * the default action. */
typedef int (*lm_report_handler_t)(const lm_report_t *report, void *ctx);

/* Installs `handler` (NULL restores the default) and returns the previous
 * one. The default writes the report to stderr (on WASI and native) and
 * traps, so a bug never continues silently. lm_check's findings never
 * trap: they are only counted and passed to the handler. Cost: O(1). */
lm_report_handler_t lm_set_report_handler(lm_report_handler_t handler,
                                          void *ctx);

#ifdef __cplusplus
}
#endif

#include "lmalloc_debug.h" /* leaks, quarantine: both libraries */
#include "lmalloc_heaps.h" /* heaps, arenas, allocators, page pool */

#endif /* LMALLOC_H */
