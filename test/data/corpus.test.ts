import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import {
  numDocuments,
  numSentences,
  selectDocuments,
  splitDocumentIndices,
  splitDocuments,
  splitSentences,
  splitTrainValidation,
  tokenizeDocuments,
  validateTokenizedCorpus,
  type TokenEncoder,
  type TokenizedCorpus,
} from '../../src/data/corpus.js';
import { dataFileOrSkip } from '../helpers/data.js';

/** One id per whitespace word: the word's length (so a test can check which text went where). */
const wordLengths: TokenEncoder = {
  encodeInto(text, out) {
    const words = text.split(/\s+/).filter((w) => w.length > 0);
    for (const w of words) out.push(w.length);
    return words.length;
  },
};

describe('splitSentences', () => {
  it('cuts after . ! ? and closing quotes when the next word does not start lower-case', () => {
    assert.deepEqual(splitSentences('It was in July. The speaker was Anna! Was it? "Yes," she said. "No!" He left.'), [
      'It was in July.',
      'The speaker was Anna!',
      'Was it?',
      '"Yes," she said.',
      '"No!"',
      'He left.',
    ]);
    assert.deepEqual(splitSentences('"Heavens! what a virulent attack!" replied the prince.'), ['"Heavens! what a virulent attack!" replied the prince.']);
  });

  it('keeps abbreviations and initials inside a sentence, and joins wrapped lines', () => {
    assert.deepEqual(splitSentences('Mr. Smith met Dr. Jones in St. Petersburg. J. R. Tolkien wrote it, e.g. The Hobbit.'), [
      'Mr. Smith met Dr. Jones in St. Petersburg.',
      'J. R. Tolkien wrote it, e.g. The Hobbit.',
    ]);
    assert.deepEqual(splitSentences('one line\nwrapped   here.\nNext one'), ['one line wrapped here.', 'Next one']);
    assert.deepEqual(splitSentences('  '), []);
  });
});

describe('splitDocuments', () => {
  it('starts documents after enough blank lines and at top-level WikiText headings', () => {
    const text = ['First para line one', 'line two. Second sentence.', '', 'Second para.', '', '', '', 'New document.', '', ' = Title = ', '', ' = = Section = = ', '', 'Body.'].join('\n');
    const docs = splitDocuments(text, 'f.txt');
    assert.deepEqual(docs, [
      { source: 'f.txt#0', sentences: ['First para line one line two.', 'Second sentence.', 'Second para.'] },
      { source: 'f.txt#1', sentences: ['New document.'] },
      { source: 'f.txt#2', sentences: ['= Title =', '= = Section = =', 'Body.'] },
    ]);
    assert.equal(splitDocuments(text, 'f.txt', { documentBreakBlankLines: 1, headingsStartDocuments: false }).length, 6);
  });

  it('cuts long documents between paragraphs and can read one sentence per line', () => {
    const paragraphs = Array.from({ length: 10 }, (_, i) => `Paragraph ${i} has some text in it.`);
    const docs = splitDocuments(paragraphs.join('\n\n'), 'p.txt', { maxDocumentChars: 60 });
    // 32 characters a paragraph: a document closes once it holds >= 60, i.e. every 2 paragraphs.
    assert.deepEqual(docs.map((d) => d.sentences.length), [2, 2, 2, 2, 2]);
    const bertFormat = 'Sentence one. Still one\nSentence two\n\nOther doc';
    assert.deepEqual(splitDocuments(bertFormat, 'b.txt', { sentencePerLine: true, documentBreakBlankLines: 1 }), [
      { source: 'b.txt#0', sentences: ['Sentence one. Still one', 'Sentence two'] },
      { source: 'b.txt#1', sentences: ['Other doc'] },
    ]);
    assert.throws(() => splitDocuments('x', 'b.txt', { documentBreakBlankLines: 0 }), /documentBreakBlankLines must be a positive integer, got 0/);
  });

  it('gives War and Peace one document per chapter', (t) => {
    const path = dataFileOrSkip(t, 'text/war-and-peace/war-and-peace.txt');
    if (!path) return;
    const docs = splitDocuments(readFileSync(path, 'utf8'), 'wp');
    const chapters = docs.filter((d) => /^CHAPTER [IVXLC]+$/.test(d.sentences[0]!)).length;
    t.diagnostic(`${docs.length} documents, ${chapters} start with a chapter heading`);
    // 365 chapters in 15 books + 2 epilogues; the few others are book titles and front matter.
    assert.equal(chapters, 365);
    assert.ok(docs.length - chapters <= 5, `${docs.length} documents`);
  });
});

function toyCorpus(): TokenizedCorpus {
  return tokenizeDocuments(
    [
      { source: 'a', sentences: ['one two', 'three'] },
      { source: 'empty', sentences: ['', '   '] },
      { source: 'b', sentences: ['four five six', '', 'seven'] },
      { source: 'c', sentences: ['eight'] },
    ],
    wordLengths,
  );
}

describe('TokenizedCorpus', () => {
  it('stores ids flat with sentence and document offsets, leaving out empty ones', () => {
    const corpus = toyCorpus();
    assert.deepEqual([...corpus.tokens], [3, 3, 5, 4, 4, 3, 5, 5]);
    assert.deepEqual([...corpus.sentenceStarts], [0, 2, 3, 6, 7, 8]);
    assert.deepEqual([...corpus.documentStarts], [0, 2, 4, 5]);
    assert.deepEqual(corpus.documentSources, ['a', 'b', 'c']);
    assert.equal(numDocuments(corpus), 3);
    assert.equal(numSentences(corpus), 5);
    validateTokenizedCorpus(corpus, 6, 'toy');
  });

  it('selects documents in the order asked', () => {
    const picked = selectDocuments(toyCorpus(), [2, 0]);
    assert.deepEqual([...picked.tokens], [5, 3, 3, 5]);
    assert.deepEqual([...picked.sentenceStarts], [0, 1, 3, 4]);
    assert.deepEqual([...picked.documentStarts], [0, 1, 3]);
    assert.deepEqual(picked.documentSources, ['c', 'a']);
    validateTokenizedCorpus(picked, 6, 'picked');
    assert.throws(() => selectDocuments(toyCorpus(), [3]), /document 3 is outside 0\.\.2/);
  });

  it('rejects inconsistent offsets and out-of-vocabulary ids, naming the source', () => {
    const corpus = toyCorpus();
    assert.throws(() => validateTokenizedCorpus(corpus, 5, 'cache.bin'), /cache\.bin: token 2 has id 5, outside the vocabulary of 5/);
    assert.throws(
      () => validateTokenizedCorpus({ ...corpus, sentenceStarts: Int32Array.from([0, 2, 2, 6, 7, 8]) }, 6, 'c'),
      /c: sentence 1 is empty or its offsets go backwards/,
    );
    assert.throws(() => validateTokenizedCorpus({ ...corpus, documentStarts: Int32Array.from([0, 2, 4]) }, 6, 'c'), /c: document offsets do not span the 5 sentences/);
    assert.throws(() => validateTokenizedCorpus({ ...corpus, tokens: corpus.tokens.subarray(1) }, 6, 'c'), /c: sentence offsets do not span the 7 tokens/);
  });
});

describe('train/validation split', () => {
  it('holds out a seeded share of whole documents, disjoint from training', () => {
    const split = splitDocumentIndices(100, { validationFraction: 0.1, seed: 7 });
    assert.equal(split.validation.length, 10);
    assert.equal(split.train.length, 90);
    const all = new Set([...split.train, ...split.validation]);
    assert.equal(all.size, 100, 'a document is in both parts or in neither');
    assert.deepEqual(splitDocumentIndices(100, { validationFraction: 0.1, seed: 7 }), split);
    assert.notDeepEqual(splitDocumentIndices(100, { validationFraction: 0.1, seed: 8 }).validation, split.validation);
    assert.equal(splitDocumentIndices(3, { validationFraction: 0.01 }).validation.length, 1);
    assert.equal(splitDocumentIndices(3, { validationFraction: 0 }).validation.length, 0);
    assert.throws(() => splitDocumentIndices(1, {}), /needs at least 2 documents, the corpus has 1/);
    assert.throws(() => splitDocumentIndices(10, { validationFraction: 1 }), /validationFraction must be in \[0, 1\), got 1/);
  });

  it('splits a tokenized corpus so that no validation document is trained on', () => {
    const docs = Array.from({ length: 40 }, (_, d) => ({ source: `d${d}`, sentences: [`${'x'.repeat(d + 1)} y`] }));
    const corpus = tokenizeDocuments(docs, wordLengths);
    const { train, validation } = splitTrainValidation(corpus, { validationFraction: 0.25, seed: 3 });
    assert.equal(numDocuments(validation), 10);
    assert.equal(numDocuments(train), 30);
    const trainSources = new Set(train.documentSources);
    for (const source of validation.documentSources) assert.ok(!trainSources.has(source), source);
    // Each document's first id is its own number + 1, so the ids show where every document went.
    const firstIds = (c: TokenizedCorpus): number[] => Array.from(c.documentStarts.subarray(0, -1), (s) => c.tokens[c.sentenceStarts[s]!]!);
    assert.deepEqual(new Set([...firstIds(train), ...firstIds(validation)]).size, 40);
  });
});
