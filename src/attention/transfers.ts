// Transfer accounting: the KV-cache elements each decode-attention policy reads and writes, per
// layer and KV head (GQA heads sharing a KV head are counted once, as the data moves once).
//
// One transfer model per policy (transferModel below), used by the counters (every attend adds the
// model's counts), the planner (solving k, and r, for a target ratio) and the docs. It is the SparQ
// paper's (Ribar et al. 2024, table 1, plus the 2 d written per step), per KV head and step with
// S cached positions, head dim d, rank r, k selected (k = min(k, S): no policy reads more rows than
// exist):
//   dense        K: S d read, V: S d read, new k and v: 2 d written              = 2 S d + 2 d
//   sparq        K: S r (step 1) + k d (step 2), V: k d, mean V: d read + d written (running
//                mean update; without reallocation neither), new k, v: 2 d      = S r + 2 k d + 4 d
//   h2o          K, V: k d each, score vector: S read + S written, new k, v: 2 d  = 2 k d + 2 d + 2 S
//   lm-infinite  K, V: k d each, new k, v: 2 d                                   = 2 k d + 2 d
//   flexgen      K: S d (exact scores), V: k d, new k, v: 2 d                    = S d + k d + 2 d
//   oracle       (exact top-k at no cost) K, V: k d each, new k, v: 2 d          = 2 k d + 2 d
//   random-projection  projected keys: S r read (step 1) and r written (the new key's projection),
//                K: k d, V: k d, mean V: d read + d written, new k, v: 2 d      = S r + r + 2 k d + 4 d
//                (counted as K: the projected keys are the compressed K the step reads)
// test/attention/transfers.test.ts counts the elements the reference kernels really touch (a
// counting head view) and checks them against this model. Writing the second, transposed copy of K
// (SparQ "K twice") is a layout choice outside the model: it is counted in kTransposedWrite and
// reported, but not part of the totals; so is the running mean of V that the cache keeps for every
// policy (only SparQ needs it, and the model charges it to SparQ alone, as the paper does).
// Bytes: K and V elements (the transposed copy too) are the cache's element size (4 for an f32
// cache, 2 for f16); the running mean of V and H2O's scores are f32 whatever the cache holds.

export const TRANSFER_KINDS = [
  'kRead', 'vRead', 'meanRead', 'scoreRead', 'kWrite', 'vWrite', 'meanWrite', 'scoreWrite', 'kTransposedWrite',
] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

const KIND_INDEX: { readonly [K in TransferKind]: number } = Object.freeze(
  Object.fromEntries(TRANSFER_KINDS.map((kind, i) => [kind, i])) as { [K in TransferKind]: number },
);
const KINDS = TRANSFER_KINDS.length;
const READS = ['kRead', 'vRead', 'meanRead', 'scoreRead'] as const;
const WRITES = ['kWrite', 'vWrite', 'meanWrite', 'scoreWrite'] as const;

/** Bytes of the f32 state beside the cache (mean of V, H2O's scores). */
const STATE_BYTES = 4;
const KV_KINDS: ReadonlySet<TransferKind> = new Set<TransferKind>(['kRead', 'vRead', 'kWrite', 'vWrite', 'kTransposedWrite']);

/** Bytes per element of a kind for a cache of kvBytesPerElement (K, V) and f32 state. */
export function transferKindBytes(kind: TransferKind, kvBytesPerElement: number): number {
  return KV_KINDS.has(kind) ? kvBytesPerElement : STATE_BYTES;
}

function checkElementBytes(kvBytesPerElement: number, where: string): void {
  if (kvBytesPerElement !== 2 && kvBytesPerElement !== 4) throw new RangeError(`${where}: bytes per KV element must be 2 (f16) or 4 (f32), got ${kvBytesPerElement}`);
}

export type TransferCounts = { readonly [K in TransferKind]: number } & {
  /** Elements read (K, V, mean, scores). */
  readonly read: number;
  /** Elements written (K, V, mean, scores; not the transposed K copy). */
  readonly written: number;
  /** read + written: the paper's transfer count. */
  readonly total: number;
  /** What dense attention would have moved for the same steps (2 S d + 2 d each). */
  readonly dense: number;
  /** Head-steps counted: one per (sequence, KV head) per attend call. */
  readonly steps: number;
  /** The same totals in bytes (K, V at the cache's element size; mean and scores f32). */
  readonly readBytes: number;
  readonly writtenBytes: number;
  readonly totalBytes: number;
  readonly denseBytes: number;
};

/** Per-step averages for reports: elements moved per decode step (all layers and KV heads). */
export interface TransferSummary {
  /** Decode steps per sequence seen (head-steps / (layers * kvHeads)). */
  readonly steps: number;
  readonly readPerStep: number;
  readonly writtenPerStep: number;
  readonly totalPerStep: number;
  readonly densePerStep: number;
  /** total / dense: the achieved compression of attention transfers (1 for dense). */
  readonly ratio: number;
  /** Bytes per step (what memory bandwidth sees) and dense's. */
  readonly totalBytesPerStep: number;
  readonly denseBytesPerStep: number;
}

/** The settings a transfer model needs: AttentionSpec (policy.ts) without the optional fields. */
export type TransferSpec =
  | { readonly kind: 'dense' }
  | { readonly kind: 'sparq' | 'random-projection'; readonly rank: number; readonly topK: number; readonly reallocation?: boolean | undefined }
  | { readonly kind: 'h2o' | 'lm-infinite' | 'flexgen' | 'oracle'; readonly topK: number };

/** Elements of each kind one head-step moves (kTransposedWrite excluded: a layout choice). */
export type TransferBreakdown = { readonly [K in Exclude<TransferKind, 'kTransposedWrite'>]: number };

/** The transfer model: elements per KV head and decode step over seqLen cached positions. */
export function transferModel(spec: TransferSpec, seqLen: number, headDim: number): TransferBreakdown {
  const S = seqLen;
  const d = headDim;
  const k = spec.kind === 'dense' ? S : Math.min(spec.topK, S);
  const none = { kRead: 0, vRead: 0, meanRead: 0, scoreRead: 0, kWrite: d, vWrite: d, meanWrite: 0, scoreWrite: 0 };
  switch (spec.kind) {
    case 'dense':
      return { ...none, kRead: S * d, vRead: S * d };
    case 'sparq':
      // The mean of V is read (and kept up to date) for reallocation only; unknown counts as on.
      return { ...none, kRead: S * Math.min(spec.rank, d) + k * d, vRead: k * d, meanRead: spec.reallocation === false ? 0 : d, meanWrite: spec.reallocation === false ? 0 : d };
    case 'random-projection': {
      const r = Math.min(spec.rank, d);
      return { ...none, kRead: S * r + k * d, kWrite: d + r, vRead: k * d, meanRead: spec.reallocation === false ? 0 : d, meanWrite: spec.reallocation === false ? 0 : d };
    }
    case 'h2o':
      return { ...none, kRead: k * d, vRead: k * d, scoreRead: S, scoreWrite: S };
    case 'lm-infinite':
    case 'oracle':
      return { ...none, kRead: k * d, vRead: k * d };
    case 'flexgen':
      return { ...none, kRead: S * d, vRead: k * d };
    default: {
      const unknown: never = spec;
      throw new RangeError(`transferModel: unknown kind '${String((unknown as { kind: unknown }).kind)}'`);
    }
  }
}

/** Total elements (read + written) of a breakdown. */
export function transferTotal(model: TransferBreakdown): number {
  let total = 0;
  for (const kind of [...READS, ...WRITES]) total += model[kind];
  return total;
}

/** Bytes (read + written) of a breakdown for a cache of kvBytesPerElement (4: f32, 2: f16). */
export function transferBytes(model: TransferBreakdown, kvBytesPerElement: number): number {
  checkElementBytes(kvBytesPerElement, 'transferBytes');
  let total = 0;
  for (const kind of [...READS, ...WRITES]) total += model[kind] * transferKindBytes(kind, kvBytesPerElement);
  return total;
}

/** Elements per KV head and step of dense decode attention over S positions. */
export function denseTransfers(seqLen: number, headDim: number): number {
  return transferTotal(transferModel({ kind: 'dense' }, seqLen, headDim));
}

/** Elements per KV head and step of SparQ (r components, k positions) over S positions. */
export function sparqTransfers(seqLen: number, headDim: number, rank: number, topK: number): number {
  return transferTotal(transferModel({ kind: 'sparq', rank, topK }, seqLen, headDim));
}

/** A policy's transfers over dense's at seqLen positions (the model's ratio). */
export function transferRatio(spec: TransferSpec, seqLen: number, headDim: number): number {
  return transferTotal(transferModel(spec, seqLen, headDim)) / denseTransfers(seqLen, headDim);
}

export class TransferCounters {
  readonly layers: number;
  readonly kvHeads: number;
  private readonly counts: Float64Array;
  private readonly byteCounts: Float64Array;
  private readonly dense: Float64Array;
  private readonly denseBytes: Float64Array;
  private readonly steps: Float64Array;
  /**
   * Bytes of one K or V element when a call does not say (4: f32, 2: f16); each call may pass the
   * element size of the cache it counts (a policy serves caches of either dtype).
   */
  readonly kvBytesPerElement: number;

  constructor(layers: number, kvHeads: number, kvBytesPerElement = 4) {
    checkElementBytes(kvBytesPerElement, 'TransferCounters');
    this.kvBytesPerElement = kvBytesPerElement;
    if (!Number.isInteger(layers) || layers <= 0) throw new RangeError(`TransferCounters: layers must be a positive integer, got ${layers}`);
    if (!Number.isInteger(kvHeads) || kvHeads <= 0) throw new RangeError(`TransferCounters: kvHeads must be a positive integer, got ${kvHeads}`);
    this.layers = layers;
    this.kvHeads = kvHeads;
    this.counts = new Float64Array(layers * kvHeads * KINDS);
    this.byteCounts = new Float64Array(layers * kvHeads * KINDS);
    this.dense = new Float64Array(layers * kvHeads);
    this.denseBytes = new Float64Array(layers * kvHeads);
    this.steps = new Float64Array(layers * kvHeads);
  }

  /** Starts a head-step: one (sequence, KV head) attended over seqLen positions. */
  beginStep(layer: number, kvHead: number, seqLen: number, headDim: number, kvBytesPerElement = this.kvBytesPerElement): void {
    checkElementBytes(kvBytesPerElement, 'TransferCounters.beginStep');
    const slot = this.slot(layer, kvHead);
    this.steps[slot]! += 1;
    const dense = denseTransfers(seqLen, headDim);
    this.dense[slot]! += dense;
    // Dense moves K and V only: its elements are all of the cache's size.
    this.denseBytes[slot]! += dense * kvBytesPerElement;
  }

  add(layer: number, kvHead: number, kind: TransferKind, elements: number, kvBytesPerElement = this.kvBytesPerElement): void {
    checkElementBytes(kvBytesPerElement, 'TransferCounters.add');
    const i = this.slot(layer, kvHead) * KINDS + KIND_INDEX[kind];
    this.counts[i]! += elements;
    this.byteCounts[i]! += elements * transferKindBytes(kind, kvBytesPerElement);
  }

  /** Adds every kind of a transfer model's head-step. */
  addModel(layer: number, kvHead: number, model: TransferBreakdown, kvBytesPerElement = this.kvBytesPerElement): void {
    checkElementBytes(kvBytesPerElement, 'TransferCounters.addModel');
    const base = this.slot(layer, kvHead) * KINDS;
    for (const kind of [...READS, ...WRITES]) {
      this.counts[base + KIND_INDEX[kind]]! += model[kind];
      this.byteCounts[base + KIND_INDEX[kind]]! += model[kind] * transferKindBytes(kind, kvBytesPerElement);
    }
  }

  /** Counts of one layer and KV head, or summed over everything when both are omitted. */
  get(layer?: number, kvHead?: number): TransferCounts {
    const acc = new Float64Array(KINDS);
    const accBytes = new Float64Array(KINDS);
    let dense = 0;
    let denseBytes = 0;
    let steps = 0;
    for (let l = 0; l < this.layers; l++) {
      if (layer !== undefined && l !== layer) continue;
      for (let h = 0; h < this.kvHeads; h++) {
        if (kvHead !== undefined && h !== kvHead) continue;
        const slot = l * this.kvHeads + h;
        for (let c = 0; c < KINDS; c++) {
          acc[c]! += this.counts[slot * KINDS + c]!;
          accBytes[c]! += this.byteCounts[slot * KINDS + c]!;
        }
        dense += this.dense[slot]!;
        denseBytes += this.denseBytes[slot]!;
        steps += this.steps[slot]!;
      }
    }
    const byKind = Object.fromEntries(TRANSFER_KINDS.map((kind, i) => [kind, acc[i]!])) as { [K in TransferKind]: number };
    let read = 0;
    for (const kind of READS) read += byKind[kind];
    let written = 0;
    for (const kind of WRITES) written += byKind[kind];
    const b = (kind: TransferKind): number => accBytes[KIND_INDEX[kind]]!;
    let readBytes = 0;
    for (const kind of READS) readBytes += b(kind);
    let writtenBytes = 0;
    for (const kind of WRITES) writtenBytes += b(kind);
    return { ...byKind, read, written, total: read + written, dense, steps, readBytes, writtenBytes, totalBytes: readBytes + writtenBytes, denseBytes };
  }

  /** Per-decode-step totals over all layers and KV heads, and the ratio to dense. */
  summary(): TransferSummary {
    const all = this.get();
    const steps = all.steps / (this.layers * this.kvHeads);
    const per = (x: number): number => (steps > 0 ? x / steps : 0);
    return {
      steps,
      readPerStep: per(all.read),
      writtenPerStep: per(all.written),
      totalPerStep: per(all.total),
      densePerStep: per(all.dense),
      ratio: all.dense > 0 ? all.total / all.dense : 0,
      totalBytesPerStep: per(all.totalBytes),
      denseBytesPerStep: per(all.denseBytes),
    };
  }

  reset(): void {
    this.counts.fill(0);
    this.byteCounts.fill(0);
    this.dense.fill(0);
    this.denseBytes.fill(0);
    this.steps.fill(0);
  }

  private slot(layer: number, kvHead: number): number {
    if (!(layer >= 0 && layer < this.layers)) throw new RangeError(`TransferCounters: layer ${layer} out of range [0, ${this.layers})`);
    if (!(kvHead >= 0 && kvHead < this.kvHeads)) throw new RangeError(`TransferCounters: kvHead ${kvHead} out of range [0, ${this.kvHeads})`);
    return layer * this.kvHeads + kvHead;
  }
}
