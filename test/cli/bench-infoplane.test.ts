// `thrifty bench infoplane`'s table: its last column says whether thrifty met the issue's time target,
// in words that do not read as a failed run.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatBenchmarkTable, type BenchmarkRow } from '../../src/bench/infoplane.js';

test('bench infoplane table: the target column is headed "within target" and a miss says by how much', () => {
  const row = (ms: number): BenchmarkRow => ({ name: 'EBAB per layer-epoch', input: 'layer 1', ms, peer: 'plain', peerMs: 40, speedup: 40 / ms, targetMs: 10, meetsTarget: ms <= 10 });
  const lines = formatBenchmarkTable([row(4), row(25)]).split('\n');
  const header = lines[0]!.trim().split(/\s{2,}/);
  assert.deepEqual(header, ['measurement', 'input', 'thrifty ms', 'peer', 'peer ms', 'speedup', 'target ms', 'within target']);
  assert.match(lines[2]!, /\byes$/);
  assert.match(lines[3]!, /\bno \(2\.5x the target\)$/);
  assert.doesNotMatch(lines.join('\n'), /\bok\b|\bNO\b/);
  assert.match(lines.at(-2)!, /within target: thrifty ms <= target ms/);
});
