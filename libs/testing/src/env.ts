/** Migrated database every test database is cloned from; TEST_TEMPLATE_DB lets checkouts with other migrations test side by side. */
export const TEMPLATE_DB = process.env.TEST_TEMPLATE_DB ?? 'broker_test_template';

/** Base PostgreSQL URL for tests (database part replaced per use). */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}
