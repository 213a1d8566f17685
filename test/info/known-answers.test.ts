// The committed known-answer record (docs/records/bench/infoplane-known-answers.json, drawn into
// docs/infoplane.md) is what the estimators compute: the cheap cases are computed again here and must
// equal the record's, and every case of the record is within its tolerance.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { binningBiasCases, formatKnownAnswerTable, identityCases, withinTolerance, type KnownAnswerCase } from '../../src/bench/infoplane-known-answers.js';
import { repoRoot } from '../../src/node/data-dir.js';

const RECORD = 'docs/records/bench/infoplane-known-answers.json';

function recordLines(): KnownAnswerCase[] {
  const record = JSON.parse(readFileSync(join(repoRoot(), RECORD), 'utf8')) as { lines: KnownAnswerCase[] };
  return record.lines;
}

/** The same case: equal strings, numbers within 1e-9, arrays and objects alike. */
function assertSameCase(actual: unknown, expected: unknown, where: string): void {
  if (typeof actual === 'number' && typeof expected === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${where}: ${actual} vs ${expected}`);
  } else if (actual !== null && expected !== null && typeof actual === 'object' && typeof expected === 'object') {
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), where);
    for (const key of Object.keys(expected)) assertSameCase((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${where}.${key}`);
  } else {
    assert.equal(actual, expected, where);
  }
}

test('the known-answer record holds every kind of case, each within its tolerance', () => {
  const lines = recordLines();
  const kinds = new Set(lines.map((l) => l.kind));
  assert.deepEqual([...kinds].sort(), ['binning-bias', 'identity-binning', 'identity-kde', 'independent', 'ksg-bias', 'ksg-gaussian']);
  for (const line of lines) assert.ok(withinTolerance(line), `outside its tolerance: ${JSON.stringify(line)}`);
});

test('the record equals what the estimators compute now (T = X cases, and the binning bias at ρ = 0.5)', () => {
  const lines = recordLines();
  const identity = identityCases();
  assert.equal(identity.length, lines.filter((l) => l.kind === 'identity-binning' || l.kind === 'identity-kde').length);
  for (const computed of identity) {
    const match = lines.find((l) => l.kind === computed.kind && (computed.kind === 'identity-binning' ? l.kind === 'identity-binning' && l.estimator === computed.estimator : l.kind === 'identity-kde' && l.variance === computed.variance));
    assert.ok(match, `no record line for ${JSON.stringify(computed)}`);
    assertSameCase(computed, match, computed.kind);
  }
  for (const computed of binningBiasCases({ rhos: [0.5] })) {
    const match = lines.find((l) => l.kind === 'binning-bias' && l.rho === 0.5 && l.binning === computed.binning);
    assert.ok(match, `no record line for ${computed.binning} at ρ = 0.5`);
    assertSameCase(computed, match, `binning-bias ${computed.binning}`);
  }
});

test('a case outside its tolerance is found and marked in the table', () => {
  const good: KnownAnswerCase = { kind: 'identity-kde', variance: 0.1, upper: 11.883742, lower: 7.638518, expectedUpper: 11.883742, expectedLower: 7.638518, tolerance: 1e-5 };
  const bad: KnownAnswerCase = { ...good, lower: 7.6386 };
  assert.equal(withinTolerance(good), true);
  assert.equal(withinTolerance(bad), false);
  assert.equal(withinTolerance({ kind: 'independent', estimator: 'ksg', estimate: -0.011, expected: 0, tolerance: 0.01, detail: '' }), false);
  const lines = formatKnownAnswerTable([good, bad]).split('\n');
  assert.match(lines[2]!, /T = X, KDE σ² = 0\.1 .* yes$/);
  assert.match(lines[3]!, /11\.883742, 7\.638600 +no$/);
});
