// Where datasets live. Kept out of the repository: `../shared/data` beside the repo root, or
// THRIFTY_DATA_DIR.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this module is compiled to dist/src/node/, three levels below it. */
export function repoRoot(): string {
  return fileURLToPath(new URL('../../../', import.meta.url));
}

export function defaultDataDir(): string {
  const fromEnv = process.env['THRIFTY_DATA_DIR'];
  return fromEnv ? resolve(fromEnv) : resolve(repoRoot(), '../shared/data');
}
