import express, { type NextFunction, type Request, type Response } from 'express';
import { soapFault } from '@broker/salesforce';
import { outboundMessageHandler, outboundWsdlHandler, type OutboundDeps } from './outbound-message.handler';
import { fieldNationWebhookHandler, type WebhookDeps } from './fieldnation-webhook.handler';

export interface IngressAppDeps extends OutboundDeps, Omit<WebhookDeps, keyof OutboundDeps> {
  /** Largest accepted request body; 100 notifications with many fields stay well below 1 MB. */
  maxBodyBytes: number;
  ready: () => boolean;
  metricsText: () => Promise<string>;
  metricsContentType: string;
}

/** The public HTTP edge. Admin surfaces (dashboard, replay) are not served here. */
export function createIngressApp(deps: IngressAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Raw bytes for both endpoints: the SOAP parser wants the exact text and the webhook HMAC the exact bytes.
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const ok = deps.ready();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metricsContentType).send(await deps.metricsText());
  });

  app.get(['/salesforce/outbound/:connectionId', '/salesforce/outbound/:connectionId/:pathToken'], outboundWsdlHandler(deps));
  app.post(['/salesforce/outbound/:connectionId', '/salesforce/outbound/:connectionId/:pathToken'], raw, outboundMessageHandler(deps));
  app.post('/fieldnation/webhooks/:connectionId', raw, fieldNationWebhookHandler(deps));

  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));

  // Body-parser errors (too large, aborted, bad encoding) end here; the process stays healthy.
  app.use((err: Error & { type?: string; status?: number }, req: Request, res: Response, _next: NextFunction) => {
    const reason = err.type === 'entity.too.large' ? 'too-large' : err.type ?? 'error';
    const status = err.type === 'entity.too.large' ? 413 : err.status && err.status < 500 ? err.status : 500;
    // The optional path token is a credential: it never reaches the logs.
    deps.logger.warn({ path: req.path.replace(/^(\/salesforce\/outbound\/[^/]+\/)[^/]+/, '$1[redacted]'), reason, err: { message: err.message } }, 'request rejected');
    if (req.path.startsWith('/salesforce/')) {
      deps.metrics.rejected.inc({ endpoint: 'outbound', reason });
      res.status(500).type('text/xml; charset=utf-8').send(soapFault(status < 500 ? 'Client' : 'Server', reason === 'too-large' ? `request body exceeds ${deps.maxBodyBytes} bytes` : 'request could not be read'));
    } else {
      deps.metrics.rejected.inc({ endpoint: 'webhook', reason });
      res.status(status).json({ error: reason });
    }
  });
  return app;
}
