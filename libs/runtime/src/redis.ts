import { Redis, type RedisOptions } from 'ioredis';

/**
 * Producer connection, used from HTTP handlers: commands fail at once while Redis is down so the
 * endpoint can answer 503 / a SOAP fault and the sender retries (nothing is acknowledged unstored).
 */
export function createProducerConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...options,
  });
}

/** Worker connection: waits through Redis outages instead of failing jobs (BullMQ requirement). */
export function createWorkerConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...options,
  });
}
