/* Block layout: how a heap block is laid out in memory, and the tiny
 * accessors every other file uses instead of raw pointer arithmetic.
 *
 * A heap is a list of spans (contiguous runs of memory, see span layout
 * below); a span is a sequence of blocks that tile it exactly. A block is
 * named by its offset from the page source's base (lm_pages_base()): a
 * uint32_t, so the layout is the same on wasm32 and on a 64-bit host.
 *
 *   used block                               free block
 *   +--------+--------------------+------+   +--------+------+------+-...-+--------+
 *   | header | payload            | seal |   | header | next | prev |     | footer |
 *   +--------+--------------------+------+   +--------+------+------+-...-+--------+
 *   b        b+4          b+size-4  b+size   b        b+4    b+8          b+size-4
 *
 * The granule A = LM_ALIGN is LM_ALIGNMENT (include/lmalloc.h), the
 * platform's alignof(max_align_t): 16 on wasm32-wasi and native hosts, 8 on
 * Emscripten. Everything below is written in terms of A.
 *
 * - A block starts at an offset b with b % A == A - 4, so its payload b+4
 *   is A-aligned. Its size (header included) is a multiple of A, at least
 *   LM_MIN_BLOCK (16), so the next block starts at A - 4 mod A again.
 * - header = size | flags. Sizes are multiples of A (at least 8), so the
 *   low log2(A) bits hold flags (bit 3 is unused when A is 16):
 *     bit 0  FREE       this block is free
 *     bit 1  PREV_FREE  the block just before this one is free, so the
 *                       4 bytes before this header are that block's footer
 *                       (its size): free() finds its left neighbour in O(1)
 *     bit 2  SLAB       this used block is a slab (slab.h)
 * - A used block's overhead is its 4-byte header and a 4-byte seal, its
 *   last word: usable size = size - 8. The seal is the block's offset
 *   masked with the heap's key (seal_value), written when the block is
 *   handed out and checked when a pointer to it comes back (free, realloc,
 *   usable_size): 4 bytes before a pointer that merely look like a used
 *   header (program data before an interior pointer, stale data in a freed
 *   block) have no matching seal at the end they claim, so they are not
 *   taken for a block, and a write past the payload's end is found there
 *   too. Slabs (used blocks with SLAB) have no seal: their objects run to
 *   the next header, and free() recognises them by their own check word.
 *   Most requests cost no byte more for the seal: a request that is a
 *   multiple of 8 (nearly every block request in bench/traces) left 4 bytes
 *   of rounding slack where the seal now sits.
 * - A free block keeps its free-list links (next, prev: offsets, 0 = none)
 *   at b+4 and b+8 and repeats its size in a footer at b+size-4, all three
 *   masked with the heap's key (see link_next). The top
 *   block (a free block of the newest span, see heap.h) is the exception:
 *   it is in no free list and keeps no links and no footer.
 *
 * Span layout: [s, e), s and e A-aligned (12 = A - 4 mod A for both
 * granules, so the first block's payload is A-aligned).
 *
 *   +-----------+-----------+--------+--------+------ ... ------+--------+
 *   | next span | span end  | unused | block  | blocks ...      | marker |
 *   +-----------+-----------+--------+--------+------ ... ------+--------+
 *   s           s+4         s+8      s+12                        e-4     e
 *
 * The end marker is a header of size 0 (never free; PREV_FREE when the last
 * block is free). Walking a span is: b = s+12; while size(b) != 0: b += size.
 */
#ifndef LM_BLOCK_H
#define LM_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lmalloc.h" /* LM_ALIGNMENT: the granule is chosen there */

#if LM_ALIGNMENT == 8
#define LM_ALIGN_LOG2 3
#elif LM_ALIGNMENT == 16
#define LM_ALIGN_LOG2 4
#else
#error "LM_ALIGNMENT must be 8 or 16"
#endif
#define LM_ALIGN ((uint32_t)1 << LM_ALIGN_LOG2)
#define LM_ALIGN_TEXT LM_STRINGIFY(LM_ALIGNMENT) /* "16": for messages */
#define LM_STRINGIFY(x) LM_STRINGIFY_(x)
#define LM_STRINGIFY_(x) #x
#define LM_HEADER_SIZE 4u
#define LM_SEAL_SIZE 4u
#define LM_BLOCK_OVERHEAD (LM_HEADER_SIZE + LM_SEAL_SIZE) /* of a used block */
#define LM_MIN_BLOCK 16u                  /* header + next + prev + footer */
#define LM_SPAN_HEADER 12u                /* next span, span end, unused */
#define LM_SPAN_OVERHEAD (LM_SPAN_HEADER + LM_HEADER_SIZE) /* + end marker */
#define LM_MIN_SPAN (LM_SPAN_OVERHEAD + LM_MIN_BLOCK)

#define LM_FREE 1u
#define LM_PREV_FREE 2u
#define LM_SLAB 4u
#define LM_DEAD LM_FREE /* a header swallowed by a merge: free, size 0 */
#define LM_FLAGS (LM_ALIGN - 1)
#define LM_SIZE_MASK (~LM_FLAGS)

_Static_assert(LM_ALIGN == LM_ALIGNMENT, "one granule");
/* Payloads must hold any object type. The native-align8 test build
 * (LM_ALIGN8_TEST, CMake option LM_ALIGN8) runs the 8-byte layout on a
 * host whose max_align_t is 16, on purpose: only lm_* calls use it. */
#ifndef LM_ALIGN8_TEST
_Static_assert(LM_ALIGNMENT == _Alignof(max_align_t),
               "the granule is the platform's alignof(max_align_t)");
#endif
_Static_assert(LM_MIN_BLOCK == LM_HEADER_SIZE + 2 * 4 + 4,
               "a free block holds header, two links and a footer");
_Static_assert(LM_MIN_BLOCK % LM_ALIGN == 0, "sizes are multiples of A");
_Static_assert(LM_MIN_BLOCK > LM_BLOCK_OVERHEAD, "a used block has a payload");
_Static_assert(LM_SLAB < LM_ALIGN, "the flags fit below the granule");
_Static_assert((LM_SPAN_HEADER + LM_HEADER_SIZE) % LM_ALIGN == 0,
               "the first payload of an A-aligned span is A-aligned");

/* LM_HARDEN=0 compiles the core without the release library's hardening:
 * links and footers unmasked, and no checks of what is read from free
 * blocks (free_size, unlink_block, safe unlink, slab links). It exists
 * only so bench/ can measure what hardening costs (bench/build.sh builds
 * replay-lmalloc-unhardened.wasm; node bench/run.mjs --variants); it is
 * not a supported configuration. LM_SLABS=0 (heap.h) is the same kind of
 * switch. */
#ifndef LM_HARDEN
#define LM_HARDEN 1
#endif

/* The mask applied to links and footers: the heap's key, or nothing. */
#define LM_MASK(key) (LM_HARDEN ? (key) : 0u)

/* A block's offset from the page source base. 0 means "none". */
typedef uint32_t lm_off_t;

/* Loads and stores of the 32-bit words that make up block metadata.
 * The base is an integer, not a pointer: on wasm it is 0, and arithmetic
 * on a null pointer is undefined. memcpy keeps the accesses free of
 * aliasing assumptions; compilers turn each into one load or store. */
static inline uint32_t word_get(uintptr_t base, lm_off_t at) {
  uint32_t v;
  memcpy(&v, (const void *)(base + at), sizeof v);
  return v;
}
static inline void word_set(uintptr_t base, lm_off_t at, uint32_t v) {
  memcpy((void *)(base + at), &v, sizeof v);
}

static inline uint32_t hdr_get(uintptr_t base, lm_off_t b) {
  return word_get(base, b);
}
static inline void hdr_set(uintptr_t base, lm_off_t b, uint32_t h) {
  word_set(base, b, h);
}
static inline uint32_t hdr_size(uint32_t h) { return h & LM_SIZE_MASK; }
static inline int hdr_is_free(uint32_t h) { return (h & LM_FREE) != 0; }
static inline int hdr_prev_free(uint32_t h) { return (h & LM_PREV_FREE) != 0; }

static inline uint32_t block_size(uintptr_t base, lm_off_t b) {
  return hdr_size(hdr_get(base, b));
}
static inline lm_off_t block_next(uintptr_t base, lm_off_t b) {
  return b + block_size(base, b);
}

/* Payload <-> block. */
static inline lm_off_t block_payload(lm_off_t b) { return b + LM_HEADER_SIZE; }
static inline lm_off_t block_from_payload(lm_off_t p) {
  return p - LM_HEADER_SIZE;
}

/* Free-block fields. Links and footers are stored XOR-masked with the
 * heap's key (as glibc's safe-linking does for its lists): an overflow or
 * a write after free that rewrites them cannot make them point anywhere
 * chosen without knowing the key, and the checks that follow each read
 * (bins.h: safe unlink; heap.c: header/footer agreement) catch what
 * changed. 0 is stored as the key itself. */
static inline lm_off_t link_next(uintptr_t base, uint32_t key, lm_off_t b) {
  return word_get(base, b + 4) ^ LM_MASK(key);
}
static inline lm_off_t link_prev(uintptr_t base, uint32_t key, lm_off_t b) {
  return word_get(base, b + 8) ^ LM_MASK(key);
}
static inline void link_set_next(uintptr_t base, uint32_t key, lm_off_t b,
                                 lm_off_t n) {
  word_set(base, b + 4, n ^ LM_MASK(key));
}
static inline void link_set_prev(uintptr_t base, uint32_t key, lm_off_t b,
                                 lm_off_t p) {
  word_set(base, b + 8, p ^ LM_MASK(key));
}
static inline void footer_set(uintptr_t base, uint32_t key, lm_off_t b,
                              uint32_t size) {
  word_set(base, b + size - 4, size ^ LM_MASK(key));
}
/* The footer of the free block of `size` bytes at b, unmasked. */
static inline uint32_t footer_get(uintptr_t base, uint32_t key, lm_off_t b,
                                  uint32_t size) {
  return word_get(base, b + size - 4) ^ LM_MASK(key);
}
/* Size of the free block that ends just before block b (valid only when
 * b's header has PREV_FREE). */
static inline uint32_t prev_footer(uintptr_t base, uint32_t key, lm_off_t b) {
  return word_get(base, b - 4) ^ LM_MASK(key);
}

/* The seal of used block b (its last word, b+size-4): b masked with the
 * key and a constant, so it is the same for any size (a header whose size
 * was rewritten moves the place it is read from) and differs between any
 * two blocks (a header forged inside a block, sized to end where that
 * block ends, does not find its own seal there). Without hardening
 * (LM_HARDEN=0, a bench variant) seals are neither written nor checked;
 * the word stays in the layout. */
#define LM_SEAL_SALT 0x5EA15EA1u
static inline uint32_t seal_value(uint32_t key, lm_off_t b) {
  return b ^ key ^ LM_SEAL_SALT;
}
static inline void seal_set(uintptr_t base, uint32_t key, lm_off_t b,
                            uint32_t size) {
  if (LM_HARDEN)
    word_set(base, b + size - LM_SEAL_SIZE, seal_value(key, b));
}
static inline int seal_ok(uintptr_t base, uint32_t key, lm_off_t b,
                          uint32_t size) {
  return !LM_HARDEN ||
         word_get(base, b + size - LM_SEAL_SIZE) == seal_value(key, b);
}

/* Usable bytes of a used block (not a slab) of `size` bytes. */
static inline uint32_t block_usable(uint32_t size) {
  return size - LM_BLOCK_OVERHEAD;
}

/* Sets or clears PREV_FREE in the header of block b. */
static inline void hdr_mark_prev_free(uintptr_t base, lm_off_t b) {
  hdr_set(base, b, hdr_get(base, b) | LM_PREV_FREE);
}
static inline void hdr_clear_prev_free(uintptr_t base, lm_off_t b) {
  hdr_set(base, b, hdr_get(base, b) & ~LM_PREV_FREE);
}

/* Span fields. */
static inline lm_off_t span_next(uintptr_t base, lm_off_t s) {
  return word_get(base, s);
}
static inline lm_off_t span_end(uintptr_t base, lm_off_t s) {
  return word_get(base, s + 4);
}
static inline lm_off_t span_first_block(lm_off_t s) {
  return s + LM_SPAN_HEADER;
}
static inline lm_off_t span_marker(lm_off_t end) {
  return end - LM_HEADER_SIZE;
}

/* Request size -> block size: header and seal added, rounded up to A, at
 * least LM_MIN_BLOCK. The caller has checked size <= LM_MAX_REQUEST. */
static inline uint32_t block_size_for(size_t size) {
  uint32_t nb =
      ((uint32_t)size + LM_BLOCK_OVERHEAD + LM_ALIGN - 1) & LM_SIZE_MASK;
  return nb < LM_MIN_BLOCK ? LM_MIN_BLOCK : nb;
}

#endif /* LM_BLOCK_H */
