// The playground's model: a list of steps (operations a C program would
// do: malloc, free, writes, pointer assignments, ...) applied in order to a
// real lmalloc heap, and everything the allocator itself does not know but
// the page shows: the named pointers (a C program's variables), what each
// allocation asked for and at which step, which blocks are still reachable
// from the named pointers, every memory.grow and the call behind it, the
// illustrative stack frames of the stack-versus-heap lesson, and the stats
// after every step.
//
// Invariants:
// - The heap only changes through steps; steps[0 .. cursor) have been
//   applied, in order, to this.heap. Undo and redo move the cursor: undo
//   replays steps[0 .. cursor - 1) into a fresh heap (lmalloc is
//   deterministic, so addresses come out the same); a new step after an
//   undo drops the steps that were undone.
// - A mistake (double free, write after free, ...) is a step too: the JS
//   API's checks (HEAP_OPTIONS) refuse it before anything changes, and its
//   result carries the explanation (mistakes.mjs).
// - Created heaps (lm_heap_create in a block of the default heap) and
//   arenas are steps too, by name, like a C program's lm_heap_t * and
//   lm_arena_t * variables. Allocations in them are in `meta` with their
//   owner; an arena's allocations die at its reset (their pointers dangle),
//   a heap's at its destroy. The JS API keeps their addresses to itself,
//   so the session asks the API where they are (heap.buffer,
//   arena.address, arena.chunks()) and remembers each arena allocation's
//   size, which the arena does not.
// - No DOM here: the page (app.mjs) and the tests drive the same object.
//   createHeap and the compiled module are passed in, so Node can run it.

import { InvalidSizeError } from '../wasm/lmalloc.mjs';
import {
  HEADER_SIZE, SEAL_SIZE, SLAB_MAX, SLAB_SIZE, blockSizeFor, decodeHeader, formatBytes, hex, quoteShort,
} from './heap-layout.mjs';
import { arenaState, nestHeapsAndArenas } from './heaps-arenas.mjs';
import { decodeHeap, entryAt, fragmentation, isAllocation } from './snapshot.mjs';
import * as explain from './mistakes.mjs';

/** The module the playground runs, in wasm/dist/ (the page and the tests
 * load the same one): the release core, with heaps and arenas, so the map
 * shows the block layout a real program gets. createHeap is called with
 * HEAP_OPTIONS: checks: true makes the JS API track every live block and
 * refuse double frees, frees of pointers that are not live, and helper
 * accesses outside live blocks or after free, before C sees them. */
export const WASM_FILE = 'lmalloc-heaps.wasm';
export const HEAP_OPTIONS = Object.freeze({ heaps: true, checks: true });

const align16 = (n) => Math.ceil(n / 16) * 16;
const utf8 = new TextEncoder();
const isObject = (usable) => usable % 16 === 0; // blocks have usable = 8 mod 16 (header and seal)

/** The C source line of an operation (shown in the step log). An
 * allocation step with `heap: name` runs on that created heap: the line
 * calls lm_heap_malloc(name, ...) and its kin instead of malloc. */
export function codeOf(op) {
  if (op.code) return op.code;
  const t = (x) => (x === undefined ? '?' : targetExpr(x));
  const v = (x) => valueExpr(x);
  // malloc(n) or lm_heap_malloc(h, n), and so on.
  const on = (fn, args) => (op.heap ? `lm_heap_${fn}(${op.heap}, ${args})` : `${fn}(${args})`);
  const sizes = (x) => (x.sizes ? 'size[i]' : x.size);
  switch (op.op) {
    case 'malloc': return `${op.name} = ${on('malloc', op.size)};`;
    case 'calloc': return `${op.name} = ${on('calloc', `${op.count}, ${op.size}`)};`;
    case 'realloc': return `${t(op.target)} = ${on('realloc', `${t(op.target)}, ${op.size}`)};`;
    case 'aligned': return `${op.name} = ${on('aligned_alloc', `${op.align}, ${op.size}`)};`;
    case 'free': return `${on('free', `${t(op.target)}${op.offset ? ` + ${op.offset}` : ''}`)};`;
    case 'write': return `strcpy(${t(op.target)}${op.offset ? ` + ${op.offset}` : ''}, ${quoteShort(op.text)});`;
    case 'poke': return `*(uint32_t *)(${t(op.target)} + ${op.offset ?? 0}) = ${v(op.value)};`;
    case 'assign': return `${op.index === undefined ? op.name : `${op.name}[${op.index}]`} = ${v(op.value)};`;
    case 'many': return `for (i = 0; i < ${op.fill ? 'n' : countOf(op)}; i++) ${op.name}[i] = ${on('malloc', sizes(op))};${op.fill ? '  /* n: as many as fit in top */' : ''}`;
    case 'freeEvery': return `for (i = ${op.start ?? 0}; i < n; i += ${op.stride ?? 1}) ${on('free', `${op.name}[i]`)};`;
    case 'replaceEach': return `for (i = 0; i < ${countOf(op)}; i++) { ${on('free', `${op.name}[i]`)}; ${op.name}[i] = ${on('malloc', sizes(op))}; }`;
    case 'freeNode': return `next = ${op.name}->next; ${on('free', op.name)}; ${op.name} = next;`;
    case 'heapCreate': return `${op.name}_mem = malloc(${op.bytes}); ${op.name} = lm_heap_create(${op.name}_mem, ${op.bytes});`;
    case 'heapDestroy': return `lm_heap_destroy(${op.name}); free(${op.name}_mem);`;
    case 'arenaCreate': return `${op.name} = lm_arena_create(${op.chunkBytes ?? 0});`;
    case 'arenaAlloc':
      if (op.align) return `${op.name} = lm_arena_aligned_alloc(${op.arena}, ${op.align}, ${op.size});`;
      if (op.count !== undefined) return `${op.name} = lm_arena_calloc(${op.arena}, ${op.count}, ${op.size});`;
      return `${op.name} = lm_arena_alloc(${op.arena}, ${op.size});`;
    case 'arenaMany': return `for (i = 0; i < ${countOf(op)}; i++) ${op.name}[i] = lm_arena_alloc(${op.arena}, ${sizes(op)});`;
    case 'arenaReset': return `lm_arena_reset(${op.arena});`;
    case 'arenaDestroy': return `lm_arena_destroy(${op.arena});`;
    case 'push': return `${op.fn}() { ${op.locals.map((l) => `${l.type} ${l.name};`).join(' ')} ... }`;
    case 'pop': return `return; /* ${op.fn ?? 'the function'} returns */`;
    case 'note': return '';
    case 'seq': return op.ops.map(codeOf).join(' ');
    default: return op.op;
  }
}

// Array steps take `count` and `size`, or one size per element (`sizes`).
// A `many` step with `fill` instead of a count allocates blocks of `size`
// (over SLAB_MAX bytes) until the top block cannot hold another, so that
// in a fresh heap the next one needs memory.grow wherever the heap starts
// (which moves with the module's static data): its count, n, is known
// when it runs, and is at most FILL_MAX.
const FILL_MAX = 100000;
const countOf = (op) => (op.sizes ? op.sizes.length : op.count);
const sizesOf = (op) => (op.sizes ? op.sizes : Array.from({ length: op.count ?? 0 }, () => op.size));

function targetExpr(t) {
  if (t.addr !== undefined) return `(void *)${hex(t.addr)}`;
  return t.index === undefined ? t.ref : `${t.ref}[${t.index}]`;
}

function valueExpr(v) {
  if (v === null || v === undefined || v === 0) return 'NULL';
  if (typeof v === 'number') return String(v);
  if (v.deref) return `*(void **)(${targetExpr(v.deref)} + ${v.offset ?? 0})`;
  return targetExpr(v);
}

// An error of the step itself (unknown name, bad input): shown, nothing done.
class StepError extends Error {
  name = 'StepError';
}

// The sizes of an array step, all checked before the first call, so a bad
// one (the JS API's typed error) leaves nothing half done.
function checkedSizes(op) {
  const sizes = sizesOf(op);
  for (const size of sizes) {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 0xffffffff) {
      throw new InvalidSizeError(`${op.op}: size must be an integer from 0 to 4294967295 bytes, got ${size}`, { size });
    }
  }
  return sizes;
}

// A `many` step's fill size (see FILL_MAX): one size, of a block.
function checkedFillSize(op) {
  if (op.count !== undefined || op.sizes) throw new StepError('many: fill takes a size, not a count or sizes');
  const [size] = checkedSizes({ op: op.op, size: op.size, count: 1 });
  if (size <= SLAB_MAX) throw new StepError(`many: fill needs blocks, so a size over ${SLAB_MAX} bytes, got ${size}`);
  return size;
}

export class Session {
  #createHeap;
  #module;
  #heapOptions;
  #snap = null;
  #snapVersion = -1;
  #stepNo = 0;
  #owners = null; // addr -> target, rebuilt per version

  /** Steps applied or undone: { op, result }. */
  steps = [];
  /** How many of `steps` are applied to the heap. */
  cursor = 0;
  /** Stats after each step: history[0] is the fresh heap. */
  history = [];
  /** Bumped on every change; snapshots are cached per version. */
  version = 0;

  /**
   * @param createHeap wasm/lmalloc.mjs createHeap
   * @param module     the compiled WASM_FILE (WebAssembly.Module)
   */
  static async create({ createHeap, module, heapOptions = {} }) {
    const s = new Session(createHeap, module, heapOptions);
    await s.#fresh();
    s.history = [s.#statsEntry(0)];
    return s;
  }

  /** Where the current heap's static data and stack lie (the map's
   * regions): its heap.layout, so never stale after a fresh heap. */
  get place() {
    return this.heap.layout;
  }

  constructor(createHeap, module, heapOptions) {
    this.#createHeap = createHeap;
    this.#module = module;
    this.#heapOptions = heapOptions;
  }

  async #fresh() {
    this.heap = await this.#createHeap({ module: this.#module, ...HEAP_OPTIONS, ...this.#heapOptions });
    this.vars = new Map(); // name -> { name, kind: 'ptr', addr, id } | { kind: 'array', addrs, ids }
    this.meta = new Map(); // live allocation ptr -> { id, requested, step, label, code, align, pad }
    this.freed = new Map(); // ptr -> what was last freed there: { id, label, step, freedStep, requested }
    this.grows = [];
    this.frames = [];
    this.slabBorn = new Map(); // slab payload -> step that created it
    this.unreachable = new Set(); // ids of live allocations no pointer reaches
    this.nextId = 0;
    // Created heaps and arenas by name (a C program's lm_heap_t * and
    // lm_arena_t * variables), destroyed ones included (alive: false):
    // heaps: { name, heap (the JS FixedHeap), buffer, bytes, step, alive }
    // arenas: { name, arena (the JS Arena), addr (its struct), step, alive, resets }
    // Allocations in them are in `meta` with `heap` or `arena` set.
    this.heaps = new Map();
    this.arenas = new Map();
    this.pool = []; // runs given to the page pool: { start, end, from, step }
    this.heap.onGrow((e) => {
      const step = this.steps[this.#stepNo - 1];
      this.grows.push({
        ...e, step: this.#stepNo, code: step ? codeOf(step.op) : e.cause,
        at: e.oldPages * 65536,
      });
    });
    this.version++;
  }

  // --- steps ---------------------------------------------------------------

  get canUndo() { return this.cursor > 0; }
  get canRedo() { return this.cursor < this.steps.length; }

  /** Applies a new step (dropping any undone ones); returns its result. */
  apply(op) {
    this.steps.length = this.cursor;
    this.history.length = this.cursor + 1;
    this.steps.push({ op, result: null });
    return this.#run(this.cursor, false);
  }

  /** Applies several steps (a scenario played to its end). */
  applyAll(ops) {
    return ops.map((op) => this.apply(op));
  }

  redo() {
    return this.canRedo ? this.#run(this.cursor, false) : null;
  }

  async undo() {
    if (this.canUndo) await this.goto(this.cursor - 1);
  }

  /** Replays steps[0 .. n) into a fresh heap. */
  async goto(n) {
    n = Math.max(0, Math.min(n, this.steps.length));
    await this.#fresh();
    for (let k = 0; k < n; k++) this.#run(k, true);
    this.cursor = n;
    this.unreachable = this.#unreachableIds();
    this.version++;
  }

  async reset() {
    this.steps = [];
    this.history.length = 1;
    await this.goto(0);
  }

  #run(k, replay) {
    const step = this.steps[k];
    this.#stepNo = k + 1;
    let result;
    try {
      result = this.#exec(step.op);
    } catch (e) {
      result = this.#unexpected(step.op, e);
    }
    result.code = codeOf(step.op);
    if (step.op.say) result.say = step.op.say;
    this.cursor = k + 1;
    this.version++;
    if (!replay) {
      this.#noticeLeaks(result);
      step.result = result;
    }
    if (!this.history[k + 1]) this.history[k + 1] = this.#statsEntry(k + 1);
    return step.result ?? result;
  }

  // A typed error from the JS API that no step handles itself: bad input
  // (refused before any wasm call, so nothing changed), out of memory, a
  // destroyed heap or arena, a corrupt heap.
  #unexpected(op, e) {
    const code = codeOf(op);
    const says = {
      AllocationError: () => explain.outOfMemory({ code, message: e.message }),
      InvalidSizeError: () => explain.badInput({ code, message: e.message, what: 'size' }),
      InvalidAlignmentError: () => explain.badInput({ code, message: e.message, what: 'alignment' }),
      DestroyedError: () => explain.destroyed({ code, what: e.what, message: e.message }),
      HeapCorruptionError: () => explain.corruption({ code, message: e.message }),
    }[e.name];
    return { kind: 'error', error: e.name, text: e.message, ...(says ? { explain: says() } : {}) };
  }

  // --- named pointers -------------------------------------------------------

  #resolve(t) {
    if (!t) throw new StepError('this step needs a block: choose one first');
    if (t.addr !== undefined) {
      const m = this.meta.get(t.addr);
      return { addr: t.addr, expr: targetExpr(t), state: m ? 'live' : 'raw', id: m?.id ?? 0 };
    }
    const v = this.vars.get(t.ref);
    if (!v) throw new StepError(`there is no pointer named "${t.ref}"`);
    let addr;
    let id;
    if (v.kind === 'array') {
      if (t.index === undefined || t.index < 0 || t.index >= v.addrs.length) {
        throw new StepError(`${t.ref} has ${v.addrs.length} elements; index ${t.index} is out of range`);
      }
      addr = v.addrs[t.index];
      id = v.ids[t.index];
    } else {
      addr = v.addr;
      id = v.id;
    }
    const live = this.meta.get(addr);
    const state = addr === 0 ? 'null' : live?.id === id ? 'live' : 'dangling';
    return { addr, id, expr: targetExpr(t), state };
  }

  #setVar(name, addr, id = this.meta.get(addr)?.id ?? 0) {
    const old = this.vars.get(name);
    const v = { name, kind: 'ptr', addr, id, step: this.#stepNo };
    if (old) Object.assign(old, v);
    else this.vars.set(name, v);
  }

  #allocated(p, { requested, label, align = 16, heap }) {
    const id = ++this.nextId;
    const api = this.#api(heap);
    const usable = api.usableSize(p);
    const m = { id, requested, step: this.#stepNo, label, align, usable };
    if (heap) m.heap = heap;
    if (isObject(usable)) {
      const slab = p & ~(SLAB_SIZE - 1);
      if (!this.slabBorn.has(slab)) this.slabBorn.set(slab, this.#stepNo);
    } else if (align > 16) {
      // aligned_alloc gives the unused lead back as a free block before it.
      const bytes = this.#bytes();
      const hdr = decodeHeader(this.#word(bytes, p - HEADER_SIZE));
      // The gap is the free block that ends at this block's header (its
      // footer is masked with the heap's key, so it is found by the walk).
      if (hdr.prevFree) {
        const gap = api.blocks().find((b) => !b.used && b.header + b.size === p - HEADER_SIZE);
        if (gap) m.pad = gap.header;
      }
    }
    this.freed.delete(p);
    this.meta.set(p, m);
    return m;
  }

  // An arena allocation of `size` bytes at p: it has no header and the
  // arena does not know its size, so the session keeps it (rounded to 16
  // bytes, as lm_arena_alloc rounds).
  #arenaAllocated(p, { requested, label, arena, align = 16 }) {
    const id = ++this.nextId;
    const usable = requested ? Math.ceil(requested / 16) * 16 : 16;
    const m = { id, requested, step: this.#stepNo, label, align, usable, arena, resets: this.arenas.get(arena).resets };
    this.freed.delete(p);
    this.meta.set(p, m);
    return m;
  }

  #released(p, how = {}) {
    const m = this.meta.get(p);
    this.meta.delete(p);
    if (m) this.freed.set(p, { ...m, freedStep: this.#stepNo, ...how });
    if (this.unreachable.has(m?.id)) this.unreachable.delete(m.id);
  }

  // --- heaps and arenas ---------------------------------------------------------

  /** The JS heap a step runs on: the default heap, or the created heap
   * named `name` (destroyed or not: the API refuses a destroyed one). */
  #api(name) {
    return name ? this.#heapNamed(name).heap : this.heap;
  }

  #heapNamed(name) {
    const h = this.heaps.get(name);
    if (!h) throw new StepError(`there is no heap named "${name}"`);
    return h;
  }

  #arenaNamed(name) {
    const a = this.arenas.get(name);
    if (!a) throw new StepError(`there is no arena named "${name}"`);
    return a;
  }

  // A name for a new heap or arena handle: not a pointer's, not a live
  // heap's or arena's.
  #checkHandleName(name) {
    if (!name || typeof name !== 'string') throw new StepError('a heap or an arena needs a name');
    if (this.vars.has(name)) throw new StepError(`"${name}" is a pointer already`);
    if (this.heaps.get(name)?.alive || this.arenas.get(name)?.alive) {
      throw new StepError(`"${name}" is a live heap or arena already: destroy it first`);
    }
  }

  /** Who owns address `addr` now: { kind: 'heap', h } (inside a live
   * created heap's buffer), { kind: 'arena', a, m, p } (inside a live arena's
   * chunk; m and p: the live allocation holding addr, if any), or
   * { kind: 'default' }. */
  #ownerAt(addr) {
    for (const h of this.heaps.values()) {
      if (h.alive && addr >= h.buffer && addr < h.buffer + h.bytes) return { kind: 'heap', h };
    }
    for (const a of this.arenas.values()) {
      if (!a.alive) continue;
      const chunks = a.arena.chunks();
      if (!chunks.some((c) => addr >= c.start && addr < c.end)) continue;
      for (const [p, m] of this.meta) {
        if (m.arena === a.name && addr >= p && addr < p + m.usable) return { kind: 'arena', a, m, p };
      }
      return { kind: 'arena', a };
    }
    return { kind: 'default' };
  }

  // n bytes at addr, through the API that owns t's memory (so the JS
  // checks apply), or, in an arena, checked here against the allocation.
  #read(t, addr, n) {
    const o = this.#ownerAt(t.addr);
    if (o.kind === 'arena') {
      if (!o.m || addr + n > o.p + o.m.usable) throw new StepError(`${t.expr}: no live arena allocation holds ${hex(addr)}..${hex(addr + n)}`);
      return this.#bytes().slice(addr, addr + n);
    }
    return (o.kind === 'heap' ? o.h.heap : this.heap).read(addr, n);
  }

  #bytes() {
    return new Uint8Array(this.heap.memory.buffer);
  }

  #word(bytes, at) {
    return at >= 0 && at + 4 <= bytes.length
      ? (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
      : 0;
  }

  #value(v) {
    if (v === null || v === undefined) return 0;
    if (typeof v === 'number') return v >>> 0;
    if (v.deref) {
      const t = this.#resolve(v.deref);
      if (t.state === 'null') throw new StepError(`${t.expr} is NULL: there is nothing to read`);
      const b = this.#read(t, t.addr + (v.offset ?? 0), 4);
      return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    }
    return this.#resolve(v).addr;
  }

  /** The created heap whose block the target points to (live or freed
   * last), or undefined for the default heap's blocks and arenas. */
  heapOf(target) {
    try {
      const t = this.#resolve(target);
      return (this.meta.get(t.addr) ?? this.freed.get(t.addr))?.heap;
    } catch {
      return undefined;
    }
  }

  /** The named pointer (as a step target) that holds `addr`, preferring a
   * live scalar pointer, or { addr } when none does. */
  targetFor(addr) {
    if (!this.#owners || this.#owners.version !== this.version) {
      const map = new Map();
      const live = (a, id) => this.meta.get(a)?.id === id;
      // Live scalar pointers first, then live array elements, then dangling ones.
      for (const pass of [true, false]) {
        for (const v of this.vars.values()) {
          if (v.kind === 'ptr' && v.addr && !map.has(v.addr) && live(v.addr, v.id) === pass) map.set(v.addr, { ref: v.name });
        }
        for (const v of this.vars.values()) {
          if (v.kind !== 'array') continue;
          v.addrs.forEach((a, index) => {
            if (a && !map.has(a) && live(a, v.ids[index]) === pass) map.set(a, { ref: v.name, index });
          });
        }
      }
      this.#owners = { version: this.version, map };
    }
    return this.#owners.map.get(addr) ?? { addr };
  }

  // --- operations ------------------------------------------------------------

  #exec(op) {
    switch (op.op) {
      case 'malloc':
      case 'calloc':
      case 'aligned': {
        const heap = this.#api(op.heap);
        const name = op.name;
        this.#checkPointerName(name);
        const before = this.#resolveQuiet(name);
        let p;
        let requested = op.size;
        if (op.op === 'malloc') p = heap.malloc(op.size);
        else if (op.op === 'calloc') {
          p = heap.calloc(op.count, op.size);
          requested = op.count * op.size;
        } else p = heap.alignedAlloc(op.align, op.size);
        const m = this.#allocated(p, { requested, label: op.label || name, align: op.op === 'aligned' ? op.align : 16, heap: op.heap });
        this.#setVar(name, p);
        return {
          kind: 'info', at: p, ptr: p,
          text: `${name} = ${hex(p)}: ${this.#where(p, m)}` + (before?.state === 'live' ? ` (${name} no longer points to ${hex(before.addr)})` : ''),
        };
      }

      case 'realloc':
        return this.#realloc(op);

      case 'free':
        return this.#free(op.target, op.offset ?? 0, op.heap);

      case 'write':
        return this.#write(op);

      case 'poke': {
        const t = this.#resolve(op.target);
        if (t.state === 'null') {
          return { kind: 'error', error: 'NullPointer', text: `${t.expr} is NULL`, explain: explain.nullPointer({ expr: t.expr, what: 'The write was not done.' }) };
        }
        const value = this.#value(op.value);
        const at = t.addr + (op.offset ?? 0);
        this.#store(t, at, [value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24]);
        return { kind: 'info', at: t.addr, ptr: t.addr, text: `stored ${value ? hex(value) : 'NULL'} at ${hex(at)}` };
      }

      case 'assign': {
        const addr = this.#value(op.value);
        // p = q copies q's pointer as it is, dangling or not.
        const copied = op.value && typeof op.value === 'object' && !op.value.deref ? this.#resolve(op.value).id : undefined;
        if (op.index !== undefined) {
          const v = this.vars.get(op.name);
          if (v?.kind !== 'array' || op.index < 0 || op.index >= v.addrs.length) throw new StepError(`${op.name}[${op.index}] does not exist`);
          v.addrs[op.index] = addr;
          v.ids[op.index] = copied ?? this.meta.get(addr)?.id ?? 0;
        } else {
          this.#setVar(op.name, addr, copied);
        }
        const lhs = op.index === undefined ? op.name : `${op.name}[${op.index}]`;
        return { kind: 'info', at: addr || undefined, text: `${lhs} = ${addr ? hex(addr) : 'NULL'}` };
      }

      case 'many': {
        const heap = this.#api(op.heap);
        const sizes = op.fill ? [checkedFillSize(op)] : checkedSizes(op);
        this.#checkPointerName(op.name);
        const addrs = [];
        const ids = [];
        this.vars.set(op.name, { name: op.name, kind: 'array', addrs, ids, step: this.#stepNo });
        const alloc = (size, i) => {
          const p = heap.malloc(size);
          const m = this.#allocated(p, { requested: size, label: `${op.name}[${i}]`, heap: op.heap });
          addrs.push(p);
          ids.push(m.id);
        };
        sizes.forEach(alloc); // with fill, the first block: in a fresh heap it claims the start-up region
        if (op.fill) {
          // As many more as top holds, from the walk; blocks that came
          // from free holes instead left top as it was, so top is looked
          // at again until it cannot hold one. These mallocs never grow
          // memory (the first block's may have).
          const [size] = sizes;
          const nb = blockSizeFor(size);
          const topSize = () => heap.blocks().find((e) => e.kind === 'block' && e.top)?.size ?? 0;
          for (let room = topSize(); room >= nb && addrs.length < FILL_MAX; room = topSize()) {
            for (let k = Math.min(Math.floor(room / nb), FILL_MAX - addrs.length); k > 0; k--) alloc(size, addrs.length);
          }
        }
        const what = op.sizes ? `${sizes.length} blocks of ${Math.min(...sizes)} to ${Math.max(...sizes)} bytes` : `${addrs.length} blocks of ${op.size} bytes`;
        return { kind: 'info', at: addrs[0], text: `${what}, ${hex(addrs[0])} .. ${hex(addrs[addrs.length - 1])}` };
      }

      case 'freeEvery': {
        const heap = this.#api(op.heap);
        const v = this.vars.get(op.name);
        if (v?.kind !== 'array') throw new StepError(`there is no array named "${op.name}"`);
        const stride = op.stride ?? 1;
        let n = 0;
        for (let i = op.start ?? 0; i < v.addrs.length; i += stride) {
          const p = v.addrs[i];
          if (!p || this.meta.get(p)?.id !== v.ids[i]) continue;
          heap.free(p);
          this.#released(p);
          n++;
        }
        return { kind: 'info', at: v.addrs[op.start ?? 0], text: `freed ${n} blocks of ${op.name}` };
      }

      case 'replaceEach': {
        // Each element's block is freed and a new one allocated in its
        // place: per-frame data kept with malloc and free.
        const heap = this.#api(op.heap);
        const sizes = checkedSizes(op);
        let v = this.vars.get(op.name);
        if (v && v.kind !== 'array') throw new StepError(`"${op.name}" is a pointer, not an array`);
        if (!v) {
          this.#checkPointerName(op.name);
          v = { name: op.name, kind: 'array', addrs: [], ids: [], step: this.#stepNo };
          this.vars.set(op.name, v);
        }
        let freed = 0;
        const n = Math.max(sizes.length, v.addrs.length);
        for (let i = 0; i < n; i++) {
          const old = v.addrs[i];
          if (old && this.meta.get(old)?.id === v.ids[i]) {
            heap.free(old);
            this.#released(old);
            freed++;
          }
          if (i < sizes.length) {
            const p = heap.malloc(sizes[i]);
            v.addrs[i] = p;
            v.ids[i] = this.#allocated(p, { requested: sizes[i], label: `${op.name}[${i}]`, heap: op.heap }).id;
          }
        }
        v.addrs.length = v.ids.length = sizes.length;
        return { kind: 'info', at: v.addrs[0], text: `freed ${freed} blocks of ${op.name} and allocated ${sizes.length} (${sizes.reduce((a, b) => a + b, 0)} bytes asked for)` };
      }

      case 'heapCreate':
        return this.#heapCreate(op);
      case 'heapDestroy':
        return this.#heapDestroy(op);
      case 'arenaCreate':
        return this.#arenaCreate(op);
      case 'arenaAlloc':
        return this.#arenaAlloc(op);
      case 'arenaMany':
        return this.#arenaMany(op);
      case 'arenaReset':
        return this.#arenaReset(op);
      case 'arenaDestroy':
        return this.#arenaDestroy(op);

      case 'freeNode': {
        const t = this.#resolve({ ref: op.name });
        if (t.state === 'null') return { kind: 'info', text: `${op.name} is NULL: the list is empty` };
        const next = this.#value({ deref: { ref: op.name }, offset: op.offset ?? 4 });
        const r = this.#free({ ref: op.name }, 0, op.heap);
        if (r.kind !== 'error') this.#setVar(op.name, next);
        r.text += `; ${op.name} = ${next ? hex(next) : 'NULL'}`;
        return r;
      }

      case 'push': {
        const top = this.frames.length ? this.frames[this.frames.length - 1].bottom : this.place.stackTop;
        const size = align16(op.locals.reduce((n, l) => n + l.size, 0));
        const frame = { fn: op.fn, locals: op.locals, top, bottom: top - size, size, step: this.#stepNo };
        this.frames.push(frame);
        return { kind: 'info', at: frame.bottom, text: `${op.fn}'s frame: ${size} bytes of stack at ${hex(frame.bottom)}..${hex(top)}` };
      }

      case 'pop': {
        const frame = this.frames.pop();
        return { kind: 'info', at: frame?.bottom, text: frame ? `${frame.fn} returned: its ${frame.size} bytes of stack are free for the next call` : 'no frame to pop' };
      }

      case 'note':
        return { kind: 'info', text: '' };

      case 'seq': {
        // Several C statements as one step: stops at the first mistake.
        let last = { kind: 'info', text: '' };
        const texts = [];
        for (const sub of op.ops) {
          last = this.#exec(sub);
          this.version++; // the next statement sees this one's effects
          if (last.text) texts.push(last.text);
          if (last.kind === 'error') return last;
        }
        return { ...last, text: texts.join('; ') };
      }

      default:
        throw new StepError(`unknown operation "${op.op}"`);
    }
  }

  // A pointer's name must not be a live heap's or arena's.
  #checkPointerName(name) {
    if (!name) throw new StepError('an allocation needs a name');
    if (this.heaps.get(name)?.alive || this.arenas.get(name)?.alive) {
      throw new StepError(`"${name}" is a heap or an arena: choose another name for the pointer`);
    }
  }

  // Stores bytes at addr through the API that owns t's memory: a heap's
  // helpers check the range against its live blocks; in an arena the
  // session checks it against the allocation.
  #store(t, addr, data) {
    const o = this.#ownerAt(t.addr);
    if (o.kind === 'arena') {
      if (!o.m || addr + data.length > o.p + o.m.usable) {
        throw new StepError(`${t.expr}: ${hex(addr)}..${hex(addr + data.length)} is not inside a live allocation of arena ${o.a.name}`);
      }
      o.a.arena.bytes(addr, data.length).set(data);
      return;
    }
    (o.kind === 'heap' ? o.h.heap : this.heap).write(addr, data);
  }

  // --- created heaps (lm_heap_create in a block of the default heap) ----------

  #heapCreate(op) {
    this.#checkHandleName(op.name);
    // The block of the default heap createHeap took for it.
    const heap = this.heap.createHeap({ bytes: op.bytes });
    const buffer = heap.buffer.ptr;
    this.freed.delete(buffer);
    this.heaps.set(op.name, { name: op.name, heap, buffer, bytes: op.bytes, step: this.#stepNo, alive: true });
    const s = heap.stats();
    return {
      kind: 'info', at: buffer,
      text: `${op.name}: a heap of its own in a ${formatBytes(op.bytes)} block of the default heap at ${hex(buffer)}; ` +
        `its struct (free-list heads and bitmaps) takes the first ${formatBytes(op.bytes - s.heapBytes)}, ` +
        `its one span the other ${formatBytes(s.heapBytes)}. It never grows: when full, its mallocs fail.`,
    };
  }

  #heapDestroy(op) {
    const h = this.#heapNamed(op.name);
    h.heap.destroy(); // DestroyedError when it is gone already
    h.alive = false;
    let n = 0;
    for (const [p, m] of this.meta) {
      if (m.heap === op.name) {
        this.#released(p, { destroyed: true });
        n++;
      }
    }
    return {
      kind: 'info', at: h.buffer,
      text: `lm_heap_destroy(${op.name}) freed its ${n} block${n === 1 ? '' : 's'} at once (no free() each), ` +
        `and free(${op.name}_mem) gave the ${formatBytes(h.bytes)} block back to the default heap`,
    };
  }

  // --- arenas --------------------------------------------------------------

  #arenaCreate(op) {
    this.#checkHandleName(op.name);
    const pages = this.heap.memory.buffer.byteLength / 65536;
    const arena = this.heap.createArena({ chunkBytes: op.chunkBytes ?? 0 });
    const addr = arena.address; // the lm_arena_t pointer
    const a = { name: op.name, arena, addr, step: this.#stepNo, alive: true, resets: 0 };
    this.arenas.set(op.name, a);
    const d = this.#arenaState(a);
    const grew = this.heap.memory.buffer.byteLength / 65536 - pages;
    const from = grew ? `memory.grow gave it ${grew} new page${grew === 1 ? '' : 's'}` : 'its pages came from the page pool, without memory.grow';
    return {
      kind: 'info', at: d.first,
      text: `${op.name} = ${hex(addr)}: an arena of ${d.pages} page${d.pages === 1 ? '' : 's'} at ${hex(d.first)} (${from}). ` +
        `Its first 80 bytes are the chunk header and the arena struct; allocations are bumped from ${hex(d.bump)}.`,
    };
  }

  // What arena a's API reports of it (heaps-arenas.mjs: arenaState).
  #arenaState(a) {
    return arenaState(a.addr, a.arena.chunks(), a.arena.info());
  }

  // One arena allocation; returns its address and meta.
  #arenaOne(a, op, size, label) {
    let p;
    let requested = size;
    if (op.align) p = a.arena.alignedAlloc(op.align, size);
    else if (op.count !== undefined && op.op === 'arenaAlloc') {
      p = a.arena.calloc(op.count, size);
      requested = op.count * size;
    } else p = a.arena.alloc(size);
    return { p, m: this.#arenaAllocated(p, { requested, label, arena: a.name, align: op.align ?? 16 }) };
  }

  #arenaAlloc(op) {
    const a = this.#arenaNamed(op.arena);
    this.#checkPointerName(op.name);
    const before = a.alive ? this.#arenaState(a) : null;
    const { p, m } = this.#arenaOne(a, op, op.size, op.label || op.name);
    this.#setVar(op.name, p);
    const d = this.#arenaState(a);
    const grew = d.chunks.length > before.chunks.length ? ` The chunk was full: the arena took a new chunk of ${formatBytes(d.chunks.at(-1).end - d.chunks.at(-1).start)}.` : '';
    return {
      kind: 'info', at: p, ptr: p,
      text: `${op.name} = ${hex(p)}: ${m.usable} bytes bumped from arena ${a.name} (no header: the bump pointer just moved on to ${hex(d.bump)}).${grew}`,
    };
  }

  #arenaMany(op) {
    const a = this.#arenaNamed(op.arena);
    const sizes = checkedSizes(op);
    this.#checkPointerName(op.name);
    const before = a.alive ? this.#arenaState(a) : null;
    const addrs = [];
    const ids = [];
    const v = { name: op.name, kind: 'array', addrs, ids, step: this.#stepNo };
    sizes.forEach((size, i) => {
      const { p, m } = this.#arenaOne(a, op, size, `${op.name}[${i}]`);
      addrs.push(p);
      ids.push(m.id);
    });
    this.vars.set(op.name, v);
    const d = this.#arenaState(a);
    const more = d.chunks.length - before.chunks.length;
    return {
      kind: 'info', at: addrs[0],
      text: `${sizes.length} allocations bumped from arena ${a.name}: ${formatBytes(d.used)} used, ` +
        `${d.pages} page${d.pages === 1 ? '' : 's'} held` + (more ? ` (${more} new chunk${more === 1 ? '' : 's'})` : ', no new chunk'),
    };
  }

  #arenaReset(op) {
    const a = this.#arenaNamed(op.arena);
    const before = a.alive ? this.#arenaState(a) : null;
    a.arena.reset(); // DestroyedError for a destroyed arena
    a.resets++;
    let n = 0;
    for (const [p, m] of this.meta) {
      if (m.arena === a.name) {
        this.#released(p, { reset: true });
        n++;
      }
    }
    const d = this.#arenaState(a);
    return {
      kind: 'info', at: d.first,
      text: `lm_arena_reset(${a.name}): ${n} allocation${n === 1 ? '' : 's'} (${formatBytes(before.used)}) freed at once in O(1); ` +
        `the bump pointer is back at ${hex(d.bump)} and the arena keeps its ${d.pages} page${d.pages === 1 ? '' : 's'} for the next round`,
    };
  }

  #arenaDestroy(op) {
    const a = this.#arenaNamed(op.arena);
    const d = a.alive ? this.#arenaState(a) : null;
    a.arena.destroy(); // DestroyedError for a destroyed arena
    a.alive = false;
    for (const [p, m] of this.meta) if (m.arena === a.name) this.#released(p, { destroyed: true });
    for (const c of d.chunks) this.pool.push({ start: c.start, end: c.end, from: `arena ${a.name}`, step: this.#stepNo });
    return {
      kind: 'info', at: d.first,
      text: `lm_arena_destroy(${a.name}): its ${d.pages} page${d.pages === 1 ? '' : 's'} went to the page pool ` +
        '(memory.grow cannot give pages back to the engine); the next heap or arena that needs pages takes them from there first',
    };
  }

  #resolveQuiet(name) {
    try {
      return this.vars.has(name) ? this.#resolve({ ref: name }) : null;
    } catch {
      return null;
    }
  }

  #where(p, m) {
    if (isObject(m.usable)) {
      return `a ${m.usable}-byte object in the slab at ${hex(p & ~(SLAB_SIZE - 1))} (no header)`;
    }
    return `a block of ${m.usable + HEADER_SIZE + SEAL_SIZE} bytes (4-byte header, ${m.usable} usable, 4-byte seal)`;
  }

  // free or realloc of `addr` on heap `heapName` that the API refused as
  // an invalid pointer, or that must not happen: the explanation for a
  // pointer into an arena, a block of another heap, or the block holding a
  // live created heap; null when none applies.
  #misplaced(expr, addr, heapName, op, refused) {
    const heap = heapName ? `heap ${heapName}` : 'the default heap';
    const buffer = [...this.heaps.values()].find((h) => h.alive && h.buffer === addr);
    if (buffer && !heapName) {
      return {
        kind: 'error', error: 'HeapInUse', at: addr, text: `${expr} holds heap ${buffer.name}`,
        explain: explain.heapInUse({ expr, addr, heap: buffer.name, op }),
      };
    }
    if (!refused) return null;
    const m = this.meta.get(addr) ?? this.freed.get(addr);
    const o = this.#ownerAt(addr);
    if (m?.arena || o.kind === 'arena') {
      const arena = m?.arena ?? o.a.name;
      return {
        kind: 'error', error: 'ArenaFree', at: addr, text: refused.message,
        explain: explain.arenaFree({ expr, addr, arena, op, heap }),
      };
    }
    const live = this.meta.get(addr);
    if (live && (live.heap ?? '') !== (heapName ?? '')) {
      return {
        kind: 'error', error: 'WrongHeap', at: addr, text: refused.message,
        explain: explain.wrongHeap({ expr, addr, owner: live.heap ? `heap ${live.heap}` : 'the default heap', heap, op, label: live.label }),
      };
    }
    return null;
  }

  #realloc(op) {
    const t = this.#resolve(op.target);
    const heap = this.#api(op.heap);
    const misplaced = t.addr ? this.#misplaced(t.expr, t.addr, op.heap, 'realloc', null) : null;
    if (misplaced) return misplaced;
    if (t.state === 'dangling' && !this.meta.has(t.addr)) {
      try {
        heap.realloc(t.addr, op.size);
      } catch (e) {
        if (e.name !== 'DoubleFreeError' && e.name !== 'InvalidPointerError') throw e;
        const other = e.name === 'InvalidPointerError' && this.#misplaced(t.expr, t.addr, op.heap, 'realloc', e);
        if (other) return other;
        const f = this.freed.get(t.addr);
        return {
          kind: 'error', error: e.name, at: t.addr, text: e.message,
          explain: explain.doubleFree({ name: t.expr, addr: t.addr, freedStep: f?.freedStep, label: f?.label, op: 'realloc' }),
        };
      }
    }
    const old = t.state === 'null' ? null : this.meta.get(t.addr);
    const usable = old?.usable ?? 0;
    let q;
    try {
      q = heap.realloc(t.addr, op.size);
    } catch (e) {
      const other = e.name === 'InvalidPointerError' && this.#misplaced(t.expr, t.addr, op.heap, 'realloc', e);
      if (other) return other;
      throw e;
    }
    const name = op.target.ref !== undefined && op.target.index === undefined ? op.target.ref : null;
    if (op.size === 0 && t.addr) {
      this.#released(t.addr);
      if (name) this.#setVar(name, 0);
      return { kind: 'info', at: t.addr, text: `realloc(${t.expr}, 0) freed the block and returned NULL` };
    }
    const reuseNote = t.state === 'dangling'
      ? ` Careful: ${t.expr} was dangling; the block it resized belongs to "${old?.label}".` : '';
    if (q === t.addr) {
      old.requested = op.size;
      old.usable = heap.usableSize(q);
      old.resized = this.#stepNo;
      const grew = old.usable > usable;
      const how = isObject(usable)
        ? `still fits in its ${usable}-byte slab object`
        : grew ? 'grew in place: the next block was free (or the top of the heap), so nothing was copied'
          : old.usable < usable ? 'shrank in place: the tail went back to the free lists' : 'kept its size';
      return { kind: 'info', at: q, ptr: q, text: `${t.expr} stays at ${hex(q)}: ${how}.${reuseNote}` };
    }
    const label = old?.label ?? name ?? t.expr;
    if (t.addr) this.#released(t.addr);
    const m = this.#allocated(q, { requested: op.size, label, heap: op.heap });
    if (name) this.#setVar(name, q);
    else if (op.target.index !== undefined) {
      const v = this.vars.get(op.target.ref);
      v.addrs[op.target.index] = q;
      v.ids[op.target.index] = m.id;
    }
    const others = [...this.vars.values()].filter((v) => v.kind === 'ptr' && v.addr === t.addr && v.name !== name);
    const text = t.addr
      ? `moved from ${hex(t.addr)} to ${hex(q)}: the block could not grow in place (its neighbour is in use), ` +
        `so lmalloc allocated ${formatBytes(m.usable)}, copied ${Math.min(usable, op.size)} bytes and freed the old block.` +
        (others.length ? ` ${others.map((v) => v.name).join(', ')} still point${others.length === 1 ? 's' : ''} to the old address: dangling now.` : '')
      : `realloc(NULL, ${op.size}) is malloc(${op.size}): ${hex(q)}`;
    return { kind: 'info', at: q, ptr: q, moved: !!t.addr, from: t.addr, text: text + reuseNote };
  }

  #free(target, offset, heapName) {
    const t = this.#resolve(target);
    const heap = this.#api(heapName);
    const addr = t.addr + offset;
    const expr = offset ? `${t.expr} + ${offset}` : t.expr;
    if (t.state === 'null' && !offset) {
      return { kind: 'info', text: `free(${t.expr}): ${t.expr} is NULL, and free(NULL) does nothing` };
    }
    const misplaced = this.#misplaced(expr, addr, heapName, 'free', null);
    if (misplaced) return misplaced;
    const bytes = this.#bytes();
    const before = this.meta.get(addr);
    const hdrBefore = decodeHeader(this.#word(bytes, addr - HEADER_SIZE));
    try {
      heap.free(addr);
    } catch (e) {
      if (e.name === 'DoubleFreeError') {
        const f = this.freed.get(addr);
        return {
          kind: 'error', error: e.name, at: addr, text: e.message,
          explain: explain.doubleFree({ name: expr, addr, freedStep: f?.freedStep, label: f?.label }),
        };
      }
      if (e.name === 'InvalidPointerError') {
        const other = this.#misplaced(expr, addr, heapName, 'free', e);
        if (other) return other;
        const snap = this.snapshot();
        const i = entryAt(snap, addr);
        const entry = i >= 0 ? snap.entries[i] : null;
        const block = entry && entry.kind !== 'slab' && isAllocation(entry) ? entry : null;
        return {
          kind: 'error', error: e.name, at: addr, text: e.message,
          explain: explain.interiorFree({
            expr, addr, block, offset: block ? addr - block.ptr : 0,
            headerWord: this.#word(bytes, addr - HEADER_SIZE),
          }),
        };
      }
      throw e;
    }
    this.#released(addr);
    if (t.state === 'dangling') {
      return {
        kind: 'error', error: 'FreeOfReused', at: addr, text: `free(${expr}) freed "${before?.label}", allocated at step ${before?.step}`,
        explain: explain.freeOfReused({ expr, addr, freedStep: this.freed.get(addr)?.freedStep, owner: before }),
      };
    }
    return { kind: 'info', at: addr, text: `free(${expr}): ${this.#freedHow(heap, addr, before, hdrBefore)}` };
  }

  #freedHow(heap, addr, m, hdrBefore) {
    const bytes = this.#bytes();
    if (m && isObject(m.usable)) {
      const slab = addr & ~(SLAB_SIZE - 1);
      const h = decodeHeader(this.#word(bytes, slab - HEADER_SIZE));
      if (!h.slab) return 'that was the slab\'s last object, so the whole 4 KiB slab went back to the heap';
      return `the ${m.usable}-byte object goes on its slab's free list (reused first, LIFO)`;
    }
    // The free block that holds the freed one now, from the walk: it
    // starts before it when the block merged with its left neighbour, and
    // ends after it when it merged with its right one (top need not be the
    // heap's last block: slabs are cut from its end).
    const header = addr - HEADER_SIZE;
    const end = header + hdrBefore.size;
    const f = heap.blocks().find((e) => e.kind === 'block' && !e.used && e.header <= header && e.header + e.size >= end);
    if (!f) return 'the block went back to the heap';
    const before = f.header < header;
    const after = f.header + f.size > end;
    if (before || after) {
      const sides = before && after ? 'the free blocks before and after it' : before ? 'the free block before it' : 'the free block after it';
      return `merged with ${sides} into a free block of ${f.size} bytes${f.top ? ': the top block' : ''}`;
    }
    if (f.top) return `a free block of ${hdrBefore.size} bytes: the new top block`;
    return `a free block of ${hdrBefore.size} bytes, on the free list of its size class`;
  }

  #write(op) {
    const t = this.#resolve(op.target);
    const offset = op.offset ?? 0;
    const addr = t.addr + offset;
    const expr = offset ? `${t.expr} + ${offset}` : t.expr;
    if (t.state === 'null') {
      return { kind: 'error', error: 'NullPointer', text: `${t.expr} is NULL`, explain: explain.nullPointer({ expr: t.expr, what: 'The write was not done.' }) };
    }
    const length = utf8.encode(op.text).length + 1;
    const bytes = this.#bytes();
    // The memory's owner now checks the write: an arena (here, against the
    // allocation), a created heap or the default heap (the JS API's checks).
    const o = this.#ownerAt(t.addr);
    if (o.kind === 'arena') return this.#writeArena(t, o, { addr, expr, offset, length, text: op.text });
    const heap = o.kind === 'heap' ? o.h.heap : this.heap;
    try {
      heap.writeString(addr, op.text);
    } catch (e) {
      if (e.name === 'UseAfterFreeError' || (e.name === 'InvalidPointerError' && t.state === 'dangling')) {
        const f = this.freed.get(t.addr);
        return {
          kind: 'error', error: 'UseAfterFreeError', at: t.addr, text: e.message,
          explain: explain.writeAfterFree({ expr, addr, freedStep: f?.freedStep, label: f?.label, holds: this.#freedHolds(bytes, t.addr, f) }),
        };
      }
      if (e.name === 'RangeError' && /past the end of the block/.test(e.message)) {
        const m = this.meta.get(t.addr);
        const usable = m?.usable ?? 0;
        const over = offset + length - usable;
        return {
          kind: 'error', error: 'Overflow', at: t.addr, text: e.message,
          explain: explain.overflow({ expr, addr, usable: usable - offset, length, over, next: this.#after(bytes, t.addr, m) }),
        };
      }
      throw e;
    }
    if (t.state === 'dangling') {
      const owner = this.meta.get(t.addr) ?? [...this.meta.entries()].find(([p, m]) => addr >= p && addr < p + m.usable)?.[1];
      return {
        kind: 'error', error: 'WriteToReused', at: addr, text: `the write changed the data of "${owner?.label}"`,
        explain: explain.writeToReused({ expr, addr, freedStep: this.freed.get(t.addr)?.freedStep, owner }),
      };
    }
    return { kind: 'info', at: t.addr, ptr: t.addr, text: `wrote ${length} bytes (${length - 1} + the terminating 0) at ${hex(addr)}` };
  }

  // A string written into an arena allocation: the arena checks nothing,
  // so the page does (the allocation's size, and whether it is live).
  #writeArena(t, o, { addr, expr, offset, length, text }) {
    const { m, p } = o;
    const f = this.freed.get(t.addr);
    if (!m) {
      return {
        kind: 'error', error: 'UseAfterReset', at: t.addr, text: `${expr}: no live allocation of arena ${o.a.name} holds ${hex(addr)}`,
        explain: explain.useAfterReset({ expr, addr, arena: o.a.name, freedStep: f?.freedStep, label: f?.label, reset: f?.reset }),
      };
    }
    if (addr + length > p + m.usable) {
      const usable = p + m.usable - addr;
      return {
        kind: 'error', error: 'Overflow', at: p, text: `${expr}: ${length} bytes run ${length - usable} bytes past the allocation at ${hex(p)} (${m.usable} bytes)`,
        explain: explain.overflow({ expr, addr, usable, length, over: length - usable, next: this.#after(this.#bytes(), p, m), arena: o.a.name }),
      };
    }
    const data = new Uint8Array(length);
    utf8.encodeInto(text, data);
    o.a.arena.bytes(addr, length).set(data);
    if (t.state === 'dangling') {
      return {
        kind: 'error', error: 'WriteToReused', at: addr, text: `the write changed the data of "${m.label}"`,
        explain: explain.writeToReused({ expr, addr, freedStep: f?.freedStep, owner: m }),
      };
    }
    return { kind: 'info', at: t.addr, ptr: t.addr, text: `wrote ${length} bytes (${length - 1} + the terminating 0) at ${hex(addr)} in arena ${o.a.name}` };
  }

  // What the bytes of a freed allocation hold now, in words.
  #freedHolds(bytes, p, f) {
    const w = (a) => this.#word(bytes, a);
    if (f?.arena) {
      return f.destroyed ? `belong to the page pool: arena ${f.arena} was destroyed` : `are arena ${f.arena}'s free bump space again (it was reset)`;
    }
    const o = this.#ownerAt(p);
    if (o.kind === 'heap') {
      const first = o.h.heap.blocks()[0];
      if (!first || p < first.header) return `are part of heap ${o.h.name}'s struct now: the block was reused to hold that heap`;
    }
    if (f && isObject(f.usable)) {
      const next = w(p);
      return `hold the slab's link to its next free object (${next ? hex(next) : '0: none'})`;
    }
    const h = decodeHeader(w(p - HEADER_SIZE));
    if (h.raw === 1) return 'are in the middle of a larger free block (the block merged with its left neighbour)';
    if (h.free) {
      const snap = this.snapshot();
      const i = entryAt(snap, p - HEADER_SIZE);
      const e = snap.entries[i];
      if (e?.top) return 'belong to the top block, the free space new blocks are carved from';
      if (e?.links) {
        return `hold lmalloc's free-list links (next = ${hex(e.links.next)}, prev = ${hex(e.links.prev)}), ` +
          'stored XOR-masked with the heap\'s secret key, and its footer';
      }
      return 'belong to a free block of lmalloc\'s';
    }
    return 'belong to lmalloc again';
  }

  // What lies right after an allocation's usable bytes.
  #after(bytes, p, m) {
    if (!m) return null;
    const end = p + m.usable;
    if (m.arena) {
      const n = this.meta.get(end);
      return n?.arena === m.arena ? `the next allocation of arena ${m.arena}, "${n.label}" (arena allocations have no header between them)`
        : `arena ${m.arena}'s bump space (or its chunk's end)`;
    }
    if (isObject(m.usable)) {
      const slab = p & ~(SLAB_SIZE - 1);
      if (end + m.usable > slab + SLAB_SIZE - HEADER_SIZE) return 'the slab\'s unused tail and then the next block\'s header';
      const n = this.meta.get(end);
      return n ? `the next object in the slab, "${n.label}" (its data)` : 'the next object in the slab (free: its first 4 bytes are the slab\'s free-list link)';
    }
    // A block's usable bytes end at its seal; the next header follows.
    const seal = `the block's seal at ${hex(end)} (4 bytes lmalloc checks when the block is freed: that free would be refused)`;
    const next = end + SEAL_SIZE;
    const h = decodeHeader(this.#word(bytes, next));
    if (h.size === 0) return `${seal}, then the span's end marker at ${hex(next)}`;
    const n = this.meta.get(next + HEADER_SIZE);
    return `${seal}, then the header of the next block at ${hex(next)} (size ${h.size}, ${h.free ? 'free' : 'in use'}${n ? `, "${n.label}"` : ''})`;
  }

  // --- reachability (leaks) -----------------------------------------------

  // Addresses of live allocations reachable from the named pointers,
  // following every aligned word inside reachable allocations that equals
  // the address of a live allocation (a conservative scan, as a leak checker
  // does).
  #reachable() {
    const bytes = this.#bytes();
    const dv = new DataView(bytes.buffer);
    const meta = this.meta;
    const seen = new Set();
    const work = [];
    const visit = (a) => {
      if (a && !seen.has(a) && meta.has(a)) {
        seen.add(a);
        work.push(a);
      }
    };
    // Roots: the named pointers that still hold the allocation they were
    // given (a dangling pointer keeps nothing alive, even when its address
    // has been handed out again).
    const holds = (a, id) => a && meta.get(a)?.id === id;
    for (const v of this.vars.values()) {
      if (v.kind === 'ptr') {
        if (holds(v.addr, v.id)) visit(v.addr);
      } else {
        v.addrs.forEach((a, i) => holds(a, v.ids[i]) && visit(a));
      }
    }
    // A live arena's handle reaches all its allocations: they are freed by
    // its reset, never one by one, so none of them is ever a leak, and the
    // pointers stored in them keep heap blocks alive.
    for (const [p, m] of meta) if (m.arena) visit(p);
    const lo = this.place.stackTop;
    const hi = bytes.length;
    while (work.length) {
      const a = work.pop();
      const m = meta.get(a);
      const end = a + Math.min(m.requested, m.usable);
      for (let o = a; o + 4 <= end; o += 4) {
        const w = dv.getUint32(o, true);
        if ((w & 15) === 0 && w > lo && w < hi) visit(w);
      }
    }
    return seen;
  }

  #unreachableIds() {
    const seen = this.#reachable();
    const ids = new Set();
    for (const [p, m] of this.meta) if (!seen.has(p)) ids.add(m.id);
    return ids;
  }

  #noticeLeaks(result) {
    const ids = this.#unreachableIds();
    const lost = [];
    for (const [p, m] of this.meta) {
      if (ids.has(m.id) && !this.unreachable.has(m.id)) lost.push({ ptr: p, label: m.label, usable: m.usable });
    }
    this.unreachable = ids;
    if (!lost.length) return;
    result.leaked = lost.map((b) => b.ptr);
    const bytes = lost.reduce((n, b) => n + b.usable, 0);
    result.text = `${result.text ? `${result.text}: ` : ''}leaked ${lost.length} block${lost.length === 1 ? '' : 's'} (${bytes} B)`;
    const leakText = explain.leak({ blocks: lost, cause: codeOf(this.steps[this.#stepNo - 1].op) || 'this step' });
    if (result.kind === 'info') {
      result.kind = 'leak';
      result.at = lost[0].ptr;
      result.explain = leakText;
    } else {
      result.explain = `${result.explain ?? ''}\n\n${leakText}`;
    }
  }

  // --- stats and snapshots -----------------------------------------------------

  #statsEntry(step) {
    const s = this.heap.stats();
    const entry = {
      step,
      memoryBytes: this.heap.memory.buffer.byteLength,
      ...s,
      fragmentation: fragmentation(s),
    };
    if (this.arenas.size) {
      // Once the session has an arena, the chart follows what arenas hold
      // (their pages) and use (bytes handed out since their last reset).
      entry.arenaHeldBytes = 0;
      entry.arenaUsedBytes = 0;
      for (const a of this.arenas.values()) {
        if (!a.alive) continue;
        const info = a.arena.info();
        entry.arenaHeldBytes += info.heldBytes;
        entry.arenaUsedBytes += info.usedBytes;
      }
    }
    return entry;
  }

  /** The string at addr (up to its 0 byte), read through whatever owns the
   * memory: a heap's readString (checked against its live blocks), or, in
   * an arena, the live allocation holding addr. Throws when none does. */
  readString(addr) {
    const o = this.#ownerAt(addr);
    if (o.kind !== 'arena') return (o.kind === 'heap' ? o.h.heap : this.heap).readString(addr);
    if (!o.m) throw new RangeError(`${hex(addr)} is in arena ${o.a.name}, but no live allocation holds it`);
    const b = this.peek(addr, o.p + o.m.usable - addr);
    const nul = b.indexOf(0);
    if (nul < 0) throw new RangeError(`readString(${hex(addr)}): no 0 byte before the allocation's end`);
    return new TextDecoder().decode(b.subarray(0, nul));
  }

  /** Bytes of memory at [addr, addr + n), clipped to memory (for hex dumps). */
  peek(addr, n) {
    const bytes = this.#bytes();
    const start = Math.max(0, Math.min(addr, bytes.length));
    return bytes.slice(start, Math.min(bytes.length, start + n));
  }

  /** Everything the page draws, at the current step (cached per version). */
  snapshot() {
    if (this.#snap && this.#snapVersion === this.version) return this.#snap;
    const bytes = this.#bytes();
    const snap = decodeHeap(this.heap.blocks(), bytes, this.place);
    // Created heaps and arenas join the default heap's entries (heaps-arenas.mjs).
    const heaps = [...this.heaps.values()].filter((h) => h.alive).map((h) => ({
      name: h.name, buffer: h.buffer, bytes: h.bytes, step: h.step,
      entries: h.heap.blocks(), stats: h.heap.stats(), check: h.heap.check(),
    }));
    const arenas = [...this.arenas.values()].filter((a) => a.alive).map((a) => ({ name: a.name, state: this.#arenaState(a), step: a.step, allocs: [] }));
    const byName = new Map(arenas.map((a) => [a.name, a]));
    for (const [p, m] of this.meta) {
      if (m.arena) byName.get(m.arena)?.allocs.push({ ptr: p, size: m.usable, requested: m.requested, label: m.label, step: m.step, align: m.align });
    }
    nestHeapsAndArenas(snap, bytes, { heaps, arenas, pool: this.pool });
    const { entries } = snap;
    let leakCount = 0;
    let leakBytes = 0;
    const live = new Set();
    for (const e of entries) {
      if (e.kind === 'slab') {
        e.born = this.slabBorn.get(e.ptr);
        live.add(e.ptr);
        continue;
      }
      if (!e.used || e.kind === 'chunk') continue;
      const m = this.meta.get(e.ptr);
      if (!m) continue;
      e.requested = m.requested;
      e.label = m.label;
      e.step = m.step;
      e.align = m.align;
      if (m.resized) e.resized = m.resized;
      e.leaked = this.unreachable.has(m.id);
      if (e.leaked) {
        leakCount++;
        leakBytes += e.usable;
      }
      if (m.pad) {
        const i = entryAt(snap, m.pad);
        if (i >= 0 && !entries[i].used && entries[i].header === m.pad) entries[i].padFor = e.index;
      }
    }
    for (const s of this.slabBorn.keys()) if (!live.has(s)) this.slabBorn.delete(s);
    snap.step = this.cursor;
    snap.stats = this.history[this.cursor] ?? this.#statsEntry(this.cursor);
    snap.history = this.history.slice(0, this.cursor + 1);
    snap.grows = this.grows.slice();
    snap.frames = this.frames.map((f) => ({ ...f }));
    snap.leaks = { count: leakCount, bytes: leakBytes };
    snap.vars = [...this.vars.values()].map((v) => this.#describeVar(v));
    // The heap and arena handles: { name, kind, addr, alive, title }.
    snap.handles = [
      ...[...this.heaps.values()].map((h) => ({
        name: h.name, kind: 'heap', addr: h.buffer, alive: h.alive, step: h.step,
        title: snap.heaps.find((x) => x.name === h.name)?.title ?? `heap ${h.name}: destroyed`,
      })),
      ...[...this.arenas.values()].map((a) => ({
        name: a.name, kind: 'arena', addr: a.addr, alive: a.alive, step: a.step,
        title: snap.arenas.find((x) => x.name === a.name)?.title ?? `arena ${a.name}: destroyed`,
      })),
    ];
    // lm_check of the default heap and of every created heap.
    snap.check = this.heap.check() + snap.heaps.reduce((n, h) => n + h.check, 0);
    this.#snap = snap;
    this.#snapVersion = this.version;
    return snap;
  }

  #describeVar(v) {
    if (v.kind === 'ptr') {
      const m = this.meta.get(v.addr);
      const state = v.addr === 0 ? 'null' : m?.id === v.id ? 'live' : 'dangling';
      return { name: v.name, kind: 'ptr', addr: v.addr, state, label: m?.label };
    }
    let live = 0;
    v.addrs.forEach((a, i) => {
      if (this.meta.get(a)?.id === v.ids[i]) live++;
    });
    return { name: v.name, kind: 'array', count: v.addrs.length, live, first: v.addrs[0] ?? 0 };
  }

  /** The step log: one line per step, the undone ones marked. */
  log() {
    return this.steps.map((s, i) => ({
      n: i + 1,
      code: codeOf(s.op),
      say: s.op.say,
      kind: s.result?.kind ?? 'info',
      text: s.result?.text ?? '',
      undone: i >= this.cursor,
    }));
  }
}
