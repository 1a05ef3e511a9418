import type { Logger } from '@broker/runtime';
import type { Counters } from './core/counters';
import type { VirtualClock } from './core/virtual-clock';
import type { OrgConfig } from './org/org.schema';
import type { OrgModel } from './org/org-model';
import type { OrgStore } from './org/org-store';
import type { SessionStore } from './auth/session-store';
import type { QueryCursors } from './rest/query-cursors';
import type { FaultInjector } from './control/fault-injector';
import type { OutboundQueue } from './outbound/outbound-queue';
import type { Automation } from './outbound/automation';

/** Tunables resolved from the options; documented on `SalesforceSimOptions`. */
export interface SimSettings {
  queryPageSize: number;
  requireSecurityToken: boolean;
  publicUrl?: string;
  outboundRetryBaseMs: number;
  outboundRetryMaxGapMs: number;
  outboundMaxAgeMs: number;
  outboundAttemptTimeoutMs: number;
  outboundConcurrency: number;
  outboundBatchSize: number;
  /** Undefined: the login host of the org (login. or test.salesforce.com). */
  jwtAudiences?: string[];
}

/**
 * Everything a request handler needs. `reset()` swaps the org state in place, so handlers always read
 * through this object instead of keeping their own references.
 */
export interface SimContext {
  config: OrgConfig;
  model: OrgModel;
  store: OrgStore;
  refs: Map<string, string>;
  orgId: string;
  orgId15: string;
  clock: VirtualClock;
  sessions: SessionStore;
  counters: Counters;
  cursors: QueryCursors;
  faults: FaultInjector;
  outbound: OutboundQueue;
  automation: Automation;
  settings: SimSettings;
  logger: Logger;
  /** `http://host:port` as clients reach the simulator. */
  baseUrl(): string;
}
