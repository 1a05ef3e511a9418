import type { IncomingMessage } from 'node:http';
import type { Job } from 'bullmq';
import { fileRefusal, mimeTypeOf } from '@broker/config';
import type { JobDataOf, sfFileQueue } from '@broker/contracts';
import type { FieldNationClient, FnAttachment } from '@broker/fieldnation';
import type { JobContext } from '@broker/runtime';
import { byteCap, FileTooLargeError, multipartStream, readSmallBody, toId18 } from '@broker/salesforce';
import { ApiBudgetError, type SalesforceClient } from '@broker/salesforce/client';
import type { FileLinks } from '@broker/store';

type CopyJob = Job<JobDataOf<typeof sfFileQueue, 'copy-attachments'>, unknown, 'copy-attachments'>;

export interface CopyAttachmentsDeps {
  sf: ReadonlyMap<string, Pick<SalesforceClient, 'stream' | 'query' | 'awaitBudget' | 'ensureSession' | 'userId'>>;
  fn: ReadonlyMap<string, Pick<FieldNationClient, 'listAttachments' | 'downloadAttachment'>>;
  fileLinks: Pick<FileLinks, 'claim' | 'complete' | 'skip' | 'copiesAmong'>;
  /** A lock per work order's copies to Salesforce: two deliveries for one work order never copy at once. */
  tryLock(key: string): Promise<(() => Promise<void>) | null>;
}

/**
 * What the copy carries in ContentVersion.Description: visible to users ("where does this file come
 * from") and the key the crash recovery looks for. Stable: changing it makes a recovery miss a copy
 * made before the change.
 */
export const salesforceCopyMarker = (workOrderId: number, attachmentId: string) =>
  `Copied from Field Nation work order ${workOrderId} (attachment ${attachmentId})`;

const LOCK_BUSY_WAIT_MS = 2_000;

/**
 * Copy the work order's attachments that Salesforce does not have yet to Salesforce Files on the
 * record: one `GET /attachments` (Field Nation), then per new attachment its download piped into one
 * multipart `POST /sobjects/ContentVersion` with the record as FirstPublishLocationId (one Salesforce
 * call), never held whole in memory. Each attachment is claimed in `file_link` before the upload and
 * completed after it. A claim that an earlier attempt left (the writer died mid-copy, or Salesforce
 * failed) is checked first with one SOQL query for the copy's marker, so a file that reached
 * Salesforce is adopted instead of uploaded again. Attachments the broker itself put on the work
 * order (copies of Salesforce files, or by the integration user) are not copied back.
 */
export async function copyAttachments(job: CopyJob, deps: CopyAttachmentsDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  const files = connection.files;
  const sfId = toId18(d.sfId);
  const stage = (outcome: 'ok' | 'skipped', message: string, sfApiCalls = 0) =>
    ctx.stage('file', outcome, { sfId, workOrderId: d.workOrderId, message, sfApiCalls });
  if (!files.toSalesforce) {
    await stage('skipped', `${d.cause.eventName}: files.toSalesforce is off for this connection`);
    return 'disabled';
  }
  const release = await deps.tryLock(`fnf:${d.connectionId}:${d.workOrderId}`);
  if (!release) return await ctx.delay(LOCK_BUSY_WAIT_MS);
  try {
    const sf = ctx.connection(deps.sf);
    const fn = ctx.connection(deps.fn);
    const folders = await fn.listAttachments(d.workOrderId);
    const attachments = folders.flatMap((f) => f.results ?? []).filter((a) => a.id !== undefined && a.file);
    const copies = await deps.fileLinks.copiesAmong(
      d.connectionId,
      attachments.map((a) => String(a.id)),
    );
    const us = connection.fieldnation.integrationUserId;
    let copied = 0;
    for (const a of attachments) {
      const attachmentId = String(a.id);
      // Its own uploads (copies of Salesforce files) never go back: by link, and by author.
      if (copies.has(attachmentId) || (us !== undefined && Number(a.author?.id) === us)) continue;
      const name = a.file?.name || `attachment-${attachmentId}`;
      const { link, created } = await deps.fileLinks.claim({
        connectionId: d.connectionId,
        direction: 'fn_to_sf',
        sourceId: attachmentId,
        sfId,
        workOrderId: d.workOrderId,
        fileName: name,
        sizeBytes: a.file?.size_bytes,
      });
      if (link.state !== 'claimed') continue;
      const refusal = fileRefusal(files, { name, mime: a.file?.mime, size: a.file?.size_bytes });
      if (refusal) {
        await deps.fileLinks.skip(link.id, refusal);
        await stage('skipped', `attachment ${attachmentId} "${name}" not copied: ${refusal}`);
        continue;
      }
      const marker = salesforceCopyMarker(d.workOrderId, attachmentId);
      try {
        await sf.awaitBudget();
      } catch (err) {
        if (err instanceof ApiBudgetError) return await ctx.delay(err.retryAfterMs);
        throw err;
      }
      if (!created) {
        const found = await findCopy(sf, sfId, marker, link.claimedAt);
        if (found) {
          await deps.fileLinks.complete(link.id, found);
          await stage('ok', `attachment ${attachmentId} "${name}" was already in Salesforce as ${found} (an earlier attempt)`, 1);
          continue;
        }
      }
      const result = await upload(sf, fn, a, { name, marker, sfId, maxBytes: files.maxBytes });
      if ('refused' in result) {
        await deps.fileLinks.skip(link.id, result.refused);
        await stage('skipped', `attachment ${attachmentId} "${name}" not copied: ${result.refused}`, created ? 0 : 1);
        continue;
      }
      await deps.fileLinks.complete(link.id, result.id);
      copied += 1;
      await stage(
        'ok',
        `attachment ${attachmentId} "${name}" (${result.bytes} bytes) copied to Salesforce Files as ${result.id}`,
        created ? 1 : 2,
      );
    }
    return copied ? `copied-${copied}` : 'nothing-new';
  } finally {
    await release();
  }
}

/** The copy an earlier attempt made, if Salesforce has it: one SOQL query (only on this recovery path). */
async function findCopy(
  sf: Pick<SalesforceClient, 'query' | 'ensureSession' | 'userId'>,
  sfId: string,
  marker: string,
  claimedAt: Date,
): Promise<string | undefined> {
  await sf.ensureSession();
  // Description is a textarea, which SOQL may not filter on: it is matched here, among the few files
  // the integration user published on this record since the claim (an hour's margin for clock skew).
  const since = new Date(claimedAt.getTime() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const owner = sf.userId ? ` AND CreatedById = '${sf.userId}'` : '';
  const { records } = await sf.query<{ Id: string; Description?: string | null }>(
    `SELECT Id, Description FROM ContentVersion WHERE FirstPublishLocationId = '${sfId}'${owner} AND CreatedDate >= ${since}`,
  );
  return records.find((r) => r.Description === marker)?.Id;
}

/** Download from Field Nation piped into the ContentVersion insert; the cap holds on the bytes that pass. */
async function upload(
  sf: Pick<SalesforceClient, 'stream'>,
  fn: Pick<FieldNationClient, 'downloadAttachment'>,
  a: FnAttachment,
  f: { name: string; marker: string; sfId: string; maxBytes: number },
): Promise<{ id: string; bytes: number } | { refused: string }> {
  if (!a.file?.link) throw new Error(`attachment ${a.id} has no file.link to download`);
  let download: IncomingMessage | undefined;
  const cap = byteCap(f.maxBytes);
  try {
    download = await fn.downloadAttachment(a.file.link);
    const declared = Number(download.headers['content-length']);
    if (Number.isFinite(declared) && declared > f.maxBytes) return { refused: `too large (${declared} bytes; the cap is ${f.maxBytes})` };
    const entity = {
      Title: f.name.replace(/\.[^.]*$/, '') || f.name,
      PathOnClient: f.name,
      FirstPublishLocationId: f.sfId,
      Description: f.marker,
    };
    const { body, contentType } = multipartStream([
      { name: 'entity_content', contentType: 'application/json', value: JSON.stringify(entity) },
      {
        name: 'VersionData',
        filename: f.name,
        contentType: a.file.mime || mimeTypeOf(f.name),
        stream: download.pipe(cap),
      },
    ]);
    download.on('error', (err) => cap.destroy(err));
    const { res } = await sf.stream('POST', '/sobjects/ContentVersion', { stream: body, contentType });
    const answer = JSON.parse(await readSmallBody(res)) as { id?: string };
    if (!answer.id) throw new Error('Salesforce created the ContentVersion but answered no id');
    return { id: answer.id, bytes: cap.bytes() };
  } catch (err) {
    if (causedBy(err, FileTooLargeError)) return { refused: `too large (more than ${f.maxBytes} bytes while streaming)` };
    throw err;
  } finally {
    download?.destroy();
  }
}

function causedBy(err: unknown, type: new (...args: never[]) => Error): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof type) return true;
  return false;
}
