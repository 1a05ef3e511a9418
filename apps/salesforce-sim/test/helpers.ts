import jsforce, { type Connection } from 'jsforce';
import type { SalesforceSim } from '../src/index';

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
