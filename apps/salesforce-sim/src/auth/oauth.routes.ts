import { createHmac } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { RecordData } from '../org/org-model';
import type { SimContext } from '../sim-context';
import { activeUser, verifyPassword } from './credentials';
import { JwtError, publicKeyFrom, verifyJwtAssertion } from './jwt-bearer';
import type { LoginFlow } from './session-store';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function oauthError(res: Response, error: string, description: string, status = 400): void {
  res.status(status).json({ error, error_description: description });
}

/**
 * OAuth 2.0 token and revoke endpoints, of the org's My Domain or (`loginHost`) of the generic login
 * host login.salesforce.com / test.salesforce.com.
 */
export function oauthRouter(getCtx: () => SimContext, options: { loginHost?: boolean } = {}): express.Router {
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '1mb' }));

  /** `fromRefreshToken`: the refresh token this session comes from (revoking it ends the session too). */
  const grant = (
    ctx: SimContext,
    res: Response,
    user: RecordData,
    flow: LoginFlow,
    clientId: string,
    withRefresh: boolean,
    fromRefreshToken?: string,
  ) => {
    ctx.counters.countLogin(flow, true);
    const refreshToken = withRefresh ? ctx.sessions.issueRefreshToken(String(user.Id), String(user.Username), clientId) : fromRefreshToken;
    const session = ctx.sessions.create(String(user.Id), String(user.Username), flow, refreshToken);
    const base = ctx.baseUrl();
    const issuedAt = String(ctx.clock.now());
    const id = `${base}/id/${ctx.orgId}/${String(user.Id)}`;
    const body: Record<string, string> = {
      access_token: session.token,
      instance_url: base,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
      signature: createHmac('sha256', clientId)
        .update(id + issuedAt)
        .digest('base64'),
      scope: 'api',
    };
    if (withRefresh && refreshToken) body.refresh_token = refreshToken;
    res.status(200).json(body);
  };

  router.post('/token', (req: Request, res: Response) => {
    const ctx = getCtx();
    const p = (req.body ?? {}) as Record<string, string | undefined>;
    const grantType = p.grant_type ?? '';
    const flow: LoginFlow | undefined =
      grantType === 'password'
        ? 'password'
        : grantType === 'refresh_token'
          ? 'refresh_token'
          : grantType === 'client_credentials'
            ? 'client_credentials'
            : grantType === JWT_BEARER
              ? 'jwt_bearer'
              : undefined;
    if (!flow) return oauthError(res, 'unsupported_grant_type', 'grant type not supported');
    const fail = (error: string, description: string, status = 400) => {
      ctx.counters.countLogin(flow, false);
      oauthError(res, error, description, status);
    };

    // Salesforce help, "OAuth 2.0 Client Credentials Flow": calls to login.salesforce.com or
    // test.salesforce.com aren't supported; the org's My Domain is. The error body is as reported by
    // users [3rd], not documented.
    if (flow === 'client_credentials' && options.loginHost) return fail('invalid_request', 'request not supported on this domain');

    if (flow === 'jwt_bearer') {
      try {
        const { clientId, username } = verifyJwtAssertion(String(p.assertion ?? ''), {
          // The login host of the org, even when the token is asked of the My Domain (help:
          // "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration"), or a configured site URL.
          audiences: ctx.settings.jwtAudiences ?? [
            ctx.config.organization.sandbox ? 'https://test.salesforce.com' : 'https://login.salesforce.com',
          ],
          key: (cid) => {
            const app = ctx.config.connectedApps.find((a) => a.clientId === cid);
            return app?.certificate ? publicKeyFrom(app.certificate) : undefined;
          },
        });
        const user = activeUser(ctx, username);
        if (!user) return fail('invalid_grant', "user hasn't approved this consumer");
        return grant(ctx, res, user, flow, clientId, false);
      } catch (err) {
        if (err instanceof JwtError && err.message === 'invalid_client_id') return fail('invalid_client_id', 'client identifier invalid');
        return fail('invalid_grant', err instanceof JwtError ? err.message : 'invalid assertion');
      }
    }

    const app = ctx.config.connectedApps.find((a) => a.clientId === p.client_id);
    if (!app) return fail('invalid_client_id', 'client identifier invalid');
    const secretOk = p.client_secret === app.clientSecret;

    if (flow === 'refresh_token') {
      if (p.client_secret !== undefined && !secretOk) return fail('invalid_client', 'invalid client credentials');
      const info = ctx.sessions.refreshTokenInfo(String(p.refresh_token ?? ''));
      if (!info || info.clientId !== app.clientId) return fail('invalid_grant', 'expired access/refresh token');
      const user = activeUser(ctx, info.username);
      if (!user) return fail('invalid_grant', 'inactive user');
      return grant(ctx, res, user, flow, app.clientId, false, String(p.refresh_token));
    }
    if (!secretOk) return fail('invalid_client', 'invalid client credentials');
    if (flow === 'client_credentials') {
      const user = app.runAsUser ? activeUser(ctx, app.runAsUser) : undefined;
      if (!user) return fail('invalid_grant', 'no client credentials user enabled');
      return grant(ctx, res, user, flow, app.clientId, false);
    }
    const user = verifyPassword(ctx, String(p.username ?? ''), String(p.password ?? ''));
    if (!user) return fail('invalid_grant', 'authentication failure');
    return grant(ctx, res, user, flow, app.clientId, app.refreshTokenOnPassword);
  });

  router.post('/revoke', (req: Request, res: Response) => {
    const token = String((req.body as Record<string, string> | undefined)?.token ?? req.query.token ?? '');
    if (!getCtx().sessions.revoke(token)) return oauthError(res, 'unsupported_token_type', 'this token type is not supported');
    res.status(200).end();
  });

  return router;
}

/** `GET /id/{orgId}/{userId}`: the identity URL returned by the token endpoint. */
export function identityHandler(getCtx: () => SimContext) {
  return (req: Request, res: Response) => {
    const ctx = getCtx();
    const auth = req.get('authorization') ?? '';
    const session = ctx.sessions.use(auth.replace(/^(Bearer|OAuth)\s+/i, ''));
    if (!session) return res.status(403).type('text/plain').send('Bad_OAuth_Token');
    const user = ctx.store.get(session.userId)?.record;
    if (!user || String(req.params.userId) !== session.userId) return res.status(403).type('text/plain').send('Bad_Id');
    const base = ctx.baseUrl();
    res.json({
      id: `${base}/id/${ctx.orgId}/${session.userId}`,
      asserted_user: true,
      user_id: session.userId,
      organization_id: ctx.orgId,
      username: user.Username,
      nick_name: user.Alias,
      display_name: `${user.FirstName ?? ''} ${user.LastName ?? ''}`.trim(),
      email: user.Email,
      email_verified: true,
      first_name: user.FirstName,
      last_name: user.LastName,
      timezone: user.TimeZoneSidKey,
      active: user.IsActive !== false,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      last_modified_date: user.LastModifiedDate,
      urls: {
        enterprise: `${base}/services/Soap/c/{version}/${ctx.orgId15}`,
        partner: `${base}/services/Soap/u/{version}/${ctx.orgId15}`,
        rest: `${base}/services/data/v{version}/`,
        sobjects: `${base}/services/data/v{version}/sobjects/`,
        query: `${base}/services/data/v{version}/query/`,
        limits: `${base}/services/data/v{version}/limits`,
      },
    });
  };
}
