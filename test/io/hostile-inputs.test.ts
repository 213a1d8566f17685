// The hostile inputs of issue 12, each reproduced: counts, lengths and ids taken at their word,
// catastrophic regexes, unbounded Replace growth and deep nesting. Each must fail fast with one
// error naming the file and the field, never allocate or loop by what the file claims.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { memoryByteSource } from '../../src/io/byte-source.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/io/checkpoint.js';
import { parseGguf } from '../../src/io/gguf-read.js';
import type { FolderAccess } from '../../src/io/hf-folder.js';
import { parseLlama2cCheckpoint, parseLlama2cTokenizer } from '../../src/io/llama2c.js';
import { openGgufModel, openHfFolder, openLlama2cModel } from '../../src/models/model-files.js';
import { llmConfigFromHf } from '../../src/models/registry.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { checkJsonLimits, parseJsonBounded } from '../../src/text/bounded-json.js';
import { checkBacktracking, compileSplitPattern, GPT2_SPLIT_PATTERN, LLAMA3_SPLIT_PATTERN } from '../../src/text/byte-level.js';
import { hfTokenizerFromJson, loadHfTokenizer } from '../../src/text/hf-tokenizer.js';
import { dataFileOrSkip } from '../helpers/data.js';

/** Runs `fn`, asserting that it throws within `ms` with a message matching every pattern. */
async function refusesFast(fn: () => unknown, patterns: RegExp[], ms = 2000): Promise<void> {
  const start = performance.now();
  await assert.rejects(
    async () => fn(),
    (error: Error) => {
      for (const p of patterns) assert.match(error.message, p);
      assert.ok(!error.message.includes('\n') || patterns.length > 0);
      return true;
    },
  );
  const elapsed = performance.now() - start;
  assert.ok(elapsed < ms, `took ${elapsed.toFixed(0)} ms`);
}

// A tiny byte-level tokenizer.json (vocab a, b, ab, c) to which each test adds its hostile part.
function tokenizerJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, c: 3 }, merges: ['a b'] },
    normalizer: null,
    pre_tokenizer: null,
    decoder: null,
    post_processor: null,
    ...extra,
  };
}

describe('hostile model files', () => {
  it("stories260K.gguf with llama.block_count = 0x7fffffff fails at open, naming the field", async (t) => {
    const path = dataFileOrSkip(t, 'llm/stories260K/stories260K.gguf');
    if (!path) return;
    const bytes = new Uint8Array(readFileSync(path));
    const header = parseGguf(bytes, path);
    assert.equal(header.metadata.get('llama.block_count')?.value, 5);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.equal(view.getUint32(11247, true), 5, 'offset 11247 holds llama.block_count');
    view.setUint32(11247, 0x7fffffff, true);
    await refusesFast(() => openGgufModel(memoryByteSource(bytes, 'stories260K.gguf')), [/^stories260K\.gguf metadata: field 'llama\.block_count' = 2147483647 layers/]);
  });

  it('a 28-byte llama2.c header claiming 2^31 - 1 layers fails before laying out any layer', async () => {
    const header = new Int32Array([64, 172, 0x7fffffff, 8, 4, 512, 512]);
    const bytes = new Uint8Array(header.buffer);
    assert.equal(bytes.length, 28);
    await refusesFast(() => parseLlama2cCheckpoint(bytes, bytes.length, 'tiny.bin'), [/^tiny\.bin: the header \(.*n_layers 2147483647.*\) needs \d+ bytes/]);
    await refusesFast(
      () => openLlama2cModel(memoryByteSource(bytes, 'tiny.bin'), new Uint8Array(8), 'tok.bin'),
      [/^tiny\.bin: the header/],
    );
  });

  it('a llama2.c tokenizer is bounded by its file before the score table is allocated', async () => {
    const bytes = new Uint8Array(new Int32Array([16, 0, 1, 97]).buffer).subarray(0, 13);
    await refusesFast(() => parseLlama2cTokenizer(bytes, 0x7fffffff, 'tok.bin'), [/^tok\.bin: 2147483647 tokens \(the model's vocab_size\) need at least/]);
  });

  it('config.json: num_hidden_layers 1e9 fails against the tensors present; 1e300 fails at parse', async () => {
    const config = { model_type: 'llama', vocab_size: 4, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1e9, num_attention_heads: 2 };
    const files: Record<string, string> = { 'config.json': JSON.stringify(config), 'tokenizer.json': JSON.stringify(tokenizerJson()) };
    const weights = serializeSafetensors([{ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [4, 8], data: new Float32Array(32) }]);
    const folder: FolderAccess = {
      name: 'm',
      exists: (f) => Promise.resolve(f in files || f === 'model.safetensors'),
      readText: (f) => Promise.resolve(files[f]!),
      open: () => Promise.resolve({ ...memoryByteSource(weights, 'm/model.safetensors'), close: () => Promise.resolve() }),
    };
    await refusesFast(() => openHfFolder(folder), [/^m\/config\.json: field 'num_hidden_layers' = 1000000000 layers, but m holds only 1 tensors/]);
    assert.throws(() => llmConfigFromHf({ ...config, num_hidden_layers: 1e300 }, 'config.json'), /^Error: config\.json: field 'num_hidden_layers' must be a positive integer/);
  });

  it('config.json: BOS/EOS outside the vocabulary fail at open, naming config.json and the field', async () => {
    const config = { model_type: 'llama', vocab_size: 4, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, eos_token_id: 9 };
    const files: Record<string, string> = { 'config.json': JSON.stringify(config), 'tokenizer.json': JSON.stringify(tokenizerJson()) };
    const weights = serializeSafetensors([{ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [4, 8], data: new Float32Array(32) }]);
    const folder: FolderAccess = {
      name: 'm',
      exists: (f) => Promise.resolve(f in files || f === 'model.safetensors'),
      readText: (f) => Promise.resolve(files[f]!),
      open: () => Promise.resolve({ ...memoryByteSource(weights, 'm/model.safetensors'), close: () => Promise.resolve() }),
    };
    await refusesFast(() => openHfFolder(folder), [/^m\/config\.json: field 'eos_token_id' = 9 is outside the vocabulary \(vocab_size = 4\)/]);
  });

  // Found by the full fuzz run: a huge vocabulary failed as "Invalid typed array length", and a
  // model class's own check named the class, not the file.
  it('config.json: a tensor too large to exist, or an unsupported rope_scaling, fails naming config.json', async () => {
    const base = { model_type: 'llama', vocab_size: 4, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 };
    const folderWith = (config: Record<string, unknown>): FolderAccess => {
      const files: Record<string, string> = { 'config.json': JSON.stringify(config), 'tokenizer.json': JSON.stringify(tokenizerJson()) };
      const weights = serializeSafetensors([{ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [4, 8], data: new Float32Array(32) }]);
      return {
        name: 'm',
        exists: (f) => Promise.resolve(f in files || f === 'model.safetensors'),
        readText: (f) => Promise.resolve(files[f]!),
        open: () => Promise.resolve({ ...memoryByteSource(weights, 'm/model.safetensors'), close: () => Promise.resolve() }),
      };
    };
    await refusesFast(() => openHfFolder(folderWith({ ...base, vocab_size: 2 ** 31 - 1, hidden_size: 4096, num_attention_heads: 32 })), [/^m\/config\.json: the config implies a tensor of \d+ elements, more than the 2147483647 a tensor can hold/]);
    await refusesFast(() => openHfFolder(folderWith({ ...base, rope_scaling: { type: 'Sequence' } })), [/^m\/config\.json: .*rope_scaling \{"type":"Sequence"\} is not supported/]);
  });
});

describe('hostile tokenizer.json', () => {
  it("refuses the Split pattern (a|aa)+$ instead of backtracking for 35 s", async () => {
    const json = tokenizerJson({ pre_tokenizer: { type: 'Split', pattern: { Regex: '(a|aa)+$' }, behavior: 'Isolated' } });
    await refusesFast(() => hfTokenizerFromJson(json, 'tokenizer.json'), [/^tokenizer\.json: pre_tokenizer\.pattern\.Regex: pattern "\(a\|aa\)\+\$" is refused: a repeated group contains an alternation/]);
  });

  it('the backtracking guard refuses nested and stacked repeats and backreferences, and passes released patterns', () => {
    for (const bad of ['(a+)+', '(?:\\s*x)*', '(a|b)*c', '((ab)|c){2,}', 'a*a*a*b', '(a)\\1', '(?<x>a)\\k<x>', '([ab]+b)+']) {
      assert.throws(() => checkBacktracking(bad, 'p'), /is refused/, bad);
    }
    const released = [
      GPT2_SPLIT_PATTERN,
      LLAMA3_SPLIT_PATTERN,
      // GPT-4o (o200k) and DeepSeek pre-tokenizers
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      "[\\r\\n]|\\s?[A-Za-zµÀ-ÖØ-öø-ƺ]+|\\s?[!-/:-~！-／：-～‘-‟　-。]+|\\s+$|[一-龥ࠀ-一가-퟿]+|\\p{N}+",
      '(a|b)?c{1,3}(?:xy)+',
    ];
    for (const good of released) checkBacktracking(good, 'p');
    // Found by the fuzzer: an untranslatable class is an error naming the field, not a bare message.
    assert.throws(() => compileSplitPattern('[\\S]+', 'tokenizer.json: pre_tokenizer.pattern.Regex'), /^Error: tokenizer\.json: pre_tokenizer\.pattern\.Regex: pattern uses \\S inside a character class/);
    assert.ok(compileSplitPattern(LLAMA3_SPLIT_PATTERN, 'p') instanceof RegExp);
  });

  it('bounds 20 chained Replace "" -> "ab" instead of growing the text 3^20 times', async () => {
    const step = { type: 'Replace', pattern: { String: '' }, content: 'ab' };
    const json = tokenizerJson({ normalizer: { type: 'Sequence', normalizers: Array.from({ length: 20 }, () => step) } });
    const tokenizer = hfTokenizerFromJson(json, 'tokenizer.json');
    await refusesFast(() => tokenizer.encode('a'.repeat(41)), [/^tokenizer\.json: normalizer\.normalizers\[\d+\]: Replace grows the text past \d+ characters/]);
    // One step is fine: a normal Replace grows a short text by a bounded amount.
    const one = hfTokenizerFromJson(tokenizerJson({ normalizer: step }), 'tokenizer.json');
    assert.deepEqual(one.encode('c', { addBos: false }), [2, 3, 2]);
  });

  it('checks vocab ids: 2^32, 2^31 + 1, negative and duplicate ids are errors naming the token', () => {
    const withVocab = (vocab: Record<string, unknown>): Record<string, unknown> => ({ ...tokenizerJson(), model: { type: 'BPE', vocab, merges: [] } });
    assert.throws(() => hfTokenizerFromJson(withVocab({ a: 0, b: 2 ** 32 }), 'tokenizer.json'), /^Error: tokenizer\.json: model\.vocab\["b"\] = 4294967296 is out of range/);
    assert.throws(() => hfTokenizerFromJson(withVocab({ a: 0, b: 2 ** 31 + 1 }), 'tokenizer.json'), /model\.vocab\["b"\] = 2147483649 is out of range/);
    assert.throws(() => hfTokenizerFromJson(withVocab({ a: 0, b: -1 }), 'tokenizer.json'), /model\.vocab\["b"\] must be a non-negative integer id/);
    assert.throws(() => hfTokenizerFromJson(withVocab({ a: 0, b: 0 }), 'tokenizer.json'), /model\.vocab\["b"\] = 0 is also the id of "a"/);
    const added = { ...tokenizerJson(), added_tokens: [{ id: 2 ** 32, content: 'x' }] };
    assert.throws(() => hfTokenizerFromJson(added, 'tokenizer.json'), /added_tokens\[0\]\.id = 4294967296 is out of range/);
  });

  it('5,000-deep Sequence nesting is refused before parsing, naming the file', async () => {
    let pre: unknown = null;
    let text = 'null';
    for (let i = 0; i < 5000; i++) text = `{"type":"Sequence","pretokenizers":[${text}]}`;
    pre = text;
    const json = JSON.stringify(tokenizerJson()).replace('"pre_tokenizer":null', `"pre_tokenizer":${String(pre)}`);
    await refusesFast(() => loadHfTokenizer(json, 'tokenizer.json'), [/^tokenizer\.json: JSON nested deeper than 64 levels/]);
  });
});

describe('bounded JSON', () => {
  it('bounds depth and string length, ignoring brackets inside strings', () => {
    checkJsonLimits('{"a":"[[[[[[[[\\"]]]]"}', 'f', { maxDepth: 1 });
    assert.throws(() => checkJsonLimits('[[[1]]]', 'f', { maxDepth: 2 }), /^Error: f: JSON nested deeper than 2 levels at character 2/);
    assert.throws(() => checkJsonLimits('["abcdef"]', 'f', { maxStringLength: 5 }), /^Error: f: a string at character 1 is longer than the 5-character limit/);
    assert.deepEqual(parseJsonBounded('{"x":[1,{"y":"z"}]}', 'f'), { x: [1, { y: 'z' }] });
    assert.throws(() => parseJsonBounded('{"x":', 'f.json'), /^Error: f\.json: not valid JSON/);
  });

  it('rope_scaling and checkpoint metadata nested 5,000 deep are refused with the file named', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    assert.throws(() => parseJsonBounded(`{"rope_scaling":${deep}}`, 'config.json'), /^Error: config\.json: JSON nested deeper than 64 levels/);
    const bytes = serializeSafetensors([], { thrifty: `{"step":0,"rng":{},"optimizer":{},"user":{"x":${deep}}}` });
    assert.ok(parseSafetensors(bytes, 'c').metadata['thrifty']);
    assert.throws(() => decodeCheckpoint(bytes, 'ckpt.safetensors'), /^Error: ckpt\.safetensors: __metadata__\.thrifty: JSON nested deeper than 64 levels/);
    assert.ok(encodeCheckpoint);
  });
});
