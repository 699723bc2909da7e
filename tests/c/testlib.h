/* testlib: the tiny harness every C test of lmalloc shares.
 *
 * What it owns, and nothing else:
 *   - CHECK(cond, fmt, ...): records a pass or a failure (with file:line,
 *     the condition and a message) and carries on, so one run shows every
 *     broken case, not just the first;
 *   - the seed: `--seed N` on the command line, else env LM_SEED, else
 *     the clock; always printed as "seed: N (rerun with --seed N)", and a
 *     small deterministic generator (splitmix64) driven by it;
 *   - a counting report handler, for tests that provoke reports on purpose
 *     (it returns 1, so the bad call does nothing and the test continues);
 *   - tl_lm_check(): lm_check() that also counts the findings it reports,
 *     so a checker that reports a problem but returns 0 still fails;
 *   - byte patterns to fill blocks and verify them later;
 *   - heap queries built on the public walker: tl_stats, tl_find (a block
 *     and its right neighbour), tl_check_all_free (one free block per span
 *     once everything is freed).
 * tl_finish() prints the summary line "N passed, N failed" and returns the
 * exit status (1 if anything failed).
 *
 * Tests use only the public API (lmalloc.h). They are built with
 * -fno-builtin, and keep pointers they only compare with NULL alive
 * through tl_keep() (a volatile sink), so the compiler cannot delete an
 * allocation whose failure the test is about (TOOLCHAIN.md trap 8).
 *
 * Header-only on purpose: each test is one executable and one .c file.
 */
#ifndef LM_TESTLIB_H
#define LM_TESTLIB_H

/* clock_gettime and opendir under -std=c11: include this header first. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lmalloc.h"

/* ---------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------- */

/* Failures printed in full; later ones are only counted. */
#define TL_MAX_PRINTED 100

static unsigned long tl_passed, tl_failed;

static inline void tl_check(int ok, const char *file, int line,
                            const char *expr, const char *fmt, ...) {
  if (ok) {
    tl_passed++;
    return;
  }
  tl_failed++;
  if (tl_failed > TL_MAX_PRINTED) {
    if (tl_failed == TL_MAX_PRINTED + 1)
      fprintf(stderr, "(further failures are counted, not printed)\n");
    return;
  }
  fprintf(stderr, "FAIL %s:%d: %s: ", file, line, expr);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* CHECK(cond, fmt, ...): fmt is a printf format saying what was expected. */
#define CHECK(cond, ...)                                                       \
  tl_check((cond) ? 1 : 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

/* The one line every test ends with, and the exit status. */
static inline int tl_finish(void) {
  printf("%lu passed, %lu failed\n", tl_passed, tl_failed);
  fflush(stdout);
  return tl_failed ? 1 : 0;
}

/* ---------------------------------------------------------------------
 * Command line, seed and random numbers
 * ------------------------------------------------------------------- */

/* The value after option `name` (e.g. "--ops"), or NULL. */
static inline const char *tl_option(int argc, char **argv, const char *name) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0)
      return argv[i + 1];
  return NULL;
}

/* The first argument that is neither an option nor an option's value. */
static inline const char *tl_positional(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) == 0) {
      i++; /* skip the option's value */
      continue;
    }
    return argv[i];
  }
  return NULL;
}

/* Numeric option with a default. */
static inline unsigned long
tl_option_ul(int argc, char **argv, const char *name, unsigned long fallback) {
  const char *v = tl_option(argc, argv, name);
  return v ? strtoul(v, NULL, 0) : fallback;
}

static uint64_t tl_rng_state;

/* splitmix64: tiny, fast, and every seed gives a good sequence. */
static inline uint64_t tl_rand(void) {
  uint64_t z = (tl_rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (inclusive); hi - lo is far below 2^64, so the
 * modulo bias does not matter for a test. */
static inline uint64_t tl_range(uint64_t lo, uint64_t hi) {
  return lo + tl_rand() % (hi - lo + 1);
}

/* Picks the seed (--seed N, else LM_SEED, else the clock), prints it and
 * seeds tl_rand. Returns the seed. */
static inline uint64_t tl_seed(int argc, char **argv) {
  const char *v = tl_option(argc, argv, "--seed");
  if (!v)
    v = getenv("LM_SEED");
  uint64_t seed;
  if (v && *v) {
    seed = strtoull(v, NULL, 0);
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec;
    seed %= 1000000000u; /* short enough to retype */
  }
  printf("seed: %llu (rerun with --seed %llu)\n", (unsigned long long)seed,
         (unsigned long long)seed);
  fflush(stdout);
  tl_rng_state = seed;
  return seed;
}

/* Seconds since an arbitrary point, for timing. */
static inline double tl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------
 * Keeping pointers alive (TOOLCHAIN.md trap 8)
 * ------------------------------------------------------------------- */

static void *volatile tl_sink;

/* Returns p after storing it where the compiler cannot see it used. */
static inline void *tl_keep(void *p) {
  tl_sink = p;
  return tl_sink;
}

/* ---------------------------------------------------------------------
 * Counting report handler
 * ------------------------------------------------------------------- */

typedef struct tl_reports {
  unsigned long count[4]; /* indexed by lm_report_kind_t (1..3) */
  unsigned long total;
  lm_report_kind_t last_kind;
  const void *last_address;
  const char *last_message;
} tl_reports_t;

static inline int tl_count_report(const lm_report_t *r, void *ctx) {
  tl_reports_t *c = (tl_reports_t *)ctx;
  if ((unsigned)r->kind < 4)
    c->count[r->kind]++;
  c->total++;
  c->last_kind = r->kind;
  c->last_address = r->address;
  c->last_message = r->message;
  return 1; /* continue: the bad call does nothing */
}

/* The counting handler's tally while one is installed, else NULL. */
static tl_reports_t *tl_active_reports;

/* Installs the counting handler on a zeroed *c. */
static inline void tl_reports_begin(tl_reports_t *c) {
  memset(c, 0, sizeof *c);
  tl_active_reports = c;
  lm_set_report_handler(tl_count_report, c);
}

/* Restores the default (trapping) handler. */
static inline void tl_reports_end(void) {
  tl_active_reports = NULL;
  lm_set_report_handler(NULL, NULL);
}

/* Prints a checker finding and counts it. */
static inline int tl_print_report(const lm_report_t *r, void *ctx) {
  unsigned long *n = (unsigned long *)ctx;
  if (++*n <= 10)
    fprintf(stderr, "lm_check: %s (at %p)\n", r->message ? r->message : "?",
            r->address);
  return 1;
}

/* lm_check, with its findings also counted through the report handler:
 * returns the larger of lm_check's result and the number of findings it
 * reported, so a checker that reports a problem but miscounts it still
 * fails the test. Leaves the handler as it was (default or counting). */
static inline size_t tl_lm_check(void) {
  unsigned long reported = 0;
  lm_set_report_handler(tl_print_report, &reported);
  size_t n = lm_check();
  if (tl_active_reports)
    lm_set_report_handler(tl_count_report, tl_active_reports);
  else
    lm_set_report_handler(NULL, NULL);
  return n > reported ? n : (size_t)reported;
}

/* ---------------------------------------------------------------------
 * Byte patterns and heap queries
 * ------------------------------------------------------------------- */

/* A 32-bit tag from two numbers (an id and a generation, say). */
static inline uint32_t tl_tag(uint32_t a, uint32_t b) {
  uint64_t z = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(z >> 32) ^ (uint32_t)z;
}

/* Byte i of the pattern for `tag`: depends on the offset and on all four
 * bytes of the tag, so a block's bytes moved, shifted or mixed with another
 * block's do not verify. */
static inline uint8_t tl_pattern_byte(uint32_t tag, size_t i) {
  return (uint8_t)((tag >> ((i & 3) * 8)) + (uint32_t)(i >> 2) * 0x3Bu + 1u);
}

static inline void tl_fill(void *p, size_t n, uint32_t tag) {
  uint8_t *b = (uint8_t *)p;
  for (size_t i = 0; i < n; i++)
    b[i] = tl_pattern_byte(tag, i);
}

/* Offset of the first byte of [0, n) that does not match, or n. */
static inline size_t tl_verify(const void *p, size_t n, uint32_t tag) {
  const uint8_t *b = (const uint8_t *)p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != tl_pattern_byte(tag, i))
      return i;
  return n;
}

/* Offset of the first non-zero byte of [0, n), or n. */
static inline size_t tl_first_nonzero(const void *p, size_t n) {
  const uint8_t *b = (const uint8_t *)p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return i;
  return n;
}

static inline int tl_aligned(const void *p, size_t a) {
  return ((uintptr_t)p & (a - 1)) == 0;
}

/* lm_stats with the version and size filled in (zeroes if it fails). */
static inline lm_stats_t tl_stats(void) {
  lm_stats_t s;
  memset(&s, 0, sizeof s);
  s.version = LM_STATS_VERSION;
  s.size = sizeof s;
  if (lm_stats(&s) != 0) {
    memset(&s, 0, sizeof s);
    CHECK(0, "lm_stats failed");
  }
  return s;
}

/* Walk entries (lmalloc.h): blocks (LM_KIND_BLOCK) and slabs
 * (LM_KIND_SLAB, blocks cut into small objects) tile each span in address
 * order; the objects of a slab (LM_KIND_OBJECT, no header) are visited
 * right after it. An allocation is a used block or a used object; a slab
 * entry is not one. */
static inline int tl_is_allocation(const lm_block_info_t *b) {
  return b->used && b->kind != LM_KIND_SLAB;
}

/* The walker's view of the allocation at `ptr`, and of the block after it
 * in the same span (has_next = 0 when it is the last block of its span,
 * and for objects, which have no neighbour blocks of their own). */
typedef struct tl_found {
  const void *ptr;
  int found;
  lm_block_info_t info;
  int has_next;
  lm_block_info_t next;
} tl_found_t;

static inline int tl_find_visit(const lm_block_info_t *b, void *ctx) {
  tl_found_t *f = (tl_found_t *)ctx;
  if (f->found) {
    if (b->kind == LM_KIND_OBJECT)
      return 0; /* objects of the slab just found, or of ours: skip */
    if (b->span == f->info.span) {
      f->has_next = 1;
      f->next = *b;
    }
    return 1;
  }
  if (b->ptr == f->ptr && b->kind != LM_KIND_SLAB) {
    f->found = 1;
    f->info = *b;
    return b->kind == LM_KIND_OBJECT;
  }
  return 0;
}

/* Finds the block or object whose address is `ptr` with lm_walk. */
static inline tl_found_t tl_find(const void *ptr) {
  tl_found_t f;
  memset(&f, 0, sizeof f);
  f.ptr = ptr;
  lm_walk(tl_find_visit, &f);
  return f;
}

/* After a test has freed everything it allocated: a span with no used
 * block must be one free block ("freeing every block leaves one free
 * region per contiguous span", and a slab goes back to the heap with its
 * last object). Blocks the test does not own (libc's, on wasm builds where
 * malloc is lmalloc) may split a span, so a span with u used blocks may
 * hold up to u + 1 free ones; when nothing is allocated at all,
 * free_blocks must equal spans exactly and no slab may be left. Returns
 * the number of allocations found. */
#define TL_MAX_SPANS 1024

typedef struct tl_span_count {
  size_t used[TL_MAX_SPANS], free[TL_MAX_SPANS]; /* blocks and slabs */
  size_t allocations, slabs;
  unsigned spans; /* highest span index seen + 1 */
  int overflow;
} tl_span_count_t;

static inline int tl_span_count_visit(const lm_block_info_t *b, void *ctx) {
  tl_span_count_t *c = (tl_span_count_t *)ctx;
  c->allocations += tl_is_allocation(b);
  c->slabs += b->kind == LM_KIND_SLAB;
  if (b->kind == LM_KIND_OBJECT)
    return 0;
  if (b->span >= TL_MAX_SPANS) {
    c->overflow = 1;
    return 0;
  }
  if (b->span + 1 > c->spans)
    c->spans = b->span + 1;
  if (b->used)
    c->used[b->span]++;
  else
    c->free[b->span]++;
  return 0;
}

static inline size_t tl_check_all_free(const char *when) {
  static tl_span_count_t c;
  memset(&c, 0, sizeof c);
  lm_walk(tl_span_count_visit, &c);
  lm_stats_t s = tl_stats();
  size_t free_blocks = 0;
  CHECK(!c.overflow, "%s: more than %d spans", when, TL_MAX_SPANS);
  CHECK(c.spans == s.spans, "%s: walk sees %u spans, lm_stats %zu", when,
        c.spans, s.spans);
  for (unsigned i = 0; i < c.spans && i < TL_MAX_SPANS; i++) {
    free_blocks += c.free[i];
    if (c.used[i] == 0)
      CHECK(c.free[i] == 1, "%s: span %u has no used block but %zu free blocks",
            when, i, c.free[i]);
    else
      CHECK(c.free[i] <= c.used[i] + 1,
            "%s: span %u has %zu used and %zu free blocks", when, i, c.used[i],
            c.free[i]);
  }
  CHECK(free_blocks == s.free_blocks && c.allocations == s.used_blocks,
        "%s: walk counts %zu free blocks / %zu allocations, lm_stats %zu / "
        "%zu",
        when, free_blocks, c.allocations, s.free_blocks, s.used_blocks);
  if (s.used_blocks == 0) {
    CHECK(s.free_blocks == s.spans,
          "%s: everything freed: free_blocks %zu == spans %zu", when,
          s.free_blocks, s.spans);
    CHECK(c.slabs == 0, "%s: everything freed, yet %zu slabs remain", when,
          c.slabs);
  } else {
    printf("note: %s: %zu allocations the test does not own\n", when,
           s.used_blocks);
  }
  return s.used_blocks;
}

#endif /* LM_TESTLIB_H */
