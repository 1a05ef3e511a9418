import type { Job } from 'bullmq';
import { enqueueBulk, fileJobId, type fnFileQueue, type JobDataOf, type QueueLike, type sfFilePollQueue } from '@broker/contracts';
import type { JobContext, KeyValueStore } from '@broker/runtime';
import { toId18 } from '@broker/salesforce';
import { ApiBudgetError, type SalesforceClient } from '@broker/salesforce/client';
import type { FileLinks, Store } from '@broker/store';

export interface PollFilesDeps {
  clients: ReadonlyMap<string, Pick<SalesforceClient, 'query' | 'awaitBudget' | 'ensureSession' | 'userId'>>;
  store: Pick<Store, 'getCorrelation'>;
  fileLinks: Pick<FileLinks, 'copiesAmong'>;
  fnFileQueue: QueueLike<typeof fnFileQueue>;
  /** Where the poll keeps how far it has read (Redis, under the queue prefix). */
  kv: Pick<KeyValueStore, 'get' | 'set'>;
  prefix: string;
}

type PollJob = Job<JobDataOf<typeof sfFilePollQueue, 'poll-files'>, unknown, 'poll-files'>;

/** Files per poll query; more wait for the next poll, which continues from the last one seen. */
export const POLL_PAGE = 200;
/** Re-read this far behind the last file seen: a version saved in a transaction that committed late is still found. */
const OVERLAP_MS = 120_000;
/** How long the poll's position is kept in Redis without a poll (then the look-back starts again). */
const POSITION_TTL_SECONDS = 30 * 86_400;

interface VersionRow extends Record<string, unknown> {
  Id: string;
  ContentDocumentId: string;
  Title: string | null;
  PathOnClient: string | null;
  FileExtension: string | null;
  ContentSize: number | null;
  FirstPublishLocationId: string | null;
  CreatedDate: string;
}

/**
 * Find files attached in Salesforce to records that have a work order, with ONE query per poll and
 * connection whatever the number of records (docs/architecture.md, "Files": why a poll and not the
 * fetcher's query), and queue one upload per file (fieldnation-writer, job id per ContentVersion).
 * The broker's own copies are not sent back: the query leaves out files created by the integration
 * user, and `file_link` names every copy. Files on records without a work order are left alone.
 */
export async function pollFiles(job: PollJob, deps: PollFilesDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  const target = connection.files.toFieldNation;
  if (!target) return 'disabled';
  const client = ctx.connection(deps.clients);
  try {
    await client.awaitBudget();
  } catch (err) {
    // In the reserve the poll is skipped: the next one continues from the same place.
    if (err instanceof ApiBudgetError) return 'budget';
    throw err;
  }
  await client.ensureSession();
  const positionKey = `${deps.prefix}:files-poll:${d.connectionId}`;
  const position = await deps.kv.get(positionKey);
  const from = position ? Date.parse(position) - OVERLAP_MS : Date.now() - target.lookBackHours * 3_600_000;
  const since = new Date(from).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const integrationUser = connection.salesforce.integrationUserId ?? client.userId;
  const notOurs = integrationUser ? ` AND CreatedById != '${integrationUser}'` : '';
  const { records } = await client.query<VersionRow>(
    `SELECT Id, ContentDocumentId, Title, PathOnClient, FileExtension, ContentSize, FirstPublishLocationId, CreatedDate FROM ContentVersion WHERE CreatedDate >= ${since} AND FirstPublishLocationId != null${notOurs} ORDER BY CreatedDate ASC LIMIT ${POLL_PAGE}`,
  );
  const copies = await deps.fileLinks.copiesAmong(
    d.connectionId,
    records.map((r) => toId18(r.Id)),
  );
  const jobs: Parameters<typeof enqueueBulk<typeof fnFileQueue, 'copy-file'>>[1] = [];
  for (const r of records) {
    const contentVersionId = toId18(r.Id);
    if (copies.has(contentVersionId) || !r.FirstPublishLocationId) continue;
    const correlation = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: toId18(r.FirstPublishLocationId) });
    if (!correlation?.workOrderId || !connection.objects[correlation.sfObject]) continue;
    const fileName =
      (r.PathOnClient ?? '').split(/[\\/]/).pop() || `${r.Title ?? contentVersionId}${r.FileExtension ? `.${r.FileExtension}` : ''}`;
    jobs.push({
      name: 'copy-file',
      data: {
        connectionId: d.connectionId,
        sfObject: correlation.sfObject,
        sfId: correlation.sfId,
        workOrderId: correlation.workOrderId,
        contentVersionId,
        contentDocumentId: toId18(r.ContentDocumentId),
        title: (r.Title ?? '').slice(0, 255),
        fileName: fileName.slice(0, 255),
        fileExtension: r.FileExtension ?? null,
        contentSize: Number(r.ContentSize ?? 0),
      },
      opts: { jobId: fileJobId.toFieldNation(d.connectionId, contentVersionId) },
    });
  }
  if (jobs.length) await enqueueBulk(deps.fnFileQueue, jobs);
  const last = records.at(-1)?.CreatedDate;
  if (last) await deps.kv.set(positionKey, new Date(last).toISOString(), 'EX', POSITION_TTL_SECONDS);
  ctx.log.info({ read: records.length, queued: jobs.length }, 'file poll');
  return `queued-${jobs.length}`;
}
