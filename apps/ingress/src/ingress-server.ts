import http from 'node:http';
import https from 'node:https';
import type { RequestListener } from 'node:http';

export interface IngressTls {
  /** PEM certificate chain and key of the ingress's public name. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA(s) that sign accepted client certificates; without it only fingerprints can be pinned. */
  clientCa?: string | Buffer;
}

/**
 * The public listener: plain HTTP behind a TLS-terminating proxy, or HTTPS when the ingress ends TLS
 * itself. Then it asks every client for a certificate (Salesforce presents the org's API client
 * certificate) without requiring one: Field Nation's webhooks come without, and each Outbound
 * Message connection decides (salesforce.clientCertificate).
 */
export function createIngressServer(app: RequestListener, tls?: IngressTls): http.Server {
  if (!tls) return http.createServer(app);
  return https.createServer({ cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: true, rejectUnauthorized: false }, app);
}
