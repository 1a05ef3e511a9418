import type { Prisma, PrismaClient } from './generated/client';

export type Correlation = Prisma.CorrelationGetPayload<object>;
export type TimelineRow = Prisma.TimelineEntryGetPayload<object>;
export type MessageLinkRow = Prisma.MessageLinkGetPayload<object>;

export type CorrelationState = 'claimed' | 'created' | 'synced' | 'failed';

export interface RecordKey {
  connectionId: string;
  sfId: string;
}

export interface StageEntry {
  connectionId: string;
  sfId?: string | null;
  workOrderId?: number | null;
  stage: string;
  outcome: 'ok' | 'skipped' | 'failed' | 'retry';
  queue?: string;
  jobId?: string;
  message?: string;
  sfApiCalls?: number;
  detail?: Prisma.InputJsonValue;
  at?: Date;
}

/** The operations the pipeline needs, over one Prisma client. Plain functions, no state. */
export function createStore(prisma: PrismaClient) {
  return {
    prisma,

    /**
     * Claim the correlation row for a record, or get the existing one. Atomic under concurrency:
     * INSERT … ON CONFLICT DO NOTHING decides the single winner; `created` tells the caller whether
     * it made the row (and so owns the first create attempt).
     */
    async claimCorrelation(key: RecordKey & { sfObject: string }): Promise<{ correlation: Correlation; created: boolean }> {
      const inserted = await prisma.correlation.createMany({
        data: [{ connectionId: key.connectionId, sfObject: key.sfObject, sfId: key.sfId, state: 'claimed' }],
        skipDuplicates: true,
      });
      const correlation = await prisma.correlation.findUniqueOrThrow({
        where: { connectionId_sfId: { connectionId: key.connectionId, sfId: key.sfId } },
      });
      return { correlation, created: inserted.count === 1 };
    },

    getCorrelation(key: RecordKey): Promise<Correlation | null> {
      return prisma.correlation.findUnique({ where: { connectionId_sfId: { connectionId: key.connectionId, sfId: key.sfId } } });
    },

    getCorrelations(connectionId: string, sfIds: string[]): Promise<Correlation[]> {
      return prisma.correlation.findMany({ where: { connectionId, sfId: { in: sfIds } } });
    },

    findCorrelationByWorkOrder(connectionId: string, workOrderId: number): Promise<Correlation | null> {
      return prisma.correlation.findFirst({ where: { connectionId, workOrderId } });
    },

    /** Correlations for a Salesforce id or a work order id, in any connection (operator lookups). */
    findCorrelations(id: string): Promise<Correlation[]> {
      const asNumber = /^\d+$/.test(id) ? Number(id) : undefined;
      return prisma.correlation.findMany({
        where: asNumber !== undefined ? { workOrderId: asNumber } : { sfId: id },
        orderBy: { createdAt: 'asc' },
      });
    },

    /**
     * Optimistic update: applies only if the row still has `expectedVersion`, and bumps the version.
     * Returns the updated row, or null when someone else updated it first.
     */
    async updateCorrelation(
      id: string,
      expectedVersion: number,
      changes: Omit<Prisma.CorrelationUpdateManyMutationInput, 'version'>,
    ): Promise<Correlation | null> {
      const result = await prisma.correlation.updateMany({
        where: { id, version: expectedVersion },
        data: { ...changes, version: { increment: 1 } },
      });
      if (result.count === 0) return null;
      return prisma.correlation.findUnique({ where: { id } });
    },

    /**
     * Append one stage of a record's journey to the audit timeline. Raw SQL: several rows per record
     * on the hot path, and Prisma's per-call query compilation cost three times the insert itself
     * (0.75 vs 0.24 ms of CPU per row). `at` is still the app's clock, as with Prisma.
     */
    async recordStage(entry: StageEntry): Promise<void> {
      const detail = entry.detail === undefined ? null : JSON.stringify(entry.detail);
      await prisma.$executeRaw`
        INSERT INTO "timeline_entry" ("connection_id", "sf_id", "work_order_id", "stage", "outcome", "queue", "job_id", "message", "sf_api_calls", "detail", "at")
        VALUES (${entry.connectionId}, ${entry.sfId ?? null}, ${entry.workOrderId ?? null}, ${entry.stage}, ${entry.outcome}, ${entry.queue ?? null},
                ${entry.jobId ?? null}, ${entry.message?.slice(0, 4_000) ?? null}, ${entry.sfApiCalls ?? 0}, ${detail}::jsonb, ${entry.at ?? new Date()})`;
    },

    /**
     * A record's journey by Salesforce id (15 or 18 characters) or work order id. Rows written
     * under the work order id before the correlation knew it are included through the correlation.
     */
    async timeline(id: string, options: { connectionId?: string; limit?: number } = {}): Promise<TimelineRow[]> {
      const correlations = await this.findCorrelations(id);
      const sfIds = new Set<string>();
      const workOrderIds = new Set<number>();
      if (/^\d+$/.test(id)) workOrderIds.add(Number(id));
      else sfIds.add(id);
      for (const c of correlations) {
        if (options.connectionId && c.connectionId !== options.connectionId) continue;
        sfIds.add(c.sfId);
        if (c.workOrderId != null) workOrderIds.add(c.workOrderId);
      }
      return prisma.timelineEntry.findMany({
        where: {
          ...(options.connectionId ? { connectionId: options.connectionId } : {}),
          OR: [{ sfId: { in: [...sfIds] } }, { workOrderId: { in: [...workOrderIds] } }],
        },
        orderBy: [{ at: 'asc' }, { id: 'asc' }],
        take: options.limit ?? 500,
      });
    },

    /**
     * Record an inbound notification or delivery. Returns false when it was already processed
     * (dedup beyond Redis retention: Salesforce may redeliver days after an Ack).
     */
    async wasInboundProcessed(connectionId: string, source: 'sf' | 'fn', notificationId: string): Promise<boolean> {
      const row = await prisma.inboundLedger.findUnique({
        where: { connectionId_source_notificationId: { connectionId, source, notificationId } },
        select: { processedAt: true },
      });
      return row?.processedAt != null;
    },

    async markInboundProcessed(
      entry: { connectionId: string; source: 'sf' | 'fn'; notificationId: string; sfId?: string; workOrderId?: number },
    ): Promise<void> {
      // Raw upsert (one statement, as Prisma's was) for the same reason as recordStage: once per notification.
      const now = new Date();
      await prisma.$executeRaw`
        INSERT INTO "inbound_ledger" ("connection_id", "source", "notification_id", "sf_id", "work_order_id", "received_at", "processed_at")
        VALUES (${entry.connectionId}, ${entry.source}, ${entry.notificationId}, ${entry.sfId ?? null}, ${entry.workOrderId ?? null}, ${now}, ${now})
        ON CONFLICT ("connection_id", "source", "notification_id") DO UPDATE SET "processed_at" = EXCLUDED."processed_at"`;
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
