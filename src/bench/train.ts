// Training-step benchmark: tokens/s of one full masked-LM pre-training step (forward, backward,
// gradient clipping, AdamW) of BERT or GroupBERT, thrifty's wasm backend against PyTorch CPU
// (tools/bench_train_torch.py, the same model and step written in torch) with 1 thread and all cores.
//
// Method: the VM is noisy and shared, so both run in the same benchmark, alternating: each round
// times `steps` thrifty steps, then `steps` PyTorch steps (a fresh python process, timed inside it,
// after its own warm-up). Rows report medians over all timed steps; ratioToPeer = thrifty's median
// step time / PyTorch's (below 1 is faster). Batches are random tokens with 15% masked (the head
// runs on the masked positions only, on both sides).
//
// Usage: thrifty bench train [--arch bert] [--size mini] [--batch 8] [--seq 128] [--threads 1,2] [--json]

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { backward } from '../autograd/engine.js';
import { withStepMemory } from '../backend/backend.js';
import { createPreTrainingModel, modelConfig, sizePreset, type Architecture } from '../models/bert-presets.js';
import { IGNORE_LABEL, preTrainingLoss, type PreTrainingBatch } from '../models/pretraining.js';
import { initNodeBackend } from '../node/backend.js';
import { clipGradNorm } from '../optim/clip.js';
import { createOptimizer } from '../train/pretrain.js';
import { Rng } from '../tensor/rng.js';
import { median } from './stats.js';

export interface TrainBenchOptions {
  arch?: Architecture;
  size?: string;
  batch?: number;
  seq?: number;
  /** Thread counts (default [1, all cores]). */
  threads?: number[];
  /** Timed steps per implementation and round (default 3). */
  steps?: number;
  /** Rounds (default 2). */
  rounds?: number;
  /** Vocabulary size (default: the preset's). */
  vocabSize?: number;
  /** Include PyTorch when python3 with torch is installed (default true). */
  peer?: boolean;
  json?: boolean;
  log?: (line: string) => void;
}

export interface TrainBenchRow {
  impl: 'thrifty' | 'pytorch';
  arch: Architecture;
  size: string;
  batch: number;
  seq: number;
  threads: number;
  /** Median milliseconds per training step. */
  ms: number;
  /** Tokens (batch * seq) per second at the median step time. */
  tokensPerSecond: number;
  /** thrifty's median time / PyTorch's in the same run (null without PyTorch). */
  ratioToPeer: number | null;
  steps: number;
  backend: string;
}

const PYTHON = '/usr/bin/python3';


/** tools/bench_train_torch.py of the checkout this file was compiled from. */
function torchScript(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'tools', 'bench_train_torch.py');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** torch's version, or why PyTorch is not available. */
function probeTorch(): { version: string } | { missing: string } {
  if (!existsSync(PYTHON)) return { missing: `${PYTHON} not found` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return { missing: `python3 has no torch (${probe.stderr.trim().split('\n').pop() ?? ''})` };
  return { version: probe.stdout.trim() };
}

/** A random batch like the PyTorch script's: ids in [5, V), 15% of positions masked (id 4), half the tokens segment B. */
function randomBatch(batch: number, seq: number, vocab: number, rng: Rng): PreTrainingBatch {
  const n = batch * seq;
  const inputIds = new Int32Array(n);
  const tokenTypeIds = new Int32Array(n);
  const mlmLabels = new Int32Array(n).fill(IGNORE_LABEL);
  for (let i = 0; i < n; i++) {
    inputIds[i] = 5 + rng.int(vocab - 5);
    if (i % seq >= seq / 2) tokenTypeIds[i] = 1;
    if (rng.uniform() < 0.15) {
      mlmLabels[i] = inputIds[i]!;
      inputIds[i] = 4;
    }
  }
  const nspLabels = Int32Array.from({ length: batch }, () => rng.int(2));
  return { batchSize: batch, seqLength: seq, inputIds, tokenTypeIds, attentionMask: new Int32Array(n).fill(1), mlmLabels, nspLabels };
}

function runTorch(script: string, args: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${err.trim()}`));
      try {
        const result = JSON.parse(out.trim().split('\n').pop() ?? '') as { msPerStep: number[] };
        resolve(result.msPerStep);
      } catch (error) {
        reject(new Error(`${script}: unexpected output ${JSON.stringify(out)} (${(error as Error).message})`));
      }
    });
  });
}

function formatTable(rows: readonly TrainBenchRow[]): string[] {
  const header = ['impl', 'arch', 'size', 'batch x seq', 'threads', 'ms/step', 'tokens/s', 'vs PyTorch', 'backend'];
  const body = rows.map((r) => [
    r.impl, r.arch, r.size, `${r.batch} x ${r.seq}`, String(r.threads), r.ms.toFixed(0), r.tokensPerSecond.toFixed(0),
    r.ratioToPeer === null ? '' : `${r.ratioToPeer.toFixed(2)}x`, r.backend,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

export async function benchTrain(options: TrainBenchOptions = {}): Promise<TrainBenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const arch = options.arch ?? 'bert';
  const size = sizePreset(options.size ?? 'mini');
  const batch = options.batch ?? 8;
  const seq = options.seq ?? 128;
  const steps = options.steps ?? 3;
  const rounds = options.rounds ?? 2;
  const cores = availableParallelism();
  const threadCounts = options.threads ?? (cores > 1 ? [1, cores] : [1]);
  const config = modelConfig(arch, size, { vocabSize: options.vocabSize, dropout: 0, maxPositions: Math.max(size.maxPositions, seq) });
  const torch = options.peer === false ? { missing: 'disabled with --no-peer' } : probeTorch();
  const script = torchScript();
  const peer = 'version' in torch && script !== null;
  const notes = [
    `node ${process.versions.node}, ${cores} cores; ${arch} ${size.name} (L${config.numLayers} H${config.hiddenSize} V${config.vocabSize}), batch ${batch} x seq ${seq}, dropout 0, AdamW, clip 1`,
    peer ? `PyTorch ${(torch as { version: string }).version} CPU (${script})` : `no PyTorch peer: ${'missing' in torch ? torch.missing : 'tools/bench_train_torch.py not found'}; ratioToPeer is null`,
  ];
  if (options.json) log(JSON.stringify({ note: notes.join('; ') }));
  else for (const n of notes) log(`# ${n}`);

  const rows: TrainBenchRow[] = [];
  for (const threads of threadCounts) {
    const engine = await initNodeBackend({ threads });
    const ours: number[] = [];
    const theirs: number[] = [];
    try {
      // Weights and AdamW moments live in the wasm arenas: the kernels read and update them in place.
      const alloc = (n: number): Float32Array => engine.wasm.allocF32(n);
      const model = createPreTrainingModel(arch, config, { rng: new Rng(1), alloc });
      const optimizer = createOptimizer(model, { kind: 'adamw', lr: 1e-4, weightDecay: 0.01, warmupSteps: 0, totalSteps: 1, clipNorm: 1 });
      optimizer.setStateAllocator(alloc);
      const rng = new Rng(2);
      const step = (): number => {
        const data = randomBatch(batch, seq, config.vocabSize, rng);
        const t0 = performance.now();
        // One step in the backend's step memory, as PreTrainer.step runs it.
        withStepMemory(() => {
          const { loss } = preTrainingLoss(model, data);
          backward(loss);
          clipGradNorm(model.parameters(), 1);
          optimizer.step();
          optimizer.zeroGrad();
        });
        return performance.now() - t0;
      };
      step(); // warm-up: wasm compilation, first allocations
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < steps; i++) ours.push(step());
        if (peer) {
          const args = ['--arch', arch, '--layers', String(config.numLayers), '--hidden', String(config.hiddenSize), '--heads', String(config.numHeads),
            '--intermediate', String(config.intermediateSize), '--vocab', String(config.vocabSize), '--batch', String(batch), '--seq', String(seq),
            '--threads', String(threads), '--steps', String(steps), '--warmup', '1', '--json'];
          theirs.push(...(await runTorch(script!, args)));
        }
      }
    } finally {
      engine.dispose();
    }
    const oursMs = median(ours);
    const theirsMs = theirs.length ? median(theirs) : null;
    const row = (impl: TrainBenchRow['impl'], ms: number, n: number, backend: string): TrainBenchRow => ({
      impl, arch, size: size.name, batch, seq, threads, ms, tokensPerSecond: (batch * seq * 1000) / ms,
      ratioToPeer: impl === 'thrifty' && theirsMs !== null ? oursMs / theirsMs : null, steps: n, backend,
    });
    const emitted = [row('thrifty', oursMs, ours.length, engine.description)];
    if (theirsMs !== null) emitted.push(row('pytorch', theirsMs, theirs.length, 'torch CPU'));
    for (const r of emitted) {
      rows.push(r);
      if (options.json) log(JSON.stringify(r));
    }
  }
  if (!options.json) for (const line of formatTable(rows)) log(line);
  return rows;
}
