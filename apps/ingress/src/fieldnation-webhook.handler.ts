import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  enqueue,
  fieldNationEventJobId,
  FieldNationWebhookBodySchema,
  PayloadError,
  type fnEventQueue,
  type QueueOf,
} from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { checkWebhookTimestamp, parseDeliveryId, verifyLegacyHash, verifyWebhookSignature, webhookBodyHash } from '@broker/fieldnation';
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

/** Deeper than any payload Field Nation sends (the work order is ~5 levels); JSON.parse recursion stays far away. */
export const MAX_JSON_DEPTH = 64;

/**
 * Nesting depth of JSON text, counted over the bytes without parsing (brackets inside strings do not
 * count): stops at `max` + 1, so a 20,000-level body costs one short loop instead of a deep parse.
 */
export function jsonDepthExceeds(raw: Buffer, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (inString) {
      if (b === 0x5c /* \ */) i++;
      else if (b === 0x22 /* " */) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b /* { */ || b === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (b === 0x7d /* } */ || b === 0x5d /* ] */) depth--;
  }
  return false;
}

/**
 * POST /fieldnation/webhooks/{connectionId}: verify the signature on the raw bytes before parsing,
 * refuse a signed timestamp beyond Field Nation's retry horizon, and store one fn.event job keyed
 * by the hash of the signed body: a redelivery, or a replay under another (or no) delivery id,
 * collapses onto it, and the mapper drops a body its ledger has already processed. 2xx only once
 * stored; 4xx for what a retry cannot fix (bad signature, unparseable, stale), 503 when Redis is down
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
    // Read by the payload capture: only signed deliveries may be captured.
    res.locals.authenticated = true;

    if (jsonDepthExceeds(raw)) return reject(res, 400, 'too-deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    } catch {
      return reject(res, 400, 'malformed', 'body is not a JSON object');
    }
    const envelope = FieldNationWebhookBodySchema.safeParse(parsed);
    const body = envelope.success ? envelope.data : undefined;
    const eventName = body?.event.name;
    // work_order_id is a number or a string depending on the rendering (reference §8.4).
    const workOrderId = Number(body?.workorder?.id ?? body?.event.params?.work_order_id);
    if (!body || !eventName || !Number.isSafeInteger(workOrderId) || workOrderId <= 0) {
      return reject(res, 400, 'malformed', 'event.name and workorder.id are required');
    }
    const timestamp = checkWebhookTimestamp(body.timestamp);
    if (!timestamp.ok) {
      deps.logger.warn({ connectionId: connection.id, reason: timestamp.reason }, 'webhook timestamp refused');
      return reject(res, 400, `timestamp-${timestamp.reason}`, timestamp.message);
    }
    // The delivery id header is not signed: its shape is checked, but it is never taken as the identity.
    const deliveryHeader = header(req, 'x-fn-delivery-id');
    if (deliveryHeader !== undefined && !parseDeliveryId(deliveryHeader))
      return reject(res, 400, 'malformed', 'X-FN-Delivery-Id header is malformed');
    const key = webhookBodyHash(raw);

    const receivedAt = new Date().toISOString();
    const occurredAt = timestamp.at.toISOString();
    try {
      if (!deps.storeReady()) throw new Error('Redis is not connected');
      await withDeadline(
        enqueue(
          deps.eventQueue,
          'fn-event',
          { connectionId: connection.id, deliveryId: key, eventName, workOrderId, occurredAt, receivedAt, body },
          { jobId: fieldNationEventJobId(connection.id, key) },
        ),
        deps.storeTimeoutMs,
      );
    } catch (err) {
      // A body the job contract refuses would be refused on every retry: permanent, not 503.
      if (err instanceof PayloadError) return reject(res, 400, 'malformed', 'payload does not fit the event contract');
      deps.logger.error(
        { connectionId: connection.id, err: { message: (err as Error).message } },
        'could not store webhook; answering 503',
      );
      return reject(res, 503, 'store-unavailable', 'temporarily unable to store the event; retry later');
    }
    deps.metrics.webhooks.inc({ connection: connection.id, event: eventName });
    res.status(200).json({ received: true });
  };
}
