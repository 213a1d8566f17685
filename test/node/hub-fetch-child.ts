// A second process for hub-faults.test.ts: fetches the same file into the same cache.
// Not a test file (no .test suffix): forked by the test with [cacheDir, endpoint].

import { downloadHubFile } from '../../src/node/hub.js';

const [cacheDir, endpoint] = process.argv.slice(2) as [string, string];
downloadHubFile('org/model', 'main', 'weights.bin', { cacheDir, endpoint, progress: null }).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
