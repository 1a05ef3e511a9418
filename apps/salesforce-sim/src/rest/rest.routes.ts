import express, { type NextFunction, type Request, type Response } from 'express';
import { endpointKey } from '../core/counters';
import { invalidSession } from '../core/sf-error';
import type { SimContext } from '../sim-context';
import { dispatch } from './rest-dispatcher';
import type { RestResult } from './rest-types';

const JSON_TYPE = 'application/json;charset=UTF-8';
const MIN_VERSION = 20;
const MAX_VERSION = 66;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every answer carries the org's usage as it stands once the request has (or has not) been counted. */
function send(res: Response, ctx: SimContext, result: RestResult): void {
  res.setHeader('Sforce-Limit-Info', ctx.counters.limitHeader());
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
  res.status(result.status);
  if (result.status === 204 || result.body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', JSON_TYPE);
  res.end(JSON.stringify(result.body));
}

function versions(): { label: string; url: string; version: string }[] {
  const out = [];
  for (let v = MIN_VERSION; v <= MAX_VERSION; v++) out.push({ label: `v${v}.0`, url: `/services/data/v${v}.0`, version: `${v}.0` });
  return out;
}

function flatQuery(q: Request['query']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) out[k] = Array.isArray(v) ? String(v[0]) : String(v ?? '');
  return out;
}

/**
 * `/services/data`: bearer authentication, the daily allowance, one counted API call per request
 * (composite and collections included), injected faults, then the dispatcher. Every answer, from the
 * version list to a 401, carries `Sforce-Limit-Info` (uncounted answers show the current usage).
 */
export function restRouter(getCtx: () => SimContext): express.Router {
  const router = express.Router();
  // Set first so that even answers written outside `send` (the app's last-resort 500) carry it.
  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Sforce-Limit-Info', getCtx().counters.limitHeader());
    next();
  });
  router.use(express.json({ type: () => true, limit: '50mb' }));
  // The body is parsed before authentication, as in Salesforce: bad JSON is a 400 even without a session.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!err) return next();
    send(res, getCtx(), {
      status: 400,
      body: [{ message: `Unexpected character in the request body: ${(err as Error).message}`, errorCode: 'JSON_PARSER_ERROR' }],
    });
  });
  router.get('/', (_req, res) => send(res, getCtx(), { status: 200, body: versions() }));
  router.use(async (req: Request, res: Response) => {
    const ctx = getCtx();
    const m = /^\/v(\d+)\.(\d)(\/.*)?$/.exec(req.path);
    if (!m || Number(m[1]) < MIN_VERSION || Number(m[1]) > MAX_VERSION) {
      send(res, ctx, { status: 404, body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }] });
      return;
    }
    const version = `${m[1]}.${m[2]}`;
    const path = m[3] ?? '/';
    const token = (req.get('authorization') ?? '').replace(/^(Bearer|OAuth)\s+/i, '');
    const session = token ? ctx.sessions.use(token) : undefined;
    if (!session) {
      send(res, ctx, { status: 401, body: invalidSession().toBody() });
      return;
    }
    if (ctx.counters.exhausted()) {
      send(res, ctx, { status: 403, body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] });
      return;
    }
    ctx.counters.countApiCall(endpointKey(req.method, path));
    const fault = ctx.faults.take(req.method, `/services/data${req.path}`);
    // Never answered: the client's timeout (or the simulator's close) ends the exchange.
    if (fault?.hang) return;
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    if (fault?.response) {
      send(res, ctx, fault.response);
      return;
    }
    const result = dispatch(ctx, {
      method: req.method.toUpperCase(),
      path,
      query: flatQuery(req.query),
      body: req.body,
      version,
      session,
      headers: { 'sforce-query-options': req.get('sforce-query-options') },
    });
    if (fault?.loseResponse) {
      req.socket.destroy();
      return;
    }
    send(res, ctx, result);
  });
  return router;
}
