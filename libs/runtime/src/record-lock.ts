import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** Lease of a record lock: short enough that a SIGKILLed holder blocks others only briefly. */
export const RECORD_LOCK_TTL_MS = 15_000;

/** The lock a record's Field Nation writes ('fnw') or Salesforce writes ('sfw') take. */
export const recordLockKey = (prefix: string, writer: RecordWriter, connectionId: string, sfId: string): string =>
  `${prefix}:lock:${writer}:${connectionId}:${sfId}`;

/**
 * A per-record mutual exclusion in Redis (SET NX PX + compare-and-delete), so that two jobs for the
 * same record never write at the same time. The holder renews a short lease every third of it, so a
 * slow Field Nation or Salesforce call keeps the lock while a killed holder loses it within one TTL
 * (a long fixed TTL once left a record blocked for two minutes after a SIGKILL).
 */
export async function tryLock(redis: Redis, key: string, ttlMs = RECORD_LOCK_TTL_MS): Promise<(() => Promise<void>) | null> {
  const token = randomUUID();
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') return null;
  const renew = setInterval(
    () => {
      // A failed renewal (Redis restarting) is retried on the next tick; the lease covers the gap.
      redis.eval(EXTEND, 1, key, token, String(ttlMs)).catch(() => undefined);
    },
    Math.max(Math.floor(ttlMs / 3), 10),
  );
  renew.unref();
  return async () => {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token);
  };
}

/**
 * Whose lock: Field Nation writes ('fnw'), Salesforce writes ('sfw') or Salesforce fetches ('sff') of a
 * record, or a connection's Chatter sweep ('chs', one per connection).
 */
export type RecordWriter = 'fnw' | 'sfw' | 'sff' | 'chs';

/**
 * The record locks a processor takes, by record: what processors depend on instead of a Redis
 * connection (a unit test passes an in-memory one).
 */
export interface RecordLocks {
  /** The release function, or null when another job holds the record's lock. */
  tryLock(writer: RecordWriter, connectionId: string, sfId: string): Promise<(() => Promise<void>) | null>;
}

/** Record locks in Redis under the queue prefix (`tryLock`). */
export function redisRecordLocks(redis: Redis, prefix: string): RecordLocks {
  return { tryLock: (writer, connectionId, sfId) => tryLock(redis, recordLockKey(prefix, writer, connectionId, sfId)) };
}
