// Hugging Face BERT checkpoints: config.json to BertConfig (and back), and the checkpoint's tensor
// names to ours. Our names are Hugging Face's, so the mapping only undoes old spellings
// (LayerNorm gamma/beta from TF-converted checkpoints) and adds the 'bert.' prefix of a bare BertModel.
// File reading is in src/node/hf-bert.ts.

import type { JsonValue } from '../io/checkpoint.js';
import type { BertConfig } from './bert.js';
import { validateEncoderConfig } from './pretraining.js';

function field(json: Record<string, unknown>, key: string, source: string, fallback?: number | string): number | string {
  const value = json[key];
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${source}: missing field '${key}'`);
  }
  if (typeof value !== 'number' && typeof value !== 'string') throw new Error(`${source}: field '${key}' must be a number or string, got ${JSON.stringify(value)}`);
  return value;
}

function numberField(json: Record<string, unknown>, key: string, source: string, fallback?: number): number {
  const value = field(json, key, source, fallback);
  if (typeof value !== 'number') throw new Error(`${source}: field '${key}' must be a number, got ${JSON.stringify(value)}`);
  return value;
}

/** A BertConfig from a parsed Hugging Face config.json; `source` names the file in errors. */
export function bertConfigFromHf(json: unknown, source: string): BertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const record = json as Record<string, unknown>;
  const modelType = record['model_type'];
  if (modelType !== undefined && modelType !== 'bert') throw new Error(`${source}: model_type is '${String(modelType)}', expected 'bert'`);
  const positionType = record['position_embedding_type'];
  if (positionType !== undefined && positionType !== 'absolute') {
    throw new Error(`${source}: position_embedding_type '${String(positionType)}' is not supported (only 'absolute')`);
  }
  const act = field(record, 'hidden_act', source, 'gelu');
  if (act !== 'gelu' && act !== 'gelu_new') throw new Error(`${source}: hidden_act '${String(act)}' is not supported (gelu or gelu_new)`);
  const config: BertConfig = {
    vocabSize: numberField(record, 'vocab_size', source),
    hiddenSize: numberField(record, 'hidden_size', source),
    numLayers: numberField(record, 'num_hidden_layers', source),
    numHeads: numberField(record, 'num_attention_heads', source),
    intermediateSize: numberField(record, 'intermediate_size', source),
    maxPositions: numberField(record, 'max_position_embeddings', source, 512),
    typeVocabSize: numberField(record, 'type_vocab_size', source, 2),
    hiddenDropout: numberField(record, 'hidden_dropout_prob', source, 0.1),
    attentionDropout: numberField(record, 'attention_probs_dropout_prob', source, 0.1),
    layerNormEps: numberField(record, 'layer_norm_eps', source, 1e-12),
    hiddenAct: act,
    initializerRange: numberField(record, 'initializer_range', source, 0.02),
  };
  validateEncoderConfig(config, source);
  return Object.freeze(config);
}

/** The config.json of a BertConfig (for checkpoints we write in Hugging Face's layout). */
export function hfConfigFromBert(config: BertConfig): Record<string, JsonValue> {
  return {
    architectures: ['BertForPreTraining'],
    model_type: 'bert',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropout,
    attention_probs_dropout_prob: config.attentionDropout,
    max_position_embeddings: config.maxPositions,
    type_vocab_size: config.typeVocabSize,
    initializer_range: config.initializerRange,
    layer_norm_eps: config.layerNormEps,
    position_embedding_type: 'absolute',
  };
}

/** Tensors in checkpoints that are not weights (derived buffers); dropped on load. */
const DERIVED_BUFFERS = [/\.position_ids$/, /\.token_type_ids$/];

/**
 * Our parameter name for a checkpoint tensor name, or null for derived buffers: LayerNorm.gamma/beta
 * become weight/bias, and a bare BertModel's keys (embeddings., encoder., pooler.) get the 'bert.' prefix.
 */
export function normalizeHfBertKey(key: string): string | null {
  if (DERIVED_BUFFERS.some((re) => re.test(key))) return null;
  let name = key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  if (/^(embeddings|encoder|pooler)\./.test(name)) name = `bert.${name}`;
  return name;
}
