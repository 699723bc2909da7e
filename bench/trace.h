/* Loader for lmtrace v1 allocation traces (format: bench/traces/README.md).
 *
 * This file owns the in-memory form of a trace: an array of operations,
 * each validated as it is read, so a replayer can trust every field:
 *   - op is one of 'a' 'c' 'm' 'r' 'f';
 *   - id < ids, and the ids are used consistently: 'a' 'c' 'm' only name a
 *     free id, 'r' and 'f' only a live one (as the README promises);
 *   - size and align fit in 32 bits; align is a power of two ('m' only,
 *     0 for the other ops);
 *   - the number of operation lines equals the header's `ops`.
 *
 * The loader never uses stdio (which allocates). It reads the file with
 * open/read through one static buffer and takes the storage for the
 * operations from a caller-supplied function, so a benchmark can keep it
 * out of the allocator under test (lm_trace_load_with + sbrk).
 * Errors are reported on stderr as "path:line: message".
 */
#ifndef LM_BENCH_TRACE_H
#define LM_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One operation. op: 'a' malloc, 'c' calloc, 'm' aligned_alloc,
 * 'r' realloc, 'f' free. */
typedef struct lm_trace_op {
  uint8_t op;     /* 'a' 'c' 'm' 'r' 'f' */
  uint32_t id;    /* slot in the replayer's pointer table, < lm_trace_t.ids */
  uint32_t size;  /* bytes requested (0 for 'f') */
  uint32_t align; /* power of two for 'm', 0 otherwise */
} lm_trace_op_t;

typedef struct lm_trace {
  uint32_t ids;       /* size of the id table (header `ids`) */
  size_t count;       /* number of operations (header `ops`) */
  lm_trace_op_t *ops; /* count operations, in order */
  char name[64];      /* file name without directory and ".trace" */
} lm_trace_t;

/* Loads the plain-text (not gzip) trace at `path` into *t, taking the
 * storage from malloc. Returns 0, or -1 after writing "path:line: what"
 * to stderr (then *t is empty and owns nothing). Cost: O(file size). */
int lm_trace_load(const char *path, lm_trace_t *t);

/* As lm_trace_load, but every byte of storage comes from `get(n)`, which
 * returns n bytes aligned to 16 or NULL. Nothing is given back: the caller
 * owns what `get` handed out (do not call lm_trace_free on *t).
 * Besides the ops array the loader asks for ids/8 bytes of scratch (the
 * live-id bitmap used for validation). */
int lm_trace_load_with(const char *path, lm_trace_t *t,
                       void *(*get)(size_t size));

/* Frees a trace loaded by lm_trace_load and empties *t. NULL-safe. */
void lm_trace_free(lm_trace_t *t);

#ifdef __cplusplus
}
#endif

#endif /* LM_BENCH_TRACE_H */
