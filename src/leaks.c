/* The leak report at exit (lmalloc_debug.h: lm_leak_report_at_exit), in
 * both libraries: at exit, every live block of the default heap allocated
 * after the request (debug library: by sequence number; release library:
 * all of them, it has no numbers) goes to the report handler as
 * LM_REPORT_LEAK, then a summary line. With the default handler every
 * leak is printed (not trapping at the first); then, when the program
 * asked for the report itself, stdio is flushed (exit has not done it yet:
 * atexit handlers run first) and the program traps, so the exit status
 * says leaks were found. Asked for by LMALLOC_LEAKS=1 (debug.c), it only
 * prints: the C library's own start-up blocks may be among the listed. */
#include <stdio.h>
#include <stdlib.h>

#include "heap.h"
#include "pages.h"
#include "report.h"

static uint64_t since; /* report blocks allocated after this number */
static int registered; /* atexit done */
static int fatal;      /* trap after the summary (default handler) */

typedef struct tally {
  size_t count, bytes;
} tally_t;

static int report_leak(const lm_leak_t *leak, void *arg) {
  tally_t *t = arg;
  if (since && leak->alloc_seq <= since)
    return 0;
  t->count++;
  t->bytes += leak->size;
  lm_report_t r = {LM_REPORT_LEAK,
                   "block was never freed",
                   leak->ptr,
                   leak->size,
                   leak->alloc_seq,
                   0,
                   0};
  lm_report_ex(&r, 0);
  return 0;
}

static void report_at_exit(void) {
  tally_t t = {0, 0};
  lm_leaks(report_leak, &t);
  if (t.count && lm_report_handler_is_default()) {
    lm_report_summary(t.count, t.count == 1 ? "block leaked" : "blocks leaked",
                      t.bytes);
    if (fatal) {
      fflush(NULL);
      lm_pages_trap();
    }
  }
}

void lm_leak_report_arm(int trap) {
  since = lm_debug_seq();
  fatal = trap;
  if (!registered) {
    registered = 1;
    atexit(report_at_exit);
  }
}

void lm_leak_report_at_exit(void) { lm_leak_report_arm(1); }
