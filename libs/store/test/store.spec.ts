import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@broker/testing';
import { createPrisma, createStore, databaseReadiness, type PrismaClient, type Store } from '@broker/store';

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
