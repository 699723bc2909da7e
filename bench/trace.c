/* Loader for lmtrace v1 traces: see trace.h for the contract.
 *
 * The file is read in chunks into one static buffer and parsed line by
 * line; nothing here calls stdio or malloc (except lm_trace_load, which
 * hands malloc to the common loader). Validation happens while parsing,
 * so a replayer never meets an op it cannot perform:
 *   live[] (one bit per id) tracks which ids name a live block, which is
 *   how 'f 7' before 'a 7' is caught at its line instead of during replay.
 * Not reentrant (the static buffer), which is fine for a benchmark and for
 * tests that load one trace at a time.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h> /* snprintf only: formats into a stack buffer, no FILE */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest line accepted, comments included; the buffer holds one read
 * chunk plus the unfinished line carried over from the previous one. */
#define BUF_SIZE (256u * 1024u)
static char buf[BUF_SIZE];

typedef struct loader {
  const char *path;
  size_t line; /* 1-based number of the line being parsed */
  lm_trace_t *t;
  size_t filled; /* operations stored so far */
  uint8_t *live; /* bit i set = id i names a live block */
  int have_header;
} loader_t;

static void report(const char *path, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(const char *path, size_t line, const char *fmt, ...) {
  char msg[768];
  int n = line ? snprintf(msg, sizeof msg, "%s:%zu: ", path, line)
               : snprintf(msg, sizeof msg, "%s: ", path);
  if (n < 0 || (size_t)n >= sizeof msg)
    n = 0;
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0)
    m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof msg - 2)
    len = sizeof msg - 2;
  msg[len++] = '\n';
  const char *p = msg;
  while (len > 0) {
    ssize_t w = write(2, p, len);
    if (w <= 0 && errno != EINTR)
      return;
    if (w > 0) {
      p += w;
      len -= (size_t)w;
    }
  }
}

static int live_test(const loader_t *ld, uint32_t id) {
  return (ld->live[id >> 3] >> (id & 7)) & 1;
}

static void live_set(loader_t *ld, uint32_t id, int on) {
  uint8_t bit = (uint8_t)(1u << (id & 7));
  if (on)
    ld->live[id >> 3] |= bit;
  else
    ld->live[id >> 3] &= (uint8_t)~bit;
}

/* Parses one unsigned decimal field at *p (no sign, no leading spaces) up
 * to `max`. Advances *p past the digits. 0 ok, -1 not a number, -2 too
 * large. */
static int parse_num(const char **p, const char *end, uint64_t max,
                     uint64_t *out) {
  const char *s = *p;
  uint64_t v = 0;
  if (s == end || *s < '0' || *s > '9')
    return -1;
  while (s < end && *s >= '0' && *s <= '9') {
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > max)
      return -2;
    s++;
  }
  *p = s;
  *out = v;
  return 0;
}

/* Expects " <number>" at *p; `what` names the field in messages. */
static int field(loader_t *ld, const char **p, const char *end,
                 const char *what, uint64_t max, uint64_t *out) {
  if (*p == end) {
    report(ld->path, ld->line, "missing field <%s>", what);
    return -1;
  }
  if (**p != ' ') {
    report(ld->path, ld->line, "expected one space before <%s>", what);
    return -1;
  }
  (*p)++;
  int r = parse_num(p, end, max, out);
  if (r == -1) {
    report(ld->path, ld->line, "<%s> is not an unsigned decimal number", what);
    return -1;
  }
  if (r == -2) {
    report(ld->path, ld->line, "<%s> is larger than %llu", what,
           (unsigned long long)max);
    return -1;
  }
  if (*p < end && **p != ' ') {
    report(ld->path, ld->line, "junk after <%s>", what);
    return -1;
  }
  return 0;
}

static int expect_word(const char **p, const char *end, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
    return -1;
  *p += n;
  return 0;
}

static int parse_header(loader_t *ld, const char *s, const char *end,
                        void *(*get)(size_t)) {
  static const char usage[] = "expected header 'lmtrace v1 ids <N> ops <M>'";
  const char *p = s;
  uint64_t ids, ops;
  if ((size_t)(end - s) >= 2 && (unsigned char)s[0] == 0x1f &&
      (unsigned char)s[1] == 0x8b) {
    report(ld->path, ld->line,
           "file is gzip-compressed; decompress it first (gzip -dc)");
    return -1;
  }
  if (expect_word(&p, end, "lmtrace ") != 0) {
    report(ld->path, ld->line, "%s", usage);
    return -1;
  }
  if (expect_word(&p, end, "v1") != 0 || (p < end && *p != ' ')) {
    report(ld->path, ld->line, "unsupported trace version (only v1); %s",
           usage);
    return -1;
  }
  if (expect_word(&p, end, " ids") != 0) {
    report(ld->path, ld->line, "%s", usage);
    return -1;
  }
  if (field(ld, &p, end, "N", UINT32_MAX, &ids) != 0)
    return -1;
  if (expect_word(&p, end, " ops") != 0) {
    report(ld->path, ld->line, "%s", usage);
    return -1;
  }
  if (field(ld, &p, end, "M", SIZE_MAX / sizeof(lm_trace_op_t), &ops) != 0)
    return -1;
  if (p != end) {
    report(ld->path, ld->line, "junk after header; %s", usage);
    return -1;
  }
  ld->t->ids = (uint32_t)ids;
  ld->t->count = (size_t)ops;
  if (ops > 0) {
    ld->t->ops = get((size_t)ops * sizeof(lm_trace_op_t));
    if (!ld->t->ops) {
      report(ld->path, ld->line, "out of memory for %llu operations",
             (unsigned long long)ops);
      return -1;
    }
  }
  size_t bitmap = ((size_t)ids + 7) / 8;
  ld->live = get(bitmap ? bitmap : 1);
  if (!ld->live) {
    report(ld->path, ld->line, "out of memory for the table of %llu ids",
           (unsigned long long)ids);
    return -1;
  }
  memset(ld->live, 0, bitmap ? bitmap : 1);
  ld->have_header = 1;
  return 0;
}

static int parse_op(loader_t *ld, const char *s, const char *end) {
  const char *p = s + 1;
  uint64_t id, size = 0, align = 0;
  char op = s[0];
  if ((op != 'a' && op != 'c' && op != 'm' && op != 'r' && op != 'f') ||
      (p < end && *p != ' ')) {
    report(ld->path, ld->line,
           "bad operation '%.*s' (expected a, c, m, r or f)",
           (int)((end - s) > 16 ? 16 : (end - s)), s);
    return -1;
  }
  if (field(ld, &p, end, "id", UINT32_MAX, &id) != 0)
    return -1;
  if (id >= ld->t->ids) {
    report(ld->path, ld->line, "id %llu out of range (header says ids %u)",
           (unsigned long long)id, ld->t->ids);
    return -1;
  }
  if (op == 'm') {
    if (field(ld, &p, end, "align", UINT32_MAX, &align) != 0)
      return -1;
    if (align == 0 || (align & (align - 1)) != 0) {
      report(ld->path, ld->line, "align %llu is not a power of two",
             (unsigned long long)align);
      return -1;
    }
  }
  if (op != 'f' && field(ld, &p, end, "size", UINT32_MAX, &size) != 0)
    return -1;
  if (p != end) {
    report(ld->path, ld->line, "extra field after '%c' operation", op);
    return -1;
  }
  int live = live_test(ld, (uint32_t)id);
  if ((op == 'r' || op == 'f') && !live) {
    report(ld->path, ld->line, "'%c' on id %llu, which is not live", op,
           (unsigned long long)id);
    return -1;
  }
  if ((op == 'a' || op == 'c' || op == 'm') && live) {
    report(ld->path, ld->line, "'%c' on id %llu, which is still live", op,
           (unsigned long long)id);
    return -1;
  }
  if (ld->filled == ld->t->count) {
    report(ld->path, ld->line, "more operations than the header's ops %zu",
           ld->t->count);
    return -1;
  }
  live_set(ld, (uint32_t)id, op != 'f');
  lm_trace_op_t *o = &ld->t->ops[ld->filled++];
  o->op = (uint8_t)op;
  o->id = (uint32_t)id;
  o->size = (uint32_t)size;
  o->align = (uint32_t)align;
  return 0;
}

static int parse_line(loader_t *ld, const char *s, const char *end,
                      void *(*get)(size_t)) {
  if (end > s && end[-1] == '\r')
    end--;
  if (!ld->have_header)
    return parse_header(ld, s, end, get);
  if (s == end || s[0] == '#')
    return 0; /* blank line or comment */
  return parse_op(ld, s, end);
}

static void set_name(lm_trace_t *t, const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  static const char ext[] = ".trace";
  if (n > sizeof ext - 1 && strcmp(base + n - (sizeof ext - 1), ext) == 0)
    n -= sizeof ext - 1;
  if (n > sizeof t->name - 1)
    n = sizeof t->name - 1;
  memcpy(t->name, base, n);
  t->name[n] = '\0';
}

static int load(const char *path, lm_trace_t *t, void *(*get)(size_t),
                void (*release)(void *)) {
  loader_t ld = {path, 1, t, 0, NULL, 0};
  memset(t, 0, sizeof *t);
  set_name(t, path);
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    report(path, 0, "cannot open: %s", strerror(errno));
    return -1;
  }
  size_t len = 0; /* bytes in buf */
  int eof = 0, rc = 0;
  while (rc == 0) {
    /* Parse every complete line in buf[0, len). */
    size_t pos = 0;
    for (;;) {
      char *nl = memchr(buf + pos, '\n', len - pos);
      if (!nl)
        break;
      if (parse_line(&ld, buf + pos, nl, get) != 0) {
        rc = -1;
        break;
      }
      ld.line++;
      pos = (size_t)(nl - buf) + 1;
    }
    if (rc != 0)
      break;
    if (eof) {
      /* A last line without '\n'. */
      if (pos < len && parse_line(&ld, buf + pos, buf + len, get) != 0)
        rc = -1;
      break;
    }
    memmove(buf, buf + pos, len - pos);
    len -= pos;
    if (len == BUF_SIZE) {
      report(path, ld.line, "line longer than %u bytes", BUF_SIZE);
      rc = -1;
      break;
    }
    ssize_t got = read(fd, buf + len, BUF_SIZE - len);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      report(path, ld.line, "read failed: %s", strerror(errno));
      rc = -1;
      break;
    }
    if (got == 0)
      eof = 1;
    len += (size_t)got;
  }
  close(fd);
  if (rc == 0 && !ld.have_header) {
    report(path, 1, "empty file; expected header 'lmtrace v1 ids <N> ops <M>'");
    rc = -1;
  }
  if (rc == 0 && ld.filled != t->count) {
    report(path, 0, "header says ops %zu but the file has %zu", t->count,
           ld.filled);
    rc = -1;
  }
  if (release) {
    release(ld.live);
    if (rc != 0)
      release(t->ops);
  }
  if (rc != 0) {
    t->ops = NULL;
    t->count = 0;
    t->ids = 0;
  }
  return rc;
}

static void *get_malloc(size_t size) { return malloc(size); }

int lm_trace_load(const char *path, lm_trace_t *t) {
  return load(path, t, get_malloc, free);
}

int lm_trace_load_with(const char *path, lm_trace_t *t,
                       void *(*get)(size_t size)) {
  return load(path, t, get, NULL);
}

void lm_trace_free(lm_trace_t *t) {
  if (!t)
    return;
  free(t->ops);
  t->ops = NULL;
  t->count = 0;
  t->ids = 0;
}
