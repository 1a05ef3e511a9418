import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { parseConfig } from '@broker/config';
import { createJobContext, createLogger, createProducerConnection, redisRecordLocks } from '@broker/runtime';
import { createSalesforceClients, SalesforceApiError, type SalesforceClient } from '@broker/salesforce/client';
import { createPrisma, createStore, type PrismaClient, type Store } from '@broker/store';
import type { ConnectionConfig } from '@broker/config';
import { createTestDatabase, redisUrl, simConnectionYaml, type TestDatabase } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { writeRecord, type SfWriterDeps } from '../src/write-record.processor';

let db: TestDatabase;
let prisma: PrismaClient;
let sim: SalesforceSim;
let deps: SfWriterDeps & { store: Store };
let clients: Map<string, SalesforceClient>;
let connections: Map<string, ConnectionConfig>;
const redis = createProducerConnection(redisUrl());
const log = createLogger({ service: 'sfw-test', level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase('sfwriter');
  prisma = createPrisma(db.url);
  sim = await startSalesforceSim({ port: 0, logger: log });
  const config = parseConfig(simConnectionYaml({ salesforceUrl: sim.url }), '/tmp/c.yaml', {});
  connections = new Map([['demo', config.connections[0]!]]);
  const prefix = `ts${Date.now().toString(36)}`;
  clients = createSalesforceClients(config.connections, log);
  deps = { clients, store: createStore(prisma), locks: redisRecordLocks(redis, prefix), redis, prefix };
});
afterAll(async () => {
  redis.disconnect();
  await prisma.$disconnect();
  await db.drop();
  await sim.close();
});

let n = 0;
const job = (data: Record<string, unknown>) =>
  ({
    id: `sfw-${++n}-${Date.now()}`,
    queueName: 'sf.write',
    attemptsMade: 0,
    data: {
      connectionId: 'demo',
      sfObject: 'Case',
      sfId: sim.ref('case_repair'),
      fields: {},
      cause: { kind: 'fn-event', id: `d${n}`, workOrderId: 5 },
      ...data,
    },
  }) as never;
const run = (j: never) => writeRecord(j, deps, createJobContext(j, { log, connections, timeline: deps.store }));
const countComments = (body: string, caseId = sim.ref('case_repair')) =>
  (sim.query(`SELECT CommentBody FROM CaseComment WHERE ParentId = '${caseId}'`).records as { CommentBody: string }[]).filter(
    (c) => c.CommentBody === body,
  ).length;

/** Runs a job as a process that dies when it reaches the store's `step` (the step fails, the job with it). */
async function runDyingAt<K extends 'completeMessageLink' | 'markInboundProcessed'>(step: K, j: never) {
  const real = deps.store[step];
  deps.store[step] = (() => Promise.reject(new Error('SIGKILL'))) as Store[K];
  try {
    await expect(run(j)).rejects.toThrow('SIGKILL');
  } finally {
    deps.store[step] = real;
  }
}

describe('salesforce-writer', () => {
  it('writes fields and a CaseComment in one API call', async () => {
    await clients.get('demo')!.ensureSession();
    sim.resetCounters();
    expect(await run(job({ fields: { Status: 'Technician Assigned' }, comment: { body: 'Tess is on the way', isPublished: false } }))).toBe(
      'written',
    );
    expect(sim.counters().apiCalls.total).toBe(1);
    expect(sim.getRecord(sim.ref('case_repair'))!.Status).toBe('Technician Assigned');
    const comments = sim.query(`SELECT CommentBody FROM CaseComment WHERE ParentId = '${sim.ref('case_repair')}'`).records as {
      CommentBody: string;
    }[];
    expect(comments.map((c) => c.CommentBody)).toContain('Tess is on the way');
  });

  it('retries UNABLE_TO_LOCK_ROW and fails a validation rule for good with its message', async () => {
    sim.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'POST', path: '/composite', count: 1 });
    const locked = await run(job({ fields: { Status: 'Working' } })).catch((e: Error) => e);
    expect(locked).toBeInstanceOf(SalesforceApiError);
    expect((locked as SalesforceApiError).retryable).toBe(true);
    sim.injectFault({
      kind: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      method: 'POST',
      path: '/composite',
      message: 'Resolution is required',
      count: 1,
    });
    const invalid = await run(job({ fields: { Status: 'Resolved' } })).catch((e: Error) => e);
    expect(invalid).toBeInstanceOf(UnrecoverableError);
    expect((invalid as Error).message).toBe('FIELD_CUSTOM_VALIDATION_EXCEPTION: Resolution is required');
  });

  it('does not let an older status overwrite a newer one', async () => {
    const at = (m: number) => new Date(Date.UTC(2026, 10, 28, 12, m)).toISOString();
    await run(job({ fields: { Status: 'Work Completed' }, statusOrder: { at: at(30), rank: 60, fields: ['Status'] } }));
    expect(await run(job({ fields: { Status: 'Technician On Site' }, statusOrder: { at: at(10), rank: 40, fields: ['Status'] } }))).toBe(
      'nothing',
    );
    expect(sim.getRecord(sim.ref('case_repair'))!.Status).toBe('Work Completed');
  });

  it('after a crash between Salesforce saving the comment and the link being stored, a retry finds the comment instead of posting it twice', async () => {
    const body = `Parts arrive tomorrow ${Date.now()}`;
    const data = {
      comment: { body, isPublished: true, fnMessageId: `m-${Date.now()}` },
      cause: { kind: 'fn-message', id: `dm${Date.now()}`, workOrderId: 77 },
    };
    // The first attempt: the comment is saved, then the process dies before completing the link.
    const first = job(data) as { id: string };
    await runDyingAt('completeMessageLink', first as never);
    expect(countComments(body)).toBe(1);

    sim.resetCounters();
    const retry = { ...first, attemptsMade: 1 } as never;
    expect(await run(retry)).toBe('nothing');
    expect(countComments(body)).toBe(1);
    expect(sim.counters().apiCalls.total).toBe(1); // the search, no second post
    const link = await deps.store.findMessageLinkByFnMessage('demo', 77, data.comment.fnMessageId);
    expect(link?.caseCommentId).toMatch(/^00a/);

    // A claimed link whose comment never reached Salesforce (e.g. a validation failure) posts on replay.
    const body2 = `Second visit needed ${Date.now()}`;
    const data2 = {
      comment: { body: body2, isPublished: true, fnMessageId: `m2-${Date.now()}` },
      cause: { kind: 'fn-message', id: `dm2${Date.now()}`, workOrderId: 77 },
    };
    sim.injectFault({
      kind: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      method: 'POST',
      path: '/composite',
      message: 'Closed cases take no comments',
      count: 1,
    });
    await expect(run(job(data2))).rejects.toThrow('Closed cases take no comments');
    expect(await run(job(data2))).toBe('written');
    expect(countComments(body2)).toBe(1);
  });

  it('reads errors Salesforce reports inside a composite answer: a validation rule fails for good, a locked row retries, nothing half-applied', async () => {
    const caseId = sim.ref('case_repair');
    const before = sim.getRecord(caseId)!.Status;
    const body = `Inside composite ${Date.now()}`;
    sim.injectFault({
      kind: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      method: 'PATCH',
      path: '/sobjects/Case/',
      message: 'Status needs a resolution',
      count: 1,
    });
    const invalid = await run(job({ fields: { Status: 'Closed' }, comment: { body, isPublished: false } })).catch((e: Error) => e);
    expect(invalid).toBeInstanceOf(UnrecoverableError);
    expect((invalid as Error).message).toBe('FIELD_CUSTOM_VALIDATION_EXCEPTION: Status needs a resolution');
    expect(sim.getRecord(caseId)!.Status).toBe(before);
    const comments = sim.query(`SELECT CommentBody FROM CaseComment WHERE ParentId = '${caseId}'`).records as { CommentBody: string }[];
    expect(comments.map((c) => c.CommentBody)).not.toContain(body); // allOrNone rolled the comment back

    sim.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'PATCH', path: '/sobjects/Case/', count: 1 });
    const locked = await run(job({ fields: { Status: 'Working' } })).catch((e: Error) => e);
    expect(locked).toBeInstanceOf(SalesforceApiError);
    expect((locked as SalesforceApiError).retryable).toBe(true);
    expect((locked as SalesforceApiError).errorCode).toBe('UNABLE_TO_LOCK_ROW');
  });

  it("an event's comment is not written twice when the process died after Salesforce saved it", async () => {
    const body = `Work order 5 was marked done ${Date.now()}`;
    const first = {
      ...(job({ fields: { Status: 'Work Completed' }, comment: { body, isPublished: false } }) as object),
      timestamp: Date.now() - 1_000,
    };
    await runDyingAt('markInboundProcessed', first as never);
    expect(countComments(body)).toBe(1);
    sim.resetCounters();
    expect(await run(first as never)).toBe('written'); // the fields again (idempotent), not the comment
    expect(countComments(body)).toBe(1);
    expect(sim.counters().apiCalls.total).toBe(2); // the search and the field update

    // A first attempt that failed before Salesforce saved anything posts the comment on its retry.
    const body2 = `Technician checked in ${Date.now()}`;
    const second = { ...(job({ comment: { body: body2, isPublished: false } }) as object), timestamp: Date.now() - 1_000 } as never;
    sim.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'POST', path: '/composite', count: 1 });
    await expect(run(second)).rejects.toBeInstanceOf(SalesforceApiError);
    expect(await run(second)).toBe('written');
    expect(countComments(body2)).toBe(1);
  });
});
