// bench/ingress-load.ts in its own process, so that the load generator has its own core and the
// ingress under test its own: the benchmark and the soap comparison both measure through this.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { root } from '../scripts/lib/app-processes';

/** The organization id of config/demo.yaml (SF_ORG_ID default): the ingress accepts this org's messages only. */
export const ORG_ID = '00D000000000001EAA';

export interface LoadArgs {
  url: string;
  connections: number;
  seconds: number;
  batch: number;
  /** Open loop at this many messages a second; default: closed loop, as fast as the server answers. */
  rate?: number;
  /** First notification number: runs against the same Redis must not repeat ids (the ingress dedupes them). */
  idBase: number;
}

export interface LoadResult {
  messages: number;
  failed: number;
  notifications: number;
  seconds: number;
  messages_per_s: number;
  notifications_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  next_id: number;
}

export function runIngressLoad(args: LoadArgs): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'bench/ingress-load.ts'), JSON.stringify({ ...args, orgId: ORG_ID })],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (args.seconds + 60) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || !line) return reject(new Error(`ingress-load exited with ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(line) as LoadResult);
    });
  });
}
