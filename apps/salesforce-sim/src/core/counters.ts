import type { LoginFlow } from '../auth/session-store';

export interface CountersSnapshot {
  apiCalls: { total: number; byEndpoint: Record<string, number> };
  logins: { total: number; failed: number; byFlow: Partial<Record<LoginFlow, number>> };
  apiUsage: { used: number; max: number };
}

/**
 * What the org has been asked: API calls per normalised endpoint (`GET /query`,
 * `PATCH /sobjects/Case/{id}`), logins per flow, and the daily API allowance that Salesforce enforces.
 */
export class Counters {
  private byEndpoint = new Map<string, number>();
  private total = 0;
  private loginsByFlow = new Map<LoginFlow, number>();
  private failedLogins = 0;
  used = 0;

  constructor(public max: number) {}

  /** True when the daily allowance is used up (the request must be refused, not counted). */
  exhausted(): boolean {
    return this.used >= this.max;
  }

  countApiCall(endpoint: string): void {
    this.total += 1;
    this.used += 1;
    this.byEndpoint.set(endpoint, (this.byEndpoint.get(endpoint) ?? 0) + 1);
  }

  countLogin(flow: LoginFlow, ok: boolean): void {
    if (!ok) {
      this.failedLogins += 1;
      return;
    }
    this.loginsByFlow.set(flow, (this.loginsByFlow.get(flow) ?? 0) + 1);
  }

  limitHeader(): string {
    return `api-usage=${this.used}/${this.max}`;
  }

  snapshot(): CountersSnapshot {
    const logins = [...this.loginsByFlow.values()].reduce((a, b) => a + b, 0);
    return {
      apiCalls: { total: this.total, byEndpoint: Object.fromEntries(this.byEndpoint) },
      logins: { total: logins, failed: this.failedLogins, byFlow: Object.fromEntries(this.loginsByFlow) },
      apiUsage: { used: this.used, max: this.max },
    };
  }

  /** Reset call and login counters (not the API usage, which has its own setter). */
  resetCounts(): void {
    this.byEndpoint = new Map();
    this.total = 0;
    this.loginsByFlow = new Map();
    this.failedLogins = 0;
  }
}

/** `GET /sobjects/Case/500…` → `GET /sobjects/Case/{id}`; query locators become `{locator}`. */
export function endpointKey(method: string, path: string): string {
  const normalised = path
    .split('/')
    .map((seg, i, all) => {
      if (/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(seg) && /\d/.test(seg)) return '{id}';
      if (all[i - 1] === 'query' || all[i - 1] === 'queryAll') return '{locator}';
      return seg;
    })
    .join('/');
  return `${method.toUpperCase()} ${normalised || '/'}`;
}
