import { SfError } from '../core/sf-error';
import type { SimContext } from '../sim-context';
import type { RestCall, RestResult, RestRoute } from './rest-types';

const MAX_SUBREQUESTS = 25;

interface SubRequest {
  method: string;
  url: string;
  referenceId: string;
  body?: unknown;
  httpHeaders?: Record<string, string>;
}

interface SubResponse {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

const HALTED = [
  { errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' },
];

class UnresolvedReference extends Error {}
class RollBack extends Error {}

/** `@{ref.id}`, `@{ref.records[0].Id}`: a path into an earlier subrequest's response body. */
function lookup(results: Map<string, unknown>, expr: string): string {
  const [ref, ...rest] = expr.split('.');
  if (!results.has(ref!)) throw new UnresolvedReference(expr);
  let value: unknown = results.get(ref!);
  for (const part of rest.join('.').split('.').filter(Boolean)) {
    for (const m of part.matchAll(/([^[\]]+)|\[(\d+)\]/g)) {
      const key = m[1] ?? Number(m[2]);
      value = value && typeof value === 'object' ? (value as Record<string | number, unknown>)[key] : undefined;
    }
  }
  if (value === undefined || value === null || typeof value === 'object') throw new UnresolvedReference(expr);
  return String(value);
}

function substitute(value: unknown, results: Map<string, unknown>): unknown {
  if (typeof value === 'string') return value.replace(/@\{([^}]+)\}/g, (_m, expr: string) => lookup(results, expr));
  if (Array.isArray(value)) return value.map((v) => substitute(v, results));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, results)]));
  return value;
}

/** Parse `/services/data/v62.0/sobjects/Account?x=1` into version, path and query. */
function parseSubUrl(url: string): { version: string; path: string; query: Record<string, string> } {
  const unsupported = () => new SfError(400, 'INVALID_URL', `The URL ${url} is not supported in a composite request`);
  let u: URL;
  try {
    u = new URL(url, 'http://composite.invalid');
  } catch {
    throw unsupported();
  }
  const m = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(u.pathname);
  if (!m) throw unsupported();
  return { version: m[1]!, path: m[2]!, query: Object.fromEntries(u.searchParams) };
}

export function compositeRoute(dispatch: (ctx: SimContext, call: RestCall) => RestResult): RestRoute {
  return {
    method: 'POST',
    pattern: /^\/composite\/?$/,
    handler: (ctx, call) => {
      const body = call.body as { allOrNone?: unknown; compositeRequest?: unknown } | null;
      const subs = body?.compositeRequest;
      if (!Array.isArray(subs) || subs.length === 0)
        throw new SfError(400, 'JSON_PARSER_ERROR', 'compositeRequest: expected a non-empty array');
      if (subs.length > MAX_SUBREQUESTS)
        throw new SfError(400, 'INVALID_BATCH_REQUEST', `Limit Exceeded. Batch requests cannot exceed ${MAX_SUBREQUESTS} subrequests.`);
      const seen = new Set<string>();
      for (const s of subs as SubRequest[]) {
        if (!s || typeof s.method !== 'string' || typeof s.url !== 'string' || typeof s.referenceId !== 'string')
          throw new SfError(400, 'JSON_PARSER_ERROR', 'each subrequest needs method, url and referenceId');
        if (seen.has(s.referenceId)) throw new SfError(400, 'DUPLICATE_REFERENCE_ID', `Duplicate referenceId ${s.referenceId} provided.`);
        seen.add(s.referenceId);
      }
      const allOrNone = body!.allOrNone === true;
      const results = new Map<string, unknown>();
      const responses: SubResponse[] = [];
      const run = () => {
        for (const s of subs as SubRequest[]) {
          let res: RestResult;
          try {
            const url = substitute(s.url, results) as string;
            const sub = parseSubUrl(url);
            // A fault aimed at an operation (e.g. PATCH /sobjects/Case) hits it inside a composite
            // too, as a subrequest error in a 200 answer: that is how Salesforce reports a
            // validation rule or a locked row there.
            const fault = ctx.faults.take(s.method, `/services/data/v${sub.version}${sub.path}`, { subrequest: true });
            res =
              fault?.response ??
              dispatch(ctx, {
                ...call,
                method: s.method.toUpperCase(),
                path: sub.path,
                query: sub.query,
                version: sub.version,
                body: substitute(s.body, results),
                headers: { ...call.headers, ...(s.httpHeaders ?? {}) },
              });
          } catch (err) {
            if (err instanceof UnresolvedReference)
              res = {
                status: 400,
                body: [
                  {
                    errorCode: 'PROCESSING_HALTED',
                    message: `Invalid reference specified. No value for ${err.message} found in ${err.message.split('.')[0]}. Provided referenceId ${err.message.split('.')[0]} is either missing or the subrequest failed.`,
                  },
                ],
              };
            else if (err instanceof SfError) res = { status: err.status, body: err.toBody() };
            else throw err;
          }
          if (res.status < 400) results.set(s.referenceId, res.body ?? null);
          responses.push({
            body: res.body ?? null,
            httpHeaders: res.headers ?? {},
            httpStatusCode: res.status,
            referenceId: s.referenceId,
          });
          if (allOrNone && res.status >= 400) throw new RollBack();
        }
      };
      try {
        ctx.store.transaction(run);
      } catch (err) {
        if (!(err instanceof RollBack)) throw err;
        const failed = responses[responses.length - 1]!;
        const out = (subs as SubRequest[]).map((s): SubResponse =>
          s.referenceId === failed.referenceId
            ? failed
            : { body: HALTED, httpHeaders: {}, httpStatusCode: 400, referenceId: s.referenceId },
        );
        return { status: 200, body: { compositeResponse: out } };
      }
      return { status: 200, body: { compositeResponse: responses } };
    },
  };
}
