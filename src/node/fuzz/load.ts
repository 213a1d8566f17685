// Loading one fuzzed input through the public API, as a user would, and checking what a load that
// succeeds returned: ids inside the vocabulary, tensors readable and of the announced size, a
// checkpoint equal to what was saved. A load that succeeds but breaks one of these is "accepted
// but wrong"; an error that does not name the input file is a "generic deep error".

import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { loadCheckpoint } from '../checkpoint.js';
import { asBytes } from '../files.js';
import { loadModelFiles } from '../model-files.js';
import { parseSafetensors, readSafetensorsTensorF32, readSafetensorsTensorI32 } from '../../io/safetensors.js';
import { llama2cTokenizer } from '../../io/llama2c.js';
import { expectedTensors } from '../../models/registry.js';
import { loadHfTokenizer } from '../../text/hf-tokenizer.js';
import { wordPieceFromVocabText } from '../../text/wordpiece.js';
import { LLAMA2C_VOCAB, seedCheckpointContents, type FuzzFormat } from './seeds.js';
import { type Tokenizer } from '../../text/tokenizer.js';

export type FuzzOutcome = 'clean' | 'harmless' | 'generic' | 'hang' | 'crash' | 'wrong';

export const FUZZ_OUTCOMES: readonly FuzzOutcome[] = ['clean', 'harmless', 'generic', 'hang', 'crash', 'wrong'];

export const OUTCOME_TITLES: Readonly<Record<FuzzOutcome, string>> = {
  clean: 'clean error',
  harmless: 'harmless',
  generic: 'generic deep error',
  hang: 'hang > 5 s',
  crash: 'crash / out of memory',
  wrong: 'accepted but wrong',
};

/** Thrown by a check on what a successful load returned. */
class WrongResult extends Error {}

const SAMPLE = 'Hello world, the cat sat on the mat.\n  Ünïcödé 123 <|endoftext|> tabs\tand  spaces ';

function checkTokenizer(tokenizer: Tokenizer, vocabSize: number): void {
  const ids = tokenizer.encode(SAMPLE);
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new WrongResult(`encode returned id ${id}, outside the ${vocabSize}-token vocabulary`);
  const text = tokenizer.decode(ids);
  if (typeof text !== 'string') throw new WrongResult('decode did not return a string');
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Loads `dir/fileName` as `format`; resolves when it loaded, throws the loader's error (or WrongResult). */
export async function loadFuzzInput(format: FuzzFormat, dir: string, fileName: string): Promise<void> {
  const path = join(dir, fileName);
  switch (format) {
    case 'gguf':
    case 'llama2c':
    case 'config-json': {
      const files = await loadModelFiles(format === 'config-json' ? dir : path);
      try {
        const config = files.config;
        const weights = await files.weights.loadAll(expectedTensors(config));
        for (const t of expectedTensors(config)) {
          const data = weights.get(t.name);
          if (!data) throw new WrongResult(`tensor ${t.name} missing after a successful load`);
          if (data && data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new WrongResult(`tensor ${t.name} has ${data.length} values for shape [${t.shape.join(', ')}]`);
        }
        for (const id of [config.bosTokenId, config.eosTokenId]) {
          if (id !== null && (id < 0 || id >= config.vocabSize)) throw new WrongResult(`BOS/EOS id ${id} outside the ${config.vocabSize}-token vocabulary`);
        }
        checkTokenizer(files.tokenizer, config.vocabSize);
      } finally {
        await files.close();
      }
      return;
    }
    case 'safetensors': {
      const bytes = asBytes(await readFile(path));
      const file = parseSafetensors(bytes, path);
      for (const entry of file.tensors.values()) {
        const count = entry.shape.reduce((a, b) => a * b, 1);
        const data = /^[FB]/.test(entry.dtype) && entry.dtype !== 'BOOL' ? readSafetensorsTensorF32(bytes, entry) : readSafetensorsTensorI32(bytes, entry);
        if (data.length !== count) throw new WrongResult(`tensor ${entry.name}: ${data.length} values for shape [${entry.shape.join(', ')}]`);
      }
      return;
    }
    case 'llama2c-tokenizer': {
      const tokenizer = llama2cTokenizer(asBytes(await readFile(path)), LLAMA2C_VOCAB, path);
      checkTokenizer(tokenizer, LLAMA2C_VOCAB);
      return;
    }
    case 'tokenizer-json': {
      const tokenizer = loadHfTokenizer(await readFile(path, 'utf8'), path);
      checkTokenizer(tokenizer, tokenizer.vocabSize);
      return;
    }
    case 'vocab-txt': {
      const tokenizer = wordPieceFromVocabText(await readFile(path, 'utf8'), {}, path);
      const ids = tokenizer.encode(SAMPLE);
      for (const id of ids) if (id < 0 || id >= tokenizer.vocabSize) throw new WrongResult(`encode returned id ${id}, outside the vocabulary`);
      return;
    }
    case 'checkpoint': {
      const loaded = await loadCheckpoint(path);
      const seed = seedCheckpointContents();
      for (const group of ['model', 'optimizer'] as const) {
        if (loaded[group].size !== seed[group].size) throw new WrongResult(`${group}: ${loaded[group].size} tensors, saved ${seed[group].size}`);
        for (const [name, tensor] of seed[group]) {
          const got = loaded[group].get(name);
          if (!got || !sameFloats(got.data, tensor.data) || got.shape.join() !== tensor.shape.join()) throw new WrongResult(`${group} tensor ${name} differs from what was saved`);
        }
      }
      if (JSON.stringify(loaded.state) !== JSON.stringify(seed.state)) throw new WrongResult('the state differs from what was saved');
      return;
    }
  }
}

export interface FuzzResult {
  readonly outcome: FuzzOutcome;
  /** The error's first line, or why a load is wrong. */
  readonly message: string;
}

/** Runs one load and classifies what it did (hangs and crashes are classified by the parent). */
export async function classifyLoad(format: FuzzFormat, dir: string, fileName: string): Promise<FuzzResult> {
  try {
    await loadFuzzInput(format, dir, fileName);
    return { outcome: 'harmless', message: '' };
  } catch (error) {
    if (error instanceof WrongResult) return { outcome: 'wrong', message: error.message };
    const message = error instanceof Error ? error.message : String(error);
    const firstLine = message.split('\n')[0] ?? '';
    // Clean: an Error naming the input file (or its folder for a model folder), so a user knows what to fix.
    const names = [basename(join(dir, fileName)), `${basename(dir)}/`, dir];
    const named = error instanceof Error && names.some((n) => firstLine.includes(n));
    return { outcome: named ? 'clean' : 'generic', message: firstLine.slice(0, 300) };
  }
}
