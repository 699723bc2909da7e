/* The page source: the only contract between the allocator core and the
 * platform. The core asks it for whole 64 KiB pages and never learns how
 * they were obtained.
 *
 * Implementations (CMake picks exactly one per build):
 *   pages_wasm.c        memory.grow on wasm32-wasi and the standalone module
 *   pages_emscripten.c  Emscripten: an sbrk over emscripten_resize_heap,
 *                       shared with the runtime and any other sbrk caller
 *   pages_host.c        native: a reserved address range that behaves like
 *                       linear memory (for ASan, UBSan, valgrind, libFuzzer)
 * The error output and trap (lm_pages_write_error, lm_pages_trap) come from
 * output_stderr.c and the entropy from entropy_libc.c on every platform,
 * except in the standalone module (wasm/module.c), which brings its own.
 *
 * Addresses: the core stores 32-bit offsets from lm_pages_base(). On wasm
 * the base is 0, so an offset is the linear-memory address itself; on the
 * host it is the start of the reserved range. Offset 0 is never a block.
 *
 * Other code may grow the same memory between two calls (the heap is then
 * not contiguous): lm_pages_grow returns where the new pages really are,
 * and the core starts a new span when they do not follow its last one.
 */
#ifndef LM_PAGES_H
#define LM_PAGES_H

#include <stddef.h>
#include <stdint.h>

#define LM_PAGE_SIZE_LOG2 16
#define LM_PAGE_SIZE ((uint32_t)1 << LM_PAGE_SIZE_LOG2)
_Static_assert(LM_PAGE_SIZE == 65536, "wasm pages are 64 KiB");

/* Start of the address space offsets are relative to (0 on wasm). An
 * integer, not a pointer: arithmetic on a null pointer is undefined. */
uintptr_t lm_pages_base(void);

/* Memory the program owns at start-up but nobody uses yet: on wasm, from
 * __heap_base to the end of the initial memory (trap 6 in TOOLCHAIN.md).
 * Sets *start and *end (offsets, start <= end; equal when there is none).
 * Called once, when the heap first needs memory. */
void lm_pages_initial(uint32_t *start, uint32_t *end);

/* Obtains `count` new pages (count >= 1). Returns the offset of the first
 * new byte, or 0 when the memory cannot grow. The pages read as zero. */
uint32_t lm_pages_grow(uint32_t count);

/* Test hook: grows memory by `count` pages the way unrelated code would
 * (without handing the pages to lmalloc), so tests can make the heap
 * non-contiguous. Returns 0 on success, -1 when memory cannot grow. */
int lm_pages_foreign_grow(uint32_t count);

/* Test hooks of the host page source only (pages_host.c): wasm and
 * Emscripten builds do not define them, so only native tests and fuzzers
 * may call them. */

/* Fault injection: the next `n` calls to lm_pages_grow succeed (as far as
 * memory allows) and the one after that fails once, as if memory.grow had
 * failed; then injection is off again. n < 0 turns it off at once.
 * Returns the previous setting: how many calls were still to succeed, or
 * -1 when injection was off or its failure has happened. */
int lm_pages_fail_after(int n);

/* Gives every page back: memory returns to its start-up state (its
 * initial pages, all zero; no fault injection). Only for a caller that
 * also forgets every heap built on it (the fuzzer, between inputs). */
void lm_pages_reset(void);

/* 32 random bits, or 0 when the platform has none to give. Called once
 * per heap, when its key is made (heap.c: the key masks free-list links
 * and footers; a key nobody can predict is what makes forging them hard).
 * Defined by src/entropy_libc.c, or by the standalone module (wasm/). */
uint32_t lm_pages_entropy(void);

/* Writes `len` bytes of text to the platform's error output (stderr), or
 * nowhere if it has none. Used only by the default report handler. */
void lm_pages_write_error(const char *text, size_t len);

/* Stops the program at once (abort; a wasm trap in the standalone module). */
_Noreturn void lm_pages_trap(void);

#endif /* LM_PAGES_H */
