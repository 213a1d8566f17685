// Tests that need a dataset skip, with one line saying why, when it is not on this machine; in CI
// (THRIFTY_REQUIRE_DATA=1) they fail instead, so a skipped golden test never passes unnoticed.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

import { defaultDataDir } from '../../src/node/data-dir.js';

/** True when missing data must fail the test rather than skip it (set by .ci/run). */
export function dataRequired(): boolean {
  return process.env['THRIFTY_REQUIRE_DATA'] === '1';
}

/** Skips `t` with `reason`, or throws when THRIFTY_REQUIRE_DATA=1. */
export function skipForMissingData(t: TestContext, reason: string): void {
  if (dataRequired()) throw new Error(`${reason}; THRIFTY_REQUIRE_DATA=1 forbids skipping`);
  t.skip(reason);
}

/** The absolute path of `relPath` under the data dir, or null after skipping `t` when absent. */
export function dataFileOrSkip(t: TestContext, relPath: string): string | null {
  const path = join(defaultDataDir(), relPath);
  if (existsSync(path)) return path;
  skipForMissingData(t, `data file absent: ${path} (set THRIFTY_DATA_DIR)`);
  return null;
}
