import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { SimError } from '../core/sim-error';
import type { WebhookDeliveryOptions } from '../sim-options';
import { parseWebhookInput } from '../webhooks/webhook.routes';
import type { WebhookInput } from '../webhooks/webhook-registry';
import { DEFAULT_PROVIDER_ID } from '../work-orders/catalogue';
import { EVENT_CATALOGUE } from '../work-orders/work-order-events';
import type { SimControl } from './sim-control';

const b = (req: Request): Record<string, unknown> =>
  req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
const num = (v: unknown): number | undefined => (v === undefined || v === null || v === '' ? undefined : Number(v));
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const faultSchema = z.object({
  method: z.string().optional(),
  path: z.string().min(1),
  status: z.number().int().min(100).max(599).optional(),
  latencyMs: z.number().nonnegative().optional(),
  timeout: z.boolean().optional(),
  hangMs: z.number().positive().optional(),
  retryAfterSeconds: z.number().nonnegative().optional(),
  body: z.unknown().optional(),
  count: z.number().int().positive().optional(),
  durationMs: z.number().positive().optional(),
  afterRoute: z.boolean().optional(),
  commitAfterMs: z.number().nonnegative().optional(),
});

/** Test and demo control API under `/__sim` (no authentication: the simulator binds to loopback). */
export function controlRouter(control: SimControl, webhookOptions: () => WebhookDeliveryOptions): Router {
  const router = Router();
  router.use(express.json());

  router.get('/health', (_req, res) => res.json({ ok: true }));
  router.post('/reset', (_req, res) => {
    control.reset();
    res.json({ ok: true });
  });

  router.get('/counters', (_req, res) => res.json(control.counters()));
  router.delete('/counters', (_req, res) => {
    control.resetCounters();
    res.json({ ok: true });
  });

  router.get('/faults', (_req, res) => res.json({ faults: control.listFaults() }));
  router.post('/faults', (req, res) => {
    const parsed = faultSchema.safeParse(req.body);
    if (!parsed.success) throw new SimError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    try {
      res.json(control.injectFault(parsed.data));
    } catch (err) {
      throw new SimError(400, `invalid path pattern: ${(err as Error).message}`);
    }
  });
  router.delete('/faults', (_req, res) => {
    control.clearFaults();
    res.json({ ok: true });
  });
  router.delete('/faults/:id', (req, res) => {
    if (!control.removeFault(req.params.id)) throw new SimError(404, `fault ${req.params.id} not found`);
    res.json({ ok: true });
  });
  router.post('/delivery-faults', (req, res) => {
    const kind = b(req).kind;
    if (kind !== 'duplicate' && kind !== 'reorder') throw new SimError(400, "kind must be 'duplicate' or 'reorder'");
    control.injectDeliveryFault({ kind, count: num(b(req).count) });
    res.json({ ok: true });
  });

  router.get('/deliveries', (req, res) => {
    res.json({
      deliveries: control.deliveries({
        webhookId: str(req.query.webhookId),
        workOrderId: num(req.query.workOrderId),
        eventName: str(req.query.eventName),
        deliveryStatus: str(req.query.deliveryStatus),
        deliveryId: str(req.query.deliveryId),
      }),
    });
  });
  router.post('/deliveries/:id/retry', (req, res) => {
    if (!control.retryDelivery(req.params.id.split(':')[0]!)) throw new SimError(404, `delivery ${req.params.id} not found`);
    res.json({ ok: true });
  });

  router.get('/webhooks', (_req, res) => res.json({ webhooks: control.listWebhooks() }));
  router.post('/webhooks', (req, res) => {
    const body = b(req);
    const events = body.events ?? EVENT_CATALOGUE.map((e) => e.name);
    const input = parseWebhookInput({ ...body, events }, false, webhookOptions().allowHttp) as WebhookInput;
    res.json(control.registerWebhook(input));
  });

  router.post('/time-factor', (req, res) => {
    const factor = num(b(req).factor);
    if (factor === undefined || !(factor > 0)) throw new SimError(400, 'factor must be a number > 0');
    control.setTimeFactor(factor);
    res.json({ timeFactor: control.timeFactor });
  });
  router.post('/tokens/expire', (_req, res) => res.json({ expired: control.expireTokens() }));
  router.post('/rate-limit', (req, res) => {
    const body = b(req);
    if (body.enabled === false) control.setRateLimit(false);
    else control.setRateLimit({ perMinute: num(body.perMinute) ?? 60, burst: num(body.burst) ?? 100 });
    res.json({ ok: true });
  });

  router.get('/workorders', (_req, res) => res.json({ results: control.listWorkOrders() }));
  router.get('/workorders/:id', (req, res) => {
    const wo = control.getWorkOrder(Number(req.params.id));
    if (!wo) throw new SimError(404, `Work order ${req.params.id} not found`);
    res.json(wo);
  });

  router.post('/workorders/:id/provider/:action', (req, res) => {
    const id = Number(req.params.id);
    const body = b(req);
    const o = { providerId: num(body.providerId) };
    const t = control.technician;
    const actions: Record<string, () => unknown> = {
      request: () => t.request(id, o),
      decline: () => t.decline(id, o),
      'accept-route': () => t.acceptRoute(id, o),
      confirm: () => t.confirm(id, o),
      'on-my-way': () => t.onMyWay(id, o),
      'running-late': () => t.runningLate(id, { ...o, delaySeconds: num(body.delaySeconds) }),
      'check-in': () => t.checkIn(id, o),
      'check-out': () => t.checkOut(id, o),
      complete: () => t.complete(id, { ...o, closeoutNotes: str(body.closeoutNotes) }),
      message: () => ({ msg_id: t.postMessage(id, String(body.message ?? ''), { ...o, parentId: str(body.parentId) }) }),
      // A small file as text (the demo, curl): { name, content, mime?, folder?, notes? }.
      upload: () => ({
        attachment_id: t.upload(
          id,
          { name: String(body.name ?? 'upload.txt'), content: String(body.content ?? ''), mime: str(body.mime), notes: str(body.notes) },
          { ...o, folder: str(body.folder) },
        ),
      }),
    };
    const run = actions[req.params.action];
    if (!run) throw new SimError(404, `unknown provider action '${req.params.action}'`);
    res.json(run());
  });

  router.post('/workorders/:id/buyer/:action', (req, res) => {
    const id = Number(req.params.id);
    const body = b(req);
    const o = { userId: num(body.userId) };
    const d = control.buyer;
    const providerId = num(body.providerId) ?? DEFAULT_PROVIDER_ID;
    const actions: Record<string, () => unknown> = {
      publish: () => d.publish(id, o),
      route: () => d.route(id, providerId, o),
      assign: () => d.assign(id, providerId, o),
      approve: () => d.approve(id, o),
      incomplete: () => d.incomplete(id, { ...o, reason: str(body.reason) }),
      cancel: () => d.cancel(id, { ...o, reason: (body.reason as string | number | undefined) ?? undefined }),
      'custom-field': () => d.setCustomField(id, Number(body.fieldId), String(body.value ?? ''), o),
      message: () => ({ msg_id: d.postMessage(id, String(body.message ?? ''), { ...o, parentId: str(body.parentId) }) }),
    };
    const run = actions[req.params.action];
    if (!run) throw new SimError(404, `unknown buyer action '${req.params.action}'`);
    res.json(run());
  });

  router.post('/workorders/:id/pay', (req, res) => res.json(control.pay(Number(req.params.id))));
  router.post('/payments/run', (_req, res) => res.json({ paid: control.runPayments() }));

  return router;
}
