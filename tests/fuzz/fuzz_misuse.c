/* fuzz_misuse: a libFuzzer target for lmalloc's promise about bad
 * pointers (lmalloc.h, lm_free: "a pointer that is not a live block
 * (double free, foreign or interior pointer) is reported through the
 * report handler and never corrupts the heap").
 *
 * What it owns: valid calls (malloc, free, realloc) mixed with writes of
 * chosen 32-bit words into live blocks (program data is arbitrary, so it
 * may look like allocator metadata) and with bad frees: a pointer freed
 * before (double free) or a pointer inside a live block (interior). It
 * stops (a crash libFuzzer saves) when:
 *   - a bad free is not reported, or any report is LM_REPORT_CORRUPT;
 *   - lm_check() != 0 after any call;
 *   - a returned block overlaps a live one.
 * A stale pointer that is again the start of a live block is not freed:
 * that free would be valid. Not part of the CI smoke run (run.sh with
 * LM_FUZZ_TARGET=fuzz_misuse): it exists to find where the promise does
 * not hold; tests/fuzz/crashes/ keeps what it found. fuzz_misuse_debug
 * runs it on the debug library, whose checks must hold everywhere.
 *
 * Input: 4-byte records [op, a, lo, hi]; kind = op % 6, x = op / 6,
 * s = a % SLOTS, v = lo | hi << 8:
 *   0 malloc(v % 1200) into s (a block in s is freed first)
 *   1 free(s) (the pointer is remembered as stale)
 *   2 realloc(s, v % 1200) (a moved block's old pointer becomes stale)
 *   3 write v as a 32-bit word into s at byte 4 x modulo its usable size,
 *     rounded down to a multiple of 4
 *   4 free(stale pointer number v % STALE)
 *   5 free(s's pointer + 16 * (1 + x % 8)) when that is inside the block
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "lmalloc.h"
#include "pages.h"

#define SLOTS 32
#define STALE 32

static unsigned char *live[SLOTS];
static size_t usable[SLOTS];
static unsigned char *stale[STALE];
static unsigned nstale;
static size_t op_index;
static unsigned reports, corrupt;

#define FAIL(...)                                                              \
  do {                                                                         \
    fprintf(stderr, "fuzz_misuse: op %zu: ", op_index);                        \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    abort();                                                                   \
  } while (0)

static int count(const lm_report_t *r, void *ctx) {
  (void)ctx;
  reports++;
  corrupt += r->kind == LM_REPORT_CORRUPT;
  return 1; /* continue: the bad call must do nothing */
}

static int live_index(const unsigned char *p) {
  for (int i = 0; i < SLOTS; i++)
    if (live[i] == p)
      return i;
  return -1;
}

static void accept(int s, unsigned char *p) {
  size_t n = lm_usable_size(p);
  for (int i = 0; i < SLOTS; i++)
    if (i != s && live[i] && p < live[i] + usable[i] && live[i] < p + n)
      FAIL("new block [%p, +%zu) overlaps slot %d [%p, +%zu)", (void *)p, n, i,
           (void *)live[i], usable[i]);
  live[s] = p;
  usable[s] = n;
  memset(p, 0, n);
}

static void forget(int s) {
  stale[nstale++ % STALE] = live[s];
  live[s] = NULL;
}

/* A call that must be reported and change nothing. */
static void bad_free(unsigned char *p, const char *what) {
  unsigned before = reports;
  lm_free(p);
  if (reports == before)
    FAIL("%s %p was not reported", what, (void *)p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  lm_quarantine_limit((size_t)64 << 10); /* debug library: small */
  lm_pages_reset();
  memset(&lm_default_heap, 0, sizeof lm_default_heap);
  memset(live, 0, sizeof live);
  memset(stale, 0, sizeof stale);
  nstale = 0;
  reports = corrupt = 0;
  lm_set_heap_limit((size_t)16 << 20);
  lm_set_report_handler(count, NULL);
  for (op_index = 0; op_index < len / 4; op_index++) {
    const uint8_t *r = data + 4 * op_index;
    unsigned kind = r[0] % 6, x = r[0] / 6;
    int s = r[1] % SLOTS;
    uint32_t v = (uint32_t)(r[2] | r[3] << 8);
    switch (kind) {
    case 0: {
      if (live[s]) {
        lm_free(live[s]);
        forget(s);
      }
      unsigned char *p = lm_malloc(v % 1200);
      if (p)
        accept(s, p);
      break;
    }
    case 1:
      if (live[s]) {
        lm_free(live[s]);
        forget(s);
      }
      break;
    case 2:
      if (live[s] && v % 1200) {
        unsigned char *p = lm_realloc(live[s], v % 1200);
        if (p) {
          if (p != live[s])
            stale[nstale++ % STALE] = live[s];
          live[s] = NULL;
          accept(s, p);
        }
      }
      break;
    case 3:
      if (live[s] && usable[s] >= 4) {
        uint32_t word = v;
        size_t at = ((size_t)x * 4) % usable[s] & ~(size_t)3;
        if (at + 4 <= usable[s])
          memcpy(live[s] + at, &word, 4);
      }
      break;
    case 4: {
      unsigned char *p = stale[v % STALE];
      if (p && live_index(p) < 0)
        bad_free(p, "double free of");
      break;
    }
    case 5:
      if (live[s]) {
        size_t off = 16 * (1 + (size_t)x % 8);
        if (off < usable[s])
          bad_free(live[s] + off, "free of interior pointer");
      }
      break;
    }
    if (corrupt)
      FAIL("a report of heap corruption");
    unsigned before = reports;
    if (lm_check() != 0 || reports != before)
      FAIL("lm_check() != 0 after the call");
  }
  for (int i = 0; i < SLOTS; i++)
    lm_free(live[i]);
  lm_quarantine_flush(); /* debug library: empty before the reset */
  if (lm_check() != 0 || corrupt)
    FAIL("lm_check() != 0 at the end");
  return 0;
}
