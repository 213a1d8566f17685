// Standard output for commands that stream: when the reader goes away (`thrifty generate | head -1`)
// the next write stops the command quietly instead of generating on for nobody.

/** Thrown by a closed output's write; main() exits quietly on it. */
export class OutputClosedError extends Error {
  constructor() {
    super('standard output was closed');
    this.name = 'OutputClosedError';
  }
}

/**
 * process.stdout as a sink whose write throws OutputClosedError once the pipe has failed. Writes to
 * a pipe are synchronous on Linux, so a failed write marks the stream errored at once, while the
 * 'error' event only arrives after the current synchronous loop (a whole generation) has finished.
 */
export function stdoutSink(): { write(text: string): boolean } {
  return {
    write(text: string): boolean {
      if (process.stdout.errored || process.stdout.destroyed) throw new OutputClosedError();
      return process.stdout.write(text);
    },
  };
}
