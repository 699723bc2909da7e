/* Reports: every misuse the allocator detects and every corruption the
 * checker finds goes through lm_report, to the handler installed with
 * lm_set_report_handler or to the default one, which writes one line to
 * the platform's error output and traps. The allocator never calls printf:
 * the line is assembled here in a static buffer. The debug library's
 * reports carry more (sequence numbers, the offset of the first wrong
 * byte) and come through lm_report_ex (report.h). */
#include "bins.h"
#include "heap.h"
#include "pages.h"
#include "report.h"

static lm_report_handler_t handler;
static void *handler_ctx;

lm_report_handler_t lm_set_report_handler(lm_report_handler_t h, void *ctx) {
  lm_report_handler_t old = handler;
  handler = h;
  handler_ctx = ctx;
  return old;
}

static const char *kind_name(lm_report_kind_t kind) {
  if (kind == LM_REPORT_LEAK)
    return "leak";
  switch (kind) {
  case LM_REPORT_DOUBLE_FREE: return "double free";
  case LM_REPORT_INVALID_FREE: return "invalid pointer";
  case LM_REPORT_CORRUPT: return "heap corruption";
  case LM_REPORT_USE_AFTER_FREE: return "use after free";
  case LM_REPORT_OVERFLOW: return "overflow";
  case LM_REPORT_UNDERFLOW: return "underflow";
  }
  return "error";
}

/* Appends text, an unsigned number in base 10 or 16, to a line buffer. */
typedef struct line {
  char text[256];
  size_t len;
} line_t;

static void put_str(line_t *l, const char *s) {
  while (*s && l->len < sizeof l->text - 1)
    l->text[l->len++] = *s++;
}

static void put_num(line_t *l, uint64_t v, unsigned radix) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % radix];
    v /= radix;
  } while (v);
  if (radix == 16)
    put_str(l, "0x");
  while (n > 0 && l->len < sizeof l->text - 1)
    l->text[l->len++] = digits[--n];
}

int lm_report(lm_report_kind_t kind, const char *message, const void *address,
              size_t size) {
  lm_report_t r = {kind, message, address, size, 0, 0, 0};
  /* the checker counts findings; it never stops the program */
  return lm_report_ex(&r, kind != LM_REPORT_CORRUPT);
}

static line_t line;

/* "(block of 24 bytes, allocation #7, freed #9, byte +24)", the parts
 * that are known. */
static void put_details(line_t *l, const lm_report_t *r) {
  const char *sep = " (";
  if (r->size || r->alloc_seq) {
    put_str(l, sep);
    put_str(l, "block of ");
    put_num(l, r->size, 10);
    put_str(l, " bytes");
    sep = ", ";
  }
  if (r->alloc_seq) {
    put_str(l, sep);
    put_str(l, "allocation #");
    put_num(l, r->alloc_seq, 10);
    sep = ", ";
  }
  if (r->free_seq) {
    put_str(l, sep);
    put_str(l, "freed #");
    put_num(l, r->free_seq, 10);
    sep = ", ";
  }
  if (r->kind == LM_REPORT_USE_AFTER_FREE || r->kind == LM_REPORT_OVERFLOW ||
      r->kind == LM_REPORT_UNDERFLOW) {
    put_str(l, sep);
    put_str(l, r->offset < 0 ? "byte -" : "byte +");
    put_num(l, r->offset < 0 ? (uint64_t)-r->offset : (uint64_t)r->offset, 10);
    sep = ", ";
  }
  if (sep[0] == ',')
    put_str(l, ")");
}

int lm_report_ex(const lm_report_t *r, int fatal) {
  if (handler && handler(r, handler_ctx))
    return 1;
  line.len = 0;
  put_str(&line, "lmalloc: ");
  put_str(&line, kind_name(r->kind));
  put_str(&line, " at ");
  put_num(&line, (uintptr_t)r->address, 16);
  put_details(&line, r);
  put_str(&line, ": ");
  put_str(&line, r->message);
  put_str(&line, "\n");
  lm_pages_write_error(line.text, line.len);
  if (!fatal)
    return 0;
  lm_pages_trap();
}

/* Metadata found broken while allocating or freeing (bins.h): the handler
 * hears of it, but the program stops whatever it answers, since the heap
 * can no longer be trusted. */
_Noreturn void lm_corrupt(const char *what, uintptr_t address) {
  lm_report_t r = {.kind = LM_REPORT_CORRUPT,
                   .message = what,
                   .address = (const void *)address};
  lm_report_ex(&r, 1);
  lm_pages_trap();
}

int lm_report_handler_is_default(void) { return handler == NULL; }

void lm_report_summary(size_t count, const char *what, size_t bytes) {
  line.len = 0;
  put_str(&line, "lmalloc: ");
  put_num(&line, count, 10);
  put_str(&line, " ");
  put_str(&line, what);
  put_str(&line, " (");
  put_num(&line, bytes, 10);
  put_str(&line, " bytes)\n");
  lm_pages_write_error(line.text, line.len);
}
