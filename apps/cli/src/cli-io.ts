/** Where a command writes. Commands never touch process.stdout directly, so tests can capture them. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Progress bars are drawn only on an interactive terminal (never into logs or pipes). */
  stderrIsTTY: boolean;
  /** The stream progress bars draw on. */
  progressStream?: NodeJS.WritableStream;
}

export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    progressStream: process.stderr,
  };
}

/** A failure the user can fix: printed without a stack trace, exit code 1 (or the one given). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
