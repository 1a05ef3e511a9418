import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';

export class JwtError extends Error {}

function b64urlJson(part: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new JwtError('invalid assertion');
  }
}

/** Accepts a PEM certificate or a PEM public key, as uploaded to a connected app. */
export function publicKeyFrom(pem: string): KeyObject {
  return createPublicKey(pem);
}

/**
 * Verify an RS256 JWT bearer assertion the way the Salesforce token endpoint does: signature with the
 * connected app's certificate, `iss` = client id, `aud` = a login host, `sub` = username, `exp` in the
 * future (checked against wall time, since the client signs with its own clock).
 */
export function verifyJwtAssertion(
  assertion: string,
  options: { key: (clientId: string) => KeyObject | undefined; audiences: string[]; nowSeconds?: number },
): { clientId: string; username: string } {
  const parts = assertion.split('.');
  if (parts.length !== 3) throw new JwtError('invalid assertion');
  const [h, p, sig] = parts as [string, string, string];
  const header = b64urlJson(h);
  const claims = b64urlJson(p);
  if (header.alg !== 'RS256') throw new JwtError('invalid assertion');
  const clientId = typeof claims.iss === 'string' ? claims.iss : '';
  const key = options.key(clientId);
  if (!key) throw new JwtError('invalid_client_id');
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${h}.${p}`);
  if (!verifier.verify(key, Buffer.from(sig, 'base64url'))) throw new JwtError('invalid assertion');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const normalise = (u: unknown) => String(u).replace(/\/+$/, '');
  if (!aud.some((a) => options.audiences.map(normalise).includes(normalise(a)))) throw new JwtError('audience is invalid');
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now) throw new JwtError('expired authorization code');
  if (typeof claims.sub !== 'string' || !claims.sub) throw new JwtError('invalid assertion');
  return { clientId, username: claims.sub };
}
