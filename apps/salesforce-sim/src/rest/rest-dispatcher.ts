import { SfError, notFound } from '../core/sf-error';
import type { SimContext } from '../sim-context';
import { collectionRoutes } from './collections.handlers';
import { compositeRoute } from './composite.handlers';
import { queryRoutes } from './query.handlers';
import type { RestCall, RestResult, RestRoute } from './rest-types';
import { sobjectRoutes } from './sobject.handlers';

function limits(ctx: SimContext): RestResult {
  const remaining = Math.max(0, ctx.counters.max - ctx.counters.used);
  const pair = (max: number, rem = max) => ({ Max: max, Remaining: rem });
  return {
    status: 200,
    body: {
      ConcurrentAsyncGetReportInstances: pair(200),
      ConcurrentSyncReportRuns: pair(20),
      DailyApiRequests: pair(ctx.counters.max, remaining),
      DailyAsyncApexExecutions: pair(250000),
      DailyBulkApiBatches: pair(15000),
      DailyBulkV2QueryFileStorageMB: pair(976562),
      DailyBulkV2QueryJobs: pair(10000),
      DailyStreamingApiEvents: pair(10000),
      DataStorageMB: pair(5),
      FileStorageMB: pair(20),
      HourlyPublishedPlatformEvents: pair(50000),
      SingleEmail: pair(15),
    },
  };
}

function resources(_ctx: SimContext, call: RestCall): RestResult {
  const base = `/services/data/v${call.version}`;
  return {
    status: 200,
    body: {
      sobjects: `${base}/sobjects`,
      query: `${base}/query`,
      queryAll: `${base}/queryAll`,
      composite: `${base}/composite`,
      limits: `${base}/limits`,
    },
  };
}

const routes: RestRoute[] = [];

/**
 * A path segment as the handlers see it. A malformed escape (`%E0%A4%A`) is kept as sent: no id or
 * object name can contain `%`, so the handler answers NOT_FOUND or MALFORMED_ID as for any other
 * junk in that position.
 */
function pathParam(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? '');
  } catch {
    return raw ?? '';
  }
}

/** Route one REST call; SfErrors become Salesforce's error array with their status. */
export function dispatch(ctx: SimContext, call: RestCall): RestResult {
  const matching = routes.filter((r) => r.pattern.test(call.path));
  const route = matching.find((r) => r.method === call.method);
  if (!route) {
    if (matching.length)
      return {
        status: 405,
        body: [
          {
            errorCode: 'METHOD_NOT_ALLOWED',
            message: `HTTP Method '${call.method}' not allowed. Allowed are ${[...new Set(matching.map((r) => r.method))].join(',')}`,
          },
        ],
      };
    return { status: 404, body: notFound().toBody() };
  }
  const params = (route.pattern.exec(call.path) ?? []).slice(1).map(pathParam);
  try {
    return route.handler(ctx, call, params);
  } catch (err) {
    if (err instanceof SfError) return { status: err.status, body: err.toBody() };
    throw err;
  }
}

routes.push(
  { method: 'GET', pattern: /^\/?$/, handler: resources },
  { method: 'GET', pattern: /^\/limits\/?$/, handler: limits },
  ...queryRoutes,
  ...sobjectRoutes,
  ...collectionRoutes,
  compositeRoute(dispatch),
);
