/* test_traces: replays the recorded allocation traces of real programs
 * (bench/traces/README.md) through lmalloc, checking every block's bytes.
 *
 * For each <name>.trace in the trace directory (argument 1, else env
 * LM_TRACE_DIR; a missing directory or a missing expected trace FAILS):
 *   - every block is filled with a pattern from its id and the index of
 *     the op that made it (blocks over 4 KiB: the first and last 256
 *     bytes and one byte per 4 KiB, to keep the run short), verified
 *     before free and, for the kept prefix, after realloc;
 *   - calloc blocks read zero, aligned_alloc blocks are aligned, every
 *     block is LM_ALIGNMENT-aligned with usable size >= requested;
 *   - lm_check() == 0 every 50000 ops and at the end of each trace;
 *   - the blocks still live at the end are verified and freed, after
 *     which every span is one free block.
 * Prints per trace: ops, peak live bytes, heap_bytes at the end, time.
 */
#include "testlib.h"

#include <dirent.h>

#include "trace.h"

#define CHECK_EVERY 50000
#define SPARSE 4096 /* blocks above this are checked sparsely */
#define EDGE 256

static const char *const expected[] = {"sqlite", "perl-wordfreq", "lua-tables",
                                       "gcc-cc1", "jq-transform"};
#define EXPECTED (sizeof expected / sizeof expected[0])

typedef struct slot {
  char *p;
  uint32_t size;
  uint32_t tag;
} slot_t;

/* Runs `body` with i set to each checked offset of an n-byte block that
 * lies below `limit` (limit <= n): all of them up to 4 KiB, else the first
 * and last 256 and every 4096th. */
#define FOR_CHECKED(n, limit, i, body)                                         \
  do {                                                                         \
    size_t n_ = (n), lim_ = (limit);                                           \
    if (n_ <= SPARSE) {                                                        \
      for (size_t i = 0; i < lim_; i++)                                        \
        body;                                                                  \
    } else {                                                                   \
      for (size_t i = 0; i < EDGE && i < lim_; i++)                            \
        body;                                                                  \
      for (size_t i = SPARSE; i < n_ - EDGE && i < lim_; i += SPARSE)          \
        body;                                                                  \
      for (size_t i = n_ - EDGE; i < lim_; i++)                                \
        body;                                                                  \
    }                                                                          \
  } while (0)

static void fill(const slot_t *s) {
  uint8_t *b = (uint8_t *)s->p;
  FOR_CHECKED(s->size, s->size, i, b[i] = tl_pattern_byte(s->tag, i));
}

/* First checked offset below `limit` that does not hold the pattern of an
 * old block (size, tag) now at p, or SIZE_MAX. */
static size_t verify(const char *p, uint32_t size, uint32_t tag, size_t limit) {
  const uint8_t *b = (const uint8_t *)p;
  size_t bad = SIZE_MAX;
  FOR_CHECKED(size, limit, i,
              if (bad == SIZE_MAX && b[i] != tl_pattern_byte(tag, i)) bad = i);
  return bad;
}

/* Set when lm_check fails: nothing more is replayed or freed. */
static int heap_broken;

typedef struct replay {
  const lm_trace_t *t;
  slot_t *slots;
  size_t live_bytes, peak_bytes;
  unsigned long failures; /* of this trace, for the summary line */
} replay_t;

static void fail_count(replay_t *r, int ok) {
  if (!ok)
    r->failures++;
}

static void take(replay_t *r, size_t op, const lm_trace_op_t *o, char *p) {
  slot_t *s = &r->slots[o->id];
  int ok = p != NULL;
  CHECK(ok, "%s op %zu: %c id %u size %u failed", r->t->name, op, o->op, o->id,
        o->size);
  fail_count(r, ok);
  if (!p) {
    s->p = NULL;
    return;
  }
  ok = tl_aligned(p, LM_ALIGNMENT) && (!o->align || tl_aligned(p, o->align));
  CHECK(ok, "%s op %zu: %p not aligned to %u", r->t->name, op, (void *)p,
        o->align ? o->align : LM_ALIGNMENT);
  fail_count(r, ok);
  ok = lm_usable_size(p) >= o->size;
  CHECK(ok, "%s op %zu: usable %zu < %u", r->t->name, op, lm_usable_size(p),
        o->size);
  fail_count(r, ok);
  if (o->op == 'c') {
    size_t z = tl_first_nonzero(p, o->size);
    ok = z == o->size;
    CHECK(ok, "%s op %zu: calloc(%u) byte %zu is not zero", r->t->name, op,
          o->size, z);
    fail_count(r, ok);
  }
  s->p = p;
  s->size = o->size;
  s->tag = tl_tag(o->id, (uint32_t)op);
  fill(s);
  r->live_bytes += o->size;
  if (r->live_bytes > r->peak_bytes)
    r->peak_bytes = r->live_bytes;
}

static void release(replay_t *r, size_t op, uint32_t id) {
  slot_t *s = &r->slots[id];
  if (!s->p)
    return; /* its allocation failed (already reported) */
  size_t bad = verify(s->p, s->size, s->tag, s->size);
  int ok = bad == SIZE_MAX;
  CHECK(ok, "%s op %zu: id %u (%p, %u bytes) byte %zu changed before free",
        r->t->name, op, id, (void *)s->p, s->size, bad);
  fail_count(r, ok);
  lm_free(s->p);
  r->live_bytes -= s->size;
  s->p = NULL;
}

static void resize(replay_t *r, size_t op, const lm_trace_op_t *o) {
  slot_t *s = &r->slots[o->id];
  if (!s->p) {
    take(r, op, o, lm_realloc(NULL, o->size));
    return;
  }
  slot_t old = *s;
  size_t bad = verify(old.p, old.size, old.tag, old.size);
  int ok = bad == SIZE_MAX;
  CHECK(ok, "%s op %zu: id %u byte %zu changed before realloc", r->t->name, op,
        o->id, bad);
  fail_count(r, ok);
  char *q = lm_realloc(old.p, o->size);
  if (!q && o->size == 0) { /* realloc(p, 0) frees */
    r->live_bytes -= old.size;
    s->p = NULL;
    return;
  }
  ok = q != NULL;
  CHECK(ok, "%s op %zu: realloc(id %u, %u -> %u) failed", r->t->name, op, o->id,
        old.size, o->size);
  fail_count(r, ok);
  if (!q)
    return;
  size_t kept = old.size < o->size ? old.size : o->size;
  bad = verify(q, old.size, old.tag, kept);
  ok = bad == SIZE_MAX;
  CHECK(ok, "%s op %zu: realloc(id %u, %u -> %u) lost byte %zu", r->t->name, op,
        o->id, old.size, o->size, bad);
  fail_count(r, ok);
  r->live_bytes -= old.size;
  lm_trace_op_t as_malloc = *o;
  as_malloc.op = 'a';
  as_malloc.align = 0;
  take(r, op, &as_malloc, q);
}

static void replay_one(const char *dir, const char *file) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  lm_trace_t t;
  memset(&t, 0, sizeof t);
  int loaded = lm_trace_load(path, &t) == 0;
  CHECK(loaded, "load %s", path);
  if (!loaded)
    return;
  replay_t r = {0};
  r.t = &t;
  r.slots = calloc(t.ids ? t.ids : 1, sizeof *r.slots);
  CHECK(r.slots != NULL, "%s: table of %u ids", t.name, t.ids);
  if (!r.slots) {
    lm_trace_free(&t);
    return;
  }
  double t0 = tl_now();
  for (size_t i = 0; i < t.count; i++) {
    const lm_trace_op_t *o = &t.ops[i];
    switch (o->op) {
    case 'a':
    case 'c':
    case 'm':
      if (r.slots[o->id].p) { /* the loader promises this never happens */
        CHECK(0, "%s op %zu: id %u allocated while live", t.name, i, o->id);
        release(&r, i, o->id);
      }
      take(&r, i, o,
           o->op == 'a'   ? lm_malloc(o->size)
           : o->op == 'c' ? lm_calloc(1, o->size)
                          : lm_aligned_alloc(o->align, o->size));
      break;
    case 'r':
      resize(&r, i, o);
      break;
    case 'f':
      release(&r, i, o->id);
      break;
    default:
      CHECK(0, "%s op %zu: unknown op '%c'", t.name, i, o->op);
    }
    if ((i + 1) % CHECK_EVERY == 0) {
      size_t bad = tl_lm_check();
      CHECK(bad == 0, "%s op %zu: lm_check found %zu problems", t.name, i, bad);
      if (bad) { /* freeing into a broken heap could crash: stop here */
        heap_broken = 1;
        printf("%s: heap broken before op %zu: stopping\n", t.name, i + 1);
        return;
      }
    }
    if (r.failures > 50)
      break; /* enough to go on */
  }
  CHECK(r.failures <= 50, "%s: stopped after %lu failed checks", t.name,
        r.failures);
  size_t bad = tl_lm_check();
  CHECK(bad == 0, "%s at the end: lm_check found %zu problems", t.name, bad);
  if (bad) {
    heap_broken = 1;
    printf("%s: heap broken at the end: stopping\n", t.name);
    return;
  }
  double secs = tl_now() - t0;
  lm_stats_t s = tl_stats();
  printf("%-14s ops %8zu  peak live %9zu bytes  heap_bytes %9zu  spans %zu  "
         "%.2f s\n",
         t.name, t.count, r.peak_bytes, s.heap_bytes, s.spans, secs);
  fflush(stdout);

  /* The blocks the program never freed: verify and free them. */
  for (uint32_t id = 0; id < t.ids; id++)
    release(&r, t.count, id);
  CHECK(r.live_bytes == 0, "%s: live bytes back to 0 (%zu)", t.name,
        r.live_bytes);
  char name[sizeof t.name];
  memcpy(name, t.name, sizeof name);
  free(r.slots);
  lm_trace_free(&t);
  CHECK(tl_lm_check() == 0, "%s: heap healthy after freeing everything", name);
  char when[128];
  snprintf(when, sizeof when, "after %s", file);
  tl_check_all_free(when);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv) {
  const char *dir = tl_positional(argc, argv);
  if (!dir)
    dir = getenv("LM_TRACE_DIR");
  CHECK(dir != NULL, "trace directory given (argument 1 or LM_TRACE_DIR)");
  if (!dir)
    return tl_finish();
  printf("traces: %s\n", dir);
  fflush(stdout);

  static char names[64][256];
  static const char *files[64];
  int n = 0;
  DIR *d = opendir(dir);
  CHECK(d != NULL, "trace directory %s exists", dir);
  if (!d)
    return tl_finish();
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 64) {
    size_t len = strlen(e->d_name);
    if (len > 6 && len < 256 && strcmp(e->d_name + len - 6, ".trace") == 0) {
      memcpy(names[n], e->d_name, len + 1);
      files[n] = names[n];
      n++;
    }
  }
  closedir(d);
  qsort(files, (size_t)n, sizeof files[0], by_name);
  for (size_t i = 0; i < EXPECTED; i++) {
    char want[256];
    snprintf(want, sizeof want, "%s.trace", expected[i]);
    int found = 0;
    for (int k = 0; k < n; k++)
      found |= strcmp(files[k], want) == 0;
    CHECK(found, "%s/%s exists", dir, want);
  }

  double t0 = tl_now();
  for (int k = 0; k < n && !heap_broken; k++)
    replay_one(dir, files[k]);
  printf("%d traces in %.2f s\n", n, tl_now() - t0);
  if (!heap_broken)
    CHECK(tl_lm_check() == 0, "heap healthy at the end");
  return tl_finish();
}
