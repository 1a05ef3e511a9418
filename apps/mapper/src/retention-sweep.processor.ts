import type { Job } from 'bullmq';
import type { RetentionConfig } from '@broker/config';
import type { JobContext } from '@broker/runtime';
import { applyRetention, type PrismaClient, type PurgeResult } from '@broker/store';

export interface RetentionDeps {
  prisma: PrismaClient;
  retention: RetentionConfig;
}

/** Delete timeline and inbound-ledger rows past their retention, a bounded batch per statement. */
export async function retentionSweep(_job: Job, deps: RetentionDeps, ctx: JobContext): Promise<PurgeResult[]> {
  const startedAt = Date.now();
  const results = await applyRetention(deps.prisma, deps.retention);
  ctx.log.info(
    { results, ms: Date.now() - startedAt, timelineDays: deps.retention.timelineDays, inboundLedgerDays: deps.retention.inboundLedgerDays },
    'retention sweep done',
  );
  return results;
}
