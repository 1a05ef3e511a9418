import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allQueues } from '@broker/contracts';
import { workspaceRoot } from '../../../vitest.shared';
import { resolveAuthSettings } from '../src/auth.settings';
import { authenticate } from '../src/auth.middleware';
import { basic, PASSWORD, startDashboard, TOKEN, USER, type DashboardUnderTest } from './dashboard-test-kit';

let dash: DashboardUnderTest;
beforeAll(async () => {
  dash = await startDashboard();
});
afterAll(async () => {
  await dash?.close();
});

// Every surface of the dashboard: its own pages and actions, metrics, Bull Board's UI, assets and API.
const routes: [method: string, path: string][] = [
  ['GET', '/'],
  ['GET', '/timeline?id=500000000000001AAA'],
  ['GET', '/metrics'],
  ['GET', '/queues'],
  ['GET', '/queues/'],
  ['GET', '/queues/queue/sf.fetch'],
  ['GET', '/queues/static/favicon.ico'],
  ['GET', '/queues/api/queues'],
  ['GET', '/queues/api/redis/stats'],
  ['GET', '/queues/api/queues/sf.fetch/some-job'],
  ['PUT', '/queues/api/queues/sf.fetch/retry/failed'],
  ['PUT', '/queues/api/queues/sf.fetch/some-job/retry'],
  ['PUT', '/queues/api/queues/sf.fetch/clean/failed'],
  ['PUT', '/queues/api/queues/sf.fetch/empty'],
  ['PUT', '/queues/api/queues/pause'],
  ['POST', '/actions/replay'],
  ['POST', '/actions/resync'],
  ['GET', '/does-not-exist'],
];

const request = (method: string, p: string, headers: Record<string, string> = {}) =>
  fetch(`${dash.url}${p}`, { method, headers, redirect: 'manual' });

describe('authentication', () => {
  it.each(routes)('%s %s answers 401 without credentials', async (method, p) => {
    const res = await request(method, p);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(await res.text()).not.toContain('sf.fetch');
  });

  it.each(routes)('%s %s answers 401 with a wrong password or token', async (method, p) => {
    expect((await request(method, p, { authorization: basic(USER, `${PASSWORD}x`) })).status).toBe(401);
    expect((await request(method, p, { authorization: basic('someone', PASSWORD) })).status).toBe(401);
    expect((await request(method, p, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
  });

  it('serves the pages, Bull Board and its API with the right credentials', async () => {
    for (const p of ['/', '/timeline?id=500000000000001AAA', '/metrics', '/queues', '/queues/static/favicon.ico', '/queues/api/queues']) {
      const res = await request('GET', p, { authorization: basic() });
      expect(res.status, p).toBe(200);
    }
    const api = (await (await request('GET', '/queues/api/queues', { authorization: `Bearer ${TOKEN}` })).json()) as { queues: { name: string }[] };
    expect(api.queues.map((q) => q.name).sort()).toEqual(allQueues.map((q) => q.name).sort());
  });

  it('leaves the probes open', async () => {
    expect((await request('GET', '/healthz')).status).toBe(200);
    const ready = await request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});

describe('CSRF protection', () => {
  it('refuses cross-origin posts carrying browser credentials', async () => {
    const evil = { authorization: basic(), origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' };
    expect((await request('POST', '/actions/replay', evil)).status).toBe(403);
    expect((await request('PUT', '/queues/api/queues/sf.fetch/retry/failed', { ...evil, 'content-type': 'application/json' })).status).toBe(403);
    const crossSite = { authorization: basic(), 'sec-fetch-site': 'cross-site' };
    expect((await request('PUT', '/queues/api/queues/sf.fetch/clean/failed', crossSite)).status).toBe(403);
    const badReferer = { authorization: basic(), referer: 'https://evil.example/page' };
    expect((await request('POST', '/actions/resync', badReferer)).status).toBe(403);
  });

  it('refuses the dashboard forms without the form token', async () => {
    const res = await fetch(`${dash.url}/actions/resync`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: basic(), origin: dash.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ connectionId: 'demo', sfId: '500000000000001AAA', _csrf: 'forged' }),
    });
    expect(res.status).toBe(403);
    expect(await dash.fetchQueue.count()).toBe(0);
  });

  it('lets same-origin Bull Board calls through', async () => {
    const res = await request('PUT', '/queues/api/queues/sf.fetch/retry/failed', {
      authorization: basic(),
      origin: dash.url,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/json',
    });
    expect(res.status).toBeLessThan(400);
  });
});

describe('auth settings', () => {
  it('accepts basic and bearer credentials, compared in full', () => {
    const settings = resolveAuthSettings({ DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_TOKEN: TOKEN, DASHBOARD_INSECURE: 'false' });
    expect(authenticate(basic(), settings)).toEqual({ name: USER, via: 'basic' });
    expect(authenticate(`Bearer ${TOKEN}`, settings)).toEqual({ name: 'token', via: 'bearer' });
    expect(authenticate(`Bearer ${TOKEN.slice(0, -1)}`, settings)).toBeNull();
    expect(authenticate('Basic !!!', settings)).toBeNull();
    expect(authenticate(undefined, settings)).toBeNull();
  });

  it('refuses to run without credentials unless explicitly insecure', () => {
    expect(() => resolveAuthSettings({ DASHBOARD_USER: '', DASHBOARD_PASSWORD: '', DASHBOARD_INSECURE: 'false' })).toThrow(/needs credentials/);
    expect(() => resolveAuthSettings({ DASHBOARD_USER: 'a', DASHBOARD_INSECURE: 'false' })).toThrow(/both/);
    expect(() => resolveAuthSettings({ DASHBOARD_TOKEN: 'short', DASHBOARD_INSECURE: 'false' })).toThrow(/16/);
    expect(resolveAuthSettings({ DASHBOARD_INSECURE: 'true' })).toEqual({ mode: 'insecure' });
  });
});

describe('main', () => {
  const tsx = path.join(workspaceRoot, 'node_modules/.bin/tsx');
  const run = (env: Record<string, string>, untilStderr?: RegExp) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(tsx, ['apps/dashboard/src/main.ts'], {
        cwd: workspaceRoot,
        env: { PATH: process.env.PATH!, DATABASE_URL: dash.db.url, REDIS_URL: 'redis://127.0.0.1:6379', QUEUE_PREFIX: dash.prefix, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`main did not finish; stderr: ${stderr}`));
      }, 30_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (untilStderr?.test(stderr)) child.kill('SIGTERM');
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });

  it('exits non-zero with a clear message when no credentials are set', async () => {
    const { code, stderr } = await run({});
    expect(code).toBe(78);
    expect(stderr).toMatch(/dashboard refuses to start: .*DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_TOKEN/);
  }, 40_000);

  it('starts in insecure mode with a loud warning', async () => {
    const { stderr } = await run({ DASHBOARD_INSECURE: 'true' }, /NO AUTHENTICATION/);
    expect(stderr).toContain('DASHBOARD_INSECURE=true: the dashboard has NO AUTHENTICATION');
  }, 40_000);
});
