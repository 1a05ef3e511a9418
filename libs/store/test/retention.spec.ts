import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@broker/testing';
import { applyRetention, createPrisma, createStore, poolOf, purgeOlderThan, type PrismaClient } from '@broker/store';

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase('retention');
  prisma = createPrisma(db.url, { max: 4 });
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

const DAY = 86_400_000;
const now = new Date('2026-12-04T12:00:00.000Z');

/** `count` timeline rows dated `daysAgo` days before `now`, inserted in one statement. */
async function timelineRows(count: number, daysAgo: number, stage: string) {
  await poolOf(prisma).query(
    `INSERT INTO timeline_entry (connection_id, sf_id, stage, outcome, message, at)
     SELECT 'demo', '500000000000001AAA', $1, 'ok', 'row ' || g, $2 FROM generate_series(1, $3) g`,
    [stage, new Date(now.getTime() - daysAgo * DAY), count],
  );
}

async function ledgerRows(count: number, daysAgo: number, tag: string) {
  await poolOf(prisma).query(
    `INSERT INTO inbound_ledger (connection_id, source, notification_id, received_at, processed_at)
     SELECT 'demo', 'sf', $1 || g, $2, $2 FROM generate_series(1, $3) g`,
    [tag, new Date(now.getTime() - daysAgo * DAY), count],
  );
}

const count = async (sql: string, values: unknown[] = []) => Number((await poolOf(prisma).query(sql, values)).rows[0].n);

describe('retention against PostgreSQL', () => {
  it('deletes old timeline and ledger rows in bounded batches and keeps recent ones', async () => {
    await timelineRows(12_000, 91, 'old');
    await timelineRows(300, 89, 'recent');
    await ledgerRows(7_000, 31, 'old-');
    await ledgerRows(200, 29, 'recent-');

    const results = await applyRetention(prisma, { timelineDays: 90, inboundLedgerDays: 30, batchSize: 5_000 }, now);
    expect(results).toEqual([
      { table: 'timeline_entry', deleted: 12_000, batches: 3 }, // 5,000 + 5,000 + 2,000
      { table: 'inbound_ledger', deleted: 7_000, batches: 2 },
    ]);
    expect(await count(`SELECT count(*) n FROM timeline_entry WHERE stage = 'old'`)).toBe(0);
    expect(await count(`SELECT count(*) n FROM timeline_entry WHERE stage = 'recent'`)).toBe(300);
    expect(await count(`SELECT count(*) n FROM inbound_ledger WHERE notification_id LIKE 'old-%'`)).toBe(0);
    expect(await count(`SELECT count(*) n FROM inbound_ledger WHERE notification_id LIKE 'recent-%'`)).toBe(200);

    // A second run finds nothing: one statement each.
    expect(await applyRetention(prisma, { timelineDays: 90, inboundLedgerDays: 30, batchSize: 5_000 }, now)).toEqual([
      { table: 'timeline_entry', deleted: 0, batches: 1 },
      { table: 'inbound_ledger', deleted: 0, batches: 1 },
    ]);
  });

  it('deletes no more than one batch per statement', async () => {
    await timelineRows(2_500, 100, 'bounded');
    const cutoff = new Date(now.getTime() - 90 * DAY);
    expect(await purgeOlderThan(prisma, 'timeline_entry', cutoff, { batchSize: 1_000, maxBatches: 1 })).toEqual({
      table: 'timeline_entry',
      deleted: 1_000,
      batches: 1,
    });
    expect(await count(`SELECT count(*) n FROM timeline_entry WHERE stage = 'bounded'`)).toBe(1_500);
    expect(await purgeOlderThan(prisma, 'timeline_entry', cutoff, { batchSize: 1_000 })).toEqual({
      table: 'timeline_entry',
      deleted: 1_500,
      batches: 2,
    });
  });

  it('leaves the rows the pipeline depends on: a notification still in the ledger is still a duplicate', async () => {
    const store = createStore(prisma);
    await store.markInboundProcessed({ connectionId: 'demo', source: 'sf', notificationId: '04l000000000001AAA' });
    await applyRetention(prisma, { timelineDays: 1, inboundLedgerDays: 2, batchSize: 100 });
    expect(await store.wasInboundProcessed('demo', 'sf', '04l000000000001AAA')).toBe(true);
  });

  it('finds old rows through an index on the date column', async () => {
    // The tables are small here, so the planner is told to avoid a sequential scan if it can:
    // it can only when such an index exists.
    const plan = async (table: string, column: string) => {
      const client = await poolOf(prisma).connect();
      try {
        await client.query('SET enable_seqscan = off');
        const { rows } = await client.query(`EXPLAIN SELECT id FROM ${table} WHERE ${column} < now() LIMIT 5000`);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await client.query('RESET enable_seqscan');
        client.release();
      }
    };
    expect(await plan('timeline_entry', 'at')).toMatch(/timeline_entry_at_idx/);
    expect(await plan('inbound_ledger', 'received_at')).toMatch(/inbound_ledger_received_at_idx/);
  });
});
