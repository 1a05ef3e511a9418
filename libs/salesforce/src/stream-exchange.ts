import http from 'node:http';
import https from 'node:https';
import { Transform, type Readable } from 'node:stream';

export interface StreamLimits {
  /** Time to open the connection (DNS, TCP, TLS). */
  connectTimeoutMs: number;
  /**
   * Longest silence on the socket once connected (neither side moved a byte). A whole-call deadline
   * does not fit a 50 MB file on a slow link; a stalled transfer is what must end.
   */
  idleTimeoutMs: number;
}

/** The kind of timeout, for the caller's own error type (its dependency name, its retry rules). */
export type StreamTimeout = (phase: 'connect' | 'idle', timeoutMs: number) => Error;

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/**
 * One HTTP exchange with a streamed request body and a streamed answer: resolves with the response
 * as soon as its headers arrive (the body is read by the caller, piped on). The request body is piped
 * from `body` (backpressure: it is read as fast as the socket takes it). A server that answers before
 * the body is sent (an error mid-upload) ends the upload: the answer is what counts.
 */
export function streamExchange(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: Readable },
  limits: StreamLimits,
  timeout: StreamTimeout,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (err: Error) => {
      clearTimeout(connectTimer);
      init.body?.destroy();
      req.destroy(err);
      if (!settled) {
        settled = true;
        reject(err);
      }
    };
    const req = transport.request(
      url,
      { method: init.method, headers: init.headers, agent: agents[url.protocol as 'http:' | 'https:'] },
      (res) => {
        settled = true;
        clearTimeout(connectTimer);
        // The answer came: whatever of the upload is left is not wanted any more.
        if (init.body && !init.body.readableEnded) init.body.unpipe(req);
        res.on('close', () => req.setTimeout(0));
        resolve(res);
      },
    );
    req.setTimeout(limits.idleTimeoutMs, () => fail(timeout('idle', limits.idleTimeoutMs)));
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => fail(timeout('connect', limits.connectTimeoutMs)), limits.connectTimeoutMs);
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (err) => fail(err));
    if (init.body) {
      init.body.on('error', (err) => fail(err));
      init.body.pipe(req);
    } else req.end();
  });
}

/** A file past the connection's size cap: permanent for that file (it is skipped, not retried). */
export class FileTooLargeError extends Error {
  constructor(
    readonly maxBytes: number,
    readonly seenBytes: number,
  ) {
    super(`file larger than the ${maxBytes}-byte cap (at least ${seenBytes} bytes)`);
    this.name = 'FileTooLargeError';
  }
}

/**
 * Passes bytes through, counting them, and fails the stream as soon as more than `maxBytes` have
 * gone by: the cap holds while streaming, whatever the metadata said before the download.
 */
export function byteCap(maxBytes: number): Transform & { bytes(): number } {
  let seen = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) cb(new FileTooLargeError(maxBytes, seen));
      else cb(null, chunk);
    },
  });
  return Object.assign(t, { bytes: () => seen });
}

/** Read a small answer body (JSON or an error) whole; a long one is cut at `limit` characters. */
export async function readSmallBody(res: http.IncomingMessage, limit = 1024 * 1024): Promise<string> {
  let text = '';
  for await (const chunk of res) {
    if (text.length < limit) text += (chunk as Buffer).toString('utf8');
  }
  return text.slice(0, limit);
}
