// Reading the wasm binary format, for the repository's scripts that look
// inside a linked module: tests/wasi/wasm-names.mjs (the name section) and
// wasm/trim-data.mjs (the data section). wasm/lmalloc.mjs keeps its own
// small reader: it ships in the npm package, this file does not.

// Unsigned LEB128 at bytes[pos]: [value, next position]. Also skips a
// signed one (the same bytes; its value is then meaningless).
export function readU32(bytes, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length) throw new Error('truncated LEB128');
    const b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 35) throw new Error('LEB128 too long');
  }
}

// Unsigned LEB128 encoding of n, as a Uint8Array.
export function encodeU32(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Uint8Array.from(out);
}

// The sections of a module (Uint8Array/Buffer of a .wasm file), in order:
// { id, start (of the section, its id byte), body (its payload), end }.
export function* sections(bytes) {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((m, i) => bytes[i] !== m)) {
    throw new Error('not a wasm module');
  }
  let pos = 8;
  while (pos < bytes.length) {
    const start = pos;
    const id = bytes[pos++];
    let size;
    [size, pos] = readU32(bytes, pos);
    const end = pos + size;
    if (end > bytes.length) throw new Error('truncated section');
    yield { id, start, body: bytes.subarray(pos, end), end };
    pos = end;
  }
}
