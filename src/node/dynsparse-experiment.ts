// The dynamic-sparsity experiment (Dietrich et al., arXiv 2108.06277) at micro scale: one grid of arms
// (dense sizes, static and dynamic sparse BERT, sweeps of sparsity, block size, n x pr, learning rate,
// RigL), every arm x seed an ordinary pre-training run folder trained on the same data, tokens and
// schedule (<out>/runs/<arm>-seed<k>), run by the Pareto experiment's queue (finished runs are
// skipped, unfinished ones continue from their checkpoints, Ctrl-C stops after the step under way).
// After each run: its JSON record (<out>/records/<arm>-seed<k>.json), then summary.json and
// report.html from every record so far.

import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { renderDynsparseHtml } from '../report/dynsparse-html.js';
import { summarizeArms, type ArmMode, type ArmRecord, type ArmSpec, type ArmSummary, type DynsparsePart, type ExploredPoint, type MaskTrace, type ValidationPoint } from '../report/dynsparse.js';
import { trainWordPiece } from '../text/wordpiece-trainer.js';
import { sparseLearningRate } from '../train/dynsparse.js';
import { readCorpusFiles, saveWordPieceVocab } from './corpus-files.js';
import { writeFileAtomic } from './files.js';
import { readMetricsLog } from './metrics-log.js';
import { experimentRunOptions, runQueue, stepsForTokens, type ExperimentRunSettings } from './pareto-experiment.js';
import { METRICS_FILE, type PretrainRunOptions } from './pretrain-runner.js';
import { ProgressBar, type ProgressStream } from './progress.js';

/** The arms to train: the base sparse setting and the values each sweep visits. */
export interface DynsparseGrid {
  /** The dense family (the Pareto experiment's micro sizes). */
  readonly denseSizes: readonly string[];
  /** The size every sparse arm trains. */
  readonly sparseSize: string;
  /** Base setting of the sparse arms (the paper's s = 0.9). */
  readonly sparsity: number;
  readonly block: number;
  readonly updates: number;
  readonly pruneRatio: number;
  /** Part 2: sparsities (dynamic, base block). */
  readonly sparsities: readonly number[];
  /** Part 3: block sizes (dynamic, base sparsity). */
  readonly blocks: readonly number[];
  /** Block sizes that also get a static arm (the base block always does). */
  readonly staticBlocks: readonly number[];
  /** Part 4: updates n x prune ratios pr. */
  readonly updatesList: readonly number[];
  readonly pruneRatios: readonly number[];
  /** Part 4: peak learning rates as multiples of the sparse rule's eta(s) (1 is the base arm). */
  readonly lrFactors: readonly number[];
  /** Part 5: block sizes with a RigL arm (beside the random-regrowth arm of the block sweep). */
  readonly riglBlocks: readonly number[];
  /**
   * Multiplies the learning rate of every sparse arm (static included) on top of the rule and the arm's own
   * factor: a whole grid at, say, half the rule, to compare DynSparse and static where neither stalls (1: the rule).
   */
  readonly sparseLrFactor?: number;
}

/** eta(0) / eta(s): the factor that undoes the sparse learning-rate rule (the dense rate). */
export function noRuleFactor(sparsity: number): number {
  return 1 / sparseLearningRate(1, sparsity);
}

/** The small default grid (one or two values per sweep), or the full one (the issue's grid). */
export function defaultGrid(full: boolean): DynsparseGrid {
  const base = { denseSizes: ['micro-xs', 'micro-s', 'micro-m'], sparseSize: 'micro-m', sparsity: 0.9, block: 16, updates: 80, pruneRatio: 0.5 };
  if (!full) {
    return {
      ...base, sparsities: [0.5, 0.9], blocks: [1, 16], staticBlocks: [16], updatesList: [20, 80], pruneRatios: [0.5], lrFactors: [noRuleFactor(0.9), 1], riglBlocks: [16],
    };
  }
  return {
    ...base,
    sparsities: [0.5, 0.75, 0.9],
    blocks: [1, 4, 8, 16],
    staticBlocks: [1, 16],
    updatesList: [20, 80, 160],
    pruneRatios: [0.25, 0.5, 0.75],
    lrFactors: [noRuleFactor(0.9), 0.5, 1, 2],
    riglBlocks: [16],
  };
}

/** The arm's whole factor on its rule-given rate: its own, times the grid's for sparse arms (what the id names and the run uses). */
function rateFactor(arm: Pick<ArmSpec, 'mode' | 'lrFactor'>, grid: DynsparseGrid): number {
  return arm.mode === 'dense' ? arm.lrFactor : arm.lrFactor * (grid.sparseLrFactor ?? 1);
}

function sparseId(size: string, mode: ArmMode, s: number, b: number, n: number, pr: number, lrFactor: number): string {
  const schedule = mode === 'static' ? '' : `-n${n}-pr${pr}`;
  const lr = lrFactor === 1 ? '' : `-lrx${+lrFactor.toPrecision(3)}`;
  return `${mode}-${size}-s${s}-b${b}${schedule}${lr}`;
}

/** Every arm of the grid once, with the parts it belongs to (an arm shared by sweeps is trained once). */
export function planArms(grid: DynsparseGrid, steps: number): ArmSpec[] {
  const arms = new Map<string, ArmSpec>();
  const add = (spec: Omit<ArmSpec, 'id' | 'parts'>, part: DynsparsePart): void => {
    const updates = spec.mode === 'dynamic' || spec.mode === 'rigl' ? Math.min(spec.updates, steps) : 0;
    const pruneRatio = spec.mode === 'dynamic' || spec.mode === 'rigl' ? spec.pruneRatio : 0;
    const id = spec.mode === 'dense'
      ? `dense-${spec.size}${spec.lrFactor === 1 ? '' : `-lrx${+spec.lrFactor.toPrecision(3)}`}`
      : sparseId(spec.size, spec.mode, spec.sparsity, spec.block, updates, pruneRatio, rateFactor(spec, grid));
    const existing = arms.get(id);
    if (existing) {
      if (!existing.parts.includes(part)) arms.set(id, { ...existing, parts: [...existing.parts, part] });
      return;
    }
    arms.set(id, { ...spec, id, parts: [part], updates, pruneRatio });
  };
  const { sparseSize: size, sparsity: s, block: b, updates: n, pruneRatio: pr } = grid;
  const dynamic = (over: Partial<Omit<ArmSpec, 'id' | 'parts'>>, part: DynsparsePart): void =>
    add({ size, mode: 'dynamic', sparsity: s, block: b, updates: n, pruneRatio: pr, lrFactor: 1, ...over }, part);
  for (const dense of grid.denseSizes) add({ size: dense, mode: 'dense', sparsity: 0, block: 1, updates: 0, pruneRatio: 0, lrFactor: 1 }, 'pareto');
  // The base arm belongs to every sweep (its reference point), whatever values the sweep lists.
  for (const part of ['pareto', 'sparsity', 'block', 'schedule', 'lr'] as const) dynamic({}, part);
  for (const block of [b, ...grid.staticBlocks.filter((x) => x !== b)]) {
    const spec = { size, mode: 'static', sparsity: s, block, updates: 0, pruneRatio: 0, lrFactor: 1 } as const;
    if (block === b) add(spec, 'pareto');
    add(spec, 'block');
  }
  for (const sparsity of grid.sparsities) dynamic({ sparsity }, 'sparsity');
  for (const block of grid.blocks) dynamic({ block }, 'block');
  for (const updates of grid.updatesList) for (const pruneRatio of grid.pruneRatios) dynamic({ updates, pruneRatio }, 'schedule');
  for (const lrFactor of grid.lrFactors) dynamic({ lrFactor }, 'lr');
  for (const block of grid.riglBlocks) {
    dynamic({ block }, 'regrow');
    dynamic({ block, mode: 'rigl' }, 'regrow');
  }
  return [...arms.values()];
}

export interface DynsparseExperimentOptions {
  readonly grid: DynsparseGrid;
  readonly seeds: number;
  /** Training tokens (batch * seq per step) of every run. */
  readonly tokensPerRun: number;
  readonly evalPoints: number;
  readonly out: string;
  readonly jobs: number;
  /** The shared run settings (sparsity and the mask trace are set per arm); lr is eta(0), the dense rate the sparse rule scales. */
  readonly run: Omit<ExperimentRunSettings, 'sparse' | 'traceMask'>;
  /** One line per finished run (default: stderr). */
  readonly log?: (line: string) => void;
  /** The experiment's progress bar (default stderr; null: none). */
  readonly progressStream?: ProgressStream | null;
  readonly reportOnly?: boolean;
}

export interface PlannedArmRun {
  readonly arm: ArmSpec;
  readonly seed: number;
  readonly options: PretrainRunOptions;
}

export interface DynsparseExperimentResult {
  readonly reportPath: string;
  readonly summaryPath: string;
  readonly arms: readonly ArmSpec[];
  readonly runs: readonly PlannedArmRun[];
  readonly summaries: readonly ArmSummary[];
  readonly interrupted: boolean;
}

/** The parts whose arms run first: the comparison at equal FLOPs, block sizes and regrowth. */
const CORE_PARTS: readonly DynsparsePart[] = ['pareto', 'block', 'regrow'];

/**
 * The runs: first every seed of the core parts' arms, then every seed of the sweeps' (sparsity, n x pr,
 * learning rate), each seed-major, so that a stopped experiment has its main comparison complete first.
 */
export function planArmRuns(options: DynsparseExperimentOptions, vocab: string): { arms: ArmSpec[]; runs: PlannedArmRun[] } {
  const steps = stepsForTokens(options.tokensPerRun, options.run.batchSize, options.run.seqLength);
  const arms = planArms(options.grid, steps);
  const runs: PlannedArmRun[] = [];
  const isCore = (arm: ArmSpec): boolean => arm.parts.some((p) => CORE_PARTS.includes(p));
  const order: Array<[number, ArmSpec]> = [];
  for (const core of [true, false]) for (let seed = 0; seed < options.seeds; seed++) for (const arm of arms) if (isCore(arm) === core) order.push([seed, arm]);
  for (const [seed, arm] of order) {
    const out = join(options.out, 'runs', `${arm.id}-seed${seed}`);
    const sparse = arm.mode === 'dense'
      ? undefined
      : { sparsity: arm.sparsity, block: arm.block, regrow: arm.mode, updates: Math.max(1, arm.updates), pruneRatio: arm.pruneRatio, normOrder: 1 };
    runs.push({
      arm,
      seed,
      options: {
        ...experimentRunOptions(options, { arch: 'bert', size: arm.size, seed, out }, vocab),
        lr: sparseLearningRate(options.run.lr, arm.sparsity) * rateFactor(arm, options.grid),
        sparse,
        traceMask: arm.parts.includes('regrow'),
      },
    });
  }
  return { arms, runs };
}

function recordPath(out: string, arm: ArmSpec, seed: number): string {
  return join(out, 'records', `${arm.id}-seed${seed}.json`);
}

/** The record of a finished run, from its metrics log. */
export async function readArmRecord(run: PlannedArmRun): Promise<ArmRecord> {
  const log = await readMetricsLog(join(run.options.out, METRICS_FILE));
  const curve: ValidationPoint[] = log
    .filter((r) => r['kind'] === 'validation' && typeof r['valMlmLoss'] === 'number')
    .map((r) => ({ step: r.step, flops: r['nonEmbeddingFlops'] as number, seconds: r['trainSeconds'] as number, loss: r['valMlmLoss'] as number }));
  const last = log.filter((r) => r['kind'] === 'validation').at(-1);
  if (!last || curve.length === 0) throw new Error(`${run.options.out}: no validation in ${METRICS_FILE}`);
  const density = run.options.sparse ? 1 - run.options.sparse.sparsity : 1;
  const explored: ExploredPoint[] = run.options.sparse
    ? [{ step: 0, explored: density }, ...log.filter((r) => r['kind'] === 'sparse-update').map((r) => ({ step: r.step, explored: r['explored'] as number }))]
    : [];
  let mask: MaskTrace | null = null;
  const traced = log.filter((r) => r['kind'] === 'sparse-explored');
  if (traced.length > 0) {
    const first = traced[0]!;
    const blockRows = first['blockRows'] as number;
    const blockCols = first['blockCols'] as number;
    const firstExplored = new Array<number>(blockRows * blockCols).fill(-1);
    for (const r of traced) {
      const positions = String(r['positions']);
      if (positions === '') continue;
      for (const p of positions.split(',')) if (firstExplored[Number(p)] === -1) firstExplored[Number(p)] = r['update'] as number;
    }
    mask = { name: String(first['name']), blockRows, blockCols, updates: run.options.sparse?.updates ?? 0, firstExplored };
  }
  return {
    arm: run.arm,
    seed: run.seed,
    steps: run.options.steps,
    lr: run.options.lr,
    finalLoss: last['valMlmLoss'] as number,
    finalAccuracy: last['valMlmAccuracy'] as number,
    nonEmbeddingFlops: last['nonEmbeddingFlops'] as number,
    trainSeconds: last['trainSeconds'] as number,
    curve,
    explored,
    mask,
  };
}

async function readRecords(out: string): Promise<ArmRecord[]> {
  const dir = join(out, 'records');
  if (!existsSync(dir)) return [];
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as ArmRecord));
}

/** The experiment's settings as the report and the summary show them. */
function settingsOf(options: DynsparseExperimentOptions, steps: number): Record<string, string | number> {
  const r = options.run;
  return {
    corpus: r.corpus,
    architecture: 'bert',
    'tokens per run': options.tokensPerRun,
    'steps per run': steps,
    'batch x sequence length': `${r.batchSize} x ${r.seqLength}`,
    'vocabulary size': r.vocabSize,
    optimizer: `${r.optimizer}, eta(0) ${r.lr} (sparse arms: eta(0) exp(1.969 s² + 0.2905 s) x the arm's factor${(options.grid.sparseLrFactor ?? 1) === 1 ? '' : ` x ${options.grid.sparseLrFactor} for every sparse arm`}), warm-up ${r.warmupFraction * 100}% then linear decay, weight decay ${r.weightDecay}, clip ${r.clipNorm}`,
    dropout: r.dropout ?? 0.1,
    'next-sentence prediction': String(r.nsp),
    'dense sizes': options.grid.denseSizes.join(', '),
    'sparse size': options.grid.sparseSize,
    'base sparse setting': `s ${options.grid.sparsity}, ${options.grid.block}x${options.grid.block} blocks, n ${options.grid.updates}, pr ${options.grid.pruneRatio}, L1 block norm`,
    seeds: options.seeds,
    'validation sequences': r.evalSequences,
    'validations per run': options.evalPoints,
    threads: String(r.threads ?? 'all cores'),
    'parallel runs': options.jobs,
  };
}

/** Writes summary.json and report.html from every record so far; returns them and the arm summaries. */
export async function writeDynsparseReport(options: DynsparseExperimentOptions, arms: readonly ArmSpec[], runs: readonly PlannedArmRun[]): Promise<{ reportPath: string; summaryPath: string; summaries: ArmSummary[] }> {
  const ids = new Set(arms.map((a) => a.id));
  const records = (await readRecords(options.out)).filter((r) => ids.has(r.arm.id) && r.seed < options.seeds);
  const summaries = summarizeArms(arms, records);
  const steps = runs[0]?.options.steps ?? 0;
  const settings = { ...settingsOf(options, steps), 'runs reported': `${records.length} of ${runs.length}` };
  const summary = { experiment: 'dynsparse', settings, arms: summaries };
  const reportPath = join(options.out, 'report.html');
  const summaryPath = join(options.out, 'summary.json');
  await writeFileAtomic(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(reportPath, renderDynsparseHtml({ title: 'Dynamic sparse pre-training of BERT at micro scale', settings, summaries, records }));
  return { reportPath, summaryPath, summaries };
}

/** Runs (or continues) the experiment; an aborted signal stops the runs under way after their step, with checkpoints. */
export async function runDynsparseExperiment(options: DynsparseExperimentOptions, signal?: AbortSignal): Promise<DynsparseExperimentResult> {
  for (const [flag, v] of [['--seeds', options.seeds], ['--tokens', options.tokensPerRun], ['--eval-points', options.evalPoints], ['--jobs', options.jobs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer, got ${v}`);
  }
  const g = options.grid;
  for (const s of [g.sparsity, ...g.sparsities]) if (!(s > 0 && s < 1)) throw new Error(`experiment dynsparse: sparsity must be in (0, 1), got ${s}`);
  if (g.denseSizes.length < 2) throw new Error('experiment dynsparse: --dense-sizes needs at least two sizes (the dense family is interpolated)');
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await mkdir(join(options.out, 'records'), { recursive: true });
  let vocab = options.run.vocab;
  if (!vocab) {
    vocab = join(options.out, 'vocab.txt');
    if (!existsSync(vocab) && !options.reportOnly) {
      const files = await readCorpusFiles(options.run.corpus);
      await saveWordPieceVocab(vocab, trainWordPiece(files.map((f) => f.text), { vocabSize: options.run.vocabSize }).vocab);
      log(`trained a ${options.run.vocabSize}-token WordPiece vocabulary: ${vocab}`);
    }
  }
  const { arms, runs } = planArmRuns(options, vocab);
  if (options.reportOnly) return { ...(await writeDynsparseReport(options, arms, runs)), arms, runs, interrupted: false };

  const writeRecord = async (run: PlannedArmRun): Promise<ArmRecord> => {
    const record = await readArmRecord(run);
    await writeFileAtomic(recordPath(options.out, run.arm, run.seed), `${JSON.stringify(record)}\n`);
    return record;
  };
  const progress = options.progressStream === null
    ? null
    : new ProgressBar({ total: runs.length, label: 'experiment dynsparse', unit: 'runs', stream: options.progressStream, logEveryMs: 60_000 });
  try {
    await runQueue(runs, {
      jobs: options.jobs,
      signal,
      onSkipped: async (run, done) => {
        // A run finished by an earlier session whose record was not written (killed in between).
        if (!existsSync(recordPath(options.out, run.arm, run.seed))) await writeRecord(run);
        progress?.update(done);
      },
      onStopped: (run, summary) => log(`${run.arm.id} seed ${run.seed}: stopped at step ${summary.step} of ${run.options.steps} (checkpoint kept)`),
      onFinished: async (run, summary, seconds, done) => {
        const record = await writeRecord(run);
        progress?.update(done, { loss: record.finalLoss, tokens: 1 });
        log(`[${done}/${runs.length}] ${run.arm.id} seed ${run.seed}: validation MLM loss ${record.finalLoss.toFixed(4)}, ${summary.nonEmbeddingFlops.toExponential(3)} non-embedding FLOPs, ${seconds.toFixed(0)} s`);
        await writeDynsparseReport(options, arms, runs);
      },
    });
  } finally {
    progress?.stop();
  }
  return { ...(await writeDynsparseReport(options, arms, runs)), arms, runs, interrupted: signal?.aborted === true };
}
