import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export { PrismaClient, Prisma } from './generated/client';

/**
 * Prisma through the pg driver adapter (no native query engine to download).
 * `max` bounds the pool per process; a worker needs about its job concurrency.
 */
export function createPrisma(databaseUrl: string, options: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.max ?? 10 });
  return new PrismaClient({ adapter });
}
