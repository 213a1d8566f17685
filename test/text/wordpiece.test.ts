import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

import { basicTokenize, isBertPunctuation, isChineseChar } from '../../src/text/bert-basic.js';
import { formatVocabText, parseVocabText, WordPieceTokenizer, wordPieceFromVocabText } from '../../src/text/wordpiece.js';
import { dataFileOrSkip } from '../helpers/data.js';
import { fixtureDir } from '../models/fixtures.js';

/** Golden output of Hugging Face's slow BertTokenizer, written by tools/make_wordpiece_fixture.py. */
interface Golden {
  provenance: { vocabSha256: string };
  cases: { text: string; tokens: string[]; ids: number[]; decoded: string }[];
  pair: { a: string; b: string; ids: number[]; tokenTypeIds: number[] };
  corpusHeads: { path: string; lines: number; ids: number[] }[];
  corpusHashes: { path: string; count: number; sha256: string }[];
}

const golden = JSON.parse(readFileSync(join(fixtureDir('wordpiece'), 'bert-base-uncased-golden.json'), 'utf8')) as Golden;

let cached: WordPieceTokenizer | null = null;
function bertBaseUncased(t: TestContext): WordPieceTokenizer | null {
  const path = dataFileOrSkip(t, 'tokenizers/bert-base-uncased/vocab.txt');
  if (!path) return null;
  if (!cached) {
    const bytes = readFileSync(path);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), golden.provenance.vocabSha256, 'the fixture was made from another vocab.txt');
    cached = wordPieceFromVocabText(bytes.toString('utf8'), {}, path);
  }
  return cached;
}

/** A toy vocabulary: ids are positions. */
const TOY = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'un', 'una', '##aff', '##ffa', '##able', '##ble', 'a', 'the', '.', ',', '##s', 'cat', 'hat', '北', '𠀀'];

describe('basicTokenize (BERT BasicTokenizer)', () => {
  it('lower-cases, strips accents and splits punctuation off', () => {
    assert.deepEqual(basicTokenize('Héllo, WÖRLD!'), ['hello', ',', 'world', '!']);
    assert.deepEqual(basicTokenize("don't $5.00"), ['don', "'", 't', '$', '5', '.', '00']);
    assert.deepEqual(basicTokenize('Héllo', { lowercase: false }), ['Héllo']);
    assert.deepEqual(basicTokenize('Héllo', { lowercase: false, stripAccents: true }), ['Hello']);
    assert.deepEqual(basicTokenize('Héllo', { lowercase: true, stripAccents: false }), ['héllo']);
  });

  it('drops control characters, maps any whitespace to a separator, spaces CJK ideographs', () => {
    assert.deepEqual(basicTokenize('a\u0000b\u0007c\td\u00a0e\u3000f\u2028g'), ['abc', 'd', 'e', 'f', 'g']);
    assert.deepEqual(basicTokenize('soft\u00adhyphen bom\ufeffx \ufffd'), ['softhyphen', 'bomx']);
    // U+20000 is an astral ideograph: one character, not two surrogates.
    assert.deepEqual(basicTokenize('北京大学x𠀀y'), ['北', '京', '大', '学', 'x', '𠀀', 'y']);
    // Hangul and kana are not "Chinese characters": they stay in words.
    // Hangul syllables are decomposed into jamo (NFD when stripping accents); kana have nothing to strip.
    assert.deepEqual(basicTokenize('안녕 テキスト'), ['\u110b\u1161\u11ab\u1102\u1167\u11bc', 'テキスト']);
    assert.deepEqual(basicTokenize('  \n\t '), []);
  });

  it('classifies punctuation and CJK as BERT does', () => {
    for (const c of ['!', '$', '^', '`', '~', '|', '+', '<', '，', '«', '…', '¿']) assert.ok(isBertPunctuation(c), c);
    for (const c of ['a', '7', ' ', 'é', '€', '北']) assert.ok(!isBertPunctuation(c), c);
    assert.ok(isChineseChar(0x4e00) && isChineseChar(0x20000) && isChineseChar(0xf900));
    assert.ok(!isChineseChar(0xac00) && !isChineseChar(0x30c6));
  });
});

describe('WordPieceTokenizer on a toy vocabulary', () => {
  const tok = new WordPieceTokenizer(TOY);

  it('finds the special tokens and splits greedily, longest piece first', () => {
    assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
    // "una" beats "un" (longest match), then "##ffa" beats nothing shorter; "##ble" ends it.
    assert.deepEqual(tok.tokenize('unaffable'), ['una', '##ffa', '##ble']);
    assert.deepEqual(tok.tokenize('The cats, a hat.'), ['the', 'cat', '##s', ',', 'a', 'hat', '.']);
    // No piece covers "dog": the whole word is [UNK], not a partial split.
    assert.deepEqual(tok.tokenize('cat dog cats'), ['cat', '[UNK]', 'cat', '##s']);
    assert.deepEqual(tok.tokenize('北𠀀'), ['北', '𠀀']);
  });

  it('keeps literal special tokens whole and maps words over 100 characters to [UNK]', () => {
    assert.deepEqual(tok.tokenize('the [MASK] hat[SEP]cat'), ['the', '[MASK]', 'hat', '[SEP]', 'cat']);
    assert.deepEqual(tok.tokenize('[mask]'), ['[UNK]', '[UNK]', '[UNK]']);
    const long = new WordPieceTokenizer([...TOY, 'x', '##x']);
    assert.equal(long.tokenize('x'.repeat(100)).length, 100);
    assert.deepEqual(long.tokenize('x'.repeat(101)), ['[UNK]']);
  });

  it('encodes pairs with token types and decodes back', () => {
    const pair = tok.encodePair('the cat', 'a hat.');
    assert.deepEqual([...pair.ids], [2, 12, 16, 3, 11, 17, 13, 3]);
    assert.deepEqual([...pair.tokenTypeIds], [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.equal(tok.decode(pair.ids), '[CLS] the cat [SEP] a hat. [SEP]');
    assert.equal(tok.decode(pair.ids, { skipSpecialTokens: true }), 'the cat a hat.');
    assert.equal(tok.decode(tok.encode('The cats, a hat.')), 'the cats, a hat.');
    assert.equal(tok.decode(tok.encode('The cats, a hat.'), { cleanUpSpaces: false }), 'the cats , a hat .');
    assert.throws(() => tok.decode([99]), /token id 99 is outside the vocabulary \(0\.\.19\)/);
  });

  it('reads vocab.txt line by line and names the file when a special token is missing', () => {
    assert.deepEqual(parseVocabText('a\r\nb\rc\n d \n', 'v.txt'), ['a', 'b', 'c', ' d ']);
    assert.deepEqual(parseVocabText(formatVocabText(TOY), 'v.txt'), TOY);
    assert.throws(() => parseVocabText('', 'v.txt'), /v\.txt: the vocabulary file is empty/);
    assert.throws(() => new WordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]'], {}, 'my/vocab.txt'), /my\/vocab\.txt: the special token \[MASK\] is not in the vocabulary \(4 tokens\)/);
    assert.throws(() => formatVocabText(['a', 'b\nc']), /vocabulary token 1 contains a line break/);
  });
});

describe('WordPieceTokenizer with bert-base-uncased (golden: Hugging Face BertTokenizer)', () => {
  it('has BERT special token ids and known word ids', (t) => {
    const tok = bertBaseUncased(t);
    if (!tok) return;
    assert.equal(tok.vocabSize, 30522);
    assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 100, 101, 102, 103]);
    // Worked by hand from the vocab file (id = line number - 1): "hello" is line 7593, "," 1011, "world" 2089, "!" 1000.
    assert.deepEqual([...tok.encode('Hello, world!')], [7592, 1010, 2088, 999]);
    // Accents stripped after lower-casing: naïve -> naive, café -> cafe; "déjà" -> "deja" = de ##ja.
    assert.deepEqual(tok.tokenize('Naïve café, déjà vu.'), ['naive', 'cafe', ',', 'de', '##ja', 'vu', '.']);
    assert.deepEqual(tok.tokenize('The unaffable Vasili'), ['the', 'una', '##ffa', '##ble', 'va', '##sil', '##i']);
    // CJK: one token per ideograph; 好 is not in the vocabulary, the fullwidth comma is punctuation.
    assert.deepEqual(tok.tokenize('你好，世界！'), ['[UNK]', '[UNK]', '，', '世', '[UNK]', '！']);
    // An emoji has no piece: [UNK].
    assert.deepEqual(tok.tokenize('hi 🤗'), ['hi', '[UNK]']);
  });

  it('matches every golden sentence: tokens, ids and decoded text', (t) => {
    const tok = bertBaseUncased(t);
    if (!tok) return;
    for (const c of golden.cases) {
      assert.deepEqual([...tok.encode(c.text)], c.ids, JSON.stringify(c.text));
      assert.deepEqual(tok.tokenize(c.text), c.tokens, JSON.stringify(c.text));
      assert.equal(tok.decode(c.ids), c.decoded, JSON.stringify(c.text));
    }
    const pair = tok.encodePair(golden.pair.a, golden.pair.b);
    assert.deepEqual([...pair.ids], golden.pair.ids);
    assert.deepEqual([...pair.tokenTypeIds], golden.pair.tokenTypeIds);
  });

  it('matches the golden ids of the first lines of three corpora', (t) => {
    const tok = bertBaseUncased(t);
    if (!tok) return;
    for (const head of golden.corpusHeads) {
      const path = dataFileOrSkip(t, head.path);
      if (!path) return;
      const text = readFileSync(path, 'utf8').split('\n').slice(0, head.lines).join('\n');
      assert.deepEqual([...tok.encode(text)], head.ids, head.path);
    }
  });

  it('decodes lower-case text back to itself', (t) => {
    const tok = bertBaseUncased(t);
    if (!tok) return;
    const text = 'the prince said, "well, it is war!" and left the room.';
    // Hugging Face's clean-up removes the space before , ! . but not around quotes.
    assert.equal(tok.decode(tok.encode(text)), 'the prince said, " well, it is war! " and left the room.');
    const plain = 'pierre was unaffably cheerful and the princess was not';
    assert.equal(tok.decode(tok.encode(plain)), plain);
  });

  it('tokenizes whole corpora exactly as Hugging Face does (War and Peace in a few seconds)', (t) => {
    const tok = bertBaseUncased(t);
    if (!tok) return;
    for (const expected of golden.corpusHashes) {
      const path = dataFileOrSkip(t, expected.path);
      if (!path) return;
      const text = readFileSync(path, 'utf8');
      const start = performance.now();
      const ids = tok.encode(text);
      const seconds = (performance.now() - start) / 1000;
      t.diagnostic(`${expected.path}: ${ids.length} tokens in ${seconds.toFixed(2)} s`);
      assert.equal(ids.length, expected.count, expected.path);
      assert.equal(createHash('sha256').update(new Uint8Array(ids.buffer)).digest('hex'), expected.sha256, expected.path);
    }
  });
});
