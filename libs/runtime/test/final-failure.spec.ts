// The finalFailure hook (real Redis, BullMQ): it runs once, before a job fails for good, and never
// for an attempt that will be retried; when it cannot run (Redis refuses what it queues), the job
// waits and runs again instead of failing without its failed outcome.
import { Writable } from 'node:stream';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { defineQueue, enqueue } from '@broker/contracts';
import { createLogger, permanentError, startWorker } from '@broker/runtime';
import { runTestWorker } from './runtime-test-kit';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const contract = defineQueue(
  'test.final',
  { work: z.object({ kind: z.string() }) },
  { attempts: 3, backoff: { type: 'fixed', delay: 20 } },
);
const logger = createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

async function run(handler: () => Promise<unknown>, hook: (jobId: string, message: string, attemptsMade: number) => Promise<void>) {
  const prefix = `tff${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
  return runTestWorker(cleanups, contract, prefix, (connection) =>
    startWorker(
      contract,
      { work: handler },
      {},
      {
        connection,
        prefix,
        logger,
        dependencyWait: { initialDelayMs: 30, maxDelayMs: 60 },
        finalFailure: (job, err) => hook(job.id!, err.message, job.attemptsMade),
      },
    ),
  );
}

describe('finalFailure hook', () => {
  it('runs once for an unrecoverable error, and only after the last attempt of a retried one', async () => {
    const calls: string[] = [];
    let attempts = 0;
    const { queue, events } = await run(
      async () => {
        attempts++;
        throw attempts === 1 ? permanentError('no such field') : new Error(`transient ${attempts}`);
      },
      async (id, message, made) => void calls.push(`${id} ${message} after ${made}`),
    );
    const a = await enqueue(queue, 'work', { kind: 'permanent' }, { jobId: 'a' });
    await expect(a.waitUntilFinished(events, 10_000)).rejects.toThrow('no such field');
    expect(calls).toEqual(['a no such field after 0']);
    const b = await enqueue(queue, 'work', { kind: 'retried' }, { jobId: 'b' });
    await expect(b.waitUntilFinished(events, 10_000)).rejects.toThrow('transient 4');
    expect(attempts).toBe(4);
    expect(calls).toEqual(['a no such field after 0', 'b transient 4 after 2']);
  });

  it('a hook that meets an outage makes the job wait and fail again later, so its outcome is not lost', async () => {
    let hookRuns = 0;
    const { queue, events } = await run(
      async () => {
        throw permanentError('refused');
      },
      async () => {
        hookRuns++;
        // What ioredis throws for a command on a closed connection.
        if (hookRuns === 1) throw new Error('Connection is closed.');
      },
    );
    const job = await enqueue(queue, 'work', { kind: 'x' }, { jobId: 'c' });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow('refused');
    expect(hookRuns).toBe(2);
  });
});
