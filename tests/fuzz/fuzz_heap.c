/* fuzz_heap: a libFuzzer target for lmalloc (native build, host page
 * source, clang-19 -fsanitize=fuzzer,address,undefined; see run.sh).
 * Built twice: fuzz_heap on the release library, fuzz_heap_debug on the
 * debug library (lmalloc_debug.h), which it asks lm_debug_enabled().
 *
 * What it owns: decoding an input into a sequence of allocator calls,
 * running them on the default heap against a shadow model of the live
 * blocks, and stopping (a crash libFuzzer saves) at the first difference:
 *   - a returned block is misaligned, smaller than asked, or overlaps a
 *     live block;
 *   - a live block lost a byte (blocks are filled with a per-block pattern
 *     and verified before every free and realloc, and all of them at the
 *     end of each input); realloc lost part of the kept prefix;
 *   - calloc memory is not zero;
 *   - a call failed that had to succeed (the heap could have grown), or
 *     failed with the wrong errno, or succeeded where it had to fail;
 *   - lm_check() != 0 or lm_stats disagrees with the shadow (checked after
 *     every call of short inputs, every 8th of long ones: CHECK_EVERY), or
 *     any report at all reaches the handler (every call here is valid);
 *   - freeing everything does not leave one free block per span.
 * Each input starts on fresh memory: the page source's test hook
 * lm_pages_reset and a zeroed default heap (white-box: src/heap.h), so an
 * input replays the same way alone as inside a fuzzing run.
 *
 * Input format: 4-byte records [op, slot, lo, hi]; a short tail is
 * ignored. kind = op & 7, x = op >> 3 (0..31), s = slot % SLOTS,
 * v = lo | hi << 8, size = decode_size(v):
 *   0 malloc(size) into s (a block already in s is freed first)
 *   1 calloc(n, size): n = 1 + x % 4, or a count whose product overflows
 *     when x == 31
 *   2 realloc(s, size) (realloc(NULL, size) when s is empty)
 *   3 free(s)
 *   4 aligned_alloc(2^x, size) into s; x == 31: a bad alignment
 *     (0, 3, 48 or 2^31 by v % 4), which must fail with EINVAL
 *   5 heap limit: x == 0 restores the default cap (CAP), else
 *     cap = heap bytes now + (v % 64) * 64 KiB (at least 1 byte: 0 would
 *     lift the cap, and a 2 GiB calloc over freed memory then clears it)
 *   6 fault injection: the (x % 4 + 1)-th memory.grow from now fails
 *   7 by x % 4: 0 foreign memory.grow of 1 + v % 4 pages (a new span;
 *     at most FOREIGN_PAGES per input), 1 verify every block and
 *     lm_walk, 2 lm_usable_size(s), 3 free(s) then malloc(size) into s
 * (fuzz_heap_debug scales sizes above 4 KiB down by 16.) The seed corpus
 * (corpus.mjs) encodes windows of bench/traces in it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h" /* lm_default_heap: zeroed between inputs */
#include "lmalloc.h"
#include "pages.h" /* lm_pages_reset, lm_pages_fail_after, foreign grow */

#define SLOTS 64
#define CAP ((size_t)64 << 20) /* default heap limit of an input */
#define FULL_FILL 4096         /* larger blocks: only head and tail */
#define EDGE 512               /* ... of this many bytes each */
#define FOREIGN_PAGES 64
#define QUARANTINE ((size_t)64 << 10)    /* debug library: bytes held */
#define SLACK ((size_t)3 * LM_PAGE_SIZE) /* span overhead + page rounding */
/* lm_check and lm_stats after each of the first CHECK_ALL calls, then after
 * every CHECK_EVERY-th (a broken invariant stays broken until found; the
 * checks cost most of the time), and at the end of every input. */
#define CHECK_ALL 32
#define CHECK_EVERY 8

typedef struct slot {
  unsigned char *p;
  size_t size;   /* requested */
  size_t usable; /* lm_usable_size at allocation */
  size_t align;
  uint32_t tag;
} slot_t;

static slot_t slots[SLOTS];
static uint32_t serial;
static size_t cap;
static unsigned foreign_pages;
static int fault_armed;
static size_t op_index;
static int debug; /* linked to the debug library */

#define FAIL(...)                                                              \
  do {                                                                         \
    fprintf(stderr, "fuzz_heap: op %zu: ", op_index);                          \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    abort();                                                                   \
  } while (0)

/* Every call made here is valid: any report is a bug. */
static int report_is_bug(const lm_report_t *r, void *ctx) {
  (void)ctx;
  FAIL("unexpected report (kind %d) at %p, size %zu: %s", (int)r->kind,
       r->address, r->size, r->message ? r->message : "?");
}

static size_t decode_size(uint16_t v) {
  size_t n = v & 0x3FFF;
  switch (v >> 14) {
  case 0:
    return n % 257; /* slab objects, 0..256 */
  case 1:
    return n % 4096; /* small blocks */
  case 2:
    return n * 16; /* up to 256 KiB */
  default:         /* huge requests, and up to 2 MiB */
    switch (n & 7) {
    case 0:
      return SIZE_MAX;
    case 1:
      return SIZE_MAX - 15;
    case 2:
      return LM_MAX_REQUEST;
    case 3:
      return LM_MAX_REQUEST + 1;
    case 4:
      return (size_t)1 << 31;
    default:
      return (n >> 3) * 1024;
    }
  }
}

/* ---- contents: a pattern over the whole block, or its two edges ---- */

static unsigned char pattern(uint32_t tag, size_t i) {
  return (unsigned char)((tag >> ((i & 3) * 8)) + (uint32_t)(i >> 2) * 0x3B +
                         1);
}

/* The filled bytes of a block of `size` bytes below `limit`: calls fn on
 * [0, a) and [b, limit) where the block has content. */
typedef int (*range_fn)(unsigned char *p, size_t from, size_t to, void *arg);
static int each_range(unsigned char *p, size_t size, size_t limit, range_fn fn,
                      void *arg) {
  if (limit > size)
    limit = size;
  if (size <= FULL_FILL)
    return fn(p, 0, limit, arg);
  size_t head = limit < EDGE ? limit : EDGE;
  if (fn(p, 0, head, arg))
    return 1;
  size_t tail = size - EDGE;
  return tail < limit ? fn(p, tail, limit, arg) : 0;
}

static int fill_range(unsigned char *p, size_t from, size_t to, void *arg) {
  uint32_t tag = *(uint32_t *)arg;
  for (size_t i = from; i < to; i++)
    p[i] = pattern(tag, i);
  return 0;
}

typedef struct {
  uint32_t tag;
  size_t bad;
} verify_arg_t;

static int verify_range(unsigned char *p, size_t from, size_t to, void *arg) {
  verify_arg_t *v = arg;
  for (size_t i = from; i < to; i++)
    if (p[i] != pattern(v->tag, i)) {
      v->bad = i;
      return 1;
    }
  return 0;
}

static int zero_range(unsigned char *p, size_t from, size_t to, void *arg) {
  size_t *bad = arg;
  for (size_t i = from; i < to; i++)
    if (p[i]) {
      *bad = i;
      return 1;
    }
  return 0;
}

static void verify_slot(int s, size_t limit, const char *when) {
  slot_t *b = &slots[s];
  verify_arg_t v = {b->tag, 0};
  if (each_range(b->p, b->size, limit, verify_range, &v))
    FAIL("slot %d (%p, %zu bytes) byte %zu changed %s", s, (void *)b->p,
         b->size, v.bad, when);
}

/* ---- the model ---- */

static void check_heap(const char *when) {
  if (lm_check() != 0)
    FAIL("lm_check() != 0 %s", when);
  lm_stats_t st = {.version = LM_STATS_VERSION, .size = sizeof st};
  if (lm_stats(&st) != 0)
    FAIL("lm_stats failed");
  size_t live = 0;
  for (int i = 0; i < SLOTS; i++)
    live += slots[i].p != NULL;
  /* The debug library's lm_stats counts quarantined blocks as used;
   * lm_leaks lists the live ones. */
  size_t used = debug ? lm_leaks(NULL, NULL) : st.used_blocks;
  if (used != live)
    FAIL("lm_stats/lm_leaks count %zu allocations, the model %zu %s", used,
         live, when);
}

static size_t heap_bytes(void) {
  lm_stats_t st = {.version = LM_STATS_VERSION, .size = sizeof st};
  lm_stats(&st);
  return st.heap_bytes;
}

/* Whether the injected memory.grow failure has happened since the last
 * call; an injection still pending stays armed. */
static int fault_fired(void) {
  if (!fault_armed)
    return 0;
  int left = lm_pages_fail_after(-1);
  if (left >= 0) {
    lm_pages_fail_after(left);
    return 0;
  }
  fault_armed = 0;
  return 1;
}

/* A call returned NULL: was it allowed to? `need` is what the heap would
 * have had to grow by, at most, to serve it. */
static void check_failure(const char *what, size_t size, size_t need,
                          int expect_errno) {
  int e = errno;
  if (expect_errno == EINVAL) {
    if (e != EINVAL)
      FAIL("%s(%zu) with a bad alignment: errno %d, not EINVAL", what, size, e);
    return;
  }
  if (e != ENOMEM)
    FAIL("%s(%zu) failed with errno %d, not ENOMEM", what, size, e);
  /* After foreign growth the heap may grow twice for one request: once
   * where the pages land (a new span too small), then a whole span. The
   * debug library adds a header and guard, and aligns by moving the
   * pointer: up to twice the alignment. */
  if (debug)
    need = need > SIZE_MAX / 4 ? SIZE_MAX : need * 2 + 64;
  size_t room = need * (foreign_pages ? 2 : 1) + SLACK;
  if (!fault_fired() && need <= LM_MAX_REQUEST && heap_bytes() + room <= cap)
    FAIL("%s(%zu) failed with ENOMEM although the heap (%zu bytes, cap %zu) "
         "could grow by %zu",
         what, size, heap_bytes(), cap, need);
}

/* A block fresh from the allocator: checks it and fills it. */
static void accept(int s, unsigned char *p, size_t size, size_t align,
                   const char *what, int zeroed) {
  size_t usable = lm_usable_size(p);
  if ((uintptr_t)p % LM_ALIGNMENT || (align && (uintptr_t)p % align))
    FAIL("%s(%zu) = %p is not aligned to %zu", what, size, (void *)p,
         align > LM_ALIGNMENT ? align : (size_t)LM_ALIGNMENT);
  if (usable < size)
    FAIL("%s(%zu) = %p has only %zu usable bytes", what, size, (void *)p,
         usable);
  for (int i = 0; i < SLOTS; i++) {
    slot_t *o = &slots[i];
    if (i != s && o->p && p < o->p + o->usable && o->p < p + usable)
      FAIL("%s(%zu) = [%p, +%zu) overlaps slot %d [%p, +%zu)", what, size,
           (void *)p, usable, i, (void *)o->p, o->usable);
  }
  size_t bad;
  if (zeroed && each_range(p, size, size, zero_range, &bad))
    FAIL("%s(%zu) = %p: byte %zu is not zero", what, size, (void *)p, bad);
  slot_t *b = &slots[s];
  b->p = p;
  b->size = size;
  b->usable = usable;
  b->align = align;
  b->tag = serial++ * 0x9E3779B1u + 0x5EED;
  each_range(p, size, size, fill_range, &b->tag);
}

static void release(int s) {
  if (!slots[s].p)
    return;
  verify_slot(s, SIZE_MAX, "before free");
  lm_free(slots[s].p);
  slots[s].p = NULL;
}

static void do_malloc(int s, size_t size) {
  release(s);
  errno = 0;
  unsigned char *p = lm_malloc(size);
  if (!p)
    check_failure("malloc", size, size, ENOMEM);
  else if (size > LM_MAX_REQUEST)
    FAIL("malloc(%zu) succeeded", size);
  else
    accept(s, p, size, 0, "malloc", 0);
}

static void do_calloc(int s, unsigned x, size_t size) {
  release(s);
  size_t n = x == 31 ? SIZE_MAX / 2 + 1 : 1 + x % 4;
  int overflow = size && n > SIZE_MAX / size;
  errno = 0;
  unsigned char *p = lm_calloc(n, size);
  size_t total = overflow ? SIZE_MAX : n * size;
  if (!p)
    check_failure("calloc", total, total, ENOMEM);
  else if (overflow || total > LM_MAX_REQUEST)
    FAIL("calloc(%zu, %zu) succeeded", n, size);
  else
    accept(s, p, total, 0, "calloc", 1);
}

static void do_realloc(int s, size_t size) {
  slot_t *b = &slots[s];
  if (!b->p) {
    errno = 0;
    unsigned char *p = lm_realloc(NULL, size);
    if (!p)
      check_failure("realloc(NULL)", size, size, ENOMEM);
    else
      accept(s, p, size, 0, "realloc(NULL)", 0);
    return;
  }
  verify_slot(s, SIZE_MAX, "before realloc");
  if (size == 0) {
    errno = 0;
    void *volatile r = lm_realloc(b->p, 0);
    if (r || errno)
      FAIL("realloc(p, 0) = %p, errno %d: must free and return NULL", r, errno);
    b->p = NULL;
    return;
  }
  errno = 0;
  unsigned char *p = lm_realloc(b->p, size);
  if (!p) {
    check_failure("realloc", size, size, ENOMEM);
    verify_slot(s, SIZE_MAX, "after a failed realloc");
    return;
  }
  if (size > LM_MAX_REQUEST)
    FAIL("realloc(%zu) succeeded", size);
  /* The kept prefix must hold the old pattern: check it, then refill. */
  b->p = p;
  verify_slot(s, size, "by realloc (kept prefix)");
  accept(s, p, size, 0, "realloc", 0);
}

static void do_aligned(int s, unsigned x, uint16_t v, size_t size) {
  static const size_t bad[4] = {0, 3, 48, (size_t)1 << 31};
  size_t align = x == 31 ? bad[v % 4] : (size_t)1 << x;
  release(s);
  errno = 0;
  unsigned char *p = lm_aligned_alloc(align, size);
  if (x == 31) {
    if (p)
      FAIL("aligned_alloc(%zu, %zu) succeeded", align, size);
    check_failure("aligned_alloc", size, 0, EINVAL);
  } else if (!p) {
    check_failure("aligned_alloc", size,
                  size > SIZE_MAX - align ? SIZE_MAX : size + align, ENOMEM);
  } else {
    accept(s, p, size, align, "aligned_alloc", 0);
  }
}

static void do_other(int s, unsigned x, uint16_t v, size_t size) {
  switch (x % 4) {
  case 0:
    if (foreign_pages < FOREIGN_PAGES) {
      unsigned n = 1 + v % 4;
      if (lm_pages_foreign_grow(n) == 0)
        foreign_pages += n;
    }
    break;
  case 1:
    for (int i = 0; i < SLOTS; i++)
      if (slots[i].p)
        verify_slot(i, SIZE_MAX, "(periodic check)");
    break;
  case 2:
    if (slots[s].p && lm_usable_size(slots[s].p) != slots[s].usable)
      FAIL("lm_usable_size(slot %d) changed from %zu to %zu", s,
           slots[s].usable, lm_usable_size(slots[s].p));
    break;
  case 3:
    release(s);
    do_malloc(s, size);
    break;
  }
}

static void start_input(void) {
  debug = lm_debug_enabled();
  /* A small quarantine: lm_check reads all of it each time, and blocks
   * leave it (checked) within an input. */
  lm_quarantine_limit(QUARANTINE);
  lm_pages_reset();
  memset(&lm_default_heap, 0, sizeof lm_default_heap);
  memset(slots, 0, sizeof slots);
  cap = CAP;
  lm_set_heap_limit(cap);
  foreign_pages = 0;
  fault_armed = 0;
  serial = 1;
  lm_set_report_handler(report_is_bug, NULL);
}

static void end_input(void) {
  lm_pages_fail_after(-1);
  fault_armed = 0;
  for (int i = 0; i < SLOTS; i++)
    release(i);
  if (lm_quarantine_flush() != 0) /* the debug library: before reset */
    FAIL("a freed block was written to (found by lm_quarantine_flush)");
  check_heap("after freeing everything");
  lm_stats_t st = {.version = LM_STATS_VERSION, .size = sizeof st};
  lm_stats(&st);
  if (st.free_blocks != st.spans || st.slabs != 0)
    FAIL("everything freed, yet %zu free blocks in %zu spans, %zu slabs",
         st.free_blocks, st.spans, st.slabs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  start_input();
  for (op_index = 0; op_index + 1 <= len / 4; op_index++) {
    const uint8_t *r = data + 4 * op_index;
    unsigned kind = r[0] & 7, x = r[0] >> 3;
    int s = r[1] % SLOTS;
    uint16_t v = (uint16_t)(r[2] | r[3] << 8);
    size_t size = decode_size(v);
    /* The debug library writes every byte at malloc and at free: large
     * blocks are scaled down to keep its fuzzer fast. */
    if (debug && size > 4096 && size <= LM_MAX_REQUEST)
      size = 4096 + (size - 4096) / 16;
    switch (kind) {
    case 0:
      do_malloc(s, size);
      break;
    case 1:
      do_calloc(s, x, size);
      break;
    case 2:
      do_realloc(s, size);
      break;
    case 3:
      release(s);
      break;
    case 4:
      do_aligned(s, x, v, size);
      break;
    case 5: /* never 0, which would lift the cap */
      cap = x == 0 ? CAP : heap_bytes() + (size_t)(v % 64) * LM_PAGE_SIZE;
      cap = cap ? cap : 1;
      lm_set_heap_limit(cap);
      break;
    case 6:
      lm_pages_fail_after((int)(x % 4));
      fault_armed = 1;
      break;
    case 7:
      do_other(s, x, v, size);
      break;
    }
    fault_fired(); /* a failure injected during this call is spent */
    if (op_index < CHECK_ALL || op_index % CHECK_EVERY == 0)
      check_heap("after the operation");
  }
  end_input();
  return 0;
}
