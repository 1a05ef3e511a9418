import type { Logger } from '@broker/runtime';

/** Token bucket applied per access token to `/api/rest/v2` and `/api/v1/webhooks`. */
export interface RateLimitOptions {
  /** Sustained rate. Default 60 per minute (reference §10, unverified DRAFT numbers). */
  perMinute: number;
  /** Bucket size. Default 100. */
  burst: number;
}

export interface WebhookDeliveryOptions {
  /** Attempts in total, first one included. Default 8 (v3 delivery page; legacy was 3). */
  maxAttempts: number;
  /** Wait before attempt 2; attempt n waits base·2^(n−2). Default 10 000 ms, divided by the time factor. */
  baseBackoffMs: number;
  /** Per-attempt timeout. Default 30 000 ms. Not scaled by the time factor (a real socket is waited on). */
  timeoutMs: number;
  /**
   * `relaxed` (default, as Field Nation documents "roughly but not strictly ordered"): a delivery
   * waiting for its retry does not hold back later ones. `strict`: one delivery at a time per
   * webhook, retries included.
   */
  ordering: 'relaxed' | 'strict';
  /** `v3` (default): X-FN-Signature. `legacy`: Fn-Hash only. `both`. Overridable per webhook. */
  signatureMode: 'v3' | 'legacy' | 'both';
  /** Also send `X-FN-Event-Name` (the older delivery page lists it). Default true. */
  sendEventNameHeader: boolean;
  /** Which webhook URLs are accepted: Field Nation wants https; `localhost` (default) also allows http to loopback hosts. */
  allowHttp: 'none' | 'localhost' | 'any';
}

export interface SimCredentials {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
}

export interface FieldNationSimOptions {
  /** Default 0 (any free port) for the programmatic API; `main.ts` uses PORT or 3300. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Divides webhook retry backoffs (1000 turns 10 s into 10 ms). Default 1. */
  timeFactor?: number;
  /** `expires_in` of issued access tokens. Default 3600. */
  tokenTtlSeconds?: number;
  /** `false` disables rate limiting. */
  rateLimit?: Partial<RateLimitOptions> | false;
  logger?: Logger;
  credentials?: Partial<SimCredentials>;
  /** Status of create/update validation errors: 422 (default, DRAFT/N) or 400 (OAS-R). */
  validationStatus?: 400 | 422;
  /** REST v2 error body: `legacy` `{status, message, errors}` (default) or RFC 9457 `problem`. */
  errorFormat?: 'legacy' | 'problem';
  /** Publishing requires type of work, location, schedule and pay (connector docs). Default true. */
  requirePublishFields?: boolean;
  /** Also accept `grant_type=client_credentials` (sources conflict; integrators report it fails). Default false. */
  allowClientCredentials?: boolean;
  /** Id of the first work order created. Default 100000. */
  firstWorkOrderId?: number;
  webhooks?: Partial<WebhookDeliveryOptions>;
  /**
   * Check every REST v2 / webhooks v3 request and response against Field Nation's OpenAPI definitions
   * (apps/fieldnation-sim/openapi): a request outside them is answered 400, a response outside them 500,
   * and the violation is recorded. Default true (tests and the harness); `main.ts` turns it on with
   * FN_SIM_CONTRACT_VALIDATION=on.
   */
  contractValidation?: boolean;
  /** Largest attachment accepted (bytes): a larger upload answers 413. Default 100 MB [I]: Field Nation documents no limit. */
  attachmentMaxBytes?: number;
}

export interface ResolvedSimOptions {
  port: number;
  host: string;
  timeFactor: number;
  tokenTtlSeconds: number;
  rateLimit: RateLimitOptions | false;
  credentials: SimCredentials;
  validationStatus: 400 | 422;
  errorFormat: 'legacy' | 'problem';
  requirePublishFields: boolean;
  allowClientCredentials: boolean;
  firstWorkOrderId: number;
  webhooks: WebhookDeliveryOptions;
  contractValidation: boolean;
  attachmentMaxBytes: number;
}

export const DEFAULT_CREDENTIALS: SimCredentials = {
  clientId: 'fn-sim-client',
  clientSecret: 'fn-sim-secret',
  username: 'buyer@example.com',
  password: 'sim-password',
};

/** Drop undefined values so a spread keeps the defaults (env-driven options pass undefined). */
function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function resolveOptions(options: FieldNationSimOptions = {}): ResolvedSimOptions {
  const timeFactor = options.timeFactor ?? 1;
  if (!(timeFactor > 0)) throw new Error('timeFactor must be > 0');
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    timeFactor,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    rateLimit: options.rateLimit === false ? false : { perMinute: 60, burst: 100, ...defined(options.rateLimit) },
    credentials: { ...DEFAULT_CREDENTIALS, ...defined(options.credentials) },
    validationStatus: options.validationStatus ?? 422,
    errorFormat: options.errorFormat ?? 'legacy',
    requirePublishFields: options.requirePublishFields ?? true,
    allowClientCredentials: options.allowClientCredentials ?? false,
    firstWorkOrderId: options.firstWorkOrderId ?? 100000,
    contractValidation: options.contractValidation ?? true,
    attachmentMaxBytes: options.attachmentMaxBytes ?? 100 * 1024 * 1024,
    webhooks: {
      maxAttempts: 8,
      baseBackoffMs: 10_000,
      timeoutMs: 30_000,
      ordering: 'relaxed',
      signatureMode: 'v3',
      sendEventNameHeader: true,
      allowHttp: 'localhost',
      ...defined(options.webhooks),
    },
  };
}
