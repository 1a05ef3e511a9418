import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface RedisServerOptions {
  port: number;
  /** Where the server keeps its files (AOF, cluster config): a temporary folder of the caller's. */
  dir: string;
  /** More redis-server arguments (persistence, cluster mode). */
  args?: string[];
  /** How long it may take to answer PING; default 10 s. */
  readyTimeoutMs?: number;
}

/**
 * A private redis-server of this machine on 127.0.0.1, for tests and runs that must stop, kill or
 * reconfigure their Redis (the shared one on 6379 is never touched). Resolves once it answers PING.
 * RDB snapshots are off: a caller that wants persistence asks for AOF in `args`.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<ChildProcess> {
  const { port, dir, args = [], readyTimeoutMs = 10_000 } = options;
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args], {
    stdio: 'ignore',
  });
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `exited (${signal ?? code})`));
  child.once('error', (err) => (exit = err.message));
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await answersPing(port))) {
    if (exit || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not start: ${exit ?? `no PONG after ${readyTimeoutMs} ms`}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
