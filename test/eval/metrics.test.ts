import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  binomialSummary,
  bitsPerCharacter,
  exactMatch,
  isDegenerateRepetition,
  meanAndSem,
  needleMatch,
  normaliseAnswer,
  repetitionMatchLength,
  tokenNll,
} from '../../src/eval/metrics.js';

describe('exact match (qa.py evaluate_prediction)', () => {
  it('normalises as the reference pattern does', () => {
    assert.equal(normaliseAnswer('  The Eiffel Tower.'), 'eiffel tower');
    assert.equal(normaliseAnswer('"an apple",'), 'apple');
    assert.equal(normaliseAnswer("_'A cat'_"), 'cat');
    assert.equal(normaliseAnswer('Theory'), 'theory'); // "the" only as a word
    assert.equal(normaliseAnswer('the'), 'the'); // no space after it: kept
    assert.equal(normaliseAnswer('  the  cat'), ' cat'); // one space goes with the article
    assert.equal(normaliseAnswer('a, b'), 'a, b'); // inner punctuation stays
    assert.equal(normaliseAnswer('\n\n1871 \n'), '1871');
    assert.equal(normaliseAnswer('...'), '');
  });

  it('matches when the normalised output starts with a normalised answer', () => {
    assert.equal(exactMatch(' Denver Broncos\nQuestion: who', ['Denver Broncos', 'The Broncos']), true);
    assert.equal(exactMatch(' the broncos won', ['Denver Broncos', 'The Broncos']), true);
    assert.equal(exactMatch(' Broncos', ['Denver Broncos']), false); // a suffix of the answer is not enough
    assert.equal(exactMatch(' Santa Clara', ['Santa Clara, California']), false);
    assert.equal(exactMatch(' anything', ['...', '']), false); // answers empty after normalisation never match
    assert.equal(exactMatch(' 1990s', ['1990']), true); // a prefix match counts, as in the reference
  });
});

describe('repetition match length (repetition.py evaluate_match_length)', () => {
  it('counts characters up to the first mismatch, leading whitespace stripped from both', () => {
    assert.equal(repetitionMatchLength('  hello world', '\nhello there'), 6);
    assert.equal(repetitionMatchLength('abc', 'abc'), 3);
    assert.equal(repetitionMatchLength('abcdef', 'abc'), 3); // longer generation: the whole reference
    assert.equal(repetitionMatchLength('ab', 'abc'), 3); // shorter generation agreeing to its end: the reference length, as zip stops
    assert.equal(repetitionMatchLength('xbc', 'abc'), 0);
    assert.equal(repetitionMatchLength('', '  abc'), 3);
  });

  it('counts code points, as Python strings do', () => {
    assert.equal(repetitionMatchLength('a😀b!', 'a😀bc'), 3);
  });

  it('credits an output that is empty after stripping with the whole reference (as the reference does), and flags it degenerate', () => {
    const reference = ' First Citizen:\nBefore we proceed any further, hear me speak.';
    const full = Array.from(reference.trimStart()).length;
    for (const output of ['', '\n', '\n\n\n\n', '   \t \n ', '\r\n\u00a0']) {
      assert.equal(repetitionMatchLength(output, reference), full, JSON.stringify(output));
      assert.equal(isDegenerateRepetition(output), true, JSON.stringify(output));
    }
    for (const output of ['F', '\n\nFirst', ' x', '\n.\n']) assert.equal(isDegenerateRepetition(output), false, JSON.stringify(output));
    assert.equal(repetitionMatchLength('\n\nFirst Citizen:\nBefore we go', reference), 'First Citizen:\nBefore we '.length);
    // The house model at step 298, repetition sample 959894: 99 newlines, scored 256 (the reference's
    // length after its leading space) in the committed evaluation.
    const reference256 = ` ${'x'.repeat(256)}`;
    assert.equal(repetitionMatchLength('\n'.repeat(99), reference256), 256);
    assert.equal(isDegenerateRepetition('\n'.repeat(99)), true);
  });
});

describe('bits per character (bpc.py calc_bpc)', () => {
  it('is the NLL sum in bits over the reference characters', () => {
    assert.equal(bitsPerCharacter([Math.LN2, Math.LN2, 2 * Math.LN2], 2), 2);
    assert.ok(Math.abs(bitsPerCharacter([1, 1], 4) - 0.5 / Math.LN2) < 1e-12);
    assert.throws(() => bitsPerCharacter([1], 0), /must have characters/);
    assert.throws(() => bitsPerCharacter([Number.NaN], 3), /NLL 0 is NaN/);
  });

  it('tokenNll is the log-softmax loss, stable for large logits', () => {
    const logits = [1, 2, 3];
    const direct = -Math.log(Math.exp(2) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
    assert.ok(Math.abs(tokenNll(logits, 1) - direct) < 1e-12);
    assert.ok(Math.abs(tokenNll([1000, 1000], 0) - Math.LN2) < 1e-12);
    assert.throws(() => tokenNll(logits, 3), /outside the 3 logits/);
  });
});

describe('needle match (needle.py MATCH_PATTERN)', () => {
  it('accepts leading whitespace, then the reference', () => {
    assert.equal(needleMatch(' eat a sandwich and sit in Dolores Park on a sunny day."\n'), true);
    assert.equal(needleMatch('\n eat a sandwich and sit in Dolores Park on a sunny day'), true);
    assert.equal(needleMatch(' eat a sandwich and sit in the park'), false);
    assert.equal(needleMatch('I think: eat a sandwich and sit in Dolores Park on a sunny day'), false);
  });
});

describe('standard errors', () => {
  it('mean and sem of scores, by hand', () => {
    // mean 3; deviations -2, 0, 2 -> sample variance 8/2 = 4; sem = 2 / sqrt(3)
    const s = meanAndSem([1, 3, 5]);
    assert.equal(s.n, 3);
    assert.equal(s.mean, 3);
    assert.ok(Math.abs(s.sem - 2 / Math.sqrt(3)) < 1e-12);
    assert.deepEqual(meanAndSem([7]), { n: 1, mean: 7, sem: 0 });
    assert.throws(() => meanAndSem([]), /no scores/);
    assert.throws(() => meanAndSem([1, Number.POSITIVE_INFINITY]), /score 1 is Infinity/);
  });

  it('binomial sem of binary scores, by hand', () => {
    const s = binomialSummary([true, true, true, false]); // p = 0.75, sqrt(0.75 * 0.25 / 4)
    assert.equal(s.mean, 0.75);
    assert.ok(Math.abs(s.sem - Math.sqrt(0.1875 / 4)) < 1e-12);
    assert.equal(binomialSummary([true, true]).sem, 0);
  });
});
