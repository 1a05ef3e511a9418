import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A per-record mutual exclusion in Redis (SET NX PX + compare-and-delete). Used so that two jobs
 * for the same record never write at the same time. The TTL bounds how long a crashed holder
 * blocks others.
 */
export async function tryLock(redis: Redis, key: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
  const token = randomUUID();
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') return null;
  return async () => {
    await redis.eval(RELEASE, 1, key, token);
  };
}
