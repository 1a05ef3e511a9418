import type { Logger } from 'pino';
import {
  messageChannelOf,
  readConfigFile,
  resolveConfigPath,
  salesforceLoginUrl,
  type ConnectionConfig,
  type LoadedConfig,
} from '@broker/config';
import { validateMapping } from '@broker/mapping';
import { connectionCatalogueLookup } from '@broker/fieldnation';
import { eventRuleWrites, messageChannelChecks } from './message-checks';
import { sameSalesforceId } from '@broker/salesforce';
import { createSalesforceClient, toSalesforceError, type SalesforceApiError } from '@broker/salesforce/client';
import { fail, ok, warn, type CheckResult } from './preflight.types';

interface DescribeField {
  name: string;
  relationshipName?: string | null;
  referenceTo?: string[];
  createable?: boolean;
  updateable?: boolean;
}
interface Describe {
  name: string;
  createable?: boolean;
  feedEnabled?: boolean;
  fields: DescribeField[];
}
interface Limits {
  DailyApiRequests?: { Max: number; Remaining: number };
}

const API_OFF = new Set(['API_DISABLED_FOR_ORG', 'API_CURRENTLY_DISABLED', 'FUNCTIONALITY_NOT_ENABLED']);
const MAX_LISTED = 10;

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const listed = (items: string[]) =>
  items.length > MAX_LISTED ? `${items.slice(0, MAX_LISTED).join('; ')}; … ${items.length - MAX_LISTED} more` : items.join('; ');

function loginFix(flow: ConnectionConfig['salesforce']['auth']['flow'], err: SalesforceApiError, loginUrl: string): string {
  if (err.retryable || err.status === undefined) {
    if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|socket hang up|fetch failed/i.test(`${err.errorCode} ${err.message}`)) {
      return `the login URL ${loginUrl} cannot be reached: check salesforce.instance (production, test or the My Domain URL) and the network path (proxy, firewall)`;
    }
  }
  switch (flow) {
    case 'password':
      return 'check salesforce.auth.username, password and securityToken (a password change issues a new token: Settings → Reset My Security Token), that the user is active and not locked out, and that salesforce.instance is production or test as the org is';
    case 'jwt':
      return "check the connected app's consumer key (clientId), that its uploaded certificate matches privateKey, that the user is pre-authorized (connected app policy 'Admin approved users are pre-authorized' plus the user's profile or permission set), and that salesforce.instance is the login host the JWT audience names";
    case 'client-credentials':
      return "enable 'Client Credentials Flow' on the connected app and set its Run As user, check clientId and clientSecret, and set salesforce.instance to the org's My Domain URL (login.salesforce.com does not serve this flow)";
  }
}

/**
 * The Salesforce half of the preflight: a session with the configured flow, then describes and
 * `/limits` only (no query, no write). Returns the checks and the REST calls spent.
 */
export async function salesforceChecks(
  config: LoadedConfig,
  connection: ConnectionConfig,
  logger: Logger,
): Promise<{ checks: CheckResult[]; apiCalls: number }> {
  // The client loads jsforce at its first login, so importing it here costs the dashboard nothing until a preflight runs.
  const sf = connection.salesforce;
  const checks: CheckResult[] = [];
  let apiCalls = 0;
  const client = createSalesforceClient(sf, { logger });
  const base = `/services/data/v${sf.apiVersion}`;
  const get = async <T>(path: string): Promise<T> => {
    apiCalls++;
    try {
      return await client.conn.request<T>({ method: 'GET', url: `${base}${path}` });
    } catch (err) {
      throw toSalesforceError(err);
    }
  };

  // ── login ──
  const loginUrl = salesforceLoginUrl(sf.instance);
  try {
    await client.ensureSession();
  } catch (err) {
    const e = toSalesforceError(err);
    checks.push(
      fail(
        'salesforce.login',
        `Salesforce login (${sf.auth.flow} flow)`,
        `${e.errorCode}: ${e.message} — the other Salesforce checks need a session`,
        loginFix(sf.auth.flow, e, loginUrl),
      ),
    );
    return { checks, apiCalls };
  }
  const who = 'username' in sf.auth ? sf.auth.username : `the connected app's run-as user`;
  checks.push(ok('salesforce.login', `Salesforce login (${sf.auth.flow} flow)`, `logged in as ${who} at ${client.conn.instanceUrl}`));

  // ── organization ──
  const orgId = client.conn.userInfo?.organizationId;
  if (!orgId) {
    checks.push(
      warn(
        'salesforce.organization',
        'Organization id matches the config',
        'the login did not report an organization id',
        'compare salesforce.organizationId with Setup → Company Information → Salesforce.com Organization ID',
      ),
    );
  } else if (sameSalesforceId(orgId, sf.organizationId)) {
    checks.push(ok('salesforce.organization', 'Organization id matches the config', `organization ${orgId}`));
  } else {
    checks.push(
      fail(
        'salesforce.organization',
        'Organization id matches the config',
        `the credentials log into organization ${orgId}, the config names ${sf.organizationId}`,
        `if ${orgId} is the right org (a sandbox has its own id), set salesforce.organizationId to it: Outbound Messages from any other org are refused; otherwise fix the credentials or salesforce.instance`,
      ),
    );
  }

  // ── API enabled (and the allowance, when the user may read /limits) ──
  let limits: Limits | undefined;
  let limitsError: SalesforceApiError | undefined;
  try {
    limits = await get<Limits>('/limits');
  } catch (err) {
    limitsError = err as SalesforceApiError;
    const blocking = API_OFF.has(limitsError.errorCode) || limitsError.errorCode === 'REQUEST_LIMIT_EXCEEDED' || limitsError.status !== 403;
    if (blocking) {
      const fix = API_OFF.has(limitsError.errorCode)
        ? "give the integration user 'API Enabled' (profile or permission set); the org's edition must include API access (Enterprise, Unlimited, Developer, Performance, or Professional with the API add-on)"
        : limitsError.errorCode === 'REQUEST_LIMIT_EXCEEDED'
          ? 'the daily API allowance is used up: wait for the rolling 24-hour window, or buy more API calls'
          : limitsError.errorCode === 'NOT_FOUND'
            ? `the org does not serve API version ${sf.apiVersion}: set salesforce.apiVersion to one it supports (GET /services/data lists them)`
            : 'check that the org is reachable and the REST API answers (status.salesforce.com for incidents)';
      checks.push(
        fail('salesforce.api', 'Salesforce REST API answers', `GET ${base}/limits: ${limitsError.errorCode}: ${limitsError.message}`, fix),
      );
      return { checks, apiCalls };
    }
  }
  checks.push(ok('salesforce.api', 'Salesforce REST API answers', `API version ${sf.apiVersion}`));

  // ── describes: mapped fields readable, write-back fields updateable, comments createable ──
  const describes = new Map<string, Promise<Describe>>();
  const describe = (name: string) => {
    const key = name.toLowerCase();
    if (!describes.has(key)) {
      const p = get<Describe>(`/sobjects/${encodeURIComponent(name)}/describe`);
      p.catch(() => undefined); // awaited by every caller; keeps an early failure from being "unhandled"
      describes.set(key, p);
    }
    return describes.get(key)!;
  };
  const objectProblem = (name: string, err: SalesforceApiError) =>
    err.errorCode === 'NOT_FOUND'
      ? `object ${name} does not exist or the integration user cannot see it`
      : `describe ${name}: ${err.errorCode}: ${err.message}`;

  /** Undefined when the dotted path resolves to a field the user can read; else why not. */
  const pathProblem = async (root: string, path: string): Promise<string | undefined> => {
    const parts = path.split('.');
    let objects = [root];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const results = await Promise.all(
        objects.map((o) =>
          describe(o).then(
            (d) => ({ d }),
            (err: SalesforceApiError) => ({ err, o }),
          ),
        ),
      );
      const described = results.flatMap((r) => ('d' in r ? [r.d] : []));
      if (described.length === 0) {
        const first = results[0] as { err: SalesforceApiError; o: string };
        return `${path}: ${objectProblem(first.o, first.err)}`;
      }
      const via = described.map((d) => d.name).join(' or ');
      if (i === parts.length - 1) {
        return described.some((d) => d.fields.some((f) => same(f.name, part))) ? undefined : `${path}: no field ${part} on ${via}`;
      }
      const next = described.flatMap((d) =>
        d.fields.filter((f) => f.relationshipName && same(f.relationshipName, part)).flatMap((f) => f.referenceTo ?? []),
      );
      if (next.length === 0) return `${path}: no relationship ${part} on ${via}`;
      objects = [...new Set(next)];
    }
    return undefined;
  };

  let describedOnce = false;
  for (const [object, settings] of Object.entries(connection.objects)) {
    if (!settings.mapping) continue;
    const file = resolveConfigPath(config, settings.mapping);
    // Compiled already by runPreflight; names come from the catalogue cache it filled.
    const mapping = await validateMapping(readConfigFile(config, settings.mapping), {
      file,
      lookup: connectionCatalogueLookup(connection.fieldnation),
    });
    const reads = [...new Set(['Id', ...mapping.reads])];
    const problems = (await Promise.all(reads.map((p) => pathProblem(object, p)))).filter((p): p is string => p !== undefined);
    describedOnce ||= problems.length < reads.length;
    const title = `Mapped ${object} fields exist and are readable`;
    if (problems.length === 0) checks.push(ok(`salesforce.fields.${object}`, title, `${reads.length} field paths of ${settings.mapping}`));
    else {
      checks.push(
        fail(
          `salesforce.fields.${object}`,
          title,
          `${problems.length} of ${reads.length} field paths are missing or hidden: ${listed(problems)}`,
          `create the field, or grant the integration user read access to it (field-level security in its profile or a permission set), or correct the path in ${settings.mapping} (relationships go by relationship name: Account.Owner.Email)`,
        ),
      );
    }
  }

  const ruleWrites = eventRuleWrites(config, connection);
  const ruleObjects = new Set(ruleWrites.filter((w) => w.fields.length).map((w) => w.object));
  const writable = new Map<string, Set<string>>();
  const addWritable = (object: string, field: string | undefined) => {
    if (!field) return;
    const set = writable.get(object) ?? new Set<string>();
    set.add(field);
    writable.set(object, set);
  };
  for (const [object, settings] of Object.entries(connection.objects)) {
    addWritable(object, settings.writeBack?.workOrderIdField);
    addWritable(object, settings.writeBack?.syncStatusField);
    addWritable(object, settings.writeBack?.resetCheckbox);
    addWritable(object, settings.writeBack?.syncMessageField);
    addWritable(object, settings.writeBack?.syncedAtField);
  }
  // Every field a rule writes must exist on the object the rules apply to, and be updateable there.
  for (const w of ruleWrites) for (const f of w.fields) addWritable(w.object, f);
  for (const [object, fields] of writable) {
    const title = `Fields the broker writes on ${object} are updateable`;
    let d: Describe;
    try {
      d = await describe(object);
      describedOnce = true;
    } catch (err) {
      checks.push(
        fail(
          `salesforce.write-back.${object}`,
          title,
          objectProblem(object, err as SalesforceApiError),
          "check the object name in the config and the integration user's object permissions",
        ),
      );
      continue;
    }
    const problems = [...fields].flatMap((name) => {
      const f = d.fields.find((x) => same(x.name, name));
      if (!f) return [`${name}: no such field (or hidden from the integration user)`];
      return f.updateable ? [] : [`${name}: not updateable`];
    });
    const source = `writeBack${ruleObjects.has(object) ? ' and event rules' : ''}`;
    if (problems.length === 0)
      checks.push(ok(`salesforce.write-back.${object}`, title, `${fields.size} fields (${source}): ${[...fields].join(', ')}`));
    else {
      checks.push(
        fail(
          `salesforce.write-back.${object}`,
          title,
          listed(problems),
          `create the field, give the integration user edit access to it (field-level security), or correct the name in the ${source} settings; formula and auto-number fields can never be written`,
        ),
      );
    }
  }

  const messages = Object.entries(connection.objects).some(([name, o]) => name === 'CaseComment' && o.messages);
  const caseCommentRules = ruleWrites.some((w) => w.comments && messageChannelOf(connection, w.object) === 'CaseComment');
  if (messages || caseCommentRules) {
    const title = 'Case comments can be created';
    const why = [messages ? 'objects.CaseComment.messages is on' : '', caseCommentRules ? 'event rules add comments' : '']
      .filter(Boolean)
      .join(', ');
    try {
      const d = await describe('CaseComment');
      describedOnce = true;
      const needed = ['ParentId', 'CommentBody', 'IsPublished'];
      const problems = needed.filter((n) => !d.fields.find((f) => same(f.name, n))?.createable);
      if (d.createable === false) problems.unshift('the object');
      if (problems.length === 0) checks.push(ok('salesforce.comments', title, `CaseComment createable (${why})`));
      else {
        checks.push(
          fail(
            'salesforce.comments',
            title,
            `not createable by the integration user: ${problems.join(', ')} (${why})`,
            "give the integration user 'Create' on Cases' comments (Case object create/edit) and edit access to CaseComment fields, or turn messages and comment rules off",
          ),
        );
      }
    } catch (err) {
      checks.push(
        fail(
          'salesforce.comments',
          title,
          objectProblem('CaseComment', err as SalesforceApiError),
          'Case comments need the Case object and its comments visible to the integration user',
        ),
      );
    }
  }

  const channelChecks = await messageChannelChecks(connection, ruleWrites, describe, (name, err) =>
    objectProblem(name, err as SalesforceApiError),
  );
  describedOnce ||= channelChecks.some((c) => c.status === 'ok');
  checks.push(...channelChecks);

  if (limitsError && !describedOnce) {
    // /limits was refused (403) and no describe got through either: the API is not usable.
    const i = checks.findIndex((c) => c.id === 'salesforce.api');
    checks[i] = fail(
      'salesforce.api',
      'Salesforce REST API answers',
      `GET ${base}/limits: ${limitsError.errorCode}: ${limitsError.message}`,
      "give the integration user 'API Enabled' and read access to the configured objects",
    );
  }

  // ── allowance ──
  const daily = limits?.DailyApiRequests;
  const usage = daily ? { used: daily.Max - daily.Remaining, limit: daily.Max } : client.usage;
  const allowanceTitle = 'Daily API allowance left';
  if (!usage || usage.limit <= 0) {
    checks.push(
      warn(
        'salesforce.api-allowance',
        allowanceTitle,
        `unknown: ${limitsError ? `GET /limits refused (${limitsError.errorCode}) and ` : ''}no Sforce-Limit-Info header seen`,
        "give the integration user 'View Setup and Configuration' so /limits can be read, or watch the broker's sf_api_used metric",
      ),
    );
  } else {
    const remaining = usage.limit - usage.used;
    const pct = (remaining / usage.limit) * 100;
    const detail = `${remaining.toLocaleString('en-US')} of ${usage.limit.toLocaleString('en-US')} calls left (${pct.toFixed(1)}%)${daily ? '' : ', from Sforce-Limit-Info'}; the broker pauses below ${sf.apiBudget.reservePercent}% and slows down below ${sf.apiBudget.slowdownPercent}%`;
    const fix =
      'find what spends the allowance (Setup → System Overview, API Usage reports), wait for the rolling 24-hour window, or buy more API calls; lowering salesforce.apiBudget.reservePercent only postpones the pause';
    if (remaining <= 0) checks.push(fail('salesforce.api-allowance', allowanceTitle, detail, fix));
    else if (pct <= sf.apiBudget.reservePercent)
      checks.push(
        warn('salesforce.api-allowance', allowanceTitle, `${detail}: in the reserve, the broker is pausing Salesforce calls`, fix),
      );
    else checks.push(ok('salesforce.api-allowance', allowanceTitle, detail));
  }
  return { checks, apiCalls };
}
