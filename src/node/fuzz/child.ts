// The child process of the fuzzer: loads the inputs of one batch in order and prints one JSON line
// per input. Run by runner.ts with a heap limit; a hang or a crash here costs only this batch.

import { readFileSync } from 'node:fs';

import { classifyLoad } from './load.js';
import { isFuzzFormat } from './seeds.js';

/** An input's resident memory beyond this counts as a crash (out of memory): ArrayBuffers live outside the heap limit. */
const RSS_LIMIT = 2 * 1024 ** 3;

interface Job {
  readonly format: string;
  readonly fileName: string;
  readonly items: ReadonlyArray<{ readonly index: number; readonly dir: string }>;
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Job;
  if (!isFuzzFormat(job.format)) throw new Error(`fuzz child: unknown format ${job.format}`);
  process.stdout.write('{"ready":true}\n');
  let current = -1;
  // A load whose promise can never settle lets the event loop drain: say so instead of exiting quietly.
  process.on('beforeExit', () => {
    process.stderr.write(`Error: the event loop drained while input ${current} was loading (a promise that never settles)\n`);
    process.exit(4);
  });
  for (const item of job.items) {
    current = item.index;
    const start = performance.now();
    const result = await classifyLoad(job.format, item.dir, job.fileName);
    const rss = process.memoryUsage().rss;
    const over = rss > RSS_LIMIT;
    const line = over ? { index: item.index, outcome: 'crash', message: `resident memory reached ${(rss / 1024 ** 2).toFixed(0)} MiB` } : { index: item.index, ...result };
    process.stdout.write(`${JSON.stringify({ ...line, ms: Math.round(performance.now() - start) })}\n`);
    if (over) process.exit(3);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
