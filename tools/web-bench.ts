// `npm run demo:bench`: decode tokens/s of the bundled model in headless Chromium (the demo page,
// wasm SIMD, Web Worker pool) against Node (the same LanguageModel API, worker_threads pool) in the
// same run, interleaved round by round; medians. Same settings and seed on both sides, so both
// generate the same tokens (checked).
// Usage: node dist/tools/web-bench.js [--rounds 5] [--max-tokens 200] [--threads 1,2] [--json]

import { execFileSync } from 'node:child_process';

import { median } from '../src/bench/stats.js';
import { loadLanguageModel } from '../src/node/language-model.js';
import { startDemoServer } from './demo-server.js';
import { CHROMIUM_PATH, chromiumMissing, generateInPage, launchChromium, openDemo, type PageSettings } from './web-driver.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const rounds = Number(flag('--rounds', '5'));
const maxTokens = Number(flag('--max-tokens', '200'));
const threadList = flag('--threads', '1,2').split(',').map(Number);
// --json: one JSON object per line (a note, then one per row) instead of the log and the table.
const json = process.argv.includes('--json');
const say = (line: string): void => {
  if (!json) console.log(line);
};
if (!(rounds >= 1) || !(maxTokens >= 2) || threadList.some((n) => !(n >= 1))) throw new Error('--rounds, --max-tokens and --threads expect positive integers');
const missing = chromiumMissing();
if (missing) {
  console.error(`demo:bench: ${missing}`);
  process.exit(1);
}

const server = await startDemoServer({ port: 0 });
const browser = await launchChromium();
const rows: string[] = [];
try {
  const chromiumVersion = execFileSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const note = `Node ${process.version}; ${chromiumVersion} (headless); bundled model, prompt "ROMEO:", ${maxTokens} tokens, seed 1, medians of ${rounds} interleaved rounds`;
  if (json) console.log(JSON.stringify({ note }));
  say(note);
  for (const threads of threadList) {
    const lm = await loadLanguageModel('bundled', { threads });
    const { page, model } = await openDemo(browser.context, server.url, { threads: String(threads) });
    try {
      for (const [attention, compression] of [['dense', '1/4'], ['sparq', '1/4']] as const) {
        const settings: PageSettings = { prompt: 'ROMEO:', attention, compression, recipe: 'even', maxTokens, temperature: 1, seed: 1 };
        const nodeRates: number[] = [];
        const webRates: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const node = await lm.generate(settings.prompt, { attention, compression: 1 / 4, recipe: 'even', maxTokens, seed: 1 });
          const web = await generateInPage(page, settings);
          if (`${settings.prompt}${node.text}` !== web.text) throw new Error(`Node and the browser generated different text (${attention}, ${threads} threads)`);
          nodeRates.push(node.stats.decodeTokensPerSecond);
          webRates.push(web.output.stats.decodeTokensPerSecond);
        }
        const n = median(nodeRates);
        const w = median(webRates);
        const row = `| ${threads} | ${attention}${attention === 'sparq' ? ' 1/4 (even)' : ''} | ${n.toFixed(0)} | ${w.toFixed(0)} | ${(w / n).toFixed(2)} |`;
        rows.push(row);
        if (json) console.log(JSON.stringify({ threads, attention, compression: attention === 'sparq' ? 0.25 : 1, recipe: attention === 'sparq' ? 'even' : null, maxTokens, rounds, nodeTokensPerSecond: n, chromiumTokensPerSecond: w, chromiumOverNode: w / n }));
        say(`${threads} thread(s), ${attention}: Node ${n.toFixed(1)} tokens/s, browser ${w.toFixed(1)} tokens/s (${model.engine}${model.pooled ? ', pool' : ''})`);
      }
    } finally {
      await page.close();
      lm.dispose();
    }
  }
} finally {
  await browser.close();
  await server.close();
}
say('\n| threads | attention | Node tokens/s | Chromium tokens/s | Chromium / Node |\n|--:|:--|--:|--:|--:|');
for (const row of rows) say(row);
