import type { PrismaClient } from './generated/client';
import { poolOf } from './prisma-client';

/** The tables retention empties, and the column that dates their rows (each has an index on it). */
const TABLES = {
  timeline_entry: 'at',
  inbound_ledger: 'received_at',
} as const;

export type RetainedTable = keyof typeof TABLES;

export interface PurgeResult {
  table: RetainedTable;
  deleted: number;
  /** DELETE statements run (the last one found fewer rows than a batch). */
  batches: number;
}

/**
 * Delete the rows of `table` dated before `before`, `batchSize` rows per statement until none is
 * left: each statement holds its row locks and writes its WAL briefly, so the pipeline's inserts
 * into the same table are never stuck behind one long delete. `maxBatches` bounds one run (the
 * next run goes on where it stopped).
 */
export async function purgeOlderThan(
  prisma: PrismaClient,
  table: RetainedTable,
  before: Date,
  options: { batchSize: number; maxBatches?: number },
): Promise<PurgeResult> {
  const column = TABLES[table];
  if (!column) throw new Error(`no retention for table ${table}`);
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error('batchSize must be a positive integer');
  const pool = poolOf(prisma);
  let deleted = 0;
  let batches = 0;
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  while (batches < maxBatches) {
    const { rowCount } = await pool.query(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < $1 LIMIT $2)`, [
      before,
      options.batchSize,
    ]);
    batches++;
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < options.batchSize) break;
  }
  return { table, deleted, batches };
}

export interface RetentionSettings {
  timelineDays: number;
  inboundLedgerDays: number;
  batchSize: number;
}

/** One retention run over both tables, with cut-offs counted back from `now`. */
export async function applyRetention(prisma: PrismaClient, settings: RetentionSettings, now = new Date()): Promise<PurgeResult[]> {
  const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
  return [
    await purgeOlderThan(prisma, 'timeline_entry', daysAgo(settings.timelineDays), settings),
    await purgeOlderThan(prisma, 'inbound_ledger', daysAgo(settings.inboundLedgerDays), settings),
  ];
}
