import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@broker/config';
import { createLogger } from '@broker/runtime';
import { SIM_PASSWORD_AUTH, simConnectionYaml } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../../apps/salesforce-sim/src/index';
import { createSalesforceClient, SalesforceApiError } from './salesforce-client';

// The record query goes straight to /query on jsforce's session (not through jsforce's request
// streams): its answers, errors, retries and usage must read as jsforce's did.
const log = createLogger({ service: 'sf-query-test', level: 'silent' });
let sim: SalesforceSim;
beforeAll(async () => {
  sim = await startSalesforceSim({ port: 0, logger: log });
});
afterAll(async () => {
  await sim?.close();
});

const client = () => {
  const config = parseConfig(simConnectionYaml({ salesforceUrl: sim.url, auth: SIM_PASSWORD_AUTH }), '/tmp/c.yaml', {});
  return createSalesforceClient(config.connections[0]!.salesforce, { logger: log });
};

describe('the record query', () => {
  it('returns the records, quotes and all, and the usage Salesforce reports with them', async () => {
    const c = client();
    const id = sim.createRecord('Case', { Subject: `it's "quoted" & ünïcode`, Status: 'New' });
    sim.setApiUsage({ used: 1_234, max: 50_000 });
    const { records, totalSize } = await c.query(`SELECT Id, Subject FROM Case WHERE Id = '${id}'`);
    expect(totalSize).toBe(1);
    expect(records[0]).toMatchObject({ Id: id, Subject: `it's "quoted" & ünïcode` });
    expect(c.usage).toEqual({ used: 1_235, limit: 50_000 });
  });

  it("fails with Salesforce's errorCode and message, permanent or retryable as jsforce classified them", async () => {
    const c = client();
    sim.injectFault({ kind: 'ERROR', path: '/query', errorCode: 'INVALID_FIELD', message: "No such column 'Nope__c'" });
    const invalid = await c.query('SELECT Id FROM Case LIMIT 1').catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(SalesforceApiError);
    expect(invalid).toMatchObject({ errorCode: 'INVALID_FIELD', status: 400, retryable: false, message: "No such column 'Nope__c'" });
    sim.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', path: '/query' });
    await expect(c.query('SELECT Id FROM Case LIMIT 1')).rejects.toMatchObject({ errorCode: 'UNABLE_TO_LOCK_ROW', retryable: true });
  });

  it('asks again after a 503 (idempotent), and fails retryable when Salesforce stays unavailable', async () => {
    const c = client();
    await c.query('SELECT Id FROM Case LIMIT 1'); // logged in
    const before = sim.counters().apiCalls.total;
    sim.injectFault({ kind: 'HTTP_5XX', path: '/query', count: 1 });
    expect((await c.query('SELECT Id FROM Case LIMIT 1')).records).toHaveLength(1);
    sim.injectFault({ kind: 'HTTP_5XX', path: '/query', count: 3 });
    await expect(c.query('SELECT Id FROM Case LIMIT 1')).rejects.toMatchObject({ status: 503, retryable: true });
    expect(sim.counters().apiCalls.total - before).toBeGreaterThanOrEqual(2);
  });
});
