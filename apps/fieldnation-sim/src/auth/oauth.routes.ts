import express, { Router, type Request, type Response } from 'express';
import multer from 'multer';
import { findUser, API_USER_ID } from '../work-orders/catalogue';
import { userSummary } from '../work-orders/work-order.render';
import type { SimCredentials } from '../sim-options';
import type { TokenStore } from './token-store';

export interface OAuthDeps {
  tokens: TokenStore;
  credentials: () => SimCredentials;
  allowClientCredentials: boolean;
}

const oauthError = (res: Response, status: number, error: string, description: string) =>
  res.status(status).json({ error, error_description: description });

const field = (body: Record<string, unknown>, name: string): string | undefined => {
  const v = body[name];
  return typeof v === 'string' ? v : undefined;
};

/** `POST /authentication/api/oauth/token` (password, refresh_token; optionally client_credentials). */
export function oauthRouter(deps: OAuthDeps): Router {
  const router = Router();
  const parsers = [express.json(), express.urlencoded({ extended: false }), multer().none()];

  const handler = (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const creds = deps.credentials();
    const grantType = field(body, 'grant_type');
    if (!grantType) return oauthError(res, 400, 'invalid_request', 'grant_type is required');

    const respond = (userId: number, issued = deps.tokens.issue(userId)) => {
      const user = findUser(userId);
      res.set('Cache-Control', 'no-store').json({
        access_token: issued.accessToken,
        expires_in: deps.tokens.ttlSeconds,
        token_type: 'Bearer',
        scope: 'api',
        refresh_token: issued.refreshToken,
        user: user ? userSummary(user) : { id: userId },
      });
    };

    if (grantType === 'refresh_token') {
      const refreshToken = field(body, 'refresh_token');
      if (!refreshToken) return oauthError(res, 400, 'invalid_request', 'refresh_token is required');
      const issued = deps.tokens.refresh(refreshToken);
      if (!issued) return oauthError(res, 400, 'invalid_grant', 'The refresh token is invalid or has been used');
      return respond(issued.userId, issued);
    }
    if (grantType !== 'password' && !(grantType === 'client_credentials' && deps.allowClientCredentials)) {
      return oauthError(res, 400, 'unsupported_grant_type', `grant_type '${grantType}' is not supported; use 'password'`);
    }
    const clientId = field(body, 'client_id');
    const clientSecret = field(body, 'client_secret');
    if (!clientId || !clientSecret) return oauthError(res, 400, 'invalid_request', 'client_id and client_secret are required');
    if (clientId !== creds.clientId || clientSecret !== creds.clientSecret) {
      return oauthError(res, 401, 'invalid_client', 'Client authentication failed');
    }
    if (grantType === 'client_credentials') return respond(API_USER_ID);
    const username = field(body, 'username');
    const password = field(body, 'password');
    if (!username || !password) return oauthError(res, 400, 'invalid_request', 'username and password are required');
    if (username.toLowerCase() !== creds.username.toLowerCase() || password !== creds.password) {
      return oauthError(res, 400, 'invalid_grant', 'The user credentials were incorrect.');
    }
    return respond(API_USER_ID);
  };

  router.post('/authentication/api/oauth/token', ...parsers, handler);
  // The mobile app's refresh path (reference §1.2 [I]); same grants.
  router.post('/authentication/api/oauth/refresh', ...parsers, handler);
  return router;
}
