import { createHmac } from 'node:crypto';
import { createLogger } from '@broker/runtime';
import { startFieldNationSim, type FieldNationSim, type FieldNationSimOptions } from '../src/index';

export const quietLogger = () => createLogger({ service: 'fieldnation-sim-test', level: 'silent' });

/**
 * These specs test what the simulator accepts beyond Field Nation's OpenAPI definitions on purpose
 * (form-encoded tokens, endpoints only the provider app and legacy docs show, its own 422 validation),
 * so the contract check is off here; it is on for every broker test and is tested in contract-check.spec.ts.
 */
export function startSim(options: FieldNationSimOptions = {}): Promise<FieldNationSim> {
  return startFieldNationSim({ timeFactor: 1000, logger: quietLogger(), contractValidation: false, ...options });
}

export async function getToken(sim: FieldNationSim): Promise<string> {
  const res = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'password',
      client_id: sim.credentials.clientId,
      client_secret: sim.credentials.clientSecret,
      username: sim.credentials.username,
      password: sim.credentials.password,
    }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** REST v2 call with `?access_token=`. */
export function restApi(sim: FieldNationSim, token: string) {
  return async <T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> => {
    const url = new URL(`${sim.restUrl}${path}`);
    url.searchParams.set('access_token', token);
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
}

/** Webhooks v3 management call with a Bearer header. */
export function webhookApi(sim: FieldNationSim, token: string) {
  return async <T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> => {
    const res = await fetch(`${sim.url}/api/v1/webhooks${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
}

export const hmac = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** A work order Field Nation accepts for publishing. */
export const publishableWorkOrder = (extra: Record<string, unknown> = {}) => ({
  title: 'Replace POS terminal',
  description: { html: '<p>Swap the defective unit.</p>' },
  types_of_work: [{ id: 62, isPrimary: true }],
  location: { mode: 'custom', address1: '123 Main St', city: 'Minneapolis', state: 'MN', zip: '55401', country: 'US', type: { id: 1 } },
  schedule: { service_window: { mode: 'exact', start: { utc: '2026-07-01 14:00:00' } } },
  pay: { type: 'fixed', base: { amount: 150, units: 1 } },
  custom_fields: { results: [{ results: [{ id: 606, value: '500Hs00001AbCdE' }] }] },
  ...extra,
});

/** Response JSON without a cast at every call site. */
export const json = (res: Response): Promise<any> => res.json();

/** A listener answer that fails the first delivery of `eventName` once with `status`, and accepts the rest. */
export function failFirstDelivery(eventName: string, status: number): (req: { body: string }) => { status: number } {
  let failed = false;
  return (req) => {
    if (!failed && req.body.includes(`"${eventName}"`)) {
      failed = true;
      return { status };
    }
    return { status: 200 };
  };
}
