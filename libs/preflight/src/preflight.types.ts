/** One line of the preflight checklist. `warn` is shown but does not fail the run. */
export interface CheckResult {
  /** Stable id, e.g. `salesforce.login`, `salesforce.fields.Case`, `fieldnation.webhook`. */
  id: string;
  title: string;
  status: 'ok' | 'warn' | 'fail';
  /** What was found (never a secret). */
  detail: string;
  /** What to do about a warn or fail; empty when ok. */
  fix: string;
}

export interface PreflightReport {
  connectionId: string;
  checks: CheckResult[];
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  /** REST calls the preflight spent against the Salesforce daily allowance (logins are not counted by Salesforce). */
  salesforceApiCalls: number;
  /** HTTP requests sent to Field Nation, the token request included. */
  fieldnationRequests: number;
  durationMs: number;
}

export const ok = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: 'ok', detail, fix: '' });
export const warn = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: 'warn', detail, fix });
export const fail = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: 'fail', detail, fix });
