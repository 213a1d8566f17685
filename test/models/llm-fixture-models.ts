// Loads the tiny random checkpoints of tools/make_llm_fixtures.py with their reference logits.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { memoryByteSource } from '../../src/io/byte-source.js';
import { readSafetensorsTensorF32, readSafetensorsTensorI32 } from '../../src/io/safetensors.js';
import { readSafetensorsHeader, safetensorsEntries } from '../../src/io/weights.js';
import type { CausalLM } from '../../src/models/decoder-common.js';
import type { ModelInitOptions } from '../../src/models/model-init.js';
import { checkpointWeights, DECODER_FAMILIES, llmConfigFromHf } from '../../src/models/registry.js';
import { loadCausalLM } from '../../src/models/load-llm.js';
import { readSafetensorsFile } from '../../src/node/files.js';
import { fixtureDir } from './fixtures.js';

export const LLM_FIXTURES = ['gpt2-tiny', 'gpt-neox-tiny', 'gpt-neox-sequential-tiny', 'llama-tiny'] as const;

export interface LlmFixture {
  readonly model: CausalLM;
  /** input_ids [batch, tokens]. */
  readonly ids: number[][];
  /** PyTorch logits [batch, tokens, vocab], flat. */
  readonly logits: Float32Array;
  readonly vocab: number;
}

export async function loadLlmFixture(name: string, init: ModelInitOptions = {}): Promise<LlmFixture> {
  const dir = fixtureDir(name);
  const config = llmConfigFromHf(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
  const weightsPath = join(dir, 'model.safetensors');
  const file = memoryByteSource(new Uint8Array(await readFile(weightsPath)), weightsPath);
  const weights = checkpointWeights(DECODER_FAMILIES[config.architecture], weightsPath, safetensorsEntries(file, await readSafetensorsHeader(file)));
  const model = await loadCausalLM(config, weights, init);
  const expected = await readSafetensorsFile(join(dir, 'expected.safetensors'));
  const idsEntry = expected.tensors.get('input_ids')!;
  const flat = readSafetensorsTensorI32(expected.bytes, idsEntry);
  const [batch, tokens] = idsEntry.shape as [number, number];
  const ids = Array.from({ length: batch }, (_, b) => Array.from(flat.subarray(b * tokens, (b + 1) * tokens)));
  return { model, ids, logits: readSafetensorsTensorF32(expected.bytes, expected.tensors.get('logits')!), vocab: config.vocabSize };
}

/** Reference logits of batch row b at position t. */
export function referenceRow(fixture: LlmFixture, b: number, t: number): Float32Array {
  const tokens = fixture.ids[0]!.length;
  const start = (b * tokens + t) * fixture.vocab;
  return fixture.logits.subarray(start, start + fixture.vocab);
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(worst) ? Infinity : worst;
}
