import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { runScript } from './redis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/**
 * The value of KEYS[2] (false when absent) and SET NX PX of KEYS[1], in one round trip; the lock is not
 * taken when ARGV[3] is not empty and the value is at least ARGV[3] (compared as text).
 */
const ACQUIRE_READING = `local v = redis.call('get', KEYS[2])
if ARGV[3] ~= '' and v and v >= ARGV[3] then return {0, v} end
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {1, v} else return {0, v} end`;
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
export async function tryLock(redis: Redis, key: string, ttlMs = RECORD_LOCK_TTL_MS): Promise<HeldLock | null> {
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
  return held(redis, key, token, ttlMs);
}

/**
 * `tryLock`, reading another key in the same round trip, whether the lock is taken or not: a caller
 * that finds the record locked still learns what the key holds (the fetcher's fetch mark), and one
 * that needs the lock only while the key is below `reading.unlessAtLeast` does not take it at all
 * otherwise (no release round trip).
 */
export async function tryLockReading(
  redis: Redis,
  key: string,
  reading: LockReading,
  ttlMs = RECORD_LOCK_TTL_MS,
): Promise<ReadingLockAttempt> {
  const token = randomUUID();
  const [ok, value] = (await runScript(redis, ACQUIRE_READING, 2, key, reading.key, token, String(ttlMs), reading.unlessAtLeast ?? '')) as [
    number,
    string | null,
  ];
  const read = value ?? null;
  return ok === 1 ? { lock: held(redis, key, token, ttlMs), read } : { lock: null, read };
}

/** The lock `token` holds on `key`: renewed until released. */
function held(redis: Redis, key: string, token: string, ttlMs: number): HeldLock {
  const renew = setInterval(
    () => {
      // A failed renewal (Redis restarting) is retried on the next tick; the lease covers the gap.
      runScript(redis, EXTEND, 1, key, token, String(ttlMs)).catch(() => undefined);
    },
    Math.max(Math.floor(ttlMs / 3), 10),
  );
  renew.unref();
  const release = async () => {
    clearInterval(renew);
    await runScript(redis, RELEASE, 1, key, token);
  };
  return Object.assign(release, {
    async releaseSettingMax(setKey: string, value: string, ttlSeconds: number) {
      clearInterval(renew);
      await runScript(redis, RELEASE_SETTING_MAX, 2, key, setKey, token, value, String(ttlSeconds));
    },
  });
}

/** What `tryLockReading` reads as it tries the lock. */
export interface LockReading {
  /** The key to read. */
  key: string;
  /**
   * Take the lock only if the key is absent or holds less than this (compared as text, so both must
   * be written alike, e.g. ISO times from `toISOString`). Unset: take it whatever the key holds.
   */
  unlessAtLeast?: string;
}

/**
 * The outcome of `tryLockReading`: the lock when taken (null when another job holds it, or when the
 * key held at least `unlessAtLeast`), and the key's value either way (null: absent).
 */
export interface ReadingLockAttempt {
  lock: HeldLock | null;
  read: string | null;
}

/** A record lock held: call it to release. */
export type HeldLock = (() => Promise<void>) & {
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
  tryLock(writer: RecordWriter, connectionId: string, sfId: string): Promise<HeldLock | null>;
  /** `tryLock` and a read of another key in one round trip (`tryLockReading`). */
  tryLockReading(writer: RecordWriter, connectionId: string, sfId: string, reading: LockReading): Promise<ReadingLockAttempt>;
}

/** Record locks in Redis under the queue prefix (`tryLock`). */
export function redisRecordLocks(redis: Redis, prefix: string): RecordLocks {
  return {
    tryLock: (writer, connectionId, sfId) => tryLock(redis, recordLockKey(prefix, writer, connectionId, sfId)),
    tryLockReading: (writer, connectionId, sfId, reading) =>
      tryLockReading(redis, recordLockKey(prefix, writer, connectionId, sfId), reading),
  };
}
