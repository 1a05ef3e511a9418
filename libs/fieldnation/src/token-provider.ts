export interface FieldNationCredentials {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
}

export interface CachedToken {
  value: string;
  expiresAt: number;
  /** When to fetch the next one: `marginMs` (at most half the lifetime) before expiry. */
  renewAt: number;
  userId?: number;
}

export type TokenFetcher = () => Promise<{ accessToken: string; expiresInSeconds: number; userId?: number }>;

/**
 * OAuth token cache: one token request per expiry, renewed `marginMs` before it runs out,
 * concurrent callers share the in-flight request. Renewal uses the password grant again: the
 * refresh grant is undocumented for the public API (reference §1.2).
 */
export class TokenProvider {
  private token?: CachedToken;
  private inflight?: Promise<CachedToken>;

  constructor(
    private readonly fetchToken: TokenFetcher,
    private readonly marginMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<CachedToken> {
    if (this.token && this.now() < this.token.renewAt) return this.token;
    this.inflight ??= this.fetchToken()
      .then((t) => {
        // A margin longer than a short-lived token would make every call fetch a new one.
        const ttl = t.expiresInSeconds * 1000;
        const now = this.now();
        this.token = {
          value: t.accessToken,
          expiresAt: now + ttl,
          renewAt: now + ttl - Math.min(this.marginMs, ttl / 2),
          userId: t.userId,
        };
        return this.token;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Drop the cached token if it is still the one that got a 401. */
  invalidate(value: string): void {
    if (this.token?.value === value) this.token = undefined;
  }

  get userId(): number | undefined {
    return this.token?.userId;
  }
}
