/* Report output for programs that have a POSIX write(): WASI programs,
 * Emscripten programs and native builds. The default report handler's
 * line goes to stderr (fd 2) unbuffered, without malloc, keeping errno as
 * the caller left it; a trap is abort() (an unreachable trap on WASI,
 * Emscripten's abort, SIGABRT natively). The standalone module for
 * JavaScript has no WASI imports and brings its own output (wasm/). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pages.h"

void lm_pages_write_error(const char *text, size_t len) {
  int saved = errno;
  while (len > 0) {
    ssize_t n = write(2, text, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    text += n;
    len -= (size_t)n;
  }
  errno = saved;
}

/* The program's own buffered output (stdout through a pipe, say) is
 * flushed before the trap, so that what it printed before the error is
 * not lost with it. abort() flushes nothing. fflush is referenced weakly,
 * so that the allocator links no stdio of its own: the output is flushed
 * when the program links fflush (natively always; on WASI a program
 * that calls fflush anywhere, since printf alone does not link it). */
#pragma weak fflush
#ifdef __EMSCRIPTEN__
/* Emscripten's JavaScript side keeps a line without its newline until
 * fsync; weak too, for the same reason. */
#pragma weak fsync
#endif
_Noreturn void lm_pages_trap(void) {
  if (fflush)
    fflush(NULL);
#ifdef __EMSCRIPTEN__
  if (fsync)
    fsync(1);
#endif
  abort();
}
