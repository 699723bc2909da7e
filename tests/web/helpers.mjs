// Shared by the playground's tests (tests/js/web-*.test.mjs): the module
// the page loads (web/session.mjs WASM_FILE: lmalloc-heaps.wasm, release
// core with heaps and arenas), a fresh Session on it, where screenshots go,
// and browserSuite: the page server and headless Chromium of an end-to-end
// test file.
// Builds nothing: `npm test` (scripts/test.sh) builds the wasi preset, which
// writes wasm/dist/, before the node tests run.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startServer } from '../../scripts/serve.mjs';

import { createHeap } from '../../wasm/lmalloc.mjs';
import { Session, WASM_FILE } from '../../web/session.mjs';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const playgroundWasm = `${root}wasm/dist/${WASM_FILE}`;
const artifacts = `${root}build/test-artifacts/web`;

let compiled = null;

/** The compiled playground module (cached). */
export async function loadModule() {
  if (!existsSync(playgroundWasm)) {
    throw new Error(`${playgroundWasm} is missing: build it with \`cmake --preset wasi && cmake --build --preset wasi\` (npm test does)`);
  }
  compiled ??= await WebAssembly.compile(readFileSync(playgroundWasm));
  return compiled;
}

/** A Session on a fresh heap, as the page makes it. */
export async function newSession(heapOptions = {}) {
  return Session.create({ createHeap, module: await loadModule(), heapOptions });
}

/** Headless Chromium for the end-to-end tests (TOOLCHAIN.md trap 5):
 * Debian's browser through npm playwright-core. `skip` says why a test
 * cannot run here (false when it can). */
const CHROMIUM = process.env.LM_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
async function chromiumOrSkip() {
  let chromium = null;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { skip: 'npm playwright-core is not installed (scripts/setup.sh installs it)' };
  }
  if (!existsSync(CHROMIUM)) return { skip: `${CHROMIUM} is missing (scripts/setup.sh installs chromium)` };
  return { chromium, skip: false };
}

/** The artifacts folder (created). */
export function artifactDir() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}

/**
 * The browser side of one end-to-end test file: registers node:test
 * before/after hooks that start the page server (scripts/serve.mjs, on a
 * free port) and headless Chromium, after `setUp` (if given), and stop
 * them at the end. Returns { skip, shots, url, browser, open }, where
 * url and browser are set once `before` has run, and
 *   open(t, path, ready, contextOptions) is a fresh 1366x768 page at
 *   url + path (default '': the playground) once `ready` (a function
 *   evaluated in the page; default: the playground's heap is loaded)
 *   resolves; an error the page throws or logs fails test t.
 */
export async function browserSuite({ setUp } = {}) {
  const { chromium, skip } = await chromiumOrSkip();
  const suite = { skip, shots: skip ? null : artifactDir(), url: null, browser: null };
  let server = null;
  before(async () => {
    if (skip) return;
    await setUp?.();
    ({ server, url: suite.url } = await startServer({ port: 0, host: '127.0.0.1' }));
    suite.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });
  after(async () => {
    await suite.browser?.close();
    server?.closeAllConnections?.();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  });
  suite.open = async (t, path = '', ready = () => window.__lmalloc.ready, contextOptions = {}) => {
    const context = await suite.browser.newContext({ viewport: { width: 1366, height: 768 }, ...contextOptions });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    t.after(async () => {
      await context.close();
      assert.deepEqual(errors, [], 'no errors in the page');
    });
    await page.goto(`${suite.url}${path}`);
    await page.evaluate(ready);
    return page;
  };
  return suite;
}
