// Puts one `thrifty infoplane` run's summary into docs/infoplane-summary.json under a key, with the
// run's cost (sums of its networks' training and estimation times) and the command that made it, so
// that docs/infoplane.md's tables (`npm run docs:tables`) draw on it.
//   node tools/infoplane-summary.mjs KEY RUN_DIR "COMMAND" ["NOTE"]
// e.g. node tools/infoplane-summary.mjs mnist runs/infoplane-mnist "thrifty infoplane --dataset mnist ..."
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [key, runDir, command, note] = process.argv.slice(2);
if (!key || !runDir || !command) {
  console.error('usage: node tools/infoplane-summary.mjs KEY RUN_DIR "COMMAND" ["NOTE"]');
  process.exit(2);
}
const target = 'docs/infoplane-summary.json';
const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
if (!Array.isArray(summary.summaries) || !Array.isArray(summary.timing)) throw new Error(`${runDir}/summary.json: no 'summaries' or 'timing' (not a thrifty infoplane summary)`);
const { timing, ...kept } = summary;
const seconds = (field) => Math.round(timing.reduce((acc, t) => acc + t[field], 0) / 100) / 10;
const entry = {
  ...kept,
  budget: {
    networks: timing.length,
    trainCpuSeconds: seconds('trainMs'),
    estimatorCpuSeconds: seconds('infoMs'),
    note: 'sums of the per-network training and estimation times the records hold (thread time on the shared 2-core machine)',
  },
  command,
  ...(note ? { note } : {}),
};
const doc = JSON.parse(readFileSync(target, 'utf8'));
doc[key] = entry;
writeFileSync(`${target}.tmp`, `${JSON.stringify(doc)}\n`);
renameSync(`${target}.tmp`, target);
console.log(`${target}: '${key}' from ${runDir} (${timing.length} networks)`);
