import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { enqueueBulk, jobId, type QueueOf, type sfFetchQueue } from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import {
  ACK_ENVELOPE,
  OutboundMessageError,
  outboundMessageWsdl,
  parseOutboundMessage,
  soapFault,
} from '@broker/salesforce';
import type { IngressMetrics } from './ingress-metrics';

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
}

/** Store with a deadline: a late success is harmless (job ids collapse the retry). */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`store took longer than ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fatal: a body that is not UTF-8 is refused, not decoded with replacement characters. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const XML = 'text/xml; charset=utf-8';
/** Snapshot values beyond this are dropped from job data (the fetcher reads the record anyway). */
const MAX_SNAPSHOT_VALUE = 1_000;

function tokenMatches(expected: string | undefined, given: string | undefined): boolean {
  if (!expected) return given === undefined;
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function fault(res: Response, deps: OutboundDeps, reason: string, code: 'Client' | 'Server', message: string): void {
  deps.metrics.rejected.inc({ endpoint: 'outbound', reason });
  res.status(500).type(XML).send(soapFault(code, message));
}

/** GET …?wsdl: the WSDL an admin can hand to Salesforce tooling or a SOAP client. */
export function outboundWsdlHandler(deps: OutboundDeps) {
  return (req: Request, res: Response): void => {
    const connection = deps.connections.get(String(req.params.connectionId));
    if (!connection || !tokenMatches(connection.salesforce.pathToken, req.params.pathToken as string | undefined) || !('wsdl' in req.query)) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    const sObjectType = typeof req.query.object === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(req.query.object)
      ? req.query.object
      : Object.keys(connection.objects)[0] ?? 'Case';
    const location = `${deps.publicUrl}${req.baseUrl}${req.path}`;
    res.type(XML).send(outboundMessageWsdl({ sObjectType, fields: ['Id'], location }));
  };
}

/**
 * POST /salesforce/outbound/{connectionId}[/{pathToken}]: parse, check the org, store one
 * sf.fetch job per notification, and only then acknowledge. Any failure is a SOAP fault (HTTP
 * 500) so that Salesforce keeps the message and retries.
 */
export function outboundMessageHandler(deps: OutboundDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const connection = deps.connections.get(String(req.params.connectionId));
    // Unknown connection and wrong token answer alike: the endpoint reveals nothing.
    if (!connection || !tokenMatches(connection.salesforce.pathToken, req.params.pathToken as string | undefined)) {
      return fault(res, deps, 'unknown-endpoint', 'Client', 'unknown endpoint');
    }
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) return fault(res, deps, 'empty', 'Client', 'empty request body');

    let xml: string;
    try {
      xml = utf8.decode(body);
    } catch {
      return fault(res, deps, 'encoding', 'Client', 'body is not valid UTF-8');
    }

    let message;
    try {
      message = parseOutboundMessage(xml);
    } catch (err) {
      if (err instanceof OutboundMessageError) {
        deps.logger.warn({ connectionId: connection.id, reason: err.message }, 'invalid outbound message');
        return fault(res, deps, 'invalid', 'Client', err.message);
      }
      throw err;
    }
    if (message.organizationId.slice(0, 15) !== connection.salesforce.organizationId.slice(0, 15)) {
      deps.logger.warn({ connectionId: connection.id, organizationId: message.organizationId }, 'outbound message from another org');
      return fault(res, deps, 'wrong-org', 'Client', 'organization id does not match this endpoint');
    }
    const unknown = message.notifications.find((n) => !connection.objects[n.sObjectType]);
    if (unknown) {
      return fault(res, deps, 'unknown-object', 'Client', `object ${unknown.sObjectType} is not configured for connection ${connection.id}`);
    }

    const receivedAt = new Date().toISOString();
    const jobs = message.notifications.map((n) => {
      const snapshot: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(n.fields)) {
        if (v === null || v.length <= MAX_SNAPSHOT_VALUE) snapshot[k] = v;
      }
      return {
        name: 'fetch-record' as const,
        data: {
          connectionId: connection.id,
          sfObject: n.sObjectType,
          sfId: n.sfId,
          notificationId: n.id,
          source: 'outbound-message' as const,
          receivedAt,
          snapshot,
        },
        // Salesforce redelivers with the same notification id: same job id, stored once.
        opts: { jobId: jobId('om', connection.id, n.id) },
      };
    });

    const stop = deps.metrics.storeSeconds.startTimer({ endpoint: 'outbound' });
    try {
      if (!deps.storeReady()) throw new Error('Redis is not connected');
      await withDeadline(enqueueBulk(deps.fetchQueue, jobs), deps.storeTimeoutMs);
    } catch (err) {
      deps.logger.error({ connectionId: connection.id, err: { message: (err as Error).message } }, 'could not store notifications; not acknowledging');
      return fault(res, deps, 'store-unavailable', 'Server', 'temporarily unable to store the notifications; retry later');
    } finally {
      stop();
    }
    for (const n of message.notifications) deps.metrics.notifications.inc({ connection: connection.id, object: n.sObjectType });
    res.status(200).type(XML).send(ACK_ENVELOPE);
  };
}
