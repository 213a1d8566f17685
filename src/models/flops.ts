// The FLOP accountant: analytic floating-point operations per training sequence for BERT and
// GroupBERT at any weight density f, counting the matmuls and convolutions (a multiply-add is 2
// FLOPs; element-wise work, norms and softmax are left out, as in the papers). Training is three
// forward passes' worth: the forward, and a backward pass computing both the input and the weight
// gradient of every product. For BERT this is the formula of the dynamic-sparse BERT paper
// (arXiv 2108.06277): 6*S*sum_layers(f*12*H^2) + 12*S^2*H*L.
// Also: a FLOP-counting backend wrapper, to check the formulas against a traced pass.

import {
  activeBlocks, blockSparseGradInputReference, blockSparseGradValuesReference, blockSparseMatmulReference,
  type BlockSparseProducts, type BlockSparseStructure,
} from '../backend/reference/block-sparse.js';
import { activeBlockCount } from '../nn/block-sparse.js';
import type { Backend, KernelTable } from '../ops/kernels.js';
import { broadcastShapes, numel } from '../tensor/shape.js';
import type { BertConfig } from './bert.js';
import type { GroupBertConfig, GroupBertModuleKind } from './groupbert.js';
import type { Architecture } from './bert-presets.js';

export interface FlopOptions {
  readonly seqLength: number;
  /** Fraction of weights that are nonzero (1 - sparsity); scales every weight product, not attention scores. Default 1. */
  readonly density?: number;
  /** Positions per sequence the masked-LM head runs on (default seqLength, as Hugging Face computes it everywhere). */
  readonly predictedPositions?: number;
  /** Count the pooler and next-sentence classifier (default true). */
  readonly nsp?: boolean;
  /**
   * Block edge of a block-sparse model (the encoder's fully connected weights in blockSparseLayout at
   * `density`): each such weight then counts exactly its active weights, the layout's whole blocks,
   * and the weights that stay dense there (GroupBERT's grouped FFN down-projection and convolution
   * kernel) count in full. Without it, `density` scales every encoder weight product.
   */
  readonly block?: number;
}

export interface ModuleFlops {
  /** e.g. 'attention', 'ffn', 'conv', 'mlm-head'. */
  readonly name: string;
  /** Forward FLOPs per sequence of one instance. */
  readonly forwardFlops: number;
  /** Instances in the whole model. */
  readonly count: number;
}

export interface FlopReport {
  readonly architecture: Architecture;
  readonly seqLength: number;
  readonly density: number;
  readonly predictedPositions: number;
  readonly nonEmbeddingForwardFlopsPerSequence: number;
  readonly nonEmbeddingTrainFlopsPerSequence: number;
  readonly totalForwardFlopsPerSequence: number;
  readonly totalTrainFlopsPerSequence: number;
  /** Weights of the encoder layers (matrices and convolution kernels; biases and norms included). */
  readonly nonEmbeddingParameters: number;
  /** Word, position and token-type tables. */
  readonly embeddingParameters: number;
  readonly modules: readonly ModuleFlops[];
}

/** Forward FLOPs per token of a dense weight product with `weights` multiply-adds per token. */
const productFlops = (weights: number, density: number): number => 2 * density * weights;

/** How the encoder's weights are counted: a density on every product, or the block-sparse layout's active blocks. */
interface Sparsity {
  readonly density: number;
  readonly block: number | null;
}

/** Forward FLOPs per token of a fully connected encoder weight [out, in]. */
function linearFlops(inFeatures: number, outFeatures: number, sparsity: Sparsity): number {
  const b = sparsity.block;
  if (b === null) return productFlops(inFeatures * outFeatures, sparsity.density);
  return 2 * activeBlockCount((inFeatures / b) * (outFeatures / b), sparsity.density) * b * b;
}

/** Forward FLOPs per token of a weight that a block-sparse model keeps dense (grouped, convolution kernels). */
function ownLayoutFlops(weights: number, sparsity: Sparsity): number {
  return productFlops(weights, sparsity.block === null ? sparsity.density : 1);
}

function checkOptions(options: FlopOptions): { seq: number; density: number; predicted: number; nsp: boolean; block: number | null } {
  const seq = options.seqLength;
  const density = options.density ?? 1;
  const predicted = options.predictedPositions ?? seq;
  if (!Number.isInteger(seq) || seq < 1) throw new Error(`flops: sequence length must be a positive integer, got ${seq}`);
  if (!(density > 0 && density <= 1)) throw new Error(`flops: density must be in (0, 1] (sparsity in [0, 1)), got ${density}`);
  if (!(predicted >= 0 && predicted <= seq)) throw new Error(`flops: predicted positions must be in [0, ${seq}], got ${predicted}`);
  const block = options.block ?? null;
  if (block !== null && !(Number.isInteger(block) && block >= 1)) throw new Error(`flops: block must be a positive integer, got ${block}`);
  return { seq, density, predicted, nsp: options.nsp ?? true, block };
}

/** Forward FLOPs per sequence of each residual module kind. */
function moduleForwardFlops(kind: GroupBertModuleKind | 'bert-ffn', config: BertConfig | GroupBertConfig, seq: number, sparsity: Sparsity): number {
  const h = config.hiddenSize;
  const inner = config.intermediateSize;
  switch (kind) {
    case 'attention':
      // Q, K, V and output projections; then q·kᵀ and probs·v, 2*S*H each per token (dense whatever the weights).
      return seq * (4 * linearFlops(h, h, sparsity) + 4 * seq * h);
    case 'bert-ffn':
      return seq * (linearFlops(h, inner, sparsity) + linearFlops(inner, h, sparsity));
    case 'ffn': {
      const g = config as GroupBertConfig;
      // up H -> I, grouped down I -> H in G blocks, optional dense mixer H -> H.
      return seq * (linearFlops(h, inner, sparsity) + ownLayoutFlops((inner * h) / g.ffnGroups, sparsity) + (g.ffnMixer ? linearFlops(h, h, sparsity) : 0));
    }
    case 'conv': {
      const g = config as GroupBertConfig;
      // GLU H -> 2H, grouped convolution (each output channel reads groupSize channels at K taps), output H -> H.
      return seq * (linearFlops(h, 2 * h, sparsity) + ownLayoutFlops(h * g.convGroupSize * g.convKernelSize, sparsity) + linearFlops(h, h, sparsity));
    }
  }
}

function moduleParameters(kind: GroupBertModuleKind | 'bert-ffn', config: BertConfig | GroupBertConfig): number {
  const h = config.hiddenSize;
  const inner = config.intermediateSize;
  const norm = 2 * h;
  switch (kind) {
    case 'attention':
      return 4 * h * h + 4 * h + norm;
    case 'bert-ffn':
      return 2 * h * inner + inner + h + norm;
    case 'ffn': {
      const g = config as GroupBertConfig;
      return h * inner + inner + (inner * h) / g.ffnGroups + h + (g.ffnMixer ? h * h + h : 0) + norm;
    }
    case 'conv': {
      const g = config as GroupBertConfig;
      return 2 * h * h + 2 * h + h * g.convGroupSize * g.convKernelSize + h + norm + h * h + h + norm;
    }
  }
}

/** FLOPs per training sequence of `config` (BERT when arch is 'bert', GroupBERT otherwise). */
export function trainingFlops(arch: Architecture, config: BertConfig | GroupBertConfig, options: FlopOptions): FlopReport {
  const { seq, density, predicted, nsp, block } = checkOptions(options);
  const h = config.hiddenSize;
  const layers = config.numLayers;
  const kinds: readonly (GroupBertModuleKind | 'bert-ffn')[] = arch === 'bert' ? ['attention', 'bert-ffn'] : (config as GroupBertConfig).moduleOrder;
  const counts = new Map<GroupBertModuleKind | 'bert-ffn', number>();
  for (const kind of kinds) counts.set(kind, (counts.get(kind) ?? 0) + layers);
  const modules: ModuleFlops[] = [];
  let encoderForward = 0;
  let nonEmbeddingParameters = 0;
  for (const [kind, count] of counts) {
    const forwardFlops = moduleForwardFlops(kind, config, seq, { density, block });
    modules.push({ name: kind === 'bert-ffn' ? 'ffn' : kind, forwardFlops, count });
    encoderForward += count * forwardFlops;
    nonEmbeddingParameters += count * moduleParameters(kind, config);
  }
  if (arch === 'groupbert' && (config as GroupBertConfig).norm === 'pre') nonEmbeddingParameters += 2 * h;
  // Heads: the masked-LM transform (H -> H) and decoder (H -> V) at the predicted positions, the
  // pooler and next-sentence classifier on the first token. Weight density does not apply to them.
  const mlmHead = predicted * (productFlops(h * h, 1) + productFlops(h * config.vocabSize, 1));
  modules.push({ name: 'mlm-head', forwardFlops: mlmHead, count: 1 });
  const nspHead = nsp ? productFlops(h * h + 2 * h, 1) : 0;
  if (nsp) modules.push({ name: 'nsp-head', forwardFlops: nspHead, count: 1 });
  const totalForward = encoderForward + mlmHead + nspHead;
  return {
    architecture: arch,
    seqLength: seq,
    density,
    predictedPositions: predicted,
    nonEmbeddingForwardFlopsPerSequence: encoderForward,
    nonEmbeddingTrainFlopsPerSequence: 3 * encoderForward,
    totalForwardFlopsPerSequence: totalForward,
    totalTrainFlopsPerSequence: 3 * totalForward,
    nonEmbeddingParameters,
    embeddingParameters: (config.vocabSize + config.maxPositions + config.typeVocabSize) * h + 2 * h,
    modules,
  };
}

/** FLOPs seen by a counting backend, split by kernel. */
export interface FlopCounts {
  matmul: number;
  conv: number;
  /** The block-sparse products (forward, input gradient, values gradient): 2 x tokens x active weights each. */
  blockSparse: number;
}

export interface FlopCounter {
  /** Use with withBackend / useBackend; forwards every call to the wrapped backend. */
  readonly backend: Backend;
  readonly counts: FlopCounts;
  reset(): void;
  total(): number;
}

/**
 * Wraps a backend so that every matmul, convolution and block-sparse product call adds its FLOPs (2 per
 * multiply-add) to `counts`: the trace that the analytic formulas are checked against.
 */
export function createFlopCounter(inner: Backend): FlopCounter {
  const counts: FlopCounts = { matmul: 0, conv: 0, blockSparse: 0 };
  const k = inner.kernels;
  const convFlops = (batch: number, length: number, weightShape: readonly number[]): number => 2 * batch * length * numel(weightShape);
  const kernels: KernelTable = {
    ...k,
    matmul: (a, b) => {
      const batch = numel(broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)));
      counts.matmul += 2 * batch * a.shape[a.rank - 2]! * a.shape[a.rank - 1]! * b.shape[b.rank - 1]!;
      return k.matmul(a, b);
    },
    conv1d: (x, w, groups, padLeft) => {
      counts.conv += convFlops(x.shape[0]!, x.shape[1]!, w.shape);
      return k.conv1d(x, w, groups, padLeft);
    },
    conv1dGradInput: (dy, w, groups, padLeft, inputShape) => {
      counts.conv += convFlops(dy.shape[0]!, dy.shape[1]!, w.shape);
      return k.conv1dGradInput(dy, w, groups, padLeft, inputShape);
    },
    conv1dGradWeight: (dy, x, groups, padLeft, weightShape) => {
      counts.conv += convFlops(dy.shape[0]!, dy.shape[1]!, weightShape);
      return k.conv1dGradWeight(dy, x, groups, padLeft, weightShape);
    },
  };
  // The wrapped backend's block-sparse products, or the reference kernels the op would run without them.
  const sparse: BlockSparseProducts = inner.blockSparse ?? {
    matmul: blockSparseMatmulReference, gradInput: blockSparseGradInputReference, gradValues: blockSparseGradValuesReference,
  };
  const sparseFlops = (n: number, s: BlockSparseStructure): number => 2 * n * activeBlocks(s) * s.block * s.block;
  const blockSparse: BlockSparseProducts = {
    matmul: (x, n, s, values, y) => {
      counts.blockSparse += sparseFlops(n, s);
      sparse.matmul(x, n, s, values, y);
    },
    gradInput: (dy, n, s, values, dx) => {
      counts.blockSparse += sparseFlops(n, s);
      sparse.gradInput(dy, n, s, values, dx);
    },
    gradValues: (dy, x, n, s, dValues) => {
      counts.blockSparse += sparseFlops(n, s);
      sparse.gradValues(dy, x, n, s, dValues);
    },
  };
  return {
    backend: { name: `${inner.name}+flop-counter`, kernels, floatDType: inner.floatDType, attention: inner.attention, blockSparse },
    counts,
    reset: () => {
      counts.matmul = 0;
      counts.conv = 0;
      counts.blockSparse = 0;
    },
    total: () => counts.matmul + counts.conv + counts.blockSparse,
  };
}
