import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { httpExchange, statusOfFailedAnswer, type ExchangeAnswer } from './http-exchange';
// jsforce exposes no timeout per connection (its fetch wrapper waits 30 minutes, HTTP_TIMEOUT is
// process-wide) and no connect timeout at all, so the connection's transport is replaced by this one.
import type { Transport } from 'jsforce/lib/transport';
import type { createHttpRequestHandlerStreams } from 'jsforce/lib/request-helper';
import type { HttpRequest, HttpRequestOptions } from 'jsforce/lib/types';

export interface SalesforceTimeouts {
  /** TCP connect to the host. */
  connectMs: number;
  /** The whole call: connect, send, headers and the full body. */
  requestMs: number;
}

/**
 * A Salesforce call that took too long. `code` is what Node and undici use for the same failure
 * (UND_ERR_CONNECT_TIMEOUT while connecting, ETIMEDOUT afterwards), so a generic classifier can tell a
 * network wait from an error worth an attempt.
 */
export class SalesforceTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(
    readonly code: 'UND_ERR_CONNECT_TIMEOUT' | 'ETIMEDOUT',
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(
      code === 'UND_ERR_CONNECT_TIMEOUT'
        ? `Salesforce: no connection to ${new URL(url).host} within ${timeoutMs} ms`
        : `Salesforce: no complete answer from ${new URL(url).host}${new URL(url).pathname} within ${timeoutMs} ms`,
    );
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
// As jsforce does for idempotent calls: a busy or briefly unreachable Salesforce is asked again
// (inside the same overall deadline); POST/PATCH never are, since they may have been applied.
export const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
export const RETRY_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
export const MAX_RETRIES = 2;

export interface Attempt {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  res: http.IncomingMessage;
}

/** One node:http attempt up to the answer's headers (jsforce's transport; bench/http-client-node-http.ts's baseline). */
export function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  connectMs: number,
  signal: AbortSignal,
): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    const req = lib.request(target, { method, headers, signal });
    let connectTimer: NodeJS.Timeout | undefined;
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => req.destroy(new SalesforceTimeoutError('UND_ERR_CONNECT_TIMEOUT', url, connectMs)), connectMs);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      reject(signal.aborted && signal.reason instanceof Error ? signal.reason : err);
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, res });
    });
    req.end(body);
  });
}

export async function readBody(input: NodeJS.ReadableStream | undefined): Promise<Buffer | undefined> {
  if (!input) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** One call with both deadlines, following redirects and retrying idempotent calls like jsforce's own transport. */
function timedRequest(
  streams: typeof createHttpRequestHandlerStreams,
  timeouts: SalesforceTimeouts,
  req: HttpRequest,
  options: HttpRequestOptions = {},
): Duplex {
  const { input, output, stream } = streams(req, options);
  const controller = new AbortController();
  let finished = false;
  const fail = (err: Error) => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    controller.abort(err);
    stream.emit('error', err);
  };
  const deadline = setTimeout(() => fail(new SalesforceTimeoutError('ETIMEDOUT', req.url, timeouts.requestMs)), timeouts.requestMs);
  deadline.unref?.();

  const run = async () => {
    const body = req.body === undefined ? undefined : await readBody(input);
    let url = req.url;
    let method = req.method.toUpperCase();
    let headers = { ...(req.headers ?? {}) } as Record<string, string>;
    let payload = body;
    for (let attempt = 0, redirects = 0; ;) {
      let result: Attempt;
      try {
        result = await send(url, method, headers, payload, timeouts.connectMs, controller.signal);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (!finished && IDEMPOTENT.has(method) && attempt < MAX_RETRIES && code && RETRY_CODES.has(code)) {
          await new Promise((r) => setTimeout(r, 500 * 2 ** attempt++));
          continue;
        }
        throw err;
      }
      const { statusCode, res } = result;
      const location = res.headers.location;
      if (options.followRedirect !== false && [301, 302, 303, 307, 308].includes(statusCode) && location && redirects < 10) {
        res.resume();
        url = new URL(location, url).toString();
        method = 'GET';
        payload = undefined;
        headers = { ...(req.headers ?? {}) } as Record<string, string>;
        delete headers['content-length'];
        delete headers['Content-Length'];
        redirects++;
        continue;
      }
      if (IDEMPOTENT.has(method) && RETRY_STATUS.has(statusCode) && attempt < MAX_RETRIES) {
        res.resume();
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt++));
        continue;
      }
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      stream.emit('response', { statusCode, headers: flat });
      res.on('error', (err) => fail(err));
      res.on('end', () => {
        finished = true;
        clearTimeout(deadline);
      });
      res.pipe(output);
      return;
    }
  };
  run().catch((err: Error) => fail(err));
  return stream;
}

/** A whole answer: status, headers and the body as text. */
export interface HttpAnswer {
  status: number;
  headers: ExchangeAnswer['headers'];
  body: string;
}

/**
 * One GET with both deadlines, retried as `timedRequest` retries an idempotent call, its body read
 * whole: the fetcher's record query goes this way instead of through jsforce's request streams, on
 * undici's dispatcher (`httpExchange`) rather than node:http, which cost it twice the CPU per call.
 * As with `send`: the connect deadline ends when TCP connects; a failure before the answer's headers
 * with a code of RETRY_CODES, or a status of RETRY_STATUS, is asked again inside the overall deadline.
 */
export async function getWithDeadlines(url: string, headers: Record<string, string>, timeouts: SalesforceTimeouts): Promise<HttpAnswer> {
  const target = new URL(url);
  const deadline = Date.now() + timeouts.requestMs;
  const timeout = () => new SalesforceTimeoutError('ETIMEDOUT', url, timeouts.requestMs);
  let timedOut = false;
  for (let attempt = 0; ;) {
    // One deadline over every attempt and the waits between them (a wait is not cut short).
    const left = deadline - Date.now();
    if (left <= 0) throw timeout();
    let answer: ExchangeAnswer;
    try {
      answer = await httpExchange(target, {
        method: 'GET',
        headers,
        connectMs: timeouts.connectMs,
        connectEnds: 'tcp',
        handshakeMs: timeouts.requestMs,
        connectError: () => new SalesforceTimeoutError('UND_ERR_CONNECT_TIMEOUT', url, timeouts.connectMs),
        totalMs: left,
        totalError: () => {
          timedOut = true;
          return timeout();
        },
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      const status = statusOfFailedAnswer(err);
      // As before: a network failure before the headers is asked again; in the body only when the
      // status itself was one to ask again for (its body was being thrown away).
      const again = status === undefined ? code !== undefined && RETRY_CODES.has(code) : RETRY_STATUS.has(status);
      if (!timedOut && again && attempt < MAX_RETRIES) {
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt++));
        continue;
      }
      throw err;
    }
    if (RETRY_STATUS.has(answer.status) && attempt < MAX_RETRIES) {
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt++));
      continue;
    }
    return { status: answer.status, headers: answer.headers, body: answer.body.toString('utf8') };
  }
}

/** A CommonJS module's export, whether the loader gives it as a named export or on `default`. */
export function cjsExport<T>(mod: unknown, name: string): T {
  const m = mod as Record<string, unknown> & { default?: Record<string, unknown> };
  return (m[name] ?? m.default?.[name]) as T;
}

/**
 * A jsforce transport whose every request (logins included) has a connect and a total deadline.
 * jsforce is loaded here, at the first login, not when the module is imported: esbuild hoists a
 * static import of an external package to the top of the bundle, and jsforce costs ~38 MB. The
 * `.js` file names: jsforce has no exports map, and Node's ESM resolver (the built bundles) needs them.
 */
export async function createTimeoutTransport(timeouts: SalesforceTimeouts): Promise<Transport> {
  const [transportModule, helperModule] = await Promise.all([import('jsforce/lib/transport.js'), import('jsforce/lib/request-helper.js')]);
  const Base = cjsExport<typeof Transport>(transportModule, 'Transport');
  const streams = cjsExport<typeof createHttpRequestHandlerStreams>(helperModule, 'createHttpRequestHandlerStreams');
  class TimeoutTransport extends Base {
    override getRequestStreamCreator() {
      return (req: HttpRequest, options?: HttpRequestOptions) => timedRequest(streams, timeouts, req, options);
    }
  }
  return new TimeoutTransport();
}
