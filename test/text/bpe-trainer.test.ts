import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { trainByteLevelBpe } from '../../src/text/bpe-trainer.js';
import { loadHfTokenizer } from '../../src/text/hf-tokenizer.js';
import { dataFileOrSkip } from '../helpers/data.js';

describe('trainByteLevelBpe', () => {
  it('learns the most frequent pairs first (worked example)', () => {
    // Pre-tokens: 'aaa' once, ' aaa' twice, ' b' once -> 'aaa', 'Ġaaa' x2, 'Ġb'.
    // Pair counts: (a,a) 2 + 2*2 = 6 -> 'aa'; then (aa,a) 1 + 2 = 3 -> 'aaa'; then (Ġ,aaa) 2;
    // (Ġ,b) occurs once, below the default minimum frequency of 2.
    const trained = trainByteLevelBpe('aaa aaa aaa b', { vocabSize: 1000, specialTokens: ['<|endoftext|>'] });
    const json = JSON.parse(trained.json) as { model: { merges: string[]; vocab: Record<string, number> } };
    assert.deepEqual(json.model.merges, ['a a', 'aa a', '\u0120 aaa']);
    assert.equal(trained.merges, 3);
    assert.equal(trained.tokenizer.vocabSize, 1 + 256 + 3);
    assert.equal(json.model.vocab['<|endoftext|>'], 0);
    // The 256 byte characters follow the special tokens in byte order: byte 0 is 'Ā' (U+0100), byte 0x21 is '!'.
    assert.equal(json.model.vocab['\u0100'], 1);
    assert.equal(json.model.vocab['!'], 1 + 0x21);
    assert.equal(json.model.vocab['\u0120aaa'], 259);
    assert.deepEqual(trained.tokenizer.encode('aaa aaa b'), [258, 259, json.model.vocab['\u0120']!, json.model.vocab['b']!]);
  });

  it('stops at vocabSize and breaks count ties by the smaller ids', () => {
    // (x,y) and (y,z) both occur 3 times; 'x' < 'y' in id order, so 'x y' is merged first.
    const trained = trainByteLevelBpe('xyz xyz xyz', { vocabSize: 256 + 1 });
    const merges = (JSON.parse(trained.json) as { model: { merges: string[] } }).model.merges;
    assert.deepEqual(merges, ['x y']);
    assert.equal(trained.tokenizer.vocabSize, 257);
  });

  it('writes a tokenizer.json that loads, round-trips and compresses Tiny Shakespeare', (t) => {
    const path = dataFileOrSkip(t, 'text/tinyshakespeare/input.txt');
    if (!path) return;
    const text = readFileSync(path, 'utf8');
    const trainText = text.slice(0, 200_000);
    const heldOut = text.slice(200_000, 260_000);
    const trained = trainByteLevelBpe(trainText, { vocabSize: 768, specialTokens: ['<|endoftext|>'], bosToken: '<|endoftext|>' });
    assert.equal(trained.tokenizer.vocabSize, 768);
    const reloaded = loadHfTokenizer(trained.json, 'tokenizer.json');
    const ids = reloaded.encode(heldOut, { addBos: false });
    assert.deepEqual(ids, trained.tokenizer.encode(heldOut, { addBos: false }));
    assert.equal(reloaded.decode(ids), heldOut);
    assert.ok(heldOut.length / ids.length > 2, `expected > 2 characters per token, got ${(heldOut.length / ids.length).toFixed(2)}`);
    // The BOS post-processor makes encode() start with <|endoftext|> by default.
    assert.equal(reloaded.addBosByDefault, true);
    assert.deepEqual(reloaded.encode('KING').slice(0, 1), [0]);
    assert.equal(reloaded.encode('<|endoftext|>', { addBos: false, allowSpecial: false }).includes(0), false);
  });

  it('rejects a vocabulary too small for the bytes and special tokens', () => {
    assert.throws(() => trainByteLevelBpe('abc', { vocabSize: 256, specialTokens: ['<s>'] }), /vocabSize must be an integer >= 257/);
    assert.throws(() => trainByteLevelBpe('abc', { vocabSize: 300, bosToken: '<s>' }), /bosToken '<s>' is not one of specialTokens/);
  });
});
