// `npm run bench`: the performance figures of DESIGN.md section 10, measured in one run on this
// machine against both simulators, written to bench/results/latest.json and to the "Benchmark"
// section of docs/benchmarks.md (the mapping section written by bench/mapping-bench.ts is left alone).
//
//   npm run bench [-- --records N] [--quick] [--only pipeline|ingress|mapping]
//
// Sections:
// - pipeline: end-to-end inbound throughput with the bundled apps (Cases created in the Salesforce
//   simulator → Outbound Messages → work orders created and correlated `synced`), write-back off,
//   against the bare 4-stage BullMQ ceiling measured right after on the same Redis; API calls per
//   record on both sides; peak RSS of each app.
// - ingress: the ingress alone (no workers competing for the 2 cores), loaded from a second process.
// - mapping: mapping throughput per core (bench/mapping-bench.ts).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createDispatchCase, deleteQueueKeys, PUBLISHED_CASE, startHarness, type Harness } from '../scripts/lib/broker-harness';
import { runIngressLoad } from './ingress-load-runner';
import { rssMb, root } from '../scripts/lib/app-processes';
import { cpuDelta, cpuSnapshot, type CpuSnapshot } from './cpu-sampler';
import { runRawPipeline } from './raw-pipeline-bench';
import { runMappingBench, type MappingBenchResult } from './mapping-bench';

type Section = 'pipeline' | 'ingress' | 'mapping';

interface Options {
  records: number;
  quick: boolean;
  only?: Section;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { records: 2000, quick: false };
  let recordsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') options.quick = true;
    else if (a === '--records') {
      options.records = Number(argv[++i]);
      recordsGiven = true;
    } else if (a.startsWith('--records=')) {
      options.records = Number(a.slice('--records='.length));
      recordsGiven = true;
    } else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (v !== 'pipeline' && v !== 'ingress' && v !== 'mapping') throw new Error(`--only takes pipeline, ingress or mapping, not ${v}`);
      options.only = v;
    } else throw new Error(`unknown option ${a} (use --records N, --quick, --only pipeline|ingress|mapping)`);
  }
  if (!Number.isInteger(options.records) || options.records < 1 || options.records > 100_000)
    throw new Error('--records must be an integer in 1..100000');
  if (options.quick && !recordsGiven) options.records = 200;
  return options;
}

const CONNECTION = 'demo';

// ---------------------------------------------------------------------------------------------
// Machine

interface Machine {
  cpu: string;
  cores: number;
  ram_gb: number;
  node: string;
  redis: string;
  postgresql: string;
  os: string;
}

async function machine(): Promise<Machine> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const info = await redis.info('server');
  redis.disconnect();
  const client = new pg.Client({ connectionString: process.env.DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' });
  let postgresql = 'unknown';
  try {
    await client.connect();
    postgresql = String((await client.query('SHOW server_version')).rows[0]?.server_version ?? 'unknown');
  } catch {
    // reported as unknown
  } finally {
    await client.end().catch(() => undefined);
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    ram_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    postgresql,
    os: `${os.type()} ${os.release()}`,
  };
}

// ---------------------------------------------------------------------------------------------
// End-to-end pipeline

interface PipelineResult {
  pipeline: {
    records: number;
    seconds: number;
    records_per_s: number;
    raw_bullmq_records_per_s: number;
    raw_bullmq_seconds: number;
    ratio: number;
    feed: string;
    /** CPU ms per synced record over the measured window: the apps, Redis and PostgreSQL. */
    broker_cpu_ms_per_record: number;
    /** The bare 4-stage pipeline's CPU ms per record (its stage processes and Redis), measured the same way. */
    bare_cpu_ms_per_record: number;
    /** bare ÷ broker: the share of the broker's CPU a bare pipeline needs. */
    cpu_ratio: number;
    cpu_ms_per_record: {
      apps: Record<string, number>;
      redis: number;
      postgresql: number;
      /** Not the broker's cost: the benchmark process (both simulators and the feeder), reported apart. */
      simulators_and_feeder: number;
    };
  };
  salesforce: { api_calls: number; api_calls_per_record: number; logins: number; by_endpoint: Record<string, number> };
  fieldnation: {
    calls: number;
    calls_per_work_order: number;
    token_requests: number;
    work_orders: number;
    by_route: Record<string, number>;
  };
  memory: { max_rss_mb: number; per_app_mb: Record<string, number> };
}

const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

async function syncedCount(h: Harness, ids: string[]): Promise<number> {
  return h.prisma.correlation.count({ where: { connectionId: CONNECTION, sfId: { in: ids }, state: 'synced' } });
}

async function runPipeline(options: Options): Promise<PipelineResult> {
  const n = options.records;
  const h = await startHarness({
    bundled: true,
    // Write-back off (as in the inbound-reliability e2e): a synced record costs its fetch, nothing else.
    caseObject: PUBLISHED_CASE,
    // A large org's allowance, so the fetcher's budget guard never spaces calls out during the run.
    salesforceSim: { outboundRetryBaseMs: 500, dailyApiRequests: 10_000_000 },
    // The Field Nation simulator has no rate limit here; the broker's own limiter (50/s in the demo
    // config) would otherwise be the figure measured.
    env: { FN_REQUESTS_PER_SECOND: '1000' },
  });
  const newCase = (subject: string) => createDispatchCase(h.sf, subject);
  try {
    // Warm-up: logins, token, JIT and connection pools, outside the measurement.
    const warm = Array.from({ length: 20 }, (_, i) => newCase(`Warm-up ${i}`));
    await h.waitFor('warm-up sync', async () => (await syncedCount(h, warm)) === warm.length, 60_000);
    await h.waitFor('quiet outbound', () => h.sf.outbound({ status: 'pending' }).length === 0, 30_000);
    h.sf.resetCounters();
    h.fn.resetCounters();

    const apps = [...h.apps.values()];
    const sampler = setInterval(() => apps.forEach((a) => rssMb(a)), 200);
    const ids: string[] = [];
    const appPids = () => Object.fromEntries(apps.map((a) => [a.name, a.child.pid]));
    const cpuBefore: CpuSnapshot = cpuSnapshot(appPids());
    const t0 = performance.now();
    // Created in chunks, yielding between them, the way dispatchers' saves arrive: the simulator's
    // Outbound Message sender batches whatever is pending (up to 100 per POST) while creation goes on.
    for (let i = 0; i < n; i++) {
      ids.push(newCase(`Bench ${i}`));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    // Polled every 250 ms with a plain count over this run's fresh database (the warm-up rows
    // subtracted): an IN list of every id, every 100 ms, cost the measured apps CPU on a 2-core machine.
    let done = 0;
    let lastProgress = performance.now();
    const deadline = performance.now() + Math.max(120_000, n * 150);
    while (done < n) {
      if (performance.now() > deadline) throw new Error(`timed out: ${done}/${n} synced`);
      await new Promise((r) => setTimeout(r, 250));
      done = (await h.prisma.correlation.count({ where: { connectionId: CONNECTION, state: 'synced' } })) - warm.length;
      if (performance.now() - lastProgress > 5_000) {
        process.stdout.write(`  ${done}/${n} synced\n`);
        lastProgress = performance.now();
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuDelta(cpuBefore, cpuSnapshot(appPids()));
    if ((await syncedCount(h, ids)) !== n) throw new Error('synced records are not the ones created');
    clearInterval(sampler);

    const sf = h.sf.counters();
    const fn = h.fn.counters();
    const fnCalls = fn.total - fn.tokenRequests;
    const workOrders = h.fn.listWorkOrders().filter((w) => ids.includes(String(w.incident_id))).length;
    const perApp = Object.fromEntries(apps.map((a) => [a.name, round(a.peakRssMb, 1)]));
    const result = {
      seconds,
      records_per_s: n / seconds,
      sf,
      fn,
      fnCalls,
      workOrders,
      perApp,
      cpu,
    };
    await h.stop();

    console.log(`  end-to-end: ${n} records in ${seconds.toFixed(1)} s; raw BullMQ pipeline next`);
    const raw = await runRawPipeline(n, 16);
    const perRecord = (ms: number) => round(ms / n, 2);
    const brokerCpu = Object.values(result.cpu.processes).reduce((a, b) => a + b, 0) + result.cpu.redis + result.cpu.postgresql;
    const bareCpu = raw.cpu.stages_ms + raw.cpu.redis_ms;
    return {
      pipeline: {
        records: n,
        seconds: round(result.seconds, 2),
        records_per_s: round(result.records_per_s, 1),
        raw_bullmq_records_per_s: round(raw.records_per_s, 1),
        raw_bullmq_seconds: round(raw.seconds, 2),
        ratio: round(result.records_per_s / raw.records_per_s, 3),
        feed: 'Cases created in the Salesforce simulator; its Outbound Message sender posts them to the ingress (up to 100 per POST)',
        broker_cpu_ms_per_record: perRecord(brokerCpu),
        bare_cpu_ms_per_record: perRecord(bareCpu),
        cpu_ratio: round(bareCpu / brokerCpu, 3),
        cpu_ms_per_record: {
          apps: Object.fromEntries(Object.entries(result.cpu.processes).map(([app, ms]) => [app, perRecord(ms)])),
          redis: perRecord(result.cpu.redis),
          postgresql: perRecord(result.cpu.postgresql),
          simulators_and_feeder: perRecord(result.cpu.self),
        },
      },
      salesforce: {
        api_calls: result.sf.apiCalls.total,
        api_calls_per_record: round(result.sf.apiCalls.total / n, 3),
        logins: result.sf.logins.total,
        by_endpoint: result.sf.apiCalls.byEndpoint,
      },
      fieldnation: {
        calls: result.fnCalls,
        calls_per_work_order: round(result.fnCalls / Math.max(1, result.workOrders), 3),
        token_requests: result.fn.tokenRequests,
        work_orders: result.workOrders,
        by_route: Object.fromEntries(Object.entries(result.fn.routes).map(([k, v]) => [k, v.calls])),
      },
      memory: { max_rss_mb: Math.max(...Object.values(result.perApp)), per_app_mb: result.perApp },
    };
  } catch (err) {
    await h.stop().catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Ingress

interface IngressResult {
  ack_p50_ms: number;
  ack_p99_ms: number;
  ack_max_ms: number;
  offered_messages_per_s: number;
  messages_per_s_batch1: number;
  notifications_per_s_batch100: number;
  connections: number;
  failed: number;
  peak_rss_mb: number;
  /** bench/bare-ack-server.ts (parse and ack, nothing stored) under the same load, same run. */
  reference_messages_per_s_batch1: number;
  reference_notifications_per_s_batch100: number;
  /** bench/soap-ack-server.ts: the same endpoint served by the `soap` package from the ingress's WSDL, nothing stored. */
  soap_reference_messages_per_s_batch1?: number;
  soap_reference_notifications_per_s_batch100?: number;
  /** The ingress's throughput as a share of the bare parse-and-ack reference. */
  ratio_batch1: number;
  ratio_batch100: number;
}

/** bench/bare-ack-server.ts (or soap-ack-server.ts) in its own process, as the ingress runs in its own. */
async function startBareAckServer(
  script: 'bare-ack-server.ts' | 'soap-ack-server.ts' = 'bare-ack-server.ts',
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', script)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
    child.once('exit', (code) => reject(new Error(`bare-ack-server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/ack`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Delete this run's jobs between load runs: Redis stays small and every run starts alike. */
async function clearQueues(h: Harness): Promise<void> {
  const redis = new Redis(h.redisUrl);
  await deleteQueueKeys(redis, h.queuePrefix);
  redis.disconnect();
}

async function runIngress(options: Options): Promise<IngressResult> {
  const seconds = options.quick ? 2 : 8;
  const connections = 16;
  // The ingress alone (plus both idle simulators): no workers competing for the 2 cores.
  const h = await startHarness({ bundled: true, apps: ['ingress'] });
  try {
    const app = h.apps.get('ingress')!;
    const sampler = setInterval(() => rssMb(app), 200);
    const url = h.outboundUrl;
    let idBase = 1_000_000;
    const run = async (args: { seconds: number; batch: number; rate?: number }) => {
      const r = await runIngressLoad({ url, connections, idBase, ...args });
      idBase = r.next_id;
      await clearQueues(h);
      return r;
    };
    await run({ seconds: options.quick ? 1 : 3, batch: 1 }); // warm-up (JIT, keep-alive sockets)
    const latency = await run({ seconds: options.quick ? 3 : 10, batch: 1, rate: 500 });
    const batch1 = await run({ seconds, batch: 1 });
    const batch100 = await run({ seconds, batch: 100 });
    clearInterval(sampler);
    await h.stop();

    // The same closed loops against servers that store nothing, each in its own process: a bare
    // parse-and-ack server (the machine's own ceiling for this flow), and the endpoint served by
    // `soap` from the WSDL (issue 14: would serving the ingress with it keep its figures?).
    const measureReference = async (script: 'bare-ack-server.ts' | 'soap-ack-server.ts') => {
      const server = await startBareAckServer(script);
      try {
        await runIngressLoad({ url: server.url, connections, idBase, seconds: options.quick ? 1 : 3, batch: 1 });
        return {
          batch1: await runIngressLoad({ url: server.url, connections, idBase, seconds, batch: 1 }),
          batch100: await runIngressLoad({ url: server.url, connections, idBase, seconds, batch: 100 }),
        };
      } finally {
        await server.stop();
      }
    };
    const reference = await measureReference('bare-ack-server.ts');
    const soapReference = await measureReference('soap-ack-server.ts');
    return {
      ack_p50_ms: round(latency.p50_ms, 2),
      ack_p99_ms: round(latency.p99_ms, 2),
      ack_max_ms: round(latency.max_ms, 2),
      offered_messages_per_s: round(latency.messages / latency.seconds, 1),
      messages_per_s_batch1: round(batch1.messages_per_s, 0),
      notifications_per_s_batch100: round(batch100.notifications_per_s, 0),
      connections,
      failed: latency.failed + batch1.failed + batch100.failed,
      peak_rss_mb: round(app.peakRssMb, 1),
      reference_messages_per_s_batch1: round(reference.batch1.messages_per_s, 0),
      reference_notifications_per_s_batch100: round(reference.batch100.notifications_per_s, 0),
      soap_reference_messages_per_s_batch1: round(soapReference.batch1.messages_per_s, 0),
      soap_reference_notifications_per_s_batch100: round(soapReference.batch100.notifications_per_s, 0),
      ratio_batch1: round(batch1.messages_per_s / reference.batch1.messages_per_s, 2),
      ratio_batch100: round(batch100.notifications_per_s / reference.batch100.notifications_per_s, 2),
    };
  } finally {
    await h.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Results {
  date: string;
  commit: string;
  options: { records: number; quick: boolean };
  duration_s?: number;
  machine: Machine;
  pipeline?: PipelineResult['pipeline'];
  salesforce?: PipelineResult['salesforce'];
  fieldnation?: PipelineResult['fieldnation'];
  memory?: PipelineResult['memory'];
  ingress?: IngressResult;
  mapping?: MappingBenchResult;
}

interface Row {
  figure: string;
  value: string;
  target: string;
  met?: boolean;
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function rows(r: Results): Row[] {
  const out: Row[] = [];
  if (r.pipeline) {
    out.push({
      figure: 'End-to-end records/s (Outbound Message → work order synced)',
      value: fmt(r.pipeline.records_per_s, 1),
      target: '—',
    });
    out.push({ figure: 'Bare 4-stage BullMQ pipeline records/s', value: fmt(r.pipeline.raw_bullmq_records_per_s, 1), target: '—' });
    out.push({ figure: 'Ratio end-to-end / bare BullMQ', value: fmt(r.pipeline.ratio, 3), target: '—' });
    if (r.pipeline.broker_cpu_ms_per_record !== undefined) {
      const c = r.pipeline.cpu_ms_per_record;
      for (const [app, ms] of Object.entries(c.apps))
        out.push({ figure: `CPU ms per synced record: ${app}`, value: fmt(ms, 2), target: '—' });
      out.push({ figure: 'CPU ms per synced record: Redis', value: fmt(c.redis, 2), target: '—' });
      out.push({ figure: 'CPU ms per synced record: PostgreSQL', value: fmt(c.postgresql, 2), target: '—' });
      out.push({
        figure: 'CPU ms per synced record: broker total (apps + Redis + PostgreSQL)',
        value: fmt(r.pipeline.broker_cpu_ms_per_record, 2),
        target: '≤ 7',
        met: r.pipeline.broker_cpu_ms_per_record <= 7,
      });
      out.push({
        figure: 'CPU ms per record: bare 4-stage pipeline (stages + Redis)',
        value: fmt(r.pipeline.bare_cpu_ms_per_record, 2),
        target: '—',
      });
      out.push({
        figure: 'CPU ratio bare / broker',
        value: fmt(r.pipeline.cpu_ratio, 3),
        target: '≥ 0.35',
        met: r.pipeline.cpu_ratio >= 0.35,
      });
      out.push({
        figure: "CPU ms per synced record: simulators + feeder (not the broker's)",
        value: fmt(c.simulators_and_feeder, 2),
        target: '—',
      });
    }
  }
  if (r.ingress) {
    out.push({ figure: 'Ack latency p50 at 500 messages/s (batch 1)', value: `${fmt(r.ingress.ack_p50_ms, 2)} ms`, target: '—' });
    out.push({
      figure: 'Ack latency p99 at 500 messages/s (batch 1)',
      value: `${fmt(r.ingress.ack_p99_ms, 2)} ms`,
      target: '≤ 20 ms',
      met: r.ingress.ack_p99_ms <= 20,
    });
    out.push({ figure: 'Messages/s, batch 1, 16 connections', value: fmt(r.ingress.messages_per_s_batch1), target: '—' });
    out.push({ figure: 'Notifications/s, batch 100, 16 connections', value: fmt(r.ingress.notifications_per_s_batch100), target: '—' });
    if (r.ingress.reference_messages_per_s_batch1 !== undefined) {
      out.push({
        figure: 'Reference: bare parse-and-ack (nothing stored), messages/s, batch 1',
        value: fmt(r.ingress.reference_messages_per_s_batch1),
        target: '—',
      });
      out.push({
        figure: 'Reference: bare parse-and-ack, notifications/s, batch 100',
        value: fmt(r.ingress.reference_notifications_per_s_batch100),
        target: '—',
      });
      if (r.ingress.soap_reference_messages_per_s_batch1 !== undefined) {
        out.push({
          figure: 'Reference: `soap` package serving the WSDL (nothing stored), messages/s, batch 1',
          value: fmt(r.ingress.soap_reference_messages_per_s_batch1),
          target: '—',
        });
        out.push({
          figure: 'Reference: `soap` package serving the WSDL, notifications/s, batch 100',
          value: fmt(r.ingress.soap_reference_notifications_per_s_batch100),
          target: '—',
        });
      }
      out.push({
        figure: 'Ingress / reference, batch 1 (stored vs not stored)',
        value: fmt(r.ingress.ratio_batch1, 2),
        target: '≥ 0.9',
        met: r.ingress.ratio_batch1 >= 0.9,
      });
      out.push({
        figure: 'Ingress / reference, batch 100',
        value: fmt(r.ingress.ratio_batch100, 2),
        target: '≥ 0.5',
        met: r.ingress.ratio_batch100 >= 0.5,
      });
    }
  }
  if (r.salesforce)
    out.push({
      figure: 'Salesforce API calls per synced record (logins excluded)',
      value: fmt(r.salesforce.api_calls_per_record, 3),
      target: '≤ 1.0',
      met: r.salesforce.api_calls_per_record <= 1.0,
    });
  if (r.fieldnation)
    out.push({
      figure: 'Field Nation calls per work order (token excluded; create + publish)',
      value: fmt(r.fieldnation.calls_per_work_order, 3),
      target: '—',
    });
  if (r.mapping) {
    out.push({
      figure: 'Mapping records/s per core, declarative',
      value: fmt(r.mapping.declarative_records_per_s),
      target: '≥ 200,000',
      met: r.mapping.declarative_records_per_s >= 200_000,
    });
    out.push({
      figure: 'Mapping records/s per core, JSONata-heavy (10 entries as JSONata)',
      value: fmt(r.mapping.jsonata_records_per_s),
      target: '—',
    });
    out.push({
      figure: 'Mapping records/s per core, Jsonnet (schedule and pay as two custom actions)',
      value: fmt(r.mapping.jsonnet_records_per_s),
      target: '≥ 2,000',
      met: r.mapping.jsonnet_records_per_s >= 2000,
    });
  }
  if (r.memory) {
    for (const [app, mb] of Object.entries(r.memory.per_app_mb))
      out.push({ figure: `Peak RSS ${app} (end-to-end run)`, value: `${fmt(mb, 1)} MB`, target: '≤ 200 MB', met: mb <= 200 });
  }
  if (r.ingress)
    out.push({
      figure: 'Peak RSS ingress (ingress load runs)',
      value: `${fmt(r.ingress.peak_rss_mb, 1)} MB`,
      target: '≤ 200 MB',
      met: r.ingress.peak_rss_mb <= 200,
    });
  return out;
}

const mark = (m: boolean | undefined) => (m === undefined ? '' : m ? 'yes' : '**no**');

function printTable(r: Results): void {
  const table = rows(r);
  const w = Math.max(...table.map((x) => x.figure.length));
  const v = Math.max(...table.map((x) => x.value.length));
  console.log(`\n${'figure'.padEnd(w)}  ${'value'.padStart(v)}  target     met`);
  for (const x of table)
    console.log(`${x.figure.padEnd(w)}  ${x.value.padStart(v)}  ${x.target.padEnd(9)}  ${x.met === undefined ? '' : x.met ? 'yes' : 'NO'}`);
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

function writeDoc(r: Results): string {
  const file = path.join(root, 'docs/benchmarks.md');
  const m = r.machine;
  const lines = [
    START,
    '## Benchmark (`npm run bench`)',
    '',
    `Measured ${r.date.slice(0, 10)} at commit ${r.commit}${r.options.quick ? ' (**--quick**: small sizes, not representative)' : ''}; ` +
      `${r.duration_s !== undefined ? `the run took ${fmt(r.duration_s)} s. ` : ''}Raw figures: \`bench/results/latest.json\`.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} logical CPUs, ${m.ram_gb} GB RAM, ${m.os}; Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgresql}.`,
    '',
    '| Figure | Value | Target | Met |',
    '|---|---:|---|---|',
    ...rows(r).map((x) => `| ${x.figure} | ${x.value} | ${x.target} | ${mark(x.met)} |`),
    '',
    '### How it is measured',
    '',
    `- **End-to-end** (${r.pipeline ? `${fmt(r.pipeline.records)} records` : '`--records`, default 2,000'}): the bundled apps (\`dist/apps/*/main.mjs\`, rebuilt first when`,
    '  missing or older than the sources) as child processes over real Redis and PostgreSQL, both simulators in the',
    '  benchmark process. Records are fed the realistic way: Cases are created in the Salesforce simulator and its',
    '  Outbound Message sender posts them to the ingress (up to 100 notifications per POST, one POST at a time per',
    '  Outbound Message definition, as Salesforce does), so the figure includes batching as Salesforce does it.',
    '  The clock runs from the first Case created until all are correlated in state `synced` (counted in the store).',
    '  Write-back is off (the Case config of the inbound-reliability e2e), each work order is published after create.',
    "  20 warm-up Cases are synced first (logins, tokens, pools, JIT), then the simulators' counters are reset.",
    "  The broker's Field Nation limiter is raised to 1,000 requests/s (`FN_REQUESTS_PER_SECOND`; the demo config has",
    "  50) and the simulator's daily API allowance to 10,000,000: the benchmark measures the broker, not the allowances.",
    '- **Bare BullMQ ceiling**: `bench/raw-pipeline-bench.ts`, 4 stages with no-op processors, each in its own process,',
    '  concurrency 16, same number of records, same Redis, right after the end-to-end run.',
    '- **Ingress**: the ingress app alone (only the ingress and Redis; both simulators idle in the benchmark process),',
    '  so that the workers do not compete for the 2 cores, loaded by `bench/ingress-load.ts` in a second process with',
    '  16 keep-alive connections: a 3 s warm-up, then ack latency in an open loop at 500 messages/s (batch 1, 10 s),',
    '  then closed loops of 8 s with batch 1 and batch 100. Each message is acknowledged only after its jobs are in',
    '  Redis. The queues are emptied after each run. The same closed loops then run against',
    '  `bench/bare-ack-server.ts` (Express, an XML parse, a fixed Ack, nothing stored: the flow a general-purpose tool',
    '  would build) in its own process, so the ingress is compared with what this machine does without storing.',
    '  And once more against `bench/soap-ack-server.ts`: the endpoint served by the `soap` package from the WSDL the',
    '  ingress publishes (its own envelope parse, nothing stored), to see what serving the ingress with `soap` would give.',
    "- **API calls**: the simulators' counters over the measured records; logins and OAuth token requests excluded.",
    '- **CPU per record**: utime + stime from /proc of each app process, of every `redis-server` process and of every',
    "  `postgres` process (plus the postmaster's reaped children, so a backend that exits during the window counts),",
    '  read right after the warm-up and again when the last record is synced; the difference divided by the records.',
    '  The broker total is apps + Redis + PostgreSQL. The bare pipeline is measured the same way (its four stage',
    '  processes and Redis, from the first job added to the last completed). The benchmark process itself (both',
    "  simulators and the feeder) is reported apart: it is not the broker's cost. Redis and PostgreSQL are the",
    "  machine's shared servers: nothing else may run during `npm run bench`.",
    '- **Memory**: RSS of each app from /proc, sampled every 200 ms during the end-to-end run.',
    '- **Mapping**: `runMappingBench()`, run first while the machine is idle (records per second of CPU time on one core; see the Mapping section).',
    END,
  ];
  const section = lines.join('\n');
  const existing = readFileSync(file, 'utf8');
  const next =
    existing.includes(START) && existing.includes(END)
      ? existing.slice(0, existing.indexOf(START)) + section + existing.slice(existing.indexOf(END) + END.length)
      : existing.replace('<!-- mapping:start -->', `${section}\n\n<!-- mapping:start -->`);
  writeFileSync(file, next);
  return file;
}

// ---------------------------------------------------------------------------------------------

const options = parseArgs(process.argv.slice(2));
const started = performance.now();
const wants = (s: Section) => !options.only || options.only === s;
const resultsFile = path.join(root, 'bench/results/latest.json');
// With --only, the other sections keep their previous figures.
const previous: Partial<Results> =
  options.only && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results) : {};
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
} catch {
  // not a git checkout
}
const results: Results = {
  ...previous,
  date: new Date().toISOString(),
  commit,
  options: { records: options.records, quick: options.quick },
  machine: await machine(),
};
delete results.duration_s;

// Mapping first: a single-core CPU figure, measured while this process is fresh and the machine idle
// (after the other sections it read 25-30 % lower: this process then holds both simulators' state).
if (wants('mapping')) {
  console.log('mapping: declarative, JSONata, Jsonnet');
  results.mapping = await runMappingBench({ seconds: options.quick ? 1 : 3 });
}
if (wants('pipeline')) {
  console.log(`pipeline: ${options.records} records end to end, then the bare BullMQ pipeline`);
  Object.assign(results, await runPipeline(options));
}
if (wants('ingress')) {
  console.log('ingress: ack latency at 500 messages/s, then maximum throughput with batch 1 and batch 100');
  results.ingress = await runIngress(options);
}
if (!options.only) results.duration_s = round((performance.now() - started) / 1000, 1);

mkdirSync(path.dirname(resultsFile), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
printTable(results);
console.log(
  `\nwritten to ${path.relative(root, resultsFile)} and ${path.relative(root, writeDoc(results))} in ${fmt((performance.now() - started) / 1000, 1)} s`,
);
process.exit(0);
