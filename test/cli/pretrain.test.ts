import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatPretrainSummary } from '../../src/cli/commands/pretrain.js';
import type { PretrainSummary } from '../../src/node/pretrain-runner.js';
import type { StepResult, ValidationResult } from '../../src/train/pretrain.js';

const summary: PretrainSummary = {
  out: 'runs/p',
  step: 40,
  finished: false,
  stoppedBy: 'interrupted',
  checkpoint: 'runs/p/checkpoint.safetensors',
  resumedFrom: 12,
  lastTrain: { loss: 4.123456 } as StepResult,
  lastValidation: { mlmLoss: 4.5, mlmAccuracy: 0.25 } as ValidationResult,
  nonEmbeddingFlops: 981467136,
  totalFlops: 1007013888,
  trainSeconds: 12.34,
  tokens: 1234567,
};

test('the pretrain summary is a short table for people', () => {
  assert.equal(
    formatPretrainSummary(summary, 100, 'bert micro-xs'),
    [
      'pretrain bert micro-xs: interrupted at step 40 of 100 (resumed at step 12)',
      '  train loss               4.1235',
      '  validation MLM loss      4.5000',
      '  validation MLM accuracy  0.2500',
      '  tokens trained           1,234,567',
      '  FLOPs (non-embedding)    9.815e+8',
      '  FLOPs (total)            1.007e+9',
      '  training time            12.3 s',
      '  checkpoint               runs/p/checkpoint.safetensors',
      '  metrics                  runs/p/metrics.jsonl',
      '',
    ].join('\n'),
  );
  const done = formatPretrainSummary({ ...summary, finished: true, stoppedBy: 'finished', step: 100, resumedFrom: null, lastValidation: null }, 100, 'groupbert tiny');
  assert.match(done, /^pretrain groupbert tiny: finished at step 100 of 100\n/);
  assert.match(done, /validation MLM loss      -\n/);
  assert.match(formatPretrainSummary({ ...summary, stoppedBy: 'session-limit' }, 100, 'm'), /^pretrain m: paused at step 40 of 100/);
});
