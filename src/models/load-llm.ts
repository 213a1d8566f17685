// Builds a language model from a WeightSource (src/io/weights.ts: safetensors folders, GGUF and
// llama2.c files, all under Hugging Face tensor names). Every parameter's name and shape is
// checked before a single weight is copied, tensors are then read one at a time (peak memory: the
// model plus its largest tensor), and only a fully loaded model is returned.

import type { WeightSource } from '../io/weights.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { CausalLM } from './decoder-common.js';
import { Gpt2LMHeadModel } from './gpt2.js';
import { GptNeoxForCausalLM } from './gpt-neox.js';
import { LlamaForCausalLM } from './llama.js';
import type { LlmConfig } from './llm-config.js';
import type { ModelInitOptions } from './model-init.js';

/** The model class for a config, with fresh (random or zero) weights. */
export function createCausalLM(config: LlmConfig, init: ModelInitOptions = {}): CausalLM {
  switch (config.architecture) {
    case 'llama':
      return new LlamaForCausalLM(config, init);
    case 'gpt-neox':
      return new GptNeoxForCausalLM(config, init);
    case 'gpt2':
      return new Gpt2LMHeadModel(config, init);
  }
}

/**
 * The source's name for a parameter: the same, except that GPT-2 checkpoints from the hub store
 * GPT2Model's names (wte.weight, h.0...) where GPT2LMHeadModel says transformer.wte.weight.
 */
function sourceName(source: WeightSource, parameter: string): string {
  if (source.has(parameter)) return parameter;
  if (parameter.startsWith('transformer.')) {
    const bare = parameter.slice('transformer.'.length);
    if (source.has(bare)) return bare;
  }
  return parameter;
}

/** Copies every parameter of `model` from `source` (see the file comment for the checks). */
export async function loadWeights(model: CausalLM, source: WeightSource): Promise<void> {
  const targets = model.stateDict();
  const problems: string[] = [];
  const plan: Array<[string, string]> = [];
  for (const [key, target] of targets) {
    const name = sourceName(source, key);
    if (!source.has(name)) {
      problems.push(`tensor '${key}' is missing`);
      continue;
    }
    const info = source.info(name);
    if (!shapesEqual(info.shape, target.shape)) {
      const stored = info.fileName === name ? '' : ` (stored as '${info.fileName}')`;
      problems.push(`${info.file}: tensor '${name}'${stored} has shape ${formatShape(info.shape)}, the config needs ${formatShape(target.shape)}`);
      continue;
    }
    plan.push([key, name]);
  }
  if (problems.length > 0) {
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    throw new Error(`${source.source}: the weights do not match the config:\n  ${problems.slice(0, 20).join('\n  ')}${more}`);
  }
  for (const [key, name] of plan) {
    const target = targets.get(key)!;
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
