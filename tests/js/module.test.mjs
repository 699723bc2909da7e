// The wasm modules themselves: exactly the imports wasm/module.c declares
// (nothing from WASI), the exports lmalloc.mjs calls, and how the module
// can be given to createHeap (default path, bytes, URL, file path,
// WebAssembly.Module).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { createHeap } from '../../wasm/lmalloc.mjs';
import { trimData } from '../../wasm/trim-data.mjs';
import { BUILDS, built } from './helpers.mjs';

const EXPECTED_IMPORTS = [
  { module: 'env', name: 'memory', kind: 'memory' },
  { module: 'env', name: '__indirect_function_table', kind: 'table' },
  { module: 'env', name: '__stack_pointer', kind: 'global' },
  { module: 'env', name: '__memory_base', kind: 'global' },
  { module: 'env', name: '__table_base', kind: 'global' },
  { module: 'env', name: 'report', kind: 'function' },
  { module: 'env', name: 'walk_entry', kind: 'function' },
  { module: 'GOT.mem', name: '__heap_base', kind: 'global' },
];

const EXPECTED_EXPORTS = [
  '__wasm_apply_data_relocs',
  'lm_aligned_alloc',
  'lm_calloc',
  'lm_check',
  'lm_free',
  'lm_malloc',
  'lm_realloc',
  'lm_set_heap_limit',
  'lm_usable_size',
  'lmjs_debug',
  'lmjs_start',
  'lmjs_stats',
  'lmjs_walk',
];
// lmalloc-debug.wasm is the C debug library: leaks and the quarantine too.
const DEBUG_EXPORTS = ['lm_quarantine_flush', 'lm_quarantine_limit', 'lmjs_leaks'];

const sortImports = (list) =>
  [...list].sort((a, b) => `${a.module}.${a.name}`.localeCompare(`${b.module}.${b.name}`));

for (const build of BUILDS) {
  describe(`${build.name} module`, () => {
    const bytes = readFileSync(built[build.name]);
    const module = new WebAssembly.Module(bytes);

    test('imports exactly what module.c declares, nothing from WASI', () => {
      const imports = WebAssembly.Module.imports(module);
      assert.deepEqual(sortImports(imports), sortImports(EXPECTED_IMPORTS));
      assert.ok(!imports.some((i) => i.module.startsWith('wasi')), 'no WASI import');
    });

    test('exports what lmalloc.mjs calls', () => {
      const names = WebAssembly.Module.exports(module).map((e) => e.name).sort();
      const expected = [...EXPECTED_EXPORTS, ...(build.debug ? DEBUG_EXPORTS : [])].sort();
      assert.deepEqual(names, expected);
    });

    test('is position-independent (has a dylink.0 section)', () => {
      assert.equal(WebAssembly.Module.customSections(module, 'dylink.0').length, 1);
    });

    test('loads from bytes, a file URL, a path and a WebAssembly.Module', async () => {
      const sources = [bytes, pathToFileURL(built[build.name]), built[build.name], module];
      for (const source of sources) {
        const heap = await createHeap({ module: source, debug: build.debug });
        const p = heap.malloc(100);
        heap.write(p, [1, 2, 3]);
        assert.deepEqual([...heap.read(p, 3)], [1, 2, 3]);
        heap.free(p);
        assert.equal(heap.check(), 0);
      }
    });
  });
}

test('the default module is dist/lmalloc.wasm; debug: true picks lmalloc-debug.wasm', async () => {
  const release = await createHeap();
  const debug = await createHeap({ debug: true });
  assert.equal(release.debug, false);
  assert.equal(debug.debug, true);
  // Only the debug heap refuses an access outside every live block.
  const p = release.malloc(16);
  const q = debug.malloc(16);
  assert.equal(release.bytes(p + 64, 4).length, 4);
  // (A slab is cut from the end of the heap's free space: below it, in
  // that free space, lies no live block.)
  assert.throws(() => debug.bytes(q - 4096, 4), { name: 'InvalidPointerError' });
});

test('debug must match the module; left out, it follows the module', async () => {
  const releaseBytes = readFileSync(built.release);
  const debugBytes = readFileSync(built.debug);
  await assert.rejects(createHeap({ module: releaseBytes, debug: true }), /needs lmalloc-debug\.wasm/);
  await assert.rejects(createHeap({ module: debugBytes, debug: false }), /needs lmalloc\.wasm/);
  assert.equal((await createHeap({ module: debugBytes })).debug, true);
  assert.equal((await createHeap({ module: releaseBytes })).debug, false);
});

test('checks: true tracks live blocks with the release module too', async () => {
  const checked = await createHeap({ checks: true });
  assert.equal(checked.debug, false);
  const p = checked.malloc(16);
  assert.throws(() => checked.bytes(p - 4096, 4), { name: 'InvalidPointerError' });
  checked.free(p);
  assert.throws(() => checked.read(p, 4), { name: 'UseAfterFreeError' });
  assert.throws(() => checked.free(p + 4), { name: 'InvalidPointerError' });
  assert.equal(checked.check(), 0);
  // And checks: false turns them off in the debug module.
  const unchecked = await createHeap({ debug: true, checks: false });
  const q = unchecked.malloc(16);
  assert.equal(unchecked.bytes(q + 64, 4).length, 4);
  await assert.rejects(createHeap({ checks: 1 }), /checks must be true or false/);
});

test('options: a misspelt or mistyped option is an error, not ignored; null means none', async () => {
  await assert.rejects(createHeap({ maximumPage: 4 }),
    { name: 'TypeError', message: /createHeap: unknown option 'maximumPage' \(known: initialPages, maximumPages/ });
  await assert.rejects(createHeap({ debug: 'yes' }), /createHeap: debug must be true or false, got "yes"/);
  await assert.rejects(createHeap({ heaps: 1 }), /createHeap: heaps must be true or false, got 1/);
  await assert.rejects(createHeap(7), /createHeap: options must be an object, got 7/);
  await assert.rejects(createHeap([]), /createHeap: options must be an object/);
  const heap = await createHeap(null);
  assert.equal(heap.check(), 0);
  const heaps = await createHeap({ heaps: true });
  assert.throws(() => heaps.createHeap({ byte: 8192 }), /createHeap: unknown option 'byte' \(known: bytes\)/);
  assert.throws(() => heaps.createArena({ chunk: 1 }), /createArena: unknown option 'chunk'/);
  const child = heaps.createHeap({ bytes: 8192 });
  const arena = heaps.createArena(null);
  assert.equal(heaps.check(), 0);
  arena.destroy();
  child.destroy();
});

test('heap.layout says where the static data and the stack are, in a memory of its own or a host\'s', async () => {
  const own = await createHeap();
  const { dataStart, dataEnd, stackBase, stackTop } = own.layout;
  assert.ok(dataStart >= 1024 && dataEnd > dataStart && stackBase === dataEnd, JSON.stringify(own.layout));
  assert.equal(stackTop - stackBase, 16384);
  const p = own.malloc(100);
  assert.ok(p >= stackTop, 'the heap lies above the stack');
  const memory = new WebAssembly.Memory({ initial: 3 });
  const hosted = await createHeap({ memory });
  assert.ok(hosted.layout.dataStart >= 3 * 65536, 'only pages it grew are lmalloc\'s');
  assert.equal(hosted.layout.dataEnd - hosted.layout.dataStart, dataEnd - dataStart);
});

test('heap keys are random: the same operations mask a free block\'s footer differently', async () => {
  const keyOf = async () => {
    const heap = await createHeap();
    const a = heap.malloc(1000);
    heap.malloc(1000); // keeps a's block off the top
    heap.free(a);
    const dv = new DataView(heap.memory.buffer);
    const size = dv.getUint32(a - 4, true) & ~15;
    return (dv.getUint32(a - 4 + size - 4, true) ^ size) >>> 0; // the footer is size ^ key
  };
  const keys = [await keyOf(), await keyOf(), await keyOf()];
  assert.equal(new Set(keys).size, 3, `keys ${keys.map((k) => k.toString(16))}`);
});

test('a module that cannot be found fails with the build command in the message', async () => {
  await assert.rejects(createHeap({ module: '/nonexistent/lmalloc.wasm' }), /cmake --preset wasi/);
});

test('a wasm module that is not lmalloc is refused', async () => {
  // (module) : the smallest valid module.
  const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  await assert.rejects(createHeap({ module: empty }), /not lmalloc\.wasm/);
});

test('each heap is independent', async () => {
  const a = await createHeap();
  const b = await createHeap();
  const p = a.malloc(32);
  a.write(p, [42]);
  assert.equal(b.stats().usedBlocks, 0);
  assert.notEqual(a.memory, b.memory);
  a.free(p);
});

test('every built module carries no zeros at the end of its data (trim-data.mjs ran after the link)', () => {
  for (const path of Object.values(built)) assert.equal(trimData(readFileSync(path)).dropped, 0, path);
});

test('trimData drops the trailing zeros of active data segments only, and memory reads the same', async () => {
  const str = (t) => [t.length, ...Buffer.from(t)];
  const section = (id, payload) => [id, payload.length, ...payload];
  const module = Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(2, [1, ...str('env'), ...str('memory'), 0x02, 0x00, 0x01]), // imports a memory
    ...section(12, [2]), // two data segments
    ...section(11, [
      2,
      0x00, 0x41, 16, 0x0b, 5, 0x61, 0x62, 0, 0, 0, // active at 16: "ab\0\0\0"
      0x01, 3, 0x63, 0, 0, // passive: "c\0\0", kept whole
    ]),
  ]);
  const { bytes, dropped } = trimData(module);
  assert.equal(dropped, 3);
  assert.equal(bytes.length, module.length - 3);
  assert.ok(WebAssembly.validate(bytes));
  assert.equal(trimData(bytes).dropped, 0, 'a second pass drops nothing');
  const memoryAfter = async (b) => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    await WebAssembly.instantiate(b, { env: { memory } });
    return [...new Uint8Array(memory.buffer, 16, 5)];
  };
  assert.deepEqual(await memoryAfter(bytes), await memoryAfter(module));
  assert.deepEqual(await memoryAfter(bytes), [0x61, 0x62, 0, 0, 0]);
  assert.throws(() => trimData(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])), /not a wasm module/);
});
