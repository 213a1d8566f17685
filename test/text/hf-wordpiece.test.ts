// A WordPiece tokenizer.json (BERT's fast tokenizer) read by loadHfTokenizer gives the same ids as
// the vocab.txt WordPieceTokenizer (itself checked against Hugging Face's BertTokenizer), with the
// [CLS] $A [SEP] template around them. The tokenizer.json is built here from bert-base-uncased's
// vocab.txt with the components Hugging Face writes for that model.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { loadHfTokenizer } from '../../src/text/hf-tokenizer.js';
import { HfWordPieceTokenizer } from '../../src/text/hf-wordpiece.js';
import { parseVocabText, wordPieceFromVocabText } from '../../src/text/wordpiece.js';
import { dataFileOrSkip } from '../helpers/data.js';

/** bert-base-uncased's tokenizer.json, as `BertTokenizerFast.from_pretrained(...).save_pretrained` writes it. */
function bertTokenizerJson(vocab: readonly string[], overrides: Record<string, unknown> = {}): string {
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((content) => ({ id: vocab.indexOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [vocab.indexOf(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
    ...overrides,
  });
}

const SENTENCES = [
  'Hello, world! The quick brown fox jumps over the lazy dog.',
  'Café naïve résumé: Ångström and Øresund, déjà vu.',
  "Don't stop -- it's 3.14159 (approx.) & 42% [sic]!?",
  'Unbelievably antidisestablishmentarianism xqzvw zzyzx floccinaucinihilipilification.',
  'Tokyo 東京 and 北京, emoji 🙂 and tabs\tand\nnewlines.',
  'A literal [MASK] token and [SEP] inside the text.',
];

test('a WordPiece tokenizer.json encodes like the vocab.txt tokenizer, with [CLS] and [SEP] around', (t) => {
  const path = dataFileOrSkip(t, 'tokenizers/bert-base-uncased/vocab.txt');
  if (!path) return;
  const text = readFileSync(path, 'utf8');
  const vocab = parseVocabText(text, path);
  const reference = wordPieceFromVocabText(text, {}, path);
  const tokenizer = loadHfTokenizer(bertTokenizerJson(vocab), 'tokenizer.json');
  assert.ok(tokenizer instanceof HfWordPieceTokenizer);
  assert.equal(tokenizer.vocabSize, 30522);
  assert.equal(tokenizer.bosId, 101);
  assert.equal(tokenizer.eosId, 102);
  let unknown = 0;
  for (const sentence of SENTENCES) {
    const ids = tokenizer.encode(sentence);
    assert.deepEqual(ids, [101, ...reference.encode(sentence), 102], sentence);
    unknown += ids.filter((id) => id === reference.unkId).length;
    assert.deepEqual(tokenizer.encode(sentence, { addBos: false, addEos: false }), [...reference.encode(sentence)]);
    assert.equal(tokenizer.decode(ids), reference.decode(ids, { skipSpecialTokens: true }));
    // Streaming pieces add up to the decoded text before clean-up (pieces joined by spaces, ## glued).
    const streamed: string = ids.filter((id) => !tokenizer.isSpecial(id)).map((id, i, all) => new TextDecoder().decode(tokenizer.tokenBytes(id, i === 0 ? null : all[i - 1]!))).join('');
    assert.equal(streamed, reference.decode(ids, { skipSpecialTokens: true, cleanUpSpaces: false }));
  }
  assert.ok(unknown > 0, 'the emoji is [UNK]');
  // Accents are stripped (uncased): café and cafe are the same ids.
  assert.deepEqual(tokenizer.encode('café'), tokenizer.encode('cafe'));
  // allowSpecial: false splits a literal [MASK] like any other text.
  assert.ok(tokenizer.encode('a [MASK] b').includes(reference.maskId));
  assert.ok(!tokenizer.encode('a [MASK] b', { allowSpecial: false }).includes(reference.maskId));
});

test('WordPiece tokenizer.json components that are not supported are named', () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '##b'];
  const tokenizer = loadHfTokenizer(bertTokenizerJson(vocab), 'tok.json');
  assert.deepEqual(tokenizer.encode('ab a'), [2, 5, 6, 5, 3]);
  const bad = (overrides: Record<string, unknown>): string => bertTokenizerJson(vocab, overrides);
  assert.throws(() => loadHfTokenizer(bad({ pre_tokenizer: { type: 'Whitespace' } }), 'tok.json'), /^Error: tok\.json: pre_tokenizer\.type 'Whitespace' is not supported for WordPiece/);
  assert.throws(() => loadHfTokenizer(bad({ normalizer: { type: 'Lowercase' } }), 'tok.json'), /tok\.json: normalizer\.type 'Lowercase' is not supported for WordPiece/);
  assert.throws(() => loadHfTokenizer(bad({ post_processor: null }), 'tok.json'), /tok\.json: post_processor is missing/);
  assert.throws(
    () => loadHfTokenizer(bad({ model: { type: 'WordPiece', vocab: { a: 0, b: 5 } } }), 'tok.json'),
    /tok\.json: model\.vocab\["b"\] must be an id in \[0, 2\)/,
  );
  assert.throws(
    () => loadHfTokenizer(bad({ model: { type: 'WordPiece', continuing_subword_prefix: '@@', vocab: { a: 0 } } }), 'tok.json'),
    /model\.continuing_subword_prefix "@@" is not supported/,
  );
  assert.throws(() => loadHfTokenizer(bad({ model: { type: 'WordPiece', vocab: { a: 0 } } }), 'tok.json'), /tok\.json: the special token \[PAD\] is not in the vocabulary/);
});
