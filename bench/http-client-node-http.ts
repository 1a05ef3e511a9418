// The two HTTP calls of a synced record as they were on node:http before issue 18 (commit 218df1c):
// Salesforce's getWithDeadlines (libs/salesforce/src/salesforce-transport.ts) and Field Nation's
// exchangeHttp (libs/fieldnation/src/fieldnation-transport.ts), kept verbatim as the baseline of
// bench/http-client-bench.ts. The node:http attempt (`send`, `readBody`) is still the Salesforce
// transport's own (jsforce's calls use it) and is imported from there.
import http from 'node:http';
import https from 'node:https';
import { DependencyTimeoutError } from '@broker/runtime';
import {
  MAX_RETRIES,
  readBody,
  RETRY_CODES,
  RETRY_STATUS,
  SalesforceTimeoutError,
  send,
  type Attempt,
  type SalesforceTimeouts,
} from '../libs/salesforce/src/salesforce-transport';

interface HttpAnswer {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

export async function nodeHttpGetWithDeadlines(
  url: string,
  headers: Record<string, string>,
  timeouts: SalesforceTimeouts,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(new SalesforceTimeoutError('ETIMEDOUT', url, timeouts.requestMs)), timeouts.requestMs);
  const timedOut = (err: unknown) =>
    controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : err;
  try {
    for (let attempt = 0; ;) {
      let result: Attempt;
      try {
        result = await send(url, 'GET', headers, undefined, timeouts.connectMs, controller.signal);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (!controller.signal.aborted && attempt < MAX_RETRIES && code && RETRY_CODES.has(code)) {
          await new Promise((r) => setTimeout(r, 500 * 2 ** attempt++));
          continue;
        }
        throw timedOut(err);
      }
      if (RETRY_STATUS.has(result.statusCode) && attempt < MAX_RETRIES) {
        result.res.resume();
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt++));
        continue;
      }
      let body: string;
      try {
        body = (await readBody(result.res))?.toString('utf8') ?? '';
      } catch (err) {
        throw timedOut(err);
      }
      return { status: result.statusCode, headers: result.headers, body };
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** Keep-alive agents shared by every client of the process (one pool of sockets per origin). */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/**
 * One HTTP exchange with a connect timeout and a total timeout, both failing as
 * DependencyTimeoutError (which the workers treat as an outage: the job waits). Node's fetch cannot
 * bound the connection phase on its own (undici's dispatcher is not exposed), hence node:http.
 */
export function nodeHttpExchange(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string },
  limits: { connectTimeoutMs: number; totalTimeoutMs: number },
): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const headers = { ...init.headers, ...(init.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(init.body)) } : {}) };
    let connectTimer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err: Error | undefined, answer?: HttpAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(totalTimer);
      clearTimeout(connectTimer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(answer!);
    };
    const totalTimer = setTimeout(
      () =>
        finish(
          new DependencyTimeoutError(
            'fieldnation',
            `Field Nation ${init.method} ${url.pathname} got no complete answer within ${limits.totalTimeoutMs} ms`,
            { phase: 'total', timeoutMs: limits.totalTimeoutMs },
          ),
        ),
      limits.totalTimeoutMs,
    );
    const req = transport.request(url, { method: init.method, headers, agent: agents[url.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish(err));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        finish(undefined, { status: res.statusCode ?? 0, headers: h, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('socket', (socket) => {
      // A reused keep-alive socket is already connected.
      if (!socket.connecting) return;
      connectTimer = setTimeout(
        () =>
          finish(
            new DependencyTimeoutError('fieldnation', `Field Nation ${url.host}: no connection within ${limits.connectTimeoutMs} ms`, {
              phase: 'connect',
              timeoutMs: limits.connectTimeoutMs,
            }),
          ),
        limits.connectTimeoutMs,
      );
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (err) => finish(err));
    req.end(init.body);
  });
}
