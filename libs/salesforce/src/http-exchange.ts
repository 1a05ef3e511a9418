import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';

/**
 * One HTTP exchange read whole (status, headers, body), on undici's dispatcher: the Salesforce
 * record query and the Field Nation calls go this way. On node:http the client side of one such
 * call cost 136–184 µs of CPU, here 37–110 µs (bench/http-client-bench.ts, docs/benchmarks.md).
 *
 * The two deadlines are the callers' own, with their errors:
 * - connect: from the start of the socket's connection until TCP connects (`connectEnds: 'tcp'`), or
 *   until TLS is established too for https (`'secure'`); past it the socket is destroyed and the call
 *   fails with `connectError()`. A reused keep-alive socket is already connected. With 'tcp', the TLS
 *   handshake runs on the total deadline, and a socket still in it `handshakeMs` after TCP connected
 *   is destroyed (the call has failed at its deadline by then; undici would keep the socket).
 * - total: connect, send, headers and the whole body; past it the exchange is aborted (its socket
 *   destroyed) and fails with `totalError()`.
 * undici's own headers and body timeouts are off, so no other deadline applies, and nothing is
 * retried, redirected, decompressed or proxied here, as with node:http.
 *
 * A connection that closes before the answer is complete fails as node:http failed, with code
 * ECONNRESET ('socket hang up' before the headers, 'aborted' in the body); `statusOfFailedAnswer`
 * tells the two apart. Other errors (ECONNREFUSED, ENOTFOUND, EPIPE, a parse error...) are passed on as they are.
 */
export interface ExchangeRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  connectMs: number;
  connectEnds: 'tcp' | 'secure';
  /** With connectEnds 'tcp' and https: how long the TLS handshake may take before its socket is destroyed. */
  handshakeMs?: number;
  connectError: () => Error;
  totalMs: number;
  totalError: () => Error;
}

export interface ExchangeAnswer {
  status: number;
  /** Header names in lower case, values decoded as latin1 (as node:http does); a repeated header is an array. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A header of an answer as fetch's `Headers.get` gives it: repeated values joined with ', '. */
export function headerValue(headers: ExchangeAnswer['headers'], name: string): string | null {
  const value = headers[name.toLowerCase()];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

const inBody = new WeakMap<object, number>();

/** The answer's status when the exchange failed after its headers had arrived (in the body), else undefined. */
export function statusOfFailedAnswer(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? inBody.get(err) : undefined;
}

/** The socket's connect deadline passed: the dispatcher fails the waiting request with this. */
class ConnectDeadlineError extends Error {
  // Not UND_ERR_SOCKET: undici would keep the request queued and connect again.
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
}

type Undici = typeof import('undici');
// Loaded at the first exchange: the ingress and the simulators reach this module through the
// library's index and never make such a call.
let undici: Undici | undefined;
let loading: Promise<Undici> | undefined;
const dispatchers = new Map<string, Dispatcher>();

function dispatcher(u: Undici, { connectMs, connectEnds, handshakeMs }: ExchangeRequest): Dispatcher {
  const key = `${connectMs}/${connectEnds}/${handshakeMs}`;
  let agent = dispatchers.get(key);
  if (agent) return agent;
  const connect = u.buildConnector({ timeout: 0 }); // the deadline below instead: it can end at TCP
  agent = new u.Agent({
    connect: (options, callback) => {
      // undici's connector returns the socket it is connecting (its type says void): the deadline
      // destroys it. http-exchange.spec.ts checks both ends of the connect deadline.
      const socket = connect(options, callback) as unknown as Socket;
      const tls = options.protocol === 'https:';
      let timer = setTimeout(() => socket.destroy(new ConnectDeadlineError(`no connection within ${connectMs} ms`)), connectMs);
      socket.once(connectEnds === 'secure' && tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        if (!tls || connectEnds === 'secure' || handshakeMs === undefined) return;
        timer = setTimeout(() => socket.destroy(new ConnectDeadlineError(`no TLS session within ${handshakeMs} ms`)), handshakeMs);
        socket.once('secureConnect', () => clearTimeout(timer));
      });
      socket.once('close', () => clearTimeout(timer));
      return socket;
    },
    // Only the callers' deadlines: undici's defaults (300 s each) would cut a longer configured one.
    headersTimeout: 0,
    bodyTimeout: 0,
    // An idle socket is closed after 30 s, or when the server's Keep-Alive hint says (node:http's
    // agent kept it until the server closed it, unless the hint said otherwise): a call on a socket
    // the server has just closed fails as before, and only the callers resend it (idempotent calls).
    keepAliveTimeout: 30_000,
  });
  dispatchers.set(key, agent);
  return agent;
}

class ExchangeHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private abortReason: Error | undefined;
  private status = 0;
  private headers: ExchangeAnswer['headers'] = {};
  private readonly chunks: Buffer[] = [];
  private started = false;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly request: ExchangeRequest,
    private readonly resolve: (answer: ExchangeAnswer) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.timer = setTimeout(() => this.abort(request.totalError()), request.totalMs);
  }

  private abort(err: Error): void {
    if (this.settled) return;
    this.abortReason = err;
    // Before the request is on a socket there is nothing to abort yet: onRequestStart does it.
    this.controller?.abort(err);
    this.fail(err);
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.started && typeof err === 'object' && err !== null) inBody.set(err, this.status);
    this.reject(err);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.abortReason) controller.abort(this.abortReason);
    else this.controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: the answer is still to come
    this.started = true;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.resolve({ status: this.status, headers: this.headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.settled) return;
    const code = (err as { code?: string }).code;
    if (err instanceof ConnectDeadlineError) this.fail(this.request.connectError());
    else if (code === 'UND_ERR_SOCKET')
      this.fail(Object.assign(new Error(this.started ? 'aborted' : 'socket hang up', { cause: err }), { code: 'ECONNRESET' }));
    else this.fail(err);
  }
}

function send(u: Undici, url: URL, request: ExchangeRequest): Promise<ExchangeAnswer> {
  return new Promise<ExchangeAnswer>((resolve, reject) => {
    const handler = new ExchangeHandler(request, resolve, reject);
    try {
      dispatcher(u, request).dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: request.method as Dispatcher.HttpMethod,
          headers: request.headers,
          body: request.body,
        },
        handler,
      );
    } catch (err) {
      handler.onResponseError(undefined, err as Error);
    }
  });
}

export function httpExchange(url: URL, request: ExchangeRequest): Promise<ExchangeAnswer> {
  if (undici) return send(undici, url, request);
  const started = Date.now();
  loading ??= import('undici').then((m) => (undici = m));
  // The load counts against the first call's total deadline.
  return loading.then((u) => send(u, url, { ...request, totalMs: Math.max(0, request.totalMs - (Date.now() - started)) }));
}
