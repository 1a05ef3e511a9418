import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import multer from 'multer';
import { endpointKey } from '../core/counters';
import { SfError, invalidSession, notFound } from '../core/sf-error';
import type { SimContext } from '../sim-context';

/** Largest ContentVersion a multipart insert takes (Salesforce REST docs: 2 GB for ContentVersion). */
export const MAX_MULTIPART_BYTES = 2 * 1024 ** 3;
/** A non-multipart (JSON, base64 VersionData) insert: 50 MB of request, 37.5 MB of data (same docs). */
const MAX_JSON_BYTES = 50 * 1024 * 1024;

/** Where the bytes of each org's ContentVersions are kept (on disk: a 50 MB file never sits in memory). */
const blobDirs = new WeakMap<SimContext['store'], { dir: string; paths: Map<string, string> }>();

function blobsOf(ctx: SimContext): { dir: string; paths: Map<string, string> } {
  let b = blobDirs.get(ctx.store);
  if (!b) {
    b = { dir: mkdtempSync(path.join(os.tmpdir(), 'sf-sim-files-')), paths: new Map() };
    blobDirs.set(ctx.store, b);
  }
  return b;
}

/** Forget the files of an org state (the simulator's close and reset). */
export function removeContentBlobs(ctx: SimContext): void {
  const b = blobDirs.get(ctx.store);
  if (b) rmSync(b.dir, { recursive: true, force: true });
  blobDirs.delete(ctx.store);
}

/** A new file name in the org's blob directory. */
export function newBlobPath(ctx: SimContext): string {
  return path.join(blobsOf(ctx).dir, `blob-${process.hrtime.bigint()}`);
}

/** The file on disk holding a ContentVersion's VersionData. */
export function versionDataPath(ctx: SimContext, contentVersionId: string): string | undefined {
  return blobsOf(ctx).paths.get(contentVersionId);
}

const FILE_TYPES: Record<string, string> = { txt: 'TEXT', jpg: 'JPG', jpeg: 'JPG', htm: 'HTML', html: 'HTML', doc: 'WORD', docx: 'WORD_X' };
const fileTypeOf = (ext: string) => (ext ? (FILE_TYPES[ext] ?? ext.toUpperCase()) : 'UNKNOWN');

/**
 * Insert a ContentVersion whose bytes are already in `blobFile`, as one transaction: its
 * ContentDocument (or a new version of `ContentDocumentId`), and with FirstPublishLocationId the
 * ContentDocumentLink sharing it with that record, as Salesforce makes them. Returns the version id.
 */
export function insertContentVersion(
  ctx: SimContext,
  entity: Record<string, unknown>,
  blobFile: string,
  userId: string,
  version = '62.0',
): string {
  const store = ctx.store;
  if (typeof entity.PathOnClient !== 'string' || !entity.PathOnClient)
    throw new SfError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [PathOnClient]', ['PathOnClient']);
  const { VersionData: _ignored, ...fields } = entity;
  const size = statSync(blobFile).size;
  const ext = path.extname(entity.PathOnClient).slice(1).toLowerCase();
  const title =
    typeof fields.Title === 'string' && fields.Title ? fields.Title : path.basename(entity.PathOnClient, path.extname(entity.PathOnClient));
  return store.transaction(() => {
    let documentId = typeof fields.ContentDocumentId === 'string' ? fields.ContentDocumentId : undefined;
    let versionNumber = 1;
    if (documentId) {
      const doc = store.locate('ContentDocument', documentId);
      documentId = doc.record.Id as string;
      const versions = store.all(store.objectOrThrow('ContentVersion')).filter((v) => v.ContentDocumentId === documentId);
      versionNumber = versions.length + 1;
      for (const v of versions) store.patchTrusted(v.Id as string, { IsLatest: false });
    } else documentId = store.create('ContentDocument', { Title: title }, userId);
    const id = store.create('ContentVersion', { ...fields, Title: title, ContentDocumentId: documentId }, userId);
    const b = blobsOf(ctx);
    b.paths.set(id, blobFile);
    store.patchTrusted(id, {
      FileExtension: ext || null,
      FileType: fileTypeOf(ext),
      ContentSize: size,
      VersionNumber: String(versionNumber),
      IsLatest: true,
      VersionData: `/services/data/v${version}/sobjects/ContentVersion/${id}/VersionData`,
    });
    store.patchTrusted(documentId, {
      LatestPublishedVersionId: id,
      FileExtension: ext || null,
      FileType: fileTypeOf(ext),
      ContentSize: size,
    });
    const location = fields.FirstPublishLocationId;
    if (versionNumber === 1 && typeof location === 'string' && location)
      store.create('ContentDocumentLink', { ContentDocumentId: documentId, LinkedEntityId: location, ShareType: 'I' }, userId);
    return id;
  });
}

/**
 * Drops a `;` ending a Content-Disposition header line. Keeps the last bytes of each chunk back so a
 * header split across chunks is still seen whole.
 */
function trailingSemicolonFix(): Transform {
  const KEEP = 512;
  let tail = '';
  const fix = (text: string) => text.replace(/(\r\nContent-Disposition:[^\r\n]*?);[ \t]*\r\n/gi, '$1\r\n');
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const text = fix(tail + chunk.toString('latin1'));
      // Cut before a line break, so that the kept part starts with the \r\n a header line needs.
      const at = text.lastIndexOf('\r\n', text.length - KEEP);
      const cut = at > 0 ? at : Math.max(0, text.length - KEEP);
      tail = text.slice(cut);
      cb(null, Buffer.from(text.slice(0, cut), 'latin1'));
    },
    flush(cb) {
      cb(null, Buffer.from(tail, 'latin1'));
    },
  });
}

type UploadedPart = { fieldname: string; path: string; size: number };

/**
 * The parts of a multipart ContentVersion insert, parsed by multer to disk: the JSON entity (a field,
 * or a part with a file name and Content-Type application/json) and the VersionData file.
 */
async function readMultipart(req: Request, res: Response, dir: string): Promise<{ entity: Record<string, unknown>; blobFile: string }> {
  const upload = multer({ dest: dir, limits: { fileSize: MAX_MULTIPART_BYTES, files: 2, fields: 10 } }).any();
  // Salesforce's own example ends the entity part's header with a `;` (`name="entity_content";`),
  // which busboy refuses (it drops the part): the body goes through a fix of that one header first.
  const body = Object.assign(req.pipe(trailingSemicolonFix()), { headers: req.headers }) as unknown as Request;
  req.on('aborted', () => body.destroy(new Error('request aborted')));
  await new Promise<void>((resolve, reject) =>
    upload(body, res, (err: unknown) => {
      if (!err) return resolve();
      const code = (err as { code?: string }).code;
      reject(
        code === 'LIMIT_FILE_SIZE'
          ? new SfError(413, 'STORAGE_LIMIT_EXCEEDED', `file exceeds the maximum size of ${MAX_MULTIPART_BYTES} bytes`)
          : new SfError(400, 'INVALID_MULTIPART_REQUEST', `Multipart message is not well formed: ${(err as Error).message}`),
      );
    }),
  );
  const parts = (body.files ?? []) as UploadedPart[];
  const discard = () => parts.forEach((p) => rmSync(p.path, { force: true }));
  const data = parts.find((p) => p.fieldname === 'VersionData');
  const entityFile = parts.find((p) => /^entity_/i.test(p.fieldname));
  const fields = (body.body ?? {}) as Record<string, unknown>;
  const entityField = Object.keys(fields).find((k) => /^entity_/i.test(k));
  let text: string | undefined;
  if (entityFile) text = readFileSync(entityFile.path, 'utf8');
  else if (entityField) text = String(fields[entityField]);
  for (const p of parts) if (p !== data) rmSync(p.path, { force: true });
  if (text === undefined) {
    discard();
    throw new SfError(400, 'INVALID_MULTIPART_REQUEST', 'The multipart message has no entity_content part');
  }
  if (!data) throw new SfError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [VersionData]', ['VersionData']);
  let entity: unknown;
  try {
    entity = JSON.parse(text);
  } catch (err) {
    entity = undefined;
    void err;
  }
  if (!entity || typeof entity !== 'object' || Array.isArray(entity)) {
    rmSync(data.path, { force: true });
    throw new SfError(400, 'JSON_PARSER_ERROR', 'The entity_content part is not a JSON object');
  }
  return { entity: entity as Record<string, unknown>, blobFile: data.path };
}

/**
 * Salesforce Files over REST, mounted at `/services/data` before the generic REST router (whose JSON
 * parser would refuse a multipart body): `POST /vXX.X/sobjects/ContentVersion` as multipart/form-data
 * (a JSON `entity_content` part and a binary `VersionData` part, "Insert or Update Blob Data") or as
 * JSON with base64 VersionData, and `GET /vXX.X/sobjects/ContentVersion/{id}/VersionData` (the bytes).
 * Each is one API call, authenticated, counted and subject to injected faults like any REST call.
 */
export function contentRouter(getCtx: () => SimContext): express.Router {
  const router = express.Router();
  const json = express.json({ limit: MAX_JSON_BYTES, type: () => true });

  const sendError = (res: Response, ctx: SimContext, err: unknown) => {
    if (res.headersSent) return res.destroy();
    const e = err instanceof SfError ? err : new SfError(500, 'UNKNOWN_EXCEPTION', (err as Error).message);
    res.setHeader('Sforce-Limit-Info', ctx.counters.limitHeader());
    res.status(e.status).json(e.toBody());
  };

  /** Authentication, allowance, counting and faults, as the REST router does; false when already answered. */
  const admit = async (req: Request, res: Response, endpoint: string): Promise<string | false> => {
    const ctx = getCtx();
    res.setHeader('Sforce-Limit-Info', ctx.counters.limitHeader());
    const token = (req.get('authorization') ?? '').replace(/^(Bearer|OAuth)\s+/i, '');
    const session = token ? ctx.sessions.use(token) : undefined;
    if (!session) {
      sendError(res, ctx, invalidSession());
      return false;
    }
    if (ctx.counters.exhausted()) {
      sendError(res, ctx, new SfError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'));
      return false;
    }
    ctx.counters.countApiCall(endpoint);
    res.setHeader('Sforce-Limit-Info', ctx.counters.limitHeader());
    const fault = ctx.faults.take(req.method, `/services/data${req.path}`);
    if (fault?.hang) return false;
    if (fault?.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault?.response) {
      req.resume();
      res.status(fault.response.status).json(fault.response.body);
      return false;
    }
    return session.userId;
  };

  router.post(/^\/v\d+\.\d\/sobjects\/ContentVersion\/?$/, async (req, res) => {
    const ctx = getCtx();
    const userId = await admit(req, res, endpointKey('POST', '/sobjects/ContentVersion'));
    if (userId === false) return;
    let blobFile = newBlobPath(ctx);
    try {
      let entity: Record<string, unknown>;
      if (/^multipart\/form-data/i.test(req.get('content-type') ?? ''))
        ({ entity, blobFile } = await readMultipart(req, res, blobsOf(ctx).dir));
      else {
        entity = await new Promise((resolve, reject) =>
          json(req, res, (err?: unknown) =>
            err ? reject(new SfError(400, 'JSON_PARSER_ERROR', (err as Error).message)) : resolve(req.body),
          ),
        );
        if (typeof entity.VersionData !== 'string')
          throw new SfError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [VersionData]', ['VersionData']);
        writeFileSync(blobFile, Buffer.from(entity.VersionData, 'base64'));
      }
      const id = insertContentVersion(ctx, entity, blobFile, userId, /^\/v(\d+\.\d)/.exec(req.path)![1]!);
      res.status(201).json({ id, success: true, errors: [] });
    } catch (err) {
      rmSync(blobFile, { force: true });
      sendError(res, ctx, err);
    }
  });

  router.get(/^\/v\d+\.\d\/sobjects\/ContentVersion\/([^/]+)\/VersionData\/?$/, async (req, res) => {
    const ctx = getCtx();
    const userId = await admit(req, res, endpointKey('GET', '/sobjects/ContentVersion/{id}/VersionData'));
    if (userId === false) return;
    try {
      const { record } = ctx.store.locate('ContentVersion', String(req.params[0]));
      const file = versionDataPath(ctx, record.Id as string);
      if (!file) throw notFound();
      res.status(200).set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(statSync(file).size) });
      await pipeline(createReadStream(file), res);
    } catch (err) {
      sendError(res, ctx, err);
    }
  });

  return router;
}
