import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { MetricsLog, readMetricsLog } from '../../src/node/metrics-log.js';

describe('MetricsLog', () => {
  it('appends JSON lines into new directories and reads them back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-metrics-'));
    try {
      const path = join(dir, 'run', 'metrics.jsonl');
      let now = 1000;
      const log = new MetricsLog(path, () => now++);
      log.append(1, { loss: 2.5, lr: 3e-4, split: 'train' });
      log.append(2, { loss: NaN });
      assert.throws(() => log.append(3, { step: 9 }), /metrics\.jsonl: 'step' and 'time' are set by MetricsLog/);
      log.close();
      assert.throws(() => log.append(3), /metrics log is closed/);

      const resumed = new MetricsLog(path, () => 5000); // a resumed run continues the same file
      resumed.append(3, { eval: true });
      resumed.close();

      assert.equal((await readFile(path, 'utf8')).split('\n')[0], '{"step":1,"time":1000,"loss":2.5,"lr":0.0003,"split":"train"}');
      assert.deepEqual(await readMetricsLog(path), [
        { step: 1, time: 1000, loss: 2.5, lr: 3e-4, split: 'train' },
        { step: 2, time: 1001, loss: null },
        { step: 3, time: 5000, eval: true },
      ]);

      await appendFile(path, '{"step":4,"ti'); // a crash mid-line
      assert.equal((await readMetricsLog(path)).length, 3);
      await appendFile(path, '\n{"step":5,"time":1}\n');
      await assert.rejects(readMetricsLog(path), new RegExp(`metrics\\.jsonl:4: not valid JSON`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
