import type { Logger } from 'pino';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import { fnEventQueue, sfFetchQueue } from '@broker/contracts';
import { parseConfig, type LoadedConfig } from '@broker/config';
import { createLogger, createMetricsRegistry, createProducerConnection, openQueue } from '@broker/runtime';
import { redisUrl } from '@broker/testing';
import { createIngressApp } from '../src/ingress-app';
import { createIngressMetrics } from '../src/ingress-metrics';

export const ORG_ID = '00D000000000001EAA';

export const testConfigYaml = `
connections:
  - id: demo
    salesforce:
      organizationId: ${ORG_ID}
      auth:
        flow: password
        username: u
        password: p
    fieldnation:
      environment: sandbox
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: 5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f
    objects:
      Case: { mapping: mappings/case-to-work-order.yaml }
      CaseComment: { messages: true }
  - id: locked
    salesforce:
      organizationId: ${ORG_ID}
      pathToken: a-secret-path-token-0123
      auth:
        flow: password
        username: u
        password: p
    fieldnation:
      environment: sandbox
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: 8e4a2b6c-1d3f-4a5b-8c7d-9e0f1a2b3c4d
      acceptLegacyHash: true
    objects:
      Case: { mapping: mappings/case-to-work-order.yaml }
`;

export interface IngressUnderTest {
  url: string;
  config: LoadedConfig;
  prefix: string;
  redis: Redis;
  fetchQueue: ReturnType<typeof openQueue<typeof sfFetchQueue>>;
  eventQueue: ReturnType<typeof openQueue<typeof fnEventQueue>>;
  close(): Promise<void>;
}

/** The ingress app in-process on a random port, over real Redis with a fresh queue prefix. */
export async function startIngress(options: { redisUrl?: string; maxBodyBytes?: number; logger?: Logger } = {}): Promise<IngressUnderTest> {
  const config = parseConfig(testConfigYaml, '/tmp/test-config.yaml', {});
  const prefix = `ti${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const redis = createProducerConnection(options.redisUrl ?? redisUrl());
  redis.on('error', () => undefined);
  const fetchQueue = openQueue(sfFetchQueue, redis, prefix);
  const eventQueue = openQueue(fnEventQueue, redis, prefix);
  fetchQueue.on('error', () => undefined);
  eventQueue.on('error', () => undefined);
  const registry = createMetricsRegistry('ingress-test');
  const app = createIngressApp({
    connections: new Map(config.connections.map((c) => [c.id, c])),
    fetchQueue,
    eventQueue,
    logger: options.logger ?? createLogger({ service: 'ingress-test', level: 'silent' }),
    metrics: createIngressMetrics(registry),
    publicUrl: 'http://broker.test',
    maxBodyBytes: options.maxBodyBytes ?? 2 * 1024 * 1024,
    ready: () => redis.status === 'ready',
    storeReady: () => redis.status === 'ready',
    storeTimeoutMs: 5_000,
    metricsText: () => registry.metrics(),
    metricsContentType: registry.contentType,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    config,
    prefix,
    redis,
    fetchQueue,
    eventQueue,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      if (redis.status === 'ready') {
        await fetchQueue.obliterate({ force: true }).catch(() => undefined);
        await eventQueue.obliterate({ force: true }).catch(() => undefined);
      }
      await fetchQueue.close().catch(() => undefined);
      await eventQueue.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}
