// The ceiling: a bare 4-stage BullMQ pipeline with no-op processors on the same Redis, each stage in
// its own process like the broker's apps. Run as `tsx bench/raw-pipeline-bench.ts '{"records":N}'`
// (the parent) which spawns the stage processes itself.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { cpuDelta, cpuSnapshot } from './cpu-sampler';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const stages = ['raw.1', 'raw.2', 'raw.3', 'raw.4'];

if (process.argv[2] === 'stage') {
  const index = Number(process.argv[3]);
  const prefix = process.argv[4]!;
  const concurrency = Number(process.argv[5]);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const next = index < stages.length - 1 ? new Queue(stages[index + 1]!, { connection, prefix }) : undefined;
  const worker = new Worker(
    stages[index]!,
    async (job) => {
      if (next) await next.add('n', job.data, { jobId: job.id!, removeOnComplete: true });
      return null;
    },
    { connection, prefix, concurrency, removeOnComplete: { count: 0 } },
  );
  await worker.waitUntilReady();
  process.send?.('ready');
  process.on('message', async (m) => {
    if (m === 'stop') {
      await worker.close();
      await next?.close();
      connection.disconnect();
      process.exit(0);
    }
  });
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { records = 2000, concurrency = 16 } = JSON.parse(process.argv[2] ?? '{}') as { records?: number; concurrency?: number };
  console.log(JSON.stringify(await runRawPipeline(records, concurrency)));
}

export interface RawPipelineResult {
  records: number;
  seconds: number;
  records_per_s: number;
  /** CPU ms over the measured window: the four stage processes, Redis, and the feeding process. */
  cpu: { stages_ms: number; redis_ms: number; feeder_ms: number };
}

export async function runRawPipeline(records: number, concurrency = 16): Promise<RawPipelineResult> {
  const prefix = `rawbench${Date.now()}`;
  const children = stages.map((_, i) =>
    fork(fileURLToPath(import.meta.url), ['stage', String(i), prefix, String(concurrency)], {
      execArgv: ['--import', 'tsx'],
      stdio: 'ignore',
    }),
  );
  await Promise.all(children.map((c) => new Promise((r) => c.once('message', r))));
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const first = new Queue(stages[0]!, { connection, prefix });
  // From the stream's start (the prefix is new): read from '$', the first completions could come before
  // the first XREAD and the count would never reach `records` (the run hung on a quiet machine).
  const last = new QueueEvents(stages.at(-1)!, {
    connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
    prefix,
    lastEventId: '0-0',
  });
  await last.waitUntilReady();
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    last.on('completed', () => {
      if (++done === records) resolve();
    });
  });
  const stagePids = Object.fromEntries(children.map((c, i) => [`stage${i}`, c.pid]));
  const cpuBefore = cpuSnapshot(stagePids);
  const t0 = performance.now();
  for (let i = 0; i < records; i += 500) {
    await first.addBulk(
      Array.from({ length: Math.min(500, records - i) }, (_, k) => ({
        name: 'n',
        data: { i: i + k, payload: 'x'.repeat(200) },
        opts: { jobId: `r-${i + k}`, removeOnComplete: true },
      })),
    );
  }
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuDelta(cpuBefore, cpuSnapshot(stagePids));
  for (const c of children) c.send('stop');
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
  for (const s of stages) {
    const q = new Queue(s, { connection, prefix });
    await q.obliterate({ force: true });
    await q.close();
  }
  await last.close();
  await first.close();
  connection.disconnect();
  return {
    records,
    seconds,
    records_per_s: records / seconds,
    cpu: { stages_ms: Object.values(cpu.processes).reduce((a, b) => a + b, 0), redis_ms: cpu.redis, feeder_ms: cpu.self },
  };
}
