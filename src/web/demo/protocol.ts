// Messages between the demo page (page.ts) and its engine worker (engine-worker.ts).

import type { GenerateOptions, GenerationOutput, GenerationProgress } from '../../generate/language-model.js';

export type ModelChoice =
  /** The bundled model's folder, fetched over HTTP (config.json, tokenizer.json, model.safetensors). */
  | { readonly kind: 'url'; readonly base: string }
  /** A GGUF file dropped on the page. */
  | { readonly kind: 'gguf'; readonly name: string; readonly bytes: ArrayBuffer };

export type DemoSettings = Omit<GenerateOptions, 'signal' | 'onProgress'>;

export type PageMessage =
  | { readonly type: 'load'; readonly model: ModelChoice; readonly threads: number | 'auto' }
  | { readonly type: 'generate'; readonly prompt: string; readonly settings: DemoSettings }
  | { readonly type: 'stop' }
  | { readonly type: 'infoplane'; readonly epochs: number };

export interface LoadedModel {
  readonly source: string;
  readonly summary: string;
  readonly engine: string;
  readonly pooled: boolean;
  /** Threads of the kernels (the pool's workers plus this one), and how many a decode step uses. */
  readonly poolThreads: number;
  readonly threadsUsed: number;
  readonly note: string;
  readonly isolated: boolean;
  readonly loadSeconds: number;
}

export type WorkerMessage =
  | { readonly type: 'loaded'; readonly model: LoadedModel }
  | { readonly type: 'piece'; readonly text: string; readonly progress: GenerationProgress | null }
  | { readonly type: 'done'; readonly output: GenerationOutput }
  | { readonly type: 'stopped' }
  | { readonly type: 'report'; readonly html: string; readonly seconds: number }
  | { readonly type: 'status'; readonly text: string }
  | { readonly type: 'error'; readonly message: string };
