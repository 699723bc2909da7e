// examples/js/linked-list.mjs runs and frees everything it allocated;
// examples/js/debug-mistakes.mjs shows what the debug build reports.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { root } from './helpers.mjs';

test('examples/js/linked-list.mjs builds, reads back and frees its list', () => {
  const out = execFileSync(process.execPath, [join(root, 'examples/js/linked-list.mjs')], {
    encoding: 'utf8',
  });
  assert.match(out, /read 2000 records, first #1999 Käthe #1999, scores sum to 2998500/);
  assert.match(out, /heap\.check\(\) = 0, used blocks 0\s*$/);
});

test('examples/js/debug-mistakes.mjs: each mistake is named with its sequence numbers', () => {
  const out = execFileSync(process.execPath, [join(root, 'examples/js/debug-mistakes.mjs')], {
    encoding: 'utf8',
  });
  assert.match(out, /^OverflowError: free\(0x[0-9a-f]+\): overflow \(block of 5 bytes, allocation #1, byte \+5\)/m);
  assert.match(out, /^check\(\): use after free at \+8 of the block of 24 bytes \(allocation #3, freed #4\)/m);
  assert.match(out, /^DoubleFreeError: .*\(block of 100 bytes, allocation #5, freed #6\)/m);
  assert.match(out, /^leak: 48 bytes at 0x[0-9a-f]+, allocation #7$/m);
  assert.match(out, /heap\.check\(\) = 0\s*$/);
});
