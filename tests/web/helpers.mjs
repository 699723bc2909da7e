// Shared by the playground's tests (tests/js/web-*.test.mjs): the module
// the page loads (web/session.mjs WASM_FILE: lmalloc-heaps.wasm, release
// core with heaps and arenas), a fresh Session on it, and where screenshots go.
// Builds nothing: `npm test` (scripts/test.sh) builds the wasi preset, which
// writes wasm/dist/, before the node tests run.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { createHeap } from '../../wasm/lmalloc.mjs';
import { Session, WASM_FILE } from '../../web/session.mjs';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const playgroundWasm = `${root}wasm/dist/${WASM_FILE}`;
export const artifacts = `${root}build/test-artifacts/web`;

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
export const CHROMIUM = process.env.LM_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
export async function chromiumOrSkip() {
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
