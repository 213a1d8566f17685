// npm run fuzz -- --format gguf|...|all --count N --seed S [--jobs J] [--timeout-ms T] [--save DIR]
//   [--record FILE]
// Prints the outcome table; exits 1 when any input hung, crashed, failed with a generic error or
// was accepted but wrong (minimized cases saved under --save, default runs/fuzz-failures/).
// --record writes the run as JSON (the record the docs' fuzz table is drawn from).

import { writeFileAtomic } from '../files.js';
import { fuzzRecord } from './record.js';
import { formatFuzzTable, runFuzz, BAD_OUTCOMES, type FuzzReport } from './runner.js';
import { FUZZ_FORMATS, isFuzzFormat, type FuzzFormat } from './seeds.js';

function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    if (!key.startsWith('--')) throw new Error(`fuzz: unexpected argument '${key}'`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`fuzz: ${key} needs a value`);
    out.set(key.slice(2), value);
    i++;
  }
  return out;
}

function intFlag(args: Map<string, string>, name: string, fallback: number, max: number): number {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new Error(`fuzz: --${name} must be an integer in 0..${max}, got '${raw}'`);
  return v;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const known = new Set(['format', 'count', 'seed', 'jobs', 'timeout-ms', 'save', 'batch', 'record']);
  for (const key of args.keys()) if (!known.has(key)) throw new Error(`fuzz: unknown flag --${key} (known: ${[...known].join(', ')})`);
  const formatArg = args.get('format') ?? 'all';
  if (formatArg !== 'all' && !isFuzzFormat(formatArg)) throw new Error(`fuzz: --format must be one of ${FUZZ_FORMATS.join(', ')} or all, got '${formatArg}'`);
  const formats: FuzzFormat[] = formatArg === 'all' ? [...FUZZ_FORMATS] : [formatArg as FuzzFormat];
  const count = intFlag(args, 'count', 1000, 10_000_000);
  const seed = intFlag(args, 'seed', 1, 2 ** 31 - 1);
  const jobs = Math.max(1, intFlag(args, 'jobs', 2, 64));
  const timeoutMs = intFlag(args, 'timeout-ms', 5000, 600_000);
  const batchSize = Math.max(1, intFlag(args, 'batch', 250, 100_000));
  const saveDir = args.get('save') ?? 'runs/fuzz-failures';
  const reports: FuzzReport[] = [];
  for (const format of formats) {
    const report = await runFuzz({ format, count, seed, jobs, timeoutMs, batchSize, saveDir });
    reports.push(report);
    process.stderr.write(`${format}: ${count} inputs in ${report.seconds.toFixed(1)} s${report.quietExitRetries > 0 ? ` (${report.quietExitRetries} quiet child exits retried)` : ''}\n`);
    for (const f of report.failures.slice(0, 10)) process.stderr.write(`  #${f.index} ${f.outcome}: ${f.message}${f.savedTo ? ` (saved to ${f.savedTo})` : ''}\n`);
  }
  process.stdout.write(`${formatFuzzTable(reports)}\n`);
  const recordPath = args.get('record');
  if (recordPath !== undefined) {
    const command = `npm run fuzz -- ${process.argv.slice(2).filter((_, i, all) => all[i] !== '--record' && all[i - 1] !== '--record').join(' ')}`;
    await writeFileAtomic(recordPath, `${JSON.stringify(fuzzRecord(reports, command, new Date()), null, 2)}\n`);
    process.stderr.write(`fuzz: record written to ${recordPath}\n`);
  }
  return reports.some((r) => BAD_OUTCOMES.some((o) => r.counts[o] > 0)) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
