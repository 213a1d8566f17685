import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { TokenizedCorpus } from '../../src/data/corpus.js';
import {
  createPairInstances,
  createValidationBatches,
  IGNORE_INDEX,
  maskTokensInto,
  MlmBatcher,
  mlmVocabOf,
  resolveMlmOptions,
  type MlmBatch,
  type MlmVocab,
  type PairInstance,
} from '../../src/data/mlm.js';
import { Rng } from '../../src/tensor/rng.js';

const PAD = 0;
const CLS = 2;
const SEP = 3;
const MASK = 4;
const FIRST_WORD = 5;

/**
 * A synthetic corpus in which every token is unique: token id = FIRST_WORD + its position in the
 * corpus, so a packed sequence shows exactly which document and sentence each token came from.
 * About a third of the tokens (never a sentence's first) are marked as ## continuation pieces.
 */
function syntheticCorpus(documents: number, seed = 1): { corpus: TokenizedCorpus; vocab: MlmVocab; documentOf: (id: number) => number } {
  const rng = new Rng(seed);
  const sentenceStarts = [0];
  const documentStarts = [0];
  let tokens = 0;
  for (let d = 0; d < documents; d++) {
    const sentences = 4 + rng.int(12);
    for (let s = 0; s < sentences; s++) {
      tokens += 3 + rng.int(25);
      sentenceStarts.push(tokens);
    }
    documentStarts.push(sentenceStarts.length - 1);
  }
  const size = FIRST_WORD + tokens;
  const isContinuation = new Uint8Array(size);
  const startsOfSentences = new Set(sentenceStarts);
  for (let t = 0; t < tokens; t++) if (!startsOfSentences.has(t) && rng.uniform() < 0.35) isContinuation[FIRST_WORD + t] = 1;
  const randomTokenIds = Int32Array.from({ length: tokens }, (_, t) => FIRST_WORD + t);
  const corpus: TokenizedCorpus = {
    tokens: Int32Array.from({ length: tokens }, (_, t) => FIRST_WORD + t),
    sentenceStarts: Int32Array.from(sentenceStarts),
    documentStarts: Int32Array.from(documentStarts),
    documentSources: Array.from({ length: documents }, (_, d) => `doc${d}`),
  };
  const documentOf = (id: number): number => {
    const position = id - FIRST_WORD;
    let sentence = sentenceStarts.findIndex((start) => start > position) - 1;
    if (sentence < 0) sentence = sentenceStarts.length - 2;
    return documentStarts.findIndex((start) => start > sentence) - 1;
  };
  return { corpus, vocab: { size, padId: PAD, clsId: CLS, sepId: SEP, maskId: MASK, isContinuation, randomTokenIds }, documentOf };
}

function segments(instance: PairInstance): { a: number[]; b: number[] } {
  const t = [...instance.tokens];
  return { a: t.slice(1, instance.lengthA + 1), b: t.slice(instance.lengthA + 2, -1) };
}

function isRun(ids: number[]): boolean {
  return ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1);
}

describe('pairing (create_instances_from_document)', () => {
  const { corpus, vocab, documentOf } = syntheticCorpus(60);

  it('packs [CLS] A [SEP] B [SEP] to at most S tokens, A and B from contiguous text', () => {
    const instances = createPairInstances(corpus, vocab, { seqLength: 64, shortSeqProb: 0 }, new Rng(3));
    assert.ok(instances.length > 100);
    let full = 0;
    for (const instance of instances) {
      const { tokens, lengthA } = instance;
      assert.ok(tokens.length <= 64);
      assert.equal(tokens[0], CLS);
      assert.equal(tokens[lengthA + 1], SEP);
      assert.equal(tokens[tokens.length - 1], SEP);
      const { a, b } = segments(instance);
      assert.ok(a.length >= 1 && b.length >= 1, 'empty segment');
      assert.ok(isRun(a) && isRun(b), 'a segment skips text');
      if (tokens.length === 64) full++;
    }
    // With no short sequences a chunk is filled to S unless it is a document's tail (one per
    // document) or its random B came from the end of a document.
    assert.ok(instances.length - full <= 60 * 1.2, `${full} of ${instances.length} full`);
    const short = createPairInstances(corpus, vocab, { seqLength: 64, shortSeqProb: 1 }, new Rng(3));
    const meanLength = short.reduce((sum, i) => sum + i.tokens.length, 0) / short.length;
    assert.ok(meanLength < 45, `mean length ${meanLength} with every document short`);
  });

  it('takes B from the same document right after A, or (NSP, about half) from another document', () => {
    const instances = createPairInstances(corpus, vocab, { seqLength: 128 }, new Rng(5));
    let random = 0;
    for (const instance of instances) {
      const { a, b } = segments(instance);
      if (instance.isRandomNext) {
        random++;
        assert.notEqual(documentOf(b[0]!), documentOf(a[0]!), 'random next from the same document');
      } else {
        assert.equal(documentOf(b[0]!), documentOf(a[0]!));
        assert.ok(b[0]! > a[a.length - 1]!, 'B does not follow A');
      }
    }
    const share = random / instances.length;
    assert.ok(Math.abs(share - 0.5) < 0.06, `random next ${share} of ${instances.length}`);
    const noNsp = createPairInstances(corpus, vocab, { seqLength: 128, nsp: false }, new Rng(5));
    assert.ok(noNsp.every((i) => !i.isRandomNext));
    for (const instance of noNsp) {
      const { a, b } = segments(instance);
      if (b.length > 0) assert.equal(documentOf(b[0]!), documentOf(a[0]!));
    }
  });

  it('validates its options, naming them', () => {
    assert.throws(() => resolveMlmOptions({ seqLength: 4 }), /seqLength must be an integer >= 5/);
    assert.throws(() => resolveMlmOptions({ maskProb: 1.5 }), /maskProb must be in \[0, 1\], got 1\.5/);
    assert.throws(() => resolveMlmOptions({ maskTokenProb: 0.8, randomTokenProb: 0.3 }), /maskTokenProb \+ randomTokenProb must be at most 1/);
    assert.equal(resolveMlmOptions({}).maxPredictions, 20);
    assert.equal(resolveMlmOptions({ seqLength: 512 }).maxPredictions, 80);
    assert.equal(resolveMlmOptions({ seqLength: 64 }).maxPredictions, 10);
  });
});

describe('masking (create_masked_lm_predictions)', () => {
  const { corpus, vocab } = syntheticCorpus(80, 2);
  const instances = createPairInstances(corpus, vocab, { seqLength: 128 }, new Rng(9));

  it('predicts 15% (at most maxPredictions), never [CLS]/[SEP], with 80/10/10 mask/random/keep', () => {
    const rng = new Rng(11);
    let predicted = 0;
    let candidates = 0;
    let masked = 0;
    let kept = 0;
    let replaced = 0;
    const ordinary = new Set(vocab.randomTokenIds);
    for (const instance of instances) {
      const { tokens } = instance;
      const inputIds = new Int32Array(tokens.length);
      const labels = new Int32Array(tokens.length);
      const count = maskTokensInto(tokens, vocab, {}, rng, inputIds, labels);
      // Python's round(len * 0.15), half to even, capped at 20.
      const expected = Math.min(20, Math.max(1, Math.round(tokens.length * 0.15)));
      if ((tokens.length * 0.15) % 1 !== 0.5) assert.equal(count, expected, `length ${tokens.length}`);
      let labelled = 0;
      for (let p = 0; p < tokens.length; p++) {
        const special = tokens[p] === CLS || tokens[p] === SEP;
        if (!special) candidates++;
        if (labels[p] === IGNORE_INDEX) {
          assert.equal(inputIds[p], tokens[p], 'an unpredicted token changed');
          continue;
        }
        assert.ok(!special, 'a special token was selected');
        assert.equal(labels[p], tokens[p]);
        labelled++;
        if (inputIds[p] === MASK) masked++;
        else if (inputIds[p] === tokens[p]) kept++;
        else {
          assert.ok(ordinary.has(inputIds[p]!));
          replaced++;
        }
      }
      assert.equal(labelled, count);
      predicted += count;
    }
    const share = predicted / candidates;
    assert.ok(Math.abs(share - 0.15) < 0.01, `selected ${share}`);
    assert.ok(Math.abs(masked / predicted - 0.8) < 0.02, `[MASK] ${masked / predicted}`);
    assert.ok(Math.abs(kept / predicted - 0.1) < 0.015, `kept ${kept / predicted}`);
    assert.ok(Math.abs(replaced / predicted - 0.1) < 0.015, `random ${replaced / predicted}`);
  });

  it('respects maxPredictions', () => {
    const rng = new Rng(12);
    for (const instance of instances.slice(0, 50)) {
      const n = instance.tokens.length;
      const count = maskTokensInto(instance.tokens, vocab, { maxPredictions: 5 }, rng, new Int32Array(n), new Int32Array(n));
      assert.equal(count, Math.min(5, Math.max(1, Math.round(n * 0.15))));
    }
  });

  it('masks whole words with wholeWordMask, and splits words without it', () => {
    const rng = new Rng(13);
    let splitWords = 0;
    for (const wholeWordMask of [true, false]) {
      for (const instance of instances) {
        const { tokens } = instance;
        const labels = new Int32Array(tokens.length);
        const count = maskTokensInto(tokens, vocab, { wholeWordMask }, rng, new Int32Array(tokens.length), labels);
        assert.ok(count <= 20);
        for (let p = 2; p < tokens.length; p++) {
          const continues = vocab.isContinuation[tokens[p]!] === 1 && tokens[p - 1] !== SEP && tokens[p - 1] !== CLS;
          if (!continues) continue;
          const samePrediction = (labels[p] === IGNORE_INDEX) === (labels[p - 1] === IGNORE_INDEX);
          if (wholeWordMask) assert.ok(samePrediction, `a ## piece at ${p} was masked apart from its word`);
          else if (!samePrediction) splitWords++;
        }
      }
    }
    assert.ok(splitWords > 50, 'token-level masking never split a word');
  });
});

function rowsOf(batch: MlmBatch): string[] {
  const rows: string[] = [];
  for (let r = 0; r < batch.batchSize; r++) rows.push(batch.inputIds.subarray(r * batch.seqLength, (r + 1) * batch.seqLength).join(','));
  return rows;
}

describe('MlmBatcher', () => {
  const { corpus, vocab } = syntheticCorpus(30, 4);

  it('fills [B, S] arrays: padding, attention mask, token types, labels, NSP labels, counts', () => {
    const batcher = new MlmBatcher(corpus, vocab, { batchSize: 16, seed: 1, seqLength: 96, shortSeqProb: 0.5 });
    const batch = batcher.next();
    assert.equal(batch.inputIds.length, 16 * 96);
    assert.equal(batch.nspLabels?.length, 16);
    let tokens = 0;
    let predictions = 0;
    for (let r = 0; r < 16; r++) {
      const row = (a: Int32Array): number[] => [...a.subarray(r * 96, (r + 1) * 96)];
      const ids = row(batch.inputIds);
      const mask = row(batch.attentionMask);
      const types = row(batch.tokenTypeIds);
      const length = mask.indexOf(0) === -1 ? 96 : mask.indexOf(0);
      assert.ok(mask.slice(length).every((m) => m === 0) && mask.slice(0, length).every((m) => m === 1));
      assert.ok(ids.slice(length).every((id) => id === PAD), 'padding is not [PAD]');
      assert.equal(ids[0], CLS);
      assert.equal(ids[length - 1], SEP);
      const firstB = types.indexOf(1);
      assert.equal(ids[firstB - 1], SEP, 'token type 1 does not start after the first [SEP]');
      assert.ok(types.slice(firstB, length).every((t) => t === 1) && types.slice(length).every((t) => t === 0));
      assert.ok(batch.nspLabels![r] === 0 || batch.nspLabels![r] === 1);
      tokens += length;
      predictions += row(batch.mlmLabels).filter((l) => l !== IGNORE_INDEX).length;
    }
    assert.equal(batch.numTokens, tokens);
    assert.equal(batch.numPredictions, predictions);
    const noNsp = new MlmBatcher(corpus, vocab, { batchSize: 4, seed: 1, nsp: false }).next();
    assert.equal(noNsp.nspLabels, null);
  });

  it('is deterministic from the seed and resumes exactly from its state, across epochs', () => {
    const make = (seed: number): MlmBatcher => new MlmBatcher(corpus, vocab, { batchSize: 8, seed, seqLength: 64 });
    const a = make(5);
    const b = make(5);
    for (let i = 0; i < 5; i++) assert.deepEqual(a.next(), b.next());
    assert.notDeepEqual(make(6).next().inputIds, make(5).next().inputIds);

    const perEpoch = Math.ceil(a.sequencesInEpoch / 8);
    for (let i = 0; i < perEpoch - 7; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.getState())) as { epoch: number; cursor: number };
    const expected = Array.from({ length: 12 }, () => a.next()); // crosses into the next epoch
    assert.ok(a.epoch >= 1, 'the test did not cross an epoch');
    const resumed = make(5);
    resumed.setState(saved);
    for (const batch of expected) assert.deepEqual(resumed.next(), batch);
    assert.throws(() => resumed.setState({ epoch: 0, cursor: 1e9 }), /cursor 1000000000 is past the \d+ sequences of epoch 0/);
  });

  it('re-masks every epoch with dynamic masking, repeats the same sequences with static masking', () => {
    const epochs = (dynamicMasking: boolean): string[][] => {
      const batcher = new MlmBatcher(corpus, vocab, { batchSize: 1, seed: 2, seqLength: 64, dynamicMasking });
      const out: string[][] = [[], []];
      for (let e = 0; e < 2; e++) {
        const count = batcher.sequencesInEpoch;
        for (let i = 0; i < count; i++) out[e]!.push(...rowsOf(batcher.next()));
      }
      assert.equal(batcher.epoch, 1);
      return out;
    };
    const [static0, static1] = epochs(false);
    assert.notDeepEqual(static1, static0, 'the order did not change between epochs');
    assert.deepEqual([...static1!].sort(), [...static0!].sort());
    const [dynamic0, dynamic1] = epochs(true);
    const seen = new Set(dynamic0);
    const repeated = dynamic1!.filter((row) => seen.has(row)).length;
    assert.ok(repeated < dynamic1!.length / 10, `${repeated} of ${dynamic1!.length} sequences repeated exactly`);
  });

  it('gives a fixed validation set: statically masked, from its own seed', () => {
    const options = { batchSize: 16, seqLength: 64 };
    const first = createValidationBatches(corpus, vocab, options);
    assert.deepEqual(createValidationBatches(corpus, vocab, options), first);
    assert.deepEqual(createValidationBatches(corpus, vocab, { ...options, dynamicMasking: false }), first);
    assert.notDeepEqual(createValidationBatches(corpus, vocab, { ...options, seed: 1 }), first);
    const sequences = createPairInstances(corpus, vocab, options, new Rng(0)).length;
    const total = first.reduce((sum, b) => sum + b.batchSize, 0);
    assert.ok(Math.abs(total - sequences) < sequences * 0.1, `${total} validation sequences`);
    assert.ok(first.slice(0, -1).every((b) => b.batchSize === 16));
    assert.equal(first[first.length - 1]!.batchSize, total - 16 * (first.length - 1));
    const capped = createValidationBatches(corpus, vocab, { ...options, maxSequences: 20 });
    assert.deepEqual(capped.map((b) => b.batchSize), [16, 4]);
  });
});

describe('mlmVocabOf', () => {
  it('marks ## pieces and leaves bracketed tokens out of random replacement', () => {
    const v = mlmVocabOf({ vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[unused0]', 'the', '##s', '[', ']'], padId: 0, clsId: 2, sepId: 3, maskId: 4 });
    assert.deepEqual([...v.isContinuation], [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual([...v.randomTokenIds], [6, 7, 8, 9]);
    assert.equal(v.size, 10);
  });
});
