import type { RequestListener } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { soapFault } from '@broker/salesforce';
import type { IngressConfig } from '@broker/config';
import { outboundGate, outboundMessagePost, outboundWsdlHandler, type OutboundDeps } from './outbound-message.handler';
import { fieldNationWebhookHandler, type WebhookDeps } from './fieldnation-webhook.handler';
import { createOutboundGuard } from './outbound-guard';
import type { PayloadCapture } from './payload-capture';

/**
 * Default body limit of an Outbound Message: 100 notifications of an Id-only message (what `broker
 * salesforce metadata` sets up) measure 18.5 KB, 22.8 KB indented as Salesforce sends them, with a
 * 112-character session id and long instance URLs. 64 KiB leaves ~2.8x margin; an Outbound Message
 * that sends more fields needs OUTBOUND_MAX_BODY_BYTES raised (docs/deployment.md).
 */
export const OUTBOUND_MAX_BODY_BYTES = 64 * 1024;
/** Field Nation payloads are a few KB (event, work order summary). */
export const WEBHOOK_MAX_BODY_BYTES = 256 * 1024;

export interface IngressAppDeps extends Omit<OutboundDeps, 'guard'>, Omit<WebhookDeps, keyof OutboundDeps> {
  outboundMaxBodyBytes: number;
  webhookMaxBodyBytes: number;
  /** The config's `ingress` section: trusted proxies, client-certificate header. */
  ingress?: IngressConfig;
  ready: () => boolean;
  /** Opt-in capture of authenticated deliveries (CAPTURE_DIR); absent: nothing is captured. */
  capture?: PayloadCapture;
}

/**
 * The Outbound Message POST, matched as Express matched its route (case-insensitive, optional
 * trailing slash, any query string); the path token is optional in the pattern so that a request
 * without it is refused by the guard, not answered 404.
 */
const OUTBOUND_POST = /^\/salesforce\/outbound\/([^/?#]+)(?:\/([^/?#]+))?\/?(?:\?.*)?$/i;

const decodeParam = (value: string | undefined): string | undefined => {
  if (value === undefined || !value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return '';
  }
};

/**
 * The public HTTP edge. Admin surfaces (dashboard, replay) and /metrics are not served here: the
 * metrics are on the ops listener (OPS_PORT), which is not exposed. The Outbound Message POST is
 * served on the plain Node request (outboundMessagePost); everything else goes through Express.
 */
export function createIngressApp(deps: IngressAppDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // X-Forwarded-For is read only behind configured proxies: otherwise any client could name its address.
  if (deps.ingress?.trustProxy !== undefined) app.set('trust proxy', deps.ingress.trustProxy);
  const outbound: OutboundDeps = { ...deps, guard: createOutboundGuard(deps.connections, deps.ingress) };

  // Raw bytes: the webhook HMAC is over the exact bytes.
  const webhookRaw = express.raw({ type: () => true, limit: deps.webhookMaxBodyBytes });

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const ok = deps.ready();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready' });
  });

  const outboundPaths = ['/salesforce/outbound/:connectionId', '/salesforce/outbound/:connectionId/:pathToken'];
  // The gate runs before the body parser: a request without the token costs a header read.
  app.get(outboundPaths, outboundGate(outbound), outboundWsdlHandler(outbound));
  // Capture sits after authentication: the gate for Outbound Messages, the signature check (in the handler) for webhooks.
  const capture = (kind: 'fieldnation-webhook') => (deps.capture ? [deps.capture.middleware(kind)] : []);
  app.post('/fieldnation/webhooks/:connectionId', webhookRaw, ...capture('fieldnation-webhook'), fieldNationWebhookHandler(deps));

  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));

  // Body-parser errors (too large, aborted, bad encoding) end here; the process stays healthy.
  app.use((err: Error & { type?: string; status?: number }, req: Request, res: Response, _next: NextFunction) => {
    const reason = err.type === 'entity.too.large' ? 'too-large' : (err.type ?? 'error');
    const status = err.type === 'entity.too.large' ? 413 : err.status && err.status < 500 ? err.status : 500;
    // The path token is a credential: it never reaches the logs.
    deps.logger.warn(
      { path: req.path.replace(/^(\/salesforce\/outbound\/[^/]+\/)[^/]+/, '$1[redacted]'), reason, err: { message: err.message } },
      'request rejected',
    );
    if (req.path.startsWith('/salesforce/')) {
      deps.metrics.rejected.inc({ endpoint: 'outbound', reason });
      res
        .status(500)
        .type('text/xml; charset=utf-8')
        .send(
          soapFault(
            status < 500 ? 'Client' : 'Server',
            reason === 'too-large' ? `request body exceeds ${deps.outboundMaxBodyBytes} bytes` : 'request could not be read',
          ),
        );
    } else {
      deps.metrics.rejected.inc({ endpoint: 'webhook', reason });
      res.status(status).json({ error: reason });
    }
  });

  const post = outboundMessagePost(outbound, {
    maxBodyBytes: deps.outboundMaxBodyBytes,
    trustProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
    capture: deps.capture,
  });
  return (req, res) => {
    const match = req.method === 'POST' ? OUTBOUND_POST.exec(req.url ?? '') : null;
    if (match) post(req, res, decodeParam(match[1]) ?? '', decodeParam(match[2]));
    else app(req, res);
  };
}
