// Issue 14 item 10: the ingress against the same endpoint served through `soap`
// (bench/soap-ingress-server.ts), same machine, same run, same load generator (bench/ingress-load.ts
// in its own process). Both servers are esbuild bundles run with the Docker image's NODE_OPTIONS,
// both store one sf.fetch job per notification in the same Redis before answering. Rounds alternate
// which server goes first (the machine is shared), and the medians are compared.
//   node --import tsx bench/soap-compare.ts [rounds=5] [seconds=8]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { deployedNodeOptions, root } from '../scripts/lib/app-processes';
import { deleteQueueKeys, startHarness } from '../scripts/lib/broker-harness';
import { runIngressLoad, type LoadResult } from './ingress-load-runner';

const rounds = Number(process.argv[2] ?? 5);
const seconds = Number(process.argv[3] ?? 8);
const connections = 16;

const esbuildOptions = (entry: string, outfile: string) => ({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node' as const,
  format: 'esm' as const,
  target: 'node20',
  packages: 'external' as const,
  tsconfig: path.join(root, 'tsconfig.base.json'),
  logLevel: 'warning' as const,
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
  },
});
await build(esbuildOptions(path.join(root, 'apps/ingress/src/main.ts'), path.join(root, 'dist/apps/ingress/main.mjs')));
const soapBundle = path.join(root, 'dist/bench/soap-ingress-server.mjs');
await build(esbuildOptions(path.join(root, 'bench/soap-ingress-server.ts'), soapBundle));

let idBase = 1_000_000;
async function load(url: string, batch: number, secs: number): Promise<LoadResult> {
  const r = await runIngressLoad({ url, connections, seconds: secs, batch, idBase });
  idBase = r.next_id;
  return r;
}

const h = await startHarness({ bundled: true, apps: ['ingress'] });
const soapPrefix = `${h.queuePrefix}s`;
const soapChild = spawn(process.execPath, [soapBundle], {
  cwd: root,
  env: { ...process.env, ...h.env, NODE_OPTIONS: deployedNodeOptions(), QUEUE_PREFIX: soapPrefix },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const soapPort = await new Promise<number>((resolve, reject) => {
  soapChild.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
  soapChild.once('exit', (code) => reject(new Error(`soap-ingress-server exited with ${code}`)));
});
const token = h.env.SF_OM_PATH_TOKEN!;
const targets = {
  ingress: { url: h.outboundUrl, pid: h.apps.get('ingress')!.child.pid! },
  soap: { url: `http://127.0.0.1:${soapPort}/salesforce/outbound/demo/${token}`, pid: soapChild.pid! },
};

const redis = new Redis(h.redisUrl);
async function clearQueues(): Promise<void> {
  for (const prefix of [h.queuePrefix, soapPrefix]) await deleteQueueKeys(redis, prefix);
}
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

type Name = keyof typeof targets;
const runs: {
  round: number;
  server: Name;
  batch: number;
  messages_per_s: number;
  notifications_per_s: number;
  p50_ms: number;
  p99_ms: number;
  failed: number;
  rss_mb: number;
}[] = [];
try {
  // Warm-up: JIT, keep-alive sockets, Redis scripts loaded.
  for (const name of ['ingress', 'soap'] as Name[]) for (const batch of [1, 100]) await load(targets[name].url, batch, 3).then(clearQueues);
  for (let round = 0; round < rounds; round++) {
    const order: Name[] = round % 2 === 0 ? ['ingress', 'soap'] : ['soap', 'ingress'];
    for (const batch of [1, 100]) {
      for (const name of order) {
        const r = await load(targets[name].url, batch, seconds);
        runs.push({
          round,
          server: name,
          batch,
          messages_per_s: r.messages_per_s,
          notifications_per_s: r.notifications_per_s,
          p50_ms: r.p50_ms,
          p99_ms: r.p99_ms,
          failed: r.failed,
          rss_mb: rssMb(targets[name].pid),
        });
        process.stderr.write(
          `round ${round} ${name} batch ${batch}: ${Math.round(r.messages_per_s)} msg/s, ${Math.round(r.notifications_per_s)} notif/s, p50 ${r.p50_ms.toFixed(2)} ms, p99 ${r.p99_ms.toFixed(2)} ms, failed ${r.failed}\n`,
        );
        await clearQueues();
      }
    }
  }
} finally {
  soapChild.kill('SIGTERM');
  redis.disconnect();
  await h.stop();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const summary: Record<string, unknown> = {};
for (const batch of [1, 100]) {
  const pick = (name: Name) => runs.filter((r) => r.server === name && r.batch === batch);
  const key = batch === 1 ? 'messages_per_s' : 'notifications_per_s';
  const ingress = median(pick('ingress').map((r) => r[key]));
  const soap = median(pick('soap').map((r) => r[key]));
  // Per round: soap ÷ ingress of the same round (neighbouring runs see the same machine load).
  const perRound = Array.from({ length: rounds }, (_, round) => {
    const a = pick('ingress').find((r) => r.round === round)![key];
    const b = pick('soap').find((r) => r.round === round)![key];
    return b / a;
  });
  summary[`batch${batch}`] = {
    figure: key,
    ingress_median: Math.round(ingress),
    soap_median: Math.round(soap),
    soap_vs_ingress: +(soap / ingress).toFixed(3),
    per_round_ratio_median: +median(perRound).toFixed(3),
    per_round_ratios: perRound.map((x) => +x.toFixed(3)),
    ingress_p50_ms_median: +median(pick('ingress').map((r) => r.p50_ms)).toFixed(2),
    soap_p50_ms_median: +median(pick('soap').map((r) => r.p50_ms)).toFixed(2),
    ingress_p99_ms_median: +median(pick('ingress').map((r) => r.p99_ms)).toFixed(2),
    soap_p99_ms_median: +median(pick('soap').map((r) => r.p99_ms)).toFixed(2),
  };
}
summary.failed = runs.reduce((n, r) => n + r.failed, 0);
summary.rss_mb_max = {
  ingress: +Math.max(...runs.filter((r) => r.server === 'ingress').map((r) => r.rss_mb)).toFixed(1),
  soap: +Math.max(...runs.filter((r) => r.server === 'soap').map((r) => r.rss_mb)).toFixed(1),
};
summary.machine = {
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  node: process.version,
  loadavg: os.loadavg().map((x) => +x.toFixed(2)),
};
summary.method = { rounds, seconds, connections, order: 'alternating per round' };
process.stdout.write(`${JSON.stringify({ summary, runs })}\n`);
