// Opening a decoder LLM's files as a model: src/io reads the format (raw config, tensor table,
// tokenizer); the family the config names turns that into the typed config and the weights under
// its parameter names, and every tensor is checked against the family's module tree before the
// files are returned, so a bad file fails at open, not mid-load. Node's path/hub front end is
// src/node/model-files.ts (loadModelFiles).

import type { ByteSource } from '../io/byte-source.js';
import { readHfFolder, type FolderAccess } from '../io/hf-folder.js';
import { readGgufModel, readLlama2cModel, type OpenedModelFiles } from '../io/model-files.js';
import { renameEntries, TableWeightSource, type WeightSource } from '../io/weights.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { CausalLM } from './decoder-common.js';
import { llamaConfigFromLlama2c } from './llm-config-readers.js';
import type { LlmConfig } from './llm-config.js';
import { DECODER_FAMILIES, familyTensors, LLAMA, llmConfigFromHf, type ModelFamily } from './registry.js';

/** Everything a decoder LLM needs from its files: the typed config, the weights under parameter names, the tokenizer. */
export interface ModelFiles {
  readonly format: OpenedModelFiles['format'];
  /** The path (or other origin) of the model, for messages. */
  readonly source: string;
  readonly family: ModelFamily<LlmConfig, CausalLM>;
  readonly config: LlmConfig;
  /** config.json as parsed, GGUF metadata (long arrays cut), or the llama2.c header fields. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  /** Tensors under the model's parameter names, checked against its module tree. */
  readonly weights: WeightSource;
  readonly tokenizer: Tokenizer;
  /** Closes the files behind `weights`. */
  close(): Promise<void>;
}

interface Resolved {
  readonly family: ModelFamily<LlmConfig, CausalLM>;
  readonly config: LlmConfig;
  readonly rename: (fileName: string) => string | null;
}

function resolveFamily(opened: OpenedModelFiles): Resolved {
  switch (opened.format) {
    case 'hf': {
      const config = llmConfigFromHf(opened.rawConfig, opened.configSource);
      const family = DECODER_FAMILIES[config.architecture];
      return { family, config, rename: (n) => family.checkpointName(n) };
    }
    case 'gguf': {
      const arch = opened.rawConfig['general.architecture'];
      const families = Object.values(DECODER_FAMILIES);
      const family = families.find((f) => f.gguf?.architecture === arch);
      if (!family?.gguf) {
        const supported = families.flatMap((f) => (f.gguf ? [f.gguf.architecture] : []));
        throw new Error(`${opened.source}: metadata 'general.architecture' = '${String(arch)}' is not supported for GGUF models (supported: ${supported.join(', ')})`);
      }
      const gguf = family.gguf;
      return { family, config: gguf.configFromHeader(opened.header), rename: (n) => gguf.tensorName(n) };
    }
    case 'llama2c':
      return { family: LLAMA, config: llamaConfigFromLlama2c(opened.header), rename: (n) => n };
  }
}

/**
 * Checks the weights against the config: bounds first (a layer count above the tensors present is a
 * corrupt or hostile header: no module tree is built for it; BOS/EOS inside the vocabulary), then
 * every tensor of the family's module tree, and the tokenizer against the vocabulary size. One
 * error lists every problem, naming the files, tensors and config fields in the file's spelling.
 */
function checkAgainstConfig(opened: OpenedModelFiles, resolved: Resolved, weights: WeightSource): void {
  const { family, config } = resolved;
  const names = family.fieldNames?.[opened.format] ?? {};
  const spell = (field: string): string => names[field] ?? field;
  const where = opened.configSource;
  const tensorCount = weights.tensorNames().length;
  if (config.numLayers > tensorCount) {
    throw new Error(`${where}: field '${spell('num_hidden_layers')}' = ${config.numLayers} layers, but ${weights.source} holds only ${tensorCount} tensors`);
  }
  for (const [field, id] of [['bos_token_id', config.bosTokenId], ['eos_token_id', config.eosTokenId]] as const) {
    if (id !== null && (id < 0 || id >= config.vocabSize)) {
      throw new Error(`${where}: field '${spell(field)}' = ${id} is outside the vocabulary (${spell('vocab_size')} = ${config.vocabSize})`);
    }
  }
  const problems: string[] = [];
  for (const t of familyTensors(family, config)) {
    const stored = [t.name, ...t.aliases].find((n) => weights.has(n));
    if (stored === undefined) {
      problems.push(`tensor '${t.name}' is missing`);
      continue;
    }
    const info = weights.info(stored);
    if (!shapesEqual(info.shape, t.shape)) {
      const alias = info.fileName === stored ? '' : ` (stored as '${info.fileName}')`;
      problems.push(`${info.file}: tensor '${stored}'${alias} has shape ${formatShape(info.shape)}, but ${where} implies ${formatShape(t.shape)}`);
    }
  }
  if (opened.tokenizer.vocabSize > config.vocabSize) {
    problems.push(`the tokenizer has ${opened.tokenizer.vocabSize} tokens, more than ${where} ${spell('vocab_size')} = ${config.vocabSize}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n  ');
    throw new Error(`${weights.source}: the model files do not match the config:\n  ${shown}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}`);
  }
}

/** Reads opened files as the family their config names, all checked (above). On any error the files are closed. */
export async function resolveModelFiles(opened: OpenedModelFiles): Promise<ModelFiles> {
  try {
    const resolved = resolveFamily(opened);
    const weights = new TableWeightSource(opened.source, renameEntries(opened.entries, resolved.rename), () => opened.close());
    checkAgainstConfig(opened, resolved, weights);
    return {
      format: opened.format,
      source: opened.source,
      family: resolved.family,
      config: resolved.config,
      rawConfig: opened.rawConfig,
      weights,
      tokenizer: opened.tokenizer,
      close: () => weights.close(),
    };
  } catch (error) {
    await opened.close().catch(() => undefined);
    // Every error names a file: a check deep in a model class knows only the class's name.
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes(opened.configSource) || message.startsWith(`${opened.source}:`) || message.includes(`${opened.source}/`)) throw error;
    throw new Error(`${opened.configSource}: ${message}`, { cause: error });
  }
}

/** Opens a GGUF model; `onClose` releases the file (Node passes its handle's close). */
export async function openGgufModel(file: ByteSource, onClose: () => Promise<void> = () => Promise.resolve()): Promise<ModelFiles> {
  return resolveModelFiles(await readGgufModel(file, onClose));
}

/** Opens a llama2.c checkpoint with its tokenizer.bin (read whole: it is small); the checkpoint is read lazily. */
export async function openLlama2cModel(
  checkpoint: ByteSource,
  tokenizerBytes: Uint8Array,
  tokenizerSource: string,
  onClose: () => Promise<void> = () => Promise.resolve(),
): Promise<ModelFiles> {
  return resolveModelFiles(await readLlama2cModel(checkpoint, tokenizerBytes, tokenizerSource, onClose));
}

/** Opens a Hugging Face model folder (config.json, safetensors, tokenizer). */
export async function openHfFolder(folder: FolderAccess): Promise<ModelFiles> {
  return resolveModelFiles(await readHfFolder(folder));
}
