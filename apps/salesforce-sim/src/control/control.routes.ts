import express, { type NextFunction, type Request, type Response } from 'express';
import { SfError } from '../core/sf-error';
import type { NotificationStatus } from '../outbound/outbound-queue';
import type { SalesforceSim } from '../salesforce-sim';

type Handler = (req: Request, res: Response) => unknown;

/** Wrap a handler: JSON in, JSON out; SfError keeps its status, anything else is a 400. */
function route(fn: Handler) {
  return async (req: Request, res: Response, _next: NextFunction) => {
    try {
      const out = await fn(req, res);
      if (!res.headersSent) res.status(200).json(out ?? { ok: true });
    } catch (err) {
      if (err instanceof SfError) res.status(err.status).json({ error: err.message, errorCode: err.errorCode, fields: err.fields });
      else res.status(400).json({ error: (err as Error).message });
    }
  };
}

function asUser(req: Request): string | undefined {
  const b = (req.body ?? {}) as { as?: unknown };
  const q = req.query.as;
  return typeof b.as === 'string' ? b.as : typeof q === 'string' ? q : undefined;
}

/** The org's automation collections: GET lists them, POST defines one, DELETE /:name removes one. */
function namedCollection<B>(
  r: express.Router,
  path: string,
  key: string,
  ops: { list: () => unknown[]; define: (body: B) => unknown; remove: (name: string) => boolean },
) {
  r.get(
    path,
    route(() => ({ [key]: ops.list() })),
  );
  r.post(
    path,
    route((req) => ops.define(req.body as B)),
  );
  r.delete(
    `${path}/:name`,
    route((req) => ({ removed: ops.remove(String(req.params.name)) })),
  );
}

/**
 * `/__sim`: the test and demo surface. Writes made here act as a named user and trigger flows; they
 * are not API calls and are not counted.
 */
export function controlRouter(sim: SalesforceSim): express.Router {
  const r = express.Router();
  r.use(express.json({ limit: '10mb' }));

  r.get(
    '/health',
    route(() => ({ ok: true, url: sim.url })),
  );
  r.get(
    '/org',
    route(() => {
      const ctx = sim.ctx;
      return {
        organizationId: ctx.orgId,
        name: ctx.config.organization.name,
        objects: ctx.model.objects.map((o) => ({ name: o.name, keyPrefix: o.keyPrefix })),
        refs: sim.refs(),
        users: ctx.config.credentials.map((c) => ({ username: c.username, id: ctx.store.findUser(c.username)?.Id })),
        outboundMessages: sim.outboundMessages(),
        flows: sim.flows(),
        now: new Date(sim.now()).toISOString(),
      };
    }),
  );
  r.post(
    '/reset',
    route(async () => {
      await sim.reset();
      return { ok: true };
    }),
  );

  r.get(
    '/records/:type',
    route((req) => {
      const o = sim.ctx.store.objectOrThrow(String(req.params.type));
      return { records: sim.ctx.store.all(o, req.query.includeDeleted === 'true') };
    }),
  );
  r.get(
    '/records/:type/:id',
    route((req) => {
      const rec = sim.getRecord(String(req.params.id));
      if (!rec) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      return rec;
    }),
  );
  r.post(
    '/records/:type',
    route((req) => {
      const b = (req.body ?? {}) as { fields?: Record<string, unknown> };
      return { id: sim.createRecord(String(req.params.type), b.fields ?? {}, { as: asUser(req) }) };
    }),
  );
  r.patch(
    '/records/:type/:id',
    route((req) => {
      const b = (req.body ?? {}) as { fields?: Record<string, unknown> };
      sim.updateRecord(String(req.params.type), String(req.params.id), b.fields ?? {}, { as: asUser(req) });
      return { ok: true };
    }),
  );
  r.delete(
    '/records/:type/:id',
    route((req) => {
      sim.deleteRecord(String(req.params.type), String(req.params.id), { as: asUser(req) });
      return { ok: true };
    }),
  );
  r.post(
    '/query',
    route((req) => {
      const b = (req.body ?? {}) as { soql?: string; includeDeleted?: boolean };
      return sim.query(String(b.soql ?? ''), { includeDeleted: b.includeDeleted });
    }),
  );

  r.post(
    '/sessions/expire',
    route((req) => {
      const b = (req.body ?? {}) as { token?: string; username?: string };
      return { expired: sim.expireSessions({ token: b.token, username: b.username }) };
    }),
  );
  r.post(
    '/oauth/refresh-tokens',
    route((req) => {
      const b = (req.body ?? {}) as { username?: string; clientId?: string };
      return { refresh_token: sim.issueRefreshToken(String(b.username ?? ''), b.clientId) };
    }),
  );

  r.get(
    '/limits',
    route(() => sim.counters().apiUsage),
  );
  r.put(
    '/limits',
    route((req) => sim.setApiUsage((req.body ?? {}) as { used?: number; max?: number })),
  );
  r.get(
    '/counters',
    route(() => sim.counters()),
  );
  r.post(
    '/counters/reset',
    route(() => {
      sim.resetCounters();
      return sim.counters();
    }),
  );

  r.get(
    '/outbound',
    route((req) => ({
      notifications: sim.outbound({
        status: typeof req.query.status === 'string' ? (req.query.status as NotificationStatus) : undefined,
        outboundMessage: typeof req.query.outboundMessage === 'string' ? req.query.outboundMessage : undefined,
      }),
    })),
  );
  r.get(
    '/outbound/deliveries',
    route(() => ({ deliveries: sim.deliveries() })),
  );
  r.post(
    '/outbound/flush',
    route(async () => {
      await sim.flushOutbound();
      return { pending: sim.outbound({ status: 'pending' }).length };
    }),
  );
  r.post(
    '/outbound/drop',
    route((req) => {
      const b = (req.body ?? {}) as { ids?: string[] };
      return { dropped: sim.dropOutbound(b.ids) };
    }),
  );

  r.get(
    '/clock',
    route(() => ({ now: new Date(sim.now()).toISOString(), epochMs: sim.now(), timeFactor: sim.clock.timeFactor })),
  );
  r.post(
    '/clock/advance',
    route(async (req) => {
      const b = (req.body ?? {}) as { ms?: number; seconds?: number; minutes?: number; hours?: number };
      const ms = (b.ms ?? 0) + (b.seconds ?? 0) * 1000 + (b.minutes ?? 0) * 60_000 + (b.hours ?? 0) * 3_600_000;
      const now = await sim.advanceClock(ms);
      return { now: new Date(now).toISOString(), epochMs: now };
    }),
  );

  namedCollection(r, '/outbound-messages', 'outboundMessages', {
    list: () => sim.outboundMessages(),
    define: (body: Parameters<SalesforceSim['defineOutboundMessage']>[0]) => sim.defineOutboundMessage(body),
    remove: (name) => sim.removeOutboundMessage(name),
  });
  namedCollection(r, '/flows', 'flows', {
    list: () => sim.flows(),
    define: (body: Parameters<SalesforceSim['defineFlow']>[0]) => sim.defineFlow(body),
    remove: (name) => sim.removeFlow(name),
  });
  r.post(
    '/metadata',
    route((req) => sim.deployMetadata((req.body as { files?: { path: string; content: string }[] })?.files ?? [])),
  );

  r.get(
    '/faults',
    route(() => ({ faults: sim.faults() })),
  );
  r.post(
    '/faults',
    route((req) => sim.injectFault(req.body)),
  );
  r.delete(
    '/faults',
    route(() => {
      sim.clearFaults();
      return { ok: true };
    }),
  );
  r.delete(
    '/faults/:id',
    route((req) => {
      sim.clearFaults(String(req.params.id));
      return { ok: true };
    }),
  );
  return r;
}
