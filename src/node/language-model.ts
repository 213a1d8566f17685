// Node's front end of the one-call generation API: `loadLanguageModel(spec)` opens what
// `thrifty generate --model` accepts (the bundled model by default, a path, hf:ORG/NAME[@rev]) and
// runs it on the wasm kernels with a worker-thread pool (one thread for small models, as the CLI).

import { availableParallelism } from 'node:os';
import { createLanguageModel, defaultDecodeThreads, wasmEngine, type LanguageModel } from '../generate/language-model.js';
import { bundledModelDir } from './bundled-model.js';
import type { HubOptions } from './hub.js';
import { loadModelFiles } from './model-files.js';
import { createNodeWasmKernels } from './wasm-pool.js';

export interface LoadLanguageModelOptions {
  /** Threads including the caller (default: 1 for models under 16M parameters, else all cores). */
  readonly threads?: number | undefined;
  /** llama2.c checkpoints: the tokenizer .bin (default: beside the checkpoint). */
  readonly tokenizerPath?: string | undefined;
  /** For hf: specs (cache folder, revision pinning, offline use). */
  readonly hub?: HubOptions | undefined;
}

/**
 * Loads a language model for generation: `'bundled'` (the default: thrifty's own small model), a
 * .gguf file, a llama2.c .bin, a Hugging Face folder, or hf:ORG/NAME[@revision].
 */
export async function loadLanguageModel(spec = 'bundled', options: LoadLanguageModelOptions = {}): Promise<LanguageModel> {
  const path = spec === 'bundled' ? await bundledModelDir() : spec;
  const files = await loadModelFiles(path, {
    ...(options.tokenizerPath !== undefined ? { tokenizerPath: options.tokenizerPath } : {}),
    ...(options.hub !== undefined ? { hub: options.hub } : {}),
  });
  let threads: number;
  try {
    threads = options.threads ?? defaultDecodeThreads(files.config) ?? availableParallelism();
    if (!Number.isInteger(threads) || threads <= 0) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  } catch (error) {
    await files.close();
    throw error;
  }
  const wasm = await createNodeWasmKernels({ threads }).catch(async (error: unknown) => {
    await files.close();
    throw error;
  });
  return createLanguageModel(files, { engine: wasmEngine(wasm) });
}
