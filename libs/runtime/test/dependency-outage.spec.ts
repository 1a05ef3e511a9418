import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { UnrecoverableError } from 'bullmq';
import pg from 'pg';
import client from 'prom-client';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { defineQueue, enqueue } from '@broker/contracts';
import { FieldNationClient } from '@broker/fieldnation';
import {
  classifyInfrastructureError,
  createLogger,
  createPipelineMetrics,
  createProducerConnection,
  DependencyTimeoutError,
  permanentError,
  recordDependencyWait,
  startWorker,
} from '@broker/runtime';
import { toSalesforceError } from '@broker/salesforce/client';
import { createPrisma, createStore } from '@broker/store';
import { adminUrl, createTestDatabase, freePort } from '@broker/testing';
import { startTcpProxy } from './fixtures/tcp-proxy';
import { runTestWorker, serveForTest } from './runtime-test-kit';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quietLogger = () =>
  createLogger({
    service: 'test',
    level: 'warn',
    destination: new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  });

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function timelineOf(dbUrl: string, sfId: string): Promise<{ stage: string; outcome: string; message: string }[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query('SELECT stage, outcome, message FROM timeline_entry WHERE sf_id = $1 ORDER BY at, id', [sfId])).rows;
  } finally {
    await c.end();
  }
}

/**
 * The job's own retries are 8 attempts 20 ms apart (160 ms): any outage in these tests outlasts
 * them many times, so on code that spends attempts on outages the job is dead-lettered.
 */
const contract = defineQueue(
  'test.outage',
  { work: z.object({ connectionId: z.string(), sfId: z.string(), workOrderId: z.number().optional() }) },
  { attempts: 8, backoff: { type: 'fixed', delay: 20 } },
);

async function harness<Deps>(
  label: string,
  handler: Parameters<typeof startWorker<typeof contract, Deps>>[1]['work'],
  deps: Deps,
  store: ReturnType<typeof createStore>,
) {
  const prefix = `t${label}${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
  const finalFailures: string[] = [];
  const { queue, events } = await runTestWorker(cleanups, contract, prefix, (connection) =>
    startWorker(contract, { work: handler }, deps, {
      connection,
      prefix,
      logger: quietLogger(),
      dependencyWait: { initialDelayMs: 50, maxDelayMs: 400 },
      onDependencyWaitOver: recordDependencyWait(store),
      onFinalFailure: (job, err) => void finalFailures.push(`${job.id}: ${err.message}`),
    }),
  );
  return { queue, events, finalFailures };
}

describe('an outage delays jobs, it never dead-letters them (real Redis, PostgreSQL, HTTP)', () => {
  it('PostgreSQL unreachable for far longer than the 8 attempts last: the job waits, spends no attempt, completes, and the wait is on the timeline', async () => {
    const db = await createTestDatabase('outage_pg');
    cleanups.push(() => db.drop());
    const admin = new URL(adminUrl());
    const proxy = await startTcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const prisma = createPrisma(viaProxy.toString(), { max: 2 });
    cleanups.push(() => prisma.$disconnect());
    const store = createStore(prisma);
    const registry = new client.Registry();
    createPipelineMetrics(registry);

    const sfId = '500000000000001AAA';
    let runs = 0;
    const { queue, events, finalFailures } = await harness(
      'pg',
      async (job) => {
        runs++;
        await store.recordStage({
          connectionId: job.data.connectionId,
          sfId: job.data.sfId,
          stage: 'fetched',
          outcome: 'ok',
          queue: job.queueName,
          jobId: job.id,
          message: 'read',
        });
        return 'done';
      },
      {},
      store,
    );

    await proxy.down();
    const job = await enqueue(queue, 'work', { connectionId: 'acme', sfId }, { jobId: 'pg-1' });
    // At least 2.5 s of outage: fifteen times what the job's 8 attempts would have lasted.
    const outageStart = Date.now();
    await until(() => runs >= 4, 15_000, 'several runs during the outage');
    await sleep(Math.max(0, 2_500 - (Date.now() - outageStart)));

    const during = await queue.getJob('pg-1');
    expect(during?.attemptsMade).toBe(0);
    expect(['delayed', 'waiting', 'active']).toContain(await during?.getState());
    const gauge = await registry.getSingleMetric('broker_jobs_waiting_on_dependency')!.get();
    expect(gauge.values.find((v) => v.labels.dependency === 'postgres')?.value).toBe(1);
    const outage = await registry.getSingleMetric('broker_dependency_outage_seconds')!.get();
    expect(outage.values.find((v) => v.labels.dependency === 'postgres')?.value).toBeGreaterThanOrEqual(2);

    await proxy.up();
    expect(await job.waitUntilFinished(events, 20_000)).toBe('done');
    // BullMQ counts the completing run as an attempt: one in all, none for the outage.
    const after = await queue.getJob('pg-1');
    expect(after?.attemptsMade).toBe(1);
    expect(await queue.getFailedCount()).toBe(0);
    expect(finalFailures).toEqual([]);

    const rows = await timelineOf(db.url, sfId);
    const waited = rows.find((r) => r.stage === 'waited');
    expect(waited?.message).toMatch(/^waited for PostgreSQL for [2-9]\d* s \(\d+ delays, no attempt spent\)$/);
    expect(rows.map((r) => r.stage)).toEqual(['waited', 'fetched']);
    const gaugeAfter = await registry.getSingleMetric('broker_jobs_waiting_on_dependency')!.get();
    expect(gaugeAfter.values.find((v) => v.labels.dependency === 'postgres')?.value).toBe(0);
  }, 60_000);

  it('Field Nation refusing connections: the job waits without spending attempts until it answers; a 404 from it still spends them', async () => {
    const db = await createTestDatabase('outage_fn');
    cleanups.push(() => db.drop());
    const prisma = createPrisma(db.url, { max: 2 });
    cleanups.push(() => prisma.$disconnect());
    const store = createStore(prisma);

    const port = await freePort();
    const fn = new FieldNationClient({
      environment: `http://127.0.0.1:${port}`,
      credentials: { clientId: 'c', clientSecret: 's', username: 'u', password: 'p' },
      retry: { maxAttempts: 1 },
      rateLimit: false,
    });
    const sfId = '500000000000002AAA';
    let runs = 0;
    const { queue, events, finalFailures } = await harness(
      'fn',
      async (job) => {
        runs++;
        const wo = await fn.getWorkOrder(job.data.workOrderId!);
        await store.recordStage({
          connectionId: job.data.connectionId,
          sfId: job.data.sfId,
          workOrderId: Number(wo.id),
          stage: 'written',
          outcome: 'ok',
          queue: job.queueName,
          jobId: job.id,
        });
        return wo.id;
      },
      {},
      store,
    );

    const job = await enqueue(queue, 'work', { connectionId: 'acme', sfId, workOrderId: 7 }, { jobId: 'fn-1' });
    const outageStart = Date.now();
    await until(() => runs >= 4, 15_000, 'several runs during the outage');
    await sleep(Math.max(0, 2_500 - (Date.now() - outageStart)));
    expect((await queue.getJob('fn-1'))?.attemptsMade).toBe(0);

    // Field Nation comes back on the same port.
    await serveForTest(
      cleanups,
      (req, res) => {
        res.setHeader('content-type', 'application/json');
        if (req.url?.startsWith('/authentication/api/oauth/token'))
          return res.end(JSON.stringify({ access_token: 'tok', expires_in: 3600 }));
        if (req.url?.startsWith('/api/rest/v2/workorders/7')) return res.end(JSON.stringify({ id: 7 }));
        res.statusCode = 404;
        res.end(JSON.stringify({ message: 'work order not found' }));
      },
      port,
    );

    expect(await job.waitUntilFinished(events, 20_000)).toBe(7);
    expect((await queue.getJob('fn-1'))?.attemptsMade).toBe(1);
    const rows = await timelineOf(db.url, sfId);
    expect(rows.map((r) => r.stage)).toEqual(['waited', 'written']);
    expect(rows[0]!.message).toMatch(/^waited for Field Nation for [2-9]\d* s \(\d+ delays, no attempt spent\)$/);

    // An answer about this record (404) is not an outage: it spends the attempts and dead-letters.
    const missing = await enqueue(queue, 'work', { connectionId: 'acme', sfId, workOrderId: 8 }, { jobId: 'fn-2', attempts: 2 });
    await expect(missing.waitUntilFinished(events, 20_000)).rejects.toThrow(/404/);
    expect((await queue.getJob('fn-2'))?.attemptsMade).toBe(2);
    expect(finalFailures).toEqual([expect.stringMatching(/^fn-2: .*404/)]);
    expect(await queue.getFailedCount()).toBe(1);
  }, 60_000);
});

describe('classifyInfrastructureError on errors the real clients throw', () => {
  it('PostgreSQL: refused, cut off and timed-out connections are outages; a SQL error is not', async () => {
    const port = await freePort();
    const refused = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:${port}/x` });
    refused.on('error', () => undefined);
    const e1 = await refused.query('SELECT 1').catch((e: unknown) => e);
    expect(classifyInfrastructureError(e1)).toEqual({ dependency: 'postgres', kind: 'unreachable', code: 'ECONNREFUSED' });
    await refused.end();

    // A server that accepts and hangs up (a PostgreSQL restarting), and one that never answers.
    const hangUp = net.createServer((s) => s.destroy());
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => held.add(s));
    for (const s of [hangUp, silent]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      hangUp.close();
      for (const s of held) s.destroy();
      silent.close();
    });
    const cut = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:${(hangUp.address() as AddressInfo).port}/x` });
    const slow = new pg.Pool({
      connectionString: `postgresql://postgres@127.0.0.1:${(silent.address() as AddressInfo).port}/x`,
      connectionTimeoutMillis: 300,
    });
    for (const p of [cut, slow]) p.on('error', () => undefined);
    expect(classifyInfrastructureError(await cut.query('SELECT 1').catch((e: unknown) => e))?.dependency).toBe('postgres');
    expect(classifyInfrastructureError(await slow.query('SELECT 1').catch((e: unknown) => e))?.dependency).toBe('postgres');
    await Promise.all([cut.end(), slow.end()]);

    const prisma = createPrisma(`postgresql://postgres@127.0.0.1:${port}/x`);
    const e2 = await prisma.timelineEntry.findMany({ take: 1 }).catch((e: unknown) => e);
    expect(classifyInfrastructureError(e2)).toMatchObject({ dependency: 'postgres', code: 'P1001' });
    await prisma.$disconnect();

    const ok = new pg.Pool({ connectionString: adminUrl() });
    const syntax = await ok.query('SELEC 1').catch((e: unknown) => e);
    expect((syntax as { code?: string }).code).toBe('42601');
    expect(classifyInfrastructureError(syntax)).toBeUndefined();
    await ok.end();
  });

  it('Redis: a fail-fast connection that cannot reach it', async () => {
    const port = await freePort();
    const conn = createProducerConnection(`redis://127.0.0.1:${port}`, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    conn.on('error', () => undefined);
    const err = await conn.get('x').catch((e: unknown) => e);
    conn.disconnect();
    expect(classifyInfrastructureError(err)).toMatchObject({ dependency: 'redis', kind: 'unreachable' });
  });

  it('HTTP: fetch refused or timed out, gateway errors; 4xx are answers about the record', async () => {
    const port = await freePort();
    const refused = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(classifyInfrastructureError(refused)).toMatchObject({ kind: 'unreachable', code: 'ECONNREFUSED' });
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const timedOut = await fetch(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { signal: AbortSignal.timeout(200) }).catch(
      (e: unknown) => e,
    );
    silent.closeAllConnections();
    silent.close();
    expect(classifyInfrastructureError(timedOut)).toMatchObject({ kind: 'timeout' });

    expect(
      classifyInfrastructureError(
        new DependencyTimeoutError('salesforce', 'Salesforce query timed out after 60000 ms', { phase: 'total', timeoutMs: 60_000 }),
      ),
    ).toEqual({ dependency: 'salesforce', kind: 'timeout', code: 'timeout-total' });
    // jsforce's errors as the Salesforce client converts them.
    expect(
      classifyInfrastructureError(toSalesforceError({ errorCode: 'ERROR_HTTP_503', statusCode: 503, message: 'Service Unavailable' })),
    ).toMatchObject({ dependency: 'salesforce', kind: 'unavailable' });
    expect(
      classifyInfrastructureError(
        toSalesforceError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' })),
      ),
    ).toMatchObject({ dependency: 'salesforce', kind: 'unreachable' });
    expect(
      classifyInfrastructureError(toSalesforceError({ errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', statusCode: 400, message: 'no' })),
    ).toBeUndefined();
    expect(
      classifyInfrastructureError(toSalesforceError({ errorCode: 'ERROR_HTTP_500', statusCode: 500, message: 'boom' })),
    ).toBeUndefined();
    expect(classifyInfrastructureError(toSalesforceError({ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' }))).toBeUndefined();

    const url = await serveForTest(cleanups, (req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/authentication')) return res.end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
      res.statusCode = Number(new URL(req.url!, 'http://x').pathname.split('/').pop());
      res.end(JSON.stringify({ message: 'x' }));
    });
    const fn = new FieldNationClient({
      environment: url,
      credentials: { clientId: 'c', clientSecret: 's', username: 'u', password: 'p' },
      retry: false,
      rateLimit: false,
    });
    const statusOf = async (status: number) => classifyInfrastructureError(await fn.getWorkOrder(status).catch((e: unknown) => e));
    expect(await statusOf(503)).toEqual({ dependency: 'fieldnation', kind: 'unavailable', code: 'HTTP_503' });
    expect(await statusOf(502)).toMatchObject({ dependency: 'fieldnation' });
    expect(await statusOf(504)).toMatchObject({ dependency: 'fieldnation' });
    for (const status of [400, 404, 422, 500]) expect(await statusOf(status)).toBeUndefined();
  });

  it('a permanent error is never an outage, whatever it wraps; nor is a plain bug', () => {
    expect(classifyInfrastructureError(permanentError('bad mapping', 0, 'mapping'))).toBeUndefined();
    expect(classifyInfrastructureError(new UnrecoverableError('x'))).toBeUndefined();
    expect(classifyInfrastructureError(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeUndefined();
    expect(
      classifyInfrastructureError(
        new Error('wrapped', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }),
      ),
    ).toMatchObject({ dependency: 'unknown', code: 'ECONNREFUSED' });
  });
});
