/* Report output for programs that have a POSIX write(): WASI programs,
 * Emscripten programs and native builds. The default report handler's
 * line goes to stderr (fd 2) unbuffered, without malloc, keeping errno as
 * the caller left it; a trap is abort() (an unreachable trap on WASI,
 * Emscripten's abort, SIGABRT natively). The standalone module for
 * JavaScript has no WASI imports and brings its own output (wasm/). */
#include <errno.h>
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

_Noreturn void lm_pages_trap(void) { abort(); }
