// Allocation traces: parsing, writing and recording. A trace is the
// malloc-family call sequence of a program, one operation per line, in the
// project's lmtrace v1 format (bench/traces/README.md) or the CS:APP
// malloc-lab format it extends (`a id bytes`, `r id bytes`, `f id`, with
// an optional header of four numbers). Both parse into the same object:
//
//   { name, format: 'lmtrace' | 'csapp', ids, count,
//     op: Uint8Array    'a' 'c' 'm' 'r' 'f' (char codes),
//     id: Uint32Array   slot in the replayer's table, < ids,
//     size: Uint32Array bytes asked for (0 for 'f'),
//     align: Uint32Array power of two for 'm', else 0,
//     comments: [text], notes: [text] (what lenient parsing changed) }
//
// Invariants of a parsed trace (what bench/trace.c checks, so a replayer
// can trust every field): 'a' 'c' 'm' only name a free id and 'r' 'f' only
// a live one; sizes and alignments fit in 32 bits; an alignment is a power
// of two. lmtrace is parsed strictly (any violation is an error with its
// line number, as trace.c does); CS:APP files are parsed leniently, as the
// malloc-lab drivers did: `r` of a free id is a malloc, `r id 0` a free,
// and the header's counts are only checked against the lines.
//
// Also here: writeTrace (lmtrace v1 text), traceFromCalls (a log of heap
// calls -> trace, with ids given out the way a program's pointer table
// would) and recordingHeap (a heap wrapper that logs its successful
// allocation calls, used to export a playground session as a trace).
//
// Pure: no DOM, no wasm; the parser works on bytes or a string and does
// not split the text into lines (traces reach 16 MB and 1.6 M operations).

const OPS = new Set([97, 99, 109, 114, 102]); // a c m r f
const MAX_U32 = 0xffffffff;

export class TraceError extends Error {
  name = 'TraceError';
  constructor(message, line) {
    super(line ? `line ${line}: ${message}` : message);
    this.line = line;
  }
}

const utf8 = new TextEncoder();
const GZIP = [0x1f, 0x8b];

/** Whether bytes start with the gzip magic number. */
export function isGzip(bytes) {
  return bytes.length >= 2 && bytes[0] === GZIP[0] && bytes[1] === GZIP[1];
}

/** Decompresses gzip bytes (DecompressionStream: browsers and Node >= 18). */
export async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Bytes of a trace file, gzip or plain, parsed (see parseTrace). */
export async function loadTrace(bytes, options = {}) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (!isGzip(b)) return parseTrace(b, options);
  let plain;
  try {
    plain = await gunzip(b);
  } catch {
    // The stream's own message says nothing useful ("Failed to fetch" in Chromium).
    throw new TraceError('the file starts like gzip but does not decompress: it is damaged or cut short');
  }
  return parseTrace(plain, options);
}

// A line of the file as an error message quotes it: at most QUOTE_MAX
// characters, control characters (a binary file's) shown as U+FFFD.
const QUOTE_MAX = 60;
function quote(text) {
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd');
  return `"${clean.length > QUOTE_MAX ? `${clean.slice(0, QUOTE_MAX)}…` : clean}"`;
}

// Growable typed columns for the operations.
class Columns {
  constructor(capacity) {
    this.n = 0;
    this.alloc(Math.max(16, capacity));
  }

  alloc(cap) {
    const grow = (Old, T) => {
      const a = new T(cap);
      if (Old) a.set(Old.subarray(0, this.n));
      return a;
    };
    this.op = grow(this.op, Uint8Array);
    this.id = grow(this.id, Uint32Array);
    this.size = grow(this.size, Uint32Array);
    this.align = grow(this.align, Uint32Array);
    this.cap = cap;
  }

  push(op, id, size, align) {
    if (this.n === this.cap) this.alloc(this.cap * 2);
    const i = this.n++;
    this.op[i] = op;
    this.id[i] = id;
    this.size[i] = size;
    this.align[i] = align;
  }

  done() {
    const n = this.n;
    return { op: this.op.slice(0, n), id: this.id.slice(0, n), size: this.size.slice(0, n), align: this.align.slice(0, n) };
  }
}

// A cursor over the lines of a byte buffer: fields are read as numbers or
// words without making strings (except for comments and headers).
class Lines {
  constructor(bytes) {
    this.b = bytes;
    this.pos = 0;
    this.line = 0;
    this.start = 0;
    this.end = 0;
  }

  /** Moves to the next line; false at the end. Strips \r. */
  next() {
    const b = this.b;
    if (this.pos >= b.length) return false;
    this.start = this.pos;
    let e = b.indexOf(10, this.pos);
    if (e < 0) e = b.length;
    this.pos = e + 1;
    this.end = e > this.start && b[e - 1] === 13 ? e - 1 : e;
    this.line++;
    this.at = this.start;
    return true;
  }

  text() {
    return new TextDecoder().decode(this.b.subarray(this.start, this.end));
  }

  /** The line as an error message quotes it (shortened). */
  quoted() {
    return quote(new TextDecoder().decode(this.b.subarray(this.start, Math.min(this.end, this.start + 4 * QUOTE_MAX))));
  }

  blank() {
    for (let i = this.start; i < this.end; i++) if (this.b[i] !== 32 && this.b[i] !== 9) return false;
    return true;
  }

  skipSpaces() {
    while (this.at < this.end && (this.b[this.at] === 32 || this.b[this.at] === 9)) this.at++;
  }

  /** The next field as an unsigned integer (< 2^53), or -1 when there is none or it is not a number. */
  number() {
    this.skipSpaces();
    const b = this.b;
    let v = 0;
    let digits = 0;
    while (this.at < this.end && b[this.at] >= 48 && b[this.at] <= 57) {
      v = v * 10 + (b[this.at] - 48);
      this.at++;
      digits++;
    }
    if (!digits || digits > 15 || (this.at < this.end && b[this.at] !== 32 && b[this.at] !== 9)) return -1;
    return v;
  }

  atEnd() {
    this.skipSpaces();
    return this.at >= this.end;
  }
}

const nameOf = (name) => String(name ?? 'trace').replace(/^.*[\\/]/, '').replace(/(\.trace|\.rep|\.txt)?(\.gz)?$/i, '') || 'trace';

/**
 * Parses a trace in lmtrace v1 or CS:APP format (detected from the first
 * line that is not blank or a comment).
 * @param input   Uint8Array | ArrayBuffer | string (not gzip: see loadTrace)
 * @param options { name }
 * @throws TraceError with the line number
 */
export function parseTrace(input, { name } = {}) {
  const bytes = typeof input === 'string' ? utf8.encode(input)
    : input instanceof Uint8Array ? input : new Uint8Array(input);
  if (isGzip(bytes)) throw new TraceError('the file is gzip-compressed: use loadTrace');
  const L = new Lines(bytes);
  const comments = [];
  // The first meaningful line decides the format.
  while (L.next()) {
    if (L.blank()) continue;
    if (bytes[L.start] === 35) {
      comments.push(L.text().replace(/^#\s?/, ''));
      continue;
    }
    const first = L.text().trim();
    if (/^lmtrace\b/.test(first)) return parseLmtrace(L, first, comments, nameOf(name));
    if (/^([0-9]|[arf][ \t])/.test(first)) return parseCsapp(L, comments, nameOf(name));
    throw new TraceError(`not a trace: ${L.quoted()} is neither an lmtrace v1 header ("lmtrace v1 ids <N> ops <M>") `
      + 'nor a CS:APP line ("a <id> <bytes>", "r <id> <bytes>", "f <id>" or a header number)', L.line);
  }
  throw new TraceError('the file is empty: no operations');
}

function parseLmtrace(L, header, comments, name) {
  const m = /^lmtrace v1 ids (\d+) ops (\d+)$/.exec(header.replace(/\s+/g, ' '));
  if (!m) throw new TraceError(`bad header ${quote(header)}: expected "lmtrace v1 ids <N> ops <M>"`, L.line);
  const ids = Number(m[1]);
  const count = Number(m[2]);
  if (ids > 2 ** 28) throw new TraceError(`ids ${ids} is too large`, L.line);
  const cols = new Columns(Math.min(count, 1 << 22));
  const live = new Uint8Array(ids);
  const b = L.b;
  while (L.next()) {
    if (L.start === L.end || b[L.start] === 35) {
      if (b[L.start] === 35) comments.push(L.text().replace(/^#\s?/, ''));
      continue;
    }
    const op = b[L.start];
    if (!OPS.has(op) || (L.end > L.start + 1 && b[L.start + 1] !== 32)) {
      if (L.blank()) continue;
      throw new TraceError(`unknown operation ${L.quoted()} (expected a, c, m, r or f)`, L.line);
    }
    L.at = L.start + 1;
    const id = L.number();
    if (id < 0) throw new TraceError(`${L.quoted()}: the id must be a number`, L.line);
    if (id >= ids) throw new TraceError(`id ${id} is not below the header's ids ${ids}`, L.line);
    let size = 0;
    let align = 0;
    if (op === 109) {
      align = L.number();
      if (align < 1 || align > 2 ** 31 || (align & (align - 1)) !== 0) {
        throw new TraceError(`${L.quoted()}: the alignment must be a power of two`, L.line);
      }
    }
    if (op !== 102) {
      size = L.number();
      if (size < 0 || size > MAX_U32) throw new TraceError(`${L.quoted()}: the size must be a number below 2^32`, L.line);
    }
    if (!L.atEnd()) throw new TraceError(`${L.quoted()}: unexpected text after the operation`, L.line);
    if (op === 114 || op === 102) {
      if (!live[id]) throw new TraceError(`${String.fromCharCode(op)} of id ${id}, which is not live`, L.line);
      if (op === 102) live[id] = 0;
    } else {
      if (live[id]) throw new TraceError(`${String.fromCharCode(op)} of id ${id}, which is still live`, L.line);
      live[id] = 1;
    }
    cols.push(op, id, size, align);
  }
  if (cols.n !== count) throw new TraceError(`the header says ${count} operations, the file has ${cols.n}`);
  return { name, format: 'lmtrace', ids, count, ...cols.done(), comments, notes: [] };
}

function parseCsapp(L, comments, name) {
  const b = L.b;
  const notes = [];
  // Optional header: four numbers on their own lines (suggested heap
  // size, number of ids, number of operations, weight).
  const header = [];
  let have = true; // L is on a line that is neither blank nor a comment
  while (have && header.length < 4) {
    L.at = L.start;
    const v = L.number();
    if (v < 0 || !L.atEnd()) break;
    header.push(v);
    have = nextMeaningful(L, comments);
  }
  if (header.length && header.length !== 4) {
    throw new TraceError(`a CS:APP header has four numbers (heap size, ids, ops, weight); found ${header.length}`, L.line);
  }
  const cols = new Columns(header[2] ?? 1024);
  let live = new Uint8Array(Math.max(16, header[1] ?? 16));
  let ids = 0;
  for (; have; have = L.next()) {
    if (L.blank()) continue;
    if (b[L.start] === 35) {
      comments.push(L.text().replace(/^#\s?/, ''));
      continue;
    }
    const op = b[L.start];
    if (!(op === 97 || op === 114 || op === 102) || (L.end > L.start + 1 && b[L.start + 1] !== 32)) {
      throw new TraceError(`unknown operation ${L.quoted()} (a CS:APP trace has a, r and f)`, L.line);
    }
    L.at = L.start + 1;
    const id = L.number();
    if (id < 0 || id >= 2 ** 28) throw new TraceError(`${L.quoted()}: the id must be a number`, L.line);
    let size = 0;
    if (op !== 102) {
      size = L.number();
      if (size < 0 || size > MAX_U32) throw new TraceError(`${L.quoted()}: the size must be a number below 2^32`, L.line);
    }
    if (!L.atEnd()) throw new TraceError(`${L.quoted()}: unexpected text after the operation`, L.line);
    if (id >= live.length) {
      const bigger = new Uint8Array(Math.max(id + 1, live.length * 2));
      bigger.set(live);
      live = bigger;
    }
    if (id >= ids) ids = id + 1;
    if (op === 97) {
      if (live[id]) throw new TraceError(`a of id ${id}, which is still live`, L.line);
      live[id] = 1;
      cols.push(97, id, size, 0);
    } else if (op === 114) {
      if (!live[id]) {
        notes.push(`line ${L.line}: r of id ${id}, which is not live: replayed as malloc`);
        live[id] = 1;
        cols.push(97, id, size, 0);
      } else if (size === 0) {
        notes.push(`line ${L.line}: r ${id} 0: replayed as free`);
        live[id] = 0;
        cols.push(102, id, 0, 0);
      } else {
        cols.push(114, id, size, 0);
      }
    } else {
      if (!live[id]) throw new TraceError(`f of id ${id}, which is not live`, L.line);
      live[id] = 0;
      cols.push(102, id, 0, 0);
    }
  }
  if (!cols.n) throw new TraceError('no operations');
  if (header.length) {
    if (header[2] !== cols.n) notes.push(`the header says ${header[2]} operations, the file has ${cols.n}`);
    if (header[1] >= ids) ids = header[1];
  }
  if (notes.length > 20) notes.splice(20, notes.length - 20, `... and ${notes.length - 20} more`);
  return { name, format: 'csapp', ids, count: cols.n, ...cols.done(), comments, notes };
}

// Advances to the next line that is neither blank nor a comment.
function nextMeaningful(L, comments) {
  while (L.next()) {
    if (L.blank()) continue;
    if (L.b[L.start] === 35) {
      comments.push(L.text().replace(/^#\s?/, ''));
      continue;
    }
    return true;
  }
  return false;
}

/** One operation as its trace line ("a 12 48"). */
export function opLine(trace, i) {
  const op = String.fromCharCode(trace.op[i]);
  const id = trace.id[i];
  switch (op) {
    case 'f': return `f ${id}`;
    case 'm': return `m ${id} ${trace.align[i]} ${trace.size[i]}`;
    default: return `${op} ${id} ${trace.size[i]}`;
  }
}

/** One operation as the C call it stands for. */
export function opCode(trace, i) {
  const id = trace.id[i];
  const n = trace.size[i];
  switch (trace.op[i]) {
    case 97: return `p[${id}] = malloc(${n});`;
    case 99: return `p[${id}] = calloc(1, ${n});`;
    case 109: return `p[${id}] = aligned_alloc(${trace.align[i]}, ${n});`;
    case 114: return `p[${id}] = realloc(p[${id}], ${n});`;
    default: return `free(p[${id}]);`;
  }
}

/** lmtrace v1 text of operations [0, count) of a trace (or all). */
export function writeTrace(trace, { count = trace.count, comments = trace.comments ?? [] } = {}) {
  const n = Math.min(count, trace.count);
  // ids: one past the largest id used in the prefix (the table a replayer needs).
  let ids = 0;
  for (let i = 0; i < n; i++) if (trace.id[i] >= ids) ids = trace.id[i] + 1;
  const out = [`lmtrace v1 ids ${ids} ops ${n}`];
  for (const c of comments) out.push(`# ${c}`);
  for (let i = 0; i < n; i++) out.push(opLine(trace, i));
  return `${out.join('\n')}\n`;
}

/** The first `count` operations of a trace, as a trace (ids shrunk to what they use). */
export function prefixOf(trace, count) {
  const n = Math.max(0, Math.min(count, trace.count));
  let ids = 0;
  for (let i = 0; i < n; i++) if (trace.id[i] >= ids) ids = trace.id[i] + 1;
  return {
    ...trace, ids, count: n,
    op: trace.op.slice(0, n), id: trace.id.slice(0, n), size: trace.size.slice(0, n), align: trace.align.slice(0, n),
  };
}

/**
 * A trace from a log of successful heap calls, each
 * { fn: 'malloc'|'calloc'|'realloc'|'alignedAlloc'|'free', args, result }.
 * Ids are given out as a program's pointer table would: an allocation
 * takes the lowest free slot, free releases it, realloc keeps it.
 * Calls on pointers the log never saw allocated are skipped (counted in notes).
 */
export function traceFromCalls(calls, { name = 'session', comments = [] } = {}) {
  const cols = new Columns(calls.length + 1);
  const idOf = new Map(); // live address -> id
  const freeIds = []; // released slots (min-heap not needed: small sessions; kept sorted)
  let ids = 0;
  const notes = [];
  const take = () => {
    if (freeIds.length) return freeIds.shift();
    return ids++;
  };
  const release = (id) => {
    let k = 0;
    while (k < freeIds.length && freeIds[k] < id) k++;
    freeIds.splice(k, 0, id);
  };
  for (const c of calls) {
    const [a0, a1] = c.args;
    switch (c.fn) {
      case 'malloc':
      case 'tryMalloc':
      case 'calloc':
      case 'alignedAlloc': {
        if (!c.result) break;
        const id = take();
        idOf.set(c.result, id);
        if (c.fn === 'calloc') cols.push(99, id, a0 * a1, 0);
        else if (c.fn === 'alignedAlloc') cols.push(109, id, a1, a0);
        else cols.push(97, id, a0, 0);
        break;
      }
      case 'allocString': {
        const id = take();
        idOf.set(c.result, id);
        cols.push(97, id, utf8.encode(String(a0)).length + 1, 0);
        break;
      }
      case 'realloc': {
        if (!a0) {
          if (!c.result) break;
          const id = take();
          idOf.set(c.result, id);
          cols.push(97, id, a1, 0);
          break;
        }
        const id = idOf.get(a0);
        if (id === undefined) {
          notes.push(`realloc of ${a0}, never allocated in this log: skipped`);
          break;
        }
        idOf.delete(a0);
        if (a1 === 0) {
          cols.push(102, id, 0, 0);
          release(id);
        } else {
          idOf.set(c.result, id);
          cols.push(114, id, a1, 0);
        }
        break;
      }
      case 'free': {
        if (!a0) break;
        const id = idOf.get(a0);
        if (id === undefined) {
          notes.push(`free of ${a0}, never allocated in this log: skipped`);
          break;
        }
        idOf.delete(a0);
        cols.push(102, id, 0, 0);
        release(id);
        break;
      }
      default:
        break;
    }
  }
  return { name, format: 'lmtrace', ids, count: cols.n, ...cols.done(), comments, notes };
}

const LOGGED = new Set(['malloc', 'tryMalloc', 'calloc', 'realloc', 'alignedAlloc', 'free', 'allocString']);

/**
 * Wraps a heap (wasm/lmalloc.mjs) so that every allocation call that
 * returns normally is appended to `log` as { fn, args, result }; calls that
 * throw (a refused double free, ...) are not. Everything else is passed
 * through, bound to the real heap (its private fields need the real receiver).
 */
export function recordingHeap(heap, log) {
  return new Proxy(heap, {
    get(target, key) {
      const v = target[key];
      if (typeof v !== 'function') return v;
      if (!LOGGED.has(key)) return v.bind(target);
      return (...args) => {
        const result = v.apply(target, args);
        log.push({ fn: key, args, result });
        return result;
      };
    },
  });
}
