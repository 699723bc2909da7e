/* test_trap_output: what the program printed before lmalloc stops it is
 * not lost. The default report handler traps (abort), which flushes no
 * stdio buffer; stdout through a pipe (as ctest runs it) is buffered, and
 * the line below has no newline, so even a line-buffered stdout still
 * holds it. lm_pages_trap flushes first (src/output_stderr.c), through
 * fflush when the program links it: natively always, on WASI only when
 * the program calls fflush somewhere (printf alone does not link it), as
 * this one does (and on Emscripten fsync too).
 *
 * ctest runs it through expect-trap.cmake, which wants the line, then
 * the double-free report, and a failing status.
 */
#include <stdio.h>
#ifdef __EMSCRIPTEN__
#include <unistd.h>
#endif

#include "lmalloc.h"

int main(void) {
  fflush(stdout); /* nothing to flush yet: it links fflush (see above) */
#ifdef __EMSCRIPTEN__
  fsync(1); /* and fsync, which Emscripten's trap needs as well */
#endif
  char *p = lm_malloc(100);
  printf("printed before the error, never flushed by the program");
  lm_free(p);
  lm_free(p); /* a double free: reported, and the default handler traps */
  printf("\nnot reached: the double free did not stop the program\n");
  return 0;
}
