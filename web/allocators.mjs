// The allocators a trace can be replayed on, behind one small contract
// that the replay engine (replay-engine.mjs) drives:
//
//   malloc(n) calloc(n) aligned(align, n) realloc(p, n) free(p)
//                       the five calls of a trace; return the pointer (0 = NULL)
//   memory              the current WebAssembly.Memory (a new one after restore)
//   top()               the end of the heap: sbrk(0) for the Emscripten
//                       modules, the memory size for lmalloc.wasm (whose heap
//                       is the whole memory past its stack)
//   heapStart           top() before the first operation
//   save()              { bytes, pages, cost }: everything the allocator's
//                       state is (its static data and heap live in memory)
//   restore(saved)      a fresh instance whose memory is `saved` again
//   reset()             a fresh instance, as before the first operation
//
// Two kinds:
// - lmallocJs: the project's wasm/lmalloc.mjs (createHeap) on
//   wasm/dist/lmalloc.wasm, the build the playground shows in detail: it
//   also has stats(), blocks() and check(), and `place` (where createHeap
//   put data and stack) for snapshot.mjs.
// - emscripten: a standalone module built by web/build.mjs from Emscripten's
//   dlmalloc or emmalloc, or lmalloc with -sMALLOC=none, exporting the five
//   functions and sbrk. Their only imports (memory-growth notice, fd_write
//   for lmalloc's reports) are supplied here. `breakOffset` starts the
//   break at that offset within its 64 KiB page (one sbrk before the first
//   operation), as the benchmark harness's break starts: the heap's page
//   count then grows exactly as it does in bench/replay.c (see
//   web/README.md, "Agreement with the benchmark").
//
// Restoring works because an allocator's whole state is in linear memory
// (C globals included) plus the stack pointer, which every call leaves
// where it found it: a fresh instance grown to the same size with the same
// bytes is the same allocator.

export const PAGE = 65536;

/** lmalloc through the project's JS API. `module`: compiled lmalloc.wasm. */
export async function lmallocJs({ createHeap, module, label = 'lmalloc' }) {
  const make = () => createHeap({ module, debug: false });
  let heap = await make();
  let heapStart = heap.memory.buffer.byteLength;
  const a = {
    name: 'lmalloc',
    label,
    detailed: true,
    get place() { return heap.layout; },
    get heap() { return heap; },
    get memory() { return heap.memory; },
    get heapStart() { return heapStart; },
    malloc: (n) => heap.tryMalloc(n),
    calloc: (n) => heap.calloc(1, n),
    aligned: (al, n) => heap.alignedAlloc(al, n),
    realloc: (p, n) => heap.realloc(p, n),
    free: (p) => heap.free(p),
    top: () => heap.memory.buffer.byteLength,
    stats: () => heap.stats(),
    blocks: () => heap.blocks(),
    check: () => heap.check(),
    save() {
      const bytes = new Uint8Array(heap.memory.buffer).slice();
      return { bytes, pages: bytes.length / PAGE, cost: bytes.length };
    },
    async restore(saved) {
      heap = await make();
      const now = heap.memory.buffer.byteLength / PAGE;
      if (saved.pages > now) heap.memory.grow(saved.pages - now);
      new Uint8Array(heap.memory.buffer).set(saved.bytes);
    },
    async reset() {
      heap = await make();
      heapStart = heap.memory.buffer.byteLength;
    },
  };
  return a;
}

// Imports of the standalone Emscripten modules: whatever the module asks
// for, as no-ops, except fd_write (lmalloc's report text) and the exits.
function emImports(module, sink) {
  const imports = {};
  let memory = null;
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    const ns = (imports[imp.module] ??= {});
    if (imp.name === 'fd_write') {
      ns.fd_write = (fd, iov, iovcnt, nwritten) => {
        const dv = new DataView(memory.buffer);
        let n = 0;
        for (let k = 0; k < iovcnt; k++) {
          const p = dv.getUint32(iov + 8 * k, true);
          const len = dv.getUint32(iov + 8 * k + 4, true);
          sink.push(new TextDecoder().decode(new Uint8Array(memory.buffer, p, len)));
          n += len;
        }
        dv.setUint32(nwritten, n, true);
        return 0;
      };
    } else if (imp.name === 'proc_exit' || imp.name === 'abort' || imp.name === '__assert_fail') {
      ns[imp.name] = () => {
        throw new Error(`the allocator aborted${sink.length ? `: ${sink.join('').trim()}` : ''}`);
      };
    } else {
      ns[imp.name] = () => 0;
    }
  }
  return { imports, setMemory: (m) => { memory = m; } };
}

/**
 * A standalone Emscripten allocator module.
 * @param options { module: compiled WebAssembly.Module, name, label,
 *                  breakOffset: null | 0..65535 }
 */
export function emscripten({ module, name, label = name, breakOffset = null }) {
  const sink = [];
  const { imports, setMemory } = emImports(module, sink);
  let ex = null;
  let heapStart = 0;
  let naturalOffset = 0;
  const fresh = () => {
    const inst = new WebAssembly.Instance(module, imports);
    ex = inst.exports;
    setMemory(ex.memory);
    ex._initialize?.();
  };
  const start = () => {
    fresh();
    const brk = ex.sbrk(0) >>> 0;
    naturalOffset = brk % PAGE;
    if (breakOffset !== null && breakOffset !== undefined) {
      const delta = (((breakOffset - naturalOffset) % PAGE) + PAGE) % PAGE;
      if (delta) ex.sbrk(delta);
    }
    heapStart = ex.sbrk(0) >>> 0;
  };
  start();
  const checked = (p) => p >>> 0;
  return {
    name,
    label,
    detailed: false,
    get memory() { return ex.memory; },
    get heapStart() { return heapStart; },
    get naturalOffset() { return naturalOffset; },
    breakOffset,
    messages: sink,
    malloc: (n) => checked(ex.malloc(n)),
    calloc: (n) => checked(ex.calloc(1, n)),
    aligned: (al, n) => checked(ex.aligned_alloc(al, n)),
    realloc: (p, n) => checked(ex.realloc(p, n)),
    free: (p) => ex.free(p),
    top: () => ex.sbrk(0) >>> 0,
    save() {
      // Memory past the break is never written: it stays zero, as in a fresh instance.
      const end = Math.min(ex.memory.buffer.byteLength, Math.ceil((ex.sbrk(0) >>> 0) / PAGE) * PAGE);
      const bytes = new Uint8Array(ex.memory.buffer, 0, end).slice();
      return { bytes, pages: ex.memory.buffer.byteLength / PAGE, cost: bytes.length };
    },
    async restore(saved) {
      fresh();
      const now = ex.memory.buffer.byteLength / PAGE;
      if (saved.pages > now) ex.memory.grow(saved.pages - now);
      new Uint8Array(ex.memory.buffer).set(saved.bytes);
    },
    async reset() {
      start();
    },
  };
}
