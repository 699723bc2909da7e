// What the page says when the user makes one of the classic mistakes: each
// function takes the facts the session gathered (names, addresses, steps,
// what the bytes at the address hold) and returns the explanation shown in
// place, next to the block: what lmalloc did here, and what a real C
// program would have done. Pure text; no DOM, no heap.

import { MIN_BLOCK, decodeHeader, formatBytes, hex } from './heap-layout.mjs';

const when = (step) => (step ? ` at step ${step}` : '');
const called = (label) => (label ? ` ("${label}")` : '');

/** free (or realloc) of a block that is already free. */
export function doubleFree({ name, addr, freedStep, label, op = 'free' }) {
  return `${op}(${name}) again: the block at ${hex(addr)}${called(label)} was already freed${when(freedStep)}. ` +
    'The page\'s heap runs with lmalloc\'s JS checks on (they track every live block), which refused the call ' +
    'before lmalloc saw it; lmalloc itself would have refused it too (the block\'s header says FREE, or its slab ' +
    'map bit is clear), and the heap is untouched. In a real C program this is undefined behaviour: ' +
    'glibc aborts with "free(): double free detected", but a simpler allocator puts the block on its free ' +
    'list twice, so two later mallocs return the same memory and two objects silently share their bytes. ' +
    `Set ${name} = NULL after free(${name}) so a second free does nothing.`;
}

/** free of an address where no block starts (an interior pointer). */
export function interiorFree({ expr, addr, block, offset, headerWord }) {
  const inside = block
    ? ` It is ${offset} bytes into the block at ${hex(block.ptr)}${called(block.label)}.`
    : ' It is not inside any live block.';
  let word = '';
  if (headerWord !== undefined) {
    const h = decodeHeader(headerWord);
    word = !h.free && !h.slab && h.size >= MIN_BLOCK
      ? ` The 4 bytes before it (where a header would be) hold ${hex(headerWord)}, which reads like the header of a ` +
        `${h.size}-byte block in use; but a block lmalloc hands out ends with a seal (4 bytes keyed to where the block starts), ` +
        'and none is where that header says its block ends.'
      : ` The 4 bytes before it (where a header would be) hold ${hex(headerWord)}, which is not a valid header.`;
  }
  return `free(${expr}): ${hex(addr)} is not the start of a block.${inside}${word} ` +
    'lmalloc refused the free (the JS checks know every live block; the C core checks the header and the seal), ' +
    'and nothing changed. ' +
    'A real C program is in undefined behaviour: an allocator that trusts the bytes before the ' +
    'pointer as a header may put part of your data on a free list (glibc usually aborts with ' +
    '"free(): invalid pointer"). Free exactly what malloc returned.';
}

/** A write through a pointer to freed memory that nobody owns now. */
export function writeAfterFree({ expr, addr, freedStep, label, holds }) {
  return `Write after free: ${expr} points to ${hex(addr)}${called(label)}, freed${when(freedStep)}. ` +
    'lmalloc\'s JS checks keep a map of live blocks and refused the write. ' +
    `In a real C program the write succeeds silently: those bytes now ${holds}, so your string would ` +
    'overwrite them and a later malloc would follow a garbage link: a crash far from the bug, or an ' +
    'allocation an attacker chooses. Tools such as AddressSanitizer catch this; plain C does not.';
}

/** A write through a dangling pointer that landed in a block allocated since. */
export function writeToReused({ expr, addr, freedStep, owner }) {
  return `${expr} is dangling: its block was freed${when(freedStep)}, and ${hex(addr)} now belongs to ` +
    `${owner ? `"${owner.label}" (allocated at step ${owner.step})` : 'another block'}. The write went through ` +
    'and changed that block\'s data: no allocator can tell a dangling pointer from a valid one once ' +
    'the memory is reused. In C this is the classic use-after-free bug: another object is corrupted, ' +
    'and the symptom shows up later, somewhere else.';
}

/** free through a dangling pointer whose address was reused. */
export function freeOfReused({ expr, addr, freedStep, owner }) {
  return `${expr} was freed${when(freedStep)}, but ${hex(addr)} has been allocated again since, ` +
    `to ${owner ? `"${owner.label}" (step ${owner.step})` : 'another block'}. So free(${expr}) is a valid ` +
    'free for lmalloc, and it freed the new block: its owner still uses it and now holds a dangling ' +
    'pointer itself. This is why a double free is dangerous in C even when the allocator checks headers.';
}

/** A write that runs past the usable end of a block (or of an arena
 * allocation, with `arena` its name). */
export function overflow({ expr, addr, usable, length, over, next, arena }) {
  const hit = next
    ? ` The ${over} extra byte${over === 1 ? '' : 's'} would land on ${next}.`
    : '';
  const checked = arena
    ? `The page knows each allocation of arena ${arena} and refused the write (the arena itself checks nothing). ` +
      'A real C program writes them anyway: arena allocations sit back to back with no header between them, ' +
      'so the neighbour\'s data changes silently, a bug that shows up somewhere else. '
    : 'lmalloc\'s JS checks compare every write with the block and refused it. A real C program writes them ' +
      'anyway: a corrupted header makes a later free or malloc misbehave far from the bug (glibc: ' +
      '"malloc(): corrupted top size"; lmalloc\'s hardened core refuses the heap from then on), and ' +
      'overwritten neighbour data is a silent bug or an exploit. ';
  return `Overflow: writing ${length} bytes (the string and its terminating 0) at ${expr} = ${hex(addr)}, ` +
    `which has ${usable} usable bytes, runs ${over} byte${over === 1 ? '' : 's'} past its end.${hit} ` +
    `${checked}Always allocate strlen(s) + 1 bytes.`;
}

/** Blocks that became unreachable from every named pointer. */
export function leak({ blocks, cause }) {
  const bytes = blocks.reduce((n, b) => n + b.usable, 0);
  const list = blocks.slice(0, 4).map((b) => `${hex(b.ptr)}${called(b.label)}`).join(', ') +
    (blocks.length > 4 ? ` and ${blocks.length - 4} more` : '');
  return `Leak: ${cause} lost the last pointer to ${blocks.length === 1 ? 'the block' : `${blocks.length} blocks`} ` +
    `${list} (${formatBytes(bytes)}). No named pointer, and no reachable block, holds ${blocks.length === 1 ? 'its' : 'their'} ` +
    'address any more (the page scans reachable blocks for pointers, as a leak checker does), so nothing can ' +
    'ever free them. In C nothing happens at once: the memory stays allocated until the program exits, and ' +
    'a server that leaks in a loop grows until it runs out of memory. valgrind and LeakSanitizer report ' +
    'such blocks as "definitely lost".';
}

/** Any pointer operation on a name that holds NULL. */
export function nullPointer({ expr, what }) {
  return `${expr} is NULL. ${what} In C, dereferencing NULL crashes the program (a segmentation fault); ` +
    'free(NULL) is allowed and does nothing.';
}

/** Out of memory. */
export function outOfMemory({ code, message }) {
  return `${code} failed: ${message}. In C, malloc returns NULL and sets errno = ENOMEM; ` +
    'a program that does not check for NULL crashes on its first write.';
}

/** A size or alignment the API refuses before any wasm call. */
export function badInput({ code, message, what }) {
  return `${code} was refused: ${message}. lmalloc's JavaScript API checks every ${what} before it calls ` +
    'into wasm, so nothing changed. In C the same value converts silently: a negative int passed as size_t ' +
    'becomes a size near 4 GiB, and malloc returns NULL (errno = ENOMEM) or, for an alignment, EINVAL.';
}

/** A call on a heap or an arena after it was destroyed. */
export function destroyed({ code, what, message }) {
  return `${code} was refused: ${message}. After lm_${what}_destroy the handle is dangling, like a pointer ` +
    `after free: its pages or its block belong to someone else now. The JS API remembers every destroyed ${what} ` +
    'and refuses the call, so nothing changed. In C, a call through a dangling handle reads whatever lies there ' +
    'now; set the handle to NULL after destroying it.';
}

/** The heap's metadata found broken (the hardened core's checks). */
export function corruption({ code, message }) {
  return `${code}: ${message}. lmalloc's hardened release core checks its headers, footers and masked free-list ` +
    'links as it uses them, and stops at the first one that does not add up: from now on the heap refuses every ' +
    'call but check, stats and the walk. Undo goes back to a healthy heap.';
}

/** free or realloc of a pointer into an arena. */
export function arenaFree({ expr, addr, arena, op = 'free', heap = 'the default heap' }) {
  return `${op}(${expr}): ${hex(addr)} is in arena ${arena}, not a block of ${heap}, so the call was refused ` +
    'and nothing changed. Arena allocations have no header and are never freed one by one: ' +
    `lm_arena_reset(${arena}) frees all of them at once, in O(1), and lm_arena_destroy gives the pages back. ` +
    'In C, free() of such a pointer reads the bytes before it as a block header: a crash, or a fake free block ' +
    'that a later malloc hands out while the arena still uses it.';
}

/** free or realloc on a heap that does not own the block. */
export function wrongHeap({ expr, addr, owner, heap, op = 'free', label }) {
  return `${op}(${expr}) on ${heap}: the block at ${hex(addr)}${called(label)} belongs to ${owner}. ` +
    'lmalloc records which heap owns each 64 KiB page (and looks up shared pages exactly), so it refused the call ' +
    'and nothing changed. Free each block on the heap that allocated it: lm_heap_free(h, p) for a block of heap h, ' +
    'free(p) for malloc\'s.';
}

/** free of the block that holds a live created heap. */
export function heapInUse({ expr, addr, heap, op = 'free' }) {
  return `${op}(${expr}): the block at ${hex(addr)} holds heap ${heap} (its struct and all its blocks). ` +
    `The page refused the call: freeing it would hand heap ${heap}'s memory to the next malloc while ${heap} ` +
    `still uses it. Destroy the heap first: lm_heap_destroy(${heap}); then free its buffer.`;
}

/** A write through a pointer into an arena that was reset (or destroyed). */
export function useAfterReset({ expr, addr, arena, freedStep, label, reset }) {
  const what = reset ? `reset${when(freedStep)}` : `destroyed${when(freedStep)}`;
  return `Use after ${reset ? 'reset' : 'destroy'}: ${expr} points to ${hex(addr)}${called(label)}, an allocation of arena ` +
    `${arena}, which was ${what}. Nothing holds those bytes now, and the page refused the write. In C it goes ` +
    'through silently, and the next allocations of the arena get the same bytes back: the new frame\'s data and the ' +
    'old pointer then share memory. Every pointer into an arena dies at its reset.';
}
