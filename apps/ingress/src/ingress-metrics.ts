import { prom } from '@broker/runtime';
import type { Registry } from 'prom-client';

export function createIngressMetrics(registry: Registry) {
  return {
    notifications: new prom.Counter({
      name: 'broker_outbound_notifications_total',
      help: 'Outbound Message notifications stored and acknowledged',
      labelNames: ['connection', 'object'],
      registers: [registry],
    }),
    rejected: new prom.Counter({
      name: 'broker_ingress_rejected_total',
      help: 'Requests answered with a fault or an error status, by endpoint and reason',
      labelNames: ['endpoint', 'reason'],
      registers: [registry],
    }),
    webhooks: new prom.Counter({
      name: 'broker_fn_webhooks_total',
      help: 'Field Nation webhook deliveries stored',
      labelNames: ['connection', 'event'],
      registers: [registry],
    }),
    storeSeconds: new prom.Histogram({
      name: 'broker_ingress_store_seconds',
      help: 'Time to store the jobs of one request in Redis (the part before the Ack)',
      labelNames: ['endpoint'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    captured: new prom.Counter({
      name: 'broker_ingress_captured_total',
      help: 'Deliveries written by the payload capture (CAPTURE_DIR), redacted',
      labelNames: ['kind'],
      registers: [registry],
    }),
    captureDropped: new prom.Counter({
      name: 'broker_ingress_capture_dropped_total',
      help: 'Deliveries the payload capture did not write: limit, too-large, queue-full, unredactable, write-error',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

export type IngressMetrics = ReturnType<typeof createIngressMetrics>;
