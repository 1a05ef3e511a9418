import type { Logger } from 'pino';
import type { ConnectionConfig, LoadedConfig } from '@broker/config';
import { FieldNationError, FieldNationTransport, type Webhook } from '@broker/fieldnation';
import { fieldNationRefs, type RefKind } from './mapping-refs';
import { fail, ok, warn, type CheckResult } from './preflight.types';
import { webhookEvents, webhookUrl, WebhookPlanError } from './webhook-plan';

const CATALOGUES: { kind: RefKind; path: string; id: string; title: string; what: string; where: string }[] = [
  {
    kind: 'typesOfWork',
    path: '/types-of-work',
    id: 'fieldnation.types-of-work',
    title: 'Types of work used by the mappings exist',
    what: 'type of work',
    where: 'Field Nation → Company settings → Types of work',
  },
  {
    kind: 'customFields',
    path: '/custom-fields',
    id: 'fieldnation.custom-fields',
    title: 'Custom fields used by the mappings exist',
    what: 'custom field',
    where: 'Field Nation → Company settings → Custom fields',
  },
  {
    kind: 'templates',
    path: '/templates',
    id: 'fieldnation.templates',
    title: 'Templates used by the mappings exist',
    what: 'template',
    where: 'Field Nation → Templates',
  },
  {
    kind: 'projects',
    path: '/projects',
    id: 'fieldnation.projects',
    title: 'Projects used by the mappings exist',
    what: 'project',
    where: 'Field Nation → Projects',
  },
];
/**
 * Query parameters each catalogue's GET documents in rest-v2.yaml: types-of-work, custom-fields and
 * templates take none (one answer holds the list), projects takes `per_page` but no `page`. Anything
 * else would be an undocumented request (the simulator's contract check refuses it).
 */
const LIST_QUERY: Record<string, Record<string, number>> = { '/projects': { per_page: 100 } };

/**
 * The Field Nation half of the preflight: a token, the company catalogues the mappings name (GET
 * list endpoints of REST v2) and the webhook subscription (GET of Webhooks v3). Nothing is written.
 */
export async function fieldnationChecks(
  config: LoadedConfig,
  connection: ConnectionConfig,
  publicUrl: string | undefined,
  logger: Logger,
): Promise<{ checks: CheckResult[]; requests: number }> {
  const fn = connection.fieldnation;
  let requests = 0;
  const http = new FieldNationTransport({
    environment: fn.environment,
    credentials: fn.auth,
    // An operator is waiting: one retry, no long Retry-After sleeps.
    retry: { maxAttempts: 2, maxRetryAfterMs: 5_000 },
    timeoutMs: 15_000,
    rateLimit: { requestsPerSecond: fn.requestsPerSecond },
    onRequest: () => void requests++,
    logger,
  });
  const checks: CheckResult[] = [];

  const listAll = async (path: string): Promise<{ id: number }[]> => {
    const out: { id: number }[] = [];
    const res = await http.request<{ results?: { id: number }[] }>({
      method: 'GET',
      path: `/api/rest/v2${path}`,
      route: `GET ${path}`,
      query: LIST_QUERY[path] ?? {},
      auth: 'query',
      idempotent: true,
    });
    out.push(...(res.results ?? []));
    return out;
  };

  const refs = fieldNationRefs(config, connection);
  let tokenChecked = false;
  const tokenOk = () => {
    if (!tokenChecked) checks.unshift(ok('fieldnation.token', 'Field Nation token obtained', `API user of ${http.origin}`));
    tokenChecked = true;
  };
  const tokenFailed = (err: unknown): boolean => {
    if (!(err instanceof FieldNationError) || !err.route.includes('oauth/token')) return false;
    checks.unshift(
      fail(
        'fieldnation.token',
        'Field Nation token obtained',
        `${err.message} — the other Field Nation checks need a token`,
        err.kind === 'auth'
          ? 'check fieldnation.auth (clientId, clientSecret, username, password) and that fieldnation.environment is the one the credentials belong to (sandbox and production have separate accounts)'
          : `Field Nation at ${http.origin} cannot be reached: check fieldnation.environment and the network path (proxy, firewall)`,
      ),
    );
    return true;
  };

  for (const cat of CATALOGUES) {
    const used = refs.ids[cat.kind];
    const dynamic = refs.dynamic.filter((d) => d.kind === cat.kind);
    // Types of work are always listed: that call also proves the token and the REST v2 API.
    if (used.size === 0 && dynamic.length === 0 && tokenChecked) continue;
    let known: Set<number>;
    try {
      known = new Set((await listAll(cat.path)).map((x) => Number(x.id)));
    } catch (err) {
      if (tokenFailed(err)) return { checks, requests };
      const e = err as FieldNationError;
      tokenOk();
      checks.push(
        fail(
          cat.id,
          cat.title,
          `GET ${cat.path}: ${e.message}`,
          e.kind === 'forbidden'
            ? `the API user may not read ${cat.path}: ask Field Nation support for the permission`
            : 'retry; if it persists, check status.fieldnation.com or contact Field Nation support',
        ),
      );
      continue;
    }
    tokenOk();
    if (used.size === 0 && dynamic.length === 0) continue;
    const missing = [...used].filter(([id]) => !known.has(id));
    const dynamicNote = dynamic.length
      ? `; taken from Salesforce data or an expression, so not checkable here: ${dynamic.map((d) => d.where).join(', ')}`
      : '';
    if (missing.length) {
      checks.push(
        fail(
          cat.id,
          cat.title,
          `unknown ${cat.what} id${missing.length > 1 ? 's' : ''}: ${missing.map(([id, where]) => `${id} (${where.join(', ')})`).join('; ')}`,
          `use the ids of this Field Nation company (${cat.where}; they differ between sandbox and production) in the mapping or config`,
        ),
      );
    } else if (dynamic.length && used.size === 0) {
      checks.push(
        warn(
          cat.id,
          cat.title,
          `no constant ids${dynamicNote}`,
          `make sure the Salesforce values are ${cat.what} ids of this company, or map them to ids with a value map`,
        ),
      );
    } else {
      checks.push(ok(cat.id, cat.title, `${used.size} id${used.size === 1 ? '' : 's'}: ${[...used.keys()].join(', ')}${dynamicNote}`));
    }
  }

  checks.push(await webhookCheck(config, connection, publicUrl, http));
  return { checks, requests };
}

async function webhookCheck(
  config: LoadedConfig,
  connection: ConnectionConfig,
  publicUrl: string | undefined,
  http: FieldNationTransport,
): Promise<CheckResult> {
  const id = 'fieldnation.webhook';
  const title = 'Webhook registered for exactly the events the rules use';
  if (!connection.eventRules && !Object.values(connection.objects).some((o) => o.eventRules))
    return ok(id, title, 'no eventRules: the connection uses no Field Nation events');
  let expected: string[];
  try {
    expected = webhookEvents(config, connection);
  } catch (err) {
    if (!(err instanceof WebhookPlanError)) throw err;
    return fail(
      id,
      title,
      err.message,
      'make the event rules listen to Field Nation events by their names (docs/mapping.md), or remove eventRules',
    );
  }
  const path = `/fieldnation/webhooks/${connection.id}`;
  const url = publicUrl ? webhookUrl(publicUrl, connection.id) : undefined;
  const apply = `broker fieldnation webhook --connection ${connection.id} --url ${publicUrl ?? '<public URL of the ingress>'} --apply`;
  let hooks: Webhook[];
  try {
    hooks =
      (
        await http.request<{ result: Webhook[] }>({
          method: 'GET',
          path: '/api/v1/webhooks',
          route: 'GET /webhooks',
          query: { perPage: 100 },
          auth: 'bearer',
          idempotent: true,
        })
      ).result ?? [];
  } catch (err) {
    return fail(
      id,
      title,
      `GET /api/v1/webhooks: ${(err as Error).message}`,
      'the API user must be allowed to manage webhooks: ask Field Nation support',
    );
  }
  const matching = hooks.filter((h) => (url ? h.url === url : safePath(h.url) === path));
  if (matching.length === 0) {
    const elsewhere = hooks.filter((h) => safePath(h.url) === path).map((h) => h.url);
    const detail = url
      ? `no webhook delivers to ${url}${elsewhere.length ? `; ${elsewhere.length === 1 ? 'one points' : 'some point'} at ${elsewhere.join(', ')} instead` : ''}`
      : `no webhook delivers to …${path}`;
    return fail(id, title, detail, `register it: ${apply}`);
  }
  if (matching.length > 1) {
    return fail(
      id,
      title,
      `${matching.length} webhooks deliver to ${matching[0]!.url} (${matching.map((h) => h.webhookId).join(', ')}): every event arrives ${matching.length} times`,
      'delete all but one on Field Nation (DELETE /api/v1/webhooks/{webhookId}), then run the --apply command',
    );
  }
  const hook = matching[0]!;
  const problems: string[] = [];
  if (hook.status !== 'active') problems.push(`status is ${hook.status}, not active`);
  const missing = expected.filter((e) => !hook.events.includes(e));
  const extra = hook.events.filter((e) => !expected.includes(e));
  if (missing.length) problems.push(`missing events the rules use: ${missing.join(', ')}`);
  if (extra.length) problems.push(`extra events no rule uses (delivered, verified and skipped for nothing): ${extra.join(', ')}`);
  if (problems.length)
    return fail(id, title, `webhook ${hook.webhookId} → ${hook.url}: ${problems.join('; ')}`, `bring it in line: ${apply}`);
  const detail = `webhook ${hook.webhookId} → ${hook.url}, ${expected.length} events`;
  if (!url)
    return warn(
      id,
      title,
      `${detail}; its host was not checked`,
      'give the public base URL of the ingress (--url or PUBLIC_URL) to check the webhook points at this broker',
    );
  return ok(id, title, detail);
}

function safePath(url: string): string | undefined {
  try {
    return new URL(url).pathname.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}
