import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** A text part (a form field, or Salesforce's JSON entity part). */
export interface TextPart {
  name: string;
  value: string;
  contentType?: string;
}

/** A file part: its bytes come from a stream, read as the request body is sent (never buffered whole). */
export interface StreamPart {
  name: string;
  filename: string;
  contentType: string;
  stream: AsyncIterable<Uint8Array>;
}

/** `filename` in a Content-Disposition header: quotes, backslashes and line breaks cannot break out. */
const quoted = (v: string) => `"${v.replace(/["\\\r\n]/g, '_')}"`;

/**
 * A multipart/form-data body built as a stream with a known boundary: the part headers as small
 * buffers, each file part's bytes pulled from its stream only as fast as the HTTP request takes them
 * (Readable.from over an async generator: backpressure reaches the download feeding it). Used for
 * Salesforce's ContentVersion insert (a JSON `entity_content` part and a binary `VersionData` part) and
 * Field Nation's attachment upload (`file`, `notes`).
 */
export function multipartStream(parts: Array<TextPart | StreamPart>, boundary = `----broker${randomBytes(16).toString('hex')}`) {
  async function* generate(): AsyncGenerator<Buffer> {
    for (const part of parts) {
      if ('stream' in part) {
        yield Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(part.name)}; filename=${quoted(part.filename)}\r\nContent-Type: ${part.contentType}\r\n\r\n`,
        );
        for await (const chunk of part.stream) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        yield Buffer.from('\r\n');
      } else {
        const type = part.contentType ? `\r\nContent-Type: ${part.contentType}` : '';
        yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(part.name)}${type}\r\n\r\n${part.value}\r\n`);
      }
    }
    yield Buffer.from(`--${boundary}--\r\n`);
  }
  return { body: Readable.from(generate(), { objectMode: false }), contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}
