import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@broker/config';
import { createLogger } from '@broker/runtime';
import { createSalesforceClients } from '@broker/salesforce/client';
import { simConnectionYaml } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';

// The broker's own Salesforce client (not jsforce alone) through each login flow it offers.
const fixtures = path.resolve(import.meta.dirname, '../../salesforce-sim/test/fixtures');
const log = createLogger({ service: 'auth-flows-test', level: 'silent' });
let sim: SalesforceSim;

beforeAll(async () => {
  sim = await startSalesforceSim({
    port: 0,
    logger: log,
    connectedApp: { certificate: readFileSync(path.join(fixtures, 'jwt-connected-app.cert.pem'), 'utf8') },
  });
});
afterAll(async () => {
  await sim?.close();
});

function clientFor(auth: string) {
  const config = parseConfig(simConnectionYaml({ salesforceUrl: sim.url, auth }), '/tmp/c.yaml', {
    SF_PRIVATE_KEY: readFileSync(path.join(fixtures, 'jwt-connected-app.key.pem'), 'utf8'),
  });
  return createSalesforceClients(config.connections, log).get('demo')!;
}

describe.each([
  [
    'JWT bearer (key from the environment)',
    '{ flow: jwt, clientId: sim-client-id, username: integration@example.com, privateKey: "${SF_PRIVATE_KEY}" }',
    'jwt_bearer',
  ],
  [
    'JWT bearer (key file)',
    `{ flow: jwt, clientId: sim-client-id, username: integration@example.com, privateKeyFile: ${path.join(fixtures, 'jwt-connected-app.key.pem')} }`,
    'jwt_bearer',
  ],
  ['client credentials', '{ flow: client-credentials, clientId: sim-client-id, clientSecret: sim-client-secret }', 'client_credentials'],
  [
    'username-password (SOAP)',
    '{ flow: password, username: integration@example.com, password: sim-password, securityToken: SIMTOKEN }',
    'soap',
  ],
] as const)('Salesforce client with %s', (_name, auth, flow) => {
  it('logs in once, reuses the session, and logs in again only after the session expired', async () => {
    const client = clientFor(auth);
    const before = sim.loginCount(flow as never);
    for (let i = 0; i < 3; i++) expect((await client.query('SELECT Id FROM Case LIMIT 1')).records).toHaveLength(1);
    expect(sim.loginCount(flow as never) - before).toBe(1);
    expect(client.logins).toBe(1);
    expect(client.userId).toMatch(/^005/);

    sim.expireSessions({});
    expect((await client.query('SELECT Id FROM Case LIMIT 1')).records).toHaveLength(1);
    expect(sim.loginCount(flow as never) - before).toBe(2);
    expect(client.logins).toBe(2);
  });
});

describe('Salesforce client login failures', () => {
  it('surfaces a JWT signed with a key the connected app does not know', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const client = clientFor(
      `{ flow: jwt, clientId: sim-client-id, username: integration@example.com, privateKey: ${JSON.stringify(other)} }`,
    );
    await expect(client.query('SELECT Id FROM Case LIMIT 1')).rejects.toThrow(/invalid assertion|invalid_grant/i);
  });
});
