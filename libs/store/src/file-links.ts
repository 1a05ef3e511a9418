import type { PrismaClient } from './generated/client';
import { poolOf } from './prisma-client';

/** 'fn_to_sf': a Field Nation attachment copied to Salesforce Files; 'sf_to_fn': a ContentVersion copied to the work order. */
export type FileDirection = 'fn_to_sf' | 'sf_to_fn';
export type FileLinkState = 'claimed' | 'done' | 'skipped';

export interface FileLinkRow {
  id: bigint;
  connectionId: string;
  direction: FileDirection;
  sourceId: string;
  targetId: string | null;
  sfId: string;
  workOrderId: number;
  state: FileLinkState;
  fileName: string | null;
  sizeBytes: bigint | null;
  reason: string | null;
  claimedAt: Date;
  completedAt: Date | null;
}

export interface FileClaim {
  connectionId: string;
  direction: FileDirection;
  sourceId: string;
  sfId: string;
  workOrderId: number;
  fileName?: string;
  sizeBytes?: number;
}

const COLUMNS = `id, connection_id, direction, source_id, target_id, sf_id, work_order_id, state, file_name, size_bytes, reason,
  claimed_at, completed_at`;

function toRow(r: Record<string, unknown>): FileLinkRow {
  return {
    id: BigInt(r.id as string),
    connectionId: r.connection_id as string,
    direction: r.direction as FileDirection,
    sourceId: r.source_id as string,
    targetId: r.target_id as string | null,
    sfId: r.sf_id as string,
    workOrderId: r.work_order_id as number,
    state: r.state as FileLinkState,
    fileName: r.file_name as string | null,
    sizeBytes: r.size_bytes === null ? null : BigInt(r.size_bytes as string),
    reason: r.reason as string | null,
    claimedAt: r.claimed_at as Date,
    completedAt: r.completed_at as Date | null,
  };
}

/**
 * The file links (`file_link`): one row per file and direction, like `message_link` for messages.
 * A claim is taken before the upload and completed after it; a claim found without a target means an
 * upload may have happened (the process died between upload and completion), so the writer looks for
 * the copy before uploading again. Plain SQL on the pool under the Prisma client, as the store's
 * per-record statements.
 */
export function createFileLinks(prisma: PrismaClient) {
  const pool = poolOf(prisma);
  return {
    /**
     * Insert the claim or read the existing row, in one statement: exactly one caller is told it
     * `created` the row; every other caller gets the row as it stands.
     */
    async claim(c: FileClaim): Promise<{ link: FileLinkRow; created: boolean }> {
      const { rows } = await pool.query(
        `WITH ins AS (
           INSERT INTO file_link (connection_id, direction, source_id, sf_id, work_order_id, file_name, size_bytes)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (connection_id, direction, source_id) DO NOTHING
           RETURNING ${COLUMNS}, true AS created)
         SELECT * FROM ins
         UNION ALL
         SELECT ${COLUMNS}, false AS created FROM file_link
         WHERE connection_id = $1 AND direction = $2 AND source_id = $3 AND NOT EXISTS (SELECT 1 FROM ins)`,
        [c.connectionId, c.direction, c.sourceId, c.sfId, c.workOrderId, c.fileName ?? null, c.sizeBytes ?? null],
      );
      const row = rows[0] as Record<string, unknown>;
      return { link: toRow(row), created: row.created === true };
    },

    /** The upload is done: the copy's id. */
    async complete(id: bigint, targetId: string): Promise<void> {
      await pool.query(`UPDATE file_link SET state = 'done', target_id = $2, completed_at = now(), reason = NULL WHERE id = $1`, [
        String(id),
        targetId,
      ]);
    },

    /** Never copied (too large, type not allowed): recorded so that later runs skip it without a call. */
    async skip(id: bigint, reason: string): Promise<void> {
      await pool.query(`UPDATE file_link SET state = 'skipped', reason = $2, completed_at = now() WHERE id = $1`, [String(id), reason]);
    },

    async find(connectionId: string, direction: FileDirection, sourceId: string): Promise<FileLinkRow | undefined> {
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM file_link WHERE connection_id = $1 AND direction = $2 AND source_id = $3`, [
        connectionId,
        direction,
        sourceId,
      ]);
      return rows[0] ? toRow(rows[0] as Record<string, unknown>) : undefined;
    },

    /** Of these ids, the ones that are copies the broker made (in the other direction): never copied back. */
    async copiesAmong(connectionId: string, ids: string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const { rows } = await pool.query(`SELECT target_id FROM file_link WHERE connection_id = $1 AND target_id = ANY($2::text[])`, [
        connectionId,
        ids,
      ]);
      return new Set(rows.map((r: { target_id: string }) => r.target_id));
    },

    /** Every link of a record (tests, timeline). */
    async ofRecord(connectionId: string, sfId: string): Promise<FileLinkRow[]> {
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM file_link WHERE connection_id = $1 AND sf_id = $2 ORDER BY id`, [
        connectionId,
        sfId,
      ]);
      return rows.map((r) => toRow(r as Record<string, unknown>));
    },
  };
}

export type FileLinks = ReturnType<typeof createFileLinks>;
