// Compile-time guarantees of the contract helpers. `npm run typecheck` (tsconfig.json includes
// libs/**/*.ts) checks this file: each `@ts-expect-error` below fails the typecheck if the line
// under it stops being a type error, i.e. if the helpers lose their typing. The runtime checks
// behind the same calls run in vitest, so a cast that slips past the compiler is still refused.
import type { Job } from 'bullmq';
import { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import { defineQueue, enqueue, enqueueBulk, type QueueOf } from '@broker/contracts';
import { createLogger, createWorkerConnection, startWorker, type Handlers } from '@broker/runtime';

const contract = defineQueue('test.types', {
  greet: z.object({ name: z.string().min(1) }),
  count: z.object({ n: z.number().int() }),
});

/** A queue whose add() records calls: no Redis is needed to see what would be stored. */
function fakeQueue() {
  const add = vi.fn(async (name: string, data: unknown) => ({ name, data }) as unknown as Job);
  const addBulk = vi.fn(async () => [] as Job[]);
  return { queue: { contract, add, addBulk } as unknown as QueueOf<typeof contract>, add, addBulk };
}

const options = () => ({
  connection: createWorkerConnection('redis://127.0.0.1:6379', { lazyConnect: true }),
  prefix: 'types',
  logger: createLogger({ service: 'test', level: 'silent' }),
});

describe('contract typing', () => {
  it('requires a handler for every job name', () => {
    const greet = async (job: Job<{ name: string }>) => job.data.name;
    // @ts-expect-error the `count` handler is missing
    const missing: Handlers<typeof contract, object> = { greet };
    expect(Object.keys(missing)).toEqual(['greet']);
    // @ts-expect-error the `count` handler is missing
    expect(() => startWorker(contract, { greet }, {}, options())).toThrow(/no handler for: count/);
  });

  it('types each handler by its job name', () => {
    const handlers: Handlers<typeof contract, object> = {
      greet: async (job) => job.data.name.toUpperCase(),
      // @ts-expect-error `count` jobs carry `n`, not `name`
      count: async (job) => job.data.name,
    };
    expect(Object.keys(handlers).sort()).toEqual(['count', 'greet']);
  });

  it('refuses a job name the queue does not have', async () => {
    const { queue, add } = fakeQueue();
    // @ts-expect-error `shout` is not a job of this queue
    await expect(enqueue(queue, 'shout', { name: 'x' }, { jobId: 'j1' })).rejects.toThrow(/unknown job name "shout"/);
    // @ts-expect-error `shout` is not a job of this queue
    await expect(enqueueBulk(queue, [{ name: 'shout', data: { name: 'x' }, opts: { jobId: 'j2' } }])).rejects.toThrow(/unknown job name/);
    expect(add).not.toHaveBeenCalled();
  });

  it('refuses a payload of the wrong shape', async () => {
    const { queue, add } = fakeQueue();
    // @ts-expect-error `greet` takes { name: string }
    await expect(enqueue(queue, 'greet', { n: 1 }, { jobId: 'j3' })).rejects.toThrow(/name/);
    // @ts-expect-error `count` takes a number
    await expect(enqueue(queue, 'count', { n: 'one' }, { jobId: 'j4' })).rejects.toThrow(/n:/);
    // @ts-expect-error a deterministic job id is required
    await expect(enqueue(queue, 'count', { n: 1 }, {})).resolves.toBeDefined();
    await enqueue(queue, 'count', { n: 2 }, { jobId: 'j5' });
    expect(add).toHaveBeenCalledTimes(2);
    expect(add).toHaveBeenLastCalledWith('count', { n: 2 }, { jobId: 'j5' });
  });
});
