/* Entropy for programs with a C library that has getentropy(): WASI
 * programs (wasi-libc: the random_get import), Emscripten programs
 * (crypto.getRandomValues) and native builds (the getrandom system call).
 * The standalone module for JavaScript has no WASI imports and brings its
 * own (wasm/module.c: a seed from lmalloc.mjs), so this file is only
 * linked where a C library is.
 *
 * The first 32 bits are read at start-up, by a constructor, and kept for
 * the first heap made (normally the default heap, on the first malloc;
 * a heap created before that takes them instead): the first
 * getentropy of an Emscripten program under node loads node's WebCrypto,
 * which took 3 ms here (a dlmalloc program's first malloc: 0.16 ms), and
 * that belongs to start-up, not to a malloc in the middle of a frame.
 * Later heaps read their own bits when they are created. */
#define _DEFAULT_SOURCE 1 /* getentropy in glibc's unistd.h */
#include <errno.h>
#include <unistd.h>

#include "pages.h"

static uint32_t read_entropy(void) {
  int saved = errno;
  uint32_t v = 0;
  if (getentropy(&v, sizeof v) != 0)
    v = 0;
  errno = saved;
  return v;
}

/* The bits read at start-up; 0 once taken (or if none could be read:
 * the first heap then reads its own). */
static uint32_t early;

__attribute__((constructor)) static void read_early(void) {
  early = read_entropy();
}

uint32_t lm_pages_entropy(void) {
  uint32_t v = early;
  early = 0; /* a heap's key is kept in its heap only */
  return v ? v : read_entropy();
}
