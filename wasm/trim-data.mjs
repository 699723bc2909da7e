// Drops the zero bytes at the end of each active data segment of a linked
// lmalloc module, in place:
//
//   node wasm/trim-data.mjs build/wasi/wasm/lmalloc-heaps.wasm
//
// Why: the modules import their memory and are linked position-independent
// (-pie, so lmalloc.mjs can place them after a host's data), and then
// wasm-ld writes zero-initialised static data (.bss) into the data segment
// as literal zeros, since it cannot know the imported memory is zero
// (WebAssembly/tool-conventions#33). For the heaps modules that is the
// page pool's 64 KiB owner table: two thirds of the file. wasm-opt's
// --zero-filled-memory does not trim a segment whose offset is a global
// (__memory_base), as these are.
//
// Trimming is safe because lmalloc.mjs always instantiates a module in
// memory that is zero where its data goes: a new WebAssembly.Memory, or
// pages it has just grown in the host's memory (memory.grow gives zeroed
// pages). The static data size lmalloc.mjs reserves comes from the
// dylink.0 section, which is untouched. Passive segments are left alone
// (memory.init copies a segment's exact length).
//
// Prints what it did; exits 1 on a module it cannot parse. trimData() is
// the same as a function (tested by tests/js/module.test.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DATA_SECTION = 11;

function fail(message) {
  throw new Error(message);
}

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

// A reader over bytes: unsigned and signed LEB128.
function reader(bytes, pos = 0) {
  return {
    get pos() { return pos; },
    byte() {
      if (pos >= bytes.length) fail('unexpected end of module');
      return bytes[pos++];
    },
    uleb() {
      let v = 0;
      let shift = 0;
      for (;;) {
        const b = this.byte();
        v += (b & 0x7f) * 2 ** shift;
        if (!(b & 0x80)) return v;
        shift += 7;
      }
    },
    skipLeb() {
      while (this.byte() & 0x80);
    },
    skip(n) {
      if (pos + n > bytes.length) fail('unexpected end of module');
      pos += n;
    },
  };
}

// The data section's payload with every active segment's trailing zeros
// dropped; returns [payload, bytes dropped].
function trimSegments(payload) {
  const r = reader(payload);
  const count = r.uleb();
  const out = [...uleb(count)];
  let dropped = 0;
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    const flags = r.uleb();
    if (flags === 2) r.uleb(); // memory index
    if (flags === 0 || flags === 2) {
      // The offset: i32.const n or global.get g, then end.
      for (let op = r.byte(); op !== 0x0b; op = r.byte()) {
        if (op === 0x41 || op === 0x23) r.skipLeb();
        else fail(`segment ${i}: unexpected opcode 0x${op.toString(16)} in its offset`);
      }
    } else if (flags !== 1) {
      fail(`segment ${i}: unknown flags ${flags}`);
    }
    const head = payload.subarray(start, r.pos);
    const size = r.uleb();
    const data = payload.subarray(r.pos, r.pos + size);
    r.skip(size);
    let end = size;
    if (flags !== 1) while (end > 0 && data[end - 1] === 0) end--;
    dropped += size - end;
    out.push(...head, ...uleb(end), ...data.subarray(0, end));
  }
  if (r.pos !== payload.length) fail('data section has bytes after its segments');
  return [Uint8Array.from(out), dropped];
}

// The module `bytes` with its active data segments' trailing zeros
// dropped: { bytes, dropped }. Throws on a module it cannot parse.
export function trimData(bytes) {
  if (bytes.length < 8 || Buffer.from(bytes.subarray(0, 4)).readUInt32LE(0) !== 0x6d736100) {
    fail('not a wasm module');
  }
  const r = reader(bytes, 8);
  const parts = [bytes.subarray(0, 8)];
  let dropped = 0;
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.uleb();
    const body = bytes.subarray(r.pos, r.pos + size);
    r.skip(size);
    if (id === DATA_SECTION) {
      const [payload, n] = trimSegments(body);
      dropped += n;
      parts.push(Uint8Array.of(id, ...uleb(payload.length)), payload);
    } else {
      parts.push(bytes.subarray(start, r.pos));
    }
  }
  return { bytes: Buffer.concat(parts), dropped };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [path] = process.argv.slice(2);
  try {
    if (!path) fail('usage: node wasm/trim-data.mjs module.wasm');
    const before = readFileSync(path);
    const { bytes, dropped } = trimData(before);
    if (!WebAssembly.validate(bytes)) fail('the trimmed module does not validate');
    writeFileSync(path, bytes);
    console.log(`trim-data: ${path}: ${before.length} -> ${bytes.length} bytes ` +
      `(${dropped} trailing zero bytes of data)`);
  } catch (e) {
    process.stderr.write(`trim-data: ${path}: ${e.message}\n`);
    process.exit(1);
  }
}
