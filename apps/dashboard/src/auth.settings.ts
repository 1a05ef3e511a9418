import { z } from 'zod';

/** How the dashboard authenticates, decided once at start-up from the environment. */
export type AuthSettings = { mode: 'credentials'; user?: string; password?: string; token?: string } | { mode: 'insecure' };

export const authEnvSchema = z.object({
  DASHBOARD_USER: z.string().optional(),
  DASHBOARD_PASSWORD: z.string().optional(),
  /** Bearer token (Prometheus scrapes, scripts); at least 16 characters. */
  DASHBOARD_TOKEN: z.string().optional(),
  /** Local demos only: no authentication at all. */
  DASHBOARD_INSECURE: z.enum(['true', 'false']).default('false'),
});

export class AuthSettingsError extends Error {
  override name = 'AuthSettingsError';
}

/**
 * Refuses a dashboard without credentials: it can retry, re-sync and delete jobs, so an open one
 * is an admin surface on the network. Empty strings count as unset (compose passes `${VAR:-}`).
 */
export function resolveAuthSettings(env: z.infer<typeof authEnvSchema>): AuthSettings {
  const user = env.DASHBOARD_USER || undefined;
  const password = env.DASHBOARD_PASSWORD || undefined;
  const token = env.DASHBOARD_TOKEN || undefined;
  if (env.DASHBOARD_INSECURE === 'true') return { mode: 'insecure' };
  if ((user && !password) || (!user && password)) {
    throw new AuthSettingsError('set both DASHBOARD_USER and DASHBOARD_PASSWORD (or neither, with DASHBOARD_TOKEN)');
  }
  if (password && password.length < 8) throw new AuthSettingsError('DASHBOARD_PASSWORD must have at least 8 characters');
  if (token && token.length < 16) throw new AuthSettingsError('DASHBOARD_TOKEN must have at least 16 characters');
  if (!password && !token) {
    throw new AuthSettingsError(
      'the dashboard needs credentials: set DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_TOKEN ' +
        '(DASHBOARD_INSECURE=true disables authentication for local use only)',
    );
  }
  return { mode: 'credentials', user, password, token };
}
