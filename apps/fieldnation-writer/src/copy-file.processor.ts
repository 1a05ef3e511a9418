import type { IncomingMessage } from 'node:http';
import type { Job } from 'bullmq';
import { fileRefusal, mimeTypeOf } from '@broker/config';
import type { fnFileQueue, JobDataOf } from '@broker/contracts';
import type { FieldNationClient, FnAttachment, FnAttachmentFolder } from '@broker/fieldnation';
import type { JobContext } from '@broker/runtime';
import { byteCap, FileTooLargeError } from '@broker/salesforce';
import { ApiBudgetError, type SalesforceClient } from '@broker/salesforce/client';
import type { FileLinks } from '@broker/store';

type CopyJob = Job<JobDataOf<typeof fnFileQueue, 'copy-file'>, unknown, 'copy-file'>;

export interface CopyFileDeps {
  sf: ReadonlyMap<string, Pick<SalesforceClient, 'stream' | 'awaitBudget'>>;
  fn: ReadonlyMap<string, Pick<FieldNationClient, 'listAttachments' | 'createAttachmentFolder' | 'uploadAttachment'>>;
  fileLinks: Pick<FileLinks, 'claim' | 'complete' | 'skip'>;
  /** A lock per work order's uploads from Salesforce: one folder made, one listing read at a time. */
  tryLock(key: string): Promise<(() => Promise<void>) | null>;
}

/**
 * What the upload carries in its `notes` on Field Nation: tells the technician where the file comes
 * from, and is the key the crash recovery looks for. Stable: changing it makes a recovery miss an
 * upload made before the change.
 */
export const fieldNationCopyMarker = (contentVersionId: string) => `Copied from Salesforce (file ${contentVersionId})`;

const LOCK_BUSY_WAIT_MS = 2_000;

/**
 * Upload one Salesforce file to the work order's configured folder: one `GET /attachments` (finds the
 * folder, and on a retry the upload an earlier attempt made), the folder made once when missing, then
 * `GET …/ContentVersion/{id}/VersionData` (one Salesforce call) piped into the multipart upload,
 * never held whole in memory. Claimed in `file_link` before, completed after: a claim an earlier
 * attempt left is matched against the listing's notes before uploading again.
 */
export async function copyFile(job: CopyJob, deps: CopyFileDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  const files = connection.files;
  const target = files.toFieldNation;
  const stage = (outcome: 'ok' | 'skipped', message: string, sfApiCalls = 0) =>
    ctx.stage('file', outcome, { sfId: d.sfId, workOrderId: d.workOrderId, message, sfApiCalls });
  if (!target) {
    await stage('skipped', `file ${d.contentVersionId}: files.toFieldNation is off for this connection`);
    return 'disabled';
  }
  const release = await deps.tryLock(`sff:${d.connectionId}:${d.workOrderId}`);
  if (!release) return await ctx.delay(LOCK_BUSY_WAIT_MS);
  try {
    const { link, created } = await deps.fileLinks.claim({
      connectionId: d.connectionId,
      direction: 'sf_to_fn',
      sourceId: d.contentVersionId,
      sfId: d.sfId,
      workOrderId: d.workOrderId,
      fileName: d.fileName,
      sizeBytes: d.contentSize,
    });
    if (link.state !== 'claimed') return `already-${link.state}`;
    const refusal = fileRefusal(files, { name: d.fileName, mime: mimeTypeOf(d.fileName), size: d.contentSize });
    if (refusal) {
      await deps.fileLinks.skip(link.id, refusal);
      await stage('skipped', `file ${d.contentVersionId} "${d.fileName}" not copied: ${refusal}`);
      return 'refused';
    }
    const sf = ctx.connection(deps.sf);
    const fn = ctx.connection(deps.fn);
    const marker = fieldNationCopyMarker(d.contentVersionId);
    let folders = await fn.listAttachments(d.workOrderId);
    if (!created) {
      const earlier = findByNotes(folders, marker);
      if (earlier) {
        await deps.fileLinks.complete(link.id, String(earlier.id));
        await stage(
          'ok',
          `file ${d.contentVersionId} "${d.fileName}" was already on the work order as attachment ${earlier.id} (an earlier attempt)`,
        );
        return 'adopted';
      }
    }
    let folder = folders.find((f) => f.name === target.folder);
    if (!folder) {
      folders = (await fn.createAttachmentFolder(d.workOrderId, target.folder)) ?? (await fn.listAttachments(d.workOrderId));
      folder = folders.find((f) => f.name === target.folder);
      if (folder?.id === undefined) throw new Error(`Field Nation made no folder "${target.folder}" on work order ${d.workOrderId}`);
    }
    try {
      await sf.awaitBudget();
    } catch (err) {
      if (err instanceof ApiBudgetError) return await ctx.delay(err.retryAfterMs);
      throw err;
    }

    let download: IncomingMessage | undefined;
    const cap = byteCap(files.maxBytes);
    let after: FnAttachmentFolder[] | undefined;
    try {
      download = (await sf.stream('GET', `/sobjects/ContentVersion/${d.contentVersionId}/VersionData`)).res;
      const declared = Number(download.headers['content-length']);
      if (Number.isFinite(declared) && declared > files.maxBytes) throw new FileTooLargeError(files.maxBytes, declared);
      download.on('error', (err) => cap.destroy(err));
      after = await fn.uploadAttachment(d.workOrderId, folder.id!, {
        filename: d.fileName,
        contentType: mimeTypeOf(d.fileName),
        stream: download.pipe(cap),
        notes: marker,
      });
    } catch (err) {
      if (!causedBy(err, FileTooLargeError)) throw err;
      const reason = `too large (more than ${files.maxBytes} bytes)`;
      await deps.fileLinks.skip(link.id, reason);
      await stage('skipped', `file ${d.contentVersionId} "${d.fileName}" not copied: ${reason}`, 1);
      return 'refused';
    } finally {
      download?.destroy();
    }
    const uploaded = findByNotes(after ?? (await fn.listAttachments(d.workOrderId)), marker);
    if (uploaded?.id === undefined)
      throw new Error(`Field Nation accepted the upload of ${d.contentVersionId} but lists no attachment with its notes`);
    await deps.fileLinks.complete(link.id, String(uploaded.id));
    await stage(
      'ok',
      `file ${d.contentVersionId} "${d.fileName}" (${cap.bytes()} bytes) uploaded to "${target.folder}" as attachment ${uploaded.id}`,
      1,
    );
    return 'uploaded';
  } finally {
    await release();
  }
}

function findByNotes(folders: FnAttachmentFolder[], marker: string): FnAttachment | undefined {
  return folders.flatMap((f) => f.results ?? []).find((a) => a.notes === marker);
}

function causedBy(err: unknown, type: new (...args: never[]) => Error): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof type) return true;
  return false;
}
