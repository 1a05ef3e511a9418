import type { NextFunction, Request, Response } from 'express';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Addresses the unauthenticated dashboard may listen on. */
export const isLoopbackAddress = (host: string): boolean => ['127.0.0.1', '::1', 'localhost', '[::1]'].includes(host.toLowerCase());

/**
 * A Host header naming this machine's loopback address and the port the request arrived on. A
 * browser puts the name from the URL bar in Host: a page on a rebound name (attacker.example now
 * resolving to 127.0.0.1) sends that name, so it fails here even though the connection is local.
 */
export function isLoopbackHost(host: string | undefined, port: number | undefined): boolean {
  if (!host || port === undefined) return false;
  const m = /^(\[[^\]]*\]|[^:]+)(?::(\d{1,5}))?$/.exec(host.toLowerCase());
  if (!m) return false;
  const [, name, p] = m;
  return LOOPBACK_NAMES.has(name!) && Number(p ?? 80) === port;
}

/**
 * For the unauthenticated demo mode: answer only requests addressed to localhost. Without it, DNS
 * rebinding turns any web page the operator opens into a client of the dashboard (its Host and
 * Origin are both the attacker's name, so the same-origin check passes). 421: this server does not
 * serve that name.
 */
export function loopbackHostMiddleware() {
  return (req: Request, res: Response, next: NextFunction) => {
    if (isLoopbackHost(req.headers.host, req.socket.localPort)) return next();
    res
      .status(421)
      .type('text/plain')
      .send('this dashboard runs without authentication and answers only at http://localhost:<port> or http://127.0.0.1:<port>\n');
  };
}
