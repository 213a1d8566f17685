// SentencePiece-style BPE (Llama): llama2.c's tokenizer.bin and the vocabulary embedded in the
// GGUF of the same model must give the same ids, and both must equal llama2.c's encode(), which
// is transcribed below as the oracle (its plain O(n^2) loop, against our heap-based merge).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';

import { parseGguf } from '../../src/io/gguf-read.js';
import { tokenizerFromGguf } from '../../src/io/gguf-tokenizer.js';
import { llama2cTokenizer, parseLlama2cTokenizer } from '../../src/io/llama2c.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';
import { TokenTextStream, type Tokenizer } from '../../src/text/tokenizer.js';
import { Rng } from '../../src/tensor/rng.js';
import { dataFileOrSkip } from '../helpers/data.js';

/** llama2.c's encode(text, bos=1, eos=0), transcribed: pieces use ' ' for spaces, byte tokens are id byte + 3. */
function llama2cEncode(text: string, vocab: readonly string[], scores: ArrayLike<number>): number[] {
  const lookup = (s: string): number => {
    const i = vocab.indexOf(s);
    return i;
  };
  const tokens = [1];
  if (text !== '') tokens.push(lookup(' '));
  for (const ch of text) {
    const id = lookup(ch);
    if (id !== -1) tokens.push(id);
    else for (const b of new TextEncoder().encode(ch)) tokens.push(b + 3);
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup(vocab[tokens[i]!]! + vocab[tokens[i + 1]!]!);
      if (id !== -1 && scores[id]! > bestScore) {
        bestScore = scores[id]!;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return tokens;
}

interface Stories {
  readonly bin: SentencePieceTokenizer;
  readonly gguf: Tokenizer;
  readonly vocab: readonly string[];
  readonly scores: Float32Array;
}

let stories: Stories | null = null;

function loadStories(t: TestContext): Stories | null {
  const tokPath = dataFileOrSkip(t, 'llm/stories260K/tok512.bin');
  const ggufPath = dataFileOrSkip(t, 'llm/stories260K/stories260K.gguf');
  if (!tokPath || !ggufPath) return null;
  if (!stories) {
    const bytes = new Uint8Array(readFileSync(tokPath));
    const file = parseLlama2cTokenizer(bytes, 512, tokPath);
    stories = {
      bin: llama2cTokenizer(bytes, 512, tokPath),
      gguf: tokenizerFromGguf(parseGguf(new Uint8Array(readFileSync(ggufPath)), ggufPath)),
      vocab: file.tokens,
      scores: file.scores,
    };
  }
  return stories;
}

const TEXTS = [
  '',
  'Once upon a time, there was a little girl named Lily.',
  'Hello  world\n\nThe end.',
  ' leading space and trailing space ',
  'naïve café 😀 日本',
  'She said, "I can\'t find it!" Then she laughed: ha-ha-ha.',
  '1234567 + 89 = 1234656',
  '\t\ttabs\r\n',
];

describe('SentencePiece BPE: stories260K (tok512.bin and the GGUF vocabulary)', () => {
  it('has known ids: pieces of the llama2.c vocabulary, merged by score', (t) => {
    const s = loadStories(t);
    if (!s) return;
    const ids = s.bin.encode('Once upon a time, there was a little girl named Lily.');
    assert.deepEqual(ids, [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]);
    assert.deepEqual(
      ids.slice(1, 5).map((id) => s.bin.idToToken(id)),
      [' Once', ' upon', ' a', ' time'],
    );
    // 'ï' is not a piece: its UTF-8 bytes C3 AF become <0xC3> <0xAF> (ids byte + 3).
    assert.deepEqual(s.bin.encode('naïve', { addBos: false }), [297, 412, 0xc3 + 3, 0xaf + 3, 360]);
    assert.equal(s.bin.idToToken(0xc3 + 3), '<0xC3>');
  });

  it("equals llama2.c's encode() on every test text", (t) => {
    const s = loadStories(t);
    if (!s) return;
    for (const text of TEXTS) assert.deepEqual(s.bin.encode(text), llama2cEncode(text, s.vocab, s.scores), JSON.stringify(text));
  });

  it("equals llama2.c's encode() on random TinyStories snippets", (t) => {
    const s = loadStories(t);
    const sample = dataFileOrSkip(t, 'text/tinystories/tinystories_sample.txt');
    if (!s || !sample) return;
    const text = readFileSync(sample, 'utf8');
    const rng = new Rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const start = Math.floor(rng.uniform() * (text.length - 200));
      const snippet = text.slice(start, start + 1 + Math.floor(rng.uniform() * 160));
      assert.deepEqual(s.bin.encode(snippet), llama2cEncode(snippet, s.vocab, s.scores), JSON.stringify(snippet));
    }
  });

  it('gives the same ids from tok512.bin (spaces) and the GGUF vocabulary (U+2581)', (t) => {
    const s = loadStories(t);
    if (!s) return;
    assert.equal((s.bin as SentencePieceTokenizer).spaceSymbol, ' ');
    assert.equal((s.gguf as SentencePieceTokenizer).spaceSymbol, '\u2581');
    assert.equal(s.gguf.idToToken(403), '\u2581Once');
    for (const text of TEXTS) assert.deepEqual(s.gguf.encode(text), s.bin.encode(text), JSON.stringify(text));
    assert.equal(s.gguf.bosId, 1);
    assert.equal(s.gguf.eosId, 2);
  });

  it('decodes like llama2.c: no leading space after BOS, <0xXX> as bytes, BOS/EOS skipped', (t) => {
    const s = loadStories(t);
    if (!s) return;
    for (const tok of [s.bin, s.gguf]) {
      for (const text of TEXTS) assert.equal(tok.decode(tok.encode(text)), text, JSON.stringify(text));
      assert.equal(new TextDecoder().decode(tok.tokenBytes(403, 1)), 'Once');
      assert.equal(new TextDecoder().decode(tok.tokenBytes(403, 261)), ' Once');
      assert.equal(tok.decode([1, 403, 13, 2]), 'Once\n');
    }
  });

  it('round-trips the golden llama2.c output through a token stream', (t) => {
    const s = loadStories(t);
    const golden = dataFileOrSkip(t, 'llm/stories260K/expected_greedy_t0_n200.txt');
    if (!s || !golden) return;
    const text = readFileSync(golden, 'utf8');
    const ids = s.bin.encode(text);
    const stream = new TokenTextStream(s.bin);
    assert.equal(ids.map((id) => stream.push(id)).join('') + stream.end(), text);
  });
});

describe('SentencePiece BPE: hand-made vocabularies', () => {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const pieces = ['<unk>', '<s>', '</s>', ...bytes, '\u2581', 'a', 'b', 'ab', 'ba', '\u2581a', 'aba'];
  const id = (p: string): number => pieces.indexOf(p);

  function make(scoresByPiece: Record<string, number>): SentencePieceTokenizer {
    return new SentencePieceTokenizer({
      source: 'mini',
      tokens: pieces,
      scores: pieces.map((p) => scoresByPiece[p] ?? 0),
      types: pieces.map((p, i) => (i === 0 ? 2 : i < 3 ? 3 : p.startsWith('<0x') ? 6 : 1)),
      bosId: 1,
      eosId: 2,
      unkId: 0,
    });
  }

  it('merges the best-scoring pair first', () => {
    // ▁|a|b|a. Preferring 'ab': ▁|ab|a, then 'aba' (▁ab is no piece).
    const preferAb = make({ ab: -1, ba: -5, aba: -2, '\u2581a': -9 });
    assert.deepEqual(preferAb.encode('aba', { addBos: false }), [id('\u2581'), id('aba')]);
    const preferPrefix = make({ ab: -3, ba: -5, aba: -9, '\u2581a': -1 });
    // Preferring '▁a': ▁a|b|a, then the only pair left that is a piece is (b, a).
    assert.deepEqual(preferPrefix.encode('aba', { addBos: false }), [id('\u2581a'), id('ba')]);
  });

  it('breaks ties leftmost, as llama2.c', () => {
    const tok = make({ ab: -1, ba: -1, aba: -100, '\u2581a': -100 });
    // (a, b) and (b, a) tie at -1: merging the left one gives ▁|ab|a -> ▁|aba; the right one would give ▁a|ba.
    assert.deepEqual(tok.encode('aba', { addBos: false }), [id('\u2581'), id('aba')]);
  });

  it('falls back to byte tokens for characters that are not pieces', () => {
    const tok = make({});
    assert.deepEqual(tok.encode('é', { addBos: false }), [id('\u2581'), id('<0xC3>'), id('<0xA9>')]);
    assert.equal(tok.decode(tok.encode('é')), 'é');
    assert.ok(tok.isSpecial(1) && tok.isSpecial(2) && !tok.isSpecial(id('a')));
  });

  it('rejects inconsistent vocabularies', () => {
    assert.throws(
      () => new SentencePieceTokenizer({ source: 'bad.gguf', tokens: ['a', 'b'], scores: [0], bosId: null, eosId: null, unkId: null }),
      /bad\.gguf: 2 tokens but 1 scores/,
    );
    assert.throws(
      () => new SentencePieceTokenizer({ source: 'bad.gguf', tokens: ['a', ' '], scores: [0, 0], bosId: 5, eosId: null, unkId: null }),
      /bad\.gguf: BOS id 5 is outside the 2-token vocabulary/,
    );
  });
});
