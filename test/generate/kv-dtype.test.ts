// The KV cache's element type in generation: an f16 cache (the wasm backend's default) keeps every
// fixture's logits close to the PyTorch reference and its greedy choices equal; the wasm kernels
// read the same f16 bits as the reference kernels (tight agreement); defaults per kernels.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import type { AttentionSpec } from '../../src/attention/policy.js';
import { referenceAttentionKernels } from '../../src/attention/reference-kernels.js';
import { WasmAttention } from '../../src/backend/wasm/attention.js';
import { WasmKernels } from '../../src/backend/wasm/kernels.js';
import { Generator } from '../../src/generate/generator.js';
import type { AttentionKernels, KvDType } from '../../src/ops/attention-kernels.js';
import { LLM_FIXTURES, loadLlmFixture, maxAbsDifference, referenceRow, type LlmFixture } from '../models/llm-fixture-models.js';

const wasmKernels = await WasmKernels.create({ threads: 1 });
const wasm = new WasmAttention(wasmKernels);
after(() => {
  wasm.dispose();
  wasmKernels.dispose();
});

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** Logits at every position of row 0 (prefill 2 tokens, then one-token decode steps). */
function allLogits(fixture: LlmFixture, kernels: AttentionKernels, kvDType: KvDType, attention: AttentionSpec): Float32Array[] {
  const generator = new Generator(fixture.model, { attention, kernels, kvDType });
  assert.equal(generator.cache.dtype, kvDType);
  const ids = fixture.ids[0]!;
  const rows = [generator.prefill(0, ids.slice(0, 2))];
  for (let t = 2; t < ids.length; t++) rows.push(generator.decode([0], [ids[t]!]));
  generator.dispose();
  return rows;
}

for (const name of LLM_FIXTURES) {
  test(`${name}: an f16 KV cache stays near the reference logits with the same greedy tokens; wasm reads the same bits`, async () => {
    const fixture = await loadLlmFixture(name);
    const dense: AttentionSpec = { kind: 'dense' };
    const f16 = allLogits(fixture, referenceAttentionKernels, 'f16', dense);
    const f32 = allLogits(fixture, referenceAttentionKernels, 'f32', dense);
    let worstF16 = 0;
    f16.forEach((row, i) => {
      const want = referenceRow(fixture, 0, i + 1);
      const scale = Math.max(...Array.from(want, Math.abs));
      // Halves keep 11 significant bits: K and V each off by <= 2^-12 relative.
      const err = maxAbsDifference(row, want) / scale;
      worstF16 = Math.max(worstF16, err);
      assert.ok(err < 5e-3, `position ${i + 1}: max |logit difference| / max |logit| = ${err}`);
      assert.equal(argmax(row), argmax(want), `position ${i + 1}: greedy token`);
      assert.ok(maxAbsDifference(f32[i]!, want) < 1e-4, `f32 cache at position ${i + 1}`);
    });
    assert.ok(worstF16 > 0, 'the f16 cache rounds something (else this test checks nothing)');
    if (fixture.model.config.headDim % 4 !== 0) return;
    // The wasm kernels over the same f16 bits: dense and SparQ in its exact limit agree tightly.
    for (const spec of [dense, { kind: 'sparq', rank: fixture.model.config.headDim, topK: 1000, localWindow: 1 }] as const) {
      const fast = allLogits(fixture, wasm, 'f16', spec);
      fast.forEach((row, i) => {
        const err = maxAbsDifference(row, f16[i]!);
        assert.ok(err < 1e-4, `${spec.kind} wasm vs reference, f16 cache, position ${i + 1}: ${err}`);
      });
    }
  });
}

test('the default KV dtype is the kernels\': f16 on wasm, f32 on the reference kernels', async () => {
  const fixture = await loadLlmFixture('llama-tiny');
  for (const [kernels, want] of [[wasm, 'f16'], [referenceAttentionKernels, 'f32']] as const) {
    const generator = new Generator(fixture.model, { attention: { kind: 'dense' }, kernels });
    assert.equal(generator.cache.dtype, want);
    generator.prefill(0, fixture.ids[0]!.slice(0, 3));
    generator.decode([0], [fixture.ids[0]![3]!]);
    const stats = generator.generate([[1, 2]], { maxNewTokens: 3 }).stats.attention;
    assert.equal(stats.kvDType, want);
    // Dense moves K and V only: bytes are elements times the element size.
    assert.equal(stats.denseBytesPerStep, stats.denseElementsPerStep * (want === 'f16' ? 2 : 4));
    generator.dispose();
  }
});
