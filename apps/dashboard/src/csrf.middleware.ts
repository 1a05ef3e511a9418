import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A form token bound to the principal: HMAC(secret, name). The secret is per process, so tokens die
 * with a restart (the page is simply reloaded). No server-side session is needed.
 */
export function createCsrfTokens(secret: Buffer = randomBytes(32)) {
  const tokenFor = (principalName: string) => createHmac('sha256', secret).update(principalName).digest('base64url');
  return {
    tokenFor,
    verify(principalName: string, token: unknown): boolean {
      if (typeof token !== 'string' || token.length === 0) return false;
      const expected = Buffer.from(tokenFor(principalName));
      const given = Buffer.from(token);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
export type CsrfTokens = ReturnType<typeof createCsrfTokens>;

function originOf(value: string): string | null {
  try {
    return new URL(value).origin;
  } catch {
    return null;
  }
}

/**
 * Same-origin check on every state-changing request (the dashboard's forms and Bull Board's API
 * alike). Browsers attach basic credentials to cross-site requests too, so a page elsewhere could
 * otherwise retry or delete jobs. Browsers always send Origin or Sec-Fetch-Site on such requests;
 * a request with neither comes from a script (curl, the CLI), which CSRF does not concern.
 */
export function sameOriginMiddleware(allowedOrigins: string[] = []) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method) || req.principal?.via === 'bearer') return next();
    const fetchSite = req.headers['sec-fetch-site'];
    if (typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') {
      res.status(403).type('text/plain').send('cross-site request refused');
      return;
    }
    const origin = req.headers.origin ?? (req.headers.referer ? originOf(req.headers.referer) : undefined);
    if (origin !== undefined) {
      const host = req.headers.host;
      const own = host ? [`http://${host}`, `https://${host}`] : [];
      if (origin === null || ![...own, ...allowedOrigins].includes(origin)) {
        res.status(403).type('text/plain').send('cross-origin request refused');
        return;
      }
    }
    next();
  };
}
