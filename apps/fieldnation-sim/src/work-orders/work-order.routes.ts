import { Router, type Request, type Response } from 'express';
import { SimError, notFound } from '../core/sim-error';
import { CUSTOM_FIELDS, TALENT_POOLS, findUser, type SimUser } from './catalogue';
import { queryWorkOrders } from './work-order-query';
import { collection, renderCustomField, renderCustomFields, renderMessages, renderStatus, userSummary } from './work-order.render';
import type { WorkOrderService } from './work-order.service';
import { validationError } from './work-order.schema';

export interface WorkOrderRoutesDeps {
  service: WorkOrderService;
  validationStatus: () => 400 | 422;
}

const idParam = (req: Request, name = 'id'): number => {
  const raw = req.params[name];
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw notFound(name === 'id' ? 'Work order' : name, raw);
  return id;
};

const body = (req: Request): Record<string, unknown> =>
  req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};

/** The acting user: the token's user, or `acting_user_id` when it names a user of the company. */
export const actorOf = (req: Request, res: Response): SimUser => {
  const acting = Number(req.query.acting_user_id);
  if (Number.isInteger(acting) && acting > 0) {
    const user = findUser(acting);
    if (!user || user.role !== 'buyer') throw new SimError(403, `acting_user_id ${acting} is not a user of this company`);
    return user;
  }
  return res.locals.user as SimUser;
};

const refId = (value: unknown): number | undefined => {
  if (value && typeof value === 'object' && 'id' in value) {
    const id = Number((value as { id: unknown }).id);
    return Number.isInteger(id) && id > 0 ? id : undefined;
  }
  return undefined;
};

/** REST v2 work-order routes, mounted at `/api/rest/v2/workorders`. */
export function workOrderRouter(deps: WorkOrderRoutesDeps): Router {
  const { service } = deps;
  const router = Router();
  const send = (res: Response, id: number) => res.json(service.render(service.get(id)));

  router.post('/', (req, res) => {
    const wo = service.create(req.body, actorOf(req, res));
    res.json(service.render(wo));
  });

  router.get('/', (req, res) => {
    const { records, metadata, lists } = queryWorkOrders(service.all(), req.query as Record<string, unknown>);
    res.json({ metadata, results: records.map((wo) => service.render(wo)), lists, saved_filters: {} });
  });

  // rest-v2.yaml: a bare array of WorkOrderListsResponseDto (`{ id, label, count, … }`).
  router.get('/lists', (req, res) => {
    const { lists } = queryWorkOrders(service.all(), { ...req.query, list: 'workorders_all' } as Record<string, unknown>);
    res.json(lists.map((l) => ({ ...l, label: l.id.replace(/^workorders_/, '').replace(/_/g, ' ') })));
  });

  router.get('/:id', (req, res) => send(res, idParam(req)));

  router.put('/:id', (req, res) => {
    res.json(service.render(service.update(idParam(req), req.body, actorOf(req, res))));
  });

  // cancel_reason arrives as a query string (OAS-R/N) or a JSON body field (legacy docs/app); both
  // accepted. rest-v2.yaml marks it required: a cancel without one is refused.
  router.delete('/:id', (req, res) => {
    const reason = req.query.cancel_reason ?? body(req).cancel_reason;
    if (reason === undefined || reason === null || (typeof reason === 'string' && !reason.trim())) {
      throw validationError(deps.validationStatus(), [{ field: 'cancel_reason', message: 'is required' }]);
    }
    res.json(service.render(service.cancel(idParam(req), reason, actorOf(req, res))));
  });

  router.get('/:id/status', (req, res) => res.json(renderStatus(service.get(idParam(req)))));

  router.post('/:id/publish', (req, res) => {
    res.json(service.render(service.publish(idParam(req), actorOf(req, res))));
  });
  const unpublish = (req: Request, res: Response) => {
    res.json(service.render(service.unpublish(idParam(req), actorOf(req, res))));
  };
  router.delete('/:id/publish', unpublish);
  router.delete('/:id/draft', unpublish);

  router.post('/:id/route', (req, res) => {
    const b = body(req);
    const providerId = refId(b.technician) ?? refId(b.user);
    if (providerId === undefined) throw validationError(deps.validationStatus(), [{ field: 'technician.id', message: 'is required' }]);
    const wo = service.route(idParam(req), [providerId], actorOf(req, res));
    res.json({ id: wo.id, user: { id: providerId }, status: renderStatus(wo) });
  });

  // Body conflict in the sources: `{ids: [...]}` (OAS-R) or `{talent_pool_id}` (N prose); both accepted.
  router.post('/:id/mass-route', (req, res) => {
    const b = body(req);
    let ids: number[] = [];
    if (Array.isArray(b.ids)) ids = b.ids.map(Number);
    else if (b.talent_pool_id !== undefined) {
      const pool = TALENT_POOLS.find((p) => p.id === Number(b.talent_pool_id));
      if (!pool)
        throw validationError(deps.validationStatus(), [
          { field: 'talent_pool_id', message: `unknown talent pool ${String(b.talent_pool_id)}` },
        ]);
      ids = pool.provider_ids;
    }
    if (!ids.length) throw validationError(deps.validationStatus(), [{ field: 'ids', message: 'is required' }]);
    const wo = service.route(idParam(req), ids, actorOf(req, res));
    res.json({ id: wo.id, routed: ids, status: renderStatus(wo) });
  });

  // rest-v2.yaml: a bare array of WorkOrderProvidersResponseDto (no {metadata, results} envelope).
  // Which entries count as "pending requests" it leaves open: routes waiting for an answer and
  // providers' requests both are, keyed by the provider (the simulator has no request ids).
  router.get('/:id/providers', (req, res) => {
    const wo = service.get(idParam(req));
    res.json(
      [...wo.routes, ...wo.requests].map((e) => {
        const user = findUser(e.provider_id)!;
        return { id: e.provider_id, first_name: user.first_name, last_name: user.last_name };
      }),
    );
  });

  router.get('/:id/requests', (req, res) => {
    const wo = service.get(idParam(req));
    res.json(collection(wo.requests.map((r) => ({ id: r.provider_id, user: userSummary(findUser(r.provider_id)!), active: true }))));
  });

  router.get('/:id/assignee', (req, res) => {
    res.json((service.render(service.get(idParam(req))) as { assignee: unknown }).assignee);
  });

  router.post('/:id/assignee', (req, res) => {
    const providerId = refId(body(req).user);
    if (providerId === undefined) throw validationError(deps.validationStatus(), [{ field: 'user.id', message: 'is required' }]);
    const wo = service.assign(idParam(req), providerId, actorOf(req, res));
    res.json(userSummary(findUser(wo.assigneeId!)!));
  });

  router.delete('/:id/assignee', (req, res) => {
    res.json(service.render(service.unassign(idParam(req), actorOf(req, res))));
  });

  // A buyer may mark complete on the provider's behalf [I]; the provider path is the control API.
  router.post('/:id/complete', (req, res) => {
    res.json(service.render(service.complete(idParam(req))));
  });

  router.delete('/:id/complete', (req, res) => {
    const reason = typeof req.query.reason === 'string' ? req.query.reason : undefined;
    res.json(service.render(service.incomplete(idParam(req), reason, actorOf(req, res))));
  });

  router.post('/:id/approve', (req, res) => {
    res.json(service.render(service.approve(idParam(req), actorOf(req, res))));
  });

  router.get('/:id/messages', (req, res) => res.json(renderMessages(service.get(idParam(req)))));

  router.post('/:id/messages', (req, res) => {
    const b = body(req);
    const id = idParam(req);
    service.postMessage(
      id,
      { message: b.message as string, type: b.type as string | undefined, to: refId(b.to) ? { id: refId(b.to)! } : undefined },
      actorOf(req, res),
    );
    res.json(renderMessages(service.get(id)));
  });

  router.post('/:id/messages/:messageId', (req, res) => {
    const id = idParam(req);
    service.postMessage(id, { message: body(req).message as string, parentId: String(req.params.messageId) }, actorOf(req, res));
    res.json(renderMessages(service.get(id)));
  });

  router.get('/:id/custom_fields', (req, res) => res.json(renderCustomFields(service.get(idParam(req)))));

  router.get('/:id/custom_fields/:cfId', (req, res) => {
    const wo = service.get(idParam(req));
    const cfId = Number(req.params.cfId);
    const def = CUSTOM_FIELDS.find((d) => d.id === cfId);
    if (!def) throw notFound('Custom field', req.params.cfId);
    res.json(renderCustomField(def, wo));
  });

  router.put('/:id/custom_fields/:cfId', (req, res) => {
    const id = idParam(req);
    service.setCustomField(id, Number(req.params.cfId), body(req).value, actorOf(req, res));
    // rest-v2.yaml answers the update with the work order (WorkOrderResponseDto), not the field.
    send(res, id);
  });

  for (const part of ['schedule', 'location', 'pay'] as const) {
    router.get(`/:id/${part}`, (req, res) => {
      res.json((service.render(service.get(idParam(req))) as Record<string, unknown>)[part] ?? {});
    });
    router.put(`/:id/${part}`, (req, res) => {
      const wo = service.update(idParam(req), { [part]: req.body }, actorOf(req, res));
      res.json((service.render(wo) as Record<string, unknown>)[part] ?? {});
    });
  }

  return router;
}
