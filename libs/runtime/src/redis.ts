import { createHash } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * Seed nodes of a Redis Cluster, when `url` names one: `redis-cluster://[user:pass@]host:port`
 * (`rediss-cluster://` for TLS), several separated by commas. Undefined for a plain `redis://` URL.
 */
export function parseClusterUrl(url: string): { nodes: { host: string; port: number }[]; redisOptions: RedisOptions } | undefined {
  const parts = url
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.every((p) => /^rediss?-cluster:\/\//.test(p))) return undefined;
  const urls = parts.map((p) => new URL(p));
  const first = urls[0]!;
  return {
    nodes: urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    redisOptions: {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss-cluster:' ? { tls: {} } : {}),
    },
  };
}

/** Whether `url` is a Redis URL the connection helpers accept (one plain URL, or cluster seed nodes). */
export function isRedisUrl(url: string): boolean {
  const parts = url.split(',');
  try {
    if (parts.length === 1) return ['redis:', 'rediss:', 'redis-cluster:', 'rediss-cluster:'].includes(new URL(url).protocol);
    return parseClusterUrl(url) !== undefined;
  } catch {
    return false;
  }
}

/** True for an ioredis Cluster connection. */
export const isClusterConnection = (connection: unknown): boolean => (connection as { isCluster?: unknown } | null)?.isCluster === true;

function connect(url: string, options: RedisOptions): Redis {
  const cluster = parseClusterUrl(url);
  if (!cluster) return new Redis(url, options);
  // ioredis' Cluster speaks every command the broker uses (single-key commands and scripts, and
  // BullMQ, which supports Cluster when a queue's keys share a slot): callers need not tell them apart.
  return new Cluster(cluster.nodes, {
    redisOptions: { ...cluster.redisOptions, ...options },
    enableOfflineQueue: options.enableOfflineQueue,
    clusterRetryStrategy: options.retryStrategy,
    // Managed clusters announce node addresses that TLS certificates name: resolve nothing ourselves.
    ...(cluster.redisOptions.tls
      ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) }
      : {}),
  }) as unknown as Redis;
}

/**
 * Producer connection, used from HTTP handlers: commands fail at once while Redis is down so the
 * endpoint can answer 503 / a SOAP fault and the sender retries (nothing is acknowledged unstored).
 */
export function createProducerConnection(url: string, options: RedisOptions = {}): Redis {
  return connect(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...options,
  });
}

/** Worker connection: waits through Redis outages instead of failing jobs (BullMQ requirement). */
export function createWorkerConnection(url: string, options: RedisOptions = {}): Redis {
  return connect(url, {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...options,
  });
}

/**
 * The string commands processors use beside queues and locks. ioredis' Redis is one; a unit test
 * passes an in-memory one (libs/testing fakes).
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, expiry: 'EX', seconds: number): Promise<unknown>;
  exists(key: string): Promise<number>;
}

const scriptShas = new Map<string, string>();

/**
 * A Lua script by EVALSHA, and by EVAL when the server does not hold it (first call, restart,
 * failover, SCRIPT FLUSH): EVAL alone makes Redis hash the text on every call (17 µs for a lock
 * release on the benchmark machine) and sends it each time. Not an ioredis `defineCommand`: an
 * auto-pipelined connection's pending pipeline knows only the commands defined before it opened.
 */
export async function runScript(redis: Redis, script: string, numKeys: number, ...args: (string | Buffer)[]): Promise<unknown> {
  let sha = scriptShas.get(script);
  if (!sha) scriptShas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (err) {
    if (!(err as Error).message?.startsWith('NOSCRIPT')) throw err;
    return redis.eval(script, numKeys, ...args);
  }
}
