import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { enqueue, jobId, type fnEventQueue, type QueueOf } from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { parseDeliveryId, verifyLegacyHash, verifyWebhookSignature } from '@broker/fieldnation';
import type { IngressMetrics } from './ingress-metrics';
import { withDeadline } from './outbound-message.handler';

export interface WebhookDeps {
  connections: Map<string, ConnectionConfig>;
  eventQueue: QueueOf<typeof fnEventQueue>;
  logger: Logger;
  metrics: IngressMetrics;
  storeReady: () => boolean;
  storeTimeoutMs: number;
}

const header = (req: Request, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

function toIso(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString();
  if (typeof value === 'string' && value) {
    const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isFinite(n)) return new Date(n).toISOString();
  }
  return undefined;
}

/**
 * POST /fieldnation/webhooks/{connectionId}: verify the signature on the raw bytes before parsing,
 * store one fn.event job keyed by the delivery uuid (attempt suffix dropped, so redeliveries
 * collapse), answer 2xx only once stored. 4xx for what a retry cannot fix, 503 when Redis is down
 * (Field Nation retries 5xx, not 4xx).
 */
export function fieldNationWebhookHandler(deps: WebhookDeps) {
  const reject = (res: Response, status: number, reason: string, message: string) => {
    deps.metrics.rejected.inc({ endpoint: 'webhook', reason });
    res.status(status).json({ error: message });
  };

  return async (req: Request, res: Response): Promise<void> => {
    const connection = deps.connections.get(String(req.params.connectionId));
    if (!connection) return reject(res, 404, 'unknown-endpoint', 'unknown endpoint');
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const secret = connection.fieldnation.webhookSecret;
    const signature = header(req, 'x-fn-signature');
    const legacy = header(req, 'fn-hash');
    const verified = signature
      ? verifyWebhookSignature({ rawBody: raw, signatureHeader: signature, secret })
      : connection.fieldnation.acceptLegacyHash && legacy
        ? verifyLegacyHash({ rawBody: raw, hashHeader: legacy, secret })
        : false;
    if (!verified) {
      deps.logger.warn({ connectionId: connection.id, hasSignature: Boolean(signature || legacy) }, 'webhook signature rejected');
      return reject(res, 401, 'bad-signature', 'invalid or missing signature');
    }

    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return reject(res, 400, 'malformed', 'body is not a JSON object');
    }
    const event = body.event as { name?: unknown; params?: Record<string, unknown> } | undefined;
    const eventName = typeof event?.name === 'string' ? event.name : undefined;
    const workorder = body.workorder as { id?: unknown } | undefined;
    const workOrderId = Number(workorder?.id ?? event?.params?.work_order_id);
    if (!eventName || !Number.isInteger(workOrderId) || workOrderId <= 0) {
      return reject(res, 400, 'malformed', 'event.name and workorder.id are required');
    }
    const deliveryHeader = header(req, 'x-fn-delivery-id');
    // Legacy deliveries may come without a delivery id: the signed body itself then keys the job, so
    // a redelivery of the same bytes still collapses instead of being refused (a 4xx is never retried).
    const delivery = deliveryHeader === undefined ? { uuid: `body${createHash('sha256').update(raw).digest('hex').slice(0, 32)}` } : parseDeliveryId(deliveryHeader);
    if (!delivery) return reject(res, 400, 'malformed', 'X-FN-Delivery-Id header is malformed');

    const receivedAt = new Date().toISOString();
    const occurredAt = toIso(body.timestamp) ?? toIso(header(req, 'x-fn-request-timestamp')) ?? receivedAt;
    try {
      if (!deps.storeReady()) throw new Error('Redis is not connected');
      await withDeadline(enqueue(
        deps.eventQueue,
        'fn-event',
        { connectionId: connection.id, deliveryId: delivery.uuid, eventName, workOrderId, occurredAt, receivedAt, body },
        { jobId: jobId('fn', connection.id, delivery.uuid) },
      ), deps.storeTimeoutMs);
    } catch (err) {
      deps.logger.error({ connectionId: connection.id, err: { message: (err as Error).message } }, 'could not store webhook; answering 503');
      return reject(res, 503, 'store-unavailable', 'temporarily unable to store the event; retry later');
    }
    deps.metrics.webhooks.inc({ connection: connection.id, event: eventName });
    res.status(200).json({ received: true });
  };
}
