import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Redis, RedisOptions } from 'ioredis';
import type { z } from 'zod';
import { baseEnvSchema, loadEnv } from './env';
import { createLogger, type Logger } from './logger';
import { createProducerConnection } from './redis';
import { createShutdown, type Shutdown } from './shutdown';

/** What an HTTP app (ingress, dashboard) opens before its own parts. */
export interface HttpAppStart<Env> {
  env: Env;
  logger: Logger;
  /** Fail-fast producer connection: while Redis is down, requests that need it fail at once instead of hanging. */
  redis: Redis;
  /** Closes `redis` last; the app adds its own closers and calls onSignals once it listens. */
  shutdown: Shutdown;
}

/**
 * The common start of an HTTP app: its env (exit 78 naming every bad key), a logger at LOG_LEVEL, and
 * Redis with its errors logged, since an 'error' event nobody listens to would crash the process.
 */
export function startHttpApp<S extends z.ZodObject & { shape: typeof baseEnvSchema.shape }>(
  service: string,
  schema: S,
  /** Extra options of the producer connection (the ingress turns on auto-pipelining). */
  redisOptions: RedisOptions = {},
): HttpAppStart<z.infer<S>> {
  const env = loadEnv(schema);
  // S's shape holds baseEnvSchema's, so these keys are parsed as the base parses them.
  const base = env as z.infer<typeof baseEnvSchema>;
  const logger = createLogger({ service, level: base.LOG_LEVEL });
  const redis = createProducerConnection(base.REDIS_URL, redisOptions);
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  const shutdown = createShutdown(logger, base.SHUTDOWN_TIMEOUT_MS);
  shutdown.add('redis', () => redis.quit().catch(() => redis.disconnect()));
  return { env, logger, redis, shutdown };
}

/**
 * A shutdown closer for an HTTP server (call it when the server is made): stop accepting, answer what
 * is in flight, and end every keep-alive connection once it is idle. `server.close()` ends only the
 * connections idle at that moment: one whose request was still running stayed open after its answer
 * for keepAliveTimeout (65 s on the ingress), past the shutdown deadline, so an app under traffic
 * exited 1 on SIGTERM. Answers not yet started when it closes say `Connection: close`, so clients
 * send their next request elsewhere instead of onto a connection about to end.
 */
export function closeServer(server: Server): () => Promise<void> {
  let closing = false;
  const open = new Set<ServerResponse>();
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (closing) {
      res.shouldKeepAlive = false;
      return;
    }
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  return () =>
    new Promise<void>((resolve) => {
      closing = true;
      for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.close(() => {
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
    });
}
