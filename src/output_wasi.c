/* Report output for WASI programs: the default report handler's line goes
 * to stderr (fd 2) through wasi-libc's write, and a trap stops the
 * program. (The standalone module for JavaScript has no WASI imports and
 * brings its own output; native and Emscripten builds have theirs in
 * their page sources.) */
#include <unistd.h>

#include "pages.h"

void lm_pages_write_error(const char *text, size_t len) {
  while (len > 0) {
    ssize_t n = write(2, text, len);
    if (n <= 0)
      return;
    text += n;
    len -= (size_t)n;
  }
}

_Noreturn void lm_pages_trap(void) { __builtin_trap(); }
