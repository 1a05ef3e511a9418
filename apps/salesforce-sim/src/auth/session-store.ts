import { randomBytes } from 'node:crypto';
import type { VirtualClock } from '../core/virtual-clock';

export type LoginFlow = 'soap' | 'password' | 'refresh_token' | 'client_credentials' | 'jwt_bearer' | 'outbound';

export interface Session {
  token: string;
  userId: string;
  username: string;
  flow: LoginFlow;
  createdAt: number;
  lastUsedAt: number;
  revoked: boolean;
  /** The refresh token the session was issued from or with, if any. */
  refreshToken?: string;
}

/**
 * Access tokens (SOAP session ids and OAuth access tokens are the same thing in Salesforce). A session
 * expires after `ttlMs` of virtual time without use, like the org's session timeout; a revoked one
 * never comes back, while a fresh login always works at once.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly refreshTokens = new Map<string, { userId: string; username: string; clientId: string }>();

  constructor(
    private readonly clock: VirtualClock,
    private readonly orgId15: string,
    public ttlMs: number,
  ) {}

  create(userId: string, username: string, flow: LoginFlow, refreshToken?: string): Session {
    // Salesforce session ids start with the 15-character org id and a '!'.
    const token = `${this.orgId15}!${randomBytes(48).toString('base64url')}`;
    const now = this.clock.now();
    const session: Session = { token, userId, username, flow, createdAt: now, lastUsedAt: now, revoked: false, refreshToken };
    this.sessions.set(token, session);
    return session;
  }

  /** The live session for a token, touching it; undefined when unknown, expired or revoked. */
  use(token: string): Session | undefined {
    const s = this.sessions.get(token);
    if (!s || s.revoked) return undefined;
    const now = this.clock.now();
    if (now - s.lastUsedAt >= this.ttlMs) {
      s.revoked = true;
      return undefined;
    }
    s.lastUsedAt = now;
    return s;
  }

  /** Expire sessions: all of them, those of one user, or a single token. Returns how many. */
  expire(filter: { token?: string; username?: string } = {}): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.revoked) continue;
      if (filter.token && s.token !== filter.token) continue;
      if (filter.username && s.username.toLowerCase() !== filter.username.toLowerCase()) continue;
      s.revoked = true;
      n++;
    }
    return n;
  }

  /**
   * Revoke an access token, or a refresh token together with every session issued from it (as the
   * Salesforce revoke endpoint does). False when the token was never issued.
   */
  revoke(token: string): boolean {
    const s = this.sessions.get(token);
    if (s) s.revoked = true;
    const r = this.refreshTokens.delete(token);
    if (r) for (const other of this.sessions.values()) if (other.refreshToken === token) other.revoked = true;
    return !!s || r;
  }

  issueRefreshToken(userId: string, username: string, clientId: string): string {
    const token = `5Aep${randomBytes(36).toString('base64url')}`;
    this.refreshTokens.set(token, { userId, username, clientId });
    return token;
  }

  refreshTokenInfo(token: string): { userId: string; username: string; clientId: string } | undefined {
    return this.refreshTokens.get(token);
  }

  activeCount(): number {
    return [...this.sessions.values()].filter((s) => !s.revoked && this.clock.now() - s.lastUsedAt < this.ttlMs).length;
  }

  clear(): void {
    this.sessions.clear();
    this.refreshTokens.clear();
  }
}
