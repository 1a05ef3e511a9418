// closeServer on a server with keep-alive clients, as the ingress has them (Salesforce, Field Nation,
// load balancers): what is in flight is answered, and the server closes without waiting for idle
// keep-alive timers (65 s on the ingress), well inside the shutdown deadline.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer } from '../src/http-app';

const agents: http.Agent[] = [];
afterEach(() => agents.splice(0).forEach((a) => a.destroy()));

async function slowServer(delayMs: number) {
  const server = http.createServer((_req, res) => setTimeout(() => res.end('answered'), delayMs));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function keepAliveAgent(options: http.AgentOptions = {}) {
  const agent = new http.Agent({ keepAlive: true, ...options });
  agents.push(agent);
  return agent;
}

function get(port: number, agent: http.Agent) {
  return new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
      })
      .on('error', reject);
  });
}

describe('closeServer', () => {
  it('answers a request in flight on a keep-alive connection, then closes without waiting for the idle timeout', async () => {
    const { server, port } = await slowServer(300);
    const close = closeServer(server);
    // A connection idle before the close, and one busy during it.
    await get(port, keepAliveAgent());
    const inFlight = get(port, keepAliveAgent());
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    let closed = false;
    const closing = close().then(() => (closed = true));
    expect(await inFlight).toEqual(expect.objectContaining({ status: 200, body: 'answered' }));
    await Promise.race([closing, new Promise((r) => setTimeout(r, 5_000))]);
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('says Connection: close on the answers it had not started, so a client sends its next request elsewhere', async () => {
    const { server, port } = await slowServer(200);
    const close = closeServer(server);
    const agent = keepAliveAgent({ maxSockets: 1 });
    expect((await get(port, agent)).connection).toBe('keep-alive');
    const inFlight = get(port, agent);
    await new Promise((r) => setTimeout(r, 50));
    const closing = close();
    expect(await inFlight).toEqual(expect.objectContaining({ status: 200, body: 'answered', connection: 'close' }));
    await closing;
  });
});
