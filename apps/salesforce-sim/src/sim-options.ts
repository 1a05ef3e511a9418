import type { Logger } from '@broker/runtime';
import type { OrgDefinition } from './org/org.schema';

/** Options of `startSalesforceSim`; each has an environment variable in `main.ts`. */
export interface SalesforceSimOptions {
  /** TCP port; 0 picks a free one. Default 3200 (`PORT`). */
  port?: number;
  /** Bind address. Default 127.0.0.1 (`HOST`). */
  host?: string;
  /** YAML org file. Default `apps/salesforce-sim/org/default-org.yaml` (`SF_SIM_ORG_FILE`). */
  orgFile?: string;
  /** Inline org definition (wins over `orgFile`). */
  org?: OrgDefinition;
  /** Virtual time runs this many times faster than wall time. Default 1 (`SF_SIM_TIME_FACTOR`). */
  timeFactor?: number;
  /** Virtual start time (ms or ISO). Default now. */
  clockStart?: number | string;
  /** Session inactivity timeout, virtual ms. Default 7 200 000 = 2 h (`SF_SIM_SESSION_TTL_MS`). */
  sessionTtlMs?: number;
  logger?: Logger;
  /** Endpoint of the default org's Outbound Messages (`SF_SIM_OUTBOUND_URL`); empty = not queued. */
  outboundUrl?: string;
  /** Records per query page (nextRecordsUrl beyond). Default 2000 (`SF_SIM_QUERY_PAGE_SIZE`). */
  queryPageSize?: number;
  /** Require password + security token (untrusted network). Default true. */
  requireSecurityToken?: boolean;
  /** DailyApiRequests.Max; overrides the org file. */
  dailyApiRequests?: number;
  /** Credentials of the default integration user (`SF_SIM_USERNAME`, `SF_SIM_PASSWORD`, `SF_SIM_SECURITY_TOKEN`). */
  integrationUser?: { username?: string; password?: string; securityToken?: string };
  /**
   * The default connected app (`SF_SIM_CLIENT_ID`, `SF_SIM_CLIENT_SECRET`, `SF_SIM_JWT_CERT_FILE`).
   * `certificate`: PEM certificate or public key checking JWT bearer assertions.
   */
  connectedApp?: { clientId?: string; clientSecret?: string; certificate?: string; refreshTokenOnPassword?: boolean };
  /**
   * Accepted JWT `aud` values. Default: https://login.salesforce.com, or https://test.salesforce.com for a
   * sandbox org, as Salesforce does (never the org's own My Domain URL); add an Experience Cloud site URL here.
   */
  jwtAudiences?: string[];
  /** The org is a sandbox (overrides `organization.sandbox` of the org file). */
  sandbox?: boolean;
  /** First retry gap of an undelivered Outbound Message, virtual ms. Default 60 000 [unverified]. */
  outboundRetryBaseMs?: number;
  /** Largest gap between retries, virtual ms. Default 2 h (documented by Salesforce). */
  outboundRetryMaxGapMs?: number;
  /** Age after which an undelivered notification is dropped, virtual ms. Default 24 h. */
  outboundMaxAgeMs?: number;
  /** Per-attempt HTTP timeout, wall-clock ms. Default 60 000. */
  outboundAttemptTimeoutMs?: number;
  /** Parallel POSTs per Outbound Message definition. Default 1. */
  outboundConcurrency?: number;
  /** Notifications per POST. Default 100 (Salesforce's maximum). */
  outboundBatchSize?: number;
  /** Username the control API acts as when no `as` is given. Default dispatcher@example.com when present. */
  defaultActingUser?: string;
  /** URL clients should use when it differs from the bound address (behind a proxy, in Docker). */
  publicUrl?: string;
}
