// thrifty export: a block-sparse pretrain run written as a dense Hugging Face BERT folder loads back
// through thrifty's HF BERT loader and gives the sparse model's logits; groupbert runs are refused.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { exportHfBert } from '../../src/cli/commands/export.js';
import { createPreTrainingModel } from '../../src/models/bert-presets.js';
import type { BertConfig } from '../../src/models/bert.js';
import { loadCheckpoint } from '../../src/node/checkpoint.js';
import { loadHfBert } from '../../src/node/hf-bert.js';
import { runPretraining, type PretrainRunOptions } from '../../src/node/pretrain-runner.js';
import { sparseEncoderLayout } from '../../src/train/pretrain.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray } from '../../src/tensor/tensor.js';

async function withRun<T>(fn: (dir: string, run: (o: Partial<PretrainRunOptions>) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-export-'));
  try {
    const corpus = join(dir, 'corpus');
    await mkdir(corpus);
    const rng = new Rng(1);
    const words = ['red', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', 'cat', 'sleeps', 'near'];
    for (let d = 0; d < 12; d++) {
      await writeFile(join(corpus, `d${d}.txt`), Array.from({ length: 10 }, () => Array.from({ length: 8 }, () => words[rng.int(words.length)]).join(' ') + '.').join(' '));
    }
    const run = async (o: Partial<PretrainRunOptions>): Promise<string> => {
      const out = join(dir, o.arch ?? 'bert');
      await runPretraining({
        arch: 'bert', size: 'micro-xs', corpus, vocabSize: 80, steps: 4, batchSize: 2, seqLength: 16, optimizer: 'adamw', lr: 1e-2, warmupSteps: 0,
        weightDecay: 0, clipNorm: 1, seed: 1, nsp: true, wholeWordMask: false, out, resume: false, evalEvery: 4, evalSequences: 2,
        validationFraction: 0.2, checkpointEvery: 4, threads: 'reference', quiet: true,
        sparse: { sparsity: 0.75, block: 8, regrow: 'dynamic', updates: 2, pruneRatio: 0.5, normOrder: 1 }, ...o,
      });
      return out;
    };
    return await fn(dir, run);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a block-sparse BERT run exports as a dense HF folder: zeros where inactive, same logits through the HF loader', async () => {
  await withRun(async (dir, run) => {
    const runDir = await run({});
    const out = join(dir, 'hf');
    const result = await exportHfBert(runDir, out);
    assert.equal(result.expanded, 6 * 2, 'Q, K, V, attention output, FFN up and down of both layers');
    assert.ok(existsSync(join(out, 'vocab.txt')));
    const hfConfig = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(hfConfig['model_type'], 'bert');
    const hf = await loadHfBert(out);
    const query = hf.stateDict().get('bert.encoder.layer.0.attention.self.query.weight')!;
    assert.deepEqual(query.shape, [64, 64]);
    const zeros = Array.from(query.toArray()).filter((v) => v === 0).length;
    assert.equal(zeros, 64 * 64 * 0.75, 'inactive blocks are zeros');

    // The sparse model as the run left it.
    const settings = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')) as { config: BertConfig };
    const sparse = createPreTrainingModel('bert', settings.config, { encoderLinearLayout: sparseEncoderLayout({ sparsity: 0.75, block: 8 }) });
    sparse.loadStateDict((await loadCheckpoint(join(runDir, 'checkpoint.safetensors'))).model);
    const rng = new Rng(4);
    const ids = fromArray(Array.from({ length: 2 * 16 }, () => rng.int(settings.config.vocabSize)), [2, 16], { dtype: 'i32' });
    sparse.eval();
    hf.eval();
    const a = sparse.forward({ inputIds: ids });
    const b = hf.forward({ inputIds: ids });
    const [la, lb] = [a.mlmLogits.toArray(), b.mlmLogits.toArray()];
    assert.equal(la.length, lb.length);
    let worst = 0;
    for (let i = 0; i < la.length; i++) worst = Math.max(worst, Math.abs(la[i]! - lb[i]!));
    assert.ok(worst < 1e-4, `max |sparse - exported| logit difference ${worst}`);
    assert.deepEqual(Array.from(a.nspLogits!.toArray()).map((x) => x.toFixed(4)), Array.from(b.nspLogits!.toArray()).map((x) => x.toFixed(4)));
  });
});

test('export refuses a groupbert run and a folder without a run, in one line naming --run', async () => {
  await withRun(async (dir, run) => {
    const runDir = await run({ arch: 'groupbert', sparse: undefined });
    await assert.rejects(exportHfBert(runDir, join(dir, 'x')), /^Error: --run .*: a groupbert run has no Hugging Face BERT equivalent/);
    await assert.rejects(exportHfBert(join(dir, 'nothing'), join(dir, 'y')), /^Error: --run .*: cannot read run.json/);
  });
});
