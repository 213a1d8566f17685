// The training mix of train-lm (src/train/lm-mix.ts): the flag's parser, and documents that have
// the layout the evaluation tasks ask for (repetition: a passage, "\n" and copied spans; needle:
// facts at depths, questions at the end), seeded, exactly as long as asked, and never the eval's own
// needle.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { NEEDLE_REFERENCE } from '../../src/eval/metrics.js';
import { trainByteLevelBpe } from '../../src/text/bpe-trainer.js';
import { Rng } from '../../src/tensor/rng.js';
import {
  curriculumIdCount, distinctIdsOnce, drawMixKind, formatTrainingMix, keyValueDocument, mixDocument, parseIdCurriculum, parseTrainingMix, periodicDocument, randomCopyDocument, repeatDocument,
  shuffledIds, trainingMixFromJson, type MixSource,
} from '../../src/train/lm-mix.js';

const TEXT = Array.from({ length: 300 }, (_, i) => `Sentence ${i} tells of the ${['river', 'mountain', 'garden', 'city'][i % 4]} and the people who walked there on day ${i % 31}.\n`).join('');
const trained = trainByteLevelBpe(TEXT, { vocabSize: 400, specialTokens: ['<|endoftext|>'] });
const tokenizer = trained.tokenizer;
const ids = Int32Array.from(tokenizer.encode(TEXT, { addBos: false, allowSpecial: false }));
const source: MixSource = {
  ids,
  vocabulary: distinctIdsOnce(ids),
  encode: (text) => tokenizer.encode(text, { addBos: false, allowSpecial: false }),
  decode: (ids) => tokenizer.decode(ids),
};

test('--mix parses kind=fraction pairs and refuses anything else, naming the flag', () => {
  assert.deepEqual(parseTrainingMix('repeat=0.3,kv=0.2'), { repeat: 0.3, kv: 0.2, copy: 0, period: 0 });
  assert.deepEqual(parseTrainingMix('kv=1'), { repeat: 0, kv: 1, copy: 0, period: 0 });
  assert.deepEqual(parseTrainingMix('copy=0.25,repeat=0.25'), { repeat: 0.25, kv: 0, copy: 0.25, period: 0 });
  assert.deepEqual(parseTrainingMix('none'), { repeat: 0, kv: 0, copy: 0, period: 0 });
  assert.deepEqual(parseTrainingMix('period=0.5,kv=0.1'), { repeat: 0, kv: 0.1, copy: 0, period: 0.5 });
  assert.equal(formatTrainingMix(parseTrainingMix(' repeat = 0.5 ')), 'repeat=0.5');
  assert.equal(formatTrainingMix({ repeat: 0, kv: 0, copy: 0, period: 0 }), 'none');
  assert.throws(() => parseTrainingMix('paste=0.3'), /--mix expects kind=fraction pairs of repeat, kv, copy/);
  assert.throws(() => parseTrainingMix('repeat=0.5,copy=0.6'), /--mix: the fractions add up to 1.1, more than 1/);
  // As a checkpoint stores it (older checkpoints have no copy and no period).
  assert.deepEqual(trainingMixFromJson({ repeat: 0.4, kv: 0.2 }, 'ckpt'), { repeat: 0.4, kv: 0.2, copy: 0, period: 0 });
  assert.throws(() => trainingMixFromJson({ repeat: 0.4, paste: 1 }, 'ckpt'), /^Error: ckpt: unknown training mix kind\(s\) paste$/);
  assert.throws(() => trainingMixFromJson([0.4], 'ckpt'), /ckpt: a training mix must be an object/);
  assert.throws(() => trainingMixFromJson({ repeat: 'x' }, 'ckpt'), /ckpt: repeat expects a fraction/);
  assert.throws(() => parseTrainingMix('repeat'), /--mix expects kind=fraction pairs/);
  assert.throws(() => parseTrainingMix('repeat=1.5'), /--mix: repeat expects a fraction in \[0, 1\], got '1.5'/);
  assert.throws(() => parseTrainingMix('repeat=x'), /--mix: repeat expects a fraction/);
  assert.throws(() => parseTrainingMix('repeat=0.7,kv=0.6'), /--mix: the fractions add up to 1.2999999999999998, more than 1|add up to 1.3/);
});

test('the kind of each window follows the fractions, and no mix draws nothing', () => {
  const rng = new Rng(3);
  const counts = { repeat: 0, kv: 0, copy: 0, period: 0, corpus: 0 };
  for (let i = 0; i < 4000; i++) counts[drawMixKind({ repeat: 0.3, kv: 0.2, copy: 0.1, period: 0 }, rng)]++;
  assert.ok(Math.abs(counts.repeat / 4000 - 0.3) < 0.03 && Math.abs(counts.kv / 4000 - 0.2) < 0.03 && Math.abs(counts.copy / 4000 - 0.1) < 0.03, JSON.stringify(counts));
  // Without copy, the draws are those of the mixes before copy existed (u < repeat, then u < repeat + kv).
  const a = new Rng(8);
  const b = new Rng(8);
  for (let i = 0; i < 200; i++) {
    const u = b.uniform();
    assert.equal(drawMixKind({ repeat: 0.4, kv: 0.2, copy: 0, period: 0 }, a), u < 0.4 ? 'repeat' : u < 0.6 ? 'kv' : 'corpus');
  }
  const untouched = new Rng(5);
  const before = JSON.stringify(untouched.getState());
  assert.equal(drawMixKind({ repeat: 0, kv: 0, copy: 0, period: 0 }, untouched), 'corpus');
  assert.equal(JSON.stringify(untouched.getState()), before, 'a run without a mix draws the same windows as before the mix existed');
});

test('a repeat document is a corpus passage, then newline-led spans copied from inside it', () => {
  const newline = source.encode('\n');
  for (const length of [32, 200, 513]) {
    const doc = repeatDocument(source, length, new Rng(length));
    assert.equal(doc.tokens.length, length);
    assert.equal(doc.retrievable.length, length);
    const tokens = Array.from(doc.tokens);
    // The passage is a run of the corpus: find where it starts.
    const corpus = Array.from(source.ids);
    // The corpus repeats itself, so take the longest run of it the document opens with.
    let passage = 0;
    for (let at = 0; at < corpus.length; at++) {
      let n = 0;
      while (n < length && at + n < corpus.length && tokens[n] === corpus[at + n]) n++;
      passage = Math.max(passage, n);
    }
    // A copy may continue the passage by chance; the first non-retrievable token after the passage ends it.
    while (passage > 0 && doc.retrievable.slice(0, passage).some((r) => r === 1)) passage--;
    assert.ok(passage >= length / 3 - 1, `passage of ${passage} tokens in a window of ${length}`);
    // Every retrievable token continues a span that also appears, in order, inside the passage.
    const chunk = tokens.slice(0, passage).join(',');
    let copies = 0;
    for (let i = passage; i < length; i++) {
      if (doc.retrievable[i] !== 1) continue;
      let s = i;
      while (s > passage && doc.retrievable[s - 1] === 1) s--;
      s--; // the span's first token, not retrievable itself
      assert.ok(chunk.includes(tokens.slice(s, i + 1).join(',')), `the span ending at ${i} is copied from the passage`);
      copies++;
    }
    assert.ok(copies > 0, 'some tokens are copies');
    assert.equal(doc.retrievable.slice(0, passage).reduce((a, b) => a + b, 0), 0, 'nothing in the passage is retrievable');
    // The copies follow newlines, as the repetition prompt's snippet does.
    const text = tokenizer.decode(tokens.slice(passage));
    assert.ok(text.includes('\n'), JSON.stringify(text));
    assert.ok(newline.length > 0);
  }
  // Seeded: the same generator state gives the same document.
  assert.deepEqual(repeatDocument(source, 100, new Rng(9)), repeatDocument(source, 100, new Rng(9)));
});

test('a key-value document states facts after ".\\n", then asks about them in the needle layout; answers are retrievable', () => {
  let asked = 0;
  for (let seed = 0; seed < 40; seed++) {
    const length = 400;
    const doc = keyValueDocument(source, length, new Rng(seed));
    assert.equal(doc.tokens.length, length);
    const text = tokenizer.decode(Array.from(doc.tokens));
    assert.ok(!text.includes('San Francisco') && !text.includes(NEEDLE_REFERENCE), 'never the needle task\'s own fact');
    const questions = [...text.matchAll(/\.\n\n\nWhat is [^?\n]+\? "([^\n]*)/g)];
    assert.ok(questions.length >= 1, JSON.stringify(text.slice(-300)));
    for (const q of questions) {
      // The opening and answer that follow the question restate a fact stated earlier, after ".\n"
      // (the answer may run on into the next question or the filler, or be cut at the window's end).
      const tail = q[1]!;
      const before = text.slice(0, q.index);
      const statements = before.split('.\n').slice(1).map((part) => part.split('\n')[0]!).filter((l) => l.length > 8);
      const atEnd = q.index! + q[0].length === text.length;
      assert.ok(statements.some((l) => tail.startsWith(l) || (atEnd && l.startsWith(tail))), `${tail} | ${statements.join(' | ')}`);
      asked++;
    }
    // The answers' tokens (and only they) are marked.
    const marked = Array.from(doc.tokens).filter((_, i) => doc.retrievable[i] === 1);
    assert.ok(marked.length > 0);
    assert.ok(tokenizer.decode(marked).trim().length > 0);
  }
  assert.ok(asked >= 40);
  assert.deepEqual(keyValueDocument(source, 300, new Rng(4)), keyValueDocument(source, 300, new Rng(4)));
});

test('documents longer than their parts are filled from the corpus; a window too short for the parts is cut', () => {
  const short = keyValueDocument(source, 24, new Rng(1));
  assert.equal(short.tokens.length, 24);
  const long = keyValueDocument(source, 3000, new Rng(1));
  assert.equal(long.tokens.length, 3000);
});

test('a random-copy document is runs of corpus ids, each followed by the same run, mostly short; the copy after its first token is retrievable', () => {
  const corpus = new Set(source.ids);
  const runLengths: number[] = [];
  for (const length of [16, 100, 1000, 1000, 1000]) {
    const doc = randomCopyDocument(source, length, new Rng(length));
    assert.equal(doc.tokens.length, length);
    const tokens = Array.from(doc.tokens);
    assert.ok(tokens.every((t) => corpus.has(t)), 'tokens of the corpus');
    // Walk the runs: a run of n tokens, then the copy (its first token not retrievable, the rest retrievable).
    let at = 0;
    let runs = 0;
    while (at < length) {
      // The run is unmarked; its copy begins where marked tokens follow one unmarked token.
      let copyStart = at;
      while (copyStart + 1 < length && doc.retrievable[copyStart + 1] !== 1) copyStart++;
      const n = copyStart - at;
      if (copyStart + 1 >= length) break; // the window ended inside a run
      assert.ok(n >= Math.min(8, Math.floor(length / 2)) && n <= length / 2, `run of ${n} tokens in a window of ${length}`);
      for (let i = 0; i < n && copyStart + i < length; i++) {
        assert.equal(tokens[copyStart + i], tokens[at + i], `copy token ${i} of the run at ${at}`);
        assert.equal(doc.retrievable[copyStart + i], i > 0 ? 1 : 0);
      }
      at = copyStart + n;
      runs++;
      if (length === 1000) runLengths.push(n);
    }
    assert.ok(runs >= 1);
    if (length === 1000) assert.ok(new Set(tokens).size > corpus.size / 2, 'drawn across the vocabulary, not by frequency');
    assert.equal(doc.retrievable.slice(0, 8).reduce((x, y) => x + y, 0), 0, 'the first run is not retrievable');
  }
  // Log-uniform lengths in 8..500: the median near sqrt(8 * 500) = 63, far below the middle of the range.
  runLengths.sort((a, b) => a - b);
  const median = runLengths[Math.floor(runLengths.length / 2)]!;
  assert.ok(runLengths.length >= 8 && median >= 16 && median <= 200, `run lengths ${runLengths.join(' ')}`);
  assert.deepEqual(randomCopyDocument(source, 200, new Rng(3)), randomCopyDocument(source, 200, new Rng(3)));
});

test('a periodic document is one run of corpus ids repeated to the end of the window; from the first repeat\'s second token on it is retrievable', () => {
  const corpus = new Set(source.ids);
  const periods: number[] = [];
  for (let seed = 0; seed < 40; seed++) {
    const length = [16, 100, 1000][seed % 3]!;
    const doc = periodicDocument(source, length, new Rng(seed));
    const tokens = Array.from(doc.tokens);
    assert.equal(tokens.length, length);
    assert.ok(tokens.every((t) => corpus.has(t)), 'tokens of the corpus');
    // The period is where the retrievable part starts, less one.
    const firstMarked = doc.retrievable.indexOf(1);
    const period = firstMarked - 1;
    assert.ok(period >= Math.min(8, length / 2) && period <= length / 2, `period ${period} in a window of ${length}`);
    for (let i = period; i < length; i++) assert.equal(tokens[i], tokens[i - period], `token ${i} repeats token ${i - period}`);
    for (let i = 0; i < length; i++) assert.equal(doc.retrievable[i], i > period ? 1 : 0, `retrievable at ${i}`);
    if (length === 1000) periods.push(period);
  }
  // Log-uniform in 8..500: spread over the range, not bunched at one value.
  assert.ok(new Set(periods).size >= 8 && Math.min(...periods) < 60 && Math.max(...periods) > 60, `periods ${periods.join(' ')}`);
  assert.deepEqual(periodicDocument(source, 200, new Rng(3)), periodicDocument(source, 200, new Rng(3)));
});

test('the vocabulary curriculum: START:STEPS parsed with one-line errors, the id count growing geometrically from START to all', () => {
  assert.deepEqual(parseIdCurriculum('64:1500', '--random-ids'), { start: 64, steps: 1500 });
  for (const bad of ['64', '1:10', '64:0', 'a:b', '64:1500:2', '-4:10', '']) {
    assert.throws(() => parseIdCurriculum(bad, '--random-ids'), (e: Error) => e.message.startsWith('--random-ids expects START:STEPS') && !e.message.includes('\n'), bad);
  }
  const c = { start: 64, steps: 1000 };
  assert.deepEqual([0, 500, 999, 1000, 5000].map((s) => curriculumIdCount(c, s, 4096)), [64, 512, Math.round(64 * 64 ** 0.999), 4096, 4096]);
  assert.equal(curriculumIdCount(c, -3, 4096), 64, 'before it takes effect: the start');
  assert.equal(curriculumIdCount({ start: 5000, steps: 10 }, 0, 4096), 4096, 'a start above the vocabulary is all of it');
  // The pools are prefixes of one fixed shuffle of the corpus's ids: every id once, seeded.
  const all = source.vocabulary();
  const order = shuffledIds(all, new Rng(4));
  assert.deepEqual([...order].sort((a, b) => a - b), [...all]);
  assert.notDeepEqual([...order], [...all]);
  assert.deepEqual(order, shuffledIds(all, new Rng(4)));
});

test('a pool limits the random ids of the copy and period kinds (and only theirs)', () => {
  const pool = shuffledIds(source.vocabulary(), new Rng(1)).subarray(0, 5);
  const allowed = new Set(pool);
  for (let seed = 0; seed < 10; seed++) {
    for (const kind of ['period', 'copy'] as const) {
      const doc = mixDocument(kind, source, 120, new Rng(seed), pool);
      assert.ok(Array.from(doc.tokens).every((t) => allowed.has(t)), `${kind}: ids outside the pool`);
    }
  }
  // Without a pool, or with the repeat kind, the documents are those of before.
  assert.deepEqual(mixDocument('period', source, 200, new Rng(3)), periodicDocument(source, 200, new Rng(3)));
  assert.deepEqual(mixDocument('repeat', source, 200, new Rng(3), pool), repeatDocument(source, 200, new Rng(3)));
});
