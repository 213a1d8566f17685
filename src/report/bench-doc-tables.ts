// README's benchmark tables, drawn from the records `npm run bench:record` writes to
// docs/records/bench/ (each: the command, the machine, its load before and after, and the
// benchmark's own `--json` lines). Every table ends with a line saying when, where and under what
// load it was measured, and the command that measures it again.

import { field, fixed, markdownTable, type DocTable } from './doc-tables.js';

/** A benchmark record as tools/bench-record.ts writes it. */
export interface BenchRecord {
  readonly name: string;
  /** The command that regenerates this record. */
  readonly command: string;
  /** The benchmark as it was run. */
  readonly benchCommand: string;
  readonly date: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string };
  /** One-minute load average before and after the run (null: not recorded): these machines are shared. */
  readonly load: { readonly before: number | null; readonly after: number | null };
  /** What else ran on the machine, when the load was not recorded or needs saying. */
  readonly conditions?: string;
  readonly seconds: number | null;
  readonly lines: readonly unknown[];
}

export type Row = Readonly<Record<string, unknown>>;

/** The record, checked for the fields every benchmark record has; errors name `name`. */
export function benchRecord(record: unknown, name: string): BenchRecord {
  const lines = field(record, 'lines', name);
  if (!Array.isArray(lines)) throw new Error(`${name}: field 'lines' is not a list`);
  for (const key of ['command', 'benchCommand', 'date', 'machine.cpu', 'machine.cores', 'machine.node', 'load']) field(record, key, name);
  return record as BenchRecord;
}

/** The benchmark's result rows (its notes left out). */
export function rows(record: BenchRecord): Row[] {
  return record.lines.filter((l): l is Row => l !== null && typeof l === 'object' && !('note' in l));
}

/** The benchmark's notes, in order. */
function notes(record: BenchRecord): string[] {
  return record.lines.flatMap((l) => (l !== null && typeof l === 'object' && 'note' in l && typeof l.note === 'string' ? [l.note] : []));
}

function num(row: Row, key: string, name: string): number {
  const value = row[key];
  if (typeof value !== 'number') throw new Error(`${name}: a row's '${key}' is not a number`);
  return value;
}

function optionalNum(row: Row, key: string): number | null {
  const value = row[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** "Recorded ... (command)": the provenance line under every table. */
export function provenance(records: readonly BenchRecord[]): string {
  const first = records[0];
  if (!first) return '';
  const dates = [...new Set(records.map((r) => r.date.slice(0, 10)))].join(', ');
  const conditions = records.map((r) => {
    if (r.conditions) return r.conditions;
    return `1-minute load ${fixed(r.load.before, 1)} before, ${fixed(r.load.after, 1)} after`;
  });
  const distinct = [...new Set(conditions)];
  const commands = records.map((r) => `\`${r.command}\``).join(', ');
  return `\nRecorded ${dates} on ${first.machine.cpu} (${first.machine.cores} cores), Node ${first.machine.node.replace(/^v/, '')}; `
    + `${distinct.join('; ')}. Regenerate with ${commands}.\n`;
}

const ratio = (a: number | null, b: number | null, digits = 2): string => (a !== null && b !== null && b > 0 ? fixed(a / b, digits) : '-');

function fraction(x: number): string {
  const inverse = 1 / x;
  return Math.abs(inverse - Math.round(inverse)) < 1e-9 ? `1/${Math.round(inverse)}` : fixed(x, 3);
}

/**
 * `bench attention`: SparQ by recipe, K stored twice or once, then the baselines, per length and
 * ratio; `onlyRatio` keeps one target ratio (README's summary).
 */
export function renderAttention(recordValue: unknown, onlyRatio?: number): string {
  const record = benchRecord(recordValue, 'docs/records/bench/attention.json');
  const name = record.name;
  const all = rows(record).filter((r) => onlyRatio === undefined || r.compression === onlyRatio);
  const table = all.map((r) => {
    const policy = String(r.policy);
    const recipe = policy === 'sparq' ? String(r.recipe) : '-';
    const kStored = policy === 'sparq' ? (r.kTwice === true ? 'twice' : 'once') : '-';
    const rank = optionalNum(r, 'rank');
    const topK = optionalNum(r, 'topK');
    return [
      String(num(r, 'seq', name)), fraction(num(r, 'compression', name)), policy, recipe,
      rank === null ? '-' : String(rank), topK === null ? '-' : String(topK), kStored,
      fixed(num(r, 'achievedRatio', name), 3), fixed(num(r, 'denseMs', name), 2), fixed(num(r, 'ms', name), 2),
      `${fixed(num(r, 'speedup', name), 2)}x`, `${fixed(num(r, 'theoreticalSpeedup', name), 2)}x`,
    ];
  });
  const first = all[0];
  const bandwidth = first
    ? `Dense attention read the cache at ${fixed(optionalNum(first, 'denseGBs'), 1)} GB/s against a streaming rate of ${fixed(optionalNum(first, 'streamGBs'), 1)} GB/s measured in the same run.\n`
    : '';
  return markdownTable(
    ['seq', 'target', 'policy', 'recipe', 'r', 'k', 'K stored', 'measured ratio', 'dense ms', 'ms', 'speedup', 'theoretical'],
    table,
    ['r', 'r', 'l', 'l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r'],
  ) + `\n${bandwidth}` + provenance([record]);
}

/**
 * `bench attention --threads 1,2`: each variant on 1 and on 2 threads (same rounds), and the
 * paired ratio of the two (median over rounds of 1-thread time / 2-thread time).
 */
export function renderAttentionThreads(recordValue: unknown): string {
  const record = benchRecord(recordValue, 'docs/records/bench/attention-threads.json');
  const name = record.name;
  const all = rows(record);
  const key = (r: Row): string => [r.seq, r.compression, r.policy, r.recipe, r.kTwice].join(' ');
  const one = new Map(all.filter((r) => num(r, 'threads', name) === 1).map((r) => [key(r), r]));
  const table: string[][] = [];
  const seen = new Set<number>();
  for (const r of all.filter((x) => num(x, 'threads', name) === 2)) {
    const seq = num(r, 'seq', name);
    const single = one.get(key(r));
    if (!single) continue;
    if (!seen.has(seq)) {
      seen.add(seq);
      table.push([String(seq), 'dense', '-', '-', fixed(num(single, 'denseMs', name), 2), fixed(num(r, 'denseMs', name), 2),
        `${fixed(num(r, 'denseVsOneThread', name), 2)}x`]);
    }
    const policy = String(r.policy);
    table.push([
      String(seq), `${policy} ${fraction(num(r, 'compression', name))}`, policy === 'sparq' ? String(r.recipe) : '-',
      policy === 'sparq' ? (r.kTwice === true ? 'twice' : 'once') : '-',
      fixed(num(single, 'ms', name), 2), fixed(num(r, 'ms', name), 2), `${fixed(num(r, 'vsOneThread', name), 2)}x`,
    ]);
  }
  return markdownTable(['seq', 'policy', 'recipe', 'K stored', '1 thread ms', '2 threads ms', '2 threads / 1 thread'], table,
    ['r', 'l', 'l', 'l', 'r', 'r', 'r']) + provenance([record]);
}

/** The `bench decode` row of one engine at one cache length and batch, and its tokens per second. */
function decodeRow(all: readonly Row[], engine: string, seq: number, batch: number): Row | undefined {
  return all.find((r) => r.engine === engine && r.seq === seq && (optionalNum(r, 'batch') ?? 1) === batch);
}

const decodeRate = (r: Row | undefined): number | null => (r ? optionalNum(r, 'tokensPerSecond') : null);

/** The weight format of a decode record: its command's --format, else its name's (decode-f32, decode-64k-q8_0). */
function decodeFormat(record: BenchRecord, name: string): string {
  const flag = /--format (\S+)/.exec(record.benchCommand)?.[1];
  return (flag ?? /^decode-(?:\d+k-)?(.+)$/.exec(name)?.[1] ?? 'F32').toUpperCase();
}

/**
 * `bench decode` per weight format and cache length: thrifty dense and SparQ against llama.cpp on
 * the same file. Records are named decode-<format> (4k and 16k) and decode-64k-<format>; a note says
 * where llama.cpp's cache came from when a run loaded a saved prefill.
 */
export function renderDecode(recordValues: readonly unknown[], names: readonly string[]): string {
  const records = recordValues.map((v, i) => benchRecord(v, `docs/records/bench/${names[i]}.json`));
  const table: string[][] = [];
  // Per cache length: the run that prefilled llama.cpp for real, and the formats that loaded its state.
  const prefills = new Map<number, string>();
  const loaded = new Map<number, string[]>();
  records.forEach((record, i) => {
    const all = rows(record);
    const format = decodeFormat(record, names[i]!);
    const lengths = [...new Set(all.map((r) => num(r, 'seq', record.name)))].sort((a, b) => a - b);
    for (const seq of lengths) {
      const dense = decodeRow(all, 'thrifty-dense', seq, 1);
      const sparq = decodeRow(all, 'thrifty-sparq', seq, 1);
      const peer = decodeRow(all, 'llama.cpp', seq, 1);
      const rate = decodeRate;
      const theoretical = sparq ? optionalNum(sparq, 'theoreticalSpeedup') : null;
      table.push([
        format, String(seq), fixed(rate(dense), 1), fixed(rate(sparq), 1), fixed(rate(peer), 1),
        `${ratio(rate(sparq), rate(dense))}x (${fixed(theoretical, 2)}x)`, ratio(rate(dense), rate(peer)),
      ]);
      if (peer?.prefill === 'saved') loaded.set(seq, [...(loaded.get(seq) ?? []), format]);
      else if (peer) prefills.set(seq, `a real prefill of the ${format} file in ${fixed(optionalNum(peer, 'prefillSeconds'), 0)} s`);
    }
  });
  const notes = [...loaded].map(([seq, formats]) => `llama.cpp's cache of ${seq} positions: ${prefills.get(seq) ?? 'a real prefill in an earlier run'}, `
    + `saved and loaded by the ${formats.join(', ')} runs (the cache's shape and f16 type do not depend on the weights).`);
  return markdownTable(
    ['weights', 'cached positions', 'thrifty dense tok/s', 'thrifty SparQ 1/8 tok/s', 'llama.cpp tok/s', 'SparQ / dense (theoretical)', 'dense / llama.cpp'],
    table,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  ) + (notes.length ? `\n${notes.join(' ')}\n` : '') + provenance(records);
}

/** `bench matmul`: GFLOP/s (GB/s for gemv) per kernel and thread count, onnxruntime as the peer. */
/**
 * `bench decode` beyond the main table: batched decode (B sequences through one step, weights read
 * once for all), thrifty dense against SparQ 1/8 (llama.cpp runs batch 1 only).
 */
export function renderDecodeScaling(recordValues: readonly unknown[], names: readonly string[]): string {
  const records = recordValues.map((v, i) => benchRecord(v, `docs/records/bench/${names[i]}.json`));
  const table: string[][] = [];
  records.forEach((record, i) => {
    const all = rows(record);
    const format = decodeFormat(record, names[i]!);
    const cells = [...new Set(all.map((r) => `${num(r, 'seq', record.name)}:${optionalNum(r, 'batch') ?? 1}`))];
    for (const cell of cells) {
      const [seq, batch] = cell.split(':').map(Number) as [number, number];
      const dense = decodeRow(all, 'thrifty-dense', seq, batch);
      const sparq = decodeRow(all, 'thrifty-sparq', seq, batch);
      const rate = decodeRate;
      table.push([
        format, String(seq), String(batch), fixed(rate(dense), 1), fixed(rate(sparq), 1),
        `${ratio(rate(sparq), rate(dense))}x (${fixed(sparq ? optionalNum(sparq, 'theoreticalSpeedup') : null, 2)}x)`,
      ]);
    }
  });
  return markdownTable(
    ['weights', 'cached positions', 'batch', 'thrifty dense tok/s', 'thrifty SparQ 1/8 tok/s', 'SparQ / dense (theoretical)'],
    table,
    ['l', 'r', 'r', 'r', 'r', 'r'],
  ) + provenance(records);
}

export function renderMatmul(recordValue: unknown): string {
  const record = benchRecord(recordValue, 'docs/records/bench/matmul.json');
  const all = rows(record);
  const keys = [...new Set(all.map((r) => `${String(r.op)}|${String(r.shape)}|${String(r.threads)}`))];
  const table = keys.map((key) => {
    const [op, shape, threads] = key.split('|') as [string, string, string];
    const cell = (kernel: string): number | null => {
      const r = all.find((x) => x.kernel === kernel && x.op === op && x.shape === shape && String(x.threads) === threads);
      if (!r) return null;
      return op === 'matmul' ? optionalNum(r, 'gflops') : optionalNum(r, 'gbps');
    };
    const unit = op === 'matmul' ? 'GFLOP/s' : 'GB/s';
    return [`${op} ${shape}`, threads, unit, fixed(cell('reference'), 1), fixed(cell('wasm'), 1), fixed(cell('wasm-relaxed'), 1), fixed(cell('onnxruntime'), 1), ratio(cell('wasm-relaxed'), cell('onnxruntime'))];
  });
  return markdownTable(['op (m x k x n)', 'threads', 'unit', 'reference (JS)', 'wasm', 'wasm relaxed', 'onnxruntime', 'relaxed / onnxruntime'], table, ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r'])
    + provenance([record]);
}

/** `bench memory`: streaming-read bandwidth per kernel and thread count. */
export function renderMemory(recordValue: unknown): string {
  const record = benchRecord(recordValue, 'docs/records/bench/memory.json');
  const all = rows(record);
  const table = all.map((r) => [String(r.kernel), String(num(r, 'threads', record.name)), String(num(r, 'mib', record.name)), fixed(num(r, 'gbps', record.name), 1)]);
  return markdownTable(['kernel', 'threads', 'MiB', 'GB/s'], table, ['l', 'r', 'r', 'r']) + provenance([record]);
}

/** `bench train`: tokens/s of a training step, thrifty against PyTorch CPU, per architecture and threads. */
export function renderTrain(recordValues: readonly unknown[], names: readonly string[]): string {
  const records = recordValues.map((v, i) => benchRecord(v, `docs/records/bench/${names[i]}.json`));
  const table: string[][] = [];
  for (const record of records) {
    const all = rows(record);
    const threadCounts = [...new Set(all.map((r) => num(r, 'threads', record.name)))].sort((a, b) => a - b);
    for (const threads of threadCounts) {
      const ours = all.find((r) => r.impl === 'thrifty' && r.threads === threads);
      const peer = all.find((r) => r.impl === 'pytorch' && r.threads === threads);
      const rate = (r: Row | undefined): number | null => (r ? optionalNum(r, 'tokensPerSecond') : null);
      const shape = ours ? `${String(ours.size)}, ${String(ours.batch)} x ${String(ours.seq)}` : '-';
      table.push([String(ours?.arch ?? peer?.arch ?? '-'), shape, String(threads), fixed(rate(ours), 0), fixed(rate(peer), 0), ratio(rate(ours), rate(peer))]);
    }
  }
  return markdownTable(['model', 'size, batch x seq', 'threads', 'thrifty tokens/s', 'PyTorch 1.13 CPU tokens/s', 'thrifty / PyTorch'], table, ['l', 'l', 'r', 'r', 'r', 'r'])
    + provenance(records);
}

/** The MNIST example: held-out accuracy and time. */
export function renderMnist(recordValue: unknown): string {
  const record = benchRecord(recordValue, 'docs/records/bench/mnist.json');
  const table = rows(record).map((r) => [
    `${fixed(num(r, 'heldOutAccuracy', record.name) * 100, 2)}%`, String(num(r, 'heldOutImages', record.name)), String(num(r, 'epochs', record.name)),
    String(num(r, 'seed', record.name)), fixed(num(r, 'seconds', record.name), 1), String(r.backend),
  ]);
  return markdownTable(['held-out accuracy', 'held-out images', 'epochs', 'seed', 'seconds', 'backend'], table, ['r', 'r', 'r', 'r', 'r', 'l']) + provenance([record]);
}

/** `npm run demo:bench`: decode tokens/s in headless Chromium against Node, same tokens. */
export function renderBrowser(recordValue: unknown): string {
  const record = benchRecord(recordValue, 'docs/records/bench/browser.json');
  const table = rows(record).map((r) => [
    String(num(r, 'threads', record.name)), r.attention === 'sparq' ? 'SparQ 1/4 (even)' : 'dense',
    fixed(num(r, 'nodeTokensPerSecond', record.name), 0), fixed(num(r, 'chromiumTokensPerSecond', record.name), 0), fixed(num(r, 'chromiumOverNode', record.name), 2),
  ]);
  return markdownTable(['threads', 'attention', 'Node tokens/s', 'Chromium tokens/s', 'Chromium / Node'], table, ['r', 'l', 'r', 'r', 'r'])
    + `\n${notes(record).join(' ')}\n` + provenance([record]);
}

// The records of the decode table: per format, 4k and 16k (decode-<format>), then 65,536 positions.
const DECODE_RECORDS = ['f32', 'q8_0', 'q4_0', 'f16'].flatMap((f) => [`decode-${f}`, `decode-64k-${f}`]);
// Batched decode (npm run bench:record -- decode-batch).
const DECODE_SCALING = ['decode-batch'] as const;

/** The benchmark tables of README.md; `load` reads a record path (for the tables drawn from several). */
export function benchDocTables(load: (path: string) => unknown): DocTable[] {
  return [
    { id: 'bench/attention', record: 'docs/records/bench/attention.json', render: (r) => renderAttention(r) },
    { id: 'bench/attention-1-8', record: 'docs/records/bench/attention.json', render: (r) => renderAttention(r, 0.125) },
    { id: 'bench/attention-threads', record: 'docs/records/bench/attention-threads.json', render: renderAttentionThreads },
    {
      id: 'bench/decode', record: 'docs/records/bench/decode-f32.json',
      render: () => renderDecode(DECODE_RECORDS.map((n) => load(`docs/records/bench/${n}.json`)), DECODE_RECORDS),
    },
    {
      id: 'bench/decode-scaling', record: 'docs/records/bench/decode-batch.json',
      render: () => renderDecodeScaling(DECODE_SCALING.map((n) => load(`docs/records/bench/${n}.json`)), DECODE_SCALING),
    },
    { id: 'bench/matmul', record: 'docs/records/bench/matmul.json', render: renderMatmul },
    { id: 'bench/memory', record: 'docs/records/bench/memory.json', render: renderMemory },
    {
      id: 'bench/train', record: 'docs/records/bench/train-bert.json',
      render: () => renderTrain(['train-bert', 'train-groupbert'].map((n) => load(`docs/records/bench/${n}.json`)), ['train-bert', 'train-groupbert']),
    },
    { id: 'bench/mnist', record: 'docs/records/bench/mnist.json', render: renderMnist },
    { id: 'bench/browser', record: 'docs/records/bench/browser.json', render: renderBrowser },
  ];
}
