import { createReadStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Router, type NextFunction, type Request, type Response } from 'express';
import multer from 'multer';
import { SimError, notFound } from '../core/sim-error';
import type { AttachmentStore } from './attachments';
import { actorOf } from './work-order.routes';
import type { WorkOrderService } from './work-order.service';
import { validationError } from './work-order.schema';
import { UPLOAD_DIR } from '../contract/contract-check';

export interface AttachmentRoutesDeps {
  service: WorkOrderService;
  attachments: AttachmentStore;
  validationStatus: () => 400 | 422;
}

const idParam = (req: Request, name: string): number => {
  const raw = req.params[name];
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw notFound(name === 'id' ? 'Work order' : name, raw);
  return id;
};

type UploadedFile = { fieldname: string; originalname: string; mimetype: string; path: string; size: number };

// Without the contract check (which parses multipart itself, to disk) the route parses the upload,
// to disk as well: a 50 MB test file never sits in the simulator's memory.
const diskUpload = multer({ dest: UPLOAD_DIR, limits: { fileSize: 2 * 1024 ** 3 } }).any();
const parseUpload = (req: Request, res: Response, next: NextFunction) => {
  if (req.files !== undefined) return next();
  diskUpload(req, res, (err: unknown) => {
    if (err) return next(new SimError(400, `Malformed multipart upload: ${(err as Error).message}`));
    next();
  });
};

/**
 * `GET|POST /workorders/{id}/attachments` (folders with their files; create a folder) and
 * `POST /workorders/{id}/attachments/{folder_id}` (upload one file as multipart/form-data: `file`, and
 * optionally `notes`), mounted at `/api/rest/v2/workorders` (rest-v2.yaml, work-orders.attachments).
 */
export function attachmentRouter(deps: AttachmentRoutesDeps): Router {
  const { service, attachments } = deps;
  const router = Router();
  const workOrderWithAttachments = (id: number) => ({ ...service.render(service.get(id)), attachments: attachments.render(id) });

  router.get('/:id/attachments', (req, res) => {
    res.json(attachments.render(idParam(req, 'id')));
  });

  router.post('/:id/attachments', (req, res) => {
    const id = idParam(req, 'id');
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== 'string' || !b.name.trim())
      throw validationError(deps.validationStatus(), [{ field: 'name', message: 'is required' }]);
    attachments.createFolder(id, { name: b.name.trim(), maxFiles: typeof b.max_files === 'number' ? b.max_files : null });
    res.json(workOrderWithAttachments(id));
  });

  router.post('/:id/attachments/:folderId', parseUpload, (req, res) => {
    const files = (req.files ?? []) as UploadedFile[];
    try {
      const id = idParam(req, 'id');
      const folderId = idParam(req, 'folderId');
      const file = files.find((f) => f.fieldname === 'file');
      if (!file) throw validationError(deps.validationStatus(), [{ field: 'file', message: 'is required' }]);
      const notes = typeof req.body?.notes === 'string' ? req.body.notes : undefined;
      attachments.addFile(id, folderId, { tmpPath: file.path, name: file.originalname, mime: file.mimetype, notes }, actorOf(req, res));
      res.json(workOrderWithAttachments(id));
    } finally {
      for (const f of files) rmSync(f.path, { force: true });
    }
  });

  return router;
}

/** `GET /downloads/attachments/{id}?signature=…`: the body of `file.link`, streamed from disk. */
export function downloadRouter(attachments: AttachmentStore): Router {
  const router = Router();
  router.get('/attachments/:id', async (req, res, next) => {
    const a = attachments.download(Number(req.params.id), typeof req.query.signature === 'string' ? req.query.signature : '');
    if (!a) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    res.status(200).set({
      'Content-Type': a.mime,
      'Content-Length': String(a.size),
      'Content-Disposition': `attachment; filename="${a.name.replace(/["\\\r\n]/g, '_')}"`,
    });
    try {
      await pipeline(createReadStream(a.blobPath), res);
    } catch (err) {
      // The client went away (or a fault cut the answer): nothing more to send.
      if (!res.headersSent) next(err);
    }
  });
  return router;
}
