// examples/js/linked-list.mjs runs and frees everything it allocated.

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
