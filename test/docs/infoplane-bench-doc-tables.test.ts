// docs/infoplane.md's known-answer and performance tables are drawn from bench records: known records
// give known tables, the cost sentence is the arithmetic of the timings, and a record missing a part
// is an error naming it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { BenchRecord } from '../../src/report/bench-doc-tables.js';
import { renderBinningBias, renderInfoplaneBench, renderKnownAnswers, renderKsgBias, renderTenSeedCost } from '../../src/report/infoplane-bench-doc-tables.js';

function record(name: string, lines: unknown[]): BenchRecord {
  return {
    name, command: `npm run bench:record -- ${name}`, benchCommand: `node bin/thrifty.js bench ${name} --json`, date: '2026-12-02T12:00:00.000Z',
    machine: { cpu: 'Test CPU', cores: 2, node: 'v20.20.2' }, load: { before: 1, after: 2 }, seconds: 1, lines,
  };
}

const KNOWN = [
  ...['fixed', 'saxe', 'ebab'].map((estimator) => ({ kind: 'identity-binning', estimator, ixt: 12, ity: 0.9991571, expectedIxt: 12, expectedIty: 0.99915708, tolerance: 1e-6 })),
  { kind: 'identity-kde', variance: 0.1, upper: 11.8837421, lower: 7.6385182, expectedUpper: 11.883742, expectedLower: 7.638518, tolerance: 1e-5 },
  ...[[0.5, 0.2075, 0.202], [0.9, 1.198, 1.2157]].map(([rho, truth, mean]) => ({ kind: 'ksg-gaussian', rho, n: 4096, truth, mean, seeds: [40, 41, 42, 43, 44, 45, 46, 47], tolerance: 0.03 })),
  { kind: 'ksg-bias', rho: 0.5, n: 4096, sampling: 'moment-matched', samples: 16, bias: 0.0004, sd: 0.014 },
  { kind: 'ksg-bias', rho: 0.9, n: 4096, sampling: 'moment-matched', samples: 16, bias: 0.005, sd: 0.018 },
  { kind: 'ksg-bias', rho: 0.5, n: 4096, sampling: 'raw', samples: 32, bias: 0.003, sd: 0.021 },
  { kind: 'ksg-bias', rho: 0.9, n: 4096, sampling: 'raw', samples: 32, bias: 0.01, sd: 0.025 },
  { kind: 'binning-bias', rho: 0.5, binning: 'fixed', samples: 6, estimate: 0.3224, exact: 0.2057, bias: 0.1167, millerMadow: 0.0841, tolerance: 0.05 },
  { kind: 'binning-bias', rho: 0.5, binning: 'ebab', samples: 6, estimate: 0.3499, exact: 0.2031, bias: 0.1468, millerMadow: 0.1382, tolerance: 0.05 },
  { kind: 'independent', estimator: 'ebab', estimate: 0.05, expected: 0.048, tolerance: 0.05, detail: '' },
  { kind: 'independent', estimator: 'ksg', estimate: -0.002, expected: 0, tolerance: 0.01, detail: '' },
];

test('known answers: one row per kind, expected and measured side by side, the largest binning gap, the record named', () => {
  const table = renderKnownAnswers(record('infoplane-known-answers', KNOWN));
  assert.match(table, /\| T = X on the 12-bit data, fixed \/ Saxe \/ EBAB binning \| I\(X;T\) = 12, I\(T;Y\) = 0\.999157 \(1e-6\) \| 12\.000000 \/ 0\.999157 for all three \|/);
  assert.match(table, /\| KDE for T = X, σ² = 0\.1 \| upper 11\.883742, lower 7\.638518 \(1e-5\) \| 11\.883742, 7\.638518 \|/);
  assert.match(table, /ρ = 0\.5 \/ 0\.9 \| 0\.2075 \/ 1\.1980 bits \(0\.03\) \| 0\.2020 \/ 1\.2157 \(mean of 8 samples/);
  // |0.1167 - 0.0841| = 0.0326 is the larger gap.
  assert.match(table, /largest gap 0\.033 bits/);
  assert.match(table, /EBAB binning = its Miller-Madow bias ±0\.05; KSG \\\|I\\\| < 0\.01 \| EBAB binning 0\.0500 \(bias 0\.0480\); KSG -0\.0020 \|/);
  // Every row has the table's three cells: no unescaped '|' inside one.
  for (const line of table.split('\n').filter((l) => l.startsWith('|'))) assert.equal(line.replace(/\\\|/g, '').split('|').length, 5, line);
  assert.match(table, /record `docs\/records\/bench\/infoplane-known-answers\.json`; regenerate with `npm run bench:record -- infoplane-known-answers`/);
  // Estimators that disagree are listed one by one.
  const differing = KNOWN.map((l) => (l.kind === 'identity-binning' && 'estimator' in l && l.estimator === 'saxe' ? { ...l, ixt: 11.5 } : l));
  assert.match(renderKnownAnswers(record('infoplane-known-answers', differing)), /fixed 12\.000000 \/ 0\.999157; Saxe 11\.500000 \/ 0\.999157; EBAB 12\.000000 \/ 0\.999157/);
});

test('KSG bias sentence and the binning bias table', () => {
  assert.equal(
    renderKsgBias(record('infoplane-known-answers', KNOWN)),
    "Over 16 such samples KSG's bias was 0.000 and 0.005 bits (sd 0.014-0.018) at ρ = 0.5, 0.9; over 32 raw samples it was 0.003 and 0.010 bits (sd 0.021-0.025).\n",
  );
  const table = renderBinningBias(record('infoplane-known-answers', KNOWN));
  assert.match(table, /\| 0\.5 \| fixed \| 0\.3224 \| 0\.2057 \| 0\.1167 \| 0\.0841 \|/);
  assert.match(table, /\| 0\.5 \| EBAB \| 0\.3499 \| 0\.2031 \| 0\.1468 \| 0\.1382 \|/);
});

test('a known-answer record without a kind, or with a field that is not a number, is an error naming the record', () => {
  assert.throws(() => renderKnownAnswers(record('infoplane-known-answers', KNOWN.filter((l) => l.kind !== 'identity-kde'))), /infoplane-known-answers\.json: no 'identity-kde' lines/);
  const bad = KNOWN.map((l) => (l.kind === 'binning-bias' ? { ...l, bias: 'x' } : l));
  assert.throws(() => renderBinningBias(record('infoplane-known-answers', bad)), /a 'binning-bias' line's 'bias' is not a number/);
});

const BENCH = [
  { name: 'EBAB per layer-epoch', input: 'layer 1', ms: 4.567, peer: 'plain EBAB', peerMs: 106.2, speedup: 23.25, targetMs: 10, meetsTarget: true, cpuMs: 4.5, peerCpuMs: 105 },
  { name: 'training per epoch (12-10-7-5-4-3-2 tanh)', input: '3277 rows', ms: 4.3, peer: 'engine', peerMs: 87, speedup: 20.2, targetMs: 5, meetsTarget: true },
];

test('performance: wall and CPU medians per kernel and peer, the provenance line; the cost of 10 seeds from the same timings', () => {
  const table = renderInfoplaneBench(record('infoplane', BENCH));
  assert.match(table, /\| EBAB per layer-epoch \| layer 1 \| 4\.57 \| 4\.50 \| plain EBAB \| 106 \| 105 \| 23\.3x \| 23\.3x \| ≤ 10 \|/);
  // A record without CPU times (older benchmark output) shows '-'.
  assert.match(table, /\| training per epoch \(12-10-7-5-4-3-2 tanh\) \| 3277 rows \| 4\.30 \| - \| engine \| 87\.0 \| - \| 20\.2x \| - \| ≤ 5 \|/);
  assert.match(table, /Recorded 2026-12-02 on Test CPU \(2 cores\).*Regenerate with `npm run bench:record -- infoplane`/);
  // Wall-clock (the training row has no CPU time): 8000 x 4.3 ms + 6 x 274 x 4.567 ms = 34.4 s + 7.508 s =
  // 41.9 s; x 200 / 3600 = 2.3 h; x 1000 / 3600 = 11.6 h.
  const cost = renderTenSeedCost(record('infoplane', BENCH));
  assert.match(cost, /8000 epochs at the trainer's 4\.30 ms, plus EBAB on 6 layers at 274 epochs at 4\.57 ms, 42 s of one core \(wall-clock medians/);
  assert.match(cost, /10 seeds \(200 networks\): 2\.3 core-hours; the paper's 50 \(1000\): 11\.6\.\n$/);
  // CPU times when both rows have them: 8000 x 4 ms + 6 x 274 x 4.5 ms = 39.4 s.
  const withCpu = BENCH.map((r) => (r.name.startsWith('training') ? { ...r, cpuMs: 4 } : r));
  assert.match(renderTenSeedCost(record('infoplane', withCpu)), /at the trainer's 4\.00 ms, plus EBAB on 6 layers at 274 epochs at 4\.50 ms, 39 s of one core \(CPU-time medians/);
  assert.throws(() => renderTenSeedCost(record('infoplane', BENCH.slice(0, 1))), /infoplane\.json: no 'training per epoch' timing/);
});
