import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** SET NX PX, and when taken the value of KEYS[2] (false when absent), in one round trip. */
const ACQUIRE_READING = `if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {1, redis.call('get', KEYS[2])} else return {0} end`;
/** RELEASE, and set KEYS[2] to ARGV[2] (EX ARGV[3]) unless it holds a greater value (ISO times compare as text). */
const RELEASE_SETTING_MAX = `local cur = redis.call('get', KEYS[2])
if (not cur) or cur < ARGV[2] then redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
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
export async function tryLock(redis: Redis, key: string, ttlMs = RECORD_LOCK_TTL_MS, options: LockOptions = {}): Promise<HeldLock | null> {
  const token = randomUUID();
  let read: string | null | undefined;
  if (options.read === undefined) {
    if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
  } else {
    const [ok, value] = (await redis.eval(ACQUIRE_READING, 2, key, options.read, token, String(ttlMs))) as [number, string | null];
    if (ok !== 1) return null;
    read = value ?? null;
  }
  const renew = setInterval(
    () => {
      // A failed renewal (Redis restarting) is retried on the next tick; the lease covers the gap.
      redis.eval(EXTEND, 1, key, token, String(ttlMs)).catch(() => undefined);
    },
    Math.max(Math.floor(ttlMs / 3), 10),
  );
  renew.unref();
  const release = async () => {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token);
  };
  return Object.assign(release, {
    read,
    async releaseSettingMax(setKey: string, value: string, ttlSeconds: number) {
      clearInterval(renew);
      await redis.eval(RELEASE_SETTING_MAX, 2, key, setKey, token, value, String(ttlSeconds));
    },
  });
}

export interface LockOptions {
  /** A key to read in the round trip that takes the lock (`HeldLock.read`). */
  read?: string;
}

/** A record lock held: call it to release. */
export type HeldLock = (() => Promise<void>) & {
  /** The value `LockOptions.read` named had when the lock was taken (null: absent); undefined when not asked. */
  readonly read?: string | null;
  /**
   * Release, and in the same round trip set `key` to `value` (expiring in `ttlSeconds`) unless it
   * holds a greater one: a time mark that only moves forward.
   */
  releaseSettingMax(key: string, value: string, ttlSeconds: number): Promise<void>;
};

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
  tryLock(writer: RecordWriter, connectionId: string, sfId: string, options?: LockOptions): Promise<HeldLock | null>;
}

/** Record locks in Redis under the queue prefix (`tryLock`). */
export function redisRecordLocks(redis: Redis, prefix: string): RecordLocks {
  return {
    tryLock: (writer, connectionId, sfId, options) =>
      tryLock(redis, recordLockKey(prefix, writer, connectionId, sfId), RECORD_LOCK_TTL_MS, options),
  };
}
