import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { ConnectionConfig } from '@broker/config';
import type { IngressMetrics } from './ingress-metrics';
import { RedactionError, redactOutboundMessage, redactWebhookBody, type RedactionRules } from './payload-redaction';

export type CaptureKind = 'outbound-message' | 'fieldnation-webhook';
export const CAPTURE_FORMAT = 'broker-capture/1';

/** One captured delivery: the file the capture writes and the replay specs read (apps/ingress/test/captured-replay.ts). */
export interface CapturedDelivery {
  format: typeof CAPTURE_FORMAT;
  kind: CaptureKind;
  capturedAt: string;
  connectionId: string;
  request: {
    method: string;
    /** The path with the path token replaced by `[path-token]`. */
    path: string;
    /** Headers worth replaying; signature and credential headers only as `[present]`. */
    headers: Record<string, string>;
    /** Names (never values) of the other headers the request carried. */
    otherHeaders: string[];
  };
  /** What the ingress answered (200: stored and acknowledged). */
  response: { status: number };
  /** How many personal fields or keys were replaced by placeholders. */
  redacted: number;
  /** Outbound Message: the envelope text. Webhook: the JSON body (its signature no longer matches). */
  body: unknown;
}

export interface PayloadCaptureOptions {
  /** Directory the files go to (created if missing). */
  dir: string;
  /** Bodies larger than this are not captured (a truncated body could neither be redacted safely nor replayed). */
  maxBytes: number;
  /** Files at most in `dir`, those already there included: capture stops by itself after a sandbox run. */
  limit: number;
  /** Deliveries waiting for the disk at most; beyond it a delivery is dropped, never waited for. */
  queueSize?: number;
  /** Extra field names / keys to redact on top of the defaults (CAPTURE_REDACT_FIELDS). */
  redactFields?: readonly string[];
  connections: Map<string, ConnectionConfig>;
  logger: Logger;
  metrics: IngressMetrics;
  /** Writes one file; default: write a temporary file, then rename (a reader never sees half a file). */
  write?: (file: string, data: string) => Promise<void>;
}

export interface PayloadCapture {
  /** Express middleware placed after authentication: captures the request once its answer is sent. */
  middleware(kind: CaptureKind): (req: Request, res: Response, next: NextFunction) => void;
  /** The same for a request served without Express (the Outbound Message POST), once its body is read. */
  watch(kind: CaptureKind, request: { req: IncomingMessage; res: ServerResponse; connectionId: string; body: Buffer }): void;
  /** Resolves when the deliveries queued so far are written (shutdown, tests). */
  drain(): Promise<void>;
}

interface Pending {
  kind: CaptureKind;
  connectionId: string;
  capturedAt: string;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  status: number;
}

export const CAPTURE_QUEUE_SIZE = 32;
const KEPT_HEADERS = [
  'content-type',
  'content-length',
  'user-agent',
  'soapaction',
  'x-fn-webhook-id',
  'x-fn-delivery-id',
  'x-fn-event-trace-id',
  'x-fn-request-timestamp',
  'x-fn-event-name',
  'x-fn-timestamp',
];
const PRESENCE_HEADERS = ['x-fn-signature', 'fn-hash', 'authorization', 'cookie', 'proxy-authorization'];

/** The strings of a connection that are credentials: never in a capture, wherever they show up. */
function connectionSecrets(connection: ConnectionConfig | undefined): string[] {
  const found: string[] = [];
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'string') {
      if (/secret|password|token|key$/i.test(key)) found.push(value);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(connection, '');
  return found;
}

const defaultWrite = async (file: string, data: string) => {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  // Redacted, but still a customer's data: readable by the service user only.
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, file);
};

/**
 * Opt-in capture of authenticated deliveries for fixtures (docs/operations.md, "Capturing real
 * payloads"). The request path only pushes a reference onto a bounded queue after the answer is
 * sent; redaction and the disk happen in one background loop, so a slow or stuck disk drops
 * captures (broker_ingress_capture_dropped_total) and never delays an acknowledgement.
 */
export function createPayloadCapture(options: PayloadCaptureOptions): PayloadCapture {
  const { logger, metrics } = options;
  const queueSize = options.queueSize ?? CAPTURE_QUEUE_SIZE;
  const write = options.write ?? defaultWrite;
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  let accepted = readdirSync(options.dir).filter((f) => f.endsWith('.json')).length;
  const queue: Pending[] = [];
  let running = false;
  let idle = Promise.resolve();
  let limitLogged = false;

  const drop = (reason: string, extra: Record<string, unknown> = {}) => {
    metrics.captureDropped.inc({ reason });
    logger.warn({ reason, ...extra }, 'payload capture dropped a delivery');
  };

  const record = (p: Pending): CapturedDelivery => {
    const connection = options.connections.get(p.connectionId);
    const rules: RedactionRules = {
      salesforceFields: options.redactFields,
      webhookKeys: options.redactFields,
      secrets: connectionSecrets(connection),
    };
    let body: unknown;
    let redacted: number;
    const text = new TextDecoder('utf-8', { fatal: true }).decode(p.body);
    if (p.kind === 'outbound-message') {
      const r = redactOutboundMessage(text, rules);
      body = r.xml;
      redacted = r.redactedFields;
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new RedactionError('webhook body is not JSON');
      }
      const r = redactWebhookBody(parsed, rules);
      body = r.body;
      redacted = r.redactedKeys;
    }
    const headers: Record<string, string> = {};
    const otherHeaders: string[] = [];
    for (const [name, value] of Object.entries(p.headers)) {
      if (PRESENCE_HEADERS.includes(name)) headers[name] = '[present]';
      else if (KEPT_HEADERS.includes(name) && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      else otherHeaders.push(name);
    }
    const secrets = rules.secrets!.filter((s) => s.length >= 8);
    for (const [k, v] of Object.entries(headers)) if (secrets.some((s) => v.includes(s))) headers[k] = '[redacted-secret]';
    return {
      format: CAPTURE_FORMAT,
      kind: p.kind,
      capturedAt: p.capturedAt,
      connectionId: p.connectionId,
      request: { method: p.method, path: p.path, headers, otherHeaders },
      response: { status: p.status },
      redacted,
      body,
    };
  };

  const pump = async () => {
    while (queue.length) {
      const p = queue.shift()!;
      try {
        const capture = record(p);
        const name = `${p.capturedAt.replace(/[:.]/g, '-')}-${p.connectionId}-${p.kind}-${randomBytes(3).toString('hex')}.json`;
        await write(path.join(options.dir, name), `${JSON.stringify(capture, null, 2)}\n`);
        metrics.captured.inc({ kind: p.kind });
      } catch (err) {
        accepted--;
        if (err instanceof RedactionError || err instanceof TypeError)
          drop('unredactable', { kind: p.kind, connectionId: p.connectionId, why: (err as Error).message });
        else drop('write-error', { err: { message: (err as Error).message } });
      }
    }
  };

  const offer = (p: Pending) => {
    if (accepted >= options.limit) {
      metrics.captureDropped.inc({ reason: 'limit' });
      if (!limitLogged)
        logger.warn({ limit: options.limit, dir: options.dir }, 'payload capture limit reached; no more deliveries are captured');
      limitLogged = true;
      return;
    }
    if (p.body.length > options.maxBytes) return drop('too-large', { kind: p.kind, bytes: p.body.length, maxBytes: options.maxBytes });
    if (queue.length >= queueSize) return drop('queue-full', { kind: p.kind, queueSize });
    accepted++;
    queue.push(p);
    kick();
  };

  // The loop runs after this tick: the request path never does the redaction or the write.
  function kick() {
    if (running) return;
    running = true;
    idle = new Promise<void>((resolve) => setImmediate(resolve)).then(pump).finally(() => {
      running = false;
      if (queue.length) kick();
    });
  }

  const watch: PayloadCapture['watch'] = (kind, { req, res, connectionId, body }) => {
    res.on('finish', () => {
      offer({
        kind,
        connectionId,
        capturedAt: new Date().toISOString(),
        method: req.method ?? 'POST',
        path: (req.url ?? '').split('?')[0]!.replace(/^(\/salesforce\/outbound\/[^/]+\/)[^/]+/, '$1[path-token]'),
        headers: req.headers,
        body,
        status: res.statusCode,
      });
    });
  };

  return {
    watch,
    middleware(kind) {
      return (req, res, next) => {
        res.on('finish', () => {
          // Webhooks: only what passed the signature check (the handler marks it); never what an attacker sends.
          if (kind === 'fieldnation-webhook' && res.locals.authenticated !== true) return;
          if (!Buffer.isBuffer(req.body) || req.body.length === 0) return;
          offer({
            kind,
            connectionId: String(req.params.connectionId),
            capturedAt: new Date().toISOString(),
            method: req.method,
            path: req.originalUrl.split('?')[0]!.replace(/^(\/salesforce\/outbound\/[^/]+\/)[^/]+/, '$1[path-token]'),
            headers: req.headers,
            body: req.body,
            status: res.statusCode,
          });
        });
        next();
      };
    },
    async drain() {
      while (running) await idle;
    },
  };
}
