/* arena-reset: lm_arena_reset takes the same time however much the arena
 * holds. Prints a Markdown table: for arenas filled with n allocations
 * (32 to 256 bytes each), the median time of one lm_arena_reset, next to
 * what it takes to give the same blocks back one by one to a heap
 * (lm_heap_free of each) and to destroy that heap at once.
 *
 *   arena-reset [--reps N] [--quick]     default 25 repetitions per row
 *
 * Built with the tests (tests/c/CMakeLists.txt) in every preset:
 *   build/native/tests/c/arena-reset
 *   node tests/run-wasi.mjs build/wasi/tests/c/arena-reset.wasm
 * Times are medians of --reps runs, each timed alone (one clock read costs
 * about 20 ns natively and 80 ns through node:wasi, and is subtracted);
 * the machine is shared, so read the trend, not the digits.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lmalloc.h"

#define MAX_REPS 101

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, by_value);
  return v[n / 2];
}

/* The cost of reading the clock twice with nothing between. */
static double clock_cost(void) {
  double v[MAX_REPS];
  for (int i = 0; i < MAX_REPS; i++) {
    double t0 = now_ns();
    v[i] = now_ns() - t0;
  }
  return median(v, MAX_REPS);
}

static size_t size_of(size_t i) { return 32 + (i * 2654435761u >> 7) % 225; }

int main(int argc, char **argv) {
  int reps = 25, quick = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
  }
  if (quick)
    reps = 3;
  if (reps < 1 || reps > MAX_REPS)
    reps = 25;
  size_t max_n = quick ? 10000 : 1000000;
  void **blocks = malloc(max_n * sizeof *blocks);
  lm_arena_t *arena = lm_arena_create(0);
  if (!blocks || !arena) {
    fprintf(stderr, "arena-reset: out of memory\n");
    return 1;
  }
  double clock = clock_cost();
  printf("| allocations | arena bytes used | chunks | lm_arena_reset ns | "
         "heap: free each, ns | heap: lm_heap_destroy ns |\n");
  printf("|--:|--:|--:|--:|--:|--:|\n");
  for (size_t n = 10; n <= max_n; n *= 10) {
    double reset[MAX_REPS], each[MAX_REPS], destroy[MAX_REPS];
    lm_arena_info_t info = {0};
    for (int r = 0; r < reps; r++) {
      for (size_t i = 0; i < n; i++)
        if (!lm_arena_alloc(arena, size_of(i)))
          return fprintf(stderr, "arena-reset: arena full\n"), 1;
      lm_arena_info(arena, &info);
      double t0 = now_ns();
      lm_arena_reset(arena);
      reset[r] = now_ns() - t0 - clock;

      lm_heap_t *h = lm_heap_create(NULL, 0);
      for (size_t i = 0; h && i < n; i++)
        blocks[i] = lm_heap_malloc(h, size_of(i));
      t0 = now_ns();
      for (size_t i = 0; h && i < n; i++)
        lm_heap_free(h, blocks[i]);
      each[r] = now_ns() - t0 - clock;
      for (size_t i = 0; h && i < n; i++)
        blocks[i] = lm_heap_malloc(h, size_of(i));
      t0 = now_ns();
      lm_heap_destroy(h);
      destroy[r] = now_ns() - t0 - clock;
    }
    printf("| %zu | %zu | %zu | %.0f | %.0f | %.0f |\n", n, info.used_bytes,
           info.chunks, median(reset, reps), median(each, reps),
           median(destroy, reps));
  }
  lm_arena_destroy(arena);
  free(blocks);
  return 0;
}
