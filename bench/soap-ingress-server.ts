// Prototype for issue 14 item 10: the ingress's Outbound Message endpoint served through the `soap`
// package, to measure against the ingress (bench/soap-compare.ts), not to run in production.
// What it keeps from apps/ingress: the same gate before the body is read (path token, networks,
// client certificate: outboundGate), the same bounded body read, the pre-scan (org id, notification
// count, shape limits) before any parse, SOAP faults for refusals, and the Ack only after the
// sf.fetch jobs are in Redis (same job ids and data). What `soap` does instead of
// parseOutboundMessage: the envelope parse against the WSDL the ingress publishes, and the Ack.
//
// Env: BROKER_CONFIG, SF_OM_PATH_TOKEN (as the config reads it), REDIS_URL, QUEUE_PREFIX,
// OUTBOUND_MAX_BODY_BYTES. Prints its port on stdout.
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as soap from 'soap';
import pino from 'pino';
import { enqueueBulk, jobId, sfFetchQueue } from '@broker/contracts';
import { loadConfig } from '@broker/config';
import { createProducerConnection, openQueue, prom } from '@broker/runtime';
import { isSalesforceId, outboundMessageWsdl, scanOutboundMessage, soapFault, OutboundMessageError, toId18 } from '@broker/salesforce';
import { createIngressMetrics } from '../apps/ingress/src/ingress-metrics';
import { createOutboundGuard } from '../apps/ingress/src/outbound-guard';
import { cappedSnapshot, outboundGate, withDeadline, type OutboundDeps } from '../apps/ingress/src/outbound-message.handler';

const config = loadConfig(process.env.BROKER_CONFIG!);
const connections = new Map(config.connections.map((c) => [c.id, c]));
const redis = createProducerConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const fetchQueue = openQueue(sfFetchQueue, redis, process.env.QUEUE_PREFIX ?? 'soapbench');
const logger = pino({ level: 'warn' });
const metrics = createIngressMetrics(new prom.Registry());
const maxBody = Number(process.env.OUTBOUND_MAX_BODY_BYTES ?? 64 * 1024);
const deps: OutboundDeps = {
  connections,
  fetchQueue,
  logger,
  metrics,
  publicUrl: 'http://127.0.0.1',
  storeReady: () => redis.status === 'ready',
  storeTimeoutMs: 2_000,
  guard: createOutboundGuard(connections, config.ingress),
};
const XML = 'text/xml; charset=utf-8';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const clientFault = (res: Response, reason: string, message: string) => {
  metrics.rejected.inc({ endpoint: 'outbound', reason });
  res.status(500).type(XML).send(soapFault('Client', message));
};
/** A fault from inside the soap service: `soap` renders it with the WSDL's envelope. */
const soapError = (code: 'Client' | 'Server', message: string) => ({
  Fault: { faultcode: `soap:${code}`, faultstring: message, statusCode: 500 },
});

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const path = '/salesforce/outbound/:connectionId/:pathToken';

// The pre-scan, before `soap` parses anything: UTF-8, shape limits, this connection's org, 1-100 notifications.
function preScan(req: Request, res: Response, next: NextFunction): void {
  const connection = connections.get(String(req.params.connectionId))!;
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) return clientFault(res, 'empty', 'empty request body');
  let xml: string;
  try {
    xml = utf8.decode(req.body);
  } catch {
    return clientFault(res, 'encoding', 'body is not valid UTF-8');
  }
  try {
    const scan = scanOutboundMessage(xml);
    if (scan.organizationId === undefined) throw new OutboundMessageError('missing OrganizationId');
    if (scan.organizationId.slice(0, 15) !== connection.salesforce.organizationId.slice(0, 15))
      throw new OutboundMessageError('organization id does not match this endpoint', 'wrong-org');
    if (scan.notificationCount === 0) throw new OutboundMessageError('no Notification elements');
    if (scan.notificationCount > 100) throw new OutboundMessageError('more than 100 notifications', 'limits');
  } catch (err) {
    if (err instanceof OutboundMessageError) return clientFault(res, err.reason, err.message);
    throw err;
  }
  next();
}
app.post(path, outboundGate(deps), express.raw({ type: () => true, limit: maxBody }), preScan);

type SoapNotification = { Id?: string; sObject?: Record<string, unknown> & { attributes?: Record<string, string> } };
const text = (v: unknown): string | null => (v === undefined || v === null || typeof v === 'object' ? null : String(v));

const service = {
  NotificationService: {
    Notification: {
      async notifications(
        args: { OrganizationId?: string; Notification?: SoapNotification | SoapNotification[] },
        _cb: unknown,
        _headers: unknown,
        req: Request,
      ) {
        const connection = connections.get(String(req.params.connectionId))!;
        const list = Array.isArray(args.Notification) ? args.Notification : args.Notification ? [args.Notification] : [];
        const receivedAt = new Date().toISOString();
        const jobs = [];
        for (const n of list) {
          const type = (n.sObject?.attributes?.['xsi:type'] ?? '').replace(/^.*:/, '');
          const sfId = text(n.sObject?.Id);
          if (!n.Id || !isSalesforceId(n.Id) || !sfId || !isSalesforceId(sfId))
            throw soapError('Client', 'notification or record id missing or invalid');
          if (!connection.objects[type]) throw soapError('Client', `object ${type} is not configured for connection ${connection.id}`);
          const fields: Record<string, string | null> = {};
          for (const [k, v] of Object.entries(n.sObject!)) if (k !== 'attributes') fields[k] = text(v);
          const id = toId18(n.Id);
          jobs.push({
            name: 'fetch-record' as const,
            data: {
              connectionId: connection.id,
              sfObject: type,
              sfId: toId18(sfId),
              notificationId: id,
              source: 'outbound-message' as const,
              receivedAt,
              snapshot: cappedSnapshot(fields),
            },
            opts: { jobId: jobId('om', connection.id, id) },
          });
        }
        try {
          if (!deps.storeReady()) throw new Error('Redis is not connected');
          await withDeadline(enqueueBulk(fetchQueue, jobs), deps.storeTimeoutMs);
        } catch {
          throw soapError('Server', 'temporarily unable to store the notifications; retry later');
        }
        for (const j of jobs) metrics.notifications.inc({ connection: connection.id, object: j.data.sfObject });
        return { Ack: true };
      },
    },
  },
};

const server = http.createServer(app);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const [first] = config.connections;
  const wsdl = outboundMessageWsdl({
    sObjectType: Object.keys(first!.objects)[0] ?? 'Case',
    fields: ['Id'],
    location: `http://127.0.0.1:${port}/salesforce/outbound`,
  });
  soap.listen(app, { path, services: service, xml: wsdl, suppressStack: true, callback: () => process.stdout.write(`${port}\n`) });
  process.on('SIGTERM', () => {
    server.close(() => {
      void fetchQueue.close().then(() => {
        redis.disconnect();
        process.exit(0);
      });
    });
  });
});
