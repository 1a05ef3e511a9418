import { SfError } from '../core/sf-error';
import { normaliseId } from '../core/values';
import type { SimContext } from '../sim-context';
import { recordView } from './record-view';
import type { RestCall, RestResult, RestRoute } from './rest-types';

const MAX_RECORDS = 200;

interface SaveResult {
  id?: string;
  success: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
}

const ROLLED_BACK = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [] as string[],
};

class RollBack extends Error {}

/**
 * Run one operation per item: each in its own savepoint, so a failure leaves the others in place,
 * unless allOrNone, where any failure rolls back the lot. Collection errors say `statusCode`, not
 * `errorCode`.
 */
function runEach<T>(ctx: SimContext, items: T[], allOrNone: boolean, op: (item: T) => string): SaveResult[] {
  const results: SaveResult[] = [];
  const exec = () => {
    for (const item of items) {
      try {
        results.push({ id: op(item), success: true, errors: [] });
      } catch (err) {
        if (!(err instanceof SfError)) throw err;
        const id = typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : undefined;
        results.push({
          ...(id ? { id } : {}),
          success: false,
          errors: [{ statusCode: err.errorCode, message: err.message, fields: err.fields }],
        });
      }
    }
    if (allOrNone && results.some((r) => !r.success)) throw new RollBack();
  };
  try {
    ctx.store.transaction(exec);
  } catch (err) {
    if (!(err instanceof RollBack)) throw err;
    return results.map((r) => (r.success ? { id: undefined, success: false, errors: [ROLLED_BACK] } : r)).map(({ id: _id, ...r }) => r);
  }
  return results;
}

function recordsOf(body: unknown): { allOrNone: boolean; records: Record<string, unknown>[] } {
  const b = body as { allOrNone?: unknown; records?: unknown } | null;
  if (!b || !Array.isArray(b.records)) throw new SfError(400, 'JSON_PARSER_ERROR', 'records: expected an array of sObjects');
  if (b.records.length > MAX_RECORDS) throw new SfError(400, 'EXCEEDED_ID_LIMIT', `Maximum number of records is ${MAX_RECORDS}`);
  // Salesforce deserialises the whole array before saving anything, so one non-object fails the request.
  const bad = b.records.findIndex((r) => !r || typeof r !== 'object' || Array.isArray(r));
  if (bad >= 0) throw new SfError(400, 'JSON_PARSER_ERROR', `records[${bad}]: expected an sObject, got ${JSON.stringify(b.records[bad])}`);
  return { allOrNone: b.allOrNone === true, records: b.records as Record<string, unknown>[] };
}

function typeOf(record: Record<string, unknown>): string {
  const type = (record.attributes as { type?: unknown } | undefined)?.type;
  if (typeof type !== 'string') throw new SfError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
  return type;
}

function createMany(ctx: SimContext, call: RestCall): RestResult {
  const { allOrNone, records } = recordsOf(call.body);
  const results = runEach(ctx, records, allOrNone, (r) => {
    const { attributes: _a, ...data } = r;
    return ctx.store.create(typeOf(r), data, call.session.userId);
  });
  return { status: 200, body: results };
}

function updateMany(ctx: SimContext, call: RestCall): RestResult {
  const { allOrNone, records } = recordsOf(call.body);
  const items = records.map((r) => {
    const { attributes: _a, id, Id, ...data } = r;
    return { id: typeof (id ?? Id) === 'string' ? String(id ?? Id) : undefined, record: r, data };
  });
  const results = runEach(ctx, items, allOrNone, (item) => {
    if (!item.id) throw new SfError(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', ['Id']);
    ctx.store.update(typeOf(item.record), item.id, item.data, call.session.userId);
    return normaliseId(item.id) ?? item.id;
  });
  return { status: 200, body: results };
}

function deleteMany(ctx: SimContext, call: RestCall): RestResult {
  const ids = (call.query.ids ?? '').split(',').filter(Boolean);
  if (!ids.length) throw new SfError(400, 'MISSING_ARGUMENT', 'ids: no ids specified');
  if (ids.length > MAX_RECORDS) throw new SfError(400, 'EXCEEDED_ID_LIMIT', `Maximum number of records is ${MAX_RECORDS}`);
  const results = runEach(
    ctx,
    ids.map((id) => ({ id })),
    call.query.allOrNone === 'true',
    ({ id }) => {
      ctx.store.remove(undefined, id, call.session.userId);
      return normaliseId(id)!;
    },
  );
  return { status: 200, body: results };
}

function retrieveMany(ctx: SimContext, call: RestCall, [type]: string[], ids: string[], fields: string[]): RestResult {
  const o = ctx.store.objectOrThrow(type!);
  if (!fields.length) throw new SfError(400, 'MISSING_ARGUMENT', 'fields: no fields specified');
  if (ids.length > 2000) throw new SfError(400, 'EXCEEDED_ID_LIMIT', 'Maximum number of ids is 2000');
  return {
    status: 200,
    body: ids.map((id) => {
      const found = ctx.store.get(id);
      return found && found.object === o ? recordView(ctx.store, o, found.record, call.version, fields) : null;
    }),
  };
}

export const collectionRoutes: RestRoute[] = [
  { method: 'POST', pattern: /^\/composite\/sobjects\/?$/, handler: createMany },
  { method: 'PATCH', pattern: /^\/composite\/sobjects\/?$/, handler: updateMany },
  { method: 'DELETE', pattern: /^\/composite\/sobjects\/?$/, handler: deleteMany },
  {
    method: 'GET',
    pattern: /^\/composite\/sobjects\/([^/]+)\/?$/,
    handler: (ctx, call, params) =>
      retrieveMany(
        ctx,
        call,
        params,
        (call.query.ids ?? '').split(',').filter(Boolean),
        (call.query.fields ?? '').split(',').filter(Boolean),
      ),
  },
  {
    method: 'POST',
    pattern: /^\/composite\/sobjects\/([^/]+)\/?$/,
    handler: (ctx, call, params) => {
      const b = (call.body ?? {}) as { ids?: unknown; fields?: unknown };
      const ids = Array.isArray(b.ids) ? b.ids.map(String) : [];
      const fields = Array.isArray(b.fields) ? b.fields.map(String) : [];
      return retrieveMany(ctx, call, params, ids, fields);
    },
  },
];
