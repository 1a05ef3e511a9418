import jsforce, { type Connection } from 'jsforce';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startListener, type Listener } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../src/index';

export const VERSION = '62.0';
export const USERNAME = 'integration@example.com';
export const PASSWORD = 'sim-password';
export const TOKEN = 'SIMTOKEN';
export const CLIENT_ID = 'sim-client-id';
export const CLIENT_SECRET = 'sim-client-secret';
/** The default org's id (docs/simulator-salesforce.md, "Default org"). */
export const ORG_ID = '00D000000000001EAA';
export const ORG_ID_15 = ORG_ID.slice(0, 15);

/** A jsforce connection logged in through SOAP login(), as the broker does by default. */
export async function soapConnection(sim: SalesforceSim, username = USERNAME, password = PASSWORD + TOKEN): Promise<Connection> {
  const conn = new jsforce.Connection({ loginUrl: sim.url, version: VERSION });
  await conn.login(username, password);
  return conn;
}

/** Catch a rejected promise's error for assertions on jsforce's `errorCode`. */
export async function failure(p: PromiseLike<unknown>): Promise<Error & { errorCode?: string; name: string; data?: unknown }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { errorCode?: string };
  }
  throw new Error('expected the call to fail');
}

/** A positive acknowledgement of an Outbound Message, as the broker's endpoint answers. */
export const ACK = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`;
export const ackAll = () => ({ status: 200, body: ACK, headers: { 'Content-Type': 'text/xml; charset=utf-8' } });

/**
 * A simulator and a listener for the Outbound Messages it sends, started before the describe block's
 * tests and closed after them; before each test the org is reset and the listener forgets what it
 * received and acknowledges everything. `outboundToListener` makes the listener the org's default endpoint.
 */
export function simWithListener(options: { outboundToListener: boolean }): { readonly sim: SalesforceSim; readonly listener: Listener } {
  const env = {} as { sim: SalesforceSim; listener: Listener };
  beforeAll(async () => {
    env.listener = await startListener();
    const outboundUrl = options.outboundToListener ? `${env.listener.url}/salesforce/outbound/default` : undefined;
    env.sim = await startSalesforceSim({ port: 0, outboundUrl, outboundRetryBaseMs: 1000 });
  });
  afterAll(async () => {
    await env.sim.close();
    await env.listener.close();
  });
  beforeEach(async () => {
    await env.sim.reset();
    env.listener.requests.length = 0;
    env.listener.respond = ackAll;
  });
  return env;
}
