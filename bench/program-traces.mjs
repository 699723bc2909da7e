// The real-program traces of bench/traces/*.trace.gz, decompressed into
// build/bench/traces/ when missing or older than their .gz: what run.mjs
// and callgrind.mjs replay.
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));

// Whether file a is newer than file b, or b is missing.
export const newer = (a, b) => !existsSync(b) || statSync(a).mtimeMs > statSync(b).mtimeMs;

// [{name, path}] in name order, each trace decompressed if stale.
export async function programTraces() {
  const srcDir = join(root, 'bench', 'traces');
  const outDir = join(root, 'build', 'bench', 'traces');
  mkdirSync(outDir, { recursive: true });
  const gz = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => f.endsWith('.trace.gz')).sort() : [];
  const list = [];
  for (const f of gz) {
    const name = basename(f, '.trace.gz');
    const src = join(srcDir, f);
    const path = join(outDir, `${name}.trace`);
    if (newer(src, path)) {
      console.error(`decompress ${relative(root, src)}`);
      await pipeline(createReadStream(src), createGunzip(), createWriteStream(`${path}.tmp`));
      renameSync(`${path}.tmp`, path);
    }
    list.push({ name, path });
  }
  return list;
}
