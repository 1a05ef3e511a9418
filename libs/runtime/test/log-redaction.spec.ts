import { Writable } from 'node:stream';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { defineQueue, enqueue } from '@broker/contracts';
import { FieldNationClient } from '@broker/fieldnation';
import { createLogger, redactText, startWorker } from '@broker/runtime';
import { runTestWorker, serveForTest } from './runtime-test-kit';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function capture(service = 'test') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, text: () => lines.join(''), logger: createLogger({ service, level: 'debug', destination }) };
}

/** Unique secrets: none of them may appear anywhere in the output. */
const canary = (name: string) => `${name}Cx${Math.random().toString(36).slice(2, 10)}`;
const jwt = (sig: string) => `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIzTVZHOSIsInN1YiI6ImludGVncmF0aW9uQGFjbWUuY29tIn0.${sig}`;
const sessionId = (tail: string) => `00D5g000004abcdEAA!AQ8AQH${tail}`;

describe('secrets never reach the logs (canaries through every way the apps log)', () => {
  // Every service creates its logger the same way (apps/*/src/main.ts and the simulators).
  const services = [
    'ingress',
    'salesforce-fetcher',
    'mapper',
    'fieldnation-writer',
    'salesforce-writer',
    'dashboard',
    'salesforce-sim',
    'fieldnation-sim',
  ];

  it.each(services)(
    '%s: keys at any depth, values by pattern, in objects, arrays, messages, format arguments and child bindings',
    (service) => {
      const c = {
        pw: canary('pw'),
        deepPw: canary('deep'),
        bearer: canary('bearer'),
        at: canary('at'),
        rt: canary('rt'),
        cs: canary('cs'),
        code: canary('code'),
        assertion: canary('as'),
        sid: canary('sid'),
        cookie: canary('ck'),
        jwtSig: canary('jwt'),
        session: canary('sess'),
        msgSession: canary('msess'),
        bound: canary('bound'),
        grand: canary('grand'),
        fmt: canary('fmt'),
        xml: canary('xml'),
        json: canary('json'),
        url: canary('url'),
        list: canary('list'),
      };
      const { text, logger } = capture(service);
      const child = logger.child({ connectionId: 'acme', instanceUrl: `https://acme.my.salesforce.com/?sid=${c.bound}` });
      const grandchild = child.child({ jobId: 'j1', headers: { Authorization: `Bearer ${c.grand}` } });
      let deep: Record<string, unknown> = { password: c.deepPw };
      for (let i = 0; i < 9; i++) deep = { level: deep };
      grandchild.info(
        {
          credentials: { username: 'u', password: c.pw },
          deep,
          request: {
            url: `https://api.fieldnation.com/api/rest/v2/workorders?access_token=${c.at}&page=1`,
            body: `grant_type=refresh_token&refresh_token=${c.rt}&client_secret=${c.cs}`,
          },
          callback: new URL(`https://broker.example.com/oauth/callback?code=${c.code}&state=x`),
          form: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=${jwt(c.assertion)}`,
          list: [{ sid: c.sid }, `Cookie: sid=${c.cookie}; other=1`, [{ token: c.list }]],
          soap: `<sf:sessionId>${sessionId(c.xml)}</sf:sessionId>`,
          quoted: `{"access_token":"${c.json}","instance_url":"https://x"}`,
          plain: `JWT ${jwt(c.jwtSig)} and ${sessionId(c.session)}`,
          href: `https://acme.my.salesforce.com/secur/frontdoor.jsp?sid=${c.url}`,
        },
        `logged in with session ${sessionId(c.msgSession)}`,
      );
      grandchild.warn('token was %s', `Bearer ${c.fmt}`);
      const out = text();
      for (const [name, value] of Object.entries(c)) expect(out, `${name} leaked`).not.toContain(value);
      // Still useful: the non-secret parts survive.
      expect(out).toContain('"connectionId":"acme"');
      expect(out).toContain('page=1');
      expect(out).toContain('00D5g000004abcdEAA![REDACTED]');
      expect(out).toContain('"username":"u"');
      expect(JSON.parse(out.split('\n')[0]!).service).toBe(service);
    },
  );

  it('errors: messages, stacks, own properties and the cause chain, logged as err, alone, nested, or as a plain { message }', () => {
    const c = {
      msg: canary('m'),
      cause: canary('c'),
      causeCause: canary('cc'),
      prop: canary('p'),
      nested: canary('n'),
      plain: canary('pl'),
      agg: canary('ag'),
    };
    const { text, logger } = capture();
    const root = new Error(`token request failed: grant_type=password&password=${c.causeCause}`);
    const cause = new Error(`POST https://login.salesforce.com/services/oauth2/token?assertion=${jwt(c.cause)}`, { cause: root });
    const err = Object.assign(new Error(`request to /api?access_token=${c.msg} failed`, { cause }), {
      config: { headers: { authorization: `Bearer ${c.prop}` }, data: { client_secret: c.prop } },
    });
    logger.error({ err }, 'call failed');
    logger.error(err);
    logger.warn({ failure: { error: new Error(`sid=${c.nested}`) } }, 'nested');
    logger.warn({ err: { message: `Bearer ${c.plain}` } }, 'plain err');
    logger.error({ err: new AggregateError([new Error(`password=${c.agg}`)], 'all failed') }, 'aggregate');
    const out = text();
    for (const [name, value] of Object.entries(c)) expect(out, `${name} leaked`).not.toContain(value);
    const first = JSON.parse(out.split('\n')[0]!);
    expect(first.err.type).toBe('Error');
    expect(first.err.stack).toContain('caused by: Error: POST https://login.salesforce.com/services/oauth2/token?assertion=[REDACTED]');
    expect(first.err.config.headers.authorization).toBe('[REDACTED]');
    expect(JSON.parse(out.split('\n')[1]!).msg).toBe('request to /api?access_token=[REDACTED] failed');
  });

  it('the worker wrapper logs an outage error whose body quotes a token (a proxy error page): redacted', async () => {
    const c = canary('page');
    const url = await serveForTest(cleanups, (req, res) => {
      res.setHeader('content-type', req.url?.startsWith('/authentication') ? 'application/json' : 'text/html');
      if (req.url?.startsWith('/authentication')) return res.end(JSON.stringify({ access_token: c, expires_in: 3600 }));
      res.statusCode = 503;
      // An upstream error page that echoes the request line, token and all.
      res.end(`<html>503 upstream unavailable for GET ${req.url}</html>`);
    });
    const { text, logger } = capture('fieldnation-writer');
    const fn = new FieldNationClient({
      environment: url,
      credentials: { clientId: 'c', clientSecret: canary('cs'), username: 'u', password: canary('pw') },
      retry: { maxAttempts: 2, baseDelayMs: 1 },
      rateLimit: false,
      logger,
    });

    const contract = defineQueue('test.redact', { call: z.object({ n: z.number() }) }, { attempts: 1 });
    const prefix = `tred${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
    let runs = 0;
    const { queue, events } = await runTestWorker(cleanups, contract, prefix, (connection) =>
      startWorker(
        contract,
        {
          call: async () => {
            runs++;
            if (runs >= 3) return 'ok';
            return fn.getWorkOrder(1);
          },
        },
        {},
        { connection, prefix, logger, dependencyWait: { initialDelayMs: 20, maxDelayMs: 50 } },
      ),
    );
    const job = await enqueue(queue, 'call', { n: 1 }, { jobId: 'r1' });
    expect(await job.waitUntilFinished(events, 15_000)).toBe('ok');
    const out = text();
    expect(out).toMatch(/Field Nation unavailable; job waits/);
    expect(out).toContain('access_token=[REDACTED]');
    expect(out).not.toContain(c);
  });

  it('no catastrophic backtracking: adversarial 200 KB strings are redacted in linear time', () => {
    const inputs = [
      `"password": "${'a\\'.repeat(100_000)}`,
      `Bearer ${' '.repeat(200_000)}`,
      `password=${'x'.repeat(200_000)}`,
      `00D5g000004abcdEAA!${'A'.repeat(200_000)}`,
      `eyJ${'a'.repeat(100_000)}.${'b'.repeat(100_000)}`,
      `'password': '${"'".repeat(1)}${'\\'.repeat(199_999)}`,
      'access_token='.repeat(15_000),
    ];
    for (const input of inputs) {
      const t0 = performance.now();
      redactText(input);
      expect(performance.now() - t0).toBeLessThan(500);
    }
  });
});
