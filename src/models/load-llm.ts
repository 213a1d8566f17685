// Builds a language model from a WeightSource (src/io/weights.ts: safetensors folders, GGUF and
// llama2.c files, under the family's parameter names: src/models/registry.ts). Every parameter's
// name and shape, as the module tree has them, is checked before a single weight is copied;
// tensors are then read one at a time (peak memory: the model plus its largest tensor), and only a
// fully loaded model is returned.

import type { WeightSource } from '../io/weights.js';
import { quantizedLayout } from '../nn/quantized-layout.js';
import { isQuantFormat, QUANT_BLOCK, type QuantFormat } from '../ops/quant-kernels.js';
import { numel } from '../tensor/shape.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { CausalLM } from './decoder-common.js';
import type { LlmConfig } from './llm-config.js';
import type { ModelInitOptions } from './model-init.js';
import { createCausalLM } from './registry.js';

export { createCausalLM } from './registry.js';

/**
 * Copies every parameter of `model` from `source` (see the file comment for the checks); Linear
 * weights built with quantizedLayout(quantFormat) take the file's bytes as stored.
 */
export async function loadWeights(model: CausalLM, source: WeightSource, quantFormat: QuantFormat | null = null): Promise<void> {
  const targets = model.stateDict();
  const problems: string[] = [];
  const plan: string[] = [];
  for (const [name, target] of targets) {
    if (!source.has(name)) {
      problems.push(`tensor '${name}' is missing`);
      continue;
    }
    const info = source.info(name);
    if (target.dtype === 'i8') {
      // A quantized Linear weight: the file's bytes as they are, [out, rowBytes] for [out, in].
      if (!quantFormat || info.dtype !== quantFormat) {
        problems.push(`${info.file}: tensor '${name}' is stored as ${info.dtype}, the model keeps its Linear weights as ${quantFormat ?? 'an unknown format'}; load with dtype 'f32'`);
      } else if (!quantizedFits(quantFormat, target.shape, info.shape)) {
        problems.push(`${info.file}: tensor '${name}' has shape ${formatShape(info.shape)}, which does not match the quantized weight ${formatShape(target.shape)}`);
      } else {
        plan.push(name);
      }
      continue;
    }
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
    if (target.dtype === 'i8') {
      const bytes = await source.getRawBytes(name);
      const data = target.data;
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes.subarray(0, data.byteLength));
      continue;
    }
    const values = await source.getF32(name, target.shape);
    (target.data as Float32Array).set(values, target.offset);
  }
}

/** Whether a file shape [out, in] fits a quantized target [out, rowBytes] of `format`. */
function quantizedFits(format: QuantFormat, target: readonly number[], file: readonly number[]): boolean {
  const cols = file[file.length - 1] ?? 0;
  const { elements, bytes } = QUANT_BLOCK[format];
  return file.length === 2 && file[0] === target[0] && cols % elements === 0 && (cols / elements) * bytes === target[1]
    && numel(file) > 0;
}

/** How a loaded model stores its Linear weights. */
export type WeightDType = 'f32' | 'auto';

export interface LoadCausalLMOptions extends ModelInitOptions {
  /**
   * 'auto' (default): when the file's matrices share one of Q8_0, Q4_0, F16, BF16, every Linear
   * keeps it (quantizedLayout, inference only, memory about the file's); otherwise f32.
   * 'f32': every weight dequantised to f32 at load (e.g. to train).
   */
  readonly dtype?: WeightDType | undefined;
}

/**
 * The storage format the Linear weights take under 'auto': the format of the file's 2-D tensors
 * when they share one quantizable format (the embedding table is read as f32 either way), else null.
 */
export function storedLinearFormat(source: WeightSource): QuantFormat | null {
  const formats = new Set<string>();
  for (const name of source.tensorNames()) {
    const info = source.info(name);
    if (info.shape.length === 2) formats.add(info.dtype);
  }
  if (formats.size !== 1) return null;
  const [only] = formats;
  return only !== undefined && isQuantFormat(only) ? only : null;
}

/** A model built from `config` and filled from `source` (weights in arena memory when init.alloc is given). */
export async function loadCausalLM(config: LlmConfig, source: WeightSource, init: LoadCausalLMOptions = {}): Promise<CausalLM> {
  const { dtype = 'auto', ...rest } = init;
  const format = dtype === 'auto' && init.trainable === false ? storedLinearFormat(source) : null;
  if (format) {
    const model = createCausalLM(config, { ...rest, rng: undefined, linearLayout: () => quantizedLayout(format) });
    await loadWeights(model, source, format);
    return model.eval();
  }
  const model = createCausalLM(config, { ...rest, rng: undefined });
  await loadWeights(model, source);
  return model.eval();
}
