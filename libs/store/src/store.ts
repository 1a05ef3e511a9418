import { randomUUID } from 'node:crypto';
import type { Prisma, PrismaClient } from './generated/client';
import { poolOf } from './prisma-client';
import { createTimelineWriter, timelineInsert, timelineParams } from './timeline-writer';
import type { StageRecord, Stage, StageOutcome } from '@broker/contracts';

export type Correlation = Prisma.CorrelationGetPayload<object>;
/** A timeline row as read: the stage and outcome are the contracts' (the only values the store writes). */
export type TimelineRow = Omit<Prisma.TimelineEntryGetPayload<object>, 'stage' | 'outcome'> & { stage: Stage; outcome: StageOutcome };
export type MessageLinkRow = Prisma.MessageLinkGetPayload<object>;

export type CorrelationState = 'claimed' | 'created' | 'synced' | 'failed' | 'cancelled';

/** The columns a pipeline stage may change on a correlation (the version is bumped by the store). */
export interface CorrelationChanges {
  workOrderId?: number | null;
  state?: CorrelationState;
  lastSfModstamp?: Date | null;
  lastPayloadHash?: string | null;
  lastPayload?: object | null;
  lastFnStatusAt?: Date | null;
  lastFnStatus?: string | null;
  lastError?: string | null;
  /** A create sent without a definite answer (null once the outcome is known). */
  ambiguousCreateAt?: Date | null;
}

const CHANGE_COLUMNS: { [K in keyof Required<CorrelationChanges>]: string } = {
  workOrderId: 'work_order_id',
  state: 'state',
  lastSfModstamp: 'last_sf_modstamp',
  lastPayloadHash: 'last_payload_hash',
  lastPayload: 'last_payload',
  lastFnStatusAt: 'last_fn_status_at',
  lastFnStatus: 'last_fn_status',
  lastError: 'last_error',
  ambiguousCreateAt: 'ambiguous_create_at',
};

const CORRELATION_COLUMNS = `id, connection_id, sf_object, sf_id, work_order_id, state, last_sf_modstamp, last_payload_hash,
  last_payload, last_fn_status_at, last_fn_status, last_error, ambiguous_create_at, version, created_at, updated_at`;

/** A correlation row as pg returns it (timestamptz as Date, jsonb parsed) → the Prisma model's shape. */
function toCorrelation(r: Record<string, unknown>): Correlation {
  return {
    id: r.id as string,
    connectionId: r.connection_id as string,
    sfObject: r.sf_object as string,
    sfId: r.sf_id as string,
    workOrderId: r.work_order_id as number | null,
    state: r.state as string,
    lastSfModstamp: r.last_sf_modstamp as Date | null,
    lastPayloadHash: r.last_payload_hash as string | null,
    lastPayload: r.last_payload as Prisma.JsonValue,
    lastFnStatusAt: r.last_fn_status_at as Date | null,
    lastFnStatus: r.last_fn_status as string | null,
    lastError: r.last_error as string | null,
    ambiguousCreateAt: r.ambiguous_create_at as Date | null,
    version: r.version as number,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  };
}

/** A Field Nation work order id: a positive integer PostgreSQL's integer column holds (Salesforce ids have 15 or 18 characters). */
export const isWorkOrderId = (id: string): boolean => /^\d{1,10}$/.test(id) && Number(id) <= 2_147_483_647;

export interface RecordKey {
  connectionId: string;
  sfId: string;
}

/** One timeline row; `stage` is one of the contracts' closed list. */
export type StageEntry = StageRecord;

/**
 * The operations the pipeline needs, over one Prisma client. Plain functions, no state.
 *
 * The statements every record passes through (claim, read and update its correlation, the inbound
 * ledger, the timeline) are plain SQL on the pg pool under the Prisma client: Prisma's client engine
 * compiles each call in WebAssembly, several times the CPU of the same SELECT through pg, and it was
 * a large share of the workers' CPU (docs/benchmarks.md). Operator queries stay on Prisma.
 * Each is a named statement, parsed and planned once per connection. Where a stage writes a row
 * together with its correlation or ledger change, both go in one statement (one commit), and the
 * timeline rows of concurrent jobs are inserted together (`createTimelineWriter`).
 */
export function createStore(prisma: PrismaClient) {
  const pool = poolOf(prisma);
  const writeTimeline = createTimelineWriter(pool);
  const one = async (name: string, text: string, values: unknown[]): Promise<Correlation | null> => {
    const { rows } = await pool.query({ name, text, values });
    return rows[0] ? toCorrelation(rows[0]) : null;
  };
  const getCorrelation = (key: RecordKey) =>
    one('corr_get', `SELECT ${CORRELATION_COLUMNS} FROM correlation WHERE connection_id = $1 AND sf_id = $2`, [key.connectionId, key.sfId]);
  /** Whether the ledger holds `$1..$3` as processed, and the correlation `$1` and `where` find, in one statement. */
  const ledgerAndCorrelation = async (
    name: string,
    where: string,
    values: unknown[],
  ): Promise<{ processed: boolean; correlation: Correlation | null }> => {
    const { rows } = await pool.query({
      name,
      text: `SELECT (SELECT processed_at FROM inbound_ledger WHERE connection_id = $1 AND source = $2 AND notification_id = $3) AS ledger_processed_at, c.*
        FROM (SELECT 1) AS one LEFT JOIN LATERAL (
          SELECT ${CORRELATION_COLUMNS} FROM correlation WHERE connection_id = $1 AND ${where}) AS c ON true`,
      values,
    });
    const row = rows[0] as Record<string, unknown>;
    return { processed: row.ledger_processed_at != null, correlation: row.id == null ? null : toCorrelation(row) };
  };
  return {
    prisma,

    /**
     * Claim the correlation row for a record, or get the existing one. Atomic under concurrency:
     * INSERT … ON CONFLICT DO NOTHING decides the single winner; `created` tells the caller whether
     * it made the row (and so owns the first create attempt). `ambiguousCreateAt` is stored on a row
     * this call inserts (a caller about to create marks it in the same statement), never on an existing one.
     * `stages` (timeline rows) are inserted in the same statement, whichever way it goes.
     */
    async claimCorrelation(
      key: RecordKey & { sfObject: string; ambiguousCreateAt?: Date },
      stages: readonly StageEntry[] = [],
    ): Promise<{ correlation: Correlation; created: boolean }> {
      const values: unknown[] = [randomUUID(), key.connectionId, key.sfObject, key.sfId, key.ambiguousCreateAt ?? null];
      // One statement: the insert, or the row that was already there (and the timeline rows).
      const { rows } = await pool.query({
        name: stages.length ? 'corr_claim_t' : 'corr_claim',
        text: `WITH ins AS (
           INSERT INTO correlation (id, connection_id, sf_object, sf_id, state, ambiguous_create_at, updated_at)
           VALUES ($1, $2, $3, $4, 'claimed', $5, now())
           ON CONFLICT (connection_id, sf_id) DO NOTHING
           RETURNING ${CORRELATION_COLUMNS})${stages.length ? `, t AS (${timelineInsert(values.length + 1)})` : ''}
         SELECT *, true AS inserted FROM ins
         UNION ALL
         SELECT ${CORRELATION_COLUMNS}, false FROM correlation WHERE connection_id = $2 AND sf_id = $4 AND NOT EXISTS (SELECT 1 FROM ins)`,
        values: stages.length ? [...values, ...timelineParams(stages)] : values,
      });
      if (rows[0]) return { correlation: toCorrelation(rows[0]), created: rows[0].inserted === true };
      // The row was committed by a concurrent claim after this statement's snapshot: read it now.
      const correlation = await getCorrelation(key);
      if (!correlation) throw new Error(`correlation ${key.connectionId}/${key.sfId} neither inserted nor found`);
      return { correlation, created: false };
    },

    getCorrelation,

    getCorrelations(connectionId: string, sfIds: string[]): Promise<Correlation[]> {
      return prisma.correlation.findMany({ where: { connectionId, sfId: { in: sfIds } } });
    },

    findCorrelationByWorkOrder(connectionId: string, workOrderId: number): Promise<Correlation | null> {
      return one('corr_by_wo', `SELECT ${CORRELATION_COLUMNS} FROM correlation WHERE connection_id = $1 AND work_order_id = $2 LIMIT 1`, [
        connectionId,
        workOrderId,
      ]);
    },

    /**
     * `wasInboundProcessed` and `findCorrelationByWorkOrder` in one statement: what a Field Nation
     * delivery asks first.
     */
    async inboundAndWorkOrder(
      connectionId: string,
      source: 'sf' | 'fn',
      notificationId: string,
      workOrderId: number,
    ): Promise<{ processed: boolean; correlation: Correlation | null }> {
      return ledgerAndCorrelation('ledger_get_corr_by_wo', 'work_order_id = $4 LIMIT 1', [
        connectionId,
        source,
        notificationId,
        workOrderId,
      ]);
    },

    /**
     * `wasInboundProcessed` and `getCorrelation` in one statement: what a fetch of a Salesforce
     * record asks first (the correlation decides whether the record's trigger applies).
     */
    async inboundAndCorrelation(
      connectionId: string,
      source: 'sf' | 'fn',
      notificationId: string,
      sfId: string,
    ): Promise<{ processed: boolean; correlation: Correlation | null }> {
      return ledgerAndCorrelation('ledger_get_corr', 'sf_id = $4', [connectionId, source, notificationId, sfId]);
    },

    /** Correlations for a Salesforce id or a work order id, in any connection (operator lookups). */
    findCorrelations(id: string): Promise<Correlation[]> {
      const asNumber = isWorkOrderId(id) ? Number(id) : undefined;
      return prisma.correlation.findMany({
        where: asNumber !== undefined ? { workOrderId: asNumber } : { sfId: id },
        orderBy: { createdAt: 'asc' },
      });
    },

    /**
     * Optimistic update: applies only if the row still has `expectedVersion`, and bumps the version.
     * Returns the updated row, or null when someone else updated it first. `stages` (timeline rows)
     * are inserted in the same statement, only if the update applied.
     */
    async updateCorrelation(
      id: string,
      expectedVersion: number,
      changes: CorrelationChanges,
      stages: readonly StageEntry[] = [],
    ): Promise<Correlation | null> {
      const sets = ['version = version + 1', 'updated_at = now()'];
      const values: unknown[] = [id, expectedVersion];
      let name = 'corr_upd_';
      for (const [key, column] of Object.entries(CHANGE_COLUMNS) as [keyof CorrelationChanges, string][]) {
        const value = changes[key];
        name += value === undefined ? '0' : '1';
        if (value === undefined) continue;
        values.push(key === 'lastPayload' && value !== null ? JSON.stringify(value) : value);
        sets.push(`${column} = $${values.length}${key === 'lastPayload' ? '::jsonb' : ''}`);
      }
      const update = `UPDATE correlation SET ${sets.join(', ')} WHERE id = $1 AND version = $2 RETURNING ${CORRELATION_COLUMNS}`;
      if (stages.length === 0) return one(name, update, values);
      const text = `WITH u AS (${update}), t AS (${timelineInsert(values.length + 1, 'WHERE EXISTS (SELECT 1 FROM u)')}) SELECT * FROM u`;
      return one(`${name}_t`, text, [...values, ...timelineParams(stages)]);
    },

    /**
     * A newer state of the record mapped to the payload already written: move the synced modstamp
     * forward (no Field Nation call). Applies only while the row still holds that payload and an
     * older modstamp, so queued writes of states in between become stale. Null when it did not apply.
     */
    advanceSyncedModstamp(id: string, modstamp: Date, payloadHash: string): Promise<Correlation | null> {
      return one(
        'corr_advance',
        `UPDATE correlation SET last_sf_modstamp = $2, version = version + 1, updated_at = now()
         WHERE id = $1 AND state = 'synced' AND last_payload_hash = $3 AND (last_sf_modstamp IS NULL OR last_sf_modstamp < $2)
         RETURNING ${CORRELATION_COLUMNS}`,
        [id, modstamp, payloadHash],
      );
    },

    /**
     * Append one stage of a record's journey to the audit timeline (`at` is the app's clock). Resolves
     * once the row is committed; rows of concurrent callers share one INSERT (createTimelineWriter).
     */
    recordStage(entry: StageEntry): Promise<void> {
      return writeTimeline([entry]);
    },

    /** Several rows of one job, in order, in one INSERT. */
    recordStages(entries: readonly StageEntry[]): Promise<void> {
      return writeTimeline(entries);
    },

    /**
     * Whether this job already wrote such a row for the record (optionally with this outcome and
     * message): a job that waited (API budget, an outage, a 429) runs again and asks before repeating it.
     */
    async hasStage(entry: {
      connectionId: string;
      sfId: string;
      stage: string;
      jobId: string;
      outcome?: string;
      message?: string;
    }): Promise<boolean> {
      const { rows } = await pool.query({
        name: 'timeline_has',
        text: `SELECT 1 FROM timeline_entry WHERE connection_id = $1 AND sf_id = $2 AND stage = $3 AND job_id = $4
           AND ($5::text IS NULL OR outcome = $5) AND ($6::text IS NULL OR message = $6) LIMIT 1`,
        values: [entry.connectionId, entry.sfId, entry.stage, entry.jobId, entry.outcome ?? null, entry.message?.slice(0, 4_000) ?? null],
      });
      return rows.length > 0;
    },

    /**
     * A record's journey by Salesforce id (15 or 18 characters) or work order id. Rows written
     * under the work order id before the correlation knew it are included through the correlation.
     */
    async timeline(id: string, options: { connectionId?: string; limit?: number } = {}): Promise<TimelineRow[]> {
      const correlations = await this.findCorrelations(id);
      const sfIds = new Set<string>();
      const workOrderIds = new Set<number>();
      if (isWorkOrderId(id)) workOrderIds.add(Number(id));
      else sfIds.add(id);
      for (const c of correlations) {
        if (options.connectionId && c.connectionId !== options.connectionId) continue;
        sfIds.add(c.sfId);
        if (c.workOrderId != null) workOrderIds.add(c.workOrderId);
      }
      // recordStage writes only the contracts' stages and outcomes: the column's text is one of them.
      return (await prisma.timelineEntry.findMany({
        where: {
          ...(options.connectionId ? { connectionId: options.connectionId } : {}),
          OR: [{ sfId: { in: [...sfIds] } }, { workOrderId: { in: [...workOrderIds] } }],
        },
        orderBy: [{ at: 'asc' }, { id: 'asc' }],
        take: options.limit ?? 500,
      })) as TimelineRow[];
    },

    /**
     * Whether an inbound notification or delivery (or a writer's own job, keyed `write-<job id>`) was
     * already processed; reads only, markInboundProcessed records one. The ledger is in PostgreSQL for
     * dedup beyond Redis retention: Salesforce may redeliver days after an Ack.
     */
    async wasInboundProcessed(connectionId: string, source: 'sf' | 'fn', notificationId: string): Promise<boolean> {
      const { rows } = await pool.query({
        name: 'ledger_get',
        text: 'SELECT processed_at FROM inbound_ledger WHERE connection_id = $1 AND source = $2 AND notification_id = $3',
        values: [connectionId, source, notificationId],
      });
      return rows[0]?.processed_at != null;
    },

    /** Record an inbound notification as processed; `stages` (timeline rows) go in the same statement. */
    async markInboundProcessed(
      entry: {
        connectionId: string;
        source: 'sf' | 'fn';
        notificationId: string;
        sfId?: string;
        workOrderId?: number;
      },
      stages: readonly StageEntry[] = [],
    ): Promise<void> {
      const ledger = `INSERT INTO inbound_ledger (connection_id, source, notification_id, sf_id, work_order_id, received_at, processed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (connection_id, source, notification_id) DO UPDATE SET processed_at = EXCLUDED.processed_at`;
      const values = [entry.connectionId, entry.source, entry.notificationId, entry.sfId ?? null, entry.workOrderId ?? null, new Date()];
      if (stages.length === 0) {
        await pool.query({ name: 'ledger_mark', text: ledger, values });
        return;
      }
      await pool.query({
        name: 'ledger_mark_t',
        text: `WITH l AS (${ledger}) ${timelineInsert(values.length + 1)}`,
        values: [...values, ...timelineParams(stages)],
      });
    },

    /** Claim a message link before writing the message, so a retry never posts it twice. */
    async claimMessageLink(link: {
      connectionId: string;
      direction: 'sf_to_fn' | 'fn_to_sf';
      workOrderId: number;
      caseCommentId?: string;
      fnMessageId?: string;
    }): Promise<{ link: MessageLinkRow; created: boolean }> {
      const inserted = await prisma.messageLink.createMany({ data: [link], skipDuplicates: true });
      const existing = await prisma.messageLink.findFirst({
        where: link.caseCommentId
          ? { connectionId: link.connectionId, caseCommentId: link.caseCommentId }
          : { connectionId: link.connectionId, workOrderId: link.workOrderId, fnMessageId: link.fnMessageId ?? '\u0000none' },
      });
      if (!existing) throw new Error('message link vanished after claim');
      return { link: existing, created: inserted.count === 1 };
    },

    completeMessageLink(id: bigint, changes: { caseCommentId?: string; fnMessageId?: string }): Promise<MessageLinkRow> {
      return prisma.messageLink.update({ where: { id }, data: changes });
    },

    /** A comment → message post claimed since `since` whose Field Nation message id is not stored yet. */
    async hasPendingPost(connectionId: string, workOrderId: number, since: Date): Promise<boolean> {
      const row = await prisma.messageLink.findFirst({
        where: { connectionId, workOrderId, direction: 'sf_to_fn', fnMessageId: null, createdAt: { gte: since } },
        select: { id: true },
      });
      return row !== null;
    },

    findMessageLinkByComment(connectionId: string, caseCommentId: string): Promise<MessageLinkRow | null> {
      return prisma.messageLink.findUnique({ where: { connectionId_caseCommentId: { connectionId, caseCommentId } } });
    },

    findMessageLinkByFnMessage(connectionId: string, workOrderId: number, fnMessageId: string): Promise<MessageLinkRow | null> {
      return prisma.messageLink.findUnique({
        where: { connectionId_workOrderId_fnMessageId: { connectionId, workOrderId, fnMessageId } },
      });
    },
  };
}

export type Store = ReturnType<typeof createStore>;
