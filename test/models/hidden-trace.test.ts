// The hidden-state trace (ForwardOptions.trace / traceHiddenStates): named intermediate tensors for
// comparing with PyTorch. The LLM fixtures store logits only, so the trace is checked by what it must
// be: the documented names and shapes, logits unchanged, 'final_norm' projected by the output
// weight giving the PyTorch logits, Llama's 'embeddings' the embedding rows. BERT's fixture stores
// last_hidden_state, which the trace's last entry must match.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { noGrad } from '../../src/autograd/engine.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { LLM_FIXTURES, loadLlmFixture, maxAbsDifference } from './llm-fixture-models.js';

/** x [N, D] times w [V, D] transposed, in plain loops. */
function projectRows(x: Float32Array, w: Float32Array, d: number): Float32Array {
  const rows = x.length / d;
  const v = w.length / d;
  const out = new Float32Array(rows * v);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < v; j++) {
      let sum = 0;
      for (let k = 0; k < d; k++) sum += x[r * d + k]! * w[j * d + k]!;
      out[r * v + j] = sum;
    }
  }
  return out;
}

const OUTPUT_WEIGHTS = ['lm_head.weight', 'embed_out.weight', 'model.embed_tokens.weight', 'gpt_neox.embed_in.weight', 'transformer.wte.weight'];

for (const name of LLM_FIXTURES) {
  test(`${name}: the trace names embeddings, every block and the final norm; the final norm feeds the head`, async () => {
    const fixture = await loadLlmFixture(name);
    const { model } = fixture;
    const [batch, tokens] = [fixture.ids.length, fixture.ids[0]!.length];
    const ids = new Tensor(Int32Array.from(fixture.ids.flat()), 'i32', [batch, tokens]);
    const { logits, states } = noGrad(() => model.traceHiddenStates(ids));
    const d = model.config.hiddenSize;
    const layers = model.config.numLayers;
    assert.deepEqual(states.map((s) => s.name), ['embeddings', ...Array.from({ length: layers }, (_, i) => `layers.${i}`), 'final_norm']);
    for (const s of states) assert.deepEqual(s.tensor.shape, [batch, tokens, d], s.name);
    const plain = noGrad(() => model.forward(ids)).toArray();
    assert.deepEqual(logits.toArray(), plain, 'tracing does not change the logits');
    assert.ok(maxAbsDifference(plain, fixture.logits) < 1e-4);

    const state = model.stateDict();
    const weightName = OUTPUT_WEIGHTS.find((n) => state.has(n))!;
    const finalNorm = states.at(-1)!.tensor.toArray() as Float32Array;
    const projected = projectRows(Float32Array.from(finalNorm), Float32Array.from(state.get(weightName)!.toArray()), d);
    assert.ok(maxAbsDifference(projected, fixture.logits) < 1e-4, `final_norm x ${weightName} gives the PyTorch logits`);
    assert.ok(maxAbsDifference(states.at(-2)!.tensor.toArray(), finalNorm) > 1e-3, 'the final norm is applied');

    if (name === 'llama-tiny') {
      const table = state.get('model.embed_tokens.weight')!.toArray();
      const embedded = states[0]!.tensor.toArray();
      fixture.ids.flat().forEach((id, row) => {
        assert.deepEqual(Array.from(embedded.slice(row * d, (row + 1) * d)), Array.from(table.slice(id * d, (id + 1) * d)));
      });
    }
    // With lastOnly the blocks' states keep every position; the final norm is the last one's.
    const last = noGrad(() => model.traceHiddenStates(ids, { lastOnly: true })).states;
    assert.deepEqual(last.at(-1)!.tensor.shape, [batch, 1, d]);
    assert.deepEqual(last.at(-2)!.tensor.shape, [batch, tokens, d]);
  });
}
