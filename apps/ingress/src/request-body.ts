import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * Why a body could not be read, with the HTTP status body-parser gives it (the Outbound Message
 * endpoint answers every one with a SOAP fault: Client below 500).
 */
export class BodyError extends Error {
  constructor(
    readonly reason: 'too-large' | 'encoding.unsupported' | 'request.aborted' | 'error',
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/**
 * The request body as bytes, at most `limit` of them (after decompression: the limit bounds what
 * is held, whatever came over the wire). What body-parser's `raw()` does, without Express around
 * it: identity, gzip, deflate and br bodies; a Content-Length over the limit is refused without
 * buffering. On a refusal the rest of the request is read and dropped before `done` is called, as
 * body-parser does, so the answer reaches a client that is still sending.
 */
export function readBody(req: IncomingMessage, limit: number, done: (err: BodyError | undefined, body?: Buffer) => void): void {
  let finished = false;
  const finish = (err: BodyError | undefined, body?: Buffer) => {
    if (finished) return;
    finished = true;
    if (!err) return done(undefined, body);
    if (inflate) {
      req.unpipe(inflate);
      inflate.destroy();
    }
    if (req.readableEnded || req.destroyed) return done(err);
    // Drain, then answer; a client that went away ends it too.
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      done(err);
    };
    req.on('end', answer);
    req.on('close', answer);
    req.resume();
  };

  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  let inflate: Transform | undefined;
  if (encoding === 'gzip') inflate = createGunzip();
  else if (encoding === 'deflate') inflate = createInflate();
  else if (encoding === 'br') inflate = createBrotliDecompress();
  else if (encoding !== 'identity')
    return finish(new BodyError('encoding.unsupported', 415, `unsupported content encoding "${encoding.slice(0, 40)}"`));
  const stream: Readable = inflate ? req.pipe(inflate) : req;

  const declared = req.headers['content-length'];
  if (!inflate && declared !== undefined && Number(declared) > limit)
    return finish(new BodyError('too-large', 413, 'request entity too large'));

  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let received = 0;
  stream.on('data', (chunk: Buffer) => {
    if (finished) return;
    received += chunk.length;
    if (received > limit) return finish(new BodyError('too-large', 413, 'request entity too large'));
    if (!first) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  stream.on('end', () => finish(undefined, chunks ? Buffer.concat(chunks, received) : (first ?? Buffer.alloc(0))));
  stream.on('error', (err: Error) => finish(new BodyError('error', 400, err.message)));
  req.on('aborted', () => finish(new BodyError('request.aborted', 400, 'request aborted')));
}
