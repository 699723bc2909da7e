// Shared by the playground's tests (tests/js/web-*.test.mjs): the debug
// module the page loads, a fresh Session on it, and where screenshots go.
// Builds nothing: `npm test` (scripts/test.sh) builds the wasi preset, which
// writes wasm/dist/, before the node tests run.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { createHeap } from '../../wasm/lmalloc.mjs';
import { Session, WASM_FILE } from '../../web/session.mjs';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const debugWasm = `${root}wasm/dist/${WASM_FILE}`;
export const artifacts = `${root}build/test-artifacts/web`;

let compiled = null;

/** The compiled lmalloc-debug.wasm (cached). */
export async function loadModule() {
  if (!existsSync(debugWasm)) {
    throw new Error(`${debugWasm} is missing: build it with \`cmake --preset wasi && cmake --build --preset wasi\` (npm test does)`);
  }
  compiled ??= await WebAssembly.compile(readFileSync(debugWasm));
  return compiled;
}

/** A Session on a fresh debug heap, as the page makes it. */
export async function newSession(heapOptions = {}) {
  return Session.create({ createHeap, module: await loadModule(), heapOptions });
}

/** The artifacts folder (created). */
export function artifactDir() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}
