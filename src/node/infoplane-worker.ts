// Worker thread of the information-plane runner: gets the dataset once (workerData), then runs one
// (activation, L2, seed) job per message and posts progress and the finished record.

import { parentPort, workerData } from 'node:worker_threads';

import { runInfoplane, type ExperimentConfig, type InfoplaneDataset, type RunRecord, type RunSpec } from '../train/infoplane/experiment.js';

export interface InfoplaneWorkerData {
  readonly dataset: InfoplaneDataset;
}

export interface InfoplaneJobMessage {
  readonly type: 'job';
  readonly index: number;
  readonly config: ExperimentConfig;
  readonly spec: RunSpec;
}

export type InfoplaneWorkerMessage =
  | { readonly type: 'progress'; readonly index: number; readonly epochs: number }
  | { readonly type: 'done'; readonly index: number; readonly record: RunRecord }
  | { readonly type: 'error'; readonly index: number; readonly message: string };

/** Progress is posted at most this often (ms), so the channel is not flooded by 5 ms epochs. */
const PROGRESS_INTERVAL_MS = 250;

const port = parentPort;
if (port) {
  const { dataset } = workerData as InfoplaneWorkerData;
  port.on('message', (message: InfoplaneJobMessage) => {
    if (message.type !== 'job') return;
    let lastPost = 0;
    runInfoplane(dataset, message.config, message.spec, {
      onEpoch: (done, total) => {
        const now = performance.now();
        if (now - lastPost < PROGRESS_INTERVAL_MS && done < total) return;
        lastPost = now;
        port.postMessage({ type: 'progress', index: message.index, epochs: done } satisfies InfoplaneWorkerMessage);
      },
    }).then(
      (record) => port.postMessage({ type: 'done', index: message.index, record } satisfies InfoplaneWorkerMessage),
      (error: unknown) => port.postMessage({ type: 'error', index: message.index, message: error instanceof Error ? error.message : String(error) } satisfies InfoplaneWorkerMessage),
    );
  });
}
