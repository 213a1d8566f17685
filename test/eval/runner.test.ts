// The evaluation stack on the bundled model (models/default, context 512, heads of 32): dense
// prefill gives the first token whatever the policy, teacher-forced BPC equals a direct
// computation from one cache-free forward, and a 2-sample grid (repetition and WikiText BPC x
// dense and SparQ at 1/8) runs, records measured transfers and resumes without redoing work.

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

  it('a 2-sample grid of repetition and BPC, dense and SparQ 1/8: records, measured ratios, resume', async (t) => {
    const dir = await bundledModel(t);
    if (!dir) return;
    if (!dataFileOrSkip(t, 'text/tinyshakespeare/input.txt') || !dataFileOrSkip(t, 'text/wikitext-2-raw/wiki.test.raw')) return;
    const out = await mkdtemp(join(tmpdir(), 'thrifty-eval-grid-'));
    try {
      const options = {
        model: dir,
        tasks: ['repetition', 'wikitext-bpc'] as const,
        methods: [{ attention: 'dense', compression: 1 }, { attention: 'sparq', compression: 1 / 8 }],
        samples: 2,
        outDir: out,
      };
      const first = await runEvalGrid({ ...options, tasks: [...options.tasks] });
      assert.equal(first.length, 4);
      const store = new EvalStore(out);
      for (const { cell, result } of first) {
        const records = await store.read(cell);
        assert.equal(records.length, 2, `${cell.task} ${cell.method}`);
        assert.equal(result.n, 2);
        for (const r of records) {
          assert.ok(r.prefillTokens > 200 && r.prefillTokens <= 512 - 256, `prefill ${r.prefillTokens}`);
          if (cell.task === 'repetition') assert.ok(Number.isInteger(r.score) && r.score >= 0 && r.output.length > 0);
          else assert.ok(r.score > 0.3 && r.score < 10, `bpc ${r.score}`);
          if (cell.method === 'dense') assert.equal(r.achievedRatio, 1);
          else assert.ok(r.achievedRatio !== null && r.achievedRatio > 0 && r.achievedRatio < 0.6, `ratio ${r.achievedRatio}`);
          assert.equal(r.transfers.steps, r.generatedTokens - 1); // the first token came from the prefill
        }
      }
      const denseRep = first.find((c) => c.cell.task === 'repetition' && c.cell.method === 'dense')!;
      const contents = await readFile(store.pathOf(denseRep.cell), 'utf8');
      const again = await runEvalGrid({ ...options, tasks: [...options.tasks] });
      assert.deepEqual(again.map((c) => c.result), first.map((c) => c.result));
      assert.equal(await readFile(store.pathOf(denseRep.cell), 'utf8'), contents); // nothing redone
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
