import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@broker/config';
import { createLogger } from '@broker/runtime';
import { SIM_PASSWORD_AUTH, simConnectionYaml } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../../apps/salesforce-sim/src/index';
import { createSalesforceClient, SalesforceApiError } from './salesforce-client';

// A Salesforce host that accepts the connection, reads the request and never answers: the failure a
// 30-minute jsforce default turns into every job of the connection hanging.
const log = createLogger({ service: 'sf-timeouts-test', level: 'silent' });
let silent: net.Server;
let silentUrl = '';
let requestsSeen = 0;
const sockets = new Set<net.Socket>();
let sim: SalesforceSim;

beforeAll(async () => {
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => requestsSeen++);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  // The simulator's token endpoint hands out an instance URL that is the silent host.
  sim = await startSalesforceSim({ port: 0, logger: log, publicUrl: silentUrl });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent?.close(r));
  await sim?.close();
});

function client(instance: string, auth: string, requestMs: number) {
  const config = parseConfig(
    simConnectionYaml({ salesforceUrl: instance, auth, salesforceExtra: `      timeouts: { connectMs: 1000, requestMs: ${requestMs} }` }),
    '/tmp/c.yaml',
    {},
  );
  return createSalesforceClient(config.connections[0]!.salesforce, { logger: log });
}

const PASSWORD = SIM_PASSWORD_AUTH;

describe('Salesforce timeouts', () => {
  it('a hung login fails every job waiting on it with ETIMEDOUT, and the next call logs in again', async () => {
    const c = client(silentUrl, PASSWORD, 700);
    const before = requestsSeen;
    const started = Date.now();
    const jobs = await Promise.allSettled([c.query('SELECT Id FROM Case'), c.query('SELECT Id FROM Case'), c.composite([])]);
    const elapsed = Date.now() - started;
    for (const j of jobs) {
      expect(j.status).toBe('rejected');
      const err = (j as PromiseRejectedResult).reason as SalesforceApiError;
      expect(err).toBeInstanceOf(SalesforceApiError);
      expect(err.code).toBe('ETIMEDOUT');
      expect(err.retryable).toBe(true);
      expect((err.cause as Error).name).toBe('TimeoutError');
    }
    expect(elapsed).toBeLessThan(10_000);
    expect(requestsSeen - before).toBe(1); // one shared login
    await expect(c.query('SELECT Id FROM Case')).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(requestsSeen - before).toBe(2); // not stuck on the first promise: a fresh login
    expect(c.logins).toBe(2);
  });

  it('a query to an instance that never answers fails with ETIMEDOUT after requestMs; the login itself worked', async () => {
    const c = client(sim.url, '{ flow: client-credentials, clientId: sim-client-id, clientSecret: sim-client-secret }', 800);
    const before = requestsSeen;
    const started = Date.now();
    const err = (await c.query('SELECT Id FROM Case').catch((e: unknown) => e)) as SalesforceApiError;
    expect(err).toBeInstanceOf(SalesforceApiError);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', errorCode: 'ETIMEDOUT', retryable: true });
    expect((err.cause as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(c.logins).toBe(1);
    // The query reached the silent host once: a timed-out GET is not re-sent inside the deadline.
    expect(requestsSeen - before).toBe(1);
  });

  it('a token refresh after an expired session that hangs surfaces as ETIMEDOUT, not a bare jsforce error', async () => {
    const own = await startSalesforceSim({ port: 0, logger: log });
    try {
      const c = client(own.url, '{ flow: client-credentials, clientId: sim-client-id, clientSecret: sim-client-secret }', 800);
      expect((await c.query('SELECT Id FROM Case LIMIT 1')).records).toHaveLength(1);
      own.expireSessions({});
      own.injectFault({ kind: 'LATENCY', method: 'POST', path: '/services/oauth2/token', latencyMs: 5_000 });
      const err = (await c.query('SELECT Id FROM Case LIMIT 1').catch((e: unknown) => e)) as SalesforceApiError;
      expect(err).toBeInstanceOf(SalesforceApiError);
      expect(err.message).toMatch(/Unable to refresh session/);
      expect(err).toMatchObject({ code: 'ETIMEDOUT', retryable: true });
      expect((err.cause as Error).name).toBe('TimeoutError');
    } finally {
      await own.close();
    }
  });

  it('a JWT login to a token endpoint that never answers times out too', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const c = client(silentUrl, `{ flow: jwt, clientId: x, username: u@example.com, privateKey: ${JSON.stringify(key)} }`, 600);
    await expect(c.query('SELECT Id FROM Case')).rejects.toMatchObject({ code: 'ETIMEDOUT', retryable: true });
  });
});
