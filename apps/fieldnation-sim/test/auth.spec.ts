import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldNationSim } from '../src/index';
import { getToken, restApi, startSim, json } from './sim-test-helpers';

describe('OAuth token endpoint', () => {
  let sim: FieldNationSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => sim?.close());

  const creds = () => ({
    grant_type: 'password',
    client_id: 'fn-sim-client',
    client_secret: 'fn-sim-secret',
    username: 'buyer@example.com',
    password: 'sim-password',
  });
  const post = (body: string | URLSearchParams | FormData, headers: Record<string, string> = {}) =>
    fetch(sim.tokenUrl, { method: 'POST', body, headers });

  it('issues a token for JSON, form-urlencoded and multipart bodies', async () => {
    const jsonBody = await post(JSON.stringify(creds()), { 'Content-Type': 'application/json' });
    const form = await post(new URLSearchParams(creds()));
    const multipart = new FormData();
    for (const [k, v] of Object.entries(creds())) multipart.append(k, v);
    const multi = await post(multipart);
    for (const res of [jsonBody, form, multi]) {
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body).toMatchObject({ expires_in: 3600, token_type: 'Bearer', user: { id: 1068, email: 'buyer@example.com' } });
      expect(body.access_token).toEqual(expect.any(String));
      expect(body.refresh_token).toEqual(expect.any(String));
    }
  });

  it('answers OAuth-style errors', async () => {
    const badClient = await post(JSON.stringify({ ...creds(), client_secret: 'nope' }), { 'Content-Type': 'application/json' });
    expect(badClient.status).toBe(401);
    expect(await json(badClient)).toEqual({ error: 'invalid_client', error_description: expect.any(String) });

    const badUser = await post(new URLSearchParams({ ...creds(), password: 'wrong' }));
    expect(badUser.status).toBe(400);
    expect((await json(badUser)).error).toBe('invalid_grant');

    const clientCredentials = await post(new URLSearchParams({ ...creds(), grant_type: 'client_credentials' }));
    expect(clientCredentials.status).toBe(400);
    expect((await json(clientCredentials)).error).toBe('unsupported_grant_type');

    const missing = await post(new URLSearchParams({ grant_type: 'password' }));
    expect((await json(missing)).error).toBe('invalid_request');

    const malformed = await post('{"grant_type":', { 'Content-Type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).error).toBe('invalid_request');

    sim.injectFault({ path: '^/authentication/', status: 503, count: 1 });
    const unavailable = await post(new URLSearchParams(creds()));
    expect(unavailable.status).toBe(503);
    expect((await json(unavailable)).error).toBe('server_error');
  });

  it('refreshes with a one-time refresh token', async () => {
    const first = await json(await post(new URLSearchParams(creds())));
    const refreshed = await post(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token }));
    expect(refreshed.status).toBe(200);
    const body = await json(refreshed);
    expect(body.access_token).not.toBe(first.access_token);
    const reused = await post(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token }));
    expect(reused.status).toBe(400);
    expect((await json(reused)).error).toBe('invalid_grant');
  });

  it('refreshes on /authentication/api/oauth/refresh too, and the new access token works', async () => {
    const refreshUrl = `${sim.url}/authentication/api/oauth/refresh`;
    const first = await json(await post(new URLSearchParams(creds())));
    const refreshed = await fetch(refreshUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: first.refresh_token }),
    });
    expect(refreshed.status).toBe(200);
    const body = await json(refreshed);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, user: { id: 1068 } });
    expect(body.access_token).not.toBe(first.access_token);
    expect((await restApi(sim, body.access_token)('GET', '/types-of-work')).status).toBe(200);

    // One-time use is shared with the token endpoint: the refresh token is spent on either path.
    const reused = await post(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token }));
    expect(reused.status).toBe(400);
    expect((await json(reused)).error).toBe('invalid_grant');
    const unknown = await fetch(refreshUrl, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'nope' }),
    });
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    const missing = await fetch(refreshUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token' }) });
    expect((await json(missing)).error).toBe('invalid_request');
  });

  it('accepts the token as ?access_token= and as a Bearer header, rejects missing, unknown and expired ones', async () => {
    const token = await getToken(sim);
    expect((await restApi(sim, token)('GET', '/types-of-work')).status).toBe(200);
    const bearer = await fetch(`${sim.restUrl}/types-of-work`, { headers: { Authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);

    const none = await fetch(`${sim.restUrl}/workorders`);
    expect(none.status).toBe(401);
    expect(await json(none)).toEqual({ status: 401, message: 'An access token is required', errors: [] });

    const unknown = await restApi(sim, 'not-a-token')('GET', '/workorders');
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toBe('The access token is invalid');

    expect(sim.expireTokens()).toBeGreaterThan(0);
    const expired = await restApi(sim, token)('GET', '/workorders');
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ status: 401, message: 'The access token has expired', errors: [] });
    expect(expired.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('expires tokens after expires_in', async () => {
    const shortLived = await startSim({ tokenTtlSeconds: 1 });
    try {
      const res = await fetch(shortLived.tokenUrl, { method: 'POST', body: new URLSearchParams(creds()) });
      const body = await json(res);
      expect(body.expires_in).toBe(1);
      const api = restApi(shortLived, body.access_token);
      expect((await api('GET', '/workorders')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await api('GET', '/workorders')).status).toBe(401);
    } finally {
      await shortLived.close();
    }
  });

  it('honours overridden credentials', async () => {
    const custom = await startSim({ credentials: { clientId: 'c', clientSecret: 's', username: 'u@example.com', password: 'p' } });
    try {
      const ok = await fetch(custom.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: 'c', client_secret: 's', username: 'u@example.com', password: 'p' }),
      });
      expect(ok.status).toBe(200);
      const old = await fetch(custom.tokenUrl, { method: 'POST', body: new URLSearchParams(creds()) });
      expect(old.status).toBe(401);
    } finally {
      await custom.close();
    }
  });
});
