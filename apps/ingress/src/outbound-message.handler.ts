import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import proxyaddr from 'proxy-addr';
import { FetchRecordJob, fetchJobId, parsePayload, PayloadError, type JobDataOf, type QueueOf, type sfFetchQueue } from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { ACK_ENVELOPE, OutboundMessageError, outboundMessageWsdl, parseOutboundMessage, soapFault } from '@broker/salesforce';
import type { IngressMetrics } from './ingress-metrics';
import type { GuardRequest, OutboundGuard } from './outbound-guard';
import type { PayloadCapture } from './payload-capture';
import { readBody } from './request-body';
import { createStandardJobWriter, type StandardJob, type StandardJobWriter } from './standard-job-writer';

export interface OutboundDeps {
  connections: Map<string, ConnectionConfig>;
  fetchQueue: QueueOf<typeof sfFetchQueue>;
  logger: Logger;
  metrics: IngressMetrics;
  /** Public base URL of the ingress, for the WSDL's service location. */
  publicUrl: string;
  /** False while Redis is unreachable: answer at once instead of waiting for a connection. */
  storeReady: () => boolean;
  /** Upper bound on storing one request's jobs before answering a fault (Salesforce then retries). */
  storeTimeoutMs: number;
  /** Path token, source network and client certificate checks (before the body is read). */
  guard: OutboundGuard;
  /**
   * Database mode: the check applying a configuration version announced as newer than the one in
   * force, if one runs (ConfigWatch.applying). A message for an object this ingress does not accept
   * waits for it (at most storeTimeoutMs), so a record of an object added by a save just made is
   * acknowledged, not refused into Salesforce's retry backoff.
   */
  configApplying?: () => Promise<void> | undefined;
}

/** Store with a deadline: a late success is harmless (job ids collapse the retry). */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`store took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fatal: a body that is not UTF-8 is refused, not decoded with replacement characters. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const XML = 'text/xml; charset=utf-8';
/** Snapshot values beyond this are dropped from job data (the fetcher reads the record anyway). */
const MAX_SNAPSHOT_VALUE = 1_000;
/**
 * Snapshot bytes kept per job: Redis runs with noeviction, so what a request can make it hold is
 * bounded per job, not only per request. Ids and a few short fields fit; the record is read anyway.
 */
export const MAX_SNAPSHOT_BYTES = 4_096;

/** The notification's fields, in order, while they fit {@link MAX_SNAPSHOT_BYTES}. */
export function cappedSnapshot(fields: Record<string, string | null>): Record<string, string | null> {
  const snapshot: Record<string, string | null> = {};
  let bytes = 2;
  for (const k in fields) {
    const v = fields[k] as string | null;
    if (v !== null && v.length > MAX_SNAPSHOT_VALUE) continue;
    // JSON size of "k":"v", (escapes aside, which the margin covers).
    const size = Buffer.byteLength(k) + (v === null ? 4 : Buffer.byteLength(v) + 2) + 4;
    if (bytes + size > MAX_SNAPSHOT_BYTES) continue;
    snapshot[k] = v;
    bytes += size;
  }
  return snapshot;
}

type FetchContract = typeof sfFetchQueue;
type FetchPayload = JobDataOf<FetchContract, 'fetch-record'>;

/** The fetch-record fields that differ between the notifications of one message; the others are the message's own. */
export const PER_NOTIFICATION_FIELDS = ['sfObject', 'sfId', 'notificationId', 'snapshot'] as const;

/** The sf.fetch contract's snapshot schema: a record of strings and nulls, nothing more (fetch-payload-check.spec.ts pins it). */
const PINNED_SNAPSHOT = FetchRecordJob.shape.snapshot;

/**
 * A plain object whose own keys are strings with string or null values: accepted by
 * {@link PINNED_SNAPSHOT} (which may accept more, e.g. another prototype: then zod decides), checked
 * without zod's copy of the record (900 bytes of garbage per notification).
 */
export function isStringRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  // Own keys, as zod's record reads them (non-enumerable and symbol keys included).
  for (const k of Reflect.ownKeys(value)) {
    if (typeof k !== 'string') return false;
    const v = (value as Record<string, unknown>)[k];
    if (v !== null && typeof v !== 'string') return false;
  }
  return true;
}

/**
 * The contract's check of one message's payloads, with the parts they share checked once: the
 * first payload whole (its message-wide fields and any rule on the whole object), then each other
 * payload's own fields with the contract's schemas of those fields: sfObject once per value (the
 * check reads the value only), a snapshot by {@link isStringRecord} while the contract's schema is
 * the pinned one (zod when not, or to name what is wrong). A payload whose message-wide fields are
 * not the first one's is checked whole. Throws PayloadError, as parsePayload does, before anything
 * is stored.
 */
export function checkFetchPayloads(contract: FetchContract, payloads: readonly FetchPayload[]): void {
  const first = payloads[0];
  if (!first) return;
  parsePayload(contract, 'fetch-record', first);
  const shape = contract.jobs['fetch-record'].shape;
  const refuse = (field: string, issues: z.core.$ZodIssue[]) =>
    new PayloadError(
      contract.name,
      'fetch-record',
      issues.map((issue) => `${[field, ...issue.path].join('.')}: ${issue.message}`),
    );
  const check = (field: (typeof PER_NOTIFICATION_FIELDS)[number], value: unknown) => {
    const result = shape[field].safeParse(value);
    if (!result.success) throw refuse(field, result.error.issues);
  };
  let checkedObject = first.sfObject;
  for (let i = 1; i < payloads.length; i++) {
    const p = payloads[i]!;
    if (p.connectionId !== first.connectionId || p.source !== first.source || p.receivedAt !== first.receivedAt) {
      parsePayload(contract, 'fetch-record', p);
      continue;
    }
    if (p.sfObject !== checkedObject) {
      check('sfObject', p.sfObject);
      checkedObject = p.sfObject;
    }
    check('sfId', p.sfId);
    check('notificationId', p.notificationId);
    if (shape.snapshot !== PINNED_SNAPSHOT || !isStringRecord(p.snapshot)) check('snapshot', p.snapshot);
  }
}

const GUARD_MESSAGES = {
  'unknown-endpoint': 'unknown endpoint',
  'source-not-allowed': 'source address not allowed for this endpoint',
  'client-certificate': 'client certificate missing or not accepted for this endpoint',
} as const;

type TrustProxy = GuardRequest['trustProxy'];

/** One write: status line, headers and the XML (Express's send wrote headers and body apart). */
function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': XML, 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

function fault(res: ServerResponse, deps: OutboundDeps, reason: string, code: 'Client' | 'Server', message: string): void {
  deps.metrics.rejected.inc({ endpoint: 'outbound', reason });
  sendXml(res, 500, soapFault(code, message));
}

/**
 * The guard's verdict on a request, and the refusal when it fails: unknown endpoint and wrong token
 * answer alike. The socket is closed with the answer, so an unread body is not drained on a
 * keep-alive connection.
 */
function refused(
  deps: OutboundDeps,
  req: GuardRequest,
  res: ServerResponse,
  connectionId: string,
  pathToken: string | undefined,
  method: string,
): boolean {
  const connection = deps.connections.get(connectionId);
  const verdict = deps.guard.check(req, connection, pathToken);
  if (verdict.ok) return false;
  if (verdict.reason !== 'unknown-endpoint')
    deps.logger.warn({ connectionId: connection?.id, reason: verdict.reason, source: req.ip }, 'outbound message refused');
  res.setHeader('connection', 'close');
  if (method === 'GET') {
    deps.metrics.rejected.inc({ endpoint: 'outbound', reason: verdict.reason });
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found');
  } else fault(res, deps, verdict.reason, 'Client', GUARD_MESSAGES[verdict.reason]);
  return true;
}

/** Before the WSDL handler: refuse a request without the connection's path token (or from outside its networks, or without its client certificate). */
export function outboundGate(deps: OutboundDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const client: GuardRequest = {
      get ip() {
        return req.ip;
      },
      socket: req.socket,
      headers: req.headers,
      trustProxy: req.app.get('trust proxy fn') as TrustProxy,
    };
    if (!refused(deps, client, res, String(req.params.connectionId), req.params.pathToken as string | undefined, req.method)) next();
  };
}

/** GET …?wsdl: the WSDL an admin can hand to Salesforce tooling or a SOAP client (after outboundGate). */
export function outboundWsdlHandler(deps: OutboundDeps) {
  return (req: Request, res: Response): void => {
    const connection = deps.connections.get(String(req.params.connectionId));
    if (!connection || !('wsdl' in req.query)) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    const sObjectType =
      typeof req.query.object === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(req.query.object)
        ? req.query.object
        : (Object.keys(connection.objects)[0] ?? 'Case');
    const location = `${deps.publicUrl}${req.baseUrl}${req.path}`;
    res.type(XML).send(outboundMessageWsdl({ sObjectType, fields: ['Id'], location }));
  };
}

export interface OutboundPostOptions {
  maxBodyBytes: number;
  /** Express's compiled `trust proxy` setting: req.ip is computed as Express computes it. */
  trustProxy: TrustProxy;
  capture?: PayloadCapture;
}

/**
 * POST /salesforce/outbound/{connectionId}/{pathToken}, served on the plain Node request (the
 * ingress's busiest route; Express's routing and body parser cost more than storing the message):
 * the guard before a byte of the body is read, then the bounded body, a bounded scan of the org and
 * the notification count, the parse, one sf.fetch job per notification, and only then the
 * acknowledgement. Any failure is a SOAP fault (HTTP 500): Salesforce keeps the message and retries.
 */
export function outboundMessagePost(deps: OutboundDeps, options: OutboundPostOptions) {
  const { maxBodyBytes, trustProxy, capture } = options;
  const writer = createStandardJobWriter(deps.fetchQueue);
  return (req: IncomingMessage, res: ServerResponse, connectionId: string, pathToken: string | undefined): void => {
    const client: GuardRequest = {
      get ip() {
        return proxyaddr(req, trustProxy);
      },
      socket: req.socket,
      headers: req.headers,
      trustProxy,
    };
    if (refused(deps, client, res, connectionId, pathToken, 'POST')) return;
    const connection = deps.connections.get(connectionId)!;
    readBody(req, maxBodyBytes, (err, body) => {
      if (err) {
        // The path token is a credential: it never reaches the logs.
        deps.logger.warn(
          { path: `/salesforce/outbound/${connection.id}/[redacted]`, reason: err.reason, err: { message: err.message } },
          'request rejected',
        );
        return fault(
          res,
          deps,
          err.reason,
          err.status < 500 ? 'Client' : 'Server',
          err.reason === 'too-large' ? `request body exceeds ${maxBodyBytes} bytes` : 'request could not be read',
        );
      }
      if (capture && body!.length > 0) capture.watch('outbound-message', { req, res, connectionId: connection.id, body: body! });
      storeAndAck(deps, writer, connection, body!, res).catch((e: unknown) => {
        deps.logger.error({ connectionId: connection.id, err: { message: (e as Error).message } }, 'outbound message handler failed');
        if (!res.headersSent) fault(res, deps, 'error', 'Server', 'request could not be processed');
      });
    });
  };
}

async function storeAndAck(
  deps: OutboundDeps,
  writer: StandardJobWriter,
  connection: ConnectionConfig,
  body: Buffer,
  res: ServerResponse,
): Promise<void> {
  if (body.length === 0) return fault(res, deps, 'empty', 'Client', 'empty request body');
  let xml: string;
  try {
    xml = utf8.decode(body);
  } catch {
    return fault(res, deps, 'encoding', 'Client', 'body is not valid UTF-8');
  }

  let message;
  try {
    message = parseOutboundMessage(xml, { organizationId: connection.salesforce.organizationId });
  } catch (err) {
    if (err instanceof OutboundMessageError) {
      deps.logger.warn(
        { connectionId: connection.id, reason: err.message },
        err.reason === 'wrong-org' ? 'outbound message from another org' : 'invalid outbound message',
      );
      return fault(res, deps, err.reason, 'Client', err.message);
    }
    throw err;
  }
  const notConfigured = () => message.notifications.find((n) => !connection.objects[n.sObjectType]);
  let unknown = notConfigured();
  const applying = unknown && deps.configApplying?.();
  if (applying) {
    await withDeadline(applying, deps.storeTimeoutMs).catch(() => undefined);
    unknown = notConfigured();
  }
  if (unknown) {
    return fault(res, deps, 'unknown-object', 'Client', `object ${unknown.sObjectType} is not configured for connection ${connection.id}`);
  }

  const receivedAt = new Date().toISOString();
  const payloads: FetchPayload[] = message.notifications.map((n) => ({
    connectionId: connection.id,
    sfObject: n.sObjectType,
    sfId: n.sfId,
    notificationId: n.id,
    source: 'outbound-message',
    receivedAt,
    snapshot: cappedSnapshot(n.fields),
  }));

  const stop = deps.metrics.storeSeconds.startTimer({ endpoint: 'outbound' });
  try {
    if (!deps.storeReady()) throw new Error('Redis is not connected');
    checkFetchPayloads(deps.fetchQueue.contract, payloads);
    const jobs: StandardJob[] = payloads.map((p) => ({
      // Salesforce redelivers with the same notification id: same job id, stored once.
      jobId: fetchJobId.outboundMessage(p.connectionId, p.notificationId),
      data: JSON.stringify(p),
    }));
    await withDeadline(writer.add('fetch-record', jobs), deps.storeTimeoutMs);
  } catch (err) {
    deps.logger.error(
      { connectionId: connection.id, err: { message: (err as Error).message } },
      'could not store notifications; not acknowledging',
    );
    return fault(res, deps, 'store-unavailable', 'Server', 'temporarily unable to store the notifications; retry later');
  } finally {
    stop();
  }
  // One increment per object of the message, not per notification.
  const perObject = new Map<string, number>();
  for (const n of message.notifications) perObject.set(n.sObjectType, (perObject.get(n.sObjectType) ?? 0) + 1);
  for (const [object, count] of perObject) deps.metrics.notifications.inc({ connection: connection.id, object }, count);
  sendXml(res, 200, ACK_ENVELOPE);
}
