// What the page says when the user makes one of the classic mistakes: each
// function takes the facts the session gathered (names, addresses, steps,
// what the bytes at the address hold) and returns the explanation shown in
// place, next to the block: what lmalloc did here, and what a real C
// program would have done. Pure text; no DOM, no heap.

import { formatBytes, hex } from './heap-layout.mjs';

const when = (step) => (step ? ` at step ${step}` : '');
const called = (label) => (label ? ` ("${label}")` : '');

/** free (or realloc) of a block that is already free. */
export function doubleFree({ name, addr, freedStep, label, op = 'free' }) {
  return `${op}(${name}) again: the block at ${hex(addr)}${called(label)} was already freed${when(freedStep)}. ` +
    'lmalloc saw that no live block starts there (its header says FREE, or its slab map bit is clear), ' +
    'reported a double free and left the heap untouched. In a real C program this is undefined behaviour: ' +
    'glibc aborts with "free(): double free detected", but a simpler allocator puts the block on its free ' +
    'list twice, so two later mallocs return the same memory and two objects silently share their bytes. ' +
    `Set ${name} = NULL after free(${name}) so a second free does nothing.`;
}

/** free of an address where no block starts (an interior pointer). */
export function interiorFree({ expr, addr, block, offset, headerWord }) {
  const inside = block
    ? ` It is ${offset} bytes into the block at ${hex(block.ptr)}${called(block.label)}.`
    : ' It is not inside any live block.';
  const word = headerWord === undefined ? ''
    : ` The 4 bytes before it (where a header would be) hold ${hex(headerWord)}, which is not a valid header.`;
  return `free(${expr}): ${hex(addr)} is not the start of a block.${inside}${word} ` +
    'lmalloc only frees pointers it returned, so it reported an invalid free and changed nothing. ' +
    'A real C program is in undefined behaviour: the allocator reads whatever bytes sit before the ' +
    'pointer as a header, and may put part of your data on a free list (glibc usually aborts with ' +
    '"free(): invalid pointer"). Free exactly what malloc returned.';
}

/** A write through a pointer to freed memory that nobody owns now. */
export function writeAfterFree({ expr, addr, freedStep, label, holds }) {
  return `Write after free: ${expr} points to ${hex(addr)}${called(label)}, freed${when(freedStep)}. ` +
    'The debug build keeps a map of live blocks and refused the write. ' +
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

/** A write that runs past the usable end of a block. */
export function overflow({ expr, addr, usable, length, over, next }) {
  const hit = next
    ? ` The ${over} extra byte${over === 1 ? '' : 's'} would land on ${next}.`
    : '';
  return `Overflow: writing ${length} bytes (the string and its terminating 0) at ${expr} = ${hex(addr)}, ` +
    `which has ${usable} usable bytes, runs ${over} byte${over === 1 ? '' : 's'} past its end.${hit} ` +
    'The debug build checks every write against the block and refused it. A real C program writes them ' +
    'anyway: a corrupted header makes a later free or malloc misbehave far from the bug (glibc: ' +
    '"malloc(): corrupted top size"), and overwritten neighbour data is a silent bug or an exploit. ' +
    'Always allocate strlen(s) + 1 bytes.';
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
