import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runPretraining, type PretrainRunOptions } from '../../src/node/pretrain-runner.js';
import { readMetricsLog, type MetricsRecord } from '../../src/node/metrics-log.js';
import { loadCheckpoint } from '../../src/node/checkpoint.js';
import { trainingFlops } from '../../src/models/flops.js';
import { modelConfig, sizePreset } from '../../src/models/bert-presets.js';
import { syntheticDocuments } from '../helpers/corpus.js';

async function withCorpus<T>(fn: (dir: string, corpus: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-pretrain-'));
  try {
    const corpus = join(dir, 'corpus');
    await mkdir(corpus);
    const docs = syntheticDocuments(24, 7);
    for (const [i, text] of docs.entries()) await writeFile(join(corpus, `doc${String(i).padStart(2, '0')}.txt`), text);
    return await fn(dir, corpus);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function options(dir: string, corpus: string, overrides: Partial<PretrainRunOptions> = {}): PretrainRunOptions {
  return {
    arch: 'bert',
    size: 'micro-xs',
    corpus,
    vocabSize: 120,
    steps: 6,
    batchSize: 4,
    seqLength: 32,
    optimizer: 'adamw',
    lr: 2e-3,
    warmupSteps: 1,
    weightDecay: 0.01,
    clipNorm: 1,
    seed: 3,
    dropout: 0.1,
    nsp: true,
    wholeWordMask: false,
    out: join(dir, 'run'),
    resume: false,
    evalEvery: 3,
    evalSequences: 8,
    validationFraction: 0.2,
    checkpointEvery: 100,
    threads: 'reference',
    quiet: true,
    ...overrides,
  };
}

/** The parts of the log that must repeat exactly (times differ). */
const curve = (records: readonly MetricsRecord[]): unknown[] =>
  records.map((r) => [r.step, r['kind'], r['loss'] ?? null, r['mlmLoss'] ?? null, r['gradNorm'] ?? null, r['valMlmLoss'] ?? null, r['nonEmbeddingFlops']]);

// Reference kernels, and the wasm backend (weights and moments in its arenas, steps in step memory).
for (const [arch, threads] of [['bert', 'reference'], ['groupbert', 'reference'], ['bert', 1]] as const) {
  test(`${arch} (${threads === 'reference' ? 'reference' : 'wasm'}): a run killed and resumed logs the same loss curve, bit for bit, as an uninterrupted one`, async () => {
    await withCorpus(async (dir, corpus) => {
      const straight = await runPretraining(options(dir, corpus, { arch, threads, out: join(dir, 'straight') }));
      assert.equal(straight.finished, true);
      const out = join(dir, 'interrupted');
      const first = await runPretraining(options(dir, corpus, { arch, threads, out, stopAfter: 2 }));
      assert.equal(first.step, 2);
      assert.equal(first.finished, false);
      // The process died after logging a step past its last checkpoint: that line must go.
      await appendFile(join(out, 'metrics.jsonl'), `${JSON.stringify({ step: 3, time: 0, kind: 'train', loss: 123 })}\n`);
      const second = await runPretraining(options(dir, corpus, { arch, threads, out, resume: true }));
      assert.equal(second.resumedFrom, 2);
      assert.equal(second.step, 6);
      const a = await readMetricsLog(join(dir, 'straight', 'metrics.jsonl'));
      const b = await readMetricsLog(join(out, 'metrics.jsonl'));
      assert.deepEqual(curve(b), curve(a));
      assert.equal(a.filter((r) => r['kind'] === 'validation').length, 3, 'validation at steps 0, 3 and 6');
      assert.equal(second.lastTrain!.loss, straight.lastTrain!.loss);
    });
  });
}

test('FLOPs consumed are the accountant per sequence times the sequences trained', async () => {
  await withCorpus(async (dir, corpus) => {
    const summary = await runPretraining(options(dir, corpus, { steps: 3, evalEvery: 100 }));
    const log = await readMetricsLog(join(dir, 'run', 'metrics.jsonl'));
    const vocab = (await readFile(join(dir, 'run', 'vocab.txt'), 'utf8')).trimEnd().split('\n').length;
    const config = modelConfig('bert', sizePreset('micro-xs'), { vocabSize: vocab });
    const perSequence = trainingFlops('bert', config, { seqLength: 32 }).nonEmbeddingTrainFlopsPerSequence;
    assert.equal(summary.nonEmbeddingFlops, 3 * 4 * perSequence);
    const steps = log.filter((r) => r['kind'] === 'train');
    assert.deepEqual(steps.map((r) => r['nonEmbeddingFlops']), [1, 2, 3].map((k) => k * 4 * perSequence));
    assert.ok(summary.totalFlops > summary.nonEmbeddingFlops);
    const checkpoint = await loadCheckpoint(join(dir, 'run', 'checkpoint.safetensors'));
    assert.equal(checkpoint.state.step, 3);
    assert.ok(checkpoint.model.has('bert.encoder.layer.1.output.dense.weight'));
    assert.ok(checkpoint.optimizer.has('exp_avg.bert.encoder.layer.1.output.dense.weight'));
  });
});

test('pre-training lowers the validation masked-LM loss', async () => {
  await withCorpus(async (dir, corpus) => {
    await runPretraining(options(dir, corpus, { steps: 40, evalEvery: 40, dropout: 0, lr: 3e-3, warmupSteps: 4 }));
    const log = await readMetricsLog(join(dir, 'run', 'metrics.jsonl'));
    const validation = log.filter((r) => r['kind'] === 'validation').map((r) => r['valMlmLoss'] as number);
    assert.equal(validation.length, 2);
    // From about ln(vocab) = 4.8 at initialisation to well below: the templates are learnable.
    assert.ok(validation[0]! > 4.3, `initial ${validation[0]}`);
    assert.ok(validation[1]! < validation[0]! - 1, `validation loss ${validation[0]} -> ${validation[1]}`);
  });
});

test('an existing run is not overwritten, and a resume with other settings is refused', async () => {
  await withCorpus(async (dir, corpus) => {
    await runPretraining(options(dir, corpus, { steps: 2 }));
    await assert.rejects(runPretraining(options(dir, corpus, { steps: 2 })), /already holds a run .*--resume/);
    await assert.rejects(runPretraining(options(dir, corpus, { steps: 4, resume: true, lr: 1e-2 })), /run\.json: --resume with different settings \(steps, lr\)/);
    await assert.rejects(runPretraining(options(dir, corpus, { batchSize: 0 })), /--batch must be a positive integer/);
  });
});

test('Adam and LAMB runs train too, and their checkpoints name the optimizer', async () => {
  await withCorpus(async (dir, corpus) => {
    for (const optimizer of ['adam', 'lamb'] as const) {
      const out = join(dir, optimizer);
      const summary = await runPretraining(options(dir, corpus, { optimizer, steps: 2, out, evalEvery: 100 }));
      assert.ok(Number.isFinite(summary.lastTrain!.loss));
      const checkpoint = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
      assert.equal(checkpoint.state.optimizer['optimizer'], optimizer === 'adam' ? 'Adam' : 'LAMB');
    }
  });
});

test('a diverging run stops with an error naming the step, and saves nothing of the diverged state', async () => {
  await withCorpus(async (dir, corpus) => {
    // lr 1e308: the first update makes the weights infinite; the loss of step 2 is still finite (it
    // is computed before step 2's update), so the state guard refuses step 2's checkpoint.
    await assert.rejects(runPretraining(options(dir, corpus, { lr: 1e308, steps: 6, checkpointEvery: 1 })), /training diverged at step 2: '.*' holds non-finite values/);
    const checkpoint = await loadCheckpoint(join(dir, 'run', 'checkpoint.safetensors'));
    assert.equal(checkpoint.state.step, 1);
    for (const [, t] of checkpoint.model) assert.ok(t.data.every(Number.isFinite));
    // Without a checkpoint at step 2, the loss of step 3 is the first that is NaN.
    await assert.rejects(runPretraining(options(dir, corpus, { out: join(dir, 'run2'), lr: 1e308, steps: 6 })), /training diverged at step 3: the loss is NaN/);
    const log = await readMetricsLog(join(dir, 'run2', 'metrics.jsonl'));
    assert.deepEqual(log.filter((r) => r['kind'] === 'train').map((r) => r.step), [1, 2]);
  });
});
