// A generated U+FEFF at the start of a text is part of the text: decoding keeps it (TextDecoder
// drops a leading byte-order mark unless told not to).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeViaBytes, TokenTextStream, type Tokenizer } from '../../src/text/tokenizer.js';

const BOM = [0xef, 0xbb, 0xbf];
const pieces: number[][] = [BOM, [0x68, 0x69], BOM.slice(0, 2), BOM.slice(2)];

/** Token i is the bytes pieces[i]: 0 is a whole U+FEFF, 1 is "hi", 2 and 3 are U+FEFF split in two. */
const tokenizer = {
  vocabSize: pieces.length,
  tokenBytes: (id: number) => Uint8Array.from(pieces[id]!),
  isSpecial: () => false,
} as unknown as Tokenizer;

test('decode keeps a leading U+FEFF', () => {
  assert.equal(decodeViaBytes(tokenizer, [0, 1]), '\uFEFFhi');
  assert.equal(decodeViaBytes(tokenizer, [1, 0]), 'hi\uFEFF');
});

test('TokenTextStream keeps a leading U+FEFF, whole or split across tokens', () => {
  const whole = new TokenTextStream(tokenizer);
  assert.equal([0, 1].map((id) => whole.push(id)).join('') + whole.end(), '\uFEFFhi');
  const split = new TokenTextStream(tokenizer);
  assert.equal([2, 3, 1].map((id) => split.push(id)).join('') + split.end(), '\uFEFFhi');
});
