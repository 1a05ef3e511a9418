// Captured deliveries (CAPTURE_DIR files, see docs/operations.md "Capturing real payloads") turned back
// into requests for a test ingress: the ingress spec and the end-to-end spec both replay every file in
// the fixtures directory through here.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toId18 } from '@broker/salesforce';
import { CAPTURE_FORMAT, type CapturedDelivery } from '../src/payload-capture';
import { findUnredacted } from '../src/payload-redaction';

export const CAPTURED_FIXTURES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/captured');

export interface CapturedFixture {
  file: string;
  capture: CapturedDelivery;
}

/** Every `*.json` capture of a directory, checked for format and redaction (a file that fails throws, naming it). */
export function loadCapturedFixtures(dir = CAPTURED_FIXTURES_DIR): CapturedFixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const capture = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CapturedDelivery;
      if (capture.format !== CAPTURE_FORMAT) throw new Error(`${file}: not a ${CAPTURE_FORMAT} capture`);
      if (capture.kind !== 'outbound-message' && capture.kind !== 'fieldnation-webhook')
        throw new Error(`${file}: unknown kind ${String(capture.kind)}`);
      const left = findUnredacted(capture.kind, capture.body);
      if (left.length) throw new Error(`${file}: not redacted: ${left.join('; ')}`);
      return { file, capture };
    });
}

export interface ReplayTarget {
  /** Base URL of the ingress under test. */
  ingressUrl: string;
  /** The test connection the capture is replayed into (its id replaces the captured one). */
  connectionId: string;
  organizationId: string;
  pathToken: string;
  webhookSecret: string;
}

export interface ReplayRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** What the ingress must store: sf.fetch notifications, or the fn.event job id of the webhook. */
  expect:
    | { kind: 'outbound-message'; notifications: { id: string; sObjectType: string; sfId: string }[] }
    | { kind: 'fieldnation-webhook'; jobId: string; eventName: string; workOrderId: number };
}

/** The same instant as now, written with the offset the captured timestamp used (Field Nation sends its zone's). */
function nowLike(captured: unknown): string | number {
  if (typeof captured === 'number') return Date.now();
  const offset = typeof captured === 'string' ? /([+-])(\d\d):(\d\d)$/.exec(captured) : null;
  if (!offset) return new Date().toISOString();
  const minutes = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
  return `${new Date(Date.now() + minutes * 60_000).toISOString().slice(0, 19)}${offset[0]}`;
}

/**
 * The request a capture becomes: an Outbound Message gets the test org id and goes to the path with
 * the test token; a webhook gets a fresh timestamp (the ingress refuses bodies older than Field
 * Nation's retry horizon) and is signed with the test secret, as redaction broke the original MAC.
 */
export function replayRequest(capture: CapturedDelivery, target: ReplayTarget): ReplayRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(capture.request.headers)) {
    if (v !== '[present]' && !['content-length', 'x-fn-delivery-id', 'x-fn-request-timestamp'].includes(k)) headers[k] = v;
  }
  if (capture.kind === 'outbound-message') {
    const xml = String(capture.body).replace(/(<(?:[\w.-]+:)?OrganizationId(?:\s[^>]*)?>)[^<]*/, `$1${target.organizationId}`);
    const notifications = [
      ...xml.matchAll(
        /<(?:[\w.-]+:)?Notification(?:\s[^>]*)?>\s*<(?:[\w.-]+:)?Id(?:\s[^>]*)?>([^<]+)<[\s\S]*?xsi:type="(?:[\w.-]+:)?(\w+)"[\s\S]*?<(?:[\w.-]+:)?Id(?:\s[^>]*)?>([^<]+)</g,
      ),
    ]
      // Job ids and job data carry 18-character ids, whatever length the capture has.
      .map((m) => ({ id: toId18(m[1]!.trim()), sObjectType: m[2]!, sfId: toId18(m[3]!.trim()) }));
    return {
      url: `${target.ingressUrl}/salesforce/outbound/${target.connectionId}/${target.pathToken}`,
      headers,
      body: xml,
      expect: { kind: 'outbound-message', notifications },
    };
  }
  const body = { ...(capture.body as Record<string, unknown>) };
  body.timestamp = nowLike(body.timestamp);
  const raw = JSON.stringify(body);
  headers['x-fn-signature'] = `sha256=${createHmac('sha256', target.webhookSecret).update(raw).digest('hex')}`;
  headers['x-fn-delivery-id'] = `${randomUUID()}:1`;
  headers['x-fn-request-timestamp'] = String(Date.now());
  const event = body.event as { name: string; params?: { work_order_id?: unknown } };
  const workOrderId = Number((body.workorder as { id?: unknown } | undefined)?.id ?? event.params?.work_order_id);
  return {
    url: `${target.ingressUrl}/fieldnation/webhooks/${target.connectionId}`,
    headers,
    body: raw,
    expect: {
      kind: 'fieldnation-webhook',
      jobId: `fn-${target.connectionId}-${createHash('sha256').update(raw).digest('hex')}`,
      eventName: event.name,
      workOrderId,
    },
  };
}
