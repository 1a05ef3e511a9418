import type { PrismaClient } from './generated/client';
import { poolOf } from './prisma-client';

/** Where a connection's Chatter sweep is (table chatter_cursor). */
export interface ChatterCursor {
  connectionId: string;
  /** Posts and replies created before this were read. */
  watermark: Date;
  /** The window in progress (a sweep stopped by its budget), else null. */
  windowFrom: Date | null;
  windowUntil: Date | null;
  /** When the window in progress began (records given a work order since are read again). */
  windowStartedAt: Date | null;
  /** Record ids up to this one are done for the window in progress. */
  afterParentId: string | null;
  /** In the next chunk of records: the phase, and the last row read in it (its CreatedDate and Id). */
  chunkPhase: 'items' | 'comments' | null;
  chunkFrom: Date | null;
  chunkAfterId: string | null;
}

const COLUMNS = `connection_id, watermark, window_from, window_until, window_started_at, after_parent_id, chunk_phase, chunk_from, chunk_after_id`;

function toCursor(r: Record<string, unknown>): ChatterCursor {
  return {
    connectionId: r.connection_id as string,
    watermark: r.watermark as Date,
    windowFrom: (r.window_from as Date | null) ?? null,
    windowUntil: (r.window_until as Date | null) ?? null,
    windowStartedAt: (r.window_started_at as Date | null) ?? null,
    afterParentId: (r.after_parent_id as string | null) ?? null,
    chunkPhase: (r.chunk_phase as ChatterCursor['chunkPhase']) ?? null,
    chunkFrom: (r.chunk_from as Date | null) ?? null,
    chunkAfterId: (r.chunk_after_id as string | null) ?? null,
  };
}

/** The statements of the Chatter sweep, plain SQL on the pool under the Prisma client (as store.ts). */
export function createChatterStore(prisma: PrismaClient) {
  const pool = poolOf(prisma);
  return {
    async getChatterCursor(connectionId: string): Promise<ChatterCursor | null> {
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM chatter_cursor WHERE connection_id = $1`, [connectionId]);
      return rows[0] ? toCursor(rows[0]) : null;
    },

    async saveChatterCursor(c: ChatterCursor): Promise<void> {
      await pool.query(
        `INSERT INTO chatter_cursor (${COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
         ON CONFLICT (connection_id) DO UPDATE SET watermark = $2, window_from = $3, window_until = $4, window_started_at = $5,
           after_parent_id = $6, chunk_phase = $7, chunk_from = $8, chunk_after_id = $9, updated_at = now()`,
        [
          c.connectionId,
          c.watermark,
          c.windowFrom,
          c.windowUntil,
          c.windowStartedAt,
          c.afterParentId,
          c.chunkPhase,
          c.chunkFrom,
          c.chunkAfterId,
        ],
      );
    },

    /**
     * Records of these objects that have a work order, by id, `limit` at most: those after
     * `afterId`, and those whose correlation was made since `claimedSince` whatever their id.
     */
    async chatterParents(
      connectionId: string,
      sfObjects: string[],
      options: { afterId?: string | null; claimedSince?: Date | null; limit: number },
    ): Promise<string[]> {
      const { rows } = await pool.query(
        `SELECT sf_id FROM correlation
         WHERE connection_id = $1 AND sf_object = ANY($2) AND work_order_id IS NOT NULL
           AND ($3::text IS NULL OR sf_id > $3 OR ($4::timestamptz IS NOT NULL AND created_at >= $4))
         ORDER BY sf_id LIMIT $5`,
        [connectionId, sfObjects, options.afterId ?? null, options.claimedSince ?? null, options.limit],
      );
      return rows.map((r: { sf_id: string }) => r.sf_id);
    },

    /** Which of these Salesforce ids (comments, posts, replies) already have a message link. */
    async linkedSalesforceIds(connectionId: string, sfIds: string[]): Promise<Set<string>> {
      if (sfIds.length === 0) return new Set();
      const { rows } = await pool.query(`SELECT case_comment_id FROM message_link WHERE connection_id = $1 AND case_comment_id = ANY($2)`, [
        connectionId,
        sfIds,
      ]);
      return new Set(rows.map((r: { case_comment_id: string }) => r.case_comment_id));
    },
  };
}

export type ChatterStore = ReturnType<typeof createChatterStore>;
