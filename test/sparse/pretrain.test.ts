// Block-sparse pre-training end to end (thrifty pretrain --sparsity ...): the controller runs through
// the loop's hooks, telemetry lands in metrics.jsonl, checkpoints hold the patterns and the
// controller state and resume bit for bit, the loss falls, FLOPs follow the accountant, and bad
// settings are one-line errors naming the flag.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { DEFAULT_LR, runnerOptions, type PretrainFlags } from '../../src/cli/commands/pretrain.js';
import { modelConfig, sizePreset } from '../../src/models/bert-presets.js';
import { trainingFlops } from '../../src/models/flops.js';
import { loadCheckpoint } from '../../src/node/checkpoint.js';
import { readMetricsLog, type MetricsRecord } from '../../src/node/metrics-log.js';
import { runPretraining, type PretrainRunOptions } from '../../src/node/pretrain-runner.js';
import { sparseLearningRate } from '../../src/train/dynsparse.js';
import { syntheticDocuments } from '../helpers/corpus.js';

async function withCorpus<T>(fn: (dir: string, corpus: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-sparse-pretrain-'));
  try {
    const corpus = join(dir, 'corpus');
    await mkdir(corpus);
    for (const [i, text] of syntheticDocuments(24, 7).entries()) await writeFile(join(corpus, `doc${String(i).padStart(2, '0')}.txt`), text);
    return await fn(dir, corpus);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const SPARSE = { sparsity: 0.75, block: 16, regrow: 'dynamic', updates: 4, pruneRatio: 0.5, normOrder: 1 } as const;

function options(dir: string, corpus: string, overrides: Partial<PretrainRunOptions> = {}): PretrainRunOptions {
  return {
    arch: 'bert', size: 'micro-xs', corpus, vocabSize: 120, steps: 8, batchSize: 4, seqLength: 32, optimizer: 'adamw', lr: 2e-3,
    warmupSteps: 1, weightDecay: 0.01, clipNorm: 1, seed: 3, dropout: 0.1, nsp: true, wholeWordMask: false, out: join(dir, 'run'),
    resume: false, evalEvery: 4, evalSequences: 8, validationFraction: 0.2, checkpointEvery: 100, threads: 'reference', quiet: true,
    sparse: SPARSE, ...overrides,
  };
}

const curve = (records: readonly MetricsRecord[]): unknown[] => records.map((r) => JSON.stringify({ ...r, time: 0, trainSeconds: 0 }));

for (const [arch, regrow] of [['bert', 'dynamic'], ['bert', 'rigl'], ['groupbert', 'dynamic']] as const) {
  test(`${arch} sparse (${regrow}): stopped at an update step and resumed, the same log, patterns and loss bit for bit`, async () => {
    await withCorpus(async (dir, corpus) => {
      const sparse = { ...SPARSE, regrow };
      const straight = await runPretraining(options(dir, corpus, { arch, sparse, out: join(dir, 'straight') }));
      assert.equal(straight.finished, true);
      const out = join(dir, 'stopped');
      // Update steps are 2, 4 and 6 (k T / n): stop right after the first update, and again after step 5.
      assert.equal((await runPretraining(options(dir, corpus, { arch, sparse, out, stopAfter: 2 }))).step, 2);
      assert.equal((await runPretraining(options(dir, corpus, { arch, sparse, out, resume: true, stopAfter: 3 }))).step, 5);
      const last = await runPretraining(options(dir, corpus, { arch, sparse, out, resume: true }));
      assert.equal(last.step, 8);
      const a = await readMetricsLog(join(dir, 'straight', 'metrics.jsonl'));
      const b = await readMetricsLog(join(out, 'metrics.jsonl'));
      assert.deepEqual(curve(b), curve(a));
      assert.equal(last.lastTrain!.loss, straight.lastTrain!.loss);
      const updates = a.filter((r) => r['kind'] === 'sparse-update');
      assert.deepEqual(updates.map((r) => r.step), [2, 4, 6]);
      for (const r of updates) assert.ok(Math.abs((r['density'] as number) - 0.25) < 1e-12, 'density constant');
      const explored = updates.map((r) => r['explored'] as number);
      assert.ok(explored[0]! > 0.25 && explored[2]! >= explored[0]!, `explored ${explored}`);
      assert.ok((updates[0]!['pruneFraction'] as number) > (updates[2]!['pruneFraction'] as number), 'cosine decay');
      const [ca, cb] = [await loadCheckpoint(join(dir, 'straight', 'checkpoint.safetensors')), await loadCheckpoint(join(out, 'checkpoint.safetensors'))];
      const prefix = arch === 'bert' ? 'bert.encoder.layer.0.attention.self.query' : 'groupbert.encoder.layer.0.attention.body.self.query';
      const colIdx = ca.model.get(`${prefix}.block_col_idx`);
      assert.ok(colIdx, `the checkpoint holds ${prefix}.block_col_idx`);
      assert.deepEqual(ca.model.get(`${prefix}.weight`)!.shape, [4, 16, 16], 'values of the active blocks only');
      for (const [name, t] of ca.model) assert.deepEqual(Array.from(cb.model.get(name)!.data), Array.from(t.data), name);
      assert.ok(ca.state.user['dynsparse'], 'the controller state is saved');
    });
  });
}

test('sparse pre-training lowers the validation loss (wasm kernels); FLOPs follow the accountant for the active blocks', { timeout: 300_000 }, async () => {
  await withCorpus(async (dir, corpus) => {
    const run = async (name: string, sparse: PretrainRunOptions['sparse'], lr: number) => {
      const summary = await runPretraining(options(dir, corpus, { out: join(dir, name), steps: 40, evalEvery: 40, dropout: 0, lr, warmupSteps: 4, threads: 1, sparse }));
      const log = await readMetricsLog(join(dir, name, 'metrics.jsonl'));
      return { summary, validation: log.filter((r) => r['kind'] === 'validation').map((r) => r['valMlmLoss'] as number) };
    };
    const sparse = await run('sparse', { ...SPARSE, block: 4, updates: 8 }, sparseLearningRate(3e-3, 0.75));
    const dense = await run('dense', undefined, 3e-3);
    process.stdout.write(`# 40 steps, bert micro-xs: validation MLM loss dense ${dense.validation.join(' -> ')}, sparse 0.75 (4x4, dynamic) ${sparse.validation.join(' -> ')}\n`);
    assert.ok(sparse.validation[1]! < sparse.validation[0]! - 0.5, `sparse validation loss ${sparse.validation[0]} -> ${sparse.validation[1]}`);
    const vocab = (await readFile(join(dir, 'sparse', 'vocab.txt'), 'utf8')).trimEnd().split('\n').length;
    const config = modelConfig('bert', sizePreset('micro-xs'), { vocabSize: vocab });
    const perSequence = trainingFlops('bert', config, { seqLength: 32, density: 0.25, block: 4 }).nonEmbeddingTrainFlopsPerSequence;
    assert.equal(sparse.summary.nonEmbeddingFlops, 40 * 4 * perSequence);
    assert.ok(sparse.summary.nonEmbeddingFlops < 0.6 * dense.summary.nonEmbeddingFlops);
  });
});

test('bad sparse settings are one-line errors naming the flag', async () => {
  await withCorpus(async (dir, corpus) => {
    const fails = async (sparse: Partial<NonNullable<PretrainRunOptions['sparse']>>, pattern: RegExp, steps = 8) => {
      await assert.rejects(runPretraining(options(dir, corpus, { steps, sparse: { ...SPARSE, ...sparse } })), (e: Error) => pattern.test(e.message) && !e.message.includes('\n'));
    };
    await fails({ sparsity: 1 }, /^--sparsity must be in \[0, 1\), got 1$/);
    await fails({ sparsity: -0.1 }, /^--sparsity must be in \[0, 1\)/);
    await fails({ block: 5 }, /^--block 5 does not divide the encoder's weight dimensions \(hidden 64, intermediate 256\)$/);
    await fails({ updates: 9 }, /^--updates 9 is larger than --steps 8/);
    await fails({ pruneRatio: 1.5 }, /^--prune-ratio must be in \[0, 1\]/);
  });
});

test('the CLI flags: the sparse learning-rate rule is the default with --sparsity, --lr overrides it; flag errors', async () => {
  const flags = (extra: Partial<PretrainFlags>): PretrainFlags => ({
    arch: 'bert', size: 'micro-xs', corpus: 'c', steps: 100, batch: 4, seq: 32, optimizer: 'adamw', weightDecay: 0.01, clip: 1, seed: 0,
    resume: false, vocabSize: 100, nsp: true, wholeWordMask: false, evalEvery: 10, evalSequences: 8, checkpointEvery: 10, validationFraction: 0.1,
    conv: true, ffnMixer: true, quiet: true, block: 16, regrow: 'dynamic', pruneRatio: 0.5, blockNorm: 'l1', ...extra,
  });
  const dense = await runnerOptions(flags({}), 'bert', 'micro-xs', 0, 'o');
  assert.equal(dense.lr, DEFAULT_LR);
  assert.equal(dense.sparse, undefined);
  const sparse = await runnerOptions(flags({ sparsity: 0.9, blockNorm: 'l2' }), 'bert', 'micro-xs', 0, 'o');
  assert.ok(Math.abs(sparse.lr / DEFAULT_LR - 6.4) < 0.05, `eta(0.9) / eta(0) = ${sparse.lr / DEFAULT_LR}`);
  assert.deepEqual(sparse.sparse, { sparsity: 0.9, block: 16, regrow: 'dynamic', updates: 100, pruneRatio: 0.5, normOrder: 2 });
  assert.equal((await runnerOptions(flags({ sparsity: 0.9, lr: 5e-4 }), 'bert', 'micro-xs', 0, 'o')).lr, 5e-4);
  await assert.rejects(runnerOptions(flags({ sparsity: 0.9, updates: 101 }), 'bert', 'micro-xs', 0, 'o'), /^Error: --updates 101 is larger than --steps 100/);
  await assert.rejects(runnerOptions(flags({ sparsity: 0.9, regrow: 'magic' }), 'bert', 'micro-xs', 0, 'o'), /--regrow must be dynamic, static or rigl, got 'magic'/);
  await assert.rejects(runnerOptions(flags({ sparsity: 0.9, blockNorm: 'l3' }), 'bert', 'micro-xs', 0, 'o'), /--block-norm must be l1 or l2/);
  await assert.rejects(runnerOptions(flags({ sparsity: 1 }), 'bert', 'micro-xs', 0, 'o'), /--sparsity must be in \[0, 1\)/);
});
