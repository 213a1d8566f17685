import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { argmax, GENERATION_RESERVE, runGenerationSample, runTeacherForcedSample } from '../../src/eval/driver.js';
import type { GenerationSample, TeacherForcedSample } from '../../src/eval/prompts.js';
import type { EvalModel, EvalTokenizer, MeasuredTransfers } from '../../src/eval/records.js';

const VOCAB = 16;

/** A model whose next token is (last + 1) mod VOCAB, recording how it was called. */
class CountingModel implements EvalModel {
  readonly contextLength: number;
  readonly vocabSize = VOCAB;
  calls: string[] = [];
  prefills: number[][] = [];
  private length = 0;

  constructor(contextLength = 1024) {
    this.contextLength = contextLength;
  }

  reset(): void {
    this.calls.push('reset');
    this.length = 0;
  }

  private logits(last: number): Float32Array {
    const out = new Float32Array(VOCAB);
    out[(last + 1) % VOCAB] = 5;
    out[(last + 2) % VOCAB] = 1;
    return out;
  }

  prefill(ids: readonly number[]): Float32Array {
    this.calls.push(`prefill ${ids.length}`);
    this.prefills.push([...ids]);
    this.length += ids.length;
    return this.logits(ids.at(-1)!);
  }

  decode(id: number): Float32Array {
    this.calls.push(`decode ${id}`);
    this.length++;
    return this.logits(id);
  }

  transfers(): MeasuredTransfers {
    const steps = this.calls.filter((c) => c.startsWith('decode')).length;
    return { steps, elements: steps * 10, denseElements: steps * 80 };
  }
}

/** Characters a..p are ids 0..15; BOS is 15 ('p'). */
const tokenizer: EvalTokenizer = {
  bos: 15,
  encode: (text) => [...text].map((c) => c.charCodeAt(0) - 97),
  decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
};

describe('eval driver: the reference harness rules', () => {
  it('dense prefill gives the first token; the policy decodes from the second; output cut to keepTokens', () => {
    const model = new CountingModel();
    const sample: GenerationSample = {
      task: 'repetition', id: 's', prompt: { text: 'abc' }, maxNewTokens: 4, keepTokens: 3,
      reference: { kind: 'continuation', text: 'defg' },
    };
    const outcome = runGenerationSample(model, tokenizer, sample);
    assert.deepEqual(model.calls, ['reset', 'prefill 4', 'decode 3', 'decode 4', 'decode 5']);
    assert.deepEqual(model.prefills[0], [15, 0, 1, 2]); // BOS + text
    assert.deepEqual(outcome.generated, [3, 4, 5, 6]);
    assert.equal(outcome.output, 'def'); // 3 kept tokens
    assert.equal(outcome.score, 4); // agrees to the end of the shorter: the reference's length, as repetition.py
    assert.equal(outcome.prefillTokens, 4);
    assert.deepEqual(outcome.transfers, { steps: 3, elements: 30, denseElements: 240 });
  });

  it('truncates the prompt from the left to the context less the generation reserve, BOS kept', () => {
    const model = new CountingModel(GENERATION_RESERVE + 3);
    const sample: GenerationSample = { task: 'squad', id: 'q', prompt: { text: 'abcdefgh' }, maxNewTokens: 1, keepTokens: 1, reference: { kind: 'answers', answers: ['i'] } };
    const outcome = runGenerationSample(model, tokenizer, sample);
    assert.deepEqual(model.prefills[0], [15, 6, 7]);
    assert.equal(outcome.output, 'i');
    assert.equal(outcome.score, 1);
    assert.deepEqual(model.calls, ['reset', 'prefill 3']); // one generated token: no policy step
  });

  it('needle: token prompts prefilled in chunks', () => {
    const model = new CountingModel(2048);
    const tokens = Array.from({ length: 600 }, (_, i) => i % 15);
    const sample: GenerationSample = { task: 'needle', id: 'n', prompt: { tokens }, maxNewTokens: 2, keepTokens: 2, prefillChunk: 256, reference: { kind: 'needle', text: 'x' } };
    runGenerationSample(model, tokenizer, sample);
    assert.deepEqual(model.calls, ['reset', 'prefill 256', 'prefill 256', 'prefill 88', `decode ${(599 % 15) + 1}`]);
    assert.deepEqual(model.prefills.flat(), tokens);
  });

  it('refuses prompts that do not fit the context with their generation', () => {
    const model = new CountingModel(300);
    const sample: GenerationSample = { task: 'needle', id: 'n', prompt: { tokens: Array(290).fill(1) }, maxNewTokens: 20, keepTokens: 20, reference: { kind: 'needle', text: 'x' } };
    assert.throws(() => runGenerationSample(model, tokenizer, sample), /290 prompt tokens \+ 20 generated exceed the model's context of 300/);
  });

  it('BPC: first NLL from the prefill logits, then teacher-forced decode steps; equals the direct computation', () => {
    const model = new CountingModel();
    const sample: TeacherForcedSample = { task: 'wikitext-bpc', id: 'w', prefill: 'abc', reference: 'dfh', maxReferenceTokens: 256 };
    const outcome = runTeacherForcedSample(model, tokenizer, sample);
    assert.deepEqual(model.calls, ['reset', 'prefill 4', 'decode 3', 'decode 5']);
    // logits: 5 at last+1, 1 at last+2, 0 elsewhere. 'd' after 'c' is last+1; 'f' after 'd' is last+2; 'h' after 'f' is last+2.
    const z = Math.log(Math.exp(5) + Math.exp(1) + (VOCAB - 2));
    const nll = [z - 5, z - 1, z - 1];
    outcome.nll.forEach((v, i) => assert.ok(Math.abs(v - nll[i]!) < 1e-6, `${v} vs ${nll[i]}`));
    assert.ok(Math.abs(outcome.score - (nll[0]! + nll[1]! + nll[2]!) / Math.LN2 / 3) < 1e-6);
    assert.throws(() => runTeacherForcedSample(model, tokenizer, { ...sample, maxReferenceTokens: 2 }), /reference has 3 tokens, over max_reference_tokens=2/);
  });

  it('argmax takes the first of equal maxima', () => {
    assert.equal(argmax([1, 3, 3, 2]), 1);
    assert.equal(argmax([-Infinity, -1]), 1);
  });
});

describe('running a cell', () => {
  const cell = { model: 'm', task: 'repetition' as const, method: 'dense', compression: 1, variant: '', seed: 0 };
  const sample = (id: string, text: string): GenerationSample => ({
    task: 'repetition', id, prompt: { text }, maxNewTokens: 3, keepTokens: 3, reference: { kind: 'continuation', text: 'def' },
  });

  it('skips done samples, records the rest as they come, and summarises with the standard error', async () => {
    const { runCell, summariseCell } = await import('../../src/eval/run-cell.js');
    const model = new CountingModel();
    const seen: number[] = [];
    let t = 0;
    // Against the target 'def': 'ghi' continues j, k, l (0 matched); 'abc' continues d, e, f (3 matched).
    const records = await runCell(cell, model, tokenizer, [sample('a', 'ghi'), sample('b', 'abc'), sample('c', 'bcd')], {
      done: new Set([2]),
      onRecord: (r) => { seen.push(r.index); },
      clock: () => (t += 0.5),
    });
    assert.deepEqual(seen, [0, 1]);
    assert.deepEqual(records.map((r) => [r.sampleId, r.output, r.score, r.seconds, r.achievedRatio, r.generatedTokens]), [
      ['a', 'jkl', 0, 0.5, 0.125, 3],
      ['b', 'def', 3, 0.5, 0.125, 3],
    ]);
    assert.deepEqual(records.map((r) => r.degenerate), [false, false]);
    const summary = summariseCell(records);
    assert.equal(summary.mean, 1.5);
    assert.equal(summary.degenerate, 0);
    assert.deepEqual(summary.degenerateAsZero, { n: 2, mean: 1.5, sem: summary.sem });
    assert.ok(Math.abs(summary.sem - 1.5) < 1e-12); // sd of {0, 3} is 3/sqrt(2); / sqrt(2)
    assert.equal(summary.achievedRatio, 0.125);
    await assert.rejects(runCell({ ...cell, task: 'squad' }, model, tokenizer, [sample('a', 'ghi')]), /sample a is of task repetition, the cell's is squad/);
  });

  it('repetition: whitespace-only outputs keep their full score and are counted, and scored 0 in the second summary', async () => {
    const { summariseCell } = await import('../../src/eval/run-cell.js');
    const base = { ...cell, sampleId: 's', prefillTokens: 1, generatedTokens: 1, achievedRatio: 1, transfers: { steps: 0, elements: 0, denseElements: 0 }, seconds: 0 };
    // One degenerate output of four (the house model at one checkpoint: 64 ± 64); one flagged by its record, the rest derived from the output.
    const records = [
      { ...base, index: 0, output: '\n\n\n', score: 256, degenerate: true },
      { ...base, index: 1, output: ' And', score: 0 },
      { ...base, index: 2, output: 'x', score: 0 },
      { ...base, index: 3, output: '\n\nKING', score: 0 },
    ];
    const s = summariseCell(records);
    assert.equal(s.mean, 64);
    assert.equal(s.sem, 64);
    assert.equal(s.degenerate, 1);
    assert.deepEqual(s.degenerateAsZero, { n: 4, mean: 0, sem: 0 });
    const derived = summariseCell([{ ...base, index: 0, output: ' \n ', score: 250 }, { ...base, index: 1, output: 'Fir', score: 3 }]);
    assert.equal(derived.degenerate, 1);
    assert.deepEqual(derived.degenerateAsZero, { n: 2, mean: 1.5, sem: 1.5 });
  });

  it('binary tasks get the binomial standard error', async () => {
    const { summariseCell } = await import('../../src/eval/run-cell.js');
    const base = { ...cell, task: 'needle' as const, sampleId: 's', prefillTokens: 1, generatedTokens: 1, output: '', achievedRatio: null, transfers: { steps: 0, elements: 0, denseElements: 0 }, seconds: 0 };
    const s = summariseCell([1, 1, 0, 1].map((score, index) => ({ ...base, index, score })));
    assert.equal(s.mean, 0.75);
    assert.ok(Math.abs(s.sem - Math.sqrt(0.75 * 0.25 / 4)) < 1e-12);
    assert.equal(s.achievedRatio, null);
    assert.equal(s.degenerate, null);
    assert.equal(s.degenerateAsZero, null);
  });
});
