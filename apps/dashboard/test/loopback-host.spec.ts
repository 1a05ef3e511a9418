import http from 'node:http';
import os from 'node:os';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@broker/testing';
import { isLoopbackHost } from '../src/loopback-host.middleware';
import { spawnDashboardMain } from './dashboard-process';
import { startDashboard, type DashboardUnderTest } from './dashboard-test-kit';

// DNS rebinding, as an attacker runs it: the operator opens http://attacker.example:<port>/, the
// attacker's DNS then answers 127.0.0.1, and the page's requests reach the local dashboard with
// Host and Origin both "attacker.example:<port>" (so a same-origin check alone passes them).
let dash: DashboardUnderTest;
let port: number;
beforeAll(async () => {
  dash = await startDashboard({ auth: { mode: 'insecure' } });
  port = Number(new URL(dash.url).port);
});
afterAll(async () => {
  await dash?.close();
});

/** One request with exactly these headers (fetch would not let a test set Host). */
function request(
  method: string,
  pathname: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathname, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the insecure dashboard answers only at localhost', () => {
  it.each(['localhost', '127.0.0.1', 'LOCALHOST'])('serves Host %s:<its port>', async (name) => {
    const res = await request('GET', '/', { host: `${name}:${port}` });
    expect(res.status).toBe(200);
  });

  it('refuses a rebound name, for pages and for actions', async () => {
    const attacker = `attacker.example:${port}`;
    const page = await request('GET', '/', { host: attacker });
    expect(page.status).toBe(421);
    expect(page.text).toMatch(/answers only at http:\/\/localhost/);

    const form = 'connectionId=demo&sfId=500000000000001AAA&returnTo=x';
    const post = await request(
      'POST',
      '/actions/resync',
      {
        host: attacker,
        origin: `http://${attacker}`,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(form.length),
      },
      form,
    );
    expect(post.status).toBe(421);
    expect(await dash.fetchQueue.count()).toBe(0);
    const api = await request('GET', '/queues/api/queues', { host: attacker, origin: `http://${attacker}` });
    expect(api.status).toBe(421);
  });

  it.each([
    ['another port', () => `127.0.0.1:${port + 1}`],
    ['no port (80)', () => 'localhost'],
    ['a name ending in localhost', () => `evil-localhost:${port}`],
    ['a subdomain of localhost', () => `a.localhost:${port}`],
    ['an address in 127/8 other than 127.0.0.1', () => `127.0.0.2:${port}`],
    ['userinfo', () => `localhost@attacker.example:${port}`],
  ])('refuses %s', async (_what, host) => {
    expect((await request('GET', '/', { host: host() })).status).toBe(421);
  });

  it('refuses a request without Host', async () => {
    // Node answers an HTTP/1.1 request without Host with 400 before the app sees it; HTTP/1.0 has
    // no such rule, so it reaches the check.
    expect((await request('GET', '/', {})).status).toBe(400);
    const raw = await new Promise<string>((resolve, reject) => {
      let out = '';
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET / HTTP/1.0\r\n\r\n'));
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 421 /);
  });

  it('parses Host strictly', () => {
    expect(isLoopbackHost('[::1]:3100', 3100)).toBe(true);
    expect(isLoopbackHost('[::1]', 80)).toBe(true);
    expect(isLoopbackHost('[::2]:3100', 3100)).toBe(false);
    expect(isLoopbackHost('localhost:3100:1', 3100)).toBe(false);
    expect(isLoopbackHost('localhost.:3100', 3100)).toBe(false);
    expect(isLoopbackHost(undefined, 3100)).toBe(false);
  });
});

describe('the insecure dashboard process', () => {
  const start = (env: Record<string, string>) => spawnDashboardMain(dash, { LOG_LEVEL: 'info', DASHBOARD_INSECURE: 'true', ...env });

  it('refuses to listen on a non-loopback HOST', async () => {
    const child = start({ HOST: '0.0.0.0', PORT: '0' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toMatch(/DASHBOARD_INSECURE=true listens on a loopback address only/);
  }, 40_000);

  it('listens on 127.0.0.1 only when HOST is unset', async () => {
    const p = await freePort();
    const child = start({ PORT: String(p) });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`not listening: ${out}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('dashboard listening')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const connects = (address: string) =>
        new Promise<boolean>((resolve) => {
          const s = net.connect({ host: address, port: p }, () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        });
      expect(await connects('127.0.0.1')).toBe(true);
      // Every other address of this machine: nothing listens there.
      const others = Object.values(os.networkInterfaces())
        .flat()
        .filter((i) => i && i.family === 'IPv4' && !i.internal)
        .map((i) => i!.address);
      for (const address of others) expect(await connects(address), address).toBe(false);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
    }
  }, 40_000);
});
