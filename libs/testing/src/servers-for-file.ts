import { afterAll, beforeAll } from 'vitest';

interface Closable {
  close(): Promise<unknown>;
}

/**
 * Servers (simulators, apps under test) a spec file shares: started in order before the file's tests,
 * closed in reverse order after them. Read them from the returned object once the tests run.
 */
export function serversForFile<T extends Record<string, Closable>>(starters: { [K in keyof T]: () => Promise<T[K]> }): T {
  const started = new Map<keyof T, Closable>();
  beforeAll(async () => {
    for (const key of Object.keys(starters) as (keyof T)[]) started.set(key, await starters[key]());
  });
  afterAll(async () => {
    for (const server of [...started.values()].reverse()) await server.close();
  });
  const servers = {} as T;
  for (const key of Object.keys(starters) as (keyof T)[]) {
    Object.defineProperty(servers, key, {
      get: () => {
        const server = started.get(key);
        if (!server) throw new Error(`${String(key)} is not started yet (read it inside a test or hook)`);
        return server;
      },
    });
  }
  return servers;
}
