import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multer from 'multer';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteCap, FileTooLargeError, multipartStream, readSmallBody, streamExchange } from './index';

const timeout = (phase: string, ms: number) => new Error(`${phase} timeout ${ms}`);

describe('multipartStream and streamExchange', () => {
  let server: http.Server;
  let url: string;
  const received: Array<{
    fields: Record<string, unknown>;
    files: Array<{ fieldname: string; originalname: string; mimetype: string; size: number; buffer: Buffer }>;
  }> = [];

  beforeAll(async () => {
    const app = express();
    // A server parser that is not ours (multer/busboy) is the referee for the body's shape.
    app.post('/upload', multer({ storage: multer.memoryStorage() }).any(), (req, res) => {
      received.push({ fields: { ...req.body }, files: req.files as never });
      res.json({ ok: true });
    });
    app.post('/early', (_req, res) => res.status(503).json([{ errorCode: 'SERVER_UNAVAILABLE', message: 'down' }]));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('streams text and file parts that a standard parser reads back byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 256));
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
      })(),
    );
    const { body, contentType } = multipartStream([
      { name: 'entity_content', contentType: 'application/json', value: '{"PathOnClient":"a \\"b\\".pdf"}' },
      { name: 'VersionData', filename: 'a "b".pdf', contentType: 'application/pdf', stream: source },
    ]);
    const res = await streamExchange(
      new URL(`${url}/upload`),
      { method: 'POST', headers: { 'Content-Type': contentType }, body },
      { connectTimeoutMs: 2_000, idleTimeoutMs: 5_000 },
      timeout,
    );
    expect(res.statusCode).toBe(200);
    await readSmallBody(res);
    const last = received.at(-1)!;
    expect(last.fields.entity_content).toBe('{"PathOnClient":"a \\"b\\".pdf"}');
    expect(last.files).toHaveLength(1);
    expect(last.files[0]).toMatchObject({
      fieldname: 'VersionData',
      originalname: 'a _b_.pdf',
      mimetype: 'application/pdf',
      size: bytes.length,
    });
    expect(last.files[0]!.buffer.equals(bytes)).toBe(true);
  });

  it('resolves with an answer that comes before the upload is done', async () => {
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(65_536));
      },
    });
    const { body, contentType } = multipartStream([
      { name: 'file', filename: 'x.bin', contentType: 'application/octet-stream', stream: endless },
    ]);
    const res = await streamExchange(
      new URL(`${url}/early`),
      { method: 'POST', headers: { 'Content-Type': contentType }, body },
      { connectTimeoutMs: 2_000, idleTimeoutMs: 5_000 },
      timeout,
    );
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(await readSmallBody(res))).toEqual([expect.objectContaining({ errorCode: 'SERVER_UNAVAILABLE' })]);
    endless.destroy();
  });

  it('byteCap passes up to the cap and fails past it, whatever the metadata said', async () => {
    const ok = byteCap(10);
    await pipeline(Readable.from([Buffer.alloc(4), Buffer.alloc(6)]), ok, async function* (src) {
      for await (const _ of src) yield _;
    });
    expect(ok.bytes()).toBe(10);
    const over = byteCap(10);
    await expect(
      pipeline(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]), over, async function* (src) {
        for await (const _ of src) yield _;
      }),
    ).rejects.toBeInstanceOf(FileTooLargeError);
  });
});
