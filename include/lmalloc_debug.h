/* lmalloc's debug library: the specification of what it checks, and of the
 * functions for leaks and the quarantine. lmalloc.h includes this header.
 *
 * Two libraries, one API. liblmalloc.a is the release allocator.
 * liblmalloc-debug.a (CMake: lmalloc::lmalloc-debug) defines the same
 * symbols with checks added: a program switches by linking it instead, with
 * no change to its source. Every function below exists in both; in the
 * release library they do what they can without the debug bookkeeping (the
 * comments say what).
 *
 * What the debug library finds, each reported through the one report
 * handler (lm_set_report_handler) with its kind, the block's address and
 * requested size, and its allocation and free sequence numbers
 * (lm_report_t):
 *   - LM_REPORT_DOUBLE_FREE: free or realloc of a block already freed
 *     (a double free), or its usable_size or resize (worded a use after
 *     free);
 *   - LM_REPORT_INVALID_FREE: free, realloc or usable_size of a pointer
 *     lmalloc never returned: misaligned, outside the heap, or inside a
 *     block but not its start (the report names that block); or of one
 *     whose debug header outlived its block (its heap destroyed, or the
 *     bytes copied);
 *   - LM_REPORT_USE_AFTER_FREE: a freed block is filled with
 *     LM_DEBUG_FREED_BYTE and held in a quarantine (FIFO, bounded in bytes)
 *     before lmalloc may reuse it; a write into it is reported when it
 *     leaves the quarantine, and by lm_check;
 *   - LM_REPORT_OVERFLOW: bytes written past the requested size (at least
 *     16 guard bytes of LM_DEBUG_GUARD_BYTE follow every block);
 *   - LM_REPORT_UNDERFLOW: bytes written just before the block, over its
 *     debug header;
 *   overflow and underflow are checked at free, at realloc and by lm_check;
 *   - LM_REPORT_LEAK: blocks never freed, at exit when asked
 *     (lm_leak_report_at_exit, or LMALLOC_LEAKS=1 in the environment).
 * The default handler prints one line, e.g.
 *   lmalloc: overflow at 0x1a2b0 (block of 24 bytes, allocation #7, byte
 *   +24): bytes past the requested size were written
 * and traps; lm_check's findings never trap (they are counted).
 *
 * Other differences from the release library (all in the debug library):
 *   - each block costs a 32-byte header and 16 to 16 + LM_ALIGNMENT - 1
 *     guard bytes more (16 to 31; 16 to 23 on Emscripten); a block
 *     aligned to more than 32 bytes costs its alignment instead of the
 *     header (it starts on the boundary, its header in the alignment's
 *     bytes before it), and while it is being placed the core needs room
 *     for about twice the alignment: with large alignments (a MiB or
 *     more) it can fail for want of memory where the release library
 *     succeeds;
 *   - malloc fills new blocks with LM_DEBUG_ALLOC_BYTE (calloc's are zero);
 *   - realloc always moves the block (the old one goes to the quarantine),
 *     so a stale pointer kept across realloc is caught like any other;
 *     lm_heap_resize (lmalloc_heaps.h) still works in place, moving the
 *     guard;
 *   - usable_size is the size requested, never more;
 *   - lm_walk shows what the program sees: ptr is the pointer malloc
 *     returned, usable its requested size, and quarantined blocks as free
 *     (a block's header and size stay the core block's, debug header and
 *     guard included; an object's size counts from ptr to its end).
 *     lm_stats counts headers, guards and quarantined blocks as used bytes;
 *   - when memory runs out, the quarantine is emptied and the request
 *     tried again before it fails with ENOMEM.
 * Cost: O(size) more per call (filling and checking bytes); lm_check also
 * reads every live block's guards and every quarantined block.
 *
 * Sequence numbers count allocations and frees together from 1 (the first
 * call that allocates or frees is number 1), so "allocation #12, freed
 * #57" orders the two among all other calls.
 */
#ifndef LMALLOC_DEBUG_H
#define LMALLOC_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "lmalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes the debug library writes (chosen to be unlikely data and easy to
 * spot in a memory dump). */
#define LM_DEBUG_ALLOC_BYTE 0xCD /* new blocks from malloc */
#define LM_DEBUG_FREED_BYTE 0xDD /* freed blocks in the quarantine */
#define LM_DEBUG_GUARD_BYTE 0xFD /* guard bytes after each block */

/* Quarantine size unless LMALLOC_QUARANTINE=<bytes> is in the environment
 * at start-up. */
#define LM_DEBUG_QUARANTINE_BYTES ((size_t)1 << 20)

/* 1 in the debug library, 0 in the release library. Cost: O(1). */
int lm_debug_enabled(void);

/* The sequence number of the latest allocation or free (0 before the
 * first, and always 0 in the release library). Cost: O(1). */
uint64_t lm_debug_seq(void);

/* ---------------------------------------------------------------------
 * Leaks
 * ------------------------------------------------------------------- */

#ifndef LM_REPORT_LEAK
/* Report kind of a block never freed (also used by the testing allocator
 * of lmalloc_heaps.h, which defines the same value). */
#define LM_REPORT_LEAK ((lm_report_kind_t)16)
#endif

/* One live block of the default heap. */
typedef struct lm_leak {
  void *ptr;          /* what malloc returned */
  size_t size;        /* requested (release library: usable) bytes */
  uint64_t alloc_seq; /* its allocation number (release library: 0) */
} lm_leak_t;

/* Called once per live block; non-zero stops the listing. It must not
 * allocate or free. */
typedef int (*lm_leak_visitor_t)(const lm_leak_t *leak, void *ctx);

/* Lists every live block of the default heap in address order (the
 * C library's own blocks too, where malloc is lmalloc), quarantined blocks
 * not included. visitor may be NULL to count. Returns the number of
 * blocks listed. Cost: O(blocks). */
size_t lm_leaks(lm_leak_visitor_t visitor, void *ctx);

/* Asks for a leak report when the program exits (atexit: WASI programs,
 * native ones, Emscripten with -sEXIT_RUNTIME=1). Every block allocated
 * after this call (debug library; release library: every live block) and
 * still live at exit is reported as LM_REPORT_LEAK, with its address,
 * requested size and allocation number, then a summary line goes to the
 * error output. With the default handler every leak is printed, stdio is
 * flushed and the program then traps (a failing exit status, as
 * LeakSanitizer gives); a handler that returns non-zero sees each leak and
 * the program exits normally. Call it at the start of main; calling it
 * again moves the starting point. Cost: O(1) now; O(blocks) at exit.
 *
 * LMALLOC_LEAKS=1 in the environment makes the debug library ask for the
 * same report at start-up (its constructor), except that it only prints:
 * blocks the C library allocates for itself after that and keeps until
 * exit are listed too (on WASI the two argv blocks). */
void lm_leak_report_at_exit(void);

/* ---------------------------------------------------------------------
 * The quarantine (debug library; in the release library both functions
 * do nothing and return 0)
 * ------------------------------------------------------------------- */

/* Sets the most bytes (whole blocks, headers and guards included) the
 * quarantine holds; 0 turns it off, so freed blocks are checked and reused
 * at once. Blocks over the new limit leave it (oldest first, each checked).
 * Returns the previous limit. Cost: O(bytes that leave). */
size_t lm_quarantine_limit(size_t max_bytes);

/* Checks and frees every quarantined block now (say, before lm_stats or
 * before comparing lm_walk with an expected heap). Returns the number of
 * blocks found written to after their free, each also reported as
 * LM_REPORT_USE_AFTER_FREE (never trapping, like lm_check's findings).
 * Cost: O(quarantined bytes). */
size_t lm_quarantine_flush(void);

#ifdef __cplusplus
}
#endif

#endif /* LMALLOC_DEBUG_H */
