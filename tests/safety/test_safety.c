/* test_safety: every bad input and its outcome, as a table, against the
 * release library (test_safety) and the debug library (test_safety_debug):
 * the same source, linked to liblmalloc.a or liblmalloc-debug.a; it asks
 * lm_debug_enabled() which column applies.
 *
 * A row is one call (or a short misuse: a write past a block, into a freed
 * one, ...) with its expected outcome in each library:
 *   OK        a valid block (aligned, big enough, calloc's zero), no report
 *   NULL      NULL with errno unchanged, no report (realloc(p, 0))
 *   NONE      nothing happens, no report (free(NULL))
 *   ENOMEM    NULL, errno ENOMEM, no report
 *   EINVAL    NULL, errno EINVAL, no report
 *   DOUBLE_FREE, INVALID, USE_AFTER_FREE, OVERFLOW, UNDERFLOW
 *             exactly one report of that kind (the handler continues, so
 *             the bad call does nothing)
 *   skip      not run: the library cannot survive it (a write the release
 *             library has no guard for; a stale pointer whose memory may
 *             have been handed out again)
 * After every row, bystander blocks allocated at the start must still hold
 * their bytes and lm_check() must be 0 (any report it makes fails).
 *
 * Three passes:
 *   1. the table on a normal heap;
 *   2. the table at the maximum heap: before each row (its fixtures made
 *      first), the heap is filled until nothing fits under a limit set to
 *      what it holds (lm_set_heap_limit), so every allocation must fail
 *      with ENOMEM (a shrinking realloc still works in place in the
 *      release library);
 *   3. (native builds: the host page source's fault injection) memory.grow
 *      failing at each point a call grows memory: the heap is filled, the
 *      limit lifted, and the k-th grow of the call made to fail, for
 *      k = 0, 1, ... until the call no longer reaches a k-th grow; with and
 *      without foreign growth just before (a new span). Each time: a valid
 *      block, or NULL with ENOMEM; nothing else changes.
 */
#include "testlib.h"

#ifdef LM_TEST_FAULTS
#include "pages.h" /* lm_pages_fail_after, lm_pages_foreign_grow */
#endif

typedef enum outcome {
  SAME = 0, /* at the cap: as on a normal heap (OK becomes ENOMEM) */
  OK,
  NUL,
  NONE,
  E_NOMEM,
  E_INVAL,
  R_DOUBLE_FREE,
  R_INVALID,
  R_UAF,
  R_OVERFLOW,
  R_UNDERFLOW,
  SKIP,
} outcome_t;

static const char *outcome_name(outcome_t o) {
  static const char *names[] = {"same",        "OK",        "NULL",
                                "NONE",        "ENOMEM",    "EINVAL",
                                "DOUBLE_FREE", "INVALID",   "USE_AFTER_FREE",
                                "OVERFLOW",    "UNDERFLOW", "skip"};
  return names[o];
}

/* ---------------------------------------------------------------------
 * Reports seen during a row
 * ------------------------------------------------------------------- */

typedef struct seen {
  unsigned count;
  lm_report_t first;
} seen_t;

static seen_t seen;

static int record(const lm_report_t *r, void *ctx) {
  (void)ctx;
  if (seen.count++ == 0)
    seen.first = *r;
  return 1; /* continue: the bad call does nothing */
}

static int ignore(const lm_report_t *r, void *ctx) {
  (void)r;
  (void)ctx;
  return 1;
}

/* ---------------------------------------------------------------------
 * Fixtures: blocks a row works on, made before the heap is filled
 * ------------------------------------------------------------------- */

#define FX_SIZE 100
static unsigned char *fx;      /* the row's block */
static unsigned char *fx_keep; /* keeps fx's slab alive (see freed_slab) */
static unsigned char saved;    /* a byte a misuse overwrote */
static size_t check_result;    /* lm_check inside a row; SIZE_MAX: none */
static _Alignas(16) unsigned char not_heap[64]; /* static: never lmalloc's */

static void *fx_live(void) {
  fx = lm_malloc(FX_SIZE);
  if (fx)
    tl_fill(fx, FX_SIZE, tl_tag(0xF1, 0));
  return fx;
}
static void *fx_live_1000_zero(void) {
  fx = lm_calloc(1, 1000);
  return fx;
}
static void *fx_freed(void) {
  fx = tl_keep(lm_malloc(1000));
  lm_free(fx);
  return fx;
}
/* A freed small object whose slab stays alive (another object in it), so
 * the pointer stays "an object of this slab that is free". */
static void *fx_freed_object(void) {
  fx = tl_keep(lm_malloc(24));
  fx_keep = tl_keep(lm_malloc(24));
  lm_free(fx);
  return fx;
}

/* The same, after the quarantine let it go (debug library): the object
 * is free in the heap, and the debug header is gone. */
static void *fx_freed_object_flushed(void) {
  fx_freed_object();
  lm_quarantine_flush();
  return fx;
}

/* A block of a buffer heap that was then destroyed: fx points into the
 * buffer (fx_keep, a block of the default heap), where the block's old
 * bytes, debug header included, are still there. */
#define STALE_SIZE 1000
static void *fx_stale_buffer_heap(void) {
  fx_keep = tl_keep(lm_malloc(16384));
  lm_heap_t *h = fx_keep ? lm_heap_create(fx_keep, 16384) : NULL;
  fx = h ? lm_heap_malloc(h, STALE_SIZE) : NULL;
  if (fx)
    tl_fill(fx, STALE_SIZE, tl_tag(0xF3, 0));
  if (h)
    lm_heap_destroy(h);
  return fx;
}

/* What a row's cleanup does with the fixture: free it if still live. */
static int fx_is_live;

/* ---------------------------------------------------------------------
 * The rows
 * ------------------------------------------------------------------- */

typedef struct row {
  const char *name;
  void *(*act)(void);
  void *(*setup)(void); /* NULL: none */
  int fx_live_after;    /* the fixture is live after the call (if no OK) */
  size_t size;          /* OK: bytes the block must have */
  int zeroed;           /* OK: must read as zero */
  size_t align;         /* OK: alignment to check (0: 16) */
  outcome_t release, debug, release_cap, debug_cap;
} row_t;

#define A(name) static void *name(void)

A(malloc_0) { return lm_malloc(0); }
A(malloc_1) { return lm_malloc(1); }
A(malloc_max) { return lm_malloc(SIZE_MAX); }
A(malloc_max_15) { return lm_malloc(SIZE_MAX - 15); }
A(malloc_req_1) { return lm_malloc(LM_MAX_REQUEST + 1); }
A(malloc_req) { return lm_malloc(LM_MAX_REQUEST); }
A(calloc_0_0) { return lm_calloc(0, 0); }
A(calloc_0_max) { return lm_calloc(0, SIZE_MAX); }
A(calloc_max_2) { return lm_calloc(SIZE_MAX, 2); }
A(calloc_wrap) { return lm_calloc(2, SIZE_MAX / 2 + 1); }
A(calloc_4g) { return lm_calloc(65536, 65537); }
A(calloc_max_15) { return lm_calloc(SIZE_MAX - 15, 1); }
A(calloc_1m) { return lm_calloc(1000, 1000); }
A(realloc_null_0) { return lm_realloc(NULL, 0); }
A(realloc_null_max) { return lm_realloc(NULL, SIZE_MAX); }
A(realloc_p_0) { return lm_realloc(fx, 0); }
A(realloc_p_max) { return lm_realloc(fx, SIZE_MAX); }
A(realloc_p_max_15) { return lm_realloc(fx, SIZE_MAX - 15); }
A(realloc_p_req_1) { return lm_realloc(fx, LM_MAX_REQUEST + 1); }
A(realloc_p_1) { return lm_realloc(fx, 1); }
A(realloc_p_5000) { return lm_realloc(fx, 5000); }
A(aligned_0) { return lm_aligned_alloc(0, 16); }
A(aligned_3) { return lm_aligned_alloc(3, 16); }
A(aligned_48) { return lm_aligned_alloc(48, 16); }
A(aligned_2g) { return lm_aligned_alloc((size_t)1 << 31, 16); }
A(aligned_1) { return lm_aligned_alloc(1, 10); }
A(aligned_64_0) { return lm_aligned_alloc(64, 0); }
A(aligned_4k) { return lm_aligned_alloc(4096, 100); }
A(aligned_1m) { return lm_aligned_alloc((size_t)1 << 20, 100); }
A(aligned_16_max) { return lm_aligned_alloc(16, SIZE_MAX); }
A(aligned_4k_max_15) { return lm_aligned_alloc(4096, SIZE_MAX - 15); }
A(aligned_1g_req) { return lm_aligned_alloc(LM_MAX_ALIGNMENT, LM_MAX_REQUEST); }
A(free_null) {
  lm_free(NULL);
  return NULL;
}
A(free_p) {
  lm_free(fx);
  return NULL;
}
A(free_p16) {
  lm_free(fx + 16);
  return NULL;
}
A(free_p8) {
  lm_free(fx + 8);
  return NULL;
}
A(free_static) {
  lm_free(not_heap + 16);
  return NULL;
}
A(free_stack) {
  _Alignas(16) unsigned char local[32];
  lm_free(tl_keep(local));
  return NULL;
}
A(free_one) {
  lm_free((void *)(uintptr_t)1);
  return NULL;
}
A(realloc_p_10) { return lm_realloc(fx, 10); }
A(realloc_p16_10) { return lm_realloc(fx + 16, 10); }
A(realloc_static_10) { return lm_realloc(not_heap + 16, 10); }
static size_t usable_result;
A(usable_p) {
  usable_result = lm_usable_size(fx);
  return NULL;
}
A(usable_static) {
  usable_result = lm_usable_size(not_heap);
  return NULL;
}
A(usable_null) {
  usable_result = lm_usable_size(NULL);
  return NULL;
}
/* Misuse the debug library catches and the release library may not. */
/* OVER_SIZE bytes: the release library's object is 24 (LM_ALIGNMENT 8)
 * or 32 (16), so one byte past them lands in its slack. */
#define OVER_SIZE 20
A(overflow_then_free) {
  fx = lm_malloc(OVER_SIZE);
  if (!fx)
    return NULL; /* at the cap */
  fx[OVER_SIZE] = 0;
  lm_free(fx);
  return NULL;
}
A(overflow_then_realloc) {
  fx[FX_SIZE] = 0; /* the release library's object is 104 or 112 bytes */
  return lm_realloc(fx, 2 * FX_SIZE);
}
A(overflow_then_check) {
  fx[FX_SIZE + 3] = 0;
  check_result = lm_check();
  return NULL;
}
/* A 1000-byte block (a block, not a slab object, in both libraries). The
 * release library's usable size ends at the block's seal (its last 4
 * bytes, block.h); the debug library's at the requested size, where its
 * guard starts. Either way the 4 bytes written are the library's. */
static unsigned char seal_saved[4], *seal_at;
A(overflow_past_usable_then_free) {
  seal_at = fx + lm_usable_size(fx);
  memcpy(seal_saved, seal_at, 4);
  memset(seal_at, 0x5A, 4);
  lm_free(fx);
  return NULL;
}
/* Program data before an interior pointer that reads as a used block's
 * header: 768 bytes, in use, ending inside the same block (the fuzz
 * reproducer tests/fuzz/crashes/fuzz_misuse-forged-header-below-top). */
A(free_p48_forged_header) {
  uint32_t w = 768;
  memcpy(fx + 44, &w, 4);
  lm_free(fx + 48);
  return NULL;
}
A(underflow_then_free) {
  saved = fx[-1];
  /* Flip a bit rather than store a constant: the byte is part of a canary
   * keyed to the block's address, which may happen to hold that constant
   * (natively the address changes with ASLR: 1 run in 256 failed). */
  fx[-1] ^= 0x40;
  lm_free(fx);
  return NULL;
}
A(underflow_then_check) {
  saved = fx[-1];
  fx[-1] ^= 0x40;
  check_result = lm_check();
  return NULL;
}
A(uaf_then_check) {
  lm_free(fx);
  fx[3] = 1;
  check_result = lm_check();
  return NULL;
}
A(uaf_then_evict) {
  lm_free(fx);
  fx[0] = 1;
  size_t old = lm_quarantine_limit(0); /* everything leaves, checked */
  lm_quarantine_limit(old);
  return NULL;
}
/* A heap created and destroyed while a freed block of the default heap,
 * written after its free, waits in the quarantine: the block stays there
 * (destroy gives back only that heap's blocks), so lm_check still finds
 * the write. */
A(uaf_then_destroy_other_heap) {
  lm_free(fx);
  fx[3] = 1;
  /* A buffer heap: a heap of its own pages would leave them in the page
   * pool, where later growth of the default heap would find them instead
   * of calling memory.grow (the fault pass counts those calls). */
  void *buf = lm_malloc(16384);
  lm_heap_destroy(buf ? lm_heap_create(buf, 16384) : NULL);
  lm_free(buf);
  check_result = lm_check();
  return NULL;
}
A(stale_after_realloc) {
  unsigned char *q = lm_realloc(fx, 2 * FX_SIZE);
  fx[0] ^= 1; /* through the old pointer */
  check_result = lm_check();
  fx = q;
  return NULL;
}

#define ROW(name, act, setup, live, rel, dbg)                                  \
  { name, act, setup, live, 0, 0, 0, rel, dbg, SAME, SAME }
#define ROW_CAP(name, act, setup, live, rel, dbg, relc, dbgc)                  \
  { name, act, setup, live, 0, 0, 0, rel, dbg, relc, dbgc }
#define ROW_OK(name, act, setup, size, zeroed, align)                          \
  { name, act, setup, 0, size, zeroed, align, OK, OK, SAME, SAME }

static const row_t rows[] = {
    /* sizes */
    ROW_OK("malloc(0)", malloc_0, NULL, 0, 0, 0),
    ROW_OK("malloc(1)", malloc_1, NULL, 1, 0, 0),
    ROW("malloc(SIZE_MAX)", malloc_max, NULL, 0, E_NOMEM, E_NOMEM),
    ROW("malloc(SIZE_MAX - 15)", malloc_max_15, NULL, 0, E_NOMEM, E_NOMEM),
    ROW("malloc(LM_MAX_REQUEST + 1)", malloc_req_1, NULL, 0, E_NOMEM, E_NOMEM),
    ROW("malloc(LM_MAX_REQUEST)", malloc_req, NULL, 0, E_NOMEM, E_NOMEM),
    ROW_OK("calloc(0, 0)", calloc_0_0, NULL, 0, 1, 0),
    ROW_OK("calloc(0, SIZE_MAX)", calloc_0_max, NULL, 0, 1, 0),
    ROW("calloc(SIZE_MAX, 2)", calloc_max_2, NULL, 0, E_NOMEM, E_NOMEM),
    ROW("calloc(2, SIZE_MAX/2 + 1) (wraps to 0)", calloc_wrap, NULL, 0, E_NOMEM,
        E_NOMEM),
    ROW("calloc(65536, 65537)", calloc_4g, NULL, 0, E_NOMEM, E_NOMEM),
    ROW("calloc(SIZE_MAX - 15, 1)", calloc_max_15, NULL, 0, E_NOMEM, E_NOMEM),
    ROW_OK("calloc(1000, 1000)", calloc_1m, NULL, 1000000, 1, 0),
    ROW_OK("realloc(NULL, 0)", realloc_null_0, NULL, 0, 0, 0),
    ROW("realloc(NULL, SIZE_MAX)", realloc_null_max, NULL, 0, E_NOMEM, E_NOMEM),
    ROW("realloc(p, 0) frees p", realloc_p_0, fx_live, 0, NUL, NUL),
    ROW("realloc(p, SIZE_MAX) keeps p", realloc_p_max, fx_live, 1, E_NOMEM,
        E_NOMEM),
    ROW("realloc(p, SIZE_MAX - 15) keeps p", realloc_p_max_15, fx_live, 1,
        E_NOMEM, E_NOMEM),
    ROW("realloc(p, LM_MAX_REQUEST + 1) keeps p", realloc_p_req_1, fx_live, 1,
        E_NOMEM, E_NOMEM),
    /* A shrink stays in place in the release library; the debug library
     * always moves a block. */
    {"realloc(p, 1)", realloc_p_1, fx_live, 1, 1, 0, 0, OK, OK, OK, E_NOMEM},
    {"realloc(p, 5000)", realloc_p_5000, fx_live, 1, 5000, 0, 0, OK, OK, SAME,
     SAME},
    /* alignments */
    ROW("aligned_alloc(0, 16)", aligned_0, NULL, 0, E_INVAL, E_INVAL),
    ROW("aligned_alloc(3, 16)", aligned_3, NULL, 0, E_INVAL, E_INVAL),
    ROW("aligned_alloc(48, 16)", aligned_48, NULL, 0, E_INVAL, E_INVAL),
    ROW("aligned_alloc(2^31, 16)", aligned_2g, NULL, 0, E_INVAL, E_INVAL),
    ROW_OK("aligned_alloc(1, 10)", aligned_1, NULL, 10, 0, 0),
    ROW_OK("aligned_alloc(64, 0)", aligned_64_0, NULL, 0, 0, 64),
    ROW_OK("aligned_alloc(4096, 100)", aligned_4k, NULL, 100, 0, 4096),
    ROW_OK("aligned_alloc(2^20, 100)", aligned_1m, NULL, 100, 0, 1 << 20),
    ROW("aligned_alloc(16, SIZE_MAX)", aligned_16_max, NULL, 0, E_NOMEM,
        E_NOMEM),
    ROW("aligned_alloc(4096, SIZE_MAX - 15)", aligned_4k_max_15, NULL, 0,
        E_NOMEM, E_NOMEM),
    ROW("aligned_alloc(LM_MAX_ALIGNMENT, LM_MAX_REQUEST)", aligned_1g_req, NULL,
        0, E_NOMEM, E_NOMEM),
    /* pointers lmalloc never returned, or no longer owns */
    ROW("free(NULL)", free_null, NULL, 0, NONE, NONE),
    ROW_CAP("free(p) twice (double free)", free_p, fx_freed, 0, R_DOUBLE_FREE,
            R_DOUBLE_FREE, SKIP, SKIP),
    ROW_CAP("free(object) twice (double free)", free_p, fx_freed_object, 0,
            R_DOUBLE_FREE, R_DOUBLE_FREE, SKIP, SKIP),
    ROW("free(p + 16), p a 1000-byte block", free_p16, fx_live_1000_zero, 1,
        R_INVALID, R_INVALID),
    ROW("free(p + 16), p a 100-byte object", free_p16, fx_live, 1, R_INVALID,
        R_INVALID),
    ROW("free(p + 48), the 4 bytes before it 768 (a used header)",
        free_p48_forged_header, fx_live_1000_zero, 1, R_INVALID, R_INVALID),
    ROW("free(p + 8) (misaligned)", free_p8, fx_live, 1, R_INVALID, R_INVALID),
    ROW("free(static array)", free_static, NULL, 0, R_INVALID, R_INVALID),
    ROW("free(p), p a block of a destroyed buffer heap", free_p,
        fx_stale_buffer_heap, 0, R_INVALID, R_INVALID),
    ROW("free(stack array)", free_stack, NULL, 0, R_INVALID, R_INVALID),
    ROW("free((void *)1)", free_one, NULL, 0, R_INVALID, R_INVALID),
    ROW_CAP("realloc(freed p, 10)", realloc_p_10, fx_freed, 0, R_DOUBLE_FREE,
            R_DOUBLE_FREE, SKIP, SKIP),
    ROW_CAP("realloc(freed object, 10)", realloc_p_10, fx_freed_object, 0,
            R_DOUBLE_FREE, R_DOUBLE_FREE, SKIP, SKIP),
    ROW("realloc(p + 16, 10)", realloc_p16_10, fx_live_1000_zero, 1, R_INVALID,
        R_INVALID),
    ROW("realloc(static array, 10)", realloc_static_10, NULL, 0, R_INVALID,
        R_INVALID),
    ROW_CAP("usable_size(freed 1000-byte block)", usable_p, fx_freed, 0,
            R_DOUBLE_FREE, R_DOUBLE_FREE, SKIP, SKIP),
    ROW_CAP("usable_size(freed object)", usable_p, fx_freed_object, 0,
            R_DOUBLE_FREE, R_DOUBLE_FREE, SKIP, SKIP),
    ROW("usable_size(static array)", usable_static, NULL, 0, R_INVALID,
        R_INVALID),
    ROW("usable_size(NULL)", usable_null, NULL, 0, NONE, NONE),
    /* misuse: writes out of bounds and after free */
    ROW_CAP("write 1 byte past 20 bytes, free", overflow_then_free, NULL, 0,
            NONE, R_OVERFLOW, E_NOMEM, E_NOMEM),
    {"write 1 byte past 100 bytes, realloc(p, 200)", overflow_then_realloc,
     fx_live, 1, 2 * FX_SIZE, 0, 0, OK, R_OVERFLOW, E_NOMEM, R_OVERFLOW},
    ROW("write past 100 bytes, lm_check", overflow_then_check, fx_live, 1, NONE,
        R_OVERFLOW),
    ROW("write 4 bytes past a 1000-byte block's usable size, free",
        overflow_past_usable_then_free, fx_live_1000_zero, 1, R_INVALID,
        R_OVERFLOW),
    ROW("write p[-1], free", underflow_then_free, fx_live, 1, SKIP,
        R_UNDERFLOW),
    ROW("write p[-1], lm_check", underflow_then_check, fx_live, 1, SKIP,
        R_UNDERFLOW),
    ROW("free(p), write p[3], lm_check", uaf_then_check, fx_live, 0, SKIP,
        R_UAF),
    ROW("free(p), write p[0], leaves the quarantine", uaf_then_evict, fx_live,
        0, SKIP, R_UAF),
    /* Not at the cap: the heap's buffer would not fit, and the debug
     * library's malloc empties the quarantine before it fails. */
    ROW_CAP("free(p), write p[3], another heap destroyed, lm_check",
            uaf_then_destroy_other_heap, fx_live, 0, SKIP, R_UAF, SKIP, SKIP),
    ROW_CAP("q = realloc(p, 200), write p[0], lm_check", stale_after_realloc,
            fx_live, 1, SKIP, R_UAF, SKIP, SKIP),
    ROW_CAP("free(object) after the quarantine let it go", free_p,
            fx_freed_object_flushed, 0, R_DOUBLE_FREE, R_DOUBLE_FREE, SKIP,
            SKIP),
};
#define ROWS (sizeof rows / sizeof rows[0])

/* ---------------------------------------------------------------------
 * Bystanders and the full heap
 * ------------------------------------------------------------------- */

static const size_t bystander_sizes[] = {1,   16,   24,    100, 256,
                                         300, 4000, 70000, 64,  2000};
#define BYSTANDERS (sizeof bystander_sizes / sizeof bystander_sizes[0])
static unsigned char *bystander[BYSTANDERS];

static void make_bystanders(void) {
  for (size_t i = 0; i < BYSTANDERS; i++) {
    bystander[i] = i == 8 ? lm_aligned_alloc(64, bystander_sizes[i])
                          : lm_malloc(bystander_sizes[i]);
    CHECK(bystander[i] != NULL, "bystander %zu", i);
    if (bystander[i])
      tl_fill(bystander[i], bystander_sizes[i], tl_tag(0xB5, (uint32_t)i));
  }
}

static int bystanders_intact(void) {
  for (size_t i = 0; i < BYSTANDERS; i++)
    if (bystander[i] &&
        tl_verify(bystander[i], bystander_sizes[i],
                  tl_tag(0xB5, (uint32_t)i)) != bystander_sizes[i])
      return 0;
  return 1;
}

#define MAX_FILL 200000
static void *filler[MAX_FILL];
static size_t nfill;

static void fill_with(size_t size) {
  while (nfill < MAX_FILL && (filler[nfill] = lm_malloc(size)) != NULL)
    nfill++;
}

/* Fills the heap until nothing more fits under a limit equal to what it
 * holds now: blocks of shrinking sizes, then every small-object class
 * (each has its own slabs, which may have room when others have none). */
static void fill_heap(void) {
  static const size_t sizes[] = {1 << 20, 65536, 4096, 1024, 512};
  lm_stats_t s = tl_stats();
  lm_set_heap_limit(s.heap_bytes);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    fill_with(sizes[i]);
  for (size_t size = 256 + LM_ALIGNMENT; size >= 16; size -= LM_ALIGNMENT)
    fill_with(size);
  fill_with(1);
  fill_with(0);
  CHECK(nfill < MAX_FILL, "the heap filled up with fewer than %d blocks",
        MAX_FILL);
}

static void unfill(void) {
  while (nfill)
    lm_free(filler[--nfill]);
  lm_set_heap_limit(0);
}

/* ---------------------------------------------------------------------
 * Running a row
 * ------------------------------------------------------------------- */

static int debug;

static outcome_t expected(const row_t *r, int at_cap) {
  outcome_t o = debug ? r->debug : r->release;
  if (at_cap) {
    outcome_t c = debug ? r->debug_cap : r->release_cap;
    if (c != SAME)
      o = c;
    else if (o == OK)
      o = E_NOMEM;
  }
  return o;
}

/* Frees what a row left: its result, its fixture, and repairs what a
 * misuse row broke. Reports are ignored here: the row was checked. */
static void clean_up(const row_t *r, void *result) {
  lm_set_report_handler(ignore, NULL);
  if (r->act == overflow_then_free && debug && fx) {
    fx[OVER_SIZE] = LM_DEBUG_GUARD_BYTE; /* the free did nothing: redo it */
    lm_free(fx);
  }
  if (r->act == overflow_then_realloc || r->act == overflow_then_check) {
    fx[r->act == overflow_then_realloc ? FX_SIZE : FX_SIZE + 3] =
        debug ? LM_DEBUG_GUARD_BYTE : 0;
  }
  if (r->act == overflow_past_usable_then_free && fx)
    memcpy(seal_at, seal_saved, 4); /* the free did nothing: redone below */
  if ((r->act == underflow_then_free || r->act == underflow_then_check))
    fx[-1] = saved;
  if (r->act == uaf_then_check || r->act == uaf_then_destroy_other_heap)
    fx[3] = LM_DEBUG_FREED_BYTE;
  if (r->act == stale_after_realloc && debug)
    lm_quarantine_flush(); /* the stale write is reported again: ignored */
  if (result)
    lm_free(result);
  else if (fx_is_live && fx)
    lm_free(fx);
  if (fx_keep)
    lm_free(fx_keep);
  fx = fx_keep = NULL;
  lm_set_report_handler(NULL, NULL);
}

static void run_row(const row_t *r, int at_cap) {
  outcome_t want = expected(r, at_cap);
  const char *pass = at_cap ? "at the cap" : "normal heap";
  if (want == SKIP) {
    printf("  %-50s skip\n", r->name);
    return;
  }
  fx = fx_keep = NULL;
  if (r->setup)
    CHECK(r->setup() != NULL, "%s (%s): setup", r->name, pass);
  fx_is_live = r->fx_live_after;
  if (at_cap)
    fill_heap();

  seen.count = 0;
  check_result = SIZE_MAX;
  lm_set_report_handler(record, NULL);
  errno = 12345;
  void *result = tl_keep(r->act());
  int err = errno;
  lm_set_report_handler(NULL, NULL);

  outcome_t got;
  if (seen.count) {
    switch (seen.first.kind) {
    case LM_REPORT_DOUBLE_FREE:
      got = R_DOUBLE_FREE;
      break;
    case LM_REPORT_INVALID_FREE:
      got = R_INVALID;
      break;
    case LM_REPORT_USE_AFTER_FREE:
      got = R_UAF;
      break;
    case LM_REPORT_OVERFLOW:
      got = R_OVERFLOW;
      break;
    case LM_REPORT_UNDERFLOW:
      got = R_UNDERFLOW;
      break;
    default:
      got = SKIP;
      break; /* LM_REPORT_CORRUPT: never right */
    }
  } else if (result) {
    got = OK;
  } else if (r->act == realloc_p_0) {
    got = err == 12345 ? NUL : SKIP;
  } else if (err == ENOMEM) {
    got = E_NOMEM;
  } else if (err == EINVAL) {
    got = E_INVAL;
  } else {
    got = err == 12345 ? NONE : SKIP;
  }
  /* Calls that must not return a block returned NULL, or it is wrong. */
  if (want != OK && result && got != OK)
    got = SKIP;
  printf("  %-50s %s\n", r->name, outcome_name(got));
  CHECK(got == want, "%s (%s): %s expected, got %s (errno %d, %u reports%s%s)",
        r->name, pass, outcome_name(want), outcome_name(got), err, seen.count,
        seen.count ? ": " : "", seen.count ? seen.first.message : "");
  if (seen.count)
    CHECK(seen.count == 1 || (r->act == overflow_then_check && debug),
          "%s (%s): one report, not %u", r->name, pass, seen.count);
  /* The debug library names the block: its allocation number, and its
   * free number once freed (a block still in the quarantine). */
  int freed =
      want == R_UAF || (want == R_DOUBLE_FREE &&
                        (r->setup == fx_freed || r->setup == fx_freed_object));
  if (debug && seen.count && (want >= R_UAF || freed)) {
    CHECK(seen.first.alloc_seq != 0, "%s: allocation number in the report",
          r->name);
    CHECK((seen.first.free_seq != 0) == freed, "%s: free number %llu", r->name,
          (unsigned long long)seen.first.free_seq);
  }
  /* A freed block or object handed to free or realloc again is a double
   * free; to usable_size, a use after free (the same kind, lmalloc.h):
   * the message says which. */
  if (seen.count && freed && want == R_DOUBLE_FREE) {
    const char *words = r->act == usable_p ? "use after free" : "double free";
    CHECK(strstr(seen.first.message, words) != NULL,
          "%s (%s): the report says \"%s\" (%s)", r->name, pass, words,
          seen.first.message);
  }
  if (check_result != SIZE_MAX)
    CHECK(check_result == (debug ? 1u : 0u), "%s: lm_check() = %zu", r->name,
          check_result);
  if (got == OK && result) {
    unsigned char *p = result;
    size_t align = r->align ? r->align : LM_ALIGNMENT;
    CHECK(tl_aligned(p, align), "%s: %p aligned to %zu", r->name, result,
          align);
    CHECK(lm_usable_size(p) >= r->size, "%s: usable %zu >= %zu", r->name,
          lm_usable_size(p), r->size);
    if (r->zeroed)
      CHECK(tl_first_nonzero(p, r->size) == r->size, "%s: zeroed", r->name);
    if (r->setup == fx_live && r->act != overflow_then_realloc) {
      size_t kept = r->size < FX_SIZE ? r->size : FX_SIZE;
      CHECK(tl_verify(p, kept, tl_tag(0xF1, 0)) == kept,
            "%s: the kept bytes moved with the block", r->name);
    }
    tl_fill(p, r->size, tl_tag(0x0C, 0)); /* all of it is writable */
  }
  if (!result && r->fx_live_after && fx && r->setup == fx_live &&
      r->act != overflow_then_realloc && r->act != overflow_then_check &&
      r->act != underflow_then_free && r->act != underflow_then_check &&
      r->act != stale_after_realloc)
    CHECK(tl_verify(fx, FX_SIZE, tl_tag(0xF1, 0)) == FX_SIZE,
          "%s (%s): the block kept its bytes", r->name, pass);
  if (r->act == usable_p || r->act == usable_static || r->act == usable_null)
    CHECK(usable_result == 0, "%s: 0", r->name);
  if (r->setup == fx_stale_buffer_heap && fx)
    CHECK(tl_verify(fx, STALE_SIZE, tl_tag(0xF3, 0)) == STALE_SIZE,
          "%s (%s): the buffer's bytes are untouched", r->name, pass);

  clean_up(r, got == OK ? result : NULL); /* repairs first: unfill frees */
  if (at_cap)
    unfill();
  CHECK(bystanders_intact(), "%s (%s): every other block kept its bytes",
        r->name, pass);
  size_t n = tl_lm_check();
  CHECK(n == 0, "%s (%s): lm_check() == 0 afterwards (%zu)", r->name, pass, n);
}

/* ---------------------------------------------------------------------
 * memory.grow failing at each point (host page source)
 * ------------------------------------------------------------------- */

#ifdef LM_TEST_FAULTS
static unsigned char *grow_fx;
static void *g_malloc_1(void) { return lm_malloc(1); }
static void *g_malloc_300(void) { return lm_malloc(300); }
static void *g_malloc_100k(void) { return lm_malloc(100000); }
static void *g_calloc_5000(void) { return lm_calloc(1, 5000); }
static void *g_aligned_4k(void) { return lm_aligned_alloc(4096, 100); }
static void *g_aligned_64k(void) { return lm_aligned_alloc(65536, 70000); }
static void *g_realloc_null(void) { return lm_realloc(NULL, 50); }
static void *g_realloc_grow(void) { return lm_realloc(grow_fx, 200000); }

static const struct {
  const char *name;
  void *(*act)(void);
  size_t size;
} grow_ops[] = {
    {"malloc(1)", g_malloc_1, 1},
    {"malloc(300)", g_malloc_300, 300},
    {"malloc(100000)", g_malloc_100k, 100000},
    {"calloc(1, 5000)", g_calloc_5000, 5000},
    {"aligned_alloc(4096, 100)", g_aligned_4k, 100},
    {"aligned_alloc(65536, 70000)", g_aligned_64k, 70000},
    {"realloc(NULL, 50)", g_realloc_null, 50},
    {"realloc(p, 200000)", g_realloc_grow, 200000},
};

static void fault_pass(void) {
  size_t points = 0, failures = 0;
  for (int foreign = 0; foreign < 2; foreign++)
    for (size_t i = 0; i < sizeof grow_ops / sizeof grow_ops[0]; i++)
      for (int k = 0; k < 8; k++) {
        grow_fx = lm_malloc(3000);
        tl_fill(grow_fx, 3000, tl_tag(0x6F, 0));
        fill_heap();
        lm_set_heap_limit(0); /* full, but memory may grow */
        if (foreign)
          CHECK(lm_pages_foreign_grow(1) == 0, "foreign growth");
        seen.count = 0;
        lm_set_report_handler(record, NULL);
        lm_pages_fail_after(k);
        errno = 0;
        unsigned char *p = tl_keep(grow_ops[i].act());
        int err = errno;
        int fired = lm_pages_fail_after(-1) == -1;
        lm_set_report_handler(NULL, NULL);
        points += fired;
        CHECK(seen.count == 0, "%s, grow %d fails: no report (%s)",
              grow_ops[i].name, k, seen.count ? seen.first.message : "");
        if (p) {
          CHECK(lm_usable_size(p) >= grow_ops[i].size, "%s: usable",
                grow_ops[i].name);
          if (grow_ops[i].act == g_realloc_grow) {
            CHECK(tl_verify(p, 3000, tl_tag(0x6F, 0)) == 3000,
                  "realloc kept the bytes");
            grow_fx = NULL;
          }
          tl_fill(p, grow_ops[i].size, tl_tag(0x6E, 0));
        } else {
          failures++;
          CHECK(fired && err == ENOMEM,
                "%s, grow %d fails: NULL only when a "
                "grow failed, with ENOMEM (errno %d)",
                grow_ops[i].name, k, err);
          CHECK(tl_verify(grow_fx, 3000, tl_tag(0x6F, 0)) == 3000,
                "%s, grow %d fails: the block kept its bytes", grow_ops[i].name,
                k);
        }
        CHECK(tl_lm_check() == 0, "%s, grow %d fails: lm_check() == 0",
              grow_ops[i].name, k);
        unfill();
        lm_free(p);
        lm_free(grow_fx);
        CHECK(bystanders_intact(), "%s, grow %d fails: bystanders intact",
              grow_ops[i].name, k);
        if (!fired)
          break; /* the call reaches no k-th grow: every point is done */
      }
  printf("fault injection: %zu failing memory.grow points, %zu calls "
         "returned NULL (ENOMEM)\n",
         points, failures);
  CHECK(points >= 2 * (sizeof grow_ops / sizeof grow_ops[0]),
        "every call grew memory at least once (%zu points)", points);
}
#endif

int main(void) {
  debug = lm_debug_enabled();
  printf("test_safety: the %s library\n", debug ? "debug" : "release");
  fflush(stdout);
  make_bystanders();
  for (int at_cap = 0; at_cap < 2; at_cap++) {
    printf("%s:\n", at_cap ? "at the maximum heap" : "normal heap");
    for (size_t i = 0; i < ROWS; i++)
      run_row(&rows[i], at_cap);
  }
#ifdef LM_TEST_FAULTS
  fault_pass();
#else
  printf("fault injection: not in this build (host page source only)\n");
#endif
  for (size_t i = 0; i < BYSTANDERS; i++)
    lm_free(bystander[i]);
  lm_quarantine_flush();
  CHECK(tl_lm_check() == 0, "healthy at the end");
  return tl_finish();
}
