// Puts one `thrifty infoplane` run's summary into docs/infoplane-summary.json under a key, with the
// run's cost (sums of its networks' training and estimation times), the command that made it, and one
// row per network (its final losses and accuracies and each estimator's compression per layer, from
// RUN_DIR/runs/*.json), so that docs/infoplane.md's tables (`npm run docs:tables`) draw on it.
// Needs the built library (npm run build).
//   node tools/infoplane-summary.mjs KEY RUN_DIR "COMMAND" ["NOTE"]
// e.g. node tools/infoplane-summary.mjs mnist runs/infoplane-mnist "thrifty infoplane --dataset mnist ..."
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { layerCompression, layerCount } from '../dist/src/train/infoplane/analysis.js';

const [key, runDir, command, note] = process.argv.slice(2);
if (!key || !runDir || !command) {
  console.error('usage: node tools/infoplane-summary.mjs KEY RUN_DIR "COMMAND" ["NOTE"]');
  process.exit(2);
}
const target = 'docs/infoplane-summary.json';
const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
if (!Array.isArray(summary.summaries) || !Array.isArray(summary.timing)) throw new Error(`${runDir}/summary.json: no 'summaries' or 'timing' (not a thrifty infoplane summary)`);
const { timing, ...kept } = summary;
const runsDir = join(runDir, 'runs');
const estimators = kept.config.estimators;
const round = (x, digits) => Number(x.toFixed(digits));
const networks = readdirSync(runsDir).filter((name) => name.endsWith('.json')).sort().map((name) => {
  const record = JSON.parse(readFileSync(join(runsDir, name), 'utf8'));
  const { trainLoss, testLoss, trainAccuracy, testAccuracy } = record.final;
  const compression = Object.fromEntries(estimators.map((e) => [e, Array.from({ length: layerCount(record) }, (_, l) => round(layerCompression(record, e, l), 5))]));
  return { activation: record.activation, l2: record.l2, seed: record.seed, trainLoss: round(trainLoss, 6), testLoss: round(testLoss, 6), trainAccuracy: round(trainAccuracy, 6), testAccuracy: round(testAccuracy, 6), compression };
});
if (networks.length !== timing.length) throw new Error(`${runsDir}: ${networks.length} network records for ${timing.length} networks in summary.json`);
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
  networks,
};
const doc = JSON.parse(readFileSync(target, 'utf8'));
doc[key] = entry;
writeFileSync(`${target}.tmp`, `${JSON.stringify(doc)}\n`);
renameSync(`${target}.tmp`, target);
console.log(`${target}: '${key}' from ${runDir} (${timing.length} networks, ${networks.length} rows)`);
