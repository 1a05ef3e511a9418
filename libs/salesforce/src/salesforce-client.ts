import { createSign, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Connection } from 'jsforce';
import type { Logger } from 'pino';
import type { ConnectionConfig } from '@broker/config';
import { salesforceJwtAudience, salesforceLoginUrl } from '@broker/config';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { cjsExport, createTimeoutTransport, getWithDeadlines, SalesforceTimeoutError } from './salesforce-transport';
import { readSmallBody, streamExchange } from './stream-exchange';

export { SalesforceTimeoutError } from './salesforce-transport';

type SalesforceConfig = ConnectionConfig['salesforce'];

export interface ApiUsage {
  used: number;
  limit: number;
}

/**
 * A Salesforce REST error with its errorCode (INVALID_FIELD, UNABLE_TO_LOCK_ROW, ...). Network
 * failures and timeouts also carry Node's `code` (ETIMEDOUT, UND_ERR_CONNECT_TIMEOUT, ECONNREFUSED...)
 * and the original error as `cause`.
 */
export class SalesforceApiError extends Error {
  readonly code?: string;
  constructor(
    message: string,
    readonly errorCode: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    options?: { cause?: unknown; code?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SalesforceApiError';
    if (options?.code) this.code = options.code;
  }
}

/** Not enough of the daily API allowance is left: wait instead of spending the reserve. */
export class ApiBudgetError extends Error {
  constructor(
    readonly usage: ApiUsage,
    readonly retryAfterMs: number,
  ) {
    super(`Salesforce API allowance nearly exhausted (${usage.used}/${usage.limit}); pausing`);
    this.name = 'ApiBudgetError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);
const RETRYABLE_CODES = new Set([
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'REQUEST_LIMIT_EXCEEDED',
  'ERROR_HTTP_500',
  'ERROR_HTTP_502',
  'ERROR_HTTP_503',
  'ERROR_HTTP_504',
  ...NETWORK_CODES,
]);

/** Classify a jsforce/HTTP error: retryable ones are transient (lock contention, 5xx, network, timeouts). */
export function toSalesforceError(err: unknown): SalesforceApiError {
  if (err instanceof SalesforceApiError) return err;
  const e = err as { message?: string; errorCode?: string; name?: string; code?: string; statusCode?: number; data?: unknown };
  const networkCode = e.code && NETWORK_CODES.has(e.code) ? e.code : undefined;
  const code = e.errorCode ?? e.code ?? e.name ?? 'UNKNOWN';
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const retryable =
    RETRYABLE_CODES.has(code) ||
    (status !== undefined && status >= 500) ||
    /socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT/.test(e.message ?? '');
  return new SalesforceApiError(
    e.message ?? String(err),
    code,
    status,
    retryable,
    networkCode ? { cause: err, code: networkCode } : { cause: err },
  );
}

export interface CompositeSubrequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  referenceId: string;
  body?: unknown;
}

export interface CompositeResult {
  referenceId: string;
  httpStatusCode: number;
  body: unknown;
}

export interface SalesforceClientOptions {
  logger: Logger;
  /** Called once per API call the broker makes (logins excluded), for metrics and the timeline. */
  onApiCall?: (kind: 'query' | 'composite' | 'other') => void;
  onLogin?: () => void;
  onUsage?: (usage: ApiUsage) => void;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/** RS256 JWT for the OAuth 2.0 JWT bearer flow (aud = the login host). */
export function jwtAssertion(options: {
  clientId: string;
  username: string;
  audience: string;
  privateKey: string;
  lifetimeSeconds?: number;
}): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const now = Math.floor(Date.now() / 1000);
  const claims = base64url(
    JSON.stringify({
      iss: options.clientId,
      sub: options.username,
      aud: options.audience,
      exp: now + (options.lifetimeSeconds ?? 180),
      jti: randomUUID(),
    }),
  );
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(options.privateKey);
  return `${header}.${claims}.${base64url(signature)}`;
}

/**
 * One Salesforce org session for a connection, reused across jobs. The session is created on first
 * use and refreshed only when Salesforce answers INVALID_SESSION_ID (jsforce's refresh delegate
 * does the re-login and repeats the call). Every call counts against the daily allowance, so each
 * public method is exactly one API call.
 */
export function createSalesforceClient(config: SalesforceConfig, options: SalesforceClientOptions) {
  const loginUrl = salesforceLoginUrl(config.instance);
  const auth = config.auth;
  const timeouts = config.timeouts;
  let logins = 0;
  // jsforce's refresh delegate rewraps a failed re-login as a plain Error; the original (with its code) is kept here.
  let lastLoginError: unknown;

  const oauthLogin = async (conn: Connection): Promise<void> => {
    if (auth.flow === 'jwt') {
      const privateKey = auth.privateKey ?? readFileSync(auth.privateKeyFile!, 'utf8');
      const audience = salesforceJwtAudience(config.instance, auth.audience);
      const assertion = jwtAssertion({ clientId: auth.clientId, username: auth.username, audience, privateKey });
      await conn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    } else if (auth.flow === 'client-credentials') {
      await conn.authorize({ grant_type: 'client_credentials' });
    }
  };

  // The jsforce connection, made at the first login: importing this module must not load jsforce
  // (~38 MB; esbuild would hoist a static import to the top of every bundle that reaches this file).
  let conn: Connection | undefined;
  let connecting: Promise<Connection> | undefined;
  const connection = (): Promise<Connection> =>
    (connecting ??= makeConnection().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    }));
  const makeConnection = async (): Promise<Connection> => {
    const jsforce = await import('jsforce');
    const JsforceConnection = cjsExport<typeof Connection>(jsforce, 'Connection');
    const c = new JsforceConnection({
      loginUrl,
      version: config.apiVersion,
      ...(auth.flow === 'client-credentials' ? { oauth2: { loginUrl, clientId: auth.clientId, clientSecret: auth.clientSecret } } : {}),
      // OAuth flows without a refresh token re-run their grant when the session expires.
      ...(auth.flow !== 'password'
        ? {
            refreshFn: (c: Connection, callback: (err: Error | null, accessToken?: string) => void) => {
              logins++;
              options.onLogin?.();
              oauthLogin(c).then(
                () => callback(null, c.accessToken ?? undefined),
                (err: Error) => {
                  lastLoginError = err;
                  callback(err);
                },
              );
            },
          }
        : {}),
    });
    // Every request of this connection, logins and token refreshes included, goes through the deadlines.
    const transport = await createTimeoutTransport(timeouts);
    (c as unknown as { _transport: unknown })._transport = transport;
    (c.oauth2 as unknown as { _transport: unknown })._transport = transport;

    // jsforce re-logs in by itself on INVALID_SESSION_ID (password flow) through conn.login: count those too.
    const soapLogin = c.login.bind(c);
    c.login = (username: string, password: string) => {
      logins++;
      options.onLogin?.();
      return soapLogin(username, password).catch((err: unknown) => {
        lastLoginError = err;
        throw err;
      });
    };
    conn = c;
    return c;
  };

  const classify = (err: unknown): SalesforceApiError => {
    if (lastLoginError && /Unable to refresh session/.test((err as Error)?.message ?? '')) {
      const inner = toSalesforceError(lastLoginError);
      return new SalesforceApiError((err as Error).message, inner.errorCode, inner.status, inner.retryable, {
        cause: lastLoginError,
        code: inner.code,
      });
    }
    return toSalesforceError(err);
  };

  let loggingIn: Promise<void> | undefined;
  let userId: string | undefined;

  const login = async (c: Connection): Promise<void> => {
    if (auth.flow === 'password') {
      const info = await c.login(auth.username, auth.password + auth.securityToken);
      userId = info.id;
    } else {
      logins++;
      options.onLogin?.();
      await oauthLogin(c);
      userId = c.userInfo?.id;
    }
    options.logger.info({ flow: auth.flow, instanceUrl: c.instanceUrl }, 'salesforce session established');
  };

  /**
   * Single-flight: concurrent jobs share one login. The transport's deadline ends a hung login, and
   * this one backs it up (a login is one request), so every waiting job fails with the timeout and
   * the next call logs in afresh.
   */
  const ensureSession = async (): Promise<Connection> => {
    if (conn?.accessToken) return conn;
    const c = await connection();
    loggingIn ??= new Promise<void>((resolve, reject) => {
      const guard = setTimeout(
        () => reject(new SalesforceTimeoutError('ETIMEDOUT', loginUrl, timeouts.requestMs)),
        timeouts.requestMs + 1_000,
      );
      login(c)
        .then(resolve, (err: unknown) => {
          lastLoginError = err;
          reject(err);
        })
        .finally(() => clearTimeout(guard));
    }).finally(() => {
      loggingIn = undefined;
    });
    await loggingIn;
    return c;
  };

  /**
   * A query sent directly on the session jsforce keeps (jsforce's request streams and query object
   * were a fifth of the fetcher's CPU). Undefined on 401: the caller repeats it through jsforce,
   * whose refresh delegate logs in again (a refused call is not counted by Salesforce).
   */
  const queryDirect = async <T>(
    c: Connection,
    soql: string,
    extra: Record<string, string>,
  ): Promise<{ records: T[]; totalSize: number; done: boolean; nextRecordsUrl?: string } | undefined> => {
    const url = `${c.instanceUrl}/services/data/v${c.version}/query?q=${encodeURIComponent(soql)}`;
    const answer = await getWithDeadlines(
      url,
      { Authorization: `Bearer ${c.accessToken}`, Accept: 'application/json', ...extra },
      timeouts,
    );
    // As jsforce reads it: the usage every answer reports.
    const limit = /api-usage=(\d+)\/(\d+)/.exec(String(answer.headers['sforce-limit-info'] ?? ''));
    if (limit) c.limitInfo = { apiUsage: { used: Number(limit[1]), limit: Number(limit[2]) } };
    if (answer.status === 401) return undefined;
    let body: unknown;
    try {
      body = answer.body ? JSON.parse(answer.body) : undefined;
    } catch {
      body = undefined;
    }
    if (answer.status >= 200 && answer.status < 300 && body && typeof body === 'object') {
      return body as { records: T[]; totalSize: number; done: boolean; nextRecordsUrl?: string };
    }
    // Salesforce's error list, [{ errorCode, message }]; jsforce's ERROR_HTTP_<status> for anything else.
    const first = (Array.isArray(body) ? body[0] : body) as { errorCode?: string; message?: string } | undefined;
    const errorCode = first?.errorCode ?? `ERROR_HTTP_${answer.status}`;
    throw Object.assign(new Error(first?.message ?? (answer.body.slice(0, 500) || `HTTP ${answer.status}`)), {
      name: errorCode,
      errorCode,
      statusCode: answer.status,
      data: body,
    });
  };

  // When the usage last seen is in the reserve, one call is let through per probe interval: usage
  // falls as the rolling 24-hour window moves on, and only a call's Sforce-Limit-Info shows it.
  const probeMs = config.apiBudget.probeSeconds * 1000;
  let usageSeenAt = 0;

  const track = (kind: 'query' | 'composite' | 'other') => {
    usageSeenAt = Date.now();
    options.onApiCall?.(kind);
    const usage = conn?.limitInfo?.apiUsage;
    if (usage) options.onUsage?.(usage);
  };

  return {
    /** The jsforce connection; it exists once `ensureSession` (or any call) has logged in. */
    get conn(): Connection {
      if (!conn) throw new Error('no Salesforce session yet: call ensureSession() first');
      return conn;
    },
    get logins() {
      return logins;
    },
    get userId() {
      return userId ?? conn?.userInfo?.id;
    },
    /** Last API usage Salesforce reported (Sforce-Limit-Info), if any. */
    get usage(): ApiUsage | undefined {
      return conn?.limitInfo?.apiUsage;
    },
    ensureSession,

    /**
     * Refuse to call Salesforce when less than `reservePercent` of the allowance is left; ask the
     * caller to slow down below `slowdownPercent`. Returns a delay (ms) to wait before the call.
     * In the reserve, the first call after `probeSeconds` without one goes through (returns 0), so
     * the usage is read again and the connection resumes once it has fallen.
     */
    budgetDelay(now = Date.now()): number {
      const usage = conn?.limitInfo?.apiUsage;
      if (!usage || usage.limit <= 0) return 0;
      const remainingPct = ((usage.limit - usage.used) / usage.limit) * 100;
      if (remainingPct <= config.apiBudget.reservePercent) {
        const sinceSeen = now - usageSeenAt;
        if (sinceSeen >= probeMs) {
          usageSeenAt = now; // one probe per interval, however many jobs are waiting
          return 0;
        }
        throw new ApiBudgetError(usage, Math.max(1_000, probeMs - sinceSeen));
      }
      if (remainingPct <= config.apiBudget.slowdownPercent) {
        // Linear from 0 ms at the slowdown mark to 2 s at the reserve mark.
        const span = Math.max(1, config.apiBudget.slowdownPercent - config.apiBudget.reservePercent);
        return Math.round(((config.apiBudget.slowdownPercent - remainingPct) / span) * 2_000);
      }
      return 0;
    },

    /** Wait out budgetDelay's slowdown before a call; throws ApiBudgetError in the reserve. */
    async awaitBudget(): Promise<void> {
      const wait = this.budgetDelay();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    },

    /** One SOQL query (one API call). Pagination is not followed: the broker reads single records. */
    async query<T extends Record<string, unknown> = Record<string, unknown>>(soql: string): Promise<{ records: T[]; totalSize: number }> {
      const { records, totalSize } = await this.queryPage<T>(soql);
      return { records, totalSize };
    },

    /**
     * One page of a query (one API call): the first page for SOQL, the next one for a
     * `nextRecordsUrl`. `batchSize` (200-2,000) asks Salesforce for the page size (default 2,000).
     */
    async queryPage<T extends Record<string, unknown> = Record<string, unknown>>(
      soqlOrLocator: string,
      batchSize?: number,
    ): Promise<{ records: T[]; totalSize: number; nextRecordsUrl?: string }> {
      const headers: Record<string, string> = batchSize ? { 'Sforce-Query-Options': `batchSize=${batchSize}` } : {};
      const opts = { autoFetch: false, maxFetch: batchSize ?? 2000, scanAll: false, responseTarget: 'QueryResult' as const, headers };
      let called = false; // a failed login is not an API call
      try {
        const c = await ensureSession();
        called = true;
        const locator = /\/query\/[^/\s]+$/.test(soqlOrLocator);
        const result =
          (locator ? undefined : await queryDirect<T>(c, soqlOrLocator, headers)) ??
          (locator ? await c.queryMore<T>(soqlOrLocator, opts) : await c.query<T>(soqlOrLocator, opts));
        return {
          records: result.records as T[],
          totalSize: result.totalSize,
          nextRecordsUrl: result.done ? undefined : result.nextRecordsUrl,
        };
      } catch (err) {
        throw classify(err);
      } finally {
        if (called) track('query');
      }
    },

    /**
     * A streamed request or download outside jsforce (files): one API call, with the session's token.
     * A 401 drops the session so the next call logs in; the body being a stream, it is not resent
     * here (the job's retry sends it again). Non-2xx answers become SalesforceApiErrors.
     */
    async stream(
      method: 'GET' | 'POST',
      path: string,
      body?: { stream: Readable; contentType: string },
    ): Promise<{ res: IncomingMessage; status: number }> {
      let called = false;
      try {
        const c = await ensureSession();
        const token = c.accessToken!;
        const url = new URL(`${c.instanceUrl}/services/data/v${config.apiVersion}${path}`);
        const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
        if (body) headers['Content-Type'] = body.contentType;
        called = true;
        const res = await streamExchange(
          url,
          { method, headers, body: body?.stream },
          { connectTimeoutMs: timeouts.connectMs, idleTimeoutMs: timeouts.requestMs },
          (phase, ms) => new SalesforceTimeoutError(phase === 'connect' ? 'UND_ERR_CONNECT_TIMEOUT' : 'ETIMEDOUT', url.toString(), ms),
        );
        const usage = /api-usage=(\d+)\/(\d+)/.exec(String(res.headers['sforce-limit-info'] ?? ''));
        if (usage && conn)
          (conn as unknown as { limitInfo: { apiUsage: ApiUsage } }).limitInfo = {
            apiUsage: { used: Number(usage[1]), limit: Number(usage[2]) },
          };
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return { res, status };
        const text = await readSmallBody(res);
        let errorCode = `ERROR_HTTP_${status}`;
        let message = text.slice(0, 500);
        try {
          const first = (JSON.parse(text) as Array<{ errorCode?: string; message?: string }>)[0];
          if (first?.errorCode) errorCode = first.errorCode;
          if (first?.message) message = first.message;
        } catch {
          // not Salesforce's JSON error array (a proxy's page): the status says it
        }
        if (status === 401 && conn?.accessToken === token) (conn as unknown as { accessToken: string | null }).accessToken = null;
        const retryable = status === 401 || status >= 500 || RETRYABLE_CODES.has(errorCode);
        throw new SalesforceApiError(`${method} ${path}: ${message}`, errorCode, status, retryable);
      } catch (err) {
        throw classify(err);
      } finally {
        if (called) track('other');
      }
    },

    /** Several writes in one composite request (one API call); allOrNone keeps them together. */
    async composite(requests: CompositeSubrequest[], allOrNone = true): Promise<CompositeResult[]> {
      let called = false;
      try {
        const c = await ensureSession();
        called = true;
        const res = await c.requestPost<{ compositeResponse: CompositeResult[] }>(`/services/data/v${config.apiVersion}/composite`, {
          allOrNone,
          compositeRequest: requests,
        });
        return res.compositeResponse;
      } catch (err) {
        throw classify(err);
      } finally {
        if (called) track('composite');
      }
    },
  };
}

export type SalesforceClient = ReturnType<typeof createSalesforceClient>;

interface ClientMetrics {
  sfApiCalls: { inc(labels: { connection: string; kind: string }): void };
  sfLogins: { inc(labels: { connection: string }): void };
  sfApiUsed: { set(labels: { connection: string }, value: number): void };
  sfApiLimit: { set(labels: { connection: string }, value: number): void };
}

/** One client per connection, reporting calls, logins and usage to the app's metrics. */
export function createSalesforceClients(
  connections: ConnectionConfig[],
  logger: Logger,
  metrics?: ClientMetrics,
): Map<string, SalesforceClient> {
  return new Map(
    connections.map((c) => [
      c.id,
      createSalesforceClient(c.salesforce, {
        logger: logger.child({ connectionId: c.id }),
        onApiCall: (kind) => metrics?.sfApiCalls.inc({ connection: c.id, kind }),
        onLogin: () => metrics?.sfLogins.inc({ connection: c.id }),
        onUsage: (u) => {
          metrics?.sfApiUsed.set({ connection: c.id }, u.used);
          metrics?.sfApiLimit.set({ connection: c.id }, u.limit);
        },
      }),
    ]),
  );
}
