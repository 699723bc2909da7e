// lmalloc.mjs in a browser: headless Chromium loads a page that imports
// /wasm/lmalloc.mjs (served with the default dist/ modules next to it), so
// the default URL, fetch, and the absence of any Node-only API on the
// browser path are all exercised. The page POSTs its results back to the
// test's server; then the test stops the browser it started. Skipped only
// when Chromium is not installed (scripts/setup.sh installs it);
// TOOLCHAIN.md trap 5 lists the flags.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { root } from './helpers.mjs';

const CHROMIUM = '/usr/bin/chromium';

const PAGE = `<!doctype html><meta charset="utf-8"><title>lmalloc</title>
<body><script type="module">
import { createHeap, DoubleFreeError, UseAfterFreeError } from '/wasm/lmalloc.mjs';
const results = {};
try {
  for (const debug of [false, true]) {
    const heap = await createHeap({ debug, initialPages: 1 });
    const grows = [];
    heap.onGrow((e) => grows.push(e.cause));
    const keep = heap.malloc(16);
    const s = heap.allocString('héllo from the browser');
    const big = heap.malloc(20 * 65536);
    heap.view(Float64Array, big, 4).set([1, 2, 3, 4]);
    const p = heap.malloc(1000);
    heap.free(p);
    let error = '';
    try { heap.free(p); } catch (e) { error = e instanceof DoubleFreeError ? 'DoubleFreeError' : e.name; }
    let uaf = '';
    try { heap.read(p, 4); uaf = 'none'; } catch (e) { uaf = e instanceof UseAfterFreeError ? 'UseAfterFreeError' : e.name; }
    results[debug ? 'debug' : 'release'] = {
      text: heap.readString(s),
      sum: [...heap.view(Float64Array, big, 4)].reduce((a, b) => a + b),
      grows, error, uaf, check: heap.check(), kinds: [...new Set(heap.blocks().map((b) => b.kind))].sort(),
    };
    heap.free(keep);
  }
  const memory = new WebAssembly.Memory({ initial: 2 });
  new Uint8Array(memory.buffer).fill(7);
  const shared = await createHeap({ memory });
  const q = shared.malloc(1000);
  memory.grow(1);
  const r = shared.malloc(100000);
  const host = new Uint8Array(memory.buffer, 0, 2 * 65536).every((b) => b === 7);
  results.host = { host, check: shared.check(), spans: shared.stats().spans, distinct: q !== r };
} catch (e) {
  results.error = String(e.stack || e);
}
await fetch('/result', { method: 'POST', body: JSON.stringify(results) });
</script>`;

// Serves the page and /wasm/*.mjs|.wasm; resolves `result` with the JSON
// the page POSTs to /result.
function serve() {
  const types = { '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
  let deliver;
  const result = new Promise((resolve) => (deliver = resolve));
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PAGE);
      return;
    }
    if (url.pathname === '/result' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.writeHead(204);
      res.end();
      deliver(JSON.parse(body));
      return;
    }
    const ext = url.pathname.slice(url.pathname.lastIndexOf('.'));
    if (!url.pathname.startsWith('/wasm/') || !types[ext] || url.pathname.includes('..')) {
      res.writeHead(404);
      res.end();
      return;
    }
    try {
      const body = await readFile(join(root, url.pathname));
      res.writeHead(200, { 'content-type': types[ext] });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, result })));
}

test('lmalloc.mjs works in headless Chromium', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async (t) => {
  const { server, result } = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'lmalloc-chromium-'));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    `--user-data-dir=${profile}`, url,
  ], { stdio: 'ignore', detached: true }); // its own process group, ended below
  let timer;
  let finished = false;
  const exited = new Promise((resolve, reject) => {
    browser.on('error', reject);
    browser.on('exit', (code) => {
      if (!finished) reject(new Error(`chromium exited (${code}) before the page reported`));
      resolve();
    });
  });
  t.after(async () => {
    finished = true;
    clearTimeout(timer);
    // The browser this test started, and its helper processes (its group).
    try {
      process.kill(-browser.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await Promise.race([exited.catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
    server.close();
    server.closeAllConnections();
    // Helpers may still be writing the profile for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        rmSync(profile, { recursive: true, force: true });
        break;
      } catch (e) {
        if (attempt === 20) {
          t.diagnostic(`could not remove ${profile}: ${e.message}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  });
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('no result from the page within 60 s')), 60000);
  });
  const results = await Promise.race([result, exited, timeout]);
  assert.equal(results.error, undefined, results.error);
  for (const build of ['release', 'debug']) {
    const r = results[build];
    assert.equal(r.text, 'héllo from the browser');
    assert.equal(r.sum, 10);
    assert.deepEqual(r.grows, ['malloc']);
    assert.equal(r.error, 'DoubleFreeError');
    assert.equal(r.uaf, build === 'debug' ? 'UseAfterFreeError' : 'none');
    assert.equal(r.check, 0);
    assert.deepEqual(r.kinds, ['block', 'object', 'slab']);
  }
  assert.deepEqual(results.host, { host: true, check: 0, spans: 2, distinct: true });
});
