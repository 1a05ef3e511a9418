// CPU per request of the broker's HTTP clients (issue 18): the Salesforce record query and the Field
// Nation create, each answered by a keep-alive server in another process (so only the client's work is
// in this process's CPU time), measured with process.cpuUsage over N requests at concurrency 16 and 1.
//
//   npx tsx bench/http-client-bench.ts [--n 20000] [--rounds 3] [--only sf|fn] [--variants a,b] [--json]
//   npx tsx bench/http-client-bench.ts --memory [--n 5000]
//
// The variants run in turn within each round, the order rotated per round; the figure is the median
// of the rounds (the machine is shared: CPU time per request is the steady figure, not the rate).
// --memory: each variant in a fresh process, the growth of its RSS over n calls of each kind
// (modules the variant loads, parser, sockets, code), after a GC; undici is loaded only by the
// variants that use it.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FieldNationTransport, exchangeHttp } from '../libs/fieldnation/src/fieldnation-transport';
import { getWithDeadlines, type SalesforceTimeouts } from '../libs/salesforce/src/salesforce-transport';
import { nodeHttpExchange, nodeHttpGetWithDeadlines } from './http-client-node-http';

const answers = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/http-client-answers.json', import.meta.url)), 'utf8')) as {
  fieldnationCreate: unknown;
  salesforceQuery: unknown;
};

// ---------------------------------------------------------------------------------------------------
// The client side.

interface Variant {
  name: string;
  /** One Salesforce record query, read as queryDirect reads it (usage header, JSON body). */
  sf?: () => Promise<unknown>;
  /** One Field Nation create: a JSON body sent, the work order read back. */
  fn?: () => Promise<unknown>;
}

const timeouts: SalesforceTimeouts = { connectMs: 10_000, requestMs: 30_000 };
const SOQL =
  'SELECT Id, CaseNumber, Subject, Status, Priority, Description, Origin, AccountId, ContactId, OwnerId, CreatedDate, ' +
  "LastModifiedDate, SystemModstamp FROM Case WHERE Id = '500000000000006AAA'";
const TOKEN = '00D000000000001!AQ4AQFakeSessionTokenForTheBenchmarkOnly.abcdefghijklmnopqrstuvwxyz0123456789';
const workOrder = {
  title: 'Case 500A000000001',
  description: { html: '<p>Printer jammed on floor 3; replace fuser unit.</p>' },
  types_of_work: [{ id: 62, isPrimary: true }],
  location: { mode: 'custom', address1: '1 Main St', city: 'Minneapolis', state: 'MN', zip: '55401', country: 'US' },
  schedule: { service_window: { mode: 'exact', start: { utc: '2026-07-01 14:00:00' } } },
  pay: { type: 'fixed', base: { amount: 100, units: 1 } },
  custom_fields: { results: [{ results: [{ id: 606, value: '500A000000001' }] }] },
};

/** What queryDirect does with an answer: the usage header, then the JSON body. */
function readQueryAnswer(status: number, limitHeader: unknown, body: string): unknown {
  const limit = /api-usage=(\d+)\/(\d+)/.exec(String(limitHeader ?? ''));
  const usage = limit ? { used: Number(limit[1]), limit: Number(limit[2]) } : undefined;
  if (status !== 200 || !usage) throw new Error(`unexpected answer ${status}`);
  return JSON.parse(body);
}

function variants(origin: string, undici?: typeof import('undici')): Variant[] {
  const sfUrl = () => `${origin}/services/data/v62.0/query?q=${encodeURIComponent(SOQL)}`;
  const sfHeaders = () => ({ Authorization: `Bearer ${TOKEN}`, Accept: 'application/json' });
  // As FieldNationTransport.exchange builds the create's URL and headers.
  const fnUrl = () => {
    const url = new URL(`${origin}/api/rest/v2/workorders`);
    url.searchParams.set('access_token', TOKEN);
    return url;
  };
  const fnHeaders = (): Record<string, string> => ({ Accept: 'application/json', 'Content-Type': 'application/json' });
  const parse = (text: string) => (text ? JSON.parse(text) : undefined);

  const transport = new FieldNationTransport({
    environment: origin,
    credentials: { clientId: 'c', clientSecret: 's', username: 'u', password: 'p' },
    rateLimit: false,
  });

  return [
    {
      // The clients' functions as the fetcher and the writer call them (undici's dispatcher since issue 18).
      name: 'current',
      sf: async () => {
        const answer = await getWithDeadlines(sfUrl(), sfHeaders(), timeouts);
        return readQueryAnswer(answer.status, answer.headers['sforce-limit-info'], answer.body);
      },
      fn: async () => {
        const payload = JSON.stringify(workOrder);
        const res = await exchangeHttp(
          fnUrl(),
          { method: 'POST', headers: fnHeaders(), body: payload },
          { connectTimeoutMs: 10_000, totalTimeoutMs: 30_000 },
        );
        return parse(res.text);
      },
    },
    {
      // The whole Field Nation call as the writer makes it: token cache, counters, error mapping.
      name: 'current-transport',
      fn: () =>
        transport.request({
          method: 'POST',
          path: '/api/rest/v2/workorders',
          route: 'POST /workorders',
          body: workOrder,
          auth: 'query',
          idempotent: false,
        }),
    },
    {
      // The same two functions on node:http, as they were before issue 18 (bench/http-client-node-http.ts).
      name: 'node-http-before',
      sf: async () => {
        const answer = await nodeHttpGetWithDeadlines(sfUrl(), sfHeaders(), timeouts);
        return readQueryAnswer(answer.status, answer.headers['sforce-limit-info'], answer.body);
      },
      fn: async () => {
        const payload = JSON.stringify(workOrder);
        const res = await nodeHttpExchange(
          fnUrl(),
          { method: 'POST', headers: fnHeaders(), body: payload },
          { connectTimeoutMs: 10_000, totalTimeoutMs: 30_000 },
        );
        return parse(res.text);
      },
    },
    ...(undici ? undiciVariants(undici, sfUrl, sfHeaders, fnUrl, fnHeaders, parse) : []),
    {
      name: 'fetch',
      sf: async () => {
        const res = await fetch(sfUrl(), { headers: sfHeaders(), signal: AbortSignal.timeout(timeouts.requestMs) });
        return readQueryAnswer(res.status, res.headers.get('sforce-limit-info'), await res.text());
      },
      fn: async () => {
        const res = await fetch(fnUrl(), {
          method: 'POST',
          headers: fnHeaders(),
          body: JSON.stringify(workOrder),
          signal: AbortSignal.timeout(30_000),
        });
        return parse(await res.text());
      },
    },
    ...leanHttpVariants(origin, parse),
  ];
}

function undiciVariants(
  { Agent }: typeof import('undici'),
  sfUrl: () => string,
  sfHeaders: () => Record<string, string>,
  fnUrl: () => URL,
  fnHeaders: () => Record<string, string>,
  parse: (text: string) => unknown,
): Variant[] {
  const agent = new Agent({ connect: { timeout: timeouts.connectMs } });
  const deadline = (ms: number) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('deadline')), ms);
    return { signal: controller.signal, done: () => clearTimeout(timer) };
  };
  // undici's request API: a promise for status and headers, the body a stream read whole.
  const viaRequest = async (url: URL, method: string, headers: Record<string, string>, body?: string) => {
    const d = deadline(30_000);
    try {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: method as 'GET',
        headers,
        body,
        signal: d.signal,
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    } finally {
      d.done();
    }
  };
  // The dispatch API bare (what `current` does, without its connect deadline, error mapping and
  // header parse): a handler gets the raw headers and the chunks; no stream, no signal.
  const viaDispatch = (url: URL, method: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; headers: Record<string, string>; text: string }>((resolve, reject) => {
      let status = 0;
      let resHeaders: Record<string, string> = {};
      const chunks: Buffer[] = [];
      let abort: ((err: Error) => void) | undefined;
      const timer = setTimeout(() => abort?.(new Error('deadline')), 30_000);
      agent.dispatch({ origin: url.origin, path: url.pathname + url.search, method: method as 'GET', headers, body }, {
        onConnect(a: (err: Error) => void) {
          abort = a;
        },
        onHeaders(statusCode: number, raw: Buffer[]) {
          status = statusCode;
          resHeaders = {};
          for (let i = 0; i < raw.length; i += 2) resHeaders[raw[i]!.toString('latin1').toLowerCase()] = raw[i + 1]!.toString('latin1');
          return true;
        },
        onData(chunk: Buffer) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          clearTimeout(timer);
          resolve({ status, headers: resHeaders, text: Buffer.concat(chunks).toString('utf8') });
        },
        onError(err: Error) {
          clearTimeout(timer);
          reject(err);
        },
      } as never);
    });
  return [
    {
      name: 'undici-request',
      sf: async () => {
        const res = await viaRequest(new URL(sfUrl()), 'GET', sfHeaders());
        return readQueryAnswer(res.status, res.headers['sforce-limit-info'], res.text);
      },
      fn: async () => parse((await viaRequest(fnUrl(), 'POST', fnHeaders(), JSON.stringify(workOrder))).text),
    },
    {
      name: 'undici-dispatch-bare',
      sf: async () => {
        const res = await viaDispatch(new URL(sfUrl()), 'GET', sfHeaders());
        return readQueryAnswer(res.status, res.headers['sforce-limit-info'], res.text);
      },
      fn: async () => parse((await viaDispatch(fnUrl(), 'POST', fnHeaders(), JSON.stringify(workOrder))).text),
    },
  ];
}

/** node:http without the per-request extras: one timer, no AbortController, no URL parse, no Headers copy. */
function leanHttpVariants(origin: string, parse: (text: string) => unknown): Variant[] {
  const target = new URL(origin);
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const exchange = (path: string, method: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = http.request({ hostname: target.hostname, port: target.port, path, method, headers, agent });
      const timer = setTimeout(() => req.destroy(new Error('deadline')), 30_000);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
        });
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  return [
    {
      name: 'node-http-lean',
      sf: async () => {
        const res = await exchange(`/services/data/v62.0/query?q=${encodeURIComponent(SOQL)}`, 'GET', {
          Authorization: `Bearer ${TOKEN}`,
          Accept: 'application/json',
        });
        return readQueryAnswer(res.status, res.headers['sforce-limit-info'], res.text);
      },
      fn: async () => {
        const payload = JSON.stringify(workOrder);
        const res = await exchange(
          `/api/rest/v2/workorders?access_token=${encodeURIComponent(TOKEN)}`,
          'POST',
          {
            Accept: 'application/json',
            'Content-Type': 'application/json',
            'Content-Length': String(Buffer.byteLength(payload)),
          },
          payload,
        );
        return parse(res.text);
      },
    },
  ];
}

/** CPU µs per request over `n` requests, `concurrency` at a time. */
async function measure(call: () => Promise<unknown>, n: number, concurrency: number): Promise<{ cpuUs: number; wallUs: number }> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await call();
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - t0) / 1_000;
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: wall / n };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const MEMORY_VARIANTS = ['node-http-before', 'node-http-lean', 'current', 'undici-request'];

/** One variant in this (fresh) process: RSS and heap growth over n calls of each kind, after a GC. */
async function memoryChild(variant: string, origin: string, n: number): Promise<void> {
  const gc = async () => {
    for (let i = 0; i < 3; i++) {
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await gc();
  const before = process.memoryUsage();
  const undici = variant.startsWith('undici-') ? await import('undici') : undefined;
  const v = variants(origin, undici).find((x) => x.name === variant)!;
  for (const call of [v.sf!, v.fn!]) await measure(call, n, 16);
  await gc();
  const after = process.memoryUsage();
  process.send!({ variant, rssMiB: (after.rss - before.rss) / 2 ** 20, heapMiB: (after.heapUsed - before.heapUsed) / 2 ** 20 });
}

async function startServer(): Promise<{ server: ChildProcess; origin: string }> {
  const server: ChildProcess = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve) => server.once('message', (m) => resolve(m as { port: number })));
  return { server, origin: `http://127.0.0.1:${port}` };
}

async function memory(): Promise<void> {
  const n = Number(arg('n') ?? 5_000);
  const rounds = Number(arg('rounds') ?? 3);
  const { server, origin } = await startServer();
  const results = new Map<string, { rss: number[]; heap: number[] }>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const variant of MEMORY_VARIANTS) {
        const child = fork(fileURLToPath(import.meta.url), ['--memory-child', variant, origin, String(n)], {
          execArgv: [...process.execArgv, '--expose-gc'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        const r = await new Promise<{ rssMiB: number; heapMiB: number }>((resolve) => child.once('message', (m) => resolve(m as never)));
        child.kill();
        const entry = results.get(variant) ?? { rss: [], heap: [] };
        entry.rss.push(r.rssMiB);
        entry.heap.push(r.heapMiB);
        results.set(variant, entry);
        console.error(`round ${round + 1} ${variant}: RSS +${r.rssMiB.toFixed(1)} MiB, heap +${r.heapMiB.toFixed(1)} MiB`);
      }
    }
    console.log(`node ${process.version}, ${n} record queries then ${n} creates (concurrency 16) in a fresh process, median of ${rounds}`);
    for (const [variant, { rss, heap }] of results)
      console.log(`${variant.padEnd(18)} RSS +${median(rss).toFixed(1)} MiB  heap +${median(heap).toFixed(1)} MiB`);
  } finally {
    server.send('stop');
  }
}

async function main(): Promise<void> {
  const n = Number(arg('n') ?? 20_000);
  const rounds = Number(arg('rounds') ?? 3);
  const only = arg('only');
  const pick = arg('variants')?.split(',');
  const { server, origin } = await startServer();
  try {
    const undici = !pick || pick.some((p) => p.startsWith('undici-')) ? await import('undici') : undefined;
    const all = variants(origin, undici).filter((v) => !pick || pick.includes(v.name));
    const cases: { variant: string; workload: 'sf' | 'fn'; call: () => Promise<unknown> }[] = [];
    for (const v of all) {
      if (v.sf && only !== 'fn') cases.push({ variant: v.name, workload: 'sf', call: v.sf });
      if (v.fn && only !== 'sf') cases.push({ variant: v.name, workload: 'fn', call: v.fn });
    }
    // Warm-up: JIT, the keep-alive sockets (16 per client) and the token of the transport.
    for (const c of cases) await measure(c.call, 2_000, 16);
    const results = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      const order = cases.map((_, i) => cases[(i + round * 3) % cases.length]!);
      for (const concurrency of [16, 1]) {
        for (const c of order) {
          const key = `${c.workload} ${c.variant} c${concurrency}`;
          const { cpuUs } = await measure(c.call, n, concurrency);
          results.set(key, [...(results.get(key) ?? []), cpuUs]);
          if (!process.argv.includes('--json')) console.error(`round ${round + 1} ${key}: ${cpuUs.toFixed(1)} µs`);
        }
      }
    }
    const rows = [...results.entries()].map(([key, xs]) => {
      const [workload, variant, c] = key.split(' ');
      return {
        workload,
        variant,
        concurrency: Number(c!.slice(1)),
        cpuUsMedian: Number(median(xs).toFixed(1)),
        cpuUs: xs.map((x) => Number(x.toFixed(1))),
      };
    });
    rows.sort((a, b) => a.workload!.localeCompare(b.workload!) || a.concurrency - b.concurrency || a.cpuUsMedian - b.cpuUsMedian);
    if (process.argv.includes('--json')) console.log(JSON.stringify({ node: process.version, n, rounds, rows }, null, 2));
    else {
      console.log(`node ${process.version}, ${n} requests per figure, median of ${rounds} rounds (client process CPU, user + system)`);
      for (const r of rows)
        console.log(
          `${r.workload}  c=${String(r.concurrency).padEnd(2)}  ${r.variant!.padEnd(18)} ${String(r.cpuUsMedian).padStart(7)} µs  [${r.cpuUs.join(', ')}]`,
        );
    }
  } finally {
    server.send('stop');
  }
}

// ---------------------------------------------------------------------------------------------------
// The server (its own process): fixed answers with the headers the simulators send.
function serve(): void {
  const fnBody = Buffer.from(JSON.stringify(answers.fieldnationCreate));
  const sfBody = Buffer.from(JSON.stringify(answers.salesforceQuery));
  const tokenBody = Buffer.from(JSON.stringify({ access_token: 'bench-token', expires_in: 3600, user: { id: 1068 } }));
  let used = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.startsWith('/services/data/')) {
        used = (used + 1) % 15_000;
        res.writeHead(200, {
          'content-type': 'application/json;charset=UTF-8',
          'content-length': sfBody.length,
          'sforce-limit-info': `api-usage=${used}/15000`,
        });
        res.end(sfBody);
      } else if (url.startsWith('/authentication/')) {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': tokenBody.length });
        res.end(tokenBody);
      } else {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': fnBody.length,
          etag: 'W/"12ab-iLLlHJBGBdODMDbSpC9dfMUYulk"',
        });
        res.end(fnBody);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('message', (m) => {
    if (m === 'stop') process.exit(0);
  });
}

if (process.argv[2] === '--server') serve();
else if (process.argv[2] === '--memory-child') await memoryChild(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
else if (process.argv.includes('--memory')) await memory();
else await main();
