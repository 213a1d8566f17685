// The demo's second tab: a small information-plane experiment run in the browser (the 12-bit IB
// dataset, a [10, 7, 5, 4, 3] MLP, tanh against ReLU, the EBAB estimator), rendered by the same
// self-contained HTML report that `thrifty infoplane` writes.

import { authorsSplit, generateIb12 } from '../../data/ib12.js';
import { renderInfoplaneReport } from '../../report/infoplane-html.js';
import { summarizeRuns } from '../../train/infoplane/analysis.js';
import { DEFAULT_EXPERIMENT, runInfoplane, type ExperimentConfig, type InfoplaneDataset, type RunRecord } from '../../train/infoplane/experiment.js';

export const INFOPLANE_ACTIVATIONS = ['tanh', 'relu'] as const;

/** Runs the experiment (one seed per activation) and returns the report's HTML. */
export async function runInfoplaneDemo(epochs: number, status: (text: string) => void): Promise<string> {
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > 8000) throw new RangeError(`epochs must be an integer in 1..8000, got ${epochs}`);
  const data = generateIb12();
  const split = authorsSplit(data.n);
  const dataset: InfoplaneDataset = {
    name: 'ib12', ...data, numClasses: 2, train: split.train, test: split.test, infoRows: null,
    splitDescription: 'authors: first 80% train, unshuffled',
  };
  const config: ExperimentConfig = { ...DEFAULT_EXPERIMENT, epochs, logSamples: Math.min(16, epochs) };
  const records: RunRecord[] = [];
  for (const activation of INFOPLANE_ACTIVATIONS) {
    status(`training the ${activation} network (${epochs} epochs) and estimating its information plane`);
    // Let the status message out before the run blocks this worker.
    await new Promise((resolve) => setTimeout(resolve, 0));
    records.push(await runInfoplane(dataset, config, { activation, l2: 0, seed: 0 }));
  }
  const summaries = config.estimators.map((estimator) => summarizeRuns(records, estimator));
  return renderInfoplaneReport({
    records,
    summaries,
    title: 'Information plane: ib12, in the browser',
    command: `thrifty infoplane --dataset ib12 --epochs ${epochs} --activation ${INFOPLANE_ACTIVATIONS.join(',')} --seeds 1 --log-samples ${config.logSamples} (run in this page's worker)`,
  });
}
