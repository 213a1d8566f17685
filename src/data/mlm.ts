// Masked-LM (and next-sentence) pre-training examples, following BERT's create_pretraining_data.py:
// - pairing (create_instances_from_document): per document, gather sentences into a chunk until it
//   holds the target length (seqLength - 3, or with probability shortSeqProb a random length in
//   [2, seqLength - 3] for the whole document); cut the chunk at a random sentence into A and B; with
//   NSP, half the time (always for a one-sentence chunk) B is instead text from a random other
//   document (label 1) and the unused sentences are put back; the longer of A and B loses a token
//   at a random end until both fit; [CLS] A [SEP] B [SEP], token types 0 then 1.
// - masking (create_masked_lm_predictions): round(maskProb * length) positions (half to even, as
//   Python rounds; at least 1, at most maxPredictions), never [CLS], [SEP] or padding, chosen by
//   shuffling the candidates (whole words of ## pieces with wholeWordMask, a group never crossing a
//   [SEP]); each chosen token becomes [MASK] (80%), a random ordinary token (10%: ids of tokens not
//   written [like this], unlike the original which also draws [unused] and special tokens) or stays
//   (10%). Labels hold the original id there and -100 elsewhere.
// - order and randomness: everything is derived from the seed, so a run is reproducible and its
//   position ({epoch, cursor}) is the whole state to checkpoint. Dynamic masking (the default, as in
//   RoBERTa) draws new pairs and new masks every epoch; static masking pairs and masks once and
//   only reshuffles the order. Validation batches are always static, from their own seed.

import { murmur3Finish, murmur3Round } from '../tensor/hash.js';
import { Rng } from '../tensor/rng.js';
import { numDocuments, type TokenizedCorpus } from './corpus.js';

/** Label of positions that are not predicted (PyTorch's cross-entropy default ignore_index). */
export const IGNORE_INDEX = -100;
/** NSP labels as in Hugging Face's BertForPreTraining: 0 = B follows A, 1 = B is random. */
export const NSP_IS_NEXT = 0;
export const NSP_RANDOM_NEXT = 1;

/** What masking needs to know about the vocabulary. */
export interface MlmVocab {
  readonly size: number;
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  /** 1 for `##` pieces (they continue a word). */
  readonly isContinuation: Uint8Array;
  /** The ids random replacement draws from. */
  readonly randomTokenIds: Int32Array;
}

/** MlmVocab of a tokenizer's vocabulary (WordPieceTokenizer fits). */
export function mlmVocabOf(tokenizer: {
  readonly vocab: readonly string[];
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
}): MlmVocab {
  const { vocab } = tokenizer;
  const isContinuation = new Uint8Array(vocab.length);
  const random: number[] = [];
  for (const [id, token] of vocab.entries()) {
    if (token.startsWith('##')) isContinuation[id] = 1;
    if (!(token.length > 2 && token.startsWith('[') && token.endsWith(']'))) random.push(id);
  }
  if (random.length === 0) throw new Error('mlmVocabOf: the vocabulary has no ordinary tokens for random replacement');
  const { padId, clsId, sepId, maskId } = tokenizer;
  return { size: vocab.length, padId, clsId, sepId, maskId, isContinuation, randomTokenIds: Int32Array.from(random) };
}

export interface MlmOptions {
  /** Sequence length S, special tokens included. Default 128. */
  readonly seqLength?: number;
  /** Share of tokens predicted. Default 0.15. */
  readonly maskProb?: number;
  /** At most this many predictions per sequence. Default round(20 * S / 128) (20 at 128, 80 at 512). */
  readonly maxPredictions?: number;
  /** Next-sentence prediction: half of the B segments come from another document. Default true. */
  readonly nsp?: boolean;
  /** Mask all pieces of a word together. Default false. */
  readonly wholeWordMask?: boolean;
  /** New pairs and masks every epoch (true, default) or fixed once (false). */
  readonly dynamicMasking?: boolean;
  /** Share of documents packed to a shorter random length. Default 0.1. */
  readonly shortSeqProb?: number;
  /** Of the chosen tokens: share replaced by [MASK] (default 0.8) and by a random token (default 0.1); the rest stay. */
  readonly maskTokenProb?: number;
  readonly randomTokenProb?: number;
}

export type ResolvedMlmOptions = Required<MlmOptions>;

export function resolveMlmOptions(options: MlmOptions = {}): ResolvedMlmOptions {
  const seqLength = options.seqLength ?? 128;
  const resolved: ResolvedMlmOptions = {
    seqLength,
    maskProb: options.maskProb ?? 0.15,
    maxPredictions: options.maxPredictions ?? Math.max(1, Math.round((20 * seqLength) / 128)),
    nsp: options.nsp ?? true,
    wholeWordMask: options.wholeWordMask ?? false,
    dynamicMasking: options.dynamicMasking ?? true,
    shortSeqProb: options.shortSeqProb ?? 0.1,
    maskTokenProb: options.maskTokenProb ?? 0.8,
    randomTokenProb: options.randomTokenProb ?? 0.1,
  };
  if (!Number.isInteger(seqLength) || seqLength < 5) throw new Error(`MLM option seqLength must be an integer >= 5 ([CLS] a [SEP] b [SEP]), got ${seqLength}`);
  if (!Number.isInteger(resolved.maxPredictions) || resolved.maxPredictions < 1) {
    throw new Error(`MLM option maxPredictions must be a positive integer, got ${resolved.maxPredictions}`);
  }
  for (const name of ['maskProb', 'shortSeqProb', 'maskTokenProb', 'randomTokenProb'] as const) {
    const value = resolved[name];
    if (!(value >= 0 && value <= 1)) throw new Error(`MLM option ${name} must be in [0, 1], got ${value}`);
  }
  if (resolved.maskTokenProb + resolved.randomTokenProb > 1) {
    throw new Error(`MLM options maskTokenProb + randomTokenProb must be at most 1, got ${resolved.maskTokenProb} + ${resolved.randomTokenProb}`);
  }
  return resolved;
}

/** One packed sequence before masking. */
export interface PairInstance {
  /** [CLS] A [SEP] B [SEP] (or [CLS] A [SEP] without NSP when the chunk is one sentence); at most S ids. */
  readonly tokens: Int32Array;
  /** Number of A tokens: token type 1 starts at index lengthA + 2. */
  readonly lengthA: number;
  readonly isRandomNext: boolean;
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Pairs every document of `corpus` into instances (document order; shuffle them yourself). */
export function createPairInstances(corpus: TokenizedCorpus, vocab: MlmVocab, options: MlmOptions, rng: Rng): PairInstance[] {
  const o = resolveMlmOptions(options);
  const instances: PairInstance[] = [];
  for (let d = 0; d < numDocuments(corpus); d++) instancesFromDocument(corpus, d, vocab, o, rng, instances);
  return instances;
}

function instancesFromDocument(
  corpus: TokenizedCorpus,
  documentIndex: number,
  vocab: MlmVocab,
  o: ResolvedMlmOptions,
  rng: Rng,
  out: PairInstance[],
): void {
  const { tokens, sentenceStarts, documentStarts } = corpus;
  const documentCount = numDocuments(corpus);
  const first = documentStarts[documentIndex]!;
  const last = documentStarts[documentIndex + 1]!;
  const sentenceLength = (s: number): number => sentenceStarts[s + 1]! - sentenceStarts[s]!;
  const appendSentence = (target: number[], s: number): void => {
    for (let t = sentenceStarts[s]!; t < sentenceStarts[s + 1]!; t++) target.push(tokens[t]!);
  };
  const maxNumTokens = o.seqLength - 3;
  const target = rng.uniform() < o.shortSeqProb ? 2 + rng.int(maxNumTokens - 1) : maxNumTokens;

  let chunk: number[] = [];
  let chunkLength = 0;
  for (let i = first; i < last; i++) {
    chunk.push(i);
    chunkLength += sentenceLength(i);
    if (i !== last - 1 && chunkLength < target) continue;
    const aEnd = chunk.length >= 2 ? 1 + rng.int(chunk.length - 1) : 1;
    const a: number[] = [];
    for (let j = 0; j < aEnd; j++) appendSentence(a, chunk[j]!);
    const b: number[] = [];
    let isRandomNext = false;
    if (o.nsp && (chunk.length === 1 || rng.uniform() < 0.5)) {
      isRandomNext = true;
      const targetB = target - a.length;
      let other = documentIndex;
      for (let attempt = 0; attempt < 10 && other === documentIndex; attempt++) other = rng.int(documentCount);
      const otherFirst = documentStarts[other]!;
      const otherLast = documentStarts[other + 1]!;
      for (let j = otherFirst + rng.int(otherLast - otherFirst); j < otherLast; j++) {
        appendSentence(b, j);
        if (b.length >= targetB) break;
      }
      // The sentences after A were not used: they start the next chunk.
      i -= chunk.length - aEnd;
    } else {
      for (let j = aEnd; j < chunk.length; j++) appendSentence(b, chunk[j]!);
    }
    out.push(packPair(a, b, isRandomNext, maxNumTokens, vocab, rng));
    chunk = [];
    chunkLength = 0;
  }
}

/** Truncates the longer segment at a random end until both fit, then adds [CLS] and [SEP]s. */
function packPair(a: number[], b: number[], isRandomNext: boolean, maxNumTokens: number, vocab: MlmVocab, rng: Rng): PairInstance {
  let aStart = 0;
  let aEnd = a.length;
  let bStart = 0;
  let bEnd = b.length;
  while (aEnd - aStart + (bEnd - bStart) > maxNumTokens) {
    const front = rng.uniform() < 0.5;
    if (aEnd - aStart > bEnd - bStart) {
      if (front) aStart++;
      else aEnd--;
    } else if (front) bStart++;
    else bEnd--;
  }
  const lengthA = aEnd - aStart;
  const lengthB = bEnd - bStart;
  const tokens = new Int32Array(lengthA + 2 + (lengthB > 0 ? lengthB + 1 : 0));
  tokens[0] = vocab.clsId;
  for (let k = 0; k < lengthA; k++) tokens[1 + k] = a[aStart + k]!;
  tokens[lengthA + 1] = vocab.sepId;
  if (lengthB > 0) {
    for (let k = 0; k < lengthB; k++) tokens[lengthA + 2 + k] = b[bStart + k]!;
    tokens[tokens.length - 1] = vocab.sepId;
  }
  return { tokens, lengthA, isRandomNext };
}

/**
 * Masks one packed sequence: writes the model input into `inputIds` and the labels (original id at
 * predicted positions, -100 elsewhere) into `labels`, both of the sequence's length at least.
 * Returns the number of predicted positions.
 */
export function maskTokensInto(tokens: Int32Array, vocab: MlmVocab, options: MlmOptions, rng: Rng, inputIds: Int32Array, labels: Int32Array): number {
  const o = resolveMlmOptions(options);
  return maskResolved(tokens, vocab, o, rng, inputIds, labels);
}

function maskResolved(tokens: Int32Array, vocab: MlmVocab, o: ResolvedMlmOptions, rng: Rng, inputIds: Int32Array, labels: Int32Array): number {
  const length = tokens.length;
  inputIds.set(tokens);
  labels.fill(IGNORE_INDEX, 0, length);
  // Candidates as (start, count) runs: single tokens, or whole words with wholeWordMask.
  const starts: number[] = [];
  const counts: number[] = [];
  let previousWasCandidate = false;
  for (let i = 0; i < length; i++) {
    const id = tokens[i]!;
    if (id === vocab.clsId || id === vocab.sepId || id === vocab.padId) {
      previousWasCandidate = false;
      continue;
    }
    if (o.wholeWordMask && previousWasCandidate && vocab.isContinuation[id] === 1) {
      counts[counts.length - 1]!++;
    } else {
      starts.push(i);
      counts.push(1);
    }
    previousWasCandidate = true;
  }
  const order = rng.permutation(starts.length);
  const toPredict = Math.min(o.maxPredictions, Math.max(1, roundHalfEven(length * o.maskProb)));
  let predicted = 0;
  for (let k = 0; k < order.length && predicted < toPredict; k++) {
    const candidate = order[k]!;
    const count = counts[candidate]!;
    if (predicted + count > toPredict) continue;
    const start = starts[candidate]!;
    for (let p = start; p < start + count; p++) {
      labels[p] = tokens[p]!;
      const r = rng.uniform();
      if (r < o.maskTokenProb) inputIds[p] = vocab.maskId;
      else if (r < o.maskTokenProb + o.randomTokenProb) inputIds[p] = vocab.randomTokenIds[rng.int(vocab.randomTokenIds.length)]!;
    }
    predicted += count;
  }
  return predicted;
}

/** A batch of B sequences of length S, row-major [B, S] (nspLabels [B]); ready for Int32 tensors. */
export interface MlmBatch {
  readonly batchSize: number;
  readonly seqLength: number;
  readonly inputIds: Int32Array;
  /** 0 for [CLS] A [SEP] (and padding), 1 for B [SEP]. */
  readonly tokenTypeIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  readonly attentionMask: Int32Array;
  /** Original id where a prediction is scored, IGNORE_INDEX (-100) elsewhere. */
  readonly mlmLabels: Int32Array;
  /** [B]: NSP_IS_NEXT (0) or NSP_RANDOM_NEXT (1); null when NSP is off. */
  readonly nspLabels: Int32Array | null;
  /** Number of labels that are not IGNORE_INDEX. */
  readonly numPredictions: number;
  /** Number of non-padding tokens. */
  readonly numTokens: number;
}

function emptyBatch(batchSize: number, seqLength: number, padId: number, nsp: boolean): MlmBatch {
  const size = batchSize * seqLength;
  return {
    batchSize,
    seqLength,
    inputIds: new Int32Array(size).fill(padId),
    tokenTypeIds: new Int32Array(size),
    attentionMask: new Int32Array(size),
    mlmLabels: new Int32Array(size).fill(IGNORE_INDEX),
    nspLabels: nsp ? new Int32Array(batchSize) : null,
    numPredictions: 0,
    numTokens: 0,
  };
}

/** Writes instance `instance` into row `row` of `batch`; returns [predictions, tokens]. */
function writeRow(batch: MlmBatch, row: number, instance: PairInstance, vocab: MlmVocab, o: ResolvedMlmOptions, maskRng: Rng): [number, number] {
  const S = batch.seqLength;
  const length = instance.tokens.length;
  const offset = row * S;
  const predictions = maskResolved(
    instance.tokens,
    vocab,
    o,
    maskRng,
    batch.inputIds.subarray(offset, offset + S),
    batch.mlmLabels.subarray(offset, offset + S),
  );
  batch.attentionMask.fill(1, offset, offset + length);
  batch.tokenTypeIds.fill(1, offset + instance.lengthA + 2, offset + length);
  if (batch.nspLabels) batch.nspLabels[row] = instance.isRandomNext ? NSP_RANDOM_NEXT : NSP_IS_NEXT;
  return [predictions, length];
}

// Streams of randomness, each derived from the seed and a purpose, so they never overlap.
const PAIRING = 1;
const ORDER = 2;
const MASKING = 3;
const VALIDATION = 4;

/** Mixes integers (each up to 2^53) into a 32-bit seed (murmur3's finaliser per part). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = murmur3Round(h, part >>> 0);
    h = murmur3Round(h, Math.floor(part / 2 ** 32) >>> 0);
  }
  return murmur3Finish(h);
}

export interface MlmBatcherOptions extends MlmOptions {
  readonly batchSize: number;
  readonly seed: number;
}

/** Where a batcher is: save it in a checkpoint, give it back to setState to resume exactly. */
export interface MlmBatcherState {
  readonly epoch: number;
  /** Sequences of this epoch already handed out. */
  readonly cursor: number;
}

/** Endless training batches over a corpus: epoch after epoch, each in a seeded random order. */
export class MlmBatcher {
  readonly options: ResolvedMlmOptions;
  readonly batchSize: number;
  readonly seed: number;
  private currentEpoch = -1;
  private cursor = 0;
  private instances: PairInstance[] = [];
  private order: Int32Array = new Int32Array(0);
  private staticInstances: PairInstance[] | null = null;

  constructor(
    readonly corpus: TokenizedCorpus,
    readonly vocab: MlmVocab,
    options: MlmBatcherOptions,
  ) {
    this.options = resolveMlmOptions(options);
    if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) throw new Error(`MlmBatcher: batchSize must be a positive integer, got ${options.batchSize}`);
    if (numDocuments(corpus) === 0) throw new Error('MlmBatcher: the corpus has no documents');
    this.batchSize = options.batchSize;
    this.seed = options.seed;
    this.startEpoch(0);
  }

  /** The epoch the next sequence comes from (0-based). */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** Sequences in the current epoch (it varies a little between epochs with dynamic masking). */
  get sequencesInEpoch(): number {
    return this.instances.length;
  }

  getState(): MlmBatcherState {
    return { epoch: this.currentEpoch, cursor: this.cursor };
  }

  setState(state: MlmBatcherState): void {
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.cursor) || state.cursor < 0) {
      throw new Error(`MlmBatcher.setState: epoch and cursor must be non-negative integers, got ${JSON.stringify(state)}`);
    }
    this.startEpoch(state.epoch);
    if (state.cursor > this.instances.length) {
      throw new Error(`MlmBatcher.setState: cursor ${state.cursor} is past the ${this.instances.length} sequences of epoch ${state.epoch} (another corpus or options?)`);
    }
    this.cursor = state.cursor;
  }

  next(): MlmBatch {
    const o = this.options;
    const batch = emptyBatch(this.batchSize, o.seqLength, this.vocab.padId, o.nsp);
    let predictions = 0;
    let tokens = 0;
    for (let row = 0; row < this.batchSize; row++) {
      if (this.cursor >= this.instances.length) this.startEpoch(this.currentEpoch + 1);
      const index = this.order[this.cursor]!;
      const maskSeed = o.dynamicMasking ? deriveSeed(this.seed, MASKING, this.currentEpoch, this.cursor) : deriveSeed(this.seed, MASKING, index);
      const [p, t] = writeRow(batch, row, this.instances[index]!, this.vocab, o, new Rng(maskSeed));
      predictions += p;
      tokens += t;
      this.cursor++;
    }
    return { ...batch, numPredictions: predictions, numTokens: tokens };
  }

  private startEpoch(epoch: number): void {
    if (epoch !== this.currentEpoch) {
      if (this.options.dynamicMasking) {
        this.instances = createPairInstances(this.corpus, this.vocab, this.options, new Rng(deriveSeed(this.seed, PAIRING, epoch)));
      } else {
        this.staticInstances ??= createPairInstances(this.corpus, this.vocab, this.options, new Rng(deriveSeed(this.seed, PAIRING, 0)));
        this.instances = this.staticInstances;
      }
      this.order = new Rng(deriveSeed(this.seed, ORDER, epoch)).permutation(this.instances.length);
      this.currentEpoch = epoch;
    }
    this.cursor = 0;
  }
}

export interface ValidationBatchOptions extends MlmOptions {
  readonly batchSize: number;
  /** Keep it fixed across runs so that validation losses compare. Default 0. */
  readonly seed?: number;
  /** Keep at most this many sequences (a seeded random subset). Default: all. */
  readonly maxSequences?: number;
}

/**
 * The fixed validation set: pairs and masks drawn once from `seed` (static, whatever
 * dynamicMasking says), in batches of batchSize (the last one may be smaller).
 */
export function createValidationBatches(corpus: TokenizedCorpus, vocab: MlmVocab, options: ValidationBatchOptions): MlmBatch[] {
  const o = resolveMlmOptions(options);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
    throw new Error(`createValidationBatches: batchSize must be a positive integer, got ${options.batchSize}`);
  }
  if (numDocuments(corpus) === 0) return [];
  const instances = createPairInstances(corpus, vocab, o, new Rng(deriveSeed(seed, VALIDATION, PAIRING)));
  let order = new Rng(deriveSeed(seed, VALIDATION, ORDER)).permutation(instances.length);
  if (options.maxSequences !== undefined && options.maxSequences < order.length) order = order.slice(0, Math.max(0, options.maxSequences));
  const batches: MlmBatch[] = [];
  for (let start = 0; start < order.length; start += options.batchSize) {
    const rows = Math.min(options.batchSize, order.length - start);
    const batch = emptyBatch(rows, o.seqLength, vocab.padId, o.nsp);
    let predictions = 0;
    let tokens = 0;
    for (let row = 0; row < rows; row++) {
      const index = order[start + row]!;
      const [p, t] = writeRow(batch, row, instances[index]!, vocab, o, new Rng(deriveSeed(seed, VALIDATION, MASKING, index)));
      predictions += p;
      tokens += t;
    }
    batches.push({ ...batch, numPredictions: predictions, numTokens: tokens });
  }
  return batches;
}
