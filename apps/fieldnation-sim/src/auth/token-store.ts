import { randomBytes } from 'node:crypto';

export interface IssuedToken {
  accessToken: string;
  refreshToken: string;
  userId: number;
  expiresAt: number;
}

/** Opaque bearer tokens with an expiry; refresh tokens stay valid until used or reset. */
export class TokenStore {
  private readonly byAccess = new Map<string, IssuedToken>();
  private readonly byRefresh = new Map<string, IssuedToken>();

  constructor(public ttlSeconds: number) {}

  issue(userId: number): IssuedToken {
    const token: IssuedToken = {
      accessToken: randomBytes(32).toString('base64url'),
      refreshToken: randomBytes(32).toString('base64url'),
      userId,
      expiresAt: Date.now() + this.ttlSeconds * 1000,
    };
    this.byAccess.set(token.accessToken, token);
    this.byRefresh.set(token.refreshToken, token);
    return token;
  }

  /** The token if known and not expired. */
  verify(accessToken: string): IssuedToken | 'expired' | undefined {
    const token = this.byAccess.get(accessToken);
    if (!token) return undefined;
    return token.expiresAt <= Date.now() ? 'expired' : token;
  }

  /** One-time use: a refresh token is consumed and a new pair issued. */
  refresh(refreshToken: string): IssuedToken | undefined {
    const old = this.byRefresh.get(refreshToken);
    if (!old) return undefined;
    this.byRefresh.delete(refreshToken);
    this.byAccess.delete(old.accessToken);
    return this.issue(old.userId);
  }

  /** Make every issued access token expire now (tests of re-authentication); returns how many were still live. */
  expireAll(): number {
    const now = Date.now();
    let expired = 0;
    for (const token of this.byAccess.values()) {
      if (token.expiresAt > now) expired += 1;
      token.expiresAt = Math.min(token.expiresAt, now - 1);
    }
    return expired;
  }

  reset(): void {
    this.byAccess.clear();
    this.byRefresh.clear();
  }
}
