// Byte-level BPE from Hugging Face tokenizer.json (GPT-NeoX-20B) and GPT-2's original files.
// Expected ids come from the reference implementation, Hugging Face tokenizers 0.23 (Rust, via its
// npm binding), run once on these exact files (the GPT-2 files wrapped in the tokenizer.json that
// Hugging Face ships for gpt2: ByteLevel pre-tokenizer and decoder, <|endoftext|> special).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';

import type { BpeTokenizer } from '../../src/text/bpe-tokenizer.js';
import { BYTE_TO_CHAR, byteLevelToBytes, bytesToByteLevel } from '../../src/text/byte-level.js';
import { hfTokenizerFromJson, loadGpt2Tokenizer, loadHfTokenizer } from '../../src/text/hf-tokenizer.js';
import { TokenTextStream } from '../../src/text/tokenizer.js';
import { dataFileOrSkip } from '../helpers/data.js';

const GPT2_IDS: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["Hello world", [15496, 995]],
  ["", []],
  [" ", [220]],
  ["  ", [220, 220]],
  ["\n", [198]],
  ["Hello, world! How's it going?", [15496, 11, 995, 0, 1374, 338, 340, 1016, 30]],
  ["I'm don't we'll they've she'd you're it's", [40, 1101, 836, 470, 356, 1183, 484, 1053, 673, 1549, 345, 821, 340, 338]],
  ["12345 67 8.90 1,000,000 3.14159", [10163, 2231, 8275, 807, 13, 3829, 352, 11, 830, 11, 830, 513, 13, 1415, 19707]],
  ["   leading and trailing   ", [220, 220, 3756, 290, 25462, 220, 220, 220]],
  ["tabs\tand\nnewlines\r\n\r\nend", [8658, 82, 197, 392, 198, 3605, 6615, 201, 198, 201, 198, 437]],
  ["multiple     spaces     here", [48101, 220, 220, 220, 220, 9029, 220, 220, 220, 220, 994]],
  ["naïve café résumé", [2616, 38776, 40304, 40560, 16345, 2634]],
  ["日本語のテキスト", [33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302]],
  ["emoji 😀👍🏽 family 👨\u200d👩\u200d👧\u200d👦", [368, 31370, 30325, 222, 41840, 235, 8582, 237, 121, 1641, 50169, 101, 447, 235, 41840, 102, 447, 235, 41840, 100, 447, 235, 41840, 99]],
  ["<|endoftext|>after", [50256, 8499]],
  ["mixed\u00a0nbsp and\u0085nel and\ufeffbom", [76, 2966, 1849, 77, 24145, 290, 126, 227, 4954, 290, 171, 119, 123, 65, 296]],
  ["e\u0301 combining", [68, 136, 223, 19771]],
  ["a\n\n\nb", [64, 628, 198, 65]],
  ["def f(x):\n    return x ** 2\n", [4299, 277, 7, 87, 2599, 198, 220, 220, 220, 1441, 2124, 12429, 362, 198]],
  ["1234567890123", [10163, 2231, 3134, 4531, 486, 1954]],
  ["hello   \n   world", [31373, 220, 220, 220, 198, 220, 220, 995]],
];

const NEOX_IDS: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["Hello world", [12092, 1533]],
  ["", []],
  [" ", [209]],
  ["  ", [50276]],
  ["\n", [187]],
  ["Hello, world! How's it going?", [12092, 13, 1533, 2, 1359, 434, 352, 1469, 32]],
  ["I'm don't we'll they've she'd you're it's", [42, 1353, 1053, 626, 359, 1833, 597, 1849, 703, 1871, 368, 1472, 352, 434]],
  ["12345 67 8.90 1,000,000 3.14159", [42594, 9963, 854, 15, 2270, 337, 13, 933, 13, 933, 495, 15, 1047, 17220]],
  ["   leading and trailing   ", [50275, 16378, 285, 28417, 50275]],
  ["tabs\tand\nnewlines\r\n\r\nend", [33754, 186, 395, 187, 1826, 8737, 4888, 187, 423]],
  ["multiple     spaces     here", [34263, 50273, 31748, 50273, 1568]],
  ["naïve café résumé", [2072, 30180, 36241, 9568, 2204, 860]],
  ["日本語のテキスト", [49868, 19119, 241, 3917, 28656, 33548, 38206]],
  ["emoji 😀👍🏽 family 👨\u200d👩\u200d👧\u200d👦", [43208, 8020, 49042, 211, 14931, 228, 224, 14931, 226, 123, 2021, 22692, 228, 103, 325, 224, 14931, 228, 104, 325, 224, 14931, 228, 102, 325, 224, 14931, 228, 101]],
  ["<|endoftext|>after", [0, 6438]],
  ["mixed\u00a0nbsp and\u0085nel and\ufeffbom", [37340, 575, 6732, 285, 16643, 8101, 285, 41497, 67, 297]],
  ["e\u0301 combining", [860, 16248]],
  ["a\n\n\nb", [66, 535, 187, 67]],
  ["def f(x):\n    return x ** 2\n", [1545, 269, 9, 89, 2262, 187, 50274, 2309, 1269, 1401, 374, 187]],
  ["1234567890123", [42594, 43784, 39154]],
  ["hello   \n   world", [25521, 50275, 187, 50275, 10186]],
];

const ROUND_TRIP_TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  '  two leading spaces, trailing tab\t',
  '\n\n\nthree newlines then text\r\nand CRLF',
  'Numbers: 0 1 12 123 1234 12345 3.14159 -42 1e10 0x1F',
  "Contractions: I'm, you're, he's, we'll, they've, I'd, can't, won't, 'tis",
  'Unicode: naïve café, Ærøskøbing, Straße, Ελληνικά, русский, עברית, العربية, हिन्दी, 中文, 日本語, 한국어',
  'Emoji: 😀 👍🏽 🏳️‍🌈 👨‍👩‍👧‍👦 🤖',
  'Mixed\u00a0spaces\u2003and\u3000ideographic space',
  'Combining: e\u0301 a\u0308 and precomposed: é ä',
  'Code: for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }',
  '<|endoftext|> special in the middle <|endoftext|>',
  '          ten spaces then word',
  '',
];

let gpt2: BpeTokenizer | null = null;
let neox: BpeTokenizer | null = null;

function loadGpt2(t: TestContext): BpeTokenizer | null {
  const encoder = dataFileOrSkip(t, 'tokenizers/gpt2/encoder.json');
  const merges = dataFileOrSkip(t, 'tokenizers/gpt2/vocab.bpe');
  if (!encoder || !merges) return null;
  gpt2 ??= loadGpt2Tokenizer(readFileSync(encoder, 'utf8'), readFileSync(merges, 'utf8'), encoder);
  return gpt2;
}

function loadNeox(t: TestContext): BpeTokenizer | null {
  const path = dataFileOrSkip(t, 'tokenizers/gpt-neox-20b/20B_tokenizer.json');
  if (!path) return null;
  neox ??= loadHfTokenizer(readFileSync(path, 'utf8'), path);
  return neox;
}

describe('byte-level map', () => {
  it("is GPT-2's bytes_to_unicode: printable bytes stay, the rest shift to U+0100+", () => {
    assert.equal(BYTE_TO_CHAR[0x41], 'A');
    assert.equal(BYTE_TO_CHAR[0x20], '\u0120'); // 'Ġ'
    assert.equal(BYTE_TO_CHAR[0x0a], '\u010a'); // 'Ċ'
    assert.equal(BYTE_TO_CHAR[0x00], '\u0100');
    assert.equal(BYTE_TO_CHAR[0xad], '\u0143'); // the soft hyphen is the 68th non-printable byte
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(byteLevelToBytes(bytesToByteLevel(all)), all);
    assert.equal(byteLevelToBytes('a b'), null, 'a plain space is not a byte-level character');
  });
});

describe('GPT-2 tokenizer (encoder.json + vocab.bpe)', () => {
  it('encodes to the reference ids', (t) => {
    const tok = loadGpt2(t);
    if (!tok) return;
    for (const [text, ids] of GPT2_IDS) assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
  });

  it('"Hello world" is the vocabulary entries Hello and Ġworld', (t) => {
    const tok = loadGpt2(t);
    if (!tok) return;
    const encoder = JSON.parse(readFileSync(dataFileOrSkip(t, 'tokenizers/gpt2/encoder.json')!, 'utf8')) as Record<string, number>;
    assert.deepEqual(tok.encode('Hello world'), [encoder['Hello'], encoder['\u0120world']]);
    assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
    assert.equal(tok.idToToken(995), '\u0120world');
    assert.equal(tok.vocabSize, 50257);
    assert.equal(tok.bosId, 50256);
    assert.equal(tok.eosId, 50256);
    assert.equal(tok.addBosByDefault, false);
  });

  it('round-trips text exactly', (t) => {
    const tok = loadGpt2(t);
    if (!tok) return;
    for (const text of ROUND_TRIP_TEXTS) assert.equal(tok.decode(tok.encode(text), { skipSpecial: false }), text);
  });

  it('treats special tokens as text when allowSpecial is false, and decode skips them by default', (t) => {
    const tok = loadGpt2(t);
    if (!tok) return;
    const ids = tok.encode('<|endoftext|>', { allowSpecial: false });
    assert.ok(!ids.includes(50256));
    assert.equal(tok.decode(ids), '<|endoftext|>');
    assert.equal(tok.decode([50256, 15496]), 'Hello');
    assert.equal(tok.decode([50256, 15496], { skipSpecial: false }), '<|endoftext|>Hello');
  });
});

describe('GPT-NeoX-20B tokenizer.json', () => {
  it('encodes to the reference ids (NFC, whitespace-run added tokens)', (t) => {
    const tok = loadNeox(t);
    if (!tok) return;
    for (const [text, ids] of NEOX_IDS) assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
  });

  it('has the vocabulary and special tokens of the file', (t) => {
    const tok = loadNeox(t);
    if (!tok) return;
    assert.equal(tok.vocabSize, 50277);
    assert.equal(tok.tokenToId('<|endoftext|>'), 0);
    assert.equal(tok.tokenToId('<|padding|>'), 1);
    assert.ok(tok.isSpecial(0) && tok.isSpecial(1));
    assert.ok(!tok.isSpecial(50276), 'the whitespace-run tokens are added but not special');
    assert.equal(tok.decode([50276]), '  ');
  });

  it('round-trips text (NFC-normalized)', (t) => {
    const tok = loadNeox(t);
    if (!tok) return;
    for (const text of ROUND_TRIP_TEXTS) assert.equal(tok.decode(tok.encode(text), { skipSpecial: false }), text.normalize('NFC'));
  });

  it('streams text only when characters are complete', (t) => {
    const tok = loadNeox(t);
    if (!tok) return;
    const text = 'emoji 😀 and 日本';
    const ids = tok.encode(text);
    const stream = new TokenTextStream(tok);
    const pieces = ids.map((id) => stream.push(id));
    assert.equal(pieces.join('') + stream.end(), text);
    assert.ok(pieces.every((p) => !p.includes('\ufffd')), 'no piece holds half a character');
  });
});

describe('tokenizer.json variants', () => {
  const vocab = { a: 0, b: 1, c: 2, ab: 3, abc: 4, '<unk>': 5, '\u2581': 6, '\u2581ab': 7, '<0x41>': 8 };

  it('merges by rank, leftmost first on ties', () => {
    const tok = hfTokenizerFromJson({ model: { type: 'BPE', vocab, merges: ['a b', 'ab c'] } }, 'mini.json');
    assert.deepEqual(tok.encode('abcab'), [4, 3]);
    assert.deepEqual(tok.encode('aab'), [0, 3]);
  });

  it('SentencePiece-style tokenizer.json (Metaspace, byte fallback) encodes and decodes', () => {
    const bytes: Record<string, number> = {};
    for (let b = 0; b < 256; b++) bytes[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 100 + b;
    const tok = hfTokenizerFromJson(
      {
        model: { type: 'BPE', vocab: { ...vocab, ...bytes }, merges: ['a b', '\u2581 ab'], byte_fallback: true, unk_token: '<unk>' },
        pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
        decoder: {
          type: 'Sequence',
          decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
        },
      },
      'spm.json',
    );
    // 'ab' merges to 'ab', then '▁' + 'ab' to '▁ab'; 'Z' is not in the vocabulary: byte 0x5A.
    assert.deepEqual(tok.encode('ab Z'), [7, 6, 100 + 0x5a]);
    assert.equal(tok.decode(tok.encode('ab Z')), 'ab Z');
  });

  it('Llama 2 style tokenizer.json (Prepend and Replace normalizer, Strip decoder, BOS template)', () => {
    const tok = hfTokenizerFromJson(
      {
        added_tokens: [{ id: 9, content: '<s>', special: true }],
        normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
        pre_tokenizer: null,
        post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], special_tokens: {} },
        decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
        model: { type: 'BPE', vocab, merges: ['a b', '\u2581 ab'] },
      },
      'llama.json',
    );
    assert.equal(tok.addBosByDefault, true);
    assert.equal(tok.bosId, 9);
    assert.deepEqual(tok.encode('ab ab'), [9, 7, 7]);
    assert.equal(tok.decode(tok.encode('ab ab')), 'ab ab');
  });

  it('rejects unsupported components and broken merges, naming the field', () => {
    assert.throws(() => hfTokenizerFromJson({ model: { type: 'WordPiece', vocab: {} } }, 'x.json'), /x\.json: model\.type 'WordPiece' is not supported/);
    assert.throws(() => hfTokenizerFromJson({ model: { type: 'BPE', vocab, merges: ['a q'] } }, 'x.json'), /x\.json: merge 0 \("a" "q"\): "q" is not in the vocabulary/);
    assert.throws(
      () => hfTokenizerFromJson({ model: { type: 'BPE', vocab, merges: [] }, pre_tokenizer: { type: 'Whitespace' } }, 'x.json'),
      /x\.json: pre_tokenizer\.type 'Whitespace' is not supported/,
    );
    assert.throws(() => loadHfTokenizer('{"model": ', 'broken.json'), /broken\.json: not valid JSON/);
    const noUnk = hfTokenizerFromJson({ model: { type: 'BPE', vocab, merges: [] } }, 'x.json');
    assert.throws(() => noUnk.encode('z'), /x\.json: character "z" \(U\+007A\) is not in the vocabulary/);
  });
});
