// The evaluation stack on the bundled model (models/default, context 512, heads of 32): dense
// prefill gives the first token whatever the policy, teacher-forced BPC equals a direct
// computation from one cache-free forward, and a 2-sample grid (every task x dense and SparQ at
// 1/8) runs, records measured transfers and resumes without redoing work.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

import { noGrad } from '../../src/autograd/engine.js';
import { runTeacherForcedSample } from '../../src/eval/driver.js';
import { evalTokenizer, GeneratorEvalModel } from '../../src/eval/generator-model.js';
import { tokenNll } from '../../src/eval/metrics.js';
import { loadCausalLM } from '../../src/models/load-llm.js';
import type { TaskName } from '../../src/eval/prompts.js';
import { EVAL_DATA_FILES } from '../../src/node/eval-data.js';
import { runEvalGrid } from '../../src/node/eval-runner.js';
import { EvalStore } from '../../src/node/eval-store.js';
import { loadModelFiles } from '../../src/node/model-files.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { dataFileOrSkip, skipForMissingData } from '../helpers/data.js';

async function bundledModel(t: TestContext): Promise<string | null> {
  const { bundledModelDir } = await import('../../src/cli/commands/generate.js');
  const dir = await bundledModelDir();
  if (existsSync(join(dir, 'config.json'))) return dir;
  skipForMissingData(t, `no bundled model at ${dir}`);
  return null;
}

describe('eval on the bundled model', () => {
  it('the first generated token comes from the dense prefill (same logits under SparQ at 1/8); BPC equals a direct computation', async (t) => {
    const dir = await bundledModel(t);
    if (!dir) return;
    const files = await loadModelFiles(dir);
    try {
      const model = await loadCausalLM(files.config, files.weights, { trainable: false });
      const tokenizer = evalTokenizer(files.tokenizer);
      const ids = [tokenizer.bos ?? 0, ...tokenizer.encode('ROMEO:\nBut soft, what light through yonder window breaks?\nJULIET:\n')];
      const dense = new GeneratorEvalModel(model, { kind: 'dense' });
      const sparq = new GeneratorEvalModel(model, { kind: 'sparq', rank: 4, topK: 8, localWindow: 2 });
      dense.reset();
      sparq.reset();
      const a = dense.prefill(ids);
      const b = sparq.prefill(ids);
      assert.deepEqual(b, a); // bit for bit: prefill never goes through the policy
      assert.equal(sparq.transfers().steps, 0);
      // ... and the policy does apply from the next step on.
      const next = a.indexOf(Math.max(...a));
      const da = dense.decode(next);
      const db = sparq.decode(next);
      assert.notDeepEqual(db, da);
      assert.equal(sparq.transfers().steps, 1);
      assert.ok(sparq.transfers().elements < sparq.transfers().denseElements);

      const sample = { task: 'wikitext-bpc' as const, id: 'x', prefill: 'ROMEO:\nBut soft, what light', reference: ' through yonder window breaks?', maxReferenceTokens: 64 };
      const outcome = runTeacherForcedSample(dense, tokenizer, sample);
      const prefill = [tokenizer.bos ?? 0, ...tokenizer.encode(sample.prefill)];
      const reference = tokenizer.encode(sample.reference);
      const all = [...prefill, ...reference];
      const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(all), 'i32', [1, all.length]))).toArray() as Float32Array;
      const V = files.config.vocabSize;
      let nats = 0;
      reference.forEach((id, j) => {
        const row = logits.subarray((prefill.length - 1 + j) * V, (prefill.length + j) * V);
        const direct = tokenNll(row, id);
        assert.ok(Math.abs(outcome.nll[j]! - direct) < 1e-3, `token ${j}: ${outcome.nll[j]} vs ${direct}`);
        nats += direct;
      });
      assert.ok(Math.abs(outcome.score - (nats * Math.LOG2E) / sample.reference.length) < 1e-4);
      dense.dispose();
      sparq.dispose();
    } finally {
      await files.close();
    }
  });

  it('a 2-sample grid of every task, dense and SparQ 1/8 (even recipe; the paper recipe is a skipped cell): records, measured ratios, resume without redoing work', async (t) => {
    const dir = await bundledModel(t);
    if (!dir) return;
    for (const file of Object.values(EVAL_DATA_FILES)) if (!dataFileOrSkip(t, file)) return;
    const out = await mkdtemp(join(tmpdir(), 'thrifty-eval-grid-'));
    try {
      const options = {
        model: dir,
        tasks: ['squad', 'triviaqa', 'cnndm', 'wikitext-bpc', 'repetition', 'needle'] as TaskName[],
        methods: [{ attention: 'dense', compression: 1 }, { attention: 'sparq', compression: 1 / 8, recipe: 'even' as const }, { attention: 'sparq', compression: 1 / 8 }],
        samples: 2,
        outDir: out,
      };
      const grid = await runEvalGrid(options);
      assert.equal(grid.interrupted, false);
      assert.equal(grid.cells.length, 18);
      // k = 128 of the paper recipe cannot reach 1/8 at these lengths: a skipped cell with the planner's reason.
      const skipped = grid.cells.filter((c) => c.skipped !== undefined);
      assert.ok(skipped.length > 0 && skipped.every((c) => c.cell.method === 'sparq-paper' && /out of reach/.test(c.skipped!)), JSON.stringify(skipped.map((c) => c.cell)));
      const first = grid.cells.filter((c) => c.result !== null);
      assert.equal(first.length + skipped.length, 18);
      const store = new EvalStore(out);
      for (const { cell, result } of first) {
        const records = await store.read(cell);
        const label = `${cell.task} ${cell.method}`;
        assert.equal(records.length, 2, label);
        assert.equal(result!.n, 2);
        for (const r of records) {
          assert.ok(r.prefillTokens > 10 && r.prefillTokens <= 512 - 20, `${label}: prefill ${r.prefillTokens}`);
          if (cell.task === 'wikitext-bpc') assert.ok(r.score > 0.3 && r.score < 10, `${label}: bpc ${r.score}`);
          else if (cell.task === 'repetition') assert.ok(Number.isInteger(r.score) && r.score >= 0, label);
          else if (cell.task === 'cnndm') assert.ok(r.score >= 0 && r.score <= 1, label);
          else assert.ok(r.score === 0 || r.score === 1, label);
          if (cell.task !== 'wikitext-bpc') assert.ok(r.output.length > 0, label);
          if (cell.method === 'dense') assert.equal(r.achievedRatio, 1, label);
          else {
            // Measured, so above 1/8 here: the paper recipe's k = 128 is a large part of a 256-token context.
            assert.ok(r.achievedRatio !== null && r.achievedRatio > 0, `${label}: ratio ${r.achievedRatio}`);
            if (r.prefillTokens > 200) assert.ok(r.achievedRatio < 0.7, `${label}: ratio ${r.achievedRatio} at ${r.prefillTokens} tokens`);
          }
          assert.equal(r.transfers.steps, r.generatedTokens - 1, label); // the first token came from the prefill
        }
        if (cell.task === 'needle') assert.deepEqual(records.map((r) => r.details), [{ length: 128, depth: 0 }, { length: 128, depth: 1 / 16 }]);
      }
      const dense = first.find((c) => c.cell.task === 'repetition' && c.cell.method === 'dense')!;
      const contents = await readFile(store.pathOf(dense.cell), 'utf8');
      const again = await runEvalGrid(options);
      assert.deepEqual(again.cells.map((c) => c.result), grid.cells.map((c) => c.result));
      assert.equal(await readFile(store.pathOf(dense.cell), 'utf8'), contents); // nothing redone
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
