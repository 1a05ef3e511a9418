import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AuthSettings } from './auth.settings';

/** Who made a request, for audit lines and the CSRF token. */
export interface Principal {
  name: string;
  /** Basic credentials are sent by browsers on their own, so those requests need CSRF protection. */
  via: 'basic' | 'bearer' | 'insecure';
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

// Hashing first gives equal-length buffers, so timingSafeEqual never leaks the secret's length.
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export function authenticate(header: string | undefined, settings: AuthSettings): Principal | null {
  if (settings.mode === 'insecure') return { name: 'anonymous', via: 'insecure' };
  if (!header) return null;
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && settings.token) {
    return sameSecret(value, settings.token) ? { name: 'token', via: 'bearer' } : null;
  }
  if (scheme === 'basic' && settings.user && settings.password) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // Both compared every time (no early return on the user name).
    const ok = sameSecret(user, settings.user) && sameSecret(password, settings.password);
    return ok ? { name: user, via: 'basic' } : null;
  }
  return null;
}

/** Every route behind it needs basic or bearer credentials; the 401 invites the browser to ask. */
export function authMiddleware(settings: AuthSettings) {
  return (req: Request, res: Response, next: NextFunction) => {
    const principal = authenticate(req.headers.authorization, settings);
    if (!principal) {
      if (settings.mode === 'credentials' && settings.password) {
        res.setHeader('WWW-Authenticate', 'Basic realm="broker dashboard", charset="UTF-8"');
      } else {
        res.setHeader('WWW-Authenticate', 'Bearer realm="broker dashboard"');
      }
      res.status(401).type('text/plain').send('authentication required');
      return;
    }
    req.principal = principal;
    next();
  };
}
