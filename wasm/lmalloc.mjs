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
// - Views: every helper makes a fresh view of memory.buffer, so growth
//   (by lmalloc or by anyone else) never leaves a stale view behind
//   (TOOLCHAIN.md trap 4). Growth is detected by comparing
//   memory.buffer.byteLength around every call into wasm.
// - Debug builds (debug: true) also track every live block in a Map and
//   refuse helper accesses outside live blocks, frees of pointers that are
//   not live, and report use after free.

const PAGE_SIZE = 65536;
const MAX_PAGES = 65536;
const MAX_SIZE = 0xffffffff; // sizes are wasm32 size_t
const MAX_ALIGNMENT = 2 ** 30; // LM_MAX_ALIGNMENT
const STACK_SIZE = 16 * 1024; // the core never recurses; 16 KiB is ample
const LOW_GUARD = 1024; // in memory of our own, addresses below are unused
const TABLE_BASE = 1; // table slot 0 stays null
const FREED_MEMORY = 65536; // debug: freed blocks remembered for messages

// lm_report_kind_t (lmalloc.h). The last three come only from the debug C
// library (lmalloc_debug.h).
const REPORT_DOUBLE_FREE = 1;
const REPORT_INVALID_FREE = 2;
const REPORT_CORRUPT = 3;
const REPORT_USE_AFTER_FREE = 4;
const KINDS = ['block', 'slab', 'object'];
// What a corrupt heap still runs: the walker and checker read only
// range-checked addresses.
const READ_ONLY_OPS = new Set(['check', 'stats', 'blocks']);

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** Base class of every error lmalloc throws on purpose. */
export class LmallocError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Out of memory: the heap could not grow to serve the request. */
export class AllocationError extends LmallocError {
  constructor(message, { requestedSize, heapSize }) {
    super(message);
    this.requestedSize = requestedSize;
    this.heapSize = heapSize;
  }
}

/** A size that is not an integer from 0 to 2^32 - 1. */
export class InvalidSizeError extends LmallocError {
  constructor(message, { size }) {
    super(message);
    this.size = size;
  }
}

/** An alignment that is not a power of two from 1 to 2^30, or a typed
 * view at an address that is not a multiple of its element size. */
export class InvalidAlignmentError extends LmallocError {
  constructor(message, { alignment }) {
    super(message);
    this.alignment = alignment;
  }
}

/** free or realloc of a block that is already free. */
export class DoubleFreeError extends LmallocError {
  constructor(message, { ptr }) {
    super(message);
    this.ptr = ptr;
  }
}

/** A pointer lmalloc did not return: foreign, interior, misaligned, null
 * where a block is needed, or not a valid address at all. */
export class InvalidPointerError extends LmallocError {
  constructor(message, { ptr }) {
    super(message);
    this.ptr = ptr;
  }
}

/** The C core found its metadata broken (an overflow or a write after
 * free rewrote a header, footer or free-list link). The call that found
 * it changed nothing that can be trusted; the heap then refuses every
 * call but check(), stats() and blocks(). */
export class HeapCorruptionError extends LmallocError {
  constructor(message, { address }) {
    super(message);
    this.address = address;
  }
}

/** Access to a block after it was freed. */
export class UseAfterFreeError extends LmallocError {
  constructor(message, { ptr }) {
    super(message);
    this.ptr = ptr;
  }
}

// ---------------------------------------------------------------------------
// Validation (before any wasm call)
// ---------------------------------------------------------------------------

const hex = (n) => `0x${n.toString(16)}`;

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

async function compile(source, debug) {
  if (source instanceof WebAssembly.Module) return source;
  if (source === undefined || source === null) {
    source = new URL(debug ? './dist/lmalloc-debug.wasm' : './dist/lmalloc.wasm', import.meta.url);
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

class Heap {
  #memory;
  #exports;
  #sp; // the __stack_pointer global
  #stackTop;
  #debug;
  #live; // LiveBlocks in debug builds, else null
  #listeners = [];
  #bytesSeen;
  #op = '';
  #corrupt = ''; // the first heap-corruption report, once there was one
  #walkSink = null;
  #findings = null;
  #maximumPages;

  // `wiring` comes from createHeap, which gets back the hooks the
  // instance's imports call (report, walkEntry) and hands over the exports
  // (attach); none of them is reachable from outside.
  constructor(wiring) {
    this.#memory = wiring.memory;
    this.#sp = wiring.stackPointer;
    this.#stackTop = wiring.stackTop;
    this.#debug = wiring.debug;
    this.#live = wiring.debug ? new LiveBlocks() : null;
    this.#bytesSeen = wiring.memory.buffer.byteLength;
    this.#maximumPages = wiring.maximumPages;
    wiring.report = (kind, address, size, message) => this.#report(kind, address, size, message);
    wiring.walkEntry = (...entry) => this.#walkEntry(...entry);
    wiring.attach = (exports) => {
      this.#exports = exports;
    };
    wiring.grewAtStart = (oldBytes) => {
      // The start-up reservation of a host's memory, as a growth event.
      this.#bytesSeen = oldBytes;
      this.#noticeGrowth('createHeap', undefined);
    };
  }

  // The env.report import: throws the typed error for a misuse; records
  // heap corruption, and whatever lm_check finds, and returns (the checker
  // counts its findings and goes on).
  #report(kind, address, size, message) {
    address >>>= 0;
    size >>>= 0;
    const text = this.#cString(message >>> 0);
    if (this.#op === 'check') {
      this.#findings?.push({ message: text, address });
      return;
    }
    const op = this.#op || 'lmalloc';
    const what = `${op}(${hex(address)}): ${text}${size ? ` (block of ${size} bytes)` : ''}`;
    if (kind === REPORT_CORRUPT) {
      this.#corrupt = what;
      throw new HeapCorruptionError(`heap corruption: ${what}`, { address });
    }
    switch (kind) {
      case REPORT_DOUBLE_FREE:
        if (op === 'usableSize') throw new UseAfterFreeError(what, { ptr: address });
        throw new DoubleFreeError(what, { ptr: address });
      case REPORT_INVALID_FREE:
        throw new InvalidPointerError(what, { ptr: address });
      case REPORT_USE_AFTER_FREE:
        throw new UseAfterFreeError(what, { ptr: address });
      default: // overflow, underflow (debug C library)
        throw new LmallocError(what);
    }
  }

  // The env.walk_entry import: one lm_walk entry.
  #walkEntry(ptr, header, size, usable, used, kind, span) {
    this.#walkSink?.push({
      ptr: ptr >>> 0,
      header: header >>> 0,
      size: size >>> 0,
      usable: usable >>> 0,
      used: used !== 0,
      kind: KINDS[kind] ?? `kind ${kind}`,
      span: span >>> 0,
    });
  }

  get memory() {
    return this.#memory;
  }

  get debug() {
    return this.#debug;
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
      this.#sp.value = this.#stackTop;
      this.#op = '';
      this.#noticeGrowth(op, requestedSize);
      throw e;
    }
    this.#op = '';
    this.#noticeGrowth(op, requestedSize);
    return result;
  }

  #heapBytes() {
    const p = this.#exports.lmjs_stats() >>> 0;
    return p ? new DataView(this.#memory.buffer).getUint32(p + 8, true) : 0;
  }

  #outOfMemory(op, requestedSize, detail) {
    const heapSize = this.#heapBytes();
    const pages = this.#memory.buffer.byteLength / PAGE_SIZE;
    const max = this.#maximumPages === undefined ? '' : ` of at most ${this.#maximumPages}`;
    return new AllocationError(
      `${op}(${detail}): out of memory: the heap holds ${heapSize} bytes, ` +
        `memory is ${pages} pages${max}, and it could not grow by ${requestedSize} bytes`,
      { requestedSize, heapSize },
    );
  }

  // Debug: the pointer given to free/realloc/usableSize must be live.
  #checkLive(op, ptr) {
    if (!this.#live || ptr === 0 || this.#live.has(ptr)) return;
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
    if (this.#live && ptr) this.#live.add(ptr, this.#exports.lm_usable_size(ptr) >>> 0);
  }

  // --- allocation ----------------------------------------------------------

  malloc(size) {
    const p = this.tryMalloc(size);
    if (!p) throw this.#outOfMemory('malloc', size, size);
    return p;
  }

  tryMalloc(size) {
    checkSize('malloc', size);
    const p = this.#call('malloc', size, () => this.#exports.lm_malloc(size)) >>> 0;
    this.#track(p);
    return p;
  }

  calloc(count, size) {
    checkSize('calloc', count, 'count');
    checkSize('calloc', size);
    const total = count * size;
    if (total > MAX_SIZE) {
      throw new InvalidSizeError(
        `calloc: ${count} * ${size} = ${total} bytes is beyond 4 GiB`,
        { size: total },
      );
    }
    const p = this.#call('calloc', total, () => this.#exports.lm_calloc(count, size)) >>> 0;
    if (!p) throw this.#outOfMemory('calloc', total, `${count}, ${size}`);
    this.#track(p);
    return p;
  }

  realloc(ptr, size) {
    checkPointer('realloc', ptr);
    checkSize('realloc', size);
    this.#checkLive('realloc', ptr);
    const q = this.#call('realloc', size, () => this.#exports.lm_realloc(ptr, size)) >>> 0;
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
    this.#checkLive('free', ptr);
    this.#call('free', undefined, () => this.#exports.lm_free(ptr));
    this.#live?.remove(ptr);
  }

  alignedAlloc(alignment, size) {
    checkAlignment('alignedAlloc', alignment);
    checkSize('alignedAlloc', size);
    const p = this.#call('alignedAlloc', size, () =>
      this.#exports.lm_aligned_alloc(alignment, size)) >>> 0;
    if (!p) throw this.#outOfMemory('alignedAlloc', size, `${alignment}, ${size}`);
    this.#track(p);
    return p;
  }

  usableSize(ptr) {
    checkPointer('usableSize', ptr);
    this.#checkLive('usableSize', ptr);
    return this.#call('usableSize', undefined, () => this.#exports.lm_usable_size(ptr)) >>> 0;
  }

  setHeapLimit(maxBytes) {
    checkSize('setHeapLimit', maxBytes, 'limit');
    this.#exports.lm_set_heap_limit(maxBytes);
  }

  // --- memory access -------------------------------------------------------

  // Checks [ptr, ptr + len): a valid non-null address inside memory, and in
  // debug builds inside one live block.
  #checkRange(op, ptr, len) {
    checkPointer(op, ptr);
    checkSize(op, len, 'length');
    if (ptr === 0) throw new InvalidPointerError(`${op}: null pointer`, { ptr });
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
    const p = this.#call('stats', undefined, () => this.#exports.lmjs_stats()) >>> 0;
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

  blocks() {
    const entries = [];
    this.#walkSink = entries;
    try {
      this.#call('blocks', undefined, () => this.#exports.lmjs_walk());
    } finally {
      this.#walkSink = null;
    }
    return entries;
  }

  check(onFinding) {
    const findings = [];
    this.#findings = findings;
    let n;
    try {
      n = this.#call('check', undefined, () => this.#exports.lm_check()) >>> 0;
    } finally {
      this.#findings = null;
    }
    if (onFinding) for (const f of findings) onFinding(f);
    return n;
  }

  onGrow(listener) {
    if (typeof listener !== 'function') throw new TypeError('onGrow: listener must be a function');
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
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
    module: source,
    onGrow,
  } = options;
  checkPages('initialPages', initialPages);
  checkPages('maximumPages', maximumPages);
  if (hostMemory !== undefined) {
    if (!(hostMemory instanceof WebAssembly.Memory)) {
      throw new TypeError('createHeap: memory must be a WebAssembly.Memory');
    }
    if (typeof SharedArrayBuffer !== 'undefined' && hostMemory.buffer instanceof SharedArrayBuffer) {
      throw new TypeError('createHeap: a shared memory is not supported (lmalloc takes no locks)');
    }
  }
  if (onGrow !== undefined && typeof onGrow !== 'function') {
    throw new TypeError('createHeap: onGrow must be a function');
  }

  const module = await compile(source, !!debugOption);
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
  const stackTop = align16(memoryBase + dataBytes + STACK_SIZE);
  const initialEnd = Math.min(startBytes + pages * PAGE_SIZE, 0xffff0000);

  const stackPointer = new WebAssembly.Global({ value: 'i32', mutable: true }, stackTop);
  // The imports call into the heap through `wiring`, which the Heap
  // constructor fills in once the module's build (debug or not) is known.
  const wiring = { memory: own, stackPointer, stackTop, maximumPages };
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
  const heap = new Heap(wiring);
  exports.__wasm_apply_data_relocs?.();
  exports.__wasm_call_ctors?.();
  exports.lmjs_start(initialEnd);
  wiring.attach(exports);
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
