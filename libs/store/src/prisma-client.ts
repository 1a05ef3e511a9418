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
