import type express from 'express';
import { appRoutes } from '@bull-board/api/dist/routes.js';
import { ExpressAdapter } from '@bull-board/express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { allQueues } from '@broker/contracts';
import { resolveAuthSettings } from '../src/auth.settings';
import { authenticate } from '../src/auth.middleware';
import { spawnDashboardMain } from './dashboard-process';
import { basic, PASSWORD, startDashboard, TOKEN, USER, type DashboardUnderTest } from './dashboard-test-kit';

let dash: DashboardUnderTest;
let bullBoardApp: express.Express | undefined;
beforeAll(async () => {
  // Bull Board's Express app is mounted behind a wrapper that hides it from the router stack: keep
  // hold of it as the dashboard builds it, so its routes can be walked too.
  const getRouter = vi.spyOn(ExpressAdapter.prototype, 'getRouter');
  dash = await startDashboard();
  bullBoardApp = getRouter.mock.results[0]?.value as express.Express | undefined;
  getRouter.mockRestore();
});
afterAll(async () => {
  await dash?.close();
});

interface Layer {
  name: string;
  rawPath?: string | string[];
  route?: { methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}
interface EnumeratedRoute {
  path: string;
  methods: string[];
}

// Both kinds of Express path: a string or an array of them (Bull Board's entry point is one route on five paths).
const pathsOf = (layer: Layer): string[] => [layer.rawPath ?? '/'].flat();
const join = (base: string, p: string) => (p === '/' ? base || '/' : `${base}${p}`);

/**
 * Every route an Express app answers, read from its router stack (Express 5 / router 2 layers keep
 * their path in `rawPath`). Sub-routers are walked in place; a mounted app is walked through `mounted`,
 * and one that is not there fails the walk, so a new mount cannot go unchecked. Path-scoped middleware
 * (static files) counts as a route under that path.
 */
function enumerateRoutes(stack: Layer[], mounted: Map<string, Layer[]>, base = ''): EnumeratedRoute[] {
  const found: EnumeratedRoute[] = [];
  for (const layer of stack) {
    for (const p of pathsOf(layer)) {
      const at = join(base, p);
      if (layer.route) {
        found.push({ path: at, methods: Object.keys(layer.route.methods).map((m) => m.toUpperCase()) });
      } else if (layer.name === 'mounted_app') {
        const inner = mounted.get(at);
        if (!inner) throw new Error(`an app is mounted at ${at} that the test cannot see into`);
        found.push(...enumerateRoutes(inner, mounted, at));
      } else if (layer.handle.stack) {
        found.push(...enumerateRoutes(layer.handle.stack, mounted, p === '/' ? base : at));
      } else if (p !== '/') {
        found.push({ path: `${at}/any-file.js`, methods: ['GET'] });
      }
    }
  }
  return found;
}

/** A concrete URL for a route pattern: real queue name (so the handler would run), dummies elsewhere. */
const concrete = (pattern: string) =>
  pattern
    .replace(/:queueName\b/g, 'sf.fetch')
    .replace(/:(\w+)/g, 'dummy-$1')
    .replace(/\*(\w+)/g, 'dummy/path')
    .replace(/[{}]/g, '');

const stackOf = (app: express.Express) => (app as unknown as { router: { stack: Layer[] } }).router.stack;

// Answered without credentials on purpose: kubelet and compose health checks carry none.
const OPEN = new Set(['/healthz', '/readyz']);
// Every method a client can send with fetch (TRACE and CONNECT are refused by the client itself).
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function allRoutes(): EnumeratedRoute[] {
  if (!bullBoardApp) throw new Error('Bull Board was not mounted through ExpressAdapter.getRouter');
  const routes = enumerateRoutes(stackOf(dash.app), new Map([['/queues', stackOf(bullBoardApp)]]));
  return [...routes.filter((r) => !OPEN.has(r.path)), { path: '/does-not-exist', methods: [] }];
}

const request = (method: string, p: string, headers: Record<string, string> = {}) =>
  fetch(`${dash.url}${p}`, { method, headers, redirect: 'manual' });

describe('authentication', () => {
  it("finds every route: the dashboard's own and each of Bull Board's, with their write methods", () => {
    const routes = allRoutes();
    const has = (method: string, p: string) => routes.some((r) => r.path === p && r.methods.includes(method));
    for (const [method, p] of [
      ['GET', '/'],
      ['GET', '/timeline'],
      ['GET', '/metrics'],
      ['POST', '/actions/replay'],
      ['POST', '/actions/resync'],
      ['GET', '/queues/static/any-file.js'],
      // The setup pages (mounted whether or not a configuration is given).
      ['GET', '/setup'],
      ['GET', '/setup/assets/setup.js'],
      ['GET', '/setup/connections/:connectionId'],
      ['GET', '/setup/connections/:connectionId/metadata'],
      ['POST', '/setup/connections/:connectionId/webhook'],
      ['GET', '/setup/connections/:connectionId/lookups'],
      ['GET', '/setup/connections/:connectionId/objects/:object/fields'],
      ['GET', '/setup/connections/:connectionId/objects/:object/mapping'],
      ['POST', '/setup/connections/:connectionId/objects/:object/mapping'],
      ['POST', '/setup/connections/:connectionId/objects/:object/mapping/validate'],
      ['GET', '/setup/connections/:connectionId/objects/:object/event-rules'],
      ['POST', '/setup/connections/:connectionId/objects/:object/event-rules'],
      ['POST', '/setup/connections/:connectionId/objects/:object/event-rules/validate'],
      ['GET', '/setup/versions'],
      ['POST', '/setup/versions/rollback'],
      ['GET', '/setup/export'],
    ]) {
      expect(has(method!, p!), `${method} ${p}`).toBe(true);
    }
    // Cross-check the walk against Bull Board's own route table.
    const entry = [appRoutes.entryPoint.route].flat().map((p) => [appRoutes.entryPoint.method, p] as const);
    const api = appRoutes.api.flatMap((r) => [r.method].flat().flatMap((m) => [r.route].flat().map((p) => [m, p] as const)));
    expect(api.length).toBeGreaterThan(30);
    for (const [method, p] of [...entry, ...api]) expect(has(method.toUpperCase(), join('/queues', p)), `${method} /queues${p}`).toBe(true);
    expect(api.some(([m]) => m === 'post')).toBe(true);
    expect(api.some(([m]) => m === 'patch')).toBe(true);
  });

  it('answers 401 to every method on every route without credentials', async () => {
    const offenders: string[] = [];
    let tried = 0;
    for (const { path: p } of allRoutes()) {
      for (const method of METHODS) {
        tried++;
        const res = await request(method, concrete(p));
        const body = await res.text();
        if (res.status !== 401 || !/^Basic realm=/.test(res.headers.get('www-authenticate') ?? '') || body.includes('sf.fetch')) {
          offenders.push(`${method} ${concrete(p)} -> ${res.status}`);
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(tried).toBeGreaterThan(40 * METHODS.length);
  });

  it('answers 401 to every method on every route with a wrong password or token', async () => {
    const offenders: string[] = [];
    const wrong = [basic(USER, `${PASSWORD}x`), basic('someone', PASSWORD), `Bearer ${TOKEN}x`];
    for (const { path: p } of allRoutes()) {
      for (const method of METHODS) {
        for (const authorization of wrong) {
          const res = await request(method, concrete(p), { authorization });
          await res.arrayBuffer();
          if (res.status !== 401) offenders.push(`${method} ${concrete(p)} (${authorization.split(' ')[0]}) -> ${res.status}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it("reaches a handler on every enumerated GET route with credentials, so the 401s above are the guard's", async () => {
    // Our catch-all 404 answers "not found": a filled-in path that matched no route would land there.
    const missed: string[] = [];
    for (const r of allRoutes().filter((r) => r.methods.includes('GET') && !r.path.endsWith('any-file.js'))) {
      const res = await request('GET', concrete(r.path), { authorization: basic() });
      const body = await res.text();
      if (res.status === 401 || body === 'not found') missed.push(`GET ${concrete(r.path)} -> ${res.status}`);
    }
    expect(missed).toEqual([]);
  });

  it('serves the pages, Bull Board and its API with the right credentials', async () => {
    for (const p of ['/', '/timeline?id=500000000000001AAA', '/metrics', '/queues', '/queues/static/favicon.ico', '/queues/api/queues']) {
      const res = await request('GET', p, { authorization: basic() });
      expect(res.status, p).toBe(200);
    }
    const api = (await (await request('GET', '/queues/api/queues', { authorization: `Bearer ${TOKEN}` })).json()) as {
      queues: { name: string }[];
    };
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
    expect((await request('PUT', '/queues/api/queues/sf.fetch/retry/failed', { ...evil, 'content-type': 'application/json' })).status).toBe(
      403,
    );
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

  it('refuses every setup form and validate call without the form token', async () => {
    const posts = [
      '/setup/versions/rollback',
      '/setup/connections/demo/webhook',
      '/setup/connections/demo/objects/Case/mapping',
      '/setup/connections/demo/objects/Case/mapping/validate',
      '/setup/connections/demo/objects/Case/event-rules',
      '/setup/connections/demo/objects/Case/event-rules/validate',
    ];
    for (const p of posts) {
      const res = await fetch(`${dash.url}${p}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { authorization: basic(), origin: dash.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ to: '1', intent: 'save', _csrf: 'forged' }),
      });
      expect(res.status, p).toBe(403);
    }
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
    const settings = resolveAuthSettings({
      DASHBOARD_USER: USER,
      DASHBOARD_PASSWORD: PASSWORD,
      DASHBOARD_TOKEN: TOKEN,
      DASHBOARD_INSECURE: 'false',
    });
    expect(authenticate(basic(), settings)).toEqual({ name: USER, via: 'basic' });
    expect(authenticate(`Bearer ${TOKEN}`, settings)).toEqual({ name: 'token', via: 'bearer' });
    expect(authenticate(`Bearer ${TOKEN.slice(0, -1)}`, settings)).toBeNull();
    expect(authenticate('Basic !!!', settings)).toBeNull();
    expect(authenticate(undefined, settings)).toBeNull();
  });

  it('refuses to run without credentials unless explicitly insecure', () => {
    expect(() => resolveAuthSettings({ DASHBOARD_USER: '', DASHBOARD_PASSWORD: '', DASHBOARD_INSECURE: 'false' })).toThrow(
      /needs credentials/,
    );
    expect(() => resolveAuthSettings({ DASHBOARD_USER: 'a', DASHBOARD_INSECURE: 'false' })).toThrow(/both/);
    expect(() => resolveAuthSettings({ DASHBOARD_TOKEN: 'short', DASHBOARD_INSECURE: 'false' })).toThrow(/16/);
    expect(resolveAuthSettings({ DASHBOARD_INSECURE: 'true' })).toEqual({ mode: 'insecure' });
  });
});

describe('main', () => {
  const run = (env: Record<string, string>, untilStderr?: RegExp) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawnDashboardMain(dash, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
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
