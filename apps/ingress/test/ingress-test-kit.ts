import type { Logger } from 'pino';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createIngressServer, type IngressTls } from '../src/ingress-server';
import type { Redis } from 'ioredis';
import { fnEventQueue, sfFetchQueue } from '@broker/contracts';
import { parseConfig, type LoadedConfig } from '@broker/config';
import { createLogger, createMetricsRegistry, createProducerConnection, openQueue } from '@broker/runtime';
import { redisUrl } from '@broker/testing';
import { createIngressApp, OUTBOUND_MAX_BODY_BYTES, WEBHOOK_MAX_BODY_BYTES } from '../src/ingress-app';
import { createIngressMetrics } from '../src/ingress-metrics';
import { createPayloadCapture, type PayloadCapture, type PayloadCaptureOptions } from '../src/payload-capture';

export const ORG_ID = '00D000000000001EAA';
/** The demo connection's path token, and its Outbound Message endpoint path. */
export const DEMO_TOKEN = 'dEm0-tok3n_Zq8Rw2Lx5Vn7Kp4Hs9Jc';
export const DEMO_OUTBOUND = `/salesforce/outbound/demo/${DEMO_TOKEN}`;

/** A connection of the test config with a path token: Salesforce password login, Field Nation's sandbox. */
const tokenConnectionYaml = (c: {
  id: string;
  pathToken: string;
  webhookSecret: string;
  fieldnationExtra?: string;
  objectsExtra?: string;
}) => `
  - id: ${c.id}
    salesforce:
      organizationId: ${ORG_ID}
      pathToken: ${c.pathToken}
      auth:
        flow: password
        username: u
        password: p
    fieldnation:
      environment: sandbox
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: ${c.webhookSecret}${c.fieldnationExtra ?? ''}
    objects:
      Case: { mapping: mappings/case-to-work-order.yaml }${c.objectsExtra ?? ''}`;

export const testConfigYaml = `
connections:${tokenConnectionYaml({
  id: 'demo',
  pathToken: DEMO_TOKEN,
  webhookSecret: '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f',
  objectsExtra: '\n      CaseComment: { messages: true }',
})}${tokenConnectionYaml({
  id: 'locked',
  pathToken: 'a-secret-path-token-0123',
  webhookSecret: '8e4a2b6c-1d3f-4a5b-8c7d-9e0f1a2b3c4d',
  fieldnationExtra: '\n      acceptLegacyHash: true',
})}
  - id: open
    salesforce:
      organizationId: ${ORG_ID}
      unsafeAllowNoPathToken: true
      auth: { flow: password, username: u, password: p }
    fieldnation:
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: 7e1d2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b
    objects:
      Case: { mapping: mappings/case-to-work-order.yaml }
`;

export interface IngressUnderTest {
  url: string;
  registry: ReturnType<typeof createMetricsRegistry>;
  config: LoadedConfig;
  prefix: string;
  redis: Redis;
  fetchQueue: ReturnType<typeof openQueue<typeof sfFetchQueue>>;
  eventQueue: ReturnType<typeof openQueue<typeof fnEventQueue>>;
  capture?: PayloadCapture;
  close(): Promise<void>;
}

/** The ingress app in-process on a random port, over real Redis with a fresh queue prefix. */
export async function startIngress(
  options: {
    redisUrl?: string;
    outboundMaxBodyBytes?: number;
    webhookMaxBodyBytes?: number;
    logger?: Logger;
    /** Config text instead of testConfigYaml (the security settings tests). */
    configYaml?: string;
    tls?: IngressTls;
    /** Payload capture on (CAPTURE_DIR and friends); connections, logger and metrics are the ingress's. */
    capture?: Omit<PayloadCaptureOptions, 'connections' | 'logger' | 'metrics'>;
    /** Another sf.fetch contract than the real one (a stricter one stands in for payloads only the contract refuses). */
    fetchContract?: typeof sfFetchQueue;
    /** Database mode's wait for a configuration version being applied (ConfigWatch.applying). */
    configApplying?: () => Promise<void> | undefined;
  } = {},
): Promise<IngressUnderTest> {
  const config = parseConfig(options.configYaml ?? testConfigYaml, '/tmp/test-config.yaml', {});
  const prefix = `ti${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  // As main.ts opens it: auto-pipelined.
  const redis = createProducerConnection(options.redisUrl ?? redisUrl(), { enableAutoPipelining: true });
  redis.on('error', () => undefined);
  const fetchQueue = openQueue(options.fetchContract ?? sfFetchQueue, redis, prefix);
  const eventQueue = openQueue(fnEventQueue, redis, prefix);
  fetchQueue.on('error', () => undefined);
  eventQueue.on('error', () => undefined);
  // Closing before the queues finished connecting leaves BullMQ's start-up commands failing unhandled.
  if (!options.redisUrl) await Promise.all([fetchQueue.waitUntilReady(), eventQueue.waitUntilReady()]);
  const registry = createMetricsRegistry('ingress-test');
  const connections = new Map(config.connections.map((c) => [c.id, c]));
  const logger = options.logger ?? createLogger({ service: 'ingress-test', level: 'silent' });
  const metrics = createIngressMetrics(registry);
  const capture = options.capture ? createPayloadCapture({ ...options.capture, connections, logger, metrics }) : undefined;
  const app = createIngressApp({
    connections,
    ingress: config.ingress,
    fetchQueue,
    eventQueue,
    logger,
    metrics,
    capture,
    publicUrl: 'http://broker.test',
    outboundMaxBodyBytes: options.outboundMaxBodyBytes ?? OUTBOUND_MAX_BODY_BYTES,
    webhookMaxBodyBytes: options.webhookMaxBodyBytes ?? WEBHOOK_MAX_BODY_BYTES,
    ready: () => redis.status === 'ready',
    storeReady: () => redis.status === 'ready',
    storeTimeoutMs: 5_000,
    configApplying: options.configApplying,
  });
  const server: Server = createIngressServer(app, options.tls);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    registry,
    config,
    prefix,
    redis,
    fetchQueue,
    eventQueue,
    capture,
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
