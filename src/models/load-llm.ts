// Builds a language model from a WeightSource (src/io/weights.ts: safetensors folders, GGUF and
// llama2.c files, under the family's parameter names: src/models/registry.ts). Every parameter's
// name and shape, as the module tree has them, is checked before a single weight is copied;
// tensors are then read one at a time (peak memory: the model plus its largest tensor), and only a
// fully loaded model is returned.

import type { WeightSource } from '../io/weights.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { CausalLM } from './decoder-common.js';
import type { LlmConfig } from './llm-config.js';
import type { ModelInitOptions } from './model-init.js';
import { createCausalLM } from './registry.js';

export { createCausalLM } from './registry.js';

/** Copies every parameter of `model` from `source` (see the file comment for the checks). */
export async function loadWeights(model: CausalLM, source: WeightSource): Promise<void> {
  const targets = model.stateDict();
  const problems: string[] = [];
  const plan: string[] = [];
  for (const [name, target] of targets) {
    if (!source.has(name)) {
      problems.push(`tensor '${name}' is missing`);
      continue;
    }
    const info = source.info(name);
    if (!shapesEqual(info.shape, target.shape)) {
      const stored = info.fileName === name ? '' : ` (stored as '${info.fileName}')`;
      problems.push(`${info.file}: tensor '${name}'${stored} has shape ${formatShape(info.shape)}, the config needs ${formatShape(target.shape)}`);
      continue;
    }
    plan.push(name);
  }
  if (problems.length > 0) {
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    throw new Error(`${source.source}: the weights do not match the config:\n  ${problems.slice(0, 20).join('\n  ')}${more}`);
  }
  for (const name of plan) {
    const target = targets.get(name)!;
    const values = await source.getF32(name, target.shape);
    (target.data as Float32Array).set(values, target.offset);
  }
}

/** A model built from `config` and filled from `source` (weights in arena memory when init.alloc is given). */
export async function loadCausalLM(config: LlmConfig, source: WeightSource, init: ModelInitOptions = {}): Promise<CausalLM> {
  const model = createCausalLM(config, { ...init, rng: undefined });
  await loadWeights(model, source);
  return model.eval();
}
