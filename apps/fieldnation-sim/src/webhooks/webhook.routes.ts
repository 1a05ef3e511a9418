import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { SimError } from '../core/sim-error';
import { EVENT_CATALOGUE, EVENT_NAMES } from '../work-orders/work-order-events';
import type { WebhookDeliveryOptions } from '../sim-options';
import type { WebhookInput, WebhookRecord, WebhookRegistry } from './webhook-registry';
import type { DeliveryRecord, WebhookSender } from './webhook-sender';

export interface WebhookRoutesDeps {
  registry: WebhookRegistry;
  sender: WebhookSender;
  options: () => WebhookDeliveryOptions;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Validates a webhook body the way the v3 API does; `allowHttp` relaxes the https-only rule for local tests. */
export function parseWebhookInput(body: unknown, partial: boolean, allowHttp: WebhookDeliveryOptions['allowHttp']): Partial<WebhookInput> {
  const schema = z.object({
    url: z.string().refine((u) => {
      try {
        const url = new URL(u);
        if (url.protocol === 'https:') return true;
        return url.protocol === 'http:' && (allowHttp === 'any' || (allowHttp === 'localhost' && LOOPBACK.has(url.hostname)));
      } catch {
        return false;
      }
    }, 'url must be a valid https URL'),
    method: z
      .enum(['post', 'put', 'POST', 'PUT'])
      .transform((m) => m.toLowerCase() as 'post' | 'put')
      .optional(),
    status: z.enum(['active', 'inactive', 'archived']).optional(),
    events: z
      .array(z.string().refine((e) => EVENT_NAMES.has(e), { error: (iss) => `unknown event '${String(iss.input)}'` }))
      .min(1, 'events must contain at least one event'),
    // webhooks-v3.yaml: `secret` has `format: uuid` (create and update); Field Nation generates one when omitted.
    secret: z
      .uuid({ error: 'secret must be a UUID (e.g. 01999f51-5c66-4449-b441-6b4a053fee6a); omit it to have one generated' })
      .optional(),
    notificationEmail: z.string().email().nullable().optional(),
    modelProperties: z.array(z.string()).optional(),
    isIntegrationOnly: z.boolean().optional(),
    webhookAttribute: z
      .object({
        header: z
          .record(z.string(), z.string())
          .refine((h) => Object.keys(h).every((k) => !k.toLowerCase().startsWith('x-fn-')), 'custom headers may not start with x-fn-')
          .optional(),
      })
      .optional(),
    signatureMode: z.enum(['v3', 'legacy', 'both']).optional(),
  });
  const result = (partial ? schema.partial() : schema).safeParse(body ?? {});
  if (!result.success) {
    throw new SimError(400, result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  }
  return result.data as Partial<WebhookInput>;
}

const envelope = (result: unknown, metadata: Record<string, unknown> = {}) => ({
  metadata: { timestamp: new Date().toISOString(), ...metadata },
  result,
});

/** webhooks-v3.yaml: `deliveryStatus` is the HTTP status your endpoint answered (a number). */
const httpStatusOf = (d: DeliveryRecord): number => d.attempts.at(-1)?.status ?? 0;

/**
 * A delivery as webhooks-v3.yaml's DeliveryLog item has it: `deliveryStatus` the latest attempt's HTTP
 * status (0 before any answer: none yet, or a network error), `deliveryAttempt` the attempts made.
 * The simulator's own state word (`pending`, `retrying`, `delivered`, `failed`) is kept as
 * `deliveryState`; the detail's `delivery_log` (a pre-signed URL at Field Nation) points at /__sim.
 */
const publicDelivery = (d: DeliveryRecord, detail?: { origin: string }) => {
  const last = d.attempts.at(-1);
  return {
    deliveryId: d.deliveryId,
    webhookId: d.webhookId,
    workOrderId: d.workOrderId,
    eventName: d.eventName,
    eventTraceId: d.traceId,
    deliveryStatus: httpStatusOf(d),
    deliveryAttempt: d.attempts.length,
    deliveryState: d.deliveryStatus,
    error: last?.error ?? null,
    nextAttemptAt: d.nextAttemptAt ? new Date(d.nextAttemptAt).toISOString() : null,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(last?.at ?? d.createdAt).toISOString(),
    ...(detail
      ? {
          attemptsLog: d.attempts,
          request: { body: d.body },
          delivery_log: `${detail.origin}/__sim/deliveries?deliveryId=${encodeURIComponent(d.deliveryId)}`,
        }
      : {}),
  };
};

const webhookView = (hook: WebhookRecord, fields?: string) => {
  // webhooks-v3.yaml types notificationEmail as a string: a webhook without one leaves it out.
  const entries = Object.entries(hook).filter(([k, v]) => !(k === 'notificationEmail' && v === null));
  if (!fields) return Object.fromEntries(entries);
  const keep = new Set(fields.split(',').map((f) => f.trim()));
  return Object.fromEntries(entries.filter(([k]) => keep.has(k) || k === 'webhookId'));
};

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** Webhooks v3 management API under `/api/v1/webhooks` (reference §8.1). */
export function webhookRouter(deps: WebhookRoutesDeps): Router {
  const router = Router();
  router.use(express.json());
  const userId = (res: Response) => (res.locals.user as { id: number }).id;
  const hookOr404 = (id: string) => {
    const hook = deps.registry.get(id);
    if (!hook) throw new SimError(404, `Webhook ${id} not found`);
    return hook;
  };

  router.get('/events', (req, res) => {
    const model = str(req.query.model);
    res.json(envelope(EVENT_CATALOGUE.filter(() => !model || model === 'WorkOrder').map((e) => ({ ...e, model: 'WorkOrder' }))));
  });

  router.get('/delivery-logs', (req, res) => {
    const perPage = Math.min(500, Math.max(1, Number(req.query.perPage ?? 50)));
    const page = Math.max(1, Number(req.query.page ?? 1));
    const workOrderId = str(req.query.workOrderId);
    const status = str(req.query.deliveryStatus);
    const all = deps.sender
      .list({
        webhookId: str(req.query.webhookId),
        workOrderId: workOrderId === undefined ? undefined : Number(workOrderId),
        eventName: str(req.query.eventName),
        deliveryId: str(req.query.deliveryId),
      })
      .filter((d) => status === undefined || String(httpStatusOf(d)) === status)
      .slice()
      .reverse();
    res.json(
      envelope(
        all.slice((page - 1) * perPage, page * perPage).map((d) => publicDelivery(d)),
        { count: Math.min(perPage, all.length), total: all.length, page, perPage },
      ),
    );
  });

  router.get('/delivery-logs/:deliveryId', (req, res) => {
    const d = deps.sender.get(req.params.deliveryId.split(':')[0]!);
    if (!d) throw new SimError(404, `Delivery ${req.params.deliveryId} not found`);
    res.json(envelope(publicDelivery(d, { origin: `${req.protocol}://${req.get('host')}` })));
  });

  router.patch('/delivery-logs/:deliveryId/retry', (req, res) => {
    const jobId = deps.sender.retry(req.params.deliveryId.split(':')[0]!);
    if (!jobId) throw new SimError(404, `Delivery ${req.params.deliveryId} not found`);
    res.json(envelope({ job_id: jobId }));
  });

  router.get('/', (req, res) => {
    const perPage = Math.max(1, Number(req.query.perPage ?? 25));
    const page = Math.max(1, Number(req.query.page ?? 1));
    const sortBy = (str(req.query.sortBy) ?? 'id') as keyof WebhookRecord;
    const direction = req.query.sortDirection === 'DESC' ? -1 : 1;
    const search = str(req.query.search)?.toLowerCase();
    const hooks = deps.registry
      .list()
      .filter((h) => !str(req.query.status) || h.status === req.query.status)
      .filter((h) => !str(req.query.webhookId) || h.webhookId === req.query.webhookId)
      .filter((h) => !search || h.url.toLowerCase().includes(search) || h.events.some((e) => e.includes(search)))
      .sort((a, b) => (String(a[sortBy]) < String(b[sortBy]) ? -direction : String(a[sortBy]) > String(b[sortBy]) ? direction : 0));
    const fields = str(req.query.fields);
    res.json(
      envelope(
        hooks.slice((page - 1) * perPage, page * perPage).map((h) => webhookView(h, fields)),
        { count: Math.min(perPage, hooks.length), total: hooks.length, page, perPage },
      ),
    );
  });

  router.post('/', (req, res) => {
    const input = parseWebhookInput(req.body, false, deps.options().allowHttp) as WebhookInput;
    res.json(envelope(webhookView(deps.registry.create(input, userId(res)))));
  });

  router.get('/:webhookId', (req, res) => {
    res.json(envelope(webhookView(hookOr404(req.params.webhookId), str(req.query.fields))));
  });

  router.put('/:webhookId', (req, res) => {
    hookOr404(req.params.webhookId);
    const input = parseWebhookInput(req.body, true, deps.options().allowHttp);
    res.json(envelope(webhookView(deps.registry.update(req.params.webhookId, input, userId(res))!)));
  });

  router.delete('/:webhookId', (req, res) => {
    hookOr404(req.params.webhookId);
    res.json(envelope(webhookView(deps.registry.delete(req.params.webhookId, userId(res))!)));
  });

  router.get('/:webhookId/history', (req, res) => {
    hookOr404(req.params.webhookId);
    res.json(envelope(deps.registry.historyOf(req.params.webhookId)));
  });

  router.delete('/:webhookId/:attributeType/:attributeName', (req, res) => {
    hookOr404(req.params.webhookId);
    const hook = deps.registry.removeAttribute(req.params.webhookId, req.params.attributeType, req.params.attributeName, userId(res));
    if (!hook) throw new SimError(404, `Attribute ${req.params.attributeType}/${req.params.attributeName} not found`);
    res.json(envelope(webhookView(hook)));
  });

  return router;
}

export const webhookErrorPath = (req: Request) => req.originalUrl.split('?')[0] ?? req.path;
