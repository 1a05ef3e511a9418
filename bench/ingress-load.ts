// Load generator for the Outbound Message endpoint, run as a separate process so that the ingress
// under test has its own core. Closed loop (N connections, back to back) for maximum throughput, or
// open loop (fixed offered rate) for latency. Prints one JSON line.
import http from 'node:http';
import { buildOutboundMessage, makeId } from '@broker/salesforce';

interface Args {
  url: string;
  connections: number;
  seconds: number;
  batch: number;
  rate?: number;
  orgId: string;
  idBase: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const target = new URL(args.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: args.connections });
let counter = args.idBase;

function envelope(): string {
  const notifications = Array.from({ length: args.batch }, () => {
    const n = counter++;
    return { id: makeId('04l', n), sObjectType: 'Case', fields: { Id: makeId('500', n), Status: 'New' } };
  });
  return buildOutboundMessage({
    organizationId: args.orgId,
    actionId: makeId('04k', 1),
    sessionId: null,
    enterpriseUrl: 'https://bench/services/Soap/c/62.0/x',
    partnerUrl: 'https://bench/services/Soap/u/62.0/x',
    notifications,
  });
}

function post(body: string): Promise<{ ok: boolean; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'text/xml; charset=UTF-8', soapaction: '""', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ ok: res.statusCode === 200 && text.includes('<Ack>true</Ack>'), ms: performance.now() - t0 }));
      },
    );
    req.on('error', () => resolve({ ok: false, ms: performance.now() - t0 }));
    req.end(body);
  });
}

const latencies: number[] = [];
let ok = 0;
let failed = 0;
const deadline = performance.now() + args.seconds * 1000;
const started = performance.now();

if (args.rate) {
  // Open loop: one request every 1000/rate ms regardless of answers (no coordinated omission).
  const interval = 1000 / args.rate;
  const inflight: Promise<void>[] = [];
  let next = performance.now();
  while (performance.now() < deadline) {
    const body = envelope();
    inflight.push(
      post(body).then((r) => {
        latencies.push(r.ms);
        if (r.ok) ok++;
        else failed++;
      }),
    );
    next += interval;
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
} else {
  await Promise.all(
    Array.from({ length: args.connections }, async () => {
      while (performance.now() < deadline) {
        const r = await post(envelope());
        latencies.push(r.ms);
        if (r.ok) ok++;
        else failed++;
      }
    }),
  );
}
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
process.stdout.write(
  JSON.stringify({
    messages: ok,
    failed,
    notifications: ok * args.batch,
    seconds: elapsed,
    messages_per_s: ok / elapsed,
    notifications_per_s: (ok * args.batch) / elapsed,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    max_ms: latencies.at(-1) ?? 0,
    next_id: counter,
  }) + '\n',
);
agent.destroy();
