// Where the model bundled with thrifty lives: models/default in the package root (found by walking
// up from this module to thrifty's package.json, so it works from the checkout and when installed).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the model bundled with thrifty: models/default in the package root. */
export async function bundledModelDir(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'thrifty') return join(dir, 'models', 'default');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('the bundled model was not found: no thrifty package.json above this module');
    dir = parent;
  }
}
