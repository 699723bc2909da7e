// lmalloc for JavaScript: the allocator compiled to a standalone
// lmalloc.wasm (wasm/module.c, built by wasm/CMakeLists.txt into
// wasm/dist/), behind a small API with typed errors. Types and the full
// contract of every method: lmalloc.d.ts next to this file.
//
//   import { createHeap } from 'lmalloc';
//   const heap = await createHeap();
//   const p = heap.malloc(16);
//   heap.view(Float64Array, p, 2).set([1.5, 2.5]);
//   heap.free(p);
//
// What this file owns, and the invariants it keeps:
// - Loading: bytes, a URL or a WebAssembly.Module; by default the .wasm
//   next to this file (fetch in browsers, node:fs in Node through a dynamic
//   import taken only when process.versions.node exists).
// - Placement: the module is position-independent. createHeap grows the
//   memory (its own, or the host's) by whole pages and puts the module's
//   static data, its stack and the heap's start-up region in those pages
//   only, so lmalloc never writes a byte it does not own (module.c has the
//   picture).
// - Validation: every size, alignment and pointer is checked here before
//   any wasm call, so a negative or fractional number never reaches C.
// - Errors: the C core reports a double free or an invalid pointer before
//   it changes the heap; the report import throws the typed error, which
//   unwinds the wasm call, and the stack pointer is reset afterwards.
//   lmalloc-debug.wasm is the C debug library (lmalloc_debug.h): its
//   reports carry the block's requested size, its allocation and free
//   sequence numbers and the first wrong byte, and name overflows,
//   underflows and writes into quarantined blocks too; it lists leaks.
// - Views: every helper makes a fresh view of memory.buffer, so growth
//   (by lmalloc or by anyone else) never leaves a stale view behind
//   (TOOLCHAIN.md trap 4). Growth is detected by comparing
//   memory.buffer.byteLength around every call into wasm.
// - Heaps and arenas (heaps: true, lmalloc-heaps.wasm): heap.createHeap
//   makes a fixed heap in one block of its parent, heap.createArena an
//   arena; all heaps of one module share the default heap's call state.
//   A pointer of another heap is refused here, before C sees it.
// - Checks (checks: true; on by default in debug builds) track every live
//   block in a Map and refuse helper accesses outside live blocks, frees of
//   pointers that are not live, and report use after free. They cost a Map
//   update per call and work with either build. In the debug build the C
//   library checks the pointers given to free, realloc and usableSize
//   itself (its errors carry sequence numbers), so the Map only checks
//   the helpers' accesses there.

const PAGE_SIZE = 65536;
const MAX_PAGES = 65536;
const MAX_SIZE = 0xffffffff; // sizes are wasm32 size_t
const MAX_ALIGNMENT = 2 ** 30; // LM_MAX_ALIGNMENT
const STACK_SIZE = 16 * 1024; // the core never recurses; 16 KiB is ample
const LOW_GUARD = 1024; // in memory of our own, addresses below are unused
const TABLE_BASE = 1; // table slot 0 stays null
const FREED_MEMORY = 65536; // debug: freed blocks remembered for messages
const HEAP_BUFFER_OVERHEAD = 2048; // LM_HEAP_BUFFER_OVERHEAD (lmalloc_heaps.h)

// lm_report_kind_t (lmalloc.h). The last three, and leaks, come only
// from the debug C library (lmalloc_debug.h).
const REPORT_DOUBLE_FREE = 1;
const REPORT_INVALID_FREE = 2;
const REPORT_CORRUPT = 3;
const REPORT_USE_AFTER_FREE = 4;
const REPORT_OVERFLOW = 5;
const REPORT_UNDERFLOW = 6;
const REPORT_LEAK = 16;
// Each kind's name in messages and in `kind` fields (as C's reports say it).
const REPORT_NAMES = {
  [REPORT_DOUBLE_FREE]: 'double free',
  [REPORT_INVALID_FREE]: 'invalid pointer',
  [REPORT_CORRUPT]: 'heap corruption',
  [REPORT_USE_AFTER_FREE]: 'use after free',
  [REPORT_OVERFLOW]: 'overflow',
  [REPORT_UNDERFLOW]: 'underflow',
  [REPORT_LEAK]: 'leak',
};
const KINDS = ['block', 'slab', 'object'];
// What a corrupt heap still runs: the walker and checker read only
// range-checked addresses; an arena's info and chunks read only the
// arena's own struct and chunk headers, never a heap.
const READ_ONLY_OPS = new Set(['check', 'stats', 'blocks', 'leaks', 'info', 'chunks']);
// Operations whose reports are findings to count, never errors to throw.
const FINDING_OPS = new Set(['check', 'flushQuarantine']);

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** Base class of every error lmalloc throws on purpose. The second
 * argument's fields (what each subclass documents) become the error's
 * own properties. */
export class LmallocError extends Error {
  constructor(message, fields) {
    super(message);
    this.name = new.target.name;
    Object.assign(this, fields);
  }
}

/** Out of memory: the heap could not grow to serve the request. Fields:
 * requestedSize, heapSize. */
export class AllocationError extends LmallocError {}

/** A size that is not an integer from 0 to 2^32 - 1. Field: size. */
export class InvalidSizeError extends LmallocError {}

/** An alignment that is not a power of two from 1 to 2^30, or a typed
 * view at an address that is not a multiple of its element size. Field:
 * alignment. */
export class InvalidAlignmentError extends LmallocError {}

// The errors made from a report of the C library carry what it knows of
// the block (lm_report_t): its requested size, allocation and free
// sequence numbers, and the first wrong byte's offset from ptr; undefined
// where it is not known (the release build knows only some sizes).
class BlockError extends LmallocError {
  constructor(message, { ptr, size, allocSeq, freeSeq, offset }) {
    super(message, { ptr, size, allocSeq, freeSeq, offset });
  }
}

/** free or realloc of a block that is already free. */
export class DoubleFreeError extends BlockError {}

/** A pointer lmalloc did not return: foreign, interior, misaligned, null
 * where a block is needed, or not a valid address at all. */
export class InvalidPointerError extends BlockError {}

/** Access to a block after it was freed; in the debug build also a freed
 * block found written to as it left the quarantine. */
export class UseAfterFreeError extends BlockError {}

/** Debug build: bytes written past a block's requested size (kind
 * 'overflow', its guard bytes) or just before it (kind 'underflow', its
 * debug header), found when the block is freed or reallocated. */
export class OverflowError extends BlockError {
  constructor(message, fields) {
    super(message, fields);
    this.kind = fields.kind;
  }
}

/** The C core found its metadata broken (an overflow or a write after
 * free rewrote a header, footer or free-list link). The call that found
 * it changed nothing that can be trusted; the heap then refuses every
 * call but check(), stats() and blocks(). Field: address. */
export class HeapCorruptionError extends LmallocError {}

/** A call on a heap or an arena after its destroy(). Field: what ('heap'
 * or 'arena'). */
export class DestroyedError extends LmallocError {}

// ---------------------------------------------------------------------------
// Validation (before any wasm call)
// ---------------------------------------------------------------------------

const hex = (n) => `0x${n.toString(16)}`;

// " (block of 24 bytes, allocation #7, freed #9, byte +24)": what a report
// knows of its block, as the C library's default handler writes it.
function reportDetails({ size, allocSeq, freeSeq, offset }) {
  const parts = [];
  if (size !== undefined) parts.push(`block of ${size} bytes`);
  if (allocSeq !== undefined) parts.push(`allocation #${allocSeq}`);
  if (freeSeq !== undefined) parts.push(`freed #${freeSeq}`);
  if (offset !== undefined) parts.push(`byte ${offset < 0 ? '-' : '+'}${Math.abs(offset)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function describe(v) {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  return v === null ? 'null' : typeof v;
}

function checkSize(op, n, what = 'size') {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_SIZE) {
    throw new InvalidSizeError(
      `${op}: ${what} must be an integer from 0 to ${MAX_SIZE} (4 GiB - 1) ` +
        `bytes, got ${describe(n)}`,
      { size: n },
    );
  }
}

// calloc's arguments checked, and the bytes they ask for (at most 4 GiB - 1).
function callocTotal(count, size) {
  checkSize('calloc', count, 'count');
  checkSize('calloc', size);
  const total = count * size;
  if (total > MAX_SIZE) {
    throw new InvalidSizeError(`calloc: ${count} * ${size} = ${total} bytes is beyond 4 GiB`, { size: total });
  }
  return total;
}

function checkPointer(op, p) {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > MAX_SIZE) {
    throw new InvalidPointerError(
      `${op}: a pointer is an integer address from 0 to ${MAX_SIZE}, got ${describe(p)}`,
      { ptr: p },
    );
  }
}

function checkAlignment(op, a) {
  if (
    typeof a !== 'number' || !Number.isInteger(a) || a < 1 ||
    a > MAX_ALIGNMENT || (a & (a - 1)) !== 0
  ) {
    throw new InvalidAlignmentError(
      `${op}: alignment must be a power of two from 1 to ${MAX_ALIGNMENT}, got ${describe(a)}`,
      { alignment: a },
    );
  }
}

function checkPages(name, n) {
  if (n === undefined) return;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_PAGES) {
    throw new RangeError(
      `createHeap: ${name} must be an integer from 0 to ${MAX_PAGES}, got ${describe(n)}`,
    );
  }
}

// An options argument: undefined or null (no options) or an object whose
// keys are all known, so that a misspelt option (maximumPage) is an error
// instead of being ignored. Returns the object to read them from.
function checkOptions(op, options, known) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${op}: options must be an object, got ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw new TypeError(`${op}: unknown option${unknown.length > 1 ? 's' : ''} ` +
      `${unknown.map((k) => `'${k}'`).join(', ')} (known: ${known.join(', ')})`);
  }
  return options;
}

function checkBoolean(op, name, value) {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`${op}: ${name} must be true or false, got ${describe(value)}`);
  }
}

const align16 = (n) => Math.ceil(n / 16) * 16;

// ---------------------------------------------------------------------------
// Loading the module
// ---------------------------------------------------------------------------

const isNode = typeof globalThis.process === 'object' &&
  globalThis.process !== null && !!globalThis.process.versions?.node;

async function readBytes(source) {
  // A URL (or a string that names one, or in Node a file path).
  let url = null;
  if (source instanceof URL) url = source;
  else if (/^[a-z][a-z0-9+.-]+:/i.test(source)) url = new URL(source);
  if (isNode && (!url || url.protocol === 'file:')) {
    const { readFile } = await import('node:fs/promises');
    return readFile(url ?? source);
  }
  const response = await fetch(url ?? source);
  if (!response.ok) {
    throw new Error(`lmalloc: cannot load ${url ?? source}: HTTP ${response.status}`);
  }
  return response.arrayBuffer();
}

async function compile(source, debug, heaps) {
  if (source instanceof WebAssembly.Module) return source;
  if (source === undefined || source === null) {
    const name = `lmalloc${heaps ? '-heaps' : ''}${debug ? '-debug' : ''}.wasm`;
    source = new URL(`./dist/${name}`, import.meta.url);
  }
  let bytes = source;
  if (typeof source === 'string' || source instanceof URL) {
    try {
      bytes = await readBytes(source);
    } catch (e) {
      throw new Error(
        `lmalloc: cannot read the wasm module at ${source} (${e.message}). ` +
          'Build it with `cmake --preset wasi && cmake --build --preset wasi` ' +
          '(or `npm test`), or pass { module } to createHeap.',
        { cause: e },
      );
    }
  } else if (!(source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
    throw new TypeError('createHeap: module must be a WebAssembly.Module, bytes, a URL or a path');
  }
  return WebAssembly.compile(bytes);
}

// The "dylink.0" custom section of a position-independent module says how
// much static data it has and how many table slots it needs.
function readDylink(module) {
  const sections = WebAssembly.Module.customSections(module, 'dylink.0');
  if (sections.length !== 1) {
    throw new Error('lmalloc: this wasm module is not lmalloc.wasm (no dylink.0 section)');
  }
  const b = new Uint8Array(sections[0]);
  let i = 0;
  const leb = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = b[i++];
      v += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return v;
      shift += 7;
    }
  };
  while (i < b.length) {
    const type = b[i++];
    const size = leb();
    const end = i + size;
    if (type === 1) {
      // WASM_DYLINK_MEM_INFO
      const memSize = leb();
      const memAlign = 2 ** leb();
      const tableSize = leb();
      return { memSize, memAlign, tableSize };
    }
    i = end;
  }
  throw new Error('lmalloc: dylink.0 section has no memory info');
}

// ---------------------------------------------------------------------------
// Debug build: the set of live blocks
// ---------------------------------------------------------------------------

class LiveBlocks {
  #live = new Map(); // ptr -> usable bytes
  #freed = new Map(); // ptr -> usable bytes it had (the last FREED_MEMORY)
  #sorted = null; // live pointers in address order, rebuilt when needed

  add(ptr, usable) {
    this.#live.set(ptr, usable);
    this.#freed.delete(ptr);
    this.#sorted = null;
  }

  remove(ptr) {
    const usable = this.#live.get(ptr);
    this.#live.delete(ptr);
    this.#freed.set(ptr, usable);
    if (this.#freed.size > FREED_MEMORY) {
      this.#freed.delete(this.#freed.keys().next().value);
    }
    this.#sorted = null;
  }

  has(ptr) {
    return this.#live.has(ptr);
  }

  // The live block [start, start + usable) holding address p, or null.
  containing(p) {
    if (!this.#sorted) this.#sorted = Float64Array.from(this.#live.keys()).sort();
    const s = this.#sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] <= p) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return null;
    const start = s[lo - 1];
    const usable = this.#live.get(start);
    return p < start + usable || (p === start && usable === 0) ? { start, usable } : null;
  }

  // The most recently freed block that held address p, or null.
  freedContaining(p) {
    if (this.#freed.has(p)) return { start: p, usable: this.#freed.get(p) };
    let found = null;
    for (const [start, usable] of this.#freed) {
      if (p >= start && p < start + usable) found = { start, usable };
    }
    return found;
  }

  wasFreed(ptr) {
    return this.#freed.has(ptr);
  }
}

// ---------------------------------------------------------------------------
// The heap
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The C functions behind one heap: the default heap's (lmalloc.h) or a
// created heap's (lmalloc_heaps.h, on its lm_heap_t *).
const defaultHeapCalls = (e) => ({
  malloc: (n) => e.lm_malloc(n),
  calloc: (c, n) => e.lm_calloc(c, n),
  realloc: (p, n) => e.lm_realloc(p, n),
  free: (p) => e.lm_free(p),
  alignedAlloc: (a, n) => e.lm_aligned_alloc(a, n),
  usableSize: (p) => e.lm_usable_size(p),
  setLimit: (n) => e.lm_set_heap_limit(n),
  stats: () => e.lmjs_stats(),
  walk: () => e.lmjs_walk(),
  check: () => e.lm_check(),
  leaks: () => e.lmjs_leaks(), // debug build only
});

const createdHeapCalls = (e, h) => ({
  malloc: (n) => e.lm_heap_malloc(h, n),
  calloc: (c, n) => e.lm_heap_calloc(h, c, n),
  realloc: (p, n) => e.lm_heap_realloc(h, p, n),
  free: (p) => e.lm_heap_free(h, p),
  alignedAlloc: (a, n) => e.lm_heap_aligned_alloc(h, a, n),
  usableSize: (p) => e.lm_heap_usable_size(h, p),
  setLimit: () => {}, // a fixed heap never grows: nothing to cap
  stats: () => e.lmjs_heap_stats(h),
  walk: () => e.lmjs_heap_walk(h),
  check: () => e.lm_heap_check(h),
  leaks: () => e.lmjs_heap_leaks(h), // debug build only
});

// A heap: the module's default heap (what createHeap returns), or a fixed
// heap made by heap.createHeap({ bytes }) in one block of its parent. All
// heaps of one module share the default heap's call state (#call, the
// report import, growth listeners), reached through #root.
class Heap {
  #root = this;
  #c = null; // the C functions of this heap
  #handle = 0; // lm_heap_t * of a created heap; 0 for the default heap
  #parent = null; // a created heap: the heap whose block holds it,
  #buffer = 0; // that block's address
  #bufferEnd = 0; // and end
  #children = new Set(); // live heaps created from this one
  #destroyed = false;
  #memory;
  #exports;
  #sp; // the __stack_pointer global
  #layout; // where createHeap put static data and stack (get layout)
  #debug;
  #live; // LiveBlocks with checks (debug builds by default), else null
  #listeners = [];
  #bytesSeen;
  #op = '';
  #corrupt = ''; // the first heap-corruption report, once there was one
  // Where the C callbacks put what a walk, check or leak report finds,
  // while #collect runs one (null otherwise).
  #sinks = { walk: null, findings: null, leaks: null };
  #maximumPages;

  // `wiring` comes from createHeap, which gets back the hooks the
  // instance's imports call (report, walkEntry) and hands over the exports
  // (attach); none of them is reachable from outside.
  constructor(wiring) {
    if (wiring.parent) {
      // A fixed heap (createHeap below): no imports of its own to wire.
      const { parent, handle, buffer, size } = wiring;
      const root = parent.#root;
      this.#root = root;
      this.#memory = root.#memory;
      this.#exports = root.#exports;
      this.#debug = root.#debug;
      this.#layout = root.#layout;
      this.#live = root.#live ? new LiveBlocks() : null;
      this.#parent = parent;
      this.#handle = handle;
      this.#buffer = buffer;
      this.#bufferEnd = buffer + size;
      this.#c = createdHeapCalls(root.#exports, handle);
      return;
    }
    this.#memory = wiring.memory;
    this.#sp = wiring.stackPointer;
    this.#layout = wiring.layout; // frozen by createHeap
    this.#debug = wiring.debug;
    this.#live = wiring.checks ? new LiveBlocks() : null;
    this.#bytesSeen = wiring.memory.buffer.byteLength;
    this.#maximumPages = wiring.maximumPages;
    wiring.report = (...report) => this.#report(...report);
    wiring.walkEntry = (...entry) => this.#walkEntry(...entry);
    wiring.attach = (exports) => {
      this.#exports = exports;
      this.#c = defaultHeapCalls(exports);
    };
    wiring.grewAtStart = (oldBytes) => {
      // The start-up reservation of a host's memory, as a growth event.
      this.#bytesSeen = oldBytes;
      this.#noticeGrowth('createHeap', undefined);
    };
  }

  // The env.report import: throws the typed error for a misuse; records
  // heap corruption, and whatever lm_check (or the quarantine's flush)
  // finds, and returns (the checker counts its findings and goes on);
  // collects the leaks lmjs_leaks lists. The debug build passes three
  // arguments more: allocation and free sequence numbers (0: unknown or
  // live) and the first wrong byte's offset (lm_report_t).
  #report(kind, address, size, message, allocSeq = 0, freeSeq = 0, offset = 0) {
    address >>>= 0;
    size >>>= 0;
    const usedAfterFree = kind === REPORT_DOUBLE_FREE && this.#op === 'usableSize';
    // usableSize of a freed block is a use, not a free.
    const text = usedAfterFree ? 'the block was freed' : this.#cString(message >>> 0);
    const debug = this.#debug;
    // Known: a size with a debug header (any allocation number), or a
    // size the release core gives (0 there means unknown).
    const fields = {
      ptr: address,
      size: allocSeq || size ? size : undefined,
      allocSeq: allocSeq || undefined,
      freeSeq: freeSeq || undefined,
      offset: debug && (kind === REPORT_USE_AFTER_FREE || kind === REPORT_OVERFLOW ||
        kind === REPORT_UNDERFLOW) ? offset : undefined,
    };
    if (kind === REPORT_LEAK && this.#op === 'leaks') {
      this.#sinks.leaks?.push({ ptr: address, size, allocSeq: fields.allocSeq });
      return;
    }
    const name = REPORT_NAMES[usedAfterFree ? REPORT_USE_AFTER_FREE : kind] ?? `report ${kind}`;
    if (FINDING_OPS.has(this.#op)) {
      const { ptr, ...block } = fields;
      this.#sinks.findings?.push({ message: text, address: ptr, kind: name, ...block });
      return;
    }
    const op = this.#op || 'lmalloc';
    let what;
    if (!debug) {
      what = `${op}(${hex(address)}): ${text}${size ? ` (block of ${size} bytes)` : ''}`;
    } else if (kind === REPORT_USE_AFTER_FREE) {
      // Only a quarantined block leaving the quarantine (debug.c:
      // give_back) is reported during a call: it is given back first, and
      // the call stops before it changes anything else.
      what = `${op}: use after free at ${hex(address)}${reportDetails(fields)}: ${text}; ` +
        `found as it left the quarantine (it is reused now), so this ${op} did nothing: call it again`;
    } else {
      what = `${op}(${hex(address)}): ${name}${reportDetails(fields)}: ${text}`;
    }
    if (kind === REPORT_CORRUPT) {
      this.#corrupt = what;
      throw new HeapCorruptionError(`heap corruption: ${what}`, { address });
    }
    switch (kind) {
      case REPORT_DOUBLE_FREE:
        if (op === 'usableSize') throw new UseAfterFreeError(what, fields);
        throw new DoubleFreeError(what, fields);
      case REPORT_INVALID_FREE:
        throw new InvalidPointerError(what, fields);
      case REPORT_USE_AFTER_FREE:
        throw new UseAfterFreeError(what, fields);
      case REPORT_OVERFLOW:
      case REPORT_UNDERFLOW:
        throw new OverflowError(what, { kind: name, ...fields });
      default:
        throw new LmallocError(what);
    }
  }

  // The env.walk_entry import: one lm_walk entry.
  #walkEntry(ptr, header, size, usable, used, kind, span, top) {
    this.#sinks.walk?.push({
      ptr: ptr >>> 0,
      header: header >>> 0,
      size: size >>> 0,
      usable: usable >>> 0,
      used: used !== 0,
      kind: KINDS[kind] ?? `kind ${kind}`,
      span: span >>> 0,
      top: top !== 0,
    });
  }

  get memory() {
    return this.#memory;
  }

  /** Where the module's static data and its stack lie in memory:
   * { dataStart, dataEnd, stackBase, stackTop } (byte addresses; the
   * stack grows down from stackTop to stackBase). */
  get layout() {
    return this.#layout;
  }

  get debug() {
    return this.#debug;
  }

  // A created heap: the parent's block it lives in (lm_heap_create's
  // buffer and size), { ptr, size }; null for the default heap.
  get buffer() {
    return this.#parent ? { ptr: this.#buffer, size: this.#bufferEnd - this.#buffer } : null;
  }

  // --- calls into wasm -----------------------------------------------------

  #noticeGrowth(cause, requestedSize) {
    const now = this.#memory.buffer.byteLength;
    if (now === this.#bytesSeen) return;
    const event = {
      oldPages: this.#bytesSeen / PAGE_SIZE,
      newPages: now / PAGE_SIZE,
      cause,
      requestedSize,
    };
    this.#bytesSeen = now;
    for (const listener of [...this.#listeners]) listener(event);
  }

  // Runs f (a call into wasm) for operation `op`: growth by others before
  // it, and by the call itself, is reported; after an exception (a typed
  // error thrown by the report import, or a trap) the stack pointer goes
  // back to the top, since the unwound C frames never restored it.
  #call(op, requestedSize, f) {
    if (this.#corrupt && !READ_ONLY_OPS.has(op))
      throw new HeapCorruptionError(`${op}: the heap is corrupt (${this.#corrupt}); only check(), stats() and blocks() still run`, { address: 0 });
    this.#noticeGrowth('external', undefined);
    this.#op = op;
    let result;
    try {
      result = f();
    } catch (e) {
      this.#sp.value = this.#layout.stackTop;
      this.#op = '';
      this.#noticeGrowth(op, requestedSize);
      throw e;
    }
    this.#op = '';
    this.#noticeGrowth(op, requestedSize);
    return result;
  }

  // Every call of a heap goes through the default heap's #call; a
  // destroyed heap refuses it first.
  #run(op, requestedSize, f) {
    this.#alive(op);
    return this.#root.#call(op, requestedSize, f);
  }

  #alive(op) {
    if (this.#destroyed) {
      throw new DestroyedError(`${op}: this heap was destroyed`, { what: 'heap' });
    }
  }

  // A pointer of another heap is refused here, before C sees it: outside a
  // fixed heap's buffer, or inside the buffer of a heap created from this
  // one (C would see an interior pointer of one of its blocks).
  #checkOwner(op, ptr) {
    if (ptr === 0) return;
    if (this.#parent && (ptr < this.#buffer || ptr >= this.#bufferEnd)) {
      throw new InvalidPointerError(
        `${op}(${hex(ptr)}): not a block of this heap (its buffer is ` +
          `${hex(this.#buffer)}..${hex(this.#bufferEnd)})`,
        { ptr },
      );
    }
    for (const child of this.#children) {
      if (ptr >= child.#buffer && ptr < child.#bufferEnd) {
        throw new InvalidPointerError(
          `${op}(${hex(ptr)}): a block of the heap created at ${hex(child.#buffer)}, not of this heap`,
          { ptr },
        );
      }
    }
  }

  #heapBytes() {
    const p = this.#c.stats() >>> 0;
    return p ? new DataView(this.#memory.buffer).getUint32(p + 8, true) : 0;
  }

  #outOfMemory(op, requestedSize, detail) {
    const heapSize = this.#heapBytes();
    if (this.#parent) {
      return new AllocationError(
        `${op}(${detail}): out of memory: this fixed heap of ${this.#bufferEnd - this.#buffer} ` +
          `bytes is full (it never grows; free blocks to make room)`,
        { requestedSize, heapSize },
      );
    }
    const pages = this.#memory.buffer.byteLength / PAGE_SIZE;
    const max = this.#maximumPages === undefined ? '' : ` of at most ${this.#maximumPages}`;
    return new AllocationError(
      `${op}(${detail}): out of memory: the heap holds ${heapSize} bytes, ` +
        `memory is ${pages} pages${max}, and it could not grow by ${requestedSize} bytes`,
      { requestedSize, heapSize },
    );
  }

  // Checks: the pointer given to free/realloc/usableSize must be live. The
  // debug build's C library checks these itself, and more precisely (with
  // sequence numbers): it is left to it.
  #checkLive(op, ptr) {
    if (!this.#live || this.#debug || ptr === 0 || this.#live.has(ptr)) return;
    if (this.#live.wasFreed(ptr)) {
      if (op === 'usableSize') {
        throw new UseAfterFreeError(`${op}(${hex(ptr)}): the block was freed (use after free)`, { ptr });
      }
      throw new DoubleFreeError(`${op}(${hex(ptr)}): block is already free (double free)`, { ptr });
    }
    const inside = this.#live.containing(ptr);
    if (inside) {
      throw new InvalidPointerError(
        `${op}(${hex(ptr)}): interior pointer, ${ptr - inside.start} bytes into the block at ${hex(inside.start)}`,
        { ptr },
      );
    }
    throw new InvalidPointerError(`${op}(${hex(ptr)}): not a block of this heap`, { ptr });
  }

  #track(ptr) {
    if (this.#live && ptr) this.#live.add(ptr, this.#c.usableSize(ptr) >>> 0);
  }

  // --- allocation ----------------------------------------------------------

  malloc(size) {
    const p = this.tryMalloc(size);
    if (!p) throw this.#outOfMemory('malloc', size, size);
    return p;
  }

  tryMalloc(size) {
    checkSize('malloc', size);
    const p = this.#run('malloc', size, () => this.#c.malloc(size)) >>> 0;
    this.#track(p);
    return p;
  }

  calloc(count, size) {
    const total = callocTotal(count, size);
    const p = this.#run('calloc', total, () => this.#c.calloc(count, size)) >>> 0;
    if (!p) throw this.#outOfMemory('calloc', total, `${count}, ${size}`);
    this.#track(p);
    return p;
  }

  realloc(ptr, size) {
    checkPointer('realloc', ptr);
    checkSize('realloc', size);
    this.#alive('realloc');
    this.#checkOwner('realloc', ptr);
    this.#checkLive('realloc', ptr);
    const q = this.#run('realloc', size, () => this.#c.realloc(ptr, size)) >>> 0;
    if (ptr && size === 0) {
      // realloc(p, 0) frees p and returns 0, as dlmalloc does.
      this.#live?.remove(ptr);
      return 0;
    }
    if (!q) throw this.#outOfMemory('realloc', size, `${hex(ptr)}, ${size}`);
    if (this.#live) {
      if (ptr && q !== ptr) this.#live.remove(ptr);
      this.#track(q);
    }
    return q;
  }

  free(ptr) {
    checkPointer('free', ptr);
    if (ptr === 0) return;
    this.#alive('free');
    this.#checkOwner('free', ptr);
    this.#checkLive('free', ptr);
    this.#run('free', undefined, () => this.#c.free(ptr));
    this.#live?.remove(ptr);
  }

  alignedAlloc(alignment, size) {
    checkAlignment('alignedAlloc', alignment);
    checkSize('alignedAlloc', size);
    const p = this.#run('alignedAlloc', size, () =>
      this.#c.alignedAlloc(alignment, size)) >>> 0;
    if (!p) throw this.#outOfMemory('alignedAlloc', size, `${alignment}, ${size}`);
    this.#track(p);
    return p;
  }

  usableSize(ptr) {
    checkPointer('usableSize', ptr);
    this.#alive('usableSize');
    this.#checkOwner('usableSize', ptr);
    this.#checkLive('usableSize', ptr);
    return this.#run('usableSize', undefined, () => this.#c.usableSize(ptr)) >>> 0;
  }

  setHeapLimit(maxBytes) {
    checkSize('setHeapLimit', maxBytes, 'limit');
    this.#alive('setHeapLimit');
    this.#c.setLimit(maxBytes);
  }

  // --- memory access -------------------------------------------------------

  // Checks [ptr, ptr + len): a valid non-null address inside memory, and in
  // debug builds inside one live block.
  #checkRange(op, ptr, len) {
    checkPointer(op, ptr);
    checkSize(op, len, 'length');
    if (ptr === 0) throw new InvalidPointerError(`${op}: null pointer`, { ptr });
    this.#alive(op);
    if (this.#parent && (ptr < this.#buffer || ptr + len > this.#bufferEnd)) {
      throw new InvalidPointerError(
        `${op}(${hex(ptr)}, ${len}): not inside this heap's buffer ` +
          `(${hex(this.#buffer)}..${hex(this.#bufferEnd)})`,
        { ptr },
      );
    }
    const end = this.#memory.buffer.byteLength;
    if (ptr + len > end) {
      throw new RangeError(
        `${op}(${hex(ptr)}, ${len}): runs past the end of memory (${end} bytes)`,
      );
    }
    if (!this.#live) return;
    const block = this.#live.containing(ptr);
    if (block) {
      if (ptr + len > block.start + block.usable) {
        throw new RangeError(
          `${op}(${hex(ptr)}, ${len}): runs ${ptr + len - block.start - block.usable} bytes ` +
            `past the end of the block at ${hex(block.start)} (${block.usable} usable bytes)`,
        );
      }
      return;
    }
    const freed = this.#live.freedContaining(ptr);
    if (freed) {
      throw new UseAfterFreeError(
        `${op}(${hex(ptr)}, ${len}): the block at ${hex(freed.start)} was freed`,
        { ptr },
      );
    }
    throw new InvalidPointerError(`${op}(${hex(ptr)}, ${len}): not inside a live block`, { ptr });
  }

  bytes(ptr, len) {
    this.#checkRange('bytes', ptr, len);
    return new Uint8Array(this.#memory.buffer, ptr, len);
  }

  read(ptr, len) {
    this.#checkRange('read', ptr, len);
    return new Uint8Array(this.#memory.buffer, ptr, len).slice();
  }

  write(ptr, data) {
    let src;
    if (data instanceof Uint8Array) src = data;
    else if (ArrayBuffer.isView(data)) src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else if (data instanceof ArrayBuffer) src = new Uint8Array(data);
    else if (Array.isArray(data)) src = Uint8Array.from(data);
    else throw new TypeError('write: data must be a typed array, an ArrayBuffer or an array of bytes');
    this.#checkRange('write', ptr, src.length);
    new Uint8Array(this.#memory.buffer, ptr, src.length).set(src);
    return src.length;
  }

  view(Type, ptr, count) {
    const unit = Type?.BYTES_PER_ELEMENT;
    if (typeof unit !== 'number' || typeof Type !== 'function') {
      throw new TypeError('view: Type must be a typed array constructor such as Float64Array');
    }
    checkPointer('view', ptr);
    checkSize('view', count, 'count');
    if (ptr % unit !== 0) {
      throw new InvalidAlignmentError(
        `view: a ${Type.name} needs an address that is a multiple of ${unit}, got ${hex(ptr)}`,
        { alignment: unit },
      );
    }
    this.#checkRange('view', ptr, count * unit);
    return new Type(this.#memory.buffer, ptr, count);
  }

  writeString(ptr, string) {
    const bytes = encoder.encode(String(string));
    this.#checkRange('writeString', ptr, bytes.length + 1);
    const dst = new Uint8Array(this.#memory.buffer, ptr, bytes.length + 1);
    dst.set(bytes);
    dst[bytes.length] = 0;
    return bytes.length;
  }

  readString(ptr, length) {
    if (length !== undefined) {
      this.#checkRange('readString', ptr, length);
      return decoder.decode(new Uint8Array(this.#memory.buffer, ptr, length));
    }
    // Up to the first NUL, which must lie inside the block (debug) or
    // memory (release).
    this.#checkRange('readString', ptr, 0);
    const block = this.#live?.containing(ptr);
    const limit = block ? block.start + block.usable : this.#memory.buffer.byteLength;
    const all = new Uint8Array(this.#memory.buffer, ptr, limit - ptr);
    const nul = all.indexOf(0);
    if (nul < 0) {
      throw new RangeError(`readString(${hex(ptr)}): no NUL byte before ${hex(limit)}`);
    }
    return decoder.decode(all.subarray(0, nul));
  }

  allocString(string) {
    const bytes = encoder.encode(String(string));
    const p = this.malloc(bytes.length + 1);
    const dst = new Uint8Array(this.#memory.buffer, p, bytes.length + 1);
    dst.set(bytes);
    dst[bytes.length] = 0;
    return p;
  }

  #cString(p) {
    if (!p) return '';
    const mem = new Uint8Array(this.#memory.buffer);
    let end = p;
    while (end < mem.length && mem[end] !== 0) end++;
    return decoder.decode(mem.subarray(p, end));
  }

  // --- introspection -------------------------------------------------------

  stats() {
    const p = this.#run('stats', undefined, () => this.#c.stats()) >>> 0;
    if (!p) throw new LmallocError('stats: lm_stats refused the request (version mismatch)');
    const dv = new DataView(this.#memory.buffer, p, 52);
    const word = (i) => dv.getUint32(i * 4, true);
    return {
      heapBytes: word(2),
      pagesGrown: word(3),
      growCount: word(4),
      spans: word(5),
      usedBytes: word(6),
      usedBlocks: word(7),
      freeBytes: word(8),
      freeBlocks: word(9),
      overheadBytes: word(10),
      largestFree: word(11),
      slabs: word(12),
    };
  }

  // Runs f as operation `op` while the root's sink `sink` collects what
  // the C callbacks report; returns f's result and the items collected.
  #collect(sink, op, f) {
    const items = [];
    const sinks = this.#root.#sinks;
    sinks[sink] = items;
    try {
      return { result: this.#run(op, undefined, f), items };
    } finally {
      sinks[sink] = null;
    }
  }

  blocks() {
    return this.#collect('walk', 'blocks', () => this.#c.walk()).items;
  }

  check(onFinding) {
    return this.#findings(this.#collect('findings', 'check', () => this.#c.check()), onFinding);
  }

  // The end of check and flushQuarantine: each finding collected goes to
  // onFinding (when given); returns the count C returned.
  #findings({ result, items }, onFinding) {
    if (onFinding) for (const f of items) onFinding(f);
    return result >>> 0;
  }

  // Every live block: lm_leaks in the debug build (requested size and
  // allocation number); in the release build, as its lm_leaks does, every
  // used block or object of the walk with its usable size, allocSeq
  // undefined.
  leaks() {
    if (!this.#debug) {
      return this.blocks()
        .filter((b) => b.used && b.kind !== 'slab')
        .map((b) => ({ ptr: b.ptr, size: b.usable, allocSeq: undefined }));
    }
    return this.#collect('leaks', 'leaks', () => this.#c.leaks()).items;
  }

  // lm_quarantine_flush (debug build; release: 0): checks and frees every
  // quarantined block of the module (of every heap); returns how many
  // were written to after their free, each passed to onFinding.
  flushQuarantine(onFinding) {
    if (!this.#debug) return 0;
    return this.#findings(this.#collect('findings', 'flushQuarantine',
      () => this.#exports.lm_quarantine_flush()), onFinding);
  }

  // --- heaps and arenas ---------------------------------------------------

  #needHeaps(op) {
    if (typeof this.#exports.lm_heap_create !== 'function') {
      throw new LmallocError(
        `${op}: this module has no heaps and arenas: load lmalloc-heaps.wasm ` +
          'with createHeap({ heaps: true })',
      );
    }
  }

  // A fixed heap in a block of `bytes` bytes of this heap
  // (lm_heap_create(buffer, bytes)).
  createHeap(options = {}) {
    this.#needHeaps('createHeap');
    const { bytes } = checkOptions('createHeap', options, ['bytes']);
    checkSize('createHeap', bytes, 'bytes');
    if (bytes <= HEAP_BUFFER_OVERHEAD) {
      throw new InvalidSizeError(
        `createHeap: a fixed heap needs more than ${HEAP_BUFFER_OVERHEAD} bytes ` +
          `(its own bookkeeping), got ${bytes}`,
        { size: bytes },
      );
    }
    const buffer = this.malloc(bytes);
    const handle = this.#run('createHeap', bytes, () =>
      this.#exports.lm_heap_create(buffer, bytes)) >>> 0;
    if (!handle) {
      this.free(buffer);
      throw new LmallocError(`createHeap: lm_heap_create refused a buffer of ${bytes} bytes`);
    }
    const heap = new Heap({ parent: this, handle, buffer, size: bytes });
    this.#children.add(heap);
    return heap;
  }

  // Destroys a heap made by createHeap, the heaps created from it first,
  // and gives its block back to the parent.
  destroy() {
    if (!this.#parent) {
      throw new LmallocError('destroy: the default heap cannot be destroyed (only heaps from createHeap)');
    }
    this.#alive('destroy');
    for (const child of [...this.#children]) child.destroy();
    this.#run('destroy', undefined, () => this.#exports.lm_heap_destroy(this.#handle));
    this.#destroyed = true;
    this.#parent.#children.delete(this);
    this.#parent.free(this.#buffer);
  }

  // An arena (lm_arena_create): its chunks come from the module's page
  // pool or memory.grow, not from this heap.
  createArena(options = {}) {
    this.#needHeaps('createArena');
    const { chunkBytes = 0 } = checkOptions('createArena', options, ['chunkBytes']);
    checkSize('createArena', chunkBytes, 'chunkBytes');
    const root = this.#root;
    const handle = this.#run('createArena', chunkBytes, () =>
      this.#exports.lm_arena_create(chunkBytes)) >>> 0;
    if (!handle) {
      const pages = this.#memory.buffer.byteLength / PAGE_SIZE;
      throw new AllocationError(
        `createArena(${chunkBytes}): out of memory: memory is ${pages} pages and could not grow`,
        { requestedSize: chunkBytes, heapSize: 0 },
      );
    }
    return new Arena(handle, this.#memory, this.#exports, (op, n, f) => root.#call(op, n, f));
  }

  onGrow(listener) {
    if (typeof listener !== 'function') throw new TypeError('onGrow: listener must be a function');
    const listeners = this.#root.#listeners; // one memory, one set of listeners
    listeners.push(listener);
    return () => {
      const i = listeners.indexOf(listener);
      if (i >= 0) listeners.splice(i, 1);
    };
  }
}

// ---------------------------------------------------------------------------
// Arenas
// ---------------------------------------------------------------------------

// An arena from heap.createArena: bump allocation, all freed at once by
// reset() or destroy() (lmalloc_heaps.h). Pointers into it are valid until
// the next reset or destroy; a destroyed arena refuses every call.
// Chunks per call of lmjs_arena_chunks (LMJS_CHUNKS in module.c).
const ARENA_CHUNKS = 8;

class Arena {
  #handle;
  #memory;
  #exports;
  #call; // the default heap's #call
  #destroyed = false;

  constructor(handle, memory, exports, call) {
    this.#handle = handle;
    this.#memory = memory;
    this.#exports = exports;
    this.#call = call;
  }

  get memory() {
    return this.#memory;
  }

  // The lm_arena_t pointer (its struct, in the first chunk).
  get address() {
    return this.#handle;
  }

  #run(op, requestedSize, f) {
    if (this.#destroyed) {
      throw new DestroyedError(`${op}: this arena was destroyed`, { what: 'arena' });
    }
    return this.#call(op, requestedSize, f);
  }

  #outOfMemory(op, requestedSize, detail) {
    const heapSize = this.info().heldBytes;
    const pages = this.#memory.buffer.byteLength / PAGE_SIZE;
    return new AllocationError(
      `${op}(${detail}): out of memory: the arena holds ${heapSize} bytes, ` +
        `memory is ${pages} pages, and it could not grow by ${requestedSize} bytes`,
      { requestedSize, heapSize },
    );
  }

  alloc(size) {
    checkSize('alloc', size);
    const p = this.#run('alloc', size, () => this.#exports.lm_arena_alloc(this.#handle, size)) >>> 0;
    if (!p) throw this.#outOfMemory('alloc', size, size);
    return p;
  }

  alignedAlloc(alignment, size) {
    checkAlignment('alignedAlloc', alignment);
    checkSize('alignedAlloc', size);
    const p = this.#run('alignedAlloc', size, () =>
      this.#exports.lm_arena_aligned_alloc(this.#handle, alignment, size)) >>> 0;
    if (!p) throw this.#outOfMemory('alignedAlloc', size, `${alignment}, ${size}`);
    return p;
  }

  calloc(count, size) {
    const total = callocTotal(count, size);
    const p = this.#run('calloc', total, () =>
      this.#exports.lm_arena_calloc(this.#handle, count, size)) >>> 0;
    if (!p) throw this.#outOfMemory('calloc', total, `${count}, ${size}`);
    return p;
  }

  reset() {
    this.#run('reset', undefined, () => this.#exports.lm_arena_reset(this.#handle));
  }

  destroy() {
    this.#run('destroy', undefined, () => this.#exports.lm_arena_destroy(this.#handle));
    this.#destroyed = true;
  }

  info() {
    const p = this.#run('info', undefined, () => this.#exports.lmjs_arena_info(this.#handle)) >>> 0;
    if (!p) throw new LmallocError('info: lm_arena_info refused the request');
    const dv = new DataView(this.#memory.buffer, p, 24);
    const word = (i) => dv.getUint32(i * 4, true);
    return {
      usedBytes: word(0),
      allocations: word(1),
      heldBytes: word(2),
      pages: word(3),
      chunks: word(4),
      peakBytes: word(5),
    };
  }

  // lm_arena_walk: the chunks in list order, { start, data, end, used,
  // current }; lmjs_arena_chunks hands them over ARENA_CHUNKS at a time.
  chunks() {
    const chunks = [];
    for (;;) {
      const p = this.#run('chunks', undefined, () =>
        this.#exports.lmjs_arena_chunks(this.#handle, chunks.length)) >>> 0;
      if (!p) throw new LmallocError('chunks: lm_arena_walk refused the request');
      const dv = new DataView(this.#memory.buffer, p, 4 + ARENA_CHUNKS * 20);
      const count = dv.getUint32(0, true);
      for (let i = 0; i < count; i++) {
        const word = (k) => dv.getUint32(4 + i * 20 + k * 4, true);
        chunks.push({ start: word(0), data: word(1), end: word(2), used: word(3), current: word(4) !== 0 });
      }
      if (count < ARENA_CHUNKS) return chunks;
    }
  }

  // A fresh Uint8Array view of [ptr, ptr + len) (checked against the end
  // of memory only: the arena does not track its allocations).
  bytes(ptr, len) {
    checkPointer('bytes', ptr);
    checkSize('bytes', len, 'length');
    if (this.#destroyed) throw new DestroyedError('bytes: this arena was destroyed', { what: 'arena' });
    if (ptr === 0) throw new InvalidPointerError('bytes: null pointer', { ptr });
    const end = this.#memory.buffer.byteLength;
    if (ptr + len > end) {
      throw new RangeError(`bytes(${hex(ptr)}, ${len}): runs past the end of memory (${end} bytes)`);
    }
    return new Uint8Array(this.#memory.buffer, ptr, len);
  }
}

// ---------------------------------------------------------------------------
// createHeap
// ---------------------------------------------------------------------------

export async function createHeap(options = {}) {
  const {
    initialPages,
    maximumPages,
    memory: hostMemory,
    debug: debugOption,
    checks: checksOption,
    heaps: heapsOption,
    module: source,
    quarantineBytes,
    onGrow,
  } = checkOptions('createHeap', options, ['initialPages', 'maximumPages', 'memory', 'debug', 'checks',
    'heaps', 'module', 'quarantineBytes', 'onGrow']);
  checkPages('initialPages', initialPages);
  checkPages('maximumPages', maximumPages);
  if (quarantineBytes !== undefined) checkSize('createHeap', quarantineBytes, 'quarantineBytes');
  if (hostMemory !== undefined) {
    if (!(hostMemory instanceof WebAssembly.Memory)) {
      throw new TypeError('createHeap: memory must be a WebAssembly.Memory');
    }
    if (typeof SharedArrayBuffer !== 'undefined' && hostMemory.buffer instanceof SharedArrayBuffer) {
      throw new TypeError('createHeap: a shared memory is not supported (lmalloc takes no locks)');
    }
  }
  checkBoolean('createHeap', 'checks', checksOption);
  checkBoolean('createHeap', 'debug', debugOption);
  checkBoolean('createHeap', 'heaps', heapsOption);
  if (onGrow !== undefined && typeof onGrow !== 'function') {
    throw new TypeError('createHeap: onGrow must be a function');
  }

  const module = await compile(source, !!debugOption, !!heapsOption);
  const { memSize, memAlign, tableSize } = readDylink(module);
  if (!WebAssembly.Module.exports(module).some((e) => e.name === 'lmjs_debug')) {
    throw new Error('lmalloc: this wasm module is not lmalloc.wasm (no lmjs_debug export)');
  }

  // Reserve whole pages for static data, stack and the start-up region.
  // A memory of our own starts at page 0 (addresses below LOW_GUARD stay
  // unused, so no object sits at or near address 0); a host's memory is
  // grown, and only the new pages are ours.
  const memory = hostMemory ?? null;
  const startBytes = memory ? memory.buffer.byteLength : 0;
  const lead = startBytes === 0 ? LOW_GUARD : 0;
  const dataBytes = align16(memSize);
  const needPages = Math.ceil((lead + dataBytes + STACK_SIZE) / PAGE_SIZE);
  const pages = Math.max(needPages, initialPages ?? 0);
  let own = memory;
  if (!own) {
    if (maximumPages !== undefined && maximumPages < pages) {
      throw new RangeError(
        `createHeap: maximumPages ${maximumPages} is below the ${pages} pages lmalloc needs at start-up`,
      );
    }
    own = new WebAssembly.Memory({ initial: pages, maximum: maximumPages });
  } else {
    try {
      own.grow(pages);
    } catch (e) {
      throw new AllocationError(
        `createHeap: cannot grow the host's memory by ${pages} pages for lmalloc's data, stack and heap (${e.message})`,
        { requestedSize: pages * PAGE_SIZE, heapSize: 0 },
      );
    }
  }
  const memoryBase = Math.ceil((startBytes + lead) / memAlign) * memAlign;
  const dataEnd = memoryBase + dataBytes;
  const stackTop = align16(dataEnd + STACK_SIZE);
  const initialEnd = Math.min(startBytes + pages * PAGE_SIZE, 0xffff0000);

  const stackPointer = new WebAssembly.Global({ value: 'i32', mutable: true }, stackTop);
  // The imports call into the heap through `wiring`, which the Heap
  // constructor fills in once the module's build (debug or not) is known.
  const layout = Object.freeze({ dataStart: memoryBase, dataEnd, stackBase: dataEnd, stackTop });
  const wiring = { memory: own, stackPointer, layout, maximumPages };
  const imports = {
    env: {
      memory: own,
      __indirect_function_table: new WebAssembly.Table({
        element: 'anyfunc',
        initial: TABLE_BASE + tableSize,
      }),
      __stack_pointer: stackPointer,
      __memory_base: memoryBase,
      __table_base: TABLE_BASE,
      report: (...args) => wiring.report(...args),
      walk_entry: (...args) => wiring.walkEntry(...args),
    },
    'GOT.mem': {
      __heap_base: new WebAssembly.Global({ value: 'i32', mutable: true }, stackTop),
    },
  };
  const instance = await WebAssembly.instantiate(module, imports);
  const exports = instance.exports;

  // debug: undefined takes the module's build; an explicit value must match
  // it, so that debug: true never runs without the debug library.
  const moduleIsDebug = exports.lmjs_debug() !== 0;
  if (debugOption !== undefined && !!debugOption !== moduleIsDebug) {
    throw new Error(
      `createHeap: debug: ${!!debugOption} needs ${debugOption ? 'lmalloc-debug.wasm' : 'lmalloc.wasm'}, ` +
        `but the module given is ${moduleIsDebug ? 'lmalloc-debug.wasm' : 'lmalloc.wasm'}`,
    );
  }
  wiring.debug = moduleIsDebug;
  wiring.checks = checksOption ?? moduleIsDebug;
  // The same for heaps: the plain modules have no heaps and arenas.
  const moduleHasHeaps = typeof exports.lm_heap_create === 'function';
  if (heapsOption !== undefined && !!heapsOption !== moduleHasHeaps) {
    throw new Error(
      `createHeap: heaps: ${!!heapsOption} needs a module ${heapsOption ? 'with' : 'without'} heaps ` +
        `and arenas (lmalloc-heaps.wasm or lmalloc-heaps-debug.wasm), but the module given ` +
        `${moduleHasHeaps ? 'has' : 'has no'} heaps`,
    );
  }
  const heap = new Heap(wiring);
  exports.__wasm_apply_data_relocs?.();
  exports.__wasm_call_ctors?.();
  // 32 random bits for the heap keys that mask free-list links (0 where
  // no crypto is available: the keys are then still distinct per heap).
  const seed = globalThis.crypto?.getRandomValues?.(new Uint32Array(1))[0] ?? 0;
  exports.lmjs_start(initialEnd, seed);
  wiring.attach(exports);
  // The debug library's quarantine (LMALLOC_QUARANTINE in C programs);
  // the release build has none.
  if (quarantineBytes !== undefined) exports.lm_quarantine_limit?.(quarantineBytes);
  if (memory && maximumPages !== undefined) {
    // A host's memory keeps its own maximum; the cap applies to the heap.
    heap.setHeapLimit(Math.min(maximumPages * PAGE_SIZE, MAX_SIZE));
  }
  if (onGrow) {
    heap.onGrow(onGrow);
    if (memory) wiring.grewAtStart(startBytes);
  }
  return heap;
}
