// Types for lmalloc.mjs: lmalloc, a memory allocator for WebAssembly linear
// memory, as an ES module. Pointers and sizes are plain numbers (wasm32
// addresses, 0 .. 2^32 - 1); 0 is the null pointer.

/** Options of createHeap. */
export interface HeapOptions {
  /**
   * Pages (64 KiB) lmalloc takes at start-up for its static data, its stack
   * and the first heap region. With a memory of its own this is the
   * memory's initial size; with a host's memory, how many pages it grows
   * that memory by. Default and minimum: what data and stack need (1 page).
   */
  initialPages?: number;
  /**
   * With a memory of its own: the memory's maximum, in pages (default: none,
   * up to 4 GiB). With a host's memory: a cap on the heap
   * (lm_set_heap_limit(maximumPages * 65536)); the memory keeps its own
   * maximum.
   */
  maximumPages?: number;
  /**
   * A host's memory to share (not a shared one). lmalloc grows it by whole
   * pages at start-up, keeps its data and stack there, and from then on
   * only uses pages it grew itself: it never hands out or writes a byte the
   * host owns, and keeps working when the host grows the memory too. Do not
   * share a memory whose other users take memory through Emscripten's sbrk,
   * which assumes it owns every page above its break.
   */
  memory?: WebAssembly.Memory;
  /**
   * Load lmalloc-debug.wasm and check every pointer and every memory access
   * against a map of live blocks (see Heap). Default: false, or with a
   * `module` given, that module's build; an explicit value must match the
   * module's build.
   */
  debug?: boolean;
  /**
   * Track every live block in JavaScript and refuse helper accesses
   * (bytes, read, write, view, strings) outside live blocks, frees of
   * pointers that are not live, and use after free, with either build.
   * Costs a Map update per call. Default: the module's build (on for
   * debug, off for release).
   */
  checks?: boolean;
  /**
   * The wasm module: a compiled WebAssembly.Module, its bytes, or where to
   * load it from (a URL; in Node also a file path). Default: dist/lmalloc.wasm
   * (or dist/lmalloc-debug.wasm) next to lmalloc.mjs.
   */
  module?: WebAssembly.Module | BufferSource | URL | string;
  /**
   * Load lmalloc-heaps.wasm (or lmalloc-heaps-debug.wasm), which adds
   * heap.createHeap and heap.createArena (a separate module: the page
   * pool's owner table is 64 KiB of static data, so its start-up takes one
   * page more). Default: false, or with a `module` given, whether that
   * module has them; an explicit value must match the module.
   */
  heaps?: boolean;
  /** Same as calling heap.onGrow(onGrow) at once; with a host's memory it
   * also sees the start-up growth (cause "createHeap"). */
  onGrow?: (event: GrowEvent) => void;
}

/** Memory grew (detected by comparing memory.buffer.byteLength around every
 * call into wasm). */
export interface GrowEvent {
  oldPages: number;
  newPages: number;
  /** The heap method whose call grew memory ("malloc", "calloc",
   * "realloc", "alignedAlloc", ...); "external" when something else grew it
   * between two calls; "createHeap" for the start-up reservation. */
  cause: string;
  /** The size the call asked for (calloc: count * size), if any. */
  requestedSize: number | undefined;
}

/** lm_stats, field by field (lmalloc.h: heap_bytes -> heapBytes, ...). */
export interface HeapStats {
  /** Bytes taken from memory (all spans). */
  heapBytes: number;
  /** Pages obtained through memory.grow by the allocator. */
  pagesGrown: number;
  /** Successful memory.grow calls by the allocator. */
  growCount: number;
  /** Contiguous spans (more than 1 when others grew memory in between). */
  spans: number;
  /** Usable bytes of allocations. */
  usedBytes: number;
  /** Allocations (used blocks and used slab objects). */
  usedBlocks: number;
  /** Free blocks (headers included) plus free slab objects. */
  freeBytes: number;
  /** Free blocks (slab objects not counted). */
  freeBlocks: number;
  /** Headers, span markers, slab headers, slack. */
  overheadBytes: number;
  /** Largest free block, header included. */
  largestFree: number;
  /** Slabs of small objects. */
  slabs: number;
}

/** One entry of the heap walk (lm_walk), in address order. */
export interface BlockInfo {
  /** What malloc returned (payload or object address). */
  ptr: number;
  /** First byte of the block; 0 for slab objects. */
  header: number;
  /** Whole block, header included; for objects, the object size. */
  size: number;
  /** Bytes usable at ptr. */
  usable: number;
  used: boolean;
  /** "slab": a block holding small objects, followed by one "object"
   * entry per slot. */
  kind: 'block' | 'slab' | 'object';
  /** Index of the contiguous span, 0-based, in address order. */
  span: number;
}

/** A checker finding (lm_check). */
export interface CheckFinding {
  message: string;
  address: number;
}

export type TypedArrayConstructor<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * A heap in wasm linear memory.
 *
 * Errors (all extend LmallocError, except the RangeError and TypeError
 * noted): sizes, alignments and pointers are validated before any wasm
 * call. Both builds detect, through the C core's O(1) checks: double free
 * of a block, free of a foreign or misaligned pointer, and most interior
 * pointers. Only the debug build (debug: true) also sees:
 *   - UseAfterFreeError when bytes/read/write/view/strings touch a freed
 *     block, and DoubleFreeError for a small object whose slab was already
 *     given back (release: InvalidPointerError);
 *   - InvalidPointerError for any interior pointer (release misses one
 *     whose 4 preceding bytes look like a valid block header) and for
 *     helper accesses outside every live block;
 *   - RangeError for helper accesses that run past a block's usable end
 *     (release only checks the end of memory).
 * A double free of a pointer whose memory was allocated again in between
 * frees the new block in both builds: it is a valid pointer again.
 */
export interface Heap {
  /** The linear memory (its buffer changes when it grows: make views
   * through the helpers below, or re-create them after every call). */
  readonly memory: WebAssembly.Memory;
  /** Whether this is the debug build. */
  readonly debug: boolean;

  /** At least `size` bytes, 16-aligned. malloc(0) returns a unique block.
   * Throws InvalidSizeError, AllocationError (out of memory). O(1). */
  malloc(size: number): number;
  /** malloc, but returns 0 when out of memory (bad sizes still throw). */
  tryMalloc(size: number): number;
  /** count * size zeroed bytes. InvalidSizeError also when the product is
   * beyond 4 GiB. */
  calloc(count: number, size: number): number;
  /** Resizes, keeping min(old, new) bytes; may move. realloc(0, n) is
   * malloc(n); realloc(p, 0) frees p and returns 0. On AllocationError p is
   * untouched. Throws DoubleFreeError / InvalidPointerError for a bad p. */
  realloc(ptr: number, size: number): number;
  /** Frees a block; free(0) does nothing. Throws DoubleFreeError,
   * InvalidPointerError; the heap is unchanged then. O(1). */
  free(ptr: number): void;
  /** A block whose address is a multiple of `alignment` (a power of two
   * from 1 to 2^30, else InvalidAlignmentError). */
  alignedAlloc(alignment: number, size: number): number;
  /** Bytes usable at ptr (0 for 0). UseAfterFreeError for a freed block. */
  usableSize(ptr: number): number;
  /** Caps the heap at maxBytes (0: no cap); requests beyond it throw
   * AllocationError. */
  setHeapLimit(maxBytes: number): void;

  /** A fresh Uint8Array view of [ptr, ptr + len) (valid until memory grows). */
  bytes(ptr: number, len: number): Uint8Array;
  /** A copy of [ptr, ptr + len). */
  read(ptr: number, len: number): Uint8Array;
  /** Copies data to ptr; returns the byte count. */
  write(ptr: number, data: ArrayBufferView | ArrayBuffer | ArrayLike<number>): number;
  /** A fresh typed view of `count` elements at ptr, which must be a
   * multiple of the element size (else InvalidAlignmentError). */
  view<T>(type: TypedArrayConstructor<T>, ptr: number, count: number): T;
  /** Writes the UTF-8 bytes of string and a terminating 0 byte at ptr
   * (which needs byteLength + 1 bytes); returns the UTF-8 byte length,
   * without the 0. */
  writeString(ptr: number, string: string): number;
  /** Decodes UTF-8: exactly `length` bytes when given (a byte count, not a
   * character count), otherwise up to the first 0 byte (RangeError if none
   * before the end of the block in debug builds, of memory in release). */
  readString(ptr: number, length?: number): string;
  /** malloc(UTF-8 length + 1) and writeString into it; returns the block. */
  allocString(string: string): number;

  /** lm_stats. O(blocks). */
  stats(): HeapStats;
  /** The walker's entries. O(blocks + objects). */
  blocks(): BlockInfo[];
  /** lm_check: the number of broken invariants (0 = healthy); each finding
   * is passed to onFinding. O(blocks). */
  check(onFinding?: (finding: CheckFinding) => void): number;
  /** Calls listener after every memory growth; returns an unsubscribe
   * function. Listener exceptions propagate to the heap call. */
  onGrow(listener: (event: GrowEvent) => void): () => void;

  /** A fixed heap (lm_heap_create(buffer, bytes)) in one block of `bytes`
   * bytes of this heap (malloc'd here: AllocationError when this heap
   * cannot give it). It never grows: when full its allocations throw
   * AllocationError and it stays usable. `bytes` must be more than 2048
   * (its bookkeeping), else InvalidSizeError. Only with heaps: true (else
   * LmallocError). O(1) plus this heap's malloc. */
  createHeap(options: FixedHeapOptions): FixedHeap;
  /** An arena (lm_arena_create): bump allocation in chunks taken from the
   * module's page pool or memory.grow (not from this heap). AllocationError
   * when memory cannot grow. Only with heaps: true (else LmallocError).
   * O(1) plus memory.grow. */
  createArena(options?: ArenaOptions): Arena;
  /** Only for heaps from createHeap (see FixedHeap); the heap createHeap()
   * returned throws LmallocError: it cannot be destroyed. */
  destroy(): void;
}

/** Options of heap.createHeap. */
export interface FixedHeapOptions {
  /** Size of the buffer taken from the parent heap, in bytes (> 2048). */
  bytes: number;
}

/**
 * A heap inside one block of its parent: every Heap method, on its own
 * blocks. A pointer of another heap (its parent, a sibling, an arena) given
 * to free, realloc or usableSize throws InvalidPointerError and changes
 * nothing; so does a pointer of this heap given to its parent. Memory
 * helpers (bytes, read, ...) accept only ranges inside its buffer.
 * setHeapLimit does nothing (it never grows). onGrow listens to the
 * module's memory, as on the parent.
 */
export interface FixedHeap extends Heap {
  /** Destroys this heap, every heap created from it, and all their blocks
   * at once, and frees its buffer in the parent. Every later call on it
   * throws DestroyedError. O(heaps and arenas alive). */
  destroy(): void;
}

/** Options of heap.createArena. */
export interface ArenaOptions {
  /** Bytes the first chunk holds at least (default 0: one 64 KiB page);
   * each new chunk is as large as all earlier ones together. */
  chunkBytes?: number;
}

/** lm_arena_info, field by field. */
export interface ArenaInfo {
  /** Bytes handed out since the last reset, padding included. */
  usedBytes: number;
  /** Allocations since the last reset. */
  allocations: number;
  /** Bytes of all its chunks (struct and headers included). */
  heldBytes: number;
  /** heldBytes in 64 KiB pages, rounded up. */
  pages: number;
  /** Chunks held. */
  chunks: number;
  /** The most usedBytes ever was. */
  peakBytes: number;
}

/**
 * An arena: bump allocation, freed all at once. Its allocations cannot be
 * freed one by one (a heap's free refuses them: InvalidPointerError); they
 * stay valid until reset() or destroy(). Sizes and alignments are checked
 * as on a heap (InvalidSizeError, InvalidAlignmentError); out of memory is
 * AllocationError (heapSize: the arena's heldBytes); every call after
 * destroy() throws DestroyedError.
 */
export interface Arena {
  /** The linear memory (shared with the heap that created the arena). */
  readonly memory: WebAssembly.Memory;
  /** `size` bytes, 16-aligned (alloc(0) takes 16: every pointer is unique). O(1). */
  alloc(size: number): number;
  /** `size` bytes at a multiple of `alignment` (a power of two from 1 to
   * 2^30); the padding is lost until the next reset. O(1). */
  alignedAlloc(alignment: number, size: number): number;
  /** count * size zeroed bytes (InvalidSizeError beyond 4 GiB). O(1) plus zeroing. */
  calloc(count: number, size: number): number;
  /** Frees every allocation at once and keeps the chunks, which the next
   * allocations fill again in order. O(1). */
  reset(): void;
  /** Gives all chunks to the page pool, where heaps and arenas reuse them. O(1). */
  destroy(): void;
  /** What the arena holds. O(1). */
  info(): ArenaInfo;
  /** A fresh Uint8Array view of [ptr, ptr + len), checked against the end
   * of memory only (the arena does not track its allocations). */
  bytes(ptr: number, len: number): Uint8Array;
}

/** Instantiates lmalloc.wasm (or lmalloc-debug.wasm) and returns its heap.
 * Works in Node (>= 20) and in browsers. */
export function createHeap(options?: HeapOptions): Promise<Heap>;

/** Base class of every error lmalloc throws on purpose. */
export class LmallocError extends Error {}

/** Out of memory. */
export class AllocationError extends LmallocError {
  /** Bytes asked for. */
  readonly requestedSize: number;
  /** Bytes the heap held when the request failed (stats().heapBytes). */
  readonly heapSize: number;
}

/** A size that is negative, fractional, NaN, not a number, or beyond 4 GiB. */
export class InvalidSizeError extends LmallocError {
  readonly size: unknown;
}

/** An alignment that is not a power of two from 1 to 2^30, or a typed view
 * at a misaligned address. */
export class InvalidAlignmentError extends LmallocError {
  readonly alignment: unknown;
}

/** free/realloc of a block that is already free. */
export class DoubleFreeError extends LmallocError {
  readonly ptr: number;
}

/** A pointer lmalloc never returned (foreign, interior, misaligned, not an
 * address), or null where a block is needed. */
export class InvalidPointerError extends LmallocError {
  readonly ptr: unknown;
}

/** The C core found its metadata broken (an overflow or a write after
 * free rewrote a header, footer or free-list link); afterwards the heap
 * refuses every call but check(), stats() and blocks(). */
export class HeapCorruptionError extends LmallocError {
  readonly address: number;
}

/** Use of a freed block. */
export class UseAfterFreeError extends LmallocError {
  readonly ptr: number;
}

/** A call on a heap (from createHeap) or an arena after its destroy(). */
export class DestroyedError extends LmallocError {
  readonly what: 'heap' | 'arena';
}
