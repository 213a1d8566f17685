// The demo's engine worker: loads the model and generates off the page's main thread (the page
// stays responsive, and this worker may block in Atomics.wait while its kernel pool works).

import { createLanguageModel, defaultDecodeThreads, describeWasmKernels, type GenerationProgress, type LanguageModel, type ModelBytes } from '../../generate/language-model.js';
import { createWebEngine } from '../engine.js';
import { sharedMemoryWithWorkers } from '../wasm-pool.js';
import { runInfoplaneDemo } from './infoplane.js';
import type { ModelChoice, PageMessage, WorkerMessage } from './protocol.js';

let lm: LanguageModel | null = null;
let running: AbortController | null = null;

function send(message: WorkerMessage): void {
  postMessage(message);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function modelBytes(choice: ModelChoice): Promise<ModelBytes> {
  if (choice.kind === 'gguf') return { gguf: new Uint8Array(choice.bytes), name: choice.name };
  const files: Record<string, Uint8Array> = {};
  for (const name of ['config.json', 'tokenizer.json', 'model.safetensors']) {
    send({ type: 'status', text: `fetching ${name}` });
    files[name] = await fetchBytes(new URL(name, choice.base).href);
  }
  return { files, name: 'bundled model (models/default)' };
}

async function load(choice: ModelChoice, threads: number | 'auto'): Promise<void> {
  running?.abort();
  lm?.dispose();
  lm = null;
  const start = performance.now();
  const bytes = await modelBytes(choice);
  send({ type: 'status', text: 'starting the kernels' });
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  const engine = await createWebEngine({ threads: threads === 'auto' ? cores : threads });
  lm = await createLanguageModel(bytes, { engine });
  const c = lm.config;
  const poolThreads = engine.wasm?.threads ?? 1;
  // 'auto' decides as `thrifty generate` does: one thread for small models (the pool stays ready).
  engine.wasm?.setThreads(threads === 'auto' ? (defaultDecodeThreads(c) ?? poolThreads) : threads);
  send({
    type: 'loaded',
    model: {
      source: lm.source,
      summary: `${c.architecture}, ${c.numLayers} layers, ${c.numHeads} heads of ${c.headDim}, vocabulary ${c.vocabSize}, context ${lm.model.contextLength}`,
      engine: engine.wasm ? describeWasmKernels(engine.wasm) : engine.description,
      pooled: engine.pooled,
      poolThreads,
      threadsUsed: engine.wasm?.threads ?? 1,
      note: engine.note,
      isolated: sharedMemoryWithWorkers(),
      loadSeconds: (performance.now() - start) / 1000,
    },
  });
}

async function generate(message: Extract<PageMessage, { type: 'generate' }>): Promise<void> {
  if (!lm) throw new Error('no model loaded');
  const controller = new AbortController();
  running = controller;
  let progress: GenerationProgress | null = null;
  try {
    const stream = lm.stream(message.prompt, { ...message.settings, signal: controller.signal, onProgress: (p) => (progress = p) });
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        send({ type: 'done', output: next.value });
        return;
      }
      send({ type: 'piece', text: next.value, progress });
    }
  } catch (error) {
    if (controller.signal.aborted) send({ type: 'stopped' });
    else throw error;
  } finally {
    if (running === controller) running = null;
  }
}

addEventListener('message', (event: MessageEvent<PageMessage>) => {
  const message = event.data;
  const task = (): Promise<void> => {
    switch (message.type) {
      case 'load':
        return load(message.model, message.threads);
      case 'generate':
        return generate(message);
      case 'stop':
        running?.abort();
        return Promise.resolve();
      case 'infoplane': {
        const start = performance.now();
        return runInfoplaneDemo(message.epochs, (text) => send({ type: 'status', text })).then((html) =>
          send({ type: 'report', html, seconds: (performance.now() - start) / 1000 }));
      }
    }
  };
  task().catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});
