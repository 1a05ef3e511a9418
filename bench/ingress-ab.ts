// Alternating A/B runs for the ingress on a shared machine: one or more ingress bundles and the bare
// parse-and-ack reference (bench/bare-ack-server.ts, started as `npm run bench` starts it), loaded in
// turn by bench/ingress-load.ts with the same closed loops, round after round, the order rotated each
// round. Neighbouring runs see the same machine load, so per-round ratios are what to compare; the
// CPU each server process and Redis spent per notification is reported beside the rates.
//
//   node --import tsx bench/ingress-ab.ts [--rounds 5] [--seconds 6] [--batches 1,100]
//        [--variant name=dist/apps/ingress/other.mjs[:--node-flag,...] ...]   (default: dist/apps/ingress/main.mjs)
//
// The bundles are run as they are (build first: `node --import tsx scripts/build-apps.ts ingress`);
// each variant is its own ingress process, with the Docker image's NODE_OPTIONS, on its own queue prefix.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { deployedNodeOptions, root } from '../scripts/lib/app-processes';
import { deleteQueueKeys, freePort, startHarness } from '../scripts/lib/broker-harness';
import { cpuDelta, cpuSnapshot } from './cpu-sampler';
import { runIngressLoad, type LoadResult } from './ingress-load-runner';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1]!;
};
const rounds = Number(opt('rounds', '5'));
const seconds = Number(opt('seconds', '6'));
const batches = opt('batches', '1,100').split(',').map(Number);
const variants: { name: string; bundle: string; flags: string[] }[] = [];
argv.forEach((a, i) => {
  if (a !== '--variant') return;
  const arg = argv[i + 1]!;
  const name = arg.slice(0, arg.indexOf('='));
  const [file, flags] = arg.slice(name.length + 1).split(':') as [string, string | undefined];
  variants.push({ name, bundle: path.resolve(root, file), flags: flags ? flags.split(',') : [] });
});
if (variants.length === 0) variants.push({ name: 'ingress', bundle: path.join(root, 'dist/apps/ingress/main.mjs'), flags: [] });
const connections = 16;

const h = await startHarness({ bundled: true, apps: [] });
const redis = new Redis(h.redisUrl);
const children: ChildProcess[] = [];

interface Target {
  name: string;
  url: string;
  pid: number;
  prefix?: string;
}

async function startIngress(v: { name: string; bundle: string; flags: string[] }, n: number): Promise<Target> {
  const port = await freePort();
  const prefix = `${h.queuePrefix}v${n}`;
  const nodeArgs = (process.env.APP_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...v.flags, v.bundle], {
    cwd: root,
    env: {
      ...process.env,
      ...h.env,
      NODE_OPTIONS: deployedNodeOptions(),
      PORT: String(port),
      OPS_PORT: String(await freePort()),
      QUEUE_PREFIX: prefix,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${v.name} did not get ready`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: v.name, url: `http://127.0.0.1:${port}/salesforce/outbound/demo/${h.env.SF_OM_PATH_TOKEN}`, pid: child.pid!, prefix };
}

async function startBare(): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/bare-ack-server.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
  return { name: 'bare', url: `http://127.0.0.1:${port}/ack`, pid: child.pid! };
}

let idBase = 1_000_000;
async function load(t: Target, batch: number, secs: number): Promise<{ r: LoadResult; cpuMs: number; redisMs: number }> {
  const before = cpuSnapshot({ server: t.pid });
  const r = await runIngressLoad({ url: t.url, connections, seconds: secs, batch, idBase });
  const cpu = cpuDelta(before, cpuSnapshot({ server: t.pid }));
  idBase = r.next_id;
  if (t.prefix) await deleteQueueKeys(redis, t.prefix);
  return { r, cpuMs: cpu.processes.server!, redisMs: cpu.redis };
}

const runs: {
  round: number;
  target: string;
  batch: number;
  rate: number;
  p99: number;
  failed: number;
  cpu_us: number;
  redis_us: number;
}[] = [];
try {
  const targets: Target[] = [];
  for (const [i, v] of variants.entries()) targets.push(await startIngress(v, i));
  targets.push(await startBare());
  for (const t of targets) for (const batch of batches) await load(t, batch, 2);
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const batch of batches) {
      for (const t of order) {
        const { r, cpuMs, redisMs } = await load(t, batch, seconds);
        const rate = batch === 1 ? r.messages_per_s : r.notifications_per_s;
        const row = {
          round,
          target: t.name,
          batch,
          rate: Math.round(rate),
          p99: +r.p99_ms.toFixed(1),
          failed: r.failed,
          cpu_us: Math.round((cpuMs * 1000) / Math.max(1, r.notifications)),
          redis_us: Math.round((redisMs * 1000) / Math.max(1, r.notifications)),
        };
        runs.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      }
    }
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  redis.disconnect();
  await h.stop();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const batch of batches) {
  for (const v of variants) {
    const ratios = Array.from({ length: rounds }, (_, round) => {
      const a = runs.find((r) => r.round === round && r.batch === batch && r.target === v.name)!;
      const b = runs.find((r) => r.round === round && r.batch === batch && r.target === 'bare')!;
      return a.rate / b.rate;
    });
    const mine = runs.filter((r) => r.batch === batch && r.target === v.name);
    const bare = runs.filter((r) => r.batch === batch && r.target === 'bare');
    console.log(
      `batch ${batch} ${v.name}: ratio median ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(' ')}); ` +
        `rate ${median(mine.map((r) => r.rate))} vs bare ${median(bare.map((r) => r.rate))}; ` +
        `server CPU µs/notification ${median(mine.map((r) => r.cpu_us))} vs bare ${median(bare.map((r) => r.cpu_us))}; ` +
        `Redis µs/notification ${median(mine.map((r) => r.redis_us))}; p99 ${median(mine.map((r) => r.p99))} ms; failed ${mine.reduce((n, r) => n + r.failed, 0)}`,
    );
  }
}
console.log(
  `machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, loadavg ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
process.exit(0);
