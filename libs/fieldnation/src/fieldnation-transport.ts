import type http from 'node:http';
import type { Readable } from 'node:stream';
import { DependencyTimeoutError, type Logger } from '@broker/runtime';
import { headerValue, httpExchange, readSmallBody, streamExchange } from '@broker/salesforce';
import { FieldNationError, errorFromResponse } from './fieldnation-error';
import { TokenBucket } from './token-bucket';
import { TokenProvider, type FieldNationCredentials } from './token-provider';

/** Hosts per environment (reference §1.1). */
export const FIELDNATION_HOSTS = {
  sandbox: 'https://api-sandbox.fndev.net',
  production: 'https://api.fieldnation.com',
} as const;

export type FieldNationEnvironment = keyof typeof FIELDNATION_HOSTS;

export interface RetryOptions {
  /** Attempts in total, first included. 1 = never retry: retryable errors surface to the caller (BullMQ). Default 4. */
  maxAttempts: number;
  /** First backoff; doubles per attempt; each wait is random between half and all of it. Default 500 ms. */
  baseDelayMs: number;
  /** Backoff ceiling. Default 30 000 ms. */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited in-process: the error surfaces with `retryAfterMs`. Default 120 000 ms. */
  maxRetryAfterMs: number;
}

export interface RequestEvent {
  method: string;
  /** Route template, e.g. `POST /workorders/:id/publish`. */
  route: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  durationMs: number;
  attempt: number;
}

export interface FieldNationClientOptions {
  /** `sandbox`, `production` or an explicit base URL (origin, or ending in `/api/rest/v2`). */
  environment: FieldNationEnvironment | string;
  credentials: FieldNationCredentials;
  retry?: Partial<RetryOptions> | false;
  /** Client-side token bucket per connection; `false` disables it. Default 10 per second, burst 10. */
  rateLimit?: { requestsPerSecond: number; burst?: number } | false;
  /**
   * Total time for one HTTP exchange (connect, send, the whole answer), token requests included;
   * past it the call fails as a timeout (retryable; `ambiguous` for a create). Default 30 000 ms.
   */
  timeoutMs?: number;
  /**
   * Time to open the connection (DNS, TCP, TLS). Past it the request was never sent, so the call
   * is retried even for a create. Default 10 000 ms. Only with the built-in HTTP client (no `fetch`).
   */
  connectTimeoutMs?: number;
  /** Renew the token this long before it expires (at most half its lifetime). Default 60 000 ms. */
  tokenRenewMarginMs?: number;
  /** Called after every HTTP exchange (token requests included), for metrics. */
  onRequest?: (event: RequestEvent) => void;
  logger?: Logger;
  fetch?: typeof fetch;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface ClientStats {
  /** Calls per route template (attempts, token requests included). */
  calls: Record<string, number>;
  /** Responses per HTTP status (0 = no response). */
  statuses: Record<string, number>;
  rateLimited: number;
  retries: number;
  tokenRequests: number;
  reauthentications: number;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  route: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** v2 passes `?access_token=`; the webhooks v3 API wants a Bearer header. */
  auth: 'query' | 'bearer';
  /** Safe to resend after a timeout or 5xx (it may have taken effect). */
  idempotent: boolean;
}

/** HTTP for the client: token cache, client-side rate limit, retries with backoff, counters. */
export class FieldNationTransport {
  readonly origin: string;
  private readonly tokens: TokenProvider;
  private readonly bucket?: TokenBucket;
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly fetchImpl?: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly counters: ClientStats = { calls: {}, statuses: {}, rateLimited: 0, retries: 0, tokenRequests: 0, reauthentications: 0 };

  constructor(private readonly options: FieldNationClientOptions) {
    this.origin = resolveOrigin(options.environment);
    this.retry = {
      maxAttempts: 4,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      maxRetryAfterMs: 120_000,
      ...(options.retry === false ? { maxAttempts: 1 } : options.retry),
    };
    if (options.rateLimit !== false) {
      const rps = options.rateLimit?.requestsPerSecond ?? 10;
      this.bucket = new TokenBucket(rps, options.rateLimit?.burst ?? Math.max(1, Math.ceil(rps)));
    }
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.fetchImpl = options.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
    this.tokens = new TokenProvider(() => this.requestToken(), options.tokenRenewMarginMs ?? 60_000);
  }

  /** A copy of the counters (for Prometheus exporters that poll). */
  stats(): ClientStats {
    return structuredClone(this.counters);
  }

  /** Field Nation user id of the API user, known after the first token. */
  get userId(): number | undefined {
    return this.tokens.userId;
  }

  private count(route: string, status: number, started: number, attempt: number, method: string): void {
    this.counters.calls[route] = (this.counters.calls[route] ?? 0) + 1;
    this.counters.statuses[status] = (this.counters.statuses[status] ?? 0) + 1;
    if (status === 429) this.counters.rateLimited += 1;
    this.options.onRequest?.({ method, route, status, durationMs: Date.now() - started, attempt });
  }

  private backoff(attempt: number): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  private async throttle(): Promise<void> {
    const wait = this.bucket?.reserve() ?? 0;
    if (wait > 0) await this.sleep(wait);
  }

  /** One logical call: throttled, authenticated, retried per the options; throws FieldNationError. */
  async request<T>(spec: RequestSpec): Promise<T> {
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      let error: FieldNationError;
      let tokenValue: string | undefined;
      try {
        tokenValue = (await this.tokens.get()).value;
        return await this.exchange<T>(spec, tokenValue, attempt);
      } catch (err) {
        if (!(err instanceof FieldNationError)) throw err;
        error = err;
      }
      error.attempts = attempt;
      // One re-authentication per call: the token may have been revoked or expired early.
      if (error.status === 401 && error.route === spec.route && tokenValue && !reauthenticated) {
        reauthenticated = true;
        this.counters.reauthentications += 1;
        this.tokens.invalidate(tokenValue);
        attempt -= 1;
        continue;
      }
      const retryAllowed = error.retryable && (!error.ambiguous || spec.idempotent);
      if (!retryAllowed || attempt >= this.retry.maxAttempts) throw error;
      if (error.retryAfterMs !== undefined && error.retryAfterMs > this.retry.maxRetryAfterMs) throw error;
      const delay = error.retryAfterMs ?? this.backoff(attempt);
      this.counters.retries += 1;
      this.options.logger?.warn({ route: spec.route, status: error.status, attempt, delayMs: delay }, 'Field Nation call failed; retrying');
      await this.sleep(delay);
    }
  }

  private async exchange<T>(spec: RequestSpec, token: string, attempt: number): Promise<T> {
    const url = new URL(this.origin + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (spec.auth === 'query') url.searchParams.set('access_token', token);
    else headers.Authorization = `Bearer ${token}`;
    if (spec.body !== undefined) headers['Content-Type'] = 'application/json';
    const {
      status,
      headers: resHeaders,
      body,
    } = await this.fetchJson(spec.method, url, headers, spec.body, spec.route, attempt, !spec.idempotent);
    if (status >= 200 && status < 300) return body as T;
    throw errorFromResponse({ status, headers: resHeaders }, body, { method: spec.method, route: spec.route, idempotent: spec.idempotent });
  }

  private async fetchJson(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: unknown,
    route: string,
    attempt: number,
    unsafe: boolean,
  ) {
    await this.throttle();
    const started = Date.now();
    try {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const res = this.fetchImpl
        ? await this.viaFetch(this.fetchImpl, method, url, headers, payload)
        : await exchangeHttp(
            url,
            { method, headers, body: payload },
            { connectTimeoutMs: this.connectTimeoutMs, totalTimeoutMs: this.timeoutMs },
          );
      this.count(route, res.status, started, attempt, method);
      let parsed: unknown = res.text;
      try {
        parsed = res.text ? JSON.parse(res.text) : undefined;
      } catch {
        // Non-JSON (an HTML error page from a proxy): keep the text for the error message.
      }
      return { status: res.status, headers: res.headers, body: parsed };
    } catch (err) {
      this.count(route, 0, started, attempt, method);
      const name = (err as Error).name;
      const connectTimeout = err instanceof DependencyTimeoutError && err.phase === 'connect';
      const timeout = err instanceof DependencyTimeoutError || name === 'TimeoutError' || name === 'AbortError';
      const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
      // A refused or never-established connection never reached Field Nation, so even a create can be resent.
      const notSent = connectTimeout || code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
      const what = connectTimeout
        ? `could not connect within ${this.connectTimeoutMs} ms`
        : timeout
          ? `timed out after ${this.timeoutMs} ms`
          : `network error: ${code ?? (err as Error).message}`;
      throw new FieldNationError(`Field Nation ${route} ${what}`, {
        kind: timeout ? 'timeout' : 'network',
        status: 0,
        method,
        route,
        retryable: true,
        ambiguous: unsafe && !notSent,
        cause: err,
      });
    }
  }

  /** An injected fetch (tests): the total timeout applies, the connect timeout is the fetch's own. */
  private async viaFetch(
    fetchImpl: typeof fetch,
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<HttpAnswer> {
    const res = await fetchImpl(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  /**
   * One streamed exchange (attachment uploads and downloads): throttled, counted, the token in the
   * query when `auth` is 'query' (never sent to another origin: a download link elsewhere goes
   * without it). One attempt: the body is a stream, so a failure is the job's to retry; a 401 drops
   * the token first. Past the connection a silence of `timeoutMs` ends it (no whole-call deadline:
   * a large file takes as long as it takes while bytes move).
   */
  async stream(spec: {
    method: 'GET' | 'POST';
    url: URL;
    route: string;
    auth: 'query' | 'none';
    headers?: Record<string, string>;
    body?: Readable;
  }): Promise<http.IncomingMessage> {
    const url = new URL(spec.url);
    const token = spec.auth === 'query' ? (await this.tokens.get()).value : undefined;
    if (token) url.searchParams.set('access_token', token);
    await this.throttle();
    const started = Date.now();
    let res: http.IncomingMessage;
    try {
      res = await streamExchange(
        url,
        { method: spec.method, headers: { Accept: 'application/json', ...spec.headers }, body: spec.body },
        { connectTimeoutMs: this.connectTimeoutMs, idleTimeoutMs: this.timeoutMs },
        (phase, ms) =>
          new DependencyTimeoutError(
            'fieldnation',
            `Field Nation ${spec.route}: ${phase === 'connect' ? 'no connection' : 'no progress'} within ${ms} ms`,
            {
              phase: phase === 'connect' ? 'connect' : 'total',
              timeoutMs: ms,
            },
          ),
      );
    } catch (err) {
      this.count(spec.route, 0, started, 1, spec.method);
      if (err instanceof FieldNationError) throw err;
      const code = (err as { code?: string }).code;
      throw new FieldNationError(`Field Nation ${spec.route} failed: ${code ?? (err as Error).message}`, {
        kind: err instanceof DependencyTimeoutError ? 'timeout' : 'network',
        status: 0,
        method: spec.method,
        route: spec.route,
        retryable: true,
        ambiguous: spec.method !== 'GET',
        cause: err,
      });
    }
    const status = res.statusCode ?? 0;
    this.count(spec.route, status, started, 1, spec.method);
    if (status >= 200 && status < 300) return res;
    const text = await readSmallBody(res);
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // an HTML page from a proxy: kept as text
    }
    if (status === 401 && token) this.tokens.invalidate(token);
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    throw errorFromResponse({ status, headers }, body, { method: spec.method, route: spec.route, idempotent: spec.method === 'GET' });
  }

  private async requestToken(): Promise<{ accessToken: string; expiresInSeconds: number; userId?: number }> {
    const { clientId, clientSecret, username, password } = this.options.credentials;
    const route = 'POST /authentication/api/oauth/token';
    this.counters.tokenRequests += 1;
    const { status, headers, body } = await this.fetchJson(
      'POST',
      new URL(`${this.origin}/authentication/api/oauth/token`),
      { 'Content-Type': 'application/json', Accept: 'application/json' },
      { grant_type: 'password', client_id: clientId, client_secret: clientSecret, username, password },
      route,
      1,
      false,
    );
    const b = (body ?? {}) as { access_token?: string; expires_in?: number; user?: { id?: number } };
    if (status >= 200 && status < 300 && typeof b.access_token === 'string') {
      return { accessToken: b.access_token, expiresInSeconds: Number(b.expires_in ?? 3600), userId: b.user?.id };
    }
    const err = errorFromResponse({ status: status >= 200 && status < 300 ? 502 : status, headers }, body, {
      method: 'POST',
      route,
      idempotent: true,
    });
    // Bad credentials (400 invalid_grant, 401 invalid_client) are permanent until the config is fixed.
    if (status === 400 || status === 401) {
      throw new FieldNationError(`Field Nation authentication failed: ${err.message}`, {
        kind: 'auth',
        status,
        method: 'POST',
        route,
        retryable: false,
        body,
      });
    }
    throw err;
  }
}

export function resolveOrigin(environment: string): string {
  if (environment === 'sandbox' || environment === 'production') return FIELDNATION_HOSTS[environment];
  let url: URL;
  try {
    url = new URL(environment);
  } catch {
    throw new Error(`Field Nation environment must be 'sandbox', 'production' or a URL, got '${environment}'`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/rest\/v2$/, '')}`;
}

export interface HttpAnswer {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

/**
 * One HTTP exchange with a connect timeout (TCP, and TLS for https) and a total timeout, both failing
 * as DependencyTimeoutError (which the workers treat as an outage: the job waits). On undici's
 * dispatcher (`httpExchange`): node:http cost twice the CPU per call, and Node's fetch cannot bound
 * the connection phase on its own.
 */
export async function exchangeHttp(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string },
  limits: { connectTimeoutMs: number; totalTimeoutMs: number },
): Promise<HttpAnswer> {
  const answer = await httpExchange(url, {
    method: init.method,
    headers: init.headers,
    body: init.body,
    connectMs: limits.connectTimeoutMs,
    connectEnds: 'secure',
    connectError: () =>
      new DependencyTimeoutError('fieldnation', `Field Nation ${url.host}: no connection within ${limits.connectTimeoutMs} ms`, {
        phase: 'connect',
        timeoutMs: limits.connectTimeoutMs,
      }),
    totalMs: limits.totalTimeoutMs,
    totalError: () =>
      new DependencyTimeoutError(
        'fieldnation',
        `Field Nation ${init.method} ${url.pathname} got no complete answer within ${limits.totalTimeoutMs} ms`,
        { phase: 'total', timeoutMs: limits.totalTimeoutMs },
      ),
  });
  const headers = answer.headers;
  return { status: answer.status, headers: { get: (name) => headerValue(headers, name) }, text: answer.body.toString('utf8') };
}
