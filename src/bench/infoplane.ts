// Benchmark of the information-plane kernels against plain peers in the same run (medians):
//   EBAB per (layer, epoch), N = 4096      vs a plain EBAB keyed by strings in a Map (numpy.unique's way)
//   KDE / aKDE bounds per (layer, epoch)   vs the formulas written out: every ordered pair, Math.exp
//   fused MLP training per epoch           vs the autograd engine + src/optim Adam (reference backend)
// Targets (issue 4): EBAB <= 10 ms, KDE/aKDE <= 300 ms, training <= 5 ms per epoch of 12-10-7-5-4-3-2.
// Run: `npx thrifty bench infoplane [--json]` or `node dist/bench/infoplane.js [--json]`.

import { pathToFileURL } from 'node:url';

import { backward } from '../autograd/engine.js';
import { tanh } from '../autograd/ops/elementwise.js';
import { linear } from '../autograd/ops/linalg.js';
import { crossEntropy } from '../autograd/ops/loss.js';
import { authorsSplit, generateIb12 } from '../data/ib12.js';
import { ebabInformation } from '../info/binning.js';
import { adaptiveKdeVariance, kdeInformation } from '../info/kde.js';
import { activations, labels, type Activations, type Labels } from '../info/types.js';
import { Adam } from '../optim/adam.js';
import { Rng } from '../tensor/rng.js';
import { fromArray, type Tensor } from '../tensor/tensor.js';
import { FusedAdam, FusedMlp } from '../train/infoplane/mlp.js';
import { median } from './stats.js';

export interface BenchmarkRow {
  readonly name: string;
  readonly input: string;
  readonly ms: number;
  readonly peer: string;
  readonly peerMs: number;
  /** peerMs / ms */
  readonly speedup: number;
  readonly targetMs: number;
  readonly meetsTarget: boolean;
  /** Median process CPU time of thrifty's side and of the peer (user + system, ms): less moved by other load than wall-clock. */
  readonly cpuMs?: number;
  readonly peerCpuMs?: number;
}

interface Timing {
  /** Median wall-clock ms. */
  readonly ms: number;
  /** Median process CPU ms (user + system). */
  readonly cpuMs: number;
}

function time(fn: () => void, repeats: number): Timing {
  fn(); // warm-up (JIT)
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  return { ms: median(times), cpuMs: median(cpu) };
}

/** EBAB written plainly: distinct values by Set + sort, edges, digitize, joint codes as strings. */
export function plainEbab(t: Activations, y: Labels, numBins = 30): { ixt: number; ity: number } {
  const values = Array.from(t.data);
  const min = Math.min(...values);
  const lower = min >= 0 ? 0 : null;
  const distinct = [...new Set(values.filter((v) => v !== lower))].sort((a, b) => a - b);
  const inner = Array.from({ length: numBins }, (_, k) => distinct[Math.floor((k * distinct.length) / numBins)] ?? Infinity);
  const counts = new Map<string, number>();
  const joint = new Map<string, number>();
  for (let i = 0; i < t.n; i++) {
    const codes: number[] = [];
    for (let c = 0; c < t.width; c++) codes.push(inner.filter((e) => e <= t.data[i * t.width + c]!).length);
    const key = codes.join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const jk = `${key}|${y.values[i]}`;
    joint.set(jk, (joint.get(jk) ?? 0) + 1);
  }
  const h = (m: Map<string, number>): number => [...m.values()].reduce((acc, c) => acc - (c / t.n) * Math.log2(c / t.n), 0);
  const classCounts = new Map<number, number>();
  for (const v of y.values) classCounts.set(v, (classCounts.get(v) ?? 0) + 1);
  const hy = [...classCounts.values()].reduce((acc, c) => acc - (c / t.n) * Math.log2(c / t.n), 0);
  const ht = h(counts);
  return { ixt: ht, ity: ht + hy - h(joint) };
}

/** The KDE upper bound of I(X;T) and I(T;Y) as the formulas read: all ordered pairs, Math.exp, per-class sums. */
export function plainKde(t: Activations, y: Labels, variance: number): { ixt: number; ity: number } {
  const { n, width: d, data } = t;
  let meanLog = 0;
  const classSum = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let sc = 0;
    for (let j = 0; j < n; j++) {
      let dist = 0;
      for (let c = 0; c < d; c++) dist += (data[i * d + c]! - data[j * d + c]!) ** 2;
      const e = Math.exp(-dist / (2 * variance));
      s += e;
      if (y.values[j] === y.values[i]) sc += e;
    }
    meanLog += Math.log(s) / n;
    classSum[i] = sc;
  }
  const classCounts = new Float64Array(y.numClasses);
  for (const v of y.values) classCounts[v]!++;
  let cond = 0;
  for (let i = 0; i < n; i++) cond += (Math.log(classCounts[y.values[i]!]!) - Math.log(classSum[i]!)) / n;
  const h = Math.log(n) - meanLog;
  return { ixt: h / Math.LN2, ity: (h - cond) / Math.LN2 };
}

function engineEpoch(params: Tensor[], adam: Adam, x: Float32Array, y: Int32Array, rows: Int32Array, batch: number): void {
  const sizes = [12, 10, 7, 5, 4, 3, 2];
  for (let b = 0; b < rows.length; b += batch) {
    const count = Math.min(batch, rows.length - b);
    const xb = new Float32Array(count * 12);
    const yb = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      xb.set(x.subarray(rows[b + i]! * 12, rows[b + i]! * 12 + 12), i * 12);
      yb[i] = y[rows[b + i]!]!;
    }
    let h = fromArray(xb, [count, 12]);
    for (let l = 0; l < sizes.length - 1; l++) {
      const z = linear(h, params[2 * l]!, params[2 * l + 1]!);
      h = l < sizes.length - 2 ? tanh(z) : z;
    }
    backward(crossEntropy(h, fromArray(yb, [count], { dtype: 'i32' })));
    adam.step();
    adam.zeroGrad();
  }
}

export interface BenchmarkOptions {
  readonly repeats?: number;
}

export function runInfoplaneBenchmark(options: BenchmarkOptions = {}): BenchmarkRow[] {
  const repeats = options.repeats ?? 7;
  const peerRepeats = Math.max(1, Math.min(3, repeats));
  const data = generateIb12();
  const split = authorsSplit(data.n);
  const y = labels(data.labels, 2);
  const rows: BenchmarkRow[] = [];
  const add = (name: string, input: string, ours: Timing, peer: string, theirs: Timing, targetMs: number): void => {
    const { ms, cpuMs } = ours;
    const peerMs = theirs.ms;
    rows.push({ name, input, ms, peer, peerMs, speedup: peerMs / ms, targetMs, meetsTarget: ms <= targetMs, cpuMs, peerCpuMs: theirs.cpuMs });
  };

  // Layers to estimate: a trained tanh network's widest hidden layer (width 10), and a worst case
  // of 12 units whose 4096 rows are all distinct (no duplicate rows to merge, every value distinct).
  const mlp = new FusedMlp([12, 10, 7, 5, 4, 3, 2], 'tanh', new Rng(1));
  const adam = new FusedAdam(mlp.parameters());
  for (let e = 0; e < 300; e++) for (let b = 0; b < split.train.length; b += 256) {
    mlp.lossAndGradients(data.inputs, data.labels, split.train, b, Math.min(split.train.length, b + 256));
    adam.step();
  }
  const trained = activations(mlp.layerActivations(data.inputs, data.n)[0]!, data.n, 10);
  const rng = new Rng(2);
  const worst = activations(Float32Array.from({ length: data.n * 12 }, () => Math.tanh(rng.normal())), data.n, 12);
  const layers: Array<[string, Activations]> = [
    ['tanh layer 1 after 300 epochs, N 4096 x 10', trained],
    ['all-distinct N 4096 x 12', worst],
  ];

  for (const [input, t] of layers) {
    add('EBAB per layer-epoch', input, time(() => ebabInformation(t, y), repeats), 'plain EBAB (Map of string keys)', time(() => plainEbab(t, y), peerRepeats), 10);
  }
  for (const [input, t] of layers) {
    add('KDE bounds per layer-epoch', input, time(() => kdeInformation(t, y, { variance: 0.1 }), repeats), 'plain KDE (all pairs, Math.exp)', time(() => plainKde(t, y, 0.1), 1), 300);
    const variance = adaptiveKdeVariance(t);
    add('aKDE bounds per layer-epoch', input, time(() => kdeInformation(t, y, { variance: adaptiveKdeVariance(t) }), repeats), 'plain KDE (all pairs, Math.exp)', time(() => plainKde(t, y, variance), 1), 300);
  }

  // Training: one epoch (3277 rows, batch 256) of 12-10-7-5-4-3-2 tanh.
  const fused = new FusedMlp([12, 10, 7, 5, 4, 3, 2], 'tanh', new Rng(3));
  const fusedAdam = new FusedAdam(fused.parameters());
  const fusedEpoch = (): void => {
    for (let b = 0; b < split.train.length; b += 256) {
      fused.lossAndGradients(data.inputs, data.labels, split.train, b, Math.min(split.train.length, b + 256));
      fusedAdam.step();
    }
  };
  for (let i = 0; i < 20; i++) fusedEpoch();
  const params = fused.parameters().map((p) => fromArray(Float32Array.from(p.data), p.shape, { requiresGrad: true }));
  const engineAdam = new Adam(params.map((p, i) => [`p${i}`, p] as const), { lr: 4e-4 });
  add(
    'training per epoch (12-10-7-5-4-3-2 tanh)',
    '3277 rows, batch 256',
    time(fusedEpoch, Math.max(repeats, 20)),
    'autograd engine + Adam (reference backend)',
    time(() => engineEpoch(params, engineAdam, data.inputs, data.labels, split.train, 256), peerRepeats),
    5,
  );
  return rows;
}

export function formatBenchmarkTable(rows: readonly BenchmarkRow[]): string {
  // The last column compares thrifty's time with issue 4's target (not a pass/fail of the run).
  const header = ['measurement', 'input', 'thrifty ms', 'peer', 'peer ms', 'speedup', 'target ms', 'within target'];
  const body = rows.map((r) => [
    r.name, r.input, r.ms.toFixed(2), r.peer, r.peerMs.toFixed(1), `${r.speedup.toFixed(1)}x`, String(r.targetMs),
    r.meetsTarget ? 'yes' : `no (${(r.ms / r.targetMs).toFixed(1)}x the target)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n(medians; peer = the plain implementation in the same run; within target: thrifty ms <= target ms)\n';
}

// Run directly: node dist/bench/infoplane.js [--json]
const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const rows = runInfoplaneBenchmark();
  process.stdout.write(process.argv.includes('--json') ? rows.map((r) => JSON.stringify(r)).join('\n') + '\n' : formatBenchmarkTable(rows));
}
