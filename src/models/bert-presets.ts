// Model sizes. The BERT family of Turc et al. (2019, "Well-Read Students Learn Better"): heads = H/64,
// feed-forward 4H, 512 positions, the bert-base-uncased vocabulary. The micro family is small enough
// to pre-train on two CPU cores in minutes (head size 32, 128 positions, a 4-8k WordPiece vocabulary).
// Either architecture takes any size: GroupBERT keeps L and H and adds its own modules.

import type { BertConfig, ModelInitOptions } from './bert.js';
import { GROUPBERT_DEFAULTS, type GroupBertConfig } from './groupbert.js';
import type { PreTrainingModel } from './pretraining.js';
import { BERT, GROUPBERT } from './registry.js';

export interface SizePreset {
  readonly name: string;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly maxPositions: number;
  /** The vocabulary the size is usually paired with (the actual one comes from the tokenizer). */
  readonly defaultVocabSize: number;
}

function turc(name: string, numLayers: number, hiddenSize: number): SizePreset {
  return { name, numLayers, hiddenSize, numHeads: hiddenSize / 64, intermediateSize: 4 * hiddenSize, maxPositions: 512, defaultVocabSize: 30522 };
}

function micro(name: string, numLayers: number, hiddenSize: number): SizePreset {
  return { name, numLayers, hiddenSize, numHeads: hiddenSize / 32, intermediateSize: 4 * hiddenSize, maxPositions: 128, defaultVocabSize: 8192 };
}

export const SIZE_PRESETS: readonly SizePreset[] = Object.freeze([
  turc('tiny', 2, 128),
  turc('mini', 4, 256),
  turc('small', 4, 512),
  turc('medium', 8, 512),
  turc('base', 12, 768),
  micro('micro-xs', 2, 64),
  micro('micro-s', 2, 128),
  micro('micro-m', 4, 128),
  micro('micro-l', 4, 192),
  micro('micro-xl', 6, 256),
]);

export function sizePreset(name: string): SizePreset {
  const preset = SIZE_PRESETS.find((p) => p.name === name);
  if (!preset) throw new Error(`unknown model size '${name}' (known: ${SIZE_PRESETS.map((p) => p.name).join(', ')})`);
  return preset;
}

export type Architecture = 'bert' | 'groupbert';
export const ARCHITECTURES: readonly Architecture[] = ['bert', 'groupbert'];

export function parseArchitecture(value: string, where: string): Architecture {
  if (value === 'bert' || value === 'groupbert') return value;
  throw new Error(`${where}: unknown architecture '${value}' (expected bert or groupbert)`);
}

export interface ConfigOverrides {
  readonly vocabSize?: number | undefined;
  readonly maxPositions?: number | undefined;
  /** Hidden and attention dropout together. */
  readonly dropout?: number | undefined;
  /** GroupBERT ablations (ignored for BERT). */
  readonly groupbert?: Partial<Omit<GroupBertConfig, keyof BertConfig>> | undefined;
}

export function bertConfig(size: SizePreset, overrides: ConfigOverrides = {}): BertConfig {
  const dropout = overrides.dropout ?? 0.1;
  return Object.freeze({
    vocabSize: overrides.vocabSize ?? size.defaultVocabSize,
    hiddenSize: size.hiddenSize,
    numLayers: size.numLayers,
    numHeads: size.numHeads,
    intermediateSize: size.intermediateSize,
    maxPositions: overrides.maxPositions ?? size.maxPositions,
    typeVocabSize: 2,
    hiddenDropout: dropout,
    attentionDropout: dropout,
    layerNormEps: 1e-12,
    hiddenAct: 'gelu',
    initializerRange: 0.02,
  });
}

export function groupBertConfig(size: SizePreset, overrides: ConfigOverrides = {}): GroupBertConfig {
  const merged = { ...bertConfig(size, overrides), ...GROUPBERT_DEFAULTS, ...overrides.groupbert };
  return Object.freeze({ ...merged, moduleOrder: Object.freeze([...merged.moduleOrder]) });
}

export function modelConfig(arch: Architecture, size: SizePreset, overrides: ConfigOverrides = {}): BertConfig | GroupBertConfig {
  return arch === 'bert' ? bertConfig(size, overrides) : groupBertConfig(size, overrides);
}

export function isGroupBertConfig(config: BertConfig | GroupBertConfig): config is GroupBertConfig {
  return 'moduleOrder' in config;
}

/** A fresh pre-training model of either architecture. */
export function createPreTrainingModel(arch: Architecture, config: BertConfig | GroupBertConfig, options: ModelInitOptions = {}): PreTrainingModel {
  if (arch === 'bert') return BERT.create(config, options);
  if (!isGroupBertConfig(config)) throw new Error('createPreTrainingModel: GroupBERT needs a GroupBertConfig (moduleOrder, convKernelSize, ...)');
  return GROUPBERT.create(config, options);
}
