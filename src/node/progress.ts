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
  readonly stream?: ProgressStream | undefined;
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
        // The ETA is ours (the injectable clock, and formatDuration: cli-progress's own formatter
        // rounds the seconds to a multiple of 5 after splitting off the minutes, printing 2m60s).
        format: `${prefix}[{bar}] {value}/{total} | loss {loss} | {rate} ${this.unit}/s | ETA {etaText}`,
        barsize: 30,
        hideCursor: false,
        // cli-progress's own SIGINT handler would swallow Ctrl-C and keep a training run alive.
        gracefulExit: false,
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

  /** Milliseconds left at this session's average pace; NaN before the first step. */
  private etaMs(): number {
    const done = this.step - this.startStep;
    return done > 0 ? ((this.clock() - this.startTime) / done) * Math.max(0, this.total - this.step) : NaN;
  }

  private payload(): { loss: string; rate: string; etaText: string } {
    return { loss: this.loss === undefined ? '-' : formatLoss(this.loss), rate: formatRate(this.rate()), etaText: formatDuration(this.etaMs()) };
  }

  private writeLine(): void {
    const now = this.clock();
    const { loss, rate, etaText } = this.payload();
    const prefix = this.label ? `${this.label} ` : '';
    this.stream.write(`${prefix}step ${this.step}/${this.total} | loss ${loss} | ${rate} ${this.unit}/s | elapsed ${formatDuration(now - this.startTime)} | ETA ${etaText}\n`);
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

/**
 * A duration for people: `42s`, `2m59s`, `1h05m` (hours drop the seconds). It rounds the total
 * first, then splits it, so no field can read 60 (not `2m60s` or `1h60m`).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  const totalMinutes = Math.round(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h${String(totalMinutes % 60).padStart(2, '0')}m`;
}
