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

import { isMain } from '../scripts/is-main.mjs';
import { encodeU32, readU32, sections } from '../scripts/wasm-binary.mjs';

const DATA_SECTION = 11;

// The data section's payload with every active segment's trailing zeros
// dropped; returns [payload, bytes dropped]. Built from slices (not by
// spreading bytes into an array, which overflows the call stack for a
// segment of a few hundred KiB).
function trimSegments(payload) {
  let [count, pos] = readU32(payload, 0);
  const out = [encodeU32(count)];
  let dropped = 0;
  for (let i = 0; i < count; i++) {
    const start = pos;
    let flags;
    [flags, pos] = readU32(payload, pos);
    if (flags === 2) [, pos] = readU32(payload, pos); // memory index
    if (flags === 0 || flags === 2) {
      // The offset: i32.const n or global.get g, then end.
      for (let op = payload[pos++]; op !== 0x0b; op = payload[pos++]) {
        if (op !== 0x41 && op !== 0x23) {
          throw new Error(`segment ${i}: unexpected opcode 0x${op?.toString(16)} in its offset`);
        }
        [, pos] = readU32(payload, pos);
      }
    } else if (flags !== 1) {
      throw new Error(`segment ${i}: unknown flags ${flags}`);
    }
    const head = payload.subarray(start, pos);
    let size;
    [size, pos] = readU32(payload, pos);
    if (pos + size > payload.length) throw new Error(`segment ${i}: truncated`);
    const data = payload.subarray(pos, pos + size);
    pos += size;
    let end = size;
    if (flags !== 1) while (end > 0 && data[end - 1] === 0) end--;
    dropped += size - end;
    out.push(head, encodeU32(end), data.subarray(0, end));
  }
  if (pos !== payload.length) throw new Error('data section has bytes after its segments');
  return [Buffer.concat(out), dropped];
}

// The module `bytes` with its active data segments' trailing zeros
// dropped: { bytes, dropped }. Throws on a module it cannot parse.
export function trimData(bytes) {
  const parts = [bytes.subarray(0, 8)];
  let dropped = 0;
  for (const { id, start, body, end } of sections(bytes)) {
    if (id === DATA_SECTION) {
      const [payload, n] = trimSegments(body);
      dropped += n;
      parts.push(Uint8Array.of(id), encodeU32(payload.length), payload);
    } else {
      parts.push(bytes.subarray(start, end));
    }
  }
  return { bytes: Buffer.concat(parts), dropped };
}

if (isMain(import.meta.url)) {
  const [path] = process.argv.slice(2);
  try {
    if (!path) throw new Error('usage: node wasm/trim-data.mjs module.wasm');
    const before = readFileSync(path);
    const { bytes, dropped } = trimData(before);
    if (!WebAssembly.validate(bytes)) throw new Error('the trimmed module does not validate');
    writeFileSync(path, bytes);
    console.log(`trim-data: ${path}: ${before.length} -> ${bytes.length} bytes ` +
      `(${dropped} trailing zero bytes of data)`);
  } catch (e) {
    process.stderr.write(`trim-data: ${path}: ${e.message}\n`);
    process.exit(1);
  }
}
