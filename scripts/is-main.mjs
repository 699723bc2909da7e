// isMain(import.meta.url): whether the module at that URL is the script
// node was started with (not imported), links resolved on both sides.
// Shared by the repository's scripts that are also imported by tests.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isMain(moduleUrl) {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
