import { SfError } from '../core/sf-error';
import type { SimContext } from '../sim-context';
import { parseSoql } from '../soql/soql-parser';
import { SoqlExecutor } from '../soql/soql-executor';
import type { RestCall, RestResult, RestRoute } from './rest-types';

/** `Sforce-Query-Options: batchSize=N` (200–2000) overrides the page size, as in Salesforce. */
function pageSize(ctx: SimContext, call: RestCall): number {
  const m = /batchSize=(\d+)/i.exec(call.headers['sforce-query-options'] ?? '');
  if (!m) return ctx.settings.queryPageSize;
  return Math.min(2000, Math.max(200, Number(m[1])));
}

function runQuery(includeDeleted: boolean) {
  return (ctx: SimContext, call: RestCall): RestResult => {
    const q = call.query.q;
    if (!q || !q.trim()) throw new SfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    const result = new SoqlExecutor(ctx.store).execute(parseSoql(q), { includeDeleted, version: call.version, now: ctx.clock.now() });
    return { status: 200, body: ctx.cursors.page(result, pageSize(ctx, call), call.version) };
  };
}

function more(ctx: SimContext, call: RestCall, [locator]: string[]): RestResult {
  return { status: 200, body: ctx.cursors.more(locator!, pageSize(ctx, call)) };
}

export const queryRoutes: RestRoute[] = [
  { method: 'GET', pattern: /^\/query\/?$/, handler: runQuery(false) },
  { method: 'GET', pattern: /^\/queryAll\/?$/, handler: runQuery(true) },
  { method: 'GET', pattern: /^\/query(?:All)?\/([^/]+)\/?$/, handler: more },
];
