// A terminal progress bar for long work (training, evaluation, downloads). On a TTY it draws a
// cli-progress bar; anywhere else (CI logs, files) it stays silent unless asked for a periodic line.

import { SingleBar } from 'cli-progress';

export type ProgressStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

export interface ProgressBarOptions {
  /** Steps in the whole run. */
  readonly total: number;
  /** Step the run starts from (a resumed run), so rate and ETA count only this session's work. */
  readonly start?: number;
  /** Shown before the bar, e.g. 'train'. */
  readonly label?: string;
  /** What `tokens` counts, shown as `<unit>/s`; default 'tokens'. */
  readonly unit?: string;
  /** Default process.stderr, so stdout stays clean for results. */
  readonly stream?: ProgressStream;
  /** Off a TTY: write one summary line at most this often (and one at stop). Without it, nothing is written. */
  readonly logEveryMs?: number;
  /** Milliseconds clock; injectable for tests. */
  readonly clock?: () => number;
}

export interface ProgressValues {
  readonly loss?: number;
  /** Units (see `unit`) processed since the previous update. */
  readonly tokens?: number;
}

export class ProgressBar {
  private readonly total: number;
  private readonly startStep: number;
  private readonly label: string;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly logEveryMs: number | undefined;
  private readonly clock: () => number;
  private readonly startTime: number;
  private readonly bar: SingleBar | null;
  private step: number;
  private loss: number | undefined;
  private processed = 0;
  private lastLogTime: number;
  private loggedStep: number;
  private stopped = false;

  constructor(options: ProgressBarOptions) {
    if (!(options.total >= 0)) throw new Error(`ProgressBar: total must be >= 0, got ${options.total}`);
    this.total = options.total;
    this.startStep = options.start ?? 0;
    this.step = this.startStep;
    this.loggedStep = this.startStep;
    this.label = options.label ?? '';
    this.unit = options.unit ?? 'tokens';
    this.stream = options.stream ?? process.stderr;
    this.logEveryMs = options.logEveryMs;
    this.clock = options.clock ?? Date.now;
    this.startTime = this.clock();
    this.lastLogTime = this.startTime;
    if (this.stream.isTTY === true) {
      const prefix = this.label ? `${this.label} ` : '';
      this.bar = new SingleBar({
        stream: this.stream,
        format: `${prefix}[{bar}] {value}/{total} | loss {loss} | {rate} ${this.unit}/s | ETA {eta_formatted}`,
        barsize: 30,
        hideCursor: false,
        // cli-progress's own SIGINT handler would swallow Ctrl-C and keep a training run alive.
        gracefulExit: false,
        etaBuffer: 50,
      });
      this.bar.start(this.total, this.startStep, this.payload());
    } else {
      this.bar = null;
    }
  }

  /** Records that `step` steps are done (absolute, not an increment). */
  update(step: number, values: ProgressValues = {}): void {
    if (this.stopped) return;
    this.step = step;
    if (values.loss !== undefined) this.loss = values.loss;
    if (values.tokens !== undefined) this.processed += values.tokens;
    if (this.bar) {
      this.bar.update(step, this.payload());
      return;
    }
    if (this.logEveryMs !== undefined && this.clock() - this.lastLogTime >= this.logEveryMs) this.writeLine();
  }

  /** Finishes the bar (a TTY bar keeps a timer running until then). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bar) this.bar.stop();
    else if (this.logEveryMs !== undefined && this.step !== this.loggedStep) this.writeLine();
  }

  private rate(): number {
    const seconds = (this.clock() - this.startTime) / 1000;
    return seconds > 0 ? this.processed / seconds : 0;
  }

  private payload(): { loss: string; rate: string } {
    return { loss: this.loss === undefined ? '-' : formatLoss(this.loss), rate: formatRate(this.rate()) };
  }

  private writeLine(): void {
    const now = this.clock();
    const elapsedMs = now - this.startTime;
    const done = this.step - this.startStep;
    const etaMs = done > 0 ? (elapsedMs / done) * Math.max(0, this.total - this.step) : NaN;
    const { loss, rate } = this.payload();
    const prefix = this.label ? `${this.label} ` : '';
    this.stream.write(
      `${prefix}step ${this.step}/${this.total} | loss ${loss} | ${rate} ${this.unit}/s | elapsed ${formatDuration(elapsedMs)} | ETA ${formatDuration(etaMs)}\n`,
    );
    this.lastLogTime = now;
    this.loggedStep = this.step;
  }
}

function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(4) : String(loss);
}

function formatRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toString() : rate.toFixed(1);
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
