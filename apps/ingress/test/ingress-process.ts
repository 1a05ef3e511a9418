import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const main = path.resolve(import.meta.dirname, '../src/main.ts');

export interface IngressProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: string[];
  exited: Promise<number | null>;
}

/**
 * The ingress as deployed: its main.ts in a child process, with `env` (and PATH) as its whole
 * environment, on 127.0.0.1 and logging at info unless `env` says otherwise.
 */
export function spawnIngressMain(env: Record<string, string>): IngressProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** Resolves once `url` answers 2xx; fails with the process's output if it exits first or takes longer. */
export async function waitUntilServing(url: string, ingress: IngressProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ingress.child.exitCode !== null) throw new Error(`the ingress exited with ${ingress.child.exitCode}:\n${ingress.output.join('')}`);
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${ingress.output.join('')}`);
}
