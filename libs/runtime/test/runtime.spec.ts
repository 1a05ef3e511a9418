import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { defineQueue, enqueue, jobId } from '@broker/contracts';
import {
  createLogger,
  createProducerConnection,
  tryLock,
  tryLockReading,
  createShutdown,
  createWorkerConnection,
  EnvError,
  openQueue,
  parseEnv,
  baseEnvSchema,
  redactText,
  startOpsServer,
  startWorker,
  UnrecoverableError,
  type StageRow,
} from '@broker/runtime';
import { redisUrl } from '@broker/testing';
import { runTestWorker } from './runtime-test-kit';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function captureLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ service: 'test', level: 'debug', destination }) };
}

describe('env parsing', () => {
  it('names every bad key', () => {
    const schema = baseEnvSchema.extend({ PORT: z.coerce.number().int().positive() });
    try {
      parseEnv(schema, { REDIS_URL: 'not a url', PORT: 'abc', QUEUE_PREFIX: 'a:b' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EnvError);
      const keys = (err as EnvError).issues.map((i) => i.key).sort();
      expect(keys).toEqual(['PORT', 'QUEUE_PREFIX', 'REDIS_URL']);
    }
  });
  it('applies defaults', () => {
    expect(parseEnv(baseEnvSchema, {}).QUEUE_PREFIX).toBe('broker');
  });

  const runLoadEnv = (env: Record<string, string>) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !['REDIS_URL', 'QUEUE_PREFIX', 'PORT', 'LOG_LEVEL', 'NODE_ENV', 'SHUTDOWN_TIMEOUT_MS'].includes(k),
      ),
    );
    return spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/load-env.ts')], {
      cwd: root,
      env: { ...clean, ...env },
      encoding: 'utf8',
      timeout: 15_000,
    });
  };

  it('loadEnv exits 78 (EX_CONFIG) naming every bad key on stderr', () => {
    const run = runLoadEnv({ REDIS_URL: 'not a url', PORT: 'abc', QUEUE_PREFIX: 'ok' });
    expect(run.status).toBe(78);
    expect(run.stdout).not.toContain('loaded');
    expect(run.stderr).toMatch(/^\s+REDIS_URL: /m);
    expect(run.stderr).toMatch(/^\s+PORT: /m);
    expect(run.stderr).not.toMatch(/QUEUE_PREFIX/);
  });

  it('loadEnv returns the parsed env when it is good', () => {
    const run = runLoadEnv({ PORT: '8080', QUEUE_PREFIX: 'p1' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('loaded p1 8080\n');
    expect(run.status).toBe(0);
  });
});

describe('logger', () => {
  it('redacts secrets at any of the usual places and keeps service identity', () => {
    const { lines, logger } = captureLogger();
    logger.info(
      { password: 'hunter2', auth: { clientSecret: 'cs-123', username: 'u' }, conn: { auth: { access_token: 'tok-9' } } },
      'login',
    );
    logger.child({ jobId: 'j1' }).info({ req: { headers: { authorization: 'Bearer abc' } } }, 'request');
    const out = lines.join('');
    expect(out).not.toMatch(/hunter2|cs-123|tok-9|Bearer abc/);
    expect(out).toContain('[REDACTED]');
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'test', auth: { username: 'u' } });
    expect(JSON.parse(lines[1]!)).toMatchObject({ jobId: 'j1' });
  });

  it('redacts secrets anywhere in a logged error: message, stack, cause and nested request config', () => {
    const { lines, logger } = captureLogger();
    const cause = new Error('login failed for password=hunter2');
    const err = Object.assign(
      new Error('GET https://fn.example/api?access_token=tok-url-1 failed: {"access_token":"tok-body-2","expires_in":3600}', { cause }),
      {
        status: 401,
        config: { url: 'https://fn.example/api', headers: { authorization: 'Bearer tok-hdr-3', accept: 'application/json' } },
        response: {
          config: { headers: { Authorization: 'Basic dXNlcjpwdw==' } },
          data: { error: 'invalid_grant', refresh_token: 'tok-deep-4' },
        },
      },
    );
    logger.error({ err }, 'request failed');
    logger.error(err, 'first argument');
    logger.warn({ err: { message: 'Bearer tok-plain-5 rejected', name: 'Error' } }, 'plain error object');

    const out = lines.join('');
    expect(out).not.toMatch(/hunter2|tok-url-1|tok-body-2|tok-hdr-3|dXNlcjpwdw|tok-deep-4|tok-plain-5/);
    const line = JSON.parse(lines[0]!);
    expect(line.err).toMatchObject({
      type: 'Error',
      status: 401,
      config: { url: 'https://fn.example/api', headers: { authorization: '[REDACTED]', accept: 'application/json' } },
      response: { config: { headers: { Authorization: '[REDACTED]' } }, data: { error: 'invalid_grant', refresh_token: '[REDACTED]' } },
    });
    expect(line.err.message).toContain('access_token=[REDACTED] failed');
    expect(line.err.message).toContain('"expires_in":3600');
    expect(line.err.message).toContain(': login failed for password=[REDACTED]');
    expect(line.err.stack).toContain('caused by: Error: login failed for password=[REDACTED]');
    expect(JSON.parse(lines[1]!).err.config.headers.authorization).toBe('[REDACTED]');
    // The error itself is left as it was: a retry may reuse its request config.
    expect(err.config.headers.authorization).toBe('Bearer tok-hdr-3');
  });

  it('survives a circular error', () => {
    const { lines, logger } = captureLogger();
    const err = Object.assign(new Error('loop'), { self: undefined as unknown, when: new Date(0) });
    err.self = err;
    logger.error({ err }, 'circular');
    expect(JSON.parse(lines[0]!).err).toMatchObject({ message: 'loop', when: '1970-01-01T00:00:00.000Z' });
  });
});

describe('redactText', () => {
  it.each([
    ['https://x/token?client_secret=s3cr3t&grant_type=password', 'https://x/token?client_secret=[REDACTED]&grant_type=password'],
    ['body {"password": "p\\"w", "user": "u"}', 'body {"password": "[REDACTED]", "user": "u"}'],
    ['Authorization: Bearer abc.def-ghi', 'Authorization: Bearer [REDACTED]'],
    ['<urn:sessionId>00D!AQ</urn:sessionId>', '<urn:sessionId>[REDACTED]</urn:sessionId>'],
    ['nothing secret here', 'nothing secret here'],
  ])('%s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });
});

describe('worker bootstrap (real Redis)', () => {
  const contract = defineQueue(
    'test.echo',
    { echo: z.object({ text: z.string().min(1) }) },
    { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
  );

  it('runs a typed handler and rejects a bad payload without retrying it', async () => {
    const prefix = `t${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
    const { logger } = captureLogger();
    const seen: string[] = [];
    const { queue, events } = await runTestWorker(cleanups, contract, prefix, (connection) =>
      startWorker(
        contract,
        {
          echo: async (job) => {
            seen.push(job.data.text);
            return job.data.text.toUpperCase();
          },
        },
        {},
        { connection, prefix, logger },
      ),
    );

    const good = await enqueue(queue, 'echo', { text: 'hi' }, { jobId: jobId('echo', 1) });
    expect(await good.waitUntilFinished(events, 10_000)).toBe('HI');
    // Same job id again: collapsed by BullMQ (still the completed job).
    const again = await enqueue(queue, 'echo', { text: 'hi' }, { jobId: jobId('echo', 1) });
    expect(again.id).toBe(good.id);

    // The producer helper refuses a bad payload; one that reached Redis anyway fails at once.
    await expect(enqueue(queue, 'echo', { text: '' }, { jobId: 'bad-1' })).rejects.toThrow(/text/);
    const smuggled = await queue.add('echo', { text: 42 } as never, { jobId: 'bad-2' });
    await expect(smuggled.waitUntilFinished(events, 10_000)).rejects.toThrow(/invalid test.echo\/echo payload/);
    const failed = await queue.getJob('bad-2');
    expect(failed?.attemptsMade).toBe(1);
    expect(seen).toEqual(['hi']);
  });

  it("writes a deferred timeline row with the job's next one, else before the job completes or fails", async () => {
    const prefix = `t${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
    const { logger } = captureLogger();
    const calls: string[][] = [];
    const timeline = {
      recordStage: async (row: StageRow) => void calls.push([`${row.stage}:${row.message}`]),
      recordStages: async (rows: readonly StageRow[]) => void calls.push(rows.map((r) => `${r.stage}:${r.message}`)),
    };
    const { queue, events } = await runTestWorker(cleanups, contract, prefix, (connection) =>
      startWorker(
        contract,
        {
          echo: async (job, _deps, ctx) => {
            ctx.stageLater('received', 'ok', { message: job.data.text });
            if (job.data.text === 'with-next') await ctx.stage('fetched', 'ok', { message: 'next' });
            if (job.data.text === 'fails') throw new UnrecoverableError('boom');
            return job.data.text;
          },
        },
        {},
        { connection, prefix, logger, timeline },
      ),
    );
    const run = async (text: string) => {
      const job = await enqueue(queue, 'echo', { text }, { jobId: jobId('deferred', text) });
      return job.waitUntilFinished(events, 10_000).catch((e: Error) => e.message);
    };
    expect(await run('with-next')).toBe('with-next');
    expect(await run('alone')).toBe('alone');
    expect(await run('fails')).toBe('boom');
    // One statement for the deferred row and the next; the worker writes what is left on either exit.
    expect(calls).toEqual([['received:with-next', 'fetched:next'], ['received:alone'], ['received:fails']]);
  });

  it('refuses to start without a handler for every job name', () => {
    const { logger } = captureLogger();
    expect(() =>
      startWorker(
        contract,
        {} as never,
        {},
        { connection: createWorkerConnection(redisUrl(), { lazyConnect: true }), prefix: 'x', logger },
      ),
    ).toThrow(/no handler for: echo/);
  });

  it('finishes the in-flight job on SIGTERM and exits within the deadline', async () => {
    const prefix = `t${Date.now()}sig`;
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [path.join(here, 'fixtures/slow-worker.ts')], {
      cwd: root,
      env: { ...process.env, QUEUE_PREFIX: prefix, JOB_MS: '1500', DEADLINE_MS: '5000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const waitFor = async (text: string, ms: number) => {
      const end = Date.now() + ms;
      while (!out.includes(text)) {
        if (Date.now() > end) throw new Error(`no "${text}" in: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor('ready', 15_000);
    const producer = createProducerConnection(redisUrl());
    const queue = openQueue(defineQueue('test.slow', { slow: z.object({ n: z.number() }) }), producer, prefix);
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
      producer.disconnect();
    });
    await enqueue(queue, 'slow', { n: 7 }, { jobId: 'slow-7' });
    await waitFor('started 7', 10_000);
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(out).toContain('finished 7');
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const job = await queue.getJob('slow-7');
    expect(await job?.getState()).toBe('completed');
  });
});

describe('record lock (real Redis)', () => {
  const key = () => `t-lock-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

  it('is exclusive, renewed while held beyond its TTL, and free again after release', async () => {
    const redis = createWorkerConnection(redisUrl());
    cleanups.push(async () => redis.disconnect());
    const k = key();
    const release = await tryLock(redis, k, 300);
    expect(release).not.toBeNull();
    expect(await tryLock(redis, k, 300)).toBeNull();
    await new Promise((r) => setTimeout(r, 1_000)); // more than three TTLs
    expect(await tryLock(redis, k, 300)).toBeNull();
    await release!();
    const again = await tryLock(redis, k, 300);
    expect(again).not.toBeNull();
    await again!();
  });

  it('reads a key in the round trip that tries it, taken or not, and on release sets a mark that only moves forward', async () => {
    const redis = createWorkerConnection(redisUrl());
    cleanups.push(async () => redis.disconnect());
    const k = key();
    const mark = `${k}-mark`;
    const first = await tryLockReading(redis, k, { key: mark }, 5_000);
    expect(first).toEqual({ lock: expect.any(Function), read: null });
    // Held by another: not taken, and the key is read all the same.
    await redis.set(mark, '2026-12-04T08:00:00.000Z');
    expect(await tryLockReading(redis, k, { key: mark }, 5_000)).toEqual({ lock: null, read: '2026-12-04T08:00:00.000Z' });
    await first.lock!.releaseSettingMax(mark, '2026-12-04T10:00:00.000Z', 60);
    const second = await tryLockReading(redis, k, { key: mark }, 5_000);
    expect(second.read).toBe('2026-12-04T10:00:00.000Z');
    expect(second.lock).not.toBeNull();
    expect(await tryLockReading(redis, k, { key: mark }, 5_000)).toEqual({ lock: null, read: '2026-12-04T10:00:00.000Z' });
    await second.lock!.releaseSettingMax(mark, '2026-12-04T09:00:00.000Z', 60); // older: the mark stays
    expect(await redis.get(mark)).toBe('2026-12-04T10:00:00.000Z');
    expect(await redis.ttl(mark)).toBeGreaterThan(50);
    expect(await redis.exists(k)).toBe(0);
    const third = await tryLock(redis, k, 5_000);
    expect(third).not.toBeNull();
    await third!();
    await redis.del(mark);
  });

  it('is not taken when the key read already holds at least unlessAtLeast', async () => {
    const redis = createWorkerConnection(redisUrl());
    cleanups.push(async () => redis.disconnect());
    const k = key();
    const mark = `${k}-mark`;
    await redis.set(mark, '2026-12-04T10:00:00.000Z', 'EX', 60);
    // At least: no lock, nothing to release.
    for (const unlessAtLeast of ['2026-12-04T10:00:00.000Z', '2026-12-04T09:59:59.999Z']) {
      expect(await tryLockReading(redis, k, { key: mark, unlessAtLeast }, 5_000)).toEqual({ lock: null, read: '2026-12-04T10:00:00.000Z' });
      expect(await redis.exists(k)).toBe(0);
    }
    // Below it, or no such key: taken as usual.
    const later = await tryLockReading(redis, k, { key: mark, unlessAtLeast: '2026-12-04T10:00:00.001Z' }, 5_000);
    expect(later.read).toBe('2026-12-04T10:00:00.000Z');
    expect(await redis.exists(k)).toBe(1);
    await later.lock!();
    const absent = await tryLockReading(redis, k, { key: `${mark}-none`, unlessAtLeast: '2026-12-04T10:00:00.000Z' }, 5_000);
    expect(absent).toEqual({ lock: expect.any(Function), read: null });
    await absent.lock!();
    await redis.del(mark);
  });

  it('lapses within one TTL when its holder is SIGKILLed', async () => {
    const redis = createWorkerConnection(redisUrl());
    cleanups.push(async () => redis.disconnect());
    const k = key();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/hold-lock.ts'), redisUrl(), k, '600'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const said = await new Promise<string>((resolve) => child.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim())));
    expect(said).toBe('held');
    await new Promise((r) => setTimeout(r, 1_000)); // the holder keeps renewing
    expect(await tryLock(redis, k, 600)).toBeNull();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const t0 = Date.now();
    let mine = await tryLock(redis, k, 600);
    while (!mine && Date.now() - t0 < 3_000) {
      await new Promise((r) => setTimeout(r, 50));
      mine = await tryLock(redis, k, 600);
    }
    expect(mine).not.toBeNull();
    expect(Date.now() - t0).toBeLessThan(1_000);
    await mine!();
  });
});

describe('shutdown', () => {
  it('is idempotent and runs steps in order', async () => {
    const { logger } = captureLogger();
    const order: string[] = [];
    const s = createShutdown(logger, 1000);
    s.add('http', () => {
      order.push('http');
    });
    s.add('workers', async () => {
      order.push('workers');
    });
    const a = s.run('test');
    const b = s.run('again');
    expect(a).toBe(b);
    await a;
    expect(order).toEqual(['http', 'workers']);
  });

  it('closes by phase (HTTP, workers, queues, Prisma, Redis) whatever the registration order', async () => {
    const { lines, logger } = captureLogger();
    const events: string[] = [];
    const closer =
      (name: string, ms: number, fail = false) =>
      async () => {
        events.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`end ${name}`);
        if (fail) throw new Error(`${name} broke`);
      };
    const s = createShutdown(logger, 2_000);
    s.add('redis', closer('redis', 5));
    s.add('prisma', closer('prisma', 5));
    s.add('queues', closer('queues', 30, true));
    s.add('workers', closer('worker-b', 10), 'worker-b');
    s.add('workers', closer('worker-a', 60), 'worker-a');
    s.add('http', closer('http', 20));
    const t0 = Date.now();
    await s.run('test');
    expect(Date.now() - t0).toBeLessThan(1_000);
    // Each phase starts only when the previous one has ended; one phase's closers run together.
    expect(events).toEqual([
      'start http',
      'end http',
      'start worker-b',
      'start worker-a',
      'end worker-b',
      'end worker-a',
      'start queues',
      'end queues',
      'start prisma',
      'end prisma',
      'start redis',
      'end redis',
    ]);
    expect(lines.join('')).toMatch(/"phase":"queues".*shutdown step failed/);
  });

  it('refuses an unknown phase', () => {
    const s = createShutdown(captureLogger().logger, 100);
    // @ts-expect-error phases are a closed set
    expect(() => s.add('cache', () => undefined)).toThrow(/unknown shutdown phase "cache"/);
  });

  it('closes at once what is registered after its phase has passed', async () => {
    const { logger } = captureLogger();
    const closed: string[] = [];
    const s = createShutdown(logger, 1_000);
    s.add('workers', () => {
      s.add('http', () => {
        closed.push('late http');
      });
    });
    await s.run('test');
    expect(closed).toEqual(['late http']);
  });

  it('gives up at the deadline', async () => {
    const { lines, logger } = captureLogger();
    const s = createShutdown(logger, 100);
    s.add('workers', () => new Promise(() => undefined));
    s.add('redis', () => {
      throw new Error('must not run before the workers are done');
    });
    const t0 = Date.now();
    await s.run('test');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(lines.join('')).toMatch(/"phase":"workers".*deadline passed/);
    expect(lines.join('')).not.toMatch(/must not run/);
  });
});

describe('ops server', () => {
  it('answers /healthz 503 once the app says it cannot recover, /readyz by its dependencies, /metrics always', async () => {
    const { Registry, Counter } = await import('prom-client');
    const registry = new Registry();
    new Counter({ name: 'ops_test_total', help: 'x', registers: [registry] }).inc();
    let live = true;
    let ready = false;
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', registry, ready: async () => ready, live: () => live });
    const get = (p: string) => fetch(`http://127.0.0.1:${ops.port}${p}`);
    try {
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/readyz')).status).toBe(503);
      ready = true;
      expect(await (await get('/readyz')).json()).toEqual({ status: 'ready' });
      live = false;
      expect((await get('/healthz')).status).toBe(503);
      expect(await (await get('/metrics')).text()).toContain('ops_test_total 1');
      expect((await get('/nope')).status).toBe(404);
    } finally {
      await ops.close();
    }
  });
});
