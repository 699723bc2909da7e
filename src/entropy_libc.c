/* Entropy for programs with a C library that has getentropy(): WASI
 * programs (wasi-libc: the random_get import), Emscripten programs
 * (crypto.getRandomValues) and native builds (the getrandom system call).
 * The standalone module for JavaScript has no WASI imports and brings its
 * own (wasm/module.c: a seed from lmalloc.mjs), so this file is only
 * linked where a C library is. */
#define _DEFAULT_SOURCE 1 /* getentropy in glibc's unistd.h */
#include <errno.h>
#include <unistd.h>

#include "pages.h"

uint32_t lm_pages_entropy(void) {
  int saved = errno;
  uint32_t v = 0;
  if (getentropy(&v, sizeof v) != 0)
    v = 0;
  errno = saved;
  return v;
}
