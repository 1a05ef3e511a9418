// How the running apps learn of a new version: a Redis message when one is saved, and a periodic
// check of the database in case the message was missed (Redis down at that moment, a save made by a
// process without Redis, a subscriber reconnecting).
import type { Cluster, Redis } from 'ioredis';
import type { PrismaClient } from '@broker/store';
import { createConfigStore, type ConfigVersion } from './config-store';

/** The Redis channel a save is announced on (under the queue prefix, so test runs and deployments sharing a Redis stay apart). */
export const configChannel = (prefix: string): string => `${prefix}:config-version`;

/** Announce a stored version to the running apps. */
export async function publishConfigVersion(redis: Redis | Cluster, prefix: string, version: number): Promise<void> {
  await redis.publish(configChannel(prefix), String(version));
}

interface WatchLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ConfigWatchOptions {
  prisma: PrismaClient;
  /** A connection to duplicate for the subscription (a subscribed connection can do nothing else). */
  redis: Redis | Cluster;
  prefix: string;
  /** The periodic check (default 30 s). */
  intervalMs?: number;
  /** The version in force in this process. */
  current(): number | null;
  /**
   * Make a newer version the one in force. A throw means this process refused it (it fails to load
   * here): that version is not offered again, a later one is.
   */
  apply(version: ConfigVersion): Promise<void> | void;
  logger: WatchLogger;
}

export interface ConfigWatch {
  /** Look for a newer version now (also what a message and the timer do); resolves once it is applied or refused. */
  check(): Promise<void>;
  /**
   * While a version announced as newer than the one in force is being applied: the check applying
   * it. A job about to start waits for it, so that a record sent after a save is not handled on the
   * version before it (the announcement reaches every app within milliseconds of the save; applying
   * takes a mapper hundreds, looking up its names).
   */
  applying(): Promise<void> | undefined;
  close(): Promise<void>;
}

export function watchConfigVersions(options: ConfigWatchOptions): ConfigWatch {
  const store = createConfigStore(options.prisma);
  const refused = new Set<number>();
  let databaseDown = false;
  let closed = false;

  const checkOnce = async () => {
    if (closed) return;
    let newest: number | null;
    try {
      newest = (await options.prisma.configVersion.aggregate({ _max: { version: true } }))._max.version;
      if (databaseDown) options.logger.info({}, 'configuration check: the database answers again');
      databaseDown = false;
    } catch (err) {
      if (!databaseDown)
        options.logger.warn({ err: { message: (err as Error).message } }, 'configuration check failed: keeping the version in force');
      databaseDown = true;
      return;
    }
    const current = options.current();
    if (newest === null || (current !== null && newest <= current) || refused.has(newest)) return;
    const version = await store.get(newest);
    if (!version) return;
    try {
      await options.apply(version);
    } catch {
      refused.add(newest);
    }
  };

  // One check at a time; a request during a check runs one more after it.
  let running: Promise<void> | undefined;
  let again = false;
  const check = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again && !closed);
    })().finally(() => (running = undefined));
    return running;
  };

  const subscriber = options.redis.duplicate();
  subscriber.on('error', () => undefined); // the periodic check covers a lost subscription
  // The newest version a message announced: while a check runs and this one is neither in force nor
  // refused, that check is applying it.
  let announced = 0;
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== configChannel(options.prefix)) return;
    announced = Math.max(announced, Number(message) || 0);
    void check();
  });
  void subscriber.subscribe(configChannel(options.prefix)).catch(() => undefined);
  const timer = setInterval(() => void check(), options.intervalMs ?? 30_000);
  timer.unref();

  return {
    check,
    applying: () =>
      running && announced > (options.current() ?? 0) && !refused.has(announced) ? running.catch(() => undefined) : undefined,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
