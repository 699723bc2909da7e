/* Replay harness: performs one lmtrace v1 trace through whatever malloc
 * this program was linked with, and reports one line of JSON.
 *
 *   replay [--latency | --floor | --verify] [--ballast N] <file.trace>
 *
 * One process = one replay; repetitions and comparisons belong to the
 * driver (run.mjs). Build the same source with the same flags for every
 * allocator; only the library linked before libc changes. The name in the
 * report comes from -DLM_BENCH_ALLOCATOR="\"name\"".
 *
 * Memory the harness itself needs (the ops array, the id tables, the
 * latency array) comes from sbrk in whole 64 KiB pages before the first
 * timed allocation, so it never counts in the allocator's heap. What the
 * allocator added is then visible as the growth of the memory between
 * sbrk_start and sbrk_end (sbrk(0) is the program break: the memory size
 * on WASI, Emscripten's break pointer there).
 *
 * Correctness while timing (so an allocator that breaks the contract
 * fails instead of winning):
 *   - every block gets a stamp, a byte derived from its id, in its first
 *     and last byte; both are checked before free, and the kept part is
 *     checked after realloc;
 *   - calloc memory must read zero at its first and last byte and at
 *     seven points in between;
 *   - malloc, calloc and realloc results must be aligned for any object
 *     (alignof(max_align_t): 16 on wasm32-wasi, 8 on Emscripten), and
 *     aligned_alloc results multiples of their alignment: an allocator
 *     that saved memory by breaking alignment would otherwise win;
 *   - an allocation that returns NULL (other than for size 0) fails;
 *   - after the loop, every block still live is checked once more.
 * Any violation prints what broke on stderr and exits with status 2.
 * All stamp reads and writes are volatile: clang knows calloc memory is
 * zero and would otherwise fold the checks away (TOOLCHAIN.md trap 8).
 *
 * --verify replays slowly, to prove the allocator right rather
 * than to time it: every block is filled whole with its stamp and checked
 * whole before free and after realloc, and calloc memory is checked zero
 * in every byte. The first/last-byte stamps of the timed runs miss a block
 * handed out inside another live one; this pass does not (run.mjs runs it
 * once per build and trace, and a build that fails it gets no figures).
 *
 * --latency times every operation separately (one clock read between
 * consecutive operations, so each time includes one clock call) and adds
 * median, p99, p99.9 and max to the report.
 *
 * --floor measures what the harness costs with this allocator's layout
 * but none of its work: the trace is first replayed normally, recording
 * the address each allocation got; then every address is moved by the
 * same multiple of 64 KiB into fresh pages taken from sbrk, and the trace
 * is replayed again, timed, with those addresses and no allocator call.
 * Same stamps, same checks, the same layout: the harness's own
 * work with this layout. What the contract asks of the allocator is left
 * to its share: calloc's zeroing (the floor writes zero only at the bytes
 * check_zero reads, so an allocator that skips zeroing memory it knows is
 * still zero keeps that saving) and realloc's copy (the floor moves only
 * the stamp bytes the checks read, so one that resizes in place keeps
 * that). Reported as ns_per_op (mode "floor"), with the first replay's
 * time as recorded_ns_per_op.
 *
 * --ballast N allocates one block of N bytes through the allocator under
 * test before the replay starts and keeps it: pages at the end swing by
 * one either way with what was allocated before the trace (bench/README.md,
 * "heap pages"), so the driver gives each repetition its own ballast and
 * reports the median over those start-up layouts.
 */
#define _DEFAULT_SOURCE 1 /* sbrk in wasi-libc and musl unistd.h */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

#ifndef LM_BENCH_ALLOCATOR
#define LM_BENCH_ALLOCATOR "unknown"
#endif

#ifdef __EMSCRIPTEN__
#define TOOLCHAIN "emscripten"
#elif defined(__wasm__)
#define TOOLCHAIN "wasi"
#else
#define TOOLCHAIN "native" /* bench/callgrind.sh */
#endif

#define WASM_PAGE 65536u

/* Harness storage: whole pages from sbrk (wasi-libc's sbrk accepts only
 * multiples of the page size), never from the allocator under test. */
static void *page_get(size_t size) {
  size_t rounded = (size + WASM_PAGE - 1) & ~(size_t)(WASM_PAGE - 1);
  if (rounded < size || rounded > (size_t)INTPTR_MAX)
    return NULL;
  void *p = sbrk((intptr_t)rounded);
  return p == (void *)-1 ? NULL : p;
}

static uintptr_t program_break(void) { return (uintptr_t)sbrk(0); }

static uint32_t memory_pages(void) {
#ifdef __wasm__
  return (uint32_t)__builtin_wasm_memory_size(0);
#else /* a native build (bench/callgrind.sh) has no linear memory */
  return 0;
#endif
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Replay state: one pointer and one requested size per id. */
static const lm_trace_t *trace;
static unsigned char **ptrs;
static uint32_t *sizes;

/* The stamp of id: never 0, so memory that was merely zeroed (fresh
 * pages, calloc) does not pass for a stamped block. */
static inline uint8_t stamp_of(uint32_t id) {
  return (uint8_t)(((id * 0x9E3779B1u) >> 24) | 1u);
}

static inline uint8_t peek(const unsigned char *p, size_t at) {
  return *(const volatile unsigned char *)(p + at);
}

static inline void poke(unsigned char *p, size_t at, uint8_t v) {
  *(volatile unsigned char *)(p + at) = v;
}

static _Noreturn void fail(size_t index, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static _Noreturn void fail(size_t index, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (index < trace->count) {
    const lm_trace_op_t *o = &trace->ops[index];
    fprintf(stderr,
            "replay %s [%s]: FAILED at op %zu ('%c' id %u size %u align %u): "
            "%s\n",
            trace->name, LM_BENCH_ALLOCATOR, index, o->op, o->id, o->size,
            o->align, msg);
  } else {
    fprintf(stderr, "replay %s [%s]: FAILED after the replay: %s\n",
            trace->name, LM_BENCH_ALLOCATOR, msg);
  }
  exit(2);
}

/* How perform() runs: REAL calls the allocator; RECORD also keeps the
 * address of each allocation in recorded[i]; FLOOR calls no allocator and
 * takes recorded[i] + shift instead (--floor); VERIFY calls the allocator
 * and stamps and checks whole blocks (--verify). perform() and the stamp
 * helpers are inlined with a constant mode, so the REAL loop has no trace
 * of the other three. */
enum mode { REAL, RECORD, FLOOR, VERIFY };

/* The first of bytes [0, n) of p that is not v, or n. */
static size_t first_not(const unsigned char *p, size_t n, uint8_t v) {
  for (size_t at = 0; at < n; at++)
    if (peek(p, at) != v)
      return at;
  return n;
}

static inline void check_stamps(size_t index, uint32_t id, enum mode mode) {
  unsigned char *p = ptrs[id];
  uint32_t size = sizes[id];
  uint8_t s = stamp_of(id);
  if (size == 0)
    return;
  size_t at = mode == VERIFY ? first_not(p, size, s) : size;
  if (at < size)
    fail(index,
         "block %p (size %u) of id %u: byte %zu is 0x%02x, expected 0x%02x "
         "(overwritten: overlapping blocks?)",
         (void *)p, size, id, at, peek(p, at), s);
  if (peek(p, 0) != s)
    fail(index,
         "block %p (size %u) of id %u: first byte is 0x%02x, "
         "expected 0x%02x (overwritten: overlapping blocks?)",
         (void *)p, size, id, peek(p, 0), s);
  if (peek(p, size - 1) != s)
    fail(index,
         "block %p (size %u) of id %u: last byte is 0x%02x, "
         "expected 0x%02x (overwritten: overlapping blocks?)",
         (void *)p, size, id, peek(p, size - 1), s);
}

static inline void stamp(unsigned char *p, uint32_t size, uint32_t id,
                         enum mode mode) {
  if (size == 0)
    return;
  uint8_t s = stamp_of(id);
  if (mode == VERIFY) {
    memset(p, s, size);
    return;
  }
  poke(p, 0, s);
  poke(p, size - 1, s);
}

/* The bytes of a calloc block of `size` bytes (size > 0) that the timed
 * runs check for zero: k = 0..8, the last one its last byte. */
static inline size_t zero_point(uint32_t size, uint32_t k) {
  return k == 8 ? size - 1 : (size_t)((uint64_t)size * k / 8);
}

static inline void check_zero(size_t index, const unsigned char *p,
                              uint32_t size, enum mode mode) {
  if (size == 0)
    return;
  size_t at = mode == VERIFY ? first_not(p, size, 0) : size;
  if (at < size)
    fail(index, "calloc block %p (size %u): byte %zu is 0x%02x, not zero",
         (const void *)p, size, at, peek(p, at));
  for (uint32_t k = 0; k <= 8; k++) {
    size_t at = zero_point(size, k);
    if (peek(p, at) != 0)
      fail(index, "calloc block %p (size %u): byte %zu is 0x%02x, not zero",
           (const void *)p, size, at, peek(p, at));
  }
}

static uint64_t live_bytes, peak_live_bytes;

static unsigned char **recorded;
static intptr_t shift;

static inline unsigned char *replayed(size_t i) {
  return recorded[i] ? recorded[i] + shift : NULL;
}

/* What malloc, calloc and realloc must return: memory aligned for any
 * object (C11 7.22.3). */
#define OBJECT_ALIGN _Alignof(max_align_t)

static inline void check_aligned(size_t index, const void *p,
                                 const char *what, uint32_t size) {
  if ((uintptr_t)p & (OBJECT_ALIGN - 1))
    fail(index, "%s(%u) returned %p, not aligned to %zu", what, size, p,
         (size_t)OBJECT_ALIGN);
}

/* Performs operation `i`; the trace was validated by the loader. */
static inline __attribute__((always_inline)) void perform(size_t i,
                                                          enum mode mode) {
  const lm_trace_op_t *o = &trace->ops[i];
  uint32_t id = o->id, size = o->size;
  unsigned char *p;
  switch (o->op) {
  case 'a':
    p = mode == FLOOR ? replayed(i) : malloc(size);
    if (!p && size)
      fail(i, "malloc returned NULL (errno %d)", errno);
    check_aligned(i, p, "malloc", size);
    stamp(p, size, id, mode);
    break;
  case 'c':
    if (mode == FLOOR) { /* zero only where check_zero reads (above) */
      if ((p = replayed(i)) && size)
        for (uint32_t k = 0; k <= 8; k++)
          poke(p, zero_point(size, k), 0);
    } else
      p = calloc(1, size);
    if (!p && size)
      fail(i, "calloc returned NULL (errno %d)", errno);
    check_aligned(i, p, "calloc", size);
    check_zero(i, p, size, mode);
    stamp(p, size, id, mode);
    break;
  case 'm':
    p = mode == FLOOR ? replayed(i) : aligned_alloc(o->align, size);
    if (!p && size)
      fail(i, "aligned_alloc returned NULL (errno %d)", errno);
    if ((uintptr_t)p & (o->align - 1))
      fail(i, "aligned_alloc(%u, %u) returned %p, not aligned", o->align, size,
           (void *)p);
    stamp(p, size, id, mode);
    break;
  case 'r': {
    uint32_t old = sizes[id];
    uint32_t kept = old < size ? old : size;
    uint8_t s = stamp_of(id);
    if (mode == FLOOR) { /* moves only the bytes the checks below read */
      p = replayed(i);
      if (p != ptrs[id] && ptrs[id] && kept) {
        poke(p, 0, peek(ptrs[id], 0));
        if (old <= size)
          poke(p, old - 1, peek(ptrs[id], old - 1));
      }
    } else {
      p = realloc(ptrs[id], size);
    }
    if (!p && size)
      fail(i, "realloc returned NULL (errno %d)", errno);
    check_aligned(i, p, "realloc", size);
    if (kept && peek(p, 0) != s)
      fail(i,
           "realloc %u -> %u moved to %p: first byte is 0x%02x, "
           "expected 0x%02x (contents not kept)",
           old, size, (void *)p, peek(p, 0), s);
    size_t at = mode == VERIFY ? first_not(p, kept, s) : kept;
    if (at < kept)
      fail(i,
           "realloc %u -> %u moved to %p: byte %zu is 0x%02x, "
           "expected 0x%02x (contents not kept)",
           old, size, (void *)p, at, peek(p, at), s);
    if (old && old <= size && peek(p, old - 1) != s)
      fail(i,
           "realloc %u -> %u moved to %p: byte %u is 0x%02x, "
           "expected 0x%02x (contents not kept)",
           old, size, (void *)p, old - 1, peek(p, old - 1), s);
    stamp(p, size, id, mode);
    live_bytes -= old;
    break;
  }
  case 'f':
  default:
    check_stamps(i, id, mode);
    if (mode != FLOOR)
      free(ptrs[id]);
    live_bytes -= sizes[id];
    ptrs[id] = NULL;
    sizes[id] = 0;
    return;
  }
  if (mode == RECORD)
    recorded[i] = p;
  ptrs[id] = p;
  sizes[id] = size;
  live_bytes += size;
  if (live_bytes > peak_live_bytes)
    peak_live_bytes = live_bytes;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted[0, n): the smallest value with at
 * least q of all values at or below it. */
static uint32_t percentile(const uint32_t *sorted, size_t n, double q) {
  size_t rank = (size_t)(q * (double)n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return sorted[rank - 1];
}

/* Median cost of one clock read (back-to-back reads), reported with the
 * latencies because every per-operation time includes one. */
static uint32_t clock_overhead_ns(void) {
  enum { N = 2001 };
  static uint32_t d[N];
  for (int k = 0; k < N; k++) {
    uint64_t a = now_ns();
    d[k] = (uint32_t)(now_ns() - a);
  }
  qsort(d, N, sizeof d[0], cmp_u32);
  return d[N / 2];
}

/* Replays the whole trace in `mode` (inlined with it: each loop is the
 * mode's own code, as perform() says); returns its time in ns. */
static inline __attribute__((always_inline)) uint64_t replay_all(size_t count,
                                                                 enum mode mode) {
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < count; i++)
    perform(i, mode);
  return now_ns() - t0;
}

/* Checks the stamps of every block still live after the replay (in `mode`:
 * whole blocks when VERIFY); returns how many there are. */
static size_t check_live(const lm_trace_t *t, enum mode mode) {
  size_t live = 0;
  for (uint32_t id = 0; id < t->ids; id++) {
    if (!ptrs[id])
      continue;
    check_stamps(t->count, id, mode);
    live++;
  }
  return live;
}

/* --floor's second replay (see the opening comment): the addresses of the
 * recorded replay, moved into fresh pages, without the allocator. Returns
 * its time in ns. */
static uint64_t floor_pass(const lm_trace_t *t) {
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (size_t i = 0; i < t->count; i++) {
    uintptr_t a = (uintptr_t)recorded[i];
    if (!a)
      continue;
    if (a < lo)
      lo = a;
    if (a + t->ops[i].size > hi)
      hi = a + t->ops[i].size;
  }
  if (!hi)
    return 0;
  lo &= ~(uintptr_t)(WASM_PAGE - 1); /* keeps every address's page offset */
  uintptr_t region = (uintptr_t)page_get(hi - lo + WASM_PAGE);
  if (!region) {
    fprintf(stderr, "replay: sbrk failed for the --floor region\n");
    exit(1);
  }
  shift = (intptr_t)(((region + WASM_PAGE - 1) & ~(uintptr_t)(WASM_PAGE - 1)) -
                     lo);
  for (uint32_t id = 0; id < t->ids; id++) {
    ptrs[id] = NULL;
    sizes[id] = 0;
  }
  live_bytes = 0;
  uint64_t elapsed = replay_all(t->count, FLOOR);
  check_live(t, FLOOR);
  return elapsed;
}

static void usage(void) {
  fprintf(stderr, "usage: replay [--latency | --floor | --verify] "
                  "[--ballast N] <file.trace>\n");
  exit(64);
}

/* The N of --ballast: a decimal byte count up to 1 MiB. */
static unsigned long ballast_arg(const char *s) {
  char *end;
  unsigned long n = strtoul(s, &end, 10);
  if (!*s || *end || n > 1ul << 20)
    usage();
  return n;
}

int main(int argc, char **argv) {
  const char *run = NULL; /* --latency, --floor or --verify: at most one */
  unsigned long ballast = 0;
  const char *path = NULL;
  for (int a = 1; a < argc; a++) {
    if ((strcmp(argv[a], "--latency") == 0 || strcmp(argv[a], "--floor") == 0 ||
         strcmp(argv[a], "--verify") == 0) &&
        (!run || strcmp(run, argv[a]) == 0))
      run = argv[a];
    else if (strcmp(argv[a], "--ballast") == 0 && a + 1 < argc)
      ballast = ballast_arg(argv[++a]);
    else if (argv[a][0] == '-' || path)
      usage();
    else
      path = argv[a];
  }
  if (!path)
    usage();
  int latency = run && strcmp(run, "--latency") == 0;
  int floor = run && strcmp(run, "--floor") == 0;
  int verify = run && strcmp(run, "--verify") == 0;

  static lm_trace_t t;
  if (lm_trace_load_with(path, &t, page_get) != 0)
    return 1;
  trace = &t;
  ptrs = page_get((size_t)t.ids * sizeof *ptrs + 1);
  sizes = page_get((size_t)t.ids * sizeof *sizes + 1);
  uint32_t *times = latency ? page_get(t.count * sizeof *times + 1) : NULL;
  recorded = floor ? page_get(t.count * sizeof *recorded + 1) : NULL;
  if (!ptrs || !sizes || (latency && !times) || (floor && !recorded)) {
    fprintf(stderr, "replay: sbrk failed for the harness tables\n");
    return 1;
  }
  /* sbrk pages are fresh, hence zero: every id starts NULL, size 0. */
  /* Kept in a volatile so the compiler cannot drop the call (a block
   * only tested for NULL may be elided). */
  static void *volatile ballast_block;
  if (ballast && !(ballast_block = malloc(ballast))) {
    fprintf(stderr, "replay: malloc(%lu) failed for the ballast\n", ballast);
    return 1;
  }

  uint32_t pages_start = memory_pages();
  uintptr_t break_start = program_break();
  uint64_t elapsed;
  if (floor) {
    elapsed = replay_all(t.count, RECORD);
  } else if (verify) {
    elapsed = replay_all(t.count, VERIFY);
  } else if (!latency) {
    elapsed = replay_all(t.count, REAL);
  } else {
    uint64_t start = now_ns(), prev = start;
    for (size_t i = 0; i < t.count; i++) {
      perform(i, REAL);
      uint64_t now = now_ns();
      uint64_t d = now - prev;
      times[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
      prev = now;
    }
    elapsed = prev - start;
  }
  uint32_t pages_end = memory_pages();
  uintptr_t break_end = program_break();

  /* Blocks the program never freed must still hold their stamps. */
  size_t live_end = check_live(&t, verify ? VERIFY : REAL);

  /* What ns_total reports: the floor pass's time in --floor mode. */
  uint64_t reported = floor ? floor_pass(&t) : elapsed;

  printf("{\"trace\":\"%s\",\"allocator\":\"%s\",\"toolchain\":\"%s\","
         "\"mode\":\"%s\",\"ops\":%zu,\"ns_total\":%llu,\"ns_per_op\":%.3f,"
         "\"pages_start\":%u,\"pages_end\":%u,"
         "\"break_start\":%llu,\"break_end\":%llu,"
         "\"peak_live_bytes\":%llu,\"live_bytes_end\":%llu,"
         "\"live_blocks_end\":%zu",
         t.name, LM_BENCH_ALLOCATOR, TOOLCHAIN,
         run ? run + 2 : "throughput", t.count,
         (unsigned long long)reported,
         t.count ? (double)reported / (double)t.count : 0.0,
         pages_start,
         pages_end, (unsigned long long)break_start,
         (unsigned long long)break_end, (unsigned long long)peak_live_bytes,
         (unsigned long long)live_bytes, live_end);
  if (latency && t.count) {
    qsort(times, t.count, sizeof *times, cmp_u32);
    printf(",\"clock_ns\":%u,\"p50_ns\":%u,\"p99_ns\":%u,\"p999_ns\":%u,"
           "\"max_ns\":%u",
           clock_overhead_ns(), percentile(times, t.count, 0.5),
           percentile(times, t.count, 0.99), percentile(times, t.count, 0.999),
           times[t.count - 1]);
  }
  if (ballast)
    printf(",\"ballast\":%lu", ballast);
  if (floor)
    printf(",\"recorded_ns_per_op\":%.3f",
           t.count ? (double)elapsed / (double)t.count : 0.0);
  printf(",\"ok\":true}\n");
  return 0;
}
