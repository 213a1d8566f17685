import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { numDocuments } from '../../src/data/corpus.js';
import { IGNORE_INDEX } from '../../src/data/mlm.js';
import { saveWordPieceVocab } from '../../src/node/corpus-files.js';
import { preparePretrainingData } from '../../src/node/pretraining-data.js';
import { Rng } from '../../src/tensor/rng.js';

const WORDS = ['the', 'prince', 'said', 'anna', 'pavlovna', 'smiled', 'and', 'walked', 'towards', 'window', 'war', 'peace', 'moscow', 'army', 'general'];

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thrifty-pretraining-data-'));
  const rng = new Rng(4);
  const documents: string[] = [];
  for (let d = 0; d < 40; d++) {
    const sentences: string[] = [];
    for (let s = 0; s < 12; s++) {
      const words = Array.from({ length: 4 + rng.int(10) }, () => WORDS[rng.int(WORDS.length)]!);
      sentences.push(`${words.join(' ')}.`);
    }
    documents.push(`Document ${d}. ${sentences.join(' ')}`);
  }
  await writeFile(join(dir, 'corpus.txt'), documents.join('\n\n\n\n'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('preparePretrainingData', () => {
  it('learns a vocabulary, tokenizes, splits by document and batches; a second run hits the caches', async () => {
    const options = { corpusPath: join(dir, 'corpus.txt'), vocabSize: 200, cacheDir: join(dir, 'cache'), batchSize: 4, seed: 1, seqLength: 32, validationFraction: 0.1 };
    const data = await preparePretrainingData(options);
    assert.ok(data.tokenizer.vocabSize <= 200);
    assert.equal(data.tokensFromCache, false);
    assert.equal(numDocuments(data.train), 36);
    assert.equal(numDocuments(data.validation), 4);
    const trainSources = new Set(data.train.documentSources);
    assert.ok(data.validation.documentSources.every((s) => !trainSources.has(s)));
    const batch = data.batcher.next();
    assert.equal(batch.inputIds.length, 4 * 32);
    assert.ok(batch.mlmLabels.some((l) => l !== IGNORE_INDEX));
    assert.ok(data.validationBatches.length > 0);
    // Everything in the corpus is made of known words: no [UNK].
    assert.ok(!data.train.tokens.includes(data.tokenizer.unkId));

    const again = await preparePretrainingData({ ...options, seed: 2 });
    assert.equal(again.tokensFromCache, true);
    assert.match(again.vocabSource, /vocab-200-[0-9a-f]{24}\.json$/);
    assert.deepEqual(again.tokenizer.vocab, data.tokenizer.vocab);
    // Another training seed: other training batches, the same validation set.
    assert.notDeepEqual(again.batcher.next().inputIds, batch.inputIds);
    assert.deepEqual(again.validationBatches, data.validationBatches);
    assert.equal((await readdir(options.cacheDir)).length, 2);
  });

  it('uses a given vocab.txt', async () => {
    const vocabPath = join(dir, 'vocab.txt');
    await saveWordPieceVocab(vocabPath, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ...WORDS]);
    const data = await preparePretrainingData({ corpusPath: join(dir, 'corpus.txt'), vocabPath, batchSize: 2, seed: 0, seqLength: 16, nsp: false });
    assert.equal(data.vocabSource, vocabPath);
    assert.equal(data.tokenizer.vocabSize, 21);
    // "Document 12." has no vocabulary pieces: two [UNK] per document, then known words only.
    assert.equal(data.train.tokens.filter((id) => id === 1).length, 2 * numDocuments(data.train));
    assert.equal(data.batcher.next().nspLabels, null);
  });
});
