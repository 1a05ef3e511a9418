import { SfError, notFound } from '../core/sf-error';
import { normaliseId } from '../core/values';
import type { SimContext } from '../sim-context';
import { describeGlobal, describeGlobalEntry, describeSObject } from './describe';
import { recordView } from './record-view';
import type { RestCall, RestResult, RestRoute } from './rest-types';

function asObjectBody(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new SfError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  return body as Record<string, unknown>;
}

function splitFields(value: string | undefined): string[] | undefined {
  return value
    ? value
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
    : undefined;
}

export function createRecord(ctx: SimContext, type: string, data: Record<string, unknown>, call: RestCall): string {
  return ctx.store.create(type, data, call.session.userId);
}

function create(ctx: SimContext, call: RestCall, [type]: string[]): RestResult {
  const o = ctx.store.objectOrThrow(type!);
  const id = createRecord(ctx, o.name, asObjectBody(call.body), call);
  return {
    status: 201,
    body: { id, success: true, errors: [] },
    headers: { Location: `/services/data/v${call.version}/sobjects/${o.name}/${id}` },
  };
}

function retrieve(ctx: SimContext, call: RestCall, [type, id]: string[]): RestResult {
  const o = ctx.store.objectOrThrow(type!);
  const id18 = normaliseId(id!);
  // A non-id in this position is read as an external id value, which the simulator has none of.
  if (!id18) throw new SfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${id}`);
  const { record } = ctx.store.locate(o.name, id18);
  return { status: 200, body: recordView(ctx.store, o, record, call.version, splitFields(call.query.fields)) };
}

function update(ctx: SimContext, call: RestCall, [type, id]: string[]): RestResult {
  ctx.store.update(type, id!, asObjectBody(call.body), call.session.userId);
  return { status: 204 };
}

function remove(ctx: SimContext, call: RestCall, [type, id]: string[]): RestResult {
  ctx.store.remove(type, id!, call.session.userId);
  return { status: 204 };
}

function basicInfo(ctx: SimContext, call: RestCall, [type]: string[]): RestResult {
  const o = ctx.store.objectOrThrow(type!);
  const recent = ctx.store
    .all(o)
    .slice(-10)
    .map((r) => ({ attributes: { type: o.name, url: `/services/data/v${call.version}/sobjects/${o.name}/${String(r.Id)}` }, Id: r.Id }));
  return { status: 200, body: { objectDescribe: describeGlobalEntry(o, call.version), recentItems: recent } };
}

export const sobjectRoutes: RestRoute[] = [
  { method: 'GET', pattern: /^\/sobjects\/?$/, handler: (ctx, call) => ({ status: 200, body: describeGlobal(ctx.model, call.version) }) },
  {
    method: 'GET',
    pattern: /^\/sobjects\/([^/]+)\/describe\/?$/,
    handler: (ctx, call, [type]) => {
      const o = ctx.model.object(type!);
      if (!o) throw notFound();
      return { status: 200, body: describeSObject(ctx.model, o, call.version) };
    },
  },
  { method: 'GET', pattern: /^\/sobjects\/([^/]+)\/?$/, handler: basicInfo },
  { method: 'POST', pattern: /^\/sobjects\/([^/]+)\/?$/, handler: create },
  { method: 'GET', pattern: /^\/sobjects\/([^/]+)\/([^/]+)\/?$/, handler: retrieve },
  { method: 'PATCH', pattern: /^\/sobjects\/([^/]+)\/([^/]+)\/?$/, handler: update },
  { method: 'DELETE', pattern: /^\/sobjects\/([^/]+)\/([^/]+)\/?$/, handler: remove },
];
