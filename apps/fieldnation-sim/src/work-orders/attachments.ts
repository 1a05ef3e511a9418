import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fnDateTime } from '../core/date-time';
import { SimError, notFound } from '../core/sim-error';
import type { SimUser } from './catalogue';
import type { EventSink } from './work-order-events';
import { collection, userSummary, workOrderZone } from './work-order.render';
import type { WorkOrderService } from './work-order.service';

/** A work order's attachment folder (rest-v2.yaml AttachmentFolderDto). */
export interface FolderRecord {
  id: number;
  workOrderId: number;
  name: string;
  type: string;
  maxFiles: number | null;
  files: AttachmentRecord[];
}

/** One uploaded file (AttachmentDto); the bytes live on disk, never in memory. */
export interface AttachmentRecord {
  id: number;
  folderId: number;
  workOrderId: number;
  name: string;
  mime: string;
  size: number;
  notes: string;
  author: SimUser;
  created: number;
  /** Where the body is kept (a file under the simulator's own temporary directory). */
  blobPath: string;
}

export interface NewFile {
  /** A file the upload was streamed to: moved into the store (no copy in memory). */
  tmpPath?: string;
  /** Or the bytes themselves (in-process helpers for small files). */
  content?: Buffer | string;
  name: string;
  mime?: string;
  notes?: string;
}

/**
 * Attachment folders and files of the simulator's work orders. Uploads are kept on disk under a
 * temporary directory of the simulator; `file.link` is a signed download URL outside the REST API
 * (Field Nation documents no download operation in rest-v2.yaml, only `FileDto.link`: "File download
 * link"), answered by `/downloads/attachments/{id}?signature=…` without an access token, as a
 * pre-signed storage URL would be [I] (docs/simulator-fieldnation.md).
 */
export class AttachmentStore {
  private readonly folders = new Map<number, FolderRecord[]>();
  private nextFolderId = 300_001;
  private nextAttachmentId = 500_001;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'fn-sim-files-'));
  private readonly signingKey = randomBytes(32);

  constructor(
    private readonly deps: {
      service: WorkOrderService;
      emit: EventSink;
      baseUrl: () => string;
      /** Largest file accepted (bytes). */
      maxBytes: () => number;
    },
  ) {}

  reset(): void {
    for (const list of this.folders.values()) for (const f of list) for (const a of f.files) rmSync(a.blobPath, { force: true });
    this.folders.clear();
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  folderList(workOrderId: number): FolderRecord[] {
    this.deps.service.get(workOrderId);
    return this.folders.get(workOrderId) ?? [];
  }

  folder(workOrderId: number, folderId: number): FolderRecord {
    const folder = this.folderList(workOrderId).find((f) => f.id === folderId);
    if (!folder) throw notFound('Attachment folder', folderId);
    return folder;
  }

  createFolder(workOrderId: number, input: { name: string; maxFiles?: number | null; type?: string }): FolderRecord {
    const list = this.folderList(workOrderId);
    const folder: FolderRecord = {
      id: this.nextFolderId++,
      workOrderId,
      name: input.name,
      type: input.type ?? 'document',
      maxFiles: input.maxFiles ?? null,
      files: [],
    };
    this.folders.set(workOrderId, [...list, folder]);
    return folder;
  }

  /** The folder of that name, made when missing (the technician app's "Deliverables" folder). */
  folderNamed(workOrderId: number, name: string): FolderRecord {
    return this.folderList(workOrderId).find((f) => f.name === name) ?? this.createFolder(workOrderId, { name, type: 'deliverable' });
  }

  /** Store a file; a provider's upload emits `workorder.provider_upload` (the event's name says who). */
  addFile(workOrderId: number, folderId: number, file: NewFile, actor: SimUser): AttachmentRecord {
    const folder = this.folder(workOrderId, folderId);
    if (folder.maxFiles !== null && folder.files.length >= folder.maxFiles) {
      throw new SimError(400, `Folder ${folder.name} holds at most ${folder.maxFiles} files`);
    }
    const id = this.nextAttachmentId++;
    const blobPath = path.join(this.dir, String(id));
    if (file.tmpPath) {
      try {
        renameSync(file.tmpPath, blobPath);
      } catch {
        // Another file system (the upload directory): copy, then the caller's temporary file goes.
        copyFileSync(file.tmpPath, blobPath);
        rmSync(file.tmpPath, { force: true });
      }
    } else writeFileSync(blobPath, file.content ?? '');
    const size = statSync(blobPath).size;
    if (size > this.deps.maxBytes()) {
      rmSync(blobPath, { force: true });
      throw new SimError(413, `File too large: ${size} bytes, at most ${this.deps.maxBytes()}`);
    }
    const attachment: AttachmentRecord = {
      id,
      folderId,
      workOrderId,
      name: file.name,
      mime: file.mime || 'application/octet-stream',
      size,
      notes: file.notes ?? '',
      author: actor,
      created: Date.now(),
      blobPath,
    };
    folder.files.push(attachment);
    if (actor.role === 'provider') {
      const wo = this.deps.service.get(workOrderId);
      this.deps.emit({
        workOrderId,
        actor,
        at: Date.now(),
        events: [
          {
            name: 'workorder.provider_upload',
            params: { work_order_id: workOrderId, folder_id: folderId, attachment_id: id, file_name: file.name },
          },
        ],
        workorder: this.deps.service.render(wo),
      });
    }
    return attachment;
  }

  /** The attachment a signed download link names, or undefined when the signature does not match. */
  download(attachmentId: number, signature: string): AttachmentRecord | undefined {
    const expected = Buffer.from(this.sign(attachmentId));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    for (const list of this.folders.values()) for (const f of list) for (const a of f.files) if (a.id === attachmentId) return a;
    return undefined;
  }

  private sign(attachmentId: number): string {
    return createHmac('sha256', this.signingKey).update(String(attachmentId)).digest('hex').slice(0, 32);
  }

  linkOf(a: AttachmentRecord): string {
    return `${this.deps.baseUrl()}/downloads/attachments/${a.id}?signature=${this.sign(a.id)}`;
  }

  renderAttachment(a: AttachmentRecord, zone: string): Record<string, unknown> {
    const ext = path.extname(a.name).slice(1).toLowerCase();
    return {
      id: a.id,
      folder_id: a.folderId,
      workorder_id: a.workOrderId,
      author: userSummary(a.author),
      file: { name: a.name, mime: a.mime, size_bytes: a.size, link: this.linkOf(a), type: ext || 'file' },
      created: fnDateTime(a.created, zone),
      notes: a.notes,
      status: 'PENDING',
      show_before_assignment: false,
      actions: ['edit', 'delete'],
    };
  }

  /** AttachmentsDto: the folders, each with its files. */
  render(workOrderId: number): Record<string, unknown> {
    const zone = workOrderZone(this.deps.service.get(workOrderId));
    return collection(
      this.folderList(workOrderId).map((f) => ({
        id: f.id,
        name: f.name,
        type: f.type,
        ...(f.maxFiles !== null ? { max_files: f.maxFiles } : {}),
        max_bytes: this.deps.maxBytes(),
        actions: ['upload'],
        metadata: { total: f.files.length, page: 1, pages: 1, per_page: Math.max(f.files.length, 25) },
        results: f.files.map((a) => this.renderAttachment(a, zone)),
      })),
      ['add'],
    );
  }
}
