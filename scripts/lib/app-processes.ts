// Start, watch and stop the broker's apps as child processes: used by the demo, the benchmark and
// the chaos run (which SIGKILLs and restarts them).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');

export const APPS = {
  ingress: { port: 'PORT', health: 3000 },
  'salesforce-fetcher': { port: 'OPS_PORT', health: 9101 },
  mapper: { port: 'OPS_PORT', health: 9102 },
  'fieldnation-writer': { port: 'OPS_PORT', health: 9103 },
  'salesforce-writer': { port: 'OPS_PORT', health: 9104 },
  dashboard: { port: 'PORT', health: 3100 },
} as const;

export type AppName = keyof typeof APPS;

/**
 * The NODE_OPTIONS the Docker image runs the apps with (read from the Dockerfile, so the bundled
 * apps measured by the benchmark and killed by the chaos run are configured as deployed).
 */
export function deployedNodeOptions(): string {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  return dockerfile.match(/^ENV\b.*\bNODE_OPTIONS="([^"]*)"/m)?.[1] ?? '';
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Build the apps' bundles (dist/apps, what the Docker image runs) when one is missing or older than
 * the sources: figures and memory limits measured on bundled apps are never those of stale ones.
 */
export function ensureBundles(apps: readonly AppName[]): void {
  const sources = [
    ...readdirSync(path.join(root, 'libs')).map((l) => path.join(root, 'libs', l, 'src')),
    ...apps.map((a) => path.join(root, 'apps', a, 'src')),
  ].filter((d) => existsSync(d));
  const newestSource = Math.max(...sources.map(newestMtime));
  const stale = apps.filter((a) => {
    const bundle = path.join(root, 'dist/apps', a, 'main.mjs');
    return !existsSync(bundle) || statSync(bundle).mtimeMs < newestSource;
  });
  if (stale.length === 0) return;
  console.log(`building ${stale.join(', ')} (dist missing or older than the sources)`);
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/build-apps.ts'), ...stale], { cwd: root, stdio: 'inherit' });
}

export interface AppProcess {
  name: AppName;
  port: number;
  child: ChildProcess;
  /** Peak resident set size seen by `sampleRss` (MB). */
  peakRssMb: number;
  output: string[];
}

export interface StartOptions {
  env: NodeJS.ProcessEnv;
  port?: number;
  /** Run the esbuild bundle (dist/apps) instead of the TypeScript source through tsx. */
  bundled?: boolean;
  /** Forward output to this process's stdout with a prefix. */
  echo?: boolean;
}

export function startApp(name: AppName, options: StartOptions): AppProcess {
  const port = options.port ?? APPS[name].health;
  const bundle = path.join(root, 'dist/apps', name, 'main.mjs');
  if (options.bundled && !existsSync(bundle)) throw new Error(`${path.relative(root, bundle)} is missing: build it first (ensureBundles)`);
  // APP_NODE_ARGS passes flags Node refuses in NODE_OPTIONS (e.g. --cpu-prof) to every app started here.
  const nodeArgs = (process.env.APP_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = [...nodeArgs, ...(options.bundled ? [bundle] : ['--import', 'tsx', path.join(root, 'apps', name, 'src/main.ts')])];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      ...(options.bundled ? { NODE_OPTIONS: deployedNodeOptions() } : {}),
      ...options.env,
      [APPS[name].port]: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const app: AppProcess = { name, port, child, peakRssMb: 0, output: [] };
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    app.output.push(text);
    if (app.output.length > 200) app.output.shift();
    if (options.echo) for (const line of text.split('\n').filter(Boolean)) process.stdout.write(`[${name}] ${line}\n`);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return app;
}

export async function waitReady(app: AppProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (app.child.exitCode !== null) throw new Error(`${app.name} exited with ${app.child.exitCode}:\n${app.output.join('').slice(-3000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${app.name} not ready after ${timeoutMs} ms:\n${app.output.join('').slice(-3000)}`);
}

export async function stopApp(app: AppProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return app.child.exitCode;
  const exited = new Promise<number | null>((resolve) => app.child.once('exit', (code) => resolve(code)));
  app.child.kill(signal);
  const timer = setTimeout(() => app.child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Resident memory of a child in MB, from /proc (Linux). */
export function rssMb(app: AppProcess): number {
  try {
    const status = readFileSync(`/proc/${app.child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const mb = kb / 1024;
    app.peakRssMb = Math.max(app.peakRssMb, mb);
    return mb;
  } catch {
    return 0;
  }
}
