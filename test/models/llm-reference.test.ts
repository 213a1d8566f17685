// The three families against PyTorch re-implementations of Hugging Face's forwards
// (tools/make_llm_fixtures.py): tiny random checkpoints, logits matched to 1e-4.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { noGrad } from '../../src/autograd/engine.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { LLM_FIXTURES, loadLlmFixture, maxAbsDifference } from './llm-fixture-models.js';

for (const name of LLM_FIXTURES) {
  test(`${name}: logits match the PyTorch reference (1e-4)`, async () => {
    const fixture = await loadLlmFixture(name);
    const ids = new Tensor(Int32Array.from(fixture.ids.flat()), 'i32', [fixture.ids.length, fixture.ids[0]!.length]);
    const got = noGrad(() => fixture.model.forward(ids)).toArray();
    const worst = maxAbsDifference(got, fixture.logits);
    assert.ok(worst < 1e-4, `max |logit difference| ${worst}`);
  });
}
