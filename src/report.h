/* Reports beyond lm_report (heap.h): the full report the debug library
 * makes (sequence numbers, offset), and the leak summary, implemented in
 * report.c next to the default handler whose output they share; and the
 * leak report at exit (leaks.c). */
#ifndef LM_REPORT_H
#define LM_REPORT_H

#include <stddef.h>

#include "lmalloc.h"

/* Passes *r to the handler; without one (or when it returns 0) prints the
 * default line and, if `fatal`, traps. Returns non-zero when the handler
 * chose to continue, 0 otherwise (only when not fatal). */
int lm_report_ex(const lm_report_t *r, int fatal);

/* Whether no handler is installed (the default one is in use). */
int lm_report_handler_is_default(void);

/* Writes "lmalloc: <count> <what> (<bytes> bytes)" and a newline to the
 * error output, as the default handler writes its lines. */
void lm_report_summary(size_t count, const char *what, size_t bytes);

/* lm_leak_report_at_exit (leaks.c) with the choice of trapping after the
 * report (the default handler's action) or only printing it. */
void lm_leak_report_arm(int trap);

#endif /* LM_REPORT_H */
