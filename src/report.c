/* Reports: every misuse the allocator detects and every corruption the
 * checker finds goes through lm_report, to the handler installed with
 * lm_set_report_handler or to the default one, which writes one line to
 * the platform's error output and traps. The allocator never calls printf:
 * the line is assembled here in a static buffer. */
#include "heap.h"
#include "pages.h"

static lm_report_handler_t handler;
static void *handler_ctx;

lm_report_handler_t lm_set_report_handler(lm_report_handler_t h, void *ctx) {
  lm_report_handler_t old = handler;
  handler = h;
  handler_ctx = ctx;
  return old;
}

static const char *kind_name(lm_report_kind_t kind) {
  switch (kind) {
  case LM_REPORT_DOUBLE_FREE: return "double free";
  case LM_REPORT_INVALID_FREE: return "invalid pointer";
  case LM_REPORT_CORRUPT: return "heap corruption";
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

static void put_num(line_t *l, uintptr_t v, unsigned radix) {
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
  lm_report_t r = {kind, message, address, size};
  if (handler && handler(&r, handler_ctx))
    return 1;
  static line_t line;
  line.len = 0;
  put_str(&line, "lmalloc: ");
  put_str(&line, kind_name(kind));
  put_str(&line, " at ");
  put_num(&line, (uintptr_t)address, 16);
  if (size) {
    put_str(&line, " (block of ");
    put_num(&line, size, 10);
    put_str(&line, " bytes)");
  }
  put_str(&line, ": ");
  put_str(&line, message);
  put_str(&line, "\n");
  lm_pages_write_error(line.text, line.len);
  if (kind == LM_REPORT_CORRUPT)
    return 0; /* the checker counts findings; it never stops the program */
  lm_pages_trap();
}
