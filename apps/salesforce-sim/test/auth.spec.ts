import { generateKeyPairSync, createSign, type KeyObject, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jsforce from 'jsforce';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSalesforceSim, type SalesforceSim } from '../src/index';
import { LOGIN_HOST_PREFIX } from '../src/salesforce-sim';
import { CLIENT_ID, CLIENT_SECRET, failure, ORG_ID, ORG_ID_15, PASSWORD, soapConnection, TOKEN, USERNAME, VERSION } from './helpers';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

function signJwt(claims: Record<string, unknown>, key: KeyObject = privateKey): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${enc({ alg: 'RS256' })}.${enc(claims)}`;
  const sig = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
  return `${unsigned}.${sig}`;
}

describe('authentication through jsforce', () => {
  let sim: SalesforceSim;

  beforeAll(async () => {
    sim = await startSalesforceSim({
      port: 0,
      connectedApp: { certificate: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await sim.reset();
  });

  it('logs in with SOAP login() and password + security token', async () => {
    const conn = new jsforce.Connection({ loginUrl: sim.url, version: VERSION });
    const info = await conn.login(USERNAME, PASSWORD + TOKEN);
    expect(info.id).toBe(sim.ref('integration'));
    expect(info.organizationId).toBe(ORG_ID);
    expect(conn.instanceUrl).toBe(sim.url);
    expect(conn.accessToken).toMatch(new RegExp(`^${ORG_ID_15}!`));
    const res = await conn.query<{ Id: string }>("SELECT Id FROM User WHERE Username = 'integration@example.com'");
    expect(res.records[0]!.Id).toBe(info.id);
    expect(sim.loginCount('soap')).toBe(1);
  });

  it('rejects a bad password and a missing security token with INVALID_LOGIN', async () => {
    const conn = new jsforce.Connection({ loginUrl: sim.url, version: VERSION });
    const err = await failure(conn.login(USERNAME, 'wrong'));
    expect(err.message).toBe('INVALID_LOGIN: Invalid username, password, security token; or user locked out.');
    const err2 = await failure(conn.login(USERNAME, PASSWORD));
    expect(err2.message).toMatch(/^INVALID_LOGIN/);
    expect(sim.counters().logins.failed).toBe(2);
  });

  it('logs in with the OAuth2 password grant when a client id and secret are configured', async () => {
    const conn = new jsforce.Connection({
      loginUrl: sim.url,
      version: VERSION,
      oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: sim.url },
    });
    const info = await conn.login(USERNAME, PASSWORD + TOKEN);
    expect(info.id).toBe(sim.ref('integration'));
    expect((await conn.query('SELECT Id FROM Case')).totalSize).toBe(5);
    expect(sim.loginCount('password')).toBe(1);
    const bad = new jsforce.Connection({
      loginUrl: sim.url,
      version: VERSION,
      oauth2: { clientId: CLIENT_ID, clientSecret: 'nope', loginUrl: sim.url },
    });
    const err = await failure(bad.login(USERNAME, PASSWORD + TOKEN));
    expect(err.name).toBe('invalid_client');
    const badUser = new jsforce.Connection({
      loginUrl: sim.url,
      version: VERSION,
      oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: sim.url },
    });
    expect((await failure(badUser.login(USERNAME, 'wrong'))).name).toBe('invalid_grant');
  });

  it('issues tokens for the client_credentials grant as the run-as user', async () => {
    const conn = new jsforce.Connection({
      loginUrl: sim.url,
      version: VERSION,
      oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: sim.url },
    });
    const info = await conn.authorize({ grant_type: 'client_credentials' });
    expect(info.id).toBe(sim.ref('integration'));
    expect((await conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(4);
    expect(sim.loginCount('client_credentials')).toBe(1);
  });

  it('verifies RS256 JWT bearer assertions against the connected app certificate', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const conn = new jsforce.Connection({ loginUrl: sim.url, version: VERSION });
    const info = await conn.authorize({
      grant_type: JWT_BEARER,
      assertion: signJwt({ iss: CLIENT_ID, sub: 'dispatcher@example.com', aud: 'https://login.salesforce.com', exp }),
    });
    expect(info.id).toBe(sim.ref('dispatcher'));
    expect((await conn.query('SELECT Id FROM Contact')).totalSize).toBe(4);
    expect(sim.loginCount('jwt_bearer')).toBe(1);

    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = await failure(
      new jsforce.Connection({ loginUrl: sim.url }).authorize({
        grant_type: JWT_BEARER,
        assertion: signJwt({ iss: CLIENT_ID, sub: USERNAME, aud: 'https://login.salesforce.com', exp }, other),
      }),
    );
    expect(forged.name).toBe('invalid_grant');
    const expired = await failure(
      new jsforce.Connection({ loginUrl: sim.url }).authorize({
        grant_type: JWT_BEARER,
        assertion: signJwt({ iss: CLIENT_ID, sub: USERNAME, aud: 'https://login.salesforce.com', exp: 1000 }),
      }),
    );
    expect(expired.name).toBe('invalid_grant');
    // Salesforce wants the login host as aud, not the org's My Domain, and a production org not test.salesforce.com.
    for (const aud of ['https://example.com', sim.url, 'https://test.salesforce.com']) {
      const wrongAud = await failure(
        new jsforce.Connection({ loginUrl: sim.url }).authorize({
          grant_type: JWT_BEARER,
          assertion: signJwt({ iss: CLIENT_ID, sub: USERNAME, aud, exp }),
        }),
      );
      expect(wrongAud.message, aud).toBe('audience is invalid');
    }
    const unknownClient = await failure(
      new jsforce.Connection({ loginUrl: sim.url }).authorize({
        grant_type: JWT_BEARER,
        assertion: signJwt({ iss: 'nobody', sub: USERNAME, aud: 'https://login.salesforce.com', exp }),
      }),
    );
    expect(unknownClient.name).toBe('invalid_client_id');
  });

  it('refreshes an OAuth session with the refresh_token grant on 401', async () => {
    const refreshToken = sim.issueRefreshToken(USERNAME);
    const conn = new jsforce.Connection({
      oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: sim.url },
      instanceUrl: sim.url,
      accessToken: 'not-a-session',
      refreshToken,
      version: VERSION,
    });
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    expect((await conn.query('SELECT Id FROM Case')).totalSize).toBe(5);
    expect(refreshed).toHaveLength(1);
    expect(sim.loginCount('refresh_token')).toBe(1);
  });

  it('expires sessions mid-run: jsforce logs in again by itself after a username/password login', async () => {
    const conn = await soapConnection(sim);
    await conn.query('SELECT Id FROM Case');
    const first = conn.accessToken;
    expect(sim.expireSessions()).toBeGreaterThan(0);
    const res = await conn.query('SELECT Id FROM Case');
    expect(res.totalSize).toBe(5);
    expect(conn.accessToken).not.toBe(first);
    expect(sim.loginCount('soap')).toBe(2);

    const oauth = new jsforce.Connection({
      loginUrl: sim.url,
      version: VERSION,
      oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: sim.url },
    });
    await oauth.login(USERNAME, PASSWORD + TOKEN);
    sim.expireSessions({ username: USERNAME });
    await oauth.sobject('Case').retrieve(sim.ref('case_install'));
    expect(sim.loginCount('password')).toBe(2);
  });

  it('expires sessions by inactivity on the virtual clock', async () => {
    const conn = await soapConnection(sim);
    await sim.advanceClock(2 * 3_600_000 + 1);
    await conn.query('SELECT Id FROM Case');
    expect(sim.loginCount('soap')).toBe(2);
  });

  it('surfaces INVALID_SESSION_ID when jsforce has no way to refresh', async () => {
    const login = await soapConnection(sim);
    const conn = new jsforce.Connection({ instanceUrl: sim.url, accessToken: login.accessToken!, version: VERSION });
    sim.expireSessions({ token: login.accessToken! });
    const err = await failure(conn.query('SELECT Id FROM Case'));
    expect(err.errorCode).toBe('INVALID_SESSION_ID');
    expect(err.message).toBe('Session expired or invalid');

    const cc = new jsforce.Connection({
      loginUrl: sim.url,
      version: VERSION,
      oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: sim.url },
    });
    await cc.authorize({ grant_type: 'client_credentials' });
    sim.expireSessions();
    // jsforce 3.10.16 tries the refresh_token flow for OAuth connections; client_credentials gives none.
    expect((await failure(cc.query('SELECT Id FROM Case'))).message).toMatch(/Unable to refresh session due to: No refresh token/);
  });

  it('logs out a SOAP session', async () => {
    const conn = await soapConnection(sim);
    const token = conn.accessToken!;
    await conn.logout();
    const stale = new jsforce.Connection({ instanceUrl: sim.url, accessToken: token, version: VERSION });
    const err = await failure(stale.limits());
    expect(err.errorCode).toBe('INVALID_SESSION_ID');
    expect(err.message).toBe('Session expired or invalid');
  });

  it('revokes OAuth access and refresh tokens at /services/oauth2/revoke', async () => {
    const oauth2 = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: sim.url };
    const conn = new jsforce.Connection({ loginUrl: sim.url, version: VERSION, oauth2 });
    await conn.login(USERNAME, PASSWORD + TOKEN);
    const access = conn.accessToken!;
    // logout() on an OAuth session is oauth2.revokeToken(accessToken).
    await conn.logout();
    const stale = new jsforce.Connection({ instanceUrl: sim.url, accessToken: access, version: VERSION });
    const err = await failure(stale.query('SELECT Id FROM Case'));
    expect(err.errorCode).toBe('INVALID_SESSION_ID');

    // Revoking a refresh token ends it and the sessions issued from it.
    const refresh = sim.issueRefreshToken(USERNAME);
    const client = new jsforce.Connection({ version: VERSION, oauth2 });
    const issued = await client.oauth2.refreshToken(refresh);
    const fromRefresh = new jsforce.Connection({ instanceUrl: sim.url, accessToken: issued.access_token, version: VERSION });
    expect((await fromRefresh.query('SELECT COUNT() FROM Case')).totalSize).toBe(5);
    await client.oauth2.revokeToken(refresh);
    expect((await failure(client.oauth2.refreshToken(refresh))).name).toBe('invalid_grant');
    expect((await failure(fromRefresh.query('SELECT COUNT() FROM Case'))).errorCode).toBe('INVALID_SESSION_ID');
    // jsforce reads revoke errors as form-encoded; the JSON body comes through as the message.
    const unknown = await failure(client.oauth2.revokeToken('never-issued'));
    expect(unknown.name).toBe('ERROR_HTTP_400');
    expect(JSON.parse(unknown.message)).toEqual({ error: 'unsupported_token_type', error_description: 'this token type is not supported' });
  });

  it('refuses client credentials on the generic login host, and serves them on the My Domain', async () => {
    const viaLoginHost = new jsforce.Connection({
      loginUrl: `${sim.url}${LOGIN_HOST_PREFIX}`,
      version: VERSION,
      oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: `${sim.url}${LOGIN_HOST_PREFIX}` },
    });
    const err = await failure(viaLoginHost.authorize({ grant_type: 'client_credentials' }));
    expect(err.name).toBe('invalid_request');
    expect(err.message).toBe('request not supported on this domain');
    // The login host still takes the other flows.
    const exp = Math.floor(Date.now() / 1000) + 300;
    const jwt = new jsforce.Connection({ loginUrl: `${sim.url}${LOGIN_HOST_PREFIX}`, version: VERSION });
    expect(
      (
        await jwt.authorize({
          grant_type: JWT_BEARER,
          assertion: signJwt({ iss: CLIENT_ID, sub: USERNAME, aud: 'https://login.salesforce.com', exp }),
        })
      ).id,
    ).toBe(sim.ref('integration'));
    const soap = new jsforce.Connection({ loginUrl: `${sim.url}${LOGIN_HOST_PREFIX}`, version: VERSION });
    expect((await soap.login(USERNAME, PASSWORD + TOKEN)).id).toBe(sim.ref('integration'));
  });

  it('refuses SOAP login() from API version 65.0 and takes it up to 64.0', async () => {
    const retired = await failure(new jsforce.Connection({ loginUrl: sim.url, version: '65.0' }).login(USERNAME, PASSWORD + TOKEN));
    expect(retired.message).toMatch(/^UNSUPPORTED_API_VERSION: login\(\) is not available in API version 65\.0.*OAuth 2\.0/);
    const last = new jsforce.Connection({ loginUrl: sim.url, version: '64.0' });
    expect((await last.login(USERNAME, PASSWORD + TOKEN)).id).toBe(sim.ref('integration'));
  });

  it('verifies JWT bearer assertions against an X.509 certificate PEM', async () => {
    // A self-signed certificate and its key, committed as test fixtures (openssl req -x509; not a secret).
    const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
    const certificate = fixture('jwt-connected-app.cert.pem');
    const key = createPrivateKey(fixture('jwt-connected-app.key.pem'));
    expect(certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const withCert = await startSalesforceSim({ port: 0, sandbox: true, connectedApp: { certificate } });
    try {
      const exp = Math.floor(Date.now() / 1000) + 300;
      const conn = new jsforce.Connection({ loginUrl: withCert.url, version: VERSION });
      const info = await conn.authorize({
        grant_type: JWT_BEARER,
        assertion: signJwt({ iss: CLIENT_ID, sub: USERNAME, aud: 'https://test.salesforce.com', exp }, key),
      });
      expect(info.id).toBe(withCert.ref('integration'));
      expect((await conn.query('SELECT COUNT() FROM Case')).totalSize).toBe(5);
      // The key pair this file generates is not the certificate's.
      const other = await failure(
        new jsforce.Connection({ loginUrl: withCert.url }).authorize({
          grant_type: JWT_BEARER,
          assertion: signJwt({ iss: CLIENT_ID, sub: USERNAME, aud: 'https://test.salesforce.com', exp }),
        }),
      );
      expect(other.name).toBe('invalid_grant');
      // A sandbox takes test.salesforce.com and refuses login.salesforce.com.
      const prodAud = await failure(
        new jsforce.Connection({ loginUrl: withCert.url }).authorize({
          grant_type: JWT_BEARER,
          assertion: signJwt({ iss: CLIENT_ID, sub: USERNAME, aud: 'https://login.salesforce.com', exp }, key),
        }),
      );
      expect(prodAud.message).toBe('audience is invalid');
    } finally {
      await withCert.close();
    }
  });
});
