// Ctrl-C for long commands (training, experiments, evaluation): the first SIGINT asks the work to
// stop after the step under way (the training loop sees `signal`, saves and returns); a second one
// exits at once with 130, the shell's code for a process ended by SIGINT.

export const INTERRUPTED_EXIT_CODE = 130;

export interface Interrupt {
  /** Aborted by the first SIGINT. */
  readonly signal: AbortSignal;
  /** Removes the handler (the default SIGINT behaviour returns). */
  dispose(): void;
}

export interface InterruptOptions {
  /** Where the notices go (default process.stderr). */
  readonly stream?: { write(text: string): unknown };
  /** What the first Ctrl-C is stopping, e.g. 'after this step, saving a checkpoint'. */
  readonly stopping?: string;
  /** Ends the process (default process.exit); injectable for tests. */
  readonly exit?: (code: number) => void;
}

/** Installs the two-stage SIGINT handler; dispose() it when the work is done. */
export function interruptOnSigint(options: InterruptOptions = {}): Interrupt {
  const controller = new AbortController();
  const stream = options.stream ?? process.stderr;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onSigint = (): void => {
    if (controller.signal.aborted) {
      stream.write('\ninterrupted again: quitting now\n');
      exit(INTERRUPTED_EXIT_CODE);
      return;
    }
    stream.write(`\ninterrupted: stopping ${options.stopping ?? 'after this step'} (Ctrl-C again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}

/** One argument as a POSIX shell reads it back: bare when safe, else in single quotes. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues this one: its arguments, plus `add` unless already there. */
export function resumeCommand(args: readonly string[], add: readonly string[] = []): string {
  const extra = add.filter((flag) => !args.includes(flag));
  return ['npx', 'thrifty', ...args, ...extra].map(shellQuote).join(' ');
}

/** The lines printed when a command stopped on Ctrl-C: what was kept, and the command that continues. */
export function interruptedMessage(kept: string, resume: string): string {
  return `stopped: ${kept}\nto continue, run:\n  ${resume}\n`;
}
