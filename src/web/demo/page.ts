// The demo page's main thread: the form, the live statistics and the tabs. Everything heavy runs
// in the engine worker (engine-worker.ts); this thread only sends settings and shows results.

import type { AttentionKind } from '../../attention/policy.js';
import type { GenerationOutput, GenerationProgress } from '../../generate/language-model.js';
import type { DemoSettings, LoadedModel, ModelChoice, PageMessage, WorkerMessage } from './protocol.js';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`demo page: no element #${id}`);
  return found as T;
}

const ui = {
  prompt: element<HTMLTextAreaElement>('prompt'),
  attention: element<HTMLSelectElement>('attention'),
  compression: element<HTMLSelectElement>('compression'),
  recipe: element<HTMLSelectElement>('recipe'),
  maxTokens: element<HTMLInputElement>('max-tokens'),
  temperature: element<HTMLInputElement>('temperature'),
  seed: element<HTMLInputElement>('seed'),
  threads: element<HTMLSelectElement>('threads'),
  run: element<HTMLButtonElement>('run'),
  stop: element<HTMLButtonElement>('stop'),
  drop: element<HTMLDivElement>('drop'),
  file: element<HTMLInputElement>('file'),
  engine: element<HTMLDivElement>('engine'),
  status: element<HTMLDivElement>('status'),
  output: element<HTMLPreElement>('output'),
  tps: element<HTMLDivElement>('s-tps'),
  tokens: element<HTMLDivElement>('s-tokens'),
  ratio: element<HTMLDivElement>('s-ratio'),
  saved: element<HTMLDivElement>('s-saved'),
  policy: element<HTMLSpanElement>('b-policy'),
  policyN: element<HTMLElement>('b-policy-n'),
  policyBar: element<HTMLDivElement>('b-policy-bar'),
  denseN: element<HTMLElement>('b-dense-n'),
  spec: element<HTMLDivElement>('b-spec'),
  ipEpochs: element<HTMLInputElement>('ip-epochs'),
  ipRun: element<HTMLButtonElement>('ip-run'),
  ipStatus: element<HTMLDivElement>('ip-status'),
  report: element<HTMLIFrameElement>('report'),
};

/** What tests and curious users can read: the last finished generation and the model. */
interface DemoState {
  model: LoadedModel | null;
  last: GenerationOutput | null;
  /** The prompt and continuation as shown (the CLI prints the same, plus a newline). */
  text: string;
}
const state: DemoState = { model: null, last: null, text: '' };
(globalThis as { thriftyDemo?: DemoState }).thriftyDemo = state;

const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module', name: 'thrifty-engine' });
const send = (message: PageMessage): void => worker.postMessage(message);

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const setState = (value: string): void => {
  document.body.dataset['state'] = value;
};
const setStatus = (text: string, error = false): void => {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', error);
};

// Threads: auto (one for this small model, as the CLI decides), or 1..cores.
const cores = Math.max(1, navigator.hardwareConcurrency || 1);
for (const value of ['auto', ...Array.from({ length: Math.min(cores, 8) }, (_, i) => String(i + 1))]) {
  const option = document.createElement('option');
  option.value = value;
  option.textContent = value === 'auto' ? 'auto (as the CLI: 1 for small models)' : value;
  ui.threads.append(option);
}

// Settings may come from the query string (?attention=sparq&compression=1/8&seed=3&prompt=...).
const query = new URLSearchParams(location.search);
const fromQuery: ReadonlyArray<[string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement]> = [
  ['prompt', ui.prompt], ['attention', ui.attention], ['compression', ui.compression], ['recipe', ui.recipe],
  ['maxTokens', ui.maxTokens], ['temperature', ui.temperature], ['seed', ui.seed], ['threads', ui.threads],
];
for (const [key, input] of fromQuery) {
  const value = query.get(key);
  if (value !== null) input.value = value;
}

function settings(): DemoSettings {
  const [num, den] = ui.compression.value.split('/').map(Number);
  return {
    attention: ui.attention.value as AttentionKind,
    compression: num! / den!,
    recipe: ui.recipe.value === 'paper' ? 'paper' : 'even',
    maxTokens: Number(ui.maxTokens.value),
    temperature: Number(ui.temperature.value),
    seed: Number(ui.seed.value),
  };
}

function threadsWanted(): number | 'auto' {
  return ui.threads.value === 'auto' ? 'auto' : Number(ui.threads.value);
}

function showProgress(p: GenerationProgress): void {
  ui.tokens.textContent = String(p.generatedTokens);
  ui.tps.textContent = p.decodeTokensPerSecond > 0 ? p.decodeTokensPerSecond.toFixed(0) : '–';
  const a = p.attention;
  if (a.densePerStep > 0) {
    ui.ratio.textContent = `${(a.ratio * 100).toFixed(1)}%`;
    ui.saved.textContent = count(Math.max(0, a.densePerStep - a.totalPerStep));
    ui.policyN.textContent = count(a.totalPerStep);
    ui.denseN.textContent = count(a.densePerStep);
    ui.policyBar.style.width = `${Math.min(100, a.ratio * 100)}%`;
  }
}

function describeSpec(output: GenerationOutput): string {
  const s = output.attentionSpec;
  const params = s.kind === 'dense' ? '' : s.kind === 'sparq' ? `r = ${s.rank}, k = ${s.topK}, local window ${s.localWindow}` : `k = ${s.topK}`;
  const st = output.stats;
  return `${s.kind}${params ? ` (${params})` : ''}; prefill ${st.promptTokens} tokens in ${(st.prefillSeconds * 1000).toFixed(0)} ms; `
    + `decode ${st.decodeTokens} tokens in ${(st.decodeSeconds * 1000).toFixed(0)} ms; stopped by ${output.stopReason}`;
}

function load(model: ModelChoice): void {
  setState('loading');
  ui.run.disabled = true;
  ui.ipRun.disabled = true;
  setStatus('loading the model');
  send({ type: 'load', model, threads: threadsWanted() });
}

worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'status':
      if (document.body.dataset['state'] === 'infoplane') ui.ipStatus.textContent = message.text;
      else setStatus(message.text);
      break;
    case 'loaded': {
      state.model = message.model;
      const m = message.model;
      const pool = m.pooled
        ? `<span class="ok">worker pool of ${m.poolThreads} threads</span> (cross-origin isolated), ${m.threadsUsed} in use`
        : `<span class="warn">${m.note || 'one thread'}</span>`;
      ui.engine.innerHTML = '';
      ui.engine.append(Object.assign(document.createElement('div'), { textContent: `${m.source}: ${m.summary}` }));
      const engineLine = document.createElement('div');
      engineLine.textContent = `${m.engine}; `;
      engineLine.insertAdjacentHTML('beforeend', pool);
      ui.engine.append(engineLine);
      setStatus(`ready (loaded in ${m.loadSeconds.toFixed(2)} s)`);
      ui.run.disabled = false;
      ui.ipRun.disabled = false;
      setState('ready');
      break;
    }
    case 'piece':
      ui.output.append(message.text);
      state.text += message.text;
      if (message.progress) showProgress(message.progress);
      break;
    case 'done': {
      state.last = message.output;
      const st = message.output.stats;
      ui.tps.textContent = st.decodeTokensPerSecond.toFixed(0);
      ui.tokens.textContent = String(st.generatedTokens);
      ui.spec.textContent = describeSpec(message.output);
      setStatus(`done: ${st.generatedTokens} tokens, ${st.decodeTokensPerSecond.toFixed(0)} tokens/s`);
      ui.run.disabled = false;
      ui.stop.disabled = true;
      ui.ipRun.disabled = false;
      setState('done');
      break;
    }
    case 'stopped':
      setStatus('stopped');
      ui.run.disabled = false;
      ui.stop.disabled = true;
      ui.ipRun.disabled = false;
      setState('done');
      break;
    case 'report':
      ui.report.srcdoc = message.html;
      ui.report.hidden = false;
      ui.ipStatus.textContent = `done in ${message.seconds.toFixed(1)} s`;
      ui.ipRun.disabled = false;
      ui.run.disabled = false;
      setState('report');
      break;
    case 'error':
      setStatus(message.message, true);
      ui.ipStatus.textContent = message.message;
      ui.run.disabled = state.model === null;
      ui.stop.disabled = true;
      ui.ipRun.disabled = state.model === null;
      setState('error');
      break;
  }
});
worker.addEventListener('error', (event) => {
  setStatus(`the engine worker failed: ${event.message}`, true);
  setState('error');
});

ui.run.addEventListener('click', () => {
  const s = settings();
  ui.output.textContent = '';
  const prompt = document.createElement('span');
  prompt.className = 'prompt';
  prompt.textContent = ui.prompt.value;
  ui.output.append(prompt);
  state.text = ui.prompt.value;
  state.last = null;
  for (const el of [ui.tps, ui.tokens, ui.ratio, ui.saved, ui.policyN, ui.denseN]) el.textContent = '–';
  ui.policyBar.style.width = '0';
  ui.policy.textContent = ui.attention.selectedOptions[0]?.textContent ?? s.attention ?? 'policy';
  ui.spec.textContent = '';
  ui.run.disabled = true;
  ui.stop.disabled = false;
  ui.ipRun.disabled = true;
  setStatus('generating');
  setState('generating');
  send({ type: 'generate', prompt: ui.prompt.value, settings: s });
});
ui.stop.addEventListener('click', () => send({ type: 'stop' }));
ui.threads.addEventListener('change', () => load(currentModel));

// A GGUF dropped on the page (or chosen with the file input) replaces the bundled model.
let currentModel: ModelChoice = { kind: 'url', base: new URL('./models/default/', location.href).href };
async function useFile(file: File): Promise<void> {
  if (!file.name.toLowerCase().endsWith('.gguf')) {
    setStatus(`${file.name}: not a .gguf file`, true);
    return;
  }
  currentModel = { kind: 'gguf', name: file.name, bytes: await file.arrayBuffer() };
  load(currentModel);
}
ui.drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void useFile(file);
});
ui.file.addEventListener('change', () => {
  const file = ui.file.files?.[0];
  if (file) void useFile(file);
});

// Tabs.
for (const tab of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      element(other.dataset['tab']!).hidden = !selected;
    }
  });
}
ui.ipRun.addEventListener('click', () => {
  ui.ipRun.disabled = true;
  ui.run.disabled = true;
  ui.ipStatus.textContent = 'starting';
  setState('infoplane');
  send({ type: 'infoplane', epochs: Number(ui.ipEpochs.value) });
});

load(currentModel);
