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
// - A mistake (double free, write after free, ...) is a step too: the debug
//   build refuses it before anything changes, and its result carries the
//   explanation (mistakes.mjs).
// - No DOM here: the page (app.mjs) and the tests drive the same object.
//   createHeap and the compiled module are passed in, so Node can run it.

import {
  HEADER_SIZE, SLAB_SIZE, decodeHeader, formatBytes, hex, placement, readDylink,
} from './heap-layout.mjs';
import { decodeHeap, entryAt, fragmentation, isAllocation } from './snapshot.mjs';
import * as explain from './mistakes.mjs';

/** The module the playground runs, in wasm/dist/ (the page and the tests
 * load the same one). createHeap is always called with debug: true, so the
 * JS API checks every pointer and access against its map of live blocks. */
export const WASM_FILE = 'lmalloc-debug.wasm';

const align16 = (n) => Math.ceil(n / 16) * 16;
const utf8 = new TextEncoder();
const isObject = (usable) => usable % 16 === 0; // blocks have usable = 12 mod 16

/** The C source line of an operation (shown in the step log). */
export function codeOf(op) {
  if (op.code) return op.code;
  const t = (x) => (x === undefined ? '?' : targetExpr(x));
  const v = (x) => valueExpr(x);
  switch (op.op) {
    case 'malloc': return `${op.name} = malloc(${op.size});`;
    case 'calloc': return `${op.name} = calloc(${op.count}, ${op.size});`;
    case 'realloc': return `${t(op.target)} = realloc(${t(op.target)}, ${op.size});`;
    case 'aligned': return `${op.name} = aligned_alloc(${op.align}, ${op.size});`;
    case 'free': return `free(${t(op.target)}${op.offset ? ` + ${op.offset}` : ''});`;
    case 'write': return `strcpy(${t(op.target)}${op.offset ? ` + ${op.offset}` : ''}, ${JSON.stringify(op.text)});`;
    case 'poke': return `*(uint32_t *)(${t(op.target)} + ${op.offset ?? 0}) = ${v(op.value)};`;
    case 'assign': return `${op.index === undefined ? op.name : `${op.name}[${op.index}]`} = ${v(op.value)};`;
    case 'many': return `for (i = 0; i < ${op.count}; i++) ${op.name}[i] = malloc(${op.size});`;
    case 'freeEvery': return `for (i = ${op.start ?? 0}; i < n; i += ${op.stride ?? 1}) free(${op.name}[i]);`;
    case 'freeNode': return `next = ${op.name}->next; free(${op.name}); ${op.name} = next;`;
    case 'push': return `${op.fn}() { ${op.locals.map((l) => `${l.type} ${l.name};`).join(' ')} ... }`;
    case 'pop': return `return; /* ${op.fn ?? 'the function'} returns */`;
    case 'note': return '';
    case 'seq': return op.ops.map(codeOf).join(' ');
    default: return op.op;
  }
}

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
   * @param module     the compiled lmalloc-debug.wasm (WebAssembly.Module)
   */
  static async create({ createHeap, module, heapOptions = {} }) {
    const s = new Session(createHeap, module, heapOptions);
    await s.#fresh();
    s.history = [s.#statsEntry(0)];
    return s;
  }

  constructor(createHeap, module, heapOptions) {
    this.#createHeap = createHeap;
    this.#module = module;
    this.#heapOptions = heapOptions;
    const dylink = readDylink(WebAssembly.Module.customSections(module, 'dylink.0')[0]);
    if (!dylink) throw new Error('lmalloc-debug.wasm has no dylink.0 memory info');
    this.place = placement(dylink);
  }

  async #fresh() {
    this.heap = await this.#createHeap({ module: this.#module, debug: true, ...this.#heapOptions });
    this.vars = new Map(); // name -> { name, kind: 'ptr', addr, id } | { kind: 'array', addrs, ids }
    this.meta = new Map(); // live allocation ptr -> { id, requested, step, label, code, align, pad }
    this.freed = new Map(); // ptr -> what was last freed there: { id, label, step, freedStep, requested }
    this.grows = [];
    this.frames = [];
    this.slabBorn = new Map(); // slab payload -> step that created it
    this.unreachable = new Set(); // ids of live allocations no pointer reaches
    this.nextId = 0;
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

  #unexpected(op, e) {
    if (e.name === 'AllocationError') {
      return { kind: 'error', error: e.name, text: e.message, explain: explain.outOfMemory({ code: codeOf(op), message: e.message }) };
    }
    return { kind: 'error', error: e.name, text: e.message };
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

  #allocated(p, { requested, label, align = 16 }) {
    const id = ++this.nextId;
    const usable = this.heap.usableSize(p);
    const m = { id, requested, step: this.#stepNo, label, align, usable };
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
        const gap = this.heap.blocks().find((b) => !b.used && b.header + b.size === p - HEADER_SIZE);
        if (gap) m.pad = gap.header;
      }
    }
    this.freed.delete(p);
    this.meta.set(p, m);
    return m;
  }

  #released(p) {
    const m = this.meta.get(p);
    this.meta.delete(p);
    if (m) this.freed.set(p, { ...m, freedStep: this.#stepNo });
    if (this.unreachable.has(m?.id)) this.unreachable.delete(m.id);
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
      const b = this.heap.read(t.addr + (v.offset ?? 0), 4);
      return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    }
    return this.#resolve(v).addr;
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
    const heap = this.heap;
    switch (op.op) {
      case 'malloc':
      case 'calloc':
      case 'aligned': {
        const name = op.name;
        if (!name) throw new StepError('an allocation needs a name');
        const before = this.#resolveQuiet(name);
        let p;
        let requested = op.size;
        if (op.op === 'malloc') p = heap.malloc(op.size);
        else if (op.op === 'calloc') {
          p = heap.calloc(op.count, op.size);
          requested = op.count * op.size;
        } else p = heap.alignedAlloc(op.align, op.size);
        const m = this.#allocated(p, { requested, label: op.label || name, align: op.op === 'aligned' ? op.align : 16 });
        this.#setVar(name, p);
        return {
          kind: 'info', at: p, ptr: p,
          text: `${name} = ${hex(p)}: ${this.#where(p, m)}` + (before?.state === 'live' ? ` (${name} no longer points to ${hex(before.addr)})` : ''),
        };
      }

      case 'realloc':
        return this.#realloc(op);

      case 'free':
        return this.#free(op.target, op.offset ?? 0);

      case 'write':
        return this.#write(op);

      case 'poke': {
        const t = this.#resolve(op.target);
        if (t.state === 'null') {
          return { kind: 'error', error: 'NullPointer', text: `${t.expr} is NULL`, explain: explain.nullPointer({ expr: t.expr, what: 'The write was not done.' }) };
        }
        const value = this.#value(op.value);
        const at = t.addr + (op.offset ?? 0);
        heap.write(at, [value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24]);
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
        const addrs = [];
        const ids = [];
        this.vars.set(op.name, { name: op.name, kind: 'array', addrs, ids, step: this.#stepNo });
        for (let i = 0; i < op.count; i++) {
          const p = heap.malloc(op.size);
          const m = this.#allocated(p, { requested: op.size, label: `${op.name}[${i}]` });
          addrs.push(p);
          ids.push(m.id);
        }
        return { kind: 'info', at: addrs[0], text: `${op.count} blocks of ${op.size} bytes, ${hex(addrs[0])} .. ${hex(addrs[addrs.length - 1])}` };
      }

      case 'freeEvery': {
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

      case 'freeNode': {
        const t = this.#resolve({ ref: op.name });
        if (t.state === 'null') return { kind: 'info', text: `${op.name} is NULL: the list is empty` };
        const next = this.#value({ deref: { ref: op.name }, offset: op.offset ?? 4 });
        const r = this.#free({ ref: op.name }, 0);
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
          if (last.text) texts.push(last.text);
          if (last.kind === 'error') return last;
        }
        return { ...last, text: texts.join('; ') };
      }

      default:
        throw new StepError(`unknown operation "${op.op}"`);
    }
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
    return `a block of ${m.usable + HEADER_SIZE} bytes (4-byte header, ${m.usable} usable)`;
  }

  #realloc(op) {
    const t = this.#resolve(op.target);
    const heap = this.heap;
    if (t.state === 'dangling' && !this.meta.has(t.addr)) {
      try {
        heap.realloc(t.addr, op.size);
      } catch (e) {
        if (e.name !== 'DoubleFreeError' && e.name !== 'InvalidPointerError') throw e;
        const f = this.freed.get(t.addr);
        return {
          kind: 'error', error: e.name, at: t.addr, text: e.message,
          explain: explain.doubleFree({ name: t.expr, addr: t.addr, freedStep: f?.freedStep, label: f?.label, op: 'realloc' }),
        };
      }
    }
    const old = t.state === 'null' ? null : this.meta.get(t.addr);
    const usable = old?.usable ?? 0;
    const q = heap.realloc(t.addr, op.size);
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
    const m = this.#allocated(q, { requested: op.size, label });
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

  #free(target, offset) {
    const t = this.#resolve(target);
    const heap = this.heap;
    const addr = t.addr + offset;
    const expr = offset ? `${t.expr} + ${offset}` : t.expr;
    if (t.state === 'null' && !offset) {
      return { kind: 'info', text: `free(${t.expr}): ${t.expr} is NULL, and free(NULL) does nothing` };
    }
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
    return { kind: 'info', at: addr, text: `free(${expr}): ${this.#freedHow(addr, before, hdrBefore)}` };
  }

  #freedHow(addr, m, hdrBefore) {
    const bytes = this.#bytes();
    if (m && isObject(m.usable)) {
      const slab = addr & ~(SLAB_SIZE - 1);
      const h = decodeHeader(this.#word(bytes, slab - HEADER_SIZE));
      if (!h.slab) return 'that was the slab\'s last object, so the whole 4 KiB slab went back to the heap';
      return `the ${m.usable}-byte object goes on its slab's free list (reused first, LIFO)`;
    }
    const h = decodeHeader(this.#word(bytes, addr - HEADER_SIZE));
    if (h.raw === 1) return 'merged with the free block before it';
    const intoTop = decodeHeader(this.#word(bytes, addr - HEADER_SIZE + h.size)).size === 0;
    if (h.size > hdrBefore.size) {
      return intoTop ? 'merged with the free block after it: the top of the heap' : 'merged with the free block after it';
    }
    if (intoTop) return `a free block of ${hdrBefore.size} bytes at the end of the heap: the new top`;
    return `a free block of ${hdrBefore.size} bytes, on the free list of its size class`;
  }

  #write(op) {
    const t = this.#resolve(op.target);
    const heap = this.heap;
    const offset = op.offset ?? 0;
    const addr = t.addr + offset;
    const expr = offset ? `${t.expr} + ${offset}` : t.expr;
    if (t.state === 'null') {
      return { kind: 'error', error: 'NullPointer', text: `${t.expr} is NULL`, explain: explain.nullPointer({ expr: t.expr, what: 'The write was not done.' }) };
    }
    const length = utf8.encode(op.text).length + 1;
    const bytes = this.#bytes();
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

  // What the bytes of a freed allocation hold now, in words.
  #freedHolds(bytes, p, f) {
    const w = (a) => this.#word(bytes, a);
    if (f && isObject(f.usable)) {
      const next = w(p);
      return `hold the slab's link to its next free object (${next ? hex(next) : '0: none'})`;
    }
    const h = decodeHeader(w(p - HEADER_SIZE));
    if (h.raw === 1) return 'are in the middle of a larger free block (the block merged with its left neighbour)';
    if (h.free) {
      const snap = this.snapshot();
      const i = entryAt(snap, p - HEADER_SIZE);
      if (i >= 0 && snap.entries[i].top) return 'belong to the top block, the free end of the heap';
      return `hold lmalloc's free-list links (next = ${hex(w(p))}, prev = ${hex(w(p + 4))}) and its footer`;
    }
    return 'belong to lmalloc again';
  }

  // What lies right after an allocation's usable bytes.
  #after(bytes, p, m) {
    if (!m) return null;
    const end = p + m.usable;
    if (isObject(m.usable)) {
      const slab = p & ~(SLAB_SIZE - 1);
      if (end + m.usable > slab + SLAB_SIZE - HEADER_SIZE) return 'the slab\'s unused tail and then the next block\'s header';
      const n = this.meta.get(end);
      return n ? `the next object in the slab, "${n.label}" (its data)` : 'the next object in the slab (free: its first 4 bytes are the slab\'s free-list link)';
    }
    const h = decodeHeader(this.#word(bytes, end));
    if (h.size === 0) return `the span's end marker at ${hex(end)}`;
    const n = this.meta.get(end + HEADER_SIZE);
    return `the header of the next block at ${hex(end)} (size ${h.size}, ${h.free ? 'free' : 'in use'}${n ? `, "${n.label}"` : ''})`;
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
    return {
      step,
      memoryBytes: this.heap.memory.buffer.byteLength,
      ...s,
      fragmentation: fragmentation(s),
    };
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
    const entries = this.heap.blocks();
    const snap = decodeHeap(entries, this.#bytes(), this.place);
    let leakCount = 0;
    let leakBytes = 0;
    const live = new Set();
    for (const e of entries) {
      if (e.kind === 'slab') {
        e.born = this.slabBorn.get(e.ptr);
        live.add(e.ptr);
        continue;
      }
      if (!e.used) continue;
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
    snap.check = this.heap.check();
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
