import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@broker/testing';
import { createPrisma, createStore, databaseReadiness, poolOf, type PrismaClient, type Store } from '@broker/store';

let db: TestDatabase;
let prisma: PrismaClient;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase('store');
  prisma = createPrisma(db.url, { max: 25 });
  store = createStore(prisma);
});

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

const sfId = (n: number) => `500000000000${String(n).padStart(3, '0')}AAA`;

describe('correlation store', () => {
  it('claim-or-get run concurrently from 20 callers yields exactly one row and one winner', async () => {
    const key = { connectionId: 'demo', sfObject: 'Case', sfId: sfId(1) };
    const results = await Promise.all(Array.from({ length: 20 }, () => store.claimCorrelation(key)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.correlation.id)).size).toBe(1);
    expect(await prisma.correlation.count({ where: { sfId: key.sfId } })).toBe(1);
  });

  it('optimistic update applies once for two writers holding the same version', async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(2) });
    const [a, b] = await Promise.all([
      store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 10, state: 'created' }),
      store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 11, state: 'created' }),
    ]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const row = await store.getCorrelation({ connectionId: 'demo', sfId: sfId(2) });
    expect(row?.version).toBe(correlation.version + 1);
  });

  it('reads and writes every correlation column through SQL exactly as the Prisma model sees them', async () => {
    const { correlation, created } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(5) });
    expect(created).toBe(true);
    expect(correlation).toMatchObject({ state: 'claimed', version: 0, workOrderId: null, lastPayload: null });
    const changes = {
      workOrderId: 77,
      state: 'synced' as const,
      lastSfModstamp: new Date('2026-11-28T10:11:12.345Z'),
      lastPayloadHash: 'abc',
      lastPayload: { title: 'Fix it', custom_fields: [{ id: 1, value: 'O\'Brien "quoted"' }], n: null },
      lastFnStatusAt: new Date('2026-11-28T11:00:00.000Z'),
      lastFnStatus: '3:workorder.status.assigned',
      lastError: 'none',
    };
    const updated = await store.updateCorrelation(correlation.id, correlation.version, changes);
    expect(updated).toMatchObject({ ...changes, version: 1 });
    expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(correlation.updatedAt.getTime());
    const viaPrisma = await prisma.correlation.findUniqueOrThrow({ where: { id: correlation.id } });
    expect(updated).toEqual(viaPrisma);
    expect(await store.getCorrelation({ connectionId: 'demo', sfId: sfId(5) })).toEqual(viaPrisma);
    expect(await store.findCorrelationByWorkOrder('demo', 77)).toEqual(viaPrisma);
    // null clears; an absent key leaves the column alone; a stale version changes nothing
    const cleared = await store.updateCorrelation(correlation.id, 1, { lastError: null, lastPayload: null });
    expect(cleared).toMatchObject({ lastError: null, lastPayload: null, lastPayloadHash: 'abc', workOrderId: 77, version: 2 });
    expect(await store.updateCorrelation(correlation.id, 1, { state: 'failed' })).toBeNull();
    const again = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(5) });
    expect(again.created).toBe(false);
    expect(again.correlation).toEqual(await prisma.correlation.findUniqueOrThrow({ where: { id: correlation.id } }));
  });

  it('finds a record by Salesforce id and by work order id, with its timeline', async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(3) });
    await store.recordStage({ connectionId: 'demo', sfId: sfId(3), stage: 'received', outcome: 'ok' });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 4242, state: 'synced' });
    await store.recordStage({ connectionId: 'demo', workOrderId: 4242, stage: 'event', outcome: 'ok', message: 'assigned' });
    expect((await store.findCorrelationByWorkOrder('demo', 4242))?.sfId).toBe(sfId(3));
    const bySf = await store.timeline(sfId(3));
    const byWo = await store.timeline('4242');
    expect(bySf.map((r) => r.stage)).toEqual(['received', 'event']);
    expect(byWo.map((r) => r.stage)).toEqual(['received', 'event']);
  });

  it('remembers processed inbound notifications', async () => {
    expect(await store.wasInboundProcessed('demo', 'sf', '04l000000000001AAA')).toBe(false);
    await store.markInboundProcessed({ connectionId: 'demo', source: 'sf', notificationId: '04l000000000001AAA', sfId: sfId(4) });
    await store.markInboundProcessed({ connectionId: 'demo', source: 'sf', notificationId: '04l000000000001AAA', sfId: sfId(4) });
    expect(await store.wasInboundProcessed('demo', 'sf', '04l000000000001AAA')).toBe(true);
    expect(await store.wasInboundProcessed('other', 'sf', '04l000000000001AAA')).toBe(false);
  });

  it('claims a message link once', async () => {
    const first = await store.claimMessageLink({
      connectionId: 'demo',
      direction: 'sf_to_fn',
      workOrderId: 7,
      caseCommentId: '00a000000000001AAA',
    });
    const second = await store.claimMessageLink({
      connectionId: 'demo',
      direction: 'sf_to_fn',
      workOrderId: 7,
      caseCommentId: '00a000000000001AAA',
    });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    await store.completeMessageLink(first.link.id, { fnMessageId: '99' });
    expect((await store.findMessageLinkByFnMessage('demo', 7, '99'))?.caseCommentId).toBe('00a000000000001AAA');
  });

  it('reports PostgreSQL readiness, cached, and false within the timeout when it does not answer', async () => {
    expect(await databaseReadiness(prisma)()).toBe(true);
    const unreachable = createPrisma('postgresql://postgres@127.0.0.1:1/none');
    try {
      const t0 = Date.now();
      expect(await databaseReadiness(unreachable)()).toBe(false);
      expect(Date.now() - t0).toBeLessThan(2_500);
    } finally {
      await unreachable.$disconnect();
    }
  });

  it('finds an all-digit Salesforce id as a record, not as an out-of-range work order id', async () => {
    const allDigits = '500000000000006AAA';
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: allDigits });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 424242 });
    await store.recordStage({ connectionId: 'demo', sfId: allDigits, stage: 'fetched', outcome: 'ok' });
    expect((await store.findCorrelations(allDigits)).map((c) => c.workOrderId)).toEqual([424242]);
    expect((await store.timeline(allDigits)).map((t) => t.stage)).toContain('fetched');
    expect((await store.findCorrelations('424242')).map((c) => c.sfId)).toEqual([allDigits]);
    expect(await store.findCorrelations('99999999999')).toEqual([]); // 11 digits: neither, and no crash
  });
});

describe('statements that carry timeline rows', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, s));
  const rowsOf = (id: string) => prisma.timelineEntry.findMany({ where: { sfId: id }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });

  it('stores every column of a timeline row as given, with or without the optional ones', async () => {
    const full = {
      connectionId: 'demo',
      sfId: sfId(10),
      workOrderId: 1010,
      stage: 'written' as const,
      outcome: 'ok' as const,
      queue: 'fn.write',
      jobId: 'job-1',
      message: 'it\'s "quoted", {braced}, back\\slash, ünïcode',
      sfApiCalls: 2,
      detail: { fieldNationCalls: 2, nested: { list: [1, 'two', null] } },
      at: new Date('2026-12-04T10:11:12.345Z'),
    };
    await store.recordStages([full, { connectionId: 'demo', sfId: sfId(10), stage: 'fetched', outcome: 'skipped' }]);
    const [a, b] = await rowsOf(sfId(10));
    expect(a).toMatchObject({ ...full, id: expect.any(BigInt) });
    expect(b).toMatchObject({ workOrderId: null, queue: null, jobId: null, message: null, sfApiCalls: 0, detail: null });
    expect(Math.abs(b!.at.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('inserts the rows of concurrent callers together, each caller resolved once its row is stored', async () => {
    const writes = Array.from({ length: 40 }, (_, i) =>
      store.recordStage({ connectionId: 'demo', sfId: sfId(11), stage: 'event', outcome: 'ok', message: String(i), at: at(i) }),
    );
    await Promise.all(writes);
    expect((await rowsOf(sfId(11))).map((r) => r.message)).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
  });

  it('fails only the caller whose row PostgreSQL refuses, not the others batched with it', async () => {
    const good = Array.from({ length: 5 }, (_, i) =>
      store.recordStage({ connectionId: 'demo', sfId: sfId(12), stage: 'event', outcome: 'ok', message: `g${i}` }),
    );
    // An id of more than 18 characters does not fit the char(18) column.
    const bad = store.recordStage({ connectionId: 'demo', sfId: `${sfId(12)}-too-long`, stage: 'event', outcome: 'ok' });
    const more = store.recordStage({ connectionId: 'demo', sfId: sfId(12), stage: 'event', outcome: 'ok', message: 'g5' });
    await expect(bad).rejects.toThrow(/too long|character/);
    await Promise.all([...good, more]);
    expect((await rowsOf(sfId(12))).map((r) => r.message).sort()).toEqual(['g0', 'g1', 'g2', 'g3', 'g4', 'g5']);
  });

  it('writes a correlation change and its timeline rows in one statement, and neither when the version is stale', async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(13) });
    const row = { connectionId: 'demo', sfId: sfId(13), workOrderId: 1313, stage: 'written' as const, outcome: 'ok' as const, at: at(1) };
    const updated = await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 1313, state: 'synced' }, [row]);
    expect(updated).toMatchObject({ workOrderId: 1313, state: 'synced', version: correlation.version + 1 });
    expect(
      await store.updateCorrelation(correlation.id, correlation.version, { state: 'failed' }, [{ ...row, outcome: 'failed' }]),
    ).toBeNull();
    expect((await rowsOf(sfId(13))).map((r) => [r.stage, r.outcome, r.workOrderId])).toEqual([['written', 'ok', 1313]]);
    expect((await store.getCorrelation({ connectionId: 'demo', sfId: sfId(13) }))?.state).toBe('synced');
  });

  it('marks a notification processed and writes its timeline rows in one statement, in order', async () => {
    const rows = [
      { connectionId: 'demo', sfId: sfId(14), stage: 'received' as const, outcome: 'ok' as const, at: at(5) },
      { connectionId: 'demo', sfId: sfId(14), stage: 'fetched' as const, outcome: 'ok' as const, at: at(5), sfApiCalls: 1 },
    ];
    await store.markInboundProcessed({ connectionId: 'demo', source: 'sf', notificationId: '04l000000000014AAA', sfId: sfId(14) }, rows);
    expect(await store.wasInboundProcessed('demo', 'sf', '04l000000000014AAA')).toBe(true);
    expect((await rowsOf(sfId(14))).map((r) => r.stage)).toEqual(['received', 'fetched']);
  });

  it("answers a delivery's first two questions (processed? whose work order?) in one statement", async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(16) });
    const row = await store.updateCorrelation(correlation.id, correlation.version, {
      workOrderId: 1616,
      state: 'synced',
      lastPayload: { a: [1] },
    });
    expect(await store.inboundAndWorkOrder('demo', 'fn', 'delivery-16', 1616)).toEqual({ processed: false, correlation: row });
    expect(await store.inboundAndWorkOrder('demo', 'fn', 'delivery-16', 9999)).toEqual({ processed: false, correlation: null });
    await store.markInboundProcessed({ connectionId: 'demo', source: 'fn', notificationId: 'delivery-16', workOrderId: 1616 });
    expect(await store.inboundAndWorkOrder('demo', 'fn', 'delivery-16', 1616)).toMatchObject({
      processed: true,
      correlation: { id: correlation.id },
    });
    expect(await store.inboundAndWorkOrder('other', 'fn', 'delivery-16', 1616)).toEqual({ processed: false, correlation: null });
  });

  it("answers a fetch's first two questions (processed? the record's correlation?) in one statement", async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(17) });
    const row = await store.updateCorrelation(correlation.id, correlation.version, {
      workOrderId: 1717,
      state: 'synced',
      lastSfModstamp: new Date('2026-12-04T09:00:00.000Z'),
      lastPayloadHash: 'h17',
      lastPayload: { a: [1] },
    });
    const pool = poolOf(prisma);
    const query = pool.query;
    let statements = 0;
    pool.query = ((...args: Parameters<typeof query>) => (statements++, query.apply(pool, args))) as typeof query;
    try {
      expect(await store.inboundAndCorrelation('demo', 'sf', '04l000000000017AAA', sfId(17))).toEqual({
        processed: false,
        correlation: row,
      });
      expect(statements).toBe(1);
    } finally {
      pool.query = query;
    }
    expect(await store.inboundAndCorrelation('demo', 'sf', '04l000000000017AAA', sfId(18))).toEqual({
      processed: false,
      correlation: null,
    });
    await store.markInboundProcessed({ connectionId: 'demo', source: 'sf', notificationId: '04l000000000017AAA', sfId: sfId(17) });
    expect(await store.inboundAndCorrelation('demo', 'sf', '04l000000000017AAA', sfId(17))).toEqual({ processed: true, correlation: row });
    // Processed, and no correlation: both answers still come back.
    expect(await store.inboundAndCorrelation('demo', 'sf', '04l000000000017AAA', sfId(18))).toEqual({ processed: true, correlation: null });
    // Keyed by connection and source like wasInboundProcessed and getCorrelation.
    expect(await store.inboundAndCorrelation('demo', 'fn', '04l000000000017AAA', sfId(17))).toMatchObject({ processed: false });
    expect(await store.inboundAndCorrelation('other', 'sf', '04l000000000017AAA', sfId(17))).toEqual({
      processed: false,
      correlation: null,
    });
  });

  it('stores the create mark on a row the claim inserts, never on one that exists', async () => {
    const mark = new Date('2026-12-04T09:00:00.000Z');
    const first = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(15), ambiguousCreateAt: mark });
    expect(first).toMatchObject({ created: true, correlation: { ambiguousCreateAt: mark } });
    await store.updateCorrelation(first.correlation.id, first.correlation.version, { ambiguousCreateAt: null });
    const second = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(15), ambiguousCreateAt: new Date() });
    expect(second).toMatchObject({ created: false, correlation: { ambiguousCreateAt: null } });
  });

  it('claims a row and writes timeline rows in one statement, whether the claim inserts the row or finds it', async () => {
    const row = (message: string) => ({
      connectionId: 'demo',
      sfId: sfId(19),
      stage: 'mapped' as const,
      outcome: 'ok' as const,
      message,
      at: at(7),
    });
    const first = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(19) }, [row('m1'), row('m2')]);
    expect(first.created).toBe(true);
    const second = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: sfId(19) }, [row('m3')]);
    expect(second).toMatchObject({ created: false, correlation: { id: first.correlation.id } });
    expect((await rowsOf(sfId(19))).map((r) => r.message)).toEqual(['m1', 'm2', 'm3']);
  });
});
