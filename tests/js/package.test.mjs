// The npm package: `npm pack` ships the module, its types and the four
// wasm builds (release, debug, and each with heaps), and the tarball installed into another directory works through
// `import { createHeap } from 'lmalloc'`. Also: the TypeScript declarations
// name exactly what the module exports and what a heap has.
// (npm pack runs with --ignore-scripts: prepack would build, and tests
// build nothing; the wasm files come from the wasi preset build.)

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import * as lmalloc from '../../wasm/lmalloc.mjs';
import { root } from './helpers.mjs';

const npm = (args, cwd) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack + npm install <tgz> in another directory: import works', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'lmalloc-pack-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));

  const [packed] = JSON.parse(
    npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root),
  );
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    'README.md',
    'package.json',
    'wasm/dist/lmalloc-debug.wasm',
    'wasm/dist/lmalloc-heaps-debug.wasm',
    'wasm/dist/lmalloc-heaps.wasm',
    'wasm/dist/lmalloc.wasm',
    'wasm/lmalloc.d.ts',
    'wasm/lmalloc.mjs',
  ]);

  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(tmp, packed.filename)], app);
  writeFileSync(
    join(app, 'main.mjs'),
    `import { createHeap, DoubleFreeError } from 'lmalloc';
for (const debug of [false, true]) {
  const heap = await createHeap({ debug });
  heap.malloc(16); // keeps the slab alive, so release sees the double free too
  const p = heap.allocString('installed');
  const text = heap.readString(p);
  heap.free(p);
  let error = '';
  try { heap.free(p); } catch (e) { error = e instanceof DoubleFreeError ? e.name : String(e); }
  console.log(JSON.stringify({ debug, text, error, check: heap.check() }));
}
`,
  );
  const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' });
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    { debug: false, text: 'installed', error: 'DoubleFreeError', check: 0 },
    { debug: true, text: 'installed', error: 'DoubleFreeError', check: 0 },
  ]);
});

test('package.json points at the module and its types', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.type, 'module');
  assert.deepEqual(pkg.exports['.'], { types: './wasm/lmalloc.d.ts', import: './wasm/lmalloc.mjs' });
  assert.equal(pkg.types, './wasm/lmalloc.d.ts');
});

test('lmalloc.d.ts declares exactly what the module exports and a heap has', async () => {
  const dts = readFileSync(join(root, 'wasm/lmalloc.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export (?:class|function) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(lmalloc).sort());

  const body = dts.slice(dts.indexOf('export interface Heap {'));
  const members = body.slice(0, body.indexOf('\n}\n'));
  const methods = [...members.matchAll(/^ {2}(\w+)(?:<\w+>)?\(/gm)].map((m) => m[1]).sort();
  const getters = [...members.matchAll(/^ {2}readonly (\w+):/gm)].map((m) => m[1]).sort();

  const heap = await lmalloc.createHeap();
  const proto = Object.getPrototypeOf(heap);
  const names = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor');
  const isGetter = (n) => typeof Object.getOwnPropertyDescriptor(proto, n).get === 'function';
  assert.deepEqual(names.filter((n) => !isGetter(n)).sort(), methods);
  assert.deepEqual(names.filter(isGetter).sort(), getters);
});
