import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { tryLock, tryLockReading } from '@broker/runtime';
import { freePort, startRedisServer } from '@broker/testing';

// A private server: its script cache and command counters are this test's alone (SCRIPT FLUSH included).
const cleanups: (() => unknown)[] = [];
afterAll(() => {
  for (const c of cleanups.reverse()) c();
});

const calls = async (redis: Redis, command: string) => {
  const stats = await redis.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
};

it('runs the lock scripts by their SHA once the server holds them, and falls back to EVAL after a SCRIPT FLUSH', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lock-scripts-'));
  const port = await freePort();
  const server = await startRedisServer({ port, dir });
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => server.kill('SIGKILL'),
  );
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await redis.connect();
  cleanups.push(() => redis.disconnect());

  // First use of each script: EVALSHA answers NOSCRIPT, EVAL loads it.
  const first = await tryLockReading(redis, 'k', { key: 'mark' });
  await first.lock!.releaseSettingMax('mark', '2026-12-05T01:00:00.000Z', 60);
  const evalsAfterFirst = await calls(redis, 'eval');
  expect(evalsAfterFirst).toBe(2);

  // From then on only EVALSHA: the script text is neither sent nor hashed by the server again.
  for (let i = 0; i < 5; i++) {
    const attempt = await tryLockReading(redis, 'k', { key: 'mark' });
    expect(attempt.read).toBe('2026-12-05T01:00:00.000Z');
    await attempt.lock!.releaseSettingMax('mark', '2026-12-05T01:00:00.000Z', 60);
  }
  expect(await calls(redis, 'eval')).toBe(evalsAfterFirst);
  expect(await calls(redis, 'evalsha')).toBe(2 + 10);

  // A server that lost its scripts (restart, failover, SCRIPT FLUSH) still releases the lock held.
  const held = await tryLock(redis, 'k2', 5_000);
  expect(held).not.toBeNull();
  await redis.script('FLUSH');
  await held!();
  expect(await redis.exists('k2')).toBe(0);
  const again = await tryLockReading(redis, 'k2', { key: 'mark' });
  expect(again.lock).not.toBeNull();
  await again.lock!();
  expect(await redis.exists('k2')).toBe(0);
});
