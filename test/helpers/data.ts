// Tests that need a dataset skip, with one line saying why, when it is not on this machine.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

import { defaultDataDir } from '../../src/node/data-dir.js';

/** The absolute path of `relPath` under the data dir, or null after skipping `t` when absent. */
export function dataFileOrSkip(t: TestContext, relPath: string): string | null {
  const path = join(defaultDataDir(), relPath);
  if (existsSync(path)) return path;
  t.skip(`data file absent: ${path} (set THRIFTY_DATA_DIR)`);
  return null;
}
