/* The standalone lmalloc.wasm for JavaScript (wasm/lmalloc.mjs): the same
 * allocator core as every other build (heap, slab, api, walk, check,
 * report, pages_wasm.c), plus what this build alone needs: its report
 * output, its page source's start-up bound, and the exports JavaScript
 * calls. It has no WASI imports; everything it imports is listed below
 * and supplied by lmalloc.mjs. lmalloc-debug.wasm (LM_DEBUG) is the debug
 * library, liblmalloc-debug.a's sources (wasm/CMakeLists.txt), with the
 * LM_DEBUG parts below: fuller reports, leaks and the quarantine.
 *
 * Where the module lives in memory. The module is linked position-
 * independent (wasm-ld --experimental-pic -pie) against an imported memory,
 * so its static data (the heap struct, free-list heads, report strings) and
 * its stack are not at link-time addresses: lmalloc.mjs grows the memory by
 * whole pages first, and places data and stack in those pages, which nobody
 * else can own. That is what lets the module share a memory a host already
 * uses: it never writes a byte outside pages it grew itself.
 *
 *   pages lmalloc.mjs grew at start-up ([base page, base page + n))
 *   +-------------+------------------+---------------------------+
 *   | static data | stack (grows     | start-up heap region      |
 *   | (dylink.0   |  downwards)      | (lm_pages_initial:        |
 *   |  mem_size)  |                  |  __heap_base .. end)      |
 *   +-------------+------------------+---------------------------+
 *   __memory_base                    __stack_pointer = __heap_base
 *                                                     lm_pages_initial_end
 *
 * Imports (all set by lmalloc.mjs):
 *   env.memory                     the linear memory (own or the host's)
 *   env.__memory_base              where the static data goes
 *   env.__stack_pointer            the stack's top (mutable: the host resets
 *                                  it after a JS exception unwound the stack)
 *   env.__table_base               first slot of this module's functions in
 *   env.__indirect_function_table  the table (report handler, walk visitor)
 *   GOT.mem.__heap_base            where the start-up heap region begins
 *                                  (wasm-ld defines it only for non-PIC links)
 *   env.report                     see js_report below
 *   env.walk_entry                 see js_walk_entry below
 *
 * Reports. The core reports a double free or an invalid pointer before it
 * changes anything (heap.c: payload_of, block_at, slab_put). The handler
 * installed here passes each report to env.report, which throws the
 * matching typed error in JavaScript: the exception unwinds the wasm call
 * right there, so the bad call never touches the heap. Checker findings
 * (LM_REPORT_CORRUPT) are only recorded by JavaScript; lm_check keeps
 * counting. The default handler (text to lm_pages_write_error, then a
 * trap) is never used in this build.
 *
 * The debug library (debug.c) reports the same way: pointers, overflows
 * and underflows before the call changes anything; a quarantined block
 * found written to as it leaves the quarantine after giving it back and
 * before the freeing call changes anything else (so the throw leaves a
 * consistent heap); lm_check's findings, and lm_quarantine_flush's, are
 * only counted. Its env.report has three parameters more (below). */
#include <stddef.h>
#include <stdint.h>

#include "lmalloc.h"
#include "pages.h"

#define EXPORT(name) __attribute__((export_name(#name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* kind: lm_report_kind_t; address: the pointer concerned; size: the
 * block's size if known, else 0; message: a NUL-terminated static string.
 * Throws for DOUBLE_FREE and INVALID_FREE; returns for CORRUPT.
 * Debug build: also the block's allocation and free sequence numbers
 * (0: unknown or live; doubles, exact up to 2^53) and the offset of the
 * first wrong byte from address (lm_report_t); LM_REPORT_LEAK entries of
 * lmjs_leaks come this way too. */
#ifdef LM_DEBUG
IMPORT(report)
void js_report(uint32_t kind, uint32_t address, uint32_t size,
               uint32_t message, double alloc_seq, double free_seq,
               int32_t offset);
#else
IMPORT(report)
void js_report(uint32_t kind, uint32_t address, uint32_t size,
               uint32_t message);
#endif

/* One lm_walk entry (the fields of lm_block_info_t, in order). */
IMPORT(walk_entry)
void js_walk_entry(uint32_t ptr, uint32_t header, uint32_t size,
                   uint32_t usable, uint32_t used, uint32_t kind,
                   uint32_t span, uint32_t top);

/* pages_wasm.c: end of the start-up region, 0 = end of memory. */
extern uint32_t lm_pages_initial_end;

static uint32_t addr(const void *p) { return (uint32_t)(uintptr_t)p; }

static int forward_report(const lm_report_t *r, void *ctx) {
  (void)ctx;
#ifdef LM_DEBUG
  js_report((uint32_t)r->kind, addr(r->address), (uint32_t)r->size,
            addr(r->message), (double)r->alloc_seq, (double)r->free_seq,
            (int32_t)r->offset);
#else
  js_report((uint32_t)r->kind, addr(r->address), (uint32_t)r->size,
            addr(r->message));
#endif
  return 1; /* continue: the bad call does nothing (if JS did not throw) */
}

/* The default report handler's output and trap: unused here (the handler
 * above is always installed), defined because report.c refers to them. */
void lm_pages_write_error(const char *text, size_t len) {
  (void)text;
  (void)len;
}

_Noreturn void lm_pages_trap(void) { __builtin_trap(); }

/* Random bits from lmalloc.mjs (crypto.getRandomValues), for the heap
 * keys (pages.h: lm_pages_entropy; C programs get theirs from
 * getentropy, src/entropy_libc.c, which would import WASI's random_get). */
static uint32_t entropy_seed;

uint32_t lm_pages_entropy(void) {
  /* A different value for every heap of this module. */
  entropy_seed = entropy_seed * 0x9E3779B1u + 0x7F4A7C15u;
  return entropy_seed;
}

/* Called once by lmalloc.mjs after instantiation, before any allocation:
 * installs the report handler, bounds the start-up region to the pages
 * lmalloc.mjs reserved (`initial_end`, a byte address) and takes 32
 * random bits for the heap keys. */
EXPORT(lmjs_start) void lmjs_start(uint32_t initial_end, uint32_t seed) {
  lm_pages_initial_end = initial_end;
  entropy_seed = seed;
  lm_set_report_handler(forward_report, NULL);
}

/* 1 in lmalloc-debug.wasm (the debug library, -DLM_DEBUG), 0 in
 * lmalloc.wasm: lmalloc.mjs checks that the module is the build it asked
 * for. */
EXPORT(lmjs_debug) uint32_t lmjs_debug(void) {
#ifdef LM_DEBUG
  return 1;
#else
  return 0;
#endif
}

/* lm_stats into a static struct whose address is returned (0 on failure).
 * lmalloc.mjs reads it at the offsets checked here: 13 32-bit words. */
static lm_stats_t stats;
_Static_assert(sizeof(size_t) == 4, "wasm32");
_Static_assert(sizeof(lm_stats_t) == 13 * 4, "lmalloc.mjs reads 13 words");
_Static_assert(offsetof(lm_stats_t, heap_bytes) == 8, "layout");
_Static_assert(offsetof(lm_stats_t, slabs) == 48, "layout");

EXPORT(lmjs_stats) uint32_t lmjs_stats(void) {
  stats.version = LM_STATS_VERSION;
  stats.size = sizeof stats;
  return lm_stats(&stats) == 0 ? addr(&stats) : 0;
}

static int visit(const lm_block_info_t *b, void *ctx) {
  (void)ctx;
  js_walk_entry(addr(b->ptr), addr(b->header), (uint32_t)b->size,
                (uint32_t)b->usable, (uint32_t)b->used, (uint32_t)b->kind,
                b->span, (uint32_t)b->top);
  return 0;
}

/* lm_walk, each entry passed to env.walk_entry; returns the entry count. */
EXPORT(lmjs_walk) uint32_t lmjs_walk(void) {
  return (uint32_t)lm_walk(visit, NULL);
}

#ifdef LM_DEBUG
/* Leaks (lmalloc_debug.h): each live block, in address order, goes to
 * env.report as LM_REPORT_LEAK with its address, requested size and
 * allocation number; lmalloc.mjs collects them (it never throws for
 * these). Returns the number of leaks. lm_quarantine_limit and
 * lm_quarantine_flush are exported as they are (wasm/CMakeLists.txt). */
static int leak_entry(const lm_leak_t *leak, void *ctx) {
  (void)ctx;
  js_report((uint32_t)LM_REPORT_LEAK, addr(leak->ptr), (uint32_t)leak->size,
            addr("block was never freed"), (double)leak->alloc_seq, 0, 0);
  return 0;
}

EXPORT(lmjs_leaks) uint32_t lmjs_leaks(void) {
  return (uint32_t)lm_leaks(leak_entry, NULL);
}
#endif /* LM_DEBUG */

#ifdef LMJS_HEAPS
/* Heaps and arenas (lmalloc_heaps.h), only in lmalloc-heaps.wasm and
 * lmalloc-heaps-debug.wasm: linking them brings the page pool, whose
 * owner table is 64 KiB of static data. lmalloc.mjs calls lm_heap_* and
 * lm_arena_* directly (exported by wasm/CMakeLists.txt); these pass the
 * structs they fill, the walk, as above, for one created heap, and an
 * arena's chunks. */
EXPORT(lmjs_heap_stats) uint32_t lmjs_heap_stats(lm_heap_t *heap) {
  stats.version = LM_STATS_VERSION;
  stats.size = sizeof stats;
  return lm_heap_stats(heap, &stats) == 0 ? addr(&stats) : 0;
}

EXPORT(lmjs_heap_walk) uint32_t lmjs_heap_walk(lm_heap_t *heap) {
  return (uint32_t)lm_heap_walk(heap, visit, NULL);
}

/* lm_arena_info into a static struct whose address is returned (0 on
 * failure): 6 32-bit words, in the order of lm_arena_info_t. */
static lm_arena_info_t arena_info;
_Static_assert(sizeof(lm_arena_info_t) == 6 * 4, "lmalloc.mjs reads 6 words");
_Static_assert(offsetof(lm_arena_info_t, peak_bytes) == 20, "layout");

EXPORT(lmjs_arena_info) uint32_t lmjs_arena_info(const lm_arena_t *arena) {
  return lm_arena_info(arena, &arena_info) == 0 ? addr(&arena_info) : 0;
}

/* lm_arena_walk into a static table (no import: a chunk list is short),
 * whose address is returned (0 when arena is NULL). Word 0: how many
 * chunks follow (at most LMJS_CHUNKS); then 5 words per chunk, the
 * fields of lm_arena_chunk_t in order (start, data, end, used, current),
 * for chunks `from`, from + 1, ... of the list. lmalloc.mjs asks again
 * from `from + LMJS_CHUNKS` while the table comes back full (kept small,
 * so that tests/js/heaps.test.mjs reaches a second call with 9 chunks). */
#define LMJS_CHUNKS 8
static struct {
  uint32_t count;
  uint32_t chunk[LMJS_CHUNKS][5];
} arena_chunks;
_Static_assert(sizeof arena_chunks == (1 + LMJS_CHUNKS * 5) * 4, "words");

static int chunk_entry(const lm_arena_chunk_t *c, void *ctx) {
  uint32_t *skip = ctx;
  if (*skip) {
    --*skip;
    return 0;
  }
  uint32_t *w = arena_chunks.chunk[arena_chunks.count++];
  w[0] = addr(c->start);
  w[1] = addr(c->data);
  w[2] = addr(c->end);
  w[3] = (uint32_t)c->used;
  w[4] = (uint32_t)c->current;
  return arena_chunks.count == LMJS_CHUNKS; /* full: stop */
}

EXPORT(lmjs_arena_chunks)
uint32_t lmjs_arena_chunks(const lm_arena_t *arena, uint32_t from) {
  if (!arena)
    return 0;
  arena_chunks.count = 0;
  lm_arena_walk(arena, chunk_entry, &from);
  return addr(&arena_chunks);
}

#ifdef LM_DEBUG
/* debug.c: lm_leaks of any heap (no public header: the release library
 * has none). */
size_t lm_debug_heap_leaks(lm_heap_t *heap, lm_leak_visitor_t visitor,
                           void *ctx);

/* lmjs_leaks for a created heap. */
EXPORT(lmjs_heap_leaks) uint32_t lmjs_heap_leaks(lm_heap_t *heap) {
  return (uint32_t)lm_debug_heap_leaks(heap, leak_entry, NULL);
}
#endif /* LM_DEBUG */
#endif /* LMJS_HEAPS */
