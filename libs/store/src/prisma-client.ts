import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export { PrismaClient, Prisma } from './generated/client';

const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * Prisma through the pg driver adapter (no native query engine to download), over a pg pool the
 * store also uses directly for its per-record statements (see store.ts).
 * `max` bounds the pool per process; a worker needs about its job concurrency.
 */
export function createPrisma(databaseUrl: string, options: { max?: number } = {}): PrismaClient {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10 });
  // An idle connection dropped by a PostgreSQL restart must not crash the process; the next query
  // opens a new one (and fails, to be retried by its job, while the server is down).
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(prisma, pool);
  return prisma;
}

/** The pg pool under a client made by createPrisma. */
export function poolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('this PrismaClient was not made by createPrisma (the store needs its pg pool)');
  return pool;
}

/**
 * Readiness of PostgreSQL for /readyz: `SELECT 1` on the pool, answered from a cache for a few
 * seconds so that frequent probes add no load, and false after a 2 s timeout.
 */
export function databaseReadiness(prisma: PrismaClient, cacheMs = 5_000): () => Promise<boolean> {
  const pool = poolOf(prisma);
  let last: { at: number; ok: boolean } | undefined;
  return async () => {
    if (last && Date.now() - last.at < cacheMs) return last.ok;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2_000))),
    ]);
    clearTimeout(timer);
    last = { at: Date.now(), ok };
    return ok;
  };
}
