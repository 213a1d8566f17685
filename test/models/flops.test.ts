import { test } from 'node:test';
import { Command } from 'commander';
import assert from 'node:assert/strict';

import { backward } from '../../src/autograd/engine.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { getBackend, withBackend } from '../../src/backend/backend.js';
import { bertConfig, createPreTrainingModel, groupBertConfig, modelConfig, sizePreset, type Architecture } from '../../src/models/bert-presets.js';
import { createFlopCounter, trainingFlops } from '../../src/models/flops.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray } from '../../src/tensor/tensor.js';
import { registerFlopsCommand } from '../../src/cli/commands/flops.js';
import { blockSparseLayout, type BlockSparseLayout } from '../../src/nn/block-sparse-layout.js';

const close = (actual: number, expected: number, rel: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= rel * expected, `${what}: ${actual.toExponential(4)} vs ${expected.toExponential(4)}`);

test('BERT non-embedding training FLOPs reproduce the dynamic-sparse BERT paper (0.5%)', () => {
  const flops = (size: string, sparsity: number): number =>
    trainingFlops('bert', bertConfig(sizePreset(size)), { seqLength: 128, density: 1 - sparsity }).nonEmbeddingTrainFlopsPerSequence;
  close(flops('mini', 0), 2.617e9, 0.005, 'Mini dense');
  close(flops('small', 0), 1.007e10, 0.005, 'Small dense');
  close(flops('medium', 0.9), 2.738e9, 0.005, 'Medium s=0.9');
  close(flops('base', 0.9), 8.335e9, 0.005, 'Base s=0.9');
});

test('the formula: 6*S*sum(f*12*H^2) + 12*S^2*H*L for BERT, and heads on top for the total', () => {
  const config = bertConfig(sizePreset('mini'));
  const r = trainingFlops('bert', config, { seqLength: 64, density: 0.25, predictedPositions: 10 });
  const [h, l, s] = [256, 4, 64];
  assert.equal(r.nonEmbeddingTrainFlopsPerSequence, 6 * s * l * 0.25 * 12 * h * h + 12 * s * s * h * l);
  const heads = 3 * (10 * (2 * h * h + 2 * h * config.vocabSize) + 2 * (h * h + 2 * h));
  assert.equal(r.totalTrainFlopsPerSequence, r.nonEmbeddingTrainFlopsPerSequence + heads);
  assert.throws(() => trainingFlops('bert', config, { seqLength: 64, density: 0 }), /density must be in \(0, 1\]/);
});

test('GroupBERT modules: GLU + grouped conv + output, grouped FFN + mixer, attention', () => {
  const config = groupBertConfig(sizePreset('micro-m'));
  const [h, s, inner] = [128, 128, 512];
  const r = trainingFlops('groupbert', config, { seqLength: s });
  const conv = 2 * s * (2 * h * h + h * 16 * 7 + h * h);
  const ffn = 2 * s * (h * inner + (inner * h) / 4 + h * h);
  const attention = 2 * s * 4 * h * h + 4 * s * s * h;
  assert.equal(r.nonEmbeddingForwardFlopsPerSequence, 4 * (conv + 2 * ffn + attention));
  assert.equal(r.nonEmbeddingTrainFlopsPerSequence, 3 * r.nonEmbeddingForwardFlopsPerSequence);
});

for (const arch of ['bert', 'groupbert'] as Architecture[]) {
  test(`${arch}: a traced forward and backward pass count the FLOPs the formula gives`, () => {
    const config = modelConfig(arch, sizePreset('micro-xs'), { vocabSize: 97, dropout: 0 });
    const model = createPreTrainingModel(arch, config, { rng: new Rng(5) });
    const [batch, seq] = [2, 16];
    const rng = new Rng(9);
    const ids = fromArray(Array.from({ length: batch * seq }, () => rng.int(97)), [batch, seq], { dtype: 'i32' });
    const counter = createFlopCounter(getBackend());
    const expected = trainingFlops(arch, config, { seqLength: seq });
    // The encoder alone is the non-embedding part.
    const hidden = withBackend(counter.backend, () => model.encode({ inputIds: ids }));
    assert.equal(counter.total(), batch * expected.nonEmbeddingForwardFlopsPerSequence);
    if (arch === 'groupbert') assert.ok(counter.counts.conv > 0);
    counter.reset();
    withBackend(counter.backend, () => backward(sum(hidden)));
    assert.equal(counter.total(), 2 * batch * expected.nonEmbeddingForwardFlopsPerSequence, 'backward = 2 x forward');
    // The whole pre-training forward with the head on 5 positions per sequence.
    counter.reset();
    const positions = fromArray([0, 3, 7, 9, 15, 16, 20, 25, 30, 31], [10], { dtype: 'i32' });
    withBackend(counter.backend, () => model.forward({ inputIds: ids }, { mlmPositions: positions }));
    const total = trainingFlops(arch, config, { seqLength: seq, predictedPositions: 5 });
    assert.equal(counter.total(), batch * total.totalForwardFlopsPerSequence);
  });
}

for (const arch of ['bert', 'groupbert'] as Architecture[]) {
  test(`${arch} block-sparse (8x8, density 0.1): a traced forward and backward count 3 x 2 x tokens x active weights, attention scores dense`, () => {
    const config = modelConfig(arch, sizePreset('micro-xs'), { vocabSize: 97, dropout: 0 });
    const [block, density] = [8, 0.1];
    const layouts: BlockSparseLayout[] = [];
    const encoderLinearLayout = (): BlockSparseLayout => {
      const layout = blockSparseLayout({ block, density });
      layouts.push(layout);
      return layout;
    };
    const model = createPreTrainingModel(arch, config, { rng: new Rng(5), encoderLinearLayout });
    assert.equal(layouts.length, arch === 'bert' ? 6 * config.numLayers : (2 * 2 + 2 + 4) * config.numLayers, 'every encoder Linear is sparse');
    const [batch, seq] = [2, 16];
    const rng = new Rng(9);
    const ids = fromArray(Array.from({ length: batch * seq }, () => rng.int(97)), [batch, seq], { dtype: 'i32' });
    const counter = createFlopCounter(getBackend());
    const expected = trainingFlops(arch, config, { seqLength: seq, density, block });
    // The active weights of the encoder's sparse layers, from the patterns themselves.
    const active = layouts.reduce((acc, l) => acc + l.pattern.rowPtr[l.pattern.rowPtr.length - 1]! * block * block, 0);
    const attentionScores = 4 * seq * seq * config.hiddenSize * config.numLayers;
    const ownLayout = expected.nonEmbeddingForwardFlopsPerSequence - 2 * seq * active - attentionScores;
    if (arch === 'bert') assert.equal(ownLayout, 0, 'BERT: the formula is 2 x tokens x active weights + attention scores');
    const hidden = withBackend(counter.backend, () => model.encode({ inputIds: ids }));
    assert.equal(counter.total(), batch * expected.nonEmbeddingForwardFlopsPerSequence);
    assert.equal(counter.counts.blockSparse, batch * 2 * seq * active);
    counter.reset();
    withBackend(counter.backend, () => backward(sum(hidden)));
    assert.equal(counter.total(), 2 * batch * expected.nonEmbeddingForwardFlopsPerSequence, 'backward = 2 x forward');
    assert.equal(counter.counts.blockSparse, 2 * batch * 2 * seq * active);
    assert.equal(expected.nonEmbeddingTrainFlopsPerSequence, 3 * expected.nonEmbeddingForwardFlopsPerSequence);
    assert.ok(expected.nonEmbeddingTrainFlopsPerSequence < trainingFlops(arch, config, { seqLength: seq }).nonEmbeddingTrainFlopsPerSequence / 2);
  });
}

test('parameter counts of the accountant match the models', () => {
  for (const arch of ['bert', 'groupbert'] as Architecture[]) {
    const config = modelConfig(arch, sizePreset('micro-s'), { vocabSize: 300 });
    const model = createPreTrainingModel(arch, config);
    const r = trainingFlops(arch, config, { seqLength: 128 });
    const embeddings = (300 + 128 + 2) * 128 + 2 * 128;
    const heads = 128 * 128 + 128 + 2 * 128 + 300 + (128 * 128 + 128) + (2 * 128 + 2);
    assert.equal(r.embeddingParameters, embeddings);
    assert.equal(model.numParameters(), r.nonEmbeddingParameters + embeddings + heads, arch);
  }
});

async function runCommand(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'thrifty', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

test('thrifty flops --json prints the per-sequence FLOPs of the paper (Small dense, Medium at s = 0.9)', async () => {
  const small = JSON.parse(await runCommand(registerFlopsCommand, ['flops', '--arch', 'bert', '--size', 'small', '--json'])) as Record<string, number>;
  close(small['nonEmbeddingTrainFlopsPerSequence']!, 1.007e10, 0.005, 'Small');
  assert.ok(small['totalTrainFlopsPerSequence']! > small['nonEmbeddingTrainFlopsPerSequence']!);
  const medium = JSON.parse(await runCommand(registerFlopsCommand, ['flops', '--arch', 'bert', '--size', 'medium', '--sparsity', '0.9', '--json'])) as Record<string, number>;
  close(medium['nonEmbeddingTrainFlopsPerSequence']!, 2.738e9, 0.005, 'Medium s=0.9');
  const table = await runCommand(registerFlopsCommand, ['flops', '--arch', 'groupbert', '--size', 'micro-s', '--seq', '64']);
  assert.match(table, /groupbert micro-s: L=2 H=128/);
  assert.match(table, /conv\s+2 x/);
  await assert.rejects(runCommand(registerFlopsCommand, ['flops', '--arch', 'bert', '--size', 'mini', '--sparsity', '1']), /--sparsity expects a number in \[0, 1\)/);
  await assert.rejects(runCommand(registerFlopsCommand, ['flops', '--arch', 'bert', '--size', 'huge']), /unknown model size 'huge'/);
});
