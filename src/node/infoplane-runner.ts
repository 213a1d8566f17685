// Runs an information-plane experiment: every (activation, L2, seed) network in parallel worker
// threads with a progress bar, one JSON record per network (written atomically; an existing record
// with the same settings is reused, so an interrupted protocol resumes), then a summary per
// estimator and a self-contained HTML report.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { authorsSplit, generateIb12, randomSplit } from '../data/ib12.js';
import type { EstimatorName } from '../info/estimators.js';
import { renderInfoplaneReport } from '../report/infoplane-html.js';
import { Rng } from '../tensor/rng.js';
import type { ActivationName } from '../train/infoplane/activations.js';
import { summarizeRuns, type InfoplaneSummary } from '../train/infoplane/analysis.js';
import { RUN_RECORD_FORMAT, validateConfig, type ExperimentConfig, type InfoplaneDataset, type RunRecord, type RunSpec } from '../train/infoplane/experiment.js';
import { defaultDataDir } from './data-dir.js';
import { writeFileAtomic } from './files.js';
import type { InfoplaneJobMessage, InfoplaneWorkerData, InfoplaneWorkerMessage } from './infoplane-worker.js';
import { loadMnist, type MnistData } from './mnist.js';
import { ProgressBar, type ProgressStream } from './progress.js';

export const INFOPLANE_DATASETS = ['ib12', 'mnist', 'fashion-mnist'] as const;
export type InfoplaneDatasetName = (typeof INFOPLANE_DATASETS)[number];
export type SplitKind = 'authors' | 'random';

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface DatasetOptions {
  readonly name: InfoplaneDatasetName;
  /** Default defaultDataDir() (../shared/data or THRIFTY_DATA_DIR). */
  readonly dataDir?: string | undefined;
  /** 'authors' (default): the first 80% of the rows train, unshuffled; 'random': a seeded 80/20. */
  readonly split?: SplitKind;
  readonly splitSeed?: number;
  /** How many inputs (a seeded subset) the estimators see; default all 4096 for ib12, 2000 for MNIST. */
  readonly infoSamples?: number | undefined;
}

function concatMnist(parts: readonly MnistData[]): { inputs: Float32Array; labels: Int32Array; n: number; width: number } {
  const width = parts[0]!.rows * parts[0]!.cols;
  const n = parts.reduce((a, p) => a + p.count, 0);
  const inputs = new Float32Array(n * width);
  const labels = new Int32Array(n);
  let offset = 0;
  for (const p of parts) {
    inputs.set(p.images, offset * width);
    labels.set(p.labels, offset);
    offset += p.count;
  }
  return { inputs, labels, n, width };
}

async function loadMnistLike(dir: string): Promise<{ inputs: Float32Array; labels: Int32Array; n: number; width: number; files: string }> {
  const hasTrain = existsSync(join(dir, 'train-images-idx3-ubyte.gz')) || existsSync(join(dir, 'train-images-idx3-ubyte'));
  // As the paper's code: training and test files concatenated, then split 80/20.
  const parts = hasTrain ? [await loadMnist(dir, 'train'), await loadMnist(dir, 't10k')] : [await loadMnist(dir, 't10k')];
  return { ...concatMnist(parts), files: hasTrain ? 'train + t10k' : 't10k only' };
}

/** The dataset of an experiment, with its split and the rows the estimators see. */
export async function loadInfoplaneDataset(options: DatasetOptions): Promise<InfoplaneDataset> {
  const split = options.split ?? 'authors';
  const splitSeed = options.splitSeed ?? 0;
  const makeSplit = (n: number): { train: Int32Array; test: Int32Array; description: string } =>
    split === 'authors' ? { ...authorsSplit(n), description: 'authors: first 80% train, unshuffled' } : { ...randomSplit(n, new Rng(splitSeed)), description: `random 80/20, seed ${splitSeed}` };
  const subset = (n: number, size: number): Int32Array | null => (size >= n ? null : new Rng(splitSeed + 1).permutation(n).slice(0, size).sort());
  if (options.name === 'ib12') {
    const data = generateIb12();
    const s = makeSplit(data.n);
    const infoRows = subset(data.n, options.infoSamples ?? data.n);
    const estimated = infoRows ? `; estimators on ${infoRows.length} seeded rows` : '';
    return { name: 'ib12', ...data, numClasses: 2, train: s.train, test: s.test, infoRows, splitDescription: s.description + estimated };
  }
  const dir = options.name === 'mnist' ? join(options.dataDir ?? defaultDataDir(), 'mnist') : findFashionMnist(options.dataDir);
  const data = await loadMnistLike(dir);
  const s = makeSplit(data.n);
  const infoSamples = Math.min(options.infoSamples ?? 2000, data.n);
  const infoRows = subset(data.n, infoSamples);
  return {
    name: options.name,
    ...data,
    numClasses: 10,
    train: s.train,
    test: s.test,
    infoRows,
    splitDescription: `${s.description}; ${data.files}; estimators on ${infoSamples} seeded rows`,
  };
}

function findFashionMnist(dataDir: string | undefined): string {
  const candidates = [join(dataDir ?? defaultDataDir(), 'fashion-mnist'), DEBIAN_FASHION_MNIST_DIR];
  for (const dir of candidates) if (existsSync(join(dir, 't10k-images-idx3-ubyte.gz')) || existsSync(join(dir, 't10k-images-idx3-ubyte'))) return dir;
  throw new Error(`Fashion-MNIST not found in ${candidates.join(' or ')}: install Debian's dataset-fashion-mnist or put the idx files there`);
}

export interface InfoplaneExperimentOptions {
  readonly dataset: DatasetOptions;
  readonly config: ExperimentConfig;
  readonly activations: readonly ActivationName[];
  /** L2 penalties; each activation runs once per value (0 = none). */
  readonly l2: readonly number[];
  /** Seeds firstSeed .. firstSeed + seeds - 1. */
  readonly seeds: number;
  readonly firstSeed?: number;
  readonly outDir: string;
  /** Worker threads; default min(jobs, cores). */
  readonly threads?: number | undefined;
  /** Reuse existing records with identical settings (default true). */
  readonly reuse?: boolean;
  /** Progress output; default process.stderr. */
  readonly progressStream?: ProgressStream;
  /** The command line, for the report. */
  readonly command?: string;
}

export interface InfoplaneExperimentResult {
  readonly interrupted: false;
  readonly records: RunRecord[];
  readonly summaries: InfoplaneSummary[];
  readonly reportPath: string;
  readonly summaryPath: string;
  readonly reused: number;
  readonly wallMs: number;
}

export function runFileName(dataset: string, spec: RunSpec): string {
  return `${dataset}-${spec.activation}-l2_${spec.l2}-seed${spec.seed}.json`;
}

function sameSettings(record: RunRecord, dataset: InfoplaneDataset, config: ExperimentConfig, spec: RunSpec): boolean {
  return (
    record.format === RUN_RECORD_FORMAT &&
    record.dataset === dataset.name &&
    record.split === dataset.splitDescription &&
    record.activation === spec.activation &&
    record.l2 === spec.l2 &&
    record.seed === spec.seed &&
    JSON.stringify(record.config) === JSON.stringify(config)
  );
}

async function readRecord(path: string): Promise<RunRecord | null> {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunRecord;
  } catch {
    return null; // unreadable: run it again and overwrite
  }
}

/** Stopped by the signal: finished networks are saved in runs/, and rerunning the command reuses them. */
export interface InfoplaneExperimentInterrupted {
  readonly interrupted: true;
  /** Networks with a saved record (reused ones included), of `total`. */
  readonly finished: number;
  readonly total: number;
  readonly runsDir: string;
}

/** Runs the jobs on `threads` workers; resolves with the records in job order, or null when the signal stopped them. */
function runJobs(
  dataset: InfoplaneDataset,
  config: ExperimentConfig,
  specs: readonly RunSpec[],
  threads: number,
  onProgress: (index: number, epochs: number) => void,
  onDone: (index: number, record: RunRecord) => Promise<void>,
  signal?: AbortSignal,
): Promise<RunRecord[] | null> {
  return new Promise((resolve, reject) => {
    const results = new Array<RunRecord | undefined>(specs.length);
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let failed = false;
    const stopAll = (): void => {
      for (const w of workers) void w.terminate();
    };
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      stopAll();
      reject(error);
    };
    // A network is minutes at most: on the signal, the workers stop at once and finished records stay.
    const onAbort = (): void => {
      if (failed) return;
      failed = true;
      stopAll();
      resolve(null);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const feed = (worker: Worker): void => {
      if (next >= specs.length) return;
      const index = next++;
      worker.postMessage({ type: 'job', index, config, spec: specs[index]! } satisfies InfoplaneJobMessage);
    };
    // The inputs go to every worker; in shared memory they are not copied (Fashion-MNIST is 220 MB).
    const shared = new Float32Array(new SharedArrayBuffer(dataset.inputs.byteLength));
    shared.set(dataset.inputs);
    const workerData: InfoplaneWorkerData = { dataset: { ...dataset, inputs: shared } };
    const url = new URL('./infoplane-worker.js', import.meta.url);
    const count = Math.max(1, Math.min(threads, specs.length));
    for (let i = 0; i < count; i++) {
      const worker = new Worker(url, { workerData, execArgv: [] });
      workers.push(worker);
      worker.on('message', (message: InfoplaneWorkerMessage) => {
        if (failed) return;
        if (message.type === 'progress') onProgress(message.index, message.epochs);
        else if (message.type === 'error') {
          const s = specs[message.index]!;
          fail(new Error(`infoplane run ${s.activation}, L2 ${s.l2}, seed ${s.seed}: ${message.message}`));
        } else {
          results[message.index] = message.record;
          onDone(message.index, message.record).then(
            () => {
              finished++;
              if (finished === specs.length) {
                stopAll();
                signal?.removeEventListener('abort', onAbort);
                resolve(results as RunRecord[]);
              } else feed(worker);
            },
            (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
          );
        }
      });
      worker.on('error', (error) => fail(error));
      worker.on('exit', (code) => {
        if (code !== 0 && finished < specs.length) fail(new Error(`infoplane worker exited with code ${code}`));
      });
      feed(worker);
    }
  });
}

/** Runs the experiment; an aborted `signal` (Ctrl-C) stops the workers, keeping the records of finished networks. */
export async function runInfoplaneExperiment(options: InfoplaneExperimentOptions, signal?: AbortSignal): Promise<InfoplaneExperimentResult | InfoplaneExperimentInterrupted> {
  const started = performance.now();
  validateConfig(options.config);
  if (!Number.isInteger(options.seeds) || options.seeds < 1) throw new Error(`infoplane: seeds must be a positive integer, got ${options.seeds}`);
  if (options.activations.length === 0) throw new Error('infoplane: no activation given');
  if (options.config.estimators.length === 0) throw new Error('infoplane: no estimator given');
  const dataset = await loadInfoplaneDataset(options.dataset);
  const firstSeed = options.firstSeed ?? 0;
  const specs: RunSpec[] = [];
  for (const l2 of new Set(options.l2)) {
    if (!(l2 >= 0)) throw new Error(`infoplane: L2 penalties must be >= 0, got ${l2}`);
    for (const activation of new Set(options.activations)) for (let s = 0; s < options.seeds; s++) specs.push({ activation, l2, seed: firstSeed + s });
  }

  const runsDir = join(options.outDir, 'runs');
  await mkdir(runsDir, { recursive: true });
  const records = new Array<RunRecord | undefined>(specs.length);
  const pending: number[] = [];
  for (let i = 0; i < specs.length; i++) {
    const existing = options.reuse === false ? null : await readRecord(join(runsDir, runFileName(dataset.name, specs[i]!)));
    if (existing && sameSettings(existing, dataset, options.config, specs[i]!)) records[i] = existing;
    else pending.push(i);
  }
  const reused = specs.length - pending.length;

  if (pending.length > 0) {
    const epochs = options.config.epochs;
    const progress = new ProgressBar({ total: pending.length * epochs, label: 'infoplane', unit: 'epochs', stream: options.progressStream, logEveryMs: 30000 });
    const done = new Array<number>(pending.length).fill(0);
    let total = 0;
    const threads = options.threads ?? Math.min(pending.length, availableParallelism());
    let saved = 0;
    try {
      const fresh = await runJobs(
        dataset,
        options.config,
        pending.map((i) => specs[i]!),
        threads,
        (index, epochsDone) => {
          const delta = epochsDone - done[index]!;
          total += delta;
          done[index] = epochsDone;
          progress.update(total, { tokens: delta });
        },
        async (index, record) => {
          const delta = epochs - done[index]!;
          total += delta;
          done[index] = epochs;
          progress.update(total, { tokens: delta });
          await writeFileAtomic(join(runsDir, runFileName(dataset.name, specs[pending[index]!]!)), JSON.stringify(record));
          saved++;
        },
        signal,
      );
      if (fresh === null) return { interrupted: true, finished: reused + saved, total: specs.length, runsDir };
      fresh.forEach((record, k) => (records[pending[k]!] = record));
    } finally {
      progress.stop();
    }
  }

  const all = records as RunRecord[];
  const summaries = options.config.estimators.map((e: EstimatorName) => summarizeRuns(all, e));
  const summaryPath = join(options.outDir, 'summary.json');
  await writeFileAtomic(
    summaryPath,
    JSON.stringify(
      {
        dataset: dataset.name,
        split: dataset.splitDescription,
        config: options.config,
        activations: options.activations,
        l2: options.l2,
        seeds: options.seeds,
        firstSeed,
        summaries,
        timing: all.map((r) => ({ activation: r.activation, l2: r.l2, seed: r.seed, ...r.timing })),
      },
      null,
      1,
    ),
  );
  const reportPath = join(options.outDir, 'report.html');
  await writeFileAtomic(reportPath, renderInfoplaneReport({ records: all, summaries, command: options.command ?? '', title: `Information plane: ${dataset.name}` }));
  return { interrupted: false, records: all, summaries, reportPath, summaryPath, reused, wallMs: performance.now() - started };
}
