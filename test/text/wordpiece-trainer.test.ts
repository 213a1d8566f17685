import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { basicTokenize } from '../../src/text/bert-basic.js';
import { formatVocabText, parseVocabText, WordPieceTokenizer } from '../../src/text/wordpiece.js';
import { countWords, trainWordPiece } from '../../src/text/wordpiece-trainer.js';
import { dataFileOrSkip } from '../helpers/data.js';

// Sennrich et al.'s example: low x5, lower x2, newest x6, widest x3.
const TOY_CORPUS = [
  'low low low low low',
  'lower Lower',
  'newest newest newest newest newest newest',
  'widest widest widest',
].join('\n');

describe('trainWordPiece', () => {
  it('merges the most frequent pair first, ties in string order (worked by hand)', () => {
    const trained = trainWordPiece(TOY_CORPUS, { vocabSize: 32, minFrequency: 1 });
    const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
    const alphabet = ['d', 'e', 'i', 'l', 'n', 'o', 'r', 's', 't', 'w'];
    // Pair counts: (##e,##s) 9 = (##s,##t) 9 -> "##e" < "##s": ##es; then (##es,##t) 9: ##est;
    // (l,##o) 7 = (##o,##w) 7 -> "##o" < "l": ##ow; (l,##ow) 7: low; then the 6s: (##e,##w) first,
    // -> ##ew; newest is now n ##ew ##est, and (##ew,##est) 6 beats (n,##ew) 6 -> ##ewest; then newest.
    const merges = ['##es', '##est', '##ow', 'low', '##ew', '##ewest', 'newest'];
    assert.deepEqual(trained.vocab, [...specials, ...alphabet, ...alphabet.map((c) => `##${c}`), ...merges]);
    assert.equal(trained.alphabetSize, 20);
    assert.equal(trained.merges, 7);
    assert.equal(trained.distinctWords, 4);
    const tok = new WordPieceTokenizer(trained.vocab);
    assert.deepEqual(tok.tokenize('Newest lowest widest'), ['newest', 'low', '##est', 'w', '##i', '##d', '##est']);
  });

  it('stops below minFrequency and refuses a vocabSize that cannot hold the alphabet', () => {
    const trained = trainWordPiece(TOY_CORPUS, { vocabSize: 100, minFrequency: 7 });
    assert.deepEqual(trained.vocab.slice(25), ['##es', '##est', '##ow', 'low']);
    assert.throws(() => trainWordPiece(TOY_CORPUS, { vocabSize: 20 }), /vocabSize 20 cannot hold the 5 special tokens and 20 alphabet tokens/);
    const limited = trainWordPiece(TOY_CORPUS, { vocabSize: 40, limitAlphabet: 8, minFrequency: 1 });
    // Character counts: e 17, w 16, s 9, t 9, l 7, o 7, n 6, then d 3 = i 3 (d comes first), r 2.
    // Words with other characters (lower: r, widest: i) are skipped.
    assert.deepEqual(limited.vocab.slice(5, 13), ['d', 'e', 'l', 'n', 'o', 's', 't', 'w']);
    assert.equal(limited.distinctWords, 2);
  });

  it('learns a 4k vocabulary from Tiny Shakespeare that covers it without [UNK]', (t) => {
    const path = dataFileOrSkip(t, 'text/tinyshakespeare/input.txt');
    if (!path) return;
    const text = readFileSync(path, 'utf8');
    const start = performance.now();
    const trained = trainWordPiece(text, { vocabSize: 4000 });
    t.diagnostic(`trained 4000 tokens (${trained.merges} merges) in ${((performance.now() - start) / 1000).toFixed(2)} s`);
    assert.equal(trained.vocab.length, 4000);
    assert.equal(new Set(trained.vocab).size, 4000, 'duplicate tokens');
    const tok = new WordPieceTokenizer(parseVocabText(formatVocabText(trained.vocab), 'trained'));
    assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
    for (const word of ['the', 'and', 'king', 'romeo', 'citizen']) assert.ok(tok.tokenToId(word) !== undefined, word);
    const ids = tok.encode(text);
    assert.ok(!ids.includes(tok.unkId), 'a training word tokenized to [UNK]');
    const words = basicTokenize(text).length;
    const perWord = ids.length / words;
    t.diagnostic(`${ids.length} tokens for ${words} words (${perWord.toFixed(3)} per word)`);
    assert.ok(perWord < 1.2, `${perWord} tokens per word`);
  });

  it('is deterministic and lower-cases only when asked', () => {
    const text = 'The Cat sat on the mat. The cat ate the rat; the RAT ran.';
    assert.deepEqual(trainWordPiece(text, { vocabSize: 60 }), trainWordPiece(text, { vocabSize: 60 }));
    assert.equal(countWords([text]).get('the'), 5);
    assert.equal(countWords([text], false).get('The'), 2);
    const cased = trainWordPiece(text, { vocabSize: 80, lowercase: false, minFrequency: 1 });
    assert.ok(cased.vocab.includes('T') && cased.vocab.includes('RAT'));
  });
});
