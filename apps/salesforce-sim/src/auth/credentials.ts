import type { RecordData } from '../org/org-model';
import type { SimContext } from '../sim-context';

/**
 * Check a username and password as Salesforce does for API logins from an untrusted network: the
 * password must be followed by the user's security token (unless `requireSecurityToken` is off,
 * as for a trusted IP range, in which case the bare password is accepted too).
 */
export function verifyPassword(ctx: SimContext, username: string, password: string): RecordData | undefined {
  const cred = ctx.config.credentials.find((c) => c.username.toLowerCase() === username.toLowerCase());
  if (!cred) return undefined;
  const ok = password === cred.password + cred.securityToken || (!ctx.settings.requireSecurityToken && password === cred.password);
  if (!ok) return undefined;
  return activeUser(ctx, username);
}

export function activeUser(ctx: SimContext, username: string): RecordData | undefined {
  const user = ctx.store.findUser(username);
  return user && user.IsActive !== false ? user : undefined;
}
