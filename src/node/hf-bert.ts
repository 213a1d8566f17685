// Loads a Hugging Face BERT folder (config.json + model.safetensors) into BertForPreTraining.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { BertForPreTraining, type ModelInitOptions } from '../models/bert.js';
import { bertConfigFromHf, normalizeHfBertKey } from '../models/hf-bert.js';
import type { RawTensor } from '../nn/module.js';
import { readSafetensorsTensorF32 } from '../io/safetensors.js';
import { readSafetensorsFile } from './files.js';

export interface LoadHfBertOptions extends Omit<ModelInitOptions, 'rng'> {
  /**
   * A checkpoint without the pre-training heads (a bare BertModel, or a fine-tuned one) fails unless
   * this is false; the missing weights then stay 0.
   */
  readonly strict?: boolean;
}

/** Reads `folder`/config.json and `folder`/model.safetensors; errors name the file and the tensor. */
export async function loadHfBert(folder: string, options: LoadHfBertOptions = {}): Promise<BertForPreTraining> {
  const configPath = join(folder, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    throw new Error(`${configPath}: ${(error as Error).message}`);
  }
  const config = bertConfigFromHf(json, configPath);
  const weightsPath = join(folder, 'model.safetensors');
  const file = await readSafetensorsFile(weightsPath);
  const state = new Map<string, RawTensor>();
  for (const [key, entry] of file.tensors) {
    const name = normalizeHfBertKey(key);
    if (name === null) continue;
    if (state.has(name)) throw new Error(`${weightsPath}: tensors '${key}' and another map to the same parameter '${name}'`);
    state.set(name, { shape: entry.shape, data: readSafetensorsTensorF32(file.bytes, entry) });
  }
  const model = new BertForPreTraining(config, options.dropoutRng ? { dropoutRng: options.dropoutRng } : {});
  try {
    model.loadStateDict(state, { strict: options.strict ?? true });
  } catch (error) {
    throw new Error(`${weightsPath}: ${(error as Error).message}`);
  }
  return model;
}
