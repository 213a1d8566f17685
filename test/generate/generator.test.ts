// Generation with a KV cache reproduces the reference logits at every position: prefill (whole
// or in chunks), one-token decode steps, batches of sequences at different positions, and the
// sparse policies in their exact limits (SparQ with r = d_h and k >= S, H2O and LM-Infinite
// with k >= S).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { AttentionSpec } from '../../src/attention/policy.js';
import type { AttentionKernels } from '../../src/ops/attention-kernels.js';
import { Generator } from '../../src/generate/generator.js';
import { LLM_FIXTURES, loadLlmFixture, maxAbsDifference, referenceRow, type LlmFixture } from '../models/llm-fixture-models.js';

const TOLERANCE = 1e-4;

/** Prefills `promptLength` tokens of row b, then decodes the rest one at a time, checking each position. */
function checkIncremental(fixture: LlmFixture, generator: Generator, b: number, promptLength: number, label: string,
  tolerance = TOLERANCE): void {
  const ids = fixture.ids[b]!;
  generator.reset();
  let logits = generator.prefill(0, ids.slice(0, promptLength));
  for (let t = promptLength - 1; t < ids.length; t++) {
    const worst = maxAbsDifference(logits, referenceRow(fixture, b, t));
    assert.ok(worst < tolerance, `${label}: position ${t}: max |logit difference| ${worst}`);
    if (t + 1 < ids.length) logits = generator.decode([0], [ids[t + 1]!]);
  }
}

for (const name of LLM_FIXTURES) {
  test(`${name}: cached decode reproduces the reference logits at every position`, async () => {
    const fixture = await loadLlmFixture(name);
    const generator = new Generator(fixture.model, { attention: { kind: 'dense' } });
    checkIncremental(fixture, generator, 0, 1, 'from one token');
    checkIncremental(fixture, generator, 1, 5, 'from five tokens');
  });
}

test('chunked prefill (chunks of 3 and 5) equals the reference', async () => {
  const fixture = await loadLlmFixture('llama-tiny');
  for (const prefillChunk of [3, 5]) {
    const generator = new Generator(fixture.model, { attention: { kind: 'dense' }, prefillChunk });
    checkIncremental(fixture, generator, 0, 10, `chunk ${prefillChunk}`);
  }
});

test('a batch of sequences at different positions decodes together, each matching the reference', async () => {
  for (const name of ['llama-tiny', 'gpt2-tiny']) {
    const fixture = await loadLlmFixture(name);
    const generator = new Generator(fixture.model, { attention: { kind: 'dense' }, sequences: 3 });
    const [row0, row1] = [fixture.ids[0]!, fixture.ids[1]!];
    // Sequence 2 holds row 0 too, so the batch has two sequences at the same position as well.
    const prompts = [row0.slice(0, 3), row1.slice(0, 7), row0.slice(0, 3)];
    prompts.forEach((p, s) => generator.prefill(s, p));
    for (let step = 0; step < 4; step++) {
      const positions = [3 + step, 7 + step, 3 + step];
      const rows = [row0, row1, row0];
      const logits = generator.decode([0, 1, 2], positions.map((t, i) => rows[i]![t]!));
      positions.forEach((t, i) => {
        const got = logits.subarray(i * fixture.vocab, (i + 1) * fixture.vocab);
        const worst = maxAbsDifference(got, referenceRow(fixture, i === 1 ? 1 : 0, t));
        assert.ok(worst < TOLERANCE, `${name} sequence ${i} position ${t}: ${worst}`);
      });
    }
  }
});

test('SparQ with r = d_h and k >= S, H2O and LM-Infinite with k >= S equal dense', async () => {
  for (const name of ['llama-tiny', 'gpt-neox-tiny']) {
    const fixture = await loadLlmFixture(name);
    const headDim = fixture.model.config.headDim;
    const specs: AttentionSpec[] = [
      { kind: 'sparq', rank: headDim, topK: 64, localWindow: 4, reallocation: true },
      { kind: 'sparq', rank: headDim, topK: 64, localWindow: 4, reallocation: false },
      { kind: 'h2o', topK: 64 },
      { kind: 'lm-infinite', topK: 64 },
    ];
    for (const spec of specs) {
      const generator = new Generator(fixture.model, { attention: spec });
      checkIncremental(fixture, generator, 1, 2, `${name} ${JSON.stringify(spec)}`);
    }
  }
});

test('generate: greedy continuation, stop tokens, length limit, statistics', async () => {
  const fixture = await loadLlmFixture('llama-tiny');
  const generator = new Generator(fixture.model, { attention: { kind: 'dense' }, sequences: 2 });
  const prompt = fixture.ids[0]!.slice(0, 4);
  const streamed: Array<[number, number]> = [];
  const free = generator.generate([prompt], { maxNewTokens: 6, sampler: { temperature: 0 }, stopTokens: [], onToken: (s, id) => streamed.push([s, id]) });
  assert.equal(free.tokens[0]!.length, 6);
  assert.deepEqual(streamed.map(([, id]) => id), free.tokens[0]);
  assert.deepEqual(free.stopReasons, ['length']);
  // Greedy equals argmax of the full forward over prompt + continuation so far.
  generator.reset();
  let logits = generator.prefill(0, prompt);
  for (const id of free.tokens[0]!) {
    let best = 0;
    for (let v = 1; v < fixture.vocab; v++) if (logits[v]! > logits[best]!) best = v;
    assert.equal(id, best);
    logits = generator.decode([0], [id]);
  }
  // Stopping at the third token's id ends the sequence before it (the first occurrence).
  const stopAt = free.tokens[0]![2]!;
  const firstIndex = free.tokens[0]!.indexOf(stopAt);
  const stopped = generator.generate([prompt, prompt], { maxNewTokens: 6, sampler: { temperature: 0 }, stopTokens: [stopAt] });
  assert.deepEqual(stopped.tokens[0], free.tokens[0]!.slice(0, firstIndex));
  assert.deepEqual(stopped.tokens[1], stopped.tokens[0]);
  assert.deepEqual(stopped.stopReasons, ['stop-token', 'stop-token']);
  const s = free.stats;
  assert.equal(s.promptTokens, 4);
  assert.equal(s.generatedTokens, 6);
  assert.equal(s.decodeSteps, 5);
  assert.equal(s.attention.ratio, 1);
  assert.ok(s.attention.elementsPerStep > 0 && s.decodeTokensPerSecond > 0);
});

test('the context limit ends generation; bad prompts and sequences are refused', async () => {
  const fixture = await loadLlmFixture('gpt2-tiny'); // 32 positions
  const generator = new Generator(fixture.model, { attention: { kind: 'dense' } });
  const result = generator.generate([fixture.ids[0]!.slice(0, 10)], { maxNewTokens: 100, sampler: { temperature: 0 }, stopTokens: [] });
  // 32 cached positions: 10 prompt tokens + 22 fed back; the 23rd generated token needs no slot.
  assert.equal(result.tokens[0]!.length, 23);
  assert.deepEqual(result.stopReasons, ['context']);
  assert.throws(() => generator.generate([[]], { maxNewTokens: 1 }), /at least one token/);
  assert.throws(() => generator.generate([[1, 1000]], { maxNewTokens: 1 }), /token id 1000/);
  assert.throws(() => generator.generate([[1], [2]], { maxNewTokens: 1 }), /2 prompts for a generator of 1/);
  assert.throws(() => generator.decode([1], [1]), /sequence 1 is outside/);
});

test('with the wasm backend: weights in arenas, cache and attention in wasm kernels, same logits', async () => {
  const { initNodeBackend } = await import('../../src/node/backend.js');
  const { WasmAttention } = await import('../../src/backend/wasm/attention.js');
  const engine = await initNodeBackend({ threads: 2 });
  try {
    const fixture = await loadLlmFixture('llama-tiny', { alloc: (n) => engine.wasm.allocF32(n), trainable: false });
    const kernels = new WasmAttention(engine.wasm);
    const sparq: AttentionSpec = { kind: 'sparq', rank: fixture.model.config.headDim, topK: 64, localWindow: 4 };
    // The baselines in their exact limits (k >= S) on their wasm kernels.
    const runs: Array<[AttentionSpec, boolean]> = [[{ kind: 'dense' }, false], [sparq, true], [sparq, false],
      [{ kind: 'h2o', topK: 64, localWindow: 4 }, false], [{ kind: 'lm-infinite', topK: 64 }, false],
      [{ kind: 'flexgen', topK: 64 }, false], [{ kind: 'oracle', topK: 64 }, false]];
    for (const [spec, storeKTransposed] of runs) {
      // An f32 cache: the logits then match PyTorch's to 1e-4 (f16: test/generate/kv-dtype.test.ts).
      const generator = new Generator(fixture.model, { attention: spec, kernels, storeKTransposed, kvDType: 'f32' });
      const before = kernels.calls;
      checkIncremental(fixture, generator, 0, 3, `wasm ${spec.kind}`);
      assert.ok(kernels.calls > before, `${spec.kind}: the wasm attention kernels did not run`);
      generator.dispose();
    }
    // Without kernels: the active backend's (the wasm ones), cache in its arenas.
    const byDefault = new Generator(fixture.model, { attention: { kind: 'dense' } });
    assert.equal(byDefault.kernels.name, 'wasm');
    assert.equal(byDefault.kernelsNote, null);
    assert.ok(byDefault.kernels.isResident(byDefault.cache.head(0, 0, 0).data));
    // ... and their default KV dtype, f16: K and V rounded to 11 significant bits.
    assert.equal(byDefault.cache.dtype, 'f16');
    checkIncremental(fixture, byDefault, 0, 3, 'wasm by default', 1e-2);
    byDefault.dispose();
  } finally {
    engine.dispose();
  }
});

test('kernels that cannot handle the head size are replaced by the reference kernels, and the generator says so', async () => {
  const { referenceAttentionKernels } = await import('../../src/attention/reference-kernels.js');
  const fixture = await loadLlmFixture('llama-tiny');
  const r = referenceAttentionKernels;
  const picky: AttentionKernels = {
    name: 'picky', needsResidentCache: false, defaultKvDType: 'f32', isResident: () => true, supports: () => false,
    dense: r.dense.bind(r), sparq: r.sparq.bind(r), lmInfinite: r.lmInfinite.bind(r), exactTopK: r.exactTopK.bind(r), h2o: r.h2o.bind(r),
    randomProjection: r.randomProjection.bind(r),
  };
  const generator = new Generator(fixture.model, { attention: { kind: 'dense' }, kernels: picky });
  assert.equal(generator.kernels, referenceAttentionKernels);
  assert.equal(generator.kernelsNote, `the picky attention kernels do not handle heads of ${fixture.model.config.headDim}; decode attention runs on the reference kernels`);
  checkIncremental(fixture, generator, 0, 3, 'reference instead');
  generator.dispose();
});

test('a policy whose kernel the backend lacks runs on the reference kernels, and the generator says so', async () => {
  const { referenceAttentionKernels } = await import('../../src/attention/reference-kernels.js');
  const fixture = await loadLlmFixture('llama-tiny');
  const r = referenceAttentionKernels;
  // As the wasm kernels: every head size of the model, no random-projection kernel (WasmAttention.missing).
  const partial: AttentionKernels = {
    name: 'partial', needsResidentCache: false, defaultKvDType: 'f32', isResident: () => true, supports: (_headDim, kernel) => kernel !== 'random-projection',
    dense: r.dense.bind(r), sparq: r.sparq.bind(r), lmInfinite: r.lmInfinite.bind(r), exactTopK: r.exactTopK.bind(r), h2o: r.h2o.bind(r),
    randomProjection: () => assert.fail('the missing kernel was called'),
  };
  const spec: AttentionSpec = { kind: 'random-projection', rank: fixture.model.config.headDim, topK: 64, localWindow: 4 };
  const generator = new Generator(fixture.model, { attention: spec, kernels: partial });
  assert.equal(generator.kernels, referenceAttentionKernels);
  assert.equal(generator.kernelsNote, 'the partial attention kernels have no random-projection kernel; decode attention runs on the reference kernels');
  // k >= S: the policy is dense attention, so the incremental logits match the fixture.
  checkIncremental(fixture, generator, 0, 3, 'random-projection on the reference kernels');
  generator.dispose();
  const dense = new Generator(fixture.model, { attention: { kind: 'dense' }, kernels: partial });
  assert.equal(dense.kernels, partial);
  assert.equal(dense.kernelsNote, null);
  dense.dispose();
});

test('prefill is dense whatever the chunking: a last chunk of one token, and a one-token prompt appended to the cache', async () => {
  const fixture = await loadLlmFixture('llama-tiny');
  const ids = fixture.ids[0]!;
  // SparQ with r = 1, k = 1 (and H2O with k = 1) would change these logits if the one-token chunk went through it.
  const specs: AttentionSpec[] = [{ kind: 'sparq', rank: 1, topK: 1, localWindow: 0 }, { kind: 'h2o', topK: 1, localWindow: 0 }];
  for (const spec of specs) {
    const generator = new Generator(fixture.model, { attention: spec, prefillChunk: 4 });
    // 5 = chunk + 1 tokens: chunks of 4 and 1.
    const logits = generator.prefill(0, ids.slice(0, 5));
    let worst = maxAbsDifference(logits, referenceRow(fixture, 0, 4));
    assert.ok(worst < TOLERANCE, `${spec.kind}: chunk + 1 tokens: max |logit difference| ${worst}`);
    assert.equal(generator.policy.counters.get().steps, 0, `${spec.kind}: a prefill went through the policy`);
    // A one-token prefill call appended to what the sequence holds (needle's chunked prefill).
    const appended = generator.prefill(0, [ids[5]!]);
    worst = maxAbsDifference(appended, referenceRow(fixture, 0, 5));
    assert.ok(worst < TOLERANCE, `${spec.kind}: appended one-token prefill: max |logit difference| ${worst}`);
    // Decode still goes through the policy (and, with k = 1, no longer matches the reference).
    const decoded = generator.decode([0], [ids[6]!]);
    assert.ok(generator.policy.counters.get().steps > 0);
    assert.ok(maxAbsDifference(decoded, referenceRow(fixture, 0, 6)) > TOLERANCE, `${spec.kind}: the policy did not apply at decode`);
    generator.dispose();
  }
});
