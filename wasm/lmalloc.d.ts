// Types for lmalloc.mjs: lmalloc, a memory allocator for WebAssembly linear
// memory, as an ES module. Pointers and sizes are plain numbers (wasm32
// addresses, 0 .. 2^32 - 1); 0 is the null pointer.

/** Options of createHeap. null or no argument means none; an option
 * not listed here, or a boolean option given anything but true or false,
 * is a TypeError (so a misspelt option is not silently ignored). */
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
   * Load lmalloc-debug.wasm: the C debug library (lmalloc_debug.h), which
   * catches overflows, underflows, writes after free, double frees and
   * every bad pointer, and names each with the block's requested size and
   * its allocation and free sequence numbers (see Heap); with `checks`
   * (on by default here) every helper access is also checked against a
   * map of live blocks. Default: false, or with a `module` given, that
   * module's build; an explicit value must match the module's build.
   */
  debug?: boolean;
  /**
   * Track every live block in JavaScript and refuse helper accesses
   * (bytes, read, write, view, strings) outside live blocks, frees of
   * pointers that are not live, and use after free, with either build.
   * Costs a Map update per call. Default: the module's build (on for
   * debug, off for release). In the debug build the pointers given to
   * free, realloc and usableSize are left to the C debug library, which
   * checks them all and knows their sequence numbers; `checks` then adds
   * the helpers' range checks.
   */
  checks?: boolean;
  /**
   * Debug build: the most bytes of freed blocks (headers and guards
   * included) the quarantine holds before they may be reused
   * (lm_quarantine_limit; default 1 MiB, LM_DEBUG_QUARANTINE_BYTES). 0
   * turns it off: freed blocks are checked and reused at once, so a write
   * after free is no longer seen. The release build has no quarantine and
   * ignores it. An integer from 0 to 2^32 - 1, else InvalidSizeError.
   */
  quarantineBytes?: number;
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

/** lm_stats, field by field (lmalloc.h: heap_bytes -> heapBytes, ...).
 * In the debug build the core's figures: every block's debug header and
 * guard, and the blocks in the quarantine, count as used
 * (heap.flushQuarantine() first to count only live blocks). */
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

/** One entry of the heap walk (lm_walk), in address order. The debug
 * build shows what the program sees: ptr is what malloc returned, usable
 * its requested size, and quarantined blocks are not used; header and
 * size stay the core block's (debug header and guard included). */
export interface BlockInfo {
  /** What malloc returned (payload or object address). */
  ptr: number;
  /** First byte of the block; 0 for slab objects. */
  header: number;
  /** Whole block, header and seal included; for objects, the object size. */
  size: number;
  /** Bytes usable at ptr (debug build: the size requested). */
  usable: number;
  /** Allocated (debug build: and not freed into the quarantine). */
  used: boolean;
  /** "slab": a block holding small objects, followed by one "object"
   * entry per slot. */
  kind: 'block' | 'slab' | 'object';
  /** Index of the contiguous span, 0-based, in address order. */
  span: number;
  /** The top block: the free block that new blocks are carved from the
   * start of, and slabs from the end while it holds at most 128 KiB (in
   * no free list). */
  top: boolean;
}

/** What lm_report_t says of a report (lmalloc.h): each field is
 * undefined where it is not known. The release build knows only some
 * sizes; the debug build knows everything of a block whose debug header
 * is intact. */
export interface BlockReport {
  /** The block's size (debug build: the size that was requested). */
  size: number | undefined;
  /** Sequence number of its allocation: allocations and frees are counted
   * together from 1, so "allocation #12, freed #57" orders the two among
   * all other calls (debug build only). */
  allocSeq: number | undefined;
  /** Sequence number of its free; undefined while it is live. */
  freeSeq: number | undefined;
  /** Overflow, underflow, use after free: the first wrong byte, relative
   * to the block's address (negative for an underflow). */
  offset: number | undefined;
}

/** A finding of check() (lm_check) or flushQuarantine(). */
export interface CheckFinding extends BlockReport {
  /** The C library's text naming the broken invariant. */
  message: string;
  /** The block (debug build: what malloc returned) or address concerned. */
  address: number;
  /** 'heap corruption' (broken metadata, both builds); debug build also
   * 'overflow', 'underflow' (a live block's guard or header written) and
   * 'use after free' (a quarantined block written). */
  kind: 'heap corruption' | 'overflow' | 'underflow' | 'use after free' | string;
}

/** One live block, as heap.leaks() lists it (lm_leak_t). */
export interface Leak {
  /** What malloc returned. */
  ptr: number;
  /** Debug build: the size requested; release build: the usable size. */
  size: number;
  /** Debug build: its allocation's sequence number; release: undefined. */
  allocSeq: number | undefined;
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
 * pointers. A refused call changes nothing.
 *
 * The debug build (debug: true, lmalloc-debug.wasm) is the C debug
 * library (include/lmalloc_debug.h). Each block costs a 32-byte debug
 * header (magic, requested size, allocation and free sequence numbers,
 * a canary) before it and 16 to 31 guard bytes (0xFD) after it; malloc
 * fills new blocks with 0xCD; a freed block is filled with 0xDD and held
 * in a quarantine (1 MiB by default, HeapOptions.quarantineBytes) before
 * its memory may be reused; realloc always moves the block (the old one
 * goes to the quarantine, so a stale pointer is caught like any other);
 * usableSize is the size requested. Its errors name the kind, the
 * address, the block's requested size and its allocation and free
 * sequence numbers, in the message and as fields (BlockReport):
 *   - OverflowError (kind 'overflow'): bytes written past the requested
 *     size, found by free or realloc of the block (and by check());
 *   - OverflowError (kind 'underflow'): bytes written just before the
 *     block, over its debug header (same);
 *   - UseAfterFreeError: a quarantined block written to, found by check()
 *     (a finding), by flushQuarantine(), or as it leaves the quarantine
 *     during a call (free, realloc, or an allocation that ran out of
 *     memory and emptied the quarantine): that block is then reused and
 *     the call throws having done nothing else; call it again;
 *   - DoubleFreeError with both sequence numbers while the block is in the
 *     quarantine (after: without them), also for a small object whose slab
 *     was already given back (release: InvalidPointerError);
 *   - InvalidPointerError for any interior pointer, naming the block it
 *     points into (release misses one whose 4 preceding bytes look like a
 *     valid block header).
 * With `checks` (the debug build's default, or checks: true with either
 * build) the helpers are checked against a map of live blocks:
 *   - UseAfterFreeError when bytes/read/write/view/strings touch a freed
 *     block; InvalidPointerError for accesses outside every live block;
 *   - RangeError for helper accesses that run past a block's usable end
 *     (without checks only the end of memory is checked).
 * Writes through heap.memory.buffer itself are seen only by the debug
 * build's guards, headers and quarantine.
 * A double free of a pointer whose memory was allocated again in between
 * frees the new block in both builds: it is a valid pointer again.
 */
export interface Heap {
  /** The linear memory (its buffer changes when it grows: make views
   * through the helpers below, or re-create them after every call). */
  readonly memory: WebAssembly.Memory;
  /** Where createHeap put the module's static data and its stack (byte
   * addresses; the stack grows down from stackTop to stackBase, and the
   * heap starts at or above stackTop). A created heap reports its root's. */
  readonly layout: {
    readonly dataStart: number;
    readonly dataEnd: number;
    readonly stackBase: number;
    readonly stackTop: number;
  };
  /** Whether this is the debug build. */
  readonly debug: boolean;
  /** A heap from createHeap: the block of its parent it lives in (see
   * FixedHeap); null for the module's default heap. */
  readonly buffer: { ptr: number; size: number } | null;

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
   * InvalidPointerError, and in the debug build OverflowError (the block's
   * guard or header was written) and UseAfterFreeError (another block,
   * leaving the quarantine, was written after its free); the heap is
   * unchanged then (but for that other block, now reused). O(1) (debug:
   * O(size), filling and checking bytes). */
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
   * is passed to onFinding. The debug build also checks every live block's
   * header and guard and every quarantined block's bytes (findings of kind
   * 'overflow', 'underflow', 'use after free'). O(blocks) (debug: plus
   * the bytes of live guards and of quarantined blocks). */
  check(onFinding?: (finding: CheckFinding) => void): number;
  /** Every live block of this heap, in address order (lm_leaks): call it
   * at the end of a piece of work to find what was never freed. Debug
   * build: requested sizes and allocation numbers, quarantined blocks not
   * included. Release build, as its lm_leaks: every used block or object
   * of the walk with its usable size and allocSeq undefined. O(blocks). */
  leaks(): Leak[];
  /** Debug build (lm_quarantine_flush): checks and frees every block in
   * the quarantine now, of every heap of this module (say, before stats()
   * or leaks() comparisons); returns how many had been written to after
   * their free, each passed to onFinding (kind 'use after free'). Release
   * build: 0. O(quarantined bytes). */
  flushQuarantine(onFinding?: (finding: CheckFinding) => void): number;
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
  createArena(options?: ArenaOptions | null): Arena;
  /** Only for heaps from createHeap (see FixedHeap); the heap createHeap()
   * returned throws LmallocError: it cannot be destroyed. */
  destroy(): void;
}

/** Options of heap.createHeap; an option not listed here is a
 * TypeError. */
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
  /** The block of its parent it lives in: the buffer lm_heap_create got
   * (ptr) and its size (the `bytes` asked for). */
  readonly buffer: { ptr: number; size: number };
  /** Destroys this heap, every heap created from it, and all their blocks
   * at once, and frees its buffer in the parent. Every later call on it
   * throws DestroyedError. O(heaps and arenas alive). */
  destroy(): void;
}

/** Options of heap.createArena. null or no argument means none; an
 * option not listed here is a TypeError. */
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

/** One chunk of an arena (lm_arena_chunk_t). */
export interface ArenaChunk {
  /** First byte of the chunk (its 16-byte header). */
  start: number;
  /** Where its allocations start (after the arena struct in the first chunk). */
  data: number;
  /** One past its last byte. */
  end: number;
  /** Bytes bumped in it since the last reset, padding included: its bump
   * pointer is data + used. A chunk before the current one keeps the rest
   * unused until the reset; one after it has used 0. */
  used: number;
  /** True for the chunk being filled. */
  current: boolean;
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
  /** The lm_arena_t pointer: its struct, inside its first chunk. */
  readonly address: number;
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
  /** Its chunks in list order (lm_arena_walk); their sizes add up to
   * info().heldBytes, their `used` to info().usedBytes. O(chunks). */
  chunks(): ArenaChunk[];
  /** A fresh Uint8Array view of [ptr, ptr + len), checked against the end
   * of memory only (the arena does not track its allocations). */
  bytes(ptr: number, len: number): Uint8Array;
}

/** Instantiates lmalloc.wasm (or lmalloc-debug.wasm) and returns its heap.
 * Works in Node (>= 20) and in browsers. */
export function createHeap(options?: HeapOptions | null): Promise<Heap>;

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

/** free/realloc of a block that is already free. Debug build: size,
 * allocSeq and freeSeq while the block is in the quarantine. */
export class DoubleFreeError extends LmallocError implements BlockReport {
  readonly ptr: number;
  readonly size: number | undefined;
  readonly allocSeq: number | undefined;
  readonly freeSeq: number | undefined;
  readonly offset: number | undefined;
}

/** A pointer lmalloc never returned (foreign, interior, misaligned, not an
 * address), or null where a block is needed. Debug build: for an interior
 * pointer, size and allocSeq are those of the block it points into. */
export class InvalidPointerError extends LmallocError implements BlockReport {
  readonly ptr: unknown;
  readonly size: number | undefined;
  readonly allocSeq: number | undefined;
  readonly freeSeq: number | undefined;
  readonly offset: number | undefined;
}

/** Debug build: bytes written past a block's requested size (kind
 * 'overflow': its guard bytes; offset is the first wrong byte, from ptr)
 * or just before it (kind 'underflow': its debug header; offset < 0),
 * found when the block is freed or reallocated. The block stays live and
 * its guard or header broken: check() reports it until the bytes are
 * mended. One class for both, told apart by `kind`. */
export class OverflowError extends LmallocError implements BlockReport {
  readonly kind: 'overflow' | 'underflow';
  readonly ptr: number;
  readonly size: number;
  readonly allocSeq: number;
  readonly freeSeq: undefined;
  readonly offset: number;
}

/** The C core found its metadata broken (an overflow or a write after
 * free rewrote a header, footer or free-list link); afterwards the heap
 * refuses every call but check(), stats() and blocks(). */
export class HeapCorruptionError extends LmallocError {
  readonly address: number;
}

/** Use of a freed block: a helper access or usableSize of it, or (debug
 * build) a write into it found as it left the quarantine; then ptr is
 * that block, not the argument of the call that found it. */
export class UseAfterFreeError extends LmallocError implements BlockReport {
  readonly ptr: number;
  readonly size: number | undefined;
  readonly allocSeq: number | undefined;
  readonly freeSeq: number | undefined;
  readonly offset: number | undefined;
}

/** A call on a heap (from createHeap) or an arena after its destroy(). */
export class DestroyedError extends LmallocError {
  readonly what: 'heap' | 'arena';
}
