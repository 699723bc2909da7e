/* The debug layer: what liblmalloc-debug.a adds to the allocation core
 * (lmalloc_debug.h says what it finds and how it reports it).
 *
 * How it sits on the core. The debug library compiles the core files that
 * define the heap entry points (heap.c, walk.c, check.c) with those names
 * changed to lm_core_* (CMake: LM_DEBUG_RENAMES), and this file defines the
 * lm_heap_* names instead, as a layer over the lm_core_* functions. The
 * public API (api.c), the standard names (stdlib.c) and every other
 * caller of lm_heap_* are compiled unchanged and so reach this layer; the
 * core's own calls to itself (realloc calling malloc) stay inside it.
 *
 * Layout of a debug block inside the core's allocation (p: the pointer
 * the core returned; u: the pointer the program gets, LM_ALIGNMENT-aligned):
 *
 *   p          u-32                      u               u+size    end
 *   +--------+ +--------------------------+---------------+---------+
 *   |forward | |      debug header        | requested     | guard   |
 *   |(aligned| |magic size a.seq f.seq    | bytes         | 16..    |
 *   | only)  | |             lead canary  |               | bytes   |
 *   +--------+ +--------------------------+---------------+---------+
 *   <- lead -->                                            (u+size+guard
 *                                                           is aligned)
 * - magic (LIVE or FREED) and canary are keyed to u, so a header copied
 *   elsewhere does not verify. The canary is the header's last word, the
 *   first one an underflow overwrites; magic is its first.
 * - lead is 0 except for alignments above 32: the core then returns p
 *   aligned, u = p + alignment, and a forward record at p (FWD magic keyed
 *   to p, then lead) lets the heap walk find the header from p.
 * - guard bytes are LM_DEBUG_GUARD_BYTE; a malloc'd block starts filled
 *   with LM_DEBUG_ALLOC_BYTE; a freed one is LM_DEBUG_FREED_BYTE up to its
 *   requested size while it waits in the quarantine.
 *
 * The quarantine is a ring of (heap, pointer) entries in static memory,
 * bounded by a byte limit and by QUARANTINE_SLOTS, oldest out first. Its
 * links live outside the heap, so writes into freed blocks cannot break
 * it. Sequence numbers count allocations and frees together.
 *
 * Invariants: every allocation the core holds for the program has a
 * header whose magic is LIVE (handed out) or FREED (in the quarantine,
 * exactly once); lm_check verifies both states byte for byte. Nothing here
 * allocates or prints: every finding goes to lm_report_ex.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "report.h"

/* Every build of this layer defines LM_DEBUG for the files it calls
 * through (CMakeLists.txt; wasm/CMakeLists.txt, where module.c reads it
 * too): without it stdlib.c's malloc and free would inline the core's fast
 * paths (fast.h) and skip this layer's checks. */
#ifndef LM_DEBUG
#error "the debug library is built with LM_DEBUG (see src/fast.h)"
#endif

/* The core's entry points, renamed in the debug library's build of
 * heap.c, walk.c and check.c (CMake: LM_DEBUG_RENAMES). */
void *lm_core_malloc(lm_heap_t *h, size_t size);
void *lm_core_calloc(lm_heap_t *h, size_t count, size_t size);
void *lm_core_aligned_alloc(lm_heap_t *h, size_t alignment, size_t size);
void lm_core_free(lm_heap_t *h, void *ptr);
int lm_core_resize(lm_heap_t *h, void *ptr, size_t size);
size_t lm_core_walk(lm_heap_t *h, lm_visitor_t visitor, void *ctx);
size_t lm_core_check(lm_heap_t *h);

#define HEADER 32u
#define GUARD_MIN 16u
#define MAGIC_LIVE 0x4C4D4C56u   /* "LMLV" */
#define MAGIC_FREED 0x4C4D4644u  /* "LMFD" */
#define MAGIC_CANARY 0x4C4D4341u /* "LMCA" */
#define MAGIC_FWD 0x4C4D4657u    /* "LMFW" */
#define QUARANTINE_SLOTS 1024

typedef struct header {
  uint32_t magic;     /* MAGIC_LIVE or MAGIC_FREED, ^ key(u) */
  uint32_t size;      /* bytes requested */
  uint64_t alloc_seq; /* sequence number of the allocation */
  uint64_t free_seq;  /* of the free; 0 while live */
  uint32_t lead;      /* bytes from the core's pointer to the header */
  uint32_t canary;    /* MAGIC_CANARY ^ key(u) */
} header_t;
_Static_assert(sizeof(header_t) == HEADER, "the header is 32 bytes");
_Static_assert(HEADER % LM_ALIGNMENT == 0, "u stays LM_ALIGNMENT-aligned");

enum { BAD, LIVE, FREED };

static uint64_t seq;

static struct entry {
  lm_heap_t *heap;
  unsigned char *ptr;
  size_t bytes; /* block_bytes, kept here: the header may be overwritten */
} ring[QUARANTINE_SLOTS];
static size_t q_first, q_count, q_bytes;
static size_t q_limit = LM_DEBUG_QUARANTINE_BYTES;

/* ---------------------------------------------------------------------
 * Headers and guards
 * ------------------------------------------------------------------- */

static uint32_t key(const void *at) {
  uint64_t x = (uint64_t)(uintptr_t)at * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

/* Guard bytes after a block of `size` bytes: at least GUARD_MIN, and up
 * to the next multiple of LM_ALIGNMENT. */
static uint32_t guard_len(uint32_t size) {
  return GUARD_MIN + ((LM_ALIGNMENT - size % LM_ALIGNMENT) % LM_ALIGNMENT);
}

/* Bytes of the core allocation behind a block. */
static size_t block_bytes(const header_t *hd) {
  return (size_t)hd->lead + HEADER + hd->size + guard_len(hd->size);
}

static void header_get(const unsigned char *u, header_t *hd) {
  memcpy(hd, u - HEADER, sizeof *hd);
}
static void header_set(unsigned char *u, const header_t *hd) {
  memcpy(u - HEADER, hd, sizeof *hd);
}

/* The state a header claims (LIVE, FREED or BAD), when its size and lead
 * keep the block inside [lo, hi); *hd is the header read. */
static int header_state(const unsigned char *u, uintptr_t lo, uintptr_t hi,
                        header_t *hd) {
  header_get(u, hd);
  uint32_t k = key(u);
  int state = hd->magic == (MAGIC_LIVE ^ k)    ? LIVE
              : hd->magic == (MAGIC_FREED ^ k) ? FREED
                                               : BAD;
  uintptr_t at = (uintptr_t)u;
  if (state != BAD &&
      (hd->size > LM_MAX_REQUEST || hd->lead > LM_MAX_ALIGNMENT ||
       at - lo < (uintptr_t)HEADER + hd->lead ||
       hi - at < (uintptr_t)hd->size + guard_len(hd->size)))
    state = BAD;
  return state;
}

/* The heap's address range, [lo, hi) (empty before its first span). */
static uintptr_t heap_lo(const lm_heap_t *h) { return heap_base(h) + h->lo; }
static uintptr_t heap_hi(const lm_heap_t *h) { return heap_base(h) + h->hi; }

/* What is wrong with a block whose magic is good: its canary (underflow),
 * its guard (overflow) and, when freed, its bytes (use after free). */
typedef struct finding {
  lm_report_kind_t kind;
  const char *message;
  ptrdiff_t offset;
} finding_t;

static int inspect(const unsigned char *u, const header_t *hd, int freed,
                   finding_t *f) {
  uint32_t canary = MAGIC_CANARY ^ key(u);
  if (hd->canary != canary) {
    /* The byte nearest the block that differs. */
    const unsigned char *want = (const unsigned char *)&canary;
    const unsigned char *have = u - sizeof canary;
    int i = (int)sizeof canary - 1;
    while (i > 0 && have[i] == want[i])
      i--;
    f->kind = freed ? LM_REPORT_USE_AFTER_FREE : LM_REPORT_UNDERFLOW;
    f->message = freed ? "bytes just before a freed block were written"
                       : "bytes before the block were written (its debug "
                         "header)";
    f->offset = i - (ptrdiff_t)sizeof canary;
    return 1;
  }
  if (freed)
    for (uint32_t i = 0; i < hd->size; i++)
      if (u[i] != LM_DEBUG_FREED_BYTE) {
        f->kind = LM_REPORT_USE_AFTER_FREE;
        f->message = "freed block was written to";
        f->offset = i;
        return 1;
      }
  uint32_t end = hd->size + guard_len(hd->size);
  for (uint32_t i = hd->size; i < end; i++)
    if (u[i] != LM_DEBUG_GUARD_BYTE) {
      f->kind = freed ? LM_REPORT_USE_AFTER_FREE : LM_REPORT_OVERFLOW;
      f->message = freed ? "bytes past the end of a freed block were written"
                         : "bytes past the requested size were written";
      f->offset = i;
      return 1;
    }
  return 0;
}

static int report(lm_report_kind_t kind, const char *message,
                  const void *address, const header_t *hd, ptrdiff_t offset,
                  int fatal) {
  lm_report_t r = {
      .kind = kind, .message = message, .address = address, .offset = offset};
  if (hd) {
    r.size = hd->size;
    r.alloc_seq = hd->alloc_seq;
    r.free_seq = hd->free_seq;
  }
  return lm_report_ex(&r, fatal);
}

/* Where the header of the core allocation at p (of `usable` bytes) is:
 * its u, or NULL when p holds no debug block (too small, bad forward). */
static unsigned char *user_of(unsigned char *p, size_t usable) {
  uint32_t w[2];
  if (usable < HEADER + GUARD_MIN)
    return NULL;
  memcpy(w, p, sizeof w);
  if (w[0] != (MAGIC_FWD ^ key(p)))
    return p + HEADER;
  if (w[1] < HEADER || w[1] > LM_MAX_ALIGNMENT ||
      usable - HEADER - GUARD_MIN < w[1])
    return NULL;
  return p + w[1] + HEADER;
}

/* The state of the debug block in the core allocation b (a used block or
 * object of the walk): *u and *hd are set unless it is BAD. Its size must
 * fit inside b. */
static int block_state(const lm_block_info_t *b, unsigned char **u,
                       header_t *hd) {
  unsigned char *p = b->ptr;
  *u = user_of(p, b->usable);
  if (!*u)
    return BAD;
  int state = header_state(*u, (uintptr_t)p, (uintptr_t)p + b->usable, hd);
  if (state != BAD && (uintptr_t)(*u - HEADER - hd->lead) != (uintptr_t)p)
    state = BAD;
  return state;
}

/* ---------------------------------------------------------------------
 * Start-up, sequence numbers, the quarantine
 * ------------------------------------------------------------------- */

#ifndef LM_DEBUG_NO_ENV
/* Reads the environment at start-up, as a constructor of default
 * priority: after the C library's own constructors, which set up the
 * environment (Emscripten) or allocate for themselves (WASI preopens), and
 * not at the first malloc, which may come before either. The standalone
 * JavaScript module has no environment (and must import nothing from
 * WASI): it builds this file with LM_DEBUG_NO_ENV, and sets the quarantine
 * with lm_quarantine_limit instead. */
__attribute__((constructor)) static void start_up(void) {
  const char *q = getenv("LMALLOC_QUARANTINE");
  if (q && *q) /* blocks the C library freed already may have to leave */
    lm_quarantine_limit((size_t)strtoull(q, NULL, 0));
  const char *l = getenv("LMALLOC_LEAKS");
  if (l && l[0] == '1')
    lm_leak_report_arm(0); /* print only: see leaks.c */
}
#endif

/* Gives the block at u (FREED, in no ring slot any more) back to the
 * core after checking that nothing wrote to it; `fatal`: whether a
 * finding traps under the default handler. Returns 1 if it was clean.
 * The block goes back before its finding is reported, so a handler that
 * does not return (the JavaScript module's throws) leaves the heap and
 * the quarantine consistent. */
static int give_back(lm_heap_t *h, unsigned char *u, int fatal) {
  header_t hd;
  if (header_state(u, heap_lo(h), heap_hi(h), &hd) != FREED) {
    /* Its header is gone: the core block cannot be found safely. */
    report(LM_REPORT_USE_AFTER_FREE,
           "freed block's debug header was "
           "overwritten (it is not reused)",
           u, NULL, -(ptrdiff_t)HEADER, fatal);
    return 0;
  }
  finding_t f;
  int clean = !inspect(u, &hd, 1, &f);
  lm_core_free(h, u - HEADER - hd.lead);
  if (!clean) /* f and hd are copies: the bytes at u are the core's now */
    report(f.kind, f.message, u, &hd, f.offset, fatal);
  return clean;
}

/* Takes the oldest entry out of the ring and releases it (an entry
 * lm_quarantine_release_heap emptied only leaves). */
static int evict(int fatal) {
  struct entry e = ring[q_first];
  q_first = (q_first + 1) % QUARANTINE_SLOTS;
  q_count--;
  q_bytes -= e.bytes;
  return e.heap ? give_back(e.heap, e.ptr, fatal) : 1;
}

/* Evicts until the ring has room for `bytes` more within the limit. */
static void make_room(size_t bytes) {
  while (q_count && (q_count == QUARANTINE_SLOTS || q_bytes + bytes > q_limit))
    evict(1);
}

/* Releases every quarantined block; returns how many were written to. */
static size_t drain(int fatal) {
  size_t dirty = 0;
  while (q_count)
    dirty += !evict(fatal);
  return dirty;
}

void lm_quarantine_release_heap(lm_heap_t *h) {
  for (size_t i = 0; i < q_count; i++) {
    struct entry *e = &ring[(q_first + i) % QUARANTINE_SLOTS];
    if (e->heap != h)
      continue;
    /* Emptied in place before it is released, so a handler that does not
     * return leaves the ring consistent; the empty entry keeps its slot
     * until it is the oldest. */
    unsigned char *u = e->ptr;
    q_bytes -= e->bytes;
    *e = (struct entry){NULL, NULL, 0};
    give_back(h, u, 1);
  }
}

/* Makes room in the quarantine for the live block whose header is hd,
 * before the call that frees it changes anything: a block found written
 * to as it leaves is reported (fatal), and a handler that does not return
 * (the JavaScript module's throws) then ends the call there, with the
 * block still live and the heap consistent. */
static void make_room_for(const header_t *hd) {
  size_t bytes = block_bytes(hd);
  if (bytes <= q_limit)
    make_room(bytes);
}

/* A live block (header hd, checked) is freed: FREED, filled, and into the
 * quarantine, or straight back to the core when it alone is over the
 * limit. */
static void retire(lm_heap_t *h, unsigned char *u, header_t *hd) {
  make_room_for(hd);
  hd->magic = MAGIC_FREED ^ key(u);
  hd->free_seq = ++seq;
  header_set(u, hd);
  memset(u, LM_DEBUG_FREED_BYTE, hd->size);
  size_t bytes = block_bytes(hd);
  if (bytes > q_limit) {
    give_back(h, u, 1);
    return;
  }
  ring[(q_first + q_count) % QUARANTINE_SLOTS] = (struct entry){h, u, bytes};
  q_count++;
  q_bytes += bytes;
}

/* ---------------------------------------------------------------------
 * Pointers from the program
 * ------------------------------------------------------------------- */

/* A bad pointer whose header does not verify: finds out with a walk what
 * it points at (the error path only) and reports it. */
typedef struct diagnosis {
  const unsigned char *u;
  lm_report_kind_t kind;
  const char *message;
  ptrdiff_t offset;
  header_t hd; /* the block it points into, when have_header */
  int have_header;
} diagnosis_t;

static int diagnose_visit(const lm_block_info_t *b, void *arg) {
  diagnosis_t *d = arg;
  const unsigned char *p = b->ptr, *u = d->u;
  if (b->kind == LM_KIND_SLAB || u <= p || u >= p + b->usable)
    return 0; /* not in this block or object */
  if (!b->used) {
    d->kind = u == p + HEADER ? LM_REPORT_DOUBLE_FREE : LM_REPORT_INVALID_FREE;
    d->message = u == p + HEADER
                     ? "block is already free (it has left the quarantine)"
                     : "pointer is inside free memory, where no block starts";
    return 1;
  }
  unsigned char *bu;
  header_t hd;
  int state = block_state(b, &bu, &hd);
  if (state == BAD && (bu == u || (!bu && u == p + HEADER))) {
    d->kind = LM_REPORT_UNDERFLOW;
    d->message = "the block's debug header was overwritten (an underflow, "
                 "or a stray write)";
    d->offset = -(ptrdiff_t)HEADER;
  } else {
    d->kind = LM_REPORT_INVALID_FREE;
    d->message = state == FREED ? "pointer is inside a freed block, not at "
                                  "its start"
                                : "interior pointer: inside a block but not "
                                  "at its start (the report names that "
                                  "block)";
    if (state != BAD) {
      d->hd = hd;
      d->have_header = 1;
    }
  }
  return 1;
}

/* What live_block is asked for: the block is to be freed (free,
 * realloc), resized in place, or only sized (usable_size: its guard is
 * not checked). A freed block is a double free only for the first. */
enum { FREEING, RESIZING, SIZING };

/* The header of the live block at ptr, in *hd, after checking it; NULL
 * (after reporting it) when ptr is not a live block or, unless SIZING,
 * the block was overrun. Reports trap under the default handler. */
static unsigned char *live_block(lm_heap_t *h, const void *ptr, header_t *hd,
                                 int op) {
  unsigned char *u = (unsigned char *)ptr;
  uintptr_t at = (uintptr_t)ptr;
  if (at % LM_ALIGNMENT) {
    report(LM_REPORT_INVALID_FREE, LM_TEXT_MISALIGNED, ptr, NULL, 0, 1);
    return NULL;
  }
  if (h->hi == 0 || at < heap_lo(h) + HEADER + LM_SPAN_HEADER ||
      at >= heap_hi(h)) {
    report(LM_REPORT_INVALID_FREE, lm_text_outside_heap(), ptr, NULL, 0, 1);
    return NULL;
  }
  /* Another heap's pages (heaps and arenas share the page pool) can lie
   * inside this heap's range: ask their owner first (NULL hook: no other
   * heap exists). */
  if (lm_owner_hook && !lm_owner_hook(h, heap_off(h, u))) {
    report(LM_REPORT_INVALID_FREE,
           "pointer belongs to another heap or an "
           "arena",
           ptr, NULL, 0, 1);
    return NULL;
  }
  int state = header_state(u, heap_lo(h), heap_hi(h), hd);
  /* A header that verifies is trusted only where the core holds a block
   * of this heap big enough for it: a debug header outlives its block
   * when the block's heap is destroyed (a buffer heap's bytes go back to
   * their owner as they are) or when its bytes are copied. */
  if (state != BAD &&
      lm_block_live_size(h, u - HEADER - hd->lead) < block_bytes(hd)) {
    report(LM_REPORT_INVALID_FREE,
           "no block of this heap starts here, though a debug header does: "
           "a stale pointer (its heap was destroyed), copied bytes, or an "
           "underflow past the debug header into the allocator's own",
           ptr, hd, 0, 1);
    return NULL;
  }
  if (state == FREED) {
    report(LM_REPORT_DOUBLE_FREE, lm_text_freed(op == FREEING), ptr, hd, 0, 1);
    return NULL;
  }
  if (state == BAD) {
    diagnosis_t d = {.u = u,
                     .kind = LM_REPORT_INVALID_FREE,
                     .message = "no block starts at this pointer"};
    lm_core_walk(h, diagnose_visit, &d);
    report(d.kind, d.message, ptr, d.have_header ? &d.hd : NULL, d.offset, 1);
    return NULL;
  }
  finding_t f;
  if (op != SIZING && inspect(u, hd, 0, &f)) {
    report(f.kind, f.message, ptr, hd, f.offset, 1);
    return NULL;
  }
  return u;
}

/* ---------------------------------------------------------------------
 * The malloc family
 * ------------------------------------------------------------------- */

/* A new block of `size` bytes aligned to `align` (a power of two; <= 16
 * for plain malloc), zeroed or filled. */
static void *debug_alloc(lm_heap_t *h, size_t size, size_t align, int zero) {
  size_t off = align > HEADER ? align : HEADER; /* from p to u */
  if (size > LM_MAX_REQUEST - off - HEADER) {
    errno = ENOMEM;
    return NULL;
  }
  size_t total = off + size + guard_len((uint32_t)size);
  int saved = errno;
  unsigned char *p;
  for (int attempt = 0;; attempt++) {
    p = align > LM_ALIGNMENT ? lm_core_aligned_alloc(h, align, total)
        : zero               ? lm_core_calloc(h, 1, total)
                             : lm_core_malloc(h, total);
    if (p || attempt == 1 || errno != ENOMEM || q_count == 0)
      break;
    drain(1); /* out of memory: the quarantine gives its blocks back */
  }
  if (!p)
    return NULL;
  errno = saved;
  unsigned char *u = p + off;
  header_t hd = {.magic = MAGIC_LIVE ^ key(u),
                 .size = (uint32_t)size,
                 .alloc_seq = ++seq,
                 .lead = (uint32_t)(off - HEADER),
                 .canary = MAGIC_CANARY ^ key(u)};
  if (hd.lead) {
    uint32_t fwd[2] = {MAGIC_FWD ^ key(p), hd.lead};
    memcpy(p, fwd, sizeof fwd);
  }
  header_set(u, &hd);
  if (!zero) /* calloc's bytes are zero already (lm_core_calloc) */
    memset(u, LM_DEBUG_ALLOC_BYTE, size);
  memset(u + size, LM_DEBUG_GUARD_BYTE, guard_len((uint32_t)size));
  return u;
}

void *lm_heap_malloc(lm_heap_t *h, size_t size) {
  return debug_alloc(h, size, 0, 0);
}

void *lm_heap_calloc(lm_heap_t *h, size_t count, size_t size) {
  if (size && count > LM_MAX_REQUEST / size) {
    errno = ENOMEM;
    return NULL;
  }
  return debug_alloc(h, count * size, 0, 1);
}

void *lm_heap_aligned_alloc(lm_heap_t *h, size_t alignment, size_t size) {
  if (alignment == 0 || (alignment & (alignment - 1)) ||
      alignment > LM_MAX_ALIGNMENT) {
    errno = EINVAL;
    return NULL;
  }
  return debug_alloc(h, size, alignment, 0);
}

void lm_heap_free(lm_heap_t *h, void *ptr) {
  if (!ptr)
    return;
  header_t hd;
  unsigned char *u = live_block(h, ptr, &hd, FREEING);
  if (u)
    retire(h, u, &hd);
}

/* realloc always moves the block: a pointer kept across it then points
 * into the quarantine, where a write through it is caught. */
void *lm_heap_realloc(lm_heap_t *h, void *ptr, size_t size) {
  if (!ptr)
    return lm_heap_malloc(h, size);
  header_t hd;
  unsigned char *u = live_block(h, ptr, &hd, FREEING);
  if (!u)
    return NULL;
  if (size == 0) {
    retire(h, u, &hd);
    return NULL;
  }
  make_room_for(&hd); /* before the new block exists (see make_room_for) */
  unsigned char *q = debug_alloc(h, size, 0, 0);
  if (!q)
    return NULL;
  memcpy(q, u, size < hd.size ? size : hd.size);
  retire(h, u, &hd);
  return q;
}

/* In place, as the core does it: the core allocation is resized to hold
 * the new size and its guard, then the guard moves. */
int lm_heap_resize(lm_heap_t *h, void *ptr, size_t size) {
  if (!ptr)
    return 0;
  header_t hd;
  unsigned char *u = live_block(h, ptr, &hd, RESIZING);
  size_t off = HEADER + (u ? hd.lead : 0);
  if (!u || size > LM_MAX_REQUEST - off - HEADER)
    return 0;
  if (!lm_core_resize(h, u - off, off + size + guard_len((uint32_t)size)))
    return 0;
  if (size > hd.size) /* new bytes, as malloc hands them out */
    memset(u + hd.size, LM_DEBUG_ALLOC_BYTE, size - hd.size);
  hd.size = (uint32_t)size;
  header_set(u, &hd);
  memset(u + size, LM_DEBUG_GUARD_BYTE, guard_len((uint32_t)size));
  return 1;
}

size_t lm_heap_usable_size(lm_heap_t *h, const void *ptr) {
  if (!ptr)
    return 0;
  header_t hd;
  return live_block(h, ptr, &hd, SIZING) ? hd.size : 0;
}

/* ---------------------------------------------------------------------
 * Introspection: the walk as the program sees it, and the checker
 * ------------------------------------------------------------------- */

typedef struct walk_ctx {
  lm_visitor_t visitor;
  void *ctx;
} walk_ctx_t;

static int translate(const lm_block_info_t *b, void *arg) {
  walk_ctx_t *w = arg;
  lm_block_info_t info = *b;
  unsigned char *u;
  header_t hd;
  if (b->used && b->kind != LM_KIND_SLAB && block_state(b, &u, &hd) != BAD) {
    info.ptr = u;
    info.usable = hd.size;
    info.used = (hd.magic ^ key(u)) == MAGIC_LIVE;
    if (b->kind == LM_KIND_OBJECT) /* no header: the object is [ptr, +size) */
      info.size -= (size_t)(u - (unsigned char *)b->ptr);
  }
  return w->visitor(&info, w->ctx);
}

size_t lm_heap_walk(lm_heap_t *h, lm_visitor_t visitor, void *ctx) {
  walk_ctx_t w = {visitor, ctx};
  return visitor ? lm_core_walk(h, translate, &w) : 0;
}

typedef struct check_ctx {
  size_t faults;
  size_t freed;
} check_ctx_t;

static int check_visit(const lm_block_info_t *b, void *arg) {
  check_ctx_t *c = arg;
  if (!b->used || b->kind == LM_KIND_SLAB)
    return 0;
  unsigned char *u;
  header_t hd;
  int state = block_state(b, &u, &hd);
  finding_t f;
  if (state == BAD) {
    c->faults++;
    report(LM_REPORT_UNDERFLOW,
           "allocation has no valid debug header "
           "(overwritten by an underflow or a stray write)",
           (unsigned char *)b->ptr + HEADER, NULL, -(ptrdiff_t)HEADER, 0);
  } else if (inspect(u, &hd, state == FREED, &f)) {
    c->faults++;
    report(f.kind, f.message, u, &hd, f.offset, 0);
  }
  c->freed += state == FREED;
  return 0;
}

size_t lm_heap_check(lm_heap_t *h) {
  size_t faults = lm_core_check(h);
  check_ctx_t c = {0, 0};
  /* The core's checker has reported what its walk meets: quietly here. */
  lm_heap_walk_quiet(h, check_visit, &c);
  size_t mine = 0;
  for (size_t i = 0; i < q_count; i++) {
    struct entry e = ring[(q_first + i) % QUARANTINE_SLOTS];
    if (e.heap != h)
      continue;
    mine++;
    header_t hd;
    if (header_state(e.ptr, heap_lo(h), heap_hi(h), &hd) != FREED) {
      c.faults++;
      report(LM_REPORT_USE_AFTER_FREE,
             "quarantined block's debug header "
             "was overwritten",
             e.ptr, NULL, -(ptrdiff_t)HEADER, 0);
    }
  }
  if (mine != c.freed && c.faults == 0) { /* else already explained */
    c.faults++;
    report(LM_REPORT_CORRUPT,
           "freed blocks in the heap and in the "
           "quarantine disagree",
           NULL, NULL, 0, 0);
  }
  return faults + c.faults;
}

/* ---------------------------------------------------------------------
 * lmalloc_debug.h
 * ------------------------------------------------------------------- */

int lm_debug_enabled(void) { return 1; }

uint64_t lm_debug_seq(void) { return seq; }

typedef struct leak_ctx {
  lm_leak_visitor_t visitor;
  void *ctx;
  size_t count;
  int stopped;
} leak_ctx_t;

static int leak_visit(const lm_block_info_t *b, void *arg) {
  leak_ctx_t *l = arg;
  unsigned char *u;
  header_t hd;
  if (!b->used || b->kind == LM_KIND_SLAB || block_state(b, &u, &hd) != LIVE)
    return 0;
  l->count++;
  lm_leak_t leak = {u, hd.size, hd.alloc_seq};
  if (l->visitor && l->visitor(&leak, l->ctx)) {
    l->stopped = 1;
    return 1;
  }
  return 0;
}

/* lm_leaks of any heap. Not in a public header (the release library has
 * no such function): the JavaScript module (wasm/module.c) lists the
 * leaks of heaps made by lm_heap_create with it. */
size_t lm_debug_heap_leaks(lm_heap_t *h, lm_leak_visitor_t visitor,
                           void *ctx);
size_t lm_debug_heap_leaks(lm_heap_t *h, lm_leak_visitor_t visitor,
                           void *ctx) {
  leak_ctx_t l = {visitor, ctx, 0, 0};
  lm_core_walk(h, leak_visit, &l);
  return l.count;
}

size_t lm_leaks(lm_leak_visitor_t visitor, void *ctx) {
  return lm_debug_heap_leaks(&lm_default_heap, visitor, ctx);
}

size_t lm_quarantine_limit(size_t max_bytes) {
  size_t old = q_limit;
  q_limit = max_bytes;
  make_room(0);
  return old;
}

size_t lm_quarantine_flush(void) { return drain(0); }
