// What BERT and GroupBERT share as pre-training models: the encoder configuration fields, the
// inputs, and the masked-LM + next-sentence objective. The architectures differ only in their
// encoder layers; embeddings and heads are common, so one trainer drives both.

import { add } from '../autograd/ops/elementwise.js';
import { indexSelect } from '../autograd/ops/indexing.js';
import { crossEntropy } from '../autograd/ops/loss.js';
import { reshape } from '../autograd/ops/movement.js';
import { argmax } from '../autograd/ops/reduce.js';
import type { HiddenActivation } from '../nn/encoder-heads.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../tensor/rng.js';
import { formatShape } from '../tensor/shape.js';
import { fromArray, type Tensor } from '../tensor/tensor.js';

/** The label of tokens the masked-LM loss skips (PyTorch's ignore_index). */
export const IGNORE_LABEL = -100;

/** Fields every BERT-family encoder configuration has (Hugging Face's config.json names in comments). */
export interface EncoderConfig {
  readonly vocabSize: number; // vocab_size
  readonly hiddenSize: number; // hidden_size
  readonly numLayers: number; // num_hidden_layers
  readonly numHeads: number; // num_attention_heads
  readonly intermediateSize: number; // intermediate_size
  readonly maxPositions: number; // max_position_embeddings
  readonly typeVocabSize: number; // type_vocab_size
  readonly hiddenDropout: number; // hidden_dropout_prob
  readonly attentionDropout: number; // attention_probs_dropout_prob
  readonly layerNormEps: number; // layer_norm_eps
  readonly hiddenAct: HiddenActivation; // hidden_act
  readonly initializerRange: number; // initializer_range
}

/** Checks the fields shared by every encoder config; `where` names the source in errors. */
export function validateEncoderConfig(config: EncoderConfig, where: string): void {
  const positive = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'typeVocabSize'] as const;
  for (const field of positive) {
    const v = config[field];
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${field} must be a positive integer, got ${v}`);
  }
  if (config.hiddenSize % config.numHeads !== 0) throw new Error(`${where}: hiddenSize ${config.hiddenSize} is not divisible by numHeads ${config.numHeads}`);
  for (const field of ['hiddenDropout', 'attentionDropout'] as const) {
    const p = config[field];
    if (!(p >= 0 && p < 1)) throw new Error(`${where}: ${field} must be in [0, 1), got ${p}`);
  }
  if (!(config.layerNormEps > 0)) throw new Error(`${where}: layerNormEps must be positive, got ${config.layerNormEps}`);
  if (config.hiddenAct !== 'gelu' && config.hiddenAct !== 'gelu_new') throw new Error(`${where}: hiddenAct must be 'gelu' or 'gelu_new', got '${String(config.hiddenAct)}'`);
  if (!(config.initializerRange > 0)) throw new Error(`${where}: initializerRange must be positive, got ${config.initializerRange}`);
}

export interface EncoderInputs {
  /** i32 [B, S] */
  readonly inputIds: Tensor;
  /** i32 [B, S]; default all 0. */
  readonly tokenTypeIds?: Tensor | null;
  /** [B, S], nonzero for tokens and 0 for padding; default no padding. */
  readonly attentionMask?: Tensor | null;
}

export interface PreTrainingOutputs {
  /** [B, S, V], or [P, V] for the P positions asked for. */
  readonly mlmLogits: Tensor;
  /** [B, 2], or null when the forward was asked to skip next-sentence prediction. */
  readonly nspLogits: Tensor | null;
}

export interface PreTrainingForwardOptions {
  /** Flat positions (b * S + s) to predict, i32 [P]; default every position. Pre-training only needs the masked ones. */
  readonly mlmPositions?: Tensor | null;
  /** Skip the pooler and next-sentence classifier (their logits are then absent). */
  readonly withNsp?: boolean;
}

/** A masked-LM pre-training model: an encoder with the shared embeddings and heads. */
export abstract class PreTrainingModel extends Module {
  abstract readonly architecture: 'bert' | 'groupbert';
  abstract readonly config: EncoderConfig;
  /** The generator every dropout in the model draws from; its state belongs in a checkpoint. */
  abstract readonly dropoutRng: Rng;

  /** The encoder's output [B, S, H] (after embeddings and every layer). */
  abstract encode(inputs: EncoderInputs): Tensor;

  /** Masked-LM logits (at `mlmPositions` when given) and next-sentence logits. */
  abstract forward(inputs: EncoderInputs, options?: PreTrainingForwardOptions): PreTrainingOutputs;
}

/** Flattened hidden states [B*S, H] at `positions` (or all of them). */
export function selectPositions(sequence: Tensor, positions: Tensor | null | undefined): Tensor {
  const hidden = sequence.shape[sequence.rank - 1]!;
  if (!positions) return sequence;
  return indexSelect(reshape(sequence, [-1, hidden]), 0, positions);
}

/** One pre-training batch as the MLM data pipeline produces it (flat, row-major [B, S] arrays). */
export interface PreTrainingBatch {
  readonly batchSize: number;
  readonly seqLength: number;
  readonly inputIds: Int32Array;
  readonly tokenTypeIds: Int32Array;
  /** 1 for tokens, 0 for padding. */
  readonly attentionMask: Int32Array | Uint8Array;
  /** The original token at masked positions, IGNORE_LABEL elsewhere. */
  readonly mlmLabels: Int32Array;
  /** 1 when the second segment is a random one, 0 when it is the true next; null without NSP. */
  readonly nspLabels: Int32Array | null;
}

export interface PreTrainingLoss {
  /** masked-LM loss + next-sentence loss (when the batch has NSP labels): the tensor to back-propagate. */
  readonly loss: Tensor;
  readonly mlmLoss: number;
  readonly nspLoss: number | null;
  /** Masked positions predicted exactly. */
  readonly mlmCorrect: number;
  readonly maskedTokens: number;
  /** Tokens that are not padding. */
  readonly tokens: number;
}

/** Checks a batch's arrays against its declared shape, naming the field. */
export function checkBatch(batch: PreTrainingBatch): void {
  const n = batch.batchSize * batch.seqLength;
  for (const field of ['inputIds', 'tokenTypeIds', 'attentionMask', 'mlmLabels'] as const) {
    if (batch[field].length !== n) throw new Error(`MLM batch: ${field} has ${batch[field].length} entries, expected batchSize*seqLength = ${n}`);
  }
  if (batch.nspLabels && batch.nspLabels.length !== batch.batchSize) {
    throw new Error(`MLM batch: nspLabels has ${batch.nspLabels.length} entries, expected batchSize = ${batch.batchSize}`);
  }
}

/** The batch's inputs as tensors. */
export function batchInputs(batch: PreTrainingBatch): EncoderInputs {
  const shape = [batch.batchSize, batch.seqLength];
  let padded = false;
  for (let i = 0; i < batch.attentionMask.length; i++) if (batch.attentionMask[i] === 0) padded = true;
  return {
    inputIds: fromArray(batch.inputIds, shape, { dtype: 'i32' }),
    tokenTypeIds: fromArray(batch.tokenTypeIds, shape, { dtype: 'i32' }),
    attentionMask: padded ? fromArray(Int32Array.from(batch.attentionMask), shape, { dtype: 'i32' }) : null,
  };
}

/**
 * The pre-training objective on one batch: cross-entropy of the masked-LM logits at the masked
 * positions only (the head runs on those, not on all B*S tokens), plus next-sentence cross-entropy.
 */
export function preTrainingLoss(model: PreTrainingModel, batch: PreTrainingBatch): PreTrainingLoss {
  checkBatch(batch);
  const positions: number[] = [];
  const labels: number[] = [];
  let tokens = 0;
  for (let i = 0; i < batch.mlmLabels.length; i++) {
    if (batch.attentionMask[i] !== 0) tokens++;
    const label = batch.mlmLabels[i]!;
    if (label === IGNORE_LABEL) continue;
    if (!(label >= 0 && label < model.config.vocabSize)) throw new Error(`MLM batch: label ${label} at position ${i} is outside the vocabulary [0, ${model.config.vocabSize})`);
    positions.push(i);
    labels.push(label);
  }
  if (positions.length === 0) throw new Error('MLM batch: no masked positions (every mlmLabels entry is the ignore label)');
  const withNsp = batch.nspLabels !== null;
  const { mlmLogits, nspLogits } = model.forward(batchInputs(batch), {
    mlmPositions: fromArray(positions, [positions.length], { dtype: 'i32' }),
    withNsp,
  });
  const targets = fromArray(labels, [labels.length], { dtype: 'i32' });
  const mlmLoss = crossEntropy(mlmLogits, targets);
  const predicted = argmax(mlmLogits, -1).toArray();
  let mlmCorrect = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) mlmCorrect++;
  let loss = mlmLoss;
  let nspLoss: number | null = null;
  if (withNsp) {
    if (!nspLogits) throw new Error(`${model.architecture}: the model returned no next-sentence logits`);
    const nsp = crossEntropy(nspLogits, fromArray(batch.nspLabels!, [batch.batchSize], { dtype: 'i32' }));
    nspLoss = nsp.item();
    loss = add(mlmLoss, nsp);
  }
  return { loss, mlmLoss: mlmLoss.item(), nspLoss, mlmCorrect, maskedTokens: positions.length, tokens };
}

/** Checks that `x` is [B, S] with the given B and S (for ids, types and masks). */
export function checkTokenShape(x: Tensor, batch: number, seq: number, what: string): void {
  if (x.rank !== 2 || x.shape[0] !== batch || x.shape[1] !== seq) throw new Error(`${what} must be [${batch}, ${seq}], got ${formatShape(x.shape)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An EncoderConfig from its own JSON form (as checkpoints store it); errors name `source` and the field. */
export function encoderConfigFromJson(json: unknown, source: string): EncoderConfig {
  if (!isRecord(json)) throw new Error(`${source}: expected a JSON object for the model config`);
  const num = (key: keyof EncoderConfig): number => {
    const v = json[key];
    if (typeof v !== 'number') throw new Error(`${source}: config field '${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = json['hiddenAct'];
  if (act !== 'gelu' && act !== 'gelu_new') throw new Error(`${source}: config field 'hiddenAct' must be 'gelu' or 'gelu_new', got ${JSON.stringify(act)}`);
  const config: EncoderConfig = {
    vocabSize: num('vocabSize'),
    hiddenSize: num('hiddenSize'),
    numLayers: num('numLayers'),
    numHeads: num('numHeads'),
    intermediateSize: num('intermediateSize'),
    maxPositions: num('maxPositions'),
    typeVocabSize: num('typeVocabSize'),
    hiddenDropout: num('hiddenDropout'),
    attentionDropout: num('attentionDropout'),
    layerNormEps: num('layerNormEps'),
    hiddenAct: act,
    initializerRange: num('initializerRange'),
  };
  validateEncoderConfig(config, source);
  return config;
}
